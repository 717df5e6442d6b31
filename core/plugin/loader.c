/* The plugin registry: finds plugin shared objects on the search path, refuses unsafe files,
 * dlopens them, runs the ABI handshake and has every descriptor and schema checked
 * (validate.c) before any plugin is registered. Every rejection names the file, what is wrong and the fix (the
 * reference's section 3.7). Calling plugins is the rest of the core's job, through host.c.
 */
#include "base/errors.h"
#include "plugin/host.h"
#include "plugin/registry.h"
#include "plugin/safety.h"
#include "plugin/validate.h"

#include <stdint.h>
#include <stdio.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fanin_registry {
    fanin__entry *entries;
    size_t n, cap;
    char **files; /* real paths of the loaded .so files (owned); entries point into them */
    size_t n_files, cap_files;
    char **searched; /* real paths of the files and folders searched (owned) */
    size_t n_searched, cap_searched;
    char *search; /* files and folders searched, ':'-joined (owned) */
};

/* dlopen, the entry call and the host's entry message are process-wide: one loader at a time. */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

const char *fanin__kind_name(int kind) {
    switch (kind) {
    case FANIN_KIND_INITIALIZER: return "initializer";
    case FANIN_KIND_ACTIVATION: return "activation";
    case FANIN_KIND_OPTIMIZER: return "optimizer";
    default: return "unknown kind";
    }
}

/* ---- growable arrays ---- */

/* arr (n elements of `size` bytes used, *cap allocated) with room for one more: the same or a
 * realloc'd pointer, or NULL (arr untouched) when out of memory. */
static void *reserve(void *arr, size_t n, size_t *cap, size_t size) {
    if (n < *cap) return arr;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(arr, ncap * size);
    if (p) *cap = ncap;
    return p;
}

/* Append a copy of s to a string list. */
static int push_string(char ***list, size_t *n, size_t *cap, const char *s) {
    char *copy = strdup(s);
    char **grown = copy ? reserve(*list, *n, cap, sizeof **list) : NULL;
    if (!grown) {
        free(copy);
        return FANIN_ENOMEM;
    }
    grown[(*n)++] = copy;
    *list = grown;
    return FANIN_OK;
}

static int in_list(char *const *list, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0) return 1;
    return 0;
}

/* Record a searched file or folder for fanin__registry_search_path. */
static int search_add(fanin_registry *r, const char *path) {
    size_t old = r->search ? strlen(r->search) : 0;
    char *s = realloc(r->search, old + strlen(path) + 2);
    if (!s) return FANIN_ENOMEM;
    if (old) s[old++] = ':';
    strcpy(s + old, path);
    r->search = s;
    return FANIN_OK;
}

static int oom(char *err, size_t errlen) {
    return fanin__errf(err, errlen, FANIN_ENOMEM, "out of memory while loading plugins");
}

/* ---- file safety ---- */

/* The folder of `file` (resolved) into dir. */
static void folder_of(const char *file, char *dir, size_t len) {
    snprintf(dir, len, "%s", file);
    char *slash = strrchr(dir, '/');
    if (slash) *(slash == dir ? slash + 1 : slash) = '\0';
}

/* A file or folder others can write to lets them run code as us (pitfall 14; PAM's rule):
 * refused, naming the path, who can write it and the fix. Group-write by the owner's private
 * group and a sticky folder (/tmp) are fine (safety.c). */
static int check_not_writable(const char *path, const struct stat *st, const char *what, char *err,
                              size_t errlen) {
    char why[FANIN_ERRLEN / 2];
    if (!fanin__writable_by_others(st, why, sizeof why)) return FANIN_OK;
    return fanin__errf(err, errlen, FANIN_EPLUGIN,
                       "refusing plugin %s %s: it is %s, so another user could make fanin run "
                       "their code; run `chmod go-w %s`",
                       what, path, why, path);
}

/* Only regular files, not writable by others, in a folder not writable by others. */
static int check_file(const char *real, char *err, size_t errlen) {
    struct stat st;
    if (stat(real, &st) != 0)
        return fanin__errf(err, errlen, FANIN_EPLUGIN, "cannot load plugin %s: %s", real,
                           strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "refusing plugin %s: not a regular file; a plugin is a shared object "
                           "(.so) built with FANIN_PLUGIN_DEFINE",
                           real);
    int rc = check_not_writable(real, &st, "file", err, errlen);
    if (rc) return rc;
    char dir[PATH_MAX];
    folder_of(real, dir, sizeof dir);
    if (stat(dir, &st) != 0) return FANIN_OK; /* the file itself stat'ed: nothing to add */
    return check_not_writable(dir, &st, "folder", err, errlen);
}

/* ---- dlopen and the entry call ---- */

_Static_assert(sizeof(void *) == sizeof(fanin_plugin_entry_fn), "dlsym returns code as data");

static int open_library(const char *path, void **handle, fanin_plugin_entry_fn *entry, char *err,
                        size_t errlen) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror(); /* copied at once: the next dl call overwrites it */
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "cannot load plugin %s: %s; check that it is a shared object built "
                           "for this machine and that its libraries are installed (ldd %s)",
                           path, why ? why : "unknown dlopen error", path);
    }
    dlerror(); /* clear stale errors so a NULL symbol is judged on this dlsym alone */
    void *sym = dlsym(h, FANIN_ENTRY_SYMBOL);
    if (!sym) {
        dlclose(h);
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "%s is not a fanin plugin (no symbol %s); a plugin must define its "
                           "entry point with FANIN_PLUGIN_DEFINE(...) from <fanin/plugin.h> and "
                           "export it",
                           path, FANIN_ENTRY_SYMBOL);
    }
    memcpy(entry, &sym, sizeof *entry); /* POSIX: a data pointer from dlsym may hold code */
    *handle = h;
    return FANIN_OK;
}

/* Run the handshake; a NULL answer is reported with whatever the plugin said through
 * host->error(NULL, ...). */
static int call_entry(const char *path, fanin_plugin_entry_fn entry, const fanin_library **lib,
                      char *err, size_t errlen) {
    fanin__host_begin_entry(path);
    *lib = entry(fanin__host());
    const char *msg = fanin__host_entry_message();
    int rc = FANIN_OK;
    if (!*lib && msg)
        rc = fanin__errf(err, errlen, FANIN_EPLUGIN,
                         "%s: the plugin refused to load (%s returned NULL): %s", path,
                         FANIN_ENTRY_SYMBOL, msg);
    else if (!*lib)
        rc = fanin__errf(err, errlen, FANIN_EPLUGIN,
                         "%s: the plugin refused to load (%s returned NULL without a message); "
                         "it may have been built for another fanin ABI: %s",
                         path, FANIN_ENTRY_SYMBOL, FANIN_FIX_REBUILD);
    fanin__host_begin_entry(NULL);
    return rc;
}

/* ---- registration ---- */

static const fanin__entry *find_entry(const fanin_registry *r, int kind, const char *name) {
    for (size_t i = 0; i < r->n; i++)
        if (r->entries[i].plugin->kind == kind && strcmp(r->entries[i].plugin->name, name) == 0)
            return &r->entries[i];
    return NULL;
}

static int is_builtin_file(const char *file);
static int env_without(const char *file, char *out, size_t len);

static const char *kind_macro(int kind) {
    return kind == FANIN_KIND_INITIALIZER  ? "FANIN_INITIALIZER"
           : kind == FANIN_KIND_ACTIVATION ? "FANIN_ACTIVATION"
                                           : "FANIN_OPTIMIZER";
}

/* "duplicate KIND 'NAME'" naming both files and the two ways out: rename it in the source of
 * the one that is not built in (the later one when neither is), or take that file off
 * FANIN_PLUGIN_PATH (the value without the entry that reached it). */
static int duplicate_error(const fanin_plugin *p, const char *a, const char *b, char *err,
                           size_t errlen) {
    int a_builtin = is_builtin_file(a), b_builtin = is_builtin_file(b);
    const char *mine = a_builtin || !b_builtin ? b : a;
    const char *base = strrchr(mine, '/') ? strrchr(mine, '/') + 1 : mine;
    int stem = (int)strlen(base) - (int)(strlen(base) > 3 ? 3 : 0); /* without ".so" */
    char env[FANIN_ERRLEN / 2], off[FANIN_ERRLEN / 2 + 64] = "";    /* off: room for env */
    char dir_a[PATH_MAX], dir_b[PATH_MAX];
    folder_of(a, dir_a, sizeof dir_a);
    folder_of(b, dir_b, sizeof dir_b);
    if (strcmp(dir_a, dir_b) == 0) snprintf(off, sizeof off, ", or delete one of the two files");
    else if (env_without(mine, env, sizeof env))
        snprintf(off, sizeof off, ", or take it off the plugin path: %s%s", env[0] ? "" : "unset ",
                 env[0] ? env : "FANIN_PLUGIN_PATH");
    return fanin__errf(err, errlen, FANIN_EPLUGIN,
                       "duplicate %s '%s': defined in %s%s and in %s%s; rename it in the source of "
                       "%s (%.*s.c if `fanin new-plugin` wrote it: the '%s' in its %s line) and "
                       "rebuild%s",
                       fanin__kind_name(p->kind), p->name, a, a_builtin ? " (built in)" : "", b,
                       b_builtin ? " (built in)" : "", mine, stem, base, p->name,
                       kind_macro(p->kind), off);
}

/* plugins[i] may not repeat a kind+name already registered or earlier in the same file. */
static int check_unique(const fanin_registry *r, const char *path, const fanin_library *lib,
                        uint32_t i, char *err, size_t errlen) {
    const fanin_plugin *p = lib->plugins[i];
    const fanin__entry *prev = find_entry(r, p->kind, p->name);
    if (prev) return duplicate_error(p, prev->path, path, err, errlen);
    for (uint32_t j = 0; j < i; j++) {
        const fanin_plugin *q = lib->plugins[j];
        if (q->kind == p->kind && strcmp(q->name, p->name) == 0)
            return fanin__errf(err, errlen, FANIN_EPLUGIN,
                               "duplicate %s '%s': defined twice "
                               "in %s; rename one of them in its source (the '%s' in a %s line) "
                               "and rebuild",
                               fanin__kind_name(p->kind), p->name, path, p->name,
                               kind_macro(p->kind));
    }
    return FANIN_OK;
}

/* Every descriptor of lib, checked before any is registered: a library loads whole or not. */
static int check_plugins(const fanin_registry *r, const char *path, const fanin_library *lib,
                         char *err, size_t errlen) {
    for (uint32_t i = 0; i < lib->plugin_count; i++) {
        const fanin_plugin *p = lib->plugins[i];
        int rc = fanin__validate_plugin(path, i, p, err, errlen);
        if (!rc) rc = check_unique(r, path, lib, i, err, errlen);
        if (rc) return rc;
    }
    return FANIN_OK;
}

/* Add lib's plugins under the file name `real` (already checked). */
static int register_library(fanin_registry *r, const char *real, const fanin_library *lib) {
    if (push_string(&r->files, &r->n_files, &r->cap_files, real)) return FANIN_ENOMEM;
    const char *path = r->files[r->n_files - 1];
    for (uint32_t i = 0; i < lib->plugin_count; i++) {
        fanin__entry *grown = reserve(r->entries, r->n, &r->cap, sizeof *r->entries);
        if (!grown) return FANIN_ENOMEM;
        r->entries = grown;
        const fanin_plugin *p = lib->plugins[i];
        size_t k = 0;
        while (p->params && p->params[k].name) k++;
        r->entries[r->n++] = (fanin__entry){p, path, k};
    }
    return FANIN_OK;
}

/* Safety checks, dlopen, handshake, validation, registration of one resolved file. The
 * library is closed only when rejected; once registered it stays mapped until exit. */
static int load_real(fanin_registry *r, const char *real, char *err, size_t errlen) {
    void *h = NULL;
    fanin_plugin_entry_fn entry = NULL;
    const fanin_library *lib = NULL;
    int rc = check_file(real, err, errlen);
    if (!rc) rc = open_library(real, &h, &entry, err, errlen);
    if (!rc) rc = call_entry(real, entry, &lib, err, errlen);
    if (!rc) rc = fanin__validate_library(real, lib, err, errlen);
    if (!rc) rc = check_plugins(r, real, lib, err, errlen);
    if (!rc && register_library(r, real, lib)) rc = oom(err, errlen);
    if (rc && h) dlclose(h);
    return rc;
}

int fanin__registry_load(fanin_registry *r, const char *path, char *err, size_t errlen) {
    char real[PATH_MAX];
    if (!realpath(path, real))
        return fanin__errf(err, errlen, FANIN_EPLUGIN, "cannot load plugin %s: %s", path,
                           strerror(errno));
    if (in_list(r->files, r->n_files, real)) return FANIN_OK; /* reached twice: load once */
    pthread_mutex_lock(&load_lock);
    int rc = load_real(r, real, err, errlen);
    pthread_mutex_unlock(&load_lock);
    return rc;
}

/* ---- the search path ---- */

static int by_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int is_plugin_name(const char *name) {
    size_t n = strlen(name);
    return name[0] != '.' && n > 3 && strcmp(name + n - 3, ".so") == 0;
}

/* The *.so names in dir, sorted so load order (and the first error) is reproducible. */
static int list_plugins(const char *dir, char ***names, size_t *n, char *err, size_t errlen) {
    size_t cap = 0;
    DIR *d = opendir(dir);
    if (!d)
        return fanin__errf(err, errlen, FANIN_EPLUGIN, "cannot read plugin folder %s: %s", dir,
                           strerror(errno));
    struct dirent *de;
    int rc = FANIN_OK;
    while (!rc && (de = readdir(d)))
        if (is_plugin_name(de->d_name)) rc = push_string(names, n, &cap, de->d_name);
    closedir(d);
    if (rc) return oom(err, errlen);
    if (*n) qsort(*names, *n, sizeof **names, by_name);
    return FANIN_OK;
}

static void free_strings(char **list, size_t n) {
    for (size_t i = 0; i < n; i++) free(list[i]);
    free(list);
}

/* Every *.so in the (resolved, checked) folder `dir`, in name order. */
static int load_folder(fanin_registry *r, const char *dir, char *err, size_t errlen) {
    char **names = NULL, path[PATH_MAX];
    size_t n = 0;
    int rc = list_plugins(dir, &names, &n, err, errlen);
    for (size_t i = 0; !rc && i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        rc = fanin__registry_load(r, path, err, errlen);
    }
    free_strings(names, n);
    return rc;
}

/* A file or folder of the search path. Missing ones are skipped unless `required` (the
 * caller named it explicitly); folders are checked like files and searched once. */
static int load_path(fanin_registry *r, const char *path, int required, char *err, size_t errlen) {
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(path, real) || stat(real, &st) != 0) {
        if (!required && (errno == ENOENT || errno == ENOTDIR)) return FANIN_OK;
        return fanin__errf(err, errlen, FANIN_EPLUGIN, "cannot use plugin path %s: %s", path,
                           strerror(errno));
    }
    if (in_list(r->searched, r->n_searched, real)) return FANIN_OK;
    int rc = S_ISDIR(st.st_mode) ? check_not_writable(real, &st, "folder", err, errlen) : 0;
    if (rc) return rc;
    if (push_string(&r->searched, &r->n_searched, &r->cap_searched, real) || search_add(r, real))
        return oom(err, errlen);
    return S_ISDIR(st.st_mode) ? load_folder(r, real, err, errlen)
                               : fanin__registry_load(r, real, err, errlen);
}

/* $FANIN_PLUGIN_PATH, ':'-separated; secure_getenv ignores it in setuid processes. Empty
 * parts are skipped: unlike $PATH they never mean the current directory. */
static int load_env(fanin_registry *r, char *err, size_t errlen) {
    const char *env = secure_getenv("FANIN_PLUGIN_PATH");
    if (!env) return FANIN_OK;
    char *copy = strdup(env), *save = NULL;
    if (!copy) return oom(err, errlen);
    int rc = FANIN_OK;
    for (char *part = strtok_r(copy, ":", &save); !rc && part; part = strtok_r(NULL, ":", &save))
        rc = load_path(r, part, 0, err, errlen);
    free(copy);
    return rc;
}

/* dirname of `file` + "/" + rel into out; 0 when it does not fit. */
static int sibling(const char *file, const char *rel, char *out, size_t len) {
    const char *slash = strrchr(file, '/');
    if (!slash) return 0;
    int n = snprintf(out, len, "%.*s/%s", (int)(slash - file), file, rel);
    return n > 0 && (size_t)n < len;
}

/* load_path for an optional folder; *found is set when it exists. */
static int load_builtin_dir(fanin_registry *r, const char *dir, int *found, char *err,
                            size_t errlen) {
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return FANIN_OK;
    *found = 1;
    return load_path(r, dir, 0, err, errlen);
}

/* <exe dir>/../FANIN_INSTALL_PLUGIN_SUBDIR into dir (the subdir itself when CMAKE_INSTALL_LIBDIR
 * was absolute); 0 when unknown. */
static int exe_plugin_dir(char *dir, size_t len) {
    char exe[PATH_MAX];
    if (FANIN_INSTALL_PLUGIN_SUBDIR[0] == '/')
        return snprintf(dir, len, "%s", FANIN_INSTALL_PLUGIN_SUBDIR) < (int)len;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 0;
    exe[n] = '\0';
    return sibling(exe, "../" FANIN_INSTALL_PLUGIN_SUBDIR, dir, len);
}

/* The built-in folders, in the order searched: <exe dir>/../lib/fanin/plugins (build tree and
 * installed prefix alike), <libfanin dir>/fanin/plugins, and the build tree's folder; n set. */
static void builtin_dirs(char dirs[3][PATH_MAX], size_t *n) {
    Dl_info info;
    *n = 0;
    if (exe_plugin_dir(dirs[*n], PATH_MAX)) (*n)++;
    /* dladdr names the main program by argv[0], which may be relative to a cwd: skip those */
    if (dladdr(&load_lock, &info) && info.dli_fname && info.dli_fname[0] == '/' &&
        sibling(info.dli_fname, "fanin/plugins", dirs[*n], PATH_MAX))
        (*n)++;
    snprintf(dirs[(*n)++], PATH_MAX, "%s", FANIN_BUILD_PLUGIN_DIR);
}

/* The build tree's folder only when neither of the others exists, so an installed fanin never
 * sees the build tree's copies as duplicates. */
static int load_builtin(fanin_registry *r, char *err, size_t errlen) {
    char dirs[3][PATH_MAX];
    size_t n;
    int found = 0, rc = FANIN_OK;
    builtin_dirs(dirs, &n);
    for (size_t i = 0; !rc && i + 1 < n; i++)
        rc = load_builtin_dir(r, dirs[i], &found, err, errlen);
    if (!rc && !found) rc = load_path(r, dirs[n - 1], 0, err, errlen);
    return rc;
}

/* Whether `file` (a resolved path) lies in one of the built-in folders. */
static int is_builtin_file(const char *file) {
    char dirs[3][PATH_MAX], dir[PATH_MAX], real[PATH_MAX];
    size_t n;
    builtin_dirs(dirs, &n);
    folder_of(file, dir, sizeof dir);
    for (size_t i = 0; i < n; i++)
        if (realpath(dirs[i], real) && strcmp(real, dir) == 0) return 1;
    return 0;
}

/* "FANIN_PLUGIN_PATH=..." without the entries that reach `file` (it or its folder) into out
 * ("" when nothing is left); 0 when no entry reaches it. */
static int env_without(const char *file, char *out, size_t len) {
    const char *env = secure_getenv("FANIN_PLUGIN_PATH");
    char dir[PATH_MAX], real[PATH_MAX], *copy = env ? strdup(env) : NULL, *save = NULL;
    size_t used = 0;
    int removed = 0;
    if (!copy) return 0;
    folder_of(file, dir, sizeof dir);
    out[0] = '\0';
    for (char *part = strtok_r(copy, ":", &save); part; part = strtok_r(NULL, ":", &save)) {
        if (realpath(part, real) && (!strcmp(real, file) || !strcmp(real, dir))) {
            removed = 1;
            continue;
        }
        int k = snprintf(out + used, len - used, "%s%s", used ? ":" : "FANIN_PLUGIN_PATH=", part);
        if (k > 0 && (size_t)k < len - used) used += (size_t)k;
    }
    free(copy);
    return removed;
}

/* ---- the registry ---- */

int fanin__registry_new_empty(fanin_registry **out) {
    *out = calloc(1, sizeof **out);
    return *out ? FANIN_OK : FANIN_ENOMEM;
}

int fanin__registry_new(fanin_registry **out, const char *const *extra, size_t n_extra, char *err,
                        size_t errlen) {
    fanin_registry *r;
    *out = NULL;
    if (fanin__registry_new_empty(&r)) return oom(err, errlen);
    int rc = FANIN_OK;
    for (size_t i = 0; !rc && i < n_extra; i++) rc = load_path(r, extra[i], 1, err, errlen);
    if (!rc) rc = load_env(r, err, errlen);
    if (!rc) rc = load_builtin(r, err, errlen);
    if (rc) {
        fanin__registry_free(r);
        return rc;
    }
    *out = r;
    return FANIN_OK;
}

void fanin__registry_free(fanin_registry *r) {
    if (!r) return;
    free_strings(r->files, r->n_files);
    free_strings(r->searched, r->n_searched);
    free(r->entries);
    free(r->search);
    free(r);
}

size_t fanin__registry_count(const fanin_registry *r) { return r->n; }

const fanin__entry *fanin__registry_at(const fanin_registry *r, size_t i) {
    return i < r->n ? &r->entries[i] : NULL;
}

const fanin__entry *fanin__registry_find(const fanin_registry *r, int kind, const char *name) {
    return name ? find_entry(r, kind, name) : NULL;
}

const char *fanin__registry_suggest(const fanin_registry *r, int kind, const char *name) {
    const char **names = malloc((r->n ? r->n : 1) * sizeof *names);
    if (!names || !name) {
        free(names);
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->entries[i].plugin->kind == kind) names[n++] = r->entries[i].plugin->name;
    const char *best = fanin__nearest(name, names, n);
    free(names);
    return best;
}

const char *fanin__registry_search_path(const fanin_registry *r) {
    return r->search ? r->search : "";
}

/* ---- parameter defaults ---- */

static fanin_value default_value(const fanin_param_spec *s) {
    fanin_value v;
    memset(&v, 0, sizeof v);
    switch (s->type) {
    case FANIN_PARAM_F64: v.f = s->def; break;
    case FANIN_PARAM_I64: v.i = (int64_t)s->def; break;
    case FANIN_PARAM_BOOL: v.b = s->def != 0.0; break;
    case FANIN_PARAM_ENUM: v.e = (int32_t)s->def; break;
    default: v.s = s->def_str ? s->def_str : ""; break;
    }
    return v;
}

void fanin__params_defaults(const fanin__entry *e, fanin_value *out) {
    for (size_t i = 0; i < e->n_params; i++) out[i] = default_value(&e->plugin->params[i]);
}
