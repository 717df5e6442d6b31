/* report.html and summary.json from a run set: two shards of a seed sweep run into one folder,
 * combined as `fanin merge` does; the page is self-contained; headless Chromium renders it
 * (skipped when chromium is not installed). The seeds pooled per configuration: groups.csv,
 * summary.json's "groups", the report's "How sure?" and the command's table. */
#include "base/errors.h"
#include "config/experiment.h"
#include "plugin/registry.h"
#include "run/report.h"
#include "run/run.h"
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

static fanin_registry *reg;
static char err[FANIN_ERRLEN], dir[256];

static const char text[] =
    "name: t\nseed: 3\ndata: {source: synthetic, kind: moons, n: 200, noise: 0.1, train: 100, "
    "test: 100}\nmodel:\n  defaults: {activation: tanh, init: xavier_normal}\n"
    "  layers: [{units: 8}, {units: 6}, {units: 1, activation: sigmoid}]\nloss: bce\n"
    "optimizer: {name: sgd, lr: 0.1}\ntrain: {iterations: 30, batch: full, log_every: 5}\n"
    "sweep:\n  seed: [1, 2]\n  model.defaults.init: [xavier_normal, {name: normal, std: 0.01}]\n";

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void run_shard(fanin_config *c, int k) {
    fanin__runner rn = {.config = c, .reg = reg, .out_dir = dir, .shard_k = k, .shard_n = 2};
    assert_int_equal(fanin__run(&rn, err, sizeof err), FANIN_OK);
    assert_int_equal(rn.n_results, 2);
    fanin__runner_deinit(&rn);
}

static int setup(void **state) {
    const char *dirs[] = {FANIN_TEST_PLUGIN_DIR};
    if (fanin__registry_new(&reg, dirs, 1, err, sizeof err) < 0) return -1;
    snprintf(dir, sizeof dir, "/tmp/fanin-test-report-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    fanin_config *c;
    if (fanin__config_parse(&c, "t.yaml", text, sizeof text - 1, err, sizeof err) < 0) return -1;
    run_shard(c, 1);
    run_shard(c, 2);
    fanin__config_free(c);
    return 0;
}

static int teardown(void **state) {
    fanin__registry_free(reg);
    return 0;
}

static void merged(fanin__runset *s) {
    char path[512];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "t");
    for (int k = 1; k <= 2; k++) {
        snprintf(path, sizeof path, "%s/summary-%d-of-2.csv", dir, k);
        assert_int_equal(fanin__runset_add_summary(s, path, err, sizeof err), FANIN_OK);
    }
    snprintf(path, sizeof path, "%s/summary-1-of-2.csv", dir); /* twice: no duplicates */
    assert_int_equal(fanin__runset_add_summary(s, path, err, sizeof err), FANIN_OK);
    fanin__runset_finish(s);
}

static void test_merge_groups_seeds(void **state) {
    fanin__runset s;
    merged(&s);
    assert_int_equal(s.n_runs, 4);
    assert_int_equal(s.n_keys, 2);
    assert_int_equal(s.seed_key, 0);
    for (int i = 0; i < 4; i++) assert_int_equal(s.runs[i].member, i); /* members 0..3 in order */
    assert_string_equal(s.runs[0].group, s.runs[2].group); /* same init, seeds 1 and 2 */
    assert_string_not_equal(s.runs[0].group, s.runs[1].group);
    assert_true(s.runs[1].flags & FANIN_V_VANISHING); /* normal(std=0.01) */
    fanin__runset_deinit(&s);
}

static void test_json_and_html(void **state) {
    fanin__runset s;
    merged(&s);
    char json[512], html[512];
    snprintf(json, sizeof json, "%s/summary.json", dir);
    snprintf(html, sizeof html, "%s/report.html", dir);
    assert_int_equal(fanin__runset_write_json(&s, json, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__report_write(&s, html, err, sizeof err), FANIN_OK);
    const char *j = slurp(json);
    assert_non_null(strstr(j, "\"verdict\": \""));
    assert_non_null(strstr(j, "\"layers_initial\": [{\"layer\": 1"));
    assert_null(strstr(j, "nan")); /* NaN is written as null */
    const char *h = slurp(html);
    assert_non_null(strstr(h, "<svg"));
    assert_non_null(strstr(h, "Activation std against depth"));
    assert_null(strstr(h, "<script"));
    assert_null(strstr(h, "http")); /* no address at all: nothing can be fetched */
    fanin__runset_deinit(&s);
}

/* Seeds 1 and 2 pooled per init: groups.csv (the seed column left out), summary.json's
 * "groups" with n, mean, std and the 95% interval, n_test from the runs' config.yaml. */
static void test_groups_outputs(void **state) {
    fanin__runset s;
    merged(&s);
    assert_int_equal(s.n_groups, 2);
    assert_int_equal(s.groups[0].n_runs, 2);
    assert_int_equal(s.groups[0].fig[FANIN_FIG_TEST].n, 2);
    assert_true(s.groups[0].n_test == 100 && s.runs[0].n_test == 100);
    double m = (s.runs[0].test_acc + s.runs[2].test_acc) / 2;
    assert_true(fabs(s.groups[0].fig[FANIN_FIG_TEST].mean - m) < 1e-12);
    assert_true(fabs(s.groups[0].test_se - sqrt(m * (1 - m) / 100)) < 1e-12);
    char csv[512], json[512];
    snprintf(csv, sizeof csv, "%s/groups.csv", dir);
    snprintf(json, sizeof json, "%s/summary.json", dir);
    assert_int_equal(fanin__groups_write_csv(&s, csv, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__runset_write_json(&s, json, err, sizeof err), FANIN_OK);
    const char *c = slurp(csv);
    assert_non_null(strstr(c,
                           "group,model.defaults.init,runs,diverged,final_loss_n,final_loss_mean,"
                           "final_loss_std,final_loss_ci95_lo,final_loss_ci95_hi,train_acc_n,"));
    assert_non_null(strstr(c, ",n_test,test_acc_se,final_loss_min,final_loss_max,train_acc_min,"
                              "train_acc_max,test_acc_min,test_acc_max\n\"xavier_normal\","
                              "\"xavier_normal\",2,0,2,"));
    /* min and max: the two seeds' test accuracies */
    double lo = fmin(s.runs[0].test_acc, s.runs[2].test_acc);
    assert_true(fabs(s.groups[0].fig[FANIN_FIG_TEST].min - lo) < 1e-12);
    assert_true(s.groups[0].fig[FANIN_FIG_TEST].max >= s.groups[0].fig[FANIN_FIG_TEST].min);
    const char *j = slurp(json);
    assert_non_null(strstr(j, "\"groups\": [\n    {\"group\": \"xavier_normal\", \"swept\": "
                              "{\"model.defaults.init\": \"xavier_normal\"}, \"runs\": 2"));
    assert_non_null(strstr(j, "\"test_acc\": {\"n\": 2, \"mean\": "));
    assert_non_null(strstr(j, "\"ci95\": ["));
    assert_non_null(strstr(j, "], \"min\": "));
    assert_non_null(strstr(j, "\"comparisons\": ["));
    assert_null(strstr(j, "nan"));
    fanin__runset_deinit(&s);
}

/* The report's "How sure?" table, interval chart and sentences; the command's table (fanin
 * merge prints it) with the ± legend, the test set's SE and the overlap sentences. */
static void test_how_sure_shown(void **state) {
    fanin__runset s;
    merged(&s);
    char html[512], cmd[2048], out[512];
    snprintf(html, sizeof html, "%s/report.html", dir);
    assert_int_equal(fanin__report_write(&s, html, err, sizeof err), FANIN_OK);
    const char *h = slurp(html);
    assert_non_null(strstr(h, "<h2>How sure?</h2>"));
    assert_non_null(strstr(h, "Test accuracy with its 95% interval"));
    assert_non_null(strstr(h, "<li>xavier_normal vs normal(std=0.01): the 95% intervals of "
                              "test_acc"));
    fanin__runset_deinit(&s);
    snprintf(out, sizeof out, "%s/merge.txt", dir);
    snprintf(cmd, sizeof cmd, "%s merge %s --out %s/merged > %s 2>&1", FANIN_TEST_BIN, dir, dir,
             out);
    assert_int_equal(system(cmd), 0);
    const char *t = slurp(out);
    assert_non_null(strstr(t, "runs  final loss ±95%"));
    assert_non_null(strstr(t, "test SE"));
    assert_non_null(strstr(t, "±: half-width of the 95% confidence interval"));
    assert_non_null(strstr(t, "n_test = 100:"));
    assert_non_null(strstr(t, "how sure:\n  xavier_normal vs normal(std=0.01): the 95% "
                              "intervals of test_acc"));
    snprintf(out, sizeof out, "%s/merged/groups.csv", dir);
    assert_int_equal(access(out, R_OK), 0);
}

/* Headless Chromium draws the page to a PNG; a blank or failed page is tiny. */
static void test_chromium_renders(void **state) {
    if (system("command -v chromium >/dev/null 2>&1") != 0) skip();
    char cmd[2048], png[512];
    snprintf(png, sizeof png, "%s/report.png", dir);
    snprintf(cmd, sizeof cmd,
             "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic "
             "--no-first-run --disable-background-networking --disable-component-update "
             "--disable-sync --user-data-dir=%s/chromium --screenshot=%s "
             "--window-size=1200,3000 file://%s/report.html >/dev/null 2>&1",
             dir, png, dir);
    if (system(cmd) != 0) fprintf(stderr, "chromium exited non-zero; checking its output\n");
    struct stat st;
    assert_int_equal(stat(png, &st), 0);
    assert_true(st.st_size > 50000); /* a blank 1200x3000 PNG is a few kilobytes */
    printf("rendered %s (%lld bytes)\n", png, (long long)st.st_size);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_groups_seeds), cmocka_unit_test(test_json_and_html),
        cmocka_unit_test(test_groups_outputs),     cmocka_unit_test(test_how_sure_shown),
        cmocka_unit_test(test_chromium_renders),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
