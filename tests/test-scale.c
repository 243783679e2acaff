/*
 * test-scale.c: coop at scale under the default kernel limits
 * (vm.max_map_count 65530): 100,000 tasks alive at once, each suspended in
 * coop_yield, all with guarded stacks; and a task overflowing its stack
 * among 100,000 live ones faults inside its own guard page, not in a
 * neighbour's memory.  And with guards forced onto the mprotect path (two
 * kernel mappings each, as on kernels without MADV_GUARD_INSTALL),
 * COOP_CONTEXT_ALLOW_UNGUARDED gets past the mapping budget: 60,000 tasks,
 * the later ones unguarded, and malloc still finds mappings.  (Links the
 * library's objects for that.  Not run under valgrind: this is about the
 * kernel's limits, and the suite's other tests cover memory errors.)
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <coop/coop.h>

#include "test-common.h"
#include "test-guard.h"

#define LIVE 100000
/* 100,000 default stacks need 26 GB of address space: a 32-bit process
 * has 4 GB at most, so there the tasks get small stacks. */
#define STACK (sizeof(void *) >= 8 ? COOP_STACK_SIZE_DEFAULT : (size_t)8192)

/* Whether this kernel guards pages without new mappings
 * (MADV_GUARD_INSTALL, Linux >= 6.13; qemu-user accepts the call and does
 * nothing).  Without it guards are mprotect pages, two mappings per stack,
 * and 100,000 of them cannot fit the default vm.max_map_count: there the
 * tests run 20,000 tasks (inside that budget, even for an emulator that
 * mirrors every mapping), allow unguarded stacks as a safety net, and
 * spawn the overflowing task first so that it has a guard. */
static bool cheap_guards(void)
{
	static int known = -1;

	if (known >= 0)
		return known;
	known = test_kernel_guards();
	if (!known)
		fprintf(stderr, "test-scale: no MADV_GUARD_INSTALL here: unguarded stacks allowed\n");
	return known;
}

static long live(void)
{
	return cheap_guards() ? LIVE : 20000;
}

static int make_context(struct coop_context **ctx)
{
	struct coop_context_opts o = {.size = sizeof(o), .stack_size = STACK};

	if (!cheap_guards())
		o.flags = COOP_CONTEXT_ALLOW_UNGUARDED;
	return coop_context_create(ctx, &o);
}

static long done_count;

static void *park(void *arg)
{
	(void)arg;
	coop_yield(); /* every task is suspended here at once */
	done_count++;
	return NULL;
}

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

static long maps_while_parked;

static void *count_maps(void *arg)
{
	(void)arg;
	maps_while_parked = map_count(); /* runs after every park has yielded */
	return NULL;
}

START_TEST(hundred_thousand_live_tasks)
{
	struct coop_context *ctx;

	done_count = 0;
	ck_assert_int_eq(make_context(&ctx), 0);
	for (long i = 0; i < live(); i++)
		ck_assert_int_eq(coop_spawn(ctx, NULL, park, NULL, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, count_maps, NULL, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(done_count, live());
	/* Far below the 65,530 budget: guards cost no mapping each. */
	if (cheap_guards())
		ck_assert_msg(maps_while_parked < 10000, "%ld mappings", maps_while_parked);
	coop_context_destroy(ctx);
}
END_TEST

static void *overflow(void *arg)
{
	/* The lowest usable byte: the stack top less the default size, rounded
	 * down to the page the library aligns it to. */
	uintptr_t top = (uintptr_t)__builtin_frame_address(0);

	(void)arg;
	test_guard_lo = (top - STACK) & ~(uintptr_t)4095;
	return (void *)(intptr_t)test_overflow(NULL, 0);
}

START_TEST(overflow_among_hundred_thousand)
{
	struct coop_context *ctx;

	test_catch_guard_faults();
	ck_assert_int_eq(make_context(&ctx), 0);
	if (cheap_guards())
		for (long i = 0; i < LIVE / 2; i++)
			ck_assert_int_eq(coop_spawn(ctx, NULL, park, NULL, NULL), 0);
	ck_assert_int_eq(coop_spawn(ctx, NULL, overflow, NULL, NULL), 0);
	for (long i = 0; i < (cheap_guards() ? LIVE / 2 : live()); i++)
		ck_assert_int_eq(coop_spawn(ctx, NULL, park, NULL, NULL), 0);
	coop_run(ctx);
	ck_abort_msg("the overflow did not fault");
}
END_TEST

/* White-box: how guards are installed (src/stack.c). */
extern int coop__guard_mode;
enum { GUARD_MPROTECT = 2 };

#define PAST_BUDGET 60000

/* 1.0 took every mapping the kernel allows for mprotect guards, so that
 * even the slab for the next unguarded stack could not be mapped: spawn
 * failed with -ENOMEM near 33,776 tasks, and malloc failed elsewhere. */
START_TEST(unguarded_past_the_mapping_budget)
{
	struct coop_context_opts o = {.size = sizeof(o), .stack_size = COOP_STACK_SIZE_MIN,
	                              .flags = COOP_CONTEXT_ALLOW_UNGUARDED};
	static struct coop_task_info info[PAST_BUDGET];
	struct coop_context *ctx;
	long guarded = 0, unguarded = 0;
	void *blocks[100];
	int rc;

	coop__guard_mode = GUARD_MPROTECT;
	done_count = 0;
	ck_assert_int_eq(coop_context_create(&ctx, &o), 0);
	for (long i = 0; i < PAST_BUDGET; i++) {
		rc = coop_spawn(ctx, NULL, park, NULL, NULL);
		ck_assert_msg(rc == 0, "spawn %ld: %s", i, strerror(-rc));
	}
	for (long i = 0; i < PAST_BUDGET; i++)
		info[i].size = sizeof(info[i]);
	ck_assert_int_eq(coop_context_tasks(ctx, info, PAST_BUDGET), PAST_BUDGET);
	for (long i = 0; i < PAST_BUDGET; i++)
		*(info[i].flags & COOP_TASK_INFO_GUARDED ? &guarded : &unguarded) += 1;
	/* Guards while the budget lasts (more than 1.0's 20,000 here), then
	 * none: what vm.max_map_count allows, less what coop leaves. */
	ck_assert_msg(guarded >= 20000 && unguarded > 0, "%ld guarded, %ld not", guarded, unguarded);
	/* The rest of the process still gets mappings: 100 MiB in blocks
	 * above malloc's mmap threshold. */
	for (int i = 0; i < 100; i++) {
		blocks[i] = malloc(1 << 20);
		ck_assert_ptr_nonnull(blocks[i]);
		memset(blocks[i], i, 4096);
	}
	for (int i = 0; i < 100; i++)
		free(blocks[i]);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(done_count, PAST_BUDGET);
	coop_context_destroy(ctx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("scale");
	TCase *tc = test_tcase(s, "scale");

	tcase_add_test(tc, hundred_thousand_live_tasks);
	tcase_add_test_raise_signal(tc, overflow_among_hundred_thousand, SIGSEGV);
	tcase_add_test(tc, unguarded_past_the_mapping_budget);
	return test_run(s);
}
