/* The run folder's layout: the one place its file names, the shard naming rule, the lock, the
 * choice of a new run's folder (never over an earlier run's) and the summary CSV's columns are
 * written down. run.c, runset.c, report.c and the `fanin` command call it; engine/diag.c
 * (below run/) is handed its paths. Not the contents of metrics.csv, layers.csv or
 * histograms.csv: their writers and runset.c own those. */
#include "run/rundir.h"
#include "base/errors.h"

#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/stat.h>
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
    [FANIN_RUNDIR_FAILED] = "failed.txt",
    [FANIN_RUNDIR_ARGS] = "run.args",
    [FANIN_RUNDIR_SUMMARY_CSV] = "summary.csv",
    [FANIN_RUNDIR_SUMMARY_JSON] = "summary.json",
    [FANIN_RUNDIR_REPORT] = "report.html",
    [FANIN_RUNDIR_LOCK] = ".summary.csv.lock",
    [FANIN_RUNDIR_GROUPS_CSV] = "groups.csv",
};

const char *fanin__rundir_name(fanin__rundir_file f) { return names[f]; }

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

int fanin__rundir_shard_path(char out[FANIN_PATHLEN], const char *dir, fanin__rundir_file f, int k,
                             int n) {
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

/* The message for a folder another process holds the lock of. */
static int busy_error(const char *dir, char *err, size_t errlen) {
    return fanin__errf(err, errlen, FANIN_EINVAL,
                       "another fanin is writing to '%s'; wait for it to finish or choose "
                       "another folder with --out",
                       dir);
}

/* Two processes writing one summary would interleave their rows: the lock is flock()ed for
 * the whole run and the kernel releases it when the process ends. */
static int held_lock = -1; /* this process's lock (fanin__rundir_lock_drop) */

void fanin__rundir_lock_drop(void) {
    if (held_lock >= 0) close(held_lock);
    held_lock = -1;
}

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
        return busy_error(dir, err, errlen);
    }
    held_lock = fd;
    return FANIN_OK; /* fd stays open (and locked) until exit */
}

/* ---- choosing the folder of a new run ---- */

/* Is `name` a summary's lock file: the lock's name around a summary's name
 * (".summary-2-of-4.csv.lock")? */
static bool is_lock(const char *name) {
    const char *lock = names[FANIN_RUNDIR_LOCK], *csv = names[FANIN_RUNDIR_SUMMARY_CSV];
    const char *at = strstr(lock, csv), *suffix = at + strlen(csv);
    size_t pre = (size_t)(at - lock), len = strlen(name), suf = strlen(suffix);
    char middle[128];
    if (len <= pre + suf || len - pre - suf >= sizeof middle || strncmp(name, lock, pre) ||
        strcmp(name + len - suf, suffix))
        return false;
    snprintf(middle, sizeof middle, "%.*s", (int)(len - pre - suf), name + pre);
    return fanin__rundir_is_summary(middle, NULL, NULL);
}

/* Does another process hold the lock file dir/name? (Tried and let go at once.) */
static bool lock_held(const char *dir, const char *name) {
    char path[FANIN_PATHLEN];
    int fd = fanin__path_join(path, dir, name) == FANIN_OK ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) return false;
    bool held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

/* What a folder holds: how many entries, whether fanin wrote it (run.args, a summary or a
 * lock), whether a lock is held, whether shard k of n's summary is there. */
typedef struct folder_scan {
    int entries;
    bool fanin, busy, own_summary;
} folder_scan;

/* Scan dir; false when it does not exist (or cannot be read). */
static bool scan(const char *dir, int k, int n, folder_scan *sc) {
    char own[128];
    fanin__rundir_shard_name(own, sizeof own, FANIN_RUNDIR_SUMMARY_CSV, k, n);
    memset(sc, 0, sizeof *sc);
    DIR *d = opendir(dir);
    if (!d) return false;
    for (struct dirent *e; (e = readdir(d));) {
        const char *name = e->d_name;
        if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
        sc->entries++;
        bool lock = is_lock(name);
        sc->fanin |= lock || fanin__rundir_is_summary(name, NULL, NULL) ||
                     !strcmp(name, names[FANIN_RUNDIR_ARGS]);
        sc->busy |= lock && lock_held(dir, name);
        sc->own_summary |= !strcmp(name, own);
    }
    closedir(d);
    return true;
}

/* Does the scanned folder hold an earlier run a new one would overwrite? */
static bool taken(const folder_scan *sc, int n) {
    return n > 1 ? sc->own_summary : sc->entries > 0;
}

/* nftw: remove everything below the folder, not the folder itself. */
static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *at) {
    (void)st;
    (void)flag;
    if (at->level == 0) return 0;
    return remove(path) == 0 ? 0 : errno ? errno : EIO;
}

/* Empty an earlier run's folder; refuse one fanin did not write. */
static int empty_run_folder(const char *dir, const folder_scan *sc, char *err, size_t errlen) {
    if (!sc->fanin)
        return fanin__errf(err, errlen, FANIN_EINVAL,
                           "--overwrite: '%s' holds no %s and no %s, so fanin did not write "
                           "it; refusing to delete its files (choose another folder with --out)",
                           dir, names[FANIN_RUNDIR_ARGS], names[FANIN_RUNDIR_SUMMARY_CSV]);
    int e = nftw(dir, remove_entry, 32, FTW_DEPTH | FTW_PHYS);
    if (e != 0)
        return fanin__errf(err, errlen, FANIN_EIO, "--overwrite: cannot empty '%s': %s", dir,
                           strerror(e > 0 ? e : errno));
    return FANIN_OK;
}

/* The first of want-2, want-3, ... that holds no earlier run, into out. */
static int next_free(char out[FANIN_PATHLEN], const char *want, int k, int n, char *err,
                     size_t errlen) {
    size_t len = strlen(want);
    while (len > 1 && want[len - 1] == '/') len--;
    for (int i = 2; i < 100000; i++) {
        folder_scan sc;
        int w = snprintf(out, FANIN_PATHLEN, "%.*s-%d", (int)len, want, i);
        if (w < 0 || w >= FANIN_PATHLEN) break;
        if (!scan(out, k, n, &sc) || (!taken(&sc, n) && !sc.busy)) return FANIN_OK;
    }
    return fanin__errf(err, errlen, FANIN_EINVAL,
                       "no free folder name after '%s'; choose another with --out", want);
}

int fanin__rundir_choose(char out[FANIN_PATHLEN], const char *want, bool overwrite, int k, int n,
                         fanin__rundir_choice *what, char *err, size_t errlen) {
    folder_scan sc;
    *what = FANIN_RUNDIR_AS_ASKED;
    if (snprintf(out, FANIN_PATHLEN, "%s", want) >= FANIN_PATHLEN)
        return fanin__errf(err, errlen, FANIN_EINVAL, "output folder name too long: %s", want);
    if (!scan(want, k, n, &sc)) return FANIN_OK;
    if (sc.busy && n <= 1) return busy_error(want, err, errlen);
    if (!taken(&sc, n) || (overwrite && n > 1)) return FANIN_OK;
    if (overwrite) {
        *what = FANIN_RUNDIR_REPLACED;
        return empty_run_folder(want, &sc, err, errlen);
    }
    *what = FANIN_RUNDIR_BESIDE;
    return next_free(out, want, k, n, err, errlen);
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
                else if (*p == '"') {
                    p++;
                    break;
                } else *w++ = *p;
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

static const struct {
    int code;
    const char *word;
} statuses[] = {{FANIN_EDIVERGED, "diverged"},
                {FANIN_EINTR, "interrupted"},
                {FANIN_RUN_CRASHED, "crashed"},
                {FANIN_RUN_TIMEOUT, "timeout"},
                {FANIN_RUN_FAILED, "failed"}};

const char *fanin__summary_status(int status) {
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++)
        if (statuses[i].code == status) return statuses[i].word;
    return "done";
}

int fanin__summary_status_code(const char *word) {
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++)
        if (!strcmp(word, statuses[i].word)) return statuses[i].code;
    return FANIN_OK;
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
