/* The convolution and the parameterless image kinds (conv.c, pool.c): forward and backward
 * against PyTorch (tests/ref/make_conv_ref.py), im2col's chunks against a direct convolution,
 * every gradient of small CNNs against central finite differences, tensor names, fans, and
 * the shapes that cannot work. */
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

#include <cmocka.h>

#include "model_tests.h"

#include "ref/conv_ref.h"


/* One layer as the experiment file would give it. */
typedef struct lay {
    int type, units_or_channels, kernel, stride, padding;
    bool bias;
    const char *act; /* NULL: linear */
} lay;

static fanin_experiment *experiment(const lay *ls, int n) {
    fanin_experiment *x = calloc(1, sizeof *x);
    x->n_layers = n;
    x->layers = calloc((size_t)n, sizeof *x->layers);
    for (int l = 0; l < n; l++) {
        fanin__layer_spec *s = &x->layers[l];
        s->type = ls[l].type;
        s->units = s->channels = ls[l].units_or_channels;
        s->kernel = ls[l].kernel;
        s->stride = ls[l].stride;
        s->padding = ls[l].padding;
        s->bias = ls[l].bias;
        s->activation = pref(FANIN_KIND_ACTIVATION, ls[l].act ? ls[l].act : "linear");
        s->init = pref(FANIN_KIND_INITIALIZER, "xavier_uniform");
        s->bias_init = pref(FANIN_KIND_INITIALIZER, "normal");
        s->bias_init.params[1].f = 0.1; /* normal(mean, std) */
    }
    x->optimizer = pref(FANIN_KIND_OPTIMIZER, "sgd");
    x->loss = FANIN_LOSS_MSE;
    x->seed = 5;
    x->lr = 0.1;
    x->source_file = "test";
    return x;
}


static float *floats(const double *v, size_t n) {
    float *f = malloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = (float)v[i];
    return f;
}

/* |got - ref| <= 1e-5 (1 + |ref|): float32 sums of a few dozen float32 products */
static void expect_close(const char *what, const char *name, const float *got, const double *ref,
                         size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!(fabs(got[i] - ref[i]) <= 1e-5 * (1 + fabs(ref[i]))))
            fail_msg("%s %s[%zu]: got %.9g, torch %.9g", name, what, i, got[i], ref[i]);
}

/* ---- against PyTorch ---- */

static void check_conv_ref(const conv_ref *r) {
    lay l = {FANIN_LAYER_CONV2D, r->out, r->k, r->stride, r->padding, r->bias, NULL};
    fanin_experiment *x = experiment(&l, 1);
    fanin_model *m;
    assert_int_equal(fanin__model_new_shaped(x, (fanin__shape){r->c, r->h, r->w}, r->n, &m, err,
                                             sizeof err),
                     FANIN_OK);
    fanin__layer *L = &m->layers[0];
    assert_true(L->out.c == r->out && L->out.h == r->oh && L->out.w == r->ow);
    size_t nx = (size_t)r->n * r->c * r->h * r->w, nz = (size_t)r->n * L->n_out;
    size_t nw = (size_t)r->out * r->c * r->k * r->k;
    for (size_t i = 0; i < nw; i++) L->W[i] = (float)r->w_[i];
    for (int i = 0; r->b && i < r->out; i++) L->b[i] = (float)r->b[i];
    float *X = floats(r->x, nx), *dX = calloc(nx, sizeof *dX);
    assert_int_equal(fanin__model_forward(m, X, r->n, err, sizeof err), FANIN_OK);
    expect_close("Z", r->name, L->Z, r->z, nz);
    for (size_t i = 0; i < nz; i++) L->dA[i] = (float)r->g[i];
    assert_int_equal(L->kind->backward(L, X, dX, r->n, false, err, sizeof err), FANIN_OK);
    expect_close("dX", r->name, dX, r->dx, nx);
    expect_close("dW", r->name, L->dW, r->dw, nw);
    if (r->b) expect_close("db", r->name, L->db, r->db, (size_t)r->out);
    else assert_null(L->db);
    free(X);
    free(dX);
    fanin__model_free(m);
    experiment_free(x);
}

static void test_conv_matches_torch(void **state) {
    for (size_t i = 0; i < sizeof conv_refs / sizeof *conv_refs; i++) check_conv_ref(&conv_refs[i]);
}

static void check_pool_ref(const pool_ref *r) {
    int type = !strcmp(r->op, "max")   ? FANIN_LAYER_MAXPOOL2D
               : !strcmp(r->op, "avg") ? FANIN_LAYER_AVGPOOL2D
                                       : FANIN_LAYER_GLOBAL_AVGPOOL;
    lay l = {type, 0, r->k, r->stride, r->padding, false, NULL};
    fanin_experiment *x = experiment(&l, 1);
    fanin_model *m;
    assert_int_equal(fanin__model_new_shaped(x, (fanin__shape){r->c, r->h, r->w}, r->n, &m, err,
                                             sizeof err),
                     FANIN_OK);
    fanin__layer *L = &m->layers[0];
    assert_true(L->out.c == r->c && L->out.h == r->oh && L->out.w == r->ow);
    assert_null(L->W);
    assert_int_equal(L->w_rows, 0);
    size_t nx = (size_t)r->n * r->c * r->h * r->w, nz = (size_t)r->n * L->n_out;
    float *X = floats(r->x, nx), *dX = calloc(nx, sizeof *dX);
    assert_int_equal(fanin__model_forward(m, X, r->n, err, sizeof err), FANIN_OK);
    expect_close("Z", r->name, L->Z, r->z, nz);
    assert_ptr_equal(L->A, L->Z);
    for (size_t i = 0; i < nz; i++) L->dA[i] = (float)r->g[i];
    assert_int_equal(L->kind->backward(L, X, dX, r->n, false, err, sizeof err), FANIN_OK);
    expect_close("dX", r->name, dX, r->dx, nx);
    free(X);
    free(dX);
    fanin__model_free(m);
    experiment_free(x);
}

static void test_pools_match_torch(void **state) {
    for (size_t i = 0; i < sizeof pool_refs / sizeof *pool_refs; i++) check_pool_ref(&pool_refs[i]);
}

/* flatten: [C, H, W] rows are already C*H*W vectors; forward and backward are copies. */
static void test_flatten(void **state) {
    lay l = {FANIN_LAYER_FLATTEN, 0, 0, 0, 0, false, NULL};
    fanin_experiment *x = experiment(&l, 1);
    fanin_model *m;
    assert_int_equal(fanin__model_new_shaped(x, (fanin__shape){3, 2, 2}, 2, &m, err, sizeof err),
                     FANIN_OK);
    fanin__layer *L = &m->layers[0];
    assert_true(L->out.c == 12 && L->out.h == 1 && L->out.w == 1);
    float X[24], dX[24];
    for (int i = 0; i < 24; i++) X[i] = (float)i - 7.5f;
    assert_int_equal(fanin__model_forward(m, X, 2, err, sizeof err), FANIN_OK);
    assert_memory_equal(L->A, X, sizeof X);
    for (int i = 0; i < 24; i++) L->dA[i] = 0.25f * (float)i;
    assert_int_equal(L->kind->backward(L, X, dX, 2, false, err, sizeof err), FANIN_OK);
    assert_memory_equal(dX, L->dA, sizeof dX);
    fanin__model_free(m);
    experiment_free(x);
}

/* maxpool's ties and NaNs as ATen's CPU kernel: the first maximum wins; a NaN wins and stays. */
static void test_maxpool_ties_and_nan(void **state) {
    lay l = {FANIN_LAYER_MAXPOOL2D, 0, 2, 2, FANIN_PAD_VALID, false, NULL};
    fanin_experiment *x = experiment(&l, 1);
    fanin_model *m;
    assert_int_equal(fanin__model_new_shaped(x, (fanin__shape){2, 2, 2}, 1, &m, err, sizeof err),
                     FANIN_OK);
    fanin__layer *L = &m->layers[0];
    float X[8] = {1, 3, 3, 2, /* the next channel */ 1, NAN, 3, 2}, dX[8];
    assert_int_equal(fanin__model_forward(m, X, 1, err, sizeof err), FANIN_OK);
    assert_true(L->Z[0] == 3.0f && isnan(L->Z[1]));
    L->dA[0] = 10, L->dA[1] = 20;
    assert_int_equal(L->kind->backward(L, X, dX, 1, false, err, sizeof err), FANIN_OK);
    const float want[8] = {0, 10, 0, 0, 0, 20, 0, 0};
    assert_memory_equal(dX, want, sizeof want);
    fanin__model_free(m);
    experiment_free(x);
}

/* ---- im2col's chunks against a direct convolution ---- */

/* The definition, in double, and its gradients for the upstream gradient G [n, O, OH, OW]:
 *   Z[e,o,y,x] = b[o] + sum_{c,i,j} W[o,c,i,j] in[e,c,y*s-pad+i,x*s-pad+j]
 *   dW[o,c,i,j] += G[e,o,y,x] in[e,c,..],  d_in[e,c,..] += G[e,o,y,x] W[o,c,i,j],  db[o] += G */
typedef struct direct {
    double *Z, *dW, *db, *dX;
} direct;

static void direct_conv(const fanin__layer *L, const float *in, const float *G, int n, direct *d) {
    const fanin__layer_spec *sp = L->spec;
    int C = L->in.c, H = L->in.h, W = L->in.w, k = sp->kernel, s = sp->stride;
    int pad = sp->padding == FANIN_PAD_SAME ? (k - 1) / 2 : sp->padding;
    for (int e = 0; e < n; e++)
        for (int o = 0; o < L->out.c; o++)
            for (int y = 0; y < L->out.h; y++)
                for (int x = 0; x < L->out.w; x++) {
                    size_t at = (size_t)e * L->n_out + ((size_t)o * L->out.h + y) * L->out.w + x;
                    double z = L->b[o], g = G[at];
                    d->db[o] += g;
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < k; i++)
                            for (int j = 0; j < k; j++) {
                                int iy = y * s - pad + i, ix = x * s - pad + j;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                size_t wi = ((size_t)(o * C + c) * k + i) * k + j;
                                size_t xi = ((size_t)e * C + c) * H * W + (size_t)iy * W + ix;
                                z += (double)L->W[wi] * in[xi];
                                d->dW[wi] += g * in[xi];
                                d->dX[xi] += g * L->W[wi];
                            }
                    d->Z[at] = z;
                }
}

static void expect_near(const char *what, const float *got, const double *want, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (fabs(got[i] - want[i]) > 1e-4 * (1 + fabs(want[i])))
            fail_msg("%s[%zu]: %.9g, direct %.9g", what, i, got[i], want[i]);
}

/* 30x30 outputs: chunks of 3 examples, the last one partial (n = 4); 48x48: one per chunk. */
static void check_chunks(int hw, int n, int padding, int stride) {
    lay l = {FANIN_LAYER_CONV2D, 3, 3, stride, padding, true, NULL};
    fanin_experiment *x = experiment(&l, 1);
    fanin_model *m;
    assert_int_equal(fanin__model_new_shaped(x, (fanin__shape){2, hw, hw}, n, &m, err, sizeof err),
                     FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    fanin__layer *L = &m->layers[0];
    size_t nx = (size_t)n * L->n_in, nz = (size_t)n * L->n_out, nw = (size_t)L->w_rows * L->w_cols;
    float *X = malloc(nx * sizeof *X), *G = malloc(nz * sizeof *G), *dX = malloc(nx * sizeof *dX);
    direct d = {calloc(nz, sizeof(double)), calloc(nw, sizeof(double)),
                calloc((size_t)L->out.c, sizeof(double)), calloc(nx, sizeof(double))};
    fanin_rng r;
    fanin__rng_init(&r, 3, 0, 1);
    fanin__rng_fill_normal(&r, X, nx, 0, 1);
    fanin__rng_fill_normal(&r, G, nz, 0, 1);
    assert_int_equal(fanin__model_forward(m, X, n, err, sizeof err), FANIN_OK);
    memcpy(L->dA, G, nz * sizeof *G);
    assert_int_equal(L->kind->backward(L, X, dX, n, false, err, sizeof err), FANIN_OK);
    direct_conv(L, X, G, n, &d);
    expect_near("Z", L->Z, d.Z, nz);
    expect_near("dW", L->dW, d.dW, nw);
    expect_near("db", L->db, d.db, (size_t)L->out.c);
    expect_near("dX", dX, d.dX, nx);
    free(X);
    free(G);
    free(dX);
    free(d.Z), free(d.dW), free(d.db), free(d.dX);
    fanin__model_free(m);
    experiment_free(x);
}

static void test_conv_chunks_match_direct(void **state) {
    check_chunks(30, 4, FANIN_PAD_SAME, 1);
    check_chunks(48, 3, 1, 1);
    check_chunks(33, 5, 2, 2);
}

/* ---- finite differences through whole small CNNs ---- */

/* maxpool's winners: a perturbation that changes one is where the loss has a kink. */
static uint64_t argmax_signature(const fanin_model *m, int n) {
    uint64_t h = 1469598103934665603u;
    for (int l = 0; l < m->n_layers; l++)
        if (m->layers[l].spec->type == FANIN_LAYER_MAXPOOL2D)
            for (int i = 0; i < n * m->layers[l].n_out; i++)
                h = (h ^ (uint64_t)((const int32_t *)m->layers[l].aux)[i]) * 1099511628211u;
    return h;
}

static double loss_at(fanin_model *m, const float *X, const float *Y, int n, uint64_t *sig) {
    assert_int_equal(fanin__model_forward(m, X, n, err, sizeof err), FANIN_OK);
    *sig = argmax_signature(m, n);
    return fanin__loss(m, Y, n, false);
}

/* (L(v+h) - L(v-h)) / 2h against the analytic gradient for every v of p[0..np). */
static size_t check_fd(fanin_model *m, float *p, const float *grad, size_t np, const float *X,
                       const float *Y, int n, uint64_t sig0, const char *what) {
    const double h = 1e-3;
    size_t kinks = 0;
    uint64_t up_sig, down_sig;
    for (size_t i = 0; i < np; i++) {
        float keep = p[i];
        p[i] = keep + (float)h;
        double up = loss_at(m, X, Y, n, &up_sig);
        p[i] = keep - (float)h;
        double down = loss_at(m, X, Y, n, &down_sig);
        p[i] = keep;
        if (up_sig != sig0 || down_sig != sig0) {
            kinks++;
            continue;
        }
        double num = (up - down) / (2 * h), ana = grad[i];
        if (fabs(num - ana) > 2e-3 + 2e-2 * fabs(ana))
            fail_msg("%s %zu: analytic %.6g, numeric %.6g", what, i, ana, num);
    }
    return kinks;
}

/* Every parameter's gradient and the input's (the first layer's backward with d_in). */
static void check_net(const lay *ls, int nl, fanin__shape in, int n) {
    fanin_experiment *x = experiment(ls, nl);
    fanin_model *m;
    assert_int_equal(fanin__model_new_shaped(x, in, n, &m, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    size_t nx = (size_t)n * m->n_in, ny = (size_t)n * m->layers[nl - 1].n_out;
    float *X = malloc(nx * sizeof *X), *Y = malloc(ny * sizeof *Y), *dX = malloc(nx * sizeof *dX);
    fanin_rng r;
    fanin__rng_init(&r, 11, 0, 9);
    fanin__rng_fill_normal(&r, X, nx, 0, 1);
    fanin__rng_fill_normal(&r, Y, ny, 0, 1);
    assert_int_equal(fanin__model_forward(m, X, n, err, sizeof err), FANIN_OK);
    uint64_t sig0 = argmax_signature(m, n);
    fanin__loss(m, Y, n, true);
    assert_int_equal(fanin__model_backward(m, X, n, err, sizeof err), FANIN_OK);
    fanin__layer *L0 = &m->layers[0];
    assert_int_equal(L0->kind->backward(L0, X, dX, n, true, err, sizeof err), FANIN_OK);
    float *grads = malloc(m->n_params * sizeof *grads);
    memcpy(grads, m->grads, m->n_params * sizeof *grads);
    size_t kinks = check_fd(m, m->params, grads, m->n_params, X, Y, n, sig0, "param");
    kinks += check_fd(m, X, dX, nx, X, Y, n, sig0, "input");
    assert_true(kinks * 10 < m->n_params + nx);
    free(grads);
    free(X);
    free(Y);
    free(dX);
    fanin__model_free(m);
    experiment_free(x);
}

static void test_gradients_conv_maxpool_flatten(void **state) {
    const lay net[] = {
        {FANIN_LAYER_CONV2D, 4, 3, 1, FANIN_PAD_SAME, true, "tanh"},
        {FANIN_LAYER_MAXPOOL2D, 0, 2, 0, FANIN_PAD_VALID, false, NULL},
        {FANIN_LAYER_CONV2D, 3, 3, 2, 1, false, "tanh"},
        {FANIN_LAYER_FLATTEN, 0, 0, 0, 0, false, NULL},
        {FANIN_LAYER_DENSE, 2, 0, 0, 0, true, NULL},
    };
    check_net(net, 5, (fanin__shape){2, 8, 8}, 3);
}

static void test_gradients_conv_avgpool_global(void **state) {
    const lay net[] = {
        {FANIN_LAYER_CONV2D, 3, 2, 1, FANIN_PAD_SAME, true, "tanh"},
        {FANIN_LAYER_AVGPOOL2D, 0, 3, 2, 1, false, NULL},
        {FANIN_LAYER_CONV2D, 2, 1, 1, FANIN_PAD_VALID, true, "sigmoid"},
        {FANIN_LAYER_GLOBAL_AVGPOOL, 0, 0, 0, 0, false, NULL},
        {FANIN_LAYER_DENSE, 2, 0, 0, 0, true, NULL},
    };
    check_net(net, 5, (fanin__shape){1, 6, 5}, 2);
}

/* ---- parameters: names, shapes, fans ---- */

static void test_tensors_and_fans(void **state) {
    const lay net[] = {
        {FANIN_LAYER_CONV2D, 4, 3, 1, 1, true, "relu"},
        {FANIN_LAYER_CONV2D, 2, 3, 1, 1, false, "relu"},
    };
    fanin_experiment *x = experiment(net, 2);
    snprintf(x->layers[1].name, sizeof x->layers[1].name, "features.3");
    fanin_model *m;
    assert_int_equal(fanin__model_new_shaped(x, (fanin__shape){3, 5, 5}, 2, &m, err, sizeof err),
                     FANIN_OK);
    assert_int_equal(m->n_params, 4 * 27 + 4 + 2 * 36);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    fanin__st_out t[FANIN_LAYER_MAX_TENSORS];
    char names[FANIN_LAYER_MAX_TENSORS][64];
    const fanin__layer *L = &m->layers[0];
    assert_int_equal(L->kind->tensors(L, t, names), 2);
    assert_string_equal(t[0].name, "layers.0.weight");
    assert_int_equal(t[0].ndim, 4);
    assert_true(t[0].shape[0] == 4 && t[0].shape[1] == 3 && t[0].shape[2] == 3 &&
                t[0].shape[3] == 3);
    assert_string_equal(t[1].name, "layers.0.bias");
    assert_true(L->w_rows == 4 && L->w_cols == 27);
    /* xavier_uniform with torch's fans: fan_in = 3*3*3 = 27, fan_out = 4*3*3 = 36 */
    double bound = sqrt(6.0 / (27 + 36)), top = 0;
    for (int i = 0; i < 4 * 27; i++) top = fmax(top, fabs(L->W[i]));
    assert_true(top <= bound && top > 0.9 * bound);
    L = &m->layers[1];
    assert_int_equal(L->kind->tensors(L, t, names), 1);
    assert_string_equal(t[0].name, "features.3.weight");
    assert_null(L->b);
    fanin__model_free(m);
    experiment_free(x);
}

/* ---- shapes that cannot work ---- */

static void expect_shape_error(const lay *ls, int nl, fanin__shape in, const char *says) {
    fanin_experiment *x = experiment(ls, nl);
    fanin_model *m;
    assert_int_equal(fanin__model_new_shaped(x, in, 2, &m, err, sizeof err), FANIN_ECONFIG);
    assert_null(m);
    if (!strstr(err, says)) fail_msg("expected \"%s\" in: %s", says, err);
    experiment_free(x);
}

static void test_shape_errors(void **state) {
    const lay conv3 = {FANIN_LAYER_CONV2D, 2, 3, 1, FANIN_PAD_VALID, true, NULL};
    expect_shape_error(&conv3, 1, (fanin__shape){5, 1, 1},
                       "layer 1 (conv2d, input [5]): conv2d needs an image [C, H, W] but its "
                       "input is the vector [5]; use an image source or set model.input");
    const lay conv5 = {FANIN_LAYER_CONV2D, 2, 5, 1, 1, true, NULL};
    expect_shape_error(&conv5, 1, (fanin__shape){1, 2, 3},
                       "kernel 5x5 is larger than the padded input 4x5 (input [1, 2, 3], "
                       "padding 1)");
    const lay same2 = {FANIN_LAYER_CONV2D, 2, 3, 2, FANIN_PAD_SAME, true, NULL};
    expect_shape_error(&same2, 1, (fanin__shape){1, 8, 8}, "padding 'same' needs stride 1");
    const lay conv_dense[] = {conv3, {FANIN_LAYER_DENSE, 3, 0, 0, 0, true, NULL}};
    expect_shape_error(conv_dense, 2, (fanin__shape){1, 8, 8},
                       "layer 2 (dense, input [2, 6, 6]): a dense layer needs a vector");
    const lay pool_pad = {FANIN_LAYER_MAXPOOL2D, 0, 2, 2, 2, false, NULL};
    expect_shape_error(&pool_pad, 1, (fanin__shape){1, 8, 8}, "padding 2 is more than half");
    const lay pool = {FANIN_LAYER_AVGPOOL2D, 0, 4, 0, FANIN_PAD_VALID, false, NULL};
    expect_shape_error(&pool, 1, (fanin__shape){2, 3, 3},
                       "avgpool2d: kernel 4x4 is larger than the padded input 3x3");
    expect_shape_error(&pool, 1, (fanin__shape){9, 1, 1}, "avgpool2d needs an image");
    const lay pool_same = {FANIN_LAYER_MAXPOOL2D, 0, 3, 1, FANIN_PAD_SAME, false, NULL};
    expect_shape_error(&pool_same, 1, (fanin__shape){1, 8, 8}, "padding 'same' does not exist");
}


int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_matches_torch),
        cmocka_unit_test(test_pools_match_torch),
        cmocka_unit_test(test_flatten),
        cmocka_unit_test(test_maxpool_ties_and_nan),
        cmocka_unit_test(test_conv_chunks_match_direct),
        cmocka_unit_test(test_gradients_conv_maxpool_flatten),
        cmocka_unit_test(test_gradients_conv_avgpool_global),
        cmocka_unit_test(test_tensors_and_fans),
        cmocka_unit_test(test_shape_errors),
    };
    return cmocka_run_group_tests(tests, registry_setup, registry_teardown);
}
