/* `fanin plugins [--kind KIND]`: every plugin found, with where it came from and its
 * parameters. */
#include "cli.h"

#include <math.h>
#include <string.h>

static const char *type_name(int t) {
    static const char *const names[] = {"?", "float", "int", "bool", "enum", "string"};
    return t >= 1 && t <= 5 ? names[t] : "?";
}

static void print_default(const fanin_param_spec *s) {
    if (s->flags & FANIN_PARAM_REQUIRED) printf("required");
    else if (s->type == FANIN_PARAM_ENUM && s->choices) printf("%s", s->choices[(int)s->def]);
    else if (s->type == FANIN_PARAM_STRING) printf("%s", s->def_str ? s->def_str : "");
    else if (s->type == FANIN_PARAM_BOOL) printf("%s", s->def ? "true" : "false");
    else if (isnan(s->def)) printf("auto");
    else printf("%g", s->def);
}

static void print_plugin(const fanin__entry *e) {
    const fanin_plugin *p = e->plugin;
    printf("%-12s %-18s %-7s %s\n", fanin__kind_name(p->kind), p->name, p->version, p->doc);
    printf("%-12s %-18s from %s\n", "", "", e->path);
    for (size_t i = 0; i < e->n_params; i++) {
        const fanin_param_spec *s = &p->params[i];
        printf("%-12s   %-16s %-6s default ", "", s->name, type_name(s->type));
        print_default(s);
        printf("  %s\n", s->doc);
    }
}

int cmd_plugins(int argc, char **argv) {
    int kind = 0, code = FANIN_EXIT_OK;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--kind") && i + 1 < argc) {
            const char *k = argv[++i];
            for (int c = FANIN_KIND_INITIALIZER; c <= FANIN_KIND_OPTIMIZER; c++)
                if (!strcmp(k, fanin__kind_name(c))) kind = c;
            if (!kind) return cli_fail(FANIN_EINVAL, "--kind is initializer, activation or optimizer");
        } else return cli_fail(FANIN_EINVAL, "usage: fanin plugins [--kind KIND]");
    }
    fanin_registry *reg = cli_registry(&code);
    if (!reg) return code;
    for (size_t i = 0; i < fanin__registry_count(reg); i++) {
        const fanin__entry *e = fanin__registry_at(reg, i);
        if (!kind || e->plugin->kind == kind) print_plugin(e);
    }
    fanin__registry_free(reg);
    return code;
}
