/* Width as an axis, judged across the runs of a folder: the coordinate check (each layer's
 * mean |activation| against width at every recorded iteration 0..N; the mup package's
 * coord_check, Yang et al. 2021, "Tensor Programs V", sec. 7 and fig. 5) and the learning-rate
 * transfer (final training loss against the learning rate, one curve per width: muTransfer).
 * Panels, slopes and verdicts here; their pictures in report_coord.c. Rules and thresholds:
 * docs/diagnostics.md, "Width: coordinate check and learning-rate transfer".
 */
#include "base/errors.h"
#include "base/json.h"
#include "run/rundir.h"
#include "run/runset.h"
#include "run/verdict.h"

#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 256 /* coordinate-check iterations kept per panel (0..255) */
#define LR_KEY "optimizer.lr"

static bool ends_with(const char *s, const char *t) {
    size_t n = strlen(s), m = strlen(t);
    return n >= m && !strcmp(s + n - m, t);
}

double fanin__run_width(const fanin__runset *s, const fanin__run_view *r) {
    const fanin__layer_stats *st = fanin__run_stats_at(r, false);
    double w = 0;
    for (int l = 0; st && l + 1 < r->n_layers; l++) /* the last layer is the readout */
        if (fanin__verdict_has_weight(&st[l]) && st[l].units > w) w = st[l].units;
    for (int k = 0; w == 0 && k < s->n_keys; k++) /* no layers.csv: a swept `units` key */
        if (ends_with(s->keys[k], "units")) w = fmax(w, strtod(r->values[k], NULL));
    return w > 0 ? w : NAN;
}

/* Does key k set the width? A key ending in "units", or one whose every value gives a single
 * width while its values give at least two (model.layers.0.units under any name). */
static bool is_width_key(const fanin__runset *s, const double *width, int k) {
    if (s->seed_axis[k]) return false;
    if (ends_with(s->keys[k], "units")) return true;
    bool two = false;
    for (int i = 0; i < s->n_runs; i++)
        for (int j = i + 1; j < s->n_runs; j++) {
            if (!isfinite(width[i]) || !isfinite(width[j]) || width[i] == width[j]) continue;
            if (!strcmp(s->runs[i].values[k], s->runs[j].values[k])) return false;
            two = true;
        }
    return two;
}

/* Does key k take two values or more? */
static bool varies(const fanin__runset *s, int k) {
    for (int i = 1; i < s->n_runs; i++)
        if (strcmp(s->runs[i].values[k], s->runs[0].values[k])) return true;
    return false;
}

/* "key=value key=value" of the keys that vary and are not skipped: run r's panel. */
static void panel_name(const fanin__runset *s, const fanin__run_view *r, const bool *skip,
                       char *out, size_t len) {
    out[0] = 0;
    for (int k = 0; k < s->n_keys; k++) {
        size_t u = strlen(out);
        if (!skip[k] && u < len)
            snprintf(out + u, len - u, "%s%s=%s", u ? " " : "", s->keys[k], r->values[k]);
    }
}

/* Insert v into the ascending list a[*n] unless present; false when full. */
static bool add_sorted(double *a, int *n, double v) {
    int i = 0;
    while (i < *n && a[i] < v) i++;
    if (i < *n && a[i] == v) return true;
    if (*n >= FANIN_WIDTH_MAX) return false;
    memmove(a + i + 1, a + i, sizeof *a * (size_t)(*n - i));
    a[i] = v;
    (*n)++;
    return true;
}

static int index_of(const double *a, int n, double v) {
    for (int i = 0; i < n; i++)
        if (a[i] == v) return i;
    return -1;
}

/* Least-squares slope of y on x over the points where both are finite; NaN below 3 points. */
static double ls_slope(const double *x, const double *y, int n) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) continue;
        sx += x[i], sy += y[i], sxx += x[i] * x[i], sxy += x[i] * y[i];
        m++;
    }
    double d = m * sxx - sx * sx;
    return m >= 3 && d > 0 ? (m * sxy - sx * sy) / d : NAN;
}

/* ---- the coordinate check ---- */

/* Row (iteration t, layer) of r, or NULL. Rows come in blocks of n_layers in iteration
 * order; with a coordinate check, block t is iteration t. */
static const fanin__layer_stats *row_at(const fanin__run_view *r, int64_t t, int layer) {
    int nl = r->n_layers, blocks = nl > 0 ? r->n_stats / nl : 0;
    if (layer < 1 || layer > nl) return NULL;
    for (int b = t < blocks ? (int)t : 0; b < blocks; b++) {
        const fanin__layer_stats *st = &r->stats[(size_t)b * nl];
        if (st->iteration == t) return st[layer - 1].layer == layer ? &st[layer - 1] : NULL;
        if (st->iteration > t) break;
    }
    return NULL;
}

static bool has_coord(const fanin__run_view *r, double width) {
    const fanin__layer_stats *st = row_at(r, 0, 1);
    return r->coord_steps > 0 && isfinite(width) && st && isfinite(st->act_abs_mean);
}

/* The panel named `name` in w, a new one when there is room, or NULL. */
static fanin__coord_panel *coord_panel(fanin__width_view *w, const char *name) {
    for (int i = 0; i < w->n_coord; i++)
        if (!strcmp(w->coord[i].name, name)) return &w->coord[i];
    if (w->n_coord == FANIN_WIDTH_MAX_PANELS) {
        w->more = true; /* said in the text and the report */
        return NULL;
    }
    fanin__coord_panel *p = &w->coord[w->n_coord++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->n_steps = MAX_STEPS;
    return p;
}

/* A panel's first run sets its layers: the weight layers of its iteration 0. */
static void coord_layers(fanin__coord_panel *p, const fanin__run_view *r) {
    const fanin__layer_stats *st = fanin__run_stats_at(r, false);
    for (int l = 0; st && l < r->n_layers && p->n_layers < FANIN_WIDTH_MAX_LAYERS; l++)
        if (fanin__verdict_has_weight(&st[l])) p->layer[p->n_layers++] = st[l].layer;
    p->out_layer = r->n_layers;
}

/* v := the mean over the panel's runs (seeds) of act_abs_mean, per (step, layer, width). */
static int coord_means(fanin__coord_panel *p, const fanin__runset *s, const double *width,
                       const bool *skip) {
    size_t cells = (size_t)p->n_steps * p->n_layers * p->n_widths;
    p->v = calloc(cells ? cells : 1, sizeof *p->v);
    int *cnt = calloc(cells ? cells : 1, sizeof *cnt);
    if (!p->v || !cnt) {
        free(cnt);
        return FANIN_ENOMEM;
    }
    char name[256];
    for (int i = 0; i < s->n_runs; i++) {
        const fanin__run_view *r = &s->runs[i];
        panel_name(s, r, skip, name, sizeof name);
        int w = index_of(p->width, p->n_widths, width[i]);
        if (w < 0 || strcmp(name, p->name) || !has_coord(r, width[i])) continue;
        for (int t = 0; t < p->n_steps; t++)
            for (int l = 0; l < p->n_layers; l++) {
                const fanin__layer_stats *st = row_at(r, t, p->layer[l]);
                size_t c = ((size_t)t * p->n_layers + l) * p->n_widths + w;
                if (st && isfinite(st->act_abs_mean)) p->v[c] += st->act_abs_mean, cnt[c]++;
            }
    }
    for (size_t c = 0; c < cells; c++) p->v[c] = cnt[c] ? p->v[c] / cnt[c] : NAN;
    free(cnt);
    return FANIN_OK;
}

/* The slope of every layer at iteration t (NaN where fewer than 3 widths have a value). */
static int coord_slopes_at(fanin__coord_panel *p, int t, double *slope) {
    double x[FANIN_WIDTH_MAX], y[FANIN_WIDTH_MAX];
    int ok = 0;
    for (int w = 0; w < p->n_widths; w++) x[w] = log2(p->width[w]);
    for (int l = 0; l < p->n_layers; l++) {
        const double *v = &p->v[((size_t)t * p->n_layers + l) * p->n_widths];
        for (int w = 0; w < p->n_widths; w++) y[w] = v[w] > 0 ? log2(v[w]) : NAN;
        slope[l] = ls_slope(x, y, p->n_widths);
        ok += isfinite(slope[l]);
    }
    return ok;
}

/* v to two decimals, never "-0.00" */
static double two_places(double v) {
    v = round(v * 100) / 100;
    return v == 0 ? 0 : v;
}

/* "flat in width (slopes -0.03..0.05 over 3 layers, iteration 3)", "grows with width (layer
 * 2's slope 0.87: x1.83 per doubling; ...)" or "shrinks ...". */
static void coord_verdict(fanin__coord_panel *p) {
    int hi = -1, lo = -1;
    for (int l = 0; l < p->n_layers; l++) {
        if (!isfinite(p->slope[l])) continue;
        if (hi < 0 || p->slope[l] > p->slope[hi]) hi = l;
        if (lo < 0 || p->slope[l] < p->slope[lo]) lo = l;
    }
    p->trend = p->slope[hi] > FANIN_COORD_FLAT ? 1 : p->slope[lo] < -FANIN_COORD_FLAT ? -1 : 0;
    int k = p->trend > 0 ? hi : lo;
    char range[160];
    snprintf(range, sizeof range, "slopes %.2f..%.2f over %d layers, iteration %d",
             two_places(p->slope[lo]), two_places(p->slope[hi]), p->n_layers, p->at);
    if (p->trend == 0) snprintf(p->verdict, sizeof p->verdict, "flat in width (%s)", range);
    else
        snprintf(p->verdict, sizeof p->verdict,
                 "%s with width (layer %d's slope %.2f: x%.2f per doubling; %s)",
                 p->trend > 0 ? "grows" : "shrinks", p->layer[k], two_places(p->slope[k]),
                 pow(2, p->slope[k]), range);
}

/* Slopes at the last iteration where every layer has at least 3 widths; false when none. */
static bool coord_judge(fanin__coord_panel *p) {
    double slope[FANIN_WIDTH_MAX_LAYERS];
    p->at = -1;
    for (int t = 0; t < p->n_steps; t++)
        if (p->n_layers && coord_slopes_at(p, t, slope) == p->n_layers) {
            p->at = t;
            memcpy(p->slope, slope, sizeof slope);
        }
    if (p->at < 0) return false;
    coord_verdict(p);
    return true;
}

static int coord_view(const fanin__runset *s, const double *width, const bool *skip,
                      fanin__width_view *w) {
    char name[256];
    for (int i = 0; i < s->n_runs; i++) {
        const fanin__run_view *r = &s->runs[i];
        if (!has_coord(r, width[i])) continue;
        panel_name(s, r, skip, name, sizeof name);
        fanin__coord_panel *p = coord_panel(w, name);
        if (!p || !add_sorted(p->width, &p->n_widths, width[i])) continue;
        if (!p->n_layers) coord_layers(p, r);
        if (r->coord_steps + 1 < p->n_steps) p->n_steps = (int)r->coord_steps + 1;
    }
    int kept = 0, rc = FANIN_OK, n = w->n_coord;
    for (int i = 0; i < n; i++) { /* keep the panels with 3 widths and a slope */
        fanin__coord_panel p = w->coord[i];
        bool use = rc == FANIN_OK && p.n_widths >= 3;
        if (use) rc = coord_means(&p, s, width, skip);
        if (use && rc == FANIN_OK && coord_judge(&p)) w->coord[kept++] = p;
        else free(p.v);
    }
    w->n_coord = kept;
    return rc;
}

/* ---- the learning-rate transfer ---- */

static fanin__lr_panel *lr_panel(fanin__width_view *w, const char *name) {
    for (int i = 0; i < w->n_lr; i++)
        if (!strcmp(w->lr[i].name, name)) return &w->lr[i];
    if (w->n_lr == FANIN_WIDTH_MAX_PANELS) {
        w->more = true; /* said in the text and the report */
        return NULL;
    }
    fanin__lr_panel *p = &w->lr[w->n_lr++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    return p;
}

/* loss := the mean final loss of the finished runs per (width, lr); diverged: the others. */
static int lr_means(fanin__lr_panel *p, const fanin__runset *s, const double *width,
                    const bool *skip, int lk) {
    size_t cells = (size_t)p->n_widths * p->n_lrs;
    p->loss = calloc(cells, sizeof *p->loss);
    p->diverged = calloc(cells, sizeof *p->diverged);
    int *cnt = calloc(cells, sizeof *cnt);
    if (!p->loss || !p->diverged || !cnt) {
        free(cnt);
        return FANIN_ENOMEM;
    }
    char name[256];
    for (int i = 0; i < s->n_runs; i++) {
        const fanin__run_view *r = &s->runs[i];
        panel_name(s, r, skip, name, sizeof name);
        int w = index_of(p->width, p->n_widths, width[i]);
        int j = index_of(p->lr, p->n_lrs, strtod(r->values[lk], NULL));
        if (w < 0 || j < 0 || strcmp(name, p->name)) continue;
        size_t c = (size_t)w * p->n_lrs + j;
        bool done = !strcmp(r->status, fanin__summary_status(FANIN_OK));
        if (done && isfinite(r->final_loss)) p->loss[c] += r->final_loss, cnt[c]++;
        else p->diverged[c]++;
    }
    for (size_t c = 0; c < cells; c++) p->loss[c] = cnt[c] ? p->loss[c] / cnt[c] : NAN;
    free(cnt);
    return FANIN_OK;
}

/* "2^-9" for a power of two, else "0.003". */
static const char *lr_text(char *b, double lr) {
    double e = log2(lr);
    if (fabs(e - round(e)) < 0.02) snprintf(b, 32, "2^%d", (int)round(e));
    else snprintf(b, 32, "%.3g", lr);
    return b;
}

/* The best lr per width, their spread in log2 and the grid's step, then the sentence. */
static void lr_judge(fanin__lr_panel *p) {
    double lo = INFINITY, hi = -INFINITY, step = INFINITY;
    bool edge = false;
    for (int j = 1; j < p->n_lrs; j++) step = fmin(step, log2(p->lr[j]) - log2(p->lr[j - 1]));
    for (int w = 0; w < p->n_widths; w++) {
        int b = -1;
        for (int j = 0; j < p->n_lrs; j++) {
            double v = p->loss[(size_t)w * p->n_lrs + j];
            if (isfinite(v) && (b < 0 || v < p->loss[(size_t)w * p->n_lrs + b])) b = j;
        }
        p->best[w] = b < 0 ? NAN : p->lr[b];
        if (b < 0) continue;
        lo = fmin(lo, log2(p->best[w]));
        hi = fmax(hi, log2(p->best[w]));
        edge = edge || b == 0 || b == p->n_lrs - 1;
    }
    p->spread = hi >= lo ? hi - lo : NAN;
    p->line_up = p->spread <= step + 1e-9;
    char b[32];
    size_t u;
    if (p->spread == 0) {
        snprintf(p->verdict, sizeof p->verdict, "minima line up: best lr %s at every width",
                 lr_text(b, exp2(lo)));
    } else {
        snprintf(p->verdict, sizeof p->verdict, "%s: best lr",
                 !isfinite(p->spread) ? "no finished run"
                 : p->line_up         ? "minima line up within one step of the grid"
                                      : "drift");
        for (int w = 0; w < p->n_widths && isfinite(p->spread); w++)
            if (isfinite(p->best[w]) && (u = strlen(p->verdict)) < sizeof p->verdict)
                snprintf(p->verdict + u, sizeof p->verdict - u, "%s %s at width %g", w ? "," : "",
                         lr_text(b, p->best[w]), p->width[w]);
    }
    int div = 0;
    for (int c = 0; c < p->n_widths * p->n_lrs; c++) div += p->diverged[c];
    if (edge && (u = strlen(p->verdict)) < sizeof p->verdict)
        snprintf(p->verdict + u, sizeof p->verdict - u,
                 "; a best lr at the edge of the grid (the minimum may lie beyond)");
    if (div && (u = strlen(p->verdict)) < sizeof p->verdict)
        snprintf(p->verdict + u, sizeof p->verdict - u, "; %d run%s diverged (left out)", div,
                 div > 1 ? "s" : "");
}

static int lr_view(const fanin__runset *s, const double *width, const bool *skip, int lk,
                   fanin__width_view *w) {
    char name[256];
    for (int i = 0; i < s->n_runs; i++) {
        const fanin__run_view *r = &s->runs[i];
        double lr = strtod(r->values[lk], NULL);
        if (!isfinite(width[i]) || !(lr > 0)) continue;
        panel_name(s, r, skip, name, sizeof name);
        fanin__lr_panel *p = lr_panel(w, name);
        if (p && add_sorted(p->width, &p->n_widths, width[i])) add_sorted(p->lr, &p->n_lrs, lr);
    }
    int kept = 0, rc = FANIN_OK, n = w->n_lr;
    for (int i = 0; i < n; i++) { /* keep the panels with 2 widths and 2 learning rates */
        fanin__lr_panel p = w->lr[i];
        bool use = rc == FANIN_OK && p.n_widths >= 2 && p.n_lrs >= 2;
        if (use) rc = lr_means(&p, s, width, skip, lk);
        if (use && rc == FANIN_OK) {
            lr_judge(&p);
            w->lr[kept++] = p;
        } else {
            free(p.loss);
            free(p.diverged);
        }
    }
    w->n_lr = kept;
    return rc;
}

/* ---- both ---- */

int fanin__width_view_make(const fanin__runset *s, fanin__width_view *w) {
    w->n_coord = w->n_lr = 0;
    w->more = false;
    double *width = malloc(sizeof *width * (size_t)(s->n_runs + 1));
    if (!width) return FANIN_ENOMEM;
    for (int i = 0; i < s->n_runs; i++) width[i] = fanin__run_width(s, &s->runs[i]);
    bool skip[FANIN_MAX_KEYS] = {0};
    int lk = -1;
    for (int k = 0; k < s->n_keys; k++) {
        skip[k] = s->seed_axis[k] || !varies(s, k) || is_width_key(s, width, k);
        if (!strcmp(s->keys[k], LR_KEY) && !skip[k]) lk = k;
    }
    int rc = coord_view(s, width, skip, w);
    if (rc == FANIN_OK && lk >= 0) {
        skip[lk] = true; /* the lr is the chart's x axis, not a panel */
        rc = lr_view(s, width, skip, lk, w);
    }
    free(width);
    if (rc < 0) fanin__width_view_deinit(w);
    return rc;
}

void fanin__width_view_deinit(fanin__width_view *w) {
    for (int i = 0; i < w->n_coord; i++) free(w->coord[i].v);
    for (int i = 0; i < w->n_lr; i++) free(w->lr[i].loss), free(w->lr[i].diverged);
    w->n_coord = w->n_lr = 0;
}

void fanin__width_print(FILE *f, const fanin__runset *s) {
    fanin__width_view *w = malloc(sizeof *w);
    if (!w || fanin__width_view_make(s, w) < 0) {
        free(w);
        return;
    }
    if (w->n_coord)
        fprintf(f,
                "\ncoordinate check (mean |activation| against width, log-log slope per "
                "layer; flat within +-%g):\n",
                FANIN_COORD_FLAT);
    for (int i = 0; i < w->n_coord; i++)
        fprintf(f, "  %s: %s\n", w->coord[i].name[0] ? w->coord[i].name : "all runs",
                w->coord[i].verdict);
    if (w->n_lr) fprintf(f, "\nlearning rate against width (the lowest final training loss):\n");
    for (int i = 0; i < w->n_lr; i++)
        fprintf(f, "  %s: %s\n", w->lr[i].name[0] ? w->lr[i].name : "all runs", w->lr[i].verdict);
    if (w->more)
        fprintf(f,
                "  (more than %d values of the other swept keys: only the first %d are judged)\n",
                FANIN_WIDTH_MAX_PANELS, FANIN_WIDTH_MAX_PANELS);
    fanin__width_view_deinit(w);
    free(w);
}

static void json_nums(FILE *f, const char *key, const double *v, int n) {
    fprintf(f, ", \"%s\": [", key);
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s", i ? ", " : "");
        fanin__json_num(f, "%.6g", v[i]);
    }
    fprintf(f, "]");
}

static void json_coord(FILE *f, const fanin__coord_panel *p) {
    static const char *const trend[] = {"shrinks", "flat", "grows"};
    double layers[FANIN_WIDTH_MAX_LAYERS];
    for (int l = 0; l < p->n_layers; l++) layers[l] = p->layer[l];
    fprintf(f, "\n    {\"panel\": ");
    fanin__json_str(f, p->name);
    json_nums(f, "widths", p->width, p->n_widths);
    fprintf(f, ", \"iteration\": %d", p->at);
    json_nums(f, "layers", layers, p->n_layers);
    json_nums(f, "slopes", p->slope, p->n_layers);
    fprintf(f, ", \"trend\": \"%s\", \"verdict\": ", trend[p->trend + 1]);
    fanin__json_str(f, p->verdict);
    fprintf(f, "}");
}

static void json_lr(FILE *f, const fanin__lr_panel *p) {
    fprintf(f, "\n    {\"panel\": ");
    fanin__json_str(f, p->name);
    json_nums(f, "widths", p->width, p->n_widths);
    json_nums(f, "lrs", p->lr, p->n_lrs);
    json_nums(f, "best_lr", p->best, p->n_widths);
    fprintf(f, ", \"spread_log2\": ");
    fanin__json_num(f, "%.6g", p->spread);
    fprintf(f, ", \"line_up\": %s, \"verdict\": ", p->line_up ? "true" : "false");
    fanin__json_str(f, p->verdict);
    fprintf(f, "}");
}

void fanin__width_write_json(FILE *f, const fanin__runset *s) {
    fanin__width_view *w = malloc(sizeof *w);
    bool ok = w && fanin__width_view_make(s, w) == FANIN_OK;
    int nc = ok ? w->n_coord : 0, nl = ok ? w->n_lr : 0;
    fprintf(f, "  \"coord_check\": [");
    for (int i = 0; i < nc; i++) fprintf(f, "%s", i ? "," : ""), json_coord(f, &w->coord[i]);
    fprintf(f, "%s],\n  \"lr_transfer\": [", nc ? "\n  " : "");
    for (int i = 0; i < nl; i++) fprintf(f, "%s", i ? "," : ""), json_lr(f, &w->lr[i]);
    fprintf(f, "%s]", nl ? "\n  " : "");
    if (ok) fanin__width_view_deinit(w);
    free(w);
}
