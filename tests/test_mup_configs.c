/* configs/coord_check.yaml and configs/mutransfer.yaml (issue 12, item 4), each run reduced
 * through --set as tests/test_configs.c does, and their promised outcome asserted on the
 * verdicts' own numbers (core/run/verdict_width.c):
 *   coord_check: under standard with Adam the readout's mean |activation| grows with width after
 *     a few steps, under mup every layer's stays flat (log-log slope within +-0.25);
 *   mutransfer: under mup the best learning rate is the same at a narrow and a wide width,
 *     under standard it moves to a smaller one, and the narrow model's best rate costs the wide
 *     standard model more loss than the wide mup model.
 * Both need the Fashion-MNIST package (tools/deps.sh) and are skipped without it. */
#include "base/errors.h"
#include "config/experiment.h"
#include "plugin/registry.h"
#include "run/run.h"
#include "run/runset.h"

#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "run_tests.h"


static char dir[256]; /* the run folder of the test in progress */

/* Run CONFIGS/name with the overrides into a fresh folder (dir) and read it back. */
static void run(fanin__runset *s, const char *name, const char *const *sets) {
    if (access(FMNIST, R_OK) != 0) skip();
    run_config(config_file(name, sets), "mup", dir, s);
}

/* The run folder away (the 2048-wide models' files are ~85 MB). */
static void remove_dir(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* The panels named "model.parametrization=pz" (a failure when there is none). */
static bool is_pz(const char *name, const char *pz) {
    const char *k = "model.parametrization=";
    return !strncmp(name, k, strlen(k)) && !strcmp(name + strlen(k), pz);
}

static const fanin__coord_panel *coord(const fanin__width_view *w, const char *pz) {
    for (int i = 0; i < w->n_coord; i++)
        if (is_pz(w->coord[i].name, pz)) return &w->coord[i];
    fail_msg("no coordinate-check panel for %s", pz);
    return NULL;
}

static const fanin__lr_panel *lr(const fanin__width_view *w, const char *pz) {
    for (int i = 0; i < w->n_lr; i++)
        if (is_pz(w->lr[i].name, pz)) return &w->lr[i];
    fail_msg("no learning-rate panel for %s", pz);
    return NULL;
}

/* The largest |slope| of a coordinate-check panel. */
static double max_abs_slope(const fanin__coord_panel *p) {
    double m = 0;
    for (int l = 0; l < p->n_layers; l++) m = fmax(m, fabs(p->slope[l]));
    return m;
}

/* coord_check.yaml at widths 128, 512, 2048, one seed: after 5 Adam steps standard's readout
 * grows with width (slope 0.76 here; 0.52 over 64..2048 and seeds 1-3 in the full run, 0.43
 * in PyTorch) while every layer under mup stays within the flat band (0.09..0.19 here, at most
 * 0.14 in the full run, 0.11 in PyTorch). */
static void test_coord_check_reduced(void **state) {
    const char *sets[] = {"sweep.model.layers.0.units=[128, 512, 2048]", "sweep.seed=[1]", NULL};
    fanin__runset s;
    run(&s, "coord_check.yaml", sets);
    assert_int_equal(s.n_runs, 6);
    fanin__width_view *w = calloc(1, sizeof *w);
    assert_non_null(w);
    assert_int_equal(fanin__width_view_make(&s, w), FANIN_OK);
    assert_int_equal(w->n_coord, 2);
    const fanin__coord_panel *sp = coord(w, "standard"), *mup = coord(w, "mup");
    assert_int_equal(sp->n_widths, 3);
    assert_int_equal(sp->at, 5);
    assert_int_equal(sp->n_layers, 4);
    double sp_out = sp->slope[sp->n_layers - 1], mup_out = mup->slope[mup->n_layers - 1];
    if (sp->trend != 1 || mup->trend != 0)
        fail_msg("standard: %s; mup: %s", sp->verdict, mup->verdict);
    assert_true(sp_out > 0.35);
    assert_true(max_abs_slope(mup) < FANIN_COORD_FLAT);
    assert_true(sp_out > mup_out + 0.3);
    fanin__width_view_deinit(w);
    free(w);
    fanin__runset_deinit(&s);
    remove_dir();
}

/* The loss at learning rate lr of width index wi, NaN when not on the grid. */
static double loss_at(const fanin__lr_panel *p, int wi, double lr_) {
    for (int j = 0; j < p->n_lrs; j++)
        if (fabs(log2(p->lr[j]) - log2(lr_)) < 1e-6) return p->loss[(size_t)wi * p->n_lrs + j];
    return NAN;
}

/* mutransfer.yaml on 2048 images, 60 steps, widths 64 and 512, lr 2^-11, 2^-9, 2^-7, 2^-5,
 * one seed: mup's best lr is the same at both widths (2^-7), standard's moves to a smaller one
 * (2^-7 -> 2^-9), and the narrow model's best lr costs the wide standard model more over its
 * own minimum (24%) than it costs the wide mup model (0%). */
static void test_mutransfer_reduced(void **state) {
    const char *sets[] = {"sweep.model.layers.0.units=[64, 512]",
                          "sweep.optimizer.lr=[0.00048828125, 0.001953125, 0.0078125, 0.03125]",
                          "sweep.seed=[1]",
                          "data.train=2048",
                          "train.iterations=60",
                          NULL};
    fanin__runset s;
    run(&s, "mutransfer.yaml", sets);
    assert_int_equal(s.n_runs, 16);
    fanin__width_view *w = calloc(1, sizeof *w);
    assert_non_null(w);
    assert_int_equal(fanin__width_view_make(&s, w), FANIN_OK);
    assert_int_equal(w->n_lr, 2);
    const fanin__lr_panel *sp = lr(w, "standard"), *mup = lr(w, "mup");
    assert_int_equal(sp->n_widths, 2);
    assert_int_equal(sp->n_lrs, 4);
    if (!(mup->spread == 0) || !(sp->best[1] < sp->best[0]))
        fail_msg("standard: %s; mup: %s", sp->verdict, mup->verdict);
    /* the cost of transferring the narrow model's best lr to the wide model */
    double sp_cost = loss_at(sp, 1, sp->best[0]) / loss_at(sp, 1, sp->best[1]) - 1;
    double mup_cost = loss_at(mup, 1, mup->best[0]) / loss_at(mup, 1, mup->best[1]) - 1;
    if (!(sp_cost > 0.1) || !(mup_cost < 0.05))
        fail_msg("transfer cost: standard %.3f, mup %.3f", sp_cost, mup_cost);
    fanin__width_view_deinit(w);
    free(w);
    fanin__runset_deinit(&s);
    remove_dir();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coord_check_reduced),
        cmocka_unit_test(test_mutransfer_reduced),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
