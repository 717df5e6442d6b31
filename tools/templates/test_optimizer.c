/* Tests of the {{NAME}} optimizer: cmocka with fanin's helpers (<fanin/testing.h>). The
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
    return fanin_test_setup(state, PLUGIN_FILE, FANIN_KIND_OPTIMIZER, "{{NAME}}");
}

static int teardown(void **state) { return fanin_test_teardown(state); }

/* 200 steps at lr 0.05 on a 32-parameter quadratic cut the loss at least a hundredfold. */
static void test_{{NAME}}_converges(void **state) {
    assert_fanin_converges(*state, 32, 0.05, 200, 0.01);
}

/* Schema, n = 0, guard words around w, g and the state, determinism, allocations. */
static void test_{{NAME}}_conforms(void **state) {
    assert_fanin_schema(*state);
    assert_fanin_conforms(*state);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_{{NAME}}_converges),
        cmocka_unit_test(test_{{NAME}}_conforms),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
