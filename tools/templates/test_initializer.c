/* Tests of the {{NAME}} initializer: cmocka with fanin's helpers (<fanin/testing.h>). The
 * plugin is loaded from the .so as fanin loads it; host allocations are leak-checked. */
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
    return fanin_test_setup(state, PLUGIN_FILE, FANIN_KIND_INITIALIZER, "{{NAME}}");
}

static int teardown(void **state) { return fanin_test_teardown(state); }

/* The sample of a 400 x 300 weight has mean 0 and std gain / sqrt(300) within 4 sigma. */
static void test_{{NAME}}_moments(void **state) {
    fanin_test_plugin *tp = *state;
    assert_fanin_init_moments(tp, 400, 300, 0.0, 1.0 / sqrt(300.0), 4.0);
    assert_fanin_ok(tp, fanin_test_set_param(tp, "gain", 2.0));
    assert_fanin_init_moments(tp, 400, 300, 0.0, 2.0 / sqrt(300.0), 4.0);
    fanin_test_reset_params(tp);
}

/* Schema, empty tensors, guard words, determinism, moments(), allocation failures. */
static void test_{{NAME}}_conforms(void **state) {
    assert_fanin_schema(*state);
    assert_fanin_conforms(*state);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_{{NAME}}_moments),
        cmocka_unit_test(test_{{NAME}}_conforms),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
