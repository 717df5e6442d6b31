/* LSUV (plugins/initializers/lsuv.c) and the ABI 1.1 layer_forward service behind it: on deep
 * tanh and relu stacks with a real batch every layer's pre-activation variance ends within tol
 * of 1; without data the error says so; `fanin run` hands the model its batch. And the minor
 * bump itself: a plugin built against the 1.0 header still loads and runs, one that needs
 * minor 2 is refused.
 */
#include "base/errors.h"
#include "base/rng.h"
#include "config/experiment.h"
#include "data/data.h"
#include "engine/model.h"
#include "plugin/host.h"
#include "plugin/registry.h"

#include <stdint.h>
#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* A tensor given by its 2-D view alone (the 1.0 fields; ndim 0: not described), as callers
 * that know no layer pass it (fanin init-stats). */
#define T2D(d, r, c, fi, fo, b) \
    ((fanin_tensor){            \
        .data = (d), .rows = (r), .cols = (c), .fan_in = (fi), .fan_out = (fo), .is_bias = (b)})

#define FIX(name) FANIN_TEST_FIXTURE_DIR "/" name

static fanin_registry *reg;
static char err[FANIN_ERRLEN];

static int setup(void **state) {
    const char *extra[] = {FANIN_TEST_PLUGIN_DIR};
    int rc = fanin__registry_new(&reg, extra, 1, err, sizeof err);
    if (rc != FANIN_OK) fprintf(stderr, "registry: %s\n", err);
    return rc;
}

static int teardown(void **state) {
    fanin__registry_free(reg);
    return 0;
}

/* ---- helpers ---- */

static fanin_experiment *resolve(const char *yaml) {
    fanin_config *c;
    fanin_experiment *x;
    int rc = fanin__config_parse(&c, "/exp/lsuv.yaml", yaml, strlen(yaml), err, sizeof err);
    if (rc != FANIN_OK) fail_msg("parse: %s", err);
    rc = fanin__config_resolve(c, 0, reg, &x, err, sizeof err);
    fanin__config_free(c);
    if (rc != FANIN_OK) fail_msg("resolve: %s", err);
    return x;
}

static double variance(const float *z, size_t n) {
    double mean = 0.0, ss = 0.0;
    for (size_t i = 0; i < n; i++) mean += z[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) ss += (z[i] - mean) * (z[i] - mean);
    return ss / (double)n;
}

/* After init, a plain forward pass on the batch: every layer's Z has variance 1 within tol. */
static void expect_unit_variance(fanin_model *m, const float *X, int n, double tol) {
    assert_int_equal(fanin__model_forward(m, X, n, err, sizeof err), FANIN_OK);
    for (int l = 0; l < m->n_layers; l++) {
        double v = variance(m->layers[l].Z, (size_t)n * m->layers[l].n_out);
        if (!(fabs(v - 1.0) < tol))
            fail_msg("layer %d: Var(Z) = %g, not within %g of 1", l, v, tol);
    }
}

/* ---- LSUV on real batches ---- */

/* 10 tanh layers of 32 on N(0, 1) input [256, 16]: before LSUV's scaling an orthogonal W would
 * keep the variance near 1/2 per tanh layer; after, every layer's output variance is 1. */
static void test_lsuv_deep_tanh_random_input(void **state) {
    fanin_experiment *x = resolve(
        "name: t\nseed: 5\ndata: {source: synthetic, kind: moons}\n"
        "model:\n  defaults: {activation: tanh, init: lsuv, bias_init: zeros}\n"
        "  layers:\n    - {units: 32, repeat: 10}\n    - {units: 1, activation: sigmoid}\n"
        "loss: bce\noptimizer: {name: sgd, lr: 0.1}\n");
    enum { N = 256, D = 16 };
    float *X = malloc(sizeof(float) * N * D);
    fanin_rng r;
    fanin__rng_init(&r, 99, 0, FANIN_STREAM_DATA);
    fanin__rng_fill_normal(&r, X, N * D, 0.0, 1.0);
    fanin_model *m;
    assert_int_equal(fanin__model_new(x, D, N, &m, err, sizeof err), FANIN_OK);
    fanin__model_set_init_batch(m, X, N);
    if (fanin__model_init_params(m, err, sizeof err) != FANIN_OK) fail_msg("%s", err);
    expect_unit_variance(m, X, N, 0.1);
    fanin__model_free(m);
    fanin__experiment_free(x);
    free(X);
}

/* 8 relu layers on the synthetic spiral (2 features, fanin__data_load), a tighter tol; the batch
 * is capped at the model's rows (cap 200 of 300 training rows). */
static void test_lsuv_deep_relu_synthetic_data(void **state) {
    fanin_experiment *x = resolve(
        "name: t\nseed: 2\ndata: {source: synthetic, kind: spiral, n: 400, train: 300, test: 100}\n"
        "model:\n  defaults: {activation: relu, init: {name: lsuv, tol: 0.02}, bias_init: lsuv}\n"
        "  layers:\n    - {units: 24, repeat: 8}\n    - {units: 3, activation: linear}\n"
        "loss: cross_entropy\noptimizer: {name: sgd, lr: 0.1}\n");
    fanin_dataset *d;
    if (fanin__data_load(&x->data, x->seed, &d, err, sizeof err) != FANIN_OK) fail_msg("%s", err);
    fanin_model *m;
    assert_int_equal(fanin__model_new(x, d->n_features, 200, &m, err, sizeof err), FANIN_OK);
    fanin__model_set_init_batch(m, d->x_train, d->n_train);
    assert_int_equal(m->init_n, 200);
    if (fanin__model_init_params(m, err, sizeof err) != FANIN_OK) fail_msg("%s", err);
    for (int l = 0; l < m->n_layers; l++) /* bias_init: lsuv fills zeros */
        for (int j = 0; j < m->layers[l].n_out; j++) assert_true(m->layers[l].b[j] == 0.0f);
    expect_unit_variance(m, d->x_train, 200, 0.02);
    fanin__model_free(m);
    fanin__data_free(d);
    fanin__experiment_free(x);
}

static char last_warning[FANIN_ERRLEN];
static void capture_log(int level, const char *plugin, const char *msg) {
    if (level >= FANIN_LOG_WARN) snprintf(last_warning, sizeof last_warning, "%s: %s", plugin, msg);
}

/* max_iter 0 leaves the orthogonal pre-init unscaled (with a warning when off by more than tol):
 * a wide layer (8 x 20) then has orthonormal rows, a tall one (20 x 8) orthonormal columns. */
static void test_lsuv_pre_init_is_orthogonal(void **state) {
    fanin_experiment *x = resolve(
        "name: t\nseed: 4\ndata: {source: synthetic, kind: moons}\n"
        "model:\n  defaults: {activation: linear, init: {name: lsuv, max_iter: 0}}\n"
        "  layers:\n    - {units: 8}\n    - {units: 20}\n    - {units: 1, activation: sigmoid}\n"
        "loss: bce\noptimizer: {name: sgd, lr: 0.1}\n");
    enum { N = 64, D = 20 };
    float X[N * D];
    for (int i = 0; i < N * D; i++) X[i] = (float)(10.0 * sin(0.37 * i)); /* variance ~50 */
    fanin_model *m;
    assert_int_equal(fanin__model_new(x, D, N, &m, err, sizeof err), FANIN_OK);
    fanin__model_set_init_batch(m, X, N);
    last_warning[0] = '\0';
    fanin__host_set_log(capture_log);
    int rc = fanin__model_init_params(m, err, sizeof err);
    fanin__host_set_log(NULL);
    if (rc != FANIN_OK) fail_msg("%s", err);
    assert_non_null(strstr(last_warning, "lsuv: output variance"));
    assert_non_null(strstr(last_warning, "after 0 rescalings is not within tol 0.1 of 1"));
    for (int l = 0; l < 2; l++) {
        const fanin__layer *L = &m->layers[l];
        int wide = L->n_out <= L->n_in;
        int d = wide ? L->n_out : L->n_in, k = wide ? L->n_in : L->n_out;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                double g = 0.0; /* (W W^T)_ij or (W^T W)_ij */
                for (int t = 0; t < k; t++)
                    g += wide ? (double)L->W[i * k + t] * L->W[j * k + t]
                              : (double)L->W[t * d + i] * L->W[t * d + j];
                assert_true(fabs(g - (i == j)) < 1e-5);
            }
    }
    fanin__model_free(m);
    fanin__experiment_free(x);
}

/* No batch (init-stats, a model built without one): a clear error, not a silent fallback. */
static void test_lsuv_without_data_is_a_clear_error(void **state) {
    fanin_experiment *x = resolve(
        "name: t\nseed: 1\ndata: {source: synthetic, kind: moons}\n"
        "model:\n  layers:\n    - {units: 4, init: lsuv}\n    - {units: 1, activation: sigmoid}\n"
        "loss: bce\noptimizer: {name: sgd, lr: 0.1}\n");
    fanin_model *m;
    assert_int_equal(fanin__model_new(x, 2, 8, &m, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_ENOTSUP);
    if (!strstr(err, "initializer plugin 'lsuv'") || !strstr(err, "lsuv needs data:") ||
        !strstr(err, "no batch is available here"))
        fail_msg("unexpected message: %s", err);
    fanin__model_free(m);
    fanin__experiment_free(x);

    /* the service itself, called outside a weight fill */
    fanin_ctx ctx;
    const float *out = (const float *)&ctx;
    int64_t rows = 7, cols = 7;
    fanin__ctx_init(&ctx, NULL, 1.0);
    assert_int_equal(fanin__host()->layer_forward(&ctx, &out, &rows, &cols), FANIN_ENOTSUP);
    assert_null(out);
    assert_int_equal(rows, 0);
    assert_non_null(strstr(ctx.msg, "layer_forward: no model here"));
}

/* `fanin run` gives the model its first training rows before initialising (run.c). */
static void test_run_hands_lsuv_a_batch(void **state) {
    char dir[] = "/tmp/fanin_test_lsuv_XXXXXX", path[512], cmd[2048];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/lsuv.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("name: lsuv\nseed: 3\ndata: {source: synthetic, kind: moons, n: 200}\n"
          "model:\n  defaults: {activation: tanh, init: lsuv}\n"
          "  layers:\n    - {units: 16, repeat: 3}\n    - {units: 1, activation: sigmoid}\n"
          "loss: bce\noptimizer: {name: sgd, lr: 0.1}\ntrain: {iterations: 5, batch: 32}\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "FANIN_PLUGIN_PATH= '%s' run '%s' --out '%s/out' --quiet "
             ">'%s/log' 2>&1",
             FANIN_TEST_BIN, path, dir, dir);
    int status = system(cmd);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(cmd, sizeof cmd, "cat '%s/log' >&2", dir);
        (void)system(cmd);
        fail_msg("fanin run with init: lsuv failed (status %d)", status);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- the ABI minor bump ---- */

/* good.c built against the 1.0 header (tests/fixtures/abi-1.0): loads and runs in today's
 * host (1.1 and later). */
static void test_abi_1_0_plugin_still_loads(void **state) {
    fanin_registry *r;
    assert_int_equal(fanin__registry_new_empty(&r), FANIN_OK);
    if (fanin__registry_load(r, FIX("good_abi10.so"), err, sizeof err) != FANIN_OK)
        fail_msg("%s", err);
    const fanin__entry *e = fanin__registry_find(r, FANIN_KIND_INITIALIZER, "fixture_init");
    assert_non_null(e);
    assert_int_equal(e->plugin->hdr.abi_minor, 0);
    assert_true(FANIN_ABI_MINOR >= 1);
    /* mode qr: rng_normal then the host's qr, both 1.0 services, through the 1.1 table */
    fanin_value p[3] = {{.f = 0.0}, {.e = 3}, {.b = 0}};
    float w[12];
    fanin_tensor t = T2D(w, 4, 3, 3, 4, 0);
    fanin_rng rng;
    fanin__rng_init(&rng, 1, 0, 0);
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, e, 1.0);
    const fanin_initializer_vt *vt = e->plugin->vtable;
    assert_int_equal(vt->fill(&ctx, &t, p, &rng), FANIN_OK);
    double col0 = 0.0;
    for (int i = 0; i < 4; i++) col0 += (double)w[i * 3] * w[i * 3];
    assert_true(fabs(col0 - 1.0) < 1e-5);
    fanin__registry_free(r);
}

/* A library asking for the minor after this host's is refused at load time. */
static void test_plugin_needing_next_minor_is_refused(void **state) {
    fanin_registry *r;
    char want[256];
    assert_int_equal(fanin__registry_new_empty(&r), FANIN_OK);
    assert_int_equal(fanin__registry_load(r, FIX("needs_next_minor.so"), err, sizeof err),
                     FANIN_EPLUGIN);
    snprintf(want, sizeof want,
             "needs_next_minor.so needs fanin plugin ABI >= 1.%d (this fanin "
             "provides 1.%d); upgrade fanin",
             FANIN_ABI_MINOR + 1, FANIN_ABI_MINOR);
    if (!strstr(err, want)) fail_msg("unexpected message: %s", err);
    fanin__registry_free(r);
}

/* The real initializer family (with lsuv) declares min_host_minor 1 (FANIN_PLUGIN_DEFINE_MIN),
 * so a 1.0 host refuses it at load time; today's host table has the service. */
static void test_family_declares_min_minor_1(void **state) {
    const fanin__entry *e = fanin__registry_find(reg, FANIN_KIND_INITIALIZER, "lsuv");
    assert_non_null(e);
    assert_int_equal(e->plugin->hdr.abi_minor, FANIN_ABI_MINOR);
    assert_true(FANIN_HAS_FIELD(fanin_host, layer_forward, fanin__host()->hdr.struct_size));
    void *h = dlopen(e->path, RTLD_NOW | RTLD_LOCAL); /* already mapped: the same handle */
    assert_non_null(h);
    void *sym = dlsym(h, FANIN_ENTRY_SYMBOL);
    assert_non_null(sym);
    fanin_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);
    const fanin_library *lib = entry(fanin__host());
    assert_non_null(lib);
    assert_int_equal(lib->min_host_minor, 1);
    dlclose(h); /* drops only this extra reference */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lsuv_deep_tanh_random_input),
        cmocka_unit_test(test_lsuv_deep_relu_synthetic_data),
        cmocka_unit_test(test_lsuv_pre_init_is_orthogonal),
        cmocka_unit_test(test_lsuv_without_data_is_a_clear_error),
        cmocka_unit_test(test_run_hands_lsuv_a_batch),
        cmocka_unit_test(test_abi_1_0_plugin_still_loads),
        cmocka_unit_test(test_plugin_needing_next_minor_is_refused),
        cmocka_unit_test(test_family_declares_min_minor_1),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
