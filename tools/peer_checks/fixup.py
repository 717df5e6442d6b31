import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import *
W, L = 128, 32
class Block(nn.Module):
    def __init__(s, kind):
        super().__init__(); s.kind = kind
        s.l1 = nn.Linear(W, W); s.l2 = nn.Linear(W, W)
        s.bn = nn.BatchNorm1d(W) if kind == "bn" else None
        for l in (s.l1, s.l2): nn.init.zeros_(l.bias)
        nn.init.kaiming_normal_(s.l1.weight, nonlinearity='relu')
        nn.init.kaiming_normal_(s.l2.weight)  # PyTorch's default gain sqrt 2, as fanin's he_normal
        if kind == "fixup":
            with torch.no_grad(): s.l1.weight.mul_(L ** (-1/(2*2-2)))
            nn.init.zeros_(s.l2.weight)
            s.alpha = nn.Parameter(torch.ones(1)); s.beta = nn.Parameter(torch.zeros(1))
        if kind == "rezero": s.alpha = nn.Parameter(torch.zeros(1))
    def forward(s, x):
        f = s.l2(torch.relu(s.l1(x)))
        if s.bn is not None: f = s.bn(f)
        if s.kind == "fixup": return x + s.alpha * f + s.beta
        if s.kind == "rezero": return x + s.alpha * f
        return x + f
def net(kind):
    first = nn.Linear(784, W); nn.init.kaiming_normal_(first.weight, nonlinearity='relu'); nn.init.zeros_(first.bias)
    last = nn.Linear(W, 10); nn.init.kaiming_normal_(last.weight, nonlinearity='linear'); nn.init.zeros_(last.bias)
    nn.init.zeros_(last.weight)  # Fixup's zero classifier, in every variant
    return nn.Sequential(nn.Flatten(), first, nn.ReLU(), *[Block(kind) for _ in range(L)], last)
def stream_std(m, x):
    import copy; m = copy.deepcopy(m)
    out=[]
    with torch.no_grad():
        h = torch.relu(m[1](m[0](x)))
        out.append(h.std().item())
        for b in m[3:3+L]: h = b(h); out.append(h.std().item())
    return out
if __name__ == "__main__":
    torch.set_num_threads(1)
    lr = float(sys.argv[1]); epochs = int(sys.argv[2]); kinds = sys.argv[3].split(','); seeds = [int(s) for s in sys.argv[4].split(',')]
    data = fashion(10000, 2000)
    for seed in seeds:
        for k in kinds:
            torch.manual_seed(seed); m = net(k)
            s = stream_std(m, data[0][:500]); print(k, seed, "stream std after block 0, 8, 16, 32: %.3g %.3g %.3g %.3g" % (s[0], s[8], s[16], s[32]))
            h = train(m, data, lr, epochs, 128, seed, label="%s seed %d" % (k, seed))
            if h: print(k, "loss by 50 its:", " ".join("%.3f" % l for _, l in h[:12]))
