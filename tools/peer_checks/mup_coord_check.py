# Coordinate check (the mup package's coord_check; Tensor Programs V, section 3 and fig. 5) of
# configs/coord_check.yaml in PyTorch: the MLP 784 -> W x3 (ReLU) -> 10 of mup_model.py under
# standard and mup, Adam at a fixed lr, minibatches of Fashion-MNIST; the mean |A| of each
# layer's output at steps 0..N (the forward pass of step t, before its update), for widths
# 64 ... 2048, and the slope of log mean|A| against log width per step and layer.
# Expected: the hidden layers' and the logits' slopes near 1 after the first steps under
# standard (Adam's update moves every weight by ~lr, so dW.x grows like the width), near 0
# under mup (the logits at step 0 shrink like width^-1/2 under mup: the readout's variance is
# 1/fan_in^2).
# The defaults are configs/coord_check.yaml's: widths 64..2048, base_width 64, Adam lr 1e-3,
# batch 64 from the first 1024 training images, steps 0..5, seeds 1-3 (their mean). Its own
# draws and batch order, not fanin's.
#   cd tools/peer_checks && /usr/bin/python3 mup_coord_check.py [--widths 64,128,...] [--steps 5]
import argparse, math, sys, time
import numpy as np
import torch

from mup_model import MLP, fashion_flat


def run(width, pz, a, x, y, seed):
    net = MLP(width, a.hidden, pz, a.base_width, seed)
    opt = net.adam(a.lr)
    g = torch.Generator().manual_seed(seed + 1000)
    perm = torch.randperm(len(x), generator=g)
    rows = []
    for t in range(a.steps + 1):
        b = perm[(t * a.batch) % len(x):][: a.batch]
        keep = []
        loss = torch.nn.functional.cross_entropy(net.forward(x[b], keep), y[b])
        rows.append(keep)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return np.array(rows)  # [steps+1, layers]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--widths", default="64,128,256,512,1024,2048")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--hidden", type=int, default=3)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--base-width", type=int, default=64)
    p.add_argument("--train", type=int, default=1024)
    p.add_argument("--seeds", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(1)
    widths = [int(w) for w in a.widths.split(",")]
    x, y = fashion_flat(a.train)
    t0 = time.time()
    print("adam lr %g, batch %d, base_width %d, %d hidden layers, %d seed(s); mean |A| of "
          "layers 1..%d (last = logits)" % (a.lr, a.batch, a.base_width, a.hidden, a.seeds,
                                            a.hidden + 1))
    for pz in ("standard", "mup"):
        m = {w: np.mean([run(w, pz, a, x, y, s) for s in range(1, a.seeds + 1)], axis=0)
             for w in widths}
        print("\n%s" % pz)
        for t in range(a.steps + 1):
            for l in range(a.hidden + 1):
                v = np.array([m[w][t, l] for w in widths])
                slope = np.polyfit(np.log(widths), np.log(v), 1)[0]
                print("  step %d layer %d: %s  slope %+.2f" % (
                    t, l + 1, " ".join("%.3g" % u for u in v), slope))
    print("\n%.0f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
