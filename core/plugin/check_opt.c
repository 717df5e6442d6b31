/* Conformance checks of optimizers: empty steps, buffer and state bounds, determinism, finite
 * updates, and descent on a simple quadratic. */
#include "plugin/check_int.h"
#include "base/rng.h"

#include <fanin/fanin.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const fanin_optimizer_vt *ovt(const fanin__check_subject *s) {
    return s->entry->plugin->vtable;
}

/* The quadratic 0.5 sum c_i (w_i - t_i)^2: curvatures in [0.5, 2], targets in [-1, 1]. */
static double quad_curv(size_t i) { return 0.5 + 1.5 * (double)(i % 7) / 6.0; }
static double quad_target(size_t i) { return sin(1.0 + (double)i); }

static double quad_loss(const float *w, size_t n) {
    double l = 0.0;
    for (size_t i = 0; i < n; i++)
        l += 0.5 * quad_curv(i) * (w[i] - quad_target(i)) * (w[i] - quad_target(i));
    return l;
}

static void quad_start(float *w, size_t n) {
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(quad_target(i) + (i % 2 ? 1.0 : -1.0) * (0.5 + 0.1 * (double)(i % 5)));
}

/* A fresh state and `steps` steps from quad_start; the state is returned through *state (caller
 * frees with state_free) when state is not NULL. */
int fanin__chk_opt_run(const fanin__check_subject *s, fanin_ctx *ctx, float *w, float *g, size_t n,
                       double lr, int steps, unsigned char **state, size_t *size,
                       const char **what) {
    size_t sz = ovt(s)->state_size(n, s->params);
    unsigned char *st = fanin__chk_state_new(sz);
    fanin__chk_ctx_init(ctx, s);
    if (!st) return ctx->has_error = 1, FANIN_ENOMEM; /* ours, not the plugin's */
    if (w) quad_start(w, n);
    fanin__chk_ctx_init(ctx, s);
    *what = "init_state";
    int rc = ovt(s)->init_state(ctx, st, n, s->params);
    for (int t = 1; rc == FANIN_OK && t <= steps; t++) {
        for (size_t i = 0; i < n; i++) g[i] = (float)(quad_curv(i) * (w[i] - quad_target(i)));
        fanin__chk_ctx_init(ctx, s);
        *what = "step";
        rc = ovt(s)->step(ctx, st, w, g, n, lr, t, s->params);
    }
    if (size) *size = sz;
    if (state) *state = st;
    else fanin__chk_state_free(st);
    return rc;
}

int fanin__chk_opt_empty(const fanin__check_subject *s, char *msg, size_t len) {
    fanin_ctx ctx;
    const char *what = "";
    int rc = fanin__chk_opt_run(s, &ctx, NULL, NULL, 0, 0.1, 1, NULL, NULL, &what);
    if (rc != FANIN_OK)
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                 "%s with n = 0 returned %s, want FANIN_OK: %s", what,
                                 fanin_err_name(rc), ctx.has_error ? ctx.msg : "");
    return FANIN_CHECK_PASS;
}

int fanin__chk_opt_guard(const fanin__check_subject *s, char *msg, size_t len) {
    enum { N = 13 };
    float *w = fanin__chk_guarded_new(N), *g = fanin__chk_guarded_new(N);
    unsigned char *st = NULL;
    size_t size = 0;
    fanin_ctx ctx;
    const char *what = "";
    int status = FANIN_CHECK_PASS;
    if (!w || !g) status = fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "out of memory");
    int rc = status ? FANIN_OK : fanin__chk_opt_run(s, &ctx, w, g, N, 0.05, 3, &st, &size, &what);
    if (!status && rc < 0) status = fanin__chk_call_failed(&ctx, rc, what, msg, len);
    long bw = status ? 0 : fanin__chk_guard_broken(w, N),
         bg = status ? 0 : fanin__chk_guard_broken(g, N);
    if (!status && bw) status = fanin__chk_guard_fail(bw, N, "w", "step", msg, len);
    if (!status && bg) status = fanin__chk_guard_fail(bg, N, "g", "step", msg, len);
    if (!status && st && !fanin__chk_state_guard_ok(st, size))
        status = fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                   "init_state or step wrote outside the %zu "
                                   "state bytes state_size(%d) asked for",
                                   size, N);
    fanin__chk_state_free(st);
    fanin__chk_guarded_free(w), fanin__chk_guarded_free(g);
    return status;
}

int fanin__chk_opt_same_input(const fanin__check_subject *s, char *msg, size_t len) {
    enum { N = 16 };
    float w1[N], w2[N], g[N];
    unsigned char *s1 = NULL, *s2 = NULL;
    size_t z1 = 0, z2 = 0;
    fanin_ctx ctx;
    const char *what = "";
    int rc = fanin__chk_opt_run(s, &ctx, w1, g, N, 0.05, 5, &s1, &z1, &what),
        status = FANIN_CHECK_PASS;
    if (rc == FANIN_OK) rc = fanin__chk_opt_run(s, &ctx, w2, g, N, 0.05, 5, &s2, &z2, &what);
    if (rc < 0) status = fanin__chk_call_failed(&ctx, rc, what, msg, len);
    else if (z1 != z2)
        status = fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                   "state_size(%d) changed: %zu then %zu", N, z1, z2);
    else if (memcmp(w1, w2, sizeof w1) || memcmp(s1, s2, z1))
        status = fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                   "two runs from the same start differ in %s",
                                   memcmp(w1, w2, sizeof w1) ? "the weights" : "the state");
    fanin__chk_state_free(s1);
    fanin__chk_state_free(s2);
    return status;
}

int fanin__chk_opt_finite(const fanin__check_subject *s, char *msg, size_t len) {
    enum { N = 16 };
    float w[N], g[N];
    fanin_ctx ctx;
    const char *what = "";
    int rc = fanin__chk_opt_run(s, &ctx, w, g, N, 0.01, 20, NULL, NULL, &what);
    if (rc < 0) return fanin__chk_call_failed(&ctx, rc, what, msg, len);
    for (size_t i = 0; i < N; i++)
        if (!isfinite(w[i]))
            return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                     "w[%zu] = %g after 20 steps at lr 0.01", i, w[i]);
    return FANIN_CHECK_PASS;
}

int fanin__check_quadratic(const fanin__check_subject *s, size_t n, double lr, int steps,
                           double factor, double *loss0, double *loss1, char *msg, size_t len) {
    float *w = malloc(2 * n * sizeof *w);
    fanin_ctx ctx;
    const char *what = "";
    if (!w) return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "out of memory");
    quad_start(w, n);
    double l0 = quad_loss(w, n);
    int rc = fanin__chk_opt_run(s, &ctx, w, w + n, n, lr, steps, NULL, NULL, &what);
    double l1 = quad_loss(w, n);
    free(w);
    if (loss0) *loss0 = l0;
    if (loss1) *loss1 = l1;
    if (rc < 0) return fanin__chk_call_failed(&ctx, rc, what, msg, len);
    if (!(l1 <= factor * l0))
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                 "%d steps at lr %g on a quadratic took the loss "
                                 "from %.6g to %.6g (want <= %.6g)",
                                 steps, lr, l0, l1, factor * l0);
    return FANIN_CHECK_PASS;
}

/* Some learning rate of 0.01, 0.1, 1 must cut the loss by 10% in 300 steps. */
int fanin__chk_opt_quadratic(const fanin__check_subject *s, char *msg, size_t len) {
    static const double lrs[] = {0.01, 0.1, 1.0};
    char first[FANIN_CHECK_MSGLEN] = "";
    for (size_t k = 0; k < 3; k++) {
        int rc = fanin__check_quadratic(s, 16, lrs[k], 300, 0.9, NULL, NULL, msg, len);
        if (rc != FANIN_CHECK_FAIL) return rc;
        if (!first[0]) snprintf(first, sizeof first, "%s", msg);
    }
    return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                             "no learning rate of 0.01, 0.1, 1 decreased the "
                             "loss; %s",
                             first);
}
