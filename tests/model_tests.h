/* Shared by the engine's tests that build an experiment by hand (test_model.c, test_conv.c,
 * test_norm.c, test_dropout.c, test_residual.c): the built plugins' registry, a plugin
 * reference at its schema's defaults, and freeing what those tests allocate. */
#ifndef FANIN_TEST_MODEL_TESTS_H
#define FANIN_TEST_MODEL_TESTS_H

#include "base/errors.h"
#include "config/experiment.h"
#include "plugin/registry.h"

#include <stdio.h>
#include <stdlib.h>

static fanin_registry *reg;
static char err[FANIN_ERRLEN];

/* The built plugin `name` of `kind` at its defaults (params owned: experiment_free). */
static fanin__pref pref(int kind, const char *name) {
    fanin__pref p = {0};
    p.entry = fanin__registry_find(reg, kind, name);
    assert_non_null(p.entry);
    p.params = calloc(p.entry->n_params + 1, sizeof *p.params);
    fanin__params_defaults(p.entry, p.params);
    return p;
}

/* Frees every layer's plugin parameters, the optimizer's, the layers and x. */
static void experiment_free(fanin_experiment *x) {
    for (int l = 0; l < x->n_layers; l++) {
        free(x->layers[l].activation.params);
        free(x->layers[l].init.params);
        free(x->layers[l].bias_init.params);
    }
    free(x->optimizer.params);
    free(x->layers);
    free(x);
}

/* The registry of the plugins this build made (a group setup). */
static int registry_setup(void **state) {
    (void)state;
    const char *dirs[] = {FANIN_TEST_PLUGIN_DIR};
    if (fanin__registry_new(&reg, dirs, 1, err, sizeof err) == FANIN_OK) return 0;
    fprintf(stderr, "%s\n", err);
    return -1;
}

static int registry_teardown(void **state) {
    (void)state;
    fanin__registry_free(reg);
    return 0;
}

#endif /* FANIN_TEST_MODEL_TESTS_H */
