/* Files written whole or not at all (atomic.c): PATH.tmp, then rename over PATH. Models, .npy
 * dumps and the sorted summary: a crash of the process (a kill -9, a full disk, a plugin's
 * SIGSEGV) leaves the old file or the new, never half. Checkpoints are also durable: the file
 * and its folder are fsync'd, so the old or the new one survives a power loss too. */
#ifndef FANIN_BASE_ATOMIC_H
#define FANIN_BASE_ATOMIC_H

#include <stdio.h>

typedef struct fanin__atomic {
    FILE *f;        /* write here between _open and _commit */
    int durable;    /* fsync the file and its folder at commit */
    char tmp[4112]; /* PATH.tmp */
} fanin__atomic;

/* Open PATH.tmp for writing. 0, or an errno value. */
int fanin__atomic_open(fanin__atomic *a, const char *path);
/* The same, for a file that must also survive a power loss (checkpoints): _commit fsyncs it
 * before the rename and the folder after. */
int fanin__atomic_open_durable(fanin__atomic *a, const char *path);
/* Finish: with failed == 0 flush (fsync when durable), close and rename over path (then fsync
 * the folder when durable); otherwise, or when a step fails, remove the temporary file. 0, or
 * an errno value. */
int fanin__atomic_commit(fanin__atomic *a, const char *path, int failed);

#endif /* FANIN_BASE_ATOMIC_H */
