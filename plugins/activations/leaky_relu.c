/* leaky_relu: y = x for x > 0, else negative_slope * x; dy/dx = 1 for x > 0, else the slope
 * (the slope at 0, as PyTorch's leaky_relu_backward). Maas, Hannun & Ng 2013; torch.nn.LeakyReLU
 * (negative_slope 0.01; Keras's LeakyReLU layer defaults to 0.3, its leaky_relu function to
 * 0.2). Gain sqrt(2 / (1 + slope^2)), exactly
 * torch.nn.init.calculate_gain("leaky_relu", slope). x: [n]; x == y and dy == dx allowed (for a
 * negative slope, backward needs x: x == y is refused, as torch's in-place leaky_relu_).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "act_common.h"

enum { P_NEGATIVE_SLOPE };

static int forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    float s = (float)p[P_NEGATIVE_SLOPE].f;
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : s * x[i];
    return FANIN_OK;
}

/* forward: y = x > 0 ? x : s x. With s >= 0, y > 0 exactly when x > 0, so y works as x. */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    float s = (float)p[P_NEGATIVE_SLOPE].f;
    int rc = s < 0.0f ? act_need_x(ctx, x, y, n, "leaky_relu (negative slope)") : FANIN_OK;
    for (size_t i = 0; rc == FANIN_OK && i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : s * dy[i];
    return rc;
}

static int gain(const fanin_value *p, double *g) {
    *g = sqrt(2.0 / (1.0 + p[P_NEGATIVE_SLOPE].f * p[P_NEGATIVE_SLOPE].f));
    return FANIN_OK;
}

static const fanin_param_spec schema[] = {
    {.name = "negative_slope",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX,
     .def = 0.01,
     .doc = "slope for x <= 0 (PyTorch 0.01; Keras layer 0.3, function 0.2)"},
    {0},
};

FANIN_ACTIVATION(act_leaky_relu, "leaky_relu", "1.0.0",
                 "x > 0 ? x : slope*x (gain sqrt(2/(1+slope^2)))", schema, forward, backward, gain);
