/* {{NAME}}: y = x for x > 0, slope * x otherwise; dy/dx = 1 or slope (0 counts as negative).
 * Maas, Hannun & Ng 2013, "Rectifier Nonlinearities Improve Neural Network Acoustic Models";
 * gain sqrt(2 / (1 + slope^2)) as torch.nn.init.calculate_gain('leaky_relu'). Replace the
 * formula, the source and the code with your activation's.
 */
#include <fanin/plugin.h>
#include <math.h>

enum { P_SLOPE }; /* each parameter's index in p[]: its row in the schema below */

/* y[i] = f(x[i]); x == y is allowed (FANIN_FLAG_IN_PLACE), so read x[i] before writing y[i]. */
static int forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    float slope = (float)p[P_SLOPE].f;
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
    return FANIN_OK;
}

/* dx = dy * f'(x), differentiating `y = x > 0 ? x : slope * x`. */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    float slope = (float)p[P_SLOPE].f;
    for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : slope * dy[i];
    return FANIN_OK;
}

/* The gain variance-scaling initializers use with this activation (positive, finite). */
static int gain(const fanin_value *p, double *g) {
    *g = sqrt(2.0 / (1.0 + p[P_SLOPE].f * p[P_SLOPE].f));
    return FANIN_OK;
}

/* One row per parameter, in the enum's order; the host validates values against it. */
static const fanin_param_spec schema[] = {
    {.name = "slope", .type = FANIN_PARAM_F64, .def = 0.01, .min = 0.0, .max = 1.0,
     .doc = "slope for negative inputs"},
    {0},
};

FANIN_ACTIVATION({{NAME}}_plugin, "{{NAME}}", "0.1.0", "x if x > 0 else slope * x", schema,
                 forward, backward, gain);
FANIN_PLUGIN_DEFINE(&{{NAME}}_plugin)
