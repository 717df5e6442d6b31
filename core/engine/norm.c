/* The normalisation layers, as torch.nn.BatchNorm1d/2d and torch.nn.LayerNorm (elementwise
 * affine), on examples of any shape [C, H, W] (a vector is [C, 1, 1]):
 *   batchnorm: statistics per channel over the batch and H, W; running mean and variance
 *   layernorm: statistics per example over all of [C, H, W]; gamma and beta per element
 * Z holds x^ (the normalised input), A the output y = gamma * x^ + beta; no activation follows.
 * Parameters gamma then beta (P); batchnorm's buffers running_mean then running_var (B).
 * Not here: group or instance norm, batchnorm's momentum None (a cumulative average). */
#include "base/errors.h"
#include "base/rng.h"
#include "engine/layer.h"
#include "engine/model.h"
#include "io/safetensors.h"

#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- shared ---- */

/* "<prefix>.<what>" into names[i] and out[i] = that name with shape dims[0..ndim) over data. */
static void name_tensor(const fanin__layer *L, fanin__st_out *out, char (*names)[64], int i,
                        const char *what, int ndim, const int64_t *dims, const float *data) {
    char pre[51];
    fanin__layer_name(L, pre, sizeof pre);
    snprintf(names[i], 64, "%s.%s", pre, what);
    out[i] = (fanin__st_out){names[i], ndim, {0}, data};
    for (int d = 0; d < ndim; d++) out[i].shape[d] = dims[d];
}

static int check_eps(const fanin__layer *L, const char *kind, char *err, size_t errlen) {
    double eps = L->spec->eps;
    if (!(eps > 0) || !isfinite(eps))
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "%s needs eps > 0 (PyTorch's default is 1e-5); got %g", kind, eps);
    return FANIN_OK;
}

/* gamma from the layer's init (stream weight), beta from its bias_init (stream bias): [k]
 * tensors with fan_in = fan_out = k, as torch's init sees a norm layer's weight and bias. */
static int fill_affine(const fanin__layer *L, const fanin__init_env *env, int k, double gain,
                       char *err, size_t errlen) {
    fanin_tensor g, b;
    fanin__layer_tensor(&g, L, L->P, FANIN_ROLE_NORM_SCALE, 1, (int64_t[]){k}, NULL);
    int rc = fanin__layer_fill(env, &L->spec->init, &g, FANIN_STREAM_WEIGHT, gain, false,
                               "gamma init", err, errlen);
    if (rc < 0) return rc;
    fanin__layer_tensor(&b, L, L->P + k, FANIN_ROLE_NORM_SHIFT, 1, (int64_t[]){k}, NULL);
    return fanin__layer_fill(env, &L->spec->bias_init, &b, FANIN_STREAM_BIAS, gain, false,
                             "beta init", err, errlen);
}

/* Z, A, dA of cap rows, then the kind's aux; no fan-in weight for the statistics. */
static void carve_common(fanin__layer *L, float *p, float *g, float *a, int cap, size_t n_p) {
    size_t cells = (size_t)cap * L->n_out;
    L->P = p;
    L->dP = g;
    L->n_p = n_p;
    L->W = L->b = L->dW = L->db = NULL;
    L->w_rows = L->w_cols = 0;
    L->Z = a;
    L->A = a + cells;
    L->dA = a + 2 * cells;
    L->aux = a + 3 * cells;
}

/* ---- batchnorm ---- */

/* Its aux holds what backward needs of one forward call: invstd[C] and a flag (1: batch
 * statistics, 0: running ones), C + 1 floats per layer, counted as ceil((C + 1) / cap) per row
 * because the model sizes activation buffers per row. */
static size_t bn_aux_per_row(const fanin__layer *L) {
    size_t need = (size_t)L->in.c + 1, cap = (size_t)L->model->cap;
    return (need + cap - 1) / cap;
}

static int bn_shape(fanin__layer *L, fanin__layer_size *sz, char *err, size_t errlen) {
    int rc = check_eps(L, "batchnorm", err, errlen);
    if (rc < 0) return rc;
    double mom = L->spec->momentum;
    if (!(mom >= 0 && mom <= 1))
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "batchnorm needs momentum in [0, 1] (PyTorch's default is 0.1); got %g",
                           mom);
    L->out = L->in;
    L->n_in = L->n_out = (int)fanin__shape_size(L->in);
    sz->params = 2 * (size_t)L->in.c;
    sz->buffers = 2 * (size_t)L->in.c;
    sz->act_per_row = 3 * (size_t)L->n_out + bn_aux_per_row(L);
    return FANIN_OK;
}

static void bn_carve(fanin__layer *L, float *p, float *g, float *b, float *a, int cap) {
    carve_common(L, p, g, a, cap, 2 * (size_t)L->in.c);
    L->B = b;
    L->n_b = 2 * (size_t)L->in.c;
}

/* gamma, beta from the spec; running_mean = 0, running_var = 1 (torch's reset_running_stats). */
static int bn_init(fanin__layer *L, const fanin__init_env *env, double gain, char *err,
                   size_t errlen) {
    int C = L->in.c;
    for (int c = 0; c < C; c++) {
        L->B[c] = 0.0f;
        L->B[C + c] = 1.0f;
    }
    return fill_affine(L, env, C, gain, err, errlen);
}

/* Batch statistics of channel c over its M = n * S values (S = H * W; row r's are
 * x[r * row + c * S .. + S)), two passes in double (Ioffe & Szegedy 2015, Alg. 1):
 *   mean = sum x / M,   var = sum (x - mean)^2 / M   (biased, as used for normalising) */
static void bn_batch_stats(const float *x, int n, int row, int c, int S, double *mean,
                           double *var) {
    double s = 0, q = 0, M = (double)n * S;
    for (int r = 0; r < n; r++) {
        const float *xc = x + (size_t)r * row + (size_t)c * S;
        for (int i = 0; i < S; i++) s += xc[i];
    }
    *mean = s / M;
    for (int r = 0; r < n; r++) {
        const float *xc = x + (size_t)r * row + (size_t)c * S;
        for (int i = 0; i < S; i++) q += (xc[i] - *mean) * (xc[i] - *mean);
    }
    *var = q / M;
}

/* Channel c's values normalised and scaled (torch.nn.BatchNorm2d):
 *   x^ = (x - mean) * invstd,   invstd = 1 / sqrt(var + eps)
 *   y  = gamma_c * x^ + beta_c                 (x, x^, y: [n, C, S], channel c only) */
static void bn_normalise(const float *x, float *xh, float *y, int n, int row, int c, int S,
                         double mean, double invstd, float gamma, float beta) {
    for (int r = 0; r < n; r++) {
        size_t o = (size_t)r * row + (size_t)c * S;
        for (int i = 0; i < S; i++) {
            float v = (float)((x[o + i] - mean) * invstd);
            xh[o + i] = v;
            y[o + i] = gamma * v + beta;
        }
    }
}

/* TRAIN (and PRE): batch statistics; TRAIN also moves the running ones (torch's rule):
 *   running_mean = (1 - momentum) * running_mean + momentum * mean
 *   running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)  (unbiased)
 * EVAL: the running statistics. */
static int bn_forward(fanin__layer *L, const float *in, int n, int pass, char *err, size_t errlen) {
    int C = L->in.c, S = L->in.h * L->in.w;
    double M = (double)n * S, mom = L->spec->momentum;
    bool batch = pass != FANIN_PASS_EVAL;
    if (batch && M < 2)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "batchnorm: training needs more than one value per channel, got a "
                           "batch of %d of [%d, %d, %d] (PyTorch refuses it too); use a "
                           "batch_size of 2 or more",
                           n, C, L->in.h, L->in.w);
    float *rm = L->B, *rv = L->B + C, *gamma = L->P, *beta = L->P + C;
    for (int c = 0; c < C; c++) {
        double mean = rm[c], var = rv[c];
        if (batch) bn_batch_stats(in, n, L->n_in, c, S, &mean, &var);
        if (pass == FANIN_PASS_TRAIN) {
            rm[c] = (float)((1 - mom) * rm[c] + mom * mean);
            rv[c] = (float)((1 - mom) * rv[c] + mom * var * M / (M - 1));
        }
        double invstd = 1.0 / sqrt(var + L->spec->eps);
        L->aux[c] = (float)invstd;
        bn_normalise(in, L->Z, L->A, n, L->n_in, c, S, mean, invstd, gamma[c], beta[c]);
    }
    L->aux[C] = batch ? 1.0f : 0.0f;
    return FANIN_OK;
}

/* Backward of channel c, dy = dA (no activation), M = n * S values:
 *   dbeta_c  = sum dy,   dgamma_c = sum dy * x^        (from y = gamma_c * x^ + beta_c)
 * with batch statistics (x^ = (x - mean(x)) * invstd(x), mean and var depending on x):
 *   dx = gamma_c * invstd * (dy - dbeta_c / M - x^ * dgamma_c / M)
 * with running statistics (constants): dx = gamma_c * invstd * dy.
 * Ioffe & Szegedy 2015, sec. 3 (the chain rule through mean and variance), simplified. */
static void bn_backward_channel(fanin__layer *L, float *d_in, int n, int c, bool batch) {
    int C = L->in.c, S = L->in.h * L->in.w, row = L->n_out;
    double sdy = 0, sdyx = 0, M = (double)n * S;
    for (int r = 0; r < n; r++) {
        size_t o = (size_t)r * row + (size_t)c * S;
        for (int i = 0; i < S; i++) {
            sdy += L->dA[o + i];
            sdyx += (double)L->dA[o + i] * L->Z[o + i];
        }
    }
    L->dP[c] = (float)sdyx;
    L->dP[C + c] = (float)sdy;
    if (!d_in) return;
    double k = (double)L->P[c] * L->aux[c];
    double mdy = batch ? sdy / M : 0, mdyx = batch ? sdyx / M : 0;
    for (int r = 0; r < n; r++) {
        size_t o = (size_t)r * row + (size_t)c * S;
        for (int i = 0; i < S; i++)
            d_in[o + i] = (float)(k * (L->dA[o + i] - mdy - L->Z[o + i] * mdyx));
    }
}

static int bn_backward(fanin__layer *L, const float *in, float *d_in, int n, bool dz_ready,
                       char *err, size_t errlen) {
    (void)in, (void)dz_ready, (void)err, (void)errlen; /* x^ is in Z; no activation */
    bool batch = L->aux[L->in.c] != 0.0f;              /* what the forward pass used */
    for (int c = 0; c < L->in.c; c++) bn_backward_channel(L, d_in, n, c, batch);
    return FANIN_OK;
}

/* torch's state_dict of BatchNorm1d/2d: weight, bias, running_mean, running_var, all [C].
 * num_batches_tracked (an int64 scalar, used only when momentum is None) is left out: fanin
 * writes F32 only, and torch's loader takes the file with strict=False for that key. */
static int bn_tensors(const fanin__layer *L, fanin__st_out *out, char (*names)[64]) {
    int64_t C = L->in.c;
    name_tensor(L, out, names, 0, "weight", 1, &C, L->P);
    name_tensor(L, out, names, 1, "bias", 1, &C, L->P + C);
    name_tensor(L, out, names, 2, "running_mean", 1, &C, L->B);
    name_tensor(L, out, names, 3, "running_var", 1, &C, L->B + C);
    return 4;
}

const fanin__layer_kind fanin__batchnorm_kind = {
    .name = "batchnorm",
    .shape = bn_shape,
    .carve = bn_carve,
    .init = bn_init,
    .forward = bn_forward,
    .backward = bn_backward,
    .tensors = bn_tensors,
};

/* ---- layernorm ---- */

/* aux: each row's invstd (one float per row). */
static int ln_shape(fanin__layer *L, fanin__layer_size *sz, char *err, size_t errlen) {
    int rc = check_eps(L, "layernorm", err, errlen);
    if (rc < 0) return rc;
    L->out = L->in;
    L->n_in = L->n_out = (int)fanin__shape_size(L->in);
    sz->params = 2 * (size_t)L->n_out;
    sz->act_per_row = 3 * (size_t)L->n_out + 1;
    return FANIN_OK;
}

static void ln_carve(fanin__layer *L, float *p, float *g, float *b, float *a, int cap) {
    (void)b;
    carve_common(L, p, g, a, cap, 2 * (size_t)L->n_out);
}

static int ln_init(fanin__layer *L, const fanin__init_env *env, double gain, char *err,
                   size_t errlen) {
    return fill_affine(L, env, L->n_out, gain, err, errlen);
}

/* Each row x [K] (K = C * H * W) alone (torch.nn.LayerNorm(normalized_shape = [C, H, W]);
 * Ba, Kiros & Hinton 2016, eq. 4), statistics in double:
 *   mean = sum x / K,  var = sum (x - mean)^2 / K,  invstd = 1 / sqrt(var + eps)
 *   x^ = (x - mean) * invstd,   y = gamma * x^ + beta   (gamma, beta [K]) */
static int ln_forward(fanin__layer *L, const float *in, int n, int pass, char *err, size_t errlen) {
    (void)pass, (void)err, (void)errlen; /* the same in training and evaluation */
    int K = L->n_out;
    const float *gamma = L->P, *beta = L->P + K;
    for (int r = 0; r < n; r++) {
        const float *x = in + (size_t)r * K;
        float *xh = L->Z + (size_t)r * K, *y = L->A + (size_t)r * K;
        double s = 0, q = 0;
        for (int i = 0; i < K; i++) s += x[i];
        double mean = s / K;
        for (int i = 0; i < K; i++) q += (x[i] - mean) * (x[i] - mean);
        double invstd = 1.0 / sqrt(q / K + L->spec->eps);
        for (int i = 0; i < K; i++) {
            xh[i] = (float)((x[i] - mean) * invstd);
            y[i] = gamma[i] * xh[i] + beta[i];
        }
        L->aux[r] = (float)invstd;
    }
    return FANIN_OK;
}

/* From y = gamma * x^ + beta (dy = dA, no activation):
 *   dgamma = sum over rows of dy * x^,   dbeta = sum over rows of dy     ([K] each)
 * and per row, through x^ = (x - mean(x)) * invstd(x), with g = dy * gamma:
 *   dx = invstd * (g - mean(g) - x^ * mean(g * x^))                      ([n, K]) */
static int ln_backward(fanin__layer *L, const float *in, float *d_in, int n, bool dz_ready,
                       char *err, size_t errlen) {
    (void)in, (void)dz_ready, (void)err, (void)errlen; /* x^ is in Z; no activation */
    int K = L->n_out;
    const float *gamma = L->P;
    memset(L->dP, 0, sizeof(float) * 2 * (size_t)K);
    for (int r = 0; r < n; r++) {
        const float *dy = L->dA + (size_t)r * K, *xh = L->Z + (size_t)r * K;
        double sg = 0, sgx = 0;
        for (int i = 0; i < K; i++) {
            L->dP[i] += dy[i] * xh[i];
            L->dP[K + i] += dy[i];
            double g = (double)dy[i] * gamma[i];
            sg += g;
            sgx += g * xh[i];
        }
        if (!d_in) continue;
        float *dx = d_in + (size_t)r * K;
        double invstd = L->aux[r], mg = sg / K, mgx = sgx / K;
        for (int i = 0; i < K; i++)
            dx[i] = (float)(invstd * ((double)dy[i] * gamma[i] - mg - xh[i] * mgx));
    }
    return FANIN_OK;
}

/* torch's LayerNorm(normalized_shape) state_dict: weight and bias of normalized_shape, [C]
 * for a vector and [C, H, W] for an image. */
static int ln_tensors(const fanin__layer *L, fanin__st_out *out, char (*names)[64]) {
    int64_t dims[3] = {L->in.c, L->in.h, L->in.w};
    int ndim = L->in.h == 1 && L->in.w == 1 ? 1 : 3;
    name_tensor(L, out, names, 0, "weight", ndim, dims, L->P);
    name_tensor(L, out, names, 1, "bias", ndim, dims, L->P + L->n_out);
    return 2;
}

const fanin__layer_kind fanin__layernorm_kind = {
    .name = "layernorm",
    .shape = ln_shape,
    .carve = ln_carve,
    .init = ln_init,
    .forward = ln_forward,
    .backward = ln_backward,
    .tensors = ln_tensors,
};
