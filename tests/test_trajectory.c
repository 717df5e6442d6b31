/* Whole nets against PyTorch: tests/fixtures/traj_conv.yaml (conv2d, pools, batchnorm,
 * layernorm, global pool) and traj_residual.yaml (every residual scale, a projection, norms in
 * branches) trained 20 full-batch SGD steps by fanin__run (what `fanin run` calls) log the
 * losses tests/ref/make_trajectory_ref.py got from PyTorch (float64) starting from the same
 * initial weights: per step the training loss (train mode) and the test loss (eval mode,
 * BatchNorm's running statistics), within 1e-5 relative. The initial weights are checked first
 * against the hash the reference was made from, so a changed initialisation says so instead of
 * failing as a wrong trajectory. Needs the Fashion-MNIST package (skipped without it). */
#include "base/errors.h"
#include "config/experiment.h"
#include "io/safetensors.h"
#include "plugin/registry.h"
#include "run/run.h"
#include "run/rundir.h"

#include <stdint.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ref/trajectory_ref.h"

#define FIXTURES FANIN_TEST_DIR "/fixtures"
#define FMNIST "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
#define STEPS 20
#define RTOL 1e-5

static fanin_registry *reg;
static char err[8 * FANIN_ERRLEN];

/* Run FIXTURES/name (one member) with the override `set` (may be NULL) into a fresh folder;
 * the member's folder into dir. */
static void run(const char *name, const char *set, char dir[FANIN_PATHLEN]) {
    char path[1024], out[256];
    snprintf(path, sizeof path, "%s/%s", FIXTURES, name);
    snprintf(out, sizeof out, "/tmp/fanin-test-trajectory-XXXXXX");
    assert_non_null(mkdtemp(out));
    fanin_config *c;
    assert_int_equal(fanin__config_load(&c, path, err, sizeof err), FANIN_OK);
    if (set) assert_int_equal(fanin__config_set(c, set, err, sizeof err), FANIN_OK);
    fanin__runner rn = {.config = c, .reg = reg, .out_dir = out, .threads = 1};
    int rc = fanin__run(&rn, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, FANIN_OK);
    assert_int_equal(rn.n_results, 1);
    assert_int_equal(rn.results[0].res.status, FANIN_OK);
    snprintf(dir, FANIN_PATHLEN, "%s", rn.results[0].dir);
    fanin__runner_deinit(&rn);
    fanin__config_free(c);
}

/* 64-bit FNV-1a over each tensor's name and float32 bytes, in the file's order (as the
 * script's read_safetensors). */
static uint64_t model_hash(const char *dir) {
    char path[FANIN_PATHLEN];
    assert_int_equal(fanin__rundir_path(path, dir, FANIN_RUNDIR_MODEL), FANIN_OK);
    fanin__st_file f;
    assert_int_equal(fanin__st_read(path, &f, err, sizeof err), FANIN_OK);
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (int i = 0; i < f.n; i++) {
        const fanin__st_tensor *t = &f.t[i];
        assert_true(i == 0 || t->begin >= f.t[i - 1].end); /* header order is data order */
        for (const char *s = t->name; *s; s++)
            h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
        for (uint64_t b = t->begin; b < t->end; b++) h = (h ^ f.data[b]) * UINT64_C(0x100000001b3);
    }
    fanin__st_deinit(&f);
    return h;
}

/* Column `name` of metrics.csv's rows 0..STEPS into v (the header names the columns). */
static void metrics_column(const char *dir, const char *name, double v[STEPS + 1]) {
    char path[FANIN_PATHLEN], line[1024];
    assert_int_equal(fanin__rundir_path(path, dir, FANIN_RUNDIR_METRICS), FANIN_OK);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    int col = 0;
    for (char *tok = strtok(line, ",\n"); tok && strcmp(tok, name); tok = strtok(NULL, ",\n"))
        col++;
    int rows = 0;
    while (fgets(line, sizeof line, f) && rows <= STEPS) {
        char *tok = strtok(line, ",\n");
        for (int c = 0; tok && c < col; c++) tok = strtok(NULL, ",\n");
        assert_non_null(tok);
        v[rows++] = strtod(tok, NULL);
    }
    fclose(f);
    assert_int_equal(rows, STEPS + 1);
}

static void expect_close(const char *what, const double *got, const double *want) {
    for (int t = 0; t <= STEPS; t++) {
        double rel = fabs(got[t] - want[t]) / fabs(want[t]);
        if (!(rel <= RTOL))
            fail_msg("%s at iteration %d: fanin %.9g, PyTorch %.9g (relative %.2g > %g)", what, t,
                     got[t], want[t], rel, RTOL);
    }
}

static void check(const char *fixture, uint64_t hash, const double *loss, const double *test) {
    if (access(FMNIST, R_OK) != 0) skip();
    char dir[FANIN_PATHLEN];
    run(fixture, "train.iterations=0", dir);
    uint64_t h = model_hash(dir);
    if (h != hash)
        fail_msg("%s: the initial weights are not the ones the reference was made from (hash "
                 "%016llx, expected %016llx): if fanin's initialisation changed on purpose, "
                 "rerun tests/ref/make_trajectory_ref.py",
                 fixture, (unsigned long long)h, (unsigned long long)hash);
    run(fixture, NULL, dir);
    double got[STEPS + 1];
    metrics_column(dir, "loss", got);
    expect_close("training loss", got, loss);
    metrics_column(dir, "test_loss", got);
    expect_close("test loss", got, test);
}

static void test_conv_net_matches_pytorch(void **state) {
    check("traj_conv.yaml", TRAJ_CONV_HASH, traj_conv_loss, traj_conv_test_loss);
}

static void test_residual_net_matches_pytorch(void **state) {
    check("traj_residual.yaml", TRAJ_RESIDUAL_HASH, traj_residual_loss, traj_residual_test_loss);
}

static int setup(void **state) {
    const char *dirs[] = {FANIN_TEST_PLUGIN_DIR};
    return fanin__registry_new(&reg, dirs, 1, err, sizeof err);
}

static int teardown(void **state) {
    fanin__registry_free(reg);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_net_matches_pytorch),
        cmocka_unit_test(test_residual_net_matches_pytorch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
