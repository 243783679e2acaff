/*
 * ticker.c: tasks that sleep, a deadline, and cancellation (coop 1.1).
 *
 * Two tickers print every 100 ms; a supervisor gives them 350 ms, then
 * cancels their group and waits for them to end.  While every task waits,
 * coop_run sleeps in the kernel until the earliest deadline: the program
 * uses no CPU between ticks.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <coop/coop.h>

/* Ticks every 100 ms until it is cancelled. */
static void *ticker(void *arg)
{
	int64_t next = coop_now();
	int ticks = 0, rc;

	for (;;) {
		next += 100 * COOP_MSEC;
		if ((rc = coop_sleep_until(next)) < 0)
			break; /* -ECANCELED: asked to stop */
		printf("%s: tick %d\n", (char *)arg, ++ticks);
	}
	printf("%s: %s after %d ticks\n", (char *)arg, strerror(-rc), ticks);
	return COOP_CANCELED;
}

/* Gives the group 350 ms, then cancels it and waits for its tasks. */
static void *supervisor(void *arg)
{
	struct coop_group *group = arg;

	if (coop_group_wait(group, coop_deadline_in(350 * COOP_MSEC)) == -ETIMEDOUT) {
		coop_group_cancel(group);
		coop_group_wait(group, COOP_FOREVER);
	}
	printf("supervisor: every ticker has ended\n");
	return NULL;
}

int main(void)
{
	struct coop_context *ctx = NULL;
	struct coop_group *group = NULL;
	struct coop_task_opts opts = {.size = sizeof(opts)};
	int rc;

	if ((rc = coop_context_create(&ctx, NULL)) < 0 ||
	    (rc = coop_group_create(ctx, &group)) < 0)
		goto fail;
	opts.group = group;
	if ((rc = coop_spawn(ctx, NULL, ticker, "a", &opts)) < 0 ||
	    (rc = coop_spawn(ctx, NULL, ticker, "b", &opts)) < 0 ||
	    (rc = coop_spawn(ctx, NULL, supervisor, group, NULL)) < 0 ||
	    (rc = coop_run(ctx)) < 0) /* sleeps in the kernel while all wait */
		goto fail;
	coop_group_destroy(group);
	coop_context_destroy(ctx);
	return 0;
fail:
	fprintf(stderr, "coop: %s\n", strerror(-rc));
	coop_context_destroy(ctx);
	if (group)
		coop_group_destroy(group); /* empty once its context is gone */
	return 1;
}
