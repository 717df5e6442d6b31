/* The `model:` section and the loss check: defaults for every layer, the layer list with
 * per-layer overrides and `repeat: N`, built-in defaults (relu, lecun_normal, zeros) found
 * only when some layer needs them, and whether the loss fits the last layer and the classes.
 * Building the network is model.c's business.
 */
#include "config/errs.h"
#include "config/experiment.h"
#include "config/keys.h"
#include "config/pref.h"
#include "config/sections.h"
#include "config/tree.h"
#include "plugin/registry.h"

#include <stdint.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* What model: is read into before the layers are expanded into the experiment. */
typedef struct model_state {
    fanin__layer_spec defaults;  /* entry NULL where model.defaults does not say */
    const fanin__node *layers;   /* the list, read once the defaults are known */
} model_state;

/* One item of model.layers. */
typedef struct layer_item {
    fanin__layer_spec s;
    int64_t repeat;
} layer_item;

static int note_layers(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                       const char *path, void *base) {
    (void)k; (void)path; (void)r;
    ((model_state *)base)->layers = val;
    return FANIN_OK;
}

#define MS(field) offsetof(model_state, defaults.field)
#define LI(field) offsetof(layer_item, field)

static const fanin__key default_keys[] = {
    {.name = "activation", .type = FANIN__KEY_PREF, .off = MS(activation),
     .kind = FANIN_KIND_ACTIVATION},
    {.name = "init", .type = FANIN__KEY_PREF, .off = MS(init), .kind = FANIN_KIND_INITIALIZER},
    {.name = "bias_init", .type = FANIN__KEY_PREF, .off = MS(bias_init),
     .kind = FANIN_KIND_INITIALIZER},
    {0},
};

static const fanin__key layer_keys[] = {
    {.name = "units", .type = FANIN__KEY_INT, .off = LI(s.units), .min = 1, .max = 1 << 20,
     .flags = FANIN__KEY_REQUIRED, .doc = "the layer's width"},
    {.name = "activation", .type = FANIN__KEY_PREF, .off = LI(s.activation),
     .kind = FANIN_KIND_ACTIVATION},
    {.name = "init", .type = FANIN__KEY_PREF, .off = LI(s.init), .kind = FANIN_KIND_INITIALIZER},
    {.name = "bias_init", .type = FANIN__KEY_PREF, .off = LI(s.bias_init),
     .kind = FANIN_KIND_INITIALIZER},
    {.name = "repeat", .type = FANIN__KEY_I64, .off = LI(repeat), .min = 1,
     .max = FANIN_MAX_LAYERS},
    {0},
};

const fanin__key fanin__model_keys[] = {
    {.name = "defaults", .type = FANIN__KEY_MAP, .sub = default_keys},
    {.name = "layers", .type = FANIN__KEY_LIST, .sub = layer_keys, .fn = note_layers,
     .flags = FANIN__KEY_REQUIRED, .doc = "a list like [{units: 20}, {units: 1}]"},
    {0},
};

static void spec_deinit(fanin__layer_spec *s) {
    fanin__pref_deinit(&s->activation);
    fanin__pref_deinit(&s->init);
    fanin__pref_deinit(&s->bias_init);
}

/* ---- defaults ---- */

typedef struct slot {
    const char *key;     /* in model.defaults */
    const char *builtin; /* used when model.defaults does not give it */
    int kind;
    size_t off;          /* of the pref in fanin__layer_spec */
} slot;

static const slot slots[] = {
    {"activation", "relu", FANIN_KIND_ACTIVATION, offsetof(fanin__layer_spec, activation)},
    {"init", "lecun_normal", FANIN_KIND_INITIALIZER, offsetof(fanin__layer_spec, init)},
    {"bias_init", "zeros", FANIN_KIND_INITIALIZER, offsetof(fanin__layer_spec, bias_init)},
};

#define PREF_AT(spec, s) ((fanin__pref *)((char *)(spec) + (s)->off))

/* The default for one slot; the built-in one is looked up on first use. NULL when it failed
 * (already reported). */
static const fanin__pref *default_pref(fanin__rctx *r, model_state *m, const fanin__node *model,
                                       const slot *s) {
    fanin__pref *p = PREF_AT(&m->defaults, s);
    if (p->entry) return p;
    const fanin__node *defs = fanin__node_get(model, "defaults", NULL);
    if (!fanin__node_is_null(fanin__node_get(defs, s->key, NULL))) return NULL; /* it failed */
    const fanin__entry *e = fanin__registry_find(r->reg, s->kind, s->builtin);
    if (!e) {
        fanin__rerr(r, model, "the built-in default %s '%s' was not found (plugins searched in: "
                    "%s); give model.defaults.%s", fanin__kind_name(s->kind), s->builtin,
                    fanin__registry_search_path(r->reg), s->key);
        return NULL;
    }
    return fanin__pref_from_entry(p, e, NULL, &model->loc, NULL, r->errs) == FANIN_OK ? p : NULL;
}

static int fill_defaults(fanin__rctx *r, model_state *m, const fanin__node *model,
                         fanin__layer_spec *spec) {
    int rc = FANIN_OK;
    for (size_t i = 0; i < sizeof slots / sizeof *slots; i++) {
        fanin__pref *p = PREF_AT(spec, &slots[i]);
        if (p->entry) continue;
        const fanin__pref *d = default_pref(r, m, model, &slots[i]);
        if (!d) rc = FANIN_ECONFIG;
        else if (fanin__pref_copy(p, d) != FANIN_OK)
            rc = fanin__errs_add(r->errs, FANIN_ENOMEM, NULL, "out of memory");
    }
    return rc;
}

/* ---- layers ---- */

static int add_layers(fanin__rctx *r, const fanin__node *item, layer_item *it) {
    fanin_experiment *x = r->x;
    if (x->n_layers + it->repeat > FANIN_MAX_LAYERS)
        return fanin__rerr(r, item, "the model has more than %d layers after repeat",
                           FANIN_MAX_LAYERS);
    for (int64_t k = 0; k < it->repeat; k++) {
        fanin__layer_spec *dst = &x->layers[x->n_layers];
        if (k + 1 == it->repeat) { /* the last copy takes the item's own prefs */
            *dst = it->s;
            memset(&it->s, 0, sizeof it->s);
        } else {
            dst->units = it->s.units;
            if (fanin__pref_copy(&dst->activation, &it->s.activation) ||
                fanin__pref_copy(&dst->init, &it->s.init) ||
                fanin__pref_copy(&dst->bias_init, &it->s.bias_init)) {
                spec_deinit(dst);
                return fanin__errs_add(r->errs, FANIN_ENOMEM, NULL, "out of memory");
            }
        }
        x->n_layers++;
    }
    return FANIN_OK;
}

static int read_layer(fanin__rctx *r, model_state *m, const fanin__node *model, size_t i) {
    const fanin__node *item = m->layers->vals[i];
    char path[64], got[120];
    snprintf(path, sizeof path, "model.layers.%zu", i);
    if (item->type != FANIN__MAP) {
        fanin__node_describe(item, got, sizeof got);
        return fanin__rerr(r, item, "'%s' must be a mapping like {units: 20}, got %s", path, got);
    }
    layer_item it = {.repeat = 1};
    int rc = fanin__apply_map(r, item, layer_keys, &it, path, 0);
    if (rc == FANIN_OK) rc = fill_defaults(r, m, model, &it.s);
    if (rc == FANIN_OK) rc = add_layers(r, item, &it);
    spec_deinit(&it.s);
    return rc;
}

static int read_layers(fanin__rctx *r, model_state *m, const fanin__node *model) {
    const fanin__node *l = m->layers;
    if (l->type != FANIN__SEQ || l->n == 0) {
        char got[120];
        fanin__node_describe(l, got, sizeof got);
        return fanin__rerr(r, l, "'model.layers' must list at least one layer, e.g. "
                           "[{units: 20}, {units: 1}], got %s", l->n == 0 && l->type == FANIN__SEQ
                           ? "an empty list" : got);
    }
    if (!(r->x->layers = calloc(FANIN_MAX_LAYERS, sizeof *r->x->layers)))
        return fanin__errs_add(r->errs, FANIN_ENOMEM, NULL, "out of memory");
    int rc = FANIN_OK;
    for (size_t i = 0; i < l->n; i++)
        if (read_layer(r, m, model, i) != FANIN_OK) rc = FANIN_ECONFIG;
    return rc;
}

int fanin__resolve_model(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                         const char *path, void *base) {
    (void)base; (void)k;
    model_state m;
    memset(&m, 0, sizeof m);
    int rc = fanin__apply_map(r, val, fanin__model_keys, &m, path, 0);
    if (m.layers && read_layers(r, &m, val) != FANIN_OK) rc = FANIN_ECONFIG;
    spec_deinit(&m.defaults);
    if (rc != FANIN_OK) { /* no half-built model for the loss check to trip on */
        fanin_experiment *x = r->x;
        for (int l = 0; l < x->n_layers; l++) spec_deinit(&x->layers[l]);
        x->n_layers = 0;
    }
    return rc;
}

/* ---- the loss against the last layer and the data ---- */

void fanin__check_loss(fanin__rctx *r) {
    const fanin__node *key, *model = fanin__node_get(r->root, "model", NULL);
    fanin__node_get(r->root, "loss", &key);
    const fanin__node *layers = fanin__node_get(model, "layers", NULL);
    const fanin_experiment *x = r->x;
    int units = x->layers[x->n_layers - 1].units, classes = fanin__data_class_count(&x->data);
    char last[64];
    snprintf(last, sizeof last, "model.layers.%zu", layers && layers->n ? layers->n - 1 : 0);
    if (x->loss == FANIN_LOSS_BCE && units != 1)
        fanin__rerr(r, key, "loss 'bce' needs a last layer of 1 unit (a probability), but '%s' "
                    "has %d units; use cross_entropy for %d classes", last, units, units);
    else if (x->loss == FANIN_LOSS_BCE && classes > 2)
        fanin__rerr(r, key, "loss 'bce' is for 2 classes, but the data has %d; use "
                    "cross_entropy with a last layer of %d units", classes, classes);
    else if (x->loss == FANIN_LOSS_CE && units < 2)
        fanin__rerr(r, key, "loss 'cross_entropy' needs a last layer of one unit per class (at "
                    "least 2), but '%s' has %d; use bce for 2 classes", last, units);
    else if (x->loss == FANIN_LOSS_CE && classes > 0 && units != classes)
        fanin__rerr(r, key, "loss 'cross_entropy' with %d classes needs a last layer of %d "
                    "units, but '%s' has %d", classes, classes, last, units);
}
