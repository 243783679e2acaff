/*
 * remote.c: posted callbacks, the notifier list and waking a context's
 * thread from another (remote.h), and coop_context_post.
 *
 * Post nodes are recycled: a malloc on the posting thread and its free on
 * the context's cost a post most of its time (glibc's arenas: about half
 * of B-11's one-thread profile).  The context hands the nodes of the posts
 * it ran back in one batch (remote.spare holds one batch at most: a batch
 * that finds the last one still there is freed), and a posting thread
 * whose own cache is empty takes the whole waiting batch with an exchange
 * (no ABA, unlike popping one node).  Any node serves any context.  A
 * thread's cache is freed when it exits (a pthread key's destructor), and
 * holds at most one batch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "remote.h"
#include "wait.h"

void coop__remote_wake(struct coop__remote *r)
{
	unsigned v = atomic_load(&r->sleep), how;
	int saved;

	for (;;) {
		how = v & COOP__STATE;
		if (how == COOP__AWAKE || (how & COOP__WOKEN))
			return;
		if (how & COOP__WAKING)
			break; /* its producer's call may be still to come: make ours */
		if (atomic_compare_exchange_weak(&r->sleep, &v, v | COOP__WAKING))
			break; /* taken: v is the sleep it was */
	}
	saved = errno;
	if ((how & ~COOP__WAKING) == COOP__SLEEP_EPOLL) {
		uint64_t one = 1;

		/* Only EAGAIN (a counter at its maximum: readable anyway). */
		(void)!write(r->efd, &one, sizeof(one));
	} else {
		syscall(SYS_futex, &r->sleep, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
	if (!(how & COOP__WAKING)) {
		unsigned taken = v | COOP__WAKING;

		/* Fails if the context stored another state meanwhile. */
		atomic_compare_exchange_strong(&r->sleep, &taken, (v & ~COOP__STATE) | COOP__WOKEN);
	}
	errno = saved;
}

void coop__remote_push(struct coop__remote *r, _Atomic(struct coop__post *) *stack,
                       struct coop__post *n)
{
	struct coop__post *old = atomic_load_explicit(stack, memory_order_relaxed);

	coop__remote_enter(r);
	coop__tsan_release(stack);
	do
		n->next = old;
	while (!atomic_compare_exchange_weak(stack, &old, n));
	coop__remote_wake(r);
	coop__remote_exit(r);
}

void coop__remote_quiesce(struct coop_context *ctx)
{
	while (atomic_load(&ctx->remote.inflight))
		sched_yield(); /* a system call or two away from done */
}

bool coop__remote_sleep(struct coop_context *ctx, int how)
{
	/* A new generation (remote.h), and its value for the futex. */
	ctx->remote.slept = (ctx->remote.slept & ~COOP__STATE) + 16 + (unsigned)how;
	atomic_store(&ctx->remote.sleep, ctx->remote.slept);
	/* Sequentially consistent loads: see remote.h. */
	if (atomic_load(&ctx->remote.posts) || atomic_load(&ctx->remote.notifies) ||
	    atomic_load(&ctx->remote.done)) {
		atomic_store(&ctx->remote.sleep, COOP__AWAKE);
		return false;
	}
	return true;
}

void coop__remote_awake(struct coop_context *ctx)
{
	atomic_store(&ctx->remote.sleep, COOP__AWAKE);
}

/* Take a whole stack, oldest first. */
static struct coop__post *take(_Atomic(struct coop__post *) *stack)
{
	struct coop__post *n = atomic_exchange(stack, NULL), *fifo = NULL, *next;

	coop__tsan_acquire(stack);
	for (; n; n = next) {
		next = n->next;
		n->next = fifo;
		fifo = n;
	}
	return fifo;
}

void coop__remote_notifies(struct coop_context *ctx)
{
	struct coop_notify *n = atomic_exchange(&ctx->remote.notifies, NULL), *fifo = NULL, *next;
	struct coop__waiter *w;

	coop__tsan_acquire(&ctx->remote.notifies);
	for (; n; n = next) {
		next = n->next;
		n->next = fifo;
		fifo = n;
	}
	for (n = fifo; n; n = next) {
		unsigned long count;

		/* Read the link before a send may push it again. */
		next = n->next;
		atomic_store(&n->queued, 0);
		/* A send after the store finds queued clear and pushes again;
		 * one before it added to the count taken here.  With no waiter
		 * the count stays for the next coop_notify_wait. */
		if ((w = TAILQ_FIRST(&n->waiters)) && (count = atomic_exchange(&n->count, 0))) {
			coop__tsan_acquire(&n->count);
			*(uint64_t *)w->data = count;
			coop__wake(w->task, 0);
		}
	}
}

/* ------------------------------------------------ recycled nodes -- */

#define SPARE_BATCH 1024 /* nodes handed back per batch, at most */

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static bool cache_ok;
static COOP_TLS struct coop__post *cache; /* this thread's spare nodes */
static COOP_TLS bool cache_keyed;         /* its destructor will run */

static void free_list(struct coop__post *p)
{
	struct coop__post *next;

	for (; p; p = next) {
		next = p->next;
		free(p);
	}
}

static void cache_free(void *unused)
{
	(void)unused;
	free_list(cache);
	cache = NULL;
	cache_keyed = false;
}

static void make_key(void)
{
	cache_ok = pthread_key_create(&cache_key, cache_free) == 0;
}

__attribute__((destructor)) static void delete_key(void)
{
	if (cache_ok)
		pthread_key_delete(cache_key);
}

static struct coop__post *node_get(struct coop__remote *r)
{
	struct coop__post *p = cache;

	if (!p && atomic_load_explicit(&r->spare, memory_order_relaxed)) {
		if (!cache_keyed) {
			/* No cache without its destructor: nodes would leak
			 * with the thread. */
			pthread_once(&cache_once, make_key);
			cache_keyed = cache_ok && pthread_setspecific(cache_key, &cache) == 0;
		}
		if (cache_keyed)
			p = atomic_exchange(&r->spare, NULL);
	}
	if (p) {
		cache = p->next;
		return p;
	}
	return malloc(sizeof(*p));
}

void coop__remote_free_spare(struct coop_context *ctx)
{
	free_list(atomic_exchange(&ctx->remote.spare, NULL));
}

unsigned coop__remote_run(struct coop_context *ctx)
{
	struct coop__post *p, *next, *back = NULL, *none = NULL;
	unsigned ran = 0;

	if (!coop__remote_pending(ctx))
		return 0;
	for (p = take(&ctx->remote.posts); p; p = next, ran++) {
		next = p->next;
		p->fn(p->arg);
		if (ran < SPARE_BATCH) {
			p->next = back;
			back = p;
		} else {
			free(p);
		}
	}
	/* Only posters take the batch away (an exchange), so it is put
	 * back where none waits, or freed. */
	if (back && !atomic_compare_exchange_strong(&ctx->remote.spare, &none, back))
		free_list(back);
	if (atomic_load_explicit(&ctx->remote.notifies, memory_order_relaxed)) {
		coop__remote_notifies(ctx);
		ran++;
	}
	/* A completion's node is its job's: the job's owner frees it. */
	for (p = take(&ctx->remote.done); p; p = next, ran++) {
		next = p->next;
		p->fn(p->arg);
	}
	return ran;
}

COOP_EXPORT int coop_context_post(struct coop_context *ctx, void (*fn)(void *), void *arg)
{
	struct coop__post *p;
	int saved = errno;

	if (!ctx || !fn)
		return -EINVAL;
	if (!(p = node_get(&ctx->remote))) {
		errno = saved;
		return -ENOMEM;
	}
	p->fn = fn;
	p->arg = arg;
	coop__remote_push(&ctx->remote, &ctx->remote.posts, p);
	return 0;
}
