/*
 * idle.c: the event round (R6), and how a context's thread waits when
 * none of its tasks can run.
 *
 * One round: optionally block until something may have happened or a
 * deadline, then run what other threads queued (posts, notifier counts,
 * offload completions: remote.h), deliver fd events, and wake the tasks
 * whose deadline has passed, in that order.
 *
 * Blocking: once the context has an epoll instance (a task waited on an
 * fd, or coop_context_fd), in epoll_pwait2, its eventfd in the set for
 * other threads.  Before that, on a futex, remote.sleep itself
 * (FUTEX_WAIT_BITSET: an absolute CLOCK_MONOTONIC deadline, the clock of
 * every deadline, to the nanosecond, never early): other threads wake it
 * with FUTEX_WAKE, and a context that never hears from them holds no fd
 * (R10).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "poller.h"
#include "remote.h"
#include "wait.h"

void coop__futex_sleep(struct coop_context *ctx, int64_t deadline)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline / COOP_SEC),
		.tv_nsec = (long)(deadline % COOP_SEC),
	};
	int saved = errno;

	/* Returns at once if remote.sleep changed (a producer woke us);
	 * EINTR and spurious returns are the caller's loop's business. */
	syscall(SYS_futex, &ctx->remote.sleep, FUTEX_WAIT_BITSET_PRIVATE, ctx->remote.slept,
	        deadline == COOP_FOREVER ? NULL : &ts, NULL, FUTEX_BITSET_MATCH_ANY);
	errno = saved;
}

bool coop__round(struct coop_context *ctx, int64_t until)
{
	bool epoll = coop__poll_ready(ctx), polled = false;
	unsigned ran;
	int n = 0;

	ctx->epoch++;
	if (until != COOP_NOWAIT &&
	    coop__remote_sleep(ctx, epoll ? COOP__SLEEP_EPOLL : COOP__SLEEP_FUTEX)) {
		if (epoll) {
			n = coop__poll_wait(ctx, until);
			polled = true;
		} else {
			coop__futex_sleep(ctx, until);
		}
		coop__remote_awake(ctx);
	}
	ran = coop__remote_run(ctx);
	if (polled)
		coop__poll_deliver(ctx, n);
	else if (coop__poll_waiting(ctx) || (ctx->embedded && coop__poll_had_fds(ctx)))
		/* Embedded, even with no waiter: an event for a waiter that
		 * left (an armed one-shot, an edge) would keep the host's
		 * fd readable until taken (§6.2: one idle round at most). */
		coop__poll_check(ctx);
	if (ctx->ntimers)
		coop__expire(ctx, coop_now());
	return ran || ctx->rq;
}
