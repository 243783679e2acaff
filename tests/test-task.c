/*
 * test-task.c: task lifecycle and scheduling.
 *
 * Covers FIFO round-robin order (also for tasks spawned from inside a
 * task), results through coop_join() (return value and coop_exit(),
 * including coop_exit() and coop_yield() from nested calls with locals
 * intact), detached tasks (spawned with out == NULL, detached before running,
 * detached after finishing), coop_join() inside tasks (waiting for a
 * yielding child, a chain of joins) and outside any task (-EAGAIN, then the
 * result), every documented error (-EDEADLK for self and for a join cycle,
 * -EINVAL for NULL, detached tasks, a second joiner, double detach, bad
 * spawn arguments, -EPERM for coop_yield() outside a task), coop_self(),
 * coop_task_name(), task options sizes, coop_exit() outside a task
 * aborting, per-task errno and floating-point rounding mode, 10,000 tasks,
 * and coop_version().
 */
#include <errno.h>
#include <fenv.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coop/coop.h>

#include "test-common.h"

/* Both tests and tasks use one context per test; tests run forked. */
static struct coop_context *ctx;

static void setup(void)
{
	ck_assert_int_eq(coop_context_create(&ctx, NULL), 0);
}

static void teardown(void)
{
	coop_context_destroy(ctx);
	ctx = NULL;
}

/* An order log: tasks append characters, tests compare the string. */
static char order[256];
static size_t norder;

static void note(char c)
{
	ck_assert_uint_lt(norder, sizeof(order) - 1);
	order[norder++] = c;
	order[norder] = '\0';
}

static void reset_order(void)
{
	norder = 0;
	order[0] = '\0';
}

/* ---------------------------------------------------------- ordering -- */

/* arg is the letter; logs it three times, yielding in between. */
static void *letter_task(void *arg)
{
	char c = (char)(intptr_t)arg;
	int i;

	for (i = 0; i < 3; i++) {
		note(c);
		ck_assert_int_eq(coop_yield(), 0);
	}
	return NULL;
}

START_TEST(round_robin_order)
{
	reset_order();
	ck_assert_int_eq(coop_spawn(ctx, NULL, letter_task, (void *)(intptr_t)'A', NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, letter_task, (void *)(intptr_t)'B', NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, letter_task, (void *)(intptr_t)'C', NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_str_eq(order, "ABCABCABC");
}
END_TEST

/* Logs its upper-case letter, yields, logs the lower-case one. */
static void *two_step(void *arg)
{
	char c = (char)(intptr_t)arg;

	note(c);
	ck_assert_int_eq(coop_yield(), 0);
	note((char)(c - 'A' + 'a'));
	return NULL;
}

static void *spawner(void *arg)
{
	(void)arg;
	note('A');
	/* D goes to the tail now, behind B and C, ahead of A's yield. */
	ck_assert_int_eq(coop_spawn(ctx, NULL, two_step, (void *)(intptr_t)'D', NULL), 0);
	ck_assert_int_eq(coop_yield(), 0);
	note('a');
	return NULL;
}

START_TEST(spawn_inside_appends)
{
	reset_order();
	ck_assert_int_eq(coop_spawn(ctx, NULL, spawner, NULL, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, two_step, (void *)(intptr_t)'B', NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, two_step, (void *)(intptr_t)'C', NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_str_eq(order, "ABCDabcd");
}
END_TEST

static void *note_arg(void *arg)
{
	note((char)(intptr_t)arg);
	return NULL;
}

/* A task spawned into the queue behind the spawner runs only after every
 * task already queued. */
static void *spawner_no_yield(void *arg)
{
	(void)arg;
	note('A');
	ck_assert_int_eq(coop_spawn(ctx, NULL, note_arg, (void *)(intptr_t)'X', NULL), 0);
	note('a');
	return NULL;
}

START_TEST(spawn_inside_runs_after_queue)
{
	reset_order();
	ck_assert_int_eq(coop_spawn(ctx, NULL, spawner_no_yield, NULL, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, note_arg, (void *)(intptr_t)'B', NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_str_eq(order, "AaBX");
}
END_TEST

/* ----------------------------------------------------------- results -- */

static void *return_arg_plus_one(void *arg)
{
	ck_assert_int_eq(coop_yield(), 0);
	return (char *)arg + 1;
}

static void *exit_with_arg(void *arg)
{
	ck_assert_int_eq(coop_yield(), 0);
	coop_exit(arg);
	ck_abort_msg("coop_exit() returned");
	return NULL;
}

START_TEST(results_through_join)
{
	static char base[4];
	struct coop_task *a = NULL, *b = NULL;
	void *res;

	ck_assert_int_eq(coop_spawn(ctx, &a, return_arg_plus_one, base, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, &b, exit_with_arg, &base[3], NULL), 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_ne(a, b);
	ck_assert_int_eq(coop_run(ctx), 0);
	res = NULL;
	ck_assert_int_eq(coop_join(a, &res), 0);
	ck_assert_ptr_eq(res, &base[1]);
	res = NULL;
	ck_assert_int_eq(coop_join(b, &res), 0);
	ck_assert_ptr_eq(res, &base[3]);
}
END_TEST

START_TEST(join_result_null)
{
	struct coop_task *t = NULL;

	ck_assert_int_eq(coop_spawn(ctx, &t, return_arg_plus_one, NULL, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	/* result may be NULL. */
	ck_assert_int_eq(coop_join(t, NULL), 0);
}
END_TEST

static int after_exit;

static __attribute__((noinline)) int exit_depth(int depth)
{
	volatile int local = depth;

	/* Never true; a returning path keeps -Winfinite-recursion quiet. */
	if (depth < 0)
		return 0;
	if (depth == 0)
		coop_exit((void *)(intptr_t)0x5eed);
	/* Not a tail call: uses the callee's result. */
	local += exit_depth(depth - 1);
	after_exit++;
	return local;
}

static void *exit_nested(void *arg)
{
	(void)arg;
	after_exit += exit_depth(6);
	after_exit++;
	return (void *)(intptr_t)0xbad;
}

START_TEST(exit_from_nested_calls)
{
	struct coop_task *t = NULL;
	void *res = NULL;

	after_exit = 0;
	ck_assert_int_eq(coop_spawn(ctx, &t, exit_nested, NULL, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(coop_join(t, &res), 0);
	ck_assert_ptr_eq(res, (void *)(intptr_t)0x5eed);
	ck_assert_int_eq(after_exit, 0);
}
END_TEST

/* Each frame keeps volatile locals and an array, yields from the deepest
 * frame, then checks everything on the way back up. */
static __attribute__((noinline)) long yield_depth(int id, int depth)
{
	volatile int mine = id * 100 + depth;
	volatile unsigned char arr[64];
	volatile double d = id + depth / 8.0;
	long sum;
	int i;

	for (i = 0; i < 64; i++)
		arr[i] = (unsigned char)(id * 7 + depth * 3 + i);
	if (depth == 0) {
		ck_assert_int_eq(coop_yield(), 0);
		ck_assert_int_eq(coop_yield(), 0);
		sum = 0;
	} else {
		sum = yield_depth(id, depth - 1);
		ck_assert_int_eq(coop_yield(), 0);
	}
	ck_assert_int_eq(mine, id * 100 + depth);
	ck_assert(d == id + depth / 8.0);
	for (i = 0; i < 64; i++)
		ck_assert_uint_eq(arr[i], (unsigned char)(id * 7 + depth * 3 + i));
	return sum + mine;
}

static void *yield_nested(void *arg)
{
	int id = (int)(intptr_t)arg;

	return (void *)(intptr_t)yield_depth(id, 5);
}

START_TEST(yield_from_nested_calls)
{
	struct coop_task *t[3];
	void *res;
	long expect;
	int i, d;

	for (i = 0; i < 3; i++)
		ck_assert_int_eq(coop_spawn(ctx, &t[i], yield_nested, (void *)(intptr_t)(i + 1), NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	for (i = 0; i < 3; i++) {
		expect = 0;
		for (d = 0; d <= 5; d++)
			expect += (i + 1) * 100 + d;
		res = NULL;
		ck_assert_int_eq(coop_join(t[i], &res), 0);
		ck_assert_int_eq((long)(intptr_t)res, expect);
	}
}
END_TEST

/* ---------------------------------------------------------- detached -- */

static void *bump(void *arg)
{
	ck_assert_int_eq(coop_yield(), 0);
	(*(int *)arg)++;
	return arg;
}

START_TEST(detached_out_null)
{
	int n = 0;

	ck_assert_int_eq(coop_spawn(ctx, NULL, bump, &n, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, bump, &n, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n, 2);
}
END_TEST

START_TEST(detach_before_run)
{
	struct coop_task *t = NULL;
	int n = 0;

	ck_assert_int_eq(coop_spawn(ctx, &t, bump, &n, NULL), 0);
	ck_assert_int_eq(coop_detach(t), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n, 1);
}
END_TEST

START_TEST(detach_after_finish)
{
	struct coop_task *t = NULL;
	int n = 0;

	ck_assert_int_eq(coop_spawn(ctx, &t, bump, &n, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n, 1);
	/* Freed at once (valgrind would see a leak or a double free). */
	ck_assert_int_eq(coop_detach(t), 0);
}
END_TEST

static void *detach_self_then_run(void *arg)
{
	ck_assert_int_eq(coop_detach(coop_self()), 0);
	ck_assert_int_eq(coop_yield(), 0);
	(*(int *)arg)++;
	return NULL;
}

START_TEST(detach_self)
{
	struct coop_task *t = NULL;
	int n = 0;

	ck_assert_int_eq(coop_spawn(ctx, &t, detach_self_then_run, &n, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n, 1);
}
END_TEST

/* ----------------------------------------------------- join in tasks -- */

struct child_state {
	int steps; /* how far the child got */
};

static void *yielding_child(void *arg)
{
	struct child_state *cs = arg;
	int i;

	for (i = 0; i < 5; i++) {
		cs->steps++;
		ck_assert_int_eq(coop_yield(), 0);
	}
	return (void *)(intptr_t)77;
}

static void *joining_parent(void *arg)
{
	struct child_state *cs = arg;
	struct coop_task *child = NULL;
	void *res = NULL;

	ck_assert_int_eq(coop_spawn(ctx, &child, yielding_child, cs, NULL), 0);
	ck_assert_int_eq(cs->steps, 0);
	ck_assert_int_eq(coop_join(child, &res), 0);
	/* Suspended until the child had ended. */
	ck_assert_int_eq(cs->steps, 5);
	ck_assert_ptr_eq(res, (void *)(intptr_t)77);
	return (void *)(intptr_t)78;
}

START_TEST(join_inside_task)
{
	struct child_state cs = {0};
	struct coop_task *parent = NULL;
	void *res = NULL;

	ck_assert_int_eq(coop_spawn(ctx, &parent, joining_parent, &cs, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(coop_join(parent, &res), 0);
	ck_assert_ptr_eq(res, (void *)(intptr_t)78);
}
END_TEST

/* A joiner woken by the end of the task it joins is READY like any other:
 * it goes to the tail of the run queue, behind the tasks already there. */
static struct coop_task *joined;

static void *join_noting(void *arg)
{
	(void)arg;
	note('j');
	ck_assert_int_eq(coop_join(joined, NULL), 0);
	note('J');
	return NULL;
}

static void *joined_task(void *arg)
{
	(void)arg;
	note('t');
	ck_assert_int_eq(coop_yield(), 0);
	note('T');
	return NULL;
}

START_TEST(woken_joiner_queues_at_tail)
{
	reset_order();
	ck_assert_int_eq(coop_spawn(ctx, NULL, join_noting, NULL, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, &joined, joined_task, NULL, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, letter_task, (void *)(intptr_t)'x', NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	/* x was READY when t ended: it runs before the woken j. */
	ck_assert_str_eq(order, "jtxTxJx");
}
END_TEST

#define CHAIN 10
static struct coop_task *chain[CHAIN];

/* Task i joins task i + 1 and adds one to its result; the last one yields
 * a few times and returns 1000. */
static void *chain_link(void *arg)
{
	int i = (int)(intptr_t)arg;
	void *res = NULL;
	int k;

	if (i == CHAIN - 1) {
		for (k = 0; k < 3; k++)
			ck_assert_int_eq(coop_yield(), 0);
		return (void *)(intptr_t)1000;
	}
	ck_assert_int_eq(coop_join(chain[i + 1], &res), 0);
	return (void *)((intptr_t)res + 1);
}

START_TEST(join_chain)
{
	void *res = NULL;
	int i;

	for (i = 0; i < CHAIN; i++)
		ck_assert_int_eq(coop_spawn(ctx, &chain[i], chain_link, (void *)(intptr_t)i, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(coop_join(chain[0], &res), 0);
	ck_assert_int_eq((intptr_t)res, 1000 + CHAIN - 1);
}
END_TEST

/* A join of a task that already ended, from inside a task, does not
 * suspend. */
static void *join_finished(void *arg)
{
	struct coop_task *t = arg;
	void *res = NULL;

	ck_assert_int_eq(coop_yield(), 0);
	ck_assert_int_eq(coop_join(t, &res), 0);
	ck_assert_ptr_eq(res, (void *)(intptr_t)77);
	note('J');
	return NULL;
}

static void *quick77(void *arg)
{
	(void)arg;
	note('Q');
	return (void *)(intptr_t)77;
}

START_TEST(join_inside_finished)
{
	struct coop_task *q = NULL;

	reset_order();
	ck_assert_int_eq(coop_spawn(ctx, &q, quick77, NULL, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, join_finished, q, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_str_eq(order, "QJ");
}
END_TEST

/* ---------------------------------------------------- join outside -- */

START_TEST(join_outside_before_and_after_run)
{
	struct coop_task *t = NULL;
	void *res = (void *)(intptr_t)1;
	int n = 0;

	ck_assert_int_eq(coop_spawn(ctx, &t, bump, &n, NULL), 0);
	ck_assert_int_eq(coop_join(t, &res), -EAGAIN);
	/* A failed join stores nothing and keeps the handle. */
	ck_assert_ptr_eq(res, (void *)(intptr_t)1);
	ck_assert_int_eq(coop_join(t, &res), -EAGAIN);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(coop_join(t, &res), 0);
	ck_assert_ptr_eq(res, &n);
}
END_TEST

/* ------------------------------------------------------------ errors -- */

static int err_rc[8];

static void *join_self(void *arg)
{
	(void)arg;
	err_rc[0] = coop_join(coop_self(), NULL);
	return NULL;
}

START_TEST(join_self_edeadlk)
{
	struct coop_task *t = NULL;

	err_rc[0] = 1;
	ck_assert_int_eq(coop_spawn(ctx, &t, join_self, NULL, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(err_rc[0], -EDEADLK);
	ck_assert_int_eq(coop_join(t, NULL), 0);
}
END_TEST

START_TEST(join_detached_einval)
{
	struct coop_task *t = NULL;
	int n = 0;

	ck_assert_int_eq(coop_spawn(ctx, &t, bump, &n, NULL), 0);
	ck_assert_int_eq(coop_detach(t), 0);
	/* Not yet run, so the handle is still valid. */
	ck_assert_int_eq(coop_join(t, NULL), -EINVAL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n, 1);
}
END_TEST

static void *join_detached_inside(void *arg)
{
	struct coop_task *child = NULL;

	ck_assert_int_eq(coop_spawn(ctx, &child, bump, arg, NULL), 0);
	ck_assert_int_eq(coop_detach(child), 0);
	err_rc[0] = coop_join(child, NULL);
	return NULL;
}

START_TEST(join_detached_inside_einval)
{
	int n = 0;

	err_rc[0] = 1;
	ck_assert_int_eq(coop_spawn(ctx, NULL, join_detached_inside, &n, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(err_rc[0], -EINVAL);
	ck_assert_int_eq(n, 1);
}
END_TEST

static struct coop_task *target;

static void *slow_target(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(coop_yield(), 0);
	return (void *)(intptr_t)99;
}

static void *first_joiner(void *arg)
{
	void *res = NULL;

	(void)arg;
	err_rc[0] = coop_join(target, &res);
	err_rc[1] = (int)(intptr_t)res;
	return NULL;
}

static void *second_joiner(void *arg)
{
	(void)arg;
	err_rc[2] = coop_join(target, NULL);
	return NULL;
}

START_TEST(second_joiner_einval)
{
	memset(err_rc, 0x7f, sizeof(err_rc));
	ck_assert_int_eq(coop_spawn(ctx, &target, slow_target, NULL, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, first_joiner, NULL, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, second_joiner, NULL, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(err_rc[0], 0);
	ck_assert_int_eq(err_rc[1], 99);
	ck_assert_int_eq(err_rc[2], -EINVAL);
	/* The first joiner freed the handle; nothing left to join. */
}
END_TEST

static struct coop_task *cyc[3];

/* Task i joins task (i + 1) % n; the one closing the cycle is refused. */
static int cycle_len;

static void *cycle_member(void *arg)
{
	int i = (int)(intptr_t)arg;

	err_rc[i] = coop_join(cyc[(i + 1) % cycle_len], NULL);
	return (void *)(intptr_t)(i + 10);
}

START_TEST(join_cycle_two)
{
	void *res = NULL;

	memset(err_rc, 0x7f, sizeof(err_rc));
	cycle_len = 2;
	ck_assert_int_eq(coop_spawn(ctx, &cyc[0], cycle_member, (void *)(intptr_t)0, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, &cyc[1], cycle_member, (void *)(intptr_t)1, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	/* A waited for B and got it; B would have closed the cycle. */
	ck_assert_int_eq(err_rc[1], -EDEADLK);
	ck_assert_int_eq(err_rc[0], 0);
	/* B was joined by A; A is left for us. */
	ck_assert_int_eq(coop_join(cyc[0], &res), 0);
	ck_assert_ptr_eq(res, (void *)(intptr_t)10);
}
END_TEST

START_TEST(join_cycle_three)
{
	void *res = NULL;
	int i;

	memset(err_rc, 0x7f, sizeof(err_rc));
	cycle_len = 3;
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(coop_spawn(ctx, &cyc[i], cycle_member, (void *)(intptr_t)i, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(err_rc[2], -EDEADLK);
	ck_assert_int_eq(err_rc[1], 0);
	ck_assert_int_eq(err_rc[0], 0);
	ck_assert_int_eq(coop_join(cyc[0], &res), 0);
	ck_assert_ptr_eq(res, (void *)(intptr_t)10);
}
END_TEST

START_TEST(null_handles_einval)
{
	void *res = (void *)(intptr_t)1;

	ck_assert_int_eq(coop_join(NULL, NULL), -EINVAL);
	ck_assert_int_eq(coop_join(NULL, &res), -EINVAL);
	ck_assert_ptr_eq(res, (void *)(intptr_t)1);
	ck_assert_int_eq(coop_detach(NULL), -EINVAL);
}
END_TEST

START_TEST(detach_twice_einval)
{
	struct coop_task *t = NULL;
	int n = 0;

	ck_assert_int_eq(coop_spawn(ctx, &t, bump, &n, NULL), 0);
	ck_assert_int_eq(coop_detach(t), 0);
	ck_assert_int_eq(coop_detach(t), -EINVAL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n, 1);
}
END_TEST

START_TEST(yield_outside_eperm)
{
	ck_assert_int_eq(coop_yield(), -EPERM);
}
END_TEST

static void *single_yielder(void *arg)
{
	int i;

	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(coop_yield(), 0);
		(*(int *)arg)++;
	}
	return NULL;
}

START_TEST(yield_single_task)
{
	int n = 0;

	ck_assert_int_eq(coop_spawn(ctx, NULL, single_yielder, &n, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n, 3);
}
END_TEST

static struct coop_task *self_handles[2];
static int self_ok[2];

static void *check_self(void *arg)
{
	int i = (int)(intptr_t)arg;

	self_ok[i] = coop_self() == self_handles[i] && coop_self() != NULL;
	ck_assert_int_eq(coop_yield(), 0);
	self_ok[i] += coop_self() == self_handles[i];
	return NULL;
}

START_TEST(self_inside_and_outside)
{
	ck_assert_ptr_null(coop_self());
	self_ok[0] = self_ok[1] = 0;
	ck_assert_int_eq(coop_spawn(ctx, &self_handles[0], check_self, (void *)(intptr_t)0, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, &self_handles[1], check_self, (void *)(intptr_t)1, NULL), 0);
	ck_assert_ptr_null(coop_self());
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_ptr_null(coop_self());
	ck_assert_int_eq(self_ok[0], 2);
	ck_assert_int_eq(self_ok[1], 2);
	ck_assert_int_eq(coop_join(self_handles[0], NULL), 0);
	ck_assert_int_eq(coop_join(self_handles[1], NULL), 0);
}
END_TEST

static void *self_detached(void *arg)
{
	*(int *)arg = coop_self() != NULL;
	return NULL;
}

START_TEST(self_in_detached_task)
{
	int ok = 0;

	ck_assert_int_eq(coop_spawn(ctx, NULL, self_detached, &ok, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(ok, 1);
}
END_TEST

START_TEST(spawn_bad_args)
{
	struct coop_task *t = NULL;
	int n = 0;

	ck_assert_int_eq(coop_spawn(ctx, &t, NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(coop_spawn(ctx, NULL, NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(coop_spawn(NULL, &t, bump, &n, NULL), -EINVAL);
	ck_assert_int_eq(coop_spawn(NULL, NULL, bump, &n, NULL), -EINVAL);
	/* Nothing was queued. */
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n, 0);
}
END_TEST

/* Task options: the same size rules as the context's. */
START_TEST(task_opts_size)
{
	union {
		struct coop_task_opts opts;
		unsigned char bytes[sizeof(struct coop_task_opts) + 32];
	} u;
	struct coop_task *t = NULL, *t2 = NULL;
	int n = 0;

	/* Too small to hold even `size`. */
	memset(&u, 0, sizeof(u));
	u.opts.size = 0;
	ck_assert_int_eq(coop_spawn(ctx, &t, bump, &n, &u.opts), -EINVAL);
	/* Only `size` covered: the garbage after it is not read. */
	u.opts.size = sizeof(size_t);
	u.opts.stack_size = 1;
	u.opts.stack = &n;
	u.opts.name = "not read";
	ck_assert_int_eq(coop_spawn(ctx, &t, bump, &n, &u.opts), 0);
	ck_assert_str_eq(coop_task_name(t), "");
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(coop_join(t, NULL), 0);
	/* Covering everything but the name. */
	memset(&u, 0, sizeof(u));
	u.opts.size = offsetof(struct coop_task_opts, name);
	u.opts.name = "not read";
	ck_assert_int_eq(coop_spawn(ctx, &t, bump, &n, &u.opts), 0);
	ck_assert_str_eq(coop_task_name(t), "");
	/* A larger struct with a zero tail. */
	memset(&u, 0, sizeof(u));
	u.opts.size = sizeof(u);
	u.opts.name = "later";
	ck_assert_int_eq(coop_spawn(ctx, &t2, bump, &n, &u.opts), 0);
	ck_assert_str_eq(coop_task_name(t2), "later");
	/* A nonzero byte we do not know about. */
	u.bytes[sizeof(u) - 1] = 1;
	ck_assert_int_eq(coop_spawn(ctx, NULL, bump, &n, &u.opts), -E2BIG);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(coop_join(t, NULL), 0);
	ck_assert_int_eq(coop_join(t2, NULL), 0);
}
END_TEST

/* -------------------------------------------------------------- names -- */

static void *name_inside(void *arg)
{
	*(int *)arg = strcmp(coop_task_name(coop_self()), "worker-7") == 0;
	return NULL;
}

START_TEST(task_names)
{
	char *src = malloc(64);
	char longname[COOP_TASK_NAME_MAX + 20];
	struct coop_task_opts opts = {.size = sizeof(opts)};
	struct coop_task *named = NULL, *unnamed = NULL, *nullname = NULL, *lng = NULL;
	const char *got;
	int inside = 0;
	size_t i;

	ck_assert_ptr_nonnull(src);
	strcpy(src, "worker-7");
	opts.name = src;
	ck_assert_int_eq(coop_spawn(ctx, &named, name_inside, &inside, &opts), 0);
	/* The name was copied: change and free the source. */
	memset(src, 'x', 63);
	src[63] = '\0';
	free(src);
	ck_assert_str_eq(coop_task_name(named), "worker-7");

	ck_assert_int_eq(coop_spawn(ctx, &unnamed, bump, &inside, NULL), 0);
	ck_assert_ptr_nonnull(coop_task_name(unnamed));
	ck_assert_str_eq(coop_task_name(unnamed), "");
	opts.name = NULL;
	ck_assert_int_eq(coop_spawn(ctx, &nullname, bump, &inside, &opts), 0);
	ck_assert_str_eq(coop_task_name(nullname), "");

	for (i = 0; i < sizeof(longname) - 1; i++)
		longname[i] = (char)('a' + i % 26);
	longname[sizeof(longname) - 1] = '\0';
	opts.name = longname;
	ck_assert_int_eq(coop_spawn(ctx, &lng, bump, &inside, &opts), 0);
	got = coop_task_name(lng);
	ck_assert_uint_eq(strlen(got), COOP_TASK_NAME_MAX);
	ck_assert_int_eq(memcmp(got, longname, COOP_TASK_NAME_MAX), 0);

	ck_assert_ptr_null(coop_task_name(NULL));

	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(inside, 1 + 3);
	/* Names survive the end of the task until the handle is freed. */
	ck_assert_str_eq(coop_task_name(named), "worker-7");
	ck_assert_int_eq(coop_join(named, NULL), 0);
	ck_assert_int_eq(coop_join(unnamed, NULL), 0);
	ck_assert_int_eq(coop_join(nullname, NULL), 0);
	ck_assert_int_eq(coop_join(lng, NULL), 0);
}
END_TEST

START_TEST(task_name_exact_max)
{
	char name[COOP_TASK_NAME_MAX + 1];
	struct coop_task_opts opts = {.size = sizeof(opts), .name = name};
	struct coop_task *t = NULL;
	int n = 0;

	memset(name, 'q', COOP_TASK_NAME_MAX);
	name[COOP_TASK_NAME_MAX] = '\0';
	ck_assert_int_eq(coop_spawn(ctx, &t, bump, &n, &opts), 0);
	ck_assert_str_eq(coop_task_name(t), name);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(coop_join(t, NULL), 0);
}
END_TEST

/* coop_exit() outside any task cannot be reported: message and abort. */
START_TEST(exit_outside_aborts)
{
	coop_exit(NULL);
}
END_TEST

/* ------------------------------------------------------------- errno -- */

static int errno_seen[2];

/* Check's assertions may themselves touch errno, so errno is read right
 * after each call and checked afterwards. */
static void *errno_task(void *arg)
{
	int mine = (int)(intptr_t)arg;
	int i, rc, got;

	for (i = 0; i < 3; i++) {
		errno = mine;
		rc = coop_yield();
		got = errno;
		ck_assert_int_eq(rc, 0);
		if (got != mine)
			errno_seen[mine == EIO ? 0 : 1] = got;
	}
	return NULL;
}

START_TEST(errno_per_task)
{
	int rc, got;

	errno_seen[0] = errno_seen[1] = 0;
	ck_assert_int_eq(coop_spawn(ctx, NULL, errno_task, (void *)(intptr_t)EIO, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, errno_task, (void *)(intptr_t)ENOENT, NULL), 0);
	errno = EXDEV;
	rc = coop_run(ctx);
	got = errno;
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(got, EXDEV);
	/* Each task found its own errno after every yield. */
	ck_assert_int_eq(errno_seen[0], 0);
	ck_assert_int_eq(errno_seen[1], 0);
}
END_TEST

/* A failing call reports through its return value, not errno. */
START_TEST(errno_untouched_by_errors)
{
	int rc[3], got;

	errno = 0;
	rc[0] = coop_yield();
	rc[1] = coop_join(NULL, NULL);
	rc[2] = coop_spawn(NULL, NULL, NULL, NULL, NULL);
	got = errno;
	ck_assert_int_eq(rc[0], -EPERM);
	ck_assert_int_eq(rc[1], -EINVAL);
	ck_assert_int_eq(rc[2], -EINVAL);
	ck_assert_int_eq(got, 0);
}
END_TEST

/* ---------------------------------------------------------- rounding -- */

static volatile double one = 1.0, three = 3.0;
static volatile long double lone = 1.0L, lthree = 3.0L;

/* Whether the arithmetic in use honours the rounding mode (valgrind, for
 * one, always rounds to nearest); only then are results compared. */
static int rounding_honoured, rounding_honoured_ld;

struct round_result {
	int mode;        /* the mode the task sets */
	int mode_ok;     /* fegetround() matched after every yield */
	double d;        /* 1/3 in double (SSE: MXCSR) */
	long double ld;  /* 1/3 in long double (x87 control word) */
};

static void *rounding_task(void *arg)
{
	struct round_result *r = arg;
	int i;

	ck_assert_int_eq(fesetround(r->mode), 0);
	r->mode_ok = 1;
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(coop_yield(), 0);
		if (fegetround() != r->mode)
			r->mode_ok = 0;
		r->d = one / three;
		r->ld = lone / lthree;
	}
	return NULL;
}

START_TEST(rounding_per_task)
{
	struct round_result up = {FE_UPWARD, 0, 0, 0}, tz = {FE_TOWARDZERO, 0, 0, 0};
	volatile double near_d, up_d;
	volatile long double near_ld, up_ld;

	near_d = one / three;
	near_ld = lone / lthree;
	ck_assert_int_eq(fesetround(FE_UPWARD), 0);
	up_d = one / three;
	up_ld = lone / lthree;
	ck_assert_int_eq(fesetround(FE_TONEAREST), 0);
	rounding_honoured = up_d != near_d;
	rounding_honoured_ld = up_ld != near_ld;

	ck_assert_int_eq(coop_spawn(ctx, NULL, rounding_task, &up, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, rounding_task, &tz, NULL), 0);
	/* Main runs with yet another mode, which must come back unchanged. */
	ck_assert_int_eq(fesetround(FE_DOWNWARD), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(fegetround(), FE_DOWNWARD);
	ck_assert_int_eq(fesetround(FE_TONEAREST), 0);

	ck_assert_int_eq(up.mode_ok, 1);
	ck_assert_int_eq(tz.mode_ok, 1);
	if (rounding_honoured) {
		ck_assert(up.d > tz.d);
		ck_assert(tz.d == near_d);
		ck_assert(up.d == up_d);
	}
	if (rounding_honoured_ld) {
		ck_assert(up.ld > tz.ld);
		ck_assert(up.ld == up_ld);
	}
}
END_TEST

#if defined(__x86_64__)
/* On x86-64 the exception flags in MXCSR are each task's own too (the
 * switch loads the next task's MXCSR whole; documented in coop(3)). */
static int flags_honoured; /* valgrind, for one, keeps no MXCSR flags */

static void *flag_raiser(void *arg)
{
	int *kept = arg;

	feclearexcept(FE_ALL_EXCEPT);
	ck_assert_int_eq(feraiseexcept(FE_DIVBYZERO), 0);
	ck_assert_int_eq(coop_yield(), 0); /* the other task clears its own */
	*kept = fetestexcept(FE_DIVBYZERO) != 0;
	return NULL;
}

static void *flag_clearer(void *arg)
{
	int *clean = arg;

	feclearexcept(FE_ALL_EXCEPT);
	ck_assert_int_eq(coop_yield(), 0);
	*clean = fetestexcept(FE_ALL_EXCEPT) == 0;
	return NULL;
}

START_TEST(exception_flags_per_task)
{
	int kept = -1, clean = -1;

	feclearexcept(FE_ALL_EXCEPT);
	feraiseexcept(FE_DIVBYZERO);
	flags_honoured = fetestexcept(FE_DIVBYZERO) != 0;
	feclearexcept(FE_ALL_EXCEPT);
	ck_assert_int_eq(coop_spawn(ctx, NULL, flag_raiser, &kept, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, flag_clearer, &clean, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(clean, 1);
	if (flags_honoured)
		ck_assert_int_eq(kept, 1);
}
END_TEST
#endif

/* ------------------------------------------------------------- scale -- */

#define MANY 10000
#define MANY_YIELDS 3

static int many_failed_yields;

/* Plain checks here: 30,000 Check assertions would dominate the run time
 * under valgrind. */
static void *many_task(void *arg)
{
	uintptr_t v = (uintptr_t)arg;
	int i;

	for (i = 0; i < MANY_YIELDS; i++) {
		v += 1;
		if (coop_yield() != 0)
			many_failed_yields++;
	}
	return (void *)(v * 2);
}

START_TEST(ten_thousand_tasks)
{
	struct coop_task **t = calloc(MANY, sizeof(*t));
	void *res;
	uintptr_t i;

	ck_assert_ptr_nonnull(t);
	for (i = 0; i < MANY; i++)
		ck_assert_int_eq(coop_spawn(ctx, &t[i], many_task, (void *)i, NULL), 0);
	many_failed_yields = 0;
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(many_failed_yields, 0);
	for (i = 0; i < MANY; i++) {
		res = NULL;
		ck_assert_int_eq(coop_join(t[i], &res), 0);
		ck_assert_uint_eq((uintptr_t)res, (i + MANY_YIELDS) * 2);
	}
	free(t);
}
END_TEST

/* ----------------------------------------------------------- version -- */

START_TEST(version)
{
	char prefix[64];
	const char *v = coop_version();

	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, COOP_VERSION_STRING);
	snprintf(prefix, sizeof(prefix), "%d.%d.%d", COOP_VERSION_MAJOR, COOP_VERSION_MINOR,
		 COOP_VERSION_PATCH);
	ck_assert_int_eq(strncmp(v, prefix, strlen(prefix)), 0);
	ck_assert(v[strlen(prefix)] == '\0' || v[strlen(prefix)] == '-' || v[strlen(prefix)] == '.');
}
END_TEST

static Suite *task_suite(void)
{
	Suite *s = suite_create("task");
	TCase *tc;

	tc = test_tcase(s, "order");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_robin_order);
	tcase_add_test(tc, spawn_inside_appends);
	tcase_add_test(tc, spawn_inside_runs_after_queue);

	tc = test_tcase(s, "results");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, results_through_join);
	tcase_add_test(tc, join_result_null);
	tcase_add_test(tc, exit_from_nested_calls);
	tcase_add_test(tc, yield_from_nested_calls);

	tc = test_tcase(s, "detach");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, detached_out_null);
	tcase_add_test(tc, detach_before_run);
	tcase_add_test(tc, detach_after_finish);
	tcase_add_test(tc, detach_self);

	tc = test_tcase(s, "join");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, join_inside_task);
	tcase_add_test(tc, woken_joiner_queues_at_tail);
	tcase_add_test(tc, join_chain);
	tcase_add_test(tc, join_inside_finished);
	tcase_add_test(tc, join_outside_before_and_after_run);

	tc = test_tcase(s, "errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, join_self_edeadlk);
	tcase_add_test(tc, join_detached_einval);
	tcase_add_test(tc, join_detached_inside_einval);
	tcase_add_test(tc, second_joiner_einval);
	tcase_add_test(tc, join_cycle_two);
	tcase_add_test(tc, join_cycle_three);
	tcase_add_test(tc, null_handles_einval);
	tcase_add_test(tc, detach_twice_einval);
	tcase_add_test(tc, yield_outside_eperm);
	tcase_add_test(tc, yield_single_task);
	tcase_add_test(tc, self_inside_and_outside);
	tcase_add_test(tc, self_in_detached_task);
	tcase_add_test(tc, spawn_bad_args);
	tcase_add_test(tc, task_opts_size);
	tcase_add_test_raise_signal(tc, exit_outside_aborts, SIGABRT);

	tc = test_tcase(s, "names");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, task_names);
	tcase_add_test(tc, task_name_exact_max);

	tc = test_tcase(s, "state");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, errno_per_task);
	tcase_add_test(tc, errno_untouched_by_errors);
	tcase_add_test(tc, rounding_per_task);
#if defined(__x86_64__)
	tcase_add_test(tc, exception_flags_per_task);
#endif

	tc = test_tcase(s, "scale");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, ten_thousand_tasks);

	tc = test_tcase(s, "version");
	tcase_add_test(tc, version);
	return s;
}

int main(void)
{
	return test_run(task_suite());
}
