/* caffe_xavier: Caffe's "xavier" filler: U(+-sqrt(3 / n)), n = fan_in (default), fan_out or
 * (fan_in + fan_out) / 2 by `variance_norm` (FillerParameter FAN_IN | FAN_OUT | AVERAGE;
 * filler.hpp XavierFiller). With the default it is LeCun uniform (Var 1/fan_in), not Glorot's
 * rule: only `variance_norm: average` gives Glorot & Bengio 2010 eq. 16. std = sqrt(1/n).
 * A bias is a 1-D blob as in Caffe: fan_in = count / shape(0) = 1, fan_out = count, so the
 * default fills it U(+-sqrt 3) (filler.hpp "Compatibility with ND blobs"; issue 11: it used to
 * take the layer's fans).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_VARIANCE_NORM };

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    double n;
    if (init_size(t) == 0) return FANIN_OK;
    int rc = init_caffe_n(ctx, t, p[P_VARIANCE_NORM].e, &n);
    if (rc == FANIN_OK)
        FANIN_HOST->rng_uniform(rng, t->data, init_size(t), -sqrt(3.0 / n), sqrt(3.0 / n));
    return rc;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    double n = 1.0;
    if (init_size(t) == 0) return init_empty_moments(mean, std);
    int rc = init_caffe_n(ctx, t, p[P_VARIANCE_NORM].e, &n);
    *mean = 0.0;
    *std = sqrt(3.0 / n) / sqrt(3.0);
    return rc;
}

static const char *const norms[] = {"fan_in", "fan_out", "average", NULL};

static const fanin_param_spec schema[] = {
    {.name = "variance_norm",
     .type = FANIN_PARAM_ENUM,
     .def = 0,
     .choices = norms,
     .doc = "n = fan_in (Caffe's default), fan_out or average"},
    {0},
};

FANIN_INITIALIZER(caffe_xavier, "caffe_xavier", "1.0.0",
                  "Caffe \"xavier\": U(+-sqrt(3/n)), n = fan_in by default", schema, fill, moments);
