/* `fanin init-stats INIT --shape OUT,IN ...`: samples one weight matrix [OUT, IN] with an
 * initializer plugin, prints its mean, std, min and max beside the scheme's own moments (the
 * plugin's `moments`, "n/a" without one) and how far W W^T (W^T W when OUT > IN) is from the
 * identity; `--dump FILE.npy` writes the matrix for numpy. The draw is the first layer's W of
 * a run with the same seed and rng (stream (seed, 0, weight), or np.random.seed(seed)).
 * `fanin init-stats critical --activation A --bias-std S` (no --shape) solves instead for the
 * edge of chaos of A (core/api/critical.c): sigma_w^2, q*, chi_1 and the depth scales.
 */
#include "cli.h"
#include "api/api.h"
#include "api/critical.h"
#include "base/errors.h"
#include "base/rng.h"
#include "config/pref.h"
#include "io/npy.h"
#include "plugin/host.h"
#include "plugin/registry.h"

#include <stdint.h>
#include <stdio.h>
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ELEMENTS (1LL << 28) /* 1 GiB of float32: beyond that a typo is likelier */
#define MAX_GRAM_DIM 4096        /* the identity check's Gram matrix side */

typedef struct stats_args {
    const char *init, *activation, *dump;
    double bias_std; /* --bias-std: the critical mode's sigma_b (NaN = not given) */
    int64_t rows, cols;
    uint64_t seed;
    int rng;
    const char **params;
    size_t n_params;
} stats_args;

static const char usage_text[] =
    "usage: fanin init-stats INIT --shape OUT,IN [--param K=V]... [--seed S] "
    "[--rng philox|numpy] [--activation A] [--dump FILE.npy]\n"
    "       fanin init-stats critical --activation A [--bias-std S] [--param K=V]...";

static int usage(const char *why) {
    fprintf(stderr, "fanin init-stats: %s\n%s\n", why, usage_text);
    return FANIN_EXIT_USAGE;
}

/* "OUT,IN" with both positive and the product within MAX_ELEMENTS. */
static int parse_shape(const char *s, int64_t *rows, int64_t *cols) {
    char *end;
    errno = 0;
    long long r = strtoll(s, &end, 10);
    if (end == s || *end != ',' || errno) return -1;
    const char *c0 = end + 1;
    long long c = strtoll(c0, &end, 10);
    if (end == c0 || *end || errno || r < 1 || c < 1 || r > MAX_ELEMENTS / c) return -1;
    *rows = r;
    *cols = c;
    return 0;
}

static int parse_seed(const char *s, uint64_t *seed) {
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno) return -1;
    *seed = v;
    return 0;
}

static int parse_option(int argc, char **argv, int *i, stats_args *a) {
    const char *o = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!v) return usage("missing value after an option");
    (*i)++;
    if (!strcmp(o, "--shape")) {
        if (parse_shape(v, &a->rows, &a->cols) < 0)
            return usage("--shape needs OUT,IN: two positive integers (e.g. --shape 256,128) "
                         "with at most 2^28 elements");
    } else if (!strcmp(o, "--param")) {
        if (!strchr(v, '=')) return usage("--param needs K=V (e.g. --param std=0.01)");
        a->params[a->n_params++] = v;
    } else if (!strcmp(o, "--seed")) {
        if (parse_seed(v, &a->seed) < 0) return usage("--seed needs a non-negative integer");
    } else if (!strcmp(o, "--rng")) {
        if (!strcmp(v, "philox")) a->rng = FANIN_INIT_RNG_PHILOX;
        else if (!strcmp(v, "numpy")) a->rng = FANIN_INIT_RNG_NUMPY;
        else return usage("--rng is philox or numpy");
    } else if (!strcmp(o, "--bias-std")) {
        char *end;
        a->bias_std = strtod(v, &end);
        if (end == v || *end || !(a->bias_std >= 0.0) || !isfinite(a->bias_std))
            return usage("--bias-std needs a number >= 0 (sigma_b, e.g. 0.2236 for 0.05)");
    } else if (!strcmp(o, "--activation")) a->activation = v;
    else if (!strcmp(o, "--dump")) a->dump = v;
    else {
        char why[256];
        snprintf(why, sizeof why, "unknown option '%s'", o);
        return usage(why);
    }
    return FANIN_EXIT_OK;
}

/* `critical` without --shape: the edge-of-chaos solver rather than the initializer's stats */
static int critical_mode(const stats_args *a) {
    return a->init && !strcmp(a->init, "critical") && !a->rows;
}

static int parse_args(int argc, char **argv, stats_args *a) {
    for (int i = 0; i < argc; i++) {
        int code = FANIN_EXIT_OK;
        if (argv[i][0] == '-' && argv[i][1] == '-') code = parse_option(argc, argv, &i, a);
        else if (a->init) return usage("more than one initializer named");
        else a->init = argv[i];
        if (code != FANIN_EXIT_OK) return code;
    }
    if (!a->init) return usage("name the initializer (see 'fanin plugins --kind initializer')");
    if (critical_mode(a)) {
        if (!a->activation) return usage("critical needs --activation A (e.g. tanh)");
        return FANIN_EXIT_OK;
    }
    if (!isnan(a->bias_std)) return usage("--bias-std goes with 'critical' and no --shape");
    if (!a->rows) return usage("--shape OUT,IN is required");
    if (a->rng == FANIN_INIT_RNG_NUMPY && a->seed > 0xFFFFFFFFu)
        return usage("--rng numpy takes a seed in [0, 4294967295], as np.random.seed does");
    return FANIN_EXIT_OK;
}

/* The recommended gain of --activation A with its default parameters (1.0 without); the
 * sampling itself is core/api/init.c's, shared with fanin_init_fill. */
static int activation_gain(const fanin_registry *reg, const char *name, double *gain) {
    char err[FANIN_ERRLEN];
    int rc = fanin__api_activation_gain(reg, name, gain, err, sizeof err);
    if (rc == FANIN_EINVAL) fprintf(stderr, "fanin init-stats: %s\n", err);
    if (rc == FANIN_EINVAL) return FANIN_EXIT_USAGE;
    return rc < 0 ? cli_fail(rc, err) : FANIN_EXIT_OK;
}

/* max |G - I| with G = W W^T [OUT, OUT], or W^T W [IN, IN] when OUT > IN; NaN when the Gram
 * matrix would be too large. */
static double identity_deviation(const float *W, int64_t rows, int64_t cols) {
    int wide = rows <= cols;
    int64_t d = wide ? rows : cols, k = wide ? cols : rows;
    if (d > MAX_GRAM_DIM) return NAN;
    float *G = malloc((size_t)(d * d) * sizeof *G);
    if (!G) return NAN;
    if (wide) /* G = W W^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)d, (int)d, (int)k, 1.0f, W,
                    (int)cols, W, (int)cols, 0.0f, G, (int)d);
    else /* G = W^T W */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)k, 1.0f, W,
                    (int)cols, W, (int)cols, 0.0f, G, (int)d);
    double worst = 0.0;
    for (int64_t i = 0; i < d; i++)
        for (int64_t j = 0; j < d; j++) {
            double dev = fabs((double)G[i * d + j] - (i == j ? 1.0 : 0.0));
            if (dev > worst || isnan(dev)) worst = dev;
        }
    free(G);
    return worst;
}

static void print_stats(const fanin__pref *init, const stats_args *a, double gain,
                        const fanin_tensor *t) {
    size_t n = (size_t)(t->rows * t->cols);
    double sum = 0.0, ss = 0.0, lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        sum += t->data[i];
        lo = fmin(lo, t->data[i]);
        hi = fmax(hi, t->data[i]);
    }
    double mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) ss += (t->data[i] - mean) * (t->data[i] - mean);
    double std = sqrt(ss / (double)n); /* population std, numpy's default ddof=0 */
    const fanin_initializer_vt *vt = init->entry->plugin->vtable;
    double tmean = NAN, tstd = NAN;
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, init->entry, gain);
    int have = vt->moments && vt->moments(&ctx, t, init->params, &tmean, &tstd) == FANIN_OK;
    printf("%s [%lld, %lld]  seed %llu  rng %s\n", init->text ? init->text : a->init,
           (long long)t->rows, (long long)t->cols, (unsigned long long)a->seed,
           a->rng == FANIN_INIT_RNG_NUMPY ? "numpy" : "philox");
    /* the gain the scheme used (its std x sqrt(fan_in)), and whether it asked for the
     * activation's: he_normal no longer does by default (issue 11) */
    printf("activation gain %g (%s), %s", gain, a->activation ? a->activation : "linear",
           ctx.gain_asked ? "used by the scheme" : "not asked by the scheme");
    if (have) printf("; gain used: std x sqrt(fan_in) = %.6g", tstd * sqrt((double)t->fan_in));
    printf("\n");
    printf("%-6s %14s %14s\n", "", "sampled", "theory");
    if (have) {
        printf("%-6s %14.6g %14.6g\n", "mean", mean, tmean);
        printf("%-6s %14.6g %14.6g\n", "std", std, tstd);
    } else {
        printf("%-6s %14.6g %14s\n", "mean", mean, "n/a");
        printf("%-6s %14.6g %14s\n", "std", std, "n/a");
    }
    printf("%-6s %14.6g\n%-6s %14.6g\n", "min", lo, "max", hi);
    double dev = identity_deviation(t->data, t->rows, t->cols);
    if (!isnan(dev))
        printf("max |%s - I| = %.3g%s\n", t->rows <= t->cols ? "W W^T" : "W^T W", dev,
               dev < 1e-4 ? " (orthogonal)" : "");
}

/* The solver's answer, one line a quantity. */
static void print_critical(const fanin__critical *c) {
    printf("%-9s %12.6g   weight std = sqrt(sigma_w^2 / fan_in)\n", "sigma_w^2", c->sigma_w2);
    if (c->status == FANIN_CRITICAL_NONE)
        printf("%-9s %12s   no finite fixed point: with this sigma_b^2 the variance grows "
               "without bound at chi_1 = 1 (sigma_w^2 above is at q = 1)\n",
               "q*", "none");
    else if (c->status == FANIN_CRITICAL_ANY_Q)
        printf("%-9s %12s   every q is a fixed point (scale invariant, sigma_b^2 = 0)\n", "q*",
               "any");
    else
        printf("%-9s %12.6g   fixed point of q = sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2\n", "q*",
               c->q_star);
    printf("%-9s %12.6g   sigma_w^2 E[phi'(sqrt(q*) z)^2]\n", "chi_1", c->chi1);
    printf("%-9s %12.6g   depth scale of q's approach to q*%s\n", "xi_q", c->xi_q,
           c->xi_q < 0 ? " (negative: q* repels, q drifts away from it)" : "");
    printf("%-9s %12.6g   depth scale of correlations (infinite at chi_1 = 1)\n", "xi_c", c->xi_c);
}

/* `critical`: sigma_w^2 and q* where chi_1 = 1 for --activation (its --param values) and
 * sigma_b^2 = bias_std^2 (0 without --bias-std). */
static int run_critical(const fanin_registry *reg, const stats_args *a) {
    char err[FANIN_ERRLEN];
    fanin__pref act;
    fanin__critical c;
    int rc = fanin__api_pref(reg, FANIN_KIND_ACTIVATION, a->activation, a->params, a->n_params,
                             &act, err, sizeof err);
    if (rc == FANIN_EINVAL) return fprintf(stderr, "fanin init-stats: %s\n", err), FANIN_EXIT_USAGE;
    if (rc < 0) return cli_fail(rc, err);
    double sb = isnan(a->bias_std) ? 0.0 : a->bias_std;
    rc = fanin__critical_solve(&act, sb * sb, &c, err, sizeof err);
    if (rc == FANIN_OK)
        printf("critical point of %s, sigma_b^2 = %.6g (bias std %g): mean field, %d-node "
               "Gauss-Hermite over the plugin's forward/backward\n",
               act.text ? act.text : a->activation, c.sigma_b2, sb, FANIN_CRITICAL_NODES);
    fanin__pref_deinit(&act);
    if (rc < 0) return cli_fail(rc, err);
    print_critical(&c);
    return FANIN_EXIT_OK;
}

static int run_stats(const fanin_registry *reg, const stats_args *a) {
    char err[FANIN_ERRLEN];
    const fanin__entry *e = fanin__api_find(reg, FANIN_KIND_INITIALIZER, a->init, err, sizeof err);
    if (!e) return fprintf(stderr, "fanin init-stats: %s\n", err), FANIN_EXIT_USAGE;
    double gain;
    int code = activation_gain(reg, a->activation, &gain);
    if (code != FANIN_EXIT_OK) return code;
    fanin__pref init;
    int rc = fanin__pref_from_args(&init, e, a->params, a->n_params, err, sizeof err);
    if (rc < 0) return cli_fail(rc, err);
    float *W = malloc((size_t)(a->rows * a->cols) * sizeof *W);
    fanin_tensor t;
    fanin__tensor_init(&t, W, FANIN_ROLE_DENSE_WEIGHT, 2, (int64_t[]){a->rows, a->cols}, NULL);
    if (!W) code = cli_fail(FANIN_ENOMEM, "out of memory for the matrix");
    if (code == FANIN_EXIT_OK) {
        rc = fanin__api_sample(&init, gain, a->seed, a->rng, &t, err, sizeof err);
        if (rc < 0) code = cli_fail(rc, err);
    }
    if (code == FANIN_EXIT_OK) print_stats(&init, a, gain, &t);
    if (code == FANIN_EXIT_OK && a->dump) {
        rc = fanin__npy_write(a->dump, W, a->rows, a->cols, err, sizeof err);
        if (rc < 0) code = cli_fail(rc, err);
        else
            printf("wrote %s (float32, C order, shape (%lld, %lld))\n", a->dump, (long long)a->rows,
                   (long long)a->cols);
    }
    free(W);
    fanin__pref_deinit(&init);
    return code;
}

/* cmd_init_stats with `params` holding up to argc + 1 entries */
static int cmd_init_stats_with(int argc, char **argv, const char **params) {
    stats_args a = {.params = params, .rng = FANIN_INIT_RNG_PHILOX, .bias_std = NAN};
    int code = parse_args(argc, argv, &a);
    if (code != FANIN_EXIT_OK) return code;
    fanin_registry *reg = cli_registry(&code);
    if (!reg) return code;
    code = critical_mode(&a) ? run_critical(reg, &a) : run_stats(reg, &a);
    fanin__registry_free(reg);
    return code;
}

int cmd_init_stats(int argc, char **argv) {
    const char **params = calloc((size_t)argc + 1, sizeof *params);
    if (!params) {
        fprintf(stderr, "fanin: out of memory\n");
        return FANIN_EXIT_RUNTIME;
    }
    int code = cmd_init_stats_with(argc, argv, params);
    free(params);
    return code;
}
