/* Sweep members in a worker process (isolate.c): a plugin that crashes (SIGSEGV, abort), hangs
 * past a time limit or is killed by the kernel ends that member only. The worker is forked
 * from the command's process and runs jobs (members) one after another, each sent through a
 * pipe; it sends records back: phases ("initialising the model (init: he_normal)") so a crash
 * can say what was running, its result bytes, and the job's end. When it dies the job in
 * flight is a crash (or a timeout), and the next job starts a fresh worker. A worker is also
 * replaced after max_jobs jobs, so one member's leaks or (against the plugin contract) global
 * state reach at most that many others; max_jobs = 1 is a fresh process per member. */
#ifndef FANIN_RUN_ISOLATE_H
#define FANIN_RUN_ISOLATE_H

#include "plugin/host.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct fanin__child {
    int status;      /* FANIN_OK (the job ended; its result, if it sent one, is in result),
                      * FANIN_RUN_CRASHED (the worker died by a signal or exited),
                      * FANIN_RUN_TIMEOUT (killed at the time limit) */
    int sig;         /* the signal that ended it, or 0 */
    int exit_code;   /* its exit code when it exited */
    char phase[512]; /* the last phase it reported */
    char call[128];  /* when it crashed or timed out inside a plugin call: "initializer my_init
                      * (fill), layer 2"; else empty */
    char *result;    /* the result bytes it sent (malloc'd), NULL if none */
    size_t len;
} fanin__child;

/* What a worker runs for each job: job is a copy of the bytes given to fanin__worker_run; ctx
 * is the pointer given when the worker was forked (valid in the worker's copy of memory). */
typedef void (*fanin__job_fn)(void *ctx, const void *job, size_t len);

typedef struct fanin__worker {
    fanin__job_fn fn; /* set before the first job, with ctx and max_jobs */
    void *ctx;
    int max_jobs; /* jobs a worker runs before a fresh one replaces it (<= 1: one) */
    /* the rest is the worker's state: zero-initialise the struct */
    pid_t pid;               /* 0: none up */
    int to, from;            /* the job pipe's write end, the record pipe's read end */
    int jobs;                /* jobs the worker up now has started */
    fanin__call_record *rec; /* the plugin call in flight, in a page shared with the worker */
} fanin__worker;

/* Run one job (len bytes) in w's worker, forking one first when none is up (or the last one
 * ran max_jobs); fn reports through fanin__child_phase and fanin__child_result. timeout > 0:
 * kill the worker (SIGKILL) after that many seconds. Returns FANIN_OK with *c filled, or
 * FANIN_EIO when no worker could be started. */
int fanin__worker_run(fanin__worker *w, const void *job, size_t len, double timeout,
                      fanin__child *c);
/* End w's worker, if one is up (it finishes nothing: call between jobs), and free its page. */
void fanin__worker_stop(fanin__worker *w);
/* In the worker: what is running now (a crash report names it); a no-op elsewhere. */
void fanin__child_phase(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* In the worker: the job's result bytes, which the parent receives. */
void fanin__child_result(const void *data, size_t len);
/* True inside a worker. */
bool fanin__in_child(void);
void fanin__child_free(fanin__child *c);
/* "SIGSEGV" for a signal number. */
const char *fanin__signal_name(int sig);

#endif /* FANIN_RUN_ISOLATE_H */
