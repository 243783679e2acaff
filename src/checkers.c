/*
 * checkers.c: what a task's life means to the sanitizers (src/checkers.h
 * has the switch annotations).  Called only under COOP__HOOK_SANITIZER,
 * that is when the application runs under ASan or TSan: every stack is
 * unpoisoned as a task is spawned on it (a reused pool stack, or a
 * caller's buffer, may carry the redzones of frames that never returned),
 * and each task is a TSan fiber, named as TSan reports name threads.
 */
#include <stdio.h>

#include "checkers.h"
#include "coop-private.h"

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
	/* Still running on it: destroyed at the next arrival (coop__arrive). */
	if (__tsan_create_fiber && t->tsan_fiber) {
		t->ctx->tsan_dead = t->tsan_fiber;
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
