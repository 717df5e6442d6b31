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

#define LIST_LEN (1 << 17) /* the plugin list a passing load check sends back */

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
        snprintf(out, len,
                 "the test process exited with status %d before reporting; plugins "
                 "must not call exit()",
                 WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
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
    const fanin__check_def *def; /* NULL: the probe (fanin__check_probe) */
    const fanin__check_opts *o;
    size_t set; /* which parameter set (check_params.c) */
} plugin_arg;

typedef struct file_arg {
    const char *path;
    const fanin__check_opts *o;
} file_arg;

static int do_exports(const void *arg, char *out, size_t len) {
    return fanin__check_elf_exports(arg, out, len);
}

static int do_needed(const void *arg, char *out, size_t len) {
    return fanin__check_elf_needed(arg, out, len);
}

/* Append sep then s to out (used bytes of len), tabs and newlines in s made spaces: a field of
 * the list. */
static size_t put_field(char *out, size_t used, size_t len, char sep, const char *s) {
    if (used + 1 < len) out[used++] = sep;
    for (; *s && used + 1 < len; s++) out[used++] = *s == '\t' || *s == '\n' ? ' ' : *s;
    out[used] = '\0';
    return used;
}

/* The list do_load sends back: per plugin "KIND NAME\n", then per parameter set
 * "\tTAG\tDESCRIPTION\n" (check_params.c names them). */
static void list_plugins(const fanin_registry *r, const fanin__check_opts *o, char *out,
                         size_t len) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < fanin__registry_count(r) && used + 1 < len; i++) {
        const fanin__entry *e = fanin__registry_at(r, i);
        fanin_value *p = calloc(e->n_params ? e->n_params : 1, sizeof *p);
        used += (size_t)snprintf(out + used, len - used, "%d %s\n", (int)e->plugin->kind,
                                 e->plugin->name);
        size_t n = fanin__check_set_count(e, o);
        for (size_t k = 0; p && k < n && used + 1 < len; k++) {
            char tag[512], desc[FANIN_CHECK_MSGLEN];
            if (fanin__check_set(e, o, k, p, tag, sizeof tag, desc, sizeof desc) != FANIN_OK)
                snprintf(tag, sizeof tag, "?");
            used = put_field(out, used, len, '\t', tag);
            used = put_field(out, used, len, '\t', desc);
            used = put_field(out, used, len, '\n', "");
        }
        free(p);
    }
}

/* The loader's verdict, the entry called twice, and on success the list (list_plugins). */
static int do_load(const void *arg, char *out, size_t len) {
    const file_arg *a = arg;
    fanin_registry *r;
    char err[FANIN_ERRLEN];
    if (fanin__registry_new_empty(&r)) return snprintf(out, len, "out of memory"), FANIN_CHECK_FAIL;
    if (fanin__registry_load(r, a->path, err, sizeof err) != FANIN_OK)
        return snprintf(out, len, "%s", err), FANIN_CHECK_FAIL;
    const fanin__entry *e0 = fanin__registry_at(r, 0);
    void *h = e0 ? dlopen(e0->path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD) : NULL;
    void *sym = h ? dlsym(h, FANIN_ENTRY_SYMBOL) : NULL;
    fanin_plugin_entry_fn entry;
    if (!sym)
        return snprintf(out, len, "cannot find %s again", FANIN_ENTRY_SYMBOL), FANIN_CHECK_FAIL;
    memcpy(&entry, &sym, sizeof entry);
    fanin__host_begin_entry(e0->path);
    const fanin_library *a1 = entry(fanin__host()), *b1 = entry(fanin__host());
    fanin__host_begin_entry(NULL);
    if (!a1 || a1 != b1 || a1->plugins[0] != e0->plugin)
        return snprintf(out, len, "calling %s again returned a different library descriptor",
                        FANIN_ENTRY_SYMBOL),
               FANIN_CHECK_FAIL;
    list_plugins(r, a->o, out, len);
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
                            p->name ? p->name : "?", why),
                   FANIN_CHECK_FAIL;
    }
    return FANIN_CHECK_PASS;
}

static int do_plugin_check(const void *arg, char *out, size_t len) {
    const plugin_arg *a = arg;
    fanin_registry *r;
    char err[FANIN_ERRLEN], tag[512];
    if (fanin__registry_new_empty(&r) || fanin__registry_load(r, a->path, err, sizeof err))
        return snprintf(out, len, "cannot load: %s", err), FANIN_CHECK_FAIL;
    const fanin__entry *e = fanin__registry_find(r, a->kind, a->name);
    fanin_value *p = calloc(e && e->n_params ? e->n_params : 1, sizeof *p);
    if (!e || !p) return snprintf(out, len, "plugin vanished or out of memory"), FANIN_CHECK_FAIL;
    if (fanin__check_set(e, a->o, a->set, p, tag, sizeof tag, out, len) != FANIN_OK)
        return FANIN_CHECK_FAIL; /* why is in out */
    fanin__check_env env = {fanin__host_fail_alloc_after, fanin__host_live_allocs, 1.0};
    fanin__check_subject s = {e, p, &env};
    return a->def ? a->def->fn(&s, out, len) : fanin__check_probe(&s, out, len);
}

/* --param against every plugin of one file: "U" and one 0/1 per override (whether a plugin
 * of the file has its key), then the file's parameter names, space-separated; on a value a
 * plugin refuses, FAIL with why. SKIP when the file does not load. */
static int do_params(const void *arg, char *out, size_t len) {
    const file_arg *a = arg;
    fanin_registry *r;
    char err[FANIN_ERRLEN];
    unsigned char *used = calloc(a->o->n_params + 1, 1);
    if (!used || fanin__registry_new_empty(&r) || fanin__registry_load(r, a->path, err, sizeof err))
        return snprintf(out, len, "does not load"), FANIN_CHECK_SKIP;
    size_t n = snprintf(out, len, "U");
    for (size_t i = 0; i < fanin__registry_count(r); i++) {
        const fanin__entry *e = fanin__registry_at(r, i);
        fanin_value *p = calloc(e->n_params ? e->n_params : 1, sizeof *p);
        if (!p) return snprintf(out, len, "out of memory"), FANIN_CHECK_FAIL;
        int rc = fanin__check_overrides(e, a->o, p, used, NULL, out, len);
        free(p);
        if (rc) return FANIN_CHECK_FAIL;
    }
    for (size_t k = 0; k < a->o->n_params && n + 1 < len; k++) out[n++] = used[k] ? '1' : '0';
    for (size_t i = 0; i < fanin__registry_count(r); i++) {
        const fanin__entry *e = fanin__registry_at(r, i);
        for (size_t j = 0; j < e->n_params && n < len; j++)
            n += (size_t)snprintf(out + n, len - n, " %s", e->plugin->params[j].name);
    }
    free(used);
    return FANIN_CHECK_PASS;
}

/* ---- the driver ---- */

static void report(const fanin__check_opts *o, const char *file, const char *plugin,
                   const char *name, int status, const char *msg, const char *params, int *failed) {
    fanin__check_item it = {file,  plugin, name, status, status == FANIN_CHECK_PASS ? "" : msg,
                            params};
    if (status == FANIN_CHECK_FAIL) (*failed)++;
    if (o->report) o->report(o->user, &it);
}

typedef struct plugin_set {
    int kind;
    const char *name;
    size_t k;               /* the set's number (check_params.c) */
    const char *tag, *desc; /* from the load check's list */
} plugin_set;

/* Every behaviour check of one plugin with one parameter set; checks that do not depend on
 * the values only with set 0. */
static void check_set(const char *path, const plugin_set *ps, double timeout,
                      const fanin__check_opts *o, int *failed) {
    size_t n;
    const fanin__check_def *defs = fanin__check_list(&n);
    char label[768], msg[FANIN_CHECK_MSGLEN];
    snprintf(label, sizeof label, "%s '%s'%s%s%s", fanin__kind_name(ps->kind), ps->name,
             ps->tag[0] ? " [" : "", ps->tag, ps->tag[0] ? "]" : "");
    if (ps->tag[0]) { /* values other than the defaults: does the plugin take them at all? */
        plugin_arg a = {path, ps->kind, ps->name, NULL, o, ps->k};
        if (run_forked(do_plugin_check, &a, timeout, msg, sizeof msg) == FANIN_CHECK_SKIP)
            return report(o, path, label, "accepts these parameter values", FANIN_CHECK_SKIP, msg,
                          ps->desc, failed);
    }
    for (size_t i = 0; i < n; i++) {
        if ((defs[i].kind && defs[i].kind != ps->kind) || (defs[i].once && ps->k > 0)) continue;
        plugin_arg a = {path, ps->kind, ps->name, &defs[i], o, ps->k};
        int st = run_forked(do_plugin_check, &a, timeout, msg, sizeof msg);
        report(o, path, label, defs[i].name, st, msg, ps->desc, failed);
    }
}

/* The load check's list: "KIND NAME" lines, each followed by its sets' "\tTAG\tDESC" lines. */
static void check_plugins(const char *path, char *list, double timeout, const fanin__check_opts *o,
                          int *failed) {
    plugin_set ps = {0, NULL, 0, "", ""};
    char *save = NULL;
    for (char *line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] != '\t') {
            const char *name = strchr(line, ' ');
            ps = (plugin_set){atoi(line), name ? name + 1 : NULL, 0, "", ""};
            continue;
        }
        char *desc = strchr(line + 1, '\t');
        if (!ps.name || !desc) continue;
        *desc = '\0';
        ps.tag = line + 1, ps.desc = desc + 1;
        check_set(path, &ps, timeout, o, failed);
        ps.k++;
    }
}

int fanin__check_file(const char *path, const fanin__check_opts *o) {
    double timeout = o->timeout > 0 ? o->timeout : 10.0;
    char msg[FANIN_CHECK_MSGLEN], *list = malloc(LIST_LEN);
    int failed = 0;
    file_arg fa = {path, o};
    if (!list) return 1;
    int st = run_forked(do_exports, path, timeout, msg, sizeof msg);
    report(o, path, NULL, "exports only " FANIN_ENTRY_SYMBOL, st, msg, NULL, &failed);
    st = run_forked(do_needed, path, timeout, msg, sizeof msg);
    report(o, path, NULL, "links no BLAS, LAPACK or OpenMP runtime", st, msg, NULL, &failed);
    st = run_forked(do_load, &fa, timeout, list, LIST_LEN);
    report(o, path, NULL, "handshake and descriptors (the loader's checks)", st, list, NULL,
           &failed);
    if (st == FANIN_CHECK_PASS) {
        check_plugins(path, list, timeout, o, &failed);
    } else {
        st = run_forked(do_raw_schema, path, timeout, msg, sizeof msg);
        report(o, path, NULL, "schema sanity (names, docs, min <= default <= max)", st, msg, NULL,
               &failed);
    }
    free(list);
    return failed;
}

/* ---- --param before any check ---- */

/* "no plugin in FILE has a parameter 'K'" with the nearest name, or the names there are. */
static int unknown_key(const char *kv, const char *file, size_t n_files, char *names, char *err,
                       size_t len) {
    const char *cand[512], *near;
    size_t n = 0, klen = strcspn(kv, "=");
    char key[128], list[512] = "", *save = NULL;
    snprintf(key, sizeof key, "%.*s", (int)klen, kv);
    for (char *w = strtok_r(names, " ", &save); w && n < 512; w = strtok_r(NULL, " ", &save)) {
        int seen = 0;
        for (size_t j = 0; j < n; j++) seen |= !strcmp(cand[j], w);
        if (seen) continue;
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", n ? ", " : "", w);
        cand[n++] = w;
    }
    near = fanin__nearest(key, cand, n);
    int k = snprintf(err, len, "--param %s: no plugin in %s has a parameter '%s'", kv,
                     n_files == 1 ? file : "the files checked", key);
    if (k < 0 || (size_t)k >= len) return FANIN_EINVAL;
    if (near) snprintf(err + k, len - (size_t)k, "; did you mean '%s'?", near);
    else if (!n) snprintf(err + k, len - (size_t)k, " (its plugins take no parameters)");
    else snprintf(err + k, len - (size_t)k, " (parameters: %s)", list);
    return FANIN_EINVAL;
}

int fanin__check_params_valid(const char *const *files, size_t n, const fanin__check_opts *o,
                              char *err, size_t len) {
    double timeout = o->timeout > 0 ? o->timeout : 10.0;
    unsigned char *used = calloc(o->n_params + 1, 1);
    char *names = calloc(1, LIST_LEN), *out = malloc(LIST_LEN);
    int rc = used && names && out ? FANIN_OK : FANIN_ENOMEM, loaded = 0;
    for (size_t i = 0; !rc && o->n_params && i < n; i++) {
        file_arg a = {files[i], o};
        int st = run_forked(do_params, &a, timeout, out, LIST_LEN);
        if (st == FANIN_CHECK_FAIL && !strncmp(out, "--param ", 8))
            rc = FANIN_EINVAL, snprintf(err, len, "%s", out);
        if (st != FANIN_CHECK_PASS || out[0] != 'U') continue; /* left to fanin__check_file */
        loaded = 1;
        for (size_t k = 0; k < o->n_params; k++) used[k] |= out[1 + k] == '1';
        size_t have = strlen(names);
        snprintf(names + have, LIST_LEN - have, "%s", out + 1 + o->n_params);
    }
    for (size_t k = 0; !rc && loaded && k < o->n_params; k++)
        if (!used[k]) rc = unknown_key(o->params[k], files[0], n, names, err, len);
    if (rc == FANIN_ENOMEM) snprintf(err, len, "out of memory");
    free(used), free(names), free(out);
    return rc;
}
