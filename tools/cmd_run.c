/* `fanin run CONFIG.yaml`: checks every sweep member first (so a typo never surfaces an hour
 * in), runs them, prints the comparison table and where the files are. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct run_args {
    const char *config, *out;
    char **sets;
    int n_sets, threads, quiet, shard_k, shard_n;
} run_args;

static int parse_shard(const char *s, run_args *a) {
    char tail;
    if (!s || sscanf(s, "%d/%d%c", &a->shard_k, &a->shard_n, &tail) != 2) return -1;
    return a->shard_n >= 1 && a->shard_k >= 1 && a->shard_k <= a->shard_n ? 0 : -1;
}

static int parse_args(int argc, char **argv, run_args *a) {
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--set") && v) a->sets[a->n_sets++] = argv[++i];
        else if (!strcmp(o, "--out") && v) a->out = argv[++i];
        else if (!strcmp(o, "--threads") && v) {
            if ((a->threads = (int)cli_parse_count(argv[++i])) < 1)
                return cli_fail(FANIN_EINVAL, "--threads needs a positive integer");
        } else if (!strcmp(o, "--shard")) {
            if (parse_shard(argv[++i], a) < 0)
                return cli_fail(FANIN_EINVAL, "--shard needs K/N with 1 <= K <= N, e.g. --shard 2/4");
        } else if (!strcmp(o, "--quiet") || !strcmp(o, "-q")) a->quiet = 1;
        else if (o[0] == '-' || a->config) {
            fprintf(stderr, "fanin run: unexpected argument '%s'; see 'fanin help'\n", o);
            return FANIN_EXIT_USAGE;
        } else a->config = o;
    }
    if (!a->config) return cli_fail(FANIN_EINVAL, "usage: fanin run CONFIG.yaml [options]");
    return FANIN_EXIT_OK;
}

/* The experiment's name and the swept keys' last parts ("init"), from member 0. */
static int describe(const fanin_config *c, const fanin_registry *reg, char *name, size_t nlen,
                    char *hdr, size_t hlen, char *err, size_t errlen) {
    fanin_experiment *x;
    int rc = fanin__config_resolve(c, 0, reg, &x, err, errlen);
    if (rc < 0) return rc;
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

static int run(const run_args *a, fanin_config *c, fanin_registry *reg) {
    static char err[8 * FANIN_ERRLEN];
    int rc = fanin__config_validate(c, reg, err, sizeof err);
    if (rc < 0) return cli_fail(rc, err);
    char name[128], hdr[256], out[FANIN_PATHLEN];
    if ((rc = describe(c, reg, name, sizeof name, hdr, sizeof hdr, err, sizeof err)) < 0)
        return cli_fail(rc, err);
    snprintf(out, sizeof out, "%s", a->out ? a->out : "runs/");
    if (!a->out) snprintf(out + strlen(out), sizeof out - strlen(out), "%s", name);
    cli_progress prog = {.is_tty = isatty(STDERR_FILENO), .quiet = a->quiet};
    fanin__runner rn = {.config = c, .reg = reg, .out_dir = out, .threads = a->threads,
                        .shard_k = a->shard_k, .shard_n = a->shard_n};
    cli_progress_hooks(&prog, &rn.hooks);
    prog.n_members = fanin__config_members(c);
    if (rn.shard_n > 1) prog.n_members = (prog.n_members - rn.shard_k) / rn.shard_n + 1;
    rc = fanin__run(&rn, err, sizeof err);
    if (rn.n_results) cli_print_table(stdout, &rn, hdr);
    if (rn.n_results) printf("\nresults in %s/ (summary.csv; per run: config.yaml, metrics.csv, "
                             "model.safetensors)\n", out);
    fanin__runner_deinit(&rn);
    return rc < 0 && rc != FANIN_EINTR ? cli_fail(rc, err) : fanin_exit_code(rc);
}

int cmd_run(int argc, char **argv) {
    char *sets[argc + 1];
    run_args a = {.sets = sets};
    int code = parse_args(argc, argv, &a);
    if (code != FANIN_EXIT_OK) return code;
    fanin_registry *reg = cli_registry(&code);
    if (!reg) return code;
    fanin_config *c = cli_config(a.config, a.sets, a.n_sets, &code);
    if (c) code = run(&a, c, reg);
    fanin__config_free(c);
    fanin__registry_free(reg);
    return code;
}
