/* The table of layer kinds, and what the kinds share: filling a tensor through an initializer
 * plugin with the right stream and context, and calling the layer's activation plugin. */
#include "engine/layer.h"

#include <stdio.h>
#include "base/rng.h"
#include "config/experiment.h"
#include "config/pref.h"
#include "engine/model.h"
#include "plugin/host.h"

#include <stdint.h>
#include <stdbool.h>

extern const fanin__layer_kind fanin__dense_kind;          /* dense.c */
extern const fanin__layer_kind fanin__conv2d_kind;         /* conv.c */
extern const fanin__layer_kind fanin__maxpool2d_kind;      /* pool.c */
extern const fanin__layer_kind fanin__avgpool2d_kind;      /* pool.c */
extern const fanin__layer_kind fanin__global_avgpool_kind; /* pool.c */
extern const fanin__layer_kind fanin__flatten_kind;        /* pool.c */
extern const fanin__layer_kind fanin__residual_open_kind;  /* residual.c */
extern const fanin__layer_kind fanin__residual_close_kind; /* residual.c */
extern const fanin__layer_kind fanin__batchnorm_kind;      /* norm.c */
extern const fanin__layer_kind fanin__layernorm_kind;      /* norm.c */
extern const fanin__layer_kind fanin__dropout_kind;        /* dropout.c */

const fanin__layer_kind *fanin__layer_kind_of(int type) {
    switch (type) {
    case FANIN_LAYER_DENSE: return &fanin__dense_kind;
    case FANIN_LAYER_CONV2D: return &fanin__conv2d_kind;
    case FANIN_LAYER_MAXPOOL2D: return &fanin__maxpool2d_kind;
    case FANIN_LAYER_AVGPOOL2D: return &fanin__avgpool2d_kind;
    case FANIN_LAYER_GLOBAL_AVGPOOL: return &fanin__global_avgpool_kind;
    case FANIN_LAYER_FLATTEN: return &fanin__flatten_kind;
    case FANIN_LAYER_RESIDUAL_OPEN: return &fanin__residual_open_kind;
    case FANIN_LAYER_RESIDUAL_CLOSE: return &fanin__residual_close_kind;
    case FANIN_LAYER_BATCHNORM: return &fanin__batchnorm_kind;
    case FANIN_LAYER_LAYERNORM: return &fanin__layernorm_kind;
    case FANIN_LAYER_DROPOUT: return &fanin__dropout_kind;
    default: return NULL;
    }
}

size_t fanin__shape_size(fanin__shape s) { return (size_t)s.c * (size_t)s.h * (size_t)s.w; }

void fanin__layer_name(const fanin__layer *L, char *buf, size_t len) {
    if (L->spec->name[0]) snprintf(buf, len, "%.50s", L->spec->name);
    else snprintf(buf, len, "layers.%d", L->index);
}

void fanin__shape_text(fanin__shape s, char *buf, size_t len) {
    if (s.h == 1 && s.w == 1) snprintf(buf, len, "[%d]", s.c);
    else snprintf(buf, len, "[%d, %d, %d]", s.c, s.h, s.w);
}

/* The stream a tensor draws from: its own Philox (seed, layer, stream), or with rng numpy the
 * one shared MT19937 stream, in call order (docs/random-streams.md). */
static void tensor_rng(const fanin__init_env *env, int stream, fanin_rng *rng) {
    if (env->mt) fanin__rng_init_numpy(rng, env->mt);
    else fanin__rng_init(rng, env->seed, (uint32_t)env->layer, (uint32_t)stream);
}

int fanin__layer_fill(const fanin__init_env *env, const fanin__pref *init, const fanin_tensor *t,
                      int stream, double gain, bool with_forward, const char *what, char *err,
                      size_t errlen) {
    const fanin_initializer_vt *vt = init->entry->plugin->vtable;
    fanin_rng rng;
    tensor_rng(env, stream, &rng);
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, init->entry, gain);
    if (with_forward) {
        ctx.layer_forward = env->forward;
        ctx.layer_forward_user = env->forward_user;
        if ((t->flags & FANIN_TENSOR_OUTPUT) && !t->is_bias) { /* every layer is initialised */
            ctx.init_grad = &fanin__model_init_grad;
            ctx.init_grad_user = env->forward_user;
        }
    }
    fanin__call_note("fill", env->layer);
    int rc = vt->fill(&ctx, t, init->params, &rng);
    fanin__call_done();
    return rc < 0 ? fanin__ctx_fail(&ctx, rc, what, err, errlen) : FANIN_OK;
}

/* Is the layer part of a residual block? (a spec built by hand, all zeros, is not) */
static bool in_block(const fanin__layer_spec *s) { return s->block >= 0 && s->n_blocks > 0; }

/* Is L the network's output layer: its last dense or conv layer, outside any branch? */
static bool is_output_layer(const fanin__layer *L) {
    const fanin__layer_spec *s = L->spec;
    if ((s->type != FANIN_LAYER_DENSE && s->type != FANIN_LAYER_CONV2D) || in_block(s) || !L->model)
        return false;
    for (int j = L->index + 1; j < L->model->n_layers; j++) {
        int type = L->model->layers[j].spec->type;
        if (type == FANIN_LAYER_DENSE || type == FANIN_LAYER_CONV2D) return false;
    }
    return true;
}

void fanin__layer_tensor(fanin_tensor *t, const fanin__layer *L, float *data, int role, int ndim,
                         const int64_t *shape, const fanin_tensor *of) {
    fanin__tensor_init(t, data, role, ndim, shape, of);
    const fanin__layer_spec *s = L->spec;
    if (in_block(s)) {
        t->block = s->block;
        t->n_blocks = s->n_blocks;
        t->pos = s->pos;
        t->branch_len = s->branch_len;
    }
    bool own = role == FANIN_ROLE_DENSE_WEIGHT || role == FANIN_ROLE_CONV_WEIGHT ||
               role == FANIN_ROLE_BIAS;
    if (own && is_output_layer(L)) t->flags |= FANIN_TENSOR_OUTPUT;
}

static const fanin_activation_vt *act_vt(const fanin__layer *L) {
    return (const fanin_activation_vt *)L->spec->activation.entry->plugin->vtable;
}

int fanin__layer_activate(const fanin__layer *L, const float *Z, float *A, size_t n, char *err,
                          size_t errlen) {
    const fanin__pref *a = &L->spec->activation;
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, a->entry, 1.0);
    fanin__call_note("forward", L->index);
    int rc = act_vt(L)->forward(&ctx, Z, A, n, a->params);
    fanin__call_done();
    return rc < 0 ? fanin__ctx_fail(&ctx, rc, "activation forward", err, errlen) : FANIN_OK;
}

int fanin__layer_activate_backward(const fanin__layer *L, const float *Z, const float *A, float *dA,
                                   size_t n, char *err, size_t errlen) {
    const fanin__pref *a = &L->spec->activation;
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, a->entry, 1.0);
    fanin__call_note("backward", L->index);
    int rc = act_vt(L)->backward(&ctx, Z, A, dA, dA, n, a->params);
    fanin__call_done();
    return rc < 0 ? fanin__ctx_fail(&ctx, rc, "activation backward", err, errlen) : FANIN_OK;
}
