#!/usr/bin/python3
"""Reference values for tests/test_residual.c: writes residual_ref.h.

Run from this folder with Debian's python3, python3-numpy and python3-torch:
    /usr/bin/python3 make_residual_ref.py > residual_ref.h
Each case is a residual block y = act(s + alpha * F(x) [+ beta]) built from torch modules, where
F is Linear-ReLU-Linear (on images Conv2d 3x3 padding 1, ReLU, Conv2d; or empty), s = x or
proj(x) (nn.Linear on vectors, a 1x1 nn.Conv2d on images), alpha a scalar parameter (rezero,
skipinit, fixup) or the constant 1 (scale 1), and beta Fixup's scalar bias; "stack3" is three
such blocks and a Linear head. Inputs, parameters and the upstream gradient g are drawn in
float32 (written into the header, so fanin starts from exactly these values); the forward y and
the gradients of L = sum(y * g) w.r.t. x and every parameter are computed by autograd in
float64; the test allows 1e-5 * (1 + |value|). Parameters are written flat in fanin's order:
per block the branch's weights and biases, then alpha, beta, P, p; then the head.
"""
import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(20240610)
SCALES = {"one": 0, "rezero": 1, "skipinit": 2, "fixup": 3}
ACTS = {"linear": lambda z: z, "relu": torch.relu, "tanh": torch.tanh}


def f32(*shape, std=1.0):
    return (torch.randn(*shape, dtype=torch.float32) * std).to(torch.float64)


class Block(nn.Module):
    def __init__(self, c_in, hidden, width, scale, proj, act, image, alpha, beta):
        super().__init__()
        if image and hidden:
            self.branch = nn.Sequential(nn.Conv2d(c_in, hidden, 3, padding=1), nn.ReLU(),
                                        nn.Conv2d(hidden, width, 3, padding=1))
        elif hidden:
            self.branch = nn.Sequential(nn.Linear(c_in, hidden), nn.ReLU(),
                                        nn.Linear(hidden, width))
        else:
            self.branch = nn.Identity()
        self.scale, self.act = scale, act
        if scale != "one":
            self.alpha = nn.Parameter(torch.tensor(alpha, dtype=torch.float64))
        if scale == "fixup":
            self.beta = nn.Parameter(torch.tensor(beta, dtype=torch.float64))
        self.proj = None
        if proj:
            self.proj = nn.Conv2d(c_in, width, 1) if image else nn.Linear(c_in, width)
        self.double()
        mods = ([self.branch[0], self.branch[2]] if hidden else []) + ([self.proj] if proj else [])
        for mod in mods:
            with torch.no_grad():
                mod.weight.copy_(f32(*mod.weight.shape, std=0.5))
                mod.bias.copy_(f32(*mod.bias.shape, std=0.3))

    def flat(self):
        """The parameters in fanin's order (branch, alpha, beta, P, p)."""
        ps = []
        if isinstance(self.branch, nn.Sequential):
            ps += [self.branch[0].weight, self.branch[0].bias,
                   self.branch[2].weight, self.branch[2].bias]
        if self.scale != "one":
            ps.append(self.alpha)
        if self.scale == "fixup":
            ps.append(self.beta)
        if self.proj is not None:
            ps += [self.proj.weight, self.proj.bias]
        return ps

    def forward(self, x):
        s = self.proj(x) if self.proj is not None else x
        a = self.alpha if self.scale != "one" else 1.0
        z = s + a * self.branch(x)
        if self.scale == "fixup":
            z = z + self.beta
        return ACTS[self.act](z)


# name, scale, projection, close activation, blocks, n, input [c, h, w], hidden, width, head,
# alpha, beta
CASES = [
    ("one", "one", 0, "relu", 1, 5, (4, 1, 1), 6, 4, 0, 1.0, 0.0),
    ("rezero", "rezero", 0, "linear", 1, 5, (4, 1, 1), 6, 4, 0, 0.4, 0.0),
    ("skipinit", "skipinit", 0, "tanh", 1, 5, (4, 1, 1), 6, 4, 0, 0.7, 0.0),
    ("fixup", "fixup", 0, "linear", 1, 5, (4, 1, 1), 6, 4, 0, 1.3, 0.2),
    ("one_proj", "one", 1, "relu", 1, 5, (3, 1, 1), 5, 6, 0, 1.0, 0.0),
    ("rezero_proj", "rezero", 1, "linear", 1, 5, (3, 1, 1), 5, 6, 0, -0.4, 0.0),
    ("skipinit_proj", "skipinit", 1, "tanh", 1, 5, (3, 1, 1), 5, 6, 0, 0.7, 0.0),
    ("fixup_proj", "fixup", 1, "linear", 1, 5, (3, 1, 1), 5, 6, 0, 0.8, -0.3),
    ("stack3", "skipinit", 0, "relu", 3, 5, (4, 1, 1), 6, 4, 2, 0.6, 0.0),
    ("empty_image_proj", "rezero", 1, "tanh", 1, 3, (2, 3, 3), 0, 2, 0, 0.5, 0.0),
    ("conv_fixup_proj", "fixup", 1, "relu", 1, 2, (2, 4, 4), 3, 3, 0, 0.9, 0.1),
]


def floats(name, v):
    v = np.asarray(v, dtype=np.float64).ravel()
    body = ",\n    ".join(", ".join("%.9g" % x for x in v[i:i + 6]) for i in range(0, len(v), 6))
    return "static const float %s[%d] = {\n    %s};\n" % (name, len(v), body)


def build(case):
    name, scale, proj, act, blocks, n, (c, h, w), hidden, width, head, alpha, beta = case
    image = h * w > 1
    mods, c_in = [], c
    for b in range(blocks):
        mods.append(Block(c_in, hidden, width, scale, proj, act, image, alpha + 0.1 * b, beta))
        c_in = width
    if head:
        lin = nn.Linear(width, head).double()
        with torch.no_grad():
            lin.weight.copy_(f32(head, width, std=0.5))
            lin.bias.copy_(f32(head, std=0.3))
        mods.append(lin)
    net = nn.Sequential(*mods)
    params = [p for m in mods for p in (m.flat() if isinstance(m, Block) else [m.weight, m.bias])]
    x = f32(n, c, h, w) if image else f32(n, c)
    x.requires_grad_(True)
    y = net(x)
    g = f32(*y.shape)
    (y * g).sum().backward()
    flat = lambda ts: torch.cat([t.detach().reshape(-1) for t in ts])
    return dict(x=x.detach(), params=flat(params), g=g, y=y.detach(), dx=x.grad,
                grads=flat([p.grad for p in params]), n_out=y[0].numel())


def main():
    print("/* Generated by tests/ref/make_residual_ref.py (numpy %s, torch %s); do not edit. */"
          % (np.__version__, torch.__version__))
    print("typedef struct residual_ref {\n"
          "    const char *name;\n"
          "    int scale, projection; /* enum fanin__residual_scale; 1 = projection */\n"
          "    const char *act;       /* the close's activation (the branch's is relu) */\n"
          "    /* hidden 0: empty branch; on images the branch is conv 3x3 (padding 1) */\n"
          "    int blocks, n, c, h, w, hidden, width, head;\n"
          "    int n_params, n_out;\n"
          "    const float *x, *params, *g, *y, *dx, *grads;\n"
          "} residual_ref;\n")
    rows = []
    for k, case in enumerate(CASES):
        r = build(case)
        for key in ("x", "params", "g", "y", "dx", "grads"):
            print(floats("res%d_%s" % (k, key), r[key].numpy()))
        name, scale, proj, act, blocks, n, (c, h, w), hidden, width, head = case[:10]
        rows.append('    {"%s", %d, %d, "%s", %d, %d, %d, %d, %d, %d, %d, %d, %d, %d,\n'
                    '     res%d_x, res%d_params, res%d_g, res%d_y, res%d_dx, res%d_grads},'
                    % (name, SCALES[scale], proj, act, blocks, n, c, h, w, hidden, width, head,
                       len(r["params"]), r["n_out"], k, k, k, k, k, k))
    print("#define RESIDUAL_REF_N %d" % len(CASES))
    print("static const residual_ref residual_refs[RESIDUAL_REF_N] = {\n%s\n};" % "\n".join(rows))


if __name__ == "__main__":
    main()
