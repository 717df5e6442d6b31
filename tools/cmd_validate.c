/* `fanin validate CONFIG.yaml...`: every sweep member checked against the schema and each
 * plugin's parameters, the data files each names (present, readable, of their format), and the
 * model's shapes when the input's is known (model.input, or the files' headers); prints "ok"
 * or the errors as FILE:LINE:COL: message. */
#include "cli.h"
#include "base/errors.h"
#include "config/errs.h"
#include "config/experiment.h"
#include "data/data.h"
#include "engine/model.h"
#include "plugin/registry.h"

#include <fanin/fanin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE "usage: fanin validate CONFIG.yaml... [--set KEY=VALUE]..."

/* A fanin__member_check: build x's model for one row of the input's shape, as `fanin run`
 * would, so a shape that cannot work is reported with its layer's FILE:LINE:COL. Unknown when
 * the files cannot tell (their check has said why) and model.input is not given. */
static void check_shapes(const fanin_experiment *x, fanin__errs *errs, void *user) {
    (void)user;
    char err[FANIN_ERRLEN];
    fanin__data_shape data, in;
    if (fanin__data_peek_shape(&x->data, &data, err, sizeof err) < 0) {
        if (!x->input[0]) return;
        data = (fanin__data_shape){x->input[0], x->input[1], x->input[2]};
    }
    int rc = fanin__data_model_input(x, data, &in, err, sizeof err);
    fanin_model *m = NULL;
    if (rc == FANIN_OK)
        rc = fanin__model_new_shaped(x, (fanin__shape){in.c, in.h, in.w}, 1, &m, err, sizeof err);
    fanin__model_free(m);
    if (rc < 0) fanin__errs_add(errs, rc == FANIN_ENOMEM ? rc : FANIN_ECONFIG, NULL, "%s", err);
}

/* One file with the overrides; the exit code. */
static int validate_one(const char *path, char **sets, int n_sets, fanin_registry *reg) {
    static char err[8 * FANIN_ERRLEN];
    int code = FANIN_EXIT_OK;
    fanin_config *c = cli_config(path, sets, n_sets, &code);
    if (!c) return code;
    int rc = fanin__data_validate_with(c, reg, check_shapes, NULL, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "%s\n", err);
        code = fanin_exit_code(rc);
    } else {
        int n = fanin__config_members(c);
        printf("ok: %s (%d run%s)\n", path, n, n == 1 ? "" : "s");
    }
    fanin__config_free(c);
    return code;
}

/* cmd_validate with `sets` and `paths` holding up to argc entries each */
static int cmd_validate_with(int argc, char **argv, char **sets, char **paths) {
    int n_sets = 0, n_paths = 0, code = FANIN_EXIT_OK;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--set") && i + 1 < argc) sets[n_sets++] = argv[++i];
        else if (argv[i][0] != '-') paths[n_paths++] = argv[i];
        else return cli_fail(FANIN_EINVAL, USAGE);
    }
    if (!n_paths) return cli_fail(FANIN_EINVAL, USAGE);
    fanin_registry *reg = cli_registry(&code);
    if (!reg) return code;
    for (int i = 0; i < n_paths; i++) {
        int one = validate_one(paths[i], sets, n_sets, reg);
        if (code == FANIN_EXIT_OK) code = one; /* the first failure's code */
    }
    fanin__registry_free(reg);
    return code;
}

int cmd_validate(int argc, char **argv) {
    char **sets = calloc(2 * (size_t)argc + 2, sizeof *sets);
    if (!sets) {
        fprintf(stderr, "fanin: out of memory\n");
        return FANIN_EXIT_RUNTIME;
    }
    int code = cmd_validate_with(argc, argv, sets, sets + argc + 1);
    free(sets);
    return code;
}
