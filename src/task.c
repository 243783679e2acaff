/*
 * task.c: the task lifecycle.  Spawn, the first function on a new stack,
 * the end of a task (return or coop_exit), join and detach.
 *
 * A task handle stays valid until it is joined, or until the task ends
 * once detached, or until its context is destroyed.  A task's stack is
 * released as soon as the task ends (the handle lives on without it), so a
 * finished but unjoined task holds only its handle.
 */
#include <errno.h>
#include <stdlib.h>

#include "checkers.h"
#include "coop-private.h"

/* The first function on a task's stack; never returns. */
static COOP_NORETURN void task_end(struct coop_task *self, void *result);

static void task_entry(void *p)
{
	struct coop_task *self = p;

	coop__arrive(self->ctx, NULL);
	task_end(self, self->fn(self->arg));
}

COOP_EXPORT int coop_spawn(struct coop_context *ctx, struct coop_task **out, void *(*fn)(void *),
                           void *arg, const struct coop_task_opts *opts)
{
	struct coop_task_opts o = {0};
	struct coop_task *t;
	int rc;

	if (!ctx || !fn)
		return -EINVAL;
	if (opts && (rc = coop__opts_copy(&o, sizeof(o), opts)) < 0)
		return rc;
	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (o.stack) {
		rc = coop__stack_user(&t->user_stack, o.stack, o.stack_size);
		t->stack = &t->user_stack;
	} else {
		rc = coop__stack_get(ctx, o.stack_size ? o.stack_size : ctx->stack_size, &t->stack);
	}
	if (rc < 0) {
		free(t);
		return rc;
	}
	t->ctx = ctx;
	t->fn = fn;
	t->arg = arg;
	t->result = NULL;
	t->joiner = NULL;
	t->joining = NULL;
	t->id = ctx->next_id++;
	t->saved_errno = 0;
	t->detached = !out;
	strlcpy(t->name, o.name ? o.name : "", sizeof(t->name));
	coop__arch_make(&t->arch, t->stack->lo, t->stack->size, task_entry, t);
	LIST_INSERT_HEAD(&ctx->tasks, t, all);
	ctx->live++;
	coop__make_ready(t);
	if (out)
		*out = t;
	return 0;
}

void coop__task_free(struct coop_task *t)
{
	struct coop_context *ctx = t->ctx;

	if (t->state == COOP__READY)
		TAILQ_REMOVE(&ctx->runq, t, runq);
	if (t->state != COOP__DONE)
		ctx->live--;
	if (t->stack)
		coop__stack_put(ctx, t->stack);
	LIST_REMOVE(t, all);
	free(t);
}

static void task_end(struct coop_task *self, void *result)
{
	struct coop_context *ctx = self->ctx;

	self->result = result;
	self->state = COOP__DONE;
	ctx->live--;
	if (self->joiner)
		coop__make_ready(self->joiner);
	/* Still running on this stack: stack_put only queues it for reuse,
	 * and nothing can take it before the switch below. */
	coop__stack_put(ctx, self->stack);
	self->stack = NULL;
	if (self->detached) {
		LIST_REMOVE(self, all);
		free(self);
	}
	coop__schedule_last(ctx);
}

COOP_EXPORT void coop_exit(void *result)
{
	struct coop_task *self = coop__self;

	if (!self)
		coop__die("coop_exit", "called outside a task");
	task_end(self, result);
}

COOP_EXPORT int coop_join(struct coop_task *task, void **result)
{
	struct coop_task *self = coop__self;
	struct coop_task *t;

	if (!task || task->detached || task->joiner)
		return -EINVAL;
	if (task == self)
		return -EDEADLK;
	if (task->state != COOP__DONE) {
		if (!self)
			return -EAGAIN;
		if (self->ctx != task->ctx)
			return -EINVAL;
		/* Waiting on a task that (transitively) waits on us never ends. */
		for (t = task->joining; t; t = t->joining)
			if (t == self)
				return -EDEADLK;
		task->joiner = self;
		self->joining = task;
		self->state = COOP__BLOCKED;
		coop__schedule(self);
		self->joining = NULL;
	}
	if (result)
		*result = task->result;
	coop__task_free(task);
	return 0;
}

COOP_EXPORT int coop_detach(struct coop_task *task)
{
	if (!task || task->detached || task->joiner)
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
