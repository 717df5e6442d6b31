/* The direct kernel for thin dense layers (core/engine/small_gemm.c) against cblas_sgemm, on
 * the products of the benchmarks' layers (tiny, seed, course) and a few odd shapes, at one
 * OpenBLAS thread: the forward Z = s X W^T + b (W^T packed, bias in the store; at s = 1, where
 * dense.c uses it) and dW = s dZ^T X. Where OpenBLAS runs its SkylakeX kernels the results must be its bits
 * (the order small_gemm.c reproduces, so a run's figures are the same with and without the
 * direct path); with any other kernels, within a relative 1e-5 of a float64 sum. Also a plain
 * loop in float64 checks both, so a wrong index cannot hide behind agreement. */
#include "engine/small_gemm.h"

#include <cblas.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* OpenBLAS names the AVX-512 cores whose sgemm kernels small_gemm.c follows */
static bool skylakex_kernels(void) {
    const char *c = openblas_get_corename();
    return c &&
           (!strcmp(c, "SkylakeX") || !strcmp(c, "Cooperlake") || !strcmp(c, "SapphireRapids"));
}

static uint64_t rng = 88172645463325252ull;
static float uniform(void) { /* xorshift64, [-1, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / 8388608.0)) - 1.0f;
}

static float *randoms(size_t n) {
    float *v = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) v[i] = uniform();
    return v;
}

/* C ~ reference within a relative 1e-5 of the float64 sum of |terms| (sumabs) */
static void near(const float *c, const double *ref, const double *sumabs, size_t n,
                 const char *what) {
    for (size_t i = 0; i < n; i++)
        if (!(fabs(c[i] - ref[i]) <= 1e-5 * sumabs[i] + 1e-30))
            fail_msg("%s[%zu] = %.9g, float64 sum %.9g", what, i, c[i], ref[i]);
}

static void same_or_near(const float *direct, const float *blas, const double *ref,
                         const double *sumabs, size_t n, const char *what) {
    near(direct, ref, sumabs, n, what);
    near(blas, ref, sumabs, n, what);
    if (skylakex_kernels() && memcmp(direct, blas, sizeof(float) * n) != 0) {
        size_t i = 0;
        while (direct[i] == blas[i]) i++;
        fail_msg("%s[%zu]: direct %a, cblas_sgemm %a (OpenBLAS core %s)", what, i, direct[i],
                 blas[i], openblas_get_corename());
    }
}

/* One dense layer of `rows` x n_in -> n_out at output multiplier s: the three products. */
static void check_layer(int rows, int n_in, int n_out, float s) {
    print_message("layer %d x %d -> %d, s = %g\n", rows, n_in, n_out, s);
    size_t nx = (size_t)rows * n_in, nw = (size_t)n_out * n_in, nz = (size_t)rows * n_out;
    float *X = randoms(nx), *W = randoms(nw), *b = randoms((size_t)n_out), *dZ = randoms(nz);
    size_t most = nx > nw ? nx : nw;
    most = most > nz ? most : nz;
    float *WT = malloc(sizeof(float) * nw), *c1 = malloc(sizeof(float) * most);
    float *c2 = malloc(sizeof(float) * most);
    double *ref = malloc(sizeof(double) * most), *abs_ = malloc(sizeof(double) * most);
    for (int j = 0; j < n_out; j++)
        for (int p = 0; p < n_in; p++) WT[(size_t)p * n_out + j] = W[(size_t)j * n_in + p];
    /* forward: Z[r][j] = s sum_p X[r][p] W[j][p] + b[j]; at s = 1 only, as dense.c: OpenBLAS
     * rounds s * sum + b once in some kernels and twice in others */
    if (s == 1.0f && fanin__small_gemm_pays(rows, n_out, n_in, true)) {
        for (int r = 0; r < rows; r++) {
            memcpy(c1 + (size_t)r * n_out, b, sizeof(float) * n_out);
            for (int j = 0; j < n_out; j++) {
                double acc = 0, a = 0;
                for (int p = 0; p < n_in; p++) {
                    acc += (double)X[(size_t)r * n_in + p] * W[(size_t)j * n_in + p];
                    a += fabs((double)X[(size_t)r * n_in + p] * W[(size_t)j * n_in + p]);
                }
                ref[(size_t)r * n_out + j] = s * acc + b[j];
                abs_[(size_t)r * n_out + j] = fabs(s) * a + fabs(b[j]);
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n_out, n_in, s, X, n_in, W, n_in,
                    1.0f, c1, n_out);
        fanin__small_gemm(rows, n_out, n_in, s, X, n_in, 1, WT, n_out, b, c2, n_out);
        same_or_near(c2, c1, ref, abs_, nz, "Z");
    }
    /* dW[j][i] = s sum_r dZ[r][j] X[r][i] */
    if (fanin__small_gemm_pays(n_out, n_in, rows, false)) {
        for (int j = 0; j < n_out; j++)
            for (int i = 0; i < n_in; i++) {
                double acc = 0, a = 0;
                for (int r = 0; r < rows; r++) {
                    double t = (double)dZ[(size_t)r * n_out + j] * X[(size_t)r * n_in + i];
                    acc += t;
                    a += fabs(t);
                }
                ref[(size_t)j * n_in + i] = s * acc;
                abs_[(size_t)j * n_in + i] = fabs(s) * a;
            }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n_out, n_in, rows, s, dZ, n_out, X,
                    n_in, 0.0f, c1, n_in);
        fanin__small_gemm(n_out, n_in, rows, s, dZ, 1, n_out, X, n_in, NULL, c2, n_in);
        same_or_near(c2, c1, ref, abs_, nw, "dW");
    }
    free(X), free(W), free(b), free(dZ), free(WT), free(c1), free(c2), free(ref), free(abs_);
}

static int one_thread(void **state) {
    openblas_set_num_threads(1);
    if (!fanin__small_gemm_available()) print_message("no AVX2+FMA: the direct path is off\n");
    else
        print_message("OpenBLAS core %s: %s\n", openblas_get_corename(),
                      skylakex_kernels() ? "bit-identical required" : "within 1e-5 only");
    return 0;
}

static void test_tiny_layers(void **state) {
    check_layer(32, 2, 16, 1.0f);
    check_layer(32, 16, 16, 1.0f);
    check_layer(32, 16, 1, 1.0f);
    check_layer(7, 16, 16, 1.0f); /* a last partial batch */
}

static void test_seed_layers(void **state) {
    check_layer(2000, 784, 20, 1.0f); /* k = 784: two blocks of 400 and 384 */
    check_layer(2000, 20, 7, 1.0f);
    check_layer(2000, 7, 5, 1.0f);
    check_layer(2000, 5, 1, 1.0f);
}

static void test_course_layers(void **state) {
    check_layer(209, 12288, 20, 1.0f); /* 27 blocks of 448, then 320 and 320 */
    check_layer(209, 20, 7, 1.0f);
}

/* odd k past a block (1002: 448, then 288 and 266), widths around the vector lengths, and
 * output multipliers (dW and d_in: one rounding of s * sum, as every OpenBLAS kernel) */
static void test_odd_shapes(void **state) {
    check_layer(2000, 1002, 20, 1.0f);
    check_layer(301, 33, 31, 1.0f);
    check_layer(45, 17, 9, 1.0f);
    check_layer(10, 256, 10, 1.0f); /* dW only: the forward stays with OpenBLAS */
    check_layer(64, 64, 32, 0.3f);
    check_layer(2000, 784, 20, 0.125f);
    check_layer(128, 100, 3, 1.7f);
}

/* Where OpenBLAS's order is another one the rule keeps the product with it: the small
 * A.B^T kernel past k = 31 (glorot.yaml's 256 -> 10 output layer at batch 10), a product past
 * one block while OpenBLAS runs two threads. */
static void test_rule(void **state) {
    if (!fanin__small_gemm_available()) skip();
    assert_false(fanin__small_gemm_pays(10, 10, 256, true));
    assert_true(fanin__small_gemm_pays(10, 10, 256, false));
    assert_true(fanin__small_gemm_pays(32, 16, 16, true));
    assert_true(fanin__small_gemm_pays(2000, 20, 784, true));
    assert_false(fanin__small_gemm_pays(256, 64, 64, true)); /* not thin */
    openblas_set_num_threads(2);
    assert_false(fanin__small_gemm_pays(2000, 20, 784, true));
    assert_true(fanin__small_gemm_pays(2000, 20, 7, true));
    openblas_set_num_threads(1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_layers),   cmocka_unit_test(test_seed_layers),
        cmocka_unit_test(test_course_layers), cmocka_unit_test(test_odd_shapes),
        cmocka_unit_test(test_rule),
    };
    return cmocka_run_group_tests(tests, one_thread, NULL);
}
