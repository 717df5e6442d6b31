/* The training loop allocates nothing: malloc, calloc, realloc and the aligned allocators are
 * interposed (this executable's definitions come first for every library it loads, OpenBLAS and
 * the plugins included) and counted from the log row of iteration 0 (after the loop's set-up)
 * to the final row (after the last step and the final evaluations). A self-check proves the
 * counter sees an allocation. */
#include "base/errors.h"
#include "config/experiment.h"
#include "data/data.h"
#include "engine/model.h"
#include "engine/train.h"
#include "plugin/registry.h"

#include <cblas.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* glibc's own entry points, under the names it exports for interposers */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t k, size_t n);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);

static atomic_int counting;
static atomic_long allocations;

static void seen(void) {
    if (atomic_load(&counting)) atomic_fetch_add(&allocations, 1);
}

void *malloc(size_t n) {
    seen();
    return __libc_malloc(n);
}

void *calloc(size_t k, size_t n) {
    seen();
    return __libc_calloc(k, n);
}

void *realloc(void *p, size_t n) {
    seen();
    return __libc_realloc(p, n);
}

void *aligned_alloc(size_t align, size_t n) {
    seen();
    return __libc_memalign(align, n);
}

int posix_memalign(void **p, size_t align, size_t n) {
    seen();
    *p = __libc_memalign(align, n);
    return *p ? 0 : ENOMEM;
}

static fanin_registry *reg;

static int setup(void **state) {
    const char *extra[] = {FANIN_TEST_PLUGIN_DIR};
    char err[FANIN_ERRLEN];
    int rc = fanin__registry_new(&reg, extra, 1, err, sizeof err);
    if (rc != FANIN_OK) fprintf(stderr, "registry: %s\n", err);
    openblas_set_num_threads(2); /* OpenBLAS's threads run inside the window too */
    return rc;
}

static int teardown(void **state) {
    fanin__registry_free(reg);
    return 0;
}

typedef struct window {
    long during; /* allocations between the first and the last row */
    int rows;
} window;

static int on_log(void *user, const fanin__progress *p) {
    window *w = user;
    w->rows++;
    if (p->iteration == 0) {
        atomic_store(&allocations, 0);
        atomic_store(&counting, 1);
    } else if (p->iteration == p->iterations) {
        atomic_store(&counting, 0);
        w->during = atomic_load(&allocations);
    }
    return 0;
}

static fanin_experiment *resolve(const char *text) {
    fanin_config *c;
    fanin_experiment *x;
    char err[FANIN_ERRLEN];
    if (fanin__config_parse(&c, "/exp/t.yaml", text, strlen(text), err, sizeof err) != FANIN_OK)
        fail_msg("parse: %s", err);
    int rc = fanin__config_resolve(c, 0, reg, &x, err, sizeof err);
    fanin__config_free(c);
    if (rc != FANIN_OK) fail_msg("resolve: %s", err);
    return x;
}

/* Train `text` (cap rows: its batch) and return the allocations inside the window. */
static long train_counting(const char *text, int cap) {
    fanin_experiment *x = resolve(text);
    fanin_dataset *d;
    fanin_model *m;
    fanin__result res;
    char err[FANIN_ERRLEN];
    window w = {-1, 0};
    fanin__train_hooks hooks = {.user = &w, .on_log = on_log};
    assert_int_equal(fanin__data_load(&x->data, x->seed, &d, err, sizeof err), FANIN_OK);
    atomic_store(&allocations, 0);
    atomic_store(&counting, 1); /* the set-up allocates: the counter reaches fanin's own calls */
    assert_int_equal(fanin__model_new(x, d->n_features, cap ? cap : (int)d->n_train, &m, err,
                                      sizeof err),
                     FANIN_OK);
    atomic_store(&counting, 0);
    assert_true(atomic_load(&allocations) >= 3); /* the model, its layers, its block */
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__train(m, d, &hooks, &res, err, sizeof err), FANIN_OK);
    assert_int_equal(res.status, FANIN_OK);
    assert_true(w.rows >= 3); /* the window opened and closed */
    fanin__model_free(m);
    fanin__data_free(d);
    fanin__experiment_free(x);
    return w.during;
}

static void test_counter_sees_an_allocation(void **state) {
    void *(*volatile alloc)(size_t) = malloc;
    atomic_store(&allocations, 0);
    atomic_store(&counting, 1);
    void *p = alloc(24);
    atomic_store(&counting, 0);
    free(p);
    assert_int_equal(atomic_load(&allocations), 1);
}

/* tanh minibatches of 32 (shuffle, gather each step), SGD with momentum, a cosine schedule */
static void test_minibatch_tanh_sgd(void **state) {
    assert_int_equal(
        train_counting(
            "data: {source: synthetic, kind: moons, n: 256}\n"
            "model: {layers: [{units: 16, activation: tanh}, {units: 16, activation: tanh},\n"
            "                 {units: 1, activation: sigmoid}]}\n"
            "loss: bce\n"
            "optimizer: {name: sgd, lr: 0.1, momentum: 0.9}\n"
            "lr_schedule: cosine\n"
            "train: {iterations: 300, batch: 32, log_every: 100}\n",
            32),
        0);
}

/* relu, batchnorm and dropout, softmax cross-entropy, Adam, minibatches of 16 */
static void test_minibatch_relu_adam(void **state) {
    assert_int_equal(
        train_counting(
            "data: {source: synthetic, kind: spiral, n: 300, classes: 3}\n"
            "model: {layers: [{units: 32, activation: relu}, {type: batchnorm},\n"
            "                 {type: dropout, p: 0.2}, {units: 3, activation: linear}]}\n"
            "loss: cross_entropy\n"
            "optimizer: {name: adam, lr: 0.01}\n"
            "train: {iterations: 200, batch: 16, log_every: 50}\n",
            16),
        0);
}

/* full batch (the step's forward doubles as the train figures), mse */
static void test_full_batch_mse(void **state) {
    assert_int_equal(
        train_counting(
            "data: {source: synthetic, kind: moons, n: 200}\n"
            "model: {layers: [{units: 8, activation: relu}, {units: 1, activation: linear}]}\n"
            "loss: mse\n"
            "optimizer: {name: sgd, lr: 0.05}\n"
            "train: {iterations: 100, batch: full, log_every: 10}\n",
            0),
        0);
}

/* row threads (engine/row_threads.h): two slices of each minibatch on the pool's thread and
 * this one, with dropout, then the gradient sum */
static void test_row_threads(void **state) {
    assert_int_equal(
        train_counting("threads: 2\n"
                       "data: {source: synthetic, kind: spiral, n: 400, classes: 3}\n"
                       "model: {layers: [{units: 32, activation: relu}, {type: dropout, p: 0.2},\n"
                       "                 {units: 3, activation: linear}]}\n"
                       "loss: cross_entropy\n"
                       "train: {iterations: 100, batch: 64, log_every: 25, row_threads: on}\n",
                       64),
        0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_sees_an_allocation),
        cmocka_unit_test(test_minibatch_tanh_sgd),
        cmocka_unit_test(test_minibatch_relu_adam),
        cmocka_unit_test(test_full_batch_mse),
        cmocka_unit_test(test_row_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
