/* The comparison table printed after a run (or a merge): one row per sweep member, or one per
 * group of members that differ only by `seed` with mean ± std, best test accuracy first; runs
 * that diverged last and marked. Then the verdicts in words. */
#include "cli.h"
#include "run/runset.h"

#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct row {
    const fanin__run_view *first; /* the group's first member (label, member index) */
    int n, diverged;
    double loss[2], train[2], test[2], seconds; /* mean, std over the group's finished runs */
    double to1[2]; /* iterations to 1% of the initial loss (NaN: never) */
} row;

static int by_result(const void *pa, const void *pb) {
    const row *a = pa, *b = pb;
    if ((a->diverged == a->n) != (b->diverged == b->n)) return (a->diverged == a->n) - (b->diverged == b->n);
    double ta = isnan(a->test[0]) ? -a->loss[0] : a->test[0];
    double tb = isnan(b->test[0]) ? -b->loss[0] : b->test[0];
    if (ta != tb && !(isnan(ta) && isnan(tb))) return isnan(ta) ? 1 : isnan(tb) ? -1 : ta < tb ? 1 : -1;
    return a->first->member - b->first->member;
}

/* mean and sample std of field (offset into run_view) over the group's runs that finished */
static void stat(const fanin__runset *s, const char *group, size_t off, double out[2]) {
    double sum = 0, ss = 0;
    int n = 0;
    for (int i = 0; i < s->n_runs; i++) {
        const fanin__run_view *r = &s->runs[i];
        double v = *(const double *)((const char *)r + off);
        if (strcmp(r->group, group) || !isfinite(v)) continue;
        sum += v;
        n++;
    }
    out[0] = n ? sum / n : NAN;
    for (int i = 0; i < s->n_runs; i++) {
        const fanin__run_view *r = &s->runs[i];
        double v = *(const double *)((const char *)r + off);
        if (!strcmp(r->group, group) && isfinite(v)) ss += (v - out[0]) * (v - out[0]);
    }
    out[1] = n > 1 ? sqrt(ss / (n - 1)) : NAN;
}

static int make_rows(const fanin__runset *s, bool grouped, row *rows) {
    int n = 0;
    for (int i = 0; i < s->n_runs; i++) {
        const fanin__run_view *r = &s->runs[i];
        int j = 0;
        while (grouped && j < n && strcmp(rows[j].first->group, r->group)) j++;
        if (!grouped || j == n) {
            j = n++;
            memset(&rows[j], 0, sizeof rows[j]);
            rows[j].first = r;
        }
        rows[j].n++;
        rows[j].diverged += !strcmp(r->status, "diverged");
        rows[j].seconds += r->seconds;
    }
    for (int j = 0; j < n; j++) {
        if (grouped) {
            const char *g = rows[j].first->group;
            stat(s, g, offsetof(fanin__run_view, final_loss), rows[j].loss);
            stat(s, g, offsetof(fanin__run_view, train_acc), rows[j].train);
            stat(s, g, offsetof(fanin__run_view, test_acc), rows[j].test);
            stat(s, g, offsetof(fanin__run_view, figs.iters_to_1pct), rows[j].to1);
        } else {
            const fanin__run_view *r = rows[j].first;
            rows[j].loss[0] = r->final_loss;
            rows[j].train[0] = r->train_acc;
            rows[j].test[0] = r->test_acc;
            rows[j].to1[0] = r->figs.iters_to_1pct;
            rows[j].loss[1] = rows[j].train[1] = rows[j].test[1] = rows[j].to1[1] = NAN;
        }
    }
    return n;
}

static void cell(FILE *f, const double v[2], bool percent, int width) {
    char b[64];
    double k = percent ? 100 : 1;
    if (isnan(v[0])) snprintf(b, sizeof b, "-");
    else if (isnan(v[1])) snprintf(b, sizeof b, percent ? "%.2f%%" : "%.6f", k * v[0]);
    else snprintf(b, sizeof b, percent ? "%.2f±%.2f%%" : "%.4f±%.4f", k * v[0], k * v[1]);
    fprintf(f, " %*s", width + (strstr(b, "±") ? 1 : 0), b); /* ± is two bytes, one column */
}

/* Iterations to 1% of the initial loss: "never" when the run (or every run of the group) did
 * not get there. */
static void to1_cell(FILE *f, const double v[2], int width) {
    char b[64];
    if (isnan(v[0])) snprintf(b, sizeof b, "never");
    else if (isnan(v[1])) snprintf(b, sizeof b, "%.0f", v[0]);
    else snprintf(b, sizeof b, "%.0f±%.0f", v[0], v[1]);
    fprintf(f, " %*s", width + (strstr(b, "±") ? 1 : 0), b);
}

void cli_print_table(FILE *f, const fanin__runset *s, const char *label_header) {
    bool grouped = s->seed_key >= 0;
    row *rows = calloc((size_t)s->n_runs + 1, sizeof *rows);
    if (!rows) return;
    int n = make_rows(s, grouped, rows);
    qsort(rows, (size_t)n, sizeof *rows, by_result);
    int w = (int)strlen(label_header);
    for (int i = 0; i < n; i++) {
        const char *l = grouped ? rows[i].first->group : rows[i].first->label;
        if ((int)strlen(l) > w) w = (int)strlen(l);
    }
    int wl = grouped ? 16 : 12, wa = grouped ? 14 : 9;
    bool to1 = false; /* the "to 1% loss" column only when some run got there */
    for (int i = 0; i < n; i++) to1 = to1 || isfinite(rows[i].to1[0]);
    fprintf(f, "\n%-4s %-*s%s %*s %*s %*s", "#", w, label_header, grouped ? " runs" : "",
            wl, "final loss", wa, "train", wa, "test");
    if (to1) fprintf(f, " %*s", wl, "to 1% loss");
    fprintf(f, " %8s  %s\n", "seconds", "status");
    for (int i = 0; i < n; i++) {
        const row *r = &rows[i];
        fprintf(f, "%-4d %-*s", r->first->member, w, grouped ? r->first->group : r->first->label);
        if (grouped) fprintf(f, " %4d", r->n);
        cell(f, r->loss, false, wl);
        cell(f, r->train, true, wa);
        cell(f, r->test, true, wa);
        if (to1) to1_cell(f, r->to1, wl);
        fprintf(f, " %8.2f  ", r->seconds);
        if (r->diverged) fprintf(f, "DIVERGED%s\n", r->n > 1 ? " (some)" : "");
        else fprintf(f, "%s\n", r->first->status);
    }
    free(rows);
}

void cli_print_verdicts(FILE *f, const fanin__runset *s) {
    fprintf(f, "\nverdicts:\n");
    for (int i = 0; i < s->n_runs; i++)
        fprintf(f, "  %s: %s\n", s->runs[i].label, s->runs[i].verdict);
}
