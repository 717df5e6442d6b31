/* `rng: numpy` against numpy itself: MT19937 words, rand and randn for seeds 0, 3 and 1234, and
 * the initial weights of small networks built through the experiment file, against
 * tests/ref/numpy_rng_ref.h (made by tests/ref/make_numpy_rng_ref.py with numpy's legacy
 * RandomState). Bit for bit, except lecun_normal: within 1 float32 ulp (multiply vs divide).
 */
#include "base/errors.h"
#include "base/rng.h"
#include "config/experiment.h"
#include "engine/model.h"
#include "plugin/registry.h"

#include <stdint.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ref/numpy_rng_ref.h"

#define N_SEEDS (sizeof NPREF_SEEDS / sizeof NPREF_SEEDS[0])
#define N_RAW_AT (sizeof NPREF_RAW_AT / sizeof NPREF_RAW_AT[0])

static fanin_registry *reg;
static char err[FANIN_ERRLEN];

static int setup(void **state) {
    const char *extra[] = {FANIN_TEST_PLUGIN_DIR};
    int rc = fanin__registry_new(&reg, extra, 1, err, sizeof err);
    if (rc != FANIN_OK) fprintf(stderr, "registry: %s\n", err);
    return rc;
}

static int teardown(void **state) {
    fanin__registry_free(reg);
    return 0;
}

/* ---- the stream ---- */

static void test_mt19937_raw_words(void **state) {
    for (size_t s = 0; s < N_SEEDS; s++) {
        fanin__mt19937 mt;
        fanin__mt19937_seed(&mt, NPREF_SEEDS[s]);
        size_t k = 0;
        for (int i = 0; i <= NPREF_RAW_AT[N_RAW_AT - 1]; i++) {
            uint32_t w = fanin__mt19937_next32(&mt);
            if (k < N_RAW_AT && i == NPREF_RAW_AT[k]) {
                if (w != NPREF_RAW[s][k])
                    fail_msg("seed %u word %d: %u, numpy %u", NPREF_SEEDS[s], i, w,
                             NPREF_RAW[s][k]);
                k++;
            }
        }
    }
}

/* np.random.rand through the fanin_rng entry point (what plugins reach via rng_uniform). */
static void test_rand_matches_numpy(void **state) {
    for (size_t s = 0; s < N_SEEDS; s++) {
        fanin__mt19937 mt;
        fanin_rng r;
        fanin__mt19937_seed(&mt, NPREF_SEEDS[s]);
        fanin__rng_init_numpy(&r, &mt);
        for (int i = 0; i < 16; i++) {
            double u = fanin__rng_uniform01(&r);
            if (u != NPREF_RAND[s][i])
                fail_msg("seed %u rand[%d]: %a, numpy %a", NPREF_SEEDS[s], i, u, NPREF_RAND[s][i]);
        }
    }
}

/* np.random.randn: the polar method's pairs and the cached second value (17 draws). */
static void test_randn_matches_numpy(void **state) {
    for (size_t s = 0; s < N_SEEDS; s++) {
        fanin__mt19937 mt;
        fanin_rng r;
        fanin__mt19937_seed(&mt, NPREF_SEEDS[s]);
        fanin__rng_init_numpy(&r, &mt);
        for (int i = 0; i < 17; i++) {
            double z = fanin__rng_normal(&r);
            if (z != NPREF_RANDN[s][i])
                fail_msg("seed %u randn[%d]: %a, numpy %a", NPREF_SEEDS[s], i, z,
                         NPREF_RANDN[s][i]);
        }
    }
}

/* Two handles on one stream continue it, cached gaussian included (how model.c shares it). */
static void test_handles_share_the_stream(void **state) {
    fanin__mt19937 mt;
    fanin_rng a, b;
    fanin__mt19937_seed(&mt, 3);
    fanin__rng_init_numpy(&a, &mt);
    for (int i = 0; i < 7; i++) assert_true(fanin__rng_normal(&a) == NPREF_RANDN[1][i]);
    fanin__rng_init_numpy(&b, &mt);
    for (int i = 7; i < 17; i++) assert_true(fanin__rng_normal(&b) == NPREF_RANDN[1][i]);
}

/* fanin__rng_shuffle on a numpy handle is numpy's legacy shuffle: np.random.permutation. */
static void test_shuffle_is_numpy_permutation(void **state) {
    fanin__mt19937 mt;
    fanin_rng r;
    int64_t idx[20];
    for (int i = 0; i < 20; i++) idx[i] = i;
    fanin__mt19937_seed(&mt, 3);
    fanin__rng_init_numpy(&r, &mt);
    fanin__rng_shuffle(&r, idx, 20);
    assert_memory_equal(idx, NPREF_PERM3, sizeof idx);
}

/* ---- networks through the experiment file ---- */

/* Resolve the YAML and initialise a model with n_in inputs; caller frees both. */
static fanin_model *init_model(const char *yaml, int n_in, fanin_experiment **xp, int expect) {
    fanin_config *c;
    fanin_experiment *x;
    fanin_model *m;
    int rc = fanin__config_parse(&c, "/exp/np.yaml", yaml, strlen(yaml), err, sizeof err);
    if (rc != FANIN_OK) fail_msg("parse: %s", err);
    rc = fanin__config_resolve(c, 0, reg, &x, err, sizeof err);
    fanin__config_free(c);
    if (rc != FANIN_OK) fail_msg("resolve: %s", err);
    assert_int_equal(x->rng, FANIN_RNG_NUMPY);
    assert_int_equal(fanin__model_new(x, n_in, 1, &m, err, sizeof err), FANIN_OK);
    rc = fanin__model_init_params(m, err, sizeof err);
    if (rc != expect) fail_msg("init_params: %d (%s), expected %d", rc, err, expect);
    *xp = x;
    return m;
}

static const char *const NET_HEAD = "name: np\nrng: numpy\n"
                                    "data: {source: synthetic, kind: moons}\n";

/* "<head>seed: S\nmodel: ...\nloss: L\noptimizer: {name: sgd, lr: 0.1}\n" */
static void net_yaml(char *buf, size_t len, unsigned seed, const char *model, const char *loss) {
    snprintf(buf, len, "%sseed: %u\nmodel:\n%sloss: %s\noptimizer: {name: sgd, lr: 0.1}\n",
             NET_HEAD, seed, model, loss);
}

static void expect_params_bitwise(const fanin_model *m, const float *ref, size_t n) {
    assert_int_equal(m->n_params, n);
    for (size_t i = 0; i < n; i++)
        if (memcmp(&m->params[i], &ref[i], sizeof(float)) != 0)
            fail_msg("param %zu: %a, numpy %a", i, (double)m->params[i], (double)ref[i]);
}

/* The classic `np.random.seed(3); W = randn(n_l, n_{l-1}) * 0.01; b = zeros`, [5, 4, 3, 1]. */
static void test_net_normal_bit_exact(void **state) {
    char yaml[1024];
    net_yaml(yaml, sizeof yaml, 3,
             "  defaults: {activation: relu, init: {name: normal, std: 0.01}, bias_init: zeros}\n"
             "  layers:\n    - {units: 4}\n    - {units: 3}\n"
             "    - {units: 1, activation: sigmoid}\n",
             "bce");
    fanin_experiment *x;
    fanin_model *m = init_model(yaml, 5, &x, FANIN_OK);
    expect_params_bitwise(m, NPREF_NET_NORMAL, sizeof NPREF_NET_NORMAL / sizeof(float));
    fanin__model_free(m);
    fanin__experiment_free(x);
}

/* np.random.uniform(-0.5, 0.5, (n_l, n_{l-1})) per layer, seed 1234. */
static void test_net_uniform_bit_exact(void **state) {
    char yaml[1024];
    net_yaml(yaml, sizeof yaml, 1234,
             "  defaults: {activation: tanh, init: {name: uniform, a: -0.5, b: 0.5}, "
             "bias_init: zeros}\n"
             "  layers:\n    - {units: 4}\n    - {units: 3}\n"
             "    - {units: 1, activation: sigmoid}\n",
             "bce");
    fanin_experiment *x;
    fanin_model *m = init_model(yaml, 5, &x, FANIN_OK);
    expect_params_bitwise(m, NPREF_NET_UNIFORM, sizeof NPREF_NET_UNIFORM / sizeof(float));
    fanin__model_free(m);
    fanin__experiment_free(x);
}

/* lecun_normal = float32(randn / sqrt(n_prev)): fanin multiplies by std = 1/sqrt(n_prev), so a
 * value may differ by one float32 ulp; a drawing bias (normal 0.1) takes its draws right after
 * its layer's W. [3, 5, 3, 2], seed 1: W1 has 15 values, so the cached gaussian crosses into b1. */
static void test_net_lecun_within_one_ulp(void **state) {
    char yaml[1024];
    net_yaml(yaml, sizeof yaml, 1,
             "  defaults: {activation: tanh, init: lecun_normal, "
             "bias_init: {name: normal, std: 0.1}}\n"
             "  layers:\n    - {units: 5}\n    - {units: 3}\n    - {units: 2}\n",
             "mse");
    fanin_experiment *x;
    fanin_model *m = init_model(yaml, 3, &x, FANIN_OK);
    size_t n = sizeof NPREF_NET_LECUN / sizeof(float), exact = 0;
    assert_int_equal(m->n_params, n);
    for (size_t i = 0; i < n; i++) {
        float v = m->params[i], r = NPREF_NET_LECUN[i];
        if (v == r) exact++;
        else if (v != nextafterf(r, INFINITY) && v != nextafterf(r, -INFINITY))
            fail_msg("param %zu: %a, numpy %a: more than 1 ulp apart", i, (double)v, (double)r);
    }
    print_message("lecun_normal: %zu of %zu values bit-exact, the rest within 1 ulp\n", exact, n);
    fanin__model_free(m);
    fanin__experiment_free(x);
}

/* np.random.seed refuses seeds >= 2^32; so does rng: numpy, with a message. */
static void test_seed_out_of_numpy_range(void **state) {
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "%sseed: 4294967296\nmodel:\n  layers:\n"
             "    - {units: 1, activation: sigmoid}\nloss: bce\noptimizer: {name: sgd, lr: 0.1}\n",
             NET_HEAD);
    fanin_experiment *x;
    fanin_model *m = init_model(yaml, 2, &x, FANIN_ECONFIG);
    assert_non_null(strstr(err, "rng: numpy takes a seed in [0, 4294967295]"));
    fanin__model_free(m);
    fanin__experiment_free(x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mt19937_raw_words),
        cmocka_unit_test(test_rand_matches_numpy),
        cmocka_unit_test(test_randn_matches_numpy),
        cmocka_unit_test(test_handles_share_the_stream),
        cmocka_unit_test(test_shuffle_is_numpy_permutation),
        cmocka_unit_test(test_net_normal_bit_exact),
        cmocka_unit_test(test_net_uniform_bit_exact),
        cmocka_unit_test(test_net_lecun_within_one_ulp),
        cmocka_unit_test(test_seed_out_of_numpy_range),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
