/* Random streams: Philox-4x32-10 blocks turned into u32/u64, uniforms, normals, truncated
 * normals and shuffles. Every Philox stream is keyed by (seed, layer, tensor), so draws never
 * depend on thread schedule or on other layers. Handles of kind FANIN_RNG_NUMPY draw from a
 * shared MT19937 (mt19937.c) the way numpy's legacy RandomState does: u32 = genrand_int32,
 * uniform01 = random_sample, normal = legacy_gauss (docs/random-streams.md).
 */
#include "base/rng.h"

#include <stdint.h>
#include <math.h>

/* ---- Philox-4x32-10 block function ---- */

/* Constants of Salmon et al. 2011 ("Parallel random numbers: as easy as 1, 2, 3", SC'11),
 * table 2, and Random123's philox.h: round multipliers and Weyl key increments. */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u /* golden ratio */
#define PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1 */

static inline void mulhilo32(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo) {
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

/* One round: (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0) with (hi0,lo0) = M0*c0, (hi1,lo1) = M1*c2. */
static inline void philox_round(uint32_t c[4], const uint32_t k[2]) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo32(PHILOX_M0, c[0], &hi0, &lo0);
    mulhilo32(PHILOX_M1, c[2], &hi1, &lo1);
    c[0] = hi1 ^ c[1] ^ k[0];
    c[1] = lo1;
    c[2] = hi0 ^ c[3] ^ k[1];
    c[3] = lo0;
}

/* Ten rounds; the key is bumped by (W0, W1) between rounds (nine bumps), as in Random123. */
void fanin__philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
    uint32_t k[2] = {key[0], key[1]};
    philox_round(c, k);
    for (int round = 1; round < 10; round++) {
        k[0] += PHILOX_W0;
        k[1] += PHILOX_W1;
        philox_round(c, k);
    }
    for (int i = 0; i < 4; i++) out[i] = c[i];
}

/* ---- stream state ---- */

void fanin__rng_init(fanin_rng *r, uint64_t seed, uint32_t layer, uint32_t tensor) {
    r->kind = FANIN_RNG_PHILOX;
    r->key[0] = (uint32_t)seed;
    r->key[1] = (uint32_t)(seed >> 32);
    r->ctr[0] = 0;
    r->ctr[1] = 0;
    r->ctr[2] = layer;
    r->ctr[3] = tensor;
    r->avail = 0;
    r->has_spare = 0;
    r->spare = 0.0;
    r->mt = NULL;
}

void fanin__rng_init_at(fanin_rng *r, uint64_t seed, uint32_t layer, uint32_t tensor,
                        uint64_t block) {
    fanin__rng_init(r, seed, layer, tensor);
    r->ctr[0] = (uint32_t)block;
    r->ctr[1] = (uint32_t)(block >> 32);
}

void fanin__rng_init_numpy(fanin_rng *r, fanin__mt19937 *mt) {
    fanin__rng_init(r, 0, 0, 0);
    r->kind = FANIN_RNG_NUMPY;
    r->mt = mt;
}

/* Next word of the current block; a new block (and a 64-bit counter step) every 4 words. */
static uint32_t philox_u32(fanin_rng *r) {
    if (r->avail == 0) {
        fanin__philox4x32_10(r->ctr, r->key, r->buf);
        if (++r->ctr[0] == 0) r->ctr[1]++;
        r->avail = 4;
    }
    return r->buf[4 - r->avail--];
}

uint32_t fanin__rng_u32(fanin_rng *r) {
    switch (r->kind) {
    case FANIN_RNG_NUMPY: return fanin__mt19937_next32(r->mt);
    case FANIN_RNG_PHILOX:
    default: return philox_u32(r);
    }
}

/* High word first, as numpy's mt19937_next64 does, so both kinds agree on order (numpy's
 * random_raw gives the 32-bit words themselves: fanin__rng_u32). */
uint64_t fanin__rng_u64(fanin_rng *r) {
    uint64_t hi = fanin__rng_u32(r);
    return (hi << 32) | fanin__rng_u32(r);
}

/* (a * 2^26 + b) / 2^53 with a = 27 bits, b = 26 bits: MT19937's genrand_res53, which numpy's
 * legacy random_sample also uses; [0, 1) with 53 random bits. For the numpy kind this is
 * exactly np.random.rand (fanin__mt19937_double). */
double fanin__rng_uniform01(fanin_rng *r) {
    uint32_t a = fanin__rng_u32(r) >> 5, b = fanin__rng_u32(r) >> 6;
    return ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
}

/* ---- normals ---- */

/* Box-Muller (Box & Muller 1958): r = sqrt(-2 ln u1), theta = 2 pi u2 gives two independent
 * N(0,1) values r cos(theta) and r sin(theta); the second is cached. u1 = 1 - uniform01 lies in
 * (0, 1], so log never sees 0. */
static double philox_normal(fanin_rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1 = 1.0 - fanin__rng_uniform01(r);
    double u2 = fanin__rng_uniform01(r);
    double rad = sqrt(-2.0 * log(u1));
    double theta = 2.0 * M_PI * u2;
    r->spare = rad * sin(theta);
    r->has_spare = 1;
    return rad * cos(theta);
}

double fanin__rng_normal(fanin_rng *r) {
    switch (r->kind) {
    case FANIN_RNG_NUMPY: return fanin__mt19937_gauss(r->mt); /* randn, cache in the stream */
    case FANIN_RNG_PHILOX:
    default: return philox_normal(r);
    }
}

/* ---- the host's fill services ---- */

/* out[i] = lo + (hi - lo) * u, u in [0, 1): numpy's legacy uniform(lo, hi). Rounding to float
 * can reach hi; step back one ulp so the interval stays half-open as documented. */
void fanin__rng_fill_uniform(fanin_rng *r, float *out, size_t n, double lo, double hi) {
    float top = (float)hi;
    for (size_t i = 0; i < n; i++) {
        float v = (float)(lo + (hi - lo) * fanin__rng_uniform01(r));
        out[i] = (v >= top && hi > lo) ? nextafterf(top, (float)lo) : v;
    }
}

void fanin__rng_fill_normal(fanin_rng *r, float *out, size_t n, double mean, double std) {
    for (size_t i = 0; i < n; i++) out[i] = (float)(mean + std * fanin__rng_normal(r));
}

/* Redraws allowed per value before giving up: an interval this improbable is a caller bug. */
#define TRUNC_MAX_TRIES 100000

/* One value of N(mean, std) conditioned on [lo, hi] by rejection; NaN after TRUNC_MAX_TRIES
 * misses, so an unreachable interval shows up as a non-finite weight, not an endless loop. */
static float trunc_normal_one(fanin_rng *r, double mean, double std, double lo, double hi) {
    for (int tries = 0; tries < TRUNC_MAX_TRIES; tries++) {
        double v = mean + std * fanin__rng_normal(r);
        float f = (float)v;
        if (f >= lo && f <= hi) return f; /* test the stored float: rounding may leave [lo, hi] */
    }
    return NAN;
}

/* normal(mean, std) redrawn until inside [lo, hi] (absolute units): the contract of PyTorch's
 * trunc_normal_ (which samples by inverse CDF instead, so the draws differ). Impossible
 * requests (lo > hi, std < 0, non-finite values, std = 0 with mean outside) give NaN. */
void fanin__rng_fill_trunc_normal(fanin_rng *r, float *out, size_t n, double mean, double std,
                                  double lo, double hi) {
    int bad = !(lo <= hi) || !(std >= 0.0) || !isfinite(mean) || !isfinite(std) ||
              (std == 0.0 && !(mean >= lo && mean <= hi));
    for (size_t i = 0; i < n; i++) {
        out[i] = bad ? NAN : trunc_normal_one(r, mean, std, lo, hi);
        bad = bad || isnan(out[i]); /* one miss means the rest would miss too: stop drawing */
    }
}

/* ---- shuffles ---- */

/* Uniform integer in [0, max] by masked rejection (numpy's random_interval): draw with the
 * smallest all-ones mask >= max and retry when above, so no value is favoured; at least half
 * the draws are accepted. 32-bit draws while max fits, as numpy does. */
static uint64_t rng_interval(fanin_rng *r, uint64_t max) {
    if (max == 0) return 0;
    uint64_t mask = max, v;
    for (int s = 1; s <= 32; s <<= 1) mask |= mask >> s;
    if (max <= 0xFFFFFFFFu) {
        while ((v = (fanin__rng_u32(r) & mask)) > max) {}
    } else {
        while ((v = (fanin__rng_u64(r) & mask)) > max) {}
    }
    return v;
}

/* Fisher-Yates (Knuth, TAOCP vol. 2, algorithm P), from the end as numpy's legacy shuffle:
 * for i = n-1..1, swap idx[i] with idx[j], j uniform in [0, i]. */
void fanin__rng_shuffle(fanin_rng *r, int64_t *idx, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)rng_interval(r, (uint64_t)i);
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
