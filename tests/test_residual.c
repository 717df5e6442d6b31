/* Residual blocks (engine/residual.c): forward and backward against PyTorch (tests/ref/
 * make_residual_ref.py) for the four scales with and without a projection, stacked blocks and
 * a 1x1 projection on images; every gradient against finite differences, nested blocks
 * included; the scales' initial values; the shape errors; the layer_forward service (LSUV)
 * through blocks; the tensors' names in model.safetensors. The experiments are built by hand
 * as the config lays a residual item out: open, the branch's layers, close. */
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

#include "ref/residual_ref.h"


/* What the test nets are made of: `blocks` residual blocks (branch: dense `hidden` with
 * branch_act, dense `width` linear, or with `conv` two 3x3 conv2d of those channels, padding
 * same; no branch when hidden is 0), then a linear dense `head`. */
typedef struct net {
    int scale, projection, blocks, hidden, width, head;
    const char *act, *branch_act;
    bool nested; /* one block holding another: open, open, dense, close, dense, close */
    bool conv;
} net;

static net mk(int scale, int projection, int blocks, int hidden, int width, int head,
              const char *act, const char *branch_act) {
    return (net){scale, projection, blocks, hidden, width, head, act, branch_act, false, false};
}

static void layer(fanin_experiment *x, int l, int type, int units, const char *act) {
    fanin__layer_spec *s = &x->layers[l];
    s->type = type;
    s->units = s->channels = units;
    s->kernel = 3;
    s->stride = 1;
    s->padding = FANIN_PAD_SAME;
    s->bias = true;
    s->block = -1;
    s->activation = pref(FANIN_KIND_ACTIVATION, act);
    s->init = pref(FANIN_KIND_INITIALIZER, "xavier_normal");
    s->bias_init = pref(FANIN_KIND_INITIALIZER, "normal");
    s->bias_init.params[1].f = 0.1; /* normal(mean, std) */
}

/* The close of the open at layer o, at layer c. */
static void join(fanin_experiment *x, const net *t, int o, int c) {
    layer(x, o, FANIN_LAYER_RESIDUAL_OPEN, 0, "linear");
    layer(x, c, FANIN_LAYER_RESIDUAL_CLOSE, 0, t->act);
    x->layers[o].link = c;
    x->layers[c].link = o;
    x->layers[c].scale = t->scale;
    x->layers[c].scale_init = 0.5;
    x->layers[c].projection = t->projection;
}

static fanin_experiment *experiment(const net *t) {
    fanin_experiment *x = calloc(1, sizeof *x);
    int per = 2 + (t->hidden ? 2 : 0);
    x->n_layers = t->nested ? 6 + (t->head > 0) : t->blocks * per + (t->head > 0);
    x->layers = calloc((size_t)x->n_layers, sizeof *x->layers);
    if (t->nested) {
        join(x, t, 0, 5);
        join(x, t, 1, 3);
        layer(x, 2, FANIN_LAYER_DENSE, t->width, t->branch_act);
        layer(x, 4, FANIN_LAYER_DENSE, t->width, t->branch_act);
    }
    for (int b = 0; !t->nested && b < t->blocks; b++) {
        int o = b * per;
        join(x, t, o, o + per - 1);
        if (t->hidden) {
            int kind = t->conv ? FANIN_LAYER_CONV2D : FANIN_LAYER_DENSE;
            layer(x, o + 1, kind, t->hidden, t->branch_act);
            layer(x, o + 2, kind, t->width, "linear");
        }
    }
    if (t->head) layer(x, x->n_layers - 1, FANIN_LAYER_DENSE, t->head, "linear");
    x->optimizer = pref(FANIN_KIND_OPTIMIZER, "sgd");
    x->loss = FANIN_LOSS_MSE;
    x->seed = 7;
    x->lr = 0.1;
    x->source_file = "test";
    return x;
}


enum { FWD_N = 8 };

static void init_batch(float *X, int n) {
    fanin_rng r;
    fanin__rng_init(&r, 3, 0, 9);
    fanin__rng_fill_normal(&r, X, (size_t)n, 0, 1);
}

static void assert_close(const char *what, const float *got, const float *want, int n, double tol) {
    for (int i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= tol * (1 + fabs((double)want[i]))))
            fail_msg("%s[%d]: fanin %.9g, torch %.9g", what, i, got[i], want[i]);
}

/* d(sum y * g)/dx [n, n_in] through the first layer (an open: its backward only adds). */
static void input_gradient(fanin_model *m, const float *X, float *dX, int n) {
    fanin__layer *L = &m->layers[0];
    assert_int_equal(L->kind->backward(L, X, dX, n, false, err, sizeof err), FANIN_OK);
}

/* Forward y, then backward from dy = g: y, the parameter gradients and dx as torch's. */
static void check_against_torch(const residual_ref *r) {
    net t = mk(r->scale, r->projection, r->blocks, r->hidden, r->width, r->head, r->act, "relu");
    t.conv = r->h * r->w > 1;
    fanin_experiment *x = experiment(&t);
    fanin_model *m;
    int rc = fanin__model_new_shaped(x, (fanin__shape){r->c, r->h, r->w}, r->n, &m, err,
                                     sizeof err);
    if (rc < 0) fail_msg("%s: %s", r->name, err);
    assert_int_equal(m->n_params, r->n_params);
    memcpy(m->params, r->params, sizeof(float) * (size_t)r->n_params);
    assert_int_equal(fanin__model_forward(m, r->x, r->n, err, sizeof err), FANIN_OK);
    fanin__layer *last = &m->layers[m->n_layers - 1];
    assert_int_equal(last->n_out, r->n_out);
    char what[64];
    snprintf(what, sizeof what, "%s: y", r->name);
    assert_close(what, last->A, r->y, r->n * r->n_out, 1e-5);
    memcpy(last->dA, r->g, sizeof(float) * (size_t)r->n * r->n_out);
    assert_int_equal(fanin__model_backward(m, r->x, r->n, err, sizeof err), FANIN_OK);
    snprintf(what, sizeof what, "%s: grads", r->name);
    assert_close(what, m->grads, r->grads, r->n_params, 1e-5);
    int n_x = r->n * r->c * r->h * r->w;
    float *dX = calloc((size_t)n_x, sizeof *dX);
    input_gradient(m, r->x, dX, r->n);
    snprintf(what, sizeof what, "%s: dx", r->name);
    assert_close(what, dX, r->dx, n_x, 1e-5);
    free(dX);
    fanin__model_free(m);
    experiment_free(x);
}

static void test_forward_backward_match_torch(void **state) {
    for (int k = 0; k < RESIDUAL_REF_N; k++) check_against_torch(&residual_refs[k]);
}

/* sum over the output of y * g, in double. */
static double loss_at(fanin_model *m, const float *X, const float *G, int n) {
    assert_int_equal(fanin__model_forward(m, X, n, err, sizeof err), FANIN_OK);
    const fanin__layer *L = &m->layers[m->n_layers - 1];
    double s = 0;
    for (int i = 0; i < n * L->n_out; i++) s += (double)L->A[i] * G[i];
    return s;
}

/* (L(v+h) - L(v-h)) / 2h against the analytic gradient, for one float v. */
static void check_one(fanin_model *m, float *v, double ana, const float *X, const float *G, int n,
                      const char *what, size_t i) {
    const double h = 1e-3;
    float keep = *v;
    *v = keep + (float)h;
    double up = loss_at(m, X, G, n);
    *v = keep - (float)h;
    double down = loss_at(m, X, G, n);
    *v = keep;
    double num = (up - down) / (2 * h);
    if (fabs(num - ana) > 2e-3 + 2e-2 * fabs(ana))
        fail_msg("%s %zu: analytic %.6g, numeric %.6g", what, i, ana, num);
}

/* Every parameter's and input's gradient of sum(y * G) against central differences, with the
 * scales moved off their initial values (a zero alpha would hide the branch's gradients). */
static void check_gradients(const net *t, fanin__shape in) {
    enum { N = 4 };
    fanin_experiment *x = experiment(t);
    fanin_model *m;
    assert_int_equal(fanin__model_new_shaped(x, in, N, &m, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    for (int l = 0; l < m->n_layers; l++) {
        if (x->layers[l].type != FANIN_LAYER_RESIDUAL_CLOSE || t->scale == FANIN_SCALE_ONE)
            continue;
        m->layers[l].P[0] = 0.6f + 0.1f * (float)l;                   /* alpha */
        if (t->scale == FANIN_SCALE_FIXUP) m->layers[l].P[1] = -0.3f; /* beta */
    }
    int n_in = (int)fanin__shape_size(in), n_out = m->layers[m->n_layers - 1].n_out;
    float *X = malloc(sizeof(float) * N * n_in), *dX = malloc(sizeof(float) * N * n_in);
    float *G = malloc(sizeof(float) * N * n_out);
    fanin_rng r;
    fanin__rng_init(&r, 11, 0, 9);
    fanin__rng_fill_normal(&r, X, (size_t)N * n_in, 0, 1);
    fanin__rng_fill_normal(&r, G, (size_t)N * n_out, 0, 1);
    loss_at(m, X, G, N);
    memcpy(m->layers[m->n_layers - 1].dA, G, sizeof(float) * N * n_out);
    assert_int_equal(fanin__model_backward(m, X, N, err, sizeof err), FANIN_OK);
    input_gradient(m, X, dX, N);
    float *ana = malloc(sizeof(float) * (m->n_params + 1));
    memcpy(ana, m->grads, sizeof(float) * m->n_params);
    for (size_t i = 0; i < m->n_params; i++)
        check_one(m, &m->params[i], ana[i], X, G, N, "param", i);
    for (int i = 0; i < N * n_in; i++) check_one(m, &X[i], dX[i], X, G, N, "input", (size_t)i);
    free(ana);
    free(X);
    free(dX);
    free(G);
    fanin__model_free(m);
    experiment_free(x);
}

static void test_gradients_finite_differences(void **state) {
    fanin__shape vec4 = {4, 1, 1}, vec3 = {3, 1, 1};
    for (int s = FANIN_SCALE_ONE; s <= FANIN_SCALE_FIXUP; s++) {
        net same = mk(s, 0, 1, 5, 4, 0, "tanh", "tanh");
        check_gradients(&same, vec4);
        net proj = mk(s, 1, 1, 5, 6, 0, "sigmoid", "tanh");
        check_gradients(&proj, vec3);
    }
    net stack = mk(FANIN_SCALE_SKIPINIT, 0, 3, 5, 4, 2, "tanh", "tanh");
    check_gradients(&stack, vec4);
    net nested = mk(FANIN_SCALE_FIXUP, 0, 1, 0, 4, 3, "tanh", "tanh");
    nested.nested = true;
    check_gradients(&nested, vec4);
    net image = mk(FANIN_SCALE_REZERO, 1, 1, 0, 2, 0, "tanh", "tanh");
    check_gradients(&image, (fanin__shape){2, 2, 3});
    net conv = mk(FANIN_SCALE_FIXUP, 1, 2, 3, 4, 0, "tanh", "tanh");
    conv.conv = true;
    check_gradients(&conv, (fanin__shape){2, 3, 3});
}

/* A block as the last layer with a sigmoid after the sum and bce: the loss writes dZ (fused),
 * and the close takes it as is; every parameter's gradient against finite differences. */
static void test_fused_bce_output(void **state) {
    enum { N = 6 };
    net t = mk(FANIN_SCALE_SKIPINIT, 1, 1, 5, 1, 0, "sigmoid", "tanh");
    fanin_experiment *x = experiment(&t);
    x->loss = FANIN_LOSS_BCE;
    fanin_model *m;
    assert_int_equal(fanin__model_new(x, 3, N, &m, err, sizeof err), FANIN_OK);
    assert_true(m->fused_output);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    m->layers[3].P[0] = 0.8f;
    float X[N * 3], Y[N] = {1, 0, 0, 1, 1, 0};
    init_batch(X, N * 3);
    assert_int_equal(fanin__model_forward(m, X, N, err, sizeof err), FANIN_OK);
    fanin__loss(m, Y, N, true);
    assert_int_equal(fanin__model_backward(m, X, N, err, sizeof err), FANIN_OK);
    const double h = 1e-3;
    for (size_t i = 0; i < m->n_params; i++) {
        float keep = m->params[i];
        double l[2];
        for (int k = 0; k < 2; k++) {
            m->params[i] = keep + (float)(k ? -h : h);
            assert_int_equal(fanin__model_forward(m, X, N, err, sizeof err), FANIN_OK);
            l[k] = fanin__loss(m, Y, N, false);
        }
        m->params[i] = keep;
        double num = (l[0] - l[1]) / (2 * h), ana = m->grads[i];
        if (fabs(num - ana) > 1e-3 + 2e-2 * fabs(ana))
            fail_msg("param %zu: analytic %.6g, numeric %.6g", i, ana, num);
    }
    fanin__model_free(m);
    experiment_free(x);
}

/* ReZero starts at 0, SkipInit at its init, Fixup at multiplier 1 and bias 0; scale 1 has no
 * parameter; the projection is the close's W [out, in], the open has none. */
static void test_init_scales(void **state) {
    const float want[4][2] = {{0, 0}, {0, 0}, {0.5f, 0}, {1, 0}};
    for (int s = FANIN_SCALE_ONE; s <= FANIN_SCALE_FIXUP; s++) {
        net t = mk(s, 1, 1, 5, 6, 0, "relu", "relu");
        fanin_experiment *x = experiment(&t);
        fanin_model *m;
        assert_int_equal(fanin__model_new(x, 3, 2, &m, err, sizeof err), FANIN_OK);
        for (size_t i = 0; i < m->n_params; i++) m->params[i] = 9.0f;
        assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
        const fanin__layer *o = &m->layers[0], *c = &m->layers[3];
        assert_null(o->W);
        assert_int_equal(o->w_rows, 0);
        assert_int_equal(o->n_p, 0);
        size_t k = s == FANIN_SCALE_ONE ? 0 : s == FANIN_SCALE_FIXUP ? 2 : 1;
        assert_int_equal(c->n_p, k + 6 * 3 + 6);
        for (size_t i = 0; i < k; i++) assert_true(c->P[i] == want[s][i]);
        assert_ptr_equal(c->W, c->P + k);
        assert_int_equal(c->w_rows, 6);
        assert_int_equal(c->w_cols, 3);
        for (int i = 0; i < 18; i++) assert_true(c->W[i] != 9.0f && c->W[i] != 0.0f);
        fanin__model_free(m);
        experiment_free(x);
    }
}

static void expect_shape_error(fanin_experiment *x, fanin__shape in, const char *want) {
    fanin_model *m = NULL;
    assert_int_equal(fanin__model_new_shaped(x, in, 2, &m, err, sizeof err), FANIN_ECONFIG);
    assert_null(m);
    if (!strstr(err, want)) fail_msg("error '%s' lacks '%s'", err, want);
}

static void test_shape_errors(void **state) {
    net t = mk(FANIN_SCALE_REZERO, 0, 1, 5, 6, 0, "relu", "relu");
    fanin_experiment *x = experiment(&t);
    expect_shape_error(x, (fanin__shape){3, 1, 1},
                       "a residual branch changing the width from 3 to 6 needs projection: true");
    x->layers[0].link = 2; /* the open points at a dense layer */
    expect_shape_error(x, (fanin__shape){6, 1, 1}, "has no matching end");
    x->layers[0].type = FANIN_LAYER_DENSE; /* a close without an open */
    x->layers[0].units = 6;
    expect_shape_error(x, (fanin__shape){6, 1, 1}, "has no matching start");
    experiment_free(x);
    t = mk(FANIN_SCALE_ONE, 0, 1, 3, 4, 0, "relu", "relu");
    t.conv = true;
    x = experiment(&t);
    fanin__shape img = {2, 5, 5};
    expect_shape_error(x, img,
                       "a residual branch changing the shape from [2, 5, 5] to [4, 5, 5] "
                       "needs projection: true");
    x->layers[3].projection = true;
    x->layers[2].stride = 2;
    x->layers[2].padding = 0;
    expect_shape_error(x, img, "from [2, 5, 5] to [4, 2, 2] cannot be added to its input");
    x->layers[2].type = FANIN_LAYER_FLATTEN; /* an image branch ending in a vector */
    expect_shape_error(x, img,
                       "a residual branch turning [2, 5, 5] into [75] cannot be added "
                       "to its input; move flatten");
    experiment_free(x);
}

/* out [n, m] = A [n, k] . W^T (W [m, k]), in double. */
static void times_wt(const float *A, const float *W, int n, int k, int m, float *out) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            double z = 0;
            for (int c = 0; c < k; c++) z += (double)A[i * k + c] * W[j * k + c];
            out[i * m + j] = (float)z;
        }
}

/* layer_forward (what LSUV measures) through blocks: a layer after two blocks sees their
 * output, without its own bias. */
static void test_layer_forward_through_blocks(void **state) {
    net t = mk(FANIN_SCALE_SKIPINIT, 0, 2, 5, 4, 3, "relu", "tanh");
    fanin_experiment *x = experiment(&t);
    fanin_model *m;
    assert_int_equal(fanin__model_new(x, 4, FWD_N, &m, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    float X[FWD_N * 4], want[FWD_N * 3];
    init_batch(X, FWD_N * 4);
    assert_int_equal(fanin__model_forward(m, X, FWD_N, err, sizeof err), FANIN_OK);
    times_wt(m->layers[7].A, m->layers[8].W, FWD_N, 4, 3, want); /* close 2 -> head */
    fanin__model_set_init_batch(m, X, FWD_N);
    const float *z;
    int64_t rows, cols;
    assert_int_equal(fanin__model_layer_forward(m, 8, &z, &rows, &cols, err, sizeof err), FANIN_OK);
    assert_int_equal(rows, FWD_N);
    assert_int_equal(cols, 3);
    assert_close("head z", z, want, FWD_N * 3, 1e-5);
    fanin__model_free(m);
    experiment_free(x);
}

/* LSUV as every layer's init, the projections' included: each weight layer's layer_forward
 * output ends with variance 1; a close's shows x.P^T. */
static void test_lsuv_through_blocks(void **state) {
    net p = mk(FANIN_SCALE_ONE, 1, 2, 5, 6, 3, "relu", "tanh");
    fanin_experiment *x = experiment(&p);
    for (int l = 0; l < x->n_layers; l++) {
        free(x->layers[l].init.params);
        x->layers[l].init = pref(FANIN_KIND_INITIALIZER, "lsuv");
        x->layers[l].init.params[0].f = 0.01; /* tol */
    }
    fanin_model *m;
    float X[FWD_N * 4], proj[FWD_N * 6];
    init_batch(X, FWD_N * 4);
    assert_int_equal(fanin__model_new(x, 4, FWD_N, &m, err, sizeof err), FANIN_OK);
    fanin__model_set_init_batch(m, X, FWD_N);
    if (fanin__model_init_params(m, err, sizeof err) < 0) fail_msg("%s", err);
    const int measured[] = {1, 2, 3, 5, 6, 7, 8}; /* dense, dense, close (projection), ... */
    const float *z;
    int64_t rows, cols;
    for (int i = 0; i < 7; i++) {
        int rc = fanin__model_layer_forward(m, measured[i], &z, &rows, &cols, err, sizeof err);
        assert_int_equal(rc, FANIN_OK);
        double s = 0, ss = 0, cnt = (double)(rows * cols);
        for (int64_t k = 0; k < rows * cols; k++) s += z[k], ss += (double)z[k] * z[k];
        double var = ss / cnt - (s / cnt) * (s / cnt);
        if (fabs(var - 1) > 0.011) fail_msg("layer %d: variance %g after lsuv", measured[i], var);
    }
    times_wt(X, m->layers[3].W, FWD_N, 4, 6, proj);
    assert_int_equal(fanin__model_layer_forward(m, 3, &z, &rows, &cols, err, sizeof err), FANIN_OK);
    assert_close("projection z", z, proj, FWD_N * 6, 1e-5);
    fanin__model_free(m);
    experiment_free(x);
}

/* model.safetensors: "<name>.alpha" [1], "<name>.beta" [1], "<name>.proj.weight" [out, in],
 * "<name>.proj.bias" [out]; loading them back restores the parameters. */
static void test_tensor_names_and_reload(void **state) {
    net t = mk(FANIN_SCALE_FIXUP, 1, 1, 5, 6, 0, "relu", "relu");
    fanin_experiment *x = experiment(&t);
    snprintf(x->layers[3].name, sizeof x->layers[3].name, "layers.0.2");
    fanin_model *m;
    assert_int_equal(fanin__model_new(x, 3, 2, &m, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    m->layers[3].P[0] = 0.25f;
    char path[] = "/tmp/fanin-res-XXXXXX";
    close(mkstemp(path));
    assert_int_equal(fanin__model_save(m, path, NULL, err, sizeof err), FANIN_OK);
    FILE *f = fopen(path, "rb");
    char hdr[4096] = {0};
    assert_true(fread(hdr, 1, sizeof hdr - 1, f) > 8);
    fclose(f);
    const char *names[] = {"\"layers.0.2.alpha\":{\"dtype\":\"F32\",\"shape\":[1]",
                           "\"layers.0.2.beta\":{\"dtype\":\"F32\",\"shape\":[1]",
                           "\"layers.0.2.proj.weight\":{\"dtype\":\"F32\",\"shape\":[6,3]",
                           "\"layers.0.2.proj.bias\":{\"dtype\":\"F32\",\"shape\":[6]"};
    for (int i = 0; i < 4; i++)
        if (!strstr(hdr + 8, names[i])) fail_msg("no %s in %s", names[i], hdr + 8);
    float *keep = malloc(sizeof(float) * m->n_params);
    memcpy(keep, m->params, sizeof(float) * m->n_params);
    memset(m->params, 0, sizeof(float) * m->n_params);
    assert_int_equal(fanin__model_load(m, path, err, sizeof err), FANIN_OK);
    assert_memory_equal(keep, m->params, sizeof(float) * m->n_params);
    free(keep);
    unlink(path);
    fanin__model_free(m);
    experiment_free(x);
}


int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_backward_match_torch),
        cmocka_unit_test(test_gradients_finite_differences),
        cmocka_unit_test(test_fused_bce_output),
        cmocka_unit_test(test_init_scales),
        cmocka_unit_test(test_shape_errors),
        cmocka_unit_test(test_layer_forward_through_blocks),
        cmocka_unit_test(test_lsuv_through_blocks),
        cmocka_unit_test(test_tensor_names_and_reload),
    };
    return cmocka_run_group_tests(tests, registry_setup, registry_teardown);
}
