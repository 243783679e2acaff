/*
 * test-remote.c: the ways into a context from other threads and signal
 * handlers (coop 1.1, §5.1, §5.2): coop_context_post and notifiers.
 *
 * The design's acceptance tests of §5.6, one Check test each (the ID is in
 * the comment above it): T-POST-1 10^6 posts from 4 threads run exactly
 * once each, in each thread's order, while tasks keep the context busy
 * (and two threads taking turns see their posts in the order the calls
 * returned); T-POST-2 a post wakes a context blocked in the kernel, in
 * epoll (a task waits on a pipe, or sleeps after one did) and on its
 * futex (a far sleep, no fd), under coop_run and coop_run_once;
 * T-POST-3 a post to a context that is not running runs at the next
 * coop_run_once or coop_run, or at coop_context_destroy (where coop_spawn
 * says -ESHUTDOWN); T-POST-4 a callback that posts to its own context
 * runs once per round.  T-POST-5 (TSan) and T-NTF-3 are this suite built
 * with -Db_sanitize=thread: the posts and notifier tests carry plain data
 * from one thread to the other.  T-NTF-1 a SIGUSR1 handler that sends,
 * the signals coalescing; T-NTF-2 4 threads x 10^6 sends; T-NTF-3 a value
 * written before the send is read after the wait; T-NTF-4 a notifier
 * waiter keeps coop_run (and coop_run_once(FOREVER)) blocked, not
 * -EDEADLK, using little CPU; T-NTF-5 sends from a SIGALRM handler under
 * a storm of signals: no deadlock, no lost wake-up.
 *
 * Beside them: callbacks run outside any task on the context's thread and
 * may make R4's calls (a deadline-0 send, spawn, cancel, post, notify;
 * the waiting calls say -EPERM, running a context -EBUSY); memory written
 * before a post is seen by the callback; a pending post runs before
 * coop_run returns, and posts do not keep it waiting; R6's order within a
 * round (posts before notifier counts before deadlines, so a send beats a
 * deadline that passed in the same round); the notifier calls' errors in
 * A7.1's order, FIFO waiters of which the first takes the whole count, a
 * cancelled or timed-out wait that leaves the count alone and a waiter
 * cancelled after the count was handed to it that keeps it (R3), R7's
 * budget for waits that complete at once, -EBUSY from destroy, what
 * coop_context_tasks says of a waiter, no notifier wait that leaves
 * coop_run unable to say -EDEADLK, a notifier outliving its context;
 * errno kept by every call, in a signal handler too (T-X-7); and T-X-8's
 * other side: post and send from other threads (and from another
 * context's task) while the context runs never abort.
 *
 * Nothing here asserts a duration: the threads wait for each other with
 * flags (and, to make a wake-up meaningful, for the context's thread to
 * be asleep in the kernel, /proc/self/task/TID/stat), and a wake-up that
 * never comes shows as Check's timeout, or as a wait's generous deadline.
 * Big counts are the spec's natively and smaller under valgrind, ASan and
 * TSan (test_slow_run, TEST_TSAN).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <coop/coop.h>

#include "test-common.h"
#include "test-ticker.h"

static struct coop_context *ctx, *ctx2;
/* The thread the test (and so every context it runs) runs on. */
static pthread_t main_thread;
static pid_t main_tid;

static void setup(void)
{
	main_thread = pthread_self();
	main_tid = (pid_t)syscall(SYS_gettid);
	test_context_create(&ctx);
}

static void teardown(void)
{
	test_context_destroy(&ctx);
	test_context_destroy(&ctx2);
}

/* ----------------------------------------------------------- helpers -- */

/* A count the spec gives: as is natively, a hundredth under valgrind or
 * ASan, a tenth under TSan. */
static long scaled(long native)
{
	if (test_slow_run())
		return native / 100;
	if (TEST_TSAN)
		return native / 10;
	return native;
}

/* Sleep this thread (not a task) for ns, whatever signals arrive. */
static void nap(int64_t ns)
{
	int64_t until = coop_now() + ns;
	struct timespec ts = {.tv_sec = (time_t)(until / COOP_SEC),
	                      .tv_nsec = (long)(until % COOP_SEC)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static pthread_t thread_start(void *(*fn)(void *), void *arg)
{
	pthread_t th;

	ck_assert_int_eq(pthread_create(&th, NULL, fn, arg), 0);
	return th;
}

static void thread_join(pthread_t th)
{
	ck_assert_int_eq(pthread_join(th, NULL), 0);
}

/* The scheduling state letter of thread `tid` of this process ('R',
 * 'S', ...), '?' if it cannot be read. */
static char thread_state(pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	/* The name in parentheses may hold anything: the state follows the last ')'. */
	if (!(p = strrchr(buf, ')')) || p[1] != ' ')
		return '?';
	return p[2];
}

/* From another thread: wait (a few seconds at most) until thread `tid` is
 * asleep in the kernel, seen twice a millisecond apart.  Best effort: a
 * post or send that comes earlier must work all the same, and under
 * valgrind a thread also sleeps waiting for valgrind's own lock. */
static void wait_asleep(pid_t tid)
{
	int i, seen = 0;

	for (i = 0; i < 5000 && seen < 2; i++) {
		seen = thread_state(tid) == 'S' ? seen + 1 : 0;
		nap(COOP_MSEC);
	}
}

/* A callback that counts its runs and checks where it runs: outside any
 * task, on the test's thread. */
static int cb_runs, cb_in_task, cb_off_thread;

static void note_where(void)
{
	if (coop_self() != NULL)
		cb_in_task++;
	if (!pthread_equal(pthread_self(), main_thread))
		cb_off_thread++;
}

static void count_cb(void *arg)
{
	(void)arg;
	note_where();
	cb_runs++;
}

static void expect_callbacks_outside(void)
{
	ck_assert_msg(cb_in_task == 0, "%d callbacks ran inside a task", cb_in_task);
	ck_assert_msg(cb_off_thread == 0, "%d callbacks ran on another thread", cb_off_thread);
}

/* A task that yields until *(int *)arg is nonzero (a minute at most, so
 * that a lost post fails the test instead of spinning until Check's
 * timeout); counts its yields. */
static long yields;

static void *yield_until(void *arg)
{
	volatile int *stop = arg;
	int64_t give_up = coop_deadline_in(60 * COOP_SEC);

	while (!*stop && coop_now() < give_up) {
		yields++;
		if (coop_yield() != 0)
			break;
	}
	return NULL;
}

/* A task asleep with no deadline: nothing external can wake it
 * (coop_run says -EDEADLK for it); its result is the sleep's. */
static void *forever_sleeper(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)coop_sleep_until(COOP_FOREVER);
}

/* The named task of ctx is BLOCKED in a notifier wait on n with this deadline. */
static void expect_notify_waiter(const char *name, const struct coop_notify *n, int64_t deadline)
{
	struct coop_task_info in = test_info_of(ctx, name);

	ck_assert_msg(in.state == COOP_TASK_BLOCKED && in.wait == COOP_WAIT_NOTIFY &&
	                      in.wait_object == n && in.wait_fd == -1,
	              "%s: state %d, wait %d on %p, fd %d; expected BLOCKED in a notify wait on %p",
	              name, in.state, in.wait, in.wait_object, in.wait_fd, (const void *)n);
	ck_assert_int_eq(in.wait_deadline, deadline);
}

/* =========================================================== T-POST-1 == */
/*
 * Four threads post `per` callbacks each while two tasks keep the context
 * busy yielding: every callback runs once, outside any task, on the
 * context's thread, and each thread's run in the order it posted them
 * (the argument carries the thread and its sequence number: 24 bits of
 * it, fit for 32-bit targets).
 */
#define NPOSTERS 4

static long p1_per, p1_next[NPOSTERS], p1_ran, p1_bad;
static int p1_done;
static atomic_long p1_post_errors;

static void p1_cb(void *arg)
{
	uintptr_t v = (uintptr_t)arg;
	unsigned t = (unsigned)(v >> 24);
	long seq = (long)(v & 0xffffff);

	note_where();
	if (t >= NPOSTERS || seq != p1_next[t])
		p1_bad++;
	else
		p1_next[t]++;
	if (++p1_ran == NPOSTERS * p1_per)
		p1_done = 1;
}

static void *p1_poster(void *arg)
{
	uintptr_t t = (uintptr_t)arg;
	long i;

	for (i = 0; i < p1_per; i++)
		if (coop_context_post(ctx, p1_cb, (void *)((t << 24) | (uintptr_t)i)) != 0)
			atomic_fetch_add(&p1_post_errors, 1);
	return NULL;
}

START_TEST(t_post_1_exactly_once_in_order)
{
	pthread_t th[NPOSTERS];
	uintptr_t t;

	p1_per = scaled(1000000) / NPOSTERS;
	test_spawn_detached(ctx, "y1", yield_until, &p1_done);
	test_spawn_detached(ctx, "y2", yield_until, &p1_done);
	for (t = 0; t < NPOSTERS; t++)
		th[t] = thread_start(p1_poster, (void *)t);
	ck_assert_int_eq(coop_run(ctx), 0);
	for (t = 0; t < NPOSTERS; t++)
		thread_join(th[t]);
	ck_assert_int_eq(atomic_load(&p1_post_errors), 0);
	ck_assert_int_eq(p1_bad, 0);
	ck_assert_int_eq(p1_ran, NPOSTERS * p1_per);
	for (t = 0; t < NPOSTERS; t++)
		ck_assert_int_eq(p1_next[t], p1_per);
	expect_callbacks_outside();
	ck_assert_int_gt(yields, 0);
	/* Nothing left over for a later round. */
	ck_assert_int_eq(coop_run_once(ctx, COOP_NOWAIT), 0);
	ck_assert_int_eq(p1_ran, NPOSTERS * p1_per);
}
END_TEST

/*
 * T-POST-1, the total order: two threads take turns (each posts, then
 * passes the turn under a mutex), so each post returned before the next
 * began; the callbacks run in that order.
 */
static pthread_mutex_t alt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t alt_cond = PTHREAD_COND_INITIALIZER;
static long alt_turn, alt_total, alt_next, alt_bad;
static int alt_done;

static void alt_cb(void *arg)
{
	if ((long)(intptr_t)arg != alt_next)
		alt_bad++;
	if (++alt_next == alt_total)
		alt_done = 1;
}

static void *alt_poster(void *arg)
{
	long i;

	for (i = (long)(intptr_t)arg; i < alt_total; i += 2) {
		pthread_mutex_lock(&alt_lock);
		while (alt_turn != i)
			pthread_cond_wait(&alt_cond, &alt_lock);
		pthread_mutex_unlock(&alt_lock);
		if (coop_context_post(ctx, alt_cb, (void *)(intptr_t)i) != 0)
			atomic_fetch_add(&p1_post_errors, 1);
		pthread_mutex_lock(&alt_lock);
		alt_turn = i + 1;
		pthread_cond_broadcast(&alt_cond);
		pthread_mutex_unlock(&alt_lock);
	}
	return NULL;
}

START_TEST(t_post_1_total_order)
{
	pthread_t a, b;

	alt_total = test_slow_run() ? 200 : 1000;
	test_spawn_detached(ctx, "y", yield_until, &alt_done);
	a = thread_start(alt_poster, (void *)(intptr_t)0);
	b = thread_start(alt_poster, (void *)(intptr_t)1);
	ck_assert_int_eq(coop_run(ctx), 0);
	thread_join(a);
	thread_join(b);
	ck_assert_int_eq(atomic_load(&p1_post_errors), 0);
	ck_assert_int_eq(alt_next, alt_total);
	ck_assert_int_eq(alt_bad, 0);
}
END_TEST

/* =========================================================== T-POST-2 == */
/*
 * A thread posts to a context whose only task is blocked for an hour: in
 * coop_fd_wait on a pipe nobody writes (kind 0: the context sleeps in
 * epoll), in coop_sleep_until (kind 1: no fd at all, it sleeps on its
 * futex and holds no more fds than before), or in coop_sleep_until after
 * an fd wait (kind 2: in epoll, with no fd waited on);
 * run by coop_run (variants 0-2) or by coop_run_once(FOREVER) rounds
 * (3-5).  The thread waits until the context's thread is asleep in the
 * kernel; its callback cancels the task, so the run ends long before the
 * hour.
 */
static struct coop_task *p2_victim;
static atomic_int p2_blocking;
static int p2_rc = 12345, p2_cancel_rc = 12345;

static void *p2_pipe_waiter(void *arg)
{
	atomic_store(&p2_blocking, 1);
	p2_rc = coop_fd_wait(*(int *)arg, COOP_FD_READ, coop_deadline_in(3600 * COOP_SEC));
	return NULL;
}

static void *p2_sleeper(void *arg)
{
	(void)arg;
	atomic_store(&p2_blocking, 1);
	p2_rc = coop_sleep_until(coop_deadline_in(3600 * COOP_SEC));
	return NULL;
}

/* Kind 2: a real fd wait first (the writer task below ends it), so that
 * the context has its epoll fd; then the far sleep. */
static void *p2_fd_then_sleeper(void *arg)
{
	char b;

	ck_assert_int_eq(coop_fd_wait(*(int *)arg, COOP_FD_READ, COOP_FOREVER), COOP_FD_READ);
	ck_assert_int_eq(read(*(int *)arg, &b, 1), 1);
	return p2_sleeper(arg);
}

static void *p2_writer(void *arg)
{
	ck_assert_int_eq(write(*(int *)arg, "x", 1), 1);
	return NULL;
}

static void p2_cb(void *arg)
{
	(void)arg;
	note_where();
	cb_runs++;
	p2_cancel_rc = coop_cancel(p2_victim);
}

static void *p2_waker(void *arg)
{
	(void)arg;
	while (!atomic_load(&p2_blocking))
		nap(COOP_MSEC);
	wait_asleep(main_tid);
	if (coop_context_post(ctx, p2_cb, NULL) != 0)
		atomic_fetch_add(&p1_post_errors, 1);
	return NULL;
}

START_TEST(t_post_2_wakes_blocked_context)
{
	int p[2] = {-1, -1}, fds0, fds1;
	pthread_t th;
	static void *(*const kinds[3])(void *) = {p2_pipe_waiter, p2_sleeper, p2_fd_then_sleeper};
	int kind = _i % 3, rc;

	ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	fds0 = test_count_dir("/proc/self/fd");
	p2_victim = test_spawn_named(ctx, "victim", kinds[kind], &p[0]);
	if (kind == 2)
		test_spawn_detached(ctx, "writer", p2_writer, &p[1]);
	th = thread_start(p2_waker, NULL);
	if (_i >= 3) {
		/* Rounds until the post ends it (kind 2 blocks twice). */
		while ((rc = coop_run_once(ctx, COOP_FOREVER)) == 1)
			;
		ck_assert_int_eq(rc, 0);
	} else {
		ck_assert_int_eq(coop_run(ctx), 0);
	}
	thread_join(th);
	fds1 = test_count_dir("/proc/self/fd");
	ck_assert_int_eq(atomic_load(&p1_post_errors), 0);
	ck_assert_int_eq(cb_runs, 1);
	expect_callbacks_outside();
	ck_assert_int_eq(p2_cancel_rc, 0);
	ck_assert_int_eq(p2_rc, -ECANCELED);
	ck_assert_int_eq(coop_join(p2_victim, NULL), 0);
	if (kind != 1)
		ck_assert_msg(fds1 > fds0, "an fd wait made no epoll fd (%d fds, then %d)", fds0, fds1);
	else
		ck_assert_msg(fds1 == fds0, "the futex path made fds (%d fds, then %d)", fds0, fds1);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* =========================================================== T-POST-3 == */
/*
 * A context that is not running: a post (from its thread or another)
 * waits for the next coop_run_once or coop_run, which runs it first and
 * returns 0 at once with no task; with a task, the callback runs before
 * the task in that round.
 */
static int p3_seen;

static void *p3_task(void *arg)
{
	(void)arg;
	p3_seen = cb_runs;
	return NULL;
}

static void *p3_poster(void *arg)
{
	(void)arg;
	if (coop_context_post(ctx, count_cb, NULL) != 0)
		atomic_fetch_add(&p1_post_errors, 1);
	return NULL;
}

START_TEST(t_post_3_next_round)
{
	TEST_KEEPS_ERRNO(coop_context_post(ctx, count_cb, NULL), 0);
	ck_assert_int_eq(cb_runs, 0);
	TEST_KEEPS_ERRNO(coop_run_once(ctx, COOP_NOWAIT), 0);
	ck_assert_int_eq(cb_runs, 1);
	TEST_KEEPS_ERRNO(coop_run_once(ctx, COOP_NOWAIT), 0);
	ck_assert_int_eq(cb_runs, 1);

	thread_join(thread_start(p3_poster, NULL));
	ck_assert_int_eq(cb_runs, 1);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(cb_runs, 2);

	/* Even with a deadline of "forever": no task, nothing to wait for. */
	TEST_KEEPS_ERRNO(coop_context_post(ctx, count_cb, NULL), 0);
	TEST_KEEPS_ERRNO(coop_run_once(ctx, COOP_FOREVER), 0);
	ck_assert_int_eq(cb_runs, 3);

	test_spawn_detached(ctx, "t", p3_task, NULL);
	TEST_KEEPS_ERRNO(coop_context_post(ctx, count_cb, NULL), 0);
	TEST_KEEPS_ERRNO(coop_run_once(ctx, COOP_NOWAIT), 0);
	ck_assert_int_eq(cb_runs, 4);
	ck_assert_int_eq(p3_seen, 4);
	expect_callbacks_outside();
	ck_assert_int_eq(atomic_load(&p1_post_errors), 0);
}
END_TEST

/*
 * T-POST-3 at destroy: a context that is never run again runs its pending
 * posts in coop_context_destroy, in order, outside any task, including one
 * a callback posts meanwhile (until none is left, so every arg can be
 * freed by its fn); coop_spawn from them is -ESHUTDOWN.  A blocked task
 * is still there when they run, and never resumed.
 */
static int d_order[8], d_n, d_spawn_rc[8];
static struct coop_context *d_ctx;

static void *d_never(void *arg)
{
	(void)arg;
	ck_abort_msg("a task ran from coop_context_destroy");
	return NULL;
}

static void d_cb(void *arg)
{
	int id = (int)(intptr_t)arg;

	note_where();
	d_spawn_rc[d_n] = coop_spawn(d_ctx, NULL, d_never, NULL, NULL);
	d_order[d_n++] = id;
	if (id == 1)
		ck_assert_int_eq(coop_context_post(d_ctx, d_cb, (void *)(intptr_t)9), 0);
}

static void *d_blocked(void *arg)
{
	uint64_t c;

	coop_notify_wait(arg, &c, COOP_FOREVER);
	ck_abort_msg("a blocked task was resumed by coop_context_destroy");
	return NULL;
}

START_TEST(t_post_3_at_destroy)
{
	struct coop_notify *n;
	int i;

	ck_assert_int_eq(coop_context_create(&d_ctx, NULL), 0);
	ck_assert_int_eq(coop_notify_create(d_ctx, &n), 0);
	ck_assert_int_eq(coop_spawn(d_ctx, NULL, d_blocked, n, NULL), 0);
	ck_assert_int_eq(coop_run_once(d_ctx, COOP_NOWAIT), 1);
	for (i = 1; i <= 3; i++)
		ck_assert_int_eq(coop_context_post(d_ctx, d_cb, (void *)(intptr_t)i), 0);
	ck_assert_int_eq(d_n, 0);
	coop_context_destroy(d_ctx);
	ck_assert_int_eq(d_n, 4);
	ck_assert_int_eq(d_order[0], 1);
	ck_assert_int_eq(d_order[1], 2);
	ck_assert_int_eq(d_order[2], 3);
	ck_assert_int_eq(d_order[3], 9);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(d_spawn_rc[i], -ESHUTDOWN);
	expect_callbacks_outside();
	/* The waiter went with its context: the notifier is an orphan now. */
	ck_assert_int_eq(coop_notify_destroy(n), 0);
}
END_TEST

/*
 * A pending post runs before coop_run returns: one the last task makes
 * as it ends, a chain of ten callbacks each posting the next (each is
 * pending when the round before it ends: coop_run drains them all), and
 * one a thread makes while the last task runs; then, with no task left
 * and nothing queued, coop_run returns at once.
 */
static int chain_left;
static atomic_int lp_posted;

static void chain_cb(void *arg)
{
	(void)arg;
	note_where();
	cb_runs++;
	if (--chain_left > 0)
		ck_assert_int_eq(coop_context_post(ctx, chain_cb, NULL), 0);
}

static void *lp_last_task(void *arg)
{
	(void)arg;
	ck_assert_int_eq(coop_context_post(ctx, count_cb, NULL), 0);
	return NULL;
}

static void *lp_thread(void *arg)
{
	(void)arg;
	if (coop_context_post(ctx, count_cb, NULL) == 0)
		atomic_store(&lp_posted, 1);
	return NULL;
}

static void *lp_waits_for_thread(void *arg)
{
	pthread_t th = thread_start(lp_thread, NULL);

	(void)arg;
	while (!atomic_load(&lp_posted))
		coop_yield();
	thread_join(th);
	return NULL;
}

START_TEST(t_post_pending_before_return)
{
	test_spawn_detached(ctx, "last", lp_last_task, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(cb_runs, 1);

	/* A chain of callbacks, each posting the next, with no task: each
	 * coop_run runs what was queued when it found no task left, and
	 * returns (posts never keep it running alone); the rest waits. */
	chain_left = 10;
	TEST_KEEPS_ERRNO(coop_context_post(ctx, chain_cb, NULL), 0);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(cb_runs, 2);
	ck_assert_int_eq(chain_left, 9);
	while (chain_left > 0)
		TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(cb_runs, 11);

	test_spawn_detached(ctx, "t", lp_waits_for_thread, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(cb_runs, 12);
	expect_callbacks_outside();
	/* No task, nothing queued: it returns at once. */
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(cb_runs, 12);
}
END_TEST

/* =========================================================== T-POST-4 == */
/*
 * A callback that posts to its own context runs in the next round, never
 * in the same one.  coop_run_once makes one round a call: with no task,
 * then with a task that is always runnable, the callback runs once per
 * call; and under coop_run the busy task runs between any two of its runs
 * (R7's event check, not a loop over the queue).
 */
static int self_runs, self_limit, self_stop;
static long self_yields_at[64];

static void self_cb(void *arg)
{
	(void)arg;
	note_where();
	if (self_runs < 64)
		self_yields_at[self_runs] = yields;
	if (++self_runs < self_limit)
		ck_assert_int_eq(coop_context_post(ctx, self_cb, NULL), 0);
}

START_TEST(t_post_4_once_per_round)
{
	int i;

	self_limit = 10;
	TEST_KEEPS_ERRNO(coop_context_post(ctx, self_cb, NULL), 0);
	for (i = 1; i <= 5; i++) {
		TEST_KEEPS_ERRNO(coop_run_once(ctx, COOP_NOWAIT), 0);
		ck_assert_int_eq(self_runs, i);
	}
	test_spawn_detached(ctx, "busy", yield_until, &self_stop);
	for (i = 6; i <= 10; i++) {
		TEST_KEEPS_ERRNO(coop_run_once(ctx, COOP_NOWAIT), 1);
		ck_assert_int_eq(self_runs, i);
	}
	TEST_KEEPS_ERRNO(coop_run_once(ctx, COOP_NOWAIT), 1);
	ck_assert_int_eq(self_runs, 10);
	self_stop = 1;
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(self_runs, 10);
	expect_callbacks_outside();
}
END_TEST

static void *self_busy(void *arg)
{
	(void)arg;
	while (self_runs < self_limit) {
		yields++;
		ck_assert_int_eq(coop_yield(), 0);
	}
	return NULL;
}

START_TEST(t_post_4_run_interleaves)
{
	int i;

	self_limit = 50;
	test_spawn_detached(ctx, "busy", self_busy, NULL);
	ck_assert_int_eq(coop_context_post(ctx, self_cb, NULL), 0);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(self_runs, 50);
	for (i = 1; i < 50; i++)
		ck_assert_msg(self_yields_at[i] > self_yields_at[i - 1],
		              "runs %d and %d of the callback in one round (the task yielded %ld, "
		              "then %ld times)",
		              i - 1, i, self_yields_at[i - 1], self_yields_at[i]);
	expect_callbacks_outside();
}
END_TEST

/* ================================================ R4 from a callback == */
/*
 * A thread posts a callback while the context runs three blocked tasks (a
 * receiver on a channel, a far sleeper, a keeper waiting on a notifier so
 * that coop_run waits rather than saying -EDEADLK).  Outside any task, the
 * callback completes a deadline-0 send to the receiver, gets -EAGAIN for
 * a send nobody takes even with no deadline (A7.2), spawns, cancels the
 * sleeper, posts, sends the keeper's notifier; the waiting calls say
 * -EPERM, and running a context (its own or another) -EBUSY.  Every task
 * then ends.
 */
static struct coop_chan *r4_chan;
static struct coop_notify *r4_keep;
static struct coop_task *r4_victim;
static int r4_rc[12], r4_got, r4_sleep_rc, r4_keep_rc, r4_child_ran;
static atomic_int r4_ready;

static void *r4_receiver(void *arg)
{
	int v = 0, rc;

	(void)arg;
	rc = coop_chan_recv(r4_chan, &v, COOP_FOREVER);
	r4_got = rc == 0 ? v : rc;
	return NULL;
}

static void *r4_sleeper(void *arg)
{
	(void)arg;
	r4_sleep_rc = coop_sleep_until(coop_deadline_in(3600 * COOP_SEC));
	return NULL;
}

static void *r4_keeper(void *arg)
{
	uint64_t c = 0;

	(void)arg;
	/* The others blocked before it ran (FIFO); no round can come
	 * between this store and the wait. */
	atomic_store(&r4_ready, 1);
	r4_keep_rc = coop_notify_wait(r4_keep, &c, COOP_FOREVER);
	ck_assert_int_eq(c, 1);
	return NULL;
}

static void *r4_child(void *arg)
{
	(void)arg;
	r4_child_ran = 1;
	return NULL;
}

static void r4_cb(void *arg)
{
	int v = 42;

	(void)arg;
	note_where();
	cb_runs++;
	r4_rc[0] = coop_chan_send(r4_chan, &v, COOP_NOWAIT);
	r4_rc[1] = coop_chan_send(r4_chan, &v, COOP_FOREVER);
	r4_rc[2] = coop_spawn(ctx, NULL, r4_child, NULL, NULL);
	r4_rc[3] = coop_cancel(r4_victim);
	r4_rc[4] = coop_sleep_until(coop_deadline_in(COOP_MSEC));
	r4_rc[5] = coop_notify_wait(r4_keep, NULL, COOP_NOWAIT);
	r4_rc[6] = coop_context_post(ctx, count_cb, NULL);
	r4_rc[7] = coop_notify_send(r4_keep);
	r4_rc[8] = coop_self() == NULL;
	r4_rc[9] = coop_run(ctx);
	r4_rc[10] = coop_run_once(ctx, COOP_NOWAIT);
	r4_rc[11] = coop_run_once(ctx2, COOP_NOWAIT);
}

static void *r4_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&r4_ready))
		nap(COOP_MSEC);
	if (coop_context_post(ctx, r4_cb, NULL) != 0)
		atomic_fetch_add(&p1_post_errors, 1);
	return NULL;
}

START_TEST(t_post_callback_r4_calls)
{
	static const int want[12] = {0, -EAGAIN, 0, 0, -EPERM, -EPERM, 0, 0, 1, -EBUSY, -EBUSY, -EBUSY};
	pthread_t th;
	int i;

	ck_assert_int_eq(coop_chan_create(ctx, &r4_chan, sizeof(int), 0), 0);
	ck_assert_int_eq(coop_notify_create(ctx, &r4_keep), 0);
	ck_assert_int_eq(coop_context_create(&ctx2, NULL), 0);
	test_spawn_detached(ctx, "recv", r4_receiver, NULL);
	r4_victim = test_spawn_named(ctx, "sleeper", r4_sleeper, NULL);
	test_spawn_detached(ctx, "keeper", r4_keeper, NULL);
	th = thread_start(r4_thread, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	thread_join(th);
	ck_assert_int_eq(atomic_load(&p1_post_errors), 0);
	for (i = 0; i < 12; i++)
		ck_assert_msg(r4_rc[i] == want[i], "call %d of the callback: %d, not %d", i, r4_rc[i],
		              want[i]);
	ck_assert_int_eq(cb_runs, 2); /* r4_cb and the callback it posted */
	expect_callbacks_outside();
	ck_assert_int_eq(r4_got, 42);
	ck_assert_int_eq(r4_sleep_rc, -ECANCELED);
	ck_assert_int_eq(r4_keep_rc, 0);
	ck_assert_int_eq(r4_child_ran, 1);
	ck_assert_int_eq(coop_join(r4_victim, NULL), 0);
	ck_assert_int_eq(coop_chan_destroy(r4_chan), 0);
	ck_assert_int_eq(coop_notify_destroy(r4_keep), 0);
}
END_TEST

/* ================================================ memory visibility == */
/*
 * What a thread writes (plain stores, in a block it allocated) before
 * coop_context_post is what the callback reads, while the context runs
 * (TSan checks the hand-off in the TSan build: T-POST-5); the callback
 * frees the block.
 */
struct vis {
	int a;
	long b;
	char s[24];
};

static long vis_total, vis_seen, vis_bad;
static int vis_done;

static void vis_cb(void *arg)
{
	struct vis *v = arg;
	char want[24];

	snprintf(want, sizeof(want), "v%ld", vis_seen);
	if (v->a != (int)vis_seen || v->b != vis_seen * 7 || strcmp(v->s, want) != 0)
		vis_bad++;
	free(v);
	if (++vis_seen == vis_total)
		vis_done = 1;
}

static void *vis_thread(void *arg)
{
	long i;

	(void)arg;
	for (i = 0; i < vis_total; i++) {
		struct vis *v = malloc(sizeof(*v));

		if (!v)
			abort();
		v->a = (int)i;
		v->b = i * 7;
		snprintf(v->s, sizeof(v->s), "v%ld", i);
		if (coop_context_post(ctx, vis_cb, v) != 0)
			abort();
	}
	return NULL;
}

START_TEST(t_post_memory_visibility)
{
	pthread_t th;

	vis_total = scaled(20000);
	test_spawn_detached(ctx, "y", yield_until, &vis_done);
	th = thread_start(vis_thread, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	thread_join(th);
	ck_assert_int_eq(vis_seen, vis_total);
	ck_assert_int_eq(vis_bad, 0);
}
END_TEST

/* T-X-2 for coop_context_post: -EINVAL for a NULL context or function,
 * errno kept (T-X-7), nothing queued. */
START_TEST(t_post_errors)
{
	TEST_KEEPS_ERRNO(coop_context_post(NULL, count_cb, NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_context_post(ctx, NULL, NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_context_post(NULL, NULL, NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_run_once(ctx, COOP_NOWAIT), 0);
	ck_assert_int_eq(cb_runs, 0);
}
END_TEST

/* ======================================================= R6 in a round == */
/*
 * Queued in the other order (the send first), a round still runs the
 * posted callback before it hands the notifier's count to its waiter:
 * inside the callback, the waiter is still BLOCKED.
 */
static struct coop_notify *o_n;
static int o_state_in_cb = -1, o_rc = 12345;
static uint64_t o_count;

static void *o_waiter(void *arg)
{
	(void)arg;
	o_rc = coop_notify_wait(o_n, &o_count, COOP_FOREVER);
	return NULL;
}

static void o_cb(void *arg)
{
	(void)arg;
	note_where();
	o_state_in_cb = test_state_of(ctx, "w");
}

START_TEST(t_round_posts_before_notifies)
{
	ck_assert_int_eq(coop_notify_create(ctx, &o_n), 0);
	test_spawn_detached(ctx, "w", o_waiter, NULL);
	ck_assert_int_eq(coop_run_once(ctx, COOP_NOWAIT), 1);
	expect_notify_waiter("w", o_n, COOP_FOREVER);
	TEST_KEEPS_ERRNO(coop_notify_send(o_n), 0);
	TEST_KEEPS_ERRNO(coop_context_post(ctx, o_cb, NULL), 0);
	ck_assert_int_eq(coop_run_once(ctx, COOP_NOWAIT), 0);
	ck_assert_int_eq(o_state_in_cb, COOP_TASK_BLOCKED);
	ck_assert_int_eq(o_rc, 0);
	ck_assert_int_eq(o_count, 1);
	expect_callbacks_outside();
	ck_assert_int_eq(coop_notify_destroy(o_n), 0);
}
END_TEST

/* ============================================================ T-NTF-1 == */
/*
 * Another thread sends the context's thread SIGUSR1 1,000 times (paced,
 * so that the waiter often sleeps when one arrives; pending signals
 * coalesce, so the handler runs at most that often), then SIGUSR2 once.
 * Both handlers send; the waiter task sums the counts it takes until it
 * has the SIGUSR2 handler's and one per SIGUSR1 handler call (SIGUSR1 is
 * delivered before a SIGUSR2 sent after it: lower numbers first).  Each
 * handler sets errno to a marker before its send and finds it after.
 * Variant 0: the context sleeps on its futex; 1: in epoll, a task waiting
 * on a pipe beside the waiter.
 */
static struct coop_notify *sig_n;
static atomic_ulong usr1_calls;
static atomic_int usr2_seen, sig_errs;

static void sig_send(void)
{
	errno = TEST_ERRNO_MARK;
	if (coop_notify_send(sig_n) != 0 || errno != TEST_ERRNO_MARK)
		atomic_fetch_add(&sig_errs, 1);
}

static void usr1_handler(int sig)
{
	int saved = errno;

	(void)sig;
	atomic_fetch_add(&usr1_calls, 1);
	sig_send();
	errno = saved;
}

static void usr2_handler(int sig)
{
	int saved = errno;

	(void)sig;
	atomic_store(&usr2_seen, 1);
	sig_send();
	errno = saved;
}

static void handle(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigfillset(&sa.sa_mask); /* one handler at a time */
	sa.sa_flags = 0;          /* no SA_RESTART: the library's calls see EINTR */
	ck_assert_int_eq(sigaction(sig, &sa, NULL), 0);
}

static void unhandle(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	ck_assert_int_eq(sigaction(sig, &sa, NULL), 0);
}

/* The pipe waiter of the epoll variants, cancelled by whoever finishes. */
static struct coop_task *fdw_task;
static int fdw_pipe[2] = {-1, -1}, fdw_rc = 12345;

static void *fd_waiter(void *arg)
{
	(void)arg;
	fdw_rc = coop_fd_wait(fdw_pipe[0], COOP_FD_READ, COOP_FOREVER);
	return NULL;
}

static void fdw_start(int variant)
{
	fdw_task = NULL;
	if (variant == 0)
		return;
	ck_assert_int_eq(pipe2(fdw_pipe, O_NONBLOCK | O_CLOEXEC), 0);
	fdw_task = test_spawn_named(ctx, "fdw", fd_waiter, NULL);
}

static void fdw_stop(void)
{
	if (fdw_task)
		ck_assert_int_eq(coop_cancel(fdw_task), 0);
}

static void fdw_check(void)
{
	if (!fdw_task)
		return;
	ck_assert_int_eq(coop_join(fdw_task, NULL), 0);
	ck_assert_int_eq(fdw_rc, -ECANCELED);
	close(fdw_pipe[0]);
	close(fdw_pipe[1]);
}

static uint64_t n1_sum;
static long n1_waits;
static int n1_rc;

static void *n1_waiter(void *arg)
{
	uint64_t c;

	(void)arg;
	for (;;) {
		c = 0;
		n1_rc = coop_notify_wait(sig_n, &c, coop_deadline_in(30 * COOP_SEC));
		if (n1_rc != 0)
			break;
		n1_waits++;
		n1_sum += c;
		if (atomic_load(&usr2_seen) && n1_sum == atomic_load(&usr1_calls) + 1)
			break;
	}
	fdw_stop();
	return NULL;
}

static void *n1_signaller(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 1000; i++) {
		pthread_kill(main_thread, SIGUSR1);
		if (i % 10 == 9)
			nap(100 * COOP_USEC);
	}
	pthread_kill(main_thread, SIGUSR2);
	return NULL;
}

START_TEST(t_ntf_1_signal_handler)
{
	pthread_t th;

	if (test_qemu_i386("T-NTF-1"))
		return;
	ck_assert_int_eq(coop_notify_create(ctx, &sig_n), 0);
	handle(SIGUSR1, usr1_handler);
	handle(SIGUSR2, usr2_handler);
	fdw_start(_i);
	test_spawn_detached(ctx, "waiter", n1_waiter, NULL);
	th = thread_start(n1_signaller, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	thread_join(th);
	unhandle(SIGUSR1);
	unhandle(SIGUSR2);
	fdw_check();
	ck_assert_int_eq(n1_rc, 0);
	ck_assert_int_eq(atomic_load(&sig_errs), 0);
	ck_assert_uint_ge(atomic_load(&usr1_calls), 1);
	ck_assert_uint_le(atomic_load(&usr1_calls), 1000);
	ck_assert_uint_eq(n1_sum, atomic_load(&usr1_calls) + 1);
	ck_assert_int_ge(n1_waits, 1);
	ck_assert_int_eq(coop_notify_destroy(sig_n), 0);
}
END_TEST

/* ============================================================ T-NTF-2 == */
/*
 * Four threads send 10^6 times in all (fewer when slow) while a task
 * waits: the counts it takes sum to the number of sends, and nothing is
 * left after.
 */
#define NSENDERS 4

static struct coop_notify *n2_n;
static long n2_per;
static atomic_long n2_errs;
static uint64_t n2_sum;
static long n2_waits;
static int n2_rc, n2_left_rc;

static void *n2_sender(void *arg)
{
	long i;

	(void)arg;
	for (i = 0; i < n2_per; i++)
		if (coop_notify_send(n2_n) != 0)
			atomic_fetch_add(&n2_errs, 1);
	return NULL;
}

static void *n2_waiter(void *arg)
{
	uint64_t c, total = (uint64_t)NSENDERS * (uint64_t)n2_per;

	(void)arg;
	while (n2_sum < total) {
		c = 0;
		if ((n2_rc = coop_notify_wait(n2_n, &c, coop_deadline_in(30 * COOP_SEC))) != 0)
			break;
		n2_waits++;
		n2_sum += c;
	}
	n2_left_rc = coop_notify_wait(n2_n, &c, COOP_NOWAIT);
	return NULL;
}

START_TEST(t_ntf_2_threads_sum)
{
	pthread_t th[NSENDERS];
	int i;

	n2_per = scaled(1000000) / NSENDERS;
	ck_assert_int_eq(coop_notify_create(ctx, &n2_n), 0);
	test_spawn_detached(ctx, "waiter", n2_waiter, NULL);
	for (i = 0; i < NSENDERS; i++)
		th[i] = thread_start(n2_sender, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	for (i = 0; i < NSENDERS; i++)
		thread_join(th[i]);
	ck_assert_int_eq(atomic_load(&n2_errs), 0);
	ck_assert_int_eq(n2_rc, 0);
	ck_assert_uint_eq(n2_sum, (uint64_t)NSENDERS * (uint64_t)n2_per);
	ck_assert_int_ge(n2_waits, 1);
	ck_assert_int_eq(n2_left_rc, -ETIMEDOUT);
	ck_assert_int_eq(coop_notify_destroy(n2_n), 0);
}
END_TEST

/* ============================================================ T-NTF-3 == */
/*
 * A thread writes plain data, then sends; the task that waits reads it
 * and acknowledges (a POSIX semaphore the thread waits on before it
 * writes again: it orders the read before the next write, nothing else).
 * The data is always the round's: the send publishes it (TSan, in the
 * TSan build, checks that nothing else orders the two).
 */
static struct coop_notify *n3_n;
static struct {
	long seq;
	char text[24];
} n3_data;
static sem_t n3_ack;
static long n3_rounds, n3_bad, n3_acked;
static int n3_rc;

static void *n3_writer(void *arg)
{
	long i;

	(void)arg;
	for (i = 1; i <= n3_rounds; i++) {
		n3_data.seq = i;
		snprintf(n3_data.text, sizeof(n3_data.text), "r%ld", i);
		if (coop_notify_send(n3_n) != 0)
			abort();
		while (sem_wait(&n3_ack) != 0)
			if (errno != EINTR)
				abort();
	}
	return NULL;
}

static void *n3_reader(void *arg)
{
	char want[24];
	uint64_t c;
	long i;

	(void)arg;
	for (i = 1; i <= n3_rounds; i++) {
		if ((n3_rc = coop_notify_wait(n3_n, &c, coop_deadline_in(30 * COOP_SEC))) != 0)
			break;
		snprintf(want, sizeof(want), "r%ld", i);
		if (c != 1 || n3_data.seq != i || strcmp(n3_data.text, want) != 0)
			n3_bad++;
		n3_acked = i;
		/* Never blocks: a thread-safe wake-up for the writer. */
		ck_assert_int_eq(sem_post(&n3_ack), 0);
	}
	return NULL;
}

START_TEST(t_ntf_3_memory_visibility)
{
	pthread_t th;

	n3_rounds = test_slow_run() ? 300 : 1000;
	ck_assert_int_eq(sem_init(&n3_ack, 0, 0), 0);
	ck_assert_int_eq(coop_notify_create(ctx, &n3_n), 0);
	test_spawn_detached(ctx, "reader", n3_reader, NULL);
	th = thread_start(n3_writer, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	thread_join(th);
	ck_assert_int_eq(n3_rc, 0);
	ck_assert_int_eq(n3_bad, 0);
	ck_assert_int_eq(n3_acked, n3_rounds);
	ck_assert_int_eq(coop_notify_destroy(n3_n), 0);
	ck_assert_int_eq(sem_destroy(&n3_ack), 0);
}
END_TEST

/* ============================================================ T-NTF-4 == */
/*
 * A task waits on a notifier that a thread sends 200 ms later: coop_run
 * waits for it (a notifier is an external source: no -EDEADLK), the
 * waiter wakes after the send, and the context's thread uses under half
 * the wall time in CPU meanwhile (a loose bound: a spinning loop uses all
 * of it; three tries, as the machine is shared; not under valgrind, whose
 * own threads' time this is).  Then coop_run_once(FOREVER) waits the same
 * way.
 */
static struct coop_notify *n4_n;
static atomic_llong n4_sent_at;
static atomic_int n4_started;
static int64_t n4_woke_at;
static int n4_rc;
static uint64_t n4_count;

static void *n4_waiter(void *arg)
{
	(void)arg;
	n4_count = 0;
	n4_rc = coop_notify_wait(n4_n, &n4_count, COOP_FOREVER);
	n4_woke_at = coop_now();
	return NULL;
}

static void *n4_sender(void *arg)
{
	int64_t delay = *(int64_t *)arg;

	atomic_store(&n4_started, 1);
	nap(delay);
	atomic_store(&n4_sent_at, coop_now());
	if (coop_notify_send(n4_n) != 0)
		abort();
	return NULL;
}

static int64_t thread_cpu_ns(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_THREAD, &ru), 0);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * COOP_SEC +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * COOP_USEC;
}

/* One wait of `delay`: the CPU time of this thread, the wall time in *wall. */
static int64_t n4_pass(int64_t delay, int64_t *wall, int once)
{
	int64_t c0, c1, t0, t1;
	pthread_t th;

	n4_rc = 12345;
	test_spawn_detached(ctx, "waiter", n4_waiter, NULL);
	atomic_store(&n4_started, 0);
	th = thread_start(n4_sender, &delay);
	/* The thread's start-up is not the wait's. */
	while (!atomic_load(&n4_started))
		sched_yield();
	c0 = thread_cpu_ns();
	t0 = coop_now();
	if (once) {
		int rc;

		while ((rc = coop_run_once(ctx, COOP_FOREVER)) == 1)
			;
		ck_assert_int_eq(rc, 0);
	} else {
		ck_assert_int_eq(coop_run(ctx), 0);
	}
	t1 = coop_now();
	c1 = thread_cpu_ns();
	thread_join(th);
	ck_assert_int_eq(n4_rc, 0);
	ck_assert_uint_eq(n4_count, 1);
	ck_assert_int_ge(n4_woke_at, atomic_load(&n4_sent_at));
	*wall = t1 - t0;
	return c1 - c0;
}

START_TEST(t_ntf_4_keeps_run_blocked)
{
	int64_t cpu[3], wall[3];
	int i, ok = 0;

	ck_assert_int_eq(coop_notify_create(ctx, &n4_n), 0);
	for (i = 0; i < 3 && !ok; i++) {
		cpu[i] = n4_pass(200 * COOP_MSEC, &wall[i], 0);
		ok = RUNNING_ON_VALGRIND || cpu[i] * 2 < wall[i];
	}
	ck_assert_msg(ok, "coop_run used %" PRId64 ", %" PRId64 " and %" PRId64
	              " us of CPU in three waits of %" PRId64 ", %" PRId64 " and %" PRId64 " us",
	              cpu[0] / COOP_USEC, cpu[1] / COOP_USEC, cpu[2] / COOP_USEC,
	              wall[0] / COOP_USEC, wall[1] / COOP_USEC, wall[2] / COOP_USEC);
	(void)n4_pass(20 * COOP_MSEC, &wall[0], 1);
	ck_assert_int_eq(coop_notify_destroy(n4_n), 0);
}
END_TEST

/* ============================================================ T-NTF-5 == */
/*
 * A signal storm: ITIMER_REAL every 10 us (the kernel delivers as fast as
 * it can) for a second, SIGALRM's handler sending each time, all of it on
 * the context's thread (the controlling thread blocks SIGALRM).  Then the
 * timer stops and the thread sends once more: the waiter must get that
 * too (no lost wake-up), the counts summing to the handler's calls plus
 * one; no deadlock (Check's timeout, or the waiter's deadline).  Variant
 * 0: the context sleeps on its futex between signals; 1: it also has a
 * pipe waiter (epoll) and a task alternating yields and 100 us sleeps.
 * Under valgrind or ASan: every 100 us for 0.3 s.
 */
static struct coop_notify *n5_n;
static atomic_ulong alrm_calls;
static atomic_int storm_over;
static uint64_t n5_sum;
static long n5_waits;
static int n5_rc;

static void alrm_handler(int sig)
{
	int saved = errno;

	(void)sig;
	atomic_fetch_add(&alrm_calls, 1);
	errno = TEST_ERRNO_MARK;
	if (coop_notify_send(n5_n) != 0 || errno != TEST_ERRNO_MARK)
		atomic_fetch_add(&sig_errs, 1);
	errno = saved;
}

static void *n5_waiter(void *arg)
{
	uint64_t c;

	(void)arg;
	for (;;) {
		c = 0;
		n5_rc = coop_notify_wait(n5_n, &c, coop_deadline_in(30 * COOP_SEC));
		if (n5_rc != 0)
			break;
		n5_waits++;
		n5_sum += c;
		if (atomic_load(&storm_over) && n5_sum == atomic_load(&alrm_calls) + 1)
			break;
	}
	fdw_stop();
	return NULL;
}

static void *n5_busy(void *arg)
{
	(void)arg;
	while (!atomic_load(&storm_over)) {
		ck_assert_int_eq(coop_yield(), 0);
		ck_assert_int_eq(coop_sleep_until(coop_deadline_in(100 * COOP_USEC)), 0);
	}
	return NULL;
}

static void *n5_controller(void *arg)
{
	int64_t period = test_slow_run() ? 100 * COOP_USEC : 10 * COOP_USEC;
	int64_t length = test_slow_run() ? 300 * COOP_MSEC : COOP_SEC;
	struct itimerval it = {{0, (long)(period / COOP_USEC)}, {0, (long)(period / COOP_USEC)}};
	struct itimerval off = {{0, 0}, {0, 0}};
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (setitimer(ITIMER_REAL, &it, NULL) != 0)
		abort();
	nap(length);
	if (setitimer(ITIMER_REAL, &off, NULL) != 0)
		abort();
	atomic_store(&storm_over, 1);
	if (coop_notify_send(n5_n) != 0)
		abort();
	return NULL;
}

START_TEST(t_ntf_5_signal_storm)
{
	pthread_t th;

	if (test_qemu_i386("T-NTF-5"))
		return;
	ck_assert_int_eq(coop_notify_create(ctx, &n5_n), 0);
	handle(SIGALRM, alrm_handler);
	fdw_start(_i);
	test_spawn_detached(ctx, "waiter", n5_waiter, NULL);
	if (_i == 1)
		test_spawn_detached(ctx, "busy", n5_busy, NULL);
	th = thread_start(n5_controller, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	thread_join(th);
	/* A SIGALRM still pending is delivered here, before the default
	 * action comes back. */
	nap(COOP_MSEC);
	unhandle(SIGALRM);
	fdw_check();
	ck_assert_int_eq(n5_rc, 0);
	ck_assert_int_eq(atomic_load(&sig_errs), 0);
	ck_assert_uint_ge(atomic_load(&alrm_calls), 1);
	ck_assert_uint_ge(n5_sum, 1);
	ck_assert_int_ge(n5_waits, 1);
	ck_assert_int_eq(coop_notify_destroy(n5_n), 0);
}
END_TEST

/* ====================================================== notify errors == */
/*
 * T-X-2 and A7.1 for the notifier calls, each checked to keep errno
 * (T-X-7).  Outside any task: -EINVAL (NULL, a deadline below -1) before
 * -EPERM, and -EPERM whatever the deadline and the count, which stays.
 * In a task: -EINVAL, then -EXDEV (another context's notifier), then
 * -ECANCELED (pending, even with a count there, which stays: R3), then
 * the count taken whole (0, *count NULL allowed), then -ETIMEDOUT
 * (deadline 0, a passed one, a short one, the ambient one).  ctx NULL at
 * creation is the running context; -EPERM when none runs.  Sends are 0
 * from anywhere: outside, from a task, from another context's task.
 */
static struct coop_notify *e_n, *e_n2;

static void *e_task(void *arg)
{
	struct coop_notify *own;
	uint64_t c = 777;
	int64_t d, old;

	(void)arg;
	TEST_KEEPS_ERRNO(coop_notify_wait(NULL, &c, COOP_NOWAIT), -EINVAL);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, &c, -2), -EINVAL);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n2, &c, -2), -EINVAL);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n2, &c, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n2, &c, COOP_FOREVER), -EXDEV);
	ck_assert_uint_eq(c, 777);
	/* The two sends made outside, left by the -EPERM calls. */
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, &c, COOP_NOWAIT), 0);
	ck_assert_uint_eq(c, 2);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, &c, COOP_NOWAIT), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, &c, 1), -ETIMEDOUT);
	d = coop_deadline_in(5 * COOP_MSEC);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, &c, d), -ETIMEDOUT);
	ck_assert_int_ge(coop_now(), d);
	ck_assert_int_eq(coop_set_deadline(1, &old), 0);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, &c, COOP_FOREVER), -ETIMEDOUT);
	ck_assert_int_eq(coop_set_deadline(old, NULL), 0);
	/* A send from the task itself; NULL count: taken all the same. */
	TEST_KEEPS_ERRNO(coop_notify_send(e_n), 0);
	TEST_KEEPS_ERRNO(coop_notify_send(e_n), 0);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, NULL, COOP_NOWAIT), 0);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, &c, COOP_NOWAIT), -ETIMEDOUT);
	/* Another context's notifier: sending is anyone's. */
	TEST_KEEPS_ERRNO(coop_notify_send(e_n2), 0);
	/* Pending cancellation: after -EINVAL and -EXDEV, before the count. */
	TEST_KEEPS_ERRNO(coop_notify_send(e_n), 0);
	ck_assert_int_eq(coop_cancel(coop_self()), 0);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, &c, -2), -EINVAL);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n2, &c, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, &c, COOP_NOWAIT), -ECANCELED);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, &c, COOP_FOREVER), -ECANCELED);
	ck_assert_int_eq(coop_shield(1), 0);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, &c, COOP_NOWAIT), 0);
	ck_assert_uint_eq(c, 1);
	ck_assert_int_eq(coop_shield(0), 1);
	ck_assert_int_eq(coop_cancelled(), 1);
	/* ctx NULL: the context running on this thread. */
	TEST_KEEPS_ERRNO(coop_notify_create(NULL, NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_notify_create(NULL, &own), 0);
	ck_assert_int_eq(coop_shield(1), 0);
	TEST_KEEPS_ERRNO(coop_notify_send(own), 0);
	TEST_KEEPS_ERRNO(coop_notify_wait(own, &c, COOP_NOWAIT), 0);
	ck_assert_uint_eq(c, 1);
	TEST_KEEPS_ERRNO(coop_notify_destroy(own), 0);
	return NULL;
}

static void *e_other_task(void *arg)
{
	uint64_t c = 777;

	(void)arg;
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, &c, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_notify_send(e_n), 0);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n2, &c, COOP_NOWAIT), 0);
	ck_assert_uint_eq(c, 1); /* the send e_task made */
	return NULL;
}

START_TEST(t_ntf_errors)
{
	uint64_t c = 777;
	struct coop_notify *n = (struct coop_notify *)(intptr_t)1;

	TEST_KEEPS_ERRNO(coop_notify_create(ctx, NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_notify_create(NULL, NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_notify_create(NULL, &n), -EPERM);
	ck_assert_ptr_eq(n, (struct coop_notify *)(intptr_t)1);
	TEST_KEEPS_ERRNO(coop_notify_create(ctx, &e_n), 0);
	ck_assert_int_eq(coop_context_create(&ctx2, NULL), 0);
	TEST_KEEPS_ERRNO(coop_notify_create(ctx2, &e_n2), 0);
	TEST_KEEPS_ERRNO(coop_notify_send(NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_notify_destroy(NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_notify_wait(NULL, &c, COOP_NOWAIT), -EINVAL);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, &c, -2), -EINVAL);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, &c, INT64_MIN), -EINVAL);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, &c, COOP_NOWAIT), -EPERM);
	TEST_KEEPS_ERRNO(coop_notify_send(e_n), 0);
	TEST_KEEPS_ERRNO(coop_notify_send(e_n), 0);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, &c, COOP_NOWAIT), -EPERM);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, &c, COOP_FOREVER), -EPERM);
	TEST_KEEPS_ERRNO(coop_notify_wait(e_n, NULL, coop_deadline_in(COOP_SEC)), -EPERM);
	ck_assert_uint_eq(c, 777);
	test_spawn_detached(ctx, "e", e_task, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(coop_spawn(ctx2, NULL, e_other_task, NULL, NULL), 0);
	TEST_KEEPS_ERRNO(coop_run(ctx2), 0);
	TEST_KEEPS_ERRNO(coop_notify_destroy(e_n), 0);
	TEST_KEEPS_ERRNO(coop_notify_destroy(e_n2), 0);
}
END_TEST

/*
 * R7 (T-X-5) for coop_notify_wait: a task looping on waits that complete
 * at once (a count to take, or none and a passed deadline) yields after
 * the 128th in a row, and a wait or a yield refills its budget
 * (test-ticker.h's harness).  Sends are not blocking calls: they spend
 * nothing.
 */
enum { BN_TAKE, BN_EMPTY, BN_KINDS };
static struct budget_run bn_run;
static struct coop_notify *bn_n;

static int bn_call(int kind, int i)
{
	uint64_t c = 0;
	int ok;

	errno = TEST_ERRNO_MARK;
	if (kind == BN_TAKE)
		ok = coop_notify_send(bn_n) == 0 && coop_notify_send(bn_n) == 0 &&
		     coop_notify_wait(bn_n, &c, i & 1 ? COOP_NOWAIT : COOP_FOREVER) == 0 && c == 2;
	else
		ok = coop_notify_wait(bn_n, &c, i & 1 ? COOP_NOWAIT : 1) == -ETIMEDOUT && c == 0;
	return ok && errno == TEST_ERRNO_MARK;
}

static void *bn_task(void *arg)
{
	budget_phase(&bn_run, (int)(intptr_t)arg, budget_sleep_refill);
	return NULL;
}

START_TEST(t_x_5_notify_budget)
{
	int kind, phase;

	ck_assert_int_eq(coop_notify_create(ctx, &bn_n), 0);
	for (kind = 0; kind < BN_KINDS; kind++) {
		for (phase = 0; phase < 3; phase++) {
			bn_run = (struct budget_run){.call = bn_call, .kind = kind};
			test_spawn_detached(ctx, "caller", bn_task, (void *)(intptr_t)phase);
			start_ticker();
			TEST_KEEPS_ERRNO(coop_run(ctx), 0);
			budget_check(&bn_run, phase, kind == BN_TAKE ? "take" : "empty");
		}
	}
	ck_assert_int_eq(coop_notify_destroy(bn_n), 0);
}
END_TEST

/* ===================================================== FIFO waiters == */
/*
 * Three waiters block in order; coop_context_tasks shows each BLOCKED in
 * COOP_WAIT_NOTIFY on the notifier, with its deadline; destroy is -EBUSY.
 * Five sends before a round: the first waiter takes all five, the others
 * keep waiting; each later send goes to the next, in the order they
 * blocked.  Once none waits, destroy works.
 */
static struct coop_notify *f_n;
static int f_order[3], f_n_done;
static uint64_t f_count[3];
static int64_t f_far;

static void *f_waiter(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t c = 0;
	int rc;

	rc = coop_notify_wait(f_n, &c, id == 2 ? f_far : COOP_FOREVER);
	ck_assert_int_eq(rc, 0);
	f_count[id] = c;
	f_order[f_n_done++] = id;
	return NULL;
}

START_TEST(t_ntf_fifo_first_takes_all)
{
	f_far = coop_deadline_in(3600 * COOP_SEC);
	ck_assert_int_eq(coop_notify_create(ctx, &f_n), 0);
	test_spawn_detached(ctx, "w0", f_waiter, (void *)(intptr_t)0);
	test_spawn_detached(ctx, "w1", f_waiter, (void *)(intptr_t)1);
	test_spawn_detached(ctx, "w2", f_waiter, (void *)(intptr_t)2);
	ck_assert_int_eq(coop_run_once(ctx, COOP_NOWAIT), 3);
	expect_notify_waiter("w0", f_n, COOP_FOREVER);
	expect_notify_waiter("w1", f_n, COOP_FOREVER);
	expect_notify_waiter("w2", f_n, f_far);
	TEST_KEEPS_ERRNO(coop_notify_destroy(f_n), -EBUSY);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(coop_notify_send(f_n), 0);
	ck_assert_int_eq(coop_run_once(ctx, COOP_NOWAIT), 2);
	ck_assert_int_eq(f_n_done, 1);
	ck_assert_int_eq(f_order[0], 0);
	ck_assert_uint_eq(f_count[0], 5);
	expect_notify_waiter("w1", f_n, COOP_FOREVER);
	expect_notify_waiter("w2", f_n, f_far);
	TEST_KEEPS_ERRNO(coop_notify_destroy(f_n), -EBUSY);
	ck_assert_int_eq(coop_notify_send(f_n), 0);
	ck_assert_int_eq(coop_run_once(ctx, COOP_NOWAIT), 1);
	ck_assert_int_eq(f_order[1], 1);
	ck_assert_uint_eq(f_count[1], 1);
	ck_assert_int_eq(coop_notify_send(f_n), 0);
	ck_assert_int_eq(coop_notify_send(f_n), 0);
	ck_assert_int_eq(coop_run_once(ctx, COOP_NOWAIT), 0);
	ck_assert_int_eq(f_order[2], 2);
	ck_assert_uint_eq(f_count[2], 2);
	TEST_KEEPS_ERRNO(coop_notify_destroy(f_n), 0);
}
END_TEST

/* A count sent by a task goes to the waiter queued first, also against a
 * task that asks for it before the next round delivers it: that one does
 * not jump the queue (a deadline of 0 times out, no count taken). */
static int fq_late_rc = 12345;

static void *fq_sender(void *arg)
{
	(void)arg;
	ck_assert_int_eq(coop_notify_send(f_n), 0);
	return NULL;
}

static void *fq_late(void *arg)
{
	uint64_t c = 77;

	(void)arg;
	fq_late_rc = coop_notify_wait(f_n, &c, COOP_NOWAIT);
	ck_assert_uint_eq(c, 77);
	return NULL;
}

START_TEST(t_ntf_fifo_no_queue_jumping)
{
	ck_assert_int_eq(coop_notify_create(ctx, &f_n), 0);
	test_spawn_detached(ctx, "w0", f_waiter, (void *)(intptr_t)0);
	ck_assert_int_eq(coop_run_once(ctx, COOP_NOWAIT), 1);
	expect_notify_waiter("w0", f_n, COOP_FOREVER);
	test_spawn_detached(ctx, "sender", fq_sender, NULL);
	test_spawn_detached(ctx, "late", fq_late, NULL);
	/* One round: the sender, then the late one (w0 still waits). */
	ck_assert_int_eq(coop_run_once(ctx, COOP_NOWAIT), 1);
	ck_assert_int_eq(fq_late_rc, -ETIMEDOUT);
	ck_assert_int_eq(f_n_done, 0);
	/* The next round hands the count to w0. */
	ck_assert_int_eq(coop_run_once(ctx, COOP_NOWAIT), 0);
	ck_assert_int_eq(f_n_done, 1);
	ck_assert_uint_eq(f_count[0], 1);
	TEST_KEEPS_ERRNO(coop_notify_destroy(f_n), 0);
}
END_TEST

/*
 * R3 and R6 for a waiter: a send and a deadline that passed before the
 * same round: the count is processed first, so the wait succeeds.  A
 * waiter cancelled before a send leaves the count to the next wait, and
 * one that timed out too.
 */
static struct coop_notify *r_n;
static int r_rc;
static uint64_t r_count;
static int64_t r_deadline;

static void *r_waiter(void *arg)
{
	(void)arg;
	r_count = 0;
	r_rc = coop_notify_wait(r_n, &r_count, r_deadline);
	return NULL;
}

static void *r_taker(void *arg)
{
	(void)arg;
	r_count = 0;
	r_rc = coop_notify_wait(r_n, &r_count, COOP_NOWAIT);
	return NULL;
}

START_TEST(t_ntf_completion_wins)
{
	struct coop_task *t;
	int64_t margin;

	ck_assert_int_eq(coop_notify_create(ctx, &r_n), 0);
	/* Send and deadline in one round: the send wins.  The deadline must
	 * not pass before the waiter blocks: on a loaded machine (or under
	 * valgrind) it may, and then the waiter timed out at once: again,
	 * with a longer one. */
	for (margin = 20 * COOP_MSEC;; margin *= 4) {
		r_deadline = coop_deadline_in(margin);
		test_spawn_detached(ctx, "w", r_waiter, NULL);
		if (coop_run_once(ctx, COOP_NOWAIT) == 1)
			break;
		ck_assert_int_eq(r_rc, -ETIMEDOUT);
		ck_assert_int_lt(margin, 60 * COOP_SEC);
	}
	expect_notify_waiter("w", r_n, r_deadline);
	while (coop_now() <= r_deadline)
		nap(r_deadline - coop_now() + COOP_MSEC);
	ck_assert_int_eq(coop_notify_send(r_n), 0);
	ck_assert_int_eq(coop_run_once(ctx, COOP_NOWAIT), 0);
	ck_assert_int_eq(r_rc, 0);
	ck_assert_uint_eq(r_count, 1);

	/* Cancelled, then a send: -ECANCELED, the count left for the next. */
	r_deadline = COOP_FOREVER;
	t = test_spawn_named(ctx, "w", r_waiter, NULL);
	ck_assert_int_eq(coop_run_once(ctx, COOP_NOWAIT), 1);
	ck_assert_int_eq(coop_cancel(t), 0);
	ck_assert_int_eq(coop_notify_send(r_n), 0);
	ck_assert_int_eq(coop_run_once(ctx, COOP_NOWAIT), 0);
	ck_assert_int_eq(r_rc, -ECANCELED);
	ck_assert_int_eq(coop_join(t, NULL), 0);
	test_spawn_detached(ctx, "taker", r_taker, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(r_rc, 0);
	ck_assert_uint_eq(r_count, 1);

	/* Timed out, then a send: the same. */
	r_deadline = coop_deadline_in(5 * COOP_MSEC);
	test_spawn_detached(ctx, "w", r_waiter, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(r_rc, -ETIMEDOUT);
	ck_assert_int_eq(coop_notify_send(r_n), 0);
	test_spawn_detached(ctx, "taker", r_taker, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(r_rc, 0);
	ck_assert_uint_eq(r_count, 1);
	ck_assert_int_eq(coop_notify_destroy(r_n), 0);
	/* None of those waits left the context believing a task waits on
	 * another thread. */
	t = test_spawn_named(ctx, "forever", forever_sleeper, NULL);
	ck_assert_int_eq(coop_run(ctx), -EDEADLK);
	ck_assert_int_eq(coop_cancel(t), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(coop_join(t, NULL), 0);
}
END_TEST

/*
 * R3 after the count was handed over: the round gives the waiter the
 * count and queues it behind a task that was already runnable; that task
 * cancels it and destroys the notifier (no waiter is left: 0) before it
 * runs.  The wait still returns 0 with the count (completion wins), the
 * cancellation stays pending.  And no wait leaves the context believing a
 * task waits on another thread: a task asleep forever is then -EDEADLK.
 */
static struct coop_task *wc_waiter;
static int wc_rc = 12345, wc_cancelled = -1, wc_cancel_rc = 12345, wc_destroy_rc = 12345;
static uint64_t wc_count;

static void *wc_wait(void *arg)
{
	wc_rc = coop_notify_wait(arg, &wc_count, COOP_FOREVER);
	wc_cancelled = coop_cancelled();
	return NULL;
}

static void *wc_meddler(void *arg)
{
	wc_cancel_rc = coop_cancel(wc_waiter);
	wc_destroy_rc = coop_notify_destroy(arg);
	return NULL;
}

START_TEST(t_ntf_woken_then_cancelled)
{
	struct coop_notify *n;
	struct coop_task *f;
	void *res = NULL;

	ck_assert_int_eq(coop_notify_create(ctx, &n), 0);
	wc_waiter = test_spawn_named(ctx, "w", wc_wait, n);
	ck_assert_int_eq(coop_run_once(ctx, COOP_NOWAIT), 1);
	expect_notify_waiter("w", n, COOP_FOREVER);
	test_spawn_detached(ctx, "meddler", wc_meddler, n);
	ck_assert_int_eq(coop_notify_send(n), 0);
	/* One round: the meddler, then the waiter, both end. */
	ck_assert_int_eq(coop_run_once(ctx, COOP_NOWAIT), 0);
	ck_assert_int_eq(wc_cancel_rc, 0);
	ck_assert_int_eq(wc_destroy_rc, 0);
	ck_assert_int_eq(wc_rc, 0);
	ck_assert_uint_eq(wc_count, 1);
	ck_assert_int_eq(wc_cancelled, 1);
	ck_assert_int_eq(coop_join(wc_waiter, NULL), 0);
	/* Nothing waits on another thread any more. */
	f = test_spawn_named(ctx, "forever", forever_sleeper, NULL);
	ck_assert_int_eq(coop_run(ctx), -EDEADLK);
	ck_assert_int_eq(coop_run_once(ctx, COOP_FOREVER), -EDEADLK);
	ck_assert_int_eq(coop_cancel(f), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(coop_join(f, &res), 0);
	ck_assert_int_eq((int)(intptr_t)res, -ECANCELED);
}
END_TEST

/*
 * Notifiers and the end of things: a notifier destroyed while its
 * context still lists it (sent to, no round since) is gone from the list
 * (the next round must not touch it: valgrind and ASan look); after
 * coop_context_destroy, a notifier (one that was waited on, one with a
 * count) is an orphan: send 0, wait -EXDEV (from outside and from another
 * context's task), destroy 0, never -EBUSY for the waiter that went with
 * its context.
 */
static struct coop_notify *o1, *o2;
static uint64_t o_c;

static void *o_blocked(void *arg)
{
	coop_notify_wait(arg, &o_c, COOP_FOREVER);
	ck_abort_msg("a waiter of a destroyed context ran");
	return NULL;
}

static void *o_other(void *arg)
{
	uint64_t c = 777;

	(void)arg;
	TEST_KEEPS_ERRNO(coop_notify_wait(o1, &c, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_notify_wait(o2, &c, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_notify_send(o1), 0);
	ck_assert_uint_eq(c, 777);
	return NULL;
}

START_TEST(t_ntf_outlives_context)
{
	struct coop_notify *gone;
	uint64_t c = 777;

	ck_assert_int_eq(coop_notify_create(ctx, &gone), 0);
	ck_assert_int_eq(coop_notify_send(gone), 0);
	TEST_KEEPS_ERRNO(coop_notify_destroy(gone), 0);
	TEST_KEEPS_ERRNO(coop_run_once(ctx, COOP_NOWAIT), 0);

	ck_assert_int_eq(coop_notify_create(ctx, &o1), 0);
	ck_assert_int_eq(coop_notify_create(ctx, &o2), 0);
	test_spawn_detached(ctx, "w", o_blocked, o1);
	ck_assert_int_eq(coop_run_once(ctx, COOP_NOWAIT), 1);
	ck_assert_int_eq(coop_notify_send(o2), 0); /* listed, never delivered */
	test_context_destroy(&ctx);
	TEST_KEEPS_ERRNO(coop_notify_send(o1), 0);
	TEST_KEEPS_ERRNO(coop_notify_send(o2), 0);
	TEST_KEEPS_ERRNO(coop_notify_wait(o1, &c, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_notify_wait(o2, &c, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_notify_wait(o2, &c, -2), -EINVAL);
	ck_assert_uint_eq(c, 777);
	ck_assert_int_eq(coop_context_create(&ctx2, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx2, NULL, o_other, NULL, NULL), 0);
	TEST_KEEPS_ERRNO(coop_run(ctx2), 0);
	TEST_KEEPS_ERRNO(coop_notify_destroy(o1), 0);
	TEST_KEEPS_ERRNO(coop_notify_destroy(o2), 0);
}
END_TEST

/* ============================================== T-X-8, the other side == */
/*
 * Post and send are the calls other threads may make while the context
 * runs (R9): a plain thread and a task of another context, running on a
 * third thread, post and send to it; nothing aborts, every callback runs
 * and the waiter's counts sum to every send.  Their -EINVAL comes back
 * the same from there.
 */
#define X8_EACH 200

static struct coop_notify *x_n;
static atomic_int x_errs;
static int x_cb_runs;
static uint64_t x_sum;
static int x_rc, x_done;

static void x_cb(void *arg)
{
	(void)arg;
	note_where();
	x_cb_runs++;
}

static void x_calls(void)
{
	int i;

	for (i = 0; i < X8_EACH; i++) {
		if (coop_context_post(ctx, x_cb, NULL) != 0)
			atomic_fetch_add(&x_errs, 1);
		if (coop_notify_send(x_n) != 0)
			atomic_fetch_add(&x_errs, 1);
		if (i % 16 == 0)
			sched_yield();
	}
	if (coop_context_post(NULL, x_cb, NULL) != -EINVAL || coop_notify_send(NULL) != -EINVAL)
		atomic_fetch_add(&x_errs, 1);
}

static void *x_plain_thread(void *arg)
{
	(void)arg;
	x_calls();
	return NULL;
}

static void *x_remote_task(void *arg)
{
	(void)arg;
	x_calls();
	return NULL;
}

static void *x_context_thread(void *arg)
{
	struct coop_context *c = NULL;

	(void)arg;
	if (coop_context_create(&c, NULL) != 0 || coop_spawn(c, NULL, x_remote_task, NULL, NULL) != 0 ||
	    coop_run(c) != 0)
		atomic_fetch_add(&x_errs, 1);
	coop_context_destroy(c);
	return NULL;
}

static void *x_waiter(void *arg)
{
	int64_t give_up;
	uint64_t c;

	(void)arg;
	while (x_sum < 2 * X8_EACH) {
		c = 0;
		if ((x_rc = coop_notify_wait(x_n, &c, coop_deadline_in(30 * COOP_SEC))) != 0)
			break;
		x_sum += c;
	}
	/* The last posts may have missed the round that took the last
	 * sends (a round takes the posts, then the counts): the next runs
	 * them. */
	give_up = coop_deadline_in(30 * COOP_SEC);
	while (x_cb_runs < 2 * X8_EACH && coop_now() < give_up)
		ck_assert_int_eq(coop_yield(), 0);
	x_done = 1; /* the yielder's turn to end */
	return NULL;
}

START_TEST(t_x_8_post_send_from_other_threads)
{
	pthread_t a, b;

	ck_assert_int_eq(coop_notify_create(ctx, &x_n), 0);
	test_spawn_detached(ctx, "waiter", x_waiter, NULL);
	/* A yielder keeps the context running (not asleep) meanwhile. */
	test_spawn_detached(ctx, "y", yield_until, &x_done);
	a = thread_start(x_plain_thread, NULL);
	b = thread_start(x_context_thread, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	thread_join(a);
	thread_join(b);
	ck_assert_int_eq(atomic_load(&x_errs), 0);
	ck_assert_int_eq(x_rc, 0);
	ck_assert_uint_eq(x_sum, 2 * X8_EACH);
	ck_assert_int_eq(x_cb_runs, 2 * X8_EACH);
	expect_callbacks_outside();
	ck_assert_int_eq(coop_notify_destroy(x_n), 0);
}
END_TEST

/* ============================================================== suite == */

static Suite *remote_suite(void)
{
	Suite *s = suite_create("remote");
	TCase *tc;

	tc = test_tcase(s, "post");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_post_1_exactly_once_in_order);
	tcase_add_test(tc, t_post_1_total_order);
	tcase_add_loop_test(tc, t_post_2_wakes_blocked_context, 0, 6);
	tcase_add_test(tc, t_post_3_next_round);
	tcase_add_test(tc, t_post_3_at_destroy);
	tcase_add_test(tc, t_post_pending_before_return);
	tcase_add_test(tc, t_post_4_once_per_round);
	tcase_add_test(tc, t_post_4_run_interleaves);
	tcase_add_test(tc, t_post_callback_r4_calls);
	tcase_add_test(tc, t_post_memory_visibility);
	tcase_add_test(tc, t_post_errors);
	tcase_add_test(tc, t_round_posts_before_notifies);

	tc = test_tcase(s, "notify");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, t_ntf_1_signal_handler, 0, 2);
	tcase_add_test(tc, t_ntf_2_threads_sum);
	tcase_add_test(tc, t_ntf_3_memory_visibility);
	tcase_add_test(tc, t_ntf_4_keeps_run_blocked);
	tcase_add_loop_test(tc, t_ntf_5_signal_storm, 0, 2);
	tcase_add_test(tc, t_ntf_errors);
	tcase_add_test(tc, t_x_5_notify_budget);
	tcase_add_test(tc, t_ntf_fifo_first_takes_all);
	tcase_add_test(tc, t_ntf_fifo_no_queue_jumping);
	tcase_add_test(tc, t_ntf_completion_wins);
	tcase_add_test(tc, t_ntf_woken_then_cancelled);
	tcase_add_test(tc, t_ntf_outlives_context);

	tc = test_tcase(s, "threads");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_x_8_post_send_from_other_threads);
	return s;
}

int main(void)
{
	return test_run(remote_suite());
}
