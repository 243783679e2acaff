/*
 * context.c: the scheduler object.  Creation and destruction, and the run
 * loop: FIFO round-robin, with tasks switching directly to the next READY
 * task (no trip through the loop per switch; switch.h), and the loop's
 * event rounds (idle.c) when every task waits or other threads queued
 * something.
 *
 * Invariants: at most one context runs per thread (coop__running); while it
 * runs, exactly one of {the coop_run caller, one task} executes, and
 * coop__self names the task (NULL for the caller).  Control returns to the
 * coop_run caller when the run queue is empty, or when a task's switch
 * finds coop__to_main set (the caller then resumes the ring at ctx->rq).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "object.h"
#include "offload.h"
#include "poller.h"
#include "remote.h"
#include "timer.h"
#include "wait.h"

COOP_EXPORT int coop_context_create(struct coop_context **out, const struct coop_context_opts *opts)
{
	struct coop_context_opts o = {0};
	struct coop_context *ctx;
	int saved = errno, rc;

	if (!out)
		return -EINVAL;
	if (opts && (rc = coop__opts_copy(&o, sizeof(o), opts)) < 0)
		return rc;
	if (o.flags & ~(COOP_CONTEXT_ALLOW_UNGUARDED | COOP_CONTEXT_NO_OVERFLOW_HANDLER |
	                COOP_CONTEXT_FD_CACHE))
		return -EINVAL;
	if (o.event_interval > INT_MAX)
		return -EINVAL;
	if (!o.stack_size)
		o.stack_size = COOP_STACK_SIZE_DEFAULT;
	if (coop__stack_size_check(o.stack_size) < 0)
		return -EINVAL;
	/* Aligned: other threads write its remote block (its own line). */
	ctx = aligned_alloc(_Alignof(struct coop_context),
	                    (sizeof(*ctx) + _Alignof(struct coop_context) - 1) &
	                            ~(_Alignof(struct coop_context) - 1));
	if (!ctx) {
		errno = saved;
		return -ENOMEM;
	}
	memset(ctx, 0, sizeof(*ctx));
	coop__overflow_install(o.flags);
	LIST_INIT(&ctx->tasks);
	LIST_INIT(&ctx->pools);
	TAILQ_INIT(&ctx->idle_pools);
	LIST_INIT(&ctx->objects);
	LIST_INIT(&ctx->selblocks);
	LIST_INIT(&ctx->jobs);
	ctx->stack_size = (o.stack_size + 15) & ~(size_t)15;
	ctx->flags = o.flags;
	ctx->next_id = 1;
	ctx->event_interval = o.event_interval ? (int)o.event_interval : COOP__EVENT_INTERVAL;
	ctx->pool = o.pool;
	ctx->remote.efd = -1;
	*out = ctx;
	return 0;
}

COOP_EXPORT void coop_context_destroy(struct coop_context *ctx)
{
	struct coop_task *t;

	if (!ctx)
		return;
	if (ctx->running)
		coop__die("coop_context_destroy", "context %p is running", (void *)ctx);
	/* §8, in order: callbacks still queued run (spawning fails with
	 * -ESHUTDOWN: coop_spawn), offload jobs are withdrawn or waited
	 * for (their fn may use a task's stack, freed below), and only then
	 * the tasks go: never resumed. */
	ctx->destroying = true;
	ctx->timer_cap = 0;
	while (coop__remote_pending(ctx))
		coop__remote_run(ctx);
	coop__offload_shutdown(ctx);
	/* A producer whose item was taken may still be waking us. */
	coop__remote_quiesce(ctx);
	coop__remote_free_spare(ctx);
	ctx->rq = NULL;
	while ((t = LIST_FIRST(&ctx->tasks)))
		coop__task_free(t);
	/* Their wait records gone from every queue, the objects are left
	 * to be destroyed (object.h). */
	coop__obj_orphan_all(ctx);
	coop__selblocks_free(ctx);
	coop__stack_destroy(ctx);
	coop__poll_destroy(ctx);
	free(ctx->timers);
	free(ctx);
}

int coop__enter(struct coop_context *ctx)
{
	if (!ctx)
		return -EINVAL;
	if (coop__running || ctx->running)
		return -EBUSY;
	ctx->running = true;
	coop__running = ctx;
	coop__errno = &errno;
	coop__tick = ctx->event_interval;
	coop__to_main = false;
	coop__overflow_thread(ctx); /* an alternate signal stack, once per thread */
	if (COOP_UNLIKELY(coop__hooks & COOP__HOOK_CXX))
		coop__cxx_thread();
	return 0;
}

void coop__leave(struct coop_context *ctx)
{
	/* A host loop watching the fd learns what is left (§6.2). */
	if (ctx->embedded)
		coop__poll_settle(ctx, ctx->rq != NULL);
	coop__running = NULL;
	ctx->running = false;
}

void coop__resume(struct coop_context *ctx)
{
	/* The task that arrives learns this stack's bounds for ASan. */
	ctx->checkers.leaving_main = true;
	coop__hand_over(ctx, &ctx->main, &ctx->main_errno, &ctx->main_eh, ctx->rq, false);
}

/* Tasks blocked with none runnable: can anything but the host wake them? */
bool coop__can_wake(const struct coop_context *ctx)
{
	return ctx->ntimers || coop__poll_waiting(ctx) || ctx->ext_waiting;
}

COOP_EXPORT int coop_run(struct coop_context *ctx)
{
	int rc;

	if ((rc = coop__enter(ctx)) < 0)
		return rc;
	/* The loop: run tasks until none is runnable (they switch to each
	 * other directly and come back here only then, or for a round of
	 * events), then wait for what can wake them, or stop. */
	for (;;) {
		if (ctx->rq) {
			coop__resume(ctx);
			/* Back here: the ring is empty, or a task found
			 * events queued for this stack (coop__events). */
			if (coop__to_main) {
				coop__to_main = false;
				coop__round(ctx, COOP_NOWAIT);
			}
			continue; /* the last switch back restored main_errno */
		}
		if (!ctx->live) {
			/* What was queued runs before coop_run returns (§5.1);
			 * what that queues, or other threads queue meanwhile,
			 * waits for the next run or the destroy, unless it
			 * made tasks: posts never keep it running alone. */
			if (coop__remote_pending(ctx)) {
				coop__round(ctx, COOP_NOWAIT);
				if (ctx->rq)
					continue;
			}
			rc = 0;
			break;
		}
		if (coop__remote_pending(ctx)) {
			coop__round(ctx, COOP_NOWAIT);
			continue;
		}
		/* Tasks are blocked and none is runnable: only an fd, a
		 * deadline or another thread can wake them.  None: nothing
		 * ever will. */
		if (!coop__can_wake(ctx)) {
			rc = -EDEADLK;
			break;
		}
		coop__round(ctx, coop__timer_first(ctx));
	}
	coop__leave(ctx);
	return rc;
}
