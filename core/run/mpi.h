/* Sweeps and data-parallel training over MPI (mpi.c, OpenMPI). The same `fanin` binary runs
 * with and without mpirun: it links libmpi, and calls MPI_Init only when mpirun launched it
 * (OMPI_COMM_WORLD_SIZE or PMIX_RANK in the environment). Built without MPI (no ompi-c .pc),
 * fanin__mpi_launched says so and the rest is never reached. Nothing below engine/ sees MPI:
 * the training loop gets a reduce callback (train.h). */
#ifndef FANIN_RUN_MPI_H
#define FANIN_RUN_MPI_H

#include "run/run.h"

#include <stdbool.h>
#include <stddef.h>

/* Was this process started by mpirun (its environment says so)? */
bool fanin__mpi_launched(void);
/* Was fanin built with MPI? */
bool fanin__mpi_available(void);
/* MPI_Init_thread (MPI_THREAD_MULTIPLE: rank 0's dispatcher is a thread); this rank and the
 * number of ranks. FANIN_EIO with a message when MPI cannot start. */
int fanin__mpi_init(int *rank, int *size, char *err, size_t errlen);
void fanin__mpi_finalize(void);
/* End every rank (a rank that cannot go on while the others wait for it). */
void fanin__mpi_abort(int code);
/* Rank 0's text (a folder path) to every rank; len includes room for the NUL. */
void fanin__mpi_bcast_text(char *text, size_t len);
/* The largest of every rank's code (for an agreed exit code), to every rank. */
int fanin__mpi_max(int code);

/* Members handed out by rank 0 to ranks as they become free (rank 0 works too, its dispatcher
 * runs in a thread); every member's summary row goes to rank 0, which writes summary_path and,
 * at finish, sorts it by member as a one-process run writes it. d->user is owned: free with
 * fanin__mpi_dist_free after fanin__run. */
int fanin__mpi_dist(fanin__run_dist *d, int n_members, char *err, size_t errlen);
void fanin__mpi_dist_free(fanin__run_dist *d);

/* Sum a block of floats over every rank, in place (one MPI_Allreduce); the data-parallel
 * training loop's gradient reduce (train.h: fanin__train_hooks.reduce). */
void fanin__mpi_allreduce(void *user, float *block, size_t n);
/* Wait for every rank (fanin__data_parallel.barrier). */
void fanin__mpi_barrier(void *user);

#endif /* FANIN_RUN_MPI_H */
