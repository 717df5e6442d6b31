/* Per-layer diagnostics (diag.c): the statistics of hand-checkable layers, and layers.csv /
 * histograms.csv written by a tiny run, recorded only on the iterations asked for. */
#include "base/errors.h"
#include "config/experiment.h"
#include "engine/diag.h"
#include "plugin/registry.h"
#include "run/run.h"
#include "run/runset.h"

#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static fanin_registry *reg;
static char err[FANIN_ERRLEN];

static const char *yaml(const char *init, const char *act) {
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "name: t\nseed: 3\ndata: {source: synthetic, kind: moons, n: 200, noise: 0.1, "
             "train: 100, test: 100}\nmodel:\n  defaults: {activation: %s, init: %s}\n"
             "  layers: [{units: 8}, {units: 6}, {units: 1, activation: sigmoid}]\nloss: bce\n"
             "optimizer: {name: sgd, lr: 0.1}\ntrain: {iterations: 25, batch: full, log_every: 5}\n"
             "diagnostics: {layer_stats_every: 10}\n", act, init);
    return buf;
}

/* Run the config into a fresh folder; returns the folder (static). */
static const char *run(const char *text) {
    static char dir[256];
    snprintf(dir, sizeof dir, "/tmp/fanin-test-diag-XXXXXX");
    assert_non_null(mkdtemp(dir));
    fanin_config *c;
    assert_int_equal(fanin__config_parse(&c, "t.yaml", text, strlen(text), err, sizeof err), FANIN_OK);
    fanin__runner rn = {.config = c, .reg = reg, .out_dir = dir};
    int rc = fanin__run(&rn, err, sizeof err);
    if (rc != FANIN_OK) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, FANIN_OK);
    fanin__runner_deinit(&rn);
    fanin__config_free(c);
    return dir;
}

static void load(fanin__runset *s, const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    memset(s, 0, sizeof *s);
    assert_int_equal(fanin__runset_add_summary(s, path, err, sizeof err), FANIN_OK);
    fanin__runset_finish(s);
    assert_int_equal(s->n_runs, 1);
}

static void test_rows_at_requested_iterations(void **state) {
    fanin__runset s;
    load(&s, run(yaml("he_normal", "relu")));
    const fanin__run_view *r = &s.runs[0];
    assert_int_equal(r->n_layers, 3);
    /* iterations 0, 10, 20 and the last (24): 4 blocks of 3 layers */
    assert_int_equal(r->n_stats, 12);
    int64_t want[] = {0, 10, 20, 24};
    for (int i = 0; i < 4; i++) assert_int_equal(r->stats[3 * i].iteration, want[i]);
    const fanin__layer_stats *s0 = fanin__run_stats_at(r, false);
    assert_int_equal(s0[0].units, 8);
    assert_int_equal(s0[0].fan_in, 2);
    assert_string_equal(s0[0].activation, "relu");
    assert_true(isnan(s0[0].saturated_frac)); /* relu is unbounded */
    assert_true(s0[2].saturated_frac >= 0 && s0[2].saturated_frac <= 1);
    assert_true(s0[0].act_std > 0 && s0[0].grad_norm > 0 && s0[0].weight_std > 0);
    assert_true(s0[0].update_ratio > 0 && s0[0].update_ratio < 1);
    assert_true(s0[0].row_spread > 0);
    /* he_normal: weight std ~ sqrt(2/fan_in) */
    assert_true(fabs(s0[1].weight_std - sqrt(2.0 / 8)) < 0.2);
    assert_int_equal(r->n_hist, 6); /* first and last, 3 layers each */
    int64_t total = 0;
    for (int b = 0; b < FANIN_HIST_BINS; b++) total += r->hist[0].count[b];
    assert_int_equal(total, 100 * 8); /* every activation of the batch binned */
    fanin__runset_deinit(&s);
}

static void test_zero_init_is_symmetric_and_dead(void **state) {
    fanin__runset s;
    load(&s, run(yaml("zeros", "relu")));
    const fanin__run_view *r = &s.runs[0];
    const fanin__layer_stats *s1 = fanin__run_stats_at(r, true);
    for (int l = 0; l < 2; l++) {
        assert_true(s1[l].weight_std == 0 && s1[l].grad_norm == 0);
        assert_true(s1[l].row_spread == 0);
        assert_true(s1[l].dead_frac == 1);
    }
    assert_true(r->flags & FANIN_V_SYMMETRIC);
    assert_non_null(strstr(r->verdict, "only the output bias learns"));
    fanin__runset_deinit(&s);
}

static void test_saturation_of_tanh(void **state) {
    fanin__runset s;
    load(&s, run(yaml("{name: normal, std: 30.0}", "tanh")));
    const fanin__layer_stats *s0 = fanin__run_stats_at(&s.runs[0], false);
    assert_true(s0[0].saturated_frac > 0.5);
    assert_true(s.runs[0].flags & FANIN_V_SATURATED);
    fanin__runset_deinit(&s);
}

static void test_act_bounds(void **state) {
    double lo, hi;
    assert_true(fanin__act_bounds("sigmoid", &lo, &hi) && lo == 0 && hi == 1);
    assert_true(fanin__act_bounds("softsign", &lo, &hi) && lo == -1 && hi == 1);
    assert_false(fanin__act_bounds("relu", &lo, &hi));
}

static int setup(void **state) {
    const char *dirs[] = {FANIN_TEST_PLUGIN_DIR};
    return fanin__registry_new(&reg, dirs, 1, err, sizeof err);
}

static int teardown(void **state) {
    fanin__registry_free(reg);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_at_requested_iterations),
        cmocka_unit_test(test_zero_init_is_symmetric_and_dead),
        cmocka_unit_test(test_saturation_of_tanh),
        cmocka_unit_test(test_act_bounds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
