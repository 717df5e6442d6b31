/* `fanin check`'s driver: every check of one plugin file, each in a forked child so that a
 * crash, an abort, an exit() or a hang (timeout) is one failed check and the checker goes on.
 * The parent never loads the plugin. Results go to the caller's report callback; the command
 * prints them (tools/cmd_check.c).
 */
#include "base/clock.h"
#include "base/errors.h"
#include "plugin/check.h"
#include "plugin/host.h"
#include "plugin/registry.h"

#include <stdint.h>
#include <stdio.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LIST_LEN 8192 /* the plugin list a passing load check sends back */

typedef int (*child_fn)(const void *arg, char *out, size_t len);

static void write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w, n -= (size_t)w;
    }
}

/* In the child: run fn, send its status byte and text, leave without atexit handlers. */
static void child(int fd, child_fn fn, const void *arg, size_t len) {
    /* a crash must kill this process: drop handlers inherited from the caller (a cmocka test
     * catches SIGSEGV and would carry on in the child) and the core dump */
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) signal(fatal[i], SIG_DFL);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    char *buf = calloc(1, len + 1);
    dup2(STDERR_FILENO, STDOUT_FILENO); /* plugin chatter must not corrupt TAP on stdout */
    if (!buf) _exit(3);
    buf[0] = (char)('0' + fn(arg, buf + 1, len));
    write_all(fd, buf, 1 + strlen(buf + 1));
    _exit(0);
}

/* Read the child's answer until EOF or the deadline; returns bytes read, -1 on timeout. */
static ssize_t read_answer(int fd, char *buf, size_t cap, double deadline) {
    size_t got = 0;
    for (;;) {
        double left = deadline - fanin__now();
        if (left <= 0) return -1;
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, (int)ceil(left * 1000.0));
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) return -1;
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return (ssize_t)got;
        got += (size_t)n;
        if (got == cap) return (ssize_t)got;
    }
}

/* fn(arg) in a forked child with a timeout: its status, and its text in out. */
static int run_forked(child_fn fn, const void *arg, double timeout, char *out, size_t len) {
    int fds[2];
    if (pipe(fds) != 0)
        return snprintf(out, len, "cannot create a pipe: %s", strerror(errno)), FANIN_CHECK_FAIL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]), close(fds[1]);
        return snprintf(out, len, "cannot fork: %s", strerror(errno)), FANIN_CHECK_FAIL;
    }
    if (pid == 0) {
        close(fds[0]);
        child(fds[1], fn, arg, len - 1);
    }
    close(fds[1]);
    char *buf = calloc(1, len + 1);
    ssize_t got = buf ? read_answer(fds[0], buf, len, fanin__now() + timeout) : 0;
    close(fds[0]);
    if (got < 0) kill(pid, SIGKILL);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
    int status = FANIN_CHECK_FAIL;
    if (got < 0)
        snprintf(out, len, "timed out after %g s (killed); a plugin call must return", timeout);
    else if (WIFSIGNALED(ws))
        snprintf(out, len, "crashed: signal %d (%s)", WTERMSIG(ws), strsignal(WTERMSIG(ws)));
    else if (got < 1 || buf[0] < '0' || buf[0] > '2')
        snprintf(out, len, "the test process exited with status %d before reporting; plugins "
                 "must not call exit()", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
    else {
        status = buf[0] - '0';
        snprintf(out, len, "%s", buf + 1);
    }
    free(buf);
    return status;
}

/* ---- what the children do ---- */

typedef struct plugin_arg {
    const char *path;
    int kind;
    const char *name;
    const fanin__check_def *def;
} plugin_arg;

static int do_exports(const void *arg, char *out, size_t len) {
    return fanin__check_elf_exports(arg, out, len);
}

static int do_needed(const void *arg, char *out, size_t len) {
    return fanin__check_elf_needed(arg, out, len);
}

/* The loader's verdict, the entry called twice, and on success the list "kind name\n...". */
static int do_load(const void *arg, char *out, size_t len) {
    fanin_registry *r;
    char err[FANIN_ERRLEN];
    if (fanin__registry_new_empty(&r)) return snprintf(out, len, "out of memory"), FANIN_CHECK_FAIL;
    if (fanin__registry_load(r, arg, err, sizeof err) != FANIN_OK)
        return snprintf(out, len, "%s", err), FANIN_CHECK_FAIL;
    const fanin__entry *e0 = fanin__registry_at(r, 0);
    void *h = e0 ? dlopen(e0->path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD) : NULL;
    void *sym = h ? dlsym(h, FANIN_ENTRY_SYMBOL) : NULL;
    fanin_plugin_entry_fn entry;
    if (!sym) return snprintf(out, len, "cannot find %s again", FANIN_ENTRY_SYMBOL), FANIN_CHECK_FAIL;
    memcpy(&entry, &sym, sizeof entry);
    fanin__host_begin_entry(e0->path);
    const fanin_library *a = entry(fanin__host()), *b = entry(fanin__host());
    fanin__host_begin_entry(NULL);
    if (!a || a != b || a->plugins[0] != e0->plugin)
        return snprintf(out, len, "calling %s again returned a different library descriptor",
                        FANIN_ENTRY_SYMBOL), FANIN_CHECK_FAIL;
    out[0] = '\0';
    for (size_t i = 0; i < fanin__registry_count(r); i++) {
        const fanin_plugin *p = fanin__registry_at(r, i)->plugin;
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%d %s\n", (int)p->kind, p->name);
    }
    return FANIN_CHECK_PASS;
}

/* When the loader refuses the file: the schemas of every descriptor that can be read, so a bad
 * range gets its own named failure. */
static int do_raw_schema(const void *arg, char *out, size_t len) {
    void *h = dlopen(arg, RTLD_NOW | RTLD_LOCAL);
    void *sym = h ? dlsym(h, FANIN_ENTRY_SYMBOL) : NULL;
    fanin_plugin_entry_fn entry;
    if (!sym) return snprintf(out, len, "no descriptors to read"), FANIN_CHECK_SKIP;
    memcpy(&entry, &sym, sizeof entry);
    fanin__host_begin_entry(arg);
    const fanin_library *lib = entry(fanin__host());
    if (!lib || lib->hdr.magic != FANIN_MAGIC || lib->hdr.abi_major != FANIN_ABI_MAJOR ||
        !lib->plugins || lib->plugin_count > 4096)
        return snprintf(out, len, "no readable library descriptor"), FANIN_CHECK_SKIP;
    for (uint32_t i = 0; i < lib->plugin_count; i++) {
        const fanin_plugin *p = lib->plugins[i];
        char why[FANIN_CHECK_MSGLEN];
        if (!p || p->hdr.magic != FANIN_MAGIC) continue;
        if (fanin__check_schema(p, why, sizeof why) == FANIN_CHECK_FAIL)
            return snprintf(out, len, "%s '%s': %s", fanin__kind_name(p->kind),
                            p->name ? p->name : "?", why), FANIN_CHECK_FAIL;
    }
    return FANIN_CHECK_PASS;
}

static int do_plugin_check(const void *arg, char *out, size_t len) {
    const plugin_arg *a = arg;
    fanin_registry *r;
    char err[FANIN_ERRLEN];
    if (fanin__registry_new_empty(&r) || fanin__registry_load(r, a->path, err, sizeof err))
        return snprintf(out, len, "cannot load: %s", err), FANIN_CHECK_FAIL;
    const fanin__entry *e = fanin__registry_find(r, a->kind, a->name);
    fanin_value *p = calloc(e && e->n_params ? e->n_params : 1, sizeof *p);
    if (!e || !p) return snprintf(out, len, "plugin vanished or out of memory"), FANIN_CHECK_FAIL;
    fanin__params_defaults(e, p);
    fanin__check_env env = {fanin__host_fail_alloc_after, fanin__host_live_allocs, 1.0};
    fanin__check_subject s = {e, p, &env};
    return a->def->fn(&s, out, len);
}

/* ---- the driver ---- */

static void report(const fanin__check_opts *o, const char *file, const char *plugin,
                   const char *name, int status, const char *msg, int *failed) {
    fanin__check_item it = {file, plugin, name, status, status == FANIN_CHECK_PASS ? "" : msg};
    if (status == FANIN_CHECK_FAIL) (*failed)++;
    if (o->report) o->report(o->user, &it);
}

/* Every behaviour check of one plugin ("kind name" from the load check's list). */
static void check_plugin(const char *path, int kind, const char *name, double timeout,
                         const fanin__check_opts *o, int *failed) {
    size_t n;
    const fanin__check_def *defs = fanin__check_list(&n);
    char label[160], msg[FANIN_CHECK_MSGLEN];
    snprintf(label, sizeof label, "%s '%s'", fanin__kind_name(kind), name);
    for (size_t i = 0; i < n; i++) {
        if (defs[i].kind && defs[i].kind != kind) continue;
        plugin_arg a = {path, kind, name, &defs[i]};
        int st = run_forked(do_plugin_check, &a, timeout, msg, sizeof msg);
        report(o, path, label, defs[i].name, st, msg, failed);
    }
}

int fanin__check_file(const char *path, const fanin__check_opts *o) {
    double timeout = o->timeout > 0 ? o->timeout : 10.0;
    char msg[FANIN_CHECK_MSGLEN], *list = malloc(LIST_LEN);
    int failed = 0;
    if (!list) return 1;
    int st = run_forked(do_exports, path, timeout, msg, sizeof msg);
    report(o, path, NULL, "exports only " FANIN_ENTRY_SYMBOL, st, msg, &failed);
    st = run_forked(do_needed, path, timeout, msg, sizeof msg);
    report(o, path, NULL, "links no BLAS, LAPACK or OpenMP runtime", st, msg, &failed);
    st = run_forked(do_load, path, timeout, list, LIST_LEN);
    report(o, path, NULL, "handshake and descriptors (the loader's checks)", st, list, &failed);
    if (st != FANIN_CHECK_PASS) {
        st = run_forked(do_raw_schema, path, timeout, msg, sizeof msg);
        report(o, path, NULL, "schema sanity (names, docs, min <= default <= max)", st, msg,
               &failed);
        free(list);
        return failed;
    }
    char *save = NULL;
    for (char *line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int kind = atoi(line);
        const char *name = strchr(line, ' ');
        if (name) check_plugin(path, kind, name + 1, timeout, o, &failed);
    }
    free(list);
    return failed;
}
