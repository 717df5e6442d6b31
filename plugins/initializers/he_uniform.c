/* he_uniform: W ~ U(-bound, bound), bound = gain * sqrt(3 / fan), so std = gain / sqrt(fan);
 * fan = fan_in (default) or fan_out. He, Zhang, Ren & Sun 2015, "Delving Deep into
 * Rectifiers", eq. 10/14, drawn uniformly; torch.nn.init.kaiming_uniform_. The gain is sqrt(2)
 * whatever the layer's activation (PyTorch's default leaky_relu, a = 0; Keras's HeUniform);
 * `nonlinearity: auto` asks for the activation's own gain (issue 11). nn.Linear's own default
 * is this with a = sqrt(5), i.e. U(+-1/sqrt(fan_in)) (PyTorch issue 15314; `torch_default`).
 * Gain precedence: an explicit `gain` wins; else `nonlinearity` (+ `a`; `a` alone is
 * leaky_relu, the default) as kaiming_uniform_(a, mode, nonlinearity); else the activation's.
 * `kaiming_uniform` is the same scheme under PyTorch's name (same functions, same stream).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_GAIN, P_MODE, P_A, P_NONLINEARITY };

static int he_bound(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *b) {
    double gain, fan;
    int rc = init_kaiming_gain(ctx, p[P_GAIN].f, p[P_NONLINEARITY].e, p[P_A].f, &gain);
    if (rc == FANIN_OK && (rc = init_fan(ctx, t, p[P_MODE].e, &fan)) == FANIN_OK)
        *b = gain * sqrt(3.0 / fan);
    return rc;
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    double b;
    if (init_size(t) == 0) return FANIN_OK;
    int rc = he_bound(ctx, t, p, &b);
    if (rc == FANIN_OK) FANIN_HOST->rng_uniform(rng, t->data, init_size(t), -b, b);
    return rc;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    double b = 0.0;
    if (init_size(t) == 0) return init_empty_moments(mean, std);
    int rc = he_bound(ctx, t, p, &b);
    *mean = 0.0;
    *std = b / sqrt(3.0);
    return rc;
}

static const char *const modes[] = {"fan_in", "fan_out", NULL};
static const char *const nonlinearities[] = INIT_NONLINEARITIES;

static const fanin_param_spec schema[] = {
    {.name = "gain",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX | FANIN_PARAM_AUTO,
     .def = NAN,
     .min = 0.0,
     .doc = "multiplies the bound; auto = from nonlinearity and a (default sqrt 2)"},
    {.name = "mode",
     .type = FANIN_PARAM_ENUM,
     .def = INIT_FAN_IN,
     .max = 1.0,
     .choices = modes,
     .doc = "fan_in keeps the forward variance, fan_out the backward one"},
    {.name = "a",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX,
     .def = 0.0,
     .doc = "negative slope of leaky_relu (PyTorch's a); a alone means leaky_relu"},
    {.name = "nonlinearity",
     .type = FANIN_PARAM_ENUM,
     .def = INIT_NL_LEAKY,
     .choices = nonlinearities,
     .doc = "calculate_gain(nonlinearity, a); default leaky_relu, a = 0: sqrt 2; "
            "auto = the layer's activation"},
    {0},
};

FANIN_INITIALIZER(he_uniform, "he_uniform", "1.0.0",
                  "U(+-gain*sqrt(3/fan)), gain sqrt 2 (He 2015; torch kaiming_uniform_)", schema,
                  fill, moments);
FANIN_INITIALIZER(kaiming_uniform, "kaiming_uniform", "1.0.0",
                  "alias of he_uniform (torch.nn.init.kaiming_uniform_: a, mode, nonlinearity)",
                  schema, fill, moments);
