/*
 * pool.c: thread pools for coop_offload (§5.3, A7.8).
 *
 * A pool is a FIFO queue of jobs under a mutex, and workers that take
 * them.  Elastic: a worker is started whenever queued jobs outnumber the
 * idle ones (up to max_threads), so jobs that wait on each other do not
 * deadlock a small fixed pool; an idle worker exits after idle_timeout.
 * Workers block every signal (signals go to the application's threads),
 * are named "coop-pool", and run no coop code but fn (and what fn may
 * call: coop_offload_abandoned, coop_now, coop_context_post,
 * coop_notify_send).
 *
 * Workers are joinable: one that exits lists itself as a zombie, joined
 * by the next start of a worker or by coop_pool_destroy, so that nothing
 * of a destroyed pool is touched by a thread still on its way out.  The
 * process-wide default pool is made on first use and never destroyed.
 * After fork(), the child's pools are reset to empty (their threads did
 * not survive): a child that only calls exec is safe.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "offload.h"
#include "remote.h"

#define DEFAULT_IDLE_TIMEOUT (10 * COOP_SEC)
#define DEFAULT_MAX_THREADS 64u

struct worker {
	pthread_t thread;
	struct coop_pool *pool;
	LIST_ENTRY(worker) link;  /* its pool's zombies, once it exited */
	LIST_ENTRY(worker) alive; /* its pool's workers until it exits */
};
LIST_HEAD(workerlist, worker);

struct coop_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;          /* idle workers wait here (CLOCK_MONOTONIC) */
	pthread_cond_t gone;          /* coop_pool_destroy waits here for the last worker */
	TAILQ_HEAD(, coop__job) queue;
	size_t queued;                /* jobs in queue */
	size_t jobs;                  /* jobs not yet over (A7.8): queued, running, undelivered */
	unsigned nthreads;            /* workers started and not exited */
	unsigned nidle;               /* workers waiting for a job */
	unsigned max_threads;
	size_t stack_size;            /* 0: the pthread default */
	int64_t idle_timeout;
	bool stopping;                /* coop_pool_destroy: workers exit */
	struct workerlist zombies;    /* exited workers, to be joined */
	struct workerlist alive;      /* workers not exited (a child of fork() frees them) */
	LIST_ENTRY(coop_pool) all;    /* every pool, for the fork handler */
};

static pthread_mutex_t pools_lock = PTHREAD_MUTEX_INITIALIZER;
static LIST_HEAD(, coop_pool) pools = LIST_HEAD_INITIALIZER(pools);
static struct coop_pool *default_pool;
static bool atfork_done;

/* The job a pool worker runs right now (coop_offload_abandoned). */
static __thread struct coop__job *current_job;

static int pool_init(struct coop_pool *p)
{
	pthread_condattr_t ca;
	int rc;

	if ((rc = pthread_condattr_init(&ca)))
		return -rc;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&p->work, &ca);
	pthread_condattr_destroy(&ca);
	if (rc)
		return -rc;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->gone, NULL);
	TAILQ_INIT(&p->queue);
	LIST_INIT(&p->zombies);
	LIST_INIT(&p->alive);
	p->queued = p->jobs = 0;
	p->nthreads = p->nidle = 0;
	p->stopping = false;
	return 0;
}

/* fork(): the child has none of the parent's workers. */
static void atfork_child(void)
{
	struct coop_pool *p;
	struct worker *w;

	pthread_mutex_init(&pools_lock, NULL);
	/* Their threads are the parent's: only the records are here. */
	LIST_FOREACH(p, &pools, all) {
		while ((w = LIST_FIRST(&p->alive))) {
			LIST_REMOVE(w, alive);
			free(w);
		}
		while ((w = LIST_FIRST(&p->zombies))) {
			LIST_REMOVE(w, link);
			free(w);
		}
		pool_init(p);
	}
}

/* pthread_atfork(3) is a static stub in glibc's libc_nonshared.a, which
 * calls this with the caller's __dso_handle: linking the stub in would
 * drop the library's IBT/BTI marking (its object carries no property
 * note; meson.build), so the library makes the call itself. */
extern int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
                             void *dso_handle);
extern void *__dso_handle __attribute__((visibility("hidden")));

/* Register `p`; pools_lock held. */
static void pool_list(struct coop_pool *p)
{
	if (!atfork_done) {
		__register_atfork(NULL, NULL, atfork_child, &__dso_handle);
		atfork_done = true;
	}
	LIST_INSERT_HEAD(&pools, p, all);
}

static int pool_new(struct coop_pool **out, const struct coop_pool_opts *o)
{
	struct coop_pool *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	if ((rc = pool_init(p)) < 0) {
		free(p);
		return rc;
	}
	p->stack_size = o->stack_size;
	p->idle_timeout = o->idle_timeout ? o->idle_timeout : DEFAULT_IDLE_TIMEOUT;
	p->max_threads = o->max_threads ? o->max_threads : DEFAULT_MAX_THREADS;
	*out = p;
	return 0;
}

COOP_EXPORT int coop_pool_create(struct coop_pool **out, const struct coop_pool_opts *opts)
{
	struct coop_pool_opts o = {0};
	int saved = errno, rc;

	if (!out)
		return -EINVAL;
	if (opts && (rc = coop__opts_copy(&o, sizeof(o), opts)) < 0)
		return rc;
	if (o.idle_timeout < 0 || (o.stack_size && o.stack_size < (size_t)PTHREAD_STACK_MIN))
		return -EINVAL;
	if ((rc = pool_new(out, &o)) < 0) {
		errno = saved;
		return rc;
	}
	pthread_mutex_lock(&pools_lock);
	pool_list(*out);
	pthread_mutex_unlock(&pools_lock);
	return 0;
}

struct coop_pool *coop__pool_default(int *err)
{
	struct coop_pool_opts o = {0};
	struct coop_pool *p;
	int rc;

	/* Once made, a plain acquire load finds it. */
	if ((p = __atomic_load_n(&default_pool, __ATOMIC_ACQUIRE)))
		return p;
	pthread_mutex_lock(&pools_lock);
	if (!(p = default_pool)) {
		if ((rc = pool_new(&p, &o)) < 0) {
			*err = rc;
			p = NULL;
		} else {
			pool_list(p);
			__atomic_store_n(&default_pool, p, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&pools_lock);
	return p;
}

/* Join the workers in `list` (taken from a pool's zombies). */
static void reap(struct workerlist *list)
{
	struct worker *w;

	while ((w = LIST_FIRST(list))) {
		LIST_REMOVE(w, link);
		pthread_join(w->thread, NULL);
		free(w);
	}
}

/* Take the pool's zombies into `out`; lock held. */
static void take_zombies(struct coop_pool *p, struct workerlist *out)
{
	struct worker *w;

	LIST_INIT(out);
	while ((w = LIST_FIRST(&p->zombies))) {
		LIST_REMOVE(w, link);
		LIST_INSERT_HEAD(out, w, link);
	}
}

/* Run `job` (taken off the queue, lock released); returns with the
 * pool's lock held again. */
static void run_job(struct coop_pool *p, struct coop__job *job)
{
	struct coop__remote *remote = job->remote;
	int expect = COOP__JOB_RUNNING;
	void *result;

	current_job = job;
	result = job->fn(job->arg);
	current_job = NULL;
	job->result = result;
	pthread_mutex_lock(&p->lock);
	if (atomic_compare_exchange_strong(&job->state, &expect, COOP__JOB_DONE)) {
		/* The context's now: it may be freed as soon as it is
		 * pushed.  Delivered under the lock: the task it wakes may
		 * offload again at once, and its submit must then find this
		 * worker back at the queue, not start another thread (the
		 * pool keeps its size in steady state). */
		coop__remote_push(remote, &remote->done, &job->done);
		return;
	}
	/* Abandoned while it ran: the result is the orphan callback's. */
	pthread_mutex_unlock(&p->lock);
	if (job->orphan)
		job->orphan(job->arg, result);
	free(job);
	pthread_mutex_lock(&p->lock);
	p->jobs--;
}

static void *worker_main(void *arg)
{
	struct worker *self = arg;
	struct coop_pool *p = self->pool;
	struct coop__job *job;
	struct timespec ts;
	int64_t until;

	pthread_setname_np(pthread_self(), "coop-pool");
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!(job = TAILQ_FIRST(&p->queue))) {
			if (p->stopping)
				goto out;
			until = coop_now() + p->idle_timeout;
			if (until < 0)
				until = INT64_MAX;
			ts.tv_sec = (time_t)(until / COOP_SEC);
			ts.tv_nsec = (long)(until % COOP_SEC);
			p->nidle++;
			int rc = pthread_cond_timedwait(&p->work, &p->lock, &ts);
			p->nidle--;
			if (rc == ETIMEDOUT && TAILQ_EMPTY(&p->queue))
				goto out;
		}
		TAILQ_REMOVE(&p->queue, job, link);
		p->queued--;
		atomic_store(&job->state, COOP__JOB_RUNNING);
		pthread_mutex_unlock(&p->lock);
		run_job(p, job);
	}
out:
	p->nthreads--;
	LIST_REMOVE(self, alive);
	LIST_INSERT_HEAD(&p->zombies, self, link);
	if (!p->nthreads)
		pthread_cond_broadcast(&p->gone);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Start a worker; lock held (so that its record is complete before it
 * can exit).  0 or -errno. */
static int start_worker(struct coop_pool *p)
{
	struct worker *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	pthread_attr_t attr;
	int rc;

	if (!w)
		return -ENOMEM;
	w->pool = p;
	if ((rc = pthread_attr_init(&attr))) {
		free(w);
		return -rc;
	}
	if (p->stack_size)
		pthread_attr_setstacksize(&attr, p->stack_size);
	/* The new thread inherits the mask: every signal blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, &attr, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc) {
		free(w);
		return -rc;
	}
	p->nthreads++;
	LIST_INSERT_HEAD(&p->alive, w, alive);
	return 0;
}

int coop__pool_submit(struct coop_pool *p, struct coop__job *job)
{
	struct workerlist dead;
	int saved = errno, rc = 0;

	atomic_init(&job->state, COOP__JOB_QUEUED);
	pthread_mutex_lock(&p->lock);
	TAILQ_INSERT_TAIL(&p->queue, job, link);
	p->queued++;
	p->jobs++;
	if (p->nidle)
		pthread_cond_signal(&p->work);
	if (p->queued > p->nidle && p->nthreads < p->max_threads &&
	    (rc = start_worker(p)) < 0 && p->nthreads) {
		rc = 0; /* a worker there will take it in turn */
	}
	if (rc < 0) {
		TAILQ_REMOVE(&p->queue, job, link);
		p->queued--;
		p->jobs--;
		rc = -EAGAIN;
	}
	take_zombies(p, &dead);
	pthread_mutex_unlock(&p->lock);
	reap(&dead);
	errno = saved;
	return rc;
}

bool coop__pool_withdraw(struct coop_pool *p, struct coop__job *job)
{
	bool queued;

	pthread_mutex_lock(&p->lock);
	queued = atomic_load_explicit(&job->state, memory_order_relaxed) == COOP__JOB_QUEUED;
	if (queued) {
		TAILQ_REMOVE(&p->queue, job, link);
		p->queued--;
		p->jobs--;
	}
	pthread_mutex_unlock(&p->lock);
	return queued;
}

void coop__pool_release(struct coop_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->jobs--;
	pthread_mutex_unlock(&p->lock);
}

COOP_EXPORT int coop_pool_destroy(struct coop_pool *pool)
{
	struct workerlist dead;

	if (!pool)
		return -EINVAL;
	pthread_mutex_lock(&pool->lock);
	if (pool->jobs || pool == __atomic_load_n(&default_pool, __ATOMIC_ACQUIRE)) {
		pthread_mutex_unlock(&pool->lock);
		return -EBUSY;
	}
	pool->stopping = true;
	pthread_cond_broadcast(&pool->work);
	while (pool->nthreads)
		pthread_cond_wait(&pool->gone, &pool->lock);
	take_zombies(pool, &dead);
	pthread_mutex_unlock(&pool->lock);
	reap(&dead);
	pthread_mutex_lock(&pools_lock);
	LIST_REMOVE(pool, all);
	pthread_mutex_unlock(&pools_lock);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->work);
	pthread_cond_destroy(&pool->gone);
	free(pool);
	return 0;
}

COOP_EXPORT int coop_offload_abandoned(void)
{
	struct coop__job *job = current_job;

	if (!job)
		return -EPERM;
	return atomic_load(&job->state) == COOP__JOB_ABANDONED;
}
