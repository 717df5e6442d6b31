/* A finished run folder read back (runset.c): each run's summary row, metrics, per-layer
 * statistics and histograms, and its verdict in words (verdict.c). What merge, the table and
 * the report read. */
#ifndef FANIN_RUN_RUNSET_H
#define FANIN_RUN_RUNSET_H

#include "base/fs.h"
#include "engine/diag.h"

#include <stdbool.h>
#include <stdint.h>

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
};

/* The figures the verdict rests on (also written to summary.json). */
typedef struct fanin__verdict_figs {
    double initial_loss, final_loss;
    double act_factor0;   /* per-layer factor of activation std over hidden layers, iteration 0 */
    double act_ratio0;    /* act std of the last hidden layer / the first, iteration 0 */
    double grad_ratio0;   /* dL/dZ std at layer 1 / at the output layer, iteration 0 */
    double weight_scale0; /* mean over hidden layers of weight std * sqrt(fan_in), iteration 0 */
    double max_saturated; /* the largest saturated fraction of a bounded layer (0 or end) */
    double max_dead;      /* the largest dead fraction of a hidden layer at the end */
    double iters_to_1pct; /* first logged iteration with loss <= 1% of the initial; NaN: never */
} fanin__verdict_figs;

typedef struct fanin__run_view {
    char id[96];
    char dir[FANIN_PATHLEN];
    char status[16];          /* done | diverged | interrupted */
    int member;
    char values[FANIN_MAX_KEYS][128]; /* the swept values, in the set's key order */
    char label[256];          /* the swept values, space separated */
    char group[256];          /* the same without the seed: runs that repeat each other */
    double final_loss, train_acc, test_acc, seconds;
    int64_t iterations;
    int n_metrics;
    fanin__metric_row *metrics;  /* owned */
    int n_stats, n_layers;
    fanin__layer_stats *stats;   /* layers.csv rows, owned */
    int n_hist;
    fanin__hist *hist;           /* histograms.csv rows, owned */
    unsigned flags;              /* FANIN_V_* */
    fanin__verdict_figs figs;
    char verdict[2048];
    char divergence[512];        /* diverged.txt: where the NaN or Inf appeared, or "" */
} fanin__run_view;

typedef struct fanin__runset {
    char name[128];
    int n_keys;
    char keys[FANIN_MAX_KEYS][128]; /* swept keys, from the summary header */
    int seed_key;                   /* index of the key "seed", or -1 */
    int n_runs, cap;
    fanin__run_view *runs;          /* owned */
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

#endif /* FANIN_RUN_RUNSET_H */
