/*
 * timer.c: the clock, coop_now, and the timer heap (see timer.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "timer.h"

COOP_EXPORT int64_t coop_now(void)
{
	struct timespec ts;

	/* The vDSO's clock: no system call, no errno (CLOCK_MONOTONIC always
	 * exists), safe in signal handlers and from any thread. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * COOP_SEC + ts.tv_nsec;
}

#define ARITY 4

static inline bool before(const struct coop__timer *a, const struct coop__timer *b)
{
	return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static inline void place(struct coop__timer *h, uint32_t i, struct coop__timer e)
{
	h[i] = e;
	e.task->timer = i + 1;
}

/* Move entry e up from the hole at i to where it belongs. */
static void sift_up(struct coop__timer *h, uint32_t i, struct coop__timer e)
{
	while (i > 0) {
		uint32_t parent = (i - 1) / ARITY;

		if (!before(&e, &h[parent]))
			break;
		place(h, i, h[parent]);
		i = parent;
	}
	place(h, i, e);
}

/* Move entry e down from the hole at i, in a heap of n entries. */
static void sift_down(struct coop__timer *h, uint32_t n, uint32_t i, struct coop__timer e)
{
	for (;;) {
		uint64_t first = (uint64_t)i * ARITY + 1, c, best;

		if (first >= n)
			break;
		best = first;
		for (c = first + 1; c < first + ARITY && c < n; c++)
			if (before(&h[c], &h[best]))
				best = c;
		if (!before(&h[best], &e))
			break;
		place(h, i, h[best]);
		i = (uint32_t)best;
	}
	place(h, i, e);
}

int coop__timer_reserve(struct coop_context *ctx, size_t n)
{
	struct coop__timer *h;
	size_t cap;
	int saved = errno;

	if (n <= ctx->timer_cap)
		return 0;
	/* Doubling: amortized O(1) per spawn.  A heap index fits in 32 bits. */
	cap = ctx->timer_cap ? (size_t)ctx->timer_cap * 2 : 64;
	if (cap > UINT32_MAX)
		cap = UINT32_MAX;
	if (n > cap || cap > SIZE_MAX / sizeof(*h))
		return -ENOMEM;
	h = realloc(ctx->timers, cap * sizeof(*h));
	if (!h) {
		errno = saved;
		return -ENOMEM;
	}
	ctx->timers = h;
	ctx->timer_cap = (uint32_t)cap;
	return 0;
}

void coop__timer_add(struct coop_context *ctx, struct coop_task *t, int64_t deadline)
{
	struct coop__timer e = {deadline, ctx->timer_seq++, t};

	sift_up(ctx->timers, ctx->ntimers++, e);
}

void coop__timer_remove(struct coop_context *ctx, struct coop_task *t)
{
	struct coop__timer *h = ctx->timers;
	uint32_t i = t->timer - 1, n = --ctx->ntimers;

	t->timer = 0;
	if (i == n)
		return;
	/* The last entry fills the hole, up or down from it. */
	if (i > 0 && before(&h[n], &h[(i - 1) / ARITY]))
		sift_up(h, i, h[n]);
	else
		sift_down(h, n, i, h[n]);
}
