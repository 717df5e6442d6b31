/* `fanin init-stats` through the built binary (FANIN_TEST_BIN): the printed statistics and
 * theory, the .npy dump (header parsed here, data compared with a direct draw from the same
 * plugin and stream), the numpy stream against numpy's own draws, and the usage errors.
 * Also core/npy.c directly.
 */
#include "base/errors.h"
#include "base/rng.h"
#include "config/pref.h"
#include "io/npy.h"
#include "plugin/host.h"
#include "plugin/registry.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* A tensor given by its 2-D view alone (the 1.0 fields; ndim 0: not described), as callers
 * that know no layer pass it (fanin init-stats). */
#define T2D(d, r, c, fi, fo, b) \
    ((fanin_tensor){            \
        .data = (d), .rows = (r), .cols = (c), .fan_in = (fi), .fan_out = (fo), .is_bias = (b)})

#include "ref/numpy_rng_ref.h"

static fanin_registry *reg;
static char err[FANIN_ERRLEN];
static char dir[] = "/tmp/fanin_test_init_stats_XXXXXX";
static char out[1 << 16]; /* the last command's stdout and stderr */

static int setup(void **state) {
    const char *extra[] = {FANIN_TEST_PLUGIN_DIR};
    if (!mkdtemp(dir)) return -1;
    int rc = fanin__registry_new(&reg, extra, 1, err, sizeof err);
    if (rc != FANIN_OK) fprintf(stderr, "registry: %s\n", err);
    return rc;
}

static int teardown(void **state) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    fanin__registry_free(reg);
    return system(cmd) == 0 ? 0 : -1;
}

/* Run `fanin init-stats ARGS`, output into `out`; returns the exit code. */
static int run(const char *args) {
    char cmd[2048], log[512];
    snprintf(log, sizeof log, "%s/log", dir);
    snprintf(cmd, sizeof cmd, "FANIN_PLUGIN_PATH= '%s' init-stats %s >'%s' 2>&1", FANIN_TEST_BIN,
             args, log);
    int status = system(cmd);
    FILE *f = fopen(log, "r");
    size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[n] = '\0';
    if (f) fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void expect_out(const char *s) {
    if (!strstr(out, s)) fail_msg("expected \"%s\" in:\n%s", s, out);
}

/* The two numbers on the output line starting with `label` (theory NaN for "n/a"). */
static void stat_line(const char *label, double *sampled, double *theory) {
    char key[16];
    snprintf(key, sizeof key, "\n%s ", label);
    const char *p = strstr(out, key);
    if (!p) fail_msg("no '%s' line in:\n%s", label, out);
    char t[32];
    if (sscanf(p + strlen(key), "%lf %31s", sampled, t) != 2) fail_msg("bad '%s' line", label);
    *theory = strcmp(t, "n/a") ? strtod(t, NULL) : NAN;
}

/* A .npy file read back by the format's rules: magic, v1.0, header dict, 64-byte alignment. */
typedef struct npy {
    char header[512];
    float *data;
    size_t n;
} npy;

static void read_npy(const char *path, npy *a) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    unsigned char pre[10];
    assert_int_equal(fread(pre, 1, 10, f), 10);
    assert_memory_equal(pre, "\x93NUMPY", 6);
    assert_int_equal(pre[6], 1); /* version 1.0 */
    assert_int_equal(pre[7], 0);
    size_t hlen = pre[8] | (size_t)pre[9] << 8;
    assert_true(hlen < sizeof a->header);
    assert_int_equal((10 + hlen) % 64, 0);
    assert_int_equal(fread(a->header, 1, hlen, f), hlen);
    a->header[hlen] = '\0';
    assert_int_equal(a->header[hlen - 1], '\n');
    long start = ftell(f);
    fseek(f, 0, SEEK_END);
    a->n = (size_t)(ftell(f) - start) / sizeof(float);
    fseek(f, start, SEEK_SET);
    a->data = malloc(a->n * sizeof(float) + 1);
    assert_int_equal(fread(a->data, sizeof(float), a->n, f), a->n);
    fclose(f);
}

/* ---- statistics and dump ---- */

/* he_normal 256x128, relu gain: theory std sqrt(2/128) = 0.125, and the dump holds exactly
 * what the plugin draws from stream (seed 7, layer 0, weight). */
static void test_he_normal_stats_and_dump(void **state) {
    char args[512], path[256];
    snprintf(path, sizeof path, "%s/w.npy", dir);
    snprintf(args, sizeof args, "he_normal --shape 256,128 --seed 7 --activation relu --dump '%s'",
             path);
    assert_int_equal(run(args), 0);
    double s, t;
    stat_line("std", &s, &t);
    assert_true(fabs(t - 0.125) < 1e-6);
    assert_true(fabs(s - 0.125) < 3 * 0.125 / sqrt(2.0 * 256 * 128) * 3);
    stat_line("mean", &s, &t);
    assert_true(t == 0.0 && fabs(s) < 4 * 0.125 / sqrt(256.0 * 128));
    expect_out("gain 1.41421 (relu)");

    npy a;
    read_npy(path, &a);
    if (!strstr(a.header, "{'descr': '<f4', 'fortran_order': False, 'shape': (256, 128), }"))
        fail_msg("header: %s", a.header);
    assert_int_equal(a.n, 256 * 128);

    const fanin__entry *e = fanin__registry_find(reg, FANIN_KIND_INITIALIZER, "he_normal");
    assert_non_null(e);
    fanin__pref p;
    assert_int_equal(fanin__pref_from_args(&p, e, NULL, 0, err, sizeof err), FANIN_OK);
    float *w = malloc(sizeof(float) * 256 * 128);
    fanin_tensor ten = T2D(w, 256, 128, 128, 256, 0);
    fanin_rng rng;
    fanin__rng_init(&rng, 7, 0, FANIN_STREAM_WEIGHT);
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, e, sqrt(2.0));
    const fanin_initializer_vt *vt = e->plugin->vtable;
    assert_int_equal(vt->fill(&ctx, &ten, p.params, &rng), FANIN_OK);
    assert_memory_equal(w, a.data, sizeof(float) * 256 * 128);
    free(w);
    free(a.data);
    fanin__pref_deinit(&p);
}

/* --rng numpy --seed 3: the first layer of the classic notebook, randn(4, 5) * 0.01 in
 * float32, exactly as numpy drew it (tests/ref/numpy_rng_ref.h). */
static void test_numpy_stream_dump(void **state) {
    char args[512], path[256];
    snprintf(path, sizeof path, "%s/np.npy", dir);
    snprintf(args, sizeof args,
             "normal --shape 4,5 --param std=0.01 --seed 3 --rng numpy "
             "--dump '%s'",
             path);
    assert_int_equal(run(args), 0);
    npy a;
    read_npy(path, &a);
    assert_non_null(strstr(a.header, "'shape': (4, 5)"));
    assert_int_equal(a.n, 20);
    assert_memory_equal(a.data, NPREF_NET_NORMAL, 20 * sizeof(float));
    free(a.data);
    double s, t;
    stat_line("std", &s, &t);
    assert_true(t == 0.01);
}

/* The identity check: an orthogonal draw (the catalogue's `orthogonal`) is orthonormal, by
 * columns when tall and by rows when wide. */
static void test_orthogonality(void **state) {
    if (!fanin__registry_find(reg, FANIN_KIND_INITIALIZER, "orthogonal")) skip();
    assert_int_equal(run("orthogonal --shape 64,32 --seed 1"), 0);
    expect_out("max |W^T W - I| = ");
    expect_out("(orthogonal)");
    assert_int_equal(run("orthogonal --shape 16,48"), 0);
    expect_out("max |W W^T - I| = ");
    expect_out("(orthogonal)");
}

/* ---- errors ---- */

static void test_usage_errors_exit_2(void **state) {
    assert_int_equal(run("he_norml --shape 4,4"), 2);
    expect_out("unknown initializer 'he_norml'; did you mean 'he_normal'?");
    assert_int_equal(run("normal --shape 4x4"), 2);
    expect_out("--shape needs OUT,IN");
    assert_int_equal(run("normal --shape 0,4"), 2);
    expect_out("--shape needs OUT,IN");
    assert_int_equal(run("normal"), 2);
    expect_out("--shape OUT,IN is required");
    assert_int_equal(run("normal --shape 4,4 --param sdt=1"), 2);
    expect_out("initializer 'normal' has no parameter 'sdt'; did you mean 'std'?");
    assert_int_equal(run("normal --shape 4,4 --param std=-1"), 2);
    expect_out("parameter 'std' of initializer 'normal' must be a number >= 0");
    assert_int_equal(run("normal --shape 4,4 --activation rel"), 2);
    expect_out("unknown activation 'rel'; did you mean 'relu'?");
    assert_int_equal(run("normal --shape 4,4 --rng mt"), 2);
    expect_out("--rng is philox or numpy");
    assert_int_equal(run("normal --shape 4,4 --rng numpy --seed 4294967296"), 2);
    expect_out("as np.random.seed does");
    assert_int_equal(run("normal --shape 4,4 --bogus 1"), 2);
    expect_out("unknown option '--bogus'");
}

/* lsuv needs a batch; init-stats has none and says so. */
static void test_lsuv_needs_data(void **state) {
    assert_int_not_equal(run("lsuv --shape 8,8"), 0);
    expect_out("lsuv needs data:");
}

/* ---- npy.c ---- */

static void test_npy_write_header_padding_and_atomic(void **state) {
    char path[256];
    snprintf(path, sizeof path, "%s/small.npy", dir);
    float v[6] = {1, 2, 3, 4, 5, 6};
    assert_int_equal(fanin__npy_write(path, v, 2, 3, err, sizeof err), FANIN_OK);
    npy a;
    read_npy(path, &a);
    /* byte for byte what numpy 1.24's np.save writes: the dict, spaces, '\n'; 10 + 118 = 128 */
    char want[119];
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    memset(want, ' ', 117);
    memcpy(want, dict, strlen(dict));
    want[117] = '\n';
    want[118] = '\0';
    assert_string_equal(a.header, want);
    assert_int_equal(a.n, 6);
    assert_memory_equal(a.data, v, sizeof v);
    free(a.data);
    /* a folder that does not exist: an error naming the file, and nothing left behind */
    snprintf(path, sizeof path, "%s/missing/x.npy", dir);
    assert_int_equal(fanin__npy_write(path, v, 2, 3, err, sizeof err), FANIN_EIO);
    assert_non_null(strstr(err, "missing/x.npy"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_he_normal_stats_and_dump),
        cmocka_unit_test(test_numpy_stream_dump),
        cmocka_unit_test(test_orthogonality),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test(test_lsuv_needs_data),
        cmocka_unit_test(test_npy_write_header_padding_and_atomic),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
