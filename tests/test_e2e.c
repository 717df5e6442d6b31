/* End to end: a reduced seed experiment (the small init stalls, lecun_normal learns), and the
 * `fanin` command writing its run folder (including a run of zero iterations, a second run
 * beside the first, the sweep's numbering under --jobs) and predicting with the right member. */
#include "base/errors.h"
#include "config/experiment.h"
#include "data/data.h"
#include "engine/model.h"
#include "engine/train.h"
#include "plugin/registry.h"

#include <stdio.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define SEED_YAML FANIN_TEST_DIR "/../configs/seed.yaml"
#define FMNIST "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

static char err[8 * FANIN_ERRLEN];

/* The sweep member whose swept init reads `init`. */
static fanin_experiment *find_member(fanin_config *c, fanin_registry *reg, const char *init) {
    for (int k = 0; k < fanin__config_members(c); k++) {
        fanin_experiment *x;
        assert_int_equal(fanin__config_resolve(c, k, reg, &x, err, sizeof err), FANIN_OK);
        if (x->n_swept && !strcmp(x->swept[0].value, init)) return x;
        fanin__experiment_free(x);
    }
    fail_msg("configs/seed.yaml sweeps no init '%s'", init);
    return NULL;
}

/* Train the reduced seed experiment's member with that init. */
static fanin__result seed_member(fanin_config *c, fanin_registry *reg, const char *init) {
    fanin_experiment *x = find_member(c, reg, init);
    fanin_dataset *d;
    assert_int_equal(fanin__data_load(&x->data, x->seed, &d, err, sizeof err), FANIN_OK);
    fanin_model *m;
    assert_int_equal(fanin__model_new(x, d->n_features, (int)d->n_train, &m, err, sizeof err),
                     FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    fanin__result res;
    assert_int_equal(fanin__train(m, d, NULL, &res, err, sizeof err), FANIN_OK);
    fanin__model_free(m);
    fanin__data_free(d);
    fanin__experiment_free(x);
    return res;
}

/* The seed question, shortened: 1000 images, 600 iterations. */
static void test_seed_small_init_stalls_lecun_learns(void **state) {
    if (access(FMNIST, R_OK) != 0) skip();
    fanin_registry *reg;
    const char *dirs[] = {FANIN_TEST_PLUGIN_DIR};
    assert_int_equal(fanin__registry_new(&reg, dirs, 1, err, sizeof err), FANIN_OK);
    fanin_config *c;
    assert_int_equal(fanin__config_load(&c, SEED_YAML, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__config_set(c, "train.iterations=600", err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__config_set(c, "data.train=1000", err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__config_set(c, "data.test=500", err, sizeof err), FANIN_OK);
    fanin__result small = seed_member(c, reg, "normal(std=0.01)");
    fanin__result lecun = seed_member(c, reg, "lecun_normal");
    print_message("small init: loss %.6f test %.3f; lecun_normal: loss %.6f test %.3f\n",
                  small.final_loss, small.test_acc, lecun.final_loss, lecun.test_acc);
    assert_true(fabs(small.final_loss - log(2.0)) < 0.01);
    assert_true(small.test_acc < 0.6);
    assert_true(lecun.final_loss < 0.55);
    assert_true(lecun.test_acc > 0.75);
    fanin__config_free(c);
    fanin__registry_free(reg);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* ---- the `fanin` command, each case in a fresh temporary folder (*state) ---- */

static int tmp_setup(void **state) {
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/fanin-e2e-XXXXXX");
    *state = mkdtemp(dir);
    return *state ? 0 : -1;
}

static int tmp_teardown(void **state) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", (char *)*state);
    return system(cmd) == 0 ? 0 : -1;
}

/* DIR/rel's text (a static buffer), or NULL. */
static char *in(const char *dir, const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return read_file(path);
}

/* Write `yaml` to DIR/NAME.yaml and run `fanin CMD DIR/NAME.yaml ARGS` with stdout and stderr
 * in DIR/stdout, DIR/stderr (ARGS may name DIR as %1$s); the exit code. */
static int fanin(const char *dir, const char *cmd, const char *name, const char *yaml,
                 const char *args) {
    char path[512], line[2048], extra[1024];
    snprintf(path, sizeof path, "%s/%s.yaml", dir, name);
    FILE *f = fopen(path, "w");
    fputs(yaml, f);
    fclose(f);
    snprintf(extra, sizeof extra, args, dir);
    snprintf(line, sizeof line, "%s %s %s %s > %s/stdout 2> %s/stderr", FANIN_TEST_BIN, cmd, path,
             extra, dir, dir);
    int status = system(line);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Run `fanin ARGS` (ARGS may name DIR as %1$s) with stdout and stderr in DIR/stdout,
 * DIR/stderr; the exit code. */
static int fanin_args(const char *dir, const char *args) {
    char line[2048], extra[1024];
    snprintf(extra, sizeof extra, args, dir);
    snprintf(line, sizeof line, "%s %s > %s/stdout 2> %s/stderr", FANIN_TEST_BIN, extra, dir, dir);
    int status = system(line);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char tiny_yaml[] = "name: tiny\n"
                                "seed: 1\n"
                                "data: {source: synthetic, kind: moons, n: 200, noise: 0.1}\n"
                                "model:\n"
                                "  defaults: {activation: tanh, init: xavier_normal}\n"
                                "  layers: [{units: 8}, {units: 1, activation: sigmoid}]\n"
                                "loss: bce\n"
                                "optimizer: {name: sgd, lr: 0.5, momentum: 0.9}\n"
                                "train: {iterations: 50, batch: 32, log_every: 10}\n"
                                "sweep:\n"
                                "  seed: [1, 2]\n";

/* `fanin run` writes summary.csv and, per run, config.yaml (which validates as is),
 * metrics.csv and model.safetensors; zero iterations still writes the initial model. */
static void test_cli_run_writes_run_folder(void **state) {
    const char *dir = *state;
    assert_int_equal(fanin(dir, "run", "tiny", tiny_yaml, "--out %1$s/out --quiet"), 0);
    char *summary = in(dir, "out/summary.csv");
    assert_non_null(summary);
    assert_non_null(strstr(summary, "run,status,seed,final_loss,train_acc,test_acc"));
    assert_non_null(strstr(summary, "00-1,done"));
    assert_non_null(strstr(summary, "01-2,done"));
    assert_non_null(strstr(in(dir, "out/01-2/metrics.csv"),
                           "iteration,epoch,loss,train_acc,test_acc,test_loss,lr,seconds\n0,0,"));
    char *resolved = strdup(in(dir, "out/01-2/config.yaml"));
    assert_int_equal(fanin(dir, "validate", "resolved", resolved, ""), 0);
    assert_int_equal(fanin(dir, "run", "resolved", resolved,
                           "--set train.iterations=0 --out %1$s/zero --quiet"),
                     0);
    free(resolved);
    struct stat st;
    char path[512];
    snprintf(path, sizeof path, "%s/zero/00/model.safetensors", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 8 + 2 * 4 * (2 * 8 + 8 + 8 + 1));
}

static const char diverge_yaml[] =
    "name: diverge\n"
    "data: {source: synthetic, kind: linear_teacher, features: 8, n: 128}\n"
    "model:\n"
    "  defaults: {activation: linear, init: xavier_normal}\n"
    "  layers: [{units: 8}, {units: 8}]\n"
    "loss: mse\n"
    "optimizer: {name: sgd, lr: 0.01}\n"
    "train: {iterations: 200, log_every: 10}\n"
    "sweep:\n"
    "  optimizer.lr: [1000.0, 0.01]\n";

/* Divergence is a result: the run stops, is recorded as diverged with where it happened,
 * and the sweep goes on; the command exits 0. */
static void test_cli_divergence_is_a_result(void **state) {
    const char *dir = *state;
    assert_int_equal(fanin(dir, "run", "diverge", diverge_yaml, "--out %1$s/out --quiet"), 0);
    char *summary = in(dir, "out/summary.csv");
    assert_non_null(strstr(summary, "00-1000.0,diverged"));
    assert_non_null(strstr(summary, "01-0.01,done"));
    char *where = in(dir, "out/00-1000.0/diverged.txt");
    assert_non_null(where);
    assert_non_null(strstr(where, "diverged at iteration"));
    assert_non_null(strstr(where, "of layer"));
    assert_non_null(strstr(in(dir, "out/report.html"), "Diverged: diverged at iteration"));
}

/* --jobs 2 runs the members in two processes and reports them together. */
static void test_cli_jobs_merge_into_one_report(void **state) {
    const char *dir = *state;
    assert_int_equal(fanin(dir, "run", "tiny", tiny_yaml, "--jobs 2 --out %1$s/out --quiet"), 0);
    char *summary = in(dir, "out/summary.csv");
    assert_non_null(strstr(summary, "00-1,done"));
    assert_non_null(strstr(summary, "01-2,done"));
    assert_non_null(in(dir, "out/report.html"));
    assert_non_null(strstr(in(dir, "stdout"), "final loss"));
}

/* metrics.csv's last row (the figures after the last step) has its epoch, as the other rows
 * do (50 steps of 5 per epoch: epoch 10), and every row has the test loss. */
static void test_cli_metrics_final_row_and_test_loss(void **state) {
    const char *dir = *state;
    assert_int_equal(fanin(dir, "run", "tiny", tiny_yaml, "--out %1$s/out --quiet"), 0);
    char *metrics = in(dir, "out/00-1/metrics.csv");
    char *last = strstr(metrics, "\n50,");
    assert_non_null(last);
    assert_int_equal(strtol(last + 4, NULL, 10), 10);
    char *fields[16], *row = strchr(metrics, '\n') + 1; /* iteration 0 */
    *strchr(row, '\n') = 0;
    int n = 0;
    for (char *f = strtok(row, ","); f && n < 16; f = strtok(NULL, ",")) fields[n++] = f;
    assert_int_equal(n, 8);
    double test_loss = atof(fields[5]); /* iteration,epoch,loss,train_acc,test_acc,test_loss */
    assert_true(test_loss > 0.05 && test_loss < 2);
}

/* A second run never writes over the first: runs/NAME-2 (said on stderr), the first run's
 * files untouched; --jobs children all write into the folder chosen; --overwrite replaces an
 * earlier run's folder (only one fanin wrote). */
static void test_cli_rerun_goes_beside_or_overwrites(void **state) {
    const char *dir = *state;
    char expect[512];
    assert_int_equal(fanin(dir, "run", "tiny", tiny_yaml, "--out %1$s/out --quiet"), 0);
    char *first = strdup(in(dir, "out/summary.csv"));
    assert_int_equal(fanin(dir, "run", "tiny", tiny_yaml, "--out %1$s/out --quiet"), 0);
    snprintf(expect, sizeof expect,
             "%s/out exists: writing %s/out-2 (use --overwrite to replace it, --resume to "
             "continue it)",
             dir, dir);
    assert_non_null(strstr(in(dir, "stderr"), expect));
    assert_string_equal(in(dir, "out/summary.csv"), first);
    free(first);
    assert_non_null(strstr(in(dir, "out-2/summary.csv"), "01-2,done"));
    assert_int_equal(fanin(dir, "run", "tiny", tiny_yaml, "--jobs 2 --out %1$s/out --quiet"), 0);
    assert_non_null(strstr(in(dir, "out-3/summary.csv"), "00-1,done"));
    assert_non_null(strstr(in(dir, "out-3/summary.csv"), "01-2,done"));
    assert_non_null(in(dir, "out-3/01-2/model.safetensors"));
    assert_null(in(dir, "out/summary-2-of-2.csv"));
    snprintf(expect, sizeof expect, "touch %s/out/00-1/stale.txt", dir);
    assert_int_equal(system(expect), 0);
    assert_int_equal(fanin_args(dir, "run %1$s/tiny.yaml --out %1$s/out --quiet --overwrite "
                                     "--set train.iterations=5"),
                     0);
    assert_non_null(strstr(in(dir, "out/summary.csv"), ",5,"));
    assert_null(in(dir, "out-4/summary.csv"));
    assert_null(in(dir, "out/00-1/stale.txt"));
    assert_non_null(strstr(in(dir, "stderr"), "replacing the earlier run"));
    /* a folder fanin did not write is never deleted */
    snprintf(expect, sizeof expect, "mkdir %s/mine && touch %s/mine/notes.txt", dir, dir);
    assert_int_equal(system(expect), 0);
    assert_int_equal(fanin_args(dir, "run %1$s/tiny.yaml --out %1$s/mine --quiet --overwrite"), 2);
    assert_non_null(strstr(in(dir, "stderr"), "refusing to delete"));
    assert_non_null(in(dir, "mine/notes.txt"));
}

static const char six_yaml[] =
    "name: six\n"
    "data: {source: synthetic, kind: moons, n: 100, noise: 0.1}\n"
    "model: {defaults: {activation: tanh, init: xavier_normal}, layers: [{units: 4}, {units: 1, "
    "activation: sigmoid}]}\n"
    "loss: bce\n"
    "optimizer: {name: sgd, lr: 0.1}\n"
    "train: {iterations: 5, log_every: 1}\n"
    "sweep: {seed: [1, 2, 3, 4, 5, 6]}\n";

/* With --jobs each process runs a shard, yet the progress lines number the members in the
 * whole sweep: [4/6], never [2/3]. */
static void test_cli_jobs_progress_counts_the_sweep(void **state) {
    const char *dir = *state;
    assert_int_equal(fanin(dir, "run", "six", six_yaml, "--jobs 2 --out %1$s/out"), 0);
    char *text = in(dir, "stderr");
    assert_non_null(strstr(text, "[4/6] 03-4: started"));
    assert_non_null(strstr(text, "[6/6] 05-6: done"));
    assert_non_null(strstr(text, "[1/6] 00-1: iteration"));
    assert_null(strstr(text, "/3]"));
}

/* `fanin predict MODEL` uses the config the model holds; given the sweep, the member the
 * model was trained as (its test accuracy is the summary's), not member 0; a sweep without it
 * is refused (exit 2) naming its members. */
static void test_cli_predict_finds_the_member(void **state) {
    const char *dir = *state;
    assert_int_equal(fanin(dir, "run", "tiny", tiny_yaml, "--out %1$s/out --quiet"), 0);
    char *row = strstr(in(dir, "out/summary.csv"), "01-2,done"), *fields[12];
    assert_non_null(row);
    int n = 0;
    for (char *f = strtok(row, ",\n"); f && n < 12; f = strtok(NULL, ",\n")) fields[n++] = f;
    assert_true(n >= 6);
    double test_acc = atof(fields[5]); /* run,status,seed,final_loss,train_acc,test_acc */
    const char *alone = "predict %1$s/out/01-2/model.safetensors";
    const char *sweep = "predict %1$s/out/01-2/model.safetensors %1$s/tiny.yaml";
    for (int i = 0; i < 2; i++) {
        assert_int_equal(fanin_args(dir, i ? sweep : alone), 0);
        char *acc = strstr(in(dir, "stdout"), "accuracy ");
        assert_non_null(acc);
        assert_true(fabs(atof(acc + 9) - test_acc) < 1e-4);
    }
    assert_non_null(strstr(in(dir, "stdout"), "sweep member 1 of"));
    char other[sizeof tiny_yaml + 8];
    snprintf(other, sizeof other, "%.*s  seed: [3, 4]\n",
             (int)(strstr(tiny_yaml, "  seed:") - tiny_yaml), tiny_yaml);
    assert_int_equal(fanin(dir, "validate", "other", other, ""), 0);
    assert_int_equal(fanin_args(dir, "predict %1$s/out/01-2/model.safetensors %1$s/other.yaml"), 2);
    char *text = in(dir, "stderr");
    assert_non_null(strstr(text, "was trained as none of the members"));
    assert_non_null(strstr(text, "0 (seed=3), 1 (seed=4)"));
}

/* A config error exits 2 with FILE:LINE:COL on stderr. */
static void test_cli_config_error_exit_code(void **state) {
    const char *dir = *state;
    assert_int_equal(fanin(dir, "validate", "bad", "name: bad\nloss: bce\nmodle: {}\n", ""), 2);
    char *text = in(dir, "stderr");
    assert_non_null(strstr(text, "bad.yaml:3:1:"));
    assert_non_null(strstr(text, "model"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_small_init_stalls_lecun_learns),
        cmocka_unit_test_setup_teardown(test_cli_run_writes_run_folder, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_cli_config_error_exit_code, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_cli_divergence_is_a_result, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_cli_jobs_merge_into_one_report, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(test_cli_metrics_final_row_and_test_loss, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(test_cli_rerun_goes_beside_or_overwrites, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(test_cli_jobs_progress_counts_the_sweep, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(test_cli_predict_finds_the_member, tmp_setup, tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
