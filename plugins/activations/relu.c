/* relu: y = max(0, x); dy/dx = 1 for x > 0, else 0 (0 at the kink, as PyTorch);
 * gain sqrt(2) (torch.nn.init.calculate_gain("relu"); He et al. 2015, eq. 10).
 * Nair & Hinton 2010; torch.nn.ReLU. x: [n], y: [n]; x == y and dy == dx allowed.
 */
#include <fanin/plugin.h>
#include <math.h>

static int forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] <= 0.0f ? 0.0f : x[i]; /* NaN stays NaN, as torch.relu: divergence shows */
    return FANIN_OK;
}

/* forward: y = max(0, x). Reads y (> 0 exactly when x > 0), as PyTorch's threshold_backward
 * (y <= 0 ? 0 : dy), so an in-place forward that overwrote x is fine. */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    /* The host calls in place (dx == dy); a loop over two arrays vectorizes, while with three
     * GCC's overlap check fails and it falls back to scalar code (5x slower). */
    if (dx == dy)
        for (size_t i = 0; i < n; i++) dx[i] = y[i] <= 0.0f ? 0.0f : dx[i];
    else
        for (size_t i = 0; i < n; i++) dx[i] = y[i] <= 0.0f ? 0.0f : dy[i];
    return FANIN_OK;
}

static int gain(const fanin_value *p, double *g) {
    *g = sqrt(2.0);
    return FANIN_OK;
}

FANIN_ACTIVATION(act_relu, "relu", "1.0.0", "max(0, x) (gain sqrt 2)", NULL, forward, backward,
                 gain);
