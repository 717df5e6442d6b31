/* `fanin predict MODEL.safetensors [CONFIG.yaml] [--set K=V]... [--member K] [--out FILE.csv]`:
 * loads saved weights into their config's model (names and shapes checked), evaluates its
 * test data (its train data when the test split is empty) and prints loss and accuracy; --out
 * writes one row per example: row, target, prediction, the output units. Without CONFIG the
 * config is the one the model file holds (else config.yaml beside it); given a sweep, the
 * member whose resolved config is the model's, or none (exit 2, the members listed). */
#include "cli.h"
#include "base/errors.h"
#include "config/experiment.h"
#include "data/data.h"
#include "engine/loss.h"
#include "engine/model.h"
#include "engine/train.h"
#include "io/safetensors.h"
#include "plugin/registry.h"
#include "run/rundir.h"

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PREDICT_USAGE                                                                         \
    "usage: fanin predict MODEL.safetensors [CONFIG.yaml] [--set KEY=VALUE]... [--member K] " \
    "[--out FILE.csv]"

typedef struct predict_args {
    const char *model, *config, *out; /* config NULL: the model's own */
    char **sets;
    int n_sets, member; /* member -1: the model's (found in a sweep) */
} predict_args;

static int parse_args(int argc, char **argv, predict_args *a) {
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--set") && v) a->sets[a->n_sets++] = argv[++i];
        else if (!strcmp(o, "--out") && v) a->out = argv[++i];
        else if (!strcmp(o, "--member") && v) {
            if ((a->member = (int)cli_parse_count(argv[++i])) < 0)
                return cli_fail(FANIN_EINVAL, "--member needs a sweep member index >= 0");
        } else if (o[0] == '-' || (a->model && a->config)) {
            fprintf(stderr, "fanin predict: unexpected argument '%s'\n%s\n", o, PREDICT_USAGE);
            return FANIN_EXIT_USAGE;
        } else if (!a->model) a->model = o;
        else a->config = o;
    }
    if (!a->model) return cli_fail(FANIN_EINVAL, PREDICT_USAGE);
    if (a->member >= 0 && !a->config)
        return cli_fail(FANIN_EINVAL, "--member K picks a member of a sweep: give its config "
                                      "too (without one, the model's own config is used)");
    return FANIN_EXIT_OK;
}

/* ---- which config: the model's own, or its member of a sweep ---- */

/* The resolved config the model file holds (__metadata__.config) into *text (caller frees),
 * NULL when it holds none. Reading the file also checks it is a safetensors file. */
static int model_config_text(const char *model, char **text, char *err, size_t errlen) {
    fanin__st_file f;
    *text = NULL;
    int rc = fanin__st_read(model, &f, err, errlen);
    if (rc < 0) return rc;
    if (f.config && !(*text = strdup(f.config))) rc = FANIN_ENOMEM;
    fanin__st_deinit(&f);
    return rc;
}

/* The --set overrides applied to c; false (c freed, message printed) on an error. */
static bool apply_sets(fanin_config *c, const predict_args *a, int *code) {
    char err[FANIN_ERRLEN];
    int rc = FANIN_OK;
    for (int i = 0; rc == FANIN_OK && i < a->n_sets; i++)
        rc = fanin__config_set(c, a->sets[i], err, sizeof err);
    if (rc == FANIN_OK) return true;
    fanin__config_free(c);
    *code = cli_fail(rc, err);
    return false;
}

/* `fanin predict MODEL` alone: the config the model holds, else its folder's config.yaml. */
static fanin_config *own_config(const predict_args *a, const char *text, int *code) {
    char err[FANIN_ERRLEN], folder[FANIN_PATHLEN], path[FANIN_PATHLEN];
    if (!text) {
        snprintf(folder, sizeof folder, "%s", a->model);
        if (fanin__rundir_path(path, dirname(folder), FANIN_RUNDIR_CONFIG) == FANIN_OK &&
            access(path, R_OK) == 0)
            return cli_config(path, a->sets, a->n_sets, code);
        snprintf(err, sizeof err,
                 "%s holds no config and there is no %s beside it; give the config it was "
                 "trained with: %s",
                 a->model, fanin__rundir_name(FANIN_RUNDIR_CONFIG), PREDICT_USAGE);
        *code = cli_fail(FANIN_EINVAL, err);
        return NULL;
    }
    fanin_config *c = NULL;
    int rc = fanin__config_parse(&c, a->model, text, strlen(text), err, sizeof err);
    if (rc < 0) {
        fanin__config_free(c); /* NULL, or what was parsed before the error */
        *code = cli_fail(rc, err);
        return NULL;
    }
    return apply_sets(c, a, code) ? c : NULL;
}

/* x written as YAML without its comments (the fanin version, the sweep member) and with the
 * thread count left out (run records the count it used): what identifies a member's
 * training. Caller frees; NULL when out of memory. */
static char *identity(fanin_experiment *x) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    x->threads = 0;
    fanin__experiment_write_yaml(x, f);
    fclose(f);
    char *w = text;
    for (const char *line = text; *line;) {
        size_t n = strcspn(line, "\n");
        n += line[n] == '\n';
        if (*line != '#') memmove(w, line, n), w += n;
        line += n;
    }
    *w = 0;
    return text;
}

/* The identity of member k of c, or NULL when it does not resolve. */
static char *member_identity(const fanin_config *c, int k, const fanin_registry *reg) {
    char err[FANIN_ERRLEN];
    fanin_experiment *x;
    if (fanin__config_resolve(c, k, reg, &x, err, sizeof err) < 0) return NULL;
    char *id = identity(x);
    fanin__experiment_free(x);
    return id;
}

/* The member of c whose identity is the model's config's, or -1. */
static int find_member(const fanin_config *c, const fanin_registry *reg, const char *text) {
    char err[FANIN_ERRLEN];
    fanin_config *own = NULL;
    if (!text || fanin__config_parse(&own, "model", text, strlen(text), err, sizeof err) < 0) {
        fanin__config_free(own);
        return -1;
    }
    char *want = member_identity(own, 0, reg);
    fanin__config_free(own);
    int found = -1;
    for (int k = 0; want && found < 0 && k < fanin__config_members(c); k++) {
        char *have = member_identity(c, k, reg);
        if (have && !strcmp(have, want)) found = k;
        free(have);
    }
    free(want);
    return found;
}

/* x's swept values, "seed=2 optimizer.lr=0.1", into buf. */
static void swept_text(const fanin_experiment *x, char *buf, size_t len) {
    buf[0] = 0;
    for (int s = 0; s < x->n_swept; s++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s=%s", s ? " " : "", x->swept[s].key,
                 x->swept[s].value);
}

/* "0 (seed=1), 1 (seed=2)": c's members (the first 20), into buf. */
static void list_members(const fanin_config *c, const fanin_registry *reg, char *buf, size_t len) {
    char err[FANIN_ERRLEN], values[512];
    int n = fanin__config_members(c);
    buf[0] = 0;
    for (int k = 0; k < n && k < 20; k++) {
        fanin_experiment *x;
        if (fanin__config_resolve(c, k, reg, &x, err, sizeof err) < 0) continue;
        swept_text(x, values, sizeof values);
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%d (%s)", k ? ", " : "", k, values);
        fanin__experiment_free(x);
    }
    if (n > 20) snprintf(buf + strlen(buf), len - strlen(buf), ", ... (%d in all)", n);
}

/* The member of the given config to predict with: --member K, the only one, or the one the
 * model was trained as; FANIN_EINVAL (the members listed) when none is. */
static int pick_member(const predict_args *a, const fanin_config *c, const fanin_registry *reg,
                       const char *text, int *member, char *err, size_t errlen) {
    int n = fanin__config_members(c);
    *member = a->member >= 0 ? a->member : n == 1 ? 0 : find_member(c, reg, text);
    if (a->member >= n)
        return fanin__errf(err, errlen, FANIN_EINVAL,
                           "--member %d: the config has %d sweep member(s)", a->member, n);
    if (*member >= 0) return FANIN_OK;
    static char members[8192];
    list_members(c, reg, members, sizeof members);
    if (text)
        return fanin__errf(err, errlen, FANIN_EINVAL,
                           "%s was trained as none of the members of %s: %s; leave out the "
                           "config to use the one the model holds, or choose a member with "
                           "--member K",
                           a->model, a->config, members);
    return fanin__errf(err, errlen, FANIN_EINVAL,
                       "%s holds no config telling which member of %s it was trained as; "
                       "choose one with --member K: %s",
                       a->model, a->config, members);
}

/* The prediction of row r of the last layer's output. */
static double prediction(const fanin_model *m, int r) {
    const fanin__layer *L = &m->layers[m->n_layers - 1];
    const float *a = L->A + (size_t)r * L->n_out;
    if (m->x->loss == FANIN_LOSS_BCE) return a[0] > 0.5f;
    if (m->x->loss == FANIN_LOSS_MSE) return a[0];
    int best = 0;
    for (int j = 1; j < L->n_out; j++)
        if (a[j] > a[best]) best = j;
    return best;
}

/* Forward X [n] in chunks, one CSV row per example. */
static int write_predictions(fanin_model *m, const float *X, const float *Y, int64_t n, int y_dim,
                             FILE *f, char *err, size_t errlen) {
    const fanin__layer *L = &m->layers[m->n_layers - 1];
    fprintf(f, "row,target,prediction");
    for (int j = 0; j < L->n_out; j++) fprintf(f, ",out%d", j);
    fputc('\n', f);
    for (int64_t r0 = 0; r0 < n; r0 += m->cap) {
        int rows = (int)(n - r0 < m->cap ? n - r0 : m->cap);
        int rc = fanin__model_forward(m, X + r0 * m->n_in, rows, err, errlen);
        if (rc < 0) return rc;
        for (int r = 0; r < rows; r++) {
            fprintf(f, "%lld,%.9g,%.9g", (long long)(r0 + r), Y[(r0 + r) * y_dim],
                    prediction(m, r));
            for (int j = 0; j < L->n_out; j++) fprintf(f, ",%.9g", L->A[(size_t)r * L->n_out + j]);
            fputc('\n', f);
        }
    }
    return ferror(f) ? fanin__errf(err, errlen, FANIN_EIO, "cannot write the predictions")
                     : FANIN_OK;
}

/* --out: the predictions of X [n] as CSV. */
static int save_predictions(const predict_args *a, fanin_model *m, const float *X, const float *Y,
                            int64_t n, int y_dim, char *err, size_t errlen) {
    FILE *f = fopen(a->out, "w");
    if (!f)
        return fanin__errf(err, errlen, FANIN_EINVAL, "%s: cannot write: %s", a->out,
                           strerror(errno));
    int rc = write_predictions(m, X, Y, n, y_dim, f, err, errlen);
    if (fclose(f) != 0 && rc == FANIN_OK)
        rc = fanin__errf(err, errlen, FANIN_EIO, "%s: cannot write", a->out);
    if (rc == FANIN_OK) printf("predictions in %s\n", a->out);
    return rc;
}

static int predict(const predict_args *a, fanin_experiment *x, char *err, size_t errlen) {
    fanin_dataset *d;
    int rc = fanin__data_load(&x->data, x->data_seed, &d, err, errlen); /* as `fanin run` */
    if (rc < 0) return rc;
    bool test = d->n_test > 0;
    const float *X = test ? d->x_test : d->x_train, *Y = test ? d->y_test : d->y_train;
    int64_t n = test ? d->n_test : d->n_train;
    fanin_model *m = NULL;
    fanin__data_shape in;
    rc = fanin__data_model_input(x, d->shape, &in, err, errlen);
    if (rc == FANIN_OK)
        rc = fanin__model_new_shaped(x, (fanin__shape){in.c, in.h, in.w},
                                     (int)(n < 1024 ? (n > 0 ? n : 1) : 1024), &m, err, errlen);
    if (rc == FANIN_OK) rc = fanin__loss_check(m, d, err, errlen);
    if (rc == FANIN_OK) rc = fanin__model_load(m, a->model, err, errlen);
    double loss, acc;
    if (rc == FANIN_OK) rc = fanin__evaluate(m, X, Y, n, &loss, &acc, err, errlen);
    if (rc == FANIN_OK) {
        printf("%s: %s set, %lld examples: loss %.6f", a->model, test ? "test" : "train",
               (long long)n, loss);
        if (acc == acc) printf(", accuracy %.4f", acc);
        printf("\n");
    }
    if (rc == FANIN_OK && a->out) rc = save_predictions(a, m, X, Y, n, d->y_dim, err, errlen);
    fanin__model_free(m);
    fanin__data_free(d);
    return rc;
}

/* Predict with member `member` of c, saying which one for a sweep. */
static int predict_member(const predict_args *a, const fanin_config *c, const fanin_registry *reg,
                          int member, char *err, size_t errlen) {
    fanin_experiment *x;
    int rc = fanin__config_resolve(c, member, reg, &x, err, errlen);
    if (rc < 0) return rc;
    if (fanin__config_members(c) > 1) {
        char values[512];
        swept_text(x, values, sizeof values);
        printf("%s: sweep member %d of %s (%s)\n", a->model, member,
               a->config ? a->config : a->model, values);
    }
    rc = predict(a, x, err, errlen);
    fanin__experiment_free(x);
    return rc;
}

/* cmd_predict with `sets` holding up to argc + 1 entries */
static int cmd_predict_with(int argc, char **argv, char **sets) {
    predict_args a = {.sets = sets, .member = -1};
    int code = parse_args(argc, argv, &a);
    if (code != FANIN_EXIT_OK) return code;
    static char err[8 * FANIN_ERRLEN];
    char *text = NULL;
    int rc = model_config_text(a.model, &text, err, sizeof err), member = 0;
    if (rc < 0) return cli_fail(rc, err);
    fanin_registry *reg = cli_registry(&code);
    fanin_config *c = !reg       ? NULL
                      : a.config ? cli_config(a.config, a.sets, a.n_sets, &code)
                                 : own_config(&a, text, &code);
    if (c) {
        rc = a.config ? pick_member(&a, c, reg, text, &member, err, sizeof err) : FANIN_OK;
        if (rc == FANIN_OK) rc = predict_member(&a, c, reg, member, err, sizeof err);
        code = rc < 0 ? cli_fail(rc, err) : FANIN_EXIT_OK;
    }
    free(text);
    fanin__config_free(c);
    fanin__registry_free(reg);
    return code;
}

int cmd_predict(int argc, char **argv) {
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    if (!sets) {
        fprintf(stderr, "fanin: out of memory\n");
        return FANIN_EXIT_RUNTIME;
    }
    int code = cmd_predict_with(argc, argv, sets);
    free(sets);
    return code;
}
