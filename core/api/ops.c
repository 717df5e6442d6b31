/* The embedding API's activations and optimizers (<fanin/fanin.h>): a plugin with its
 * parameters resolved once, then called on caller-owned float32 buffers. Errors land in the
 * session's message as "plugin NAME (FILE): its message". Nothing here prints or exits.
 */
#include "api/api.h"
#include "plugin/host.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct fanin_activation {
    fanin_session *s;
    fanin__pref pref;
};

struct fanin_optimizer {
    fanin_session *s;
    fanin__pref pref;
    void *state; /* the plugin's state for n parameters, 16-byte aligned */
    size_t n;
    int64_t t; /* steps taken */
};

int fanin_activation_open(fanin_session *s, const char *name, const char *const *params,
                          size_t n_params, fanin_activation **out) {
    if (!s || !out) return FANIN_EINVAL;
    s->err[0] = 0;
    *out = calloc(1, sizeof **out);
    if (!*out) return fanin__errf(s->err, sizeof s->err, FANIN_ENOMEM, "out of memory");
    (*out)->s = s;
    int rc = fanin__api_pref(s->reg, FANIN_KIND_ACTIVATION, name, params, n_params, &(*out)->pref,
                             s->err, sizeof s->err);
    if (rc < 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

void fanin_activation_close(fanin_activation *a) {
    if (!a) return;
    fanin__pref_deinit(&a->pref);
    free(a);
}

/* rc < 0 from a plugin call: its message into the session. */
static int failed(fanin_session *s, const fanin_ctx *ctx, int rc, const char *what) {
    return fanin__ctx_fail(ctx, rc, what, s->err, sizeof s->err);
}

int fanin_activation_forward(fanin_activation *a, const float *x, float *y, size_t n) {
    if (!a || (n && (!x || !y))) return FANIN_EINVAL;
    const fanin_plugin *p = a->pref.entry->plugin;
    if (x == y && n && !(p->flags & FANIN_FLAG_IN_PLACE))
        return fanin__errf(a->s->err, sizeof a->s->err, FANIN_EINVAL,
                           "activation '%s' does not work in place (x == y): give y its own "
                           "buffer",
                           p->name);
    const fanin_activation_vt *vt = p->vtable;
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, a->pref.entry, 1.0);
    int rc = vt->forward(&ctx, x, y, n, a->pref.params);
    return rc < 0 ? failed(a->s, &ctx, rc, "forward") : FANIN_OK;
}

int fanin_activation_backward(fanin_activation *a, const float *x, const float *y, const float *dy,
                              float *dx, size_t n) {
    if (!a || (n && (!x || !y || !dy || !dx))) return FANIN_EINVAL;
    const fanin_activation_vt *vt = a->pref.entry->plugin->vtable;
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, a->pref.entry, 1.0);
    int rc = vt->backward(&ctx, x, y, dy, dx, n, a->pref.params);
    return rc < 0 ? failed(a->s, &ctx, rc, "backward") : FANIN_OK;
}

int fanin_activation_gain(fanin_activation *a, double *gain) {
    if (!a || !gain) return FANIN_EINVAL;
    const fanin_activation_vt *vt = a->pref.entry->plugin->vtable;
    int rc = vt->gain(a->pref.params, gain);
    if (rc < 0 || !isfinite(*gain) || *gain <= 0)
        return fanin__errf(a->s->err, sizeof a->s->err, FANIN_EPLUGIN,
                           "activation '%s': gain() gave no positive finite gain",
                           a->pref.entry->plugin->name);
    return FANIN_OK;
}

/* The plugin's state for o->n parameters, allocated and initialised. */
static int optimizer_state(fanin_optimizer *o) {
    const fanin_optimizer_vt *vt = o->pref.entry->plugin->vtable;
    size_t bytes = vt->state_size(o->n, o->pref.params);
    o->state = aligned_alloc(16, (bytes + 15) / 16 * 16 + 16);
    if (!o->state)
        return fanin__errf(o->s->err, sizeof o->s->err, FANIN_ENOMEM,
                           "out of memory for %zu bytes of optimizer state", bytes);
    memset(o->state, 0, bytes);
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, o->pref.entry, 1.0);
    int rc = vt->init_state(&ctx, o->state, o->n, o->pref.params);
    return rc < 0 ? failed(o->s, &ctx, rc, "init_state") : FANIN_OK;
}

int fanin_optimizer_open(fanin_session *s, const char *name, const char *const *params,
                         size_t n_params, size_t n, fanin_optimizer **out) {
    if (!s || !out) return FANIN_EINVAL;
    s->err[0] = 0;
    *out = calloc(1, sizeof **out);
    if (!*out) return fanin__errf(s->err, sizeof s->err, FANIN_ENOMEM, "out of memory");
    fanin_optimizer *o = *out;
    o->s = s;
    o->n = n;
    int rc = fanin__api_pref(s->reg, FANIN_KIND_OPTIMIZER, name, params, n_params, &o->pref, s->err,
                             sizeof s->err);
    if (rc < 0) {
        free(o);
        *out = NULL;
        return rc;
    }
    rc = optimizer_state(o);
    if (rc < 0) {
        fanin_optimizer_close(o);
        *out = NULL;
    }
    return rc;
}

void fanin_optimizer_close(fanin_optimizer *o) {
    if (!o) return;
    free(o->state);
    fanin__pref_deinit(&o->pref);
    free(o);
}

int fanin_optimizer_step(fanin_optimizer *o, float *w, const float *g, double lr) {
    if (!o || (o->n && (!w || !g))) return FANIN_EINVAL;
    if (!isfinite(lr) || lr < 0)
        return fanin__errf(o->s->err, sizeof o->s->err, FANIN_EINVAL,
                           "learning rate %g: give a finite lr >= 0", lr);
    const fanin_optimizer_vt *vt = o->pref.entry->plugin->vtable;
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, o->pref.entry, 1.0);
    int rc = vt->step(&ctx, o->state, w, g, o->n, lr, o->t + 1, o->pref.params);
    if (rc < 0) return failed(o->s, &ctx, rc, "step");
    o->t++;
    return FANIN_OK;
}
