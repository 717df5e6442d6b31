/* `fanin run --jobs auto` (cmd_run.c): member 0's model size (its data's shape from the file
 * headers, the model built but not initialised), the cores this process may use, and
 * base/jobs.h's choice of processes x threads (BLAS and row threads), said in one line on stderr. */
#include "base/errors.h"
#include "base/jobs.h"
#include "data/data.h"
#include "engine/model.h"
#include "cli.h"

#include <stdio.h>

/* Member 0's trainable floats; 0 when its data or shapes cannot tell (the run says why). */
static size_t model_params(const fanin_config *c, const fanin_registry *reg) {
    fanin_experiment *x;
    fanin_model *m = NULL;
    fanin__data_shape data, in;
    char err[FANIN_ERRLEN];
    size_t n = 0;
    if (fanin__config_resolve(c, 0, reg, &x, err, sizeof err) < 0) return 0;
    if (fanin__data_peek_shape(&x->data, &data, err, sizeof err) == FANIN_OK &&
        fanin__data_model_input(x, data, &in, err, sizeof err) == FANIN_OK &&
        fanin__model_new_shaped(x, (fanin__shape){in.c, in.h, in.w}, 1, &m, err, sizeof err) ==
            FANIN_OK)
        n = m->n_params;
    fanin__model_free(m);
    fanin__experiment_free(x);
    return n;
}

/* "16k", "1.9M", "300"; "an unknown" size when 0 */
static void size_text(size_t n, char *buf, size_t len) {
    if (!n) snprintf(buf, len, "n unknown-size");
    else if (n < 1000) snprintf(buf, len, " %zu-parameter", n);
    else if (n < 1000000) snprintf(buf, len, " %.0fk-parameter", (double)n / 1e3);
    else snprintf(buf, len, " %.1fM-parameter", (double)n / 1e6);
}

fanin__jobs_choice cli_jobs_auto(const fanin_config *c, const fanin_registry *reg,
                                 int fixed_threads) {
    int members = fanin__config_members(c), cores = fanin__jobs_cores();
    size_t params = model_params(c, reg);
    fanin__jobs_choice ch = fanin__jobs_choose(members, params, cores, fixed_threads);
    char size[32];
    size_text(params, size, sizeof size);
    fprintf(stderr,
            "--jobs auto: %d process%s x %d thread%s%s (%d member%s of a%s model on %d "
            "core%s)\n",
            ch.processes, ch.processes == 1 ? "" : "es", ch.threads, ch.threads == 1 ? "" : "s",
            fixed_threads > 0 ? ", as --threads says" : "", members, members == 1 ? "" : "s", size,
            cores, cores == 1 ? "" : "s");
    return ch;
}
