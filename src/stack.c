/*
 * stack.c: task stacks.  Guarded mappings, caller buffers, and a small
 * per-context cache so that spawning in steady state maps nothing.
 *
 * A mapped stack is one anonymous mapping: a PROT_NONE guard page at the
 * bottom (stacks grow down, so running off the end faults there), the
 * usable stack, and this file's descriptor at the very top, above the
 * highest usable byte.  MAP_NORESERVE: memory is committed only as a task
 * touches it, and never zeroed by us.
 *
 * A caller's buffer is used as is: no guard, nothing written to it by the
 * library (its descriptor lives in the task).
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "checkers.h"
#include "coop-private.h"

/* Free mapped stacks a context keeps for reuse; beyond this they are
 * unmapped, oldest first. */
#define STACK_CACHE_MAX 64

size_t coop__page_round(size_t n)
{
	size_t pg = (size_t)getpagesize();

	if (n > SIZE_MAX - (pg - 1))
		return 0;
	return (n + pg - 1) & ~(pg - 1);
}

static void stack_unmap(struct coop__stack *s)
{
	void *map = s->map;
	size_t len = s->map_size;

	coop__vg_stack_deregister(s->vg_id);
	munmap(map, len); /* s lives in the mapping: read it first */
}

int coop__stack_get(struct coop_context *ctx, size_t size, struct coop__stack **out)
{
	size_t pg = (size_t)getpagesize();
	size_t body, map_size;
	struct coop__stack *s;
	uintptr_t top;
	char *map;
	int saved = errno, rc;

	if (size < COOP_STACK_SIZE_MIN)
		return -EINVAL;
	body = size > SIZE_MAX - sizeof(*s) - 16 ? 0 : coop__page_round(size + sizeof(*s) + 16);
	if (!body || body > SIZE_MAX - pg)
		return -EINVAL;
	map_size = body + pg;

	TAILQ_FOREACH(s, &ctx->stacks, link) {
		if (s->map_size == map_size) {
			TAILQ_REMOVE(&ctx->stacks, s, link);
			ctx->nstacks--;
			coop__asan_unpoison(s->lo, s->size);
			*out = s;
			return 0;
		}
	}

	map = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
	           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (map == MAP_FAILED) {
		rc = -errno;
		errno = saved;
		return rc;
	}
	if (mprotect(map, pg, PROT_NONE) != 0) {
		rc = -errno;
		munmap(map, map_size);
		errno = saved;
		return rc;
	}
	top = (uintptr_t)map + map_size;
	s = (struct coop__stack *)((top - sizeof(*s)) & ~(uintptr_t)15);
	s->lo = map + pg;
	s->size = ((uintptr_t)s & ~(uintptr_t)15) - (uintptr_t)s->lo;
	s->map = map;
	s->map_size = map_size;
	s->vg_id = coop__vg_stack_register(s->lo, (char *)s->lo + s->size);
	*out = s;
	return 0;
}

int coop__stack_user(struct coop__stack *desc, void *buf, size_t size)
{
	uintptr_t lo = (uintptr_t)buf, hi;

	if (!buf || size < COOP_STACK_SIZE_MIN || lo > UINTPTR_MAX - size)
		return -EINVAL;
	hi = (lo + size) & ~(uintptr_t)15;
	lo = (lo + 15) & ~(uintptr_t)15;
	desc->lo = (void *)lo;
	desc->size = hi - lo;
	desc->map = NULL;
	desc->map_size = 0;
	desc->vg_id = coop__vg_stack_register(desc->lo, (char *)desc->lo + desc->size);
	return 0;
}

void coop__stack_put(struct coop_context *ctx, struct coop__stack *s)
{
	struct coop__stack *old;

	if (!s->map) {
		coop__vg_stack_deregister(s->vg_id);
		return;
	}
	/* Never unmaps `s` itself: the caller may still be running on it. */
	if (ctx->nstacks >= STACK_CACHE_MAX) {
		old = TAILQ_LAST(&ctx->stacks, coop__stackq);
		TAILQ_REMOVE(&ctx->stacks, old, link);
		ctx->nstacks--;
		stack_unmap(old);
	}
	TAILQ_INSERT_HEAD(&ctx->stacks, s, link);
	ctx->nstacks++;
}

void coop__stack_drain(struct coop_context *ctx)
{
	struct coop__stack *s;

	while ((s = TAILQ_FIRST(&ctx->stacks))) {
		TAILQ_REMOVE(&ctx->stacks, s, link);
		stack_unmap(s);
	}
	ctx->nstacks = 0;
}
