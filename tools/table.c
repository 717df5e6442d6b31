/* The comparison table printed after a run (or a merge): one row per configuration, best
 * first, runs that diverged last and marked. A configuration is a sweep member, or, when a
 * seed axis (seed, data_seed) is swept, the members that differ only by it: then each figure
 * is the mean with the half-width of its 95% confidence interval (run/groups.c). The test
 * set's binomial standard error beside the accuracy; then which differences are within the
 * noise (the first MAX_SENTENCES), and one verdict per configuration with the flags its runs
 * earned. */
#include "cli.h"
#include "run/runset.h"

#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SENTENCES 20 /* "how sure" sentences printed; summary.json has every one */

/* "0.300939" or "87.60%" for one run; "0.3009 ±0.0059" or "87.60 ±1.49%" for the mean of
 * several with the half-width of its 95% confidence interval. */
static void cell(FILE *f, const fanin__stat *st, bool percent, int width) {
    char b[64];
    double k = percent ? 100 : 1, h = fanin__t975(st->n - 1) * st->std / sqrt(st->n);
    if (isnan(st->mean)) snprintf(b, sizeof b, "-");
    else if (st->n < 2) snprintf(b, sizeof b, percent ? "%.2f%%" : "%.6f", k * st->mean);
    else snprintf(b, sizeof b, percent ? "%.2f ±%.2f%%" : "%.4f ±%.4f", k * st->mean, k * h);
    fprintf(f, " %*s", width + (strstr(b, "±") ? 1 : 0), b); /* ± is two bytes, one column */
}

/* Iterations to 1% of the initial loss: "never" when the run (or every run of the group) did
 * not get there; the mean and half-width over the runs that did. */
static void to1_cell(FILE *f, const fanin__stat *st, int width) {
    char b[64];
    if (isnan(st->mean)) snprintf(b, sizeof b, "never");
    else if (st->n < 2) snprintf(b, sizeof b, "%.0f", st->mean);
    else
        snprintf(b, sizeof b, "%.0f ±%.0f", st->mean,
                 fanin__t975(st->n - 1) * st->std / sqrt(st->n));
    fprintf(f, " %*s", width + (strstr(b, "±") ? 1 : 0), b);
}

/* The test set's standard error in percentage points, "-" when n_test is unknown. */
static void se_cell(FILE *f, const fanin__group *g, int width) {
    char b[32];
    if (isfinite(g->test_se)) snprintf(b, sizeof b, "%.2f%%", 100 * g->test_se);
    else snprintf(b, sizeof b, "-");
    fprintf(f, " %*s", width, b);
}

/* Does some configuration have a test set's standard error (a test accuracy and n_test)? */
static bool any_se(const fanin__runset *s) {
    for (int i = 0; i < s->n_groups; i++)
        if (isfinite(s->groups[i].test_se)) return true;
    return false;
}

/* One configuration's row. */
static void print_row(FILE *f, const fanin__runset *s, const fanin__group *g, bool grouped,
                      bool to1, int w) {
    const fanin__run_view *r = &s->runs[g->first];
    int wl = grouped ? 16 : 12, wa = grouped ? 14 : 9;
    fprintf(f, "%-4d %-*s", r->member, w, grouped ? r->group : r->label);
    if (grouped) fprintf(f, " %4d", g->n_runs);
    cell(f, &g->fig[FANIN_FIG_LOSS], false, wl);
    cell(f, &g->fig[FANIN_FIG_TRAIN], true, wa);
    cell(f, &g->fig[FANIN_FIG_TEST], true, wa);
    if (any_se(s)) se_cell(f, g, 7);
    if (to1) to1_cell(f, &g->to1, wl);
    fprintf(f, " %8.2f  ", g->seconds);
    if (g->n_diverged) fprintf(f, "DIVERGED%s\n", g->n_runs > 1 ? " (some)" : "");
    else fprintf(f, "%s\n", r->status);
}

/* The test set size the configurations share, or -1 when they differ (0: unknown). */
static int64_t common_n_test(const fanin__runset *s) {
    int64_t n = s->n_groups ? s->groups[0].n_test : 0;
    for (int i = 0; i < s->n_groups; i++)
        if (s->groups[i].n_test != n) return -1;
    return n;
}

/* What the ± and the test SE are, then a sentence per neighbouring pair of the ranking. */
static void print_noise(FILE *f, const fanin__runset *s, const int *order, bool grouped) {
    char text[1024];
    if (grouped)
        fprintf(f, "±: half-width of the 95%% confidence interval of the mean over the seeds "
                   "(Student t); std per figure in groups.csv.\n");
    bool single = false; /* a configuration with one finished run: no seed noise measured */
    for (int i = 0; i < s->n_groups; i++)
        single = single || s->groups[i].fig[FANIN_FIG_TEST].n == 1;
    if (any_se(s)) {
        int64_t n = common_n_test(s);
        fprintf(f, "test SE: the test set's own standard error sqrt(p(1-p)/n_test), n_test = ");
        if (n > 0) fprintf(f, "%lld", (long long)n);
        else fprintf(f, "as in groups.csv");
        fprintf(f, ": another test set of that size would move the accuracy about this much.\n");
        if (single)
            fprintf(f, "With one run, a test accuracy's 95%% interval is the test set's own, p ± "
                       "1.96 SE: the noise between seeds is not measured (sweep seed: [1, 2, 3] "
                       "for it).\n");
    }
    int said = 0, more = 0;
    for (int i = 0; i + 1 < s->n_groups; i++) {
        if (fanin__groups_compare(s, order[i], order[i + 1], text, sizeof text) < 0) continue;
        if (said >= MAX_SENTENCES) {
            more++;
            continue;
        }
        fprintf(f, "%s  %s\n", said++ ? "" : "\nhow sure:\n", text);
    }
    if (more) fprintf(f, "  ... %d more comparisons in summary.json\n", more);
}

void cli_print_table(FILE *f, const fanin__runset *s, const char *label_header) {
    bool grouped = s->seed_key >= 0, to1 = false; /* "to 1% loss" only when some run got there */
    int *order = calloc((size_t)s->n_groups + 1, sizeof *order);
    if (!order) return;
    fanin__groups_ranked(s, order);
    int w = (int)strlen(label_header);
    for (int i = 0; i < s->n_groups; i++) {
        const fanin__run_view *r = &s->runs[s->groups[i].first];
        const char *l = grouped ? r->group : r->label;
        if ((int)strlen(l) > w) w = (int)strlen(l);
        to1 = to1 || isfinite(s->groups[i].to1.mean);
    }
    int wl = grouped ? 16 : 12, wa = grouped ? 14 : 9;
    const char *pm = grouped ? " ±95%" : "";
    char h_loss[32], h_train[32], h_test[32];
    snprintf(h_loss, sizeof h_loss, "final loss%s", pm);
    snprintf(h_train, sizeof h_train, "train%s", pm);
    snprintf(h_test, sizeof h_test, "test%s", pm);
    int extra = grouped ? 1 : 0; /* ± is two bytes, one column */
    fprintf(f, "\n%-4s %-*s%s %*s %*s %*s", "#", w, label_header, grouped ? " runs" : "",
            wl + extra, h_loss, wa + extra, h_train, wa + extra, h_test);
    if (any_se(s)) fprintf(f, " %7s", "test SE");
    if (to1) fprintf(f, " %*s", wl, "to 1% loss");
    fprintf(f, " %8s  %s\n", "seconds", "status");
    for (int i = 0; i < s->n_groups; i++) print_row(f, s, &s->groups[order[i]], grouped, to1, w);
    print_noise(f, s, order, grouped);
    free(order);
}

/* " [over its 5 runs: vanishing 5/5, stalled 3/5]" when the configuration has several. */
static void group_flags(FILE *f, const fanin__runset *s, int j) {
    const fanin__group *g = &s->groups[j];
    if (g->n_runs < 2) return;
    fprintf(f, " [over its %d runs:", g->n_runs);
    int k = 0;
    for (unsigned b = 1; b <= FANIN_V_LAST; b <<= 1) {
        int n = 0;
        for (int i = 0; i < s->n_runs; i++)
            n += s->runs[i].group_index == j && (s->runs[i].flags & b);
        if (n) fprintf(f, "%s %s %d/%d", k++ ? "," : "", fanin__verdict_flag_name(b), n, g->n_runs);
    }
    fprintf(f, "]");
}

/* One verdict per configuration (its first run's), with the flags its runs earned; every
 * run's verdict is in summary.json. */
void cli_print_verdicts(FILE *f, const fanin__runset *s) {
    fprintf(f, "\nverdicts%s:\n",
            s->n_groups < s->n_runs ? " (the first run of each "
                                      "configuration)"
                                    : "");
    for (int j = 0; j < s->n_groups; j++) {
        const fanin__run_view *r = &s->runs[s->groups[j].first];
        fprintf(f, "  %s: %s", s->n_groups < s->n_runs ? r->group : r->label, r->verdict);
        group_flags(f, s, j);
        fputc('\n', f);
    }
    fanin__width_print(f, s); /* the coordinate check's and the lr transfer's, when swept */
}
