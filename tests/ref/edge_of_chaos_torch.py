#!/usr/bin/python3
"""The PyTorch check quoted at the top of configs/edge_of_chaos.yaml (not a test: it takes
minutes). Usage: /usr/bin/python3 edge_of_chaos_torch.py STEPS LR DEPTHS, e.g. 300 0.005 4,16,48.
tanh MLPs 784-100xL-10 on the first 10,000 Fashion-MNIST training images (standardised per
pixel), W ~ N(0, sigma_w^2/fan_in), b ~ N(0, 0.05), SGD, batch 64, seed 1; prints the train
accuracy on the first 2,000 images for each depth L and sigma_w^2 (Schoenholz et al. 2017 Fig. 5).
"""
import gzip, numpy as np, torch, sys, time
torch.set_num_threads(1)
D = "/usr/share/datasets/fashion-mnist/"
def idx(f):
    with gzip.open(D + f) as fh:
        b = fh.read()
    nd = b[3]; dims = [int.from_bytes(b[4+4*i:8+4*i], "big") for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)
X = idx("train-images-idx3-ubyte.gz")[:10000].reshape(10000, -1).astype(np.float32) / 255
Y = idx("train-labels-idx1-ubyte.gz")[:10000].astype(np.int64)
X = (X - X.mean(0)) / (X.std(0) + 1e-8)  # standardised so q^0 is ~1 as in the mean-field setting
X, Y = torch.tensor(X), torch.tensor(Y)
STEPS, BATCH, LR, WIDTH = int(sys.argv[1]), 64, float(sys.argv[2]), 100
def run(depth, sw2, seed=1):
    g = torch.Generator().manual_seed(seed)
    dims = [784] + [WIDTH] * depth + [10]
    Ws, bs = [], []
    for i in range(len(dims) - 1):
        Ws.append((torch.randn(dims[i+1], dims[i], generator=g) * (sw2 / dims[i]) ** 0.5).requires_grad_())
        bs.append((torch.randn(dims[i+1], generator=g) * 0.05 ** 0.5).requires_grad_())
    opt = torch.optim.SGD(Ws + bs, lr=LR)
    gi = torch.Generator().manual_seed(seed + 100)
    for s in range(STEPS):
        ix = torch.randint(0, 10000, (BATCH,), generator=gi)
        h = X[ix]
        for i in range(len(Ws)):
            h = h @ Ws[i].T + bs[i]
            if i < len(Ws) - 1: h = torch.tanh(h)
        loss = torch.nn.functional.cross_entropy(h, Y[ix])
        opt.zero_grad(); loss.backward(); opt.step()
        if not torch.isfinite(loss): return float("nan")
    with torch.no_grad():
        h = X[:2000]
        for i in range(len(Ws)):
            h = h @ Ws[i].T + bs[i]
            if i < len(Ws) - 1: h = torch.tanh(h)
        return (h.argmax(1) == Y[:2000]).float().mean().item()
SW2 = [0.5, 1.0, 1.4, 1.76, 2.2, 3.0, 4.0, 6.0]
DEPTHS = [int(d) for d in sys.argv[3].split(",")]
print("steps", STEPS, "lr", LR, "width", WIDTH)
print("depth  " + " ".join("%6.2f" % s for s in SW2))
for d in DEPTHS:
    t = time.time()
    print("%5d  " % d + " ".join("%6.3f" % run(d, s) for s in SW2), "  (%.0fs)" % (time.time() - t), flush=True)
