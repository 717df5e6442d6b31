/* `fanin init-stats INIT --shape OUT,IN ...`: samples one weight matrix [OUT, IN] with an
 * initializer plugin, prints its mean, std, min and max beside the scheme's own moments (the
 * plugin's `moments`, "n/a" without one) and how far W W^T (W^T W when OUT > IN) is from the
 * identity; `--dump FILE.npy` writes the matrix for numpy. The draw is the first layer's W of
 * a run with the same seed and rng (stream (seed, 0, weight), or np.random.seed(seed)).
 */
#include "cli.h"
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
    int64_t rows, cols;
    uint64_t seed;
    int rng;
    const char **params;
    size_t n_params;
} stats_args;

static const char usage_text[] =
    "usage: fanin init-stats INIT --shape OUT,IN [--param K=V]... [--seed S] "
    "[--rng philox|numpy] [--activation A] [--dump FILE.npy]";

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
        if (!strcmp(v, "philox")) a->rng = FANIN_RNG_PHILOX;
        else if (!strcmp(v, "numpy")) a->rng = FANIN_RNG_NUMPY;
        else return usage("--rng is philox or numpy");
    } else if (!strcmp(o, "--activation")) a->activation = v;
    else if (!strcmp(o, "--dump")) a->dump = v;
    else {
        char why[256];
        snprintf(why, sizeof why, "unknown option '%s'", o);
        return usage(why);
    }
    return FANIN_EXIT_OK;
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
    if (!a->rows) return usage("--shape OUT,IN is required");
    if (a->rng == FANIN_RNG_NUMPY && a->seed > 0xFFFFFFFFu)
        return usage("--rng numpy takes a seed in [0, 4294967295], as np.random.seed does");
    return FANIN_EXIT_OK;
}

/* The registered plugin of that kind, or an exit-2 message with the nearest name. */
static const fanin__entry *find_plugin(const fanin_registry *reg, int kind, const char *name) {
    const fanin__entry *e = fanin__registry_find(reg, kind, name);
    if (e) return e;
    const char *near = fanin__registry_suggest(reg, kind, name);
    fprintf(stderr, "fanin init-stats: unknown %s '%s'%s%s%s; see 'fanin plugins --kind %s'\n",
            fanin__kind_name(kind), name, near ? "; did you mean '" : "", near ? near : "",
            near ? "'?" : "", fanin__kind_name(kind));
    return NULL;
}

/* The recommended gain of --activation A with its default parameters (1.0 without). */
static int activation_gain(const fanin_registry *reg, const char *name, double *gain) {
    *gain = 1.0;
    if (!name) return FANIN_EXIT_OK;
    const fanin__entry *e = find_plugin(reg, FANIN_KIND_ACTIVATION, name);
    if (!e) return FANIN_EXIT_USAGE;
    fanin__pref p;
    char err[FANIN_ERRLEN];
    int rc = fanin__pref_from_args(&p, e, NULL, 0, err, sizeof err);
    if (rc < 0) return cli_fail(rc, err);
    const fanin_activation_vt *vt = e->plugin->vtable;
    rc = vt->gain(p.params, gain);
    fanin__pref_deinit(&p);
    if (rc < 0 || !isfinite(*gain) || *gain <= 0)
        return cli_fail(FANIN_EPLUGIN, "the activation's gain() gave no positive finite gain");
    return FANIN_EXIT_OK;
}

/* Draw W with the initializer, from the stream a run's first layer would use. */
static int sample(const fanin__pref *init, const stats_args *a, double gain,
                  const fanin_tensor *t) {
    fanin_rng rng;
    fanin__mt19937 mt;
    if (a->rng == FANIN_RNG_NUMPY) {
        fanin__mt19937_seed(&mt, (uint32_t)a->seed);
        fanin__rng_init_numpy(&rng, &mt);
    } else {
        fanin__rng_init(&rng, a->seed, 0, FANIN_STREAM_WEIGHT);
    }
    fanin_ctx ctx;
    char err[FANIN_ERRLEN];
    fanin__ctx_init(&ctx, init->entry, gain);
    const fanin_initializer_vt *vt = init->entry->plugin->vtable;
    int rc = vt->fill(&ctx, t, init->params, &rng);
    if (rc < 0) return cli_fail(fanin__ctx_fail(&ctx, rc, "fill", err, sizeof err), err);
    return FANIN_EXIT_OK;
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
    else      /* G = W^T W */
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
    printf("%s [%lld, %lld]  seed %llu  rng %s  gain %g (%s)\n", init->text ? init->text : a->init,
           (long long)t->rows, (long long)t->cols, (unsigned long long)a->seed,
           a->rng == FANIN_RNG_NUMPY ? "numpy" : "philox", gain,
           a->activation ? a->activation : "linear");
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

static int run_stats(const fanin_registry *reg, const stats_args *a) {
    const fanin__entry *e = find_plugin(reg, FANIN_KIND_INITIALIZER, a->init);
    if (!e) return FANIN_EXIT_USAGE;
    double gain;
    int code = activation_gain(reg, a->activation, &gain);
    if (code != FANIN_EXIT_OK) return code;
    fanin__pref init;
    char err[FANIN_ERRLEN];
    int rc = fanin__pref_from_args(&init, e, a->params, a->n_params, err, sizeof err);
    if (rc < 0) return cli_fail(rc, err);
    float *W = malloc((size_t)(a->rows * a->cols) * sizeof *W);
    fanin_tensor t;
    fanin__tensor_init(&t, W, FANIN_ROLE_DENSE_WEIGHT, 2, (int64_t[]){a->rows, a->cols}, NULL);
    if (!W) code = cli_fail(FANIN_ENOMEM, "out of memory for the matrix");
    if (code == FANIN_EXIT_OK) code = sample(&init, a, gain, &t);
    if (code == FANIN_EXIT_OK) print_stats(&init, a, gain, &t);
    if (code == FANIN_EXIT_OK && a->dump) {
        rc = fanin__npy_write(a->dump, W, a->rows, a->cols, err, sizeof err);
        if (rc < 0) code = cli_fail(rc, err);
        else printf("wrote %s (float32, C order, shape (%lld, %lld))\n", a->dump,
                    (long long)a->rows, (long long)a->cols);
    }
    free(W);
    fanin__pref_deinit(&init);
    return code;
}

/* cmd_init_stats with `params` holding up to argc + 1 entries */
static int cmd_init_stats_with(int argc, char **argv, const char **params) {
    stats_args a = {.params = params, .rng = FANIN_RNG_PHILOX};
    int code = parse_args(argc, argv, &a);
    if (code != FANIN_EXIT_OK) return code;
    fanin_registry *reg = cli_registry(&code);
    if (!reg) return code;
    code = run_stats(reg, &a);
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
