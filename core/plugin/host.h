/* The services table handed to plugins and the context of one plugin call (host.c).
 * The host knows nothing of the engine: services that need it (layer_forward) are callbacks
 * the caller installs in the context. */
#ifndef FANIN_PLUGIN_HOST_H
#define FANIN_PLUGIN_HOST_H

#include "base/errors.h"
#include "plugin/registry.h"
#include <fanin/plugin.h>
#include <stdint.h>

/* The layer_forward service's implementation: see fanin_host.layer_forward. On failure writes
 * why into err and returns a negative code. */
typedef int (*fanin__layer_forward_fn)(void *user, const float **out, int64_t *rows, int64_t *cols,
                                       char *err, size_t errlen);

/* The gradients-at-initialisation services' implementation (fanin_host.init_loss_grad and
 * init_weight), installed by the engine for the output layer's weight fill. On failure they
 * write why into err and return a negative code. */
typedef struct fanin__init_grad_ops {
    int (*eval)(void *user, double *loss, int32_t *n_weights, char *err, size_t errlen);
    int (*weight)(void *user, int32_t k, float **w, const float **grad, int64_t *n, char *err,
                  size_t errlen);
} fanin__init_grad_ops;

struct fanin_ctx {
    const fanin__entry *entry; /* the plugin being called (NULL during the entry call) */
    const char *path;          /* its file */
    double gain;               /* the layer activation's gain (activation_gain service) */
    int gain_asked;            /* set when the plugin called activation_gain (init-stats says) */
    /* layer_forward service, installed by whoever owns the layer being filled (the engine):
     * NULL means there is no data here and the service answers FANIN_ENOTSUP */
    fanin__layer_forward_fn layer_forward;
    void *layer_forward_user;
    /* init_loss_grad / init_weight services: NULL answers FANIN_ENOTSUP */
    const fanin__init_grad_ops *init_grad;
    void *init_grad_user;
    int has_error;
    int error_code;
    char msg[FANIN_ERRLEN]; /* the plugin's own message */
};

const fanin_host *fanin__host(void);
/* t := the full description (ABI 1.2) of `data` shaped as PyTorch's `shape` (ndim 1..4; e.g.
 * [out, in, kh, kw]) in `role` (enum fanin_role): the 2-D view [shape[0], prod(shape[1:])]
 * and fans as torch.nn.init._calculate_fan_in_and_fan_out (receptive field included). A
 * vector (ndim 1, or a bias/norm/residual role) is the view [n, 1] with the fans of `of` (the
 * weight a bias belongs to) or n, n when of is NULL; is_bias for the additive roles (bias,
 * norm shift, residual bias). No branch (block ... = -1), no flags: the caller adds them. */
void fanin__tensor_init(fanin_tensor *t, float *data, int role, int ndim, const int64_t *shape,
                        const fanin_tensor *of);
/* Also records the call as the one in flight (fanin__call_record): plugin kind and name. */
void fanin__ctx_init(fanin_ctx *ctx, const fanin__entry *e, double gain);

/* The plugin call in flight, process-wide, so a crash report can name it ("initializer my_init
 * (fill), layer 2"). fanin__ctx_init starts it (kind, name; no method, layer -1); the caller may
 * add the method and layer with fanin__call_note and end it with fanin__call_done. Fixed
 * buffers only, so it can be read after the process died (shared memory, run/isolate.c) or
 * from a signal handler. */
typedef struct fanin__call_record {
    int active; /* 1 from the call's start until fanin__call_done */
    int layer;  /* the layer's index, or -1 */
    char kind[16], name[64], what[24];
} fanin__call_record;
/* Keep the record at `where` from now on (NULL: a record of this process's own). */
void fanin__call_record_place(fanin__call_record *where);
/* The method in flight ("fill", "forward"; NULL: none) and its layer (-1: none). */
void fanin__call_note(const char *what, int layer);
void fanin__call_done(void);
/* Forget any call (a new phase of the run begins). */
void fanin__call_clear(void);
/* After a plugin call returned rc < 0: "plugin NAME (PATH): its message" into err. */
int fanin__ctx_fail(const fanin_ctx *ctx, int rc, const char *what, char *err, size_t errlen);
/* Test hook: make the n-th host allocation from now fail (0 = never). */
void fanin__host_fail_alloc_after(long n);
/* Host allocations not yet freed (leak checks in tests and `fanin check`). */
long fanin__host_live_allocs(void);
/* Where plugin log lines go; NULL restores the default (WARN and above to stderr as
 * "fanin: plugin NAME: message"). plugin is the plugin's name, or its file during the entry
 * call. Set it before loading plugins, from one thread. */
void fanin__host_set_log(void (*sink)(int level, const char *plugin, const char *msg));
/* The loader calls begin_entry(path) before each fanin_plugin_entry call: it clears the
 * message a plugin may leave with host->error(NULL, ...) and names `path` in the plugin's logs.
 * entry_message is that message, or NULL when the plugin reported none; it stays until the next
 * begin_entry (the loader calls begin_entry(NULL) once it has copied it). */
void fanin__host_begin_entry(const char *path);
const char *fanin__host_entry_message(void);

#endif /* FANIN_PLUGIN_HOST_H */
