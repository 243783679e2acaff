/*
 * poller.h: the poller seam, between the wait path and the kernel's
 * readiness interface.  poll_epoll.c implements it with one epoll
 * instance per context; an io_uring backend (IORING_OP_POLL_ADD) could
 * implement the same calls later without touching the rest.
 *
 * What the seam owns: the context's kernel objects, created on first need
 * (R10: a context whose tasks never wait on an fd holds none); the fd
 * table, one entry per fd number a task has waited on, with the queues of
 * its readers and writers; arming the kernel for a wait; waiting in the
 * kernel when no task can run; and turning the kernel's events into
 * wake-ups (readers before writers, each queue in wait order: R6).
 */
#ifndef COOP_POLLER_H
#define COOP_POLLER_H

#include "coop-private.h"

/* Tasks blocked in an fd wait right now (each counts itself in and out
 * around its wait): none means the run loop need not ask the kernel while
 * tasks are runnable, and cannot count on an fd to wake anyone. */
static inline unsigned coop__poll_waiting(const struct coop_context *ctx)
{
	return ctx->fd_waiting;
}

/* The context can block in epoll (its epoll fd and eventfd exist). */
static inline bool coop__poll_ready(const struct coop_context *ctx)
{
	return ctx->poll != NULL;
}

/* A task has waited on an fd in this context (the set may hold fds). */
bool coop__poll_had_fds(const struct coop_context *ctx);

/* Deliver the events that are ready now without blocking (R7's periodic
 * check while tasks run). */
void coop__poll_check(struct coop_context *ctx);
/* Block until an fd (or the eventfd) is ready or `deadline` (COOP_FOREVER:
 * no limit) has passed: the number of events taken, for
 * coop__poll_deliver (after the round has run what other threads queued,
 * R6).  Retries interruptions. */
int coop__poll_wait(struct coop_context *ctx, int64_t deadline);
void coop__poll_deliver(struct coop_context *ctx, int n);
/* coop_context_fd: the epoll fd, with the eventfd and a timerfd in its
 * set (made now if need be), or -errno. */
int coop__poll_embed(struct coop_context *ctx);
/* The end of an embedded round: make the epoll fd readable if `runnable`
 * (the eventfd), else empty the eventfd (producers write it from now on)
 * and arm the timerfd for the earliest deadline. */
void coop__poll_settle(struct coop_context *ctx, bool runnable);
/* Release the context's kernel objects and table (coop_context_destroy;
 * no task waits any more). */
void coop__poll_destroy(struct coop_context *ctx);

/* coop_read's hint: a short read of fd emptied it (the poller knows
 * whether that proves anything for this fd); and whether the next read
 * may skip straight to its wait (taking the hint). */
void coop__fd_short_read(struct coop_context *ctx, int fd);
bool coop__fd_drained(struct coop_context *ctx, int fd);

/* Test hooks (tests/test-poll.c links the objects directly): epoll_ctl
 * calls and blocking waits made by the context so far, and a switch that
 * makes every blocking wait use epoll_wait (millisecond timeouts, rounded
 * up) as on a kernel without epoll_pwait2. */
unsigned long coop__poll_ctl_count(const struct coop_context *ctx);
unsigned long coop__poll_sleep_count(const struct coop_context *ctx);
extern int coop__poll_force_epoll_wait;

#endif /* COOP_POLLER_H */
