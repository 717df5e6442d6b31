/* Checkpoints of a training run. A checkpoint holds everything the loop needs to continue
 * bit-identically: params, saved untrained state (running statistics), optimizer state (opaque
 * bytes), the shuffle stream, the epoch's row order and the iteration. Format (little-endian;
 * docs/errors.md "Checkpoints"):
 *   "FANINCK1"  u32 version=3  u32 threads  i64 iteration  u64 n_params  u64 opt_state_size
 *   u64 n_order  rng{u32 key[2], ctr[4], buf[4]; i32 avail, has_spare; f64 spare}  f64 seconds
 *   u64 n_bufs  f32 params[n_params]  f32 bufs[n_bufs]  u8 opt_state[opt_state_size]
 *   i64 order[n_order]  u32 crc32(all before)
 * Versions 1 (no `seconds`) and 2 (no `n_bufs`, no bufs) are read too. Written atomically (atomic.c): a crash leaves the old
 * checkpoint or the new one, never half. Also: trimming a resumed run's logs to the checkpoint.
 */
#include "engine/checkpoint.h"
#include "base/atomic.h"
#include "base/errors.h"
#include "base/rng.h"
#include "engine/model.h"

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define CKPT_MAGIC "FANINCK1"
#define CKPT_VERSION 3u

#pragma pack(push, 1)
typedef struct ckpt_head {
    char magic[8];
    uint32_t version, threads;
    int64_t iteration;
    uint64_t n_params, opt_state_size, n_order;
    uint32_t key[2], ctr[4], buf[4];
    int32_t avail, has_spare;
    double spare;
    double seconds;  /* version 2 on */
    uint64_t n_bufs; /* version 3 on */
} ckpt_head;
#pragma pack(pop)

/* The header of a version 1 checkpoint: everything before `seconds`. */
#define CKPT_HEAD_V1 offsetof(ckpt_head, seconds)

/* ---- writing ---- */

typedef struct wr {
    FILE *f;
    uLong crc;
    int failed; /* errno of the first failed write */
} wr;

static void put(wr *w, const void *p, size_t n) {
    if (w->failed || !n) return;
    if (fwrite(p, 1, n, w->f) != n) {
        w->failed = errno ? errno : EIO;
        return;
    }
    const unsigned char *b = p;
    for (size_t done = 0; done < n;) { /* crc32 takes a uInt length */
        size_t chunk = n - done > (1u << 30) ? 1u << 30 : n - done;
        w->crc = crc32(w->crc, b + done, (uInt)chunk);
        done += chunk;
    }
}

static void fill_head(ckpt_head *h, const fanin_model *m, const fanin__ckpt *c) {
    memset(h, 0, sizeof *h);
    memcpy(h->magic, CKPT_MAGIC, 8);
    h->version = CKPT_VERSION;
    h->threads = (uint32_t)c->threads;
    h->iteration = c->iteration;
    h->n_params = m->n_params;
    h->opt_state_size = m->opt_state_size;
    h->n_order = c->order ? (uint64_t)c->n_order : 0;
    memcpy(h->key, c->shuffle.key, sizeof h->key);
    memcpy(h->ctr, c->shuffle.ctr, sizeof h->ctr);
    memcpy(h->buf, c->shuffle.buf, sizeof h->buf);
    h->avail = c->shuffle.avail;
    h->has_spare = c->shuffle.has_spare;
    h->spare = c->shuffle.spare;
    h->seconds = c->seconds;
    h->n_bufs = m->n_bufs;
}

int fanin__checkpoint_save(const char *path, const fanin_model *m, const fanin__ckpt *c, char *err,
                           size_t errlen) {
    fanin__atomic a;
    int e = fanin__atomic_open_durable(&a, path);
    if (e)
        return fanin__errf(err, errlen, FANIN_EIO, "%s: cannot write the checkpoint: %s", a.tmp,
                           strerror(e));
    wr w = {a.f, crc32(0, NULL, 0), 0};
    ckpt_head h;
    fill_head(&h, m, c);
    put(&w, &h, sizeof h);
    put(&w, m->params, m->n_params * sizeof(float));
    if (m->n_bufs) put(&w, m->bufs, m->n_bufs * sizeof(float));
    if (m->opt_state_size) put(&w, m->opt_state, m->opt_state_size);
    if (h.n_order) put(&w, c->order, (size_t)h.n_order * sizeof(int64_t));
    uint32_t crc = (uint32_t)w.crc;
    put(&w, &crc, sizeof crc);
    if ((e = fanin__atomic_commit(&a, path, w.failed)) != 0)
        return fanin__errf(err, errlen, FANIN_EIO, "%s: cannot write the checkpoint: %s", path,
                           strerror(e));
    return FANIN_OK;
}

/* ---- reading ---- */

typedef struct rd {
    int fd;
    uLong crc;
    int short_read;
} rd;

static void get(rd *r, void *p, size_t n) {
    unsigned char *b = p;
    for (size_t done = 0; !r->short_read && done < n;) {
        ssize_t k = read(r->fd, b + done, n - done > (1u << 30) ? 1u << 30 : n - done);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            r->short_read = 1;
            break;
        }
        r->crc = crc32(r->crc, b + done, (uInt)k);
        done += (size_t)k;
    }
}

static int mismatch(const char *path, const char *what, unsigned long long have,
                    unsigned long long want, char *err, size_t errlen) {
    return fanin__errf(err, errlen, FANIN_EDATA,
                       "%s: the checkpoint has %llu %s but this run "
                       "needs %llu; it belongs to another config (delete it to start over)",
                       path, have, what, want);
}

static int check_head(const char *path, const ckpt_head *h, const fanin_model *m,
                      const fanin__ckpt *c, char *err, size_t errlen) {
    if (memcmp(h->magic, CKPT_MAGIC, 8) || h->version < 1 || h->version > CKPT_VERSION)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: byte 0: not a fanin checkpoint (version 1 to 3)", path);
    if (h->n_params != m->n_params)
        return mismatch(path, "parameters", h->n_params, m->n_params, err, errlen);
    if (h->n_bufs != m->n_bufs)
        return mismatch(path, "floats of saved statistics", h->n_bufs, m->n_bufs, err, errlen);
    if (h->opt_state_size != m->opt_state_size)
        return mismatch(path, "bytes of optimizer state", h->opt_state_size, m->opt_state_size, err,
                        errlen);
    if (h->n_order && h->n_order != (uint64_t)c->n_order)
        return mismatch(path, "training rows", h->n_order, (unsigned long long)c->n_order, err,
                        errlen);
    if (h->iteration < 0 || h->avail < 0 || h->avail > 4)
        return fanin__errf(err, errlen, FANIN_EDATA, "%s: corrupt checkpoint header", path);
    return FANIN_OK;
}

int fanin__checkpoint_load(const char *path, fanin_model *m, fanin__ckpt *c, char *err,
                           size_t errlen) {
    rd r = {open(path, O_RDONLY | O_CLOEXEC), crc32(0, NULL, 0), 0};
    if (r.fd < 0)
        return fanin__errf(err, errlen, FANIN_EDATA, "%s: cannot open: %s", path, strerror(errno));
    ckpt_head h;
    get(&r, &h, CKPT_HEAD_V1);
    h.seconds = 0; /* version 1 did not count them */
    h.n_bufs = 0;  /* nor did versions 1 and 2 save statistics */
    if (!r.short_read && h.version >= 2) get(&r, &h.seconds, sizeof h.seconds);
    if (!r.short_read && h.version >= 3) get(&r, &h.n_bufs, sizeof h.n_bufs);
    int rc = r.short_read ? fanin__errf(err, errlen, FANIN_EDATA, "%s: truncated checkpoint", path)
                          : check_head(path, &h, m, c, err, errlen);
    if (rc == FANIN_OK) {
        /* read into the live buffers only after the checksum holds: stage nothing, but restore
         * nothing else either until it does (the caller discards the model on error) */
        get(&r, m->params, m->n_params * sizeof(float));
        if (m->n_bufs) get(&r, m->bufs, m->n_bufs * sizeof(float));
        if (m->opt_state_size) get(&r, m->opt_state, m->opt_state_size);
        if (h.n_order) get(&r, c->order, (size_t)h.n_order * sizeof(int64_t));
        uint32_t want = (uint32_t)r.crc, crc = 0;
        get(&r, &crc, sizeof crc);
        unsigned char extra;
        if (r.short_read)
            rc = fanin__errf(err, errlen, FANIN_EDATA, "%s: truncated checkpoint", path);
        else if (crc != want || read(r.fd, &extra, 1) != 0)
            rc = fanin__errf(err, errlen, FANIN_EDATA,
                             "%s: checksum mismatch; the checkpoint is "
                             "corrupt (delete it to start the run over)",
                             path);
    }
    close(r.fd);
    if (rc != FANIN_OK) return rc;
    c->iteration = h.iteration;
    c->threads = (int)h.threads;
    c->shuffle.kind = FANIN_RNG_PHILOX;
    memcpy(c->shuffle.key, h.key, sizeof h.key);
    memcpy(c->shuffle.ctr, h.ctr, sizeof h.ctr);
    memcpy(c->shuffle.buf, h.buf, sizeof h.buf);
    c->shuffle.avail = h.avail;
    c->shuffle.has_spare = h.has_spare;
    c->shuffle.spare = h.spare;
    c->shuffle.mt = NULL;
    c->seconds = isfinite(h.seconds) && h.seconds > 0 ? h.seconds : 0;
    return FANIN_OK;
}

int64_t fanin__checkpoint_iteration(const char *path) {
    rd r = {open(path, O_RDONLY | O_CLOEXEC), 0, 0};
    if (r.fd < 0) return -1;
    ckpt_head h;
    get(&r, &h, CKPT_HEAD_V1);
    close(r.fd);
    if (r.short_read || memcmp(h.magic, CKPT_MAGIC, 8) || h.iteration < 0) return -1;
    return h.iteration;
}

/* ---- the logs of a resumed run ---- */

/* Copy the header and the rows of f whose first field is below `until` to out (a row without
 * its newline, cut by a kill, is dropped); the number of rows copied. */
static int64_t copy_rows_before(FILE *f, FILE *out, int64_t until) {
    char *line = NULL;
    size_t cap = 0;
    int64_t kept = 0;
    for (bool header = true; getline(&line, &cap, f) > 0; header = false) {
        if (!header && (line[strcspn(line, "\n")] == 0 || strtoll(line, NULL, 10) >= until))
            continue;
        fputs(line, out);
        kept += !header;
    }
    free(line);
    return kept;
}

int64_t fanin__checkpoint_trim_log(const char *path, int64_t until) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    fanin__atomic a;
    if (fanin__atomic_open(&a, path) != 0) {
        fclose(f);
        return -1;
    }
    int64_t kept = copy_rows_before(f, a.f, until);
    int failed = ferror(f) ? EIO : 0;
    fclose(f);
    return fanin__atomic_commit(&a, path, failed) == 0 ? kept : -1;
}
