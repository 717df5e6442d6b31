/* The layer kinds in the experiment file (issue 10): `type:` and each kind's keys and defaults,
 * residual blocks expanded into the flat list (links, names, branch positions, places),
 * model.input, their errors with FILE:LINE:COL, --set and sweeps over the new keys, and the
 * resolved YAML's round trip. Plugins come from the build tree (FANIN_TEST_PLUGIN_DIR).
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

#include "base/errors.h"
#include "config/experiment.h"
#include "config/pref.h"
#include "config/values.h"
#include "plugin/registry.h"

static fanin_registry *reg;

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

/* "data: ...\nmodel:\n  layers:\n" then `layers` (each line indented by the caller), then the
 * loss. Line 4 is the first layer's. */
static char *file_with(const char *data, const char *layers, const char *loss) {
    static char buf[8192];
    snprintf(buf, sizeof buf, "data: %s\nmodel:\n  layers:\n%sloss: %s\n", data, layers, loss);
    return buf;
}

#define SYNTH "{source: synthetic, kind: moons}"
#define FMNIST "{source: fashion-mnist}"

static fanin_config *parse(const char *text) {
    fanin_config *c;
    char err[FANIN_ERRLEN];
    if (fanin__config_parse(&c, "/exp/t.yaml", text, strlen(text), err, sizeof err) != FANIN_OK)
        fail_msg("parse: %s", err);
    return c;
}

static fanin_experiment *resolve(const char *text) {
    fanin_config *c = parse(text);
    fanin_experiment *x;
    char err[FANIN_ERRLEN];
    int rc = fanin__config_resolve(c, 0, reg, &x, err, sizeof err);
    fanin__config_free(c);
    if (rc != FANIN_OK) fail_msg("resolve: %s\nin:\n%s", err, text);
    return x;
}

static void expect_error(const char *text, const char *want) {
    fanin_config *c = parse(text);
    fanin_experiment *x = NULL;
    char err[FANIN_ERRLEN] = "";
    int rc = fanin__config_resolve(c, 0, reg, &x, err, sizeof err);
    fanin__config_free(c);
    assert_int_equal(rc, FANIN_ECONFIG);
    assert_null(x);
    assert_string_equal(err, want);
}

static const char *pname(const fanin__pref *p) { return p->entry ? p->entry->plugin->name : "-"; }

/* ---- kinds and defaults ---- */

static void test_dense_stays_the_default(void **state) {
    fanin_experiment *x = resolve(file_with(SYNTH,
                                            "    - {units: 8, repeat: 2}\n"
                                            "    - {type: dense, units: 1, activation: "
                                            "sigmoid}\n",
                                            "bce"));
    assert_int_equal(x->n_layers, 3);
    for (int l = 0; l < 3; l++) {
        char name[32];
        snprintf(name, sizeof name, "layers.%d", l);
        assert_int_equal(x->layers[l].type, FANIN_LAYER_DENSE);
        assert_string_equal(x->layers[l].name, name);
        assert_int_equal(x->layers[l].block, -1);
        assert_int_equal(x->layers[l].link, -1);
        assert_string_equal(x->layers[l].loc.file, "/exp/t.yaml");
        assert_int_equal(x->layers[l].loc.line, l < 2 ? 4 : 5);
        assert_int_equal(x->layers[l].loc.col, 7);
    }
    assert_string_equal(pname(&x->layers[0].activation), "relu");
    assert_string_equal(pname(&x->layers[0].init), "lecun_normal");
    fanin__experiment_free(x);
}

static void test_kinds_and_their_defaults(void **state) {
    fanin_experiment *x = resolve(
        file_with(FMNIST,
                  "    - {type: conv2d, channels: 8, kernel: 3}\n" /* 0 */
                  "    - {type: conv2d, channels: 4, kernel: 5, stride: 2, padding: same, bias: "
                  "false, activation: tanh, init: he_normal}\n"                 /* 1 */
                  "    - {type: batchnorm}\n"                                   /* 2 */
                  "    - {type: maxpool2d, kernel: 2}\n"                        /* 3 */
                  "    - {type: avgpool2d, kernel: 3, stride: 1, padding: 1}\n" /* 4 */
                  "    - {type: global_avgpool}\n"                              /* 5 */
                  "    - {type: flatten}\n"                                     /* 6 */
                  "    - {type: layernorm, eps: 0.001, init: zeros}\n"          /* 7 */
                  "    - {type: dropout}\n"                                     /* 8 */
                  "    - {type: dropout, p: 0.25}\n"                            /* 9 */
                  "    - {type: batchnorm, momentum: 0.01, eps: 0.0001, bias_init: ones}\n"
                  "    - {units: 10, activation: linear}\n",
                  "cross_entropy"));
    const fanin__layer_spec *l = x->layers;
    assert_int_equal(x->n_layers, 12);
    assert_int_equal(l[0].type, FANIN_LAYER_CONV2D);
    assert_int_equal(l[0].channels, 8);
    assert_int_equal(l[0].kernel, 3);
    assert_int_equal(l[0].stride, 1);
    assert_int_equal(l[0].padding, FANIN_PAD_VALID);
    assert_true(l[0].bias);
    assert_string_equal(pname(&l[0].activation), "relu");
    assert_string_equal(pname(&l[0].init), "lecun_normal");
    assert_string_equal(pname(&l[0].bias_init), "zeros");
    assert_int_equal(l[1].stride, 2);
    assert_int_equal(l[1].padding, FANIN_PAD_SAME);
    assert_false(l[1].bias);
    assert_string_equal(pname(&l[1].activation), "tanh");
    assert_string_equal(pname(&l[1].init), "he_normal");
    assert_int_equal(l[2].type, FANIN_LAYER_BATCHNORM);
    assert_true(l[2].eps == 1e-5 && l[2].momentum == 0.1); /* PyTorch's */
    assert_string_equal(pname(&l[2].init), "ones");
    assert_string_equal(pname(&l[2].bias_init), "zeros");
    assert_string_equal(pname(&l[2].activation), "linear");
    assert_int_equal(l[3].type, FANIN_LAYER_MAXPOOL2D);
    assert_int_equal(l[3].stride, 2); /* = kernel, as PyTorch */
    assert_int_equal(l[3].padding, 0);
    assert_int_equal(l[4].type, FANIN_LAYER_AVGPOOL2D);
    assert_int_equal(l[4].stride, 1);
    assert_int_equal(l[4].padding, 1);
    assert_int_equal(l[5].type, FANIN_LAYER_GLOBAL_AVGPOOL);
    assert_int_equal(l[6].type, FANIN_LAYER_FLATTEN);
    assert_null(l[6].init.entry);
    assert_string_equal(pname(&l[6].activation), "linear");
    assert_int_equal(l[7].type, FANIN_LAYER_LAYERNORM);
    assert_true(l[7].eps == 0.001);
    assert_string_equal(pname(&l[7].init), "zeros");
    assert_true(l[8].p == 0.5 && l[9].p == 0.25);
    assert_true(l[10].momentum == 0.01 && l[10].eps == 0.0001);
    assert_string_equal(pname(&l[10].bias_init), "ones");
    assert_int_equal(l[11].units, 10);
    for (int i = 0; i < x->n_layers; i++) {
        char name[32];
        snprintf(name, sizeof name, "layers.%d", i);
        assert_string_equal(l[i].name, name);
        assert_int_equal(l[i].loc.line, 4 + i);
        assert_int_equal(l[i].block, -1);
    }
    fanin__experiment_free(x);
}

/* ---- residual blocks ---- */

static const char *const RESNET = "    - {units: 8}\n"     /* 4 */
                                  "    - type: residual\n" /* 5 */
                                  "      repeat: 3\n"
                                  "      scale: rezero\n"
                                  "      layers:\n"
                                  "        - {units: 8}\n"                                /* 9 */
                                  "        - {type: batchnorm}\n"                         /* 10 */
                                  "        - {units: 8, activation: linear, repeat: 2}\n" /* 11 */
                                  "    - {units: 1, activation: sigmoid}\n";              /* 12 */

static void test_residual_expands(void **state) {
    fanin_experiment *x = resolve(file_with(SYNTH, RESNET, "bce"));
    const fanin__layer_spec *l = x->layers;
    assert_int_equal(x->n_layers, 1 + 3 * 6 + 1);
    assert_string_equal(l[0].name, "layers.0");
    for (int k = 0; k < 3; k++) {
        int o = 1 + 6 * k, c = o + 5;
        char name[32];
        snprintf(name, sizeof name, "layers.1.%d", k);
        assert_int_equal(l[o].type, FANIN_LAYER_RESIDUAL_OPEN);
        assert_int_equal(l[c].type, FANIN_LAYER_RESIDUAL_CLOSE);
        assert_int_equal(l[o].link, c);
        assert_int_equal(l[c].link, o);
        assert_string_equal(l[o].name, name);
        assert_string_equal(l[c].name, name);
        assert_int_equal(l[o].loc.line, 5);
        assert_int_equal(l[c].loc.line, 5);
        assert_int_equal(l[c].scale, FANIN_SCALE_REZERO);
        assert_false(l[c].projection);
        assert_string_equal(pname(&l[c].activation), "linear"); /* after the sum: none */
        assert_null(l[c].init.entry);
        assert_string_equal(pname(&l[o].activation), "linear");
        static const int types[] = {FANIN_LAYER_DENSE, FANIN_LAYER_BATCHNORM, FANIN_LAYER_DENSE,
                                    FANIN_LAYER_DENSE};
        static const int pos[] = {0, 0, 1, 2}, lines[] = {9, 10, 11, 11};
        for (int j = 0; j < 4; j++) {
            const fanin__layer_spec *s = &l[o + 1 + j];
            char member[48];
            snprintf(member, sizeof member, "layers.1.%d.branch.%d", k, j);
            assert_int_equal(s->type, types[j]);
            assert_string_equal(s->name, member);
            assert_int_equal(s->pos, pos[j]);
            assert_int_equal(s->loc.line, lines[j]);
            assert_int_equal(s->loc.col, 11);
        }
        for (int j = o; j <= c; j++) {
            assert_int_equal(l[j].block, k);
            assert_int_equal(l[j].n_blocks, 3);
            assert_int_equal(l[j].branch_len, 3);
        }
        assert_int_equal(l[o].pos, -1);
        assert_int_equal(l[c].pos, -1);
        assert_string_equal(pname(&l[o + 1].activation), "relu"); /* model defaults apply */
        assert_string_equal(pname(&l[o + 3].activation), "linear");
    }
    assert_string_equal(l[19].name, "layers.2");
    assert_int_equal(l[19].block, -1);
    fanin__experiment_free(x);
}

static void test_residual_scales_and_projection(void **state) {
    fanin_experiment *x = resolve(
        file_with(SYNTH,
                  "    - {type: residual, scale: skipinit, scale_init: 0.25, activation: relu, "
                  "projection: true, init: xavier_normal, layers: [{units: 4}]}\n"
                  "    - {type: residual, scale: skipinit, layers: [{type: dropout}]}\n"
                  "    - {type: residual, scale: fixup, layers: [{units: 4}, {units: 4}]}\n"
                  "    - {type: residual, layers: [{units: 1, activation: linear}]}\n",
                  "mse"));
    const fanin__layer_spec *l = x->layers;
    assert_int_equal(x->n_layers, 3 + 3 + 4 + 3);
    assert_int_equal(l[2].scale, FANIN_SCALE_SKIPINIT);
    assert_true(l[2].scale_init == 0.25);
    assert_true(l[2].projection);
    assert_string_equal(pname(&l[2].activation), "relu");
    assert_string_equal(pname(&l[2].init), "xavier_normal");
    assert_string_equal(pname(&l[2].bias_init), "zeros"); /* model defaults */
    assert_true(l[5].scale_init == 0.0);                  /* SkipInit's default */
    assert_int_equal(l[4].branch_len, 0);
    assert_int_equal(l[4].pos, -1); /* no weight before it */
    assert_int_equal(l[9].scale, FANIN_SCALE_FIXUP);
    assert_int_equal(l[9].branch_len, 2);
    assert_int_equal(l[12].scale, FANIN_SCALE_ONE);
    assert_string_equal(l[12].name, "layers.3.0");
    fanin__experiment_free(x);
}

/* 64 blocks of 4 layers: more than the old 256-layer limit. */
static void test_deep_residual_fits(void **state) {
    fanin_experiment *x = resolve(
        file_with(SYNTH,
                  "    - {units: 16}\n    - {type: residual, repeat: 64, layers: [{units: 16}, "
                  "{type: batchnorm}, {units: 16}, {type: batchnorm}]}\n"
                  "    - {units: 1, activation: sigmoid}\n",
                  "bce"));
    assert_int_equal(x->n_layers, 2 + 64 * 6);
    assert_string_equal(x->layers[x->n_layers - 2].name, "layers.1.63");
    assert_int_equal(x->layers[x->n_layers - 2].link, x->n_layers - 7);
    fanin__experiment_free(x);
    expect_error(file_with(SYNTH,
                           "    - {type: residual, repeat: 1000, layers: [{units: 4, "
                           "repeat: 3}, {type: dropout}]}\n",
                           "mse"),
                 "/exp/t.yaml:4:7: the model has more than 4096 layers after repeat and "
                 "residual blocks are expanded");
}

/* ---- errors ---- */

static void test_layer_errors(void **state) {
    expect_error(file_with(FMNIST, "    - {type: conv2d, chanels: 8, kernel: 3}\n", "mse"),
                 "/exp/t.yaml:4:22: unknown key 'chanels' in 'model.layers.0'; did you mean "
                 "'channels'?");
    expect_error(file_with(FMNIST, "    - {type: conv2d, units: 8, channels: 2, kernel: 3}\n",
                           "mse"),
                 "/exp/t.yaml:4:22: 'model.layers.0.units' is not a key of a conv2d layer (its "
                 "keys: type, channels, kernel, stride, padding, bias, activation, init, "
                 "bias_init, repeat, lr_scale, wd_scale, bias_lr_scale, bias_wd_scale)");
    expect_error(file_with(FMNIST, "    - {type: conv, channels: 8, kernel: 3}\n", "mse"),
                 "/exp/t.yaml:4:14: 'model.layers.0.type' must be one of dense | conv2d | "
                 "maxpool2d | avgpool2d | global_avgpool | flatten | batchnorm | layernorm | "
                 "dropout | residual, got 'conv'; did you mean 'conv2d'?");
    expect_error(file_with(FMNIST, "    - {type: conv2d, kernel: 3}\n", "mse"),
                 "/exp/t.yaml:4:7: missing required key 'model.layers.0.channels' (output "
                 "channels, e.g. 16)");
    expect_error(file_with(FMNIST, "    - {type: maxpool2d, kernel: 2, padding: full}\n", "mse"),
                 "/exp/t.yaml:4:45: 'model.layers.0.padding' must be an integer in [0, 4096], "
                 "got 'full'");
    expect_error(file_with(FMNIST,
                           "    - {type: conv2d, channels: 1, kernel: 2, padding: "
                           "full}\n",
                           "mse"),
                 "/exp/t.yaml:4:55: 'model.layers.0.padding' must be same, valid or an integer "
                 "in [0, 4096] (zeros added on each side), got 'full'");
    expect_error(file_with(FMNIST, "    - {type: conv2d, channels: 2, kernel: 3, bias: 1}\n",
                           "mse"),
                 "/exp/t.yaml:4:52: 'model.layers.0.bias' must be true or false, got '1'");
    expect_error(file_with(SYNTH, "    - {type: dropout, p: 1}\n", "mse"),
                 "/exp/t.yaml:4:26: 'model.layers.0.p' must be a number in [0, 1), got '1'");
    expect_error(file_with(SYNTH, "    - {type: batchnorm, eps: 0}\n", "mse"),
                 "/exp/t.yaml:4:30: 'model.layers.0.eps' must be a number > 0, got '0'");
}

static void test_residual_errors(void **state) {
    expect_error(file_with(SYNTH, "    - {type: residual, repeat: 2}\n", "mse"),
                 "/exp/t.yaml:4:7: missing required key 'model.layers.0.layers' (the branch F, "
                 "e.g. [{units: 64}, {units: 64, activation: linear}])");
    expect_error(file_with(SYNTH, "    - {type: residual, layers: []}\n", "mse"),
                 "/exp/t.yaml:4:32: 'model.layers.0.layers' must list the branch's layers, e.g. "
                 "[{units: 64}, {units: 64, activation: linear}], got an empty list");
    expect_error(file_with(SYNTH,
                           "    - {type: residual, layers: [{type: residual, layers: "
                           "[{units: 2}]}]}\n",
                           "mse"),
                 "/exp/t.yaml:4:40: 'model.layers.0.layers.0': a residual block inside a "
                 "residual branch is not supported; put the blocks one after another in "
                 "model.layers");
    expect_error(file_with(SYNTH,
                           "    - {type: residual, scale: rezero, scale_init: 0.1, "
                           "layers: [{units: 2}]}\n",
                           "mse"),
                 "/exp/t.yaml:4:39: 'model.layers.0.scale_init' is the starting alpha of scale: "
                 "skipinit, but the scale is rezero");
    expect_error(file_with(SYNTH,
                           "    - {type: residual, init: he_normal, layers: [{units: "
                           "2}]}\n",
                           "mse"),
                 "/exp/t.yaml:4:24: 'model.layers.0.init' initialises the skip path's "
                 "projection; add projection: true, or move it to the branch's layers");
    expect_error(file_with(SYNTH, "    - {type: residual, scale: rezro, layers: [{units: 2}]}\n",
                           "mse"),
                 "/exp/t.yaml:4:31: 'model.layers.0.scale' must be one of 1 | rezero | "
                 "skipinit | fixup, got 'rezro'; did you mean 'rezero'?");
    expect_error(
        file_with(SYNTH, "    - {type: residual, layers: [{units: 2, kernel: 3}]}\n", "mse"),
        "/exp/t.yaml:4:44: 'model.layers.0.layers.0.kernel' is not a key of a dense "
        "layer (its keys: type, units, activation, init, bias_init, repeat, lr_scale, wd_scale, "
        "bias_lr_scale, bias_wd_scale)");
}

/* Convolutions need images: a source of vectors needs model.input to shape them. */
static void test_input_key(void **state) {
    const char *conv = "    - {type: conv2d, channels: 2, kernel: 1}\n    - {type: flatten}\n"
                       "    - {units: 1, activation: sigmoid}\n";
    expect_error(file_with(SYNTH, conv, "bce"),
                 "/exp/t.yaml:4:7: a conv2d layer needs images [C, H, W], but data source "
                 "'synthetic' gives vectors (2 features); give model.input: [C, H, W] (C*H*W "
                 "values per example) to shape them, or use dense layers");
    char text[2048];
    snprintf(text, sizeof text, "data: %s\nmodel:\n  input: [2, 1, 1]\n  layers:\n%sloss: bce\n",
             SYNTH, conv);
    fanin_experiment *x = resolve(text);
    assert_int_equal(x->input[0], 2);
    assert_int_equal(x->input[2], 1);
    assert_int_equal(x->input_loc.line, 3);
    assert_int_equal(x->input_loc.col, 10);
    fanin__experiment_free(x);
    x = resolve("data: {source: fashion-mnist}\nmodel: {input: [784], layers: [{units: 10}]}\n"
                "loss: cross_entropy\n");
    assert_int_equal(x->input[0], 784);
    assert_int_equal(x->input[1], 1);
    fanin__experiment_free(x);
    x = resolve(file_with(FMNIST, "    - {units: 10}\n", "cross_entropy"));
    assert_int_equal(x->input[0], 0); /* not given */
    fanin__experiment_free(x);
    expect_error("data: {source: fashion-mnist}\nmodel: {input: [28, 28], layers: [{units: 2}]}\n"
                 "loss: cross_entropy\n",
                 "/exp/t.yaml:2:16: 'model.input' must be one example's shape [C, H, W] (e.g. "
                 "[1, 28, 28]) or [features], got a list of that length");
    expect_error("data: {source: fashion-mnist}\nmodel: {input: [1, 0, 28], layers: [{units: "
                 "2}]}\nloss: cross_entropy\n",
                 "/exp/t.yaml:2:20: 'model.input.1' must be an integer in [1, 16777216], got "
                 "'0'");
}

/* The loss check looks through dropout and norms to the last dense layer; after convolutions
 * or residual blocks the engine checks the width. */
static void test_loss_check_through_kinds(void **state) {
    expect_error(file_with(SYNTH,
                           "    - {units: 4, repeat: 2}\n    - {type: dropout}\n"
                           "    - {type: batchnorm, repeat: 2}\n",
                           "bce"),
                 "/exp/t.yaml:7:1: loss 'bce' needs a last layer of 1 unit (a probability), but "
                 "'model.layers.0' has 4 units; use cross_entropy for 4 classes");
    fanin_experiment *x = resolve(
        file_with(SYNTH, "    - {type: residual, layers: [{units: 3}]}\n", "cross_entropy"));
    fanin__experiment_free(x);
}

/* ---- --set and sweeps ---- */

static void test_set_and_sweep_new_keys(void **state) {
    char text[10000], err[FANIN_ERRLEN];
    snprintf(text, sizeof text,
             "%ssweep:\n  model.layers.1.repeat: [1, 2]\n"
             "  model.layers.1.layers.0.init: [he_normal, {name: normal, std: 0.1}]\n",
             file_with(SYNTH, RESNET, "bce"));
    fanin_config *c = parse(text);
    assert_int_equal(fanin__config_set(c, "model.layers.1.scale=skipinit", err, sizeof err),
                     FANIN_OK);
    assert_int_equal(fanin__config_set(c, "model.layers.1.layers.2.activation=tanh", err,
                                       sizeof err),
                     FANIN_OK);
    assert_int_equal(fanin__config_members(c), 4);
    fanin_experiment *x;
    assert_int_equal(fanin__config_resolve(c, 3, reg, &x, err, sizeof err), FANIN_OK);
    assert_int_equal(x->n_layers, 2 + 2 * 6);
    assert_string_equal(x->swept[0].value, "2");
    assert_string_equal(x->swept[1].value, "normal(std=0.1)");
    assert_int_equal(x->layers[6].scale, FANIN_SCALE_SKIPINIT);
    assert_string_equal(x->layers[2].init.text, "normal(std=0.1)");
    assert_string_equal(pname(&x->layers[4].activation), "tanh");
    fanin__experiment_free(x);
    assert_int_equal(fanin__config_set(c, "model.layers.1.scal=rezero", err, sizeof err),
                     FANIN_OK); /* --set adds the key; resolving names it */
    assert_int_not_equal(fanin__config_resolve(c, 0, reg, &x, err, sizeof err), FANIN_OK);
    assert_string_equal(err, "--set:1:16: unknown key 'scal' in 'model.layers.1'; did you mean "
                             "'scale'?");
    fanin__config_free(c);
    snprintf(text, sizeof text, "%ssweep:\n  model.layers.1.chanels: [1, 2]\n",
             file_with(SYNTH, RESNET, "bce"));
    expect_error(text, "/exp/t.yaml:15:3: sweep key 'model.layers.1.chanels' does not exist; did "
                       "you mean 'model.layers.1.channels'?");
}

/* ---- the resolved YAML ---- */

static void assert_specs_equal(const fanin__layer_spec *a, const fanin__layer_spec *b) {
    assert_int_equal(a->type, b->type);
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->units, b->units);
    assert_int_equal(a->channels, b->channels);
    assert_int_equal(a->kernel, b->kernel);
    assert_int_equal(a->stride, b->stride);
    assert_int_equal(a->padding, b->padding);
    assert_int_equal(a->bias, b->bias);
    assert_true(a->p == b->p && a->eps == b->eps && a->momentum == b->momentum);
    assert_int_equal(a->link, b->link);
    assert_int_equal(a->scale, b->scale);
    assert_true(a->scale_init == b->scale_init);
    assert_int_equal(a->projection, b->projection);
    assert_int_equal(a->block, b->block);
    assert_int_equal(a->n_blocks, b->n_blocks);
    assert_int_equal(a->pos, b->pos);
    assert_int_equal(a->branch_len, b->branch_len);
    assert_true(a->lr_scale == b->lr_scale && a->wd_scale == b->wd_scale);
    assert_true(a->bias_lr_scale == b->bias_lr_scale && a->bias_wd_scale == b->bias_wd_scale);
    const fanin__pref *pa[] = {&a->activation, &a->init, &a->bias_init},
                      *pb[] = {&b->activation, &b->init, &b->bias_init};
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(pa[i]->entry, pb[i]->entry);
        for (size_t k = 0; pa[i]->entry && k < pa[i]->entry->n_params; k++) {
            const fanin_param_spec *ps = &pa[i]->entry->plugin->params[k];
            char va[64], vb[64];
            fanin__value_format(ps, &pa[i]->params[k], false, va, sizeof va);
            fanin__value_format(ps, &pb[i]->params[k], false, vb, sizeof vb);
            assert_string_equal(va, vb);
        }
    }
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
    assert_memory_equal(&a->data, &b->data, sizeof a->data);
    assert_memory_equal(a->input, b->input, sizeof a->input);
    assert_int_equal(a->n_layers, b->n_layers);
    for (int l = 0; l < a->n_layers; l++) assert_specs_equal(&a->layers[l], &b->layers[l]);
    fanin__experiment_free(a);
    fanin__experiment_free(b);
    fanin__config_free(c);
    free(out);
}

/* lr_scale, wd_scale and bias_*: defaults 1, a bias follows its layer, a branch layer its
 * block unless it has its own; <= 0 and non-finite are errors at the value. */
static void test_optimizer_multipliers(void **state) {
    fanin_experiment *x = resolve(
        file_with(SYNTH,
                  "    - {units: 4, lr_scale: 2, wd_scale: 0.5}\n"
                  "    - {units: 4, bias_lr_scale: 3}\n"
                  "    - {type: residual, lr_scale: 0.25, bias_wd_scale: 4, layers: [{units: 4}, "
                  "{units: 4, lr_scale: 8}]}\n"
                  "    - {type: layernorm, wd_scale: 3}\n"
                  "    - {units: 1, activation: sigmoid}\n",
                  "bce"));
    const double want[][4] = {{2, 0.5, 2, 0.5},   {1, 1, 3, 1}, {0.25, 1, 0.25, 4},
                              {0.25, 1, 0.25, 4}, {8, 1, 8, 4}, {0.25, 1, 0.25, 4},
                              {1, 3, 1, 3},       {1, 1, 1, 1}};
    assert_int_equal(x->n_layers, 8);
    for (int l = 0; l < 8; l++) {
        const fanin__layer_spec *s = &x->layers[l];
        const double got[4] = {s->lr_scale, s->wd_scale, s->bias_lr_scale, s->bias_wd_scale};
        for (int k = 0; k < 4; k++)
            if (got[k] != want[l][k])
                fail_msg("layer %d value %d: %g != %g", l, k, got[k], want[l][k]);
    }
    fanin__experiment_free(x);
    expect_error(file_with(SYNTH, "    - {units: 1, lr_scale: 0}\n", "mse"),
                 "/exp/t.yaml:4:28: 'model.layers.0.lr_scale' must be a number > 0, got '0'");
    expect_error(file_with(SYNTH, "    - {units: 1, bias_wd_scale: .inf}\n", "mse"),
                 "/exp/t.yaml:4:33: 'model.layers.0.bias_wd_scale' must be a number > 0, got "
                 "'.inf'");
    expect_error(file_with(SYNTH, "    - {type: layernorm, bias_lr_scale: 2}\n    - {units: 1}\n",
                           "mse"),
                 "/exp/t.yaml:4:25: 'model.layers.0.bias_lr_scale' is not a key of a layernorm "
                 "layer (its keys: type, eps, init, bias_init, repeat, lr_scale, wd_scale)");
    round_trip(file_with(SYNTH,
                         "    - {units: 4, lr_scale: 2, bias_wd_scale: 0.5}\n"
                         "    - {type: residual, lr_scale: 0.25, layers: [{units: 4}, {units: 4, "
                         "wd_scale: 8}]}\n    - {type: batchnorm, lr_scale: 3}\n"
                         "    - {units: 1, activation: sigmoid, bias_lr_scale: 0.1}\n",
                         "bce"));
}

static void test_round_trip_every_kind(void **state) {
    round_trip(file_with(SYNTH, RESNET, "bce"));
    round_trip(file_with(
        "{source: hdf5, path: /d/cat.h5, layout: chw}",
        "    - {type: conv2d, channels: 4, kernel: 3, padding: same, bias: false, init: "
        "{name: he_normal, mode: fan_out}}\n"
        "    - {type: batchnorm, momentum: 0.2}\n"
        "    - {type: maxpool2d, kernel: 2, stride: 1, padding: 1}\n"
        "    - type: residual\n      repeat: 2\n      scale: skipinit\n      scale_init: 0.5\n"
        "      projection: true\n      init: xavier_uniform\n      activation: relu\n"
        "      layers:\n        - {type: conv2d, channels: 8, kernel: 3, padding: 1}\n"
        "        - {type: batchnorm, init: zeros}\n        - {type: dropout, p: 0.1}\n"
        "    - {type: avgpool2d, kernel: 2, padding: 0}\n"
        "    - {type: global_avgpool}\n    - {type: flatten, repeat: 2}\n"
        "    - {type: layernorm, eps: 0.01}\n    - {type: residual, scale: fixup, layers: "
        "[{units: 8}, {units: 8}]}\n    - {units: 1, activation: sigmoid}\n",
        "bce"));
    round_trip("data: {source: synthetic, kind: xor}\nmodel:\n  input: [1, 2, 1]\n  layers: "
               "[{type: conv2d, channels: 2, kernel: 1}, {type: flatten}, {units: 1, "
               "activation: sigmoid}]\nloss: bce\n");
}

static void test_written_text(void **state) {
    fanin_experiment *x = resolve(file_with(SYNTH, RESNET, "bce"));
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    fanin__experiment_write_yaml(x, f);
    fclose(f);
    assert_non_null(strstr(out, "    - type: residual\n      repeat: 3\n      scale: rezero\n"
                                "      activation: {name: linear}\n      projection: false\n"
                                "      layers:\n        - units: 8\n"));
    assert_non_null(strstr(out, "        - type: batchnorm\n          eps: 1e-05\n          "
                                "momentum: 0.1\n          init: {name: ones}\n"));
    assert_null(strstr(out, "residual_close"));
    fanin__experiment_free(x);
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_stays_the_default),
        cmocka_unit_test(test_kinds_and_their_defaults),
        cmocka_unit_test(test_residual_expands),
        cmocka_unit_test(test_residual_scales_and_projection),
        cmocka_unit_test(test_deep_residual_fits),
        cmocka_unit_test(test_layer_errors),
        cmocka_unit_test(test_residual_errors),
        cmocka_unit_test(test_input_key),
        cmocka_unit_test(test_loss_check_through_kinds),
        cmocka_unit_test(test_set_and_sweep_new_keys),
        cmocka_unit_test(test_optimizer_multipliers),
        cmocka_unit_test(test_round_trip_every_kind),
        cmocka_unit_test(test_written_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
