/* Datasets (data.c): loading what the experiment's data section describes, whatever its
 * source, and checking its files beforehand (check.c). The readers and their shared rules are
 * dataset.h's. */
#ifndef FANIN_DATA_DATA_H
#define FANIN_DATA_DATA_H

#include "config/errs.h"
#include "config/experiment.h"
#include "plugin/registry.h"
#include <stdint.h>

typedef struct fanin_dataset {
    int64_t n_train, n_test;
    int n_features;
    int n_classes;     /* classes after relabelling (2 for binary); 0 for regression */
    int y_dim;         /* floats per target: 1 for class labels, >= 1 for regression */
    float *x_train;    /* [n_train, n_features] row-major */
    float *y_train;    /* [n_train, y_dim]; class labels stored as 0.0, 1.0, ... */
    float *x_test, *y_test;
    char desc[256];    /* "fashion-mnist classes [0,6]: 2000 train / 1000 test, 784 features" */
} fanin_dataset;

/* Load what spec describes; seed (the experiment's data_seed) drives synthetic generation.
 * Errors name the file and byte or row, or the key of a file that cannot be read. */
int fanin__data_load(const fanin__data_spec *spec, uint64_t seed, fanin_dataset **out,
                     char *err, size_t errlen);
/* Check the files x's data section names (check.c): each exists and opens for reading and,
 * where cheap, starts as its format does (IDX magic, HDF5 signature, a csv header naming
 * data.target). Problems go to errs located at the key that named the file:
 * "FILE:LINE:COL: data.path: cannot read '/abs/x.csv': No such file or directory; hint". */
void fanin__data_check_files(const fanin_experiment *x, fanin__errs *errs);
/* fanin__config_validate plus fanin__data_check_files on every member: all that
 * `fanin validate` checks. Returns FANIN_OK, FANIN_ECONFIG or FANIN_ENOMEM. */
int fanin__data_validate(const fanin_config *c, const fanin_registry *reg, char *err,
                         size_t errlen);
/* Frees the four arrays (each its own malloc, so a hand-built dataset may use it too) and d.
 * NULL is a no-op. */
void fanin__data_free(fanin_dataset *d);

#endif /* FANIN_DATA_DATA_H */
