/* selu: y = lambda x for x > 0, else lambda alpha (exp(x) - 1), lambda = 1.0507009873554805,
 * alpha = 1.6732632423543772; dy/dx = lambda, else y + lambda alpha. Klambauer et al. 2017,
 * "Self-Normalizing Neural Networks", eq. 2 and 14; torch.nn.SELU. Gain 3/4 as
 * torch.nn.init.calculate_gain("selu") (empirical, PyTorch PR 50664); self-normalisation
 * proper wants gain 1 with lecun_normal (PyTorch issue 54055): give `gain: 1` there.
 * x: [n]; x == y and dy == dx allowed (backward reads y only).
 */
#include <fanin/plugin.h>
#include <math.h>

#define SELU_LAMBDA 1.0507009873554804934193349852946
#define SELU_ALPHA 1.6732632423543772848170429916717

static int forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++)
        y[i] = (float)(x[i] > 0.0f ? SELU_LAMBDA * x[i] : SELU_LAMBDA * SELU_ALPHA * expm1(x[i]));
    return FANIN_OK;
}

/* forward: y = lambda (x > 0 ? x : alpha (exp(x) - 1)); y <= 0 exactly when x <= 0 */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++)
        dx[i] = (float)(y[i] > 0.0f ? SELU_LAMBDA * dy[i]
                                    : dy[i] * ((double)y[i] + SELU_LAMBDA * SELU_ALPHA));
    return FANIN_OK;
}

static int gain(const fanin_value *p, double *g) {
    *g = 3.0 / 4.0;
    return FANIN_OK;
}

FANIN_ACTIVATION(act_selu, "selu", "1.0.0", "scaled elu, self-normalising (gain 3/4 as PyTorch)",
                 NULL, forward, backward, gain);
