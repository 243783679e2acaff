/*
 * test-pool.c: the stack pool and the guard policy (white-box: links the
 * library's objects to reach the guard mode and a simulated mapping budget).
 *
 * - A finished task's slot is reused as is: same stack, no new mapping.
 * - Guards survive reuse: overflowing a reused stack faults in its guard.
 * - When guards cannot be installed (the vm.max_map_count budget, simulated
 *   here on the mprotect path): -ENOMEM by default; with
 *   COOP_CONTEXT_ALLOW_UNGUARDED the task runs with a canary, and writing
 *   below its stack aborts at its next switch, naming it.
 * - Memory of many finished tasks is given back (resident size drops).
 * - Whether madvise(MADV_GUARD_INSTALL) guards is decided without a file
 *   descriptor: a process with none left at its first spawn keeps it.
 * - Pools of other sizes than the context's default are given back once
 *   empty (but for the few emptied last), so tasks of ever new sizes hold
 *   address space for what is live only.
 * - A context stack size of SIZE_MAX / 2 (the largest accepted) makes
 *   spawns fail with -ENOMEM, never -EINVAL.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "coop-private.h"
#include "test-common.h"
#include "test-guard.h"

#if COOP_HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

/* ASan and valgrind map memory of their own as tasks come and go: the
 * process-wide counts (mappings, resident pages) say something about coop
 * only in plain runs, which every CI build but those two is. */
#define PROCESS_COUNTS_MEANINGFUL (!TEST_ASAN && !RUNNING_ON_VALGRIND)

extern int coop__guard_mode;
extern long coop__guard_budget;
enum { GUARD_UNKNOWN, GUARD_MADVISE, GUARD_MPROTECT };

static long map_count(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;
	int ch;

	ck_assert_ptr_nonnull(f);
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

static long rss_pages(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, rss = 0;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld %ld", &size, &rss), 2);
	fclose(f);
	return rss;
}

static void *noop(void *arg)
{
	return arg;
}

static long maps_after_first, maps_after_all;

static void *spawn_join_many(void *arg)
{
	struct coop_context *ctx = arg;
	struct coop_task *t, *first = NULL;
	void *res;

	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(coop_spawn(ctx, &t, noop, t, NULL), 0);
		if (!first)
			first = t;
		/* LIFO reuse: every child gets the slot the previous one left. */
		ck_assert_ptr_eq(t, first);
		ck_assert_int_eq(coop_join(t, &res), 0);
		if (i == 0)
			maps_after_first = map_count(); /* the slot and its guard exist */
	}
	maps_after_all = map_count();
	return NULL;
}

START_TEST(reuse_without_new_mappings)
{
	struct coop_context *ctx;

	ck_assert_int_eq(coop_context_create(&ctx, NULL), 0);
	for (int round = 0; round < 2; round++) {
		ck_assert_int_eq(coop_spawn(ctx, NULL, spawn_join_many, ctx, NULL), 0);
		ck_assert_int_eq(coop_run(ctx), 0);
		/* 999 spawns after the first mapped nothing (whatever the guard
		 * method: mprotect guards split mappings only once per slot). */
		if (PROCESS_COUNTS_MEANINGFUL)
			ck_assert_int_eq(maps_after_all, maps_after_first);
	}
	coop_context_destroy(ctx);
}
END_TEST

/* Guards survive reuse: a slot used and freed many times still faults. */
static void *overflow(void *arg)
{
	test_guard_lo = (uintptr_t)coop_self()->stack_lo;
	return (void *)(intptr_t)test_overflow(NULL, 0);
}

START_TEST(guard_survives_reuse)
{
	struct coop_context *ctx;
	struct coop_task *t, *again;

	test_catch_guard_faults();
	ck_assert_int_eq(coop_context_create(&ctx, NULL), 0);
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(coop_spawn(ctx, &t, noop, NULL, NULL), 0);
		ck_assert_int_eq(coop_run(ctx), 0);
		ck_assert_int_eq(coop_join(t, NULL), 0);
	}
	ck_assert_int_eq(coop_spawn(ctx, &again, overflow, NULL, NULL), 0);
	ck_assert_ptr_eq(again, t); /* the reused slot */
	coop_run(ctx);
	ck_abort_msg("the overflow did not fault");
}
END_TEST

static void *ok_task(void *arg)
{
	*(int *)arg += 1;
	coop_yield();
	return NULL;
}

/* The mprotect path with a budget of 5 guards: the sixth spawn fails with
 * -ENOMEM and leaves everything usable. */
START_TEST(budget_exhausted_is_enomem)
{
	struct coop_context *ctx;
	int ran = 0, i;

	coop__guard_mode = GUARD_MPROTECT;
	coop__guard_budget = 5;
	ck_assert_int_eq(coop_context_create(&ctx, NULL), 0);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(coop_spawn(ctx, NULL, ok_task, &ran, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, ok_task, &ran, NULL), -ENOMEM);
	ck_assert_int_eq(coop_spawn(ctx, NULL, ok_task, &ran, NULL), -ENOMEM);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(ran, 5);
	/* Finished slots keep their guards: reuse needs no new budget. */
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(coop_spawn(ctx, NULL, ok_task, &ran, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(ran, 10);
	coop_context_destroy(ctx);
}
END_TEST

START_TEST(budget_exhausted_unguarded_allowed)
{
	struct coop_context_opts o = {.size = sizeof(o), .flags = COOP_CONTEXT_ALLOW_UNGUARDED};
	struct coop_context *ctx;
	struct coop_task *t;
	int ran = 0;

	coop__guard_mode = GUARD_MPROTECT;
	coop__guard_budget = 2;
	ck_assert_int_eq(coop_context_create(&ctx, &o), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(coop_spawn(ctx, &t, ok_task, &ran, NULL), 0);
	ck_assert(!t->guarded);
	ck_assert(t->canary);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(ran, 4);
	coop_context_destroy(ctx);
}
END_TEST

/* Sizes whose slabs cannot be mapped are -ENOMEM, never a wrapped length.
 * (On a 64-bit target none of these fits the address space; on a 32-bit
 * one the smaller may, and then the task must simply run.) */
START_TEST(huge_stacks_are_enomem)
{
	struct coop_context *ctx;
	struct coop_task_opts o = {.size = sizeof(o)};
	size_t sizes[] = {SIZE_MAX / 4, SIZE_MAX / 8 + 12345, SIZE_MAX / 32};
	struct coop_task *t;
	int rc;

	ck_assert_int_eq(coop_context_create(&ctx, NULL), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		o.stack_size = sizes[i];
		rc = coop_spawn(ctx, &t, noop, NULL, &o);
		if (sizeof(void *) >= 8 || rc != 0) {
			ck_assert_int_eq(rc, -ENOMEM);
		} else {
			ck_assert_int_eq(coop_run(ctx), 0);
			ck_assert_int_eq(coop_join(t, NULL), 0);
		}
	}
	o.stack_size = SIZE_MAX / 2 + 1;
	ck_assert_int_eq(coop_spawn(ctx, NULL, noop, NULL, &o), -EINVAL);
	coop_context_destroy(ctx);
}
END_TEST

START_TEST(unknown_context_flag_is_einval)
{
	struct coop_context_opts o = {.size = sizeof(o), .flags = 0x80};
	struct coop_context *ctx;

	ck_assert_int_eq(coop_context_create(&ctx, &o), -EINVAL);
}
END_TEST

/* Writing below an unguarded stack is caught at the task's next switch. */
static void *smash_below(void *arg)
{
	struct coop_task *self = coop_self();

	(void)arg;
	memset(self->stack_lo, 0x5a, 8); /* what running off the end does */
	coop_yield();
	return NULL;
}

START_TEST(canary_catches_overflow_at_switch)
{
	struct coop_context_opts o = {.size = sizeof(o), .flags = COOP_CONTEXT_ALLOW_UNGUARDED};
	struct coop_task_opts to = {.size = sizeof(to), .name = "smasher"};
	struct coop_context *ctx;
	int ran = 0;

	coop__guard_mode = GUARD_MPROTECT;
	coop__guard_budget = 0;
	ck_assert_int_eq(coop_context_create(&ctx, &o), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, smash_below, NULL, &to), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, ok_task, &ran, NULL), 0);
	coop_run(ctx); /* aborts in smash_below's coop_yield */
}
END_TEST

/* Lazily given back: after 4,000 tasks that each dirtied 64 KiB end, the
 * context keeps far fewer resident stacks than it had. */
static void *dirty_and_wait(void *arg)
{
	volatile char buf[64 * 1024];

	memset((char *)buf, 1, sizeof(buf));
	coop_yield();
	return (void *)(uintptr_t)buf[100];
}

START_TEST(memory_given_back_in_batches)
{
	struct coop_context *ctx;
	long base, peak, after;

	ck_assert_int_eq(coop_context_create(&ctx, NULL), 0);
	base = rss_pages();
	for (int i = 0; i < 4000; i++)
		ck_assert_int_eq(coop_spawn(ctx, NULL, dirty_and_wait, NULL, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	after = rss_pages();
	/* 4,000 x 64 KiB dirtied: about 64,000 pages at the peak. */
	peak = 4000L * 16;
	if (PROCESS_COUNTS_MEANINGFUL)
		ck_assert_msg(after - base < peak / 4, "resident after: %ld pages over a base of %ld",
		              after - base, base);
	coop_context_destroy(ctx);
}
END_TEST

/* No descriptor left at the first spawn: the guard method is decided all
 * the same, and right (1.0 then fell back to mprotect for good: 32,745
 * guarded tasks instead of a million). */
START_TEST(guard_check_needs_no_fd)
{
	struct rlimit lim;
	struct coop_context *ctx;
	int expect = test_kernel_guards(), ran = 0, fd, last = -1;

	ck_assert_int_eq(coop__guard_mode, GUARD_UNKNOWN);
	/* The soft limit only: valgrind refuses a lower hard limit. */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &lim), 0);
	lim.rlim_cur = 64;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
	while ((fd = open("/dev/null", O_RDONLY)) >= 0)
		last = fd;
	ck_assert_int_eq(errno, EMFILE);
	ck_assert_int_eq(coop_context_create(&ctx, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, ok_task, &ran, NULL), 0);
	ck_assert_int_eq(coop__guard_mode, expect ? GUARD_MADVISE : GUARD_MPROTECT);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(ran, 1);
	coop_context_destroy(ctx);
	for (fd = 3; fd <= last; fd++)
		close(fd);
}
END_TEST

static long vm_size_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

struct sizes_run {
	struct coop_context *ctx;
	size_t most_pools;     /* the most pools the context held at once */
	long vm_grown_kib;     /* address space grown over the run */
};

/* One live task at a time, each of a stack size no other had: 2,000
 * sizes from 8 KiB to about 8 MiB, a page apart: a slot size each. */
static void *spawn_ever_new_sizes(void *arg)
{
	struct sizes_run *r = arg;
	struct coop_task_opts o = {.size = sizeof(o)};
	long vm0 = vm_size_kib(), vm;
	struct coop_task *t;

	for (size_t i = 0; i < 2000; i++) {
		o.stack_size = 8192 + i * 4096;
		ck_assert_int_eq(coop_spawn(r->ctx, &t, noop, NULL, &o), 0);
		ck_assert_int_eq(coop_join(t, NULL), 0);
		if (r->ctx->npools > r->most_pools)
			r->most_pools = r->ctx->npools;
	}
	vm = vm_size_kib();
	r->vm_grown_kib = vm - vm0;
	return NULL;
}

START_TEST(empty_pools_given_back)
{
	struct sizes_run r = {NULL, 0, 0};
	struct coop_task_opts o = {.size = sizeof(o), .stack_size = 100000};
	struct coop_task *t, *again;

	ck_assert_int_eq(coop_context_create(&r.ctx, NULL), 0);
	ck_assert_int_eq(coop_spawn(r.ctx, NULL, spawn_ever_new_sizes, &r, NULL), 0);
	ck_assert_int_eq(coop_run(r.ctx), 0);
	/* The default pool (the spawner's), the pool of the one live task,
	 * and at most the four emptied last: 1.0 kept all 2,001. */
	ck_assert_uint_le(r.most_pools, 6);
	ck_assert_uint_le(r.ctx->npools, 5);
	ck_assert_uint_le(r.ctx->nidle, 4);
	/* Each first slab holds 16 slots of up to 8 MiB: 2,000 of them held
	 * about 128 GiB of address space, a handful less than 1 GiB (a little
	 * more under qemu-user, which keeps some of what the guest unmaps). */
	if (PROCESS_COUNTS_MEANINGFUL)
		ck_assert_msg(r.vm_grown_kib < 16L * 1024 * 1024, "address space grew by %ld KiB",
		              r.vm_grown_kib);
	/* An idle pool is taken again as it was: the same slot. */
	ck_assert_int_eq(coop_spawn(r.ctx, &t, noop, NULL, &o), 0);
	ck_assert_int_eq(coop_run(r.ctx), 0);
	ck_assert_int_eq(coop_join(t, NULL), 0);
	ck_assert_int_eq(coop_spawn(r.ctx, &again, noop, NULL, &o), 0);
	ck_assert_ptr_eq(again, t);
	ck_assert_int_eq(coop_run(r.ctx), 0);
	ck_assert_int_eq(coop_join(again, NULL), 0);
	/* The default pool is never given back. */
	ck_assert_int_eq(coop_spawn(r.ctx, &t, noop, NULL, NULL), 0);
	ck_assert_int_eq(coop_run(r.ctx), 0);
	ck_assert_int_eq(coop_join(t, NULL), 0);
	ck_assert_ptr_nonnull(r.ctx->default_pool);
	ck_assert_int_eq(coop_spawn(r.ctx, &again, noop, NULL, NULL), 0);
	ck_assert_ptr_eq(again, t);
	ck_assert_int_eq(coop_run(r.ctx), 0);
	coop_context_destroy(r.ctx);
}
END_TEST

/* SIZE_MAX / 2, the largest size accepted, is accepted everywhere and
 * then fails for want of address space: -ENOMEM, never -EINVAL (1.0
 * rounded the context's default past the limit its spawns checked).  On
 * a 32-bit target 2 GiB may fit: then the task simply runs. */
START_TEST(largest_stack_size_is_enomem)
{
	struct coop_context_opts co = {.size = sizeof(co), .stack_size = SIZE_MAX / 2};
	struct coop_task_opts to = {.size = sizeof(to), .stack_size = SIZE_MAX / 2};
	struct coop_context *ctx;
	int rc;

	ck_assert_int_eq(coop_context_create(&ctx, &co), 0);
	for (int i = 0; i < 2; i++) {
		rc = coop_spawn(ctx, NULL, noop, NULL, i ? &to : NULL);
		if (sizeof(void *) >= 8 || rc != 0)
			ck_assert_int_eq(rc, -ENOMEM);
		else
			ck_assert_int_eq(coop_run(ctx), 0);
	}
	coop_context_destroy(ctx);
	co.stack_size = SIZE_MAX / 2 + 1;
	ck_assert_int_eq(coop_context_create(&ctx, &co), -EINVAL);
	co.stack_size = SIZE_MAX;
	ck_assert_int_eq(coop_context_create(&ctx, &co), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = test_tcase(s, "pool");

	tcase_add_test(tc, reuse_without_new_mappings);
	tcase_add_test_raise_signal(tc, guard_survives_reuse, SIGSEGV);
	tcase_add_test(tc, budget_exhausted_is_enomem);
	tcase_add_test(tc, budget_exhausted_unguarded_allowed);
	tcase_add_test(tc, unknown_context_flag_is_einval);
	tcase_add_test(tc, huge_stacks_are_enomem);
	tcase_add_test_raise_signal(tc, canary_catches_overflow_at_switch, SIGABRT);
	tcase_add_test(tc, memory_given_back_in_batches);
	tcase_add_test(tc, guard_check_needs_no_fd);
	tcase_add_test(tc, empty_pools_given_back);
	tcase_add_test(tc, largest_stack_size_is_enomem);
	return test_run(s);
}
