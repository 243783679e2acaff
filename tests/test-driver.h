/*
 * test-driver.h: which driver runs the contexts of a suite (T-EMB-9,
 * T-X-9).  Every guarantee of coop 1.1 holds under both coop_run and a
 * host's loop of coop_run_once rounds, so the 1.1 suites are built twice
 * (tests/meson.build): as written, and with -DTEST_DRIVER_ONCE, where
 * every coop_run(ctx) in them is this loop instead, which returns what
 * coop_run would (0 once no task is left, -EDEADLK, -EBUSY, -EINVAL).
 */
#ifndef COOP_TEST_DRIVER_H
#define COOP_TEST_DRIVER_H

#include <coop/coop.h>

#ifdef TEST_DRIVER_ONCE
static inline int test_run_once_loop(struct coop_context *ctx)
{
	int rc;

	while ((rc = coop_run_once(ctx, COOP_FOREVER)) > 0)
		;
	return rc;
}
#define coop_run(ctx) test_run_once_loop(ctx)
#endif

#endif /* COOP_TEST_DRIVER_H */
