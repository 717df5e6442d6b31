/* model.layers: each layer's kind (`type:`, dense unless written) and the keys that kind takes
 * with their defaults, `repeat: N`, and residual blocks expanded into the flat layer list
 * (RESIDUAL_OPEN, the branch, RESIDUAL_CLOSE, per block), every spec with its place in the
 * file, its tensors' module name and its position in a branch. model.defaults and the checks
 * against the loss and the data are section_model.c's; shapes are the engine's business.
 */
#include "config/layers.h"
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
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- defaults ---- */

/* What reading the layers needs besides the file. */
typedef struct layers_ctx {
    fanin__rctx *r;
    const fanin__node *model;          /* the model: mapping (located messages) */
    const fanin__layer_spec *defaults; /* model.defaults: entry NULL where not given */
    const fanin__node *item;           /* the model.layers item being expanded */
    fanin__pref linear;                /* the activation of kinds without one (entry NULL
                                         * until first needed) */
    int cap;                           /* room in r->x->layers */
    int module;                        /* the next top-level module: tensor names */
    bool too_many;                     /* the FANIN_MAX_LAYERS error was given */
} layers_ctx;

/* A built-in plugin by name into p, the reference located at `at`; `key` names the key that
 * would replace it. */
static int builtin(layers_ctx *c, const fanin__node *at, int kind, const char *name,
                   const char *key, fanin__pref *p) {
    const fanin__entry *e = fanin__registry_find(c->r->reg, kind, name);
    if (!e)
        return fanin__rerr(c->r, at,
                           "the built-in %s '%s' was not found (plugins searched in: "
                           "%s); give %s",
                           fanin__kind_name(kind), name, fanin__registry_search_path(c->r->reg),
                           key);
    return fanin__pref_from_entry(p, e, NULL, &at->loc, NULL, c->r->errs);
}

/* The `linear` activation of kinds without one: the engine asks every layer for its gain. */
static int linear_into(layers_ctx *c, const fanin__node *at, fanin__pref *p) {
    if (p->entry) return FANIN_OK;
    if (!c->linear.entry) {
        int rc = builtin(c, at, FANIN_KIND_ACTIVATION, "linear", "an activation plugin path",
                         &c->linear);
        if (rc != FANIN_OK) return rc;
    }
    return fanin__pref_copy(p, &c->linear) == FANIN_OK
               ? FANIN_OK
               : fanin__errs_add(c->r->errs, FANIN_ENOMEM, NULL, "out of memory");
}

/* The model.defaults slot (`which`: activation, init or bias_init) into p unless p is set. */
static int model_default(layers_ctx *c, fanin__pref *p, const char *which) {
    static const char *const builtins[][2] = {{"activation", "relu"},
                                              {"init", "lecun_normal"},
                                              {"bias_init", "zeros"}};
    if (p->entry) return FANIN_OK;
    const fanin__pref *d = !strcmp(which, "activation") ? &c->defaults->activation
                           : !strcmp(which, "init")     ? &c->defaults->init
                                                        : &c->defaults->bias_init;
    if (d->entry)
        return fanin__pref_copy(p, d) == FANIN_OK
                   ? FANIN_OK
                   : fanin__errs_add(c->r->errs, FANIN_ENOMEM, NULL, "out of memory");
    const fanin__node *defs = fanin__node_get(c->model, "defaults", NULL);
    if (!fanin__node_is_null(fanin__node_get(defs, which, NULL))) return FANIN_ECONFIG; /* told */
    int kind = strcmp(which, "activation") ? FANIN_KIND_INITIALIZER : FANIN_KIND_ACTIVATION;
    char key[40];
    snprintf(key, sizeof key, "model.defaults.%s", which);
    for (size_t i = 0; i < 3; i++)
        if (!strcmp(builtins[i][0], which))
            return builtin(c, c->model, kind, builtins[i][1], key, p);
    return FANIN_ECONFIG;
}

/* Each kind's prefs once its keys are read: dense and conv2d from model.defaults; the norms'
 * gamma and beta ones and zeros; a residual's projection from model.defaults; the activation
 * after a residual sum linear; the kinds without an activation `linear`. */
static int fill_prefs(layers_ctx *c, const fanin__node *item, layer_item *it) {
    fanin__layer_spec *s = &it->s;
    int rc = FANIN_OK;
    switch (s->type) {
    case FANIN_LAYER_DENSE:
    case FANIN_LAYER_CONV2D:
        if (model_default(c, &s->activation, "activation") != FANIN_OK) rc = FANIN_ECONFIG;
        if (model_default(c, &s->init, "init") != FANIN_OK) rc = FANIN_ECONFIG;
        if (model_default(c, &s->bias_init, "bias_init") != FANIN_OK) rc = FANIN_ECONFIG;
        return rc;
    case FANIN_LAYER_BATCHNORM:
    case FANIN_LAYER_LAYERNORM:
        if (!s->init.entry &&
            builtin(c, item, FANIN_KIND_INITIALIZER, "ones", "init", &s->init) != FANIN_OK)
            rc = FANIN_ECONFIG;
        if (!s->bias_init.entry && builtin(c, item, FANIN_KIND_INITIALIZER, "zeros", "bias_init",
                                           &s->bias_init) != FANIN_OK)
            rc = FANIN_ECONFIG;
        break;
    case FANIN_LAYER_RESIDUAL_OPEN:
        if (s->projection && model_default(c, &s->init, "init") != FANIN_OK) rc = FANIN_ECONFIG;
        if (s->projection && model_default(c, &s->bias_init, "bias_init") != FANIN_OK)
            rc = FANIN_ECONFIG;
        break;
    default: break;
    }
    if (linear_into(c, item, &s->activation) != FANIN_OK) rc = FANIN_ECONFIG;
    return rc;
}

static void kind_defaults(layer_item *it, int type) {
    memset(it, 0, sizeof *it);
    it->repeat = 1;
    it->s.type = type;
    it->s.link = -1;
    it->s.block = it->s.pos = -1;
    it->s.bias = true;
    it->s.stride = type == FANIN_LAYER_CONV2D ? 1 : 0; /* pools: = kernel, once it is known */
    it->s.padding = type == FANIN_LAYER_CONV2D ? FANIN_PAD_VALID : 0;
    it->s.eps = 1e-5;
    it->s.momentum = 0.1;
    it->s.p = 0.5;
    it->s.scale = FANIN_SCALE_ONE;
    it->s.scale_init = 0.0; /* SkipInit's alpha starts at 0 (De & Smith 2020) */
    it->s.lr_scale = it->s.wd_scale = it->s.bias_lr_scale = it->s.bias_wd_scale = NAN; /* unset */
}

/* s's multipliers where it has none of its own: the enclosing block's (p), and a bias's the
 * layer's own when it has them. */
static void inherit_scales(fanin__layer_spec *s, const fanin__layer_spec *p) {
    if (isnan(s->bias_lr_scale))
        s->bias_lr_scale = isnan(s->lr_scale) ? p->bias_lr_scale : s->lr_scale;
    if (isnan(s->bias_wd_scale))
        s->bias_wd_scale = isnan(s->wd_scale) ? p->bias_wd_scale : s->wd_scale;
    if (isnan(s->lr_scale)) s->lr_scale = p->lr_scale;
    if (isnan(s->wd_scale)) s->wd_scale = p->wd_scale;
}

static void item_deinit(layer_item *it) {
    fanin__pref_deinit(&it->s.activation);
    fanin__pref_deinit(&it->s.init);
    fanin__pref_deinit(&it->s.bias_init);
}

/* ---- reading one item ---- */

/* `type:` of item: the enum value, or -1 (reported). */
static int item_type(fanin__rctx *r, const fanin__node *item, const char *path) {
    const fanin__node *val = fanin__node_get(item, "type", NULL);
    if (fanin__node_is_null(val)) return FANIN_LAYER_DENSE;
    fanin_param_spec spec = {"type", FANIN_PARAM_ENUM,          0,    0,   0,
                             0,      fanin__layer_type_choices, NULL, NULL};
    fanin_value v;
    char msg[FANIN_ERRLEN];
    if (fanin__value_read(&spec, val, &v, msg, sizeof msg) == FANIN_OK) return v.e;
    fanin__rerr(r, val, "'%s.type' %s", path, msg);
    return -1;
}

static void names_text(const fanin__key *table, char *buf, size_t len) {
    size_t o = 0;
    buf[0] = '\0';
    for (const fanin__key *k = table; k->name && o < len; k++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", k == table ? "" : ", ", k->name);
}

/* The keys of item by its kind's table; a key only other kinds take is named as such. */
static int read_keys(fanin__rctx *r, const fanin__node *item, const fanin__key *table,
                     layer_item *it, const char *path) {
    fanin__node view = *item; /* the keys this kind may take, borrowed */
    int rc = FANIN_OK;
    view.keys = malloc((item->n ? item->n : 1) * sizeof *view.keys);
    view.vals = malloc((item->n ? item->n : 1) * sizeof *view.vals);
    view.n = 0;
    if (!view.keys || !view.vals) {
        free(view.keys);
        free(view.vals);
        return fanin__errs_add(r->errs, FANIN_ENOMEM, NULL, "out of memory");
    }
    for (size_t i = 0; i < item->n; i++) {
        const char *name = item->keys[i]->text;
        if (!fanin__key_find(table, name) && fanin__key_find(fanin__layer_keys, name)) {
            char list[400];
            names_text(table, list, sizeof list);
            rc = fanin__rerr(r, item->keys[i],
                             "'%s.%s' is not a key of a %s layer (its keys: "
                             "%s)",
                             path, name, fanin__layer_type_choices[it->s.type], list);
            continue;
        }
        view.keys[view.n] = item->keys[i];
        view.vals[view.n++] = item->vals[i];
    }
    if (fanin__apply_map(r, &view, table, it, path, 0) != FANIN_OK) rc = FANIN_ECONFIG;
    free(view.keys);
    free(view.vals);
    return rc;
}

/* A residual's keys that only apply with others. */
static int residual_rules(fanin__rctx *r, const fanin__node *item, const layer_item *it,
                          const char *path) {
    int rc = FANIN_OK;
    const fanin__node *kn = NULL;
    if (!fanin__node_is_null(fanin__node_get(item, "scale_init", &kn)) &&
        it->s.scale != FANIN_SCALE_SKIPINIT)
        rc = fanin__rerr(r, kn,
                         "'%s.scale_init' is the starting alpha of scale: skipinit, but "
                         "the scale is %s",
                         path, fanin__scale_names[it->s.scale]);
    static const char *const proj_keys[] = {"init", "bias_init"};
    for (int i = 0; i < 2 && !it->s.projection; i++)
        if (!fanin__node_is_null(fanin__node_get(item, proj_keys[i], &kn)))
            rc = fanin__rerr(r, kn,
                             "'%s.%s' initialises the skip path's projection; add "
                             "projection: true, or move it to the branch's layers",
                             path, proj_keys[i]);
    return rc;
}

/* One item into it (prefs owned by it, also on error). depth 1: inside a residual branch. */
static int read_item(layers_ctx *c, const fanin__node *item, const char *path, int depth,
                     layer_item *it) {
    fanin__rctx *r = c->r;
    kind_defaults(it, FANIN_LAYER_DENSE);
    if (item->type != FANIN__MAP) {
        char got[120];
        fanin__node_describe(item, got, sizeof got);
        return fanin__rerr(r, item, "'%s' must be a mapping like {units: 20}, got %s", path, got);
    }
    int type = item_type(r, item, path);
    if (type < 0) return FANIN_ECONFIG;
    kind_defaults(it, type);
    if (type == FANIN_LAYER_RESIDUAL_OPEN && depth > 0)
        return fanin__rerr(r, fanin__node_get(item, "type", NULL),
                           "'%s': a residual block "
                           "inside a residual branch is not supported; put the blocks one after "
                           "another in model.layers",
                           path);
    int rc = read_keys(r, item, fanin__layer_kind_keys[type], it, path);
    if (type == FANIN_LAYER_RESIDUAL_OPEN && residual_rules(r, item, it, path) != FANIN_OK)
        rc = FANIN_ECONFIG;
    if ((type == FANIN_LAYER_MAXPOOL2D || type == FANIN_LAYER_AVGPOOL2D) && it->s.stride == 0)
        it->s.stride = it->s.kernel; /* PyTorch's default stride */
    if (rc == FANIN_OK) rc = fill_prefs(c, item, it);
    return rc;
}

/* ---- the flat list ---- */

/* A new zeroed spec at the end of the list, or NULL (reported once, at the item). */
static fanin__layer_spec *push(layers_ctx *c) {
    fanin_experiment *x = c->r->x;
    if (x->n_layers == FANIN_MAX_LAYERS) {
        if (!c->too_many)
            fanin__rerr(c->r, c->item,
                        "the model has more than %d layers after repeat and residual "
                        "blocks are expanded",
                        FANIN_MAX_LAYERS);
        c->too_many = true;
        return NULL;
    }
    if (x->n_layers == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        if (cap > FANIN_MAX_LAYERS) cap = FANIN_MAX_LAYERS;
        fanin__layer_spec *l = realloc(x->layers, (size_t)cap * sizeof *l);
        if (!l) {
            fanin__errs_add(c->r->errs, FANIN_ENOMEM, NULL, "out of memory");
            return NULL;
        }
        x->layers = l;
        c->cap = cap;
    }
    fanin__layer_spec *s = &x->layers[x->n_layers++];
    memset(s, 0, sizeof *s);
    return s;
}

/* A copy of src (prefs copied) at the end of the list, located at `at`, named `name`. */
static int push_copy(layers_ctx *c, const fanin__layer_spec *src, const fanin__node *at,
                     const char *name) {
    fanin__layer_spec *s = push(c);
    if (!s) return FANIN_ECONFIG;
    *s = *src;
    memset(&s->activation, 0, sizeof s->activation);
    memset(&s->init, 0, sizeof s->init);
    memset(&s->bias_init, 0, sizeof s->bias_init);
    s->loc = at->loc;
    snprintf(s->name, sizeof s->name, "%s", name);
    if (fanin__pref_copy(&s->activation, &src->activation) ||
        fanin__pref_copy(&s->init, &src->init) || fanin__pref_copy(&s->bias_init, &src->bias_init))
        return fanin__errs_add(c->r->errs, FANIN_ENOMEM, NULL, "out of memory");
    return FANIN_OK;
}

/* A layer outside any block, `repeat` times: modules layers.M, layers.M+1, ... */
static int expand_plain(layers_ctx *c, const fanin__node *item, const layer_item *it) {
    for (int64_t k = 0; k < it->repeat; k++) {
        char name[64];
        snprintf(name, sizeof name, "layers.%d", c->module++);
        if (push_copy(c, &it->s, item, name) != FANIN_OK) return FANIN_ECONFIG;
    }
    return FANIN_OK;
}

/* A residual block's branch items, read once for every block. */
typedef struct branch {
    layer_item *items;
    const fanin__node *const *nodes;
    size_t n;
    int weights; /* weight layers per block, repeats counted */
} branch;

static int read_branch(layers_ctx *c, const layer_item *it, const char *path, branch *b) {
    const fanin__node *l = it->branch;
    memset(b, 0, sizeof *b);
    if (l->type != FANIN__SEQ || l->n == 0) {
        char got[120];
        fanin__node_describe(l, got, sizeof got);
        return fanin__rerr(c->r, l,
                           "'%s.layers' must list the branch's layers, e.g. "
                           "[{units: 64}, {units: 64, activation: linear}], got %s",
                           path, l->type == FANIN__SEQ ? "an empty list" : got);
    }
    if (!(b->items = calloc(l->n, sizeof *b->items)))
        return fanin__errs_add(c->r->errs, FANIN_ENOMEM, NULL, "out of memory");
    b->nodes = (const fanin__node *const *)l->vals;
    b->n = l->n;
    int rc = FANIN_OK;
    for (size_t j = 0; j < l->n; j++) {
        char sub[96];
        snprintf(sub, sizeof sub, "%s.layers.%zu", path, j);
        if (read_item(c, l->vals[j], sub, 1, &b->items[j]) != FANIN_OK) rc = FANIN_ECONFIG;
        else if (fanin__layer_has_weight(b->items[j].s.type)) b->weights += (int)b->items[j].repeat;
    }
    return rc;
}

static void branch_free(branch *b) {
    for (size_t j = 0; j < b->n; j++) item_deinit(&b->items[j]);
    free(b->items);
}

/* Block k of the residual item `it` (module `mod`): open, branch, close. */
static int expand_block(layers_ctx *c, const fanin__node *item, const layer_item *it,
                        const branch *b, int mod, int k) {
    fanin__layer_spec open = {.type = FANIN_LAYER_RESIDUAL_OPEN, .pos = -1}, close = it->s;
    char name[32];
    snprintf(name, sizeof name, "layers.%d.%d", mod, k);
    int first = c->r->x->n_layers, rc = linear_into(c, item, &open.activation);
    open.block = close.block = k;
    open.n_blocks = close.n_blocks = (int)it->repeat;
    open.branch_len = close.branch_len = b->weights;
    open.lr_scale = it->s.lr_scale, open.wd_scale = it->s.wd_scale;
    open.bias_lr_scale = it->s.bias_lr_scale, open.bias_wd_scale = it->s.bias_wd_scale;
    if (rc == FANIN_OK) rc = push_copy(c, &open, item, name);
    fanin__pref_deinit(&open.activation);
    int at = 0, w = 0;
    for (size_t j = 0; rc == FANIN_OK && j < b->n; j++)
        for (int64_t rep = 0; rc == FANIN_OK && rep < b->items[j].repeat; rep++, at++) {
            fanin__layer_spec s = b->items[j].s;
            s.block = k;
            s.n_blocks = (int)it->repeat;
            s.branch_len = b->weights;
            s.pos = fanin__layer_has_weight(s.type) ? w++ : w - 1;
            inherit_scales(&s, &it->s);
            char member[64];
            snprintf(member, sizeof member, "%s.branch.%d", name, at);
            rc = push_copy(c, &s, b->nodes[j], member);
        }
    close.type = FANIN_LAYER_RESIDUAL_CLOSE;
    close.pos = -1;
    close.link = first;
    if (rc == FANIN_OK) rc = push_copy(c, &close, item, name);
    if (rc == FANIN_OK) c->r->x->layers[first].link = c->r->x->n_layers - 1;
    return rc;
}

static int expand_residual(layers_ctx *c, const fanin__node *item, const layer_item *it,
                           const char *path) {
    branch b;
    int rc = read_branch(c, it, path, &b), mod = c->module++;
    for (int64_t k = 0; rc == FANIN_OK && k < it->repeat; k++)
        rc = expand_block(c, item, it, &b, mod, (int)k);
    branch_free(&b);
    return rc;
}

static int read_top_item(layers_ctx *c, const fanin__node *item, size_t i) {
    char path[64];
    layer_item it;
    snprintf(path, sizeof path, "model.layers.%zu", i);
    c->item = item;
    int rc = read_item(c, item, path, 0, &it);
    inherit_scales(&it.s, &(fanin__layer_spec){.lr_scale = 1,
                                               .wd_scale = 1,
                                               .bias_lr_scale = 1,
                                               .bias_wd_scale = 1});
    if (rc == FANIN_OK)
        rc = it.s.type == FANIN_LAYER_RESIDUAL_OPEN ? expand_residual(c, item, &it, path)
                                                    : expand_plain(c, item, &it);
    item_deinit(&it);
    return rc;
}

int fanin__read_layers(fanin__rctx *r, const fanin__node *model, const fanin__layer_spec *defaults,
                       const fanin__node *layers) {
    layers_ctx c = {.r = r, .model = model, .defaults = defaults};
    if (layers->type != FANIN__SEQ || layers->n == 0) {
        char got[120];
        fanin__node_describe(layers, got, sizeof got);
        return fanin__rerr(r, layers,
                           "'model.layers' must list at least one layer, e.g. "
                           "[{units: 20}, {units: 1}], got %s",
                           layers->type == FANIN__SEQ ? "an empty list" : got);
    }
    int rc = FANIN_OK;
    for (size_t i = 0; i < layers->n; i++)
        if (read_top_item(&c, layers->vals[i], i) != FANIN_OK) rc = FANIN_ECONFIG;
    fanin__pref_deinit(&c.linear);
    return rc;
}
