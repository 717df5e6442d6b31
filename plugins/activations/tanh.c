/* tanh: y = tanh(x); dy/dx = 1 - y^2; gain 5/3 (torch.nn.init.calculate_gain("tanh")).
 * torch.nn.Tanh; the symmetric sigmoid LeCun et al. 1998 ("Efficient BackProp") recommend
 * over the logistic one. x: [n], y: [n]; x == y and dy == dx allowed.
 */
#include <fanin/plugin.h>
#include <math.h>

static int forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]); /* saturates to +-1 without overflow */
    return FANIN_OK;
}

/* forward: y = tanh(x), so dy/dx = 1 - y^2 from y alone (as torch's tanh_backward) */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
    return FANIN_OK;
}

static int gain(const fanin_value *p, double *g) {
    *g = 5.0 / 3.0;
    return FANIN_OK;
}

FANIN_ACTIVATION(act_tanh, "tanh", "1.0.0", "tanh(x) (gain 5/3)", NULL, forward, backward, gain);
