/* The `fanin` command: dispatches to one cmd_<name>.c per subcommand. Only tools print. */
#include "cli.h"
#include "base/coretype.h"
#include "base/errors.h"
#include "config/experiment.h"
#include "plugin/registry.h"

#include <fanin/fanin.h>

#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: fanin COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  run CONFIG.yaml [--set KEY=VALUE]... [--out DIR] [--threads N] [--quiet] [--shard K/N]\n"
    "      [--jobs N|auto] [--resume DIR] [--overwrite] [--timeout S] [--no-isolate]\n"
    "                       run the experiment (every sweep member) and compare the runs;\n"
    "                       --jobs N runs the members in N processes (give each one BLAS\n"
    "                       thread: threads: 1); --jobs auto chooses processes x BLAS\n"
    "                       threads from the members, the model's size and the cores;\n"
    "                       --resume continues an interrupted run; a\n"
    "                       folder (runs/NAME or --out) holding an earlier run is kept: the\n"
    "                       new one goes to NAME-2, -3, ..., or replaces it with --overwrite\n"
    "                       each member runs in its own process: a crash, or a member past\n"
    "                       --timeout S seconds, is its row (crashed, timeout) and the sweep\n"
    "                       goes on; under `mpirun -np N fanin run` rank 0 hands the members\n"
    "                       to the ranks as they become free (docs/cluster.md)\n"
    "  validate CONFIG.yaml... [--set KEY=VALUE]...\n"
    "                       check the file against the schema and every plugin's parameters\n"
    "  plugins [--kind KIND] [--json] [-v]\n"
    "                       list every plugin found: kind, name, version, file, doc;\n"
    "                       -v adds each parameter (type, default, range, doc)\n"
    "  check PLUGIN.so... [--tap] [--timeout S] [--param K=V]... [--sweep-params]\n"
    "                       run the plugin conformance suite, each check in its own process;\n"
    "                       --param sets a parameter, --sweep-params also tries each numeric\n"
    "                       parameter at its range ends and between\n"
    "  new-plugin initializer|activation|optimizer NAME [--dir DIR]\n"
    "                       scaffold a plugin: C file, CMakeLists.txt, cmocka test, README\n"
    "                       (NAME must not be taken by a plugin of that kind)\n"
    "  merge DIR... [--out DIR]\n"
    "                       combine the summaries of shards run with --shard K/N and rewrite\n"
    "                       summary.csv, summary.json and report.html\n"
    "  init-stats INIT --shape OUT,IN [--param K=V]... [--seed S] [--rng philox|numpy]\n"
    "             [--activation A] [--dump FILE.npy]\n"
    "                       sample one weight matrix; its mean/std/min/max beside the theory\n"
    "  predict MODEL.safetensors [CONFIG.yaml] [--set KEY=VALUE]... [--member K] [--out FILE.csv]\n"
    "                       evaluate saved weights on their config's test data: the config\n"
    "                       the model holds, or the member of CONFIG's sweep it was trained as\n"
    "  help [COMMAND|PLUGIN] a command's usage, or a plugin's parameters; alone, this text\n"
    "  --version            print the version\n"
    "\n"
    "exit codes: 0 done (a diverged run is a result), 1 runtime failure (or a member\n"
    "            crashed, timed out or failed),\n"
    "            2 usage, config or data error, 130 interrupted\n";

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
} command;

static const command commands[] = {
    {"run", cmd_run},         {"validate", cmd_validate},     {"plugins", cmd_plugins},
    {"check", cmd_check},     {"new-plugin", cmd_new_plugin}, {"help", cmd_help},
    {"predict", cmd_predict}, {"init-stats", cmd_init_stats}, {"merge", cmd_merge},
};

const char *cli_usage_text(void) { return usage; }

int cli_fail(int rc, const char *msg) {
    fprintf(stderr, "fanin: %s\n", msg);
    return fanin_exit_code(rc);
}

long cli_parse_count(const char *s) {
    char *end;
    if (!s || !*s) return -1;
    long v = strtol(s, &end, 10);
    return *end || v < 0 ? -1 : v;
}

fanin_registry *cli_registry(int *exit_code) {
    fanin_registry *reg;
    char err[FANIN_ERRLEN];
    int rc = fanin__registry_new(&reg, NULL, 0, err, sizeof err);
    if (rc < 0) {
        *exit_code = cli_fail(rc, err);
        return NULL;
    }
    return reg;
}

fanin_config *cli_config(const char *path, char **sets, int n_sets, int *exit_code) {
    fanin_config *c;
    char err[FANIN_ERRLEN];
    int rc = fanin__config_load(&c, path, err, sizeof err);
    for (int i = 0; rc == FANIN_OK && i < n_sets; i++)
        rc = fanin__config_set(c, sets[i], err, sizeof err);
    if (rc == FANIN_OK) return c;
    if (c && rc < 0) fanin__config_free(c);
    *exit_code = cli_fail(rc, err);
    return NULL;
}

/* C[m, n] = A[m, k] . B[n, k]^T through OpenBLAS, for the start-up check. */
static void blas_nt(int m, int n, int k, const float *A, const float *B, float *C) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, A, k, B, k, 0.0f, C, n);
}

/* OpenBLAS read OPENBLAS_CORETYPE when it loaded; when it fell back to generic kernels on a CPU
 * with AVX2 and FMA (and the user set nothing), run this program again with Haswell's. Then
 * refuse a BLAS whose sgemm is wrong. Returns an exit code, or -1 to go on. */
static int blas_start(char **argv) {
    const char *core = openblas_get_corename();
    if (fanin__coretype_decide(getenv("OPENBLAS_CORETYPE"), core, fanin__cpu_caps_now()) ==
        FANIN_CORETYPE_REEXEC) {
        fprintf(stderr,
                "fanin: OpenBLAS picked its generic %s kernels on a CPU with AVX2 and "
                "FMA; running with OPENBLAS_CORETYPE=%s (set OPENBLAS_CORETYPE to choose)\n",
                core, FANIN_CORETYPE_FAST);
        setenv("OPENBLAS_CORETYPE", FANIN_CORETYPE_FAST, 1);
        execv("/proc/self/exe", argv);
        fprintf(stderr, "fanin: cannot run again (%s); going on with the %s kernels\n",
                strerror(errno), core);
    }
    char err[FANIN_ERRLEN];
    if (fanin__sgemm_check(blas_nt, err, sizeof err) == FANIN_OK) return -1;
    fprintf(stderr,
            "fanin: OpenBLAS's %s kernels compute wrong products on this CPU: %s; set "
            "OPENBLAS_CORETYPE to another core (e.g. Sandybridge or Prescott) or install another "
            "BLAS\n",
            core, err);
    return FANIN_EXIT_RUNTIME;
}

int main(int argc, char **argv) {
    if (argc < 2 || (argc == 2 && !strcmp(argv[1], "help")) || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "-h")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? FANIN_EXIT_USAGE : FANIN_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("fanin %s (plugin ABI %d.%d)\n", fanin_version(), FANIN_ABI_MAJOR, FANIN_ABI_MINOR);
        return FANIN_EXIT_OK;
    }
    int rc = blas_start(argv);
    if (rc >= 0) return rc;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 2, argv + 2);
    const char *names[sizeof commands / sizeof commands[0]];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) names[i] = commands[i].name;
    const char *near = fanin__nearest(argv[1], names, sizeof names / sizeof names[0]);
    fprintf(stderr, "fanin: unknown command '%s'%s%s%s; see 'fanin help'\n", argv[1],
            near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
    return FANIN_EXIT_USAGE;
}
