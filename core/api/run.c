/* fanin_run_file (<fanin/fanin.h>): an experiment file run into a folder as `fanin run` does
 * in one process (tools/cmd_run.c drives the same run/ calls): load, apply the --set style
 * overrides, check every member, choose the folder, run, then read the folder back and write
 * summary.json, groups.csv and report.html. No progress is printed and no signal handler set.
 */
#include "api/api.h"
#include "config/experiment.h"
#include "run/report.h"
#include "run/run.h"
#include "run/rundir.h"
#include "run/runset.h"

#include <stdio.h>
#include <string.h>

typedef int (*write_fn)(const fanin__runset *s, const char *path, char *err, size_t errlen);

/* The experiment's name (member 0) into name. */
static int experiment_name(const fanin_config *c, const fanin_registry *reg, char *name, size_t len,
                           char *err, size_t errlen) {
    fanin_experiment *x;
    int rc = fanin__config_resolve(c, 0, reg, &x, err, errlen);
    if (rc < 0) return rc;
    snprintf(name, len, "%s", x->name);
    fanin__experiment_free(x);
    return FANIN_OK;
}

/* The loaded file with its overrides, checked member by member. */
static int load(fanin_session *s, const char *path, const char *const *sets, size_t n_sets,
                fanin_config **c) {
    int rc = fanin__config_load(c, path, s->err, sizeof s->err);
    for (size_t i = 0; rc == FANIN_OK && i < n_sets; i++)
        rc = fanin__config_set(*c, sets[i], s->err, sizeof s->err);
    if (rc == FANIN_OK) rc = fanin__config_validate(*c, s->reg, s->err, sizeof s->err);
    return rc;
}

/* summary.json, groups.csv and report.html from the folder's summary.csv. */
static int write_outputs(fanin_session *s, const fanin__runner *rn, const char *name) {
    fanin__runset set = {0};
    snprintf(set.name, sizeof set.name, "%s", name);
    int rc = fanin__runset_add_summary(&set, rn->summary_path, s->err, sizeof s->err);
    if (rc == FANIN_OK) fanin__runset_finish(&set);
    const fanin__rundir_file files[] = {FANIN_RUNDIR_GROUPS_CSV, FANIN_RUNDIR_SUMMARY_JSON,
                                        FANIN_RUNDIR_REPORT};
    const write_fn writers[] = {fanin__groups_write_csv, fanin__runset_write_json,
                                fanin__report_write};
    for (int i = 0; i < 3 && rc == FANIN_OK; i++) {
        char file[FANIN_PATHLEN];
        rc = fanin__rundir_path(file, rn->out_dir, files[i]);
        if (rc == FANIN_OK) rc = writers[i](&set, file, s->err, sizeof s->err);
    }
    fanin__runset_deinit(&set);
    return rc;
}

/* Run c's members into out and write the folder's summaries. */
static int run_into(fanin_session *s, const fanin_config *c, const char *out, const char *name,
                    int threads) {
    fanin__runner rn = {.config = c, .reg = s->reg, .out_dir = out, .threads = threads};
    int rc = fanin__run(&rn, s->err, sizeof s->err);
    if (rn.n_results && (rc == FANIN_OK || rc == FANIN_EINTR)) {
        int wrc = write_outputs(s, &rn, name);
        if (rc == FANIN_OK) rc = wrc;
    }
    fanin__runner_deinit(&rn);
    return rc;
}

int fanin_run_file(fanin_session *s, const char *path, const char *const *sets, size_t n_sets,
                   const char *out_dir, int threads, int flags, char *folder, size_t folder_len) {
    if (!s) return FANIN_EINVAL;
    s->err[0] = 0;
    if (!path) return fanin__errf(s->err, sizeof s->err, FANIN_EINVAL, "no experiment file");
    fanin_config *c = NULL;
    char name[128], want[FANIN_PATHLEN], out[FANIN_PATHLEN];
    int rc = load(s, path, sets, n_sets, &c);
    if (rc == FANIN_OK) rc = experiment_name(c, s->reg, name, sizeof name, s->err, sizeof s->err);
    if (rc == FANIN_OK) {
        if (out_dir) snprintf(want, sizeof want, "%s", out_dir);
        else snprintf(want, sizeof want, "runs/%s", name);
        fanin__rundir_choice what;
        rc = fanin__rundir_choose(out, want, (flags & FANIN_RUN_OVERWRITE) != 0, 0, 0, &what,
                                  s->err, sizeof s->err);
    }
    if (rc == FANIN_OK && folder && folder_len) snprintf(folder, folder_len, "%s", out);
    if (rc == FANIN_OK) rc = run_into(s, c, out, name, threads);
    fanin__config_free(c);
    return rc;
}
