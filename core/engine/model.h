/* The network (model.c): its layers' buffers carved from one block at build time, parameter
 * initialisation through the initializer plugins, the forward and backward passes over the
 * layer kinds (layer.h); saving and loading it (model_file.c); finding where it diverged
 * (diverge.c). */
#ifndef FANIN_ENGINE_MODEL_H
#define FANIN_ENGINE_MODEL_H

#include "config/experiment.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One layer of the network. Every kind (layer.h) sets n_in, n_out, P/dP and Z, A, dA; W and b
 * (with dW, db) are the weight and bias the statistics describe (NULL when a kind has none). */
typedef struct fanin__layer {
    const struct fanin__layer_kind *kind;
    int n_in, n_out;
    const fanin__layer_spec *spec; /* borrowed from the experiment */
    float *P, *dP;  /* all of this layer's parameters and their gradients: views */
    size_t n_p;
    float *W, *b;   /* [n_out, n_in], [n_out]: views into model->params */
    float *dW, *db; /* same shapes: views into model->grads */
    float *Z, *A;   /* [cap, n_out] pre-activation and activation */
    float *dA;      /* [cap, n_out] gradient w.r.t. A, then reused for dZ */
} fanin__layer;

typedef struct fanin_model {
    int n_layers, n_in, cap;   /* cap: rows the buffers hold (batch or eval chunk) */
    fanin__layer *layers;
    float *params, *grads;     /* all W and b, contiguous, layer by layer (W then b) */
    size_t n_params;
    void *opt_state;           /* optimizer-owned bytes, host-allocated */
    size_t opt_state_size;
    float *block;              /* the one allocation the layers' buffers are carved from */
    bool fused_output;         /* the loss writes dZ from the logits (loss.h: fanin__loss_fuses) */
    const fanin_experiment *x; /* borrowed */
    const float *init_X;       /* data-dependent init (layer_forward): [init_n, n_in], borrowed */
    int init_n;                /* 0 = no batch */
} fanin_model;

int fanin__model_new(const fanin_experiment *x, int n_in, int cap, fanin_model **out,
                     char *err, size_t errlen);
void fanin__model_free(fanin_model *m);
/* Initialise every W and b with the experiment's plugins and streams: rng philox gives each
 * tensor its own (seed, layer, tensor) stream; rng numpy one MT19937 stream seeded as
 * np.random.seed(seed), drawn W0, b0, W1, b1, ... (docs/random-streams.md). */
int fanin__model_init_params(fanin_model *m, char *err, size_t errlen);
/* The batch data-dependent initializers see through layer_forward: the first min(cap, n) rows
 * of X [n, n_in] (borrowed until init_params returns). Without it layer_forward reports
 * FANIN_ENOTSUP. */
void fanin__model_set_init_batch(fanin_model *m, const float *X, int64_t n);
/* The layer_forward service: forward the init batch through layers 0..l and point *out at
 * layer l's pre-activation Z [*rows, *cols], computed with a zero bias for layer l. */
int fanin__model_layer_forward(fanin_model *m, int l, const float **out, int64_t *rows,
                               int64_t *cols, char *err, size_t errlen);
/* Forward n <= cap rows of X [n, n_in]; output in the last layer's A. */
int fanin__model_forward(fanin_model *m, const float *X, int n, char *err, size_t errlen);
/* Backward from dA of the last layer (set by the loss); fills grads. */
int fanin__model_backward(fanin_model *m, const float *X, int n, char *err, size_t errlen);
/* ---- model_file.c ---- */

/* Write the parameters as safetensors under each kind's tensor names (dense: layers.N.weight
 * [out,in], layers.N.bias [out], F32); `metadata` (may be NULL) is stored under
 * __metadata__.config. */
int fanin__model_save(const fanin_model *m, const char *path, const char *metadata,
                      char *err, size_t errlen);
/* Copy `layers.N.weight` and `layers.N.bias` (F32, shapes [out, in] and [out]) into m->params,
 * checking every name and shape against the model. */
int fanin__model_load(fanin_model *m, const char *path, char *err, size_t errlen);

/* ---- diverge.c: where a diverged step went non-finite ---- */

/* Where the first non-finite value of a diverged step is: the first layer (from the input)
 * whose weights or activations are not finite, else the last layer whose gradients are not
 * (backward runs from the output). *layer = -1 and *what = "loss" when every buffer is finite. */
void fanin__locate_nonfinite(const fanin_model *m, int n, int *layer, const char **what);
/* Are all of p[0..n) finite? One pass, no early exit branch per element. */
bool fanin__all_finite(const float *p, size_t n);

#endif /* FANIN_ENGINE_MODEL_H */
