/* `fanin new-plugin initializer|activation|optimizer NAME [--dir DIR]`: writes a plugin in the
 * house style, its cmocka test, a CMakeLists.txt using the installed package and a README,
 * from the templates in tools/templates/ (embedded at build time by
 * cmake/embed_templates.cmake). Never overwrites a file, and refuses a NAME a plugin of that
 * kind on the search path already has (every command would then fail on the duplicate).
 */
#include "cli.h"
#include "base/fs.h"
#include "plugin/registry.h"

#include <fanin/fanin.h>

#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char new_usage[] =
    "usage: fanin new-plugin initializer|activation|optimizer NAME [--dir DIR]\n"
    "  writes DIR/NAME.c, DIR/test_NAME.c, DIR/CMakeLists.txt and DIR/README.md\n"
    "  (DIR defaults to ./NAME); NAME is what experiment files use: [a-z][a-z0-9_]*\n";

static const cli_template *find_template(const char *name) {
    for (const cli_template *t = cli_templates; t->name; t++)
        if (!strcmp(t->name, name)) return t;
    return NULL;
}

typedef struct subst {
    const char *key, *value;
} subst;

/* text with every {{KEY}} replaced; caller frees. */
static char *expand(const char *text, const subst *subs, size_t n_subs) {
    size_t cap = strlen(text) * 2 + 4096, used = 0;
    char *out = malloc(cap);
    for (const char *p = text; out && *p;) {
        const char *value = NULL;
        size_t skip = 1;
        for (size_t i = 0; p[0] == '{' && p[1] == '{' && i < n_subs; i++) {
            size_t k = strlen(subs[i].key);
            if (!strncmp(p + 2, subs[i].key, k) && !strncmp(p + 2 + k, "}}", 2))
                value = subs[i].value, skip = k + 4;
        }
        size_t add = value ? strlen(value) : 1;
        if (used + add + 1 > cap) {
            char *grown = realloc(out, cap = (cap + add) * 2);
            if (!grown) free(out);
            out = grown;
            if (!out) break;
        }
        memcpy(out + used, value ? value : p, add);
        used += add;
        p += skip;
    }
    if (out) out[used] = '\0';
    return out;
}

static int valid_name(const char *s) {
    if (!(*s >= 'a' && *s <= 'z') || strlen(s) > 48) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
    return 1;
}

typedef struct out_file {
    const char *tpl;
    char path[FANIN_PATHLEN + 128];
} out_file;

typedef struct new_args {
    const char *kind_s, *name, *dir;
    int kind;
    char dflt[FANIN_PATHLEN];
} new_args;

/* The arguments into a; -1 when valid, else the exit code (usage printed). */
static int parse_args(int argc, char **argv, new_args *a) {
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc) a->dir = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return fputs(new_usage, stdout), FANIN_EXIT_OK;
        else if (argv[i][0] != '-' && !a->kind_s) a->kind_s = argv[i];
        else if (argv[i][0] != '-' && !a->name) a->name = argv[i];
        else return fputs(new_usage, stderr), FANIN_EXIT_USAGE;
    }
    for (int k = FANIN_KIND_INITIALIZER; a->kind_s && k <= FANIN_KIND_OPTIMIZER; k++)
        if (!strcmp(a->kind_s, fanin__kind_name(k))) a->kind = k;
    if (!a->kind || !a->name) return fputs(new_usage, stderr), FANIN_EXIT_USAGE;
    if (!valid_name(a->name))
        return cli_fail(FANIN_EINVAL, "new-plugin: NAME must match [a-z][a-z0-9_]* (at most 48 "
                                      "characters): it is what experiment files use");
    snprintf(a->dflt, sizeof a->dflt, "./%s", a->name);
    a->dir = a->dir ? a->dir : a->dflt;
    if (strlen(a->dir) >= FANIN_PATHLEN)
        return cli_fail(FANIN_EINVAL, "new-plugin: --dir is too long");
    return -1;
}

/* A free name near `name` for that kind (NAME2..NAME9, then my_NAME) into out; 0 if none. */
static int free_name(const fanin_registry *reg, int kind, const char *name, char *out, size_t len) {
    for (int k = 2; k <= 10; k++) {
        if (k < 10) snprintf(out, len, "%s%d", name, k);
        else snprintf(out, len, "my_%s", name);
        if (valid_name(out) && !fanin__registry_find(reg, kind, out)) return 1;
    }
    return 0;
}

/* -1 when no plugin of that kind on the search path is called a->name, else exit 2 with where
 * it is defined and a free name. A search path that does not load is only a warning here. */
static int refuse_taken(const new_args *a) {
    fanin_registry *reg;
    char err[FANIN_ERRLEN], other[64];
    if (fanin__registry_new(&reg, NULL, 0, err, sizeof err) != FANIN_OK) {
        fprintf(stderr, "fanin: new-plugin: warning: cannot tell whether '%s' is taken: %s\n",
                a->name, err);
        return -1;
    }
    const fanin__entry *e = fanin__registry_find(reg, a->kind, a->name);
    if (e) {
        fprintf(stderr,
                "fanin: new-plugin: there is already an %s '%s', defined in %s; a "
                "second one would make every command fail with \"duplicate %s '%s'\". Choose "
                "another NAME",
                a->kind_s, a->name, e->path, a->kind_s, a->name);
        if (free_name(reg, a->kind, a->name, other, sizeof other))
            fprintf(stderr, ", e.g. %s (free): fanin new-plugin %s %s", other, a->kind_s, other);
        fputs(" (nothing was written)\n", stderr);
    }
    fanin__registry_free(reg);
    return e ? FANIN_EXIT_USAGE : -1;
}

/* The four files' templates and paths; -1 when none exists yet, else the exit code. */
static int plan_files(const new_args *a, out_file files[4], char tpl_src[64], char tpl_test[64]) {
    struct stat st;
    snprintf(tpl_src, 64, "%s.c", a->kind_s);
    snprintf(tpl_test, 64, "test_%s.c", a->kind_s);
    files[0].tpl = tpl_src, files[1].tpl = tpl_test;
    files[2].tpl = "CMakeLists.txt", files[3].tpl = "README.md";
    snprintf(files[0].path, sizeof files[0].path, "%s/%s.c", a->dir, a->name);
    snprintf(files[1].path, sizeof files[1].path, "%s/test_%s.c", a->dir, a->name);
    snprintf(files[2].path, sizeof files[2].path, "%s/CMakeLists.txt", a->dir);
    snprintf(files[3].path, sizeof files[3].path, "%s/README.md", a->dir);
    for (int i = 0; i < 4; i++) {
        if (!find_template(files[i].tpl))
            return cli_fail(FANIN_EIO, "new-plugin: this fanin was built without its templates");
        if (stat(files[i].path, &st) == 0) {
            fprintf(stderr,
                    "fanin: new-plugin: %s already exists; choose another --dir or "
                    "NAME (nothing was written)\n",
                    files[i].path);
            return FANIN_EXIT_USAGE;
        }
    }
    return -1;
}

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wx"); /* x: never overwrite */
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static const char *usage_line(int kind) {
    return kind == FANIN_KIND_INITIALIZER  ? "`model: {defaults: {init: {{NAME}}}}`"
           : kind == FANIN_KIND_ACTIVATION ? "`model: {defaults: {activation: {{NAME}}}}`"
                                           : "`optimizer: {name: {{NAME}}, lr: 0.01}`";
}

/* Every file from its template, {{USAGE}} first (it holds {{NAME}}); 0 or the exit code. */
static int write_files(const new_args *a, const out_file files[4]) {
    char abi[16], major[16], minor[16];
    snprintf(abi, sizeof abi, "%d.%d", FANIN_ABI_MAJOR, FANIN_ABI_MINOR);
    snprintf(major, sizeof major, "%d", FANIN_VERSION_MAJOR);
    snprintf(minor, sizeof minor, "%d", FANIN_VERSION_MINOR);
    subst first[] = {{"USAGE", usage_line(a->kind)}};
    subst subs[] = {
        {"NAME", a->name},      {"KIND", a->kind_s},    {"FANIN_VERSION", fanin_version()},
        {"FANIN_MAJOR", major}, {"FANIN_MINOR", minor}, {"ABI", abi}};
    for (int i = 0; i < 4; i++) {
        char *step1 = expand(find_template(files[i].tpl)->text, first, 1);
        char *text = step1 ? expand(step1, subs, sizeof subs / sizeof subs[0]) : NULL;
        int rc = text ? write_file(files[i].path, text) : -1;
        free(step1);
        free(text);
        if (rc != 0) {
            fprintf(stderr, "fanin: new-plugin: cannot write %s: %s\n", files[i].path,
                    strerror(errno));
            return FANIN_EXIT_RUNTIME;
        }
        printf("wrote %s\n", files[i].path);
    }
    return FANIN_EXIT_OK;
}

int cmd_new_plugin(int argc, char **argv) {
    new_args a = {0};
    out_file files[4];
    char tpl_src[64], tpl_test[64];
    int rc = parse_args(argc, argv, &a);
    if (rc < 0) rc = refuse_taken(&a);
    if (rc < 0) rc = plan_files(&a, files, tpl_src, tpl_test);
    if (rc >= 0) return rc;
    if (fanin__make_dirs(a.dir, NULL) != 0) {
        fprintf(stderr, "fanin: new-plugin: cannot create %s: %s\n", a.dir, strerror(errno));
        return FANIN_EXIT_RUNTIME;
    }
    rc = write_files(&a, files);
    if (rc != FANIN_EXIT_OK) return rc;
    printf("\nnext:\n"
           "  cmake -S %s -B %s/build -DCMAKE_PREFIX_PATH=<fanin's install prefix>\n"
           "  cmake --build %s/build && ctest --test-dir %s/build --output-on-failure\n"
           "  fanin check %s/build/%s.so\n"
           "  FANIN_PLUGIN_PATH=%s/build fanin help %s\n",
           a.dir, a.dir, a.dir, a.dir, a.dir, a.name, a.dir, a.name);
    return FANIN_EXIT_OK;
}
