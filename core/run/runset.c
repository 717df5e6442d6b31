/* Run folders read back: summary CSV rows plus each run's metrics.csv, layers.csv and
 * histograms.csv, grouped and judged; and summary.json / a combined summary.csv written from
 * them. `fanin run` and `fanin merge` both go through here, so a merged report is the same as
 * one written by a single run. Not the training side (diag.c) nor the pictures (report.c).
 */
#include "run/runset.h"
#include "run/rundir.h"
#include "base/errors.h"
#include "base/json.h"
#include "engine/diag.h"

#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading CSV ---- */

/* A number: NaN when empty or not a number. */
static double num(const char *s) {
    if (!s || !*s) return NAN;
    char *end;
    double v = strtod(s, &end);
    return end == s ? NAN : v;
}

/* Read every line of path after the header; calls row(fields, n, user). Missing file: -1. */
static int each_row(const char *path, int (*row)(char **f, int n, void *user), void *user) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0;
    bool first = true;
    int rc = 0;
    while (getline(&line, &cap, f) > 0 && rc == 0) {
        if (first) {
            first = false;
            continue;
        }
        char *fields[80];
        int n = fanin__csv_split(line, fields, 80);
        if (n > 1) rc = row(fields, n, user);
    }
    free(line);
    fclose(f);
    return rc;
}

static int metric_row(char **f, int n, void *user) {
    fanin__run_view *r = user;
    if (n < 5) return 0;
    fanin__metric_row *m = realloc(r->metrics, sizeof *m * (size_t)(r->n_metrics + 1));
    if (!m) return FANIN_ENOMEM;
    r->metrics = m;
    m[r->n_metrics++] = (fanin__metric_row){atoll(f[0]), num(f[2]), num(f[3]), num(f[4])};
    return 0;
}

static int stats_row(char **f, int n, void *user) {
    fanin__run_view *r = user;
    if (n < 17) return 0;
    fanin__layer_stats *s = realloc(r->stats, sizeof *s * (size_t)(r->n_stats + 1));
    if (!s) return FANIN_ENOMEM;
    r->stats = s;
    s += r->n_stats++;
    memset(s, 0, sizeof *s);
    s->iteration = atoll(f[0]);
    s->layer = atoi(f[1]);
    s->units = atoi(f[2]);
    s->fan_in = atoi(f[3]);
    snprintf(s->activation, sizeof s->activation, "%s", f[4]);
    double *v[] = {&s->preact_mean,    &s->preact_std, &s->act_mean,     &s->act_std,
                   &s->saturated_frac, &s->dead_frac,  &s->grad_norm,    &s->grad_std,
                   &s->dz_std,         &s->weight_std, &s->update_ratio, &s->row_spread};
    for (int i = 0; i < 12; i++) *v[i] = num(f[5 + i]);
    /* the columns appended for layer kinds; a file written before them has 17 */
    s->alpha = s->running_mean = s->running_var = NAN;
    if (n >= 22) {
        snprintf(s->kind, sizeof s->kind, "%s", f[17]);
        s->block = atoi(f[18]);
        s->alpha = num(f[19]);
        s->running_mean = num(f[20]);
        s->running_var = num(f[21]);
    }
    /* the coordinate check's columns; a file written before them has 22 */
    s->act_abs_mean = n >= 23 ? num(f[22]) : NAN;
    s->preact_abs_mean = n >= 24 ? num(f[23]) : NAN;
    if (n >= 28) { /* conv2d's geometry; 0 in a file written before it */
        s->channels = atoi(f[24]);
        s->kernel = atoi(f[25]);
        s->stride = atoi(f[26]);
        s->pad = atoi(f[27]);
    }
    if (s->layer > r->n_layers) r->n_layers = s->layer;
    return 0;
}

static int hist_row(char **f, int n, void *user) {
    fanin__run_view *r = user;
    if (n < 4 + FANIN_HIST_BINS) return 0;
    fanin__hist *h = realloc(r->hist, sizeof *h * (size_t)(r->n_hist + 1));
    if (!h) return FANIN_ENOMEM;
    r->hist = h;
    h += r->n_hist++;
    h->iteration = atoll(f[0]);
    h->layer = atoi(f[1]);
    h->lo = num(f[2]);
    h->hi = num(f[3]);
    for (int b = 0; b < FANIN_HIST_BINS; b++) h->count[b] = atoll(f[4 + b]);
    return 0;
}

/* The number of test examples from the run's config.yaml (data: ... test: N, as the resolved
 * config writes it); 0 when absent or `all` (then the data reader chose, and the summary
 * does not say). */
static int64_t read_n_test(const char *dir) {
    char path[FANIN_PATHLEN], line[512];
    FILE *f = fanin__rundir_path(path, dir, FANIN_RUNDIR_CONFIG) == FANIN_OK ? fopen(path, "r")
                                                                             : NULL;
    bool in_data = false;
    long long n = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (line[0] != ' ' && line[0] != '#' && line[0] != '\n')
            in_data = !strncmp(line, "data:", 5);
        else if (in_data && sscanf(line, "  test: %lld", &n) == 1) break;
    }
    if (f) fclose(f);
    return n > 0 ? (int64_t)n : 0;
}

/* diagnostics.coord_check's steps from the run's config.yaml (the resolved file writes
 * `diagnostics: {layer_stats_every: K, coord_check: {steps: N}}`); 0 when absent. */
static int64_t read_coord_steps(const char *dir) {
    char path[FANIN_PATHLEN], line[512];
    FILE *f = fanin__rundir_path(path, dir, FANIN_RUNDIR_CONFIG) == FANIN_OK ? fopen(path, "r")
                                                                             : NULL;
    long long n = 0;
    while (f && fgets(line, sizeof line, f)) {
        const char *c = strncmp(line, "diagnostics:", 12) ? NULL : strstr(line, "coord_check:");
        if (c && (sscanf(c, "coord_check: {steps: %lld", &n) == 1 ||
                  sscanf(c, "coord_check: %lld", &n) == 1))
            break;
    }
    if (f) fclose(f);
    return n > 0 ? (int64_t)n : 0;
}

/* Read the run's own files; a missing one leaves its part empty (an interrupted run). */
static int load_folder(fanin__run_view *r) {
    char path[FANIN_PATHLEN];
    int rc = 0;
    if (fanin__rundir_path(path, r->dir, FANIN_RUNDIR_METRICS) == FANIN_OK)
        rc = each_row(path, metric_row, r);
    /* a missing file (-1) leaves its part empty; only running out of memory stops */
    if (rc != FANIN_ENOMEM && fanin__rundir_path(path, r->dir, FANIN_RUNDIR_LAYERS) == FANIN_OK)
        rc = each_row(path, stats_row, r);
    if (rc != FANIN_ENOMEM && fanin__rundir_path(path, r->dir, FANIN_RUNDIR_HISTOGRAMS) == FANIN_OK)
        rc = each_row(path, hist_row, r);
    FILE *f = fanin__rundir_path(path, r->dir, FANIN_RUNDIR_DIVERGED) == FANIN_OK ? fopen(path, "r")
                                                                                  : NULL;
    if (f && fgets(r->divergence, sizeof r->divergence, f))
        r->divergence[strcspn(r->divergence, "\n")] = 0;
    if (f) fclose(f);
    r->n_test = read_n_test(r->dir);
    r->coord_steps = read_coord_steps(r->dir);
    return rc == FANIN_ENOMEM ? rc : FANIN_OK;
}

typedef struct summary_ctx {
    fanin__runset *s;
    char folder[FANIN_PATHLEN];
    int col[FANIN_MAX_KEYS]; /* the set's key k is this file's swept value col[k] (-1: absent) */
    int n_cols;
} summary_ctx;

static bool have_id(const fanin__runset *s, const char *id) {
    for (int i = 0; i < s->n_runs; i++)
        if (!strcmp(s->runs[i].id, id)) return true;
    return false;
}

/* A new, zeroed run at the end of s; NULL when out of memory. */
static fanin__run_view *new_run(fanin__runset *s) {
    if (s->n_runs == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        fanin__run_view *p = realloc(s->runs, sizeof *p * (size_t)cap);
        if (!p) return NULL;
        s->runs = p;
        s->cap = cap;
    }
    fanin__run_view *r = &s->runs[s->n_runs++];
    memset(r, 0, sizeof *r);
    return r;
}

static int summary_row(char **f, int n, void *user) {
    summary_ctx *c = user;
    fanin__runset *s = c->s;
    fanin__summary_row row;
    if (n < c->n_cols || fanin__summary_parse_row(f, n, &row) < 0 || have_id(s, row.id)) return 0;
    fanin__run_view *r = new_run(s);
    if (!r) return FANIN_ENOMEM;
    snprintf(r->id, sizeof r->id, "%s", row.id);
    snprintf(r->status, sizeof r->status, "%s", row.status);
    if (fanin__path_join(r->dir, c->folder, r->id) < 0) return FANIN_ENOMEM;
    r->member = atoi(r->id);
    for (int k = 0; k < s->n_keys; k++) {
        const char *v = c->col[k] >= 0 ? row.values[c->col[k]] : "";
        snprintf(r->values[k], sizeof r->values[k], "%s", v);
    }
    r->final_loss = row.final_loss;
    r->train_acc = row.train_acc;
    r->test_acc = row.test_acc;
    r->iterations = row.iterations;
    r->seconds = row.seconds;
    return load_folder(r);
}

/* Add this file's swept keys to the set's and map them (c->col). */
static void merge_keys(summary_ctx *c, char *const *keys, int n_keys) {
    fanin__runset *s = c->s;
    for (int i = 0; i < n_keys; i++) {
        int k = 0;
        while (k < s->n_keys && strcmp(s->keys[k], keys[i])) k++;
        if (k == s->n_keys && k < FANIN_MAX_KEYS) {
            snprintf(s->keys[k], sizeof s->keys[k], "%s", keys[i]);
            for (int j = 0; j < s->n_runs; j++) s->runs[j].values[k][0] = 0;
            s->n_keys++;
        }
    }
    for (int k = 0; k < s->n_keys; k++) {
        c->col[k] = -1;
        for (int i = 0; i < n_keys; i++)
            if (!strcmp(s->keys[k], keys[i])) c->col[k] = i;
    }
}

int fanin__runset_add_summary(fanin__runset *s, const char *csv_path, char *err, size_t errlen) {
    summary_ctx c = {.s = s};
    snprintf(c.folder, sizeof c.folder, "%s", csv_path);
    char *slash = strrchr(c.folder, '/');
    if (slash) *slash = 0;
    else snprintf(c.folder, sizeof c.folder, ".");
    FILE *f = fopen(csv_path, "r");
    if (!f) return fanin__errf(err, errlen, FANIN_EIO, "%s: %s", csv_path, strerror(errno));
    char line[8192];
    bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (!ok) return FANIN_OK; /* empty: no run finished */
    char *h[FANIN_SUMMARY_MAX_COLS];
    c.n_cols = fanin__csv_split(line, h, FANIN_SUMMARY_MAX_COLS);
    int n_keys = fanin__summary_parse_header(h, c.n_cols);
    if (n_keys < 0)
        return fanin__errf(err, errlen, FANIN_EINVAL, "%s: not a fanin summary (header '%s')",
                           csv_path, h[0]);
    merge_keys(&c, h + 2, n_keys);
    int rc = each_row(csv_path, summary_row, &c);
    if (rc < 0) return fanin__errf(err, errlen, FANIN_ENOMEM, "%s: out of memory", csv_path);
    return FANIN_OK;
}

static int by_member(const void *pa, const void *pb) {
    const fanin__run_view *a = pa, *b = pb;
    return a->member != b->member ? a->member - b->member : strcmp(a->id, b->id);
}

/* The run's swept values, space separated, leaving out the keys skip marks (may be NULL). */
static void join_values(const fanin__runset *s, const fanin__run_view *r, const bool *skip,
                        char *out, size_t len) {
    out[0] = 0;
    for (int k = 0; k < s->n_keys; k++) {
        if (skip && skip[k]) continue;
        size_t u = strlen(out);
        snprintf(out + u, len - u, "%s%s", u ? " " : "", r->values[k]);
    }
}

/* Keys that only repeat a run: `seed` (the initial weights) and `data_seed` (the data's order
 * and synthetic sets); runs differing only by them form a group. */
static void find_seed_axes(fanin__runset *s) {
    s->seed_key = -1;
    for (int k = 0; k < s->n_keys; k++) {
        s->seed_axis[k] = !strcmp(s->keys[k], "seed") || !strcmp(s->keys[k], "data_seed");
        if (s->seed_axis[k] && s->seed_key < 0) s->seed_key = k;
    }
}

void fanin__runset_finish(fanin__runset *s) {
    qsort(s->runs, (size_t)s->n_runs, sizeof *s->runs, by_member);
    find_seed_axes(s);
    for (int i = 0; i < s->n_runs; i++) {
        fanin__run_view *r = &s->runs[i];
        join_values(s, r, NULL, r->label, sizeof r->label);
        if (!r->label[0]) snprintf(r->label, sizeof r->label, "%s", s->name[0] ? s->name : r->id);
        join_values(s, r, s->seed_axis, r->group, sizeof r->group);
        if (!r->group[0]) snprintf(r->group, sizeof r->group, "%s", s->name[0] ? s->name : "run");
        fanin__verdict(r);
    }
    fanin__groups_make(s); /* out of memory: no groups, the runs stay */
}

void fanin__runset_deinit(fanin__runset *s) {
    for (int i = 0; i < s->n_runs; i++) {
        free(s->runs[i].metrics);
        free(s->runs[i].stats);
        free(s->runs[i].hist);
    }
    free(s->runs);
    free(s->groups);
    s->runs = NULL;
    s->groups = NULL;
    s->n_runs = s->cap = s->n_groups = 0;
}

/* ---- writing ---- */

int fanin__runset_write_csv(const fanin__runset *s, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "w");
    if (!f) return fanin__errf(err, errlen, FANIN_EIO, "%s: %s", path, strerror(errno));
    const char *keys[FANIN_MAX_KEYS];
    for (int k = 0; k < s->n_keys; k++) keys[k] = s->keys[k];
    fanin__summary_write_header(f, keys, s->n_keys);
    for (int i = 0; i < s->n_runs; i++) {
        const fanin__run_view *r = &s->runs[i];
        fanin__summary_row row = {.id = r->id,
                                  .status = r->status,
                                  .n_values = s->n_keys,
                                  .final_loss = r->final_loss,
                                  .train_acc = r->train_acc,
                                  .test_acc = r->test_acc,
                                  .iterations = r->iterations,
                                  .seconds = r->seconds};
        for (int k = 0; k < s->n_keys; k++) row.values[k] = r->values[k];
        fanin__summary_write_row(f, &row);
    }
    return fclose(f) == 0 ? FANIN_OK
                          : fanin__errf(err, errlen, FANIN_EIO, "%s: cannot write", path);
}

static void json_layers(FILE *f, const fanin__run_view *r, bool last) {
    const fanin__layer_stats *st = fanin__run_stats_at(r, last);
    fprintf(f, "[");
    for (int l = 0; st && l < r->n_layers; l++) {
        const fanin__layer_stats *x = &st[l];
        fprintf(f, "%s{\"layer\": %d, \"kind\": ", l ? ", " : "", x->layer);
        fanin__json_str(f, x->kind);
        fprintf(f, ", \"block\": %d, \"activation\": ", x->block);
        fanin__json_str(f, x->activation);
        const char *names[] = {"preact_std",   "act_mean",    "act_std", "saturated_frac",
                               "dead_frac",    "grad_norm",   "dz_std",  "weight_std",
                               "update_ratio", "act_abs_mean"};
        double vals[] = {x->preact_std,   x->act_mean,    x->act_std, x->saturated_frac,
                         x->dead_frac,    x->grad_norm,   x->dz_std,  x->weight_std,
                         x->update_ratio, x->act_abs_mean};
        for (int i = 0; i < 10; i++) {
            fprintf(f, ", \"%s\": ", names[i]);
            fanin__json_num(f, "%.6g", vals[i]);
        }
        fputc('}', f);
    }
    fprintf(f, "]");
}

/* ,\n "swept": {"key": "value", ...  (closed by the caller) */
static void json_swept(FILE *f, const fanin__runset *s, const fanin__run_view *r) {
    fprintf(f, ",\n     \"swept\": {");
    for (int k = 0; k < s->n_keys; k++) {
        fprintf(f, "%s", k ? ", " : "");
        fanin__json_str(f, s->keys[k]);
        fprintf(f, ": ");
        fanin__json_str(f, r->values[k]);
    }
}

/* , "flags": ["vanishing", "stalled"] */
static void json_flags(FILE *f, unsigned flags) {
    fprintf(f, ", \"flags\": [");
    int nf = 0;
    for (unsigned b = 1; b <= FANIN_V_LAST; b <<= 1)
        if (flags & b) fprintf(f, "%s\"%s\"", nf++ ? ", " : "", fanin__verdict_flag_name(b));
    fprintf(f, "]");
}

/* , "initial_loss": 0.69, ... : the run's figures and the verdict's */
static void json_figures(FILE *f, const fanin__run_view *r) {
    const char *names[] = {"initial_loss",
                           "final_loss",
                           "train_acc",
                           "test_acc",
                           "seconds",
                           "act_factor_per_layer",
                           "act_ratio_last_first",
                           "grad_ratio_first_out",
                           "weight_scale",
                           "weight_scale_per_gain",
                           "max_saturated_frac",
                           "max_dead_frac",
                           "iters_to_1pct_loss",
                           "residual_blocks",
                           "branch_ratio"};
    const fanin__verdict_figs *g = &r->figs;
    double vals[] = {g->initial_loss,  r->final_loss,   r->train_acc,     r->test_acc,
                     r->seconds,       g->act_factor0,  g->act_ratio0,    g->grad_ratio0,
                     g->weight_scale0, g->weight_gain0, g->max_saturated, g->max_dead,
                     g->iters_to_1pct, g->n_blocks,     g->branch_ratio0};
    for (int i = 0; i < 15; i++) {
        fprintf(f, ", \"%s\": ", names[i]);
        fanin__json_num(f, "%.6g", vals[i]);
    }
}

static void json_run(FILE *f, const fanin__runset *s, const fanin__run_view *r) {
    fprintf(f, "    {\"run\": ");
    fanin__json_str(f, r->id);
    fprintf(f, ", \"member\": %d, \"status\": ", r->member);
    fanin__json_str(f, r->status);
    fprintf(f, ", \"label\": ");
    fanin__json_str(f, r->label);
    fprintf(f, ", \"group\": ");
    fanin__json_str(f, r->group);
    json_swept(f, s, r);
    fprintf(f, "},\n     \"iterations\": %lld, \"n_test\": ", (long long)r->iterations);
    if (r->n_test > 0) fprintf(f, "%lld", (long long)r->n_test);
    else fprintf(f, "null");
    json_figures(f, r);
    fprintf(f, ",\n     \"verdict\": ");
    fanin__json_str(f, r->verdict);
    json_flags(f, r->flags);
    fprintf(f, ",\n     \"layers_initial\": ");
    json_layers(f, r, false);
    fprintf(f, ",\n     \"layers_final\": ");
    json_layers(f, r, true);
    fprintf(f, "}");
}

int fanin__runset_write_json(const fanin__runset *s, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "w");
    if (!f) return fanin__errf(err, errlen, FANIN_EIO, "%s: %s", path, strerror(errno));
    fprintf(f, "{\n  \"name\": ");
    fanin__json_str(f, s->name);
    fprintf(f, ",\n  \"swept_keys\": [");
    for (int k = 0; k < s->n_keys; k++) {
        fprintf(f, "%s", k ? ", " : "");
        fanin__json_str(f, s->keys[k]);
    }
    fprintf(f, "],\n  \"runs\": [\n");
    for (int i = 0; i < s->n_runs; i++) {
        json_run(f, s, &s->runs[i]);
        fprintf(f, "%s\n", i + 1 < s->n_runs ? "," : "");
    }
    fprintf(f, "  ],\n");
    fanin__groups_write_json(f, s);
    fprintf(f, ",\n");
    fanin__width_write_json(f, s);
    fprintf(f, "\n}\n");
    return fclose(f) == 0 ? FANIN_OK
                          : fanin__errf(err, errlen, FANIN_EIO, "%s: cannot write", path);
}
