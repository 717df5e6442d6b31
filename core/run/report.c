/* report.html: one self-contained page (inline CSS and SVG; no script, nothing fetched) from a
 * run set: the summary table and the verdicts, loss and accuracy curves, activation std and
 * gradients against depth, and per-layer activation histograms. What each picture shows:
 * docs/report.md. The charts themselves are drawn by report_svg.c.
 */
#include "run/report.h"
#include "base/errors.h"
#include "engine/diag.h"
#include "run/rundir.h"
#include "run/runset.h"

#include <fanin/fanin.h>

#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char css[] =
    "body{font-family:sans-serif;margin:24px;color:#222;max-width:1160px}"
    "h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;margin-top:32px;border-bottom:1px "
    "solid #ccc}p.note{color:#555;font-size:14px;margin:4px 0 10px}"
    "table{border-collapse:collapse;font-size:14px}td,th{padding:4px 10px;border-bottom:1px "
    "solid #ddd;text-align:right}td.l,th.l{text-align:left}tr.bad td{color:#b00}"
    ".swatch{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:middle}"
    ".verdict{margin:8px 0;font-size:14px;line-height:1.4}.flag{display:inline-block;padding:0 "
    "6px;margin-right:4px;border-radius:3px;font-size:12px;background:#eee}"
    ".flag.healthy{background:#d4f2dc}.flag.vanishing,.flag.exploding,.flag.diverged,"
    ".flag.symmetric,.flag.rose{background:#f8d0d0}.flag.saturated,.flag.dead,.flag.stalled,"
    ".flag.shrinking,.flag.growing{background:#fbe8c0}.row{display:flex;flex-wrap:wrap;gap:8px}"
    "svg text{font-family:sans-serif}.title{font-size:15px;font-weight:bold}"
    ".tick{font-size:11px;fill:#444}.label{font-size:13px;fill:#222}.legend{font-size:12px}"
    ".grid{stroke:#e4e4e4}.frame{fill:none;stroke:#888}.axis{stroke:#888}"
    ".htitle{font-size:12px}.hist{border:1px solid #eee}.runhist{margin:6px 0 14px}"
    "ul.sure{font-size:14px;line-height:1.4;padding-left:20px}";

/* ---- series from the run files ---- */

typedef struct series_buf {
    fanin__series s[64];
    double *mem;
    size_t used, cap;
    int n;
} series_buf;

static double *take(series_buf *b, size_t n) {
    if (b->used + n > b->cap) return NULL;
    double *p = b->mem + b->used;
    b->used += n;
    return p;
}

/* A series of the run's metrics: which 0 loss, 1 test accuracy. */
static void metric_series(series_buf *b, const fanin__run_view *r, int which, int color) {
    double *x = take(b, (size_t)r->n_metrics), *y = take(b, (size_t)r->n_metrics);
    if (!x || !y || b->n >= 64) return;
    for (int i = 0; i < r->n_metrics; i++) {
        x[i] = (double)r->metrics[i].iteration;
        y[i] = which ? r->metrics[i].test_acc : r->metrics[i].loss;
    }
    b->s[b->n++] = (fanin__series){r->label, x, y, r->n_metrics, color, false, false};
}

/* A statistic against depth: field 0 act_std, 1 grad_norm, 2 dz_std; at iteration 0 or last. */
static void depth_series(series_buf *b, const fanin__run_view *r, int field, bool last, int color) {
    const fanin__layer_stats *st = fanin__run_stats_at(r, last);
    int n = r->n_layers;
    double *x = take(b, (size_t)n), *y = take(b, (size_t)n);
    if (!st || !x || !y || b->n >= 64) return;
    for (int l = 0; l < n; l++) {
        x[l] = l + 1;
        y[l] = field == 0 ? st[l].act_std : field == 1 ? st[l].grad_norm : st[l].dz_std;
    }
    b->s[b->n++] = (fanin__series){r->label, x, y, n, color, false, n <= 12};
}

static void chart(FILE *f, const char *title, const char *xl, const char *yl, int w, int h,
                  int ylog, bool integer_x, series_buf *b, double ymin, double ymax) {
    fanin__chart c = {title, xl, yl, w, h, ylog, integer_x, ymin, ymax, true};
    fanin__svg_chart(f, &c, b->s, b->n);
    b->n = 0;
    b->used = 0;
}

/* Range of act_std over both snapshots of every run, so the two depth charts share an axis. */
static void act_range(const fanin__runset *s, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = 0;
    for (int i = 0; i < s->n_runs; i++)
        for (int k = 0; k < 2; k++) {
            const fanin__layer_stats *st = fanin__run_stats_at(&s->runs[i], k);
            for (int l = 0; st && l < s->runs[i].n_layers; l++)
                if (st[l].act_std > 0 && isfinite(st[l].act_std)) {
                    *lo = fmin(*lo, st[l].act_std);
                    *hi = fmax(*hi, st[l].act_std);
                }
        }
    if (*hi > 0 && *hi / *lo > 100) {
        *lo = pow(10, floor(log10(*lo)));
        *hi = pow(10, ceil(log10(*hi)));
    } else {
        *lo = *hi = 0; /* let each chart decide */
    }
}

static void curves(FILE *f, const fanin__runset *s, series_buf *b) {
    fprintf(f, "<h2>Training curves</h2><p class='note'>Loss of each logged iteration's forward "
               "pass, and test accuracy, for every run on shared axes.</p><div class='row'>\n");
    for (int i = 0; i < s->n_runs; i++) metric_series(b, &s->runs[i], 0, i);
    chart(f, "Loss", "iteration", "loss", 560, 330, -1, true, b, 0, 0);
    for (int i = 0; i < s->n_runs; i++) metric_series(b, &s->runs[i], 1, i);
    chart(f, "Test accuracy", "iteration", "test accuracy", 560, 330, 0, true, b, 0, 0);
    fprintf(f, "</div>\n");
}

static void depth(FILE *f, const fanin__runset *s, series_buf *b) {
    double lo, hi;
    act_range(s, &lo, &hi);
    fprintf(f, "<h2>Activation std against depth</h2><p class='note'>Standard deviation of each "
               "layer's outputs over a training batch, straight after initialisation and at the "
               "end. A line falling by a constant factor per layer is the vanishing-activation "
               "signature; a level line is what fan-in scaling aims for. On a log axis a run "
               "whose values are exactly 0 (a zero init) has no line.</p><div class='row'>\n");
    for (int i = 0; i < s->n_runs; i++) depth_series(b, &s->runs[i], 0, false, i);
    chart(f, "Iteration 0 (after initialisation)", "layer", "activation std", 560, 330,
          hi > 0 ? 1 : -1, true, b, lo, hi);
    for (int i = 0; i < s->n_runs; i++) depth_series(b, &s->runs[i], 0, true, i);
    chart(f, "End of training", "layer", "activation std", 560, 330, hi > 0 ? 1 : -1, true, b, lo,
          hi);
    fprintf(f, "</div>\n<h2>Gradients against depth</h2><p class='note'>At iteration 0: the "
               "norm of each layer's weight gradient ||dL/dW||, and the std of the gradient "
               "back-propagated to its pre-activations dL/dZ. Falling towards layer 1: "
               "vanishing; rising: exploding.</p><div class='row'>\n");
    for (int i = 0; i < s->n_runs; i++) depth_series(b, &s->runs[i], 1, false, i);
    chart(f, "Weight gradient norm, iteration 0", "layer", "||dL/dW||", 560, 330, -1, true, b, 0,
          0);
    for (int i = 0; i < s->n_runs; i++) depth_series(b, &s->runs[i], 2, false, i);
    chart(f, "Back-propagated gradient, iteration 0", "layer", "std of dL/dZ", 560, 330, -1, true,
          b, 0, 0);
    fprintf(f, "</div>\n");
}

/* Up to 8 layers, evenly spread, always the first and the last. */
static int pick_layers(int n, int *out) {
    int k = n < 8 ? n : 8;
    for (int i = 0; i < k; i++) out[i] = k > 1 ? (int)lround((double)i * (n - 1) / (k - 1)) : 0;
    return k;
}

static const fanin__hist *find_hist(const fanin__run_view *r, int layer, bool last) {
    const fanin__hist *best = NULL;
    for (int i = 0; i < r->n_hist; i++)
        if (r->hist[i].layer == layer + 1 &&
            (!best || (last ? r->hist[i].iteration > best->iteration
                            : r->hist[i].iteration < best->iteration)))
            best = &r->hist[i];
    return best;
}

static void histograms(FILE *f, const fanin__runset *s) {
    fprintf(f, "<h2>Activation histograms</h2><p class='note'>Per layer, the distribution of "
               "the outputs over a training batch at iteration 0 (blue) and at the end (orange), "
               "as in Glorot &amp; Bengio 2010, fig. 3-4. Each box has its own x range, printed "
               "under it (sigmoid: 0 to 1; tanh and softsign: -1 to 1). Click a run's name "
               "to show or hide its histograms.</p>\n");
    bool opened = false;
    for (int i = 0; i < s->n_runs; i++) {
        const fanin__run_view *r = &s->runs[i];
        if (!r->n_hist) continue;
        int layers[8], k = pick_layers(r->n_layers, layers);
        /* <details>: the reader chooses runs without a script; the first one starts open */
        fprintf(f,
                "<details class='runhist'%s><summary><b><span class='swatch' "
                "style='background:%s'></span>",
                opened ? "" : " open", fanin__svg_color(i));
        opened = true;
        fanin__html_text(f, r->label);
        fprintf(f, "</b></summary>");
        for (int last = 0; last < 2; last++) {
            fprintf(f, "<div class='row'>");
            for (int j = 0; j < k; j++) {
                const fanin__hist *h = find_hist(r, layers[j], last);
                if (!h || (last && h == find_hist(r, layers[j], false))) continue;
                char title[64];
                snprintf(title, sizeof title, "layer %d, iteration %lld", layers[j] + 1,
                         (long long)h->iteration);
                fanin__hist tmp = *h;
                fprintf(f, "<span style='--c:%d'>", last);
                fanin__svg_hist(f, title, last ? NULL : &tmp, last ? &tmp : NULL, 140, 96);
                fprintf(f, "</span>");
            }
            fprintf(f, "</div>\n");
        }
        fprintf(f, "</details>\n");
    }
}

static void pct(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "<td>%.2f%%</td>", 100 * v);
    else fprintf(f, "<td>-</td>");
}

/* Did any run's loss fall to 1% of its initial value? (then the table shows when) */
static bool any_reached(const fanin__runset *s) {
    for (int i = 0; i < s->n_runs; i++)
        if (isfinite(s->runs[i].figs.iters_to_1pct)) return true;
    return false;
}

/* The verdict's flags as coloured labels. */
static void flags(FILE *f, unsigned set) {
    for (unsigned b = 1; b <= FANIN_V_LAST; b <<= 1)
        if (set & b)
            fprintf(f, "<span class='flag %s'>%s</span>", fanin__verdict_flag_name(b),
                    fanin__verdict_flag_name(b));
}

static void table(FILE *f, const fanin__runset *s) {
    bool to1 = any_reached(s);
    fprintf(f, "<h2>Summary</h2><table><tr><th class='l'>run</th>");
    for (int k = 0; k < s->n_keys; k++) {
        fprintf(f, "<th class='l'>");
        fanin__html_text(f, s->keys[k]);
        fprintf(f, "</th>");
    }
    fprintf(f,
            "<th>initial loss</th><th>final loss</th><th>train</th><th>test</th>%s"
            "<th>iterations</th><th>seconds</th><th class='l'>status</th><th class='l'>verdict"
            "</th></tr>\n",
            to1 ? "<th title='first logged iteration with loss at most 1% "
                  "of the initial'>to 1% loss</th>"
                : "");
    for (int i = 0; i < s->n_runs; i++) {
        const fanin__run_view *r = &s->runs[i];
        bool bad = strcmp(r->status, "done") != 0;
        fprintf(f, "<tr%s><td class='l'><span class='swatch' style='background:%s'></span>",
                bad ? " class='bad'" : "", fanin__svg_color(i));
        fanin__html_text(f, r->id);
        fprintf(f, "</td>");
        for (int k = 0; k < s->n_keys; k++) {
            fprintf(f, "<td class='l'>");
            fanin__html_text(f, r->values[k]);
            fprintf(f, "</td>");
        }
        fprintf(f, "<td>%.4f</td><td>%.4f</td>", r->figs.initial_loss, r->final_loss);
        pct(f, r->train_acc);
        pct(f, r->test_acc);
        if (to1 && isfinite(r->figs.iters_to_1pct))
            fprintf(f, "<td>%.0f</td>", r->figs.iters_to_1pct);
        else if (to1) fprintf(f, "<td>never</td>");
        fprintf(f, "<td>%lld</td><td>%.1f</td><td class='l'>%s</td><td class='l'>",
                (long long)r->iterations, r->seconds, bad ? "DIVERGED" : r->status);
        flags(f, r->flags);
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n");
}

static void verdicts(FILE *f, const fanin__runset *s) {
    fprintf(f, "<h2>Verdicts</h2>\n");
    for (int i = 0; i < s->n_runs; i++) {
        fprintf(f, "<p class='verdict'><span class='swatch' style='background:%s'></span><b>",
                fanin__svg_color(i));
        fanin__html_text(f, s->runs[i].label);
        fprintf(f, "</b>: ");
        fanin__html_text(f, s->runs[i].verdict);
        fprintf(f, "</p>\n");
    }
}

/* ---- how sure: the configurations' statistics (run/groups.c) ---- */

/* One figure's two cells: mean ± std (the mean alone for one run) and the 95% interval: the
 * seeds', else for the test accuracy the test set's (in italics). */
static void stat_cells(FILE *f, const fanin__group *g, int fig) {
    const fanin__stat *st = &g->fig[fig];
    double lo, hi, k = fig == FANIN_FIG_LOSS ? 1 : 100;
    char a[48], b[64];
    if (k > 1) snprintf(a, sizeof a, "%.2f%%", k * st->mean);
    else snprintf(a, sizeof a, "%.4g", st->mean);
    if (!isfinite(st->mean)) fprintf(f, "<td>-</td>");
    else if (st->n < 2) fprintf(f, "<td>%s</td>", a);
    else fprintf(f, "<td>%s ± %.2g</td>", a, k * st->std);
    int kind = fanin__group_interval(g, fig, &lo, &hi);
    if (k > 1) snprintf(b, sizeof b, "%.2f, %.2f", k * lo, k * hi);
    else snprintf(b, sizeof b, "%.4g, %.4g", lo, hi);
    if (kind == 2) fprintf(f, "<td>[%s]</td>", b);
    else if (kind == 1)
        fprintf(f,
                "<td title='one run: the test set&apos;s interval, p ± 1.96 SE'><i>[%s]</i>"
                "</td>",
                b);
    else fprintf(f, "<td>-</td>");
}

static void groups_table(FILE *f, const fanin__runset *s, const int *order) {
    fprintf(f, "<table><tr><th class='l'>configuration</th><th>runs</th><th>final loss</th>"
               "<th>95%% interval</th><th>train</th><th>95%% interval</th><th>test</th>"
               "<th>95%% interval</th><th title='the test set&apos;s binomial standard error "
               "sqrt(p(1-p)/n_test)'>test SE</th><th>n_test</th></tr>\n");
    for (int i = 0; i < s->n_groups; i++) {
        const fanin__group *g = &s->groups[order[i]];
        fprintf(f, "<tr><td class='l'><span class='swatch' style='background:%s'></span>",
                fanin__svg_color(g->first));
        fanin__html_text(f, s->runs[g->first].group);
        int done = g->fig[FANIN_FIG_LOSS].n;
        if (done == g->n_runs) fprintf(f, "</td><td>%d</td>", done);
        else fprintf(f, "</td><td>%d of %d finished</td>", done, g->n_runs);
        for (int x = 0; x < FANIN_N_FIGS; x++) stat_cells(f, g, x);
        if (isfinite(g->test_se)) fprintf(f, "<td>%.2f%%</td>", 100 * g->test_se);
        else fprintf(f, "<td>-</td>");
        if (g->n_test > 0) fprintf(f, "<td>%lld</td></tr>\n", (long long)g->n_test);
        else fprintf(f, "<td>-</td></tr>\n");
    }
    fprintf(f, "</table>\n");
}

/* The compared figure's mean and interval per configuration, best at the top. */
static void groups_chart(FILE *f, const fanin__runset *s, const int *order) {
    int fig = fanin__groups_figure(s);
    fanin__interval *v = calloc((size_t)s->n_groups, sizeof *v);
    if (!v) return;
    for (int i = 0; i < s->n_groups; i++) {
        const fanin__group *g = &s->groups[order[i]];
        v[i] =
            (fanin__interval){s->runs[g->first].group, g->fig[fig].mean, NAN, NAN, g->first, false};
        v[i].dashed = fanin__group_interval(g, fig, &v[i].lo, &v[i].hi) == 1;
    }
    fanin__svg_intervals(f,
                         fig == FANIN_FIG_TEST ? "Test accuracy with its 95% interval"
                                               : "Final loss with its 95% interval",
                         fig == FANIN_FIG_TEST ? "test accuracy" : "final loss", v, s->n_groups,
                         fig == FANIN_FIG_TEST);
    free(v);
}

static void how_sure(FILE *f, const fanin__runset *s) {
    int *order = calloc((size_t)s->n_groups + 1, sizeof *order);
    if (!order || !s->n_groups) {
        free(order);
        return;
    }
    fanin__groups_ranked(s, order);
    fprintf(f, "<h2>How sure?</h2><p class='note'>One row per configuration: runs that differ "
               "only by a seed (<code>seed</code>, <code>data_seed</code>) are pooled. Each "
               "figure: the mean ± the sample std over its finished runs, and the 95%% "
               "confidence interval of the mean, mean ± t(0.975, n−1)·std/√n (Student t). Test "
               "SE is the test set's own binomial standard error √(p(1−p)/n_test): another test "
               "set of that size would move the accuracy about this much. A configuration with "
               "one run has no seed interval; the chart then draws the test set's, p ± 1.96 SE, "
               "dashed.</p>\n");
    groups_table(f, s, order);
    groups_chart(f, s, order);
    char text[1024];
    fprintf(f, "<ul class='sure'>");
    for (int i = 0; i + 1 < s->n_groups; i++)
        if (fanin__groups_compare(s, order[i], order[i + 1], text, sizeof text) >= 0) {
            fprintf(f, "<li>");
            fanin__html_text(f, text);
            fprintf(f, "</li>\n");
        }
    fprintf(f, "</ul>\n");
    free(order);
}

int fanin__report_write(const fanin__runset *s, const char *path, char *err, size_t errlen) {
    size_t cap = 0;
    for (int i = 0; i < s->n_runs; i++)
        cap += 2 * (size_t)(s->runs[i].n_metrics + s->runs[i].n_layers + 1);
    series_buf b = {.cap = cap + 16};
    b.mem = malloc(sizeof(double) * b.cap);
    FILE *f = b.mem ? fopen(path, "w") : NULL;
    if (!f) {
        free(b.mem);
        return fanin__errf(err, errlen, b.mem ? FANIN_EIO : FANIN_ENOMEM, "%s: %s", path,
                           b.mem ? strerror(errno) : "out of memory");
    }
    fprintf(f, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>fanin: ");
    fanin__html_text(f, s->name);
    fprintf(f, "</title><style>%s</style></head><body>\n<h1>", css);
    fanin__html_text(f, s->name);
    fprintf(f,
            "</h1><p class='note'>%d run%s. Written by fanin %s; every picture is drawn from "
            "the run folders' %s, %s, %s and %s.</p>\n",
            s->n_runs, s->n_runs == 1 ? "" : "s", fanin_version(),
            fanin__rundir_name(FANIN_RUNDIR_METRICS), fanin__rundir_name(FANIN_RUNDIR_LAYERS),
            fanin__rundir_name(FANIN_RUNDIR_HISTOGRAMS), fanin__rundir_name(FANIN_RUNDIR_CONFIG));
    table(f, s);
    how_sure(f, s);
    verdicts(f, s);
    curves(f, s, &b);
    depth(f, s, &b);
    histograms(f, s);
    fprintf(f, "</body></html>\n");
    free(b.mem);
    return fclose(f) == 0 ? FANIN_OK
                          : fanin__errf(err, errlen, FANIN_EIO, "%s: cannot write", path);
}
