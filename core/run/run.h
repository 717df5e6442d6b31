/* Running an experiment's sweep members into a run folder (run.c). Private to libfanin and the
 * `fanin` command. */
#ifndef FANIN_RUN_H
#define FANIN_RUN_H

#include "base/errors.h"
#include "base/fs.h"
#include "config/experiment.h"
#include "data/data.h"
#include "engine/train.h"
#include "plugin/registry.h"

#include <stdint.h>
#include <stdbool.h>

typedef struct fanin__member_result {
    int member;              /* index in the sweep */
    char id[96];             /* folder name: "01-he_normal" */
    char dir[FANIN_PATHLEN]; /* out_dir/id */
    char label[256];         /* the swept values, space separated (or the experiment's name) */
    fanin__result res;
    char message[FANIN_ERRLEN]; /* why it stopped early (diverged, interrupted) */
} fanin__member_result;

typedef struct fanin__run_hooks {
    void *user;
    void (*on_member_start)(void *user, const fanin_experiment *x, const fanin_dataset *d,
                            const fanin__member_result *r);
    int (*on_progress)(void *user, const fanin__progress *p); /* nonzero: interrupt */
    void (*on_member_end)(void *user, const fanin__member_result *r);
    void (*on_warning)(void *user, const char *msg); /* may be NULL */
} fanin__run_hooks;

/* Caller fills the first block; fanin__run fills the rest. */
typedef struct fanin__runner {
    const fanin_config *config;  /* borrowed */
    const fanin_registry *reg;   /* borrowed */
    const char *out_dir;         /* the run folder */
    int threads;                 /* > 0 overrides the experiment's */
    int shard_k, shard_n;        /* run members k-1, k-1+n, ... (1-based k); n <= 1: all */
    bool resume;                 /* keep finished runs in out_dir, continue from checkpoints */
    fanin__run_hooks hooks;

    int n_members;
    fanin__member_result *results; /* n_results rows, in run order (owned) */
    int n_results;
    fanin_dataset *data;           /* cached between members with the same data spec */
    fanin__data_spec data_spec;
    uint64_t data_seed;
    char summary_path[FANIN_PATHLEN]; /* the summary CSV written (rundir.h: one per shard) */
} fanin__runner;

/* Run every member (of the shard); stops at the first error (a diverged run is a result). */
int fanin__run(fanin__runner *rn, char *err, size_t errlen);
/* Load (or reuse) the data x asks for into rn->data. */
int fanin__runner_data(fanin__runner *rn, const fanin_experiment *x, char *err, size_t errlen);
void fanin__runner_deinit(fanin__runner *rn);

#endif /* FANIN_RUN_H */
