/* Files written whole or not at all (atomic.c): PATH.tmp, fsync, rename, fsync of the
 * folder. Models, checkpoints and .npy dumps go through it. */
#ifndef FANIN_BASE_ATOMIC_H
#define FANIN_BASE_ATOMIC_H

#include <stdio.h>

typedef struct fanin__atomic {
    FILE *f;        /* write here between _open and _commit */
    char tmp[4112]; /* PATH.tmp */
} fanin__atomic;

/* Open PATH.tmp for writing. 0, or an errno value. */
int fanin__atomic_open(fanin__atomic *a, const char *path);
/* Finish: with failed == 0 flush, fsync, close and rename over path (then fsync the folder);
 * otherwise, or when a step fails, remove the temporary file. 0, or an errno value. */
int fanin__atomic_commit(fanin__atomic *a, const char *path, int failed);

#endif /* FANIN_BASE_ATOMIC_H */
