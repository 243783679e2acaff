/*
 * test-poll.c: what waiting on fds costs the kernel (white-box: links the
 * library's objects for the poller's test hooks in src/poller.h).
 *
 * T-FD-12: in the default mode every blocking wait (re)arms its fd with
 * exactly one epoll_ctl (a reader waits, a writer writes, the reader
 * reads, N times: N calls); in the FD_CACHE mode the first wait registers
 * the fd and the waits after it make no epoll_ctl at all; a wait whose
 * deadline has passed makes none in either mode (poll(2) instead).
 * T-FD-16: with the epoll_wait fallback forced (millisecond timeouts, as
 * on a kernel without epoll_pwait2), a 50 ms sleep of a context that has
 * an fd waiter never returns before its deadline and blocks fewer than 10
 * times (no spinning on a timeout rounded down to 0), nor do 0.3 ms sleeps
 * or an fd wait's deadline; the same with epoll_pwait2.  And a writer
 * waiting on a socket whose peer shut down its writing side (an event
 * that wakes readers only) does not make the context spin.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "coop-private.h"
#include "poller.h"
#include "test-common.h"

static struct coop_context *ctx;

static void make_ctx(int mode)
{
	struct coop_context_opts o = {.size = sizeof(o),
	                              .flags = mode ? COOP_CONTEXT_FD_CACHE : 0};

	ck_assert_int_eq(coop_context_create(&ctx, &o), 0);
}

static void setup(void)
{
	ctx = NULL;
	coop__poll_force_epoll_wait = 0;
}

static void teardown(void)
{
	coop_context_destroy(ctx);
	ctx = NULL;
	coop__poll_force_epoll_wait = 0;
}

static const char *mode_name(int mode)
{
	return mode ? "FD_CACHE" : "default";
}

static void mk_pipe(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

/* Whether the task named `name` is blocked in an fd wait on fd. */
static int in_fd_wait(const char *name, int fd)
{
	static struct coop_task_info info[16];
	int n, i;

	for (i = 0; i < 16; i++)
		info[i].size = sizeof(info[i]);
	n = coop_context_tasks(ctx, info, 16);
	for (i = 0; i < n && i < 16; i++)
		if (strcmp(info[i].name, name) == 0)
			return info[i].state == COOP_TASK_BLOCKED && info[i].wait == COOP_WAIT_FD &&
			       info[i].wait_fd == fd;
	return 0;
}

#define YIELD_UNTIL(cond)                                                                         \
	do {                                                                                      \
		int64_t limit_ = coop_deadline_in(20 * COOP_SEC);                                 \
		while (!(cond)) {                                                                 \
			ck_assert_msg(coop_now() < limit_, "never true: %s", #cond);              \
			ck_assert_int_eq(coop_yield(), 0);                                        \
		}                                                                                 \
	} while (0)

static struct coop_task *spawn_named(const char *name, void *(*fn)(void *), void *arg)
{
	struct coop_task_opts o = {.size = sizeof(o), .name = name};
	struct coop_task *t = NULL;

	ck_assert_int_eq(coop_spawn(ctx, &t, fn, arg, &o), 0);
	return t;
}

/* ============================================================ T-FD-12 == */

#define N12 100
static int p12[2], consumed12, bad12;
static unsigned long ctl_first12, ctl_steady12, ctl_passed12;

static void *reader12(void *arg)
{
	unsigned long c0;
	char c;
	int i;

	(void)arg;
	/* The first wait (the context makes its epoll fd, registers the fd). */
	c0 = coop__poll_ctl_count(ctx);
	if (coop_fd_wait(p12[0], COOP_FD_READ, COOP_FOREVER) != (int)COOP_FD_READ)
		bad12++;
	ck_assert_int_eq(read(p12[0], &c, 1), 1);
	ctl_first12 = coop__poll_ctl_count(ctx) - c0;
	consumed12 = 1;
	/* N waits, each woken by one write. */
	c0 = coop__poll_ctl_count(ctx);
	for (i = 0; i < N12; i++) {
		if (coop_fd_wait(p12[0], COOP_FD_READ, COOP_FOREVER) != (int)COOP_FD_READ)
			bad12++;
		ck_assert_int_eq(read(p12[0], &c, 1), 1);
		consumed12 = i + 2;
	}
	ctl_steady12 = coop__poll_ctl_count(ctx) - c0;
	/* Waits whose deadline has passed: poll(2), no epoll_ctl. */
	c0 = coop__poll_ctl_count(ctx);
	for (i = 0; i < N12; i++)
		if (coop_fd_wait(p12[0], COOP_FD_READ, COOP_NOWAIT) != -ETIMEDOUT)
			bad12++;
	ctl_passed12 = coop__poll_ctl_count(ctx) - c0;
	ck_assert_int_eq(coop_fd_close(p12[0]), 0);
	ck_assert_int_eq(coop_fd_close(p12[1]), 0);
	return NULL;
}

static void *writer12(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < N12 + 1; i++) {
		YIELD_UNTIL(consumed12 == i && in_fd_wait("reader", p12[0]));
		ck_assert_int_eq(write(p12[1], "x", 1), 1);
	}
	return NULL;
}

START_TEST(t_fd_12_epoll_ctl_per_wait)
{
	make_ctx(_i);
	mk_pipe(p12);
	consumed12 = bad12 = 0;
	spawn_named("reader", reader12, NULL);
	spawn_named("writer", writer12, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(bad12, 0);
	fprintf(stderr, "T-FD-12, %s mode: first wait %lu epoll_ctl, %d waits after it %lu\n",
	        mode_name(_i), ctl_first12, N12, ctl_steady12);
	ck_assert_msg(ctl_first12 >= 1 && ctl_first12 <= 2, "%s mode: the first wait made %lu",
	              mode_name(_i), ctl_first12);
	if (_i == 0)
		ck_assert_msg(ctl_steady12 == N12, "default mode: %d blocking waits made %lu epoll_ctl",
		              N12, ctl_steady12);
	else
		ck_assert_msg(ctl_steady12 == 0, "FD_CACHE mode: %d blocking waits made %lu epoll_ctl",
		              N12, ctl_steady12);
	ck_assert_msg(ctl_passed12 == 0, "%s mode: %d waits with a passed deadline made %lu epoll_ctl",
	              mode_name(_i), N12, ctl_passed12);
}
END_TEST

/* ============================================================ T-FD-16 == */
/* A task waits on a pipe forever (so the context blocks in epoll, not in
 * clock_nanosleep); another sleeps, and waits on an idle fd with a
 * deadline.  Counted: the context's blocking waits in the kernel during
 * each. */

static int p16[2], q16[2], early16, bad16;
static unsigned long max_blocks50, max_blocks_short, blocks_fd;

static void *fdw16(void *arg)
{
	char c;

	(void)arg;
	ck_assert_int_eq(coop_fd_wait(p16[0], COOP_FD_READ, COOP_FOREVER), COOP_FD_READ);
	ck_assert_int_eq(read(p16[0], &c, 1), 1);
	return NULL;
}

static void *sleeper16(void *arg)
{
	unsigned long s0, n;
	int64_t d, now;
	int i, rc;

	(void)arg;
	YIELD_UNTIL(in_fd_wait("fdw", p16[0]));
	max_blocks50 = max_blocks_short = 0;
	for (i = 0; i < 3; i++) {
		s0 = coop__poll_sleep_count(ctx);
		d = coop_deadline_in(50 * COOP_MSEC);
		rc = coop_sleep_until(d);
		now = coop_now();
		n = coop__poll_sleep_count(ctx) - s0;
		if (rc != 0)
			bad16++;
		if (now < d)
			early16++;
		if (n > max_blocks50)
			max_blocks50 = n;
	}
	for (i = 0; i < 200; i++) {
		s0 = coop__poll_sleep_count(ctx);
		d = coop_deadline_in(300 * COOP_USEC);
		rc = coop_sleep_until(d);
		now = coop_now();
		n = coop__poll_sleep_count(ctx) - s0;
		if (rc != 0)
			bad16++;
		if (now < d)
			early16++;
		if (n > max_blocks_short)
			max_blocks_short = n;
	}
	/* An fd wait's deadline, the same way. */
	s0 = coop__poll_sleep_count(ctx);
	d = coop_deadline_in(20 * COOP_MSEC);
	rc = coop_fd_wait(q16[0], COOP_FD_READ, d);
	now = coop_now();
	blocks_fd = coop__poll_sleep_count(ctx) - s0;
	if (rc != -ETIMEDOUT)
		bad16++;
	if (now < d)
		early16++;
	ck_assert_int_eq(write(p16[1], "x", 1), 1);
	return NULL;
}

static void t_fd_16_run(int mode, int force)
{
	make_ctx(mode);
	coop__poll_force_epoll_wait = force;
	mk_pipe(p16);
	mk_pipe(q16);
	early16 = bad16 = 0;
	spawn_named("fdw", fdw16, NULL);
	spawn_named("sleeper", sleeper16, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(bad16, 0);
	ck_assert_msg(early16 == 0, "%d waits ended before their deadline", early16);
	ck_assert_msg(max_blocks50 >= 1 && max_blocks50 < 10,
	              "%s mode, epoll_%s: a 50 ms sleep blocked %lu times", mode_name(mode),
	              force ? "wait" : "pwait2", max_blocks50);
	ck_assert_msg(max_blocks_short >= 1 && max_blocks_short < 10,
	              "%s mode, epoll_%s: a 0.3 ms sleep blocked %lu times", mode_name(mode),
	              force ? "wait" : "pwait2", max_blocks_short);
	ck_assert_msg(blocks_fd >= 1 && blocks_fd < 10,
	              "%s mode, epoll_%s: a 20 ms fd wait blocked %lu times", mode_name(mode),
	              force ? "wait" : "pwait2", blocks_fd);
}

START_TEST(t_fd_16_epoll_wait_fallback_never_early)
{
	t_fd_16_run(_i, 1);
}
END_TEST

START_TEST(t_fd_16_epoll_pwait2_never_early)
{
	t_fd_16_run(_i, 0);
}
END_TEST

/* A writer waits on a socket whose buffer is full and whose peer shut
 * down its writing side: the kernel keeps reporting that shutdown, which
 * satisfies readers only.  The context must not wake over and over for
 * it while the writer waits (a 20 ms sleep of another task). */
static int sv17[2], wr_rc17, spin_bad17;
static unsigned long blocks17;

static void *wr17(void *arg)
{
	(void)arg;
	wr_rc17 = coop_fd_wait(sv17[0], COOP_FD_WRITE, coop_deadline_in(20 * COOP_SEC));
	return NULL;
}

static void *ctl17(void *arg)
{
	static char buf[65536];
	unsigned long s0;

	(void)arg;
	YIELD_UNTIL(in_fd_wait("wr", sv17[0]));
	ck_assert_int_eq(shutdown(sv17[1], SHUT_WR), 0);
	s0 = coop__poll_sleep_count(ctx);
	ck_assert_int_eq(coop_sleep_until(coop_deadline_in(20 * COOP_MSEC)), 0);
	blocks17 = coop__poll_sleep_count(ctx) - s0;
	if (!in_fd_wait("wr", sv17[0]))
		spin_bad17++;
	while (read(sv17[1], buf, sizeof(buf)) > 0)
		;
	return NULL;
}

START_TEST(t_fd_16_peer_shutdown_no_spin)
{
	static char chunk[4096];

	make_ctx(_i);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv17), 0);
	while (write(sv17[0], chunk, sizeof(chunk)) > 0)
		;
	while (write(sv17[0], chunk, 1) > 0)
		;
	spin_bad17 = 0;
	spawn_named("wr", wr17, NULL);
	spawn_named("ctl", ctl17, NULL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(spin_bad17, 0);
	ck_assert_msg(blocks17 >= 1 && blocks17 < 10,
	              "%s mode: the context blocked %lu times in a 20 ms sleep", mode_name(_i), blocks17);
	ck_assert_int_ne(wr_rc17 & COOP_FD_WRITE, 0);
}
END_TEST

static Suite *poll_suite(void)
{
	Suite *s = suite_create("poll");
	TCase *tc;

	tc = test_tcase(s, "costs");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, t_fd_12_epoll_ctl_per_wait, 0, 2);
	tcase_add_loop_test(tc, t_fd_16_epoll_wait_fallback_never_early, 0, 2);
	tcase_add_loop_test(tc, t_fd_16_epoll_pwait2_never_early, 0, 2);
	tcase_add_loop_test(tc, t_fd_16_peer_shutdown_no_spin, 0, 2);
	return s;
}

int main(void)
{
	return test_run(poll_suite());
}
