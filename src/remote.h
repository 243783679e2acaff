/*
 * remote.h: the ways into a context from other threads (§5, R9): its
 * queues of posted callbacks and of offload completions, its list of
 * notifiers with a count to deliver, and how a thread that queued
 * something wakes the context's thread.
 *
 * Every queue is a lock-free stack (a CAS pushes, the context takes the
 * whole stack with one exchange and reverses it): async-signal-safe for
 * the notifier list, FIFO per producer, and one total order consistent
 * with the order the pushes returned.  C11 atomics only (no fences of our
 * own), so that TSan follows every hand-off.
 *
 * Waking: a context about to block stores how it will sleep in
 * remote.sleep, then looks at its queues once more; a producer pushes,
 * then reads remote.sleep.  Both sequentially consistent (Dekker): either
 * the context sees the push and does not block, or the producer sees the
 * sleeper and wakes it, by the eventfd in its epoll set, or by a futex on
 * remote.sleep itself when the context has no epoll fd (no fd needed).
 * One producer takes the sleeper (a CAS to COOP__WAKING) and makes the
 * system call, then marks it made (COOP__WOKEN); a running context costs a
 * producer no system call at all.  A producer that finds a wake under way
 * (WAKING) makes the call too, rather than rely on one not made yet: so
 * when any producer's call returns, the context runs, or its thread was
 * woken (its eventfd written: a host polling coop_context_fd sees it
 * readable).  Each sleep the context stores has a new generation in the
 * upper bits, so that a producer stalled between its system call and its
 * WOKEN mark cannot mark a later sleep woken (ABA).
 */
#ifndef COOP_REMOTE_H
#define COOP_REMOTE_H

#include "coop-private.h"

/* remote.sleep: a generation << 4 | one of these */
#define COOP__AWAKE 0       /* running, or not waiting for other threads */
#define COOP__SLEEP_FUTEX 1 /* in FUTEX_WAIT on remote.sleep */
#define COOP__SLEEP_EPOLL 2 /* in epoll_wait (or, embedded, its host's poll) */
#define COOP__WAKING 4      /* | how: a producer took the sleeper, its call under way */
#define COOP__WOKEN 8       /* that call made (the eventfd written, the futex woken) */
#define COOP__STATE 15u

_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2 && ATOMIC_LONG_LOCK_FREE == 2 &&
                       ATOMIC_INT_LOCK_FREE == 2,
               "coop_notify_send must be lock-free to be async-signal-safe");

/* Push node `n` on a stack of `r` and wake the context if it sleeps. */
void coop__remote_push(struct coop__remote *r, _Atomic(struct coop__post *) *stack,
                       struct coop__post *n);
/* A producer's visit to `r`, from before its push to after its wake: once
 * it pushed, the context may take the item and be destroyed before the
 * wake is done, so coop_context_destroy waits for visits to end
 * (coop__remote_quiesce).  Async-signal-safe. */
static inline void coop__remote_enter(struct coop__remote *r)
{
	atomic_fetch_add(&r->inflight, 1);
}
static inline void coop__remote_exit(struct coop__remote *r)
{
	atomic_fetch_sub(&r->inflight, 1);
}
/* Wake the context of `r` if it sleeps (any thread, signal handlers),
 * within a visit. */
void coop__remote_wake(struct coop__remote *r);
/* coop_context_destroy: wait for the visits under way to end. */
void coop__remote_quiesce(struct coop_context *ctx);

/* Something was queued for the context (a cheap look, no ordering). */
static inline bool coop__remote_pending(struct coop_context *ctx)
{
	struct coop__remote *r = &ctx->remote;

	return atomic_load_explicit(&r->posts, memory_order_relaxed) ||
	       atomic_load_explicit(&r->notifies, memory_order_relaxed) ||
	       atomic_load_explicit(&r->done, memory_order_relaxed);
}

/* The context's thread is about to block, as `how`: false (and awake)
 * when something was queued meanwhile, then it must not. */
bool coop__remote_sleep(struct coop_context *ctx, int how);
/* The context's thread is back (it may have been woken or not). */
void coop__remote_awake(struct coop_context *ctx);

/* Run, in this order, what was queued before the call: posted callbacks,
 * then notifier counts (each to its first waiter), then offload
 * completions (R6).  What they queue in turn waits for the next round.
 * Returns how many it ran. */
unsigned coop__remote_run(struct coop_context *ctx);
/* coop_context_destroy: free the nodes handed back to posters. */
void coop__remote_free_spare(struct coop_context *ctx);
/* Only the notifiers (coop_notify_destroy: none may stay listed). */
void coop__remote_notifies(struct coop_context *ctx);

#endif /* COOP_REMOTE_H */
