/* `fanin merge DIR... [--out DIR]`: combines the summaries of shards run with --shard K/N
 * (summary.csv or summary-K-of-N.csv in each DIR, run folders beside them) into one
 * summary.csv, summary.json and report.html, redrawn from the run folders' files. */
#include "cli.h"
#include "base/errors.h"
#include "base/fs.h"
#include "run/report.h"
#include "run/rundir.h"
#include "run/runset.h"

#include <stdbool.h>
#include <stdio.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef int (*write_fn)(const fanin__runset *s, const char *path, char *err, size_t errlen);

/* Write shard k of n's file f in dir with `write`. */
static int write_one(fanin__runset *s, const char *dir, fanin__rundir_file f, int k, int n,
                     write_fn write, char *err, size_t errlen) {
    char path[FANIN_PATHLEN];
    if (fanin__rundir_shard_path(path, dir, f, k, n) < 0)
        return fanin__errf(err, errlen, FANIN_EINVAL, "output folder name too long: %s", dir);
    return write(s, path, err, errlen);
}

int cli_write_outputs(fanin__runset *s, const char *dir, int shard_k, int shard_n, bool csv,
                      char *err, size_t errlen) {
    int k = shard_k, n = shard_n, rc = FANIN_OK;
    if (csv)
        rc = write_one(s, dir, FANIN_RUNDIR_SUMMARY_CSV, k, n, fanin__runset_write_csv, err,
                       errlen);
    if (rc == FANIN_OK)
        rc = write_one(s, dir, FANIN_RUNDIR_GROUPS_CSV, k, n, fanin__groups_write_csv, err, errlen);
    if (rc == FANIN_OK)
        rc = write_one(s, dir, FANIN_RUNDIR_SUMMARY_JSON, k, n, fanin__runset_write_json, err,
                       errlen);
    if (rc == FANIN_OK)
        rc = write_one(s, dir, FANIN_RUNDIR_REPORT, k, n, fanin__report_write, err, errlen);
    return rc;
}

/* Every summary CSV in dir into s; how many were found through *found. */
static int add_dir(fanin__runset *s, const char *dir, int *found, char *err, size_t errlen) {
    DIR *d = opendir(dir);
    if (!d) return fanin__errf(err, errlen, FANIN_EIO, "%s: cannot open the folder", dir);
    struct dirent *e;
    int rc = FANIN_OK;
    while (rc == FANIN_OK && (e = readdir(d))) {
        if (!fanin__rundir_is_summary(e->d_name, NULL, NULL)) continue;
        char path[FANIN_PATHLEN];
        if (fanin__path_join(path, dir, e->d_name) < 0)
            rc = fanin__errf(err, errlen, FANIN_EINVAL, "%s: folder name too long", dir);
        else rc = fanin__runset_add_summary(s, path, err, errlen);
        (*found)++;
    }
    closedir(d);
    return rc;
}

/* Every summary CSV in the n folders into s; an error when there is none. */
static int add_dirs(fanin__runset *s, const char **dirs, int n, char *err, size_t errlen) {
    int rc = FANIN_OK, found = 0;
    for (int i = 0; i < n && rc == FANIN_OK; i++) rc = add_dir(s, dirs[i], &found, err, errlen);
    if (rc < 0 || found) return rc;
    char shard[64];
    fanin__rundir_shard_name(shard, sizeof shard, FANIN_RUNDIR_SUMMARY_CSV, 0, 2);
    return fanin__errf(err, errlen, FANIN_EINVAL, "no %s or %s in the folders given",
                       fanin__rundir_name(FANIN_RUNDIR_SUMMARY_CSV), shard);
}

/* cmd_merge with `dirs` holding up to argc + 1 entries */
static int cmd_merge_with(int argc, char **argv, const char **dirs) {
    const char *out = NULL;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (argv[i][0] == '-') {
            fprintf(stderr,
                    "fanin merge: unexpected option '%s'; usage: fanin merge DIR... "
                    "[--out DIR]\n",
                    argv[i]);
            return FANIN_EXIT_USAGE;
        } else dirs[n++] = argv[i];
    }
    if (!n) return cli_fail(FANIN_EINVAL, "usage: fanin merge DIR... [--out DIR]");
    if (!out) out = dirs[0];
    fanin__runset s = {0};
    const char *base = strrchr(out, '/');
    snprintf(s.name, sizeof s.name, "%s", base && base[1] ? base + 1 : out);
    char err[FANIN_ERRLEN];
    int rc = add_dirs(&s, dirs, n, err, sizeof err);
    if (rc == FANIN_OK && fanin__make_dirs(out, NULL) != 0)
        rc = fanin__errf(err, sizeof err, FANIN_EIO, "cannot create the output folder '%s': %s",
                         out, strerror(errno));
    if (rc == FANIN_OK) {
        fanin__runset_finish(&s);
        rc = cli_write_outputs(&s, out, 0, 0, true, err, sizeof err);
    }
    if (rc == FANIN_OK) {
        cli_print_table(stdout, &s, s.seed_key >= 0 || !s.n_keys ? "run" : s.keys[0]);
        cli_print_verdicts(stdout, &s);
        printf("\nmerged %d runs into %s/ (%s, %s, %s, %s)\n", s.n_runs, out,
               fanin__rundir_name(FANIN_RUNDIR_SUMMARY_CSV),
               fanin__rundir_name(FANIN_RUNDIR_GROUPS_CSV),
               fanin__rundir_name(FANIN_RUNDIR_SUMMARY_JSON),
               fanin__rundir_name(FANIN_RUNDIR_REPORT));
    }
    fanin__runset_deinit(&s);
    return rc < 0 ? cli_fail(rc, err) : FANIN_EXIT_OK;
}

int cmd_merge(int argc, char **argv) {
    const char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
    if (!dirs) {
        fprintf(stderr, "fanin: out of memory\n");
        return FANIN_EXIT_RUNTIME;
    }
    int code = cmd_merge_with(argc, argv, dirs);
    free(dirs);
    return code;
}
