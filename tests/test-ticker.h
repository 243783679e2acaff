/*
 * test-ticker.h: a task that counts how often it runs, for the suites of
 * the waiting calls: a call that returned without switching leaves the
 * count alone.  It yields in a loop until ticker_stop is set.  Each suite
 * has its own context `ctx`, which start_ticker spawns it into.
 */
#ifndef COOP_TEST_TICKER_H
#define COOP_TEST_TICKER_H

#include <check.h>

#include <coop/coop.h>

static long ticks;
static int ticker_stop;

static void *ticker(void *arg)
{
	(void)arg;
	while (!ticker_stop) {
		ticks++;
		ck_assert_int_eq(coop_yield(), 0);
	}
	return NULL;
}

static inline void start_ticker_in(struct coop_context *c)
{
	ticks = 0;
	ticker_stop = 0;
	ck_assert_int_eq(coop_spawn(c, NULL, ticker, NULL, NULL), 0);
}
#define start_ticker() start_ticker_in(ctx)

#endif /* COOP_TEST_TICKER_H */
