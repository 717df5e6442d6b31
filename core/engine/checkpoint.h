/* Checkpoints of a training run (checkpoint.c): everything the loop needs to continue
 * bit-identically, written atomically with a checksum. */
#ifndef FANIN_ENGINE_CHECKPOINT_H
#define FANIN_ENGINE_CHECKPOINT_H

#include "base/rng.h"
#include "engine/model.h"
#include <stdint.h>

/* What a checkpoint restores besides the model's params and optimizer state. */
typedef struct fanin__ckpt {
    int64_t iteration; /* optimizer steps done */
    int threads;       /* BLAS threads of the run that wrote it */
    fanin_rng shuffle; /* the minibatch order stream, after the current epoch's shuffle */
    int64_t *order;    /* the current epoch's row order [n_order] (borrowed), or NULL */
    int64_t n_order;
    double seconds; /* training seconds so far, over every invocation */
} fanin__ckpt;

/* Write params, optimizer state and c into path atomically (path.tmp, fsync, rename, fsync of
 * the folder). Allocates nothing. */
int fanin__checkpoint_save(const char *path, const fanin_model *m, const fanin__ckpt *c, char *err,
                           size_t errlen);
/* Read path into m and c (c->order must hold c->n_order rows; the sizes must match the model
 * and data the run has now). FANIN_EDATA for a corrupt or mismatched file. */
int fanin__checkpoint_load(const char *path, fanin_model *m, fanin__ckpt *c, char *err,
                           size_t errlen);

/* The iteration a checkpoint was written at (header only, no checksum), or -1 when there is
 * no readable checkpoint at path. */
int64_t fanin__checkpoint_iteration(const char *path);

/* A log keyed by iteration (metrics.csv, layers.csv, histograms.csv: a header, then rows whose
 * first field is the iteration) trimmed, in place and atomically, to the header and the rows
 * before `until` (a checkpoint's iteration: the resumed run logs the later ones again). The
 * number of rows kept, or -1 when path cannot be read or rewritten. */
int64_t fanin__checkpoint_trim_log(const char *path, int64_t until);

#endif /* FANIN_ENGINE_CHECKPOINT_H */
