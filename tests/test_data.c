/* Tests of core/data.c, idx.c, csv.c, hdf5.c, synthetic.c: small IDX files (raw and gzip), CSV
 * files and HDF5 files (written with libhdf5 in the course's layout) in a mkdtemp folder, every
 * corruption's message, the synthetic generators, each source's example shape (hdf5's
 * layouts, the shape the model gets), and the real Fashion-MNIST from Debian's
 * dataset-fashion-mnist when it is installed.
 */
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/errors.h"
#include "config/experiment.h"
#include "data/data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"
#define N_IMG 30 /* images in the small IDX files: 2x3 pixels, labels i % 10 */

typedef struct fixture {
    char dir[256];
    char err[FANIN_ERRLEN];
    fanin__data_spec spec;
    fanin_dataset *d;
} fixture;

/* ---- helpers ---- */

static void path_in(const fixture *fx, const char *name, char *out, size_t len) {
    snprintf(out, len, "%s/%s", fx->dir, name);
}

/* Write bytes to a file, through zlib when gz. */
static void write_bytes(const char *path, const void *buf, size_t n, int gz) {
    if (gz) {
        gzFile g = gzopen(path, "wb");
        assert_non_null(g);
        assert_int_equal(gzwrite(g, buf, (unsigned)n), (int)n);
        assert_int_equal(gzclose(g), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(buf, 1, n, f), n);
        fclose(f);
    }
}

/* An IDX file: type, dims, then `n_data` bytes of data (cut short when n_data is smaller). */
static void write_idx(const char *path, int gz, int type, int ndims, const uint32_t *dims,
                      const unsigned char *data, size_t n_data) {
    unsigned char *buf = malloc(4 + 4 * (size_t)ndims + n_data);
    assert_non_null(buf);
    buf[0] = buf[1] = 0;
    buf[2] = (unsigned char)type;
    buf[3] = (unsigned char)ndims;
    for (int i = 0; i < ndims; i++) {
        buf[4 + 4 * i] = (unsigned char)(dims[i] >> 24);
        buf[5 + 4 * i] = (unsigned char)(dims[i] >> 16);
        buf[6 + 4 * i] = (unsigned char)(dims[i] >> 8);
        buf[7 + 4 * i] = (unsigned char)dims[i];
    }
    memcpy(buf + 4 + 4 * ndims, data, n_data);
    write_bytes(path, buf, 4 + 4 * (size_t)ndims + n_data, gz);
    free(buf);
}

static unsigned char pixel(int i, int j) { return (unsigned char)((i * 7 + j * 40) % 256); }

/* N_IMG images [N_IMG, 2, 3] with pixel(i, j) and labels i % 10 (+ label_bias). */
static void write_pair(const char *images, const char *labels, int gz, int n, int label_bias) {
    unsigned char img[N_IMG * 6], lab[N_IMG];
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < 6; j++) img[i * 6 + j] = pixel(i, j);
        lab[i] = (unsigned char)(i % 10 + label_bias);
    }
    uint32_t di[3] = {(uint32_t)n, 2, 3}, dl[1] = {(uint32_t)n};
    write_idx(images, gz, 0x08, 3, di, img, (size_t)n * 6);
    write_idx(labels, gz, 0x08, 1, dl, lab, (size_t)n);
}

static void idx_spec(fixture *fx, int gz) {
    const char *ext = gz ? ".gz" : "";
    char name[64];
    memset(&fx->spec, 0, sizeof fx->spec);
    strcpy(fx->spec.source, "idx");
    snprintf(name, sizeof name, "img%s", ext);
    path_in(fx, name, fx->spec.images, sizeof fx->spec.images);
    snprintf(name, sizeof name, "lab%s", ext);
    path_in(fx, name, fx->spec.labels, sizeof fx->spec.labels);
    snprintf(name, sizeof name, "timg%s", ext);
    path_in(fx, name, fx->spec.test_images, sizeof fx->spec.test_images);
    snprintf(name, sizeof name, "tlab%s", ext);
    path_in(fx, name, fx->spec.test_labels, sizeof fx->spec.test_labels);
    write_pair(fx->spec.images, fx->spec.labels, gz, N_IMG, 0);
    write_pair(fx->spec.test_images, fx->spec.test_labels, gz, 20, 0);
    fx->spec.train = fx->spec.test = -1;
}

static int load(fixture *fx, uint64_t seed) {
    fanin__data_free(fx->d);
    fx->d = NULL;
    fx->err[0] = '\0';
    return fanin__data_load(&fx->spec, seed, &fx->d, fx->err, sizeof fx->err);
}

/* Loading fails with FANIN_EDATA (or code) and the message holds every given fragment. */
static void expect_error(fixture *fx, int code, const char *a, const char *b, const char *c) {
    int rc = load(fx, 1);
    if (getenv("FANIN_TEST_VERBOSE")) print_message("%s\n", fx->err);
    if (rc != code || !strstr(fx->err, a) || (b && !strstr(fx->err, b)) ||
        (c && !strstr(fx->err, c)))
        fail_msg("rc %d (want %d), message: %s", rc, code, fx->err);
    assert_null(fx->d);
}

static void write_text(const char *path, const char *text) {
    write_bytes(path, text, strlen(text), 0);
}

/* ---- fixture ---- */

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx) return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/fanin_test_data_XXXXXX");
    if (!mkdtemp(fx->dir)) return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    static const char *const names[] = {"img",
                                        "lab",
                                        "timg",
                                        "tlab",
                                        "img.gz",
                                        "lab.gz",
                                        "timg.gz",
                                        "tlab.gz",
                                        "d.csv",
                                        "train-images-idx3-ubyte.gz",
                                        "train-labels-idx1-ubyte.gz",
                                        "t10k-images-idx3-ubyte",
                                        "t10k-labels-idx1-ubyte",
                                        "train.h5",
                                        "test.h5",
                                        "f.h5",
                                        "bad.h5"};
    char p[512];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        path_in(fx, names[i], p, sizeof p);
        unlink(p);
    }
    rmdir(fx->dir);
    fanin__data_free(fx->d);
    free(fx);
    return 0;
}

/* ---- idx ---- */

static void check_image(const float *x, int i) {
    for (int j = 0; j < 6; j++) assert_float_equal(x[j], pixel(i, j), 0);
}

static void test_idx_raw_all(void **state) {
    fixture *fx = *state;
    idx_spec(fx, 0);
    assert_int_equal(load(fx, 1), FANIN_OK);
    fanin_dataset *d = fx->d;
    assert_int_equal(d->n_train, N_IMG);
    assert_int_equal(d->n_test, 20);
    assert_int_equal(d->n_features, 6);
    assert_int_equal(d->y_dim, 1);
    assert_int_equal(d->n_classes, 10);
    for (int i = 0; i < N_IMG; i++) {
        check_image(d->x_train + 6 * i, i);
        assert_float_equal(d->y_train[i], (i % 10), 0);
    }
    check_image(d->x_test + 6 * 19, 19);
    assert_non_null(strstr(d->desc, "30 train / 20 test, 6 features"));
}

static void test_idx_gz_subset_relabel(void **state) {
    fixture *fx = *state;
    idx_spec(fx, 1);
    fx->spec.classes[0] = 3;
    fx->spec.classes[1] = 1;
    fx->spec.n_classes_listed = 2;
    fx->spec.train = 5; /* images 1, 3, 11, 13, 21 */
    fx->spec.test = 3;  /* images 1, 3, 11 */
    assert_int_equal(load(fx, 1), FANIN_OK);
    fanin_dataset *d = fx->d;
    static const int want[5] = {1, 3, 11, 13, 21};
    assert_int_equal(d->n_train, 5);
    assert_int_equal(d->n_test, 3);
    assert_int_equal(d->n_classes, 2);
    for (int k = 0; k < 5; k++) {
        check_image(d->x_train + 6 * k, want[k]);
        assert_float_equal(d->y_train[k], (want[k] % 10 == 3 ? 0 : 1), 0);
    }
    check_image(d->x_test + 6 * 2, 11);
    assert_non_null(strstr(d->desc, "classes [3, 1]: 5 train / 3 test"));
}

static void test_idx_float_idx2(void **state) {
    fixture *fx = *state;
    idx_spec(fx, 0);
    float vals[4] = {1.5f, -2.0f, 0.25f, 1e6f};
    unsigned char be[16];
    for (int i = 0; i < 4; i++) {
        uint32_t u;
        memcpy(&u, &vals[i], 4);
        for (int b = 0; b < 4; b++) be[4 * i + b] = (unsigned char)(u >> (24 - 8 * b));
    }
    uint32_t di[2] = {2, 2}, dl[1] = {2};
    unsigned char lab[2] = {4, 7};
    write_idx(fx->spec.images, 0, 0x0D, 2, di, be, sizeof be);
    write_idx(fx->spec.labels, 0, 0x08, 1, dl, lab, 2);
    fx->spec.test = 0;
    assert_int_equal(load(fx, 1), FANIN_OK);
    assert_int_equal(fx->d->n_features, 2);
    assert_int_equal(fx->d->n_classes, 8);
    for (int i = 0; i < 4; i++) assert_float_equal(fx->d->x_train[i], vals[i], 0);
    assert_null(fx->d->x_test);
}

static void test_idx_too_many(void **state) {
    fixture *fx = *state;
    idx_spec(fx, 0);
    fx->spec.classes[0] = 0;
    fx->spec.classes[1] = 6;
    fx->spec.n_classes_listed = 2;
    fx->spec.train = 7;
    expect_error(fx, FANIN_EDATA, "asked for 7 training examples of classes [0, 6]",
                 "has 6; lower data.train", fx->spec.labels);
}

static void test_idx_missing(void **state) {
    fixture *fx = *state;
    idx_spec(fx, 0);
    strcat(fx->spec.labels, ".nope");
    expect_error(fx, FANIN_EDATA, "data.labels: cannot read '", "No such file or directory",
                 "relative paths start at the experiment file's folder");
}

static void test_idx_bad_magic(void **state) {
    fixture *fx = *state;
    idx_spec(fx, 0);
    write_text(fx->spec.images, "PK\x03\x04 a zip file, not an idx file");
    expect_error(fx, FANIN_EDATA, fx->spec.images, "byte 0: bad magic 0x504B0304", NULL);
}

static void test_idx_truncated_raw(void **state) {
    fixture *fx = *state;
    idx_spec(fx, 0);
    unsigned char img[N_IMG * 6] = {0};
    uint32_t di[3] = {N_IMG, 2, 3};
    write_idx(fx->spec.images, 0, 0x08, 3, di, img, 100);
    expect_error(fx, FANIN_EDATA, fx->spec.images, "byte 16: file ends after 100 of 180 data bytes",
                 NULL);
}

static void test_idx_truncated_gz(void **state) {
    fixture *fx = *state;
    idx_spec(fx, 1);
    unsigned char lab[N_IMG] = {0};
    uint32_t dl[1] = {N_IMG + 5};
    write_idx(fx->spec.labels, 1, 0x08, 1, dl, lab, N_IMG);
    expect_error(fx, FANIN_EDATA, fx->spec.labels, "byte 8: file ends after 30 of 35 data bytes",
                 NULL);
}

static void test_idx_truncated_header(void **state) {
    fixture *fx = *state;
    idx_spec(fx, 0);
    write_bytes(fx->spec.images, "\0\0\x08\x03\0\0\0", 7, 0);
    expect_error(fx, FANIN_EDATA, fx->spec.images, "file ends after 7 of 16 header bytes", NULL);
}

static void test_idx_count_mismatch(void **state) {
    fixture *fx = *state;
    idx_spec(fx, 0);
    write_pair(fx->spec.test_images, fx->spec.test_labels, 0, 20, 0);
    unsigned char lab[N_IMG] = {0};
    uint32_t dl[1] = {19};
    write_idx(fx->spec.test_labels, 0, 0x08, 1, dl, lab, 19);
    expect_error(fx, FANIN_EDATA, fx->spec.test_images, "byte 4: 20 images but", "has 19 labels");
}

static void test_idx_wrong_kinds(void **state) {
    fixture *fx = *state;
    idx_spec(fx, 0);
    strcpy(fx->spec.labels, fx->spec.images); /* images given as labels */
    expect_error(fx, FANIN_EDATA, fx->spec.images, "byte 3: labels must have 1 dimension, not 3",
                 NULL);
    idx_spec(fx, 0);
    uint32_t di[2] = {1, 1};
    unsigned char z[2] = {0};
    write_idx(fx->spec.images, 0, 0x0B, 2, di, z, 2);
    expect_error(fx, FANIN_EDATA, fx->spec.images, "byte 2: unsupported IDX type 0x0B", NULL);
}

static void test_idx_corrupt_gz(void **state) {
    fixture *fx = *state;
    idx_spec(fx, 1);
    enum { N = 4000 };
    unsigned char *img = malloc(N * 6);
    assert_non_null(img);
    for (int i = 0; i < N * 6; i++) img[i] = (unsigned char)((i * 2654435761u) >> 13);
    uint32_t di[3] = {N, 2, 3};
    write_idx(fx->spec.images, 1, 0x08, 3, di, img, N * 6);
    free(img);
    FILE *f = fopen(fx->spec.images, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    for (long off = size / 3; off < size / 3 + 8; off++) {
        fseek(f, off, SEEK_SET);
        fputc(0xA5 ^ (int)off, f);
    }
    fclose(f);
    /* labels say N_IMG but the images file says N: fix the labels to match */
    unsigned char *lab = calloc(N, 1);
    uint32_t dl[1] = {N};
    write_idx(fx->spec.labels, 1, 0x08, 1, dl, lab, N);
    free(lab);
    expect_error(fx, FANIN_EDATA, fx->spec.images, "corrupt gzip stream (zlib: ", "byte ");
}

/* The data comes out whole but the CRC is wrong, or the trailer is missing. */
static void test_idx_gz_trailer(void **state) {
    fixture *fx = *state;
    idx_spec(fx, 1);
    FILE *f = fopen(fx->spec.labels, "r+b");
    assert_non_null(f);
    fseek(f, -8, SEEK_END);
    int c = fgetc(f);
    fseek(f, -8, SEEK_END);
    fputc(c ^ 1, f);
    long size = ftell(f) + 7;
    fclose(f);
    expect_error(fx, FANIN_EDATA, fx->spec.labels,
                 "corrupt gzip stream (zlib: incorrect data check)",
                 "at byte 38 of the decompressed data");
    idx_spec(fx, 1);
    assert_int_equal(truncate(fx->spec.labels, size - 4), 0);
    expect_error(fx, FANIN_EDATA, fx->spec.labels, "the gzip stream ends without its trailer",
                 "after byte 38 of the data");
}

static void test_idx_label_out_of_range_fashion(void **state) {
    fixture *fx = *state;
    memset(&fx->spec, 0, sizeof fx->spec);
    strcpy(fx->spec.source, "fashion-mnist");
    snprintf(fx->spec.path, sizeof fx->spec.path, "%s", fx->dir);
    char img[512], lab[512];
    path_in(fx, "train-images-idx3-ubyte.gz", img, sizeof img);
    path_in(fx, "train-labels-idx1-ubyte.gz", lab, sizeof lab);
    write_pair(img, lab, 1, N_IMG, 1); /* labels 1..10 */
    fx->spec.train = -1;
    fx->spec.test = 0; /* no t10k files needed */
    expect_error(fx, FANIN_EDATA, lab, "byte 17: label 10 is not a Fashion-MNIST class", NULL);
}

/* The standard file names in a folder: train files gzip, t10k files raw. */
static void test_fashion_folder(void **state) {
    fixture *fx = *state;
    memset(&fx->spec, 0, sizeof fx->spec);
    strcpy(fx->spec.source, "fashion-mnist");
    snprintf(fx->spec.path, sizeof fx->spec.path, "%s", fx->dir);
    char a[512], b[512];
    path_in(fx, "train-images-idx3-ubyte.gz", a, sizeof a);
    path_in(fx, "train-labels-idx1-ubyte.gz", b, sizeof b);
    write_pair(a, b, 1, N_IMG, 0);
    fx->spec.classes[0] = 0;
    fx->spec.classes[1] = 6;
    fx->spec.n_classes_listed = 2;
    fx->spec.train = 4;
    fx->spec.test = 2;
    fx->spec.normalize = FANIN_NORM_SCALE255;
    /* no t10k files yet: the message names the .gz path and the Debian package */
    expect_error(fx, FANIN_EDATA, "data.path: cannot read '", "t10k-images-idx3-ubyte.gz",
                 "install Debian's dataset-fashion-mnist or set data.path");
    path_in(fx, "t10k-images-idx3-ubyte", a, sizeof a);
    path_in(fx, "t10k-labels-idx1-ubyte", b, sizeof b);
    write_pair(a, b, 0, 20, 0);
    assert_int_equal(load(fx, 1), FANIN_OK);
    fanin_dataset *d = fx->d;
    static const int want[4] = {0, 6, 10, 16};
    assert_int_equal(d->n_train, 4);
    assert_int_equal(d->n_test, 2);
    for (int k = 0; k < 4; k++) {
        assert_float_equal(d->y_train[k], (k % 2), 0);
        for (int j = 0; j < 6; j++)
            assert_float_equal(d->x_train[6 * k + j], pixel(want[k], j) / 255.0f, 1e-7);
    }
    assert_string_equal(d->desc, "fashion-mnist classes [0, 6]: 4 train / 2 test, 6 features");
}

/* ---- normalisation ---- */

static void test_standardize(void **state) {
    fixture *fx = *state;
    idx_spec(fx, 0);
    fx->spec.normalize = FANIN_NORM_STANDARDIZE;
    assert_int_equal(load(fx, 1), FANIN_OK);
    fanin_dataset *d = fx->d;
    for (int j = 0; j < 6; j++) {
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < d->n_train; i++) s += d->x_train[i * 6 + j];
        for (int64_t i = 0; i < d->n_train; i++)
            s2 += pow(d->x_train[i * 6 + j] - s / d->n_train, 2);
        assert_true(fabs(s / d->n_train) < 1e-5);
        assert_true(fabs(sqrt(s2 / d->n_train) - 1) < 1e-5);
    }
    /* a constant feature is only centred */
    uint32_t di[2] = {4, 1}, dl[1] = {4};
    unsigned char c[4] = {9, 9, 9, 9}, lab[4] = {0, 1, 0, 1};
    write_idx(fx->spec.images, 0, 0x08, 2, di, c, 4);
    write_idx(fx->spec.labels, 0, 0x08, 1, dl, lab, 4);
    fx->spec.test = 0;
    assert_int_equal(load(fx, 1), FANIN_OK);
    for (int i = 0; i < 4; i++) assert_float_equal(fx->d->x_train[i], 0, 0);
}

/* ---- csv ---- */

static void csv_spec(fixture *fx, const char *text, const char *target) {
    memset(&fx->spec, 0, sizeof fx->spec);
    strcpy(fx->spec.source, "csv");
    path_in(fx, "d.csv", fx->spec.path, sizeof fx->spec.path);
    snprintf(fx->spec.target, sizeof fx->spec.target, "%s", target);
    write_text(fx->spec.path, text);
    fx->spec.train = fx->spec.test = -1;
}

static void test_csv_classes(void **state) {
    fixture *fx = *state;
    csv_spec(fx, "a, label ,\"b\"\r\n1,2,3\r\n\r\n4,0,\"5.5\"\r\n  \n7,1,8\n9,2,10\n11,0,12\n",
             "label");
    assert_int_equal(load(fx, 1), FANIN_OK);
    fanin_dataset *d = fx->d;
    assert_int_equal(d->n_train, 4); /* 80% of 5 */
    assert_int_equal(d->n_test, 1);
    assert_int_equal(d->n_features, 2);
    assert_int_equal(d->n_classes, 3);
    assert_float_equal(d->x_train[2], 4, 0);
    assert_float_equal(d->x_train[3], 5.5, 0);
    assert_float_equal(d->y_train[0], 2, 0);
    assert_float_equal(d->y_test[0], 0, 0);
    assert_float_equal(d->x_test[1], 12, 0);
    /* subset [2, 1] relabelled, train 2 then the rest */
    fx->spec.classes[0] = 2;
    fx->spec.classes[1] = 1;
    fx->spec.n_classes_listed = 2;
    fx->spec.train = 2;
    assert_int_equal(load(fx, 1), FANIN_OK);
    d = fx->d;
    assert_int_equal(d->n_train, 2);
    assert_int_equal(d->n_test, 1);
    assert_float_equal(d->y_train[0], 0, 0);
    assert_float_equal(d->y_train[1], 1, 0);
    assert_float_equal(d->x_test[0], 9, 0);
    assert_float_equal(d->y_test[0], 0, 0);
}

static void test_csv_regression(void **state) {
    fixture *fx = *state;
    csv_spec(fx, "x,y\n1,0.5\n2,1\n3,1.5\n", "y");
    fx->spec.train = 1;
    assert_int_equal(load(fx, 1), FANIN_OK);
    assert_int_equal(fx->d->n_classes, 0);
    assert_int_equal(fx->d->n_test, 2);
    assert_float_equal(fx->d->y_test[1], 1.5, 0);
    assert_non_null(strstr(fx->d->desc, "regression"));
}

static void test_csv_errors(void **state) {
    fixture *fx = *state;
    csv_spec(fx, "a,b,label\n1,2,0\n\n3,abc,1\n", "label");
    expect_error(fx, FANIN_EDATA, fx->spec.path, ":4:2: 'abc' is not a number", NULL);
    csv_spec(fx, "a,b,label\n1,2,0\n3,1\n", "label");
    expect_error(fx, FANIN_EDATA, ":3: 2 fields, but the header has 3 columns", NULL, NULL);
    csv_spec(fx, "sepal,petal,label\n1,2,0\n", "lable");
    expect_error(fx, FANIN_ECONFIG, ":1: no column 'lable'", "did you mean 'label'?",
                 "columns: sepal, petal, label");
    csv_spec(fx, "1,2,3\n1,2,0\n", "label");
    expect_error(fx, FANIN_EDATA, "the first row is all numbers", "header", NULL);
    csv_spec(fx, "a,label\n1,0\n2,1\n", "label");
    fx->spec.train = 2;
    fx->spec.test = 1;
    expect_error(fx, FANIN_EDATA, "asked for 2 training + 1 test rows", "has 2", NULL);
    csv_spec(fx, "a,label\n1,0\n", "label");
    strcat(fx->spec.path, ".missing");
    expect_error(fx, FANIN_EDATA, "data.path: cannot read '", "No such file or directory", NULL);
}

/* ---- synthetic ---- */

static void synth_spec(fixture *fx, const char *kind, int k, double noise) {
    memset(&fx->spec, 0, sizeof fx->spec);
    strcpy(fx->spec.source, "synthetic");
    strcpy(fx->spec.kind, kind);
    fx->spec.n = 500;
    fx->spec.noise = noise;
    fx->spec.n_synth_classes = k;
    fx->spec.train = fx->spec.test = -1;
}

/* linear_teacher: regression shapes, x ~ N(0, I), y of variance ~1 per component (T has
 * N(0, 1/features) entries). */
static void test_synthetic_linear_teacher(void **state) {
    fixture *fx = *state;
    synth_spec(fx, "linear_teacher", 0, 0.0);
    fx->spec.features = 8;
    fx->spec.outputs = 3;
    fx->spec.n = 4000;
    assert_int_equal(load(fx, 7), FANIN_OK);
    fanin_dataset *d = fx->d;
    assert_int_equal(d->n_train, 3200);
    assert_int_equal(d->n_test, 800);
    assert_int_equal(d->n_features, 8);
    assert_int_equal(d->y_dim, 3);
    assert_int_equal(d->n_classes, 0);
    double xx = 0, yy = 0;
    for (int64_t i = 0; i < d->n_train * 8; i++) xx += d->x_train[i] * d->x_train[i];
    for (int64_t i = 0; i < d->n_train * 3; i++) yy += d->y_train[i] * d->y_train[i];
    assert_true(fabs(xx / (d->n_train * 8) - 1) < 0.1); /* x ~ N(0, I) */
    assert_true(yy / (d->n_train * 3) > 0.2 && yy / (d->n_train * 3) < 3);
}

static void test_synthetic_shapes(void **state) {
    fixture *fx = *state;
    static const char *const kinds[] = {"spiral", "moons", "circles", "xor", "blobs"};
    static const int ks[] = {3, 2, 2, 2, 4};
    for (int t = 0; t < 5; t++) {
        synth_spec(fx, kinds[t], ks[t], 0.1);
        assert_int_equal(load(fx, 7), FANIN_OK);
        fanin_dataset *d = fx->d;
        assert_int_equal(d->n_train, 400);
        assert_int_equal(d->n_test, 100);
        assert_int_equal(d->n_features, 2);
        assert_int_equal(d->n_classes, ks[t]);
        int count[8] = {0};
        for (int64_t i = 0; i < d->n_train; i++) {
            float y = d->y_train[i];
            assert_true(y >= 0 && y < ks[t] && y == floorf(y));
            count[(int)y]++;
            assert_true(isfinite(d->x_train[2 * i]) && isfinite(d->x_train[2 * i + 1]));
        }
        for (int c = 0; c < ks[t]; c++) assert_true(count[c] > 400 / ks[t] / 2);
    }
}

static void test_synthetic_seeded(void **state) {
    fixture *fx = *state;
    synth_spec(fx, "spiral", 3, 0.2);
    assert_int_equal(load(fx, 11), FANIN_OK);
    fanin_dataset *a = fx->d;
    fx->d = NULL;
    assert_int_equal(load(fx, 11), FANIN_OK);
    assert_memory_equal(a->x_train, fx->d->x_train, sizeof(float) * 2 * 400);
    assert_memory_equal(a->y_test, fx->d->y_test, sizeof(float) * 100);
    assert_int_equal(load(fx, 12), FANIN_OK);
    assert_true(memcmp(a->x_train, fx->d->x_train, sizeof(float) * 2 * 400) != 0);
    fanin__data_free(a);
}

static void test_synthetic_errors(void **state) {
    fixture *fx = *state;
    synth_spec(fx, "moon", 2, 0.1);
    expect_error(fx, FANIN_ECONFIG, "unknown synthetic kind 'moon'", "did you mean 'moons'?", NULL);
    synth_spec(fx, "xor", 3, 0.1);
    expect_error(fx, FANIN_ECONFIG, "'xor' has 2 classes, not 3", NULL, NULL);
    synth_spec(fx, "moons", 2, 0.1);
    fx->spec.train = 450;
    fx->spec.test = 100;
    expect_error(fx, FANIN_EDATA, "asked for 450 training + 100 test points",
                 "but the generated set (data.n = 500) has 500", NULL);
}

/* ---- the real data set ---- */

static void test_fashion_real(void **state) {
    fixture *fx = *state;
    struct stat st;
    if (stat(FMNIST_DIR "/train-images-idx3-ubyte.gz", &st) != 0 &&
        stat(FMNIST_DIR "/train-images-idx3-ubyte", &st) != 0)
        skip();
    memset(&fx->spec, 0, sizeof fx->spec);
    strcpy(fx->spec.source, "fashion-mnist");
    strcpy(fx->spec.path, FMNIST_DIR);
    fx->spec.classes[0] = 0;
    fx->spec.classes[1] = 6;
    fx->spec.n_classes_listed = 2;
    fx->spec.train = 2000;
    fx->spec.test = 1000;
    fx->spec.normalize = FANIN_NORM_SCALE255;
    assert_int_equal(load(fx, 1), FANIN_OK);
    fanin_dataset *d = fx->d;
    assert_int_equal(d->n_features, 784);
    assert_true(d->shape.c == 1 && d->shape.h == 28 && d->shape.w == 28);
    assert_int_equal(d->n_train, 2000);
    assert_int_equal(d->n_test, 1000);
    assert_int_equal(d->n_classes, 2);
    double ones = 0, max = 0;
    for (int64_t i = 0; i < d->n_train; i++) ones += d->y_train[i];
    for (int64_t i = 0; i < d->n_train * 784; i++) max = fmax(max, d->x_train[i]);
    assert_true(ones > 800 && ones < 1200);
    assert_true(max <= 1.0 && max > 0.9);
    assert_string_equal(d->desc, "fashion-mnist classes [0, 6]: 2000 train / 1000 test, "
                                 "784 features");
    fx->spec.train = 20000;
    expect_error(fx, FANIN_EDATA, "asked for 20000 training examples of classes [0, 6]",
                 "has 12000; lower data.train", NULL);
}

/* ---- hdf5 ---- */

/* Dataset `name` [dims] of file type `ft`, written from memory of type `mt`. */
static void h5_put(hid_t f, const char *name, hid_t ft, hid_t mt, int rank, const hsize_t *dims,
                   const void *data) {
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t ds = H5Dcreate2(f, name, ft, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(sp >= 0 && ds >= 0);
    assert_true(H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(ds);
    H5Sclose(sp);
}

static hid_t h5_create(const fixture *fx, const char *name) {
    char p[512];
    path_in(fx, name, p, sizeof p);
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    return f;
}

/* The course's layout as h5py writes it: `prefix`_set_x uint8 [n, 4, 4, 3] with pixel(i, j),
 * `prefix`_set_y int64 ([1, n] when row, else [n]) with labels i % 2 (+ 68 for label 7), and
 * list_classes, a string dataset. */
static void h5_course(const fixture *fx, const char *file, const char *prefix, int n, int row,
                      int bad_label) {
    unsigned char x[10 * 48];
    int64_t y[10];
    char name[64];
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < 48; j++) x[i * 48 + j] = pixel(i, j);
        y[i] = i % 2 + (bad_label && i == 7 ? 68 : 0);
    }
    hid_t f = h5_create(fx, file), s7 = H5Tcopy(H5T_C_S1);
    hsize_t dx[4] = {(hsize_t)n, 4, 4, 3}, dy[2] = {1, (hsize_t)n}, dn[1] = {(hsize_t)n};
    hsize_t dc[1] = {2};
    snprintf(name, sizeof name, "%s_set_x", prefix);
    h5_put(f, name, H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, dx, x);
    snprintf(name, sizeof name, "%s_set_y", prefix);
    h5_put(f, name, H5T_STD_I64LE, H5T_NATIVE_INT64, row ? 2 : 1, row ? dy : dn, y);
    H5Tset_size(s7, 7);
    h5_put(f, "list_classes", s7, s7, 1, dc, "non-catcat\0\0\0\0");
    H5Tclose(s7);
    H5Fclose(f);
}

static void h5_spec(fixture *fx, const char *file, const char *test_file) {
    memset(&fx->spec, 0, sizeof fx->spec);
    strcpy(fx->spec.source, "hdf5");
    path_in(fx, file, fx->spec.path, sizeof fx->spec.path);
    if (test_file) path_in(fx, test_file, fx->spec.test_path, sizeof fx->spec.test_path);
    strcpy(fx->spec.x, "train_set_x");
    strcpy(fx->spec.y, "train_set_y");
    strcpy(fx->spec.test_x, "test_set_x");
    strcpy(fx->spec.test_y, "test_set_y");
    fx->spec.train = fx->spec.test = -1;
    fx->spec.normalize = FANIN_NORM_AUTO;
}

/* train_catvnoncat.h5 + test_catvnoncat.h5 in small: uint8 images scaled by 255 (auto). */
static void test_hdf5_course(void **state) {
    fixture *fx = *state;
    h5_course(fx, "train.h5", "train", 10, 1, 0);
    h5_course(fx, "test.h5", "test", 6, 0, 0);
    h5_spec(fx, "train.h5", "test.h5");
    assert_int_equal(load(fx, 1), FANIN_OK);
    fanin_dataset *d = fx->d;
    assert_int_equal(d->n_train, 10);
    assert_int_equal(d->n_test, 6);
    assert_int_equal(d->n_features, 48);
    assert_int_equal(d->n_classes, 2);
    assert_int_equal(d->y_dim, 1);
    for (int i = 0; i < 10; i++) {
        assert_float_equal(d->y_train[i], (i % 2), 0);
        for (int j = 0; j < 48; j++)
            assert_float_equal(d->x_train[i * 48 + j], pixel(i, j) / 255.0f, 1e-7);
    }
    assert_float_equal(d->x_test[5 * 48 + 47], pixel(5, 47) / 255.0f, 1e-7);
    assert_float_equal(d->y_test[5], 1, 0);
    assert_string_equal(d->desc, "hdf5 train.h5 'train_set_x' (uint8: scale255): 10 train / "
                                 "6 test, 48 features, 2 classes");
    /* classes [1, 0] relabelled, the first 3 kept training rows; normalize none keeps bytes */
    fx->spec.classes[0] = 1;
    fx->spec.classes[1] = 0;
    fx->spec.n_classes_listed = 2;
    fx->spec.train = 3;
    fx->spec.test = 2;
    fx->spec.normalize = FANIN_NORM_NONE;
    assert_int_equal(load(fx, 1), FANIN_OK);
    d = fx->d;
    assert_int_equal(d->n_train, 3);
    assert_int_equal(d->n_test, 2);
    assert_float_equal(d->y_train[0], 1, 0); /* row 0: label 0 -> 1 */
    assert_float_equal(d->y_train[1], 0, 0);
    assert_float_equal(d->x_train[2 * 48 + 1], pixel(2, 1), 0);
    fx->spec.train = 11;
    expect_error(fx, FANIN_EDATA, "asked for 11 training examples of classes [1, 0]",
                 "dataset 'train_set_x' has 10; lower data.train", NULL);
    /* one file holding all four datasets, as path alone */
    hid_t f = H5Fopen(fx->spec.path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t t = H5Fopen(fx->spec.test_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0 && t >= 0);
    assert_true(H5Ocopy(t, "test_set_x", f, "test_set_x", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    assert_true(H5Ocopy(t, "test_set_y", f, "test_set_y", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    H5Fclose(t);
    H5Fclose(f);
    h5_spec(fx, "train.h5", NULL);
    assert_int_equal(load(fx, 1), FANIN_OK);
    assert_int_equal(fx->d->n_train, 10);
    assert_int_equal(fx->d->n_test, 6);
}

/* Float x and float y: regression, no scaling under auto; without test datasets the training
 * ones are split 80/20 as csv is. */
static void test_hdf5_float_regression(void **state) {
    fixture *fx = *state;
    float x[8 * 3];
    double y[8 * 2];
    for (int i = 0; i < 24; i++) x[i] = 0.5f * (float)i - 3;
    for (int i = 0; i < 16; i++) y[i] = 0.25 * i;
    hid_t f = h5_create(fx, "f.h5");
    hsize_t dx[2] = {8, 3}, dy[2] = {8, 1}, dy2[2] = {8, 2};
    h5_put(f, "features", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dx, x);
    h5_put(f, "target", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, dy, y);
    h5_put(f, "target2", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, dy2, y);
    H5Fclose(f);
    h5_spec(fx, "f.h5", NULL);
    strcpy(fx->spec.x, "features");
    strcpy(fx->spec.y, "target");
    assert_int_equal(load(fx, 1), FANIN_OK);
    fanin_dataset *d = fx->d;
    assert_int_equal(d->n_train, 6);
    assert_int_equal(d->n_test, 2);
    assert_int_equal(d->n_features, 3);
    assert_int_equal(d->n_classes, 0);
    assert_float_equal(d->x_train[4], x[4], 0);
    assert_float_equal(d->x_test[5], x[23], 0);
    assert_float_equal(d->y_test[1], y[7], 0);
    assert_non_null(strstr(d->desc, "(not uint8: no scaling)"));
    assert_non_null(strstr(d->desc, "regression target"));
    strcpy(fx->spec.y, "target2"); /* [n, 2] targets */
    fx->spec.test = 0;
    assert_int_equal(load(fx, 1), FANIN_OK);
    assert_int_equal(fx->d->n_train, 8);
    assert_int_equal(fx->d->y_dim, 2);
    assert_float_equal(fx->d->y_train[15], y[15], 0);
    /* float labels become classes when data.classes lists them */
    strcpy(fx->spec.y, "target");
    fx->spec.classes[0] = 0;
    fx->spec.classes[1] = 1;
    fx->spec.n_classes_listed = 2;
    expect_error(fx, FANIN_EDATA,
                 "dataset 'target' (data.y) row 1: target 0.25 is not a class "
                 "label, but data.classes needs integer labels",
                 NULL, NULL);
}

static void test_hdf5_missing(void **state) {
    fixture *fx = *state;
    h5_course(fx, "train.h5", "train", 10, 1, 0);
    h5_spec(fx, "train.h5", NULL);
    strcpy(fx->spec.x, "train_set_z");
    expect_error(fx, FANIN_EDATA,
                 "/train.h5: no dataset 'train_set_z' (data.x); did you mean "
                 "'train_set_x'? datasets: list_classes, train_set_x, train_set_y",
                 NULL, NULL);
    h5_spec(fx, "train.h5", "test.h5");
    expect_error(fx, FANIN_EDATA, "data.test_path: cannot read '",
                 "/test.h5': No such file or "
                 "directory",
                 NULL);
    h5_course(fx, "test.h5", "test", 6, 0, 0);
    strcpy(fx->spec.test_y, "labels");
    expect_error(fx, FANIN_EDATA,
                 "/test.h5: no dataset 'labels' (data.test_y); datasets: "
                 "list_classes, test_set_x, test_set_y",
                 NULL, NULL);
    strcpy(fx->spec.x, "list_classes");
    expect_error(fx, FANIN_EDATA, "dataset 'list_classes' (data.x) holds strings, not numbers",
                 NULL, NULL);
    char p[512];
    path_in(fx, "bad.h5", p, sizeof p);
    write_text(p, "x,y\n1,2\n");
    h5_spec(fx, "bad.h5", NULL);
    expect_error(fx, FANIN_EDATA,
                 "/bad.h5: not an HDF5 file (no HDF5 signature); check "
                 "data.path",
                 NULL, NULL);
    h5_spec(fx, "nope.h5", NULL);
    expect_error(fx, FANIN_EDATA, "data.path: cannot read '",
                 "/nope.h5': No such file or "
                 "directory",
                 NULL);
}

static void test_hdf5_shapes(void **state) {
    fixture *fx = *state;
    unsigned char x[10 * 5] = {0};
    int64_t y[24] = {0};
    hsize_t d9[1] = {9}, d234[3] = {2, 3, 4}, d65[2] = {6, 5}, d6[1] = {6}, d102[2] = {10, 2};
    h5_course(fx, "train.h5", "train", 10, 1, 0);
    hid_t f = h5_create(fx, "test.h5");
    h5_put(f, "y9", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, d9, y);
    h5_put(f, "y234", H5T_STD_I64LE, H5T_NATIVE_INT64, 3, d234, y);
    h5_put(f, "y102", H5T_STD_I64LE, H5T_NATIVE_INT64, 2, d102, y);
    h5_put(f, "test_set_x", H5T_STD_U8LE, H5T_NATIVE_UINT8, 2, d65, x);
    h5_put(f, "test_set_y", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, d6, y);
    H5Fclose(f);
    h5_spec(fx, "train.h5", "test.h5");
    expect_error(fx, FANIN_EDATA,
                 "/test.h5: dataset 'test_set_x' (data.test_x) has 5 features "
                 "per example but 'train_set_x' (data.x) in ",
                 "/train.h5 has 48; train and "
                 "test must have the same shape",
                 NULL);
    /* the training datasets from test.h5: rows differ, wrong ranks */
    h5_spec(fx, "test.h5", NULL);
    strcpy(fx->spec.x, "test_set_x");
    strcpy(fx->spec.y, "y9");
    fx->spec.test = 0;
    expect_error(fx, FANIN_EDATA,
                 "dataset 'test_set_x' (data.x) has 6 examples but 'y9' "
                 "(data.y) has 9 labels (shape [9]); they must describe the same examples",
                 NULL, NULL);
    strcpy(fx->spec.y, "y234");
    expect_error(fx, FANIN_EDATA,
                 "dataset 'y234' (data.y) is [2, 3, 4]; labels must be [n], "
                 "[1, n] or [n, 1]",
                 NULL, NULL);
    strcpy(fx->spec.x, "y102");
    strcpy(fx->spec.y, "y102"); /* integer labels [n, 2] */
    expect_error(fx, FANIN_EDATA, "dataset 'y102' (data.y) is [10, 2]", NULL, NULL);
    /* a label beyond the class range */
    h5_course(fx, "train.h5", "train", 10, 0, 1);
    h5_spec(fx, "train.h5", NULL);
    expect_error(fx, FANIN_EDATA,
                 "dataset 'train_set_y' (data.y) row 7: label 69 is not a "
                 "class label (0..63); list the labels to keep in data.classes",
                 NULL, NULL);
    fx->spec.classes[0] = 0;
    fx->spec.classes[1] = 1;
    fx->spec.n_classes_listed = 2;
    assert_int_equal(load(fx, 1), FANIN_OK); /* listed: row 7 is dropped */
    assert_int_equal(fx->d->n_train + fx->d->n_test, 9);
}

/* ---- the checks before loading (check.c, issue 16) ---- */

/* fanin__data_check_files on an experiment holding fx->spec, data key k written at
 * t.yaml:3:(10 + k); every message joined into out ("" when none). */
static const char *check_files(fixture *fx) {
    static fanin_experiment x;
    static char out[4 * FANIN_ERRLEN];
    memset(&x, 0, sizeof x);
    x.data = fx->spec;
    for (int k = 0; k < FANIN__DK_COUNT; k++) x.data_loc[k] = (fanin__loc){"t.yaml", 3, 10 + k};
    fanin__errs errs = {0};
    fanin__data_check_files(&x, &errs);
    fanin__errs_join(&errs, out, sizeof out);
    fanin__errs_deinit(&errs);
    if (getenv("FANIN_TEST_VERBOSE")) print_message("%s\n", out);
    return out;
}

/* The checks report "t.yaml:3:COL: " + want + path + then (each NULL-able), in that order. */
static void want_check(fixture *fx, int col, const char *want, const char *path, const char *then) {
    char head[FANIN_ERRLEN + 1200];
    snprintf(head, sizeof head, "t.yaml:3:%d: %s%s%s", col, want, path ? path : "",
             then ? then : "");
    const char *out = check_files(fx);
    if (!strstr(out, head)) fail_msg("got:\n%s\nwant:\n%s", out, head);
}

static void test_check_idx(void **state) {
    fixture *fx = *state;
    idx_spec(fx, 1);
    assert_string_equal(check_files(fx), "");
    idx_spec(fx, 0);
    assert_string_equal(check_files(fx), "");
    strcat(fx->spec.labels, ".nope");
    write_text(fx->spec.images, "PK\x03\x04 a zip file");
    want_check(fx, 12, "data.images: '", fx->spec.images,
               "' is not an IDX file: it starts "
               "0x504B0304, not two zero bytes, a type byte and a dimension count");
    want_check(fx, 13, "data.labels: cannot read '", fx->spec.labels,
               "': No such file or "
               "directory; relative paths start at the experiment file's folder");
    write_bytes(fx->spec.test_images, "\0\0", 2, 0);
    want_check(fx, 14, "data.test_images: '", fx->spec.test_images,
               "' is not an IDX file: "
               "it holds 2 bytes");
    snprintf(fx->spec.test_labels, sizeof fx->spec.test_labels, "%s", fx->dir);
    want_check(fx, 15, "data.test_labels: cannot read '", fx->dir,
               "': it is a folder, not a "
               "file");
    fx->spec.test = 0; /* the test files are not read: not checked */
    assert_null(strstr(check_files(fx), "data.test_"));
}

static void test_check_csv_hdf5(void **state) {
    fixture *fx = *state;
    csv_spec(fx, "\xEF\xBB\xBF\n a, label\n1,0\n", "label");
    assert_string_equal(check_files(fx), "");
    strcpy(fx->spec.target, "lable");
    want_check(fx, 16, "", fx->spec.path,
               ":2: no column 'lable' (data.target) in the header; "
               "did you mean 'label'? columns: a, label");
    csv_spec(fx, "1,2\n3,4\n", "label");
    want_check(fx, 10, "", fx->spec.path, ":1: the first row is all numbers");
    csv_spec(fx, "\n\n", "label");
    want_check(fx, 10, "", fx->spec.path, ": empty file");
    h5_course(fx, "train.h5", "train", 10, 1, 0);
    h5_spec(fx, "train.h5", "test.h5");
    want_check(fx, 11, "data.test_path: cannot read '", fx->spec.test_path, "': No such file");
    h5_spec(fx, "train.h5", "d.csv");
    want_check(fx, 11, "data.test_path: '", fx->spec.test_path,
               "' is not an HDF5 file (no "
               "HDF5 signature)");
    h5_spec(fx, "train.h5", NULL);
    assert_string_equal(check_files(fx), "");
}

static void test_check_fashion_folder(void **state) {
    fixture *fx = *state;
    memset(&fx->spec, 0, sizeof fx->spec);
    strcpy(fx->spec.source, "fashion-mnist");
    snprintf(fx->spec.path, sizeof fx->spec.path, "%s/nope", fx->dir);
    fx->spec.train = fx->spec.test = -1;
    want_check(fx, 10, "data.path: cannot read the folder '", fx->spec.path,
               "': No such file "
               "or directory; it must hold train-images-idx3-ubyte, train-labels-idx1-ubyte, "
               "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each .gz or not; install "
               "Debian's dataset-fashion-mnist or set data.path");
    snprintf(fx->spec.path, sizeof fx->spec.path, "%s", fx->dir);
    char a[512], b[512];
    path_in(fx, "train-images-idx3-ubyte.gz", a, sizeof a);
    path_in(fx, "train-labels-idx1-ubyte.gz", b, sizeof b);
    write_pair(a, b, 1, N_IMG, 0);
    path_in(fx, "t10k-labels-idx1-ubyte.gz", b, sizeof b);
    want_check(fx, 10, "data.path: cannot read '", b,
               "': No such file or directory; the "
               "folder must hold");
    fx->spec.test = 0;
    assert_string_equal(check_files(fx), "");
}

/* ---- example shapes (issue 10) ---- */

static void assert_shape(fanin__data_shape s, int c, int h, int w) {
    if (s.c != c || s.h != h || s.w != w)
        fail_msg("shape [%d, %d, %d], expected [%d, %d, %d]", s.c, s.h, s.w, c, h, w);
}

/* The loaded shape and the one read from the headers alone agree. */
static void expect_shape(fixture *fx, int c, int h, int w) {
    fanin__data_shape peek = {0, 0, 0};
    assert_int_equal(load(fx, 1), FANIN_OK);
    assert_shape(fx->d->shape, c, h, w);
    assert_int_equal(fx->d->n_features, c * h * w);
    assert_int_equal(fanin__data_peek_shape(&fx->spec, &peek, fx->err, sizeof fx->err), FANIN_OK);
    assert_shape(peek, c, h, w);
}

/* idx [n, 2, 3] images are [1, 2, 3]; [n, f] vectors; [n, c, h, w] images; csv and synthetic
 * vectors; fashion-mnist [1, 28, 28] from its name alone. */
static void test_shapes_of_sources(void **state) {
    fixture *fx = *state;
    idx_spec(fx, 1);
    expect_shape(fx, 1, 2, 3);
    uint32_t d4[4] = {N_IMG, 2, 1, 3}, d2[2] = {N_IMG, 6};
    unsigned char img[N_IMG * 6] = {0};
    write_idx(fx->spec.images, 1, 0x08, 4, d4, img, sizeof img);
    fx->spec.test = 0;
    expect_shape(fx, 2, 1, 3);
    write_idx(fx->spec.images, 1, 0x08, 2, d2, img, sizeof img);
    expect_shape(fx, 6, 1, 1);
    csv_spec(fx, "a,b,c,y\n1,2,3,0\n4,5,6,1\n7,8,9,0\n", "y");
    expect_shape(fx, 3, 1, 1);
    synth_spec(fx, "moons", 2, 0.1);
    expect_shape(fx, 2, 1, 1);
    synth_spec(fx, "linear_teacher", 0, 0.0);
    fx->spec.features = 5;
    fx->spec.outputs = 1;
    expect_shape(fx, 5, 1, 1);
    fanin__data_shape s;
    strcpy(fx->spec.source, "fashion-mnist");
    assert_int_equal(fanin__data_peek_shape(&fx->spec, &s, fx->err, sizeof fx->err), FANIN_OK);
    assert_shape(s, 1, 28, 28);
    idx_spec(fx, 0);
    unlink(fx->spec.images);
    assert_int_equal(fanin__data_peek_shape(&fx->spec, &s, fx->err, sizeof fx->err), FANIN_EDATA);
    assert_non_null(strstr(fx->err, "data.images: cannot read"));
}

/* x [n, h=2, w=3, c=4] with value 100 * e + 10 * i + ... : under layout hwc a model that reads
 * images gets each example as [c, h, w] (torch: x.permute(0, 3, 1, 2)); a dense net keeps the
 * file's order (numpy's reshape(n, -1)); layout chw reads [n, c, h, w] as it is. */
static void test_hdf5_layout(void **state) {
    fixture *fx = *state;
    enum { N = 5, H = 2, W = 3, C = 4, F = H * W * C };
    float x[N * F];
    int64_t y[N] = {0, 1, 0, 1, 0};
    for (int e = 0; e < N; e++)
        for (int j = 0; j < F; j++) x[e * F + j] = (float)(1000 * e + j); /* j = (i*W + k)*C + c */
    hsize_t dx[4] = {N, H, W, C}, dy[1] = {N}, d3[3] = {N, 6, 4};
    hid_t f = h5_create(fx, "f.h5");
    h5_put(f, "train_set_x", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, dx, x);
    h5_put(f, "train_set_y", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, dy, y);
    h5_put(f, "x3", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 3, d3, x);
    H5Fclose(f);
    h5_spec(fx, "f.h5", NULL);
    fx->spec.test = 0;
    fx->spec.normalize = FANIN_NORM_NONE;
    fx->spec.model_images = 1;
    expect_shape(fx, C, H, W);
    for (int e = 0; e < N; e++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H; i++)
                for (int k = 0; k < W; k++)
                    assert_float_equal(fx->d->x_train[e * F + (c * H + i) * W + k],
                                       x[e * F + (i * W + k) * C + c], 0);
    fx->spec.model_images = 0; /* a dense net: the course's order, as before */
    expect_shape(fx, F, 1, 1);
    for (int j = 0; j < N * F; j++) assert_float_equal(fx->d->x_train[j], x[j], 0);
    fx->spec.model_images = 1;
    fx->spec.layout = FANIN_LAYOUT_CHW;
    expect_shape(fx, H, W, C);
    for (int j = 0; j < N * F; j++) assert_float_equal(fx->d->x_train[j], x[j], 0);
    strcpy(fx->spec.x, "x3"); /* [n, h, w]: one channel */
    expect_shape(fx, 1, 6, 4);
}

/* A hand-built experiment: `types` (n of them) located at t.yaml:(10 + l):7, on `source`. */
static fanin_experiment *shape_experiment(const char *source, const int *types, int n) {
    static fanin_experiment x;
    static fanin__layer_spec l[8];
    memset(&x, 0, sizeof x);
    memset(l, 0, sizeof l);
    strcpy(x.data.source, source);
    for (int i = 0; i < n; i++)
        l[i] = (fanin__layer_spec){.type = types[i], .loc = {"t.yaml", 10 + i, 7}};
    x.layers = l;
    x.n_layers = n;
    x.input_loc = (fanin__loc){"t.yaml", 3, 10};
    return &x;
}

static void test_model_input(void **state) {
    fixture *fx = *state;
    static const int mlp[] = {FANIN_LAYER_DENSE, FANIN_LAYER_DROPOUT, FANIN_LAYER_DENSE};
    static const int cnn[] = {FANIN_LAYER_CONV2D, FANIN_LAYER_FLATTEN, FANIN_LAYER_DENSE};
    fanin__data_shape img = {3, 4, 5}, vec = {60, 1, 1}, s;
    fanin_experiment *x = shape_experiment("hdf5", mlp, 3);
    assert_int_equal(fanin__data_model_input(x, img, &s, fx->err, sizeof fx->err), FANIN_OK);
    assert_shape(s, 60, 1, 1); /* a dense net reads vectors */
    x = shape_experiment("hdf5", cnn, 3);
    assert_int_equal(fanin__data_model_input(x, img, &s, fx->err, sizeof fx->err), FANIN_OK);
    assert_shape(s, 3, 4, 5);
    x->input[0] = 3, x->input[1] = 5, x->input[2] = 4;
    assert_int_equal(fanin__data_model_input(x, img, &s, fx->err, sizeof fx->err), FANIN_ECONFIG);
    assert_string_equal(fx->err, "t.yaml:3:10: model.input [3, 5, 4] does not match the data's "
                                 "example shape [3, 4, 5]; data.layout (hwc or chw) says how x "
                                 "holds an image");
    x->input[0] = 1;
    assert_int_equal(fanin__data_model_input(x, img, &s, fx->err, sizeof fx->err), FANIN_ECONFIG);
    assert_string_equal(fx->err, "t.yaml:3:10: model.input [1, 5, 4] (20 values) does not match "
                                 "the data: its examples are [3, 4, 5] (60 values)");
    x->input[0] = 0;
    assert_int_equal(fanin__data_model_input(x, vec, &s, fx->err, sizeof fx->err), FANIN_ECONFIG);
    assert_string_equal(fx->err, "t.yaml:10:7: a conv2d layer needs images [C, H, W], but the "
                                 "examples of data source 'hdf5' are vectors of 60 values; give "
                                 "model.input: [C, H, W] (C*H*W = 60) to shape them, or use "
                                 "dense layers");
    x->input[0] = 3, x->input[1] = 4, x->input[2] = 5; /* shapes a flat source */
    assert_int_equal(fanin__data_model_input(x, vec, &s, fx->err, sizeof fx->err), FANIN_OK);
    assert_shape(s, 3, 4, 5);
    char t[32];
    fanin__data_shape_text(vec, t, sizeof t);
    assert_string_equal(t, "[60]");
}

static void test_free_null(void **state) {
    (void)state;
    fanin__data_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_idx_raw_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_gz_subset_relabel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_float_idx2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_too_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_bad_magic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_truncated_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_truncated_gz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_truncated_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_count_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_wrong_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_corrupt_gz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_gz_trailer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_label_out_of_range_fashion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fashion_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_standardize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_classes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_regression, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_synthetic_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_synthetic_seeded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_synthetic_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_synthetic_linear_teacher, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fashion_real, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hdf5_course, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hdf5_float_regression, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hdf5_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hdf5_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_idx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_csv_hdf5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_fashion_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shapes_of_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hdf5_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_input, setup, teardown),
        cmocka_unit_test(test_free_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
