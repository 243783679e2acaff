/*
 * context.c: the scheduler object.  Creation and destruction, and the run
 * loop: FIFO round-robin, with tasks switching directly to the next READY
 * task (no trip through the loop per switch; switch.h), and the loop's
 * idle step when every task waits.
 *
 * Invariants: at most one context runs per thread (coop__running); while it
 * runs, exactly one of {the coop_run caller, one task} executes, and
 * coop__self names the task (NULL for the caller).  Control returns to the
 * coop_run caller only when the run queue is empty.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "object.h"
#include "poller.h"
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
	/* No pool can be named yet (coop_offload comes later in 1.1). */
	if (o.pool || o.event_interval > INT_MAX)
		return -EINVAL;
	if (!o.stack_size)
		o.stack_size = COOP_STACK_SIZE_DEFAULT;
	if (coop__stack_size_check(o.stack_size) < 0)
		return -EINVAL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		errno = saved;
		return -ENOMEM;
	}
	coop__overflow_install(o.flags);
	LIST_INIT(&ctx->tasks);
	LIST_INIT(&ctx->pools);
	TAILQ_INIT(&ctx->idle_pools);
	LIST_INIT(&ctx->objects);
	LIST_INIT(&ctx->selblocks);
	ctx->stack_size = (o.stack_size + 15) & ~(size_t)15;
	ctx->flags = o.flags;
	ctx->next_id = 1;
	ctx->event_interval = o.event_interval ? (int)o.event_interval : COOP__EVENT_INTERVAL;
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
	/* Tasks that never ran are not run; suspended ones are not resumed. */
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

COOP_EXPORT int coop_run(struct coop_context *ctx)
{
	struct coop_task *next;
	int rc;

	if (!ctx)
		return -EINVAL;
	if (coop__running || ctx->running)
		return -EBUSY;
	ctx->running = true;
	coop__running = ctx;
	coop__errno = &errno;
	coop__tick = ctx->event_interval;
	coop__overflow_thread(ctx); /* an alternate signal stack, once per thread */
	if (COOP_UNLIKELY(coop__hooks & COOP__HOOK_CXX))
		coop__cxx_thread();
	/* The loop: run tasks until none is runnable (they switch to each
	 * other directly and come back here only then), then wait for an fd
	 * or the earliest deadline, or stop. */
	for (;;) {
		if ((next = ctx->rq)) {
			/* The task that arrives learns this stack's bounds for ASan. */
			ctx->checkers.leaving_main = true;
			coop__hand_over(ctx, &ctx->main, &ctx->main_errno, &ctx->main_eh, next, false);
			continue; /* the last switch back restored main_errno */
		}
		if (!ctx->live) {
			rc = 0;
			break;
		}
		/* Tasks are blocked and none is runnable: only an fd or a
		 * deadline can wake them (other threads will join in a later
		 * part).  Neither: nothing ever will. */
		if (!ctx->ntimers && !coop__poll_waiting(ctx)) {
			rc = -EDEADLK;
			break;
		}
		/* One round (R6): fd events, then due deadlines. */
		coop__idle(ctx, coop__timer_first(ctx));
		if (ctx->ntimers)
			coop__expire(ctx, coop_now());
	}
	coop__running = NULL;
	ctx->running = false;
	return rc;
}
