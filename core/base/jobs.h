/* How `fanin run --jobs auto` spreads a sweep over the cores (jobs.c): how many processes (each
 * running a share of the members) and how many BLAS threads each one gets.
 *
 * The rule (fanin__jobs_choose, pure): one process per member up to the cores; the cores left
 * over go to each process as threads when the model is large enough for a second thread to pay
 * (FANIN_JOBS_THREAD_PARAMS parameters). Row threads (engine/row_threads.h) made that small:
 * the seed's 16k-parameter network runs 1.8x on 2 threads with its batch's rows split
 * (1.03x with OpenBLAS's threads alone), while a 2-16-16-1 network (337 parameters) gains
 * nothing from either (tools/bench/README.md, "Row threads"). So a sweep of small models uses
 * every core through processes and a single run uses them through threads. A thread count the
 * user fixed (--threads) is kept: processes then fill the cores that leaves. */
#ifndef FANIN_BASE_JOBS_H
#define FANIN_BASE_JOBS_H

#include <stddef.h>

/* Parameters from which a model gets the cores its processes leave over as threads: about
 * where a full batch's step reaches row_rule.c's 4 MFLOP (6 FLOPs per parameter and row). */
#define FANIN_JOBS_THREAD_PARAMS ((size_t)4096)

typedef struct fanin__jobs_choice {
    int processes; /* >= 1, <= members */
    int threads;   /* BLAS threads of each process, >= 1 */
} fanin__jobs_choice;

/* Pure: the choice for `members` sweep members (< 1 counts as 1) of a model of `params`
 * trainable floats on `cores` cores (< 1 counts as 1). fixed_threads > 0: the user's thread
 * count, kept; processes = min(members, max(1, cores / fixed_threads)). Never more processes x
 * threads than the cores, unless fixed_threads alone exceeds them. */
fanin__jobs_choice fanin__jobs_choose(int members, size_t params, int cores, int fixed_threads);

/* The cores this process may run on: sched_getaffinity's count (a taskset or a cgroup's cpuset
 * narrows it), else sysconf(_SC_NPROCESSORS_ONLN), else 1. */
int fanin__jobs_cores(void);

#endif
