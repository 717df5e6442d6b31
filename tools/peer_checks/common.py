import gzip, os, struct, sys, time, math
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F
FM = "/usr/share/datasets/fashion-mnist"
def idx(name, n):
    raw = gzip.open(os.path.join(FM, name)).read()
    nd = raw[3]; dims = struct.unpack(">" + "I"*nd, raw[4:4+4*nd])
    return np.frombuffer(raw[4+4*nd:], np.uint8).reshape(dims)[:n]
def fashion(ntr, nte):
    k = np.float32(1)/np.float32(255)
    xtr = torch.tensor(idx("train-images-idx3-ubyte.gz", ntr).astype(np.float32)*k).reshape(ntr,1,28,28)
    ytr = torch.tensor(idx("train-labels-idx1-ubyte.gz", ntr).astype(np.int64))
    xte = torch.tensor(idx("t10k-images-idx3-ubyte.gz", nte).astype(np.float32)*k).reshape(nte,1,28,28)
    yte = torch.tensor(idx("t10k-labels-idx1-ubyte.gz", nte).astype(np.int64))
    return xtr, ytr, xte, yte
def evaluate(net, x, y, bs=1000):
    net.eval(); L=0; ok=0
    with torch.no_grad():
        for i in range(0, len(x), bs):
            o = net(x[i:i+bs]); L += F.cross_entropy(o, y[i:i+bs], reduction='sum').item(); ok += (o.argmax(1)==y[i:i+bs]).sum().item()
    net.train(); return L/len(x), ok/len(x)
def train(net, data, lr, epochs, bs, seed, log=50, momentum=0.0, label=""):
    xtr, ytr, xte, yte = data
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    it = 0; t0 = time.time(); hist = []
    for ep in range(epochs):
        perm = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(xtr), bs):
            b = perm[i:i+bs]
            loss = F.cross_entropy(net(xtr[b]), ytr[b])
            if not math.isfinite(loss.item()):
                print(label, "diverged at iteration", it); return None
            opt.zero_grad(); loss.backward(); opt.step()
            if it % log == 0: hist.append((it, loss.item()))
            it += 1
        trl, tra = evaluate(net, xtr, ytr); tel, tea = evaluate(net, xte, yte)
        print("%s epoch %d it %d train loss %.4f acc %.4f test acc %.4f (%.0fs)" % (label, ep+1, it, trl, tra, tea, time.time()-t0), flush=True)
    return hist
