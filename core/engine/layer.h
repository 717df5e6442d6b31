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
    fanin__mt19937 *mt;              /* rng numpy: the one shared stream, else NULL */
    int layer;                       /* the layer's index: its streams' (seed, layer, .) key */
    fanin__layer_forward_fn forward; /* the layer_forward service for this layer, or NULL */
    void *forward_user;
} fanin__init_env;

/* What a layer needs of the model's blocks, counted by its kind's shape(). */
typedef struct fanin__layer_size {
    size_t params;      /* trainable floats (and as many gradient floats) */
    size_t buffers;     /* saved but untrained floats (running statistics) */
    size_t act_per_row; /* floats per batch row: Z, A, dA and the kind's own aux buffers */
    size_t scratch;     /* floats of scratch during one call (shared by every layer) */
} fanin__layer_size;

typedef struct fanin__layer_kind {
    const char *name; /* "dense" */
    /* From L->spec and L->in (set by the model): set L->out, n_in, n_out and count what the
     * layer needs. A shape that cannot work is FANIN_ECONFIG with the reason in err (the model
     * adds the layer's location). */
    int (*shape)(fanin__layer *L, fanin__layer_size *sz, char *err, size_t errlen);
    /* Point the layer's views at p (params), g (grads, same layout), b (buffers) and a (cap
     * rows of activation buffers); sets P, dP, n_p, B, n_b and every view the kind uses. */
    void (*carve)(fanin__layer *L, float *p, float *g, float *b, float *a, int cap);
    /* Fill the parameters (and reset the buffers) with the spec's initializers (activation
     * gain `gain`). */
    int (*init)(fanin__layer *L, const fanin__init_env *env, double gain, char *err, size_t errlen);
    /* n rows of `in` [n, n_in] into Z and A, as `pass` (enum fanin__pass) asks; for
     * FANIN_PASS_PRE, Z without bias or activation (what layer_forward shows an initializer). */
    int (*forward)(fanin__layer *L, const float *in, int n, int pass, char *err, size_t errlen);
    /* From dA (or dZ when dz_ready) to the parameter gradients, and to d_in [n, n_in] unless
     * d_in is NULL (the first layer). */
    int (*backward)(fanin__layer *L, const float *in, float *d_in, int n, bool dz_ready, char *err,
                    size_t errlen);
    /* The layer's tensors (parameters, then buffers) as model.safetensors names them: the
     * names PyTorch gives the equivalent nn.Sequential. Returns how many (at most
     * FANIN_LAYER_MAX_TENSORS) it wrote into out, names in `names`. */
    int (*tensors)(const fanin__layer *L, fanin__st_out *out, char (*names)[64]);
} fanin__layer_kind;

/* The row of enum fanin__layer_type `type` (config/experiment.h), or NULL when unknown. */
const fanin__layer_kind *fanin__layer_kind_of(int type);

/* ---- helpers the kinds share (layer.c) ---- */

/* c * h * w */
size_t fanin__shape_size(fanin__shape s);
/* The module path a layer's tensors are saved under: spec->name (its first 50 characters, room
 * for ".running_mean"), or "layers.<index>" for a hand-built experiment. */
void fanin__layer_name(const fanin__layer *L, char *buf, size_t len);
/* A conv2d's zeros above (and left of) its input, *lo, and in all along one side, *total
 * (torch's padding='same' puts the odd one below/right); its stride (0 in the spec: 1). */
void fanin__conv_pads(const fanin__layer_spec *sp, int *lo, int *total);
int fanin__conv_stride(const fanin__layer_spec *sp);
/* "[c, h, w]" (or "[c]" for a vector), for messages. */
void fanin__shape_text(fanin__shape s, char *buf, size_t len);

/* t := how an initializer sees one of L's parameters (plugin ABI 1.2): `data` shaped as
 * PyTorch's `shape` (ndim 1..4: [out, in] dense, [out, in, kh, kw] conv, [n] a vector) in
 * `role` (enum fanin_role); the 2-D view older plugins see ([out, in*kh*kw]; a vector [n, 1]);
 * fans as torch.nn.init._calculate_fan_in_and_fan_out (receptive field included; a vector
 * takes those of `of`, the weight a bias belongs to, or n, n when NULL); L's place in its
 * residual block from its spec (block, n_blocks, pos, branch_len; -1 outside any block); and
 * FANIN_TENSOR_OUTPUT on the weight and bias of the network's last dense or conv layer when
 * that layer is outside any branch. E.g. a conv's weight and bias:
 *   fanin_tensor w, b;
 *   fanin__layer_tensor(&w, L, L->W, FANIN_ROLE_CONV_WEIGHT, 4, (int64_t[]){O, C, k, k}, NULL);
 *   fanin__layer_tensor(&b, L, L->b, FANIN_ROLE_BIAS, 1, (int64_t[]){O}, &w);
 * then fanin__layer_fill(env, &L->spec->init, &w, ...). */
void fanin__layer_tensor(fanin_tensor *t, const fanin__layer *L, float *data, int role, int ndim,
                         const int64_t *shape, const fanin_tensor *of);
/* Fill tensor t (made by fanin__layer_tensor) with initializer `init` from the stream (layer,
 * stream) of env; `with_forward` installs the layer_forward service in the call's context.
 * `what` names the call in errors. */
int fanin__layer_fill(const fanin__init_env *env, const fanin__pref *init, const fanin_tensor *t,
                      int stream, double gain, bool with_forward, const char *what, char *err,
                      size_t errlen);
/* A = f(Z) and dZ = dA * f'(Z) over n cells with the layer's activation plugin. */
int fanin__layer_activate(const fanin__layer *L, const float *Z, float *A, size_t n, char *err,
                          size_t errlen);
int fanin__layer_activate_backward(const fanin__layer *L, const float *Z, const float *A, float *dA,
                                   size_t n, char *err, size_t errlen);

#endif /* FANIN_ENGINE_LAYER_H */
