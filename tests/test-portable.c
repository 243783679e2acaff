/*
 * test-portable.c: the scheduler's contract and the original compat
 * program, with no test framework beyond tests/test-portable.h, so that
 * every target runs them, also where Debian has no Check (riscv64 in
 * bookworm).  The Check suites (test-task.c, test-compat.c) cover the same
 * ground and much more where Check exists.
 *
 * Covers FIFO round-robin order (also for a task spawned by a task),
 * results through coop_join() (returned and by coop_exit() from nested
 * calls, locals intact across yields), errno and the floating-point
 * rounding mode kept per task, the original two-task program through
 * <coop/compat.h> printing exactly its four lines, and coop 1.1's waits:
 * sleeps in deadline order and never early, a cancelled sleeper and a
 * cancelled group, fd waits and coop_read/coop_write through a pipe,
 * values through channels and a select, a mutex handed over in FIFO order
 * with a condition variable, and a semaphore: what the switch carries
 * across the library's wait path on every target.  And the ways in from
 * other threads (T-X-13): a notifier sent from a signal handler and from a
 * thread, callbacks posted from a thread in order, a call offloaded to a
 * pool thread, and a context driven through coop_context_fd and
 * coop_run_once by a poll(2) loop; each with and without the context's
 * epoll fd (a futex or the eventfd wakes it).
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <fenv.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <coop/coop.h>
#include <coop/compat.h>

#include "test-portable.h"

/* ------------------------------------------------------- order log -- */

static char order[256];
static size_t norder;

static void note(char c)
{
	T_ASSERT(norder < sizeof(order) - 1);
	order[norder++] = c;
	order[norder] = '\0';
}

static struct coop_context *new_context(void)
{
	struct coop_context *ctx = NULL;

	T_EQ_INT(coop_context_create(&ctx, NULL), 0);
	T_ASSERT(ctx != NULL);
	return ctx;
}

/* ------------------------------------------------------------ FIFO -- */

static struct coop_context *fifo_ctx;

/* arg is a letter: logs it three times, yielding in between; 'A' also
 * spawns 'C', which must queue behind 'B'. */
static void *letter_task(void *arg)
{
	char c = (char)(intptr_t)arg;
	int i;

	for (i = 0; i < 3; i++) {
		note(c);
		if (c == 'A' && i == 0)
			T_EQ_INT(coop_spawn(fifo_ctx, NULL, letter_task, (void *)(intptr_t)'C', NULL),
			         0);
		T_EQ_INT(coop_yield(), 0);
	}
	return NULL;
}

static void fifo_order(int unused)
{
	(void)unused;
	fifo_ctx = new_context();
	T_EQ_INT(coop_spawn(fifo_ctx, NULL, letter_task, (void *)(intptr_t)'A', NULL), 0);
	T_EQ_INT(coop_spawn(fifo_ctx, NULL, letter_task, (void *)(intptr_t)'B', NULL), 0);
	T_EQ_INT(coop_run(fifo_ctx), 0);
	T_EQ_STR(order, "ABCABCABC");
	coop_context_destroy(fifo_ctx);
}

/* -------------------------------------------------- join and exit -- */

static void *square_task(void *arg)
{
	intptr_t n = (intptr_t)arg;

	T_EQ_INT(coop_yield(), 0);
	return (void *)(n * n);
}

/* Recurses, yielding at every level with locals that must survive, and
 * leaves by coop_exit() from the deepest call. */
static __attribute__((noinline)) void deep(int depth, intptr_t acc)
{
	volatile int local = depth * 7;
	volatile double fp = depth * 0.5;

	if (depth < 0)
		return;
	T_EQ_INT(coop_yield(), 0);
	T_EQ_INT(local, depth * 7);
	T_ASSERT(fp == depth * 0.5);
	if (depth == 0)
		coop_exit((void *)(acc + 1000));
	deep(depth - 1, acc + depth);
	T_FAIL("coop_exit() returned");
}

static void *deep_task(void *arg)
{
	deep((int)(intptr_t)arg, 0);
	return NULL;
}

static void join_results(int unused)
{
	struct coop_context *ctx = new_context();
	struct coop_task *t[4];
	void *res;
	int i;

	(void)unused;
	for (i = 0; i < 3; i++)
		T_EQ_INT(coop_spawn(ctx, &t[i], square_task, (void *)(intptr_t)(i + 2), NULL), 0);
	T_EQ_INT(coop_spawn(ctx, &t[3], deep_task, (void *)(intptr_t)6, NULL), 0);
	T_EQ_INT(coop_run(ctx), 0);
	for (i = 0; i < 3; i++) {
		res = NULL;
		T_EQ_INT(coop_join(t[i], &res), 0);
		T_EQ_INT((intptr_t)res, (i + 2) * (i + 2));
	}
	res = NULL;
	T_EQ_INT(coop_join(t[3], &res), 0);
	/* 6 + 5 + ... + 1, then + 1000 at depth 0 */
	T_EQ_INT((intptr_t)res, 21 + 1000);
	coop_context_destroy(ctx);
}

/* ------------------------------------------------------------ errno -- */

static int errno_bad;

static void *errno_task(void *arg)
{
	int mine = (int)(intptr_t)arg;
	int i, rc, got;

	for (i = 0; i < 5; i++) {
		errno = mine;
		rc = coop_yield();
		got = errno;
		if (rc != 0 || got != mine)
			errno_bad++;
	}
	return NULL;
}

static void errno_per_task(int unused)
{
	struct coop_context *ctx = new_context();
	int rc, got;

	(void)unused;
	errno_bad = 0;
	T_EQ_INT(coop_spawn(ctx, NULL, errno_task, (void *)(intptr_t)EIO, NULL), 0);
	T_EQ_INT(coop_spawn(ctx, NULL, errno_task, (void *)(intptr_t)ENOENT, NULL), 0);
	errno = EXDEV;
	rc = coop_run(ctx);
	got = errno;
	T_EQ_INT(rc, 0);
	T_EQ_INT(got, EXDEV);
	T_EQ_INT(errno_bad, 0);
	coop_context_destroy(ctx);
}

/* --------------------------------------------------------- rounding -- */

static volatile double one = 1.0, three = 3.0;

struct round_result {
	int mode;    /* the mode the task sets */
	int mode_ok; /* fegetround() matched after every yield */
	double d;    /* 1/3 computed after the last yield */
};

static void *rounding_task(void *arg)
{
	struct round_result *r = arg;
	int i;

	T_EQ_INT(fesetround(r->mode), 0);
	r->mode_ok = 1;
	for (i = 0; i < 4; i++) {
		T_EQ_INT(coop_yield(), 0);
		if (fegetround() != r->mode)
			r->mode_ok = 0;
		r->d = one / three;
	}
	return NULL;
}

/* The rounding mode is floating-point control state: each task keeps its
 * own across switches, and a new task starts with its creator's. */
static void rounding_per_task(int unused)
{
	struct coop_context *ctx = new_context();
	struct round_result up = {FE_UPWARD, 0, 0}, tz = {FE_TOWARDZERO, 0, 0};
	volatile double near_d, up_d;
	int honoured;

	(void)unused;
	near_d = one / three;
	T_EQ_INT(fesetround(FE_UPWARD), 0);
	up_d = one / three;
	T_EQ_INT(fesetround(FE_TONEAREST), 0);
	/* Emulators and valgrind may ignore the mode; compare only if not. */
	honoured = up_d != near_d;

	T_EQ_INT(coop_spawn(ctx, NULL, rounding_task, &up, NULL), 0);
	T_EQ_INT(coop_spawn(ctx, NULL, rounding_task, &tz, NULL), 0);
	T_EQ_INT(fesetround(FE_DOWNWARD), 0);
	T_EQ_INT(coop_run(ctx), 0);
	T_EQ_INT(fegetround(), FE_DOWNWARD);
	T_EQ_INT(fesetround(FE_TONEAREST), 0);
	T_EQ_INT(up.mode_ok, 1);
	T_EQ_INT(tz.mode_ok, 1);
	if (honoured) {
		T_ASSERT(up.d > tz.d);
		T_ASSERT(tz.d == near_d);
		T_ASSERT(up.d == up_d);
	}
	coop_context_destroy(ctx);
}

static int inherited_mode = -1;

static void *report_mode(void *arg)
{
	(void)arg;
	inherited_mode = fegetround();
	return NULL;
}

static void rounding_inherited(int unused)
{
	struct coop_context *ctx = new_context();

	(void)unused;
	T_EQ_INT(fesetround(FE_TOWARDZERO), 0);
	T_EQ_INT(coop_spawn(ctx, NULL, report_mode, NULL, NULL), 0);
	T_EQ_INT(coop_run(ctx), 0);
	T_EQ_INT(inherited_mode, FE_TOWARDZERO);
	T_EQ_INT(fesetround(FE_TONEAREST), 0);
	coop_context_destroy(ctx);
}

/* -------------------------------------------- the original program -- */
/* examples/demo-compat.c, unchanged but for the name of main(): old-style
 * declarations on purpose, 4096-byte stacks the program mallocs. */

void my_async_func() { puts("Func1: 1"); yield; puts("Func1: 2"); dump; }
void my_async_func2() { puts("Func2: 1"); yield; puts("Func2: 2"); dump; }
static int original_main() {
    coop_context ctx = make_context();
    task_t t1 = {0}, t2 = {0};
    coop_stack s1 = {.size = 4096, .stack_bottom = malloc(4096)};
    coop_stack s2 = {.size = 4096, .stack_bottom = malloc(4096)};
    add_task(&ctx, &t1, s1, my_async_func);
    add_task(&ctx, &t2, s2, my_async_func2);
    start(&ctx);
    free(s1.stack_bottom); free(s2.stack_bottom);
    return 0;
}

/* Runs original_main() with stdout in a temporary file; its exact output
 * must be the original's four lines. */
static void compat_program(int unused)
{
	FILE *tmp = tmpfile();
	char out[256];
	size_t len;
	int saved, status;

	(void)unused;
	T_ASSERT(tmp != NULL);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	T_ASSERT(saved >= 0);
	T_ASSERT(dup2(fileno(tmp), STDOUT_FILENO) >= 0);
	status = original_main();
	fflush(stdout);
	T_ASSERT(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	T_EQ_INT(status, 0);
	rewind(tmp);
	len = fread(out, 1, sizeof(out) - 1, tmp);
	out[len] = '\0';
	fclose(tmp);
	T_EQ_STR(out, "Func1: 1\nFunc2: 1\nFunc1: 2\nFunc2: 2\n");
}

/* ------------------------------------------- time and cancellation -- */

static int64_t base, woke[3];

/* arg: the index; sleeps until base + 3 - index ms, so they wake in
 * reverse order (absolute deadlines, fixed before the run: however slow
 * the machine, the order of the deadlines is known). */
static void *sleeper_task(void *arg)
{
	intptr_t i = (intptr_t)arg;
	int64_t deadline = base + (3 - i) * COOP_MSEC;

	T_EQ_INT(coop_sleep_until(deadline), 0);
	woke[i] = coop_now();
	T_ASSERT(woke[i] >= deadline); /* never early (R1) */
	note((char)('0' + i));
	return arg;
}

static void *parked_task(void *arg)
{
	T_EQ_INT(coop_sleep_until(COOP_FOREVER), -ECANCELED);
	T_EQ_INT(coop_sleep_until(COOP_NOWAIT), -ECANCELED); /* sticky (R2) */
	note('p');
	return arg;
}

static void *canceller_task(void *arg)
{
	struct coop_group *g = arg;

	/* Nothing ends the group's sleeper: the wait times out, then the
	 * group is cancelled and waited for. */
	T_EQ_INT(coop_group_wait(g, base + COOP_MSEC), -ETIMEDOUT);
	T_EQ_INT(coop_group_cancel(g), 0);
	T_EQ_INT(coop_group_wait(g, COOP_FOREVER), 0);
	note('c');
	return arg;
}

static void time_and_cancel(int unused)
{
	struct coop_context *ctx = new_context();
	struct coop_task_opts o = {.size = sizeof(o)};
	struct coop_group *g;
	intptr_t i;

	(void)unused;
	T_EQ_INT(coop_group_create(ctx, &g), 0);
	for (i = 0; i < 3; i++)
		T_EQ_INT(coop_spawn(ctx, NULL, sleeper_task, (void *)i, NULL), 0);
	o.group = g;
	T_EQ_INT(coop_spawn(ctx, NULL, parked_task, NULL, &o), 0);
	/* Far enough ahead that every task has begun to wait by then. */
	base = coop_now() + 100 * COOP_MSEC;
	T_EQ_INT(coop_spawn(ctx, NULL, canceller_task, g, NULL), 0);
	T_EQ_INT(coop_run(ctx), 0);
	/* Deadlines expire earliest first (R6): the 1 ms sleeper, then the
	 * 1 ms group wait (the same deadline, its wait began later), whose
	 * cancel wakes the parked member, then the 2 and 3 ms sleepers.  On
	 * a machine that stalls for milliseconds (qemu), later deadlines may
	 * expire in the same round: they are then woken in the same order,
	 * ahead of the parked member the cancel queues. */
	T_ASSERT_MSG(strcmp(order, "2pc10") == 0 || strcmp(order, "21pc0") == 0 ||
	             strcmp(order, "210pc") == 0,
	             "order %s", order);
	T_ASSERT(woke[2] <= woke[1] && woke[1] <= woke[0]);
	T_EQ_INT(coop_group_destroy(g), 0);
	coop_context_destroy(ctx);
}

/* ------------------------------------------------ fds on a pipe -- */

static int pipefd[2];

static void *pipe_reader(void *arg)
{
	char buf[64 * 1024];
	size_t total = 0;
	ssize_t n;

	/* The writer fills the pipe (64 KiB) and waits: every byte arrives,
	 * in order, then end of file. */
	while ((n = coop_read(pipefd[0], buf, sizeof(buf), COOP_FOREVER)) > 0) {
		ssize_t k;

		for (k = 0; k < n; k++)
			T_ASSERT((unsigned char)buf[k] == (unsigned char)((total + (size_t)k) % 251));
		total += (size_t)n;
	}
	T_EQ_INT((int)n, 0);
	T_ASSERT(total == 256 * 1024);
	T_EQ_INT(coop_fd_close(pipefd[0]), 0);
	return arg;
}

static void *pipe_writer(void *arg)
{
	static unsigned char buf[256 * 1024];
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i % 251);
	T_EQ_INT(coop_fd_wait(pipefd[1], COOP_FD_WRITE, COOP_FOREVER), COOP_FD_WRITE);
	T_ASSERT(coop_write(pipefd[1], buf, sizeof(buf), COOP_FOREVER) == (ssize_t)sizeof(buf));
	T_EQ_INT(coop_fd_close(pipefd[1]), 0); /* the reader's end of file */
	return arg;
}

static void *pipe_timeout(void *arg)
{
	int p[2];

	T_EQ_INT(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	T_EQ_INT(coop_fd_wait(p[0], COOP_FD_READ, coop_deadline_in(COOP_MSEC)), -ETIMEDOUT);
	T_EQ_INT(coop_fd_close(p[1]), 0);
	T_EQ_INT(coop_fd_wait(p[0], COOP_FD_READ, COOP_FOREVER) & COOP_FD_READ, COOP_FD_READ);
	T_EQ_INT(coop_fd_close(p[0]), 0);
	return arg;
}

static void fds_on_pipes(int cache)
{
	struct coop_context_opts o = {.size = sizeof(o), .flags = cache ? COOP_CONTEXT_FD_CACHE : 0};
	struct coop_context *ctx = NULL;

	T_EQ_INT(coop_context_create(&ctx, &o), 0);
	T_EQ_INT(pipe2(pipefd, O_NONBLOCK | O_CLOEXEC), 0);
	T_EQ_INT(coop_spawn(ctx, NULL, pipe_reader, NULL, NULL), 0);
	T_EQ_INT(coop_spawn(ctx, NULL, pipe_writer, NULL, NULL), 0);
	T_EQ_INT(coop_spawn(ctx, NULL, pipe_timeout, NULL, NULL), 0);
	T_EQ_INT(coop_run(ctx), 0);
	coop_context_destroy(ctx);
}

/* -------------------------------------------- channels and locks -- */

static struct coop_chan *chan, *other;
static struct coop_mutex *mutex;
static struct coop_cond *cond;
static struct coop_sem *sem;
static int turn;

/* Sends one value through a select on `other` (buffered), then 0..999 on
 * chan (a rendezvous), then closes chan. */
static void *sender_task(void *arg)
{
	struct coop_chan_op ops[2];
	long i = -7;

	memset(ops, 0, sizeof(ops));
	ops[0] = (struct coop_chan_op){.size = sizeof(ops[0]), .chan = NULL, .op = COOP_CHAN_SEND};
	ops[1] = (struct coop_chan_op){.size = sizeof(ops[1]), .chan = other, .elem = &i,
	                               .op = COOP_CHAN_SEND, .status = 1};
	T_EQ_INT(coop_chan_select(ops, 2, COOP_FOREVER), 1);
	T_EQ_INT(ops[1].status, 0);
	for (i = 0; i < 1000; i++)
		T_EQ_INT(coop_chan_send(chan, &i, COOP_FOREVER), 0);
	T_EQ_INT(coop_chan_close(chan), 0);
	return arg;
}

static void *receiver_task(void *arg)
{
	long v, n = 0;
	int rc;

	T_EQ_INT(coop_chan_recv(other, &v, COOP_FOREVER), 0);
	T_ASSERT(v == -7);
	for (;;) {
		if ((rc = coop_chan_recv(chan, &v, COOP_FOREVER)) < 0)
			break;
		T_ASSERT(v == n);
		n++;
	}
	T_EQ_INT(rc, -EPIPE);
	T_ASSERT(n == 1000);
	return arg;
}

/* Tasks 'a' 'b' 'c' wait on the condition in that order; 'w' broadcasts
 * holding the mutex, so each wakes owning it, in order. */
static void *cond_task(void *arg)
{
	char c = (char)(intptr_t)arg;

	T_EQ_INT(coop_mutex_lock(mutex, COOP_FOREVER), 0);
	while (!turn)
		T_EQ_INT(coop_cond_wait(cond, mutex, COOP_FOREVER), 0);
	note(c);
	T_EQ_INT(coop_sem_acquire(sem, COOP_NOWAIT), 0);
	T_EQ_INT(coop_mutex_unlock(mutex), 0);
	return arg;
}

static void *broadcaster_task(void *arg)
{
	T_EQ_INT(coop_mutex_lock(mutex, COOP_FOREVER), 0);
	turn = 1;
	T_EQ_INT(coop_cond_broadcast(cond), 0);
	coop_yield(); /* the woken wait for the mutex, not for the CPU */
	note('w');
	T_EQ_INT(coop_mutex_unlock(mutex), 0);
	return arg;
}

static void chan_and_locks(int unused)
{
	struct coop_context *ctx = new_context();
	const char *c;

	(void)unused;
	T_EQ_INT(coop_chan_create(ctx, &chan, sizeof(long), 0), 0);
	T_EQ_INT(coop_chan_create(ctx, &other, sizeof(long), 1), 0);
	T_EQ_INT(coop_mutex_create(ctx, &mutex), 0);
	T_EQ_INT(coop_cond_create(ctx, &cond), 0);
	T_EQ_INT(coop_sem_create(ctx, &sem, 3), 0);
	T_EQ_INT(coop_spawn(ctx, NULL, receiver_task, NULL, NULL), 0);
	T_EQ_INT(coop_spawn(ctx, NULL, sender_task, NULL, NULL), 0);
	for (c = "abc"; *c; c++)
		T_EQ_INT(coop_spawn(ctx, NULL, cond_task, (void *)(intptr_t)*c, NULL), 0);
	T_EQ_INT(coop_spawn(ctx, NULL, broadcaster_task, NULL, NULL), 0);
	T_EQ_INT(coop_run(ctx), 0);
	T_EQ_STR(order, "wabc");
	T_EQ_INT(coop_sem_acquire(sem, COOP_NOWAIT), -EAGAIN); /* outside a task */
	T_EQ_INT(coop_chan_destroy(chan), 0);
	T_EQ_INT(coop_chan_destroy(other), 0);
	T_EQ_INT(coop_mutex_destroy(mutex), 0);
	T_EQ_INT(coop_cond_destroy(cond), 0);
	T_EQ_INT(coop_sem_destroy(sem), 0);
	coop_context_destroy(ctx);
}

/* -------------------------------------------- from other threads -- */

static struct coop_notify *ntf;
static pthread_t main_thread;
static volatile sig_atomic_t handler_calls;
static int sender_done; /* __atomic */
static uint64_t notified;

static void on_usr1(int sig)
{
	int saved = errno;

	(void)sig;
	handler_calls++;
	errno = 4242;
	if (coop_notify_send(ntf) != 0 || errno != 4242)
		_exit(3); /* not async-signal-safe as promised */
	errno = saved;
}

static void *signaller(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 50; i++) {
		pthread_kill(main_thread, SIGUSR1);
		usleep(200);
	}
	__atomic_store_n(&sender_done, 1, __ATOMIC_SEQ_CST);
	T_EQ_INT(coop_notify_send(ntf), 0); /* from a thread too */
	return arg;
}

/* Gives the context its epoll fd (and eventfd): mode 1. */
static void *epoll_maker(void *arg)
{
	int p[2];

	T_EQ_INT(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	T_EQ_INT(coop_fd_wait(p[0], COOP_FD_READ, coop_deadline_in(COOP_MSEC)), -ETIMEDOUT);
	close(p[0]);
	close(p[1]);
	return arg;
}

static void *notify_waiter(void *arg)
{
	uint64_t c;

	(void)arg;
	/* Until the thread is done and every handler call was counted. */
	while (!__atomic_load_n(&sender_done, __ATOMIC_SEQ_CST) ||
	       notified < (uint64_t)handler_calls + 1) {
		c = 0;
		T_EQ_INT(coop_notify_wait(ntf, &c, COOP_FOREVER), 0);
		T_ASSERT(c > 0);
		notified += c;
	}
	return arg;
}

static void notify_from_signals(int mode)
{
	struct coop_context *ctx;
	struct sigaction sa = {.sa_handler = on_usr1};
	pthread_t th;

#if defined(__i386__)
	/* qemu-i386 7.2 crashes or hangs a program that takes a signal on a
	 * stack of its own making, coop or not (tests/test-common.h). */
	if (getenv("COOP_TEST_QEMU")) {
		fprintf(stderr, "notify_from_signals: skipped under qemu-i386\n");
		return;
	}
#endif
	ctx = new_context();
	main_thread = pthread_self();
	sigemptyset(&sa.sa_mask);
	T_EQ_INT(sigaction(SIGUSR1, &sa, NULL), 0);
	T_EQ_INT(coop_notify_create(ctx, &ntf), 0);
	if (mode)
		T_EQ_INT(coop_spawn(ctx, NULL, epoll_maker, NULL, NULL), 0);
	T_EQ_INT(coop_spawn(ctx, NULL, notify_waiter, NULL, NULL), 0);
	T_EQ_INT(pthread_create(&th, NULL, signaller, NULL), 0);
	T_EQ_INT(coop_run(ctx), 0);
	T_EQ_INT(pthread_join(th, NULL), 0);
	/* The handler's sends and the thread's one, none lost or doubled. */
	T_EQ_UINT(notified, (uint64_t)handler_calls + 1);
	T_ASSERT(handler_calls > 0);
	T_EQ_INT(coop_notify_destroy(ntf), 0);
	coop_context_destroy(ctx);
}

#define NPOSTS 1000
static struct coop_context *post_ctx;
static int posts_seen[NPOSTS], nposts_seen;

static void on_post(void *arg)
{
	T_ASSERT(coop_self() == NULL); /* outside any task */
	posts_seen[nposts_seen++] = (int)(intptr_t)arg;
	if (nposts_seen == NPOSTS)
		T_EQ_INT(coop_notify_send(ntf), 0);
}

static void *poster(void *arg)
{
	int i;

	for (i = 0; i < NPOSTS; i++)
		T_EQ_INT(coop_context_post(post_ctx, on_post, (void *)(intptr_t)i), 0);
	return arg;
}

static void *square(void *arg)
{
	intptr_t v = (intptr_t)arg;

	T_EQ_INT(coop_offload_abandoned(), 0); /* on a pool thread */
	return (void *)(v * v);
}

static void *post_waiter(void *arg)
{
	void *r = NULL;

	T_EQ_INT(coop_notify_wait(ntf, NULL, COOP_FOREVER), 0);
	T_EQ_INT(coop_offload(square, (void *)(intptr_t)12, &r, COOP_FOREVER, NULL), 0);
	T_EQ_INT((intptr_t)r, 144);
	return arg;
}

static void posts_and_offload(int mode)
{
	pthread_t th;
	int i;

	post_ctx = new_context();
	nposts_seen = 0;
	T_EQ_INT(coop_notify_create(post_ctx, &ntf), 0);
	if (mode)
		T_EQ_INT(coop_spawn(post_ctx, NULL, epoll_maker, NULL, NULL), 0);
	T_EQ_INT(coop_spawn(post_ctx, NULL, post_waiter, NULL, NULL), 0);
	T_EQ_INT(pthread_create(&th, NULL, poster, NULL), 0);
	T_EQ_INT(coop_run(post_ctx), 0);
	T_EQ_INT(pthread_join(th, NULL), 0);
	T_EQ_INT(nposts_seen, NPOSTS);
	for (i = 0; i < NPOSTS; i++)
		T_EQ_INT(posts_seen[i], i);
	T_EQ_INT(coop_offload_abandoned(), -EPERM);
	T_EQ_INT(coop_notify_destroy(ntf), 0);
	coop_context_destroy(post_ctx);
}

static struct coop_chan *ping, *pong;

static void *pinger(void *arg)
{
	long v;

	for (v = 0; v < 100; v++) {
		T_EQ_INT(coop_chan_send(ping, &v, COOP_FOREVER), 0);
		T_EQ_INT(coop_chan_recv(pong, &v, COOP_FOREVER), 0);
	}
	return arg;
}

static void *ponger(void *arg)
{
	long v;
	int i;

	for (i = 0; i < 100; i++) {
		T_EQ_INT(coop_chan_recv(ping, &v, COOP_FOREVER), 0);
		T_EQ_INT(coop_chan_send(pong, &v, COOP_FOREVER), 0);
	}
	return arg;
}

static void *napper(void *arg)
{
	int64_t d = coop_deadline_in(5 * COOP_MSEC);

	T_EQ_INT(coop_sleep_until(d), 0);
	T_ASSERT(coop_now() >= d);
	return arg;
}

/* A poll(2) loop as the host: the fd says when a round has work. */
static void run_once_loop(int unused)
{
	struct coop_context *ctx = new_context();
	struct pollfd pfd;
	int left, rounds = 0, fd;

	(void)unused;
	T_EQ_INT(coop_chan_create(ctx, &ping, sizeof(long), 0), 0);
	T_EQ_INT(coop_chan_create(ctx, &pong, sizeof(long), 0), 0);
	T_EQ_INT(coop_spawn(ctx, NULL, pinger, NULL, NULL), 0);
	T_EQ_INT(coop_spawn(ctx, NULL, ponger, NULL, NULL), 0);
	T_EQ_INT(coop_spawn(ctx, NULL, napper, NULL, NULL), 0);
	fd = coop_context_fd(ctx);
	T_ASSERT(fd >= 0);
	T_EQ_INT(coop_context_fd(ctx), fd);
	do {
		pfd = (struct pollfd){.fd = fd, .events = POLLIN};
		T_EQ_INT(poll(&pfd, 1, 10000), 1); /* never a lost wake-up */
		left = coop_run_once(ctx, 0);
		T_ASSERT(left >= 0);
		rounds++;
	} while (left > 0);
	T_ASSERT(rounds > 100); /* a round runs each task once */
	T_EQ_INT(coop_run_once(ctx, COOP_FOREVER), 0);
	T_EQ_INT(coop_chan_destroy(ping), 0);
	T_EQ_INT(coop_chan_destroy(pong), 0);
	coop_context_destroy(ctx);
}

int main(void)
{
	static const struct t_case cases[] = {
		T_CASE(fifo_order),
		T_CASE(join_results),
		T_CASE(errno_per_task),
		T_CASE(rounding_per_task),
		T_CASE(rounding_inherited),
		T_CASE(compat_program),
		T_CASE(time_and_cancel),
		T_LOOP(fds_on_pipes, 0, 2),
		T_CASE(chan_and_locks),
		T_LOOP(notify_from_signals, 0, 2),
		T_LOOP(posts_and_offload, 0, 2),
		T_CASE(run_once_loop),
	};

	return t_run(cases, sizeof(cases) / sizeof(cases[0]));
}
