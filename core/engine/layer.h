/* Layer kinds: what the engine needs to know of a kind of layer, as one table row each
 * (layer.c). Adding a kind is a new file with its row (dense.c is the first) and a case in
 * fanin__layer_kind_of; model.c and train.c stay unchanged.
 *
 * A kind sizes its parameters and per-row buffers, points its views into the model's blocks,
 * initialises its tensors through the initializer plugins, runs forward and backward, and names
 * its tensors for model.safetensors. Shapes are row-major [rows, units], as in model.h.
 */
#ifndef FANIN_ENGINE_LAYER_H
#define FANIN_ENGINE_LAYER_H

#include "base/rng.h"
#include "config/pref.h"
#include "engine/model.h"
#include "io/safetensors.h"
#include "plugin/host.h"

#include <stdint.h>
#include <stdbool.h>

#define FANIN_LAYER_MAX_TENSORS 4

/* What initialising one layer needs from the model: its streams and the layer_forward
 * service (installed in a weight fill's context; NULL: no data batch). */
typedef struct fanin__init_env {
    uint64_t seed;
    fanin__mt19937 *mt;               /* rng numpy: the one shared stream, else NULL */
    int layer;                        /* the layer's index: its streams' (seed, layer, .) key */
    fanin__layer_forward_fn forward;  /* the layer_forward service for this layer, or NULL */
    void *forward_user;
} fanin__init_env;

typedef struct fanin__layer_kind {
    const char *name; /* "dense" */
    /* From the spec and the input width: set L->n_in and L->n_out, and say how many parameter
     * floats the layer has and how many activation floats it needs per batch row. */
    void (*shape)(fanin__layer *L, int n_in, size_t *n_params, size_t *act_per_row);
    /* Point the layer's views at p (params), g (grads, same layout) and a (cap rows of
     * activation buffers); sets P, dP, n_p and every view the kind uses. */
    void (*carve)(fanin__layer *L, float *p, float *g, float *a, int cap);
    /* Fill the parameters with the spec's initializers (activation gain `gain`). */
    int (*init)(fanin__layer *L, const fanin__init_env *env, double gain, char *err,
                size_t errlen);
    /* n rows of `in` [n, n_in] into Z and A; with pre_only, Z without bias or activation (what
     * the layer_forward service shows an initializer). */
    int (*forward)(fanin__layer *L, const float *in, int n, bool pre_only, char *err,
                   size_t errlen);
    /* From dA (or dZ when dz_ready) to the parameter gradients, and to d_in [n, n_in] unless
     * d_in is NULL (the first layer). */
    int (*backward)(fanin__layer *L, const float *in, float *d_in, int n, bool dz_ready,
                    char *err, size_t errlen);
    /* The layer's tensors as model.safetensors names them (index: the layer's position);
     * returns how many (<= FANIN_LAYER_MAX_TENSORS) it wrote into out. Names live in `names`
     * (FANIN_LAYER_MAX_TENSORS x 64 bytes). */
    int (*tensors)(const fanin__layer *L, int index, fanin__st_out *out, char (*names)[64]);
} fanin__layer_kind;

/* The row of enum fanin__layer_type `type` (config/experiment.h), or NULL when unknown. */
const fanin__layer_kind *fanin__layer_kind_of(int type);

/* ---- helpers the kinds share (layer.c) ---- */

/* Fill tensor t with initializer `init` from the stream (layer, stream) of env; `with_forward`
 * installs the layer_forward service in the call's context. `what` names the call in errors. */
int fanin__layer_fill(const fanin__init_env *env, const fanin__pref *init, const fanin_tensor *t,
                      int stream, double gain, bool with_forward, const char *what, char *err,
                      size_t errlen);
/* A = f(Z) and dZ = dA * f'(Z) over n cells with the layer's activation plugin. */
int fanin__layer_activate(const fanin__layer *L, const float *Z, float *A, size_t n, char *err,
                          size_t errlen);
int fanin__layer_activate_backward(const fanin__layer *L, const float *Z, const float *A,
                                   float *dA, size_t n, char *err, size_t errlen);

#endif /* FANIN_ENGINE_LAYER_H */
