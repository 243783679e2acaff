/*
 * test-embed.c: embedding (coop 1.1, part 4): coop_context_fd and
 * coop_run_once driven by a host loop, the spec's §6.5 cases and A7.7.
 *
 * T-EMB-1 the invariant as a seeded random property test (COOP_EMBED_SEED,
 * COOP_EMBED_STEPS): after every coop_run_once(ctx, 0), a round that ran
 * something was announced by the fd, and no two idle rounds in a row find
 * it readable; T-EMB-2 a sleeping task makes the fd readable at its
 * deadline, never before; T-EMB-3 a task that yields forever gets one turn
 * per round and keeps the fd readable; T-EMB-4 an fd a task starts waiting
 * on in a round is in the fd's set at once; T-EMB-5 posts, notifier sends
 * and offload completions from other threads make the fd readable (a
 * post by the time it returns, other threads posting too);
 * T-EMB-7 -EBUSY from a task, a callback, or while the thread runs
 * another context; T-EMB-8 the count returned, one turn per task and
 * round, and the FIFO order of the next round.  (T-EMB-6 is the GLib
 * example, T-EMB-9 the 'once' builds of the other suites.)
 *
 * Then A7.7: every call from the host between rounds that makes a task
 * runnable makes the fd readable before it returns, as does a context
 * with tasks before its first round; coop_run_once(ctx, d) with nothing to
 * do waits until d; -EDEADLK; the errors; the fd itself (the same one,
 * close-on-exec, an epoll instance, closed by coop_context_destroy, none
 * made by coop_run_once alone); and coop_run after coop_run_once rounds.
 *
 * Timing: only "never early" is asserted strictly (the clock is read
 * after poll(2) returns); waits that must end by an event have a far
 * deadline (FAR_NS), so a lost wake-up fails instead of hanging.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <coop/coop.h>

#include "test-common.h"

/* This suite drives contexts both ways on purpose: coop_run is coop_run
 * here, whichever driver test-driver.h would pick for the others. */
#undef coop_run

#define FAR_NS (20 * COOP_SEC)

static int64_t far(void)
{
	return coop_deadline_in(FAR_NS);
}

/* poll(fd) for reading with a timeout in ms (0: a look): 1 if readable. */
static int readable(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	ck_assert_int_ge(n, 0);
	return n > 0 && (p.revents & POLLIN);
}

/* Wait (bounded by FAR_NS) for fd to turn readable; coop_now() once it
 * did, read after poll returned. */
static int64_t wait_readable(int fd)
{
	int64_t limit = far();

	while (!readable(fd, 100))
		ck_assert_msg(coop_now() < limit, "the context fd never turned readable");
	return coop_now();
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / COOP_SEC), .tv_nsec = (long)(ns % COOP_SEC)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void make_pipe(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

static struct coop_context *ctx;

static void setup(void)
{
	test_context_create(&ctx);
}

static void teardown(void)
{
	test_context_destroy(&ctx);
}

/* ------------------------------------------------------ little tasks -- */

static void *t_return(void *arg)
{
	return arg;
}

static atomic_long yields; /* coop_yield calls made by t_yield_forever */
static atomic_bool stop_yielding;

static void *t_yield_forever(void *arg)
{
	while (!atomic_load(&stop_yielding)) {
		atomic_fetch_add(&yields, 1);
		coop_yield();
	}
	return arg;
}

static void *t_sleep_far(void *arg)
{
	int *rc = arg;

	*rc = coop_sleep_until(far());
	return NULL;
}

/* ------------------------------------------------------ another thread -- */

/* After `delay`, from its own thread: post cb(arg), send a notifier, or
 * write a byte to an fd. */
enum { LATER_POST, LATER_NOTIFY, LATER_WRITE };
struct later {
	pthread_t thread;
	int what;
	int64_t delay;
	struct coop_context *ctx;
	void (*cb)(void *);
	void *arg;
	struct coop_notify *notify;
	int fd;
	int rc;
};

static void *later_main(void *arg)
{
	struct later *l = arg;

	sleep_ns(l->delay);
	switch (l->what) {
	case LATER_POST:
		l->rc = coop_context_post(l->ctx, l->cb, l->arg);
		break;
	case LATER_NOTIFY:
		l->rc = coop_notify_send(l->notify);
		break;
	default:
		l->rc = write(l->fd, "x", 1) == 1 ? 0 : -errno;
		break;
	}
	return NULL;
}

static void later_start(struct later *l)
{
	ck_assert_int_eq(pthread_create(&l->thread, NULL, later_main, l), 0);
}

static void later_join(struct later *l)
{
	ck_assert_int_eq(pthread_join(l->thread, NULL), 0);
	ck_assert_int_eq(l->rc, 0);
}

static atomic_int cb_runs;
static int cb_outside; /* the callbacks ran outside any task */

static void cb_count(void *arg)
{
	(void)arg;
	if (coop_self() != NULL)
		cb_outside = 0;
	atomic_fetch_add(&cb_runs, 1);
}

/* ------------------------------------------------------ the fd itself -- */

START_TEST(test_errors)
{
	int fd;

	TEST_KEEPS_ERRNO(coop_context_fd(NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_run_once(NULL, 0), -EINVAL);
	TEST_KEEPS_ERRNO(coop_run_once(NULL, COOP_FOREVER), -EINVAL);
	TEST_KEEPS_ERRNO(coop_run_once(ctx, -2), -EINVAL);
	TEST_KEEPS_ERRNO(coop_run_once(ctx, INT64_MIN), -EINVAL);
	TEST_KEEPS_ERRNO(coop_run_once(NULL, -2), -EINVAL);
	/* No task: 0 at once, whatever the deadline (nothing can change). */
	TEST_KEEPS_ERRNO(coop_run_once(ctx, 0), 0);
	TEST_KEEPS_ERRNO(coop_run_once(ctx, COOP_FOREVER), 0);
	TEST_KEEPS_ERRNO(coop_run_once(ctx, far()), 0);
	fd = coop_context_fd(ctx);
	ck_assert_int_ge(fd, 0);
	TEST_KEEPS_ERRNO(coop_context_fd(ctx), fd);
	TEST_KEEPS_ERRNO(coop_run_once(ctx, -2), -EINVAL);
	TEST_KEEPS_ERRNO(coop_run_once(ctx, COOP_FOREVER), 0);
	ck_assert(!readable(fd, 0));
}
END_TEST

static int fd_from_task = -1;

static void *t_context_fd(void *arg)
{
	fd_from_task = coop_context_fd(arg);
	return NULL;
}

START_TEST(test_fd_properties)
{
	char path[64], link[128];
	struct coop_context *c;
	int before, fd, i, flags;
	ssize_t n;

	before = test_count_dir("/proc/self/fd");
	ck_assert_int_eq(coop_context_create(&c, NULL), 0);
	/* A context driven by coop_run_once alone, that never waits on an
	 * fd nor asks for its fd, holds no fd (R10). */
	test_spawn_detached(c, "t", t_return, NULL);
	ck_assert_int_eq(coop_run_once(c, 0), 0);
	ck_assert_int_eq(test_count_dir("/proc/self/fd"), before);

	fd = coop_context_fd(c);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(coop_context_fd(c), fd);
	test_spawn_detached(c, "fd", t_context_fd, c);
	ck_assert_int_eq(coop_run_once(c, 0), 0);
	ck_assert_int_eq(fd_from_task, fd);
	ck_assert_int_eq(coop_context_fd(c), fd);

	flags = fcntl(fd, F_GETFD);
	ck_assert_int_ge(flags, 0);
	ck_assert_msg(flags & FD_CLOEXEC, "the context fd is not close-on-exec");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	ck_assert_int_gt(n, 0);
	link[n] = '\0';
	ck_assert_str_eq(link, "anon_inode:[eventpoll]");
	ck_assert(!readable(fd, 0));

	/* Destroy closes it and every other fd the context made. */
	coop_context_destroy(c);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(test_count_dir("/proc/self/fd"), before);
}
END_TEST

/* ------------------------------------------------------------ T-EMB-2 -- */

static int64_t sleep_deadline, sleep_woke;
static int sleep_rounds;

static void *t_sleep_rounds(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < sleep_rounds; i++) {
		/* Not a whole number of ms: a rounding to ms would show. */
		sleep_deadline = coop_deadline_in(20 * COOP_MSEC + 123457);
		ck_assert_int_eq(coop_sleep_until(sleep_deadline), 0);
		sleep_woke = coop_now();
	}
	return NULL;
}

START_TEST(test_emb2_sleep)
{
	int64_t prev = -1;
	int fd, i;

	sleep_rounds = test_slow_run() ? 3 : 10;
	sleep_woke = -1;
	test_spawn_detached(ctx, "sleeper", t_sleep_rounds, NULL);
	fd = coop_context_fd(ctx);
	for (i = 0; i < sleep_rounds; i++) {
		int64_t at;

		ck_assert_int_eq(coop_run_once(ctx, 0), 1); /* it (woke and) sleeps */
		if (prev >= 0)
			ck_assert_int_ge(sleep_woke, prev);
		/* Readable at the deadline, not before, by the timer alone
		 * (the first look is at once). */
		at = wait_readable(fd);
		ck_assert_msg(at >= sleep_deadline, "sleep %d: readable %" PRId64
		              " ns before the deadline", i, sleep_deadline - at);
		prev = sleep_deadline;
	}
	ck_assert_int_eq(coop_run_once(ctx, 0), 0);
	ck_assert_int_ge(sleep_woke, prev);
	ck_assert(!readable(fd, 0));
}
END_TEST

/* Three sleepers, 10, 20 and 30 ms: each time the fd turns readable the
 * earliest deadline left has passed, and the round wakes its task. */
static int64_t three_deadline[3];
static int three_woke[3];

static void *t_sleep_i(void *arg)
{
	int i = (int)(intptr_t)arg;

	three_deadline[i] = coop_deadline_in((i + 1) * 10 * COOP_MSEC);
	ck_assert_int_eq(coop_sleep_until(three_deadline[i]), 0);
	three_woke[i] = 1;
	return NULL;
}

START_TEST(test_emb2_earliest)
{
	int fd, i, left = 3;

	fd = coop_context_fd(ctx);
	for (i = 0; i < 3; i++)
		test_spawn_detached(ctx, "s", t_sleep_i, (void *)(intptr_t)i);
	ck_assert_int_eq(coop_run_once(ctx, 0), 3);
	while (left > 0) {
		int64_t at = wait_readable(fd), first = INT64_MAX;
		int rc;

		for (i = 0; i < 3; i++)
			if (!three_woke[i] && three_deadline[i] < first)
				first = three_deadline[i];
		ck_assert_msg(at >= first, "readable %" PRId64 " ns before the earliest deadline",
		              first - at);
		rc = coop_run_once(ctx, 0);
		ck_assert_int_lt(rc, left); /* someone woke and ended */
		left = rc;
		/* Every deadline passed by the look was expired by the round. */
		for (i = 0; i < 3; i++)
			if (three_deadline[i] <= at)
				ck_assert_int_eq(three_woke[i], 1);
	}
	ck_assert(!readable(fd, 0));
}
END_TEST

/* ------------------------------------------------------------ T-EMB-3 -- */

START_TEST(test_emb3_yield_forever)
{
	int fd, i, rounds = test_slow_run() ? 200 : 2000;
	int sleeper_rc = 1;
	long before;

	atomic_store(&stop_yielding, false);
	atomic_store(&yields, 0);
	test_spawn_detached(ctx, "yielder", t_yield_forever, NULL);
	fd = coop_context_fd(ctx);
	for (i = 0; i < rounds; i++) {
		ck_assert_msg(readable(fd, 0), "round %d: a runnable task, the fd not readable", i);
		before = atomic_load(&yields);
		ck_assert_int_eq(coop_run_once(ctx, 0), 1);
		ck_assert_int_eq(atomic_load(&yields) - before, 1);
	}
	/* A sleeper beside it wakes all the same (timers are checked at
	 * every round), and the yielder still gets one turn per round. */
	{
		struct coop_task *t = test_spawn_named(ctx, "sleeper", t_sleep_far, &sleeper_rc);
		int64_t limit = far();

		ck_assert_int_eq(coop_run_once(ctx, 0), 2);
		ck_assert_int_eq(coop_cancel(t), 0);
		ck_assert(readable(fd, 0));
		while (sleeper_rc == 1) {
			before = atomic_load(&yields);
			ck_assert_int_ge(coop_run_once(ctx, 0), 1);
			ck_assert_int_eq(atomic_load(&yields) - before, 1);
			ck_assert(coop_now() < limit);
		}
		ck_assert_int_eq(sleeper_rc, -ECANCELED);
		ck_assert_int_eq(coop_join(t, NULL), 0);
	}
	atomic_store(&stop_yielding, true);
	ck_assert(readable(fd, 0));
	ck_assert_int_eq(coop_run_once(ctx, 0), 0);
	ck_assert(!readable(fd, 0));
}
END_TEST

/* ------------------------------------------------------------ T-EMB-4 -- */

static int emb4_pipe[2];
static int emb4_got[3];

static void *t_pipe_waits(void *arg)
{
	char buf[16];
	int i;

	(void)arg;
	/* First a yield: the wait begins in a later round, not the first. */
	coop_yield();
	for (i = 0; i < 3; i++) {
		emb4_got[i] = coop_fd_wait(emb4_pipe[0], COOP_FD_READ, far());
		/* Empty it (FD_CACHE: the next edge is a new write). */
		while (read(emb4_pipe[0], buf, sizeof(buf)) > 0)
			;
	}
	return NULL;
}

START_TEST(test_emb4_fd_registered)
{
	struct coop_context_opts o = {.size = sizeof(o)};
	struct coop_context *c;
	int fd, i;

	/* Both registration modes: one-shot, then FD_CACHE. */
	o.flags = _i ? COOP_CONTEXT_FD_CACHE : 0;
	ck_assert_int_eq(coop_context_create(&c, &o), 0);
	make_pipe(emb4_pipe);
	memset(emb4_got, 0, sizeof(emb4_got));
	test_spawn_detached(c, "reader", t_pipe_waits, NULL);
	fd = coop_context_fd(c);
	ck_assert_int_eq(coop_run_once(c, 0), 1); /* it yields */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(coop_run_once(c, 0), 1); /* it waits on the pipe */
		ck_assert_msg(!readable(fd, 0), "wait %d: readable with nothing to do", i);
		ck_assert_int_eq(write(emb4_pipe[1], "x", 1), 1);
		ck_assert_msg(readable(fd, 0), "wait %d: a pipe write did not make the fd readable", i);
		ck_assert_int_eq(emb4_got[i], 0);
	}
	ck_assert_int_eq(coop_run_once(c, 0), 0);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq((unsigned)emb4_got[i], COOP_FD_READ);
	coop_context_destroy(c);
	close(emb4_pipe[0]);
	close(emb4_pipe[1]);
}
END_TEST

/* ------------------------------------------------------------ T-EMB-5 -- */

static struct coop_notify *emb5_notify;
static int emb5_waits;

static void *t_notify_wait(void *arg)
{
	uint64_t count;
	int i;

	(void)arg;
	for (i = 0; i < emb5_waits; i++) {
		count = 0;
		ck_assert_int_eq(coop_notify_wait(emb5_notify, &count, far()), 0);
		ck_assert_uint_ge(count, 1);
	}
	return NULL;
}

START_TEST(test_emb5_posts)
{
	int fd, i, n = test_slow_run() ? 10 : 100;

	fd = coop_context_fd(ctx);
	cb_outside = 1;
	atomic_store(&cb_runs, 0);
	/* No task at all, then a task waiting on a notifier nobody sends. */
	for (i = 0; i < 2 * n; i++) {
		struct later l = {.what = LATER_POST, .ctx = ctx, .cb = cb_count,
		                  .delay = (i % 5) * 200 * COOP_USEC};

		if (i == n) {
			ck_assert_int_eq(coop_notify_create(ctx, &emb5_notify), 0);
			emb5_waits = 1;
			test_spawn_detached(ctx, "waiter", t_notify_wait, NULL);
			ck_assert_int_eq(coop_run_once(ctx, 0), 1);
		}
		ck_assert(!readable(fd, 0));
		later_start(&l);
		wait_readable(fd);
		later_join(&l);
		ck_assert_int_eq(atomic_load(&cb_runs), i);
		ck_assert_int_eq(coop_run_once(ctx, 0), i >= n ? 1 : 0);
		ck_assert_int_eq(atomic_load(&cb_runs), i + 1);
	}
	ck_assert_int_eq(cb_outside, 1);
	/* The waiter is still there; a send from a thread ends it. */
	{
		struct later l = {.what = LATER_NOTIFY, .notify = emb5_notify, .delay = COOP_MSEC};

		later_start(&l);
		wait_readable(fd);
		later_join(&l);
		ck_assert_int_eq(coop_run_once(ctx, 0), 0);
	}
	ck_assert(!readable(fd, 0));
	ck_assert_int_eq(coop_notify_destroy(emb5_notify), 0);
}
END_TEST

START_TEST(test_emb5_notify)
{
	int fd, i;

	emb5_waits = test_slow_run() ? 10 : 100;
	ck_assert_int_eq(coop_notify_create(ctx, &emb5_notify), 0);
	test_spawn_detached(ctx, "waiter", t_notify_wait, NULL);
	fd = coop_context_fd(ctx);
	for (i = 0; i < emb5_waits; i++) {
		struct later l = {.what = LATER_NOTIFY, .notify = emb5_notify,
		                  .delay = (i % 4) * 300 * COOP_USEC};

		ck_assert_int_eq(coop_run_once(ctx, 0), 1); /* it waits */
		ck_assert(!readable(fd, 0));
		later_start(&l);
		wait_readable(fd);
		later_join(&l);
	}
	ck_assert_int_eq(coop_run_once(ctx, 0), 0);
	ck_assert(!readable(fd, 0));
	ck_assert_int_eq(coop_notify_destroy(emb5_notify), 0);
}
END_TEST

static void *job_sleep(void *arg)
{
	sleep_ns(2 * COOP_MSEC);
	return arg;
}

static struct coop_pool *emb5_pool;
static int emb5_offloads;

static void *t_offloads(void *arg)
{
	struct coop_offload_opts o = {.size = sizeof(o), .pool = emb5_pool};
	int i;

	(void)arg;
	for (i = 0; i < emb5_offloads; i++) {
		void *res = NULL;

		ck_assert_int_eq(coop_offload(job_sleep, &i, &res, far(), &o), 0);
		ck_assert_ptr_eq(res, &i);
	}
	return NULL;
}

START_TEST(test_emb5_offload)
{
	struct coop_pool_opts po = {.size = sizeof(po), .max_threads = 1,
	                            .idle_timeout = 50 * COOP_MSEC};
	int fd, i;

	emb5_offloads = test_slow_run() ? 5 : 30;
	ck_assert_int_eq(coop_pool_create(&emb5_pool, &po), 0);
	test_spawn_detached(ctx, "offloader", t_offloads, NULL);
	fd = coop_context_fd(ctx);
	for (i = 0; i < emb5_offloads; i++) {
		ck_assert_int_eq(coop_run_once(ctx, 0), 1); /* it waits for its job */
		/* The completion comes from the pool's thread. */
		wait_readable(fd);
	}
	ck_assert_int_eq(coop_run_once(ctx, 0), 0);
	ck_assert(!readable(fd, 0));
	ck_assert_int_eq(coop_pool_destroy(emb5_pool), 0);
}
END_TEST

/* When coop_context_post returns, the fd is readable unless a round has
 * begun since, even with other threads posting at the same moment: a
 * call that finds another's wake-up under way (its eventfd write still to
 * come) makes its own (remote.h).  Each poster looks right after its
 * call, counting only the calls made with the host between two rounds
 * all along.  (A notifier send adds to a count already queued without a
 * wake-up of its own: coalesced, by design.) */
static int ret_fd;
static atomic_ulong ret_begun, ret_ended, ret_checked, ret_missed;
static atomic_bool ret_stop;

static void *ret_poster(void *arg)
{
	(void)arg;
	while (!atomic_load(&ret_stop)) {
		unsigned long e0 = atomic_load(&ret_ended), b0 = atomic_load(&ret_begun);
		bool r;

		ck_assert_int_eq(coop_context_post(ctx, cb_count, NULL), 0);
		r = readable(ret_fd, 0);
		/* e0 == b0: no round under way when b0 was read; and none
		 * begun until after the look. */
		if (e0 == b0 && atomic_load(&ret_begun) == b0) {
			atomic_fetch_add(&ret_checked, 1);
			if (!r)
				atomic_fetch_add(&ret_missed, 1);
		}
	}
	return NULL;
}

START_TEST(test_emb5_readable_on_return)
{
	int64_t until = coop_deadline_in(test_slow_run() ? 300 * COOP_MSEC : 200 * COOP_MSEC);
	unsigned long checked, missed;
	pthread_t th[3];
	int i;

	ret_fd = coop_context_fd(ctx);
	ck_assert_int_ge(ret_fd, 0);
	atomic_store(&ret_begun, 0);
	atomic_store(&ret_ended, 0);
	atomic_store(&ret_checked, 0);
	atomic_store(&ret_missed, 0);
	atomic_store(&ret_stop, false);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, ret_poster, NULL), 0);
	while (coop_now() < until) {
		(void)readable(ret_fd, 1);
		atomic_fetch_add(&ret_begun, 1);
		ck_assert_int_eq(coop_run_once(ctx, 0), 0);
		atomic_fetch_add(&ret_ended, 1);
		sleep_ns(50 * COOP_USEC); /* the producers find it between rounds */
	}
	atomic_store(&ret_stop, true);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	checked = atomic_load(&ret_checked);
	missed = atomic_load(&ret_missed);
	printf("fd readable on return: %lu posts made between rounds, %lu found it not readable\n",
	       checked, missed);
	ck_assert_uint_gt(checked, 0);
	ck_assert_uint_eq(missed, 0);
	ck_assert_int_eq(coop_run_once(ctx, 0), 0); /* the last posts */
}
END_TEST

/* ------------------------------------------------------------ T-EMB-7 -- */

static struct coop_context *other;
static int busy_rc[6];

static void *t_busy(void *arg)
{
	(void)arg;
	busy_rc[0] = coop_run_once(ctx, 0);
	busy_rc[1] = coop_run_once(ctx, COOP_FOREVER);
	busy_rc[2] = coop_run_once(other, 0);
	busy_rc[3] = coop_run(other);
	busy_rc[4] = coop_run(ctx);
	return NULL;
}

static void cb_busy(void *arg)
{
	(void)arg;
	busy_rc[5] = coop_run_once(ctx, 0);
}

START_TEST(test_emb7_busy)
{
	int i, round;

	ck_assert_int_eq(coop_context_create(&other, NULL), 0);
	test_spawn_detached(other, "o", t_return, NULL);
	/* Under both drivers of the calling task's context. */
	for (round = 0; round < 2; round++) {
		for (i = 0; i < 6; i++)
			busy_rc[i] = 1;
		test_spawn_detached(ctx, "busy", t_busy, NULL);
		ck_assert_int_eq(coop_context_post(ctx, cb_busy, NULL), 0);
		if (round == 0)
			ck_assert_int_eq(coop_run_once(ctx, 0), 0);
		else
			ck_assert_int_eq(coop_run(ctx), 0);
		for (i = 0; i < 6; i++)
			ck_assert_msg(busy_rc[i] == -EBUSY, "call %d: %d, not -EBUSY", i, busy_rc[i]);
	}
	/* Nothing was run in the other context. */
	ck_assert_int_eq(coop_run_once(other, 0), 0);
	coop_context_destroy(other);
}
END_TEST

/* ------------------------------------------------------------ T-EMB-8 -- */

static int yields_left[5];

static void *t_yield_n(void *arg)
{
	int i = (int)(intptr_t)arg;

	while (yields_left[i]-- > 0)
		coop_yield();
	return NULL;
}

static void *t_block_chan(void *arg)
{
	int v;

	return (void *)(intptr_t)coop_chan_recv(arg, &v, COOP_FOREVER);
}

START_TEST(test_emb8_count)
{
	struct coop_task *done, *blocked;
	struct coop_chan *ch;
	void *res;
	int i, v = 7;

	ck_assert_int_eq(coop_chan_create(ctx, &ch, sizeof(int), 0), 0);
	for (i = 0; i < 5; i++) {
		yields_left[i] = i;
		test_spawn_detached(ctx, "y", t_yield_n, (void *)(intptr_t)i);
	}
	/* An ended task not yet joined no longer counts; a blocked one does. */
	done = test_spawn_named(ctx, "done", t_return, NULL);
	blocked = test_spawn_named(ctx, "blocked", t_block_chan, ch);
	ck_assert_int_eq(coop_run_once(ctx, 0), 5); /* y0 and done ended */
	for (i = 3; i >= 0; i--)
		ck_assert_int_eq(coop_run_once(ctx, 0), i + 1);
	ck_assert_int_eq(coop_run_once(ctx, 0), 1);
	ck_assert_int_eq(coop_run_once(ctx, COOP_FOREVER), -EDEADLK);
	ck_assert_int_eq(coop_chan_send(ch, &v, 0), 0);
	ck_assert_int_eq(coop_run_once(ctx, COOP_FOREVER), 0);
	ck_assert_int_eq(coop_run_once(ctx, 0), 0);
	ck_assert_int_eq(coop_join(done, NULL), 0);
	ck_assert_int_eq(coop_join(blocked, &res), 0);
	ck_assert_ptr_eq(res, NULL);
	ck_assert_int_eq(coop_chan_destroy(ch), 0);
}
END_TEST

/* Each runnable task runs exactly once per round. */
#define MANY 50
static int many_runs[MANY];
static int many_turns;

static void *t_count_turns(void *arg)
{
	int i = (int)(intptr_t)arg, k;

	for (k = 0; k < many_turns; k++) {
		many_runs[i]++;
		coop_yield();
	}
	return NULL;
}

START_TEST(test_emb8_one_turn)
{
	int i, r;

	many_turns = 20;
	for (i = 0; i < MANY; i++)
		test_spawn_detached(ctx, "m", t_count_turns, (void *)(intptr_t)i);
	for (r = 1; r <= many_turns; r++) {
		ck_assert_int_eq(coop_run_once(ctx, 0), MANY);
		for (i = 0; i < MANY; i++)
			ck_assert_msg(many_runs[i] == r, "round %d: task %d ran %d times", r, i,
			              many_runs[i]);
	}
	ck_assert_int_eq(coop_run_once(ctx, 0), 0);
}
END_TEST

/* Round 1 runs A, B, C (runnable when it starts); A spawns D, B releases
 * the semaphore E waits on: they run in round 2, in the order they became
 * runnable, among A, B and C, which yielded: D A E B C. */
static char order[64];
static size_t order_len;
static struct coop_sem *fifo_sem;

static void logc(char c)
{
	ck_assert_uint_lt(order_len, sizeof(order) - 1);
	order[order_len++] = c;
	order[order_len] = '\0';
}

static void *t_fifo(void *arg)
{
	char name = (char)(intptr_t)arg;
	int k;

	if (name == 'E')
		ck_assert_int_eq(coop_sem_acquire(fifo_sem, far()), 0);
	for (k = 0; k < 2; k++) {
		logc(name);
		if (k == 0 && name == 'A')
			test_spawn_detached(ctx, "D", t_fifo, (void *)(intptr_t)'D');
		if (k == 0 && name == 'B')
			ck_assert_int_eq(coop_sem_release(fifo_sem), 0);
		coop_yield();
	}
	return NULL;
}

START_TEST(test_emb8_fifo)
{
	ck_assert_int_eq(coop_sem_create(ctx, &fifo_sem, 0), 0);
	test_spawn_detached(ctx, "E", t_fifo, (void *)(intptr_t)'E');
	ck_assert_int_eq(coop_run_once(ctx, 0), 1); /* E waits */
	order_len = 0;
	order[0] = '\0';
	test_spawn_detached(ctx, "A", t_fifo, (void *)(intptr_t)'A');
	test_spawn_detached(ctx, "B", t_fifo, (void *)(intptr_t)'B');
	test_spawn_detached(ctx, "C", t_fifo, (void *)(intptr_t)'C');
	ck_assert_int_eq(coop_run_once(ctx, 0), 5);
	ck_assert_str_eq(order, "ABC");
	order_len = 0;
	ck_assert_int_eq(coop_run_once(ctx, 0), 5);
	ck_assert_str_eq(order, "DAEBC");
	while (coop_run_once(ctx, 0) > 0)
		;
	ck_assert_int_eq(coop_sem_destroy(fifo_sem), 0);
}
END_TEST

/* ------------------------------------------------------------- A7.7 -- */

/*
 * One case per host call: a task is blocked (its round over), the fd is
 * not readable; the host makes the call between rounds; the fd is
 * readable before anything else runs; the next round runs the task.
 */
static struct coop_chan *a_chan;
static struct coop_sem *a_sem;
static struct coop_mutex *a_mutex;
static struct coop_cond *a_cond;
static struct coop_group *a_group;
static struct coop_notify *a_notify;
static int a_pipe[2];
static int a_rc;
static int a_ran;

static void *t_a_recv(void *arg)
{
	int v = 0;

	(void)arg;
	a_rc = coop_chan_recv(a_chan, &v, far());
	if (a_rc == 0)
		a_rc = v;
	return NULL;
}

static void *t_a_send(void *arg)
{
	int v = 42;

	(void)arg;
	a_rc = coop_chan_send(a_chan, &v, far());
	return NULL;
}

static void *t_a_sem(void *arg)
{
	(void)arg;
	a_rc = coop_sem_acquire(a_sem, far());
	return NULL;
}

static void *t_a_cond(void *arg)
{
	(void)arg;
	ck_assert_int_eq(coop_mutex_lock(a_mutex, far()), 0);
	a_rc = coop_cond_wait(a_cond, a_mutex, far());
	ck_assert_int_eq(coop_mutex_unlock(a_mutex), 0);
	return NULL;
}

static void *t_a_sleep(void *arg)
{
	(void)arg;
	a_rc = coop_sleep_until(far());
	return NULL;
}

static void *t_a_notify(void *arg)
{
	uint64_t n = 0;

	(void)arg;
	a_rc = coop_notify_wait(a_notify, &n, far());
	if (a_rc == 0)
		a_rc = (int)n;
	return NULL;
}

static void *t_a_fd(void *arg)
{
	(void)arg;
	a_rc = coop_fd_wait(a_pipe[0], COOP_FD_READ, far());
	return NULL;
}

static void *t_a_mark(void *arg)
{
	(void)arg;
	a_ran = 1;
	return NULL;
}

static void cb_a_mark(void *arg)
{
	(void)arg;
	a_ran = 1;
}

static int bystander_rc;

enum {
	A_SPAWN,
	A_CANCEL,
	A_SEND,
	A_RECV,
	A_SELECT,
	A_CLOSE,
	A_SEM,
	A_COND_SIGNAL,
	A_COND_BROADCAST,
	A_GROUP_CANCEL,
	A_NOTIFY,
	A_POST,
	A_CASES
};

START_TEST(test_a77_host_calls)
{
	struct coop_task_opts to = {.size = sizeof(to), .name = "w"};
	struct coop_task *t = NULL;
	int fd, v = 42, want;

	ck_assert_int_eq(coop_chan_create(ctx, &a_chan, sizeof(int), 0), 0);
	ck_assert_int_eq(coop_sem_create(ctx, &a_sem, 0), 0);
	ck_assert_int_eq(coop_mutex_create(ctx, &a_mutex), 0);
	ck_assert_int_eq(coop_cond_create(ctx, &a_cond), 0);
	ck_assert_int_eq(coop_group_create(ctx, &a_group), 0);
	ck_assert_int_eq(coop_notify_create(ctx, &a_notify), 0);
	fd = coop_context_fd(ctx);
	a_rc = 1;
	a_ran = 0;
	/* The blocked task, when there is one; and a far sleeper beside it,
	 * so that the context is never empty (nothing to do but wait). */
	test_spawn_detached(ctx, "bystander", t_sleep_far, &bystander_rc);
	switch (_i) {
	case A_SPAWN:
	case A_POST:
		break;
	case A_CANCEL:
		ck_assert_int_eq(coop_spawn(ctx, &t, t_a_sleep, NULL, &to), 0);
		break;
	case A_SEND:
	case A_SELECT:
	case A_CLOSE:
		ck_assert_int_eq(coop_spawn(ctx, &t, t_a_recv, NULL, &to), 0);
		break;
	case A_RECV:
		ck_assert_int_eq(coop_spawn(ctx, &t, t_a_send, NULL, &to), 0);
		break;
	case A_SEM:
		ck_assert_int_eq(coop_spawn(ctx, &t, t_a_sem, NULL, &to), 0);
		break;
	case A_COND_SIGNAL:
	case A_COND_BROADCAST:
		ck_assert_int_eq(coop_spawn(ctx, &t, t_a_cond, NULL, &to), 0);
		break;
	case A_GROUP_CANCEL:
		to.group = a_group;
		ck_assert_int_eq(coop_spawn(ctx, &t, t_a_sleep, NULL, &to), 0);
		break;
	case A_NOTIFY:
		ck_assert_int_eq(coop_spawn(ctx, &t, t_a_notify, NULL, &to), 0);
		break;
	}
	ck_assert_int_eq(coop_run_once(ctx, 0), t ? 2 : 1);
	ck_assert_int_eq(a_rc, 1); /* blocked */
	ck_assert_msg(!readable(fd, 0), "case %d: readable while every task waits", _i);

	switch (_i) {
	case A_SPAWN:
		test_spawn_detached(ctx, "new", t_a_mark, NULL);
		break;
	case A_CANCEL:
		ck_assert_int_eq(coop_cancel(t), 0);
		break;
	case A_SEND:
		ck_assert_int_eq(coop_chan_send(a_chan, &v, 0), 0);
		break;
	case A_RECV:
		v = 0;
		ck_assert_int_eq(coop_chan_recv(a_chan, &v, 0), 0);
		ck_assert_int_eq(v, 42);
		break;
	case A_SELECT: {
		struct coop_chan_op op = {.size = sizeof(op), .chan = a_chan, .elem = &v,
		                          .op = COOP_CHAN_SEND};

		ck_assert_int_eq(coop_chan_select(&op, 1, 0), 0);
		break;
	}
	case A_CLOSE:
		ck_assert_int_eq(coop_chan_close(a_chan), 0);
		break;
	case A_SEM:
		ck_assert_int_eq(coop_sem_release(a_sem), 0);
		break;
	case A_COND_SIGNAL:
		ck_assert_int_eq(coop_cond_signal(a_cond), 0);
		break;
	case A_COND_BROADCAST:
		ck_assert_int_eq(coop_cond_broadcast(a_cond), 0);
		break;
	case A_GROUP_CANCEL:
		ck_assert_int_eq(coop_group_cancel(a_group), 0);
		break;
	case A_NOTIFY:
		ck_assert_int_eq(coop_notify_send(a_notify), 0);
		break;
	case A_POST:
		ck_assert_int_eq(coop_context_post(ctx, cb_a_mark, NULL), 0);
		break;
	}
	ck_assert_msg(readable(fd, 0), "case %d: the host's call made a task runnable, "
	              "the fd is not readable", _i);
	ck_assert_int_eq(coop_run_once(ctx, 0), 1); /* the bystander is left */
	switch (_i) {
	case A_SPAWN:
	case A_POST:
		ck_assert_int_eq(a_ran, 1);
		break;
	default:
		want = _i == A_CANCEL || _i == A_GROUP_CANCEL ? -ECANCELED
		     : _i == A_SEND || _i == A_SELECT          ? 42
		     : _i == A_CLOSE                           ? -EPIPE
		     : _i == A_NOTIFY                          ? 1
		                                               : 0;
		ck_assert_int_eq(a_rc, want);
		ck_assert_int_eq(coop_join(t, NULL), 0);
	}
	ck_assert_msg(!readable(fd, 0), "case %d: readable after the round, nothing to do", _i);
	ck_assert_int_eq(coop_notify_destroy(a_notify), 0);
	ck_assert_int_eq(coop_group_destroy(a_group), 0);
	ck_assert_int_eq(coop_cond_destroy(a_cond), 0);
	ck_assert_int_eq(coop_mutex_destroy(a_mutex), 0);
	ck_assert_int_eq(coop_sem_destroy(a_sem), 0);
	ck_assert_int_eq(coop_chan_destroy(a_chan), 0);
}
END_TEST

/* A posted callback (on the host's thread, inside a round) that closes an
 * fd a task waits on: the task runs in that round. */
static void cb_a_fd_close(void *arg)
{
	(void)arg;
	ck_assert_int_eq(coop_fd_forget(a_pipe[0]), 0);
}

START_TEST(test_a77_fd_forget)
{
	int fd;

	make_pipe(a_pipe);
	a_rc = 1;
	fd = coop_context_fd(ctx);
	test_spawn_detached(ctx, "w", t_a_fd, NULL);
	ck_assert_int_eq(coop_run_once(ctx, 0), 1);
	ck_assert(!readable(fd, 0));
	/* Between rounds there is no running context to name the fd's. */
	ck_assert_int_eq(coop_fd_forget(a_pipe[0]), -EPERM);
	ck_assert_int_eq(coop_context_post(ctx, cb_a_fd_close, NULL), 0);
	ck_assert(readable(fd, 0));
	ck_assert_int_eq(coop_run_once(ctx, 0), 0);
	ck_assert_int_eq(a_rc, -EBADF);
	ck_assert(!readable(fd, 0));
	close(a_pipe[0]);
	close(a_pipe[1]);
}
END_TEST

/* A task of another context, run by coop_run on this thread, spawns
 * into the embedded one: its fd is readable before coop_spawn returns. */
static int other_fd, other_readable[2];

static void *t_spawn_other(void *arg)
{
	(void)arg;
	other_readable[0] = readable(other_fd, 0);
	test_spawn_detached(other, "from-a", t_a_mark, NULL);
	other_readable[1] = readable(other_fd, 0);
	return NULL;
}

START_TEST(test_a77_other_context)
{
	ck_assert_int_eq(coop_context_create(&other, NULL), 0);
	other_fd = coop_context_fd(other);
	a_ran = 0;
	test_spawn_detached(ctx, "spawner", t_spawn_other, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(other_readable[0], 0);
	ck_assert_int_eq(other_readable[1], 1);
	ck_assert(readable(other_fd, 0));
	ck_assert_int_eq(a_ran, 0);
	ck_assert_int_eq(coop_run_once(other, 0), 0);
	ck_assert_int_eq(a_ran, 1);
	ck_assert(!readable(other_fd, 0));
	coop_context_destroy(other);
}
END_TEST

/* Tasks before the fd exists: readable as soon as it does. */
START_TEST(test_a77_before_first_round)
{
	int fd;

	test_spawn_detached(ctx, "t", t_return, NULL);
	fd = coop_context_fd(ctx);
	ck_assert(readable(fd, 0));
	ck_assert_int_eq(coop_run_once(ctx, 0), 0);
	ck_assert(!readable(fd, 0));
	/* The fd first, then a task. */
	test_spawn_detached(ctx, "t", t_return, NULL);
	ck_assert(readable(fd, 0));
	ck_assert_int_eq(coop_run_once(ctx, 0), 0);
	ck_assert(!readable(fd, 0));
}
END_TEST

/* Rounds driven without the fd, then coop_context_fd: what is runnable
 * (a yielder) or pending (a post) shows at once; a sleeper's deadline
 * arms the timer. */
START_TEST(test_a77_fd_after_rounds)
{
	int fd;
	int64_t at;

	atomic_store(&stop_yielding, false);
	test_spawn_detached(ctx, "yielder", t_yield_forever, NULL);
	ck_assert_int_eq(coop_run_once(ctx, 0), 1);
	ck_assert_int_eq(coop_run_once(ctx, 0), 1);
	fd = coop_context_fd(ctx);
	ck_assert(readable(fd, 0));
	atomic_store(&stop_yielding, true);
	ck_assert_int_eq(coop_run_once(ctx, 0), 0);
	ck_assert(!readable(fd, 0));
	coop_context_destroy(ctx);

	/* A post queued before the fd exists. */
	test_context_create(&ctx);
	a_ran = 0;
	ck_assert_int_eq(coop_context_post(ctx, cb_a_mark, NULL), 0);
	fd = coop_context_fd(ctx);
	ck_assert(readable(fd, 0));
	ck_assert_int_eq(coop_run_once(ctx, 0), 0);
	ck_assert_int_eq(a_ran, 1);
	ck_assert(!readable(fd, 0));
	coop_context_destroy(ctx);

	/* A sleeper blocked before the fd exists. */
	test_context_create(&ctx);
	sleep_rounds = 1;
	sleep_woke = -1;
	test_spawn_detached(ctx, "sleeper", t_sleep_rounds, NULL);
	ck_assert_int_eq(coop_run_once(ctx, 0), 1);
	fd = coop_context_fd(ctx);
	at = wait_readable(fd);
	ck_assert_int_ge(at, sleep_deadline);
	ck_assert_int_eq(coop_run_once(ctx, 0), 0);
	ck_assert_int_ge(sleep_woke, sleep_deadline);
}
END_TEST

/* ------------------------------------------------ coop_run_once(ctx, d) -- */

START_TEST(test_deadline_waits)
{
	int rc1 = 1, rc2 = 1, i;
	int64_t d, back;

	test_spawn_detached(ctx, "s1", t_sleep_far, &rc1);
	test_spawn_detached(ctx, "s2", t_sleep_far, &rc2);
	if (_i)
		ck_assert_int_ge(coop_context_fd(ctx), 0);
	ck_assert_int_eq(coop_run_once(ctx, 0), 2);
	for (i = 0; i < 3; i++) {
		d = coop_deadline_in(30 * COOP_MSEC + 777);
		ck_assert_int_eq(coop_run_once(ctx, d), 2);
		back = coop_now();
		ck_assert_msg(back >= d, "returned %" PRId64 " ns before its deadline", d - back);
	}
	/* A deadline that has passed never waits. */
	ck_assert_int_eq(coop_run_once(ctx, 1), 2);
	ck_assert_int_eq(coop_run_once(ctx, coop_now()), 2);
	ck_assert_int_eq(rc1, 1);
	ck_assert_int_eq(rc2, 1);
}
END_TEST

/* Something that happens before d ends the wait: a post from a thread,
 * a sleeper's deadline; and COOP_FOREVER waits for a notifier's sender. */
START_TEST(test_deadline_events)
{
	struct later l = {.what = LATER_POST, .ctx = ctx, .cb = cb_count, .delay = 5 * COOP_MSEC};
	struct coop_notify *n;
	int64_t d;

	if (_i)
		ck_assert_int_ge(coop_context_fd(ctx), 0);
	ck_assert_int_eq(coop_notify_create(ctx, &n), 0);
	emb5_notify = n;
	emb5_waits = 1;
	test_spawn_detached(ctx, "waiter", t_notify_wait, NULL);
	ck_assert_int_eq(coop_run_once(ctx, 0), 1);
	atomic_store(&cb_runs, 0);
	later_start(&l);
	d = far();
	ck_assert_int_eq(coop_run_once(ctx, d), 1);
	ck_assert_int_eq(atomic_load(&cb_runs), 1);
	ck_assert(coop_now() < d);
	later_join(&l);

	/* Nothing wakes -EDEADLK: a notifier waiter keeps it waiting. */
	l = (struct later){.what = LATER_NOTIFY, .notify = n, .delay = 20 * COOP_MSEC};
	later_start(&l);
	ck_assert_int_eq(coop_run_once(ctx, COOP_FOREVER), 0);
	later_join(&l);
	ck_assert_int_eq(coop_notify_destroy(n), 0);

	/* A sleeper: COOP_FOREVER returns after its round. */
	sleep_rounds = 1;
	sleep_woke = -1;
	test_spawn_detached(ctx, "sleeper", t_sleep_rounds, NULL);
	ck_assert_int_eq(coop_run_once(ctx, 0), 1);
	ck_assert_int_eq(coop_run_once(ctx, COOP_FOREVER), 0);
	ck_assert_int_ge(sleep_woke, sleep_deadline);
}
END_TEST

static struct coop_chan *dl_chan;

START_TEST(test_deadlock)
{
	struct coop_task *t;
	void *res;
	int fd = -1, v = 5;

	ck_assert_int_eq(coop_chan_create(ctx, &dl_chan, sizeof(int), 0), 0);
	if (_i)
		fd = coop_context_fd(ctx);
	t = test_spawn_named(ctx, "r", t_block_chan, dl_chan);
	ck_assert_int_eq(coop_run_once(ctx, COOP_FOREVER), 1); /* it blocks */
	TEST_KEEPS_ERRNO(coop_run_once(ctx, COOP_FOREVER), -EDEADLK);
	TEST_KEEPS_ERRNO(coop_run_once(ctx, COOP_FOREVER), -EDEADLK);
	/* Finite deadlines are not deadlocks: the host may still act. */
	ck_assert_int_eq(coop_run_once(ctx, 0), 1);
	ck_assert_int_eq(coop_run_once(ctx, coop_deadline_in(COOP_MSEC)), 1);
	if (fd >= 0)
		ck_assert(!readable(fd, 0));
	ck_assert_int_eq(coop_chan_send(dl_chan, &v, 0), 0);
	if (fd >= 0)
		ck_assert(readable(fd, 0));
	ck_assert_int_eq(coop_run_once(ctx, COOP_FOREVER), 0);
	ck_assert_int_eq(coop_join(t, &res), 0);
	ck_assert_ptr_eq(res, NULL);
	ck_assert_int_eq(coop_chan_destroy(dl_chan), 0);
}
END_TEST

/* ------------------------------------------------------ mixing drivers -- */

static struct coop_chan *mix_chan;
static int mix_pipe[2];
static long mix_pongs;

static void *t_ping(void *arg)
{
	int i, v;

	(void)arg;
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(coop_chan_send(mix_chan, &i, far()), 0);
		ck_assert_int_eq(coop_chan_recv(mix_chan, &v, far()), 0);
		ck_assert_int_eq(v, -i);
	}
	return (void *)(intptr_t)100;
}

static void *t_pong(void *arg)
{
	int i, v;

	(void)arg;
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(coop_chan_recv(mix_chan, &v, far()), 0);
		v = -v;
		ck_assert_int_eq(coop_chan_send(mix_chan, &v, far()), 0);
		mix_pongs++;
	}
	return NULL;
}

static void *t_mix_sleep(void *arg)
{
	int i;

	for (i = 0; i < 3; i++)
		ck_assert_int_eq(coop_sleep_until(coop_deadline_in(50 * COOP_MSEC)), 0);
	return arg;
}

static void *t_mix_yield(void *arg)
{
	int i;

	for (i = 0; i < 50; i++)
		coop_yield();
	return arg;
}

static void *t_mix_pipe(void *arg)
{
	char c;

	ck_assert_uint_eq((unsigned)coop_fd_wait(mix_pipe[0], COOP_FD_READ, far()), COOP_FD_READ);
	ck_assert_int_eq(read(mix_pipe[0], &c, 1), 1);
	return arg;
}

START_TEST(test_mixed_drivers)
{
	struct coop_task *t[7];
	struct later w;
	void *res;
	int fd, i;

	make_pipe(mix_pipe);
	ck_assert_int_eq(coop_chan_create(ctx, &mix_chan, sizeof(int), 0), 0);
	mix_pongs = 0;
	t[0] = test_spawn_named(ctx, "ping", t_ping, NULL);
	t[1] = test_spawn_named(ctx, "pong", t_pong, NULL);
	t[2] = test_spawn_named(ctx, "sleep1", t_mix_sleep, (void *)(intptr_t)2);
	t[3] = test_spawn_named(ctx, "sleep2", t_mix_sleep, (void *)(intptr_t)3);
	t[4] = test_spawn_named(ctx, "yield1", t_mix_yield, (void *)(intptr_t)4);
	t[5] = test_spawn_named(ctx, "yield2", t_mix_yield, (void *)(intptr_t)5);
	t[6] = test_spawn_named(ctx, "pipe", t_mix_pipe, (void *)(intptr_t)6);
	fd = coop_context_fd(ctx);
	for (i = 0; i < 5; i++) {
		int rc;

		ck_assert(readable(fd, 0));
		rc = coop_run_once(ctx, 0);
		ck_assert(rc > 0 && rc <= 7);
	}
	ck_assert_int_lt(mix_pongs, 100);
	w = (struct later){.what = LATER_WRITE, .fd = mix_pipe[1], .delay = 10 * COOP_MSEC};
	later_start(&w);
	ck_assert_int_eq(coop_run(ctx), 0);
	later_join(&w);
	ck_assert_int_eq(mix_pongs, 100);
	ck_assert_int_eq(coop_join(t[0], &res), 0);
	ck_assert_ptr_eq(res, (void *)(intptr_t)100);
	ck_assert_int_eq(coop_join(t[1], NULL), 0);
	for (i = 2; i < 7; i++) {
		ck_assert_int_eq(coop_join(t[i], &res), 0);
		ck_assert_ptr_eq(res, (void *)(intptr_t)i);
	}
	/* The invariant after coop_run: nothing to do, not readable;
	 * a thread's post, or a spawn, makes it readable. */
	ck_assert(!readable(fd, 0));
	atomic_store(&cb_runs, 0);
	w = (struct later){.what = LATER_POST, .ctx = ctx, .cb = cb_count, .delay = COOP_MSEC};
	later_start(&w);
	wait_readable(fd);
	later_join(&w);
	ck_assert_int_eq(coop_run_once(ctx, 0), 0);
	ck_assert_int_eq(atomic_load(&cb_runs), 1);
	ck_assert(!readable(fd, 0));
	test_spawn_detached(ctx, "late", t_mix_yield, NULL);
	ck_assert(readable(fd, 0));
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert(!readable(fd, 0));

	/* coop_run ending in -EDEADLK, then the host wakes the task. */
	t[0] = test_spawn_named(ctx, "r", t_block_chan, mix_chan);
	ck_assert_int_eq(coop_run_once(ctx, 0), 1);
	ck_assert_int_eq(coop_run(ctx), -EDEADLK);
	ck_assert(!readable(fd, 0));
	i = 9;
	ck_assert_int_eq(coop_chan_send(mix_chan, &i, 0), 0);
	ck_assert(readable(fd, 0));
	ck_assert_int_eq(coop_run_once(ctx, 0), 0);
	ck_assert_int_eq(coop_join(t[0], &res), 0);
	ck_assert(!readable(fd, 0));
	ck_assert_int_eq(coop_chan_destroy(mix_chan), 0);
	close(mix_pipe[0]);
	close(mix_pipe[1]);
}
END_TEST

/* ------------------------------------------------------------ T-EMB-1 -- */

/*
 * The invariant, checked after each of many random steps.  A step: the
 * host maybe acts (spawns, cancels, writes or drains the pipe, sends or
 * receives on a channel, releases a semaphore, sends a notifier, posts,
 * hands the helper thread a ticket), looks at the fd (poll, mostly without
 * waiting), then runs coop_run_once(ctx, 0), which must return the number
 * of tasks not ended.  Every task run (one that switched: a call that
 * completes at once is part of the run before it) and every callback is
 * counted by what made it runnable, and the fd must have said so:
 *
 * - SYNC: something done on this thread before the look (a host call, or
 *   a task's or a callback's in an earlier round: a spawn, a yield, a
 *   send, a notifier send, a post, a release): the fd was readable.
 * - TIMER: a deadline d.  If d had passed by the look (less a margin for
 *   the kernel's timer), the fd was readable; a deadline that passes
 *   between the look and the round is no fault of the fd.
 * - ASYNC: a helper thread's post or notifier send, a pool thread's
 *   offload completion: the fd was readable, unless the action began
 *   after the look.
 *
 * Other threads' actions under way at the look (counted as they begin and
 * end) may hold the wake-up of everything queued meanwhile: one producer
 * takes the sleeper and writes the eventfd a moment later (remote.h).  The
 * host then waits for the helper's action to end and looks again; for an
 * offload job whose completion is not delivered yet, the fd must turn
 * readable (a lost wake-up otherwise).
 *
 * And an idle round (nothing counted) that found the fd readable is not
 * followed by another, unless the host or another thread acted between:
 * a stale event (a waiter that left, a wake-up whose post already ran) is
 * consumed by the round that finds it, or the host busy-loops.
 */
enum { K_YIELD, K_SLEEP, K_PIPE, K_RECV, K_SEND, K_SEM, K_NTF_THREAD, K_NTF_SYNC,
       K_SEND_NTF, K_POST, K_OFFLOAD, K_KINDS };
enum { C_SYNC, C_ASYNC };

#define P_SLOTS 40

struct p_slot {
	struct coop_task *task;
	int kind;
	int cause;    /* of its first run */
	int64_t odl;  /* the deadline of its coop_offload, COOP_FOREVER: none (p_silent) */
	bool used, ended;
};

static struct {
	struct coop_context *ctx;
	struct coop_chan *chan;
	struct coop_sem *sem;
	struct coop_notify *n_thread, *n_sync;
	struct coop_pool *pool;
	int pipe[2];
	uint64_t rng;
	unsigned round;  /* rounds begun by the host */
	int64_t tp;      /* when the look before this round began */
	int64_t margin;  /* of the kernel's timers */
	bool closing;
	int live;        /* tasks spawned and not ended */
	/* Counted in the current round. */
	unsigned sync, async, timer_old, timer_new;
	struct p_slot slot[P_SLOTS];
	/* For the report. */
	unsigned long spawned, runs, callbacks, offloads, timeouts, cancels;
} P;

/* Other threads' actions, begun and over: the helper's (a post or a
 * notifier send has returned), offload jobs' (fn about to return, its
 * task back from coop_offload). */
static atomic_ulong h_started, h_finished, o_started, o_finished;
static atomic_bool p_stop;
static sem_t p_tickets;
static unsigned p_seed;

static unsigned p_rand(unsigned n)
{
	P.rng ^= P.rng << 13;
	P.rng ^= P.rng >> 7;
	P.rng ^= P.rng << 17;
	return (unsigned)((P.rng >> 11) % n);
}

/* What happened lately, for the message of a failure: the host's actions
 * and looks, each run and callback with what made it runnable. */
#define P_TRACE 48
static char p_trace[P_TRACE][64];
static unsigned long p_ntrace;

static void __attribute__((format(printf, 1, 2))) p_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p_trace[p_ntrace++ % P_TRACE], sizeof(p_trace[0]), fmt, ap);
	va_end(ap);
}

static void p_dump(void)
{
	unsigned long i = p_ntrace > P_TRACE ? p_ntrace - P_TRACE : 0;

	fprintf(stderr, "T-EMB-1: the last events (seed %u):\n", p_seed);
	for (; i < p_ntrace; i++)
		fprintf(stderr, "  %s\n", p_trace[i % P_TRACE]);
}

static const char *const p_kind_name[K_KINDS] = {
	"yield", "sleep", "pipe", "recv", "send", "sem", "ntf-thread", "ntf-sync",
	"send-ntf", "post", "offload",
};

/* A run of a task after a wait that began in round r0: counted only if
 * it switched (a call that completes at once does not, A7.4). */
static void woke_sync(struct p_slot *s, unsigned r0)
{
	if (P.round == r0)
		return;
	P.sync++, P.runs++;
	p_note("  task %d (%s): sync", (int)(s - P.slot), p_kind_name[s->kind]);
}

static void woke_async(struct p_slot *s, unsigned r0)
{
	if (P.round == r0)
		return;
	P.async++, P.runs++;
	p_note("  task %d (%s): async", (int)(s - P.slot), p_kind_name[s->kind]);
}

static void woke_timer(struct p_slot *s, unsigned r0, int64_t d)
{
	if (P.round == r0)
		return;
	P.runs++;
	P.timeouts++;
	if (d <= P.tp - P.margin)
		P.timer_old++;
	else
		P.timer_new++;
	p_note("  task %d (%s): deadline look%+" PRId64 "us", (int)(s - P.slot),
	       p_kind_name[s->kind], (d - P.tp) / COOP_USEC);
}

/* A failed wait: its deadline (-ETIMEDOUT, go on) or the host's cancel
 * (-ECANCELED: true, end the task). */
static bool woke_failed(struct p_slot *s, int rc, unsigned r0, int64_t d)
{
	if (rc == -ETIMEDOUT) {
		ck_assert_int_ne(d, COOP_FOREVER);
		woke_timer(s, r0, d);
		return false;
	}
	ck_assert_msg(rc == -ECANCELED, "a wait returned %d", rc);
	woke_sync(s, r0);
	return true;
}

static int64_t p_deadline(void)
{
	switch (p_rand(4)) {
	case 0:
		return COOP_FOREVER;
	case 1:
		return coop_deadline_in((int64_t)p_rand(3000) * COOP_USEC);
	default:
		return coop_deadline_in((int64_t)p_rand(1500) * COOP_USEC);
	}
}

static void p_cb(void *arg);

static void *p_job(void *arg)
{
	unsigned us = *(unsigned *)arg;

	if (us)
		sleep_ns((int64_t)us * COOP_USEC);
	atomic_fetch_add(&o_started, 1);
	return arg;
}

static void *p_task(void *arg)
{
	struct p_slot *s = arg;
	int n = 1 + (int)p_rand(4), i, rc;
	uint64_t count;
	unsigned r0;
	char buf[64];
	int v = 1;

	P.runs++;
	if (s->cause == C_SYNC)
		P.sync++;
	else
		P.async++;
	p_note("  task %d (%s): first run, %s", (int)(s - P.slot), p_kind_name[s->kind],
	       s->cause == C_SYNC ? "sync" : "async");
	for (i = 0; i < n; i++) {
		int64_t d = p_deadline();

		r0 = P.round;
		switch (s->kind) {
		case K_YIELD:
			coop_yield();
			woke_sync(s, r0);
			break;
		case K_SLEEP:
			if (d == COOP_FOREVER)
				d = coop_deadline_in((int64_t)p_rand(2000) * COOP_USEC);
			rc = coop_sleep_until(d);
			if (rc == 0)
				woke_timer(s, r0, d);
			else if (woke_failed(s, rc, r0, d))
				goto out;
			break;
		case K_PIPE:
			rc = coop_fd_wait(P.pipe[0], COOP_FD_READ, d);
			if (rc > 0) {
				woke_sync(s, r0);
				while (read(P.pipe[0], buf, sizeof(buf)) > 0)
					;
			} else if (woke_failed(s, rc, r0, d)) {
				goto out;
			}
			break;
		case K_RECV:
		case K_SEND:
			rc = s->kind == K_RECV ? coop_chan_recv(P.chan, &v, d)
			                       : coop_chan_send(P.chan, &v, d);
			if (rc == 0)
				woke_sync(s, r0);
			else if (woke_failed(s, rc, r0, d))
				goto out;
			break;
		case K_SEM:
			rc = coop_sem_acquire(P.sem, d);
			if (rc == 0) {
				woke_sync(s, r0);
				if (p_rand(2))
					ck_assert_int_eq(coop_sem_release(P.sem), 0);
			} else if (woke_failed(s, rc, r0, d)) {
				goto out;
			}
			break;
		case K_NTF_THREAD:
		case K_NTF_SYNC:
			rc = coop_notify_wait(s->kind == K_NTF_THREAD ? P.n_thread : P.n_sync, &count, d);
			if (rc == 0) {
				if (s->kind == K_NTF_THREAD)
					woke_async(s, r0);
				else
					woke_sync(s, r0);
			} else if (woke_failed(s, rc, r0, d)) {
				goto out;
			}
			break;
		case K_SEND_NTF:
			ck_assert_int_eq(coop_notify_send(P.n_sync), 0);
			coop_yield();
			woke_sync(s, r0);
			break;
		case K_POST:
			ck_assert_int_eq(coop_context_post(P.ctx, p_cb, (void *)(intptr_t)C_SYNC), 0);
			coop_yield();
			woke_sync(s, r0);
			break;
		case K_OFFLOAD: {
			struct coop_offload_opts o = {.size = sizeof(o), .pool = P.pool};
			unsigned us = p_rand(4) ? p_rand(300) : 0;
			void *res = NULL;

			s->odl = d;
			rc = coop_offload(p_job, &us, &res, d, &o);
			s->odl = COOP_FOREVER;
			if (rc == 0) {
				ck_assert_ptr_eq(res, &us);
				P.offloads++;
				woke_async(s, r0);
				atomic_fetch_add(&o_finished, 1);
			} else if (woke_failed(s, rc, r0, d)) {
				goto out;
			}
			break;
		}
		}
	}
out:
	s->ended = true;
	P.live--;
	return NULL;
}

static void p_spawn(int cause)
{
	struct coop_task_opts o = {.size = sizeof(o), .stack_size = 64 * 1024 + TEST_ASAN_SLACK};
	struct p_slot *s = NULL;
	int i;

	for (i = 0; i < P_SLOTS && !s; i++)
		if (!P.slot[i].used)
			s = &P.slot[i];
	if (!s)
		return;
	s->kind = (int)p_rand(K_KINDS);
	s->cause = cause;
	s->odl = COOP_FOREVER;
	s->ended = false;
	ck_assert_int_eq(coop_spawn(P.ctx, &s->task, p_task, s, &o), 0);
	s->used = true;
	P.live++;
	P.spawned++;
}

static void p_cb(void *arg)
{
	int cause = (int)(intptr_t)arg;

	ck_assert_ptr_null(coop_self());
	P.callbacks++;
	if (cause == C_SYNC)
		P.sync++;
	else
		P.async++;
	p_note("  callback, %s", cause == C_SYNC ? "sync" : "async");
	/* A task spawned here runs in this round, for the same reason. */
	if (!P.closing && p_rand(4) == 0)
		p_spawn(cause);
}

/*
 * A task the instrumentation cannot see run: coop_offload whose deadline
 * passes while fn runs resumes the task, which waits on for fn (§5.3),
 * inside the call.  That round is idle to the count, with the fd readable
 * (the timer).  True when such a deadline has passed (each one once): the
 * run was in the round just over, or comes in the next.
 */
static bool p_silent(void)
{
	int64_t now = coop_now();
	bool any = false;
	int i;

	for (i = 0; i < P_SLOTS; i++)
		if (P.slot[i].used && P.slot[i].odl != COOP_FOREVER && P.slot[i].odl <= now) {
			P.slot[i].odl = COOP_FOREVER;
			p_note("  task %d (offload): its deadline passed", i);
			any = true;
		}
	return any;
}

/* Join the tasks that ended, freeing their slots. */
static void p_reap(void)
{
	int i;

	for (i = 0; i < P_SLOTS; i++)
		if (P.slot[i].used && P.slot[i].ended) {
			ck_assert_int_eq(coop_join(P.slot[i].task, NULL), 0);
			P.slot[i].used = false;
		}
}

static void p_host_action(void)
{
	int v = 0, i, rc;
	char buf[64];

	switch (p_rand(10)) {
	case 0:
	case 1:
		p_note("host: spawn");
		p_spawn(C_SYNC);
		break;
	case 2:
		i = (int)p_rand(P_SLOTS);
		if (P.slot[i].used && !P.slot[i].ended) {
			p_note("host: cancel task %d (%s)", i, p_kind_name[P.slot[i].kind]);
			ck_assert_int_eq(coop_cancel(P.slot[i].task), 0);
			P.cancels++;
		}
		break;
	case 3:
		if (p_rand(4)) {
			p_note("host: pipe write");
			ck_assert_int_eq(write(P.pipe[1], "x", 1), 1);
		} else {
			p_note("host: pipe drain");
			while (read(P.pipe[0], buf, sizeof(buf)) > 0)
				;
		}
		break;
	case 4:
		rc = coop_chan_send(P.chan, &v, 0);
		ck_assert_msg(rc == 0 || rc == -EAGAIN, "send outside a task: %d", rc);
		p_note("host: chan send %d", rc);
		break;
	case 5:
		rc = coop_chan_recv(P.chan, &v, 0);
		ck_assert_msg(rc == 0 || rc == -EAGAIN, "recv outside a task: %d", rc);
		p_note("host: chan recv %d", rc);
		break;
	case 6:
		if (p_rand(3) == 0) {
			p_note("host: sem release");
			ck_assert_int_eq(coop_sem_release(P.sem), 0);
		}
		break;
	case 7:
		p_note("host: notify send");
		ck_assert_int_eq(coop_notify_send(P.n_sync), 0);
		break;
	case 8:
		p_note("host: post");
		ck_assert_int_eq(coop_context_post(P.ctx, p_cb, (void *)(intptr_t)C_SYNC), 0);
		break;
	default:
		break;
	}
}

/* Posts and notifier sends at random moments, each bracketed by the
 * counters that tell the host it may have happened during its step.  The
 * host hands out a ticket now and then (p_tickets): one action each, a
 * random while later, so that their number follows the steps however
 * slowly a step runs (valgrind, TSan). */
static void *p_helper(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;

	for (;;) {
		int rc;

		while (sem_wait(&p_tickets) < 0)
			if (errno != EINTR)
				abort(); /* not Check's assertions: another thread */
		if (atomic_load(&p_stop))
			break;
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		sleep_ns((int64_t)((rng >> 20) % 400) * COOP_USEC);
		atomic_fetch_add(&h_started, 1);
		if ((rng >> 40) & 1)
			rc = coop_context_post(P.ctx, p_cb, (void *)(intptr_t)C_ASYNC);
		else
			rc = coop_notify_send(P.n_thread);
		atomic_fetch_add(&h_finished, 1);
		if (rc != 0) {
			fprintf(stderr, "helper: %d\n", rc);
			abort();
		}
	}
	return NULL;
}

static unsigned long p_steps(int mode)
{
	const char *e = getenv("COOP_EMBED_STEPS");
	unsigned long n = e && *e ? strtoul(e, NULL, 0) : 100000;

	if (!(e && *e) && (test_slow_run() || TEST_TSAN))
		n = RUNNING_ON_VALGRIND ? 3000 : TEST_TSAN ? 5000 : 20000;
	/* The FD_CACHE run is the second look, shorter. */
	return mode ? n / 4 + 1 : n;
}

START_TEST(test_emb1_invariant)
{
	struct coop_context_opts co = {.size = sizeof(co)};
	struct coop_pool_opts po = {.size = sizeof(po), .max_threads = 2,
	                            .idle_timeout = 20 * COOP_MSEC};
	unsigned long steps = p_steps(_i), step, checked = 0, excused_timer = 0,
	              excused_async = 0, idle_readable = 0, progress_rounds = 0, waited = 0;
	unsigned long prev_s1 = 0;
	bool prev_idle_readable = false, prev_clean = false;
	unsigned long silent_step = ULONG_MAX - 1; /* of the last p_silent() */
	const char *e = getenv("COOP_EMBED_SEED");
	pthread_t helper;
	int fd, rc, i;

	p_seed = e && *e ? (unsigned)strtoul(e, NULL, 0) : (unsigned)coop_now() ^ (unsigned)getpid();
	printf("T-EMB-1 (%s): seed %u (COOP_EMBED_SEED=%u to repeat), %lu steps\n",
	       _i ? "FD_CACHE" : "one-shot", p_seed, p_seed, steps);
	fflush(stdout);
	memset(&P, 0, sizeof(P));
	P.rng = ((uint64_t)p_seed << 1) | 1;
	P.margin = test_slow_run() || TEST_TSAN ? 20 * COOP_MSEC : 5 * COOP_MSEC;
	co.flags = _i ? COOP_CONTEXT_FD_CACHE : 0;
	ck_assert_int_eq(coop_context_create(&P.ctx, &co), 0);
	ck_assert_int_eq(coop_chan_create(P.ctx, &P.chan, sizeof(int), 0), 0);
	ck_assert_int_eq(coop_sem_create(P.ctx, &P.sem, 0), 0);
	ck_assert_int_eq(coop_notify_create(P.ctx, &P.n_thread), 0);
	ck_assert_int_eq(coop_notify_create(P.ctx, &P.n_sync), 0);
	ck_assert_int_eq(coop_pool_create(&P.pool, &po), 0);
	make_pipe(P.pipe);
	atomic_store(&h_started, 0);
	atomic_store(&h_finished, 0);
	atomic_store(&o_started, 0);
	atomic_store(&o_finished, 0);
	atomic_store(&p_stop, false);
	ck_assert_int_eq(sem_init(&p_tickets, 0, 0), 0);

	/* Tasks before the fd: readable as soon as it exists. */
	for (i = 0; i < 8; i++)
		p_spawn(C_SYNC);
	fd = coop_context_fd(P.ctx);
	ck_assert_int_ge(fd, 0);
	ck_assert(readable(fd, 0));
	ck_assert_int_eq(pthread_create(&helper, NULL, p_helper, (void *)(uintptr_t)p_seed), 0);

	for (step = 0; step < steps; step++) {
		unsigned long hs, hf, os, of, s0, s1;
		int wait_ms;
		unsigned progress;
		bool acted = false, clean, r;

		p_reap();
		if (p_rand(2)) {
			int k = 1 + (int)p_rand(2);

			while (k-- > 0)
				p_host_action();
			acted = true;
		}
		if (P.live == 0)
			p_spawn(C_SYNC), acted = true;
		if (p_rand(6) == 0)
			ck_assert_int_eq(sem_post(&p_tickets), 0);
		/* Mostly a look; now and then the host waits a little, as
		 * an idle host loop does. */
		wait_ms = p_rand(64) == 0 ? (int)p_rand(3) : 0;
		for (;;) {
			int64_t limit;

			hs = atomic_load(&h_started);
			os = atomic_load(&o_started);
			hf = atomic_load(&h_finished);
			of = atomic_load(&o_finished);
			/* The clock before the look: it happened then or later. */
			P.tp = coop_now();
			r = readable(fd, wait_ms);
			wait_ms = 0;
			if (r || (hs == hf && os == of))
				break;
			/* Another thread's action under way: its item may be
			 * queued, its wake-up still to come.  (Every other
			 * call that returned has woken the context or found
			 * it woken: remote.h.)  The helper's: let it end (it
			 * may be done already, but for its count), then look
			 * again. */
			limit = far();
			if (hs != hf) {
				while (atomic_load(&h_finished) < hs && coop_now() < limit)
					sleep_ns(20 * COOP_USEC);
				ck_assert(coop_now() < limit);
				continue;
			}
			/* An offload job whose completion is not delivered
			 * yet: the fd must turn readable (no lost wake-up). */
			while (!(r = readable(fd, 100)) && coop_now() < limit)
				;
			if (!r)
				p_dump();
			ck_assert_msg(r, "step %lu (seed %u): lost wake-up: an offload job has "
			              "returned, the fd never turned readable", step, p_seed);
			waited++;
			break;
		}
		P.sync = P.async = P.timer_old = P.timer_new = 0;
		P.round++;
		p_note("step %lu: %s, helper %lu/%lu, offload %lu/%lu", step,
		       r ? "readable" : "not readable", hs, hf, os, of);
		rc = coop_run_once(P.ctx, 0);
		s1 = atomic_load(&h_started) + atomic_load(&o_started);
		s0 = hs + os;
		p_note("step %lu: %d left, begun %lu", step, rc, s1);
		ck_assert_msg(rc == P.live, "step %lu (seed %u): coop_run_once returned %d, %d tasks live",
		              step, p_seed, rc, P.live);
		clean = hs == hf && os == of && s1 == s0;
		if (clean)
			checked++;
		progress = P.sync + P.async + P.timer_old + P.timer_new;
		if (progress) {
			progress_rounds++;
			if (!r) {
				if (P.sync || P.timer_old || (P.async && clean))
					p_dump();
				/* Not readable: nothing was under way at the look. */
				ck_assert_msg(!P.sync && !P.timer_old && !(P.async && clean),
				              "step %lu (seed %u): the round ran %u (sync), %u (async, %s), "
				              "%u (deadlines passed before the look), but the fd was not "
				              "readable",
				              step, p_seed, P.sync, P.async,
				              clean ? "none begun since the look" : "begun since the look",
				              P.timer_old);
				if (P.async && !clean)
					excused_async++;
				else
					excused_timer++;
			}
		}
		if (p_silent())
			silent_step = step;
		if (!progress && r) {
			bool busy = prev_idle_readable && !acted && clean && prev_clean &&
			            s0 == prev_s1 && step - silent_step > 1;

			idle_readable++;
			if (busy)
				p_dump();
			ck_assert_msg(!busy, "step %lu (seed %u): a second idle round in a row found the "
			              "fd readable (the host would busy-loop)", step, p_seed);
		}
		prev_idle_readable = !progress && r;
		prev_clean = clean;
		prev_s1 = s1;
	}

	/* Wind down: no more helper, every task cancelled and ended. */
	atomic_store(&p_stop, true);
	ck_assert_int_eq(sem_post(&p_tickets), 0);
	ck_assert_int_eq(pthread_join(helper, NULL), 0);
	ck_assert_int_eq(sem_destroy(&p_tickets), 0);
	P.closing = true;
	for (;;) {
		for (i = 0; i < P_SLOTS; i++)
			if (P.slot[i].used && !P.slot[i].ended)
				ck_assert_int_eq(coop_cancel(P.slot[i].task), 0);
		rc = coop_run_once(P.ctx, far());
		ck_assert_int_ge(rc, 0);
		p_reap();
		if (rc == 0)
			break;
	}
	ck_assert_int_eq(P.live, 0);
	printf("T-EMB-1 (%s): %lu steps, %lu checked with no other thread acting, %lu rounds "
	       "ran something; %lu tasks, %lu runs, %lu callbacks, %lu offloads, %lu timeouts, "
	       "%lu cancels; %lu idle rounds found the fd readable; %lu looks waited for "
	       "another thread's wake-up; excused: %lu (a deadline passing after the look), "
	       "%lu (another thread acting)\n",
	       _i ? "FD_CACHE" : "one-shot", steps, checked, progress_rounds, P.spawned, P.runs,
	       P.callbacks, P.offloads, P.timeouts, P.cancels, idle_readable, waited,
	       excused_timer, excused_async);
	fflush(stdout);
	/* Most steps are checked in full. */
	ck_assert_uint_ge(checked, steps / 2);
	ck_assert_uint_ge(progress_rounds, steps / 10);
	/* Every coop_offload has returned: the pool can go (A7.8). */
	ck_assert_int_eq(coop_pool_destroy(P.pool), 0);
	ck_assert_int_eq(coop_notify_destroy(P.n_thread), 0);
	ck_assert_int_eq(coop_notify_destroy(P.n_sync), 0);
	ck_assert_int_eq(coop_sem_destroy(P.sem), 0);
	ck_assert_int_eq(coop_chan_destroy(P.chan), 0);
	coop_context_destroy(P.ctx);
	close(P.pipe[0]);
	close(P.pipe[1]);
}
END_TEST

static Suite *embed_suite(void)
{
	Suite *s = suite_create("embed");
	TCase *tc;

	tc = test_tcase(s, "fd");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_fd_properties);

	tc = test_tcase(s, "T-EMB-2..8");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_emb2_sleep);
	tcase_add_test(tc, test_emb2_earliest);
	tcase_add_test(tc, test_emb3_yield_forever);
	tcase_add_loop_test(tc, test_emb4_fd_registered, 0, 2);
	tcase_add_test(tc, test_emb5_posts);
	tcase_add_test(tc, test_emb5_notify);
	tcase_add_test(tc, test_emb5_offload);
	tcase_add_test(tc, test_emb5_readable_on_return);
	tcase_add_test(tc, test_emb7_busy);
	tcase_add_test(tc, test_emb8_count);
	tcase_add_test(tc, test_emb8_one_turn);
	tcase_add_test(tc, test_emb8_fifo);

	tc = test_tcase(s, "A7.7");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_a77_host_calls, 0, A_CASES);
	tcase_add_test(tc, test_a77_fd_forget);
	tcase_add_test(tc, test_a77_other_context);
	tcase_add_test(tc, test_a77_before_first_round);
	tcase_add_test(tc, test_a77_fd_after_rounds);
	tcase_add_loop_test(tc, test_deadline_waits, 0, 2);
	tcase_add_loop_test(tc, test_deadline_events, 0, 2);
	tcase_add_loop_test(tc, test_deadlock, 0, 2);
	tcase_add_test(tc, test_mixed_drivers);

	tc = test_tcase(s, "T-EMB-1");
	tcase_add_loop_test(tc, test_emb1_invariant, 0, 2);
	return s;
}

int main(void)
{
	return test_run(embed_suite());
}
