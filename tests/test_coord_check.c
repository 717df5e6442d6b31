/* Width as an axis (issue 12, items 3-4): diagnostics.coord_check's key and its errors,
 * layers.csv's act_abs_mean and preact_abs_mean against a hand computation, a row at every
 * iteration 0..N, the coordinate check's slope verdicts and the learning-rate transfer's on
 * synthetic run folders (written through run/rundir.h and engine/diag.h as test_report_sweep.c
 * does), their pictures in report.html, summary.json and the printed lines, and a real reduced
 * sweep: standard grows with width, mup stays flat (spiral, widths 64/128/256, Adam). */
#include "base/errors.h"
#include "base/fs.h"
#include "config/experiment.h"
#include "engine/diag.h"
#include "engine/loss.h"
#include "engine/model.h"
#include "plugin/registry.h"
#include "run/report.h"
#include "run/run.h"
#include "run/rundir.h"
#include "run/runset.h"

#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "run_tests.h"

/* ---- helpers ---- */

static fanin_experiment *resolve(const char *text) {
    fanin_config *c;
    fanin_experiment *x = NULL;
    assert_int_equal(fanin__config_parse(&c, "/exp/t.yaml", text, strlen(text), err, sizeof err),
                     FANIN_OK);
    int rc = fanin__config_resolve(c, 0, reg, &x, err, sizeof err);
    fanin__config_free(c);
    if (rc != FANIN_OK) fail_msg("resolve: %s", err);
    return x;
}

static void expect_error(const char *text, const char *want) {
    fanin_config *c;
    fanin_experiment *x = NULL;
    assert_int_equal(fanin__config_parse(&c, "/exp/t.yaml", text, strlen(text), err, sizeof err),
                     FANIN_OK);
    assert_int_equal(fanin__config_resolve(c, 0, reg, &x, err, sizeof err), FANIN_ECONFIG);
    fanin__config_free(c);
    if (!strstr(err, want)) fail_msg("error '%s' lacks '%s'", err, want);
}

static const char BASE[] = "name: t\n"
                           "data: {source: synthetic, kind: moons, n: 40}\n"
                           "model: {layers: [{units: 3}, {units: 1, activation: sigmoid}]}\n"
                           "loss: bce\n";

static const char *with_diag(const char *diag) {
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s%s", BASE, diag);
    return buf;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* ---- the key ---- */

/* {steps: N}, the shorthand N, the default 0, and the resolved file writing it back. */
static void test_key_and_round_trip(void **state) {
    fanin_experiment *x = resolve(BASE);
    assert_int_equal(x->coord_check_steps, 0);
    fanin__experiment_free(x);
    x = resolve(with_diag("diagnostics: {layer_stats_every: 5, coord_check: {steps: 3}}\n"));
    assert_int_equal(x->coord_check_steps, 3);
    assert_int_equal(x->layer_stats_every, 5);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_int_equal(fanin__experiment_write_yaml(x, f), FANIN_OK);
    fclose(f);
    assert_non_null(strstr(text, "diagnostics: {layer_stats_every: 5, coord_check: {steps: 3}}\n"));
    fanin__experiment_free(x);
    x = resolve(text); /* rerunnable as is */
    assert_int_equal(x->coord_check_steps, 3);
    fanin__experiment_free(x);
    free(text);
    x = resolve(with_diag("diagnostics: {coord_check: 7}\n"));
    assert_int_equal(x->coord_check_steps, 7);
    fanin__experiment_free(x);
}

/* Negative, fractional or text values are located errors (exit 2 through the command). */
static void test_bad_values(void **state) {
    expect_error(with_diag("diagnostics: {coord_check: {steps: -1}}\n"),
                 "/exp/t.yaml:5:36: 'diagnostics.coord_check.steps' must be an integer >= 0, "
                 "got '-1'");
    expect_error(with_diag("diagnostics: {coord_check: {steps: 2.5}}\n"),
                 "/exp/t.yaml:5:36: 'diagnostics.coord_check.steps' must be an integer >= 0, "
                 "got '2.5'");
    expect_error(with_diag("diagnostics: {coord_check: many}\n"),
                 "/exp/t.yaml:5:28: 'diagnostics.coord_check' must be an integer >= 0, got "
                 "'many' (the shorthand of {steps: N})");
    expect_error(with_diag("diagnostics: {coord_check: {step: 3}}\n"),
                 "/exp/t.yaml:5:29: unknown key 'step' in 'diagnostics.coord_check'; did you "
                 "mean 'steps'?");
    /* through the command: exit 2, FILE:LINE:COL on stderr */
    char dir[] = "/tmp/fanin-coord-key-XXXXXX", path[128], cmd[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/bad.yaml", dir);
    FILE *f = fopen(path, "w");
    fputs(with_diag("diagnostics: {coord_check: {steps: -2}}\n"), f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "FANIN_PLUGIN_PATH=%s %s validate %s 2>%s/err.txt",
             FANIN_TEST_PLUGIN_DIR, FANIN_TEST_BIN, path, dir);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    snprintf(path, sizeof path, "%s/err.txt", dir);
    char *e = slurp(path);
    assert_non_null(strstr(e, "bad.yaml:5:36: 'diagnostics.coord_check.steps'"));
    free(e);
}

/* ---- the statistic ---- */

/* A [2 -> 3 relu -> 1 sigmoid] model with weights set by hand on two rows:
 *   X = [[1, -2], [3, 0.5]], W1 = [[1, 1], [-1, 2], [0.5, -1]], b1 = 0
 *   Z1 = [[-1, -5, 2.5], [3.5, -2, 1]]           mean |Z1| = 15/6 = 2.5
 *   A1 = [[0, 0, 2.5], [3.5, 0, 1]]              mean |A1| = 7/6
 *   W2 = [[1, -1, 0.5]], b2 = 0.25: Z2 = [1.5, 4.25], A2 = sigmoid(Z2)
 * The recorder's row equals these (mup's coord_check: x.abs().mean()). */
static void test_act_abs_mean_by_hand(void **state) {
    fanin_experiment *x = resolve("name: t\ndata: {source: synthetic, kind: moons}\nmodel:\n"
                                  "  layers: [{units: 3, activation: relu}, "
                                  "{units: 1, activation: sigmoid}]\nloss: bce\n");
    fanin_model *m;
    assert_int_equal(fanin__model_new(x, 2, 2, &m, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    const float W1[] = {1, 1, -1, 2, 0.5f, -1}, W2[] = {1, -1, 0.5f}, X[] = {1, -2, 3, 0.5f};
    const float Y[] = {1, 0};
    memcpy(m->layers[0].W, W1, sizeof W1);
    memset(m->layers[0].b, 0, 3 * sizeof(float));
    memcpy(m->layers[1].W, W2, sizeof W2);
    m->layers[1].b[0] = 0.25f;
    char dir[] = "/tmp/fanin-coord-stat-XXXXXX", lp[128], hp[128];
    assert_non_null(mkdtemp(dir));
    snprintf(lp, sizeof lp, "%s/layers.csv", dir);
    snprintf(hp, sizeof hp, "%s/histograms.csv", dir);
    fanin__diag *dg;
    assert_int_equal(fanin__diag_new(m, lp, hp, 0, 0, &dg, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_forward(m, X, 2, err, sizeof err), FANIN_OK);
    fanin__loss(m, Y, 2, true);
    assert_int_equal(fanin__model_backward(m, X, 2, err, sizeof err), FANIN_OK);
    fanin__diag_before_update(dg, m, 2, 0);
    fanin__diag_after_update(dg, m);
    assert_int_equal(fanin__diag_close(dg, false, err, sizeof err), FANIN_OK);
    fanin__diag_free(dg);
    char *text = slurp(lp), *line = strchr(text, '\n') + 1;
    assert_non_null(strstr(text, ",act_abs_mean,preact_abs_mean,"));
    double want_a[] = {7.0 / 6, (1 / (1 + exp(-1.5)) + 1 / (1 + exp(-4.25))) / 2};
    double want_z[] = {2.5, (1.5 + 4.25) / 2};
    for (int l = 0; l < 2; l++) {
        char *f[40];
        char *end = strchr(line, '\n');
        *end = 0;
        assert_int_equal(fanin__csv_split(line, f, 40), 28);
        assert_true(fabs(atof(f[22]) - want_a[l]) < 1e-5);
        assert_true(fabs(atof(f[23]) - want_z[l]) < 1e-5);
        line = end + 1;
    }
    free(text);
    fanin__model_free(m);
    fanin__experiment_free(x);
}

/* ---- a run through the library ---- */

static const char *run(const char *text) {
    static char dir[256];
    fanin_config *c;
    assert_int_equal(fanin__config_parse(&c, "t.yaml", text, strlen(text), err, sizeof err),
                     FANIN_OK);
    run_config(c, "coord", dir, NULL);
    return dir;
}

static void load(fanin__runset *s, const char *dir) {
    char path[FANIN_PATHLEN];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "t");
    assert_int_equal(fanin__rundir_path(path, dir, FANIN_RUNDIR_SUMMARY_CSV), FANIN_OK);
    assert_int_equal(fanin__runset_add_summary(s, path, err, sizeof err), FANIN_OK);
    fanin__runset_finish(s);
}

/* coord_check steps 3 with layer_stats_every 5 over 9 iterations: rows at 0, 1, 2, 3 (the
 * check), 5 (the schedule) and 8 (the last); relu's mean |A| is its mean. */
static void test_rows_at_every_step(void **state) {
    fanin__runset s;
    load(&s, run("name: t\nseed: 2\ndata: {source: synthetic, kind: moons, n: 200, train: 100}\n"
                 "model: {layers: [{units: 8}, {units: 8}, {units: 1, activation: sigmoid}]}\n"
                 "loss: bce\noptimizer: {name: adam, lr: 0.01}\n"
                 "train: {iterations: 9, log_every: 1}\n"
                 "diagnostics: {layer_stats_every: 5, coord_check: {steps: 3}}\n"));
    const fanin__run_view *r = &s.runs[0];
    assert_int_equal(r->coord_steps, 3);
    assert_int_equal(r->n_layers, 3);
    int64_t want[] = {0, 1, 2, 3, 5, 8};
    assert_int_equal(r->n_stats, 6 * 3);
    for (int i = 0; i < 6; i++)
        for (int l = 0; l < 3; l++) {
            const fanin__layer_stats *st = &r->stats[3 * i + l];
            assert_int_equal(st->iteration, want[i]);
            assert_true(st->act_abs_mean > 0 && st->preact_abs_mean > 0);
            if (l < 2) assert_true(fabs(st->act_abs_mean - st->act_mean) < 1e-6);
        }
    fanin__runset_deinit(&s);
}

/* Interrupted at iteration 3 of a 5-step coordinate check (the progress hook stops it; the
 * step finishes and checkpoints), then resumed: layers.csv and histograms.csv equal a straight
 * run's byte for byte. */
static int stop_at_3(void *user, const fanin__progress *p) {
    (void)user;
    return p->iteration == 3;
}

static const char *run_hooked(const char *text, const char *dir, bool resume,
                              int (*hook)(void *, const fanin__progress *), int want) {
    fanin_config *c;
    assert_int_equal(fanin__config_parse(&c, "t.yaml", text, strlen(text), err, sizeof err),
                     FANIN_OK);
    fanin__runner rn = {
        .config = c, .reg = reg, .out_dir = dir, .resume = resume, .hooks.on_progress = hook};
    int rc = fanin__run(&rn, err, sizeof err);
    if (rc != want) fprintf(stderr, "run: %d: %s\n", rc, err);
    assert_int_equal(rc, want);
    fanin__rundir_lock_drop(); /* held until exit otherwise: the resume reopens the folder */
    fanin__runner_deinit(&rn);
    fanin__config_free(c);
    return dir;
}

static void test_resume_keeps_rows(void **state) {
    static const char yaml[] =
        "name: t\nseed: 4\ndata: {source: synthetic, kind: spiral, n: 300, classes: 3}\n"
        "model: {layers: [{units: 16}, {units: 16}, {units: 3, activation: linear}]}\n"
        "loss: cross_entropy\noptimizer: {name: adam, lr: 0.01}\n"
        "train: {iterations: 12, batch: 50, log_every: 1, checkpoint_every: 2}\n"
        "diagnostics: {layer_stats_every: 4, coord_check: {steps: 5}}\n";
    char a[] = "/tmp/fanin-coord-ra-XXXXXX", b[] = "/tmp/fanin-coord-rb-XXXXXX";
    assert_non_null(mkdtemp(a));
    assert_non_null(mkdtemp(b));
    run_hooked(yaml, a, false, NULL, FANIN_OK);
    run_hooked(yaml, b, false, stop_at_3, FANIN_EINTR);
    run_hooked(yaml, b, true, NULL, FANIN_OK);
    fanin__runset sa, sb;
    load(&sa, a);
    load(&sb, b);
    assert_int_equal(sb.runs[0].n_stats, 8 * 3); /* rows at 0..5, 8 and the last, 11 */
    assert_int_equal(sb.runs[0].stats[8 * 3 - 1].iteration, 11);
    const char *files[] = {"layers.csv", "histograms.csv"};
    for (int i = 0; i < 2; i++) {
        char pa[FANIN_PATHLEN + 32], pb[FANIN_PATHLEN + 32];
        snprintf(pa, sizeof pa, "%s/%s", sa.runs[0].dir, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", sb.runs[0].dir, files[i]);
        char *ta = slurp(pa), *tb = slurp(pb);
        assert_string_equal(ta, tb);
        free(ta);
        free(tb);
    }
    fanin__runset_deinit(&sa);
    fanin__runset_deinit(&sb);
}

/* ---- synthetic run folders ---- */

static FILE *open_in(const char *run_dir, fanin__rundir_file which) {
    char path[FANIN_PATHLEN];
    assert_int_equal(fanin__rundir_path(path, run_dir, which), FANIN_OK);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    return f;
}

/* layers.csv of a [20 -> w -> w -> 10] net over iterations 0..3: layer l's mean |act| is
 * base * (w / 64)^slope[l] at iteration 3 (and flat before, the init), times `jitter`. `old`:
 * the 22 columns written before act_abs_mean. */
static void write_layers(const char *run_dir, int w, const double *slope, double jitter, bool old) {
    FILE *f = open_in(run_dir, FANIN_RUNDIR_LAYERS);
    fanin__diag_write_header(f);
    for (int it = 0; it <= 3; it++)
        for (int l = 0; l < 3; l++) {
            fanin__layer_stats st = {.iteration = it,
                                     .layer = l + 1,
                                     .units = l == 2 ? 10 : w,
                                     .fan_in = l == 0 ? 20 : w,
                                     .act_std = 1,
                                     .preact_std = 1,
                                     .weight_std = 0.1,
                                     .row_spread = 1,
                                     .saturated_frac = NAN,
                                     .alpha = NAN,
                                     .running_mean = NAN,
                                     .running_var = NAN};
            st.act_abs_mean = 0.5 * jitter * (it == 3 ? pow(w / 64.0, slope[l]) : 1);
            st.preact_abs_mean = st.act_abs_mean;
            snprintf(st.activation, sizeof st.activation, l == 2 ? "linear" : "relu");
            snprintf(st.kind, sizeof st.kind, "dense");
            char row[1024];
            FILE *m = fmemopen(row, sizeof row, "w");
            fanin__diag_write_row(m, &st);
            fclose(m);
            if (old) { /* cut the columns appended after running_var */
                for (int k = 0; k < 6; k++) *strrchr(row, ',') = 0;
                strcat(row, "\n");
            }
            fputs(row, f);
        }
    fclose(f);
}

static void write_config(const char *run_dir, int steps) {
    FILE *f = open_in(run_dir, FANIN_RUNDIR_CONFIG);
    fprintf(f,
            "name: w\ndata:\n  source: synthetic\n  test: 100\ndiagnostics: "
            "{layer_stats_every: 0, coord_check: {steps: %d}}\n",
            steps);
    fclose(f);
}

/* A summary.csv over `keys` plus one folder per row (made by the caller's `fill`). */
typedef struct member {
    const char *values[4];
    double final_loss;
    const char *status;
} member;

static FILE *summary(const char *dir, const char *const *keys, int n_keys) {
    char path[FANIN_PATHLEN];
    assert_int_equal(fanin__rundir_path(path, dir, FANIN_RUNDIR_SUMMARY_CSV), FANIN_OK);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fanin__summary_write_header(f, keys, n_keys);
    return f;
}

static void add_member(FILE *f, const char *dir, int id, int n_keys, const member *m, char *rd) {
    char sid[16];
    snprintf(sid, sizeof sid, "%03d", id);
    fanin__summary_row row = {.id = sid,
                              .status = m->status,
                              .n_values = n_keys,
                              .final_loss = m->final_loss,
                              .train_acc = 0.9,
                              .test_acc = 0.9,
                              .iterations = 4,
                              .seconds = 1};
    for (int k = 0; k < n_keys; k++) row.values[k] = m->values[k];
    fanin__summary_write_row(f, &row);
    assert_int_equal(fanin__path_join(rd, dir, sid), FANIN_OK);
    assert_int_equal(mkdir(rd, 0755), 0);
}

/* standard: the readout grows as width^1 and layer 2 as width^0.5 at iteration 3; mup: every
 * layer flat but for a seed's +-3% jitter; `shrink`: mup's readout falls as width^-0.5. */
static const char *coord_folder(bool old, bool shrink) {
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/fanin-coord-XXXXXX");
    assert_non_null(mkdtemp(dir));
    const char *keys[] = {"model.parametrization", "model.layers.0.units", "seed"};
    FILE *f = summary(dir, keys, 3);
    const char *param[] = {"standard", "mup"}, *width[] = {"64", "128", "256", "512"};
    const char *seed[] = {"1", "2"};
    double sp[] = {0, 0.5, 1}, mp[] = {0, 0, shrink ? -0.5 : 0};
    int id = 0;
    char rd[FANIN_PATHLEN];
    for (int p = 0; p < 2; p++)
        for (int w = 0; w < 4; w++)
            for (int s = 0; s < 2; s++) {
                member m = {{param[p], width[w], seed[s]}, 0.3, "done"};
                add_member(f, dir, id++, 3, &m, rd);
                write_layers(rd, atoi(width[w]), p ? mp : sp, s ? 1.03 : 0.97, old);
                write_config(rd, 3);
            }
    fclose(f);
    return dir;
}

static void test_coord_verdicts(void **state) {
    fanin__runset s;
    load(&s, coord_folder(false, false));
    assert_true(fanin__run_width(&s, &s.runs[0]) == 64);
    assert_true(fanin__run_width(&s, &s.runs[7]) == 512);
    fanin__width_view w;
    assert_int_equal(fanin__width_view_make(&s, &w), FANIN_OK);
    assert_int_equal(w.n_coord, 2);
    assert_int_equal(w.n_lr, 0);
    const fanin__coord_panel *sp = &w.coord[0], *mp = &w.coord[1];
    assert_string_equal(sp->name, "model.parametrization=standard");
    assert_int_equal(sp->n_widths, 4);
    assert_int_equal(sp->n_steps, 4);
    assert_int_equal(sp->at, 3);
    assert_int_equal(sp->n_layers, 3);
    assert_true(fabs(sp->slope[0]) < 1e-6 && fabs(sp->slope[1] - 0.5) < 1e-6);
    assert_true(fabs(sp->slope[2] - 1) < 1e-6);
    assert_int_equal(sp->trend, 1);
    assert_string_equal(sp->verdict, "grows with width (layer 3's slope 1.00: x2.00 per doubling; "
                                     "slopes 0.00..1.00 over 3 layers, iteration 3)");
    /* the seeds' jitter averages out: (0.97 + 1.03) / 2 at every width */
    assert_true(fabs(mp->v[(3 * 3 + 1) * 4 + 2] - 0.5) < 1e-6);
    assert_int_equal(mp->trend, 0);
    assert_non_null(strstr(mp->verdict, "flat in width (slopes "));
    fanin__width_view_deinit(&w);
    /* the printed lines */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fanin__width_print(f, &s);
    fclose(f);
    assert_non_null(strstr(text, "\ncoordinate check ("));
    assert_non_null(strstr(text, "  model.parametrization=mup: flat in width"));
    free(text);
    fanin__runset_deinit(&s);
}

static void test_coord_shrinks_and_old_files(void **state) {
    fanin__runset s;
    load(&s, coord_folder(false, true));
    fanin__width_view w;
    assert_int_equal(fanin__width_view_make(&s, &w), FANIN_OK);
    assert_int_equal(w.coord[1].trend, -1);
    assert_non_null(strstr(w.coord[1].verdict, "shrinks with width (layer 3's slope -0.50: "
                                               "x0.71 per doubling"));
    fanin__width_view_deinit(&w);
    fanin__runset_deinit(&s);
    /* layers.csv without the column: NaN, no coordinate check */
    load(&s, coord_folder(true, false));
    assert_true(isnan(s.runs[0].stats[0].act_abs_mean));
    assert_true(s.runs[0].stats[0].act_std == 1);
    assert_int_equal(fanin__width_view_make(&s, &w), FANIN_OK);
    assert_int_equal(w.n_coord, 0);
    fanin__width_view_deinit(&w);
    fanin__runset_deinit(&s);
}

/* report.html draws a chart per iteration per panel; summary.json has the verdicts. */
static void test_coord_report_and_json(void **state) {
    fanin__runset s;
    const char *dir = coord_folder(false, false);
    load(&s, dir);
    char html[FANIN_PATHLEN], json[FANIN_PATHLEN];
    assert_int_equal(fanin__rundir_path(html, dir, FANIN_RUNDIR_REPORT), FANIN_OK);
    assert_int_equal(fanin__rundir_path(json, dir, FANIN_RUNDIR_SUMMARY_JSON), FANIN_OK);
    assert_int_equal(fanin__report_write(&s, html, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__runset_write_json(&s, json, err, sizeof err), FANIN_OK);
    char *h = slurp(html), *j = slurp(json);
    char *sec = strstr(h, "<h2>Coordinate check</h2>");
    assert_non_null(sec);
    *strstr(sec + 4, "<h2>") = 0; /* the section alone */
    size_t charts = 0;
    for (const char *p = sec; (p = strstr(p, ">iteration ")); p++) charts++;
    assert_int_equal(charts, 8); /* 2 panels x iterations 0..3 */
    assert_non_null(strstr(sec, "grows with width (layer 3's slope 1.00"));
    assert_non_null(strstr(sec, "log2 width (64 to 512)"));
    assert_non_null(strstr(sec, ">layer 3 (output)</text>")); /* the legend */
    assert_null(strstr(sec + 4, "<h2>Learning rate against width</h2>"));
    assert_non_null(
        strstr(j, "\"coord_check\": [\n    {\"panel\": \"model.parametrization=standard\""));
    assert_non_null(strstr(j, "\"trend\": \"grows\""));
    assert_non_null(strstr(j, "\"lr_transfer\": []"));
    free(h);
    free(j);
    fanin__runset_deinit(&s);
}

/* A learning-rate sweep without layers.csv (the width from the swept `units` key): mup's loss
 * is lowest at lr 2^-9 at every width, standard's at 2^-7, 2^-9, 2^-11 (x1/4 per x4 width);
 * one standard run diverged. */
static void test_lr_transfer(void **state) {
    char dir[] = "/tmp/fanin-coord-lr-XXXXXX", rd[FANIN_PATHLEN];
    assert_non_null(mkdtemp(dir));
    const char *keys[] = {"model.parametrization", "model.layers.0.units", "optimizer.lr"};
    FILE *f = summary(dir, keys, 3);
    const char *param[] = {"standard", "mup"}, *width[] = {"128", "512", "2048"};
    char lrs[7][32];
    int id = 0;
    for (int j = 0; j < 7; j++) snprintf(lrs[j], sizeof lrs[j], "%.10g", exp2(-12 + j));
    for (int p = 0; p < 2; p++)
        for (int w = 0; w < 3; w++)
            for (int j = 0; j < 7; j++) {
                double best = p ? -9 : -7 - 2 * w, e = -12 + j;
                member m = {{param[p], width[w], lrs[j]},
                            0.1 + 0.01 * (e - best) * (e - best),
                            "done"};
                if (p == 0 && w == 2 && j == 6) m.final_loss = NAN, m.status = "diverged";
                add_member(f, dir, id++, 3, &m, rd);
            }
    fclose(f);
    fanin__runset s;
    load(&s, dir);
    assert_true(fanin__run_width(&s, &s.runs[0]) == 128);
    fanin__width_view w;
    assert_int_equal(fanin__width_view_make(&s, &w), FANIN_OK);
    assert_int_equal(w.n_coord, 0);
    assert_int_equal(w.n_lr, 2);
    assert_string_equal(w.lr[0].name, "model.parametrization=standard");
    assert_false(w.lr[0].line_up);
    assert_true(fabs(w.lr[0].spread - 4) < 1e-9);
    assert_string_equal(w.lr[0].verdict,
                        "drift: best lr 2^-7 at width 128, 2^-9 at width 512, 2^-11 at width 2048; "
                        "1 run diverged (left out)");
    assert_true(w.lr[1].line_up && w.lr[1].spread == 0);
    assert_string_equal(w.lr[1].verdict, "minima line up: best lr 2^-9 at every width");
    fanin__width_view_deinit(&w);
    char html[FANIN_PATHLEN];
    assert_int_equal(fanin__rundir_path(html, dir, FANIN_RUNDIR_REPORT), FANIN_OK);
    assert_int_equal(fanin__report_write(&s, html, err, sizeof err), FANIN_OK);
    char *h = slurp(html);
    assert_non_null(strstr(h, "<h2>Learning rate against width</h2>"));
    assert_non_null(strstr(h, "Final training loss against learning rate</text>"));
    assert_non_null(strstr(h, ">width 2048</text>"));
    assert_non_null(strstr(h, "minima line up: best lr 2^-9 at every width"));
    free(h);
    fanin__runset_deinit(&s);
}

/* Ten values of another swept key: eight panels are judged, and the text says the rest are not. */
static void test_more_panels_than_drawn(void **state) {
    char dir[] = "/tmp/fanin-coord-more-XXXXXX", rd[FANIN_PATHLEN];
    assert_non_null(mkdtemp(dir));
    const char *keys[] = {"train.batch", "model.layers.0.units", "optimizer.lr"};
    FILE *f = summary(dir, keys, 3);
    const char *width[] = {"128", "512"}, *lrs[] = {"0.001", "0.002"};
    char batch[10][8];
    int id = 0;
    for (int b = 0; b < 10; b++) {
        snprintf(batch[b], sizeof batch[b], "%d", 16 + b);
        for (int w = 0; w < 2; w++)
            for (int j = 0; j < 2; j++) {
                member m = {{batch[b], width[w], lrs[j]}, 0.1 + 0.01 * j, "done"};
                add_member(f, dir, id++, 3, &m, rd);
            }
    }
    fclose(f);
    fanin__runset s;
    load(&s, dir);
    fanin__width_view w;
    assert_int_equal(fanin__width_view_make(&s, &w), FANIN_OK);
    assert_int_equal(w.n_lr, FANIN_WIDTH_MAX_PANELS);
    assert_true(w.more);
    fanin__width_view_deinit(&w);
    char text[8192] = {0};
    FILE *m = fmemopen(text, sizeof text - 1, "w");
    fanin__width_print(m, &s);
    fclose(m);
    assert_non_null(strstr(text, "only the first 8 are judged"));
    fanin__runset_deinit(&s);
}

/* The real thing, reduced: 2 hidden relu layers on the spiral, Adam at lr 0.01, widths
 * 64/128/256 (base_width 64), 3 seeds, coord_check steps 3. Standard's readout grows about
 * x1.7-2.5 per doubling; mup stays within the flat band. At widths 16/32/64 one draw of the
 * weights moves mean |activation| by 10-25%, more than the band allows (docs/diagnostics.md). */
static void test_real_standard_grows_mup_flat(void **state) {
    fanin__runset s;
    load(&s, run("name: cc\ndata: {source: synthetic, kind: spiral, n: 512, classes: 4, "
                 "train: 256, test: 256}\nmodel:\n  base_width: 64\n"
                 "  defaults: {activation: relu, init: lecun_normal}\n"
                 "  layers: [{units: 64, repeat: 2}, {units: 4, activation: linear}]\n"
                 "loss: cross_entropy\noptimizer: {name: adam, lr: 0.01}\n"
                 "train: {iterations: 4, log_every: 1}\nthreads: 1\n"
                 "diagnostics: {coord_check: {steps: 3}}\nsweep:\n"
                 "  model.parametrization: [standard, mup]\n"
                 "  model.layers.0.units: [64, 128, 256]\n  seed: [1, 2, 3]\n"));
    assert_int_equal(s.n_runs, 18);
    fanin__width_view w;
    assert_int_equal(fanin__width_view_make(&s, &w), FANIN_OK);
    assert_int_equal(w.n_coord, 2);
    for (int i = 0; i < 2; i++) printf("%s: %s\n", w.coord[i].name, w.coord[i].verdict);
    assert_int_equal(w.coord[0].trend, 1);
    assert_true(w.coord[0].slope[2] > 0.5);
    assert_int_equal(w.coord[1].trend, 0);
    fanin__width_view_deinit(&w);
    fanin__runset_deinit(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_and_round_trip),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_act_abs_mean_by_hand),
        cmocka_unit_test(test_rows_at_every_step),
        cmocka_unit_test(test_resume_keeps_rows),
        cmocka_unit_test(test_coord_verdicts),
        cmocka_unit_test(test_coord_shrinks_and_old_files),
        cmocka_unit_test(test_coord_report_and_json),
        cmocka_unit_test(test_lr_transfer),
        cmocka_unit_test(test_more_panels_than_drawn),
        cmocka_unit_test(test_real_standard_grows_mup_flat),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
