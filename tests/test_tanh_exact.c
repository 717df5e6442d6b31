/* The tanh plugin's branch-free fdlibm tanhf (plugins/activations/tanh.c): within 3 float ulps
 * of the float64 tanh on a sample of every 997th bit pattern (all exponents, both signs), exact
 * at the special values, and bit-identical to the C library's tanhf where that is fdlibm's
 * (glibc before 2.41, which has CORE-MATH's correctly rounded one): what keeps every tanh run's
 * figures as they were before the plugin was vectorised. Run with FANIN_TANH_STRIDE=1 it checks
 * all 2^32 inputs (a minute). */
#include "base/errors.h"
#include "plugin/host.h"
#include "plugin/registry.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugin_tests.h"

#if defined(__GLIBC__) && (__GLIBC__ == 2 && __GLIBC_MINOR__ < 41)
#define LIBM_TANHF_IS_FDLIBM 1
#else
#define LIBM_TANHF_IS_FDLIBM 0
#endif

enum { CHUNK = 1 << 14 };

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float flt(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* distance in float ulps between two finite floats of the same sign region */
static double ulps(float got, double want) {
    float w = (float)want;
    double ulp = w == 0.0f ? 1.4e-45 : fabs((double)nextafterf(w, INFINITY) - (double)w);
    return fabs((double)got - want) / ulp;
}

static const fanin_activation_vt *tanh_vt(void) {
    return find_kind(FANIN_KIND_ACTIVATION, "tanh")->plugin->vtable;
}

static void test_special_values(void **state) {
    const fanin_activation_vt *a = tanh_vt();
    float x[] = {0.0f,    -0.0f,    INFINITY, -INFINITY, 22.0f, -22.0f, 1e-30f,
                 -1e-30f, 1.4e-45f, 1.0f,     -1.0f,     9.0f,  0.5f,   NAN};
    float y[sizeof x / sizeof x[0]];
    size_t n = sizeof x / sizeof x[0];
    assert_int_equal(a->forward(NULL, x, y, n, NULL), FANIN_OK);
    assert_true(bits(y[0]) == bits(0.0f) && bits(y[1]) == bits(-0.0f));
    assert_true(y[2] == 1.0f && y[3] == -1.0f && y[4] == 1.0f && y[5] == -1.0f);
    assert_true(y[6] == 1e-30f && y[7] == -1e-30f && y[8] == 1.4e-45f);
    assert_true(fabs(y[9] - tanh(1.0)) < 1e-7 && y[10] == -y[9] && y[12] > 0.46f);
    assert_true(isnan(y[13]));
}

static void test_sample(void **state) {
    const fanin_activation_vt *a = tanh_vt();
    const char *env = getenv("FANIN_TANH_STRIDE");
    uint64_t stride = env && atoi(env) > 0 ? (uint64_t)atoi(env) : 997;
    static float x[CHUNK], y[CHUNK];
    uint64_t checked = 0, same = 0;
    double worst = 0;
    for (uint64_t u = 0; u < (1ull << 32);) {
        size_t n = 0;
        for (; n < CHUNK && u < (1ull << 32); u += stride) {
            float v = flt((uint32_t)u);
            if (!isnan(v)) x[n++] = v;
        }
        assert_int_equal(a->forward(NULL, x, y, n, NULL), FANIN_OK);
        for (size_t i = 0; i < n; i++) {
            double e = ulps(y[i], tanh((double)x[i]));
            if (e > worst) worst = e;
            if (!(e <= 3.0))
                fail_msg("tanh(%a) = %a, %.2f ulps from %a", x[i], y[i], e, tanh((double)x[i]));
            if (LIBM_TANHF_IS_FDLIBM && bits(y[i]) != bits(tanhf(x[i])))
                fail_msg("tanh(%a) = %a, libm's tanhf %a", x[i], y[i], tanhf(x[i]));
            same += bits(y[i]) == bits(tanhf(x[i]));
        }
        checked += n;
    }
    print_message("%llu inputs, worst %.3f ulps, %llu bit-identical to libm's tanhf%s\n",
                  (unsigned long long)checked, worst, (unsigned long long)same,
                  LIBM_TANHF_IS_FDLIBM ? " (required: fdlibm's)" : "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_special_values),
        cmocka_unit_test(test_sample),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
