/* uniform: W ~ U(a, b); mean (a+b)/2, std (b-a)/sqrt(12).
 * torch.nn.init.uniform_(a=0, b=1), whose defaults these are. Other conventions are the same
 * plugin with other bounds: Keras RandomUniform is U(-0.05, 0.05), FANN U(-0.1, 0.1), JAX
 * uniform(scale) U(0, scale).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_A, P_B };

static int check(fanin_ctx *ctx, const fanin_value *p) {
    if (p[P_A].f < p[P_B].f) return FANIN_OK;
    return FANIN_HOST->error(ctx, FANIN_EINVAL, "a = %g must be less than b = %g", p[P_A].f,
                             p[P_B].f);
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    int rc = check(ctx, p);
    if (rc == FANIN_OK && init_size(t) > 0)
        FANIN_HOST->rng_uniform(rng, t->data, init_size(t), p[P_A].f, p[P_B].f);
    return rc;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    *mean = 0.5 * (p[P_A].f + p[P_B].f);
    *std = (p[P_B].f - p[P_A].f) / sqrt(12.0);
    return check(ctx, p);
}

static const fanin_param_spec schema[] = {
    {.name = "a",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX,
     .def = 0.0,
     .doc = "lower bound (inclusive); must be less than b"},
    {.name = "b",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX,
     .def = 1.0,
     .doc = "upper bound"},
    {0},
};

FANIN_INITIALIZER(uniform, "uniform", "1.0.0", "U(a, b) (torch.nn.init.uniform_)", schema, fill,
                  moments);
