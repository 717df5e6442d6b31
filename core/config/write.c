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
    if (n < 0)
        fprintf(f, "  %s: all\n", key);
    else
        fprintf(f, "  %s: %lld\n", key, (long long)n);
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
}

static void put_model(FILE *f, const fanin_experiment *x) {
    fputs("model:\n  layers:\n", f);
    for (int l = 0; l < x->n_layers; l++) {
        const fanin__layer_spec *s = &x->layers[l];
        fprintf(f, "    - units: %d\n      activation: ", s->units);
        put_pref(f, &s->activation, NULL);
        fputs("\n      init: ", f);
        put_pref(f, &s->init, NULL);
        fputs("\n      bias_init: ", f);
        put_pref(f, &s->bias_init, NULL);
        fputc('\n', f);
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
    fprintf(f, "seed: %llu\ndata_seed: %llu\nrng: %s\nthreads: %d\n",
            (unsigned long long)x->seed, (unsigned long long)x->data_seed,
            fanin__rng_names[x->rng == FANIN_RNG_NUMPY], x->threads);
    put_data(f, &x->data);
    put_model(f, x);
    fprintf(f, "loss: %s\noptimizer: ", x->loss >= 0 && x->loss <= FANIN_LOSS_MSE ? fanin__loss_names[x->loss] : "?");
    put_pref(f, &x->optimizer, &x->lr);
    fputs("\nlr_schedule: ", f);
    fanin__schedule_write(f, &x->schedule);
    if (x->epochs > 0)
        fprintf(f, "\ntrain: {epochs: %lld", (long long)x->epochs);
    else
        fprintf(f, "\ntrain: {iterations: %lld", (long long)x->iterations);
    if (x->batch > 0)
        fprintf(f, ", batch: %lld", (long long)x->batch);
    else
        fputs(", batch: full", f);
    fprintf(f, ", log_every: %lld", (long long)x->log_every);
    if (x->checkpoint_every > 0)
        fprintf(f, ", checkpoint_every: %lld", (long long)x->checkpoint_every);
    fprintf(f, "}\ndiagnostics: {layer_stats_every: %lld}\n", (long long)x->layer_stats_every);
    return ferror(f) ? FANIN_EIO : FANIN_OK;
}
