"""The package as installed: `cmake --install` puts it in PREFIX/lib/python3/dist-packages,
where it finds the installed libfanin and its built-in plugins with no FANIN_LIBRARY; and
libfanin exports exactly the FANIN_API functions its public headers declare."""
import glob
import os
import re
import subprocess
import sys
import tempfile
import unittest

from common import BUILD, SOURCE

SCRIPT = r"""
import fanin, fanin._lib as L
print(L.lib._name)
print(fanin.init("he_normal", (3, 4), seed=1).shape, fanin.plugins("initializer")[0]["file"])
"""


class TestInstall(unittest.TestCase):
    def test_installed_package_finds_its_library(self):
        with tempfile.TemporaryDirectory(prefix="fanin-pyinstall.") as prefix:
            subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix], check=True,
                           capture_output=True)
            site = os.path.join(prefix, "lib", "python3", "dist-packages")
            self.assertTrue(os.path.exists(os.path.join(site, "fanin", "torch.py")))
            env = {k: v for k, v in os.environ.items()
                   if k not in ("FANIN_LIBRARY", "FANIN_PLUGIN_PATH", "PYTHONPATH")}
            env["PYTHONPATH"] = site
            p = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                               text=True, cwd=prefix, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            lib, line = p.stdout.splitlines()
            real = os.path.realpath(prefix)
            self.assertTrue(os.path.realpath(lib).startswith(real), lib)
            self.assertIn("(3, 4)", line)
            self.assertTrue(os.path.realpath(line.split()[-1]).startswith(real), line)


class TestExports(unittest.TestCase):
    def test_exports_are_the_headers_fanin_api(self):
        declared = set()
        for h in glob.glob(os.path.join(SOURCE, "include", "fanin", "*.h")):
            with open(h) as f:
                declared |= set(re.findall(r"^FANIN_API\b[^(]*?\b(fanin_\w+)\s*\(", f.read(),
                                           re.M))
        lib = os.environ.get("FANIN_LIBRARY") or os.path.join(BUILD, "lib", "libfanin.so")
        out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                             capture_output=True, text=True).stdout
        exported = {line.split()[-1].split("@")[0] for line in out.splitlines()
                    if line.split()[-2:-1] == ["T"]}
        self.assertIn("fanin_init_fill", declared)
        self.assertEqual(exported, declared)


if __name__ == "__main__":
    unittest.main()
