/* The schema of the experiment file as tables of known keys (fanin__key), and the generic walk
 * that reads a mapping by its table: unknown keys with "did you mean", strict types, ranges,
 * required keys. Top-level, train and diagnostics keys live here; data and model, whose rules
 * go beyond a table, in config_data.c and config_model.c. A new scalar key is one table row,
 * one struct field and its default in set_defaults().
 */
#include "base/errors.h"
#include "base/rng.h"
#include "config/experiment.h"
#include "config/keys.h"
#include "config/loc.h"
#include "config/pref.h"
#include "config/schedule.h"
#include "config/sections.h"
#include "config/tree.h"
#include "config/values.h"
#include "plugin/registry.h"

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

#define OFF(field) offsetof(fanin_experiment, field)
#define NO_MAX FANIN_PARAM_NO_MAX

static int read_batch(fanin__rctx *r, const fanin__key *k, const fanin__node *val, const char *path,
                      void *base);
static int read_name(fanin__rctx *r, const fanin__key *k, const fanin__node *val, const char *path,
                     void *base);
static int read_optimizer(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                          const char *path, void *base);
static int read_coord_check(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                            const char *path, void *base);
static int read_nothing(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                        const char *path, void *base) {
    (void)base;
    (void)k;
    (void)path;
    (void)r;
    (void)val;
    return FANIN_OK; /* sweep: expanded by config.c before the tree gets here */
}

const char *const fanin__rng_names[] = {"philox", "numpy", NULL};
const char *const fanin__loss_names[] = {"bce", "cross_entropy", "mse", NULL};
const char *const fanin__parallel_names[] = {"none", "mpi", NULL};
const char *const fanin__row_threads_names[] = {"auto", "on", "off", NULL};
const char *const fanin__norm_names[] = {"none", "scale255", "standardize", "auto", NULL};

static const fanin__key train_keys[] = {
    {.name = "iterations",
     .type = FANIN__KEY_I64,
     .off = OFF(iterations),
     .flags = NO_MAX,
     .min = 0},
    {.name = "epochs", .type = FANIN__KEY_I64, .off = OFF(epochs), .flags = NO_MAX, .min = 1},
    {.name = "batch", .type = FANIN__KEY_ANY, .off = OFF(batch), .fn = read_batch},
    {.name = "log_every", .type = FANIN__KEY_I64, .off = OFF(log_every), .flags = NO_MAX, .min = 1},
    {.name = "checkpoint_every",
     .type = FANIN__KEY_I64,
     .off = OFF(checkpoint_every),
     .flags = NO_MAX,
     .min = 0},
    {.name = "timeout",
     .type = FANIN__KEY_F64,
     .off = OFF(timeout),
     .flags = NO_MAX,
     .min = 0,
     .doc = "seconds a member may run before it is killed (status timeout); 0 = no limit"},
    {.name = "parallel",
     .type = FANIN__KEY_ENUM,
     .off = OFF(parallel),
     .choices = fanin__parallel_names,
     .doc = "none | mpi"},
    {.name = "row_threads",
     .type = FANIN__KEY_ENUM,
     .off = OFF(row_threads),
     .choices = fanin__row_threads_names,
     .doc = "auto | on | off: split each step's rows over the run's threads"},
    {0},
};

static const fanin__key coord_check_keys[] = {
    {.name = "steps",
     .type = FANIN__KEY_I64,
     .off = OFF(coord_check_steps),
     .flags = NO_MAX,
     .min = 0,
     .doc = "iterations 0..steps are all recorded (layers.csv's act_abs_mean)"},
    {0},
};

static const fanin__key diagnostics_keys[] = {
    {.name = "layer_stats_every",
     .type = FANIN__KEY_I64,
     .off = OFF(layer_stats_every),
     .flags = NO_MAX,
     .min = 0},
    {.name = "coord_check",
     .type = FANIN__KEY_MAP,
     .sub = coord_check_keys,
     .fn = read_coord_check,
     .doc = "{steps: N} (or N): record every iteration 0..N for the coordinate check"},
    {0},
};

const fanin__key fanin__top_keys[] = {
    {.name = "name",
     .type = FANIN__KEY_STR,
     .off = OFF(name),
     .size = sizeof(((fanin_experiment *)0)->name),
     .fn = read_name},
    {.name = "seed", .type = FANIN__KEY_U64, .off = OFF(seed), .flags = NO_MAX, .min = 0},
    {.name = "data_seed", .type = FANIN__KEY_U64, .off = OFF(data_seed), .flags = NO_MAX, .min = 0},
    {.name = "rng", .type = FANIN__KEY_ENUM, .off = OFF(rng), .choices = fanin__rng_names},
    {.name = "threads", .type = FANIN__KEY_INT, .off = OFF(threads), .min = 0, .max = 4096},
    {.name = "data",
     .type = FANIN__KEY_MAP,
     .sub = fanin__data_keys,
     .fn = fanin__resolve_data,
     .flags = FANIN__KEY_REQUIRED,
     .doc = "a mapping with at least 'source'"},
    {.name = "model",
     .type = FANIN__KEY_MAP,
     .sub = fanin__model_keys,
     .fn = fanin__resolve_model,
     .flags = FANIN__KEY_REQUIRED,
     .doc = "a mapping with 'layers': [{units: N}, ...]"},
    {.name = "loss",
     .type = FANIN__KEY_ENUM,
     .off = OFF(loss),
     .choices = fanin__loss_names,
     .flags = FANIN__KEY_REQUIRED,
     .doc = "bce | cross_entropy | mse"},
    {.name = "optimizer",
     .type = FANIN__KEY_PREF,
     .off = OFF(optimizer),
     .kind = FANIN_KIND_OPTIMIZER,
     .fn = read_optimizer},
    {.name = "lr_schedule",
     .type = FANIN__KEY_MAP,
     .sub = fanin__schedule_keys,
     .fn = fanin__resolve_schedule},
    {.name = "train", .type = FANIN__KEY_MAP, .sub = train_keys},
    {.name = "diagnostics", .type = FANIN__KEY_MAP, .sub = diagnostics_keys},
    {.name = "sweep", .type = FANIN__KEY_ANY, .fn = read_nothing},
    {0},
};

/* ---- the custom readers of this file ---- */

static int read_batch(fanin__rctx *r, const fanin__key *k, const fanin__node *val, const char *path,
                      void *base) {
    (void)base;
    (void)k;
    static const fanin_param_spec spec = {"batch", FANIN_PARAM_I64, NO_MAX, 0, 1, 0, 0, 0, 0};
    fanin_value v;
    char msg[FANIN_ERRLEN], got[120];
    if (val->type == FANIN__SCALAR && val->plain && !strcmp(val->text, "full")) {
        r->x->batch = 0;
        return FANIN_OK;
    }
    if (fanin__value_read(&spec, val, &v, msg, sizeof msg) == FANIN_OK) {
        r->x->batch = v.i;
        return FANIN_OK;
    }
    fanin__node_describe(val, got, sizeof got);
    return fanin__rerr(r, val, "'%s' must be full or an integer >= 1 (rows per step), got %s", path,
                       got);
}

static int read_name(fanin__rctx *r, const fanin__key *k, const fanin__node *val, const char *path,
                     void *base) {
    (void)path;
    char *field = (char *)base + k->off;
    if (val->type != FANIN__SCALAR) {
        char got[120];
        fanin__node_describe(val, got, sizeof got);
        return fanin__rerr(r, val, "'name' must be a string, got %s", got);
    }
    const char *t = val->text;
    bool bad = !*t || !strcmp(t, ".") || !strcmp(t, "..");
    for (const char *c = t; *c; c++) bad |= *c == '/' || (unsigned char)*c < 0x20;
    if (bad)
        return fanin__rerr(r, val,
                           "'name' names the run folder: it must not be empty, '.', '..', or "
                           "contain '/' or control characters, got '%s'",
                           t);
    return fanin__key_store_text(r, k, val, "name", field, t);
}

/* `coord_check: {steps: N}`, or the shorthand `coord_check: N`: the same row reads both. */
static int read_coord_check(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                            const char *path, void *base) {
    if (val->type != FANIN__SCALAR) return fanin__apply_map(r, val, k->sub, base, path, 0);
    static const fanin_param_spec spec = {"steps", FANIN_PARAM_I64, NO_MAX, 0, 0, 0, 0, 0, 0};
    fanin_value v;
    char msg[FANIN_ERRLEN];
    if (fanin__value_read(&spec, val, &v, msg, sizeof msg) != FANIN_OK)
        return fanin__rerr(r, val, "'%s' %s (the shorthand of {steps: N})", path, msg);
    r->x->coord_check_steps = v.i;
    return FANIN_OK;
}

/* `optimizer: sgd` or `{name: sgd, lr: 0.1, momentum: 0.9}`: lr is the host's, the rest the
 * plugin's. */
static int read_optimizer(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                          const char *path, void *base) {
    (void)base;
    (void)k;
    (void)path;
    static const fanin_param_spec lr_spec = {
        "lr", FANIN_PARAM_F64, FANIN_PARAM_MIN_EXCL | NO_MAX, 0, 0, 0, 0, 0, 0};
    const fanin__node *lr = fanin__node_get(val, "lr", NULL);
    int rc = FANIN_OK;
    if (!fanin__node_is_null(lr)) {
        fanin_value v;
        char msg[FANIN_ERRLEN];
        if (fanin__value_read(&lr_spec, lr, &v, msg, sizeof msg) != FANIN_OK)
            rc = fanin__rerr(r, lr, "'optimizer.lr' %s", msg);
        else r->x->lr = v.f;
    }
    fanin__pref p;
    if (fanin__pref_from_node(&p, r->reg, FANIN_KIND_OPTIMIZER, val, "lr", r->errs) != FANIN_OK)
        return FANIN_ECONFIG;
    fanin__pref_deinit(&r->x->optimizer);
    r->x->optimizer = p;
    return rc;
}

/* ---- the whole file ---- */

/* The file's base name without .yaml/.yml, made a valid folder name. */
static void default_name(const char *file, char *name, size_t len) {
    const char *b = strrchr(file, '/');
    b = b ? b + 1 : file;
    size_t n = strlen(b);
    if (n > 5 && !strcmp(b + n - 5, ".yaml")) n -= 5;
    else if (n > 4 && !strcmp(b + n - 4, ".yml")) n -= 4;
    snprintf(name, len, "%.*s", (int)n, b);
    for (char *c = name; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == '/') *c = '_';
    if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) snprintf(name, len, "experiment");
}

static void set_defaults(fanin_experiment *x) {
    default_name(x->source_file, x->name, sizeof x->name);
    x->seed = 0;
    x->data_seed = 0; /* seed's, unless given: default_data_seed() */
    x->rng = FANIN_RNG_PHILOX;
    x->threads = 0;
    x->loss = -1;
    x->lr = 0.01;
    x->schedule = (fanin__schedule){0}; /* constant, no warmup */
    x->iterations = 1000;
    x->epochs = 0;
    x->batch = 0;
    x->log_every = 100;
    x->layer_stats_every = 0;
    x->coord_check_steps = 0;
    x->checkpoint_every = 0;
    x->timeout = 0;
    x->parallel = FANIN_PARALLEL_NONE;
    x->row_threads = FANIN_ROW_THREADS_AUTO;
}

static void check_train(fanin__rctx *r) {
    const fanin__node *train = fanin__node_get(r->root, "train", NULL), *ek;
    const fanin__node *it = fanin__node_get(train, "iterations", NULL);
    const fanin__node *ep = fanin__node_get(train, "epochs", &ek);
    if (fanin__node_is_null(ep)) return;
    if (!fanin__node_is_null(it))
        fanin__rerr(r, ek, "give either 'train.iterations' or 'train.epochs', not both");
    r->x->iterations = 0; /* the runner converts epochs once the data size is known */
}

/* Without `data_seed`, the data draws from `seed` as before the key existed (issue 16), so old
 * files give the same minibatches and synthetic sets. */
static void default_data_seed(fanin__rctx *r) {
    if (fanin__node_is_null(fanin__node_get(r->root, "data_seed", NULL)))
        r->x->data_seed = r->x->seed;
}

static void default_optimizer(fanin__rctx *r) {
    if (!fanin__node_is_null(fanin__node_get(r->root, "optimizer", NULL))) return;
    const fanin__entry *e = fanin__registry_find(r->reg, FANIN_KIND_OPTIMIZER, "sgd");
    fanin__loc loc = {r->x->source_file, 0, 0};
    if (!e) {
        fanin__rerr(r, NULL,
                    "no 'optimizer' given and the default 'sgd' was not found "
                    "(plugins searched in: %s)",
                    fanin__registry_search_path(r->reg));
        return;
    }
    fanin__pref_from_entry(&r->x->optimizer, e, NULL, &loc, NULL, r->errs);
}

int fanin__resolve_tree(fanin__rctx *r) {
    int before = r->errs->total;
    set_defaults(r->x);
    fanin__apply_map(r, r->root, fanin__top_keys, r->x, NULL, 0);
    default_data_seed(r);
    check_train(r);
    fanin__check_schedule(r);
    default_optimizer(r);
    if (r->x->n_layers > 0 && r->x->loss >= 0) fanin__check_loss(r);
    return r->errs->total == before ? FANIN_OK : FANIN_ECONFIG;
}

/* ---- sweep paths ---- */

static const fanin__key param_row = {.name = "(plugin parameter)", .type = FANIN__KEY_ANY};

static const fanin__key *path_fail(const char *msg_text, char *msg, size_t msglen) {
    if (msg) snprintf(msg, msglen, "%s", msg_text);
    return NULL;
}

const fanin__key *fanin__schema_find(const char *path, char *near, size_t nearlen, char *msg,
                                     size_t msglen) {
    const fanin__key *row = NULL, *table = fanin__top_keys;
    char buf[300];
    if (near && nearlen) near[0] = '\0';
    for (const char *seg = path; seg;) {
        const char *dot = strchr(seg, '.');
        int n = dot ? (int)(dot - seg) : (int)strlen(seg);
        char name[128];
        snprintf(name, sizeof name, "%.*s", n, seg);
        if (row && row->type == FANIN__KEY_PREF) {
            if (dot)
                return path_fail("goes inside a plugin parameter, which has no keys", msg, msglen);
            return &param_row;
        }
        if (row && row->type == FANIN__KEY_LIST) {
            bool digits = n > 0 && strspn(name, "0123456789") == (size_t)n;
            snprintf(buf, sizeof buf,
                     "indexes the list '%.*s' with '%s'; use a number, e.g. "
                     "model.layers.0.units",
                     (int)(seg - path) - 1, path, name);
            if (!digits) return path_fail(buf, msg, msglen);
            table = row->sub;
            row = NULL;
            seg = dot ? dot + 1 : NULL;
            if (!seg) return &param_row; /* a whole list item */
            continue;
        }
        if (row && row->type != FANIN__KEY_MAP) {
            snprintf(buf, sizeof buf, "does not exist: '%.*s' is a value, not a mapping",
                     (int)(seg - path) - 1, path);
            return path_fail(buf, msg, msglen);
        }
        if (row) table = row->sub;
        const fanin__key *k = fanin__key_find(table, name);
        if (!k) {
            const char *names[64];
            const char *nn = fanin__nearest(name, names, fanin__key_names(table, names, 64, 0));
            if (nn && near)
                snprintf(near, nearlen, "%.*s%s%s", (int)(seg - path), path, nn, dot ? dot : "");
            return path_fail("does not exist", msg, msglen);
        }
        if (k->fn == read_nothing) return path_fail("cannot itself be swept", msg, msglen);
        row = k;
        seg = dot ? dot + 1 : NULL;
    }
    return row;
}
