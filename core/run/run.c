/* Running an experiment: every sweep member (or a shard of them) in turn, each into its own
 * folder with config.yaml, metrics.csv, layers.csv, histograms.csv and model.safetensors, and
 * summary.csv for all (summary.json and report.html: report.c). The
 * caller sees progress through hooks; this file never prints. */
#include "run/run.h"
#include "run/isolate.h"
#include "run/rundir.h"
#include "base/clock.h"
#include "base/errors.h"
#include "base/fs.h"
#include "config/experiment.h"
#include "data/data.h"
#include "engine/checkpoint.h"
#include "engine/diag.h"
#include "engine/model.h"
#include "engine/train.h"

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int make_dirs(const char *path, char *err, size_t errlen) {
    char failed[FANIN_PATHLEN];
    if (fanin__make_dirs(path, failed) == 0) return FANIN_OK;
    return fanin__errf(err, errlen, FANIN_EINVAL,
                       "cannot create the output folder '%s': %s; "
                       "choose another with --out",
                       failed, strerror(errno));
}

static int write_config(const fanin_experiment *x, const char *dir, char **yaml, char *err,
                        size_t errlen) {
    char path[FANIN_PATHLEN];
    fanin__rundir_path(path, dir, FANIN_RUNDIR_CONFIG);
    FILE *f = fopen(path, "w");
    if (!f) return fanin__errf(err, errlen, FANIN_EIO, "%s: %s", path, strerror(errno));
    int rc = fanin__experiment_write_yaml(x, f);
    if (fclose(f) != 0 && rc == FANIN_OK) rc = FANIN_EIO;
    if (rc < 0) return fanin__errf(err, errlen, FANIN_EIO, "%s: cannot write", path);
    /* the same text goes into the model's metadata */
    size_t len = 0;
    FILE *m = open_memstream(yaml, &len);
    if (!m) return FANIN_ENOMEM;
    fanin__experiment_write_yaml(x, m);
    fclose(m);
    return FANIN_OK;
}

typedef struct member_run {
    fanin__run_hooks hooks;
    FILE *metrics;
    bool resume;
    int threads;
    char ckpt[FANIN_PATHLEN];       /* the member's checkpoint */
    const fanin__data_parallel *dp; /* data-parallel, or NULL */
    bool writer;                    /* this process writes the member's files (not a rank > 0) */
    int64_t resume_at;              /* resuming: its iteration (the logs keep the rows before it) */
} member_run;

static void on_warning(void *user, const char *msg) {
    member_run *mr = user;
    if (mr->hooks.on_warning) mr->hooks.on_warning(mr->hooks.user, msg);
}

static int on_log(void *user, const fanin__progress *p) {
    member_run *mr = user;
    fprintf(mr->metrics, "%lld,%lld,%.9g,%.6g,%.6g,%.9g,%.9g,%.4f\n", (long long)p->iteration,
            (long long)p->epoch, p->loss, p->train_acc, p->test_acc, p->test_loss, p->lr,
            p->seconds);
    fflush(mr->metrics); /* a kill -9 keeps every row logged before it (resume trims the rest) */
    return mr->hooks.on_progress ? mr->hooks.on_progress(mr->hooks.user, p) : 0;
}

/* Rows of the buffers: the whole training set for full batch, else the minibatch; evaluation
 * reuses them in chunks. */
static int model_cap(const fanin_experiment *x, const fanin_dataset *d) {
    int64_t cap = x->batch == 0 || x->batch >= d->n_train ? d->n_train : x->batch;
    return (int)(cap > 0 ? cap : 1);
}

/* diverged.txt: where the NaN or Inf appeared, for the report and `fanin merge`. */
static void write_divergence(const fanin__member_result *r) {
    char path[FANIN_PATHLEN];
    FILE *f = fanin__rundir_path(path, r->dir, FANIN_RUNDIR_DIVERGED) == FANIN_OK ? fopen(path, "w")
                                                                                  : NULL;
    if (!f) return; /* the summary row still says diverged */
    fprintf(f, "%s\n", r->message);
    fclose(f);
}

/* The recorder of m's layers.csv and histograms.csv in dir (continued from resume_at > 0). */
static int open_diag(const fanin_model *m, const char *dir, int64_t every, int64_t resume_at,
                     fanin__diag **dg, char *err, size_t errlen) {
    char layers[FANIN_PATHLEN], hist[FANIN_PATHLEN];
    if (fanin__rundir_path(layers, dir, FANIN_RUNDIR_LAYERS) < 0 ||
        fanin__rundir_path(hist, dir, FANIN_RUNDIR_HISTOGRAMS) < 0)
        return fanin__errf(err, errlen, FANIN_EINVAL, "output folder name too long: %s", dir);
    return fanin__diag_new(m, layers, hist, every, resume_at, dg, err, errlen);
}

/* The phase a crash report names: "initialising the model (init: he_normal, zeros)". */
static void say_phase_init(const fanin_experiment *x) {
    char inits[400] = "";
    for (int i = 0; i < x->n_layers; i++) {
        const char *t[2] = {x->layers[i].init.text, x->layers[i].bias_init.text};
        for (int j = 0; j < 2; j++)
            if (t[j] && !strstr(inits, t[j]) && strlen(inits) + strlen(t[j]) + 3 < sizeof inits)
                snprintf(inits + strlen(inits), sizeof inits - strlen(inits), "%s%s",
                         inits[0] ? ", " : "", t[j]);
    }
    fanin__child_phase("initialising the model (init: %s)", inits);
}

/* Build, initialise, train and save one member into r->dir. */
static int train_member(const fanin_experiment *x, const fanin_dataset *d, const char *yaml,
                        member_run *mr, fanin__member_result *r, char *err, size_t errlen) {
    fanin_model *m;
    fanin__data_shape in;
    int rc = fanin__data_model_input(x, d->shape, &in, err, errlen);
    if (rc == FANIN_OK)
        rc = fanin__model_new_shaped(x, (fanin__shape){in.c, in.h, in.w}, model_cap(x, d), &m, err,
                                     errlen);
    if (rc < 0) return rc;
    fanin__model_set_init_batch(m, d->x_train, d->n_train); /* for data-dependent inits (lsuv) */
    fanin__model_set_init_labels(m, d->y_train); /* gradients at init (metainit, gradinit) */
    if (fanin__in_child()) say_phase_init(x);
    rc = fanin__model_init_params(m, err, errlen);
    fanin__diag *dg = NULL;
    if (rc == FANIN_OK && mr->writer)
        rc = open_diag(m, r->dir, x->layer_stats_every, mr->resume_at, &dg, err, errlen);
    fanin__train_hooks hooks = {.user = mr,
                                .on_log = on_log,
                                .diag = dg,
                                .checkpoint_path = mr->ckpt,
                                .resume = mr->resume,
                                .threads = mr->threads,
                                .on_warning = on_warning};
    if (mr->dp) {
        hooks.reduce = mr->dp->reduce;
        hooks.reduce_user = mr->dp->user;
        hooks.shard = mr->dp->rank;
        hooks.n_shards = mr->dp->ranks;
    }
    if (rc == FANIN_OK) {
        fanin__child_phase("training (optimizer %s)", x->optimizer.text);
        rc = fanin__train(m, d, &hooks, &r->res, r->message, sizeof r->message);
        if (rc < 0) snprintf(err, errlen, "%s", r->message);
        int drc = fanin__diag_close(dg, r->res.status == FANIN_EINTR, rc < 0 ? NULL : err, errlen);
        if (rc == FANIN_OK) rc = drc;
    }
    fanin__diag_free(dg);
    if (rc == FANIN_OK && r->res.status == FANIN_EDIVERGED && mr->writer) write_divergence(r);
    if (rc == FANIN_OK && mr->writer) {
        char path[FANIN_PATHLEN];
        fanin__rundir_path(path, r->dir, FANIN_RUNDIR_MODEL);
        fanin__child_phase("writing %s", path);
        rc = fanin__model_save(m, path, yaml, err, errlen);
    }
    /* a finished run (done or diverged) needs no checkpoint; an interrupted one keeps it */
    if (rc == FANIN_OK && r->res.status != FANIN_EINTR && mr->writer) unlink(mr->ckpt);
    fanin__model_free(m);
    return rc;
}

/* metrics.csv: new, or (resuming from a checkpoint) its rows before the checkpoint kept and
 * continued. */
static int open_metrics(member_run *mr, const char *dir, char *err, size_t errlen) {
    char path[FANIN_PATHLEN];
    fanin__rundir_path(path, dir, FANIN_RUNDIR_METRICS);
    if (!mr->writer) { /* a data-parallel rank > 0: rank 0 writes the log */
        mr->metrics = fopen("/dev/null", "w");
        return mr->metrics ? FANIN_OK
                           : fanin__errf(err, errlen, FANIN_EIO, "/dev/null: %s", strerror(errno));
    }
    bool kept = mr->resume_at > 0 && fanin__checkpoint_trim_log(path, mr->resume_at) >= 0;
    mr->metrics = fopen(path, kept ? "a" : "w");
    if (!mr->metrics) return fanin__errf(err, errlen, FANIN_EIO, "%s: %s", path, strerror(errno));
    if (!kept)
        fprintf(mr->metrics, "iteration,epoch,loss,train_acc,test_acc,test_loss,lr,seconds\n");
    return FANIN_OK;
}

/* The member's data (loaded or cached) and its folder's path. */
static int prepare_member(fanin__runner *rn, const fanin_experiment *x, fanin__member_result *r,
                          char *err, size_t errlen) {
    int rc = fanin__runner_data(rn, x, err, errlen);
    if (rc < 0) return rc;
    if (fanin__path_join(r->dir, rn->out_dir, r->id) < 0)
        return fanin__errf(err, errlen, FANIN_EINVAL, "output folder name too long: %s",
                           rn->out_dir);
    return FANIN_OK;
}

/* The member's files and training, into r->dir (prepare_member first); `start`: call the
 * on_member_start hook (an isolated member's parent has called it). */
static int run_member(fanin__runner *rn, const fanin_experiment *x, fanin__member_result *r,
                      bool start, char *err, size_t errlen) {
    int rc = make_dirs(r->dir, err, errlen);
    if (rc < 0) return rc;
    char *yaml = NULL;
    bool writer = !rn->dp || rn->dp->rank == 0;
    if (writer && (rc = write_config(x, r->dir, &yaml, err, errlen)) < 0) return rc;
    member_run mr = {.hooks = rn->hooks,
                     .resume = rn->resume,
                     .threads = x->threads,
                     .resume_at = -1,
                     .dp = rn->dp,
                     .writer = writer};
    fanin__rundir_path(mr.ckpt, r->dir, FANIN_RUNDIR_CHECKPOINT);
    if (rn->resume) mr.resume_at = fanin__checkpoint_iteration(mr.ckpt);
    if ((rc = open_metrics(&mr, r->dir, err, errlen)) == FANIN_OK) {
        if (start && rn->hooks.on_member_start)
            rn->hooks.on_member_start(rn->hooks.user, x, rn->data, r);
        rc = train_member(x, rn->data, yaml, &mr, r, err, errlen);
        fclose(mr.metrics);
    }
    free(yaml);
    return rc;
}

int fanin__runner_data(fanin__runner *rn, const fanin_experiment *x, char *err, size_t errlen) {
    if (rn->data && !memcmp(&rn->data_spec, &x->data, sizeof x->data) &&
        rn->data_seed == x->data_seed)
        return FANIN_OK;
    fanin__data_free(rn->data);
    rn->data = NULL;
    int rc = fanin__data_load(&x->data, x->data_seed, &rn->data, err, errlen);
    if (rc < 0) return rc;
    rn->data_spec = x->data;
    rn->data_seed = x->data_seed;
    return FANIN_OK;
}

/* The summary's columns for member x: its swept keys (or values); how many. */
static int swept(const fanin_experiment *x, bool keys, const char **out) {
    int n = x->n_swept < FANIN_SUMMARY_MAX_KEYS ? x->n_swept : FANIN_SUMMARY_MAX_KEYS;
    for (int s = 0; s < n; s++) out[s] = keys ? x->swept[s].key : x->swept[s].value;
    return n;
}

static void summary_header(FILE *f, const fanin_experiment *x) {
    const char *keys[FANIN_SUMMARY_MAX_KEYS];
    fanin__summary_write_header(f, keys, swept(x, true, keys));
}

static void summary_row(FILE *f, const fanin__member_result *r, const fanin_experiment *x) {
    fanin__summary_row row = {.id = r->id,
                              .status = fanin__summary_status(r->res.status),
                              .final_loss = r->res.final_loss,
                              .train_acc = r->res.train_acc,
                              .test_acc = r->res.test_acc,
                              .iterations = r->res.iterations,
                              .seconds = r->res.seconds};
    row.n_values = swept(x, false, row.values);
    fanin__summary_write_row(f, &row);
}

/* ---- resuming: the finished rows of the summary an earlier invocation wrote ---- */

typedef struct old_rows {
    char **line; /* rows whose status is done or diverged, as written (owned) */
    int n;
} old_rows;

/* Parse a copy of a summary line into row (its strings point into copy); false when it is
 * not a row. */
static bool parse_copy(const char *line, char *copy, size_t len, fanin__summary_row *row) {
    char *f[FANIN_SUMMARY_MAX_COLS];
    snprintf(copy, len, "%s", line);
    return fanin__summary_parse_row(f, fanin__csv_split(copy, f, FANIN_SUMMARY_MAX_COLS), row) ==
           FANIN_OK;
}

static bool finished(const char *line) {
    char copy[8192];
    fanin__summary_row row;
    if (!parse_copy(line, copy, sizeof copy, &row)) return false;
    return !strcmp(row.status, fanin__summary_status(FANIN_OK)) ||
           !strcmp(row.status, fanin__summary_status(FANIN_EDIVERGED));
}

static void old_rows_read(old_rows *o, const char *path) {
    char buf[8192];
    FILE *f = fopen(path, "r");
    memset(o, 0, sizeof *o);
    for (bool header = true; f && fgets(buf, sizeof buf, f); header = false) {
        if (header || !finished(buf)) continue;
        char **l = realloc(o->line, (size_t)(o->n + 1) * sizeof *l);
        if (!l) break;
        o->line = l;
        if ((l[o->n] = strdup(buf))) o->n++;
    }
    if (f) fclose(f);
}

static void old_rows_free(old_rows *o) {
    for (int i = 0; i < o->n; i++) free(o->line[i]);
    free(o->line);
}

static const char *old_rows_find(const old_rows *o, const char *id) {
    size_t n = strlen(id);
    for (int i = 0; i < o->n; i++)
        if (!strncmp(o->line[i], id, n) && o->line[i][n] == ',') return o->line[i];
    return NULL;
}

/* Did a finished member's files survive? Member outputs are not fsync'd (base/atomic.c): after
 * a power loss its row may be there and its files missing or empty. */
static bool files_whole(const char *out_dir, const char *id) {
    static const fanin__rundir_file need[] = {FANIN_RUNDIR_CONFIG, FANIN_RUNDIR_METRICS,
                                              FANIN_RUNDIR_MODEL};
    char dir[FANIN_PATHLEN], path[FANIN_PATHLEN];
    struct stat st;
    if (fanin__path_join(dir, out_dir, id) < 0) return false;
    for (size_t i = 0; i < sizeof need / sizeof *need; i++)
        if (fanin__rundir_path(path, dir, need[i]) < 0 || stat(path, &st) != 0 || st.st_size == 0)
            return false;
    return true;
}

static void set_label(fanin__member_result *r, const fanin_experiment *x) {
    snprintf(r->label, sizeof r->label, "%s", x->n_swept ? x->swept[0].value : x->name);
    for (int s = 1; s < x->n_swept; s++)
        snprintf(r->label + strlen(r->label), sizeof r->label - strlen(r->label), " %s",
                 x->swept[s].value);
}

/* A run an earlier invocation finished: its row is kept as it was, its result read back. */
static void keep_finished(fanin__runner *rn, fanin__member_result *r, const fanin_experiment *x,
                          const char *line, FILE *summary) {
    if (ftell(summary) == 0) summary_header(summary, x);
    fputs(line, summary);
    fflush(summary);
    char copy[8192];
    fanin__summary_row row;
    parse_copy(line, copy, sizeof copy, &row); /* a row: old_rows_read kept only rows */
    r->res.status = fanin__summary_status_code(row.status);
    r->res.final_loss = row.final_loss;
    r->res.train_acc = row.train_acc;
    r->res.test_acc = row.test_acc;
    r->res.iterations = row.iterations;
    r->res.seconds = row.seconds;
    r->res.diverged_layer = -1;
    r->res.diverged_what = "loss";
    snprintf(r->message, sizeof r->message, "kept from the earlier invocation");
    set_label(r, x);
    rn->n_results++;
    if (rn->hooks.on_member_end) rn->hooks.on_member_end(rn->hooks.user, r);
}

/* ---- a member in a worker process (isolate.h) ---- */

/* Members a worker process runs before a fresh fork replaces it; FANIN_MEMBERS_PER_PROCESS in
 * the environment overrides it (1: a fresh process per member). A fork costs ~1 ms
 * (tools/bench/README.md), so 32 members share it at ~0.03 ms each. */
#define MEMBERS_PER_PROCESS 32

static int members_per_process(void) {
    const char *e = getenv("FANIN_MEMBERS_PER_PROCESS");
    long n = e && *e ? strtol(e, NULL, 10) : MEMBERS_PER_PROCESS;
    return n >= 1 && n <= 1000000 ? (int)n : MEMBERS_PER_PROCESS;
}

typedef struct member_job { /* what the parent sends: the member, its folder, BLAS threads */
    int threads;
    fanin__member_result r;
} member_job;

typedef struct child_msg { /* what the worker sends back */
    int rc;
    char err[FANIN_ERRLEN];
    fanin__member_result r;
} child_msg;

/* The members' worker and the data it has. When a member needs other data (data_seed follows
 * seed unless given, so a sweep over seeds changes it), the parent loads it first; the worker
 * then loads it too when that took less than a fork costs (LOAD_IN_WORKER_S), else a fresh
 * worker shares the parent's copy (and big data is not held twice). */
#define LOAD_IN_WORKER_S 0.002

typedef struct member_worker {
    fanin__worker w;
    fanin__data_spec spec;
    uint64_t seed;
    double load_seconds; /* the parent's last data load (prepare_member) */
} member_worker;

/* The member resolved as the parent resolved it: the same config, and its thread count. */
static int member_config(fanin__runner *rn, int k, int threads, fanin_experiment **x, char *err,
                         size_t errlen);

/* In the worker (ctx: its copy of the runner): resolve the member the parent sent, run it,
 * send back what became of it. */
static void member_child(void *ctx, const void *job, size_t len) {
    fanin__runner *rn = ctx;
    static child_msg m;
    const member_job *j = job;
    fanin_experiment *x = NULL;
    fanin__rundir_lock_drop();
    memset(&m, 0, sizeof m);
    m.rc = len == sizeof *j ? FANIN_OK : FANIN_EIO;
    if (m.rc == FANIN_OK) {
        m.r = j->r;
        m.rc = member_config(rn, j->r.member, j->threads, &x, m.err, sizeof m.err);
    }
    if (m.rc == FANIN_OK) m.rc = fanin__runner_data(rn, x, m.err, sizeof m.err);
    if (m.rc == FANIN_OK) m.rc = run_member(rn, x, &m.r, false, m.err, sizeof m.err);
    if (x) fanin__experiment_free(x);
    fanin__child_result(&m, sizeof m);
}

/* A member that did not finish: its result, and failed.txt saying why. */
static void not_finished(fanin__member_result *r, int status, const char *why, double t0) {
    memset(&r->res, 0, sizeof r->res);
    r->res.status = status;
    r->res.final_loss = r->res.train_acc = r->res.test_acc = NAN;
    r->res.seconds = fanin__now() - t0;
    r->res.diverged_layer = -1;
    r->res.diverged_what = "loss";
    snprintf(r->message, sizeof r->message, "%s", why);
    char path[FANIN_PATHLEN], failed[FANIN_PATHLEN];
    FILE *f = fanin__make_dirs(r->dir, failed) == 0 &&
                      fanin__rundir_path(path, r->dir, FANIN_RUNDIR_FAILED) == FANIN_OK
                  ? fopen(path, "w")
                  : NULL;
    if (f && fprintf(f, "%s\n", why) < 0) fprintf(f, "\n");
    if (f) fclose(f); /* a full disk loses this file; the summary row still says why not */
}

/* "SIGSEGV in initializer my_init (fill), layer 2", when a plugin call was in flight, else
 * "SIGSEGV while initialising the model (init: my_init)"; "killed after 5 s (the time limit)
 * in ..." / "while training (optimizer sgd)". */
static void crash_text(const fanin__child *c, double timeout, char *why, size_t len) {
    const char *phase = c->phase[0] ? c->phase : "starting";
    const char *at = c->call[0] ? "in" : "while";
    const char *where = c->call[0] ? c->call : phase;
    if (c->status == FANIN_RUN_TIMEOUT)
        snprintf(why, len, "killed after %g s (the time limit, train.timeout or --timeout) %s %s",
                 timeout, at, where);
    else if (c->sig) snprintf(why, len, "%s %s %s", fanin__signal_name(c->sig), at, where);
    else snprintf(why, len, "exited with code %d without a result %s %s", c->exit_code, at, where);
}

/* Run the member in the worker process; its crash, hang or error becomes its result. */
static int run_isolated(fanin__runner *rn, member_worker *mw, const fanin_experiment *x,
                        fanin__member_result *r, char *err, size_t errlen) {
    if (rn->hooks.on_member_start) rn->hooks.on_member_start(rn->hooks.user, x, rn->data, r);
    if (memcmp(&mw->spec, &rn->data_spec, sizeof mw->spec) || mw->seed != rn->data_seed) {
        if (mw->load_seconds >= LOAD_IN_WORKER_S) fanin__worker_stop(&mw->w);
        mw->spec = rn->data_spec;
        mw->seed = rn->data_seed;
    }
    static member_job j; /* ~5 KB: off the stack */
    j.threads = x->threads;
    j.r = *r;
    fanin__child c;
    double t0 = fanin__now();
    if (fanin__worker_run(&mw->w, &j, sizeof j, rn->timeout, &c) < 0)
        return fanin__errf(err, errlen, FANIN_EIO, "%s: cannot start a process: %s", r->id,
                           strerror(errno));
    if (c.status == FANIN_OK && c.len == sizeof(child_msg)) {
        const child_msg *m = (const child_msg *)c.result;
        *r = m->r;
        if (m->rc < 0) not_finished(r, FANIN_RUN_FAILED, m->err, t0);
        if (m->rc < 0 && !rn->fail_code) rn->fail_code = m->rc;
    } else {
        char why[FANIN_ERRLEN];
        crash_text(&c, rn->timeout, why, sizeof why);
        not_finished(r, c.status == FANIN_OK ? FANIN_RUN_CRASHED : c.status, why, t0);
    }
    fanin__child_free(&c);
    /* an error path may leak or leave state behind: the next member gets a fresh worker */
    if (FANIN_RUN_NO_RESULT(r->res.status)) fanin__worker_stop(&mw->w);
    if (FANIN_RUN_NO_RESULT(r->res.status)) rn->n_failed++;
    if (rn->n_failed && !rn->fail_code) rn->fail_code = FANIN_EIO;
    return FANIN_OK;
}

static int member_config(fanin__runner *rn, int k, int threads, fanin_experiment **x, char *err,
                         size_t errlen) {
    int rc = fanin__config_resolve(rn->config, k, rn->reg, x, err, errlen);
    if (rc < 0) return rc;
    (*x)->threads = threads;
    /* only on a change: after a fork OpenBLAS starts its thread pool again on this call, and
     * the next fork's handler stops it again */
    if (openblas_get_num_threads() != threads) openblas_set_num_threads(threads);
    return FANIN_OK;
}

/* One member: resolve, run, and append its row; a diverged run is a result, and so is a crashed,
 * timed-out or failed one when members are isolated (mw: their worker). */
static int member(fanin__runner *rn, member_worker *mw, int k, FILE *summary, const old_rows *old,
                  char *err, size_t errlen) {
    fanin_experiment *x;
    fanin__member_result *r = &rn->results[rn->n_results];
    memset(r, 0, sizeof *r);
    r->member = k;
    int rc = fanin__config_resolve(rn->config, k, rn->reg, &x, err, errlen);
    if (rc < 0) return rc;
    if (rn->threads > 0) x->threads = rn->threads;
    /* the count actually used goes into config.yaml: sgemm's bits depend on it */
    if (x->threads <= 0) x->threads = openblas_get_num_threads();
    if (openblas_get_num_threads() != x->threads) openblas_set_num_threads(x->threads);
    fanin__rundir_member_id(x, rn->n_members, r->id, sizeof r->id);
    const char *done = old ? old_rows_find(old, r->id) : NULL;
    if (done && !files_whole(rn->out_dir, r->id)) done = NULL; /* run it again */
    if (done) {
        keep_finished(rn, r, x, done, summary);
        fanin__experiment_free(x);
        return FANIN_OK;
    }
    double t0 = fanin__now();
    rc = prepare_member(rn, x, r, err, errlen);
    mw->load_seconds = fanin__now() - t0; /* ~0 when the data is cached */
    if (rc == FANIN_OK)
        rc = rn->isolate && !rn->dp ? run_isolated(rn, mw, x, r, err, errlen)
                                    : run_member(rn, x, r, true, err, errlen);
    if (rc == FANIN_OK) {
        if (ftell(summary) == 0) summary_header(summary, x);
        summary_row(summary, r, x);
        fflush(summary);
        set_label(r, x);
        rn->n_results++;
        if (rn->hooks.on_member_end) rn->hooks.on_member_end(rn->hooks.user, r);
    }
    fanin__experiment_free(x);
    return rc;
}

/* ---- the sweep ---- */

/* Where this process's rows go: summary_path, or (members handed out) a memory buffer whose
 * text is passed on after each member. */
typedef struct rows_out {
    FILE *f;
    char *text;
    size_t len;
} rows_out;

static int rows_open(fanin__runner *rn, rows_out *o, const char *path, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    if (rn->dp && rn->dp->rank > 0) path = "/dev/null"; /* rank 0 writes the summary */
    o->f = rn->dist ? open_memstream(&o->text, &o->len) : fopen(path, "w");
    if (!o->f)
        return fanin__errf(err, errlen, FANIN_EINVAL, "%s: %s; choose another folder with --out",
                           path, strerror(errno));
    return FANIN_OK;
}

/* This process's member after k (-1: the first), or -1 when none is left; handed out, the rows
 * written since the last call go with the request. */
static int next_member(fanin__runner *rn, int k, rows_out *o, bool more) {
    if (!rn->dist) {
        for (k++; more && k < rn->n_members; k++)
            if (rn->shard_n <= 1 || k % rn->shard_n == rn->shard_k - 1) return k;
        return -1;
    }
    fclose(o->f);
    int next = rn->dist->next(rn->dist->user, o->len ? o->text : NULL, more);
    free(o->text);
    o->text = NULL;
    o->len = 0;
    o->f = open_memstream(&o->text, &o->len);
    return o->f ? next : -1;
}

static int open_run(fanin__runner *rn, char *err, size_t errlen) {
    rn->n_members = fanin__config_members(rn->config);
    rn->results = calloc((size_t)rn->n_members, sizeof *rn->results);
    if (!rn->results) return fanin__errf(err, errlen, FANIN_ENOMEM, "out of memory");
    int rc = make_dirs(rn->out_dir, err, errlen);
    if (rc < 0) return rc;
    /* shards may share one folder: each writes (and locks) its own summary-K-of-N.csv */
    if ((!rn->dist || rn->dist->writes_summary) && (!rn->dp || rn->dp->rank == 0) &&
        (rc = fanin__rundir_lock(rn->out_dir, rn->shard_k, rn->shard_n, err, errlen)) < 0)
        return rc;
    if (fanin__rundir_shard_path(rn->summary_path, rn->out_dir, FANIN_RUNDIR_SUMMARY_CSV,
                                 rn->shard_k, rn->shard_n) < 0)
        return fanin__errf(err, errlen, FANIN_EINVAL, "output folder name too long: %s",
                           rn->out_dir);
    return FANIN_OK;
}

int fanin__run(fanin__runner *rn, char *err, size_t errlen) {
    int rc = open_run(rn, err, errlen);
    if (rc < 0) return rc;
    old_rows old = {0};
    if (rn->resume) old_rows_read(&old, rn->summary_path);
    if (rn->dist) rc = rn->dist->start(rn->dist->user, rn->summary_path, err, errlen);
    if (rn->dp) rn->dp->barrier(rn->dp->user); /* every rank has read the earlier rows */
    rows_out o;
    if (rc == FANIN_OK) rc = rows_open(rn, &o, rn->summary_path, err, errlen);
    if (rc < 0) {
        old_rows_free(&old);
        if (rn->dist) rn->dist->next(rn->dist->user, NULL, false);
        return rc;
    }
    member_worker mw = {.w = {.fn = member_child, .ctx = rn, .max_jobs = members_per_process()}};
    for (int k = next_member(rn, -1, &o, true); k >= 0;) {
        rc = member(rn, &mw, k, o.f, old.n ? &old : NULL, err, errlen);
        if (rc == FANIN_OK && rn->n_results &&
            rn->results[rn->n_results - 1].res.status == FANIN_EINTR)
            rc = FANIN_EINTR;
        k = next_member(rn, k, &o, rc == FANIN_OK);
    }
    fanin__worker_stop(&mw.w);
    if (o.f) fclose(o.f);
    free(o.text);
    old_rows_free(&old);
    if (rn->dist) {
        char ferr[FANIN_ERRLEN];
        int frc = rn->dist->finish(rn->dist->user, ferr, sizeof ferr);
        if (frc < 0 && (rc == FANIN_OK || rc == FANIN_EINTR)) {
            snprintf(err, errlen, "%s", ferr);
            rc = frc;
        }
    }
    return rc;
}

void fanin__runner_deinit(fanin__runner *rn) {
    fanin__data_free(rn->data);
    free(rn->results);
    rn->data = NULL;
    rn->results = NULL;
}
