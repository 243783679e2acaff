/*
 * context.c: the scheduler object.  Creation and destruction, the run loop,
 * and the run-queue policy: FIFO round-robin, with tasks switching directly
 * to the next READY task (no trip through the scheduler loop per switch).
 *
 * Invariants: at most one context runs per thread (coop__running); while it
 * runs, exactly one of {the coop_run caller, one task} executes, and
 * coop__self names the task (NULL for the caller).  Control returns to the
 * coop_run caller only when the run queue is empty.  errno belongs to
 * whoever runs: it is saved and restored around every switch, before the
 * switch itself, so nothing remains to do once it returns.
 */
#include <errno.h>
#include <stdlib.h>

#include "checkers.h"
#include "coop-private.h"

COOP_TLS struct coop_task *coop__self;
COOP_TLS struct coop_context *coop__running;

COOP_EXPORT int coop_context_create(struct coop_context **out, const struct coop_context_opts *opts)
{
	struct coop_context_opts o = {0};
	struct coop_context *ctx;
	int rc;

	if (!out)
		return -EINVAL;
	if (opts && (rc = coop__opts_copy(&o, sizeof(o), opts)) < 0)
		return rc;
	if (!o.stack_size)
		o.stack_size = COOP_STACK_SIZE_DEFAULT;
	if (o.stack_size < COOP_STACK_SIZE_MIN || !coop__page_round(o.stack_size))
		return -EINVAL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	TAILQ_INIT(&ctx->runq);
	LIST_INIT(&ctx->tasks);
	TAILQ_INIT(&ctx->stacks);
	ctx->stack_size = o.stack_size;
	ctx->next_id = 1;
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
	while ((t = LIST_FIRST(&ctx->tasks)))
		coop__task_free(t);
	coop__stack_drain(ctx);
	free(ctx);
}

void coop__make_ready(struct coop_task *t)
{
	t->state = COOP__READY;
	TAILQ_INSERT_TAIL(&t->ctx->runq, t, runq);
}

/* Pop the next READY task, marked RUNNING and current, with its errno in
 * place; NULL when the queue is empty. */
static struct coop_task *take_next(struct coop_context *ctx)
{
	struct coop_task *next = TAILQ_FIRST(&ctx->runq);

	if (next) {
		TAILQ_REMOVE(&ctx->runq, next, runq);
		next->state = COOP__RUNNING;
		errno = next->saved_errno;
	} else {
		errno = ctx->main_errno;
	}
	coop__self = next;
	return next;
}

void coop__schedule(struct coop_task *self)
{
	struct coop_context *ctx = self->ctx;
	struct coop_task *next;
	void *fake = NULL;

	self->saved_errno = errno;
	next = take_next(ctx);
	if (next) {
		coop__asan_leave(&fake, next->stack->lo, next->stack->size);
		coop__arch_switch(&self->arch, &next->arch);
	} else {
		coop__asan_leave(&fake, ctx->main_lo, ctx->main_size);
		coop__arch_switch(&self->arch, &ctx->main);
	}
	coop__arrive(ctx, fake);
}

void coop__arrive(struct coop_context *ctx, void *fake)
{
	if (COOP_UNLIKELY(ctx->leaving_main)) {
		ctx->leaving_main = false;
		coop__asan_arrive(fake, &ctx->main_lo, &ctx->main_size);
	} else {
		coop__asan_arrive(fake, NULL, NULL);
	}
}

void coop__schedule_last(struct coop_context *ctx)
{
	struct coop_task *next = take_next(ctx);

	/* No fake stack to keep: this context never resumes. */
	if (next) {
		coop__asan_leave(NULL, next->stack->lo, next->stack->size);
		coop__arch_switch(&ctx->graveyard, &next->arch);
	} else {
		coop__asan_leave(NULL, ctx->main_lo, ctx->main_size);
		coop__arch_switch(&ctx->graveyard, &ctx->main);
	}
	coop__die("coop_exit", "a finished task was resumed");
}

COOP_EXPORT int coop_run(struct coop_context *ctx)
{
	struct coop_task *next;

	if (!ctx)
		return -EINVAL;
	if (coop__running || ctx->running)
		return -EBUSY;
	ctx->running = true;
	coop__running = ctx;
	ctx->main_errno = errno;
	while ((next = take_next(ctx))) {
		void *fake = NULL;

		/* The task that arrives learns this stack's bounds for ASan. */
		ctx->leaving_main = true;
		coop__asan_leave(&fake, next->stack->lo, next->stack->size);
		coop__arch_switch(&ctx->main, &next->arch);
		coop__asan_arrive(fake, NULL, NULL);
	}
	/* take_next() restored main_errno. */
	coop__running = NULL;
	ctx->running = false;
	if (ctx->live)
		coop__die("coop_run", "%zu tasks blocked with none runnable", ctx->live);
	return 0;
}

COOP_EXPORT int coop_yield(void)
{
	struct coop_task *self = coop__self;

	if (!self)
		return -EPERM;
	if (TAILQ_EMPTY(&self->ctx->runq))
		return 0; /* alone: keep running */
	coop__make_ready(self);
	coop__schedule(self);
	return 0;
}

COOP_EXPORT struct coop_task *coop_self(void)
{
	return coop__self;
}
