/* Tests for `fanin new-plugin` (tools/cmd_new_plugin.c) run as a user runs it: a NAME a plugin
 * of that kind already has, built in or on FANIN_PLUGIN_PATH, is refused with exit 2, where it
 * is defined and a free name, and nothing is written (issue 16, item 8); a free NAME is written.
 */
#include <fanin/fanin.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char out[1 << 14];

/* `fanin new-plugin ARGS` with stderr and stdout in out; its exit code. */
static int new_plugin(const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' new-plugin %s 2>&1", FANIN_TEST_BIN, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    int ws = pclose(p);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

static void assert_out_has(const char *s) {
    if (!strstr(out, s)) fail_msg("expected \"%s\" in: %s", s, out);
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

typedef struct fixture {
    char dir[64];   /* a temporary folder: plugins on the path, scaffolds */
    char copy[128]; /* dir/copy.so: the good fixture (fixture_init, fixture_act, fixture_opt) */
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx) return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/fanin_test_new_plugin_XXXXXX");
    if (!mkdtemp(fx->dir)) return -1;
    snprintf(fx->copy, sizeof fx->copy, "%s/copy.so", fx->dir);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp '%s/good.so' '%s' && chmod 755 '%s'", FANIN_TEST_FIXTURE_DIR,
             fx->copy, fx->copy);
    if (system(cmd) != 0) return -1;
    unsetenv("FANIN_PLUGIN_PATH");
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    unsetenv("FANIN_PLUGIN_PATH");
    int rc = system(cmd);
    free(fx);
    return rc == 0 ? 0 : -1;
}

/* A built-in name: every later command would fail with "duplicate activation 'tanh'". */
static void test_new_plugin_builtin_name_refused(void **state) {
    fixture *fx = *state;
    char args[256], dir[128];
    snprintf(dir, sizeof dir, "%s/tanh", fx->dir);
    snprintf(args, sizeof args, "activation tanh --dir '%s'", dir);
    assert_int_equal(new_plugin(args), FANIN_EXIT_USAGE);
    assert_out_has("fanin: new-plugin: there is already an activation 'tanh', defined in ");
    assert_out_has("/activations.so");
    assert_out_has("would make every command fail with \"duplicate activation 'tanh'\"");
    assert_out_has("e.g. tanh2 (free): fanin new-plugin activation tanh2");
    assert_out_has("(nothing was written)");
    assert_false(exists(dir));
}

/* A name on FANIN_PLUGIN_PATH is taken for its kind only. */
static void test_new_plugin_path_name_refused(void **state) {
    fixture *fx = *state;
    char args[256], dir[128], want[256];
    setenv("FANIN_PLUGIN_PATH", fx->dir, 1);
    snprintf(dir, sizeof dir, "%s/scaffold", fx->dir);
    snprintf(args, sizeof args, "activation fixture_act --dir '%s'", dir);
    assert_int_equal(new_plugin(args), FANIN_EXIT_USAGE);
    snprintf(want, sizeof want, "already an activation 'fixture_act', defined in %s;", fx->copy);
    assert_out_has(want);
    assert_out_has("e.g. fixture_act2 (free)");
    assert_false(exists(dir));

    snprintf(args, sizeof args, "optimizer fixture_act --dir '%s'", dir); /* another kind */
    if (new_plugin(args) != FANIN_EXIT_OK) fail_msg("a free optimizer name refused: %s", out);
    snprintf(want, sizeof want, "%s/fixture_act.c", dir);
    assert_true(exists(want));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_plugin_builtin_name_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_plugin_path_name_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
