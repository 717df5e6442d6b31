/* model.safetensors: the model's parameters under each layer kind's tensor names (torch's
 * state_dict names for dense), written and read back through io/safetensors. Loading checks
 * every tensor's dtype and shape against the config's model. */
#include "base/errors.h"
#include "engine/layer.h"
#include "engine/model.h"
#include "io/safetensors.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tensor_list {
    fanin__st_out *t;
    char (*names)[64];
    int n;
} tensor_list;

/* Every layer's tensors, in layer order (caller frees with list_free). */
static int list_tensors(const fanin_model *m, tensor_list *tl) {
    size_t cap = (size_t)m->n_layers * FANIN_LAYER_MAX_TENSORS;
    tl->t = calloc(cap, sizeof *tl->t);
    tl->names = calloc(cap, sizeof *tl->names);
    tl->n = 0;
    if (!tl->t || !tl->names) return FANIN_ENOMEM;
    for (int l = 0; l < m->n_layers; l++) {
        const fanin__layer *L = &m->layers[l];
        tl->n += L->kind->tensors(L, tl->t + tl->n, tl->names + tl->n);
    }
    return FANIN_OK;
}

static void list_free(tensor_list *tl) {
    free(tl->t);
    free(tl->names);
}

int fanin__model_save(const fanin_model *m, const char *path, const char *metadata, char *err,
                      size_t errlen) {
    tensor_list tl;
    int rc = list_tensors(m, &tl);
    rc = rc < 0 ? fanin__errf(err, errlen, rc, "%s: out of memory", path)
                : fanin__st_write(path, tl.t, tl.n, metadata, err, errlen);
    list_free(&tl);
    return rc;
}

static void shape_text(const fanin__st_out *o, char *buf, size_t len) {
    if (o->ndim == 2)
        snprintf(buf, len, "[%lld, %lld]", (long long)o->shape[0], (long long)o->shape[1]);
    else snprintf(buf, len, "[%lld]", (long long)o->shape[0]);
}

/* One tensor into its view: F32 of exactly the model's shape. */
static int take(const fanin__st_file *f, const char *path, const fanin__st_out *o, char *err,
                size_t errlen) {
    const fanin__st_tensor *t = fanin__st_find(f, o->name);
    if (!t)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: no tensor '%s'; the config's model does "
                           "not match this file",
                           path, o->name);
    bool same = !strcmp(t->dtype, "F32") && t->ndim == o->ndim;
    for (int d = 0; same && d < o->ndim; d++) same = t->shape[d] == o->shape[d];
    if (!same) {
        char want[64];
        shape_text(o, want, sizeof want);
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: tensor '%s' is %s of %d dimensions "
                           "[%lld%s...]; the config's model needs F32 %s",
                           path, o->name, t->dtype, t->ndim, t->ndim ? (long long)t->shape[0] : 0LL,
                           t->ndim > 1 ? ", " : "", want);
    }
    /* the views point into m->params, which the caller owns and may write (little-endian) */
    memcpy((float *)o->data, f->data + t->begin, (size_t)(t->end - t->begin));
    return FANIN_OK;
}

int fanin__model_load(fanin_model *m, const char *path, char *err, size_t errlen) {
    tensor_list tl;
    if (list_tensors(m, &tl) < 0) {
        list_free(&tl);
        return fanin__errf(err, errlen, FANIN_ENOMEM, "%s: out of memory", path);
    }
    fanin__st_file f;
    int rc = fanin__st_read(path, &f, err, errlen);
    if (rc < 0) {
        list_free(&tl);
        return rc;
    }
    for (int i = 0; rc == FANIN_OK && i < tl.n; i++) rc = take(&f, path, &tl.t[i], err, errlen);
    if (rc == FANIN_OK && f.n != tl.n)
        rc = fanin__errf(err, errlen, FANIN_EDATA,
                         "%s: %d tensors, but the config's model has %d "
                         "layers (%d tensors)",
                         path, f.n, m->n_layers, tl.n);
    fanin__st_deinit(&f);
    list_free(&tl);
    return rc;
}
