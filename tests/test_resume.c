/* Checkpoints and resume through the `fanin` command: SIGINT finishes the step, checkpoints,
 * writes the partial summary and exits 130; `fanin run --resume DIR` keeps the finished runs
 * and continues the interrupted one to weights bit-identical to an uninterrupted run; kill -9
 * loses only the steps since the last checkpoint; a corrupt checkpoint is an error (exit 2). */

#include <stdio.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[64];

/* Minibatches (so the shuffle stream and the epoch order are part of the state), momentum (so
 * the optimizer state is), two sweep members (so a finished run must be kept). */
static const char yaml[] =
    "name: r\n"
    "data: {source: synthetic, kind: spiral, n: 600, noise: 0.2, classes: 3}\n"
    "model:\n"
    "  defaults: {activation: tanh, init: xavier_normal}\n"
    "  layers: [{units: 64}, {units: 64}, {units: 3, activation: linear}]\n"
    "loss: cross_entropy\n"
    "optimizer: {name: sgd, lr: 0.05, momentum: 0.9}\n"
    "train: {iterations: 6000, batch: 50, log_every: 100, checkpoint_every: 100}\n"
    "sweep: {seed: [1, 2]}\n";

static int setup(void **state) {
    snprintf(dir, sizeof dir, "/tmp/fanin-resume-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    char path[128];
    snprintf(path, sizeof path, "%s/r.yaml", dir);
    FILE *f = fopen(path, "w");
    fputs(yaml, f);
    fclose(f);
    return 0;
}

static int teardown(void **state) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Start `fanin run r.yaml --out DIR/out ...` (or `fanin run --resume DIR/out`). */
static pid_t start(const char *out, int resume) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char cfg[128], o[128];
        snprintf(cfg, sizeof cfg, "%s/r.yaml", dir);
        snprintf(o, sizeof o, "%s/%s", dir, out);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        if (resume) execl(FANIN_TEST_BIN, "fanin", "run", "--resume", o, (char *)NULL);
        else
            execl(FANIN_TEST_BIN, "fanin", "run", cfg, "--out", o, "--quiet", "--threads", "1",
                  (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int finish(pid_t pid) {
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Wait (up to 60 s) until DIR/rel exists. */
static int wait_for(const char *rel) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (int i = 0; i < 6000; i++) {
        if (access(path, F_OK) == 0) return 1;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static char *slurp(const char *rel, size_t *n) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    b[*n] = 0;
    fclose(f);
    return b;
}

static void assert_same_file(const char *a, const char *b) {
    size_t na, nb;
    char *x = slurp(a, &na), *y = slurp(b, &nb);
    assert_non_null(x);
    assert_non_null(y);
    assert_int_equal(na, nb);
    assert_memory_equal(x, y, na);
    free(x);
    free(y);
}

/* The text of DIR/rel with the last column of every line (metrics.csv's seconds) cut off. */
static char *without_last_column(const char *rel) {
    size_t n;
    char *text = slurp(rel, &n), *w = text;
    assert_non_null(text);
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n'), *comma = NULL;
        if (!end) end = line + strlen(line);
        for (char *c = line; c < end; c++)
            if (*c == ',') comma = c;
        size_t keep = (size_t)((comma ? comma : end) - line);
        memmove(w, line, keep);
        w += keep;
        *w++ = '\n';
        line = *end ? end + 1 : end;
    }
    *w = 0;
    return text;
}

/* metrics.csv's seconds (its last column) never go down: a resumed run counts on from the
 * checkpoint's seconds, not from 0. */
static void assert_seconds_continue(const char *rel) {
    size_t n;
    char *text = slurp(rel, &n);
    assert_non_null(text);
    double last = -1;
    int rows = 0;
    for (char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        char *end = strchr(line + 1, '\n');
        if (end) *end = 0;
        double s = atof(strrchr(line + 1, ',') + 1);
        if (end) *end = '\n';
        if (s < last) fail_msg("%s: seconds go back from %g to %g at row %d", rel, last, s, rows);
        last = s;
        rows++;
    }
    assert_true(rows > 2);
    free(text);
}

/* The three logs of the interrupted member equal a straight run's row for row (metrics.csv
 * less its seconds): the iteration-0 statistics and histograms survive the resume. */
static void assert_same_logs(void) {
    const char *logs[] = {"layers.csv", "histograms.csv"};
    for (int i = 0; i < 2; i++) {
        char a[128], b[128];
        snprintf(a, sizeof a, "straight/01-2/%s", logs[i]);
        snprintf(b, sizeof b, "cut/01-2/%s", logs[i]);
        assert_same_file(a, b);
    }
    char *ms = without_last_column("straight/01-2/metrics.csv");
    char *mc = without_last_column("cut/01-2/metrics.csv");
    assert_string_equal(ms, mc);
    assert_non_null(strstr(mc, "\n0,0,")); /* iteration 0 is there */
    free(ms);
    free(mc);
    assert_seconds_continue("cut/01-2/metrics.csv");
}

/* Interrupt during the second member (after its first checkpoint), with `sig`; resume; the
 * weights equal a straight run's, the first member's summary row is kept as it was, and the
 * member's logs equal the straight run's. */
static void interrupt_and_resume(int sig) {
    assert_int_equal(finish(start("straight", 0)), 0);
    pid_t pid = start("cut", 0);
    if (!wait_for("cut/01-2/checkpoint.bin")) fail_msg("no checkpoint appeared");
    kill(pid, sig);
    int code = finish(pid);
    size_t n;
    char *before = slurp("cut/summary.csv", &n);
    assert_non_null(before);
    if (sig == SIGINT) {
        assert_int_equal(code, 130);
        assert_non_null(strstr(before, "01-2,interrupted"));
    } else {
        assert_int_equal(code, 128 + SIGKILL);
    }
    char *row0 = strstr(before, "00-1,done");
    assert_non_null(row0);
    *strchr(row0, '\n') = 0;
    assert_int_equal(finish(start("cut", 1)), 0);
    char *after = slurp("cut/summary.csv", &n);
    assert_non_null(strstr(after, row0)); /* kept, not rerun (same seconds) */
    assert_non_null(strstr(after, "01-2,done"));
    assert_same_file("straight/00-1/model.safetensors", "cut/00-1/model.safetensors");
    assert_same_file("straight/01-2/model.safetensors", "cut/01-2/model.safetensors");
    assert_same_logs();
    free(before);
    free(after);
}

static void test_sigint_checkpoints_and_resume_is_bit_identical(void **state) {
    interrupt_and_resume(SIGINT);
}

static void test_kill9_resumes_from_last_checkpoint(void **state) { interrupt_and_resume(SIGKILL); }

static void test_corrupt_checkpoint_is_an_error(void **state) {
    pid_t pid = start("cut", 0);
    if (!wait_for("cut/00-1/checkpoint.bin")) fail_msg("no checkpoint appeared");
    kill(pid, SIGINT);
    assert_int_equal(finish(pid), 130);
    char path[256];
    snprintf(path, sizeof path, "%s/cut/00-1/checkpoint.bin", dir);
    FILE *f = fopen(path, "r+b");
    fseek(f, 200, SEEK_SET);
    fputc(0x5A, f);
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s run --resume %s/cut > %s/out.txt 2>&1", FANIN_TEST_BIN, dir, dir);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    size_t n;
    char *text = slurp("out.txt", &n);
    assert_non_null(strstr(text, "checkpoint.bin: checksum mismatch"));
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sigint_checkpoints_and_resume_is_bit_identical, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_kill9_resumes_from_last_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_checkpoint_is_an_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
