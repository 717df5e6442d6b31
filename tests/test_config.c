/* The experiment file: parsing, resolving against the real plugins, every error's FILE:LINE:COL
 * and wording, --set, sweeps, validation and the resolved-YAML round trip. Configs are parsed
 * from strings; plugins come from the build tree (FANIN_TEST_PLUGIN_DIR).
 */
#include <stdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/rng.h"
#include "config/experiment.h"
#include "config/pref.h"
#include "config/values.h"
#include "plugin/registry.h"

static fanin_registry *reg;

/* A valid experiment on synthetic data (no files needed). Line numbers matter below. */
static const char *const BASE =
    "name: t\n"                                                                        /* 1 */
    "seed: 3\n"                                                                        /* 2 */
    "data:\n"                                                                          /* 3 */
    "  source: synthetic\n"                                                            /* 4 */
    "  kind: moons\n"                                                                  /* 5 */
    "model:\n"                                                                         /* 6 */
    "  defaults: {activation: tanh, init: {name: normal, std: 0.01}}\n"                /* 7 */
    "  layers:\n"                                                                      /* 8 */
    "    - {units: 8, repeat: 3}\n"                                                    /* 9 */
    "    - {units: 4, init: he_normal, activation: relu}\n"                            /* 10 */
    "    - {units: 1, activation: sigmoid, bias_init: {name: constant, value: 0.5}}\n" /* 11 */
    "loss: bce\n"                                                                      /* 12 */
    "optimizer: {name: sgd, lr: 0.1, momentum: 0.9}\n"                                 /* 13 */
    "train: {iterations: 50, batch: 32, log_every: 10}\n";                             /* 14 */

static int setup(void **state) {
    const char *extra[] = {FANIN_TEST_PLUGIN_DIR};
    char err[FANIN_ERRLEN];
    int rc = fanin__registry_new(&reg, extra, 1, err, sizeof err);
    if (rc != FANIN_OK) fprintf(stderr, "registry: %s\n", err);
    return rc;
}

static int teardown(void **state) {
    fanin__registry_free(reg);
    return 0;
}

static fanin_config *parse(const char *text) {
    fanin_config *c;
    char err[FANIN_ERRLEN];
    int rc = fanin__config_parse(&c, "/exp/t.yaml", text, strlen(text), err, sizeof err);
    if (rc != FANIN_OK) fail_msg("parse: %s", err);
    return c;
}

/* Resolve member 0 of text, expecting success. */
static fanin_experiment *resolve(const char *text) {
    fanin_config *c = parse(text);
    fanin_experiment *x;
    char err[FANIN_ERRLEN];
    int rc = fanin__config_resolve(c, 0, reg, &x, err, sizeof err);
    fanin__config_free(c);
    if (rc != FANIN_OK) fail_msg("resolve: %s", err);
    return x;
}

/* Resolve member 0 of text, expecting exactly the error `want`. */
static void expect_error(const char *text, const char *want) {
    fanin_config *c;
    fanin_experiment *x = NULL;
    char err[FANIN_ERRLEN] = "";
    int rc = fanin__config_parse(&c, "/exp/t.yaml", text, strlen(text), err, sizeof err);
    if (rc == FANIN_OK) {
        rc = fanin__config_resolve(c, 0, reg, &x, err, sizeof err);
        fanin__config_free(c);
    }
    assert_int_equal(rc, FANIN_ECONFIG);
    assert_null(x);
    assert_string_equal(err, want);
}

/* BASE with line `line` (1-based) replaced by `repl` (which may hold several lines or none). */
static char *base_with(int line, const char *repl) {
    static char buf[4096];
    const char *p = BASE;
    size_t o = 0;
    for (int l = 1; *p; l++) {
        const char *end = strchr(p, '\n') + 1;
        if (l == line) o += (size_t)snprintf(buf + o, sizeof buf - o, "%s", repl);
        else o += (size_t)snprintf(buf + o, sizeof buf - o, "%.*s", (int)(end - p), p);
        p = end;
    }
    return buf;
}

static const char *pname(const fanin__pref *p) { return p->entry->plugin->name; }

/* ---- resolving a valid file ---- */

static void test_resolve_full_file(void **state) {
    fanin_experiment *x = resolve(BASE);
    assert_string_equal(x->name, "t");
    assert_int_equal(x->seed, 3);
    assert_int_equal(x->rng, FANIN_RNG_PHILOX);
    assert_string_equal(x->data.source, "synthetic");
    assert_string_equal(x->data.kind, "moons");
    assert_int_equal(x->data.n, 1000);
    assert_true(x->data.noise == 0.1);
    assert_int_equal(x->data.n_synth_classes, 2);
    assert_int_equal(x->data.train, -1);
    assert_int_equal(x->data.normalize, FANIN_NORM_NONE);
    assert_int_equal(x->n_layers, 5); /* 3 repeated + 2 */
    for (int l = 0; l < 3; l++) {
        assert_int_equal(x->layers[l].units, 8);
        assert_string_equal(pname(&x->layers[l].activation), "tanh");
        assert_string_equal(x->layers[l].init.text, "normal(std=0.01)");
        assert_true(x->layers[l].init.params[0].f == 0.0); /* mean: the default */
        assert_true(x->layers[l].init.params[1].f == 0.01);
        assert_string_equal(x->layers[l].bias_init.text, "zeros"); /* built-in default */
        assert_int_equal(x->layers[l].init.loc.line, 7);
    }
    assert_int_equal(x->layers[3].units, 4);
    assert_string_equal(x->layers[3].init.text, "he_normal");
    assert_true(isnan(x->layers[3].init.params[0].f)); /* gain: auto */
    assert_string_equal(pname(&x->layers[3].activation), "relu");
    assert_string_equal(pname(&x->layers[4].activation), "sigmoid");
    assert_string_equal(x->layers[4].bias_init.text, "constant(value=0.5)");
    assert_true(x->layers[4].bias_init.params[0].f == 0.5);
    assert_int_equal(x->loss, FANIN_LOSS_BCE);
    assert_string_equal(x->optimizer.text, "sgd(momentum=0.9)");
    assert_true(x->lr == 0.1);
    assert_true(x->optimizer.params[0].f == 0.9);
    assert_int_equal(x->iterations, 50);
    assert_int_equal(x->batch, 32);
    assert_int_equal(x->log_every, 10);
    assert_int_equal(x->layer_stats_every, 0);
    assert_int_equal(x->n_swept, 0);
    assert_string_equal(x->source_file, "/exp/t.yaml");
    assert_string_equal(x->layers[0].init.loc.file, x->source_file);
    fanin__experiment_free(x);
}

static void test_resolve_defaults(void **state) {
    fanin_experiment *x = resolve("data: {source: fashion-mnist, classes: [0, 6]}\n"
                                  "model: {layers: [{units: 1, activation: sigmoid}]}\n"
                                  "loss: bce\n");
    assert_string_equal(x->name, "t"); /* the file's base name */
    assert_int_equal(x->seed, 0);
    assert_string_equal(x->data.path, "/usr/share/datasets/fashion-mnist");
    assert_int_equal(x->data.normalize, FANIN_NORM_SCALE255);
    assert_int_equal(x->data.n_classes_listed, 2);
    assert_int_equal(x->data.classes[1], 6);
    assert_string_equal(x->layers[0].init.text, "lecun_normal");
    assert_string_equal(x->optimizer.text, "sgd");
    assert_true(x->lr == 0.01);
    assert_int_equal(x->iterations, 1000);
    assert_int_equal(x->batch, 0);
    assert_int_equal(x->log_every, 100);
    fanin__experiment_free(x);
}

static void test_relative_paths_absolute(void **state) {
    fanin_experiment *x = resolve("data: {source: csv, path: data/train.csv, target: y}\n"
                                  "model: {layers: [{units: 1}]}\nloss: mse\n");
    assert_string_equal(x->data.path, "/exp/data/train.csv");
    fanin__experiment_free(x);
    x = resolve("data: {source: idx, images: ./a.idx, labels: /abs/b.idx}\n"
                "model: {layers: [{units: 3}]}\nloss: cross_entropy\n");
    assert_string_equal(x->data.images, "/exp/a.idx");
    assert_string_equal(x->data.labels, "/abs/b.idx");
    fanin__experiment_free(x);
}

/* ---- errors ---- */

static void test_unknown_key_suggests(void **state) {
    expect_error(base_with(2, "sed: 3\n"),
                 "/exp/t.yaml:2:1: unknown key 'sed'; did you mean 'seed'?");
    expect_error(base_with(7, "  defualts: {activation: tanh}\n"),
                 "/exp/t.yaml:7:3: unknown key 'defualts' in 'model'; did you mean 'defaults'?");
    expect_error(base_with(14, "train: {iterations: 5, log_evry: 3}\n"),
                 "/exp/t.yaml:14:24: unknown key 'log_evry' in 'train'; did you mean 'log_every'?");
    expect_error(base_with(14, "train: {iterations: 5, foo: 3}\n"),
                 "/exp/t.yaml:14:24: unknown key 'foo' in 'train' (known keys: iterations, "
                 "epochs, batch, log_every, checkpoint_every, timeout, parallel, row_threads)");
}

static void test_wrong_type(void **state) {
    expect_error(base_with(2, "seed: abc\n"),
                 "/exp/t.yaml:2:7: 'seed' must be an integer >= 0, got 'abc'");
    expect_error(base_with(14, "train: {iterations: 2.5}\n"),
                 "/exp/t.yaml:14:21: 'train.iterations' must be an integer >= 0, got '2.5'");
    expect_error(base_with(12, "loss: crossentropy\n"),
                 "/exp/t.yaml:12:7: 'loss' must be one of bce | cross_entropy | mse, got "
                 "'crossentropy'; did you mean 'cross_entropy'?");
    expect_error(base_with(9, "    - {units: 8, repeat: 3, init: {name: he_normal, "
                              "mode: fan_inn}}\n"),
                 "/exp/t.yaml:9:59: parameter 'mode' of initializer 'he_normal' must be one of "
                 "fan_in | fan_out, got 'fan_inn'; did you mean 'fan_in'?");
}

static void test_plugin_param_out_of_range(void **state) {
    expect_error(base_with(7, "  defaults: {init: {name: normal, std: -1}}\n"),
                 "/exp/t.yaml:7:40: parameter 'std' of initializer 'normal' must be a number "
                 ">= 0, got '-1'");
    expect_error(base_with(13, "optimizer: {name: sgd, lr: 0.1, dampening: 2}\n"),
                 "/exp/t.yaml:13:44: parameter 'dampening' of optimizer 'sgd' must be a number "
                 "in [0, 1], got '2'");
    expect_error(base_with(13, "optimizer: {name: sgd, lr: 0}\n"),
                 "/exp/t.yaml:13:28: 'optimizer.lr' must be a number > 0, got '0'");
    expect_error(base_with(7, "  defaults: {init: {name: normal, sdt: 1}}\n"),
                 "/exp/t.yaml:7:35: initializer 'normal' has no parameter 'sdt'; did you mean "
                 "'std'?");
}

static void test_missing_required_key(void **state) {
    expect_error(base_with(12, ""), "/exp/t.yaml:1:1: missing required key 'loss' (bce | "
                                    "cross_entropy | mse)");
    expect_error(base_with(10, "    - {init: he_normal}\n"),
                 "/exp/t.yaml:10:7: missing required key 'model.layers.1.units' (the layer's "
                 "width)");
}

static void test_unknown_plugin_suggests(void **state) {
    char want[FANIN_ERRLEN];
    snprintf(want, sizeof want,
             "/exp/t.yaml:10:24: unknown initializer 'he_norml'; did you mean 'he_normal'? "
             "(plugins searched in: %s)",
             fanin__registry_search_path(reg));
    expect_error(base_with(10, "    - {units: 4, init: he_norml}\n"), want);
    assert_non_null(strstr(fanin__registry_search_path(reg), "plugins"));
}

static void test_quoted_number_rejected(void **state) {
    expect_error(base_with(7, "  defaults: {init: {name: normal, std: '0.1'}}\n"),
                 "/exp/t.yaml:7:40: parameter 'std' of initializer 'normal' must be a number "
                 ">= 0, got the quoted string '0.1'; write the number without quotes");
    expect_error(base_with(2, "seed: \"3\"\n"),
                 "/exp/t.yaml:2:7: 'seed' must be an integer >= 0, got the quoted string '3'; "
                 "write the number without quotes");
}

static void test_bce_needs_one_unit(void **state) {
    expect_error(base_with(11, "    - {units: 10}\n"),
                 "/exp/t.yaml:12:1: loss 'bce' needs a last layer of 1 unit (a probability), "
                 "but 'model.layers.2' has 10 units; use cross_entropy for 10 classes");
    expect_error(base_with(12, "loss: cross_entropy\n"),
                 "/exp/t.yaml:12:1: loss 'cross_entropy' needs a last layer of one unit per "
                 "class (at least 2), but 'model.layers.2' has 1; use bce for 2 classes");
}

static void test_empty_layers(void **state) {
    expect_error("data: {source: synthetic, kind: xor}\nmodel:\n  layers: []\nloss: bce\n",
                 "/exp/t.yaml:3:11: 'model.layers' must list at least one layer, e.g. "
                 "[{units: 20}, {units: 1}], got an empty list");
}

static void test_iterations_and_epochs(void **state) {
    expect_error(base_with(14, "train: {iterations: 5, epochs: 2}\n"),
                 "/exp/t.yaml:14:24: give either 'train.iterations' or 'train.epochs', not both");
    fanin_experiment *x = resolve(base_with(14, "train: {epochs: 2, batch: full}\n"));
    assert_int_equal(x->epochs, 2);
    assert_int_equal(x->iterations, 0);
    assert_int_equal(x->batch, 0);
    fanin__experiment_free(x);
}

static void test_yaml_syntax_error(void **state) {
    fanin_config *c = NULL;
    char err[FANIN_ERRLEN];
    const char *text = "seed: 3\ndata:\n\tsource: x\n";
    assert_int_equal(fanin__config_parse(&c, "/exp/t.yaml", text, strlen(text), err, sizeof err),
                     FANIN_ECONFIG);
    assert_string_equal(err, "/exp/t.yaml:3:1: YAML syntax error: found character that cannot "
                             "start any token; indent with spaces, not tabs");
    text = "seed: 3\ndata:\n  source: a: b\n";
    int rc = fanin__config_parse(&c, "/exp/t.yaml", text, strlen(text), err, sizeof err);
    assert_int_equal(rc, FANIN_ECONFIG);
    assert_null(c);
    assert_string_equal(err, "/exp/t.yaml:3:12: YAML syntax error: mapping values are not "
                             "allowed in this context; this usually means the indentation is "
                             "inconsistent (or an unquoted value holds ': ': quote it): check "
                             "that keys and '- ' items at the same level start in the same "
                             "column; tabs are not allowed");
    text = "seed: 3\nseed: 4\n";
    rc = fanin__config_parse(&c, "/exp/t.yaml", text, strlen(text), err, sizeof err);
    assert_int_equal(rc, FANIN_ECONFIG);
    assert_string_equal(err, "/exp/t.yaml:2:1: duplicate key 'seed' (first given at line 1)");
    text = "a: &x [*x]\n";
    rc = fanin__config_parse(&c, "/exp/t.yaml", text, strlen(text), err, sizeof err);
    assert_int_equal(rc, FANIN_ECONFIG);
    assert_string_equal(err, "/exp/t.yaml:1:8: alias '*x' refers to a node that contains it");
}

/* Issue 16: libyaml's words for a misindented line get a hint saying so, and where the
 * enclosing mapping or list starts; other syntax errors keep theirs alone. */
static void test_yaml_indentation_hint(void **state) {
    static const char *const cases[][2] = {
        {"data:\n  source: csv\n path: x\n",
         "/exp/t.yaml:3:2: YAML syntax error: did not find "
         "expected key (in the mapping that starts at line 1, column 1); this usually means the "
         "indentation is inconsistent: check that keys and '- ' items at the same level start "
         "in the same column; tabs are not allowed"},
        {"model:\n  layers:\n    - {units: 4}\n   - {units: 1}\n",
         "/exp/t.yaml:4:4: YAML "
         "syntax error: did not find expected key (in the mapping that starts at line 2, "
         "column 3); this usually means"},
        {"- a\nb: 1\n",
         "/exp/t.yaml:2:1: YAML syntax error: did not find expected '-' "
         "indicator (in the list that starts at line 1, column 1); this usually means the "
         "indentation is inconsistent"},
        {"a: - 1\n",
         "/exp/t.yaml:1:4: YAML syntax error: block sequence entries are not allowed "
         "in this context; this usually means the indentation is inconsistent (or a '- ' item "
         "is on its key's line)"},
        {"data:\n  source: csv\n   path: x\n",
         "/exp/t.yaml:3:8: YAML syntax error: mapping "
         "values are not allowed in this context; this usually means the indentation"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fanin_config *c = NULL;
        char err[FANIN_ERRLEN];
        int rc = fanin__config_parse(&c, "/exp/t.yaml", cases[i][0], strlen(cases[i][0]), err,
                                     sizeof err);
        assert_int_equal(rc, FANIN_ECONFIG);
        if (strncmp(err, cases[i][1], strlen(cases[i][1])))
            fail_msg("case %zu:\n got %s\nwant %s", i, err, cases[i][1]);
    }
    char err[FANIN_ERRLEN];
    fanin_config *c = NULL;
    const char *flow = "name: [t\nx\n"; /* not about indentation: no hint */
    assert_int_equal(fanin__config_parse(&c, "/exp/t.yaml", flow, strlen(flow), err, sizeof err),
                     FANIN_ECONFIG);
    assert_null(strstr(err, "indentation"));
}

static void test_data_keys_by_source(void **state) {
    expect_error(base_with(4, "  source: csv\n  path: x.csv\n  target: y\n"),
                 "/exp/t.yaml:7:3: 'data.kind' is not a key of data source 'csv' (its keys: "
                 "source, path, target, classes, train, test, normalize)");
    expect_error(base_with(4, "  source: hdf5\n  path: cat.h5\n"),
                 "/exp/t.yaml:6:3: 'data.kind' is not a key of data source 'hdf5' (its keys: "
                 "source, path, test_path, x, y, test_x, test_y, classes, train, test, "
                 "normalize, layout)");
    expect_error(base_with(5, "  kind: spirl\n"),
                 "/exp/t.yaml:5:9: 'data.kind' must be one of spiral | moons | circles | xor | "
                 "blobs | linear_teacher, got 'spirl'; did you mean 'spiral'?");
}

static void round_trip(const char *text); /* below, with the writer's tests */

/* The course's two files: dataset names default to its layout, paths become absolute,
 * normalize defaults to auto (scale255 for uint8 x), which other sources refuse. */
/* train.timeout and train.parallel: the defaults of `fanin run --timeout S` / --data-parallel */
static void test_train_timeout_parallel(void **state) {
    fanin_experiment *x = resolve(BASE);
    assert_true(x->timeout == 0);
    assert_int_equal(x->parallel, FANIN_PARALLEL_NONE);
    fanin__experiment_free(x);
    x = resolve(base_with(14, "train: {iterations: 5, timeout: 2.5, parallel: mpi}\n"));
    assert_true(x->timeout == 2.5);
    assert_int_equal(x->parallel, FANIN_PARALLEL_MPI);
    fanin__experiment_free(x);
    expect_error(base_with(14, "train: {iterations: 5, timeout: -1}\n"),
                 "/exp/t.yaml:14:33: 'train.timeout' must be a number >= 0, got '-1'");
    expect_error(base_with(14, "train: {iterations: 5, parallel: mpii}\n"),
                 "/exp/t.yaml:14:34: 'train.parallel' must be one of none | mpi, got 'mpii'; "
                 "did you mean 'mpi'?");
    round_trip(base_with(14, "train: {iterations: 5, timeout: 0.25, parallel: mpi}\n"));
}

static void test_data_hdf5_keys(void **state) {
    static const char *const tail = "model: {layers: [{units: 1, activation: sigmoid}]}\n"
                                    "loss: bce\n";
    char text[600];
    snprintf(text, sizeof text,
             "data: {source: hdf5, path: datasets/train_catvnoncat.h5, "
             "test_path: /abs/test_catvnoncat.h5}\n%s",
             tail);
    fanin_experiment *x = resolve(text);
    assert_string_equal(x->data.source, "hdf5");
    assert_string_equal(x->data.path, "/exp/datasets/train_catvnoncat.h5");
    assert_string_equal(x->data.test_path, "/abs/test_catvnoncat.h5");
    assert_string_equal(x->data.x, "train_set_x");
    assert_string_equal(x->data.y, "train_set_y");
    assert_string_equal(x->data.test_x, "test_set_x");
    assert_string_equal(x->data.test_y, "test_set_y");
    assert_int_equal(x->data.normalize, FANIN_NORM_AUTO);
    fanin__experiment_free(x);
    snprintf(text, sizeof text,
             "data: {source: hdf5, path: ./d.h5, x: /grp/images, y: labels, "
             "test_x: tx, test_y: ty, normalize: none, classes: [3, 5]}\n%s",
             tail);
    x = resolve(text);
    assert_string_equal(x->data.path, "/exp/d.h5");
    assert_string_equal(x->data.test_path, "");
    assert_string_equal(x->data.x, "/grp/images");
    assert_string_equal(x->data.test_y, "ty");
    assert_int_equal(x->data.normalize, FANIN_NORM_NONE);
    fanin__experiment_free(x);
    round_trip(text);
    snprintf(text, sizeof text,
             "data: {source: hdf5, path: a.h5, test_path: b.h5, train: 100}"
             "\n%s",
             tail);
    round_trip(text);
    snprintf(text, sizeof text, "data: {source: hdf5, x: a}\n%s", tail);
    expect_error(text, "/exp/t.yaml:1:7: missing required key 'data.path' (the .h5 file holding "
                       "the training datasets)");
    snprintf(text, sizeof text, "data: {source: hdf5, path: a.h5, y: ''}\n%s", tail);
    expect_error(text, "/exp/t.yaml:1:37: 'data.y' is empty; give a dataset name (default "
                       "train_set_y)");
    snprintf(text, sizeof text,
             "data: {source: csv, path: a.csv, target: y, normalize: auto}"
             "\n%s",
             tail);
    expect_error(text, "/exp/t.yaml:1:56: 'data.normalize: auto' is for source hdf5 (scale255 "
                       "when x is uint8); use none, scale255 or standardize");
}

static void test_data_values(void **state) {
    expect_error("data: {source: fashion-mnist, classes: [0, 12, 0]}\nmodel: {layers: "
                 "[{units: 1}]}\nloss: bce\n",
                 "/exp/t.yaml:1:44: 'data.classes.1' must be an integer in [0, 9], got '12' "
                 "(fashion-mnist has labels 0..9)");
    expect_error("data: {source: idx, images: a, labels: b, classes: [1, 1]}\nmodel: {layers: "
                 "[{units: 1}]}\nloss: bce\n",
                 "/exp/t.yaml:1:56: 'data.classes' lists class 1 twice");
    expect_error("data: {source: synthetic, kind: moons, classes: 3}\nmodel: {layers: "
                 "[{units: 3}]}\nloss: cross_entropy\n",
                 "/exp/t.yaml:1:49: synthetic 'moons' has 2 classes, not 3; 'classes' is for "
                 "spiral and blobs");
    expect_error("data: {source: csv, path: a.csv}\nmodel: {layers: [{units: 1}]}\nloss: mse\n",
                 "/exp/t.yaml:1:7: missing required key 'data.target' (the name of the column "
                 "to predict)");
    fanin_experiment *x = resolve("data: {source: synthetic, kind: spiral, train: all, test: 9}\n"
                                  "model: {layers: [{units: 3}]}\nloss: cross_entropy\n");
    assert_int_equal(x->data.n_synth_classes, 3);
    assert_int_equal(x->data.train, -1);
    assert_int_equal(x->data.test, 9);
    fanin__experiment_free(x);
}

static void test_load_file(void **state) {
    char dir[] = "/tmp/fanin_test_config_XXXXXX", path[128], err[FANIN_ERRLEN];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/exp1.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("data: {source: csv, path: sub/d.csv, target: y}\nmodel: {layers: [{units: 1}]}\n"
          "loss: mse\n",
          f);
    fclose(f);
    fanin_config *c;
    assert_int_equal(fanin__config_load(&c, path, err, sizeof err), FANIN_OK);
    fanin_experiment *x;
    assert_int_equal(fanin__config_resolve(c, 0, reg, &x, err, sizeof err), FANIN_OK);
    char want[160];
    snprintf(want, sizeof want, "%s/sub/d.csv", dir);
    assert_string_equal(x->data.path, want);
    assert_string_equal(x->name, "exp1");
    fanin__experiment_free(x);
    fanin__config_free(c);
    remove(path);
    rmdir(dir);
    assert_int_equal(fanin__config_load(&c, path, err, sizeof err),
                     FANIN_EINVAL); /* a missing file is a usage error: exit 2 */
    assert_null(c);
    assert_non_null(strstr(err, "exp1.yaml: cannot open: "));
}

/* ---- sweeps ---- */

static void test_sweep_order_and_texts(void **state) {
    char text[4096];
    snprintf(text, sizeof text, "%s%s", BASE,
             "sweep:\n"
             "  model.defaults.init:\n"
             "    - {name: normal, std: 0.01}\n"
             "    - he_normal\n"
             "  optimizer.lr: [0.1, 0.01, 0.001]\n");
    fanin_config *c = parse(text);
    assert_int_equal(fanin__config_members(c), 6);
    const char *inits[] = {"normal(std=0.01)", "he_normal"};
    const double lrs[] = {0.1, 0.01, 0.001};
    const char *lr_texts[] = {"0.1", "0.01", "0.001"};
    for (int m = 0; m < 6; m++) {
        fanin_experiment *x;
        char err[FANIN_ERRLEN];
        assert_int_equal(fanin__config_resolve(c, m, reg, &x, err, sizeof err), FANIN_OK);
        assert_int_equal(x->member, m);
        assert_int_equal(x->n_swept, 2);
        assert_string_equal(x->swept[0].key, "model.defaults.init");
        assert_string_equal(x->swept[0].value, inits[m / 3]); /* last key varies fastest */
        assert_string_equal(x->swept[1].key, "optimizer.lr");
        assert_string_equal(x->swept[1].value, lr_texts[m % 3]);
        assert_true(x->lr == lrs[m % 3]);
        assert_string_equal(x->layers[0].init.text, inits[m / 3]);
        assert_string_equal(x->layers[3].init.text, "he_normal"); /* its own init stays */
        fanin__experiment_free(x);
    }
    fanin_experiment *x;
    char err[FANIN_ERRLEN];
    assert_int_equal(fanin__config_resolve(c, 6, reg, &x, err, sizeof err), FANIN_EINVAL);
    fanin__config_free(c);
}

static void test_sweep_plugin_ref_texts(void **state) {
    char text[4096];
    snprintf(text, sizeof text, "%s%s", BASE,
             "sweep:\n  optimizer: [sgd, {name: sgd, lr: 0.5, nesterov: true, momentum: 0.9}]\n");
    fanin_config *c = parse(text);
    fanin_experiment *x;
    char err[FANIN_ERRLEN];
    assert_int_equal(fanin__config_resolve(c, 1, reg, &x, err, sizeof err), FANIN_OK);
    assert_string_equal(x->swept[0].value, "sgd(lr=0.5, momentum=0.9, nesterov=true)");
    assert_true(x->lr == 0.5);
    fanin__experiment_free(x);
    assert_int_equal(fanin__config_resolve(c, 0, reg, &x, err, sizeof err), FANIN_OK);
    assert_string_equal(x->swept[0].value, "sgd");
    assert_true(x->lr == 0.01); /* the member replaced the whole optimizer mapping */
    fanin__experiment_free(x);
    fanin__config_free(c);
}

static void test_sweep_key_must_exist(void **state) {
    char text[4096];
    snprintf(text, sizeof text, "%s%s", BASE, "sweep:\n  model.defualts.init: [he_normal]\n");
    expect_error(text, "/exp/t.yaml:16:3: sweep key 'model.defualts.init' does not exist; did "
                       "you mean 'model.defaults.init'?");
    snprintf(text, sizeof text, "%s%s", BASE, "sweep:\n  model.layers.7.units: [3]\n");
    expect_error(text, "/exp/t.yaml:16:3: sweep key 'model.layers.7.units': the list has 3 "
                       "items");
    snprintf(text, sizeof text, "%s%s", BASE, "sweep:\n  seed: []\n");
    expect_error(text, "/exp/t.yaml:16:9: sweep key 'seed' needs a non-empty list of values, "
                       "e.g. [a, b]");
}

/* ---- --set ---- */

static fanin_experiment *resolve_set(const char *const *sets, size_t n, char *err, int *rc) {
    fanin_config *c = parse(BASE);
    fanin_experiment *x = NULL;
    *rc = FANIN_OK;
    for (size_t i = 0; i < n && *rc == FANIN_OK; i++)
        *rc = fanin__config_set(c, sets[i], err, FANIN_ERRLEN);
    if (*rc == FANIN_OK) *rc = fanin__config_resolve(c, 0, reg, &x, err, FANIN_ERRLEN);
    fanin__config_free(c);
    return x;
}

static void test_set_scalar_and_mapping(void **state) {
    const char *sets[] = {"seed=11", "model.defaults.init={name: normal, std: 0.1}",
                          "model.layers.1.units=30", "diagnostics.layer_stats_every=5",
                          "data.noise=0.3"};
    char err[FANIN_ERRLEN];
    int rc;
    fanin_experiment *x = resolve_set(sets, 5, err, &rc);
    if (rc != FANIN_OK) fail_msg("%s", err);
    assert_int_equal(x->seed, 11);
    assert_string_equal(x->layers[0].init.text, "normal(std=0.1)");
    assert_string_equal(x->layers[0].init.loc.file, "--set");
    assert_int_equal(x->layers[0].init.loc.col, 21);
    assert_int_equal(x->layers[3].units, 30); /* item 1 is the 4th layer after repeat */
    assert_int_equal(x->layer_stats_every, 5);
    assert_true(x->data.noise == 0.3);
    fanin__experiment_free(x);
}

static void test_set_inside_named_plugin(void **state) {
    char text[8192], err[FANIN_ERRLEN];
    snprintf(text, sizeof text, "%s%s", base_with(13, "optimizer: sgd\n"),
             "sweep:\n  optimizer.momentum: [0, 0.5]\n");
    fanin_config *c = parse(text);
    assert_int_equal(fanin__config_set(c, "optimizer.lr=0.25", err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__config_set(c, "model.layers.1.init.mode=fan_out", err, sizeof err),
                     FANIN_OK);
    fanin_experiment *x;
    assert_int_equal(fanin__config_resolve(c, 1, reg, &x, err, sizeof err), FANIN_OK);
    assert_true(x->lr == 0.25);
    assert_string_equal(x->optimizer.text, "sgd(momentum=0.5)");
    assert_string_equal(x->swept[0].value, "0.5");
    assert_string_equal(x->layers[3].init.text, "he_normal(mode=fan_out)");
    fanin__experiment_free(x);
    fanin__config_free(c);
}

static void test_set_errors(void **state) {
    char err[FANIN_ERRLEN];
    int rc;
    const char *s1[] = {"model.layers.9.units=3"};
    assert_null(resolve_set(s1, 1, err, &rc));
    assert_int_equal(rc, FANIN_ECONFIG);
    assert_string_equal(err, "--set model.layers.9.units: the list has 3 items");
    const char *s2[] = {"loss.x=1"};
    assert_null(resolve_set(s2, 1, err, &rc));
    assert_string_equal(err, "--set loss.x: 'loss' is a value ('bce'), not a mapping; it has "
                             "no key 'x'");
    const char *s3[] = {"model.defualts.init=he_normal"};
    assert_null(resolve_set(s3, 1, err, &rc));
    assert_string_equal(err, "--set:1:7: unknown key 'defualts' in 'model'; did you mean "
                             "'defaults'?");
    const char *s4[] = {"seed"};
    assert_null(resolve_set(s4, 1, err, &rc));
    assert_string_equal(err, "--set 'seed': expected KEY=VALUE, e.g. --set optimizer.lr=0.01");
    const char *s5[] = {"seed=[1"};
    assert_null(resolve_set(s5, 1, err, &rc));
    assert_string_equal(err, "--set:1:8: YAML syntax error: did not find expected ',' or ']'");
    const char *s6[] = {"optimizer.lr='0.5'"};
    assert_null(resolve_set(s6, 1, err, &rc));
    assert_string_equal(err, "--set:1:14: 'optimizer.lr' must be a number > 0, got the quoted "
                             "string '0.5'; write the number without quotes");
}

static void test_set_then_sweep(void **state) {
    char text[4096], err[FANIN_ERRLEN];
    snprintf(text, sizeof text, "%s%s", BASE, "sweep:\n  seed: [1, 2]\n");
    fanin_config *c = parse(text);
    assert_int_equal(fanin__config_set(c, "seed=99", err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__config_set(c, "sweep.model.defaults.init=[he_normal, zeros, uniform]",
                                       err, sizeof err),
                     FANIN_OK);
    assert_int_equal(fanin__config_members(c), 6);
    fanin_experiment *x;
    assert_int_equal(fanin__config_resolve(c, 5, reg, &x, err, sizeof err), FANIN_OK);
    assert_int_equal(x->seed, 2); /* the sweep value wins over --set */
    assert_string_equal(x->layers[0].init.text, "uniform");
    fanin__experiment_free(x);
    fanin__config_free(c);
}

/* ---- data_seed (issue 16) ---- */

/* data_seed defaults to seed (the old meaning), takes seed's type and range, and sweeps and
 * --sets like any key. */
static void test_data_seed_key(void **state) {
    fanin_experiment *x = resolve(BASE);
    assert_true(x->seed == 3 && x->data_seed == 3);
    fanin__experiment_free(x);
    x = resolve(base_with(2, "seed: 3\ndata_seed: 18446744073709551615\n"));
    assert_true(x->seed == 3 && x->data_seed == UINT64_MAX);
    fanin__experiment_free(x);
    x = resolve(base_with(2, "seed: 5\ndata_seed: ~\n"));
    assert_true(x->seed == 5 && x->data_seed == 5);
    fanin__experiment_free(x);
    expect_error(base_with(2, "seed: 3\ndata_seed: -1\n"),
                 "/exp/t.yaml:3:12: 'data_seed' must be an integer >= 0, got '-1'");
    char text[4096], err[FANIN_ERRLEN];
    snprintf(text, sizeof text, "%s%s", BASE, "sweep: {data_seed: [1, 2]}\n");
    fanin_config *c = parse(text);
    assert_int_equal(fanin__config_members(c), 2);
    assert_int_equal(fanin__config_set(c, "seed=9", err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__config_resolve(c, 1, reg, &x, err, sizeof err), FANIN_OK);
    assert_true(x->seed == 9 && x->data_seed == 2);
    assert_string_equal(x->swept[0].key, "data_seed");
    fanin__experiment_free(x);
    fanin__config_free(c);
    const char *sets[] = {"data_seed=7"};
    int rc;
    x = resolve_set(sets, 1, err, &rc);
    assert_int_equal(rc, FANIN_OK);
    assert_true(x->seed == 3 && x->data_seed == 7);
    fanin__experiment_free(x);
}

/* Write text to dir/NAME.yaml and `fanin run` it into dir/OUT with extra arguments. */
static void run_cli(const char *dir, const char *name, const char *text, const char *out,
                    const char *extra) {
    char path[256], cmd[1024];
    snprintf(path, sizeof path, "%s/%s.yaml", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd %s && %s run %s.yaml --quiet --out %s %s > %s/%s.log 2>&1", dir,
             FANIN_TEST_BIN, name, out, extra, dir, out);
    if (system(cmd) != 0) fail_msg("%s failed; see %s/%s.log", cmd, dir, out);
}

/* Do the model.safetensors dir/A and dir/B hold the same tensors? (Their headers differ: they
 * carry the resolved config.) */
static bool same_tensors(const char *dir, const char *a, const char *b) {
    static unsigned char buf[2][1 << 16];
    size_t n[2], off[2];
    const char *names[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        if (!f) fail_msg("%s: missing", path);
        n[i] = fread(buf[i], 1, sizeof buf[i], f);
        fclose(f);
        off[i] = 8;
        for (int k = 0; k < 8 && n[i] >= 8; k++) off[i] += (size_t)buf[i][k] << (8 * k);
        if (n[i] < 8 || off[i] > n[i]) fail_msg("%s: not a small safetensors file", path);
    }
    size_t len = n[0] - off[0];
    return len == n[1] - off[1] && !memcmp(buf[0] + off[0], buf[1] + off[1], len);
}

/* A small experiment: `head` after the seed line, then data and the train mapping. */
static const char *run_yaml(const char *head, const char *data, const char *train) {
    static char buf[2048];
    snprintf(buf, sizeof buf,
             "name: t\nseed: 1\n%sdata: %s\nmodel:\n  layers: [{units: 4, "
             "activation: tanh, init: xavier_normal}, {units: 1, activation: sigmoid}]\n"
             "loss: bce\noptimizer: {name: sgd, lr: 0.1}\ntrain: %s\n",
             head, data, train);
    return buf;
}

#define MODEL(dir) dir "/00/model.safetensors"

/* The runs: synthetic data comes from data_seed (a sweep over it gives other data, and the
 * runner's data cache knows it), the minibatch order too, the initial weights only from seed;
 * data_seed equal to seed is what a file without it does. */
static void test_data_seed_in_runs(void **state) {
    char dir[64] = "/tmp/fanin-test-dataseed-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *moons = "{source: synthetic, kind: moons, n: 100}";
    const char *full = "{iterations: 5, batch: full}";
    run_cli(dir, "a", run_yaml("", moons, full), "a", "");
    run_cli(dir, "b", run_yaml("data_seed: 1\n", moons, full), "b", "");
    assert_true(same_tensors(dir, MODEL("a"), MODEL("b")));
    run_cli(dir, "s", run_yaml("sweep: {data_seed: [1, 2]}\n", moons, full), "s", "");
    assert_true(same_tensors(dir, MODEL("a"), "s/00-1/model.safetensors"));
    assert_false(same_tensors(dir, "s/00-1/model.safetensors", "s/01-2/model.safetensors"));
    char path[128];
    snprintf(path, sizeof path, "%s/d.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("u,v,y\n", f);
    for (int i = 0; i < 40; i++) fprintf(f, "%d,%d,%d\n", i % 7, (i * 5) % 11, i % 2);
    fclose(f);
    const char *csv = "{source: csv, path: d.csv, target: y, train: 32, test: 8}";
    const char *mini = "{iterations: 8, batch: 8}";
    run_cli(dir, "c", run_yaml("", csv, mini), "c", "");
    run_cli(dir, "c", run_yaml("", csv, mini), "d", "--set data_seed=2");
    assert_false(same_tensors(dir, MODEL("c"), MODEL("d"))); /* another minibatch order */
    run_cli(dir, "c", run_yaml("", csv, "{iterations: 0}"), "e", "--set data_seed=2");
    run_cli(dir, "c", run_yaml("", csv, "{iterations: 0}"), "g", "");
    assert_true(same_tensors(dir, MODEL("e"), MODEL("g"))); /* the same initial weights */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- validate ---- */

static void test_validate_collects(void **state) {
    char text[8192], err[4 * FANIN_ERRLEN];
    snprintf(text, sizeof text, "%s%s", base_with(2, "sed: 3\n"),
             "sweep:\n  model.defaults.init: [he_normal, {name: normal, std: -2}, lecun_normal]\n");
    fanin_config *c = parse(text);
    assert_int_equal(fanin__config_validate(c, reg, err, sizeof err), FANIN_ECONFIG);
    assert_string_equal(err, "/exp/t.yaml:2:1: unknown key 'sed'; did you mean 'seed'?\n"
                             "/exp/t.yaml:16:56: parameter 'std' of initializer 'normal' must be a "
                             "number >= 0, got '-2'");
    fanin__config_free(c);
    c = parse(BASE);
    assert_int_equal(fanin__config_validate(c, reg, err, sizeof err), FANIN_OK);
    fanin__config_free(c);
    c = parse("");
    assert_int_equal(fanin__config_validate(c, reg, err, sizeof err), FANIN_ECONFIG);
    assert_string_equal(err, "/exp/t.yaml:1:1: missing required key 'data' (a mapping with at "
                             "least 'source')\n"
                             "/exp/t.yaml:1:1: missing required key 'model' (a mapping with "
                             "'layers': [{units: N}, ...])\n"
                             "/exp/t.yaml:1:1: missing required key 'loss' (bce | cross_entropy "
                             "| mse)");
    fanin__config_free(c);
    char many[4096] = "";
    for (int i = 0; i < 25; i++) sprintf(many + strlen(many), "k%02d: 1\n", i);
    c = parse(many);
    assert_int_equal(fanin__config_validate(c, reg, err, sizeof err), FANIN_ECONFIG);
    assert_non_null(strstr(err, "\n(8 more errors not shown)"));
    fanin__config_free(c);
}

/* ---- writing ---- */

static void assert_prefs_equal(const fanin__pref *a, const fanin__pref *b) {
    assert_ptr_equal(a->entry, b->entry);
    for (size_t i = 0; i < a->entry->n_params; i++) {
        char va[64], vb[64];
        fanin__value_format(&a->entry->plugin->params[i], &a->params[i], false, va, sizeof va);
        fanin__value_format(&b->entry->plugin->params[i], &b->params[i], false, vb, sizeof vb);
        assert_string_equal(va, vb);
    }
}

static void assert_experiments_equal(const fanin_experiment *a, const fanin_experiment *b) {
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->seed, b->seed);
    assert_int_equal(a->data_seed, b->data_seed);
    assert_int_equal(a->rng, b->rng);
    assert_int_equal(a->threads, b->threads);
    assert_memory_equal(&a->data, &b->data, sizeof a->data);
    assert_int_equal(a->n_layers, b->n_layers);
    for (int l = 0; l < a->n_layers; l++) {
        assert_int_equal(a->layers[l].units, b->layers[l].units);
        assert_prefs_equal(&a->layers[l].activation, &b->layers[l].activation);
        assert_prefs_equal(&a->layers[l].init, &b->layers[l].init);
        assert_prefs_equal(&a->layers[l].bias_init, &b->layers[l].bias_init);
    }
    assert_int_equal(a->loss, b->loss);
    assert_prefs_equal(&a->optimizer, &b->optimizer);
    assert_true(a->lr == b->lr);
    assert_int_equal(a->iterations, b->iterations);
    assert_int_equal(a->epochs, b->epochs);
    assert_int_equal(a->batch, b->batch);
    assert_int_equal(a->log_every, b->log_every);
    assert_int_equal(a->layer_stats_every, b->layer_stats_every);
    assert_true(a->timeout == b->timeout);
    assert_int_equal(a->parallel, b->parallel);
}

static void round_trip(const char *text) {
    fanin_experiment *a = resolve(text), *b;
    char *out = NULL, err[FANIN_ERRLEN];
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_int_equal(fanin__experiment_write_yaml(a, f), FANIN_OK);
    fclose(f);
    fanin_config *c = parse(out);
    if (fanin__config_resolve(c, 0, reg, &b, err, sizeof err) != FANIN_OK)
        fail_msg("%s\nin:\n%s", err, out);
    assert_experiments_equal(a, b);
    fanin__experiment_free(a);
    fanin__experiment_free(b);
    fanin__config_free(c);
    free(out);
}

static void test_write_round_trip(void **state) {
    round_trip(BASE);
    round_trip(base_with(7, "  defaults: {init: {name: he_normal, gain: 1.5, mode: fan_out, "
                            "truncated: true}}\n"));
    round_trip("name: \"odd: name\"\nseed: 18446744073709551615\ndata_seed: 4\nrng: numpy\n"
               "threads: 2\n"
               "data: {source: idx, images: 'my dir/a.idx', labels: b.idx, test_images: c, "
               "test_labels: d, classes: [3, 1, 2], train: 10, normalize: standardize}\n"
               "model: {layers: [{units: 3, init: {name: uniform, a: -0.1, b: 0.3}}]}\n"
               "loss: cross_entropy\noptimizer: {name: sgd, lr: 1e-7, weight_decay: 0.0001}\n"
               "train: {epochs: 3, batch: 7}\ndiagnostics: {layer_stats_every: 9}\n");
    round_trip("data: {source: synthetic, kind: spiral, n: 300, noise: 0.2, test: 50}\n"
               "model: {layers: [{units: 16}, {units: 3, activation: linear}]}\n"
               "loss: cross_entropy\n");
}

static void test_write_text(void **state) {
    fanin_experiment *x = resolve(BASE);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    fanin__experiment_write_yaml(x, f);
    fclose(f);
    assert_non_null(strstr(out, "\nname: t\nseed: 3\ndata_seed: 3\nrng: philox\nthreads: 0\n"));
    assert_non_null(strstr(out, "    - units: 1\n      activation: {name: sigmoid}\n      init: "
                                "{name: normal, mean: 0, std: 0.01}\n      bias_init: {name: "
                                "constant, value: 0.5}\n"));
    assert_non_null(strstr(out, "optimizer: {name: sgd, lr: 0.1, momentum: 0.9, dampening: 0, "
                                "nesterov: false, weight_decay: 0}\n"));
    assert_non_null(strstr(out, "train: {iterations: 50, batch: 32, log_every: 10}\n"));
    assert_null(strstr(out, "sweep"));
    fanin__experiment_free(x);
    free(out);
}

/* ---- --param ---- */

static const char *const colors[] = {"red", "green", NULL};
static const fanin_param_spec fake_schema[] = {
    {"k", FANIN_PARAM_I64, 0, 3, 1, 10, NULL, NULL, "an integer"},
    {"color", FANIN_PARAM_ENUM, 0, 1, 0, 1, colors, NULL, "a choice"},
    {"label", FANIN_PARAM_STRING, 0, 0, 0, 0, NULL, "none", "a string"},
    {"flag", FANIN_PARAM_BOOL, 0, 0, 0, 1, NULL, NULL, "a switch"},
    {"scale", FANIN_PARAM_F64, FANIN_PARAM_REQUIRED | FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX, 0,
     0, 0, NULL, NULL, "a positive number"},
    {0},
};
static const fanin_plugin fake = {FANIN_HEADER(fanin_plugin),
                                  FANIN_KIND_INITIALIZER,
                                  0,
                                  "fake",
                                  "1.0.0",
                                  "test",
                                  fake_schema,
                                  NULL,
                                  NULL};
static const fanin__entry fake_entry = {&fake, "fake.so", 5};

static void test_pref_from_args(void **state) {
    fanin__pref p;
    char err[FANIN_ERRLEN];
    const char *ok[] = {"scale=2", "label='0.5'", "flag=true", "color=red"};
    assert_int_equal(fanin__pref_from_args(&p, &fake_entry, ok, 4, err, sizeof err), FANIN_OK);
    assert_int_equal(p.params[0].i, 3);
    assert_int_equal(p.params[1].e, 0);
    assert_string_equal(p.params[2].s, "0.5");
    assert_int_equal(p.params[3].b, 1);
    assert_true(p.params[4].f == 2.0);
    assert_string_equal(p.text, "fake(color=red, label=\"0.5\", flag=true, scale=2)");
    fanin__pref copy;
    assert_int_equal(fanin__pref_copy(&copy, &p), FANIN_OK);
    fanin__pref_deinit(&p);
    assert_string_equal(copy.params[2].s, "0.5"); /* the copy owns its strings */
    fanin__pref_deinit(&copy);

    const char *missing[] = {"k=4"};
    assert_int_not_equal(fanin__pref_from_args(&p, &fake_entry, missing, 1, err, sizeof err),
                         FANIN_OK);
    assert_string_equal(err, "--param: initializer 'fake' needs parameter 'scale' (a positive "
                             "number)");
    const char *bad_int[] = {"scale=1", "k=2.5"};
    fanin__pref_from_args(&p, &fake_entry, bad_int, 2, err, sizeof err);
    assert_string_equal(err, "--param:2:3: parameter 'k' of initializer 'fake' must be an "
                             "integer in [1, 10], got '2.5'");
    const char *bad_key[] = {"scal=1"};
    fanin__pref_from_args(&p, &fake_entry, bad_key, 1, err, sizeof err);
    assert_string_equal(err, "--param:1:1: initializer 'fake' has no parameter 'scal'; did you "
                             "mean 'scale'?");
    const char *bad_bool[] = {"scale=1", "flag=yes"};
    fanin__pref_from_args(&p, &fake_entry, bad_bool, 2, err, sizeof err);
    assert_string_equal(err, "--param:2:6: parameter 'flag' of initializer 'fake' must be true "
                             "or false, got 'yes'");
    const char *no_eq[] = {"scale"};
    fanin__pref_from_args(&p, &fake_entry, no_eq, 1, err, sizeof err);
    assert_string_equal(err, "--param:1:1: expected KEY=VALUE, got 'scale'");
    assert_null(p.params);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_full_file),
        cmocka_unit_test(test_resolve_defaults),
        cmocka_unit_test(test_relative_paths_absolute),
        cmocka_unit_test(test_unknown_key_suggests),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_plugin_param_out_of_range),
        cmocka_unit_test(test_missing_required_key),
        cmocka_unit_test(test_unknown_plugin_suggests),
        cmocka_unit_test(test_quoted_number_rejected),
        cmocka_unit_test(test_bce_needs_one_unit),
        cmocka_unit_test(test_empty_layers),
        cmocka_unit_test(test_iterations_and_epochs),
        cmocka_unit_test(test_train_timeout_parallel),
        cmocka_unit_test(test_yaml_syntax_error),
        cmocka_unit_test(test_yaml_indentation_hint),
        cmocka_unit_test(test_data_keys_by_source),
        cmocka_unit_test(test_data_hdf5_keys),
        cmocka_unit_test(test_data_values),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_sweep_order_and_texts),
        cmocka_unit_test(test_sweep_plugin_ref_texts),
        cmocka_unit_test(test_sweep_key_must_exist),
        cmocka_unit_test(test_set_scalar_and_mapping),
        cmocka_unit_test(test_set_inside_named_plugin),
        cmocka_unit_test(test_set_errors),
        cmocka_unit_test(test_set_then_sweep),
        cmocka_unit_test(test_data_seed_key),
        cmocka_unit_test(test_data_seed_in_runs),
        cmocka_unit_test(test_validate_collects),
        cmocka_unit_test(test_write_round_trip),
        cmocka_unit_test(test_write_text),
        cmocka_unit_test(test_pref_from_args),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
