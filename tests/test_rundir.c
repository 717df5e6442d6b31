/* The run folder's layout (rundir.c): file and shard names, which files are summaries, the
 * summary CSV written and read back byte for byte, and the member folder names. */
#include "base/errors.h"
#include "config/experiment.h"
#include "run/rundir.h"

#include <stdio.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_names_and_shards(void **state) {
    char name[64], path[FANIN_PATHLEN];
    assert_string_equal(fanin__rundir_name(FANIN_RUNDIR_LAYERS), "layers.csv");
    fanin__rundir_shard_name(name, sizeof name, FANIN_RUNDIR_SUMMARY_CSV, 2, 4);
    assert_string_equal(name, "summary-2-of-4.csv");
    fanin__rundir_shard_name(name, sizeof name, FANIN_RUNDIR_REPORT, 1, 3);
    assert_string_equal(name, "report-1-of-3.html");
    fanin__rundir_shard_name(name, sizeof name, FANIN_RUNDIR_LOCK, 2, 2);
    assert_string_equal(name, ".summary-2-of-2.csv.lock");
    fanin__rundir_shard_name(name, sizeof name, FANIN_RUNDIR_SUMMARY_JSON, 0, 0);
    assert_string_equal(name, "summary.json");
    fanin__rundir_shard_name(name, sizeof name, FANIN_RUNDIR_SUMMARY_CSV, 0, 2);
    assert_string_equal(name, "summary-K-of-N.csv");
    /* member files are never per shard */
    fanin__rundir_shard_name(name, sizeof name, FANIN_RUNDIR_MODEL, 1, 2);
    assert_string_equal(name, "model.safetensors");
    assert_int_equal(fanin__rundir_shard_name(name, 8, FANIN_RUNDIR_SUMMARY_CSV, 1, 2),
                     FANIN_EINVAL);
    assert_int_equal(fanin__rundir_path(path, "out/01-a", FANIN_RUNDIR_METRICS), FANIN_OK);
    assert_string_equal(path, "out/01-a/metrics.csv");
    assert_int_equal(fanin__rundir_shard_path(path, "out", FANIN_RUNDIR_SUMMARY_CSV, 3, 5),
                     FANIN_OK);
    assert_string_equal(path, "out/summary-3-of-5.csv");
}

static void test_is_summary(void **state) {
    int k = -1, n = -1;
    assert_true(fanin__rundir_is_summary("summary.csv", &k, &n));
    assert_int_equal(k, 0);
    assert_int_equal(n, 0);
    assert_true(fanin__rundir_is_summary("summary-2-of-3.csv", &k, &n));
    assert_int_equal(k, 2);
    assert_int_equal(n, 3);
    assert_true(fanin__rundir_is_summary("summary-1-of-2.csv", NULL, NULL));
    const char *no[] = {"summary.json",        "summary-1-of-2.json", "summary-3-of-2.csv",
                        "summary-1-of-2.csv~", "summary-01-of-2.csv", "report.html",
                        ".summary.csv.lock",   "summary-K-of-N.csv",  "summary"};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        assert_false(fanin__rundir_is_summary(no[i], NULL, NULL));
}

/* Header and rows exactly as fanin has always written them, and parsed back. */
static void test_summary_round_trip(void **state) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    const char *keys[] = {"model.defaults.init", "seed"};
    fanin__summary_write_header(f, keys, 2);
    fanin__summary_row row = {.id = "03-normal-std=0.01-2",
                              .status = "diverged",
                              .n_values = 2,
                              .values = {"{name: normal, std: 0.01}", "2"},
                              .final_loss = 0.123456789012,
                              .train_acc = 0.5,
                              .test_acc = NAN,
                              .iterations = 2500,
                              .seconds = 1.23456};
    fanin__summary_write_row(f, &row);
    fclose(f);
    assert_string_equal(text, "run,status,model.defaults.init,seed,final_loss,train_acc,test_acc,"
                              "iterations,seconds\n03-normal-std=0.01-2,diverged,"
                              "\"{name: normal, std: 0.01}\",\"2\",0.123456789,0.5,nan,2500,"
                              "1.235\n");
    char *fields[FANIN_SUMMARY_MAX_COLS], *line = strchr(text, '\n') + 1;
    int n = fanin__csv_split(text, fields, FANIN_SUMMARY_MAX_COLS);
    assert_int_equal(fanin__summary_parse_header(fields, n), 2);
    assert_string_equal(fields[2], "model.defaults.init");
    fanin__summary_row back;
    n = fanin__csv_split(line, fields, FANIN_SUMMARY_MAX_COLS);
    assert_int_equal(fanin__summary_parse_row(fields, n, &back), FANIN_OK);
    assert_string_equal(back.id, "03-normal-std=0.01-2");
    assert_int_equal(fanin__summary_status_code(back.status), FANIN_EDIVERGED);
    assert_int_equal(back.n_values, 2);
    assert_string_equal(back.values[0], "{name: normal, std: 0.01}");
    assert_true(isnan(back.test_acc));
    assert_int_equal(back.iterations, 2500);
    assert_float_equal(back.seconds, 1.235, 1e-12);
    free(text);
    char bad[] = "iteration,epoch,loss", *b[8];
    assert_int_equal(fanin__summary_parse_header(b, fanin__csv_split(bad, b, 8)), FANIN_EINVAL);
}

static void test_status_words(void **state) {
    assert_string_equal(fanin__summary_status(FANIN_OK), "done");
    assert_string_equal(fanin__summary_status(FANIN_EINTR), "interrupted");
    assert_int_equal(fanin__summary_status_code("interrupted"), FANIN_EINTR);
    assert_int_equal(fanin__summary_status_code("done"), FANIN_OK);
}

static void test_member_id(void **state) {
    fanin__swept sw[] = {{"model.defaults.init", "{name: normal, std: 0.01}"}, {"seed", "2"}};
    fanin_experiment x = {.member = 3, .n_swept = 2, .swept = sw};
    char id[96];
    fanin__rundir_member_id(&x, 12, id, sizeof id);
    assert_string_equal(id, "03-name-normal-std-0.01-2");
    fanin__rundir_member_id(&x, 101, id, sizeof id);
    assert_string_equal(id, "003-name-normal-std-0.01-2");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_shards),   cmocka_unit_test(test_is_summary),
        cmocka_unit_test(test_summary_round_trip), cmocka_unit_test(test_status_words),
        cmocka_unit_test(test_member_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
