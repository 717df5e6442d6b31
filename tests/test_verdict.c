/* The verdict in words (verdict.c) on hand-made statistics: each rule fires on its pattern and
 * only then; thresholds as docs/diagnostics.md states them. */
#include "engine/diag.h"
#include "run/runset.h"

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthy),
        cmocka_unit_test(test_vanishing),
        cmocka_unit_test(test_exploding_and_saturated),
        cmocka_unit_test(test_dead),
        cmocka_unit_test(test_symmetric_and_diverged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
