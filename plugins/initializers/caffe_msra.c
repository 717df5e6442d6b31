/* caffe_msra: Caffe's "msra" filler: W ~ N(0, 2 / n), n = fan_in (default), fan_out or
 * (fan_in + fan_out) / 2 by `variance_norm` (filler.hpp MSRAFiller; He et al. 2015 eq. 10).
 * Caffe's fans: fan_in = count / shape(0), fan_out = count / shape(1) (count for a 1-D blob),
 * so a bias [n] has fan_in 1: N(0, 2) with the default. std = sqrt(2 / n).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_VARIANCE_NORM };

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    double n;
    if (init_size(t) == 0) return FANIN_OK;
    int rc = init_caffe_n(ctx, t, p[P_VARIANCE_NORM].e, &n);
    if (rc == FANIN_OK) FANIN_HOST->rng_normal(rng, t->data, init_size(t), 0.0, sqrt(2.0 / n));
    return rc;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    double n = 1.0;
    if (init_size(t) == 0) return init_empty_moments(mean, std);
    int rc = init_caffe_n(ctx, t, p[P_VARIANCE_NORM].e, &n);
    *mean = 0.0;
    *std = sqrt(2.0 / n);
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

FANIN_INITIALIZER(caffe_msra, "caffe_msra", "1.0.0",
                  "Caffe \"msra\": N(0, 2/n), n = fan_in by default (He et al. 2015)", schema, fill,
                  moments);
