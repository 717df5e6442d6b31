/* Tests of the edge-of-chaos solver (core/api/critical.c) and the `critical` initializer:
 * the mean-field critical point of tanh at sigma_b^2 = 0.05 against numpy's own quadrature
 * (tests/ref/make_critical_ref.py: numpy's hermegauss with 128 nodes over exact tanh, then
 * bisection), the known closed forms (relu: sigma_w^2 = 2 with no finite q* when sigma_b > 0,
 * any q at sigma_b = 0; tanh at sigma_b = 0: (1, 0)), a user's plugin (tests/fixtures' scaled
 * identity phi = k x: sigma_w^2 = 1/k^2), and the initializer's default against the solver.
 */
#include "api/critical.h"
#include "base/errors.h"
#include "base/rng.h"
#include "config/pref.h"
#include "plugin/host.h"
#include "plugin/registry.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "plugin_tests.h"
#include "ref/critical_ref.h"

#define assert_close(a, b, tol)                                                        \
    do {                                                                               \
        double a_ = (a), b_ = (b);                                                     \
        if (!(fabs(a_ - b_) <= (tol))) fail_msg("%s = %.17g, want %.17g", #a, a_, b_); \
    } while (0)

/* Solve for activation `name` with "k=v" parameters kv (NULL-terminated). */
static fanin__critical solve(const char *name, const char *const *kv, size_t n, double sb2) {
    fanin__pref act;
    fanin__critical c;
    char err[FANIN_ERRLEN];
    const fanin__entry *e = find_kind(FANIN_KIND_ACTIVATION, name);
    assert_int_equal(fanin__pref_from_args(&act, e, kv, n, err, sizeof err), FANIN_OK);
    int rc = fanin__critical_solve(&act, sb2, &c, err, sizeof err);
    fanin__pref_deinit(&act);
    if (rc != FANIN_OK) fail_msg("%s: %s", name, err);
    return c;
}

/* tanh and gelu against numpy; tanh at sigma_b^2 = 0.05: sigma_w^2 1.7610, q* 0.5700;
 * the plugin is float32, numpy float64: 1e-5 relative. */
static void test_matches_numpy(void **state) {
    for (size_t k = 0; k < sizeof critical_ref / sizeof critical_ref[0]; k++) {
        const critical_ref_case *r = &critical_ref[k];
        fanin__critical c = solve(r->activation, NULL, 0, r->sigma_b2);
        assert_int_equal(c.status, FANIN_CRITICAL_FOUND);
        assert_close(c.sigma_w2, r->sigma_w2, 1e-5 * r->sigma_w2);
        assert_close(c.q_star, r->q_star, 1e-5 * r->q_star);
        assert_close(c.chi1, 1.0, 1e-9);
        assert_close(c.xi_q, r->xi_q, 1e-3 * fabs(r->xi_q));
        assert_true(isinf(c.xi_c));
    }
    fanin__critical c = solve("tanh", NULL, 0, 0.05);
    assert_close(c.sigma_w2, 1.76, 0.005); /* the check */
    assert_close(c.q_star, 0.57, 0.005);
}

/* relu: E[phi^2] = q/2, E[phi'^2] = 1/2. sigma_b > 0: q grows without bound at sigma_w^2 = 2;
 * sigma_b = 0: every q is a fixed point. tanh at sigma_b = 0: the critical point is (1, q* = 0). */
static void test_closed_forms(void **state) {
    fanin__critical c = solve("relu", NULL, 0, 0.05);
    assert_int_equal(c.status, FANIN_CRITICAL_NONE);
    assert_close(c.sigma_w2, 2.0, 1e-6);
    c = solve("relu", NULL, 0, 0.0);
    assert_int_equal(c.status, FANIN_CRITICAL_ANY_Q);
    assert_close(c.sigma_w2, 2.0, 1e-6);
    const char *kv[] = {"negative_slope=0.2"};
    c = solve("leaky_relu", kv, 1, 0.0); /* 2 / (1 + a^2), He et al. 2015 eq. 15 */
    assert_close(c.sigma_w2, 2.0 / 1.04, 1e-6);
    c = solve("tanh", NULL, 0, 0.0);
    assert_int_equal(c.status, FANIN_CRITICAL_FOUND);
    assert_close(c.q_star, 0.0, 0);
    assert_close(c.sigma_w2, 1.0, 1e-5);
    double prev = 0.0; /* the critical sigma_w^2 grows with sigma_b^2 (Poole et al. Fig. 2) */
    for (double sb2 = 0.01; sb2 < 0.5; sb2 *= 2) {
        c = solve("tanh", NULL, 0, sb2);
        assert_true(c.sigma_w2 > prev && c.q_star > 0.0);
        prev = c.sigma_w2;
    }
}

/* A user's plugin: tests/fixtures' fixture_act, phi = slope x, loaded from its own .so. */
static void test_user_plugin(void **state) {
    char err[FANIN_ERRLEN];
    assert_int_equal(fanin__registry_load(reg, FANIN_TEST_FIXTURE_DIR "/good.so", err, sizeof err),
                     FANIN_OK);
    const char *kv[] = {"slope=2.5"};
    fanin__critical c = solve("fixture_act", kv, 1, 0.0);
    assert_int_equal(c.status, FANIN_CRITICAL_ANY_Q);
    assert_close(c.sigma_w2, 1.0 / 6.25, 1e-6);
    c = solve("fixture_act", kv, 1, 0.1); /* linear with a bias: grows without bound */
    assert_int_equal(c.status, FANIN_CRITICAL_NONE);
}

/* The `critical` initializer's defaults are the solver's tanh point at sigma_b^2 = 0.05. */
static void test_initializer_default_is_tanh_point(void **state) {
    const fanin__entry *e = find_kind(FANIN_KIND_INITIALIZER, "critical");
    fanin_value p[MAX_PARAMS];
    params(e, p, NULL);
    fanin__critical c = solve("tanh", NULL, 0, p[1].f);
    assert_close(p[0].f, c.sigma_w2, 1e-5);
    float w[200 * 100], b[4000];
    fanin_tensor tw = {.data = w, .rows = 200, .cols = 100, .fan_in = 100, .fan_out = 200};
    fanin_tensor tb = {
        .data = b, .rows = 4000, .cols = 1, .fan_in = 100, .fan_out = 4000, .is_bias = 1};
    const fanin_initializer_vt *vt = e->plugin->vtable;
    fanin_ctx ctx;
    fanin_rng rng;
    double mean, std;
    fanin__ctx_init(&ctx, e, 1.0);
    fanin__rng_init(&rng, 5, 0, FANIN_STREAM_WEIGHT);
    assert_int_equal(vt->fill(&ctx, &tw, p, &rng), FANIN_OK);
    assert_int_equal(vt->fill(&ctx, &tb, p, &rng), FANIN_OK);
    double ss = 0, sb = 0;
    for (int i = 0; i < 20000; i++) ss += (double)w[i] * w[i];
    for (int i = 0; i < 4000; i++) sb += (double)b[i] * b[i];
    assert_close(sqrt(ss / 20000), sqrt(p[0].f / 100), 4 * sqrt(p[0].f / 100) / sqrt(40000.0));
    assert_close(sqrt(sb / 4000), sqrt(0.05), 4 * sqrt(0.05) / sqrt(8000.0));
    assert_int_equal(vt->moments(&ctx, &tb, p, &mean, &std), FANIN_OK);
    assert_close(std, sqrt(0.05), 1e-15);
}

/* The command: `fanin init-stats critical --activation tanh --bias-std 0.2236` prints the
 * solver's sigma_w^2 and q*; without --activation it is a usage error (exit 2). */
static void test_cli(void **state) {
    char line[512], out[4096] = "";
    FILE *p = popen(FANIN_TEST_BIN " init-stats critical --activation tanh --bias-std 0.2236 "
                                   "2>&1",
                    "r");
    assert_non_null(p);
    while (fgets(line, sizeof line, p)) strncat(out, line, sizeof out - strlen(out) - 1);
    assert_int_equal(pclose(p), 0);
    double sw2 = 0, q = 0;
    const char *a = strstr(out, "sigma_w^2 "), *b = strstr(out, "\nq* ");
    assert_true(a && b && sscanf(a + 10, "%lf", &sw2) == 1 && sscanf(b + 4, "%lf", &q) == 1);
    fanin__critical c = solve("tanh", NULL, 0, 0.2236 * 0.2236);
    assert_close(sw2, c.sigma_w2, 1e-5 * sw2);
    assert_close(q, c.q_star, 1e-5 * q);
    p = popen(FANIN_TEST_BIN " init-stats critical --bias-std 0.1 2>&1", "r");
    assert_non_null(p);
    out[0] = 0;
    while (fgets(line, sizeof line, p)) strncat(out, line, sizeof out - strlen(out) - 1);
    int st = pclose(p);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    assert_non_null(strstr(out, "critical needs --activation"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_numpy),
        cmocka_unit_test(test_closed_forms),
        cmocka_unit_test(test_user_plugin),
        cmocka_unit_test(test_initializer_default_is_tanh_point),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
