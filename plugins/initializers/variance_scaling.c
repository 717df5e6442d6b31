/* variance_scaling: Var W = scale / n, n = max(1, fan_in | fan_out | (fan_in + fan_out)/2 |
 * sqrt(fan_in * fan_out)) -- the last is JAX's mode "fan_geo_avg" (jax.nn.initializers
 * variance_scaling, jax/_src/nn/initializers.py: denominator = sqrt(fan_in * fan_out)).
 *   truncated_normal:   N(0, s^2) cut at +-2s, s = sqrt(scale/n) / 0.87962566103423978
 *                       (the std of N(0,1) cut at +-2), so the result's std is sqrt(scale/n);
 *   untruncated_normal: N(0, scale/n);   uniform: U(+-sqrt(3 scale / n)).
 * keras.initializers.VarianceScaling(scale=1, mode="fan_in", distribution="truncated_normal"),
 * whose defaults these are; jax.nn.initializers.variance_scaling. Covers Glorot (1, fan_avg),
 * He (2, fan_in) and LeCun (1, fan_in). scale is PyTorch's gain squared.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_SCALE, P_MODE, P_DISTRIBUTION };
enum { VS_FAN_IN, VS_FAN_OUT, VS_FAN_AVG, VS_FAN_GEO_AVG };
enum { VS_TRUNCATED, VS_UNTRUNCATED, VS_UNIFORM };

/* the std Var W = scale / n gives (Keras floors n at 1, so an empty fan is no error) */
static double vs_std(const fanin_tensor *t, const fanin_value *p) {
    double fi = (double)t->fan_in, fo = (double)t->fan_out;
    int m = p[P_MODE].e;
    double n = m == VS_FAN_IN    ? fi
               : m == VS_FAN_OUT ? fo
               : m == VS_FAN_AVG ? 0.5 * (fi + fo)
                                 : sqrt(fi * fo);
    return sqrt(p[P_SCALE].f / fmax(1.0, n));
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    double std = vs_std(t, p);
    if (init_size(t) == 0) return FANIN_OK;
    if (p[P_DISTRIBUTION].e == VS_UNIFORM)
        FANIN_HOST->rng_uniform(rng, t->data, init_size(t), -sqrt(3.0) * std, sqrt(3.0) * std);
    else init_normal0(rng, t, std, p[P_DISTRIBUTION].e == VS_TRUNCATED);
    return FANIN_OK;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    *mean = 0.0;
    *std = vs_std(t, p);
    return FANIN_OK;
}

static const char *const modes[] = {"fan_in", "fan_out", "fan_avg", "fan_geo_avg", NULL};
static const char *const dists[] = {"truncated_normal", "untruncated_normal", "uniform", NULL};

static const fanin_param_spec schema[] = {
    {.name = "scale",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX,
     .def = 1.0,
     .min = 0.0,
     .doc = "variance multiplier (= gain^2): 1 Glorot/LeCun, 2 He"},
    {.name = "mode",
     .type = FANIN_PARAM_ENUM,
     .def = VS_FAN_IN,
     .choices = modes,
     .doc = "n = fan_in, fan_out, their average or (JAX) geometric mean; floored at 1"},
    {.name = "distribution",
     .type = FANIN_PARAM_ENUM,
     .def = VS_TRUNCATED,
     .choices = dists,
     .doc = "truncated_normal (2 sigma, std corrected), untruncated_normal or uniform"},
    {0},
};

FANIN_INITIALIZER(variance_scaling, "variance_scaling", "1.0.0",
                  "Var = scale/n, Keras VarianceScaling semantics (truncated normal by default)",
                  schema, fill, moments);
