/* xavier_normal: W ~ N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)), untruncated.
 * Glorot & Bengio 2010, "Understanding the difficulty of training deep feedforward neural
 * networks", eq. 12 (Var W = 2/(n_in + n_out)); torch.nn.init.xavier_normal_(gain=1).
 * Keras/JAX GlorotNormal truncate at 2 sigma and correct the std (`truncated: true`).
 * `glorot_normal` is the same scheme under Keras's name; its default stays PyTorch's
 * (untruncated): add `truncated: true` for Keras's GlorotNormal.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_GAIN, P_TRUNCATED };

static int xavier_std(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *std) {
    double gain, fan_in, fan_out;
    int rc = init_gain(ctx, p[P_GAIN].f, &gain);
    if (rc == FANIN_OK && (rc = init_fan(ctx, t, INIT_FAN_IN, &fan_in)) == FANIN_OK &&
        (rc = init_fan(ctx, t, INIT_FAN_OUT, &fan_out)) == FANIN_OK)
        *std = gain * sqrt(2.0 / (fan_in + fan_out));
    return rc;
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    double std;
    if (init_size(t) == 0) return FANIN_OK;
    int rc = xavier_std(ctx, t, p, &std);
    if (rc == FANIN_OK) init_normal0(rng, t, std, p[P_TRUNCATED].b);
    return rc;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    if (init_size(t) == 0) return init_empty_moments(mean, std);
    *mean = 0.0;
    return xavier_std(ctx, t, p, std);
}

static const fanin_param_spec schema[] = {
    {.name = "gain",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX | FANIN_PARAM_AUTO,
     .def = 1.0,
     .min = 0.0,
     .doc = "multiplies the std (PyTorch: 1); auto = the activation's gain"},
    {.name = "truncated",
     .type = FANIN_PARAM_BOOL,
     .def = 0.0,
     .max = 1.0,
     .doc = "Keras/JAX: redraw beyond 2 sigma, std divided by 0.8796 so it keeps the "
            "formula's value"},
    {0},
};

FANIN_INITIALIZER(xavier_normal, "xavier_normal", "1.0.0",
                  "N(0, gain^2*2/(fan_in+fan_out)) (Glorot 2010; torch xavier_normal_)", schema,
                  fill, moments);
FANIN_INITIALIZER(glorot_normal, "glorot_normal", "1.0.0",
                  "alias of xavier_normal (Keras GlorotNormal with truncated: true)", schema, fill,
                  moments);
