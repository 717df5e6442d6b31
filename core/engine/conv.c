/* The 2-D convolution, as torch.nn.Conv2d (a cross-correlation) followed by the activation:
 *   Z[o, y, x] = b[o] + sum_{c, i, j} W[o, c, i, j] * in[c, y*s - pad + i, x*s - pad + j]
 *   A = f(Z)   (the activation plugin; in [C, H, W], W [O, C, k, k], b [O], Z [O, OH, OW])
 * computed as one GEMM per chunk of examples over im2col columns in the model's scratch. Its
 * parameters are W then b (when spec->bias), contiguous; its buffers Z, A and dA, cap rows each.
 * Not here: pooling and flatten (pool.c). */
#include "base/errors.h"
#include "base/rng.h"
#include "config/experiment.h"
#include "engine/layer.h"
#include "engine/model.h"
#include "io/safetensors.h"

#include <stdbool.h>
#include <stddef.h>
#include <cblas.h>
#include <stdio.h>
#include <string.h>

/* im2col columns per GEMM: enough to keep the GEMM efficient when an example's output plane
 * is small (7x7), few enough that the columns stay in the cache while the GEMM reads them. */
#define CONV_CHUNK_COLS 2048

/* A layer's geometry, derived from its input shape and spec (never stored). */
typedef struct geom {
    int C, H, W, O, k, s, pad; /* pad: zeros above and left of the input (below/right: pad_hi) */
    int OH, OW;
    size_t K, P, n_in, n_out; /* K = C*k*k rows of columns, P = OH*OW columns per example */
    int nb;                   /* examples per chunk */
} geom;

/* torch's padding='same' (stride 1 only): k - 1 zeros in all, the odd one below/right
 * (ATen's _convolution_mode pads padding_r - padding_l more on the high side). */
void fanin__conv_pads(const fanin__layer_spec *sp, int *lo, int *total) {
    if (sp->padding == FANIN_PAD_SAME) {
        *total = sp->kernel - 1;
        *lo = *total / 2;
    } else {
        *lo = sp->padding == FANIN_PAD_VALID ? 0 : sp->padding;
        *total = 2 * *lo;
    }
}

int fanin__conv_stride(const fanin__layer_spec *sp) { return sp->stride > 0 ? sp->stride : 1; }

static geom geometry(const fanin__layer *L) {
    const fanin__layer_spec *sp = L->spec;
    geom g = {.C = L->in.c,
              .H = L->in.h,
              .W = L->in.w,
              .O = sp->channels,
              .k = sp->kernel,
              .s = fanin__conv_stride(sp)};
    int total;
    fanin__conv_pads(sp, &g.pad, &total);
    g.OH = (g.H + total - g.k) / g.s + 1;
    g.OW = (g.W + total - g.k) / g.s + 1;
    g.K = (size_t)g.C * g.k * g.k;
    g.P = (size_t)g.OH * g.OW;
    g.n_in = (size_t)g.C * g.H * g.W;
    g.n_out = (size_t)g.O * g.P;
    int cap = L->model ? L->model->cap : 1;
    g.nb = (int)((CONV_CHUNK_COLS + g.P - 1) / g.P);
    if (g.nb > cap) g.nb = cap;
    if (g.nb < 1) g.nb = 1;
    return g;
}

/* The shapes that cannot work, in the words of the issue: a vector input, a kernel larger than
 * the padded input, 'same' with a stride (PyTorch refuses it too). */
static int conv_check(const fanin__layer *L, char *err, size_t errlen) {
    const fanin__layer_spec *sp = L->spec;
    char in[64];
    fanin__shape_text(L->in, in, sizeof in);
    if (sp->channels < 1 || sp->kernel < 1 || sp->stride < 0 || sp->padding < FANIN_PAD_VALID)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "conv2d needs channels >= 1, kernel >= 1, stride >= 1 and padding "
                           "same, valid or >= 0 (got channels %d, kernel %d, stride %d)",
                           sp->channels, sp->kernel, sp->stride);
    if (L->in.h == 1 && L->in.w == 1 && sp->kernel > 1)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "conv2d needs an image [C, H, W] but its input is the vector %s; use "
                           "an image source or set model.input",
                           in);
    if (sp->padding == FANIN_PAD_SAME && fanin__conv_stride(sp) != 1)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "conv2d: padding 'same' needs stride 1 (as in PyTorch), got stride %d; "
                           "give padding as a number",
                           sp->stride);
    int lo, total;
    fanin__conv_pads(sp, &lo, &total);
    if (sp->kernel > L->in.h + total || sp->kernel > L->in.w + total)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "conv2d: kernel %dx%d is larger than the padded input %dx%d (input %s, "
                           "padding %d)",
                           sp->kernel, sp->kernel, L->in.h + total, L->in.w + total, in, total / 2);
    return FANIN_OK;
}

/* Scratch: the columns [K, nb*P] and the GEMM's output (or dZ gathered) [O, nb*P]. */
static int conv_shape(fanin__layer *L, fanin__layer_size *sz, char *err, size_t errlen) {
    int rc = conv_check(L, err, errlen);
    if (rc < 0) return rc;
    geom g = geometry(L);
    if (g.OH < 1 || g.OW < 1)
        return fanin__errf(err, errlen, FANIN_ECONFIG, "conv2d: output %dx%d is empty", g.OH, g.OW);
    L->n_in = (int)g.n_in;
    L->out = (fanin__shape){g.O, g.OH, g.OW};
    L->n_out = (int)g.n_out;
    sz->params = (size_t)g.O * g.K + (L->spec->bias ? (size_t)g.O : 0);
    sz->act_per_row = 3 * g.n_out;
    sz->scratch = (g.K + (size_t)g.O) * (size_t)g.nb * g.P;
    return FANIN_OK;
}

static void conv_carve(fanin__layer *L, float *p, float *g, float *b, float *a, int cap) {
    (void)b;
    geom ge = geometry(L);
    size_t nw = (size_t)ge.O * ge.K, cells = (size_t)cap * ge.n_out;
    L->P = L->W = p;
    L->dP = L->dW = g;
    L->b = L->spec->bias ? p + nw : NULL;
    L->db = L->spec->bias ? g + nw : NULL;
    L->n_p = nw + (L->spec->bias ? (size_t)ge.O : 0);
    L->w_rows = ge.O;
    L->w_cols = (int)ge.K;
    L->Z = a;
    L->A = a + cells;
    L->dA = a + 2 * cells;
}

/* W [O, C, k, k] (older plugins see [O, C*k*k]) with torch's _calculate_fan_in_and_fan_out
 * fans, the receptive field counted (fan_in = C*k*k, fan_out = O*k*k); b [O] from bias_init
 * with W's fans. */
static int conv_init(fanin__layer *L, const fanin__init_env *env, double gain, char *err,
                     size_t errlen) {
    int64_t O = L->spec->channels, C = L->in.c, k = L->spec->kernel;
    fanin_tensor w, b;
    fanin__layer_tensor(&w, L, L->W, FANIN_ROLE_CONV_WEIGHT, 4, (int64_t[]){O, C, k, k}, NULL);
    int rc = fanin__layer_fill(env, &L->spec->init, &w, FANIN_STREAM_WEIGHT, gain, true,
                               "weight init", err, errlen);
    if (rc < 0 || !L->b) return rc;
    fanin__layer_tensor(&b, L, L->b, FANIN_ROLE_BIAS, 1, (int64_t[]){O}, &w);
    return fanin__layer_fill(env, &L->spec->bias_init, &b, FANIN_STREAM_BIAS, gain, false,
                             "bias init", err, errlen);
}

/* The output columns x whose input column x*s - pad + j lies inside [0, W): [*x0, *x1). */
static void inside(const geom *g, int j, int *x0, int *x1) {
    int lo = g->pad - j, hi = g->W - 1 + g->pad - j;
    *x1 = hi < 0 ? 0 : hi / g->s + 1;
    if (*x1 > g->OW) *x1 = g->OW;
    *x0 = lo > 0 ? (lo + g->s - 1) / g->s : 0;
    if (*x0 > *x1) *x0 = *x1;
}

/* im2col (Chellapilla et al. 2006; Caffe's im2col_cpu), nb examples side by side:
 *   cols[(c*k + i)*k + j, e*P + y*OW + x] = in[e, c, y*s - pad + i, x*s - pad + j]  (0 outside)
 * in [nb, C, H, W] (rows n_in apart), cols [K, nb*P]. */
static void im2col(const geom *g, const float *in, int nb, float *cols) {
    size_t ld = (size_t)nb * g->P;
    for (int c = 0; c < g->C; c++)
        for (int i = 0; i < g->k; i++)
            for (int j = 0; j < g->k; j++) {
                float *row = cols + ((size_t)(c * g->k + i) * g->k + j) * ld;
                int x0, x1;
                inside(g, j, &x0, &x1);
                for (int e = 0; e < nb; e++) {
                    const float *plane = in + e * g->n_in + (size_t)c * g->H * g->W;
                    for (int y = 0; y < g->OH; y++, row += g->OW) {
                        int iy = y * g->s - g->pad + i;
                        if (iy < 0 || iy >= g->H || x0 == x1) {
                            memset(row, 0, sizeof(float) * g->OW);
                            continue;
                        }
                        ptrdiff_t at = (ptrdiff_t)iy * g->W - g->pad + j; /* of x = 0 */
                        memset(row, 0, sizeof(float) * x0);
                        if (g->s == 1) memcpy(row + x0, plane + at + x0, sizeof(float) * (x1 - x0));
                        else
                            for (int x = x0; x < x1; x++) row[x] = plane[at + x * g->s];
                        memset(row + x1, 0, sizeof(float) * (g->OW - x1));
                    }
                }
            }
}

/* col2im, the adjoint of im2col: each column cell adds back to the input cell it was read from
 *   d_in[e, c, y*s - pad + i, x*s - pad + j] += dcols[(c*k + i)*k + j, e*P + y*OW + x]
 * dcols [K, nb*P], d_in [nb, C, H, W] (zeroed by the caller). */
static void col2im(const geom *g, const float *dcols, int nb, float *d_in) {
    size_t ld = (size_t)nb * g->P;
    for (int c = 0; c < g->C; c++)
        for (int i = 0; i < g->k; i++)
            for (int j = 0; j < g->k; j++) {
                const float *row = dcols + ((size_t)(c * g->k + i) * g->k + j) * ld;
                int x0, x1;
                inside(g, j, &x0, &x1);
                for (int e = 0; e < nb; e++) {
                    float *plane = d_in + e * g->n_in + (size_t)c * g->H * g->W;
                    for (int y = 0; y < g->OH; y++, row += g->OW) {
                        int iy = y * g->s - g->pad + i;
                        if (iy < 0 || iy >= g->H) continue;
                        ptrdiff_t at = (ptrdiff_t)iy * g->W - g->pad + j;
                        if (g->s == 1) /* a unit stride vectorizes */
                            for (int x = x0; x < x1; x++) plane[at + x] += row[x];
                        else
                            for (int x = x0; x < x1; x++) plane[at + x * g->s] += row[x];
                    }
                }
            }
}

/* One chunk of nb examples:
 *   T = W . cols          (W [O, K], cols [K, nb*P], T [O, nb*P]; one sgemm)
 *   Z[e, o, p] = T[o, e*P + p] + b[o]     (no bias when b is NULL) */
static void forward_chunk(const geom *g, const float *W, const float *b, const float *in, int nb,
                          float *cols, float *T, float *Z) {
    size_t ld = (size_t)nb * g->P;
    im2col(g, in, nb, cols);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->O, (int)ld, (int)g->K, 1.0f, W,
                (int)g->K, cols, (int)ld, 0.0f, T, (int)ld);
    for (int e = 0; e < nb; e++)
        for (int o = 0; o < g->O; o++) {
            const float *t = T + (size_t)o * ld + e * g->P;
            float *z = Z + e * g->n_out + (size_t)o * g->P, bo = b ? b[o] : 0.0f;
            for (size_t p = 0; p < g->P; p++) z[p] = t[p] + bo;
        }
}

/* Z = W * in + b by chunks, then A = f(Z); with `pre_only`, Z = W * in alone (no bias, no
 * activation) for the layer_forward service. */
static int conv_forward(fanin__layer *L, const float *in, int n, int pass, char *err,
                        size_t errlen) {
    geom g = geometry(L);
    bool pre_only = pass == FANIN_PASS_PRE;
    float *cols = L->scratch, *T = L->scratch + g.K * (size_t)g.nb * g.P;
    for (int e0 = 0; e0 < n; e0 += g.nb) {
        int nb = n - e0 < g.nb ? n - e0 : g.nb;
        forward_chunk(&g, L->W, pre_only ? NULL : L->b, in + e0 * g.n_in, nb, cols, T,
                      L->Z + e0 * g.n_out);
    }
    if (pre_only) return FANIN_OK;
    return fanin__layer_activate(L, L->Z, L->A, (size_t)n * g.n_out, err, errlen);
}

/* One chunk's share of the gradients, differentiating  T = W . cols  (forward_chunk):
 *   dT[o, e*P + p] = dZ[e, o, p]          (gathered, [O, nb*P])
 *   dW += dT . cols^T                     [O, K]   (beta 0 on the first chunk)
 *   dcols = W^T . dT, d_in = col2im(dcols) [nb, C, H, W]   (skipped when d_in is NULL) */
static void backward_chunk(const geom *g, const float *W, float *dW, float beta, const float *in,
                           const float *dZ, float *d_in, int nb, float *cols, float *T) {
    int ld = nb * (int)g->P, K = (int)g->K;
    for (int e = 0; e < nb; e++)
        for (int o = 0; o < g->O; o++)
            memcpy(T + (size_t)o * ld + e * g->P, dZ + e * g->n_out + (size_t)o * g->P,
                   sizeof(float) * g->P);
    im2col(g, in, nb, cols);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->O, K, ld, 1.0f, T, ld, cols, ld, beta,
                dW, K);
    if (!d_in) return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, ld, g->O, 1.0f, W, K, T, ld, 0.0f, cols,
                ld);
    memset(d_in, 0, sizeof(float) * nb * g->n_in);
    col2im(g, cols, nb, d_in);
}

/* x[0] + ... + x[n-1] in 8 lanes: a plain `s += x[i]` is one serial chain of adds (C's order
 * forbids the compiler to split it), 4 cycles per float. */
static float lane_sum(const float *x, size_t n) {
    float lane[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) lane[j] += x[i + j];
    float s = 0.0f;
    for (; i < n; i++) s += x[i];
    for (int j = 0; j < 8; j++) s += lane[j];
    return s;
}

/* Given dA (overwritten by dZ unless the loss already wrote dZ):
 *   dZ = dA * f'(Z)   (the activation plugin)
 *   db[o] = sum over examples and pixels of dZ[., o, .]
 * then dW and d_in chunk by chunk (backward_chunk). */
static int conv_backward(fanin__layer *L, const float *in, float *d_in, int n, bool dz_ready,
                         char *err, size_t errlen) {
    geom g = geometry(L);
    if (!dz_ready) {
        int rc = fanin__layer_activate_backward(L, L->Z, L->A, L->dA, (size_t)n * g.n_out, err,
                                                errlen);
        if (rc < 0) return rc;
    }
    for (int o = 0; L->db && o < g.O; o++) {
        double s = 0.0;
        for (int e = 0; e < n; e++) s += lane_sum(L->dA + e * g.n_out + (size_t)o * g.P, g.P);
        L->db[o] = (float)s;
    }
    float *cols = L->scratch, *T = L->scratch + g.K * (size_t)g.nb * g.P;
    for (int e0 = 0; e0 < n; e0 += g.nb) {
        int nb = n - e0 < g.nb ? n - e0 : g.nb;
        backward_chunk(&g, L->W, L->dW, e0 ? 1.0f : 0.0f, in + e0 * g.n_in, L->dA + e0 * g.n_out,
                       d_in ? d_in + e0 * g.n_in : NULL, nb, cols, T);
    }
    return FANIN_OK;
}

/* torch's state_dict names: <name>.weight [O, C, k, k], <name>.bias [O] (when it has one). */
static int conv_tensors(const fanin__layer *L, fanin__st_out *out, char (*names)[64]) {
    const fanin__layer_spec *sp = L->spec;
    char base[64];
    fanin__layer_name(L, base, sizeof base);
    snprintf(names[0], 64, "%.56s.weight", base);
    out[0] = (fanin__st_out){names[0], 4, {sp->channels, L->in.c, sp->kernel, sp->kernel}, L->W};
    if (!L->b) return 1;
    snprintf(names[1], 64, "%.58s.bias", base);
    out[1] = (fanin__st_out){names[1], 1, {sp->channels}, L->b};
    return 2;
}

const fanin__layer_kind fanin__conv2d_kind = {
    .name = "conv2d",
    .shape = conv_shape,
    .carve = conv_carve,
    .init = conv_init,
    .forward = conv_forward,
    .backward = conv_backward,
    .tensors = conv_tensors,
};
