"""How much one draw of the weights moves a layer's mean |activation| at a given width: the
noise a coordinate check's slope must tolerate (docs/diagnostics.md, "Width: coordinate check
and learning-rate transfer"). A relu net [64 -> n -> n] under LeCun normal init on 256 rows of
N(0, I); 20 draws per width. Prints: width, mean and sd of the second layer's mean |A|.

Run: /usr/bin/python3 tools/peer_checks/coord_noise.py   (numpy only; a second)
"""
import numpy as np

for n in [16, 64, 256]:
    r = []
    for s in range(20):
        g = np.random.default_rng(s)
        X = g.standard_normal((256, 64))
        W1 = g.standard_normal((n, 64)) / np.sqrt(64)
        a = np.maximum(X @ W1.T, 0)
        W2 = g.standard_normal((n, n)) / np.sqrt(n)
        r.append(np.abs(np.maximum(a @ W2.T, 0)).mean())
    print(f"width {n:4d}: mean |A| {np.mean(r):.3f}, sd over draws {np.std(r):.3f} "
          f"({100 * np.std(r) / np.mean(r):.0f}%)")
