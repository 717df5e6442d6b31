/* The monotonic clock: one source of durations for the training loop, the plugin checker and
 * the progress display. */
#include "base/clock.h"

#include <time.h>

double fanin__now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
