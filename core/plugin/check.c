/* The behaviour checks of the plugin conformance suite: each calls one loaded plugin through its
 * vtable and judges what it did (empty calls, buffer bounds, determinism, finite output, the
 * kind's own maths, allocation failures). The kinds' own checks are check_init.c,
 * check_act.c and check_opt.c; this file holds what they share and the list. Running them in forked children is check_run.c's job;
 * reading the .so file is check_elf.c's. Nothing here prints.
 */
#include "plugin/check_int.h"
#include "base/rng.h"
#include "plugin/host.h"

#include <fanin/fanin.h>

#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 16               /* guard floats (or 64 bytes) on each side of a buffer */
#define GUARD_WORD 0x7FA5A5A5u /* a NaN no plugin writes by accident */
#define MAX_ALLOC_FAILURES 64  /* allocations per scenario tried in turn */

int fanin__chk_result(int status, char *msg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

int fanin__chk_result(int status, char *msg, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    return status;
}

/* A plugin call returned rc < 0: FAIL with its message, or SKIP when it says the checker cannot
 * give what it needs (FANIN_ENOTSUP, e.g. a data-dependent initializer without a layer). */
int fanin__chk_call_failed(const fanin_ctx *ctx, int rc, const char *what, char *msg, size_t len) {
    const char *why = ctx->has_error ? ctx->msg : "(no message)";
    if (rc == FANIN_ENOTSUP)
        return fanin__chk_result(FANIN_CHECK_SKIP, msg, len, "%s is not supported here: %s", what,
                                 why);
    return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "%s returned %s: %s", what,
                             fanin_err_name(rc), why);
}

void fanin__chk_ctx_init(fanin_ctx *ctx, const fanin__check_subject *s) {
    fanin__ctx_init(ctx, s->entry, s->env ? s->env->gain : 1.0);
}

/* ---- guarded buffers ---- */

/* n floats with GUARD guard words on each side; returns the first usable float. */
float *fanin__chk_guarded_new(size_t n) {
    uint32_t *b = malloc((n + 2 * GUARD) * sizeof *b);
    if (!b) return NULL;
    for (size_t i = 0; i < n + 2 * GUARD; i++) b[i] = GUARD_WORD;
    return (float *)(b + GUARD);
}

void fanin__chk_guarded_free(float *p) {
    if (p) free((uint32_t *)p - GUARD);
}

/* Index (negative: before) of the first overwritten guard word, or 0 when intact. */
long fanin__chk_guard_broken(const float *p, size_t n) {
    const uint32_t *b = (const uint32_t *)p;
    for (long i = 1; i <= GUARD; i++)
        if (b[-i] != GUARD_WORD) return -i;
    for (size_t i = 0; i < GUARD; i++)
        if (b[n + i] != GUARD_WORD) return (long)(n + i) + 1;
    return 0;
}

int fanin__chk_guard_fail(long where, size_t n, const char *buf, const char *what, char *msg,
                          size_t len) {
    if (where < 0)
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "%s wrote %ld float(s) before %s[0]",
                                 what, -where, buf);
    return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                             "%s wrote past the end of %s (index %ld of %zu)", what, buf, where - 1,
                             n);
}

/* Optimizer state as the host gives it (16-byte aligned) with 64 guard bytes on each side. */
unsigned char *fanin__chk_state_new(size_t size) {
    size_t total = (size + 15) / 16 * 16 + 128;
    unsigned char *b = aligned_alloc(16, total);
    if (!b) return NULL;
    memset(b, 0xA5, total);
    return b + 64;
}

int fanin__chk_state_guard_ok(const unsigned char *s, size_t size) {
    for (size_t i = 1; i <= 64; i++)
        if (s[-(long)i] != 0xA5) return 0;
    for (size_t i = 0; i < 64; i++)
        if (s[size + i] != 0xA5) return 0;
    return 1;
}

void fanin__chk_state_free(unsigned char *s) {
    if (s) free(s - 64);
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
    if ((lo && isnan(r->min)) || (hi && isnan(r->max))) snprintf(why, len, "min or max is NaN");
    else if (lo && hi && r->min > r->max) snprintf(why, len, "min %g > max %g", r->min, r->max);
    else if (r->flags & FANIN_PARAM_REQUIRED) return NULL;
    else if (isnan(d) && !(r->flags & FANIN_PARAM_AUTO))
        snprintf(why, len, "default is NaN but FANIN_PARAM_AUTO is not set");
    else if (!isnan(d) && lo && ((r->flags & FANIN_PARAM_MIN_EXCL) ? !(d > r->min) : d < r->min))
        snprintf(why, len, "default %g is below min %g", d, r->min);
    else if (!isnan(d) && hi && ((r->flags & FANIN_PARAM_MAX_EXCL) ? !(d < r->max) : d > r->max))
        snprintf(why, len, "default %g is above max %g", d, r->max);
    else return NULL;
    return why;
}

int fanin__check_schema(const fanin_plugin *p, char *msg, size_t len) {
    char why[256];
    if (!p->doc || !*p->doc)
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "the descriptor has no doc");
    for (size_t k = 0; p->params && p->params[k].name; k++) {
        const fanin_param_spec *r = &p->params[k];
        const char *bad = NULL;
        if (k >= 256)
            return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                     "more than 256 schema rows; "
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
        if (!bad && (r->type < FANIN_PARAM_F64 || r->type > FANIN_PARAM_STRING))
            bad = "unknown type";
        if (bad)
            return fanin__chk_result(FANIN_CHECK_FAIL, msg, len, "parameter '%s' (row %zu): %s",
                                     r->name ? r->name : "(null)", k, bad);
    }
    return FANIN_CHECK_PASS;
}

/* ---- allocation failures ---- */

/* One call sequence of the plugin's kind; returns the status it ended with. */
static int scenario(const fanin__check_subject *s, fanin_ctx *ctx, const char **what) {
    int kind = s->entry->plugin->kind;
    if (kind == FANIN_KIND_INITIALIZER) {
        float w[24 * 16];
        *what = "fill";
        int rc = fanin__chk_init_fill(s, ctx, w, 24, 16, 0, 11, FANIN_STREAM_WEIGHT);
        if (rc != FANIN_OK) return rc;
        *what = "fill of a [8, 4, 3, 3] conv weight";
        return fanin__chk_init_fill_conv(s, ctx, w, 11);
    }
    if (kind == FANIN_KIND_ACTIVATION) {
        float x[16], dy[16], y[16], dx[16];
        fanin__chk_act_inputs(x, dy, 16, -2.0, 2.0);
        return fanin__chk_act_run(s, ctx, x, y, dy, dx, 16, what);
    }
    float w[8], g[8];
    return fanin__chk_opt_run(s, ctx, w, g, 8, 0.05, 3, NULL, NULL, what);
}

int fanin__check_probe(const fanin__check_subject *s, char *msg, size_t len) {
    fanin_ctx ctx;
    const char *what = "";
    int rc = scenario(s, &ctx, &what);
    if (rc == FANIN_EINVAL && ctx.has_error)
        return fanin__chk_result(FANIN_CHECK_SKIP, msg, len,
                                 "the plugin refuses these values "
                                 "(%s: %s); nothing else was checked with them",
                                 what, ctx.msg);
    return FANIN_CHECK_PASS;
}

static int alloc_failures(const fanin__check_subject *s, char *msg, size_t len) {
    const fanin__check_env *env = s->env;
    fanin_ctx ctx;
    const char *what = "";
    if (!env || !env->fail_alloc_after || !env->live_allocs)
        return fanin__chk_result(FANIN_CHECK_SKIP, msg, len, "no allocation hooks in this host");
    long live0 = env->live_allocs();
    int rc = scenario(s, &ctx, &what);
    if (rc < 0) return fanin__chk_call_failed(&ctx, rc, what, msg, len);
    if (env->live_allocs() != live0)
        return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                 "leaks %ld host allocation(s) per %s call "
                                 "(host->alloc without host->free)",
                                 env->live_allocs() - live0, what);
    for (long k = 1; k <= MAX_ALLOC_FAILURES; k++) {
        env->fail_alloc_after(k);
        rc = scenario(s, &ctx, &what);
        env->fail_alloc_after(0);
        long leaked = env->live_allocs() - live0;
        if (leaked)
            return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                     "when host allocation #%ld fails, %s "
                                     "returns %s and leaks %ld allocation(s)",
                                     k, what, fanin_err_name(rc), leaked);
        if (rc == FANIN_OK) break; /* fewer than k allocations: every failure was seen */
        if (rc > 0 || !ctx.has_error)
            return fanin__chk_result(FANIN_CHECK_FAIL, msg, len,
                                     "when host allocation #%ld fails, %s "
                                     "returns %d without a message; report it with host->error",
                                     k, what, rc);
    }
    return FANIN_CHECK_PASS;
}

/* ---- the list ---- */

static int schema_check(const fanin__check_subject *s, char *msg, size_t len) {
    return fanin__check_schema(s->entry->plugin, msg, len);
}

static int dispatch_empty(const fanin__check_subject *s, char *msg, size_t len) {
    int k = s->entry->plugin->kind;
    return k == FANIN_KIND_INITIALIZER  ? fanin__chk_init_empty(s, msg, len)
           : k == FANIN_KIND_ACTIVATION ? fanin__chk_act_empty(s, msg, len)
                                        : fanin__chk_opt_empty(s, msg, len);
}

static int dispatch_guard(const fanin__check_subject *s, char *msg, size_t len) {
    int k = s->entry->plugin->kind;
    return k == FANIN_KIND_INITIALIZER  ? fanin__chk_init_guard(s, msg, len)
           : k == FANIN_KIND_ACTIVATION ? fanin__chk_act_guard(s, msg, len)
                                        : fanin__chk_opt_guard(s, msg, len);
}

static int dispatch_same(const fanin__check_subject *s, char *msg, size_t len) {
    int k = s->entry->plugin->kind;
    return k == FANIN_KIND_INITIALIZER  ? fanin__chk_init_same_seed(s, msg, len)
           : k == FANIN_KIND_ACTIVATION ? fanin__chk_act_same_input(s, msg, len)
                                        : fanin__chk_opt_same_input(s, msg, len);
}

static int dispatch_finite(const fanin__check_subject *s, char *msg, size_t len) {
    int k = s->entry->plugin->kind;
    return k == FANIN_KIND_INITIALIZER  ? fanin__chk_init_finite(s, msg, len)
           : k == FANIN_KIND_ACTIVATION ? fanin__chk_act_finite(s, msg, len)
                                        : fanin__chk_opt_finite(s, msg, len);
}

static const fanin__check_def checks[] = {
    {"schema sanity (names, docs, min <= default <= max)", 0, schema_check, 1},
    {"n = 0 calls are no-ops", 0, dispatch_empty, 0},
    {"writes stay inside the buffers (guard words)", 0, dispatch_guard, 0},
    {"same seed and input give the same output", 0, dispatch_same, 0},
    {"no NaN or Inf on normal input", 0, dispatch_finite, 0},
    {"sample moments match the declared moments", FANIN_KIND_INITIALIZER, fanin__chk_init_moments,
     0},
    {"backward matches finite differences of forward", FANIN_KIND_ACTIVATION, fanin__chk_act_fd, 0},
    {"gain is positive and finite", FANIN_KIND_ACTIVATION, fanin__chk_act_gain, 0},
    {"in place gives the same result as out of place", FANIN_KIND_ACTIVATION,
     fanin__chk_act_in_place, 0},
    {"decreases a simple quadratic", FANIN_KIND_OPTIMIZER, fanin__chk_opt_quadratic, 0},
    {"host allocation failures end in a clean error without a leak", 0, alloc_failures, 0},
};

const fanin__check_def *fanin__check_list(size_t *n) {
    *n = sizeof checks / sizeof checks[0];
    return checks;
}
