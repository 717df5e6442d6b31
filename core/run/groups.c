/* How sure is a result? Runs that differ only by a seed axis (`seed`, `data_seed`) are one
 * configuration, a group: per figure its n, mean, sample std and 95% confidence interval of
 * the mean; the test set's own binomial standard error; a sentence per pair of neighbouring
 * configurations saying whether their intervals overlap; groups.csv and summary.json's
 * "groups" and "comparisons". Not the group labels (runset.c) nor the drawing (report.c, the
 * command's table.c). The rules: docs/diagnostics.md, "How sure".
 */
#include "base/errors.h"
#include "base/json.h"
#include "run/rundir.h"
#include "run/runset.h"

#include <fanin/fanin.h>

#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define Z975 1.959963984540054 /* the normal distribution's 0.975 quantile */
#define FIG_TO1 FANIN_N_FIGS   /* iterations to 1% of the initial loss, besides the figures */

static const char *const fig_names[FANIN_N_FIGS] = {"final_loss", "train_acc", "test_acc"};

/* ---- statistics ---- */

/* t(0.975, df) for df = 1..30, to 3 decimals: the two-sided 5% column of any table of
 * Student's t, e.g. the NIST/SEMATECH e-Handbook of Statistical Methods, section 1.3.6.7.2
 * ("Critical values of the Student's t distribution"). */
static const double t975_table[30] = {
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
};

/* Above 30 degrees of freedom: the Cornish-Fisher expansion of t around the normal quantile
 * z (Abramowitz & Stegun 1964, 26.7.5), t = z + (z^3 + z) / (4 df) + (5 z^5 + 16 z^3 + 3 z) /
 * (96 df^2) + ...: within 1e-4 of t for df > 30 (against a numerical integration of the
 * t density: 2.04218 vs 2.04227 at 30, 1.98397 at 100). */
double fanin__t975(int df) {
    if (df < 1) return NAN;
    if (df <= 30) return t975_table[df - 1];
    double z = Z975, z3 = z * z * z, z5 = z3 * z * z, d = df;
    return z + (z3 + z) / (4 * d) + (5 * z5 + 16 * z3 + 3 * z) / (96 * d * d);
}

/* n, mean, sample std s and the 95% confidence interval of the mean of v[0..n):
 * mean +- t(0.975, n - 1) s / sqrt(n) (Student 1908; the interval assumes the runs' values
 * are independent draws from one normal distribution). */
static fanin__stat stat_of(const double *v, int n) {
    fanin__stat st = {
        .n = n, .mean = NAN, .std = NAN, .lo = NAN, .hi = NAN, .min = NAN, .max = NAN};
    double sum = 0, ss = 0;
    for (int i = 0; i < n; i++) {
        sum += v[i];
        st.min = i ? fmin(st.min, v[i]) : v[i];
        st.max = i ? fmax(st.max, v[i]) : v[i];
    }
    if (n) st.mean = sum / n;
    for (int i = 0; i < n; i++) ss += (v[i] - st.mean) * (v[i] - st.mean);
    if (n < 2) return st;
    st.std = sqrt(ss / (n - 1));
    double half = fanin__t975(n - 1) * st.std / sqrt((double)n);
    st.lo = st.mean - half;
    st.hi = st.mean + half;
    return st;
}

/* A run's figure fig (FANIN_FIG_* or FIG_TO1). */
static double fig_of(const fanin__run_view *r, int fig) {
    switch (fig) {
    case FANIN_FIG_LOSS: return r->final_loss;
    case FANIN_FIG_TRAIN: return r->train_acc;
    case FANIN_FIG_TEST: return r->test_acc;
    default: return r->figs.iters_to_1pct;
    }
}

/* The figure of every finished run (status done, value finite) of the group into v; how many.
 * Diverged and interrupted runs are counted apart: theirs are not results of the same kind. */
static int values(const fanin__runset *s, const char *group, int fig, double *v) {
    int n = 0;
    for (int i = 0; i < s->n_runs; i++) {
        const fanin__run_view *r = &s->runs[i];
        double x = fig_of(r, fig);
        if (!strcmp(r->group, group) && !strcmp(r->status, fanin__summary_status(FANIN_OK)) &&
            isfinite(x))
            v[n++] = x;
    }
    return n;
}

/* The statistics of group g (its members counted already); v has room for every run. */
static void fill(const fanin__runset *s, fanin__group *g, double *v) {
    const char *name = s->runs[g->first].group;
    for (int f = 0; f < FANIN_N_FIGS; f++) {
        g->fig[f] = stat_of(v, values(s, name, f, v));
        if (f != FANIN_FIG_LOSS && g->fig[f].n >= 2) { /* an accuracy stays within [0, 1] */
            g->fig[f].lo = fmax(0, g->fig[f].lo);
            g->fig[f].hi = fmin(1, g->fig[f].hi);
        }
    }
    g->to1 = stat_of(v, values(s, name, FIG_TO1, v));
    g->n_test = s->runs[g->first].n_test;
    for (int i = 0; i < s->n_runs; i++)
        if (!strcmp(s->runs[i].group, name) && s->runs[i].n_test != g->n_test) g->n_test = 0;
    double p = g->fig[FANIN_FIG_TEST].mean;
    /* binomial: the test accuracy is a proportion of n_test independent examples */
    g->test_se = g->n_test > 0 && isfinite(p) ? sqrt(p * (1 - p) / (double)g->n_test) : NAN;
}

int fanin__groups_make(fanin__runset *s) {
    free(s->groups);
    s->groups = NULL;
    s->n_groups = 0;
    if (!s->n_runs) return FANIN_OK;
    s->groups = calloc((size_t)s->n_runs, sizeof *s->groups);
    double *v = malloc(sizeof *v * (size_t)s->n_runs);
    if (!s->groups || !v) {
        free(v);
        free(s->groups);
        s->groups = NULL;
        return FANIN_ENOMEM;
    }
    for (int i = 0; i < s->n_runs; i++) {
        const fanin__run_view *r = &s->runs[i];
        int j = 0;
        while (j < s->n_groups && strcmp(s->runs[s->groups[j].first].group, r->group)) j++;
        if (j == s->n_groups) s->groups[s->n_groups++].first = i;
        s->runs[i].group_index = j;
        s->groups[j].n_runs++;
        s->groups[j].n_diverged += !strcmp(r->status, fanin__summary_status(FANIN_EDIVERGED));
        s->groups[j].seconds += r->seconds;
    }
    for (int j = 0; j < s->n_groups; j++) fill(s, &s->groups[j], v);
    free(v);
    return FANIN_OK;
}

/* ---- comparing ---- */

int fanin__group_interval(const fanin__group *g, int fig, double *lo, double *hi) {
    if (g->fig[fig].n >= 2) {
        *lo = g->fig[fig].lo;
        *hi = g->fig[fig].hi;
        return 2;
    }
    if (fig != FANIN_FIG_TEST || g->fig[fig].n != 1 || !isfinite(g->test_se)) return 0;
    /* one run: the test set's own noise only, Wald's p +- 1.96 SE, kept within [0, 1] */
    *lo = fmax(0, g->fig[fig].mean - Z975 * g->test_se);
    *hi = fmin(1, g->fig[fig].mean + Z975 * g->test_se);
    return 1;
}

int fanin__groups_figure(const fanin__runset *s) {
    for (int j = 0; j < s->n_groups; j++)
        if (s->groups[j].n_diverged < s->groups[j].n_runs &&
            !isfinite(s->groups[j].fig[FANIN_FIG_TEST].mean))
            return FANIN_FIG_LOSS;
    return FANIN_FIG_TEST;
}

/* Higher is better: the mean test accuracy, else minus the mean final loss; NaN: unranked. */
static double rank_key(const fanin__group *g) {
    double t = g->fig[FANIN_FIG_TEST].mean;
    return isfinite(t) ? t : -g->fig[FANIN_FIG_LOSS].mean;
}

/* Does group a come before b: some run finished first, then the key, then the first member. */
static bool before(const fanin__runset *s, const fanin__group *a, const fanin__group *b) {
    bool da = a->n_diverged == a->n_runs, db = b->n_diverged == b->n_runs;
    if (da != db) return db;
    double ka = rank_key(a), kb = rank_key(b);
    if (isfinite(ka) != isfinite(kb)) return isfinite(ka);
    if (isfinite(ka) && ka != kb) return ka > kb;
    return s->runs[a->first].member < s->runs[b->first].member;
}

void fanin__groups_ranked(const fanin__runset *s, int *order) {
    for (int i = 0; i < s->n_groups; i++) { /* insertion sort: a handful of groups */
        int j = i;
        while (j > 0 && before(s, &s->groups[i], &s->groups[order[j - 1]])) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
}

/* "83.40% [81.10, 85.70]" or "0.3009 [0.2950, 0.3068]" */
static void fmt_interval(char *b, size_t len, int fig, double mean, double lo, double hi) {
    if (fig == FANIN_FIG_LOSS) snprintf(b, len, "%.4g [%.4g, %.4g]", mean, lo, hi);
    else snprintf(b, len, "%.2f%% [%.2f, %.2f]", 100 * mean, 100 * lo, 100 * hi);
}

int fanin__groups_compare(const fanin__runset *s, int a, int b, char *buf, size_t len) {
    int fig = fanin__groups_figure(s);
    const fanin__group *ga = &s->groups[a], *gb = &s->groups[b];
    double alo, ahi, blo, bhi;
    int ka = fanin__group_interval(ga, fig, &alo, &ahi);
    int kb = fanin__group_interval(gb, fig, &blo, &bhi);
    buf[0] = 0;
    if (!ka || !kb) return -1;
    bool overlap = alo <= bhi && blo <= ahi;
    char ia[96], ib[96];
    fmt_interval(ia, sizeof ia, fig, ga->fig[fig].mean, alo, ahi);
    fmt_interval(ib, sizeof ib, fig, gb->fig[fig].mean, blo, bhi);
    snprintf(buf, len,
             "%s vs %s: the 95%% intervals of %s %s (%s vs %s, %s); the difference "
             "is %s the noise.",
             s->runs[ga->first].group, s->runs[gb->first].group, fig_names[fig],
             overlap ? "overlap" : "do not overlap", ia, ib,
             ka == 2 && kb == 2   ? "over seeds"
             : ka == 1 && kb == 1 ? "test set only"
                                  : "over seeds, or the test set's for a single run",
             overlap ? "within" : "beyond");
    return overlap;
}

/* ---- writing ---- */

/* A figure for CSV: %.9g, empty when NaN. */
static void csv_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, ",%.9g", v);
    else fputc(',', f);
}

static void csv_header(FILE *f, const fanin__runset *s) {
    fprintf(f, "group");
    for (int k = 0; k < s->n_keys; k++)
        if (!s->seed_axis[k]) fprintf(f, ",%s", s->keys[k]);
    fprintf(f, ",runs,diverged");
    for (int g = 0; g < FANIN_N_FIGS; g++)
        fprintf(f, ",%s_n,%s_mean,%s_std,%s_ci95_lo,%s_ci95_hi", fig_names[g], fig_names[g],
                fig_names[g], fig_names[g], fig_names[g]);
    fprintf(f, ",n_test,test_acc_se");
    for (int g = 0; g < FANIN_N_FIGS; g++) fprintf(f, ",%s_min,%s_max", fig_names[g], fig_names[g]);
    fputc('\n', f);
}

int fanin__groups_write_csv(const fanin__runset *s, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "w");
    if (!f) return fanin__errf(err, errlen, FANIN_EIO, "%s: %s", path, strerror(errno));
    csv_header(f, s);
    for (int j = 0; j < s->n_groups; j++) {
        const fanin__group *g = &s->groups[j];
        const fanin__run_view *r = &s->runs[g->first];
        fprintf(f, "\"%s\"", r->group);
        for (int k = 0; k < s->n_keys; k++)
            if (!s->seed_axis[k]) fprintf(f, ",\"%s\"", r->values[k]);
        fprintf(f, ",%d,%d", g->n_runs, g->n_diverged);
        for (int x = 0; x < FANIN_N_FIGS; x++) {
            const fanin__stat *st = &g->fig[x];
            fprintf(f, ",%d", st->n);
            csv_num(f, st->mean);
            csv_num(f, st->std);
            csv_num(f, st->lo);
            csv_num(f, st->hi);
        }
        fprintf(f, ",%lld", (long long)g->n_test);
        csv_num(f, g->test_se);
        for (int x = 0; x < FANIN_N_FIGS; x++) {
            csv_num(f, g->fig[x].min);
            csv_num(f, g->fig[x].max);
        }
        fputc('\n', f);
    }
    return fclose(f) == 0 ? FANIN_OK
                          : fanin__errf(err, errlen, FANIN_EIO, "%s: cannot write", path);
}

/* {"n": 3, "mean": ..., "std": ..., "ci95": [lo, hi], "min": ..., "max": ...} */
static void json_stat(FILE *f, const char *name, const fanin__stat *st) {
    fprintf(f, ", \"%s\": {\"n\": %d, \"mean\": ", name, st->n);
    fanin__json_num(f, "%.6g", st->mean);
    fprintf(f, ", \"std\": ");
    fanin__json_num(f, "%.6g", st->std);
    fprintf(f, ", \"ci95\": [");
    fanin__json_num(f, "%.6g", st->lo);
    fprintf(f, ", ");
    fanin__json_num(f, "%.6g", st->hi);
    fprintf(f, "], \"min\": ");
    fanin__json_num(f, "%.6g", st->min);
    fprintf(f, ", \"max\": ");
    fanin__json_num(f, "%.6g", st->max);
    fprintf(f, "}");
}

static void json_group(FILE *f, const fanin__runset *s, const fanin__group *g) {
    const fanin__run_view *r = &s->runs[g->first];
    fprintf(f, "    {\"group\": ");
    fanin__json_str(f, r->group);
    fprintf(f, ", \"swept\": {");
    for (int k = 0, n = 0; k < s->n_keys; k++) {
        if (s->seed_axis[k]) continue;
        fprintf(f, "%s", n++ ? ", " : "");
        fanin__json_str(f, s->keys[k]);
        fprintf(f, ": ");
        fanin__json_str(f, r->values[k]);
    }
    fprintf(f, "}, \"runs\": %d, \"diverged\": %d,\n     \"n_test\": ", g->n_runs, g->n_diverged);
    if (g->n_test > 0) fprintf(f, "%lld", (long long)g->n_test);
    else fprintf(f, "null");
    fprintf(f, ", \"test_acc_se\": ");
    fanin__json_num(f, "%.6g", g->test_se);
    for (int x = 0; x < FANIN_N_FIGS; x++) json_stat(f, fig_names[x], &g->fig[x]);
    fprintf(f, "}");
}

/* Neighbours in the ranking, best first: {"a", "b", "figure", "overlap", "statement"}. */
static void json_comparisons(FILE *f, const fanin__runset *s, const int *order) {
    char text[1024];
    int n = 0;
    fprintf(f, "  \"comparisons\": [");
    for (int i = 0; i + 1 < s->n_groups; i++) {
        int a = order[i], b = order[i + 1];
        int overlap = fanin__groups_compare(s, a, b, text, sizeof text);
        if (overlap < 0) continue;
        fprintf(f, "%s\n    {\"a\": ", n++ ? "," : "");
        fanin__json_str(f, s->runs[s->groups[a].first].group);
        fprintf(f, ", \"b\": ");
        fanin__json_str(f, s->runs[s->groups[b].first].group);
        fprintf(f, ", \"figure\": \"%s\", \"overlap\": %s, \"statement\": ",
                fig_names[fanin__groups_figure(s)], overlap ? "true" : "false");
        fanin__json_str(f, text);
        fprintf(f, "}");
    }
    fprintf(f, "%s]", n ? "\n  " : "");
}

void fanin__groups_write_json(FILE *f, const fanin__runset *s) {
    fprintf(f, "  \"groups\": [\n");
    for (int j = 0; j < s->n_groups; j++) {
        json_group(f, s, &s->groups[j]);
        fprintf(f, "%s\n", j + 1 < s->n_groups ? "," : "");
    }
    fprintf(f, "  ],\n");
    int *order = malloc(sizeof *order * (size_t)(s->n_groups + 1));
    if (order) fanin__groups_ranked(s, order);
    if (order) json_comparisons(f, s, order);
    else fprintf(f, "  \"comparisons\": []");
    free(order);
}
