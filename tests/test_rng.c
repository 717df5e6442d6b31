/* Tests for core/rng.c: Philox-4x32-10 known answers (Random123's kat_vectors), the stream
 * layout (seed, layer, tensor), and the moments of the uniform, normal and truncated normal
 * fills at a fixed seed within 5 sigma/sqrt(n); shuffles are permutations. */
#include "base/rng.h"

#include <stdint.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define N_MOMENTS 200000
#define SEED 20240601u

static void check_block(const uint32_t ctr[4], const uint32_t key[2], const uint32_t want[4]) {
    uint32_t out[4];
    fanin__philox4x32_10(ctr, key, out);
    for (int i = 0; i < 4; i++) assert_int_equal(out[i], want[i]);
}

/* Random123 1.14, tests/kat_vectors: philox4x32 10 rounds. */
static void test_philox_known_answers(void **state) {
    const uint32_t zero_c[4] = {0, 0, 0, 0}, zero_k[2] = {0, 0};
    const uint32_t zero_w[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
    check_block(zero_c, zero_k, zero_w);
    const uint32_t ones_c[4] = {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
    const uint32_t ones_k[2] = {0xffffffff, 0xffffffff};
    const uint32_t ones_w[4] = {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd};
    check_block(ones_c, ones_k, ones_w);
    const uint32_t pi_c[4] = {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344};
    const uint32_t pi_k[2] = {0xa4093822, 0x299f31d0};
    const uint32_t pi_w[4] = {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1};
    check_block(pi_c, pi_k, pi_w);
}

/* Word k of stream (seed, layer, tensor) is word k%4 of block k/4 with
 * ctr = (k/4, 0, layer, tensor), key = (seed lo, seed hi). */
static void test_stream_layout(void **state) {
    fanin_rng r;
    uint64_t seed = 0x0123456789abcdefull;
    fanin__rng_init(&r, seed, 3, FANIN_STREAM_BIAS);
    const uint32_t key[2] = {0x89abcdef, 0x01234567};
    for (uint32_t block = 0; block < 3; block++) {
        const uint32_t ctr[4] = {block, 0, 3, FANIN_STREAM_BIAS};
        uint32_t want[4];
        fanin__philox4x32_10(ctr, key, want);
        for (int i = 0; i < 4; i++) assert_int_equal(fanin__rng_u32(&r), want[i]);
    }
}

/* The 64-bit block index carries from ctr[0] into ctr[1]. */
static void test_counter_carry(void **state) {
    fanin_rng r;
    fanin__rng_init(&r, 7, 0, 0);
    r.ctr[0] = 0xffffffffu;
    for (int i = 0; i < 4; i++) fanin__rng_u32(&r);
    const uint32_t ctr[4] = {0, 1, 0, 0}, key[2] = {7, 0};
    uint32_t want[4];
    fanin__philox4x32_10(ctr, key, want);
    assert_int_equal(fanin__rng_u32(&r), want[0]);
}

static void test_u64_is_high_word_first(void **state) {
    fanin_rng a, b;
    fanin__rng_init(&a, SEED, 0, 0);
    fanin__rng_init(&b, SEED, 0, 0);
    uint64_t hi = fanin__rng_u32(&b), lo = fanin__rng_u32(&b);
    assert_true(fanin__rng_u64(&a) == ((hi << 32) | lo));
}

static int same_prefix(uint64_t s1, uint32_t l1, uint32_t t1, uint64_t s2, uint32_t l2,
                       uint32_t t2) {
    fanin_rng a, b;
    fanin__rng_init(&a, s1, l1, t1);
    fanin__rng_init(&b, s2, l2, t2);
    int same = 1;
    for (int i = 0; i < 64; i++) same &= fanin__rng_u32(&a) == fanin__rng_u32(&b);
    return same;
}

static void test_streams_independent_and_repeatable(void **state) {
    assert_true(same_prefix(SEED, 2, 0, SEED, 2, 0));
    assert_false(same_prefix(SEED, 2, 0, SEED, 3, 0)); /* another layer */
    assert_false(same_prefix(SEED, 2, 0, SEED, 2, 1)); /* another tensor */
    assert_false(same_prefix(SEED, 2, 0, SEED + 1, 2, 0));
    assert_false(same_prefix(1ull << 32, 0, 0, 0, 0, 0)); /* the seed's high word counts */
}

/* mean(x) and var(x) of n samples */
static void moments(const float *x, size_t n, double *mean, double *var) {
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    *mean = s / n;
    for (size_t i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    *var = ss / (n - 1);
}

/* U(lo, hi): mean (lo+hi)/2, var w^2/12, var of the var estimate w^4/180 / n (4th central
 * moment w^4/80 minus (w^2/12)^2). */
static void test_uniform_moments(void **state) {
    float *x = malloc(N_MOMENTS * sizeof *x);
    fanin_rng r;
    fanin__rng_init(&r, SEED, 1, FANIN_STREAM_WEIGHT);
    double lo = -2.0, hi = 3.0, w = hi - lo, mean, var;
    fanin__rng_fill_uniform(&r, x, N_MOMENTS, lo, hi);
    for (size_t i = 0; i < N_MOMENTS; i++) assert_true(x[i] >= lo && x[i] < hi);
    moments(x, N_MOMENTS, &mean, &var);
    assert_true(fabs(mean - 0.5) < 5 * sqrt(w * w / 12 / N_MOMENTS));
    assert_true(fabs(var - w * w / 12) < 5 * sqrt(pow(w, 4) / 180 / N_MOMENTS));
    free(x);
}

static void test_uniform01_range(void **state) {
    fanin_rng r;
    fanin__rng_init(&r, SEED, 0, 0);
    double s = 0;
    for (int i = 0; i < N_MOMENTS; i++) {
        double u = fanin__rng_uniform01(&r);
        assert_true(u >= 0.0 && u < 1.0);
        s += u;
    }
    assert_true(fabs(s / N_MOMENTS - 0.5) < 5 * sqrt(1.0 / 12 / N_MOMENTS));
}

/* N(mean, std): sample mean within 5 std/sqrt(n); sample var within 5 sqrt(2/n) var. */
static void test_normal_moments(void **state) {
    float *x = malloc(N_MOMENTS * sizeof *x);
    fanin_rng r;
    fanin__rng_init(&r, SEED, 4, FANIN_STREAM_WEIGHT);
    double mu = 1.5, sd = 0.25, mean, var;
    fanin__rng_fill_normal(&r, x, N_MOMENTS, mu, sd);
    moments(x, N_MOMENTS, &mean, &var);
    assert_true(fabs(mean - mu) < 5 * sd / sqrt(N_MOMENTS));
    assert_true(fabs(var - sd * sd) < 5 * sd * sd * sqrt(2.0 / N_MOMENTS));
    int finite = 1;
    for (size_t i = 0; i < N_MOMENTS; i++) finite &= isfinite(x[i]) != 0;
    assert_true(finite);
    free(x);
}

/* The Box-Muller spare is part of the stream state: a fresh stream repeats the sequence. */
static void test_normal_repeatable(void **state) {
    fanin_rng a, b;
    fanin__rng_init(&a, SEED, 0, 0);
    fanin__rng_init(&b, SEED, 0, 0);
    for (int i = 0; i < 11; i++) assert_true(fanin__rng_normal(&a) == fanin__rng_normal(&b));
    assert_int_equal(a.has_spare, 1);
}

/* N(0, 1) truncated to [-1, 2]: every value inside; its mean is
 * (phi(-1) - phi(2)) / (Phi(2) - Phi(-1)). */
static void test_trunc_normal_bounds(void **state) {
    float *x = malloc(N_MOMENTS * sizeof *x);
    fanin_rng r;
    fanin__rng_init(&r, SEED, 2, FANIN_STREAM_WEIGHT);
    fanin__rng_fill_trunc_normal(&r, x, N_MOMENTS, 0.0, 1.0, -1.0, 2.0);
    double mean, var;
    for (size_t i = 0; i < N_MOMENTS; i++) assert_true(x[i] >= -1.0f && x[i] <= 2.0f);
    moments(x, N_MOMENTS, &mean, &var);
    double phi_a = exp(-0.5) / sqrt(2 * M_PI), phi_b = exp(-2.0) / sqrt(2 * M_PI);
    double z = 0.5 * (erf(2.0 / sqrt(2)) - erf(-1.0 / sqrt(2)));
    assert_true(fabs(mean - (phi_a - phi_b) / z) < 5 * sqrt(var / N_MOMENTS));
    free(x);
}

/* Impossible requests give NaN instead of looping forever. */
static void test_trunc_normal_impossible(void **state) {
    float x[4];
    fanin_rng r;
    fanin__rng_init(&r, SEED, 0, 0);
    fanin__rng_fill_trunc_normal(&r, x, 4, 0.0, 1.0, 2.0, 1.0); /* lo > hi */
    for (int i = 0; i < 4; i++) assert_true(isnan(x[i]));
    fanin__rng_fill_trunc_normal(&r, x, 4, 5.0, 0.0, 0.0, 1.0); /* std 0, mean outside */
    for (int i = 0; i < 4; i++) assert_true(isnan(x[i]));
    fanin__rng_fill_trunc_normal(&r, x, 4, 0.0, 1.0, 40.0, 41.0); /* unreachable tail */
    for (int i = 0; i < 4; i++) assert_true(isnan(x[i]));
}

static void test_shuffle_is_permutation(void **state) {
    enum { N = 1000 };
    int64_t idx[N];
    int seen[N] = {0}, moved = 0;
    for (int i = 0; i < N; i++) idx[i] = i;
    fanin_rng r;
    fanin__rng_init(&r, SEED, 0, FANIN_STREAM_SHUFFLE);
    fanin__rng_shuffle(&r, idx, N);
    for (int i = 0; i < N; i++) {
        assert_true(idx[i] >= 0 && idx[i] < N);
        seen[idx[i]]++;
        moved += idx[i] != i;
    }
    for (int i = 0; i < N; i++) assert_int_equal(seen[i], 1);
    assert_true(moved > N / 2);
    fanin__rng_shuffle(&r, idx, 0); /* no-ops */
    fanin__rng_shuffle(&r, idx, 1);
}

/* All 6 orders of 3 items equally likely: each count within 5 sigma of n/6. */
static void test_shuffle_unbiased(void **state) {
    enum { TRIALS = 60000 };
    int count[3][3][3] = {{{0}}};
    fanin_rng r;
    fanin__rng_init(&r, SEED, 0, FANIN_STREAM_SHUFFLE);
    for (int t = 0; t < TRIALS; t++) {
        int64_t idx[3] = {0, 1, 2};
        fanin__rng_shuffle(&r, idx, 3);
        count[idx[0]][idx[1]][idx[2]]++;
    }
    double expect = TRIALS / 6.0, sigma = sqrt(TRIALS * (1.0 / 6) * (5.0 / 6));
    int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (int p = 0; p < 6; p++)
        assert_true(fabs(count[perms[p][0]][perms[p][1]][perms[p][2]] - expect) < 5 * sigma);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_known_answers),
        cmocka_unit_test(test_stream_layout),
        cmocka_unit_test(test_counter_carry),
        cmocka_unit_test(test_u64_is_high_word_first),
        cmocka_unit_test(test_streams_independent_and_repeatable),
        cmocka_unit_test(test_uniform_moments),
        cmocka_unit_test(test_uniform01_range),
        cmocka_unit_test(test_normal_moments),
        cmocka_unit_test(test_normal_repeatable),
        cmocka_unit_test(test_trunc_normal_bounds),
        cmocka_unit_test(test_trunc_normal_impossible),
        cmocka_unit_test(test_shuffle_is_permutation),
        cmocka_unit_test(test_shuffle_unbiased),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
