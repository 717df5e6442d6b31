/* A sweep member in a child process of its own (isolate.c): a plugin that crashes (SIGSEGV,
 * abort), hangs past a time limit or is killed by the kernel ends that member only. The child
 * sends records back through a pipe: phases ("initialising the model (init: he_normal)") so a
 * crash can say what was running, and its result bytes. */
#ifndef FANIN_RUN_ISOLATE_H
#define FANIN_RUN_ISOLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct fanin__child {
    int status;      /* FANIN_OK (the child sent its result), FANIN_RUN_CRASHED (died by a
                      * signal or exited without a result), FANIN_RUN_TIMEOUT (killed) */
    int sig;         /* the signal that ended it, or 0 */
    int exit_code;   /* its exit code when it exited */
    char phase[512]; /* the last phase it reported */
    char call[128];  /* when it crashed or timed out inside a plugin call: "initializer my_init
                      * (fill), layer 2"; else empty */
    char *result;    /* the result bytes it sent (malloc'd), NULL if none */
    size_t len;
} fanin__child;

/* Run fn(arg) in a child process; fn reports through fanin__child_phase and
 * fanin__child_result, and the child ends when fn returns. timeout > 0: kill it (SIGKILL) after
 * that many seconds. Returns FANIN_OK with *c filled, or FANIN_EIO when no child could be
 * started. */
int fanin__child_run(void (*fn)(void *arg), void *arg, double timeout, fanin__child *c);
/* In the child: what is running now (a crash report names it); a no-op in the parent. */
void fanin__child_phase(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* In the child: the result bytes the parent receives. */
void fanin__child_result(const void *data, size_t len);
/* True inside a child of fanin__child_run. */
bool fanin__in_child(void);
void fanin__child_free(fanin__child *c);
/* "SIGSEGV" for a signal number. */
const char *fanin__signal_name(int sig);

#endif /* FANIN_RUN_ISOLATE_H */
