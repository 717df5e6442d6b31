/* `fanin new-plugin initializer|activation|optimizer NAME [--dir DIR]`: writes a plugin in the
 * house style, its cmocka test, a CMakeLists.txt using the installed package and a README,
 * from the templates in tools/templates/ (embedded at build time by
 * cmake/embed_templates.cmake). Never overwrites a file.
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

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wx"); /* x: never overwrite */
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static const char *usage_line(int kind) {
    return kind == FANIN_KIND_INITIALIZER ? "`model: {defaults: {init: {{NAME}}}}`"
         : kind == FANIN_KIND_ACTIVATION ? "`model: {defaults: {activation: {{NAME}}}}`"
         : "`optimizer: {name: {{NAME}}, lr: 0.01}`";
}

int cmd_new_plugin(int argc, char **argv) {
    const char *kind_s = NULL, *name = NULL, *dir = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return fputs(new_usage, stdout), FANIN_EXIT_OK;
        else if (argv[i][0] != '-' && !kind_s) kind_s = argv[i];
        else if (argv[i][0] != '-' && !name) name = argv[i];
        else return fputs(new_usage, stderr), FANIN_EXIT_USAGE;
    }
    int kind = 0;
    for (int k = FANIN_KIND_INITIALIZER; kind_s && k <= FANIN_KIND_OPTIMIZER; k++)
        if (!strcmp(kind_s, fanin__kind_name(k))) kind = k;
    if (!kind || !name) return fputs(new_usage, stderr), FANIN_EXIT_USAGE;
    if (!valid_name(name))
        return cli_fail(FANIN_EINVAL, "new-plugin: NAME must match [a-z][a-z0-9_]* (at most 48 "
                        "characters): it is what experiment files use");
    char dflt[FANIN_PATHLEN], tpl_src[64], tpl_test[64], abi[16], major[16], minor[16];
    snprintf(dflt, sizeof dflt, "./%s", name);
    dir = dir ? dir : dflt;
    if (strlen(dir) >= FANIN_PATHLEN) return cli_fail(FANIN_EINVAL, "new-plugin: --dir is too long");
    snprintf(tpl_src, sizeof tpl_src, "%s.c", kind_s);
    snprintf(tpl_test, sizeof tpl_test, "test_%s.c", kind_s);
    snprintf(abi, sizeof abi, "%d.%d", FANIN_ABI_MAJOR, FANIN_ABI_MINOR);
    snprintf(major, sizeof major, "%d", FANIN_VERSION_MAJOR);
    snprintf(minor, sizeof minor, "%d", FANIN_VERSION_MINOR);
    subst first[] = {{"USAGE", usage_line(kind)}};
    subst subs[] = {{"NAME", name}, {"KIND", kind_s}, {"FANIN_VERSION", fanin_version()},
                    {"FANIN_MAJOR", major}, {"FANIN_MINOR", minor}, {"ABI", abi}};
    out_file files[4] = {{tpl_src, ""}, {tpl_test, ""}, {"CMakeLists.txt", ""}, {"README.md", ""}};
    snprintf(files[0].path, sizeof files[0].path, "%s/%s.c", dir, name);
    snprintf(files[1].path, sizeof files[0].path, "%s/test_%s.c", dir, name);
    snprintf(files[2].path, sizeof files[0].path, "%s/CMakeLists.txt", dir);
    snprintf(files[3].path, sizeof files[0].path, "%s/README.md", dir);
    struct stat st;
    for (int i = 0; i < 4; i++) {
        if (!find_template(files[i].tpl))
            return cli_fail(FANIN_EIO, "new-plugin: this fanin was built without its templates");
        if (stat(files[i].path, &st) == 0) {
            fprintf(stderr, "fanin: new-plugin: %s already exists; choose another --dir or "
                    "NAME (nothing was written)\n", files[i].path);
            return FANIN_EXIT_USAGE;
        }
    }
    if (fanin__make_dirs(dir, NULL) != 0) {
        fprintf(stderr, "fanin: new-plugin: cannot create %s: %s\n", dir, strerror(errno));
        return FANIN_EXIT_RUNTIME;
    }
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
    printf("\nnext:\n"
           "  cmake -S %s -B %s/build -DCMAKE_PREFIX_PATH=<fanin's install prefix>\n"
           "  cmake --build %s/build && ctest --test-dir %s/build --output-on-failure\n"
           "  fanin check %s/build/%s.so\n"
           "  FANIN_PLUGIN_PATH=%s/build fanin help %s\n",
           dir, dir, dir, dir, dir, name, dir, name);
    return FANIN_EXIT_OK;
}
