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

/*
 * R7's budget, as each suite of waiting calls tests it for its calls: a
 * task makes calls that complete without waiting, and the ticker shows
 * after which of them it yielded.  Phase 0: 3 * 128 + 5 calls in a row
 * yield after the 128th, 256th and 384th; phase 1: 100 calls, a yield
 * (which refills the budget), then 128 calls yield after the last;
 * phase 2: the same with a real wait (`refill`) instead of the yield.
 */
struct budget_run {
	int (*call)(int kind, int i); /* the i-th call (1-based): 1 if it returned
	                               * what it should */
	int kind;                     /* which call, the suite's own numbering */
	int bad;                      /* calls that returned something else */
	int nswitched;                /* yields seen, up to 8 recorded: */
	int switched_at[8];           /*   the calls after which the ticker ran */
};

static inline void budget_calls(struct budget_run *r, int n)
{
	int i;

	for (i = 1; i <= n; i++) {
		long before = ticks;

		if (!r->call(r->kind, i))
			r->bad++;
		if (ticks != before && r->nswitched < 8)
			r->switched_at[r->nswitched++] = i;
	}
}

/* A refill by a real wait: the ticker runs meanwhile.  A sleep whose
 * deadline passed before it began (an emulator or a loaded machine can
 * stall this task for 5 ms) did not wait: it is tried again, longer, and
 * the last one waited. */
static inline void budget_sleep_refill(void)
{
	long before;
	int tries = 0;

	do {
		before = ticks;
		ck_assert_int_eq(coop_sleep_until(coop_deadline_in((5 << tries) * COOP_MSEC)), 0);
	} while (ticks == before && ++tries < 8);
	ck_assert_int_gt(ticks, before);
}

/* The body of the task making the calls (the ticker runs beside it). */
static inline void budget_phase(struct budget_run *r, int phase, void (*refill)(void))
{
	ck_assert_int_eq(coop_yield(), 0); /* a full budget */
	if (phase == 0) {
		budget_calls(r, 3 * 128 + 5);
	} else {
		budget_calls(r, 100);
		if (phase == 1)
			ck_assert_int_eq(coop_yield(), 0);
		else
			refill();
		budget_calls(r, 128);
	}
	ticker_stop = 1;
}

/* After the run: what the phase must have seen (`what` names the case). */
static inline void budget_check(const struct budget_run *r, int phase, const char *what)
{
	ck_assert_msg(r->bad == 0, "%s phase %d: %d wrong results", what, phase, r->bad);
	if (phase == 0) {
		ck_assert_msg(r->nswitched == 3, "%s: %d budget yields", what, r->nswitched);
		ck_assert_int_eq(r->switched_at[0], 128);
		ck_assert_int_eq(r->switched_at[1], 256);
		ck_assert_int_eq(r->switched_at[2], 384);
	} else {
		ck_assert_msg(r->nswitched == 1, "%s phase %d: %d budget yields", what, phase,
		              r->nswitched);
		ck_assert_int_eq(r->switched_at[0], 128);
	}
}

#endif /* COOP_TEST_TICKER_H */
