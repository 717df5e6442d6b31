/* linear: y = x, dy/dx = 1; gain 1 (torch.nn.init.calculate_gain("linear")).
 * The identity, for regression outputs and deep linear networks (Saxe et al. 2014).
 * x: [n], y: [n]; x == y and dy == dx allowed.
 */
#include <fanin/plugin.h>

static int forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    if (x != y)
        for (size_t i = 0; i < n; i++) y[i] = x[i];
    return FANIN_OK;
}

/* forward: y = x */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    if (dx != dy)
        for (size_t i = 0; i < n; i++) dx[i] = dy[i];
    return FANIN_OK;
}

static int gain(const fanin_value *p, double *g) {
    *g = 1.0;
    return FANIN_OK;
}

FANIN_ACTIVATION(act_linear, "linear", "1.0.0", "identity y = x (gain 1)", NULL, forward, backward,
                 gain);
