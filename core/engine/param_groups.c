/* The optimizer's parameter groups (model.h: fanin__param_group): the layers' lr_scale,
 * wd_scale, bias_lr_scale and bias_wd_scale turned into runs of the parameter block, each with
 * its own slice of optimizer state (state_size(n_group) bytes, 16-byte aligned, one after
 * another) and, when its weight decay is scaled, its own copy of the optimizer's parameters
 * with the `weight_decay` row multiplied. All of it is allocated at model build; train.c calls
 * the optimizer once per group (fanin__optimizer_step, here). Adjacent runs with equal
 * multipliers merge, so a model without multipliers has one group, state and updates as before
 * groups existed.
 */
#include "base/errors.h"
#include "config/experiment.h"
#include "config/pref.h"
#include "engine/model.h"
#include "plugin/host.h"
#include "plugin/registry.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* aligned_alloc needs a size that is a multiple of the alignment (C11 7.22.3.1) */
static size_t round16(size_t bytes) { return (bytes + 15) / 16 * 16; }

/* Append params[off, off+n) with multipliers (lr, wd), merged into the last group when it ends
 * at off with the same multipliers. */
static void add_run(fanin_model *m, size_t off, size_t n, double lr, double wd) {
    if (n == 0) return;
    fanin__param_group *last = m->n_groups ? &m->groups[m->n_groups - 1] : NULL;
    if (last && last->off + last->n == off && last->lr_scale == lr && last->wd_scale == wd) {
        last->n += n;
        return;
    }
    m->groups[m->n_groups++] =
        (fanin__param_group){.off = off, .n = n, .lr_scale = lr, .wd_scale = wd};
}

/* A multiplier as given, or `unset` for 0 (a spec built by hand: experiment.h). */
static double or (double v, double unset) { return v > 0 ? v : unset; }

/* Layer L's parameters as runs: its bias (b, w_rows values) at the bias multipliers, the rest
 * at the layer's; each learning-rate multiplier times model.parametrization's for the
 * optimizer's family (experiment.h: fanin__pz; 1 when unset, so exact without one). */
static void layer_runs(fanin_model *m, const fanin__layer *L) {
    const fanin__layer_spec *s = L->spec;
    int fam = fanin__pz_adam_like(m->x->optimizer.entry ? m->x->optimizer.entry->plugin->name
                                                        : NULL);
    double pl = fanin__pz_f(s->pz.lr[fam]), pb = fanin__pz_f(s->pz.bias_lr[fam]);
    double lr0 = or (s->lr_scale, 1.0), wd = or (s->wd_scale, 1.0), lr = lr0 * pl;
    if (L->n_p == 0) return;
    size_t p0 = (size_t)(L->P - m->params), end = p0 + L->n_p;
    if (!L->b) {
        add_run(m, p0, L->n_p, lr, wd);
        return;
    }
    size_t b0 = (size_t)(L->b - m->params), b1 = b0 + (size_t)L->w_rows;
    add_run(m, p0, b0 - p0, lr, wd);
    add_run(m, b0, b1 - b0, or (s->bias_lr_scale, lr0) * pb, or (s->bias_wd_scale, wd));
    add_run(m, b1, end - b1, lr, wd);
}

/* The row of the optimizer's schema named weight_decay (F64), or -1. */
static int weight_decay_row(const fanin__entry *e) {
    for (size_t i = 0; i < e->n_params; i++)
        if (!strcmp(e->plugin->params[i].name, "weight_decay") &&
            e->plugin->params[i].type == FANIN_PARAM_F64)
            return (int)i;
    return -1;
}

/* A wd_scale other than 1 needs a weight_decay parameter to scale: else an error at the layer. */
static int check_wd(const fanin_model *m, int row, char *err, size_t errlen) {
    for (int l = 0; row < 0 && l < m->n_layers; l++) {
        const fanin__layer *L = &m->layers[l];
        double wd = or (L->spec->wd_scale, 1.0);
        bool scaled = wd != 1.0 || (L->b && or (L->spec->bias_wd_scale, wd) != 1.0);
        if (L->n_p && scaled)
            return fanin__errf(err, errlen, FANIN_ECONFIG,
                               "%s:%d:%d: wd_scale needs an optimizer with a weight_decay "
                               "parameter, and %s has none; remove wd_scale or change the "
                               "optimizer",
                               L->spec->loc.file ? L->spec->loc.file : "model", L->spec->loc.line,
                               L->spec->loc.col, m->x->optimizer.entry->plugin->name);
    }
    return FANIN_OK;
}

/* Each group with a scaled weight decay gets its own copy of the optimizer's parameters. */
static int scale_wd(fanin_model *m, int row, char *err, size_t errlen) {
    const fanin__pref *o = &m->x->optimizer;
    for (int i = 0; i < m->n_groups; i++) {
        fanin__param_group *g = &m->groups[i];
        if (g->wd_scale == 1.0) continue;
        if (!(g->params = malloc((o->entry->n_params + 1) * sizeof *g->params)))
            return fanin__errf(err, errlen, FANIN_ENOMEM, "optimizer groups: out of memory");
        memcpy(g->params, o->params, o->entry->n_params * sizeof *g->params);
        g->params[row].f *= g->wd_scale;
    }
    return FANIN_OK;
}

/* The optimizer parameters group g runs with: its own copy (weight_decay scaled) or the
 * optimizer's. */
static const fanin_value *group_params(const fanin_model *m, const fanin__param_group *g) {
    return g->params ? g->params : m->x->optimizer.params;
}

/* Every group's state slice, allocated and initialised by the optimizer. */
static int alloc_state(fanin_model *m, char *err, size_t errlen) {
    const fanin__pref *o = &m->x->optimizer;
    const fanin_optimizer_vt *vt = o->entry->plugin->vtable;
    size_t total = 0;
    for (int i = 0; i < m->n_groups; i++) {
        fanin__param_group *g = &m->groups[i];
        total = round16(total);
        g->state_off = total;
        total += vt->state_size(g->n, group_params(m, g));
    }
    m->opt_state_size = total; /* one group: state_size(n_params), as checkpoints hold it */
    m->opt_state = aligned_alloc(16, round16(total ? total : 16));
    if (!m->opt_state)
        return fanin__errf(err, errlen, FANIN_ENOMEM, "optimizer state: out of memory");
    for (int i = 0; i < m->n_groups; i++) {
        const fanin__param_group *g = &m->groups[i];
        fanin_ctx ctx;
        fanin__ctx_init(&ctx, o->entry, 1.0);
        int rc = vt->init_state(&ctx, (char *)m->opt_state + g->state_off, g->n,
                                group_params(m, g));
        if (rc < 0) return fanin__ctx_fail(&ctx, rc, "init_state", err, errlen);
    }
    return FANIN_OK;
}

int fanin__param_groups_new(fanin_model *m, char *err, size_t errlen) {
    int row = weight_decay_row(m->x->optimizer.entry);
    int rc = check_wd(m, row, err, errlen);
    if (rc < 0) return rc;
    m->groups = calloc(3 * (size_t)m->n_layers + 1, sizeof *m->groups);
    if (!m->groups)
        return fanin__errf(err, errlen, FANIN_ENOMEM, "optimizer groups: out of memory");
    m->n_groups = 0;
    for (int l = 0; l < m->n_layers; l++) layer_runs(m, &m->layers[l]);
    if (m->n_groups == 0) /* no parameters at all: one empty group */
        m->groups[m->n_groups++] = (fanin__param_group){.lr_scale = 1, .wd_scale = 1};
    rc = scale_wd(m, row, err, errlen);
    return rc < 0 ? rc : alloc_state(m, err, errlen);
}

/* The optimizer once per group: its run of weights and gradients, its state slice, lr *
 * lr_scale and its parameters. One group at multiplier 1 is exactly the single call over every
 * parameter. */
int fanin__optimizer_step(fanin_model *m, int64_t t, double lr, char *err, size_t errlen) {
    const fanin__pref *o = &m->x->optimizer;
    const fanin_optimizer_vt *vt = o->entry->plugin->vtable;
    for (int i = 0; i < m->n_groups; i++) {
        const fanin__param_group *g = &m->groups[i];
        fanin_ctx ctx;
        fanin__ctx_init(&ctx, o->entry, 1.0);
        int rc = vt->step(&ctx, (char *)m->opt_state + g->state_off, m->params + g->off,
                          m->grads + g->off, g->n, lr * g->lr_scale, t, group_params(m, g));
        if (rc < 0) return fanin__ctx_fail(&ctx, rc, "optimizer step", err, errlen);
    }
    return FANIN_OK;
}

void fanin__param_groups_free(fanin_model *m) {
    for (int i = 0; m->groups && i < m->n_groups; i++) free(m->groups[i].params);
    free(m->groups);
    m->groups = NULL;
    m->n_groups = 0;
}
