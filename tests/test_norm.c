/* The normalisation layers (engine/norm.c): batchnorm (BatchNorm1d on vectors, BatchNorm2d on
 * images) and layernorm against PyTorch (tests/ref/make_norm_ref.py): training forward and
 * backward, running statistics after two training steps, evaluation forward and backward;
 * every gradient (input, gamma, beta) against finite differences, alone and inside a model;
 * initial values, tensor names in model.safetensors (buffers saved and loaded back), and the
 * errors. The experiments are built by hand as the config would resolve them. */
#include "base/errors.h"
#include "base/rng.h"
#include "config/experiment.h"
#include "config/pref.h"
#include "engine/layer.h"
#include "engine/loss.h"
#include "engine/model.h"
#include "plugin/registry.h"

#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "model_tests.h"

#include "ref/norm_ref.h"


/* Against torch in float64: fanin computes in float32 with double accumulators. */
#define REF_TOL(ref) (2e-5 + 2e-5 * fabs(ref))


/* Layer l of x as the config resolves a norm layer (gamma ones, beta zeros) or a dense one. */
static void layer(fanin_experiment *x, int l, int type, int units) {
    fanin__layer_spec *s = &x->layers[l];
    s->type = type;
    s->units = units;
    s->block = -1;
    s->eps = 1e-5;
    s->momentum = 0.1;
    s->activation = pref(FANIN_KIND_ACTIVATION, "linear");
    bool norm = type == FANIN_LAYER_BATCHNORM || type == FANIN_LAYER_LAYERNORM;
    s->init = pref(FANIN_KIND_INITIALIZER, norm ? "ones" : "xavier_normal");
    s->bias_init = pref(FANIN_KIND_INITIALIZER, norm ? "zeros" : "normal");
}

static fanin_experiment *experiment(int n_layers) {
    fanin_experiment *x = calloc(1, sizeof *x);
    x->n_layers = n_layers;
    x->layers = calloc((size_t)n_layers, sizeof *x->layers);
    x->optimizer = pref(FANIN_KIND_OPTIMIZER, "sgd");
    x->loss = FANIN_LOSS_MSE;
    x->seed = 7;
    x->lr = 0.1;
    x->source_file = "test";
    return x;
}


/* One norm layer of `type` on examples [c, h, w], buffers for cap rows, initialised. */
static fanin_model *one_layer(fanin_experiment **xp, int type, fanin__shape in, int cap, double eps,
                              double momentum) {
    fanin_experiment *x = experiment(1);
    layer(x, 0, type, 0);
    x->layers[0].eps = eps;
    x->layers[0].momentum = momentum;
    fanin_model *m;
    assert_int_equal(fanin__model_new_shaped(x, in, cap, &m, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    *xp = x;
    return m;
}

static void expect_near(const float *got, const float *want, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= REF_TOL(want[i])))
            fail_msg("%s[%zu]: fanin %.9g, torch %.9g", what, i, got[i], want[i]);
}

static int fwd(fanin__layer *L, const float *in, int n, int pass) {
    return L->kind->forward(L, in, n, pass, err, sizeof err);
}

static int bwd(fanin__layer *L, const float *in, float *d_in, int n) {
    return L->kind->backward(L, in, d_in, n, false, err, sizeof err);
}

/* ---- against PyTorch ---- */

static void check_batchnorm_ref(const norm_ref_bn *r) {
    fanin_experiment *x;
    fanin__shape in = {r->c, r->h, r->w};
    fanin_model *m = one_layer(&x, FANIN_LAYER_BATCHNORM, in, r->n, r->eps, r->momentum);
    fanin__layer *L = &m->layers[0];
    size_t cells = (size_t)r->n * L->n_out, C = (size_t)r->c;
    memcpy(L->P, r->gamma, C * sizeof(float));
    memcpy(L->P + C, r->beta, C * sizeof(float));
    float *dx = calloc(cells, sizeof *dx);
    assert_int_equal(fwd(L, r->x1, r->n, FANIN_PASS_TRAIN), FANIN_OK);
    expect_near(L->A, r->y1, cells, "train y");
    memcpy(L->dA, r->g1, cells * sizeof(float));
    assert_int_equal(bwd(L, r->x1, dx, r->n), FANIN_OK);
    expect_near(dx, r->dx1, cells, "train dx");
    expect_near(L->dP, r->dgamma, C, "dgamma");
    expect_near(L->dP + C, r->dbeta, C, "dbeta");
    assert_int_equal(fwd(L, r->x2, r->n, FANIN_PASS_TRAIN), FANIN_OK);
    expect_near(L->B, r->rmean, C, "running_mean");
    expect_near(L->B + C, r->rvar, C, "running_var");
    assert_int_equal(fwd(L, r->x3, r->n, FANIN_PASS_EVAL), FANIN_OK);
    expect_near(L->A, r->y3, cells, "eval y");
    memcpy(L->dA, r->g3, cells * sizeof(float));
    assert_int_equal(bwd(L, r->x3, dx, r->n), FANIN_OK);
    expect_near(dx, r->dx3, cells, "eval dx");
    free(dx);
    fanin__model_free(m);
    experiment_free(x);
}

static void test_batchnorm1d_against_torch(void **state) { check_batchnorm_ref(&norm_ref_bns[0]); }
static void test_batchnorm2d_against_torch(void **state) { check_batchnorm_ref(&norm_ref_bns[1]); }

static void check_layernorm_ref(const norm_ref_ln *r) {
    fanin_experiment *x;
    fanin__shape in = {r->c, r->h, r->w};
    fanin_model *m = one_layer(&x, FANIN_LAYER_LAYERNORM, in, r->n, r->eps, 0.1);
    fanin__layer *L = &m->layers[0];
    size_t cells = (size_t)r->n * L->n_out, K = (size_t)L->n_out;
    memcpy(L->P, r->gamma, K * sizeof(float));
    memcpy(L->P + K, r->beta, K * sizeof(float));
    float *dx = calloc(cells, sizeof *dx);
    for (int pass = FANIN_PASS_TRAIN; pass <= FANIN_PASS_EVAL; pass++) { /* the same in both */
        assert_int_equal(fwd(L, r->x, r->n, pass), FANIN_OK);
        expect_near(L->A, r->y, cells, "y");
        memcpy(L->dA, r->g, cells * sizeof(float));
        assert_int_equal(bwd(L, r->x, dx, r->n), FANIN_OK);
        expect_near(dx, r->dx, cells, "dx");
        expect_near(L->dP, r->dgamma, K, "dgamma");
        expect_near(L->dP + K, r->dbeta, K, "dbeta");
    }
    free(dx);
    fanin__model_free(m);
    experiment_free(x);
}

static void test_layernorm_vector_against_torch(void **state) {
    check_layernorm_ref(&norm_ref_lns[0]);
}
static void test_layernorm_image_against_torch(void **state) {
    check_layernorm_ref(&norm_ref_lns[1]);
}

/* ---- finite differences ---- */

/* sum(A * G) after a training forward of X, in double. */
static double probe(fanin__layer *L, const float *X, const float *G, int n) {
    assert_int_equal(fwd(L, X, n, FANIN_PASS_TRAIN), FANIN_OK);
    double s = 0;
    for (size_t i = 0; i < (size_t)n * L->n_out; i++) s += (double)L->A[i] * G[i];
    return s;
}

/* (f(v + h) - f(v - h)) / 2h for the float at v. */
static double numeric(fanin__layer *L, float *X, const float *G, int n, float *v) {
    const double h = 1e-2;
    float keep = *v;
    *v = keep + (float)h;
    double up = probe(L, X, G, n);
    *v = keep - (float)h;
    double down = probe(L, X, G, n);
    *v = keep;
    return (up - down) / (2 * h);
}

static void expect_fd(double ana, double num, const char *what, size_t i) {
    if (fabs(num - ana) > 2e-3 + 1e-2 * fabs(ana))
        fail_msg("%s[%zu]: analytic %.6g, numeric %.6g", what, i, ana, num);
}

/* d sum(A * G) / d(x, gamma, beta) from backward against finite differences (training pass:
 * batch statistics, so x's gradient runs through the mean and variance). */
static void check_fd(int type, fanin__shape in, int n) {
    fanin_experiment *x;
    fanin_model *m = one_layer(&x, type, in, n, 1e-5, 0.1);
    fanin__layer *L = &m->layers[0];
    size_t cells = (size_t)n * L->n_out;
    float *X = malloc(cells * sizeof *X), *G = malloc(cells * sizeof *G);
    float *dx = malloc(cells * sizeof *dx);
    fanin_rng r;
    fanin__rng_init(&r, 3, 0, 9);
    fanin__rng_fill_normal(&r, X, cells, 0.5, 2.0);
    fanin__rng_fill_normal(&r, G, cells, 0, 1);
    fanin__rng_fill_normal(&r, L->P, L->n_p, 1.0, 0.5);
    probe(L, X, G, n);
    memcpy(L->dA, G, cells * sizeof(float)); /* d sum(A * G) / dA = G */
    assert_int_equal(bwd(L, X, dx, n), FANIN_OK);
    float *dP = malloc(L->n_p * sizeof *dP);
    memcpy(dP, L->dP, L->n_p * sizeof *dP);
    for (size_t i = 0; i < cells; i++) expect_fd(dx[i], numeric(L, X, G, n, &X[i]), "dx", i);
    for (size_t i = 0; i < L->n_p; i++) expect_fd(dP[i], numeric(L, X, G, n, &L->P[i]), "dP", i);
    free(X), free(G), free(dx), free(dP);
    fanin__model_free(m);
    experiment_free(x);
}

static void test_batchnorm_gradients_fd(void **state) {
    check_fd(FANIN_LAYER_BATCHNORM, (fanin__shape){4, 1, 1}, 6);
    check_fd(FANIN_LAYER_BATCHNORM, (fanin__shape){3, 2, 3}, 2);
    check_fd(FANIN_LAYER_BATCHNORM, (fanin__shape){2, 2, 2}, 1); /* 2d: one image is enough */
}

static void test_layernorm_gradients_fd(void **state) {
    check_fd(FANIN_LAYER_LAYERNORM, (fanin__shape){5, 1, 1}, 3);
    check_fd(FANIN_LAYER_LAYERNORM, (fanin__shape){2, 3, 2}, 2);
}

/* dense 4 -> batchnorm -> layernorm -> dense 2 with the MSE loss: the model's backward through
 * both kinds (d_in of each) against finite differences of the loss in every parameter. */
static void test_norms_inside_a_model_fd(void **state) {
    enum { N = 5, IN = 3 };
    fanin_experiment *x = experiment(4);
    layer(x, 0, FANIN_LAYER_DENSE, 4);
    layer(x, 1, FANIN_LAYER_BATCHNORM, 0);
    layer(x, 2, FANIN_LAYER_LAYERNORM, 0);
    layer(x, 3, FANIN_LAYER_DENSE, 2);
    fanin_model *m;
    assert_int_equal(fanin__model_new(x, IN, N, &m, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    float X[N * IN], Y[N * 2];
    fanin_rng r;
    fanin__rng_init(&r, 5, 0, 9);
    fanin__rng_fill_normal(&r, X, N * IN, 0, 1);
    fanin__rng_fill_normal(&r, Y, N * 2, 0, 1);
    for (int l = 1; l <= 2; l++)
        fanin__rng_fill_normal(&r, m->layers[l].P, m->layers[l].n_p, 1, 0.3);
    assert_int_equal(fanin__model_forward(m, X, N, err, sizeof err), FANIN_OK);
    fanin__loss(m, Y, N, true);
    assert_int_equal(fanin__model_backward(m, X, N, err, sizeof err), FANIN_OK);
    const double h = 1e-2;
    for (size_t i = 0; i < m->n_params; i++) {
        float keep = m->params[i];
        double f[2];
        for (int s = 0; s < 2; s++) {
            m->params[i] = keep + (float)(s ? -h : h);
            assert_int_equal(fanin__model_forward(m, X, N, err, sizeof err), FANIN_OK);
            f[s] = fanin__loss(m, Y, N, false);
        }
        m->params[i] = keep;
        expect_fd(m->grads[i], (f[0] - f[1]) / (2 * h), "model param", i);
    }
    fanin__model_free(m);
    experiment_free(x);
}

/* ---- sizes, initial values, tensors ---- */

/* gamma from init, beta from bias_init (here normal(0.5, 0.1) from stream (seed, layer, bias));
 * running statistics reset to 0 and 1 by every init. */
static void test_batchnorm_init_and_sizes(void **state) {
    fanin_experiment *x = experiment(2);
    layer(x, 0, FANIN_LAYER_DENSE, 3);
    layer(x, 1, FANIN_LAYER_BATCHNORM, 0);
    free(x->layers[1].bias_init.params);
    x->layers[1].bias_init = pref(FANIN_KIND_INITIALIZER, "normal");
    x->layers[1].bias_init.params[0].f = 0.5; /* normal(mean, std) */
    x->layers[1].bias_init.params[1].f = 0.1;
    fanin_model *m;
    assert_int_equal(fanin__model_new_shaped(x, (fanin__shape){2, 1, 1}, 4, &m, err, sizeof err),
                     FANIN_OK);
    fanin__layer *L = &m->layers[1];
    assert_int_equal(m->n_params, 3 * 2 + 3 + 2 * 3);
    assert_int_equal(m->n_bufs, 2 * 3);
    assert_int_equal(L->n_b, 6);
    assert_null(L->W);
    assert_int_equal(L->w_rows, 0);
    for (int i = 0; i < 6; i++) L->B[i] = 9.0f;
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    float beta[3];
    fanin_rng r;
    fanin__rng_init(&r, x->seed, 1, FANIN_STREAM_BIAS);
    fanin__rng_fill_normal(&r, beta, 3, 0.5, 0.1);
    for (int c = 0; c < 3; c++) {
        assert_true(L->P[c] == 1.0f);
        assert_true(L->P[3 + c] == beta[c]);
        assert_true(L->B[c] == 0.0f && L->B[3 + c] == 1.0f);
    }
    fanin__model_free(m);
    experiment_free(x);
}

static void expect_tensor(const fanin__st_out *t, const char *name, int ndim, const int64_t *dims,
                          const float *data) {
    assert_string_equal(t->name, name);
    assert_int_equal(t->ndim, ndim);
    for (int d = 0; d < ndim; d++) assert_int_equal(t->shape[d], dims[d]);
    assert_ptr_equal(t->data, data);
}

/* torch's state_dict names and shapes: BatchNorm's four [C] tensors (parameters, then
 * buffers), LayerNorm's weight and bias of normalized_shape; a spec name replaces layers.N. */
static void test_tensor_names(void **state) {
    fanin_experiment *x = experiment(2);
    layer(x, 0, FANIN_LAYER_BATCHNORM, 0);
    layer(x, 1, FANIN_LAYER_LAYERNORM, 0);
    strcpy(x->layers[1].name, "layers.1.branch.0");
    fanin_model *m;
    assert_int_equal(fanin__model_new_shaped(x, (fanin__shape){2, 3, 4}, 2, &m, err, sizeof err),
                     FANIN_OK);
    fanin__st_out out[FANIN_LAYER_MAX_TENSORS];
    char names[FANIN_LAYER_MAX_TENSORS][64];
    const fanin__layer *B = &m->layers[0], *N = &m->layers[1];
    int64_t c[1] = {2}, chw[3] = {2, 3, 4};
    assert_int_equal(B->kind->tensors(B, out, names), 4);
    expect_tensor(&out[0], "layers.0.weight", 1, c, B->P);
    expect_tensor(&out[1], "layers.0.bias", 1, c, B->P + 2);
    expect_tensor(&out[2], "layers.0.running_mean", 1, c, B->B);
    expect_tensor(&out[3], "layers.0.running_var", 1, c, B->B + 2);
    assert_int_equal(N->kind->tensors(N, out, names), 2);
    expect_tensor(&out[0], "layers.1.branch.0.weight", 3, chw, N->P);
    expect_tensor(&out[1], "layers.1.branch.0.bias", 3, chw, N->P + 24);
    fanin__model_free(m);
    experiment_free(x);
}

/* model.safetensors holds the running statistics: saved, scrambled, loaded back. */
static void test_buffers_saved_and_loaded(void **state) {
    fanin_experiment *x;
    fanin_model *m = one_layer(&x, FANIN_LAYER_BATCHNORM, (fanin__shape){3, 1, 1}, 4, 1e-5, 0.1);
    for (int i = 0; i < 6; i++) m->bufs[i] = 0.25f * (float)(i + 1);
    char path[] = "/tmp/fanin-norm-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    assert_int_equal(fanin__model_save(m, path, NULL, err, sizeof err), FANIN_OK);
    for (int i = 0; i < 6; i++) m->bufs[i] = -1.0f;
    assert_int_equal(fanin__model_load(m, path, err, sizeof err), FANIN_OK);
    for (int i = 0; i < 6; i++) assert_true(m->bufs[i] == 0.25f * (float)(i + 1));
    unlink(path);
    fanin__model_free(m);
    experiment_free(x);
}

/* ---- passes and errors ---- */

/* PRE (the layer_forward service) normalises with batch statistics but leaves the running
 * ones alone; EVAL with running_mean 0 and running_var 1 is y = x / sqrt(1 + eps). */
static void test_batchnorm_passes(void **state) {
    fanin_experiment *x;
    fanin_model *m = one_layer(&x, FANIN_LAYER_BATCHNORM, (fanin__shape){2, 1, 1}, 3, 1e-5, 0.1);
    fanin__layer *L = &m->layers[0];
    const float X[6] = {1, 2, 3, -4, 5, 6};
    assert_int_equal(fwd(L, X, 3, FANIN_PASS_PRE), FANIN_OK);
    assert_true(L->B[0] == 0.0f && L->B[1] == 0.0f && L->B[2] == 1.0f && L->B[3] == 1.0f);
    assert_true(fabs(L->A[0] + L->A[2] + L->A[4]) < 1e-6);     /* batch mean removed */
    assert_int_equal(fwd(L, X, 1, FANIN_PASS_EVAL), FANIN_OK); /* one row is fine in eval */
    assert_true(fabs(L->A[1] - 2 / sqrt(1 + 1e-5)) < 1e-6);
    fanin__model_free(m);
    experiment_free(x);
}

/* Each wrong value is FANIN_ECONFIG naming the kind and what it needs (the model adds the
 * layer's place); a training batch of one vector cannot be normalised, as in PyTorch. */
static void expect_config_error(int type, double eps, double momentum, const char *want) {
    fanin_experiment *x = experiment(1);
    layer(x, 0, type, 0);
    x->layers[0].eps = eps;
    x->layers[0].momentum = momentum;
    fanin_model *m = NULL;
    int rc = fanin__model_new_shaped(x, (fanin__shape){3, 1, 1}, 2, &m, err, sizeof err);
    assert_int_equal(rc, FANIN_ECONFIG);
    assert_null(m);
    if (!strstr(err, want)) fail_msg("message '%s' lacks '%s'", err, want);
    assert_non_null(strstr(err, "layer 1"));
    experiment_free(x);
}

static void test_errors(void **state) {
    expect_config_error(FANIN_LAYER_BATCHNORM, 0, 0.1, "batchnorm needs eps > 0");
    expect_config_error(FANIN_LAYER_BATCHNORM, NAN, 0.1, "batchnorm needs eps > 0");
    expect_config_error(FANIN_LAYER_BATCHNORM, 1e-5, 1.5, "batchnorm needs momentum in [0, 1]");
    expect_config_error(FANIN_LAYER_BATCHNORM, 1e-5, -0.1, "got -0.1");
    expect_config_error(FANIN_LAYER_LAYERNORM, -1e-5, 0, "layernorm needs eps > 0");
    fanin_experiment *x;
    fanin_model *m = one_layer(&x, FANIN_LAYER_BATCHNORM, (fanin__shape){3, 1, 1}, 2, 1e-5, 0.1);
    const float X[3] = {1, 2, 3};
    assert_int_equal(fwd(&m->layers[0], X, 1, FANIN_PASS_TRAIN), FANIN_ECONFIG);
    assert_non_null(strstr(err, "more than one value per channel"));
    fanin__model_free(m);
    experiment_free(x);
}


int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batchnorm1d_against_torch),
        cmocka_unit_test(test_batchnorm2d_against_torch),
        cmocka_unit_test(test_layernorm_vector_against_torch),
        cmocka_unit_test(test_layernorm_image_against_torch),
        cmocka_unit_test(test_batchnorm_gradients_fd),
        cmocka_unit_test(test_layernorm_gradients_fd),
        cmocka_unit_test(test_norms_inside_a_model_fd),
        cmocka_unit_test(test_batchnorm_init_and_sizes),
        cmocka_unit_test(test_tensor_names),
        cmocka_unit_test(test_buffers_saved_and_loaded),
        cmocka_unit_test(test_batchnorm_passes),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, registry_setup, registry_teardown);
}
