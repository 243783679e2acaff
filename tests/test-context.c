/*
 * test-context.c: the scheduler object.
 *
 * Covers coop_context_create() (NULL opts, sized opts, the rules for
 * opts->size: below sizeof(size_t) is -EINVAL, fields it does not cover take
 * their defaults, a larger size is accepted only when the bytes past our
 * struct are zero, else -E2BIG), coop_run() (NULL, no tasks, -EBUSY from
 * inside a task for the same and for another context, running again after
 * new spawns), coop_context_destroy() (NULL, tasks that never ran are
 * released without running, finished tasks nobody joined, abort when called
 * on the running context) and two threads running their own contexts at
 * the same time.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <coop/coop.h>

#include "test-common.h"

/* ------------------------------------------------------------ helpers -- */

/* Set *(int *)arg to 1 and return arg. */
static void *set_flag(void *arg)
{
	*(int *)arg = 1;
	return arg;
}

/* Count into *(int *)arg, yielding between steps; returns arg. */
static void *count_yielding(void *arg)
{
	int *n = arg;
	int i;

	for (i = 0; i < 5; i++) {
		(*n)++;
		ck_assert_int_eq(coop_yield(), 0);
	}
	return arg;
}

/* Use `bytes` of stack so that a too small default would fault. */
static __attribute__((noinline)) int use_stack(size_t bytes)
{
	volatile char *p = __builtin_alloca(bytes);
	size_t i;
	int sum = 0;

	for (i = 0; i < bytes; i += 512)
		p[i] = (char)i;
	for (i = 0; i < bytes; i += 512)
		sum += p[i];
	return sum;
}

static void *use_200k(void *arg)
{
	*(int *)arg = use_stack(200 * 1024) != -1;
	return NULL;
}

/* ------------------------------------------------------------- create -- */

START_TEST(create_null_opts)
{
	struct coop_context *ctx = NULL;
	int flag = 0;

	ck_assert_int_eq(coop_context_create(&ctx, NULL), 0);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(coop_spawn(ctx, NULL, set_flag, &flag, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(flag, 1);
	coop_context_destroy(ctx);
}
END_TEST

START_TEST(create_sized_opts)
{
	struct coop_context_opts opts = {.size = sizeof(opts), .stack_size = 0};
	struct coop_context *a = NULL, *b = NULL;
	int fa = 0, fb = 0;

	ck_assert_int_eq(coop_context_create(&a, &opts), 0);
	ck_assert_ptr_nonnull(a);
	opts.stack_size = 64 * 1024;
	ck_assert_int_eq(coop_context_create(&b, &opts), 0);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_ne(a, b);
	ck_assert_int_eq(coop_spawn(a, NULL, set_flag, &fa, NULL), 0);
	ck_assert_int_eq(coop_spawn(b, NULL, set_flag, &fb, NULL), 0);
	ck_assert_int_eq(coop_run(a), 0);
	ck_assert_int_eq(fa, 1);
	ck_assert_int_eq(fb, 0);
	ck_assert_int_eq(coop_run(b), 0);
	ck_assert_int_eq(fb, 1);
	coop_context_destroy(a);
	coop_context_destroy(b);
}
END_TEST

START_TEST(create_bad_args)
{
	struct coop_context_opts opts = {.size = sizeof(opts), .stack_size = 0};
	struct coop_context *ctx = NULL;

	ck_assert_int_eq(coop_context_create(NULL, NULL), -EINVAL);
	ck_assert_int_eq(coop_context_create(NULL, &opts), -EINVAL);
	opts.size = 0;
	ck_assert_int_eq(coop_context_create(&ctx, &opts), -EINVAL);
	opts.size = sizeof(size_t) - 1;
	ck_assert_int_eq(coop_context_create(&ctx, &opts), -EINVAL);
}
END_TEST

/* opts->size covering only `size`: stack_size is not read, whatever it
 * holds, and the default (at least 64 KiB usable) applies. */
START_TEST(create_opts_size_only)
{
	struct coop_context_opts opts = {.size = sizeof(size_t), .stack_size = 1};
	struct coop_context *ctx = NULL;
	int ok = 0;

	ck_assert_int_eq(coop_context_create(&ctx, &opts), 0);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(coop_spawn(ctx, NULL, use_200k, &ok, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(ok, 1);
	coop_context_destroy(ctx);
}
END_TEST

/* A caller compiled against a later, larger struct: accepted when the
 * fields we do not know are zero, -E2BIG when one is not. */
union big_context_opts {
	struct coop_context_opts opts;
	unsigned char bytes[sizeof(struct coop_context_opts) + 64];
};

START_TEST(create_opts_larger_zero_tail)
{
	union big_context_opts u;
	struct coop_context *ctx = NULL;
	int flag = 0;

	memset(&u, 0, sizeof(u));
	u.opts.size = sizeof(u);
	ck_assert_int_eq(coop_context_create(&ctx, &u.opts), 0);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(coop_spawn(ctx, NULL, set_flag, &flag, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(flag, 1);
	coop_context_destroy(ctx);
}
END_TEST

START_TEST(create_opts_larger_nonzero_tail)
{
	union big_context_opts u;
	struct coop_context *ctx = NULL;

	memset(&u, 0, sizeof(u));
	u.opts.size = sizeof(u);
	u.bytes[sizeof(struct coop_context_opts) + 10] = 1;
	ck_assert_int_eq(coop_context_create(&ctx, &u.opts), -E2BIG);
	/* The last byte counts too. */
	memset(&u, 0, sizeof(u));
	u.opts.size = sizeof(u);
	u.bytes[sizeof(u) - 1] = 0x80;
	ck_assert_int_eq(coop_context_create(&ctx, &u.opts), -E2BIG);
}
END_TEST

/* ---------------------------------------------------------------- run -- */

START_TEST(run_null)
{
	ck_assert_int_eq(coop_run(NULL), -EINVAL);
}
END_TEST

START_TEST(run_empty)
{
	struct coop_context *ctx = NULL;

	ck_assert_int_eq(coop_context_create(&ctx, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	coop_context_destroy(ctx);
}
END_TEST

struct nested_run {
	struct coop_context *target; /* what the task tries to run */
	int rc;                      /* what coop_run() returned inside */
};

static void *run_from_task(void *arg)
{
	struct nested_run *n = arg;

	n->rc = coop_run(n->target);
	return NULL;
}

START_TEST(run_inside_task_same)
{
	struct coop_context *ctx = NULL;
	struct nested_run n = {NULL, 12345};

	ck_assert_int_eq(coop_context_create(&ctx, NULL), 0);
	n.target = ctx;
	ck_assert_int_eq(coop_spawn(ctx, NULL, run_from_task, &n, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n.rc, -EBUSY);
	coop_context_destroy(ctx);
}
END_TEST

START_TEST(run_inside_task_other)
{
	struct coop_context *a = NULL, *b = NULL;
	struct nested_run n = {NULL, 12345};
	int flag = 0;

	ck_assert_int_eq(coop_context_create(&a, NULL), 0);
	ck_assert_int_eq(coop_context_create(&b, NULL), 0);
	ck_assert_int_eq(coop_spawn(b, NULL, set_flag, &flag, NULL), 0);
	n.target = b;
	ck_assert_int_eq(coop_spawn(a, NULL, run_from_task, &n, NULL), 0);
	ck_assert_int_eq(coop_run(a), 0);
	ck_assert_int_eq(n.rc, -EBUSY);
	/* b's task did not run from inside a's task... */
	ck_assert_int_eq(flag, 0);
	/* ...and b still runs normally afterwards. */
	ck_assert_int_eq(coop_run(b), 0);
	ck_assert_int_eq(flag, 1);
	coop_context_destroy(a);
	coop_context_destroy(b);
}
END_TEST

struct cross_join {
	struct coop_task *target; /* a task of another context */
	int rc;                   /* what coop_join() returned */
};

static void *join_from_task(void *arg)
{
	struct cross_join *j = arg;

	j->rc = coop_join(j->target, NULL);
	return NULL;
}

/* From a task, a task of another context is -EINVAL whether or not it has
 * ended (1.0 allowed it once ended, which made the outcome depend on how
 * far the other context had run); outside any task it is collected. */
START_TEST(join_other_context_einval)
{
	struct coop_context *a = NULL, *b = NULL;
	struct cross_join j = {NULL, 12345};
	int flag = 0;

	ck_assert_int_eq(coop_context_create(&a, NULL), 0);
	ck_assert_int_eq(coop_context_create(&b, NULL), 0);
	ck_assert_int_eq(coop_spawn(b, &j.target, set_flag, &flag, NULL), 0);
	ck_assert_int_eq(coop_spawn(a, NULL, join_from_task, &j, NULL), 0);
	ck_assert_int_eq(coop_run(a), 0);
	ck_assert_int_eq(j.rc, -EINVAL); /* not ended */
	ck_assert_int_eq(coop_run(b), 0);
	ck_assert_int_eq(flag, 1);
	j.rc = 12345;
	ck_assert_int_eq(coop_spawn(a, NULL, join_from_task, &j, NULL), 0);
	ck_assert_int_eq(coop_run(a), 0);
	ck_assert_int_eq(j.rc, -EINVAL); /* ended: the same answer */
	ck_assert_int_eq(coop_join(j.target, NULL), 0); /* outside any task */
	coop_context_destroy(a);
	coop_context_destroy(b);
}
END_TEST

START_TEST(run_again_after_spawn)
{
	struct coop_context *ctx = NULL;
	struct coop_task *t[4];
	int n[4] = {0, 0, 0, 0};
	void *res;
	int i;

	ck_assert_int_eq(coop_context_create(&ctx, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, &t[0], count_yielding, &n[0], NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, &t[1], count_yielding, &n[1], NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n[0], 5);
	ck_assert_int_eq(n[1], 5);
	ck_assert_int_eq(n[2], 0);
	ck_assert_int_eq(coop_spawn(ctx, &t[2], count_yielding, &n[2], NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, &t[3], count_yielding, &n[3], NULL), 0);
	/* Nothing has run them yet. */
	ck_assert_int_eq(n[2], 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(n[i], 5);
		res = NULL;
		ck_assert_int_eq(coop_join(t[i], &res), 0);
		ck_assert_ptr_eq(res, &n[i]);
	}
	coop_context_destroy(ctx);
}
END_TEST

/* ------------------------------------------------------------ destroy -- */

START_TEST(destroy_null)
{
	struct coop_context *ctx = NULL;
	int flag = 0;

	coop_context_destroy(NULL);
	/* Nothing else was disturbed: a context still works. */
	ck_assert_int_eq(coop_context_create(&ctx, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, set_flag, &flag, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(flag, 1);
	coop_context_destroy(ctx);
	coop_context_destroy(NULL);
}
END_TEST

START_TEST(destroy_unrun_tasks)
{
	struct coop_task_opts opts = {.size = sizeof(opts), .name = "unrun"};
	struct coop_context *ctx = NULL;
	struct coop_task *joinable = NULL, *detached = NULL, *onbuf = NULL;
	int flags[5] = {0, 0, 0, 0, 0};
	void *buf = malloc(8192);
	int i;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(coop_context_create(&ctx, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, &joinable, set_flag, &flags[0], NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, set_flag, &flags[1], NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, &detached, set_flag, &flags[2], &opts), 0);
	ck_assert_int_eq(coop_detach(detached), 0);
	opts.stack = buf;
	opts.stack_size = 8192;
	ck_assert_int_eq(coop_spawn(ctx, &onbuf, set_flag, &flags[3], &opts), 0);
	opts.stack = NULL;
	opts.stack_size = 128 * 1024;
	ck_assert_int_eq(coop_spawn(ctx, NULL, set_flag, &flags[4], &opts), 0);
	coop_context_destroy(ctx);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(flags[i], 0);
	/* The caller's buffer is the caller's again. */
	free(buf);
}
END_TEST

START_TEST(destroy_done_unjoined)
{
	struct coop_context *ctx = NULL;
	struct coop_task *t[3];
	int n[3] = {0, 0, 0};
	int i;

	ck_assert_int_eq(coop_context_create(&ctx, NULL), 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(coop_spawn(ctx, &t[i], count_yielding, &n[i], NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(n[i], 5);
	/* Join one, leave two for destroy (valgrind checks they are freed). */
	ck_assert_int_eq(coop_join(t[1], NULL), 0);
	coop_context_destroy(ctx);
}
END_TEST

static struct coop_context *abort_ctx;

static void *destroy_own_context(void *arg)
{
	(void)arg;
	coop_context_destroy(abort_ctx);
	return NULL;
}

/* Destroying the context that is running the caller cannot be reported:
 * it prints a message and aborts. */
START_TEST(destroy_running_aborts)
{
	ck_assert_int_eq(coop_context_create(&abort_ctx, NULL), 0);
	ck_assert_int_eq(coop_spawn(abort_ctx, NULL, destroy_own_context, NULL, NULL), 0);
	coop_run(abort_ctx);
	/* Not reached when the library aborts as documented. */
	ck_abort_msg("coop_context_destroy() of the running context returned");
}
END_TEST

/* ------------------------------------------------------------ threads -- */

#define THREAD_TASKS 40
#define THREAD_ROUNDS 25
#define THREADS 2

struct thread_state;

struct thread_task {
	struct thread_state *ts; /* the thread this task belongs to */
	int index;               /* its position in spawn order */
};

struct thread_state {
	int id;                                   /* which thread */
	struct coop_context *ctx;                 /* its own context */
	struct coop_task *tasks[THREAD_TASKS];    /* handles, in spawn order */
	struct thread_task args[THREAD_TASKS];    /* each task's argument */
	int log[THREAD_TASKS * THREAD_ROUNDS];    /* task * 1000 + round, in run order */
	int nlog;                                 /* entries in log */
	int wrong_self;                           /* times coop_self() was not the handle */
	int failed_yields;                        /* coop_yield() calls that did not return 0 */
	int errors;                               /* failures seen by the thread itself */
};

static pthread_barrier_t thread_barrier;

static void *thread_task_fn(void *arg)
{
	struct thread_task *tt = arg;
	struct thread_state *ts = tt->ts;
	int r;

	for (r = 0; r < THREAD_ROUNDS; r++) {
		if (coop_self() != ts->tasks[tt->index])
			ts->wrong_self++;
		ts->log[ts->nlog++] = tt->index * 1000 + r;
		if (coop_yield() != 0)
			ts->failed_yields++;
	}
	return (void *)(intptr_t)(ts->id * 100000 + tt->index);
}

static void *thread_main(void *arg)
{
	struct thread_state *ts = arg;
	void *res;
	int i;

	if (coop_context_create(&ts->ctx, NULL) != 0) {
		ts->errors++;
		pthread_barrier_wait(&thread_barrier);
		return NULL;
	}
	for (i = 0; i < THREAD_TASKS; i++) {
		ts->args[i].ts = ts;
		ts->args[i].index = i;
		if (coop_spawn(ts->ctx, &ts->tasks[i], thread_task_fn, &ts->args[i], NULL) != 0)
			ts->errors++;
	}
	/* Start running at the same time as the other thread. */
	pthread_barrier_wait(&thread_barrier);
	if (coop_run(ts->ctx) != 0)
		ts->errors++;
	if (coop_self() != NULL)
		ts->errors++;
	for (i = 0; i < THREAD_TASKS; i++) {
		res = NULL;
		if (coop_join(ts->tasks[i], &res) != 0 ||
		    res != (void *)(intptr_t)(ts->id * 100000 + i))
			ts->errors++;
	}
	coop_context_destroy(ts->ctx);
	return NULL;
}

START_TEST(two_threads)
{
	static struct thread_state ts[THREADS];
	pthread_t th[THREADS];
	int t, r, i, k;

	memset(ts, 0, sizeof(ts));
	ck_assert_int_eq(pthread_barrier_init(&thread_barrier, NULL, THREADS), 0);
	for (t = 0; t < THREADS; t++) {
		ts[t].id = t + 1;
		ck_assert_int_eq(pthread_create(&th[t], NULL, thread_main, &ts[t]), 0);
	}
	for (t = 0; t < THREADS; t++)
		ck_assert_int_eq(pthread_join(th[t], NULL), 0);
	pthread_barrier_destroy(&thread_barrier);
	for (t = 0; t < THREADS; t++) {
		ck_assert_int_eq(ts[t].errors, 0);
		ck_assert_int_eq(ts[t].wrong_self, 0);
		ck_assert_int_eq(ts[t].failed_yields, 0);
		ck_assert_int_eq(ts[t].nlog, THREAD_TASKS * THREAD_ROUNDS);
		/* Each thread saw exactly its own round-robin order. */
		k = 0;
		for (r = 0; r < THREAD_ROUNDS; r++)
			for (i = 0; i < THREAD_TASKS; i++)
				ck_assert_int_eq(ts[t].log[k++], i * 1000 + r);
	}
}
END_TEST

static Suite *context_suite(void)
{
	Suite *s = suite_create("context");
	TCase *tc;

	tc = test_tcase(s, "create");
	tcase_add_test(tc, create_null_opts);
	tcase_add_test(tc, create_sized_opts);
	tcase_add_test(tc, create_bad_args);
	tcase_add_test(tc, create_opts_size_only);
	tcase_add_test(tc, create_opts_larger_zero_tail);
	tcase_add_test(tc, create_opts_larger_nonzero_tail);

	tc = test_tcase(s, "run");
	tcase_add_test(tc, run_null);
	tcase_add_test(tc, run_empty);
	tcase_add_test(tc, run_inside_task_same);
	tcase_add_test(tc, run_inside_task_other);
	tcase_add_test(tc, join_other_context_einval);
	tcase_add_test(tc, run_again_after_spawn);

	tc = test_tcase(s, "destroy");
	tcase_add_test(tc, destroy_null);
	tcase_add_test(tc, destroy_unrun_tasks);
	tcase_add_test(tc, destroy_done_unjoined);
	tcase_add_test_raise_signal(tc, destroy_running_aborts, SIGABRT);

	tc = test_tcase(s, "threads");
	tcase_add_test(tc, two_threads);
	return s;
}

int main(void)
{
	return test_run(context_suite());
}
