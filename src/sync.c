/*
 * sync.c: mutex, condition variable and counting semaphore (§4.6), on the
 * wait path (wait.h) like every blocking call.
 *
 * Every hand-off is direct and FIFO: whoever frees a mutex or a unit
 * gives it to the first waiter, which becomes runnable already owning it,
 * so nobody barges in front of a task that waited, and a woken task never
 * finds what it waited for taken.  In a cooperative context that costs at
 * most the one switch the waiter needed anyway.
 *
 * A mutex's invariant: owner == NULL implies nobody waits (an unlock with
 * waiters hands ownership on).  The same for a semaphore: value > 0
 * implies nobody waits.
 */
#include <limits.h>

#include "object.h"
#include "timer.h"
#include "wait.h"

struct coop_mutex {
	struct coop__obj obj;           /* first: its context */
	struct coop_task *owner;        /* NULL: free */
	struct coop__waitq waiters;     /* tasks in coop_mutex_lock, and signalled
	                                 * coop_cond_wait callers, in arrival order */
	size_t cond_waits;              /* coop_cond_wait calls with it released,
	                                 * which will take it again: it is in use */
};

struct coop_cond {
	struct coop__obj obj;
	struct coop__waitq waiters;     /* tasks in coop_cond_wait; record data: their mutex */
};

struct coop_sem {
	struct coop__obj obj;
	unsigned int value;
	struct coop__waitq waiters;     /* tasks in coop_sem_acquire */
};

/* ------------------------------------------------------------- mutex -- */

COOP_EXPORT int coop_mutex_create(struct coop_context *ctx, struct coop_mutex **out)
{
	struct coop_mutex *m;
	int rc;

	if (!out)
		return -EINVAL;
	if (!(m = coop__obj_new(ctx, sizeof(*m), COOP__OBJ_MUTEX, &rc)))
		return rc;
	TAILQ_INIT(&m->waiters);
	*out = m;
	return 0;
}

COOP_EXPORT int coop_mutex_destroy(struct coop_mutex *mutex)
{
	if (!mutex)
		return -EINVAL;
	/* An orphan's owner and waiters went with its context. */
	if (mutex->obj.ctx &&
	    (mutex->owner || !TAILQ_EMPTY(&mutex->waiters) || mutex->cond_waits))
		return -EBUSY;
	coop__obj_free(&mutex->obj);
	return 0;
}

/* Task t owns m from now on. */
static inline void mutex_take(struct coop_mutex *m, struct coop_task *t)
{
	m->owner = t;
	t->locks++;
}

/* The owner lets go of m: to its first waiter (woken with `result` 0,
 * owning it), or m is free. */
static inline void mutex_release(struct coop_mutex *m)
{
	struct coop__waiter *w = TAILQ_FIRST(&m->waiters);

	m->owner->locks--;
	m->owner = NULL;
	if (w) {
		mutex_take(m, w->task);
		coop__wake(w->task, 0);
	}
}

COOP_EXPORT int coop_mutex_lock(struct coop_mutex *mutex, int64_t deadline)
{
	struct coop_task *self = coop__self;
	struct coop__waiter w;
	int rc;

	if (!mutex || deadline < COOP_FOREVER)
		return -EINVAL;
	if ((rc = coop__obj_check(&mutex->obj, self, "coop_mutex_lock")) < 0)
		return rc;
	if (!self)
		return -EPERM; /* a lock needs an owner */
	if ((rc = coop__cancel_point(self)) < 0)
		return rc;
	if (mutex->owner == self)
		return -EDEADLK;
	if (COOP_LIKELY(!mutex->owner)) {
		mutex_take(mutex, self);
		coop__spent(self);
		return 0;
	}
	/* The unlocker makes us the owner before it wakes us. */
	w = (struct coop__waiter){.q = &mutex->waiters};
	return coop__wait(self, &w, 1, COOP_WAIT_MUTEX, mutex, deadline, 0);
}

COOP_EXPORT int coop_mutex_unlock(struct coop_mutex *mutex)
{
	struct coop_task *self = coop__self;
	int rc;

	if (!mutex)
		return -EINVAL;
	if ((rc = coop__obj_check(&mutex->obj, self, "coop_mutex_unlock")) < 0)
		return rc;
	if (!self || mutex->owner != self)
		return -EPERM;
	mutex_release(mutex);
	return 0;
}

/* A task ends owning `locks` mutexes: name it and one of them, abort. */
void coop__die_locked(const struct coop_task *t)
{
	const struct coop__obj *o;
	const void *held = NULL;

	LIST_FOREACH(o, &t->ctx->objects, link)
		if (o->type == COOP__OBJ_MUTEX && ((const struct coop_mutex *)o)->owner == t) {
			held = o;
			break;
		}
	coop__die("coop_exit", "task %llu \"%s\" ended holding mutex %p (%u held)",
	          (unsigned long long)t->id, t->name, held, t->locks);
}

/* ---------------------------------------------------- condition variable -- */

COOP_EXPORT int coop_cond_create(struct coop_context *ctx, struct coop_cond **out)
{
	struct coop_cond *c;
	int rc;

	if (!out)
		return -EINVAL;
	if (!(c = coop__obj_new(ctx, sizeof(*c), COOP__OBJ_COND, &rc)))
		return rc;
	TAILQ_INIT(&c->waiters);
	*out = c;
	return 0;
}

COOP_EXPORT int coop_cond_destroy(struct coop_cond *cond)
{
	if (!cond)
		return -EINVAL;
	if (cond->obj.ctx && !TAILQ_EMPTY(&cond->waiters))
		return -EBUSY;
	coop__obj_free(&cond->obj);
	return 0;
}

COOP_EXPORT int coop_cond_wait(struct coop_cond *cond, struct coop_mutex *mutex, int64_t deadline)
{
	struct coop_task *self = coop__self;
	struct coop__waiter w;
	int timeout_result, rc;

	if (!cond || !mutex || deadline < COOP_FOREVER)
		return -EINVAL;
	if (cond->obj.ctx != mutex->obj.ctx)
		return -EXDEV;
	if ((rc = coop__obj_check(&cond->obj, self, "coop_cond_wait")) < 0)
		return rc;
	if (!self || mutex->owner != self)
		return -EPERM;
	if ((rc = coop__cancel_point(self)) < 0)
		return rc;
	/* A7.5: a passed deadline never lets go of the mutex. */
	deadline = coop__wait_deadline(self, deadline, 0, &timeout_result);
	if (coop__passed(deadline)) {
		coop__spent(self);
		return timeout_result;
	}
	/* Nothing runs between the release and the wait: the hand-off only
	 * queues the next owner.  Until this call owns the mutex again, the
	 * mutex cannot be destroyed under it. */
	mutex_release(mutex);
	mutex->cond_waits++;
	coop__tick_down(self->ctx);
	w = (struct coop__waiter){.q = &cond->waiters, .data = mutex};
	rc = coop__block(self, &w, 1, COOP_WAIT_COND, cond, deadline, timeout_result, 0);
	/* Timed out or cancelled: own the mutex again before returning, as
	 * the caller's unlock expects, waiting in its queue like any locker
	 * but neither cancellable nor bounded (the owner's critical section
	 * is finite).  Signalled (0): made the owner before it was woken. */
	if (rc < 0) {
		if (!mutex->owner) {
			mutex_take(mutex, self);
		} else {
			w = (struct coop__waiter){.q = &mutex->waiters};
			coop__tick_down(self->ctx);
			coop__block(self, &w, 1, COOP_WAIT_MUTEX, mutex, COOP_FOREVER, 0,
			            COOP__WAIT_NOCANCEL);
		}
	}
	mutex->cond_waits--;
	return rc;
}

/* Wake the first waiter of c: it owns its mutex at once when that is free;
 * else it moves, still blocked, to the mutex's queue ("wait morphing"),
 * where an unlock will hand the mutex over and wake it: it never wakes to
 * find the mutex taken.  From now on it waits to own the mutex only:
 * neither its deadline nor a cancellation ends that wait. */
static void cond_wake_one(struct coop_cond *c)
{
	struct coop__waiter *w = TAILQ_FIRST(&c->waiters);
	struct coop_mutex *m = w->data;
	struct coop_task *t = w->task;

	if (!m->owner) {
		mutex_take(m, t);
		coop__wake(t, 0);
		return;
	}
	TAILQ_REMOVE(&c->waiters, w, link);
	w->q = &m->waiters;
	TAILQ_INSERT_TAIL(&m->waiters, w, link);
	if (t->timer)
		coop__timer_remove(t->ctx, t);
	t->wait_kind = COOP_WAIT_MUTEX;
	t->wait_obj = m;
	t->wait_flags |= COOP__WAIT_NOCANCEL;
}

COOP_EXPORT int coop_cond_signal(struct coop_cond *cond)
{
	int rc;

	if (!cond)
		return -EINVAL;
	if ((rc = coop__obj_check(&cond->obj, coop__self, "coop_cond_signal")) < 0)
		return rc;
	if (!TAILQ_EMPTY(&cond->waiters))
		cond_wake_one(cond);
	return 0;
}

COOP_EXPORT int coop_cond_broadcast(struct coop_cond *cond)
{
	int rc;

	if (!cond)
		return -EINVAL;
	if ((rc = coop__obj_check(&cond->obj, coop__self, "coop_cond_broadcast")) < 0)
		return rc;
	while (!TAILQ_EMPTY(&cond->waiters))
		cond_wake_one(cond);
	return 0;
}

/* --------------------------------------------------------- semaphore -- */

COOP_EXPORT int coop_sem_create(struct coop_context *ctx, struct coop_sem **out, unsigned int value)
{
	struct coop_sem *s;
	int rc;

	if (!out)
		return -EINVAL;
	if (!(s = coop__obj_new(ctx, sizeof(*s), COOP__OBJ_SEM, &rc)))
		return rc;
	s->value = value;
	TAILQ_INIT(&s->waiters);
	*out = s;
	return 0;
}

COOP_EXPORT int coop_sem_destroy(struct coop_sem *sem)
{
	if (!sem)
		return -EINVAL;
	if (sem->obj.ctx && !TAILQ_EMPTY(&sem->waiters))
		return -EBUSY;
	coop__obj_free(&sem->obj);
	return 0;
}

COOP_EXPORT int coop_sem_acquire(struct coop_sem *sem, int64_t deadline)
{
	struct coop_task *self = coop__self;
	struct coop__waiter w;
	int rc;

	if (!sem || deadline < COOP_FOREVER)
		return -EINVAL;
	if ((rc = coop__obj_check(&sem->obj, self, "coop_sem_acquire")) < 0)
		return rc;
	if (!self) {
		if (!sem->value)
			return -EAGAIN; /* R4 */
		sem->value--;
		return 0;
	}
	if ((rc = coop__cancel_point(self)) < 0)
		return rc;
	if (COOP_LIKELY(sem->value)) {
		sem->value--;
		coop__spent(self);
		return 0;
	}
	/* The releaser hands its unit over before it wakes us. */
	w = (struct coop__waiter){.q = &sem->waiters};
	return coop__wait(self, &w, 1, COOP_WAIT_SEM, sem, deadline, 0);
}

COOP_EXPORT int coop_sem_release(struct coop_sem *sem)
{
	struct coop__waiter *w;
	int rc;

	if (!sem)
		return -EINVAL;
	if ((rc = coop__obj_check(&sem->obj, coop__self, "coop_sem_release")) < 0)
		return rc;
	if ((w = TAILQ_FIRST(&sem->waiters))) {
		coop__wake(w->task, 0);
		return 0;
	}
	if (sem->value == UINT_MAX)
		return -EOVERFLOW;
	sem->value++;
	return 0;
}
