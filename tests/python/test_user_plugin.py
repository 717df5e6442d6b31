"""A plugin scaffolded by `fanin new-plugin` and built outside fanin (plain cc against the
public headers and cmake/plugin.map, as tests/test_kit.sh's pkg-config build does) used from
Python: the initializer through FANIN_PLUGIN_PATH, the activation through fanin.load_plugins;
listed, initialising a torch weight, as an activation module with its own backward."""
import os
import subprocess
import sys
import tempfile
import unittest

from common import FANIN, SOURCE, fanin_cmd

SCRIPT = r"""
import math, sys, torch, fanin, fanin.torch as ft
fanin.load_plugins(sys.argv[1])
names = {p["name"] for p in fanin.plugins()}
assert {"my_init", "my_act", "he_normal"} <= names, names
w = ft.init_(torch.empty(256, 128), "my_init", seed=2, gain=2.0)
print("init std %.4f want %.4f" % (w.std().item(), 2.0 / math.sqrt(128)))
act = ft.Activation("my_act", slope=0.5)
x = torch.tensor([-2.0, 3.0], requires_grad=True)
act(x).sum().backward()
print("act", act(x).tolist(), "grad", x.grad.tolist())
"""


def build(kind, name, root, folder):
    src = os.path.join(root, name)
    fanin_cmd("new-plugin", kind, name, "--dir", src)
    so = os.path.join(root, folder, name + ".so")
    os.makedirs(os.path.dirname(so), mode=0o755, exist_ok=True)
    subprocess.run(["cc", "-shared", "-fPIC", "-fvisibility=hidden", "-O2", "-o", so,
                    os.path.join(src, name + ".c"), "-I", os.path.join(SOURCE, "include"),
                    "-Wl,--version-script=" + os.path.join(SOURCE, "cmake", "plugin.map"), "-lm"],
                   check=True)
    os.chmod(so, 0o755)


class TestUserPlugin(unittest.TestCase):
    def test_new_plugin_from_python(self):
        self.assertTrue(os.path.exists(FANIN), FANIN)
        with tempfile.TemporaryDirectory(prefix="fanin-pyplugin.") as root:
            os.chmod(root, 0o755)  # the loader refuses folders others could write
            build("initializer", "my_init", root, "plugins")
            build("activation", "my_act", root, "acts")
            env = dict(os.environ, FANIN_PLUGIN_PATH=os.path.join(root, "plugins"))
            p = subprocess.run([sys.executable, "-c", SCRIPT, os.path.join(root, "acts")], env=env, capture_output=True,
                               text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        got, want = (float(v) for v in lines[0].split()[2::2])
        self.assertAlmostEqual(got / want, 1.0, delta=0.05)
        self.assertEqual(lines[1], "act [-1.0, 3.0] grad [0.5, 1.0]")


if __name__ == "__main__":
    unittest.main()
