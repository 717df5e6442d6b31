/* <fanin/testing.h>: helpers for cmocka tests of a fanin plugin.
 *
 * A test loads the plugin's .so by path with fanin_test_load (the loader's full checks run
 * first), which hands the plugin a fake host: every host->alloc goes through an allocator the
 * test chooses (cmocka's leak-checking test_malloc/test_free with fanin_test_setup), allocation
 * failures can be injected, random streams are fanin's deterministic Philox streams. The checks
 * below are the ones `fanin check` runs; each returns FANIN_OK, or a negative code with the
 * reason in fanin_test_why(). Include <cmocka.h> before this header to get the assert_fanin_*
 * macros and fanin_test_setup/teardown.
 *
 * Link with libfanin (find_package(fanin) -> fanin::fanin, or pkg-config fanin) and cmocka.
 * Not thread-safe: one test at a time, as cmocka runs them.
 */
#ifndef FANIN_TESTING_H
#define FANIN_TESTING_H

#include <fanin/fanin.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A loaded plugin with its parameter values, a call context and a random stream. */
typedef struct fanin_test_plugin fanin_test_plugin;

/* ---- the fake host ---- */

/* Where host->alloc and host->free go (cmocka's _test_malloc and _test_free fit); NULL, NULL
 * restores malloc/free. Set it before a test allocates, never while a plugin holds memory. */
FANIN_API void fanin_test_set_allocator(void *(*alloc)(size_t size, const char *file, int line),
                                        void (*release)(void *p, const char *file, int line));
/* Make the n-th host allocation from now return NULL (0 = never). */
FANIN_API void fanin_test_fail_alloc_after(long n);
/* Host allocations made by plugins and not yet freed. */
FANIN_API long fanin_test_live_allocs(void);

/* ---- loading ---- */

/* Load the plugin `name` of `kind` (enum fanin_kind; 0 = any) from the shared object `path`;
 * name NULL picks the file's first plugin of that kind. On failure *out is NULL and err holds
 * the loader's message. Caller owns *out (fanin_test_free); the .so stays mapped. */
FANIN_API int fanin_test_load(fanin_test_plugin **out, const char *path, int kind, const char *name,
                              char *err, size_t errlen);
FANIN_API void fanin_test_free(fanin_test_plugin *tp); /* NULL is a no-op */
/* The plugin's descriptor (borrowed; its vtable is descriptor->vtable). */
FANIN_API const fanin_plugin *fanin_test_descriptor(const fanin_test_plugin *tp);

/* ---- parameters: the schema's defaults until set ---- */

/* One value per schema row, in schema order (borrowed until the next set/reset). */
FANIN_API const fanin_value *fanin_test_params(const fanin_test_plugin *tp);
/* A numeric, bool (0/1) or enum (index) parameter; FANIN_EINVAL for an unknown name. */
FANIN_API int fanin_test_set_param(fanin_test_plugin *tp, const char *name, double value);
/* Any parameter from text as in YAML: "0.5", "true", "auto", an enum choice, a string
 * (borrowed). FANIN_EINVAL when the name or value is wrong (see fanin_test_why). */
FANIN_API int fanin_test_set_param_text(fanin_test_plugin *tp, const char *name, const char *text);
FANIN_API void fanin_test_reset_params(fanin_test_plugin *tp);
/* Every value at once: p holds one value per schema row (copied; strings stay borrowed). */
FANIN_API void fanin_test_set_values(fanin_test_plugin *tp, const fanin_value *p);
/* The gain the host's activation_gain service reports (default 1). */
FANIN_API void fanin_test_set_gain(fanin_test_plugin *tp, double gain);

/* ---- calling the plugin yourself ---- */

/* A cleared call context for one vtable call (owned by tp, valid until the next call). */
FANIN_API fanin_ctx *fanin_test_ctx(fanin_test_plugin *tp);
/* The message the plugin reported through host->error in that context, or "". */
FANIN_API const char *fanin_test_message(const fanin_test_plugin *tp);
/* tp's random stream, re-seeded to (seed, layer 1, stream): the host's Philox streams. */
FANIN_API fanin_rng *fanin_test_rng(fanin_test_plugin *tp, uint64_t seed, uint32_t stream);
/* Initializers: fill a rows x cols dense weight (fan_in = cols, fan_out = rows) from seed. */
FANIN_API int fanin_test_fill(fanin_test_plugin *tp, float *w, int64_t rows, int64_t cols,
                              uint64_t seed);

/* ---- tensors as an ABI 1.2 host describes them ---- */

/* t := `data` with PyTorch's `shape` (ndim 1..4, e.g. {8, 3, 3, 3}) in `role` (enum
 * fanin_role), described as fanin's engine describes a layer's tensor: the 2-D view
 * [shape[0], prod(shape[1:])], fans as torch.nn.init._calculate_fan_in_and_fan_out (receptive
 * field included); a vector (ndim 1 or a bias/norm/residual role) [n, 1] with the fans of `of`
 * (the weight a bias belongs to) or n, n; is_bias for a bias, norm shift or residual bias; no
 * residual branch (block, n_blocks, pos, branch_len = -1) and no flags. Set those fields
 * yourself to test a branch layer (e.g. block 3, n_blocks 8, pos 1, branch_len 2) or the
 * output layer (flags = FANIN_TENSOR_OUTPUT). */
FANIN_API void fanin_test_tensor_init(fanin_tensor *t, float *data, int role, int ndim,
                                      const int64_t *shape, const fanin_tensor *of);
/* Initializers: fill t (from fanin_test_tensor_init) from seed: the bias stream when
 * t->is_bias, else the weight stream. */
FANIN_API int fanin_test_fill_tensor(fanin_test_plugin *tp, const fanin_tensor *t, uint64_t seed);

/* ---- checks: FANIN_OK; FANIN_ENOTSUP when it does not apply; else FANIN_EINVAL ---- */

/* Why the last check failed or did not apply ("" after a pass). */
FANIN_API const char *fanin_test_why(const fanin_test_plugin *tp);
/* Names, docs, min <= default <= max, enum defaults among the choices. */
FANIN_API int fanin_test_check_schema(fanin_test_plugin *tp);
/* Every behaviour check of `fanin check` in this process: n = 0 no-ops, guard words around
 * buffers, same seed same output, finite output, the kind's maths, allocation failures
 * (initializers: on dense weights and biases, a conv weight [8, 3, 3, 3] and its bias, a
 * norm's scale and shift [16], and moments on a conv [64, 16, 5, 5] too). */
FANIN_API int fanin_test_check_conformance(fanin_test_plugin *tp);

typedef struct fanin_test_stats {
    double mean, std, min, max; /* over the finite values */
    size_t n, nonfinite;
} fanin_test_stats;
/* Initializers: statistics of one rows x cols fill from seed. */
FANIN_API int fanin_test_init_stats(fanin_test_plugin *tp, int64_t rows, int64_t cols,
                                    uint64_t seed, fanin_test_stats *out);
/* Sample mean within nsigma * std/sqrt(n) of `mean`, sample std within nsigma standard errors
 * of `std`. mean and std NaN: compare with the plugin's own moments(). */
FANIN_API int fanin_test_check_init_moments(fanin_test_plugin *tp, int64_t rows, int64_t cols,
                                            double mean, double std, double nsigma);
/* The same for a fill of `shape` (from fanin_test_tensor_init; its data is ignored), e.g. a
 * conv weight [64, 16, 5, 5] or a branch layer. */
FANIN_API int fanin_test_check_init_moments_tensor(fanin_test_plugin *tp, const fanin_tensor *shape,
                                                   double mean, double std, double nsigma);
/* Every value inside [lo, hi], both ends approached within 1% of the width. */
FANIN_API int fanin_test_check_init_bounds(fanin_test_plugin *tp, int64_t rows, int64_t cols,
                                           double lo, double hi);
/* W W^T (wide) or W^T W (tall) equals gain^2 I within tol, entry by entry. */
FANIN_API int fanin_test_check_orthogonal(fanin_test_plugin *tp, int64_t rows, int64_t cols,
                                          double gain, double tol);
/* Activations: backward against central differences of forward at n points of [lo, hi]
 * (points next to a kink are skipped); |dx - fd| <= rtol |fd| + atol |dy|. */
FANIN_API int fanin_test_check_gradient(fanin_test_plugin *tp, double lo, double hi, size_t n,
                                        double rtol, double atol);
/* Optimizers: `steps` steps at rate lr on 0.5 sum c_i (w_i - t_i)^2 over n parameters end with
 * the loss at most `factor` times its start. */
FANIN_API int fanin_test_check_quadratic(fanin_test_plugin *tp, size_t n, double lr, int steps,
                                         double factor);

/* ---- with cmocka ---- */
#ifdef CMOCKA_H_

/* Group setup: cmocka's allocator for the host, the plugin loaded into *state. */
static inline int fanin_test_setup(void **state, const char *path, int kind, const char *name) {
    char err[1024];
    fanin_test_plugin *tp = NULL;
    fanin_test_set_allocator(_test_malloc, _test_free);
    if (fanin_test_load(&tp, path, kind, name, err, sizeof err) != FANIN_OK) {
        print_error("fanin_test_load: %s\n", err);
        return -1;
    }
    *state = tp;
    return 0;
}

static inline int fanin_test_teardown(void **state) {
    fanin_test_free((fanin_test_plugin *)*state);
    fanin_test_set_allocator(NULL, NULL);
    return 0;
}

/* Fail the test with the check's reason unless `call` returned FANIN_OK. */
#define assert_fanin_ok(tp, call)                                                          \
    do {                                                                                   \
        int fanin_rc_ = (call);                                                            \
        if (fanin_rc_ != FANIN_OK)                                                         \
            fail_msg("%s: %s (%s)", #call, fanin_test_why(tp), fanin_err_name(fanin_rc_)); \
    } while (0)

#define assert_fanin_schema(tp) assert_fanin_ok(tp, fanin_test_check_schema(tp))
#define assert_fanin_conforms(tp) assert_fanin_ok(tp, fanin_test_check_conformance(tp))
#define assert_fanin_init_moments(tp, rows, cols, mean, std, nsigma) \
    assert_fanin_ok(tp, fanin_test_check_init_moments(tp, rows, cols, mean, std, nsigma))
#define assert_fanin_init_moments_tensor(tp, shape, mean, std, nsigma) \
    assert_fanin_ok(tp, fanin_test_check_init_moments_tensor(tp, shape, mean, std, nsigma))
#define assert_fanin_init_bounds(tp, rows, cols, lo, hi) \
    assert_fanin_ok(tp, fanin_test_check_init_bounds(tp, rows, cols, lo, hi))
#define assert_fanin_orthogonal(tp, rows, cols, gain, tol) \
    assert_fanin_ok(tp, fanin_test_check_orthogonal(tp, rows, cols, gain, tol))
#define assert_fanin_gradient(tp, lo, hi) \
    assert_fanin_ok(tp, fanin_test_check_gradient(tp, lo, hi, 101, 1e-2, 1e-4))
#define assert_fanin_converges(tp, n, lr, steps, factor) \
    assert_fanin_ok(tp, fanin_test_check_quadratic(tp, n, lr, steps, factor))

#endif /* CMOCKA_H_ */

#ifdef __cplusplus
}
#endif
#endif /* FANIN_TESTING_H */
