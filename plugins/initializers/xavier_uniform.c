/* xavier_uniform: W ~ U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out)), so
 * std = gain * sqrt(2 / (fan_in + fan_out)). Glorot & Bengio 2010, "Understanding the
 * difficulty of training deep feedforward neural networks", eq. 16 ("normalized
 * initialization"); torch.nn.init.xavier_uniform_(gain=1); Keras GlorotUniform (scale = gain^2).
 * `glorot_uniform` is the same scheme under Keras's name (same functions, same stream).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_GAIN };

static int xavier_bound(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *b) {
    double gain, fan_in, fan_out;
    int rc = init_gain(ctx, p[P_GAIN].f, &gain);
    if (rc == FANIN_OK && (rc = init_fan(ctx, t, INIT_FAN_IN, &fan_in)) == FANIN_OK &&
        (rc = init_fan(ctx, t, INIT_FAN_OUT, &fan_out)) == FANIN_OK)
        *b = gain * sqrt(6.0 / (fan_in + fan_out));
    return rc;
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    double b;
    if (init_size(t) == 0) return FANIN_OK;
    int rc = xavier_bound(ctx, t, p, &b);
    if (rc == FANIN_OK) FANIN_HOST->rng_uniform(rng, t->data, init_size(t), -b, b);
    return rc;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    double b = 0.0;
    if (init_size(t) == 0) return init_empty_moments(mean, std);
    int rc = xavier_bound(ctx, t, p, &b);
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
     .doc = "multiplies the bound (PyTorch: 1); auto = the activation's gain"},
    {0},
};

FANIN_INITIALIZER(xavier_uniform, "xavier_uniform", "1.0.0",
                  "U(+-gain*sqrt(6/(fan_in+fan_out))) (Glorot 2010; torch xavier_uniform_)", schema,
                  fill, moments);
FANIN_INITIALIZER(glorot_uniform, "glorot_uniform", "1.0.0",
                  "alias of xavier_uniform (Keras GlorotUniform, the Dense default)", schema, fill,
                  moments);
