/* Tests for core/base/jobs.c: --jobs auto's processes x threads as a table (members, the
 * model's parameters, the cores, a --threads the user fixed), its bounds over a grid, and the
 * core count it reads from the affinity mask; then `fanin run --jobs auto` (tools/jobs_auto.c)
 * on one core and on all of them: its one line, and run.args keeping the choice. */
#include "base/jobs.h"

#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define BIG FANIN_JOBS_THREAD_PARAMS

static void test_choose_table(void **state) {
    static const struct {
        int members;
        size_t params;
        int cores, fixed, processes, threads;
    } rows[] = {
        {6, 16000, 2, 0, 2, 1},     /* the seed sweep on 2 cores: processes */
        {1000, 300, 16, 0, 16, 1},  /* a sweep of tiny models: every core a process */
        {1, 16000, 2, 0, 1, 2},     /* one seed run: row threads give it both cores */
        {1, 300, 2, 0, 1, 1},       /* one tiny run: a second thread only waits */
        {1, BIG, 2, 0, 1, 2},       /* one large run: the cores as threads */
        {1, 2000000, 16, 0, 1, 16}, /* one mlp on 16 cores */
        {2, BIG, 8, 0, 2, 4},       /* two large members on 8 cores: 2 x 4 */
        {3, BIG, 8, 0, 3, 2},       /* 8 / 3: the spare core stays idle, never oversubscribed */
        {12, BIG, 8, 0, 8, 1},      /* more large members than cores: processes */
        {3, BIG - 1, 8, 0, 3, 1},   /* just under the threshold: threads stay 1 */
        {4, 16000, 1, 0, 1, 1},     /* one core */
        {0, 300, 4, 0, 1, 1},       /* no members counts as one */
        {5, 300, 0, 0, 1, 1},       /* an unknown core count counts as one */
        {6, 16000, 8, 2, 4, 2},     /* --threads 2 kept: 8 / 2 processes */
        {2, 16000, 8, 2, 2, 2},     /* ... no more processes than members */
        {6, 16000, 2, 4, 1, 4},     /* --threads above the cores: one process */
        {1, BIG, 4, 1, 1, 1},       /* --threads 1 on a large model: kept */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fanin__jobs_choice ch = fanin__jobs_choose(rows[i].members, rows[i].params, rows[i].cores,
                                                   rows[i].fixed);
        if (ch.processes != rows[i].processes || ch.threads != rows[i].threads)
            fail_msg("row %zu: %d x %d, want %d x %d", i, ch.processes, ch.threads,
                     rows[i].processes, rows[i].threads);
    }
}

/* Over a grid: at least 1 of each, no more processes than members, never more processes x
 * threads than the cores, and every core used when the members (or a large model) allow. */
static void test_choose_bounds(void **state) {
    const size_t params[] = {10, 300, BIG - 1, BIG, 16000, (size_t)1 << 30};
    for (int m = 1; m <= 40; m++)
        for (int c = 1; c <= 33; c++)
            for (size_t p = 0; p < sizeof params / sizeof params[0]; p++) {
                fanin__jobs_choice ch = fanin__jobs_choose(m, params[p], c, 0);
                assert_true(ch.processes >= 1 && ch.threads >= 1);
                assert_true(ch.processes <= m);
                assert_true(ch.processes * ch.threads <= c);
                if (m >= c) assert_int_equal(ch.processes, c);
                if (params[p] >= BIG) assert_true(ch.processes * ch.threads > c - ch.processes);
                else assert_int_equal(ch.threads, 1);
            }
}

static void test_cores(void **state) {
    cpu_set_t set;
    int n = fanin__jobs_cores();
    assert_true(n >= 1);
    assert_true(sched_getaffinity(0, sizeof set, &set) == 0);
    assert_int_equal(n, CPU_COUNT(&set));
    long conf = sysconf(_SC_NPROCESSORS_CONF);
    if (conf > 0) assert_true(n <= conf);
}

/* ---- `fanin run --jobs auto`, in a fresh temporary folder (*state) ---- */

static int tmp_setup(void **state) {
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/fanin-jobs-XXXXXX");
    *state = mkdtemp(dir);
    return *state ? 0 : -1;
}

static int tmp_teardown(void **state) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", (char *)*state);
    return system(cmd) == 0 ? 0 : -1;
}

/* 6 members of a 2-4-1 network: 17 parameters */
static const char six_yaml[] =
    "name: six\n"
    "data: {source: synthetic, kind: moons, n: 100, noise: 0.1}\n"
    "model: {defaults: {activation: tanh, init: xavier_normal}, layers: [{units: 4}, {units: 1, "
    "activation: sigmoid}]}\n"
    "loss: bce\n"
    "optimizer: {name: sgd, lr: 0.1}\n"
    "train: {iterations: 2, log_every: 1}\n"
    "sweep: {seed: [1, 2, 3, 4, 5, 6]}\n";

/* one member of a 1024-1024-1 network: 1,050,625 parameters (past FANIN_JOBS_THREAD_PARAMS) */
static const char big_yaml[] =
    "name: big\n"
    "data: {source: synthetic, kind: linear_teacher, features: 1024, outputs: 1, n: 16}\n"
    "model: {defaults: {activation: linear, init: xavier_normal}, layers: [{units: 1024}, "
    "{units: 1}]}\n"
    "loss: mse\n"
    "optimizer: {name: sgd, lr: 0.01}\n"
    "train: {iterations: 1, log_every: 1}\n";

/* Write yaml to DIR/NAME.yaml and run `fanin run` on it with --jobs auto into DIR/NAME, on the
 * first core only (one) or on all this process may use; DIR/NAME.err holds stderr. The exit
 * code; `text` gets the first line of stderr. */
static int run_auto(const char *dir, const char *name, const char *yaml, int one, char *text,
                    size_t len) {
    char path[256], line[1024];
    snprintf(path, sizeof path, "%s/%s.yaml", dir, name);
    FILE *f = fopen(path, "w");
    fputs(yaml, f);
    fclose(f);
    cpu_set_t all, first;
    sched_getaffinity(0, sizeof all, &all);
    CPU_ZERO(&first);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &all)) {
            CPU_SET(c, &first);
            break;
        }
    if (one) sched_setaffinity(0, sizeof first, &first); /* the child inherits the mask */
    snprintf(line, sizeof line,
             "%s run %s --jobs auto --out %s/%s --quiet 2> %s/%s.err > /dev/null", FANIN_TEST_BIN,
             path, dir, name, dir, name);
    int status = system(line);
    sched_setaffinity(0, sizeof all, &all);
    snprintf(path, sizeof path, "%s/%s.err", dir, name);
    f = fopen(path, "r");
    text[0] = 0;
    if (f && !fgets(text, (int)len, f)) text[0] = 0;
    if (f) fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* DIR/NAME/run.args holds "key value" */
static void assert_arg(const char *dir, const char *name, const char *kv) {
    char path[256], text[4096] = "";
    snprintf(path, sizeof path, "%s/%s/run.args", dir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    text[fread(text, 1, sizeof text - 1, f)] = 0;
    fclose(f);
    assert_non_null(strstr(text, kv));
}

static void test_cli_small_sweep_uses_processes(void **state) {
    char text[512], want[512], kv[32];
    int cores = fanin__jobs_cores(), procs = cores < 6 ? cores : 6;
    assert_int_equal(run_auto(*state, "one", six_yaml, 1, text, sizeof text), 0);
    assert_string_equal(text, "--jobs auto: 1 process x 1 thread (6 members of a "
                              "17-parameter model on 1 core)\n");
    assert_arg(*state, "one", "threads 1\n");
    assert_int_equal(run_auto(*state, "all", six_yaml, 0, text, sizeof text), 0);
    snprintf(want, sizeof want,
             "--jobs auto: %d process%s x 1 thread (6 members of a 17-parameter model on %d "
             "core%s)\n",
             procs, procs == 1 ? "" : "es", cores, cores == 1 ? "" : "s");
    assert_string_equal(text, want);
    snprintf(kv, sizeof kv, "jobs %d\n", procs);
    if (procs > 1) assert_arg(*state, "all", kv);
}

static void test_cli_large_run_uses_threads(void **state) {
    char text[512], want[512], kv[32];
    int cores = fanin__jobs_cores();
    assert_int_equal(run_auto(*state, "one", big_yaml, 1, text, sizeof text), 0);
    assert_string_equal(text, "--jobs auto: 1 process x 1 thread (1 member of a "
                              "1.1M-parameter model on 1 core)\n");
    assert_int_equal(run_auto(*state, "all", big_yaml, 0, text, sizeof text), 0);
    snprintf(want, sizeof want,
             "--jobs auto: 1 process x %d thread%s (1 member of a 1.1M-parameter model on "
             "%d core%s)\n",
             cores, cores == 1 ? "" : "s", cores, cores == 1 ? "" : "s");
    assert_string_equal(text, want);
    snprintf(kv, sizeof kv, "threads %d\n", cores);
    assert_arg(*state, "all", kv);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choose_table),
        cmocka_unit_test(test_choose_bounds),
        cmocka_unit_test(test_cores),
        cmocka_unit_test_setup_teardown(test_cli_small_sweep_uses_processes, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(test_cli_large_run_uses_threads, tmp_setup, tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
