/* The dense layer, as torch.nn.Linear followed by the activation:
 *   Z = s * (A_prev . W^T) + b   (A_prev [n, n_in], W [n_out, n_in], b [n_out], Z [n, n_out])
 *   A = f(Z)                     (the activation plugin)
 * s is the output multiplier of model.parametrization (experiment.h: fanin__pz), 1 by default;
 * at s = 1 the products are exactly as without it (alpha 1 in every sgemm).
 * Its parameters are W then b, contiguous; its buffers Z, A and dA, cap rows each. A thin
 * layer's forward (small_gemm.h) runs the direct kernel on W^T packed into the model's
 * scratch, with the bias added in its store, and from 128 rows on its dW too; they give
 * cblas_sgemm's bits (OpenBLAS's SkylakeX kernels, small_gemm.c). */
#include "base/rng.h"
#include "engine/layer.h"
#include "engine/model.h"
#include "engine/small_gemm.h"
#include "io/safetensors.h"

#include <stdbool.h>
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* The output multiplier s: pz.out, times 1/sqrt(n_in) under ntk. */
static float out_scale(const fanin__layer *L) {
    const fanin__pz *p = &L->spec->pz;
    double s = fanin__pz_f(p->out);
    if (p->fan_in) s /= sqrt((double)L->n_in);
    return (float)s;
}

/* Thin layers (2 to 32 outputs) may run the direct kernels (small_gemm.h): their forward
 * always when the product allows it (2 to 5x faster than cblas_sgemm with beta 1), their dW
 * from 128 rows on (below, OpenBLAS's own small kernels are as fast); d_in stays with BLAS
 * (even). Measured in tools/bench/README.md, "Thin dense layers". */
static bool thin(const fanin__layer *L) {
    return L->n_out >= 2 && L->n_out <= 32 && fanin__small_gemm_available();
}
static bool forward_direct_pays(const fanin__layer *L, int n) {
    /* at s = 1 only: with a bias OpenBLAS rounds s * sum + b once in some kernels, twice in
     * others (tests/test_small_gemm.c); s * sum alone (dW) is one rounding in all */
    return thin(L) && out_scale(L) == 1.0f && fanin__small_gemm_pays(n, L->n_out, L->n_in, true);
}
static bool dw_direct_pays(const fanin__layer *L, int n) {
    return thin(L) && n >= 128 && fanin__small_gemm_pays(L->n_out, L->n_in, n, false);
}

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
    if (thin(L)) sz->scratch = (size_t)L->n_out * (size_t)L->n_in; /* W^T */
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

/* Z = s * (in . W^T) + b (or s * (in . W^T) alone) by the direct kernel: W^T [n_in, n_out]
 * packed into the scratch, then C = fma(s, sum, b) per cell (small_gemm.h). */
static void forward_direct(fanin__layer *L, const float *in, int n, bool pre_only) {
    float *wt = L->scratch;
    int no = L->n_out, ni = L->n_in;
    for (int p0 = 0; p0 < ni; p0 += 64) /* 64 columns of W at a time: 2x a plain transpose */
        for (int j = 0; j < no; j++)
            for (int p = p0; p < p0 + 64 && p < ni; p++)
                wt[(size_t)p * no + j] = L->W[(size_t)j * ni + p];
    fanin__small_gemm(n, L->n_out, L->n_in, out_scale(L), in, L->n_in, 1, wt, L->n_out,
                      pre_only ? NULL : L->b, L->Z, L->n_out);
}

/* Z = s * (in . W^T) + b, then A = f(Z); with `pre_only`, Z = s * (in . W^T) alone (zero
 * bias, no activation) for the layer_forward service. */
static int dense_forward(fanin__layer *L, const float *in, int n, int pass, char *err,
                         size_t errlen) {
    bool pre_only = pass == FANIN_PASS_PRE;
    if (forward_direct_pays(L, n)) {
        forward_direct(L, in, n, pre_only);
        return pre_only ? FANIN_OK
                        : fanin__layer_activate(L, L->Z, L->A, (size_t)n * L->n_out, err, errlen);
    }
    if (!pre_only)
        for (int r = 0; r < n; r++)
            memcpy(L->Z + (size_t)r * L->n_out, L->b, sizeof(float) * L->n_out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, L->n_out, L->n_in, out_scale(L), in,
                L->n_in, L->W, L->n_in, pre_only ? 0.0f : 1.0f, L->Z, L->n_out);
    if (pre_only) return FANIN_OK;
    return fanin__layer_activate(L, L->Z, L->A, (size_t)n * L->n_out, err, errlen);
}

/* db[j] = sum over rows r = 0, 1, ... of dZ[r][j], each column in row order; restrict lets
 * GCC vectorise across j (the order within a column is unchanged). */
static void bias_grad(float *restrict db, const float *restrict dz, int n, int n_out) {
    memset(db, 0, sizeof(float) * (size_t)n_out);
    for (int r = 0; r < n; r++)
        for (int j = 0; j < n_out; j++) db[j] += dz[(size_t)r * n_out + j];
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
    if (dw_direct_pays(L, n)) /* dW[j][i] = s * sum_r dZ[r][j] in[r][i]: A = dZ^T */
        fanin__small_gemm(L->n_out, L->n_in, n, s, L->dA, 1, L->n_out, in, L->n_in, NULL, L->dW,
                          L->n_in);
    else
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L->n_out, L->n_in, n, s, L->dA,
                    L->n_out, in, L->n_in, 0.0f, L->dW, L->n_in);
    bias_grad(L->db, L->dA, n, L->n_out);
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
