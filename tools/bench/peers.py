#!/usr/bin/env python3
"""The peers of fanin_bench: the same training benchmarks in numpy (manual forward and
backward, batched, float32; the dense ones) and PyTorch (torch.nn.Sequential +
torch.optim.SGD, float32; all five), timed the same way (warm-up, then one run sized to last
--seconds; the loop only, no start-up, no data loading). Prints one 'RESULT key=value ...'
line per benchmark, the format fanin_bench prints.

usage: peers.py [--threads N] [--seconds S] [--only numpy|torch]
                [--bench seed|mlp|tiny|course|cnn|resmlp|sgemm]
--threads N is recorded on each line; set OPENBLAS_NUM_THREADS=N in the environment to apply it
(numpy reads it at import; tools/bench/run.sh does).
"""
import argparse
import os
import sys
import time

import numpy as np

np.seterr(over="ignore")  # exp of a large logit: inf, then a correct 0 or 1

# name, widths after the input, hidden activation, loss, inputs, classes, train rows, batch
BENCHES = [
    ("seed", [20, 7, 5, 1], "relu", "bce", 784, 2, 2000, 0),
    ("mlp", [1024, 1024, 10], "relu", "cross_entropy", 784, 10, 2048, 256),
    ("tiny", [16, 16, 1], "tanh", "bce", 2, 2, 1024, 32),
    # the seed's network on the course's cat set layout: 209 examples of 64x64x3, full batch
    ("course", [20, 7, 5, 1], "relu", "bce", 12288, 2, 209, 0),
]
# the small CNN (PyTorch only): conv 32 -> conv 64 -> maxpool -> dense 128 -> 10 on [1, 28, 28]
CNN = ("cnn", 784, 10, 1024, 128)
# the residual MLP (PyTorch only): 784 -> 256 -> 16 ReZero blocks x + a * W2.relu(W1.x) -> 10
RESMLP = ("resmlp", 784, 10, 2048, 128)
RES_BLOCKS, RES_WIDTH = 16, 256
LR = 0.01


def corename():
    """OpenBLAS's kernel family, as fanin_bench prints it ('?' when numpy uses another BLAS)."""
    import ctypes
    import ctypes.util
    for name in ("libblas.so.3", "libopenblas.so.0", ctypes.util.find_library("openblas")):
        try:
            lib = ctypes.CDLL(name) if name else None
            if lib is not None:
                lib.openblas_get_corename.restype = ctypes.c_char_p
                return lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return "?"


def step_flops(widths, n_in, rows):
    """Matrix-product FLOPs of one step: forward and dW for every layer, dA_prev for all but the
    first (fanin_bench's count)."""
    f, prev = 0.0, n_in
    for l, u in enumerate(widths):
        f += 2.0 * rows * prev * u * (3 if l else 2)
        prev = u
    return f


def cnn_flops(rows):
    """fanin_bench's count for the CNN: per weight layer n_out * fan_in multiply-adds per row,
    forward, dW, and the input gradient for all but the first."""
    macs = [784 * 32 * 9, 784 * 64 * 288, 12544 * 128, 128 * 10]
    return sum(2.0 * rows * m * (3 if l else 2) for l, m in enumerate(macs))


def data(n_train, n_in, classes):
    rng = np.random.default_rng(3)
    x = rng.random((n_train, n_in), dtype=np.float32)
    y = rng.integers(0, classes, n_train)
    return x, y


SLICES = 3


def measure(run, seconds):
    """Seconds per step of run(n): grow n until a run lasts 0.3 s (warm-up and calibration),
    then SLICES runs that together last `seconds`; the fastest counts (fanin_bench's method)."""
    n = 4
    while True:
        t0 = time.perf_counter()
        run(n)
        per = (time.perf_counter() - t0) / n
        if per * n >= 0.3:
            break
        n = max(8, int(0.4 / per) + 2)
    iters = int(seconds / SLICES / per) + 2
    best = float("inf")
    for _ in range(SLICES):
        t0 = time.perf_counter()
        run(iters)
        best = min(best, (time.perf_counter() - t0) / iters)
    return iters, best


# ---- numpy: the classic course code, batched; rows are examples, W is [out, in] ----

def numpy_trainer(widths, hidden, loss, n_in, classes, n_train, batch):
    rng = np.random.default_rng(1)
    Ws, bs, prev = [], [], n_in
    for u in widths:
        Ws.append((rng.standard_normal((u, prev)) * np.sqrt(2.0 / prev)).astype(np.float32))
        bs.append(np.zeros(u, np.float32))
        prev = u
    x, y = data(n_train, n_in, classes)
    yf = y.astype(np.float32).reshape(-1, 1)
    bs_rows = batch or n_train
    lr = np.float32(LR)

    def step(X, Y, Yf):
        n = X.shape[0]
        As, Zs, A = [X], [], X
        for l, (W, b) in enumerate(zip(Ws, bs)):
            Z = A @ W.T + b
            Zs.append(Z)
            if l < len(Ws) - 1:
                A = np.maximum(Z, 0) if hidden == "relu" else np.tanh(Z)
                As.append(A)
        Z = Zs[-1]
        if loss == "bce":  # sigmoid + bce on the logits: dZ = (sigmoid(z) - y) / n
            dZ = (1 / (1 + np.exp(-Z)) - Yf) / np.float32(n)
        else:  # softmax cross-entropy: dZ = (softmax(z) - onehot) / n
            e = np.exp(Z - Z.max(axis=1, keepdims=True))
            dZ = e / e.sum(axis=1, keepdims=True)
            dZ[np.arange(n), Y] -= 1
            dZ /= np.float32(n)
        for l in range(len(Ws) - 1, -1, -1):
            dW = dZ.T @ As[l]
            db = dZ.sum(axis=0)
            if l:
                dA = dZ @ Ws[l]
                dZ = dA * (Zs[l - 1] > 0) if hidden == "relu" else dA * (1 - As[l] * As[l])
            Ws[l] -= lr * dW
            bs[l] -= lr * db

    def run(iters):
        order = np.arange(n_train)
        spe = (n_train + bs_rows - 1) // bs_rows
        for it in range(iters):
            if batch == 0:
                step(x, y, yf)
                continue
            pos = (it % spe) * bs_rows
            if pos == 0:
                rng.shuffle(order)
            idx = order[pos:pos + bs_rows]
            step(x[idx], y[idx], yf[idx])
        assert all(W.dtype == np.float32 for W in Ws), "numpy promoted the weights"

    return run


# ---- PyTorch: what a user would write ----

def torch_trainer(widths, hidden, loss, n_in, classes, n_train, batch):
    import torch
    torch.manual_seed(1)
    layers, prev = [], n_in
    for l, u in enumerate(widths):
        layers.append(torch.nn.Linear(prev, u))
        if l < len(widths) - 1:
            layers.append(torch.nn.ReLU() if hidden == "relu" else torch.nn.Tanh())
        prev = u
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    crit = torch.nn.BCEWithLogitsLoss() if loss == "bce" else torch.nn.CrossEntropyLoss()
    xn, yn = data(n_train, n_in, classes)
    x = torch.from_numpy(xn)
    y = torch.from_numpy(yn.astype(np.float32)).reshape(-1, 1) if loss == "bce" else \
        torch.from_numpy(yn)
    return torch_minibatches(model, opt, crit, x, y, n_train, batch)


def torch_minibatches(model, opt, crit, x, y, n_train, batch):
    """run(iters): SGD over minibatches of a shuffled order drawn anew each epoch (seed 2), or
    over the whole set when batch is 0."""
    import torch
    gen = torch.Generator().manual_seed(2)

    def step(X, Y):
        opt.zero_grad(set_to_none=True)
        crit(model(X), Y).backward()
        opt.step()

    def run(iters):
        rows = batch or n_train
        spe = (n_train + rows - 1) // rows
        order = None
        for it in range(iters):
            if batch == 0:
                step(x, y)
                continue
            pos = (it % spe) * rows
            if pos == 0:
                order = torch.randperm(n_train, generator=gen)
            idx = order[pos:pos + rows]
            step(x[idx], y[idx])

    return run


def cnn_trainer(n_in, classes, n_train, batch):
    """fanin_bench's cnn in PyTorch: 3x3 convolutions with padding 1, ReLU, 2x2 max pooling
    (torch picks its own convolution algorithm: oneDNN on Debian's CPU build)."""
    import torch
    import torch.nn as nn
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(64 * 14 * 14, 128), nn.ReLU(),
                          nn.Linear(128, classes))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    xn, yn = data(n_train, n_in, classes)
    x, y = torch.from_numpy(xn).reshape(-1, 1, 28, 28), torch.from_numpy(yn)
    return torch_minibatches(model, opt, nn.CrossEntropyLoss(), x, y, n_train, batch)


def resmlp_trainer(n_in, classes, n_train, batch):
    """fanin_bench's resmlp in PyTorch: a Linear-ReLU stem, RES_BLOCKS blocks
    x + alpha * Linear(ReLU(Linear(x))) with a learnable scalar alpha from 0 (ReZero), a Linear
    head."""
    import torch
    import torch.nn as nn
    torch.manual_seed(1)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.branch = nn.Sequential(nn.Linear(RES_WIDTH, RES_WIDTH), nn.ReLU(),
                                        nn.Linear(RES_WIDTH, RES_WIDTH))
            self.alpha = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return x + self.alpha * self.branch(x)

    model = nn.Sequential(nn.Linear(n_in, RES_WIDTH), nn.ReLU(),
                          *[Block() for _ in range(RES_BLOCKS)], nn.Linear(RES_WIDTH, classes))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    xn, yn = data(n_train, n_in, classes)
    x, y = torch.from_numpy(xn), torch.from_numpy(yn)
    return torch_minibatches(model, opt, nn.CrossEntropyLoss(), x, y, n_train, batch)


def emit(impl, name, threads, iters, per, widths, n_in, batch, n_train, extra=""):
    rows = batch or n_train
    if name == "resmlp":
        widths = [RES_WIDTH] * (1 + 2 * RES_BLOCKS) + [10]
    flops = cnn_flops(rows) if name == "cnn" else step_flops(widths, n_in, rows)
    gf = flops / per * 1e-9
    print(f"RESULT impl={impl} bench={name} threads={threads} core={CORE} iterations={iters} "
          f"slices={SLICES} it_per_s={1 / per:.2f} samples_per_s={rows / per:.1f} "
          f"us_per_step={per * 1e6:.2f} gflops={gf:.2f}{extra}", flush=True)


def sgemm(impl, threads, mm, n=2048, reps=5):
    """GF/s of a square float32 product through the peer's matmul, best of reps after a
    warm-up (numpy and PyTorch both call the process's OpenBLAS sgemm)."""
    rng = np.random.default_rng(5)
    a = mm.prep(rng.random((n, n), dtype=np.float32))
    b = mm.prep(rng.random((n, n), dtype=np.float32))
    best = 1e30
    for i in range(reps + 1):
        t0 = time.perf_counter()
        mm.mul(a, b)
        t = time.perf_counter() - t0
        if i:
            best = min(best, t)
    print(f"RESULT impl={impl} bench=sgemm threads={threads} core={CORE} n={n} "
          f"gflops={2.0 * n ** 3 / best * 1e-9:.2f}", flush=True)


class NumpyMM:
    prep = staticmethod(lambda a: a)
    mul = staticmethod(lambda a, b: a @ b)


def torch_settings(torch, threads):
    """torch.set_num_threads values to try: 1, the default and the BLAS thread count, none
    above the BLAS thread count (so a 1-thread figure uses one core)."""
    default = torch.get_num_threads()
    return sorted({1, min(default, threads), threads})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=1.5)
    ap.add_argument("--only", choices=["numpy", "torch"])
    ap.add_argument("--bench", choices=["seed", "mlp", "tiny", "course", "cnn", "resmlp", "sgemm"])
    a = ap.parse_args()
    threads = a.threads or int(os.environ.get("OPENBLAS_NUM_THREADS", "0") or 0) or os.cpu_count()
    global CORE
    CORE = corename()
    todo = [b for b in BENCHES if not a.bench or a.bench == b[0]]
    if a.only != "torch":
        if a.bench in (None, "sgemm", "mlp", "cnn", "resmlp"):
            sgemm("numpy", threads, NumpyMM)
        for name, widths, hidden, loss, n_in, classes, n_train, batch in todo:
            run = numpy_trainer(widths, hidden, loss, n_in, classes, n_train, batch)
            iters, per = measure(run, a.seconds)
            emit("numpy", name, threads, iters, per, widths, n_in, batch, n_train)
    if a.only == "numpy":
        return 0
    try:
        import torch
    except ImportError as e:
        print(f"NOTE torch not importable ({e}); PyTorch figures skipped", flush=True)
        return 0

    class TorchMM:
        prep = staticmethod(torch.from_numpy)
        mul = staticmethod(torch.mm)

    settings = torch_settings(torch, threads)
    if a.bench in (None, "sgemm", "mlp", "cnn", "resmlp"):
        torch.set_num_threads(1)
        sgemm("torch", threads, TorchMM)
    for name, widths, hidden, loss, n_in, classes, n_train, batch in todo:
        best = None
        for tt in settings:  # one intra-op pool on top of OpenBLAS's may oversubscribe
            torch.set_num_threads(tt)
            run = torch_trainer(widths, hidden, loss, n_in, classes, n_train, batch)
            iters, per = measure(run, a.seconds)
            if best is None or per < best[1]:
                best = (iters, per, tt)
        emit("torch", name, threads, best[0], best[1], widths, n_in, batch, n_train,
             f" torch_threads={best[2]} torch_tried={','.join(map(str, settings))}")
    for (name, n_in, classes, n_train, batch), trainer in ((CNN, cnn_trainer),
                                                          (RESMLP, resmlp_trainer)):
        if a.bench not in (None, name):
            continue
        best = None
        for tt in settings:
            torch.set_num_threads(tt)
            iters, per = measure(trainer(n_in, classes, n_train, batch), a.seconds)
            if best is None or per < best[1]:
                best = (iters, per, tt)
        emit("torch", name, threads, best[0], best[1], None, n_in, batch, n_train,
             f" torch_threads={best[2]} torch_tried={','.join(map(str, settings))}")
    return 0


CORE = "?"
if __name__ == "__main__":
    sys.exit(main())
