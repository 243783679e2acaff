/*
 * asan-heap-overflow.c: a real bug inside a task is still reported.
 *
 * Built with -fsanitize=address against the plain libcoop.so.  A task,
 * overflowing_task(), writes one byte past a 24-byte heap block after a
 * few switches; AddressSanitizer must report a heap-buffer-overflow whose
 * stack trace names overflowing_task (the caller checks the report: the
 * program is expected to fail).
 */
#include <stdio.h>
#include <stdlib.h>

#include <coop/coop.h>

static volatile size_t past = 24;

static __attribute__((noinline)) void *overflowing_task(void *arg)
{
	volatile char *p = malloc(24); /* volatile: no optimiser drops the store */

	(void)arg;
	for (int i = 0; i < 3; i++)
		coop_yield();
	p[past] = 'x'; /* one byte past the block */
	free((void *)p);
	return NULL;
}

static void *other(void *arg)
{
	for (int i = 0; i < 5; i++)
		coop_yield();
	return arg;
}

int main(void)
{
	struct coop_context *ctx;

	if (coop_context_create(&ctx, NULL) != 0 || coop_spawn(ctx, NULL, other, NULL, NULL) != 0 ||
	    coop_spawn(ctx, NULL, overflowing_task, NULL, NULL) != 0 || coop_run(ctx) != 0)
		return 2;
	coop_context_destroy(ctx);
	printf("asan-heap-overflow: no report\n");
	return 0;
}
