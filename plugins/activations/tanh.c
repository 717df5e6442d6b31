/* tanh: y = tanh(x); dy/dx = 1 - y^2; gain 5/3 (torch.nn.init.calculate_gain("tanh")).
 * torch.nn.Tanh; the symmetric sigmoid LeCun et al. 1998 ("Efficient BackProp") recommend
 * over the logistic one. x: [n], y: [n]; x == y and dy == dx allowed.
 *
 * The forward is fdlibm's tanhf (Sun 1993, as glibc <= 2.40 ships it:
 * sysdeps/ieee754/flt-32/s_tanhf.c with s_expm1f.c) written without branches, so GCC
 * vectorises it: every case of the two functions is computed in each lane and the right one
 * selected with bit masks. Only IEEE float +, -, *, / and integer bit operations, each as
 * fdlibm writes it (the family is built with -ffp-contract=off: no FMA contraction), so every
 * output is bit-identical to glibc 2.36's scalar tanhf (checked over all 2^32 inputs, and by
 * tests/test_tanh_exact.c on a sample) and the same on every CPU, whichever clone runs: 1.6 ns
 * per element (AVX-512) and 2.4 (AVX2) where glibc's tanhf takes about 7.
 */
#include <fanin/plugin.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float flt(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* a where m is all ones, b where m is 0; m from mask(condition) */
static inline float sel(uint32_t m, float a, float b) {
    return flt((bits(a) & m) | (bits(b) & ~m));
}
static inline uint32_t mask(int c) { return (uint32_t)0 - (uint32_t)c; }

/* expm1f(v) (fdlibm s_expm1f.c) for the arguments tanhf passes it: v = 2|x| in [2, 44) when
 * |x| >= 1 (k = round(v / ln2) in [3, 63]), else v = -2|x| in (-2, 0) (k in {0, -1, -2, -3}).
 * Reduction v = k ln2 + r (ln2 split hi + lo, c the rounding error of r), then
 * expm1(r) = r + r^2/2 + r^3/2 (rational in r^2, Q1..Q5), then 2^k (1 + expm1(r)) - 1
 * assembled as fdlibm does for each range of k. */
static inline float expm1_tanh(float v, uint32_t pos) {
    const float ln2_hi = 6.9313812256e-01f, ln2_lo = 9.0580006145e-06f, invln2 = 1.4426950216e+00f;
    const float Q1 = -3.3333335072e-02f, Q2 = 1.5873016091e-03f, Q3 = -7.9365076090e-05f,
                Q4 = 4.0082177293e-06f, Q5 = -2.0109921195e-07f;
    uint32_t hv = bits(v) & 0x7fffffffu;
    /* v clamped to 64 (NaN and inf too) so the conversion to int is defined; the lanes with
     * |v| >= 44 are replaced by tanhf's +-1 or NaN afterwards */
    float vc = sel(mask(hv < 0x42800000u), v, 64.0f);
    int32_t kg = (int32_t)(invln2 * vc + sel(pos, 0.5f, -0.5f));
    uint32_t reduce = mask(hv > 0x3eb17218u), near = mask(hv < 0x3F851592u); /* 0.5, 1.5 ln2 */
    int32_t k = (int32_t)(reduce & ((near & (uint32_t)-1) | (~near & (uint32_t)kg)));
    float tk = (float)k; /* k = -1: hi = v + ln2_hi, lo = -ln2_lo exactly as fdlibm's case */
    float hi = v - tk * ln2_hi, lo = tk * ln2_lo;
    float r = hi - lo, c = (hi - r) - lo;
    float hfx = 0.5f * r, hxs = r * hfx;
    float r1 = 1.0f + hxs * (Q1 + hxs * (Q2 + hxs * (Q3 + hxs * (Q4 + hxs * Q5))));
    float t = 3.0f - r1 * hfx;
    float e = hxs * ((r1 - t) / (6.0f - r * t));
    float k0 = r - (r * e - hxs);
    e = (r * (e - c) - c) - hxs;
    float km1 = 0.5f * (r - e) - 0.5f;
    uint32_t kexp = (uint32_t)k << 23;          /* adds k to a float's exponent */
    float p2k = flt((uint32_t)(127 - k) << 23); /* 2^-k */
    float kneg = flt(bits(1.0f - (e - r)) + kexp) - 1.0f;
    float kmid = flt(bits((1.0f - p2k) - (e - r)) + kexp); /* 1 - 2^-k exact for k < 23 */
    float khigh = flt(bits((r - (e + p2k)) + 1.0f) + kexp);
    float y = sel(mask(k < 23), kmid, khigh);
    y = sel(mask(k <= -2) | mask(k > 56), kneg, y);
    y = sel(mask(k == -1), km1, y);
    y = sel(mask(k == 0), k0, y);
    return sel(mask(hv < 0x33000000u), v, y); /* |v| < 2^-25: v */
}

/* tanhf (fdlibm s_tanhf.c): |x| >= 1: 1 - 2 / (expm1(2|x|) + 2); |x| < 1: -t / (t + 2) with
 * t = expm1(-2|x|); the sign of x; |x| >= 22 (and inf): +-1; |x| < 2^-55: x; NaN: NaN. */
static inline float tanh_fdlibm(float x) {
    uint32_t jx = bits(x), ix = jx & 0x7fffffffu;
    uint32_t big = mask(ix >= 0x3f800000u);
    float v = flt(bits(2.0f * flt(ix)) | (~big & 0x80000000u));
    float t = expm1_tanh(v, big);
    float q = sel(big, 2.0f, -t) / (t + 2.0f);
    float z = sel(big, 1.0f - q, q);
    z = sel(mask(ix >= 0x41b00000u), 1.0f, z);
    z = flt(bits(z) ^ (jx & 0x80000000u));
    z = sel(mask(ix < 0x24000000u), x, z);
    return sel(mask(ix > 0x7f800000u), x + x, z);
}

/* one clone per vector width, chosen at load time (GCC function multiversioning) */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static int
forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++) y[i] = tanh_fdlibm(x[i]); /* saturates to +-1 */
    return FANIN_OK;
}

/* forward: y = tanh(x), so dy/dx = 1 - y^2 from y alone (as torch's tanh_backward). The host
 * calls in place (dx == dy): a two-array loop vectorises where three fail GCC's overlap check. */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    if (dx == dy)
        for (size_t i = 0; i < n; i++) dx[i] *= 1.0f - y[i] * y[i];
    else
        for (size_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
    return FANIN_OK;
}

static int gain(const fanin_value *p, double *g) {
    *g = 5.0 / 3.0;
    return FANIN_OK;
}

FANIN_ACTIVATION(act_tanh, "tanh", "1.0.0", "tanh(x) (gain 5/3)", NULL, forward, backward, gain);
