/* Per-layer diagnostics (diag.c): the statistics of hand-checkable layers, and layers.csv /
 * histograms.csv written by a tiny run, recorded only on the iterations asked for; the layer
 * kinds' columns (kind, block, alpha, running statistics) of residual nets, and their stream
 * growing under plain He and level under ReZero. */
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
             "diagnostics: {layer_stats_every: 10}\n",
             act, init);
    return buf;
}

/* Run the config into a fresh folder; returns the folder (static). */
static const char *run(const char *text) {
    static char dir[256];
    snprintf(dir, sizeof dir, "/tmp/fanin-test-diag-XXXXXX");
    assert_non_null(mkdtemp(dir));
    fanin_config *c;
    assert_int_equal(fanin__config_parse(&c, "t.yaml", text, strlen(text), err, sizeof err),
                     FANIN_OK);
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

/* A residual MLP on moons: a stem, `blocks` blocks of two dense 64 layers (the second
 * linear) with `scale`, a batchnorm and the output; iteration 0 and the last recorded. */
static const char *residual_yaml(int blocks, const char *scale) {
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "name: r\nseed: 3\ndata: {source: synthetic, kind: moons, n: 300, noise: 0.1, "
             "train: 200, test: 100}\nmodel:\n  defaults: {activation: relu, init: he_normal}\n"
             "  layers:\n    - {units: 64}\n    - type: residual\n      repeat: %d\n"
             "      scale: %s\n      layers: [{units: 64}, {units: 64, activation: linear}]\n"
             "    - {type: batchnorm}\n    - {units: 1, activation: sigmoid}\nloss: bce\n"
             "optimizer: {name: sgd, lr: 0.01}\ntrain: {iterations: 5, batch: full, "
             "log_every: 1}\n",
             blocks, scale);
    return buf;
}

/* The rows of kind `kind` at iteration 0 into out (at most max); how many. */
static int rows_of(const fanin__run_view *r, const char *kind, const fanin__layer_stats **out,
                   int max) {
    const fanin__layer_stats *s0 = fanin__run_stats_at(r, false);
    int n = 0;
    for (int l = 0; l < r->n_layers && n < max; l++)
        if (!strcmp(s0[l].kind, kind)) out[n++] = &s0[l];
    return n;
}

/* layers.csv's kind, block, alpha and running statistics; under plain He the residual stream
 * grows by about sqrt(3) per block (each block adds a branch of twice its input's variance:
 * He's gain 2 on the linear last layer), so the verdict names a growing residual stream. */
static void test_residual_stream_rows(void **state) {
    fanin__runset s;
    load(&s, run(residual_yaml(6, "1")));
    const fanin__run_view *r = &s.runs[0];
    assert_int_equal(r->n_layers, 1 + 6 * 4 + 2);
    const fanin__layer_stats *open[8], *close[8], *bn[2];
    assert_int_equal(rows_of(r, "residual_open", open, 8), 6);
    assert_int_equal(rows_of(r, "residual_close", close, 8), 6);
    assert_int_equal(rows_of(r, "batchnorm", bn, 2), 1);
    assert_string_equal(fanin__run_stats_at(r, false)[0].kind, "dense");
    assert_int_equal(fanin__run_stats_at(r, false)[0].block, 0);
    for (int b = 0; b < 6; b++) {
        assert_int_equal(open[b]->block, b + 1);
        assert_int_equal(close[b]->block, b + 1);
        assert_true(close[b]->alpha == 1 && isnan(open[b]->alpha));
        double g = close[b]->act_std / open[b]->act_std; /* ~sqrt(3) */
        assert_true(g > 1.3 && g < 2.2);
    }
    /* batchnorm: running mean and variance moved from 0 and 1 by the step's batch */
    assert_true(isfinite(bn[0]->running_mean) && bn[0]->running_mean != 0);
    assert_true(bn[0]->running_var > 0 && bn[0]->running_var != 1);
    assert_true(isnan(close[0]->running_mean));
    assert_int_equal(r->figs.n_blocks, 6);
    assert_true(r->figs.branch_ratio0 > 1 && r->figs.branch_ratio0 < 2);
    assert_true(r->flags & (FANIN_V_GROWING | FANIN_V_EXPLODING));
    assert_non_null(strstr(r->verdict, "residual stream"));
    assert_non_null(strstr(r->verdict, "per block"));
    fanin__runset_deinit(&s);
}

/* ReZero: every block starts as the identity (alpha 0), the stream is level. */
static void test_rezero_stream_level(void **state) {
    fanin__runset s;
    load(&s, run(residual_yaml(6, "rezero")));
    const fanin__run_view *r = &s.runs[0];
    const fanin__layer_stats *open[8], *close[8];
    assert_int_equal(rows_of(r, "residual_close", close, 8), 6);
    assert_int_equal(rows_of(r, "residual_open", open, 8), 6);
    for (int b = 0; b < 6; b++) {
        assert_true(close[b]->alpha == 0);
        assert_true(fabs(close[b]->act_std / open[0]->act_std - 1) < 1e-5);
    }
    assert_true(fabs(r->figs.act_factor0 - 1) < 1e-5);
    assert_false(r->flags & (FANIN_V_GROWING | FANIN_V_EXPLODING));
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
        cmocka_unit_test(test_residual_stream_rows),
        cmocka_unit_test(test_rezero_stream_level),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
