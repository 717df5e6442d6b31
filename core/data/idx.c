/* IDX files (the MNIST format: two zero bytes, a type byte, a dimension count, big-endian
 * uint32 dimensions, then the data), raw or gzip, read through zlib: the `idx` and
 * `fashion-mnist` sources. The labels are read first; then only the images kept are decoded,
 * streaming up to the last one needed. Byte offsets in messages count the decompressed data.
 * Not here: class subset rules and normalisation (data.c).
 */
#include "base/errors.h"
#include "config/experiment.h"
#include "data/data.h"
#include "data/dataset.h"

#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_MAX_DIMS 8

/* An open IDX file, raw or gzip. gzip is inflated here (not through gzread) so that an error
 * can name the exact byte of the compressed file where zlib stopped. */
typedef struct idx_file {
    int fd;
    const char *path;
    int gz, ended;     /* gzip file; inflate reached the end of the stream */
    z_stream z;        /* z.total_in: compressed bytes consumed (gz only) */
    unsigned char *in; /* [IDX_IN_SIZE] compressed input */
    int64_t off;       /* bytes of IDX data (decompressed) consumed */
    int64_t size;      /* the file's size on disk */
    int type, ndims, esize;
    int64_t count; /* dims[0]: records */
    int64_t rec;   /* elements per record: the product of dims[1..] */
    uint32_t dims[IDX_MAX_DIMS];
} idx_file;

/* One split: a pair of files and how many matching examples to take. */
typedef struct idx_req {
    const char *images, *labels;
    const char *images_key, *labels_key; /* "data.images": for "cannot open" hints */
    const char *split;                   /* "training" | "test" */
    const char *limit_key;               /* "data.train" */
    int64_t want;                        /* -1 = all matching */
    int fashion;                         /* labels must be 0..9 */
} idx_req;

typedef struct idx_split {
    int64_t n;
    int n_features;
    fanin__data_shape shape; /* one image */
    int max_label;           /* over the whole labels file */
    float *x, *y;            /* malloc'ed [n, n_features], [n] */
} idx_split;

static const char *type_name(int type) {
    switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return NULL;
    }
}

static int type_size(int type) {
    return type == 0x0B ? 2 : type == 0x0C || type == 0x0D ? 4 : type == 0x0E ? 8 : 1;
}

/* ---- reading ---- */

#define IDX_IN_SIZE (1 << 16)

/* read(2) until n bytes or end of file; -1 on an error. */
static int64_t read_fd(int fd, unsigned char *buf, int64_t n) {
    int64_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, (size_t)(n - got > (1 << 30) ? 1 << 30 : n - got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        got += r;
    }
    return got;
}

/* Is the file gzip (1f 8b)? Then set up inflate, giving it those two bytes. */
static int sniff(idx_file *f, char *err, size_t errlen) {
    int64_t got = read_fd(f->fd, f->in, 2);
    if (got < 0)
        return fanin__errf(err, errlen, FANIN_EIO, "%s: byte 0: read error: %s", f->path,
                           strerror(errno));
    f->gz = got == 2 && f->in[0] == 0x1f && f->in[1] == 0x8b;
    f->z.next_in = f->in;
    f->z.avail_in = (uInt)got;
    if (f->gz && inflateInit2(&f->z, 15 + 16) != Z_OK) { /* 15 + 16: gzip wrapper only */
        f->gz = 0;
        return fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory inflating '%s'",
                           f->path);
    }
    return FANIN_OK;
}

/* Open path (named by `key`, e.g. "data.images") and sniff gzip. */
static int open_file(idx_file *f, const char *path, const char *key, const char *hint, char *err,
                     size_t errlen) {
    struct stat st;
    memset(f, 0, sizeof *f);
    f->path = path;
    if (!(f->in = malloc(IDX_IN_SIZE)))
        return fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory opening '%s'", path);
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd >= 0 && fstat(f->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(f->fd);
        f->fd = -1;
        errno = EISDIR;
    }
    if (f->fd < 0)
        return fanin__errf(err, errlen, FANIN_EDATA, "%s: cannot read '%s': %s; %s", key, path,
                           strerror(errno), hint);
    f->size = (int64_t)st.st_size;
    return sniff(f, err, errlen);
}

/* Safe on a zeroed or half-opened file. */
static void close_file(idx_file *f) {
    if (!f->in) return;
    if (f->gz) inflateEnd(&f->z);
    if (f->fd >= 0) close(f->fd);
    free(f->in);
    memset(f, 0, sizeof *f);
}

/* The bytes sniff() took, then the rest of a raw file. */
static int64_t read_raw(idx_file *f, unsigned char *buf, int64_t n) {
    int64_t pre = f->z.avail_in < n ? f->z.avail_in : n;
    memcpy(buf, f->z.next_in, (size_t)pre);
    f->z.next_in += pre;
    f->z.avail_in -= (uInt)pre;
    int64_t r = pre < n ? read_fd(f->fd, buf + pre, n - pre) : 0;
    return r < 0 ? -1 : pre + r;
}

static int corrupt(const idx_file *f, int64_t out, const char *what, char *err, size_t errlen) {
    return fanin__errf(err, errlen, FANIN_EDATA,
                       "%s: byte %lld: corrupt gzip stream (zlib: %s), at byte %lld of the "
                       "decompressed data",
                       f->path, (long long)f->z.total_in, what, (long long)out);
}

/* Inflate up to n bytes into buf; stops early at the end of the stream or of the file. */
static int inflate_some(idx_file *f, unsigned char *buf, int64_t n, int64_t *got, char *err,
                        size_t errlen) {
    *got = 0;
    while (*got < n && !f->ended) {
        if (f->z.avail_in == 0) {
            int64_t r = read_fd(f->fd, f->in, IDX_IN_SIZE);
            if (r < 0)
                return fanin__errf(err, errlen, FANIN_EIO, "%s: byte %lld: read error: %s", f->path,
                                   (long long)f->z.total_in, strerror(errno));
            if (r == 0) return FANIN_OK; /* cut short: the caller says what was missing */
            f->z.next_in = f->in;
            f->z.avail_in = (uInt)r;
        }
        uInt room = (uInt)(n - *got > (1 << 30) ? 1 << 30 : n - *got);
        f->z.next_out = buf + *got;
        f->z.avail_out = room;
        int zr = inflate(&f->z, Z_NO_FLUSH);
        *got += room - f->z.avail_out;
        if (zr == Z_STREAM_END) f->ended = 1;
        else if (zr == Z_MEM_ERROR)
            return fanin__errf(err, errlen, FANIN_ENOMEM, "%s: out of memory inflating", f->path);
        else if (zr != Z_OK && zr != Z_BUF_ERROR)
            return corrupt(f, f->off + *got, f->z.msg ? f->z.msg : zError(zr), err, errlen);
    }
    return FANIN_OK;
}

/* Read up to n bytes of IDX data; *got says how many came (fewer at the end of the file). */
static int read_some(idx_file *f, void *buf, int64_t n, int64_t *got, char *err, size_t errlen) {
    int rc = FANIN_OK;
    if (f->gz) {
        rc = inflate_some(f, buf, n, got, err, errlen);
    } else if ((*got = read_raw(f, buf, n)) < 0) {
        *got = 0;
        rc = fanin__errf(err, errlen, FANIN_EIO, "%s: byte %lld: read error: %s", f->path,
                         (long long)f->off, strerror(errno));
    }
    f->off += *got;
    return rc;
}

/* After the last byte of IDX data of a gzip file, inflate on to the end of the stream so that
 * zlib checks the CRC and length trailer: a corrupt stream is caught even when the data came
 * out whole. More than 64 KiB of data after the IDX data is left unread (and unchecked). */
static int check_trailer(idx_file *f, char *err, size_t errlen) {
    enum { EXTRA = 1 << 16 };
    int64_t got, data_end = f->off;
    if (!f->gz || f->ended) return FANIN_OK;
    unsigned char *buf = malloc(EXTRA);
    if (!buf) return fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory");
    int rc = inflate_some(f, buf, EXTRA, &got, err, errlen);
    free(buf);
    if (rc == FANIN_OK && !f->ended && got < EXTRA)
        rc = fanin__errf(err, errlen, FANIN_EDATA,
                         "%s: byte %lld: the gzip stream ends without its trailer, after byte "
                         "%lld of the data (file cut short?)",
                         f->path, (long long)f->z.total_in, (long long)data_end);
    return rc;
}

static uint32_t be32(const unsigned char *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int header_ends(const idx_file *f, int64_t got, int64_t want, char *err, size_t errlen) {
    return fanin__errf(err, errlen, FANIN_EDATA,
                       "%s: byte %lld: file ends after %lld of %lld header bytes", f->path,
                       (long long)f->off, (long long)got, (long long)want);
}

static int read_header(idx_file *f, char *err, size_t errlen) {
    unsigned char b[4 * IDX_MAX_DIMS];
    int64_t got;
    int rc = read_some(f, b, 4, &got, err, errlen);
    if (rc < 0) return rc;
    if (got < 4) return header_ends(f, got, 4, err, errlen);
    if (b[0] || b[1])
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: byte 0: bad magic 0x%02X%02X%02X%02X; an IDX file starts with "
                           "two zero bytes, a type byte and a dimension count",
                           f->path, b[0], b[1], b[2], b[3]);
    f->type = b[2];
    f->ndims = b[3];
    if (!type_name(f->type))
        return fanin__errf(err, errlen, FANIN_EDATA, "%s: byte 2: unknown IDX type 0x%02X", f->path,
                           f->type);
    if (f->ndims < 1 || f->ndims > IDX_MAX_DIMS)
        return fanin__errf(err, errlen, FANIN_EDATA, "%s: byte 3: %d dimensions; expected 1 to %d",
                           f->path, f->ndims, IDX_MAX_DIMS);
    rc = read_some(f, b, 4 * f->ndims, &got, err, errlen);
    if (rc < 0) return rc;
    if (got < 4 * f->ndims) return header_ends(f, 4 + got, 4 + 4 * f->ndims, err, errlen);
    f->esize = type_size(f->type);
    f->count = be32(b);
    f->rec = 1;
    for (int i = 1; i < f->ndims; i++) {
        uint32_t dim = be32(b + 4 * i);
        if (dim == 0 || f->rec * dim > INT_MAX)
            return fanin__errf(err, errlen, FANIN_EDATA,
                               "%s: byte %d: dimension %d is %u; records must hold 1 to %d "
                               "values",
                               f->path, 4 + 4 * i, i, dim, INT_MAX);
        f->rec *= dim;
        f->dims[i] = dim;
    }
    return FANIN_OK;
}

/* One record's shape from the dimensions after the count: [n, f] vectors, [n, rows, cols]
 * one-channel images (MNIST's), [n, c, rows, cols] images; more dimensions read as vectors. */
static fanin__data_shape record_shape(const idx_file *f) {
    const uint32_t *d = f->dims;
    if (f->ndims == 3) return (fanin__data_shape){1, (int)d[1], (int)d[2]};
    if (f->ndims == 4) return (fanin__data_shape){(int)d[1], (int)d[2], (int)d[3]};
    return (fanin__data_shape){(int)f->rec, 1, 1};
}

/* "file ends after 9216 of 47040016 data bytes", from the size on disk for a raw file. */
/* count * rec * esize, saturating instead of overflowing */
static int64_t data_bytes(const idx_file *f) {
    int64_t need;
    if (__builtin_mul_overflow(f->count, f->rec, &need) ||
        __builtin_mul_overflow(need, (int64_t)f->esize, &need))
        need = INT64_MAX;
    return need;
}

static int data_ends(const idx_file *f, int64_t got, char *err, size_t errlen) {
    int64_t hdr = 4 + 4 * (int64_t)f->ndims;
    return fanin__errf(err, errlen, FANIN_EDATA,
                       "%s: byte %lld: file ends after %lld of %lld data bytes", f->path,
                       (long long)hdr, (long long)got, (long long)data_bytes(f));
}

/* Can the file hold the data its header promises? Raw: exactly; gzip: within deflate's largest
 * ratio (1032:1, zlib's FAQ), so a corrupt header never makes us allocate what cannot come
 * (fuzz_idx found a 30 GB malloc from a 70-byte file). */
static int check_raw_size(const idx_file *f, char *err, size_t errlen) {
    int64_t hdr = 4 + 4 * (int64_t)f->ndims, need = data_bytes(f);
    if (!f->gz && f->size - hdr < need) return data_ends(f, f->size - hdr, err, errlen);
    if (f->gz && f->size < need / 1032)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: byte 4: the header promises %lld data "
                           "bytes, more than %lld compressed bytes can hold; corrupt header",
                           f->path, (long long)need, (long long)f->size);
    return FANIN_OK;
}

/* ---- labels ---- */

static int open_labels(idx_file *f, const idx_req *q, const char *hint, char *err, size_t errlen) {
    int rc = open_file(f, q->labels, q->labels_key, hint, err, errlen);
    if (rc == FANIN_OK) rc = read_header(f, err, errlen);
    if (rc < 0) return rc;
    if (f->type != 0x08)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: byte 2: labels must be unsigned bytes (IDX type 0x08), not "
                           "0x%02X (%s)",
                           f->path, f->type, type_name(f->type));
    if (f->ndims != 1)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: byte 3: labels must have 1 dimension, not %d (is this an images "
                           "file? check %s)",
                           f->path, f->ndims, q->labels_key);
    return check_raw_size(f, err, errlen);
}

/* All labels of the file into *out (malloc'ed), checked against the Fashion-MNIST range. */
static int read_labels(const idx_req *q, const char *hint, unsigned char **out, int64_t *n,
                       char *err, size_t errlen) {
    idx_file f;
    unsigned char *lab = NULL;
    int64_t got = 0;
    int rc = open_labels(&f, q, hint, err, errlen);
    if (rc == FANIN_OK && !(lab = malloc(f.count ? (size_t)f.count : 1)))
        rc = fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory");
    if (rc == FANIN_OK) rc = read_some(&f, lab, f.count, &got, err, errlen);
    if (rc == FANIN_OK && got < f.count) rc = data_ends(&f, got, err, errlen);
    if (rc == FANIN_OK) rc = check_trailer(&f, err, errlen);
    for (int64_t i = 0; rc == FANIN_OK && q->fashion && i < f.count; i++)
        if (lab[i] >= 10)
            rc = fanin__errf(err, errlen, FANIN_EDATA,
                             "%s: byte %lld: label %d is not a Fashion-MNIST class (0..9)", f.path,
                             (long long)(8 + i), lab[i]);
    int64_t count = f.count;
    close_file(&f);
    if (rc < 0) {
        free(lab);
        return rc;
    }
    *out = lab;
    *n = count;
    return FANIN_OK;
}

/* ---- images ---- */

static int open_images(idx_file *f, const idx_req *q, const char *hint, int64_t n_labels, char *err,
                       size_t errlen) {
    int rc = open_file(f, q->images, q->images_key, hint, err, errlen);
    if (rc == FANIN_OK) rc = read_header(f, err, errlen);
    if (rc < 0) return rc;
    if (f->type != 0x08 && f->type != 0x0D)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: byte 2: unsupported IDX type 0x%02X (%s); images must be "
                           "unsigned byte (0x08) or float32 (0x0D)",
                           f->path, f->type, type_name(f->type));
    if (f->ndims < 2)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: byte 3: images need 2 or more dimensions ([n, features] or "
                           "[n, rows, cols]), not 1 (is this a labels file? check %s)",
                           f->path, q->images_key);
    if (f->count != n_labels)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: byte 4: %lld images but '%s' has %lld labels", f->path,
                           (long long)f->count, q->labels, (long long)n_labels);
    return check_raw_size(f, err, errlen);
}

static void decode(const idx_file *f, const unsigned char *src, float *dst) {
    if (f->type == 0x08) {
        for (int64_t j = 0; j < f->rec; j++) dst[j] = (float)src[j];
        return;
    }
    for (int64_t j = 0; j < f->rec; j++) { /* big-endian IEEE float32 */
        uint32_t u = be32(src + 4 * j);
        memcpy(&dst[j], &u, sizeof u);
    }
}

/* Stream records 0..last, decoding those whose label keeps them, in file order. */
static int read_images(idx_file *f, const unsigned char *lab, const fanin__data_spec *spec,
                       int64_t last, idx_split *s, char *err, size_t errlen) {
    size_t rec_bytes = (size_t)(f->rec * f->esize);
    int64_t per = (int64_t)((4u << 20) / rec_bytes) + 1, got, k = 0;
    int rc = FANIN_OK;
    unsigned char *buf = malloc(rec_bytes * (size_t)per);
    if (!buf) return fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory");
    for (int64_t i0 = 0; rc == FANIN_OK && i0 <= last; i0 += per) {
        int64_t m = last + 1 - i0 < per ? last + 1 - i0 : per;
        rc = read_some(f, buf, m * (int64_t)rec_bytes, &got, err, errlen);
        if (rc == FANIN_OK && got < m * (int64_t)rec_bytes)
            rc = data_ends(f, i0 * (int64_t)rec_bytes + got, err, errlen);
        for (int64_t i = i0; rc == FANIN_OK && i < i0 + m && k < s->n; i++) {
            int c = fanin__data_class_index(spec, lab[i]);
            if (c < 0) continue;
            decode(f, buf + (size_t)(i - i0) * rec_bytes, s->x + k * f->rec);
            s->y[k++] = (float)c;
        }
    }
    if (rc == FANIN_OK && last == f->count - 1) rc = check_trailer(f, err, errlen);
    free(buf);
    return rc;
}

/* How many labels match, and the index of the want-th match (-1 = all of them). */
static int pick(const idx_req *q, const fanin__data_spec *spec, const unsigned char *lab, int64_t n,
                int64_t *take, int64_t *last, char *err, size_t errlen) {
    int64_t avail = 0;
    char list[FANIN_MAX_CLASSES * 12];
    fanin__data_classes_text(spec, list, sizeof list);
    for (int64_t i = 0; i < n; i++) avail += fanin__data_class_index(spec, lab[i]) >= 0;
    if (avail == 0 && q->want != 0)
        return fanin__errf(err, errlen, FANIN_EDATA, "data: '%s' has no %s examples%s%s", q->labels,
                           q->split, list[0] ? " of classes " : "", list);
    if (q->want > avail) {
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "data: asked for %lld %s examples%s%s but '%s' has %lld; lower %s",
                           (long long)q->want, q->split, list[0] ? " of classes " : "", list,
                           q->labels, (long long)avail, q->limit_key);
    }
    *take = q->want < 0 ? avail : q->want;
    *last = -1;
    for (int64_t i = 0, k = 0; i < n && k < *take; i++)
        if (fanin__data_class_index(spec, lab[i]) >= 0) {
            k++;
            *last = i;
        }
    return FANIN_OK;
}

static int read_split(const idx_req *q, const fanin__data_spec *spec, const char *hint,
                      idx_split *s, char *err, size_t errlen) {
    unsigned char *lab = NULL;
    int64_t n_lab = 0, last = -1;
    idx_file f = {0};
    memset(s, 0, sizeof *s);
    int rc = read_labels(q, hint, &lab, &n_lab, err, errlen);
    if (rc == FANIN_OK) rc = open_images(&f, q, hint, n_lab, err, errlen);
    if (rc == FANIN_OK) rc = pick(q, spec, lab, n_lab, &s->n, &last, err, errlen);
    if (rc == FANIN_OK) {
        s->n_features = (int)f.rec;
        s->shape = record_shape(&f);
        for (int64_t i = 0; i < n_lab; i++)
            if (lab[i] > s->max_label) s->max_label = lab[i];
        if (s->n > 0) {
            s->x = malloc((size_t)s->n * (size_t)f.rec * sizeof(float));
            s->y = malloc((size_t)s->n * sizeof(float));
        }
        if (s->n > 0 && (!s->x || !s->y))
            rc = fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory");
    }
    if (rc == FANIN_OK) rc = read_images(&f, lab, spec, last, s, err, errlen);
    close_file(&f);
    free(lab);
    return rc;
}

/* ---- the two sources ---- */

static int check_fashion_classes(const fanin__data_spec *spec, char *err, size_t errlen) {
    for (int i = 0; i < spec->n_classes_listed; i++)
        if (spec->classes[i] > 9)
            return fanin__errf(err, errlen, FANIN_ECONFIG,
                               "data.classes: %d is not a Fashion-MNIST class (0..9: T-shirt, "
                               "Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, "
                               "Ankle boot)",
                               spec->classes[i]);
    return FANIN_OK;
}

/* The two requests (train, test) a spec makes; paths go to the caller's buffers. */
static int make_requests(const fanin__data_spec *spec, idx_req q[2], char paths[4][1200],
                         char *hint, size_t hint_len, char *err, size_t errlen) {
    int fashion = !strcmp(spec->source, "fashion-mnist");
    memset(q, 0, 2 * sizeof *q);
    if (fashion) {
        const char *dir = spec->path[0] ? spec->path : FANIN__FMNIST_DIR;
        for (int i = 0; i < 4; i++)
            fanin__fmnist_file(dir, fanin__fmnist_names[i], paths[i], sizeof paths[i]);
        snprintf(hint, hint_len, FANIN__FMNIST_HINT);
    } else {
        if (!spec->images[0] || !spec->labels[0])
            return fanin__errf(err, errlen, FANIN_ECONFIG,
                               "data: source idx needs data.images and data.labels (IDX files, "
                               "gzip or raw)");
        snprintf(paths[0], sizeof paths[0], "%s", spec->images);
        snprintf(paths[1], sizeof paths[1], "%s", spec->labels);
        snprintf(paths[2], sizeof paths[2], "%s", spec->test_images);
        snprintf(paths[3], sizeof paths[3], "%s", spec->test_labels);
        snprintf(hint, hint_len,
                 "check data.images, data.labels, data.test_images and "
                 "data.test_labels");
    }
    for (int k = 0; k < 2; k++) {
        q[k].images = paths[2 * k];
        q[k].labels = paths[2 * k + 1];
        q[k].images_key = fashion ? "data.path" : k ? "data.test_images" : "data.images";
        q[k].labels_key = fashion ? "data.path" : k ? "data.test_labels" : "data.labels";
        q[k].split = k ? "test" : "training";
        q[k].limit_key = k ? "data.test" : "data.train";
        q[k].want = k ? spec->test : spec->train;
        q[k].fashion = fashion;
    }
    return FANIN_OK;
}

/* Does the spec ask for a test split, and are its files named? */
static int want_test(const fanin__data_spec *spec, const idx_req *q, char *err, size_t errlen) {
    if (spec->test == 0) return 0;
    if (q->images[0] && q->labels[0]) return 1;
    if (spec->test < 0 && !q->images[0] && !q->labels[0]) return 0;
    return fanin__errf(err, errlen, FANIN_ECONFIG,
                       "data: a test split needs both data.test_images and data.test_labels%s",
                       spec->test < 0 ? "" : " (or data.test: 0)");
}

static int n_classes(const fanin__data_spec *spec, const idx_split s[2]) {
    if (spec->n_classes_listed) return spec->n_classes_listed;
    if (!strcmp(spec->source, "fashion-mnist")) return 10;
    return (s[0].max_label > s[1].max_label ? s[0].max_label : s[1].max_label) + 1;
}

int fanin__idx_load(const fanin__data_spec *spec, fanin_dataset *d, char *err, size_t errlen) {
    idx_req q[2];
    idx_split s[2] = {{0}, {0}};
    char paths[4][1200], hint[128];
    int rc = make_requests(spec, q, paths, hint, sizeof hint, err, errlen);
    if (rc == FANIN_OK && q[0].fashion) rc = check_fashion_classes(spec, err, errlen);
    int test = rc == FANIN_OK ? want_test(spec, &q[1], err, errlen) : 0;
    if (test < 0) rc = test;
    if (rc == FANIN_OK) rc = read_split(&q[0], spec, hint, &s[0], err, errlen);
    if (rc == FANIN_OK && test) rc = read_split(&q[1], spec, hint, &s[1], err, errlen);
    if (rc == FANIN_OK && test && s[1].n_features != s[0].n_features)
        rc = fanin__errf(err, errlen, FANIN_EDATA,
                         "%s: test images have %d values each but the training images (%s) "
                         "have %d",
                         q[1].images, s[1].n_features, q[0].images, s[0].n_features);
    d->n_train = s[0].n;
    d->x_train = s[0].x;
    d->y_train = s[0].y;
    d->n_test = s[1].n;
    d->x_test = s[1].x;
    d->y_test = s[1].y;
    d->n_features = s[0].n_features;
    d->shape = s[0].shape;
    d->y_dim = 1;
    d->n_classes = n_classes(spec, s);
    return rc;
}

int fanin__idx_peek_shape(const char *images, fanin__data_shape *out, char *err, size_t errlen) {
    idx_file f;
    int rc = open_file(&f, images, "data.images", "check data.images", err, errlen);
    if (rc == FANIN_OK) rc = read_header(&f, err, errlen);
    if (rc == FANIN_OK && f.ndims < 2)
        rc = fanin__errf(err, errlen, FANIN_EDATA,
                         "%s: byte 3: images need 2 or more "
                         "dimensions, not 1",
                         images);
    if (rc == FANIN_OK) *out = record_shape(&f);
    close_file(&f);
    return rc;
}
