/* Shared by the tests that run whole experiments through fanin__run and read the run folder
 * back (test_configs.c, test_mup_configs.c, test_coord_check.c): the built plugins' registry
 * as the group's setup, and one config run into a fresh folder. Include after <cmocka.h>. */
#ifndef FANIN_TEST_RUN_TESTS_H
#define FANIN_TEST_RUN_TESTS_H

#include "base/errors.h"
#include "config/experiment.h"
#include "plugin/registry.h"
#include "run/run.h"
#include "run/runset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIGS FANIN_TEST_DIR "/../configs"
#define FMNIST "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

static fanin_registry *reg;
static char err[8 * FANIN_ERRLEN];

/* The registry of the plugins this build made (the group's setup and teardown). */
static int setup(void **state) {
    (void)state;
    const char *dirs[] = {FANIN_TEST_PLUGIN_DIR};
    return fanin__registry_new(&reg, dirs, 1, err, sizeof err);
}

static int teardown(void **state) {
    (void)state;
    fanin__registry_free(reg);
    return 0;
}

/* CONFIGS/name with the --set overrides `sets` (NULL-ended) applied. Caller frees. */
__attribute__((unused)) static fanin_config *config_file(const char *name,
                                                         const char *const *sets) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", CONFIGS, name);
    fanin_config *c;
    assert_int_equal(fanin__config_load(&c, path, err, sizeof err), FANIN_OK);
    for (int i = 0; sets && sets[i]; i++)
        assert_int_equal(fanin__config_set(c, sets[i], err, sizeof err), FANIN_OK);
    return c;
}

/* Run c (freed here) into a fresh folder /tmp/fanin-test-TAG-XXXXXX, named in dir (256
 * bytes); when s is given, read the folder's summary back into it. */
__attribute__((unused)) static void run_config(fanin_config *c, const char *tag, char *dir,
                                               fanin__runset *s) {
    snprintf(dir, 256, "/tmp/fanin-test-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(dir));
    fanin__runner rn = {.config = c, .reg = reg, .out_dir = dir};
    int rc = fanin__run(&rn, err, sizeof err);
    if (rc != FANIN_OK) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, FANIN_OK);
    if (s) {
        memset(s, 0, sizeof *s);
        assert_int_equal(fanin__runset_add_summary(s, rn.summary_path, err, sizeof err), FANIN_OK);
        fanin__runset_finish(s);
    }
    fanin__runner_deinit(&rn);
    fanin__config_free(c);
}

#endif /* FANIN_TEST_RUN_TESTS_H */
