/*
 * stack.c: task stacks.  Guarded pool slots, caller buffers, canaries, and
 * giving memory back.
 *
 * A context keeps one pool per slot size.  A pool maps stacks in slabs of
 * many slots (one mapping each, doubling up to SLAB_MAX_SLOTS), so the
 * kernel's mapping count stays small however many tasks live.  A slot is,
 * from its lowest address up:
 *
 *     guard page | usable stack ... | color | struct coop_task | rest of page
 *
 * The task lives at the top of its own slot: spawn allocates nothing else,
 * and a switch touches one page per task.  The color (0 to 15 cache lines,
 * by slot index) staggers the stack tops, so that thousands of suspended
 * tasks do not all compete for the same cache sets.
 *
 * Guards: a slot's guard page is installed the first time the slot is
 * handed out, with madvise(MADV_GUARD_INSTALL) where the kernel has it
 * (Linux >= 6.13: no new mapping per guard), else with mprotect(PROT_NONE),
 * which splits the mapping: two kernel mappings per stack, so the default
 * vm.max_map_count (65530) stops near 32,700 guarded stacks.  When a guard
 * cannot be installed, coop_spawn fails with -ENOMEM, unless the context
 * was created with COOP_CONTEXT_ALLOW_UNGUARDED: then the task runs
 * unguarded with a canary at the bottom of its stack, checked at every
 * switch away from it.  Never a crash, never silence.
 *
 * Reuse: freed slots go on a LIFO "hot" list and are reused as they are:
 * no system call, no zeroing.  The one freed last is held apart as the
 * pool's spare (the top of that LIFO), which makes a spawn after a join
 * two loads and a store instead of list surgery.  When a pool holds more free hot slots than
 * max(HOT_MIN, slots in use), the coldest BATCH of them are given back to
 * the system with madvise(MADV_DONTNEED) (guards survive it) and move to
 * the "cold" list, reused after the hot ones.  Slabs are unmapped when the
 * context is destroyed.
 *
 * A caller's buffer is used as is (no guard): its task is malloc'd, off
 * the buffer, and only a canary word is written at the buffer's bottom.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "checkers.h"
#include "coop-private.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 uapi; older headers lack it */
#endif

#define SLAB_MIN_SLOTS 16
#define SLAB_MAX_SLOTS 1024
#define COLORS 16
#define CACHE_LINE 64
#define HOT_MIN 64
#define BATCH 32
#define CANARY 0x636f6f7063616e79ull /* "coopcany" */

struct coop__slab {
	char *map;                        /* the mapping: nslots slots */
	size_t nslots;                    /* slots it holds */
	size_t handed;                    /* slots handed out at least once, in order */
	LIST_ENTRY(coop__slab) link;      /* the pool's slabs */
};

struct coop__pool {
	size_t usable;                    /* usable stack bytes of each slot: the key */
	size_t slot_size;                 /* bytes of a slot, guard and task included */
	struct coop_task *spare;          /* the free slot released last, or NULL: the
	                                   * next to be reused, kept off the lists so
	                                   * that a spawn after a join costs two loads */
	struct coop__taskq hot;           /* free slots, resident, most recent first */
	struct coop__taskq cold;          /* free slots given back with MADV_DONTNEED */
	size_t nhot;                      /* length of hot */
	size_t nused;                     /* slots holding a task */
	struct coop__slab *fresh;         /* the slab with never-used slots, or NULL */
	size_t next_slab;                 /* slots of the next slab */
	LIST_HEAD(, coop__slab) slabs;    /* every slab, for destroy */
	LIST_ENTRY(coop__pool) link;      /* the context's pools */
};

/* How guards are installed, decided at the first one and kept (any
 * thread may decide it, with the same answer: relaxed atomics suffice).
 * Tests force a mode and simulate a mapping budget through these
 * (internal, single-threaded tests only for the budget). */
enum { GUARD_UNKNOWN, GUARD_MADVISE, GUARD_MPROTECT };
int coop__guard_mode = GUARD_UNKNOWN;
long coop__guard_budget = -1; /* mprotect guards allowed; -1: the kernel decides */

size_t coop__page_round(size_t n)
{
	size_t pg = (size_t)getpagesize();

	if (n > SIZE_MAX - (pg - 1))
		return 0;
	return (n + pg - 1) & ~(pg - 1);
}

static uint64_t canary_of(const void *lo)
{
	return CANARY ^ (uint64_t)(uintptr_t)lo;
}

void coop__stack_check(const char *call, const struct coop_task *t)
{
	if (*(const uint64_t *)t->stack_lo != canary_of(t->stack_lo))
		coop__die(call, "task %llu \"%s\" overflowed its %zu-byte %s stack (canary at %p overwritten)",
		          (unsigned long long)t->id, t->name, t->stack_size,
		          t->pool ? "unguarded" : "caller-supplied", (void *)t->stack_lo);
}

/* The task of slot i of a slab. */
static struct coop_task *slot_task(const struct coop__pool *p, const struct coop__slab *s,
                                   size_t i)
{
	uintptr_t top = (uintptr_t)s->map + (i + 1) * p->slot_size;
	uintptr_t t = top - sizeof(struct coop_task) - (i % COLORS) * CACHE_LINE;

	return (struct coop_task *)(t & ~(uintptr_t)(CACHE_LINE - 1));
}

/* Whether madvise(MADV_GUARD_INSTALL) really guards `page` (just given
 * one): the kernel must refuse to read it.  Checked once, because an
 * emulator can accept the call and do nothing (qemu-user 7.2 does). */
static bool guard_works(const void *page)
{
	int fds[2];
	bool works;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return false;
	works = write(fds[1], page, 1) < 0 && errno == EFAULT;
	close(fds[0]);
	close(fds[1]);
	return works;
}

static int install_guard(void *page, size_t pg)
{
	int mode = __atomic_load_n(&coop__guard_mode, __ATOMIC_RELAXED);

	if (mode != GUARD_MPROTECT) {
		if (madvise(page, pg, MADV_GUARD_INSTALL) == 0) {
			if (mode == GUARD_MADVISE)
				return 0;
			if (guard_works(page)) {
				__atomic_store_n(&coop__guard_mode, GUARD_MADVISE, __ATOMIC_RELAXED);
				return 0;
			}
		} else if (mode == GUARD_MADVISE) {
			return -errno;
		}
		/* EINVAL (a kernel older than 6.13) or a guard that does not
		 * guard: mprotect from now on. */
		__atomic_store_n(&coop__guard_mode, GUARD_MPROTECT, __ATOMIC_RELAXED);
	}
	if (coop__guard_budget == 0)
		return -ENOMEM; /* a simulated vm.max_map_count */
	if (mprotect(page, pg, PROT_NONE) != 0)
		return -errno;
	if (coop__guard_budget > 0)
		coop__guard_budget--;
	return 0;
}

/* Make sure a slot's task has its guard, or the canary the context allows
 * instead. */
static int guard_slot(struct coop_context *ctx, struct coop_task *t)
{
	size_t pg = (size_t)getpagesize();
	char *base = (char *)((uintptr_t)t->stack_lo - pg);
	int rc;

	if (t->guarded)
		return 0;
	rc = install_guard(base, pg);
	if (rc == 0) {
		t->guarded = true;
		t->canary = false;
		return 0;
	}
	if (!(ctx->flags & COOP_CONTEXT_ALLOW_UNGUARDED))
		return -ENOMEM;
	t->canary = true;
	return 0;
}

static struct coop__pool *pool_for(struct coop_context *ctx, size_t usable)
{
	size_t pg = (size_t)getpagesize(), need;
	struct coop__pool *p;

	LIST_FOREACH(p, &ctx->pools, link)
		if (p->usable == usable)
			return p;
	/* guard + stack + the largest color + the task, in whole pages */
	need = coop__page_round(pg + usable + COLORS * CACHE_LINE + sizeof(struct coop_task) +
	                        CACHE_LINE);
	if (!need)
		return NULL;
	p = calloc(1, sizeof(*p)); /* may set errno: our caller restores it */
	if (!p)
		return NULL;
	p->usable = usable;
	p->slot_size = need;
	TAILQ_INIT(&p->hot);
	TAILQ_INIT(&p->cold);
	LIST_INIT(&p->slabs);
	p->next_slab = SLAB_MIN_SLOTS;
	LIST_INSERT_HEAD(&ctx->pools, p, link);
	if (usable == ctx->stack_size)
		ctx->default_pool = p;
	return p;
}

static int new_slab(struct coop__pool *p)
{
	struct coop__slab *s;
	size_t n = p->next_slab;
	void *map;

	while (n > 1 && p->slot_size > SIZE_MAX / n)
		n /= 2;
	if (p->slot_size > SIZE_MAX / n)
		return -ENOMEM;
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (;;) {
		map = mmap(NULL, n * p->slot_size, PROT_READ | PROT_WRITE,
		           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
		if (map != MAP_FAILED)
			break;
		if (n == 1) {
			/* ENOMEM from the kernel; valgrind says EINVAL for a
			 * length it cannot place: either way, no address space. */
			free(s);
			return -ENOMEM;
		}
		n /= 2; /* short of address space: try a smaller slab */
	}
	/* Never back stacks with huge pages: a 2 MiB page would make every
	 * task's memory resident. */
	(void)madvise(map, n * p->slot_size, MADV_NOHUGEPAGE);
	s->map = map;
	s->nslots = n;
	s->handed = 0;
	LIST_INSERT_HEAD(&p->slabs, s, link);
	p->fresh = s;
	if (p->next_slab < SLAB_MAX_SLOTS)
		p->next_slab *= 2;
	return 0;
}

/* A slot of `p` to reuse without a system call: the one released last,
 * or the warmest guarded hot one; NULL if none. */
static inline struct coop_task *take_warm(struct coop__pool *p)
{
	struct coop_task *t;

	if (COOP_LIKELY((t = p->spare) != NULL)) {
		p->spare = NULL; /* guarded, or it would not be spare */
		return t;
	}
	if (COOP_LIKELY((t = TAILQ_FIRST(&p->hot)) != NULL) && COOP_LIKELY(t->guarded)) {
		TAILQ_REMOVE(&p->hot, t, free_link);
		p->nhot--;
		return t;
	}
	return NULL;
}

/* coop__stack_task past its common case: another pool than the default
 * one (made if need be), an unguarded hot slot, a cold one or a fresh
 * one, guarded now. */
static __attribute__((noinline)) int stack_task_slow(struct coop_context *ctx, size_t size,
                                                     struct coop_task **out)
{
	size_t pg = (size_t)getpagesize();
	struct coop__pool *p;
	struct coop_task *t;
	int saved = errno, rc = -ENOMEM;

	if (!(p = pool_for(ctx, size)))
		goto out;
	t = take_warm(p);
	if (!t && (t = TAILQ_FIRST(&p->hot))) { /* an unguarded one */
		TAILQ_REMOVE(&p->hot, t, free_link);
		p->nhot--;
	} else if (!t && (t = TAILQ_FIRST(&p->cold))) {
		TAILQ_REMOVE(&p->cold, t, free_link);
	} else if (!t) {
		struct coop__slab *s = p->fresh;

		if ((!s || s->handed == s->nslots) && (rc = new_slab(p)) < 0)
			goto out;
		s = p->fresh;
		t = slot_task(p, s, s->handed);
		t->stack_lo = s->map + s->handed * p->slot_size + pg;
		t->stack_size = (size_t)((char *)t - t->stack_lo) & ~(size_t)15;
		t->pool = p;
		t->guarded = false;
		t->canary = false;
		t->vg_id = coop__vg_stack_register(t->stack_lo, t->stack_lo + t->stack_size);
		s->handed++;
	}
	if ((rc = guard_slot(ctx, t)) < 0) {
		/* Keep the slot for a later try; nothing leaks. */
		TAILQ_INSERT_TAIL(&p->cold, t, free_link);
		goto out;
	}
	if (t->canary)
		*(uint64_t *)t->stack_lo = canary_of(t->stack_lo);
	p->nused++;
	*out = t;
	rc = 0;
out:
	errno = saved;
	return rc;
}

int coop__stack_task(struct coop_context *ctx, size_t size, struct coop_task **out)
{
	struct coop__pool *p = ctx->default_pool;
	struct coop_task *t;

	if (size < COOP_STACK_SIZE_MIN || size > SIZE_MAX / 2)
		return -EINVAL;
	size = (size + 15) & ~(size_t)15;
	/* The steady state: a warm slot of the default pool. */
	if (COOP_UNLIKELY(!p || p->usable != size || !(t = take_warm(p))))
		return stack_task_slow(ctx, size, out);
	p->nused++;
	*out = t;
	return 0;
}

int coop__stack_user_task(void *buf, size_t size, struct coop_task **out)
{
	uintptr_t lo = (uintptr_t)buf, hi;
	struct coop_task *t;
	int saved = errno;

	if (!buf || size < COOP_STACK_SIZE_MIN || lo > UINTPTR_MAX - size)
		return -EINVAL;
	t = malloc(sizeof(*t));
	if (!t) {
		errno = saved;
		return -ENOMEM;
	}
	hi = (lo + size) & ~(uintptr_t)15;
	lo = (lo + 15) & ~(uintptr_t)15;
	t->stack_lo = (char *)lo;
	t->stack_size = hi - lo;
	t->pool = NULL;
	t->guarded = false;
	t->canary = true;
	*(uint64_t *)t->stack_lo = canary_of(t->stack_lo);
	t->vg_id = coop__vg_stack_register(t->stack_lo, t->stack_lo + t->stack_size);
	*out = t;
	return 0;
}

/* Give the coldest hot slots' memory back, in one batch. */
static void trim(struct coop__pool *p)
{
	size_t pg = (size_t)getpagesize();
	struct coop_task *t;
	int saved = errno;

	for (int i = 0; i < BATCH && (t = TAILQ_LAST(&p->hot, coop__taskq)); i++) {
		/* Everything below the page holding the task (and its links). */
		uintptr_t end = (uintptr_t)t & ~(uintptr_t)(pg - 1);

		TAILQ_REMOVE(&p->hot, t, free_link);
		p->nhot--;
		if (end > (uintptr_t)t->stack_lo)
			(void)madvise(t->stack_lo, end - (uintptr_t)t->stack_lo, MADV_DONTNEED);
		TAILQ_INSERT_HEAD(&p->cold, t, free_link);
	}
	errno = saved;
}

/* A task on a caller's buffer: malloc'd, the buffer is the caller's. */
static __attribute__((noinline)) void release_user(struct coop_task *t)
{
	coop__vg_stack_deregister(t->vg_id);
	free(t);
}

/* A slot back on the hot list, when the spare is taken (or it has no
 * guard).  LIFO: the next spawn gets the warmest stack.  Trimming takes
 * the coldest ones, never this one (the caller may still run on it). */
static __attribute__((noinline)) void release_hot(struct coop__pool *p, struct coop_task *t)
{
	if (p->nhot >= HOT_MIN && p->nhot >= p->nused)
		trim(p);
	TAILQ_INSERT_HEAD(&p->hot, t, free_link);
	p->nhot++;
}

void coop__stack_release(struct coop_context *ctx, struct coop_task *t)
{
	struct coop__pool *p = t->pool;

	if (COOP_UNLIKELY(!p))
		return release_user(t);
	t->state = COOP__FREE;
	p->nused--;
	if (COOP_LIKELY(!p->spare && t->guarded))
		p->spare = t;
	else
		release_hot(p, t);
}

void coop__stack_destroy(struct coop_context *ctx)
{
	struct coop__pool *p;
	struct coop__slab *s;

	while ((p = LIST_FIRST(&ctx->pools))) {
		LIST_REMOVE(p, link);
		while ((s = LIST_FIRST(&p->slabs))) {
			LIST_REMOVE(s, link);
			for (size_t i = 0; i < s->handed; i++)
				coop__vg_stack_deregister(slot_task(p, s, i)->vg_id);
			munmap(s->map, s->nslots * p->slot_size);
			free(s);
		}
		free(p);
	}
	ctx->default_pool = NULL;
}
