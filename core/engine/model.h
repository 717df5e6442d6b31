/* The network (model.c): its layers' buffers carved from one block at build time, parameter
 * initialisation through the initializer plugins, the forward and backward passes over the
 * layer kinds (layer.h); saving and loading it (model_file.c); finding where it diverged
 * (diverge.c). */
#ifndef FANIN_ENGINE_MODEL_H
#define FANIN_ENGINE_MODEL_H

#include "config/experiment.h"
#include "plugin/host.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The shape of one example as it flows between layers: c x h x w floats, row-major (PyTorch's
 * [C, H, W] without the batch); a vector of n features is [n, 1, 1]. */
typedef struct fanin__shape {
    int c, h, w;
} fanin__shape;

/* What a forward pass is for: training (batch statistics, dropout), evaluation (running
 * statistics, no dropout), or the layer_forward service (pre-activation, no bias). */
enum fanin__pass { FANIN_PASS_TRAIN = 0, FANIN_PASS_EVAL = 1, FANIN_PASS_PRE = 2 };

/* One layer of the network. Every kind (layer.h) sets in/out, n_in, n_out, P/dP and Z, A, dA;
 * W and b (with dW, db) are the weight and bias the statistics describe, W seen as a
 * [w_rows, w_cols] = [fan-out units, fan-in] matrix (NULL when a kind has none). */
typedef struct fanin__layer {
    const struct fanin__layer_kind *kind;
    const fanin__layer_spec *spec; /* borrowed from the experiment */
    struct fanin_model *model;     /* the model it belongs to (streams, pass, other layers) */
    int index;                     /* its position in model->layers */
    fanin__shape in, out;          /* per-example shapes */
    int n_in, n_out;               /* in.c * in.h * in.w, out.c * out.h * out.w */
    float *P, *dP;                 /* all of this layer's parameters and their gradients: views */
    size_t n_p;
    float *B; /* saved state that is not trained (running statistics): a view */
    size_t n_b;
    float *W, *b;   /* the weight and bias: views into P */
    float *dW, *db; /* their gradients: views into dP */
    int w_rows, w_cols;
    float *Z, *A;   /* [cap, n_out] pre-activation and activation */
    float *dA;      /* [cap, n_out] gradient w.r.t. A, then reused for dZ */
    float *aux;     /* a kind's own per-row buffers (masks, normalised inputs): a view */
    float *scratch; /* the model's scratch, shared by all layers during one call */
} fanin__layer;

/* A run of parameters the optimizer steps with its own learning-rate multiplier and weight
 * decay (the layers' lr_scale, wd_scale and bias_*): params[off, off+n) with the state bytes
 * at opt_state + state_off (16-byte aligned). Neighbours with the same multipliers are one
 * group, so a model without multipliers has one group over everything, as before them. */
typedef struct fanin__param_group {
    size_t off, n, state_off;
    double lr_scale, wd_scale;
    fanin_value *params; /* the optimizer's with weight_decay scaled; NULL: its own */
} fanin__param_group;

typedef struct fanin_model {
    int n_layers, n_in, cap; /* cap: rows the buffers hold (batch or eval chunk) */
    fanin__shape input;      /* one example's shape; n_in = its size */
    fanin__layer *layers;
    float *params, *grads; /* every layer's parameters, contiguous, layer by layer */
    size_t n_params;
    float *bufs; /* every layer's saved untrained state (running statistics) */
    size_t n_bufs;
    float *scratch; /* scratch shared by the layers during one call */
    size_t n_scratch;
    int pass;        /* enum fanin__pass of the next forward: TRAIN unless evaluating */
    int64_t step;    /* the optimizer step being computed (dropout's stream) */
    int row0;        /* the step's batch row the next forward's first row is (a slice of the
                        batch: row_threads.h, data-parallel): dropout's masks follow the row */
    void *opt_state; /* optimizer-owned bytes, host-allocated */
    size_t opt_state_size;
    fanin__param_group *groups; /* n_groups, in parameter order, covering all n_params */
    int n_groups;
    float *block;              /* the one allocation the layers' buffers are carved from */
    bool fused_output;         /* the loss writes dZ from the logits (loss.h: fanin__loss_fuses) */
    const fanin_experiment *x; /* borrowed */
    const float *init_X;       /* data-dependent init (layer_forward): [init_n, n_in], borrowed */
    int init_n;                /* 0 = no batch */
    const float *init_Y;       /* the init batch's targets [init_n, y_dim] (init_grad), or NULL */
} fanin_model;

/* What the init services installed in a weight fill's context point at: the model and the
 * index of the layer being initialised. */
typedef struct fanin__forward_user {
    fanin_model *m;
    int layer;
} fanin__forward_user;

/* A model of x's layers for examples of `input` shape, with buffers for cap rows. A shape
 * that cannot work (a kernel larger than its input, a dense layer on an image) is an error
 * naming the layer's FILE:LINE:COL and the shapes so far (FANIN_ECONFIG). */
int fanin__model_new_shaped(const fanin_experiment *x, fanin__shape input, int cap,
                            fanin_model **out, char *err, size_t errlen);
/* The same for flat examples of n_in features: input [n_in, 1, 1]. */
int fanin__model_new(const fanin_experiment *x, int n_in, int cap, fanin_model **out, char *err,
                     size_t errlen);
/* A replica of src for another thread's slice of a batch (row_threads.h): the same layers with
 * its own gradients, activations (cap rows) and scratch, and src's parameters and buffers
 * (borrowed: src outlives it; they are only read). No optimizer state. Free with
 * fanin__model_free. */
int fanin__model_new_replica(const fanin_model *src, int cap, fanin_model **out, char *err,
                             size_t errlen);
void fanin__model_free(fanin_model *m);
/* Initialise every W and b with the experiment's plugins and streams: rng philox gives each
 * tensor its own (seed, layer, tensor) stream; rng numpy one MT19937 stream seeded as
 * np.random.seed(seed), drawn W0, b0, W1, b1, ... (docs/random-streams.md). */
int fanin__model_init_params(fanin_model *m, char *err, size_t errlen);
/* The batch data-dependent initializers see through layer_forward: the first min(cap, n) rows
 * of X [n, n_in] (borrowed until init_params returns). Without it layer_forward reports
 * FANIN_ENOTSUP. */
void fanin__model_set_init_batch(fanin_model *m, const float *X, int64_t n);
/* The targets of that batch, Y [n, y_dim] as the dataset stores them (borrowed likewise):
 * without them the gradients-at-initialisation service reports FANIN_ENOTSUP. */
void fanin__model_set_init_labels(fanin_model *m, const float *Y);
/* ---- init_grad.c: gradients at initialisation (fanin_host.init_loss_grad, init_weight) ----
 * Installed (user: a fanin__forward_user) in the context of the output layer's weight fill. */
extern const fanin__init_grad_ops fanin__model_init_grad;
/* The layer_forward service: forward the init batch through layers 0..l and point *out at
 * layer l's pre-activation Z [*rows, *cols], computed with a zero bias for layer l. */
int fanin__model_layer_forward(fanin_model *m, int l, const float **out, int64_t *rows,
                               int64_t *cols, char *err, size_t errlen);
/* Forward n <= cap rows of X [n, n_in]; output in the last layer's A. */
int fanin__model_forward(fanin_model *m, const float *X, int n, char *err, size_t errlen);
/* Backward from dA of the last layer (set by the loss); fills grads. */
int fanin__model_backward(fanin_model *m, const float *X, int n, char *err, size_t errlen);
/* ---- param_groups.c ---- */

/* m's parameter groups from its layers' multipliers, their optimizer state slices allocated
 * and initialised (opt_state, opt_state_size). A wd_scale with an optimizer without a
 * weight_decay parameter is an error at the layer (FANIN_ECONFIG). */
int fanin__param_groups_new(fanin_model *m, char *err, size_t errlen);
void fanin__param_groups_free(fanin_model *m);
/* One optimizer update at 1-based step t with learning rate lr (called by train.c): the
 * optimizer once per parameter group, at lr * lr_scale with the group's state and parameters. */
int fanin__optimizer_step(fanin_model *m, int64_t t, double lr, char *err, size_t errlen);
/* ---- model_file.c ---- */

/* Write the parameters as safetensors under each kind's tensor names (dense: layers.N.weight
 * [out,in], layers.N.bias [out], F32); `metadata` (may be NULL) is stored under
 * __metadata__.config. */
int fanin__model_save(const fanin_model *m, const char *path, const char *metadata, char *err,
                      size_t errlen);
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
