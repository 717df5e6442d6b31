/* Writing a file so that a crash leaves the old contents or the new, never half: write to
 * PATH.tmp, flush and close it (close reports a write-back error, e.g. NFS's ENOSPC), rename it
 * over PATH. rename is atomic whatever happens to the process, so that is the whole guarantee
 * against a crash of fanin or of a member. A power loss is another matter: the kernel may
 * commit the rename before the data, leaving an empty file; durable files (checkpoints, which
 * --resume continues from after a node went down) are fsync'd before the rename and their
 * folder after it. Member outputs are not: two fsyncs per model cost about 1 ms, most of a
 * tiny sweep member's overhead (tools/bench/README.md). Two writers of one PATH are kept apart
 * by the run's lock. */
#include "base/atomic.h"

#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int fanin__atomic_open(fanin__atomic *a, const char *path) {
    a->f = NULL;
    a->durable = 0;
    int n = snprintf(a->tmp, sizeof a->tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof a->tmp) return ENAMETOOLONG;
    a->f = fopen(a->tmp, "wb");
    return a->f ? 0 : errno;
}

int fanin__atomic_open_durable(fanin__atomic *a, const char *path) {
    int e = fanin__atomic_open(a, path);
    a->durable = 1;
    return e;
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
    if (!failed && fflush(a->f) != 0) failed = errno;
    if (!failed && a->durable && fsync(fileno(a->f)) != 0) failed = errno;
    if (fclose(a->f) != 0 && !failed) failed = errno;
    a->f = NULL;
    if (!failed && rename(a->tmp, path) != 0) failed = errno;
    if (failed) {
        unlink(a->tmp);
        return failed;
    }
    if (a->durable) sync_dir(path);
    return 0;
}
