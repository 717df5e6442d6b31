/* fanin engine API: the calls the `fanin` command and embedders use.
 *
 * Status codes are shared with the plugin ABI (<fanin/plugin.h>): FANIN_OK or a negative
 * FANIN_E*. Calls without a handle take `char *err, size_t errlen` and write the specific
 * message there ("FILE:LINE:COL: what; hint").
 */
#ifndef FANIN_FANIN_H
#define FANIN_FANIN_H

#include <fanin/plugin.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FANIN_API FANIN_EXPORT

#define FANIN_VERSION_MAJOR 0
#define FANIN_VERSION_MINOR 1
#define FANIN_VERSION_PATCH 0
#define FANIN_VERSION_STRING "0.1.0"

/* Exit codes of the `fanin` command (documented in docs/errors.md). */
enum {
    FANIN_EXIT_OK = 0,
    FANIN_EXIT_RUNTIME = 1,
    FANIN_EXIT_USAGE = 2, /* usage, config or data error */
    FANIN_EXIT_INTERRUPTED = 130,
};

/* A status code's symbolic name ("FANIN_ECONFIG") and its text. Never NULL. */
FANIN_API const char *fanin_err_name(int code);
FANIN_API const char *fanin_strerror(int code);

/* The exit code the `fanin` command uses for a status code. */
FANIN_API int fanin_exit_code(int code);

/* The library's version string, e.g. "0.1.0". */
FANIN_API const char *fanin_version(void);

/* ==== Embedding: plugins, tensors and experiments from another program ====
 *
 * Every call below returns FANIN_OK or a negative FANIN_E* code and never exits or prints.
 * Calls on a session leave the message of their last failure in fanin_session_error(); a
 * session (and the activations and optimizers made from it) is used by one thread at a time.
 * Parameters are given as "key=value" strings and validated exactly as the experiment file's
 * are (unknown keys get a "did you mean"). docs/embedding.md has a complete example.
 */

/* A set of loaded plugins: the registry a `fanin` command would see. */
typedef struct fanin_session fanin_session;

/* Open a session: the plugins in `paths` (folders or .so files; may be NULL when n_paths is
 * 0) first, then $FANIN_PLUGIN_PATH, then the built-in plugins next to libfanin. On failure
 * *out is NULL and err (may be NULL) holds why: a bad plugin file, a duplicate name. */
FANIN_API int fanin_session_open(fanin_session **out, const char *const *paths, size_t n_paths,
                                 char *err, size_t errlen);
/* Close it (NULL is fine). Plugins stay mapped until the process exits. */
FANIN_API void fanin_session_close(fanin_session *s);
/* The message of the session's last failed call ("" when none). Valid until the next call. */
FANIN_API const char *fanin_session_error(const fanin_session *s);

/* Every plugin (kind 0) or those of one enum fanin_kind, as one JSON document: {"plugins":
 * [{"kind", "name", "version", "file", "doc", "params": [{"name", "type", "default", "required",
 * "auto", "min", "max", "choices", "doc"}]}]} (the format of `fanin plugins --json`). *json is
 * malloc'd: release it with fanin_free. */
FANIN_API int fanin_plugins_json(fanin_session *s, int kind, char **json);
/* Free memory the library returned (fanin_plugins_json). */
FANIN_API void fanin_free(void *p);

/* Random streams for fanin_init_fill. */
enum { FANIN_INIT_RNG_PHILOX = 0, FANIN_INIT_RNG_NUMPY = 1 };

/* Fill data[prod(shape)] (float32, C order) with initializer `name` as `fanin init-stats NAME
 * --shape R,C --seed S --rng R --activation A --param K=V ... --dump` would: the same numbers,
 * bit for bit, for a 2-D shape. shape is PyTorch's (ndim 1..4): [out, in] for a dense weight,
 * [out, in, kh(, kw)] for a convolution's (fans with the receptive field, as torch), [n] for a
 * vector (fans n, n). rng: FANIN_INIT_RNG_PHILOX draws stream (seed, layer 0, weight);
 * FANIN_INIT_RNG_NUMPY is np.random.seed(seed) (seed < 2^32). activation (may be NULL) names the
 * activation whose recommended gain a `gain: auto` parameter uses, at its default
 * parameters; NULL means 1.0. params: n_params "key=value" strings (may be NULL). */
FANIN_API int fanin_init_fill(fanin_session *s, const char *name, float *data, int ndim,
                              const int64_t *shape, uint64_t seed, int rng, const char *activation,
                              const char *const *params, size_t n_params);

/* An activation plugin with its parameters resolved. */
typedef struct fanin_activation fanin_activation;
/* Resolve activation `name` with "key=value" params (checked as the experiment file's). */
FANIN_API int fanin_activation_open(fanin_session *s, const char *name, const char *const *params,
                                    size_t n_params, fanin_activation **out);
FANIN_API void fanin_activation_close(fanin_activation *a);
/* y[i] = f(x[i]) for i < n; x == y only for a plugin flagged FANIN_FLAG_IN_PLACE (every
 * built-in is). On failure fanin_session_error says why. */
FANIN_API int fanin_activation_forward(fanin_activation *a, const float *x, float *y, size_t n);
/* dx[i] = dy[i] * f'(x[i]) for i < n; y must be f(x) (from forward). */
FANIN_API int fanin_activation_backward(fanin_activation *a, const float *x, const float *y,
                                        const float *dy, float *dx, size_t n);
/* The recommended initialisation gain (positive, finite), e.g. sqrt(2) for relu. */
FANIN_API int fanin_activation_gain(fanin_activation *a, double *gain);

/* An optimizer plugin with its state for n parameters. */
typedef struct fanin_optimizer fanin_optimizer;
/* Resolve optimizer `name` with "key=value" params and allocate and initialise its state for
 * a buffer of n floats. */
FANIN_API int fanin_optimizer_open(fanin_session *s, const char *name, const char *const *params,
                                   size_t n_params, size_t n, fanin_optimizer **out);
FANIN_API void fanin_optimizer_close(fanin_optimizer *o);
/* One update of w[0..n) from its gradient g with learning rate lr; steps count from 1. */
FANIN_API int fanin_optimizer_step(fanin_optimizer *o, float *w, const float *g, double lr);

/* fanin_run_file flags */
enum {
    FANIN_RUN_OVERWRITE = 1 << 0, /* replace an earlier run in out_dir (else OUT-2, -3, ...) */
};

/* Run every sweep member of the experiment file `path`, with "key=value" overrides as
 * `fanin run --set` takes them, into out_dir (NULL: runs/NAME), writing the run folder's
 * files (summary.csv, summary.json, groups.csv, report.html, one folder per run). The folder
 * actually written is copied to folder[folder_len] (may be NULL). threads > 0 overrides the
 * experiment's (it sets OpenBLAS's thread count for the process). A diverged member is a
 * result, not an error. Blocks until done; installs no signal handler. */
FANIN_API int fanin_run_file(fanin_session *s, const char *path, const char *const *sets,
                             size_t n_sets, const char *out_dir, int threads, int flags,
                             char *folder, size_t folder_len);

#ifdef __cplusplus
}
#endif
#endif /* FANIN_FANIN_H */
