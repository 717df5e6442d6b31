/* Private declarations for what keeps a long run safe: checkpoints (checkpoint.c), reading a
 * safetensors file back (safetensors_read.c), locating a divergence (checkpoint.c) and the
 * interrupt flag a signal handler raises. Nothing here is part of the installed API.
 */
#ifndef FANIN_CHECKPOINT_H
#define FANIN_CHECKPOINT_H

#include "internal.h"

#include <signal.h>

/* ---- safetensors_read.c: reading safetensors files ---- */

#define FANIN_ST_MAX_DIMS 8
#define FANIN_ST_MAX_HEADER (100u << 20) /* as the format's reference reader: 100 MB */

typedef struct fanin__st_tensor {
    char name[128];
    char dtype[8];           /* "F32", "F64", "I64", ... as written */
    int ndim;
    int64_t shape[FANIN_ST_MAX_DIMS];
    uint64_t begin, end;     /* byte range within the data section */
} fanin__st_tensor;

typedef struct fanin__st_file {
    fanin__st_tensor *t;     /* n tensors, in header order (owned) */
    int n;
    char *config;            /* __metadata__.config, unescaped, or NULL (owned) */
    const unsigned char *data; /* the data section: borrowed from the parsed buffer */
    uint64_t data_len;
    unsigned char *buf;      /* the whole file when read by fanin__st_read (owned) */
} fanin__st_file;

/* Parse a safetensors image buf[0..len) (borrowed until deinit). `name` is used in messages,
 * which give the byte offset: "model.safetensors: byte 57: expected ':'". Every tensor's byte
 * range must lie in the data section and match its dtype and shape. Returns FANIN_OK or
 * FANIN_EDATA (FANIN_ENOMEM). */
int fanin__st_parse(const unsigned char *buf, size_t len, const char *name, fanin__st_file *out,
                    char *err, size_t errlen);
/* Read and parse a file (the file's bytes are owned by out). FANIN_EDATA when missing. */
int fanin__st_read(const char *path, fanin__st_file *out, char *err, size_t errlen);
void fanin__st_deinit(fanin__st_file *f);
const fanin__st_tensor *fanin__st_find(const fanin__st_file *f, const char *name);
/* Copy `layers.N.weight` and `layers.N.bias` (F32, shapes [out, in] and [out]) into m->params,
 * checking every name and shape against the model. */
int fanin__model_load(fanin_model *m, const char *path, char *err, size_t errlen);

/* ---- checkpoint.c: checkpoints ---- */

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

/* ---- checkpoint.c: divergence ---- */

/* Where the first non-finite value of a diverged step is: the first layer (from the input)
 * whose weights or activations are not finite, else the last layer whose gradients are not
 * (backward runs from the output). *layer = -1 and *what = "loss" when every buffer is finite. */
void fanin__locate_nonfinite(const fanin_model *m, int n, int *layer, const char **what);
/* Are all of p[0..n) finite? One pass, no early exit branch per element. */
bool fanin__all_finite(const float *p, size_t n);

/* ---- checkpoint.c: interrupts ---- */

/* Raised by the `fanin` command's SIGINT/SIGTERM handler (async-signal-safe); the training
 * loop checks it after every step, checkpoints and stops. */
extern volatile sig_atomic_t fanin__interrupt_flag;

#endif /* FANIN_CHECKPOINT_H */
