/* A sweep member in a child process (isolate.h). The child writes records to a pipe: a type
 * byte ('P' phase, 'R' result), a 4-byte length and the bytes. The parent reads the pipe to its
 * end (or the time limit, then SIGKILL; an interrupt of the parent is passed on as SIGUSR1),
 * reaps the child and reads how it ended from the wait status: a signal is a crash, a child
 * that exits without sending its result crashed too. The plugin call in flight (plugin/host.h)
 * is kept in a page shared with the parent, so it survives the child: even a SIGKILL (the time
 * limit, the kernel's OOM killer) leaves "initializer my_init (fill), layer 2" readable. */
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
#include <sys/wait.h>
#include <unistd.h>

static int child_fd = -1; /* the pipe's write end, in the child only */

bool fanin__in_child(void) { return child_fd >= 0; }

/* In the child: the parent passes an interrupt on as SIGUSR1, which only raises the flag. Not
 * SIGINT: a Ctrl-C reaches both processes, and the child's SIGINT handler resets itself, so a
 * second SIGINT would end the child before its checkpoint. */
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
    write_all(child_fd, data, len);
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

/* Everything the child writes, until it closes the pipe or the deadline (0: none) passes;
 * false on the deadline. An interrupt of this process is passed on to the child once. */
static bool read_all(int fd, pid_t pid, double deadline, char **buf, size_t *len) {
    size_t cap = 0;
    bool told = false;
    for (;;) {
        if (fanin__interrupt_flag && !told) { /* SIGUSR1: see on_usr1 */
            kill(pid, SIGUSR1);
            told = true;
        }
        int ms = 200; /* a tick to look at the clock and the flag */
        if (deadline > 0) {
            double left = deadline - fanin__now();
            if (left <= 0) return false;
            if (left * 1000 < ms) ms = (int)(left * 1000) + 1;
        }
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, ms);
        if (r <= 0) continue; /* a signal, or the tick */
        if (*len + 4096 > cap) {
            char *b = realloc(*buf, cap = (*len + 4096) * 2);
            if (!b) return true;
            *buf = b;
        }
        ssize_t n = read(fd, *buf + *len, cap - *len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return true;
        *len += (size_t)n;
    }
}

/* Split the records: the last phase into c->phase, the result into c->result. */
static void parse(const char *b, size_t len, fanin__child *c) {
    for (size_t at = 0; at + 5 <= len;) {
        uint32_t n;
        memcpy(&n, b + at + 1, 4);
        if (at + 5 + n > len) break; /* cut short by a crash */
        const char *data = b + at + 5;
        if (b[at] == 'P') snprintf(c->phase, sizeof c->phase, "%.*s", (int)n, data);
        else if (b[at] == 'R' && (c->result = malloc(n ? n : 1))) {
            memcpy(c->result, data, n);
            c->len = n;
        }
        at += 5 + n;
    }
}

static void how_it_ended(fanin__child *c, int st, bool timed_out) {
    if (timed_out) {
        c->status = FANIN_RUN_TIMEOUT;
        c->sig = SIGKILL;
    } else if (WIFSIGNALED(st)) {
        c->status = FANIN_RUN_CRASHED;
        c->sig = WTERMSIG(st);
    } else {
        c->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        c->status = c->result ? FANIN_OK : FANIN_RUN_CRASHED;
    }
}

/* c->call := "initializer my_init (fill), layer 2" from the child's record, if a call was in
 * flight (the fields are copied bounded: the child may have died mid-write). */
static void call_text(const fanin__call_record *rec, fanin__child *c) {
    if (!rec || !rec->active) return;
    char what[32] = "", layer[24] = "";
    if (rec->what[0]) snprintf(what, sizeof what, " (%.*s)", (int)sizeof rec->what - 1, rec->what);
    if (rec->layer >= 0) snprintf(layer, sizeof layer, ", layer %d", rec->layer);
    snprintf(c->call, sizeof c->call, "%.*s %.*s%s%s", (int)sizeof rec->kind - 1, rec->kind,
             (int)sizeof rec->name - 1, rec->name, what, layer);
}

/* The child's side: its own pipe end and call record, then fn. */
static _Noreturn void child_main(pid_t parent, int fd, fanin__call_record *rec, void (*fn)(void *),
                                 void *arg) {
    /* the member dies with its parent (kill -9 of fanin ends the sweep, as it did) */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(FANIN_EXIT_RUNTIME);
    child_fd = fd;
    fanin__call_record_place(rec);
    struct sigaction sa = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &sa, NULL);
    fn(arg);
    fflush(NULL);
    _exit(0); /* no atexit handlers: they belong to the parent (MPI among them) */
}

int fanin__child_run(void (*fn)(void *arg), void *arg, double timeout, fanin__child *c) {
    memset(c, 0, sizeof *c);
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return FANIN_EIO;
    fanin__call_record *rec = mmap(NULL, sizeof *rec, PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (rec == MAP_FAILED) rec = NULL; /* the crash report then names the phase only */
    fflush(NULL);
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        if (rec) munmap(rec, sizeof *rec);
        return FANIN_EIO;
    }
    if (pid == 0) {
        close(p[0]);
        child_main(parent, p[1], rec, fn, arg);
    }
    close(p[1]);
    char *buf = NULL;
    size_t len = 0;
    bool ended = read_all(p[0], pid, timeout > 0 ? fanin__now() + timeout : 0, &buf, &len);
    if (!ended) kill(pid, SIGKILL);
    close(p[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    parse(buf, len, c);
    free(buf);
    how_it_ended(c, st, !ended);
    if (c->status != FANIN_OK) call_text(rec, c);
    if (rec) munmap(rec, sizeof *rec);
    return FANIN_OK;
}

void fanin__child_free(fanin__child *c) {
    free(c->result);
    c->result = NULL;
}
