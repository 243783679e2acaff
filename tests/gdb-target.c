/*
 * gdb-target.c: the program tests/test-gdb.sh debugs.  Its tasks reach
 * every state and then one of them calls gdb_target_stop(), where the
 * test's breakpoint is:
 *
 *   1 "sleeper"  READY    suspended in coop_yield() under sleeper_inner()
 *   2 "waiter"   BLOCKED  suspended in coop_join(3)
 *   3 "spinner"  READY    suspended in coop_yield() under spinner_main()
 *   4 "quitter"  DONE     returned at once, never joined
 *   5 "stopper"  RUNNING  in gdb_target_stop()
 *   6 "newborn"  READY    spawned by the stopper, not started yet
 *
 * After the breakpoint everything runs to its end and the program exits
 * with 0, so the test can also just let it finish.  With GDB_TARGET_ABORT
 * set in its environment it aborts there instead, for a core file.
 */
#include <stdio.h>
#include <stdlib.h>

#include <coop/coop.h>

static volatile int stopped; /* gdb_target_stop() has returned */
struct coop_context *gdb_target_ctx; /* for `set $coop_context = gdb_target_ctx` */
static struct coop_task *spinner;

/* The breakpoint.  noinline and an asm barrier: it must stay a frame. */
__attribute__((noinline)) void gdb_target_stop(void);
__attribute__((noinline)) void gdb_target_stop(void)
{
	/* test-gdb.sh's core file: the kernel's dump of this very moment. */
	if (getenv("GDB_TARGET_ABORT"))
		abort();
	__asm__ volatile("" ::: "memory");
}

static void check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "gdb-target: %s: error %d\n", what, rc);
		exit(1);
	}
}

/* Two frames deep, so the backtrace has something to show. */
__attribute__((noinline)) static void sleeper_inner(int depth)
{
	while (!stopped)
		check(coop_yield(), "coop_yield");
	__asm__ volatile("" ::"r"(depth) : "memory");
}

__attribute__((noinline)) static void *sleeper_main(void *arg)
{
	sleeper_inner(2);
	return arg;
}

__attribute__((noinline)) static void *spinner_main(void *arg)
{
	while (!stopped)
		check(coop_yield(), "coop_yield");
	return arg;
}

__attribute__((noinline)) static void *waiter_main(void *arg)
{
	check(coop_join(spinner, NULL), "coop_join");
	return arg;
}

static void *quitter_main(void *arg)
{
	return arg;
}

static void *newborn_main(void *arg)
{
	return arg;
}

static void *stopper_main(void *arg)
{
	struct coop_task_opts o = {.size = sizeof(o), .name = "newborn"};

	check(coop_spawn(*(struct coop_context **)arg, NULL, newborn_main, NULL, &o), "coop_spawn");
	gdb_target_stop();
	stopped = 1;
	return NULL;
}

int main(void)
{
	static const struct {
		const char *name;
		void *(*fn)(void *);
	} tasks[] = {
		{"sleeper", sleeper_main}, {"waiter", waiter_main},   {"spinner", spinner_main},
		{"quitter", quitter_main}, {"stopper", stopper_main},
	};
	struct coop_task *handles[5];
	struct coop_context *ctx;
	size_t i;

	check(coop_context_create(&ctx, NULL), "coop_context_create");
	gdb_target_ctx = ctx;
	for (i = 0; i < 5; i++) {
		struct coop_task_opts o = {.size = sizeof(o), .name = tasks[i].name};

		check(coop_spawn(ctx, &handles[i], tasks[i].fn, &ctx, &o), "coop_spawn");
	}
	spinner = handles[2]; /* the waiter joins it */
	check(coop_run(ctx), "coop_run");
	for (i = 0; i < 5; i++)
		if (i != 2)
			check(coop_join(handles[i], NULL), "coop_join");
	coop_context_destroy(ctx);
	return 0;
}
