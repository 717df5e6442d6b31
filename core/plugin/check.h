/* The plugin conformance checks (check.c, check_elf.c, check_run.c): shared by `fanin check`,
 * which runs each one in a forked child, and <fanin/testing.h>, which runs them in a cmocka
 * test. Private to libfanin and the `fanin` command; what is checked is listed in
 * docs/writing-plugins.md.
 */
#ifndef FANIN_CHECK_H
#define FANIN_CHECK_H

#include "plugin/host.h"
#include "plugin/registry.h"

#include <stdint.h>

/* ---- outcome of one check ---- */
enum fanin__check_status {
    FANIN_CHECK_PASS = 0,
    FANIN_CHECK_FAIL = 1,
    FANIN_CHECK_SKIP = 2, /* not applicable (the message says why) */
};

#define FANIN_CHECK_MSGLEN 1024

/* ---- check.c: behaviour of one loaded plugin ---- */

/* The host-allocation hooks a check uses: the real host's (`fanin check`) or the fake host's
 * (<fanin/testing.h>). */
typedef struct fanin__check_env {
    void (*fail_alloc_after)(long n); /* make the n-th allocation from now fail; 0 = never */
    long (*live_allocs)(void);        /* host allocations not yet freed */
    double gain;                      /* what the activation_gain service reports */
} fanin__check_env;

/* One plugin under test: its registry entry and the parameter values to call it with. */
typedef struct fanin__check_subject {
    const fanin__entry *entry;
    const fanin_value *params; /* entry->n_params values (the defaults unless a test set them) */
    const fanin__check_env *env;
} fanin__check_subject;

/* A behaviour check: FANIN_CHECK_* and, on failure or skip, why (in msg). */
typedef int (*fanin__check_fn)(const fanin__check_subject *s, char *msg, size_t len);

typedef struct fanin__check_def {
    const char *name; /* "writes stay inside the buffer" */
    int kind;         /* 0 = every kind, else enum fanin_kind */
    fanin__check_fn fn;
    int once; /* does not depend on the parameter values: run with set 0 only */
} fanin__check_def;

/* Every behaviour check, in order; *n is set to the count. */
const fanin__check_def *fanin__check_list(size_t *n);
/* One call sequence of the plugin's kind with s's values: SKIP when the plugin refuses them
 * (FANIN_EINVAL with a message, e.g. "a = 10 must be less than b = 1" for a swept or --param
 * set), else PASS (the checks judge the rest). */
int fanin__check_probe(const fanin__check_subject *s, char *msg, size_t len);

/* The schema's defaults as values (STRING defaults borrowed from the schema). p holds
 * e->n_params values. */

/* Schema sanity of one descriptor (names, docs, min <= default <= max, enum choices). */
int fanin__check_schema(const fanin_plugin *p, char *msg, size_t len);

/* Sample statistics of one fill of `shape` (a tensor as fanin__tensor_init makes it; its data
 * is ignored: the check fills a buffer of its own) from stream (seed, 1, weight). nonfinite
 * counts NaN and Inf values (excluded from the rest). */
typedef struct fanin__sample_stats {
    double mean, std, min, max;
    size_t n, nonfinite;
} fanin__sample_stats;
int fanin__check_init_sample(const fanin__check_subject *s, const fanin_tensor *shape,
                             uint64_t seed, fanin__sample_stats *st, char *msg, size_t len);
/* Sample mean and std of a fill of `shape` within nsigma standard errors of want_mean/want_std
 * (NaN: the plugin's own moments(); SKIP when it declares none). */
int fanin__check_init_moments(const fanin__check_subject *s, const fanin_tensor *shape,
                              double want_mean, double want_std, double nsigma, char *msg,
                              size_t len);
/* A rows x cols dense weight's fill: every value in [lo, hi] and both ends approached within
 * 1% of the width. */
int fanin__check_init_bounds(const fanin__check_subject *s, int64_t rows, int64_t cols, double lo,
                             double hi, char *msg, size_t len);
/* W W^T (rows <= cols) or W^T W (rows > cols) within tol of gain^2 I. */
int fanin__check_orthogonal(const fanin__check_subject *s, int64_t rows, int64_t cols, double gain,
                            double tol, char *msg, size_t len);
/* backward against central differences of forward at n points in [lo, hi] (kinks skipped). */
int fanin__check_gradient(const fanin__check_subject *s, double lo, double hi, size_t n,
                          double rtol, double atol, char *msg, size_t len);
/* `steps` steps on 0.5 sum c_i (w_i - t_i)^2 over n parameters at rate lr: the loss must end
 * at most `factor` times where it started. *loss0 and *loss1 may be NULL. */
int fanin__check_quadratic(const fanin__check_subject *s, size_t n, double lr, int steps,
                           double factor, double *loss0, double *loss1, char *msg, size_t len);

/* ---- check_elf.c: the shared object's file, read without loading it ---- */

/* Defined dynamic symbols other than fanin_plugin_entry, comma-separated, into msg. */
int fanin__check_elf_exports(const char *path, char *msg, size_t len);
/* DT_NEEDED entries naming a BLAS, LAPACK or OpenMP runtime. */
int fanin__check_elf_needed(const char *path, char *msg, size_t len);

/* ---- check_run.c: every check of a file, each in a forked child ---- */

typedef struct fanin__check_item {
    const char *file;   /* the .so as given */
    const char *plugin; /* "initializer 'he_normal'", "activation 'elu' [alpha=10]" (a set other
                         * than the defaults), or NULL for a file-level check */
    const char *name;   /* the check's name */
    int status;         /* enum fanin__check_status */
    const char *msg;    /* why it failed or was skipped ("" when passed) */
    const char *params; /* the values used: "with defaults: alpha=1", "with alpha=10 (sweep:
                         * ...)", "with no parameters"; NULL for a file-level check */
} fanin__check_item;

typedef struct fanin__check_opts {
    double timeout; /* seconds per check; <= 0: 10 */
    void *user;
    void (*report)(void *user, const fanin__check_item *it); /* called once per check */
    const char *const *params; /* "K=V" (--param): applied to every plugin with a parameter K */
    size_t n_params;
    int sweep; /* --sweep-params: also each numeric parameter at its range ends and a
                         * value between, one at a time (check_params.c) */
} fanin__check_opts;

/* Run every check on one file. Returns the number of failed checks (>= 0). */
int fanin__check_file(const char *path, const fanin__check_opts *o);
/* o->params against the schemas of the files' plugins, before any check runs (each file loaded
 * in a child; files that do not load are left to fanin__check_file): FANIN_OK, or FANIN_EINVAL
 * with err naming the --param: a value its plugin does not accept, or a key no plugin has. */
int fanin__check_params_valid(const char *const *files, size_t n, const fanin__check_opts *o,
                              char *err, size_t len);

/* ---- check_params.c: the parameter values a plugin is checked with ---- */

/* text as a value of schema row s, within its range: FANIN_OK, or FANIN_EINVAL with why
 * ("must be a number in [0, 4], got '9'"). STRING values borrow text. */
int fanin__check_param_parse(const fanin_param_spec *s, const char *text, fanin_value *v, char *why,
                             size_t len);
/* v as text: "0.5", "auto", "3", "true", an ENUM's choice, a STRING. */
void fanin__check_param_format(const fanin_param_spec *s, fanin_value v, char *buf, size_t len);
/* p (e->n_params values) = the defaults with o->params applied; used[k] (may be NULL) marks
 * the overrides e has, set[i] (may be NULL) the rows they set. FANIN_OK, or FANIN_EINVAL with
 * err naming the override, the plugin and what it accepts. */
int fanin__check_overrides(const fanin__entry *e, const fanin__check_opts *o, fanin_value *p,
                           unsigned char *used, unsigned char *set, char *err, size_t len);
/* How many parameter sets e is checked with: 1, plus with o->sweep up to 3 per numeric
 * parameter (its low end, its high end, a value between; unbounded sides: 10 x the default or
 * the default +- 10; values equal to set 0's are left out). */
size_t fanin__check_set_count(const fanin__entry *e, const fanin__check_opts *o);
/* Set k's values into p, its tag ("" for the plain defaults, else the values that differ from
 * them: "beta=2") and its description ("with defaults: alpha=1, beta=0.5"). FANIN_OK, or
 * FANIN_EINVAL (why in desc). */
int fanin__check_set(const fanin__entry *e, const fanin__check_opts *o, size_t k, fanin_value *p,
                     char *tag, size_t tag_len, char *desc, size_t desc_len);

#endif /* FANIN_CHECK_H */
