/* `fanin validate CONFIG.yaml`: every sweep member checked against the schema and each
 * plugin's parameters; prints "ok" or the errors as FILE:LINE:COL: message. */
#include "cli.h"
#include "base/errors.h"
#include "config/experiment.h"
#include "plugin/registry.h"

#include <fanin/fanin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmd_validate with `sets` holding up to argc + 1 entries */
static int cmd_validate_with(int argc, char **argv, char **sets) {
    const char *path = NULL;
    int n_sets = 0, code = FANIN_EXIT_OK;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--set") && i + 1 < argc) sets[n_sets++] = argv[++i];
        else if (argv[i][0] != '-' && !path) path = argv[i];
        else return cli_fail(FANIN_EINVAL, "usage: fanin validate CONFIG.yaml [--set KEY=VALUE]...");
    }
    if (!path) return cli_fail(FANIN_EINVAL, "usage: fanin validate CONFIG.yaml [--set KEY=VALUE]...");
    fanin_registry *reg = cli_registry(&code);
    if (!reg) return code;
    fanin_config *c = cli_config(path, sets, n_sets, &code);
    if (c) {
        static char err[8 * FANIN_ERRLEN];
        int rc = fanin__config_validate(c, reg, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "%s\n", err);
            code = fanin_exit_code(rc);
        } else printf("ok: %s (%d run%s)\n", path, fanin__config_members(c),
                    fanin__config_members(c) == 1 ? "" : "s");
    }
    fanin__config_free(c);
    fanin__registry_free(reg);
    return code;
}

int cmd_validate(int argc, char **argv) {
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    if (!sets) {
        fprintf(stderr, "fanin: out of memory\n");
        return FANIN_EXIT_RUNTIME;
    }
    int code = cmd_validate_with(argc, argv, sets);
    free(sets);
    return code;
}
