/* Helpers shared by the initializer family (private to plugins/initializers/, not ABI).
 * Small static inline functions: resolving `gain: auto`, choosing a fan by mode, drawing a
 * zero-mean normal (optionally truncated as Keras/JAX do). Every plugin file keeps its formula.
 */
#ifndef FANIN_INIT_COMMON_H
#define FANIN_INIT_COMMON_H

#include <fanin/plugin.h>
#include <math.h>

FANIN_USES_HOST;

/* std of N(0,1) truncated to [-2, 2]; Keras/JAX divide their std by it so a truncated draw
 * keeps the nominal std (keras VarianceScaling, jax variance_scaling). */
#define INIT_TRUNC_STD 0.87962566103423978

enum { INIT_FAN_IN = 0, INIT_FAN_OUT = 1 }; /* index into a plugin's `mode` choices */

/* Elements in t (0 for an empty tensor: every function is then a no-op). */
static inline size_t init_size(const fanin_tensor *t) {
    return t->rows > 0 && t->cols > 0 ? (size_t)t->rows * (size_t)t->cols : 0;
}

/* For moments() of an empty tensor: nothing to describe, report 0 and 0. */
static inline int init_empty_moments(double *mean, double *std) {
    *mean = 0.0;
    *std = 0.0;
    return FANIN_OK;
}

/* `gain: auto` arrives as NaN: ask the host for the layer activation's gain
 * (torch.nn.init.calculate_gain; 1.0 when there is no layer). */
static inline int init_gain(fanin_ctx *ctx, double gain, double *out) {
    if (!isnan(gain)) {
        *out = gain;
        return FANIN_OK;
    }
    return FANIN_HOST->activation_gain(ctx, out);
}

/* The fan a variance-scaling rule divides by; a layer with no inputs (or outputs) has none. */
static inline int init_fan(fanin_ctx *ctx, const fanin_tensor *t, int mode, double *fan) {
    int64_t f = mode == INIT_FAN_OUT ? t->fan_out : t->fan_in;
    *fan = (double)f;
    if (f > 0) return FANIN_OK;
    return FANIN_HOST->error(ctx, FANIN_EINVAL, "%s is %lld; it must be positive",
                             mode == INIT_FAN_OUT ? "fan_out" : "fan_in", (long long)f);
}

/* N(0, std) as PyTorch, or with `truncated` as Keras/JAX: N(0, std/0.8796) redrawn outside
 * two of its own std, so the result's std is still `std`. */
static inline void init_normal0(fanin_rng *rng, const fanin_tensor *t, double std, int truncated) {
    if (!truncated) {
        FANIN_HOST->rng_normal(rng, t->data, init_size(t), 0.0, std);
        return;
    }
    double s = std / INIT_TRUNC_STD;
    FANIN_HOST->rng_trunc_normal(rng, t->data, init_size(t), 0.0, s, -2.0 * s, 2.0 * s);
}

/* `nonlinearity` choices of the kaiming/he schemes; index 0 = auto (the layer's activation). */
#define INIT_NONLINEARITIES \
    { "auto", "linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu", NULL }
enum {
    INIT_NL_AUTO,
    INIT_NL_LINEAR,
    INIT_NL_SIGMOID,
    INIT_NL_TANH,
    INIT_NL_RELU,
    INIT_NL_LEAKY,
    INIT_NL_SELU
};

/* torch.nn.init.calculate_gain(nonlinearity, a): linear/sigmoid 1, tanh 5/3, relu sqrt(2),
 * leaky_relu sqrt(2 / (1 + a^2)), selu 3/4 (PyTorch PR 50664). */
static inline double init_calculate_gain(int nl, double a) {
    switch (nl) {
    case INIT_NL_TANH: return 5.0 / 3.0;
    case INIT_NL_RELU: return sqrt(2.0);
    case INIT_NL_LEAKY: return sqrt(2.0 / (1.0 + a * a));
    case INIT_NL_SELU: return 3.0 / 4.0;
    default: return 1.0;
    }
}

/* The kaiming/he gain. Precedence: an explicit `gain` wins; else `nonlinearity` (default
 * leaky_relu with a = 0: sqrt 2, as torch.nn.init.kaiming_*_); else (`nonlinearity: auto`)
 * the layer activation's gain. */
static inline int init_kaiming_gain(fanin_ctx *ctx, double gain, int nl, double a, double *out) {
    if (!isnan(gain) || nl == INIT_NL_AUTO) return init_gain(ctx, gain, out);
    *out = init_calculate_gain(nl, a);
    return FANIN_OK;
}

/* Caffe's fans (filler.hpp, XavierFiller/MSRAFiller): fan_in = count / shape(0), fan_out =
 * count / shape(1), or count for a 1-D blob. So a bias [n] has fan_in 1 and fan_out n (Caffe
 * fills it U(+-sqrt 3) with the default FAN_IN), a weight its own fans. n by variance_norm:
 * 0 fan_in, 1 fan_out, 2 their average. */
static inline int init_caffe_n(fanin_ctx *ctx, const fanin_tensor *t, int norm, double *n) {
    double fi = 1.0, fo = (double)init_size(t);
    int rc = FANIN_OK;
    if (!t->is_bias) {
        rc = init_fan(ctx, t, INIT_FAN_IN, &fi);
        if (rc == FANIN_OK) rc = init_fan(ctx, t, INIT_FAN_OUT, &fo);
    }
    *n = norm == 0 ? fi : norm == 1 ? fo : 0.5 * (fi + fo);
    return rc;
}

/* A uniform double in [0, 1) from 53 bits of the host's draw (Bernoulli masks). */
static inline double init_unit(fanin_rng *rng) {
    return (double)(FANIN_HOST->rng_u64(rng) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, k), k >= 1, from the host's 64-bit draws; rejection removes the
 * modulo bias. */
static inline uint64_t init_below(fanin_rng *rng, uint64_t k) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % k, v;
    do v = FANIN_HOST->rng_u64(rng);
    while (v >= limit);
    return v % k;
}

/* ---- the tensor's description (ABI 1.2) ---- */

/* Does t carry its shape, role and branch? Only from a 1.2 host (an older one passes the 1.0
 * struct: reading further is out of bounds) and a caller that described it (ndim > 0). */
static inline int init_described(const fanin_tensor *t) {
    return FANIN_TENSOR_HAS(FANIN_HOST, branch_len) && t->ndim > 0;
}

/* t's role, FANIN_ROLE_UNKNOWN when not described. */
static inline int init_role(const fanin_tensor *t) {
    return init_described(t) ? t->role : FANIN_ROLE_UNKNOWN;
}

/* A convolution's weight, described: [out, in, k...] with at least one spatial dimension. */
static inline int init_is_conv(const fanin_tensor *t) {
    return init_described(t) && t->ndim >= 3 && !t->is_bias;
}

/* out and in of a described conv weight [out, in, k...], else rows and cols of the 2-D view. */
static inline void init_out_in(const fanin_tensor *t, int64_t *out, int64_t *in) {
    int conv = init_is_conv(t);
    *out = conv ? t->shape[0] : t->rows;
    *in = conv ? t->shape[1] : t->cols;
}

/* A conv weight's spatial size S = prod(shape[2:]) and the flat index of the kernel centre
 * (shape[d] / 2 in every spatial dimension, as torch.nn.init.dirac_), row-major. */
static inline void init_kernel_centre(const fanin_tensor *t, int64_t *size, int64_t *centre) {
    *size = 1;
    *centre = 0;
    for (int d = 2; d < t->ndim; d++) {
        *centre = *centre * t->shape[d] + t->shape[d] / 2;
        *size *= t->shape[d];
    }
}

/* dst [r, c] = gain * Q, Q semi-orthogonal: draw A ~ N(0, 1) of shape [max(r,c), min(r,c)]
 * (the draws in that matrix's row-major order), A = QR with diag(R) >= 0 (the host's qr:
 * Haar, Mezzadri 2007), transposed back when r < c. Saxe et al. 2014; torch.nn.init.orthogonal_
 * for r >= c (a wide matrix takes its draws already transposed). `who` prefixes messages. */
static inline int init_orthogonal(fanin_ctx *ctx, fanin_rng *rng, float *dst, int r, int c,
                                  double gain, const char *who) {
    size_t n = (size_t)r * (size_t)c;
    int wide = r < c;
    float *a = wide ? FANIN_HOST->alloc(ctx, n * sizeof *a) : dst;
    if (!a) return FANIN_HOST->error(ctx, FANIN_ENOMEM, "%s: no memory for %d x %d", who, c, r);
    FANIN_HOST->rng_normal(rng, a, n, 0.0, 1.0);
    int rc = FANIN_HOST->qr(ctx, a, wide ? c : r, wide ? r : c);
    for (size_t i = 0; rc == FANIN_OK && i < (size_t)r; i++) /* W = gain Q, or gain Q^T */
        for (size_t j = 0; j < (size_t)c; j++)
            dst[i * c + j] = (float)gain * (wide ? a[j * r + i] : a[i * c + j]);
    if (wide) FANIN_HOST->free(ctx, a);
    return rc;
}

#endif /* FANIN_INIT_COMMON_H */
