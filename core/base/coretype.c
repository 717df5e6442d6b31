/* OpenBLAS's core choice and a check of its sgemm (coretype.h). The decision is a pure function
 * of (OPENBLAS_CORETYPE, openblas_get_corename(), cpuid) so a table can test it; the caller
 * (tools/main.c) reads the three and re-executes. */
#include "base/coretype.h"
#include "base/errors.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <strings.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* OpenBLAS 0.3.21's core names (driver/others/dynamic.c) whose kernels predate AVX2. */
static const char *const fallback_cores[] = {
    "unknown",   "katmai", "coppermine",  "northwood", "prescott",  "banias",     "atom",
    "core2",     "penryn", "dunnington",  "nehalem",   "athlon",    "opteron",    "opteron_sse3",
    "barcelona", "nano",   "sandybridge", "bobcat",    "bulldozer", "piledriver", "steamroller",
};

bool fanin__core_is_fallback(const char *core) {
    if (!core || !*core) return true;
    for (size_t i = 0; i < sizeof fallback_cores / sizeof fallback_cores[0]; i++)
        if (!strcasecmp(core, fallback_cores[i])) return true;
    return false;
}

int fanin__coretype_decide(const char *env, const char *core, fanin__cpu_caps caps) {
    if (env) return FANIN_CORETYPE_KEEP; /* the user's choice, whatever it is */
    if (!caps.avx2 || !caps.fma || !caps.os_avx) return FANIN_CORETYPE_KEEP;
    return fanin__core_is_fallback(core) ? FANIN_CORETYPE_REEXEC : FANIN_CORETYPE_KEEP;
}

fanin__cpu_caps fanin__cpu_caps_now(void) {
    fanin__cpu_caps c = {0};
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, cx, d;
    if (!__get_cpuid(1, &a, &b, &cx, &d)) return c;
    c.fma = cx & (1u << 12);
    bool osxsave = cx & (1u << 27), avx = cx & (1u << 28);
    if (osxsave && avx) {
        uint32_t lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        c.os_avx = (lo & 6u) == 6u; /* XMM and YMM state saved by the OS */
    }
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b, cx, d);
        c.avx2 = b & (1u << 5);
    }
#endif
    return c;
}

/* Small integers over 4: every product and partial sum is a multiple of 1/16 below 2^20, exact
 * in float, so the BLAS and the loop must agree to the bit in any summation order. */
static float cell(int i, int j, int salt) {
    return (float)((i * 7 + j * 3 + salt) % 11 - 5) / 4.0f;
}

/* One m x n x k product through gemm against the plain triple loop. */
static int check_shape(fanin__sgemm_nt_fn gemm, int m, int n, int k, char *err, size_t errlen) {
    enum { MAX = 96 * 96 };
    static float A[MAX], B[MAX], C[MAX];
    for (int i = 0; i < m; i++)
        for (int p = 0; p < k; p++) A[i * k + p] = cell(i, p, 1);
    for (int j = 0; j < n; j++)
        for (int p = 0; p < k; p++) B[j * k + p] = cell(j, p, 4);
    for (int c = 0; c < m * n; c++) C[c] = NAN;
    gemm(m, n, k, A, B, C);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float want = 0.0f;
            for (int p = 0; p < k; p++) want += A[i * k + p] * B[j * k + p];
            if (C[i * n + j] != want)
                return fanin__errf(err, errlen, FANIN_ENOTSUP,
                                   "sgemm [%d x %d] . [%d x %d]^T "
                                   "gave C[%d][%d] = %g where a plain loop gives %g",
                                   m, k, n, k, i, j, (double)C[i * n + j], (double)want);
        }
    return FANIN_OK;
}

int fanin__sgemm_check(fanin__sgemm_nt_fn gemm, char *err, size_t errlen) {
    /* a tiny layer's shape (OpenBLAS's small-matrix path) and one past its blocking (packed
     * kernels with edge tiles) */
    static const int shapes[][3] = {{5, 3, 7}, {32, 16, 2}, {67, 45, 96}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int rc = check_shape(gemm, shapes[s][0], shapes[s][1], shapes[s][2], err, errlen);
        if (rc < 0) return rc;
    }
    return FANIN_OK;
}
