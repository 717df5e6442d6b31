/* hard_tanh: y = min(max(x, min_val), max_val); dy/dx = 1 inside (min_val, max_val), else 0
 * (0 at the kinks, as PyTorch's hardtanh_backward). Collobert 2004; torch.nn.Hardtanh(-1, 1).
 * PyTorch has no gain: 1/sqrt(E[f(z)^2]) (act_common.h), 1.3920 for [-1, 1] (tanh: 5/3 in
 * PyTorch, 1.5925 by this rule).
 * x: [n]; x == y and dy == dx allowed (backward reads y: strictly inside exactly when x is).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "act_common.h"

enum { P_MIN_VAL, P_MAX_VAL };

static int check(fanin_ctx *ctx, const fanin_value *p) {
    if (p[P_MIN_VAL].f < p[P_MAX_VAL].f) return FANIN_OK;
    return FANIN_HOST->error(ctx, FANIN_EINVAL, "min_val %g must be less than max_val %g",
                             p[P_MIN_VAL].f, p[P_MAX_VAL].f);
}

static double hard_tanh(double x, const fanin_value *p) {
    return fmin(fmax(x, p[P_MIN_VAL].f), p[P_MAX_VAL].f);
}

static int forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    int rc = check(ctx, p);
    for (size_t i = 0; rc == FANIN_OK && i < n; i++)
        y[i] = isnan(x[i]) ? x[i] : (float)hard_tanh(x[i], p);
    return rc;
}

/* forward: y = min(max(x, lo), hi) */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    float lo = (float)p[P_MIN_VAL].f, hi = (float)p[P_MAX_VAL].f;
    for (size_t i = 0; i < n; i++) dx[i] = y[i] > lo && y[i] < hi ? dy[i] : 0.0f;
    return FANIN_OK;
}

static int gain(const fanin_value *p, double *g) {
    return p[P_MIN_VAL].f < p[P_MAX_VAL].f ? act_gain_second_moment(hard_tanh, p, g) : FANIN_EINVAL;
}

static const fanin_param_spec schema[] = {
    {.name = "min_val",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX,
     .def = -1.0,
     .doc = "lower clip (< max_val)"},
    {.name = "max_val",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX,
     .def = 1.0,
     .doc = "upper clip"},
    {0},
};

FANIN_ACTIVATION(act_hard_tanh, "hard_tanh", "1.0.0", "clip(x, min_val, max_val) (gain 1.3920)",
                 schema, forward, backward, gain);
