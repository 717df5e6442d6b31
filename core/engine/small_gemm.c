/* The direct product for thin dense layers (small_gemm.h): register-blocked kernels in
 * AVX-512 (10 rows x 32 columns) or AVX2 + FMA (4 rows x 16 columns) intrinsics, each compiled
 * for its target alone and called only where the CPU has it (the rest of fanin stays generic
 * x86-64).
 *
 *   C[i][j] = alpha * sum_{p<k} A(i,p) B[p][j] (+ bias[j])
 *
 * Summation order, OpenBLAS 0.3.21's on one thread with the SkylakeX kernels
 * (sgemm_small_kernel_*_skylakex.c up to m n k = 100^3; above, driver/level3/level3.c with
 * sgemm_kernel_16x4_skylakex.c): one block of p for a small product, else blocks of
 * GEMM_Q = 448 with a remainder between 448 and 896 split in two, the first rem/2 rounded up
 * to a multiple of 16 (level3.c's min_l with GEMM_UNROLL_M). In a block each C[i][j] is one
 * accumulator lane, acc = 0 then acc = fma(A(i,p), B[p][j], acc) in order of p; each block
 * ends with C = fma(alpha, acc, C) where C starts as the bias (or C = alpha * acc for the first
 * block without one). So where OpenBLAS runs those kernels a layer gives the bits cblas_sgemm
 * gave (tests/test_small_gemm.c). OpenBLAS's threaded driver halves the remainder without the
 * rounding: a product past one block is direct only while OpenBLAS runs one thread.
 * Rows beyond m re-read row m-1 (their sums are never stored) and columns beyond n are masked
 * loads and stores: the loops keep fixed bounds and the accumulators registers. */
#include "engine/small_gemm.h"

#include <stdint.h>
#include <stdbool.h>
#include <cblas.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FANIN_SMALL_GEMM_X86 1
#endif

/* OpenBLAS 0.3.21's SGEMM_DEFAULT_Q and SGEMM_DEFAULT_UNROLL_M for SkylakeX */
enum { GEMM_Q = 448, GEMM_UNROLL_M = 16 };
/* A thin product: m or n at most 32 (one or two vectors of a row, or a few rows) */
enum { THIN = 32 };
/* Its sgemm_small_kernel_permit_skylakex takes products up to 100^3 multiply-adds */
#define SMALL_KERNEL_MNK 1e6
/* From this k on, its small kernel for A.B^T (row-major; col-major TN) is not sequential */
enum { ABT_SMALL_K = 32 };
/* Below this size, or up to 8 columns (one AVX2 vector, where a 16-lane one is half empty),
 * the AVX2 kernel's 4 x 16 blocks waste less than the AVX-512 10 x 32 ones */
#define AVX512_MNK 65536.0
enum { AVX2_N = 8 };

/* The length of the next block of p when `rem` terms remain (level3.c's min_l). */
static int block_len(int rem) {
    if (rem >= 2 * GEMM_Q) return GEMM_Q;
    if (rem > GEMM_Q) return (rem / 2 + GEMM_UNROLL_M - 1) / GEMM_UNROLL_M * GEMM_UNROLL_M;
    return rem;
}

#ifdef FANIN_SMALL_GEMM_X86

typedef struct cpu {
    bool avx2, avx512;
} cpu;

/* libgcc fills the CPU model in a constructor; reading it is a load and a test, no state here
 * (so any thread may call) */
static cpu cpu_of(void) {
    cpu c;
    c.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    c.avx512 = c.avx2 && __builtin_cpu_supports("avx512f");
    return c;
}

bool fanin__small_gemm_available(void) { return cpu_of().avx2; }

/* ---- AVX2 + FMA: 4 rows x 16 columns, 8 accumulators ---- */

#define T2 __attribute__((target("avx2,fma")))

/* lanes j < n of 8 set (n may be <= 0 or >= 8) */
T2 static inline __m256i mask8(int n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

/* out = fma(alpha, acc, *out) after the first block or with a bias (then out holds it),
 * alpha * acc for the first block without one */
T2 static inline void store8(float *out, __m256 acc, __m256i m, float alpha, bool add) {
    __m256 a = _mm256_set1_ps(alpha);
    if (add) acc = _mm256_fmadd_ps(a, acc, _mm256_maskload_ps(out, m));
    else if (alpha != 1.0f) acc = _mm256_mul_ps(a, acc);
    _mm256_maskstore_ps(out, m, acc);
}

/* One block of up to 4 rows (mr) by up to 16 columns (nr) of C over p in [0, k). */
T2 static inline __attribute__((always_inline)) void
block8(int mr, int nr, int k, float alpha, const float *A, ptrdiff_t a_row, ptrdiff_t a_col,
       const float *B, int ldb, bool add, float *C, int ldc, const bool wide) {
    const float *a0 = A, *a1 = A + (mr > 1 ? 1 : 0) * a_row,
                *a2 = A + (mr > 2 ? 2 : mr - 1) * a_row, *a3 = A + (mr > 3 ? 3 : mr - 1) * a_row;
    __m256i m0 = mask8(nr), m1 = mask8(nr - 8);
    __m256 c00 = _mm256_setzero_ps(), c10 = c00, c20 = c00, c30 = c00;
    __m256 c01 = c00, c11 = c00, c21 = c00, c31 = c00;
    for (int p = 0; p < k; p++) {
        const float *b = B + (ptrdiff_t)p * ldb;
        ptrdiff_t o = (ptrdiff_t)p * a_col;
        __m256 b0 = _mm256_maskload_ps(b, m0);
        __m256 x0 = _mm256_broadcast_ss(a0 + o), x1 = _mm256_broadcast_ss(a1 + o);
        __m256 x2 = _mm256_broadcast_ss(a2 + o), x3 = _mm256_broadcast_ss(a3 + o);
        c00 = _mm256_fmadd_ps(x0, b0, c00);
        c10 = _mm256_fmadd_ps(x1, b0, c10);
        c20 = _mm256_fmadd_ps(x2, b0, c20);
        c30 = _mm256_fmadd_ps(x3, b0, c30);
        if (wide) {
            __m256 b1 = _mm256_maskload_ps(b + 8, m1);
            c01 = _mm256_fmadd_ps(x0, b1, c01);
            c11 = _mm256_fmadd_ps(x1, b1, c11);
            c21 = _mm256_fmadd_ps(x2, b1, c21);
            c31 = _mm256_fmadd_ps(x3, b1, c31);
        }
    }
    __m256 r0[4] = {c00, c10, c20, c30}, r1[4] = {c01, c11, c21, c31};
    for (int i = 0; i < 4; i++) {
        if (i >= mr) break;
        float *out = C + (ptrdiff_t)i * ldc;
        store8(out, r0[i], m0, alpha, add);
        if (wide) store8(out + 8, r1[i], m1, alpha, add);
    }
}

/* C (m x n) over one block of p (k terms) */
T2 static void pass8(int m, int n, int k, float alpha, const float *A, ptrdiff_t a_row,
                     ptrdiff_t a_col, const float *B, int ldb, bool add, float *C, int ldc) {
    for (int j = 0; j < n; j += 16) {
        int nr = n - j < 16 ? n - j : 16;
        for (int i = 0; i < m; i += 4) {
            int mr = m - i < 4 ? m - i : 4;
            const float *Ai = A + (ptrdiff_t)i * a_row;
            float *Cij = C + (ptrdiff_t)i * ldc + j;
            if (nr > 8) block8(mr, nr, k, alpha, Ai, a_row, a_col, B + j, ldb, add, Cij, ldc, true);
            else block8(mr, nr, k, alpha, Ai, a_row, a_col, B + j, ldb, add, Cij, ldc, false);
        }
    }
}

/* ---- AVX-512: 10 rows x 32 columns, 20 accumulators ---- */

#define T5 __attribute__((target("avx512f,avx2,fma")))
enum { MR5 = 10, PF5 = 8 };

/* lanes j < n of 16 set */
T5 static inline __mmask16 mask16(int n) {
    return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

T5 static inline void store16(float *out, __m512 acc, __mmask16 m, float alpha, bool add) {
    __m512 a = _mm512_set1_ps(alpha);
    if (add) acc = _mm512_fmadd_ps(a, acc, _mm512_maskz_loadu_ps(m, out));
    else if (alpha != 1.0f) acc = _mm512_mul_ps(a, acc);
    _mm512_mask_storeu_ps(out, m, acc);
}

/* One block of up to 10 rows by up to 32 columns of C over p in [0, k). */
T5 static inline __attribute__((always_inline)) void
block16(int mr, int nr, int k, float alpha, const float *A, ptrdiff_t a_row, ptrdiff_t a_col,
        const float *B, int ldb, bool add, float *C, int ldc, const bool wide) {
    const float *a[MR5];
    bool far = ldb >= 256;
    for (int i = 0; i < MR5; i++) a[i] = A + (i < mr ? i : mr - 1) * a_row;
    __mmask16 m0 = mask16(nr), m1 = mask16(nr - 16);
    __m512 c0[MR5], c1[MR5];
    for (int i = 0; i < MR5; i++) c0[i] = c1[i] = _mm512_setzero_ps();
    for (int p = 0; p < k; p++) {
        const float *b = B + (ptrdiff_t)p * ldb;
        ptrdiff_t o = (ptrdiff_t)p * a_col;
        /* rows of B 1 KB or more apart (dW's input rows): fetch PF5 rows ahead, which the
         * hardware prefetchers do not (prefetches never fault, past the end included) */
        if (far) {
            _mm_prefetch((const char *)(b + PF5 * (ptrdiff_t)ldb), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + PF5 * (ptrdiff_t)ldb + 16), _MM_HINT_T0);
        }
        __m512 b0 = _mm512_maskz_loadu_ps(m0, b);
        __m512 b1 = wide ? _mm512_maskz_loadu_ps(m1, b + 16) : b0;
        for (int i = 0; i < MR5; i++) {
            __m512 x = _mm512_set1_ps(a[i][o]);
            c0[i] = _mm512_fmadd_ps(x, b0, c0[i]);
            if (wide) c1[i] = _mm512_fmadd_ps(x, b1, c1[i]);
        }
    }
    for (int i = 0; i < MR5; i++) { /* constant indices: the accumulators stay registers */
        if (i >= mr) break;
        float *out = C + (ptrdiff_t)i * ldc;
        store16(out, c0[i], m0, alpha, add);
        if (wide) store16(out + 16, c1[i], m1, alpha, add);
    }
}

T5 static void pass16(int m, int n, int k, float alpha, const float *A, ptrdiff_t a_row,
                      ptrdiff_t a_col, const float *B, int ldb, bool add, float *C, int ldc) {
    for (int j = 0; j < n; j += 32) {
        int nr = n - j < 32 ? n - j : 32;
        for (int i = 0; i < m; i += MR5) {
            int mr = m - i < MR5 ? m - i : MR5;
            const float *Ai = A + (ptrdiff_t)i * a_row;
            float *Cij = C + (ptrdiff_t)i * ldc + j;
            if (nr > 16)
                block16(mr, nr, k, alpha, Ai, a_row, a_col, B + j, ldb, add, Cij, ldc, true);
            else block16(mr, nr, k, alpha, Ai, a_row, a_col, B + j, ldb, add, Cij, ldc, false);
        }
    }
}

void fanin__small_gemm(int m, int n, int k, float alpha, const float *A, ptrdiff_t a_row,
                       ptrdiff_t a_col, const float *B, int ldb, const float *bias, float *C,
                       int ldc) {
    double mnk = (double)m * n * k;
    bool avx512 = cpu_of().avx512 && mnk > AVX512_MNK && n > AVX2_N;
    if (bias)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) C[(ptrdiff_t)i * ldc + j] = bias[j];
    bool blocked = mnk > SMALL_KERNEL_MNK; /* else one block, as its small kernels */
    for (int p = 0; p < k;) {
        int len = blocked ? block_len(k - p) : k - p;
        const float *Ap = A + (ptrdiff_t)p * a_col, *Bp = B + (ptrdiff_t)p * ldb;
        bool add = bias || p > 0;
        if (avx512) pass16(m, n, len, alpha, Ap, a_row, a_col, Bp, ldb, add, C, ldc);
        else pass8(m, n, len, alpha, Ap, a_row, a_col, Bp, ldb, add, C, ldc);
        p += len;
    }
}

#else /* not x86-64 GCC/clang: BLAS everywhere */

bool fanin__small_gemm_available(void) { return false; }

void fanin__small_gemm(int m, int n, int k, float alpha, const float *A, ptrdiff_t a_row,
                       ptrdiff_t a_col, const float *B, int ldb, const float *bias, float *C,
                       int ldc) {
    (void)m, (void)n, (void)k, (void)alpha, (void)A, (void)a_row, (void)a_col, (void)B, (void)ldb;
    (void)bias, (void)C, (void)ldc;
}

#endif

bool fanin__small_gemm_pays(int m, int n, int k, bool abt) {
    double mnk = (double)m * n * k;
    if ((m > THIN && n > THIN) || !fanin__small_gemm_available()) return false;
    /* OpenBLAS's small kernel for A.B^T sums k >= 32 in another order (measured over some 1,300
     * shapes: every k < 32 agrees, most k >= 32 do not) */
    if (abt && k >= ABT_SMALL_K && mnk <= SMALL_KERNEL_MNK) return false;
    return k <= GEMM_Q || (mnk > SMALL_KERNEL_MNK && openblas_get_num_threads() == 1);
}
