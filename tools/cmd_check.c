/* `fanin check PLUGIN.so... [--tap] [--timeout S]`: the conformance suite of core/check*.c on
 * each file, printed as a plain report or as TAP. Exit 0 only when every check passed.
 */
#include "cli.h"
#include "plugin/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char check_usage[] =
    "usage: fanin check PLUGIN.so... [--tap] [--timeout SECONDS]\n"
    "  runs the conformance suite on each plugin file, every check in its own process\n"
    "  --tap        print TAP (Test Anything Protocol) instead of the plain report\n"
    "  --timeout S  seconds a single check may take before it counts as hung (default 10)\n";

typedef struct printer {
    int tap, number, passed, failed, skipped;
    const char *last_file;
} printer;

/* TAP descriptions may not contain '#' (it starts a directive) */
static void tap_text(const char *s) {
    for (; *s; s++) putchar(*s == '#' ? '_' : *s == '\n' ? ' ' : *s);
}

static void print_item(void *user, const fanin__check_item *it) {
    printer *pr = user;
    pr->number++;
    pr->passed += it->status == FANIN_CHECK_PASS;
    pr->failed += it->status == FANIN_CHECK_FAIL;
    pr->skipped += it->status == FANIN_CHECK_SKIP;
    if (pr->tap) {
        printf("%s %d - ", it->status == FANIN_CHECK_FAIL ? "not ok" : "ok", pr->number);
        tap_text(it->file);
        printf(": ");
        if (it->plugin) tap_text(it->plugin), printf(": ");
        tap_text(it->name);
        if (it->status == FANIN_CHECK_SKIP) printf(" # SKIP "), tap_text(it->msg);
        putchar('\n');
        if (it->status == FANIN_CHECK_FAIL) printf("# %s\n", it->msg);
    } else {
        if (!pr->last_file || strcmp(pr->last_file, it->file) != 0) printf("%s\n", it->file);
        static const char *const tags[] = {"ok  ", "FAIL", "skip"};
        printf("  %s  %s%s%s", tags[it->status], it->plugin ? it->plugin : "",
               it->plugin ? ": " : "", it->name);
        if (it->msg[0]) printf(": %s", it->msg);
        putchar('\n');
    }
    pr->last_file = it->file;
    fflush(stdout);
}

int cmd_check(int argc, char **argv) {
    printer pr = {0};
    fanin__check_opts o = {10.0, &pr, print_item};
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    int n = 0;
    if (!files) return cli_fail(FANIN_ENOMEM, "out of memory");
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--tap")) pr.tap = 1;
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
            char *end;
            o.timeout = strtod(argv[++i], &end);
            if (*end || !(o.timeout > 0)) {
                free(files);
                return cli_fail(FANIN_EINVAL, "--timeout takes a positive number of seconds");
            }
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            free(files);
            fputs(check_usage, stdout);
            return FANIN_EXIT_OK;
        } else if (argv[i][0] == '-') {
            free(files);
            fprintf(stderr, "fanin: check: unknown option '%s'\n%s", argv[i], check_usage);
            return FANIN_EXIT_USAGE;
        } else files[n++] = argv[i];
    }
    if (n == 0) {
        free(files);
        fputs(check_usage, stderr);
        return FANIN_EXIT_USAGE;
    }
    if (pr.tap) printf("TAP version 13\n");
    for (int i = 0; i < n; i++) fanin__check_file(files[i], &o);
    if (pr.tap)
        printf("1..%d\n", pr.number);
    else
        printf("%d checks: %d passed, %d failed, %d skipped\n", pr.number, pr.passed, pr.failed,
               pr.skipped);
    free(files);
    return pr.failed ? FANIN_EXIT_RUNTIME : FANIN_EXIT_OK;
}
