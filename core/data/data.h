/* Datasets (data.c): loading what the experiment's data section describes, whatever its
 * source, and checking its files beforehand (check.c). The readers and their shared rules are
 * dataset.h's. */
#ifndef FANIN_DATA_DATA_H
#define FANIN_DATA_DATA_H

#include "config/errs.h"
#include "config/experiment.h"
#include "plugin/registry.h"
#include <stdint.h>

/* One example's shape [C, H, W] in PyTorch's order without the batch; a vector of n features
 * is [n, 1, 1]. The same three ints as the engine's fanin__shape (engine/model.h), which data/
 * cannot include. */
typedef struct fanin__data_shape {
    int c, h, w;
} fanin__data_shape;

typedef struct fanin_dataset {
    int64_t n_train, n_test;
    int n_features;
    fanin__data_shape shape; /* one example: c * h * w = n_features; x rows hold [C, H, W] */
    int n_classes;           /* classes after relabelling (2 for binary); 0 for regression */
    int y_dim;               /* floats per target: 1 for class labels, >= 1 for regression */
    float *x_train;          /* [n_train, n_features] row-major */
    float *y_train;          /* [n_train, y_dim]; class labels stored as 0.0, 1.0, ... */
    float *x_test, *y_test;
    char desc[256]; /* "fashion-mnist classes [0,6]: 2000 train / 1000 test, 784 features" */
} fanin_dataset;

/* Load what spec describes; seed (the experiment's data_seed) drives synthetic generation.
 * Errors name the file and byte or row, or the key of a file that cannot be read. */
int fanin__data_load(const fanin__data_spec *spec, uint64_t seed, fanin_dataset **out, char *err,
                     size_t errlen);
/* Check the files x's data section names (check.c): each exists and opens for reading and,
 * where cheap, starts as its format does (IDX magic, HDF5 signature, a csv header naming
 * data.target). Problems go to errs located at the key that named the file:
 * "FILE:LINE:COL: data.path: cannot read '/abs/x.csv': No such file or directory; hint". */
void fanin__data_check_files(const fanin_experiment *x, fanin__errs *errs);
/* fanin__config_validate plus fanin__data_check_files on every member: all that
 * `fanin validate` checks. Returns FANIN_OK, FANIN_ECONFIG or FANIN_ENOMEM. */
int fanin__data_validate(const fanin_config *c, const fanin_registry *reg, char *err,
                         size_t errlen);
/* ---- shapes (shape.c) ---- */

/* The example shape x's model is built for, from the data's (`data`): model.input when given
 * (an error at its place when its size differs from the data's, or when both are images and
 * differ), else the data's; flattened to [c*h*w, 1, 1] when no layer uses an
 * image (conv2d, pools, flatten), so a dense net reads images as vectors as it always has. */
int fanin__data_model_input(const fanin_experiment *x, fanin__data_shape data,
                            fanin__data_shape *out, char *err, size_t errlen);
/* One example's shape from the headers of spec's files, without reading the data: fashion-mnist
 * [1, 28, 28], idx from its dimensions, csv its columns but the target, hdf5 x's dimensions (by
 * data.layout), synthetic its features. An error when a file cannot tell (its check explains). */
int fanin__data_peek_shape(const fanin__data_spec *spec, fanin__data_shape *out, char *err,
                           size_t errlen);
/* "[1, 28, 28]", or "[784]" for a vector. */
void fanin__data_shape_text(fanin__data_shape s, char *buf, size_t len);
/* fanin__data_validate, also running `extra` (may be NULL) on every member that resolves: the
 * checks of a higher layer (the engine's shapes, tools/cmd_validate.c) in the same list. */
int fanin__data_validate_with(const fanin_config *c, const fanin_registry *reg,
                              fanin__member_check extra, void *user, char *err, size_t errlen);

/* Frees the four arrays (each its own malloc, so a hand-built dataset may use it too) and d.
 * NULL is a no-op. */
void fanin__data_free(fanin_dataset *d);

#endif /* FANIN_DATA_DATA_H */
