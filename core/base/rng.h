/* Random streams (rng.c: Philox-4x32-10 and the host fill services; mt19937.c: numpy's
 * legacy RandomState stream). docs/random-streams.md says which stream draws what. */
#ifndef FANIN_BASE_RNG_H
#define FANIN_BASE_RNG_H

#include <fanin/plugin.h>
#include <stddef.h>
#include <stdint.h>

enum fanin__rng_kind { FANIN_RNG_PHILOX = 0, FANIN_RNG_NUMPY = 1 };

/* Tensor ids of a stream (the third part of its (seed, layer, tensor) key). */
enum fanin__stream {
    FANIN_STREAM_WEIGHT = 0,
    FANIN_STREAM_BIAS = 1,
    FANIN_STREAM_SHUFFLE = 2, /* layer = 0: minibatch order */
    FANIN_STREAM_DATA = 3,    /* layer = 0: synthetic data, sampling */
    FANIN_STREAM_DROPOUT = 4, /* layer = the dropout layer: its masks, step s from block s << 32 */
};

/* numpy's legacy stream (mt19937.c): MT19937 (Matsumoto & Nishimura 1998) with numpy's
 * RandomState state, including its cached second gaussian, so one stream shared by several
 * fanin_rng handles continues exactly as one RandomState does across randn calls. */
typedef struct fanin__mt19937 {
    uint32_t key[624];
    int pos;       /* next word of key to temper; 624 = regenerate first */
    int has_gauss; /* legacy_gauss caches the second value of each polar pair */
    double gauss;
} fanin__mt19937;

/* np.random.seed(seed) for an integer seed: init_genrand (numpy's mt19937_seed). */
void fanin__mt19937_seed(fanin__mt19937 *mt, uint32_t seed);
uint32_t fanin__mt19937_next32(fanin__mt19937 *mt); /* genrand_int32 */
double fanin__mt19937_double(fanin__mt19937 *mt);   /* random_sample: genrand_res53 */
double fanin__mt19937_gauss(fanin__mt19937 *mt);    /* numpy's legacy_gauss (randn) */

/* Philox-4x32-10 (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"):
 * key = seed; counter = (block lo, block hi, layer, tensor). Independent streams per
 * (seed, layer, tensor), so adding a layer leaves the other layers' weights unchanged. */
struct fanin_rng {
    int kind;        /* enum fanin__rng_kind */
    uint32_t key[2]; /* the seed */
    uint32_t ctr[4]; /* ctr[0..1] block index, ctr[2] layer, ctr[3] tensor */
    uint32_t buf[4]; /* outputs of the current block */
    int avail;       /* unread words left in buf */
    int has_spare;   /* a cached second normal (Box-Muller gives two) */
    double spare;
    fanin__mt19937 *mt; /* numpy kind only: the shared MT19937 stream (borrowed) */
};

void fanin__rng_init(fanin_rng *r, uint64_t seed, uint32_t layer, uint32_t tensor);
/* The same stream started at block `block` (its words 4 * block on) instead of block 0:
 * fanin__rng_init_at(r, s, l, t, 0) is fanin__rng_init(r, s, l, t). Dropout gives each step
 * its own range of the (seed, layer, FANIN_STREAM_DROPOUT) stream this way. */
void fanin__rng_init_at(fanin_rng *r, uint64_t seed, uint32_t layer, uint32_t tensor,
                        uint64_t block);
/* A handle of kind FANIN_RNG_NUMPY drawing from mt (borrowed; several handles may share one
 * mt, which is then one numpy RandomState drawn in call order). */
void fanin__rng_init_numpy(fanin_rng *r, fanin__mt19937 *mt);
uint32_t fanin__rng_u32(fanin_rng *r);
uint64_t fanin__rng_u64(fanin_rng *r);
double fanin__rng_uniform01(fanin_rng *r); /* [0, 1) with 53 random bits */
double fanin__rng_normal(fanin_rng *r);    /* N(0, 1) */
/* the host services of the same names (see fanin_host) */
void fanin__rng_fill_uniform(fanin_rng *r, float *out, size_t n, double lo, double hi);
void fanin__rng_fill_normal(fanin_rng *r, float *out, size_t n, double mean, double std);
void fanin__rng_fill_trunc_normal(fanin_rng *r, float *out, size_t n, double mean, double std,
                                  double lo, double hi);
/* Fisher-Yates shuffle of idx[0..n) */
void fanin__rng_shuffle(fanin_rng *r, int64_t *idx, int64_t n);
/* The Philox-4x32-10 block function: out = philox(ctr, key), 10 rounds (Random123's
 * philox4x32_R(10, ...); exposed for its known-answer tests). */
void fanin__philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

#endif /* FANIN_BASE_RNG_H */
