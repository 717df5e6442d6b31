/* {{NAME}}: y = x for x > 0, slope * x otherwise; dy/dx = 1 or slope (0 counts as negative).
 * Maas, Hannun & Ng 2013, "Rectifier Nonlinearities Improve Neural Network Acoustic Models";
 * gain sqrt(2 / (1 + slope^2)) as torch.nn.init.calculate_gain('leaky_relu'). Replace the
 * formula, the source and the code with your activation's.
 */
#include <fanin/plugin.h>
#include <math.h>

/* y[i] = f(x[i]); x == y is allowed (FANIN_FLAG_IN_PLACE), so read x[i] before writing y[i]. */
static int forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    float slope = (float)p[0].f;
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
    return FANIN_OK;
}

/* dx = dy * f'(x), differentiating `y = x > 0 ? x : slope * x`. */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    float slope = (float)p[0].f;
    for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : slope * dy[i];
    return FANIN_OK;
}

/* The gain variance-scaling initializers use with this activation (positive, finite). */
static int gain(const fanin_value *p, double *g) {
    *g = sqrt(2.0 / (1.0 + p[0].f * p[0].f));
    return FANIN_OK;
}

static const fanin_param_spec schema[] = {
    {"slope", FANIN_PARAM_F64, 0, 0.01, 0.0, 1.0, NULL, NULL, "slope for negative inputs"},
    {0},
};

FANIN_ACTIVATION({{NAME}}_plugin, "{{NAME}}", "0.1.0", "x if x > 0 else slope * x", schema,
                 forward, backward, gain);
FANIN_PLUGIN_DEFINE(&{{NAME}}_plugin)
