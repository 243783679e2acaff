/*
 * wait.h: the one wait/wake path every blocking call goes through.
 *
 * A blocking call builds wait records on the caller's stack, one per
 * queue it waits in (a joined task's joiners, a group's waiters, a
 * channel's receivers, each channel of a select...), and calls coop__wait
 * with its deadline.  That
 * applies the shared rules once for every call: the effective deadline
 * (R1: the call's own or the task's ambient one, whichever is earlier; a
 * passed one returns at once without switching), the budget of calls that
 * complete without waiting (R7), the timer-heap entry, and the switch
 * away.  A waker ends the wait with coop__wake(task, result): the task
 * leaves every queue and the heap, gets the result and joins the tail of
 * the run queue; the waker keeps running (R6).  Whoever comes first
 * (completion, deadline, cancellation) wins: a task no longer BLOCKED
 * cannot be woken again (R3).  Cancellation at entry (R2) is the caller's
 * first step after its argument checks: coop__cancel_point.
 */
#ifndef COOP_WAIT_H
#define COOP_WAIT_H

#include <errno.h>

#include "coop-private.h"
#include "switch.h"
#include "timer.h"

/* One queue a blocked task waits in. */
struct coop__waiter {
	TAILQ_ENTRY(coop__waiter) link;
	struct coop__waitq *q;  /* the queue to wait in; NULL once taken out */
	struct coop_task *task; /* the waiting task */
	void *data;             /* the call's: a channel op's element, a cond wait's mutex */
	int index;              /* a select's op index: what its wait returns when this
	                         * record is the one completed (0 for every other wait) */
	int status;             /* a channel op's outcome, set by the task completing it */
};

/* task->cancel */
#define COOP__CANCEL_PENDING 0x1u /* coop_cancel was called for it */
#define COOP__CANCEL_SHIELD 0x2u  /* coop_shield(1) */

/* coop__wait flags */
#define COOP__WAIT_OWN_OK 0x1u   /* its own deadline ending the wait is success (a sleep) */
#define COOP__WAIT_NOCANCEL 0x2u /* a cancellation does not end it (coop_group_wait) */

/* A blocking call's budget of completions without waiting (R7). */
#define COOP__BUDGET 128

/* R2: -ECANCELED when the task has a cancellation to deliver, else 0. */
static inline int coop__cancel_point(const struct coop_task *self)
{
	return COOP_UNLIKELY((self->cancel & (COOP__CANCEL_PENDING | COOP__CANCEL_SHIELD)) ==
	                     COOP__CANCEL_PENDING)
	               ? -ECANCELED
	               : 0;
}

/* Suspend the running task `self` in the `n` queues of `w` (each record's
 * q set, not yet linked) until a waker ends the wait, or the effective
 * deadline passes (-ETIMEDOUT, or 0 for its own deadline under
 * COOP__WAIT_OWN_OK), or it is cancelled (-ECANCELED, unless
 * COOP__WAIT_NOCANCEL or shielded).  A deadline already passed returns at
 * once, without switching (spending the budget).  `kind` and `obj` are
 * what coop_context_tasks reports. */
static inline int coop__wait(struct coop_task *self, struct coop__waiter *w, unsigned n,
                             int kind, const void *obj, int64_t deadline, unsigned flags);
/* The budget of `self` is spent: check events and yield (wait.c). */
void coop__spent_yield(struct coop_task *self);
/* A blocking call of `self` completed without waiting: spend a unit of its
 * budget (R7); the 128th in a row checks events and yields.  Inline: it
 * is a fifth of an uncontended lock and unlock.
 * The budget's mark is a count that moves at every switch of a task, so a
 * task whose mark is unchanged since it last spent has not waited or
 * yielded in between (while it runs, nothing else switches). */
static inline void coop__spent(struct coop_task *self)
{
	uint64_t mark = (uint64_t)self->ctx->epoch << 32 | (uint32_t)coop__tick;

	if (self->budget_mark != mark) {
		self->budget_mark = mark;
		self->budget_used = 0;
	}
	if (COOP_LIKELY(++self->budget_used < COOP__BUDGET))
		return;
	coop__spent_yield(self);
}
/* Take BLOCKED task t out of its queues and the heap.  (Its wait_kind and
 * wait_obj mean something only while it is BLOCKED.) */
static inline void coop__wait_unlink(struct coop_task *t)
{
	struct coop__waiter *w = t->waits;
	unsigned i;

	for (i = 0; i < t->nwaits; i++)
		if (w[i].q) {
			TAILQ_REMOVE(w[i].q, &w[i], link);
			w[i].q = NULL;
		}
	t->nwaits = 0;
	if (t->timer)
		coop__timer_remove(t->ctx, t);
}

/* End BLOCKED task t's wait with `result`: out of its queues and the heap,
 * READY, not yet in the run queue (the caller puts it there). */
static inline void coop__wait_end(struct coop_task *t, int result)
{
	coop__wait_unlink(t);
	t->wait_result = result;
	t->state = COOP__READY;
}
/* End BLOCKED task t's wait with `result` and append it to the run queue.
 * Inline: every hand-off (a send to a waiting receiver, an unlock) makes
 * one. */
static inline void coop__wake(struct coop_task *t, int result)
{
	coop__wait_end(t, result);
	coop__ring_push(t);
}
/* Cancel task t (coop_cancel, coop_group_cancel): mark it, and wake it if
 * its wait can be cancelled. */
void coop__cancel_task(struct coop_task *t);
/* Wake every task whose deadline is <= now, earliest first (R6). */
void coop__expire(struct coop_context *ctx, int64_t now);
/* R7's periodic check, from a running task: due deadlines. */
void coop__events(struct coop_context *ctx);

/* One task switch towards the next event check (see switch.h). */
static inline void coop__tick_down(struct coop_context *ctx)
{
	if (COOP_UNLIKELY(--coop__tick <= 0))
		coop__events(ctx);
}

/* R1: the effective deadline of a wait of `self` with its own `deadline`
 * (the earlier of it and the ambient one; on a tie, its own), and in
 * *timeout_result what the wait returns if that deadline ends it. */
static inline __attribute__((always_inline)) int64_t
coop__wait_deadline(const struct coop_task *self, int64_t deadline, unsigned flags,
                    int *timeout_result)
{
	int64_t ambient = self->deadline;

	*timeout_result = (flags & COOP__WAIT_OWN_OK) ? 0 : -ETIMEDOUT;
	if (ambient != COOP_FOREVER && (deadline == COOP_FOREVER || ambient < deadline)) {
		*timeout_result = -ETIMEDOUT;
		return ambient;
	}
	return deadline;
}

/* An effective deadline that has passed: do not wait (0 is before any
 * coop_now()). */
static inline __attribute__((always_inline)) bool coop__passed(int64_t deadline)
{
	return deadline != COOP_FOREVER && (deadline == 0 || deadline <= coop_now());
}

/* The second half of coop__wait, for a call that has done the first half
 * itself (an fd wait arms the kernel between the two): suspend `self` in
 * the `n` queues of `w` until `deadline` (effective, not passed), the
 * event check of the switch (coop__tick_down) already made. */
static inline __attribute__((always_inline)) int
coop__block(struct coop_task *self, struct coop__waiter *w, unsigned n, int kind,
            const void *obj, int64_t deadline, int timeout_result, unsigned flags)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		w[i].task = self;
		TAILQ_INSERT_TAIL(w[i].q, &w[i], link);
	}
	self->waits = w;
	self->nwaits = n;
	if (deadline != COOP_FOREVER)
		coop__timer_add(self->ctx, self, deadline);
	self->timeout_result = timeout_result;
	self->wait_kind = (unsigned char)kind;
	self->wait_flags = (unsigned char)flags;
	self->wait_obj = obj;
	self->state = COOP__BLOCKED;
	coop__switch_from(self, NULL);
	return self->wait_result;
}

/* Inline in every blocking call: the checks of a deadline the call
 * passes as a constant (COOP_FOREVER from coop_join) fold away. */
static inline __attribute__((always_inline)) int
coop__wait(struct coop_task *self, struct coop__waiter *w, unsigned n, int kind,
           const void *obj, int64_t deadline, unsigned flags)
{
	int timeout_result;

	deadline = coop__wait_deadline(self, deadline, flags, &timeout_result);
	if (coop__passed(deadline)) {
		coop__spent(self);
		return timeout_result;
	}
	/* The event check comes before the task leaves the ring: tasks it
	 * wakes are queued behind it, as for a yield. */
	coop__tick_down(self->ctx);
	return coop__block(self, w, n, kind, obj, deadline, timeout_result, flags);
}

/* idle.c: one event round (R6).  Unless `until` is COOP_NOWAIT, first
 * block until something may have happened (a post, a send, a completion,
 * an fd event) or `until` (COOP_FOREVER: no limit) passes; then run what
 * other threads queued, deliver fd events, expire deadlines.  True when
 * it ran something queued or left a task runnable. */
bool coop__round(struct coop_context *ctx, int64_t until);
/* Block on the context's futex (remote.sleep, as coop__remote_sleep stored it)
 * until a producer wakes it or `deadline`; may return early. */
void coop__futex_sleep(struct coop_context *ctx, int64_t deadline);

#endif /* COOP_WAIT_H */
