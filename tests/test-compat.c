/*
 * test-compat.c: the original API through <coop/compat.h>.
 *
 * Covers the original two-task program, unchanged but for its #include and
 * the name of main(), printing exactly its four lines (stdout is captured);
 * `coop_context ctx = {0};` as an empty scheduler; yields from nested calls
 * with locals intact; start() with no task; filling and starting the same
 * context twice; add_task() refusing a stack below COOP_STACK_SIZE_MIN.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test-common.h"

#include <coop/compat.h>

/* ------------------------------------------------ the original program -- */
/* Old-style declarations on purpose: this is the program users have. */

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

/* --------------------------------------------------------------------- */

/* Run original_main() with stdout going to a temporary file; returns what
 * it printed (malloc'd) and its exit status in *status. */
static char *capture_original(int *status)
{
	FILE *tmp = tmpfile();
	char *out;
	long len;
	int saved;

	ck_assert_ptr_nonnull(tmp);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(tmp), STDOUT_FILENO), 0);
	*status = original_main();
	fflush(stdout);
	ck_assert_int_ge(dup2(saved, STDOUT_FILENO), 0);
	close(saved);

	ck_assert_int_eq(fseek(tmp, 0, SEEK_END), 0);
	len = ftell(tmp);
	ck_assert_int_ge(len, 0);
	rewind(tmp);
	out = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(fread(out, 1, (size_t)len, tmp), (size_t)len);
	out[len] = '\0';
	fclose(tmp);
	return out;
}

START_TEST(original_program)
{
	int status = -1;
	char *out = capture_original(&status);

	ck_assert_int_eq(status, 0);
	ck_assert_str_eq(out, "Func1: 1\nFunc2: 1\nFunc1: 2\nFunc2: 2\n");
	free(out);
}
END_TEST

/* The program is re-runnable: a second run in the same process prints the
 * same. */
START_TEST(original_program_twice)
{
	int status = -1;
	char *a = capture_original(&status);
	char *b;

	ck_assert_int_eq(status, 0);
	b = capture_original(&status);
	ck_assert_int_eq(status, 0);
	ck_assert_str_eq(a, "Func1: 1\nFunc2: 1\nFunc1: 2\nFunc2: 2\n");
	ck_assert_str_eq(b, a);
	free(a);
	free(b);
}
END_TEST

/* ------------------------------------------------------ order logging -- */

static char order[128];
static size_t norder;

static void note(char c)
{
	if (norder < sizeof(order) - 1) {
		order[norder++] = c;
		order[norder] = '\0';
	}
}

static void reset_order(void)
{
	norder = 0;
	order[0] = '\0';
}

static void task_a(void) { note('a'); yield; note('A'); dump; }
static void task_b(void) { note('b'); yield; note('B'); }
static void task_c(void) { note('c'); yield; note('C'); yield; note('%'); }

START_TEST(zero_initialised_context)
{
	coop_context ctx = {0};
	task_t t1 = {0}, t2 = {0}, t3 = {0};
	coop_stack s1 = {.size = 4096, .stack_bottom = malloc(4096)};
	coop_stack s2 = {.size = 8192, .stack_bottom = malloc(8192)};
	coop_stack s3 = {.size = 4096, .stack_bottom = malloc(4096)};

	ck_assert_ptr_nonnull(s1.stack_bottom);
	ck_assert_ptr_nonnull(s2.stack_bottom);
	ck_assert_ptr_nonnull(s3.stack_bottom);
	reset_order();
	ck_assert_int_eq(add_task(&ctx, &t1, s1, task_a), 0);
	ck_assert_int_eq(add_task(&ctx, &t2, s2, task_b), 0);
	ck_assert_int_eq(add_task(&ctx, &t3, s3, task_c), 0);
	ck_assert_int_eq(t1.added, 1);
	ck_assert_int_eq(t2.added, 1);
	ck_assert_int_eq(t3.added, 1);
	/* Nothing runs before start(). */
	ck_assert_str_eq(order, "");
	ck_assert_int_eq(start(&ctx), 0);
	ck_assert_str_eq(order, "abcABC%");
	free(s1.stack_bottom);
	free(s2.stack_bottom);
	free(s3.stack_bottom);
}
END_TEST

/* ------------------------------------------------------ nested yields -- */

static int nested_bad;

static __attribute__((noinline)) int nested(int id, int depth)
{
	volatile int local = id * 10 + depth;
	volatile char arr[32];
	int i, sum;

	for (i = 0; i < 32; i++)
		arr[i] = (char)(id + depth + i);
	if (depth == 0) {
		yield;
		sum = 0;
	} else {
		sum = nested(id, depth - 1);
		yield;
	}
	if (local != id * 10 + depth)
		nested_bad++;
	for (i = 0; i < 32; i++)
		if (arr[i] != (char)(id + depth + i))
			nested_bad++;
	return sum + local;
}

static int nested_sum[2];

static void nested_one(void) { nested_sum[0] = nested(1, 4); note('1'); }
static void nested_two(void) { nested_sum[1] = nested(2, 4); note('2'); dump; }

START_TEST(nested_yields)
{
	coop_context ctx = make_context();
	task_t t1 = {0}, t2 = {0};
	coop_stack s1 = {.size = 4096, .stack_bottom = malloc(4096)};
	coop_stack s2 = {.size = 4096, .stack_bottom = malloc(4096)};

	reset_order();
	nested_bad = 0;
	nested_sum[0] = nested_sum[1] = -1;
	ck_assert_int_eq(add_task(&ctx, &t1, s1, nested_one), 0);
	ck_assert_int_eq(add_task(&ctx, &t2, s2, nested_two), 0);
	ck_assert_int_eq(start(&ctx), 0);
	ck_assert_int_eq(nested_bad, 0);
	/* sum over depth 0..4 of id * 10 + depth */
	ck_assert_int_eq(nested_sum[0], 5 * 10 + 10);
	ck_assert_int_eq(nested_sum[1], 5 * 20 + 10);
	ck_assert_str_eq(order, "12");
	free(s1.stack_bottom);
	free(s2.stack_bottom);
}
END_TEST

/* ---------------------------------------------------------- start() -- */

START_TEST(start_without_tasks)
{
	coop_context zero = {0};
	coop_context made = make_context();

	ck_assert_int_eq(start(&zero), 0);
	ck_assert_int_eq(start(&made), 0);
	/* And again: start() left them empty and reusable. */
	ck_assert_int_eq(start(&zero), 0);
	ck_assert_int_eq(start(&made), 0);
}
END_TEST

START_TEST(start_twice)
{
	coop_context ctx = {0};
	task_t t1 = {0}, t2 = {0}, t3 = {0}, t4 = {0};
	coop_stack s1 = {.size = 4096, .stack_bottom = malloc(4096)};
	coop_stack s2 = {.size = 4096, .stack_bottom = malloc(4096)};

	reset_order();
	ck_assert_int_eq(add_task(&ctx, &t1, s1, task_a), 0);
	ck_assert_int_eq(add_task(&ctx, &t2, s2, task_b), 0);
	ck_assert_int_eq(start(&ctx), 0);
	ck_assert_str_eq(order, "abAB");
	/* The tasks ended, so their stacks can carry new ones. */
	ck_assert_int_eq(add_task(&ctx, &t3, s1, task_c), 0);
	ck_assert_int_eq(add_task(&ctx, &t4, s2, task_a), 0);
	ck_assert_int_eq(start(&ctx), 0);
	ck_assert_str_eq(order, "abABcaCA%");
	free(s1.stack_bottom);
	free(s2.stack_bottom);
}
END_TEST

START_TEST(add_task_small_stack)
{
	coop_context ctx = {0};
	task_t t = {0};
	coop_stack s = {.size = COOP_STACK_SIZE_MIN - 1, .stack_bottom = malloc(COOP_STACK_SIZE_MIN)};

	ck_assert_ptr_nonnull(s.stack_bottom);
	reset_order();
	ck_assert_int_eq(add_task(&ctx, &t, s, task_a), -EINVAL);
	ck_assert_int_eq(t.added, 0);
	ck_assert_int_eq(start(&ctx), 0);
	ck_assert_str_eq(order, "");
	free(s.stack_bottom);
}
END_TEST

static Suite *compat_suite(void)
{
	Suite *s = suite_create("compat");
	TCase *tc;

	tc = test_tcase(s, "original");
	tcase_add_test(tc, original_program);
	tcase_add_test(tc, original_program_twice);

	tc = test_tcase(s, "api");
	tcase_add_test(tc, zero_initialised_context);
	tcase_add_test(tc, nested_yields);
	tcase_add_test(tc, start_without_tasks);
	tcase_add_test(tc, start_twice);
	tcase_add_test(tc, add_task_small_stack);
	return s;
}

int main(void)
{
	return test_run(compat_suite());
}
