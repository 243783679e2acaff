/*
 * introspect.c: describing a context's tasks to the program (for
 * debugging, monitoring, tests) with coop_context_tasks().
 *
 * It only reads: the context's list of tasks (context.c, task.c) and the
 * residency of stack pages.  Nothing here is on a hot path, and nothing
 * on a hot path pays for it: the library never fills or zeroes a stack,
 * so the high-water mark of a stack is read from the kernel instead, with
 * mincore(2): a page of an anonymous mapping is resident once it has been
 * touched, and stays so until it is given back (stack.c's trim, with
 * MADV_DONTNEED) or swapped out.  The deepest resident page of a stack is
 * as deep as it has been used since its slot was last given back, by this
 * task or by the earlier ones that ran on the same reused slot.
 *
 * Order: ctx->tasks gets each task at its head when it is spawned, and
 * ids grow by one per spawn, so the list runs from the newest task to the
 * oldest; the report is in spawn order, so the list is walked once to
 * count and once to place each task at its rank from the end.
 *
 * The caller's struct may be of another version than ours (its `size`):
 * entries are `size` bytes apart, and each gets exactly `size` bytes
 * written: every member it covers whole, and zeroes for the rest (members
 * it covers in part, members of a newer version, padding), `size` itself
 * kept.  The buffer is checked whole before anything is written.
 */
#define _DEFAULT_SOURCE /* mincore */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "coop-private.h"
#include "timer.h"
#include "wait.h"

/* Pages asked about per mincore call: a 1 MiB window on 4 KiB pages. */
#define WINDOW 256

/* The size of an entry of the caller's buffer, read without assuming
 * alignment (an entry's address is only as aligned as the caller's size
 * makes it). */
static size_t entry_size(const struct coop_task_info *buf, size_t i, size_t size)
{
	size_t s;

	memcpy(&s, (const char *)buf + i * size, sizeof(s));
	return s;
}

/* The deepest use of [lo, lo + size) (the stack grows down from its top),
 * to page granularity: from the lowest resident page to the top.
 * COOP_STACK_USED_UNKNOWN when mincore fails (it sets errno: the caller
 * restores it). */
static size_t stack_used(const char *lo, size_t size)
{
	size_t pg = (size_t)getpagesize();
	uintptr_t top = (uintptr_t)lo + size;
	uintptr_t page = (uintptr_t)lo & ~(uintptr_t)(pg - 1);
	unsigned char vec[WINDOW];

	/* From the bottom up, a window at a time: a lightly used stack is
	 * all non-resident below its top few pages. */
	while (page < top) {
		size_t pages = (top - page + pg - 1) / pg, i;

		if (pages > WINDOW)
			pages = WINDOW;
		if (mincore((void *)page, pages * pg, vec) != 0)
			return COOP_STACK_USED_UNKNOWN;
		for (i = 0; i < pages; i++)
			if (vec[i] & 1) {
				uintptr_t deepest = page + i * pg;

				if (deepest < (uintptr_t)lo)
					deepest = (uintptr_t)lo;
				return top - deepest;
			}
		page += pages * pg;
	}
	return 0;
}

static int public_state(enum coop__state s)
{
	switch (s) {
	case COOP__READY:
	case COOP__NEW:
		return COOP_TASK_READY;
	case COOP__RUNNING:
		return COOP_TASK_RUNNING;
	case COOP__BLOCKED:
		return COOP_TASK_BLOCKED;
	case COOP__DONE:
	default: /* COOP__FREE is never on ctx->tasks */
		return COOP_TASK_DONE;
	}
}

/* Where each member of this version's struct ends, in increasing order:
 * an entry of `size` bytes gets the members that end within it. */
static const size_t member_end[] = {
	offsetof(struct coop_task_info, size) + sizeof(((struct coop_task_info *)0)->size),
	offsetof(struct coop_task_info, id) + sizeof(((struct coop_task_info *)0)->id),
	offsetof(struct coop_task_info, name) + sizeof(((struct coop_task_info *)0)->name),
	offsetof(struct coop_task_info, state) + sizeof(((struct coop_task_info *)0)->state),
	offsetof(struct coop_task_info, flags) + sizeof(((struct coop_task_info *)0)->flags),
	offsetof(struct coop_task_info, stack_size) + sizeof(((struct coop_task_info *)0)->stack_size),
	offsetof(struct coop_task_info, stack_used) + sizeof(((struct coop_task_info *)0)->stack_used),
	offsetof(struct coop_task_info, stack) + sizeof(((struct coop_task_info *)0)->stack),
	offsetof(struct coop_task_info, wait) + sizeof(((struct coop_task_info *)0)->wait),
	offsetof(struct coop_task_info, wait_fd) + sizeof(((struct coop_task_info *)0)->wait_fd),
	offsetof(struct coop_task_info, wait_deadline) +
		sizeof(((struct coop_task_info *)0)->wait_deadline),
	offsetof(struct coop_task_info, wait_object) +
		sizeof(((struct coop_task_info *)0)->wait_object),
};

/* Write task t into the caller's entry of `size` bytes at `dst`. */
static void describe(const struct coop_task *t, void *dst, size_t size)
{
	struct coop_task_info info;
	size_t covered = 0, i;

	memset(&info, 0, sizeof(info)); /* padding too: nothing undefined leaves */
	info.size = size;
	info.id = t->id;
	strlcpy(info.name, t->name, sizeof(info.name));
	info.state = public_state(t->state);
	info.flags = (t->detached ? COOP_TASK_INFO_DETACHED : 0) |
	             (t->pool ? 0 : COOP_TASK_INFO_USER_STACK) |
	             (t->guarded ? COOP_TASK_INFO_GUARDED : 0) |
	             (t->state != COOP__DONE && (t->cancel & COOP__CANCEL_PENDING)
	                      ? COOP_TASK_INFO_CANCELLED
	                      : 0) |
	             (t->state != COOP__DONE && (t->cancel & COOP__CANCEL_SHIELD)
	                      ? COOP_TASK_INFO_SHIELDED
	                      : 0);
	/* What a blocked task waits in, and until when. */
	info.wait = t->state == COOP__BLOCKED ? t->wait_kind : COOP_WAIT_NONE;
	info.wait_fd = t->state == COOP__BLOCKED && t->wait_kind == COOP_WAIT_FD ? t->wait_fd : -1;
	info.wait_deadline = t->state == COOP__BLOCKED ? coop__timer_of(t) : COOP_FOREVER;
	info.wait_object = t->state == COOP__BLOCKED ? t->wait_obj : NULL;
	info.stack_size = t->stack_size;
	info.stack = t->stack_lo;
	/* A caller's buffer may share its pages with anything (static data,
	 * the heap), and they may have been touched before it was a stack:
	 * residency says nothing there.  A pool slot's pages belong to it
	 * alone. */
	info.stack_used = t->pool ? stack_used(t->stack_lo, t->stack_size) : COOP_STACK_USED_UNKNOWN;

	for (i = 0; i < sizeof(member_end) / sizeof(member_end[0]); i++)
		if (member_end[i] <= size)
			covered = member_end[i];
	memcpy(dst, &info, covered);
	memset((char *)dst + covered, 0, size - covered);
}

COOP_EXPORT int coop_context_tasks(const struct coop_context *ctx, struct coop_task_info *buf,
                                   size_t n)
{
	const struct coop_task *t;
	size_t total = 0, rank, size = 0, i;
	int saved = errno;

	if (!ctx || (!buf && n))
		return -EINVAL;
	if (n) {
		size = entry_size(buf, 0, 0);
		/* Every entry has the size of the first (the caller's sizeof),
		 * and the buffer does not wrap around the address space. */
		if (size < sizeof(size_t) || n > SIZE_MAX / size ||
		    (uintptr_t)buf > UINTPTR_MAX - n * size)
			return -EINVAL;
		for (i = 1; i < n; i++)
			if (entry_size(buf, i, size) != size)
				return -EINVAL;
	}
	LIST_FOREACH(t, &ctx->tasks, all)
		total++;
	if (total > INT_MAX)
		return -EOVERFLOW;
	/* Newest first (see the top of this file): the task at position k
	 * from the head has rank total - 1 - k in spawn order. */
	rank = total;
	LIST_FOREACH(t, &ctx->tasks, all) {
		rank--;
		if (rank < n)
			describe(t, (char *)buf + rank * size, size);
	}
	errno = saved;
	return (int)total;
}
