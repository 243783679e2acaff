/*
 * test-introspect.c: coop_context_tasks().
 *
 * Covers the listing (ids in spawn order, also with gaps after joins;
 * names; the four states, seen from inside a task and from outside
 * coop_run; flags; stack sizes and addresses), the high-water mark
 * (growing once a task has dirtied 64 KiB of its stack, seen by the task
 * and by others, and not measured for a caller's buffer), truncation when
 * the buffer is short (the total still returned, nothing written past n),
 * counting with no buffer, every -EINVAL case (nothing written then), the
 * size rule (an older caller's shorter entries, a newer caller's longer
 * ones, a member covered in part), and errno left alone.
 */
#include <alloca.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <coop/coop.h>

#include "test-common.h"

static struct coop_context *ctx;

static void setup(void)
{
	test_context_create(&ctx);
}

static void teardown(void)
{
	test_context_destroy(&ctx);
}

/* n entries with their size set, the rest of each filled with 0xa5. */
static struct coop_task_info *infos(size_t n)
{
	struct coop_task_info *b = malloc(n * sizeof(*b));
	size_t i;

	ck_assert_ptr_nonnull(b);
	memset(b, 0xa5, n * sizeof(*b));
	for (i = 0; i < n; i++)
		b[i].size = sizeof(*b);
	return b;
}

/* Whether `len` bytes at p all equal c. */
static int all_bytes(const void *p, size_t len, unsigned char c)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != c)
			return 0;
	return 1;
}

static struct coop_task *waited; /* the task the waiter joins */
static int stop;                 /* the yielders end */

static void *yielder(void *arg)
{
	while (!stop)
		ck_assert_int_eq(coop_yield(), 0);
	return arg;
}

static void *waiter(void *arg)
{
	ck_assert_int_eq(coop_join(waited, NULL), 0);
	return arg;
}

static void *quitter(void *arg)
{
	return arg;
}

/* The observer: lists the context from inside, with every state present. */
static void *observer(void *arg)
{
	struct coop_task_info *b = infos(8);
	static const char *const names[] = {"yielder", "waiter", "waited", "quitter", "observer",
	                                    "newborn"};
	static const int states[] = {COOP_TASK_READY, COOP_TASK_BLOCKED, COOP_TASK_READY,
	                             COOP_TASK_DONE,  COOP_TASK_RUNNING, COOP_TASK_READY};
	struct coop_task_opts o = {.size = sizeof(o), .name = "newborn"};
	int i;

	ck_assert_int_eq(coop_spawn(ctx, NULL, quitter, NULL, &o), 0); /* detached, not started */
	ck_assert_int_eq(coop_context_tasks(ctx, b, 8), 6);
	for (i = 0; i < 6; i++) {
		ck_assert_uint_eq(b[i].size, sizeof(b[i]));
		ck_assert_uint_eq(b[i].id, (unsigned long long)i + 1);
		ck_assert_str_eq(b[i].name, names[i]);
		ck_assert_int_eq(b[i].state, states[i]);
		ck_assert_uint_eq(b[i].flags & ~COOP_TASK_INFO_DETACHED, COOP_TASK_INFO_GUARDED);
		ck_assert_uint_eq(!!(b[i].flags & COOP_TASK_INFO_DETACHED), i == 5);
		ck_assert_uint_ge(b[i].stack_size, COOP_STACK_SIZE_DEFAULT);
		ck_assert_ptr_nonnull(b[i].stack);
		ck_assert_uint_ne(b[i].stack_used, COOP_STACK_USED_UNKNOWN);
		ck_assert_uint_le(b[i].stack_used, b[i].stack_size);
	}
	/* The running task is on its stack now: it has used some of it. */
	ck_assert_uint_gt(b[4].stack_used, 0);
	ck_assert(all_bytes((char *)&b[6] + sizeof(b[6].size), sizeof(b[6]) - sizeof(b[6].size), 0xa5));
	free(b);
	stop = 1;
	return arg;
}

START_TEST(states_from_inside)
{
	struct coop_task_opts o = {.size = sizeof(o)};
	struct coop_task *t[5];
	static void *(*const fns[])(void *) = {yielder, waiter, yielder, quitter, observer};
	static const char *const names[] = {"yielder", "waiter", "waited", "quitter", "observer"};
	int i;

	stop = 0;
	for (i = 0; i < 5; i++) {
		o.name = names[i];
		ck_assert_int_eq(coop_spawn(ctx, &t[i], fns[i], NULL, &o), 0);
	}
	waited = t[2];
	ck_assert_int_eq(coop_run(ctx), 0);
	/* After the run: the waited task was joined by the waiter, the
	 * detached newborn freed itself; the rest have ended. */
	{
		struct coop_task_info *b = infos(4);
		static const unsigned long long ids[] = {1, 2, 4, 5};

		ck_assert_int_eq(coop_context_tasks(ctx, b, 4), 4);
		for (i = 0; i < 4; i++) {
			ck_assert_uint_eq(b[i].id, ids[i]);
			ck_assert_int_eq(b[i].state, COOP_TASK_DONE);
		}
		free(b);
	}
	for (i = 0; i < 5; i++)
		if (i != 2)
			ck_assert_int_eq(coop_join(t[i], NULL), 0);
	ck_assert_int_eq(coop_context_tasks(ctx, NULL, 0), 0);
}
END_TEST

START_TEST(before_run_and_gaps)
{
	struct coop_task_info *b = infos(3);
	struct coop_task *t[4];
	int i;

	ck_assert_int_eq(coop_context_tasks(ctx, NULL, 0), 0);
	ck_assert_int_eq(coop_context_tasks(ctx, b, 3), 0);
	ck_assert(all_bytes((char *)&b[0] + sizeof(b[0].size), sizeof(b[0]) - sizeof(b[0].size), 0xa5));
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(coop_spawn(ctx, &t[i], quitter, NULL, NULL), 0);
	ck_assert_int_eq(coop_context_tasks(ctx, NULL, 0), 4);
	ck_assert_int_eq(coop_context_tasks(ctx, b, 3), 4);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(b[i].id, (unsigned long long)i + 1);
		ck_assert_int_eq(b[i].state, COOP_TASK_READY);
		ck_assert_str_eq(b[i].name, "");
		ck_assert_uint_ge(b[i].stack_size, COOP_STACK_SIZE_DEFAULT);
	}
	ck_assert_ptr_ne(b[0].stack, b[1].stack);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(coop_join(t[0], NULL), 0);
	ck_assert_int_eq(coop_join(t[2], NULL), 0);
	ck_assert_int_eq(coop_context_tasks(ctx, b, 3), 2);
	ck_assert_uint_eq(b[0].id, 2);
	ck_assert_uint_eq(b[1].id, 4);
	free(b);
}
END_TEST

/* ------------------------------------------------------- truncation -- */

START_TEST(truncation)
{
	struct coop_task_info *b = infos(3);
	int i;

	for (i = 0; i < 5; i++)
		ck_assert_int_eq(coop_spawn(ctx, NULL, quitter, NULL, NULL), 0);
	/* Two entries asked for: the first two tasks, the total returned,
	 * the third entry untouched. */
	ck_assert_int_eq(coop_context_tasks(ctx, b, 2), 5);
	ck_assert_uint_eq(b[0].id, 1);
	ck_assert_uint_eq(b[1].id, 2);
	ck_assert(all_bytes((char *)&b[2] + sizeof(b[2].size), sizeof(b[2]) - sizeof(b[2].size), 0xa5));
	ck_assert_int_eq(coop_context_tasks(ctx, b, 1), 5);
	ck_assert_uint_eq(b[0].id, 1);
	ck_assert_int_eq(coop_run(ctx), 0);
	free(b);
}
END_TEST

/* ----------------------------------------------------------- errors -- */

START_TEST(einval)
{
	struct coop_task_info *b = infos(3);
	struct coop_task_info copy[3];

	ck_assert_int_eq(coop_spawn(ctx, NULL, quitter, NULL, NULL), 0);
	memcpy(copy, b, sizeof(copy));
	ck_assert_int_eq(coop_context_tasks(NULL, b, 3), -EINVAL);
	ck_assert_int_eq(coop_context_tasks(NULL, NULL, 0), -EINVAL);
	ck_assert_int_eq(coop_context_tasks(ctx, NULL, 1), -EINVAL);
	b[0].size = 0;
	ck_assert_int_eq(coop_context_tasks(ctx, b, 3), -EINVAL);
	b[0].size = sizeof(size_t) - 1;
	ck_assert_int_eq(coop_context_tasks(ctx, b, 3), -EINVAL);
	b[0].size = sizeof(b[0]);
	/* Every entry must say the same size, even those not needed. */
	b[2].size = sizeof(b[0]) + 8;
	ck_assert_int_eq(coop_context_tasks(ctx, b, 3), -EINVAL);
	b[2].size = 0;
	ck_assert_int_eq(coop_context_tasks(ctx, b, 3), -EINVAL);
	b[2].size = sizeof(b[0]);
	/* Nothing written by a failed call. */
	ck_assert_mem_eq(b, copy, sizeof(copy));
	/* An absurd count cannot wrap around the address space. */
	ck_assert_int_eq(coop_context_tasks(ctx, b, SIZE_MAX / 2), -EINVAL);
	/* n == 0 ignores the buffer. */
	ck_assert_int_eq(coop_context_tasks(ctx, b, 0), 1);
	ck_assert_mem_eq(b, copy, sizeof(copy));
	ck_assert_int_eq(coop_run(ctx), 0);
	free(b);
}
END_TEST

START_TEST(errno_kept)
{
	struct coop_task_info *b = infos(2);

	ck_assert_int_eq(coop_spawn(ctx, NULL, quitter, NULL, NULL), 0);
	errno = 4242;
	ck_assert_int_eq(coop_context_tasks(ctx, b, 2), 1);
	ck_assert_int_eq(errno, 4242);
	ck_assert_int_eq(coop_context_tasks(NULL, b, 2), -EINVAL);
	ck_assert_int_eq(errno, 4242);
	ck_assert_int_eq(coop_run(ctx), 0);
	free(b);
}
END_TEST

/* -------------------------------------------------------- size rule -- */

/* A caller's entry of `size` bytes: entries are `size` bytes apart. */
static unsigned char *raw_entries(size_t size, size_t n)
{
	unsigned char *raw = malloc(size * n);
	size_t i;

	ck_assert_ptr_nonnull(raw);
	memset(raw, 0xa5, size * n);
	for (i = 0; i < n; i++)
		memcpy(raw + i * size, &size, sizeof(size));
	return raw;
}

START_TEST(size_rule)
{
	const size_t full = sizeof(struct coop_task_info);
	const size_t id_end = offsetof(struct coop_task_info, id) + sizeof(unsigned long long);
	const size_t sizes[] = {
		sizeof(size_t),                                 /* nothing but size */
		id_end,                                         /* size and id */
		offsetof(struct coop_task_info, name) + 4,      /* name covered in part */
		offsetof(struct coop_task_info, stack_size),    /* up to flags */
		full,                                           /* this version */
		full + 24,                                      /* a newer caller's */
	};
	struct coop_task_opts o = {.size = sizeof(o), .name = "a-long-enough-name"};
	size_t k;

	ck_assert_int_eq(coop_spawn(ctx, NULL, quitter, NULL, &o), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, quitter, NULL, &o), 0);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t size = sizes[k], i;
		unsigned char *raw = raw_entries(size, 3);

		ck_assert_int_eq(coop_context_tasks(ctx, (struct coop_task_info *)raw, 3), 2);
		for (i = 0; i < 2; i++) {
			unsigned char *e = raw + i * size;
			struct coop_task_info info;
			size_t s;

			memcpy(&s, e, sizeof(s));
			ck_assert_uint_eq(s, size); /* size is kept */
			memset(&info, 0, sizeof(info));
			memcpy(&info, e, size < full ? size : full);
			if (size >= id_end)
				ck_assert_uint_eq(info.id, i + 1);
			else
				ck_assert(all_bytes(e + sizeof(size_t), size - sizeof(size_t), 0));
			if (size == offsetof(struct coop_task_info, name) + 4)
				/* Not "a-lo": a member covered in part is zeroed. */
				ck_assert(all_bytes(e + id_end, 4, 0));
			if (size >= offsetof(struct coop_task_info, stack_size)) {
				ck_assert_str_eq(info.name, "a-long-enough-name");
				ck_assert_int_eq(info.state, COOP_TASK_READY);
				ck_assert_uint_eq(info.flags, COOP_TASK_INFO_DETACHED | COOP_TASK_INFO_GUARDED);
			}
			if (size >= full) {
				ck_assert_uint_ge(info.stack_size, COOP_STACK_SIZE_DEFAULT);
				ck_assert_ptr_nonnull(info.stack);
				/* Members of a newer version read 0. */
				ck_assert(all_bytes(e + full, size - full, 0));
			}
		}
		/* The third entry is not written past its size. */
		ck_assert(all_bytes(raw + 2 * size + sizeof(size_t), size - sizeof(size_t), 0xa5));
		free(raw);
	}
	ck_assert_int_eq(coop_run(ctx), 0);
}
END_TEST

/* ------------------------------------------------------- high water -- */

#define DIRTY ((size_t)64 * 1024)

static size_t used_of(unsigned long long id)
{
	struct coop_task_info b[4];
	int n, i;

	for (i = 0; i < 4; i++)
		b[i].size = sizeof(b[i]);
	n = coop_context_tasks(ctx, b, 4);
	ck_assert_int_ge(n, 1);
	for (i = 0; i < n && i < 4; i++)
		if (b[i].id == id)
			return b[i].stack_used;
	ck_abort_msg("no task %llu", id);
	return 0;
}

/* Write `len` bytes of this task's stack (alloca: on the real stack even
 * under ASan's fake stacks). */
static __attribute__((noinline)) void dirty(size_t len)
{
	volatile char *p = alloca(len);
	size_t i;

	for (i = 0; i < len; i += 512)
		p[i] = (char)i;
	p[len - 1] = 1;
}

static size_t used_before, used_after;

static void *grower(void *arg)
{
	used_before = used_of(1);
	dirty(DIRTY);
	used_after = used_of(1);
	ck_assert_int_eq(coop_yield(), 0); /* the watcher measures us suspended */
	return arg;
}

static void *watcher(void *arg)
{
	/* The grower is suspended; its mark stays. */
	ck_assert_uint_ge(used_of(1), used_after);
	return arg;
}

START_TEST(high_water_mark)
{
	size_t pg = (size_t)getpagesize();

	ck_assert_int_eq(coop_spawn(ctx, NULL, grower, NULL, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, watcher, NULL, NULL), 0);
	/* Fresh stacks: nothing below the top page is resident yet. */
	ck_assert_uint_le(used_of(1), pg);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_uint_gt(used_before, 0);
	ck_assert_uint_lt(used_before, DIRTY / 2);
	ck_assert_uint_ge(used_after, DIRTY);
	ck_assert_uint_ge(used_after, used_before + DIRTY - pg);
}
END_TEST

static void *check_user_stack(void *arg)
{
	struct coop_task_info b[1] = {{.size = sizeof(b[0])}};

	dirty(8192);
	ck_assert_int_eq(coop_context_tasks(ctx, b, 1), 1);
	ck_assert_uint_eq(b[0].stack_used, COOP_STACK_USED_UNKNOWN);
	ck_assert_uint_eq(b[0].flags, COOP_TASK_INFO_USER_STACK);
	ck_assert_int_eq(b[0].state, COOP_TASK_RUNNING);
	*(const void **)arg = b[0].stack;
	return NULL;
}

START_TEST(user_stack_not_measured)
{
	size_t size = 64 * 1024 + TEST_ASAN_SLACK;
	char *buf = malloc(size);
	const void *reported = NULL;
	struct coop_task *t;
	struct coop_task_opts o = {.size = sizeof(o), .stack = buf, .stack_size = size};
	struct coop_task_info b[1] = {{.size = sizeof(b[0])}};

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(coop_spawn(ctx, &t, check_user_stack, &reported, &o), 0);
	ck_assert_int_eq(coop_context_tasks(ctx, b, 1), 1);
	ck_assert_uint_le(b[0].stack_size, size);
	ck_assert_uint_ge(b[0].stack_size, size - 32);
	ck_assert((const char *)b[0].stack >= buf && (const char *)b[0].stack < buf + 16);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_ptr_eq(reported, b[0].stack);
	ck_assert_int_eq(coop_join(t, NULL), 0);
	free(buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("introspect");
	TCase *tc;

	tc = test_tcase(s, "listing");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, states_from_inside);
	tcase_add_test(tc, before_run_and_gaps);
	tcase_add_test(tc, truncation);

	tc = test_tcase(s, "errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, einval);
	tcase_add_test(tc, errno_kept);
	tcase_add_test(tc, size_rule);

	tc = test_tcase(s, "stack");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, high_water_mark);
	tcase_add_test(tc, user_stack_not_measured);
	return test_run(s);
}
