"""fanin.plugins, fanin.help and fanin.init against the C tools: the same bits as `fanin
init-stats --dump` for both streams, parameters and `gain: auto`; errors as FaninError."""
import os
import tempfile
import unittest

import numpy as np

import fanin
from common import fanin_cmd


class TestPlugins(unittest.TestCase):
    def test_lists_every_kind_with_schemas(self):
        names = {p["name"]: p for p in fanin.plugins()}
        for n in ("he_normal", "orthogonal", "relu", "tanh", "sgd", "adam"):
            self.assertIn(n, names)
        self.assertEqual({p["kind"] for p in fanin.plugins("activation")}, {"activation"})
        params = {q["name"] for q in names["he_normal"]["params"]}
        self.assertIn("nonlinearity", params)

    def test_help(self):
        text = fanin.help("orthogonal")
        self.assertIn("initializer orthogonal", text)
        self.assertIn("gain", text)
        with self.assertRaisesRegex(fanin.FaninError, "did you mean 'orthogonal'"):
            fanin.help("orthogonl")


class TestInitEqualsTool(unittest.TestCase):
    def dump(self, *args):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "w.npy")
            fanin_cmd("init-stats", *args, "--dump", path)
            return np.load(path)

    def check(self, name, shape, seed, rng, activation=None, **params):
        args = [name, "--shape", "%d,%d" % shape, "--seed", str(seed), "--rng", rng]
        if activation:
            args += ["--activation", activation]
        for k, v in params.items():
            args += ["--param", "%s=%s" % (k, v)]
        want = self.dump(*args)
        got = fanin.init(name, shape, seed=seed, rng=rng, activation=activation, **params)
        self.assertEqual(got.dtype, np.float32)
        self.assertEqual(got.shape, shape)
        self.assertTrue(np.array_equal(got, want), "%s differs from init-stats" % name)

    def test_philox(self):
        self.check("he_normal", (64, 32), 5, "philox")
        self.check("xavier_uniform", (10, 300), 123, "philox")

    def test_numpy(self):
        self.check("he_normal", (64, 32), 5, "numpy")
        self.check("normal", (7, 9), 2**32 - 1, "numpy", std=0.02)

    def test_params_and_auto_gain(self):
        self.check("orthogonal", (40, 60), 9, "philox", activation="tanh")
        self.check("he_uniform", (33, 17), 1, "numpy", mode="fan_out", nonlinearity="relu")

    def test_numpy_stream_is_numpy(self):
        # fanin's numpy stream is np.random.seed(s); randn scaled by he_normal's std
        got = fanin.init("he_normal", (20, 50), seed=11, rng="numpy")
        np.random.seed(11)
        want = (np.random.randn(20, 50) * np.sqrt(2.0 / 50)).astype(np.float32)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


class TestErrors(unittest.TestCase):
    def test_unknown_name(self):
        with self.assertRaisesRegex(fanin.FaninError, "did you mean 'he_normal'") as cm:
            fanin.init("he_norml", (3, 3))
        self.assertEqual(cm.exception.name, "FANIN_EINVAL")

    def test_bad_parameter(self):
        with self.assertRaisesRegex(fanin.FaninError, "did you mean 'std'"):
            fanin.init("normal", (3, 3), sdt=0.1)
        with self.assertRaisesRegex(fanin.FaninError, "std"):
            fanin.init("normal", (3, 3), std=-1.0)

    def test_bad_shape_and_rng(self):
        with self.assertRaises(fanin.FaninError):
            fanin.init("normal", (0, 3))
        with self.assertRaisesRegex(ValueError, "philox"):
            fanin.init("normal", (3, 3), rng="mt")


if __name__ == "__main__":
    unittest.main()
