/*
 * switch.h: the switch layer, below everything that suspends or resumes a
 * task.  One hand-over routine (coop__hand_over) takes the thread from
 * the running task, or the coop_run caller, to the next task or back to
 * the caller; coop_yield, a task blocking in a wait, a task ending and
 * coop_run all switch through it.
 *
 * The hand-over does all its bookkeeping (errno, current task, the C++
 * exception state) before the switch and tail-calls the assembly, which
 * returns 0: nothing runs after a switch in the common case, so the
 * resumed task returns straight to its caller.  Only when a sanitizer
 * must follow the switches does the slower path of checkers.c run.
 *
 * R7's event interval is counted here too: coop__tick counts down one per
 * switch of a task (a yield, a block) and the scheduler (wait.c)
 * processes due events when it reaches 0.
 */
#ifndef COOP_SWITCH_H
#define COOP_SWITCH_H

#include "checkers.h"
#include "coop-private.h"
#include "cxx.h"
#include "ring.h"

/* Switches between event checks while tasks are runnable (R7). */
#define COOP__EVENT_INTERVAL 61


/* Hand the thread from `from` (the running task, whose state the caller
 * set, or the coop_run caller) to `next`, READY or NEW, or back to the
 * coop_run caller when `next` is NULL.  `from_errno` and `from_eh`
 * receive what leaves with it (`from_eh` NULL: it never resumes, and
 * `dying`: nothing of it needs saving).  Returns 0 once `from` resumes. */
static inline __attribute__((always_inline)) int
coop__hand_over(struct coop_context *ctx, struct coop__arch_ctx *from, int *from_errno,
                struct coop__arch_eh *from_eh, struct coop_task *next, bool dying)
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
			return coop__checkers_switch(ctx, from, next, dying, fresh);
	}
	to = next ? &next->arch : &ctx->main;
	if (dying) /* nothing of `from` needs saving */
		return fresh ? coop__arch_leave_fresh(from, to) : coop__arch_leave(from, to);
	return fresh ? coop__arch_switch_fresh(from, to) : coop__arch_switch(from, to);
}

/* With thousands of tasks, each is cold when its turn comes: warm up the
 * ones after `next` in two stages.  The first was itself prefetched one
 * switch ago, so reading where its frame is costs little; the one after
 * that gets its first line (and TLB entry) fetched now.  Nothing to do
 * when the ring holds just the two tasks of this switch.  Only yields
 * need this: a ring of many tasks turns by yields; the other switches
 * (to a task's first run, from one ending or blocking) do without. */
static inline void coop__prefetch_after(const struct coop_task *self, const struct coop_task *next)
{
	const struct coop_task *n1 = next->rq_next;

	if (n1 != self) {
		coop__arch_prefetch(&n1->arch);
		__builtin_prefetch(n1->rq_next, 1);
	}
}

/* A yield's hand-over in the common case, spelled out: the next task is
 * the one after `self` in the ring, READY, and `self` stays where it is,
 * now the tail.  `cxx`: swap the C++ exception state too. */
static inline __attribute__((always_inline)) int coop__yield_to(struct coop_task *self,
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
	coop__prefetch_after(self, next);
	return coop__arch_switch(&self->arch, &next->arch);
}

/* The running task `self`, its state set (READY: it stays in the ring and
 * yields; otherwise it leaves the ring), hands over to the task after it,
 * or to the coop_run caller when none is left.  `call` names the public
 * call for the canary check of an unguarded stack (NULL: the blocking
 * call its wait kind names). */
int coop__switch_from(struct coop_task *self, const char *call);
/* Leave a task that has ended for good (out of the ring already, maybe
 * freed) for `next`, NULL: the coop_run caller.  Not declared noreturn,
 * so that the end of a task can reach it by a jump (a sibling call): the
 * return-stack predictor then still holds the return address of whoever
 * resumes next.  It never returns unless memory is corrupt; callers that
 * continue must abort. */
void coop__switch_last(struct coop_context *ctx, struct coop_task *next);

#endif /* COOP_SWITCH_H */
