/* libFuzzer harness: the CSV reader. The input is the file; it is read with target column `y`
 * as classes (all, then the subset [1, 0]) and as a regression target, standardised. */
#include "fuzz_common.h"
#include "base/errors.h"
#include "config/experiment.h"
#include "data/data.h"

#include <stdint.h>
#include <stdio.h>

static void load(const char *path, int mode) {
    fanin__data_spec s;
    memset(&s, 0, sizeof s);
    snprintf(s.source, sizeof s.source, "csv");
    snprintf(s.path, sizeof s.path, "%s", path);
    snprintf(s.target, sizeof s.target, "y");
    s.train = s.test = -1;
    if (mode == 1) {
        s.classes[0] = 1;
        s.classes[1] = 0;
        s.n_classes_listed = 2;
        s.train = 2;
    }
    s.normalize = mode == 2 ? FANIN_NORM_STANDARDIZE : FANIN_NORM_NONE;
    fanin_dataset *d;
    char err[FANIN_ERRLEN];
    if (fanin__data_load(&s, 1, &d, err, sizeof err) == FANIN_OK) fanin__data_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    int fd = fuzz_memfile(data, size, path, sizeof path);
    if (fd < 0) return 0;
    for (int mode = 0; mode < 3; mode++) load(path, mode);
    close(fd);
    return 0;
}
