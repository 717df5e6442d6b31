/* Who besides its owner can write a plugin file or folder (safety.c): the loader refuses what
 * another user could change, since fanin would run their code (pitfall 14). World-writable
 * always counts; group-writable counts unless the group is the owner's private group. */
#ifndef FANIN_PLUGIN_SAFETY_H
#define FANIN_PLUGIN_SAFETY_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* What the private-group rule reads about a file's owner and group (from the user and group
 * databases by fanin__writable_by_others; built by hand in tests). Strings are borrowed. */
typedef struct fanin__group_facts {
    const char *owner;          /* the owner's user name; NULL: the uid has no passwd entry */
    gid_t owner_gid;            /* the owner's primary group */
    const char *group;          /* the group's name; NULL: the gid has no group entry */
    const char *const *members; /* the group's listed members (gr_mem), NULL-terminated */
    const char *other_primary;  /* another user whose primary group it is, or NULL */
} fanin__group_facts;

/* NULL when gid is the owner's private group (the user-private-group scheme: the owner's
 * primary group, named like the owner, no member but the owner listed, no other user's primary
 * group); else why not, written into why. Debian's OpenSSH rule for ~/.ssh (misc.c,
 * secure_permissions), made stricter by also asking for the owner's name. */
const char *fanin__private_group_why(gid_t gid, const fanin__group_facts *f, char *why, size_t len);

/* NULL when only st's owner can write it: not world-writable, and not group-writable unless the
 * group is the owner's private group (a sticky folder such as /tmp is also fine: nobody can
 * replace our files in it); else why, written into why: "writable by others (mode 777)",
 * "writable by group 'staff' (mode 775), which is not its owner's private group: ...". */
const char *fanin__writable_by_others(const struct stat *st, char *why, size_t len);

#endif /* FANIN_PLUGIN_SAFETY_H */
