/* --jobs auto's choice of processes x BLAS threads, and the cores it counts (jobs.h). */
#include "base/jobs.h"

#include <sched.h>
#include <unistd.h>

fanin__jobs_choice fanin__jobs_choose(int members, size_t params, int cores, int fixed_threads) {
    if (members < 1) members = 1;
    if (cores < 1) cores = 1;
    fanin__jobs_choice ch = {1, 1};
    if (fixed_threads > 0) {
        ch.threads = fixed_threads;
        ch.processes = cores / fixed_threads > 1 ? cores / fixed_threads : 1;
        if (ch.processes > members) ch.processes = members;
        return ch;
    }
    ch.processes = members < cores ? members : cores;
    if (params >= FANIN_JOBS_THREAD_PARAMS) ch.threads = cores / ch.processes;
    return ch;
}

int fanin__jobs_cores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
