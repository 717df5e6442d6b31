/* hard_sigmoid: y = relu6(x + 3) / 6 = 0 for x <= -3, 1 for x >= 3, x/6 + 1/2 between;
 * dy/dx = 1/6 inside (-3, 3), else 0 (0 at the kinks, as PyTorch). torch.nn.Hardsigmoid,
 * Howard et al. 2019 (MobileNetV3); Keras 3's hard_sigmoid is the same. PyTorch has no gain:
 * 1/sqrt(E[f(z)^2]) (act_common.h), 1.8978 (sigmoid's PyTorch gain 1 is a convention, not
 * this rule).
 * x: [n]; x == y and dy == dx allowed (backward reads y: 0 < y < 1 exactly inside).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "act_common.h"

static double hard_sigmoid(double x, const fanin_value *p) {
    return x <= -3.0 ? 0.0 : x >= 3.0 ? 1.0 : x / 6.0 + 0.5;
}

static int forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++) y[i] = isnan(x[i]) ? x[i] : (float)hard_sigmoid(x[i], p);
    return FANIN_OK;
}

/* forward: y = min(max(x/6 + 1/2, 0), 1) */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f && y[i] < 1.0f ? dy[i] / 6.0f : 0.0f;
    return FANIN_OK;
}

static int gain(const fanin_value *p, double *g) {
    return act_gain_second_moment(hard_sigmoid, p, g);
}

FANIN_ACTIVATION(act_hard_sigmoid, "hard_sigmoid", "1.0.0", "relu6(x+3)/6 (gain 1.8978)", NULL,
                 forward, backward, gain);
