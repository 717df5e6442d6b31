/* HDF5 files: the `hdf5` source, laid out as the classic course's train_catvnoncat.h5 and
 * test_catvnoncat.h5. x is [n, ...] of any numeric type, flattened row-major to [n, features],
 * a 4-D x's images [h, w, c] (data.layout: hwc, the course's) transposed to [c, h, w] for a
 * model that reads images (spec->model_images);
 * y is [n], [1, n] or [n, 1]: integer labels are classes, float values regression targets
 * ([n, k] float too). Test datasets come from data.test_path (else data.path); a file with
 * neither test dataset is split like csv. Read through libhdf5 with its own error printing off,
 * so the only message is ours, naming file and dataset. Class rules and scaling: data.c.
 */
#include "base/errors.h"
#include "config/experiment.h"
#include "data/data.h"
#include "data/dataset.h"

#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define H5_MAX_LISTED 32 /* dataset names a "no dataset" message lists */

/* One split's request: the file, its datasets and the config keys that name them. */
typedef struct h5_req {
    const char *path, *path_key; /* the file; "data.path" or "data.test_path" */
    const char *x, *y, *x_key, *y_key;
    const char *split, *limit_key; /* "training", "data.train" */
    int64_t want;                  /* examples asked for; -1 = all */
    int layout;                    /* enum fanin__layout: a 4-D x's */
    int images;                    /* the model reads images: a 4-D x as [c, h, w] */
} h5_req;

/* One split as read: every row of the file, in order. */
typedef struct h5_split {
    int64_t n, features;
    fanin__data_shape shape; /* one example, as stored in x (CHW) */
    int y_dim;
    int u8;         /* x is unsigned 8-bit (images): what normalize auto scales */
    int int_labels; /* y has an integer type */
    float *x;       /* [n, features] */
    double *y;      /* [n, y_dim]; in class mode the class index, or -1 for a dropped row */
} h5_split;

/* An open dataset and what it holds. */
typedef struct h5_set {
    hid_t id;
    int rank;
    hsize_t dims[H5S_MAX_RANK];
    H5T_class_t cls;
    int u8;
} h5_set;

static void shape_text(const h5_set *s, char *buf, size_t len) {
    size_t o = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < s->rank && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%llu", i ? ", " : "",
                              (unsigned long long)s->dims[i]);
    if (o < len) snprintf(buf + o, len - o, "]");
}

/* ---- files and datasets ---- */

static int open_file(const h5_req *q, hid_t *f, char *err, size_t errlen) {
    struct stat st;
    if (stat(q->path, &st) != 0)
        return fanin__errf(err, errlen, FANIN_EDATA, "%s: cannot read '%s': %s", q->path_key,
                           q->path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: '%s' is a folder; it names an HDF5 "
                           "file (.h5)",
                           q->path_key, q->path);
    if (H5Fis_hdf5(q->path) <= 0)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: not an HDF5 file (no HDF5 signature); "
                           "check %s",
                           q->path, q->path_key);
    *f = H5Fopen(q->path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*f < 0)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: libhdf5 cannot open it (corrupt, or a "
                           "file system without locks: set HDF5_USE_FILE_LOCKING=FALSE)",
                           q->path);
    return FANIN_OK;
}

typedef struct h5_names {
    char *v[H5_MAX_LISTED];
    int n, more;
} h5_names;

/* H5Literate callback: collect the top level's datasets. */
static herr_t collect(hid_t g, const char *name, const H5L_info_t *info, void *op) {
    (void)info;
    h5_names *nm = op;
    hid_t o = H5Oopen(g, name, H5P_DEFAULT);
    if (o < 0) return 0;
    if (H5Iget_type(o) == H5I_DATASET) {
        if (nm->n < H5_MAX_LISTED && (nm->v[nm->n] = strdup(name))) nm->n++;
        else nm->more++;
    }
    H5Oclose(o);
    return 0;
}

/* "no dataset 'train_set_z' (data.x); did you mean 'train_set_x'? datasets: a, b" */
static int missing(hid_t f, const char *path, const char *name, const char *key, char *err,
                   size_t errlen) {
    h5_names nm = {{0}, 0, 0};
    char list[1024] = "";
    size_t o = 0;
    H5Literate(f, H5_INDEX_NAME, H5_ITER_INC, NULL, collect, &nm);
    for (int i = 0; i < nm.n && o < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", nm.v[i]);
    if (nm.more && o < sizeof list) snprintf(list + o, sizeof list - o, " and %d more", nm.more);
    if (!nm.n) snprintf(list, sizeof list, "none at the file's top level");
    const char *near = fanin__nearest(name, (const char *const *)nm.v, (size_t)nm.n);
    int rc = fanin__errf(err, errlen, FANIN_EDATA, "%s: no dataset '%s' (%s)%s%s%s datasets: %s",
                         path, name, key, near ? "; did you mean '" : ";", near ? near : "",
                         near ? "'?" : "", list);
    for (int i = 0; i < nm.n; i++) free(nm.v[i]);
    return rc;
}

/* Open dataset `name`: its shape and type class; only integers and floats are data. */
static int open_set(hid_t f, const char *path, const char *name, const char *key, h5_set *s,
                    char *err, size_t errlen) {
    s->id = H5Dopen2(f, name, H5P_DEFAULT);
    if (s->id < 0) return missing(f, path, name, key, err, errlen);
    hid_t t = H5Dget_type(s->id), sp = H5Dget_space(s->id);
    s->cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    s->u8 = s->cls == H5T_INTEGER && H5Tget_size(t) == 1 && H5Tget_sign(t) == H5T_SGN_NONE;
    s->rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (s->rank > 0) H5Sget_simple_extent_dims(sp, s->dims, NULL);
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    if (s->cls != H5T_INTEGER && s->cls != H5T_FLOAT)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: dataset '%s' (%s) holds %s, not "
                           "numbers; point %s at a numeric dataset",
                           path, name, key,
                           s->cls == H5T_STRING     ? "strings"
                           : s->cls == H5T_ENUM     ? "enums (booleans?)"
                           : s->cls == H5T_COMPOUND ? "compound records"
                                                    : "a non-numeric type",
                           key);
    if (s->rank < 0)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: dataset '%s' (%s): cannot read its "
                           "shape",
                           path, name, key);
    return FANIN_OK;
}

static int read_set(const h5_set *s, hid_t mem, void *buf, int64_t count, const char *path,
                    const char *name, char *err, size_t errlen) {
    if (count > 0 && H5Dread(s->id, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: dataset '%s': libhdf5 cannot read it "
                           "(corrupt or truncated file?)",
                           path, name);
    return FANIN_OK;
}

/* Is x [n, h, w, c] to be stored [c, h, w]? Only for a model that reads images: a dense net
 * reads the rows in the file's order (numpy's reshape(n, -1)), as before layer kinds. */
static bool transposed(const h5_set *s, int layout, int images) {
    return s->rank == 4 && layout == FANIN_LAYOUT_HWC && images;
}

/* One example's shape from x's dimensions: [n, f] vectors, [n, h, w] one-channel images,
 * [n, h, w, c] (layout hwc, for a model that reads images) or [n, c, h, w] (chw) images; more
 * dimensions, or hwc rows kept in the file's order, read as vectors. */
static fanin__data_shape example_shape(const h5_set *s, int layout, int images, int64_t features) {
    const hsize_t *d = s->dims;
    if (s->rank == 3) return (fanin__data_shape){1, (int)d[1], (int)d[2]};
    if (transposed(s, layout, images)) return (fanin__data_shape){(int)d[3], (int)d[1], (int)d[2]};
    if (s->rank == 4 && layout == FANIN_LAYOUT_HWC) return (fanin__data_shape){(int)features, 1, 1};
    if (s->rank == 4) return (fanin__data_shape){(int)d[1], (int)d[2], (int)d[3]};
    return (fanin__data_shape){(int)features, 1, 1};
}

/* Each example [h, w, c] -> [c, h, w] in place (PyTorch's order; tmp holds one example):
 *   out[ch][i][j] = in[i][j][ch]   (torch: x.permute(0, 3, 1, 2)) */
static void hwc_to_chw(float *x, int64_t n, fanin__data_shape s, float *tmp) {
    size_t hw = (size_t)s.h * (size_t)s.w, per = hw * (size_t)s.c;
    for (int64_t e = 0; e < n; e++) {
        float *ex = x + (size_t)e * per;
        for (size_t p = 0; p < hw; p++)
            for (int ch = 0; ch < s.c; ch++) tmp[(size_t)ch * hw + p] = ex[p * (size_t)s.c + ch];
        memcpy(ex, tmp, per * sizeof *tmp);
    }
}

/* x [n, ...] -> [n, features] floats. */
static int read_x(hid_t f, const h5_req *q, h5_split *sp, char *err, size_t errlen) {
    h5_set s = {.id = -1};
    int rc = open_set(f, q->path, q->x, q->x_key, &s, err, errlen);
    char shape[200];
    if (rc == FANIN_OK && s.rank == 0)
        rc = fanin__errf(err, errlen, FANIN_EDATA,
                         "%s: dataset '%s' (%s) is a scalar; x must "
                         "be [n, ...], one row per example",
                         q->path, q->x, q->x_key);
    if (rc == FANIN_OK) {
        double features = 1; /* a double: no overflow before the range check */
        for (int i = 1; i < s.rank; i++) features *= (double)s.dims[i];
        sp->n = (int64_t)s.dims[0];
        sp->features = features <= INT32_MAX ? (int64_t)features : 0;
        sp->shape = example_shape(&s, q->layout, q->images, sp->features);
        sp->u8 = s.u8;
        shape_text(&s, shape, sizeof shape);
        if (features < 1 || features > INT32_MAX)
            rc = fanin__errf(err, errlen, FANIN_EDATA,
                             "%s: dataset '%s' (%s) is %s: %s "
                             "features per example",
                             q->path, q->x, q->x_key, shape, features < 1 ? "no" : "too many");
    }
    if (rc == FANIN_OK && (uint64_t)sp->n > SIZE_MAX / sizeof(float) / (uint64_t)sp->features)
        rc = fanin__errf(err, errlen, FANIN_ENOMEM, "%s: dataset '%s' %s does not fit in memory",
                         q->path, q->x, shape);
    if (rc == FANIN_OK && sp->n > 0 &&
        !(sp->x = malloc((size_t)sp->n * (size_t)sp->features * sizeof(float))))
        rc = fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory for '%s' %s", q->x, shape);
    if (rc == FANIN_OK)
        rc = read_set(&s, H5T_NATIVE_FLOAT, sp->x, sp->n, q->path, q->x, err, errlen);
    if (rc == FANIN_OK && transposed(&s, q->layout, q->images) && sp->n > 0) {
        float *tmp = malloc((size_t)sp->features * sizeof *tmp);
        if (!tmp) rc = fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory");
        else hwc_to_chw(sp->x, sp->n, sp->shape, tmp);
        free(tmp);
    }
    if (s.id >= 0) H5Dclose(s.id);
    return rc;
}

/* The examples y [n], [1, n] (the course's), [n, 1] or (float targets) [n, k] holds, given
 * x's n rows; sets sp->y_dim. -1: a shape labels never have. */
static int64_t y_rows(const h5_set *s, h5_split *sp) {
    sp->y_dim = 1;
    if (s->rank == 1) return (int64_t)s->dims[0];
    if (s->rank != 2 || s->dims[1] == 0) return -1;
    if ((int64_t)s->dims[0] != sp->n) return (int64_t)(s->dims[0] == 1 ? s->dims[1] : s->dims[0]);
    if (s->dims[1] > 1 && (s->cls == H5T_INTEGER || s->dims[1] > 4096)) return -1;
    sp->y_dim = (int)s->dims[1];
    return sp->n;
}

static int read_y(hid_t f, const h5_req *q, h5_split *sp, char *err, size_t errlen) {
    h5_set s = {.id = -1};
    char shape[200] = "";
    int rc = open_set(f, q->path, q->y, q->y_key, &s, err, errlen);
    int64_t rows = rc == FANIN_OK ? y_rows(&s, sp) : 0;
    shape_text(&s, shape, sizeof shape);
    sp->int_labels = s.cls == H5T_INTEGER;
    if (rc == FANIN_OK && rows < 0)
        rc = fanin__errf(err, errlen, FANIN_EDATA,
                         "%s: dataset '%s' (%s) is %s; labels must be "
                         "[n], [1, n] or [n, 1] (float targets may be [n, k])",
                         q->path, q->y, q->y_key, shape);
    else if (rc == FANIN_OK && rows != sp->n)
        rc = fanin__errf(err, errlen, FANIN_EDATA,
                         "%s: dataset '%s' (%s) has %lld examples but "
                         "'%s' (%s) has %lld labels (shape %s); they must describe the same "
                         "examples",
                         q->path, q->x, q->x_key, (long long)sp->n, q->y, q->y_key, (long long)rows,
                         shape);
    if (rc == FANIN_OK && sp->n > 0 &&
        !(sp->y = malloc((size_t)sp->n * (size_t)sp->y_dim * sizeof(double))))
        rc = fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory for '%s'", q->y);
    if (rc == FANIN_OK)
        rc = read_set(&s, H5T_NATIVE_DOUBLE, sp->y, sp->n, q->path, q->y, err, errlen);
    if (s.id >= 0) H5Dclose(s.id);
    return rc;
}

static int read_split(const h5_req *q, h5_split *sp, char *err, size_t errlen) {
    hid_t f = -1;
    int rc = open_file(q, &f, err, errlen);
    if (rc == FANIN_OK) rc = read_x(f, q, sp, err, errlen);
    if (rc == FANIN_OK) rc = read_y(f, q, sp, err, errlen);
    if (f >= 0) H5Fclose(f);
    return rc;
}

/* ---- labels and rows ---- */

/* Class mode: y[i] becomes the class index, or -1 when data.classes drops the row. */
static int to_classes(const h5_req *q, const fanin__data_spec *spec, h5_split *sp, int *max_label,
                      char *err, size_t errlen) {
    if (sp->y_dim != 1)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: dataset '%s' (%s) has %d values per "
                           "example; class labels need one",
                           q->path, q->y, q->y_key, sp->y_dim);
    for (int64_t i = 0; i < sp->n; i++) {
        double v = sp->y[i];
        if (v != floor(v)) /* NaN too */
            return fanin__errf(err, errlen, FANIN_EDATA,
                               "%s: dataset '%s' (%s) row %lld: target "
                               "%g is not a class label, but data.classes needs integer labels",
                               q->path, q->y, q->y_key, (long long)i, v);
        if (!spec->n_classes_listed && (v < 0 || v >= FANIN_MAX_CLASSES))
            return fanin__errf(err, errlen, FANIN_EDATA,
                               "%s: dataset '%s' (%s) row %lld: label "
                               "%g is not a class label (0..%d); list the labels to keep in "
                               "data.classes",
                               q->path, q->y, q->y_key, (long long)i, v, FANIN_MAX_CLASSES - 1);
        int c = fanin__data_class_index(spec, v >= 0 && v <= 1e9 ? (long)v : -1);
        if (c > *max_label) *max_label = c;
        sp->y[i] = c;
    }
    return FANIN_OK;
}

static int64_t count_kept(const h5_split *sp, int classes) {
    int64_t k = 0;
    for (int64_t i = 0; i < sp->n; i++) k += !classes || sp->y[i] >= 0;
    return k;
}

/* Kept rows from..from+n-1 of sp into x, y (x may be sp->x itself: rows only move forward). */
static void take(const h5_split *sp, int classes, int64_t from, int64_t n, float *x, float *y) {
    size_t row = (size_t)sp->features * sizeof(float);
    for (int64_t i = 0, k = 0; i < sp->n && k < from + n; i++) {
        if (classes && sp->y[i] < 0) continue;
        if (k >= from) {
            int64_t j = k - from;
            memmove(x + j * sp->features, sp->x + i * sp->features, row);
            for (int c = 0; c < sp->y_dim; c++)
                y[j * sp->y_dim + c] = (float)sp->y[i * sp->y_dim + c];
        }
        k++;
    }
}

/* The asked-for count of a split read from its own datasets. */
static int want_of(const h5_req *q, const fanin__data_spec *spec, int64_t avail, int64_t *n,
                   char *err, size_t errlen) {
    char list[FANIN_MAX_CLASSES * 12];
    fanin__data_classes_text(spec, list, sizeof list);
    if (avail == 0 && q->want != 0)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "data: '%s' dataset '%s' has no %s "
                           "examples%s%s",
                           q->path, q->x, q->split, list[0] ? " of classes " : "", list);
    if (q->want > avail)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "data: asked for %lld %s examples%s%s but "
                           "'%s' dataset '%s' has %lld; lower %s",
                           (long long)q->want, q->split, list[0] ? " of classes " : "", list,
                           q->path, q->x, (long long)avail, q->limit_key);
    *n = q->want < 0 ? avail : q->want;
    return FANIN_OK;
}

/* Train from s[0]; test from s[1], or (split) the kept rows of s[0] after the training ones. */
static int fill(const h5_req q[2], const fanin__data_spec *spec, h5_split s[2], int split,
                int classes, fanin_dataset *d, char *err, size_t errlen) {
    int64_t n_train = 0, n_test = 0, avail = count_kept(&s[0], classes);
    char have[1400];
    int rc;
    if (split) {
        snprintf(have, sizeof have, "'%s' dataset '%s' has", q[0].path, q[0].x);
        rc = fanin__data_split_sizes(spec, avail, "examples", have, &n_train, &n_test, err, errlen);
    } else {
        rc = want_of(&q[0], spec, avail, &n_train, err, errlen);
        if (rc == FANIN_OK && spec->test != 0)
            rc = want_of(&q[1], spec, count_kept(&s[1], classes), &n_test, err, errlen);
    }
    if (rc < 0) return rc;
    /* the training rows are compacted in place; everything else gets a fresh buffer */
    int64_t nf = s[0].features;
    d->n_train = n_train;
    d->n_test = n_test;
    d->n_features = (int)nf;
    d->y_dim = s[0].y_dim;
    d->y_train = n_train ? malloc((size_t)n_train * (size_t)d->y_dim * sizeof(float)) : NULL;
    d->x_test = n_test ? malloc((size_t)n_test * (size_t)nf * sizeof(float)) : NULL;
    d->y_test = n_test ? malloc((size_t)n_test * (size_t)d->y_dim * sizeof(float)) : NULL;
    if ((n_train && !d->y_train) || (n_test && (!d->x_test || !d->y_test)))
        return fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory");
    if (n_test)
        take(split ? &s[0] : &s[1], classes, split ? n_train : 0, n_test, d->x_test, d->y_test);
    if (n_train) take(&s[0], classes, 0, n_train, s[0].x, d->y_train);
    d->x_train = n_train ? s[0].x : NULL;
    size_t bytes = (size_t)n_train * (size_t)nf * sizeof(float);
    float *shrunk = n_train ? realloc(s[0].x, bytes) : NULL; /* failing, it keeps the block */
    if (shrunk) d->x_train = shrunk;
    if (!n_train) free(s[0].x);
    s[0].x = NULL; /* owned by d now */
    return FANIN_OK;
}

/* ---- the source ---- */

static void make_requests(const fanin__data_spec *spec, h5_req q[2]) {
    q[0] = (h5_req){spec->path,  "data.path",  spec->x,           spec->y,
                    "data.x",    "data.y",     "training",        "data.train",
                    spec->train, spec->layout, spec->model_images};
    q[1] = (h5_req){spec->test_path[0] ? spec->test_path : spec->path,
                    spec->test_path[0] ? "data.test_path" : "data.path",
                    spec->test_x,
                    spec->test_y,
                    "data.test_x",
                    "data.test_y",
                    "test",
                    "data.test",
                    spec->test,
                    spec->layout,
                    spec->model_images};
}

/* 1: the test datasets are to be read; 0: split the training datasets (no data.test_path and
 * neither test dataset in data.path), or data.test is 0. */
static int want_test(const fanin__data_spec *spec, const h5_req *q, char *err, size_t errlen) {
    hid_t f = -1;
    if (spec->test == 0) return 0;
    if (spec->test_path[0]) return 1;
    int rc = open_file(q, &f, err, errlen);
    if (rc < 0) return rc;
    int any = H5Lexists(f, q->x, H5P_DEFAULT) > 0 || H5Lexists(f, q->y, H5P_DEFAULT) > 0;
    H5Fclose(f);
    return any;
}

static int load(const fanin__data_spec *spec, fanin_dataset *d, int *norm, h5_split s[2], char *err,
                size_t errlen) {
    h5_req q[2];
    int max_label = 0;
    make_requests(spec, q);
    int test = want_test(spec, &q[1], err, errlen);
    if (test < 0) return test;
    int rc = read_split(&q[0], &s[0], err, errlen);
    if (rc == FANIN_OK && test) rc = read_split(&q[1], &s[1], err, errlen);
    if (rc == FANIN_OK && test && s[1].features != s[0].features)
        rc = fanin__errf(err, errlen, FANIN_EDATA,
                         "%s: dataset '%s' (%s) has %lld features per "
                         "example but '%s' (%s) in %s has %lld; train and test must have the "
                         "same shape",
                         q[1].path, q[1].x, q[1].x_key, (long long)s[1].features, q[0].x,
                         q[0].x_key, q[0].path, (long long)s[0].features);
    if (rc == FANIN_OK && test && s[1].y_dim != s[0].y_dim)
        rc = fanin__errf(err, errlen, FANIN_EDATA,
                         "%s: dataset '%s' (%s) has %d targets per "
                         "example but '%s' (%s) has %d",
                         q[1].path, q[1].y, q[1].y_key, s[1].y_dim, q[0].y, q[0].y_key, s[0].y_dim);
    int classes = s[0].int_labels || spec->n_classes_listed > 0;
    if (rc == FANIN_OK && classes) rc = to_classes(&q[0], spec, &s[0], &max_label, err, errlen);
    if (rc == FANIN_OK && classes && test)
        rc = to_classes(&q[1], spec, &s[1], &max_label, err, errlen);
    if (rc == FANIN_OK) rc = fill(q, spec, s, !test, classes, d, err, errlen);
    d->n_classes = !classes ? 0 : spec->n_classes_listed ? spec->n_classes_listed : max_label + 1;
    d->shape = s[0].shape;
    if (*norm == FANIN_NORM_AUTO) *norm = s[0].u8 ? FANIN_NORM_SCALE255 : FANIN_NORM_NONE;
    return rc;
}

int fanin__hdf5_load(const fanin__data_spec *spec, fanin_dataset *d, int *norm, char *err,
                     size_t errlen) {
    H5E_auto2_t func = NULL;
    void *data = NULL;
    h5_split s[2] = {{0}, {0}};
    if (!spec->path[0])
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "data: source hdf5 needs data.path (the "
                           ".h5 file)");
    /* libhdf5 prints its error stack to stderr by default; ours is the message. Restore the
     * host's setting afterwards, in case it uses libhdf5 itself. */
    H5Eget_auto2(H5E_DEFAULT, &func, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int rc = load(spec, d, norm, s, err, errlen);
    H5Eset_auto2(H5E_DEFAULT, func, data);
    for (int k = 0; k < 2; k++) {
        free(s[k].x);
        free(s[k].y);
    }
    return rc;
}

/* x's dimensions alone: open the file and the dataset, read no data. */
static int peek(const fanin__data_spec *spec, fanin__data_shape *out, char *err, size_t errlen) {
    h5_req q[2];
    hid_t f = -1;
    h5_set s = {.id = -1};
    make_requests(spec, q);
    int rc = open_file(&q[0], &f, err, errlen);
    if (rc == FANIN_OK) rc = open_set(f, q[0].path, q[0].x, q[0].x_key, &s, err, errlen);
    if (rc == FANIN_OK && s.rank == 0)
        rc = fanin__errf(err, errlen, FANIN_EDATA, "%s: dataset '%s' is a scalar", q[0].path,
                         q[0].x);
    double features = 1;
    for (int i = 1; rc == FANIN_OK && i < s.rank; i++) features *= (double)s.dims[i];
    if (rc == FANIN_OK && (features < 1 || features > INT32_MAX))
        rc = fanin__errf(err, errlen, FANIN_EDATA, "%s: dataset '%s': %s features per example",
                         q[0].path, q[0].x, features < 1 ? "no" : "too many");
    if (rc == FANIN_OK)
        *out = example_shape(&s, spec->layout, spec->model_images, (int64_t)features);
    if (s.id >= 0) H5Dclose(s.id);
    if (f >= 0) H5Fclose(f);
    return rc;
}

int fanin__hdf5_peek_shape(const fanin__data_spec *spec, fanin__data_shape *out, char *err,
                           size_t errlen) {
    H5E_auto2_t func = NULL;
    void *data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &func, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int rc = peek(spec, out, err, errlen);
    H5Eset_auto2(H5E_DEFAULT, func, data);
    return rc;
}
