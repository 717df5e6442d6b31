/* Tests for core/base/coretype.c: the re-exec decision as a table (user's variable, OpenBLAS's
 * core, the CPU's AVX2/FMA/OS state), the fallback core names, the start-up sgemm check against
 * a right and two wrong products, and the `fanin` binary's start: one line when (and only when)
 * the decision says re-exec, none when OPENBLAS_CORETYPE is set; exit 1 with a preloaded wrong
 * cblas_sgemm (tests/bad_sgemm.c). */
#include "base/coretype.h"
#include "base/errors.h"

#include <cblas.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

static void test_decide_table(void **state) {
    static const struct {
        const char *env, *core;
        fanin__cpu_caps caps;
        int want;
    } rows[] = {
        {NULL, "Prescott", {true, true, true}, FANIN_CORETYPE_REEXEC},
        {NULL, "prescott", {true, true, true}, FANIN_CORETYPE_REEXEC},
        {NULL, "Sandybridge", {true, true, true}, FANIN_CORETYPE_REEXEC},
        {NULL, "Core2", {true, true, true}, FANIN_CORETYPE_REEXEC},
        {NULL, "Nehalem", {true, true, true}, FANIN_CORETYPE_REEXEC},
        {NULL, "Barcelona", {true, true, true}, FANIN_CORETYPE_REEXEC},
        {NULL, "Piledriver", {true, true, true}, FANIN_CORETYPE_REEXEC},
        {NULL, "Unknown", {true, true, true}, FANIN_CORETYPE_REEXEC},
        {NULL, "", {true, true, true}, FANIN_CORETYPE_REEXEC},
        {NULL, NULL, {true, true, true}, FANIN_CORETYPE_REEXEC},
        /* already fast kernels */
        {NULL, "Haswell", {true, true, true}, FANIN_CORETYPE_KEEP},
        {NULL, "Zen", {true, true, true}, FANIN_CORETYPE_KEEP},
        {NULL, "SkylakeX", {true, true, true}, FANIN_CORETYPE_KEEP},
        {NULL, "Cooperlake", {true, true, true}, FANIN_CORETYPE_KEEP},
        {NULL, "sapphirerapids", {true, true, true}, FANIN_CORETYPE_KEEP},
        {NULL, "Excavator", {true, true, true}, FANIN_CORETYPE_KEEP},
        /* the user's variable, whatever it says, wins */
        {"Prescott", "Prescott", {true, true, true}, FANIN_CORETYPE_KEEP},
        {"", "Prescott", {true, true, true}, FANIN_CORETYPE_KEEP},
        {"Haswell", "Prescott", {true, true, true}, FANIN_CORETYPE_KEEP},
        {"SkylakeX", "SkylakeX", {true, true, true}, FANIN_CORETYPE_KEEP},
        /* a CPU where Haswell's kernels would fault */
        {NULL, "Prescott", {false, true, true}, FANIN_CORETYPE_KEEP},
        {NULL, "Prescott", {true, false, true}, FANIN_CORETYPE_KEEP},
        {NULL, "Prescott", {true, true, false}, FANIN_CORETYPE_KEEP},
        {NULL, "Sandybridge", {false, false, true}, FANIN_CORETYPE_KEEP},
        {NULL, "Prescott", {false, false, false}, FANIN_CORETYPE_KEEP},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int got = fanin__coretype_decide(rows[i].env, rows[i].core, rows[i].caps);
        if (got != rows[i].want)
            fail_msg("row %zu: env %s core %s avx2 %d fma %d os %d: got %d, want %d", i,
                     rows[i].env ? rows[i].env : "(unset)", rows[i].core ? rows[i].core : "(null)",
                     rows[i].caps.avx2, rows[i].caps.fma, rows[i].caps.os_avx, got, rows[i].want);
    }
}

static void test_fallback_names(void **state) {
    assert_true(fanin__core_is_fallback("Prescott"));
    assert_true(fanin__core_is_fallback("OPTERON_SSE3"));
    assert_false(fanin__core_is_fallback("Haswell"));
    assert_false(fanin__core_is_fallback("Prescott2")); /* whole names only */
    assert_false(fanin__core_is_fallback("Zen"));
}

static void cblas_nt(int m, int n, int k, const float *A, const float *B, float *C) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, A, k, B, k, 0.0f, C, n);
}

/* a kernel that drops the last term of every dot product: wrong only when k > 1 */
static void drops_last(int m, int n, int k, const float *A, const float *B, float *C) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float s = 0.0f;
            for (int p = 0; p < k - 1; p++) s += A[i * k + p] * B[j * k + p];
            C[i * n + j] = s;
        }
}

/* right on small shapes, one wrong cell on the large one (a broken edge tile) */
static void bad_edge(int m, int n, int k, const float *A, const float *B, float *C) {
    cblas_nt(m, n, k, A, B, C);
    if (m > 64) C[(m - 1) * n + n - 1] += 0.25f;
}

static void test_sgemm_check(void **state) {
    char err[FANIN_ERRLEN] = "";
    assert_int_equal(fanin__sgemm_check(cblas_nt, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__sgemm_check(drops_last, err, sizeof err), FANIN_ENOTSUP);
    assert_non_null(strstr(err, "[5 x 7] . [3 x 7]^T gave C[0][0]"));
    assert_int_equal(fanin__sgemm_check(bad_edge, err, sizeof err), FANIN_ENOTSUP);
    assert_non_null(strstr(err, "C[66][44]"));
    assert_int_equal(fanin_exit_code(FANIN_ENOTSUP), FANIN_EXIT_RUNTIME);
}

/* Lines of `fanin plugins`'s stderr that announce a re-exec, with OPENBLAS_CORETYPE as given. */
static int reexec_lines(const char *env) {
    char cmd[1024], line[2048];
    if (env)
        snprintf(cmd, sizeof cmd, "OPENBLAS_CORETYPE='%s' '%s' plugins 2>&1 >/dev/null", env,
                 FANIN_TEST_BIN);
    else
        snprintf(cmd, sizeof cmd, "env -u OPENBLAS_CORETYPE '%s' plugins 2>&1 >/dev/null",
                 FANIN_TEST_BIN);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int n = 0;
    while (fgets(line, sizeof line, p))
        if (strstr(line, "running with OPENBLAS_CORETYPE=Haswell")) n++;
    assert_int_equal(pclose(p), 0);
    return n;
}

static void test_binary_start(void **state) {
    const char *saved = getenv("OPENBLAS_CORETYPE");
    /* this process loaded OpenBLAS as `fanin` will with the variable unset only when it was
     * unset for us too; otherwise the decision for the unset case is not observable here */
    if (!saved) {
        int want = fanin__coretype_decide(NULL, openblas_get_corename(), fanin__cpu_caps_now());
        assert_int_equal(reexec_lines(NULL), want == FANIN_CORETYPE_REEXEC ? 1 : 0);
    }
    assert_int_equal(reexec_lines("Prescott"), 0);
    assert_int_equal(reexec_lines("Haswell"), 0);
}

/* `fanin plugins` with a BLAS whose sgemm gets one cell wrong: exit 1, the core named. */
static void test_binary_refuses_wrong_blas(void **state) {
#ifdef FANIN_TEST_SANITIZED
    skip(); /* AddressSanitizer's runtime must be the first library: no LD_PRELOAD before it */
#endif
    char cmd[1024], text[4096];
    snprintf(cmd, sizeof cmd, "LD_PRELOAD='%s' '%s' plugins 2>&1 >/dev/null", FANIN_TEST_BAD_SGEMM,
             FANIN_TEST_BIN);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(text, 1, sizeof text - 1, p);
    text[n] = 0;
    int status = pclose(p);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    char want[256];
    snprintf(want, sizeof want,
             "fanin: OpenBLAS's %s kernels compute wrong products on this CPU: "
             "sgemm [67 x 96] . [45 x 96]^T gave C[66][44]",
             openblas_get_corename());
    if (!strstr(text, want)) fail_msg("stderr: %s\nwanted: %s", text, want);
    assert_non_null(strstr(text, "set OPENBLAS_CORETYPE to another core"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide_table),
        cmocka_unit_test(test_fallback_names),
        cmocka_unit_test(test_sgemm_check),
        cmocka_unit_test(test_binary_start),
        cmocka_unit_test(test_binary_refuses_wrong_blas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
