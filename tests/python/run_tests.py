"""Runs the fanin Python package's tests (tests/python/test_*.py) for ctest's test_python:
    /usr/bin/python3 tests/python/run_tests.py BUILD_DIR
with PYTHONPATH=<source>/python and FANIN_LIBRARY=<build>/lib/libfanin.so (set by ctest).
Exits 77 (ctest: skipped) with the reason when numpy or torch is missing: tools/deps.sh
installs Debian's python3-numpy and python3-torch.
"""
import os
import sys
import unittest

missing = []
for mod, pkg in (("numpy", "python3-numpy"), ("torch", "python3-torch")):
    try:
        __import__(mod)
    except ImportError:
        missing.append(pkg)
if missing:
    print("test_python: SKIPPED: %s not installed for %s; run tools/deps.sh (or apt-get install "
          "%s)" % (", ".join(missing), sys.executable, " ".join(missing)))
    sys.exit(77)
if len(sys.argv) != 2:
    print("usage: run_tests.py BUILD_DIR", file=sys.stderr)
    sys.exit(2)
os.environ["FANIN_TEST_BUILD"] = os.path.abspath(sys.argv[1])
here = os.path.dirname(os.path.abspath(__file__))
suite = unittest.defaultTestLoader.discover(here, pattern="test_*.py", top_level_dir=here)
result = unittest.TextTestRunner(verbosity=2).run(suite)
sys.exit(0 if result.wasSuccessful() else 1)
