/* The dense layer, as torch.nn.Linear followed by the activation:
 *   Z = s * (A_prev . W^T) + b   (A_prev [n, n_in], W [n_out, n_in], b [n_out], Z [n, n_out])
 *   A = f(Z)                     (the activation plugin)
 * s is the output multiplier of model.parametrization (experiment.h: fanin__pz), 1 by default;
 * at s = 1 the products are exactly as without it (alpha 1 in every sgemm).
 * Its parameters are W then b, contiguous; its buffers Z, A and dA, cap rows each. */
#include "base/rng.h"
#include "engine/layer.h"
#include "engine/model.h"
#include "io/safetensors.h"

#include <stdbool.h>
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* A dense layer takes a vector: an image must pass a flatten layer first. */
static int dense_shape(fanin__layer *L, fanin__layer_size *sz, char *err, size_t errlen) {
    if (L->in.h != 1 || L->in.w != 1) {
        char in[64];
        fanin__shape_text(L->in, in, sizeof in);
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "a dense layer needs a vector, but its "
                           "input is an image %s; add {type: flatten} before it",
                           in);
    }
    L->n_in = L->in.c;
    L->n_out = L->spec->units;
    L->out = (fanin__shape){L->n_out, 1, 1};
    sz->params = (size_t)L->n_out * (size_t)L->n_in + (size_t)L->n_out;
    sz->act_per_row = 3 * (size_t)L->n_out;
    return FANIN_OK;
}

static void dense_carve(fanin__layer *L, float *p, float *g, float *b, float *a, int cap) {
    (void)b;
    size_t nw = (size_t)L->n_out * (size_t)L->n_in, cells = (size_t)cap * L->n_out;
    L->P = L->W = p;
    L->b = p + nw;
    L->dP = L->dW = g;
    L->db = g + nw;
    L->n_p = nw + L->n_out;
    L->w_rows = L->n_out;
    L->w_cols = L->n_in;
    L->Z = a;
    L->A = a + cells;
    L->dA = a + 2 * cells;
}

/* The output multiplier s: pz.out, times 1/sqrt(n_in) under ntk. */
static float out_scale(const fanin__layer *L) {
    const fanin__pz *p = &L->spec->pz;
    double s = fanin__pz_f(p->out);
    if (p->fan_in) s /= sqrt((double)L->n_in);
    return (float)s;
}

/* v[0..n) *= f, skipped at f = 1. */
static void scale(float *v, size_t n, double f) {
    if (f == 1.0) return;
    for (size_t i = 0; i < n; i++) v[i] = (float)(v[i] * f);
}

/* W from the layer's init (which may run the layer_forward service), b from its bias_init;
 * then the parametrization's factors: W *= pz.init (* sqrt(n_in) under ntk), b *= pz.bias_init. */
static int dense_init(fanin__layer *L, const fanin__init_env *env, double gain, char *err,
                      size_t errlen) {
    fanin_tensor w, b;
    fanin__layer_tensor(&w, L, L->W, FANIN_ROLE_DENSE_WEIGHT, 2, (int64_t[]){L->n_out, L->n_in},
                        NULL);
    fanin__layer_tensor(&b, L, L->b, FANIN_ROLE_BIAS, 1, (int64_t[]){L->n_out}, &w);
    int rc = fanin__layer_fill(env, &L->spec->init, &w, FANIN_STREAM_WEIGHT, gain, true,
                               "weight init", err, errlen);
    if (rc < 0) return rc;
    rc = fanin__layer_fill(env, &L->spec->bias_init, &b, FANIN_STREAM_BIAS, gain, false,
                           "bias init", err, errlen);
    if (rc < 0) return rc;
    const fanin__pz *p = &L->spec->pz;
    scale(L->W, (size_t)L->n_out * L->n_in,
          fanin__pz_f(p->init) * (p->fan_in ? sqrt((double)L->n_in) : 1.0));
    scale(L->b, (size_t)L->n_out, fanin__pz_f(p->bias_init));
    return rc;
}

/* Z = s * (in . W^T) + b, then A = f(Z); with `pre_only`, Z = s * (in . W^T) alone (zero
 * bias, no activation) for the layer_forward service. */
static int dense_forward(fanin__layer *L, const float *in, int n, int pass, char *err,
                         size_t errlen) {
    bool pre_only = pass == FANIN_PASS_PRE;
    if (!pre_only)
        for (int r = 0; r < n; r++)
            memcpy(L->Z + (size_t)r * L->n_out, L->b, sizeof(float) * L->n_out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, L->n_out, L->n_in, out_scale(L), in,
                L->n_in, L->W, L->n_in, pre_only ? 0.0f : 1.0f, L->Z, L->n_out);
    if (pre_only) return FANIN_OK;
    return fanin__layer_activate(L, L->Z, L->A, (size_t)n * L->n_out, err, errlen);
}

/* Given dA (overwritten by dZ unless the loss already wrote dZ):
 *   dZ = dA * f'(Z)          (the activation plugin)
 *   dW = s * dZ^T . A_prev   [n_out, n_in]
 *   db = sum over rows of dZ [n_out]
 *   d_in = s * dZ . W        [n, n_in]   (skipped for the first layer) */
static int dense_backward(fanin__layer *L, const float *in, float *d_in, int n, bool dz_ready,
                          char *err, size_t errlen) {
    if (!dz_ready) {
        int rc = fanin__layer_activate_backward(L, L->Z, L->A, L->dA, (size_t)n * L->n_out, err,
                                                errlen);
        if (rc < 0) return rc;
    }
    float s = out_scale(L);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L->n_out, L->n_in, n, s, L->dA, L->n_out,
                in, L->n_in, 0.0f, L->dW, L->n_in);
    memset(L->db, 0, sizeof(float) * L->n_out);
    for (int r = 0; r < n; r++) {
        const float *dz = L->dA + (size_t)r * L->n_out;
        for (int j = 0; j < L->n_out; j++) L->db[j] += dz[j];
    }
    if (d_in)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, L->n_in, L->n_out, s, L->dA,
                    L->n_out, L->W, L->n_in, 0.0f, d_in, L->n_in);
    return FANIN_OK;
}

/* torch's state_dict names: NAME.weight [out, in], NAME.bias [out] (NAME: layers.N). */
static int dense_tensors(const fanin__layer *L, fanin__st_out *out, char (*names)[64]) {
    char base[64];
    fanin__layer_name(L, base, sizeof base);
    snprintf(names[0], 64, "%.56s.weight", base);
    snprintf(names[1], 64, "%.56s.bias", base);
    out[0] = (fanin__st_out){names[0], 2, {L->n_out, L->n_in}, L->W};
    out[1] = (fanin__st_out){names[1], 1, {L->n_out}, L->b};
    return 2;
}

const fanin__layer_kind fanin__dense_kind = {
    .name = "dense",
    .shape = dense_shape,
    .carve = dense_carve,
    .init = dense_init,
    .forward = dense_forward,
    .backward = dense_backward,
    .tensors = dense_tensors,
};
