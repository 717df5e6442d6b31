/* libFuzzer harness: the experiment-file loader. The input is a YAML file; it is parsed
 * (fanin__config_parse) and, when it parses, its first and last sweep members are resolved
 * against the real plugins and written back as YAML. Any result is fine; a crash, a leak or
 * undefined behaviour is a finding. */
#include "fuzz_common.h"
#include "base/errors.h"
#include "config/experiment.h"

#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[4 * FANIN_ERRLEN];
    fanin_config *c;
    if (fanin__config_parse(&c, "fuzz.yaml", (const char *)data, size, err, sizeof err) != FANIN_OK)
        return 0;
    int members = fanin__config_members(c);
    int which[2] = {0, members - 1};
    for (int i = 0; i < (members > 1 ? 2 : 1); i++) {
        fanin_experiment *x;
        if (fanin__config_resolve(c, which[i], fuzz_registry(), &x, err, sizeof err) != FANIN_OK)
            continue;
        FILE *f = fopen("/dev/null", "w");
        if (f) {
            fanin__experiment_write_yaml(x, f);
            fclose(f);
        }
        fanin__experiment_free(x);
    }
    fanin__config_free(c);
    return 0;
}
