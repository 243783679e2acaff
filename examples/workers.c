/*
 * workers.c: a pool of at most 4 jobs at a time, bounded by a semaphore
 * (coop 1.1).
 *
 * The dispatcher takes a unit of the semaphore before it starts each job,
 * so no more than 4 run at once however many are queued; a job gives its
 * unit back as it ends, and the next one starts in its place, in order
 * (the semaphore hands units over first come, first served).  Each job
 * "works" by sleeping a few milliseconds and sends its result on a
 * channel; the collector receives one result per job, within a deadline
 * for the whole batch.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <coop/coop.h>

#define JOBS 12
#define WIDTH 4

struct pool {
	struct coop_sem *slots;    /* WIDTH units: one per running job */
	struct coop_chan *results; /* one int per job */
	int running, most;         /* jobs running now, and at most */
	int ids[JOBS];
};

static struct pool pool;

static void *job(void *arg)
{
	int id = *(int *)arg, result = id * 10;

	if (++pool.running > pool.most)
		pool.most = pool.running;
	coop_sleep_until(coop_deadline_in((1 + id % 3) * COOP_MSEC)); /* the work */
	pool.running--;
	coop_sem_release(pool.slots); /* the next job may start */
	coop_chan_send(pool.results, &result, COOP_FOREVER);
	return NULL;
}

static void *dispatcher(void *arg)
{
	struct coop_context *ctx = arg;
	int i;

	for (i = 0; i < JOBS; i++) {
		/* Waits while WIDTH jobs run. */
		if (coop_sem_acquire(pool.slots, COOP_FOREVER) < 0)
			break;
		pool.ids[i] = i;
		if (coop_spawn(ctx, NULL, job, &pool.ids[i], NULL) < 0) /* detached */
			break;
	}
	return NULL;
}

static void *collector(void *arg)
{
	int64_t deadline = coop_deadline_in(5 * COOP_SEC);
	int i, result, sum = 0, rc = 0;

	(void)arg;
	for (i = 0; i < JOBS && rc == 0; i++)
		if ((rc = coop_chan_recv(pool.results, &result, deadline)) == 0)
			sum += result;
	printf("%d results, sum %d, at most %d jobs at once\n", i - (rc != 0), sum, pool.most);
	return (void *)(long)(rc == 0 && sum == 10 * JOBS * (JOBS - 1) / 2 && pool.most == WIDTH);
}

int main(void)
{
	struct coop_context *ctx = NULL;
	struct coop_task *c;
	void *ok = NULL;
	int rc;

	if ((rc = coop_context_create(&ctx, NULL)) < 0 ||
	    (rc = coop_sem_create(ctx, &pool.slots, WIDTH)) < 0 ||
	    (rc = coop_chan_create(ctx, &pool.results, sizeof(int), 0)) < 0 ||
	    (rc = coop_spawn(ctx, NULL, dispatcher, ctx, NULL)) < 0 ||
	    (rc = coop_spawn(ctx, &c, collector, NULL, NULL)) < 0 ||
	    (rc = coop_run(ctx)) < 0 || (rc = coop_join(c, &ok)) < 0)
		goto out;
out:
	if (rc < 0)
		fprintf(stderr, "coop: %s\n", strerror(-rc));
	coop_context_destroy(ctx);
	coop_chan_destroy(pool.results);
	coop_sem_destroy(pool.slots);
	return rc == 0 && ok ? 0 : 1;
}
