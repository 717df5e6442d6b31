/* Tests of the activation plugins (plugins/activations/), loaded through the host registry.
 * Forward against float64 references (tests/ref/make_activation_ref.py), backward against
 * central finite differences of the float forward, gains against calculate_gain, in place.
 */
#include "internal.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "ref/activations_ref.h"

/* ---- helpers ---- */

static fanin_registry *reg;

static int group_setup(void **state) {
    char err[FANIN_ERRLEN];
    int rc = fanin__registry_new(&reg, (const char *[]){FANIN_TEST_PLUGIN_DIR}, 1, err, sizeof err);
    if (rc != FANIN_OK) print_error("registry: %s\n", err);
    return rc;
}

static int group_teardown(void **state) {
    fanin__registry_free(reg);
    return 0;
}

static const fanin_activation_vt *find(const char *name) {
    const fanin__entry *e = fanin__registry_find(reg, FANIN_KIND_ACTIVATION, name);
    if (!e) fail_msg("activation '%s' not found in %s", name, FANIN_TEST_PLUGIN_DIR);
    assert_int_equal(e->n_params, 0);
    assert_true(e->plugin->flags & FANIN_FLAG_IN_PLACE);
    return e->plugin->vtable;
}

static const char *const all_names[] = {"linear", "relu", "sigmoid", "tanh"};
#define N_NAMES (sizeof all_names / sizeof all_names[0])

/* f(x) through the plugin's float forward, widened to double */
static double fwd1(const fanin_activation_vt *a, double x) {
    float xf = (float)x, y = NAN;
    assert_int_equal(a->forward(NULL, &xf, &y, 1, NULL), FANIN_OK);
    return y;
}

/* forward on every reference input within a relative 1e-6 (a few float ulps) */
static void check_forward(const char *name, const double *want) {
    const fanin_activation_vt *a = find(name);
    float x[ACT_REF_N], y[ACT_REF_N];
    for (size_t i = 0; i < ACT_REF_N; i++) x[i] = (float)act_ref_x[i];
    assert_int_equal(a->forward(NULL, x, y, ACT_REF_N, NULL), FANIN_OK);
    for (size_t i = 0; i < ACT_REF_N; i++) {
        double tol = 1e-6 * fabs(want[i]) + 1e-40;
        if (!(fabs(y[i] - want[i]) <= tol))
            fail_msg("%s(%.9g) = %.9g, want %.17g", name, x[i], y[i], want[i]);
    }
}

/* ---- forward ---- */

static void test_linear_forward(void **state) { check_forward("linear", act_ref_linear); }
static void test_relu_forward(void **state) { check_forward("relu", act_ref_relu); }
static void test_sigmoid_forward(void **state) { check_forward("sigmoid", act_ref_sigmoid); }
static void test_tanh_forward(void **state) { check_forward("tanh", act_ref_tanh); }

/* No overflow, NaN or values outside [0, 1] however large |x| is. */
static void test_sigmoid_large_inputs(void **state) {
    const fanin_activation_vt *a = find("sigmoid");
    float x[] = {-INFINITY, -1e30f, -1000.0f, -104.0f, -88.8f, 88.8f, 1000.0f, 1e30f, INFINITY};
    float y[sizeof x / sizeof x[0]], dy[sizeof x / sizeof x[0]];
    size_t n = sizeof x / sizeof x[0];
    assert_int_equal(a->forward(NULL, x, y, n, NULL), FANIN_OK);
    for (size_t i = 0; i < n; i++) {
        assert_true(y[i] >= 0.0f && y[i] <= 1.0f);
        assert_true(x[i] < 0 ? y[i] < 1e-38f : y[i] == 1.0f);
        dy[i] = 1.0f;
    }
    assert_int_equal(a->backward(NULL, x, y, dy, dy, n, NULL), FANIN_OK);
    for (size_t i = 0; i < n; i++) assert_true(dy[i] >= 0.0f && dy[i] < 1e-30f);
}

/* A NaN pre-activation stays NaN (as torch.relu), so divergence is not hidden. */
static void test_relu_propagates_nan(void **state) {
    const fanin_activation_vt *a = find("relu");
    float x = NAN, y = 0.0f;
    assert_int_equal(a->forward(NULL, &x, &y, 1, NULL), FANIN_OK);
    assert_true(isnan(y));
}

/* ---- backward ---- */

/* dx = dy * f'(x) against the central difference (f(x+h) - f(x-h)) / (x+h - x-h) of the float
 * forward evaluated in double, h ~ 1e-3, within a relative 1e-2 (absolute 1e-4 near f' = 0). */
static void check_backward(const char *name) {
    const fanin_activation_vt *a = find(name);
    enum { N = 81 };
    float x[N], y[N], dy[N], dx[N];
    for (int i = 0; i < N; i++) {
        x[i] = -6.0f + 0.15f * (float)i + 0.0123f; /* never exactly 0: off relu's kink */
        dy[i] = (i % 3 == 0) ? -1.7f : 0.6f + 0.01f * (float)i;
    }
    assert_int_equal(a->forward(NULL, x, y, N, NULL), FANIN_OK);
    assert_int_equal(a->backward(NULL, x, y, dy, dx, N, NULL), FANIN_OK);
    for (int i = 0; i < N; i++) {
        double h = 1e-3, xp = (float)(x[i] + h), xm = (float)(x[i] - h);
        double num = dy[i] * (fwd1(a, xp) - fwd1(a, xm)) / (xp - xm);
        if (!(fabs(dx[i] - num) <= 1e-2 * fabs(num) + 1e-4))
            fail_msg("%s'(%.6g): backward %.9g, finite difference %.9g", name, x[i], dx[i], num);
    }
}

static void test_linear_backward(void **state) { check_backward("linear"); }
static void test_relu_backward(void **state) { check_backward("relu"); }
static void test_sigmoid_backward(void **state) { check_backward("sigmoid"); }
static void test_tanh_backward(void **state) { check_backward("tanh"); }

/* relu'(0) = 0, as PyTorch (threshold_backward: y <= 0 gives 0). */
static void test_relu_backward_kink_is_zero(void **state) {
    const fanin_activation_vt *a = find("relu");
    float x[2] = {0.0f, -0.0f}, y[2], dy[2] = {1.0f, 1.0f}, dx[2] = {5.0f, 5.0f};
    assert_int_equal(a->forward(NULL, x, y, 2, NULL), FANIN_OK);
    assert_int_equal(a->backward(NULL, x, y, dy, dx, 2, NULL), FANIN_OK);
    assert_true(y[0] == 0.0f && y[1] == 0.0f && dx[0] == 0.0f && dx[1] == 0.0f);
}

/* ---- gains ---- */

static void check_gain(const char *name, double want) {
    double g = NAN;
    assert_int_equal(find(name)->gain(NULL, &g), FANIN_OK);
    if (!(g == want)) fail_msg("gain(%s) = %.17g, want %.17g", name, g, want);
}

/* torch.nn.init.calculate_gain */
static void test_all_gains(void **state) {
    check_gain("linear", 1.0);
    check_gain("relu", sqrt(2.0));
    check_gain("sigmoid", 1.0);
    check_gain("tanh", 5.0 / 3.0);
}

/* ---- in place and empty ---- */

/* forward with y == x and backward with dx == dy (and y overwriting x) give the same bits as
 * separate buffers. */
static void test_all_in_place(void **state) {
    enum { N = 40 };
    for (size_t k = 0; k < N_NAMES; k++) {
        const fanin_activation_vt *a = find(all_names[k]);
        float x[N], y[N], dy[N], dx[N], buf[N], dbuf[N];
        for (int i = 0; i < N; i++) {
            x[i] = buf[i] = -5.0f + 0.25f * (float)i + 0.01f;
            dy[i] = dbuf[i] = 0.5f - 0.03f * (float)i;
        }
        assert_int_equal(a->forward(NULL, x, y, N, NULL), FANIN_OK);
        assert_int_equal(a->backward(NULL, x, y, dy, dx, N, NULL), FANIN_OK);
        assert_int_equal(a->forward(NULL, buf, buf, N, NULL), FANIN_OK);
        assert_memory_equal(buf, y, sizeof y);
        assert_int_equal(a->backward(NULL, buf, buf, dbuf, dbuf, N, NULL), FANIN_OK);
        assert_memory_equal(dbuf, dx, sizeof dx);
    }
}

static void test_all_empty_is_noop(void **state) {
    for (size_t k = 0; k < N_NAMES; k++) {
        const fanin_activation_vt *a = find(all_names[k]);
        assert_int_equal(a->forward(NULL, NULL, NULL, 0, NULL), FANIN_OK);
        assert_int_equal(a->backward(NULL, NULL, NULL, NULL, NULL, 0, NULL), FANIN_OK);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_forward),
        cmocka_unit_test(test_relu_forward),
        cmocka_unit_test(test_sigmoid_forward),
        cmocka_unit_test(test_tanh_forward),
        cmocka_unit_test(test_sigmoid_large_inputs),
        cmocka_unit_test(test_relu_propagates_nan),
        cmocka_unit_test(test_linear_backward),
        cmocka_unit_test(test_relu_backward),
        cmocka_unit_test(test_sigmoid_backward),
        cmocka_unit_test(test_tanh_backward),
        cmocka_unit_test(test_relu_backward_kink_is_zero),
        cmocka_unit_test(test_all_gains),
        cmocka_unit_test(test_all_in_place),
        cmocka_unit_test(test_all_empty_is_noop),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
