/* Tests of the conformance suite (core/check*.c, `fanin check`): every plugin fanin ships
 * passes; each deliberately broken fixture (tests/fixtures/misbehave.c, broken.c) gets its
 * named failure while the checker survives and reports every other check; the command's exit
 * code and TAP output.
 */
#include "plugin/check.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <fanin/testing.h>

#define MAX_ITEMS 512

typedef struct seen {
    char plugin[128], name[128], msg[FANIN_CHECK_MSGLEN], params[256];
    int status;
} seen;

typedef struct collector {
    seen items[MAX_ITEMS];
    int n, failed;
} collector;

static void collect(void *user, const fanin__check_item *it) {
    collector *c = user;
    if (c->n == MAX_ITEMS) return;
    seen *s = &c->items[c->n++];
    snprintf(s->plugin, sizeof s->plugin, "%s", it->plugin ? it->plugin : "");
    snprintf(s->name, sizeof s->name, "%s", it->name);
    snprintf(s->msg, sizeof s->msg, "%s", it->msg);
    snprintf(s->params, sizeof s->params, "%s", it->params ? it->params : "");
    s->status = it->status;
    c->failed += it->status == FANIN_CHECK_FAIL;
}

/* All checks of one fixture (or file) with the given --param values and --sweep-params. */
static collector *run_with(const char *file, double timeout, const char *const *params,
                           size_t n_params, int sweep) {
    char path[1024];
    collector *c = calloc(1, sizeof *c);
    assert_non_null(c);
    if (file[0] == '/') snprintf(path, sizeof path, "%s", file);
    else snprintf(path, sizeof path, "%s/%s.so", FANIN_TEST_FIXTURE_DIR, file);
    fanin__check_opts o = {.timeout = timeout,
                           .user = c,
                           .report = collect,
                           .params = params,
                           .n_params = n_params,
                           .sweep = sweep};
    int failed = fanin__check_file(path, &o);
    assert_int_equal(failed, c->failed);
    return c;
}

/* All checks of one fixture (or file), with a short timeout for the hanging one. */
static collector *run(const char *file, double timeout) {
    return run_with(file, timeout, NULL, 0, 0);
}

static void dump(const collector *c) {
    for (int i = 0; i < c->n; i++)
        print_error("  %d %s: %s: %s\n", c->items[i].status, c->items[i].plugin, c->items[i].name,
                    c->items[i].msg);
}

/* The check whose plugin label and name contain the given words must have failed with a message
 * containing `why`; every check of other plugins must not have failed. */
static void expect_failure(const collector *c, const char *plugin, const char *check,
                           const char *why) {
    int found = 0;
    for (int i = 0; i < c->n; i++) {
        const seen *s = &c->items[i];
        int mine = strstr(s->plugin, plugin) != NULL;
        if (mine && strstr(s->name, check)) {
            found = 1;
            if (s->status != FANIN_CHECK_FAIL || !strstr(s->msg, why)) {
                dump(c);
                fail_msg("%s / %s: status %d, message '%s', want a failure with '%s'", plugin,
                         check, s->status, s->msg, why);
            }
        } else if (!mine && s->plugin[0] && s->status == FANIN_CHECK_FAIL) {
            dump(c);
            fail_msg("%s: %s failed too: %s", s->plugin, s->name, s->msg);
        }
    }
    if (!found) {
        dump(c);
        fail_msg("no check '%s' of '%s' was reported", check, plugin);
    }
}

static int count_plugins(const collector *c) {
    int n = 0;
    for (int i = 0; i < c->n; i++) n += strstr(c->items[i].name, "schema sanity") != NULL;
    return n;
}

/* ---- the good ones ---- */

static void test_check_shipped_plugins_pass(void **state) {
    static const char *const families[] = {"initializers", "activations", "optimizers"};
    for (int k = 0; k < 3; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.so", FANIN_TEST_PLUGIN_DIR, families[k]);
        collector *c = run(path, 10.0);
        if (c->failed) {
            dump(c);
            fail_msg("%s: %d checks failed", path, c->failed);
        }
        assert_true(c->n > 10);
        free(c);
    }
}

static void test_check_clean_fixture_passes(void **state) {
    collector *c = run("mis_ok", 10.0);
    if (c->failed) dump(c);
    assert_int_equal(c->failed, 0);
    assert_int_equal(count_plugins(c), 3);
    free(c);
}

/* ---- each defect gets its named failure ---- */

static void test_check_crash_in_fill(void **state) {
    collector *c = run("mis_crash_fill", 10.0);
    expect_failure(c, "misbehave_init", "writes stay inside", "crashed: signal");
    expect_failure(c, "misbehave_init", "no NaN", "crashed: signal");
    assert_int_equal(count_plugins(c), 3); /* the checker went on to the other two */
    free(c);
}

static void test_check_write_past_the_end(void **state) {
    collector *c = run("mis_overrun", 10.0);
    expect_failure(c, "misbehave_init", "writes stay inside", "wrote past the end of data");
    free(c);
}

static void test_check_nan_from_activation(void **state) {
    collector *c = run("mis_nan", 10.0);
    expect_failure(c, "misbehave_act", "no NaN or Inf", "forward(");
    free(c);
}

static void test_check_hang_times_out(void **state) {
    collector *c = run("mis_hang", 0.1);
    expect_failure(c, "misbehave_act", "backward matches", "timed out after 0.1 s");
    assert_int_equal(count_plugins(c), 3);
    free(c);
}

static void test_check_diverging_optimizer(void **state) {
    collector *c = run("mis_diverge", 10.0);
    expect_failure(c, "misbehave_opt", "decreases a simple quadratic", "no learning rate");
    free(c);
}

static void test_check_leaking_optimizer(void **state) {
    collector *c = run("mis_leak", 10.0);
    expect_failure(c, "misbehave_opt", "allocation failures", "leaks 1 host allocation");
    free(c);
}

static void test_check_leak_when_allocation_fails(void **state) {
    collector *c = run("mis_leak_on_oom", 10.0);
    expect_failure(c, "misbehave_init", "allocation failures", "when host allocation #2 fails");
    free(c);
}

static void test_check_exit_in_plugin(void **state) {
    collector *c = run("mis_exit", 10.0);
    expect_failure(c, "misbehave_act", "gain is positive", "must not call exit()");
    free(c);
}

static void test_check_extra_export(void **state) {
    collector *c = run("mis_extra_export", 10.0);
    expect_failure(c, "", "exports only", "misbehave_helper");
    free(c);
}

static void test_check_links_blas(void **state) {
    collector *c = run("mis_needs_blas", 10.0);
    expect_failure(c, "", "links no BLAS", "libopenblas");
    free(c);
}

/* The loader refuses the file; the schema check still names the bad range. */
static void test_check_schema_min_above_max(void **state) {
    collector *c = run("bad_schema", 10.0);
    expect_failure(c, "", "handshake and descriptors", "min 2 > max 1");
    expect_failure(c, "", "schema sanity", "min 2 > max 1");
    free(c);
}

static void test_check_no_entry(void **state) {
    collector *c = run("no_entry", 10.0);
    expect_failure(c, "", "handshake and descriptors", "is not a fanin plugin");
    expect_failure(c, "", "exports only", "does not export fanin_plugin_entry");
    free(c);
}

/* ---- parameter values: --param and --sweep-params (issue 16) ---- */

/* The failures of c: each must be the gradient check of a set whose label has `label`;
 * returns how many there were. */
static int gradient_failures(const collector *c, const char *label) {
    int n = 0;
    for (int i = 0; i < c->n; i++) {
        const seen *s = &c->items[i];
        if (s->status != FANIN_CHECK_FAIL) continue;
        if (!strstr(s->plugin, label) || !strstr(s->name, "backward matches")) {
            dump(c);
            fail_msg("unexpected failure: %s: %s: %s", s->plugin, s->name, s->msg);
        }
        n++;
    }
    return n;
}

/* Right at the defaults: a plain check passes, and says which values it used. */
static void test_check_params_defaults_pass(void **state) {
    collector *c = run("param_bug", 10.0);
    if (c->failed) dump(c);
    assert_int_equal(c->failed, 0);
    assert_string_equal(c->items[3].plugin, "activation 'param_act'");
    assert_string_equal(c->items[3].params, "with defaults: alpha=1, beta=0.5, repeat=3");
    free(c);
}

static void test_check_param_override_fails(void **state) {
    const char *params[] = {"beta=2"};
    collector *c = run_with("param_bug", 10.0, params, 1, 0);
    assert_int_equal(gradient_failures(c, "param_act' [beta=2]"), 1);
    assert_non_null(strstr(c->items[3].params, "beta=2 (--param)"));
    free(c);
}

/* Each numeric parameter at its ends and between, one at a time: only beta's sets fail. */
static void test_check_sweep_params_fails(void **state) {
    collector *c = run_with("param_bug", 10.0, NULL, 0, 1);
    assert_int_equal(gradient_failures(c, "param_act' [beta="), 3);
    const char *sets[] = {"[alpha=0.001]", "[alpha=10]", "[beta=0]",   "[beta=4]",
                          "[beta=2]",      "[repeat=1]", "[repeat=8]", "[repeat=4]"};
    for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
        int found = 0;
        for (int i = 0; i < c->n; i++) found |= strstr(c->items[i].plugin, sets[k]) != NULL;
        if (!found) {
            dump(c);
            fail_msg("no set %s was checked", sets[k]);
        }
    }
    free(c);
}

/* Values the plugin refuses (FANIN_EINVAL from forward) are one skip, not a row of failures. */
static void test_check_refused_values_skip(void **state) {
    const char *params[] = {"alpha=200"};
    collector *c = run_with("param_bug", 10.0, params, 1, 0);
    assert_int_equal(c->failed, 0);
    int skipped = 0;
    for (int i = 0; i < c->n; i++)
        skipped += c->items[i].status == FANIN_CHECK_SKIP &&
                   strstr(c->items[i].msg, "the plugin refuses these values (forward: alpha 200 "
                                           "is above 100)") != NULL;
    assert_int_equal(skipped, 1);
    free(c);
}

/* ---- the command ---- */

/* `fanin check ARGS`: its exit code, its stdout (and its stderr when `errors`) in out. */
static int run_cli_to(const char *args, int errors, char *out, size_t len) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' check %s %s", FANIN_TEST_BIN, args,
             errors ? "2>&1" : "2>/dev/null");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, len - 1, p);
    out[got] = '\0';
    int ws = pclose(p);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

static int run_cli(const char *args, char *out, size_t len) {
    return run_cli_to(args, 0, out, len);
}

static void test_check_cli_tap_and_exit_codes(void **state) {
    static char out[1 << 16];
    char args[1024];
    snprintf(args, sizeof args, "--tap %s/mis_ok.so", FANIN_TEST_FIXTURE_DIR);
    assert_int_equal(run_cli(args, out, sizeof out), 0);
    assert_true(strncmp(out, "TAP version 13\n", 15) == 0);
    assert_null(strstr(out, "not ok"));
    assert_non_null(strstr(out, "\n1.."));

    snprintf(args, sizeof args, "--tap --timeout 5 %s/mis_ok.so %s/mis_crash_fill.so",
             FANIN_TEST_FIXTURE_DIR, FANIN_TEST_FIXTURE_DIR);
    assert_int_equal(run_cli(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "not ok"));
    assert_non_null(strstr(out, "# crashed: signal"));
    int lines = 0, plan = -1;
    for (char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        lines += !strncmp(l, "ok ", 3) || !strncmp(l, "not ok ", 7);
        if (!strncmp(l, "1..", 3)) plan = atoi(l + 3);
    }
    assert_true(lines > 20);
    assert_int_equal(plan, lines);

    assert_int_equal(run_cli("", out, sizeof out), 2);
    assert_int_equal(run_cli("--timeout -1 x.so", out, sizeof out), 2);
}

/* `fanin check --param K=V` and `--sweep-params`: exit 1 on the fixture's bug, 2 for a --param
 * no plugin has or a value out of range (nothing run), and the values used are printed. */
static void test_check_cli_params(void **state) {
    static char out[1 << 16];
    char args[1024];
    const char *f = FANIN_TEST_FIXTURE_DIR "/param_bug.so";
    snprintf(args, sizeof args, "%s", f);
    assert_int_equal(run_cli(args, out, sizeof out), 0);
    assert_non_null(strstr(out, "  activation 'param_act' with defaults: alpha=1, beta=0.5, "
                                "repeat=3\n"));
    snprintf(args, sizeof args, "%s --param beta=2", f);
    assert_int_equal(run_cli(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "FAIL  activation 'param_act' [beta=2]: backward matches"));
    snprintf(args, sizeof args, "--sweep-params %s", f);
    assert_int_equal(run_cli(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "FAIL  activation 'param_act' [beta=4]: backward matches"));
    snprintf(args, sizeof args, "--tap --sweep-params %s", f);
    assert_int_equal(run_cli(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "# activation 'param_act' [beta=0] with alpha=1, beta=0 "
                                "(sweep: min), repeat=3\n"));
    snprintf(args, sizeof args, "%s --param gamma=1", f);
    assert_int_equal(run_cli_to(args, 1, out, sizeof out), 2);
    assert_non_null(strstr(out, "--param gamma=1: no plugin in "));
    assert_non_null(strstr(out, "has a parameter 'gamma' (parameters: alpha, beta, repeat)"));
    assert_null(strstr(out, "checks:"));
    snprintf(args, sizeof args, "%s --param beta=9", f);
    assert_int_equal(run_cli_to(args, 1, out, sizeof out), 2);
    assert_non_null(strstr(out, "parameter 'beta' of activation 'param_act' must be a number "
                                "in [0, 4], got '9'"));
    snprintf(args, sizeof args, "%s --param beta", f);
    assert_int_equal(run_cli(args, out, sizeof out), 2);
}

/* ---- <fanin/testing.h> ---- */

static fanin_test_plugin *load(const char *fixture, int kind) {
    char path[1024], err[1024];
    fanin_test_plugin *tp = NULL;
    snprintf(path, sizeof path, "%s/%s.so", FANIN_TEST_FIXTURE_DIR, fixture);
    if (fanin_test_load(&tp, path, kind, NULL, err, sizeof err) != FANIN_OK)
        fail_msg("fanin_test_load: %s", err);
    return tp;
}

/* The clean fixture passes every helper with cmocka's leak-checking allocator. */
static void test_testing_helpers_pass(void **state) {
    fanin_test_set_allocator(_test_malloc, _test_free);
    fanin_test_plugin *init = load("mis_ok", FANIN_KIND_INITIALIZER);
    fanin_test_plugin *act = load("mis_ok", FANIN_KIND_ACTIVATION);
    fanin_test_plugin *opt = load("mis_ok", FANIN_KIND_OPTIMIZER);
    assert_string_equal(fanin_test_descriptor(act)->name, "misbehave_act");
    assert_fanin_init_moments(init, 300, 200, 0.0, 1.0 / sqrt(200.0), 4.0);
    assert_fanin_init_moments(init, 300, 200, NAN, NAN, 4.0);
    assert_fanin_gradient(act, -3.0, 3.0);
    assert_fanin_converges(opt, 16, 0.1, 200, 1e-3);
    assert_fanin_conforms(init);
    assert_fanin_conforms(act);
    assert_fanin_conforms(opt);
    fanin_test_stats st;
    assert_fanin_ok(init, fanin_test_init_stats(init, 10, 10, 1, &st));
    assert_int_equal(st.n, 100);
    fanin_test_free(init), fanin_test_free(act), fanin_test_free(opt);
    fanin_test_set_allocator(NULL, NULL);
}

/* An allocator that remembers what it handed out, so a leaking fixture's blocks can be freed
 * (the sanitizer build checks this process for leaks). */
static void *kept[4096];

static void *keep_alloc(size_t size, const char *file, int line) {
    for (size_t i = 0; i < 4096; i++)
        if (!kept[i]) return kept[i] = malloc(size);
    return NULL;
}

static void keep_free(void *p, const char *file, int line) {
    for (size_t i = 0; i < 4096; i++)
        if (kept[i] == p) kept[i] = NULL;
    free(p);
}

static void free_kept(void) {
    for (size_t i = 0; i < 4096; i++) free(kept[i]), kept[i] = NULL;
}

/* Failing checks say why; a missing plugin or parameter is an error, not a crash. */
static void test_testing_failures_explained(void **state) {
    char err[1024];
    fanin_test_plugin *tp = NULL;
    assert_int_equal(fanin_test_load(&tp, FANIN_TEST_FIXTURE_DIR "/mis_ok.so", FANIN_KIND_OPTIMIZER,
                                     "nope", err, sizeof err),
                     FANIN_EINVAL);
    assert_null(tp);
    assert_non_null(strstr(err, "no optimizer named nope"));

    tp = load("mis_diverge", FANIN_KIND_OPTIMIZER);
    assert_int_equal(fanin_test_check_quadratic(tp, 8, 0.1, 50, 0.5), FANIN_EINVAL);
    assert_non_null(strstr(fanin_test_why(tp), "took the loss"));
    assert_int_equal(fanin_test_set_param(tp, "lr", 1.0), FANIN_EINVAL);
    assert_non_null(strstr(fanin_test_why(tp), "no parameter 'lr'"));
    fanin_test_free(tp);

    fanin_test_set_allocator(keep_alloc, keep_free); /* cmocka's would fail this test */
    tp = load("mis_leak", FANIN_KIND_OPTIMIZER);
    assert_int_equal(fanin_test_check_conformance(tp), FANIN_EINVAL);
    assert_non_null(strstr(fanin_test_why(tp), "leaks 1 host allocation"));
    fanin_test_free(tp);
    fanin_test_set_allocator(NULL, NULL);
    free_kept();

    tp = load("mis_nan", FANIN_KIND_ACTIVATION);
    assert_int_equal(fanin_test_check_conformance(tp), FANIN_EINVAL);
    assert_non_null(strstr(fanin_test_why(tp), "no NaN or Inf"));
    assert_int_equal(fanin_test_check_init_moments(tp, 4, 4, 0, 1, 4), FANIN_EINVAL);
    assert_non_null(strstr(fanin_test_why(tp), "not an initializer"));
    fanin_test_free(tp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_shipped_plugins_pass),
        cmocka_unit_test(test_check_clean_fixture_passes),
        cmocka_unit_test(test_check_crash_in_fill),
        cmocka_unit_test(test_check_write_past_the_end),
        cmocka_unit_test(test_check_nan_from_activation),
        cmocka_unit_test(test_check_hang_times_out),
        cmocka_unit_test(test_check_diverging_optimizer),
        cmocka_unit_test(test_check_leaking_optimizer),
        cmocka_unit_test(test_check_leak_when_allocation_fails),
        cmocka_unit_test(test_check_exit_in_plugin),
        cmocka_unit_test(test_check_extra_export),
        cmocka_unit_test(test_check_links_blas),
        cmocka_unit_test(test_check_schema_min_above_max),
        cmocka_unit_test(test_check_no_entry),
        cmocka_unit_test(test_check_params_defaults_pass),
        cmocka_unit_test(test_check_param_override_fails),
        cmocka_unit_test(test_check_sweep_params_fails),
        cmocka_unit_test(test_check_refused_values_skip),
        cmocka_unit_test(test_check_cli_tap_and_exit_codes),
        cmocka_unit_test(test_check_cli_params),
        cmocka_unit_test(test_testing_helpers_pass),
        cmocka_unit_test(test_testing_failures_explained),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
