/* Dropout (engine/dropout.c): the share of kept units within a few sigma of 1 - p, the kept
 * ones scaled by 1 / (1 - p); the mask a function of (seed, layer, step) alone (the same key
 * gives the same mask whatever ran before, another step, layer or seed another mask), drawn
 * from the documented Philox words; evaluation, PRE and p = 0 are the identity; backward uses
 * the forward's mask (and matches finite differences); p outside [0, 1) is a config error. */
#include "base/errors.h"
#include "base/rng.h"
#include "config/experiment.h"
#include "config/pref.h"
#include "engine/layer.h"
#include "engine/loss.h"
#include "engine/model.h"
#include "plugin/registry.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model_tests.h"


enum { ROWS = 64, UNITS = 256, CELLS = ROWS * UNITS };
static float X[CELLS];
/* `n` dropout layers of probability p on vectors of UNITS features, cap ROWS, seed `seed`. */
static fanin_experiment *experiment(int n, double p, uint64_t seed) {
    fanin_experiment *x = calloc(1, sizeof *x);
    x->n_layers = n;
    x->layers = calloc((size_t)n, sizeof *x->layers);
    for (int l = 0; l < n; l++) {
        x->layers[l].type = FANIN_LAYER_DROPOUT;
        x->layers[l].p = p;
        x->layers[l].block = -1;
        x->layers[l].activation = pref(FANIN_KIND_ACTIVATION, "linear");
    }
    x->optimizer = pref(FANIN_KIND_OPTIMIZER, "sgd");
    x->loss = FANIN_LOSS_MSE;
    x->seed = seed;
    x->lr = 0.1;
    x->source_file = "test";
    return x;
}


static fanin_model *model(const fanin_experiment *x) {
    fanin_model *m;
    assert_int_equal(fanin__model_new(x, UNITS, ROWS, &m, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    return m;
}

/* Layer l's output for X at `step` in `pass`, copied into out [CELLS]. */
static void run(fanin_model *m, int l, int64_t step, int pass, float *out) {
    fanin__layer *L = &m->layers[l];
    m->step = step;
    assert_int_equal(L->kind->forward(L, X, ROWS, pass, err, sizeof err), FANIN_OK);
    memcpy(out, L->A, sizeof(float) * CELLS);
}

/* About CELLS * (1 - p) kept: within 5 sigma of the binomial; each kept unit is x / (1 - p)
 * as float (torch: x * (1 / (1 - p))), each dropped one 0. */
static void check_keep_rate(double p) {
    fanin_experiment *x = experiment(1, p, 3);
    fanin_model *m = model(x);
    static float y[CELLS];
    run(m, 0, 5, FANIN_PASS_TRAIN, y);
    float scale = (float)(1.0 / (1.0 - p));
    size_t kept = 0;
    for (size_t i = 0; i < CELLS; i++) {
        if (y[i] == 0.0f) continue;
        kept++;
        assert_true(y[i] == X[i] * scale);
    }
    double mean = (double)kept / CELLS, sigma = sqrt(p * (1 - p) / CELLS);
    if (fabs(mean - (1 - p)) > 5 * sigma)
        fail_msg("p = %g: kept %.5f of the units, expected %.5f +- %.5f", p, mean, 1 - p,
                 5 * sigma);
    fanin__model_free(m);
    experiment_free(x);
}

static void test_keep_rate_and_scale(void **state) {
    check_keep_rate(0.5);
    check_keep_rate(0.1);
    check_keep_rate(0.9);
}

/* The mask of step s is unit i's Philox word i of stream (seed, layer, 4) from block s << 32,
 * kept when word / 2^32 >= p; fanin__rng_init_at at block 0 is fanin__rng_init. */
static void test_mask_words_are_documented(void **state) {
    fanin_experiment *x = experiment(2, 0.25, 0x123456789abcdefull);
    fanin_model *m = model(x);
    static float y[CELLS];
    run(m, 1, 7, FANIN_PASS_TRAIN, y);
    uint32_t key[2] = {0x89abcdefu, 0x01234567u}, ctr[4] = {0, 7, 1, FANIN_STREAM_DROPOUT};
    for (int i = 0; i < CELLS; i += 4) {
        uint32_t w[4];
        fanin__philox4x32_10(ctr, key, w);
        ctr[0]++;
        for (int k = 0; k < 4; k++)
            assert_int_equal(y[i + k] != 0.0f, (double)w[k] / 4294967296.0 >= 0.25);
    }
    fanin_rng a, b;
    fanin__rng_init(&a, 99, 2, 3);
    fanin__rng_init_at(&b, 99, 2, 3, 0);
    for (int i = 0; i < 9; i++) assert_int_equal(fanin__rng_u32(&a), fanin__rng_u32(&b));
    fanin__model_free(m);
    experiment_free(x);
}

static bool same(const float *a, const float *b) { return !memcmp(a, b, sizeof(float) * CELLS); }

/* The mask depends on (seed, layer, step) and nothing else: step 2 after steps 0 and 1, or
 * straight away in a new model (a resumed run), is the same mask; another step, another
 * layer or another seed gives another. */
static void test_mask_keyed_by_seed_layer_step(void **state) {
    fanin_experiment *x = experiment(2, 0.5, 11), *x2 = experiment(2, 0.5, 12);
    fanin_model *m = model(x), *resumed = model(x), *other_seed = model(x2);
    static float a[CELLS], b[CELLS], c[CELLS];
    run(m, 0, 0, FANIN_PASS_TRAIN, a);
    run(m, 0, 1, FANIN_PASS_TRAIN, a);
    run(m, 0, 2, FANIN_PASS_TRAIN, a);
    run(resumed, 0, 2, FANIN_PASS_TRAIN, b);
    assert_true(same(a, b));
    run(m, 0, 2, FANIN_PASS_TRAIN, b); /* and again */
    assert_true(same(a, b));
    run(m, 0, 3, FANIN_PASS_TRAIN, c);
    assert_false(same(a, c));
    run(m, 1, 2, FANIN_PASS_TRAIN, c); /* layer 1 on the same input */
    assert_false(same(a, c));
    run(other_seed, 0, 2, FANIN_PASS_TRAIN, c);
    assert_false(same(a, c));
    run(m, 0, (int64_t)1 << 32, FANIN_PASS_TRAIN, c); /* steps past 2^32 keep their own range */
    assert_false(same(a, c));
    fanin__model_free(m);
    fanin__model_free(resumed);
    fanin__model_free(other_seed);
    experiment_free(x);
    experiment_free(x2);
}

/* EVAL and PRE pass x through; p = 0 is the identity in training too. Backward after them is
 * the identity as well. */
static void test_identity_outside_training(void **state) {
    fanin_experiment *x = experiment(1, 0.5, 3), *x0 = experiment(1, 0.0, 3);
    fanin_model *m = model(x), *m0 = model(x0);
    static float y[CELLS], dx[CELLS];
    run(m, 0, 4, FANIN_PASS_EVAL, y);
    assert_true(same(y, X));
    run(m, 0, 4, FANIN_PASS_PRE, y);
    assert_true(same(y, X));
    run(m0, 0, 4, FANIN_PASS_TRAIN, y);
    assert_true(same(y, X));
    fanin__layer *L = &m0->layers[0];
    memcpy(L->dA, X, sizeof X);
    assert_int_equal(L->kind->backward(L, X, dx, ROWS, false, err, sizeof err), FANIN_OK);
    assert_true(same(dx, X));
    fanin__model_free(m);
    fanin__model_free(m0);
    experiment_free(x);
    experiment_free(x0);
}

/* dx = dy * m / (1 - p) with the mask of the forward pass: zero where the unit was dropped;
 * and d sum(y * g) / dx_i by central differences at a fixed step (a linear map). */
static void test_backward_uses_the_mask(void **state) {
    fanin_experiment *x = experiment(1, 0.3, 8);
    fanin_model *m = model(x);
    fanin__layer *L = &m->layers[0];
    static float y[CELLS], dx[CELLS], g[CELLS];
    fanin_rng r;
    fanin__rng_init(&r, 4, 0, 9);
    fanin__rng_fill_normal(&r, g, CELLS, 0, 1);
    run(m, 0, 9, FANIN_PASS_TRAIN, y);
    memcpy(L->dA, g, sizeof g);
    assert_int_equal(L->kind->backward(L, X, dx, ROWS, false, err, sizeof err), FANIN_OK);
    float scale = (float)(1.0 / 0.7);
    for (int i = 0; i < CELLS; i++) assert_true(dx[i] == (y[i] != 0.0f ? g[i] * scale : 0.0f));
    const float h = 0.25f; /* exact in float: the map is linear */
    for (int i = 0; i < 64; i++) {
        float keep = X[i];
        X[i] = keep + h;
        run(m, 0, 9, FANIN_PASS_TRAIN, y);
        double up = (double)y[i] * g[i];
        X[i] = keep - h;
        run(m, 0, 9, FANIN_PASS_TRAIN, y);
        double down = (double)y[i] * g[i];
        X[i] = keep;
        assert_true(fabs((up - down) / (2 * h) - dx[i]) < 1e-5 * (1 + fabs(dx[i])));
    }
    assert_int_equal(L->kind->backward(L, X, NULL, ROWS, false, err, sizeof err), FANIN_OK);
    fanin__model_free(m);
    experiment_free(x);
}

/* No parameters, no tensors, no statistics weight; p outside [0, 1) is FANIN_ECONFIG. */
static void test_shape_and_errors(void **state) {
    fanin_experiment *x = experiment(1, 0.5, 1);
    fanin_model *m = model(x);
    fanin__layer *L = &m->layers[0];
    assert_int_equal(m->n_params, 0);
    assert_int_equal(m->n_bufs, 0);
    assert_null(L->W);
    assert_int_equal(L->w_rows, 0);
    assert_int_equal(L->n_out, UNITS);
    fanin__st_out out[FANIN_LAYER_MAX_TENSORS];
    char names[FANIN_LAYER_MAX_TENSORS][64];
    assert_int_equal(L->kind->tensors(L, out, names), 0);
    fanin__model_free(m);
    const double bad[] = {1.0, -0.1, 1.5, NAN};
    for (int i = 0; i < 4; i++) {
        x->layers[0].p = bad[i];
        m = NULL;
        assert_int_equal(fanin__model_new(x, UNITS, ROWS, &m, err, sizeof err), FANIN_ECONFIG);
        assert_null(m);
        assert_non_null(strstr(err, "dropout needs p in [0, 1)"));
        assert_non_null(strstr(err, "layer 1"));
    }
    experiment_free(x);
}

static int setup(void **state) {
    for (int i = 0; i < CELLS; i++) X[i] = 1.0f + (float)(i % 97) / 97.0f;
    return registry_setup(state);
}


int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_rate_and_scale),
        cmocka_unit_test(test_mask_words_are_documented),
        cmocka_unit_test(test_mask_keyed_by_seed_layer_step),
        cmocka_unit_test(test_identity_outside_training),
        cmocka_unit_test(test_backward_uses_the_mask),
        cmocka_unit_test(test_shape_and_errors),
    };
    return cmocka_run_group_tests(tests, setup, registry_teardown);
}
