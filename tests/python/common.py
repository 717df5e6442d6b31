"""Shared by the Python tests: the build tree's `fanin` command and a temporary folder."""
import os
import subprocess

BUILD = os.environ.get("FANIN_TEST_BUILD", "")
FANIN = os.path.join(BUILD, "bin", "fanin")
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))


def fanin_cmd(*args):
    """Run the fanin command; its stdout (raises with its stderr when it fails)."""
    p = subprocess.run([FANIN] + list(args), capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError("fanin %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr))
    return p.stdout
