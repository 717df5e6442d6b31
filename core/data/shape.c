/* One example's shape: the one the model is built for (the data's, model.input's, or flat for a
 * dense net) and the one the files promise, read from their headers for `fanin validate`
 * without loading the data. The readers set the loaded dataset's own (idx.c, hdf5.c). */
#include "base/errors.h"
#include "config/experiment.h"
#include "data/data.h"
#include "data/dataset.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define FMNIST_SIDE 28

static size_t size_of(fanin__data_shape s) { return (size_t)s.c * (size_t)s.h * (size_t)s.w; }

static bool is_image(fanin__data_shape s) { return s.h > 1 || s.w > 1; }

void fanin__data_shape_text(fanin__data_shape s, char *buf, size_t len) {
    if (!is_image(s)) snprintf(buf, len, "[%d]", s.c);
    else snprintf(buf, len, "[%d, %d, %d]", s.c, s.h, s.w);
}

/* The first layer that needs an image (conv2d, a pool), or NULL; with `any` flatten and
 * global_avgpool count too (they too say the model reads images). */
static const fanin__layer_spec *image_layer(const fanin_experiment *x, bool any) {
    for (int l = 0; l < x->n_layers; l++) {
        int t = x->layers[l].type;
        if (t == FANIN_LAYER_CONV2D || t == FANIN_LAYER_MAXPOOL2D || t == FANIN_LAYER_AVGPOOL2D ||
            (any && (t == FANIN_LAYER_FLATTEN || t == FANIN_LAYER_GLOBAL_AVGPOOL)))
            return &x->layers[l];
    }
    return NULL;
}

/* "FILE:LINE:COL: " of loc, or "" when unknown. */
static void where(const fanin__loc *loc, char *buf, size_t len) {
    if (loc->file && loc->line > 0)
        snprintf(buf, len, "%s:%d:%d: ", loc->file, loc->line, loc->col);
    else buf[0] = '\0';
}

/* model.input against the data's shape: as many values, and the same image when both are
 * images ([784] for [1, 28, 28] images says a model reads them as vectors). */
static int check_input(const fanin_experiment *x, fanin__data_shape data, fanin__data_shape in,
                       char *err, size_t errlen) {
    char at[1200], a[64], b[64];
    where(&x->input_loc, at, sizeof at);
    fanin__data_shape_text(in, a, sizeof a);
    fanin__data_shape_text(data, b, sizeof b);
    if (size_of(in) != size_of(data))
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "%smodel.input %s (%zu values) does not "
                           "match the data: its examples are %s (%zu values)",
                           at, a, size_of(in), b, size_of(data));
    if (is_image(data) && is_image(in) && (in.c != data.c || in.h != data.h || in.w != data.w))
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "%smodel.input %s does not match the "
                           "data's example shape %s%s",
                           at, a, b,
                           !strcmp(x->data.source, "hdf5")
                               ? "; data.layout (hwc or chw) says how x holds an image"
                               : "");
    return FANIN_OK;
}

int fanin__data_model_input(const fanin_experiment *x, fanin__data_shape data,
                            fanin__data_shape *out, char *err, size_t errlen) {
    fanin__data_shape s = data;
    if (x->input[0]) {
        s = (fanin__data_shape){x->input[0], x->input[1], x->input[2]};
        int rc = check_input(x, data, s, err, errlen);
        if (rc < 0) return rc;
    }
    const fanin__layer_spec *img = image_layer(x, false);
    if (img && !x->input[0] && !is_image(s)) {
        char at[1200];
        where(&img->loc, at, sizeof at);
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "%sa %s layer needs images [C, H, W], "
                           "but the examples of data source '%s' are vectors of %d values; give "
                           "model.input: [C, H, W] (C*H*W = %d) to shape them, or use dense "
                           "layers",
                           at, fanin__layer_type_names[img->type], x->data.source, s.c, s.c);
    }
    if (!image_layer(x, true)) s = (fanin__data_shape){(int)size_of(s), 1, 1};
    *out = s;
    return FANIN_OK;
}

int fanin__data_peek_shape(const fanin__data_spec *spec, fanin__data_shape *out, char *err,
                           size_t errlen) {
    const char *src = spec->source;
    if (!strcmp(src, "fashion-mnist")) {
        *out = (fanin__data_shape){1, FMNIST_SIDE, FMNIST_SIDE};
        return FANIN_OK;
    }
    if (!strcmp(src, "synthetic")) {
        bool teacher = !strcmp(spec->kind, "linear_teacher");
        *out = (fanin__data_shape){teacher ? spec->features : 2, 1, 1};
        return out->c > 0 ? FANIN_OK : fanin__errf(err, errlen, FANIN_EINVAL, "no features");
    }
    if (!strcmp(src, "csv")) {
        int cols = 0;
        int rc = fanin__csv_check_header(spec->path, spec->target, &cols, err, errlen);
        if (rc < 0) return rc;
        *out = (fanin__data_shape){cols - 1, 1, 1};
        return cols > 1 ? FANIN_OK : fanin__errf(err, errlen, FANIN_EDATA, "no features");
    }
    if (!strcmp(src, "idx")) return fanin__idx_peek_shape(spec->images, out, err, errlen);
    if (!strcmp(src, "hdf5")) return fanin__hdf5_peek_shape(spec, out, err, errlen);
    return fanin__errf(err, errlen, FANIN_EINVAL, "data: unknown source '%s'", src);
}
