/* `fanin plugins [--kind KIND] [--json] [-v]`: every plugin found, one line each (kind, name,
 * version, doc); -v adds the file it came from and each parameter (type, default, range, doc);
 * --json gives all of it as one JSON document. Also the parameter formatting `fanin help`
 * shares.
 */
#include "cli.h"
#include "api/api.h"
#include "plugin/registry.h"

#include <fanin/fanin.h>

#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

/* ---- a parameter as text ---- */

const char *cli_param_type(int t) {
    static const char *const names[] = {"?", "float", "int", "bool", "enum", "string"};
    return t >= 1 && t <= 5 ? names[t] : "?";
}

void cli_param_default(const fanin_param_spec *s, char *buf, size_t len) {
    if (s->flags & FANIN_PARAM_REQUIRED) snprintf(buf, len, "required");
    else if (s->type == FANIN_PARAM_ENUM && s->choices)
        snprintf(buf, len, "%s", s->choices[(int)s->def]);
    else if (s->type == FANIN_PARAM_STRING)
        snprintf(buf, len, "\"%s\"", s->def_str ? s->def_str : "");
    else if (s->type == FANIN_PARAM_BOOL)
        snprintf(buf, len, "%s", s->def != 0.0 ? "true" : "false");
    else if (isnan(s->def)) snprintf(buf, len, "auto");
    else snprintf(buf, len, "%g", s->def);
}

/* "[0, 1]", "(0, inf)", "fan_in|fan_out", "any", with "auto" noted for AUTO floats. */
void cli_param_range(const fanin_param_spec *s, char *buf, size_t len) {
    if (s->type == FANIN_PARAM_ENUM) {
        size_t used = 0;
        buf[0] = '\0';
        for (int i = 0; s->choices && s->choices[i] && used + 1 < len; i++)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "|" : "", s->choices[i]);
        return;
    }
    if (s->type != FANIN_PARAM_F64 && s->type != FANIN_PARAM_I64) {
        snprintf(buf, len, "%s", s->type == FANIN_PARAM_BOOL ? "true|false" : "any");
        return;
    }
    char lo[32] = "-inf", hi[32] = "inf";
    if (!(s->flags & FANIN_PARAM_NO_MIN)) snprintf(lo, sizeof lo, "%g", s->min);
    if (!(s->flags & FANIN_PARAM_NO_MAX)) snprintf(hi, sizeof hi, "%g", s->max);
    snprintf(buf, len, "%c%s, %s%c%s",
             (s->flags & (FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MIN)) ? '(' : '[', lo, hi,
             (s->flags & (FANIN_PARAM_MAX_EXCL | FANIN_PARAM_NO_MAX)) ? ')' : ']',
             (s->flags & FANIN_PARAM_AUTO) ? " or auto" : "");
}

void cli_print_param(FILE *f, const fanin_param_spec *s, const char *indent) {
    char def[128], range[256];
    cli_param_default(s, def, sizeof def);
    cli_param_range(s, range, sizeof range);
    fprintf(f, "%s%-14s %-6s default %-9s %-18s %s\n", indent, s->name, cli_param_type(s->type),
            def, range, s->doc ? s->doc : "");
}

/* ---- the command ---- */

static void print_plugin(const fanin__entry *e, int verbose) {
    const fanin_plugin *p = e->plugin;
    printf("%-12s %-18s %-7s %s\n", fanin__kind_name(p->kind), p->name, p->version, p->doc);
    if (!verbose) return;
    printf("%-12s %-18s file %s\n", "", "", e->path);
    for (size_t i = 0; i < e->n_params; i++)
        cli_print_param(stdout, &p->params[i], "               ");
}

static const char plugins_usage[] = "usage: fanin plugins [--kind KIND] [--json] [-v]";

int cmd_plugins(int argc, char **argv) {
    int kind = 0, json = 0, verbose = 0, code = FANIN_EXIT_OK;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--kind") && i + 1 < argc) {
            const char *k = argv[++i];
            for (int c = FANIN_KIND_INITIALIZER; c <= FANIN_KIND_OPTIMIZER; c++)
                if (!strcmp(k, fanin__kind_name(c))) kind = c;
            if (!kind)
                return cli_fail(FANIN_EINVAL, "--kind is initializer, activation or optimizer");
        } else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) verbose = 1;
        else return cli_fail(FANIN_EINVAL, plugins_usage);
    }
    fanin_registry *reg = cli_registry(&code);
    if (!reg) return code;
    if (json) {
        fanin__api_plugins_json(stdout, reg, kind);
        fanin__registry_free(reg);
        return code;
    }
    if (!verbose) printf("%-12s %-18s %-7s %s\n", "KIND", "NAME", "VERSION", "DOC");
    for (size_t i = 0; i < fanin__registry_count(reg); i++) {
        const fanin__entry *e = fanin__registry_at(reg, i);
        if (!kind || e->plugin->kind == kind) print_plugin(e, verbose);
    }
    fanin__registry_free(reg);
    return code;
}
