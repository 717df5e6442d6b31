# μTransfer (Tensor Programs V, fig. 1 and section 4) of configs/mutransfer.yaml in PyTorch: the
# MLP 784 -> W x3 (ReLU) -> 10 of mup_model.py under standard and mup, Adam at each lr of a
# log2 grid, trained a fixed number of minibatch steps on Fashion-MNIST; the training loss over
# the whole training subset after the last step, per (parametrization, width, lr), and the
# best lr of each width.
# Expected: under mup the best lr is the same at every width (the loss curves' minima line up);
# under standard it moves to smaller lr as the width grows.
# The defaults are configs/mutransfer.yaml's: widths 64, 256, 1024, base_width 64, Adam with
# lr_schedule cosine, 100 steps of batch 128 on the first 4096 training images, seeds 1-3
# (their mean loss), log2 lr -14..-4. Its own draws and batch order, not fanin's.
#   cd tools/peer_checks && /usr/bin/python3 mutransfer.py [--widths 64,256,1024] [--steps 100]
import argparse, math, time
import numpy as np
import torch
import torch.nn.functional as F

from mup_model import MLP, fashion_flat


def final_loss(width, pz, log2lr, a, x, y, seed):
    torch.manual_seed(seed)
    net = MLP(width, a.hidden, pz, a.base_width, seed)
    opt = net.adam(2.0 ** log2lr)
    base = [g["lr"] for g in opt.param_groups]
    g = torch.Generator().manual_seed(seed + 1000)
    spe = len(x) // a.batch
    for t in range(a.steps):
        if t % spe == 0:
            perm = torch.randperm(len(x), generator=g)
        b = perm[(t % spe) * a.batch:][: a.batch]
        loss = net.loss(x[b], y[b])
        if not math.isfinite(loss.item()):
            return float("nan")
        opt.zero_grad()
        loss.backward()
        if a.cosine:  # fanin's lr_schedule: cosine (t_max = the steps, eta_min 0) at step t
            f = (1 + math.cos(math.pi * t / a.steps)) / 2
            for g_, b_ in zip(opt.param_groups, base):
                g_["lr"] = b_ * f
        opt.step()
    with torch.no_grad():
        return F.cross_entropy(net.forward(x), y).item()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--widths", default="64,256,1024")
    p.add_argument("--log2lr", default="-14:-4:1", help="first:last:step")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--hidden", type=int, default=3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--base-width", type=int, default=64)
    p.add_argument("--train", type=int, default=4096)
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--pz", default="standard,mup")
    p.add_argument("--constant", dest="cosine", action="store_false",
                   help="no lr_schedule (the default is the config's cosine)")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    widths = [int(w) for w in a.widths.split(",")]
    lo, hi, st = (float(v) for v in a.log2lr.split(":"))
    grid = list(np.arange(lo, hi + st / 2, st))
    seeds = [int(s) for s in a.seeds.split(",")]
    x, y = fashion_flat(a.train)
    print("adam, %d steps of batch %d on %d images, base_width %d, %d hidden layers, seeds %s; "
          "training loss after the last step" % (a.steps, a.batch, a.train, a.base_width,
                                                 a.hidden, a.seeds))
    print("log2 lr: " + " ".join("%6g" % v for v in grid))
    t0 = time.time()
    for pz in a.pz.split(","):
        print("\n%s" % pz)
        best, curves = [], []
        for w in widths:
            L = [np.mean([final_loss(w, pz, v, a, x, y, s) for s in seeds]) for v in grid]
            Lf = np.where(np.isfinite(L), L, np.inf)
            k = int(np.argmin(Lf))
            best.append(grid[k])
            curves.append(Lf)
            print("  width %5d: %s  best log2 lr %g (loss %.4f)  [%.0f s]" % (
                w, " ".join("%6.4f" % v for v in L), grid[k], L[k], time.time() - t0),
                flush=True)
        print("  best log2 lr by width: %s (spread %g)" % (
            ", ".join("%g" % b for b in best), max(best) - min(best)))
        # the transfer cost: a wider model's loss at the narrowest one's best lr over its minimum
        k0 = grid.index(best[0])
        print("  transfer cost of log2 lr %g: %s" % (best[0], ", ".join(
            "%+.1f%% at width %d" % (100 * (c[k0] / c.min() - 1), w)
            for w, c in zip(widths[1:], curves[1:]))))


if __name__ == "__main__":
    main()
