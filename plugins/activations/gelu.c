/* gelu: y = x Phi(x) = 0.5 x erfc(-x / sqrt 2) (erfc: no 1 + erf cancellation for x << 0);
 *   dy/dx = Phi(x) + x phi(x).
 * approximate: tanh: y = x sigmoid(2u) (= 0.5 x (1 + tanh u), stable), u = sqrt(2/pi) (x +
 *   0.044715 x^3); dy/dx = s + 2 x s (1 - s) u', s = sigmoid(2u),
 *   u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2).
 * Hendrycks & Gimpel 2016, "Gaussian Error Linear Units", section 2; torch.nn.GELU(approximate=
 * 'none'|'tanh'). PyTorch has no gain: 1/sqrt(E[gelu(z)^2]) (act_common.h): 1.5335 exact,
 * 1.5336 tanh form.
 * x: [n]; x == y allowed in forward; backward needs x (x == y refused), dy == dx allowed.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "act_common.h"

enum { P_APPROXIMATE };
enum { APPROX_NONE, APPROX_TANH }; /* index into approx[] */

#define GELU_K 0.79788456080286535588 /* sqrt(2/pi) */
#define GELU_C 0.044715

static double gelu(double x, const fanin_value *p) {
    if (p[P_APPROXIMATE].e == APPROX_NONE) return 0.5 * x * erfc(-x * ACT_SQRT1_2);
    return x * act_sigmoid(2.0 * GELU_K * (x + GELU_C * x * x * x));
}

static int forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++) y[i] = (float)gelu(x[i], p);
    return FANIN_OK;
}

/* forward: y = x Phi(x), or x sigmoid(2u) */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    int rc = act_need_x(ctx, x, y, n, "gelu");
    for (size_t i = 0; rc == FANIN_OK && i < n; i++) {
        double v = x[i], d;
        if (p[P_APPROXIMATE].e == APPROX_NONE) {
            d = 0.5 * erfc(-v * ACT_SQRT1_2) + v * exp(-0.5 * v * v) * ACT_INV_SQRT_2PI;
        } else {
            double s = act_sigmoid(2.0 * GELU_K * (v + GELU_C * v * v * v));
            d = s + 2.0 * v * s * (1.0 - s) * GELU_K * (1.0 + 3.0 * GELU_C * v * v);
        }
        dx[i] = (float)(dy[i] * d);
    }
    return rc;
}

static int gain(const fanin_value *p, double *g) { return act_gain_second_moment(gelu, p, g); }

static const char *const approx[] = {"none", "tanh", NULL};

static const fanin_param_spec schema[] = {
    {.name = "approximate",
     .type = FANIN_PARAM_ENUM,
     .def = APPROX_NONE,
     .choices = approx,
     .doc = "none: exact erf form; tanh: the tanh approximation (torch.nn.GELU)"},
    {0},
};

FANIN_ACTIVATION(act_gelu, "gelu", "1.0.0", "x*Phi(x), exact or tanh-approximated (gain 1.5335)",
                 schema, forward, backward, gain);
