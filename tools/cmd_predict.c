/* `fanin predict MODEL.safetensors CONFIG.yaml [--set K=V]... [--member K] [--out FILE.csv]`:
 * loads saved weights into the config's model (names and shapes checked), evaluates the
 * config's test data (its train data when the test split is empty) and prints loss and
 * accuracy; --out writes one row per example: row, target, prediction, the output units. */
#include "cli.h"
#include "base/errors.h"
#include "config/experiment.h"
#include "data/data.h"
#include "engine/loss.h"
#include "engine/model.h"
#include "engine/train.h"
#include "plugin/registry.h"

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PREDICT_USAGE \
    "usage: fanin predict MODEL.safetensors CONFIG.yaml [--set KEY=VALUE]... [--member K] " \
    "[--out FILE.csv]"

typedef struct predict_args {
    const char *model, *config, *out;
    char **sets;
    int n_sets, member;
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
    if (!a->config) return cli_fail(FANIN_EINVAL, PREDICT_USAGE);
    return FANIN_EXIT_OK;
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
static int write_predictions(fanin_model *m, const float *X, const float *Y, int64_t n,
                             int y_dim, FILE *f, char *err, size_t errlen) {
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

static int predict(const predict_args *a, fanin_experiment *x, char *err, size_t errlen) {
    fanin_dataset *d;
    int rc = fanin__data_load(&x->data, x->seed, &d, err, errlen);
    if (rc < 0) return rc;
    bool test = d->n_test > 0;
    const float *X = test ? d->x_test : d->x_train, *Y = test ? d->y_test : d->y_train;
    int64_t n = test ? d->n_test : d->n_train;
    fanin_model *m = NULL;
    rc = fanin__model_new(x, d->n_features, (int)(n < 1024 ? (n > 0 ? n : 1) : 1024), &m, err,
                          errlen);
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
    if (rc == FANIN_OK && a->out) {
        FILE *f = fopen(a->out, "w");
        if (!f) rc = fanin__errf(err, errlen, FANIN_EINVAL, "%s: cannot write: %s", a->out,
                                 strerror(errno));
        else {
            rc = write_predictions(m, X, Y, n, d->y_dim, f, err, errlen);
            if (fclose(f) != 0 && rc == FANIN_OK)
                rc = fanin__errf(err, errlen, FANIN_EIO, "%s: cannot write", a->out);
            if (rc == FANIN_OK) printf("predictions in %s\n", a->out);
        }
    }
    fanin__model_free(m);
    fanin__data_free(d);
    return rc;
}

/* cmd_predict with `sets` holding up to argc + 1 entries */
static int cmd_predict_with(int argc, char **argv, char **sets) {
    predict_args a = {.sets = sets};
    int code = parse_args(argc, argv, &a);
    if (code != FANIN_EXIT_OK) return code;
    fanin_registry *reg = cli_registry(&code);
    if (!reg) return code;
    fanin_config *c = cli_config(a.config, a.sets, a.n_sets, &code);
    if (c) {
        static char err[8 * FANIN_ERRLEN];
        fanin_experiment *x;
        int rc = a.member >= fanin__config_members(c)
                     ? fanin__errf(err, sizeof err, FANIN_EINVAL, "--member %d: the config has %d "
                                   "sweep member(s)", a.member, fanin__config_members(c))
                     : fanin__config_resolve(c, a.member, reg, &x, err, sizeof err);
        if (rc == FANIN_OK) {
            rc = predict(&a, x, err, sizeof err);
            fanin__experiment_free(x);
        }
        code = rc < 0 ? cli_fail(rc, err) : FANIN_EXIT_OK;
    }
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
