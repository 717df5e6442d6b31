/* libFuzzer harness: the safetensors reader (fanin__st_parse), then every tensor's bytes are
 * touched so an out-of-range offset the checks missed shows up under AddressSanitizer. */
#include "base/errors.h"
#include "io/safetensors.h"
#include "fuzz_common.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* a copy of exactly `size` bytes, so reading past the end is caught */
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    fanin__st_file f;
    char err[FANIN_ERRLEN];
    if (fanin__st_parse(buf, size, "fuzz.safetensors", &f, err, sizeof err) == FANIN_OK) {
        unsigned sum = 0;
        for (int i = 0; i < f.n; i++)
            for (uint64_t b = f.t[i].begin; b < f.t[i].end; b++) sum += f.data[b];
        if (f.config) sum += (unsigned)strlen(f.config);
        (void)fanin__st_find(&f, "layers.0.weight");
        volatile unsigned keep = sum;
        (void)keep;
        fanin__st_deinit(&f);
    }
    free(buf);
    return 0;
}
