/* Row threads (engine/row_threads.h): the slices of a batch; the rule, table-driven; one split
 * step's gradients, loss and correct count equal the whole batch's to float tolerance (dropout
 * masks included: they follow the batch's rows); trainings at 2 threads match the 1-thread
 * plain run's losses to a tolerance and each other bit for bit; a run interrupted and resumed
 * from its checkpoint ends bit-identical to an uninterrupted one; batchnorm falls back to the
 * plain step and says so. */
#include "base/errors.h"
#include "config/experiment.h"
#include "data/data.h"
#include "engine/loss.h"
#include "engine/model.h"
#include "engine/row_threads.h"
#include "engine/train.h"
#include "plugin/registry.h"

#include <cblas.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static fanin_registry *reg;
static char err[FANIN_ERRLEN];

static int setup(void **state) {
    unsetenv("FANIN_ROW_THREADS"); /* the experiments' row_threads alone decide */
    const char *dirs[] = {FANIN_TEST_PLUGIN_DIR};
    if (fanin__registry_new(&reg, dirs, 1, err, sizeof err) == FANIN_OK) return 0;
    fprintf(stderr, "registry: %s\n", err);
    return -1;
}

static int teardown(void **state) {
    fanin__registry_free(reg);
    return 0;
}

static fanin_experiment *resolve(const char *text) {
    fanin_config *c;
    fanin_experiment *x;
    if (fanin__config_parse(&c, "/exp/t.yaml", text, strlen(text), err, sizeof err) != FANIN_OK)
        fail_msg("parse: %s", err);
    int rc = fanin__config_resolve(c, 0, reg, &x, err, sizeof err);
    fanin__config_free(c);
    if (rc != FANIN_OK) fail_msg("resolve: %s", err);
    return x;
}

/* ---- slices and the rule ---- */

static void test_slices_cover_the_batch_in_order(void **state) {
    static const int ns[] = {1, 2, 7, 10, 209, 2000};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (int parts = 1; parts <= 5; parts++) {
            int next = 0;
            for (int k = 0; k < parts; k++) {
                int lo, rows;
                fanin__slice_rows(ns[i], k, parts, &lo, &rows);
                assert_int_equal(lo, next);
                assert_true(rows >= ns[i] / parts && rows <= ns[i] / parts + 1);
                next = lo + rows;
            }
            assert_int_equal(next, ns[i]);
        }
    int lo, rows;
    fanin__slice_rows(10, 2, 3, &lo, &rows); /* 10 rows in 3: 3, 3, 4 */
    assert_int_equal(lo, 6);
    assert_int_equal(rows, 4);
}

static void test_mode_config_wins_then_environment(void **state) {
    static const struct {
        int config;
        const char *env;
        int want;
    } rows[] = {
        {FANIN_ROW_THREADS_AUTO, NULL, FANIN_ROW_THREADS_AUTO},
        {FANIN_ROW_THREADS_AUTO, "on", FANIN_ROW_THREADS_ON},
        {FANIN_ROW_THREADS_AUTO, "off", FANIN_ROW_THREADS_OFF},
        {FANIN_ROW_THREADS_AUTO, "auto", FANIN_ROW_THREADS_AUTO},
        {FANIN_ROW_THREADS_AUTO, "yes", FANIN_ROW_THREADS_AUTO},
        {FANIN_ROW_THREADS_ON, "off", FANIN_ROW_THREADS_ON},
        {FANIN_ROW_THREADS_OFF, "on", FANIN_ROW_THREADS_OFF},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_int_equal(fanin__row_threads_mode(rows[i].config, rows[i].env), rows[i].want);
}

/* The rule on the benchmarks' shapes (tools/bench/README.md, "Row threads") and its refusals. */
static void test_rule_table(void **state) {
    enum { A = FANIN_ROW_THREADS_AUTO, ON = FANIN_ROW_THREADS_ON, OFF = FANIN_ROW_THREADS_OFF };
    /* FLOPs per row (bench_train.c's step_flops over the rows): seed 784-20-7-5-1, course
     * 12288-20-7-5-1, mlp 784-1024-1024-10, tiny 2-16-16-1, resmlp, cnn, and two small MLPs
     * measured for the threshold: 32-32-32-1 and 64-64-64-10 */
    const double seed = 2.0 * (784 * 20 * 2 + 3 * (20 * 7 + 7 * 5 + 5));
    const double course = 2.0 * (12288 * 20 * 2 + 3 * (20 * 7 + 7 * 5 + 5));
    const double mlp = 2.0 * (784 * 1024 * 2 + 3 * (1024 * 1024 + 1024 * 10));
    const double tiny = 2.0 * (2 * 16 * 2 + 3 * (16 * 16 + 16));
    const double resmlp = 2.0 * (784 * 256 * 2 + 3 * (32 * 256 * 256 + 256 * 10));
    const double cnn = 2.0 * (32 * 784 * 9 * 2 + 3 * (64 * 784 * 288 + 128 * 12544 + 10 * 128));
    const double small = 2.0 * (32 * 32 * 2 + 3 * (32 * 32 + 32 * 1));
    const double mid = 2.0 * (64 * 64 * 2 + 3 * (64 * 64 + 64 * 10));
    const struct {
        const char *name;
        fanin__row_shape s;
        int mode, want;
    } rows[] = {
        {"seed, 2000 rows", {2, 2000, seed, 20, false, false}, A, 2},
        {"course, 209 rows", {2, 209, course, 20, false, false}, A, 2},
        {"mlp, 256 rows", {2, 256, mlp, 1024, false, false}, A, 2},
        {"tiny, 32 rows: 58 kFLOP", {2, 32, tiny, 16, false, false}, A, 1},
        {"resmlp, 128 rows", {2, 128, resmlp, 256, false, false}, A, 2},
        {"cnn, 128 rows", {2, 128, cnn, 25088, false, false}, A, 2},
        {"32-32-32-1, 64 rows: 0.67 MFLOP (0.71x split)", {2, 64, small, 32, false, false}, A, 1},
        {"64-64-64-10, 64 rows: 2.9 MFLOP (1.02x)", {2, 64, mid, 64, false, false}, A, 1},
        {"64-64-64-10, 256 rows: 11.5 MFLOP (2.6x)", {2, 256, mid, 64, false, false}, A, 2},
        {"4 threads, 40 rows: 10 per slice", {4, 40, mlp, 1024, false, false}, A, 4},
        {"4 threads, 28 rows: 7 per slice", {4, 28, mlp, 1024, false, false}, A, 1},
        {"one thread", {1, 2000, seed, 20, false, false}, A, 1},
        {"batchnorm", {2, 2000, seed, 20, true, false}, A, 1},
        {"data-parallel", {2, 2000, seed, 20, false, true}, A, 1},
        {"fewer rows than threads", {4, 3, seed, 20, false, false}, ON, 1},
        {"off", {2, 2000, seed, 20, false, false}, OFF, 1},
        {"on: tiny too", {2, 32, tiny, 16, false, false}, ON, 2},
        {"on: not batchnorm", {2, 2000, seed, 20, true, false}, ON, 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *why = NULL;
        int got = fanin__row_threads_rule(&rows[i].s, rows[i].mode, &why);
        if (got != rows[i].want)
            fail_msg("%s: %d slices, want %d (%s)", rows[i].name, got, rows[i].want, why);
        assert_non_null(why);
    }
}

/* ---- one split step against the whole batch ---- */

/* relu 24-16, dropout 0.5 between, softmax over 3 classes: masks that did not follow the
 * batch's rows would change the gradients by far more than rounding. */
static const char step_yaml[] =
    "seed: 5\n"
    "data: {source: synthetic, kind: spiral, n: 300, classes: 3}\n"
    "model: {layers: [{units: 24, activation: relu}, {type: dropout, p: 0.5},\n"
    "                 {units: 16, activation: tanh}, {units: 3, activation: linear}]}\n"
    "loss: cross_entropy\n"
    "train: {iterations: 1, batch: 101}\n";

/* The largest |a - b| over n floats, against the largest |b|, into *diff and *scale. */
static void max_diff(const float *a, const float *b, size_t n, double *diff, double *scale) {
    *diff = *scale = 0;
    for (size_t j = 0; j < n; j++) {
        *scale = fmax(*scale, fabs(b[j]));
        *diff = fmax(*diff, fabs((double)a[j] - b[j]));
    }
}

/* Batches of 101 rows, and of 2 and 1 (a minibatch's last rows: slice 0 may be empty), in 2
 * and 3 slices, against the whole batch at once. */
static void test_split_step_equals_whole_batch(void **state) {
    fanin_experiment *x = resolve(step_yaml);
    fanin_dataset *d;
    fanin_model *m;
    assert_int_equal(fanin__data_load(&x->data, x->seed, &d, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_new(x, d->n_features, 101, &m, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    openblas_set_num_threads(1);
    float *want = malloc(sizeof(float) * m->n_params);
    static const int ns[] = {101, 2, 1};
    for (int i = 0; i < 3; i++)
        for (int slices = 2; slices <= 3; slices++) {
            int n = ns[i];
            double whole, l, diff, scale;
            int64_t ok, c;
            assert_int_equal(fanin__slice_pass(m, d->x_train, d->y_train, 1, 0, n, 9, &whole, &ok,
                                               err, sizeof err),
                             FANIN_OK);
            memcpy(want, m->grads, sizeof(float) * m->n_params);
            fanin__row_pool *p;
            assert_int_equal(fanin__row_pool_new(m, slices, 101, &p, err, sizeof err), FANIN_OK);
            bool finite = false;
            assert_int_equal(fanin__row_pool_step(p, d->x_train, d->y_train, 1, n, 9, &l, &c,
                                                  &finite, err, sizeof err),
                             FANIN_OK);
            fanin__row_pool_free(p);
            assert_true(finite);
            assert_int_equal(c, ok);
            assert_true(fabs(l - whole) <= 1e-6 * fabs(whole));
            max_diff(m->grads, want, m->n_params, &diff, &scale);
            if (!(scale > 0 && diff <= 1e-5 * scale))
                fail_msg("%d rows in %d slices: max |dg| %g of %g", n, slices, diff, scale);
        }
    free(want);
    fanin__model_free(m);
    fanin__data_free(d);
    fanin__experiment_free(x);
}

/* Evaluation chunks split over 2 and 3 slices: fanin__evaluate's loss and correct count (no
 * dropout in the evaluation pass, so the slices see what the whole chunk sees). */
static void test_split_evaluation_equals_plain(void **state) {
    fanin_experiment *x = resolve(step_yaml);
    fanin_dataset *d;
    fanin_model *m;
    assert_int_equal(fanin__data_load(&x->data, x->seed, &d, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_new(x, d->n_features, 101, &m, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    openblas_set_num_threads(1);
    double want, acc;
    int n = (int)d->n_train; /* in chunks of up to 101 rows */
    assert_int_equal(fanin__evaluate(m, d->x_train, d->y_train, n, &want, &acc, err, sizeof err),
                     FANIN_OK);
    for (int slices = 2; slices <= 3; slices++) {
        fanin__row_pool *p;
        assert_int_equal(fanin__row_pool_new(m, slices, 101, &p, err, sizeof err), FANIN_OK);
        double sum = 0;
        int64_t ok = 0;
        for (int r = 0; r < n; r += 101) {
            int rows = n - r < 101 ? n - r : 101;
            double l;
            int64_t c;
            assert_int_equal(fanin__row_pool_eval(p, d->x_train + (size_t)r * m->n_in,
                                                  d->y_train + r, 1, rows, &l, &c, err, sizeof err),
                             FANIN_OK);
            sum += l;
            ok += c;
        }
        fanin__row_pool_free(p);
        assert_true(fabs(sum / n - want) <= 1e-6 * fabs(want));
        assert_int_equal(ok, (int64_t)llround(acc * n));
    }
    fanin__model_free(m);
    fanin__data_free(d);
    fanin__experiment_free(x);
}

/* ---- trainings ---- */

enum { MAX_LOGS = 64 };

typedef struct trace {
    double loss[MAX_LOGS];
    int n;
    int stop_at; /* stop (as an interrupt) at this logged iteration; 0 = never */
    int warnings;
} trace;

static int on_log(void *user, const fanin__progress *p) {
    trace *t = user;
    if (t->n < MAX_LOGS) t->loss[t->n++] = p->loss;
    return t->stop_at > 0 && p->iteration == t->stop_at;
}

static void on_warning(void *user, const char *msg) {
    ((trace *)user)->warnings++;
    assert_non_null(strstr(msg, "row_threads"));
}

static const char train_yaml[] =
    "seed: 3\n"
    "data: {source: synthetic, kind: spiral, n: 600, noise: 0.2, classes: 3}\n"
    "model: {layers: [{units: 32, activation: relu}, {type: dropout, p: 0.1},\n"
    "                 {units: 32, activation: relu}, {units: 3, activation: linear}]}\n"
    "loss: cross_entropy\n"
    "optimizer: {name: sgd, lr: 0.05, momentum: 0.9}\n"
    "train: {iterations: 200, batch: 64, log_every: 20, checkpoint_every: 50,\n"
    "        row_threads: %s}\n";

/* One training of train_yaml at `threads` and row_threads `mode`; the final parameters into
 * params (n_params floats), the logged losses into t. ckpt/resume: the checkpoint hooks. */
static fanin__result train(const char *yaml_fmt, const char *mode, int threads, trace *t,
                           float **params, size_t *n_params, const char *ckpt, bool resume) {
    char text[1024];
    snprintf(text, sizeof text, yaml_fmt, mode);
    fanin_experiment *x = resolve(text);
    x->threads = threads;
    openblas_set_num_threads(threads);
    fanin_dataset *d;
    fanin_model *m;
    fanin__result res;
    assert_int_equal(fanin__data_load(&x->data, x->seed, &d, err, sizeof err), FANIN_OK);
    int cap = x->batch ? (int)x->batch : (int)d->n_train;
    assert_int_equal(fanin__model_new(x, d->n_features, cap, &m, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    fanin__train_hooks hooks = {.user = t,
                                .on_log = on_log,
                                .on_warning = on_warning,
                                .checkpoint_path = ckpt,
                                .resume = resume,
                                .threads = threads};
    assert_int_equal(fanin__train(m, d, &hooks, &res, err, sizeof err), FANIN_OK);
    assert_int_equal(openblas_get_num_threads(), threads); /* the pool restored it */
    *n_params = m->n_params;
    *params = malloc(sizeof(float) * m->n_params);
    memcpy(*params, m->params, sizeof(float) * m->n_params);
    fanin__model_free(m);
    fanin__data_free(d);
    fanin__experiment_free(x);
    return res;
}

/* T = 2 split twice: the same bits; against T = 1 plain: the same losses to 1e-5 relative
 * (the slices' sums round differently: 1.1e-7 at most over these 200 momentum steps here,
 * where masks not following the batch's rows give 6e-3 at the first logged step). */
static void test_two_threads_deterministic_and_near_one(void **state) {
    trace one = {0}, a = {0}, b = {0};
    float *p1, *pa, *pb;
    size_t n1, na, nb;
    fanin__result r1 = train(train_yaml, "off", 1, &one, &p1, &n1, NULL, false);
    fanin__result ra = train(train_yaml, "on", 2, &a, &pa, &na, NULL, false);
    fanin__result rb = train(train_yaml, "on", 2, &b, &pb, &nb, NULL, false);
    assert_int_equal(r1.row_slices, 1);
    assert_int_equal(ra.row_slices, 2);
    assert_int_equal(rb.row_slices, 2);
    assert_int_equal(na, nb);
    assert_memory_equal(pa, pb, sizeof(float) * na);
    assert_int_equal(a.n, one.n);
    assert_true(a.n >= 10);
    for (int i = 0; i < a.n; i++) {
        assert_true(a.loss[i] == b.loss[i]);
        if (!(fabs(a.loss[i] - one.loss[i]) <= 1e-5 * fabs(one.loss[i])))
            fail_msg("log %d: loss %.9g at 2 threads, %.9g at 1", i, a.loss[i], one.loss[i]);
    }
    assert_true(a.loss[a.n - 1] < 0.8 * a.loss[0]); /* it trained */
    free(p1);
    free(pa);
    free(pb);
}

/* Interrupted at iteration 100 (a checkpoint), resumed to 200: the same bits as 200 straight. */
static void test_resume_bit_identical(void **state) {
    char dir[] = "/tmp/fanin-rowthr-XXXXXX", ckpt[64];
    assert_non_null(mkdtemp(dir));
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.bin", dir);
    trace whole = {0}, first = {.stop_at = 100}, rest = {0};
    float *pw, *pf, *pr;
    size_t nw, nf, nr;
    train(train_yaml, "on", 2, &whole, &pw, &nw, NULL, false);
    fanin__result rf = train(train_yaml, "on", 2, &first, &pf, &nf, ckpt, false);
    assert_int_equal(rf.status, FANIN_EINTR);
    assert_int_equal(rf.iterations, 101);
    fanin__result rr = train(train_yaml, "on", 2, &rest, &pr, &nr, ckpt, true);
    assert_int_equal(rr.status, FANIN_OK);
    assert_int_equal(rr.resumed_from, 101);
    assert_int_equal(rr.row_slices, 2);
    assert_int_equal(nw, nr);
    assert_memory_equal(pw, pr, sizeof(float) * nw);
    unlink(ckpt);
    rmdir(dir);
    free(pw);
    free(pf);
    free(pr);
}

static const char bn_yaml[] =
    "data: {source: synthetic, kind: moons, n: 200}\n"
    "model: {layers: [{units: 16, activation: relu}, {type: batchnorm},\n"
    "                 {units: 1, activation: sigmoid}]}\n"
    "loss: bce\n"
    "train: {iterations: 20, batch: 50, log_every: 10, row_threads: %s}\n";

/* Batchnorm: the plain step, and `on` says why once. */
static void test_batchnorm_falls_back(void **state) {
    trace t = {0};
    float *p;
    size_t n;
    fanin__result r = train(bn_yaml, "on", 2, &t, &p, &n, NULL, false);
    assert_int_equal(r.row_slices, 1);
    assert_int_equal(t.warnings, 1);
    free(p);
    trace u = {0};
    r = train(bn_yaml, "auto", 2, &u, &p, &n, NULL, false);
    assert_int_equal(r.row_slices, 1);
    assert_int_equal(u.warnings, 0);
    free(p);
}

static const char blowup_yaml[] =
    "data: {source: synthetic, kind: moons, n: 200}\n"
    "model: {layers: [{units: 16, activation: relu}, {units: 1, activation: linear}]}\n"
    "loss: mse\n"
    "optimizer: {name: sgd, lr: 50}\n"
    "train: {iterations: 500, batch: 40, log_every: 100, row_threads: %s}\n";

/* A diverging run: where it went non-finite is found as the plain step finds it. */
static void test_divergence_located_as_plain(void **state) {
    trace a = {0}, b = {0};
    float *pa, *pb;
    size_t na, nb;
    fanin__result ra = train(blowup_yaml, "off", 2, &a, &pa, &na, NULL, false);
    fanin__result rb = train(blowup_yaml, "on", 2, &b, &pb, &nb, NULL, false);
    assert_int_equal(ra.status, FANIN_EDIVERGED);
    assert_int_equal(rb.status, FANIN_EDIVERGED);
    assert_int_equal(rb.row_slices, 2);
    assert_int_equal(rb.iterations, ra.iterations);
    assert_int_equal(rb.diverged_layer, ra.diverged_layer);
    assert_string_equal(rb.diverged_what, ra.diverged_what);
    free(pa);
    free(pb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slices_cover_the_batch_in_order),
        cmocka_unit_test(test_mode_config_wins_then_environment),
        cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_split_step_equals_whole_batch),
        cmocka_unit_test(test_split_evaluation_equals_plain),
        cmocka_unit_test(test_two_threads_deterministic_and_near_one),
        cmocka_unit_test(test_resume_bit_identical),
        cmocka_unit_test(test_batchnorm_falls_back),
        cmocka_unit_test(test_divergence_located_as_plain),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
