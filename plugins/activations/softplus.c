/* softplus: y = log(1 + exp(beta x)) / beta, or x where beta x > threshold (linear there, as
 * torch.nn.Softplus(beta=1, threshold=20)); dy/dx = sigmoid(beta x), or 1 past the threshold.
 * Dugas et al. 2001; log1p(exp(.)) cannot overflow below the threshold of at most 700.
 * PyTorch has no gain: 1/sqrt(E[softplus(z)^2]) (act_common.h), 1.0419 at beta 1.
 * x: [n]; x == y allowed in forward; backward needs x (x == y refused), dy == dx allowed.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "act_common.h"

enum { P_BETA, P_THRESHOLD };

static double softplus(double x, const fanin_value *p) {
    double bx = p[P_BETA].f * x;
    return bx > p[P_THRESHOLD].f ? x : log1p(exp(bx)) / p[P_BETA].f;
}

static int forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++) y[i] = (float)softplus(x[i], p);
    return FANIN_OK;
}

/* forward: y = beta x > threshold ? x : log1p(exp(beta x)) / beta */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    int rc = act_need_x(ctx, x, y, n, "softplus");
    for (size_t i = 0; rc == FANIN_OK && i < n; i++) {
        double bx = p[P_BETA].f * x[i];
        dx[i] = bx > p[P_THRESHOLD].f ? dy[i] : (float)(dy[i] * act_sigmoid(bx));
    }
    return rc;
}

static int gain(const fanin_value *p, double *g) { return act_gain_second_moment(softplus, p, g); }

static const fanin_param_spec schema[] = {
    {.name = "beta",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX,
     .def = 1.0,
     .min = 0.0,
     .doc = "sharpness (> 0): larger beta is closer to relu"},
    {.name = "threshold",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN,
     .def = 20.0,
     .max = 700.0,
     .doc = "beta*x above it is treated as linear (<= 700 so exp cannot overflow)"},
    {0},
};

FANIN_ACTIVATION(act_softplus, "softplus", "1.0.0", "log(1+exp(beta x))/beta (gain 1.0419)", schema,
                 forward, backward, gain);
