/* fanin_bench: how fast the training loop runs, through the path users run: a hand-built
 * fanin_experiment whose plugins come from the build tree, synthetic data in a fanin_dataset,
 * and one fanin__train call per measurement. Also times a square cblas_sgemm in the same
 * process for the peak the MLP step is compared with. Not a test: it asserts no timings.
 * tools/bench/run.sh runs it beside peers.py (numpy, PyTorch); README.md says what is measured.
 */
#include "base/errors.h"
#include "base/rng.h"
#include "config/experiment.h"
#include "config/pref.h"
#include "data/data.h"
#include "engine/model.h"
#include "engine/train.h"
#include "plugin/registry.h"

#include <fanin/fanin.h>

#include <stdint.h>
#include <stdbool.h>
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef FANIN_BENCH_PLUGIN_DIR
#define FANIN_BENCH_PLUGIN_DIR ""
#endif

static fanin_registry *reg;
static char err[FANIN_ERRLEN];

/* --clock cpu: the process's CPU time instead of the wall clock, for 1-thread figures on a
 * machine other jobs share (time spent descheduled is not counted; caches still are). */
static clockid_t clock_id = CLOCK_MONOTONIC;

static double now(void) {
    struct timespec ts;
    clock_gettime(clock_id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- a hand-built experiment (as tests/test_model.c) ---- */

/* One layer of a benchmark given by kinds (cnn, resmlp): type, units or channels, conv/pool
 * shape; a residual open or close: its partner's index (link), the block's index among
 * n_blocks; a branch layer: its block, position and activation (NULL: the bench's rule). */
typedef struct layer_row {
    int type, units, kernel, stride, padding;
    int link, block, n_blocks, pos;
    const char *act;
} layer_row;

/* One benchmark: the network, the loss, the data sizes. */
typedef struct bench {
    const char *name;
    int n_layers;
    int units[4];            /* dense layer widths after the input (rows == NULL) */
    const layer_row *rows;   /* else the layers by kind, n_layers of them */
    fanin__shape input;      /* rows != NULL: one example's [C, H, W] */
    const char *hidden; /* activation of every dense or conv layer but the last */
    const char *output;
    int loss;
    int n_in, n_classes;
    int64_t n_train, batch; /* batch 0 = full batch */
} bench;

/* The small CNN on Fashion-MNIST-shaped inputs: conv 32 -> conv 64 -> maxpool ->
 * dense 128 -> 10 (3x3 kernels, padding 1, ReLU). */
#define OUTSIDE -1, -1, 0, -1, NULL /* no link, in no residual block */
static const layer_row cnn_rows[] = {
    {FANIN_LAYER_CONV2D, 32, 3, 1, 1, OUTSIDE},   {FANIN_LAYER_CONV2D, 64, 3, 1, 1, OUTSIDE},
    {FANIN_LAYER_MAXPOOL2D, 0, 2, 2, 0, OUTSIDE}, {FANIN_LAYER_FLATTEN, 0, 0, 0, 0, OUTSIDE},
    {FANIN_LAYER_DENSE, 128, 0, 0, 0, OUTSIDE},   {FANIN_LAYER_DENSE, 10, 0, 0, 0, OUTSIDE},
};

/* The residual MLP: 784 -> 256 (ReLU) -> 16 ReZero blocks x + alpha * W2.relu(W1.x) of width
 * 256 -> 10; block i's open is row 1 + 4i, its close row 4 + 4i. ReZero (alpha from 0) keeps
 * 16 unnormalised blocks finite under He init at any lr, so the timing never meets a NaN. */
#define RES_BLOCKS 16
#define RES_BLOCK(i)                                                                             \
    {FANIN_LAYER_RESIDUAL_OPEN, 0, 0, 0, 0, 4 + 4 * (i), (i), RES_BLOCKS, -1, NULL},              \
        {FANIN_LAYER_DENSE, 256, 0, 0, 0, -1, (i), RES_BLOCKS, 0, NULL},                          \
        {FANIN_LAYER_DENSE, 256, 0, 0, 0, -1, (i), RES_BLOCKS, 1, "linear"},                      \
        {FANIN_LAYER_RESIDUAL_CLOSE, 0, 0, 0, 0, 1 + 4 * (i), (i), RES_BLOCKS, -1, "linear"}
static const layer_row resmlp_rows[] = {
    {FANIN_LAYER_DENSE, 256, 0, 0, 0, OUTSIDE},
    RES_BLOCK(0),  RES_BLOCK(1),  RES_BLOCK(2),  RES_BLOCK(3),  RES_BLOCK(4),  RES_BLOCK(5),
    RES_BLOCK(6),  RES_BLOCK(7),  RES_BLOCK(8),  RES_BLOCK(9),  RES_BLOCK(10), RES_BLOCK(11),
    RES_BLOCK(12), RES_BLOCK(13), RES_BLOCK(14), RES_BLOCK(15),
    {FANIN_LAYER_DENSE, 10, 0, 0, 0, OUTSIDE},
};

static const bench benches[] = {
    {"seed", 4, {20, 7, 5, 1}, NULL, {0}, "relu", "sigmoid", FANIN_LOSS_BCE, 784, 2, 2000, 0},
    {"mlp", 3, {1024, 1024, 10}, NULL, {0}, "relu", "linear", FANIN_LOSS_CE, 784, 10, 2048, 256},
    {"tiny", 3, {16, 16, 1}, NULL, {0}, "tanh", "sigmoid", FANIN_LOSS_BCE, 2, 2, 1024, 32},
    /* the seed's own network on the course's cat set layout: 209 examples of 64x64x3 */
    {"course", 4, {20, 7, 5, 1}, NULL, {0}, "relu", "sigmoid", FANIN_LOSS_BCE, 12288, 2, 209, 0},
    {"cnn", 6, {0}, cnn_rows, {1, 28, 28}, "relu", "linear", FANIN_LOSS_CE, 784, 10, 1024, 128},
    {"resmlp", 2 + 4 * RES_BLOCKS, {0}, resmlp_rows, {784, 1, 1}, "relu", "linear", FANIN_LOSS_CE,
     784, 10, 2048, 128},
};

/* A plugin reference holding the schema's defaults; NULL params when the name is unknown. */
static fanin__pref pref(int kind, const char *name) {
    fanin__pref p = {0};
    p.entry = fanin__registry_find(reg, kind, name);
    if (!p.entry) return p;
    p.params = calloc(p.entry->n_params + 1, sizeof *p.params);
    for (size_t i = 0; i < p.entry->n_params; i++) {
        const fanin_param_spec *s = &p.entry->plugin->params[i];
        switch (s->type) {
        case FANIN_PARAM_F64: p.params[i].f = s->def; break;
        case FANIN_PARAM_I64: p.params[i].i = (int64_t)s->def; break;
        case FANIN_PARAM_BOOL: p.params[i].b = s->def != 0; break;
        case FANIN_PARAM_ENUM: p.params[i].e = (int32_t)s->def; break;
        default: p.params[i].s = s->def_str;
        }
    }
    return p;
}

static void experiment_free(fanin_experiment *x) {
    if (!x) return;
    for (int l = 0; x->layers && l < x->n_layers; l++) {
        free(x->layers[l].activation.params);
        free(x->layers[l].init.params);
        free(x->layers[l].bias_init.params);
    }
    free(x->optimizer.params);
    free(x->layers);
    free(x);
}

/* Layer l's kind and shape; the activation name it takes (pools and flatten: linear). */
static const char *layer_of(const bench *b, int l, fanin__layer_spec *s) {
    if (b->rows) {
        const layer_row *r = &b->rows[l];
        *s = (fanin__layer_spec){.type = r->type, .units = r->units, .channels = r->units,
                                 .kernel = r->kernel, .stride = r->stride,
                                 .padding = r->padding, .bias = true, .link = r->link,
                                 .scale = FANIN_SCALE_REZERO, .block = r->block,
                                 .n_blocks = r->n_blocks, .pos = r->pos,
                                 .branch_len = r->block >= 0 ? 2 : 0};
        if (r->act) return r->act;
    } else {
        *s = (fanin__layer_spec){.type = FANIN_LAYER_DENSE, .units = b->units[l], .block = -1};
    }
    if (s->type != FANIN_LAYER_DENSE && s->type != FANIN_LAYER_CONV2D) return "linear";
    return l < b->n_layers - 1 ? b->hidden : b->output;
}

/* he_normal weights, zero biases, plain SGD; NULL when a plugin is missing. */
static fanin_experiment *experiment(const bench *b) {
    fanin_experiment *x = calloc(1, sizeof *x);
    x->n_layers = b->n_layers;
    x->layers = calloc((size_t)b->n_layers, sizeof *x->layers);
    bool ok = true;
    for (int l = 0; l < b->n_layers; l++) {
        fanin__layer_spec *s = &x->layers[l];
        s->activation = pref(FANIN_KIND_ACTIVATION, layer_of(b, l, s));
        s->init = pref(FANIN_KIND_INITIALIZER, "he_normal");
        s->bias_init = pref(FANIN_KIND_INITIALIZER, "zeros");
        ok = ok && s->activation.entry && s->init.entry && s->bias_init.entry;
    }
    x->optimizer = pref(FANIN_KIND_OPTIMIZER, "sgd");
    snprintf(x->name, sizeof x->name, "bench-%s", b->name);
    x->source_file = "fanin_bench";
    x->seed = 1;
    x->loss = b->loss;
    x->lr = 0.01;
    x->batch = b->batch;
    if (ok && x->optimizer.entry) return x;
    experiment_free(x);
    return NULL;
}

/* Inputs U[0, 1) (pixel-like), labels uniform over the classes; the values do not change the
 * speed. The test set is the first 8 training rows (borrowed), so evaluating it costs nothing. */
static fanin_dataset *dataset(const bench *b) {
    fanin_dataset *d = calloc(1, sizeof *d);
    d->n_train = b->n_train;
    d->n_test = 8;
    d->n_features = b->n_in;
    d->n_classes = b->n_classes;
    d->y_dim = 1;
    d->x_train = malloc(sizeof(float) * (size_t)(b->n_train * b->n_in));
    d->y_train = malloc(sizeof(float) * (size_t)b->n_train);
    fanin_rng r;
    fanin__rng_init(&r, 3, 0, FANIN_STREAM_DATA);
    fanin__rng_fill_uniform(&r, d->x_train, (size_t)(b->n_train * b->n_in), 0, 1);
    for (int64_t i = 0; i < b->n_train; i++)
        d->y_train[i] = (float)(fanin__rng_u32(&r) % (uint32_t)b->n_classes);
    d->x_test = d->x_train;
    d->y_test = d->y_train;
    return d;
}

static void dataset_free(fanin_dataset *d) {
    free(d->x_train);
    free(d->y_train);
    free(d);
}

/* ---- timing one fanin__train call ---- */

typedef struct clock_hook {
    int calls;
    double t_first; /* after iteration 0: its evaluation and step are behind us */
} clock_hook;

static int on_log(void *user, const fanin__progress *p) {
    (void)p;
    clock_hook *c = user;
    if (c->calls++ == 0) c->t_first = now();
    return 0;
}

/* Seconds per step of fanin__train over `iters` iterations: the clock runs from the log call
 * after iteration 0 to the return, minus the final evaluation (the same two fanin__evaluate
 * calls fanin__train ends with, timed again right after). */
static int time_train(fanin_model *m, fanin_experiment *x, const fanin_dataset *d, int64_t iters,
                      double *per_step) {
    clock_hook c = {0};
    fanin__train_hooks hooks = {.user = &c, .on_log = on_log}; /* no per-layer statistics */
    fanin__result res;
    x->iterations = iters;
    x->log_every = iters + 1; /* only iteration 0 logs */
    int rc = fanin__train(m, d, &hooks, &res, err, sizeof err);
    double t_end = now();
    if (rc < 0) return rc;
    if (res.status != FANIN_OK) return res.status;
    double t0 = now(), loss, acc;
    rc = fanin__evaluate(m, d->x_train, d->y_train, d->n_train, &loss, &acc, err, sizeof err);
    if (rc == FANIN_OK)
        rc = fanin__evaluate(m, d->x_test, d->y_test, d->n_test, &loss, &acc, err, sizeof err);
    double t_eval = now() - t0;
    *per_step = (t_end - c.t_first - t_eval) / (double)(iters - 1);
    return rc;
}

enum { SLICES = 3 };

/* Warm up and calibrate with growing runs until one lasts 0.3 s, then time SLICES runs that
 * together last `seconds` and keep the fastest: other processes on the machine only ever slow
 * a run down, so the best slice is the steadiest estimate (timeit's reasoning). */
static int measure(fanin_model *m, fanin_experiment *x, const fanin_dataset *d, double seconds,
                   int64_t *iters, double *per_step) {
    int64_t n = 4;
    for (;;) {
        int rc = time_train(m, x, d, n, per_step);
        if (rc < 0) return rc;
        if (*per_step * (double)n >= 0.3 || n >= (int64_t)1 << 30) break;
        n = *per_step > 0 ? (int64_t)(0.4 / *per_step) + 2 : n * 8;
        if (n < 8) n = 8;
    }
    *iters = (int64_t)(seconds / SLICES / *per_step) + 2;
    double best = INFINITY;
    for (int k = 0; k < SLICES; k++) {
        int rc = time_train(m, x, d, *iters, per_step);
        if (rc < 0) return rc;
        best = fmin(best, *per_step);
    }
    *per_step = best;
    return FANIN_OK;
}

/* ---- the benchmarks ---- */

/* Floating-point operations of one step's matrix products: forward (A.W^T, or W.cols for a
 * conv: n_out * w_cols multiply-adds per row), backward dZ^T.A for every layer with a weight,
 * and the input gradient for every one but the first (fanin skips the input's gradient, as
 * does autograd for an input that does not require it). */
static double step_flops(const fanin_model *m, int64_t rows) {
    double f = 0;
    for (int l = 0; l < m->n_layers; l++) {
        const fanin__layer *L = &m->layers[l];
        if (L->W) f += 2.0 * (double)rows * L->n_out * L->w_cols * (l ? 3 : 2);
    }
    return f;
}

static const char *core(void) { return openblas_get_corename(); }

/* GF/s of C = A.B, square n, best of `reps` after one warm-up call. */
static double sgemm_gflops(int n, int reps) {
    size_t cells = (size_t)n * n;
    float *a = malloc(sizeof(float) * cells * 3), *bm = a + cells, *c = bm + cells;
    fanin_rng r;
    fanin__rng_init(&r, 5, 0, FANIN_STREAM_DATA);
    fanin__rng_fill_uniform(&r, a, cells * 2, -1, 1);
    double best = 1e30;
    for (int i = 0; i <= reps; i++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, bm, n, 0.0f,
                    c, n);
        double t = now() - t0;
        if (i > 0 && t < best) best = t;
    }
    free(a);
    return 2.0 * n * (double)n * n / best * 1e-9;
}

static int run_bench(const bench *b, double seconds, double peak) {
    fanin_experiment *x = experiment(b);
    if (!x) {
        fprintf(stderr, "fanin_bench: a plugin is missing (he_normal, zeros, sgd, linear, %s, "
                "%s)\n", b->hidden, b->output);
        return FANIN_EPLUGIN;
    }
    fanin_dataset *d = dataset(b);
    fanin_model *m = NULL;
    int64_t iters = 0;
    double s = 0;
    int64_t cap = b->batch ? b->batch : b->n_train;
    fanin__shape in = b->rows ? b->input : (fanin__shape){b->n_in, 1, 1};
    int rc = fanin__model_new_shaped(x, in, (int)cap, &m, err, sizeof err);
    if (rc == FANIN_OK) rc = fanin__model_init_params(m, err, sizeof err);
    if (rc == FANIN_OK) rc = measure(m, x, d, seconds, &iters, &s);
    if (rc < 0) {
        fprintf(stderr, "fanin_bench: %s: %s (%s)\n", b->name, err, fanin_err_name(rc));
    } else {
        double gf = step_flops(m, cap) / s * 1e-9;
        printf("RESULT impl=fanin bench=%s threads=%d core=%s iterations=%lld slices=%d "
               "it_per_s=%.2f samples_per_s=%.1f us_per_step=%.2f gflops=%.2f",
               b->name, openblas_get_num_threads(), core(), (long long)iters, SLICES, 1 / s,
               (double)cap / s, s * 1e6, gf);
        if (peak > 0) printf(" sgemm_gflops=%.2f peak_share=%.4f", peak, gf / peak);
        printf("\n");
        fflush(stdout);
    }
    fanin__model_free(m);
    dataset_free(d);
    experiment_free(x);
    return rc;
}

/* ---- the command ---- */

static const char usage[] =
    "usage: fanin_bench [--threads N] [--seconds S] [--clock wall|cpu]\n"
    "                   [--only seed|mlp|tiny|course|cnn|resmlp|sgemm] [--plugins DIR]\n"
    "  Times fanin__train on six networks and a 2048x2048 cblas_sgemm; prints one\n"
    "  'RESULT key=value ...' line per benchmark. See tools/bench/README.md.\n";

int main(int argc, char **argv) {
    int threads = 0;
    double seconds = 1.5;
    const char *only = NULL, *dir = FANIN_BENCH_PLUGIN_DIR;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--threads") && v) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && v) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--only") && v) only = argv[++i];
        else if (!strcmp(argv[i], "--plugins") && v) dir = argv[++i];
        else if (!strcmp(argv[i], "--clock") && v && (!strcmp(v, "wall") || !strcmp(v, "cpu")))
            clock_id = !strcmp(argv[++i], "cpu") ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC;
        else {
            fputs(usage, strcmp(argv[i], "--help") ? stderr : stdout);
            return strcmp(argv[i], "--help") ? 2 : 0;
        }
    }
    if (threads > 0) openblas_set_num_threads(threads);
    if (!(seconds > 0)) seconds = 1.5;
    const char *dirs[] = {dir};
    if (fanin__registry_new(&reg, dirs, *dir ? 1 : 0, err, sizeof err) < 0) {
        fprintf(stderr, "fanin_bench: %s\n", err);
        return 1;
    }
    printf("INFO impl=fanin threads=%d core=%s clock=%s openblas=\"%s\"\n",
           openblas_get_num_threads(), core(), clock_id == CLOCK_MONOTONIC ? "wall" : "cpu",
           openblas_get_config());
    double peak = 0;
    if (!only || !strcmp(only, "sgemm") || !strcmp(only, "mlp") || !strcmp(only, "cnn") ||
        !strcmp(only, "resmlp") || !strcmp(only, "seed") || !strcmp(only, "course")) {
        peak = sgemm_gflops(2048, 5);
        printf("RESULT impl=fanin bench=sgemm threads=%d core=%s n=2048 gflops=%.2f\n",
               openblas_get_num_threads(), core(), peak);
        fflush(stdout);
    }
    int failed = 0;
    for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++)
        if (!only || !strcmp(only, benches[i].name))
            failed |= run_bench(&benches[i], seconds, peak) < 0;
    fanin__registry_free(reg);
    return failed;
}
