/* model.parametrization (issue 12, item 2; docs/configuration.md "Parametrizations"):
 * `standard` is bit-identical to no key; `ntk` draws W times sqrt(fan_in) and multiplies each
 * dense layer's output by 1/sqrt(fan_in); `mup` (Tensor Programs V Table 3 in the mup
 * package's form, relative to base_width) sets each dense layer's init factor, output
 * multiplier and learning-rate multipliers by role. Checked against those formulas on a small
 * MLP, with a finite-difference gradient check of a dense layer whose output multiplier != 1.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/errors.h"
#include "config/experiment.h"
#include "engine/loss.h"
#include "engine/model.h"
#include "plugin/registry.h"

static fanin_registry *reg;

static int setup(void **state) {
    const char *extra[] = {FANIN_TEST_PLUGIN_DIR};
    char err[FANIN_ERRLEN];
    int rc = fanin__registry_new(&reg, extra, 1, err, sizeof err);
    if (rc != FANIN_OK) fprintf(stderr, "registry: %s\n", err);
    return rc;
}

static int teardown(void **state) {
    fanin__registry_free(reg);
    return 0;
}

typedef struct built {
    fanin_experiment *x;
    fanin_model *m;
} built;

#define MLP "    - {units: 64}\n    - {units: 64}\n    - {units: 1}\n"
#define N 8 /* rows of the made-up batch */

/* Resolve an experiment with `pz` lines under model: (e.g. "  parametrization: ntk\n"); rc of
 * the resolve, its message in err. */
static int resolve(const char *pz, const char *opt, const char *layers, fanin_experiment **x,
                   char *err) {
    char text[4096];
    snprintf(text, sizeof text,
             "seed: 3\ndata: {source: synthetic, kind: moons}\nmodel:\n%s  defaults: {init: "
             "lecun_normal, bias_init: {name: uniform, a: -0.5, b: 0.5}}\n  layers:\n%sloss: "
             "bce\noptimizer: %s\n",
             pz, layers, opt);
    fanin_config *c;
    if (fanin__config_parse(&c, "/exp/t.yaml", text, strlen(text), err, FANIN_ERRLEN) != FANIN_OK)
        fail_msg("parse: %s", err);
    int rc = fanin__config_resolve(c, 0, reg, x, err, FANIN_ERRLEN);
    fanin__config_free(c);
    return rc;
}

/* A model of `layers` on 2 inputs, initialised from seed 3. */
static built build(const char *pz, const char *opt, const char *layers) {
    char err[FANIN_ERRLEN];
    built b = {0};
    if (resolve(pz, opt, layers, &b.x, err) != FANIN_OK) fail_msg("resolve: %s", err);
    if (fanin__model_new(b.x, 2, N, &b.m, err, sizeof err) != FANIN_OK) fail_msg("model: %s", err);
    if (fanin__model_init_params(b.m, err, sizeof err) != FANIN_OK) fail_msg("init: %s", err);
    return b;
}

static void built_free(built *b) {
    fanin__model_free(b->m);
    fanin__experiment_free(b->x);
}

static float X[N * 2], Y[N];

static void make_batch(void) {
    for (int i = 0; i < N; i++) {
        X[2 * i] = (float)sin(1.1 * i + 0.2);
        X[2 * i + 1] = (float)cos(0.7 * i - 0.4);
        Y[i] = (float)(i % 2);
    }
}

/* The loss of the batch, with the gradients when `grad`. */
static double loss_of(fanin_model *m, bool grad) {
    char err[FANIN_ERRLEN];
    if (fanin__model_forward(m, X, N, err, sizeof err) != FANIN_OK) fail_msg("fwd: %s", err);
    double l = fanin__loss(m, Y, N, grad);
    if (grad && fanin__model_backward(m, X, N, err, sizeof err) != FANIN_OK)
        fail_msg("bwd: %s", err);
    return l;
}

/* The learning-rate multiplier of parameter i (its group's). */
static double lr_of(const fanin_model *m, size_t i) {
    for (int g = 0; g < m->n_groups; g++)
        if (i >= m->groups[g].off && i < m->groups[g].off + m->groups[g].n)
            return m->groups[g].lr_scale;
    fail_msg("param %zu in no group", i);
    return 0;
}

/* Same weights, gradients and updates, bit for bit, with `parametrization: standard`. */
static void test_standard_is_bit_identical(void **state) {
    const char *opts[] = {"{name: adam, lr: 0.01}", "{name: sgd, lr: 0.1, momentum: 0.9}"};
    char err[FANIN_ERRLEN];
    for (int o = 0; o < 2; o++) {
        built a = build("", opts[o], MLP), b = build("  parametrization: standard\n", opts[o], MLP);
        assert_int_equal(b.m->n_groups, 1);
        for (int t = 1; t <= 3; t++) {
            double la = loss_of(a.m, true), lb = loss_of(b.m, true);
            assert_memory_equal(&la, &lb, sizeof la);
            assert_memory_equal(a.m->grads, b.m->grads, a.m->n_params * sizeof(float));
            assert_int_equal(fanin__optimizer_step(a.m, t, 0.01, err, sizeof err), FANIN_OK);
            assert_int_equal(fanin__optimizer_step(b.m, t, 0.01, err, sizeof err), FANIN_OK);
            assert_memory_equal(a.m->params, b.m->params, a.m->n_params * sizeof(float));
        }
        built_free(&a);
        built_free(&b);
    }
}

/* |a - b| within rel of |b| (plus a floor). */
static void near(double a, double b, double rel, const char *what, size_t i) {
    if (fabs(a - b) > rel * (fabs(b) + 1e-6)) fail_msg("%s %zu: %.9g != %.9g", what, i, a, b);
}

/* ntk: W = sqrt(fan_in) * the standard draw (lecun_normal: std 1/sqrt(fan_in), so ~N(0, 1)),
 * b as drawn, the same function at init (s = 1/sqrt(fan_in) undoes it), lr multipliers 1. */
static void test_ntk(void **state) {
    built a = build("", "{name: sgd, lr: 0.1}", MLP);
    built b = build("  parametrization: ntk\n", "{name: sgd, lr: 0.1}", MLP);
    assert_int_equal(b.m->n_groups, 1);
    for (int l = 0; l < 3; l++) {
        fanin__layer *A = &a.m->layers[l], *B = &b.m->layers[l];
        size_t nw = (size_t)A->w_rows * A->w_cols;
        double ss = 0, f = sqrt((double)A->n_in);
        for (size_t i = 0; i < nw; i++) {
            near(B->W[i], (float)(A->W[i] * f), 1e-6, "ntk W", i);
            ss += (double)B->W[i] * B->W[i];
        }
        if (l > 0) near(sqrt(ss / (double)nw), 1.0, 0.1, "ntk W std, layer", (size_t)l);
        assert_memory_equal(A->b, B->b, (size_t)A->w_rows * sizeof(float));
    }
    loss_of(a.m, false);
    loss_of(b.m, false);
    for (int i = 0; i < N; i++) near(b.m->layers[2].Z[i], a.m->layers[2].Z[i], 1e-4, "Z", i);
    built_free(&a);
    built_free(&b);
}

/* mup at base_width 16 (m = 64/16 = 4): input W,b [64x2 | 64], hidden [64x64 | 64], output
 * [1x64 | 1]; the hidden bias and the output layer drawn times sqrt(4); want[fam][k] the lr multiplier of W0 b0 W1 b1 W2 b2 (SGD, Adam). */
static void test_mup(void **state) {
    static const double want[2][6] = {{4, 4, 1, 4, 4, 1}, {1, 1, 0.25, 1, 1, 1}};
    const char *opts[] = {"{name: sgd, lr: 0.1}", "{name: adamw, lr: 0.01}"};
    const size_t ends[6] = {128, 192, 192 + 4096, 192 + 4160, 4352 + 64, 4352 + 65};
    for (int fam = 0; fam < 2; fam++) {
        built a = build("", opts[fam], MLP);
        built b = build("  parametrization: mup\n  base_width: 16\n", opts[fam], MLP);
        assert_int_equal(b.m->n_params, ends[5]);
        for (size_t i = 0, k = 0; i < b.m->n_params; i++) {
            while (i >= ends[k]) k++;
            near(lr_of(b.m, i), want[fam][k], 1e-12, "lr multiplier of param", i);
            double f = k >= 3 ? 2.0 : 1.0; /* hidden bias and readout drawn times sqrt(m) */
            near(b.m->params[i], a.m->params[i] * f, 1e-6, "init of param", i);
        }
        assert_true(fabs(b.x->layers[2].pz.out - 0.25) < 1e-15);
        loss_of(b.m, false); /* output Z = (1/4) A1 W2^T + b2 */
        const fanin__layer *L = &b.m->layers[2];
        for (int r = 0; r < N; r++) {
            double z = L->b[0];
            for (int j = 0; j < 64; j++) z += 0.25 * b.m->layers[1].A[r * 64 + j] * L->W[j];
            near(L->Z[r], z, 1e-5, "output Z row", (size_t)r);
        }
        built_free(&a);
        built_free(&b);
    }
}

/* Central differences of the loss against backward's gradients, where every dense layer has an
 * output multiplier != 1 (ntk: 1/sqrt(fan_in); mup: the readout's 1/m). */
static void check_gradients(const char *pz) {
    built b = build(pz, "{name: sgd, lr: 0.1}",
                    "    - {units: 6, activation: tanh}\n    - {units: 6, activation: tanh}\n"
                    "    - {units: 1}\n");
    fanin_model *m = b.m;
    loss_of(m, true);
    float *g = malloc(m->n_params * sizeof *g);
    memcpy(g, m->grads, m->n_params * sizeof *g);
    for (size_t i = 0; i < m->n_params; i++) {
        float p0 = m->params[i], h = 1e-2f;
        m->params[i] = p0 + h;
        double up = loss_of(m, false);
        m->params[i] = p0 - h;
        double dn = loss_of(m, false);
        m->params[i] = p0;
        double fd = (up - dn) / (2 * h);
        if (fabs(fd - g[i]) > 2e-3 + 2e-2 * fabs(fd))
            fail_msg("%s param %zu: backward %.6g, finite difference %.6g", pz, i, g[i], fd);
    }
    free(g);
    built_free(&b);
}

static void test_gradients_with_out_scale(void **state) {
    check_gradients("  parametrization: ntk\n");
    check_gradients("  parametrization: mup\n  base_width: 2\n");
}

/* Bad input: mup without base_width; a single dense layer; a conv2d. */
static void test_errors(void **state) {
    char err[FANIN_ERRLEN];
    fanin_experiment *x = NULL;
    assert_int_equal(resolve("  parametrization: mup\n", "sgd", MLP, &x, err), FANIN_ECONFIG);
    assert_non_null(strstr(err, "base_width"));
    assert_non_null(strstr(err, "t.yaml:4:"));
    assert_int_equal(resolve("  parametrization: ntk\n", "sgd", "    - {units: 1}\n", &x, err),
                     FANIN_ECONFIG);
    assert_non_null(strstr(err, "at least two dense layers"));
    assert_int_equal(resolve("  parametrization: mup\n  base_width: 0\n", "sgd", MLP, &x, err),
                     FANIN_ECONFIG);
}

int main(void) {
    make_batch();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standard_is_bit_identical),
        cmocka_unit_test(test_ntk),
        cmocka_unit_test(test_mup),
        cmocka_unit_test(test_gradients_with_out_scale),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
