/* `fanin validate` checks the model's shapes when it can know the input's (issue 10): the layer
 * kinds' shape errors through the built command, each with exit 2, the layer's FILE:LINE:COL and
 * the shapes so far (docs/errors.md, "Layer shapes"). The data are small IDX and CSV files in a
 * mkdtemp folder, so nothing needs Fashion-MNIST.
 */
#include <stdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[64];
static char out[1 << 16];

static void put_text(const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* An IDX file of unsigned bytes [dims...] holding zeros. */
static void put_idx(const char *name, int ndims, const unsigned *dims) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned char h[4] = {0, 0, 0x08, (unsigned char)ndims};
    fwrite(h, 1, 4, f);
    size_t n = 1;
    for (int i = 0; i < ndims; i++) {
        unsigned char b[4] = {(unsigned char)(dims[i] >> 24), (unsigned char)(dims[i] >> 16),
                              (unsigned char)(dims[i] >> 8), (unsigned char)dims[i]};
        fwrite(b, 1, 4, f);
        n *= dims[i];
    }
    for (size_t i = 0; i < n; i++) fputc(i % 2, f); /* labels 0, 1 for a labels file */
    fclose(f);
}

/* `fanin validate NAME` in dir; output (stdout and stderr) into out; exit code. */
static int validate(const char *name) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd %s && %s validate %s > out.txt 2>&1", dir, FANIN_TEST_BIN, name);
    int status = system(cmd);
    snprintf(cmd, sizeof cmd, "%s/out.txt", dir);
    FILE *f = fopen(cmd, "r");
    size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[n] = 0;
    if (f) fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void expect(int code, int want, const char *needle) {
    if (code != want || !strstr(out, needle))
        print_error("exit %d, output:\n%s\nexpected exit %d with '%s'\n", code, out, want, needle);
    assert_int_equal(code, want);
    assert_non_null(strstr(out, needle));
}

/* data: the idx files img (images [10, 8, 8]) and lab, then `layers`, loss cross_entropy. */
static void put_model(const char *name, const char *input, const char *layers) {
    char text[4096];
    snprintf(text, sizeof text,
             "data: {source: idx, images: img, labels: lab, test: 0}\n" /* 1 */
             "model:\n"                                                 /* 2 */
             "  input: %s\n"                                            /* 3 */
             "  layers:\n%s"                                            /* 4, layers from 5 */
             "loss: cross_entropy\n",
             input, layers);
    put_text(name, text);
}

static int setup(void **state) {
    snprintf(dir, sizeof dir, "/tmp/fanin-shapes-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    unsigned img[3] = {10, 8, 8}, flat[2] = {10, 64}, lab[1] = {10};
    put_idx("img", 3, img);
    put_idx("flat", 2, flat);
    put_idx("lab", 1, lab);
    return 0;
}

static int teardown(void **state) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_good_conv_net(void **state) {
    put_model("ok.yaml", "~",
              "    - {type: conv2d, channels: 4, kernel: 3, padding: same}\n"
              "    - {type: batchnorm}\n"
              "    - {type: maxpool2d, kernel: 2}\n"
              "    - {type: residual, repeat: 2, layers: [{type: conv2d, channels: 4, kernel: 3, "
              "padding: 1}]}\n"
              "    - {type: flatten}\n"
              "    - {type: dropout, p: 0.1}\n"
              "    - {units: 2}\n");
    expect(validate("ok.yaml"), 0, "ok: ok.yaml (1 run)");
}

static void test_flatten_missing(void **state) {
    put_model("bad.yaml", "~", "    - {type: conv2d, channels: 4, kernel: 3}\n    - {units: 2}\n");
    expect(validate("bad.yaml"), 2,
           "bad.yaml:6:7: layer 2 (dense, input [4, 6, 6]): a dense "
           "layer needs a vector");
    assert_non_null(strstr(out, "add {type: flatten} before it; shapes so far: [1, 8, 8] -> "
                                "[4, 6, 6]"));
}

static void test_kernel_too_large(void **state) {
    put_model("bad.yaml", "~",
              "    - {type: conv2d, channels: 4, kernel: 5}\n"
              "    - {type: conv2d, channels: 4, kernel: 5}\n"
              "    - {type: flatten}\n    - {units: 2}\n");
    expect(validate("bad.yaml"), 2,
           "bad.yaml:6:7: layer 2 (conv2d, input [4, 4, 4]): conv2d: "
           "kernel 5x5 is larger than the padded input 4x4");
    assert_non_null(strstr(out, "shapes so far: [1, 8, 8] -> [4, 4, 4]"));
}

static void test_residual_width_without_projection(void **state) {
    put_model("bad.yaml", "~",
              "    - {type: flatten}\n    - {units: 16}\n"
              "    - type: residual\n"
              "      layers: [{units: 32}, {units: 8}]\n"
              "    - {units: 2}\n");
    expect(validate("bad.yaml"), 2,
           "bad.yaml:7:7: layer 6 (residual_close, input [8]): a "
           "residual branch changing the width from 16 to 8 needs projection: true");
    assert_non_null(strstr(out, "shapes so far: [1, 8, 8] -> [64] -> [16] -> [16] -> [32] -> "
                                "[8]"));
    put_model("ok.yaml", "~",
              "    - {type: flatten}\n    - {units: 16}\n"
              "    - {type: residual, projection: true, layers: [{units: 8}]}\n"
              "    - {units: 2}\n");
    expect(validate("ok.yaml"), 0, "ok: ok.yaml");
}

/* A conv on vectors: at the layer when the source says so (csv, synthetic), or when the files'
 * headers do (an idx [n, 64]); model.input shapes them. */
static void test_conv_on_vectors(void **state) {
    put_text("d.csv", "a,b,c,d,y\n1,2,3,4,0\n5,6,7,8,1\n");
    put_text("bad.yaml", "data: {source: csv, path: d.csv, target: y}\nmodel:\n  layers:\n"
                         "    - {units: 3}\n    - {type: conv2d, channels: 2, kernel: 1}\n"
                         "    - {type: flatten}\n    - {units: 2}\nloss: cross_entropy\n");
    expect(validate("bad.yaml"), 2,
           "bad.yaml:5:7: a conv2d layer needs images [C, H, W], but "
           "data source 'csv' gives vectors (one value per feature column); give model.input: "
           "[C, H, W] (C*H*W values per example) to shape them, or use dense layers");
    char text[512];
    snprintf(text, sizeof text,
             "data: {source: idx, images: flat, labels: lab, test: 0}\n"
             "model:\n  layers:\n    - {type: conv2d, channels: 2, kernel: 3}\n"
             "    - {type: flatten}\n    - {units: 2}\nloss: cross_entropy\n");
    put_text("flat.yaml", text);
    expect(validate("flat.yaml"), 2,
           "flat.yaml:4:7: a conv2d layer needs images [C, H, W], but "
           "the examples of data source 'idx' are vectors of 64 values; give model.input: "
           "[C, H, W] (C*H*W = 64) to shape them");
    snprintf(text, sizeof text,
             "data: {source: idx, images: flat, labels: lab, test: 0}\n"
             "model:\n  input: [1, 8, 8]\n  layers:\n    - {type: conv2d, channels: 2, kernel: "
             "3}\n    - {type: flatten}\n    - {units: 2}\nloss: cross_entropy\n");
    put_text("shaped.yaml", text);
    expect(validate("shaped.yaml"), 0, "ok: shaped.yaml");
}

static void test_input_mismatch(void **state) {
    put_model("bad.yaml", "[3, 8, 8]", "    - {type: flatten}\n    - {units: 2}\n");
    expect(validate("bad.yaml"), 2,
           "bad.yaml:3:10: model.input [3, 8, 8] (192 values) does not "
           "match the data: its examples are [1, 8, 8] (64 values)");
    put_model("ok.yaml", "[64]", "    - {units: 2}\n"); /* a dense net reads vectors */
    expect(validate("ok.yaml"), 0, "ok: ok.yaml");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_conv_net),
        cmocka_unit_test(test_flatten_missing),
        cmocka_unit_test(test_kernel_too_large),
        cmocka_unit_test(test_residual_width_without_projection),
        cmocka_unit_test(test_conv_on_vectors),
        cmocka_unit_test(test_input_mismatch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
