/* "How sure?" in report.html: the configurations' statistics (run/groups.c) as a table with
 * each figure's mean ± std and 95% interval, a dot-and-whisker chart of the compared figure,
 * and the sentences on which neighbouring configurations' intervals overlap. With many
 * configurations the chart keeps the best and the worst MAX_ROWS / 2 and the sentences the
 * first MAX_SENTENCES; groups.csv and summary.json have them all.
 */
#include "run/report.h"
#include "run/runset.h"

#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROWS 40      /* rows of the interval chart */
#define MAX_SENTENCES 30 /* comparison sentences */

/* One figure's two cells: mean ± std (the mean alone for one run) and the 95% interval: the
 * seeds', else for the test accuracy the test set's (in italics). */
static void stat_cells(FILE *f, const fanin__group *g, int fig) {
    const fanin__stat *st = &g->fig[fig];
    double lo, hi, k = fig == FANIN_FIG_LOSS ? 1 : 100;
    char a[48], b[64];
    if (k > 1) snprintf(a, sizeof a, "%.2f%%", k * st->mean);
    else snprintf(a, sizeof a, "%.4g", st->mean);
    double sd = st->std < 1e-9 * fabs(st->mean) ? 0 : st->std; /* rounding noise: 0 */
    if (!isfinite(st->mean)) fprintf(f, "<td>-</td>");
    else if (st->n < 2) fprintf(f, "<td>%s</td>", a);
    else if (k > 1)
        fprintf(f, "<td>%s ± %.2g<br><small>%.2f–%.2f</small></td>", a, k * sd, k * st->min,
                k * st->max);
    else fprintf(f, "<td>%s ± %.2g<br><small>%.4g–%.4g</small></td>", a, sd, st->min, st->max);
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

/* The verdicts' flags of group j's runs: "vanishing 3/5" (the count when not every run). */
static void group_flags(FILE *f, const fanin__runset *s, int j) {
    const fanin__group *g = &s->groups[j];
    for (unsigned b = 1; b <= FANIN_V_LAST; b <<= 1) {
        int n = 0;
        for (int i = 0; i < s->n_runs; i++)
            n += s->runs[i].group_index == j && (s->runs[i].flags & b);
        if (!n) continue;
        fprintf(f, "<span class='flag %s'>%s", fanin__verdict_flag_name(b),
                fanin__verdict_flag_name(b));
        if (n < g->n_runs) fprintf(f, " %d/%d", n, g->n_runs);
        fprintf(f, "</span>");
    }
}

void fanin__report_configurations(FILE *f, const fanin__runset *s, const int *order) {
    fprintf(f, "<table><tr><th class='l'>configuration</th><th>runs</th><th>final loss</th>"
               "<th>95%% interval</th><th>train</th><th>95%% interval</th><th>test</th>"
               "<th>95%% interval</th><th title='the test set&apos;s binomial standard error "
               "sqrt(p(1-p)/n_test)'>test SE</th><th>n_test</th><th class='l'>verdicts</th>"
               "</tr>\n");
    for (int i = 0; i < s->n_groups; i++) {
        const fanin__group *g = &s->groups[order[i]];
        fprintf(f, "<tr><td class='l'><span class='swatch' style='background:%s'></span>",
                fanin__svg_color(order[i]));
        fanin__html_text(f, s->runs[g->first].group);
        int done = g->fig[FANIN_FIG_LOSS].n;
        if (done == g->n_runs) fprintf(f, "</td><td>%d</td>", done);
        else fprintf(f, "</td><td>%d of %d finished</td>", done, g->n_runs);
        for (int x = 0; x < FANIN_N_FIGS; x++) stat_cells(f, g, x);
        if (isfinite(g->test_se)) fprintf(f, "<td>%.2f%%</td>", 100 * g->test_se);
        else fprintf(f, "<td>-</td>");
        if (g->n_test > 0) fprintf(f, "<td>%lld</td>", (long long)g->n_test);
        else fprintf(f, "<td>-</td>");
        fprintf(f, "<td class='l'>");
        group_flags(f, s, order[i]);
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n");
}

/* The compared figure's mean and interval per configuration, best at the top; with more than
 * MAX_ROWS configurations the best and the worst MAX_ROWS / 2. */
static void groups_chart(FILE *f, const fanin__runset *s, const int *order) {
    int fig = fanin__groups_figure(s), n = 0;
    fanin__interval *v = calloc((size_t)s->n_groups, sizeof *v);
    if (!v) return;
    for (int i = 0; i < s->n_groups; i++) {
        if (s->n_groups > MAX_ROWS && i >= MAX_ROWS / 2 && i < s->n_groups - MAX_ROWS / 2) continue;
        const fanin__group *g = &s->groups[order[i]];
        v[n] =
            (fanin__interval){s->runs[g->first].group, g->fig[fig].mean, NAN, NAN, order[i], false};
        v[n].dashed = fanin__group_interval(g, fig, &v[n].lo, &v[n].hi) == 1;
        n++;
    }
    if (n < s->n_groups)
        fprintf(f,
                "<p class='note'>The chart shows the best %d and the worst %d of the %d "
                "configurations.</p>\n",
                MAX_ROWS / 2, MAX_ROWS / 2, s->n_groups);
    fanin__svg_intervals(f,
                         fig == FANIN_FIG_TEST ? "Test accuracy with its 95% interval"
                                               : "Final loss with its 95% interval",
                         fig == FANIN_FIG_TEST ? "test accuracy" : "final loss", v, n,
                         fig == FANIN_FIG_TEST);
    free(v);
}

void fanin__report_how_sure(FILE *f, const fanin__runset *s) {
    int *order = calloc((size_t)s->n_groups + 1, sizeof *order);
    if (!order || !s->n_groups) {
        free(order);
        return;
    }
    fanin__groups_ranked(s, order);
    fprintf(f, "<h2>How sure?</h2><p class='note'>The compared figure of each configuration with "
               "its 95%% interval (the table above gives all three). A configuration with one "
               "run has no seed interval; the chart then draws the test set's, p ± 1.96 SE, "
               "dashed.</p>\n");
    groups_chart(f, s, order);
    char text[1024];
    fprintf(f, "<ul class='sure'>");
    int said = 0, more = 0;
    for (int i = 0; i + 1 < s->n_groups; i++)
        if (fanin__groups_compare(s, order[i], order[i + 1], text, sizeof text) >= 0) {
            if (said++ >= MAX_SENTENCES) {
                more++;
                continue;
            }
            fprintf(f, "<li>");
            fanin__html_text(f, text);
            fprintf(f, "</li>\n");
        }
    if (more) fprintf(f, "<li>... %d more comparisons in summary.json.</li>\n", more);
    fprintf(f, "</ul>\n");
    free(order);
}
