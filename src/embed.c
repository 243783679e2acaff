/*
 * embed.c: driving a context from another event loop (§6): its fd and
 * coop_run_once's bounded round.
 *
 * The fd is the context's epoll instance, with its eventfd and a timerfd
 * in the set.  Readable whenever coop_run_once(ctx, 0) would make
 * progress, by construction: fd waits arm the kernel as they begin (so
 * the set is never stale); other threads write the eventfd when the
 * context is not running (remote.h: it "sleeps" in the host's poll
 * between rounds); and every round ends (coop__leave) by writing the
 * eventfd if tasks are runnable, else emptying it and arming the timerfd
 * for the earliest deadline.  A call from the host thread between rounds
 * that makes a task runnable writes it too (coop__ring_push, A7.7).
 *
 * A round runs each task runnable when it starts once: the coop_run
 * caller sets coop__to_main for the whole round, so that every task's
 * first switch (a yield, a wait, its end) comes back here, and hands the
 * thread to the ring's next task until the round's last one has run.
 * Tasks made runnable meanwhile are behind it, for the next round.
 */
#include <errno.h>
#include <limits.h>

#include "poller.h"
#include "remote.h"
#include "timer.h"
#include "wait.h"

void coop__embed_kick(struct coop_context *ctx)
{
	if (!ctx->efd_hot)
		coop__poll_settle(ctx, true);
}

COOP_EXPORT int coop_context_fd(struct coop_context *ctx)
{
	int fd;

	if (!ctx)
		return -EINVAL;
	coop__check_thread(ctx, "coop_context_fd");
	if ((fd = coop__poll_embed(ctx)) < 0)
		return fd;
	if (!ctx->embedded) {
		ctx->embedded = true;
		/* Tasks already runnable, or things already queued (A7.7). */
		if (!ctx->running)
			coop__poll_settle(ctx, ctx->rq != NULL);
	}
	return fd;
}

/* Run each task runnable now once. */
static void step(struct coop_context *ctx)
{
	struct coop_task *last = ctx->rq->rq_prev, *t;

	ctx->stepping = true;
	coop__to_main = true;
	do {
		t = ctx->rq;
		coop__tick = 1;
		coop__resume(ctx);
	} while (t != last && ctx->rq);
	coop__to_main = false;
	ctx->stepping = false;
}

COOP_EXPORT int coop_run_once(struct coop_context *ctx, int64_t deadline)
{
	bool progress;
	int rc;

	if (deadline < COOP_FOREVER)
		return -EINVAL;
	if ((rc = coop__enter(ctx)) < 0)
		return rc;
	progress = coop__round(ctx, COOP_NOWAIT);
	while (!progress && !ctx->rq) {
		int64_t until = coop__timer_first(ctx);

		if (!ctx->live)
			break;
		if (deadline != COOP_FOREVER && (deadline == 0 || deadline <= coop_now()))
			break;
		if (deadline == COOP_FOREVER && !coop__can_wake(ctx)) {
			coop__leave(ctx);
			return -EDEADLK;
		}
		if (deadline != COOP_FOREVER && (until == COOP_FOREVER || deadline < until))
			until = deadline;
		progress = coop__round(ctx, until);
	}
	if (ctx->rq) {
		step(ctx);
		/* The last tasks ended: what they posted runs now, as
		 * before coop_run returns (the host may drop its watch on
		 * a 0).  Posts of posts wait for the next round, as ever. */
		if (!ctx->live && coop__remote_pending(ctx))
			coop__round(ctx, COOP_NOWAIT);
	}
	rc = ctx->live > INT_MAX ? -EOVERFLOW : (int)ctx->live;
	coop__leave(ctx);
	return rc;
}
