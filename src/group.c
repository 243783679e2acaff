/*
 * group.c: task groups.  A group knows its members (tasks spawned into it
 * that have not ended) and the tasks waiting for it to empty; it can
 * cancel them all, including tasks spawned into it afterwards.  A task
 * joins its group at spawn and leaves it as it ends, or as it is freed
 * with its context (which never resumes it), so a group outlives its
 * context only to be destroyed.
 */
#include "object.h"
#include "wait.h"

COOP_EXPORT int coop_group_create(struct coop_context *ctx, struct coop_group **out)
{
	struct coop_group *g;
	int rc;

	if (!out)
		return -EINVAL;
	if (!(g = coop__obj_new(ctx, sizeof(*g), COOP__OBJ_GROUP, &rc)))
		return rc;
	TAILQ_INIT(&g->members);
	TAILQ_INIT(&g->waiters);
	*out = g;
	return 0;
}

COOP_EXPORT int coop_group_destroy(struct coop_group *group)
{
	if (!group)
		return -EINVAL;
	/* An orphan's members and waiters went with its context. */
	if (group->nmembers || !TAILQ_EMPTY(&group->waiters))
		return -EBUSY;
	coop__obj_free(&group->obj);
	return 0;
}

void coop__group_add(struct coop_task *t, struct coop_group *g)
{
	t->group = g;
	TAILQ_INSERT_TAIL(&g->members, t, group_link);
	g->nmembers++;
	if (g->cancelled)
		t->cancel |= COOP__CANCEL_PENDING;
}

void coop__group_leave(struct coop_task *t, bool wake)
{
	struct coop_group *g = t->group;
	struct coop__waiter *w;

	TAILQ_REMOVE(&g->members, t, group_link);
	t->group = NULL;
	if (--g->nmembers || !wake)
		return;
	/* Emptied: every waiter, in the order they began to wait. */
	while ((w = TAILQ_FIRST(&g->waiters)))
		coop__wake(w->task, 0);
}

static void group_cancel(struct coop_group *g)
{
	struct coop_task *t;

	g->cancelled = true;
	/* In spawn order: woken members queue in that order (R6). */
	TAILQ_FOREACH(t, &g->members, group_link)
		coop__cancel_task(t);
}

COOP_EXPORT int coop_group_cancel(struct coop_group *group)
{
	struct coop_task *self = coop__self;
	int rc;

	if (!group)
		return -EINVAL;
	if ((rc = coop__obj_check(&group->obj, self, "coop_group_cancel")) < 0)
		return rc;
	group_cancel(group);
	return 0;
}

COOP_EXPORT int coop_group_wait(struct coop_group *group, int64_t deadline)
{
	struct coop_task *self = coop__self;
	bool cancelled;
	int rc;

	if (!group || deadline < COOP_FOREVER)
		return -EINVAL;
	if ((rc = coop__obj_check(&group->obj, self, "coop_group_wait")) < 0)
		return rc;
	if (self && self->group == group)
		return -EDEADLK; /* it would wait for itself */
	if (!self)
		return group->nmembers ? -EAGAIN : 0;
	/* The one blocking call that does not fail at entry when cancelled
	 * (R2): a cancelled parent cancels its children and waits for them,
	 * so that it never returns while they run. */
	cancelled = coop__cancel_point(self) < 0;
	if (cancelled)
		group_cancel(group);
	if (!group->nmembers) {
		coop__spent(self);
		return cancelled ? -ECANCELED : 0;
	}
	/* Members may be spawned into it between its emptying and this
	 * task's turn: wait until it is seen empty. */
	while (group->nmembers) {
		struct coop__waiter w = {.q = &group->waiters};

		rc = coop__wait(self, &w, 1, COOP_WAIT_GROUP, group, deadline,
		                cancelled ? COOP__WAIT_NOCANCEL : 0);
		if (rc == -ECANCELED) {
			cancelled = true;
			group_cancel(group);
		} else if (rc < 0) {
			return rc;
		}
	}
	return cancelled ? -ECANCELED : 0;
}
