/*
 * wait.c: the wait/wake path (see wait.h), R7's event checks and budget,
 * and coop_yield, the switch that only gives the others a turn.
 */
#include "poller.h"
#include "remote.h"
#include "timer.h"
#include "wait.h"

void coop__cancel_task(struct coop_task *t)
{
	if (t->state == COOP__DONE)
		return;
	t->cancel |= COOP__CANCEL_PENDING;
	if (t->state == COOP__BLOCKED && !(t->cancel & COOP__CANCEL_SHIELD) &&
	    !(t->wait_flags & COOP__WAIT_NOCANCEL))
		coop__wake(t, -ECANCELED);
}

void coop__expire(struct coop_context *ctx, int64_t now)
{
	while (ctx->ntimers && ctx->timers[0].deadline <= now) {
		struct coop_task *t = ctx->timers[0].task;

		coop__wake(t, t->timeout_result);
	}
}

/* Due fd events, then due deadlines (the kernel is asked only when some
 * task waits on an fd). */
static void check_now(struct coop_context *ctx)
{
	if (coop__poll_waiting(ctx))
		coop__poll_check(ctx);
	if (ctx->ntimers)
		coop__expire(ctx, coop_now());
}

/* R7's check, from a task.  What other threads queued comes first in a
 * round (R6) and runs on the coop_run caller's stack, outside any task:
 * then the task's switch goes there, which runs the whole round.  In
 * coop_run_once's round, every switch goes there, and the next round
 * begins with the check. */
void coop__events(struct coop_context *ctx)
{
	ctx->epoch++;
	if (ctx->stepping) {
		coop__tick = 1;
		return;
	}
	coop__tick = ctx->event_interval;
	if (coop__remote_pending(ctx)) {
		coop__to_main = true;
		coop__tick = 1; /* a yield's fast path does not look: send it the slow way */
		return;
	}
	check_now(ctx);
}

void coop__spent_yield(struct coop_task *self)
{
	/* Spent: events, then a yield (a lone task just continues).  In
	 * coop_run_once's round too: what became due is queued before the
	 * task goes to the tail, so that it does not run first again. */
	self->budget_used = 0;
	coop__events(self->ctx);
	if (self->ctx->stepping)
		check_now(self->ctx);
	self->state = COOP__READY;
	coop__switch_from(self, "a blocking call");
}

/* coop_yield's uncommon cases, the switch counted (coop__tick): an event
 * check due, a canary to check, no other task, a NEW one (never run), a
 * sanitizer to tell, or a bad run queue (the hand-over aborts). */
static __attribute__((noinline)) int yield_slow(struct coop_task *self)
{
	if (coop__tick <= 0)
		coop__events(self->ctx);
	self->state = COOP__READY;
	return coop__switch_from(self, "coop_yield");
}

/* Past coop_yield's hook test (a canary or a hook), the switch counted:
 * a C++ program's common case, straight (no frame: both ways out are
 * jumps), or yield_slow. */
static __attribute__((noinline, aligned(64))) int yield_hooked(struct coop_task *self,
                                                               struct coop_task *next)
{
	if (COOP_LIKELY(coop__hooks == COOP__HOOK_CXX) && COOP_LIKELY(!self->canary) &&
	    COOP_LIKELY(next->state == COOP__READY))
		return coop__yield_to(self, next, true); /* alone too: its own state is RUNNING */
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
	/* R7 first: one decrement and one branch, the event check every
	 * event_interval switches, counted here for every way on.
	 * Any hook (a C++ program's exception state too) goes further, so
	 * that a C program runs the same instructions as without them;
	 * canary and hooks are tested before next->state, to keep that
	 * load off the branch before. */
	next = self->rq_next;
	if (COOP_UNLIKELY(--coop__tick == 0))
		return yield_slow(self);
	if (COOP_UNLIKELY(self->canary | coop__hooks))
		return yield_hooked(self, next);
	if (COOP_UNLIKELY(next->state != COOP__READY))
		return yield_slow(self); /* alone too: its own state is RUNNING */
	return coop__yield_to(self, next, false);
}
