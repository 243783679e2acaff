/*
 * notify.c: notifiers (§5.2), a count that any thread or signal handler
 * adds to and a task of the notifier's context takes whole.
 *
 * A send is an atomic add; the send that makes the count nonzero also
 * lists the notifier on its context (remote.h) and wakes the context if it
 * sleeps.  The context, in its next round, hands the whole count to the
 * first waiter.  `queued` keeps the notifier listed at most once: the
 * round clears it before taking the count, so a send either adds to what
 * the round takes or finds it clear and lists the notifier again.
 */
#include <limits.h>

#include "object.h"
#include "remote.h"
#include "wait.h"

COOP_EXPORT int coop_notify_create(struct coop_context *ctx, struct coop_notify **out)
{
	struct coop_notify *n;
	int rc;

	if (!out)
		return -EINVAL;
	if (!(n = coop__obj_new(ctx, sizeof(*n), COOP__OBJ_NOTIFY, &rc)))
		return rc;
	TAILQ_INIT(&n->waiters);
	n->remote = &n->obj.ctx->remote;
	atomic_init(&n->count, 0);
	atomic_init(&n->queued, 0);
	*out = n;
	return 0;
}

void coop__notify_orphan(struct coop_notify *n)
{
	/* Listed or not, no send will touch the freed context. */
	atomic_store(&n->queued, 1);
}

COOP_EXPORT int coop_notify_destroy(struct coop_notify *notify)
{
	if (!notify)
		return -EINVAL;
	if (!TAILQ_EMPTY(&notify->waiters))
		return -EBUSY;
	/* Still listed on its context: deliver the list now, so that the
	 * next round does not find a freed notifier in it (no send may run
	 * concurrently: the application's part of the contract). */
	if (notify->obj.ctx && atomic_load(&notify->queued)) {
		coop__check_thread(notify->obj.ctx, "coop_notify_destroy");
		coop__remote_notifies(notify->obj.ctx);
	}
	coop__obj_free(&notify->obj);
	return 0;
}

/* Async-signal-safe: atomics and at most one write(2) or futex(2), errno kept. */
COOP_EXPORT int coop_notify_send(struct coop_notify *notify)
{
	unsigned long c;

	if (!notify)
		return -EINVAL;
	/* The sender's writes happen before the wait that takes the count
	 * returns (what TSan cannot see in the library: checkers.h). */
	coop__tsan_release(&notify->count);
	c = atomic_load_explicit(&notify->count, memory_order_relaxed);
	do
		if (c == ULONG_MAX)
			return 0; /* saturated: nothing to add, a wake is on its way */
	while (!atomic_compare_exchange_weak(&notify->count, &c, c + 1));
	if (c == 0 && !atomic_exchange(&notify->queued, 1)) {
		struct coop__remote *r = notify->remote;
		struct coop_notify *old = atomic_load_explicit(&r->notifies, memory_order_relaxed);

		coop__remote_enter(r);
		coop__tsan_release(&r->notifies);
		do
			notify->next = old;
		while (!atomic_compare_exchange_weak(&r->notifies, &old, notify));
		coop__remote_wake(r);
		coop__remote_exit(r);
	}
	return 0;
}

COOP_EXPORT int coop_notify_wait(struct coop_notify *notify, uint64_t *count, int64_t deadline)
{
	struct coop_task *self = coop__self;
	struct coop__waiter w;
	uint64_t got = 0;
	unsigned long c;
	int rc;

	if (!notify || deadline < COOP_FOREVER)
		return -EINVAL;
	if ((rc = coop__obj_check(&notify->obj, self, "coop_notify_wait")) < 0)
		return rc;
	if (!self)
		return -EPERM;
	if ((rc = coop__cancel_point(self)) < 0)
		return rc;
	/* First come, first served: behind a waiter the next round serves. */
	if (TAILQ_EMPTY(&notify->waiters) && (c = atomic_exchange(&notify->count, 0))) {
		coop__tsan_acquire(&notify->count);
		if (count)
			*count = c;
		coop__spent(self);
		return 0;
	}
	w = (struct coop__waiter){.q = &notify->waiters, .data = &got};
	self->ctx->ext_waiting++;
	rc = coop__wait(self, &w, 1, COOP_WAIT_NOTIFY, notify, deadline, 0);
	self->ctx->ext_waiting--;
	if (rc == 0 && count)
		*count = got;
	return rc;
}
