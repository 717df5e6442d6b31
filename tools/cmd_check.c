/* `fanin check PLUGIN.so... [--tap] [--timeout S] [--param K=V]... [--sweep-params]`: the
 * conformance suite of core/plugin/check*.c on each file, printed as a plain report or as TAP,
 * each plugin's checks under a line naming the parameter values used. Exit 0 only when every
 * check passed; 2 for a usage error (a --param no plugin takes, or a value out of range).
 */
#include "cli.h"
#include "plugin/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char check_usage[] =
    "usage: fanin check PLUGIN.so... [--tap] [--timeout SECONDS] [--param K=V]... "
    "[--sweep-params]\n"
    "  runs the conformance suite on each plugin file, every check in its own process\n"
    "  --tap           print TAP (Test Anything Protocol) instead of the plain report\n"
    "  --timeout S     seconds a single check may take before it counts as hung (default 10)\n"
    "  --param K=V     check with parameter K set to V (repeatable): every plugin of the files\n"
    "                  that has a parameter K; an error when none has it\n"
    "  --sweep-params  also check each numeric parameter at its range ends and a value between,\n"
    "                  one at a time (unbounded sides: 10 x the default, or the default +- 10)\n";

typedef struct printer {
    int tap, number, passed, failed, skipped;
    const char *last_file;
    char last_plugin[768];
} printer;

/* TAP descriptions may not contain '#' (it starts a directive) */
static void tap_text(const char *s) {
    for (; *s; s++) putchar(*s == '#' ? '_' : *s == '\n' ? ' ' : *s);
}

static void print_tap(printer *pr, const fanin__check_item *it) {
    printf("%s %d - ", it->status == FANIN_CHECK_FAIL ? "not ok" : "ok", pr->number);
    tap_text(it->file);
    printf(": ");
    if (it->plugin) tap_text(it->plugin), printf(": ");
    tap_text(it->name);
    if (it->status == FANIN_CHECK_SKIP) printf(" # SKIP "), tap_text(it->msg);
    putchar('\n');
    if (it->status == FANIN_CHECK_FAIL) printf("# %s\n", it->msg);
}

static void print_plain(const fanin__check_item *it) {
    static const char *const tags[] = {"ok  ", "FAIL", "skip"};
    printf("  %s  %s%s%s", tags[it->status], it->plugin ? it->plugin : "", it->plugin ? ": " : "",
           it->name);
    if (it->msg[0]) printf(": %s", it->msg);
    putchar('\n');
}

static void print_item(void *user, const fanin__check_item *it) {
    printer *pr = user;
    pr->number++;
    pr->passed += it->status == FANIN_CHECK_PASS;
    pr->failed += it->status == FANIN_CHECK_FAIL;
    pr->skipped += it->status == FANIN_CHECK_SKIP;
    if (!pr->tap && (!pr->last_file || strcmp(pr->last_file, it->file) != 0))
        printf("%s\n", it->file);
    /* a plugin's values once, above its checks: "activation 'elu' with defaults: alpha=1" */
    if (it->plugin && it->params && strcmp(pr->last_plugin, it->plugin) != 0)
        printf("%s%s %s\n", pr->tap ? "# " : "  ", it->plugin, it->params);
    snprintf(pr->last_plugin, sizeof pr->last_plugin, "%s", it->plugin ? it->plugin : "");
    if (pr->tap) print_tap(pr, it);
    else print_plain(it);
    pr->last_file = it->file;
    fflush(stdout);
}

typedef struct check_args {
    const char **files, **params;
    int n_files, n_params;
} check_args;

/* argv into a and o; -1 when valid, else the exit code (the message printed). */
static int parse_args(int argc, char **argv, check_args *a, fanin__check_opts *o, printer *pr) {
    for (int i = 0; i < argc; i++) {
        char *end;
        if (!strcmp(argv[i], "--tap")) pr->tap = 1;
        else if (!strcmp(argv[i], "--sweep-params")) o->sweep = 1;
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
            o->timeout = strtod(argv[++i], &end);
            if (*end || !(o->timeout > 0))
                return cli_fail(FANIN_EINVAL, "--timeout takes a positive number of seconds");
        } else if (!strcmp(argv[i], "--param") && i + 1 < argc) {
            const char *kv = argv[++i], *eq = strchr(kv, '=');
            if (!eq || eq == kv)
                return fprintf(stderr,
                               "fanin: check: --param takes K=V (a parameter name, "
                               "'=' and its value), got '%s'\n",
                               kv),
                       FANIN_EXIT_USAGE;
            a->params[a->n_params++] = kv;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            return fputs(check_usage, stdout), FANIN_EXIT_OK;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "fanin: check: unknown option '%s'\n%s", argv[i], check_usage);
            return FANIN_EXIT_USAGE;
        } else a->files[a->n_files++] = argv[i];
    }
    if (a->n_files == 0) return fputs(check_usage, stderr), FANIN_EXIT_USAGE;
    return -1;
}

int cmd_check(int argc, char **argv) {
    printer pr = {0};
    fanin__check_opts o = {.timeout = 10.0, .user = &pr, .report = print_item};
    check_args a = {calloc((size_t)argc + 1, sizeof *a.files),
                    calloc((size_t)argc + 1, sizeof *a.params), 0, 0};
    char err[FANIN_ERRLEN];
    int rc = a.files && a.params ? parse_args(argc, argv, &a, &o, &pr)
                                 : cli_fail(FANIN_ENOMEM, "out of memory");
    o.params = a.params, o.n_params = (size_t)a.n_params;
    if (rc < 0 && fanin__check_params_valid(a.files, (size_t)a.n_files, &o, err, sizeof err))
        rc = (fprintf(stderr, "fanin: check: %s\n", err), FANIN_EXIT_USAGE);
    if (rc < 0) {
        if (pr.tap) printf("TAP version 13\n");
        for (int i = 0; i < a.n_files; i++) fanin__check_file(a.files[i], &o);
        if (pr.tap) printf("1..%d\n", pr.number);
        else
            printf("%d checks: %d passed, %d failed, %d skipped\n", pr.number, pr.passed, pr.failed,
                   pr.skipped);
        rc = pr.failed ? FANIN_EXIT_RUNTIME : FANIN_EXIT_OK;
    }
    free(a.files);
    free(a.params);
    return rc;
}
