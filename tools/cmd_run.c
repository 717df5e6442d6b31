/* `fanin run CONFIG.yaml`: checks every sweep member first (so a typo never surfaces an hour
 * in), runs them, prints the comparison table and where the files are. A new run never writes
 * over an earlier one: it goes to runs/NAME-2 (-3, ...) unless --overwrite. SIGINT/SIGTERM
 * finish the current step, checkpoint and exit 130; `--resume DIR` continues (run.args in DIR
 * remembers the config and options, so `fanin run --resume DIR` alone is enough). */
#include "base/errors.h"
#include "base/fs.h"
#include "config/experiment.h"
#include "data/data.h"
#include "engine/train.h"
#include "plugin/registry.h"
#include "run/mpi.h"
#include "run/run.h"
#include "run/rundir.h"
#include "run/runset.h"
#include "cli.h"

#include <fanin/fanin.h>

#include <stdbool.h>
#include <stdio.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct run_args {
    const char *config, *out, *resume;
    char **sets;
    int n_sets, threads, quiet, shard_k, shard_n;
    int overwrite;      /* replace an earlier run in the folder instead of writing beside it */
    int jobs;           /* > 1: members run in that many processes, as shards merged at the end;
                         * JOBS_AUTO: --jobs auto, chosen in run() (base/jobs.h) */
    int child;          /* this process is one of those jobs: no table, the parent prints it */
    double timeout;     /* --timeout S: a member running longer is killed (status timeout) */
    int inline_members; /* --no-isolate: members in this process (a crash ends the sweep) */
    int rank, ranks;    /* under mpirun: this rank, how many (ranks 0: not under mpirun) */
    int data_parallel;  /* --data-parallel: under mpirun, every member's batches split over
                         * the ranks instead of members handed out */
} run_args;

#define JOBS_AUTO (-1)

/* Async-signal-safe: only raises the flag the training loop checks after each step. The
 * handler resets itself, so a second Ctrl-C ends the process at once. */
static void on_signal(int sig) {
    (void)sig;
    fanin__interrupt_flag = 1;
}

static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void print_warning(void *user, const char *msg) {
    (void)user;
    fprintf(stderr, "fanin: warning: %s\n", msg);
}

/* DIR/run.args: how the run was started, one "key value" a line (config, set, threads, shard),
 * read back by --resume DIR without a config. */
static const run_args *args_to_save;
static void (*progress_member_start)(void *, const fanin_experiment *, const fanin_dataset *,
                                     const fanin__member_result *);

static void save_args(const char *dir) {
    char path[FANIN_PATHLEN], config[PATH_MAX];
    FILE *f = fanin__rundir_path(path, dir, FANIN_RUNDIR_ARGS) == FANIN_OK ? fopen(path, "w")
                                                                           : NULL;
    if (!f) return;
    fprintf(f, "config %s\n",
            realpath(args_to_save->config, config) ? config : args_to_save->config);
    for (int i = 0; i < args_to_save->n_sets; i++) fprintf(f, "set %s\n", args_to_save->sets[i]);
    if (args_to_save->threads) fprintf(f, "threads %d\n", args_to_save->threads);
    if (args_to_save->shard_n > 1 && !args_to_save->child) /* jobs shard themselves */
        fprintf(f, "shard %d/%d\n", args_to_save->shard_k, args_to_save->shard_n);
    if (args_to_save->jobs > 1) fprintf(f, "jobs %d\n", args_to_save->jobs);
    if (args_to_save->data_parallel) fprintf(f, "parallel mpi\n");
    fclose(f);
}

static void on_member_start(void *user, const fanin_experiment *x, const fanin_dataset *d,
                            const fanin__member_result *r) {
    if (args_to_save) {
        char dir[FANIN_PATHLEN];
        snprintf(dir, sizeof dir, "%s", r->dir);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0;
        save_args(dir);
        args_to_save = NULL;
    }
    if (progress_member_start) progress_member_start(user, x, d, r);
}

/* Strings read from run.args, freed when the command ends. */
static char *saved[66];
static int n_saved;

static char *keep(const char *v) { return n_saved < 66 ? (saved[n_saved++] = strdup(v)) : NULL; }

/* Fill what the command line left out from DIR/run.args. */
static int load_args(run_args *a) {
    char path[FANIN_PATHLEN], line[8192];
    const char *name = fanin__rundir_name(FANIN_RUNDIR_ARGS);
    FILE *f = fanin__rundir_path(path, a->resume, FANIN_RUNDIR_ARGS) == FANIN_OK ? fopen(path, "r")
                                                                                 : NULL;
    if (!f) {
        fprintf(stderr,
                "fanin: --resume %s: no %s/%s (not a run folder?); give the config too: "
                "fanin run CONFIG.yaml --resume %s\n",
                a->resume, a->resume, name, a->resume);
        return FANIN_EXIT_USAGE;
    }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *v = strchr(line, ' ');
        if (!v) continue;
        *v++ = 0;
        if (!strcmp(line, "config")) a->config = keep(v);
        else if (!strcmp(line, "set") && a->n_sets < 64 && keep(v))
            a->sets[a->n_sets++] = saved[n_saved - 1];
        else if (!strcmp(line, "threads") && !a->threads) a->threads = atoi(v);
        else if (!strcmp(line, "shard") && !a->shard_n)
            sscanf(v, "%d/%d", &a->shard_k, &a->shard_n);
        else if (!strcmp(line, "jobs") && a->jobs <= 0) a->jobs = atoi(v); /* auto: as before */
        else if (!strcmp(line, "parallel")) a->data_parallel = !strcmp(v, "mpi");
    }
    fclose(f);
    if (a->config) return FANIN_EXIT_OK;
    snprintf(line, sizeof line, "--resume: %s names no config", name);
    return cli_fail(FANIN_EINVAL, line);
}

static int parse_shard(const char *s, run_args *a) {
    char tail;
    if (!s || sscanf(s, "%d/%d%c", &a->shard_k, &a->shard_n, &tail) != 2) return -1;
    return a->shard_n >= 1 && a->shard_k >= 1 && a->shard_k <= a->shard_n ? 0 : -1;
}

/* --timeout S: seconds > 0 */
static int parse_timeout(const char *v, run_args *a) {
    char *end = NULL;
    a->timeout = v ? strtod(v, &end) : 0;
    return v && end && !*end && a->timeout > 0 ? 0 : -1;
}

/* The options that do not go together; --resume DIR without a config loads DIR's. */
static int check_args(run_args *a) {
    if (a->resume && a->out && strcmp(a->resume, a->out))
        return cli_fail(FANIN_EINVAL, "--resume DIR continues in DIR; leave out --out");
    if (a->resume && a->overwrite)
        return cli_fail(FANIN_EINVAL,
                        "--resume DIR continues the run in DIR; leave out --overwrite");
    if (a->resume) a->out = a->resume;
    if ((a->jobs > 1 || a->jobs == JOBS_AUTO) && a->shard_n > 1)
        return cli_fail(FANIN_EINVAL, "--jobs runs the shards itself; leave out --shard");
    if (fanin__mpi_launched() && (a->jobs > 1 || a->jobs == JOBS_AUTO || a->shard_n > 1))
        return cli_fail(FANIN_EINVAL, "under mpirun the ranks share the members out; leave out "
                                      "--jobs and --shard");
    if (!a->config && a->resume) return load_args(a);
    if (!a->config) return cli_fail(FANIN_EINVAL, "usage: fanin run CONFIG.yaml [options]");
    return FANIN_EXIT_OK;
}

static int parse_args(int argc, char **argv, run_args *a) {
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--set") && v) a->sets[a->n_sets++] = argv[++i];
        else if (!strcmp(o, "--out") && v) a->out = argv[++i];
        else if (!strcmp(o, "--resume") && v) a->resume = argv[++i];
        else if (!strcmp(o, "--threads") && v) {
            if ((a->threads = (int)cli_parse_count(argv[++i])) < 1)
                return cli_fail(FANIN_EINVAL, "--threads needs a positive integer");
        } else if (!strcmp(o, "--shard")) {
            if (parse_shard(argv[++i], a) < 0)
                return cli_fail(FANIN_EINVAL,
                                "--shard needs K/N with 1 <= K <= N, e.g. --shard 2/4");
        } else if (!strcmp(o, "--jobs") || !strcmp(o, "-j")) {
            if (v && !strcmp(v, "auto")) a->jobs = JOBS_AUTO, i++;
            else if (!v || (a->jobs = (int)cli_parse_count(argv[++i])) < 1)
                return cli_fail(FANIN_EINVAL, "--jobs needs a positive integer or auto");
        } else if (!strcmp(o, "--timeout")) {
            if (parse_timeout(v, a) < 0)
                return cli_fail(FANIN_EINVAL, "--timeout needs a number of seconds, e.g. "
                                              "--timeout 600");
            i++;
        } else if (!strcmp(o, "--no-isolate")) a->inline_members = 1;
        else if (!strcmp(o, "--data-parallel")) a->data_parallel = 1;
        else if (!strcmp(o, "--quiet") || !strcmp(o, "-q")) a->quiet = 1;
        else if (!strcmp(o, "--overwrite")) a->overwrite = 1;
        else if (o[0] == '-' || a->config) {
            fprintf(stderr, "fanin run: unexpected argument '%s'; see 'fanin help'\n", o);
            return FANIN_EXIT_USAGE;
        } else a->config = o;
    }
    return check_args(a);
}

/* train.timeout and train.parallel (member 0's) are the defaults --timeout S and
 * --data-parallel override. */
static void key_defaults(const fanin_experiment *x, run_args *a) {
    if (a->timeout <= 0) a->timeout = x->timeout;
    if (x->parallel == FANIN_PARALLEL_MPI) a->data_parallel = 1;
}

/* The experiment's name and the swept keys' last parts ("init"), from member 0; a's defaults
 * from its train keys. */
static int describe(const fanin_config *c, const fanin_registry *reg, run_args *a, char *name,
                    size_t nlen, char *hdr, size_t hlen, char *err, size_t errlen) {
    fanin_experiment *x;
    int rc = fanin__config_resolve(c, 0, reg, &x, err, errlen);
    if (rc < 0) return rc;
    key_defaults(x, a);
    snprintf(name, nlen, "%s", x->name);
    hdr[0] = 0;
    for (int s = 0; s < x->n_swept; s++) {
        const char *dot = strrchr(x->swept[s].key, '.');
        snprintf(hdr + strlen(hdr), hlen - strlen(hdr), "%s%s", s ? " " : "",
                 dot ? dot + 1 : x->swept[s].key);
    }
    if (!x->n_swept) snprintf(hdr, hlen, "run");
    fanin__experiment_free(x);
    return FANIN_OK;
}

/* Where the results are: the run folder's files and each member folder's. */
static void print_results(const char *out) {
    printf("\nresults in %s/ (%s, %s, %s, %s; per run: ", out,
           fanin__rundir_name(FANIN_RUNDIR_REPORT), fanin__rundir_name(FANIN_RUNDIR_SUMMARY_CSV),
           fanin__rundir_name(FANIN_RUNDIR_GROUPS_CSV),
           fanin__rundir_name(FANIN_RUNDIR_SUMMARY_JSON));
    const fanin__rundir_file member[] = {FANIN_RUNDIR_CONFIG, FANIN_RUNDIR_METRICS,
                                         FANIN_RUNDIR_LAYERS, FANIN_RUNDIR_HISTOGRAMS,
                                         FANIN_RUNDIR_MODEL};
    for (int i = 0; i < 5; i++) printf("%s%s", i ? ", " : "", fanin__rundir_name(member[i]));
    printf(")\n");
}

/* Read back what the run wrote: the comparison table, the verdicts, summary.json and
 * report.html. A failure here is reported but loses nothing already written. */
static void report(const fanin__runner *rn, const char *name, const char *hdr, const char *out,
                   bool print) {
    fanin__runset s = {0};
    char err[FANIN_ERRLEN];
    snprintf(s.name, sizeof s.name, "%s", name);
    int rc = fanin__runset_add_summary(&s, rn->summary_path, err, sizeof err);
    if (rc == FANIN_OK) {
        fanin__runset_finish(&s);
        if (print) cli_print_table(stdout, &s, s.seed_key >= 0 ? "run" : hdr);
        if (print) cli_print_verdicts(stdout, &s);
        rc = cli_write_outputs(&s, out, rn->shard_k, rn->shard_n, false, err, sizeof err);
    }
    if (rc < 0) fprintf(stderr, "fanin: %s\n", err);
    if (print) print_results(out);
    fanin__runset_deinit(&s);
}

/* The comparison of every job's runs: merge their summary-K-of-N files, as `fanin merge`. */
static void report_jobs(int jobs, const char *name, const char *hdr, const char *out) {
    fanin__runset s = {0};
    char err[FANIN_ERRLEN], path[FANIN_PATHLEN];
    snprintf(s.name, sizeof s.name, "%s", name);
    int rc = FANIN_OK;
    for (int k = 1; k <= jobs && rc == FANIN_OK; k++) {
        if (fanin__rundir_shard_path(path, out, FANIN_RUNDIR_SUMMARY_CSV, k, jobs) == FANIN_OK &&
            access(path, R_OK) == 0)
            rc = fanin__runset_add_summary(&s, path, err, sizeof err);
    }
    if (rc == FANIN_OK && s.n_runs) {
        fanin__runset_finish(&s);
        cli_print_table(stdout, &s, s.seed_key >= 0 ? "run" : hdr);
        cli_print_verdicts(stdout, &s);
        rc = cli_write_outputs(&s, out, 0, 0, true, err, sizeof err);
    }
    if (rc < 0) fprintf(stderr, "fanin: %s\n", err);
    if (s.n_runs) print_results(out); /* no member ran (a config or data error): no results */
    fanin__runset_deinit(&s);
}

/* Run the members (of a's shard) into out, with progress; the table unless a->child. */
static int run_members(const run_args *a, fanin_config *c, fanin_registry *reg, const char *out,
                       const char *name, const char *hdr) {
    static char err[8 * FANIN_ERRLEN];
    /* jobs share the terminal: plain lines, not bars redrawn in place */
    cli_progress prog = {.is_tty = isatty(STDERR_FILENO) && !a->child, .quiet = a->quiet};
    fanin__runner rn = {.config = c,
                        .reg = reg,
                        .out_dir = out,
                        .threads = a->threads,
                        .shard_k = a->shard_k,
                        .shard_n = a->shard_n,
                        .resume = a->resume != NULL,
                        .isolate = !a->inline_members,
                        .timeout = a->timeout};
    fanin__run_dist dist = {0};
    fanin__data_parallel dp = {fanin__mpi_allreduce, fanin__mpi_barrier, NULL, a->rank, a->ranks};
    if (a->ranks > 1 && a->data_parallel) rn.dp = &dp;
    else if (a->ranks > 1 && fanin__mpi_dist(&dist, fanin__config_members(c), err, sizeof err) < 0)
        return cli_fail(FANIN_EIO, err);
    else if (a->ranks > 1) rn.dist = &dist;
    cli_progress_hooks(&prog, &rn.hooks);
    rn.hooks.on_warning = print_warning;
    progress_member_start = rn.hooks.on_member_start;
    rn.hooks.on_member_start = on_member_start;
    args_to_save = a->rank == 0 ? a : NULL; /* under mpirun rank 0 writes run.args */
    install_signals();
    /* "[4/6]": the member's place in the whole sweep, whichever process runs it */
    prog.n_members = fanin__config_members(c);
    prog.n_todo = prog.n_members;
    if (rn.shard_n > 1) prog.n_todo = (prog.n_members - rn.shard_k) / rn.shard_n + 1;
    if (rn.dp && a->rank > 0) /* rank 0 says how the members go */
        rn.hooks = (fanin__run_hooks){.on_warning = print_warning};
    int rc = fanin__run(&rn, err, sizeof err);
    bool writer = (!rn.dist || rn.dist->writes_summary) && (!rn.dp || a->rank == 0);
    if (writer && (rn.n_results || rn.dist)) report(&rn, name, hdr, out, !a->child);
    int failed = rn.n_failed, fail_code = rn.fail_code;
    fanin__runner_deinit(&rn);
    fanin__mpi_dist_free(&dist);
    int code = rc < 0 && rc != FANIN_EINTR ? cli_fail(rc, err) : fanin_exit_code(rc);
    /* a member crashed, timed out or failed: the summary says which; the command failed, with
     * the first failed member's code (2 for a config or data error such as a corrupt
     * checkpoint, else 1) */
    if (code == FANIN_EXIT_OK && failed)
        code = fanin_exit_code(fail_code) ? fanin_exit_code(fail_code) : FANIN_EXIT_RUNTIME;
    return code;
}

/* --jobs N: N processes, job k running shard k/N (members k-1, k-1+N, ...) into the same
 * folder, then one table and report over all of them. Ctrl-C reaches every job (one process
 * group): each checkpoints and exits 130, and --resume continues all of them. */
static int run_jobs(const run_args *a, fanin_config *c, fanin_registry *reg, const char *out,
                    const char *name, const char *hdr) {
    int jobs = a->jobs, code = FANIN_EXIT_OK;
    fflush(NULL);
    signal(SIGINT, SIG_IGN); /* the jobs handle it; this process waits and reports */
    signal(SIGTERM, SIG_IGN);
    for (int k = 1; k <= jobs; k++) {
        pid_t pid = fork();
        if (pid < 0) return cli_fail(FANIN_EIO, "--jobs: cannot start a process");
        if (pid == 0) {
            run_args child = *a;
            child.shard_k = k;
            child.shard_n = jobs;
            child.child = 1;
            _exit(run_members(&child, c, reg, out, name, hdr));
        }
    }
    for (int status, k = 0; k < jobs && wait(&status) > 0; k++) {
        int job = WIFEXITED(status) ? WEXITSTATUS(status) : FANIN_EXIT_RUNTIME;
        if (job == FANIN_EXIT_INTERRUPTED || (job != FANIN_EXIT_OK && code == FANIN_EXIT_OK))
            code = job;
    }
    report_jobs(jobs, name, hdr, out);
    return code;
}

/* The run folder into out: --out or runs/NAME, continued with --resume; for a new run, a
 * folder holding an earlier run is replaced with --overwrite, else left alone for NAME-2, ...
 * (said on stderr). The children of --jobs all write into the folder chosen here. */
static int choose_folder(const run_args *a, const char *name, char out[FANIN_PATHLEN]) {
    char want[FANIN_PATHLEN], err[FANIN_ERRLEN];
    snprintf(want, sizeof want, "%s", a->out ? a->out : "runs/");
    if (!a->out) snprintf(want + strlen(want), sizeof want - strlen(want), "%s", name);
    if (a->resume) return snprintf(out, FANIN_PATHLEN, "%s", want), FANIN_EXIT_OK;
    fanin__rundir_choice what;
    int rc = fanin__rundir_choose(out, want, a->overwrite, a->shard_k, a->shard_n, &what, err,
                                  sizeof err);
    if (rc < 0) return cli_fail(rc, err);
    if (what == FANIN_RUNDIR_BESIDE)
        fprintf(stderr,
                "%s exists: writing %s (use --overwrite to replace it, --resume to continue it)\n",
                want, out);
    if (what == FANIN_RUNDIR_REPLACED) fprintf(stderr, "%s: replacing the earlier run\n", want);
    return FANIN_EXIT_OK;
}

/* Under mpirun, rank 0 chooses the folder and tells the others (so they never race for
 * NAME-2); every rank ends with the same code when the choice failed. */
static int choose_folder_ranks(const run_args *a, const char *name, char out[FANIN_PATHLEN]) {
    if (a->ranks <= 1) return choose_folder(a, name, out);
    int code = a->rank == 0 ? choose_folder(a, name, out) : FANIN_EXIT_OK;
    code = fanin__mpi_max(code);
    if (code == FANIN_EXIT_OK) fanin__mpi_bcast_text(out, FANIN_PATHLEN);
    return code;
}

static int run(const run_args *a, fanin_config *c, fanin_registry *reg) {
    static char err[8 * FANIN_ERRLEN];
    int rc = fanin__config_validate(c, reg, err, sizeof err);
    if (rc < 0) return cli_fail(rc, err);
    char name[128], hdr[256], out[FANIN_PATHLEN];
    run_args one = *a;
    if ((rc = describe(c, reg, &one, name, sizeof name, hdr, sizeof hdr, err, sizeof err)) < 0)
        return cli_fail(rc, err);
    if ((rc = choose_folder_ranks(&one, name, out)) != FANIN_EXIT_OK) return rc;
    if (one.jobs == JOBS_AUTO) { /* run.args then saves the choice, for --resume */
        fanin__jobs_choice ch = cli_jobs_auto(c, reg, a->threads);
        one.jobs = ch.processes;
        one.threads = ch.threads;
    }
    if (one.jobs > fanin__config_members(c)) one.jobs = fanin__config_members(c);
    if (one.jobs > 1) return run_jobs(&one, c, reg, out, name, hdr);
    return run_members(&one, c, reg, out, name, hdr);
}

/* Under mpirun: MPI_Init; this rank and the count. */
static int start_mpi(run_args *a) {
    char err[FANIN_ERRLEN];
    if (fanin__mpi_init(&a->rank, &a->ranks, err, sizeof err) < 0) return cli_fail(FANIN_EIO, err);
    if (a->rank != 0) a->child = 1; /* rank 0 prints the table */
    return FANIN_EXIT_OK;
}

/* cmd_run with `sets` holding up to argc + 64 entries */
static int cmd_run_with(int argc, char **argv, char **sets) {
    run_args a = {.sets = sets};
    int code = parse_args(argc, argv, &a);
    if (code == FANIN_EXIT_OK && fanin__mpi_launched()) code = start_mpi(&a);
    fanin_registry *reg = code == FANIN_EXIT_OK ? cli_registry(&code) : NULL;
    fanin_config *c = reg ? cli_config(a.config, a.sets, a.n_sets, &code) : NULL;
    if (c) code = run(&a, c, reg);
    fanin__config_free(c);
    fanin__registry_free(reg);
    while (n_saved > 0) free(saved[--n_saved]);
    if (a.ranks > 1) code = fanin__mpi_max(code); /* every rank exits as the worst one */
    fanin__mpi_finalize();
    return code;
}

int cmd_run(int argc, char **argv) {
    char **sets = calloc((size_t)argc + 64, sizeof *sets);
    if (!sets) {
        fprintf(stderr, "fanin: out of memory\n");
        return FANIN_EXIT_RUNTIME;
    }
    int code = cmd_run_with(argc, argv, sets);
    free(sets);
    return code;
}
