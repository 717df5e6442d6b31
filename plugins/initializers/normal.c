/* normal: W ~ N(mean, std^2), untruncated. torch.nn.init.normal_(mean=0, std=1), whose
 * defaults these are. `{name: normal, std: 0.01}` is the classic `randn * 0.01` small init
 * that stalls deep networks (activations shrink layer by layer). Keras RandomNormal defaults
 * to std 0.05, JAX normal to 0.01: give `std` to match them.
 */
#include <fanin/plugin.h>

#include "init_common.h"

enum { P_MEAN, P_STD };

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    if (init_size(t) > 0)
        FANIN_HOST->rng_normal(rng, t->data, init_size(t), p[P_MEAN].f, p[P_STD].f);
    return FANIN_OK;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    *mean = p[P_MEAN].f;
    *std = p[P_STD].f;
    return FANIN_OK;
}

static const fanin_param_spec schema[] = {
    {.name = "mean",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX,
     .def = 0.0,
     .doc = "mean of the normal"},
    {.name = "std",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 1.0,
     .min = 0.0,
     .doc = "standard deviation (>= 0; 0 gives every element = mean)"},
    {0},
};

FANIN_INITIALIZER(normal, "normal", "1.0.0", "N(mean, std^2), untruncated (torch.nn.init.normal_)",
                  schema, fill, moments);
