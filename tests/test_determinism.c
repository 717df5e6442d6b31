/* Determinism: the same config, seed and thread count give bit-identical model.safetensors,
 * run after run; the resolved config records the thread count actually used. */

#include <stdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[64];

static const char yaml[] =
    "name: d\n"
    "seed: 7\n"
    "data: {source: synthetic, kind: spiral, n: 400, noise: 0.2, classes: 3}\n"
    "model:\n"
    "  defaults: {activation: relu, init: he_normal}\n"
    "  layers: [{units: 32}, {units: 32}, {units: 3, activation: linear}]\n"
    "loss: cross_entropy\n"
    "optimizer: {name: sgd, lr: 0.05, momentum: 0.9}\n"
    "train: {iterations: 300, batch: 32, log_every: 50}\n";

static char *slurp(const char *rel, size_t *n) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[2][1 << 20];
    static int which;
    char *b = buf[which ^= 1];
    *n = fread(b, 1, sizeof buf[0] - 1, f);
    b[*n] = 0;
    fclose(f);
    return b;
}

static void run(const char *out, const char *extra) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s run %s/d.yaml --out %s/%s --quiet %s > /dev/null 2>&1",
             FANIN_TEST_BIN, dir, dir, out, extra);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_same_threads_same_bits(void **state) {
    snprintf(dir, sizeof dir, "/tmp/fanin-det-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/d.yaml", dir);
    FILE *f = fopen(path, "w");
    fputs(yaml, f);
    fclose(f);
    for (int threads = 1; threads <= 2; threads++) {
        char extra[32], a[32], b[32];
        snprintf(extra, sizeof extra, "--threads %d", threads);
        snprintf(a, sizeof a, "a%d", threads);
        snprintf(b, sizeof b, "b%d", threads);
        run(a, extra);
        run(b, extra);
        size_t na, nb;
        snprintf(path, sizeof path, "%s/00/model.safetensors", a);
        char *x = slurp(path, &na);
        snprintf(path, sizeof path, "%s/00/model.safetensors", b);
        char *y = slurp(path, &nb);
        assert_non_null(x);
        assert_non_null(y);
        assert_int_equal(na, nb);
        assert_memory_equal(x, y, na);
        snprintf(path, sizeof path, "%s/00/config.yaml", a);
        char want[32];
        snprintf(want, sizeof want, "\nthreads: %d\n", threads);
        assert_non_null(strstr(slurp(path, &na), want));
    }
    /* threads: 0 (the default) is resolved to the count OpenBLAS used */
    run("z", "");
    size_t n;
    char *cfg = slurp("z/00/config.yaml", &n);
    assert_non_null(cfg);
    assert_null(strstr(cfg, "\nthreads: 0\n"));
    assert_non_null(strstr(cfg, "\nthreads: "));
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_threads_same_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
