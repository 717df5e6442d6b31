/* The readers of each data source (idx.c, csv.c, hdf5.c, synthetic.c) and the rules they
 * share (dataset.c). Private to core/data. */
#ifndef FANIN_DATA_DATASET_H
#define FANIN_DATA_DATASET_H

#include "config/experiment.h"
#include "data/data.h"
#include <stddef.h>
#include <stdint.h>

/* The readers, called by fanin__data_load on a zeroed d; they fill every field but desc, and
 * leave what they allocated in d on error (the caller frees it). */
int fanin__idx_load(const fanin__data_spec *spec, fanin_dataset *d, char *err, size_t errlen);
int fanin__csv_load(const fanin__data_spec *spec, fanin_dataset *d, char *err, size_t errlen);
/* *norm (in: spec->normalize) becomes what FANIN_NORM_AUTO means for this file's x. */
int fanin__hdf5_load(const fanin__data_spec *spec, fanin_dataset *d, int *norm, char *err,
                     size_t errlen);
/* One example's shape from the headers alone (shape.c's fanin__data_peek_shape). */
int fanin__idx_peek_shape(const char *images, fanin__data_shape *out, char *err, size_t errlen);
int fanin__hdf5_peek_shape(const fanin__data_spec *spec, fanin__data_shape *out, char *err,
                           size_t errlen);
int fanin__synthetic_load(const fanin__data_spec *spec, uint64_t seed, fanin_dataset *d, char *err,
                          size_t errlen);
/* Shared by the readers (dataset.c). The position of `label` in data.classes (its new label),
 * or -1 when not listed; with no classes listed the label itself (-1 if negative). */
int fanin__data_class_index(const fanin__data_spec *spec, long label);
/* "[0, 6]", or "" when no classes are listed. */
void fanin__data_classes_text(const fanin__data_spec *spec, char *buf, size_t len);
/* Resolve data.train/data.test (-1 = default) against `avail` examples taken in order:
 * both -1 -> 80% / 20%; one -1 -> the rest. `unit` ("rows") and `have` ("'f.csv' has")
 * word the error "data: asked for 900 training + 200 test rows but 'f.csv' has 1000". */
int fanin__data_split_sizes(const fanin__data_spec *spec, int64_t avail, const char *unit,
                            const char *have, int64_t *n_train, int64_t *n_test, char *err,
                            size_t errlen);
/* Sets the sizes and mallocs x/y of both splits (NULL for an empty split). */
int fanin__data_alloc(fanin_dataset *d, int64_t n_train, int64_t n_test, int n_features, int y_dim,
                      char *err, size_t errlen);

/* ---- the files a spec names (dataset.c, check.c, csv.c) ---- */

#define FANIN__FMNIST_HINT "install Debian's dataset-fashion-mnist or set data.path"
/* Fashion-MNIST's four files in reading order: train images and labels, test images and
 * labels, each as NAME or NAME.gz in data.path. */
extern const char *const fanin__fmnist_names[4];
/* DIR/NAME.gz if it exists, else DIR/NAME if it exists, else DIR/NAME.gz (for the message). */
void fanin__fmnist_file(const char *dir, const char *name, char *out, size_t len);
/* Does every file spec will read exist and open for reading? Else the first problem, naming
 * its key: "data.path: cannot read '/abs/x.csv': No such file or directory; hint". */
int fanin__data_check_exist(const fanin__data_spec *spec, char *err, size_t errlen);
/* The csv file's header row, read alone: present, not all numbers, and naming `target` (when
 * not empty); *n_cols (may be NULL) gets its column count. FANIN_ECONFIG when only the target
 * is wrong, else FANIN_EDATA. */
int fanin__csv_check_header(const char *path, const char *target, int *n_cols, char *err,
                            size_t errlen);

#endif /* FANIN_DATA_DATASET_H */
