/* The `data:` section: which keys each source takes, their defaults, and the rules a table
 * cannot say (source first, `classes` a count for synthetic data and a list otherwise, paths
 * made absolute, keys that must come together). Loading the data is data.c's business.
 */
#include "base/errors.h"
#include "config/experiment.h"
#include "config/keys.h"
#include "config/sections.h"
#include "config/tree.h"
#include "config/values.h"

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

/* a source's bit is 1 << its index in fanin__sources */
enum {
    SRC_FMNIST = 1u << 0,
    SRC_IDX = 1u << 1,
    SRC_CSV = 1u << 2,
    SRC_SYNTH = 1u << 3,
    SRC_HDF5 = 1u << 4
};

#define D(field) offsetof(fanin_experiment, data.field)
#define DSIZE(field) sizeof(((fanin_experiment *)0)->data.field)
#define FMNIST_CLASSES 10

const char *const fanin__sources[] = {"fashion-mnist", "idx", "csv", "synthetic", "hdf5", NULL};
const char *const fanin__synth_kinds[] = {"spiral", "moons",          "circles", "xor",
                                          "blobs",  "linear_teacher", NULL};

const char *const fanin__layout_names[] = {"hwc", "chw", NULL};

const char *const fanin__data_key_names[] = {"path",        "test_path",   "images", "labels",
                                             "test_images", "test_labels", "target", NULL};

static int read_source(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                       const char *path, void *base) {
    (void)base;
    (void)k;
    (void)path;
    (void)r;
    (void)val;
    return FANIN_OK; /* read first, by fanin__resolve_data */
}
static int read_classes(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                        const char *path, void *base);
static int read_count(fanin__rctx *r, const fanin__key *k, const fanin__node *val, const char *path,
                      void *base);

const fanin__key fanin__data_keys[] = {
    {.name = "source",
     .type = FANIN__KEY_STR,
     .off = D(source),
     .size = DSIZE(source),
     .choices = fanin__sources,
     .fn = read_source},
    {.name = "path",
     .type = FANIN__KEY_PATH,
     .off = D(path),
     .size = DSIZE(path),
     .sources = SRC_FMNIST | SRC_CSV | SRC_HDF5},
    {.name = "test_path",
     .type = FANIN__KEY_PATH,
     .off = D(test_path),
     .size = DSIZE(test_path),
     .sources = SRC_HDF5},
    {.name = "x", .type = FANIN__KEY_STR, .off = D(x), .size = DSIZE(x), .sources = SRC_HDF5},
    {.name = "y", .type = FANIN__KEY_STR, .off = D(y), .size = DSIZE(y), .sources = SRC_HDF5},
    {.name = "test_x",
     .type = FANIN__KEY_STR,
     .off = D(test_x),
     .size = DSIZE(test_x),
     .sources = SRC_HDF5},
    {.name = "test_y",
     .type = FANIN__KEY_STR,
     .off = D(test_y),
     .size = DSIZE(test_y),
     .sources = SRC_HDF5},
    {.name = "images",
     .type = FANIN__KEY_PATH,
     .off = D(images),
     .size = DSIZE(images),
     .sources = SRC_IDX},
    {.name = "labels",
     .type = FANIN__KEY_PATH,
     .off = D(labels),
     .size = DSIZE(labels),
     .sources = SRC_IDX},
    {.name = "test_images",
     .type = FANIN__KEY_PATH,
     .off = D(test_images),
     .size = DSIZE(test_images),
     .sources = SRC_IDX},
    {.name = "test_labels",
     .type = FANIN__KEY_PATH,
     .off = D(test_labels),
     .size = DSIZE(test_labels),
     .sources = SRC_IDX},
    {.name = "target",
     .type = FANIN__KEY_STR,
     .off = D(target),
     .size = DSIZE(target),
     .sources = SRC_CSV},
    {.name = "kind",
     .type = FANIN__KEY_STR,
     .off = D(kind),
     .size = DSIZE(kind),
     .choices = fanin__synth_kinds,
     .sources = SRC_SYNTH},
    {.name = "n",
     .type = FANIN__KEY_I64,
     .off = D(n),
     .min = 1,
     .max = 100000000,
     .sources = SRC_SYNTH},
    {.name = "noise",
     .type = FANIN__KEY_F64,
     .off = D(noise),
     .min = 0,
     .flags = FANIN_PARAM_NO_MAX,
     .sources = SRC_SYNTH},
    {.name = "features",
     .type = FANIN__KEY_INT,
     .off = D(features),
     .min = 1,
     .max = 4096,
     .sources = SRC_SYNTH},
    {.name = "outputs",
     .type = FANIN__KEY_INT,
     .off = D(outputs),
     .min = 1,
     .max = 4096,
     .sources = SRC_SYNTH},
    {.name = "classes", .type = FANIN__KEY_ANY, .fn = read_classes},
    {.name = "train", .type = FANIN__KEY_ANY, .off = D(train), .fn = read_count},
    {.name = "test", .type = FANIN__KEY_ANY, .off = D(test), .fn = read_count},
    {.name = "normalize",
     .type = FANIN__KEY_ENUM,
     .off = D(normalize),
     .choices = fanin__norm_names},
    {.name = "layout",
     .type = FANIN__KEY_ENUM,
     .off = D(layout),
     .choices = fanin__layout_names,
     .sources = SRC_HDF5},
    {0},
};

static bool is_synthetic(const fanin__rctx *r) { return !strcmp(r->x->data.source, "synthetic"); }

/* `train: 2000` or `train: all` (-1: everything available, or the loader's default split). */
static int read_count(fanin__rctx *r, const fanin__key *k, const fanin__node *val, const char *path,
                      void *base) {
    /* data.test: 0 means no test split (an idx source without test files) */
    int min = strcmp(k->name, "test") ? 1 : 0;
    const fanin_param_spec spec = {"n", FANIN_PARAM_I64, FANIN_PARAM_NO_MAX, 0, min, 0, NULL, NULL,
                                   NULL};
    int64_t *field = (int64_t *)((char *)base + k->off);
    fanin_value v;
    char msg[FANIN_ERRLEN], got[120];
    if (val->type == FANIN__SCALAR && val->plain && !strcmp(val->text, "all")) {
        *field = -1;
        return FANIN_OK;
    }
    if (fanin__value_read(&spec, val, &v, msg, sizeof msg) == FANIN_OK) {
        *field = v.i;
        return FANIN_OK;
    }
    fanin__node_describe(val, got, sizeof got);
    return fanin__rerr(r, val, "'%s' must be an integer >= %d (examples) or all, got %s", path, min,
                       got);
}

/* Synthetic data: how many classes to generate. */
static int read_class_count(fanin__rctx *r, const fanin__node *val, const char *path) {
    static const fanin_param_spec spec = {"classes", FANIN_PARAM_I64,   0,    0,
                                          2,         FANIN_MAX_CLASSES, NULL, NULL,
                                          NULL};
    fanin_value v;
    char msg[FANIN_ERRLEN];
    if (fanin__value_read(&spec, val, &v, msg, sizeof msg) != FANIN_OK)
        return fanin__rerr(r, val, "'%s' (the number of classes to generate) %s", path, msg);
    r->x->data.n_synth_classes = (int)v.i;
    return FANIN_OK;
}

/* A subset of the labels, relabelled 0..k-1 in the order listed. */
static int read_class_list(fanin__rctx *r, const fanin__node *val, const char *path) {
    fanin__data_spec *d = &r->x->data;
    int max = !strcmp(d->source, "fashion-mnist") ? FMNIST_CLASSES - 1 : FANIN_MAX_CLASSES - 1;
    fanin_param_spec spec = {"class", FANIN_PARAM_I64, 0, 0, 0, max, NULL, NULL, NULL};
    char msg[FANIN_ERRLEN], got[120];
    if (val->type == FANIN__SCALAR && val->plain && !strcmp(val->text, "all")) {
        d->n_classes_listed = 0;
        return FANIN_OK;
    }
    if (val->type != FANIN__SEQ || val->n < 2 || val->n > FANIN_MAX_CLASSES) {
        fanin__node_describe(val, got, sizeof got);
        return fanin__rerr(r, val,
                           "'%s' must be all or a list of 2 to %d class labels, e.g. "
                           "[0, 6], got %s%s",
                           path, FANIN_MAX_CLASSES, got,
                           val->type == FANIN__SEQ ? " of that length" : "");
    }
    int rc = FANIN_OK;
    for (size_t i = 0; i < val->n; i++) {
        fanin_value v;
        if (fanin__value_read(&spec, val->vals[i], &v, msg, sizeof msg) != FANIN_OK) {
            rc = fanin__rerr(r, val->vals[i], "'%s.%zu' %s%s", path, i, msg,
                             max == FMNIST_CLASSES - 1 ? " (fashion-mnist has labels 0..9)" : "");
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (d->classes[j] == (int)v.i)
                rc = fanin__rerr(r, val->vals[i], "'%s' lists class %d twice", path, (int)v.i);
        d->classes[i] = (int)v.i;
    }
    d->n_classes_listed = rc == FANIN_OK ? (int)val->n : 0;
    return rc;
}

static int read_classes(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                        const char *path, void *base) {
    (void)base;
    (void)k;
    return is_synthetic(r) ? read_class_count(r, val, path) : read_class_list(r, val, path);
}

/* data.source, read before the other keys because it decides which are allowed. Returns its
 * bit (0 when missing or wrong). */
static unsigned read_source_first(fanin__rctx *r, const fanin__node *map) {
    const fanin__node *kn, *val = fanin__node_get(map, "source", &kn);
    fanin__data_spec *d = &r->x->data;
    if (fanin__node_is_null(val)) {
        fanin__rerr(r, kn ? kn : map,
                    "missing required key 'data.source' (fashion-mnist | idx | "
                    "csv | synthetic | hdf5)");
        return 0;
    }
    fanin_param_spec spec = {"source", FANIN_PARAM_ENUM, 0, 0, 0, 0, fanin__sources, NULL, NULL};
    fanin_value v;
    char msg[FANIN_ERRLEN];
    if (fanin__value_read(&spec, val, &v, msg, sizeof msg) != FANIN_OK) {
        fanin__rerr(r, val, "'data.source' %s", msg);
        return 0;
    }
    snprintf(d->source, sizeof d->source, "%s", fanin__sources[v.e]);
    return 1u << v.e;
}

static void source_defaults(fanin__data_spec *d, unsigned bit) {
    d->train = d->test = -1;
    d->n_classes_listed = 0;
    d->normalize = bit & (SRC_FMNIST | SRC_IDX) ? FANIN_NORM_SCALE255
                   : bit & SRC_HDF5             ? FANIN_NORM_AUTO
                                                : FANIN_NORM_NONE;
    if (bit & SRC_FMNIST) snprintf(d->path, sizeof d->path, "%s", FANIN__FMNIST_DIR);
    if (bit & SRC_HDF5) { /* the course's train_catvnoncat.h5 / test_catvnoncat.h5 names */
        snprintf(d->x, sizeof d->x, "train_set_x");
        snprintf(d->y, sizeof d->y, "train_set_y");
        snprintf(d->test_x, sizeof d->test_x, "test_set_x");
        snprintf(d->test_y, sizeof d->test_y, "test_set_y");
    }
    d->n = bit & SRC_SYNTH ? 1000 : 0;
    d->noise = bit & SRC_SYNTH ? 0.1 : 0.0;
    d->n_synth_classes = 0;
    d->features = d->outputs = 0;
    d->layout = FANIN_LAYOUT_HWC; /* the course's [n, 64, 64, 3] */
}

static void require(fanin__rctx *r, const fanin__node *map, const char *key, const char *why) {
    if (fanin__node_is_null(fanin__node_get(map, key, NULL)))
        fanin__rerr(r, map, "missing required key 'data.%s' (%s)", key, why);
}

/* linear_teacher: a regression target, x 32-D unless data.features says, y as wide as x
 * unless data.outputs says; no classes. */
static void check_teacher(fanin__rctx *r, const fanin__node *map) {
    fanin__data_spec *d = &r->x->data;
    const fanin__node *cn = fanin__node_get(map, "classes", NULL);
    if (!fanin__node_is_null(cn))
        fanin__rerr(r, cn,
                    "synthetic 'linear_teacher' is a regression target (y = T x); "
                    "'classes' does not apply (use loss mse)");
    d->n_synth_classes = 0;
    if (d->features == 0) d->features = 32;
    if (d->outputs == 0) d->outputs = d->features;
}

/* The per-source rules once every key is read. */
static void check_source(fanin__rctx *r, const fanin__node *map, unsigned bit) {
    fanin__data_spec *d = &r->x->data;
    if (bit & SRC_IDX) {
        require(r, map, "images", "the training images' IDX file");
        require(r, map, "labels", "the training labels' IDX file");
        if (!*d->test_images != !*d->test_labels)
            fanin__rerr(r, map,
                        "'data.test_images' and 'data.test_labels' go together: give "
                        "both or neither");
    } else if (bit & SRC_CSV) {
        require(r, map, "path", "the csv file, with a header row");
        require(r, map, "target", "the name of the column to predict");
    } else if (bit & SRC_HDF5) {
        require(r, map, "path", "the .h5 file holding the training datasets");
        const char *names[] = {d->x, d->y, d->test_x, d->test_y},
                   *keys[] = {"x", "y", "test_x", "test_y"};
        for (int i = 0; i < 4; i++)
            if (!*names[i])
                fanin__rerr(r, fanin__node_get(map, keys[i], NULL),
                            "'data.%s' is empty; give "
                            "a dataset name (default %s_set_%s)",
                            keys[i], i < 2 ? "train" : "test", i % 2 ? "y" : "x");
    }
    if (d->normalize == FANIN_NORM_AUTO && !(bit & SRC_HDF5) && bit)
        fanin__rerr(r, fanin__node_get(map, "normalize", NULL),
                    "'data.normalize: auto' is for "
                    "source hdf5 (scale255 when x is uint8); use none, scale255 or standardize");
    if (bit & SRC_SYNTH) {
        require(r, map, "kind", "spiral | moons | circles | xor | blobs | linear_teacher");
        if (!strcmp(d->kind, "linear_teacher")) {
            check_teacher(r, map);
            return;
        }
        if (d->features || d->outputs)
            fanin__rerr(r, map,
                        "'data.features' and 'data.outputs' are for synthetic "
                        "linear_teacher; '%s' is 2-D",
                        d->kind);
        bool fixed = !strcmp(d->kind, "moons") || !strcmp(d->kind, "circles") ||
                     !strcmp(d->kind, "xor");
        const fanin__node *cn = fanin__node_get(map, "classes", NULL);
        if (fixed && d->n_synth_classes != 0 && d->n_synth_classes != 2)
            fanin__rerr(r, cn,
                        "synthetic '%s' has 2 classes, not %d; 'classes' is for spiral "
                        "and blobs",
                        d->kind, d->n_synth_classes);
        if (d->n_synth_classes == 0) d->n_synth_classes = !strcmp(d->kind, "spiral") ? 3 : 2;
    }
}

/* Where each enum fanin__data_key value was written, for the data checks' messages; a key
 * left to its default (fashion-mnist's folder) points at data.source. */
static void record_locs(fanin__rctx *r, const fanin__node *map) {
    const fanin__node *src = fanin__node_get(map, "source", NULL);
    for (int k = 0; k < FANIN__DK_COUNT; k++) {
        const fanin__node *v = fanin__node_get(map, fanin__data_key_names[k], NULL);
        r->x->data_loc[k] = !fanin__node_is_null(v) ? v->loc : src ? src->loc : map->loc;
    }
}

int fanin__resolve_data(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                        const char *path, void *base) {
    (void)k;
    if (val->type != FANIN__MAP) {
        char got[120];
        fanin__node_describe(val, got, sizeof got);
        return fanin__rerr(r, val, "'data' must be a mapping (source: ..., ...), got %s", got);
    }
    int before = r->errs->total;
    unsigned bit = read_source_first(r, val);
    source_defaults(&r->x->data, bit);
    fanin__apply_map(r, val, fanin__data_keys, base, path, bit);
    check_source(r, val, bit);
    record_locs(r, val);
    return r->errs->total == before ? FANIN_OK : FANIN_ECONFIG;
}

/* The number of classes the data has, when the file says it (0 when only the data knows). */
int fanin__data_class_count(const fanin__data_spec *d) {
    if (d->n_classes_listed > 0) return d->n_classes_listed;
    if (!strcmp(d->source, "synthetic")) return d->n_synth_classes;
    if (!strcmp(d->source, "fashion-mnist")) return FMNIST_CLASSES;
    return 0;
}
