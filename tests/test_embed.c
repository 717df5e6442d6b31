/* The embedding API (<fanin/fanin.h>) as another program uses it: linked to the shared
 * libfanin.so and including only the public header. A session lists plugins as JSON, fills
 * tensors (the same draw twice, fans of a conv weight, errors with the fix), runs an
 * activation and an optimizer on buffers, and runs an experiment file into a folder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fanin/fanin.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static fanin_session *open_session(void) {
    fanin_session *s = NULL;
    char err[1024];
    int rc = fanin_session_open(&s, NULL, 0, err, sizeof err);
    if (rc != FANIN_OK) print_error("fanin_session_open: %s\n", err);
    assert_int_equal(rc, FANIN_OK);
    assert_non_null(s);
    return s;
}

static void test_plugins_json(void **state) {
    fanin_session *s = open_session();
    char *json = NULL;
    assert_int_equal(fanin_plugins_json(s, FANIN_KIND_INITIALIZER, &json), FANIN_OK);
    assert_non_null(strstr(json, "\"name\": \"he_normal\""));
    assert_non_null(strstr(json, "\"name\": \"nonlinearity\"")); /* its schema */
    assert_null(strstr(json, "\"kind\": \"activation\""));
    fanin_free(json);
    fanin_session_close(s);
}

static double std_of(const float *x, size_t n) {
    double m = 0, v = 0;
    for (size_t i = 0; i < n; i++) m += x[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
    return sqrt(v / (double)n);
}

static void test_init_fill(void **state) {
    fanin_session *s = open_session();
    enum { N = 64 * 3 * 5 * 5 };
    static float a[N], b[N];
    const int64_t conv[] = {64, 3, 5, 5};
    const char *kv[] = {"mode=fan_in"};
    assert_int_equal(fanin_init_fill(s, "he_normal", a, 4, conv, 7, FANIN_INIT_RNG_PHILOX, NULL, kv,
                                     1),
                     FANIN_OK);
    assert_int_equal(fanin_init_fill(s, "he_normal", b, 4, conv, 7, FANIN_INIT_RNG_PHILOX, NULL, kv,
                                     1),
                     FANIN_OK);
    assert_memory_equal(a, b, sizeof a);
    /* torch's fans: fan_in = 3 * 5 * 5 = 75, std sqrt(2 / 75) = 0.163 */
    assert_true(fabs(std_of(a, N) - sqrt(2.0 / 75)) < 0.01);
    assert_int_equal(fanin_init_fill(s, "he_normal", b, 4, conv, 8, FANIN_INIT_RNG_NUMPY, NULL,
                                     NULL, 0),
                     FANIN_OK);
    assert_true(memcmp(a, b, sizeof a) != 0);
    fanin_session_close(s);
}

static void test_init_errors(void **state) {
    fanin_session *s = open_session();
    float w[6];
    const int64_t shape[] = {2, 3};
    assert_int_equal(fanin_init_fill(s, "he_norml", w, 2, shape, 0, 0, NULL, NULL, 0),
                     FANIN_EINVAL);
    assert_non_null(strstr(fanin_session_error(s), "did you mean 'he_normal'?"));
    const char *bad[] = {"sdt=0.1"};
    assert_int_equal(fanin_init_fill(s, "normal", w, 2, shape, 0, 0, NULL, bad, 1), FANIN_EINVAL);
    assert_non_null(strstr(fanin_session_error(s), "did you mean 'std'?"));
    assert_int_equal(fanin_init_fill(s, "normal", w, 2, shape, 1ull << 33, FANIN_INIT_RNG_NUMPY,
                                     NULL, NULL, 0),
                     FANIN_EINVAL);
    assert_non_null(strstr(fanin_session_error(s), "4294967295"));
    const int64_t zero[] = {0, 3};
    assert_int_equal(fanin_init_fill(s, "normal", w, 2, zero, 0, 0, NULL, NULL, 0), FANIN_EINVAL);
    assert_int_equal(fanin_init_fill(s, "normal", w, 2, shape, 0, 0, "rel", NULL, 0), FANIN_EINVAL);
    assert_non_null(strstr(fanin_session_error(s), "did you mean 'relu'?"));
    fanin_session_close(s);
}

static void test_activation(void **state) {
    fanin_session *s = open_session();
    fanin_activation *a = NULL;
    const char *kv[] = {"negative_slope=0.25"};
    assert_int_equal(fanin_activation_open(s, "leaky_relu", kv, 1, &a), FANIN_OK);
    float x[3] = {-2, 0.5f, 3}, y[3], dy[3] = {1, 1, 2}, dx[3];
    assert_int_equal(fanin_activation_forward(a, x, y, 3), FANIN_OK);
    assert_true(y[0] == -0.5f && y[1] == 0.5f && y[2] == 3.0f);
    assert_int_equal(fanin_activation_backward(a, x, y, dy, dx, 3), FANIN_OK);
    assert_true(dx[0] == 0.25f && dx[1] == 1.0f && dx[2] == 2.0f);
    double g;
    assert_int_equal(fanin_activation_gain(a, &g), FANIN_OK);
    assert_true(fabs(g - sqrt(2.0 / (1 + 0.25 * 0.25))) < 1e-12); /* torch's calculate_gain */
    fanin_activation_close(a);
    assert_int_equal(fanin_activation_open(s, "leaky_relu", (const char *[]){"slope=1"}, 1, &a),
                     FANIN_EINVAL);
    assert_null(a);
    fanin_session_close(s);
}

static void test_optimizer(void **state) {
    fanin_session *s = open_session();
    fanin_optimizer *o = NULL;
    const char *kv[] = {"momentum=0.5"};
    assert_int_equal(fanin_optimizer_open(s, "sgd", kv, 1, 2, &o), FANIN_OK);
    float w[2] = {1, -1}, g[2] = {0.5f, 1};
    /* torch.optim.SGD: b1 = g; w -= lr b1; b2 = 0.5 b1 + g; w -= lr b2 */
    assert_int_equal(fanin_optimizer_step(o, w, g, 0.1), FANIN_OK);
    assert_int_equal(fanin_optimizer_step(o, w, g, 0.1), FANIN_OK);
    assert_true(fabsf(w[0] - (1 - 0.05f - 0.075f)) < 1e-6f);
    assert_true(fabsf(w[1] - (-1 - 0.1f - 0.15f)) < 1e-6f);
    assert_int_equal(fanin_optimizer_step(o, w, g, -1), FANIN_EINVAL);
    fanin_optimizer_close(o);
    fanin_session_close(s);
}

static void test_run_file(void **state) {
    fanin_session *s = open_session();
    char dir[] = "/tmp/fanin-embed.XXXXXX", out[4096], folder[4096], path[4200];
    assert_non_null(mkdtemp(dir));
    snprintf(out, sizeof out, "%s/run", dir);
    const char *sets[] = {"train.iterations=20", "sweep.model.defaults.init=[he_normal]"};
    int rc = fanin_run_file(s, FANIN_TEST_DIR "/python/tiny.yaml", sets, 2, out, 1, 0, folder,
                            sizeof folder);
    if (rc != FANIN_OK) print_error("fanin_run_file: %s\n", fanin_session_error(s));
    assert_int_equal(rc, FANIN_OK);
    assert_string_equal(folder, out);
    const char *files[] = {"summary.csv", "summary.json", "groups.csv", "report.html",
                           "00-he_normal/model.safetensors"};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", out, files[i]);
        assert_int_equal(access(path, R_OK), 0);
    }
    assert_int_equal(fanin_run_file(s, FANIN_TEST_DIR "/python/tiny.yaml",
                                    (const char *[]){"train.iteratons=5"}, 1, out, 1, 0, NULL, 0),
                     FANIN_ECONFIG);
    assert_non_null(strstr(fanin_session_error(s), "iterations"));
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    assert_int_equal(system(path), 0);
    fanin_session_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugins_json), cmocka_unit_test(test_init_fill),
        cmocka_unit_test(test_init_errors),  cmocka_unit_test(test_activation),
        cmocka_unit_test(test_optimizer),    cmocka_unit_test(test_run_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
