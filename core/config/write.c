/* A resolved experiment written back as YAML: no sweep, layers expanded, every default and
 * every plugin parameter spelled out, numbers in their shortest round-trip form. Reading the
 * output again gives an equal experiment (tests/test_config.c checks the round trip).
 */
#include "base/rng.h"
#include "config/experiment.h"
#include "config/pref.h"
#include "config/sections.h"
#include "config/tree.h"
#include "config/values.h"

#include <fanin/fanin.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void put_str(FILE *f, const char *s) {
    char q[2200];
    if (fanin__needs_quotes(s)) {
        fanin__quote(s, q, sizeof q);
        fputs(q, f);
    } else {
        fputs(s, f);
    }
}

static void put_key_str(FILE *f, const char *indent, const char *key, const char *s) {
    fprintf(f, "%s%s: ", indent, key);
    put_str(f, s);
    fputc('\n', f);
}

static void put_count(FILE *f, const char *key, int64_t n) {
    if (n < 0) fprintf(f, "  %s: all\n", key);
    else fprintf(f, "  %s: %lld\n", key, (long long)n);
}

/* {name: normal, mean: 0, std: 0.01}; `lr` (may be NULL) goes right after the name. */
static void put_pref(FILE *f, const fanin__pref *p, const double *lr) {
    char v[400];
    fprintf(f, "{name: %s", p->entry->plugin->name);
    if (lr) {
        fanin__format_double(*lr, v, sizeof v);
        fprintf(f, ", lr: %s", v);
    }
    for (size_t i = 0; i < p->entry->n_params; i++) {
        fanin__value_format(&p->entry->plugin->params[i], &p->params[i], true, v, sizeof v);
        fprintf(f, ", %s: %s", p->entry->plugin->params[i].name, v);
    }
    fputs("}", f);
}

static void put_classes(FILE *f, const fanin__data_spec *d) {
    if (!strcmp(d->source, "synthetic")) {
        if (d->n_synth_classes > 0) fprintf(f, "  classes: %d\n", d->n_synth_classes);
        return;
    }
    if (d->n_classes_listed == 0) {
        fputs("  classes: all\n", f);
        return;
    }
    fputs("  classes: [", f);
    for (int i = 0; i < d->n_classes_listed; i++) fprintf(f, "%s%d", i ? ", " : "", d->classes[i]);
    fputs("]\n", f);
}

static void put_data(FILE *f, const fanin__data_spec *d) {
    char v[64];
    fputs("data:\n", f);
    put_key_str(f, "  ", "source", d->source);
    if (!strcmp(d->source, "fashion-mnist")) {
        put_key_str(f, "  ", "path", d->path);
    } else if (!strcmp(d->source, "idx")) {
        put_key_str(f, "  ", "images", d->images);
        put_key_str(f, "  ", "labels", d->labels);
        if (*d->test_images) put_key_str(f, "  ", "test_images", d->test_images);
        if (*d->test_labels) put_key_str(f, "  ", "test_labels", d->test_labels);
    } else if (!strcmp(d->source, "csv")) {
        put_key_str(f, "  ", "path", d->path);
        put_key_str(f, "  ", "target", d->target);
    } else if (!strcmp(d->source, "hdf5")) {
        put_key_str(f, "  ", "path", d->path);
        if (*d->test_path) put_key_str(f, "  ", "test_path", d->test_path);
        put_key_str(f, "  ", "x", d->x);
        put_key_str(f, "  ", "y", d->y);
        put_key_str(f, "  ", "test_x", d->test_x);
        put_key_str(f, "  ", "test_y", d->test_y);
    } else if (!strcmp(d->source, "synthetic")) {
        put_key_str(f, "  ", "kind", d->kind);
        fprintf(f, "  n: %lld\n", (long long)d->n);
        fanin__format_double(d->noise, v, sizeof v);
        fprintf(f, "  noise: %s\n", v);
        if (d->features) fprintf(f, "  features: %d\n  outputs: %d\n", d->features, d->outputs);
    }
    put_classes(f, d);
    put_count(f, "train", d->train);
    put_count(f, "test", d->test);
    if (d->normalize >= 0 && d->normalize <= FANIN_NORM_AUTO)
        fprintf(f, "  normalize: %s\n", fanin__norm_names[d->normalize]);
    if (!strcmp(d->source, "hdf5") && d->layout >= 0 && d->layout <= FANIN_LAYOUT_CHW)
        fprintf(f, "  layout: %s\n", fanin__layout_names[d->layout]);
}

/* "  key: {name: ...}\n" at `ind` */
static void put_pref_key(FILE *f, const char *ind, const char *key, const fanin__pref *p) {
    fprintf(f, "%s%s: ", ind, key);
    put_pref(f, p, NULL);
    fputc('\n', f);
}

static void put_padding(FILE *f, const char *ind, int padding) {
    if (padding == FANIN_PAD_SAME) fprintf(f, "%spadding: same\n", ind);
    else if (padding == FANIN_PAD_VALID) fprintf(f, "%spadding: valid\n", ind);
    else fprintf(f, "%spadding: %d\n", ind, padding);
}

static void put_weight_prefs(FILE *f, const fanin__layer_spec *s, const char *ind) {
    put_pref_key(f, ind, "activation", &s->activation);
    put_pref_key(f, ind, "init", &s->init);
    put_pref_key(f, ind, "bias_init", &s->bias_init);
}

/* The optimizer multipliers of s (the bias's too when `bias`), all of them when one differs
 * from 1 or `force` (a branch layer of a block with its own: written, they override it). */
static void put_scales(FILE *f, const fanin__layer_spec *s, const char *ind, bool bias,
                       bool force) {
    double lr = s->lr_scale > 0 ? s->lr_scale : 1, wd = s->wd_scale > 0 ? s->wd_scale : 1;
    const double v[4] = {lr, wd, s->bias_lr_scale > 0 ? s->bias_lr_scale : lr,
                         s->bias_wd_scale > 0 ? s->bias_wd_scale : wd}; /* 0: experiment.h */
    static const char *const key[4] = {"lr_scale", "wd_scale", "bias_lr_scale", "bias_wd_scale"};
    int n = bias ? 4 : 2;
    bool any = force;
    for (int i = 0; i < n; i++) any = any || v[i] != 1.0;
    for (int i = 0; any && i < n; i++) {
        char t[64];
        fanin__format_double(v[i], t, sizeof t);
        fprintf(f, "%s%s: %s\n", ind, key[i], t);
    }
}

static bool has_scales(const fanin__layer_spec *s) {
    const double v[4] = {s->lr_scale, s->wd_scale, s->bias_lr_scale, s->bias_wd_scale};
    for (int i = 0; i < 4; i++)
        if (v[i] > 0 && v[i] != 1.0) return true; /* 0: unset (experiment.h) */
    return false;
}

/* The keys of one layer of a kind other than residual; `ind` indents all but the first line,
 * which follows "- ". Dense is written without `type:`, as before kinds existed. */
static void put_layer_keys(FILE *f, const fanin__layer_spec *s, const char *ind, bool force) {
    char v[64];
    if (s->type == FANIN_LAYER_DENSE) {
        fprintf(f, "units: %d\n", s->units);
    } else {
        fprintf(f, "type: %s\n", fanin__layer_type_names[s->type]);
    }
    switch (s->type) {
    case FANIN_LAYER_CONV2D:
        fprintf(f, "%schannels: %d\n%skernel: %d\n%sstride: %d\n", ind, s->channels, ind, s->kernel,
                ind, s->stride);
        put_padding(f, ind, s->padding);
        fprintf(f, "%sbias: %s\n", ind, s->bias ? "true" : "false");
        put_weight_prefs(f, s, ind);
        put_scales(f, s, ind, true, force);
        break;
    case FANIN_LAYER_DENSE:
        put_weight_prefs(f, s, ind);
        put_scales(f, s, ind, true, force);
        break;
    case FANIN_LAYER_MAXPOOL2D:
    case FANIN_LAYER_AVGPOOL2D:
        fprintf(f, "%skernel: %d\n%sstride: %d\n%spadding: %d\n", ind, s->kernel, ind, s->stride,
                ind, s->padding);
        break;
    case FANIN_LAYER_BATCHNORM:
    case FANIN_LAYER_LAYERNORM:
        fanin__format_double(s->eps, v, sizeof v);
        fprintf(f, "%seps: %s\n", ind, v);
        fanin__format_double(s->momentum, v, sizeof v);
        if (s->type == FANIN_LAYER_BATCHNORM) fprintf(f, "%smomentum: %s\n", ind, v);
        put_pref_key(f, ind, "init", &s->init);
        put_pref_key(f, ind, "bias_init", &s->bias_init);
        put_scales(f, s, ind, false, force);
        break;
    case FANIN_LAYER_DROPOUT:
        fanin__format_double(s->p, v, sizeof v);
        fprintf(f, "%sp: %s\n", ind, v);
        break;
    default: break; /* global_avgpool, flatten: nothing but the type */
    }
}

/* A residual item from its first block: open at layers[o], its close at layers[o].link. */
static void put_residual(FILE *f, const fanin_experiment *x, int o) {
    const fanin__layer_spec *c = &x->layers[x->layers[o].link];
    char v[64];
    fprintf(f, "type: residual\n      repeat: %d\n      scale: %s\n", c->n_blocks,
            fanin__scale_names[c->scale]);
    fanin__format_double(c->scale_init, v, sizeof v);
    if (c->scale == FANIN_SCALE_SKIPINIT) fprintf(f, "      scale_init: %s\n", v);
    put_pref_key(f, "      ", "activation", &c->activation);
    fprintf(f, "      projection: %s\n", c->projection ? "true" : "false");
    if (c->projection) {
        put_pref_key(f, "      ", "init", &c->init);
        put_pref_key(f, "      ", "bias_init", &c->bias_init);
    }
    put_scales(f, c, "      ", true, false);
    fputs("      layers:\n", f);
    for (int l = o + 1; l < x->layers[o].link; l++) {
        fputs("        - ", f);
        put_layer_keys(f, &x->layers[l], "          ", has_scales(c));
    }
}

/* A comment under a dense layer with what model.parametrization applied to it: the factors of
 * experiment.h's fanin__pz, with the effective learning-rate multipliers (the layer's lr_scale
 * and bias_lr_scale times the parametrization's, for this optimizer's family). */
static void put_pz(FILE *f, const fanin_experiment *x, const fanin__layer_spec *s) {
    const fanin__pz *p = &s->pz;
    if (!p->role) return;
    if (p->fan_in) {
        fprintf(f, "      # ntk %s: W = sqrt(fan_in) * drawn, Z = (x W^T) / sqrt(fan_in) + b\n",
                fanin__pz_role_names[p->role]);
        return;
    }
    const char *opt = x->optimizer.entry ? x->optimizer.entry->plugin->name : NULL;
    int fam = fanin__pz_adam_like(opt);
    double lr = s->lr_scale > 0 ? s->lr_scale : 1,
           blr = s->bias_lr_scale > 0 ? s->bias_lr_scale : lr;
    const double v[5] = {fanin__pz_f(p->init), fanin__pz_f(p->bias_init), fanin__pz_f(p->out),
                         lr * fanin__pz_f(p->lr[fam]), blr * fanin__pz_f(p->bias_lr[fam])};
    char t[5][40];
    for (int i = 0; i < 5; i++) fanin__format_double(v[i], t[i], sizeof t[i]);
    fprintf(f,
            "      # mup %s (%s-like): W init x%s, b init x%s, output x%s, effective lr x%s, "
            "bias lr x%s\n",
            fanin__pz_role_names[p->role], fam ? "adam" : "sgd", t[0], t[1], t[2], t[3], t[4]);
}

/* Layers as expanded, but each residual item once, with its repeat: its blocks are copies. */
static void put_model(FILE *f, const fanin_experiment *x) {
    fputs("model:\n", f);
    if (x->input[0]) fprintf(f, "  input: [%d, %d, %d]\n", x->input[0], x->input[1], x->input[2]);
    if (x->parametrization != FANIN_PZ_STANDARD) {
        char t[40];
        fprintf(f, "  parametrization: %s\n", fanin__pz_names[x->parametrization]);
        fanin__format_double(x->base_width, t, sizeof t);
        if (x->base_width > 0) fprintf(f, "  base_width: %s\n", t);
    }
    fputs("  layers:\n", f);
    for (int l = 0; l < x->n_layers;) {
        const fanin__layer_spec *s = &x->layers[l];
        fputs("    - ", f);
        if (s->type == FANIN_LAYER_RESIDUAL_OPEN && s->link > l) {
            put_residual(f, x, l);
            l += s->n_blocks * (s->link - l + 1);
            continue;
        }
        put_layer_keys(f, s, "      ", false);
        put_pz(f, x, s);
        l++;
    }
}

static void put_header(FILE *f, const fanin_experiment *x) {
    fprintf(f, "# Resolved by fanin %s: every default filled in; rerun it as it is.\n",
            fanin_version());
    if (x->n_swept) fprintf(f, "# Sweep member %d:", x->member);
    for (int s = 0; s < x->n_swept; s++) {
        fprintf(f, " %s=", x->swept[s].key);
        for (const char *c = x->swept[s].value; *c; c++) fputc(*c == '\n' ? ' ' : *c, f);
    }
    if (x->n_swept) fputc('\n', f);
}

int fanin__experiment_write_yaml(const fanin_experiment *x, FILE *f) {
    put_header(f, x);
    put_key_str(f, "", "name", x->name);
    fprintf(f, "seed: %llu\ndata_seed: %llu\nrng: %s\nthreads: %d\n", (unsigned long long)x->seed,
            (unsigned long long)x->data_seed, fanin__rng_names[x->rng == FANIN_RNG_NUMPY],
            x->threads);
    put_data(f, &x->data);
    put_model(f, x);
    fprintf(f, "loss: %s\noptimizer: ",
            x->loss >= 0 && x->loss <= FANIN_LOSS_MSE ? fanin__loss_names[x->loss] : "?");
    put_pref(f, &x->optimizer, &x->lr);
    fputs("\nlr_schedule: ", f);
    fanin__schedule_write(f, &x->schedule);
    if (x->epochs > 0) fprintf(f, "\ntrain: {epochs: %lld", (long long)x->epochs);
    else fprintf(f, "\ntrain: {iterations: %lld", (long long)x->iterations);
    if (x->batch > 0) fprintf(f, ", batch: %lld", (long long)x->batch);
    else fputs(", batch: full", f);
    fprintf(f, ", log_every: %lld", (long long)x->log_every);
    if (x->checkpoint_every > 0)
        fprintf(f, ", checkpoint_every: %lld", (long long)x->checkpoint_every);
    if (x->timeout > 0) fprintf(f, ", timeout: %.17g", x->timeout);
    if (x->parallel == FANIN_PARALLEL_MPI) fputs(", parallel: mpi", f);
    if (x->row_threads != FANIN_ROW_THREADS_AUTO)
        fprintf(f, ", row_threads: %s", fanin__row_threads_names[x->row_threads]);
    fprintf(f, "}\ndiagnostics: {layer_stats_every: %lld", (long long)x->layer_stats_every);
    if (x->coord_check_steps > 0)
        fprintf(f, ", coord_check: {steps: %lld}", (long long)x->coord_check_steps);
    fputs("}\n", f);
    return ferror(f) ? FANIN_EIO : FANIN_OK;
}
