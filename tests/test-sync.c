/*
 * test-sync.c: mutex, condition variable, semaphore, and what every object
 * of a context shares (coop 1.1, §4.6, §4.3).
 *
 * The design's acceptance tests of §4.8, one Check test each (the ID is in
 * the comment above it): T-MX-1 FIFO hand-off among 5 waiters, no barging
 * (neither by the unlocker nor by a task that was runnable); T-MX-2
 * -EDEADLK, -EPERM, trylock; T-MX-3 a task that ends holding a mutex
 * aborts with the documented line (forked, stderr through a pipe); T-MX-4
 * a timeout and a cancellation leave the others' order and the mutex
 * alone; T-CV-1 signal wakes one, broadcast all in order, the mutex owned
 * and exclusive on every return (0, -ETIMEDOUT, -ECANCELED), with A7.5 (a
 * passed deadline never releases it) and cond_wait's errors; T-CV-2 wait
 * morphing over 100 waiters (each made runnable once, owning the mutex);
 * T-CV-3 no spurious wake-up over 10^6 waits; T-SEM-1 value and FIFO
 * hand-off, no barging by the releaser, R4 outside a task; T-SEM-2
 * -EOVERFLOW; T-OBJ-1 every call on another context's object -EXDEV;
 * T-OBJ-2 ctx NULL; T-OBJ-3 objects outliving their context; T-X-8 for
 * the objects: a call on one from another thread while its context runs
 * aborts with one line naming the call (each call in a forked child).
 *
 * Beside them: a cancellation and a deadline in each wait leave the
 * object as it was; -EBUSY from destroy (and destroy right after a waiter
 * was woken); the ambient deadline bounds lock, acquire and cond_wait;
 * R7's budget for the calls that complete at once; every error of
 * Appendix B for these calls (T-X-2), each call checked to leave errno
 * alone (T-X-7).
 *
 * Who ran when is observed with the ticker (test-ticker.h: a call that
 * returned without switching leaves its count alone), with
 * coop_context_tasks (what a task waits in, and on what), and with logs
 * the tasks append to: the order they blocked in and the order they got
 * the object.  A critical-section flag catches two owners at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <coop/coop.h>

#include "test-common.h"
#include "test-ticker.h"

static struct coop_context *ctx, *ctx2;

static void setup(void)
{
	test_context_create(&ctx);
}

static void teardown(void)
{
	test_context_destroy(&ctx);
	test_context_destroy(&ctx2);
}

/* ----------------------------------------------------------- helpers -- */

/* From a task: yield until `cond` holds, for conditions other tasks make
 * true without waiting for time to pass. */
#define YIELD_UNTIL(cond)                                                                         \
	do {                                                                                      \
		long n_;                                                                          \
		for (n_ = 0; n_ < 1000000 && !(cond); n_++)                                      \
			ck_assert_int_eq(coop_yield(), 0);                                        \
		ck_assert_msg((cond), "never came true: %s", #cond);                              \
	} while (0)

/* From a task: sleep a millisecond at a time until `cond` holds, for
 * conditions a deadline makes true (a minute at most). */
#define SLEEP_UNTIL(cond)                                                                         \
	do {                                                                                      \
		long n_;                                                                          \
		for (n_ = 0; n_ < 60000 && !(cond); n_++)                                        \
			ck_assert_int_eq(coop_sleep_until(coop_deadline_in(COOP_MSEC)), 0);       \
		ck_assert_msg((cond), "never came true: %s", #cond);                              \
	} while (0)

/* Detached tasks of ctx (test-common.h); test_spawn_named for the joined ones. */
#define spawn_detached(name, fn, arg) test_spawn_detached(ctx, name, fn, arg)

static const char *const wname[] = {"w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7"};

#define state_of(name) test_state_of(ctx, name)

/* Task `name` of ctx is BLOCKED in a wait of `kind` on `obj`. */
static void expect_blocked(const char *name, int kind, const void *obj)
{
	struct coop_task_info in = test_info_of(ctx, name);

	ck_assert_msg(in.state == COOP_TASK_BLOCKED && in.wait == kind && in.wait_object == obj,
	              "%s: state %d, wait %d on %p; expected BLOCKED, wait %d on %p", name,
	              in.state, in.wait, in.wait_object, kind, obj);
}

static void expect_ready(const char *name)
{
	ck_assert_msg(state_of(name) == COOP_TASK_READY, "%s: state %d, expected READY", name,
	              state_of(name));
}

/* The order tasks blocked in, and the order they got the object; a flag
 * set by whoever is in the critical section. */
static int blocked[16], nblocked, acquired[16], nacq, inside;

static void enter_section(void)
{
	ck_assert_msg(!inside, "two tasks own the mutex at once");
	inside = 1;
}

static void leave_section(void)
{
	inside = 0;
}

static void expect_order(const int *got, int ngot, const int *want, int nwant, const char *what)
{
	int i;

	ck_assert_msg(ngot == nwant, "%s: %d entries, expected %d", what, ngot, nwant);
	for (i = 0; i < nwant; i++)
		ck_assert_msg(got[i] == want[i], "%s: entry %d is %d, expected %d", what, i, got[i],
		              want[i]);
}

static void reset_logs(void)
{
	nblocked = nacq = inside = 0;
}

enum { OWNER = 100, BARGER = 101, RELEASER = 102 };

static struct coop_mutex *mx;
static struct coop_cond *cv;
static struct coop_sem *sem;

/* ============================================================= mutex == */

/*
 * T-MX-1: five waiters block in the order their delays give (w3, w1, w4,
 * w0, w2, not spawn order) and get the mutex in that order.  The unlock
 * returns without switching, the first waiter runnable and already the
 * owner; the unlocker cannot take it back (trylock -ETIMEDOUT), and its
 * lock queues behind the waiters.  A task that was runnable all along
 * (the barger) runs before the first waiter and calls lock: it queues
 * too, last.
 */
static const int mx1_delay[5] = {3, 1, 4, 0, 2};
static int mx1_released, mx1_barger_saw;

static void *mx1_waiter(void *arg)
{
	int id = (int)(intptr_t)arg, i;

	for (i = 0; i < mx1_delay[id]; i++)
		ck_assert_int_eq(coop_yield(), 0);
	blocked[nblocked++] = id;
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	enter_section();
	acquired[nacq++] = id;
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_NOWAIT), -EDEADLK); /* it does own it */
	ck_assert_int_eq(coop_yield(), 0);
	leave_section();
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	return NULL;
}

static void *mx1_barger(void *arg)
{
	(void)arg;
	YIELD_UNTIL(mx1_released);
	mx1_barger_saw = nacq; /* how many had the mutex when it asked */
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	enter_section();
	acquired[nacq++] = BARGER;
	leave_section();
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	ticker_stop = 1;
	return NULL;
}

static void *mx1_owner(void *arg)
{
	static const int want_blocked[] = {3, 1, 4, 0, 2};
	long t0;
	int i;

	(void)arg;
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	enter_section();
	YIELD_UNTIL(nblocked == 5);
	expect_order(blocked, nblocked, want_blocked, 5, "blocking order");
	for (i = 0; i < 5; i++)
		expect_blocked(wname[i], COOP_WAIT_MUTEX, mx);
	leave_section();
	mx1_released = 1;
	t0 = ticks;
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	/* The unlocker keeps running; the first waiter is runnable, owning it. */
	ck_assert_int_eq(ticks, t0);
	ck_assert_int_eq(nacq, 0);
	expect_ready("w3");
	for (i = 0; i < 5; i++)
		if (i != 3)
			expect_blocked(wname[i], COOP_WAIT_MUTEX, mx);
	/* No barging by the unlocker: the mutex is w3's already. */
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_NOWAIT), -ETIMEDOUT);
	ck_assert_int_eq(ticks, t0);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	enter_section();
	acquired[nacq++] = OWNER;
	leave_section();
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	return NULL;
}

START_TEST(t_mx_1_fifo_handoff)
{
	static const int want[] = {3, 1, 4, 0, 2, OWNER, BARGER};
	int i;

	reset_logs();
	mx1_released = 0;
	mx1_barger_saw = -1;
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &mx), 0);
	spawn_detached("owner", mx1_owner, NULL);
	spawn_detached("barger", mx1_barger, NULL);
	for (i = 0; i < 5; i++)
		spawn_detached(wname[i], mx1_waiter, (void *)(intptr_t)i);
	start_ticker();
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	expect_order(acquired, nacq, want, 7, "acquisition order");
	/* The barger asked before the first waiter had run: it still queued. */
	ck_assert_int_eq(mx1_barger_saw, 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx), 0);
}
END_TEST

/*
 * T-MX-2: relock by the owner -EDEADLK (whatever the deadline); unlock by
 * a task that does not own it, of a free mutex, and outside a task -EPERM;
 * lock outside a task -EPERM; trylock (deadline 0 or passed) on an owned
 * mutex -ETIMEDOUT without switching.  A7.1: -EINVAL first; a pending
 * cancellation comes before -EDEADLK; unlock is no cancellation point.
 */
static int mx2_step;

static void *mx2_a(void *arg)
{
	(void)arg;
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), -EDEADLK);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_NOWAIT), -EDEADLK);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, coop_deadline_in(COOP_SEC)), -EDEADLK);
	mx2_step = 1;
	YIELD_UNTIL(mx2_step == 2);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), -EPERM); /* free: nobody owns it */
	mx2_step = 3;
	return NULL;
}

static void *mx2_b(void *arg)
{
	long t0;

	(void)arg;
	YIELD_UNTIL(mx2_step == 1);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), -EPERM); /* a owns it */
	t0 = ticks;
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_NOWAIT), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, 1), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, coop_now()), -ETIMEDOUT);
	ck_assert_int_eq(ticks, t0);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, -2), -EINVAL);
	TEST_KEEPS_ERRNO(coop_mutex_lock(NULL, COOP_NOWAIT), -EINVAL);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(NULL), -EINVAL);
	mx2_step = 2;
	YIELD_UNTIL(mx2_step == 3);
	/* A pending cancellation: -ECANCELED before -EDEADLK, no effect. */
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	TEST_KEEPS_ERRNO(coop_cancel(coop_self()), 0);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), -ECANCELED);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_NOWAIT), -ECANCELED);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_NOWAIT), -ECANCELED);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), -EPERM); /* the refused lock took nothing */
	ck_assert_int_eq(coop_shield(1), 0);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_NOWAIT), 0);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	ticker_stop = 1;
	return NULL;
}

START_TEST(t_mx_2_deadlk_eperm_trylock)
{
	mx2_step = 0;
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &mx), 0);
	/* Outside a task: a lock needs an owner. */
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), -EPERM);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_NOWAIT), -EPERM);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), -EPERM);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, -2), -EINVAL);
	spawn_detached("a", mx2_a, NULL);
	spawn_detached("b", mx2_b, NULL);
	start_ticker();
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), -EPERM);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_NOWAIT), -EPERM);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx), 0);
}
END_TEST

/*
 * T-MX-3: a task that ends owning a mutex, by returning or by
 * coop_exit() from a nested call, aborts the process with one line:
 *   coop: coop_exit: task N "name" ended holding mutex 0x... (K held)
 * The context runs in a child whose stderr comes back through a pipe.
 */
static struct coop_mutex *mx3_m[2];
static int mx3_nheld, mx3_by_exit;

static void *mx3_first(void *arg)
{
	return arg;
}

static __attribute__((noinline)) void mx3_nested_exit(void)
{
	coop_exit(NULL);
}

static void *mx3_holder(void *arg)
{
	int i;

	(void)arg;
	/* A mutex locked and unlocked is not held. */
	if (coop_mutex_lock(mx3_m[1], COOP_FOREVER) != 0 || coop_mutex_unlock(mx3_m[1]) != 0)
		abort();
	for (i = 0; i < mx3_nheld; i++)
		if (coop_mutex_lock(mx3_m[i], COOP_FOREVER) != 0)
			abort();
	if (mx3_by_exit)
		mx3_nested_exit();
	return NULL;
}

/* Run ctx in a child; its stderr into buf, its wait status returned. */
static int run_ctx_in_child(char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int p[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit no_core = {0, 0};

		setrlimit(RLIMIT_CORE, &no_core);
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		close(p[1]);
		coop_run(ctx);
		_exit(0);
	}
	close(p[1]);
	while (len + 1 < size && (n = read(p[0], buf + len, size - 1 - len)) != 0) {
		if (n < 0) {
			ck_assert_int_eq(errno, EINTR);
			continue;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void mx3_case(int by_exit, int nheld)
{
	char err[8192], want[2][160];
	const char *line, *end;
	int status, i, nlines = 0, matched = 0;

	mx3_by_exit = by_exit;
	mx3_nheld = nheld;
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &mx3_m[0]), 0);
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &mx3_m[1]), 0);
	spawn_detached("first", mx3_first, NULL); /* the holder is task 2 */
	spawn_detached("holder", mx3_holder, NULL);
	for (i = 0; i < 2; i++)
		snprintf(want[i], sizeof(want[i]),
		         "coop: coop_exit: task 2 \"holder\" ended holding mutex %p (%d held)",
		         (void *)mx3_m[i], nheld);
	status = run_ctx_in_child(err, sizeof(err));
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
	              "child status %#x, expected SIGABRT; stderr:\n%s", status, err);
	/* Exactly one line of coop's (valgrind may add its own lines). */
	for (line = err; *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		if (strncmp(line, "coop:", 5) != 0)
			continue;
		nlines++;
		for (i = 0; i < nheld; i++)
			if ((size_t)(end - line) == strlen(want[i]) &&
			    strncmp(line, want[i], (size_t)(end - line)) == 0)
				matched = 1;
	}
	ck_assert_msg(nlines == 1 && matched, "expected one line \"%s\"; stderr:\n%s", want[0], err);
	/* The parent's copies were never used. */
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx3_m[0]), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx3_m[1]), 0);
}

START_TEST(t_mx_3_end_holding_aborts)
{
	mx3_case(0, 1); /* by return, one held */
	coop_context_destroy(ctx);
	ck_assert_int_eq(coop_context_create(&ctx, NULL), 0);
	mx3_case(1, 2); /* by coop_exit() from a nested call, two held */
}
END_TEST

/*
 * T-X-8 (R9) for the objects: while the context runs on the child's main
 * thread (its one task asleep), another thread calls one of the objects'
 * calls: the child must die by SIGABRT with exactly the line
 * `coop: CALL: context 0x... is running on another thread`.
 */
static struct coop_chan *x8_chan;
static struct coop_mutex *x8_mutex;
static struct coop_cond *x8_cond;
static struct coop_sem *x8_sem;
static int x8_call;
static const char *const x8_names[] = {
	"coop_chan_send",      "coop_chan_recv",      "coop_chan_close",  "coop_chan_select",
	"coop_mutex_lock",     "coop_mutex_unlock",   "coop_cond_signal", "coop_cond_broadcast",
	"coop_cond_wait",      "coop_sem_acquire",    "coop_sem_release",
};

static void *x8_thread(void *arg)
{
	struct coop_chan_op op = {.size = sizeof(op), .op = COOP_CHAN_RECV};
	int v = 0, rc = 0;

	(void)arg;
	op.chan = x8_chan;
	switch (x8_call) {
	case 0: rc = coop_chan_send(x8_chan, &v, COOP_NOWAIT); break;
	case 1: rc = coop_chan_recv(x8_chan, &v, COOP_NOWAIT); break;
	case 2: rc = coop_chan_close(x8_chan); break;
	case 3: rc = coop_chan_select(&op, 1, COOP_NOWAIT); break;
	case 4: rc = coop_mutex_lock(x8_mutex, COOP_NOWAIT); break;
	case 5: rc = coop_mutex_unlock(x8_mutex); break;
	case 6: rc = coop_cond_signal(x8_cond); break;
	case 7: rc = coop_cond_broadcast(x8_cond); break;
	case 8: rc = coop_cond_wait(x8_cond, x8_mutex, COOP_NOWAIT); break;
	case 9: rc = coop_sem_acquire(x8_sem, COOP_NOWAIT); break;
	default: rc = coop_sem_release(x8_sem); break;
	}
	fprintf(stderr, "%s returned %d from another thread\n", x8_names[x8_call], rc);
	_exit(2);
}

/* Starts the thread, then sleeps (the context running) until it aborts. */
static void *x8_task(void *arg)
{
	pthread_t th;

	(void)arg;
	if (pthread_create(&th, NULL, x8_thread, NULL) != 0)
		_exit(3);
	coop_sleep_until(coop_deadline_in(30 * COOP_SEC));
	_exit(4); /* not reached: the thread aborted the process */
}

START_TEST(t_x_8_other_thread_aborts)
{
	char err[8192], want[160];
	const char *line, *end;
	int status, nlines = 0, matched = 0;

	x8_call = _i;
	TEST_KEEPS_ERRNO(coop_chan_create(ctx, &x8_chan, sizeof(int), 1), 0);
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &x8_mutex), 0);
	TEST_KEEPS_ERRNO(coop_cond_create(ctx, &x8_cond), 0);
	TEST_KEEPS_ERRNO(coop_sem_create(ctx, &x8_sem, 1), 0);
	spawn_detached("sleeper", x8_task, NULL);
	snprintf(want, sizeof(want), "coop: %s: context %p is running on another thread",
	         x8_names[_i], (void *)ctx);
	status = run_ctx_in_child(err, sizeof(err));
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
	              "%s: child status %#x, expected SIGABRT; stderr:\n%s", x8_names[_i], status,
	              err);
	/* Exactly one line of coop's (valgrind may add its own lines). */
	for (line = err; *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		if (strncmp(line, "coop:", 5) != 0)
			continue;
		nlines++;
		matched += (size_t)(end - line) == strlen(want) && strncmp(line, want, strlen(want)) == 0;
	}
	ck_assert_msg(nlines == 1 && matched == 1, "%s: stderr:\n%s\nwanted: %s", x8_names[_i], err,
	              want);
	ck_assert_int_eq(coop_chan_destroy(x8_chan), 0);
	ck_assert_int_eq(coop_mutex_destroy(x8_mutex), 0);
	ck_assert_int_eq(coop_cond_destroy(x8_cond), 0);
	ck_assert_int_eq(coop_sem_destroy(x8_sem), 0);
}
END_TEST

/*
 * T-MX-4: of five waiters queued in order, the head times out and a
 * middle one is cancelled while the owner holds the mutex, and the tail
 * is cancelled while the next owner holds it: the mutex stays with its
 * owner each time, the others keep their order (w1, w3), and the ones
 * that failed own nothing.  The cancelled waiter is woken but has not run
 * when the unlock comes: the unlock passes it by.
 */
#define UNSET 1
static struct coop_task *mx4_t[5];
static int mx4_rc[5];
static int64_t mx4_timeout;

static void *mx4_waiter(void *arg)
{
	int id = (int)(intptr_t)arg, rc, e;

	blocked[nblocked++] = id;
	errno = TEST_ERRNO_MARK;
	rc = coop_mutex_lock(mx, id == 0 ? coop_deadline_in(mx4_timeout) : COOP_FOREVER);
	e = errno;
	ck_assert_int_eq(e, TEST_ERRNO_MARK);
	mx4_rc[id] = rc;
	if (rc == 0) {
		enter_section();
		acquired[nacq++] = id;
		ck_assert_int_eq(coop_yield(), 0);
		leave_section();
		TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	} else {
		TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), -EPERM); /* it got nothing */
	}
	return NULL;
}

static void *mx4_owner(void *arg)
{
	int i;

	(void)arg;
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	enter_section();
	YIELD_UNTIL(nblocked == 5);
	for (i = 1; i < 5; i++)
		expect_blocked(wname[i], COOP_WAIT_MUTEX, mx);
	/* The head's deadline passes. */
	SLEEP_UNTIL(mx4_rc[0] != UNSET);
	ck_assert_int_eq(mx4_rc[0], -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_NOWAIT), -EDEADLK); /* still the owner */
	ck_assert_int_eq(nacq, 0);
	for (i = 1; i < 5; i++)
		expect_blocked(wname[i], COOP_WAIT_MUTEX, mx);
	/* A middle one is cancelled, and the mutex let go before it runs. */
	TEST_KEEPS_ERRNO(coop_cancel(mx4_t[2]), 0);
	expect_ready("w2");
	leave_section();
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	expect_ready("w1");
	expect_blocked("w3", COOP_WAIT_MUTEX, mx);
	expect_blocked("w4", COOP_WAIT_MUTEX, mx);
	/* The tail, while w1 owns it. */
	TEST_KEEPS_ERRNO(coop_cancel(mx4_t[4]), 0);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_NOWAIT), -ETIMEDOUT);
	return NULL;
}

START_TEST(t_mx_4_timeout_cancel_keep_order)
{
	static const int want[] = {1, 3};
	int i;

	reset_logs();
	mx4_timeout = test_slow_run() ? 100 * COOP_MSEC : 10 * COOP_MSEC;
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &mx), 0);
	spawn_detached("owner", mx4_owner, NULL);
	for (i = 0; i < 5; i++) {
		mx4_rc[i] = UNSET;
		mx4_t[i] = test_spawn_named(ctx, wname[i], mx4_waiter, (void *)(intptr_t)i);
	}
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(mx4_rc[0], -ETIMEDOUT);
	ck_assert_int_eq(mx4_rc[1], 0);
	ck_assert_int_eq(mx4_rc[2], -ECANCELED);
	ck_assert_int_eq(mx4_rc[3], 0);
	ck_assert_int_eq(mx4_rc[4], -ECANCELED);
	expect_order(acquired, nacq, want, 2, "acquisition order");
	for (i = 0; i < 5; i++)
		TEST_KEEPS_ERRNO(coop_join(mx4_t[i], NULL), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx), 0);
}
END_TEST

/* ================================================ condition variable == */

static int cv_rc[16], cv_woken[16], ncv_woken, cv_ready, cv_step;
static int64_t cv_deadline[16];
static struct coop_task *cv_t[16];

/* A waiter: lock, wait on cv until deadline (cv_deadline[id], computed as
 * it waits when 1: "now + cv_timeout"), and on every return check that it
 * owns the mutex alone, then unlock (which must succeed). */
static int64_t cv_timeout;

static void *cv_waiter(void *arg)
{
	int id = (int)(intptr_t)arg, rc, e;
	int64_t d = cv_deadline[id];

	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	enter_section();
	cv_ready++;
	if (d == 1)
		d = cv_deadline[id] = coop_deadline_in(cv_timeout);
	leave_section();
	errno = TEST_ERRNO_MARK;
	rc = coop_cond_wait(cv, mx, d);
	e = errno;
	ck_assert_int_eq(e, TEST_ERRNO_MARK);
	enter_section(); /* nobody else owns it */
	if (rc == -ETIMEDOUT)
		ck_assert_int_ge(coop_now(), d); /* never early */
	cv_rc[id] = rc;
	cv_woken[ncv_woken++] = id;
	ck_assert_int_eq(coop_yield(), 0); /* still alone in it after a switch */
	leave_section();
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0); /* it did own it */
	return NULL;
}

static void cv_reset(void)
{
	int i;

	reset_logs();
	ncv_woken = cv_ready = cv_step = 0;
	for (i = 0; i < 16; i++) {
		cv_rc[i] = UNSET;
		cv_deadline[i] = COOP_FOREVER;
		cv_t[i] = NULL;
	}
}

static void cv_spawn_waiters(int n)
{
	int i;

	for (i = 0; i < n; i++)
		cv_t[i] = test_spawn_named(ctx, wname[i], cv_waiter, (void *)(intptr_t)i);
}

static void cv_join_waiters(int n)
{
	int i;

	for (i = 0; i < n; i++)
		TEST_KEEPS_ERRNO(coop_join(cv_t[i], NULL), 0);
}

/* Signal with no waiter is lost; signal wakes the first waiter only, at
 * once and without switching; broadcast under the mutex moves the rest
 * onto the mutex, then they run in wait order. */
static void *cv1_signaller(void *arg)
{
	long t0;
	int i;

	(void)arg;
	TEST_KEEPS_ERRNO(coop_cond_signal(cv), 0);
	TEST_KEEPS_ERRNO(coop_cond_broadcast(cv), 0);
	YIELD_UNTIL(cv_ready == 3);
	for (i = 0; i < 3; i++)
		expect_blocked(wname[i], COOP_WAIT_COND, cv);
	t0 = ticks;
	TEST_KEEPS_ERRNO(coop_cond_signal(cv), 0);
	ck_assert_int_eq(ticks, t0);
	ck_assert_int_eq(ncv_woken, 0);
	expect_ready("w0"); /* the mutex was free: it owns it already */
	expect_blocked("w1", COOP_WAIT_COND, cv);
	expect_blocked("w2", COOP_WAIT_COND, cv);
	YIELD_UNTIL(ncv_woken == 1);
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(coop_yield(), 0);
	ck_assert_int_eq(ncv_woken, 1); /* exactly one */
	expect_blocked("w1", COOP_WAIT_COND, cv);
	expect_blocked("w2", COOP_WAIT_COND, cv);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	enter_section();
	t0 = ticks;
	TEST_KEEPS_ERRNO(coop_cond_broadcast(cv), 0);
	ck_assert_int_eq(ticks, t0);
	expect_blocked("w1", COOP_WAIT_MUTEX, mx);
	expect_blocked("w2", COOP_WAIT_MUTEX, mx);
	leave_section();
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	expect_ready("w1");
	expect_blocked("w2", COOP_WAIT_MUTEX, mx);
	YIELD_UNTIL(ncv_woken == 3);
	TEST_KEEPS_ERRNO(coop_cond_signal(cv), 0);
	ticker_stop = 1;
	return NULL;
}

/* A timeout while another task owns the mutex: the waiter queues for it,
 * uncancellably, and returns -ETIMEDOUT owning it once it is handed over. */
static void *cv1_timeout_hog(void *arg)
{
	struct coop_task_info in;
	int i;

	(void)arg;
	YIELD_UNTIL(cv_ready == 1);
	in = test_info_of(ctx, "w0");
	ck_assert_int_eq(in.wait, COOP_WAIT_COND);
	ck_assert_int_eq(in.wait_deadline, cv_deadline[0]);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	enter_section();
	SLEEP_UNTIL(test_info_of(ctx, "w0").wait == COOP_WAIT_MUTEX);
	in = test_info_of(ctx, "w0");
	expect_blocked("w0", COOP_WAIT_MUTEX, mx);
	ck_assert_int_eq(in.wait_deadline, COOP_FOREVER);
	/* Taking the mutex back cannot be cancelled. */
	TEST_KEEPS_ERRNO(coop_cancel(cv_t[0]), 0);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(coop_yield(), 0);
	expect_blocked("w0", COOP_WAIT_MUTEX, mx);
	ck_assert_int_eq(cv_rc[0], UNSET);
	leave_section();
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	expect_ready("w0");
	return NULL;
}

/* A cancellation while the canceller owns the mutex (w0), then while it
 * is free (w1): -ECANCELED, owning it. */
static void *cv1_canceller(void *arg)
{
	(void)arg;
	YIELD_UNTIL(cv_ready == 2);
	expect_blocked("w0", COOP_WAIT_COND, cv);
	expect_blocked("w1", COOP_WAIT_COND, cv);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	enter_section();
	TEST_KEEPS_ERRNO(coop_cancel(cv_t[0]), 0);
	expect_ready("w0");
	YIELD_UNTIL(state_of("w0") == COOP_TASK_BLOCKED);
	expect_blocked("w0", COOP_WAIT_MUTEX, mx);
	expect_blocked("w1", COOP_WAIT_COND, cv);
	leave_section();
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	YIELD_UNTIL(ncv_woken == 1 && !inside); /* w0 let go */
	TEST_KEEPS_ERRNO(coop_cancel(cv_t[1]), 0);
	return NULL;
}

/* A cancellation pending at entry: -ECANCELED, the mutex never let go
 * (the contender waiting for it does not get it in between). */
static void *cv1_pending_cancel(void *arg)
{
	(void)arg;
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	enter_section();
	YIELD_UNTIL(state_of("contender") == COOP_TASK_BLOCKED);
	TEST_KEEPS_ERRNO(coop_cancel(coop_self()), 0);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, COOP_FOREVER), -ECANCELED);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, COOP_NOWAIT), -ECANCELED);
	expect_blocked("contender", COOP_WAIT_MUTEX, mx);
	leave_section();
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	/* A7.1: not the owner (the contender is) comes before the cancellation. */
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, COOP_FOREVER), -EPERM);
	return NULL;
}

static void *cv1_contender(void *arg)
{
	(void)arg;
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	enter_section();
	acquired[nacq++] = 1;
	leave_section();
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	return NULL;
}

START_TEST(t_cv_1_signal_broadcast_return_paths)
{
	static const int want[] = {0, 1, 2}, want_all[] = {0, 1, 2, 3};

	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &mx), 0);
	TEST_KEEPS_ERRNO(coop_cond_create(ctx, &cv), 0);
	/* Long enough that no stall ends a wait before the signal. */
	cv_timeout = (test_slow_run() ? 200 : 50) * COOP_MSEC;

	/* Signal one, broadcast all, in wait order; every return 0. */
	cv_reset();
	spawn_detached("signaller", cv1_signaller, NULL);
	cv_spawn_waiters(3);
	start_ticker();
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	expect_order(cv_woken, ncv_woken, want, 3, "wake-up order");
	ck_assert_int_eq(cv_rc[0], 0);
	ck_assert_int_eq(cv_rc[1], 0);
	ck_assert_int_eq(cv_rc[2], 0);
	cv_join_waiters(3);

	/* -ETIMEDOUT, the signal sent before the wait lost (no memory). */
	cv_reset();
	TEST_KEEPS_ERRNO(coop_cond_signal(cv), 0);
	TEST_KEEPS_ERRNO(coop_cond_broadcast(cv), 0);
	cv_deadline[0] = 1; /* now + cv_timeout, as it waits */
	cv_spawn_waiters(1);
	spawn_detached("hog", cv1_timeout_hog, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(cv_rc[0], -ETIMEDOUT);
	cv_join_waiters(1);

	/* -ECANCELED, the mutex owned by the canceller, then free. */
	cv_reset();
	cv_spawn_waiters(2);
	spawn_detached("canceller", cv1_canceller, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(cv_rc[0], -ECANCELED);
	ck_assert_int_eq(cv_rc[1], -ECANCELED);
	cv_join_waiters(2);

	/* From outside a task (R4 lets both through): signal makes the
	 * first waiter the owner of the free mutex, so broadcast moves every
	 * other onto it. */
	cv_reset();
	cv_spawn_waiters(4);
	TEST_KEEPS_ERRNO(coop_run(ctx), -EDEADLK);
	TEST_KEEPS_ERRNO(coop_cond_signal(cv), 0);
	ck_assert_int_eq(state_of("w0"), COOP_TASK_READY);
	TEST_KEEPS_ERRNO(coop_cond_broadcast(cv), 0);
	expect_blocked("w1", COOP_WAIT_MUTEX, mx);
	expect_blocked("w2", COOP_WAIT_MUTEX, mx);
	expect_blocked("w3", COOP_WAIT_MUTEX, mx);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	expect_order(cv_woken, ncv_woken, want_all, 4, "wake-up order");
	cv_join_waiters(4);

	/* -ECANCELED at entry. */
	cv_reset();
	spawn_detached("pending", cv1_pending_cancel, NULL);
	spawn_detached("contender", cv1_contender, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(nacq, 1);

	TEST_KEEPS_ERRNO(coop_cond_destroy(cv), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx), 0);
}
END_TEST

/*
 * A7.5 (with T-CV-1): coop_cond_wait with an effective deadline already
 * passed (0, a past time, a passed ambient deadline) returns -ETIMEDOUT at
 * once, without switching and without letting go of the mutex: a task
 * waiting to lock it does not get it.  Its other errors: -EPERM when the
 * caller does not own the mutex (owned by another, or free; outside a
 * task), whatever the deadline; -EXDEV when the condition variable and
 * the mutex belong to different contexts (before -EPERM); -EINVAL first.
 */
static struct coop_mutex *m_other;
static struct coop_cond *cv_other;

static void *a75_owner(void *arg)
{
	int64_t old = 0;
	long t0;

	(void)arg;
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	enter_section();
	YIELD_UNTIL(state_of("contender") == COOP_TASK_BLOCKED);
	t0 = ticks;
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, COOP_NOWAIT), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, 1), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, coop_now()), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_set_deadline(1, &old), 0);
	ck_assert_int_eq(old, COOP_FOREVER);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, COOP_FOREVER), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, coop_deadline_in(COOP_SEC)), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_set_deadline(COOP_FOREVER, NULL), 0);
	ck_assert_int_eq(ticks, t0);
	expect_blocked("contender", COOP_WAIT_MUTEX, mx);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_NOWAIT), -EDEADLK); /* still the owner */
	cv_step = 1;
	YIELD_UNTIL(cv_step == 2);
	leave_section();
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	return NULL;
}

static void *a75_other(void *arg)
{
	struct coop_mutex *free_m = NULL;

	(void)arg;
	YIELD_UNTIL(cv_step == 1);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, COOP_FOREVER), -EPERM); /* the owner has it */
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, COOP_NOWAIT), -EPERM);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, 1), -EPERM);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, -2), -EINVAL);
	TEST_KEEPS_ERRNO(coop_cond_wait(NULL, mx, COOP_FOREVER), -EINVAL);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, NULL, COOP_FOREVER), -EINVAL);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, m_other, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv_other, mx, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv_other, m_other, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_mutex_create(NULL, &free_m), 0);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, free_m, COOP_FOREVER), -EPERM); /* free: not owned */
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, free_m, COOP_NOWAIT), -EPERM);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(free_m), 0);
	cv_step = 2;
	ticker_stop = 1;
	return NULL;
}

START_TEST(t_cv_1_a7_5_passed_deadline_keeps_mutex)
{
	reset_logs();
	cv_step = nacq = 0;
	TEST_KEEPS_ERRNO(coop_context_create(&ctx2, NULL), 0);
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &mx), 0);
	TEST_KEEPS_ERRNO(coop_cond_create(ctx, &cv), 0);
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx2, &m_other), 0);
	TEST_KEEPS_ERRNO(coop_cond_create(ctx2, &cv_other), 0);
	/* Outside a task: no owner, so -EPERM; -EXDEV before it. */
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, COOP_FOREVER), -EPERM);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, COOP_NOWAIT), -EPERM);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, m_other, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, -2), -EINVAL);
	spawn_detached("owner", a75_owner, NULL);
	spawn_detached("contender", cv1_contender, NULL);
	spawn_detached("other", a75_other, NULL);
	start_ticker();
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(nacq, 1); /* the contender got it, after the owner let go */
	TEST_KEEPS_ERRNO(coop_cond_destroy(cv), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx), 0);
	TEST_KEEPS_ERRNO(coop_cond_destroy(cv_other), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(m_other), 0);
}
END_TEST

/*
 * T-CV-2: wait morphing.  100 waiters; the broadcaster broadcasts while
 * holding the mutex: every waiter is then BLOCKED on the mutex (not
 * runnable), wait_object the mutex, no deadline (theirs no longer ends the
 * wait, and a cancellation does not either).  Once it unlocks, each
 * waiter is made runnable exactly once, owning the mutex: a sampler task
 * that runs between any two of them counts each waiter's READY spells,
 * and each waiter, as it returns, sees every waiter still to come BLOCKED
 * on the mutex.
 */
#define CV2_N 100
static char cv2_name[CV2_N][8];
static int cv2_returns[CV2_N], cv2_spells[CV2_N], cv2_was_ready[CV2_N];
static int cv2_order[CV2_N], cv2_n, cv2_ready, cv2_sampling, cv2_bad, cv2_cancelled;
static struct coop_task *cv2_t[CV2_N];

static int cv2_index(const char *name)
{
	int i;

	if (name[0] != 'v' || sscanf(name + 1, "%d", &i) != 1 || i < 0 || i >= CV2_N)
		return -1;
	return i;
}

/* The waiters' entries, by index (NULL: ended). */
static struct coop_task_info cv2_buf[CV2_N + 8];

static const struct coop_task_info *cv2_snapshot(const struct coop_task_info *by[CV2_N])
{
	int n, i, k;

	for (i = 0; i < CV2_N + 8; i++)
		cv2_buf[i].size = sizeof(cv2_buf[i]);
	for (i = 0; i < CV2_N; i++)
		by[i] = NULL;
	n = coop_context_tasks(ctx, cv2_buf, CV2_N + 8);
	ck_assert_int_ge(n, 0);
	ck_assert_int_le(n, CV2_N + 8);
	for (i = 0; i < n; i++)
		if ((k = cv2_index(cv2_buf[i].name)) >= 0)
			by[k] = &cv2_buf[i];
	return cv2_buf;
}

static void *cv2_waiter(void *arg)
{
	const struct coop_task_info *by[CV2_N];
	int id = (int)(intptr_t)arg, j;

	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	cv2_ready++;
	/* A deadline that passes while the broadcaster holds the mutex. */
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, coop_deadline_in(cv_timeout)), 0);
	enter_section();
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_NOWAIT), id == 50 ? -ECANCELED : -EDEADLK);
	cv2_returns[id]++;
	cv2_order[cv2_n++] = id;
	cv2_snapshot(by);
	for (j = 0; j < CV2_N; j++)
		if (j != id && !cv2_returns[j] &&
		    !(by[j] && by[j]->state == COOP_TASK_BLOCKED && by[j]->wait == COOP_WAIT_MUTEX &&
		      by[j]->wait_object == mx))
			cv2_bad++;
	if (id == 50)
		cv2_cancelled = coop_cancelled();
	leave_section();
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	return NULL;
}

static void *cv2_sampler(void *arg)
{
	const struct coop_task_info *by[CV2_N];
	int j;

	(void)arg;
	while (cv2_n < CV2_N) {
		if (cv2_sampling) {
			cv2_snapshot(by);
			for (j = 0; j < CV2_N; j++) {
				int ready = by[j] && by[j]->state == COOP_TASK_READY;

				if (ready && !cv2_was_ready[j])
					cv2_spells[j]++;
				cv2_was_ready[j] = ready;
			}
		}
		ck_assert_int_eq(coop_yield(), 0);
	}
	return NULL;
}

static void *cv2_broadcaster(void *arg)
{
	const struct coop_task_info *by[CV2_N];
	int64_t until;
	int j;

	(void)arg;
	YIELD_UNTIL(cv2_ready == CV2_N);
	cv2_snapshot(by);
	for (j = 0; j < CV2_N; j++) {
		ck_assert_ptr_nonnull(by[j]);
		ck_assert_int_eq(by[j]->state, COOP_TASK_BLOCKED);
		ck_assert_int_eq(by[j]->wait, COOP_WAIT_COND);
		ck_assert_ptr_eq(by[j]->wait_object, cv);
	}
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	enter_section();
	TEST_KEEPS_ERRNO(coop_cond_broadcast(cv), 0);
	cv2_snapshot(by);
	for (j = 0; j < CV2_N; j++) {
		ck_assert_int_eq(by[j]->state, COOP_TASK_BLOCKED);
		ck_assert_int_eq(by[j]->wait, COOP_WAIT_MUTEX);
		ck_assert_ptr_eq(by[j]->wait_object, mx);
		ck_assert_int_eq(by[j]->wait_deadline, COOP_FOREVER);
	}
	/* Neither their deadlines nor a cancellation ends that wait. */
	TEST_KEEPS_ERRNO(coop_cancel(cv2_t[50]), 0);
	until = coop_deadline_in(cv_timeout + COOP_MSEC);
	while (coop_now() < until)
		ck_assert_int_eq(coop_sleep_until(until), 0);
	cv2_snapshot(by);
	for (j = 0; j < CV2_N; j++) {
		ck_assert_int_eq(by[j]->state, COOP_TASK_BLOCKED);
		ck_assert_int_eq(by[j]->wait, COOP_WAIT_MUTEX);
	}
	cv2_sampling = 1;
	leave_section();
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	return NULL;
}

START_TEST(t_cv_2_wait_morphing)
{
	int i;

	reset_logs();
	cv2_n = cv2_ready = cv2_sampling = cv2_bad = 0;
	cv2_cancelled = -1;
	/* Long enough that no stall ends a wait before the signal. */
	cv_timeout = (test_slow_run() ? 200 : 50) * COOP_MSEC;
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &mx), 0);
	TEST_KEEPS_ERRNO(coop_cond_create(ctx, &cv), 0);
	spawn_detached("broadcaster", cv2_broadcaster, NULL);
	spawn_detached("sampler", cv2_sampler, NULL);
	for (i = 0; i < CV2_N; i++) {
		cv2_returns[i] = cv2_spells[i] = cv2_was_ready[i] = 0;
		snprintf(cv2_name[i], sizeof(cv2_name[i]), "v%d", i);
		cv2_t[i] = test_spawn_named(ctx, cv2_name[i], cv2_waiter, (void *)(intptr_t)i);
	}
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(cv2_n, CV2_N);
	for (i = 0; i < CV2_N; i++) {
		ck_assert_int_eq(cv2_order[i], i);
		ck_assert_int_eq(cv2_returns[i], 1);
		ck_assert_msg(cv2_spells[i] == 1, "v%d was made runnable %d times", i,
		              cv2_spells[i]);
		TEST_KEEPS_ERRNO(coop_join(cv2_t[i], NULL), 0);
	}
	ck_assert_int_eq(cv2_bad, 0);
	ck_assert_int_eq(cv2_cancelled, 1); /* completion won; still pending */
	TEST_KEEPS_ERRNO(coop_cond_destroy(cv), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx), 0);
}
END_TEST

/*
 * T-CV-3: no spurious wake-up.  10^6 waits with nobody signalling, each
 * with a deadline, all return -ETIMEDOUT: most with a deadline already
 * passed (0, a past time, a passed ambient deadline), which return at once
 * without letting go of the mutex (a contender stays queued throughout);
 * then a few thousand real waits on a short future deadline, each ended by
 * it, never before it, owning the mutex.
 */
static int cv3_fast_done, cv3_contender_at, cv3_bad, cv3_real;

/* The ticker without an assertion per run: each passing Check assertion
 * is a write(2) to the runner, and this one runs all through the real
 * waits. */
static void *quiet_ticker(void *arg)
{
	int bad = 0;

	(void)arg;
	while (!ticker_stop) {
		ticks++;
		bad |= coop_yield();
	}
	ck_assert_int_eq(bad, 0);
	return NULL;
}

static void *cv3_contender(void *arg)
{
	(void)arg;
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	cv3_contender_at = cv3_fast_done;
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	return NULL;
}

static void *cv3_waiter(void *arg)
{
	int64_t d, old = 0;
	int i, rc, n = test_slow_run() ? 300 : 3000;
	long t0;

	(void)arg;
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	YIELD_UNTIL(state_of("contender") == COOP_TASK_BLOCKED);
	for (i = 0; i < 1000000 - 1000 - n; i++) {
		switch (i & 63) {
		case 0:
			d = coop_now();
			break;
		case 1:
			d = 1;
			break;
		default:
			d = COOP_NOWAIT;
		}
		if (coop_cond_wait(cv, mx, d) != -ETIMEDOUT)
			cv3_bad++;
	}
	TEST_KEEPS_ERRNO(coop_set_deadline(1, &old), 0);
	for (i = 0; i < 1000; i++)
		if (coop_cond_wait(cv, mx, i & 1 ? COOP_FOREVER : coop_deadline_in(COOP_SEC)) !=
		    -ETIMEDOUT)
			cv3_bad++;
	TEST_KEEPS_ERRNO(coop_set_deadline(old, NULL), 0);
	ck_assert_int_eq(cv3_bad, 0);
	/* It never let go. */
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_NOWAIT), -EDEADLK);
	expect_blocked("contender", COOP_WAIT_MUTEX, mx);
	cv3_fast_done = 1;
	/* Real waits: the first hands the mutex to the contender. */
	for (i = 0; i < n; i++) {
		d = coop_deadline_in(20 * COOP_USEC);
		t0 = ticks;
		errno = TEST_ERRNO_MARK;
		rc = coop_cond_wait(cv, mx, d);
		ck_assert_int_eq(errno, TEST_ERRNO_MARK);
		if (rc != -ETIMEDOUT || coop_now() < d)
			cv3_bad++;
		if (ticks != t0)
			cv3_real++;
	}
	ck_assert_int_eq(cv3_bad, 0);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	ticker_stop = 1;
	return NULL;
}

START_TEST(t_cv_3_no_spurious_wakeups)
{
	cv3_fast_done = cv3_bad = cv3_real = 0;
	cv3_contender_at = -1;
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &mx), 0);
	TEST_KEEPS_ERRNO(coop_cond_create(ctx, &cv), 0);
	spawn_detached("waiter", cv3_waiter, NULL);
	spawn_detached("contender", cv3_contender, NULL);
	ticks = 0;
	ticker_stop = 0;
	spawn_detached("ticker", quiet_ticker, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(cv3_bad, 0);
	ck_assert_int_eq(cv3_contender_at, 1); /* only once the real waits began */
	ck_assert_int_gt(cv3_real, 0);
	TEST_KEEPS_ERRNO(coop_cond_destroy(cv), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx), 0);
}
END_TEST

/* ========================================================= semaphore == */

/*
 * T-SEM-1: value semantics (outside a task: a unit or -EAGAIN whatever
 * the deadline; in a task: a unit at once without switching, -ETIMEDOUT
 * at deadline 0 when none is left) and FIFO hand-off: five waiters block
 * in the order w3, w1, w4, w0, w2 and get units in that order.  The
 * releaser's unit goes to the first waiter, which becomes runnable at
 * once; the releaser cannot take it back and its own acquire queues
 * behind the others, as does a task that was runnable all along.
 */
static int sem1_released, sem1_barger_saw;

static void *sem1_waiter(void *arg)
{
	int id = (int)(intptr_t)arg, i;

	for (i = 0; i < mx1_delay[id]; i++)
		ck_assert_int_eq(coop_yield(), 0);
	blocked[nblocked++] = id;
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_FOREVER), 0);
	acquired[nacq++] = id;
	ck_assert_int_eq(coop_yield(), 0);
	TEST_KEEPS_ERRNO(coop_sem_release(sem), 0); /* to the next in line */
	return NULL;
}

static void *sem1_barger(void *arg)
{
	(void)arg;
	YIELD_UNTIL(sem1_released);
	sem1_barger_saw = nacq;
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_FOREVER), 0);
	acquired[nacq++] = BARGER;
	TEST_KEEPS_ERRNO(coop_sem_release(sem), 0); /* nobody waits: the value goes to 1 */
	ticker_stop = 1;
	return NULL;
}

static void *sem1_releaser(void *arg)
{
	static const int want_blocked[] = {3, 1, 4, 0, 2};
	long t0;
	int i;

	(void)arg;
	/* Value semantics in a task: 2 units, then none. */
	t0 = ticks;
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_NOWAIT), 0);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_FOREVER), 0);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_NOWAIT), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, coop_now()), -ETIMEDOUT);
	ck_assert_int_eq(ticks, t0);
	YIELD_UNTIL(nblocked == 5);
	expect_order(blocked, nblocked, want_blocked, 5, "blocking order");
	for (i = 0; i < 5; i++)
		expect_blocked(wname[i], COOP_WAIT_SEM, sem);
	sem1_released = 1;
	t0 = ticks;
	TEST_KEEPS_ERRNO(coop_sem_release(sem), 0);
	ck_assert_int_eq(ticks, t0);
	ck_assert_int_eq(nacq, 0);
	expect_ready("w3");
	for (i = 0; i < 5; i++)
		if (i != 3)
			expect_blocked(wname[i], COOP_WAIT_SEM, sem);
	/* No barging: the unit is w3's. */
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_NOWAIT), -ETIMEDOUT);
	ck_assert_int_eq(ticks, t0);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_FOREVER), 0);
	acquired[nacq++] = RELEASER;
	TEST_KEEPS_ERRNO(coop_sem_release(sem), 0);
	return NULL;
}

START_TEST(t_sem_1_value_and_fifo)
{
	static const int want[] = {3, 1, 4, 0, 2, RELEASER, BARGER};
	int i;

	reset_logs();
	sem1_released = 0;
	sem1_barger_saw = -1;
	/* Outside a task (R4): a unit, or -EAGAIN whatever the deadline. */
	TEST_KEEPS_ERRNO(coop_sem_create(ctx, &sem, 3), 0);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_FOREVER), 0);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_NOWAIT), 0);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, coop_deadline_in(COOP_SEC)), 0);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_FOREVER), -EAGAIN);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_NOWAIT), -EAGAIN);
	TEST_KEEPS_ERRNO(coop_sem_release(sem), 0);
	TEST_KEEPS_ERRNO(coop_sem_release(sem), 0);
	/* Two units for the releaser to take. */
	spawn_detached("releaser", sem1_releaser, NULL);
	spawn_detached("barger", sem1_barger, NULL);
	for (i = 0; i < 5; i++)
		spawn_detached(wname[i], sem1_waiter, (void *)(intptr_t)i);
	start_ticker();
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	expect_order(acquired, nacq, want, 7, "acquisition order");
	ck_assert_int_eq(sem1_barger_saw, 0);
	/* Every unit was handed on; the barger's last release left 1. */
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_NOWAIT), 0);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_NOWAIT), -EAGAIN);
	TEST_KEEPS_ERRNO(coop_sem_destroy(sem), 0);
}
END_TEST

/* T-SEM-2: a release at UINT_MAX is -EOVERFLOW and changes nothing. */
static void *sem2_task(void *arg)
{
	(void)arg;
	TEST_KEEPS_ERRNO(coop_sem_release(sem), -EOVERFLOW);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_NOWAIT), 0);
	TEST_KEEPS_ERRNO(coop_sem_release(sem), 0);
	TEST_KEEPS_ERRNO(coop_sem_release(sem), -EOVERFLOW);
	return NULL;
}

START_TEST(t_sem_2_overflow)
{
	TEST_KEEPS_ERRNO(coop_sem_create(ctx, &sem, UINT_MAX), 0);
	TEST_KEEPS_ERRNO(coop_sem_release(sem), -EOVERFLOW);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_NOWAIT), 0);
	TEST_KEEPS_ERRNO(coop_sem_release(sem), 0);
	TEST_KEEPS_ERRNO(coop_sem_release(sem), -EOVERFLOW);
	spawn_detached("task", sem2_task, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	TEST_KEEPS_ERRNO(coop_sem_release(sem), -EOVERFLOW);
	TEST_KEEPS_ERRNO(coop_sem_destroy(sem), 0);
	/* One below: one release fits. */
	TEST_KEEPS_ERRNO(coop_sem_create(ctx, &sem, UINT_MAX - 1), 0);
	TEST_KEEPS_ERRNO(coop_sem_release(sem), 0);
	TEST_KEEPS_ERRNO(coop_sem_release(sem), -EOVERFLOW);
	TEST_KEEPS_ERRNO(coop_sem_destroy(sem), 0);
}
END_TEST

/* =========================================================== objects == */

/*
 * T-OBJ-1: a task of ctx calls every call on a channel, mutex, condition
 * variable, semaphore and group of ctx2: each is -EXDEV (A7.1: after
 * -EINVAL, before -EPERM, a pending cancellation and the operation), and
 * none of them changed anything (checked afterwards in ctx2).
 */
static struct coop_chan *o_ch, *o_own_ch;
static struct coop_mutex *o_m;
static struct coop_cond *o_cv;
static struct coop_sem *o_s;
static struct coop_group *o_g;

static void *returns_arg(void *arg)
{
	return arg;
}

/* Every call on ctx2's objects from a task of ctx. */
static void obj_calls_exdev(struct coop_context *mine, struct coop_chan *ch, struct coop_mutex *m, struct coop_cond *c,
                            struct coop_sem *s, struct coop_group *g)
{
	struct coop_task_opts o = {.size = sizeof(o), .group = g};
	struct coop_chan_op ops[2] = {
		{.size = sizeof(ops[0]), .chan = ch, .elem = NULL, .op = COOP_CHAN_RECV, .status = 7},
		{.size = sizeof(ops[0]), .chan = ch, .elem = NULL, .op = COOP_CHAN_RECV, .status = 7},
	};
	struct coop_task *t = (struct coop_task *)(intptr_t)1;
	struct coop_mutex *own_m = NULL;
	struct coop_cond *own_cv = NULL;
	int v = 5;

	TEST_KEEPS_ERRNO(coop_chan_send(ch, &v, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_chan_send(ch, &v, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_chan_send(ch, NULL, COOP_FOREVER), -EINVAL); /* elem_size > 0 */
	TEST_KEEPS_ERRNO(coop_chan_recv(ch, &v, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_chan_recv(ch, NULL, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_chan_recv(ch, &v, -2), -EINVAL);
	TEST_KEEPS_ERRNO(coop_chan_close(ch), -EXDEV);
	TEST_KEEPS_ERRNO(coop_chan_select(ops, 1, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_chan_select(ops, 1, COOP_FOREVER), -EXDEV);
	ck_assert_int_eq(ops[0].status, 7);
	ck_assert_int_eq(v, 5);
	if (o_own_ch) {
		/* Even after an op of its own context that is ready. */
		ops[0].chan = o_own_ch;
		ops[0].op = COOP_CHAN_SEND;
		ops[0].elem = &v;
		TEST_KEEPS_ERRNO(coop_chan_select(ops, 2, COOP_NOWAIT), -EXDEV);
		ck_assert_int_eq(ops[0].status, 7);
		ck_assert_int_eq(ops[1].status, 7);
		/* nothing sent */
		TEST_KEEPS_ERRNO(coop_chan_recv(o_own_ch, NULL, COOP_NOWAIT), -ETIMEDOUT);
	}
	TEST_KEEPS_ERRNO(coop_mutex_lock(m, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_mutex_lock(m, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_mutex_lock(m, -2), -EINVAL);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(m), -EXDEV); /* not -EPERM */
	TEST_KEEPS_ERRNO(coop_cond_wait(c, m, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_cond_wait(c, m, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_cond_signal(c), -EXDEV);
	TEST_KEEPS_ERRNO(coop_cond_broadcast(c), -EXDEV);
	/* One of the pair in the caller's context, owned: still -EXDEV. */
	TEST_KEEPS_ERRNO(coop_mutex_create(NULL, &own_m), 0);
	TEST_KEEPS_ERRNO(coop_cond_create(NULL, &own_cv), 0);
	TEST_KEEPS_ERRNO(coop_mutex_lock(own_m, COOP_FOREVER), 0);
	TEST_KEEPS_ERRNO(coop_cond_wait(c, own_m, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_cond_wait(own_cv, m, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(own_m), 0);
	TEST_KEEPS_ERRNO(coop_cond_destroy(own_cv), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(own_m), 0);
	TEST_KEEPS_ERRNO(coop_sem_acquire(s, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_sem_acquire(s, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_sem_release(s), -EXDEV);
	TEST_KEEPS_ERRNO(coop_group_wait(g, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_group_wait(g, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_group_cancel(g), -EXDEV);
	TEST_KEEPS_ERRNO(coop_spawn(mine, &t, returns_arg, NULL, &o), -EXDEV);
	ck_assert_ptr_eq(t, (struct coop_task *)(intptr_t)1);
}

static void *obj1_task(void *arg)
{
	(void)arg;
	obj_calls_exdev(ctx, o_ch, o_m, o_cv, o_s, o_g);
	/* -EXDEV before a pending cancellation. */
	TEST_KEEPS_ERRNO(coop_cancel(coop_self()), 0);
	TEST_KEEPS_ERRNO(coop_mutex_lock(o_m, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_cond_wait(o_cv, o_m, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_sem_acquire(o_s, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_chan_send(o_ch, arg, COOP_NOWAIT), -EINVAL); /* NULL elem */
	return NULL;
}

/* In ctx2, the objects are as they were made. */
static int obj1_member_cancelled;

static void *obj1_member(void *arg)
{
	(void)arg;
	obj1_member_cancelled = coop_cancelled();
	return NULL;
}

static void *obj1_home(void *arg)
{
	struct coop_task_opts o = {.size = sizeof(o), .group = o_g};
	int v = 0;

	(void)arg;
	TEST_KEEPS_ERRNO(coop_chan_recv(o_ch, &v, COOP_NOWAIT), -ETIMEDOUT); /* empty */
	v = 9;
	TEST_KEEPS_ERRNO(coop_chan_send(o_ch, &v, COOP_NOWAIT), 0); /* open */
	v = 0;
	TEST_KEEPS_ERRNO(coop_chan_recv(o_ch, &v, COOP_NOWAIT), 0);
	ck_assert_int_eq(v, 9);
	TEST_KEEPS_ERRNO(coop_mutex_lock(o_m, COOP_NOWAIT), 0); /* free */
	TEST_KEEPS_ERRNO(coop_cond_wait(o_cv, o_m, COOP_NOWAIT), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(o_m), 0);
	TEST_KEEPS_ERRNO(coop_sem_acquire(o_s, COOP_NOWAIT), 0); /* one unit, as made */
	TEST_KEEPS_ERRNO(coop_sem_acquire(o_s, COOP_NOWAIT), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_sem_release(o_s), 0);
	TEST_KEEPS_ERRNO(coop_spawn(ctx2, NULL, obj1_member, NULL, &o), 0); /* not cancelled */
	TEST_KEEPS_ERRNO(coop_group_wait(o_g, COOP_FOREVER), 0);
	return NULL;
}

static void obj_create_all(struct coop_context *c)
{
	TEST_KEEPS_ERRNO(coop_chan_create(c, &o_ch, sizeof(int), 1), 0);
	TEST_KEEPS_ERRNO(coop_mutex_create(c, &o_m), 0);
	TEST_KEEPS_ERRNO(coop_cond_create(c, &o_cv), 0);
	TEST_KEEPS_ERRNO(coop_sem_create(c, &o_s, 1), 0);
	TEST_KEEPS_ERRNO(coop_group_create(c, &o_g), 0);
}

static void obj_destroy_all(void)
{
	TEST_KEEPS_ERRNO(coop_chan_destroy(o_ch), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(o_m), 0);
	TEST_KEEPS_ERRNO(coop_cond_destroy(o_cv), 0);
	TEST_KEEPS_ERRNO(coop_sem_destroy(o_s), 0);
	TEST_KEEPS_ERRNO(coop_group_destroy(o_g), 0);
}

START_TEST(t_obj_1_other_context_exdev)
{
	TEST_KEEPS_ERRNO(coop_context_create(&ctx2, NULL), 0);
	obj_create_all(ctx2);
	TEST_KEEPS_ERRNO(coop_chan_create(ctx, &o_own_ch, sizeof(int), 1), 0);
	spawn_detached("stranger", obj1_task, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	obj1_member_cancelled = -1;
	TEST_KEEPS_ERRNO(coop_detach(test_spawn_named(ctx2, "home", obj1_home, NULL)), 0);
	TEST_KEEPS_ERRNO(coop_run(ctx2), 0);
	ck_assert_int_eq(obj1_member_cancelled, 0);
	obj_destroy_all();
	TEST_KEEPS_ERRNO(coop_chan_destroy(o_own_ch), 0);
	o_own_ch = NULL;
}
END_TEST

/*
 * T-OBJ-2: ctx NULL creates in the context running on the thread: from a
 * task of ctx, each object works there and is -EXDEV from a task of ctx2
 * (and one made from a task of ctx2 is ctx2's).  With no context running
 * (before, between and after runs, a context existing) it is -EPERM and
 * *out is left alone; -EINVAL (out NULL) comes first.
 */
static void *obj2_creator(void *arg)
{
	int v = 3;

	(void)arg;
	obj_create_all(NULL);
	TEST_KEEPS_ERRNO(coop_chan_send(o_ch, &v, COOP_NOWAIT), 0);
	v = 0;
	TEST_KEEPS_ERRNO(coop_chan_recv(o_ch, &v, COOP_NOWAIT), 0);
	ck_assert_int_eq(v, 3);
	TEST_KEEPS_ERRNO(coop_mutex_lock(o_m, COOP_NOWAIT), 0);
	TEST_KEEPS_ERRNO(coop_cond_wait(o_cv, o_m, COOP_NOWAIT), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_cond_signal(o_cv), 0);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(o_m), 0);
	TEST_KEEPS_ERRNO(coop_sem_acquire(o_s, COOP_NOWAIT), 0);
	TEST_KEEPS_ERRNO(coop_sem_release(o_s), 0);
	TEST_KEEPS_ERRNO(coop_group_wait(o_g, COOP_NOWAIT), 0);
	TEST_KEEPS_ERRNO(coop_group_cancel(o_g), 0);
	return NULL;
}

static void *obj2_stranger(void *arg)
{
	struct coop_mutex *m = NULL;

	(void)arg;
	obj_calls_exdev(ctx2, o_ch, o_m, o_cv, o_s, o_g);
	/* ctx NULL here is ctx2. */
	TEST_KEEPS_ERRNO(coop_mutex_create(NULL, &m), 0);
	TEST_KEEPS_ERRNO(coop_mutex_lock(m, COOP_NOWAIT), 0);
	TEST_KEEPS_ERRNO(coop_cond_wait(o_cv, m, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(m), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(m), 0);
	return NULL;
}

static void expect_eperm_outside(void)
{
	struct coop_chan *ch = (struct coop_chan *)(intptr_t)1;
	struct coop_mutex *m = (struct coop_mutex *)(intptr_t)1;
	struct coop_cond *c = (struct coop_cond *)(intptr_t)1;
	struct coop_sem *s = (struct coop_sem *)(intptr_t)1;
	struct coop_group *g = (struct coop_group *)(intptr_t)1;

	TEST_KEEPS_ERRNO(coop_chan_create(NULL, &ch, sizeof(int), 1), -EPERM);
	TEST_KEEPS_ERRNO(coop_mutex_create(NULL, &m), -EPERM);
	TEST_KEEPS_ERRNO(coop_cond_create(NULL, &c), -EPERM);
	TEST_KEEPS_ERRNO(coop_sem_create(NULL, &s, 1), -EPERM);
	TEST_KEEPS_ERRNO(coop_group_create(NULL, &g), -EPERM);
	ck_assert_ptr_eq(ch, (struct coop_chan *)(intptr_t)1);
	ck_assert_ptr_eq(m, (struct coop_mutex *)(intptr_t)1);
	ck_assert_ptr_eq(c, (struct coop_cond *)(intptr_t)1);
	ck_assert_ptr_eq(s, (struct coop_sem *)(intptr_t)1);
	ck_assert_ptr_eq(g, (struct coop_group *)(intptr_t)1);
}

START_TEST(t_obj_2_null_context)
{
	expect_eperm_outside();
	TEST_KEEPS_ERRNO(coop_context_create(&ctx2, NULL), 0);
	expect_eperm_outside();
	spawn_detached("creator", obj2_creator, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	expect_eperm_outside();
	test_spawn_named(ctx2, "stranger", obj2_stranger, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx2), 0);
	expect_eperm_outside();
	obj_destroy_all();
}
END_TEST

/*
 * T-OBJ-3: the context is destroyed while tasks wait on each kind of
 * object (a full channel's sender, an empty channel's receiver, a
 * 10-op select, a mutex's locker, a condition variable's waiter, a
 * signalled waiter moved onto its mutex, a semaphore's acquirers, a
 * group's member and waiter), while tasks own mutexes, and while a
 * channel holds elements.  Before, each destroy is -EBUSY; after, every
 * other call on them is -EXDEV, from outside a task and from a task of
 * another context, and each destroy is 0 (valgrind: no leak, no invalid
 * access).
 */
static struct coop_chan *o3_full, *o3_empty, *o3_sel;
static struct coop_mutex *o3_m, *o3_only, *o3_mcv, *o3_mcv2;
static struct coop_cond *o3_cv, *o3_cv2;
static struct coop_sem *o3_s;
static struct coop_group *o3_g;

static void *o3_filler(void *arg)
{
	int v;

	(void)arg;
	for (v = 1; v <= 3; v++)
		coop_chan_send(o3_full, &v, COOP_FOREVER); /* the third waits */
	return NULL;
}

static void *o3_receiver(void *arg)
{
	int v;

	(void)arg;
	coop_chan_recv(o3_empty, &v, COOP_FOREVER);
	return NULL;
}

static void *o3_selector(void *arg)
{
	struct coop_chan_op ops[10];
	int v[10], i;

	(void)arg;
	for (i = 0; i < 10; i++)
		ops[i] = (struct coop_chan_op){.size = sizeof(ops[i]), .chan = o3_sel,
		                               .elem = &v[i], .op = COOP_CHAN_RECV};
	coop_chan_select(ops, 10, COOP_FOREVER);
	return NULL;
}

static void *o3_holder(void *arg)
{
	(void)arg;
	TEST_KEEPS_ERRNO(coop_mutex_lock(o3_m, COOP_FOREVER), 0);
	TEST_KEEPS_ERRNO(coop_mutex_lock(o3_only, COOP_FOREVER), 0);
	coop_sem_acquire(o3_s, COOP_FOREVER);
	return NULL;
}

static void *o3_locker(void *arg)
{
	(void)arg;
	coop_mutex_lock(o3_m, COOP_FOREVER);
	return NULL;
}

static void *o3_cond_waiter(void *arg)
{
	struct coop_cond *c = arg == NULL ? o3_cv : o3_cv2;
	struct coop_mutex *m = arg == NULL ? o3_mcv : o3_mcv2;

	TEST_KEEPS_ERRNO(coop_mutex_lock(m, COOP_FOREVER), 0);
	coop_cond_wait(c, m, COOP_FOREVER);
	return NULL;
}

static void *o3_morpher(void *arg)
{
	(void)arg;
	YIELD_UNTIL(state_of("cw2") == COOP_TASK_BLOCKED);
	TEST_KEEPS_ERRNO(coop_mutex_lock(o3_mcv2, COOP_FOREVER), 0);
	TEST_KEEPS_ERRNO(coop_cond_signal(o3_cv2), 0);
	coop_sem_acquire(o3_s, COOP_FOREVER); /* holding o3_mcv2 */
	return NULL;
}

static void *o3_sem_waiter(void *arg)
{
	(void)arg;
	coop_sem_acquire(o3_s, COOP_FOREVER);
	return NULL;
}

static void *o3_member(void *arg)
{
	(void)arg;
	coop_sleep_until(COOP_FOREVER);
	return NULL;
}

static void *o3_group_waiter(void *arg)
{
	(void)arg;
	coop_group_wait(o3_g, COOP_FOREVER);
	return NULL;
}

/* Every call but destroy on the orphans (outside a task, or from a task
 * of ctx2). */
static void o3_calls_exdev(void)
{
	struct coop_task_opts o = {.size = sizeof(o), .group = o3_g};
	struct coop_chan_op op = {.size = sizeof(op), .chan = o3_full, .op = COOP_CHAN_RECV};
	struct coop_task *t = (struct coop_task *)(intptr_t)1;
	int v = 1;

	TEST_KEEPS_ERRNO(coop_chan_send(o3_full, &v, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_chan_send(o3_empty, &v, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_chan_recv(o3_full, &v, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_chan_recv(o3_sel, NULL, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_chan_close(o3_full), -EXDEV);
	TEST_KEEPS_ERRNO(coop_chan_select(&op, 1, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_mutex_lock(o3_m, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_mutex_lock(o3_only, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_mutex_lock(o3_m, -2), -EINVAL);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(o3_m), -EXDEV);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(o3_mcv2), -EXDEV);
	TEST_KEEPS_ERRNO(coop_cond_wait(o3_cv, o3_mcv, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_cond_wait(o3_cv, o3_mcv, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_cond_signal(o3_cv), -EXDEV);
	TEST_KEEPS_ERRNO(coop_cond_broadcast(o3_cv), -EXDEV);
	TEST_KEEPS_ERRNO(coop_sem_acquire(o3_s, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_sem_acquire(o3_s, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_sem_release(o3_s), -EXDEV);
	TEST_KEEPS_ERRNO(coop_group_wait(o3_g, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_group_cancel(o3_g), -EXDEV);
	TEST_KEEPS_ERRNO(coop_spawn(ctx2, &t, returns_arg, NULL, &o), -EXDEV);
	ck_assert_ptr_eq(t, (struct coop_task *)(intptr_t)1);
	ck_assert_int_eq(v, 1);
}

static void *o3_stranger(void *arg)
{
	struct coop_mutex *m = NULL;
	struct coop_cond *c = NULL;

	(void)arg;
	o3_calls_exdev();
	/* A live object of this context with an orphan. */
	TEST_KEEPS_ERRNO(coop_mutex_create(NULL, &m), 0);
	TEST_KEEPS_ERRNO(coop_cond_create(NULL, &c), 0);
	TEST_KEEPS_ERRNO(coop_mutex_lock(m, COOP_FOREVER), 0);
	TEST_KEEPS_ERRNO(coop_cond_wait(o3_cv, m, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_cond_wait(c, o3_mcv, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(m), 0);
	TEST_KEEPS_ERRNO(coop_cond_destroy(c), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(m), 0);
	return NULL;
}

START_TEST(t_obj_3_outlive_context)
{
	struct coop_task_opts o = {.size = sizeof(o), .name = "gm"};

	TEST_KEEPS_ERRNO(coop_chan_create(ctx, &o3_full, sizeof(int), 2), 0);
	TEST_KEEPS_ERRNO(coop_chan_create(ctx, &o3_empty, sizeof(int), 0), 0);
	TEST_KEEPS_ERRNO(coop_chan_create(ctx, &o3_sel, sizeof(int), 0), 0);
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &o3_m), 0);
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &o3_only), 0);
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &o3_mcv), 0);
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &o3_mcv2), 0);
	TEST_KEEPS_ERRNO(coop_cond_create(ctx, &o3_cv), 0);
	TEST_KEEPS_ERRNO(coop_cond_create(ctx, &o3_cv2), 0);
	TEST_KEEPS_ERRNO(coop_sem_create(ctx, &o3_s, 0), 0);
	TEST_KEEPS_ERRNO(coop_group_create(ctx, &o3_g), 0);
	spawn_detached("filler", o3_filler, NULL);
	spawn_detached("receiver", o3_receiver, NULL);
	spawn_detached("selector", o3_selector, NULL);
	spawn_detached("holder", o3_holder, NULL);
	spawn_detached("locker", o3_locker, NULL);
	spawn_detached("cw", o3_cond_waiter, NULL);
	spawn_detached("cw2", o3_cond_waiter, (void *)(intptr_t)2);
	spawn_detached("morpher", o3_morpher, NULL);
	spawn_detached("sw", o3_sem_waiter, NULL);
	o.group = o3_g;
	TEST_KEEPS_ERRNO(coop_spawn(ctx, NULL, o3_member, NULL, &o), 0);
	spawn_detached("gw", o3_group_waiter, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx), -EDEADLK); /* all wait, nothing can wake them */
	expect_blocked("filler", COOP_WAIT_CHAN, o3_full);
	expect_blocked("receiver", COOP_WAIT_CHAN, o3_empty);
	expect_blocked("selector", COOP_WAIT_SELECT, NULL);
	expect_blocked("holder", COOP_WAIT_SEM, o3_s);
	expect_blocked("locker", COOP_WAIT_MUTEX, o3_m);
	expect_blocked("cw", COOP_WAIT_COND, o3_cv);
	expect_blocked("cw2", COOP_WAIT_MUTEX, o3_mcv2);
	expect_blocked("morpher", COOP_WAIT_SEM, o3_s);
	expect_blocked("sw", COOP_WAIT_SEM, o3_s);
	expect_blocked("gw", COOP_WAIT_GROUP, o3_g);
	/* In use: -EBUSY, and nothing freed. */
	TEST_KEEPS_ERRNO(coop_chan_destroy(o3_full), -EBUSY);
	TEST_KEEPS_ERRNO(coop_chan_destroy(o3_empty), -EBUSY);
	TEST_KEEPS_ERRNO(coop_chan_destroy(o3_sel), -EBUSY);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(o3_m), -EBUSY);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(o3_only), -EBUSY); /* owned, nobody waiting */
	TEST_KEEPS_ERRNO(coop_mutex_destroy(o3_mcv2), -EBUSY);
	TEST_KEEPS_ERRNO(coop_cond_destroy(o3_cv), -EBUSY);
	TEST_KEEPS_ERRNO(coop_sem_destroy(o3_s), -EBUSY);
	TEST_KEEPS_ERRNO(coop_group_destroy(o3_g), -EBUSY);

	coop_context_destroy(ctx);
	ctx = NULL;
	TEST_KEEPS_ERRNO(coop_context_create(&ctx2, NULL), 0);
	o3_calls_exdev();
	test_spawn_named(ctx2, "stranger", o3_stranger, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx2), 0);
	o3_calls_exdev();

	TEST_KEEPS_ERRNO(coop_chan_destroy(o3_full), 0); /* holding two elements */
	TEST_KEEPS_ERRNO(coop_chan_destroy(o3_empty), 0);
	TEST_KEEPS_ERRNO(coop_chan_destroy(o3_sel), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(o3_m), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(o3_only), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(o3_mcv), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(o3_mcv2), 0);
	TEST_KEEPS_ERRNO(coop_cond_destroy(o3_cv), 0);
	TEST_KEEPS_ERRNO(coop_cond_destroy(o3_cv2), 0);
	TEST_KEEPS_ERRNO(coop_sem_destroy(o3_s), 0);
	TEST_KEEPS_ERRNO(coop_group_destroy(o3_g), 0);
}
END_TEST

/* ============================================ the rules, every wait == */

/*
 * R1-R3 for acquire and cond_wait as T-MX-4 for lock: a cancellation and
 * a deadline each end one waiter and leave the object as it was: the
 * semaphore's units and the others' order, the condition variable's
 * queue (the next signals reach the others, in order); a cancellation
 * pending at entry takes nothing.
 */
static int64_t rw_timeout;
static int rw_rc[8];
static struct coop_task *rw_t[8];

static void *rw_sem_waiter(void *arg)
{
	int id = (int)(intptr_t)arg, rc, e;

	blocked[nblocked++] = id;
	errno = TEST_ERRNO_MARK;
	rc = coop_sem_acquire(sem, id == 1 ? coop_deadline_in(rw_timeout) : COOP_FOREVER);
	e = errno;
	ck_assert_int_eq(e, TEST_ERRNO_MARK);
	rw_rc[id] = rc;
	if (rc == 0)
		acquired[nacq++] = id;
	return NULL;
}

static void *rw_sem_ctl(void *arg)
{
	int i;

	(void)arg;
	YIELD_UNTIL(nblocked == 4);
	SLEEP_UNTIL(rw_rc[1] != UNSET);
	ck_assert_int_eq(rw_rc[1], -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_cancel(rw_t[0]), 0); /* the head */
	for (i = 2; i < 4; i++)
		expect_blocked(wname[i], COOP_WAIT_SEM, sem);
	TEST_KEEPS_ERRNO(coop_sem_release(sem), 0);
	expect_ready("w2");
	TEST_KEEPS_ERRNO(coop_sem_release(sem), 0);
	expect_ready("w3");
	/* Both units went to waiters: none left. */
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_NOWAIT), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_sem_release(sem), 0);
	/* A cancellation pending at entry takes no unit, even one ready. */
	TEST_KEEPS_ERRNO(coop_cancel(coop_self()), 0);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_NOWAIT), -ECANCELED);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_FOREVER), -ECANCELED);
	ck_assert_int_eq(coop_shield(1), 0);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_NOWAIT), 0);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_NOWAIT), -ETIMEDOUT);
	return NULL;
}

static void *rw_cond_ctl(void *arg)
{
	(void)arg;
	YIELD_UNTIL(cv_ready == 4);
	SLEEP_UNTIL(cv_rc[1] != UNSET);
	ck_assert_int_eq(cv_rc[1], -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_cancel(cv_t[2]), 0);
	YIELD_UNTIL(cv_rc[2] != UNSET && !inside);
	ck_assert_int_eq(cv_rc[2], -ECANCELED);
	expect_blocked("w0", COOP_WAIT_COND, cv);
	expect_blocked("w3", COOP_WAIT_COND, cv);
	TEST_KEEPS_ERRNO(coop_cond_signal(cv), 0);
	expect_ready("w0");
	expect_blocked("w3", COOP_WAIT_COND, cv);
	YIELD_UNTIL(cv_rc[0] != UNSET && !inside);
	TEST_KEEPS_ERRNO(coop_cond_signal(cv), 0);
	expect_ready("w3");
	TEST_KEEPS_ERRNO(coop_cond_signal(cv), 0); /* nobody left */
	return NULL;
}

START_TEST(t_x_1_waits_leave_objects_alone)
{
	static const int want_sem[] = {2, 3};
	static const int want_cv[] = {1, 2, 0, 3};
	int i;

	rw_timeout = test_slow_run() ? 100 * COOP_MSEC : 10 * COOP_MSEC;

	/* Semaphore: w1 times out, w0 (the head) is cancelled. */
	reset_logs();
	TEST_KEEPS_ERRNO(coop_sem_create(ctx, &sem, 0), 0);
	spawn_detached("ctl", rw_sem_ctl, NULL);
	for (i = 0; i < 4; i++) {
		rw_rc[i] = UNSET;
		rw_t[i] = test_spawn_named(ctx, wname[i], rw_sem_waiter, (void *)(intptr_t)i);
	}
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(rw_rc[0], -ECANCELED);
	ck_assert_int_eq(rw_rc[1], -ETIMEDOUT);
	expect_order(acquired, nacq, want_sem, 2, "semaphore order");
	for (i = 0; i < 4; i++)
		TEST_KEEPS_ERRNO(coop_join(rw_t[i], NULL), 0);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_NOWAIT), -EAGAIN);
	TEST_KEEPS_ERRNO(coop_sem_destroy(sem), 0);

	/* Condition variable: w1 times out, w2 is cancelled; the signals
	 * reach w0 and w3, in that order. */
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &mx), 0);
	TEST_KEEPS_ERRNO(coop_cond_create(ctx, &cv), 0);
	cv_reset();
	cv_timeout = rw_timeout;
	cv_deadline[1] = 1;
	spawn_detached("ctl", rw_cond_ctl, NULL);
	cv_spawn_waiters(4);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(cv_rc[0], 0);
	ck_assert_int_eq(cv_rc[1], -ETIMEDOUT);
	ck_assert_int_eq(cv_rc[2], -ECANCELED);
	ck_assert_int_eq(cv_rc[3], 0);
	expect_order(cv_woken, ncv_woken, want_cv, 4, "condition variable returns");
	cv_join_waiters(4);
	TEST_KEEPS_ERRNO(coop_cond_destroy(cv), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx), 0);
}
END_TEST

/*
 * Destroy never frees what is in use: -EBUSY while a mutex is owned or
 * waited on, a condition variable or a semaphore waited on.  A waiter
 * leaves the queue when it is woken, before it runs: the object can be
 * destroyed at once after a cancellation, a signal, a release or an
 * unlock that handed it nothing.
 */
static int busy_rc[4];

static void *busy_locker(void *arg)
{
	(void)arg;
	busy_rc[0] = coop_mutex_lock(mx, COOP_FOREVER);
	if (busy_rc[0] == 0)
		TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	return NULL;
}

static void *busy_cond_waiter(void *arg)
{
	struct coop_mutex *m = arg;

	TEST_KEEPS_ERRNO(coop_mutex_lock(m, COOP_FOREVER), 0);
	busy_rc[1] = coop_cond_wait(cv, m, COOP_FOREVER);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(m), 0);
	return NULL;
}

static void *busy_acquirer(void *arg)
{
	(void)arg;
	busy_rc[2] = coop_sem_acquire(sem, COOP_FOREVER);
	return NULL;
}

static void *busy_ctl(void *arg)
{
	struct coop_task *t;
	struct coop_mutex *m2 = NULL;

	(void)arg;
	/* Mutex: owned; owned and waited on; handed over; cancelled waiter. */
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx), -EBUSY);
	t = test_spawn_named(ctx, "locker", busy_locker, NULL);
	YIELD_UNTIL(state_of("locker") == COOP_TASK_BLOCKED);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx), -EBUSY);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx), -EBUSY); /* the locker owns it */
	TEST_KEEPS_ERRNO(coop_join(t, NULL), 0);
	ck_assert_int_eq(busy_rc[0], 0);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	t = test_spawn_named(ctx, "locker", busy_locker, NULL);
	YIELD_UNTIL(state_of("locker") == COOP_TASK_BLOCKED);
	TEST_KEEPS_ERRNO(coop_cancel(t), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx), -EBUSY); /* still owned */
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx), 0); /* the cancelled locker left the queue */
	mx = NULL;
	TEST_KEEPS_ERRNO(coop_join(t, NULL), 0);
	ck_assert_int_eq(busy_rc[0], -ECANCELED);

	/* Condition variable: waited on; signalled (its mutex free). */
	TEST_KEEPS_ERRNO(coop_mutex_create(NULL, &m2), 0);
	t = test_spawn_named(ctx, "cw", busy_cond_waiter, m2);
	YIELD_UNTIL(state_of("cw") == COOP_TASK_BLOCKED);
	TEST_KEEPS_ERRNO(coop_cond_destroy(cv), -EBUSY);
	TEST_KEEPS_ERRNO(coop_cond_signal(cv), 0);
	TEST_KEEPS_ERRNO(coop_cond_destroy(cv), 0);
	cv = NULL;
	TEST_KEEPS_ERRNO(coop_mutex_destroy(m2), -EBUSY); /* the waiter owns it again */
	TEST_KEEPS_ERRNO(coop_join(t, NULL), 0);
	ck_assert_int_eq(busy_rc[1], 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(m2), 0);

	/* Semaphore: waited on; released to the waiter; cancelled waiter. */
	t = test_spawn_named(ctx, "acquirer", busy_acquirer, NULL);
	YIELD_UNTIL(state_of("acquirer") == COOP_TASK_BLOCKED);
	TEST_KEEPS_ERRNO(coop_sem_destroy(sem), -EBUSY);
	TEST_KEEPS_ERRNO(coop_sem_release(sem), 0);
	TEST_KEEPS_ERRNO(coop_sem_destroy(sem), 0);
	sem = NULL;
	TEST_KEEPS_ERRNO(coop_join(t, NULL), 0);
	ck_assert_int_eq(busy_rc[2], 0);
	return NULL;
}

static void *busy_ctl_sem_cancel(void *arg)
{
	struct coop_task *t;

	(void)arg;
	t = test_spawn_named(ctx, "acquirer", busy_acquirer, NULL);
	YIELD_UNTIL(state_of("acquirer") == COOP_TASK_BLOCKED);
	TEST_KEEPS_ERRNO(coop_sem_destroy(sem), -EBUSY);
	TEST_KEEPS_ERRNO(coop_cancel(t), 0);
	TEST_KEEPS_ERRNO(coop_sem_destroy(sem), 0);
	sem = NULL;
	TEST_KEEPS_ERRNO(coop_join(t, NULL), 0);
	ck_assert_int_eq(busy_rc[2], -ECANCELED);
	return NULL;
}

START_TEST(t_x_11_destroy_busy)
{
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &mx), 0);
	TEST_KEEPS_ERRNO(coop_cond_create(ctx, &cv), 0);
	TEST_KEEPS_ERRNO(coop_sem_create(ctx, &sem, 0), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_cond_destroy(NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_sem_destroy(NULL), -EINVAL);
	spawn_detached("ctl", busy_ctl, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_ptr_null(mx);
	ck_assert_ptr_null(cv);
	ck_assert_ptr_null(sem);
	TEST_KEEPS_ERRNO(coop_sem_create(ctx, &sem, 0), 0);
	spawn_detached("ctl", busy_ctl_sem_cancel, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_ptr_null(sem);
}
END_TEST

/*
 * The ambient deadline (coop_set_deadline) bounds lock, acquire and
 * cond_wait like their own: each waits until it, reported as the wait's
 * deadline, then -ETIMEDOUT with nothing taken (cond_wait owning its mutex
 * again); once it has passed, each returns -ETIMEDOUT at once, but a lock
 * or a unit free at once is still taken (R1).
 */
static int64_t amb_ms, amb_seen[3];
static int amb_done;

static void *amb_holder(void *arg)
{
	struct coop_task_info in;

	(void)arg;
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	while (!amb_done) {
		if ((in = test_info_of(ctx, "waiter")).state == COOP_TASK_BLOCKED) {
			if (in.wait == COOP_WAIT_MUTEX && in.wait_object == mx)
				amb_seen[0] = in.wait_deadline;
			else if (in.wait == COOP_WAIT_SEM)
				amb_seen[1] = in.wait_deadline;
			else if (in.wait == COOP_WAIT_COND)
				amb_seen[2] = in.wait_deadline;
		}
		ck_assert_int_eq(coop_yield(), 0);
	}
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	return NULL;
}

static void *amb_waiter(void *arg)
{
	struct coop_mutex *mine = arg;
	int64_t d[3], old = 0;
	long t0;

	YIELD_UNTIL(state_of("holder") == COOP_TASK_READY);
	d[0] = coop_deadline_in(amb_ms);
	TEST_KEEPS_ERRNO(coop_set_deadline(d[0], &old), 0);
	ck_assert_int_eq(old, COOP_FOREVER);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), -ETIMEDOUT);
	ck_assert_int_ge(coop_now(), d[0]);
	d[1] = coop_deadline_in(amb_ms);
	TEST_KEEPS_ERRNO(coop_set_deadline(d[1], NULL), 0);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_FOREVER), -ETIMEDOUT);
	ck_assert_int_ge(coop_now(), d[1]);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mine, COOP_FOREVER), 0);
	d[2] = coop_deadline_in(amb_ms);
	TEST_KEEPS_ERRNO(coop_set_deadline(d[2], NULL), 0);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mine, coop_deadline_in(1000 * COOP_SEC)), -ETIMEDOUT);
	ck_assert_int_ge(coop_now(), d[2]);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mine, COOP_NOWAIT), -EDEADLK); /* owned again */
	ck_assert_int_eq(amb_seen[0], d[0]);
	ck_assert_int_eq(amb_seen[1], d[1]);
	ck_assert_int_eq(amb_seen[2], d[2]);
	/* Passed: at once, without switching. */
	t0 = ticks;
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_FOREVER), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mine, COOP_FOREVER), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mine), 0);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mine, COOP_FOREVER), 0); /* free: taken */
	TEST_KEEPS_ERRNO(coop_sem_release(sem), 0);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_FOREVER), 0); /* a unit: taken */
	ck_assert_int_eq(ticks, t0);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mine), 0);
	TEST_KEEPS_ERRNO(coop_set_deadline(COOP_FOREVER, NULL), 0);
	amb_done = 1;
	ticker_stop = 1;
	return NULL;
}

START_TEST(t_x_1_ambient_deadline)
{
	struct coop_mutex *mine = NULL;

	amb_done = 0;
	amb_seen[0] = amb_seen[1] = amb_seen[2] = 0;
	amb_ms = (test_slow_run() ? 20 : 5) * COOP_MSEC;
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &mx), 0);
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &mine), 0);
	TEST_KEEPS_ERRNO(coop_cond_create(ctx, &cv), 0);
	TEST_KEEPS_ERRNO(coop_sem_create(ctx, &sem, 0), 0);
	spawn_detached("holder", amb_holder, NULL);
	spawn_detached("waiter", amb_waiter, mine);
	start_ticker();
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	ck_assert_int_eq(amb_done, 1);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mine), 0);
	TEST_KEEPS_ERRNO(coop_cond_destroy(cv), 0);
	TEST_KEEPS_ERRNO(coop_sem_destroy(sem), 0);
}
END_TEST

/*
 * R7 (T-X-5): a task looping on calls that complete at once (lock+unlock
 * of a free mutex, acquire+release of a semaphore with units, trylock of
 * a mutex another task owns, acquire at deadline 0 with no unit,
 * cond_wait with a passed deadline) yields after the 128th in a row, and
 * a wait or a yield refills its budget (test-ticker.h's harness).
 */
enum { BK_LOCK, BK_ACQ, BK_TRYLOCK, BK_ACQ_EMPTY, BK_COND_PASSED, BK_MIXED, BK_KINDS };
static struct budget_run bk_run;
static struct coop_mutex *bk_m, *bk_busy, *bk_own;
static struct coop_sem *bk_s, *bk_empty;

static int bk_call(int kind, int i)
{
	int ok;

	if (kind == BK_MIXED)
		kind = i % BK_MIXED;
	errno = TEST_ERRNO_MARK;
	switch (kind) {
	case BK_LOCK:
		ok = coop_mutex_lock(bk_m, COOP_FOREVER) == 0 && coop_mutex_unlock(bk_m) == 0;
		break;
	case BK_ACQ:
		ok = coop_sem_acquire(bk_s, COOP_FOREVER) == 0 && coop_sem_release(bk_s) == 0;
		break;
	case BK_TRYLOCK:
		ok = coop_mutex_lock(bk_busy, COOP_NOWAIT) == -ETIMEDOUT;
		break;
	case BK_ACQ_EMPTY:
		ok = coop_sem_acquire(bk_empty, COOP_NOWAIT) == -ETIMEDOUT;
		break;
	default:
		ok = coop_cond_wait(cv, bk_own, i & 1 ? COOP_NOWAIT : 1) == -ETIMEDOUT;
	}
	return ok && errno == TEST_ERRNO_MARK;
}

static void *bk_task(void *arg)
{
	TEST_KEEPS_ERRNO(coop_mutex_lock(bk_own, COOP_FOREVER), 0);
	budget_phase(&bk_run, (int)(intptr_t)arg, budget_sleep_refill);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(bk_own), 0);
	return NULL;
}

static void *bk_holder(void *arg)
{
	(void)arg;
	TEST_KEEPS_ERRNO(coop_mutex_lock(bk_busy, COOP_FOREVER), 0);
	while (!ticker_stop)
		ck_assert_int_eq(coop_yield(), 0);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(bk_busy), 0);
	return NULL;
}

START_TEST(t_x_5_budget_yields_at_128)
{
	char what[32];
	int kind, phase;

	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &bk_m), 0);
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &bk_busy), 0);
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &bk_own), 0);
	TEST_KEEPS_ERRNO(coop_sem_create(ctx, &bk_s, 1), 0);
	TEST_KEEPS_ERRNO(coop_sem_create(ctx, &bk_empty, 0), 0);
	TEST_KEEPS_ERRNO(coop_cond_create(ctx, &cv), 0);
	for (kind = 0; kind < BK_KINDS; kind++) {
		for (phase = 0; phase < 3; phase++) {
			bk_run = (struct budget_run){.call = bk_call, .kind = kind};
			spawn_detached("holder", bk_holder, NULL);
			spawn_detached("caller", bk_task, (void *)(intptr_t)phase);
			start_ticker();
			TEST_KEEPS_ERRNO(coop_run(ctx), 0);
			snprintf(what, sizeof(what), "kind %d", kind);
			budget_check(&bk_run, phase, what);
		}
	}
	TEST_KEEPS_ERRNO(coop_mutex_destroy(bk_m), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(bk_busy), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(bk_own), 0);
	TEST_KEEPS_ERRNO(coop_sem_destroy(bk_s), 0);
	TEST_KEEPS_ERRNO(coop_sem_destroy(bk_empty), 0);
	TEST_KEEPS_ERRNO(coop_cond_destroy(cv), 0);
}
END_TEST

/*
 * T-X-2 (Appendix B, these calls): every error each call lists, provoked
 * once, in one place (most also appear in the cases above).  -ENOMEM from
 * the creations cannot be provoked through the public API (the faults
 * suite's allocation hook can); R10 does not apply: these waits need no
 * kernel object.
 */
static void *eb_owner(void *arg)
{
	(void)arg;
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	YIELD_UNTIL(cv_step == 1);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	return NULL;
}

static void *eb_task(void *arg)
{
	struct coop_task *self = coop_self();

	(void)arg;
	/* coop_mutex_lock: -EDEADLK, -ETIMEDOUT, -ECANCELED, -EXDEV, -EINVAL. */
	TEST_KEEPS_ERRNO(coop_mutex_lock(m_other, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_mutex_lock(NULL, COOP_FOREVER), -EINVAL);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, -2), -EINVAL);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_NOWAIT), -ETIMEDOUT); /* the owner has it */
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, coop_deadline_in(COOP_MSEC)), -ETIMEDOUT);
	/* coop_mutex_unlock: -EPERM (not the owner), -EXDEV, -EINVAL. */
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), -EPERM);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(m_other), -EXDEV);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(NULL), -EINVAL);
	/* coop_mutex_destroy: -EBUSY (owned). */
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx), -EBUSY);
	cv_step = 1;
	YIELD_UNTIL(state_of("owner") != COOP_TASK_READY);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), 0);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), -EDEADLK);
	/* coop_cond_wait: -ETIMEDOUT (really waiting), -EPERM, -EXDEV, -EINVAL. */
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, coop_deadline_in(COOP_MSEC)), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, COOP_NOWAIT), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, m_other, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv_other, m_other, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_cond_wait(NULL, mx, COOP_NOWAIT), -EINVAL);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, NULL, COOP_NOWAIT), -EINVAL);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, -5), -EINVAL);
	/* coop_cond_signal, coop_cond_broadcast: -EXDEV, -EINVAL. */
	TEST_KEEPS_ERRNO(coop_cond_signal(cv_other), -EXDEV);
	TEST_KEEPS_ERRNO(coop_cond_broadcast(cv_other), -EXDEV);
	TEST_KEEPS_ERRNO(coop_cond_signal(NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_cond_broadcast(NULL), -EINVAL);
	/* coop_sem_acquire: -ETIMEDOUT (really waiting), -EXDEV, -EINVAL. */
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, coop_deadline_in(COOP_MSEC)), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_NOWAIT), -ETIMEDOUT);
	TEST_KEEPS_ERRNO(coop_sem_acquire(o_s, COOP_NOWAIT), -EXDEV);
	TEST_KEEPS_ERRNO(coop_sem_acquire(NULL, COOP_NOWAIT), -EINVAL);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, -2), -EINVAL);
	/* coop_sem_release: -EXDEV, -EINVAL (-EOVERFLOW: T-SEM-2). */
	TEST_KEEPS_ERRNO(coop_sem_release(o_s), -EXDEV);
	TEST_KEEPS_ERRNO(coop_sem_release(NULL), -EINVAL);
	/* -ECANCELED: lock, cond_wait, acquire. */
	TEST_KEEPS_ERRNO(coop_cancel(self), 0);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, COOP_FOREVER), -ECANCELED);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), 0);
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), -ECANCELED);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_FOREVER), -ECANCELED);
	return NULL;
}

START_TEST(t_x_2_error_matrix)
{
	struct coop_mutex *m = NULL;
	struct coop_cond *c = NULL;
	struct coop_sem *s = NULL;

	cv_step = 0;
	/* *_create: -EPERM (ctx NULL, none running); -EINVAL (out NULL): below. */
	TEST_KEEPS_ERRNO(coop_mutex_create(NULL, &m), -EPERM);
	TEST_KEEPS_ERRNO(coop_cond_create(NULL, &c), -EPERM);
	TEST_KEEPS_ERRNO(coop_sem_create(NULL, &s, 0), -EPERM);
	/* *_destroy: -EINVAL (-EBUSY: in the tasks, and t_x_11_destroy_busy). */
	TEST_KEEPS_ERRNO(coop_mutex_destroy(NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_cond_destroy(NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_sem_destroy(NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_context_create(&ctx2, NULL), 0);
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx, &mx), 0);
	TEST_KEEPS_ERRNO(coop_cond_create(ctx, &cv), 0);
	TEST_KEEPS_ERRNO(coop_sem_create(ctx, &sem, 0), 0);
	TEST_KEEPS_ERRNO(coop_mutex_create(ctx2, &m_other), 0);
	TEST_KEEPS_ERRNO(coop_cond_create(ctx2, &cv_other), 0);
	TEST_KEEPS_ERRNO(coop_sem_create(ctx2, &o_s, 0), 0);
	/* Outside a task: lock and cond_wait -EPERM, unlock -EPERM,
	 * acquire -EAGAIN; -EXDEV across contexts. */
	TEST_KEEPS_ERRNO(coop_mutex_lock(mx, COOP_FOREVER), -EPERM);
	TEST_KEEPS_ERRNO(coop_mutex_unlock(mx), -EPERM);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, mx, COOP_FOREVER), -EPERM);
	TEST_KEEPS_ERRNO(coop_cond_wait(cv, m_other, COOP_FOREVER), -EXDEV);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_FOREVER), -EAGAIN);
	TEST_KEEPS_ERRNO(coop_sem_acquire(sem, COOP_NOWAIT), -EAGAIN);
	spawn_detached("owner", eb_owner, NULL);
	spawn_detached("task", eb_task, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	/* cond and sem destroy: -EBUSY while waited on. */
	spawn_detached("w", busy_acquirer, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx), -EDEADLK);
	TEST_KEEPS_ERRNO(coop_sem_destroy(sem), -EBUSY);
	TEST_KEEPS_ERRNO(coop_sem_release(sem), 0);
	TEST_KEEPS_ERRNO(coop_sem_destroy(sem), 0);
	spawn_detached("cw", busy_cond_waiter, mx);
	TEST_KEEPS_ERRNO(coop_run(ctx), -EDEADLK);
	TEST_KEEPS_ERRNO(coop_cond_destroy(cv), -EBUSY);
	TEST_KEEPS_ERRNO(coop_cond_signal(cv), 0);
	TEST_KEEPS_ERRNO(coop_cond_destroy(cv), 0);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(mx), 0);
	TEST_KEEPS_ERRNO(coop_cond_destroy(cv_other), 0);
	TEST_KEEPS_ERRNO(coop_mutex_destroy(m_other), 0);
	TEST_KEEPS_ERRNO(coop_sem_destroy(o_s), 0);
}
END_TEST

/*
 * T-X-2, the creations' -EINVAL: out NULL, with a context or with ctx
 * NULL (A7.1: before -EPERM), from outside and from a task; and a channel
 * whose capacity * elem_size overflows.  Nothing is created.
 */
static void create_einval(struct coop_context *c)
{
	struct coop_chan *ch = (struct coop_chan *)(intptr_t)1;

	TEST_KEEPS_ERRNO(coop_chan_create(c, NULL, sizeof(int), 1), -EINVAL);
	TEST_KEEPS_ERRNO(coop_chan_create(c, &ch, 2, SIZE_MAX / 2 + 1), -EINVAL);
	ck_assert_ptr_eq(ch, (struct coop_chan *)(intptr_t)1);
	TEST_KEEPS_ERRNO(coop_group_create(c, NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_mutex_create(c, NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_cond_create(c, NULL), -EINVAL);
	TEST_KEEPS_ERRNO(coop_sem_create(c, NULL, 1), -EINVAL);
}

static void *create_einval_task(void *arg)
{
	(void)arg;
	create_einval(NULL);
	create_einval(ctx);
	return NULL;
}

START_TEST(t_x_2_create_out_null)
{
	create_einval(NULL);
	create_einval(ctx);
	spawn_detached("task", create_einval_task, NULL);
	TEST_KEEPS_ERRNO(coop_run(ctx), 0);
}
END_TEST

/* ============================================================== suite == */

static Suite *sync_suite(void)
{
	Suite *s = suite_create("sync");
	TCase *tc;

	tc = test_tcase(s, "mutex");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_mx_1_fifo_handoff);
	tcase_add_test(tc, t_mx_2_deadlk_eperm_trylock);
	tcase_add_test(tc, t_mx_3_end_holding_aborts);
	tcase_add_test(tc, t_mx_4_timeout_cancel_keep_order);
	tcase_add_loop_test(tc, t_x_8_other_thread_aborts, 0,
	                    (int)(sizeof(x8_names) / sizeof(x8_names[0])));

	tc = test_tcase(s, "cond");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_cv_1_signal_broadcast_return_paths);
	tcase_add_test(tc, t_cv_1_a7_5_passed_deadline_keeps_mutex);
	tcase_add_test(tc, t_cv_2_wait_morphing);
	tcase_add_test(tc, t_cv_3_no_spurious_wakeups);

	tc = test_tcase(s, "sem");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_sem_1_value_and_fifo);
	tcase_add_test(tc, t_sem_2_overflow);

	tc = test_tcase(s, "objects");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_obj_1_other_context_exdev);
	tcase_add_test(tc, t_obj_2_null_context);
	tcase_add_test(tc, t_obj_3_outlive_context);

	tc = test_tcase(s, "rules");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_x_1_waits_leave_objects_alone);
	tcase_add_test(tc, t_x_11_destroy_busy);
	tcase_add_test(tc, t_x_1_ambient_deadline);
	tcase_add_test(tc, t_x_5_budget_yields_at_128);
	tcase_add_test(tc, t_x_2_error_matrix);
	tcase_add_test(tc, t_x_2_create_out_null);
	return s;
}

int main(void)
{
	return test_run(sync_suite());
}
