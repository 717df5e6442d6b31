/* caffe_xavier: Caffe's "xavier" filler: U(+-sqrt(3 / n)), n = fan_in (default), fan_out or
 * (fan_in + fan_out) / 2 by `variance_norm` (FillerParameter FAN_IN | FAN_OUT | AVERAGE;
 * filler.hpp XavierFiller). With the default it is LeCun uniform (Var 1/fan_in), not Glorot's
 * rule: only `variance_norm: average` gives Glorot & Bengio 2010 eq. 16. std = sqrt(1/n).
 * A bias uses its layer's fans (Caffe's would take a 1-D blob's count / shape(1) and abort).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_VARIANCE_NORM };
enum { NORM_FAN_IN, NORM_FAN_OUT, NORM_AVERAGE }; /* index into norms[] */

static int caffe_n(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *n) {
    double fi, fo;
    int rc = init_fan(ctx, t, INIT_FAN_IN, &fi);
    if (rc != FANIN_OK || (rc = init_fan(ctx, t, INIT_FAN_OUT, &fo)) != FANIN_OK)
        return rc;
    int norm = p[P_VARIANCE_NORM].e;
    *n = norm == NORM_FAN_IN ? fi : norm == NORM_FAN_OUT ? fo : 0.5 * (fi + fo);
    return FANIN_OK;
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    double n;
    if (init_size(t) == 0)
        return FANIN_OK;
    int rc = caffe_n(ctx, t, p, &n);
    if (rc == FANIN_OK)
        FANIN_HOST->rng_uniform(rng, t->data, init_size(t), -sqrt(3.0 / n), sqrt(3.0 / n));
    return rc;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    double n = 1.0;
    if (init_size(t) == 0)
        return init_empty_moments(mean, std);
    int rc = caffe_n(ctx, t, p, &n);
    *mean = 0.0;
    *std = sqrt(3.0 / n) / sqrt(3.0);
    return rc;
}

static const char *const norms[] = {"fan_in", "fan_out", "average", NULL};

static const fanin_param_spec schema[] = {
    {.name = "variance_norm", .type = FANIN_PARAM_ENUM, .def = NORM_FAN_IN, .choices = norms,
     .doc = "n = fan_in (Caffe's default), fan_out or average"},
    {0},
};

FANIN_INITIALIZER(caffe_xavier, "caffe_xavier", "1.0.0",
                  "Caffe \"xavier\": U(+-sqrt(3/n)), n = fan_in by default", schema, fill,
                  moments);
