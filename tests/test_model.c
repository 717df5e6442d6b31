/* The network's gradients against central finite differences, for every activation as the
 * hidden layers' and every loss; safetensors output; the training loop on a tiny problem. */
#include "base/errors.h"
#include "base/rng.h"
#include "config/experiment.h"
#include "config/pref.h"
#include "data/data.h"
#include "engine/loss.h"
#include "engine/model.h"
#include "engine/train.h"
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


/* A 3-layer experiment: in -> 5 -> 4 -> out with `hidden` activations. */
static fanin_experiment *experiment(const char *hidden, const char *output, int out, int loss) {
    fanin_experiment *x = calloc(1, sizeof *x);
    static const int units[] = {5, 4};
    x->n_layers = 3;
    x->layers = calloc(3, sizeof *x->layers);
    for (int l = 0; l < 3; l++) {
        x->layers[l].units = l < 2 ? units[l] : out;
        x->layers[l].activation = pref(FANIN_KIND_ACTIVATION, l < 2 ? hidden : output);
        x->layers[l].init = pref(FANIN_KIND_INITIALIZER, "xavier_normal");
        x->layers[l].bias_init = pref(FANIN_KIND_INITIALIZER, "normal");
        x->layers[l].bias_init.params[1].f = 0.1; /* normal(mean, std) */
    }
    x->optimizer = pref(FANIN_KIND_OPTIMIZER, "sgd");
    x->loss = loss;
    x->seed = 7;
    x->lr = 0.1;
    x->source_file = "test";
    return x;
}


/* A hash of the signs of every pre-activation: it changes when a perturbation crosses a
 * kink (relu at 0), where finite differences do not measure the derivative. */
static uint64_t kink_signature(const fanin_model *m, int n) {
    uint64_t h = 1469598103934665603u;
    for (int l = 0; l < m->n_layers; l++)
        for (int i = 0; i < n * m->layers[l].n_out; i++)
            if (!strcmp(m->layers[l].spec->activation.entry->plugin->name, "relu"))
                h = (h ^ (m->layers[l].Z[i] > 0)) * 1099511628211u;
    return h;
}

static double loss_at(fanin_model *m, const float *X, const float *Y, int n, uint64_t *sig) {
    assert_int_equal(fanin__model_forward(m, X, n, err, sizeof err), FANIN_OK);
    *sig = kink_signature(m, n);
    return fanin__loss(m, Y, n, false);
}

/* Every parameter's analytic gradient against (L(p+h) - L(p-h)) / 2h. */
static void check_gradients(const char *hidden, const char *output, int out, int loss) {
    enum { N = 6, IN = 3 };
    fanin_experiment *x = experiment(hidden, output, out, loss);
    fanin_model *m;
    assert_int_equal(fanin__model_new(x, IN, N, &m, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    float X[N * IN], Y[N * 4];
    fanin_rng r;
    fanin__rng_init(&r, 11, 0, 9);
    fanin__rng_fill_normal(&r, X, N * IN, 0, 1);
    for (int i = 0; i < N * out; i++)
        Y[i] = loss == FANIN_LOSS_MSE ? (float)fanin__rng_normal(&r)
                                      : (float)(i % (out == 1 ? 2 : out));
    assert_int_equal(fanin__model_forward(m, X, N, err, sizeof err), FANIN_OK);
    fanin__loss(m, Y, N, true);
    assert_int_equal(fanin__model_backward(m, X, N, err, sizeof err), FANIN_OK);
    const double h = 1e-3;
    uint64_t sig0 = kink_signature(m, N), sig_up, sig_down;
    size_t kinks = 0;
    for (size_t i = 0; i < m->n_params; i++) {
        float keep = m->params[i];
        m->params[i] = keep + (float)h;
        double up = loss_at(m, X, Y, N, &sig_up);
        m->params[i] = keep - (float)h;
        double down = loss_at(m, X, Y, N, &sig_down);
        m->params[i] = keep;
        if (sig_up != sig0 || sig_down != sig0) {
            kinks++;
            continue;
        }
        double num = (up - down) / (2 * h), ana = m->grads[i];
        if (fabs(num - ana) > 2e-3 + 2e-2 * fabs(ana))
            fail_msg("%s/%s/%s: param %zu: analytic %.6g, numeric %.6g", hidden, output,
                     fanin__loss_names[loss], i, ana, num);
    }
    assert_true(kinks * 10 < m->n_params); /* the check covered nearly every parameter */
    fanin__model_free(m);
    experiment_free(x);
}

static void test_gradients_bce_each_activation(void **state) {
    const char *acts[] = {"linear", "relu", "sigmoid", "tanh"};
    for (int a = 0; a < 4; a++) check_gradients(acts[a], "sigmoid", 1, FANIN_LOSS_BCE);
}

static void test_gradients_cross_entropy(void **state) {
    check_gradients("tanh", "linear", 3, FANIN_LOSS_CE);
    check_gradients("relu", "linear", 3, FANIN_LOSS_CE);
}

static void test_gradients_mse(void **state) {
    check_gradients("sigmoid", "linear", 2, FANIN_LOSS_MSE);
    check_gradients("relu", "tanh", 2, FANIN_LOSS_MSE);
}

/* The fused bce equals -(y log a + (1-y) log(1-a)) where that is finite, and stays finite
 * for logits that saturate the sigmoid. */
static void test_bce_fused_is_stable(void **state) {
    fanin_experiment *x = experiment("relu", "sigmoid", 1, FANIN_LOSS_BCE);
    fanin_model *m;
    assert_int_equal(fanin__model_new(x, 3, 2, &m, err, sizeof err), FANIN_OK);
    assert_true(m->fused_output);
    fanin__layer *L = &m->layers[2];
    L->Z[0] = 0.3f, L->A[0] = (float)(1 / (1 + exp(-0.3)));
    L->Z[1] = -200.0f, L->A[1] = 0.0f;
    float Y[2] = {1, 1};
    double l = fanin__loss(m, Y, 2, true);
    double expect = (-log(1 / (1 + exp(-0.3))) + 200.0) / 2;
    assert_true(fabs(l - expect) < 1e-5);
    assert_true(isfinite(L->dA[1]));
    fanin__model_free(m);
    experiment_free(x);
}

/* The file is valid safetensors: header length, JSON with names, shapes and offsets. */
static void test_save_safetensors_layout(void **state) {
    fanin_experiment *x = experiment("relu", "sigmoid", 1, FANIN_LOSS_BCE);
    fanin_model *m;
    assert_int_equal(fanin__model_new(x, 3, 2, &m, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    char path[] = "/tmp/fanin-st-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    assert_int_equal(fanin__model_save(m, path, "name: \"t\"\n", err, sizeof err), FANIN_OK);
    FILE *f = fopen(path, "rb");
    unsigned char len8[8];
    assert_int_equal(fread(len8, 1, 8, f), 8);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | len8[i];
    assert_int_equal(hl % 8, 0);
    char *hdr = calloc(1, hl + 1);
    assert_int_equal(fread(hdr, 1, hl, f), hl);
    assert_non_null(
        strstr(hdr,
               "\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[5,3],\"data_offsets\":[0,60]}"));
    assert_non_null(strstr(hdr, "\"layers.2.bias\":{\"dtype\":\"F32\",\"shape\":[1]"));
    assert_non_null(strstr(hdr, "\"config\":\"name: \\\"t\\\"\\n\""));
    float w0;
    assert_int_equal(fread(&w0, sizeof w0, 1, f), 1);
    assert_true(w0 == m->layers[0].W[0]);
    fseek(f, 0, SEEK_END);
    assert_int_equal((uint64_t)ftell(f), 8 + hl + m->n_params * sizeof(float));
    fclose(f);
    free(hdr);
    unlink(path);
    fanin__model_free(m);
    experiment_free(x);
}

/* Adding a layer leaves the other layers' initial weights unchanged (one stream each). */
static void test_init_streams_independent_of_depth(void **state) {
    fanin_experiment *a = experiment("relu", "sigmoid", 1, FANIN_LOSS_BCE);
    fanin_experiment *b = experiment("relu", "sigmoid", 1, FANIN_LOSS_BCE);
    b->n_layers = 2; /* the same first two layers, no third */
    fanin_model *ma, *mb;
    assert_int_equal(fanin__model_new(a, 3, 2, &ma, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_new(b, 3, 2, &mb, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_init_params(ma, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_init_params(mb, err, sizeof err), FANIN_OK);
    assert_memory_equal(ma->layers[1].W, mb->layers[1].W, sizeof(float) * 5 * 4);
    assert_memory_equal(ma->layers[0].b, mb->layers[0].b, sizeof(float) * 5);
    fanin__model_free(ma);
    fanin__model_free(mb);
    b->n_layers = 3;
    experiment_free(a);
    experiment_free(b);
}

/* Full-batch training on a separable problem lowers the loss and fits it. */
static void test_train_fits_separable_data(void **state) {
    enum { N = 64 };
    fanin_experiment *x = experiment("tanh", "sigmoid", 1, FANIN_LOSS_BCE);
    x->iterations = 300;
    x->log_every = 100;
    fanin_dataset d = {.n_train = N, .n_test = N, .n_features = 3, .n_classes = 2, .y_dim = 1};
    float X[N * 3], Y[N];
    fanin_rng r;
    fanin__rng_init(&r, 5, 0, 9);
    fanin__rng_fill_normal(&r, X, N * 3, 0, 1);
    for (int i = 0; i < N; i++) Y[i] = X[i * 3] + X[i * 3 + 1] > 0;
    d.x_train = d.x_test = X;
    d.y_train = d.y_test = Y;
    fanin_model *m;
    assert_int_equal(fanin__model_new(x, 3, N, &m, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    fanin__result res;
    assert_int_equal(fanin__train(m, &d, NULL, &res, err, sizeof err), FANIN_OK);
    assert_int_equal(res.status, FANIN_OK);
    assert_int_equal(res.iterations, 300);
    assert_true(res.final_loss < 0.3);
    assert_true(res.train_acc > 0.9);
    fanin__model_free(m);
    experiment_free(x);
}


int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients_bce_each_activation),
        cmocka_unit_test(test_gradients_cross_entropy),
        cmocka_unit_test(test_gradients_mse),
        cmocka_unit_test(test_bce_fused_is_stable),
        cmocka_unit_test(test_save_safetensors_layout),
        cmocka_unit_test(test_init_streams_independent_of_depth),
        cmocka_unit_test(test_train_fits_separable_data),
    };
    return cmocka_run_group_tests(tests, registry_setup, registry_teardown);
}
