/* The kinds without parameters that change an image's shape, as PyTorch's modules:
 * maxpool2d (nn.MaxPool2d), avgpool2d (nn.AvgPool2d, count_include_pad=True), global_avgpool
 * (nn.AdaptiveAvgPool2d(1)) and flatten (nn.Flatten: [C, H, W] -> [C*H*W]). None has an
 * activation: Z and A are one buffer, dA its gradient; maxpool keeps its argmax in aux.
 * Not here: the convolution (conv.c). */
#include "base/errors.h"
#include "config/experiment.h"
#include "engine/layer.h"
#include "engine/model.h"
#include "io/safetensors.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

/* A pool's geometry: floor mode, symmetric padding `pad`, stride (default: the kernel). */
typedef struct pgeom {
    int C, H, W, k, s, pad, OH, OW;
} pgeom;

static pgeom pool_geometry(const fanin__layer *L) {
    const fanin__layer_spec *sp = L->spec;
    pgeom g = {.C = L->in.c,
               .H = L->in.h,
               .W = L->in.w,
               .k = sp->kernel,
               .s = sp->stride > 0 ? sp->stride : sp->kernel,
               .pad = sp->padding > 0 ? sp->padding : 0};
    g.OH = g.s > 0 ? (g.H + 2 * g.pad - g.k) / g.s + 1 : 0;
    g.OW = g.s > 0 ? (g.W + 2 * g.pad - g.k) / g.s + 1 : 0;
    return g;
}

/* PyTorch's rules (torch.nn.functional.max_pool2d / avg_pool2d): an image input, a kernel that
 * fits the padded input, padding at most half the kernel, no 'same'. */
static int pool_check(const fanin__layer *L, char *err, size_t errlen) {
    const fanin__layer_spec *sp = L->spec;
    const char *kind = L->kind ? L->kind->name : "pool";
    char in[64];
    fanin__shape_text(L->in, in, sizeof in);
    if (sp->kernel < 1 || sp->stride < 0)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "%s needs kernel >= 1 and stride >= 1 (got kernel %d, stride %d)", kind,
                           sp->kernel, sp->stride);
    if (L->in.h == 1 && L->in.w == 1 && sp->kernel > 1)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "%s needs an image [C, H, W] but its input is the vector %s; use an "
                           "image source or set model.input",
                           kind, in);
    if (sp->padding == FANIN_PAD_SAME || sp->padding < FANIN_PAD_VALID)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "%s: padding 'same' does not exist in PyTorch's pools; give padding as "
                           "a number (at most kernel/2)",
                           kind);
    if (2 * (sp->padding > 0 ? sp->padding : 0) > sp->kernel)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "%s: padding %d is more than half the kernel %d (PyTorch's limit)", kind,
                           sp->padding, sp->kernel);
    pgeom g = pool_geometry(L);
    if (g.k > g.H + 2 * g.pad || g.k > g.W + 2 * g.pad)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "%s: kernel %dx%d is larger than the padded input %dx%d (input %s, "
                           "padding %d)",
                           kind, g.k, g.k, g.H + 2 * g.pad, g.W + 2 * g.pad, in, g.pad);
    return FANIN_OK;
}

/* The shapes every parameterless kind sets; act_per_row: Z = A, dA, and `aux` more. */
static void set_out(fanin__layer *L, fanin__shape out, fanin__layer_size *sz, size_t aux) {
    L->n_in = (int)fanin__shape_size(L->in);
    L->out = out;
    L->n_out = (int)fanin__shape_size(out);
    sz->act_per_row = (2 + aux) * (size_t)L->n_out;
}

static int pool_shape(fanin__layer *L, fanin__layer_size *sz, char *err, size_t errlen) {
    int rc = pool_check(L, err, errlen);
    if (rc < 0) return rc;
    pgeom g = pool_geometry(L);
    set_out(L, (fanin__shape){g.C, g.OH, g.OW}, sz, 0);
    return FANIN_OK;
}

static int maxpool_shape(fanin__layer *L, fanin__layer_size *sz, char *err, size_t errlen) {
    int rc = pool_shape(L, sz, err, errlen);
    if (rc < 0) return rc;
    sz->act_per_row += (size_t)L->n_out; /* the argmax of each output, int32 */
    return FANIN_OK;
}

static int global_shape(fanin__layer *L, fanin__layer_size *sz, char *err, size_t errlen) {
    (void)err, (void)errlen;
    set_out(L, (fanin__shape){L->in.c, 1, 1}, sz, 0);
    return FANIN_OK;
}

static int flatten_shape(fanin__layer *L, fanin__layer_size *sz, char *err, size_t errlen) {
    (void)err, (void)errlen;
    set_out(L, (fanin__shape){(int)fanin__shape_size(L->in), 1, 1}, sz, 0);
    return FANIN_OK;
}

/* No parameters (W = NULL, w_rows = 0); Z and A one buffer; maxpool's argmax after dA. */
static void none_carve(fanin__layer *L, float *p, float *g, float *b, float *a, int cap) {
    size_t cells = (size_t)cap * L->n_out;
    L->P = p;
    L->dP = g;
    L->n_p = 0;
    L->B = b;
    L->n_b = 0;
    L->W = L->b = L->dW = L->db = NULL;
    L->w_rows = L->w_cols = 0;
    L->Z = L->A = a;
    L->dA = a + cells;
    L->aux = NULL;
}

static void maxpool_carve(fanin__layer *L, float *p, float *g, float *b, float *a, int cap) {
    none_carve(L, p, g, b, a, cap);
    L->aux = a + 2 * (size_t)cap * L->n_out;
}

static int none_init(fanin__layer *L, const fanin__init_env *env, double gain, char *err,
                     size_t errlen) {
    (void)L, (void)env, (void)gain, (void)err, (void)errlen;
    return FANIN_OK;
}

static int none_tensors(const fanin__layer *L, fanin__st_out *out, char (*names)[64]) {
    (void)L, (void)out, (void)names;
    return 0;
}

/* The input rows (or columns) [*a, *b) under output row o: o*s - pad + [0, k) within [0, n). */
static void span(const pgeom *g, int o, int n, int *a, int *b) {
    int lo = o * g->s - g->pad;
    *a = lo < 0 ? 0 : lo;
    *b = lo + g->k < n ? lo + g->k : n;
}

/* ATen's max over one window of a plane (W wide), rows [ya, yb), columns [xa, xb): the first
 * maximum, or the last NaN when there is one; its offset in *at. Selects, not branches (random
 * data mispredict half of them); a window holding a NaN takes the second, branching loop. */
static float window_max(const float *x, int W, int ya, int yb, int xa, int xb, int32_t *at) {
    float best = -INFINITY;
    int32_t i_best = ya * W + xa;
    bool nan = false;
    for (int iy = ya; iy < yb; iy++)
        for (int ix = xa; ix < xb; ix++) {
            float v = x[iy * W + ix];
            i_best = v > best ? iy * W + ix : i_best;
            best = v > best ? v : best;
            nan |= v != v;
        }
    for (int iy = ya; nan && iy < yb; iy++)
        for (int ix = xa; ix < xb; ix++)
            if (x[iy * W + ix] != x[iy * W + ix]) best = x[iy * W + ix], i_best = iy * W + ix;
    *at = i_best;
    return best;
}

/* nn.MaxPool2d, floor mode, padding as -inf:
 *   Z[e, c, y, x] = max_{i, j < k} in[e, c, y*s - pad + i, x*s - pad + j]
 * in [n, C, H, W], Z [n, C, OH, OW]; arg [n, C, OH, OW] (int32 in aux) keeps the winner's
 * offset within the example (window_max: ATen's CPU rules). */
static int maxpool_forward(fanin__layer *L, const float *in, int n, int pass, char *err,
                           size_t errlen) {
    (void)pass, (void)err, (void)errlen;
    pgeom g = pool_geometry(L);
    int32_t *arg = (int32_t *)L->aux, hw = g.H * g.W;
    for (int e = 0; e < n; e++)
        for (int c = 0; c < g.C; c++) {
            const float *x = in + (size_t)e * L->n_in + (size_t)c * hw;
            size_t o = (size_t)e * L->n_out + (size_t)c * g.OH * g.OW;
            for (int y = 0; y < g.OH; y++)
                for (int xo = 0; xo < g.OW; xo++, o++) {
                    int ya, yb, xa, xb;
                    int32_t at;
                    span(&g, y, g.H, &ya, &yb);
                    span(&g, xo, g.W, &xa, &xb);
                    L->Z[o] = window_max(x, g.W, ya, yb, xa, xb, &at);
                    arg[o] = c * hw + at;
                }
        }
    return FANIN_OK;
}

/* Differentiates  Z[e, c, y, x] = in[e, arg[e, c, y, x]]:  d_in[e, arg] += dZ[e, c, y, x]. */
static int maxpool_backward(fanin__layer *L, const float *in, float *d_in, int n, bool dz_ready,
                            char *err, size_t errlen) {
    (void)in, (void)dz_ready, (void)err, (void)errlen;
    if (!d_in) return FANIN_OK;
    const int32_t *arg = (const int32_t *)L->aux;
    memset(d_in, 0, sizeof(float) * (size_t)n * L->n_in);
    for (int e = 0; e < n; e++) {
        float *dx = d_in + (size_t)e * L->n_in;
        const float *dz = L->dA + (size_t)e * L->n_out;
        const int32_t *a = arg + (size_t)e * L->n_out;
        for (int o = 0; o < L->n_out; o++) dx[a[o]] += dz[o];
    }
    return FANIN_OK;
}

/* nn.AvgPool2d, floor mode, count_include_pad=True (padding counts as zeros):
 *   Z[e, c, y, x] = 1/k^2 * sum_{i, j < k} in[e, c, y*s - pad + i, x*s - pad + j]
 * in [n, C, H, W], Z [n, C, OH, OW]. In floor mode with pad <= k/2 every window ends inside
 * the padded input, so ATen's divisor is k*k for all of them. */
static int avgpool_forward(fanin__layer *L, const float *in, int n, int pass, char *err,
                           size_t errlen) {
    (void)pass, (void)err, (void)errlen;
    pgeom g = pool_geometry(L);
    float inv = 1.0f / (float)(g.k * g.k);
    for (int e = 0; e < n; e++)
        for (int c = 0; c < g.C; c++) {
            const float *x = in + (size_t)e * L->n_in + (size_t)c * g.H * g.W;
            float *z = L->Z + (size_t)e * L->n_out + (size_t)c * g.OH * g.OW;
            for (int y = 0; y < g.OH; y++)
                for (int xo = 0; xo < g.OW; xo++) {
                    int ya, yb, xa, xb;
                    span(&g, y, g.H, &ya, &yb);
                    span(&g, xo, g.W, &xa, &xb);
                    float sum = 0.0f;
                    for (int iy = ya; iy < yb; iy++)
                        for (int ix = xa; ix < xb; ix++) sum += x[iy * g.W + ix];
                    z[y * g.OW + xo] = sum * inv;
                }
        }
    return FANIN_OK;
}

/* Differentiates the sum above:  d_in[e, c, y*s - pad + i, x*s - pad + j] += dZ[e, c, y, x]/k^2
 * for every window cell inside the input. */
static int avgpool_backward(fanin__layer *L, const float *in, float *d_in, int n, bool dz_ready,
                            char *err, size_t errlen) {
    (void)in, (void)dz_ready, (void)err, (void)errlen;
    if (!d_in) return FANIN_OK;
    pgeom g = pool_geometry(L);
    float inv = 1.0f / (float)(g.k * g.k);
    memset(d_in, 0, sizeof(float) * (size_t)n * L->n_in);
    for (int e = 0; e < n; e++)
        for (int c = 0; c < g.C; c++) {
            float *dx = d_in + (size_t)e * L->n_in + (size_t)c * g.H * g.W;
            const float *dz = L->dA + (size_t)e * L->n_out + (size_t)c * g.OH * g.OW;
            for (int y = 0; y < g.OH; y++)
                for (int xo = 0; xo < g.OW; xo++) {
                    int ya, yb, xa, xb;
                    span(&g, y, g.H, &ya, &yb);
                    span(&g, xo, g.W, &xa, &xb);
                    float d = dz[y * g.OW + xo] * inv;
                    for (int iy = ya; iy < yb; iy++)
                        for (int ix = xa; ix < xb; ix++) dx[iy * g.W + ix] += d;
                }
        }
    return FANIN_OK;
}

/* nn.AdaptiveAvgPool2d(1): Z[e, c] = 1/(H*W) * sum_{y, x} in[e, c, y, x]
 * in [n, C, H, W], Z [n, C, 1, 1]. */
static int global_forward(fanin__layer *L, const float *in, int n, int pass, char *err,
                          size_t errlen) {
    (void)pass, (void)err, (void)errlen;
    size_t hw = (size_t)L->in.h * L->in.w;
    float inv = 1.0f / (float)hw;
    for (int e = 0; e < n; e++)
        for (int c = 0; c < L->in.c; c++) {
            const float *x = in + (size_t)e * L->n_in + c * hw;
            float sum = 0.0f;
            for (size_t i = 0; i < hw; i++) sum += x[i];
            L->Z[(size_t)e * L->n_out + c] = sum * inv;
        }
    return FANIN_OK;
}

/* Differentiates the mean above:  d_in[e, c, y, x] = dZ[e, c] / (H*W). */
static int global_backward(fanin__layer *L, const float *in, float *d_in, int n, bool dz_ready,
                           char *err, size_t errlen) {
    (void)in, (void)dz_ready, (void)err, (void)errlen;
    if (!d_in) return FANIN_OK;
    size_t hw = (size_t)L->in.h * L->in.w;
    float inv = 1.0f / (float)hw;
    for (int e = 0; e < n; e++)
        for (int c = 0; c < L->in.c; c++) {
            float *dx = d_in + (size_t)e * L->n_in + c * hw;
            float d = L->dA[(size_t)e * L->n_out + c] * inv;
            for (size_t i = 0; i < hw; i++) dx[i] = d;
        }
    return FANIN_OK;
}

/* nn.Flatten: the rows are already [C, H, W] in row-major order, so Z = in (a copy into the
 * model's block, where the next layer and the statistics expect it). */
static int flatten_forward(fanin__layer *L, const float *in, int n, int pass, char *err,
                           size_t errlen) {
    (void)pass, (void)err, (void)errlen;
    memcpy(L->Z, in, sizeof(float) * (size_t)n * L->n_out);
    return FANIN_OK;
}

/* Differentiates Z = in:  d_in = dZ. */
static int flatten_backward(fanin__layer *L, const float *in, float *d_in, int n, bool dz_ready,
                            char *err, size_t errlen) {
    (void)in, (void)dz_ready, (void)err, (void)errlen;
    if (d_in) memcpy(d_in, L->dA, sizeof(float) * (size_t)n * L->n_in);
    return FANIN_OK;
}

const fanin__layer_kind fanin__maxpool2d_kind = {
    .name = "maxpool2d",
    .shape = maxpool_shape,
    .carve = maxpool_carve,
    .init = none_init,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .tensors = none_tensors,
};

const fanin__layer_kind fanin__avgpool2d_kind = {
    .name = "avgpool2d",
    .shape = pool_shape,
    .carve = none_carve,
    .init = none_init,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .tensors = none_tensors,
};

const fanin__layer_kind fanin__global_avgpool_kind = {
    .name = "global_avgpool",
    .shape = global_shape,
    .carve = none_carve,
    .init = none_init,
    .forward = global_forward,
    .backward = global_backward,
    .tensors = none_tensors,
};

const fanin__layer_kind fanin__flatten_kind = {
    .name = "flatten",
    .shape = flatten_shape,
    .carve = none_carve,
    .init = none_init,
    .forward = flatten_forward,
    .backward = flatten_backward,
    .tensors = none_tensors,
};
