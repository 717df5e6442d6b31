# The MLP of configs/coord_check.yaml and configs/mutransfer.yaml under model.parametrization
# standard | mup, written out by hand as fanin does it (docs/configuration.md,
# "Parametrizations"; core/config/section_model.c set_mup, core/engine/dense.c):
#   layer k:  Z = s * (A_prev @ W.T) + b,  A = relu(Z) (the readout: A = Z)
#   W drawn he_normal N(0, 2/fan_in) times `init`, b = 0
#   mup relative to base_width, m_in = fan_in/base, m_out = fan_out/base (784 and 10 are not widths):
#     role    init      s        Adam lr W / b     SGD lr W / b
#     input   1         1        1 / 1             m_out / m_out
#     hidden  1         1        1/m_in / 1        m_out/m_in / m_out      (bias init x sqrt(m_in): 0)
#     output  sqrt(m_in) 1/m_in  1 / 1             m_in / 1      (bias init x sqrt(m_in) too: 0)
# Tensor Programs V (Yang et al. 2021), Table 3, in the form of the mup package (MuReadout with
# set_base_shapes(rescale_params=True), MuAdam, MuSGD). standard: every factor 1.
import math
import numpy as np
import torch
import torch.nn.functional as F

from common import idx


def fashion_flat(n_train, n_test=0):
    """Fashion-MNIST (Debian's dataset-fashion-mnist), the first n rows, scale255: x / 255 as
    float32 (fanin's normalize: scale255), flattened to 784."""
    k = np.float32(1) / np.float32(255)
    x = torch.tensor(idx("train-images-idx3-ubyte.gz", n_train).astype(np.float32) * k)
    y = torch.tensor(idx("train-labels-idx1-ubyte.gz", n_train).astype(np.int64))
    return x.reshape(n_train, 784), y


def factors(role, pz, m_in, m_out, adam=True):
    """(init, s, lr W, lr b) of a dense layer, as core/config/section_model.c's set_mup."""
    if pz == "standard":
        return 1.0, 1.0, 1.0, 1.0
    if role == "input":
        return 1.0, 1.0, (1.0 if adam else m_out), (1.0 if adam else m_out)
    if role == "hidden":
        return 1.0, 1.0, (1.0 / m_in if adam else m_out / m_in), (1.0 if adam else m_out)
    return math.sqrt(m_in), 1.0 / m_in, (1.0 if adam else m_in), 1.0


class MLP:
    """784 -> width x hidden (ReLU) -> 10, fanin's dense layers with their factors."""

    def __init__(self, width, hidden, pz, base_width, seed, n_in=784, n_out=10):
        g = torch.Generator().manual_seed(seed)
        dims = [n_in] + [width] * hidden + [n_out]
        self.W, self.b, self.s, self.lr = [], [], [], []
        n = len(dims) - 1
        for k in range(n):
            fi, fo = dims[k], dims[k + 1]
            role = "input" if k == 0 else "output" if k == n - 1 else "hidden"
            m_in = fi / base_width if k > 0 else 1.0
            m_out = fo / base_width if k < n - 1 else 1.0
            init, s, lw, lb = factors(role, pz, m_in, m_out)
            W = torch.randn(fo, fi, generator=g) * math.sqrt(2.0 / fi) * init
            self.W.append(W.requires_grad_())
            self.b.append(torch.zeros(fo, requires_grad=True))
            self.s.append(s)
            self.lr.append((lw, lb))

    def forward(self, x, keep=None):
        """Logits; keep (a list) gets each layer's mean |A| (the readout's A = Z)."""
        a = x
        n = len(self.W)
        for k in range(n):
            z = self.s[k] * (a @ self.W[k].t()) + self.b[k]
            a = torch.relu(z) if k < n - 1 else z
            if keep is not None:
                keep.append(a.detach().abs().mean().item())
        return a

    def adam(self, lr):
        """torch.optim.Adam with one group per tensor at lr times its multiplier (MuAdam)."""
        groups = []
        for W, b, (lw, lb) in zip(self.W, self.b, self.lr):
            groups.append({"params": [W], "lr": lr * lw})
            groups.append({"params": [b], "lr": lr * lb})
        return torch.optim.Adam(groups, lr=lr)

    def loss(self, x, y):
        return F.cross_entropy(self.forward(x), y)
