/* Writing a file so that a crash leaves the old contents or the new, never half: write to
 * PATH.tmp, flush and fsync it, rename it over PATH, fsync the folder. Used for models,
 * checkpoints and .npy dumps. Two writers of one PATH are kept apart by the run's lock. */
#include "base/atomic.h"

#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int fanin__atomic_open(fanin__atomic *a, const char *path) {
    a->f = NULL;
    int n = snprintf(a->tmp, sizeof a->tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof a->tmp) return ENAMETOOLONG;
    a->f = fopen(a->tmp, "wb");
    return a->f ? 0 : errno;
}

/* fsync the folder holding path, so the rename itself survives a power loss. */
static void sync_dir(const char *path) {
    char dir[sizeof((fanin__atomic *)0)->tmp];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    int fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int fanin__atomic_commit(fanin__atomic *a, const char *path, int failed) {
    if (!failed && (fflush(a->f) != 0 || fsync(fileno(a->f)) != 0)) failed = errno;
    if (fclose(a->f) != 0 && !failed) failed = errno;
    a->f = NULL;
    if (!failed && rename(a->tmp, path) != 0) failed = errno;
    if (failed) {
        unlink(a->tmp);
        return failed;
    }
    sync_dir(path);
    return 0;
}
