/*
 * test-arch.c: the machine layer alone (src/arch/arch.h), below the
 * scheduler: every callee-saved register and the floating-point control
 * state survive a switch, a fresh context starts with its argument and the
 * ABI's stack alignment, and switching back and forth many times works.
 * The register probes are per-target assembly in tests/arch/.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "arch/arch.h"

/* tests/arch/<target>.S */
unsigned coop_test_switch_preserves(struct coop__arch_ctx *from, struct coop__arch_ctx *to);
void coop_test_clobber(void *pair);
void coop_test_entry_sp(void *pair);
extern uintptr_t coop_test_sp;
extern void *coop_test_arg;
extern const uintptr_t coop_test_sp_bias;

#define STACK 65536

static struct coop__arch_ctx main_ctx, task_ctx;
static struct coop__arch_ctx *pair[2] = {&task_ctx, &main_ctx};

START_TEST(callee_saved_survive)
{
	char *stack = malloc(STACK);
	unsigned bad;
	int i;

	ck_assert_ptr_nonnull(stack);
	coop__arch_make(&task_ctx, stack, STACK, coop_test_clobber, pair);
	/* The first switch starts the clobberer, the later ones resume it. */
	for (i = 0; i < 100; i++) {
		bad = coop_test_switch_preserves(&main_ctx, &task_ctx);
		ck_assert_msg(bad == 0,
		              "switch %d lost: %s%s%s%s%s%s%s%s", i,
		              bad & 0x01 ? "rbx " : "", bad & 0x02 ? "rbp " : "",
		              bad & 0x04 ? "r12 " : "", bad & 0x08 ? "r13 " : "",
		              bad & 0x10 ? "r14 " : "", bad & 0x20 ? "r15 " : "",
		              bad & 0x40 ? "MXCSR " : "", bad & 0x80 ? "x87-CW " : "");
	}
	free(stack);
}
END_TEST

/* Odd sizes and unaligned buffers still give an aligned entry. */
START_TEST(entry_alignment_and_argument)
{
	char *buf = malloc(STACK + 64);
	size_t off = (size_t)_i;

	ck_assert_ptr_nonnull(buf);
	coop_test_sp = 0;
	coop_test_arg = NULL;
	coop__arch_make(&task_ctx, buf + off, STACK - off * 3, coop_test_entry_sp, pair);
	coop__arch_switch(&main_ctx, &task_ctx);
	ck_assert_ptr_eq(coop_test_arg, pair);
	ck_assert_uint_eq((coop_test_sp + coop_test_sp_bias) % 16, 0);
	ck_assert_uint_ge(coop_test_sp, (uintptr_t)(buf + off));
	ck_assert_uint_lt(coop_test_sp, (uintptr_t)(buf + off + STACK - off * 3));
	free(buf);
}
END_TEST

/* A C entry: ping-pong many times, passing a counter through memory. */
static volatile long counter;

static void pingpong(void *arg)
{
	long *rounds = arg;

	for (;;) {
		counter += *rounds;
		coop__arch_switch(&task_ctx, &main_ctx);
	}
}

START_TEST(many_switches)
{
	char *stack = malloc(STACK);
	long step = 3, i;

	ck_assert_ptr_nonnull(stack);
	counter = 0;
	coop__arch_make(&task_ctx, stack, STACK, pingpong, &step);
	for (i = 0; i < 100000; i++)
		coop__arch_switch(&main_ctx, &task_ctx);
	ck_assert_int_eq(counter, 3 * 100000);
	free(stack);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("arch");
	TCase *tc = tcase_create("switch");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, callee_saved_survive);
	tcase_add_loop_test(tc, entry_alignment_and_argument, 0, 16);
	tcase_add_test(tc, many_switches);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
