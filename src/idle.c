/*
 * idle.c: how a context waits for time to pass while none of its tasks
 * can run.  This part of 1.1 has no other source of wake-ups than
 * deadlines, so the thread simply sleeps until the earliest one with
 * clock_nanosleep(TIMER_ABSTIME) on CLOCK_MONOTONIC, the clock of every
 * deadline: nanosecond precision, never early (an absolute sleep is not
 * re-measured after an interruption), and no file descriptor.  When file
 * descriptors join the loop (the poller), this step becomes its wait.
 */
#include <time.h>

#include "wait.h"

void coop__idle(struct coop_context *ctx, int64_t deadline)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline / COOP_SEC),
		.tv_nsec = (long)(deadline % COOP_SEC),
	};

	(void)ctx;
	/* Returns the error (no errno); a signal handler's EINTR sleeps on. */
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}
