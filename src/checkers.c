/*
 * checkers.c: what switches and a task's life mean to the sanitizers
 * (src/checkers.h has the annotations).  Called only under COOP__HOOK_SANITIZER,
 * that is when the application runs under ASan or TSan: every stack is
 * unpoisoned as a task is spawned on it (a reused pool stack, or a
 * caller's buffer, may carry the redzones of frames that never returned),
 * and each task is a TSan fiber, named as TSan reports name threads.
 */
#include <stdio.h>

#include "checkers.h"
#include "coop-private.h"

int coop__checkers_switch(struct coop_context *ctx, struct coop__arch_ctx *from,
                          struct coop_task *next, bool dying, bool fresh)
{
	void *fake = NULL;

	/* The slow path can afford the checks the hot one leaves out. */
	if (next && COOP_UNLIKELY(next->ctx != ctx))
		coop__bad_resume(ctx, from, next);
	if (next)
		coop__asan_leave(dying ? NULL : &fake, next->stack_lo, next->stack_size);
	else
		coop__asan_leave(dying ? NULL : &fake, ctx->checkers.main_lo, ctx->checkers.main_size);
	if (__tsan_switch_to_fiber) {
		/* The coop_run caller runs on the thread's own fiber. */
		if (from == &ctx->main)
			ctx->checkers.tsan_main = __tsan_get_current_fiber();
		__tsan_switch_to_fiber(next ? next->tsan_fiber : ctx->checkers.tsan_main, 0);
	}
	if (fresh)
		coop__arch_switch_fresh(from, &next->arch);
	else
		coop__arch_switch(from, next ? &next->arch : &ctx->main);
	coop__checkers_arrive(ctx, fake);
	return 0;
}

void coop__checkers_arrive(struct coop_context *ctx, void *fake)
{
	struct coop__checkers *c = &ctx->checkers;

	if (COOP_UNLIKELY(c->leaving_main)) {
		c->leaving_main = false;
		coop__asan_arrive(fake, &c->main_lo, &c->main_size);
	} else {
		coop__asan_arrive(fake, NULL, NULL);
	}
	/* The fiber of a task that ended is destroyed once it is left. */
	if (c->tsan_dead) {
		__tsan_destroy_fiber(c->tsan_dead);
		c->tsan_dead = NULL;
	}
}

void coop__checkers_spawn(struct coop_task *t)
{
	/* The one place a stack is cleared for ASan: a pool stack reused
	 * after a task that ended by coop_exit or was destroyed suspended, or
	 * a caller's buffer, may carry stale redzones. */
	coop__asan_unpoison(t->stack_lo, t->stack_size);
	t->tsan_fiber = NULL;
	if (__tsan_create_fiber) {
		t->tsan_fiber = __tsan_create_fiber(0);
		if (__tsan_set_fiber_name) {
			/* As TSan's reports name the "thread". */
			char name[64];

			snprintf(name, sizeof(name), "coop task %llu%s%s", (unsigned long long)t->id,
			         t->name[0] ? " " : "", t->name);
			__tsan_set_fiber_name(t->tsan_fiber, name);
		}
	}
}

void coop__checkers_end(struct coop_task *t)
{
	/* Still running on it: destroyed at the next arrival (coop__checkers_arrive). */
	if (__tsan_create_fiber && t->tsan_fiber) {
		t->ctx->checkers.tsan_dead = t->tsan_fiber;
		t->tsan_fiber = NULL;
	}
}

void coop__checkers_free(struct coop_task *t)
{
	/* A task that never ran, or suspended in a destroyed context. */
	if (__tsan_destroy_fiber && t->tsan_fiber) {
		__tsan_destroy_fiber(t->tsan_fiber);
		t->tsan_fiber = NULL;
	}
	/* Its frames never returned: a caller's buffer goes back clean. */
	if (t->state != COOP__DONE)
		coop__asan_unpoison(t->stack_lo, t->stack_size);
}
