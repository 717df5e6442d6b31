/* `fanin merge DIR... [--out DIR]`: combines the summaries of shards run with --shard K/N
 * (summary.csv or summary-K-of-N.csv in each DIR, run folders beside them) into one
 * summary.csv, summary.json and report.html, redrawn from the run folders' files. */
#include "cli.h"
#include "base/errors.h"
#include "base/fs.h"
#include "run/report.h"
#include "run/runset.h"

#include <stdbool.h>
#include <stdio.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cli_write_outputs(fanin__runset *s, const char *dir, const char *stem, bool csv, char *err,
                      size_t errlen) {
    char path[FANIN_PATHLEN + 64];
    int rc = FANIN_OK;
    if (csv) {
        snprintf(path, sizeof path, "%s/%s.csv", dir, stem);
        rc = fanin__runset_write_csv(s, path, err, errlen);
    }
    snprintf(path, sizeof path, "%s/%s.json", dir, stem);
    if (rc == FANIN_OK) rc = fanin__runset_write_json(s, path, err, errlen);
    /* report.html, or report-K-of-N.html beside summary-K-of-N */
    snprintf(path, sizeof path, "%s/report%s.html", dir, stem + strlen("summary"));
    if (rc == FANIN_OK) rc = fanin__report_write(s, path, err, errlen);
    return rc;
}

static bool is_summary(const char *name) {
    int k, n;
    char tail;
    if (!strcmp(name, "summary.csv")) return true;
    return sscanf(name, "summary-%d-of-%d.cs%c", &k, &n, &tail) == 3 && tail == 'v';
}

/* Every summary CSV in dir into s; how many were found through *found. */
static int add_dir(fanin__runset *s, const char *dir, int *found, char *err, size_t errlen) {
    DIR *d = opendir(dir);
    if (!d) return fanin__errf(err, errlen, FANIN_EIO, "%s: cannot open the folder", dir);
    struct dirent *e;
    int rc = FANIN_OK;
    while (rc == FANIN_OK && (e = readdir(d))) {
        if (!is_summary(e->d_name)) continue;
        char path[FANIN_PATHLEN];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        rc = fanin__runset_add_summary(s, path, err, errlen);
        (*found)++;
    }
    closedir(d);
    return rc;
}

/* cmd_merge with `dirs` holding up to argc + 1 entries */
static int cmd_merge_with(int argc, char **argv, const char **dirs) {
    const char *out = NULL;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (argv[i][0] == '-') {
            fprintf(stderr, "fanin merge: unexpected option '%s'; usage: fanin merge DIR... "
                            "[--out DIR]\n", argv[i]);
            return FANIN_EXIT_USAGE;
        } else dirs[n++] = argv[i];
    }
    if (!n) return cli_fail(FANIN_EINVAL, "usage: fanin merge DIR... [--out DIR]");
    if (!out) out = dirs[0];
    fanin__runset s = {0};
    const char *base = strrchr(out, '/');
    snprintf(s.name, sizeof s.name, "%s", base && base[1] ? base + 1 : out);
    char err[FANIN_ERRLEN];
    int rc = FANIN_OK, found = 0;
    for (int i = 0; i < n && rc == FANIN_OK; i++) rc = add_dir(&s, dirs[i], &found, err, sizeof err);
    if (rc == FANIN_OK && !found)
        rc = fanin__errf(err, sizeof err, FANIN_EINVAL, "no summary.csv or summary-K-of-N.csv in "
                         "the folders given");
    if (rc == FANIN_OK && fanin__make_dirs(out, NULL) != 0)
        rc = fanin__errf(err, sizeof err, FANIN_EIO, "cannot create the output folder '%s': %s",
                         out, strerror(errno));
    if (rc == FANIN_OK) {
        fanin__runset_finish(&s);
        rc = cli_write_outputs(&s, out, "summary", true, err, sizeof err);
    }
    if (rc == FANIN_OK) {
        cli_print_table(stdout, &s, s.seed_key >= 0 || !s.n_keys ? "run" : s.keys[0]);
        cli_print_verdicts(stdout, &s);
        printf("\nmerged %d runs into %s/ (summary.csv, summary.json, report.html)\n", s.n_runs, out);
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
