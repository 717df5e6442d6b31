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

/* Members handed out by someone else (run/mpi.c: rank 0 to ranks as they become free). Every
 * process of the sweep runs fanin__run with one of these; summary rows travel through `next`. */
typedef struct fanin__run_dist {
    void *user;
    /* Before the first member, after every process has read the rows an earlier invocation
     * finished (resume): the one process that writes summary_path opens it. */
    int (*start)(void *user, const char *summary_path, char *err, size_t errlen);
    /* The next member for this process, or -1 when none is left. `rows` is the summary text
     * (header line and row) of the member it finished last, NULL when none; more = false: this
     * process stops asking (interrupted or failed), rows delivered. */
    int (*next)(void *user, const char *rows, bool more);
    /* After the last member: the summary is complete (the writer waited for every process). */
    int (*finish)(void *user, char *err, size_t errlen);
    bool writes_summary; /* this process writes the summary (and holds the folder lock) */
} fanin__run_dist;

/* Data-parallel training (run/mpi.c): every process runs every member, each step's batch split
 * over them (train.h); rank 0 writes every file, the others nothing. */
typedef struct fanin__data_parallel {
    void (*reduce)(void *user, float *block, size_t n); /* sum over the processes, in place */
    void (*barrier)(void *user);                        /* wait for every process */
    void *user;
    int rank, ranks;
} fanin__data_parallel;

/* Caller fills the first block; fanin__run fills the rest. */
typedef struct fanin__runner {
    const fanin_config *config; /* borrowed */
    const fanin_registry *reg;  /* borrowed */
    const char *out_dir;        /* the run folder */
    int threads;                /* > 0 overrides the experiment's */
    int shard_k, shard_n;       /* run members k-1, k-1+n, ... (1-based k); n <= 1: all */
    bool resume;                /* keep finished runs in out_dir, continue from checkpoints */
    fanin__run_hooks hooks;
    /* each member in a child process (isolate.h): a crash, a hang past `timeout` seconds
     * (> 0) or an error is that member's row (crashed, timeout, failed), and the sweep goes on */
    bool isolate;
    double timeout;
    const fanin__run_dist *dist;    /* NULL: this process runs every member of its shard */
    const fanin__data_parallel *dp; /* NULL: each member trains in one process */

    int n_members;
    int n_failed;  /* members crashed, timed out or failed */
    int fail_code; /* the first of them's error code (FANIN_EIO for a crash or timeout) */
    fanin__member_result *results; /* n_results rows, in run order (owned) */
    int n_results;
    fanin_dataset *data; /* cached between members with the same data spec */
    fanin__data_spec data_spec;
    uint64_t data_seed;
    char summary_path[FANIN_PATHLEN]; /* the summary CSV written (rundir.h: one per shard) */
} fanin__runner;

/* Run every member (of the shard, or as rn->dist hands them out). Without isolation it stops at
 * the first error (a diverged run is a result); with it, only a command-level error (the data
 * cannot be loaded, the folder cannot be written) stops it. */
int fanin__run(fanin__runner *rn, char *err, size_t errlen);
/* Load (or reuse) the data x asks for into rn->data. */
int fanin__runner_data(fanin__runner *rn, const fanin_experiment *x, char *err, size_t errlen);
void fanin__runner_deinit(fanin__runner *rn);

#endif /* FANIN_RUN_H */
