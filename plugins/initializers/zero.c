/* zero: ZerO initialisation, only zeros and ones (and a scaled Hadamard where the layer
 * widens). Zhao, Schaefer & Anandkumar 2022, "ZerO Initialization: Initializing Neural Networks
 * with only Zeros and Ones" (TMLR), Algorithm 1, for W [out, in]:
 *   out <= in: W = I* (the partial identity, W[i][i] = 1);
 *   out >  in: W = I*[out, p] H_m I*[p, in] / 2^(m/2), m = ceil(log2 out), p = 2^m, H_m the
 *              Sylvester Hadamard matrix H[i][j] = (-1)^popcount(i & j); so
 *              W[i][j] = (-1)^popcount(i & j) / sqrt(p).
 * The normalisation 2^(-m/2) is the authors' released code (ZerO_Init_on_matrix: H / 2^(m/2),
 * orthonormal columns); the paper's Algorithm 1 writes c = 2^(-(m-1)/2), sqrt 2 larger.
 * Deterministic (draws nothing). A convolution W [out, in, k...] gets the matrix at the kernel
 * centre, 0 elsewhere (the authors' conv rule, as dirac); a bias gets zeros.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

/* W[i][j] of the out x in ZerO matrix */
static float zero_entry(int64_t i, int64_t j, int64_t out, int64_t in, double c) {
    if (out <= in) return i == j ? 1.0f : 0.0f;
    return (float)(__builtin_popcountll((unsigned long long)(i & j)) & 1 ? -c : c);
}

/* c = 1 / sqrt(p), p = 2^ceil(log2 out) (only used when out > in) */
static double zero_scale(int64_t out) {
    int64_t p = 1;
    while (p < out) p *= 2;
    return 1.0 / sqrt((double)p);
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    (void)ctx, (void)p, (void)rng;
    size_t n = init_size(t);
    for (size_t i = 0; i < n; i++) t->data[i] = 0.0f;
    if (n == 0 || t->is_bias) return FANIN_OK;
    int64_t out, in, size = 1, centre = 0;
    init_out_in(t, &out, &in);
    if (init_is_conv(t)) init_kernel_centre(t, &size, &centre);
    double c = zero_scale(out);
    for (int64_t i = 0; i < out; i++)
        for (int64_t j = 0; j < in; j++)
            t->data[(i * in + j) * size + centre] = zero_entry(i, j, out, in, c);
    return FANIN_OK;
}

/* Exact moments of the values fill writes (sum and sum of squares). */
static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    (void)ctx, (void)p;
    size_t n = init_size(t);
    if (n == 0 || t->is_bias) return init_empty_moments(mean, std);
    int64_t out, in;
    init_out_in(t, &out, &in);
    double c = zero_scale(out), s = 0.0, ss = 0.0;
    for (int64_t i = 0; i < out; i++)
        for (int64_t j = 0; j < in; j++) {
            double v = zero_entry(i, j, out, in, c);
            s += v;
            ss += v * v;
        }
    *mean = s / (double)n;
    *std = sqrt(fmax(0.0, ss / (double)n - *mean * *mean));
    return FANIN_OK;
}

static const fanin_param_spec schema[] = {{0}};

FANIN_INITIALIZER(zero, "zero", "1.0.0",
                  "ZerO: partial identity, or Hadamard/sqrt(p) when widening (Zhao et al. 2022)",
                  schema, fill, moments);
