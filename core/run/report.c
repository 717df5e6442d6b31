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

/* One run's histograms at up to 8 layers, iteration 0 and the last, in a <details> block. */
static void run_histograms(FILE *f, const fanin__run_view *r, int color, bool open) {
    int layers[8], k = pick_layers(r->n_layers, layers);
    fprintf(f,
            "<details class='runhist'%s><summary><b><span class='swatch' "
            "style='background:%s'></span>",
            open ? " open" : "", fanin__svg_color(color));
    fanin__html_text(f, r->group);
    fprintf(f, "</b> (run ");
    fanin__html_text(f, r->id);
    fprintf(f, ")</summary>");
    for (int last = 0; last < 2; last++) {
        fprintf(f, "<div class='row'>");
        for (int j = 0; j < k; j++) {
            const fanin__hist *h = find_hist(r, layers[j], last);
            if (!h || (last && h == find_hist(r, layers[j], false))) continue;
            char title[64];
            snprintf(title, sizeof title, "layer %d, iteration %lld", layers[j] + 1,
                     (long long)h->iteration);
            fanin__svg_hist(f, title, last ? NULL : h, last ? h : NULL, 140, 96);
        }
        fprintf(f, "</div>\n");
    }
    fprintf(f, "</details>\n");
}

/* Per configuration drawn in colour (fanin__report_shown), its first run's histograms. */
static void histograms(FILE *f, const fanin__runset *s, const int *order) {
    fprintf(f,
            "<h2>Activation histograms</h2><p class='note'>Per layer, the distribution of "
            "the outputs over a training batch at iteration 0 (blue) and at the end (orange), "
            "as in Glorot &amp; Bengio 2010, fig. 3-4, for the first run of each "
            "configuration%s. Each box has its own x range, printed under it (sigmoid: 0 to "
            "1; tanh and softsign: -1 to 1). Click a configuration's name to show or hide "
            "its histograms.</p>\n",
            s->n_groups > FANIN_REPORT_MAX_SHOWN ? " drawn in colour above" : "");
    bool opened = false;
    for (int i = 0; i < s->n_groups; i++) {
        const fanin__run_view *r = &s->runs[s->groups[order[i]].first];
        if (!r->n_hist || !fanin__report_shown(s, i)) continue;
        run_histograms(f, r, order[i], !opened); /* the first starts open */
        opened = true;
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

static void runs_header(FILE *f, const fanin__runset *s, bool to1) {
    fprintf(f,
            "<details%s><summary>%s %d run%s, one row each</summary><table><tr><th "
            "class='l'>run</th>",
            s->n_runs <= 12 ? " open" : "", s->n_runs > 1 ? "All" : "The", s->n_runs,
            s->n_runs > 1 ? "s" : "");
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
}

/* One run's row; a run that did not finish (diverged, crashed, ...) in red. */
static void run_row(FILE *f, const fanin__runset *s, const fanin__run_view *r, bool to1) {
    bool bad = strcmp(r->status, fanin__summary_status(FANIN_OK)) != 0;
    fprintf(f, "<tr%s><td class='l'><span class='swatch' style='background:%s'></span>",
            bad ? " class='bad'" : "", fanin__svg_color(r->group_index));
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
    if (to1 && isfinite(r->figs.iters_to_1pct)) fprintf(f, "<td>%.0f</td>", r->figs.iters_to_1pct);
    else if (to1) fprintf(f, "<td>never</td>");
    fprintf(f, "<td>%lld</td><td>%.1f</td><td class='l'>", (long long)r->iterations, r->seconds);
    fanin__html_text(f, r->status);
    fprintf(f, "</td><td class='l'>");
    flags(f, r->flags);
    fprintf(f, "</td></tr>\n");
}

/* Every run, one row each, in a <details> block (open for a dozen runs or fewer). */
static void runs_table(FILE *f, const fanin__runset *s) {
    bool to1 = any_reached(s);
    runs_header(f, s, to1);
    for (int i = 0; i < s->n_runs; i++) run_row(f, s, &s->runs[i], to1);
    fprintf(f, "</table></details>\n");
}

/* Per configuration: its first run's verdict, and when its runs disagree, which flags how
 * many of them earned (the configurations table shows them; summary.json every run's). */
static void verdicts(FILE *f, const fanin__runset *s, const int *order) {
    fprintf(f, "<h2>Verdicts</h2><p class='note'>The verdict of the first run of each "
               "configuration; every run's is in summary.json.</p>\n");
    for (int i = 0; i < s->n_groups; i++) {
        const fanin__group *g = &s->groups[order[i]];
        const fanin__run_view *r = &s->runs[g->first];
        fprintf(f, "<p class='verdict'><span class='swatch' style='background:%s'></span><b>",
                fanin__svg_color(order[i]));
        fanin__html_text(f, r->group);
        fprintf(f, "</b>");
        if (g->n_runs > 1) {
            fprintf(f, " (run ");
            fanin__html_text(f, r->id);
            fprintf(f, " of %d)", g->n_runs);
        }
        fprintf(f, ": ");
        fanin__html_text(f, r->verdict);
        fprintf(f, "</p>\n");
    }
}

/* The page's head and title line. */
static void head(FILE *f, const fanin__runset *s) {
    fprintf(f, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>fanin: ");
    fanin__html_text(f, s->name);
    fprintf(f, "</title><style>%s</style></head><body>\n<h1>", css);
    fanin__html_text(f, s->name);
    fprintf(f,
            "</h1><p class='note'>%d run%s in %d configuration%s. Written by fanin %s; every "
            "picture is drawn from the run folders' %s, %s, %s and %s.</p>\n",
            s->n_runs, s->n_runs == 1 ? "" : "s", s->n_groups, s->n_groups == 1 ? "" : "s",
            fanin_version(), fanin__rundir_name(FANIN_RUNDIR_METRICS),
            fanin__rundir_name(FANIN_RUNDIR_LAYERS), fanin__rundir_name(FANIN_RUNDIR_HISTOGRAMS),
            fanin__rundir_name(FANIN_RUNDIR_CONFIG));
}

/* "Summary": the configurations first (ranked), then every run in a collapsed block. */
static void summary(FILE *f, const fanin__runset *s, const int *order) {
    fprintf(f, "<h2>Summary</h2><p class='note'>One row per configuration, best first: runs "
               "that differ only by a seed (<code>seed</code>, <code>data_seed</code>) are "
               "pooled. Each figure: the mean ± the sample std over its finished runs with "
               "their lowest–highest under it, and the 95%% confidence interval of the mean, "
               "mean ± t(0.975, n−1)·std/√n (Student t). Test SE is the test set's own binomial "
               "standard error √(p(1−p)/n_test): another test set of that size would move the "
               "accuracy about this much.</p>\n");
    fanin__report_configurations(f, s, order);
    runs_table(f, s);
}

int fanin__report_write(const fanin__runset *s, const char *path, char *err, size_t errlen) {
    int *order = calloc((size_t)s->n_groups + 1, sizeof *order);
    FILE *f = order ? fopen(path, "w") : NULL;
    if (!f) {
        free(order);
        return fanin__errf(err, errlen, order ? FANIN_EIO : FANIN_ENOMEM, "%s: %s", path,
                           order ? strerror(errno) : "out of memory");
    }
    fanin__groups_ranked(s, order);
    head(f, s);
    summary(f, s, order);
    fanin__report_how_sure(f, s);
    fanin__report_axes(f, s);
    fanin__report_width(f, s);
    verdicts(f, s, order);
    fanin__report_curves(f, s);
    fanin__report_depth(f, s);
    histograms(f, s, order);
    fprintf(f, "</body></html>\n");
    free(order);
    return fclose(f) == 0 ? FANIN_OK
                          : fanin__errf(err, errlen, FANIN_EIO, "%s: cannot write", path);
}
