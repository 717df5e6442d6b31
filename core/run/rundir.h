/* The run folder's layout (rundir.c): every file name in a run folder and in its member folders,
 * the shard naming (summary-K-of-N.csv), the folder lock, the folder a new run goes to (never
 * over an earlier run: NAME-2, ...), and the summary CSV's format (header, rows, the one CSV
 * splitter). Everything that writes or reads a run folder names its files
 * here. Not what the files hold besides the summary (diag.c, report.c, runset.c do that). */
#ifndef FANIN_RUN_RUNDIR_H
#define FANIN_RUN_RUNDIR_H

#include "base/fs.h"
#include "config/experiment.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- file names ---- */

typedef enum fanin__rundir_file {
    /* in a member folder (out/03-normal-std=0.01/) */
    FANIN_RUNDIR_CONFIG,     /* config.yaml: the resolved member, rerunnable as is */
    FANIN_RUNDIR_METRICS,    /* metrics.csv: loss and accuracy per logged iteration */
    FANIN_RUNDIR_LAYERS,     /* layers.csv: per-layer statistics (engine/diag.c) */
    FANIN_RUNDIR_HISTOGRAMS, /* histograms.csv: activation histograms (engine/diag.c) */
    FANIN_RUNDIR_MODEL,      /* model.safetensors: the trained parameters */
    FANIN_RUNDIR_CHECKPOINT, /* checkpoint.bin: an unfinished member's state, for --resume */
    FANIN_RUNDIR_DIVERGED,   /* diverged.txt: where the NaN or Inf appeared */
    FANIN_RUNDIR_FAILED,     /* failed.txt: why a member crashed, timed out or failed */
    /* in the run folder */
    FANIN_RUNDIR_ARGS, /* run.args: how the run was started, for --resume DIR */
    /* in the run folder, one per shard: NAME, or NAME-K-of-N for shard K of N */
    FANIN_RUNDIR_SUMMARY_CSV,  /* summary.csv: one row per member */
    FANIN_RUNDIR_SUMMARY_JSON, /* summary.json: the rows with their figures and verdicts */
    FANIN_RUNDIR_REPORT,       /* report.html */
    FANIN_RUNDIR_LOCK,         /* .summary.csv.lock: held while a fanin writes the summary */
    FANIN_RUNDIR_GROUPS_CSV,   /* groups.csv: one row per configuration, runs differing only by
                                * a seed pooled: n, mean, std, 95% interval (run/groups.c) */
} fanin__rundir_file;

/* The file's name, unsharded ("summary.csv"). Static storage. */
const char *fanin__rundir_name(fanin__rundir_file f);
/* The file's name for shard k of n into buf: the plain name when n <= 1 or f is not per
 * shard, "summary-2-of-4.csv" otherwise, "summary-K-of-N.csv" (for messages) when k is 0.
 * FANIN_EINVAL when it does not fit in len. */
int fanin__rundir_shard_name(char *buf, size_t len, fanin__rundir_file f, int k, int n);
/* dir/name of the file into out; FANIN_EINVAL when it does not fit. */
int fanin__rundir_path(char out[FANIN_PATHLEN], const char *dir, fanin__rundir_file f);
/* dir/name of shard k of n's file (as fanin__rundir_shard_name) into out; FANIN_EINVAL when it
 * does not fit. */
int fanin__rundir_shard_path(char out[FANIN_PATHLEN], const char *dir, fanin__rundir_file f, int k,
                             int n);
/* Is `name` (a file name, no folder) a summary CSV: summary.csv (*k = *n = 0) or
 * summary-K-of-N.csv with 1 <= K <= N (*k = K, *n = N)? k and n may be NULL. */
bool fanin__rundir_is_summary(const char *name, int *k, int *n);
/* The member folder's name for member x of n_members: its index and swept values, safe as a
 * folder name ("03-normal-std=0.01"), into id. */
void fanin__rundir_member_id(const fanin_experiment *x, int n_members, char *id, size_t len);

/* ---- the folder lock ---- */

/* Take an exclusive lock on dir's lock file for shard k of n (the summary it guards), held
 * until the process ends; shards write their own summaries, so they may share a folder.
 * FANIN_EINVAL (message in err) when the file cannot be made or another fanin holds it. */
int fanin__rundir_lock(const char *dir, int k, int n, char *err, size_t errlen);
/* In a worker process (sweep members', run/isolate.h): close its copy of the lock, which
 * stays with the parent, so a child outliving a killed parent never blocks --resume. */
void fanin__rundir_lock_drop(void);

/* ---- choosing the folder of a new run ---- */

/* What fanin__rundir_choose did with the folder asked for. */
typedef enum fanin__rundir_choice {
    FANIN_RUNDIR_AS_ASKED, /* it was free (missing or empty), or a shard joins or rewrites it */
    FANIN_RUNDIR_BESIDE,   /* it holds an earlier run: the new one goes to want-2, -3, ... */
    FANIN_RUNDIR_REPLACED, /* it held an earlier run, deleted for --overwrite */
} fanin__rundir_choice;

/* Where a new run (not a resume) asked to write into `want` goes, into out: `want` itself when
 * it does not exist or is empty; when it holds an earlier run, the first of want-2, want-3, ...
 * that does not, or with `overwrite` `want` emptied first. Shard k of n (n > 1) shares its
 * folder with the other shards: only its own summary makes the folder an earlier run's, and
 * `overwrite` deletes nothing (the shard rewrites its own files). FANIN_EINVAL (message in
 * err) when another fanin is writing to `want`, or `overwrite` meets a folder fanin did not
 * write (no run.args, no summary); FANIN_EIO when it cannot be emptied. */
int fanin__rundir_choose(char out[FANIN_PATHLEN], const char *want, bool overwrite, int k, int n,
                         fanin__rundir_choice *what, char *err, size_t errlen);

/* ---- the summary CSV ---- */

#define FANIN_SUMMARY_MAX_KEYS 64                           /* swept keys a row may carry */
#define FANIN_SUMMARY_MAX_COLS (FANIN_SUMMARY_MAX_KEYS + 7) /* run, status, keys, 5 figures */

/* One summary row. The strings are borrowed: from the caller when writing, from the fields
 * given to fanin__summary_parse_row when reading. */
typedef struct fanin__summary_row {
    const char *id;     /* the member folder's name */
    const char *status; /* fanin__summary_status(): done | diverged | interrupted | crashed |
                         * timeout | failed */
    int n_values;
    const char *values[FANIN_SUMMARY_MAX_KEYS]; /* the swept values, in the header's key order */
    double final_loss, train_acc, test_acc;
    int64_t iterations;
    double seconds;
} fanin__summary_row;

/* Status codes of a member that did not finish, besides the public FANIN_EDIVERGED and
 * FANIN_EINTR: its process died by a signal, ran past the time limit, or returned an error. */
#define FANIN_RUN_CRASHED (-1001)
#define FANIN_RUN_TIMEOUT (-1002)
#define FANIN_RUN_FAILED (-1003)
/* Whether status is one of the three above (crashed, timeout, failed: no result). */
#define FANIN_RUN_NO_RESULT(status) ((status) <= FANIN_RUN_CRASHED && (status) >= FANIN_RUN_FAILED)

/* Split one line in place into at most max fields (the line end dropped); "quoted, with
 * commas" and "" escapes. Returns the number of fields; fields point into line. */
int fanin__csv_split(char *line, char **fields, int max);
/* The status column's word for a run's status code: done (FANIN_OK), diverged, interrupted,
 * crashed, timeout, failed (FANIN_RUN_*). */
const char *fanin__summary_status(int status);
/* The status code for a status word; FANIN_OK for "done" (and anything unknown). */
int fanin__summary_status_code(const char *word);
/* Write the header line: run,status,KEY...,final_loss,train_acc,test_acc,iterations,seconds. */
void fanin__summary_write_header(FILE *f, const char *const *keys, int n_keys);
/* Write one row (values quoted, figures as %.9g, %.6g, %.6g, integer, %.3f). */
void fanin__summary_write_row(FILE *f, const fanin__summary_row *r);
/* The number of swept keys of a header split into n fields (the keys are fields[2...]), or
 * FANIN_EINVAL when it is not a summary header. */
int fanin__summary_parse_header(char *const *fields, int n);
/* A row from its n split fields (the figures are the last five); FANIN_EINVAL when it has too
 * few or too many. The strings in r point at the fields. */
int fanin__summary_parse_row(char *const *fields, int n, fanin__summary_row *r);

#endif /* FANIN_RUN_RUNDIR_H */
