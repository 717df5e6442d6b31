#!/usr/bin/python3
"""Reference loss trajectories for tests/test_trajectory.c: writes trajectory_ref.h.

Run from this folder with Debian's python3, python3-numpy and python3-torch, after a build:
    /usr/bin/python3 make_trajectory_ref.py ../../build/bin/fanin > trajectory_ref.h

For each of tests/fixtures/traj_conv.yaml and traj_residual.yaml it
  1. runs `fanin run FIXTURE --set train.iterations=0` into a temporary folder: the initial
     weights, deterministic from the file's seed, in model.safetensors;
  2. loads them by name (strict: every tensor fanin wrote, no other) into the PyTorch module
     below that the YAML file describes, built from torch.nn layers with the same names
     (`layers.3`, `layers.2.1.branch.0`, `layers.2.1.alpha`, `.proj`, BatchNorm's
     running_mean/running_var);
  3. reads the same 64 training and 16 test images (the first ones of the IDX files, x/255 in
     float32 as fanin's scale255) and trains 20 full-batch SGD steps in float64, recording what
     metrics.csv logs at each iteration t = 0..19: the training loss of the step's forward pass
     (train mode: batch statistics) and the test loss of the weights before the step (eval mode:
     running statistics); and at t = 20 the train and test losses in eval mode.
BatchNorm's two modes are both checked: the training loss uses batch statistics, the test loss
the running mean and (unbiased) variance updated with momentum 0.1 at every step. Dropout is left
out: its mask comes from fanin's Philox stream, which PyTorch cannot draw. Learning rates keep
the 20 steps away from chaos: the fixtures' lr (read from the YAML files) were chosen so that
PyTorch in float32 and in float64 agree to 1e-6 over the 20 steps (at lr 0.1, or with a ReLU
before BatchNorm1d on 64 rows, float32 rounding alone grows to 1e-2 by step 20).
The header also holds a 64-bit FNV-1a hash of the initial tensors (names and float32 bytes, in
the file's order), so the test can tell "fanin's initialisation changed" from "the trajectory is
wrong". When the hash check fails because an initializer or the random streams changed on
purpose, rerun this script and commit the new header.
"""
import gzip
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
FMNIST = "/usr/share/datasets/fashion-mnist"
STEPS = 20
ACT = {"relu": torch.relu, "tanh": torch.tanh, "linear": lambda z: z}


def read_safetensors(path):
    """name -> float32 array, and the names in the file's order, and the FNV-1a hash."""
    buf = open(path, "rb").read()
    n = struct.unpack("<Q", buf[:8])[0]
    head = json.loads(buf[8:8 + n])
    data = buf[8 + n:]
    out, names, h = {}, [], 0xcbf29ce484222325
    items = sorted(((k, v) for k, v in head.items() if k != "__metadata__"),
                   key=lambda kv: kv[1]["data_offsets"][0])
    for k, v in items:
        b, e = v["data_offsets"]
        assert v["dtype"] == "F32"
        out[k] = np.frombuffer(data[b:e], dtype="<f4").reshape(v["shape"])
        names.append(k)
        for byte in k.encode() + data[b:e]:
            h = ((h ^ byte) * 0x100000001b3) & 0xffffffffffffffff
    return out, names, h


def idx(path, count):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    arr = np.frombuffer(raw[4 + 4 * ndim:], dtype=np.uint8).reshape(dims)
    return arr[:count]


def fashion(n_train, n_test):
    """The first images of each split, scaled as fanin's scale255 (x * (1/255) in float32)."""
    k = np.float32(1.0) / np.float32(255.0)
    def x(name, n):
        return (idx(os.path.join(FMNIST, name), n).reshape(n, 1, 28, 28).astype(np.float32) * k)
    return (x("train-images-idx3-ubyte.gz", n_train),
            idx(os.path.join(FMNIST, "train-labels-idx1-ubyte.gz"), n_train).astype(np.int64),
            x("t10k-images-idx3-ubyte.gz", n_test),
            idx(os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz"), n_test).astype(np.int64))


# ---- fanin's layers as torch modules (a weight layer carries its activation) ----

class Linear(nn.Linear):
    def __init__(self, n_in, n_out, act):
        super().__init__(n_in, n_out)
        self.act = act

    def forward(self, x):
        return ACT[self.act](super().forward(x))


class Conv(nn.Conv2d):
    def __init__(self, c_in, c_out, k, act, stride=1, padding=0, bias=True):
        super().__init__(c_in, c_out, k, stride=stride, padding=padding, bias=bias)
        self.act = act

    def forward(self, x):
        return ACT[self.act](super().forward(x))


class GlobalAvg(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


class Block(nn.Module):
    """y = act(skip(x) + alpha * F(x) [+ beta]), skip = x or proj(x)."""
    def __init__(self, branch, scale="one", act="linear", proj=None):
        super().__init__()
        self.branch = nn.Sequential(*branch)
        self.scale, self.act = scale, act
        if scale != "one":
            self.alpha = nn.Parameter(torch.zeros(1))
        if scale == "fixup":
            self.beta = nn.Parameter(torch.zeros(1))
        self.proj = proj

    def forward(self, x):
        s = self.proj(x) if self.proj is not None else x
        z = s + (self.alpha if self.scale != "one" else 1.0) * self.branch(x)
        if self.scale == "fixup":
            z = z + self.beta
        return ACT[self.act](z)


class Net(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        for m in self.layers:
            x = m(x)
        return x


def traj_conv():
    """tests/fixtures/traj_conv.yaml."""
    return Net([
        Conv(1, 6, 3, "relu", padding=1),                        # padding: same
        nn.MaxPool2d(2),
        Conv(6, 8, 3, "linear", stride=2, padding=1, bias=False),
        nn.BatchNorm2d(8),
        Conv(8, 8, 3, "tanh"),                                   # valid
        nn.AvgPool2d(3, stride=2, padding=1),
        Conv(8, 12, 1, "relu"),
        GlobalAvg(),
        Linear(12, 16, "relu"),
        nn.LayerNorm(16),
        Linear(16, 10, "linear"),
    ])


def traj_residual():
    """tests/fixtures/traj_residual.yaml (nn.Flatten is what fanin does to a dense net's
    input, not a layer of its own)."""
    plain = [Block([Linear(24, 24, "tanh"), nn.BatchNorm1d(24), Linear(24, 24, "linear")])
             for _ in range(2)]
    rezero = Block([Linear(24, 24, "tanh"), Linear(24, 24, "linear")], "rezero", "relu")
    skip = Block([Linear(24, 16, "relu"), nn.LayerNorm(16)], "skipinit",
                 proj=nn.Linear(24, 16))
    fixup = [Block([Linear(16, 16, "relu"), Linear(16, 16, "linear")], "fixup")
             for _ in range(2)]
    net = Net([Linear(784, 24, "relu"), nn.Sequential(*plain), nn.Sequential(rezero),
               nn.Sequential(skip), nn.Sequential(*fixup), Linear(16, 10, "linear")])
    flat = nn.Flatten()
    return lambda x: net(flat(x)), net


def load(net, tensors):
    sd = {k: torch.tensor(np.array(v)).to(torch.get_default_dtype()) for k, v in tensors.items()}
    for k, v in net.state_dict().items():  # BatchNorm's counter is not a fanin tensor
        if k.endswith("num_batches_tracked"):
            sd[k] = v
    net.load_state_dict(sd, strict=True)


def trajectory(fwd, net, data, lr):
    """What metrics.csv logs: per step t < STEPS (loss in train mode, test loss in eval mode of
    the weights before the step), then at t = STEPS both in eval mode."""
    xtr, ytr, xte, yte = (torch.tensor(a) for a in data)
    xtr, xte = xtr.to(torch.get_default_dtype()), xte.to(torch.get_default_dtype())
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    rows = []
    for _ in range(STEPS):
        net.eval()
        with torch.no_grad():
            test = F.cross_entropy(fwd(xte), yte).item()
        net.train()
        loss = F.cross_entropy(fwd(xtr), ytr)
        opt.zero_grad()
        loss.backward()
        opt.step()
        rows.append((loss.item(), test))
    net.eval()
    with torch.no_grad():
        rows.append((F.cross_entropy(fwd(xtr), ytr).item(), F.cross_entropy(fwd(xte), yte).item()))
    return rows


def initial(fanin, fixture):
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([fanin, "run", fixture, "--set", "train.iterations=0", "--out", d,
                        "--quiet"], check=True, stdout=subprocess.DEVNULL)
        return read_safetensors(os.path.join(d, "00", "model.safetensors"))


def emit(name, fixture, tensors, h, rows):
    up = name.upper()
    print("/* %s: %d tensors, first %s */" % (os.path.basename(fixture), len(tensors),
                                              next(iter(tensors))))
    print("#define TRAJ_%s_HASH UINT64_C(0x%016x)" % (up, h))
    print("static const double traj_%s_loss[%d] = {" % (name, STEPS + 1))
    print(",\n".join("    %.17g" % r[0] for r in rows) + "};")
    print("static const double traj_%s_test_loss[%d] = {" % (name, STEPS + 1))
    print(",\n".join("    %.17g" % r[1] for r in rows) + "};")


def main():
    fanin = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../build/bin/fanin")
    torch.set_default_dtype(torch.float64)
    data = fashion(64, 16)
    print("/* Generated by tests/ref/make_trajectory_ref.py (torch %s, float64) from the initial"
          % torch.__version__)
    print(" * weights of `fanin run FIXTURE --set train.iterations=0`; rerun it when fanin's")
    print(" * initialisation changes (the hash check of tests/test_trajectory.c says so).")
    print(" * Rows t = 0..19: the step's training loss (train mode) and the test loss before it")
    print(" * (eval mode); row 20: both in eval mode after the last step. */")
    print("#include <stdint.h>")
    for name in ("conv", "residual"):
        fixture = os.path.join(FIXTURES, "traj_%s.yaml" % name)
        lr = float(re.search(r"optimizer: \{name: sgd, lr: ([0-9.e-]+)\}", open(fixture).read())[1])
        tensors, names, h = initial(fanin, fixture)
        if name == "conv":
            net = traj_conv()
            fwd = net
        else:
            fwd, net = traj_residual()
        load(net, tensors)
        emit(name, fixture, names, h, trajectory(fwd, net, data, lr))


if __name__ == "__main__":
    main()
