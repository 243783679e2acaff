/*
 * timer.h: a context's timer heap, the deadlines of its waiting tasks.
 *
 * A 4-ary min-heap of {deadline, seq, task} in one array of the context
 * (Go's runtime keeps a 4-ary heap per P): insert and remove in O(log4 n),
 * 10 levels for a million entries, and a shallow heap touches few cache
 * lines per operation.  `seq` orders equal deadlines by the time their
 * waits began (R6).  A task has at most one entry, whose index it keeps
 * (task->timer, 1 + index), so another cause that ends its wait removes
 * the entry in O(log n).  The array holds one entry per live task,
 * reserved when the task is spawned: a wait never fails for memory.
 */
#ifndef COOP_TIMER_H
#define COOP_TIMER_H

#include "coop-private.h"

struct coop__timer {
	int64_t deadline;       /* CLOCK_MONOTONIC ns */
	uint64_t seq;           /* the context's count of waits when it began */
	struct coop_task *task; /* the waiting task, whose ->timer is 1 + index */
};

/* Room for `n` entries (one per live task): 0, or -ENOMEM. */
int coop__timer_reserve(struct coop_context *ctx, size_t n);
/* Add task t (it has no entry) with `deadline`, after every entry of the
 * same deadline.  The room was reserved. */
void coop__timer_add(struct coop_context *ctx, struct coop_task *t, int64_t deadline);
/* Remove t's entry (it has one). */
void coop__timer_remove(struct coop_context *ctx, struct coop_task *t);

/* The earliest deadline, COOP_FOREVER when there is none. */
static inline int64_t coop__timer_first(const struct coop_context *ctx)
{
	return ctx->ntimers ? ctx->timers[0].deadline : COOP_FOREVER;
}

/* The deadline of t's wait, COOP_FOREVER when it has none. */
static inline int64_t coop__timer_of(const struct coop_task *t)
{
	return t->timer ? t->ctx->timers[t->timer - 1].deadline : COOP_FOREVER;
}

#endif /* COOP_TIMER_H */
