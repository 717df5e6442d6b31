/* The views of a sweep in report.html: one line per configuration (the runs that differ only by
 * a seed), the mean over its runs with a min-max band, in the training-curve and depth charts;
 * the compared figure against one swept axis with error bars, or a heatmap over two. With many
 * configurations only the best and the worst few are coloured, the others grey, so a
 * 1,000-run sweep stays readable and small. What each picture shows: docs/report.md.
 */
#include "engine/diag.h"
#include "run/report.h"
#include "run/runset.h"

#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POINTS 200 /* a curve's points at most: longer logs are thinned evenly */

/* ---- which configurations are drawn in colour ---- */

bool fanin__report_shown(const fanin__runset *s, int rank) {
    int half = FANIN_REPORT_MAX_SHOWN / 2;
    return s->n_groups <= FANIN_REPORT_MAX_SHOWN || rank < half || rank >= s->n_groups - half;
}

/* rank_of[j] := the place of group j in the ranking (best 0). Caller frees. */
static int *ranks(const fanin__runset *s) {
    int *order = malloc(sizeof *order * (size_t)(s->n_groups + 1));
    int *rank = malloc(sizeof *rank * (size_t)(s->n_groups + 1));
    if (order && rank) {
        fanin__groups_ranked(s, order);
        for (int i = 0; i < s->n_groups; i++) rank[order[i]] = i;
    }
    free(order);
    if (!order) {
        free(rank);
        return NULL;
    }
    return rank;
}

static bool in_group(const fanin__runset *s, int j, int i) { return s->runs[i].group_index == j; }

/* ---- one line per configuration ---- */

/* A configuration's line: mean over its runs of y(run, k) at k = 0..n-1 (x from its first
 * run), and the min and max (a band) when it has several runs. Values that are not finite are
 * left out; a point no run has is NaN. */
typedef double (*value_fn)(const fanin__run_view *r, int k, double *x, bool blocks);

typedef struct line {
    double *x, *y, *lo, *hi;
    int n;
} line;

static bool line_alloc(line *l, int n) {
    l->n = n;
    l->x = calloc((size_t)(4 * (n > 0 ? n : 1)), sizeof(double));
    if (!l->x) return false;
    l->y = l->x + n, l->lo = l->y + n, l->hi = l->lo + n;
    return true;
}

/* Group j's line over the points k = 0, step, 2 step, ... < n of value v. */
static int group_line(const fanin__runset *s, int j, int n, value_fn v, bool blocks, line *l) {
    int step = n > MAX_POINTS ? (n + MAX_POINTS - 1) / MAX_POINTS : 1, m = (n + step - 1) / step;
    if (!line_alloc(l, m)) return 0;
    for (int p = 0; p < m; p++) {
        int k = p * step, cnt = 0;
        double sum = 0, lo = INFINITY, hi = -INFINITY, x = NAN;
        v(&s->runs[s->groups[j].first], k, &l->x[p], blocks);
        for (int i = 0; i < s->n_runs; i++) {
            if (!in_group(s, j, i)) continue;
            double y = v(&s->runs[i], k, &x, blocks);
            if (!isfinite(y) || x != l->x[p]) continue;
            sum += y, cnt++;
            lo = fmin(lo, y), hi = fmax(hi, y);
        }
        l->y[p] = cnt ? sum / cnt : NAN;
        l->lo[p] = cnt ? lo : NAN;
        l->hi[p] = cnt ? hi : NAN;
    }
    return s->groups[j].n_runs;
}

/* One chart of every configuration's line of v (n(r): the points of run r). */
static void group_chart(FILE *f, const fanin__runset *s, const fanin__chart *c, value_fn v,
                        int (*n_of)(const fanin__run_view *r, bool blocks), bool blocks) {
    fanin__series *se = calloc((size_t)(s->n_groups + 1), sizeof *se);
    line *ln = calloc((size_t)(s->n_groups + 1), sizeof *ln);
    int *rank = ranks(s);
    for (int j = 0; se && ln && rank && j < s->n_groups; j++) {
        const fanin__run_view *r = &s->runs[s->groups[j].first];
        int runs = group_line(s, j, n_of(r, blocks), v, blocks, &ln[j]);
        se[j] = (fanin__series){.name = r->group,
                                .x = ln[j].x,
                                .y = ln[j].y,
                                .n = ln[j].n,
                                .color = j,
                                .markers = ln[j].n <= 12 && ln[j].n > 0};
        if (runs > 1) se[j].lo = ln[j].lo, se[j].hi = ln[j].hi;
        se[j].muted = !fanin__report_shown(s, rank[j]);
        if (se[j].muted) se[j].lo = se[j].hi = NULL, se[j].markers = false;
    }
    if (se && ln && rank) fanin__svg_chart(f, c, se, s->n_groups);
    for (int j = 0; ln && j < s->n_groups; j++) free(ln[j].x);
    free(se), free(ln), free(rank);
}

/* ---- training curves ---- */

static int n_metrics(const fanin__run_view *r, bool blocks) {
    (void)blocks;
    return r->n_metrics;
}

static double loss_at(const fanin__run_view *r, int k, double *x, bool blocks) {
    (void)blocks;
    *x = k < r->n_metrics ? (double)r->metrics[k].iteration : NAN;
    return k < r->n_metrics ? r->metrics[k].loss : NAN;
}

static double test_at(const fanin__run_view *r, int k, double *x, bool blocks) {
    (void)blocks;
    *x = k < r->n_metrics ? (double)r->metrics[k].iteration : NAN;
    return k < r->n_metrics ? r->metrics[k].test_acc : NAN;
}

/* A sentence on what a grey line is, when some are. */
static void muted_note(FILE *f, const fanin__runset *s) {
    if (s->n_groups > FANIN_REPORT_MAX_SHOWN)
        fprintf(f,
                " With %d configurations, the best %d and the worst %d (by the figure of "
                "&ldquo;How sure?&rdquo;) are coloured and named; the others are the thin "
                "grey lines.",
                s->n_groups, FANIN_REPORT_MAX_SHOWN / 2, FANIN_REPORT_MAX_SHOWN / 2);
}

void fanin__report_curves(FILE *f, const fanin__runset *s) {
    fprintf(f, "<h2>Training curves</h2><p class='note'>Loss of each logged iteration's forward "
               "pass, and test accuracy, one line per configuration: the mean over its runs, "
               "with a shaded band from the lowest to the highest run when it has several.");
    muted_note(f, s);
    fprintf(f, "</p><div class='row'>\n");
    fanin__chart c = {.title = "Loss",
                      .xlabel = "iteration",
                      .ylabel = "loss",
                      .width = 560,
                      .height = 330,
                      .ylog = -1,
                      .integer_x = true,
                      .legend = true};
    group_chart(f, s, &c, loss_at, n_metrics, false);
    c.title = "Test accuracy", c.ylabel = "test accuracy", c.ylog = 0;
    group_chart(f, s, &c, test_at, n_metrics, false);
    fprintf(f, "</div>\n");
}

/* ---- against depth: layers, or blocks for residual nets ---- */

/* The row of run r at x position k of the depth charts: layer k+1, or for residual nets the
 * stream entering block 1 (k = 0: its open) and after block k (its close). */
static const fanin__layer_stats *depth_row(const fanin__run_view *r, bool last, int k,
                                           bool by_block) {
    const fanin__layer_stats *st = fanin__run_stats_at(r, last);
    if (!st) return NULL;
    if (!by_block) return k < r->n_layers ? &st[k] : NULL;
    for (int l = 0; l < r->n_layers; l++) {
        bool open = !strcmp(st[l].kind, "residual_open"),
             close = !open && !strcmp(st[l].kind, "residual_close");
        if ((k == 0 && open && st[l].block == 1) || (k > 0 && close && st[l].block == k))
            return &st[l];
    }
    return NULL;
}

static int n_depth(const fanin__run_view *r, bool by_block) {
    return by_block ? r->figs.n_blocks + 1 : r->n_layers;
}

static double act0(const fanin__run_view *r, int k, double *x, bool by_block) {
    const fanin__layer_stats *s = depth_row(r, false, k, by_block);
    *x = by_block ? k : k + 1;
    return s ? s->act_std : NAN;
}

static double act1(const fanin__run_view *r, int k, double *x, bool by_block) {
    const fanin__layer_stats *s = depth_row(r, true, k, by_block);
    *x = by_block ? k : k + 1;
    return s ? s->act_std : NAN;
}

static double dz0(const fanin__run_view *r, int k, double *x, bool by_block) {
    const fanin__layer_stats *s = depth_row(r, false, k, by_block);
    *x = by_block ? k : k + 1;
    return s && (!by_block || k > 0) ? s->dz_std : NAN;
}

/* ||dL/dW|| of layer k+1, or of block k's weights together: sqrt(sum of their squares). */
static double gnorm0(const fanin__run_view *r, int k, double *x, bool by_block) {
    const fanin__layer_stats *st = fanin__run_stats_at(r, false);
    *x = by_block ? k : k + 1;
    if (!st) return NAN;
    if (!by_block) return k < r->n_layers ? st[k].grad_norm : NAN;
    double ss = 0;
    int n = 0;
    for (int l = 0; k > 0 && l < r->n_layers; l++)
        if (st[l].block == k && isfinite(st[l].grad_norm))
            ss += st[l].grad_norm * st[l].grad_norm, n++;
    return n ? sqrt(ss) : NAN;
}

/* Every run with statistics is a residual net: the depth charts follow blocks. */
static bool all_residual(const fanin__runset *s) {
    int n = 0;
    for (int i = 0; i < s->n_runs; i++) {
        if (!s->runs[i].n_stats) continue;
        if (s->runs[i].figs.n_blocks < 1) return false;
        n++;
    }
    return n > 0;
}

/* Range of act_std over both snapshots of every run, so the two depth charts share an axis:
 * decades when it spans more than two, else 0, 0 (each chart decides). */
static void act_range(const fanin__runset *s, bool by_block, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = 0;
    for (int i = 0; i < s->n_runs; i++)
        for (int k = 0; k < n_depth(&s->runs[i], by_block); k++) {
            double x,
                v[2] = {act0(&s->runs[i], k, &x, by_block), act1(&s->runs[i], k, &x, by_block)};
            for (int t = 0; t < 2; t++)
                if (v[t] > 0 && isfinite(v[t])) *lo = fmin(*lo, v[t]), *hi = fmax(*hi, v[t]);
        }
    if (*hi > 0 && *hi / *lo > 100) {
        *lo = pow(10, floor(log10(*lo)));
        *hi = pow(10, ceil(log10(*hi)));
    } else {
        *lo = *hi = 0;
    }
}

static const char depth_note[] =
    "<p class='note'>Standard deviation of each layer's outputs over a training batch, straight "
    "after initialisation and at the end, one line per configuration (the mean over its runs, "
    "with a min-max band when it has several). A line falling by a constant factor per layer "
    "is the vanishing-activation signature; a level line is what fan-in scaling aims for. On a "
    "log axis a run whose values are exactly 0 (a zero init) has no line.";

static const char block_note[] =
    "<p class='note'>Residual networks: the x axis is the block. The std of the residual stream "
    "entering block 1 (0) and after each block, straight after initialisation and at the end. "
    "Each block adds its branch's output to the stream: with branches as large as their input "
    "(plain He init) the std grows by a constant factor per block (x1.73 = sqrt 3 for a "
    "Linear-ReLU-Linear branch); with normalised branches it grows like the square root of the number of "
    "blocks; with Fixup or ReZero it starts level.";

void fanin__report_depth(FILE *f, const fanin__runset *s) {
    double lo, hi;
    bool by_block = all_residual(s);
    const char *xl = by_block ? "block" : "layer";
    act_range(s, by_block, &lo, &hi);
    fprintf(f, "<h2>Activation std against depth</h2>%s", by_block ? block_note : depth_note);
    muted_note(f, s);
    fprintf(f, "</p><div class='row'>\n");
    fanin__chart c = {.title = "Iteration 0 (after initialisation)",
                      .xlabel = xl,
                      .ylabel = by_block ? "residual stream std" : "activation std",
                      .width = 560,
                      .height = 330,
                      .ylog = hi > 0 ? 1 : -1,
                      .integer_x = true,
                      .ymin = lo,
                      .ymax = hi,
                      .legend = true};
    group_chart(f, s, &c, act0, n_depth, by_block);
    c.title = "End of training";
    group_chart(f, s, &c, act1, n_depth, by_block);
    fprintf(f,
            "</div>\n<h2>Gradients against depth</h2><p class='note'>At iteration 0: the "
            "norm of each %s weight gradient ||dL/dW||, and the std of the gradient "
            "back-propagated to its %s dL/dZ. Falling towards the input: vanishing; rising: "
            "exploding.</p><div class='row'>\n",
            by_block ? "block's (its branch's weights together)" : "layer's",
            by_block ? "output (the stream after the block)" : "pre-activations");
    fanin__chart g = {.title = "Weight gradient norm, iteration 0",
                      .xlabel = xl,
                      .ylabel = "||dL/dW||",
                      .width = 560,
                      .height = 330,
                      .ylog = -1,
                      .integer_x = true,
                      .legend = true};
    group_chart(f, s, &g, gnorm0, n_depth, by_block);
    g.title = "Back-propagated gradient, iteration 0", g.ylabel = "std of dL/dZ";
    group_chart(f, s, &g, dz0, n_depth, by_block);
    fprintf(f, "</div>\n");
}
