"""fanin.run and fanin.load: a sweep run from Python, read back with the figures summary.csv
holds (compared with the csv module's own reading), its metrics, layers, verdicts and model."""
import csv
import os
import shutil
import tempfile
import unittest

import numpy as np

import fanin
from common import HERE, fanin_cmd

TINY = os.path.join(HERE, "tiny.yaml")


class TestRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fanin-pytest.")
        cls.r = fanin.run(TINY, set={"train.iterations": 100}, out=os.path.join(cls.tmp, "r"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_summary_is_summary_csv(self):
        with open(os.path.join(self.r.folder, "summary.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(self.r.summary), 2)
        for got, want in zip(self.r.summary, rows):
            self.assertEqual(got["run"], want["run"])
            self.assertEqual(got["status"], "done")
            for k in ("final_loss", "train_acc", "test_acc"):
                self.assertEqual(got[k], float(want[k]))
            self.assertEqual(got["iterations"], 100)

    def test_same_figures_as_the_command(self):
        out = os.path.join(self.tmp, "cmd")
        fanin_cmd("run", TINY, "--set", "train.iterations=100", "--out", out, "--quiet")
        cmd = fanin.load(out)
        for a, b in zip(self.r.summary, cmd.summary):
            self.assertEqual(a["final_loss"], b["final_loss"])
            self.assertEqual(a["test_acc"], b["test_acc"])
        a, b = self.r.model(1), cmd.model(1)
        self.assertEqual(sorted(a), sorted(b))
        for k in a:
            self.assertTrue(np.array_equal(a[k], b[k]), k)

    def test_metrics_layers_model(self):
        m = self.r.metrics("01-he_normal")
        loss = np.asarray(m["loss"])
        self.assertAlmostEqual(float(loss[-1]), self.r.summary[1]["final_loss"], places=6)
        self.assertEqual(int(np.asarray(m["iteration"])[0]), 0)
        layers = self.r.layers(0)
        self.assertEqual(sorted(set(np.asarray(layers["layer"]).tolist())), [1, 2, 3])
        model = self.r.model(0)
        self.assertEqual(model["layers.0.weight"].shape, (16, 2))
        self.assertEqual(model["layers.2.weight"].shape, (1, 16))
        self.assertEqual(model["layers.0.weight"].dtype, np.float32)

    def test_verdicts(self):
        v = self.r.verdicts
        self.assertEqual(sorted(v), self.r.runs)
        for r in v.values():
            self.assertTrue(r["verdict"])
            self.assertTrue(r["flags"])

    def test_errors(self):
        with self.assertRaisesRegex(fanin.FaninError, "did you mean 'iterations'") as cm:
            fanin.run(TINY, set={"train.iteratons": 5}, out=os.path.join(self.tmp, "bad"))
        self.assertEqual(cm.exception.name, "FANIN_ECONFIG")
        with self.assertRaisesRegex(FileNotFoundError, "summary.csv"):
            fanin.load(self.tmp)
        with self.assertRaisesRegex(KeyError, "00-glorot_uniform"):
            self.r.metrics("nope")


if __name__ == "__main__":
    unittest.main()
