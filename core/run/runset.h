/* A finished run folder read back (runset.c): each run's summary row, metrics, per-layer
 * statistics and histograms, and its verdict in words (verdict.c). What merge, the table and
 * the report read. */
#ifndef FANIN_RUN_RUNSET_H
#define FANIN_RUN_RUNSET_H

#include "base/fs.h"
#include "engine/diag.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define FANIN_MAX_KEYS 16

typedef struct fanin__metric_row {
    int64_t iteration;
    double loss, train_acc, test_acc;
} fanin__metric_row;

/* Verdict flags (a run may earn several). */
enum {
    FANIN_V_HEALTHY = 1 << 0,
    FANIN_V_VANISHING = 1 << 1,
    FANIN_V_EXPLODING = 1 << 2,
    FANIN_V_SATURATED = 1 << 3,
    FANIN_V_DEAD = 1 << 4,
    FANIN_V_SYMMETRIC = 1 << 5,
    FANIN_V_STALLED = 1 << 6,
    FANIN_V_DIVERGED = 1 << 7,
    FANIN_V_SHRINKING = 1 << 8, /* activation std falls faster than the level band per layer */
    FANIN_V_GROWING = 1 << 9,   /* ... or rises faster */
    FANIN_V_ROSE = 1 << 10,     /* the cost ended above where it started */
    FANIN_V_LAST = FANIN_V_ROSE,
};

/* The figures the verdict rests on (also written to summary.json). */
typedef struct fanin__verdict_figs {
    double initial_loss, final_loss;
    /* Over the hidden weight layers (dense, conv2d); for a residual net (n_blocks > 0) over the
     * residual stream instead: per block, entering block 1 to after the last block. */
    double act_factor0;   /* per-layer (per-block) factor of activation std, iteration 0 */
    double act_ratio0;    /* act std of the last hidden layer / the first, iteration 0 */
    int n_blocks;         /* residual blocks (0: none) */
    double branch_ratio0; /* mean over blocks of alpha * std(branch output) / std(block input),
                           * iteration 0: how much each block adds to its input */
    double grad_ratio0;   /* dL/dZ std at layer 1 / at the output layer, iteration 0 */
    double weight_scale0; /* mean over hidden layers of weight std * sqrt(fan_in), iteration 0 */
    double weight_gain0;  /* the same, each layer's divided by its activation's gain: 1 keeps
                           * the scale (NaN when an activation's gain is unknown) */
    double max_saturated; /* the largest saturated fraction of a bounded layer (0 or end) */
    double max_dead;      /* the largest dead fraction of a hidden layer at the end */
    double iters_to_1pct; /* first logged iteration with loss <= 1% of the initial; NaN: never */
} fanin__verdict_figs;

typedef struct fanin__run_view {
    char id[96];
    char dir[FANIN_PATHLEN];
    char status[16]; /* done | diverged | interrupted */
    int member;
    char values[FANIN_MAX_KEYS][128]; /* the swept values, in the set's key order */
    char label[256];                  /* the swept values, space separated */
    char group[256];                  /* the same without the seed: runs that repeat each other */
    int group_index;                  /* its configuration: an index in the set's groups */
    double final_loss, train_acc, test_acc, seconds;
    int64_t iterations;
    int64_t n_test;      /* test examples (config.yaml's data.test); 0: unknown */
    int64_t coord_steps; /* config.yaml's diagnostics.coord_check.steps; 0: none */
    int n_metrics;
    fanin__metric_row *metrics; /* owned */
    int n_stats, n_layers;
    fanin__layer_stats *stats; /* layers.csv rows, owned */
    int n_hist;
    fanin__hist *hist; /* histograms.csv rows, owned */
    unsigned flags;    /* FANIN_V_* */
    fanin__verdict_figs figs;
    char verdict[2048];
    char divergence[512]; /* diverged.txt: where the NaN or Inf appeared, or "" */
} fanin__run_view;

typedef struct fanin__runset {
    char name[128];
    int n_keys;
    char keys[FANIN_MAX_KEYS][128]; /* swept keys, from the summary header */
    int seed_key;                   /* index of the first seed axis, or -1 */
    bool seed_axis[FANIN_MAX_KEYS]; /* keys that only repeat a run: seed, data_seed */
    int n_runs, cap;
    fanin__run_view *runs; /* owned */
    int n_groups;
    struct fanin__group *groups; /* owned; made by fanin__runset_finish (groups.c) */
} fanin__runset;

/* Add the rows of a summary CSV (summary.csv or summary-K-of-N.csv) and read each run's folder
 * (next to the CSV). Rows whose run id is already in the set are skipped. */
int fanin__runset_add_summary(fanin__runset *s, const char *csv_path, char *err, size_t errlen);
/* Sort by member, make labels and groups, and judge every run. Call after the last add. */
void fanin__runset_finish(fanin__runset *s);
void fanin__runset_deinit(fanin__runset *s);
/* The combined summary.csv (merge), summary.json, and report.html. */
int fanin__runset_write_csv(const fanin__runset *s, const char *path, char *err, size_t errlen);
int fanin__runset_write_json(const fanin__runset *s, const char *path, char *err, size_t errlen);

/* The rows of layers.csv at one iteration (first: iteration 0; last: the latest), or NULL. */
const fanin__layer_stats *fanin__run_stats_at(const fanin__run_view *r, bool last);
/* Judge one run from its statistics: fills r->flags, r->figs and r->verdict. */
void fanin__verdict(fanin__run_view *r);
/* A flag's one-word name ("vanishing"). */
const char *fanin__verdict_flag_name(unsigned flag);
/* The initialisation gain of an activation by its plugin's name (the built-in plugins' gain at
 * default parameters: relu sqrt 2, tanh 5/3, sigmoid 1, ...); NaN when unknown. */
double fanin__act_gain(const char *activation);

/* ---- groups.c: how sure? runs that differ only by a seed, as one configuration ---- */

enum { FANIN_FIG_LOSS, FANIN_FIG_TRAIN, FANIN_FIG_TEST, FANIN_N_FIGS };

/* One figure over a group's finished runs (status done, value finite). */
typedef struct fanin__stat {
    int n;
    double mean, std; /* std: sample (n - 1); NaN when n < 2 */
    double lo, hi;    /* 95% confidence interval of the mean (Student t); NaN when n < 2 */
    double min, max;  /* the lowest and highest value; NaN when n = 0 */
} fanin__stat;

typedef struct fanin__group {
    int first; /* index in runs of its first member (label: its group) */
    int n_runs, n_diverged;
    fanin__stat fig[FANIN_N_FIGS]; /* final_loss, train_acc, test_acc */
    fanin__stat to1;               /* iterations to 1% of the initial loss, runs that got there */
    double seconds;                /* summed */
    int64_t n_test;                /* the members' test set size; 0: unknown or they differ */
    double test_se;                /* the test set's binomial standard error at the mean
                                     * test accuracy, sqrt(p (1 - p) / n_test); NaN: unknown */
} fanin__group;

/* t such that P(|T| <= t) = 0.95 for Student's t with df degrees of freedom (df >= 1). */
double fanin__t975(int df);
/* Group the runs (s->groups, in member order); called by fanin__runset_finish. */
int fanin__groups_make(fanin__runset *s);
/* The group's 95% interval of figure fig into lo, hi: over its seeds when it has two or more
 * finished runs (returns 2), else the test set's binomial interval p +- 1.96 SE for test_acc
 * (returns 1); 0 when there is none. */
int fanin__group_interval(const fanin__group *g, int fig, double *lo, double *hi);
/* The figure groups are compared by: FANIN_FIG_TEST when every group has a test accuracy,
 * else FANIN_FIG_LOSS. */
int fanin__groups_figure(const fanin__runset *s);
/* The group indices best first (test accuracy, else final loss; groups that only diverged
 * last) into order[s->n_groups]. */
void fanin__groups_ranked(const fanin__runset *s, int *order);
/* One sentence comparing groups a and b on fanin__groups_figure's figure ("he_normal vs
 * lecun_normal: the 95% intervals of test_acc overlap; the difference is within the noise.")
 * into buf. Returns 1 when the intervals overlap, 0 when they do not, -1 (buf empty) when a
 * group has no interval. */
int fanin__groups_compare(const fanin__runset *s, int a, int b, char *buf, size_t len);
/* groups.csv and summary.json's "groups" and "comparisons" (written by fanin__runset_*). */
int fanin__groups_write_csv(const fanin__runset *s, const char *path, char *err, size_t errlen);
void fanin__groups_write_json(FILE *f, const fanin__runset *s);

/* ---- verdict_width.c: width as an axis (coordinate check, learning-rate transfer) ---- */

#define FANIN_WIDTH_MAX 24        /* distinct widths (and learning rates) of one panel */
#define FANIN_WIDTH_MAX_PANELS 8  /* panels: values of the other swept keys */
#define FANIN_WIDTH_MAX_LAYERS 32 /* weight layers followed by the coordinate check */
#define FANIN_COORD_FLAT 0.25     /* |log-log slope| at most this: flat (docs/diagnostics.md) */

/* One coordinate-check panel: the runs sharing the other swept keys' values (seeds and the
 * width's keys aside). v[(t * n_layers + l) * n_widths + w]: the mean over the seeds of the
 * mean |activation| (layers.csv act_abs_mean) at iteration t, layer layer[l], width width[w]. */
typedef struct fanin__coord_panel {
    char name[256]; /* "model.parametrization=mup ..."; "" when no other key varies */
    int n_widths;   /* ascending in width[] */
    double width[FANIN_WIDTH_MAX];
    int n_steps; /* iterations 0..n_steps-1 (the members' smallest coord_check.steps + 1) */
    int n_layers;
    int layer[FANIN_WIDTH_MAX_LAYERS]; /* 1-based layer numbers (weight layers) */
    int out_layer;                     /* the last layer's number (the readout) */
    double *v;                         /* owned; NaN where no run has the row */
    int at;                            /* the iteration of the slopes: the last with every width */
    double slope[FANIN_WIDTH_MAX_LAYERS]; /* least squares of log2 v on log2 width at `at` */
    int trend;                            /* 1 grows, -1 shrinks, 0 flat in width */
    char verdict[512];
} fanin__coord_panel;

/* One learning-rate panel: loss[w * n_lrs + j] is the mean final training loss of the finished
 * runs at width[w], lr[j] (NaN when none finished); diverged[...] counts the others. */
typedef struct fanin__lr_panel {
    char name[256];
    int n_widths, n_lrs;
    double width[FANIN_WIDTH_MAX], lr[FANIN_WIDTH_MAX]; /* both ascending */
    double *loss;                                       /* owned */
    int *diverged;                                      /* owned */
    double best[FANIN_WIDTH_MAX]; /* the lowest loss's lr per width; NaN: none finished */
    double spread;                /* max - min of log2 best over the widths */
    bool line_up;                 /* spread within one step of the grid */
    char verdict[512];
} fanin__lr_panel;

typedef struct fanin__width_view {
    int n_coord, n_lr;
    bool more; /* more panels than FANIN_WIDTH_MAX_PANELS: the rest are not judged */
    fanin__coord_panel coord[FANIN_WIDTH_MAX_PANELS];
    fanin__lr_panel lr[FANIN_WIDTH_MAX_PANELS];
} fanin__width_view;

/* The width of run r: the units of its widest hidden weight layer (layers.csv at iteration 0),
 * else the largest swept value of a key ending in "units"; NaN when neither says. */
double fanin__run_width(const fanin__runset *s, const fanin__run_view *r);
/* The coordinate-check panels (members with coord_check rows, at least 3 widths) and the
 * learning-rate panels (optimizer.lr swept with at least 2 widths) of s into w; either count may
 * be 0. Free with fanin__width_view_deinit. Returns FANIN_OK or FANIN_ENOMEM. */
int fanin__width_view_make(const fanin__runset *s, fanin__width_view *w);
void fanin__width_view_deinit(fanin__width_view *w);
/* The panels' verdicts as text lines ("coordinate check ...:" then one line per panel), for
 * `fanin run`'s printed summary; nothing when there are no panels. */
void fanin__width_print(FILE *f, const fanin__runset *s);
/* summary.json's "coord_check" and "lr_transfer" arrays (`  "coord_check": [...],\n  ...`). */
void fanin__width_write_json(FILE *f, const fanin__runset *s);

#endif /* FANIN_RUN_RUNSET_H */
