/*
 * time.c: the calls that are only about time: coop_sleep_until, and the
 * ambient deadline (coop_set_deadline).  The clock and the deadlines
 * themselves live in timer.c, and the wait path (wait.c) applies them.
 */
#include "wait.h"

COOP_EXPORT int coop_sleep_until(int64_t deadline)
{
	struct coop_task *self = coop__self;
	int rc;

	if (deadline < COOP_FOREVER)
		return -EINVAL;
	if (!self)
		return -EPERM;
	if ((rc = coop__cancel_point(self)) < 0)
		return rc;
	return coop__wait(self, NULL, 0, COOP_WAIT_SLEEP, NULL, deadline, COOP__WAIT_OWN_OK);
}

COOP_EXPORT int coop_set_deadline(int64_t deadline, int64_t *old)
{
	struct coop_task *self = coop__self;

	if (deadline < COOP_FOREVER)
		return -EINVAL;
	if (!self)
		return -EPERM;
	if (old)
		*old = self->deadline;
	self->deadline = deadline;
	return 0;
}
