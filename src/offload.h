/*
 * offload.h: jobs, between coop_offload (offload.c, the context's side)
 * and the pools whose threads run them (pool.c).
 *
 * A job's life: QUEUED in its pool; RUNNING once a worker took it (under
 * the pool's lock, which is also what withdrawing a queued job takes);
 * then one compare-and-swap decides between DONE (the worker finished
 * first: it queues the job's completion to its context, remote.h) and
 * ABANDONED (the waiting task gave up first, COOP_OFFLOAD_ABANDON: the
 * worker calls the orphan callback and frees the job).  The context's
 * side frees every job that was withdrawn or delivered.
 */
#ifndef COOP_OFFLOAD_H
#define COOP_OFFLOAD_H

#include "coop-private.h"

enum {
	COOP__JOB_QUEUED,
	COOP__JOB_RUNNING,
	COOP__JOB_DONE,
	COOP__JOB_ABANDONED,
};

struct coop__job {
	TAILQ_ENTRY(coop__job) link;    /* its pool's queue while QUEUED */
	void *(*fn)(void *);
	void *arg;
	void *result;                   /* fn's, written before DONE */
	void (*orphan)(void *arg, void *result);
	atomic_int state;               /* COOP__JOB_* */
	struct coop_pool *pool;
	struct coop__remote *remote;    /* its context's, for the completion */
	struct coop__post done;         /* the completion, queued on remote->done */
	/* The context's thread only: */
	LIST_ENTRY(coop__job) ctx_link; /* ctx->jobs */
	struct coop__waitq waiters;     /* the task in coop_offload */
	bool abandon;                   /* COOP_OFFLOAD_ABANDON */
	bool delivered;                 /* its completion has run */
};

/* The default pool, made on first use: NULL (*err -ENOMEM) if it cannot be. */
struct coop_pool *coop__pool_default(int *err);
/* Queue `job` (QUEUED) and see that a worker will take it: 0, or -EAGAIN
 * when the pool has no thread and cannot start one (job not queued). */
int coop__pool_submit(struct coop_pool *pool, struct coop__job *job);
/* Take `job` back if it is still queued: true (it never runs). */
bool coop__pool_withdraw(struct coop_pool *pool, struct coop__job *job);
/* A job counted by the pool is over (delivered, withdrawn, orphaned). */
void coop__pool_release(struct coop_pool *pool);

/* offload.c: coop_context_destroy's part: withdraw its tasks' queued
 * jobs, abandon the running ones that allow it, and wait for the rest. */
void coop__offload_shutdown(struct coop_context *ctx);

#endif /* COOP_OFFLOAD_H */
