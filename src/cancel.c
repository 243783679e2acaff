/*
 * cancel.c: cancellation requests and the shield.  A cancellation is a
 * sticky mark on the task (task->cancel); the wait path delivers it: at
 * the entry of every blocking call (coop__cancel_point) and by waking a
 * task blocked in a cancellable wait (coop__cancel_task).  Nothing here
 * switches.
 */
#include "wait.h"

COOP_EXPORT int coop_cancel(struct coop_task *task)
{
	struct coop_task *self = coop__self;
	struct coop_context *ctx;

	if (!task)
		return -EINVAL;
	ctx = task->ctx;
	if (self && self->ctx != ctx)
		return -EXDEV;
	coop__check_thread(ctx, "coop_cancel");
	coop__cancel_task(task);
	return 0;
}

COOP_EXPORT int coop_cancelled(void)
{
	struct coop_task *self = coop__self;

	return self && coop__cancel_point(self) < 0;
}

COOP_EXPORT int coop_shield(int enable)
{
	struct coop_task *self = coop__self;
	int old;

	if (!self)
		return -EPERM;
	old = !!(self->cancel & COOP__CANCEL_SHIELD);
	if (enable)
		self->cancel |= COOP__CANCEL_SHIELD;
	else
		self->cancel &= (unsigned char)~COOP__CANCEL_SHIELD;
	return old;
}
