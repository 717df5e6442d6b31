/* Shared pieces of the `fanin` command: one cmd_<name>.c per subcommand. */
#ifndef FANIN_CLI_H
#define FANIN_CLI_H

#include "internal.h"
#include "run.h"

/* Each subcommand takes argv after its name and returns the process exit code. */
int cmd_run(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_plugins(int argc, char **argv);

/* "fanin: message" on stderr, then the exit code for rc. */
int cli_fail(int rc, const char *msg);
/* The registry from the default search path, with errors printed. NULL on failure. */
fanin_registry *cli_registry(int *exit_code);
/* The experiment file with its --set overrides applied; NULL (errors printed) on failure. */
fanin_config *cli_config(const char *path, char **sets, int n_sets, int *exit_code);
/* Parse a non-negative integer option value; -1 when invalid. */
long cli_parse_count(const char *s);

/* progress.c: what a run shows while it works */
typedef struct cli_progress {
    int is_tty, quiet;
    int n_members, done;
    const char *label;  /* the current member's label */
    double started;     /* seconds, monotonic */
} cli_progress;
void cli_progress_hooks(cli_progress *p, fanin__run_hooks *h);

/* table.c: the comparison table at the end of a run */
void cli_print_table(FILE *f, const fanin__runner *rn, const char *label_header);

#endif
