/* The sweep views at scale: a synthetic run folder of 1,000 runs (10 inits x 10 learning rates
 * x 10 seeds: 100 configurations), written directly through run/rundir.h's names and the
 * writers of engine/diag.h, read back and drawn. report.html stays under 3 MB, pools the seeds
 * (configurations first, the runs in a collapsed block), draws the heatmap over the two axes
 * and one mean curve with a band per configuration; headless Chromium renders it (skipped
 * when chromium is not installed). Also a one-axis sweep (error bars) and the heatmap alone. */
#include "base/errors.h"
#include "base/fs.h"
#include "engine/diag.h"
#include "run/report.h"
#include "run/rundir.h"
#include "run/runset.h"

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

#define N_INIT 10
#define N_LR 10
#define N_SEED 10
#define N_LAYERS 12
#define N_LOG 51

static char err[FANIN_ERRLEN], dir[256];

static FILE *open_in(const char *run_dir, fanin__rundir_file which) {
    char path[FANIN_PATHLEN];
    assert_int_equal(fanin__rundir_path(path, run_dir, which), FANIN_OK);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    return f;
}

/* A run's loss falls from 0.69 to `final` over 5000 iterations; its layers' std shrinks by
 * `factor` per layer; plausible histograms. */
static void write_run(const char *run_dir, double final, double factor, double acc) {
    FILE *f = open_in(run_dir, FANIN_RUNDIR_METRICS);
    fprintf(f, "iteration,epoch,loss,train_acc,test_acc,lr,seconds\n");
    for (int i = 0; i < N_LOG; i++) {
        double t = i / (N_LOG - 1.0), loss = 0.69 * pow(final / 0.69, t);
        fprintf(f, "%d,%d,%.6g,%.4f,%.4f,0.1,%.3f\n", i * 100, i, loss, 0.5 + (acc - 0.5) * t,
                0.5 + (acc - 0.5) * t, 0.01 * i);
    }
    fclose(f);
    f = open_in(run_dir, FANIN_RUNDIR_LAYERS);
    fanin__diag_write_header(f);
    FILE *h = open_in(run_dir, FANIN_RUNDIR_HISTOGRAMS);
    fanin__diag_write_hist_header(h);
    for (int it = 0; it <= 5000; it += 5000)
        for (int l = 0; l < N_LAYERS; l++) {
            fanin__layer_stats s = {.iteration = it,
                                    .layer = l + 1,
                                    .units = 64,
                                    .fan_in = 64,
                                    .act_std = pow(factor, l),
                                    .preact_std = pow(factor, l),
                                    .dz_std = 0.01,
                                    .grad_norm = 0.1,
                                    .weight_std = 0.1,
                                    .row_spread = 1,
                                    .saturated_frac = NAN,
                                    .alpha = NAN,
                                    .running_mean = NAN,
                                    .running_var = NAN};
            snprintf(s.activation, sizeof s.activation, "relu");
            snprintf(s.kind, sizeof s.kind, "dense");
            fanin__diag_write_row(f, &s);
            fanin__hist hg = {.iteration = it, .layer = l + 1, .lo = 0, .hi = 1};
            for (int b = 0; b < FANIN_HIST_BINS; b++) hg.count[b] = 100 / (b + 1);
            fanin__diag_write_hist(h, &hg);
        }
    fclose(f);
    fclose(h);
    f = open_in(run_dir, FANIN_RUNDIR_CONFIG);
    fprintf(f, "name: big\ndata:\n  source: synthetic\n  test: 1000\n");
    fclose(f);
}

/* summary.csv and 1,000 member folders. */
static int setup(void **state) {
    snprintf(dir, sizeof dir, "/tmp/fanin-test-sweep-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    char path[FANIN_PATHLEN], run_dir[FANIN_PATHLEN], id[64], init[32], lr[32], seed[16];
    if (fanin__rundir_path(path, dir, FANIN_RUNDIR_SUMMARY_CSV) < 0) return -1;
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    const char *keys[] = {"model.defaults.init", "optimizer.lr", "seed"};
    fanin__summary_write_header(f, keys, 3);
    for (int m = 0; m < N_INIT * N_LR * N_SEED; m++) {
        int a = m / (N_LR * N_SEED), b = m / N_SEED % N_LR, c = m % N_SEED;
        snprintf(init, sizeof init, "normal(std=%g)", 0.1 * (a + 1));
        snprintf(lr, sizeof lr, "%g", 0.001 * pow(2, b));
        snprintf(seed, sizeof seed, "%d", c + 1);
        snprintf(id, sizeof id, "%04d", m);
        double acc = 0.6 + 0.03 * a + 0.005 * b + 0.002 * c, final = 0.5 - 0.04 * a;
        fanin__summary_row row = {.id = id,
                                  .status = "done",
                                  .n_values = 3,
                                  .values = {init, lr, seed},
                                  .final_loss = final,
                                  .train_acc = acc,
                                  .test_acc = acc,
                                  .iterations = 5000,
                                  .seconds = 1};
        fanin__summary_write_row(f, &row);
        if (fanin__path_join(run_dir, dir, id) < 0 || mkdir(run_dir, 0755) < 0) return -1;
        write_run(run_dir, final, 0.8 + 0.04 * a, acc);
    }
    return fclose(f) == 0 ? 0 : -1;
}

static void load(fanin__runset *s) {
    char path[FANIN_PATHLEN];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "big");
    assert_int_equal(fanin__rundir_path(path, dir, FANIN_RUNDIR_SUMMARY_CSV), FANIN_OK);
    assert_int_equal(fanin__runset_add_summary(s, path, err, sizeof err), FANIN_OK);
    fanin__runset_finish(s);
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static char *slurp(const char *path) {
    long n = file_size(path);
    assert_true(n > 0);
    char *buf = malloc((size_t)n + 1);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static size_t count(const char *h, const char *what) {
    size_t n = 0;
    for (const char *p = h; (p = strstr(p, what)); p++) n++;
    return n;
}

static void test_thousand_runs_report(void **state) {
    fanin__runset s;
    load(&s);
    assert_int_equal(s.n_runs, 1000);
    assert_int_equal(s.n_groups, 100);
    assert_int_equal(s.groups[0].n_runs, 10);
    const fanin__stat *t = &s.groups[0].fig[FANIN_FIG_TEST];
    assert_true(fabs(t->min - 0.6) < 1e-9 && fabs(t->max - 0.618) < 1e-9);
    char html[FANIN_PATHLEN];
    assert_int_equal(fanin__rundir_path(html, dir, FANIN_RUNDIR_REPORT), FANIN_OK);
    assert_int_equal(fanin__report_write(&s, html, err, sizeof err), FANIN_OK);
    long size = file_size(html);
    printf("report.html for 1000 runs: %ld bytes\n", size);
    assert_true(size > 100000 && size < 3000000);
    char *h = slurp(html);
    assert_non_null(strstr(h, "1000 runs in 100 configurations"));
    assert_non_null(strstr(h, "<details><summary>All 1000 runs, one row each</summary>"));
    assert_non_null(strstr(h, "<h2>Sweep</h2>"));
    assert_non_null(strstr(h, "Mean test accuracy</text>")); /* the heatmap's title */
    assert_int_equal(count(h, "<rect x=") >= 100, 1);        /* its cells at least */
    /* the values' shared "normal(std=" and ")" cut off (never inside a number), sorted */
    assert_non_null(strstr(h, "model.defaults.init: normal(std=…)</text>"));
    assert_non_null(strstr(h, ">0.3</text>"));
    assert_null(strstr(h, ">3)</text>"));
    /* one line per configuration: 100 loss polylines, 12 coloured with bands, 88 grey */
    assert_int_equal(count(h, "fill-opacity='0.18'"), 12 * 6); /* 6 charts, each with bands */
    assert_int_equal(count(h, "<p class='verdict'>"), 100);
    assert_int_equal(count(h, "<details class='runhist'"), 12);
    free(h);
    fanin__runset_deinit(&s);
}

/* One swept axis: the figure against it with error bars. */
static void test_one_axis_error_bars(void **state) {
    fanin__runset s;
    load(&s);
    for (int i = 0; i < s.n_runs; i++) snprintf(s.runs[i].values[0], 8, "same");
    for (int i = 0; i < s.n_runs; i++) { /* regroup: init no longer varies */
        snprintf(s.runs[i].group, sizeof s.runs[i].group, "same %s", s.runs[i].values[1]);
    }
    fanin__groups_make(&s);
    assert_int_equal(s.n_groups, 10);
    char html[512];
    snprintf(html, sizeof html, "%s/one-axis.html", dir);
    assert_int_equal(fanin__report_write(&s, html, err, sizeof err), FANIN_OK);
    char *h = slurp(html);
    assert_non_null(strstr(h, "Test accuracy against the swept axis"));
    assert_non_null(strstr(h, "h8M")); /* the error bars' caps */
    assert_null(strstr(h, "Mean test accuracy</text>"));
    free(h);
    fanin__runset_deinit(&s);
}

/* The heatmap alone, as another page would call it: NaN cells grey, marks shown. */
static void test_heatmap_function(void **state) {
    char path[512];
    snprintf(path, sizeof path, "%s/heat.svg", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    const char *rows[] = {"8", "16"}, *cols[] = {"1.0", "2.0", "4.0"};
    const double v[] = {0.9, 0.5, NAN, 0.95, 0.6, 0.1};
    const char *marks[] = {NULL, NULL, NULL, NULL, NULL, "diverged"};
    fanin__heatmap hm = {.title = "trainability",
                         .xlabel = "sigma_w^2",
                         .ylabel = "depth",
                         .value_label = "train accuracy",
                         .n_rows = 2,
                         .n_cols = 3,
                         .row_names = rows,
                         .col_names = cols,
                         .v = v,
                         .marks = marks,
                         .percent = true};
    fanin__svg_heatmap(f, &hm);
    fclose(f);
    char *h = slurp(path);
    assert_non_null(strstr(h, ">95.0%</text>"));
    assert_non_null(strstr(h, ">diverged</text>"));
    assert_non_null(strstr(h, "fill='#dddddd'")); /* the NaN cell */
    char hi[8], lo[8];
    fanin__svg_scale_color(1, hi);
    fanin__svg_scale_color(0, lo);
    assert_string_equal(hi, "#fde725"); /* viridis' ends */
    assert_string_equal(lo, "#440154");
    assert_non_null(strstr(h, "fill='#fde725'")); /* 0.95 is the top of the scale */
    free(h);
}

/* A layers.csv written before layer kinds (17 columns) still reads: kind empty (every row a
 * weight layer), block 0, the new figures NaN; the verdict judges it as before. */
static void test_old_layers_csv(void **state) {
    char old[FANIN_PATHLEN], run_dir[FANIN_PATHLEN], path[FANIN_PATHLEN];
    snprintf(old, sizeof old, "%s/old", dir);
    assert_int_equal(mkdir(old, 0755), 0);
    assert_int_equal(fanin__rundir_path(path, old, FANIN_RUNDIR_SUMMARY_CSV), FANIN_OK);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fanin__summary_write_header(f, NULL, 0);
    fanin__summary_row row = {.id = "00", .status = "done", .final_loss = 0.3, .iterations = 10};
    fanin__summary_write_row(f, &row);
    fclose(f);
    assert_int_equal(fanin__path_join(run_dir, old, "00"), FANIN_OK);
    assert_int_equal(mkdir(run_dir, 0755), 0);
    f = open_in(run_dir, FANIN_RUNDIR_LAYERS);
    fprintf(f, "iteration,layer,units,fan_in,activation,preact_mean,preact_std,act_mean,act_std,"
               "saturated_frac,dead_frac,grad_norm,grad_std,dz_std,weight_std,update_ratio,"
               "row_spread\n");
    for (int it = 0; it <= 9; it += 9)
        for (int l = 1; l <= 3; l++)
            fprintf(f, "%d,%d,10,10,relu,0,1,0.5,%g,nan,0,1,0.1,1,0.45,0.01,1\n", it, l,
                    pow(0.25, l));
    fclose(f);
    fanin__runset s = {0};
    assert_int_equal(fanin__runset_add_summary(&s, path, err, sizeof err), FANIN_OK);
    fanin__runset_finish(&s);
    assert_int_equal(s.n_runs, 1);
    const fanin__layer_stats *s0 = fanin__run_stats_at(&s.runs[0], false);
    assert_non_null(s0);
    assert_string_equal(s0[0].kind, "");
    assert_int_equal(s0[0].block, 0);
    assert_true(isnan(s0[0].alpha) && isnan(s0[0].running_var));
    assert_int_equal(s.runs[0].figs.n_blocks, 0);
    assert_true(fabs(s.runs[0].figs.act_factor0 - 0.25) < 1e-9); /* layers 1 and 2 hidden */
    assert_true(s.runs[0].flags & FANIN_V_VANISHING);
    fanin__runset_deinit(&s);
}

/* Headless Chromium draws the 1,000-run page (a blank or failed page is tiny). */
static void test_chromium_renders_thousand(void **state) {
    if (system("command -v chromium >/dev/null 2>&1") != 0) skip();
    char cmd[2048], png[512];
    snprintf(png, sizeof png, "%s/report.png", dir);
    snprintf(cmd, sizeof cmd,
             "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic "
             "--no-first-run --disable-background-networking --disable-component-update "
             "--disable-sync --user-data-dir=%s/chromium --screenshot=%s "
             "--window-size=1200,4000 file://%s/report.html >/dev/null 2>&1",
             dir, png, dir);
    if (system(cmd) != 0) fprintf(stderr, "chromium exited non-zero; checking its output\n");
    assert_true(file_size(png) > 100000);
}

/* The 1,000 folders go: each run of the test would leave ~20 MB behind. */
static int teardown(void **state) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thousand_runs_report),
        cmocka_unit_test(test_one_axis_error_bars),
        cmocka_unit_test(test_heatmap_function),
        cmocka_unit_test(test_old_layers_csv),
        cmocka_unit_test(test_chromium_renders_thousand),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
