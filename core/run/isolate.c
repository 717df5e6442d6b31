/* Sweep members in a worker process (isolate.h). The parent sends a job as a 4-byte length and
 * its bytes on a socket; the worker runs it and writes records to a pipe: a type byte ('P'
 * phase, 'R' result, 'E' the job's end), a 4-byte length and the bytes. The parent reads
 * records until the job's 'E' (the worker waits for the next job), the pipe's end (the worker
 * died: reaped, a signal is a crash, an exit too) or the time limit (SIGKILL); an interrupt of
 * the parent is passed on as SIGUSR1. A dead or killed worker is replaced by a fresh fork for
 * the next job, as is one that ran max_jobs. The plugin call in flight (plugin/host.h) is kept
 * in a page shared with the parent, so it survives the worker: even a SIGKILL (the time limit,
 * the kernel's OOM killer) leaves "initializer my_init (fill), layer 2" readable.
 * Why a worker and not a fork per member: a fork of fanin (its plugins, OpenBLAS, the data)
 * costs ~1 ms with its page faults and exit, more than a tiny member's training
 * (tools/bench/README.md, "sweep"). */
#include "run/isolate.h"
#include "run/rundir.h"
#include "base/clock.h"
#include "base/errors.h"
#include "engine/train.h"
#include "plugin/host.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int child_fd = -1; /* the record pipe's write end, in a worker only */

bool fanin__in_child(void) { return child_fd >= 0; }

/* In the worker: the parent passes an interrupt on as SIGUSR1, which only raises the flag. Not
 * SIGINT: a Ctrl-C reaches both processes, and the worker's SIGINT handler resets itself, so a
 * second SIGINT would end the worker before its checkpoint. */
static void on_usr1(int sig) {
    (void)sig;
    fanin__interrupt_flag = 1;
}

static void write_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return; /* the parent is gone: nothing to tell */
        p += w;
        len -= (size_t)w;
    }
}

static void put(char type, const void *data, size_t len) {
    if (child_fd < 0) return;
    uint32_t n = (uint32_t)len;
    unsigned char h[5] = {(unsigned char)type};
    memcpy(h + 1, &n, 4);
    write_all(child_fd, h, 5);
    if (len) write_all(child_fd, data, len);
}

void fanin__child_phase(const char *fmt, ...) {
    if (child_fd < 0) return;
    char b[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    fanin__call_clear(); /* a call of the phase before is over */
    put('P', b, strlen(b));
}

void fanin__child_result(const void *data, size_t len) { put('R', data, len); }

const char *fanin__signal_name(int sig) {
    static const struct {
        int sig;
        const char *name;
    } names[] = {{SIGSEGV, "SIGSEGV"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},
                 {SIGFPE, "SIGFPE"},   {SIGILL, "SIGILL"},   {SIGKILL, "SIGKILL"},
                 {SIGTERM, "SIGTERM"}, {SIGINT, "SIGINT"},   {SIGXFSZ, "SIGXFSZ"},
                 {SIGXCPU, "SIGXCPU"}, {SIGPIPE, "SIGPIPE"}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (names[i].sig == sig) return names[i].name;
    return "a signal";
}

/* ---- the worker's side ---- */

/* len bytes from fd; false at its end (the parent stopped the worker, or is gone). */
static bool read_exact(int fd, void *data, size_t len) {
    char *p = data;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Jobs one after another until the socket closes: each one's call record cleared, then fn, its
 * output flushed, and 'E'. */
static _Noreturn void worker_main(pid_t parent, const fanin__worker *w, int job_fd, int rec_fd) {
    /* the worker dies with its parent (kill -9 of fanin ends the sweep, as it did) */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(FANIN_EXIT_RUNTIME);
    child_fd = rec_fd;
    fanin__call_record_place(w->rec);
    struct sigaction sa = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &sa, NULL);
    char *job = NULL;
    size_t cap = 0;
    for (uint32_t n; read_exact(job_fd, &n, 4);) {
        if (n > cap) {
            free(job);
            if (!(job = malloc(cap = n))) _exit(FANIN_EXIT_RUNTIME);
        }
        if (!read_exact(job_fd, job, n)) break;
        fanin__call_clear();
        w->fn(w->ctx, job, n);
        fflush(NULL);
        put('E', NULL, 0);
    }
    _exit(0); /* no atexit handlers: they belong to the parent (MPI among them) */
}

/* ---- the parent's side ---- */

static void reap(fanin__worker *w, int *st) {
    int s = 0;
    while (waitpid(w->pid, &s, 0) < 0 && errno == EINTR) {}
    if (st) *st = s;
    close(w->to);
    close(w->from);
    w->pid = 0;
    w->jobs = 0;
}

/* End the worker between jobs: it reads the socket's end and exits. */
static void retire(fanin__worker *w) {
    if (w->pid <= 0) return;
    shutdown(w->to, SHUT_WR);
    reap(w, NULL);
}

void fanin__worker_stop(fanin__worker *w) {
    retire(w);
    if (w->rec) munmap(w->rec, sizeof *w->rec);
    w->rec = NULL;
}

/* A fresh worker: a socket for jobs, a pipe for records, the shared call record, fork. */
static int start(fanin__worker *w) {
    int s[2], p[2];
    if (!w->rec) {
        w->rec = mmap(NULL, sizeof *w->rec, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
                      0);
        if (w->rec == MAP_FAILED) w->rec = NULL; /* a crash report then names the phase only */
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) != 0) return FANIN_EIO;
    if (pipe2(p, O_CLOEXEC) != 0) {
        close(s[0]);
        close(s[1]);
        return FANIN_EIO;
    }
    fflush(NULL);
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        close(s[0]);
        close(p[0]);
        worker_main(parent, w, s[1], p[1]);
    }
    close(s[1]);
    close(p[1]);
    if (pid < 0) {
        close(s[0]);
        close(p[0]);
        return FANIN_EIO;
    }
    *w = (fanin__worker){w->fn, w->ctx, w->max_jobs, pid, s[0], p[0], 0, w->rec};
    return FANIN_OK;
}

/* Send the job; false when the worker is gone (it died between jobs). */
static bool send_job(const fanin__worker *w, const void *job, size_t len) {
    uint32_t n = (uint32_t)len;
    const void *part[2] = {&n, job};
    size_t size[2] = {4, len};
    for (int i = 0; i < 2; i++)
        for (const char *at = part[i]; size[i] > 0;) {
            ssize_t k = send(w->to, at, size[i], MSG_NOSIGNAL);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) return false;
            at += k;
            size[i] -= (size_t)k;
        }
    return true;
}

/* The whole records in buf[*at, len): the last phase into c->phase, the result into c->result;
 * true at the job's end ('E'). *at moves past what was used. */
static bool parse(const char *buf, size_t len, size_t *at, fanin__child *c) {
    while (*at + 5 <= len) {
        uint32_t n;
        memcpy(&n, buf + *at + 1, 4);
        if (*at + 5 + n > len) break; /* the rest is still coming */
        char type = buf[*at];
        const char *data = buf + *at + 5;
        *at += 5 + n;
        if (type == 'E') return true;
        if (type == 'P') snprintf(c->phase, sizeof c->phase, "%.*s", (int)n, data);
        else if (type == 'R' && !c->result && (c->result = malloc(n ? n : 1))) {
            memcpy(c->result, data, n);
            c->len = n;
        }
    }
    return false;
}

typedef enum { JOB_DONE, JOB_DIED, JOB_LATE } job_end;

/* Read the worker's records until the job ends, the worker dies or the deadline (0: none)
 * passes. An interrupt of this process is passed on to the worker once. */
static job_end read_job(const fanin__worker *w, double deadline, fanin__child *c) {
    char *buf = NULL;
    size_t cap = 0, len = 0, at = 0;
    bool told = false;
    job_end end = JOB_DIED;
    for (;;) {
        if (fanin__interrupt_flag && !told) { /* SIGUSR1: see on_usr1 */
            kill(w->pid, SIGUSR1);
            told = true;
        }
        int ms = 200; /* a tick to look at the clock and the flag */
        if (deadline > 0) {
            double left = deadline - fanin__now();
            if (left <= 0) {
                end = JOB_LATE;
                break;
            }
            if (left * 1000 < ms) ms = (int)(left * 1000) + 1;
        }
        struct pollfd p = {w->from, POLLIN, 0};
        if (poll(&p, 1, ms) <= 0) continue; /* a signal, or the tick */
        if (len + 4096 > cap) {
            char *b = realloc(buf, cap = (len + 4096) * 2);
            if (!b) break;
            buf = b;
        }
        ssize_t n = read(w->from, buf + len, cap - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
        if (parse(buf, len, &at, c)) {
            end = JOB_DONE;
            break;
        }
    }
    free(buf);
    return end;
}

static void how_it_ended(fanin__child *c, int st, job_end end) {
    if (end == JOB_LATE) {
        c->status = FANIN_RUN_TIMEOUT;
        c->sig = SIGKILL;
    } else if (WIFSIGNALED(st)) {
        c->status = FANIN_RUN_CRASHED;
        c->sig = WTERMSIG(st);
    } else {
        c->status = FANIN_RUN_CRASHED; /* it exited in the middle of a job */
        c->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }
}

/* c->call := "initializer my_init (fill), layer 2" from the worker's record, if a call was in
 * flight (the fields are copied bounded: the worker may have died mid-write). */
static void call_text(const fanin__call_record *rec, fanin__child *c) {
    if (!rec || !rec->active) return;
    char what[32] = "", layer[24] = "";
    if (rec->what[0]) snprintf(what, sizeof what, " (%.*s)", (int)sizeof rec->what - 1, rec->what);
    if (rec->layer >= 0) snprintf(layer, sizeof layer, ", layer %d", rec->layer);
    snprintf(c->call, sizeof c->call, "%.*s %.*s%s%s", (int)sizeof rec->kind - 1, rec->kind,
             (int)sizeof rec->name - 1, rec->name, what, layer);
}

int fanin__worker_run(fanin__worker *w, const void *job, size_t len, double timeout,
                      fanin__child *c) {
    memset(c, 0, sizeof *c);
    if (w->jobs >= (w->max_jobs > 1 ? w->max_jobs : 1)) retire(w);
    for (int tries = 0;; tries++) {
        if (w->pid <= 0 && start(w) < 0) return FANIN_EIO;
        if (w->rec) *w->rec = (fanin__call_record){.layer = -1};
        if (send_job(w, job, len)) break;
        reap(w, NULL); /* it died between jobs: a fresh one takes the job */
        if (tries) return FANIN_EIO;
    }
    w->jobs++;
    job_end end = read_job(w, timeout > 0 ? fanin__now() + timeout : 0, c);
    if (end == JOB_DONE) return FANIN_OK;
    if (end == JOB_LATE) kill(w->pid, SIGKILL);
    int st = 0;
    reap(w, &st);
    how_it_ended(c, st, end);
    call_text(w->rec, c);
    return FANIN_OK;
}

void fanin__child_free(fanin__child *c) {
    free(c->result);
    c->result = NULL;
}
