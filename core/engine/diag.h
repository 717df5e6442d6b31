/* Per-layer diagnostics of a training run (diag.c): the statistics written to layers.csv and
 * the activation histograms written to histograms.csv, read back by the verdict and the report.
 * Private to libfanin, the `fanin` command and the tests. See docs/diagnostics.md.
 */
#ifndef FANIN_DIAG_H
#define FANIN_DIAG_H

#include "engine/model.h"

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>

#define FANIN_HIST_BINS 40

/* One layer's statistics at one iteration: one row of layers.csv. */
typedef struct fanin__layer_stats {
    int64_t iteration; /* the step whose forward/backward they come from (0 = after init) */
    int layer;         /* 1-based, as the report and the verdict name layers */
    int units, fan_in;
    char activation[32];            /* the activation plugin's name */
    double preact_mean, preact_std; /* Z = A_prev W^T + b over the batch */
    double act_mean, act_std;       /* A = f(Z) */
    double saturated_frac;      /* bounded activations: outputs within 1% of the range from a bound;
                              NaN for unbounded ones */
    double dead_frac;           /* units that output exactly 0 on every row of the batch */
    double grad_norm, grad_std; /* Frobenius norm and std of dL/dW */
    double dz_std;              /* std of the back-propagated gradient dL/dZ */
    double weight_std;          /* std of W before the step's update */
    double update_ratio;        /* ||W_after - W_before|| / ||W_before|| (NaN when W_before = 0) */
    double row_spread;          /* max |W[r,i] - W[0,i]| / max |W|: 0 when every unit is the same */
    /* appended columns (older layers.csv files lack them: kind "", block 0, the rest NaN) */
    char kind[24]; /* the layer kind's name: dense, conv2d, residual_open, ... */
    int block;     /* 1-based residual block over the whole network (its open, branch
                              and close); 0 outside any block */
    double alpha;  /* residual_close: the branch's scale alpha (1 for scale 1); else NaN */
    double running_mean, running_var; /* batchnorm: the channels' mean of the running mean and
                                         of the running variance after the step's forward */
    /* appended for the coordinate check (older files: NaN) */
    double act_abs_mean;    /* mean of |A| over the batch's rows and the units: the mup
                               package's coord_check statistic x.abs().mean() */
    double preact_abs_mean; /* the same of |Z| */
    /* conv2d's geometry (0 for the other kinds), so a reader can tell zero padding's share
     * of a change of scale (run/verdict_pad.c) */
    int channels, kernel, stride, pad; /* output channels, square kernel, stride, zeros above */
} fanin__layer_stats;

/* An activation histogram of one layer at one iteration: one row of histograms.csv. */
typedef struct fanin__hist {
    int64_t iteration;
    int layer;     /* 1-based */
    double lo, hi; /* the bins split [lo, hi] evenly */
    int64_t count[FANIN_HIST_BINS];
} fanin__hist;

typedef struct fanin__diag fanin__diag;

/* A recorder for model m writing the statistics to layers_path and the histograms to
 * hist_path (the first at once, the last at close); the caller names the files
 * (run/rundir.h: layers.csv, histograms.csv). Everything it needs while training is allocated
 * here. `every`: record every that many iterations (0 = only the first and last); besides,
 * every iteration 0..N when the experiment (m->x) asks for a coordinate check of N steps
 * (diagnostics.coord_check). resume_at > 0 (a checkpoint's iteration): keep both files' rows
 * before it and continue them, so a resumed run's files equal an uninterrupted run's. Caller
 * owns; free with fanin__diag_free. */
int fanin__diag_new(const fanin_model *m, const char *layers_path, const char *hist_path,
                    int64_t every, int64_t resume_at, fanin__diag **out, char *err, size_t errlen);
/* Does iteration it of `iterations` record statistics? (0, every `every`-th, the last one,
 * and 0..N of a coordinate check) */
bool fanin__diag_due(const fanin__diag *dg, int64_t it, int64_t iterations);
/* Called after the backward pass of a due iteration, before the update: Z, A, dW and dZ (in
 * dA) of the n rows are live. Computes the statistics and keeps a copy of W. */
void fanin__diag_before_update(fanin__diag *dg, const fanin_model *m, int n, int64_t it);
/* Called after the update of the same iteration: finishes the row (update ratio), writes it. */
void fanin__diag_after_update(fanin__diag *dg, const fanin_model *m);
/* Append the last recorded iteration's histograms (unless `interrupted`: the resumed run
 * records the last one) and close the files. */
int fanin__diag_close(fanin__diag *dg, bool interrupted, char *err, size_t errlen);
void fanin__diag_free(fanin__diag *dg); /* NULL is a no-op */

/* layers.csv's header line, and one row (the columns of fanin__layer_stats in order); the
 * recorder writes through these, and so may a tool or test that builds a run folder. */
void fanin__diag_write_header(FILE *f);
void fanin__diag_write_row(FILE *f, const fanin__layer_stats *s);
/* histograms.csv's header line, and one row. */
void fanin__diag_write_hist_header(FILE *f);
void fanin__diag_write_hist(FILE *f, const fanin__hist *h);

/* Output range of an activation by name: [0,1] sigmoid-like, [-1,1] tanh-like; false when
 * unbounded. */
bool fanin__act_bounds(const char *name, double *lo, double *hi);

#endif /* FANIN_DIAG_H */
