/*
 * stack.c: task stacks.  Guarded pool slots, caller buffers, canaries, and
 * giving memory and address space back.
 *
 * A context keeps one pool per slot size (a slot holds its guard, the stack
 * and the task, in whole pages, so requests that round to the same slot
 * share a pool).  A pool maps stacks in slabs of many slots (one mapping
 * each, doubling up to SLAB_MAX_SLOTS), so the kernel's mapping count stays
 * small however many tasks live.  A slot is, from its lowest address up:
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
 * which splits the mapping: two kernel mappings per stack.  mprotect guards
 * take at most (vm.max_map_count - reserve) / 2 of the process's mappings
 * (see guard_mprotect), so that coop never takes the mappings that malloc,
 * its own slabs and the rest of the process need.  When a guard cannot be
 * installed, coop_spawn fails with -ENOMEM, unless the context was created
 * with COOP_CONTEXT_ALLOW_UNGUARDED: then the task runs unguarded with a
 * canary at the bottom of its stack, checked at every switch away from it.
 * Never a crash, never silence.
 *
 * Reuse: freed slots go on a LIFO "hot" list and are reused as they are:
 * no system call, no zeroing.  The one freed last is held apart as the
 * pool's spare (the top of that LIFO), which makes a spawn after a join
 * two loads and a store instead of list surgery.  When a pool holds more
 * free hot slots than max(HOT_MIN, slots in use), the coldest BATCH of them
 * are given back to the system with madvise(MADV_DONTNEED) (guards survive
 * it) and move to the "cold" list, reused after the hot ones.
 *
 * Pools other than the context's default one are given back whole once
 * empty: the IDLE_POOLS emptied last are kept (a size used again soon
 * costs no mmap), older ones are unmapped, so that a program spawning
 * tasks of ever new sizes holds address space for what is live, not for
 * every size it ever used.  The default pool's slabs, and the rest, are
 * unmapped when the context is destroyed.
 *
 * A caller's buffer is used as is (no guard): its task is malloc'd, off
 * the buffer, and only a canary word is written at the buffer's bottom.
 */
#define _GNU_SOURCE /* syscall */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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
#define IDLE_POOLS 4
#define CANARY 0x636f6f7063616e79ull /* "coopcany" */
/* The kernel's default vm.max_map_count, when it cannot be read. */
#define DEFAULT_MAX_MAP_COUNT 65530

struct coop__slab {
	char *map;                        /* the mapping: nslots slots */
	size_t nslots;                    /* slots it holds */
	size_t handed;                    /* slots handed out at least once, in order */
	LIST_ENTRY(coop__slab) link;      /* the pool's slabs */
};

struct coop__pool {
	size_t slot_size;                 /* bytes of a slot, guard and task included: the key */
	struct coop_task *spare;          /* the free slot released last, or NULL: the
	                                   * next to be reused, kept off the lists so
	                                   * that a spawn after a join costs two loads */
	struct coop__taskq hot;           /* free slots, resident, most recent first */
	struct coop__taskq cold;          /* free slots given back with MADV_DONTNEED */
	size_t nhot;                      /* length of hot */
	size_t nused;                     /* slots holding a task */
	size_t mprotected;                /* its guards installed with mprotect */
	struct coop__slab *fresh;         /* the slab with never-used slots, or NULL */
	size_t next_slab;                 /* slots of the next slab */
	bool idle;                        /* on the context's idle list (empty, not the default) */
	LIST_HEAD(, coop__slab) slabs;    /* every slab, for destroy */
	LIST_ENTRY(coop__pool) link;      /* the context's pools */
	TAILQ_ENTRY(coop__pool) idle_link;/* the context's idle pools, emptied last first */
};

/* How guards are installed, decided by the first guard whose check could
 * run, and kept (any thread may decide it, with the same answer: relaxed
 * atomics suffice).  Tests force a mode and simulate a mapping budget
 * through these (internal, single-threaded tests only for the budget). */
enum { GUARD_UNKNOWN, GUARD_MADVISE, GUARD_MPROTECT };
int coop__guard_mode = GUARD_UNKNOWN;
long coop__guard_budget = -1; /* mprotect guards allowed; -1: the kernel decides */

/* mprotect guards installed in the whole process (atomic), and how many
 * it may hold (read once from vm.max_map_count; 0: not yet read). */
static long mprotect_guards;
static long mprotect_limit;

size_t coop__page_round(size_t n)
{
	size_t pg = (size_t)getpagesize();

	if (n > SIZE_MAX - (pg - 1))
		return 0;
	return (n + pg - 1) & ~(pg - 1);
}

int coop__stack_size_check(size_t size)
{
	return size < COOP_STACK_SIZE_MIN || size > SIZE_MAX / 2 ? -EINVAL : 0;
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

struct coop_task *coop__stack_guard_owner(const struct coop_context *ctx, uintptr_t addr,
                                          size_t pg)
{
	const struct coop__pool *p;
	const struct coop__slab *s;

	LIST_FOREACH(p, &ctx->pools, link) {
		LIST_FOREACH(s, &p->slabs, link) {
			uintptr_t off = addr - (uintptr_t)s->map;
			size_t i;
			struct coop_task *t;

			if (addr < (uintptr_t)s->map || off / p->slot_size >= s->nslots)
				continue;
			i = off / p->slot_size;
			if (i >= s->handed || off - i * p->slot_size >= pg)
				return NULL; /* in the slab, not in a guard */
			t = slot_task(p, s, i);
			return t->guarded ? t : NULL;
		}
	}
	return NULL;
}

/* Whether madvise(MADV_GUARD_INSTALL) really guards `page`, just given
 * one: 1 yes, 0 no, -1 the check could not run (ask again next time).
 * The kernel must refuse to read the page.  An emulator can accept the
 * call and do nothing (qemu-user 7.2 does), so this is checked once.  The
 * reader is the futex operation that compares a word and requeues no one:
 * it reads the word, has no effect, never sleeps and needs no file
 * descriptor (1.0 wrote the page to a pipe, so that a process with no
 * descriptor left at its first spawn lost MADV_GUARD_INSTALL for good),
 * and valgrind and qemu-user hand its address to the kernel as it is. */
static int guard_works(void *page)
{
	uint32_t other = 0;
	long rc = syscall(SYS_futex, page, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)0, &other, 0);

	if (rc >= 0 || errno == EAGAIN)
		return 0; /* the kernel read the word */
	return errno == EFAULT ? 1 : -1;
}

/* The number of mprotect guards the process may hold: each costs two
 * kernel mappings, and vm.max_map_count (read once) bounds them; an eighth
 * of it, at least 1,024 mappings, is left to everything else (malloc's
 * mmaps, libraries, our own slabs), or the process would find malloc
 * failing once coop had taken them all. */
static long guard_limit(void)
{
	long limit = __atomic_load_n(&mprotect_limit, __ATOMIC_RELAXED), max = 0;
	char buf[32];
	ssize_t n;
	int fd;

	if (COOP_LIKELY(limit))
		return limit;
	fd = open("/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			max = strtol(buf, NULL, 10);
		}
	}
	if (max <= 0) /* unreadable now (no fd left?): the default, this time */
		return (DEFAULT_MAX_MAP_COUNT - DEFAULT_MAX_MAP_COUNT / 8) / 2;
	limit = (max - (max / 8 > 1024 ? max / 8 : 1024)) / 2;
	if (limit < 1)
		limit = -1; /* no room for guards at all */
	__atomic_store_n(&mprotect_limit, limit, __ATOMIC_RELAXED);
	return limit;
}

static int guard_mprotect(struct coop__pool *p, void *page, size_t pg)
{
	long limit = guard_limit();

	if (coop__guard_budget == 0)
		return -ENOMEM; /* a simulated budget, spent */
	if (__atomic_add_fetch(&mprotect_guards, 1, __ATOMIC_RELAXED) > limit)
		goto refused;
	if (mprotect(page, pg, PROT_NONE) != 0)
		goto refused;
	if (coop__guard_budget > 0)
		coop__guard_budget--;
	p->mprotected++;
	return 0;
refused:
	__atomic_sub_fetch(&mprotect_guards, 1, __ATOMIC_RELAXED);
	return -ENOMEM;
}

static int install_guard(struct coop__pool *p, void *page, size_t pg)
{
	int mode = __atomic_load_n(&coop__guard_mode, __ATOMIC_RELAXED);

	if (mode == GUARD_MPROTECT)
		return guard_mprotect(p, page, pg);
	if (madvise(page, pg, MADV_GUARD_INSTALL) == 0) {
		if (mode == GUARD_MADVISE)
			return 0;
		switch (guard_works(page)) {
		case 1:
			__atomic_store_n(&coop__guard_mode, GUARD_MADVISE, __ATOMIC_RELAXED);
			return 0;
		case -1:
			/* Unknown yet: an mprotect guard too, for this one. */
			return guard_mprotect(p, page, pg);
		}
	} else if (errno != EINVAL && errno != EPERM && errno != ENOSYS) {
		/* Transient (ENOMEM, EAGAIN, EINTR): this guard only. */
		return guard_mprotect(p, page, pg);
	}
	/* A kernel older than 6.13 (EINVAL), a seccomp filter that refuses
	 * it, or a guard that does not guard: mprotect from now on. */
	__atomic_store_n(&coop__guard_mode, GUARD_MPROTECT, __ATOMIC_RELAXED);
	return guard_mprotect(p, page, pg);
}

/* Make sure a slot's task has its guard, or the canary the context allows
 * instead. */
static int guard_slot(struct coop_context *ctx, struct coop__pool *p, struct coop_task *t)
{
	size_t pg = (size_t)getpagesize();
	char *base = (char *)((uintptr_t)t->stack_lo - pg);

	if (t->guarded)
		return 0;
	if (install_guard(p, base, pg) == 0) {
		t->guarded = true;
		t->canary = false;
		return 0;
	}
	if (!(ctx->flags & COOP_CONTEXT_ALLOW_UNGUARDED))
		return -ENOMEM;
	t->canary = true;
	return 0;
}

/* Bytes of the slot that holds a stack of `usable` bytes: guard + stack +
 * the largest color + the task, in whole pages; 0 if it cannot exist. */
static size_t slot_size_of(size_t usable)
{
	size_t pg = (size_t)getpagesize(), fixed = pg + COLORS * CACHE_LINE +
	                                         sizeof(struct coop_task) + CACHE_LINE;

	if (usable > SIZE_MAX - fixed)
		return 0;
	return coop__page_round(usable + fixed);
}

/* Unmap a pool with every slab and free it (no task in it runs). */
static void pool_free(struct coop__pool *p)
{
	struct coop__slab *s;

	while ((s = LIST_FIRST(&p->slabs))) {
		LIST_REMOVE(s, link);
		for (size_t i = 0; i < s->handed; i++)
			coop__vg_stack_deregister(slot_task(p, s, i)->vg_id);
		/* Frames that never returned leave ASan's poison behind; the
		 * next mapping at these addresses must not inherit it. */
		coop__asan_unpoison(s->map, s->nslots * p->slot_size);
		munmap(s->map, s->nslots * p->slot_size);
		free(s);
	}
	__atomic_sub_fetch(&mprotect_guards, (long)p->mprotected, __ATOMIC_RELAXED);
	free(p);
}

/* A pool other than the default one has become empty: keep it among the
 * IDLE_POOLS emptied last, and give back the one emptied longest ago.
 * That one is not running: a task ending on its own stack has just made
 * `p` idle, not an older pool. */
static void pool_idle(struct coop_context *ctx, struct coop__pool *p)
{
	struct coop__pool *old;

	p->idle = true;
	TAILQ_INSERT_HEAD(&ctx->idle_pools, p, idle_link);
	if (++ctx->nidle <= IDLE_POOLS)
		return;
	old = TAILQ_LAST(&ctx->idle_pools, coop__poolq);
	TAILQ_REMOVE(&ctx->idle_pools, old, idle_link);
	ctx->nidle--;
	ctx->npools--;
	LIST_REMOVE(old, link);
	pool_free(old);
}

static struct coop__pool *pool_for(struct coop_context *ctx, size_t usable)
{
	size_t slot = slot_size_of(usable);
	struct coop__pool *p;

	if (!slot)
		return NULL;
	LIST_FOREACH(p, &ctx->pools, link)
		if (p->slot_size == slot)
			break;
	if (p && p->idle) {
		p->idle = false;
		TAILQ_REMOVE(&ctx->idle_pools, p, idle_link);
		ctx->nidle--;
	} else if (!p) {
		p = calloc(1, sizeof(*p)); /* may set errno: our caller restores it */
		if (!p)
			return NULL;
		p->slot_size = slot;
		TAILQ_INIT(&p->hot);
		TAILQ_INIT(&p->cold);
		LIST_INIT(&p->slabs);
		p->next_slab = SLAB_MIN_SLOTS;
		LIST_INSERT_HEAD(&ctx->pools, p, link);
		ctx->npools++;
	}
	/* The default size's pool, whoever asked for its slot size first. */
	if (!ctx->default_pool && slot == slot_size_of(ctx->stack_size))
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
 * one, guarded now.  A pool this leaves empty goes idle, as when its last
 * task is released. */
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
			goto fail;
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
	if ((rc = guard_slot(ctx, p, t)) < 0) {
		/* Keep the slot for a later try; nothing leaks. */
		TAILQ_INSERT_TAIL(&p->cold, t, free_link);
		goto fail;
	}
	if (t->canary)
		*(uint64_t *)t->stack_lo = canary_of(t->stack_lo);
	p->nused++;
	*out = t;
	rc = 0;
	goto out;
fail:
	if (!p->nused && p != ctx->default_pool && !p->idle)
		pool_idle(ctx, p);
out:
	errno = saved;
	return rc;
}

int coop__stack_task(struct coop_context *ctx, size_t size, struct coop_task **out)
{
	struct coop__pool *p = ctx->default_pool;
	struct coop_task *t;

	/* Checked by the caller: at most SIZE_MAX / 2, which this rounding
	 * cannot make wrap (the slot's size is checked on its own). */
	size = (size + 15) & ~(size_t)15;
	/* The steady state: a warm slot of the default pool. */
	if (COOP_UNLIKELY(!p || size != ctx->stack_size || !(t = take_warm(p))))
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

	if (!buf || coop__stack_size_check(size) < 0 || lo > UINTPTR_MAX - size)
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
	if (COOP_UNLIKELY(!p->nused) && p != ctx->default_pool)
		pool_idle(ctx, p);
}

void coop__stack_destroy(struct coop_context *ctx)
{
	struct coop__pool *p;

	while ((p = LIST_FIRST(&ctx->pools))) {
		LIST_REMOVE(p, link);
		pool_free(p);
	}
	TAILQ_INIT(&ctx->idle_pools);
	ctx->nidle = 0;
	ctx->npools = 0;
	ctx->default_pool = NULL;
}
