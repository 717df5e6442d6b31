/* The `model:` section and the checks after every key: model.defaults, model.input, the layer
 * list (read by section_layers.c), whether the loss fits the last layer and the classes, and
 * convolutions on a source of vectors. Building the network is the engine's business.
 */
#include "base/errors.h"
#include "config/errs.h"
#include "config/experiment.h"
#include "config/keys.h"
#include "config/pref.h"
#include "config/sections.h"
#include "config/tree.h"
#include "config/values.h"
#include "plugin/registry.h"

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* What model: is read into before the layers are expanded into the experiment. */
typedef struct model_state {
    fanin__layer_spec defaults; /* entry NULL where model.defaults does not say */
    const fanin__node *layers;  /* the list, read once the defaults are known */
} model_state;

static int note_layers(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                       const char *path, void *base) {
    (void)k;
    (void)path;
    (void)r;
    ((model_state *)base)->layers = val;
    return FANIN_OK;
}

/* `input: [C, H, W]` (or `[n]` for vectors): one example's shape, checked against the data
 * when it is loaded (data/data.h), or giving a flat source's vectors an image shape. */
static int read_input(fanin__rctx *r, const fanin__key *k, const fanin__node *val, const char *path,
                      void *base) {
    (void)k;
    (void)base;
    static const fanin_param_spec spec = {"size", FANIN_PARAM_I64, 0, 0, 1, 1 << 24, 0, 0, 0};
    char got[120], msg[FANIN_ERRLEN];
    if (val->type != FANIN__SEQ || (val->n != 1 && val->n != 3)) {
        fanin__node_describe(val, got, sizeof got);
        return fanin__rerr(r, val,
                           "'%s' must be one example's shape [C, H, W] (e.g. [1, 28, "
                           "28]) or [features], got %s%s",
                           path, got, val->type == FANIN__SEQ ? " of that length" : "");
    }
    int v[3] = {1, 1, 1};
    for (size_t i = 0; i < val->n; i++) {
        fanin_value x;
        if (fanin__value_read(&spec, val->vals[i], &x, msg, sizeof msg) != FANIN_OK)
            return fanin__rerr(r, val->vals[i], "'%s.%zu' %s", path, i, msg);
        v[i] = (int)x.i;
    }
    memcpy(r->x->input, v, sizeof v);
    r->x->input_loc = val->loc;
    return FANIN_OK;
}

#define MS(field) offsetof(model_state, defaults.field)

static const fanin__key default_keys[] = {
    {.name = "activation",
     .type = FANIN__KEY_PREF,
     .off = MS(activation),
     .kind = FANIN_KIND_ACTIVATION},
    {.name = "init", .type = FANIN__KEY_PREF, .off = MS(init), .kind = FANIN_KIND_INITIALIZER},
    {.name = "bias_init",
     .type = FANIN__KEY_PREF,
     .off = MS(bias_init),
     .kind = FANIN_KIND_INITIALIZER},
    {0},
};

const fanin__key fanin__model_keys[] = {
    {.name = "defaults", .type = FANIN__KEY_MAP, .sub = default_keys},
    {.name = "layers",
     .type = FANIN__KEY_LIST,
     .sub = fanin__layer_keys,
     .fn = note_layers,
     .flags = FANIN__KEY_REQUIRED,
     .doc = "a list like [{units: 20}, {units: 1}]"},
    {.name = "input", .type = FANIN__KEY_ANY, .fn = read_input},
    {0},
};

static void spec_deinit(fanin__layer_spec *s) {
    fanin__pref_deinit(&s->activation);
    fanin__pref_deinit(&s->init);
    fanin__pref_deinit(&s->bias_init);
}

int fanin__resolve_model(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                         const char *path, void *base) {
    (void)base;
    (void)k;
    model_state m;
    memset(&m, 0, sizeof m);
    int rc = fanin__apply_map(r, val, fanin__model_keys, &m, path, 0);
    if (m.layers && fanin__read_layers(r, val, &m.defaults, m.layers) != FANIN_OK)
        rc = FANIN_ECONFIG;
    spec_deinit(&m.defaults);
    if (rc != FANIN_OK) { /* no half-built model for the loss check to trip on */
        fanin_experiment *x = r->x;
        for (int l = 0; l < x->n_layers; l++) spec_deinit(&x->layers[l]);
        x->n_layers = 0;
    }
    return rc;
}

/* ---- the input against the data ---- */

/* Does a layer read images (conv2d, pools, flatten)? Then the data keeps them (data.model_images). */
static bool reads_images(const fanin_experiment *x) {
    for (int l = 0; l < x->n_layers; l++) {
        int t = x->layers[l].type;
        if (t == FANIN_LAYER_CONV2D || t == FANIN_LAYER_MAXPOOL2D || t == FANIN_LAYER_AVGPOOL2D ||
            t == FANIN_LAYER_GLOBAL_AVGPOOL || t == FANIN_LAYER_FLATTEN)
            return true;
    }
    return false;
}

/* Convolutions and pools on a source whose examples are vectors, without model.input to shape
 * them: an error at the first such layer (idx and hdf5 shapes are checked once read). */
static void check_input(fanin__rctx *r) {
    fanin_experiment *x = r->x;
    x->data.model_images = reads_images(x);
    const char *src = x->data.source;
    bool synth = !strcmp(src, "synthetic");
    if (x->input[0] || (!synth && strcmp(src, "csv"))) return;
    for (int l = 0; l < x->n_layers; l++) {
        const fanin__layer_spec *s = &x->layers[l];
        if (s->type != FANIN_LAYER_CONV2D && s->type != FANIN_LAYER_MAXPOOL2D &&
            s->type != FANIN_LAYER_AVGPOOL2D)
            continue;
        char what[80] = "one value per feature column";
        if (synth)
            snprintf(what, sizeof what, "%d features", x->data.features ? x->data.features : 2);
        fanin__errs_add(r->errs, FANIN_ECONFIG, &s->loc,
                        "a %s layer needs images [C, H, W], "
                        "but data source '%s' gives vectors (%s); give model.input: [C, H, W] "
                        "(C*H*W values per example) to shape them, or use dense layers",
                        fanin__layer_type_names[s->type], src, what);
        return;
    }
}

/* ---- the loss against the last layer and the data ---- */

/* The output's width when the file fixes it: the last dense layer's, when only layers that
 * keep the width (dropout, norms) follow it; `item` gets its index in model.layers. -1 when a
 * residual block, a convolution or a pool decides it (the engine checks it with the shapes). */
static int output_units(const fanin__rctx *r, const fanin__node *layers, size_t *item) {
    const fanin_experiment *x = r->x;
    int l = x->n_layers - 1;
    size_t i = layers->n;
    while (l >= 0) {
        int t = x->layers[l].type;
        if (t == FANIN_LAYER_DENSE) break;
        if (t != FANIN_LAYER_DROPOUT && t != FANIN_LAYER_BATCHNORM && t != FANIN_LAYER_LAYERNORM)
            return -1;
        l--;
    }
    if (l < 0) return -1;
    /* the same walk over the items: each kind skipped above is one item per `repeat` */
    while (i > 0) {
        const fanin__node *t = fanin__node_get(layers->vals[i - 1], "type", NULL);
        if (fanin__node_is_null(t) || t->type != FANIN__SCALAR || !strcmp(t->text, "dense")) break;
        i--;
    }
    *item = i ? i - 1 : 0;
    return x->layers[l].units;
}

void fanin__check_loss(fanin__rctx *r) {
    const fanin__node *key, *model = fanin__node_get(r->root, "model", NULL);
    fanin__node_get(r->root, "loss", &key);
    const fanin__node *layers = fanin__node_get(model, "layers", NULL);
    const fanin_experiment *x = r->x;
    check_input(r);
    size_t item = 0;
    int units = layers ? output_units(r, layers, &item) : -1;
    int classes = fanin__data_class_count(&x->data);
    char last[64];
    snprintf(last, sizeof last, "model.layers.%zu", item);
    if (units < 0) return;
    if (x->loss == FANIN_LOSS_BCE && units != 1)
        fanin__rerr(r, key,
                    "loss 'bce' needs a last layer of 1 unit (a probability), but '%s' "
                    "has %d units; use cross_entropy for %d classes",
                    last, units, units);
    else if (x->loss == FANIN_LOSS_BCE && classes > 2)
        fanin__rerr(r, key,
                    "loss 'bce' is for 2 classes, but the data has %d; use "
                    "cross_entropy with a last layer of %d units",
                    classes, classes);
    else if (x->loss == FANIN_LOSS_CE && units < 2)
        fanin__rerr(r, key,
                    "loss 'cross_entropy' needs a last layer of one unit per class (at "
                    "least 2), but '%s' has %d; use bce for 2 classes",
                    last, units);
    else if (x->loss == FANIN_LOSS_CE && classes > 0 && units != classes)
        fanin__rerr(r, key,
                    "loss 'cross_entropy' with %d classes needs a last layer of %d "
                    "units, but '%s' has %d",
                    classes, classes, last, units);
}
