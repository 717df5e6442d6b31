/* silu: y = x sigmoid(x); dy/dx = s (1 + x (1 - s)), s = sigmoid(x) (stable for large |x|).
 * Elfwing, Uchibe & Doya 2018 (SiL), Ramachandran, Zoph & Le 2017 (Swish with beta = 1);
 * torch.nn.SiLU; `swish` is the same activation under Keras's other name. PyTorch has no gain:
 * 1/sqrt(E[silu(z)^2]) (act_common.h), 1.6765.
 * x: [n]; x == y allowed in forward; backward needs x (x == y refused), dy == dx allowed.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "act_common.h"

static double silu(double x, const fanin_value *p) { return x * act_sigmoid(x); }

static int forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++) y[i] = (float)silu(x[i], p);
    return FANIN_OK;
}

/* forward: y = x sigmoid(x) */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    int rc = act_need_x(ctx, x, y, n, "silu");
    for (size_t i = 0; rc == FANIN_OK && i < n; i++) {
        double s = act_sigmoid(x[i]);
        dx[i] = (float)(dy[i] * s * (1.0 + x[i] * (1.0 - s)));
    }
    return rc;
}

static int gain(const fanin_value *p, double *g) { return act_gain_second_moment(silu, p, g); }

FANIN_ACTIVATION(act_silu, "silu", "1.0.0", "x*sigmoid(x) (gain 1.6765)", NULL, forward, backward,
                 gain);
FANIN_ACTIVATION(act_swish, "swish", "1.0.0", "alias of silu: x*sigmoid(x)", NULL, forward,
                 backward, gain);
