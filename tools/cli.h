/* Shared pieces of the `fanin` command: one cmd_<name>.c per subcommand. */
#ifndef FANIN_CLI_H
#define FANIN_CLI_H

#include "base/jobs.h"
#include "config/experiment.h"
#include "plugin/registry.h"
#include "run/run.h"
#include "run/runset.h"

#include <stdbool.h>
#include <stdio.h>

/* Each subcommand takes argv after its name and returns the process exit code. */
int cmd_run(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_plugins(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_new_plugin(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_init_stats(int argc, char **argv);

/* The text `fanin help` prints (main.c); cmd_help.c reads one command's lines from it. */
const char *cli_usage_text(void);
/* cmd_plugins.c: a plugin parameter as text (for `fanin plugins -v` and `fanin help NAME`) */
const char *cli_param_type(int type);
void cli_param_default(const fanin_param_spec *s, char *buf, size_t len);
void cli_param_range(const fanin_param_spec *s, char *buf, size_t len);
void cli_print_param(FILE *f, const fanin_param_spec *s, const char *indent);

/* templates.c (generated from tools/templates/ by cmake/embed_templates.cmake): the files
 * `fanin new-plugin` writes, by name; the array ends with a NULL name. */
typedef struct cli_template {
    const char *name, *text;
    size_t len;
} cli_template;
extern const cli_template cli_templates[];

/* "fanin: message" on stderr, then the exit code for rc. */
int cli_fail(int rc, const char *msg);
/* The registry from the default search path, with errors printed. NULL on failure. */
fanin_registry *cli_registry(int *exit_code);
/* The experiment file with its --set overrides applied; NULL (errors printed) on failure. */
fanin_config *cli_config(const char *path, char **sets, int n_sets, int *exit_code);
/* Parse a non-negative integer option value; -1 when invalid. */
long cli_parse_count(const char *s);
/* --jobs auto (jobs_auto.c): base/jobs.h's processes x BLAS threads for c's members, member 0's
 * model size and this process's cores (fixed_threads > 0: --threads, kept), said on stderr in
 * one line: "--jobs auto: 2 processes x 1 BLAS thread (6 members of a 16k-parameter model on 2
 * cores)". */
fanin__jobs_choice cli_jobs_auto(const fanin_config *c, const fanin_registry *reg,
                                 int fixed_threads);

/* progress.c: what a run shows while it works */
typedef struct cli_progress {
    int is_tty, quiet;
    int n_members;       /* in the whole sweep: lines say "[member/n_members]" */
    int n_todo, done;    /* this process's members (its shard's), and how many are done */
    int member;          /* the current member's index in the sweep */
    const char *label;   /* the current member's label */
    double started;      /* seconds, monotonic: the current member's start */
    double last_draw;    /* when the bar was last drawn (redrawn at most 10 times a second) */
    double done_seconds; /* wall time of the finished members, for the sweep's ETA */
} cli_progress;
void cli_progress_hooks(cli_progress *p, fanin__run_hooks *h);

/* table.c: the comparison table at the end of a run or merge (runs differing only by a seed
 * axis pooled: mean ± the half-width of the 95% interval; the test set's standard error; which
 * differences are within the noise), and the verdicts */
void cli_print_table(FILE *f, const fanin__runset *s, const char *label_header);
void cli_print_verdicts(FILE *f, const fanin__runset *s);
/* cmd_merge.c: groups.csv, summary.json and report.html (and summary.csv when merging) for a
 * run set into dir, named for shard k of n (n <= 1: unsharded; run/rundir.h). Prints nothing. */
int cli_write_outputs(fanin__runset *s, const char *dir, int shard_k, int shard_n, bool csv,
                      char *err, size_t errlen);

#endif
