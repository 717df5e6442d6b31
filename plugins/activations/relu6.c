/* relu6: y = min(max(x, 0), 6); dy/dx = 1 inside (0, 6), else 0 (0 at the kinks, as
 * PyTorch's hardtanh_backward). Krizhevsky 2010 (convolutional DBNs on CIFAR-10); Howard et
 * al. 2017 (MobileNets); torch.nn.ReLU6. PyTorch has no gain: 1/sqrt(E[relu6(z)^2])
 * (act_common.h), 1.4142 (relu's sqrt 2 to 5 digits: N(0,1) rarely passes 6).
 * x: [n]; x == y and dy == dx allowed (backward reads y: 0 < y < 6 exactly inside).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "act_common.h"

static double relu6(double x, const fanin_value *p) { return fmin(fmax(x, 0.0), 6.0); }

static int forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++)
        y[i] = isnan(x[i]) ? x[i] : (float)relu6(x[i], p); /* NaN stays NaN, as torch */
    return FANIN_OK;
}

/* forward: y = min(max(x, 0), 6) */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f && y[i] < 6.0f ? dy[i] : 0.0f;
    return FANIN_OK;
}

static int gain(const fanin_value *p, double *g) { return act_gain_second_moment(relu6, p, g); }

FANIN_ACTIVATION(act_relu6, "relu6", "1.0.0", "min(max(x, 0), 6) (gain 1.4142)", NULL, forward,
                 backward, gain);
