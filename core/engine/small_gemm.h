/* A direct matrix product for the small shapes of dense layers (small_gemm.c), where
 * cblas_sgemm's call, packing and dispatch cost more than the arithmetic. */
#ifndef FANIN_ENGINE_SMALL_GEMM_H
#define FANIN_ENGINE_SMALL_GEMM_H

#include <stdbool.h>
#include <stddef.h>

/* Whether this CPU runs the direct kernel (AVX2 and FMA); without them callers use BLAS. */
bool fanin__small_gemm_available(void);

/* Whether a product of m x n outputs over k terms may go to the direct kernel and give
 * cblas_sgemm's bits: the CPU has it, m or n is at most 32, and k is one block of OpenBLAS's
 * (<= 448) or, past it, OpenBLAS runs one thread on a product it blocks (m n k > 100^3); for
 * `abt` (A.B^T, B given row-major as the caller's W: the dense forward) also k < 32 unless
 * m n k > 100^3. Which products pay is the caller's (dense.c; tools/bench/README.md). */
bool fanin__small_gemm_pays(int m, int n, int k, bool abt);

/* C[i][j] = alpha * sum_{p<k} A(i,p) B[p][j] (+ bias[j] when bias is not NULL), for i < m,
 * j < n, with A(i,p) = A[i * a_row + p * a_col] (a row-major A: a_row = lda, a_col = 1; a
 * transposed one: a_row = 1, a_col = lda) and B row-major with leading dimension ldb. Summed
 * in OpenBLAS's order on one thread with its SkylakeX kernels (small_gemm.c says which), so the
 * results are its bits; with a bias, at alpha = 1 only (OpenBLAS rounds alpha * sum + C once
 * in some kernels and twice in others). Needs fanin__small_gemm_available(). */
void fanin__small_gemm(int m, int n, int k, float alpha, const float *A, ptrdiff_t a_row,
                       ptrdiff_t a_col, const float *B, int ldb, const float *bias, float *C,
                       int ldc);

#endif /* FANIN_ENGINE_SMALL_GEMM_H */
