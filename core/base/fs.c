/* Folders: mkdir -p and path joining, for the run folder, new-plugin and merge. */
#include "base/fs.h"

#include <fanin/plugin.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int fanin__path_join(char out[FANIN_PATHLEN], const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    if (a + 1 + b >= FANIN_PATHLEN) return FANIN_EINVAL;
    memcpy(out, dir, a);
    out[a] = '/';
    memcpy(out + a + 1, name, b + 1);
    return FANIN_OK;
}

int fanin__make_dirs(const char *path, char failed[FANIN_PATHLEN]) {
    char tmp[FANIN_PATHLEN];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST) goto fail;
        *p = '/';
    }
    if (mkdir(tmp, 0777) == 0 || errno == EEXIST) return 0;
fail:
    if (failed) memcpy(failed, tmp, FANIN_PATHLEN);
    return -1;
}
