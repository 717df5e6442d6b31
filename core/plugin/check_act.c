/* Conformance checks of activations: empty calls, buffer bounds, determinism, finite output,
 * backward against finite differences of forward, the gain, and in-place calls. */
#include "plugin/check_int.h"
#include "base/rng.h"

#include <fanin/fanin.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const fanin_activation_vt *avt(const fanin__check_subject *s) {
    return s->entry->plugin->vtable;
}

/* x[i] spread over [lo, hi], never exactly on an integer (kinks sit there) */
void fanin__chk_act_inputs(float *x, float *dy, size_t n, double lo, double hi) {
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)(lo + (hi - lo) * ((double)i + 0.5) / (double)n + 0.00123);
        dy[i] = i % 3 == 0 ? -0.7f : 1.0f + 0.01f * (float)(i % 10);
    }
}

int fanin__chk_act_run(const fanin__check_subject *s, fanin_ctx *ctx, const float *x, float *y,
                       const float *dy, float *dx, size_t n, const char **what) {
    fanin__chk_ctx_init(ctx, s);
    *what = "forward";
    int rc = avt(s)->forward(ctx, x, y, n, s->params);
    if (rc != FANIN_OK || !dx) return rc;
    *what = "backward";
    fanin__chk_ctx_init(ctx, s);
    return avt(s)->backward(ctx, x, y, dy, dx, n, s->params);
}

int fanin__chk_act_empty(const fanin__check_subject *s, char *msg, size_t len) {
    fanin_ctx ctx;
    const char *what = "";
    int rc = fanin__chk_act_run(s, &ctx, NULL, NULL, NULL, NULL, 0, &what);
    if (rc == FANIN_OK) {
        fanin__chk_ctx_init(&ctx, s);
        what = "backward";
        rc = avt(s)->backward(&ctx, NULL, NULL, NULL, NULL, 0, s->params);
    }
    if (rc != FANIN_OK)
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                 "%s with n = 0 returned %s, want FANIN_OK", what,
                                 fanin_err_name(rc));
    return FANIN_CHECK_PASS;
}

int fanin__chk_act_guard(const fanin__check_subject *s, char *msg, size_t len) {
    enum { N = 37 };
    float *x = fanin__chk_guarded_new(N), *y = fanin__chk_guarded_new(N),
          *dy = fanin__chk_guarded_new(N), *dx = fanin__chk_guarded_new(N);
    float x0[N], dy0[N];
    fanin_ctx ctx;
    const char *what = "";
    int rc = FANIN_CHECK_PASS;
    if (!x || !y || !dy || !dx) rc = fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "out of memory");
    if (rc == FANIN_CHECK_PASS) {
        fanin__chk_act_inputs(x, dy, N, -3.0, 3.0);
        memcpy(x0, x, sizeof x0);
        memcpy(dy0, dy, sizeof dy0);
        int crc = fanin__chk_act_run(s, &ctx, x, y, dy, dx, N, &what);
        long by = fanin__chk_guard_broken(y, N), bdx = fanin__chk_guard_broken(dx, N);
        if (crc < 0) rc = fanin__chk_call_failed(&ctx, crc, what, msg, len);
        else if (by) rc = fanin__chk_guard_fail(by, N, "y", "forward", msg, len);
        else if (bdx) rc = fanin__chk_guard_fail(bdx, N, "dx", "backward", msg, len);
        else if (memcmp(x, x0, sizeof x0) || fanin__chk_guard_broken(x, N))
            rc = fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "the input x was modified");
        else if (memcmp(dy, dy0, sizeof dy0) || fanin__chk_guard_broken(dy, N))
            rc = fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "the input dy was modified");
    }
    fanin__chk_guarded_free(x), fanin__chk_guarded_free(y), fanin__chk_guarded_free(dy),
        fanin__chk_guarded_free(dx);
    return rc;
}

int fanin__chk_act_same_input(const fanin__check_subject *s, char *msg, size_t len) {
    enum { N = 50 };
    float x[N], dy[N], y1[N], y2[N], dx1[N], dx2[N];
    fanin_ctx ctx;
    const char *what = "";
    fanin__chk_act_inputs(x, dy, N, -5.0, 5.0);
    int rc = fanin__chk_act_run(s, &ctx, x, y1, dy, dx1, N, &what);
    if (rc == FANIN_OK) rc = fanin__chk_act_run(s, &ctx, x, y2, dy, dx2, N, &what);
    if (rc < 0) return fanin__chk_call_failed(&ctx, rc, what, msg, len);
    if (memcmp(y1, y2, sizeof y1) || memcmp(dx1, dx2, sizeof dx1))
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "two calls on the same input differ");
    return FANIN_CHECK_PASS;
}

int fanin__chk_act_finite(const fanin__check_subject *s, char *msg, size_t len) {
    enum { N = 201 };
    float x[N], dy[N], y[N], dx[N];
    fanin_ctx ctx;
    const char *what = "";
    fanin__chk_act_inputs(x, dy, N, -10.0, 10.0);
    int rc = fanin__chk_act_run(s, &ctx, x, y, dy, dx, N, &what);
    if (rc < 0) return fanin__chk_call_failed(&ctx, rc, what, msg, len);
    for (size_t i = 0; i < N; i++) {
        if (!isfinite(y[i]))
            return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "forward(%g) = %g", x[i], y[i]);
        if (!isfinite(dx[i]))
            return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                     "backward at x = %g, dy = %g gives %g", x[i], dy[i], dx[i]);
    }
    return FANIN_CHECK_PASS;
}

int fanin__check_gradient(const fanin__check_subject *s, double lo, double hi, size_t n,
                          double rtol, double atol, char *msg, size_t len) {
    float *b = malloc(7 * n * sizeof *b);
    if (!b) return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "out of memory");
    float *x = b, *dy = b + n, *y = b + 2 * n, *dx = b + 3 * n, *xp = b + 4 * n, *xm = b + 5 * n;
    float *f = b + 6 * n; /* f(xp) then f(xm) reuse */
    fanin_ctx ctx;
    const char *what = "";
    fanin__chk_act_inputs(x, dy, n, lo, hi);
    for (size_t i = 0; i < n; i++) {
        double h = 1e-3 * fmax(1.0, fabs(x[i]));
        xp[i] = (float)(x[i] + h);
        xm[i] = (float)(x[i] - h);
    }
    int rc = fanin__chk_act_run(s, &ctx, x, y, dy, dx, n, &what), status = FANIN_CHECK_PASS;
    if (rc == FANIN_OK) rc = fanin__chk_act_run(s, &ctx, xp, f, NULL, NULL, n, &what);
    if (rc == FANIN_OK)
        rc = fanin__chk_act_run(s, &ctx, xm, xp, NULL, NULL, n, &what); /* f(xm) into xp */
    if (rc < 0) status = fanin__chk_call_failed(&ctx, rc, what, msg, len);
    for (size_t i = 0; status == FANIN_CHECK_PASS && i < n; i++) {
        double h = 1e-3 * fmax(1.0, fabs(x[i])), fp = f[i], fm = xp[i];
        double xhi = (float)(x[i] + h), xlo = xm[i];
        double left = (y[i] - fm) / (x[i] - xlo), right = (fp - y[i]) / (xhi - x[i]);
        if (fabs(left - right) > 0.1 * fmax(fabs(left), fabs(right)) + 1e-3) continue; /* kink */
        double num = dy[i] * (fp - fm) / (xhi - xlo);
        /* the difference's own float rounding: a forward far from 0 (softplus with a small
         * beta is ~log(2)/beta) leaves few significant digits in fp - fm */
        double round = 4.0 * FLT_EPSILON * fmax(fabs(fp), fabs(fm)) / (xhi - xlo);
        if (!(fabs(dx[i] - num) <= rtol * fabs(num) + (atol + round) * fabs(dy[i])))
            status = fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                       "at x = %.6g (dy = %g): backward gives "
                                       "%.7g, central difference of forward %.7g",
                                       x[i], dy[i], dx[i], num);
    }
    free(b);
    return status;
}

int fanin__chk_act_fd(const fanin__check_subject *s, char *msg, size_t len) {
    return fanin__check_gradient(s, -4.0, 4.0, 161, 1e-2, 1e-4, msg, len);
}

int fanin__chk_act_gain(const fanin__check_subject *s, char *msg, size_t len) {
    double g = NAN;
    int rc = avt(s)->gain(s->params, &g);
    if (rc != FANIN_OK)
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "gain returned %s",
                                 fanin_err_name(rc));
    if (!(isfinite(g) && g > 0.0))
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                 "gain is %g; it must be positive and finite", g);
    return FANIN_CHECK_PASS;
}

int fanin__chk_act_in_place(const fanin__check_subject *s, char *msg, size_t len) {
    enum { N = 40 };
    float x[N], dy[N], y[N], dx[N], buf[N], dbuf[N];
    fanin_ctx ctx;
    const char *what = "";
    if (!(s->entry->plugin->flags & FANIN_FLAG_IN_PLACE))
        return fanin__chk_result(FANIN_CHECK_SKIP, msg, len, "not declared FANIN_FLAG_IN_PLACE");
    fanin__chk_act_inputs(x, dy, N, -5.0, 5.0);
    memcpy(buf, x, sizeof x);
    memcpy(dbuf, dy, sizeof dy);
    int rc = fanin__chk_act_run(s, &ctx, x, y, dy, dx, N, &what);
    if (rc == FANIN_OK) rc = fanin__chk_act_run(s, &ctx, buf, buf, NULL, NULL, N, &what);
    if (rc == FANIN_OK && memcmp(buf, y, sizeof y))
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                 "forward with y == x differs from out of place");
    if (rc == FANIN_OK) {
        fanin__chk_ctx_init(&ctx, s);
        what = "backward";
        rc = avt(s)->backward(&ctx, x, y, dbuf, dbuf, N, s->params);
    }
    if (rc < 0) return fanin__chk_call_failed(&ctx, rc, what, msg, len);
    if (memcmp(dbuf, dx, sizeof dx))
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                 "backward with dx == dy differs from out of place");
    return FANIN_CHECK_PASS;
}
