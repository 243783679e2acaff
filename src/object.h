/*
 * object.h: what the objects a context owns (groups, channels, mutexes,
 * condition variables, semaphores, notifiers) have in common (R5, §4.3).
 *
 * Each is a heap object behind an opaque pointer, bound to the context
 * it was created in and listed there.  Destroying the context never frees
 * them (the application owns them, as it owns fds): it empties their
 * wait queues (by freeing the blocked tasks) and orphans them, after
 * which the only call that works on them is their destroy, which then
 * succeeds whatever state they were left in (a mutex its task still
 * owned, a channel with elements in it).  Any other call on an orphan is
 * -EXDEV, as for an object of another context: its context is gone.
 */
#ifndef COOP_OBJECT_H
#define COOP_OBJECT_H

#include <errno.h>
#include <stdlib.h>

#include "coop-private.h"

/* coop__obj.type */
enum {
	COOP__OBJ_GROUP = 1,
	COOP__OBJ_CHAN,
	COOP__OBJ_MUTEX,
	COOP__OBJ_COND,
	COOP__OBJ_SEM,
	COOP__OBJ_NOTIFY,
};

/* The context a creation call with `ctx` binds its object to: ctx, or
 * the context running on this thread (R5); NULL when there is none. */
static inline struct coop_context *coop__obj_context(struct coop_context *ctx)
{
	return ctx ? ctx : coop__running;
}

/* Bind new object `o` to `ctx`. */
static inline void coop__obj_init(struct coop__obj *o, struct coop_context *ctx, int type)
{
	o->ctx = ctx;
	o->type = (unsigned char)type;
	LIST_INSERT_HEAD(&ctx->objects, o, link);
}

/* Unbind `o` before it is freed (an orphan is no longer listed). */
static inline void coop__obj_fini(struct coop__obj *o)
{
	if (o->ctx)
		LIST_REMOVE(o, link);
}

/* A creation call's common part: a zeroed object of `size` bytes (its
 * struct coop__obj first) of `type`, bound to `ctx` or the running
 * context; NULL with *err -EPERM when there is no context, or -ENOMEM.
 * errno is left alone. */
static inline void *coop__obj_new(struct coop_context *ctx, size_t size, int type, int *err)
{
	struct coop__obj *o;
	int saved = errno;

	if (!(ctx = coop__obj_context(ctx))) {
		*err = -EPERM;
		return NULL;
	}
	if (!(o = calloc(1, size))) {
		errno = saved;
		*err = -ENOMEM;
		return NULL;
	}
	coop__obj_init(o, ctx, type);
	return o;
}

/* A destroy call's common part: unbind `o` and free it. */
static inline void coop__obj_free(struct coop__obj *o)
{
	coop__obj_fini(o);
	free(o);
}

/* The checks every call on object `o` makes before anything else of its
 * own (A7.1's order): 0 when `self` (the running task, or NULL outside
 * one) may use it, -EXDEV when it belongs to another context or to none
 * any more.  From outside a task, a context running on another thread
 * aborts naming `call` (R9). */
static inline __attribute__((always_inline)) int
coop__obj_check(const struct coop__obj *o, const struct coop_task *self, const char *call)
{
	if (COOP_LIKELY(self != NULL))
		return COOP_LIKELY(self->ctx == o->ctx) ? 0 : -EXDEV;
	if (!o->ctx)
		return -EXDEV;
	coop__check_thread(o->ctx, call);
	return 0;
}

/* coop_context_destroy, its tasks freed: orphan every object it owns. */
static inline void coop__obj_orphan_all(struct coop_context *ctx)
{
	struct coop__obj *o;

	while ((o = LIST_FIRST(&ctx->objects))) {
		LIST_REMOVE(o, link);
		o->ctx = NULL;
		if (o->type == COOP__OBJ_NOTIFY)
			coop__notify_orphan((struct coop_notify *)o);
	}
}

#endif /* COOP_OBJECT_H */
