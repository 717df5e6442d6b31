/* The data files an experiment names, checked before anything is read: each exists and opens
 * for reading and, where cheap, starts as its format does (IDX magic, HDF5 signature, a csv
 * header naming data.target). `fanin validate` reports problems at the key that named the file
 * (fanin__data_validate); fanin__data_load runs the existence part first, so a run's error
 * names the key too. Reading the data is the readers' business (idx.c, csv.c, hdf5.c).
 */
#include "data/data.h"
#include "base/errors.h"
#include "config/errs.h"
#include "config/experiment.h"
#include "data/dataset.h"

#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

enum { FMT_IDX, FMT_CSV, FMT_HDF5 };

/* One file the spec will read. */
typedef struct data_file {
    char path[1200];
    int key;    /* enum fanin__data_key: the key that names it */
    int format; /* FMT_* */
} data_file;

#define MAX_FILES 4
#define RELATIVE_HINT "relative paths start at the experiment file's folder"
#define FMNIST_FILES                                                            \
    "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte " \
    "and t10k-labels-idx1-ubyte, each .gz or not"

/* A located problem of key `key` (locs NULL: unlocated) into errs. */
static void report(fanin__errs *errs, const fanin__loc *locs, int key, int code, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));
static void report(fanin__errs *errs, const fanin__loc *locs, int key, int code, const char *fmt,
                   ...) {
    va_list ap;
    va_start(ap, fmt);
    fanin__errs_vadd(errs, code, locs ? &locs[key] : NULL, fmt, ap);
    va_end(ap);
}

/* Append path (when not empty) to f[n]; returns the new count. */
static int add(data_file *f, int n, const char *path, int key, int format) {
    if (!path[0] || n >= MAX_FILES) return n;
    snprintf(f[n].path, sizeof f[n].path, "%s", path);
    f[n].key = key;
    f[n].format = format;
    return n + 1;
}

/* The files spec will read, in reading order (test files only when a test split is read). */
static int list_files(const fanin__data_spec *s, data_file *f) {
    int n = 0;
    bool test = s->test != 0;
    if (!strcmp(s->source, "fashion-mnist")) {
        const char *dir = s->path[0] ? s->path : FANIN__FMNIST_DIR;
        for (int i = 0; i < (test ? 4 : 2); i++) {
            char p[1200];
            fanin__fmnist_file(dir, fanin__fmnist_names[i], p, sizeof p);
            n = add(f, n, p, FANIN__DK_PATH, FMT_IDX);
        }
    } else if (!strcmp(s->source, "idx")) {
        n = add(f, n, s->images, FANIN__DK_IMAGES, FMT_IDX);
        n = add(f, n, s->labels, FANIN__DK_LABELS, FMT_IDX);
        n = add(f, n, test ? s->test_images : "", FANIN__DK_TEST_IMAGES, FMT_IDX);
        n = add(f, n, test ? s->test_labels : "", FANIN__DK_TEST_LABELS, FMT_IDX);
    } else if (!strcmp(s->source, "csv")) {
        n = add(f, n, s->path, FANIN__DK_PATH, FMT_CSV);
    } else if (!strcmp(s->source, "hdf5")) {
        n = add(f, n, s->path, FANIN__DK_PATH, FMT_HDF5);
        n = add(f, n, test ? s->test_path : "", FANIN__DK_TEST_PATH, FMT_HDF5);
    }
    return n;
}

/* Does path open for reading, as a folder when want_dir, else as a file? Else why not. */
static bool readable(const char *path, bool want_dir, char *why, size_t len) {
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | (want_dir ? O_DIRECTORY : 0));
    if (fd < 0) {
        snprintf(why, len, "%s", strerror(errno));
        return false;
    }
    bool dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
    close(fd);
    if (dir && !want_dir) snprintf(why, len, "it is a folder, not a file");
    return dir == want_dir;
}

/* fashion-mnist: is data.path (or the default) a folder we can read? */
static bool check_folder(const fanin__data_spec *s, const fanin__loc *locs, fanin__errs *errs) {
    const char *dir = s->path[0] ? s->path : FANIN__FMNIST_DIR;
    char why[256];
    if (readable(dir, true, why, sizeof why)) return true;
    report(errs, locs, FANIN__DK_PATH, FANIN_EDATA,
           "data.path: cannot read the folder '%s': %s; "
           "it must hold " FMNIST_FILES "; " FANIN__FMNIST_HINT,
           dir, why);
    return false;
}

/* IDX: two zero bytes, a known type byte and 1 to 8 dimensions; read through zlib, so a .gz
 * file is checked inside. Returns false with the reason in why. */
static bool idx_header(const char *path, char *why, size_t len) {
    unsigned char b[4] = {0};
    int errnum = 0;
    gzFile g = gzopen(path, "rb");
    if (!g) {
        snprintf(why, len, "unreadable (zlib cannot open it)");
        return false;
    }
    int got = gzread(g, b, 4);
    if (got < 0) snprintf(why, len, "corrupt gzip (zlib: %s)", gzerror(g, &errnum));
    gzclose(g);
    if (got < 0) return false;
    bool type = b[2] == 0x08 || b[2] == 0x09 || (b[2] >= 0x0B && b[2] <= 0x0E);
    if (got == 4 && !b[0] && !b[1] && type && b[3] >= 1 && b[3] <= 8) return true;
    if (got < 4)
        snprintf(why, len, "not an IDX file: it holds %d byte%s", got, got == 1 ? "" : "s");
    else
        snprintf(why, len,
                 "not an IDX file: it starts 0x%02X%02X%02X%02X, not two zero bytes, "
                 "a type byte and a dimension count",
                 b[0], b[1], b[2], b[3]);
    return false;
}

/* HDF5: the 8-byte signature at byte 0, 512, 1024, 2048, ... (a user block may come first). */
static bool hdf5_header(const char *path, char *why, size_t len) {
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char b[8];
    bool found = false;
    FILE *f = fopen(path, "rb");
    for (long off = 0; f && !found && off < (1L << 40); off = off ? off * 2 : 512) {
        if (fseek(f, off, SEEK_SET) != 0 || fread(b, 1, sizeof b, f) != sizeof b) break;
        found = !memcmp(b, sig, sizeof sig);
    }
    if (f) fclose(f);
    if (!found) snprintf(why, len, "not an HDF5 file (no HDF5 signature)");
    return found;
}

/* The start of one readable file, as its format has it. */
static void check_header(const fanin__data_spec *s, const data_file *f, const fanin__loc *locs,
                         fanin__errs *errs) {
    char why[FANIN_ERRLEN];
    const char *key = fanin__data_key_names[f->key];
    if (f->format == FMT_IDX && !idx_header(f->path, why, sizeof why))
        report(errs, locs, f->key, FANIN_EDATA, "data.%s: '%s' is %s", key, f->path, why);
    if (f->format == FMT_HDF5 && !hdf5_header(f->path, why, sizeof why))
        report(errs, locs, f->key, FANIN_EDATA, "data.%s: '%s' is %s", key, f->path, why);
    if (f->format != FMT_CSV) return;
    /* FANIN_ECONFIG: only the target is wrong, so the place of data.target */
    int rc = fanin__csv_check_header(f->path, s->target, NULL, why, sizeof why);
    if (rc < 0) report(errs, locs, rc == FANIN_ECONFIG ? FANIN__DK_TARGET : f->key, rc, "%s", why);
}

/* Every problem of spec's files into errs, located by locs (NULL: not located); the start of
 * each file too when `headers`. */
static void check_spec(const fanin__data_spec *s, const fanin__loc *locs, bool headers,
                       fanin__errs *errs) {
    data_file f[MAX_FILES];
    if (!strcmp(s->source, "fashion-mnist") && !check_folder(s, locs, errs)) return;
    int n = list_files(s, f);
    for (int i = 0; i < n; i++) {
        char why[256];
        const char *hint = !strcmp(s->source, "fashion-mnist")
                               ? "the folder must hold " FMNIST_FILES "; " FANIN__FMNIST_HINT
                               : RELATIVE_HINT;
        if (readable(f[i].path, false, why, sizeof why)) {
            if (headers) check_header(s, &f[i], locs, errs);
            continue;
        }
        report(errs, locs, f[i].key, FANIN_EDATA, "data.%s: cannot read '%s': %s; %s",
               fanin__data_key_names[f[i].key], f[i].path, why, hint);
    }
}

void fanin__data_check_files(const fanin_experiment *x, fanin__errs *errs) {
    check_spec(&x->data, x->data_loc, true, errs);
}

int fanin__data_check_exist(const fanin__data_spec *spec, char *err, size_t errlen) {
    fanin__errs errs = {0};
    check_spec(spec, NULL, false, &errs);
    int rc = errs.code;
    if (rc != FANIN_OK)
        fanin__errf(err, errlen, rc, "%s", errs.n ? errs.msg[0] : "data: out of memory");
    fanin__errs_deinit(&errs);
    return rc;
}

/* ---- `fanin validate` ---- */

/* The previous member's data section: members that share it share its files' verdict. */
typedef struct check_memo {
    fanin__data_spec last;
    bool have;
    fanin__member_check extra; /* the caller's further check, or NULL */
    void *user;
} check_memo;

/* A fanin__member_check: the files of a member whose data section differs from the last, then
 * the caller's check. */
static void check_member(const fanin_experiment *x, fanin__errs *errs, void *user) {
    check_memo *m = user;
    if (!m->have || memcmp(&m->last, &x->data, sizeof x->data)) {
        m->last = x->data;
        m->have = true;
        fanin__data_check_files(x, errs);
    }
    if (m->extra) m->extra(x, errs, m->user);
}

int fanin__data_validate_with(const fanin_config *c, const fanin_registry *reg,
                              fanin__member_check extra, void *user, char *err, size_t errlen) {
    check_memo *m = calloc(1, sizeof *m);
    if (!m) return fanin__errf(err, errlen, FANIN_ENOMEM, "out of memory");
    m->extra = extra;
    m->user = user;
    int rc = fanin__config_validate_with(c, reg, check_member, m, err, errlen);
    free(m);
    return rc;
}

int fanin__data_validate(const fanin_config *c, const fanin_registry *reg, char *err,
                         size_t errlen) {
    return fanin__data_validate_with(c, reg, NULL, NULL, err, errlen);
}
