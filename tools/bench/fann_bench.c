/* FANN 2.2 (Debian libfann-dev, float build) on the `tiny` benchmark, as a peer of fanin_bench:
 * 2-16-16-1, tanh hidden (FANN_SIGMOID_SYMMETRIC), sigmoid output, minibatches of 32 of 1024
 * synthetic rows (inputs U[0, 1), labels 0/1), plain batch backpropagation (FANN_TRAIN_BATCH:
 * one weight update per fann_train_epoch call on a 32-row subset), learning rate 0.01.
 * FANN's loss is the mean squared error (it has no cross-entropy); the arithmetic per step is
 * the same network's forward and backward. The 32 subsets are cut once: FANN's figure has no
 * per-step gather, fanin's has. Timing as fanin_bench: warm up and calibrate until a run lasts
 * 0.3 s, then the fastest of three slices lasting --seconds together.
 *   fann_bench [--seconds S]   ->   RESULT impl=fann bench=tiny threads=1 ... us_per_step=... */
#define _POSIX_C_SOURCE 200809L
#include <floatfann.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ROWS = 1024, BATCH = 32, STEPS_PER_EPOCH = ROWS / BATCH };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void run(struct fann *ann, struct fann_train_data **batches, long steps) {
    for (long s = 0; s < steps; s++) fann_train_epoch(ann, batches[s % STEPS_PER_EPOCH]);
}

/* Seconds per step: the fastest of three slices together lasting `seconds`. */
static double time_steps(struct fann *ann, struct fann_train_data **batches, double seconds) {
    long steps = 64;
    for (;;) { /* warm up and calibrate */
        double t0 = now();
        run(ann, batches, steps);
        if (now() - t0 >= 0.3) break;
        steps *= 2;
    }
    double per = 1e30, t_step = 0;
    for (int k = 0; k < 3; k++) {
        double t0 = now();
        run(ann, batches, steps);
        t_step = (now() - t0) / (double)steps;
        if (t_step < per) per = t_step;
        steps = (long)(seconds / 3.0 / t_step) + 1;
    }
    return per;
}

int main(int argc, char **argv) {
    double seconds = 1.5;
    for (int i = 1; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
    srand(1);
    struct fann_train_data *all = fann_create_train(ROWS, 2, 1);
    for (int r = 0; r < ROWS; r++) {
        all->input[r][0] = (float)rand() / (float)RAND_MAX;
        all->input[r][1] = (float)rand() / (float)RAND_MAX;
        all->output[r][0] = (float)(rand() & 1);
    }
    struct fann_train_data *batches[STEPS_PER_EPOCH];
    for (int b = 0; b < STEPS_PER_EPOCH; b++)
        batches[b] = fann_subset_train_data(all, (unsigned)(b * BATCH), BATCH);
    struct fann *ann = fann_create_standard(4, 2, 16, 16, 1);
    fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC); /* tanh */
    fann_set_activation_steepness_hidden(ann, 1.0f);
    fann_set_activation_function_output(ann, FANN_SIGMOID);
    fann_set_activation_steepness_output(ann, 1.0f);
    fann_set_training_algorithm(ann, FANN_TRAIN_BATCH);
    fann_set_learning_rate(ann, 0.01f);
    fann_randomize_weights(ann, -0.5f, 0.5f);
    double per = time_steps(ann, batches, seconds);
    printf("RESULT impl=fann bench=tiny threads=1 core=- us_per_step=%.2f it_per_s=%.2f "
           "samples_per_s=%.1f\n", per * 1e6, 1.0 / per, BATCH / per);
    for (int b = 0; b < STEPS_PER_EPOCH; b++) fann_destroy_train(batches[b]);
    fann_destroy_train(all);
    fann_destroy(ann);
    return 0;
}
