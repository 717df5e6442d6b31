"""fanin.torch: init_ on an nn.Sequential's Linear and Conv weights gives the scheme's moments
with torch's fans; Activation's backward is the plugin's (float32 central differences; torch's
gradcheck wants float64, which the float32 plugin cannot meet)."""
import math
import unittest

import numpy as np
import torch

import fanin
import fanin.torch as ft


class TestInit(unittest.TestCase):
    def test_sequential_moments(self):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Conv2d(16, 64, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                  torch.nn.Linear(1024, 512), torch.nn.Tanh(),
                                  torch.nn.Linear(512, 10))
        for m in net:
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
                self.assertIs(ft.init_(m.weight, "he_normal"), m.weight)
        # torch's fans: conv fan_in = 16 * 3 * 3, linear fan_in = in_features
        for m, fan_in in ((net[0], 144), (net[3], 1024), (net[5], 512)):
            w = m.weight.detach().double()
            self.assertAlmostEqual(w.mean().item(), 0.0, delta=0.01)
            self.assertAlmostEqual(w.std().item() / math.sqrt(2.0 / fan_in), 1.0, delta=0.05)
        # same scheme as torch's own kaiming_normal_ (moments), different numbers
        ref = torch.nn.init.kaiming_normal_(torch.empty(512, 1024), nonlinearity="relu")
        self.assertAlmostEqual(ref.std().item(), net[3].weight.std().item(), delta=0.002)

    def test_explicit_seed_is_fanin_init(self):
        w = torch.empty(8, 3, 5, 5)
        ft.init_(w, "xavier_uniform", seed=4, rng="numpy", gain=2.0)
        want = fanin.init("xavier_uniform", (8, 3, 5, 5), seed=4, rng="numpy", gain=2.0)
        self.assertTrue(np.array_equal(w.numpy(), want))
        bound = 2.0 * math.sqrt(6.0 / (3 * 25 + 8 * 25))  # torch's xavier_uniform_ bound
        self.assertLessEqual(w.abs().max().item(), bound)
        self.assertGreater(w.abs().max().item(), 0.9 * bound)

    def test_orthogonal_rows(self):
        w = ft.init_(torch.empty(32, 64), "orthogonal", seed=1)
        eye = w @ w.T
        self.assertLess((eye - torch.eye(32)).abs().max().item(), 1e-4)

    def test_seed_none_follows_torch_generator(self):
        torch.manual_seed(3)
        a = ft.init_(torch.empty(4, 4), "normal")
        b = ft.init_(torch.empty(4, 4), "normal")
        torch.manual_seed(3)
        c = ft.init_(torch.empty(4, 4), "normal")
        self.assertFalse(torch.equal(a, b))
        self.assertTrue(torch.equal(a, c))


class TestActivation(unittest.TestCase):
    def finite_difference(self, name, lo=-3.0, hi=3.0, **params):
        act = ft.Activation(name, **params)
        torch.manual_seed(1)
        x = (torch.rand(400) * (hi - lo) + lo).requires_grad_(True)
        dy = torch.randn(400)
        (act(x) * dy).sum().backward()
        h = 1e-2
        with torch.no_grad():
            fd = (act(x + h) - act(x - h)) / (2 * h) * dy
        # float32 central differences: error ~ h^2 f''' + eps |f| / h
        np.testing.assert_allclose(x.grad.numpy(), fd.numpy(), rtol=2e-2, atol=2e-3)
        return act

    def test_backward_is_the_derivative(self):
        for name in ("tanh", "sigmoid", "gelu", "softplus", "mish"):
            with self.subTest(name=name):
                self.finite_difference(name)
        self.finite_difference("elu", alpha=0.5)

    def test_matches_torch(self):
        x = torch.linspace(-4, 4, 101)
        self.assertTrue(torch.allclose(ft.Activation("tanh")(x), torch.tanh(x), atol=1e-6))
        lrelu = ft.Activation("leaky_relu", negative_slope=0.2)
        self.assertTrue(torch.allclose(lrelu(x), torch.nn.functional.leaky_relu(x, 0.2)))
        self.assertAlmostEqual(lrelu.gain(), torch.nn.init.calculate_gain("leaky_relu", 0.2))

    def test_in_a_model_trains(self):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(2, 16), ft.Activation("tanh"),
                                  torch.nn.Linear(16, 1))
        x = torch.randn(64, 2)
        y = (x[:, :1] * x[:, 1:]).sign()
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        first = None
        for _ in range(100):
            loss = torch.nn.functional.mse_loss(net(x), y)
            first = first if first is not None else loss.item()
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.assertLess(loss.item(), 0.8 * first)

    def test_errors(self):
        with self.assertRaisesRegex(fanin.FaninError, "did you mean 'relu'"):
            ft.Activation("rellu")
        with self.assertRaisesRegex(fanin.FaninError, "negative_slope"):
            ft.Activation("leaky_relu", negative_slop=0.1)


class TestOptimizer(unittest.TestCase):
    def test_adam_matches_torch(self):
        w0 = np.linspace(-1, 1, 10).astype(np.float32)
        w, opt = w0.copy(), fanin.Optimizer("adam", 10)
        tw = torch.tensor(w0, requires_grad=True)
        topt = torch.optim.Adam([tw], lr=0.01)
        for step in range(5):
            g = np.sin(w0 * (step + 1)).astype(np.float32)
            opt.step(w, g, 0.01)
            tw.grad = torch.from_numpy(g.copy())
            topt.step()
        np.testing.assert_allclose(w, tw.detach().numpy(), rtol=1e-5, atol=1e-6)


if __name__ == "__main__":
    unittest.main()
