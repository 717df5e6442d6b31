/* Conformance checks of initializers: empty fills, buffer bounds, same seed same output,
 * finite values, and the sample moments against the declared ones (fanin check). Each check
 * fills dense weights and biases, and the tensors an ABI 1.2 host describes: a conv weight
 * [8, 3, 3, 3] with its bias, a norm's scale and shift [16]. */
#include "plugin/check_int.h"
#include "base/rng.h"

#include <fanin/fanin.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const fanin_initializer_vt *ivt(const fanin__check_subject *s) {
    return s->entry->plugin->vtable;
}

/* ---- the tensors the checks fill ---- */

/* A dense weight [rows, cols], or (is_bias) the bias [rows] of a weight [rows, 4]. */
static void dense_tensor(fanin_tensor *t, float *w, int64_t rows, int64_t cols, int is_bias) {
    fanin_tensor of;
    fanin__tensor_init(&of, NULL, FANIN_ROLE_DENSE_WEIGHT, 2, (int64_t[]){rows, 4}, NULL);
    if (is_bias) fanin__tensor_init(t, w, FANIN_ROLE_BIAS, 1, (int64_t[]){rows}, &of);
    else fanin__tensor_init(t, w, FANIN_ROLE_DENSE_WEIGHT, 2, (int64_t[]){rows, cols}, NULL);
}

enum { N_SHAPED = 4 };

/* The k-th described tensor of the conv and norm layers (k < N_SHAPED): a conv weight
 * [8, 3, 3, 3] (fans 27 and 72, as torch's), its bias [8], a norm's scale and shift [16]. */
static void shaped_tensor(fanin_tensor *t, float *w, int k) {
    fanin_tensor conv;
    fanin__tensor_init(&conv, w, FANIN_ROLE_CONV_WEIGHT, 4, (int64_t[]){8, 3, 3, 3}, NULL);
    switch (k) {
    case 0: *t = conv; break;
    case 1: fanin__tensor_init(t, w, FANIN_ROLE_BIAS, 1, (int64_t[]){8}, &conv); break;
    case 2: fanin__tensor_init(t, w, FANIN_ROLE_NORM_SCALE, 1, (int64_t[]){16}, NULL); break;
    default: fanin__tensor_init(t, w, FANIN_ROLE_NORM_SHIFT, 1, (int64_t[]){16}, NULL); break;
    }
}

/* "a [8, 3, 3, 3] conv weight", "a 7x3 weight", "a 5x1 bias" for messages. */
static void tensor_text(const fanin_tensor *t, char *buf, size_t len) {
    static const char *const roles[] = {"tensor",          "weight",
                                        "conv weight",     "bias",
                                        "norm scale",      "norm shift",
                                        "skip projection", "residual scale",
                                        "residual bias"};
    const char *role = t->role >= 0 && t->role <= FANIN_ROLE_RESIDUAL_BIAS ? roles[t->role] : "?";
    if (t->role == FANIN_ROLE_CONV_WEIGHT || t->role == FANIN_ROLE_NORM_SCALE ||
        t->role == FANIN_ROLE_NORM_SHIFT) {
        int n = snprintf(buf, len, "a [");
        for (int d = 0; d < t->ndim && n > 0 && (size_t)n < len; d++)
            n += snprintf(buf + n, len - (size_t)n, "%s%lld", d ? ", " : "",
                          (long long)t->shape[d]);
        if (n > 0 && (size_t)n < len) snprintf(buf + n, len - (size_t)n, "] %s", role);
        return;
    }
    snprintf(buf, len, "a %lldx%lld %s", (long long)t->rows, (long long)t->cols,
             t->is_bias ? "bias" : "weight");
}

static size_t tensor_size(const fanin_tensor *t) {
    return t->rows > 0 && t->cols > 0 ? (size_t)t->rows * (size_t)t->cols : 0;
}

/* ---- filling ---- */

/* fill t from stream (seed, 1, stream) in a fresh context */
static int fill_tensor(const fanin__check_subject *s, fanin_ctx *ctx, const fanin_tensor *t,
                       uint64_t seed, uint32_t stream) {
    fanin_rng rng;
    fanin__rng_init(&rng, seed, 1, stream);
    fanin__chk_ctx_init(ctx, s);
    return ivt(s)->fill(ctx, t, s->params, &rng);
}

/* fill a rows x cols weight (or a bias when is_bias: fan_in 4) from stream (seed, 1, stream) */
int fanin__chk_init_fill(const fanin__check_subject *s, fanin_ctx *ctx, float *w, int64_t rows,
                         int64_t cols, int is_bias, uint64_t seed, uint32_t stream) {
    fanin_tensor t;
    dense_tensor(&t, w, rows, cols, is_bias);
    return fill_tensor(s, ctx, &t, seed, stream);
}

/* The described conv weight [8, 4, 3, 3] (a tall 8 x 4 kernel centre), for the allocation
 * failure scenario. */
int fanin__chk_init_fill_conv(const fanin__check_subject *s, fanin_ctx *ctx, float *w,
                              uint64_t seed) {
    fanin_tensor t;
    fanin__tensor_init(&t, w, FANIN_ROLE_CONV_WEIGHT, 4, (int64_t[]){8, 4, 3, 3}, NULL);
    return fill_tensor(s, ctx, &t, seed, FANIN_STREAM_WEIGHT);
}

/* ---- samples and moments ---- */

/* A copy of `shape` (its data ignored) filled into a fresh buffer; the caller frees *w. */
static int sample_fill(const fanin__check_subject *s, const fanin_tensor *shape, uint64_t seed,
                       float **w, fanin_ctx *ctx) {
    fanin_tensor t = *shape;
    *w = t.data = malloc((tensor_size(&t) ? tensor_size(&t) : 1) * sizeof **w);
    if (!t.data) return FANIN_ENOMEM;
    return fill_tensor(s, ctx, &t, seed, FANIN_STREAM_WEIGHT);
}

int fanin__check_init_sample(const fanin__check_subject *s, const fanin_tensor *shape,
                             uint64_t seed, fanin__sample_stats *st, char *msg, size_t len) {
    size_t n = tensor_size(shape);
    float *w = NULL;
    fanin_ctx ctx;
    int rc = sample_fill(s, shape, seed, &w, &ctx);
    if (rc < 0) {
        free(w);
        return w ? fanin__chk_call_failed(&ctx, rc, "fill", msg, len)
                 : fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "out of memory");
    }
    *st = (fanin__sample_stats){0.0, 0.0, INFINITY, -INFINITY, 0, 0};
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(w[i])) {
            st->nonfinite++;
            continue;
        }
        st->mean += w[i];
        st->min = fmin(st->min, w[i]);
        st->max = fmax(st->max, w[i]);
        st->n++;
    }
    st->mean = st->n ? st->mean / (double)st->n : NAN;
    for (size_t i = 0; i < n; i++)
        if (isfinite(w[i])) st->std += (w[i] - st->mean) * (w[i] - st->mean);
    st->std = st->n > 1 ? sqrt(st->std / (double)(st->n - 1)) : 0.0;
    free(w);
    return FANIN_CHECK_PASS;
}

/* Fourth central moment of a fresh sample, for the standard error of its std. */
static double sample_m4(const fanin__check_subject *s, const fanin_tensor *shape, double mean) {
    size_t n = tensor_size(shape);
    float *w = NULL;
    fanin_ctx ctx;
    double m4 = 0.0;
    if (sample_fill(s, shape, 20240611u, &w, &ctx) == FANIN_OK)
        for (size_t i = 0; i < n; i++) m4 += pow(w[i] - mean, 4) / (double)n;
    free(w);
    return m4;
}

int fanin__check_init_moments(const fanin__check_subject *s, const fanin_tensor *shape,
                              double want_mean, double want_std, double nsigma, char *msg,
                              size_t len) {
    fanin__sample_stats st;
    fanin_ctx ctx;
    char what[64];
    tensor_text(shape, what, sizeof what);
    if (isnan(want_mean) || isnan(want_std)) {
        if (!ivt(s)->moments)
            return fanin__chk_result(FANIN_CHECK_SKIP, msg, len,
                                     "declares no moments (moments is NULL)");
        fanin_tensor t = *shape;
        t.data = NULL;
        fanin__chk_ctx_init(&ctx, s);
        int rc = ivt(s)->moments(&ctx, &t, s->params, &want_mean, &want_std);
        if (rc < 0) return fanin__chk_call_failed(&ctx, rc, "moments", msg, len);
    }
    int rc = fanin__check_init_sample(s, shape, 20240611u, &st, msg, len);
    if (rc != FANIN_CHECK_PASS) return rc;
    if (st.nonfinite)
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "%zu of %zu values are NaN or Inf",
                                 st.nonfinite, st.n + st.nonfinite);
    double n = (double)st.n, slack = 1e-6 * (fabs(want_mean) + want_std) + 1e-30;
    double tol_mean = nsigma * want_std / sqrt(n) + slack;
    double spread = sample_m4(s, shape, st.mean) - pow(st.std, 4);
    double tol_std = nsigma * sqrt(fmax(spread, 0.0) / n) / (2.0 * fmax(st.std, 1e-30)) + slack;
    if (!(fabs(st.mean - want_mean) <= tol_mean) || !(fabs(st.std - want_std) <= tol_std))
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                 "%s sample: mean %.6g std %.6g; declared mean %.6g +- %.2g, "
                                 "std %.6g +- %.2g",
                                 what, st.mean, st.std, want_mean, tol_mean, want_std, tol_std);
    return FANIN_CHECK_PASS;
}

int fanin__check_init_bounds(const fanin__check_subject *s, int64_t rows, int64_t cols, double lo,
                             double hi, char *msg, size_t len) {
    fanin__sample_stats st;
    fanin_tensor t;
    dense_tensor(&t, NULL, rows, cols, 0);
    int rc = fanin__check_init_sample(s, &t, 20240611u, &st, msg, len);
    if (rc != FANIN_CHECK_PASS) return rc;
    double reach = 0.01 * (hi - lo);
    if (st.nonfinite || st.min < (float)lo || st.max > (float)hi)
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                 "values in [%.6g, %.6g] (%zu not finite), "
                                 "want inside [%.6g, %.6g]",
                                 st.min, st.max, st.nonfinite, lo, hi);
    if (st.min > lo + reach || st.max < hi - reach)
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                 "values in [%.6g, %.6g] do not reach the "
                                 "ends of [%.6g, %.6g]",
                                 st.min, st.max, lo, hi);
    return FANIN_CHECK_PASS;
}
int fanin__check_orthogonal(const fanin__check_subject *s, int64_t rows, int64_t cols, double gain,
                            double tol, char *msg, size_t len) {
    size_t n = (size_t)rows * (size_t)cols;
    float *w = malloc(n * sizeof *w);
    fanin_ctx ctx;
    if (!w) return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "out of memory");
    int rc = fanin__chk_init_fill(s, &ctx, w, rows, cols, 0, 7, FANIN_STREAM_WEIGHT);
    if (rc < 0) {
        free(w);
        return fanin__chk_call_failed(&ctx, rc, "fill", msg, len);
    }
    /* the smaller Gram matrix: rows of W when wide, columns when tall */
    int64_t m = rows <= cols ? rows : cols, k = rows <= cols ? cols : rows;
    double worst = 0.0;
    int64_t wi = 0, wj = 0;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j <= i; j++) {
            double dot = 0.0;
            for (int64_t l = 0; l < k; l++)
                dot += rows <= cols ? (double)w[i * cols + l] * w[j * cols + l]
                                    : (double)w[l * cols + i] * w[l * cols + j];
            double err = fabs(dot - (i == j ? gain * gain : 0.0));
            if (err > worst) worst = err, wi = i, wj = j;
        }
    free(w);
    if (!(worst <= tol))
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                 "Gram matrix entry (%lld, %lld) is off gain^2 "
                                 "I by %.3g (tolerance %.3g)",
                                 (long long)wi, (long long)wj, worst, tol);
    return FANIN_CHECK_PASS;
}

/* ---- the behaviour checks ---- */

int fanin__chk_init_empty(const fanin__check_subject *s, char *msg, size_t len) {
    fanin_tensor t[4];
    dense_tensor(&t[0], NULL, 0, 5, 0);
    dense_tensor(&t[1], NULL, 5, 0, 0);
    fanin__tensor_init(&t[2], NULL, FANIN_ROLE_CONV_WEIGHT, 4, (int64_t[]){0, 3, 3, 3}, NULL);
    fanin__tensor_init(&t[3], NULL, FANIN_ROLE_CONV_WEIGHT, 4, (int64_t[]){8, 0, 3, 3}, NULL);
    for (int i = 0; i < 4; i++) {
        fanin_ctx ctx;
        char what[64];
        int rc = fill_tensor(s, &ctx, &t[i], 1, FANIN_STREAM_WEIGHT);
        if (rc == FANIN_OK) continue;
        tensor_text(&t[i], what, sizeof what);
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                 "fill of %s (empty) returned %s, "
                                 "want FANIN_OK (a no-op): %s",
                                 what, fanin_err_name(rc), ctx.has_error ? ctx.msg : "");
    }
    return FANIN_CHECK_PASS;
}

/* Fill t (its data a guarded buffer) and check the guards. */
static int guarded_fill(const fanin__check_subject *s, fanin_tensor *t, char *msg, size_t len) {
    size_t n = tensor_size(t);
    fanin_ctx ctx;
    char what[80], desc[64];
    if (!(t->data = fanin__chk_guarded_new(n)))
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "out of memory");
    int rc = fill_tensor(s, &ctx, t, 3, 0);
    long bad = fanin__chk_guard_broken(t->data, n);
    fanin__chk_guarded_free(t->data);
    tensor_text(t, desc, sizeof desc);
    snprintf(what, sizeof what, "fill of %s", desc);
    if (rc < 0) return fanin__chk_call_failed(&ctx, rc, what, msg, len);
    if (bad) return fanin__chk_guard_fail(bad, n, "data", what, msg, len);
    return FANIN_CHECK_PASS;
}

int fanin__chk_init_guard(const fanin__check_subject *s, char *msg, size_t len) {
    static const int64_t shapes[][3] = {{1, 1, 0}, {7, 3, 0}, {3, 7, 0}, {33, 17, 0}, {5, 1, 1}};
    fanin_tensor t;
    int rc = FANIN_CHECK_PASS;
    for (size_t k = 0; rc == FANIN_CHECK_PASS && k < sizeof shapes / sizeof shapes[0]; k++) {
        dense_tensor(&t, NULL, shapes[k][0], shapes[k][1], (int)shapes[k][2]);
        rc = guarded_fill(s, &t, msg, len);
    }
    for (int k = 0; rc == FANIN_CHECK_PASS && k < N_SHAPED; k++) {
        shaped_tensor(&t, NULL, k);
        rc = guarded_fill(s, &t, msg, len);
    }
    return rc;
}

/* Two fills of t (data: two buffers of its size) from the same stream must agree. */
static int same_twice(const fanin__check_subject *s, fanin_tensor *t, float *a, float *b, char *msg,
                      size_t len) {
    fanin_ctx ctx;
    char what[64];
    t->data = a;
    int rc = fill_tensor(s, &ctx, t, 99, FANIN_STREAM_WEIGHT);
    t->data = b;
    if (rc == FANIN_OK) rc = fill_tensor(s, &ctx, t, 99, FANIN_STREAM_WEIGHT);
    if (rc < 0) return fanin__chk_call_failed(&ctx, rc, "fill", msg, len);
    tensor_text(t, what, sizeof what);
    for (size_t i = 0; i < tensor_size(t); i++)
        if (memcmp(&a[i], &b[i], sizeof a[i]) != 0)
            return fanin__chk_result(
                FANIN_CHECK_FAIL, msg, len,
                "two fills of %s from the same "
                "stream differ at index %zu (%.9g vs %.9g); draw only from the host's "
                "rng",
                what, i, a[i], b[i]);
    return FANIN_CHECK_PASS;
}

int fanin__chk_init_same_seed(const fanin__check_subject *s, char *msg, size_t len) {
    float a[8 * 3 * 3 * 3], b[8 * 3 * 3 * 3]; /* the larger of 16 x 12 and the conv */
    fanin_tensor t;
    if (!(s->entry->plugin->flags & FANIN_FLAG_DETERMINISTIC))
        return fanin__chk_result(FANIN_CHECK_SKIP, msg, len,
                                 "not declared FANIN_FLAG_DETERMINISTIC");
    dense_tensor(&t, NULL, 16, 12, 0);
    int rc = same_twice(s, &t, a, b, msg, len);
    shaped_tensor(&t, NULL, 0);
    return rc == FANIN_CHECK_PASS ? same_twice(s, &t, a, b, msg, len) : rc;
}

/* Fill t (its data a buffer of its size) and look for NaN and Inf. */
static int finite_fill(const fanin__check_subject *s, fanin_tensor *t, char *msg, size_t len) {
    fanin_ctx ctx;
    char what[64];
    int rc = fill_tensor(s, &ctx, t, 5, 0);
    if (rc < 0) return fanin__chk_call_failed(&ctx, rc, "fill", msg, len);
    tensor_text(t, what, sizeof what);
    for (size_t i = 0; i < tensor_size(t); i++)
        if (!isfinite(t->data[i]))
            return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                     "fill of %s wrote %g at index "
                                     "%zu",
                                     what, t->data[i], i);
    return FANIN_CHECK_PASS;
}

int fanin__chk_init_finite(const fanin__check_subject *s, char *msg, size_t len) {
    static const int64_t shapes[][3] = {{64, 48, 0}, {48, 64, 0}, {32, 1, 1}};
    float w[64 * 48];
    fanin_tensor t;
    int rc = FANIN_CHECK_PASS;
    for (size_t k = 0; rc == FANIN_CHECK_PASS && k < 3; k++) {
        dense_tensor(&t, w, shapes[k][0], shapes[k][1], (int)shapes[k][2]);
        rc = finite_fill(s, &t, msg, len);
    }
    for (int k = 0; rc == FANIN_CHECK_PASS && k < N_SHAPED; k++) {
        shaped_tensor(&t, w, k);
        rc = finite_fill(s, &t, msg, len);
    }
    return rc;
}

/* A dense 200 x 150 sample, and a conv [64, 16, 5, 5] one (fans 400 and 1600). */
int fanin__chk_init_moments(const fanin__check_subject *s, char *msg, size_t len) {
    fanin_tensor t;
    dense_tensor(&t, NULL, 200, 150, 0);
    int rc = fanin__check_init_moments(s, &t, NAN, NAN, 6.0, msg, len);
    if (rc != FANIN_CHECK_PASS) return rc;
    fanin__tensor_init(&t, NULL, FANIN_ROLE_CONV_WEIGHT, 4, (int64_t[]){64, 16, 5, 5}, NULL);
    return fanin__check_init_moments(s, &t, NAN, NAN, 6.0, msg, len);
}
