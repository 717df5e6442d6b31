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

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* What model: is read into before the layers are expanded into the experiment. */
typedef struct model_state {
    fanin__layer_spec defaults; /* entry NULL where model.defaults does not say */
    const fanin__node *layers;  /* the list, read once the defaults are known */
    int pz;                     /* model.parametrization */
    double base_width;          /* model.base_width */
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
    {.name = "parametrization",
     .type = FANIN__KEY_ENUM,
     .off = offsetof(model_state, pz),
     .choices = fanin__pz_names},
    {.name = "base_width",
     .type = FANIN__KEY_F64,
     .off = offsetof(model_state, base_width),
     .min = 0,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX,
     .doc = "the base model's hidden width, e.g. 64"},
    {0},
};

/* ---- model.parametrization: each dense layer's factors (experiment.h: fanin__pz) ---- */

const char *const fanin__pz_names[] = {"standard", "ntk", "mup", NULL};
const char *const fanin__pz_role_names[] = {"", "input", "hidden", "output", NULL};

bool fanin__pz_adam_like(const char *name) {
    static const char *const adam[] = {"adam",    "adamw",   "adamax",   "nadam", "radam",
                                       "rmsprop", "adagrad", "adadelta", NULL};
    for (int i = 0; name && adam[i]; i++)
        if (!strcmp(name, adam[i])) return true;
    return false;
}

/* μP (Tensor Programs V, Table 3, in the mup package's form: MuReadout with its parameters
 * rescaled by set_base_shapes, MuSGD, MuAdam). m_in, m_out: fan_in / base_width and
 * fan_out / base_width of the dimensions that are widths (the input's and the output's are
 * not). SGD: vector-like lr * m (its one width), matrix-like lr * m_out / m_in; Adam:
 * matrix-like lr / m_in, vector-like lr * 1; output: Z = (x / m_in) W^T + b with W and b drawn
 * times sqrt(m_in), the output bias fixed (lr * 1). A hidden layer's bias is drawn times
 * sqrt(m_in) too (the package's rescale_linear_bias: a fan-in dependent bias init, PyTorch's
 * U(+-1/sqrt(fan_in)), keeps the base model's scale). */
static void set_mup(fanin__pz *p, int role, double m_in, double m_out) {
    *p = (fanin__pz){.role = role, .init = 1, .bias_init = 1, .out = 1};
    p->lr[1] = p->bias_lr[1] = 1;
    if (role == FANIN_PZ_INPUT) {
        p->lr[0] = p->bias_lr[0] = m_out;
    } else if (role == FANIN_PZ_HIDDEN) {
        p->bias_init = sqrt(m_in);
        p->lr[0] = m_out / m_in;
        p->bias_lr[0] = m_out;
        p->lr[1] = 1 / m_in;
    } else {
        p->out = 1 / m_in;
        p->init = p->bias_init = sqrt(m_in);
        p->lr[0] = m_in;
        p->bias_lr[0] = 1;
    }
}

/* The weight layers under a parametrization must be dense (only dropout and flatten between):
 * their indices into d; -1 after an error at the first other layer. */
static int pz_dense_layers(fanin__rctx *r, int *d) {
    fanin_experiment *x = r->x;
    int n = 0;
    for (int l = 0; l < x->n_layers; l++) {
        int t = x->layers[l].type;
        if (t == FANIN_LAYER_DENSE) d[n++] = l;
        if (t == FANIN_LAYER_DENSE || t == FANIN_LAYER_DROPOUT || t == FANIN_LAYER_FLATTEN)
            continue;
        fanin__errs_add(r->errs, FANIN_ECONFIG, &x->layers[l].loc,
                        "model.parametrization %s supports dense layers (with dropout and "
                        "flatten between) only, and this layer is %s; use parametrization: "
                        "standard for this model",
                        fanin__pz_names[x->parametrization], fanin__layer_type_names[t]);
        return -1;
    }
    return n;
}

/* Each dense layer's role (first input, last output, the others hidden) and factors. */
static int apply_pz(fanin__rctx *r, const fanin__node *model, const model_state *m) {
    fanin_experiment *x = r->x;
    x->parametrization = m->pz;
    x->base_width = m->base_width;
    if (m->pz == FANIN_PZ_STANDARD) return FANIN_OK;
    const fanin__node *at = fanin__node_get(model, "parametrization", NULL);
    if (m->pz == FANIN_PZ_MUP && !(m->base_width > 0))
        return fanin__rerr(r, at,
                           "'model.parametrization: mup' needs model.base_width, the hidden "
                           "width of the base model its learning rate is tuned on (e.g. "
                           "base_width: 64)");
    int *d = malloc(sizeof(int) * (size_t)(x->n_layers + 1)), n = d ? pz_dense_layers(r, d) : -1;
    if (n >= 0 && n < 2)
        fanin__rerr(r, at,
                    "model.parametrization %s needs at least two dense layers (an input and "
                    "an output layer), and the model has %d",
                    fanin__pz_names[m->pz], n);
    for (int k = 0; n >= 2 && k < n; k++) {
        fanin__layer_spec *s = &x->layers[d[k]];
        int role = k == 0 ? FANIN_PZ_INPUT : k == n - 1 ? FANIN_PZ_OUTPUT : FANIN_PZ_HIDDEN;
        if (m->pz == FANIN_PZ_NTK) s->pz = (fanin__pz){.role = role, .fan_in = true};
        else
            set_mup(&s->pz, role, k ? x->layers[d[k - 1]].units / m->base_width : 1,
                    s->units / m->base_width);
    }
    free(d);
    return n >= 2 ? FANIN_OK : FANIN_ECONFIG;
}

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
    if (rc == FANIN_OK && m.layers && apply_pz(r, val, &m) != FANIN_OK) rc = FANIN_ECONFIG;
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
