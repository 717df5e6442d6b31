/* The experiment file's public face: load or parse YAML into a tree, apply --set overrides,
 * count and expand sweep members, resolve one member into a fanin_experiment or validate them
 * all. Which keys exist and what they mean is config_resolve.c (and config_data.c,
 * config_model.c); the tree is config_tree.c; writing YAML back is config_write.c.
 *
 * Precedence: the file, then --set in order (on the base tree), then a sweep member's values
 * (so a sweep value for a key also given with --set wins for its member).
 */
#include "base/errors.h"
#include "config/errs.h"
#include "config/experiment.h"
#include "config/keys.h"
#include "config/loc.h"
#include "config/pref.h"
#include "config/sections.h"
#include "config/tree.h"
#include "plugin/registry.h"

#include <stdio.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- loading ---- */

static char *abs_dir_of(const char *name) {
    const char *slash = strrchr(name, '/');
    char cwd[PATH_MAX], *d = NULL;
    size_t len = 0;
    if (slash == name) return fanin__strdup("/");
    if (name[0] == '/') {
        fanin__str_appendf(&d, &len, "%.*s", (int)(slash - name), name);
        return d;
    }
    if (!getcwd(cwd, sizeof cwd)) return NULL;
    if (slash)
        fanin__str_appendf(&d, &len, "%s/%.*s", strcmp(cwd, "/") ? cwd : "", (int)(slash - name),
                           name);
    else fanin__str_appendf(&d, &len, "%s", cwd);
    return d;
}

int fanin__config_parse(fanin_config **out, const char *name, const char *text, size_t len,
                        char *err, size_t errlen) {
    *out = NULL;
    fanin_config *c = calloc(1, sizeof *c);
    if (!c || !(c->name = fanin__strdup(name)) || !(c->dir = abs_dir_of(name))) {
        fanin__config_free(c);
        return fanin__errf(err, errlen, FANIN_ENOMEM, "%s: out of memory", name);
    }
    int rc = fanin__yaml_parse(c->name, text, len, 0, 0, &c->root, err, errlen);
    fanin__loc top = {c->name, 1, 1};
    if (rc == FANIN_OK && fanin__node_is_null(c->root)) { /* an empty file: no keys yet */
        fanin__node_free(c->root);
        if (!(c->root = fanin__node_new(FANIN__MAP, &top))) rc = FANIN_ENOMEM;
    } else if (rc == FANIN_OK && c->root->type != FANIN__MAP) {
        rc = fanin__errf(err, errlen, FANIN_ECONFIG,
                         "%s:%d:%d: the experiment must be a mapping of keys (name: ..., data: "
                         "..., model: ...), not %s",
                         c->name, c->root->loc.line, c->root->loc.col,
                         c->root->type == FANIN__SEQ ? "a list" : "a single value");
    }
    if (rc != FANIN_OK) {
        fanin__config_free(c);
        return rc;
    }
    *out = c;
    return FANIN_OK;
}

/* The whole file, NUL-terminated (caller frees), or NULL with *rc set. */
static char *read_all(FILE *f, size_t *len, int *rc) {
    size_t cap = 8192, n = 0;
    char *text = malloc(cap);
    while (text) {
        n += fread(text + n, 1, cap - n - 1, f);
        if (n < cap - 1 || cap >= (64u << 20)) break;
        char *t = realloc(text, cap *= 2);
        if (!t) free(text);
        text = t;
    }
    *rc = !text ? FANIN_ENOMEM : ferror(f) ? FANIN_EIO : n == cap - 1 ? FANIN_ENOMEM : FANIN_OK;
    if (*rc != FANIN_OK) {
        free(text);
        return NULL;
    }
    text[n] = '\0';
    *len = n;
    return text;
}

int fanin__config_load(fanin_config **out, const char *path, char *err, size_t errlen) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fanin__errf(err, errlen, FANIN_EINVAL, "%s: cannot open: %s", path, strerror(errno));
    size_t len = 0;
    int rc;
    char *text = read_all(f, &len, &rc);
    fclose(f);
    if (rc == FANIN_OK) rc = fanin__config_parse(out, path, text, len, err, errlen);
    else
        fanin__errf(err, errlen, rc, "%s: %s", path,
                    rc == FANIN_EIO ? "read error" : "too large or out of memory (64 MB at most)");
    free(text);
    return rc;
}

void fanin__config_free(fanin_config *c) {
    if (!c) return;
    fanin__node_free(c->root);
    free(c->name);
    free(c->dir);
    free(c);
}

/* ---- --set ---- */

/* A plugin reference given by name (`optimizer: sgd`) becomes {name: sgd} where `path` goes
 * inside it (optimizer.lr, model.defaults.init.std), so --set and sweeps can add parameters. */
static int expand_prefs(fanin__node *root, const char *path) {
    fanin__node *cur = root;
    for (const char *dot = strchr(path, '.'); cur && dot; dot = strchr(dot + 1, '.')) {
        char prefix[512];
        snprintf(prefix, sizeof prefix, "%.*s", (int)(dot - path), path);
        const char *seg = strrchr(prefix, '.') ? strrchr(prefix, '.') + 1 : prefix;
        fanin__node **slot = NULL;
        for (size_t i = 0; cur->type == FANIN__MAP && i < cur->n; i++)
            if (!strcmp(cur->keys[i]->text, seg)) slot = &cur->vals[i];
        if (cur->type == FANIN__SEQ && strspn(seg, "0123456789") == strlen(seg) &&
            (size_t)atol(seg) < cur->n)
            slot = &cur->vals[atol(seg)];
        if (!slot) return FANIN_OK;
        fanin__node *n = *slot;
        const fanin__key *k = fanin__schema_find(prefix, NULL, 0, NULL, 0);
        if (n->type == FANIN__SCALAR && !fanin__node_is_null(n) && k &&
            k->type == FANIN__KEY_PREF) {
            fanin__node *m = fanin__node_new(FANIN__MAP, &n->loc);
            fanin__node *key = m ? fanin__node_scalar("name", true, &n->loc) : NULL;
            if (!key) {
                fanin__node_free(m);
                return FANIN_ENOMEM;
            }
            *slot = m; /* the tree stays whole even if the next line fails (it frees n) */
            if (fanin__node_map_add(m, key, n) != FANIN_OK) return FANIN_ENOMEM;
            n = m;
        }
        cur = n;
    }
    return FANIN_OK;
}

/* --set sweep.model.defaults.init=[a, b]: the rest of the path is one sweep key. */
static int set_sweep_key(fanin_config *c, const char *key, fanin__node *val, char *err,
                         size_t errlen) {
    fanin__loc loc = {"--set", 1, 1}, kl = {"--set", 1, 7};
    fanin__node *sw = (fanin__node *)fanin__node_get(c->root, "sweep", NULL);
    char msg[FANIN_ERRLEN];
    if (!sw || fanin__node_is_null(sw)) {
        fanin__node *m = fanin__node_new(FANIN__MAP, &loc);
        if (!m) {
            fanin__node_free(val);
            return fanin__errf(err, errlen, FANIN_ENOMEM, "out of memory");
        }
        int rc = fanin__node_set_path(&c->root, "sweep", m, &loc, msg, sizeof msg);
        if (rc != FANIN_OK) {
            fanin__node_free(val);
            return fanin__errf(err, errlen, rc, "--set %s: %s", key, msg);
        }
        sw = (fanin__node *)fanin__node_get(c->root, "sweep", NULL);
    }
    if (sw->type != FANIN__MAP) {
        fanin__node_free(val);
        return fanin__errf(err, errlen, FANIN_ECONFIG, "--set %s: 'sweep' is not a mapping", key);
    }
    for (size_t i = 0; i < sw->n; i++)
        if (!strcmp(sw->keys[i]->text, key + 6)) {
            fanin__node_free(sw->vals[i]);
            sw->vals[i] = val;
            return FANIN_OK;
        }
    if (fanin__node_map_add(sw, fanin__node_scalar(key + 6, true, &kl), val) != FANIN_OK)
        return fanin__errf(err, errlen, FANIN_ENOMEM, "out of memory");
    return FANIN_OK;
}

int fanin__config_set(fanin_config *c, const char *assignment, char *err, size_t errlen) {
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "--set '%s': expected KEY=VALUE, e.g. --set optimizer.lr=0.01",
                           assignment);
    char key[512], msg[FANIN_ERRLEN];
    snprintf(key, sizeof key, "%.*s", (int)(eq - assignment), assignment);
    fanin__node *val;
    int rc = fanin__yaml_parse("--set", eq + 1, strlen(eq + 1), 0, (int)(eq + 1 - assignment), &val,
                               err, errlen);
    if (rc != FANIN_OK) return rc;
    fanin__loc loc = {"--set", 1, 1};
    fanin__loc vloc = {"--set", 1, (int)(eq - assignment) + 2};
    if (!val && !(val = fanin__node_scalar("", true, &vloc))) return FANIN_ENOMEM;
    if (!strncmp(key, "sweep.", 6)) return set_sweep_key(c, key, val, err, errlen);
    if (expand_prefs(c->root, key) != FANIN_OK) {
        fanin__node_free(val);
        return fanin__errf(err, errlen, FANIN_ENOMEM, "out of memory");
    }
    rc = fanin__node_set_path(&c->root, key, val, &loc, msg, sizeof msg);
    if (rc != FANIN_OK) return fanin__errf(err, errlen, rc, "--set %s: %s", key, msg);
    return FANIN_OK;
}

/* ---- sweeps ---- */

typedef struct axis {
    const fanin__node *key; /* the dotted path scalar */
    const fanin__node *values;
} axis;

/* The usable axes of the sweep in root (in key order); every problem goes to errs (if set). */
static int sweep_axes(const fanin__node *root, axis **out, fanin__errs *errs) {
    const fanin__node *kn, *sw = fanin__node_get(root, "sweep", &kn);
    *out = NULL;
    if (fanin__node_is_null(sw)) return 0;
    if (sw->type != FANIN__MAP) {
        if (errs)
            fanin__errs_add(errs, FANIN_ECONFIG, &sw->loc,
                            "'sweep' must map keys to lists of values, e.g. "
                            "sweep: {model.defaults.init: [lecun_normal, he_normal]}");
        return 0;
    }
    axis *a = calloc(sw->n ? sw->n : 1, sizeof *a);
    int n = 0;
    for (size_t i = 0; a && i < sw->n; i++) {
        const fanin__node *k = sw->keys[i], *v = sw->vals[i];
        char near[300], msg[300];
        if (!fanin__schema_find(k->text, near, sizeof near, msg, sizeof msg)) {
            if (errs)
                fanin__errs_add(errs, FANIN_ECONFIG, &k->loc, "sweep key '%s' %s%s%s%s", k->text,
                                msg, *near ? "; did you mean '" : "", near, *near ? "'?" : "");
        } else if (v->type != FANIN__SEQ || v->n == 0) {
            if (errs)
                fanin__errs_add(errs, FANIN_ECONFIG, &v->loc,
                                "sweep key '%s' needs a non-empty list of values, e.g. [a, b]",
                                k->text);
        } else {
            a[n].key = k;
            a[n++].values = v;
        }
    }
    *out = a;
    return n;
}

static long long members_of(const axis *a, int n) {
    long long m = 1;
    for (int i = 0; i < n; i++)
        if ((m *= (long long)a[i].values->n) > FANIN__MAX_MEMBERS) return FANIN__MAX_MEMBERS + 1;
    return m;
}

int fanin__config_members(const fanin_config *c) {
    axis *a;
    int n = sweep_axes(c->root, &a, NULL);
    long long m = members_of(a, n);
    free(a);
    return m > FANIN__MAX_MEMBERS ? 1 : (int)m;
}

/* Set member's values on tree; the last axis varies fastest (itertools.product). */
static int apply_member(fanin__node **tree, const axis *a, int n, int member, fanin__errs *errs) {
    int rc = FANIN_OK;
    for (int k = n - 1; k >= 0; k--) {
        size_t len = a[k].values->n, idx = (size_t)member % len;
        member /= (int)len;
        char msg[FANIN_ERRLEN];
        fanin__node *v = fanin__node_clone(a[k].values->vals[idx], NULL, NULL);
        if (!v || expand_prefs(*tree, a[k].key->text) != FANIN_OK) {
            fanin__node_free(v);
            return fanin__errs_add(errs, FANIN_ENOMEM, NULL, "out of memory");
        }
        if (fanin__node_set_path(tree, a[k].key->text, v, &a[k].key->loc, msg, sizeof msg))
            rc = fanin__errs_add(errs, FANIN_ECONFIG, &a[k].key->loc, "sweep key '%s': %s",
                                 a[k].key->text, msg);
    }
    return rc;
}

/* The text a swept value shows in tables: a plugin reference's compact form, else the value. */
static char *swept_text(fanin__rctx *r, const axis *a, int idx) {
    const fanin__node *v = a->values->vals[idx];
    const fanin__key *k = fanin__schema_find(a->key->text, NULL, 0, NULL, 0);
    if (!k || k->type != FANIN__KEY_PREF || fanin__node_is_null(v)) return fanin__node_flow_text(v);
    fanin__errs quiet = {0};
    fanin__pref p;
    const char *skip = k->kind == FANIN_KIND_OPTIMIZER ? "lr" : NULL;
    char *s = NULL;
    if (fanin__pref_from_node(&p, r->reg, k->kind, v, skip, &quiet) != FANIN_OK) {
        s = fanin__node_flow_text(v);
    } else {
        const fanin__node *lr = skip ? fanin__node_get(v, "lr", NULL) : NULL;
        size_t len = 0, nl = strlen(p.entry->plugin->name);
        if (lr && lr->type == FANIN__SCALAR) /* "sgd(lr=0.1, momentum=0.9)" */
            fanin__str_appendf(&s, &len, "%s(lr=%s%s%s", p.entry->plugin->name, lr->text,
                               p.text[nl] ? ", " : ")", p.text[nl] ? p.text + nl + 1 : "");
        else s = fanin__strdup(p.text);
        fanin__pref_deinit(&p);
    }
    fanin__errs_deinit(&quiet);
    return s;
}

static int record_swept(fanin__rctx *r, const axis *a, int n, int member) {
    fanin_experiment *x = r->x;
    if (n == 0) return FANIN_OK;
    if (!(x->swept = calloc((size_t)n, sizeof *x->swept)))
        return fanin__errs_add(r->errs, FANIN_ENOMEM, NULL, "out of memory");
    x->n_swept = n;
    for (int k = n - 1; k >= 0; k--) {
        int len = (int)a[k].values->n;
        x->swept[k].key = fanin__strdup(a[k].key->text);
        x->swept[k].value = swept_text(r, &a[k], member % len);
        member /= len;
        if (!x->swept[k].key || !x->swept[k].value)
            return fanin__errs_add(r->errs, FANIN_ENOMEM, NULL, "out of memory");
    }
    return FANIN_OK;
}

/* ---- resolving ---- */

/* Resolve `member` into a new experiment, every error going to errs. */
static int resolve_member(const fanin_config *c, int member, const fanin_registry *reg,
                          fanin_experiment **out, fanin__errs *errs) {
    *out = NULL;
    fanin_experiment *x = calloc(1, sizeof *x);
    fanin__node *tree = NULL;
    if (!x || !(x->source_file = fanin__strdup(c->name)) ||
        !(tree = fanin__node_clone(c->root, c->name, x->source_file))) {
        fanin__experiment_free(x);
        return fanin__errs_add(errs, FANIN_ENOMEM, NULL, "out of memory");
    }
    x->member = member;
    int before = errs->total, rc = FANIN_OK;
    axis *a;
    int n = sweep_axes(tree, &a, errs);
    long long count = members_of(a, n);
    fanin__rctx r = {c, reg, x, errs, tree};
    if (count > FANIN__MAX_MEMBERS)
        fanin__errs_add(errs, FANIN_ECONFIG, &tree->loc, "the sweep has more than %d members",
                        FANIN__MAX_MEMBERS);
    else if (member < 0 || member >= count)
        rc = fanin__errs_add(errs, FANIN_EINVAL, NULL, "sweep member %d does not exist (0..%lld)",
                             member, count - 1);
    else if (a) apply_member(&tree, a, n, member, errs);
    r.root = tree;
    if (rc == FANIN_OK) fanin__resolve_tree(&r);
    if (rc == FANIN_OK && errs->total == before) record_swept(&r, a, n, member);
    if (errs->total != before || rc != FANIN_OK) {
        fanin__experiment_free(x);
        x = NULL;
    }
    free(a);
    fanin__node_free(tree);
    *out = x;
    return x ? FANIN_OK : (errs->code ? errs->code : FANIN_ECONFIG);
}

int fanin__config_resolve(const fanin_config *c, int member, const fanin_registry *reg,
                          fanin_experiment **out, char *err, size_t errlen) {
    fanin__errs errs = {0};
    int rc = reg ? resolve_member(c, member, reg, out, &errs)
                 : fanin__errs_add(&errs, FANIN_EINVAL, NULL, "no plugin registry");
    if (rc != FANIN_OK) fanin__errf(err, errlen, rc, "%s", errs.n ? errs.msg[0] : "out of memory");
    fanin__errs_deinit(&errs);
    return rc;
}

int fanin__config_validate(const fanin_config *c, const fanin_registry *reg, char *err,
                           size_t errlen) {
    return fanin__config_validate_with(c, reg, NULL, NULL, err, errlen);
}

int fanin__config_validate_with(const fanin_config *c, const fanin_registry *reg,
                                fanin__member_check check, void *user, char *err, size_t errlen) {
    fanin__errs errs = {0};
    int members = fanin__config_members(c);
    for (int m = 0; m < members && reg; m++) {
        fanin_experiment *x;
        resolve_member(c, m, reg, &x, &errs);
        if (x && check) check(x, &errs, user);
        fanin__experiment_free(x);
    }
    if (!reg) fanin__errs_add(&errs, FANIN_EINVAL, NULL, "no plugin registry");
    int rc = errs.code;
    if (rc != FANIN_OK) fanin__errs_join(&errs, err, errlen);
    else if (err && errlen) err[0] = '\0';
    fanin__errs_deinit(&errs);
    return rc == FANIN_OK ? FANIN_OK : (rc == FANIN_ENOMEM ? rc : FANIN_ECONFIG);
}

void fanin__experiment_free(fanin_experiment *x) {
    if (!x) return;
    for (int l = 0; l < x->n_layers; l++) {
        fanin__pref_deinit(&x->layers[l].activation);
        fanin__pref_deinit(&x->layers[l].init);
        fanin__pref_deinit(&x->layers[l].bias_init);
    }
    free(x->layers);
    fanin__pref_deinit(&x->optimizer);
    for (int s = 0; s < x->n_swept; s++) {
        free(x->swept[s].key);
        free(x->swept[s].value);
    }
    free(x->swept);
    free(x->source_file);
    free(x);
}
