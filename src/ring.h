/*
 * ring.h: the run queue of a context.
 *
 * The run queue is a ring: a circular doubly-linked list, through rq_next
 * and rq_prev, of a context's READY tasks and its RUNNING one, with no
 * head node.  Seen from the running task the ring is the FIFO queue: the
 * task after it runs next, and the place before it is the tail.  So a
 * yield changes no link at all (the next task is self->rq_next, one load
 * from a line the switch touches anyway, where an array or a headed list
 * costs a chain of loads through the context on every switch), and only a
 * task that blocks or ends leaves the ring.  libbsd's <sys/queue.h> lists
 * all have a head node, which the wrap-around would have to skip.
 *
 * While a task of the context runs it is coop__self, the ring's anchor;
 * otherwise ctx->rq is, the task to run first (NULL: the ring is empty;
 * the coop_run caller only runs while it is).
 */
#ifndef COOP_RING_H
#define COOP_RING_H

#include "coop-private.h"

/* Put `t` in the ring just before `at` (at its tail, `at` being the head
 * or the running task); `at` NULL: `t` is the whole ring. */
static inline void coop__ring_insert(struct coop_task *at, struct coop_task *t)
{
	if (!at) {
		t->rq_next = t->rq_prev = t;
		return;
	}
	t->rq_next = at;
	t->rq_prev = at->rq_prev;
	at->rq_prev->rq_next = t;
	at->rq_prev = t;
}

/* Take `t` out of the ring; returns the task after it, NULL if it was alone. */
static inline struct coop_task *coop__ring_remove(struct coop_task *t)
{
	struct coop_task *next = t->rq_next;

	if (next == t)
		return NULL;
	next->rq_prev = t->rq_prev;
	t->rq_prev->rq_next = next;
	return next;
}

/* `t` takes the place of `self` in the ring (as if put at its tail, just
 * before `self`, and `self` taken out): returns the task after it.  The
 * same as coop__ring_insert then coop__ring_remove, in fewer stores: on
 * the end of every joined task, that was 3 ns of a 33 ns spawn+join. */
static inline struct coop_task *coop__ring_replace(struct coop_task *self, struct coop_task *t)
{
	struct coop_task *next = self->rq_next;

	if (next == self) {
		t->rq_next = t->rq_prev = t;
		return t;
	}
	t->rq_next = next;
	t->rq_prev = self->rq_prev;
	t->rq_prev->rq_next = t;
	next->rq_prev = t;
	return next;
}

/* The running task `self` leaves the ring (it blocks or ends): returns
 * the task to run next, NULL when none is left. */
static inline struct coop_task *coop__ring_leave(struct coop_task *self)
{
	struct coop_task *next = coop__ring_remove(self);

	if (!next)
		self->ctx->rq = NULL;
	return next;
}

/* `t` (its state set by the caller) to the tail of its context's run
 * queue: a new task, or one woken from a wait (R6: the waker keeps
 * running). */
static inline void coop__ring_push(struct coop_task *t)
{
	struct coop_context *ctx = t->ctx;

	if (coop__running == ctx && coop__self) {
		coop__ring_insert(coop__self, t);
	} else {
		coop__ring_insert(ctx->rq, t);
		if (!ctx->rq)
			ctx->rq = t;
		/* From the host thread between two rounds (A7.7). */
		if (COOP_UNLIKELY(ctx->embedded) && !ctx->running)
			coop__embed_kick(ctx);
	}
}

#endif /* COOP_RING_H */
