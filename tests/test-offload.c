/*
 * test-offload.c: coop_offload and pools (coop 1.1, §5.3, A7.8).
 *
 * The T-OFF cases of the design (§5.6), one Check test each: T-OFF-1 the
 * result comes back and the context's other tasks run while fn does;
 * T-OFF-2 a queued job is withdrawn by the deadline or a cancellation (fn
 * never runs); T-OFF-3 a running job without ABANDON is waited for through
 * a cancellation, its own deadline and the ambient one (0 and the result,
 * the cancellation stays pending); T-OFF-4 ABANDON: the deadline or a
 * cancellation ends the wait while fn runs, the orphan callback gets the
 * result exactly once and fn sees coop_offload_abandoned() turn 1 (and
 * under ABANDON every -ETIMEDOUT or -ECANCELED hands arg to the orphan
 * callback: with NULL, before coop_offload returns, when fn never ran);
 * T-OFF-5 the completion/abandon race, up to 10^5 times (as many as fit
 * in 2 s), the result delivered exactly once and arg handed over exactly
 * once; T-OFF-6 the elastic pool (16 jobs that wait for each
 * other, idle workers exiting); T-OFF-7 two pools isolate; T-OFF-8
 * workers block every signal and are named "coop-pool"; T-OFF-9
 * coop_pool_destroy is -EBUSY while a job is not over (A7.8); T-OFF-10
 * coop_context_destroy waits for running jobs, withdraws queued ones and
 * leaves abandoned ones to their orphan callback.
 *
 * Also: the argument errors and their order (A7.1), coop_pool_create's
 * errors, coop_context_opts.pool, introspection (COOP_WAIT_OFFLOAD), a
 * task waiting on an offload keeping coop_run blocked, the default pool,
 * and a child process offloading after fork().
 *
 * Timing: nothing asserts how fast anything is.  Jobs that must stay
 * running are held by a gate the test opens, and every wait for another
 * thread is bounded (BOUND) so that a broken library fails a test instead
 * of hanging it.  Pool workers never call Check: fn and the orphan
 * callbacks record into atomics that the tasks or the test assert on.
 */
#define _GNU_SOURCE /* pthread_getname_np, pthread_getattr_np */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <coop/coop.h>

#include "test-common.h"
#include "test-driver.h"

/* How long a test waits for another thread before it calls it a failure:
 * never a timing assertion, only what keeps a broken library from
 * hanging the suite. */
#define BOUND (10 * COOP_SEC)

static struct coop_context *ctx;

/* ------------------------------------------------------------ helpers -- */

/* Sleep the calling thread (a worker, or the test outside any task). */
static void nap(int64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / COOP_SEC), .tv_nsec = (long)(ns % COOP_SEC)};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Outside any task: wait until *v >= want; false when BOUND passed first. */
static bool thread_wait(atomic_int *v, int want)
{
	int64_t end = coop_now() + BOUND;

	while (atomic_load(v) < want) {
		if (coop_now() >= end)
			return false;
		nap(100 * COOP_USEC);
	}
	return true;
}

/* From a task: the same, sleeping so that the context runs on; false when
 * `bound` ns passed first or the sleep failed (a cancellation). */
static bool task_wait_for(atomic_int *v, int want, int64_t bound)
{
	int64_t end = coop_now() + bound;

	while (atomic_load(v) < want) {
		if (coop_now() >= end || coop_sleep_until(coop_deadline_in(COOP_MSEC)) != 0)
			return false;
	}
	return true;
}

static bool task_wait(atomic_int *v, int want)
{
	return task_wait_for(v, want, BOUND);
}

/* How far ahead to put a deadline that must pass while fn runs rather
 * than while its job waits for a worker.  Tests that need it try again
 * with a longer one when a loaded machine (or valgrind) was slower than
 * that to start fn: never a timing assertion. */
static int64_t start_margin(void)
{
	return test_slow_run() ? COOP_SEC : 50 * COOP_MSEC;
}

/* A pool of at most `max_threads` workers that linger `idle` ns. */
static struct coop_pool *pool_new(unsigned max_threads, int64_t idle)
{
	struct coop_pool_opts o;
	struct coop_pool *p = NULL;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.max_threads = max_threads;
	o.idle_timeout = idle;
	ck_assert_int_eq(coop_pool_create(&p, &o), 0);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* Destroy p once its jobs are over: an abandoned one ends in its own
 * time, so -EBUSY is retried (bounded). */
static void pool_drain(struct coop_pool *p)
{
	int64_t end = coop_now() + BOUND;
	int rc;

	while ((rc = coop_pool_destroy(p)) == -EBUSY && coop_now() < end)
		nap(COOP_MSEC);
	ck_assert_int_eq(rc, 0);
}

static struct coop_offload_opts off_opts(struct coop_pool *p, unsigned flags,
                                         void (*orphan)(void *, void *))
{
	struct coop_offload_opts o;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.pool = p;
	o.flags = flags;
	o.orphan = orphan;
	return o;
}

/* How many threads of this process are named "coop-pool". */
static int count_pool_threads(void)
{
	char path[300], name[32];
	struct dirent *e;
	DIR *d = opendir("/proc/self/task");
	FILE *f;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if (!(f = fopen(path, "r")))
			continue; /* it exited meanwhile */
		if (fgets(name, sizeof(name), f) && strcmp(name, "coop-pool\n") == 0)
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

/*
 * A gate: a job that runs until the test opens it (or, for `abandon_fn`,
 * until it sees itself abandoned).  Gates of ABANDON jobs outlive the
 * task's wait, so every gate is a global, cleared by the fixture.
 */
struct gate {
	atomic_int started, finished;
	atomic_int open;               /* the test lets fn return */
	atomic_int stuck;              /* fn gave up waiting (BOUND) */
	atomic_int abandoned_at_start; /* coop_offload_abandoned() as fn began */
	atomic_int abandoned_at_end;   /* ... as fn returned */
	atomic_int orphans;            /* orphan callback calls */
	_Atomic(void *) orphan_result;
	atomic_int orphan_abandoned;   /* coop_offload_abandoned() in the orphan callback */
	atomic_int orphan_in_task;     /* the orphan callback ran in a task (coop_self()) */
	int64_t until;                 /* sleep_fn: return at this time */
	void *result;                  /* what fn returns */
};

#define NGATES 32
static struct gate gates[NGATES];

/* Runs until the gate is opened. */
static void *gate_fn(void *arg)
{
	struct gate *g = arg;

	atomic_store(&g->abandoned_at_start, coop_offload_abandoned());
	atomic_store(&g->started, 1);
	if (!thread_wait(&g->open, 1))
		atomic_store(&g->stuck, 1);
	atomic_store(&g->abandoned_at_end, coop_offload_abandoned());
	atomic_store(&g->finished, 1);
	return g->result;
}

/* Runs until its task abandons it (fn polling coop_offload_abandoned, as
 * a long job that can stop early does). */
static void *abandon_fn(void *arg)
{
	struct gate *g = arg;
	int64_t end = coop_now() + BOUND;

	atomic_store(&g->abandoned_at_start, coop_offload_abandoned());
	atomic_store(&g->started, 1);
	while (coop_offload_abandoned() != 1) {
		if (coop_now() >= end) {
			atomic_store(&g->stuck, 1);
			break;
		}
		nap(100 * COOP_USEC);
	}
	atomic_store(&g->abandoned_at_end, coop_offload_abandoned());
	atomic_store(&g->finished, 1);
	return g->result;
}

/* Runs until g->until (a deadline of the task's that passes meanwhile). */
static void *sleep_fn(void *arg)
{
	struct gate *g = arg;

	atomic_store(&g->started, 1);
	while (coop_now() < g->until)
		nap(g->until - coop_now());
	atomic_store(&g->abandoned_at_end, coop_offload_abandoned());
	atomic_store(&g->finished, 1);
	return g->result;
}

static void gate_orphan(void *arg, void *result)
{
	struct gate *g = arg;

	atomic_store(&g->orphan_result, result);
	atomic_store(&g->orphan_abandoned, coop_offload_abandoned());
	atomic_store(&g->orphan_in_task, coop_self() != NULL);
	atomic_fetch_add(&g->orphans, 1);
}

static void *echo_fn(void *arg);

#define ATTEMPTS 4

/* From a task: offload abandon_fn on gate g[0] with ABANDON and a
 * deadline that should pass while fn runs.  A job still queued at its
 * deadline was withdrawn (fn never starts): the next gate is tried with a
 * margin four times longer.  Returns the gate whose job was abandoned
 * while it ran, having checked the call's return (-ETIMEDOUT, not before
 * the deadline, *result untouched). */
static struct gate *offload_past_deadline(struct gate *g, const struct coop_offload_opts *o)
{
	int64_t margin = start_margin(), d;
	void *r;
	int i;

	for (i = 0; i < ATTEMPTS; i++, margin *= 4) {
		r = (void *)0x77;
		d = coop_deadline_in(margin);
		ck_assert_int_eq(coop_offload(abandon_fn, &g[i], &r, d, o), -ETIMEDOUT);
		ck_assert_int_ge(coop_now(), d);
		ck_assert_ptr_eq(r, (void *)0x77);
		/* fn marks itself started as it begins: an abandoned job has. */
		if (task_wait_for(&g[i].started, 1, 100 * COOP_MSEC))
			return &g[i];
		/* Withdrawn: arg went to the orphan callback, with no result,
		 * before coop_offload returned. */
		if (o->orphan) {
			ck_assert_int_eq(atomic_load(&g[i].orphans), 1);
			ck_assert_ptr_null(atomic_load(&g[i].orphan_result));
		}
	}
	ck_abort_msg("no job started within its deadline in %d attempts", ATTEMPTS);
	return NULL;
}

/* From a task: offload sleep_fn on g with a deadline (its own, or the
 * ambient one) that passes while fn runs; without ABANDON the call waits
 * for fn: 0 and fn's result.  -ETIMEDOUT means the job was still queued
 * at the deadline, withdrawn: tried again with a longer margin. */
static void offload_through_deadline(struct gate *g, const struct coop_offload_opts *o,
                                     bool ambient)
{
	int64_t margin = start_margin(), d;
	void *r = NULL;
	int i, rc = -1;

	for (i = 0; i < ATTEMPTS; i++, margin *= 4) {
		d = coop_deadline_in(margin);
		g->until = d + 30 * COOP_MSEC;
		if (ambient)
			ck_assert_int_eq(coop_set_deadline(d, NULL), 0);
		rc = coop_offload(sleep_fn, g, &r, ambient ? COOP_FOREVER : d, o);
		if (rc != -ETIMEDOUT)
			break;
		ck_assert_int_eq(atomic_load(&g->started), 0);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(atomic_load(&g->finished), 1);
	ck_assert_ptr_eq(r, g->result);
	ck_assert_int_ge(coop_now(), g->until);
	if (ambient) {
		/* The ambient deadline stays, passed, for the next call. */
		ck_assert_int_eq(coop_sleep_until(COOP_FOREVER), -ETIMEDOUT);
		ck_assert_int_eq(coop_offload(echo_fn, NULL, &r, COOP_FOREVER, o), -ETIMEDOUT);
		ck_assert_int_eq(coop_set_deadline(COOP_FOREVER, NULL), 0);
	}
}

/* A job that returns its argument, counting its runs. */
static atomic_int echo_runs;

static void *echo_fn(void *arg)
{
	atomic_fetch_add(&echo_runs, 1);
	return arg;
}

static void setup(void)
{
	memset(gates, 0, sizeof(gates));
	atomic_store(&echo_runs, 0);
	test_context_create(&ctx);
}

static void teardown(void)
{
	test_context_destroy(&ctx);
}

/* -------------------------------------------------------------- errors -- */

struct big_opts {
	struct coop_offload_opts o;
	unsigned char extra[16];
};

static struct coop_pool *err_pool;
static atomic_int err_done;

static void *errors_task(void *arg)
{
	struct coop_offload_opts o = off_opts(err_pool, 0, NULL);
	struct big_opts big;
	void *r = NULL;

	(void)arg;
	/* Argument errors first (A7.1). */
	TEST_KEEPS_ERRNO(coop_offload(NULL, NULL, &r, COOP_FOREVER, &o), -EINVAL);
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, -2, &o), -EINVAL);
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, INT64_MIN, &o), -EINVAL);
	o.flags = 0x2u;
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, COOP_FOREVER, &o), -EINVAL);
	o.flags = 0x80000000u | COOP_OFFLOAD_ABANDON;
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, COOP_FOREVER, &o), -EINVAL);
	o = off_opts(err_pool, 0, NULL);
	o.size = 0;
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, COOP_FOREVER, &o), -EINVAL);
	o.size = sizeof(size_t) - 1;
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, COOP_FOREVER, &o), -EINVAL);

	/* A newer caller's longer struct: unknown bytes must be zero. */
	memset(&big, 0, sizeof(big));
	big.o.size = sizeof(big);
	big.o.pool = err_pool;
	big.extra[5] = 1;
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, COOP_FOREVER, &big.o), -E2BIG);
	big.extra[5] = 0;
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, (void *)0x51, &r, COOP_FOREVER, &big.o), 0);
	ck_assert_ptr_eq(r, (void *)0x51);
	/* An older caller's shorter struct (size alone): the defaults, so the
	 * context's pool, here the default one. */
	o.size = sizeof(size_t);
	r = NULL;
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, (void *)0x52, &r, COOP_FOREVER, &o), 0);
	ck_assert_ptr_eq(r, (void *)0x52);
	ck_assert_int_eq(atomic_load(&echo_runs), 2);

	/* Not a pool worker. */
	TEST_KEEPS_ERRNO(coop_offload_abandoned(), -EPERM);

	/* A passed deadline queues nothing: -ETIMEDOUT, fn never runs. */
	o = off_opts(err_pool, 0, NULL);
	r = (void *)0x99;
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, COOP_NOWAIT, &o), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, 1, &o), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, coop_now() - 1, &o), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, coop_now(), &o), -ETIMEDOUT);
	o.flags = COOP_OFFLOAD_ABANDON;
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, COOP_NOWAIT, &o), -ETIMEDOUT);
	/* ... and so does a passed ambient deadline. */
	ck_assert_int_eq(coop_set_deadline(coop_now(), NULL), 0);
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, COOP_FOREVER, &o), -ETIMEDOUT);
	/* Under ABANDON, arg goes to the orphan callback, with no result,
	 * before the call returns (on the context's thread, in the task). */
	o.orphan = gate_orphan;
	gates[0].orphan_result = (void *)0x1;
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, &gates[0], &r, COOP_FOREVER, &o), -ETIMEDOUT);
	ck_assert_int_eq(atomic_load(&gates[0].orphans), 1);
	ck_assert_ptr_null(atomic_load(&gates[0].orphan_result));
	ck_assert_int_eq(atomic_load(&gates[0].orphan_in_task), 1);
	ck_assert_int_eq(atomic_load(&gates[0].orphan_abandoned), -EPERM);
	ck_assert_int_eq(coop_set_deadline(COOP_FOREVER, NULL), 0);
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, &gates[0], &r, coop_now() - 1, &o), -ETIMEDOUT);
	ck_assert_int_eq(atomic_load(&gates[0].orphans), 2);
	/* Not after the other errors: arg is still the caller's. */
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, &gates[0], &r, -2, &o), -EINVAL);
	o.size = 0;
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, &gates[0], &r, COOP_FOREVER, &o), -EINVAL);
	o.size = sizeof(o);
	ck_assert_int_eq(atomic_load(&gates[0].orphans), 2);
	ck_assert_ptr_eq(r, (void *)0x99);
	ck_assert_int_eq(atomic_load(&echo_runs), 2);

	/* A pending cancellation: -ECANCELED at entry, even with deadline 0
	 * (R2), but after the argument errors (A7.1). */
	ck_assert_int_eq(coop_cancel(coop_self()), 0);
	o = off_opts(err_pool, 0, NULL);
	TEST_KEEPS_ERRNO(coop_offload(NULL, NULL, &r, COOP_FOREVER, &o), -EINVAL);
	o.flags = 0x4u;
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, COOP_FOREVER, &o), -EINVAL);
	o.flags = 0;
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, COOP_FOREVER, &o), -ECANCELED);
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, COOP_NOWAIT, &o), -ECANCELED);
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, COOP_FOREVER, NULL), -ECANCELED);
	o = off_opts(err_pool, COOP_OFFLOAD_ABANDON, gate_orphan);
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, &gates[1], &r, COOP_FOREVER, &o), -ECANCELED);
	ck_assert_int_eq(atomic_load(&gates[1].orphans), 1);
	ck_assert_ptr_null(atomic_load(&gates[1].orphan_result));
	ck_assert_int_eq(atomic_load(&echo_runs), 2);
	atomic_store(&err_done, 1);
	return NULL;
}

START_TEST(offload_errors)
{
	struct coop_offload_opts o = off_opts(NULL, 0, NULL);
	struct big_opts big;
	void *r = (void *)0x77;

	err_pool = pool_new(1, 0);
	/* Outside a task: the argument errors still come first, then -EPERM. */
	TEST_KEEPS_ERRNO(coop_offload(NULL, NULL, &r, COOP_FOREVER, NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, -5, NULL), -EINVAL);
	o.flags = 0x10u;
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, COOP_FOREVER, &o), -EINVAL);
	o = off_opts(NULL, 0, NULL);
	o.size = 3;
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, COOP_FOREVER, &o), -EINVAL);
	memset(&big, 0, sizeof(big));
	big.o.size = sizeof(big);
	big.extra[15] = 0xff;
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, COOP_FOREVER, &big.o), -E2BIG);
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, COOP_FOREVER, NULL), -EPERM);
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, NULL, &r, COOP_NOWAIT, NULL), -EPERM);
	o = off_opts(NULL, COOP_OFFLOAD_ABANDON, gate_orphan);
	TEST_KEEPS_ERRNO(coop_offload(echo_fn, &gates[2], &r, COOP_NOWAIT, &o), -EPERM);
	ck_assert_int_eq(atomic_load(&gates[2].orphans), 0);
	TEST_KEEPS_ERRNO(coop_offload_abandoned(), -EPERM);
	ck_assert_ptr_eq(r, (void *)0x77);

	test_spawn_detached(ctx, "errors", errors_task, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(atomic_load(&err_done), 1);
	/* Only the two offloads that ran were ever queued on err_pool... */
	ck_assert_int_eq(atomic_load(&echo_runs), 2);
	/* ... and with every coop_offload returned it is idle (A7.8). */
	ck_assert_int_eq(coop_pool_destroy(err_pool), 0);
}
END_TEST

START_TEST(pool_errors)
{
	struct {
		struct coop_pool_opts o;
		unsigned char extra[8];
	} big;
	struct coop_pool_opts o;
	struct coop_pool *p = (struct coop_pool *)0x1;

	TEST_KEEPS_ERRNO(coop_pool_create(NULL, NULL), -EINVAL);
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	TEST_KEEPS_ERRNO(coop_pool_create(NULL, &o), -EINVAL);
	o.idle_timeout = -1;
	TEST_KEEPS_ERRNO(coop_pool_create(&p, &o), -EINVAL);
	o.idle_timeout = INT64_MIN;
	TEST_KEEPS_ERRNO(coop_pool_create(&p, &o), -EINVAL);
	o.idle_timeout = 0;
	o.stack_size = 1;
	TEST_KEEPS_ERRNO(coop_pool_create(&p, &o), -EINVAL);
	o.stack_size = (size_t)PTHREAD_STACK_MIN - 1;
	TEST_KEEPS_ERRNO(coop_pool_create(&p, &o), -EINVAL);
	o.stack_size = 0;
	o.size = 0;
	TEST_KEEPS_ERRNO(coop_pool_create(&p, &o), -EINVAL);
	o.size = sizeof(size_t) - 1;
	TEST_KEEPS_ERRNO(coop_pool_create(&p, &o), -EINVAL);
	memset(&big, 0, sizeof(big));
	big.o.size = sizeof(big);
	big.extra[0] = 1;
	TEST_KEEPS_ERRNO(coop_pool_create(&p, &big.o), -E2BIG);
	ck_assert_ptr_eq(p, (struct coop_pool *)0x1);
	TEST_KEEPS_ERRNO(coop_pool_destroy(NULL), -EINVAL);

	/* Valid: NULL options, a longer struct with zero tail, the smallest
	 * stack; an unused pool has no thread and is destroyed at once. */
	TEST_KEEPS_ERRNO(coop_pool_create(&p, NULL), 0);
	TEST_KEEPS_ERRNO(coop_pool_destroy(p), 0);
	big.extra[0] = 0;
	TEST_KEEPS_ERRNO(coop_pool_create(&p, &big.o), 0);
	TEST_KEEPS_ERRNO(coop_pool_destroy(p), 0);
	o.size = sizeof(o);
	o.stack_size = (size_t)PTHREAD_STACK_MIN;
	TEST_KEEPS_ERRNO(coop_pool_create(&p, &o), 0);
	TEST_KEEPS_ERRNO(coop_pool_destroy(p), 0);
}
END_TEST

/* A pool's stack_size is its workers' stack. */
#define BIG_STACK ((size_t)768 * 1024)
static struct coop_pool *stack_pool;
static atomic_int stack_done;

static void *stack_size_fn(void *arg)
{
	pthread_attr_t a;
	size_t size = 0;

	(void)arg;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		pthread_attr_getstacksize(&a, &size);
		pthread_attr_destroy(&a);
	}
	return (void *)(uintptr_t)size;
}

static void *stack_size_task(void *arg)
{
	struct coop_offload_opts o = off_opts(stack_pool, 0, NULL);
	void *r = NULL;

	(void)arg;
	ck_assert_int_eq(coop_offload(stack_size_fn, NULL, &r, COOP_FOREVER, &o), 0);
	ck_assert_uint_ge((uintptr_t)r, BIG_STACK);
	ck_assert_uint_lt((uintptr_t)r, 2 * BIG_STACK);
	atomic_store(&stack_done, 1);
	return NULL;
}

START_TEST(pool_stack_size)
{
	struct coop_pool_opts o;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.stack_size = BIG_STACK;
	ck_assert_int_eq(coop_pool_create(&stack_pool, &o), 0);
	test_spawn_detached(ctx, "stack", stack_size_task, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(atomic_load(&stack_done), 1);
	ck_assert_int_eq(coop_pool_destroy(stack_pool), 0);
}
END_TEST

/* ------------------------------------------------------------- T-OFF-1 -- */

static atomic_int t1_counter, t1_stop;

struct t1_arg {
	int start, seen;   /* the counter as fn began, and as it returned */
	bool progressed;   /* it advanced by 3 while fn ran */
	pthread_t thread;  /* fn's */
};

static void *t1_slow_fn(void *arg)
{
	struct t1_arg *a = arg; /* on the task's stack: fine without ABANDON */

	a->thread = pthread_self();
	a->start = atomic_load(&t1_counter);
	nap(100 * COOP_MSEC);
	/* Other tasks must run meanwhile: wait (bounded) for 3 more ticks. */
	a->progressed = thread_wait(&t1_counter, a->start + 3);
	a->seen = atomic_load(&t1_counter);
	return (void *)((uintptr_t)a ^ 0x5a5a);
}

static void *t1_counter_task(void *arg)
{
	(void)arg;
	while (!atomic_load(&t1_stop)) {
		atomic_fetch_add(&t1_counter, 1);
		coop_sleep_until(coop_deadline_in(COOP_MSEC));
	}
	return NULL;
}

static struct coop_pool *t1_pool;

static void *t1_offload_task(void *arg)
{
	struct coop_offload_opts o = off_opts(t1_pool, 0, NULL);
	struct t1_arg a;
	void *r = NULL;
	int before, after;

	(void)arg;
	memset(&a, 0, sizeof(a));
	before = atomic_load(&t1_counter);
	ck_assert_int_eq(coop_offload(t1_slow_fn, &a, &r, COOP_FOREVER, &o), 0);
	after = atomic_load(&t1_counter);
	ck_assert_ptr_eq(r, (void *)((uintptr_t)&a ^ 0x5a5a));
	ck_assert_msg(!pthread_equal(a.thread, pthread_self()), "fn ran on the context's thread");
	ck_assert_msg(a.progressed, "the counter task did not run while fn ran (%d -> %d)",
	              a.start, a.seen);
	ck_assert_int_ge(after - before, 3);
	/* result NULL: the result is dropped. */
	ck_assert_int_eq(coop_offload(echo_fn, NULL, NULL, COOP_FOREVER, &o), 0);
	atomic_store(&t1_stop, 1);
	return NULL;
}

START_TEST(t_off_1_result_and_progress)
{
	t1_pool = pool_new(2, 0);
	test_spawn_detached(ctx, "counter", t1_counter_task, NULL);
	test_spawn_detached(ctx, "offload", t1_offload_task, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(atomic_load(&t1_stop), 1);
	ck_assert_int_eq(coop_pool_destroy(t1_pool), 0);
}
END_TEST

/* ------------------------------------------------------------- T-OFF-2 -- */

static struct coop_pool *t2_pool;
static struct coop_task *t2_victim;
static int t2_victim_rc = 1, t2_holder_rc = 1;
static atomic_int t2_done;

static void *t2_holder(void *arg)
{
	struct coop_offload_opts o = off_opts(t2_pool, 0, NULL);
	void *r = NULL;

	(void)arg;
	gates[0].result = (void *)0x100;
	t2_holder_rc = coop_offload(gate_fn, &gates[0], &r, COOP_FOREVER, &o);
	ck_assert_ptr_eq(r, (void *)0x100);
	return NULL;
}

static void *t2_victim_task(void *arg)
{
	struct coop_offload_opts o = off_opts(t2_pool, 0, NULL);
	void *r = (void *)0x77;

	(void)arg;
	t2_victim_rc = coop_offload(gate_fn, &gates[3], &r, COOP_FOREVER, &o);
	ck_assert_ptr_eq(r, (void *)0x77);
	return NULL;
}

static void *t2_late(void *arg)
{
	struct coop_offload_opts o = off_opts(t2_pool, 0, NULL);
	void *r = (void *)0x77;
	int64_t d;

	(void)arg;
	ck_assert(task_wait(&gates[0].started, 1));
	/* The pool's one worker is busy: this job stays queued. */
	d = coop_deadline_in(20 * COOP_MSEC);
	ck_assert_int_eq(coop_offload(gate_fn, &gates[1], &r, d, &o), -ETIMEDOUT);
	ck_assert_int_ge(coop_now(), d);
	/* The same with ABANDON: withdrawn, fn never runs, and arg goes to
	 * the orphan callback with no result before the call returns. */
	o = off_opts(t2_pool, COOP_OFFLOAD_ABANDON, gate_orphan);
	d = coop_deadline_in(20 * COOP_MSEC);
	gates[2].orphan_result = (void *)0x1;
	ck_assert_int_eq(coop_offload(gate_fn, &gates[2], &r, d, &o), -ETIMEDOUT);
	ck_assert_int_ge(coop_now(), d);
	ck_assert_int_eq(atomic_load(&gates[2].orphans), 1);
	ck_assert_ptr_null(atomic_load(&gates[2].orphan_result));
	ck_assert_int_eq(atomic_load(&gates[2].orphan_in_task), 1);
	/* By cancellation, once the victim waits. */
	t2_victim = test_spawn_named(ctx, "victim", t2_victim_task, NULL);
	while (test_state_of(ctx, "victim") != COOP_TASK_BLOCKED)
		ck_assert_int_eq(coop_yield(), 0);
	ck_assert_int_eq(test_info_of(ctx, "victim").wait, COOP_WAIT_OFFLOAD);
	ck_assert_int_eq(coop_cancel(t2_victim), 0);
	ck_assert_int_eq(coop_join(t2_victim, NULL), 0);
	ck_assert_int_eq(t2_victim_rc, -ECANCELED);
	ck_assert_ptr_eq(r, (void *)0x77);
	atomic_store(&gates[0].open, 1);
	atomic_store(&t2_done, 1);
	return NULL;
}

START_TEST(t_off_2_queued_withdrawn)
{
	int i;

	t2_pool = pool_new(1, 0);
	test_spawn_detached(ctx, "holder", t2_holder, NULL);
	test_spawn_detached(ctx, "late", t2_late, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(atomic_load(&t2_done), 1);
	ck_assert_int_eq(t2_holder_rc, 0);
	/* Every offload returned: the pool is idle (A7.8), and destroying it
	 * joins its worker, so a job still queued would have run by now. */
	ck_assert_int_eq(coop_pool_destroy(t2_pool), 0);
	for (i = 1; i <= 3; i++)
		ck_assert_msg(atomic_load(&gates[i].started) == 0, "withdrawn job %d ran", i);
	ck_assert_int_eq(atomic_load(&gates[2].orphans), 1);
}
END_TEST

/* ------------------------------------------------------------- T-OFF-3 -- */

static struct coop_pool *t3_pool;
static struct coop_task *t3_victim;
static atomic_int t3_done;

static void *t3_victim_task(void *arg)
{
	struct coop_offload_opts o = off_opts(t3_pool, 0, NULL);
	void *r = NULL;

	(void)arg;
	gates[0].result = (void *)0x300;
	ck_assert_int_eq(coop_offload(gate_fn, &gates[0], &r, COOP_FOREVER, &o), 0);
	/* It waited for fn to end. */
	ck_assert_int_eq(atomic_load(&gates[0].open), 1);
	ck_assert_int_eq(atomic_load(&gates[0].finished), 1);
	ck_assert_ptr_eq(r, (void *)0x300);
	/* The cancellation stays pending (R3) for the next blocking call. */
	ck_assert_int_eq(coop_cancelled(), 1);
	ck_assert_int_eq(coop_sleep_until(coop_deadline_in(BOUND)), -ECANCELED);
	ck_assert_int_eq(coop_offload(echo_fn, NULL, &r, COOP_FOREVER, &o), -ECANCELED);
	atomic_fetch_add(&t3_done, 1);
	return NULL;
}

static void *t3_canceller(void *arg)
{
	struct coop_task_info in;

	(void)arg;
	ck_assert(task_wait(&gates[0].started, 1));
	ck_assert_int_eq(coop_cancel(t3_victim), 0);
	/* The victim keeps waiting for the running fn. */
	ck_assert_int_eq(coop_sleep_until(coop_deadline_in(20 * COOP_MSEC)), 0);
	in = test_info_of(ctx, "victim");
	ck_assert_int_eq(in.state, COOP_TASK_BLOCKED);
	ck_assert_int_eq(in.wait, COOP_WAIT_OFFLOAD);
	ck_assert_uint_ne(in.flags & COOP_TASK_INFO_CANCELLED, 0);
	atomic_store(&gates[0].open, 1);
	atomic_fetch_add(&t3_done, 1);
	return NULL;
}

/* Its own deadline, then the ambient one, pass while fn runs. */
static void *t3_deadlines(void *arg)
{
	struct coop_offload_opts o = off_opts(t3_pool, 0, NULL);
	void *r = NULL;

	(void)arg;
	/* A worker of its own, started and idle, before the clock matters. */
	ck_assert_int_eq(coop_offload(echo_fn, NULL, NULL, COOP_FOREVER, &o), 0);
	gates[1].result = (void *)0x301;
	offload_through_deadline(&gates[1], &o, false);
	gates[2].result = (void *)0x302;
	offload_through_deadline(&gates[2], &o, true);
	/* With ABANDON too, a fn that ends before the deadline is a plain
	 * completion: 0, no orphan. */
	o = off_opts(t3_pool, COOP_OFFLOAD_ABANDON, gate_orphan);
	gates[3].until = coop_now() + 10 * COOP_MSEC;
	gates[3].result = (void *)0x303;
	ck_assert_int_eq(coop_offload(sleep_fn, &gates[3], &r, coop_deadline_in(BOUND), &o), 0);
	ck_assert_ptr_eq(r, (void *)0x303);
	ck_assert_int_eq(atomic_load(&gates[3].abandoned_at_end), 0);
	atomic_fetch_add(&t3_done, 1);
	return NULL;
}

START_TEST(t_off_3_running_waited_for)
{
	t3_pool = pool_new(2, 0);
	t3_victim = test_spawn_named(ctx, "victim", t3_victim_task, NULL);
	test_spawn_detached(ctx, "canceller", t3_canceller, NULL);
	test_spawn_detached(ctx, "deadlines", t3_deadlines, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(atomic_load(&t3_done), 3);
	ck_assert_int_eq(coop_join(t3_victim, NULL), 0);
	ck_assert_int_eq(coop_pool_destroy(t3_pool), 0);
	ck_assert_int_eq(atomic_load(&gates[0].abandoned_at_end), 0);
	ck_assert_int_eq(atomic_load(&gates[3].orphans), 0);
}
END_TEST

/* ------------------------------------------------------------- T-OFF-4 -- */

static struct coop_pool *t4_pool;
static struct gate *t4_abandoned, *t4_abandoned_quietly;
static struct coop_task *t4_victim;
static atomic_int t4_done;

/* The orphan got fn's result, once; fn saw 0 then 1. */
static void check_orphaned(struct gate *g, void *result)
{
	ck_assert_int_eq(atomic_load(&g->stuck), 0);
	ck_assert_int_eq(atomic_load(&g->abandoned_at_start), 0);
	ck_assert_int_eq(atomic_load(&g->abandoned_at_end), 1);
	ck_assert_int_eq(atomic_load(&g->orphans), 1);
	ck_assert_ptr_eq(atomic_load(&g->orphan_result), result);
	ck_assert_int_eq(atomic_load(&g->orphan_in_task), 0); /* on the worker */
}

static void *t4_deadline(void *arg)
{
	struct coop_offload_opts o = off_opts(t4_pool, COOP_OFFLOAD_ABANDON, gate_orphan);
	int i;

	(void)arg;
	/* A worker started and idle before the clock matters. */
	ck_assert_int_eq(coop_offload(echo_fn, NULL, NULL, COOP_FOREVER, &o), 0);
	for (i = 0; i < 2 * ATTEMPTS; i++)
		gates[8 + i].result = (void *)(intptr_t)(0x400 + i);
	t4_abandoned = offload_past_deadline(&gates[8], &o);
	ck_assert(task_wait(&t4_abandoned->orphans, 1));

	/* No orphan callback: fn still learns it was abandoned. */
	o.orphan = NULL;
	t4_abandoned_quietly = offload_past_deadline(&gates[8 + ATTEMPTS], &o);
	ck_assert(task_wait(&t4_abandoned_quietly->finished, 1));
	atomic_fetch_add(&t4_done, 1);
	return NULL;
}

static void *t4_victim_task(void *arg)
{
	struct coop_offload_opts o = off_opts(t4_pool, COOP_OFFLOAD_ABANDON, gate_orphan);
	void *r = (void *)0x77;

	(void)arg;
	gates[1].result = (void *)0x401;
	ck_assert_int_eq(coop_offload(abandon_fn, &gates[1], &r, COOP_FOREVER, &o), -ECANCELED);
	ck_assert_ptr_eq(r, (void *)0x77);
	atomic_fetch_add(&t4_done, 1);
	return NULL;
}

static void *t4_canceller(void *arg)
{
	(void)arg;
	ck_assert(task_wait(&gates[1].started, 1));
	ck_assert_int_eq(coop_cancel(t4_victim), 0);
	atomic_fetch_add(&t4_done, 1);
	return NULL;
}

START_TEST(t_off_4_abandon)
{
	t4_pool = pool_new(3, 0);
	test_spawn_detached(ctx, "deadline", t4_deadline, NULL);
	t4_victim = test_spawn_named(ctx, "victim", t4_victim_task, NULL);
	test_spawn_detached(ctx, "canceller", t4_canceller, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(atomic_load(&t4_done), 3);
	ck_assert_int_eq(coop_join(t4_victim, NULL), 0);
	/* The pool is idle once the abandoned jobs have ended (A7.8). */
	pool_drain(t4_pool);
	check_orphaned(t4_abandoned, t4_abandoned->result);
	check_orphaned(&gates[1], (void *)0x401);
	ck_assert_int_eq(atomic_load(&t4_abandoned_quietly->abandoned_at_end), 1);
	ck_assert_int_eq(atomic_load(&t4_abandoned_quietly->orphans), 0);
	/* The orphan callback is not fn: coop_offload_abandoned() there is
	 * "anywhere else" (§5.3), -EPERM. */
	ck_assert_int_eq(atomic_load(&t4_abandoned->orphan_abandoned), -EPERM);
}
END_TEST

/* ------------------------------------------------------------- T-OFF-5 -- */

/* One iteration's job: fn spins until `until`, about the deadline.  The
 * counters say where its arg and result went. */
struct race_slot {
	int64_t until;
	atomic_int called;   /* the task offloaded it */
	atomic_int ran;      /* fn ran */
	atomic_int got;      /* coop_offload returned 0 with the result */
	atomic_int orphaned; /* the orphan callback got the result (fn ran) */
	atomic_int handed;   /* the orphan callback got arg with NULL (fn never ran) */
	atomic_int bad;      /* a wrong result */
};

/*
 * 10^5 iterations, or as many as fit in RACE_BUDGET (a slow machine does
 * fewer; the count is printed), 2,000 under valgrind or ASan;
 * COOP_TEST_RACE_ITERS=N runs exactly N.  Two tasks race at once, each
 * with a job in flight, on a pool with room for stragglers.
 */
#define RACE_ITERS 100000
#define RACE_SLOW_ITERS 2000
#define RACE_BUDGET (2 * COOP_SEC)
#define RACE_SLOW_BUDGET (20 * COOP_SEC)
#define RACE_TASKS 2
#define RACE_SPAN (30 * COOP_USEC)
static struct race_slot *race_slots;
static struct coop_pool *race_pool;
static int race_per_task;
static int64_t race_end; /* this phase's budget: stop there (COOP_FOREVER: none) */
static atomic_int race_running, race_other;
static atomic_long race_done, race_completed, race_timedout;

static void *race_fn(void *arg)
{
	struct race_slot *s = arg;

	atomic_fetch_add(&s->ran, 1);
	/* An abandoned job stops early, as a long job should (and frees its
	 * worker for the next iteration). */
	while (coop_now() < s->until && !coop_offload_abandoned())
		;
	return s;
}

static void race_orphan(void *arg, void *result)
{
	struct race_slot *s = arg;

	if (!result)
		atomic_fetch_add(&s->handed, 1);
	else if (result == arg)
		atomic_fetch_add(&s->orphaned, 1);
	else
		atomic_fetch_add(&s->bad, 1);
}

/*
 * Each iteration gives its job a deadline RACE_SPAN ahead and makes fn
 * return near it: `delta`, fn's return time relative to the deadline,
 * follows the outcomes of jobs that ran (later after a completion,
 * earlier after an abandonment), so it settles where both are equally
 * likely, which is where the compare-and-swap decides.  Jobs still queued
 * at their deadline (withdrawn) are part of the mix: the worker's take
 * and the withdrawal race under the pool's lock.
 */
static void *race_task(void *arg)
{
	struct coop_offload_opts o = off_opts(race_pool, COOP_OFFLOAD_ABANDON, race_orphan);
	int first = (int)(intptr_t)arg, i, rc;
	const int64_t step = COOP_USEC / 2;
	int64_t delta = 0, d;
	long completed = 0, timedout = 0;
	void *r;

	for (i = first; i < first + race_per_task; i++) {
		struct race_slot *s = &race_slots[i];

		if (race_end != COOP_FOREVER && coop_now() >= race_end)
			break;
		d = coop_now() + RACE_SPAN;
		s->until = d + delta;
		atomic_store(&s->called, 1);
		r = NULL;
		rc = coop_offload(race_fn, s, &r, d, &o);
		if (rc == 0) {
			if (r != s)
				atomic_fetch_add(&s->bad, 1);
			atomic_fetch_add(&s->got, 1);
			completed++;
			delta += step;
		} else if (rc == -ETIMEDOUT) {
			timedout++;
			if (atomic_load(&s->ran))
				delta -= step;
		} else {
			atomic_fetch_add(&race_other, 1);
		}
		if (delta < -RACE_SPAN)
			delta = -RACE_SPAN;
		if (delta > 10 * RACE_SPAN)
			delta = 10 * RACE_SPAN;
	}
	atomic_fetch_add(&race_done, i - first);
	atomic_fetch_add(&race_completed, completed);
	atomic_fetch_add(&race_timedout, timedout);
	atomic_fetch_sub(&race_running, 1);
	return NULL;
}

/* Keeps the context busy (no sleeping between rounds) in the second half. */
static void *race_spinner(void *arg)
{
	(void)arg;
	while (atomic_load(&race_running))
		coop_yield();
	return NULL;
}

START_TEST(t_off_5_completion_abandon_race)
{
	int iters = test_slow_run() ? RACE_SLOW_ITERS : RACE_ITERS;
	int64_t budget = test_slow_run() ? RACE_SLOW_BUDGET : RACE_BUDGET;
	long orphaned = 0, got = 0, handed = 0;
	const char *e = getenv("COOP_TEST_RACE_ITERS");
	int half, i, phase, first_bad = -1;

	if (e && atoi(e) > 0) {
		iters = atoi(e);
		budget = COOP_FOREVER;
	}
	race_slots = calloc((size_t)iters, sizeof(*race_slots));
	ck_assert_ptr_nonnull(race_slots);
	race_pool = pool_new(RACE_TASKS + 2, 0);
	/* Half with the context asleep between rounds (woken by its timer
	 * or by the completion), half with a busy task keeping it awake. */
	half = iters / 2;
	for (phase = 0; phase < 2; phase++) {
		int n = phase ? iters - half : half, base = phase ? half : 0;
		intptr_t k;

		race_per_task = n / RACE_TASKS;
		race_end = budget == COOP_FOREVER ? COOP_FOREVER : coop_now() + budget / 2;
		atomic_store(&race_running, RACE_TASKS);
		for (k = 0; k < RACE_TASKS; k++)
			test_spawn_detached(ctx, "race", race_task,
			                    (void *)(intptr_t)(base + k * race_per_task));
		if (phase)
			test_spawn_detached(ctx, "spinner", race_spinner, NULL);
		ck_assert_int_eq(coop_run(ctx), 0);
	}
	ck_assert_int_eq(atomic_load(&race_other), 0);
	/* Every offload returned; every abandoned job ends (A7.8). */
	pool_drain(race_pool);
	/* Plain checks, one assertion: Check's cost per assertion, times
	 * 10^5, would be most of the test. */
	for (i = 0; i < iters; i++) {
		struct race_slot *s = &race_slots[i];
		int sc = atomic_load(&s->called), sr = atomic_load(&s->ran),
		    sg = atomic_load(&s->got), so = atomic_load(&s->orphaned),
		    sh = atomic_load(&s->handed);

		/* The result exactly once, never both, never neither (fn ran
		 * iff someone got its result); arg exactly once under ABANDON
		 * (to the orphan callback with NULL when fn never ran). */
		if ((atomic_load(&s->bad) || sr > 1 || sg + so != sr || sg + so + sh != sc) &&
		    first_bad < 0)
			first_bad = i;
		got += sg;
		orphaned += so;
		handed += sh;
	}
	if (first_bad >= 0) {
		struct race_slot *s = &race_slots[first_bad];

		ck_abort_msg("iteration %d: offloaded %d, fn ran %d times, the task got %d results, "
		             "the orphan callback %d results and %d args, %d wrong", first_bad,
		             atomic_load(&s->called), atomic_load(&s->ran), atomic_load(&s->got),
		             atomic_load(&s->orphaned), atomic_load(&s->handed),
		             atomic_load(&s->bad));
	}
	ck_assert_int_eq(got, atomic_load(&race_completed));
	ck_assert_int_eq(orphaned + handed, atomic_load(&race_timedout));
	ck_assert_int_eq(atomic_load(&race_completed) + atomic_load(&race_timedout),
	                 atomic_load(&race_done));
	fprintf(stderr,
	        "T-OFF-5: %ld offloads: %ld completed, %ld abandoned while running, "
	        "%ld withdrawn while queued\n",
	        atomic_load(&race_done), got, orphaned, handed);
	free(race_slots);
}
END_TEST

/* ------------------------------------------------------------- T-OFF-6 -- */

#define T6_JOBS 16
static struct coop_pool *t6_pool;
static atomic_int t6_arrived, t6_stuck, t6_seen_threads, t6_ok;

/* A barrier of 16: none returns before all 16 run at once. */
static void *t6_barrier_fn(void *arg)
{
	if (atomic_fetch_add(&t6_arrived, 1) + 1 == T6_JOBS)
		atomic_store(&t6_seen_threads, count_pool_threads());
	if (!thread_wait(&t6_arrived, T6_JOBS))
		atomic_fetch_add(&t6_stuck, 1);
	return arg;
}

static void *t6_task(void *arg)
{
	struct coop_offload_opts o = off_opts(t6_pool, 0, NULL);
	void *r = NULL;

	ck_assert_int_eq(coop_offload(t6_barrier_fn, arg, &r, COOP_FOREVER, &o), 0);
	ck_assert_ptr_eq(r, arg);
	atomic_fetch_add(&t6_ok, 1);
	return NULL;
}

/* The "coop-pool" threads of other pools, once their number is steady: a
 * thread that was just joined may still be listed for a moment (and
 * with CK_FORK=no, earlier tests' pools are in the same process). */
static int other_pool_threads(void)
{
	int64_t end = coop_now() + BOUND;
	int prev = -1, n = count_pool_threads();

	/* Steady: the same count 20 ms apart. */
	while (n != prev && coop_now() < end) {
		prev = n;
		nap(20 * COOP_MSEC);
		n = count_pool_threads();
	}
	return n;
}

/* Wait (bounded) until at most `n` threads are named "coop-pool". */
static int pool_threads_down_to(int n)
{
	int64_t end = coop_now() + BOUND;
	int c;

	while ((c = count_pool_threads()) > n && coop_now() < end)
		nap(5 * COOP_MSEC);
	return c;
}

START_TEST(t_off_6_elastic_pool)
{
	int base = other_pool_threads();
	intptr_t i;

	ck_assert_int_ge(base, 0);
	t6_pool = pool_new(T6_JOBS, 100 * COOP_MSEC);
	for (i = 0; i < T6_JOBS; i++)
		test_spawn_detached(ctx, "dependent", t6_task, (void *)(i + 1));
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(atomic_load(&t6_ok), T6_JOBS);
	ck_assert_int_eq(atomic_load(&t6_stuck), 0);
	/* The barrier let them all through: 16 workers at once. */
	ck_assert_int_ge(atomic_load(&t6_seen_threads), T6_JOBS);
	/* Idle workers exit after idle_timeout (100 ms). */
	ck_assert_int_le(pool_threads_down_to(base), base);
	/* A pool whose workers all left starts new ones. */
	atomic_store(&t6_arrived, T6_JOBS - 1); /* a barrier of 1 */
	atomic_store(&t6_ok, 0);
	test_spawn_detached(ctx, "again", t6_task, (void *)0x60);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(atomic_load(&t6_ok), 1);
	ck_assert_int_eq(coop_pool_destroy(t6_pool), 0);
	ck_assert_int_le(pool_threads_down_to(base), base);
}
END_TEST

/* ------------------------------------------------------------- T-OFF-7 -- */

static struct coop_pool *t7_a, *t7_b;
static int t7_pipe[2] = {-1, -1};
static atomic_int t7_a_started, t7_a_done, t7_a2_ran, t7_b_done, t7_a_busy_when_b_done;

static void *t7_pipe_fn(void *arg)
{
	char c = 0;

	(void)arg;
	atomic_store(&t7_a_started, 1);
	if (read(t7_pipe[0], &c, 1) != 1) /* blocking */
		return NULL;
	return (void *)(intptr_t)c;
}

static void *t7_a2_fn(void *arg)
{
	atomic_store(&t7_a2_ran, 1);
	return arg;
}

static void *t7_task_a(void *arg)
{
	struct coop_offload_opts o = off_opts(t7_a, 0, NULL);
	void *r = NULL;

	(void)arg;
	ck_assert_int_eq(coop_offload(t7_pipe_fn, NULL, &r, COOP_FOREVER, &o), 0);
	ck_assert_ptr_eq(r, (void *)(intptr_t)'x');
	atomic_store(&t7_a_done, 1);
	return NULL;
}

static void *t7_task_a2(void *arg)
{
	struct coop_offload_opts o = off_opts(t7_a, 0, NULL);
	void *r = NULL;

	(void)arg;
	ck_assert(task_wait(&t7_a_started, 1));
	/* Queued behind the blocked job: A is saturated. */
	ck_assert_int_eq(coop_offload(t7_a2_fn, (void *)0x72, &r, COOP_FOREVER, &o), 0);
	ck_assert_ptr_eq(r, (void *)0x72);
	return NULL;
}

static void *t7_task_b(void *arg)
{
	struct coop_offload_opts o = off_opts(t7_b, 0, NULL);
	void *r = NULL;
	int rc;

	(void)arg;
	ck_assert(task_wait(&t7_a_started, 1));
	coop_yield(); /* let a2 queue its job first */
	rc = coop_offload(echo_fn, (void *)0x70, &r, coop_deadline_in(BOUND), &o);
	atomic_store(&t7_a_busy_when_b_done, !atomic_load(&t7_a_done) && !atomic_load(&t7_a2_ran));
	atomic_store(&t7_b_done, 1);
	/* Unblock A whatever happened. */
	ck_assert_int_eq(write(t7_pipe[1], "x", 1), 1);
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_eq(r, (void *)0x70);
	return NULL;
}

START_TEST(t_off_7_pools_isolate)
{
	ck_assert_int_eq(pipe(t7_pipe), 0);
	t7_a = pool_new(1, 0);
	t7_b = pool_new(1, 0);
	test_spawn_detached(ctx, "a", t7_task_a, NULL);
	test_spawn_detached(ctx, "a2", t7_task_a2, NULL);
	test_spawn_detached(ctx, "b", t7_task_b, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(atomic_load(&t7_b_done), 1);
	ck_assert_int_eq(atomic_load(&t7_a_done), 1);
	ck_assert_int_eq(atomic_load(&t7_a2_ran), 1);
	ck_assert_msg(atomic_load(&t7_a_busy_when_b_done), "pool B's job waited for pool A");
	ck_assert_int_eq(coop_pool_destroy(t7_a), 0);
	ck_assert_int_eq(coop_pool_destroy(t7_b), 0);
	close(t7_pipe[0]);
	close(t7_pipe[1]);
}
END_TEST

/* ------------------------------------------------------------- T-OFF-8 -- */

struct t8_report {
	int unblocked;      /* signals (not KILL/STOP) pthread_sigmask shows unblocked */
	int first_unblocked;
	uint64_t sigblk;    /* the kernel's SigBlk for the thread */
	bool have_sigblk;
	char name[32];      /* pthread_getname_np */
	char comm[32];      /* /proc/thread-self/comm */
};

/* What a thread of this process can block, read off a plain thread that
 * blocked everything (the reference): glibc keeps its two internal
 * signals unblocked, and an emulator or valgrind may keep some of its
 * own (qemu-user and valgrind each reserve a real-time one). */
static struct t8_report t8_ref;
static sigset_t t8_can_block;

static bool blockable(int sig)
{
	return sig != SIGKILL && sig != SIGSTOP && sigismember(&t8_can_block, sig) == 1;
}

static void *t8_fn(void *arg)
{
	struct t8_report *rep = arg;
	char line[256];
	sigset_t set;
	FILE *f;
	int sig;

	sigemptyset(&set);
	pthread_sigmask(SIG_BLOCK, NULL, &set);
	for (sig = 1; sig <= SIGRTMAX; sig++)
		if (blockable(sig) && sigismember(&set, sig) != 1 && !rep->unblocked++)
			rep->first_unblocked = sig;
	if ((f = fopen("/proc/thread-self/status", "r"))) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "SigBlk: %" SCNx64, &rep->sigblk) == 1)
				rep->have_sigblk = true;
		fclose(f);
	}
	pthread_getname_np(pthread_self(), rep->name, sizeof(rep->name));
	if ((f = fopen("/proc/thread-self/comm", "r"))) {
		if (!fgets(rep->comm, sizeof(rep->comm), f))
			rep->comm[0] = 0;
		fclose(f);
	}
	return rep;
}

static struct coop_pool *t8_pool;
static atomic_int t8_done;

static void *t8_reference(void *arg)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	pthread_sigmask(SIG_BLOCK, NULL, &t8_can_block);
	return t8_fn(arg);
}

static void check_worker(const struct t8_report *rep)
{
	int sig;

	ck_assert_msg(rep->unblocked == 0, "%d signals unblocked in a worker, the first %d",
	              rep->unblocked, rep->first_unblocked);
	ck_assert(rep->have_sigblk);
	/* The kernel's view: every signal the reference thread has blocked
	 * (valgrind, for one, keeps SIGRTMAX unblocked in every thread). */
	for (sig = 1; sig <= 64; sig++)
		if (t8_ref.sigblk >> (sig - 1) & 1)
			ck_assert_msg(rep->sigblk >> (sig - 1) & 1, "signal %d not in SigBlk %" PRIx64,
			              sig, rep->sigblk);
	ck_assert_str_eq(rep->name, "coop-pool");
	ck_assert_str_eq(rep->comm, "coop-pool\n");
}

static void *t8_task(void *arg)
{
	struct coop_offload_opts o = off_opts(t8_pool, 0, NULL);
	struct t8_report rep;
	sigset_t before, after;
	void *r = NULL;
	int sig;

	(void)arg;
	/* The context's thread keeps its own mask: say SIGUSR1 blocked only. */
	sigemptyset(&before);
	sigaddset(&before, SIGUSR1);
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &before, NULL), 0);
	memset(&rep, 0, sizeof(rep));
	ck_assert_int_eq(coop_offload(t8_fn, &rep, &r, COOP_FOREVER, &o), 0);
	check_worker(&rep);
	/* The default pool's workers too. */
	memset(&rep, 0, sizeof(rep));
	ck_assert_int_eq(coop_offload(t8_fn, &rep, &r, COOP_FOREVER, NULL), 0);
	check_worker(&rep);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, NULL, &after), 0);
	for (sig = 1; sig <= SIGRTMAX; sig++)
		if (blockable(sig))
			ck_assert_int_eq(sigismember(&after, sig), sig == SIGUSR1);
	sigemptyset(&before);
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &before, NULL), 0);
	atomic_store(&t8_done, 1);
	return NULL;
}

START_TEST(t_off_8_workers_block_signals)
{
	pthread_t ref;

	ck_assert_int_eq(pthread_create(&ref, NULL, t8_reference, &t8_ref), 0);
	ck_assert_int_eq(pthread_join(ref, NULL), 0);
	ck_assert(t8_ref.have_sigblk);
	ck_assert_int_eq(t8_ref.unblocked, 0);
	t8_pool = pool_new(1, 0);
	test_spawn_detached(ctx, "signals", t8_task, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(atomic_load(&t8_done), 1);
	ck_assert_int_eq(coop_pool_destroy(t8_pool), 0);
}
END_TEST

/* ------------------------------------------------------------- T-OFF-9 -- */

static struct coop_pool *t9_pool, *t9_abandon_pool;
static struct coop_task *t9_abandon;
static int t9_abandon_rc = 1;
static atomic_int t9_done;

static void *t9_destroy_thread(void *arg)
{
	return (void *)(intptr_t)coop_pool_destroy(arg);
}

/* coop_pool_destroy from another thread (it is thread-safe). */
static int destroy_elsewhere(struct coop_pool *p)
{
	pthread_t th;
	void *r = NULL;

	ck_assert_int_eq(pthread_create(&th, NULL, t9_destroy_thread, p), 0);
	ck_assert_int_eq(pthread_join(th, &r), 0);
	return (int)(intptr_t)r;
}

static void *t9_offload_task(void *arg)
{
	struct coop_offload_opts o = off_opts(t9_pool, 0, NULL);
	void *r = NULL;

	(void)arg;
	gates[0].result = (void *)0x900;
	ck_assert_int_eq(coop_offload(gate_fn, &gates[0], &r, COOP_FOREVER, &o), 0);
	ck_assert_ptr_eq(r, (void *)0x900);
	/* Every offload on it has returned: 0 at once (A7.8). */
	ck_assert_int_eq(coop_pool_destroy(t9_pool), 0);
	t9_pool = NULL;
	atomic_fetch_add(&t9_done, 1);
	return NULL;
}

static void *t9_prober(void *arg)
{
	(void)arg;
	ck_assert(task_wait(&gates[0].started, 1));
	TEST_KEEPS_ERRNO(coop_pool_destroy(t9_pool), -EBUSY);
	ck_assert_int_eq(destroy_elsewhere(t9_pool), -EBUSY);
	atomic_store(&gates[0].open, 1);
	atomic_fetch_add(&t9_done, 1);
	return NULL;
}

/* An abandoned job that still runs keeps its pool busy. */
static void *t9_abandon_task(void *arg)
{
	struct coop_offload_opts o = off_opts(t9_abandon_pool, COOP_OFFLOAD_ABANDON, gate_orphan);
	void *r = NULL;

	(void)arg;
	gates[1].result = (void *)0x901;
	t9_abandon_rc = coop_offload(gate_fn, &gates[1], &r, COOP_FOREVER, &o);
	return NULL;
}

static void *t9_abandoner(void *arg)
{
	(void)arg;
	ck_assert(task_wait(&gates[1].started, 1));
	ck_assert_int_eq(coop_cancel(t9_abandon), 0);
	ck_assert_int_eq(coop_join(t9_abandon, NULL), 0);
	ck_assert_int_eq(t9_abandon_rc, -ECANCELED);
	ck_assert_int_eq(coop_pool_destroy(t9_abandon_pool), -EBUSY);
	atomic_store(&gates[1].open, 1);
	ck_assert(task_wait(&gates[1].orphans, 1));
	atomic_fetch_add(&t9_done, 1);
	return NULL;
}

START_TEST(t_off_9_pool_destroy_busy)
{
	t9_pool = pool_new(1, 0);
	t9_abandon_pool = pool_new(1, 0);
	test_spawn_detached(ctx, "offload", t9_offload_task, NULL);
	test_spawn_detached(ctx, "prober", t9_prober, NULL);
	t9_abandon = test_spawn_named(ctx, "abandon", t9_abandon_task, NULL);
	test_spawn_detached(ctx, "abandoner", t9_abandoner, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(atomic_load(&t9_done), 3);
	ck_assert_ptr_null(t9_pool);
	pool_drain(t9_abandon_pool);
	ck_assert_int_eq(atomic_load(&gates[1].orphans), 1);
	ck_assert_ptr_eq(atomic_load(&gates[1].orphan_result), (void *)0x901);
}
END_TEST

/* A job that has returned but whose completion its context has not taken
 * yet still counts (A7.8). */
static struct coop_pool *t9b_pool;
static atomic_int t9b_done;

static void *t9b_task(void *arg)
{
	struct coop_offload_opts o = off_opts(t9b_pool, 0, NULL);
	void *r = NULL;

	(void)arg;
	gates[0].result = (void *)0x910;
	atomic_store(&gates[0].open, 1);
	ck_assert_int_eq(coop_offload(gate_fn, &gates[0], &r, COOP_FOREVER, &o), 0);
	ck_assert_ptr_eq(r, (void *)0x910);
	atomic_store(&t9b_done, 1);
	return NULL;
}

START_TEST(t_off_9_undelivered_counts)
{
	int64_t end = coop_now() + BOUND;
	int rc;

	t9b_pool = pool_new(1, 0);
	test_spawn_detached(ctx, "offload", t9b_task, NULL);
	/* One round: the task queues its job and waits. */
	ck_assert_int_eq(coop_run_once(ctx, 0), 1);
	ck_assert(thread_wait(&gates[0].finished, 1));
	/* fn returned, the context has not run since. */
	ck_assert_int_eq(coop_pool_destroy(t9b_pool), -EBUSY);
	while ((rc = coop_run_once(ctx, coop_deadline_in(100 * COOP_MSEC))) > 0 && coop_now() < end)
		;
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(atomic_load(&t9b_done), 1);
	ck_assert_int_eq(coop_pool_destroy(t9b_pool), 0);
}
END_TEST

/* ------------------------------------------------------------ T-OFF-10 -- */

static struct coop_pool *t10_pool, *t10_abandon_pool;
static atomic_int t10_stack_started, t10_go, t10_stack_finished;

struct t10_local {
	volatile int written;
	char pad[64];
};

/* Writes into the waiting task's stack after a sleep that begins as the
 * test enters coop_context_destroy, which must still be waiting for it. */
static void *t10_stack_fn(void *arg)
{
	struct t10_local *l = arg;

	atomic_store(&t10_stack_started, 1);
	thread_wait(&t10_go, 1);
	nap(100 * COOP_MSEC);
	l->written = 0x5eed;
	memset(l->pad, 0xa5, sizeof(l->pad));
	atomic_store(&t10_stack_finished, 1);
	return l;
}

static void *t10_stack_task(void *arg)
{
	struct coop_offload_opts o = off_opts(t10_pool, 0, NULL);
	struct t10_local l;
	void *r = NULL;

	(void)arg;
	memset(&l, 0, sizeof(l));
	coop_offload(t10_stack_fn, &l, &r, COOP_FOREVER, &o);
	/* Never resumed: the context is destroyed while it waits. */
	abort();
}

static void *t10_queued_task(void *arg)
{
	struct coop_offload_opts o = off_opts(t10_pool, 0, NULL);

	(void)arg;
	coop_offload(gate_fn, &gates[1], NULL, COOP_FOREVER, &o);
	abort();
}

/* Queued behind it: withdrawn at destroy, its arg handed to the orphan
 * callback with NULL. */
static void *t10_abandon_queued_task(void *arg)
{
	struct coop_offload_opts o = off_opts(t10_abandon_pool, COOP_OFFLOAD_ABANDON, gate_orphan);

	(void)arg;
	gates[3].orphan_result = (void *)0x1;
	coop_offload(gate_fn, &gates[3], NULL, COOP_FOREVER, &o);
	abort();
}

static void *t10_abandon_task(void *arg)
{
	struct coop_offload_opts o = off_opts(t10_abandon_pool, COOP_OFFLOAD_ABANDON, gate_orphan);

	(void)arg;
	gates[2].result = (void *)0xa02;
	coop_offload(gate_fn, &gates[2], NULL, COOP_FOREVER, &o);
	abort();
}

START_TEST(t_off_10_context_destroy)
{
	struct coop_context *c;
	int64_t end = coop_now() + BOUND;

	t10_pool = pool_new(1, 0);
	t10_abandon_pool = pool_new(1, 0);
	test_context_create(&c);
	test_spawn_detached(c, "stack", t10_stack_task, NULL);
	test_spawn_detached(c, "queued", t10_queued_task, NULL);
	test_spawn_detached(c, "abandon", t10_abandon_task, NULL);
	test_spawn_detached(c, "abandon-queued", t10_abandon_queued_task, NULL);
	/* One round: each task queues its job and waits. */
	ck_assert_int_eq(coop_run_once(c, 0), 4);
	ck_assert(thread_wait(&t10_stack_started, 1));
	ck_assert(thread_wait(&gates[2].started, 1));
	while (test_state_of(c, "queued") != COOP_TASK_BLOCKED && coop_now() < end)
		coop_run_once(c, 0);
	ck_assert_int_eq(test_info_of(c, "stack").wait, COOP_WAIT_OFFLOAD);
	ck_assert_int_eq(test_info_of(c, "queued").wait, COOP_WAIT_OFFLOAD);
	ck_assert_int_eq(test_info_of(c, "abandon").wait, COOP_WAIT_OFFLOAD);
	ck_assert_int_eq(test_info_of(c, "abandon-queued").wait, COOP_WAIT_OFFLOAD);
	ck_assert_int_eq(atomic_load(&t10_stack_finished), 0);

	atomic_store(&t10_go, 1);
	coop_context_destroy(c);
	/* It waited for the running job... */
	ck_assert_int_eq(atomic_load(&t10_stack_finished), 1);
	/* ... but not for the abandoned one, still held. */
	ck_assert_int_eq(atomic_load(&gates[2].finished), 0);
	ck_assert_int_eq(atomic_load(&gates[2].orphans), 0);
	/* The queued abandoning one gave its arg back as it was withdrawn. */
	ck_assert_int_eq(atomic_load(&gates[3].orphans), 1);
	ck_assert_ptr_null(atomic_load(&gates[3].orphan_result));
	atomic_store(&gates[2].open, 1);
	ck_assert(thread_wait(&gates[2].orphans, 1));
	ck_assert_ptr_eq(atomic_load(&gates[2].orphan_result), (void *)0xa02);
	ck_assert_int_eq(atomic_load(&gates[2].abandoned_at_end), 1);
	/* The queued job was withdrawn: joining the pool's worker proves it
	 * never runs. */
	pool_drain(t10_pool);
	pool_drain(t10_abandon_pool);
	ck_assert_int_eq(atomic_load(&gates[1].started), 0);
	ck_assert_int_eq(atomic_load(&gates[3].started), 0);
	ck_assert_int_eq(atomic_load(&gates[2].orphans), 1);
	ck_assert_int_eq(atomic_load(&gates[3].orphans), 1);
}
END_TEST

/* ------------------------------------------- coop_context_opts.pool -- */

static struct coop_pool *cp_ctx_pool, *cp_other_pool;
static atomic_int cp_done;

static void *cp_holder(void *arg)
{
	void *r = NULL;

	(void)arg;
	gates[0].result = (void *)0xc0;
	/* opts NULL: the context's pool. */
	ck_assert_int_eq(coop_offload(gate_fn, &gates[0], &r, COOP_FOREVER, NULL), 0);
	ck_assert_ptr_eq(r, (void *)0xc0);
	atomic_fetch_add(&cp_done, 1);
	return NULL;
}

static void *cp_other(void *arg)
{
	struct coop_offload_opts o = off_opts(cp_other_pool, 0, NULL);
	void *r = NULL;

	(void)arg;
	ck_assert(task_wait(&gates[0].started, 1));
	gates[1].result = (void *)0xc1;
	/* opts->pool wins over the context's, which is saturated. */
	ck_assert_int_eq(coop_offload(gate_fn, &gates[1], &r, coop_deadline_in(BOUND), &o), 0);
	ck_assert_ptr_eq(r, (void *)0xc1);
	atomic_fetch_add(&cp_done, 1);
	return NULL;
}

static void *cp_prober(void *arg)
{
	struct coop_offload_opts o = off_opts(NULL, 0, NULL);
	void *r = NULL;
	int64_t d;

	(void)arg;
	ck_assert(task_wait(&gates[0].started, 1));
	ck_assert(task_wait(&gates[1].started, 1));
	/* Each held job is on the pool it was sent to. */
	ck_assert_int_eq(coop_pool_destroy(cp_ctx_pool), -EBUSY);
	ck_assert_int_eq(coop_pool_destroy(cp_other_pool), -EBUSY);
	/* opts->pool NULL: the context's pool too, saturated, so it stays
	 * queued until its deadline. */
	d = coop_deadline_in(20 * COOP_MSEC);
	ck_assert_int_eq(coop_offload(echo_fn, NULL, &r, d, &o), -ETIMEDOUT);
	ck_assert_int_eq(atomic_load(&echo_runs), 0);
	atomic_store(&gates[0].open, 1);
	atomic_store(&gates[1].open, 1);
	atomic_fetch_add(&cp_done, 1);
	return NULL;
}

START_TEST(context_opts_pool)
{
	struct coop_context_opts co;
	struct coop_context *c;

	cp_ctx_pool = pool_new(1, 0);
	cp_other_pool = pool_new(1, 0);
	memset(&co, 0, sizeof(co));
	co.size = sizeof(co);
	co.pool = cp_ctx_pool;
	ck_assert_int_eq(coop_context_create(&c, &co), 0);
	test_spawn_detached(c, "holder", cp_holder, NULL);
	test_spawn_detached(c, "other", cp_other, NULL);
	test_spawn_detached(c, "prober", cp_prober, NULL);
	ck_assert_int_eq(coop_run(c), 0);
	ck_assert_int_eq(atomic_load(&cp_done), 3);
	coop_context_destroy(c);
	ck_assert_int_eq(coop_pool_destroy(cp_ctx_pool), 0);
	ck_assert_int_eq(coop_pool_destroy(cp_other_pool), 0);
	ck_assert_int_eq(atomic_load(&echo_runs), 0);
}
END_TEST

/* ------------------------------------------------------- introspection -- */

static struct coop_pool *in_pool;
static int64_t in_deadline;
static atomic_int in_done;

static void *in_offload(void *arg)
{
	struct coop_offload_opts o = off_opts(in_pool, 0, NULL);
	void *r = NULL;

	(void)arg;
	ck_assert_int_eq(coop_offload(gate_fn, &gates[0], &r, in_deadline, &o), 0);
	atomic_fetch_add(&in_done, 1);
	return NULL;
}

static void *in_queued(void *arg)
{
	struct coop_offload_opts o = off_opts(in_pool, 0, NULL);
	void *r = NULL;

	(void)arg;
	ck_assert_int_eq(coop_offload(gate_fn, &gates[1], &r, COOP_FOREVER, &o), 0);
	atomic_fetch_add(&in_done, 1);
	return NULL;
}

static void *in_watcher(void *arg)
{
	struct coop_task_info in;

	(void)arg;
	ck_assert(task_wait(&gates[0].started, 1));
	coop_yield(); /* the queued task waits too */
	/* Running job. */
	in = test_info_of(ctx, "offload");
	ck_assert_int_eq(in.state, COOP_TASK_BLOCKED);
	ck_assert_int_eq(in.wait, COOP_WAIT_OFFLOAD);
	ck_assert_ptr_null(in.wait_object);
	ck_assert_int_eq(in.wait_fd, -1);
	ck_assert_int_eq(in.wait_deadline, in_deadline);
	/* Queued job. */
	in = test_info_of(ctx, "queued");
	ck_assert_int_eq(in.state, COOP_TASK_BLOCKED);
	ck_assert_int_eq(in.wait, COOP_WAIT_OFFLOAD);
	ck_assert_ptr_null(in.wait_object);
	ck_assert_int_eq(in.wait_deadline, COOP_FOREVER);
	atomic_store(&gates[0].open, 1);
	atomic_store(&gates[1].open, 1);
	atomic_fetch_add(&in_done, 1);
	return NULL;
}

START_TEST(introspect_wait_offload)
{
	in_pool = pool_new(1, 0);
	in_deadline = coop_deadline_in(BOUND);
	test_spawn_detached(ctx, "offload", in_offload, NULL);
	test_spawn_detached(ctx, "queued", in_queued, NULL);
	test_spawn_detached(ctx, "watcher", in_watcher, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(atomic_load(&in_done), 3);
	ck_assert_int_eq(coop_pool_destroy(in_pool), 0);
}
END_TEST

/* ------------------------------------- coop_run blocks; default pool -- */

static atomic_int lone_done;
static struct gate *lone_abandoned;

static void *nap_fn(void *arg)
{
	nap(100 * COOP_MSEC);
	return arg;
}


/* B-12's "no thread created in steady state": one task offloading one job
 * after another keeps a pool at one worker (its completion is delivered
 * while the worker is already on its way back to the queue: the next
 * submit finds it there instead of starting another). */
static struct coop_pool *steady_pool;
static int steady_threads_max;

static void *steady_task(void *arg)
{
	struct coop_offload_opts o = off_opts(steady_pool, 0, NULL);
	void *r = NULL;
	int i, n = test_slow_run() ? 200 : 3000;

	(void)arg;
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(coop_offload(echo_fn, (void *)(intptr_t)i, &r, COOP_FOREVER, &o), 0);
		ck_assert_ptr_eq(r, (void *)(intptr_t)i);
		if (i % 100 == 0 && count_pool_threads() > steady_threads_max)
			steady_threads_max = count_pool_threads();
	}
	return NULL;
}

START_TEST(steady_state_starts_no_thread)
{
	steady_pool = pool_new(8, 0);
	test_spawn_detached(ctx, "steady", steady_task, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(steady_threads_max, 1);
	/* (No thread count after the destroy: under qemu-user a joined
	 * thread may still be listed in /proc for a moment.) */
	ck_assert_int_eq(coop_pool_destroy(steady_pool), 0);
}
END_TEST

/* The only task waits on the default pool: coop_run must wait for it
 * (an external source), not report -EDEADLK. */
static void *lone_task(void *arg)
{
	struct coop_offload_opts o = off_opts(NULL, COOP_OFFLOAD_ABANDON, gate_orphan);
	void *r = NULL;

	(void)arg;
	ck_assert_int_eq(coop_offload(nap_fn, (void *)0xd0, &r, COOP_FOREVER, NULL), 0);
	ck_assert_ptr_eq(r, (void *)0xd0);
	/* ... and through an abandoning one's deadline. */
	lone_abandoned = offload_past_deadline(&gates[0], &o);
	atomic_store(&lone_done, 1);
	return NULL;
}

START_TEST(offload_keeps_run_blocked)
{
	test_spawn_detached(ctx, "lone", lone_task, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(atomic_load(&lone_done), 1);
	ck_assert(thread_wait(&lone_abandoned->orphans, 1));
}
END_TEST

#define DEFAULT_TASKS 8
static atomic_int default_done;

static void *name_fn(void *arg)
{
	char name[32] = "";

	pthread_getname_np(pthread_self(), name, sizeof(name));
	return (void *)(intptr_t)(strcmp(name, "coop-pool") == 0 ? (intptr_t)arg : -1);
}

static void *default_task(void *arg)
{
	void *r = NULL;

	ck_assert_int_eq(coop_offload(name_fn, arg, &r, COOP_FOREVER, NULL), 0);
	ck_assert_ptr_eq(r, arg);
	atomic_fetch_add(&default_done, 1);
	return NULL;
}

START_TEST(default_pool)
{
	intptr_t i;

	for (i = 0; i < DEFAULT_TASKS; i++)
		test_spawn_detached(ctx, "default", default_task, (void *)(i + 1));
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(atomic_load(&default_done), DEFAULT_TASKS);
	/* Its workers linger (10 s), idle. */
	ck_assert_int_ge(count_pool_threads(), 1);
}
END_TEST

/* ---------------------------------------------------------------- fork -- */

static atomic_int fork_done;

static void *fork_task(void *arg)
{
	void *r = NULL;

	(void)arg;
	if (coop_offload(echo_fn, (void *)0xf0, &r, COOP_FOREVER, NULL) == 0 && r == (void *)0xf0)
		atomic_store(&fork_done, 1);
	return NULL;
}

/* In the child: a new context offloads to the default pool; the exit
 * status says how it went (no Check calls in the child). */
static int fork_child(void)
{
	struct coop_context *c;

	alarm(30); /* a hang ends the child, and the parent sees it */
	atomic_store(&fork_done, 0);
	if (coop_context_create(&c, NULL) != 0)
		return 2;
	if (coop_spawn(c, NULL, fork_task, NULL, NULL) != 0)
		return 3;
	if (coop_run(c) != 0)
		return 4;
	coop_context_destroy(c);
	return atomic_load(&fork_done) ? 0 : 5;
}

START_TEST(fork_child_offloads)
{
	int status = 0;
	pid_t pid;

	if (TEST_TSAN) {
		fprintf(stderr, "fork_child_offloads: skipped under ThreadSanitizer\n");
		return;
	}
	/* qemu-user (Debian 12's 7.2) aborts a child forked from a process
	 * with threads ("cpu_exec: assertion failed"): tests/meson.build
	 * says when the suite runs under it. */
	if (getenv("COOP_TEST_QEMU")) {
		fprintf(stderr, "fork_child_offloads: skipped under qemu-user\n");
		return;
	}
	/* The default pool gets an idle worker in the parent. */
	test_spawn_detached(ctx, "parent", fork_task, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(atomic_load(&fork_done), 1);
	ck_assert_int_ge(count_pool_threads(), 1);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0)
		_exit(fork_child());
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "child died by signal %d", WTERMSIG(status));
	/* 2-5: fork_child's steps; 1 under valgrind: its error exit code,
	 * the child's report is on stderr. */
	ck_assert_msg(WEXITSTATUS(status) == 0, "child exited with %d", WEXITSTATUS(status));
	/* The parent's pool works on. */
	atomic_store(&fork_done, 0);
	test_spawn_detached(ctx, "parent", fork_task, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(atomic_load(&fork_done), 1);
}
END_TEST

static Suite *offload_suite(void)
{
	Suite *s = suite_create("offload");
	TCase *tc;

	tc = test_tcase(s, "errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, offload_errors);
	tcase_add_test(tc, pool_errors);
	tcase_add_test(tc, pool_stack_size);

	tc = test_tcase(s, "t-off");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_off_1_result_and_progress);
	tcase_add_test(tc, t_off_2_queued_withdrawn);
	tcase_add_test(tc, t_off_3_running_waited_for);
	tcase_add_test(tc, t_off_4_abandon);
	tcase_add_test(tc, t_off_5_completion_abandon_race);
	tcase_add_test(tc, t_off_6_elastic_pool);
	tcase_add_test(tc, t_off_7_pools_isolate);
	tcase_add_test(tc, t_off_8_workers_block_signals);
	tcase_add_test(tc, t_off_9_pool_destroy_busy);
	tcase_add_test(tc, t_off_9_undelivered_counts);
	tcase_add_test(tc, t_off_10_context_destroy);

	tc = test_tcase(s, "more");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, context_opts_pool);
	tcase_add_test(tc, introspect_wait_offload);
	tcase_add_test(tc, offload_keeps_run_blocked);
	tcase_add_test(tc, steady_state_starts_no_thread);
	tcase_add_test(tc, default_pool);
	tcase_add_test(tc, fork_child_offloads);
	return s;
}

int main(void)
{
	return test_run(offload_suite());
}
