/* Residual blocks y = f(s + alpha * F(x)) as two kinds around the branch's layers, which the
 * config lays out flat: RESIDUAL_OPEN, the branch F, RESIDUAL_CLOSE (spec->link joins them).
 * The open passes x on (A = Z = x) and, in backward, adds the skip's gradient that the close
 * left in its aux buffer; the close adds the skip s = x (or its projection x.P^T + p) to the
 * scaled branch output and applies its activation. Not here: Fixup's biases inside the branch
 * (its initializer), a strided projection of images. He et al. 2016 (ResNet), eq. 1-2. */
#include "base/errors.h"
#include "base/rng.h"
#include "config/experiment.h"
#include "engine/layer.h"
#include "engine/model.h"
#include "io/safetensors.h"

#include <stdbool.h>
#include <cblas.h>
#include <stdio.h>
#include <string.h>

/* ---- residual_open ---- */

/* Its close: a later RESIDUAL_CLOSE that links back to it. */
static int open_shape(fanin__layer *L, fanin__layer_size *sz, char *err, size_t errlen) {
    const fanin_experiment *x = L->model->x;
    int c = L->spec->link;
    if (c <= L->index || c >= x->n_layers || x->layers[c].type != FANIN_LAYER_RESIDUAL_CLOSE ||
        x->layers[c].link != L->index)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "a residual block's start (layer %d) has no matching end (link %d)",
                           L->index + 1, c + 1);
    L->out = L->in;
    L->n_in = L->n_out = (int)fanin__shape_size(L->in);
    sz->act_per_row = 3 * (size_t)L->n_out; /* A (= Z), dA, dskip */
    return FANIN_OK;
}

/* Z and A are one buffer (the identity); aux holds dskip, written by the close. */
static void open_carve(fanin__layer *L, float *p, float *g, float *b, float *a, int cap) {
    (void)b;
    size_t cells = (size_t)cap * L->n_out;
    L->P = p;
    L->dP = g;
    L->n_p = 0;
    L->W = L->b = L->dW = L->db = NULL;
    L->w_rows = L->w_cols = 0;
    L->Z = L->A = a;
    L->dA = a + cells;
    L->aux = a + 2 * cells;
}

static int open_init(fanin__layer *L, const fanin__init_env *env, double gain, char *err,
                     size_t errlen) {
    (void)L, (void)env, (void)gain, (void)err, (void)errlen;
    return FANIN_OK;
}

/* A = Z = x [n, n_out]: the branch and the close's skip both read it (every pass). */
static int open_forward(fanin__layer *L, const float *in, int n, int pass, char *err,
                        size_t errlen) {
    (void)pass, (void)err, (void)errlen;
    memcpy(L->A, in, sizeof(float) * (size_t)n * L->n_out);
    return FANIN_OK;
}

/* Forward: x feeds the branch (A) and the skip (the close reads A), so
 *   d_in = dA + dskip   [n, n_out]
 * with dA from the branch's first layer (or the close, for an empty branch) and dskip from
 * the close, which runs backward first. */
static int open_backward(fanin__layer *L, const float *in, float *d_in, int n, bool dz_ready,
                         char *err, size_t errlen) {
    (void)in, (void)dz_ready, (void)err, (void)errlen;
    if (!d_in) return FANIN_OK;
    size_t cells = (size_t)n * L->n_out;
    for (size_t i = 0; i < cells; i++) d_in[i] = L->dA[i] + L->aux[i];
    return FANIN_OK;
}

static int open_tensors(const fanin__layer *L, fanin__st_out *out, char (*names)[64]) {
    (void)L, (void)out, (void)names;
    return 0;
}

const fanin__layer_kind fanin__residual_open_kind = {
    .name = "residual_open",
    .shape = open_shape,
    .carve = open_carve,
    .init = open_init,
    .forward = open_forward,
    .backward = open_backward,
    .tensors = open_tensors,
};

/* ---- residual_close ---- */

/* The close's parameters, in this order: alpha (unless scale 1), Fixup's beta, then the
 * projection's P [c_b, c_s] and p [c_b]. */
static int n_scalars(const fanin__layer_spec *s) {
    return s->scale == FANIN_SCALE_ONE ? 0 : s->scale == FANIN_SCALE_FIXUP ? 2 : 1;
}

static const fanin__layer *open_of(const fanin__layer *L) {
    return &L->model->layers[L->spec->link];
}

static float alpha_of(const fanin__layer *L) {
    return L->spec->scale == FANIN_SCALE_ONE ? 1.0f : L->P[0];
}

/* Skip [c_s, h, w] and branch output [c_b, h, w]: equal, or a projection across channels. */
static int skip_fits(const fanin__layer *L, fanin__shape s, char *err, size_t errlen) {
    fanin__shape b = L->in;
    bool vectors = s.h == 1 && s.w == 1 && b.h == 1 && b.w == 1;
    char st[64], bt[64];
    fanin__shape_text(s, st, sizeof st);
    fanin__shape_text(b, bt, sizeof bt);
    if (vectors && s.c != b.c && !L->spec->projection)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "a residual branch changing the width from %d to %d needs "
                           "projection: true",
                           s.c, b.c);
    if ((s.h * s.w == 1) != (b.h * b.w == 1))
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "a residual branch turning %s into %s cannot be added to its input; "
                           "move flatten (or global_avgpool) after the block",
                           st, bt);
    if (!vectors && (s.h != b.h || s.w != b.w))
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "a residual branch changing the shape from %s to %s cannot be "
                           "added to its input: a strided projection is not supported yet; "
                           "keep the image size in the branch",
                           st, bt);
    if (!vectors && s.c != b.c && !L->spec->projection)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "a residual branch changing the shape from %s to %s needs "
                           "projection: true (a 1x1 convolution on the skip path)",
                           st, bt);
    return FANIN_OK;
}

static int close_shape(fanin__layer *L, fanin__layer_size *sz, char *err, size_t errlen) {
    int o = L->spec->link;
    if (o < 0 || o >= L->index || L->model->layers[o].spec->type != FANIN_LAYER_RESIDUAL_OPEN ||
        L->model->layers[o].spec->link != L->index)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "a residual block's end (layer %d) has no matching start (link %d)",
                           L->index + 1, o + 1);
    fanin__shape s = open_of(L)->out;
    int rc = skip_fits(L, s, err, errlen);
    if (rc < 0) return rc;
    L->out = L->in;
    L->n_in = L->n_out = (int)fanin__shape_size(L->in);
    sz->params = (size_t)n_scalars(L->spec);
    if (L->spec->projection) sz->params += (size_t)L->in.c * (size_t)s.c + (size_t)L->in.c;
    sz->act_per_row = 3 * (size_t)L->n_out; /* Z, A, dA */
    return FANIN_OK;
}

static void close_carve(fanin__layer *L, float *p, float *g, float *b, float *a, int cap) {
    (void)b;
    size_t cells = (size_t)cap * L->n_out, k = (size_t)n_scalars(L->spec);
    L->P = p;
    L->dP = g;
    L->n_p = k;
    L->W = L->b = L->dW = L->db = NULL;
    L->w_rows = L->w_cols = 0;
    if (L->spec->projection) {
        int c_s = open_of(L)->out.c, c_b = L->in.c;
        size_t nw = (size_t)c_b * (size_t)c_s;
        L->W = p + k;
        L->b = p + k + nw;
        L->dW = g + k;
        L->db = g + k + nw;
        L->w_rows = c_b;
        L->w_cols = c_s;
        L->n_p += nw + (size_t)c_b;
    }
    L->Z = a;
    L->A = a + cells;
    L->dA = a + 2 * cells;
}

/* alpha: 1 (Fixup's multiplier), 0 (ReZero, Bachlechner et al. 2020) or `init` (SkipInit, De &
 * Smith 2020); Fixup's bias 0 (Zhang et al. 2019, sec. 3); P and p from init and bias_init,
 * fans as torch's Linear (or 1x1 Conv2d): fan_in c_s, fan_out c_b. */
static int close_init(fanin__layer *L, const fanin__init_env *env, double gain, char *err,
                      size_t errlen) {
    const fanin__layer_spec *s = L->spec;
    if (s->scale == FANIN_SCALE_REZERO) L->P[0] = 0.0f;
    if (s->scale == FANIN_SCALE_SKIPINIT) L->P[0] = (float)s->scale_init;
    if (s->scale == FANIN_SCALE_FIXUP) L->P[0] = 1.0f, L->P[1] = 0.0f;
    if (!s->projection) return FANIN_OK;
    bool image = L->in.h * L->in.w > 1;
    fanin_tensor w = {.data = L->W,
                      .rows = L->w_rows,
                      .cols = L->w_cols,
                      .fan_in = L->w_cols,
                      .fan_out = L->w_rows,
                      .ndim = image ? 4 : 2,
                      .shape = {L->w_rows, L->w_cols, 1, 1},
                      .role = FANIN_ROLE_SKIP_PROJECTION,
                      .block = s->block,
                      .n_blocks = s->n_blocks,
                      .pos = s->pos,
                      .branch_len = s->branch_len};
    int rc = fanin__layer_fill(env, &s->init, &w, FANIN_STREAM_WEIGHT, gain, true,
                               "projection init", err, errlen);
    if (rc < 0) return rc;
    fanin_tensor b = w;
    b.data = L->b;
    b.cols = 1;
    b.is_bias = 1;
    b.ndim = 1;
    b.shape[1] = 1;
    b.role = FANIN_ROLE_BIAS;
    return fanin__layer_fill(env, &s->bias_init, &b, FANIN_STREAM_BIAS, gain, false,
                             "projection bias init", err, errlen);
}

/* Z = S . P^T per pixel, without the bias: a Linear on vectors, a 1x1 Conv2d on images.
 *   S [n, c_s, hw], P [c_b, c_s], Z [n, c_b, hw]; per example Z_r = P . S_r.
 * torch.nn.Linear / torch.nn.Conv2d(kernel_size=1) docs. */
static void project(const fanin__layer *L, const float *S, int n, float *Z) {
    int c_s = L->w_cols, c_b = L->w_rows, hw = L->in.h * L->in.w;
    if (hw == 1) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, c_b, c_s, 1.0f, S, c_s, L->W, c_s,
                    0.0f, Z, c_b);
        return;
    }
    for (int r = 0; r < n; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c_b, hw, c_s, 1.0f, L->W, c_s,
                    S + (size_t)r * c_s * hw, hw, 0.0f, Z + (size_t)r * c_b * hw, hw);
}

/* Z = s' + alpha * in (+ beta for Fixup), s' = x (open's A) or x.P^T + p; A = f(Z).
 *   in, Z, A [n, c_b*h*w]; alpha, beta scalars. With FANIN_PASS_PRE and a projection, Z is
 *   x.P^T alone (what layer_forward shows the projection's initializer). */
static int close_forward(fanin__layer *L, const float *in, int n, int pass, char *err,
                         size_t errlen) {
    const float *s = open_of(L)->A;
    size_t cells = (size_t)n * L->n_out;
    int hw = L->in.h * L->in.w;
    if (L->spec->projection) {
        project(L, s, n, L->Z);
        if (pass == FANIN_PASS_PRE) return FANIN_OK;
        for (size_t i = 0; i < cells; i++) L->Z[i] += L->b[i / hw % L->w_rows];
    } else {
        memcpy(L->Z, s, sizeof(float) * cells);
    }
    float alpha = alpha_of(L), beta = L->spec->scale == FANIN_SCALE_FIXUP ? L->P[1] : 0.0f;
    for (size_t i = 0; i < cells; i++) L->Z[i] += alpha * in[i] + beta;
    return fanin__layer_activate(L, L->Z, L->A, cells, err, errlen);
}

/* The projection's gradients from dZ [n, c_b, hw], S [n, c_s, hw] (of Z = S.P^T + p):
 *   dP = sum_r dZ_r . S_r^T [c_b, c_s];  dp = sum over rows and pixels of dZ [c_b];
 *   dS = dZ . P per pixel [n, c_s, hw]  (into the open's dskip). */
static void project_backward(fanin__layer *L, const float *S, const float *dZ, int n, float *dS) {
    int c_s = L->w_cols, c_b = L->w_rows, hw = L->in.h * L->in.w;
    memset(L->dW, 0, sizeof(float) * (size_t)c_b * c_s);
    memset(L->db, 0, sizeof(float) * (size_t)c_b);
    for (size_t i = 0; i < (size_t)n * c_b * hw; i++) L->db[i / hw % c_b] += dZ[i];
    if (hw == 1) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c_b, c_s, n, 1.0f, dZ, c_b, S, c_s,
                    0.0f, L->dW, c_s);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, c_s, c_b, 1.0f, dZ, c_b, L->W,
                    c_s, 0.0f, dS, c_s);
        return;
    }
    for (int r = 0; r < n; r++) {
        const float *dz = dZ + (size_t)r * c_b * hw, *s = S + (size_t)r * c_s * hw;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c_b, c_s, hw, 1.0f, dz, hw, s, hw,
                    1.0f, L->dW, c_s);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c_s, hw, c_b, 1.0f, L->W, c_s, dz, hw,
                    0.0f, dS + (size_t)r * c_s * hw, hw);
    }
}

/* Forward: Z = s' + alpha * in + beta, A = f(Z). Given dA (dZ when dz_ready):
 *   dZ = dA * f'(Z);  dalpha = sum dZ * in;  dbeta = sum dZ;  d_in = alpha * dZ;
 *   dskip = dZ (or through the projection) into the open's aux. */
static int close_backward(fanin__layer *L, const float *in, float *d_in, int n, bool dz_ready,
                          char *err, size_t errlen) {
    size_t cells = (size_t)n * L->n_out;
    if (!dz_ready) {
        int rc = fanin__layer_activate_backward(L, L->Z, L->A, L->dA, cells, err, errlen);
        if (rc < 0) return rc;
    }
    const float *dZ = L->dA;
    float alpha = alpha_of(L);
    if (L->spec->scale != FANIN_SCALE_ONE) {
        double da = 0.0, db = 0.0;
        for (size_t i = 0; i < cells; i++) da += (double)dZ[i] * in[i], db += dZ[i];
        L->dP[0] = (float)da;
        if (L->spec->scale == FANIN_SCALE_FIXUP) L->dP[1] = (float)db;
    }
    if (d_in)
        for (size_t i = 0; i < cells; i++) d_in[i] = alpha * dZ[i];
    const fanin__layer *o = open_of(L);
    if (L->spec->projection) project_backward(L, o->A, dZ, n, o->aux);
    else memcpy(o->aux, dZ, sizeof(float) * cells);
    return FANIN_OK;
}

/* "<name>.alpha" [1] (a 0-d parameter in PyTorch, saved as [1]), "<name>.beta" [1] (Fixup),
 * "<name>.proj.weight" [c_b, c_s] (or [c_b, c_s, 1, 1] on images) and "<name>.proj.bias". */
static int close_tensors(const fanin__layer *L, fanin__st_out *out, char (*names)[64]) {
    char base[51];
    fanin__layer_name(L, base, sizeof base);
    static const char *const what[] = {"alpha", "beta", "proj.weight", "proj.bias"};
    int k = n_scalars(L->spec), t = 0;
    for (; t < k; t++) out[t] = (fanin__st_out){names[t], 1, {1}, L->P + t};
    if (L->spec->projection) {
        bool image = L->in.h * L->in.w > 1;
        out[t++] = (fanin__st_out){names[k], image ? 4 : 2, {L->w_rows, L->w_cols, 1, 1}, L->W};
        out[t++] = (fanin__st_out){names[k + 1], 1, {L->w_rows}, L->b};
    }
    for (int i = 0; i < t; i++) {
        int w = i < k ? i : i - k + 2;
        snprintf(names[i], 64, "%s.%s", base, what[w]);
    }
    return t;
}

const fanin__layer_kind fanin__residual_close_kind = {
    .name = "residual_close",
    .shape = close_shape,
    .carve = close_carve,
    .init = close_init,
    .forward = close_forward,
    .backward = close_backward,
    .tensors = close_tensors,
};
