/* lecun_uniform: W ~ U(-bound, bound), bound = gain * sqrt(3 / fan_in), so std = gain/sqrt(fan_in).
 * LeCun, Bottou, Orr & Mueller 1998, "Efficient BackProp", section 4.6, drawn uniformly;
 * Keras/JAX lecun_uniform (scale = gain^2); Caffe's default "xavier" filler is this rule.
 * PyTorch has no lecun_uniform_; this is kaiming_uniform_ with gain 1.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_GAIN };

static int lecun_bound(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *b) {
    double gain, fan;
    int rc = init_gain(ctx, p[P_GAIN].f, &gain);
    if (rc == FANIN_OK && (rc = init_fan(ctx, t, INIT_FAN_IN, &fan)) == FANIN_OK)
        *b = gain * sqrt(3.0 / fan);
    return rc;
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    double b;
    if (init_size(t) == 0) return FANIN_OK;
    int rc = lecun_bound(ctx, t, p, &b);
    if (rc == FANIN_OK) FANIN_HOST->rng_uniform(rng, t->data, init_size(t), -b, b);
    return rc;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    double b = 0.0;
    if (init_size(t) == 0) return init_empty_moments(mean, std);
    int rc = lecun_bound(ctx, t, p, &b);
    *mean = 0.0;
    *std = b / sqrt(3.0);
    return rc;
}

static const fanin_param_spec schema[] = {
    {.name = "gain",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX | FANIN_PARAM_AUTO,
     .def = 1.0,
     .min = 0.0,
     .doc = "multiplies the bound; auto = the layer activation's gain"},
    {0},
};

FANIN_INITIALIZER(lecun_uniform, "lecun_uniform", "1.0.0",
                  "U(+-gain*sqrt(3/fan_in)) (LeCun 1998; Keras lecun_uniform)", schema, fill,
                  moments);
