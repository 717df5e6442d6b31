/* What the conformance checks of each plugin kind share (check.c) and offer the list
 * (check_init.c, check_act.c, check_opt.c). Private to core/plugin. */
#ifndef FANIN_PLUGIN_CHECK_INT_H
#define FANIN_PLUGIN_CHECK_INT_H

#include "plugin/check.h"
#include "plugin/host.h"

#include <stddef.h>
#include <stdint.h>

#define GUARD 16               /* guard floats (or 64 bytes) on each side of a buffer */
#define GUARD_WORD 0x7FA5A5A5u /* a NaN no plugin writes by accident */
#define MAX_ALLOC_FAILURES 64  /* allocations per scenario tried in turn */

/* ---- check.c: verdicts and guarded buffers ---- */

/* msg = the formatted text; returns status (FANIN_CHECK_*). */
int fanin__chk_result(int status, char *msg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int fanin__chk_call_failed(const fanin_ctx *ctx, int rc, const char *what, char *msg, size_t len);
void fanin__chk_ctx_init(fanin_ctx *ctx, const fanin__check_subject *s);
/* n floats with GUARD guard words on each side (free with _guarded_free); _guard_broken
 * gives the first broken guard index or -1. */
float *fanin__chk_guarded_new(size_t n);
void fanin__chk_guarded_free(float *p);
long fanin__chk_guard_broken(const float *p, size_t n);
int fanin__chk_guard_fail(long where, size_t n, const char *buf, const char *what, char *msg,
                          size_t len);
unsigned char *fanin__chk_state_new(size_t size);
int fanin__chk_state_guard_ok(const unsigned char *s, size_t size);
void fanin__chk_state_free(unsigned char *s);
/* ---- check_init.c ---- */

int fanin__chk_init_fill(const fanin__check_subject *s, fanin_ctx *ctx, float *w, int64_t rows,
                         int64_t cols, int is_bias, uint64_t seed, uint32_t stream);
/* the described conv weight [8, 4, 3, 3] from stream (seed, 1, weight) */
int fanin__chk_init_fill_conv(const fanin__check_subject *s, fanin_ctx *ctx, float *w,
                              uint64_t seed);
int fanin__chk_init_empty(const fanin__check_subject *s, char *msg, size_t len);
int fanin__chk_init_guard(const fanin__check_subject *s, char *msg, size_t len);
int fanin__chk_init_same_seed(const fanin__check_subject *s, char *msg, size_t len);
int fanin__chk_init_finite(const fanin__check_subject *s, char *msg, size_t len);
int fanin__chk_init_moments(const fanin__check_subject *s, char *msg, size_t len);
/* ---- check_act.c ---- */

void fanin__chk_act_inputs(float *x, float *dy, size_t n, double lo, double hi);
int fanin__chk_act_run(const fanin__check_subject *s, fanin_ctx *ctx, const float *x, float *y,
                       const float *dy, float *dx, size_t n, const char **what);
int fanin__chk_act_empty(const fanin__check_subject *s, char *msg, size_t len);
int fanin__chk_act_guard(const fanin__check_subject *s, char *msg, size_t len);
int fanin__chk_act_same_input(const fanin__check_subject *s, char *msg, size_t len);
int fanin__chk_act_finite(const fanin__check_subject *s, char *msg, size_t len);
int fanin__chk_act_fd(const fanin__check_subject *s, char *msg, size_t len);
int fanin__chk_act_gain(const fanin__check_subject *s, char *msg, size_t len);
int fanin__chk_act_in_place(const fanin__check_subject *s, char *msg, size_t len);
/* ---- check_opt.c ---- */

int fanin__chk_opt_run(const fanin__check_subject *s, fanin_ctx *ctx, float *w, float *g, size_t n,
                       double lr, int steps, unsigned char **state, size_t *size,
                       const char **what);
int fanin__chk_opt_empty(const fanin__check_subject *s, char *msg, size_t len);
int fanin__chk_opt_guard(const fanin__check_subject *s, char *msg, size_t len);
int fanin__chk_opt_same_input(const fanin__check_subject *s, char *msg, size_t len);
int fanin__chk_opt_finite(const fanin__check_subject *s, char *msg, size_t len);
int fanin__chk_opt_quadratic(const fanin__check_subject *s, char *msg, size_t len);

#endif /* FANIN_PLUGIN_CHECK_INT_H */
