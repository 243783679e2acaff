/*
 * tsan-race.c: a real data race between tasks of two threads is reported.
 *
 * Built with -fsanitize=thread against the plain libcoop.so.  Two threads
 * each run a context whose task racing_task() increments one unprotected
 * global; ThreadSanitizer must report a data race naming racing_task (the
 * caller checks the report: the program is expected to fail).  A barrier
 * makes both tasks run at the same time.
 */
#include <pthread.h>
#include <stdio.h>

#include <coop/coop.h>

static long shared_counter;
static pthread_barrier_t barrier;

static __attribute__((noinline)) void *racing_task(void *arg)
{
	coop_yield();
	pthread_barrier_wait(&barrier);
	for (int i = 0; i < 1000; i++) {
		shared_counter++; /* the race */
		coop_yield();
	}
	return arg;
}

static void *spin(void *arg)
{
	for (int i = 0; i < 1000; i++)
		coop_yield();
	return arg;
}

static void *thread_main(void *arg)
{
	struct coop_context *ctx;

	if (coop_context_create(&ctx, NULL) != 0 || coop_spawn(ctx, NULL, spin, NULL, NULL) != 0 ||
	    coop_spawn(ctx, NULL, racing_task, NULL, NULL) != 0 || coop_run(ctx) != 0)
		return arg;
	coop_context_destroy(ctx);
	return NULL;
}

int main(void)
{
	pthread_t a, b;

	pthread_barrier_init(&barrier, NULL, 2);
	pthread_create(&a, NULL, thread_main, NULL);
	pthread_create(&b, NULL, thread_main, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("tsan-race: counter %ld\n", shared_counter);
	return 0;
}
