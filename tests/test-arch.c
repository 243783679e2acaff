/*
 * test-arch.c: the machine layer alone (src/arch/arch.h), below the
 * scheduler: every callee-saved register and the floating-point control
 * state survive a switch, a fresh context starts with its argument and the
 * ABI's stack alignment, and switching back and forth many times works.
 * The register probes are per-target assembly in tests/arch/.  It needs
 * no Check (tests/test-portable.h), so it runs on every target.
 */
#include <stdint.h>
#include <stdlib.h>

#include "arch/arch.h"
#include "test-portable.h"

/* tests/arch/<target>.S */
unsigned coop_test_switch_preserves(struct coop__arch_ctx *from, struct coop__arch_ctx *to);
void coop_test_clobber(void *pair);
void coop_test_entry_sp(void *pair);
extern uintptr_t coop_test_sp;
extern void *coop_test_arg;
extern const uintptr_t coop_test_sp_bias;
/* The names of the result's bits, in order: NUL-terminated strings ending
 * with an empty one. */
extern const char coop_test_reg_names[];

/* The names of the bits set in `bad`, space-separated. */
static const char *lost_names(unsigned bad)
{
	static char buf[512];
	const char *n = coop_test_reg_names;
	size_t len = 0;
	unsigned bit;

	buf[0] = '\0';
	for (bit = 0; bit < 32 && *n; bit++, n += strlen(n) + 1)
		if ((bad & (1u << bit)) && len + strlen(n) + 2 < sizeof(buf))
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s ", n);
	return buf;
}

#define STACK 65536

static struct coop__arch_ctx main_ctx, task_ctx;
static struct coop__arch_ctx *pair[2] = {&task_ctx, &main_ctx};

static void callee_saved_survive(int unused)
{
	char *stack = malloc(STACK);
	unsigned bad;
	int i;

	(void)unused;
	T_ASSERT(stack != NULL);
	coop__arch_make(&task_ctx, stack, STACK, coop_test_clobber, pair);
	/* The first switch starts the clobberer (a fresh context is entered
	 * by coop__arch_switch_fresh only), the probes resume it. */
	coop__arch_switch_fresh(&main_ctx, &task_ctx);
	for (i = 0; i < 100; i++) {
		bad = coop_test_switch_preserves(&main_ctx, &task_ctx);
		T_ASSERT_MSG(bad == 0, "switch %d lost (mask %#x): %s", i, bad, lost_names(bad));
	}
	free(stack);
}

/* Odd sizes and unaligned buffers still give an aligned entry. */
static void entry_alignment_and_argument(int i)
{
	char *buf = malloc(STACK + 64);
	size_t off = (size_t)i;

	T_ASSERT(buf != NULL);
	coop_test_sp = 0;
	coop_test_arg = NULL;
	coop__arch_make(&task_ctx, buf + off, STACK - off * 3, coop_test_entry_sp, pair);
	coop__arch_switch_fresh(&main_ctx, &task_ctx);
	T_EQ_PTR(coop_test_arg, pair);
	T_EQ_UINT((coop_test_sp + coop_test_sp_bias) % 16, 0);
	T_ASSERT(coop_test_sp >= (uintptr_t)(buf + off));
	T_ASSERT(coop_test_sp < (uintptr_t)(buf + off + STACK - off * 3));
	free(buf);
}

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

static void many_switches(int unused)
{
	char *stack = malloc(STACK);
	long step = 3, i;

	(void)unused;
	T_ASSERT(stack != NULL);
	counter = 0;
	coop__arch_make(&task_ctx, stack, STACK, pingpong, &step);
	for (i = 0; i < 100000; i++)
		(i ? coop__arch_switch : coop__arch_switch_fresh)(&main_ctx, &task_ctx);
	T_EQ_INT(counter, 3 * 100000);
	free(stack);
}

int main(void)
{
	static const struct t_case cases[] = {
		T_CASE(callee_saved_survive),
		T_LOOP(entry_alignment_and_argument, 0, 16),
		T_CASE(many_switches),
	};

	return t_run(cases, sizeof(cases) / sizeof(cases[0]));
}
