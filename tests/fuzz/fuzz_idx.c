/* libFuzzer harness: the IDX reader (raw and gzip). The first two bytes (little-endian) give
 * the length of the labels file; the rest of the input is the images file. Both are read as
 * the `idx` source with every class, then with a class subset and a test split. */
#include "fuzz_common.h"
#include "base/errors.h"
#include "config/experiment.h"
#include "data/data.h"

#include <stdint.h>
#include <stdio.h>

static void load(const char *images, const char *labels, int subset) {
    fanin__data_spec s;
    memset(&s, 0, sizeof s);
    snprintf(s.source, sizeof s.source, "idx");
    snprintf(s.images, sizeof s.images, "%s", images);
    snprintf(s.labels, sizeof s.labels, "%s", labels);
    s.train = subset ? 3 : -1;
    s.test = subset ? 2 : 0;
    if (subset) {
        snprintf(s.test_images, sizeof s.test_images, "%s", images);
        snprintf(s.test_labels, sizeof s.test_labels, "%s", labels);
        s.classes[0] = 1;
        s.classes[1] = 0;
        s.n_classes_listed = 2;
    }
    s.normalize = subset ? FANIN_NORM_STANDARDIZE : FANIN_NORM_SCALE255;
    fanin_dataset *d;
    char err[FANIN_ERRLEN];
    if (fanin__data_load(&s, 1, &d, err, sizeof err) == FANIN_OK) fanin__data_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    size_t nl = (size_t)data[0] | (size_t)data[1] << 8;
    if (nl > size - 2) nl = size - 2;
    char lp[64], ip[64];
    int lf = fuzz_memfile(data + 2, nl, lp, sizeof lp);
    int imf = fuzz_memfile(data + 2 + nl, size - 2 - nl, ip, sizeof ip);
    if (lf >= 0 && imf >= 0) {
        load(ip, lp, 0);
        load(ip, lp, 1);
    }
    if (lf >= 0) close(lf);
    if (imf >= 0) close(imf);
    return 0;
}
