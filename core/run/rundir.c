/* The run folder's layout: the one place its file names, the shard naming rule, the lock and
 * the summary CSV's columns are written down. run.c, runset.c, report.c and the `fanin`
 * command call it; engine/diag.c (below run/) is handed its paths. Not the contents of
 * metrics.csv, layers.csv or histograms.csv: their writers and runset.c own those. */
#include "run/rundir.h"
#include "base/errors.h"

#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

/* ---- file names ---- */

static const char *const names[] = {
    [FANIN_RUNDIR_CONFIG] = "config.yaml",
    [FANIN_RUNDIR_METRICS] = "metrics.csv",
    [FANIN_RUNDIR_LAYERS] = "layers.csv",
    [FANIN_RUNDIR_HISTOGRAMS] = "histograms.csv",
    [FANIN_RUNDIR_MODEL] = "model.safetensors",
    [FANIN_RUNDIR_CHECKPOINT] = "checkpoint.bin",
    [FANIN_RUNDIR_DIVERGED] = "diverged.txt",
    [FANIN_RUNDIR_ARGS] = "run.args",
    [FANIN_RUNDIR_SUMMARY_CSV] = "summary.csv",
    [FANIN_RUNDIR_SUMMARY_JSON] = "summary.json",
    [FANIN_RUNDIR_REPORT] = "report.html",
    [FANIN_RUNDIR_LOCK] = ".summary.csv.lock",
};

const char *fanin__rundir_name(fanin__rundir_file f) {
    return names[f];
}

/* Shards name their files STEM-K-of-N.EXT: the mark goes before the first dot that does not
 * start the name (".summary-2-of-4.csv.lock"). */
int fanin__rundir_shard_name(char *buf, size_t len, fanin__rundir_file f, int k, int n) {
    const char *name = names[f];
    int w;
    if (n <= 1 || f < FANIN_RUNDIR_SUMMARY_CSV) {
        w = snprintf(buf, len, "%s", name);
    } else {
        const char *ext = strchr(name + 1, '.');
        int stem = (int)(ext - name);
        if (k > 0) w = snprintf(buf, len, "%.*s-%d-of-%d%s", stem, name, k, n, ext);
        else w = snprintf(buf, len, "%.*s-K-of-N%s", stem, name, ext);
    }
    return w >= 0 && (size_t)w < len ? FANIN_OK : FANIN_EINVAL;
}

int fanin__rundir_path(char out[FANIN_PATHLEN], const char *dir, fanin__rundir_file f) {
    return fanin__path_join(out, dir, names[f]);
}

int fanin__rundir_shard_path(char out[FANIN_PATHLEN], const char *dir, fanin__rundir_file f,
                             int k, int n) {
    char name[128];
    int rc = fanin__rundir_shard_name(name, sizeof name, f, k, n);
    return rc < 0 ? rc : fanin__path_join(out, dir, name);
}

bool fanin__rundir_is_summary(const char *name, int *k, int *n) {
    int kk = 0, nn = 0;
    const char *plain = names[FANIN_RUNDIR_SUMMARY_CSV];
    size_t stem = (size_t)(strchr(plain, '.') - plain);
    if (strcmp(name, plain) != 0) {
        /* exactly the form fanin writes: parse, then spell it again and compare */
        char again[128];
        if (strncmp(name, plain, stem) || sscanf(name + stem, "-%d-of-%d", &kk, &nn) != 2 ||
            kk < 1 || kk > nn || nn < 2)
            return false;
        fanin__rundir_shard_name(again, sizeof again, FANIN_RUNDIR_SUMMARY_CSV, kk, nn);
        if (strcmp(name, again) != 0) return false;
    }
    if (k) *k = kk;
    if (n) *n = nn;
    return true;
}

void fanin__rundir_member_id(const fanin_experiment *x, int n_members, char *id, size_t len) {
    size_t n = (size_t)snprintf(id, len, "%0*d", n_members > 100 ? 3 : 2, x->member);
    for (int s = 0; s < x->n_swept && n + 2 < len; s++) {
        id[n++] = '-';
        for (const char *c = x->swept[s].value; *c && n + 1 < len && n < 72; c++) {
            bool keep = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                        (*c >= '0' && *c <= '9') || *c == '.' || *c == '=' || *c == '_';
            if (keep) id[n++] = *c;
            else if (id[n - 1] != '-') id[n++] = '-';
        }
        while (n > 0 && id[n - 1] == '-') n--;
    }
    id[n] = 0;
}

/* ---- the folder lock ---- */

/* Two processes writing one summary would interleave their rows: the lock is flock()ed for
 * the whole run and the kernel releases it when the process ends. */
int fanin__rundir_lock(const char *dir, int k, int n, char *err, size_t errlen) {
    char path[FANIN_PATHLEN];
    if (fanin__rundir_shard_path(path, dir, FANIN_RUNDIR_LOCK, k, n) < 0)
        return fanin__errf(err, errlen, FANIN_EINVAL, "output folder name too long: %s", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return fanin__errf(err, errlen, FANIN_EINVAL, "%s: %s; choose another folder with --out",
                           path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return fanin__errf(err, errlen, FANIN_EINVAL, "another fanin is writing to '%s'; wait "
                           "for it to finish or choose another folder with --out", dir);
    }
    return FANIN_OK; /* fd stays open (and locked) until exit */
}

/* ---- the summary CSV ---- */

int fanin__csv_split(char *line, char **fields, int max) {
    int n = 0;
    char *p = line;
    line[strcspn(line, "\r\n")] = 0;
    while (n < max) {
        char *w = p;
        fields[n++] = p;
        if (*p == '"') {
            for (p++; *p; p++) {
                if (*p == '"' && p[1] == '"') *w++ = '"', p++;
                else if (*p == '"') { p++; break; }
                else *w++ = *p;
            }
        } else {
            while (*p && *p != ',') *w++ = *p++;
        }
        bool more = *p == ',';
        if (more) p++;
        *w = 0;
        if (!more) break;
    }
    return n;
}

const char *fanin__summary_status(int status) {
    return status == FANIN_EDIVERGED ? "diverged" : status == FANIN_EINTR ? "interrupted" : "done";
}

int fanin__summary_status_code(const char *word) {
    if (!strcmp(word, "diverged")) return FANIN_EDIVERGED;
    return !strcmp(word, "interrupted") ? FANIN_EINTR : FANIN_OK;
}

/* The first two columns and the last five; the swept keys go between them. */
static const char *const head[] = {"run", "status"};
static const char *const figures[] = {"final_loss", "train_acc", "test_acc", "iterations",
                                      "seconds"};

void fanin__summary_write_header(FILE *f, const char *const *keys, int n_keys) {
    fprintf(f, "%s,%s", head[0], head[1]);
    for (int k = 0; k < n_keys; k++) fprintf(f, ",%s", keys[k]);
    for (int i = 0; i < 5; i++) fprintf(f, ",%s", figures[i]);
    fputc('\n', f);
}

void fanin__summary_write_row(FILE *f, const fanin__summary_row *r) {
    fprintf(f, "%s,%s", r->id, r->status);
    for (int k = 0; k < r->n_values; k++) fprintf(f, ",\"%s\"", r->values[k]);
    fprintf(f, ",%.9g,%.6g,%.6g,%lld,%.3f\n", r->final_loss, r->train_acc, r->test_acc,
            (long long)r->iterations, r->seconds);
}

int fanin__summary_parse_header(char *const *fields, int n) {
    if (n < 7 || n > FANIN_SUMMARY_MAX_COLS || strcmp(fields[0], head[0]) ||
        strcmp(fields[1], head[1]))
        return FANIN_EINVAL;
    return n - 7;
}

/* A figure: NaN when empty or not a number. */
static double num(const char *s) {
    if (!s || !*s) return NAN;
    char *end;
    double v = strtod(s, &end);
    return end == s ? NAN : v;
}

int fanin__summary_parse_row(char *const *fields, int n, fanin__summary_row *r) {
    if (n < 7 || n > FANIN_SUMMARY_MAX_COLS) return FANIN_EINVAL;
    r->id = fields[0];
    r->status = fields[1];
    r->n_values = n - 7;
    for (int k = 0; k < r->n_values; k++) r->values[k] = fields[2 + k];
    char *const *t = fields + n - 5; /* the figures are counted from the end */
    r->final_loss = num(t[0]);
    r->train_acc = num(t[1]);
    r->test_acc = num(t[2]);
    r->iterations = atoll(t[3]);
    r->seconds = num(t[4]);
    return FANIN_OK;
}
