/* The behaviour checks of the plugin conformance suite: each calls one loaded plugin through its
 * vtable and judges what it did (empty calls, buffer bounds, determinism, finite output, the
 * kind's own maths, allocation failures). Running them in forked children is check_run.c's job;
 * reading the .so file is check_elf.c's. Nothing here prints.
 */
#include "plugin/check.h"
#include "base/rng.h"
#include "plugin/host.h"

#include <fanin/fanin.h>

#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 16                  /* guard floats (or 64 bytes) on each side of a buffer */
#define GUARD_WORD 0x7FA5A5A5u    /* a NaN no plugin writes by accident */
#define MAX_ALLOC_FAILURES 64     /* allocations per scenario tried in turn */

static int result(int status, char *msg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int result(int status, char *msg, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    return status;
}

/* A plugin call returned rc < 0: FAIL with its message, or SKIP when it says the checker cannot
 * give what it needs (FANIN_ENOTSUP, e.g. a data-dependent initializer without a layer). */
static int call_failed(const fanin_ctx *ctx, int rc, const char *what, char *msg, size_t len) {
    const char *why = ctx->has_error ? ctx->msg : "(no message)";
    if (rc == FANIN_ENOTSUP)
        return result(FANIN_CHECK_SKIP, msg, len, "%s is not supported here: %s", what, why);
    return result(FANIN_CHECK_FAIL, msg, len, "%s returned %s: %s", what, fanin_err_name(rc),
                  why);
}

static void ctx_init(fanin_ctx *ctx, const fanin__check_subject *s) {
    fanin__ctx_init(ctx, s->entry, s->env ? s->env->gain : 1.0);
}

/* ---- parameters and the schema ---- */

static int bad_name(const char *s) {
    if (!s || !(*s >= 'a' && *s <= 'z')) return 1;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return 1;
    return 0;
}

/* What is wrong with a numeric row's bounds and default, or NULL. */
static const char *bad_range(const fanin_param_spec *r, char *why, size_t len) {
    int lo = !(r->flags & FANIN_PARAM_NO_MIN), hi = !(r->flags & FANIN_PARAM_NO_MAX);
    double d = r->def;
    if ((lo && isnan(r->min)) || (hi && isnan(r->max)))
        snprintf(why, len, "min or max is NaN");
    else if (lo && hi && r->min > r->max)
        snprintf(why, len, "min %g > max %g", r->min, r->max);
    else if (r->flags & FANIN_PARAM_REQUIRED)
        return NULL;
    else if (isnan(d) && !(r->flags & FANIN_PARAM_AUTO))
        snprintf(why, len, "default is NaN but FANIN_PARAM_AUTO is not set");
    else if (!isnan(d) && lo && ((r->flags & FANIN_PARAM_MIN_EXCL) ? !(d > r->min) : d < r->min))
        snprintf(why, len, "default %g is below min %g", d, r->min);
    else if (!isnan(d) && hi && ((r->flags & FANIN_PARAM_MAX_EXCL) ? !(d < r->max) : d > r->max))
        snprintf(why, len, "default %g is above max %g", d, r->max);
    else
        return NULL;
    return why;
}

int fanin__check_schema(const fanin_plugin *p, char *msg, size_t len) {
    char why[256];
    if (!p->doc || !*p->doc) return result(FANIN_CHECK_FAIL, msg, len, "the descriptor has no doc");
    for (size_t k = 0; p->params && p->params[k].name; k++) {
        const fanin_param_spec *r = &p->params[k];
        const char *bad = NULL;
        if (k >= 256) return result(FANIN_CHECK_FAIL, msg, len, "more than 256 schema rows; "
                                    "is the terminating {0} row missing?");
        if (bad_name(r->name)) bad = "invalid name (must match [a-z][a-z0-9_]*)";
        for (size_t j = 0; !bad && j < k; j++)
            if (strcmp(p->params[j].name, r->name) == 0) bad = "duplicate name";
        if (!bad && (!r->doc || !*r->doc)) bad = "no doc";
        if (!bad && (r->type == FANIN_PARAM_F64 || r->type == FANIN_PARAM_I64))
            bad = bad_range(r, why, sizeof why);
        if (!bad && r->type == FANIN_PARAM_BOOL && !(r->flags & FANIN_PARAM_REQUIRED) &&
            r->def != 0.0 && r->def != 1.0)
            bad = "BOOL default is not 0 or 1";
        if (!bad && r->type == FANIN_PARAM_ENUM) {
            int n = 0;
            while (r->choices && r->choices[n]) n++;
            if (n == 0) bad = "ENUM without choices";
            else if (!(r->flags & FANIN_PARAM_REQUIRED) && !(r->def >= 0 && r->def < n))
                bad = "ENUM default is not among the choices";
        }
        if (!bad && (r->type < FANIN_PARAM_F64 || r->type > FANIN_PARAM_STRING)) bad = "unknown type";
        if (bad)
            return result(FANIN_CHECK_FAIL, msg, len, "parameter '%s' (row %zu): %s",
                          r->name ? r->name : "(null)", k, bad);
    }
    return FANIN_CHECK_PASS;
}

/* ---- guarded buffers ---- */

/* n floats with GUARD guard words on each side; returns the first usable float. */
static float *guarded_new(size_t n) {
    uint32_t *b = malloc((n + 2 * GUARD) * sizeof *b);
    if (!b) return NULL;
    for (size_t i = 0; i < n + 2 * GUARD; i++) b[i] = GUARD_WORD;
    return (float *)(b + GUARD);
}

static void guarded_free(float *p) {
    if (p) free((uint32_t *)p - GUARD);
}

/* Index (negative: before) of the first overwritten guard word, or 0 when intact. */
static long guard_broken(const float *p, size_t n) {
    const uint32_t *b = (const uint32_t *)p;
    for (long i = 1; i <= GUARD; i++)
        if (b[-i] != GUARD_WORD) return -i;
    for (size_t i = 0; i < GUARD; i++)
        if (b[n + i] != GUARD_WORD) return (long)(n + i) + 1;
    return 0;
}

static int guard_fail(long where, size_t n, const char *buf, const char *what, char *msg,
                      size_t len) {
    if (where < 0)
        return result(FANIN_CHECK_FAIL, msg, len, "%s wrote %ld float(s) before %s[0]", what,
                      -where, buf);
    return result(FANIN_CHECK_FAIL, msg, len, "%s wrote past the end of %s (index %ld of %zu)",
                  what, buf, where - 1, n);
}

/* Optimizer state as the host gives it (16-byte aligned) with 64 guard bytes on each side. */
static unsigned char *state_new(size_t size) {
    size_t total = (size + 15) / 16 * 16 + 128;
    unsigned char *b = aligned_alloc(16, total);
    if (!b) return NULL;
    memset(b, 0xA5, total);
    return b + 64;
}

static int state_guard_ok(const unsigned char *s, size_t size) {
    for (size_t i = 1; i <= 64; i++)
        if (s[-(long)i] != 0xA5) return 0;
    for (size_t i = 0; i < 64; i++)
        if (s[size + i] != 0xA5) return 0;
    return 1;
}

static void state_free(unsigned char *s) {
    if (s) free(s - 64);
}

/* ---- initializers ---- */

static const fanin_initializer_vt *ivt(const fanin__check_subject *s) {
    return s->entry->plugin->vtable;
}

/* fill a rows x cols weight (or a bias when is_bias: fan_in 4) from stream (seed, 1, stream) */
static int init_fill(const fanin__check_subject *s, fanin_ctx *ctx, float *w, int64_t rows,
                     int64_t cols, int is_bias, uint64_t seed, uint32_t stream) {
    fanin_tensor t = {w, rows, cols, is_bias ? 4 : cols, rows, is_bias};
    fanin_rng rng;
    fanin__rng_init(&rng, seed, 1, stream);
    ctx_init(ctx, s);
    return ivt(s)->fill(ctx, &t, s->params, &rng);
}

int fanin__check_init_sample(const fanin__check_subject *s, int64_t rows, int64_t cols,
                             uint64_t seed, fanin__sample_stats *st, char *msg, size_t len) {
    size_t n = (size_t)rows * (size_t)cols;
    float *w = malloc(n * sizeof *w);
    fanin_ctx ctx;
    if (!w) return result(FANIN_CHECK_FAIL, msg, len, "out of memory");
    int rc = init_fill(s, &ctx, w, rows, cols, 0, seed, FANIN_STREAM_WEIGHT);
    if (rc < 0) {
        free(w);
        return call_failed(&ctx, rc, "fill", msg, len);
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
    if (w && init_fill(s, &ctx, w, rows, cols, 0, 20240611u, FANIN_STREAM_WEIGHT) == FANIN_OK)
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
            return result(FANIN_CHECK_SKIP, msg, len, "declares no moments (moments is NULL)");
        fanin_tensor t = {NULL, rows, cols, cols, rows, 0};
        ctx_init(&ctx, s);
        int rc = ivt(s)->moments(&ctx, &t, s->params, &want_mean, &want_std);
        if (rc < 0) return call_failed(&ctx, rc, "moments", msg, len);
    }
    int rc = fanin__check_init_sample(s, rows, cols, 20240611u, &st, msg, len);
    if (rc != FANIN_CHECK_PASS) return rc;
    if (st.nonfinite)
        return result(FANIN_CHECK_FAIL, msg, len, "%zu of %zu values are NaN or Inf",
                      st.nonfinite, st.n + st.nonfinite);
    double n = (double)st.n, slack = 1e-6 * (fabs(want_mean) + want_std) + 1e-30;
    double tol_mean = nsigma * want_std / sqrt(n) + slack;
    double spread = sample_m4(s, rows, cols, st.mean) - pow(st.std, 4);
    double tol_std = nsigma * sqrt(fmax(spread, 0.0) / n) / (2.0 * fmax(st.std, 1e-30)) + slack;
    if (!(fabs(st.mean - want_mean) <= tol_mean) || !(fabs(st.std - want_std) <= tol_std))
        return result(FANIN_CHECK_FAIL, msg, len,
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
        return result(FANIN_CHECK_FAIL, msg, len, "values in [%.6g, %.6g] (%zu not finite), "
                      "want inside [%.6g, %.6g]", st.min, st.max, st.nonfinite, lo, hi);
    if (st.min > lo + reach || st.max < hi - reach)
        return result(FANIN_CHECK_FAIL, msg, len, "values in [%.6g, %.6g] do not reach the "
                      "ends of [%.6g, %.6g]", st.min, st.max, lo, hi);
    return FANIN_CHECK_PASS;
}

int fanin__check_orthogonal(const fanin__check_subject *s, int64_t rows, int64_t cols,
                            double gain, double tol, char *msg, size_t len) {
    size_t n = (size_t)rows * (size_t)cols;
    float *w = malloc(n * sizeof *w);
    fanin_ctx ctx;
    if (!w) return result(FANIN_CHECK_FAIL, msg, len, "out of memory");
    int rc = init_fill(s, &ctx, w, rows, cols, 0, 7, FANIN_STREAM_WEIGHT);
    if (rc < 0) {
        free(w);
        return call_failed(&ctx, rc, "fill", msg, len);
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
        return result(FANIN_CHECK_FAIL, msg, len, "Gram matrix entry (%lld, %lld) is off gain^2 "
                      "I by %.3g (tolerance %.3g)", (long long)wi, (long long)wj, worst, tol);
    return FANIN_CHECK_PASS;
}

static int init_empty(const fanin__check_subject *s, char *msg, size_t len) {
    fanin_tensor t[2] = {{NULL, 0, 5, 5, 0, 0}, {NULL, 5, 0, 0, 5, 0}};
    for (int i = 0; i < 2; i++) {
        fanin_ctx ctx;
        fanin_rng rng;
        fanin__rng_init(&rng, 1, 1, FANIN_STREAM_WEIGHT);
        ctx_init(&ctx, s);
        int rc = ivt(s)->fill(&ctx, &t[i], s->params, &rng);
        if (rc != FANIN_OK)
            return result(FANIN_CHECK_FAIL, msg, len, "fill of a %lldx%lld tensor returned %s, "
                          "want FANIN_OK (a no-op): %s", (long long)t[i].rows,
                          (long long)t[i].cols, fanin_err_name(rc), ctx.has_error ? ctx.msg : "");
    }
    return FANIN_CHECK_PASS;
}

static int init_guard(const fanin__check_subject *s, char *msg, size_t len) {
    static const int64_t shapes[][3] = {{1, 1, 0}, {7, 3, 0}, {3, 7, 0}, {33, 17, 0}, {5, 1, 1}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        size_t n = (size_t)(shapes[k][0] * shapes[k][1]);
        float *w = guarded_new(n);
        fanin_ctx ctx;
        char what[64];
        if (!w) return result(FANIN_CHECK_FAIL, msg, len, "out of memory");
        int rc = init_fill(s, &ctx, w, shapes[k][0], shapes[k][1], (int)shapes[k][2], 3, 0);
        long bad = guard_broken(w, n);
        guarded_free(w);
        snprintf(what, sizeof what, "fill of a %lldx%lld %s", (long long)shapes[k][0],
                 (long long)shapes[k][1], shapes[k][2] ? "bias" : "weight");
        if (rc < 0) return call_failed(&ctx, rc, what, msg, len);
        if (bad) return guard_fail(bad, n, "data", what, msg, len);
    }
    return FANIN_CHECK_PASS;
}

static int init_same_seed(const fanin__check_subject *s, char *msg, size_t len) {
    float a[16 * 12], b[16 * 12];
    fanin_ctx ctx;
    if (!(s->entry->plugin->flags & FANIN_FLAG_DETERMINISTIC))
        return result(FANIN_CHECK_SKIP, msg, len, "not declared FANIN_FLAG_DETERMINISTIC");
    int rc = init_fill(s, &ctx, a, 16, 12, 0, 99, FANIN_STREAM_WEIGHT);
    if (rc == FANIN_OK) rc = init_fill(s, &ctx, b, 16, 12, 0, 99, FANIN_STREAM_WEIGHT);
    if (rc < 0) return call_failed(&ctx, rc, "fill", msg, len);
    for (size_t i = 0; i < 16 * 12; i++)
        if (memcmp(&a[i], &b[i], sizeof a[i]) != 0)
            return result(FANIN_CHECK_FAIL, msg, len, "two fills from the same stream differ at "
                          "index %zu (%.9g vs %.9g); draw only from the host's rng", i, a[i], b[i]);
    return FANIN_CHECK_PASS;
}

static int init_finite(const fanin__check_subject *s, char *msg, size_t len) {
    static const int64_t shapes[][3] = {{64, 48, 0}, {48, 64, 0}, {32, 1, 1}};
    for (size_t k = 0; k < 3; k++) {
        size_t n = (size_t)(shapes[k][0] * shapes[k][1]);
        float w[64 * 48];
        fanin_ctx ctx;
        int rc = init_fill(s, &ctx, w, shapes[k][0], shapes[k][1], (int)shapes[k][2], 5, 0);
        if (rc < 0) return call_failed(&ctx, rc, "fill", msg, len);
        for (size_t i = 0; i < n; i++)
            if (!isfinite(w[i]))
                return result(FANIN_CHECK_FAIL, msg, len, "fill of a %lldx%lld tensor wrote "
                              "%g at index %zu", (long long)shapes[k][0],
                              (long long)shapes[k][1], w[i], i);
    }
    return FANIN_CHECK_PASS;
}

static int init_moments(const fanin__check_subject *s, char *msg, size_t len) {
    return fanin__check_init_moments(s, 200, 150, NAN, NAN, 6.0, msg, len);
}

/* ---- activations ---- */

static const fanin_activation_vt *avt(const fanin__check_subject *s) {
    return s->entry->plugin->vtable;
}

/* x[i] spread over [lo, hi], never exactly on an integer (kinks sit there) */
static void act_inputs(float *x, float *dy, size_t n, double lo, double hi) {
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)(lo + (hi - lo) * ((double)i + 0.5) / (double)n + 0.00123);
        dy[i] = i % 3 == 0 ? -0.7f : 1.0f + 0.01f * (float)(i % 10);
    }
}

static int act_run(const fanin__check_subject *s, fanin_ctx *ctx, const float *x, float *y,
                   const float *dy, float *dx, size_t n, const char **what) {
    ctx_init(ctx, s);
    *what = "forward";
    int rc = avt(s)->forward(ctx, x, y, n, s->params);
    if (rc != FANIN_OK || !dx) return rc;
    *what = "backward";
    ctx_init(ctx, s);
    return avt(s)->backward(ctx, x, y, dy, dx, n, s->params);
}

static int act_empty(const fanin__check_subject *s, char *msg, size_t len) {
    fanin_ctx ctx;
    const char *what = "";
    int rc = act_run(s, &ctx, NULL, NULL, NULL, NULL, 0, &what);
    if (rc == FANIN_OK) {
        ctx_init(&ctx, s);
        what = "backward";
        rc = avt(s)->backward(&ctx, NULL, NULL, NULL, NULL, 0, s->params);
    }
    if (rc != FANIN_OK)
        return result(FANIN_CHECK_FAIL, msg, len, "%s with n = 0 returned %s, want FANIN_OK",
                      what, fanin_err_name(rc));
    return FANIN_CHECK_PASS;
}

static int act_guard(const fanin__check_subject *s, char *msg, size_t len) {
    enum { N = 37 };
    float *x = guarded_new(N), *y = guarded_new(N), *dy = guarded_new(N), *dx = guarded_new(N);
    float x0[N], dy0[N];
    fanin_ctx ctx;
    const char *what = "";
    int rc = FANIN_CHECK_PASS;
    if (!x || !y || !dy || !dx) rc = result(FANIN_CHECK_FAIL, msg, len, "out of memory");
    if (rc == FANIN_CHECK_PASS) {
        act_inputs(x, dy, N, -3.0, 3.0);
        memcpy(x0, x, sizeof x0);
        memcpy(dy0, dy, sizeof dy0);
        int crc = act_run(s, &ctx, x, y, dy, dx, N, &what);
        long by = guard_broken(y, N), bdx = guard_broken(dx, N);
        if (crc < 0) rc = call_failed(&ctx, crc, what, msg, len);
        else if (by) rc = guard_fail(by, N, "y", "forward", msg, len);
        else if (bdx) rc = guard_fail(bdx, N, "dx", "backward", msg, len);
        else if (memcmp(x, x0, sizeof x0) || guard_broken(x, N))
            rc = result(FANIN_CHECK_FAIL, msg, len, "the input x was modified");
        else if (memcmp(dy, dy0, sizeof dy0) || guard_broken(dy, N))
            rc = result(FANIN_CHECK_FAIL, msg, len, "the input dy was modified");
    }
    guarded_free(x), guarded_free(y), guarded_free(dy), guarded_free(dx);
    return rc;
}

static int act_same_input(const fanin__check_subject *s, char *msg, size_t len) {
    enum { N = 50 };
    float x[N], dy[N], y1[N], y2[N], dx1[N], dx2[N];
    fanin_ctx ctx;
    const char *what = "";
    act_inputs(x, dy, N, -5.0, 5.0);
    int rc = act_run(s, &ctx, x, y1, dy, dx1, N, &what);
    if (rc == FANIN_OK) rc = act_run(s, &ctx, x, y2, dy, dx2, N, &what);
    if (rc < 0) return call_failed(&ctx, rc, what, msg, len);
    if (memcmp(y1, y2, sizeof y1) || memcmp(dx1, dx2, sizeof dx1))
        return result(FANIN_CHECK_FAIL, msg, len, "two calls on the same input differ");
    return FANIN_CHECK_PASS;
}

static int act_finite(const fanin__check_subject *s, char *msg, size_t len) {
    enum { N = 201 };
    float x[N], dy[N], y[N], dx[N];
    fanin_ctx ctx;
    const char *what = "";
    act_inputs(x, dy, N, -10.0, 10.0);
    int rc = act_run(s, &ctx, x, y, dy, dx, N, &what);
    if (rc < 0) return call_failed(&ctx, rc, what, msg, len);
    for (size_t i = 0; i < N; i++) {
        if (!isfinite(y[i]))
            return result(FANIN_CHECK_FAIL, msg, len, "forward(%g) = %g", x[i], y[i]);
        if (!isfinite(dx[i]))
            return result(FANIN_CHECK_FAIL, msg, len, "backward at x = %g, dy = %g gives %g",
                          x[i], dy[i], dx[i]);
    }
    return FANIN_CHECK_PASS;
}

int fanin__check_gradient(const fanin__check_subject *s, double lo, double hi, size_t n,
                          double rtol, double atol, char *msg, size_t len) {
    float *b = malloc(7 * n * sizeof *b);
    if (!b) return result(FANIN_CHECK_FAIL, msg, len, "out of memory");
    float *x = b, *dy = b + n, *y = b + 2 * n, *dx = b + 3 * n, *xp = b + 4 * n, *xm = b + 5 * n;
    float *f = b + 6 * n; /* f(xp) then f(xm) reuse */
    fanin_ctx ctx;
    const char *what = "";
    act_inputs(x, dy, n, lo, hi);
    for (size_t i = 0; i < n; i++) {
        double h = 1e-3 * fmax(1.0, fabs(x[i]));
        xp[i] = (float)(x[i] + h);
        xm[i] = (float)(x[i] - h);
    }
    int rc = act_run(s, &ctx, x, y, dy, dx, n, &what), status = FANIN_CHECK_PASS;
    if (rc == FANIN_OK) rc = act_run(s, &ctx, xp, f, NULL, NULL, n, &what);
    if (rc == FANIN_OK) rc = act_run(s, &ctx, xm, xp, NULL, NULL, n, &what); /* f(xm) into xp */
    if (rc < 0) status = call_failed(&ctx, rc, what, msg, len);
    for (size_t i = 0; status == FANIN_CHECK_PASS && i < n; i++) {
        double h = 1e-3 * fmax(1.0, fabs(x[i])), fp = f[i], fm = xp[i];
        double xhi = (float)(x[i] + h), xlo = xm[i];
        double left = (y[i] - fm) / (x[i] - xlo), right = (fp - y[i]) / (xhi - x[i]);
        if (fabs(left - right) > 0.1 * fmax(fabs(left), fabs(right)) + 1e-3) continue; /* kink */
        double num = dy[i] * (fp - fm) / (xhi - xlo);
        if (!(fabs(dx[i] - num) <= rtol * fabs(num) + atol * fabs(dy[i])))
            status = result(FANIN_CHECK_FAIL, msg, len, "at x = %.6g (dy = %g): backward gives "
                            "%.7g, central difference of forward %.7g", x[i], dy[i], dx[i], num);
    }
    free(b);
    return status;
}

static int act_fd(const fanin__check_subject *s, char *msg, size_t len) {
    return fanin__check_gradient(s, -4.0, 4.0, 161, 1e-2, 1e-4, msg, len);
}

static int act_gain(const fanin__check_subject *s, char *msg, size_t len) {
    double g = NAN;
    int rc = avt(s)->gain(s->params, &g);
    if (rc != FANIN_OK)
        return result(FANIN_CHECK_FAIL, msg, len, "gain returned %s", fanin_err_name(rc));
    if (!(isfinite(g) && g > 0.0))
        return result(FANIN_CHECK_FAIL, msg, len, "gain is %g; it must be positive and finite", g);
    return FANIN_CHECK_PASS;
}

static int act_in_place(const fanin__check_subject *s, char *msg, size_t len) {
    enum { N = 40 };
    float x[N], dy[N], y[N], dx[N], buf[N], dbuf[N];
    fanin_ctx ctx;
    const char *what = "";
    if (!(s->entry->plugin->flags & FANIN_FLAG_IN_PLACE))
        return result(FANIN_CHECK_SKIP, msg, len, "not declared FANIN_FLAG_IN_PLACE");
    act_inputs(x, dy, N, -5.0, 5.0);
    memcpy(buf, x, sizeof x);
    memcpy(dbuf, dy, sizeof dy);
    int rc = act_run(s, &ctx, x, y, dy, dx, N, &what);
    if (rc == FANIN_OK) rc = act_run(s, &ctx, buf, buf, NULL, NULL, N, &what);
    if (rc == FANIN_OK && memcmp(buf, y, sizeof y))
        return result(FANIN_CHECK_FAIL, msg, len, "forward with y == x differs from out of place");
    if (rc == FANIN_OK) {
        ctx_init(&ctx, s);
        what = "backward";
        rc = avt(s)->backward(&ctx, x, y, dbuf, dbuf, N, s->params);
    }
    if (rc < 0) return call_failed(&ctx, rc, what, msg, len);
    if (memcmp(dbuf, dx, sizeof dx))
        return result(FANIN_CHECK_FAIL, msg, len, "backward with dx == dy differs from out of place");
    return FANIN_CHECK_PASS;
}

/* ---- optimizers ---- */

static const fanin_optimizer_vt *ovt(const fanin__check_subject *s) {
    return s->entry->plugin->vtable;
}

/* The quadratic 0.5 sum c_i (w_i - t_i)^2: curvatures in [0.5, 2], targets in [-1, 1]. */
static double quad_curv(size_t i) { return 0.5 + 1.5 * (double)(i % 7) / 6.0; }
static double quad_target(size_t i) { return sin(1.0 + (double)i); }

static double quad_loss(const float *w, size_t n) {
    double l = 0.0;
    for (size_t i = 0; i < n; i++) l += 0.5 * quad_curv(i) * (w[i] - quad_target(i)) * (w[i] - quad_target(i));
    return l;
}

static void quad_start(float *w, size_t n) {
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(quad_target(i) + (i % 2 ? 1.0 : -1.0) * (0.5 + 0.1 * (double)(i % 5)));
}

/* A fresh state and `steps` steps from quad_start; the state is returned through *state (caller
 * frees with state_free) when state is not NULL. */
static int opt_run(const fanin__check_subject *s, fanin_ctx *ctx, float *w, float *g, size_t n,
                   double lr, int steps, unsigned char **state, size_t *size,
                   const char **what) {
    size_t sz = ovt(s)->state_size(n, s->params);
    unsigned char *st = state_new(sz);
    ctx_init(ctx, s);
    if (!st) return ctx->has_error = 1, FANIN_ENOMEM; /* ours, not the plugin's */
    if (w) quad_start(w, n);
    ctx_init(ctx, s);
    *what = "init_state";
    int rc = ovt(s)->init_state(ctx, st, n, s->params);
    for (int t = 1; rc == FANIN_OK && t <= steps; t++) {
        for (size_t i = 0; i < n; i++) g[i] = (float)(quad_curv(i) * (w[i] - quad_target(i)));
        ctx_init(ctx, s);
        *what = "step";
        rc = ovt(s)->step(ctx, st, w, g, n, lr, t, s->params);
    }
    if (size) *size = sz;
    if (state) *state = st;
    else state_free(st);
    return rc;
}

static int opt_empty(const fanin__check_subject *s, char *msg, size_t len) {
    fanin_ctx ctx;
    const char *what = "";
    int rc = opt_run(s, &ctx, NULL, NULL, 0, 0.1, 1, NULL, NULL, &what);
    if (rc != FANIN_OK)
        return result(FANIN_CHECK_FAIL, msg, len, "%s with n = 0 returned %s, want FANIN_OK: %s",
                      what, fanin_err_name(rc), ctx.has_error ? ctx.msg : "");
    return FANIN_CHECK_PASS;
}

static int opt_guard(const fanin__check_subject *s, char *msg, size_t len) {
    enum { N = 13 };
    float *w = guarded_new(N), *g = guarded_new(N);
    unsigned char *st = NULL;
    size_t size = 0;
    fanin_ctx ctx;
    const char *what = "";
    int status = FANIN_CHECK_PASS;
    if (!w || !g) status = result(FANIN_CHECK_FAIL, msg, len, "out of memory");
    int rc = status ? FANIN_OK : opt_run(s, &ctx, w, g, N, 0.05, 3, &st, &size, &what);
    if (!status && rc < 0) status = call_failed(&ctx, rc, what, msg, len);
    long bw = status ? 0 : guard_broken(w, N), bg = status ? 0 : guard_broken(g, N);
    if (!status && bw) status = guard_fail(bw, N, "w", "step", msg, len);
    if (!status && bg) status = guard_fail(bg, N, "g", "step", msg, len);
    if (!status && st && !state_guard_ok(st, size))
        status = result(FANIN_CHECK_FAIL, msg, len, "init_state or step wrote outside the %zu "
                        "state bytes state_size(%d) asked for", size, N);
    state_free(st);
    guarded_free(w), guarded_free(g);
    return status;
}

static int opt_same_input(const fanin__check_subject *s, char *msg, size_t len) {
    enum { N = 16 };
    float w1[N], w2[N], g[N];
    unsigned char *s1 = NULL, *s2 = NULL;
    size_t z1 = 0, z2 = 0;
    fanin_ctx ctx;
    const char *what = "";
    int rc = opt_run(s, &ctx, w1, g, N, 0.05, 5, &s1, &z1, &what), status = FANIN_CHECK_PASS;
    if (rc == FANIN_OK) rc = opt_run(s, &ctx, w2, g, N, 0.05, 5, &s2, &z2, &what);
    if (rc < 0) status = call_failed(&ctx, rc, what, msg, len);
    else if (z1 != z2)
        status = result(FANIN_CHECK_FAIL, msg, len, "state_size(%d) changed: %zu then %zu", N,
                        z1, z2);
    else if (memcmp(w1, w2, sizeof w1) || memcmp(s1, s2, z1))
        status = result(FANIN_CHECK_FAIL, msg, len, "two runs from the same start differ in %s",
                        memcmp(w1, w2, sizeof w1) ? "the weights" : "the state");
    state_free(s1);
    state_free(s2);
    return status;
}

static int opt_finite(const fanin__check_subject *s, char *msg, size_t len) {
    enum { N = 16 };
    float w[N], g[N];
    fanin_ctx ctx;
    const char *what = "";
    int rc = opt_run(s, &ctx, w, g, N, 0.01, 20, NULL, NULL, &what);
    if (rc < 0) return call_failed(&ctx, rc, what, msg, len);
    for (size_t i = 0; i < N; i++)
        if (!isfinite(w[i]))
            return result(FANIN_CHECK_FAIL, msg, len, "w[%zu] = %g after 20 steps at lr 0.01", i,
                          w[i]);
    return FANIN_CHECK_PASS;
}

int fanin__check_quadratic(const fanin__check_subject *s, size_t n, double lr, int steps,
                           double factor, double *loss0, double *loss1, char *msg, size_t len) {
    float *w = malloc(2 * n * sizeof *w);
    fanin_ctx ctx;
    const char *what = "";
    if (!w) return result(FANIN_CHECK_FAIL, msg, len, "out of memory");
    quad_start(w, n);
    double l0 = quad_loss(w, n);
    int rc = opt_run(s, &ctx, w, w + n, n, lr, steps, NULL, NULL, &what);
    double l1 = quad_loss(w, n);
    free(w);
    if (loss0) *loss0 = l0;
    if (loss1) *loss1 = l1;
    if (rc < 0) return call_failed(&ctx, rc, what, msg, len);
    if (!(l1 <= factor * l0))
        return result(FANIN_CHECK_FAIL, msg, len, "%d steps at lr %g on a quadratic took the loss "
                      "from %.6g to %.6g (want <= %.6g)", steps, lr, l0, l1, factor * l0);
    return FANIN_CHECK_PASS;
}

/* Some learning rate of 0.01, 0.1, 1 must cut the loss by 10% in 300 steps. */
static int opt_quadratic(const fanin__check_subject *s, char *msg, size_t len) {
    static const double lrs[] = {0.01, 0.1, 1.0};
    char first[FANIN_CHECK_MSGLEN] = "";
    for (size_t k = 0; k < 3; k++) {
        int rc = fanin__check_quadratic(s, 16, lrs[k], 300, 0.9, NULL, NULL, msg, len);
        if (rc != FANIN_CHECK_FAIL) return rc;
        if (!first[0]) snprintf(first, sizeof first, "%s", msg);
    }
    return result(FANIN_CHECK_FAIL, msg, len, "no learning rate of 0.01, 0.1, 1 decreased the "
                  "loss; %s", first);
}

/* ---- allocation failures ---- */

/* One call sequence of the plugin's kind; returns the status it ended with. */
static int scenario(const fanin__check_subject *s, fanin_ctx *ctx, const char **what) {
    int kind = s->entry->plugin->kind;
    if (kind == FANIN_KIND_INITIALIZER) {
        float w[24 * 16];
        *what = "fill";
        return init_fill(s, ctx, w, 24, 16, 0, 11, FANIN_STREAM_WEIGHT);
    }
    if (kind == FANIN_KIND_ACTIVATION) {
        float x[16], dy[16], y[16], dx[16];
        act_inputs(x, dy, 16, -2.0, 2.0);
        return act_run(s, ctx, x, y, dy, dx, 16, what);
    }
    float w[8], g[8];
    return opt_run(s, ctx, w, g, 8, 0.05, 3, NULL, NULL, what);
}

static int alloc_failures(const fanin__check_subject *s, char *msg, size_t len) {
    const fanin__check_env *env = s->env;
    fanin_ctx ctx;
    const char *what = "";
    if (!env || !env->fail_alloc_after || !env->live_allocs)
        return result(FANIN_CHECK_SKIP, msg, len, "no allocation hooks in this host");
    long live0 = env->live_allocs();
    int rc = scenario(s, &ctx, &what);
    if (rc < 0) return call_failed(&ctx, rc, what, msg, len);
    if (env->live_allocs() != live0)
        return result(FANIN_CHECK_FAIL, msg, len, "leaks %ld host allocation(s) per %s call "
                      "(host->alloc without host->free)", env->live_allocs() - live0, what);
    for (long k = 1; k <= MAX_ALLOC_FAILURES; k++) {
        env->fail_alloc_after(k);
        rc = scenario(s, &ctx, &what);
        env->fail_alloc_after(0);
        long leaked = env->live_allocs() - live0;
        if (leaked)
            return result(FANIN_CHECK_FAIL, msg, len, "when host allocation #%ld fails, %s "
                          "returns %s and leaks %ld allocation(s)", k, what,
                          fanin_err_name(rc), leaked);
        if (rc == FANIN_OK) break; /* fewer than k allocations: every failure was seen */
        if (rc > 0 || !ctx.has_error)
            return result(FANIN_CHECK_FAIL, msg, len, "when host allocation #%ld fails, %s "
                          "returns %d without a message; report it with host->error", k, what,
                          rc);
    }
    return FANIN_CHECK_PASS;
}

/* ---- the list ---- */

static int schema_check(const fanin__check_subject *s, char *msg, size_t len) {
    return fanin__check_schema(s->entry->plugin, msg, len);
}

static int dispatch_empty(const fanin__check_subject *s, char *msg, size_t len) {
    int k = s->entry->plugin->kind;
    return k == FANIN_KIND_INITIALIZER ? init_empty(s, msg, len)
         : k == FANIN_KIND_ACTIVATION ? act_empty(s, msg, len) : opt_empty(s, msg, len);
}

static int dispatch_guard(const fanin__check_subject *s, char *msg, size_t len) {
    int k = s->entry->plugin->kind;
    return k == FANIN_KIND_INITIALIZER ? init_guard(s, msg, len)
         : k == FANIN_KIND_ACTIVATION ? act_guard(s, msg, len) : opt_guard(s, msg, len);
}

static int dispatch_same(const fanin__check_subject *s, char *msg, size_t len) {
    int k = s->entry->plugin->kind;
    return k == FANIN_KIND_INITIALIZER ? init_same_seed(s, msg, len)
         : k == FANIN_KIND_ACTIVATION ? act_same_input(s, msg, len) : opt_same_input(s, msg, len);
}

static int dispatch_finite(const fanin__check_subject *s, char *msg, size_t len) {
    int k = s->entry->plugin->kind;
    return k == FANIN_KIND_INITIALIZER ? init_finite(s, msg, len)
         : k == FANIN_KIND_ACTIVATION ? act_finite(s, msg, len) : opt_finite(s, msg, len);
}

static const fanin__check_def checks[] = {
    {"schema sanity (names, docs, min <= default <= max)", 0, schema_check},
    {"n = 0 calls are no-ops", 0, dispatch_empty},
    {"writes stay inside the buffers (guard words)", 0, dispatch_guard},
    {"same seed and input give the same output", 0, dispatch_same},
    {"no NaN or Inf on normal input", 0, dispatch_finite},
    {"sample moments match the declared moments", FANIN_KIND_INITIALIZER, init_moments},
    {"backward matches finite differences of forward", FANIN_KIND_ACTIVATION, act_fd},
    {"gain is positive and finite", FANIN_KIND_ACTIVATION, act_gain},
    {"in place gives the same result as out of place", FANIN_KIND_ACTIVATION, act_in_place},
    {"decreases a simple quadratic", FANIN_KIND_OPTIMIZER, opt_quadratic},
    {"host allocation failures end in a clean error without a leak", 0, alloc_failures},
};

const fanin__check_def *fanin__check_list(size_t *n) {
    *n = sizeof checks / sizeof checks[0];
    return checks;
}
