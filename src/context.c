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
 * returns straight to its caller.  Only when another runtime must follow
 * the switches (coop__hooks: a sanitizer, or the C++ runtime's exception
 * state) does a slower path tell it.
 */
#include <errno.h>
#include <stdlib.h>

#include "checkers.h"
#include "coop-private.h"
#include "cxx.h"

COOP_TLS struct coop_task *coop__self;
COOP_TLS struct coop_context *coop__running;
COOP_TLS int *coop__errno;
COOP_TLS struct coop__arch_eh *coop__eh;
unsigned char coop__hooks;

/* One ordinary libcoop.so serves plain, sanitized and C++ programs alike:
 * look for ASan's or TSan's fiber API and for the C++ runtime once, at
 * load. */
__attribute__((constructor)) static void detect_hooks(void)
{
	if (__sanitizer_start_switch_fiber || __tsan_switch_to_fiber)
		coop__hooks |= COOP__HOOK_SANITIZER;
	if (__cxa_get_globals)
		coop__hooks |= COOP__HOOK_CXX;
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
	ctx->rq = NULL;
	while ((t = LIST_FIRST(&ctx->tasks)))
		coop__task_free(t);
	coop__stack_destroy(ctx);
	free(ctx);
}

/* The sanitizer path of a switch from `from` to `next` (NULL: the
 * coop_run caller); `dying`: `from` never resumes. */
static __attribute__((noinline)) int switch_checked(struct coop_context *ctx,
                                                    struct coop__arch_ctx *from,
                                                    struct coop_task *next, bool dying,
                                                    bool fresh)
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
	if (fresh)
		coop__arch_switch_fresh(from, &next->arch);
	else
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

/* With thousands of tasks, each is cold when its turn comes: warm up the
 * ones after `next` in two stages.  The first was itself prefetched one
 * switch ago, so reading where its frame is costs little; the one after
 * that gets its first line (and TLB entry) fetched now.  Nothing to do
 * when the ring holds just the two tasks of this switch.  Only yields
 * need this: a ring of many tasks turns by yields; the other switches
 * (to a task's first run, from one ending or blocking) do without. */
static inline void prefetch_after(const struct coop_task *self, const struct coop_task *next)
{
	const struct coop_task *n1 = next->rq_next;

	if (n1 != self) {
		coop__arch_prefetch(&n1->arch);
		__builtin_prefetch(n1->rq_next, 1);
	}
}

/* Hand the thread from the running task (whose state the caller set) to
 * the next READY task, or back to the coop_run caller when none is.
 * `from_errno` and `from_eh` receive what leaves with it (`from_eh` NULL:
 * it never resumes). */
static inline int switch_away(struct coop_context *ctx, struct coop__arch_ctx *from,
                              int *from_errno, struct coop__arch_eh *from_eh,
                              struct coop_task *next, bool dying)
{
	struct coop__arch_ctx *to;
	int *e = coop__errno;
	bool fresh = false;

	*from_errno = *e;
	if (next) {
		if (COOP_UNLIKELY(next->state != COOP__READY)) {
			/* NEW: its first run, which jumps to its start
			 * rather than "returning" to it (so the return-stack
			 * predictor stays in step).  Anything else is a
			 * finished task or garbage in the run queue: abort,
			 * loudly. */
			fresh = next->state == COOP__NEW;
			if (!fresh)
				coop__bad_resume(ctx, from, next);
		}
		next->state = COOP__RUNNING;
		*e = next->saved_errno;
	} else {
		*e = ctx->main_errno;
	}
	coop__self = next;
	if (COOP_UNLIKELY(coop__hooks)) {
		if (coop__hooks & COOP__HOOK_CXX)
			coop__cxx_switch(from_eh, next ? &next->eh : &ctx->main_eh);
		if (coop__hooks & COOP__HOOK_SANITIZER)
			return switch_checked(ctx, from, next, dying, fresh);
	}
	to = next ? &next->arch : &ctx->main;
	if (dying) /* nothing of `from` needs saving */
		return fresh ? coop__arch_leave_fresh(from, to) : coop__arch_leave(from, to);
	return fresh ? coop__arch_switch_fresh(from, to) : coop__arch_switch(from, to);
}

void coop__schedule(struct coop_task *self)
{
	struct coop_context *ctx = self->ctx;

	if (COOP_UNLIKELY(self->canary))
		coop__stack_check("coop_join", self);
	switch_away(ctx, &self->arch, &self->saved_errno, &self->eh, coop__ring_leave(self), false);
}

void coop__schedule_last(struct coop_context *ctx, struct coop_task *next)
{
	int scratch;

	/* The last thing here, so that it is a jump (see coop-private.h). */
	switch_away(ctx, &ctx->graveyard, &scratch, NULL, next, true);
}

/* A yield's hand-over in the common case, spelled out: the next task is
 * the one after `self` in the ring, READY, and `self` stays where it is,
 * now the tail.  `cxx`: swap the C++ exception state too. */
static inline __attribute__((always_inline)) int yield_to(struct coop_task *self,
                                                          struct coop_task *next, bool cxx)
{
	int *e = coop__errno;

	self->state = COOP__READY;
	next->state = COOP__RUNNING;
	self->saved_errno = *e;
	*e = next->saved_errno;
	if (cxx)
		coop__cxx_switch(&self->eh, &next->eh);
	coop__self = next;
	prefetch_after(self, next);
	return coop__arch_switch(&self->arch, &next->arch);
}

/* coop_yield's uncommon cases: a canary to check, no other task, a NEW
 * one (never run), a sanitizer to tell, or a bad run queue (switch_away
 * aborts). */
static __attribute__((noinline)) int yield_slow(struct coop_task *self)
{
	struct coop_task *next = self->rq_next;

	if (COOP_UNLIKELY(self->canary))
		coop__stack_check("coop_yield", self);
	if (next == self)
		return 0; /* alone: keep running */
	self->state = COOP__READY;
	return switch_away(self->ctx, &self->arch, &self->saved_errno, &self->eh, next, false);
}

/* Past coop_yield's first test: a C++ program's common case, straight
 * (no frame: both ways out are jumps), or yield_slow. */
static __attribute__((noinline, aligned(64))) int yield_hooked(struct coop_task *self,
                                                               struct coop_task *next)
{
	if (COOP_LIKELY(coop__hooks == COOP__HOOK_CXX) && COOP_LIKELY(!self->canary) &&
	    COOP_LIKELY(next->state == COOP__READY))
		return yield_to(self, next, true); /* alone too: its own state is RUNNING */
	return yield_slow(self);
}

/* Aligned to a cache line, so that its common path spans two lines
 * wherever the linker places it: placed across three, the same code cost
 * up to 1 ns more a switch (of 6 to 7 ns, on Zen 5). */
COOP_EXPORT __attribute__((aligned(64))) int coop_yield(void)
{
	struct coop_task *self = coop__self, *next;

	if (COOP_UNLIKELY(!self))
		return -EPERM;
	/* Any hook (a C++ program's exception state too) goes further, so
	 * that a C program runs the same instructions as without them;
	 * the two tests, canary and hooks first, keep the load of
	 * next->state off the first branch. */
	next = self->rq_next;
	if (COOP_UNLIKELY(self->canary | coop__hooks) || COOP_UNLIKELY(next->state != COOP__READY))
		return yield_hooked(self, next); /* alone too: its own state is RUNNING */
	return yield_to(self, next, false);
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
	coop__errno = &errno;
	coop__overflow_thread(ctx); /* an alternate signal stack, once per thread */
	if (COOP_UNLIKELY(coop__hooks & COOP__HOOK_CXX))
		coop__cxx_thread();
	while ((next = ctx->rq)) {
		/* The task that arrives learns this stack's bounds for ASan. */
		ctx->leaving_main = true;
		switch_away(ctx, &ctx->main, &ctx->main_errno, &ctx->main_eh, next, false);
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
