/* Folders (fs.c): mkdir -p, and joining a folder and a name within FANIN_PATHLEN. */
#ifndef FANIN_BASE_FS_H
#define FANIN_BASE_FS_H

/* The size of every path buffer (char path[FANIN_PATHLEN]): a run folder, a member folder, a
 * file in one. Functions taking char out[FANIN_PATHLEN] write at most this much, NUL included,
 * and fail rather than truncate. */
#define FANIN_PATHLEN 4096

/* mkdir -p: 0, or -1 with errno set and the folder that could not be made in `failed`
 * (may be NULL). */
int fanin__make_dirs(const char *path, char failed[FANIN_PATHLEN]);
/* dir/name into out; FANIN_EINVAL when it does not fit. */
int fanin__path_join(char out[FANIN_PATHLEN], const char *dir, const char *name);

#endif /* FANIN_BASE_FS_H */
