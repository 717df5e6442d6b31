/* caffe_gaussian: Caffe's "gaussian" filler: W ~ N(mean, std^2); with `sparse: k` (k >= 0)
 * each entry is then kept with probability p = k / shape(0) (= k / rows, capped at 1) and set
 * to 0 otherwise, an independent Bernoulli mask, so a column of W [out, in] has k non-zero
 * incoming-to-output entries on average (filler.hpp GaussianFiller, "sparse" in
 * FillerParameter; Caffe's defaults mean 0, std 1, sparse -1 = dense). Moments with the mask:
 * E = p mean, Var = p (std^2 + mean^2) - (p mean)^2. Compare `sparse` (an exact count).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_MEAN, P_STD, P_SPARSE };

/* the keep probability, 1 without `sparse` (k = -1) */
static double keep_p(const fanin_tensor *t, const fanin_value *p) {
    if (p[P_SPARSE].i < 0 || t->rows <= 0) return 1.0;
    return fmin(1.0, (double)p[P_SPARSE].i / (double)t->rows);
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    size_t n = init_size(t);
    (void)ctx;
    if (n == 0) return FANIN_OK;
    FANIN_HOST->rng_normal(rng, t->data, n, p[P_MEAN].f, p[P_STD].f);
    if (p[P_SPARSE].i < 0) return FANIN_OK;
    double keep = keep_p(t, p);
    for (size_t i = 0; i < n; i++) /* mask drawn after the values, as Caffe */
        if (!(init_unit(rng) < keep)) t->data[i] = 0.0f;
    return FANIN_OK;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    (void)ctx;
    if (init_size(t) == 0) return init_empty_moments(mean, std);
    double k = keep_p(t, p), m = p[P_MEAN].f, s = p[P_STD].f;
    *mean = k * m;
    *std = sqrt(fmax(0.0, k * (s * s + m * m) - k * k * m * m));
    return FANIN_OK;
}

static const fanin_param_spec schema[] = {
    {.name = "mean",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX,
     .def = 0.0,
     .doc = "mean of the normal (Caffe's default 0)"},
    {.name = "std",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 1.0,
     .min = 0.0,
     .doc = "std of the normal (Caffe's default 1)"},
    {.name = "sparse",
     .type = FANIN_PARAM_I64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = -1.0,
     .min = -1.0,
     .doc = "expected non-zeros per column (keep p = sparse/rows); -1 = dense"},
    {0},
};

FANIN_INITIALIZER(caffe_gaussian, "caffe_gaussian", "1.0.0",
                  "Caffe \"gaussian\": N(mean, std^2), Bernoulli mask p = sparse/rows", schema,
                  fill, moments);
