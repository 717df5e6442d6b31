/* The sweep's axes in report.html: the swept keys other than the seeds that take more than one
 * value. One axis: the compared figure (test accuracy, else final loss) against it, the mean of
 * each configuration with its 95% interval as error bars. Two: a heatmap of the figure. More:
 * a heatmap of the two axes with the most values for each combination of the others (at most
 * MAX_PANELS). Values that all read as numbers are sorted and placed by value (on a log axis
 * when positive and spanning two decades or more); others keep the sweep's order.
 */
#include "run/report.h"
#include "run/runset.h"

#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VALUES 256 /* distinct values of one axis drawn at most */
#define MAX_PANELS 8   /* heatmaps for three axes or more */

typedef struct sweep_axis {
    int key;                       /* index in s->keys */
    int n;                         /* distinct values */
    const char *value[MAX_VALUES]; /* borrowed from the runs, in the order drawn */
    const char *name[MAX_VALUES];  /* the same without what they share (into text) */
    char title[512];               /* the key, and what the values share around the name */
    char text[MAX_VALUES * 24];    /* the short names' storage */
    bool numeric;                  /* every short name reads as a number: sorted by it */
} sweep_axis;

static bool is_number(const char *v, double *x) {
    char *end;
    *x = strtod(v, &end);
    return *v && !*end && isfinite(*x);
}

static bool delim(char c) { return strchr("=(): ,{}[]", c) != NULL; }

/* The lengths of what every value shares at its start and its end, cut at a delimiter so that
 * a number is never split ("normal(std=0.5)", "normal(std=2)": "normal(std=" and ")"). */
static void shared_ends(const sweep_axis *a, size_t *pre, size_t *suf) {
    size_t p = strlen(a->value[0]), q = p;
    for (int j = 1; j < a->n; j++) {
        const char *v = a->value[j], *w = a->value[0];
        size_t n = strlen(v), m = strlen(w), i = 0, k = 0;
        while (i < p && i < n && v[i] == w[i]) i++;
        while (k < q && k < n && k < m && v[n - 1 - k] == w[m - 1 - k]) k++;
        p = i, q = k;
    }
    while (p > 0 && !delim(a->value[0][p - 1])) p--;
    size_t m0 = strlen(a->value[0]);
    while (q > 0 && !delim(a->value[0][m0 - q])) q--;
    *pre = p, *suf = q;
    for (int j = 0; j < a->n; j++) /* each value keeps something of its own */
        if (strlen(a->value[j]) <= p + q) *pre = *suf = 0;
}

/* Short names: the values without their shared ends; the title says what was cut. */
static void short_names(sweep_axis *a, const char *key) {
    size_t pre, suf, used = 0;
    shared_ends(a, &pre, &suf);
    double x;
    a->numeric = true;
    for (int j = 0; j < a->n; j++) {
        size_t len = strlen(a->value[j]) - pre - suf, room = sizeof a->text - used;
        if (len + 1 > room) len = room ? room - 1 : 0;
        memcpy(a->text + used, a->value[j] + pre, len);
        a->text[used + len] = 0;
        a->name[j] = a->text + used;
        a->numeric = a->numeric && is_number(a->name[j], &x);
        used += len + 1;
    }
    if (pre || suf)
        snprintf(a->title, sizeof a->title, "%s: %.*s…%s", key, (int)pre, a->value[0],
                 a->value[0] + strlen(a->value[0]) - suf);
    else snprintf(a->title, sizeof a->title, "%s", key);
}

/* The distinct values of key k over the runs, in member order, then sorted by their short
 * names when those are all numbers. */
static void axis_values(const fanin__runset *s, int k, sweep_axis *a) {
    a->key = k;
    a->n = 0;
    for (int i = 0; i < s->n_runs && a->n < MAX_VALUES; i++) {
        const char *v = s->runs[i].values[k];
        int j = 0;
        while (j < a->n && strcmp(a->value[j], v)) j++;
        if (j == a->n) a->value[a->n++] = v;
    }
    if (a->n < 2) return;
    short_names(a, s->keys[k]);
    for (int i = 1; a->numeric && i < a->n; i++) /* insertion sort by number, both arrays */
        for (int j = i; j > 0 && strtod(a->name[j], NULL) < strtod(a->name[j - 1], NULL); j--) {
            const char *t = a->name[j], *u = a->value[j];
            a->name[j] = a->name[j - 1];
            a->value[j] = a->value[j - 1];
            a->name[j - 1] = t;
            a->value[j - 1] = u;
        }
}

static int value_index(const sweep_axis *a, const char *v) {
    for (int j = 0; j < a->n; j++)
        if (!strcmp(a->value[j], v)) return j;
    return -1;
}

/* The swept axes (not seeds, more than one value) into ax; how many. */
static int find_axes(const fanin__runset *s, sweep_axis *ax) {
    int n = 0;
    for (int k = 0; k < s->n_keys; k++) {
        if (s->seed_axis[k]) continue;
        axis_values(s, k, &ax[n]);
        if (ax[n].n > 1) n++;
    }
    return n;
}

/* ---- one axis: the figure with error bars ---- */

static void one_axis(FILE *f, const fanin__runset *s, const sweep_axis *a, int fig) {
    double *m = calloc((size_t)(4 * a->n), sizeof *m);
    if (!m) return;
    double *x = m + a->n, *lo = x + a->n, *hi = lo + a->n, k = fig == FANIN_FIG_LOSS ? 1 : 100;
    bool pos = a->numeric;
    for (int j = 0; j < a->n; j++) m[j] = lo[j] = hi[j] = NAN;
    for (int g = 0; g < s->n_groups; g++) {
        const fanin__group *gr = &s->groups[g];
        int j = value_index(a, s->runs[gr->first].values[a->key]);
        if (j < 0) continue;
        m[j] = k * gr->fig[fig].mean;
        if (fanin__group_interval(gr, fig, &lo[j], &hi[j])) lo[j] *= k, hi[j] *= k;
        else lo[j] = hi[j] = NAN;
    }
    for (int j = 0; j < a->n; j++) {
        if (a->numeric) x[j] = strtod(a->name[j], NULL);
        else x[j] = j;
        pos = pos && x[j] > 0;
    }
    bool xlog = pos && x[a->n - 1] / x[0] >= 100;
    const char *yl = fig == FANIN_FIG_LOSS ? "final loss" : "test accuracy (%)";
    fanin__series se = {
        .name = yl, .x = x, .y = m, .n = a->n, .markers = true, .lo = lo, .hi = hi, .bars = true};
    fanin__chart c = {.title = fig == FANIN_FIG_LOSS ? "Final loss against the swept axis"
                                                     : "Test accuracy against the swept axis",
                      .xlabel = s->keys[a->key],
                      .ylabel = yl,
                      .width = 720,
                      .height = 360};
    if (!a->numeric) c.xnames = a->value, c.n_xnames = a->n;
    c.xlog = xlog;
    fanin__svg_chart(f, &c, &se, 1);
    free(m);
}

/* ---- two axes: a heatmap (per combination of the others) ---- */

/* Does run r match the values fixed for the other axes (fix[k] NULL: free)? */
static bool matches(const fanin__run_view *r, const char *const *fix, int n_keys) {
    for (int k = 0; k < n_keys; k++)
        if (fix[k] && strcmp(r->values[k], fix[k])) return false;
    return true;
}

static void heatmap_panel(FILE *f, const fanin__runset *s, const sweep_axis *cx,
                          const sweep_axis *ry, const char *const *fix, const char *title,
                          int fig) {
    size_t cells = (size_t)cx->n * (size_t)ry->n;
    double *v = malloc(sizeof *v * cells);
    const char **mark = calloc(cells, sizeof *mark);
    if (!v || !mark) goto out;
    for (size_t i = 0; i < cells; i++) v[i] = NAN;
    for (int g = 0; g < s->n_groups; g++) {
        const fanin__group *gr = &s->groups[g];
        const fanin__run_view *r = &s->runs[gr->first];
        int c = value_index(cx, r->values[cx->key]), w = value_index(ry, r->values[ry->key]);
        if (c < 0 || w < 0 || !matches(r, fix, s->n_keys)) continue;
        v[(size_t)w * cx->n + c] = gr->fig[fig].mean;
        if (gr->n_diverged == gr->n_runs) mark[(size_t)w * cx->n + c] = "diverged";
    }
    fanin__heatmap h = {.title = title,
                        .xlabel = cx->title,
                        .ylabel = ry->title,
                        .value_label = fig == FANIN_FIG_LOSS ? "final loss" : "test accuracy",
                        .n_rows = ry->n,
                        .n_cols = cx->n,
                        .row_names = ry->name,
                        .col_names = cx->name,
                        .v = v,
                        .marks = mark,
                        .percent = fig != FANIN_FIG_LOSS};
    fanin__svg_heatmap(f, &h);
out:
    free(v);
    free(mark);
}

/* The two axes with the most values (across: the one with more, the earlier key on a tie), one
 * heatmap per combination of the other axes' values. */
static void heatmaps(FILE *f, const fanin__runset *s, sweep_axis *ax, int n, int fig) {
    int a = 0, b = 1;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (ax[i].n * ax[j].n > ax[a].n * ax[b].n) a = i, b = j;
    if (ax[b].n > ax[a].n) {
        int t = a;
        a = b, b = t;
    }
    const char *fix[FANIN_MAX_KEYS] = {0};
    const char *what = fig == FANIN_FIG_LOSS ? "Mean final loss" : "Mean test accuracy";
    if (n == 2) {
        heatmap_panel(f, s, &ax[a], &ax[b], fix, what, fig);
        return;
    }
    int panels = 0; /* each configuration's values of the other axes, first seen first */
    for (int g = 0; g < s->n_groups && panels < MAX_PANELS; g++) {
        const fanin__run_view *r = &s->runs[s->groups[g].first];
        bool seen = false;
        for (int h = 0; h < g && !seen; h++) {
            const fanin__run_view *q = &s->runs[s->groups[h].first];
            seen = true;
            for (int i = 0; i < n; i++)
                if (i != a && i != b && strcmp(q->values[ax[i].key], r->values[ax[i].key]))
                    seen = false;
        }
        if (seen) continue;
        char title[512];
        int o = snprintf(title, sizeof title, "%s at", what);
        for (int i = 0; i < n; i++) {
            fix[ax[i].key] = i != a && i != b ? r->values[ax[i].key] : NULL;
            if (fix[ax[i].key] && o < (int)sizeof title)
                o += snprintf(title + o, sizeof title - (size_t)o, " %s=%s", s->keys[ax[i].key],
                              fix[ax[i].key]);
        }
        heatmap_panel(f, s, &ax[a], &ax[b], fix, title, fig);
        panels++;
    }
}

void fanin__report_axes(FILE *f, const fanin__runset *s) {
    sweep_axis *ax = calloc(FANIN_MAX_KEYS, sizeof *ax);
    int n = ax ? find_axes(s, ax) : 0, fig = fanin__groups_figure(s);
    if (n == 0) {
        free(ax);
        return;
    }
    fprintf(f, "<h2>Sweep</h2><p class='note'>");
    if (n == 1)
        fprintf(f,
                "The %s of each configuration against the swept axis: the mean over its "
                "runs, with its 95%% interval as an error bar (over the seeds; for a single "
                "run the test set's, p ± 1.96 SE).",
                fig == FANIN_FIG_LOSS ? "final loss" : "test accuracy");
    else
        fprintf(f,
                "The mean %s of each configuration over the two swept axes%s; grey cells "
                "have no finished run, &ldquo;diverged&rdquo; cells only diverged runs. "
                "The values and intervals are in &ldquo;How sure?&rdquo; and groups.csv.",
                fig == FANIN_FIG_LOSS ? "final loss" : "test accuracy",
                n > 2 ? " with the most values, one map per value of the others" : "");
    fprintf(f, "</p><div class='row'>\n");
    if (n == 1) one_axis(f, s, &ax[0], fig);
    else heatmaps(f, s, ax, n, fig);
    fprintf(f, "</div>\n");
    free(ax);
}
