/* elu: y = x for x > 0, else alpha (exp(x) - 1); dy/dx = 1, else alpha exp(x) = y + alpha.
 * Clevert, Unterthiner & Hochreiter 2016 (ICLR), eq. 15; torch.nn.ELU(alpha=1). PyTorch has no
 * gain for it: gain = 1/sqrt(E[elu(z)^2]), z ~ N(0,1) (act_common.h), 1.2452 for alpha = 1.
 * x: [n]; x == y and dy == dx allowed (backward reads y only, as torch's in-place elu_).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "act_common.h"

enum { P_ALPHA };

static double elu(double x, const fanin_value *p) { return x > 0.0 ? x : p[P_ALPHA].f * expm1(x); }

static int forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++) y[i] = (float)elu(x[i], p); /* expm1: no cancellation near 0 */
    return FANIN_OK;
}

/* forward: y = x > 0 ? x : alpha (exp(x) - 1); alpha >= 0 keeps y <= 0 exactly when x <= 0 */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    float a = (float)p[P_ALPHA].f;
    for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : dy[i] * (y[i] + a);
    return FANIN_OK;
}

static int gain(const fanin_value *p, double *g) { return act_gain_second_moment(elu, p, g); }

static const fanin_param_spec schema[] = {
    {.name = "alpha",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 1.0,
     .min = 0.0,
     .doc = "saturation value -alpha for x -> -inf (>= 0)"},
    {0},
};

FANIN_ACTIVATION(act_elu, "elu", "1.0.0", "x > 0 ? x : alpha*(exp(x)-1) (gain 1.2452 at alpha 1)",
                 schema, forward, backward, gain);
