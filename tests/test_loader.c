/* Tests for core/loader.c and core/host.c: every broken fixture plugin is refused with a message
 * naming its file and the problem, unsafe files are refused, the good fixture loads and runs
 * through its vtables, and the host services (qr, sgemm, alloc failures, errors, logs) work.
 * ABI 1.2: tensors described with torch's fans, and a plugin built against the frozen 1.1
 * header (tests/fixtures/abi-1.1) still sees the 2-D view.
 * The real plugins are checked when the build has produced them. */
#include "base/errors.h"
#include "base/rng.h"
#include "plugin/host.h"
#include "plugin/registry.h"

#include <fanin/fanin.h>

#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* A tensor given by its 2-D view alone (the 1.0 fields; ndim 0: not described), as callers
 * that know no layer pass it (fanin init-stats). */
#define T2D(d, r, c, fi, fo, b) \
    ((fanin_tensor){            \
        .data = (d), .rows = (r), .cols = (c), .fan_in = (fi), .fan_out = (fo), .is_bias = (b)})

#define FIX(name) FANIN_TEST_FIXTURE_DIR "/" name
#define STR_(x) #x
#define STR(x) STR_(x)
#define MINOR STR(FANIN_ABI_MINOR) /* this host's ABI minor, as text for messages */

static char err[FANIN_ERRLEN];

/* ---- helpers ---- */

static int setup_registry(void **state) {
    fanin_registry *r;
    if (fanin__registry_new_empty(&r)) return -1;
    *state = r;
    err[0] = '\0';
    return 0;
}

static int teardown_registry(void **state) {
    fanin__registry_free(*state);
    return 0;
}

/* err contains s (with the message printed on failure) */
static void assert_err_has(const char *s) {
    if (!strstr(err, s)) fail_msg("expected \"%s\" in: %s", s, err);
}

static void copy_file(const char *from, const char *to, mode_t mode) {
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[1 << 14];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
    assert_int_equal(chmod(to, mode), 0);
}

/* A fresh 0700 folder under /tmp (sticky, so itself acceptable to the loader). */
static void make_temp_dir(char *dir, size_t len) {
    snprintf(dir, len, "/tmp/fanin_test_loader_XXXXXX");
    assert_non_null(mkdtemp(dir));
}

/* Remove dir and the files in it (no subfolders are made). */
static void remove_temp_dir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[1024];
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            unlink(path);
        }
    if (d) closedir(d);
    chmod(dir, 0700);
    rmdir(dir);
}

static int folder_has_plugins(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *de;
    int found = 0;
    while (d && !found && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        found = n > 3 && strcmp(de->d_name + n - 3, ".so") == 0;
    }
    if (d) closedir(d);
    return found;
}

/* ---- rejections ---- */

typedef struct rejection {
    const char *file;
    const char *phrase;
} rejection;

/* The file name and the key phrase of each fixture's message. */
static const rejection rejections[] = {
    {"no_entry.so", "no_entry.so is not a fanin plugin (no symbol fanin_plugin_entry)"},
    {"entry_null.so", "returned NULL): needs a host with GPU support"},
    {"bad_magic.so", "library descriptor is corrupt (bad magic 0xdeadbeef, expected 0x4e494e46)"},
    {"wrong_major.so", "built for fanin plugin ABI 2.x; this fanin provides ABI 1." MINOR " \u2014 "
                       "rebuild against fanin 1.x headers"},
    {"small_struct.so", "library descriptor is corrupt (struct_size 8 < 1.0 baseline"},
    {"future_minor.so", "needs fanin plugin ABI >= 1.7 (this fanin provides 1." MINOR "); "
                        "upgrade fanin"},
    {"wrong_real.so", "was built with a 8-byte real; this fanin uses 4-byte reals"},
    {"no_plugins.so", "lists no plugins (plugin_count 0"},
    {"bad_name.so", "has invalid name 'Bad-Name'; names must match [a-z][a-z0-9_]*"},
    {"unknown_kind.so", "plugin 'broken_act' has unknown kind 9"},
    {"no_version.so", "activation 'broken_act' has no version"},
    {"must_understand.so", "sets must-understand flags 0x00010000 this fanin does not know"},
    {"small_vtable.so", "activation 'broken_act': vtable is corrupt (struct_size 8 < 1.0 baseline"},
    {"null_fn.so", "activation 'broken_act': vtable function 'backward' is NULL but required"},
    {"bad_schema.so", "parameter 'leak' (schema row 0): min 2 > max 1; fix the schema"},
    {"bad_default.so", "parameter 'leak' (schema row 0): default 5 is outside [min 0, max 1]"},
    {"bad_enum.so", "parameter 'mode' (schema row 0): ENUM default index 3 is not in [0, 2)"},
};

static void test_fixtures_rejected(void **state) {
    for (size_t i = 0; i < sizeof rejections / sizeof rejections[0]; i++) {
        fanin_registry *r;
        char path[1024];
        assert_int_equal(fanin__registry_new_empty(&r), FANIN_OK);
        snprintf(path, sizeof path, "%s/%s", FANIN_TEST_FIXTURE_DIR, rejections[i].file);
        err[0] = '\0';
        assert_int_equal(fanin__registry_load(r, path, err, sizeof err), FANIN_EPLUGIN);
        assert_err_has(rejections[i].file);
        assert_err_has(rejections[i].phrase);
        assert_int_equal(fanin__registry_count(r), 0);
        fanin__registry_free(r);
    }
}

static void test_duplicate_names_both_files(void **state) {
    fanin_registry *r = *state;
    assert_int_equal(fanin__registry_load(r, FIX("dup_a.so"), err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__registry_load(r, FIX("dup_b.so"), err, sizeof err), FANIN_EPLUGIN);
    assert_err_has("duplicate initializer 'dupe': defined in ");
    assert_err_has("/dup_a.so and in ");
    assert_err_has("/dup_b.so; rename it in the source of ");
    assert_err_has("/dup_b.so (dup_b.c if `fanin new-plugin` wrote it: the 'dupe' in its "
                   "FANIN_INITIALIZER line) and rebuild, or delete one of the two files");
    assert_int_equal(fanin__registry_count(r), 1);
}

/* Found through FANIN_PLUGIN_PATH: the message gives the value without the second file's
 * folder, and the first file loads alone with it. */
static void test_duplicate_names_plugin_path(void **state) {
    char a[64], b[64], path[128], env[256], want[256];
    make_temp_dir(a, sizeof a);
    make_temp_dir(b, sizeof b);
    snprintf(path, sizeof path, "%s/mine.so", a);
    copy_file(FIX("dup_a.so"), path, 0755);
    snprintf(path, sizeof path, "%s/theirs.so", b);
    copy_file(FIX("dup_b.so"), path, 0755);
    snprintf(env, sizeof env, "%s:%s", a, b);
    setenv("FANIN_PLUGIN_PATH", env, 1);
    fanin_registry *r = NULL;
    assert_int_equal(fanin__registry_new(&r, NULL, 0, err, sizeof err), FANIN_EPLUGIN);
    assert_err_has("the 'dupe' in its FANIN_INITIALIZER line) and rebuild");
    snprintf(want, sizeof want, "or take it off the plugin path: FANIN_PLUGIN_PATH=%s", a);
    assert_err_has(want);
    assert_err_has("/theirs.so (theirs.c if `fanin new-plugin` wrote it");
    setenv("FANIN_PLUGIN_PATH", a, 1);
    int rc = fanin__registry_new(&r, NULL, 0, err, sizeof err);
    unsetenv("FANIN_PLUGIN_PATH");
    if (rc) fail_msg("with the suggested path: %s", err);
    fanin__registry_free(r);
    remove_temp_dir(a);
    remove_temp_dir(b);
}

static void test_missing_file(void **state) {
    assert_int_equal(fanin__registry_load(*state, FIX("nope.so"), err, sizeof err), FANIN_EPLUGIN);
    assert_err_has("cannot load plugin");
    assert_err_has("nope.so: No such file or directory");
}

/* ---- unsafe files ---- */

static void test_world_writable_file_refused(void **state) {
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/good.so", dir);
    copy_file(FIX("good.so"), path, 0777);
    assert_int_equal(fanin__registry_load(*state, path, err, sizeof err), FANIN_EPLUGIN);
    assert_err_has("refusing plugin file ");
    assert_err_has("/good.so: it is writable by others (mode 777)");
    assert_err_has("chmod go-w ");
    chmod(path, 0755); /* the fix works */
    assert_int_equal(fanin__registry_load(*state, path, err, sizeof err), FANIN_OK);
    remove_temp_dir(dir);
}

static void test_writable_folder_refused(void **state) {
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/good.so", dir);
    copy_file(FIX("good.so"), path, 0755);
    chmod(dir, 0777);
    assert_int_equal(fanin__registry_load(*state, path, err, sizeof err), FANIN_EPLUGIN);
    assert_err_has("refusing plugin folder ");
    assert_err_has(dir);
    fanin_registry *r = NULL;
    const char *extra[] = {dir};
    assert_int_equal(fanin__registry_new(&r, extra, 1, err, sizeof err), FANIN_EPLUGIN);
    assert_null(r);
    assert_err_has("refusing plugin folder ");
    remove_temp_dir(dir);
}

static void test_non_regular_file_refused(void **state) {
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/fifo.so", dir);
    assert_int_equal(mkfifo(path, 0700), 0);
    assert_int_equal(fanin__registry_load(*state, path, err, sizeof err), FANIN_EPLUGIN);
    assert_err_has("/fifo.so: not a regular file");
    remove_temp_dir(dir);
}

/* The same file through a symlink loads once. */
static void test_same_file_loads_once(void **state) {
    fanin_registry *r = *state;
    char dir[64], link[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(link, sizeof link, "%s/alias.so", dir);
    assert_int_equal(symlink(FIX("good.so"), link), 0);
    assert_int_equal(fanin__registry_load(r, FIX("good.so"), err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__registry_load(r, link, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__registry_count(r), 3);
    remove_temp_dir(dir);
}

/* ---- the good fixture through its vtables ---- */

static const fanin__entry *load_good(fanin_registry *r, int kind, const char *name) {
    if (fanin__registry_count(r) == 0)
        assert_int_equal(fanin__registry_load(r, FIX("good.so"), err, sizeof err), FANIN_OK);
    const fanin__entry *e = fanin__registry_find(r, kind, name);
    assert_non_null(e);
    return e;
}

static void test_good_registers(void **state) {
    fanin_registry *r = *state;
    const fanin__entry *e = load_good(r, FANIN_KIND_INITIALIZER, "fixture_init");
    assert_int_equal(fanin__registry_count(r), 3);
    assert_int_equal(e->n_params, 3);
    assert_non_null(strstr(e->path, "/good.so"));
    assert_null(fanin__registry_find(r, FANIN_KIND_ACTIVATION, "fixture_init"));
    assert_string_equal(fanin__registry_suggest(r, FANIN_KIND_ACTIVATION, "fixture_ac"),
                        "fixture_act");
    assert_null(fanin__registry_suggest(r, FANIN_KIND_ACTIVATION, "sigmoid"));
    assert_ptr_equal(fanin__registry_at(r, 1)->plugin,
                     fanin__registry_find(r, FANIN_KIND_ACTIVATION, "fixture_act")->plugin);
    assert_null(fanin__registry_at(r, 3));
    assert_string_equal(fanin__kind_name(FANIN_KIND_OPTIMIZER), "optimizer");
}

static int call_fill(const fanin__entry *e, fanin_ctx *ctx, float *w, int rows, int cols, int mode,
                     int fail) {
    const fanin_initializer_vt *vt = e->plugin->vtable;
    fanin_tensor t = T2D(w, rows, cols, cols, rows, 0);
    fanin_value p[3] = {{.f = 0.25}, {.e = mode}, {.b = fail}};
    fanin_rng rng;
    fanin__rng_init(&rng, 1, 0, FANIN_STREAM_WEIGHT);
    return vt->fill(ctx, &t, p, &rng);
}

static void test_good_initializer_calls(void **state) {
    const fanin__entry *e = load_good(*state, FANIN_KIND_INITIALIZER, "fixture_init");
    fanin_ctx ctx;
    float w[6];
    fanin__ctx_init(&ctx, e, 3.0);
    assert_int_equal(call_fill(e, &ctx, w, 3, 2, 0, 0), FANIN_OK);
    for (int i = 0; i < 6; i++) assert_float_equal(w[i], 0.25f, 0.0f);
    assert_int_equal(call_fill(e, &ctx, w, 3, 2, 1, 0), FANIN_OK); /* value * ctx gain */
    for (int i = 0; i < 6; i++) assert_float_equal(w[i], 0.75f, 0.0f);
    assert_int_equal(call_fill(e, &ctx, w, 0, 2, 0, 0), FANIN_OK); /* empty: no-op */
    assert_int_equal(ctx.has_error, 0);
}

/* A plugin's error comes back as "KIND plugin 'NAME' (PATH): WHAT failed: its message". */
static void test_good_initializer_error(void **state) {
    const fanin__entry *e = load_good(*state, FANIN_KIND_INITIALIZER, "fixture_init");
    fanin_ctx ctx;
    float w[6];
    fanin__ctx_init(&ctx, e, 1.0);
    int rc = call_fill(e, &ctx, w, 3, 2, 0, 1);
    assert_int_equal(rc, FANIN_EINVAL);
    assert_int_equal(ctx.error_code, FANIN_EINVAL);
    assert_int_equal(fanin__ctx_fail(&ctx, rc, "fill", err, sizeof err), FANIN_EINVAL);
    assert_err_has("initializer plugin 'fixture_init' (");
    assert_err_has("/good.so): fill failed: asked to fail (fail=true)");
    fanin__ctx_init(&ctx, e, 1.0); /* no message, unknown code */
    assert_int_equal(fanin__ctx_fail(&ctx, -77, "fill", err, sizeof err), FANIN_EPLUGIN);
    assert_err_has("fill failed: returned unknown status -77");
    assert_int_equal(fanin__ctx_fail(&ctx, FANIN_ENOMEM, "fill", err, sizeof err), FANIN_ENOMEM);
    assert_err_has("returned FANIN_ENOMEM (out of memory) without a message");
}

static void test_good_activation_calls(void **state) {
    const fanin__entry *e = load_good(*state, FANIN_KIND_ACTIVATION, "fixture_act");
    const fanin_activation_vt *vt = e->plugin->vtable;
    fanin_value p[1] = {{.f = 2.0}};
    fanin_ctx ctx;
    float x[3] = {1, -2, 3}, y[3], dy[3] = {1, 1, 1}, dx[3];
    double g = 0;
    fanin__ctx_init(&ctx, e, 1.0);
    assert_int_equal(vt->forward(&ctx, x, y, 3, p), FANIN_OK);
    assert_int_equal(vt->backward(&ctx, x, y, dy, dx, 3, p), FANIN_OK);
    assert_int_equal(vt->gain(p, &g), FANIN_OK);
    assert_float_equal(y[1], -4.0f, 0.0f);
    assert_float_equal(dx[2], 2.0f, 0.0f);
    assert_float_equal(g, 2.0, 0.0);
}

static void test_good_optimizer_calls(void **state) {
    const fanin__entry *e = load_good(*state, FANIN_KIND_OPTIMIZER, "fixture_opt");
    const fanin_optimizer_vt *vt = e->plugin->vtable;
    const fanin_host *h = fanin__host();
    fanin_value p[1] = {{.f = 0.5}};
    fanin_ctx ctx;
    float w[2] = {1, 1}, g[2] = {1, -1};
    fanin__ctx_init(&ctx, e, 1.0);
    size_t bytes = vt->state_size(2, p);
    void *s = h->alloc(&ctx, bytes);
    assert_non_null(s);
    assert_int_equal(vt->init_state(&ctx, s, 2, p), FANIN_OK);
    assert_int_equal(vt->step(&ctx, s, w, g, 2, 0.1, 1, p), FANIN_OK);
    assert_int_equal(vt->step(&ctx, s, w, g, 2, 0.1, 2, p), FANIN_OK);
    assert_float_equal(w[0], 1.0f - 0.1f - 0.15f, 1e-6f); /* v = 1, then 0.5 * 1 + 1 */
    h->free(&ctx, s);
}

/* ---- search path ---- */

/* A folder loads its *.so in name order, so the first broken fixture is the first reported. */
static void test_folder_sorted_first_error(void **state) {
    fanin_registry *r = NULL;
    const char *extra[] = {FANIN_TEST_FIXTURE_DIR};
    assert_int_equal(fanin__registry_new(&r, extra, 1, err, sizeof err), FANIN_EPLUGIN);
    assert_null(r);
    assert_err_has("/bad_default.so");
}

static void test_explicit_missing_path(void **state) {
    fanin_registry *r = NULL;
    const char *extra[] = {"/nonexistent/fanin/plugins"};
    assert_int_equal(fanin__registry_new(&r, extra, 1, err, sizeof err), FANIN_EPLUGIN);
    assert_err_has("cannot use plugin path /nonexistent/fanin/plugins");
}

/* $FANIN_PLUGIN_PATH: missing and empty parts are skipped, files and folders are loaded,
 * and the folders appear in the search path. */
static void test_env_plugin_path(void **state) {
    char dir[64], path[128], env[256];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/copy.so", dir);
    copy_file(FIX("good.so"), path, 0755);
    snprintf(env, sizeof env, "::/nonexistent/x:%s", dir);
    setenv("FANIN_PLUGIN_PATH", env, 1);
    fanin_registry *r = NULL;
    int rc = fanin__registry_new(&r, NULL, 0, err, sizeof err);
    unsetenv("FANIN_PLUGIN_PATH");
    if (rc) fail_msg("registry_new: %s", err);
    const fanin__entry *e = fanin__registry_find(r, FANIN_KIND_OPTIMIZER, "fixture_opt");
    assert_non_null(e);
    assert_non_null(strstr(e->path, "/copy.so"));
    assert_non_null(strstr(fanin__registry_search_path(r), dir));
    assert_null(strstr(fanin__registry_search_path(r), "nonexistent"));
    fanin__registry_free(r);
    remove_temp_dir(dir);
}

/* The real plugins, found next to the executable (build/lib/fanin/plugins). */
static void test_builtin_plugins(void **state) {
    if (!folder_has_plugins(FANIN_TEST_PLUGIN_DIR)) {
        print_message("note: no plugins built in %s yet; skipping\n", FANIN_TEST_PLUGIN_DIR);
        skip();
    }
    fanin_registry *r = NULL;
    const char *extra[] = {FIX("good.so")};
    if (fanin__registry_new(&r, extra, 1, err, sizeof err)) fail_msg("registry_new: %s", err);
    assert_non_null(fanin__registry_find(r, FANIN_KIND_INITIALIZER, "fixture_init"));
    assert_non_null(strstr(fanin__registry_search_path(r), "fanin/plugins"));
    const fanin__entry *relu = fanin__registry_find(r, FANIN_KIND_ACTIVATION, "relu");
    const fanin__entry *he = fanin__registry_find(r, FANIN_KIND_INITIALIZER, "he_normal");
    if (!relu || !he) fail_msg("relu or he_normal not found in %s", fanin__registry_search_path(r));
    assert_string_equal(fanin__registry_suggest(r, FANIN_KIND_INITIALIZER, "he_normall"),
                        "he_normal");
    fanin__registry_free(r);
}

/* ---- host services ---- */

/* QR of a 7x4 Gaussian a: Q^T Q = I and R = Q^T a upper triangular with diag(R) >= 0. */
static void test_host_qr(void **state) {
    enum { M = 7, N = 4 };
    const fanin_host *h = fanin__host();
    float a[M * N], q[M * N];
    fanin_rng rng;
    fanin_ctx ctx;
    fanin__rng_init(&rng, 42, 0, 0);
    fanin__rng_fill_normal(&rng, a, M * N, 0.0, 1.0);
    memcpy(q, a, sizeof a);
    fanin__ctx_init(&ctx, NULL, 1.0);
    assert_int_equal(h->qr(&ctx, q, M, N), FANIN_OK);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double qtq = 0, qta = 0;
            for (int k = 0; k < M; k++) {
                qtq += (double)q[k * N + i] * q[k * N + j];
                qta += (double)q[k * N + i] * a[k * N + j];
            }
            assert_true(fabs(qtq - (i == j)) < 1e-5);
            if (i > j) assert_true(fabs(qta) < 1e-5);
            if (i == j) assert_true(qta > 0);
        }
}

static void test_host_qr_errors(void **state) {
    const fanin_host *h = fanin__host();
    float a[12] = {0};
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, NULL, 1.0);
    assert_int_equal(h->qr(&ctx, a, 3, 4), FANIN_EINVAL);
    assert_int_equal(ctx.has_error, 1);
    assert_non_null(strstr(ctx.msg, "needs rows >= cols, got 3 x 4"));
    fanin__ctx_init(&ctx, NULL, 1.0);
    assert_int_equal(h->qr(&ctx, a, 4, 0), FANIN_OK);
    long live = fanin__host_live_allocs();
    fanin__host_fail_alloc_after(1);
    assert_int_equal(h->qr(&ctx, a, 4, 3), FANIN_ENOMEM);
    assert_non_null(strstr(ctx.msg, "out of memory"));
    assert_int_equal(fanin__host_live_allocs(), live);
}

/* C = A B and C = A^T B^T, row-major. */
static void test_host_sgemm(void **state) {
    const fanin_host *h = fanin__host();
    const float a[6] = {1, 2, 3, 4, 5, 6}; /* 2x3 */
    const float b[6] = {1, 0, 0, 1, 1, 1}; /* 3x2 */
    float c[4] = {0};
    h->sgemm(0, 0, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2);
    const float ab[4] = {4, 5, 10, 11};
    for (int i = 0; i < 4; i++) assert_float_equal(c[i], ab[i], 1e-6f);
    h->sgemm(1, 1, 3, 3, 2, 1.0f, a, 3, b, 2, 0.0f, (float[9]){0}, 3); /* shapes accepted */
    h->sgemm(0, 0, 2, 2, 3, 1.0f, a, 1, b, 2, 0.0f, c, 2);             /* lda too small */
    assert_true(isnan(c[0]));
}

static void test_host_alloc_failure_injection(void **state) {
    const fanin_host *h = fanin__host();
    long live = fanin__host_live_allocs();
    fanin__host_fail_alloc_after(2);
    void *a = h->alloc(NULL, 16), *b = h->alloc(NULL, 16), *c = h->alloc(NULL, 0);
    assert_non_null(a);
    assert_null(b);
    assert_non_null(c); /* one failure only; size 0 is not a failure */
    assert_int_equal(fanin__host_live_allocs(), live + 2);
    h->free(NULL, a);
    h->free(NULL, c);
    h->free(NULL, NULL);
    assert_int_equal(fanin__host_live_allocs(), live);
}

/* An allocation failure inside a plugin call surfaces as its error. */
static void test_alloc_failure_in_plugin(void **state) {
    const fanin__entry *e = load_good(*state, FANIN_KIND_INITIALIZER, "fixture_init");
    fanin_ctx ctx;
    float w[6];
    fanin__ctx_init(&ctx, e, 1.0);
    fanin__host_fail_alloc_after(1);
    assert_int_equal(call_fill(e, &ctx, w, 3, 2, 0, 0), FANIN_ENOMEM);
    assert_non_null(strstr(ctx.msg, "no memory for 6 floats"));
    fanin__ctx_init(&ctx, e, 1.0);
    assert_int_equal(call_fill(e, &ctx, w, 3, 2, 3, 0), FANIN_OK); /* qr mode, through rng */
    fanin__host_fail_alloc_after(0);
}

static int log_level;
static char log_plugin[64], log_msg[256];

static void capture_log(int level, const char *plugin, const char *msg) {
    log_level = level;
    snprintf(log_plugin, sizeof log_plugin, "%s", plugin);
    snprintf(log_msg, sizeof log_msg, "%s", msg);
}

static void test_host_log_and_errors(void **state) {
    const fanin__entry *e = load_good(*state, FANIN_KIND_ACTIVATION, "fixture_act");
    const fanin_host *h = fanin__host();
    fanin_ctx ctx;
    double g = 0;
    fanin__ctx_init(&ctx, e, 2.5);
    fanin__host_set_log(capture_log);
    h->log(&ctx, FANIN_LOG_WARN, "value %d", 7);
    fanin__host_set_log(NULL);
    assert_int_equal(log_level, FANIN_LOG_WARN);
    assert_string_equal(log_plugin, "fixture_act");
    assert_string_equal(log_msg, "value 7");
    assert_int_equal(h->activation_gain(&ctx, &g), FANIN_OK);
    assert_float_equal(g, 2.5, 0.0);
    assert_int_equal(h->activation_gain(NULL, &g), FANIN_OK);
    assert_float_equal(g, 1.0, 0.0);
    fanin__host_begin_entry("/x/y.so");
    assert_null(fanin__host_entry_message());
    assert_int_equal(h->error(NULL, FANIN_ENOTSUP, "no %s", "way"), FANIN_ENOTSUP);
    assert_string_equal(fanin__host_entry_message(), "no way");
    fanin__host_begin_entry(NULL);
    assert_null(fanin__host_entry_message());
}

static void test_host_table(void **state) {
    const fanin_host *h = fanin__host();
    assert_int_equal(h->hdr.magic, FANIN_MAGIC);
    assert_int_equal(h->hdr.abi_major, FANIN_ABI_MAJOR);
    assert_int_equal(h->hdr.struct_size, sizeof(fanin_host));
    assert_int_equal(h->sizeof_real, 4);
    assert_true(h->threads >= 1);
    assert_string_equal(h->fanin_version, FANIN_VERSION_STRING);
    assert_true(FANIN_HAS_FIELD(fanin_host, tensor_size, h->hdr.struct_size)); /* 1.2 */
    assert_int_equal(h->tensor_size, sizeof(fanin_tensor));
    assert_true(FANIN_TENSOR_HAS(h, ndim) && FANIN_TENSOR_HAS(h, branch_len));
}

/* ---- ABI 1.2: described tensors ---- */

/* The 1.0 fields never move (ABI rule 1): a 1.0 or 1.1 plugin reads them where it always did. */
static void test_tensor_layout_frozen(void **state) {
    assert_int_equal(offsetof(fanin_tensor, data), 0);
    assert_int_equal(offsetof(fanin_tensor, rows), 8);
    assert_int_equal(offsetof(fanin_tensor, cols), 16);
    assert_int_equal(offsetof(fanin_tensor, fan_in), 24);
    assert_int_equal(offsetof(fanin_tensor, fan_out), 32);
    assert_int_equal(offsetof(fanin_tensor, is_bias), 40);
    assert_true(offsetof(fanin_tensor, ndim) >= 44);
}

/* Views and fans as torch.nn.init._calculate_fan_in_and_fan_out gives them (torch 1.13):
 * [8, 3, 3, 3] -> (27, 72), [10, 5] -> (5, 10), [4, 2, 5] -> (10, 20); a bias takes its
 * weight's, a norm vector its length. */
static void test_tensor_init_fans(void **state) {
    fanin_tensor w, b, g, d, c1;
    fanin__tensor_init(&w, NULL, FANIN_ROLE_CONV_WEIGHT, 4, (int64_t[]){8, 3, 3, 3}, NULL);
    assert_int_equal(w.rows, 8);
    assert_int_equal(w.cols, 27);
    assert_int_equal(w.fan_in, 27);
    assert_int_equal(w.fan_out, 72);
    assert_int_equal(w.is_bias, 0);
    assert_int_equal(w.ndim, 4);
    assert_int_equal(w.block, -1);
    assert_int_equal(w.pos, -1);
    assert_int_equal(w.flags, 0);
    fanin__tensor_init(&b, NULL, FANIN_ROLE_BIAS, 1, (int64_t[]){8}, &w);
    assert_true(b.rows == 8 && b.cols == 1 && b.fan_in == 27 && b.fan_out == 72 && b.is_bias);
    assert_true(b.shape[0] == 8 && b.shape[1] == 1 && b.ndim == 1);
    fanin__tensor_init(&g, NULL, FANIN_ROLE_NORM_SCALE, 1, (int64_t[]){16}, NULL);
    assert_true(g.rows == 16 && g.cols == 1 && g.fan_in == 16 && g.fan_out == 16 && !g.is_bias);
    fanin__tensor_init(&g, NULL, FANIN_ROLE_NORM_SHIFT, 1, (int64_t[]){16}, NULL);
    assert_true(g.is_bias);
    fanin__tensor_init(&d, NULL, FANIN_ROLE_DENSE_WEIGHT, 2, (int64_t[]){10, 5}, NULL);
    assert_true(d.rows == 10 && d.cols == 5 && d.fan_in == 5 && d.fan_out == 10);
    fanin__tensor_init(&c1, NULL, FANIN_ROLE_CONV_WEIGHT, 3, (int64_t[]){4, 2, 5}, NULL);
    assert_true(c1.rows == 4 && c1.cols == 10 && c1.fan_in == 10 && c1.fan_out == 20);
}

/* Fill a described conv weight [8, 3, 3, 3] of block 2 of 5 (position 1 of 3) with the view
 * fixture `name` from `file`; out: what it wrote down (view.c). */
static void view_fill(const char *file, const char *name, float *w) {
    fanin_registry *r;
    assert_int_equal(fanin__registry_new_empty(&r), FANIN_OK);
    if (fanin__registry_load(r, file, err, sizeof err) != FANIN_OK) fail_msg("%s", err);
    const fanin__entry *e = fanin__registry_find(r, FANIN_KIND_INITIALIZER, name);
    assert_non_null(e);
    fanin_tensor t;
    fanin__tensor_init(&t, w, FANIN_ROLE_CONV_WEIGHT, 4, (int64_t[]){8, 3, 3, 3}, NULL);
    t.block = 2, t.n_blocks = 5, t.pos = 1, t.branch_len = 3;
    fanin_rng rng;
    fanin__rng_init(&rng, 1, 0, 0);
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, e, 1.0);
    const fanin_initializer_vt *vt = e->plugin->vtable;
    assert_int_equal(vt->fill(&ctx, &t, NULL, &rng), FANIN_OK);
    fanin__registry_free(r);
}

/* view.c built against the frozen 1.1 header (tests/fixtures/abi-1.1) loads in this host and
 * sees a conv weight as the 2-D [out, in*kh*kw] = [8, 27] tensor with torch's fans, and
 * nothing of the description; built against today's header it reads the description. */
static void test_abi_1_1_plugin_sees_2d_view(void **state) {
    float w[216];
    const float view[5] = {8, 27, 27, 72, 0};
    view_fill(FIX("view_abi11.so"), "fixture_view11", w);
    for (int i = 0; i < 5; i++) assert_float_equal(w[i], view[i], 0.0f);
    assert_float_equal(w[5], -1.0f, 0.0f); /* no 1.2 field read */
    for (int i = 6; i < 216; i++) assert_float_equal(w[i], 0.0f, 0.0f);

    const float full[17] = {8, 27, 27, 72, 0, 1, 4, 8, 3, 3, 3, FANIN_ROLE_CONV_WEIGHT,
                            0, 2,  5,  1,  3};
    view_fill(FIX("view.so"), "fixture_view", w);
    for (int i = 0; i < 17; i++)
        if (w[i] != full[i]) fail_msg("data[%d] = %g, want %g", i, w[i], full[i]);
}

/* The 1.1 build's descriptors say 1.1; this host is newer and accepts it. */
static void test_abi_1_1_plugin_descriptor(void **state) {
    fanin_registry *r;
    assert_int_equal(fanin__registry_new_empty(&r), FANIN_OK);
    if (fanin__registry_load(r, FIX("view_abi11.so"), err, sizeof err) != FANIN_OK)
        fail_msg("%s", err);
    const fanin__entry *e = fanin__registry_find(r, FANIN_KIND_INITIALIZER, "fixture_view11");
    assert_non_null(e);
    assert_int_equal(e->plugin->hdr.abi_minor, 1);
    assert_true(FANIN_ABI_MINOR >= 2);
    fanin__registry_free(r);
}

#define WITH_REGISTRY(f) cmocka_unit_test_setup_teardown(f, setup_registry, teardown_registry)

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_rejected),
        WITH_REGISTRY(test_duplicate_names_both_files),
        cmocka_unit_test(test_duplicate_names_plugin_path),
        WITH_REGISTRY(test_missing_file),
        WITH_REGISTRY(test_world_writable_file_refused),
        WITH_REGISTRY(test_writable_folder_refused),
        WITH_REGISTRY(test_non_regular_file_refused),
        WITH_REGISTRY(test_same_file_loads_once),
        WITH_REGISTRY(test_good_registers),
        WITH_REGISTRY(test_good_initializer_calls),
        WITH_REGISTRY(test_good_initializer_error),
        WITH_REGISTRY(test_good_activation_calls),
        WITH_REGISTRY(test_good_optimizer_calls),
        cmocka_unit_test(test_folder_sorted_first_error),
        cmocka_unit_test(test_explicit_missing_path),
        cmocka_unit_test(test_env_plugin_path),
        cmocka_unit_test(test_builtin_plugins),
        cmocka_unit_test(test_host_qr),
        cmocka_unit_test(test_host_qr_errors),
        cmocka_unit_test(test_host_sgemm),
        cmocka_unit_test(test_host_alloc_failure_injection),
        WITH_REGISTRY(test_alloc_failure_in_plugin),
        WITH_REGISTRY(test_host_log_and_errors),
        cmocka_unit_test(test_host_table),
        cmocka_unit_test(test_tensor_layout_frozen),
        cmocka_unit_test(test_tensor_init_fans),
        cmocka_unit_test(test_abi_1_1_plugin_sees_2d_view),
        cmocka_unit_test(test_abi_1_1_plugin_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
