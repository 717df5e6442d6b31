/* critical: a network at the edge of chaos (Schoenholz, Gilmer, Ganguli & Sohl-Dickstein 2017,
 * "Deep Information Propagation"; Poole et al. 2016). A weight W ~ N(0, sigma_w2 / fan_in), a
 * bias b ~ N(0, sigma_b2): the mean-field initialisation whose (sigma_w2, sigma_b2) sets
 * chi_1 = sigma_w2 E[phi'(sqrt(q*) z)^2] = 1. The pair comes from the activation:
 * `fanin init-stats critical --activation A --bias-std sqrt(sigma_b2)` prints sigma_w2 (a plugin
 * cannot call another plugin, so the solver, core/api/critical.c, is the host's). The defaults
 * are tanh's critical point at sigma_b2 = 0.05 as that command gives it (sigma_w2 = 1.76095,
 * q* = 0.570; tests/test_critical.c checks the default against the solver).
 * Use it as both `init` and `bias_init`: each tensor takes its half of the pair.
 * mean 0; std sqrt(sigma_w2 / fan_in) for a weight, sqrt(sigma_b2) for a bias.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_SIGMA_W2, P_SIGMA_B2 };

static int critical_std(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *std) {
    double fan;
    if (t->is_bias) {
        *std = sqrt(p[P_SIGMA_B2].f);
        return FANIN_OK;
    }
    int rc = init_fan(ctx, t, INIT_FAN_IN, &fan);
    *std = rc == FANIN_OK ? sqrt(p[P_SIGMA_W2].f / fan) : 0.0;
    return rc;
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    double std;
    if (init_size(t) == 0) return FANIN_OK;
    int rc = critical_std(ctx, t, p, &std);
    if (rc == FANIN_OK) FANIN_HOST->rng_normal(rng, t->data, init_size(t), 0.0, std);
    return rc;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    if (init_size(t) == 0) return init_empty_moments(mean, std);
    *mean = 0.0;
    return critical_std(ctx, t, p, std);
}

static const fanin_param_spec schema[] = {
    {.name = "sigma_w2",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX,
     .def = 1.76095,
     .min = 0.0,
     .doc = "weight variance x fan_in; from fanin init-stats critical (tanh, sigma_b2 0.05)"},
    {.name = "sigma_b2",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 0.05,
     .min = 0.0,
     .doc = "bias variance (Schoenholz et al. 2017, Fig. 5: 0.05)"},
    {0},
};

FANIN_INITIALIZER(critical, "critical", "1.0.0",
                  "edge of chaos: W ~ N(0, sigma_w2/fan_in), b ~ N(0, sigma_b2) (Schoenholz 2017)",
                  schema, fill, moments);
