/* libFuzzer harness: `--set` parsing. Each input line is one KEY=VALUE assignment applied in
 * order to a small valid experiment, which is then resolved. */
#include "fuzz_common.h"
#include "base/errors.h"
#include "config/experiment.h"

#include <stdint.h>

static const char base[] =
    "name: f\n"
    "data: {source: synthetic, kind: moons, n: 100}\n"
    "model:\n"
    "  defaults: {activation: relu, init: he_normal}\n"
    "  layers: [{units: 4}, {units: 1, activation: sigmoid}]\n"
    "loss: bce\n"
    "optimizer: {name: sgd, lr: 0.1}\n"
    "train: {iterations: 10}\n"
    "sweep: {seed: [1, 2]}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[4 * FANIN_ERRLEN];
    fanin_config *c;
    if (fanin__config_parse(&c, "base.yaml", base, sizeof base - 1, err, sizeof err) != FANIN_OK)
        abort();
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    int ok = 1;
    for (char *line = text, *next; ok && line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        if (*line) ok = fanin__config_set(c, line, err, sizeof err) == FANIN_OK;
    }
    if (ok) {
        fanin_experiment *x;
        int members = fanin__config_members(c);
        if (fanin__config_resolve(c, members - 1, fuzz_registry(), &x, err, sizeof err) == FANIN_OK)
            fanin__experiment_free(x);
    }
    free(text);
    fanin__config_free(c);
    return 0;
}
