/* Tests for core/plugin/safety.c and the loader's use of it (issue 16, item 1): a plugin file
 * or folder writable by the owner's private group loads (umask 002 on a user-private-group
 * system); world-writable, or writable by any other group, is refused with the path, who can
 * write it and `chmod go-w PATH`.
 */
#include "base/errors.h"
#include "plugin/registry.h"
#include "plugin/safety.h"

#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char err[FANIN_ERRLEN];

static void assert_err_has(const char *s) {
    if (!strstr(err, s)) fail_msg("expected \"%s\" in: %s", s, err);
}

/* ---- the rule on facts built by hand ---- */

static const char *judge(gid_t gid, const char *owner, gid_t owner_gid, const char *group,
                         const char *const *members, const char *other_primary) {
    static char why[256];
    fanin__group_facts f = {owner, owner_gid, group, members, other_primary};
    return fanin__private_group_why(gid, &f, why, sizeof why);
}

static void assert_why(const char *why, const char *want) {
    if (!why || !strstr(why, want)) fail_msg("expected \"%s\", got %s", want, why ? why : "NULL");
}

static void test_private_group_rule(void **state) {
    const char *none[] = {NULL}, *self[] = {"alice", NULL}, *bob[] = {"alice", "bob", NULL};
    assert_null(judge(1000, "alice", 1000, "alice", none, NULL));
    assert_null(judge(1000, "alice", 1000, "alice", self, NULL)); /* listing the owner is fine */
    assert_null(judge(1000, "alice", 1000, "alice", NULL, NULL));
    assert_null(judge(0, "root", 0, "root", none, NULL));
    assert_why(judge(1000, "alice", 1000, "alice", bob, NULL), "it lists another member, 'bob'");
    assert_why(judge(1000, "alice", 1000, "alice", none, "carol"),
               "it is also the primary group of user 'carol'");
    assert_why(judge(100, "alice", 1000, "users", none, NULL),
               "it is not the primary group of its owner 'alice'");
    assert_why(judge(1000, "alice", 1000, "staff", none, NULL),
               "its name is not its owner's name 'alice'");
    assert_why(judge(1000, NULL, 0, "alice", none, NULL), "its owner has no user entry");
    assert_why(judge(4242, "alice", 4242, NULL, none, NULL), "group 4242 has no group entry");
}

/* ---- files on disk ---- */

/* Whether gid is uid's private group, by the system's databases (the test's own reading). */
static int system_private(uid_t uid, gid_t gid) {
    struct passwd *pw = getpwuid(uid);
    if (!pw || pw->pw_gid != gid) return 0;
    char owner[256];
    snprintf(owner, sizeof owner, "%s", pw->pw_name);
    struct group *gr = getgrgid(gid);
    if (!gr || strcmp(gr->gr_name, owner) != 0) return 0;
    for (char **m = gr->gr_mem; *m; m++)
        if (strcmp(*m, owner) != 0) return 0;
    int others = 0;
    setpwent();
    while ((pw = getpwent())) others += pw->pw_gid == gid && pw->pw_uid != uid;
    endpwent();
    return others == 0;
}

typedef struct fixture {
    char dir[64], file[128];
} fixture;

/* A 0700 folder under /tmp holding a copy of the good fixture, both owned by us with our
 * primary group. */
static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx) return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/fanin_test_safety_XXXXXX");
    if (!mkdtemp(fx->dir)) return -1;
    snprintf(fx->file, sizeof fx->file, "%s/good.so", fx->dir);
    FILE *in = fopen(FANIN_TEST_FIXTURE_DIR "/good.so", "rb"), *out = fopen(fx->file, "wb");
    char buf[1 << 14];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    if (in) fclose(in);
    if (!out || fclose(out) != 0 || !in) return -1;
    if (chown(fx->file, geteuid(), getegid()) != 0 || chown(fx->dir, geteuid(), getegid()) != 0)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    unlink(fx->file);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* fanin__registry_load of the fixture's file after chmod of the file and the folder. */
static int load(const fixture *fx, mode_t file_mode, mode_t dir_mode) {
    fanin_registry *r;
    assert_int_equal(chmod(fx->file, file_mode), 0);
    assert_int_equal(chmod(fx->dir, dir_mode), 0);
    assert_int_equal(fanin__registry_new_empty(&r), FANIN_OK);
    err[0] = '\0';
    int rc = fanin__registry_load(r, fx->file, err, sizeof err);
    fanin__registry_free(r);
    return rc;
}

/* A file 664 and a folder 775 of the owner's private group load: what umask 002 gives. */
static void test_private_group_writable_loads(void **state) {
    fixture *fx = *state;
    if (!system_private(geteuid(), getegid())) {
        print_message("note: group %u is not uid %u's private group here; skipping\n",
                      (unsigned)getegid(), (unsigned)geteuid());
        skip();
    }
    if (load(fx, 0664, 0700) != FANIN_OK) fail_msg("file 664 refused: %s", err);
    if (load(fx, 0644, 0775) != FANIN_OK) fail_msg("folder 775 refused: %s", err);
    if (load(fx, 0775, 02775) != FANIN_OK) fail_msg("file 775 in 2775 refused: %s", err);
}

/* Whatever the group, what others can write is refused, naming the path and the fix. */
static void test_world_writable_refused(void **state) {
    fixture *fx = *state;
    char want[256];
    assert_int_equal(load(fx, 0666, 0700), FANIN_EPLUGIN);
    snprintf(want, sizeof want, "refusing plugin file %s: it is writable by others (mode 666)",
             fx->file);
    assert_err_has(want);
    snprintf(want, sizeof want, "run `chmod go-w %s`", fx->file);
    assert_err_has(want);
    assert_int_equal(load(fx, 0644, 0777), FANIN_EPLUGIN);
    snprintf(want, sizeof want, "refusing plugin folder %s: it is writable by others (mode 777)",
             fx->dir);
    assert_err_has(want);
    snprintf(want, sizeof want, "run `chmod go-w %s`", fx->dir);
    assert_err_has(want);
    assert_int_equal(load(fx, 0644, 01777), FANIN_OK); /* sticky, like /tmp */
}

/* A group other than the owner's private group: as root, any other group (daemon); else one
 * of our supplementary groups. */
static gid_t other_group(void) {
    if (geteuid() == 0) {
        struct group *gr = getgrnam("daemon");
        return gr ? gr->gr_gid : 1;
    }
    gid_t groups[256];
    int n = getgroups(256, groups);
    for (int i = 0; i < n; i++)
        if (groups[i] != getegid()) return groups[i];
    return (gid_t)-1;
}

static void test_shared_group_writable_refused(void **state) {
    fixture *fx = *state;
    gid_t gid = other_group();
    if (gid == (gid_t)-1 || chown(fx->file, geteuid(), gid) != 0) {
        print_message("note: no second group to give the file to; skipping\n");
        skip();
    }
    char want[512];
    struct group *gr = getgrgid(gid);
    assert_int_equal(load(fx, 0664, 0700), FANIN_EPLUGIN);
    if (gr) {
        snprintf(want, sizeof want,
                 "refusing plugin file %s: it is writable by group '%s' "
                 "(mode 664), which is not its owner's private group (",
                 fx->file, gr->gr_name);
        assert_err_has(want);
    }
    assert_err_has("so another user could make fanin run their code");
    assert_int_equal(load(fx, 0644, 0700), FANIN_OK); /* the fix works */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_private_group_rule),
        cmocka_unit_test_setup_teardown(test_private_group_writable_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_world_writable_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_group_writable_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
