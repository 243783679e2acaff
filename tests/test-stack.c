/*
 * test-stack.c: task stacks.
 *
 * Covers caller-owned buffers (4 KiB malloc'd stacks doing printf-style
 * work, the task really running on the buffer, nearly all of it usable, the
 * library writing nothing to the part the task does not use, reuse after the
 * task ended, buffers below COOP_STACK_SIZE_MIN refused), mapped stacks of a
 * requested size, the context's default stack size, stack sizes below the
 * minimum refused for both options structs, 16-byte alignment at task entry
 * for mapped and caller-owned stacks of odd sizes and addresses, and the
 * guard page: unbounded recursion dies by SIGSEGV, faulting right below its
 * own stack (checked by a handler on an alternate stack) instead of running
 * on through other memory.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <coop/coop.h>

#include "test-common.h"

/*
 * The guard page tests expect the kernel's SIGSEGV to kill the test process.
 * AddressSanitizer and UBSan install their own SIGSEGV handlers that report
 * and exit(1) instead, so builds with them are told to leave SIGSEGV alone
 * (an ASAN_OPTIONS/UBSAN_OPTIONS setting in the environment still wins).
 */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void)
{
	return "handle_segv=0";
}

const char *__ubsan_default_options(void)
{
	return "handle_segv=0";
}

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

/* Spawn fn(arg) on the caller's buffer [stack, stack + size). */
static int spawn_on(struct coop_task **out, void *(*fn)(void *), void *arg, void *stack,
		    size_t size)
{
	struct coop_task_opts opts = {.size = sizeof(opts), .stack_size = size, .stack = stack};

	return coop_spawn(ctx, out, fn, arg, &opts);
}

/* Spawn fn(arg) on a mapped stack of `size` usable bytes. */
static int spawn_sized(struct coop_task **out, void *(*fn)(void *), void *arg, size_t size)
{
	struct coop_task_opts opts = {.size = sizeof(opts), .stack_size = size};

	return coop_spawn(ctx, out, fn, arg, &opts);
}

/* Where the stack of a called function is: its frame address, which is on
 * the real stack even where ASan moves addressable locals to a "fake stack"
 * on the heap (detect_stack_use_after_return). */
static __attribute__((noinline)) uintptr_t local_address(void)
{
	return (uintptr_t)__builtin_frame_address(0);
}

/* Touch every byte of a `bytes`-long local array; returns a checksum that
 * depends on all of it. */
static __attribute__((noinline)) unsigned long use_array(size_t bytes)
{
	volatile unsigned char *p = __builtin_alloca(bytes);
	unsigned long sum = 0;
	size_t i;

	for (i = 0; i < bytes; i++)
		p[i] = (unsigned char)(i * 31);
	for (i = 0; i < bytes; i++)
		sum += p[i];
	return sum;
}

static unsigned long expected_sum(size_t bytes)
{
	unsigned long sum = 0;
	size_t i;

	for (i = 0; i < bytes; i++)
		sum += (unsigned char)(i * 31);
	return sum;
}

/* ------------------------------------------------------ user buffers -- */

/* Tasks on small stacks use no Check assertion (its bookkeeping needs more
 * stack than the task itself); they record and the test asserts. */
struct buf_task {
	unsigned char *lo;      /* the buffer the task was given */
	size_t size;            /* its size */
	int id;                 /* which task */
	int inside;             /* locals were inside [lo, lo + size) every time */
	int failures;           /* snprintf or coop_yield() calls that failed */
	char text[64];          /* what snprintf produced */
};

static __attribute__((noinline)) int format_into_local(struct buf_task *bt, int round)
{
	char local[96];
	int n;

	n = snprintf(local, sizeof(local), "task %d round %d: %s %lx %c", bt->id, round, "ok",
		     0xc00UL, 'z');
	strcpy(bt->text, local);
	return n;
}

static void *printing_task(void *arg)
{
	struct buf_task *bt = arg;
	uintptr_t here;
	int r;

	bt->inside = 1;
	for (r = 0; r < 3; r++) {
		here = local_address();
		if (here < (uintptr_t)bt->lo || here >= (uintptr_t)bt->lo + bt->size)
			bt->inside = 0;
		if (format_into_local(bt, r) <= 0)
			bt->failures++;
		if (coop_yield() != 0)
			bt->failures++;
	}
	return bt;
}

START_TEST(user_buffer_4k)
{
	struct buf_task bt[2];
	struct coop_task *t[2];
	void *res;
	char expect[64];
	int i;

	for (i = 0; i < 2; i++) {
		memset(&bt[i], 0, sizeof(bt[i]));
		bt[i].lo = malloc(4096);
		ck_assert_ptr_nonnull(bt[i].lo);
		bt[i].size = 4096;
		bt[i].id = i + 1;
		ck_assert_int_eq(spawn_on(&t[i], printing_task, &bt[i], bt[i].lo, 4096), 0);
	}
	ck_assert_int_eq(coop_run(ctx), 0);
	for (i = 0; i < 2; i++) {
		res = NULL;
		ck_assert_int_eq(coop_join(t[i], &res), 0);
		ck_assert_ptr_eq(res, &bt[i]);
		ck_assert_int_eq(bt[i].inside, 1);
		ck_assert_int_eq(bt[i].failures, 0);
		snprintf(expect, sizeof(expect), "task %d round 2: ok c00 z", i + 1);
		ck_assert_str_eq(bt[i].text, expect);
		/* Still ours: free it (valgrind/ASan check nobody else did). */
		free(bt[i].lo);
	}
}
END_TEST

struct big_local {
	unsigned char *lo;      /* the buffer */
	size_t size;            /* its size */
	size_t use;             /* bytes of local array to use */
	unsigned long sum;      /* the checksum use_array() returned */
	int inside;             /* the task's locals were inside the buffer */
};

static void *big_local_task(void *arg)
{
	struct big_local *b = arg;
	uintptr_t here = local_address();

	b->inside = here >= (uintptr_t)b->lo && here < (uintptr_t)b->lo + b->size;
	b->sum = use_array(b->use);
	return NULL;
}

/* A 4096-byte buffer leaves the task almost all of it (ASan's runtime and
 * redzones take their share of it in ASan builds). */
START_TEST(user_buffer_mostly_usable)
{
	struct big_local b = {NULL, 4096, TEST_ASAN ? 1536 : 3072, 0, 0};
	struct coop_task *t = NULL;

	b.lo = malloc(b.size);
	ck_assert_ptr_nonnull(b.lo);
	ck_assert_int_eq(spawn_on(&t, big_local_task, &b, b.lo, b.size), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(coop_join(t, NULL), 0);
	ck_assert_int_eq(b.inside, 1);
	ck_assert_uint_eq(b.sum, expected_sum(b.use));
	free(b.lo);
}
END_TEST

static void *tiny_task(void *arg)
{
	*(int *)arg += 1;
	return NULL;
}

/* The library keeps its bookkeeping off the buffer: the part of it the
 * task's frames never reach stays as the caller left it, but for the
 * canary word at the buffer's 16-byte-aligned bottom. */
START_TEST(user_buffer_untouched_below)
{
	const size_t size = 32 * 1024, keep = 16 * 1024;
	unsigned char *buf = malloc(size);
	struct coop_task *t = NULL;
	int n = 0;
	size_t i;

	ck_assert_ptr_nonnull(buf);
	memset(buf, 0xa5, size);
	ck_assert_int_eq(spawn_on(&t, tiny_task, &n, buf, size), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(coop_join(t, NULL), 0);
	for (i = 16; i < keep; i++)
		if (buf[i] != 0xa5)
			break;
	ck_assert_uint_eq(i, keep);
	free(buf);
}
END_TEST

/* A buffer can carry another task once the first has ended. */
START_TEST(user_buffer_reused)
{
	struct buf_task bt;
	struct coop_task *t = NULL;
	int round;

	memset(&bt, 0, sizeof(bt));
	bt.lo = malloc(4096);
	ck_assert_ptr_nonnull(bt.lo);
	bt.size = 4096;
	for (round = 0; round < 3; round++) {
		bt.id = round;
		bt.inside = 0;
		ck_assert_int_eq(spawn_on(&t, printing_task, &bt, bt.lo, bt.size), 0);
		ck_assert_int_eq(coop_run(ctx), 0);
		ck_assert_int_eq(coop_join(t, NULL), 0);
		ck_assert_int_eq(bt.inside, 1);
		ck_assert_int_eq(bt.failures, 0);
	}
	free(bt.lo);
}
END_TEST

START_TEST(user_buffer_too_small)
{
	unsigned char *buf = malloc(COOP_STACK_SIZE_MIN);
	struct coop_task *t = NULL;
	int n = 0;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(spawn_on(&t, tiny_task, &n, buf, COOP_STACK_SIZE_MIN - 1), -EINVAL);
	ck_assert_int_eq(spawn_on(&t, tiny_task, &n, buf, 64), -EINVAL);
	ck_assert_int_eq(spawn_on(&t, tiny_task, &n, buf, 0), -EINVAL);
	ck_assert_int_eq(spawn_on(NULL, tiny_task, &n, buf, COOP_STACK_SIZE_MIN - 1), -EINVAL);
	/* Nothing was queued. */
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n, 0);
	/* The minimum itself is accepted, and runs (except with ASan, whose
	 * runtime alone needs more: there destroy releases it unrun). */
	ck_assert_int_eq(spawn_on(&t, tiny_task, &n, buf, COOP_STACK_SIZE_MIN), 0);
	if (!TEST_ASAN) {
		ck_assert_int_eq(coop_run(ctx), 0);
		ck_assert_int_eq(n, 1);
		ck_assert_int_eq(coop_join(t, NULL), 0);
	}
	/* The buffer is freed only once no task holds it. */
	coop_context_destroy(ctx);
	ctx = NULL;
	free(buf);
}
END_TEST

/* A caller's buffer claimed larger than SIZE_MAX / 2 (the largest stack
 * the API accepts) is -EINVAL, even where its end does not wrap: 1.0 took
 * it and wrote the first frame at its far end (SIGSEGV). */
START_TEST(user_buffer_too_large)
{
	unsigned char *buf = malloc(4096);
	struct coop_task *t = NULL;
	int n = 0;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(spawn_on(&t, tiny_task, &n, buf, SIZE_MAX / 2 + 1), -EINVAL);
	ck_assert_int_eq(spawn_on(&t, tiny_task, &n, buf, SIZE_MAX - (uintptr_t)buf), -EINVAL);
	ck_assert_int_eq(spawn_on(&t, tiny_task, &n, buf, SIZE_MAX), -EINVAL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n, 0);
	free(buf);
}
END_TEST

/* ---------------------------------------------------- mapped stacks -- */

START_TEST(mapped_stack_of_given_size)
{
	static const size_t sizes[] = {128 * 1024, 100000, 48 * 1024 + 1};
	struct big_local b[3];
	struct coop_task *t[3];
	int i;

	for (i = 0; i < 3; i++) {
		memset(&b[i], 0, sizeof(b[i]));
		b[i].use = sizes[i] - 8 * 1024;
		ck_assert_int_eq(spawn_sized(&t[i], big_local_task, &b[i], sizes[i]), 0);
	}
	ck_assert_int_eq(coop_run(ctx), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(coop_join(t[i], NULL), 0);
		ck_assert_uint_eq(b[i].sum, expected_sum(b[i].use));
	}
}
END_TEST

START_TEST(mapped_stack_minimum)
{
	struct coop_task *t = NULL;
	int n = 0;

	ck_assert_int_eq(spawn_sized(&t, tiny_task, &n, COOP_STACK_SIZE_MIN), 0);
	if (TEST_ASAN)
		return; /* released unrun by the teardown: see test-common.h */
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(coop_join(t, NULL), 0);
}
END_TEST

START_TEST(default_stack_is_large)
{
	struct big_local b = {NULL, 0, 56 * 1024, 0, 0};
	struct coop_task *t = NULL;

	ck_assert_uint_ge(COOP_STACK_SIZE_DEFAULT, 64 * 1024);
	ck_assert_int_eq(coop_spawn(ctx, &t, big_local_task, &b, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(coop_join(t, NULL), 0);
	ck_assert_uint_eq(b.sum, expected_sum(b.use));
}
END_TEST

/* A context whose default is 1 MiB: tasks without a size get 1 MiB. */
START_TEST(context_default_stack_size)
{
	struct coop_context_opts copts = {.size = sizeof(copts), .stack_size = 1024 * 1024};
	struct coop_task_opts topts = {.size = sizeof(topts), .name = "zero-size"};
	struct coop_context *big = NULL;
	struct big_local b[2];
	struct coop_task *t[2];
	int i;

	memset(b, 0, sizeof(b));
	b[0].use = b[1].use = 900 * 1024;
	ck_assert_int_eq(coop_context_create(&big, &copts), 0);
	ck_assert_int_eq(coop_spawn(big, &t[0], big_local_task, &b[0], NULL), 0);
	/* stack_size 0 in task options also means the context's default. */
	ck_assert_int_eq(coop_spawn(big, &t[1], big_local_task, &b[1], &topts), 0);
	ck_assert_int_eq(coop_run(big), 0);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(coop_join(t[i], NULL), 0);
		ck_assert_uint_eq(b[i].sum, expected_sum(b[i].use));
	}
	coop_context_destroy(big);
}
END_TEST

START_TEST(stack_size_below_minimum)
{
	struct coop_context_opts copts = {.size = sizeof(copts), .stack_size = COOP_STACK_SIZE_MIN - 1};
	struct coop_context *other = NULL;
	struct coop_task *t = NULL;
	int n = 0;

	ck_assert_int_eq(coop_context_create(&other, &copts), -EINVAL);
	copts.stack_size = 1;
	ck_assert_int_eq(coop_context_create(&other, &copts), -EINVAL);
	copts.stack_size = COOP_STACK_SIZE_MIN;
	ck_assert_int_eq(coop_context_create(&other, &copts), 0);
	coop_context_destroy(other);

	ck_assert_int_eq(spawn_sized(&t, tiny_task, &n, COOP_STACK_SIZE_MIN - 1), -EINVAL);
	ck_assert_int_eq(spawn_sized(&t, tiny_task, &n, 1), -EINVAL);
	ck_assert_int_eq(spawn_sized(NULL, tiny_task, &n, 100), -EINVAL);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(n, 0);
}
END_TEST

/* --------------------------------------------------------- alignment -- */

/* Misalignment of the stack as seen by a function: 0 when it is right.
 * The aligned local is not realigned by the compiler (the ABI promises
 * 16 bytes at every call), so it shows a misaligned stack; on x86-64 the
 * frame pointer (rsp at entry minus the return address and saved rbp) shows
 * it exactly. */
static __attribute__((noinline)) unsigned misalignment(void)
{
	volatile char probe[16] __attribute__((aligned(16)));
	unsigned bad;

	probe[0] = 0;
	bad = (unsigned)((uintptr_t)probe % 16) + (unsigned)probe[0];
#if defined(__x86_64__)
	bad |= (unsigned)((uintptr_t)__builtin_frame_address(0) % 16);
#endif
	return bad;
}

struct align_result {
	unsigned at_entry;   /* misalignment in the task function itself */
	unsigned in_callee;  /* misalignment in a function it calls */
	unsigned after_yield; /* the same after a switch away and back */
	int yield_rc;        /* what coop_yield() returned */
	int ran;             /* the task ran */
};

static void *align_task(void *arg)
{
	struct align_result *r = arg;
	volatile char entry_probe[16] __attribute__((aligned(16)));

	entry_probe[0] = 1;
	r->at_entry = (unsigned)((uintptr_t)entry_probe % 16);
#if defined(__x86_64__)
	r->at_entry |= (unsigned)((uintptr_t)__builtin_frame_address(0) % 16);
#endif
	r->in_callee = misalignment();
	r->yield_rc = coop_yield();
	r->after_yield = misalignment();
	r->ran = entry_probe[0];
	return NULL;
}

START_TEST(alignment_at_entry)
{
	/* offset into a malloc'd block, buffer size. */
	static const struct {
		size_t offset, size;
	} user[] = {{3, 4093}, {1, 8191}, {8, 4096}, {5, 5003}, {0, 4097}, {7, 2049}};
	static const size_t mapped[] = {0, 70001, 64 * 1024 + 8, COOP_STACK_SIZE_MIN + 1};
	enum { NUSER = sizeof(user) / sizeof(user[0]), NMAPPED = sizeof(mapped) / sizeof(mapped[0]) };
	struct align_result r[NUSER + NMAPPED + 1];
	unsigned char *blocks[NUSER];
	struct coop_context *odd = NULL;
	struct coop_context_opts copts = {.size = sizeof(copts), .stack_size = 3 * 4096 + 5};
	int i;

	memset(r, 0xff, sizeof(r));
	for (i = 0; i < NUSER; i++) {
		size_t size = user[i].size + TEST_ASAN_SLACK;

		blocks[i] = malloc(user[i].offset + size);
		ck_assert_ptr_nonnull(blocks[i]);
		r[i].ran = 0;
		ck_assert_int_eq(spawn_on(NULL, align_task, &r[i], blocks[i] + user[i].offset, size),
				 0);
	}
	for (i = 0; i < NMAPPED; i++) {
		r[NUSER + i].ran = 0;
		ck_assert_int_eq(spawn_sized(NULL, align_task, &r[NUSER + i],
					     mapped[i] ? mapped[i] + TEST_ASAN_SLACK : 0), 0);
	}
	ck_assert_int_eq(coop_run(ctx), 0);
	/* A context whose default size is odd. */
	r[NUSER + NMAPPED].ran = 0;
	ck_assert_int_eq(coop_context_create(&odd, &copts), 0);
	ck_assert_int_eq(coop_spawn(odd, NULL, align_task, &r[NUSER + NMAPPED], NULL), 0);
	ck_assert_int_eq(coop_run(odd), 0);
	coop_context_destroy(odd);

	for (i = 0; i < NUSER + NMAPPED + 1; i++) {
		ck_assert_msg(r[i].ran == 1, "task %d did not run", i);
		ck_assert_int_eq(r[i].yield_rc, 0);
		ck_assert_msg(r[i].at_entry == 0, "task %d: misaligned at entry (%u)", i, r[i].at_entry);
		ck_assert_msg(r[i].in_callee == 0, "task %d: misaligned in callee (%u)", i,
			      r[i].in_callee);
		ck_assert_msg(r[i].after_yield == 0, "task %d: misaligned after yield (%u)", i,
			      r[i].after_yield);
	}
	for (i = 0; i < NUSER; i++)
		free(blocks[i]);
}
END_TEST

/* -------------------------------------------------------- guard page -- */

/*
 * A task recursing without bound must die by SIGSEGV at the guard page
 * right below its stack, not somewhere further down after running through
 * other memory.  A SIGSEGV handler on an alternate stack checks where the
 * fault is: within a few pages below (top of the task's stack - its size).
 * If so, it restores the default action and returns, so the faulting write
 * repeats and kills the process by SIGSEGV, which the test expects; if not,
 * it exits with status 3, which fails the test.
 */
static volatile uintptr_t overflow_top;   /* the task's first frame */
static volatile size_t overflow_size;     /* the stack size the task was given */
static unsigned char altstack[64 * 1024];

static void guard_handler(int sig, siginfo_t *si, void *uc)
{
	static const char msg[] = "test-stack: SIGSEGV away from the guard page\n";
	uintptr_t addr = (uintptr_t)si->si_addr;
	uintptr_t pg = 4096, expect = overflow_top - overflow_size;

	(void)uc;
	/* The usable size may be rounded up to a page; the task's first frame
	 * sits a little below the top. */
	if (overflow_top && addr >= expect - 3 * pg && addr < expect + 2 * pg) {
		signal(sig, SIG_DFL);
		return;
	}
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(4);
	_exit(3);
}

static void catch_overflow(size_t size)
{
	stack_t ss;
	struct sigaction sa;

	overflow_top = 0;
	overflow_size = size;
	memset(&ss, 0, sizeof(ss));
	ss.ss_sp = altstack;
	ss.ss_size = sizeof(altstack);
	ck_assert_int_eq(sigaltstack(&ss, NULL), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = guard_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGSEGV, &sa, NULL), 0);
}

/* Never reached, but keeps the recursion formally bounded. */
static volatile unsigned long recursion_limit = ~0UL;

static __attribute__((noinline)) unsigned long recurse(unsigned long depth)
{
	volatile unsigned char frame[1024];
	size_t i;

	for (i = 0; i < sizeof(frame); i++)
		frame[i] = (unsigned char)(depth + i);
	if (depth == recursion_limit)
		return frame[0];
	/* Uses the result: not a tail call. */
	return recurse(depth + 1) + frame[depth % sizeof(frame)];
}

static volatile unsigned long recursion_result;

static void *overflow_task(void *arg)
{
	(void)arg;
	overflow_top = (uintptr_t)__builtin_frame_address(0);
	recursion_result = recurse(0);
	return NULL;
}

START_TEST(guard_page_default_stack)
{
	catch_overflow(COOP_STACK_SIZE_DEFAULT);
	ck_assert_int_eq(coop_spawn(ctx, NULL, overflow_task, NULL, NULL), 0);
	coop_run(ctx);
	ck_abort_msg("unbounded recursion returned (result %lu)", recursion_result);
}
END_TEST

START_TEST(guard_page_sized_stack)
{
	const size_t size = 64 * 1024 + 12345;

	catch_overflow(size);
	ck_assert_int_eq(spawn_sized(NULL, overflow_task, NULL, size), 0);
	coop_run(ctx);
	ck_abort_msg("unbounded recursion returned (result %lu)", recursion_result);
}
END_TEST

START_TEST(guard_page_context_default)
{
	struct coop_context_opts copts = {.size = sizeof(copts), .stack_size = 512 * 1024};
	struct coop_context *big = NULL;

	catch_overflow(copts.stack_size);
	ck_assert_int_eq(coop_context_create(&big, &copts), 0);
	ck_assert_int_eq(coop_spawn(big, NULL, overflow_task, NULL, NULL), 0);
	coop_run(big);
	ck_abort_msg("unbounded recursion returned (result %lu)", recursion_result);
}
END_TEST

/* Stacks mapped right before and after the overflowing one (whose tasks run
 * before and after it) do not absorb the overflow. */
static void *neighbour(void *arg)
{
	(void)arg;
	return NULL;
}

START_TEST(guard_page_between_tasks)
{
	const size_t size = 32 * 1024;

	catch_overflow(size);
	ck_assert_int_eq(spawn_sized(NULL, neighbour, NULL, size), 0);
	ck_assert_int_eq(spawn_sized(NULL, overflow_task, NULL, size), 0);
	ck_assert_int_eq(spawn_sized(NULL, neighbour, NULL, size), 0);
	coop_run(ctx);
	ck_abort_msg("unbounded recursion returned (result %lu)", recursion_result);
}
END_TEST

static Suite *stack_suite(void)
{
	Suite *s = suite_create("stack");
	TCase *tc;

	tc = test_tcase(s, "user");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, user_buffer_4k);
	tcase_add_test(tc, user_buffer_mostly_usable);
	tcase_add_test(tc, user_buffer_untouched_below);
	tcase_add_test(tc, user_buffer_reused);
	tcase_add_test(tc, user_buffer_too_large);
	tcase_add_test(tc, user_buffer_too_small);

	tc = test_tcase(s, "mapped");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, mapped_stack_of_given_size);
	tcase_add_test(tc, mapped_stack_minimum);
	tcase_add_test(tc, default_stack_is_large);
	tcase_add_test(tc, context_default_stack_size);
	tcase_add_test(tc, stack_size_below_minimum);

	tc = test_tcase(s, "alignment");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, alignment_at_entry);

	tc = test_tcase(s, "guard");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test_raise_signal(tc, guard_page_default_stack, SIGSEGV);
	tcase_add_test_raise_signal(tc, guard_page_sized_stack, SIGSEGV);
	tcase_add_test_raise_signal(tc, guard_page_context_default, SIGSEGV);
	tcase_add_test_raise_signal(tc, guard_page_between_tasks, SIGSEGV);
	return s;
}

int main(void)
{
	return test_run(stack_suite());
}
