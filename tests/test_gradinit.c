/* Gradients at initialisation (plugin ABI 1.2: fanin_host.init_loss_grad and init_weight,
 * core/engine/init_grad.c) and the initializers using them, metainit and gradinit: on a relu
 * MLP over the synthetic spiral each lowers its objective (gradinit's recomputed here from the
 * service, independently of the plugin), rescales the hidden layers, gives the same weights for
 * the same seed and others for another seed, leaves no host allocation behind; without labels
 * the error says what is missing.
 */
#include "base/errors.h"
#include "config/experiment.h"
#include "data/data.h"
#include "engine/model.h"
#include "plugin/host.h"
#include "plugin/registry.h"

#include <stdint.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static fanin_registry *reg;
static char err[FANIN_ERRLEN];

static int setup(void **state) {
    int rc = fanin__registry_new(&reg, NULL, 0, err, sizeof err);
    if (rc != FANIN_OK) fprintf(stderr, "registry: %s\n", err);
    return rc;
}

static int teardown(void **state) {
    fanin__registry_free(reg);
    return 0;
}

/* A 3-hidden-layer relu MLP on the spiral whose output layer's init is `init` (YAML flow). */
static fanin_experiment *experiment(const char *init, int seed) {
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "name: t\nseed: %d\n"
             "data: {source: synthetic, kind: spiral, n: 400, train: 300, test: 100}\n"
             "model:\n  defaults: {activation: relu, init: he_normal, bias_init: zeros}\n"
             "  layers:\n    - {units: 16, repeat: 3}\n"
             "    - {units: 3, activation: linear, init: %s}\n"
             "loss: cross_entropy\noptimizer: {name: sgd, lr: 0.1}\n",
             seed, init);
    fanin_config *c;
    fanin_experiment *x;
    if (fanin__config_parse(&c, "/exp/g.yaml", yaml, strlen(yaml), err, sizeof err) != FANIN_OK)
        fail_msg("parse: %s", err);
    int rc = fanin__config_resolve(c, 0, reg, &x, err, sizeof err);
    fanin__config_free(c);
    if (rc != FANIN_OK) fail_msg("resolve: %s", err);
    return x;
}

typedef struct built {
    fanin_experiment *x;
    fanin_dataset *d;
    fanin_model *m;
} built;

/* Build and initialise; labels unless no_labels. Returns init_params' code. */
static int build(built *b, const char *init, int seed, int no_labels) {
    b->x = experiment(init, seed);
    if (fanin__data_load(&b->x->data, b->x->seed, &b->d, err, sizeof err) != FANIN_OK)
        fail_msg("%s", err);
    assert_int_equal(fanin__model_new(b->x, b->d->n_features, 200, &b->m, err, sizeof err),
                     FANIN_OK);
    fanin__model_set_init_batch(b->m, b->d->x_train, b->d->n_train);
    if (!no_labels) fanin__model_set_init_labels(b->m, b->d->y_train);
    return fanin__model_init_params(b->m, err, sizeof err);
}

static void drop(built *b) {
    fanin__model_free(b->m);
    fanin__data_free(b->d);
    fanin__experiment_free(b->x);
}

/* GradInit's objective with penalty 0, recomputed through the engine's service: the loss on the
 * init batch after W -= eta dL/dW on every weight tensor (biases kept). */
static double one_step_loss(fanin_model *m, double eta) {
    fanin__forward_user u = {m, m->n_layers - 1};
    double loss;
    int32_t k;
    assert_int_equal(fanin__model_init_grad.eval(&u, &loss, &k, err, sizeof err), FANIN_OK);
    assert_int_equal(k, 4);
    for (int32_t i = 0; i < k; i++) {
        float *w;
        const float *g;
        int64_t n;
        assert_int_equal(fanin__model_init_grad.weight(&u, i, &w, &g, &n, err, sizeof err), 0);
        for (int64_t j = 0; j < n; j++) w[j] -= (float)(eta * g[j]);
    }
    assert_int_equal(fanin__model_init_grad.eval(&u, &loss, &k, err, sizeof err), FANIN_OK);
    return loss;
}

/* Frobenius norm of layer l's W. */
static double wnorm(const fanin_model *m, int l) {
    const fanin__layer *L = &m->layers[l];
    double ss = 0;
    for (int j = 0; j < L->w_rows * L->w_cols; j++) ss += (double)L->W[j] * L->W[j];
    return sqrt(ss);
}

#define GRADINIT "{name: gradinit, steps: %d, eta: 0.5, penalty: 0}"

static void test_gradinit_lowers_its_objective(void **state) {
    char s0[128], s8[128];
    snprintf(s0, sizeof s0, GRADINIT, 0);
    snprintf(s8, sizeof s8, GRADINIT, 8);
    built a, b;
    long live = fanin__host_live_allocs();
    if (build(&a, s0, 3, 0) != FANIN_OK) fail_msg("%s", err);
    if (build(&b, s8, 3, 0) != FANIN_OK) fail_msg("%s", err);
    assert_int_equal(fanin__host_live_allocs(), live);
    double n0 = wnorm(a.m, 0), n8 = wnorm(b.m, 0);
    assert_true(fabs(n0 - n8) > 1e-4 * n0); /* the first layer was rescaled too */
    double f0 = one_step_loss(a.m, 0.5), f8 = one_step_loss(b.m, 0.5);
    print_message("gradinit: loss after one step %g -> %g; |W_0| %g -> %g\n", f0, f8, n0, n8);
    if (!(f8 < f0 - 1e-4)) fail_msg("loss after one step: %g without gradinit, %g with", f0, f8);
    drop(&a);
    drop(&b);
}

static char info[FANIN_ERRLEN];
static void capture(int level, const char *plugin, const char *msg) {
    if (strstr(msg, "quotient")) snprintf(info, sizeof info, "%s", msg);
}

static void test_metainit_lowers_gradient_quotient(void **state) {
    built b;
    info[0] = '\0';
    fanin__host_set_log(capture);
    int rc = build(&b, "{name: metainit, steps: 4}", 3, 0);
    fanin__host_set_log(NULL);
    if (rc != FANIN_OK) fail_msg("%s", err);
    double q0, q1;
    if (sscanf(info, "metainit: gradient quotient %lf -> %lf", &q0, &q1) != 2)
        fail_msg("no quotient logged: '%s'", info);
    print_message("metainit: gradient quotient %g -> %g\n", q0, q1);
    if (!(q1 < q0 && q1 > 0)) fail_msg("gradient quotient %g -> %g", q0, q1);
    drop(&b);
}

/* The same seed gives the same weights; another seed others. */
static void test_reproducible_from_seed(void **state) {
    const char *inits[] = {"{name: metainit, steps: 2}", "{name: gradinit, steps: 2}"};
    for (int i = 0; i < 2; i++) {
        built a, b, c;
        if (build(&a, inits[i], 7, 0) || build(&b, inits[i], 7, 0) || build(&c, inits[i], 8, 0))
            fail_msg("%s", err);
        size_t bytes = a.m->n_params * sizeof(float);
        assert_memory_equal(a.m->params, b.m->params, bytes);
        assert_memory_not_equal(a.m->params, c.m->params, bytes);
        drop(&a);
        drop(&b);
        drop(&c);
    }
}

static void test_without_labels_says_so(void **state) {
    built b;
    assert_int_equal(build(&b, "metainit", 3, 1), FANIN_ENOTSUP);
    assert_non_null(strstr(err, "metainit needs the loss's gradient at init"));
    drop(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradinit_lowers_its_objective),
        cmocka_unit_test(test_metainit_lowers_gradient_quotient),
        cmocka_unit_test(test_reproducible_from_seed),
        cmocka_unit_test(test_without_labels_says_so),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
