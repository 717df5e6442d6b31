/* Checkpoints of a training run (checkpoint.c): everything the loop needs to continue
 * bit-identically, written atomically with a checksum. */
#ifndef FANIN_ENGINE_CHECKPOINT_H
#define FANIN_ENGINE_CHECKPOINT_H

#include "base/rng.h"
#include "engine/model.h"
#include <stdint.h>

/* What a checkpoint restores besides the model's params and optimizer state. */
typedef struct fanin__ckpt {
    int64_t iteration;  /* optimizer steps done */
    int threads;        /* BLAS threads of the run that wrote it */
    fanin_rng shuffle;  /* the minibatch order stream, after the current epoch's shuffle */
    int64_t *order;     /* the current epoch's row order [n_order] (borrowed), or NULL */
    int64_t n_order;
} fanin__ckpt;

/* Write params, optimizer state and c into path atomically (path.tmp, fsync, rename, fsync of
 * the folder). Allocates nothing. */
int fanin__checkpoint_save(const char *path, const fanin_model *m, const fanin__ckpt *c,
                           char *err, size_t errlen);
/* Read path into m and c (c->order must hold c->n_order rows; the sizes must match the model
 * and data the run has now). FANIN_EDATA for a corrupt or mismatched file. */
int fanin__checkpoint_load(const char *path, fanin_model *m, fanin__ckpt *c, char *err,
                           size_t errlen);

/* The iteration a checkpoint was written at (header only, no checksum), or -1 when there is
 * no readable checkpoint at path. */
int64_t fanin__checkpoint_iteration(const char *path);

#endif /* FANIN_ENGINE_CHECKPOINT_H */
