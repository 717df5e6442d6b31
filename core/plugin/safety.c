/* Who besides its owner can write a plugin file or folder. Group-write is harmless when the
 * group is the owner's private group: Debian, Ubuntu and Fedora give every user a group of their
 * own and umask 002, so a fresh clone's build folder is 775. The rule is the one Debian patches
 * into OpenSSH for ~/.ssh (misc.c, secure_permissions, "Allow harmless group-writability"),
 * plus the group's name. It fails closed: a lookup that fails means "not private".
 */
#include "plugin/safety.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LOOKUP_BUF (1u << 20)

/* ---- the rule ---- */

static const char *other_member(const fanin__group_facts *f) {
    for (size_t i = 0; f->members && f->members[i]; i++)
        if (strcmp(f->members[i], f->owner) != 0) return f->members[i];
    return NULL;
}

const char *fanin__private_group_why(gid_t gid, const fanin__group_facts *f, char *why,
                                     size_t len) {
    const char *member = f->owner ? other_member(f) : NULL;
    if (!f->owner) snprintf(why, len, "its owner has no user entry");
    else if (!f->group) snprintf(why, len, "group %u has no group entry", (unsigned)gid);
    else if (f->owner_gid != gid)
        snprintf(why, len, "it is not the primary group of its owner '%s'", f->owner);
    else if (strcmp(f->group, f->owner) != 0)
        snprintf(why, len, "its name is not its owner's name '%s'", f->owner);
    else if (member) snprintf(why, len, "it lists another member, '%s'", member);
    else if (f->other_primary)
        snprintf(why, len, "it is also the primary group of user '%s'", f->other_primary);
    else return NULL;
    return why;
}

/* ---- the user and group databases ---- */

/* getpwuid_r into *pw with a buffer (*buf, grown while the answer is ERANGE); 0 when found. */
static int user_of(uid_t uid, struct passwd *pw, char **buf) {
    struct passwd *res = NULL;
    for (size_t len = 1024; len <= MAX_LOOKUP_BUF; len *= 2) {
        char *grown = realloc(*buf, len);
        if (!grown) return -1;
        *buf = grown;
        int rc = getpwuid_r(uid, pw, grown, len, &res);
        if (rc != ERANGE) return rc == 0 && res ? 0 : -1;
    }
    return -1;
}

static int group_of(gid_t gid, struct group *gr, char **buf) {
    struct group *res = NULL;
    for (size_t len = 1024; len <= MAX_LOOKUP_BUF; len *= 2) {
        char *grown = realloc(*buf, len);
        if (!grown) return -1;
        *buf = grown;
        int rc = getgrgid_r(gid, gr, grown, len, &res);
        if (rc != ERANGE) return rc == 0 && res ? 0 : -1;
    }
    return -1;
}

/* setpwent/getpwent walk one cursor per process. */
static pthread_mutex_t pwent_lock = PTHREAD_MUTEX_INITIALIZER;

/* The name of a user other than `owner` whose primary group is gid, into out ("" when none);
 * -1 when the user list cannot be read to the end (then nothing is proven). */
static int other_primary_user(gid_t gid, uid_t owner, char *out, size_t len) {
    static char buf[1 << 16]; /* guarded by pwent_lock */
    struct passwd pw, *res = NULL;
    int rc;
    out[0] = '\0';
    pthread_mutex_lock(&pwent_lock);
    setpwent();
    while ((rc = getpwent_r(&pw, buf, sizeof buf, &res)) == 0 && res)
        if (!out[0] && pw.pw_gid == gid && pw.pw_uid != owner) snprintf(out, len, "%s", pw.pw_name);
    endpwent();
    pthread_mutex_unlock(&pwent_lock);
    return rc == 0 || rc == ENOENT ? 0 : -1;
}

/* NULL when st's group is its owner's private group, else why not (into why). */
static const char *not_private(const struct stat *st, char *why, size_t len) {
    struct passwd pw;
    struct group gr;
    char *pwbuf = NULL, *grbuf = NULL, other[256];
    fanin__group_facts f = {NULL, (gid_t)-1, NULL, NULL, NULL};
    const char *bad = NULL;
    if (user_of(st->st_uid, &pw, &pwbuf) == 0) f.owner = pw.pw_name, f.owner_gid = pw.pw_gid;
    if (group_of(st->st_gid, &gr, &grbuf) == 0)
        f.group = gr.gr_name, f.members = (const char *const *)gr.gr_mem;
    if (other_primary_user(st->st_gid, st->st_uid, other, sizeof other) != 0) {
        snprintf(why, len, "the user list cannot be read to the end to check it");
        bad = why;
    } else {
        f.other_primary = other[0] ? other : NULL;
        bad = fanin__private_group_why(st->st_gid, &f, why, len);
    }
    free(pwbuf);
    free(grbuf);
    return bad;
}

/* The group's name for a message, or its number. */
static void group_name(gid_t gid, char *out, size_t len) {
    struct group gr;
    char *buf = NULL;
    if (group_of(gid, &gr, &buf) == 0) snprintf(out, len, "'%s'", gr.gr_name);
    else snprintf(out, len, "%u", (unsigned)gid);
    free(buf);
}

const char *fanin__writable_by_others(const struct stat *st, char *why, size_t len) {
    unsigned mode = (unsigned)(st->st_mode & 0777);
    if (!(st->st_mode & (S_IWGRP | S_IWOTH))) return NULL;
    if (S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX)) return NULL;
    if (st->st_mode & S_IWOTH) {
        snprintf(why, len, "writable by others (mode %03o)", mode);
        return why;
    }
    char reason[512], group[256];
    if (!not_private(st, reason, sizeof reason)) return NULL;
    group_name(st->st_gid, group, sizeof group);
    snprintf(why, len,
             "writable by group %s (mode %03o), which is not its owner's private group "
             "(%s)",
             group, mode, reason);
    return why;
}
