/* Which OpenBLAS kernels fanin runs on, and whether they compute right (coretype.c).
 *
 * OpenBLAS 0.3.21 (DYNAMIC_ARCH) picks its kernels from cpuid when the library loads; on CPUs
 * it does not know (AMD Zen 4 under KVM, some virtual Xeons) it falls back to SSE3 "Prescott"
 * kernels, about 2x slower for sgemm, unless OPENBLAS_CORETYPE names a core. fanin's start
 * (tools/main.c) asks fanin__coretype_decide and, when it says so, re-executes itself once with
 * OPENBLAS_CORETYPE=Haswell (AVX2+FMA kernels, correct on every CPU that has both). Never when
 * the user set the variable. Then fanin__sgemm_check compares one small product against a plain
 * loop, so a wrong BLAS is refused before any run. */
#ifndef FANIN_BASE_CORETYPE_H
#define FANIN_BASE_CORETYPE_H

#include <stdbool.h>
#include <stddef.h>

/* The core fanin asks for when OpenBLAS fell back on a CPU with AVX2 and FMA. */
#define FANIN_CORETYPE_FAST "Haswell"

/* What the CPU offers (cpuid and xgetbv): AVX2, FMA, and the OS saving the AVX registers. */
typedef struct fanin__cpu_caps {
    bool avx2, fma, os_avx;
} fanin__cpu_caps;

enum fanin__coretype_action {
    FANIN_CORETYPE_KEEP = 0,   /* run as loaded */
    FANIN_CORETYPE_REEXEC = 1, /* re-execute with OPENBLAS_CORETYPE=FANIN_CORETYPE_FAST */
};

/* Does OpenBLAS's core name `core` (openblas_get_corename()) have no AVX2 kernels: a generic
 * fallback (Prescott, Katmai, ..., Core2, Nehalem, Sandybridge, Opteron, Barcelona, Bulldozer,
 * ...)? Case-insensitive; NULL or "" counts as a fallback, "unknown" too. */
bool fanin__core_is_fallback(const char *core);

/* Pure: FANIN_CORETYPE_REEXEC exactly when the user left OPENBLAS_CORETYPE unset
 * (env == NULL; any value, even "", is the user's choice), the loaded core is a fallback and the
 * CPU has AVX2 and FMA with the OS saving the AVX state. */
int fanin__coretype_decide(const char *env, const char *core, fanin__cpu_caps caps);

/* This CPU's capabilities (all false off x86). */
fanin__cpu_caps fanin__cpu_caps_now(void);

/* C[m, n] = A[m, k] . B[n, k]^T, row-major: the product a dense layer's forward computes. */
typedef void (*fanin__sgemm_nt_fn)(int m, int n, int k, const float *A, const float *B, float *C);

/* Run `gemm` on products whose every partial sum is exact in float (so any summation order
 * gives the same bits) and compare with a plain loop: FANIN_OK when every cell matches, else
 * FANIN_ENOTSUP (exit 1) with the shape and the first wrong cell in err. */
int fanin__sgemm_check(fanin__sgemm_nt_fn gemm, char *err, size_t errlen);

#endif /* FANIN_BASE_CORETYPE_H */
