/* Tests of the {{NAME}} activation: cmocka with fanin's helpers (<fanin/testing.h>). The
 * plugin is loaded from the .so as fanin loads it. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fanin/testing.h>

#ifndef PLUGIN_FILE /* set by fanin_add_plugin; for a plain `cc` build pass -DPLUGIN_FILE=... */
#define PLUGIN_FILE "./{{NAME}}.so"
#endif

static int setup(void **state) {
    return fanin_test_setup(state, PLUGIN_FILE, FANIN_KIND_ACTIVATION, "{{NAME}}");
}

static int teardown(void **state) { return fanin_test_teardown(state); }

/* A few values by hand: the formula, not just self-consistency. */
static void test_{{NAME}}_forward(void **state) {
    fanin_test_plugin *tp = *state;
    const fanin_activation_vt *vt = fanin_test_descriptor(tp)->vtable;
    float x[3] = {-2.0f, 0.0f, 3.0f}, y[3];
    assert_int_equal(vt->forward(fanin_test_ctx(tp), x, y, 3, fanin_test_params(tp)), FANIN_OK);
    assert_float_equal(y[0], -0.02f, 1e-7);
    assert_float_equal(y[1], 0.0f, 0.0);
    assert_float_equal(y[2], 3.0f, 0.0);
}

/* backward against central finite differences of forward on [-4, 4]. */
static void test_{{NAME}}_gradient(void **state) { assert_fanin_gradient(*state, -4.0, 4.0); }

/* Schema, n = 0, guard words, determinism, finite output, gain, in place, allocations. */
static void test_{{NAME}}_conforms(void **state) {
    assert_fanin_schema(*state);
    assert_fanin_conforms(*state);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_{{NAME}}_forward),
        cmocka_unit_test(test_{{NAME}}_gradient),
        cmocka_unit_test(test_{{NAME}}_conforms),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
