import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import *
def delta_orth_(w, gain=1.0):
    o, i, kh, kw = w.shape
    with torch.no_grad():
        w.zero_(); h = torch.empty(o, i); nn.init.orthogonal_(h, gain); w[:, :, kh//2, kw//2] = h
def net(C, depth, init, act=nn.Tanh, stems=2, flat=False):
    convs = [nn.Conv2d(1, C, 3, 2, 1)] + [nn.Conv2d(C, C, 3, 2, 1)] * 0 + ([nn.Conv2d(C, C, 3, 2, 1)] if stems == 2 else []) + [nn.Conv2d(C, C, 3, 1, 1) for _ in range(depth)]
    layers = [nn.Identity()]
    for c in convs:
        nn.init.zeros_(c.bias)
        if init == "delta": delta_orth_(c.weight)
        elif init == "gauss": nn.init.normal_(c.weight, 0, 1/math.sqrt(c.weight[0].numel()))
        elif init == "he": nn.init.kaiming_normal_(c.weight, nonlinearity='relu')
        elif init == "xavier": nn.init.xavier_normal_(c.weight)
        layers += [c, act()]
    side = 14 if stems == 1 else 7
    head = nn.Linear(C * side * side if flat else C, 10); nn.init.zeros_(head.bias)
    if init == "he": nn.init.kaiming_normal_(head.weight)  # gain sqrt 2, as fanin's he_normal
    elif init == "xavier": nn.init.xavier_normal_(head.weight)
    else: nn.init.normal_(head.weight, 0, 1/math.sqrt(C))
    if flat: return nn.Sequential(*layers, nn.Flatten(), head)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), head)
if __name__ == "__main__":
    torch.set_num_threads(1)
    C, depth, lr, epochs, ntr, bs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    inits = sys.argv[7].split(','); seeds = [int(s) for s in sys.argv[8].split(',')]
    act = nn.ReLU if (len(sys.argv) > 9 and sys.argv[9] == 'relu') else nn.Tanh
    mom = float(sys.argv[10]) if len(sys.argv) > 10 else 0.0
    stems = int(sys.argv[11]) if len(sys.argv) > 11 else 2
    data = fashion(ntr, 2000)
    if len(sys.argv) > 12 and sys.argv[12] == 'standardize':  # fanin's: per pixel, train rows, ddof 0
        xtr, ytr, xte, yte = data
        mu = xtr.double().mean(0, keepdim=True); sd = xtr.double().std(0, unbiased=False, keepdim=True)
        sd[sd <= 1e-12 * (1 + mu.abs())] = 1.0
        data = (((xtr - mu) / sd).float(), ytr, ((xte - mu) / sd).float(), yte)
    for seed in seeds:
        for init in inits:
            torch.manual_seed(seed); m = net(C, depth, init, act, stems, len(sys.argv) > 13 and sys.argv[13] == 'flat')
            h = train(m, data, lr, epochs, bs, seed, log=20, momentum=mom, label="%s C%d depth %d seed %d" % (init, C, depth, seed))
            if h: print(init, "loss by 20 its:", " ".join("%.3f" % l for _, l in h[:25]), flush=True)
