/* Shared by the plugin families' tests (test_initializers.c, test_activations.c,
 * test_optimizers.c): the registry of the built plugins, looking one up, and parameter blocks
 * from a plugin's schema. Include after <cmocka.h>. */
#ifndef FANIN_TEST_PLUGIN_TESTS_H
#define FANIN_TEST_PLUGIN_TESTS_H

#include "base/errors.h"
#include "plugin/registry.h"

#include <stdint.h>
#include <stdarg.h>
#include <string.h>

#define MAX_PARAMS 16

static inline void params(const fanin__entry *e, fanin_value *p, ...);

static fanin_registry *reg;

static inline int group_setup(void **state) {
    char err[FANIN_ERRLEN];
    int rc = fanin__registry_new(&reg, (const char *[]){FANIN_TEST_PLUGIN_DIR}, 1, err, sizeof err);
    if (rc != FANIN_OK) print_error("registry: %s\n", err);
    return rc;
}

static inline int group_teardown(void **state) {
    fanin__registry_free(reg);
    return 0;
}

/* The built plugin `name` of `kind` (fails the test when absent). */
static inline const fanin__entry *find_kind(int kind, const char *name) {
    const fanin__entry *e = fanin__registry_find(reg, kind, name);
    if (!e)
        fail_msg("%s '%s' not found in %s", fanin__kind_name(kind), name, FANIN_TEST_PLUGIN_DIR);
    assert_true(e->n_params <= MAX_PARAMS);
    return e;
}

/* p := the schema's defaults, then the `name, value` pairs of ap (a NULL name ends them). */
static inline void vparams(const fanin__entry *e, fanin_value *p, va_list ap) {
    const fanin_param_spec *s = e->plugin->params;
    fanin__params_defaults(e, p);
    for (const char *name; (name = va_arg(ap, const char *)) != NULL;) {
        double v = va_arg(ap, double);
        size_t i = 0;
        while (i < e->n_params && strcmp(s[i].name, name) != 0) i++;
        if (i == e->n_params) fail_msg("%s has no parameter '%s'", e->plugin->name, name);
        switch (s[i].type) {
        case FANIN_PARAM_F64: p[i].f = v; break;
        case FANIN_PARAM_I64: p[i].i = (int64_t)v; break;
        case FANIN_PARAM_BOOL: p[i].b = v != 0.0; break;
        case FANIN_PARAM_ENUM: p[i].e = (int32_t)v; break;
        default: fail_msg("string parameters are not set by this helper");
        }
    }
}

/* p := the schema's defaults, then `name, value` pairs (a NULL name ends them). */
static inline void params(const fanin__entry *e, fanin_value *p, ...) {
    va_list ap;
    va_start(ap, p);
    vparams(e, p, ap);
    va_end(ap);
}

#endif
