/* Tests of the activation plugins (plugins/activations/), loaded through the host registry.
 * Forward against float64 references (tests/ref/make_activation_ref.py: numpy for the first
 * four, PyTorch's own functions for the rest), backward against central finite differences of
 * the float forward, gains against calculate_gain (or the second-moment rule), in place.
 */
#include "base/errors.h"
#include "plugin/host.h"
#include "plugin/registry.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fanin/testing.h>

#include "plugin_tests.h"

#include "ref/activations_ref.h"

/* ---- helpers ---- */


static const fanin__entry *entry(const char *name) {
    const fanin__entry *e = find_kind(FANIN_KIND_ACTIVATION, name);
    assert_true(e->plugin->flags & FANIN_FLAG_IN_PLACE);
    return e;
}

static const fanin_activation_vt *find(const char *name) { return entry(name)->plugin->vtable; }

/* The parameters of `name`: its schema's defaults, then `param, value` pairs (NULL ends them).
 * Returns a static table (these tests run one at a time). */
static const fanin_value *act_params(const char *name, ...) {
    static fanin_value p[MAX_PARAMS];
    va_list ap;
    va_start(ap, name);
    vparams(entry(name), p, ap);
    va_end(ap);
    return p;
}

static const char *const all_names[] = {"linear",     "relu",         "sigmoid",   "tanh",
                                        "leaky_relu", "elu",          "selu",      "gelu",
                                        "silu",       "swish",        "mish",      "softplus",
                                        "softsign",   "hard_sigmoid", "hard_tanh", "relu6"};
#define N_NAMES (sizeof all_names / sizeof all_names[0])

/* whose backward needs the pre-activation x (not recoverable from y): x == y is refused */
static int needs_x(const char *name) {
    const char *const list[] = {"gelu", "silu", "swish", "mish", "softplus"};
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
        if (strcmp(name, list[i]) == 0) return 1;
    return 0;
}

/* forward on every reference input within a relative 1e-6 (a few float ulps). Where PyTorch's
 * float64 formula cancels a far tail to exactly 0 (gelu at -10: 0.5 x (1 + erf) vs the true
 * -7.6e-23, which the plugin's erfc form keeps), |y| < 1e-20 is accepted. */
static void check_forward_p(const char *name, const fanin_value *p, const double *want) {
    const fanin_activation_vt *a = find(name);
    float x[ACT_REF_N], y[ACT_REF_N];
    for (size_t i = 0; i < ACT_REF_N; i++) x[i] = (float)act_ref_x[i];
    assert_int_equal(a->forward(NULL, x, y, ACT_REF_N, p), FANIN_OK);
    for (size_t i = 0; i < ACT_REF_N; i++) {
        double tol = want[i] == 0.0 ? 1e-20 : 1e-6 * fabs(want[i]) + 1e-40; /* float range */
        if (!(fabs(y[i] - want[i]) <= tol))
            fail_msg("%s(%.9g) = %.9g, want %.17g", name, x[i], y[i], want[i]);
    }
}

static void check_forward(const char *name, const double *want) {
    check_forward_p(name, NULL, want);
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

/* The plugin `name` through <fanin/testing.h> (its fake host, fanin check's checks). */
static fanin_test_plugin *load(const char *name) {
    char err[FANIN_ERRLEN];
    fanin_test_plugin *tp = NULL;
    if (fanin_test_load(&tp, FANIN_TEST_PLUGIN_DIR "/activations.so", FANIN_KIND_ACTIVATION, name,
                        err, sizeof err) != FANIN_OK)
        fail_msg("%s", err);
    return tp;
}

/* dx = dy * f'(x) against the central difference of the float forward at 81 points of
 * [-6, 6], within a relative 1e-2 (absolute 1e-4 near f' = 0); points beside a kink skipped. */
static void check_backward_p(const char *name, const fanin_value *p) {
    fanin_test_plugin *tp = load(name);
    fanin_test_set_values(tp, p);
    assert_fanin_ok(tp, fanin_test_check_gradient(tp, -6.0, 6.0, 81, 1e-2, 1e-4));
    fanin_test_free(tp);
}

static void check_backward(const char *name) { check_backward_p(name, act_params(name, NULL)); }

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
    assert_int_equal(find(name)->gain(act_params(name, NULL), &g), FANIN_OK);
    if (!(g == want)) fail_msg("gain(%s) = %.17g, want %.17g", name, g, want);
}

/* the second-moment gain 1/sqrt(E[f(z)^2]) against the reference's finer quadrature */
static void check_gain2(const char *name, const fanin_value *p, double want) {
    double g = NAN;
    assert_int_equal(find(name)->gain(p, &g), FANIN_OK);
    if (!(fabs(g - want) <= 2e-6 * want)) fail_msg("gain(%s) = %.17g, want %.17g", name, g, want);
}

/* torch.nn.init.calculate_gain */
static void test_all_gains(void **state) {
    check_gain("linear", 1.0);
    check_gain("relu", sqrt(2.0));
    check_gain("sigmoid", 1.0);
    check_gain("tanh", 5.0 / 3.0);
    check_gain("leaky_relu", sqrt(2.0 / (1.0 + 0.01 * 0.01)));
    check_gain("selu", 0.75);
    double g = NAN;
    assert_int_equal(
        find("leaky_relu")->gain(act_params("leaky_relu", "negative_slope", 0.2, NULL), &g),
        FANIN_OK);
    assert_true(g == sqrt(2.0 / (1.0 + 0.2 * 0.2)));
}

/* where PyTorch has none: 1/sqrt(E[f(z)^2]), z ~ N(0,1); relu6 is relu's sqrt 2 to 1e-8 */
static void test_second_moment_gains(void **state) {
    check_gain2("elu", act_params("elu", NULL), ACT_GAIN_ELU);
    check_gain2("elu", act_params("elu", "alpha", 0.5, NULL), ACT_GAIN_ELU_05);
    check_gain2("gelu", act_params("gelu", NULL), ACT_GAIN_GELU);
    check_gain2("gelu", act_params("gelu", "approximate", 1.0, NULL), ACT_GAIN_GELU_TANH);
    check_gain2("silu", NULL, ACT_GAIN_SILU);
    check_gain2("swish", NULL, ACT_GAIN_SILU);
    check_gain2("mish", NULL, ACT_GAIN_MISH);
    check_gain2("softplus", act_params("softplus", NULL), ACT_GAIN_SOFTPLUS);
    check_gain2("softplus", act_params("softplus", "beta", 2.0, "threshold", 5.0, NULL),
                ACT_GAIN_SOFTPLUS_B2_T5);
    check_gain2("softsign", NULL, ACT_GAIN_SOFTSIGN);
    check_gain2("hard_sigmoid", NULL, ACT_GAIN_HARD_SIGMOID);
    check_gain2("hard_tanh", act_params("hard_tanh", NULL), ACT_GAIN_HARD_TANH);
    check_gain2("hard_tanh", act_params("hard_tanh", "min_val", -2.0, "max_val", 0.5, NULL),
                ACT_GAIN_HARD_TANH_M2_05);
    check_gain2("relu6", NULL, ACT_GAIN_RELU6);
    check_gain2("relu6", NULL, sqrt(2.0));
}

/* ---- issue 3: the rest of the catalogue ---- */

static void test_new_forward(void **state) {
    check_forward_p("leaky_relu", act_params("leaky_relu", NULL), act_ref_leaky_relu);
    check_forward_p("leaky_relu", act_params("leaky_relu", "negative_slope", 0.2, NULL),
                    act_ref_leaky_relu_02);
    check_forward_p("elu", act_params("elu", NULL), act_ref_elu);
    check_forward_p("elu", act_params("elu", "alpha", 0.5, NULL), act_ref_elu_05);
    check_forward("selu", act_ref_selu);
    check_forward_p("gelu", act_params("gelu", NULL), act_ref_gelu);
    check_forward_p("gelu", act_params("gelu", "approximate", 1.0, NULL), act_ref_gelu_tanh);
    check_forward("silu", act_ref_silu);
    check_forward("swish", act_ref_silu);
    check_forward("mish", act_ref_mish);
    check_forward_p("softplus", act_params("softplus", NULL), act_ref_softplus);
    check_forward_p("softplus", act_params("softplus", "beta", 2.0, "threshold", 5.0, NULL),
                    act_ref_softplus_b2_t5);
    check_forward("softsign", act_ref_softsign);
    check_forward("hard_sigmoid", act_ref_hard_sigmoid);
    check_forward_p("hard_tanh", act_params("hard_tanh", NULL), act_ref_hard_tanh);
    check_forward_p("hard_tanh", act_params("hard_tanh", "min_val", -2.0, "max_val", 0.5, NULL),
                    act_ref_hard_tanh_m2_05);
    check_forward("relu6", act_ref_relu6);
}

static void test_new_backward(void **state) {
    for (size_t k = 4; k < N_NAMES; k++) check_backward(all_names[k]);
    check_backward_p("leaky_relu", act_params("leaky_relu", "negative_slope", 0.2, NULL));
    check_backward_p("leaky_relu", act_params("leaky_relu", "negative_slope", -0.5, NULL));
    check_backward_p("elu", act_params("elu", "alpha", 0.5, NULL));
    check_backward_p("gelu", act_params("gelu", "approximate", 1.0, NULL));
    check_backward_p("softplus", act_params("softplus", "beta", 2.0, "threshold", 5.0, NULL));
    check_backward_p("hard_tanh", act_params("hard_tanh", "min_val", -2.0, "max_val", 0.5, NULL));
}

/* Finite inputs of any size give no NaN, forward or backward (stable formulations). */
static void test_new_extremes_finite(void **state) {
    float x[] = {-3e38f, -1e30f, -1000.0f, -104.0f, -88.8f, -20.5f,
                 20.5f,  88.8f,  1000.0f,  1e30f,   3e38f};
    enum { N = sizeof x / sizeof x[0] };
    for (size_t k = 4; k < N_NAMES; k++) {
        const fanin_activation_vt *a = find(all_names[k]);
        const fanin_value *p = act_params(all_names[k], NULL);
        float y[N], dy[N], dx[N];
        for (int i = 0; i < N; i++) dy[i] = 1.0f;
        assert_int_equal(a->forward(NULL, x, y, N, p), FANIN_OK);
        assert_int_equal(a->backward(NULL, x, y, dy, dx, N, p), FANIN_OK);
        for (int i = 0; i < N; i++)
            if (isnan(y[i]) || !isfinite(dx[i]))
                fail_msg("%s(%g) = %g, derivative %g", all_names[k], x[i], y[i], dx[i]);
    }
}

/* A negative leaky slope cannot tell x from y: backward refuses x == y (as torch's in-place
 * leaky_relu_); hard_tanh needs min_val < max_val. */
static void test_new_parameter_errors(void **state) {
    const fanin_activation_vt *a = find("leaky_relu");
    const fanin_value *p = act_params("leaky_relu", "negative_slope", -0.5, NULL);
    float buf[2] = {-1.0f, 2.0f}, d[2] = {1.0f, 1.0f};
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, entry("leaky_relu"), 1.0);
    assert_int_equal(a->forward(NULL, buf, buf, 2, p), FANIN_OK);
    assert_int_equal(a->backward(&ctx, buf, buf, d, d, 2, p), FANIN_EINVAL);
    a = find("hard_tanh");
    p = act_params("hard_tanh", "min_val", 1.0, "max_val", 1.0, NULL);
    fanin__ctx_init(&ctx, entry("hard_tanh"), 1.0);
    assert_int_equal(a->forward(&ctx, buf, d, 2, p), FANIN_EINVAL);
    assert_non_null(strstr(ctx.msg, "less than"));
    double g;
    assert_true(a->gain(p, &g) < 0);
}

/* the aliases are the same functions */
static void test_swish_is_silu(void **state) {
    const fanin_activation_vt *a = find("silu"), *b = find("swish");
    assert_ptr_equal(a->forward, b->forward);
    assert_ptr_equal(a->backward, b->backward);
    assert_ptr_equal(a->gain, b->gain);
}

/* PyTorch's derivative at the kinks: 0 for relu6/hard_* (hardtanh_backward), the slope for
 * leaky_relu at 0, elu's alpha e^0 = alpha at 0. */
static void test_new_kinks(void **state) {
    struct {
        const char *name;
        float x, want;
    } k[] = {{"relu6", 0.0f, 0.0f},
             {"relu6", 6.0f, 0.0f},
             {"hard_tanh", -1.0f, 0.0f},
             {"hard_tanh", 1.0f, 0.0f},
             {"hard_sigmoid", -3.0f, 0.0f},
             {"hard_sigmoid", 3.0f, 0.0f},
             {"leaky_relu", 0.0f, 0.01f},
             {"elu", 0.0f, 1.0f},
             {"selu", 0.0f, 1.7580993408473766f}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        const fanin_activation_vt *a = find(k[i].name);
        const fanin_value *p = act_params(k[i].name, NULL);
        float y, dy = 1.0f, dx = NAN;
        assert_int_equal(a->forward(NULL, &k[i].x, &y, 1, p), FANIN_OK);
        assert_int_equal(a->backward(NULL, &k[i].x, &y, &dy, &dx, 1, p), FANIN_OK);
        if (!(fabsf(dx - k[i].want) <= 1e-6f))
            fail_msg("%s'(%g) = %g, want %g", k[i].name, k[i].x, dx, k[i].want);
    }
}

/* ---- in place and empty ---- */

/* forward with y == x and backward with dx == dy (and y overwriting x) give the same bits as
 * separate buffers. */
static void test_all_in_place(void **state) {
    enum { N = 40 };
    for (size_t k = 0; k < N_NAMES; k++) {
        const fanin_activation_vt *a = find(all_names[k]);
        const fanin_value *p = act_params(all_names[k], NULL);
        float x[N], y[N], dy[N], dx[N], buf[N], dbuf[N];
        for (int i = 0; i < N; i++) {
            x[i] = buf[i] = -5.0f + 0.25f * (float)i + 0.01f;
            dy[i] = dbuf[i] = 0.5f - 0.03f * (float)i;
        }
        assert_int_equal(a->forward(NULL, x, y, N, p), FANIN_OK);
        assert_int_equal(a->backward(NULL, x, y, dy, dx, N, p), FANIN_OK);
        assert_int_equal(a->forward(NULL, buf, buf, N, p), FANIN_OK);
        assert_memory_equal(buf, y, sizeof y);
        if (needs_x(all_names[k])) { /* x kept apart (as the engine does), dx == dy */
            fanin_ctx ctx;
            fanin__ctx_init(&ctx, entry(all_names[k]), 1.0);
            assert_int_equal(a->backward(&ctx, buf, buf, dbuf, dbuf, N, p), FANIN_EINVAL);
            assert_non_null(strstr(ctx.msg, "pre-activation"));
            assert_int_equal(a->backward(NULL, x, buf, dbuf, dbuf, N, p), FANIN_OK);
        } else {
            assert_int_equal(a->backward(NULL, buf, buf, dbuf, dbuf, N, p), FANIN_OK);
        }
        assert_memory_equal(dbuf, dx, sizeof dx);
    }
}

static void test_all_empty_is_noop(void **state) {
    for (size_t k = 0; k < N_NAMES; k++) {
        const fanin_activation_vt *a = find(all_names[k]);
        const fanin_value *p = act_params(all_names[k], NULL);
        assert_int_equal(a->forward(NULL, NULL, NULL, 0, p), FANIN_OK);
        assert_int_equal(a->backward(NULL, NULL, NULL, NULL, NULL, 0, p), FANIN_OK);
    }
}

/* Every activation passes the behaviour checks of `fanin check`: empty calls, guard words,
 * determinism, finite output, finite differences, gain, in place, allocation failures. */
static void test_all_conform(void **state) {
    for (size_t k = 0; k < N_NAMES; k++) {
        fanin_test_plugin *tp = load(all_names[k]);
        assert_fanin_conforms(tp);
        fanin_test_free(tp);
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
        cmocka_unit_test(test_second_moment_gains),
        cmocka_unit_test(test_new_forward),
        cmocka_unit_test(test_new_backward),
        cmocka_unit_test(test_new_extremes_finite),
        cmocka_unit_test(test_new_parameter_errors),
        cmocka_unit_test(test_swish_is_silu),
        cmocka_unit_test(test_new_kinks),
        cmocka_unit_test(test_all_in_place),
        cmocka_unit_test(test_all_empty_is_noop),
        cmocka_unit_test(test_all_conform),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
