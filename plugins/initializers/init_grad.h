/* Helpers shared by metainit.c and gradinit.c (private to plugins/initializers/, not ABI): the
 * network's weight tensors through the host's gradients-at-initialisation services (plugin ABI
 * 1.2: init_loss_grad, init_weight), a copy of their initial values, and setting each tensor to
 * a scale factor times that copy. */
#ifndef FANIN_INIT_GRAD_H
#define FANIN_INIT_GRAD_H

#include <fanin/plugin.h>

#include "init_common.h"
#include <math.h>
#include <string.h>

typedef struct ig_net {
    int32_t k;               /* weight tensors, input to output */
    float **w;               /* [k] their values (host-owned, writable during the fill) */
    const float **g;         /* [k] their gradients after the last evaluation */
    int64_t *n;              /* [k] their sizes */
    float *base;             /* every weight at the start, concatenated */
    float *gsave;            /* scratch of the same size */
    double *s, *trial, *dir; /* [k] scale factors (accepted, trial), derivative signs */
    size_t total;
} ig_net;

/* Does this host offer the services? (a pre-1.2 host, or one that left them NULL, does not) */
static inline int ig_available(void) {
    return FANIN_HAS_FIELD(fanin_host, init_weight, FANIN_HOST->hdr.struct_size) &&
           FANIN_HOST->init_loss_grad && FANIN_HOST->init_weight;
}

static inline void ig_close(fanin_ctx *ctx, ig_net *net) {
    void *p[] = {net->w, net->g, net->n, net->base, net->gsave, net->s, net->trial, net->dir};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        if (p[i]) FANIN_HOST->free(ctx, p[i]);
    memset(net, 0, sizeof *net);
}

static inline int ig_alloc(fanin_ctx *ctx, ig_net *net) {
    size_t k = (size_t)net->k;
    net->w = FANIN_HOST->alloc(ctx, k * sizeof *net->w);
    net->g = FANIN_HOST->alloc(ctx, k * sizeof *net->g);
    net->n = FANIN_HOST->alloc(ctx, k * sizeof *net->n);
    net->s = FANIN_HOST->alloc(ctx, k * sizeof *net->s);
    net->trial = FANIN_HOST->alloc(ctx, k * sizeof *net->trial);
    net->dir = FANIN_HOST->alloc(ctx, k * sizeof *net->dir);
    if (net->w && net->g && net->n && net->s && net->trial && net->dir) return FANIN_OK;
    return FANIN_HOST->error(ctx, FANIN_ENOMEM, "no memory for %d weight tensors", (int)k);
}

/* Evaluate once, list the weight tensors, copy their values; every scale factor 1. */
static inline int ig_open(fanin_ctx *ctx, ig_net *net, double *loss) {
    memset(net, 0, sizeof *net);
    int rc = FANIN_HOST->init_loss_grad(ctx, loss, &net->k);
    if (rc < 0 || net->k < 1)
        return rc < 0 ? rc : FANIN_HOST->error(ctx, FANIN_EINVAL, "no weights");
    if ((rc = ig_alloc(ctx, net)) < 0) return rc;
    for (int32_t i = 0; i < net->k && rc == FANIN_OK; i++) {
        rc = FANIN_HOST->init_weight(ctx, i, &net->w[i], &net->g[i], &net->n[i]);
        net->total += (size_t)net->n[i];
        net->s[i] = 1.0;
    }
    if (rc < 0) return rc;
    net->base = FANIN_HOST->alloc(ctx, net->total * sizeof *net->base);
    net->gsave = FANIN_HOST->alloc(ctx, net->total * sizeof *net->gsave);
    if (!net->base || !net->gsave)
        return FANIN_HOST->error(ctx, FANIN_ENOMEM, "no memory for %zu weights", net->total);
    size_t o = 0;
    for (int32_t i = 0; i < net->k; o += (size_t)net->n[i], i++)
        memcpy(net->base + o, net->w[i], (size_t)net->n[i] * sizeof(float));
    return FANIN_OK;
}

/* W_i := s[i] * W_i(start) for every tensor. */
static inline void ig_scale(ig_net *net, const double *s) {
    size_t o = 0;
    for (int32_t i = 0; i < net->k; o += (size_t)net->n[i], i++)
        for (int64_t j = 0; j < net->n[i]; j++) net->w[i][j] = (float)(s[i] * net->base[o + j]);
}

/* gsave := every gradient, concatenated; returns its L2 norm. */
static inline double ig_save_grad(ig_net *net) {
    size_t o = 0;
    double ss = 0.0;
    for (int32_t i = 0; i < net->k; i++)
        for (int64_t j = 0; j < net->n[i]; j++, o++) {
            net->gsave[o] = net->g[i][j];
            ss += (double)net->g[i][j] * net->g[i][j];
        }
    return sqrt(ss);
}

/* W += c * gsave (a step along the saved gradient). */
static inline void ig_step(ig_net *net, double c) {
    size_t o = 0;
    for (int32_t i = 0; i < net->k; i++)
        for (int64_t j = 0; j < net->n[i]; j++, o++) net->w[i][j] += (float)(c * net->gsave[o]);
}

/* An objective of the scale factors s (it may move the weights; ig_minimise resets them). */
typedef int (*ig_objective)(fanin_ctx *ctx, ig_net *net, const double *s, const fanin_value *p,
                            double *f);

/* One sign step on log s: the derivative of f in each log s_i by a forward difference (step
 * 0.01), then s_i *= exp(-lr sign(d_i)), clamped to >= lo; kept when f decreases, else lr is
 * halved and s stays. *f holds f(s) on entry and on return. */
static inline int ig_sign_step(fanin_ctx *ctx, ig_net *net, ig_objective obj, const fanin_value *p,
                               double lo, double *lr, double *f) {
    const double h = 0.01;
    double *d = net->dir;
    int rc = FANIN_OK;
    for (int32_t i = 0; i < net->k && rc == FANIN_OK; i++) {
        memcpy(net->trial, net->s, (size_t)net->k * sizeof *net->s);
        net->trial[i] *= exp(h);
        double fi;
        rc = obj(ctx, net, net->trial, p, &fi);
        d[i] = fi > *f ? 1.0 : fi < *f ? -1.0 : 0.0;
    }
    if (rc < 0) return rc;
    for (int32_t i = 0; i < net->k; i++) net->trial[i] = fmax(lo, net->s[i] * exp(-*lr * d[i]));
    double fn;
    if ((rc = obj(ctx, net, net->trial, p, &fn)) < 0) return rc;
    if (fn < *f) {
        memcpy(net->s, net->trial, (size_t)net->k * sizeof *net->s);
        *f = fn;
    } else *lr /= 2;
    return FANIN_OK;
}

/* `steps` sign steps from s = 1; f0, f1: the objective before and after; the weights end as
 * s * W(start). */
static inline int ig_minimise(fanin_ctx *ctx, ig_net *net, ig_objective obj, const fanin_value *p,
                              int64_t steps, double lr, double lo, double *f0, double *f1) {
    int rc = obj(ctx, net, net->s, p, f0);
    *f1 = *f0;
    for (int64_t t = 0; t < steps && rc == FANIN_OK; t++)
        rc = ig_sign_step(ctx, net, obj, p, lo, &lr, f1);
    ig_scale(net, net->s);
    return rc;
}

/* How one of these initializers runs: its name (for messages), its objective, the sign steps'
 * count, rate and lower bound on a scale factor, and what the objective is called in the log. */
typedef struct ig_method {
    const char *name;
    ig_objective objective;
    int64_t steps;
    double lr, lo;
    const char *what;
} ig_method;

static inline int ig_needs_network(fanin_ctx *ctx, const char *name) {
    return FANIN_HOST->error(ctx, FANIN_ENOTSUP,
                             "%s needs the loss's gradient at init: use it as the output layer's "
                             "init in an experiment (fanin >= plugin ABI 1.2), where every layer "
                             "is initialised and a labelled batch is at hand; init-stats and "
                             "plugin checks have none",
                             name);
}

/* The shared fill: a bias is 0; the output weight is drawn N(0, 1/fan_in), then every weight
 * tensor is rescaled by the sign steps on m's objective. */
static inline int ig_fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p,
                          fanin_rng *rng, const ig_method *m) {
    size_t n = init_size(t);
    if (n == 0) return FANIN_OK;
    if (t->is_bias) {
        for (size_t i = 0; i < n; i++) t->data[i] = 0.0f;
        return FANIN_OK;
    }
    if (!ig_available()) return ig_needs_network(ctx, m->name);
    double fan, loss, f0 = NAN, f1 = NAN;
    int rc = init_fan(ctx, t, INIT_FAN_IN, &fan);
    if (rc < 0) return rc;
    FANIN_HOST->rng_normal(rng, t->data, n, 0.0, 1.0 / sqrt(fan));
    ig_net net;
    rc = ig_open(ctx, &net, &loss);
    if (rc == FANIN_ENOTSUP) rc = ig_needs_network(ctx, m->name);
    if (rc == FANIN_OK)
        rc = ig_minimise(ctx, &net, m->objective, p, m->steps, m->lr, m->lo, &f0, &f1);
    if (rc == FANIN_OK)
        FANIN_HOST->log(ctx, FANIN_LOG_INFO, "%s: %s %.6g -> %.6g", m->name, m->what, f0, f1);
    ig_close(ctx, &net);
    return rc;
}

#endif /* FANIN_INIT_GRAD_H */
