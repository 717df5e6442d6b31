/* numpy's legacy random stream, bit for bit: MT19937 (Matsumoto & Nishimura 1998, "Mersenne
 * Twister: a 623-dimensionally equidistributed uniform pseudo-random number generator") seeded
 * as np.random.seed(int), with RandomState's random_sample and legacy polar gaussian (randn).
 * Only the stream; rng.c dispatches fanin_rng handles of kind FANIN_RNG_NUMPY to it.
 * Checked against numpy's own output by tests/test_numpy_rng.c (tests/ref/numpy_rng_ref.h).
 */
#include "base/rng.h"

#include <stdint.h>
#include <math.h>

#define MT_N 624
#define MT_M 397
#define MT_MATRIX_A 0x9908B0DFu
#define MT_UPPER 0x80000000u
#define MT_LOWER 0x7FFFFFFFu

/* init_genrand: key[0] = seed, key[i] = 1812433253 (key[i-1] ^ (key[i-1] >> 30)) + i (Knuth,
 * TAOCP vol. 2, 3rd ed., p. 106). numpy's _legacy_seeding calls exactly this (mt19937_seed)
 * for an integer seed in [0, 2^32); arrays and None go through init_by_array, not supported. */
void fanin__mt19937_seed(fanin__mt19937 *mt, uint32_t seed) {
    mt->key[0] = seed;
    for (int i = 1; i < MT_N; i++)
        mt->key[i] = 1812433253u * (mt->key[i - 1] ^ (mt->key[i - 1] >> 30)) + (uint32_t)i;
    mt->pos = MT_N;
    mt->has_gauss = 0;
    mt->gauss = 0.0;
}

/* Regenerate all 624 words (the reference genrand_int32's block step). */
static void mt_generate(fanin__mt19937 *mt) {
    uint32_t *k = mt->key;
    for (int i = 0; i < MT_N; i++) {
        uint32_t y = (k[i] & MT_UPPER) | (k[(i + 1) % MT_N] & MT_LOWER);
        k[i] = k[(i + MT_M) % MT_N] ^ (y >> 1) ^ ((y & 1u) ? MT_MATRIX_A : 0u);
    }
    mt->pos = 0;
}

/* genrand_int32: the next word, tempered. */
uint32_t fanin__mt19937_next32(fanin__mt19937 *mt) {
    if (mt->pos >= MT_N) mt_generate(mt);
    uint32_t y = mt->key[mt->pos++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9D2C5680u;
    y ^= (y << 15) & 0xEFC60000u;
    y ^= y >> 18;
    return y;
}

/* random_sample / rand: genrand_res53, (a * 2^26 + b) / 2^53 with a = 27, b = 26 bits. */
double fanin__mt19937_double(fanin__mt19937 *mt) {
    uint32_t a = fanin__mt19937_next32(mt) >> 5, b = fanin__mt19937_next32(mt) >> 6;
    return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
}

/* numpy's legacy_gauss (randn, standard_normal): Marsaglia's polar method (Marsaglia & Bray
 * 1964). x1, x2 uniform in (-1, 1) until 0 < r2 = x1^2 + x2^2 < 1; f = sqrt(-2 ln(r2) / r2);
 * returns f x2 and caches f x1 for the next call. The same expressions in the same order as
 * numpy's legacy-distributions.c, so glibc's log gives the same bits. */
double fanin__mt19937_gauss(fanin__mt19937 *mt) {
    if (mt->has_gauss) {
        double g = mt->gauss;
        mt->has_gauss = 0;
        mt->gauss = 0.0;
        return g;
    }
    double f, x1, x2, r2;
    do {
        x1 = 2.0 * fanin__mt19937_double(mt) - 1.0;
        x2 = 2.0 * fanin__mt19937_double(mt) - 1.0;
        r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    f = sqrt(-2.0 * log(r2) / r2);
    mt->gauss = f * x1;
    mt->has_gauss = 1;
    return f * x2;
}
