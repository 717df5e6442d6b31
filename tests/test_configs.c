/* Every configs/NAME.yaml validates, and each experiment's promised outcome holds on a reduced
 * version: at initialisation (one step) for seed.yaml, depth.yaml, fixup.yaml,
 * delta_orthogonal.yaml and he_conv.yaml, 100 steps for glorot.yaml (these need the
 * Fashion-MNIST package, tools/deps.sh, and are skipped without it); 250 steps at depth 32 for
 * orthogonal.yaml (synthetic data). */
#include "base/errors.h"
#include "config/experiment.h"
#include "engine/diag.h"
#include "plugin/registry.h"
#include "run/run.h"
#include "run/runset.h"

#include <stdio.h>
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "run_tests.h"


static void test_every_config_validates(void **state) {
    DIR *d = opendir(CONFIGS);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml")) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", CONFIGS, e->d_name);
        fanin_config *c;
        assert_int_equal(fanin__config_load(&c, path, err, sizeof err), FANIN_OK);
        int rc = fanin__config_validate(c, reg, err, sizeof err);
        if (rc != FANIN_OK) fprintf(stderr, "%s: %s\n", path, err);
        assert_int_equal(rc, FANIN_OK);
        fanin__config_free(c);
        n++;
    }
    closedir(d);
    assert_true(n >= 3);
}

/* Run CONFIGS/name with the overrides into a fresh folder and read it back. */
static void run(fanin__runset *s, const char *name, const char *const *sets) {
    if (strcmp(name, "orthogonal.yaml") && access(FMNIST, R_OK) != 0) skip();
    char dir[256];
    run_config(config_file(name, sets), "configs", dir, s);
}

static const fanin__run_view *find(const fanin__runset *s, const char *label) {
    for (int i = 0; i < s->n_runs; i++)
        if (!strcmp(s->runs[i].label, label)) return &s->runs[i];
    fail_msg("no run labelled %s", label);
    return NULL;
}

/* seed.yaml at initialisation: zeros symmetric, std 0.01 vanishing, std 1.0 pre-activations of
 * std 14-170 and a saturated sigmoid, fan-in scaled schemes healthy. */
static void test_seed_at_init(void **state) {
    const char *sets[] = {"train.iterations=1", NULL};
    fanin__runset s;
    run(&s, "seed.yaml", sets);
    assert_int_equal(s.n_runs, 6);
    assert_true(find(&s, "zeros")->flags & FANIN_V_SYMMETRIC);
    assert_true(find(&s, "normal(std=0.01)")->flags & FANIN_V_VANISHING);
    const fanin__run_view *big = find(&s, "normal(std=1)");
    assert_true(big->flags & FANIN_V_SATURATED);
    const fanin__layer_stats *s0 = fanin__run_stats_at(big, false);
    for (int l = 0; l < 4; l++) assert_true(s0[l].preact_std > 5 && s0[l].preact_std < 200);
    assert_true(big->figs.initial_loss > 8 && big->figs.initial_loss < 41);
    /* one step cannot lower the cost much, so "stalled" may be said; nothing else */
    unsigned bad = FANIN_V_VANISHING | FANIN_V_EXPLODING | FANIN_V_SATURATED | FANIN_V_SYMMETRIC;
    assert_false(find(&s, "he_normal")->flags & bad);
    assert_false(find(&s, "lecun_normal")->flags & bad);
    fanin__runset_deinit(&s);
}

/* depth.yaml at initialisation: Xavier's activation std shrinks ~0.71x per ReLU layer, He's
 * stays level. */
static void test_depth_at_init(void **state) {
    const char *sets[] = {"data.train=128", "data.test=64", "train.epochs=1", NULL};
    fanin__runset s;
    run(&s, "depth.yaml", sets);
    const fanin__run_view *x = find(&s, "xavier_normal"), *he = find(&s, "he_normal");
    assert_true(fabs(x->figs.act_factor0 - sqrt(0.5)) < 0.08);
    assert_true(fabs(he->figs.act_factor0 - 1.0) < 0.1);
    assert_true(x->flags & FANIN_V_VANISHING);
    fanin__runset_deinit(&s);
}

/* The std of dL/dZ at layer `to` over layer `from` (1-based), iteration 0. */
static double dz_growth(const fanin__run_view *r, int from, int to) {
    const fanin__layer_stats *s0 = fanin__run_stats_at(r, false);
    return s0[to - 1].dz_std / s0[from - 1].dz_std;
}

/* glorot.yaml on 1000 images (100 steps): tanh's activations shrink ~x0.58 per layer under
 * torch_default, which is not healthy and blames the weights (tanh's gain 5/3), and stay
 * level under xavier_uniform; the back-propagated gradient grows ~9x from layer 1 to 5 under
 * torch_default and ~1.5x under xavier_uniform (PyTorch: 9.3-9.9x, 1.5-1.65x); sigmoid with
 * xavier_uniform vanishes and the activation, not the weights, is blamed. */
static void test_glorot_at_init(void **state) {
    const char *sets[] = {"data.train=1000", "data.test=100", NULL};
    fanin__runset s;
    run(&s, "glorot.yaml", sets);
    const fanin__run_view *td = find(&s, "tanh torch_default"),
                          *tx = find(&s, "tanh xavier_uniform");
    assert_true(fabs(td->figs.act_factor0 - 0.58) < 0.08);
    assert_true(td->flags & FANIN_V_SHRINKING);
    assert_non_null(strstr(td->verdict, "too small for their fan-in"));
    assert_false(tx->flags & (FANIN_V_SHRINKING | FANIN_V_VANISHING));
    assert_true(dz_growth(td, 1, 5) > 6 && dz_growth(td, 1, 5) < 14);
    assert_true(dz_growth(tx, 1, 5) > 1.1 && dz_growth(tx, 1, 5) < 2.2);
    const fanin__run_view *sx = find(&s, "sigmoid xavier_uniform");
    assert_true(sx->flags & FANIN_V_VANISHING);
    assert_non_null(strstr(sx->verdict, "not the weights"));
    assert_null(strstr(sx->verdict, "too small for their fan-in"));
    fanin__runset_deinit(&s);
}

/* orthogonal.yaml at depth 32 for 250 steps: orthogonal reaches 1% of its initial loss (at
 * ~200 in the full run), Gaussian N(0, 1/32) does not (it never does at this depth). */
static void test_orthogonal_depth32(void **state) {
    const char *sets[] = {"train.iterations=250", "sweep.model.layers.0.repeat=[32]", NULL};
    fanin__runset s;
    run(&s, "orthogonal.yaml", sets);
    assert_int_equal(s.n_runs, 2);
    const fanin__run_view *o = find(&s, "32 orthogonal");
    const fanin__run_view *g = find(&s, "32 normal(std=0.1767766953)");
    assert_true(o->figs.iters_to_1pct > 100 && o->figs.iters_to_1pct <= 250);
    assert_true(isnan(g->figs.iters_to_1pct));
    assert_true(g->final_loss > 0.05 * g->figs.initial_loss);
    fanin__runset_deinit(&s);
}

/* The run of sweep member m. */
static const fanin__run_view *member(const fanin__runset *s, int m) {
    for (int i = 0; i < s->n_runs; i++)
        if (s->runs[i].member == m) return &s->runs[i];
    fail_msg("no run of member %d", m);
    return NULL;
}

/* fixup.yaml at initialisation (one step on 128 images): the residual stream's std grows
 * ~x1.73 (sqrt 3) per block under plain He (x4e7 over 32 blocks in PyTorch), stays level
 * under Fixup and ReZero (every block starts as the identity), and grows slowly (~sqrt(depth))
 * with a BatchNorm closing each branch. */
static void test_fixup_at_init(void **state) {
    const char *sets[] = {"data.train=128", "data.test=64", "train.epochs=1", NULL};
    fanin__runset s;
    run(&s, "fixup.yaml", sets);
    assert_int_equal(s.n_runs, 4);
    const fanin__run_view *plain = member(&s, 0), *fixup = member(&s, 1), *rezero = member(&s, 2),
                          *bn = member(&s, 3);
    assert_int_equal(plain->figs.n_blocks, 32);
    assert_true(plain->figs.act_factor0 > 1.6 && plain->figs.act_factor0 < 1.85);
    assert_true(plain->flags & FANIN_V_EXPLODING);
    assert_true(fabs(fixup->figs.act_factor0 - 1.0) < 0.01);
    assert_true(fabs(rezero->figs.act_factor0 - 1.0) < 0.01);
    assert_true(bn->figs.act_factor0 > 1.02 && bn->figs.act_factor0 < 1.1);
    /* not VANISHING: the zero classifier stops every gradient at iteration 0, which the
     * verdict reads as vanishing gradients (in all four) */
    assert_false(fixup->flags & (FANIN_V_EXPLODING | FANIN_V_DIVERGED));
    assert_false(rezero->flags & (FANIN_V_EXPLODING | FANIN_V_DIVERGED));
    fanin__runset_deinit(&s);
}

/* delta_orthogonal.yaml at initialisation (one step on 64 images): through 34 tanh conv layers
 * the delta-orthogonal net keeps its activation std (x0.98 per layer) and passes the gradient
 * back (layer 1 gets ~0.007 of the output layer's), while Gaussian weights of the same variance
 * (lecun_normal) pass ~10x less and are called vanishing. */
static void test_delta_orthogonal_at_init(void **state) {
    const char *sets[] = {"data.train=64", "data.test=64", "train.epochs=1", NULL};
    fanin__runset s;
    run(&s, "delta_orthogonal.yaml", sets);
    const fanin__run_view *d = find(&s, "delta_orthogonal"), *g = find(&s, "lecun_normal");
    assert_true(fabs(d->figs.act_factor0 - 1.0) < 0.05);
    assert_false(d->flags & (FANIN_V_VANISHING | FANIN_V_EXPLODING | FANIN_V_SHRINKING));
    assert_true(g->flags & FANIN_V_VANISHING);
    assert_true(g->figs.grad_ratio0 < 0.3 * d->figs.grad_ratio0);
    fanin__runset_deinit(&s);
}

/* he_conv.yaml at initialisation (one step on 64 images): through 30 ReLU conv layers Xavier's
 * activation std shrinks ~x0.67 per layer (ReLU halves the variance; the zero padding of 14x14
 * maps takes a little more) and layer 1's gradient is ~1e-6 of the output's; He's stays about
 * level and its gradient arrives. */
static void test_he_conv_at_init(void **state) {
    const char *sets[] = {"data.train=64", "data.test=64", "train.epochs=1", NULL};
    fanin__runset s;
    run(&s, "he_conv.yaml", sets);
    const fanin__run_view *x = find(&s, "xavier_normal"), *he = find(&s, "he_normal");
    assert_true(x->figs.act_factor0 > 0.6 && x->figs.act_factor0 < 0.72);
    assert_true(he->figs.act_factor0 > 0.85 && he->figs.act_factor0 < 1.1);
    assert_true(x->flags & FANIN_V_VANISHING);
    assert_false(he->flags & (FANIN_V_VANISHING | FANIN_V_EXPLODING));
    assert_true(he->figs.grad_ratio0 > 1000 * x->figs.grad_ratio0);
    fanin__runset_deinit(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_config_validates),
        cmocka_unit_test(test_seed_at_init),
        cmocka_unit_test(test_depth_at_init),
        cmocka_unit_test(test_glorot_at_init),
        cmocka_unit_test(test_orthogonal_depth32),
        cmocka_unit_test(test_fixup_at_init),
        cmocka_unit_test(test_delta_orthogonal_at_init),
        cmocka_unit_test(test_he_conv_at_init),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
