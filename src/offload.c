/*
 * offload.c: coop_offload, the context's side of a job (offload.h).
 *
 * The calling task queues a job and waits in the job's queue, counted as
 * waiting on another thread (coop_run blocks rather than report a
 * deadlock).  Its completion comes back through the context's queue of
 * completions, in R6's order, and wakes it.  A deadline or cancellation
 * that ends the wait first withdraws a job still queued (fn never runs,
 * R3); a running one is abandoned only under COOP_OFFLOAD_ABANDON, and
 * otherwise waited for to the end, uncancellably: fn's `arg` may point
 * into the task's stack.  Under COOP_OFFLOAD_ABANDON, every -ETIMEDOUT or
 * -ECANCELED hands `arg` to the orphan callback: on the worker once fn
 * returns if it had started, else before coop_offload returns.
 */
#include <stdlib.h>

#include "object.h"
#include "offload.h"
#include "remote.h"
#include "wait.h"

/* The completion, on the context's thread. */
static void job_done(void *arg)
{
	struct coop__job *job = arg;
	struct coop__waiter *w;

	job->delivered = true;
	coop__pool_release(job->pool);
	if ((w = TAILQ_FIRST(&job->waiters)))
		coop__wake(w->task, 0);
}

static void job_free(struct coop__job *job)
{
	LIST_REMOVE(job, ctx_link);
	free(job);
}

/* The deadline or a cancellation ended the call before fn ran.  Under
 * COOP_OFFLOAD_ABANDON, `arg` belongs to the orphan callback after any
 * -ETIMEDOUT or -ECANCELED, so that the caller never has to know whether
 * fn had started: it gets arg now, with no result (NULL). */
static int gave_up(const struct coop_offload_opts *o, void *arg, int rc)
{
	if ((o->flags & COOP_OFFLOAD_ABANDON) && o->orphan)
		o->orphan(arg, NULL);
	return rc;
}

/* Wait for `job`'s completion, whatever the deadlines or cancellations. */
static void wait_delivered(struct coop_task *self, struct coop__job *job)
{
	struct coop__waiter w;

	while (!job->delivered) {
		w = (struct coop__waiter){.q = &job->waiters};
		coop__tick_down(self->ctx);
		coop__block(self, &w, 1, COOP_WAIT_OFFLOAD, NULL, COOP_FOREVER, 0,
		            COOP__WAIT_NOCANCEL);
	}
}

COOP_EXPORT int coop_offload(void *(*fn)(void *), void *arg, void **result, int64_t deadline,
                             const struct coop_offload_opts *opts)
{
	struct coop_task *self = coop__self;
	struct coop_offload_opts o = {0};
	struct coop_context *ctx;
	struct coop_pool *pool;
	struct coop__job *job;
	struct coop__waiter w;
	int rc, saved, expect = COOP__JOB_RUNNING;

	if (!fn || deadline < COOP_FOREVER)
		return -EINVAL;
	if (opts && (rc = coop__opts_copy(&o, sizeof(o), opts)) < 0)
		return rc;
	if (o.flags & ~COOP_OFFLOAD_ABANDON)
		return -EINVAL;
	if (!self)
		return -EPERM;
	if ((rc = coop__cancel_point(self)) < 0)
		return gave_up(&o, arg, rc);
	ctx = self->ctx;
	{
		int timeout_result;
		int64_t d = coop__wait_deadline(self, deadline, 0, &timeout_result);

		/* It cannot complete at once: a passed deadline queues nothing. */
		if (coop__passed(d)) {
			coop__spent(self);
			return gave_up(&o, arg, timeout_result);
		}
	}
	pool = o.pool ? o.pool : ctx->pool;
	if (!pool && !(pool = coop__pool_default(&rc)))
		return rc;
	saved = errno;
	if (!(job = calloc(1, sizeof(*job)))) {
		errno = saved;
		return -ENOMEM;
	}
	job->fn = fn;
	job->arg = arg;
	job->orphan = o.orphan;
	job->abandon = o.flags & COOP_OFFLOAD_ABANDON;
	job->pool = pool;
	job->remote = &ctx->remote;
	job->done.fn = job_done;
	job->done.arg = job;
	TAILQ_INIT(&job->waiters);
	LIST_INSERT_HEAD(&ctx->jobs, job, ctx_link);
	if ((rc = coop__pool_submit(pool, job)) < 0) {
		job_free(job);
		return rc;
	}
	w = (struct coop__waiter){.q = &job->waiters};
	ctx->ext_waiting++;
	rc = coop__wait(self, &w, 1, COOP_WAIT_OFFLOAD, NULL, deadline, 0);
	if (rc < 0) {
		/* Timed out or cancelled: still queued, it never runs. */
		if (coop__pool_withdraw(pool, job)) {
			ctx->ext_waiting--;
			job_free(job);
			return gave_up(&o, arg, rc);
		}
		/* Running: the worker's, if it has not finished (one CAS). */
		if (job->abandon) {
			/* Off the context's list first: once the CAS is
			 * ours, the worker may free the job at any time. */
			LIST_REMOVE(job, ctx_link);
			if (atomic_compare_exchange_strong(&job->state, &expect,
			                                   COOP__JOB_ABANDONED)) {
				ctx->ext_waiting--;
				return rc;
			}
			LIST_INSERT_HEAD(&ctx->jobs, job, ctx_link);
		}
		/* Finished or to be waited for: the result is ours (R3; a
		 * cancellation stays pending). */
		wait_delivered(self, job);
	}
	ctx->ext_waiting--;
	if (result)
		*result = job->result;
	job_free(job);
	return 0;
}

/* coop_context_destroy: the tasks waiting for `job` leave its queue (they
 * are freed without being resumed, and the job goes first). */
static void unlink_waiters(struct coop__job *job)
{
	struct coop__waiter *w;

	while ((w = TAILQ_FIRST(&job->waiters)))
		coop__wait_unlink(w->task);
}

void coop__offload_shutdown(struct coop_context *ctx)
{
	struct coop__job *job, *next;
	bool waiting;

	for (job = LIST_FIRST(&ctx->jobs); job; job = next) {
		int expect = COOP__JOB_RUNNING;

		next = LIST_NEXT(job, ctx_link);
		if (job->delivered)
			continue;
		if (coop__pool_withdraw(job->pool, job)) {
			/* As if its task had given up (gave_up). */
			if (job->abandon && job->orphan)
				job->orphan(job->arg, NULL);
			/* Its task, freed later, must not be in the job's queue. */
			unlink_waiters(job);
			job_free(job);
		} else if (job->abandon) {
			/* Off the list and the task out of the job's queue
			 * before the CAS: once it is ours, the worker may
			 * free the job at any time. */
			LIST_REMOVE(job, ctx_link);
			if (atomic_compare_exchange_strong(&job->state, &expect, COOP__JOB_ABANDONED))
				unlink_waiters(job);
			else
				LIST_INSERT_HEAD(&ctx->jobs, job, ctx_link);
		}
	}
	/* The others run on: their fn may use their task's stack. */
	for (;;) {
		waiting = false;
		LIST_FOREACH(job, &ctx->jobs, ctx_link)
			waiting |= !job->delivered;
		if (!waiting)
			break;
		if (coop__remote_sleep(ctx, COOP__SLEEP_FUTEX)) {
			coop__futex_sleep(ctx, COOP_FOREVER);
			coop__remote_awake(ctx);
		}
		coop__remote_run(ctx);
	}
	while ((job = LIST_FIRST(&ctx->jobs)))
		job_free(job);
}
