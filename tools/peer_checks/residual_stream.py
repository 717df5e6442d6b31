# The residual stream's std after each block at initialisation, width 256, relu branches of two
# dense layers (Linear-ReLU-Linear), input x ~ N(0,1) of 1024 rows, 8 seeds averaged.
import torch, math
torch.manual_seed(0)
W, N, B = 256, 1024, 64
def he(l): torch.nn.init.kaiming_normal_(l.weight, nonlinearity='relu'); torch.nn.init.zeros_(l.bias)
def run(mode, seed):
    g = torch.manual_seed(seed)
    x = torch.randn(N, W)
    out = [x.std().item()]
    for k in range(B):
        l1, l2 = torch.nn.Linear(W, W), torch.nn.Linear(W, W)
        he(l1); he(l2)
        if mode == 'he_linear_last':   # F = W2 relu(W1 x): He on both
            f = l2(torch.relu(l1(x))); a = 1.0
        elif mode == 'fixup':          # Fixup: last layer 0, first scaled L^(-1/(2m-2)) = B^-0.5
            l1.weight.data *= B ** -0.5; l2.weight.data.zero_()
            f = l2(torch.relu(l1(x))); a = 1.0
        elif mode == 'rezero':
            f = l2(torch.relu(l1(x))); a = 0.0
        elif mode == 'bn_branch':      # F = BN(W2 relu(BN(W1 x)))  (normalised branch output)
            h = torch.relu(torch.nn.functional.batch_norm(l1(x), None, None, training=True))
            f = torch.nn.functional.batch_norm(l2(h), None, None, training=True); a = 1.0
        x = x + a * f
        out.append(x.std().item())
    return out
for mode in ['he_linear_last', 'bn_branch', 'fixup', 'rezero']:
    rs = [run(mode, s) for s in range(8)]
    m = [sum(r[k] for r in rs) / len(rs) for k in range(B + 1)]
    pick = [0, 1, 2, 4, 8, 16, 32, 64]
    print(mode, ' '.join(f'{k}:{m[k]:.4g}' for k in pick),
          ' per-block x%.3f' % (m[B] / m[0]) ** (1 / B), ' sqrt(1+k):', ' '.join(f'{math.sqrt(1+k):.3g}' for k in pick))
