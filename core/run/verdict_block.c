/* The verdict's view of layer kinds: which rows carry a weight to judge, where a row sits in a
 * residual network (stem, a block's branch, the stream after a block), and the residual stream
 * itself: its std entering the first block and after each block, how much each block adds, and
 * why it explodes. The rules that call it: verdict.c; documented in docs/diagnostics.md
 * ("Residual networks"). Not the recording (engine/diag.c).
 */
#include "engine/diag.h"
#include "run/runset.h"
#include "run/verdict.h"

#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

bool fanin__verdict_has_weight(const fanin__layer_stats *s) {
    return !s->kind[0] || !strcmp(s->kind, "dense") || !strcmp(s->kind, "conv2d");
}

static bool is_kind(const fanin__layer_stats *s, const char *kind) {
    return !strcmp(s->kind, kind);
}

/* The rows of block b's open and close (-1 when absent). */
static void block_rows(const fanin__run_view *r, const fanin__layer_stats *st, int b, int *open,
                       int *close) {
    *open = *close = -1;
    for (int l = 0; l < r->n_layers; l++) {
        if (st[l].block != b) continue;
        if (is_kind(&st[l], "residual_open")) *open = l;
        if (is_kind(&st[l], "residual_close")) *close = l;
    }
}

/* The stream's std entering block 1 (its open's output, = its input) and after the last
 * block (the last close's output); per block, the factor between them; and the mean of
 * alpha * std(branch output) / std(block input) over the blocks. */
void fanin__verdict_stream_figs(fanin__run_view *r, const fanin__layer_stats *s0) {
    fanin__verdict_figs *g = &r->figs;
    int nb = 0, o, c;
    g->n_blocks = 0;
    g->branch_ratio0 = NAN;
    for (int l = 0; l < r->n_layers; l++) nb = s0[l].block > nb ? s0[l].block : nb;
    if (nb < 1) return;
    double in = NAN, out = NAN, sum = 0;
    int n = 0;
    for (int b = 1; b <= nb; b++) {
        block_rows(r, s0, b, &o, &c);
        if (o < 0 || c < 0) return; /* a broken file: judge it by layers */
        if (b == 1) in = s0[o].act_std;
        out = s0[c].act_std;
        double alpha = isfinite(s0[c].alpha) ? s0[c].alpha : 1;
        if (c - 1 > o && s0[o].act_std > 0)
            sum += fabs(alpha) * s0[c - 1].act_std / s0[o].act_std, n++;
    }
    g->n_blocks = nb;
    g->branch_ratio0 = n ? sum / n : NAN;
    g->act_ratio0 = in > 0 ? out / in : NAN;
    g->act_factor0 = pow(g->act_ratio0, 1.0 / nb);
}

const char *fanin__verdict_where(const fanin__run_view *r, const fanin__layer_stats *st, int l,
                                 char *buf, size_t len) {
    int b = st[l].block, o, c;
    if (b <= 0) {
        snprintf(buf, len, "layer %d", l + 1);
        return buf;
    }
    block_rows(r, st, b, &o, &c);
    if (l == c || l == o)
        snprintf(buf, len, "layer %d (the residual stream %s block %d)", l + 1,
                 l == c ? "after" : "entering", b);
    else if (o >= 0 && c > o)
        snprintf(buf, len, "layer %d (block %d's branch, layer %d of %d)", l + 1, b, l - o,
                 c - o - 1);
    else snprintf(buf, len, "layer %d (block %d)", l + 1, b);
    return buf;
}

/* Var(x + alpha F(x)) = Var(x) (1 + k^2) when F(x) is independent of x with std k std(x):
 * exponential in depth unless k shrinks with it (Zhang et al. 2019, sec. 2; Hanin & Rolnick
 * 2018). A normalised branch (std 1 whatever x) adds a constant instead: std ~ sqrt(depth)
 * (De & Smith 2020). */
void fanin__verdict_stream_cause(fanin__run_view *r, int dir) {
    char a[24], b[24];
    double k = r->figs.branch_ratio0;
    if (dir > 0 && isfinite(k)) {
        fanin__verdict_say(r,
                           "each block adds its branch's output alpha*F(x) to its input, and at "
                           "initialisation that output is %s times the input's std on average, "
                           "so the variance is multiplied by about 1 + %s^2 = %s per block. "
                           "Scale the branches down at initialisation: init: fixup, scale: "
                           "rezero or skipinit, or a zero gamma in each branch's last norm "
                           "(Zhang et al. 2019; Bachlechner et al. 2020; De & Smith 2020). ",
                           fanin__verdict_num(a, k), a, fanin__verdict_num(b, 1 + k * k));
        return;
    }
    fanin__verdict_say(r, "the residual stream's scale changes inside the blocks: look at the "
                          "blocks' activation after the sum and at their projections. ");
}
