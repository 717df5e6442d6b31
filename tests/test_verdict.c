/* The verdict in words (verdict.c) on hand-made statistics: each rule fires on its pattern and
 * only then; thresholds as docs/diagnostics.md states them. And the groups' statistics
 * (groups.c) on hand-made run sets: mean, std, Student-t intervals, the test set's standard
 * error, the sentences on overlap, and data_seed as a seed axis. */
#include "engine/diag.h"
#include "run/runset.h"
#include "run/verdict.h"

#include <stdio.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A 4-layer run (3 hidden relu + sigmoid output), two snapshots, with activation std
 * act0 * f^l at iteration 0, dz std dz0 * g^(3-l), all else healthy. */
static void make(fanin__run_view *r, fanin__layer_stats *st, double f, double g) {
    memset(r, 0, sizeof *r);
    snprintf(r->status, sizeof r->status, "done");
    r->n_layers = 4;
    r->n_stats = 8;
    r->stats = st;
    for (int k = 0; k < 8; k++) {
        fanin__layer_stats *s = &st[k];
        int l = k % 4;
        memset(s, 0, sizeof *s);
        s->iteration = k < 4 ? 0 : 100;
        s->layer = l + 1;
        s->units = l == 3 ? 1 : 10;
        s->fan_in = 10;
        snprintf(s->activation, sizeof s->activation, "%s", l == 3 ? "sigmoid" : "relu");
        s->act_std = pow(f, l);
        s->preact_std = s->act_std;
        s->act_mean = 0.5;
        s->dz_std = pow(g, 3 - l);
        s->grad_norm = 1;
        s->weight_std = 0.3;
        s->row_spread = 1;
        s->saturated_frac = l == 3 ? 0.01 : NAN;
    }
    static fanin__metric_row m[2] = {{0, 0.69, NAN, NAN}, {100, 0.3, NAN, NAN}};
    r->metrics = m;
    r->n_metrics = 2;
    r->final_loss = 0.3;
}

static void test_healthy(void **state) {
    fanin__run_view r;
    fanin__layer_stats st[8];
    make(&r, st, 1.0, 0.5);
    fanin__verdict(&r);
    assert_int_equal(r.flags, FANIN_V_HEALTHY);
    assert_non_null(strstr(r.verdict, "Healthy"));
}

static void test_vanishing(void **state) {
    fanin__run_view r;
    fanin__layer_stats st[8];
    make(&r, st, 0.03, 0.01); /* x0.03 per layer; gradient at layer 1 is 1e-6 of the output's */
    r.final_loss = 0.689;
    fanin__verdict(&r);
    assert_true(r.flags & FANIN_V_VANISHING);
    assert_true(r.flags & FANIN_V_STALLED);
    assert_false(r.flags & FANIN_V_HEALTHY);
    assert_non_null(strstr(r.verdict, "shrink x0.03 per layer"));
    assert_true(fabs(r.figs.grad_ratio0 - 1e-6) < 1e-9);
}

static void test_exploding_and_saturated(void **state) {
    fanin__run_view r;
    fanin__layer_stats st[8];
    make(&r, st, 4.0, 1.0);
    st[3].saturated_frac = 0.9;
    fanin__verdict(&r);
    assert_true(r.flags & FANIN_V_EXPLODING);
    assert_true(r.flags & FANIN_V_SATURATED);
    assert_non_null(strstr(r.verdict, "90% of layer 4"));
}

static void test_dead(void **state) {
    fanin__run_view r;
    fanin__layer_stats st[8];
    make(&r, st, 1.0, 0.5);
    st[5].dead_frac = 0.75;
    fanin__verdict(&r);
    assert_int_equal(r.flags, FANIN_V_DEAD);
    assert_non_null(strstr(r.verdict, "75% of layer 2"));
}

static void test_symmetric_and_diverged(void **state) {
    fanin__run_view r;
    fanin__layer_stats st[8];
    make(&r, st, 1.0, 0.5);
    st[1].row_spread = st[5].row_spread = 0;
    snprintf(r.status, sizeof r.status, "diverged");
    fanin__verdict(&r);
    assert_true(r.flags & FANIN_V_SYMMETRIC);
    assert_true(r.flags & FANIN_V_DIVERGED);
    assert_non_null(strstr(r.verdict, "layer 2"));
}

/* A net of H hidden layers of `act` (width 256, fan_in 256, weight std wstd) and a linear
 * output of 10, two snapshots: activation std 0.6 f^l, dz std g^(H-l) at iteration 0. */
static void net(fanin__run_view *r, fanin__layer_stats *st, int H, const char *act, double wstd,
                double f, double g) {
    int L = H + 1;
    memset(r, 0, sizeof *r);
    snprintf(r->status, sizeof r->status, "done");
    r->n_layers = L;
    r->n_stats = 2 * L;
    r->stats = st;
    for (int k = 0; k < 2 * L; k++) {
        fanin__layer_stats *s = &st[k];
        int l = k % L;
        memset(s, 0, sizeof *s);
        s->iteration = k < L ? 0 : 1000;
        s->layer = l + 1;
        s->units = l == H ? 10 : 256;
        s->fan_in = 256;
        snprintf(s->activation, sizeof s->activation, "%s", l == H ? "linear" : act);
        s->act_std = s->preact_std = 0.6 * pow(f, l);
        s->act_mean = !strcmp(act, "sigmoid") ? 0.5 : 0;
        s->dz_std = pow(g, H - l);
        s->grad_norm = 1;
        s->weight_std = wstd;
        s->row_spread = 1;
        s->saturated_frac = NAN;
    }
    static fanin__metric_row m[2] = {{0, 2.30, NAN, NAN}, {1000, 0.5, NAN, NAN}};
    r->metrics = m;
    r->n_metrics = 2;
    r->final_loss = 0.5;
}

/* The loss rose from 2.32 to 3142: not "barely moved" but rose, and diverged (issue 16). */
static void test_loss_rose(void **state) {
    fanin__run_view r;
    fanin__layer_stats st[8];
    make(&r, st, 1.0, 0.5);
    fanin__metric_row m[3] = {{0, 2.32, NAN, NAN}, {50, 1.9, NAN, NAN}, {100, 3142, NAN, NAN}};
    r.metrics = m;
    r.n_metrics = 3;
    r.final_loss = 3142;
    fanin__verdict(&r);
    assert_true(r.flags & FANIN_V_ROSE);
    assert_false(r.flags & (FANIN_V_STALLED | FANIN_V_HEALTHY));
    assert_null(strstr(r.verdict, "barely moved"));
    assert_non_null(strstr(r.verdict, "The cost rose: 2.32 -> 3142 (x1354"));
    assert_non_null(strstr(r.verdict, "lowest 1.9 at iteration 50"));
    assert_non_null(strstr(r.verdict, "diverged"));
    m[2].loss = r.final_loss = 2.40; /* a small rise: rose, not diverged */
    fanin__verdict(&r);
    assert_true(r.flags & FANIN_V_ROSE);
    assert_null(strstr(r.verdict, "diverged"));
    m[2].loss = r.final_loss = 2.33; /* within 1%, after a dip to 1.9: fell and climbed back */
    fanin__verdict(&r);
    assert_int_equal(r.flags, FANIN_V_STALLED);
    assert_non_null(strstr(r.verdict, "ended where it started, 2.3200 -> 2.3300, after falling "
                                      "to 1.9 at iteration 50"));
    m[1].loss = 2.31; /* no dip: barely moved */
    fanin__verdict(&r);
    assert_non_null(strstr(r.verdict, "The cost barely moved: 2.3200 -> 2.3300"));
}

/* glorot.yaml's sigmoid with xavier_uniform: weight std x sqrt(fan_in) = 1 is sigmoid's gain,
 * so the vanishing gradient is the activation's (derivative <= 1/4, mean 0.5), not the
 * weights'; with std 0.01 weights it is the weights'. */
static void test_sigmoid_blames_activation(void **state) {
    fanin__run_view r;
    fanin__layer_stats st[12];
    net(&r, st, 5, "sigmoid", 1.0 / 16, 1.0, 0.1); /* gradient at layer 1: 1e-5 of the output's */
    fanin__verdict(&r);
    assert_true(r.flags & FANIN_V_VANISHING);
    assert_true(fabs(r.figs.weight_gain0 - 1.0) < 1e-9);
    assert_null(strstr(r.verdict, "too small for their fan-in"));
    assert_non_null(strstr(r.verdict, "not the weights"));
    assert_non_null(strstr(r.verdict, "at most 1/4"));
    assert_non_null(strstr(r.verdict, "mean ~0.5"));
    net(&r, st, 5, "sigmoid", 0.01, 1.0, 0.1);
    fanin__verdict(&r);
    assert_non_null(strstr(r.verdict, "too small for their fan-in"));
}

/* tanh shrinking x0.58 per layer (x0.11 over five layers) under torch_default's
 * U(+-1/sqrt(fan_in)) is not healthy: the weights are small for tanh's gain 5/3. */
static void test_tanh_shrinking_not_healthy(void **state) {
    fanin__run_view r;
    fanin__layer_stats st[12];
    net(&r, st, 5, "tanh", 1 / sqrt(3.0 * 256), 0.58, 0.6);
    fanin__verdict(&r);
    assert_false(r.flags & FANIN_V_HEALTHY);
    assert_int_equal(r.flags, FANIN_V_SHRINKING);
    assert_non_null(strstr(r.verdict, "shrink x0.58 per layer"));
    assert_non_null(strstr(r.verdict, "too small for their fan-in"));
    assert_non_null(strstr(r.verdict, "1.7 keeps the scale: tanh's gain"));
    net(&r, st, 5, "tanh", 1 / sqrt(3.0 * 256), 1.3, 0.6); /* growing x1.3: not healthy either */
    fanin__verdict(&r);
    assert_int_equal(r.flags, FANIN_V_GROWING);
    net(&r, st, 5, "tanh", 1.0 / 16, 0.85, 0.6); /* x0.85: inside [0.8, 1.25] */
    fanin__verdict(&r);
    assert_int_equal(r.flags, FANIN_V_HEALTHY);
}

/* depth.yaml's Xavier under ReLU: weight std x sqrt(fan_in) = 1 is small for relu's sqrt 2;
 * He's sqrt 2 is right, so a shrink there is not blamed on the weights. */
static void test_relu_gain(void **state) {
    fanin__run_view r;
    fanin__layer_stats st[12];
    net(&r, st, 5, "relu", 1.0 / 16, 0.71, 0.6);
    fanin__verdict(&r);
    assert_int_equal(r.flags, FANIN_V_SHRINKING);
    assert_non_null(strstr(r.verdict, "too small for their fan-in"));
    assert_non_null(strstr(r.verdict, "He et al. 2015"));
    net(&r, st, 5, "relu", sqrt(2.0) / 16, 0.71, 0.6);
    fanin__verdict(&r);
    assert_non_null(strstr(r.verdict, "not the weights' scale"));
    assert_true(fabs(fanin__act_gain("tanh") - 5.0 / 3) < 1e-12);
    assert_true(isnan(fanin__act_gain("my_own")));
}

/* ---- groups ---- */

static fanin__run_view runs[8];

/* A hand-made set: keys {data_seed, init}, runs (init, data_seed, test_acc). */
static void runset(fanin__runset *s, const char *const *init, const double *acc, int n) {
    memset(s, 0, sizeof *s);
    memset(runs, 0, sizeof runs);
    s->runs = runs;
    s->n_runs = s->cap = n;
    s->n_keys = 2;
    snprintf(s->keys[0], sizeof s->keys[0], "data_seed");
    snprintf(s->keys[1], sizeof s->keys[1], "model.defaults.init");
    for (int i = 0; i < n; i++) {
        fanin__run_view *r = &runs[i];
        r->member = i;
        snprintf(r->id, sizeof r->id, "%02d", i);
        snprintf(r->status, sizeof r->status, "done");
        snprintf(r->values[0], sizeof r->values[0], "%d", i % 3 + 1);
        snprintf(r->values[1], sizeof r->values[1], "%s", init[i]);
        r->test_acc = acc[i];
        r->train_acc = acc[i] + 0.05;
        r->final_loss = 1 - acc[i];
        r->n_test = 1000;
    }
    fanin__runset_finish(s);
}

static void test_t_quantiles(void **state) {
    assert_true(fabs(fanin__t975(1) - 12.706) < 1e-9);
    assert_true(fabs(fanin__t975(2) - 4.303) < 1e-9);
    assert_true(fabs(fanin__t975(30) - 2.042) < 1e-9);
    /* beyond the table: 2.0211 at 40, 1.9840 at 100, 1.9600 in the limit */
    assert_true(fabs(fanin__t975(40) - 2.0211) < 5e-4);
    assert_true(fabs(fanin__t975(100) - 1.9840) < 5e-4);
    assert_true(fabs(fanin__t975(1000000) - 1.95996) < 1e-4);
    assert_true(isnan(fanin__t975(0)));
}

/* Two configurations x three data seeds: n, mean, std and the t interval per group; the test
 * set's binomial SE; data_seed is a seed axis; the intervals overlap, then they do not. */
static void test_groups_stats(void **state) {
    const char *init[] = {"he", "he", "he", "lecun", "lecun", "lecun"};
    const double acc[] = {0.80, 0.82, 0.78, 0.81, 0.79, 0.83};
    fanin__runset s;
    runset(&s, init, acc, 6);
    assert_int_equal(s.seed_key, 0);
    assert_int_equal(s.n_groups, 2);
    assert_string_equal(runs[0].group, "he");
    const fanin__stat *t = &s.groups[0].fig[FANIN_FIG_TEST];
    assert_int_equal(t->n, 3);
    assert_true(fabs(t->mean - 0.80) < 1e-12);
    assert_true(fabs(t->std - 0.02) < 1e-12);
    double half = 4.303 * 0.02 / sqrt(3.0); /* t(0.975, 2) s / sqrt(n) = 0.04969 */
    assert_true(fabs(t->lo - (0.80 - half)) < 1e-12 && fabs(t->hi - (0.80 + half)) < 1e-12);
    assert_true(fabs(s.groups[0].test_se - sqrt(0.8 * 0.2 / 1000)) < 1e-12);
    char text[1024];
    int order[2];
    fanin__groups_ranked(&s, order);
    assert_int_equal(order[0], 1); /* lecun's mean 0.81 first */
    assert_int_equal(fanin__groups_compare(&s, order[0], order[1], text, sizeof text), 1);
    assert_non_null(strstr(text, "lecun vs he: the 95% intervals of test_acc overlap"));
    assert_non_null(strstr(text, "within the noise"));
    const double apart[] = {0.80, 0.81, 0.79, 0.60, 0.61, 0.59};
    free(s.groups);
    runset(&s, init, apart, 6);
    assert_int_equal(fanin__groups_compare(&s, 0, 1, text, sizeof text), 0);
    assert_non_null(strstr(text, "do not overlap"));
    free(s.groups);
}

/* One run per configuration: the interval is the test set's, p +- 1.96 SE; no test size, none. */
static void test_groups_single_runs(void **state) {
    const char *init[] = {"he", "lecun"};
    const double acc[] = {0.834, 0.837};
    fanin__runset s;
    runset(&s, init, acc, 2);
    double lo, hi;
    assert_int_equal(fanin__group_interval(&s.groups[0], FANIN_FIG_TEST, &lo, &hi), 1);
    assert_true(fabs(hi - lo - 2 * 1.959964 * sqrt(0.834 * 0.166 / 1000)) < 1e-6);
    char text[1024];
    assert_int_equal(fanin__groups_compare(&s, 1, 0, text, sizeof text), 1);
    assert_non_null(strstr(text, "test set only"));
    for (int i = 0; i < 2; i++) runs[i].n_test = 0;
    fanin__groups_make(&s);
    assert_int_equal(fanin__groups_compare(&s, 1, 0, text, sizeof text), -1);
    free(s.groups);
}

/* A residual net by hand: a stem, 4 blocks (open, dense relu, dense linear, close) and a
 * sigmoid output; the stream std x`grow` per block, its branch outputs as large as their
 * input. Two snapshots of 18 rows. */
static void make_residual(fanin__run_view *r, fanin__layer_stats *st, double grow) {
    const int L = 18;
    memset(r, 0, sizeof *r);
    snprintf(r->status, sizeof r->status, "done");
    r->n_layers = L;
    r->n_stats = 2 * L;
    r->stats = st;
    for (int k = 0; k < 2 * L; k++) {
        fanin__layer_stats *x = &st[k];
        int l = k % L, b = l >= 1 && l <= 16 ? (l - 1) / 4 + 1 : 0, at = l >= 1 ? (l - 1) % 4 : 0;
        const char *kinds[] = {"residual_open", "dense", "dense", "residual_close"};
        memset(x, 0, sizeof *x);
        x->iteration = k < L ? 0 : 100;
        x->layer = l + 1;
        x->block = b;
        x->units = l == L - 1 ? 1 : 32;
        x->fan_in = 32;
        snprintf(x->kind, sizeof x->kind, "%s", b ? kinds[at] : "dense");
        snprintf(x->activation, sizeof x->activation, "%s",
                 l == L - 1     ? "sigmoid"
                 : b && at == 1 ? "relu"
                                : "linear");
        x->act_std = b ? pow(grow, b - 1) * (at == 3 ? grow : 1) : 1;
        x->preact_std = x->act_std;
        x->dz_std = 1;
        x->alpha = b && at == 3 ? 1 : NAN;
        x->running_mean = x->running_var = NAN;
        bool w = !b || at == 1 || at == 2;
        x->weight_std = w ? sqrt(2.0 / 32) : NAN;
        x->grad_norm = w ? 1 : NAN;
        x->row_spread = w ? 1 : NAN;
        x->saturated_frac = l == L - 1 ? 0.01 : NAN;
    }
    static fanin__metric_row m[2] = {{0, 0.69, NAN, NAN}, {100, 0.3, NAN, NAN}};
    r->metrics = m;
    r->n_metrics = 2;
    r->final_loss = 0.3;
}

/* The stream x2.5 per block: an exploding residual stream, blamed on the residual sum (not on
 * the weights, which are He-scaled); dead units inside a branch are named by block. */
static void test_residual_stream_explodes(void **state) {
    fanin__run_view r;
    fanin__layer_stats st[36];
    make_residual(&r, st, 2.5);
    st[18 + 6].dead_frac = 0.8;  /* layer 7: block 2's first branch layer, at the end */
    st[18 + 10].dead_frac = 0.6; /* layer 11: block 3's */
    fanin__verdict(&r);
    assert_int_equal(r.figs.n_blocks, 4);
    assert_true(fabs(r.figs.act_factor0 - 2.5) < 1e-9);
    assert_true(fabs(r.figs.act_ratio0 - pow(2.5, 4)) < 1e-6);
    assert_true(r.flags & FANIN_V_EXPLODING);
    assert_non_null(strstr(r.verdict, "The residual stream's std grows x2.5 per block"));
    assert_non_null(strstr(r.verdict, "Exploding residual stream (std 39 after block 4)"));
    assert_non_null(strstr(r.verdict, "init: fixup, scale: rezero or skipinit"));
    assert_true(r.flags & FANIN_V_DEAD);
    assert_non_null(strstr(r.verdict, "80% of layer 7 (block 2's branch, layer 1 of 2)"));
    assert_non_null(strstr(r.verdict, "2 of 8 layers"));
    /* level stream (Fixup, ReZero at init): no change of scale is reported */
    make_residual(&r, st, 1.0);
    fanin__verdict(&r);
    assert_int_equal(r.flags, FANIN_V_HEALTHY);
    assert_non_null(strstr(r.verdict, "residual stream's std changes x1 per block"));
}

/* Rows without a weight (a norm between dense layers) leave the weight scale and the
 * activation factor to the dense layers. */
static void test_weightless_rows_skipped(void **state) {
    fanin__run_view r;
    fanin__layer_stats st[8];
    make(&r, st, 1.0, 0.5);
    for (int k = 0; k < 8; k++) snprintf(st[k].kind, sizeof st[k].kind, "dense");
    snprintf(st[1].kind, sizeof st[1].kind, "batchnorm"); /* layer 2 at iteration 0 */
    snprintf(st[5].kind, sizeof st[5].kind, "batchnorm");
    st[1].weight_std = st[5].weight_std = NAN;
    st[1].act_std = st[5].act_std = 50; /* not a hidden weight layer: ignored */
    fanin__verdict(&r);
    assert_true(isfinite(r.figs.weight_gain0));
    assert_true(fabs(r.figs.act_factor0 - 1) < 1e-9);
    assert_int_equal(r.flags, FANIN_V_HEALTHY);
}

/* Fixup's zero classifier: at iteration 0 no gradient reaches the hidden layers (dL/dA below
 * the readout is dL/dZ W = 0). Not vanishing: the gradient is judged at the first recorded
 * iteration after 0, or not at all when there is none. */
static void test_zero_readout_not_vanishing(void **state) {
    fanin__run_view r;
    fanin__layer_stats st[8];
    make(&r, st, 1.0, 0.5);
    st[3].weight_std = 0;
    st[3].update_ratio = NAN; /* W = 0 */
    for (int l = 0; l < 3; l++) st[l].dz_std = 0;
    fanin__verdict(&r);
    assert_false(r.flags & FANIN_V_VANISHING);
    assert_int_equal(r.flags, FANIN_V_HEALTHY);
    assert_non_null(strstr(r.verdict, "output layer starts at zero"));
    assert_non_null(strstr(r.verdict, "judged at iteration 100"));
    assert_true(fabs(r.figs.grad_ratio0 - 0.125) < 1e-12); /* 0.5^3 at iteration 100 */
    r.n_stats = 4;                                         /* iteration 0 only */
    fanin__verdict(&r);
    assert_false(r.flags & FANIN_V_VANISHING);
    assert_true(isnan(r.figs.grad_ratio0));
    assert_non_null(strstr(r.verdict, "the gradient is not judged"));
    r.n_stats = 8; /* a readout that is not zero: a zero gradient at layer 1 is vanishing */
    st[3].weight_std = 0.3;
    fanin__verdict(&r);
    assert_true(r.flags & FANIN_V_VANISHING);
}

/* Fixup's zero last branch layer: identical (zero) rows at iteration 0 and still at iteration
 * 1 (the zero classifier sent no gradient down at 0) is not symmetry; rows still identical at
 * a later iteration are. */
static void test_fixup_zero_layer_not_symmetric(void **state) {
    fanin__run_view r;
    fanin__layer_stats st[36];
    make_residual(&r, st, 1.0);
    for (int k = 0; k < 36; k += 18) {
        st[k + 2].weight_std = st[k + 2].row_spread = 0; /* layer 3: block 1's last dense */
        st[k + 2].update_ratio = NAN;
        for (int l = 0; l < 18; l++) st[k + l].iteration = k ? 1 : 0;
    }
    fanin__verdict(&r);
    assert_false(r.flags & FANIN_V_SYMMETRIC);
    for (int l = 18; l < 36; l++) st[l].iteration = 100; /* still equal at 100: symmetric */
    fanin__verdict(&r);
    assert_true(r.flags & FANIN_V_SYMMETRIC);
    assert_non_null(strstr(r.verdict, "layer 3"));
}

/* H conv layers of 16 channels on 4x4 maps (3x3, padding same: one zero above), a flatten
 * and a dense output: zero padding's share of the shrinking, from layers.csv's geometry. */
static void padded_net(fanin__run_view *r, fanin__layer_stats *st, int H, double f) {
    int L = H + 2;
    memset(r, 0, sizeof *r);
    snprintf(r->status, sizeof r->status, "done");
    r->n_layers = L;
    r->n_stats = 2 * L;
    r->stats = st;
    for (int k = 0; k < 2 * L; k++) {
        fanin__layer_stats *s = &st[k];
        int l = k % L;
        memset(s, 0, sizeof *s);
        s->iteration = k < L ? 0 : 100;
        s->layer = l + 1;
        bool conv = l < H;
        snprintf(s->kind, sizeof s->kind, "%s", conv ? "conv2d" : l == H ? "flatten" : "dense");
        if (conv) {
            s->channels = 16;
            s->kernel = 3;
            s->stride = 1;
            s->pad = 1;
        }
        s->units = l == H + 1 ? 10 : 256;
        s->fan_in = l == 0 ? 9 : conv ? 144 : 256;
        snprintf(s->activation, sizeof s->activation, "%s", conv ? "relu" : "linear");
        s->act_std = s->preact_std = pow(f, l < H ? l : H - 1);
        s->dz_std = 1;
        s->grad_norm = 1;
        s->weight_std = l == H ? NAN : sqrt(2.0 / s->fan_in); /* He: scaled right */
        s->row_spread = l == H ? NAN : 1;
        s->saturated_frac = NAN;
    }
    static fanin__metric_row m[2] = {{0, 2.3, NAN, NAN}, {100, 1.0, NAN, NAN}};
    r->metrics = m;
    r->n_metrics = 2;
    r->final_loss = 1.0;
}

static void test_zero_padding_share(void **state) {
    fanin__run_view r;
    fanin__layer_stats st[10];
    int map;
    /* one padded layer after the reference on a uniform 4x4 input: the mean over output
     * pixels of the share of non-padded taps, per axis (3 + 2 + 2 + 3... rows: 2/3, 1, 1, 2/3)
     * = 10/12, so the second moment's mean is (10/12)^2 and the std's factor 10/12 */
    padded_net(&r, st, 2, 0.75);
    assert_true(fabs(fanin__verdict_pad_ratio(st, 0, 1, &map) - 10.0 / 12) < 1e-12);
    assert_int_equal(map, 4);
    fanin__verdict(&r);
    assert_int_equal(r.flags, FANIN_V_SHRINKING);
    assert_non_null(strstr(r.verdict, "zero padding on small maps (down to 4x4) accounts for "
                                      "x0.83 per layer"));
    assert_non_null(strstr(r.verdict, "the rest is x0.9 per layer, level."));
    assert_null(strstr(r.verdict, "narrow"));
    assert_null(strstr(r.verdict, "input's scale"));
    /* two padded layers: the border's deficit spreads inwards, rows 2/3, 1, 1, 2/3 then
     * (2/3 + 1) / 3 = 5/9 and (2/3 + 1 + 1) / 3 = 8/9: mean 13/18, not (10/12)^2 */
    padded_net(&r, st, 3, 0.75);
    assert_true(fabs(fanin__verdict_pad_ratio(st, 0, 2, &map) - 13.0 / 18) < 1e-12);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthy),
        cmocka_unit_test(test_vanishing),
        cmocka_unit_test(test_exploding_and_saturated),
        cmocka_unit_test(test_dead),
        cmocka_unit_test(test_symmetric_and_diverged),
        cmocka_unit_test(test_loss_rose),
        cmocka_unit_test(test_sigmoid_blames_activation),
        cmocka_unit_test(test_tanh_shrinking_not_healthy),
        cmocka_unit_test(test_relu_gain),
        cmocka_unit_test(test_t_quantiles),
        cmocka_unit_test(test_groups_stats),
        cmocka_unit_test(test_groups_single_runs),
        cmocka_unit_test(test_residual_stream_explodes),
        cmocka_unit_test(test_weightless_rows_skipped),
        cmocka_unit_test(test_zero_readout_not_vanishing),
        cmocka_unit_test(test_fixup_zero_layer_not_symmetric),
        cmocka_unit_test(test_zero_padding_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
