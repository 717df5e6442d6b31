/* mish: y = x tanh(softplus(x)), softplus(x) = log1p(exp(x)) (x for x > 20, as PyTorch);
 * dy/dx = t + x (1 - t^2) sigmoid(x), t = tanh(softplus(x)). Misra 2019, "Mish: A Self
 * Regularized Non-Monotonic Activation Function", eq. 1; torch.nn.Mish. PyTorch has no gain:
 * 1/sqrt(E[mish(z)^2]) (act_common.h), 1.4868.
 * x: [n]; x == y allowed in forward; backward needs x (x == y refused), dy == dx allowed.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "act_common.h"

static double softplus(double x) { return x > 20.0 ? x : log1p(exp(x)); }

static double mish(double x, const fanin_value *p) { return x * tanh(softplus(x)); }

static int forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++) y[i] = (float)mish(x[i], p);
    return FANIN_OK;
}

/* forward: y = x tanh(softplus(x)); softplus' = sigmoid */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    int rc = act_need_x(ctx, x, y, n, "mish");
    for (size_t i = 0; rc == FANIN_OK && i < n; i++) {
        double t = tanh(softplus(x[i]));
        dx[i] = (float)(dy[i] * (t + x[i] * (1.0 - t * t) * act_sigmoid(x[i])));
    }
    return rc;
}

static int gain(const fanin_value *p, double *g) { return act_gain_second_moment(mish, p, g); }

FANIN_ACTIVATION(act_mish, "mish", "1.0.0", "x*tanh(softplus(x)) (gain 1.4868)", NULL, forward,
                 backward, gain);
