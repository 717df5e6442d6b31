/* Per-layer statistics during training (layers.csv) and activation histograms at the first
 * and last recorded iteration (histograms.csv). Computed only on recording iterations, from the
 * buffers the step already holds (Z, A, dW, dZ after backward; W before and after the update);
 * every buffer is allocated by fanin__diag_new, none in the loop. Rows reach the files as they
 * are recorded (the first histogram too), so a resumed run continues them. Every layer kind has
 * a row: its kind, its residual block, a close's alpha and a batchnorm's running statistics
 * besides the statistics every kind has, and mean |A| and |Z| (the coordinate check, recorded
 * at every iteration 0..N when diagnostics.coord_check asks). Rules: docs/diagnostics.md.
 */
#include "engine/diag.h"
#include "engine/layer.h"
#include "base/errors.h"
#include "base/fs.h"
#include "engine/checkpoint.h"
#include "engine/model.h"
#include "config/experiment.h"

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct fanin__diag {
    int64_t every;
    int64_t coord_steps; /* diagnostics.coord_check.steps: every iteration 0..coord_steps */
    int n_layers;
    FILE *csv;
    char hist_path[FANIN_PATHLEN];
    fanin__layer_stats *rows;  /* [n_layers]: the rows of the pending iteration */
    float *w_before;           /* [n_params]: the parameters before the update */
    unsigned char *alive;      /* [max units]: scratch for the dead-unit count */
    int *block;                /* [n_layers]: each layer's 1-based residual block, 0 outside */
    fanin__hist *first, *last; /* [n_layers] each */
    bool have_first;           /* the first histogram is in hist_path (perhaps from an earlier
                                  invocation of a resumed run) */
    bool have_last, pending;   /* last: recorded after the first, written at close */
    bool hist_failed;          /* writing the first histogram failed */
};

bool fanin__act_bounds(const char *name, double *lo, double *hi) {
    static const char *const unit[] = {"sigmoid", "hard_sigmoid", "logistic", NULL};
    static const char *const sym[] = {"tanh", "softsign", "hardtanh", "hard_tanh", NULL};
    for (int i = 0; unit[i]; i++)
        if (!strcmp(name, unit[i])) return *lo = 0, *hi = 1, true;
    for (int i = 0; sym[i]; i++)
        if (!strcmp(name, sym[i])) return *lo = -1, *hi = 1, true;
    return false;
}

/* mean and population std of x[0..n), in double */
static void moments(const float *x, size_t n, double *mean, double *std) {
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    double mu = n ? s / (double)n : 0;
    for (size_t i = 0; i < n; i++) ss += ((double)x[i] - mu) * ((double)x[i] - mu);
    *mean = mu;
    *std = n ? sqrt(ss / (double)n) : 0;
}

/* mean |x| over x[0..n), in double: the mup package's coord_check statistic
 * (`x.abs().mean()`, mup/coord_check.py FDICT['l1']) */
static double abs_mean(const float *x, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += fabs((double)x[i]);
    return n ? s / (double)n : 0;
}

static double norm2(const float *x, size_t n) {
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    return sqrt(ss);
}

/* max_{r,i} |W[r,i] - W[0,i]| / max |W|; 0 when every row (unit) is the same. W is the
 * layer's [w_rows, w_cols] weight matrix (a conv kernel flattened per output channel). */
static double row_spread(const fanin__layer *L) {
    double d = 0, mx = 0;
    for (int r = 0; r < L->w_rows; r++)
        for (int i = 0; i < L->w_cols; i++) {
            float w = L->W[(size_t)r * L->w_cols + i];
            d = fmax(d, fabs((double)w - L->W[i]));
            mx = fmax(mx, fabs(w));
        }
    return mx > 0 ? d / mx : 0;
}

/* Units (columns of A [n, units]) that are exactly 0 on every row; alive is scratch [units]. */
static double dead_fraction(const fanin__layer *L, int n, unsigned char *alive) {
    memset(alive, 0, (size_t)L->n_out);
    for (int r = 0; r < n; r++) {
        const float *a = L->A + (size_t)r * L->n_out;
        for (int j = 0; j < L->n_out; j++) alive[j] |= a[j] != 0.0f;
    }
    int dead = 0;
    for (int j = 0; j < L->n_out; j++) dead += !alive[j];
    return (double)dead / L->n_out;
}

/* Bounded activations: outputs within 1% of the range (lo..hi) of either bound. */
static double saturated_fraction(const fanin__layer *L, int n, const char *act) {
    double lo, hi;
    if (!fanin__act_bounds(act, &lo, &hi)) return NAN;
    double tol = 0.01 * (hi - lo);
    size_t cells = (size_t)n * L->n_out, sat = 0;
    for (size_t i = 0; i < cells; i++) sat += L->A[i] <= lo + tol || L->A[i] >= hi - tol;
    return cells ? (double)sat / (double)cells : 0;
}

/* The layer's activation plugin's name, or its kind's for kinds without one (pools, norms). */
static const char *act_name(const fanin__layer *L) {
    const fanin__entry *e = L->spec->activation.entry;
    return e ? e->plugin->name : L->kind->name;
}

/* The weight's statistics (NaN for a kind without a weight). */
static void weight_stats(const fanin__layer *L, fanin__layer_stats *s) {
    size_t nw = (size_t)L->w_rows * (size_t)L->w_cols;
    double gm, wm;
    s->grad_std = s->grad_norm = s->weight_std = s->row_spread = NAN;
    if (!L->W || !nw) return;
    moments(L->dW, nw, &gm, &s->grad_std);
    s->grad_norm = norm2(L->dW, nw);
    moments(L->W, nw, &wm, &s->weight_std);
    s->row_spread = row_spread(L);
}

/* What only some kinds have: a residual close's alpha (1 for scale 1), a batchnorm's running
 * statistics summarised as the mean over its C channels of running_mean (B[0..C)) and of
 * running_var (B[C..2C)). NaN for the other kinds. */
static void kind_stats(const fanin__layer *L, fanin__layer_stats *s) {
    int type = L->spec->type;
    snprintf(s->kind, sizeof s->kind, "%s", L->kind->name);
    s->alpha = s->running_mean = s->running_var = NAN;
    s->channels = s->kernel = s->stride = s->pad = 0;
    if (type == FANIN_LAYER_RESIDUAL_CLOSE)
        s->alpha = L->spec->scale == FANIN_SCALE_ONE ? 1.0 : L->P[0];
    if (type == FANIN_LAYER_CONV2D) {
        int total;
        s->channels = L->out.c;
        s->kernel = L->spec->kernel;
        s->stride = fanin__conv_stride(L->spec);
        fanin__conv_pads(L->spec, &s->pad, &total);
    }
    if (type == FANIN_LAYER_BATCHNORM && L->B && L->in.c > 0) {
        double m, v;
        moments(L->B, (size_t)L->in.c, &s->running_mean, &m);
        moments(L->B + L->in.c, (size_t)L->in.c, &s->running_var, &v);
    }
}

static void stats_with(const fanin__layer *L, int n, fanin__layer_stats *s, unsigned char *alive) {
    const char *act = act_name(L);
    size_t cells = (size_t)n * L->n_out;
    snprintf(s->activation, sizeof s->activation, "%s", act);
    s->units = L->n_out;
    s->fan_in = L->W ? L->w_cols : L->n_in;
    moments(L->Z, cells, &s->preact_mean, &s->preact_std);
    moments(L->A, cells, &s->act_mean, &s->act_std);
    s->preact_abs_mean = abs_mean(L->Z, cells);
    s->act_abs_mean = abs_mean(L->A, cells);
    s->saturated_frac = saturated_fraction(L, n, act);
    s->dead_frac = dead_fraction(L, n, alive);
    double dm;
    moments(L->dA, cells, &dm, &s->dz_std); /* after backward dA holds dZ */
    weight_stats(L, s);
    kind_stats(L, s);
    s->update_ratio = NAN;
}

/* Histogram of A [n, units] into h: the activation's range when bounded, else [min, max]. */
static void histogram(const fanin__layer *L, int n, fanin__hist *h) {
    size_t cells = (size_t)n * L->n_out;
    double lo, hi;
    if (!fanin__act_bounds(act_name(L), &lo, &hi)) {
        lo = cells ? L->A[0] : 0;
        hi = lo;
        for (size_t i = 0; i < cells; i++) {
            lo = fmin(lo, L->A[i]);
            hi = fmax(hi, L->A[i]);
        }
        if (!(hi > lo)) { /* every output the same (a zero init): centre a unit range on it */
            lo -= 0.5;
            hi += 0.5;
        }
    }
    h->lo = lo;
    h->hi = hi;
    memset(h->count, 0, sizeof h->count);
    double scale = FANIN_HIST_BINS / (hi - lo);
    for (size_t i = 0; i < cells; i++) {
        double v = L->A[i];
        if (!isfinite(v)) continue;
        int b = (int)((v - lo) * scale);
        h->count[b < 0 ? 0 : b >= FANIN_HIST_BINS ? FANIN_HIST_BINS - 1 : b]++;
    }
}

/* The first 17 columns are those of fanin before layer kinds; new ones are appended, so a
 * reader by position (runset.c) reads old and new files alike. */
static const char layers_header[] =
    "iteration,layer,units,fan_in,activation,preact_mean,preact_std,act_mean,act_std,"
    "saturated_frac,dead_frac,grad_norm,grad_std,dz_std,weight_std,update_ratio,row_spread,"
    "kind,block,alpha,running_mean,running_var,act_abs_mean,preact_abs_mean,channels,kernel,"
    "stride,pad\n";

void fanin__diag_write_header(FILE *f) { fputs(layers_header, f); }

/* Open layers.csv: fresh (resume_at 0), or trimmed to the rows before resume_at and continued;
 * with a kept histograms.csv, the first histogram is already written. */
static int open_files(fanin__diag *dg, const char *layers_path, int64_t resume_at, char *err,
                      size_t errlen) {
    int64_t kept = resume_at > 0 ? fanin__checkpoint_trim_log(layers_path, resume_at) : -1;
    dg->have_first = resume_at > 0 && fanin__checkpoint_trim_log(dg->hist_path, resume_at) > 0;
    if (!(dg->csv = fopen(layers_path, kept >= 0 ? "a" : "w")))
        return fanin__errf(err, errlen, FANIN_EIO, "%s: %s", layers_path, strerror(errno));
    if (kept < 0) fanin__diag_write_header(dg->csv);
    return FANIN_OK;
}

/* block[l] := the 1-based residual block layer l belongs to (open, branch, close), counted
 * over the whole network, or 0: the x axis of the report's per-block charts. */
static void number_blocks(const fanin_model *m, int *block) {
    int n = 0, cur = 0;
    for (int l = 0; l < m->n_layers; l++) {
        int type = m->layers[l].spec->type;
        if (type == FANIN_LAYER_RESIDUAL_OPEN) cur = ++n;
        block[l] = cur;
        if (type == FANIN_LAYER_RESIDUAL_CLOSE) cur = 0;
    }
}

int fanin__diag_new(const fanin_model *m, const char *layers_path, const char *hist_path,
                    int64_t every, int64_t resume_at, fanin__diag **out, char *err, size_t errlen) {
    *out = NULL;
    fanin__diag *dg = calloc(1, sizeof *dg);
    if (!dg) return fanin__errf(err, errlen, FANIN_ENOMEM, "diagnostics: out of memory");
    dg->every = every;
    dg->coord_steps = m->x ? m->x->coord_check_steps : 0;
    dg->n_layers = m->n_layers;
    int wide = 1;
    for (int l = 0; l < m->n_layers; l++)
        if (m->layers[l].n_out > wide) wide = m->layers[l].n_out;
    dg->rows = calloc((size_t)m->n_layers, sizeof *dg->rows);
    dg->w_before = malloc(sizeof(float) * (m->n_params ? m->n_params : 1));
    dg->alive = malloc((size_t)wide);
    dg->first = calloc((size_t)m->n_layers, sizeof *dg->first);
    dg->last = calloc((size_t)m->n_layers, sizeof *dg->last);
    dg->block = calloc((size_t)m->n_layers, sizeof *dg->block);
    if (!dg->rows || !dg->w_before || !dg->alive || !dg->first || !dg->last || !dg->block) {
        fanin__diag_free(dg);
        return fanin__errf(err, errlen, FANIN_ENOMEM, "diagnostics: out of memory");
    }
    number_blocks(m, dg->block);
    snprintf(dg->hist_path, sizeof dg->hist_path, "%s", hist_path);
    int rc = open_files(dg, layers_path, resume_at, err, errlen);
    if (rc < 0) {
        fanin__diag_free(dg);
        return rc;
    }
    *out = dg;
    return FANIN_OK;
}

bool fanin__diag_due(const fanin__diag *dg, int64_t it, int64_t iterations) {
    if (!dg) return false;
    return it <= dg->coord_steps || it == iterations - 1 || (dg->every > 0 && it % dg->every == 0);
}

void fanin__diag_write_hist_header(FILE *f) {
    fprintf(f, "iteration,layer,lo,hi");
    for (int b = 0; b < FANIN_HIST_BINS; b++) fprintf(f, ",c%d", b);
    fputc('\n', f);
}

/* One row of histograms.csv: iteration, layer, range, the bins' counts. */
void fanin__diag_write_hist(FILE *f, const fanin__hist *h) {
    fprintf(f, "%lld,%d,%.9g,%.9g", (long long)h->iteration, h->layer, h->lo, h->hi);
    for (int b = 0; b < FANIN_HIST_BINS; b++) fprintf(f, ",%lld", (long long)h->count[b]);
    fputc('\n', f);
}

/* Write the histograms h[0..n) to path: a new file with its header, or appended. */
static bool write_hists(const char *path, bool append, const fanin__hist *h, int n) {
    FILE *f = fopen(path, append ? "a" : "w");
    if (!f) return false;
    if (!append) fanin__diag_write_hist_header(f);
    for (int l = 0; l < n; l++) fanin__diag_write_hist(f, &h[l]);
    return fclose(f) == 0;
}

void fanin__diag_before_update(fanin__diag *dg, const fanin_model *m, int n, int64_t it) {
    memcpy(dg->w_before, m->params, sizeof(float) * m->n_params);
    fanin__hist *h = dg->have_first ? dg->last : dg->first;
    for (int l = 0; l < m->n_layers; l++) {
        fanin__layer_stats *s = &dg->rows[l];
        stats_with(&m->layers[l], n, s, dg->alive);
        s->iteration = it;
        s->layer = l + 1;
        s->block = dg->block[l];
        histogram(&m->layers[l], n, &h[l]);
        h[l].iteration = it;
        h[l].layer = l + 1;
    }
    if (h == dg->first) /* on disk at once: an interrupted run's resume keeps it */
        dg->hist_failed = !write_hists(dg->hist_path, false, dg->first, dg->n_layers);
    dg->have_last = h == dg->last;
    dg->have_first = true;
    dg->pending = true;
}

void fanin__diag_write_row(FILE *f, const fanin__layer_stats *s) {
    fprintf(f,
            "%lld,%d,%d,%d,%s,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%s,%d,"
            "%.6g,%.6g,%.6g,%.6g,%.6g,%d,%d,%d,%d\n",
            (long long)s->iteration, s->layer, s->units, s->fan_in, s->activation, s->preact_mean,
            s->preact_std, s->act_mean, s->act_std, s->saturated_frac, s->dead_frac, s->grad_norm,
            s->grad_std, s->dz_std, s->weight_std, s->update_ratio, s->row_spread, s->kind,
            s->block, s->alpha, s->running_mean, s->running_var, s->act_abs_mean,
            s->preact_abs_mean, s->channels, s->kernel, s->stride, s->pad);
}

void fanin__diag_after_update(fanin__diag *dg, const fanin_model *m) {
    if (!dg || !dg->pending) return;
    for (int l = 0; l < m->n_layers; l++) {
        const fanin__layer *L = &m->layers[l];
        size_t off = L->W ? (size_t)(L->W - m->params) : 0;
        size_t nw = L->W ? (size_t)L->w_rows * (size_t)L->w_cols : 0;
        double d = 0, w = 0;
        for (size_t i = 0; i < nw; i++) {
            double b = dg->w_before[off + i];
            d += ((double)L->W[i] - b) * ((double)L->W[i] - b);
            w += b * b;
        }
        dg->rows[l].update_ratio = w > 0 ? sqrt(d / w) : NAN;
        fanin__diag_write_row(dg->csv, &dg->rows[l]);
    }
    fflush(dg->csv); /* a kill keeps the rows before the checkpoint (resume trims the rest) */
    dg->pending = false;
}

int fanin__diag_close(fanin__diag *dg, bool interrupted, char *err, size_t errlen) {
    if (!dg || !dg->csv) return FANIN_OK;
    /* a diverged step computed statistics but never reached its update: write them anyway */
    for (int l = 0; dg->pending && l < dg->n_layers; l++)
        fanin__diag_write_row(dg->csv, &dg->rows[l]);
    dg->pending = false;
    int rc = fclose(dg->csv) == 0 && !dg->hist_failed ? FANIN_OK : FANIN_EIO;
    dg->csv = NULL;
    /* an interrupted run's latest histogram is not its last: the resumed run records that */
    if (dg->have_last && !interrupted && !write_hists(dg->hist_path, true, dg->last, dg->n_layers))
        rc = FANIN_EIO;
    return rc < 0 ? fanin__errf(err, errlen, rc, "diagnostics: cannot write the files") : rc;
}

void fanin__diag_free(fanin__diag *dg) {
    if (!dg) return;
    if (dg->csv) fclose(dg->csv);
    free(dg->rows);
    free(dg->w_before);
    free(dg->alive);
    free(dg->first);
    free(dg->last);
    free(dg->block);
    free(dg);
}
