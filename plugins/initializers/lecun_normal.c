/* lecun_normal: W ~ N(0, std^2), std = gain / sqrt(fan_in), untruncated.
 * LeCun, Bottou, Orr & Mueller 1998, "Efficient BackProp", section 4.6 (sigma_w = m^-1/2):
 * the `randn(n, n_prev) / sqrt(n_prev)` of the classic course. PyTorch has no lecun_normal_;
 * this is kaiming_normal_ with gain 1. Keras/JAX LecunNormal truncate at 2 sigma and correct
 * the std (`truncated: true`); they use scale = gain^2.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_GAIN, P_TRUNCATED };

static int lecun_std(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *std) {
    double gain, fan;
    int rc = init_gain(ctx, p[P_GAIN].f, &gain);
    if (rc == FANIN_OK && (rc = init_fan(ctx, t, INIT_FAN_IN, &fan)) == FANIN_OK)
        *std = gain / sqrt(fan);
    return rc;
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    double std;
    if (init_size(t) == 0) return FANIN_OK;
    int rc = lecun_std(ctx, t, p, &std);
    if (rc == FANIN_OK) init_normal0(rng, t, std, p[P_TRUNCATED].b);
    return rc;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    if (init_size(t) == 0) return init_empty_moments(mean, std);
    *mean = 0.0;
    return lecun_std(ctx, t, p, std);
}

static const fanin_param_spec schema[] = {
    {.name = "gain",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX | FANIN_PARAM_AUTO,
     .def = 1.0,
     .min = 0.0,
     .doc = "multiplies the std; auto = the layer activation's gain"},
    {.name = "truncated",
     .type = FANIN_PARAM_BOOL,
     .def = 0.0,
     .max = 1.0,
     .doc = "Keras/JAX: redraw beyond 2 sigma, std divided by 0.8796 so it stays "
            "gain/sqrt(fan_in)"},
    {0},
};

FANIN_INITIALIZER(lecun_normal, "lecun_normal", "1.0.0",
                  "N(0, gain^2/fan_in), untruncated (LeCun 1998; Keras truncates)", schema, fill,
                  moments);
