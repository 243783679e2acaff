/*
 * task.c: the task lifecycle.  Spawn, the first function on a new stack,
 * the end of a task (return or coop_exit), join and detach.
 *
 * A task handle stays valid until it is joined, or until the task ends
 * once detached, or until its context is destroyed.  A task on a library
 * stack lives in its stack's pool slot, so it keeps that slot until it is
 * joined; a detached task gives it back as it ends.
 */
#include <errno.h>
#include <stdlib.h>

#include "timer.h"
#include "wait.h"

/* The end of a task, inlined into both ways a task ends.  It finishes by
 * jumping to coop__switch_last and never comes back. */
static inline __attribute__((always_inline)) void task_end(struct coop_task *self, void *result);

static void task_entry(void *p)
{
	struct coop_task *self = p;

	if (COOP_UNLIKELY(coop__hooks & COOP__HOOK_SANITIZER))
		coop__checkers_arrive(self->ctx, NULL);
	task_end(self, self->fn(self->arg));
}

/* Make `t` (a slot with a name) a NEW task that will run fn(arg).  Its
 * frame comes last, so that nothing is live across that call. */
static inline int spawn_init(struct coop_context *ctx, struct coop_task *t,
                             struct coop_task **out, void *(*fn)(void *), void *arg)
{
	t->ctx = ctx;
	t->fn = fn;
	t->arg = arg;
	t->result = NULL;
	/* Adjacent fields, zeroed together. */
	t->nwaits = 0;
	t->timer = 0;
	t->wait_kind = COOP_WAIT_NONE;
	t->wait_flags = 0;
	t->cancel = 0;
	t->budget_used = 0;
	t->budget_mark = 0;
	t->locks = 0;
	t->deadline = COOP_FOREVER;
	TAILQ_INIT(&t->joiners);
	t->group = NULL;
	t->id = ctx->next_id++;
	t->saved_errno = 0;
	t->eh = (struct coop__arch_eh){0}; /* no C++ exception yet (cxx.h) */
	t->detached = !out;
	if (COOP_UNLIKELY(coop__hooks & COOP__HOOK_SANITIZER))
		coop__checkers_spawn(t);
	LIST_INSERT_HEAD(&ctx->tasks, t, all);
	ctx->live++;
	t->state = COOP__NEW;
	coop__ring_push(t);
	if (out)
		*out = t;
	coop__arch_make(&t->arch, t->stack_lo, t->stack_size, task_entry, t);
	return 0;
}

/* coop_spawn with options. */
static __attribute__((noinline)) int spawn_opts(struct coop_context *ctx, struct coop_task **out,
                                                void *(*fn)(void *), void *arg,
                                                const struct coop_task_opts *opts)
{
	struct coop_task_opts o;
	struct coop_task *t;
	int rc;

	if ((rc = coop__opts_copy(&o, sizeof(o), opts)) < 0)
		return rc;
	if (o.stack_size && (rc = coop__stack_size_check(o.stack_size)) < 0)
		return rc;
	if (o.group && o.group->obj.ctx != ctx)
		return -EXDEV;
	if (o.stack)
		rc = coop__stack_user_task(o.stack, o.stack_size, &t);
	else
		rc = coop__stack_task(ctx, o.stack_size ? o.stack_size : ctx->stack_size, &t);
	if (rc < 0)
		return rc;
	strlcpy(t->name, o.name ? o.name : "", sizeof(t->name));
	spawn_init(ctx, t, out, fn, arg);
	if (o.group)
		coop__group_add(t, o.group);
	return 0;
}

COOP_EXPORT int coop_spawn(struct coop_context *ctx, struct coop_task **out, void *(*fn)(void *),
                           void *arg, const struct coop_task_opts *opts)
{
	struct coop_task *t;
	int rc;

	if (!ctx || !fn)
		return -EINVAL;
	/* Its timer-heap entry, so that no wait of it fails for memory.
	 * (A context being destroyed has no room left: -ESHUTDOWN, from
	 * the callbacks its destroy runs, costs the common case nothing.) */
	if (COOP_UNLIKELY(ctx->live >= ctx->timer_cap)) {
		if (ctx->destroying)
			return -ESHUTDOWN;
		if ((rc = coop__timer_reserve(ctx, ctx->live + 1)) < 0)
			return rc;
	}
	if (opts)
		return spawn_opts(ctx, out, fn, arg, opts);
	if ((rc = coop__stack_task(ctx, ctx->stack_size, &t)) < 0)
		return rc;
	t->name[0] = '\0';
	return spawn_init(ctx, t, out, fn, arg);
}

/* Free task t, which has ended (or is being forgotten, see below). */
static inline void task_release(struct coop_task *t)
{
	if (COOP_UNLIKELY(coop__hooks & COOP__HOOK_SANITIZER))
		coop__checkers_free(t);
	LIST_REMOVE(t, all);
	coop__stack_release(t->ctx, t);
}

void coop__task_free(struct coop_task *t)
{
	/* Only coop_context_destroy frees a task that has not ended; it
	 * empties the run queue first, and never resumes it. */
	if (t->state != COOP__DONE) {
		struct coop__waiter *w;

		t->ctx->live--;
		if (t->state == COOP__BLOCKED)
			coop__wait_unlink(t);
		if (t->group)
			coop__group_leave(t, false);
		/* Its joiner, freed with the context too, may come later:
		 * its record must not point into this task. */
		while ((w = TAILQ_FIRST(&t->joiners))) {
			TAILQ_REMOVE(&t->joiners, w, link);
			w->q = NULL;
		}
	}
	task_release(t);
}

/* The end of a task, past the common case: a sanitizer to tell, or a
 * detached task to free.  (The C++ runtime's exception state is dropped
 * by the switch itself.) */
static __attribute__((noinline)) void task_end_rare(struct coop_task *self,
                                                    struct coop_context *ctx,
                                                    struct coop_task *next)
{
	if (COOP_UNLIKELY(coop__hooks & COOP__HOOK_SANITIZER))
		coop__checkers_end(self); /* before a detached task is freed */
	if (self->detached) {
		/* Still running on this stack: the slot only goes back to its
		 * pool, and nothing can take it before the switch below. */
		LIST_REMOVE(self, all);
		coop__stack_release(ctx, self);
	}
	coop__switch_last(ctx, next);
}

static inline __attribute__((always_inline)) void task_end(struct coop_task *self, void *result)
{
	struct coop_context *ctx = self->ctx;
	struct coop__waiter *w;
	struct coop_task *next;

	if (COOP_UNLIKELY(self->canary))
		coop__stack_check("coop_exit", self);
	if (COOP_UNLIKELY(self->locks))
		coop__die_locked(self);
	self->result = result;
	self->state = COOP__DONE;
	ctx->live--;
	/* Whatever this wakes is queued while it is still in the ring. */
	if (COOP_UNLIKELY(self->group != NULL))
		coop__group_leave(self, true);
	/* Its joiner, if any, becomes READY: at the tail of the run queue,
	 * which is where this task leaves the ring. */
	if ((w = TAILQ_FIRST(&self->joiners))) {
		struct coop_task *joiner = w->task;

		coop__wait_end(joiner, 0);
		next = coop__ring_replace(self, joiner);
	} else {
		next = coop__ring_leave(self);
	}
	if (COOP_UNLIKELY(coop__to_main)) { /* see coop__switch_from */
		ctx->rq = next;
		next = NULL;
	}
	/* Nothing is live across a call on the common path: */
	if (COOP_UNLIKELY((coop__hooks & COOP__HOOK_SANITIZER) | self->detached))
		task_end_rare(self, ctx, next);
	else
		coop__switch_last(ctx, next);
}

COOP_EXPORT void coop_exit(void *result)
{
	struct coop_task *self = coop__self;

	if (!self)
		coop__die("coop_exit", "called outside a task");
	task_end(self, result);
	coop__die("coop_exit", "a finished task was resumed");
}

/* Both joins, inlined into each: coop_join's constant deadline folds away. */
static inline __attribute__((always_inline)) int join_until(struct coop_task *task, void **result,
                                                            int64_t deadline)
{
	struct coop_task *self = coop__self;
	const struct coop_task *t;
	int rc;

	/* A7.1: the arguments (joining itself is -EDEADLK even while
	 * another task joins the caller), then outside a task, then a
	 * pending cancellation, then the join. */
	if (!task || deadline < COOP_FOREVER)
		return -EINVAL;
	/* From a task, only its own context's tasks, ended or not: the answer
	 * does not depend on how far the other context got. */
	if (self && self->ctx != task->ctx)
		return -EINVAL;
	if (task->detached)
		return -EINVAL;
	if (task == self)
		return -EDEADLK;
	if (!TAILQ_EMPTY(&task->joiners))
		return -EINVAL;
	if (!self) {
		if (task->state != COOP__DONE)
			return -EAGAIN;
	} else {
		if ((rc = coop__cancel_point(self)) < 0)
			return rc;
		if (task->state != COOP__DONE) {
			struct coop__waiter w = {.q = &task->joiners};

			/* Waiting on a task that (transitively) waits on us
			 * never ends. */
			for (t = task; t->state == COOP__BLOCKED && t->wait_kind == COOP_WAIT_JOIN;) {
				t = t->wait_obj;
				if (t == self)
					return -EDEADLK;
			}
			if ((rc = coop__wait(self, &w, 1, COOP_WAIT_JOIN, task, deadline, 0)) < 0)
				return rc;
			self = NULL; /* it waited: no budget spent */
		}
	}
	if (result)
		*result = task->result;
	task_release(task); /* ended */
	if (self)
		coop__spent(self);
	return 0;
}

COOP_EXPORT int coop_join_until(struct coop_task *task, void **result, int64_t deadline)
{
	return join_until(task, result, deadline);
}

COOP_EXPORT int coop_join(struct coop_task *task, void **result)
{
	return join_until(task, result, COOP_FOREVER);
}

COOP_EXPORT int coop_detach(struct coop_task *task)
{
	if (!task || task->detached || !TAILQ_EMPTY(&task->joiners))
		return -EINVAL;
	if (task->state == COOP__DONE)
		coop__task_free(task);
	else
		task->detached = true;
	return 0;
}

COOP_EXPORT const char *coop_task_name(const struct coop_task *task)
{
	return task ? task->name : NULL;
}
