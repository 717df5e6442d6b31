/* he_uniform: W ~ U(-bound, bound), bound = gain * sqrt(3 / fan), so std = gain / sqrt(fan);
 * fan = fan_in (default) or fan_out. He, Zhang, Ren & Sun 2015, "Delving Deep into
 * Rectifiers", eq. 10/14, drawn uniformly; torch.nn.init.kaiming_uniform_. `gain: auto` (the
 * default) asks for the layer's activation's gain (relu: sqrt(2)). nn.Linear's own default is
 * this with gain sqrt(1/3), i.e. U(+-1/sqrt(fan_in)) (PyTorch issue 15314; `torch_default`).
 * Gain precedence: an explicit `gain` wins; else `nonlinearity` (+ `a` for leaky_relu) as
 * kaiming_uniform_(a, mode, nonlinearity); else (both auto) the layer's activation.
 * `kaiming_uniform` is the same scheme under PyTorch's name (same functions, same stream).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

static int he_bound(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *b) {
    double gain, fan;
    int rc = init_kaiming_gain(ctx, p[0].f, p[3].e, p[2].f, &gain);
    if (rc == FANIN_OK && (rc = init_fan(ctx, t, p[1].e, &fan)) == FANIN_OK)
        *b = gain * sqrt(3.0 / fan);
    return rc;
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    double b;
    if (init_size(t) == 0)
        return FANIN_OK;
    int rc = he_bound(ctx, t, p, &b);
    if (rc == FANIN_OK)
        FANIN_HOST->rng_uniform(rng, t->data, init_size(t), -b, b);
    return rc;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    double b = 0.0;
    if (init_size(t) == 0)
        return init_empty_moments(mean, std);
    int rc = he_bound(ctx, t, p, &b);
    *mean = 0.0;
    *std = b / sqrt(3.0);
    return rc;
}

static const char *const modes[] = {"fan_in", "fan_out", NULL};
static const char *const nonlinearities[] = INIT_NONLINEARITIES;

static const fanin_param_spec schema[] = {
    {"gain", FANIN_PARAM_F64, FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX | FANIN_PARAM_AUTO, NAN,
     0.0, 0.0, NULL, NULL, "multiplies the bound; auto = the activation's gain (relu: sqrt 2)"},
    {"mode", FANIN_PARAM_ENUM, 0, INIT_FAN_IN, 0.0, 1.0, modes, NULL,
     "fan_in keeps the forward variance, fan_out the backward one"},
    {"a", FANIN_PARAM_F64, FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX, 0.0, 0.0, 0.0, NULL, NULL,
     "negative slope of leaky_relu, used only with nonlinearity: leaky_relu (PyTorch's a)"},
    {"nonlinearity", FANIN_PARAM_ENUM, 0, INIT_NL_AUTO, 0.0, 0.0, nonlinearities, NULL,
     "calculate_gain(nonlinearity, a) when gain is auto; auto = the layer's activation"},
    {0},
};

FANIN_INITIALIZER(he_uniform, "he_uniform", "1.0.0",
                  "U(+-gain*sqrt(3/fan)), gain auto (He 2015; torch kaiming_uniform_)", schema,
                  fill, moments);
FANIN_INITIALIZER(kaiming_uniform, "kaiming_uniform", "1.0.0",
                  "alias of he_uniform (torch.nn.init.kaiming_uniform_: a, mode, nonlinearity)",
                  schema, fill, moments);
