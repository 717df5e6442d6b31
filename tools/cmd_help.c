/* `fanin help COMMAND` (that command's lines of the usage text) and `fanin help NAME` or
 * `fanin help KIND/NAME` (one plugin's schema as help text, with a YAML example).
 */
#include "cli.h"
#include "plugin/registry.h"

#include <stdio.h>
#include <string.h>

/* One line of the usage text from p (up to its newline), after `prefix`; returns the next. */
static const char *print_line(const char *prefix, const char *p) {
    const char *end = strchr(p, '\n');
    printf("%s%.*s\n", prefix, (int)(end ? end - p : (long)strlen(p)), p);
    return end ? end + 1 : NULL;
}

/* The usage lines of `name` ("  name ARGS" and its deeper-indented continuation); 0 when
 * there is no such command. */
static int print_command(const char *name) {
    size_t n = strlen(name);
    for (const char *line = cli_usage_text(); line && *line;) {
        const char *next = strchr(line, '\n');
        next = next ? next + 1 : NULL;
        if (!strncmp(line, "  ", 2) && !strncmp(line + 2, name, n) &&
            (line[2 + n] == ' ' || line[2 + n] == '\n')) {
            const char *p = print_line("usage: fanin ", line + 2);
            while (p && !strncmp(p, "   ", 3)) p = print_line("  ", p + strspn(p, " "));
            return 1;
        }
        line = next;
    }
    return 0;
}

/* How the plugin is named in an experiment file. */
static void print_example(const fanin__entry *e) {
    const fanin_plugin *p = e->plugin;
    const char *key = p->kind == FANIN_KIND_INITIALIZER  ? "model.defaults.init"
                      : p->kind == FANIN_KIND_ACTIVATION ? "model.defaults.activation"
                                                         : "optimizer";
    printf("\nin an experiment file (%s):\n  ", key);
    if (e->n_params == 0 && p->kind != FANIN_KIND_OPTIMIZER) {
        printf("%s\n", p->name);
        return;
    }
    printf("{name: %s", p->name);
    if (p->kind == FANIN_KIND_OPTIMIZER) printf(", lr: 0.01");
    for (size_t i = 0; i < e->n_params; i++) {
        char def[128];
        cli_param_default(&p->params[i], def, sizeof def);
        printf(", %s: %s", p->params[i].name,
               (p->params[i].flags & FANIN_PARAM_REQUIRED) ? "..." : def);
    }
    printf("}\n");
}

static void print_plugin_help(const fanin__entry *e) {
    const fanin_plugin *p = e->plugin;
    printf("%s %s %s: %s\n", fanin__kind_name(p->kind), p->name, p->version, p->doc);
    printf("file: %s\n", e->path);
    if (e->n_params == 0) printf("\nno parameters\n");
    else {
        printf("\nparameters:\n");
        for (size_t i = 0; i < e->n_params; i++) cli_print_param(stdout, &p->params[i], "  ");
    }
    print_example(e);
}

int cmd_help(int argc, char **argv) {
    if (argc != 1) {
        fputs(cli_usage_text(), argc ? stderr : stdout);
        return argc ? FANIN_EXIT_USAGE : FANIN_EXIT_OK;
    }
    const char *name = argv[0], *slash = strchr(name, '/');
    if (!slash && print_command(name)) return FANIN_EXIT_OK;
    int code = FANIN_EXIT_OK, kind = 0, shown = 0;
    if (slash) {
        for (int k = FANIN_KIND_INITIALIZER; k <= FANIN_KIND_OPTIMIZER; k++)
            if (strncmp(name, fanin__kind_name(k), (size_t)(slash - name)) == 0 &&
                fanin__kind_name(k)[slash - name] == '\0')
                kind = k;
        if (!kind)
            return cli_fail(FANIN_EINVAL, "use KIND/NAME with KIND initializer, "
                                          "activation or optimizer");
        name = slash + 1;
    }
    fanin_registry *reg = cli_registry(&code);
    if (!reg) return code;
    for (int k = FANIN_KIND_INITIALIZER; k <= FANIN_KIND_OPTIMIZER; k++) {
        const fanin__entry *e = (!kind || k == kind) ? fanin__registry_find(reg, k, name) : NULL;
        if (!e) continue;
        if (shown++) printf("\n");
        print_plugin_help(e);
    }
    if (!shown) {
        const char *near = NULL;
        for (int k = FANIN_KIND_INITIALIZER; !near && k <= FANIN_KIND_OPTIMIZER; k++)
            near = fanin__registry_suggest(reg, k, name);
        fprintf(stderr,
                "fanin: help: '%s' is neither a command nor a plugin%s%s%s; see "
                "'fanin help' and 'fanin plugins'\n",
                name, near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
        code = FANIN_EXIT_USAGE;
    }
    fanin__registry_free(reg);
    return code;
}
