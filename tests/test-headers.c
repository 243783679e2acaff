/*
 * test-headers.c: the public headers compile on their own in strict modes.
 *
 * Built several times by tests/meson.build (C99 and C11, -pedantic,
 * warnings as errors), with and without TEST_COMPAT, which adds
 * <coop/compat.h>.  Each build also links against libcoop and runs, so the
 * declarations are checked against the real symbols.  Nothing else is
 * included first: each header must bring what it needs.
 */
#include <coop/coop.h>
#ifdef TEST_COMPAT
#include <coop/compat.h>
#endif

/* Both must be integer constant expressions usable in #if. */
#if COOP_VERSION_MAJOR < 1 || COOP_VERSION_MINOR < 0 || COOP_VERSION_PATCH < 0
#error "COOP_VERSION_* missing or wrong"
#endif

/* Options structs grow only past their last release's sizeof, never into
 * its tail padding (a field there would be passed with the old size and
 * ignored by an old library instead of refused): coop 1.1's fields, against
 * 1.0's structs as this target lays them out. */
struct coop_task_opts_1_0 {
	size_t size;
	size_t stack_size;
	void *stack;
	const char *name;
};
typedef char task_opts_1_1_past_1_0
	[offsetof(struct coop_task_opts, group) >= sizeof(struct coop_task_opts_1_0) ? 1 : -1];
struct coop_context_opts_1_0 {
	size_t size;
	size_t stack_size;
	unsigned int flags;
};
typedef char context_opts_1_1_past_1_0
	[offsetof(struct coop_context_opts, pool) >= sizeof(struct coop_context_opts_1_0) ? 1 : -1];
typedef char context_opts_1_1_in_order
	[offsetof(struct coop_context_opts, event_interval) > offsetof(struct coop_context_opts, pool)
	         ? 1
	         : -1];

/* coop_exit() is declared noreturn: a noreturn function ending in it gets
 * no "noreturn function does return" warning (an error here). */
static COOP_NORETURN void finish(void *result)
{
	coop_exit(result);
}

/* Every public type and entry point, used with its declared type. */
static int (*const create_fn)(struct coop_context **, const struct coop_context_opts *) =
	coop_context_create;
static void (*const destroy_fn)(struct coop_context *) = coop_context_destroy;
static int (*const run_fn)(struct coop_context *) = coop_run;
static int (*const spawn_fn)(struct coop_context *, struct coop_task **, void *(*)(void *),
			     void *, const struct coop_task_opts *) = coop_spawn;
static int (*const yield_fn)(void) = coop_yield;
static void (*const exit_fn)(void *) = coop_exit;
static int (*const join_fn)(struct coop_task *, void **) = coop_join;
static int (*const detach_fn)(struct coop_task *) = coop_detach;
static struct coop_task *(*const self_fn)(void) = coop_self;
static const char *(*const name_fn)(const struct coop_task *) = coop_task_name;
static const char *(*const version_fn)(void) = coop_version;
static void (*const finish_fn)(void *) = finish;

#ifdef TEST_COMPAT
static void compat_task(void)
{
	yield;
	dump;
}
#endif

int main(void)
{
	struct coop_context_opts copts = {.size = sizeof(copts), .stack_size = COOP_STACK_SIZE_DEFAULT};
	/* Every member, positionally (1.1 appended `group`). */
	struct coop_task_opts topts = {sizeof(topts), COOP_STACK_SIZE_MIN, NULL, "x", NULL};
	struct coop_context *ctx = NULL;
	char name[COOP_TASK_NAME_MAX + 1];
	int fail = 0;

	name[0] = '\0';
	fail |= !create_fn || !destroy_fn || !run_fn || !spawn_fn || !yield_fn || !exit_fn;
	fail |= !join_fn || !detach_fn || !self_fn || !name_fn || !version_fn || !finish_fn;
	fail |= copts.size != sizeof(struct coop_context_opts) || topts.name == name;
	fail |= version_fn()[0] == '\0';
	fail |= coop_context_create(&ctx, &copts) != 0;
	coop_context_destroy(ctx);
#ifdef TEST_COMPAT
	{
		coop_context c = {0};
		coop_context m = make_context();
		task_t t = {0};
		static unsigned char stack[8192];
		coop_stack s = {sizeof(stack), stack};

		fail |= add_task(&c, &t, s, compat_task) != 0 || !t.added;
		fail |= start(&c) != 0 || start(&m) != 0;
	}
#endif
	return fail;
}
