/*
 * idle.c: how a context waits while none of its tasks can run.
 *
 * Once a task has waited on an fd the context has an epoll instance, and
 * the poller blocks in it until an fd is ready or the earliest deadline
 * (poll_epoll.c).  Before that, only deadlines can wake anyone, and the
 * thread simply sleeps until the earliest with clock_nanosleep
 * (TIMER_ABSTIME on CLOCK_MONOTONIC, the clock of every deadline):
 * nanosecond precision, never early (an absolute sleep is not re-measured
 * after an interruption), and no file descriptor (R10).
 */
#include <time.h>

#include "poller.h"
#include "wait.h"

void coop__idle(struct coop_context *ctx, int64_t deadline)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline / COOP_SEC),
		.tv_nsec = (long)(deadline % COOP_SEC),
	};

	if (coop__poll_ready(ctx)) {
		coop__poll_sleep(ctx, deadline);
		return;
	}
	/* Returns the error (no errno); a signal handler's EINTR sleeps on. */
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}
