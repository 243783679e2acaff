/*
 * coop/compat.h: the original coop API (make_context, add_task, start,
 * yield, dump), kept so that programs written for it build with only their
 * #include changed.  Opt-in: it defines short names (including the macros
 * `yield` and `dump`), so include it only where those are wanted.
 *
 * Everything here is inline over the public API of <coop/coop.h>; it adds no
 * symbol to libcoop.  C only: the compat type `coop_context` cannot coexist
 * with C++'s class name `coop_context` from <coop/coop.h>.
 *
 * Differences from the experiment it replaces, all deliberate:
 *  - start() runs every added task to its end, then releases the context;
 *    the same coop_context can be filled and started again.
 *  - add_task() returns 0 or a negative errno (the original returned
 *    nothing); a stack smaller than COOP_STACK_SIZE_MIN is refused.
 *  - Tasks are detached: task_t records only that the task was added.
 */
#ifndef COOP_COMPAT_H
#define COOP_COMPAT_H

#ifdef __cplusplus
#error "<coop/compat.h> is the original C API; from C++ use <coop/coop.h>"
#endif

#include <errno.h>
#include <stddef.h>

#include <coop/coop.h>

/* A scheduler; `coop_context ctx = {0};` is a valid empty one. */
typedef struct {
	struct coop_context *ctx; /* created on first use, released by start() */
} coop_context;

/* A task slot; initialise with {0}. */
typedef struct {
	int added; /* 1 once add_task() has queued the task */
} task_t;

/* A caller-owned stack buffer: `size` bytes starting at `stack_bottom`. */
typedef struct {
	size_t size;
	void *stack_bottom;
} coop_stack;

static inline coop_context make_context(void)
{
	coop_context c = {0};
	/* On failure c.ctx stays NULL and add_task() retries, reporting the error. */
	(void)coop_context_create(&c.ctx, NULL);
	return c;
}

/* The original task functions take no argument and return nothing. */
static inline void *coop__compat_entry(void *fn)
{
	/* POSIX guarantees function and data pointers convert; a union says
	 * so without a cast ISO C would warn about. */
	union { void *data; void (*code)(void); } u;
	u.data = fn;
	u.code();
	return NULL;
}

static inline int add_task(coop_context *c, task_t *task, coop_stack stack, void (*fn)(void))
{
	struct coop_task_opts opts = {.size = sizeof(opts), .stack_size = stack.size,
	                              .stack = stack.stack_bottom};
	union { void *data; void (*code)(void); } u;
	int rc;

	if (!c || !fn)
		return -EINVAL;
	if (!c->ctx && (rc = coop_context_create(&c->ctx, NULL)) < 0)
		return rc;
	u.code = fn;
	rc = coop_spawn(c->ctx, NULL, coop__compat_entry, u.data, &opts);
	if (rc == 0 && task)
		task->added = 1;
	return rc;
}

static inline int start(coop_context *c)
{
	int rc;

	if (!c->ctx)
		return 0;
	rc = coop_run(c->ctx);
	if (rc == 0) {
		coop_context_destroy(c->ctx);
		c->ctx = NULL;
	}
	return rc;
}

/* `yield;` hands control to the next task. */
#define yield ((void)coop_yield())
/* `dump;` ends the calling task. */
#define dump coop_exit(NULL)

#endif /* COOP_COMPAT_H */
