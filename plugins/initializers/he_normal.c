/* he_normal: W ~ N(0, std^2), std = gain / sqrt(fan), fan = fan_in (default) or fan_out,
 * untruncated. He, Zhang, Ren & Sun 2015, "Delving Deep into Rectifiers", eq. 10 (forward,
 * fan_in) and eq. 14 (backward, fan_out); torch.nn.init.kaiming_normal_. As PyTorch (default
 * nonlinearity leaky_relu, a = 0) and Keras's HeNormal, the gain is sqrt(2) whatever the
 * layer's activation; `nonlinearity: auto` asks for the activation's own gain (issue 11: before,
 * auto was the default and he_normal on a tanh layer was 5/3, on a linear one LeCun).
 * Keras/JAX HeNormal truncate (`truncated: true`). Gain precedence: an explicit `gain` wins;
 * else `nonlinearity` (+ `a`; `a` alone is leaky_relu, the default) as kaiming_normal_(a, mode,
 * nonlinearity); else (`nonlinearity: auto`) the layer's activation.
 * `kaiming_normal` is the same scheme under PyTorch's name (same functions, same stream).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_GAIN, P_MODE, P_TRUNCATED, P_A, P_NONLINEARITY };

static int he_std(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *std) {
    double gain, fan;
    int rc = init_kaiming_gain(ctx, p[P_GAIN].f, p[P_NONLINEARITY].e, p[P_A].f, &gain);
    if (rc == FANIN_OK && (rc = init_fan(ctx, t, p[P_MODE].e, &fan)) == FANIN_OK)
        *std = gain / sqrt(fan);
    return rc;
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    double std;
    if (init_size(t) == 0) return FANIN_OK;
    int rc = he_std(ctx, t, p, &std);
    if (rc == FANIN_OK) init_normal0(rng, t, std, p[P_TRUNCATED].b);
    return rc;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    if (init_size(t) == 0) return init_empty_moments(mean, std);
    *mean = 0.0;
    return he_std(ctx, t, p, std);
}

static const char *const modes[] = {"fan_in", "fan_out", NULL};
static const char *const nonlinearities[] = INIT_NONLINEARITIES;

static const fanin_param_spec schema[] = {
    {.name = "gain",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX | FANIN_PARAM_AUTO,
     .def = NAN,
     .min = 0.0,
     .doc = "multiplies the std; auto = from nonlinearity and a (default sqrt 2)"},
    {.name = "mode",
     .type = FANIN_PARAM_ENUM,
     .def = INIT_FAN_IN,
     .max = 1.0,
     .choices = modes,
     .doc = "fan_in keeps the forward variance, fan_out the backward one"},
    {.name = "truncated",
     .type = FANIN_PARAM_BOOL,
     .def = 0.0,
     .max = 1.0,
     .doc = "Keras/JAX: redraw beyond 2 sigma, std divided by 0.8796 so it stays gain/sqrt(fan)"},
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

FANIN_INITIALIZER(he_normal, "he_normal", "1.0.0",
                  "N(0, gain^2/fan), gain sqrt 2 (He 2015; torch kaiming_normal_)", schema, fill,
                  moments);
FANIN_INITIALIZER(kaiming_normal, "kaiming_normal", "1.0.0",
                  "alias of he_normal (torch.nn.init.kaiming_normal_: a, mode, nonlinearity)",
                  schema, fill, moments);
