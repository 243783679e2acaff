/*
 * context.c: the scheduler object.  Creation and destruction, the run loop,
 * and the run-queue policy: FIFO round-robin, with tasks switching directly
 * to the next READY task (no trip through the scheduler loop per switch).
 *
 * Invariants: at most one context runs per thread (coop__running); while it
 * runs, exactly one of {the coop_run caller, one task} executes, and
 * coop__self names the task (NULL for the caller).  Control returns to the
 * coop_run caller only when the run queue is empty.
 *
 * The switch path does all its bookkeeping (run queue, errno, current
 * task) before the switch and tail-calls the assembly, which returns 0:
 * nothing runs after a switch in the common case, so the resumed task
 * returns straight to its caller.  Only when a sanitizer is present
 * (coop__checkers) does a slower path announce each switch to it.
 */
#include <errno.h>
#include <stdlib.h>

#include "checkers.h"
#include "coop-private.h"

COOP_TLS struct coop_task *coop__self;
COOP_TLS struct coop_context *coop__running;
bool coop__checkers;

/* One ordinary libcoop.so serves plain and sanitized programs alike: look
 * for ASan's or TSan's fiber API once, at load. */
__attribute__((constructor)) static void detect_checkers(void)
{
	coop__checkers = __sanitizer_start_switch_fiber != NULL || __tsan_switch_to_fiber != NULL;
}

COOP_EXPORT int coop_context_create(struct coop_context **out, const struct coop_context_opts *opts)
{
	struct coop_context_opts o = {0};
	struct coop_context *ctx;
	int saved = errno, rc;

	if (!out)
		return -EINVAL;
	if (opts && (rc = coop__opts_copy(&o, sizeof(o), opts)) < 0)
		return rc;
	if (o.flags & ~(COOP_CONTEXT_ALLOW_UNGUARDED | COOP_CONTEXT_NO_OVERFLOW_HANDLER))
		return -EINVAL;
	if (!o.stack_size)
		o.stack_size = COOP_STACK_SIZE_DEFAULT;
	if (o.stack_size < COOP_STACK_SIZE_MIN || o.stack_size > SIZE_MAX / 2)
		return -EINVAL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		errno = saved;
		return -ENOMEM;
	}
	coop__overflow_install(o.flags);
	LIST_INIT(&ctx->tasks);
	LIST_INIT(&ctx->pools);
	ctx->stack_size = (o.stack_size + 15) & ~(size_t)15;
	ctx->flags = o.flags;
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
	ctx->rq_head = ctx->rq_tail = 0;
	while ((t = LIST_FIRST(&ctx->tasks)))
		coop__task_free(t);
	coop__stack_destroy(ctx);
	free(ctx->rq);
	free(ctx);
}

int coop__rq_grow(struct coop_context *ctx)
{
	size_t cap = ctx->rq ? ctx->rq_mask + 1 : 0, n, i;
	struct coop_task **rq;
	int saved;

	saved = errno;
	rq = malloc((cap ? 2 * cap : 64) * sizeof(*rq));
	errno = saved;
	if (!rq)
		return -ENOMEM;
	n = ctx->rq_tail - ctx->rq_head;
	for (i = 0; i < n; i++)
		rq[i] = ctx->rq[(ctx->rq_head + i) & ctx->rq_mask];
	free(ctx->rq);
	ctx->rq = rq;
	ctx->rq_mask = (cap ? 2 * cap : 64) - 1;
	ctx->rq_head = 0;
	ctx->rq_tail = n;
	return 0;
}

/* The next READY task, or NULL. */
static inline struct coop_task *rq_first(const struct coop_context *ctx)
{
	return ctx->rq_head != ctx->rq_tail ? ctx->rq[ctx->rq_head & ctx->rq_mask] : NULL;
}

/* The sanitizer path of a switch from `from` to `next` (NULL: the
 * coop_run caller); `dying`: `from` never resumes. */
static __attribute__((noinline)) int switch_checked(struct coop_context *ctx,
                                                    struct coop__arch_ctx *from,
                                                    struct coop_task *next, bool dying)
{
	void *fake = NULL;

	/* The slow path can afford the checks the hot one leaves out. */
	if (next && COOP_UNLIKELY(next->ctx != ctx))
		coop__bad_resume(ctx, from, next);
	if (next)
		coop__asan_leave(dying ? NULL : &fake, next->stack_lo, next->stack_size);
	else
		coop__asan_leave(dying ? NULL : &fake, ctx->main_lo, ctx->main_size);
	if (__tsan_switch_to_fiber) {
		/* The coop_run caller runs on the thread's own fiber. */
		if (from == &ctx->main)
			ctx->tsan_main = __tsan_get_current_fiber();
		__tsan_switch_to_fiber(next ? next->tsan_fiber : ctx->tsan_main, 0);
	}
	coop__arch_switch(from, next ? &next->arch : &ctx->main);
	coop__arrive(ctx, fake);
	return 0;
}

void coop__arrive(struct coop_context *ctx, void *fake)
{
	if (COOP_UNLIKELY(ctx->leaving_main)) {
		ctx->leaving_main = false;
		coop__asan_arrive(fake, &ctx->main_lo, &ctx->main_size);
	} else {
		coop__asan_arrive(fake, NULL, NULL);
	}
	/* The fiber of a task that ended is destroyed once it is left. */
	if (ctx->tsan_dead) {
		__tsan_destroy_fiber(ctx->tsan_dead);
		ctx->tsan_dead = NULL;
	}
}

/* Hand the thread from the running task (whose state the caller set) to
 * the next READY task, or back to the coop_run caller when none is. */
static inline int switch_away(struct coop_context *ctx, struct coop__arch_ctx *from,
                              int *from_errno, struct coop_task *next, bool dying)
{
	int *e = ctx->errno_ptr;

	*from_errno = *e;
	if (next) {
		/* A finished task or garbage in the run queue: abort, loudly. */
		if (COOP_UNLIKELY(next->state != COOP__READY))
			coop__bad_resume(ctx, from, next);
		ctx->rq_head++;
		next->state = COOP__RUNNING;
		*e = next->saved_errno;
		/* With thousands of tasks, each is cold when its turn comes:
		 * warm the next ones up in two stages.  The task after `next`
		 * was itself prefetched one switch ago, so reading where its
		 * frame is costs little; the one after that gets its first
		 * line (and TLB entry) fetched now. */
		if (ctx->rq_tail - ctx->rq_head >= 2) {
			coop__arch_prefetch(&ctx->rq[ctx->rq_head & ctx->rq_mask]->arch);
			__builtin_prefetch(ctx->rq[(ctx->rq_head + 1) & ctx->rq_mask], 1);
		}
	} else {
		*e = ctx->main_errno;
	}
	coop__self = next;
	if (COOP_UNLIKELY(coop__checkers))
		return switch_checked(ctx, from, next, dying);
	if (!next)
		return coop__arch_switch(from, &ctx->main);
	if (COOP_UNLIKELY(!next->started)) {
		/* Its first run: jump to its start rather than "return" to
		 * it, leaving the return-stack predictor in step. */
		next->started = true;
		return coop__arch_switch_fresh(from, &next->arch);
	}
	return coop__arch_switch(from, &next->arch);
}

void coop__schedule(struct coop_task *self)
{
	struct coop_context *ctx = self->ctx;

	if (COOP_UNLIKELY(self->canary))
		coop__stack_check("coop_join", self);
	switch_away(ctx, &self->arch, &self->saved_errno, rq_first(ctx), false);
}

void coop__schedule_last(struct coop_context *ctx)
{
	int scratch;

	/* The last thing here, so that it is a jump (see coop-private.h). */
	switch_away(ctx, &ctx->graveyard, &scratch, rq_first(ctx), true);
}

/* coop_yield's uncommon cases: a canary to check, a task that has never
 * run, a sanitizer to tell, or a bad run queue (switch_away aborts). */
static __attribute__((noinline)) int yield_slow(struct coop_task *self)
{
	struct coop_context *ctx = self->ctx;
	struct coop_task *next;

	if (COOP_UNLIKELY(self->canary))
		coop__stack_check("coop_yield", self);
	next = rq_first(ctx);
	if (!next)
		return 0; /* alone: keep running */
	coop__make_ready(self);
	return switch_away(ctx, &self->arch, &self->saved_errno, next, false);
}

COOP_EXPORT __attribute__((optimize("no-tree-vectorize"))) int coop_yield(void)
{
	struct coop_task *self = coop__self, *next, **rq;
	struct coop_context *ctx;
	size_t head, tail, mask;
	int *e;

	if (COOP_UNLIKELY(!self))
		return -EPERM;
	ctx = self->ctx;
	head = ctx->rq_head;
	tail = ctx->rq_tail;
	if (head == tail)
		return 0; /* alone: keep running */
	/* The common case, spelled out with every field read once: */
	rq = ctx->rq;
	mask = ctx->rq_mask;
	next = rq[head & mask];
	if (COOP_UNLIKELY(self->canary | (next->state != COOP__READY) | !next->started |
	                  coop__checkers))
		return yield_slow(self);
	rq[tail & mask] = self;
	ctx->rq_tail = tail + 1;
	ctx->rq_head = ++head;
	self->state = COOP__READY;
	next->state = COOP__RUNNING;
	e = ctx->errno_ptr;
	self->saved_errno = *e;
	*e = next->saved_errno;
	coop__self = next;
	if (tail - head >= 1) {
		coop__arch_prefetch(&rq[head & mask]->arch);
		__builtin_prefetch(rq[(head + 1) & mask], 1);
	}
	return coop__arch_switch(&self->arch, &next->arch);
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
	ctx->errno_ptr = &errno; /* constant for the thread: no call per switch */
	coop__overflow_thread(ctx); /* an alternate signal stack, once per thread */
	while ((next = rq_first(ctx))) {
		/* The task that arrives learns this stack's bounds for ASan. */
		ctx->leaving_main = true;
		switch_away(ctx, &ctx->main, &ctx->main_errno, next, false);
	}
	/* The last switch back restored main_errno. */
	coop__running = NULL;
	ctx->running = false;
	if (ctx->live)
		coop__die("coop_run", "%zu tasks blocked with none runnable", ctx->live);
	return 0;
}

COOP_EXPORT struct coop_task *coop_self(void)
{
	return coop__self;
}
