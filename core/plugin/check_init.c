/* Conformance checks of initializers: empty fills, buffer bounds, same seed same output,
 * finite values, and the sample moments against the declared ones (fanin check). */
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

/* fill a rows x cols weight (or a bias when is_bias: fan_in 4) from stream (seed, 1, stream) */
int fanin__chk_init_fill(const fanin__check_subject *s, fanin_ctx *ctx, float *w, int64_t rows,
                     int64_t cols, int is_bias, uint64_t seed, uint32_t stream) {
    fanin_tensor t = {w, rows, cols, is_bias ? 4 : cols, rows, is_bias};
    fanin_rng rng;
    fanin__rng_init(&rng, seed, 1, stream);
    fanin__chk_ctx_init(ctx, s);
    return ivt(s)->fill(ctx, &t, s->params, &rng);
}

int fanin__check_init_sample(const fanin__check_subject *s, int64_t rows, int64_t cols,
                             uint64_t seed, fanin__sample_stats *st, char *msg, size_t len) {
    size_t n = (size_t)rows * (size_t)cols;
    float *w = malloc(n * sizeof *w);
    fanin_ctx ctx;
    if (!w) return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "out of memory");
    int rc = fanin__chk_init_fill(s, &ctx, w, rows, cols, 0, seed, FANIN_STREAM_WEIGHT);
    if (rc < 0) {
        free(w);
        return fanin__chk_call_failed(&ctx, rc, "fill", msg, len);
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
static double sample_m4(const fanin__check_subject *s, int64_t rows, int64_t cols, double mean) {
    size_t n = (size_t)rows * (size_t)cols;
    float *w = malloc(n * sizeof *w);
    fanin_ctx ctx;
    double m4 = 0.0;
    if (w && fanin__chk_init_fill(s, &ctx, w, rows, cols, 0, 20240611u, FANIN_STREAM_WEIGHT) == FANIN_OK)
        for (size_t i = 0; i < n; i++) m4 += pow(w[i] - mean, 4) / (double)n;
    free(w);
    return m4;
}

int fanin__check_init_moments(const fanin__check_subject *s, int64_t rows, int64_t cols,
                              double want_mean, double want_std, double nsigma, char *msg,
                              size_t len) {
    fanin__sample_stats st;
    fanin_ctx ctx;
    if (isnan(want_mean) || isnan(want_std)) {
        if (!ivt(s)->moments)
            return fanin__chk_result(FANIN_CHECK_SKIP, msg, len, "declares no moments (moments is NULL)");
        fanin_tensor t = {NULL, rows, cols, cols, rows, 0};
        fanin__chk_ctx_init(&ctx, s);
        int rc = ivt(s)->moments(&ctx, &t, s->params, &want_mean, &want_std);
        if (rc < 0) return fanin__chk_call_failed(&ctx, rc, "moments", msg, len);
    }
    int rc = fanin__check_init_sample(s, rows, cols, 20240611u, &st, msg, len);
    if (rc != FANIN_CHECK_PASS) return rc;
    if (st.nonfinite)
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "%zu of %zu values are NaN or Inf",
                      st.nonfinite, st.n + st.nonfinite);
    double n = (double)st.n, slack = 1e-6 * (fabs(want_mean) + want_std) + 1e-30;
    double tol_mean = nsigma * want_std / sqrt(n) + slack;
    double spread = sample_m4(s, rows, cols, st.mean) - pow(st.std, 4);
    double tol_std = nsigma * sqrt(fmax(spread, 0.0) / n) / (2.0 * fmax(st.std, 1e-30)) + slack;
    if (!(fabs(st.mean - want_mean) <= tol_mean) || !(fabs(st.std - want_std) <= tol_std))
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                      "%lldx%lld sample: mean %.6g std %.6g; declared mean %.6g +- %.2g, "
                      "std %.6g +- %.2g", (long long)rows, (long long)cols, st.mean, st.std,
                      want_mean, tol_mean, want_std, tol_std);
    return FANIN_CHECK_PASS;
}

int fanin__check_init_bounds(const fanin__check_subject *s, int64_t rows, int64_t cols,
                             double lo, double hi, char *msg, size_t len) {
    fanin__sample_stats st;
    int rc = fanin__check_init_sample(s, rows, cols, 20240611u, &st, msg, len);
    if (rc != FANIN_CHECK_PASS) return rc;
    double reach = 0.01 * (hi - lo);
    if (st.nonfinite || st.min < (float)lo || st.max > (float)hi)
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "values in [%.6g, %.6g] (%zu not finite), "
                      "want inside [%.6g, %.6g]", st.min, st.max, st.nonfinite, lo, hi);
    if (st.min > lo + reach || st.max < hi - reach)
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "values in [%.6g, %.6g] do not reach the "
                      "ends of [%.6g, %.6g]", st.min, st.max, lo, hi);
    return FANIN_CHECK_PASS;
}

int fanin__check_orthogonal(const fanin__check_subject *s, int64_t rows, int64_t cols,
                            double gain, double tol, char *msg, size_t len) {
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
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "Gram matrix entry (%lld, %lld) is off gain^2 "
                      "I by %.3g (tolerance %.3g)", (long long)wi, (long long)wj, worst, tol);
    return FANIN_CHECK_PASS;
}

int fanin__chk_init_empty(const fanin__check_subject *s, char *msg, size_t len) {
    fanin_tensor t[2] = {{NULL, 0, 5, 5, 0, 0}, {NULL, 5, 0, 0, 5, 0}};
    for (int i = 0; i < 2; i++) {
        fanin_ctx ctx;
        fanin_rng rng;
        fanin__rng_init(&rng, 1, 1, FANIN_STREAM_WEIGHT);
        fanin__chk_ctx_init(&ctx, s);
        int rc = ivt(s)->fill(&ctx, &t[i], s->params, &rng);
        if (rc != FANIN_OK)
            return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "fill of a %lldx%lld tensor returned %s, "
                          "want FANIN_OK (a no-op): %s", (long long)t[i].rows,
                          (long long)t[i].cols, fanin_err_name(rc), ctx.has_error ? ctx.msg : "");
    }
    return FANIN_CHECK_PASS;
}

int fanin__chk_init_guard(const fanin__check_subject *s, char *msg, size_t len) {
    static const int64_t shapes[][3] = {{1, 1, 0}, {7, 3, 0}, {3, 7, 0}, {33, 17, 0}, {5, 1, 1}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        size_t n = (size_t)(shapes[k][0] * shapes[k][1]);
        float *w = fanin__chk_guarded_new(n);
        fanin_ctx ctx;
        char what[64];
        if (!w) return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "out of memory");
        int rc = fanin__chk_init_fill(s, &ctx, w, shapes[k][0], shapes[k][1], (int)shapes[k][2], 3, 0);
        long bad = fanin__chk_guard_broken(w, n);
        fanin__chk_guarded_free(w);
        snprintf(what, sizeof what, "fill of a %lldx%lld %s", (long long)shapes[k][0],
                 (long long)shapes[k][1], shapes[k][2] ? "bias" : "weight");
        if (rc < 0) return fanin__chk_call_failed(&ctx, rc, what, msg, len);
        if (bad) return fanin__chk_guard_fail(bad, n, "data", what, msg, len);
    }
    return FANIN_CHECK_PASS;
}

int fanin__chk_init_same_seed(const fanin__check_subject *s, char *msg, size_t len) {
    float a[16 * 12], b[16 * 12];
    fanin_ctx ctx;
    if (!(s->entry->plugin->flags & FANIN_FLAG_DETERMINISTIC))
        return fanin__chk_result(FANIN_CHECK_SKIP, msg, len, "not declared FANIN_FLAG_DETERMINISTIC");
    int rc = fanin__chk_init_fill(s, &ctx, a, 16, 12, 0, 99, FANIN_STREAM_WEIGHT);
    if (rc == FANIN_OK) rc = fanin__chk_init_fill(s, &ctx, b, 16, 12, 0, 99, FANIN_STREAM_WEIGHT);
    if (rc < 0) return fanin__chk_call_failed(&ctx, rc, "fill", msg, len);
    for (size_t i = 0; i < 16 * 12; i++)
        if (memcmp(&a[i], &b[i], sizeof a[i]) != 0)
            return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "two fills from the same stream differ at "
                          "index %zu (%.9g vs %.9g); draw only from the host's rng", i, a[i], b[i]);
    return FANIN_CHECK_PASS;
}

int fanin__chk_init_finite(const fanin__check_subject *s, char *msg, size_t len) {
    static const int64_t shapes[][3] = {{64, 48, 0}, {48, 64, 0}, {32, 1, 1}};
    for (size_t k = 0; k < 3; k++) {
        size_t n = (size_t)(shapes[k][0] * shapes[k][1]);
        float w[64 * 48];
        fanin_ctx ctx;
        int rc = fanin__chk_init_fill(s, &ctx, w, shapes[k][0], shapes[k][1], (int)shapes[k][2], 5, 0);
        if (rc < 0) return fanin__chk_call_failed(&ctx, rc, "fill", msg, len);
        for (size_t i = 0; i < n; i++)
            if (!isfinite(w[i]))
                return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "fill of a %lldx%lld tensor wrote "
                              "%g at index %zu", (long long)shapes[k][0],
                              (long long)shapes[k][1], w[i], i);
    }
    return FANIN_CHECK_PASS;
}

int fanin__chk_init_moments(const fanin__check_subject *s, char *msg, size_t len) {
    return fanin__check_init_moments(s, 200, 150, NAN, NAN, 6.0, msg, len);
}

