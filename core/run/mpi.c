/* Sweeps over MPI (mpi.h). Rank 0 hands out member indices in order, to whichever rank asks
 * first: a rank asks when it has finished a member, so a slow member (64 layers) never holds
 * back the others. A request carries the summary rows of the member just finished; rank 0
 * appends them to summary.csv as they come (one writer), and at the end rewrites the file
 * sorted by member, so it reads as a one-process run's. Rank 0 runs members too: its
 * dispatcher is a thread that polls for requests (MPI_Iprobe, then a 1 ms sleep, so it costs
 * no core). Messages: tag 1, rank -> 0: int more, then the rows text; tag 2, 0 -> rank: the
 * next member or -1. */
#include "run/mpi.h"
#include "base/atomic.h"
#include "base/clock.h"
#include "base/errors.h"
#include "engine/train.h"
#include "run/rundir.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool fanin__mpi_launched(void) { return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK"); }

#ifndef FANIN_HAVE_MPI

bool fanin__mpi_available(void) { return false; }
int fanin__mpi_init(int *rank, int *size, char *err, size_t errlen) {
    *rank = 0;
    *size = 1;
    return fanin__errf(err, errlen, FANIN_EIO,
                       "this fanin was built without MPI: install "
                       "libopenmpi-dev (tools/deps.sh) and rebuild");
}
void fanin__mpi_finalize(void) {}
void fanin__mpi_abort(int code) { exit(code); }
void fanin__mpi_bcast_text(char *text, size_t len) { (void)text, (void)len; }
int fanin__mpi_max(int code) { return code; }
int fanin__mpi_dist(fanin__run_dist *d, int n_members, char *err, size_t errlen) {
    (void)d, (void)n_members;
    return fanin__errf(err, errlen, FANIN_EIO, "this fanin was built without MPI");
}
void fanin__mpi_dist_free(fanin__run_dist *d) { (void)d; }
void fanin__mpi_allreduce(void *user, float *block, size_t n) { (void)user, (void)block, (void)n; }
void fanin__mpi_barrier(void *user) { (void)user; }

#else

#include <mpi.h>
#include <pthread.h>
#include <time.h>

enum { TAG_ASK = 1, TAG_GIVE = 2 };

bool fanin__mpi_available(void) { return true; }

int fanin__mpi_init(int *rank, int *size, char *err, size_t errlen) {
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
        return fanin__errf(err, errlen, FANIN_EIO, "MPI_Init failed");
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    if (provided<MPI_THREAD_MULTIPLE && * size> 1)
        return fanin__errf(err, errlen, FANIN_EIO,
                           "this MPI library does not offer "
                           "MPI_THREAD_MULTIPLE, which rank 0's dispatcher needs");
    return FANIN_OK;
}

/* The data-parallel reduce's cost, said at finalize when FANIN_MPI_STATS is set (the bench's
 * allreduce time per step against the step's compute, tools/bench/cluster.sh). */
static struct {
    long calls;
    double seconds, floats;
} reduce_stats;

static void say_stats(void) {
    if (!getenv("FANIN_MPI_STATS") || !reduce_stats.calls) return;
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    fprintf(stderr,
            "fanin: rank %d: %ld allreduces of %.0f floats, %.3f s in MPI_Allreduce (%.3f ms "
            "each)\n",
            rank, reduce_stats.calls, reduce_stats.floats / (double)reduce_stats.calls,
            reduce_stats.seconds, 1e3 * reduce_stats.seconds / (double)reduce_stats.calls);
}

void fanin__mpi_finalize(void) {
    int up = 0, down = 0;
    MPI_Initialized(&up);
    MPI_Finalized(&down);
    if (up && !down) say_stats();
    if (up && !down) MPI_Finalize();
}

void fanin__mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

void fanin__mpi_bcast_text(char *text, size_t len) {
    MPI_Bcast(text, (int)len, MPI_CHAR, 0, MPI_COMM_WORLD);
}

int fanin__mpi_max(int code) {
    int out = code;
    MPI_Allreduce(&code, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return out;
}

void fanin__mpi_allreduce(void *user, float *block, size_t n) {
    (void)user;
    double t0 = fanin__now();
    MPI_Allreduce(MPI_IN_PLACE, block, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    reduce_stats.calls++;
    reduce_stats.seconds += fanin__now() - t0;
    reduce_stats.floats += (double)n;
}
void fanin__mpi_barrier(void *user) {
    (void)user;
    MPI_Barrier(MPI_COMM_WORLD);
}

typedef struct dist {
    int rank, size, n_members;
    int next;      /* rank 0: the next member to hand out */
    FILE *summary; /* rank 0: summary.csv */
    char path[FANIN_PATHLEN];
    pthread_mutex_t lock;
    pthread_t thread;
    bool started, thread_up;
} dist;

/* Rank 0, under the lock: the next member, or -1 (none left, or interrupted). */
static int take(dist *s, bool more) {
    if (!more || fanin__interrupt_flag || s->next >= s->n_members) return -1;
    return s->next++;
}

/* Rank 0, under the lock: rows "header\nrow\n" into the summary (the header only first). */
static void put_rows(dist *s, const char *rows) {
    if (!rows || !s->summary) return;
    const char *body = strchr(rows, '\n');
    fputs(ftell(s->summary) == 0 || !body ? rows : body + 1, s->summary);
    fflush(s->summary);
}

/* Rank 0's dispatcher: serve requests until every other rank has left. */
static void *serve(void *arg) {
    dist *s = arg;
    struct timespec ms = {0, 1000000};
    for (int active = s->size - 1; active > 0;) {
        int flag = 0, len = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD, &flag, &st);
        if (!flag) {
            nanosleep(&ms, NULL);
            continue;
        }
        MPI_Get_count(&st, MPI_CHAR, &len);
        char *msg = calloc((size_t)len + 1, 1);
        if (!msg) fanin__mpi_abort(FANIN_EXIT_RUNTIME);
        MPI_Recv(msg, len, MPI_CHAR, st.MPI_SOURCE, TAG_ASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        int more = 0;
        if (len >= (int)sizeof more) memcpy(&more, msg, sizeof more);
        pthread_mutex_lock(&s->lock);
        if (len > (int)sizeof more) put_rows(s, msg + sizeof more);
        int k = take(s, more != 0);
        pthread_mutex_unlock(&s->lock);
        free(msg);
        if (k < 0) active--;
        MPI_Send(&k, 1, MPI_INT, st.MPI_SOURCE, TAG_GIVE, MPI_COMM_WORLD);
    }
    return NULL;
}

static int start(void *user, const char *summary_path, char *err, size_t errlen) {
    dist *s = user;
    MPI_Barrier(MPI_COMM_WORLD); /* every rank has read the earlier rows (resume) */
    int rc = FANIN_OK;
    if (s->rank == 0) {
        snprintf(s->path, sizeof s->path, "%s", summary_path);
        if (!(s->summary = fopen(summary_path, "w")))
            rc = fanin__errf(err, errlen, FANIN_EINVAL,
                             "%s: %s; choose another folder with "
                             "--out",
                             summary_path, strerror(errno));
        if (rc == FANIN_OK && s->size > 1)
            s->thread_up = pthread_create(&s->thread, NULL, serve, s) == 0;
        if (rc == FANIN_OK && s->size > 1 && !s->thread_up)
            rc = fanin__errf(err, errlen, FANIN_EIO, "cannot start the dispatcher thread");
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (rc < 0 && s->rank != 0) fanin__errf(err, errlen, rc, "rank 0 cannot write the summary");
    s->started = rc == FANIN_OK;
    return rc;
}

static int next(void *user, const char *rows, bool more) {
    dist *s = user;
    if (!s->started) return -1;
    int k = -1;
    if (s->rank == 0) {
        pthread_mutex_lock(&s->lock);
        put_rows(s, rows);
        k = take(s, more);
        pthread_mutex_unlock(&s->lock);
        return k;
    }
    size_t n = rows ? strlen(rows) + 1 : 0;
    char *msg = malloc(sizeof(int) + n);
    int m = more;
    if (!msg) fanin__mpi_abort(FANIN_EXIT_RUNTIME);
    memcpy(msg, &m, sizeof m);
    if (n) memcpy(msg + sizeof m, rows, n);
    MPI_Send(msg, (int)(sizeof m + n), MPI_CHAR, 0, TAG_ASK, MPI_COMM_WORLD);
    free(msg);
    MPI_Recv(&k, 1, MPI_INT, 0, TAG_GIVE, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (k < 0) s->started = false; /* rank 0 counted this rank out */
    return k;
}

static int by_member(const void *a, const void *b) {
    int ka = atoi(*(char *const *)a), kb = atoi(*(char *const *)b);
    return (ka > kb) - (ka < kb);
}

/* Rank 0: the summary's rows sorted by member (ids start with the member's index). */
static int sort_summary(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    char **line = NULL, buf[8192], header[8192] = "";
    int n = 0, cap = 0;
    if (f && fgets(header, sizeof header, f))
        while (fgets(buf, sizeof buf, f)) {
            if (n == cap) {
                char **l = realloc(line, sizeof *l * (size_t)(cap = cap ? 2 * cap : 64));
                if (!l) break;
                line = l;
            }
            if ((line[n] = strdup(buf))) n++;
        }
    if (f) fclose(f);
    qsort(line, (size_t)n, sizeof *line, by_member);
    fanin__atomic a;
    int e = fanin__atomic_open(&a, path);
    if (e == 0) {
        fputs(header, a.f);
        for (int i = 0; i < n; i++) fputs(line[i], a.f);
        e = fanin__atomic_commit(&a, path, ferror(a.f));
    }
    for (int i = 0; i < n; i++) free(line[i]);
    free(line);
    return e ? fanin__errf(err, errlen, FANIN_EIO, "%s: %s", path, strerror(e)) : FANIN_OK;
}

static int finish(void *user, char *err, size_t errlen) {
    dist *s = user;
    if (s->rank == 0 && s->started) s->started = false;
    int rc = FANIN_OK;
    if (s->rank == 0 && s->thread_up) pthread_join(s->thread, NULL);
    s->thread_up = false;
    if (s->rank == 0 && s->summary) {
        fclose(s->summary);
        s->summary = NULL;
        rc = sort_summary(s->path, err, errlen);
    }
    MPI_Barrier(MPI_COMM_WORLD); /* the summary is whole before any rank reads it */
    return rc;
}

int fanin__mpi_dist(fanin__run_dist *d, int n_members, char *err, size_t errlen) {
    dist *s = calloc(1, sizeof *s);
    if (!s) return fanin__errf(err, errlen, FANIN_ENOMEM, "out of memory");
    MPI_Comm_rank(MPI_COMM_WORLD, &s->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &s->size);
    s->n_members = n_members;
    pthread_mutex_init(&s->lock, NULL);
    *d = (fanin__run_dist){s, start, next, finish, s->rank == 0};
    return FANIN_OK;
}

void fanin__mpi_dist_free(fanin__run_dist *d) {
    dist *s = d->user;
    if (!s) return;
    if (s->summary) fclose(s->summary);
    pthread_mutex_destroy(&s->lock);
    free(s);
    d->user = NULL;
}

#endif
