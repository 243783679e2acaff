/*
 * test-stress.c: a seeded random workload over the whole public API.
 *
 * Each round creates a context with random options and either abandons it
 * (spawns tasks, some on caller buffers, and destroys it without running
 * them: none may run) or runs a random tree of tasks: each task yields,
 * spawns joined and detached children (nested to depth 4, with random
 * names, stack sizes and caller-supplied stacks), joins some of them and
 * hands the others to the main thread, checks its errno and name across
 * switches and the calls that must fail, and ends by returning or by
 * coop_exit() from a few calls deep.  Every result is checked against
 * what its task computes from its own seed, and every task is counted:
 * started, ended, joined.  After coop_run() the main thread joins what it
 * was handed, sometimes spawns more tasks that never run, and destroys the
 * context (with finished tasks nobody joined, or ones that never ran).
 *
 * coop 1.1 adds, among the steps of a task: sleeps to short random
 * deadlines, ambient deadlines (coop_set_deadline), cancelling itself or a
 * child, shields raised and lowered, coop_join_until with short deadlines,
 * children that park (sleep COOP_FOREVER) until their parent cancels them,
 * and a task group of its own (create, spawn members into it, joinable,
 * detached or parked, wait on it with a deadline or none, cancel it, try
 * to destroy it).  A model of each task (cancelled, shielded, ambient
 * deadline) and of each group (spawned, ended, cancelled) is checked after
 * every step: coop_cancelled() agrees, a cancelled unshielded task's
 * blocking calls fail at entry, no call times out before its effective
 * deadline or sleeps short of its own, a member spawned into a cancelled
 * group starts cancelled, a group wait that returns 0 or -ECANCELED left no
 * member running, and destroy is -EBUSY exactly while one is.  The main
 * thread cancels some roots before they start, spawns them into a group
 * it waits for outside the run, and destroys groups of contexts it
 * abandoned.
 *
 * coop 1.1's file descriptors (contexts in the default mode or with
 * COOP_CONTEXT_FD_CACHE, with random event intervals): a task makes a pipe
 * and spawns children that wait on it for reading, with short random
 * deadlines or none, then (maybe after a sleep) writes a byte, closes the
 * write end, closes the read end with coop_fd_close, forgets it with
 * coop_fd_forget, or cancels the waiters.  Checked against the model: a
 * waiter wakes with COOP_FD_READ only after the write, READ|HANGUP only
 * after the hang-up, -EBADF only after the close or forget, -ECANCELED
 * only when cancelled, and -ETIMEDOUT only at or after its deadline and
 * never when the event came before the deadline (the event wins, R3).
 * And a child writes up to 200 KiB through a pipe with coop_write while
 * its parent reads it with coop_read: every byte arrives, in order.
 *
 * coop 1.1's synchronization objects, each made with ctx NULL or the
 * context.  A task plays a channel scene: 1 to 3 channels (capacity 0 to
 * 4, elements of 0, 8 or 24 bytes) and up to 4 children that send,
 * receive and select (0 to 10 entries, NULL ones, the same channel twice)
 * with deadlines none, passed or short, while the parent sends and
 * receives too, cancels children, closes and destroys channels.  Every
 * message is numbered by its sender and tracked: every element received
 * was sent (or is being sent), into that channel, exactly once, in its
 * sender's order, never by the sender itself on a rendezvous, and never
 * one whose send began after the close or whose send failed (a failed
 * send, or a select's entries but the chosen one, had no effect: their
 * statuses and receive buffers untouched); -EPIPE only once closed, and
 * for good once a receive saw it drained; -ETIMEDOUT never before the
 * effective deadline nor with a closed channel in the select; the first
 * ready entry in array order wins.  At the end each channel holds what
 * was sent and not received, has room for exactly the rest, and gives it
 * all back.  A lock scene: children in critical sections around a counter
 * (read, yield or sleep or lock again (-EDEADLK), write + 1), with random
 * deadlines and cancellations, waiting on a condition variable for tokens
 * others give with signal or broadcast: never two owners, a failed lock
 * took nothing, coop_cond_wait owns the mutex on every return and let go
 * of it only with a deadline not passed, and returns 0 only for a signal
 * (each used once) or broadcast since it began.  A semaphore scene: never
 * more holders than units, a failed acquire took nothing (every unit is
 * there at the end), -EOVERFLOW at UINT_MAX.  What the model cannot see
 * (which blocked task a send or a timer has woken before it runs) it asks
 * coop_context_tasks() about, checked against what each member says it is
 * doing: blocked only in that call, until its effective deadline; and a
 * destroy is -EBUSY exactly while one waits.  A blocked round: outside a
 * task the main thread fills a channel and empties a semaphore (then
 * -EAGAIN, whatever the deadline; mutex calls -EPERM), tasks block on
 * every kind of object for good (coop_run() is -EDEADLK), the main thread
 * wakes some from outside and runs the context again (the model says who
 * ends), destroys it with the others still blocked, and then the objects:
 * every other call on them is -EXDEV (each thread's first round is one).
 * The last lines count the operations.
 *
 * Only the public API: .ci/sanitizers compiles this very file as an
 * application built with -fsanitize=address,undefined or -fsanitize=thread
 * against the plain library, and runs it under valgrind.
 *
 * Environment: COOP_STRESS_SEED (default 20250501), COOP_STRESS_SECONDS
 * (time budget, default 3), COOP_STRESS_ROUNDS (stop after this many
 * rounds per thread; default: the time budget alone), COOP_STRESS_THREADS
 * (threads each running their own contexts, default 1).  The seed is
 * printed first; a failure prints the seed, thread and round to rerun.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <coop/coop.h>

#include "test-driver.h"

#define MAX_DEPTH 4
#define MAX_TASKS 256  /* per round */
#define MAX_KIDS 6     /* joined children a task keeps */
#define MAX_ORPHANS MAX_TASKS
#define MAX_GROUPS 128 /* per round */
#define MAX_FD_WAITERS 4
#define IO_MAX (200 * 1024)
#define MAX_INFO (MAX_TASKS + 8)

/* Operations counted for the last line (coop 1.1, synchronization). */
enum {
	ST_SEND, ST_RECV, ST_SELECT, ST_DELIVERED, ST_CLOSE, ST_CHAN_DESTROY,
	ST_LOCK, ST_COND_WAIT, ST_SIGNAL, ST_ACQUIRE, ST_RELEASE, ST_OUTSIDE,
	ST_CHAN_SCENE, ST_LOCK_SCENE, ST_SEM_SCENE, ST_BLOCKED_ROUND, ST_N
};

struct round;
struct fdscene;
struct chscene;
struct lkscene;
struct smscene;
struct bkscene;

/* The model of a group. */
struct sgroup {
	struct coop_group *g;
	int spawned, ended;   /* members */
	bool cancelled;       /* members spawned now start cancelled */
	bool cascade_pending; /* see maybe_cancelled() */
	bool destroyed;
};

struct node {
	struct round *r;
	uint64_t seed;        /* its workload and its result */
	int depth;
	bool detached;
	bool ran;             /* its function started */
	bool ended;
	char name[40];        /* what coop_task_name() must say (truncated) */
	void *buf;            /* a caller-supplied stack, or NULL */
	/* coop 1.1: the model of the task */
	bool parker;          /* sleeps COOP_FOREVER until cancelled, then ends */
	bool cancelled;       /* a cancellation was requested */
	bool shield;          /* its shield is up */
	int64_t ambient;      /* its ambient deadline */
	struct sgroup *group; /* the group it was spawned into */
	struct sgroup *waiting_group; /* the group it is waiting on, if any */
	struct coop_task *handle; /* while its parent holds it: for coop_cancel */
	/* coop 1.1, fds: a child of an fd scene, waiting on its pipe until
	 * fd_deadline, or (io_len > 0) writing io_len bytes to it */
	struct fdscene *scene;
	int64_t fd_deadline;
	size_t io_len;
	/* coop 1.1, synchronization: a child of a channel, lock or semaphore
	 * scene (its member number idx; its parent is member 0), or a task
	 * of a blocked round (its role) */
	struct chscene *chs;
	struct lkscene *lks;
	struct smscene *sms;
	struct bkscene *bks;
	int idx;
	int role;
	unsigned long long id;    /* its task's id (coop_task_info.id) */
};

/* What a scene's parent did to the pipe its children wait on. */
enum { FD_ACT_WRITE, FD_ACT_HANGUP, FD_ACT_CLOSE, FD_ACT_FORGET, FD_ACT_CANCEL, FD_ACTS };

struct fdscene {
	int p[2];
	int action;
	bool acted;       /* the action was taken... */
	int64_t acted_at; /* ...at or after this time */
};

struct round {
	unsigned thread;
	unsigned long number;
	uint64_t base_seed;
	struct coop_context *ctx;
	struct node nodes[MAX_TASKS];
	int used;                            /* nodes handed out */
	int started, ended, detached_ended;  /* counters */
	int detached_spawned;
	struct coop_task *orphans[MAX_ORPHANS]; /* handles the main thread joins */
	struct node *orphan_node[MAX_ORPHANS];
	int norphans;
	struct sgroup groups[MAX_GROUPS];
	int ngroups;
	unsigned char iobuf[4096]; /* an I/O scene's reads (one task at a time) */
	/* coop 1.1, synchronization: the node of each task id, and what
	 * coop_context_tasks() reports (read by one task at a time) */
	struct node *by_id[MAX_TASKS + 1];
	unsigned long long nspawned;
	struct coop_task_info info[MAX_INFO];
	unsigned long st[ST_N]; /* operations, over every round */
};

/* What an I/O scene writes: byte i is io_data[i]. */
static unsigned char io_data[IO_MAX];

static uint64_t seed_default = 20250501;

#define CHECK(r, cond)                                                                            \
	do {                                                                                      \
		if (!(cond))                                                                      \
			fail((r), __LINE__, #cond);                                               \
	} while (0)

static void fail(const struct round *r, int line, const char *what)
{
	fprintf(stderr,
	        "test-stress: FAILED at line %d: %s (seed %" PRIu64 ", thread %u, round %lu)\n",
	        line, what, r->base_seed, r->thread, r->number);
	abort();
}

/* splitmix64: small and good enough. */
static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned below(uint64_t *s, unsigned n)
{
	return (unsigned)(next(s) % n);
}

/* What a task of seed `seed` must end with. */
static void *expected(uint64_t seed)
{
	uint64_t x = seed ^ 0x5bd1e995u;

	return (void *)(uintptr_t)(next(&x) | 1);
}

static void *worker(void *arg);

/*
 * A task blocked in a group wait, cancelled, cancels its group: when (at
 * coop_cancel, or once it resumes) is the library's choice, so until it
 * returns from that wait the group's members may or may not see the
 * cancellation ("cascade pending"); the model learns which when a member
 * observes it, and knows for sure once the waiter returned.
 */
static void mark_cascade(struct round *r, struct sgroup *h)
{
	if (h->cascade_pending)
		return;
	h->cascade_pending = true;
	for (int i = 0; i < r->used; i++) {
		struct node *m = &r->nodes[i];

		if (m->group == h && !m->ended && m->waiting_group && !m->shield)
			mark_cascade(r, m->waiting_group);
	}
}

static void model_cancel(struct round *r, struct node *n)
{
	if (n->ended)
		return;
	n->cancelled = true;
	if (n->waiting_group && !n->shield)
		mark_cascade(r, n->waiting_group);
}

/* coop_group_cancel(), or a cancelled waiter's group wait, in the model:
 * every member that has not ended is cancelled, later ones start so. */
static void model_group_cancel(struct round *r, struct sgroup *g)
{
	g->cancelled = true;
	for (int i = 0; i < r->used; i++)
		if (r->nodes[i].group == g)
			model_cancel(r, &r->nodes[i]);
}

/* Whether the model says a cancellation is delivered to n now. */
static bool delivers(const struct node *n)
{
	return n->cancelled && !n->shield;
}

/* Whether one may have reached n without the model knowing yet. */
static bool maybe_cancelled(const struct node *n)
{
	return !n->cancelled && n->group && n->group->cascade_pending;
}

/* coop_cancelled() agrees with the model (and teaches it, when unsure). */
static void check_cancelled(struct round *r, struct node *n)
{
	int got = coop_cancelled();

	if (maybe_cancelled(n)) {
		if (got)
			n->cancelled = true;
		CHECK(r, !got || !n->shield);
	} else {
		CHECK(r, got == (int)delivers(n));
	}
}

/* A blocking call returned -ECANCELED: the model must allow it. */
static void check_ecanceled(struct round *r, struct node *n)
{
	CHECK(r, delivers(n) || (maybe_cancelled(n) && !n->shield));
	n->cancelled = true;
}

/* The effective deadline of a call with deadline d (R1). */
static int64_t effective(const struct node *n, int64_t d)
{
	if (n->ambient == COOP_FOREVER)
		return d;
	if (d == COOP_FOREVER)
		return n->ambient;
	return n->ambient < d ? n->ambient : d;
}

static struct sgroup *new_group(struct round *r, struct coop_context *ctx)
{
	struct sgroup *g;

	if (r->ngroups >= MAX_GROUPS)
		return NULL;
	g = &r->groups[r->ngroups++];
	memset(g, 0, sizeof(*g));
	CHECK(r, coop_group_create(ctx, &g->g) == 0);
	return g;
}

static void mark_ended(struct node *n)
{
	n->ended = true;
	n->r->ended++;
	if (n->detached)
		n->r->detached_ended++;
	if (n->group)
		n->group->ended++;
}

/* Options for a new task of `n`: name, stack size or caller buffer, and
 * the group it joins (g, or none). */
static int spawn_node_in(struct round *r, struct node *n, uint64_t *s, struct coop_task **out,
                         struct sgroup *g)
{
	static const size_t sizes[] = {0, 16384, 32768, 65536};
	struct coop_task_opts o = {.size = sizeof(o)};
	int rc;

	switch (below(s, 3)) {
	case 0:
		n->name[0] = '\0';
		break;
	case 1:
		snprintf(n->name, sizeof(n->name), "t%d", (int)(n - r->nodes));
		o.name = n->name;
		break;
	default: /* longer than COOP_TASK_NAME_MAX: truncated */
		snprintf(n->name, sizeof(n->name), "a-rather-long-task-name-number-%d", (int)(n - r->nodes));
		o.name = n->name;
		n->name[COOP_TASK_NAME_MAX] = '\0';
		break;
	}
	o.stack_size = sizes[below(s, 4)];
	n->buf = NULL;
	if (below(s, 4) == 0) {
		o.stack_size = 32768 + 16 * below(s, 64);
		n->buf = malloc(o.stack_size);
		CHECK(r, n->buf != NULL);
		o.stack = n->buf;
	}
	if (g) {
		o.group = g->g;
		n->group = g;
		g->spawned++;
		if (g->cancelled)
			n->cancelled = true; /* starts cancelled */
		CHECK(r, !g->destroyed);
	}
	n->ambient = COOP_FOREVER;
	rc = coop_spawn(r->ctx, out, worker, n, &o);
	CHECK(r, rc == 0);
	n->handle = out ? *out : NULL;
	/* Ids count the context's spawns from 1 (coop_task_info.id). */
	CHECK(r, r->nspawned < MAX_TASKS);
	n->id = ++r->nspawned;
	r->by_id[n->id] = n;
	return rc;
}

static struct node *new_node(struct round *r, uint64_t *s, int depth, bool detached)
{
	struct node *n;

	if (r->used >= MAX_TASKS)
		return NULL;
	n = &r->nodes[r->used++];
	memset(n, 0, sizeof(*n));
	n->r = r;
	n->seed = next(s);
	n->depth = depth;
	n->detached = detached;
	return n;
}

/* Join a child and check its result; frees its caller buffer. */
static void join_child(struct round *r, struct coop_task *t, struct node *n)
{
	void *res = NULL;

	CHECK(r, coop_join(t, &res) == 0);
	CHECK(r, n->ended);
	CHECK(r, res == expected(n->seed));
	free(n->buf);
	n->buf = NULL;
}

#pragma GCC diagnostic ignored "-Winfinite-recursion"
/* End by coop_exit() from `depth` calls down. */
static __attribute__((noinline)) void exit_deep(struct node *n, int depth)
{
	volatile char pad[64]; /* a frame of some size on the way down */

	pad[0] = (char)depth;
	if (pad[0] > 0) {
		exit_deep(n, depth - 1);
		return;
	}
	mark_ended(n);
	coop_exit(expected(n->seed));
}

/* The joinable children a task holds. */
struct kids {
	struct coop_task *t[MAX_KIDS];
	struct node *n[MAX_KIDS];
	int count;
};

static void kid_drop(struct kids *k, int i)
{
	k->count--;
	k->t[i] = k->t[k->count];
	k->n[i] = k->n[k->count];
}

/* A parked child is cancelled before anyone waits for it to end. */
static void unpark(struct round *r, struct node *c)
{
	if (c->parker && !c->cancelled && !c->ended) {
		CHECK(r, coop_cancel(c->handle) == 0);
		model_cancel(r, c);
	}
}

/* Hand child i to the main thread, which joins it after coop_run. */
static void hand_off(struct round *r, struct kids *k, int i)
{
	unpark(r, k->n[i]);
	CHECK(r, r->norphans < MAX_ORPHANS);
	r->orphans[r->norphans] = k->t[i];
	r->orphan_node[r->norphans++] = k->n[i];
	k->n[i]->handle = NULL;
	kid_drop(k, i);
}

/* Join child i with deadline d (coop_join for COOP_FOREVER, half the
 * time): on success check and free it; on failure (cancelled, timed out)
 * it stays, joinable. */
static int join_kid(struct round *r, struct node *n, struct kids *k, int i, int64_t d, uint64_t *s)
{
	struct node *c = k->n[i];
	bool entry = delivers(n);
	void *res = NULL;
	int64_t eff = effective(n, d);
	int rc;

	if (d == COOP_FOREVER)
		unpark(r, c);
	rc = d == COOP_FOREVER && below(s, 2) ? coop_join(k->t[i], &res)
	                                      : coop_join_until(k->t[i], &res, d);
	if (entry)
		CHECK(r, rc == -ECANCELED);
	if (rc == 0) {
		CHECK(r, c->ended);
		CHECK(r, res == expected(c->seed));
		free(c->buf);
		c->buf = NULL;
		c->handle = NULL;
		kid_drop(k, i);
	} else if (rc == -ETIMEDOUT) {
		CHECK(r, eff != COOP_FOREVER && coop_now() >= eff);
	} else {
		CHECK(r, rc == -ECANCELED);
		check_ecanceled(r, n);
	}
	return rc;
}

/* A sleep to d: 0 at d (never before), -ETIMEDOUT at an earlier ambient
 * deadline, -ECANCELED when the model allows it. */
static void sleep_step(struct round *r, struct node *n, int64_t d)
{
	bool entry = delivers(n);
	int rc = coop_sleep_until(d);
	int64_t now = coop_now();

	if (entry)
		CHECK(r, rc == -ECANCELED);
	if (rc == 0) {
		CHECK(r, d != COOP_FOREVER && now >= d);
		CHECK(r, n->ambient == COOP_FOREVER || n->ambient >= d);
	} else if (rc == -ETIMEDOUT) {
		CHECK(r, n->ambient != COOP_FOREVER && (d == COOP_FOREVER || n->ambient < d));
		CHECK(r, now >= n->ambient);
	} else {
		CHECK(r, rc == -ECANCELED);
		check_ecanceled(r, n);
	}
}

/* A wait on the task's own group g with deadline d. */
static int group_wait_step(struct round *r, struct node *n, struct sgroup *g, int64_t d,
                           struct kids *k)
{
	bool entry = delivers(n);
	int64_t eff = effective(n, d);
	int rc;

	if (d == COOP_FOREVER)
		for (int i = 0; i < k->count; i++)
			if (k->n[i]->group == g)
				unpark(r, k->n[i]);
	/* A cancelled waiter cancels the group as it enters (one that may be
	 * cancelled may do so). */
	if (entry)
		model_group_cancel(r, g);
	else if (maybe_cancelled(n) && !n->shield)
		mark_cascade(r, g);
	n->waiting_group = g;
	rc = coop_group_wait(g->g, d);
	n->waiting_group = NULL;
	g->cascade_pending = false;
	if (entry)
		CHECK(r, rc == -ECANCELED || rc == -ETIMEDOUT);
	if (rc == 0) {
		CHECK(r, g->ended == g->spawned);
	} else if (rc == -ETIMEDOUT) {
		CHECK(r, eff != COOP_FOREVER && coop_now() >= eff);
		if (!entry && (delivers(n) || maybe_cancelled(n))) {
			/* Cancelled during the wait, then timed out: whether the
			 * cancellation reached the group first is not known:
			 * settle it. */
			CHECK(r, coop_group_cancel(g->g) == 0);
			model_group_cancel(r, g);
		}
	} else {
		CHECK(r, rc == -ECANCELED);
		check_ecanceled(r, n);
		CHECK(r, g->ended == g->spawned);
		model_group_cancel(r, g);
	}
	return rc;
}

/* A new joinable child, a worker or a parker, in g or not. */
static void spawn_kid(struct round *r, struct node *n, uint64_t *s, struct kids *k,
                      struct sgroup *g, bool parker)
{
	struct node *c;

	if (n->depth >= MAX_DEPTH || k->count >= MAX_KIDS ||
	    !(c = new_node(r, s, n->depth + 1, false)))
		return;
	c->parker = parker;
	spawn_node_in(r, c, s, &k->t[k->count], g);
	k->n[k->count++] = c;
}

static void spawn_detached(struct round *r, struct node *n, uint64_t *s, struct sgroup *g)
{
	struct node *c;
	struct coop_task *t;

	if (n->depth >= MAX_DEPTH || !(c = new_node(r, s, n->depth + 1, true)))
		return;
	r->detached_spawned++;
	if (below(s, 2)) {
		spawn_node_in(r, c, s, NULL, g);
	} else {
		/* Spawned joinable, then detached (before or after it ends). */
		spawn_node_in(r, c, s, &t, g);
		if (below(s, 2))
			CHECK(r, coop_yield() == 0);
		c->handle = NULL;
		CHECK(r, coop_detach(t) == 0);
	}
	/* Its caller buffer, if any, is freed after coop_run. */
}

/* One step on the task's own group (created here when it has none). */
static void group_step(struct round *r, struct node *n, uint64_t *s, struct kids *k,
                       struct sgroup **gp)
{
	struct sgroup *g = *gp;
	int rc;

	if (!g) {
		/* ctx NULL: the context running this task. */
		*gp = new_group(r, below(s, 2) ? NULL : r->ctx);
		return;
	}
	switch (below(s, 6)) {
	case 0:
		spawn_detached(r, n, s, g);
		break;
	case 1:
		spawn_kid(r, n, s, k, g, below(s, 3) == 0);
		break;
	case 2:
		group_wait_step(r, n, g,
		                below(s, 3) ? coop_deadline_in((int64_t)below(s, 300) * COOP_USEC)
		                            : COOP_NOWAIT,
		                k);
		break;
	case 3:
		group_wait_step(r, n, g, COOP_FOREVER, k);
		break;
	case 4:
		CHECK(r, coop_group_cancel(g->g) == 0);
		model_group_cancel(r, g);
		break;
	default:
		rc = coop_group_destroy(g->g);
		CHECK(r, rc == (g->ended < g->spawned ? -EBUSY : 0));
		if (rc == 0) {
			g->destroyed = true;
			*gp = NULL;
		}
		break;
	}
}

/* A child of an fd scene: one wait on the pipe, checked against what its
 * parent did (and when). */
static void fd_waiter(struct round *r, struct node *n)
{
	struct fdscene *sc = n->scene;
	int64_t d = n->fd_deadline;
	bool entry = delivers(n);
	int rc = coop_fd_wait(sc->p[0], COOP_FD_READ, d);
	int64_t now = coop_now();

	if (entry)
		CHECK(r, rc == -ECANCELED);
	if (rc == (int)COOP_FD_READ) {
		CHECK(r, sc->acted && sc->action == FD_ACT_WRITE);
	} else if (rc == (int)(COOP_FD_READ | COOP_FD_HANGUP)) {
		CHECK(r, sc->acted && sc->action == FD_ACT_HANGUP);
	} else if (rc == -EBADF) {
		CHECK(r, sc->acted && (sc->action == FD_ACT_CLOSE || sc->action == FD_ACT_FORGET));
	} else if (rc == -ETIMEDOUT) {
		CHECK(r, d != COOP_FOREVER && now >= d);
		/* An event before the deadline wins over it (R3, R6): no round
		 * can have expired the wait before the action (its time would
		 * be >= d > acted_at), and every round after the action sees
		 * the event first. */
		CHECK(r, !sc->acted || sc->acted_at >= d);
	} else {
		CHECK(r, rc == -ECANCELED);
		CHECK(r, sc->acted && sc->action == FD_ACT_CANCEL);
		check_ecanceled(r, n);
	}
}

/* A child of an I/O scene: writes its bytes, then closes its end. */
static void io_writer(struct round *r, struct node *n)
{
	struct fdscene *sc = n->scene;

	CHECK(r, coop_write(sc->p[1], io_data, n->io_len, COOP_FOREVER) == (ssize_t)n->io_len);
	CHECK(r, coop_fd_close(sc->p[1]) == 0);
}

/* Join the scene's children whatever the caller's state: shielded (a
 * pending cancellation would fail the joins at entry), with no ambient
 * deadline; both restored after. */
static void scene_join(struct round *r, struct node *n, struct coop_task **t, struct node **c,
                       int k)
{
	int64_t old;

	CHECK(r, coop_shield(1) == (int)n->shield);
	CHECK(r, coop_set_deadline(COOP_FOREVER, &old) == 0);
	CHECK(r, old == n->ambient);
	for (int i = 0; i < k; i++)
		join_child(r, t[i], c[i]);
	CHECK(r, coop_set_deadline(old, NULL) == 0);
	CHECK(r, coop_shield(n->shield) == 1);
}

/* Children wait on a pipe; the parent acts on it; the model checks each
 * child's result (fd_waiter). */
static void fd_scene(struct round *r, struct node *n, uint64_t *s)
{
	struct fdscene sc = {.action = (int)below(s, FD_ACTS)};
	struct coop_task *t[MAX_FD_WAITERS];
	struct node *c[MAX_FD_WAITERS];
	int k = 0, want = 1 + (int)below(s, MAX_FD_WAITERS);

	if (n->depth >= MAX_DEPTH)
		return;
	CHECK(r, pipe2(sc.p, O_NONBLOCK | O_CLOEXEC) == 0);
	for (int i = 0; i < want; i++) {
		struct node *w = new_node(r, s, n->depth + 1, false);

		if (!w)
			break;
		w->scene = &sc;
		w->fd_deadline = below(s, 3) ? coop_deadline_in((int64_t)below(s, 1500) * COOP_USEC)
		                             : COOP_FOREVER;
		c[k] = w;
		spawn_node_in(r, w, s, &t[k], NULL);
		k++;
	}
	/* They all run (to their wait, or through it) before this resumes. */
	CHECK(r, coop_yield() == 0);
	for (int i = 0; i < k; i++)
		CHECK(r, c[i]->ran);
	if (below(s, 2))
		sleep_step(r, n, coop_deadline_in((int64_t)below(s, 1000) * COOP_USEC));
	sc.acted_at = coop_now();
	sc.acted = true;
	switch (sc.action) {
	case FD_ACT_WRITE:
		CHECK(r, write(sc.p[1], "x", 1) == 1);
		break;
	case FD_ACT_HANGUP:
		CHECK(r, coop_fd_close(sc.p[1]) == 0);
		sc.p[1] = -1;
		break;
	case FD_ACT_CLOSE:
		CHECK(r, coop_fd_close(sc.p[0]) == 0);
		sc.p[0] = -1;
		break;
	case FD_ACT_FORGET:
		CHECK(r, coop_fd_forget(sc.p[0]) == 0);
		CHECK(r, fcntl(sc.p[0], F_GETFD) >= 0); /* still open */
		break;
	default:
		for (int i = 0; i < k; i++) {
			CHECK(r, coop_cancel(t[i]) == 0);
			model_cancel(r, c[i]);
		}
		break;
	}
	scene_join(r, n, t, c, k);
	for (int i = 0; i < 2; i++)
		if (sc.p[i] >= 0)
			CHECK(r, coop_fd_close(sc.p[i]) == 0);
}

/* A child writes through a pipe, the parent reads it all. */
static void io_scene(struct round *r, struct node *n, uint64_t *s)
{
	struct fdscene sc = {.action = -1};
	struct coop_task *t;
	struct node *w;
	size_t got = 0;
	ssize_t m;
	int64_t old;

	if (n->depth >= MAX_DEPTH || !(w = new_node(r, s, n->depth + 1, false)))
		return;
	CHECK(r, pipe2(sc.p, O_NONBLOCK | O_CLOEXEC) == 0);
	w->scene = &sc;
	w->io_len = 1 + below(s, IO_MAX);
	spawn_node_in(r, w, s, &t, NULL);
	CHECK(r, coop_shield(1) == (int)n->shield);
	CHECK(r, coop_set_deadline(COOP_FOREVER, &old) == 0);
	while ((m = coop_read(sc.p[0], r->iobuf, 1 + below(s, sizeof(r->iobuf)), COOP_FOREVER)) > 0) {
		CHECK(r, got + (size_t)m <= w->io_len);
		CHECK(r, memcmp(r->iobuf, io_data + got, (size_t)m) == 0);
		got += (size_t)m;
	}
	CHECK(r, m == 0);
	CHECK(r, got == w->io_len);
	CHECK(r, coop_fd_close(sc.p[0]) == 0);
	CHECK(r, coop_set_deadline(old, NULL) == 0);
	CHECK(r, coop_shield(n->shield) == 1);
	scene_join(r, n, &t, &w, 1);
}

/* ------------------------------------------- coop 1.1: synchronization --
 *
 * Three scenes a task may play (its children are its scene's members 1..,
 * the task itself member 0), and a round of its own (blocked_round).  The
 * model of a scene is what its members did and saw; what it cannot see
 * (which blocked task a send or a timer has already woken, before that
 * task runs) it asks coop_context_tasks() about, and checks the answer
 * against what each member says it is doing.
 */

#define SC_KIDS 4                /* children of a scene */
#define SC_MEMBERS (SC_KIDS + 1) /* and its parent, member 0 */
#define CH_MAX 3                 /* channels of a channel scene */
#define CH_SEQ 48                /* messages a member may offer */
#define ELEM_MAX 24              /* the largest element */
#define SEL_MAX 10               /* select entries: past 8, the heap records */
#define STATUS_UNSET 0x5eed      /* a select entry's status before the call */
#define FILL 0xa5                /* a receive buffer's bytes before the call */
#define LK_SIGNALS 64

static const size_t elem_sizes[] = {0, 8, ELEM_MAX};

/* A deadline for a call on an object: passed, short, or (when `forever`)
 * none. */
static int64_t sync_deadline(uint64_t *s, bool forever)
{
	switch (below(s, forever ? 3 : 2)) {
	case 0:
		return below(s, 2) ? COOP_NOWAIT : coop_now(); /* both passed */
	case 1:
		return coop_deadline_in((int64_t)below(s, 300) * COOP_USEC);
	default:
		return COOP_FOREVER;
	}
}

/* Whether effective deadline `eff` has passed: a call with it never waits. */
static bool passed(int64_t eff)
{
	return eff != COOP_FOREVER && eff <= coop_now();
}

/* Now and then a member gives itself a short ambient deadline, which
 * bounds every wait it makes from then on (R1). */
static void maybe_ambient(struct round *r, struct node *n, uint64_t *s)
{
	int64_t d;

	if (below(s, 4))
		return;
	d = coop_deadline_in((int64_t)below(s, 3000) * COOP_USEC);
	CHECK(r, coop_set_deadline(d, NULL) == 0);
	n->ambient = d;
}

/* The end of a scene, where what its parent calls must complete: its
 * shield up, no ambient deadline, in the model too; unquiet() puts both
 * back. */
struct calm {
	bool shield;
	int64_t ambient;
};

static struct calm quiet(struct round *r, struct node *n)
{
	struct calm c = {n->shield, n->ambient};
	int64_t old;

	CHECK(r, coop_shield(1) == (int)n->shield);
	CHECK(r, coop_set_deadline(COOP_FOREVER, &old) == 0);
	CHECK(r, old == n->ambient);
	n->shield = true;
	n->ambient = COOP_FOREVER;
	return c;
}

static void unquiet(struct round *r, struct node *n, struct calm c)
{
	CHECK(r, coop_set_deadline(c.ambient, NULL) == 0);
	CHECK(r, coop_shield(c.shield) == 1);
	n->shield = c.shield;
	n->ambient = c.ambient;
}

/* What coop_context_tasks() says of the round's context, into r->info:
 * how many entries. */
static int tasks_info(struct round *r)
{
	int k;

	for (int i = 0; i < MAX_INFO; i++)
		r->info[i].size = sizeof(r->info[i]);
	k = coop_context_tasks(r->ctx, r->info, MAX_INFO);
	CHECK(r, k >= 0 && k <= MAX_INFO);
	return k;
}

static struct node *node_of(struct round *r, const struct coop_task_info *in)
{
	CHECK(r, in->id >= 1 && in->id <= r->nspawned);
	return r->by_id[in->id];
}

/* Up to `want` nodes for a scene's children, numbered from 1: how many
 * the round had left.  The caller spawns them in no group, so that only
 * their parent cancels them. */
static int new_members(struct round *r, struct node *n, uint64_t *s, struct node **kid, int want)
{
	int k;

	for (k = 0; k < want && (kid[k] = new_node(r, s, n->depth + 1, false)); k++)
		kid[k]->idx = k + 1;
	return k;
}

/* Cancel member i (ended or not), in the model too. */
static void cancel_member(struct round *r, struct coop_task *t, struct node *c)
{
	CHECK(r, coop_cancel(t) == 0);
	model_cancel(r, c);
}

/* ----------------------------------------------------- channel scene -- */

enum { MSG_NONE, MSG_SENDING, MSG_SENT, MSG_FAILED };

/* One message a member offered: sent with coop_chan_send, or by a select
 * that offered it on each of its send entries. */
struct cmsg {
	unsigned char state;
	unsigned char open_at_begin; /* bit c: channel c was open when its send began */
	signed char chan;            /* MSG_SENT: the channel that took it */
	signed char got_on;          /* where it was received; -1: not (yet) */
};

struct cchan {
	struct coop_chan *ch;
	size_t esz, cap;
	bool closed, destroyed;
	bool drained;   /* a receive returned -EPIPE: empty for good */
	int sent;       /* sends into it that returned 0 */
	int recvd;      /* receives from it that returned 0 */
	int anon;       /* of which without an identity (0-byte elements, or dropped) */
};

struct chscene {
	uint32_t tag;
	int nch, nkids;
	struct cchan c[CH_MAX];
	struct node *kid[SC_KIDS];
	struct coop_task *t[SC_KIDS];
	int nseq[SC_MEMBERS];
	struct cmsg msg[SC_MEMBERS][CH_SEQ];
	/* receiver, sender, channel: the last message number received */
	int last[SC_MEMBERS][SC_MEMBERS][CH_MAX];
	/* the call each member is in: its channels, select or not, deadline */
	bool busy[SC_MEMBERS];
	unsigned chans[SC_MEMBERS];
	bool in_select[SC_MEMBERS];
	int64_t call_d[SC_MEMBERS];
};

/* Message (sender, seq) as the first esz bytes of buf: a 24-byte element
 * carries it three times, differently. */
static void msg_encode(uint32_t tag, int sender, int seq, unsigned char *buf)
{
	uint64_t v = (uint64_t)tag << 32 | (uint64_t)sender << 16 | (uint64_t)seq;
	uint64_t w[3] = {v, ~v, v * 0x9e3779b97f4a7c15ull};

	memcpy(buf, w, sizeof(w));
}

/* Bytes [from, ELEM_MAX) of a receive buffer are as they were filled. */
static bool untouched(const unsigned char *buf, size_t from)
{
	for (size_t i = from; i < ELEM_MAX; i++)
		if (buf[i] != FILL)
			return false;
	return true;
}

/* A receive by member `who` returned 0 on channel c, with buf (NULL: the
 * element was dropped): the element is a message that was sent (or is
 * being sent, its sender not yet run), into c, once, after the messages
 * its sender sent into c before it. */
static void got(struct round *r, struct chscene *sc, int who, int c, const unsigned char *buf)
{
	struct cchan *cc = &sc->c[c];
	struct cmsg *m;
	uint64_t w[3], v;
	int sender, seq;

	cc->recvd++;
	r->st[ST_DELIVERED]++;
	if (!buf || !cc->esz) {
		CHECK(r, !buf || untouched(buf, 0));
		cc->anon++;
		return;
	}
	CHECK(r, untouched(buf, cc->esz)); /* esz bytes copied, no more */
	memcpy(w, buf, cc->esz);
	v = w[0];
	CHECK(r, (uint32_t)(v >> 32) == sc->tag);
	sender = (int)(v >> 16 & 0xffff);
	seq = (int)(v & 0xffff);
	CHECK(r, sender < SC_MEMBERS && seq < sc->nseq[sender]);
	if (cc->esz == ELEM_MAX)
		CHECK(r, w[1] == ~v && w[2] == v * 0x9e3779b97f4a7c15ull);
	m = &sc->msg[sender][seq];
	CHECK(r, m->state == MSG_SENDING || m->state == MSG_SENT); /* never one that failed */
	CHECK(r, m->got_on < 0);                                   /* exactly once */
	CHECK(r, m->open_at_begin >> c & 1u); /* nothing sent after the close */
	CHECK(r, m->state != MSG_SENT || m->chan == c);
	CHECK(r, cc->cap > 0 || sender != who); /* a rendezvous never matches a task with itself */
	CHECK(r, seq > sc->last[who][sender][c]); /* FIFO per sender */
	sc->last[who][sender][c] = seq;
	m->got_on = (signed char)c;
}

/* An entry of a channel call: channel c (-1: a NULL entry), op. */
struct xop {
	int c;
	int op;
};

/*
 * One call of member `who` (task n) on the scene's channels: a plain send
 * or receive (nx == 1), or a select over x; checked against the model.
 * Returns what the call returned (a select's index, or a plain call's
 * result) and sets *status to the chosen entry's.
 */
static int chan_call(struct round *r, struct node *n, struct chscene *sc, int who,
                     const struct xop *x, int nx, bool plain, bool drop, int64_t d, int *status)
{
	struct coop_chan_op ops[SEL_MAX];
	unsigned char in[SEL_MAX][ELEM_MAX], out[ELEM_MAX];
	bool entry = delivers(n);
	int64_t eff = effective(n, d), now;
	unsigned open = 0, drained = 0, mask = 0;
	int first_ready = nx; /* the first entry on a closed channel: ready */
	struct cmsg *m = NULL;
	int rc, idx, c, st = STATUS_UNSET;

	for (c = 0; c < sc->nch; c++) {
		open |= (unsigned)!sc->c[c].closed << c;
		drained |= (unsigned)sc->c[c].drained << c;
	}
	for (int i = 0; i < nx; i++) {
		const struct cchan *cc = x[i].c >= 0 ? &sc->c[x[i].c] : NULL;

		ops[i] = (struct coop_chan_op){.size = sizeof(ops[i]), .chan = cc ? cc->ch : NULL,
		                               .op = x[i].op, .status = STATUS_UNSET};
		memset(in[i], FILL, sizeof(in[i]));
		if (!cc)
			continue;
		CHECK(r, !cc->destroyed);
		mask |= 1u << x[i].c;
		if (cc->closed && first_ready == nx)
			first_ready = i;
		if (x[i].op == COOP_CHAN_RECV) {
			ops[i].elem = drop ? NULL : in[i];
			continue;
		}
		if (!m) {
			int seq = sc->nseq[who]++;

			CHECK(r, seq < CH_SEQ);
			m = &sc->msg[who][seq];
			*m = (struct cmsg){.state = MSG_SENDING, .open_at_begin = (unsigned char)open,
			                   .chan = -1, .got_on = -1};
			msg_encode(sc->tag, who, seq, out);
		}
		/* A 0-byte element may be NULL. */
		ops[i].elem = cc->esz || (sc->nseq[who] & 1) ? out : NULL;
	}
	sc->busy[who] = true;
	sc->chans[who] = mask;
	sc->in_select[who] = !plain;
	sc->call_d[who] = d;
	if (plain) {
		if (x[0].op == COOP_CHAN_SEND) {
			r->st[ST_SEND]++;
			rc = coop_chan_send(ops[0].chan, ops[0].elem, d);
		} else {
			r->st[ST_RECV]++;
			rc = coop_chan_recv(ops[0].chan, ops[0].elem, d);
		}
		idx = rc == 0 || rc == -EPIPE ? 0 : rc;
		if (idx == 0)
			st = rc;
	} else {
		r->st[ST_SELECT]++;
		idx = rc = coop_chan_select(ops, (size_t)nx, d);
		if (rc >= 0) {
			CHECK(r, rc < nx);
			st = ops[rc].status;
		}
	}
	now = coop_now();
	sc->busy[who] = false;
	*status = st;

	if (entry)
		CHECK(r, rc == -ECANCELED);
	/* Only the chosen entry has an effect: every other keeps its status
	 * (A7.6) and its receive buffer. */
	for (int i = 0; i < nx; i++) {
		if (i == idx)
			continue;
		CHECK(r, ops[i].status == STATUS_UNSET);
		CHECK(r, untouched(in[i], 0));
	}
	if (idx < 0) {
		/* No effect: its message went nowhere. */
		if (m) {
			CHECK(r, m->got_on < 0);
			m->state = MSG_FAILED;
		}
		if (rc == -ETIMEDOUT) {
			CHECK(r, eff != COOP_FOREVER && now >= eff);
			CHECK(r, first_ready == nx); /* a closed channel is ready: no timeout */
		} else {
			CHECK(r, rc == -ECANCELED);
			check_ecanceled(r, n);
		}
		return rc;
	}
	/* The first ready entry in array order, never a NULL one. */
	CHECK(r, idx <= first_ready);
	c = x[idx].c;
	CHECK(r, c >= 0);
	CHECK(r, st == 0 || st == -EPIPE);
	CHECK(r, st == 0 || sc->c[c].closed); /* -EPIPE only after the close */
	if (x[idx].op == COOP_CHAN_SEND) {
		CHECK(r, m != NULL);
		if (st == 0) {
			CHECK(r, open >> c & 1u);
			CHECK(r, m->got_on < 0 || m->got_on == c);
			m->state = MSG_SENT;
			m->chan = (signed char)c;
			sc->c[c].sent++;
		} else {
			CHECK(r, m->got_on < 0);
			m->state = MSG_FAILED;
		}
		return rc;
	}
	if (m) {
		/* A select that received: its send had no effect. */
		CHECK(r, m->got_on < 0);
		m->state = MSG_FAILED;
	}
	if (st == 0) {
		/* A receive that began after one saw the channel closed and
		 * empty gets -EPIPE too. */
		CHECK(r, !(drained >> c & 1u));
		got(r, sc, who, c, drop ? NULL : in[idx]);
	} else {
		CHECK(r, untouched(in[idx], 0));
		sc->c[c].drained = true;
	}
	return rc;
}

/* A channel of the scene that has not been destroyed, or -1. */
static int live_chan(const struct chscene *sc, uint64_t *s)
{
	int c = (int)below(s, (unsigned)sc->nch);

	for (int i = 0; i < sc->nch; i++, c = (c + 1) % sc->nch)
		if (!sc->c[c].destroyed)
			return c;
	return -1;
}

/* One random channel call of member `who`: a send, a receive, or a select
 * of up to 4 entries (sometimes 9 or 10, the heap records), some of them
 * NULL, sends and receives on any channels (the same one twice too). */
static void chan_random_call(struct round *r, struct node *n, struct chscene *sc, int who,
                             uint64_t *s, int64_t d)
{
	struct xop x[SEL_MAX];
	unsigned what = below(s, 5);
	bool any = false;
	int nx, st;

	if (what < 4) {
		if ((x[0].c = live_chan(sc, s)) < 0)
			return;
		x[0].op = what < 2 ? COOP_CHAN_SEND : COOP_CHAN_RECV;
		chan_call(r, n, sc, who, x, 1, true, what == 3 && below(s, 4) == 0, d, &st);
		return;
	}
	nx = below(s, 6) == 0 ? 9 + (int)below(s, 2) : (int)below(s, 5);
	for (int i = 0; i < nx; i++) {
		x[i].c = below(s, 4) == 0 ? -1 : live_chan(sc, s);
		x[i].op = below(s, 2) ? COOP_CHAN_SEND : COOP_CHAN_RECV;
		any |= x[i].c >= 0;
	}
	/* Only a cancellation would end a wait on nothing. */
	if (!any && d == COOP_FOREVER)
		d = coop_deadline_in((int64_t)below(s, 200) * COOP_USEC);
	chan_call(r, n, sc, who, x, nx, false, below(s, 8) == 0, d, &st);
}

/* The scene's members as coop_context_tasks() sees them: each blocked
 * member is in a call in the model, blocked in it (a plain call on its
 * channel, a select) until its effective deadline; the others are not
 * blocked.  waiters[c]: how many wait on channel c. */
static void chan_inspect(struct round *r, struct chscene *sc, int *waiters)
{
	int k = tasks_info(r);

	for (int c = 0; c < CH_MAX; c++)
		waiters[c] = 0;
	for (int i = 0; i < k; i++) {
		const struct coop_task_info *in = &r->info[i];
		struct node *m = node_of(r, in);
		int j = m->idx;

		if (m->chs != sc)
			continue;
		if (in->state != COOP_TASK_BLOCKED) {
			CHECK(r, in->state == COOP_TASK_READY || in->state == COOP_TASK_DONE);
			continue;
		}
		CHECK(r, sc->busy[j]);
		CHECK(r, in->wait_deadline == effective(m, sc->call_d[j]));
		if (sc->in_select[j]) {
			CHECK(r, in->wait == COOP_WAIT_SELECT && in->wait_object == NULL);
		} else {
			CHECK(r, in->wait == COOP_WAIT_CHAN);
			CHECK(r, in->wait_object != NULL);
		}
		for (int c = 0; c < sc->nch; c++) {
			if (!(sc->chans[j] >> c & 1u))
				continue;
			CHECK(r, sc->in_select[j] || in->wait_object == (const void *)sc->c[c].ch);
			waiters[c]++;
		}
	}
}

static void chan_kid(struct round *r, struct node *n)
{
	struct chscene *sc = n->chs;
	uint64_t s = n->seed;
	int steps = 1 + (int)below(&s, 8);

	maybe_ambient(r, n, &s);
	for (int i = 0; i < steps; i++) {
		if (below(&s, 8) == 0)
			CHECK(r, coop_yield() == 0);
		else
			chan_random_call(r, n, sc, n->idx, &s, sync_deadline(&s, true));
	}
}

/* Channel c at the end of a scene, its members ended, its parent quiet:
 * it holds sent - received elements, has room for exactly the rest of
 * its capacity, closes once, gives back all it holds, then -EPIPE; every
 * message sent into it was received once; it is destroyed. */
static void chan_settle(struct round *r, struct node *n, struct chscene *sc, int c, uint64_t *s)
{
	struct cchan *cc = &sc->c[c];
	struct xop x = {c, COOP_CHAN_SEND};
	int held = cc->sent - cc->recvd, st, rc, anon = 0;

	CHECK(r, held >= 0 && (size_t)held <= cc->cap);
	CHECK(r, !cc->drained || held == 0);
	if (!cc->closed) {
		for (size_t i = (size_t)held; i < cc->cap; i++)
			CHECK(r, chan_call(r, n, sc, 0, &x, 1, below(s, 2), false, COOP_NOWAIT, &st) == 0);
		CHECK(r, chan_call(r, n, sc, 0, &x, 1, below(s, 2), false, COOP_NOWAIT, &st) == -ETIMEDOUT);
		CHECK(r, coop_chan_close(cc->ch) == 0);
		cc->closed = true;
		r->st[ST_CLOSE]++;
	}
	CHECK(r, coop_chan_close(cc->ch) == -EPIPE);
	x.op = COOP_CHAN_RECV;
	for (int i = cc->sent - cc->recvd; i > 0; i--) {
		CHECK(r, chan_call(r, n, sc, 0, &x, 1, below(s, 2), below(s, 8) == 0, COOP_NOWAIT, &st) == 0);
		CHECK(r, st == 0);
	}
	/* A plain call returns the status, a select of one entry its index. */
	rc = chan_call(r, n, sc, 0, &x, 1, below(s, 2), false, COOP_NOWAIT, &st);
	CHECK(r, (rc == 0 || rc == -EPIPE) && st == -EPIPE);
	CHECK(r, cc->sent == cc->recvd);
	for (int j = 0; j < SC_MEMBERS; j++)
		for (int q = 0; q < sc->nseq[j]; q++)
			if (sc->msg[j][q].state == MSG_SENT && sc->msg[j][q].chan == c &&
			    sc->msg[j][q].got_on < 0)
				anon++;
	CHECK(r, anon == cc->anon);
	CHECK(r, coop_chan_destroy(cc->ch) == 0);
	cc->destroyed = true;
	r->st[ST_CHAN_DESTROY]++;
}

/*
 * Channels (1 to 3, of capacity 0 to 4, elements of 0, 8 or 24 bytes,
 * made with ctx NULL or the context) and up to 4 children sending,
 * receiving and selecting on them with random deadlines (chan_kid); the
 * parent sends and receives too (never waiting long), sleeps, cancels
 * children, closes channels, destroys them (-EBUSY exactly while a task
 * waits); then ends its children's waits (cancelling them all, or closing
 * every channel), joins them and settles each channel (chan_settle).
 */
static void chan_scene(struct round *r, struct node *n, uint64_t *s)
{
	struct chscene *sc;
	int steps, waiters[CH_MAX], saved = errno;

	if (n->depth >= MAX_DEPTH)
		return;
	sc = calloc(1, sizeof(*sc));
	CHECK(r, sc != NULL);
	errno = saved;
	r->st[ST_CHAN_SCENE]++;
	sc->tag = (uint32_t)next(s);
	sc->nch = 1 + (int)below(s, CH_MAX);
	memset(sc->last, 0xff, sizeof(sc->last)); /* -1 */
	for (int c = 0; c < sc->nch; c++) {
		struct cchan *cc = &sc->c[c];

		cc->cap = below(s, 5);
		cc->esz = elem_sizes[below(s, 3)];
		CHECK(r, coop_chan_create(below(s, 2) ? NULL : r->ctx, &cc->ch, cc->esz, cc->cap) == 0);
	}
	sc->nkids = new_members(r, n, s, sc->kid, 1 + (int)below(s, SC_KIDS));
	for (int i = 0; i < sc->nkids; i++) {
		sc->kid[i]->chs = sc;
		spawn_node_in(r, sc->kid[i], s, &sc->t[i], NULL);
	}
	CHECK(r, coop_yield() == 0);
	steps = (int)below(s, 8);
	for (int i = 0; i < steps; i++) {
		int c = live_chan(sc, s);

		switch (below(s, 8)) {
		case 0:
			CHECK(r, coop_yield() == 0);
			break;
		case 1:
			sleep_step(r, n, coop_deadline_in((int64_t)below(s, 500) * COOP_USEC));
			break;
		case 2:
		case 3:
			/* Its own calls never wait for long: nothing might come. */
			chan_random_call(r, n, sc, 0, s, sync_deadline(s, false));
			break;
		case 4:
			if (sc->nkids) {
				int j = (int)below(s, (unsigned)sc->nkids);

				cancel_member(r, sc->t[j], sc->kid[j]);
			}
			break;
		case 5:
			/* Closed, it has no waiter left: destroyable at once. */
			if (c < 0 || sc->c[c].closed)
				break;
			CHECK(r, coop_chan_close(sc->c[c].ch) == 0);
			sc->c[c].closed = true;
			r->st[ST_CLOSE]++;
			if (below(s, 2)) {
				CHECK(r, coop_chan_destroy(sc->c[c].ch) == 0);
				sc->c[c].destroyed = true;
				r->st[ST_CHAN_DESTROY]++;
			}
			break;
		case 6:
			if (c < 0)
				break;
			chan_inspect(r, sc, waiters);
			if (waiters[c]) {
				CHECK(r, coop_chan_destroy(sc->c[c].ch) == -EBUSY);
			} else if (below(s, 4) == 0) {
				CHECK(r, coop_chan_destroy(sc->c[c].ch) == 0);
				sc->c[c].destroyed = true;
				r->st[ST_CHAN_DESTROY]++;
			}
			break;
		default:
			chan_inspect(r, sc, waiters);
			break;
		}
	}
	/* The children's waits end: all of them cancelled (the channels may
	 * stay open: settled open), or every channel closed. */
	if (below(s, 3) == 0) {
		for (int j = 0; j < sc->nkids; j++)
			cancel_member(r, sc->t[j], sc->kid[j]);
	} else {
		for (int c = 0; c < sc->nch; c++) {
			if (sc->c[c].destroyed || sc->c[c].closed)
				continue;
			CHECK(r, coop_chan_close(sc->c[c].ch) == 0);
			sc->c[c].closed = true;
			r->st[ST_CLOSE]++;
		}
	}
	{
		struct calm calm = quiet(r, n);

		for (int j = 0; j < sc->nkids; j++) {
			join_child(r, sc->t[j], sc->kid[j]);
			sc->kid[j]->chs = NULL;
		}
		for (int c = 0; c < sc->nch; c++)
			if (!sc->c[c].destroyed)
				chan_settle(r, n, sc, c, s);
		unquiet(r, n, calm);
	}
	/* Every message ended sent or failed; the sent ones were received,
	 * but those a destroyed channel still held. */
	for (int j = 0; j < SC_MEMBERS; j++)
		for (int q = 0; q < sc->nseq[j]; q++)
			CHECK(r, sc->msg[j][q].state == MSG_SENT || sc->msg[j][q].state == MSG_FAILED);
	for (int c = 0; c < sc->nch; c++)
		CHECK(r, sc->c[c].recvd <= sc->c[c].sent);
	saved = errno;
	free(sc);
	errno = saved;
}

/* -------------------------------------------------------- lock scene -- */

enum { LK_NONE, LK_LOCK, LK_COND, LK_SLEEP };

struct lkscene {
	struct coop_mutex *m;
	struct coop_cond *cv;
	struct node *owner;       /* the model's owner: from its lock's return to its unlock */
	int inside;               /* members in coop_mutex_lock or coop_cond_wait */
	unsigned long counter;    /* the protected counter... */
	unsigned long sections;   /* ...and the critical sections that added 1 to it */
	int tokens;               /* what the condition waiters wait for */
	bool done;                /* the parent's last broadcast: stop waiting */
	unsigned epoch;           /* signals and broadcasts so far */
	unsigned last_broadcast;  /* the epoch of the last broadcast */
	unsigned sig[LK_SIGNALS]; /* each signal's epoch */
	bool sig_used[LK_SIGNALS];/* a return of 0 was its wake-up */
	int nsig, nkids;
	struct node *kid[SC_KIDS];
	struct coop_task *t[SC_KIDS];
	int call[SC_MEMBERS];     /* LK_*: what each member is in */
	int64_t call_d[SC_MEMBERS];
};

/*
 * coop_mutex_lock by member `who` (task n, not the owner) with deadline
 * d: 0 makes it the owner, and there was none; an error took nothing (an
 * unlock is then -EPERM).  A mutex free in the model with nobody in a
 * call that could be handed it is taken at once; one owned by another
 * with a passed deadline is never taken.
 */
static int lock_step(struct round *r, struct node *n, struct lkscene *sc, int who, int64_t d)
{
	bool entry = delivers(n);
	bool free_now = !sc->owner && !sc->inside;
	int64_t eff = effective(n, d);
	bool gone = passed(eff), taken = sc->owner != NULL;
	int rc;

	CHECK(r, sc->owner != n);
	sc->inside++;
	sc->call[who] = LK_LOCK;
	sc->call_d[who] = d;
	r->st[ST_LOCK]++;
	rc = coop_mutex_lock(sc->m, d);
	sc->inside--;
	sc->call[who] = LK_NONE;
	if (entry)
		CHECK(r, rc == -ECANCELED);
	if (taken && gone)
		CHECK(r, rc != 0);
	if (rc == 0) {
		CHECK(r, !sc->owner); /* never two owners */
		sc->owner = n;
		return 0;
	}
	CHECK(r, coop_mutex_unlock(sc->m) == -EPERM);
	if (rc == -ETIMEDOUT) {
		CHECK(r, eff != COOP_FOREVER && coop_now() >= eff);
		CHECK(r, !free_now);
	} else {
		CHECK(r, rc == -ECANCELED);
		check_ecanceled(r, n);
	}
	return rc;
}

static void unlock_step(struct round *r, struct node *n, struct lkscene *sc)
{
	CHECK(r, sc->owner == n);
	sc->owner = NULL;
	CHECK(r, coop_mutex_unlock(sc->m) == 0);
}

/* The owner locks again: -EDEADLK, or -ECANCELED first (A7.1). */
static void relock_step(struct round *r, struct node *n, struct lkscene *sc, int64_t d)
{
	bool entry = delivers(n);
	int rc = coop_mutex_lock(sc->m, d);

	r->st[ST_LOCK]++;
	CHECK(r, sc->owner == n);
	if (entry) {
		CHECK(r, rc == -ECANCELED);
	} else if (rc == -ECANCELED) {
		check_ecanceled(r, n);
	} else {
		CHECK(r, rc == -EDEADLK);
	}
}

static void signal_step(struct round *r, struct lkscene *sc, bool all)
{
	sc->epoch++;
	r->st[ST_SIGNAL]++;
	if (all || sc->nsig == LK_SIGNALS) {
		sc->last_broadcast = sc->epoch;
		CHECK(r, coop_cond_broadcast(sc->cv) == 0);
	} else {
		sc->sig[sc->nsig] = sc->epoch;
		sc->sig_used[sc->nsig++] = false;
		CHECK(r, coop_cond_signal(sc->cv) == 0);
	}
}

/*
 * coop_cond_wait by the owner: it owns the mutex again on every return; a
 * passed deadline (or a cancellation at entry) never lets go of it (A7.5),
 * any other wait does; 0 only when a signal or broadcast since it began
 * chose it (no spurious wake-up): a broadcast, or a signal no other return
 * of 0 used (each return takes the earliest such signal after its start).
 */
static int cond_wait_step(struct round *r, struct node *n, struct lkscene *sc, int who, int64_t d)
{
	bool entry = delivers(n);
	int64_t eff = effective(n, d);
	bool gone = passed(eff);
	unsigned start = sc->epoch;
	int rc;

	CHECK(r, sc->owner == n);
	if (!entry && !gone)
		sc->owner = NULL;
	sc->inside++;
	sc->call[who] = LK_COND;
	sc->call_d[who] = d;
	r->st[ST_COND_WAIT]++;
	rc = coop_cond_wait(sc->cv, sc->m, d);
	sc->inside--;
	sc->call[who] = LK_NONE;
	CHECK(r, sc->owner == (entry || gone ? n : NULL));
	sc->owner = n;
	if (entry)
		CHECK(r, rc == -ECANCELED);
	if (rc == 0) {
		CHECK(r, !gone);
		if (sc->last_broadcast <= start) {
			int i;

			for (i = 0; i < sc->nsig; i++)
				if (!sc->sig_used[i] && sc->sig[i] > start)
					break;
			CHECK(r, i < sc->nsig);
			sc->sig_used[i] = true;
		}
	} else if (rc == -ETIMEDOUT) {
		CHECK(r, eff != COOP_FOREVER && coop_now() >= eff);
	} else {
		CHECK(r, rc == -ECANCELED);
		check_ecanceled(r, n);
	}
	relock_step(r, n, sc, COOP_NOWAIT); /* it owns it */
	return rc;
}

/*
 * A critical section of member `who`: lock (its parent never waits long),
 * read the counter, yield or sleep or lock again while holding it, write
 * the counter + 1 (nobody else came in), then wait on the condition
 * variable for a token, or give one and signal or broadcast; unlock.
 */
static void section(struct round *r, struct node *n, struct lkscene *sc, int who, uint64_t *s)
{
	unsigned long c;

	if (lock_step(r, n, sc, who, sync_deadline(s, who != 0)) != 0)
		return;
	c = sc->counter;
	switch (below(s, 4)) {
	case 0:
		CHECK(r, coop_yield() == 0);
		break;
	case 1:
		sc->call[who] = LK_SLEEP;
		sleep_step(r, n, coop_deadline_in((int64_t)below(s, 200) * COOP_USEC));
		sc->call[who] = LK_NONE;
		break;
	case 2:
		relock_step(r, n, sc, sync_deadline(s, true));
		break;
	default:
		break;
	}
	CHECK(r, sc->owner == n && sc->counter == c);
	sc->counter = c + 1;
	sc->sections++;
	switch (below(s, 3)) {
	case 0:
		for (int i = 0; i < 4 && !sc->tokens && !sc->done; i++)
			if (cond_wait_step(r, n, sc, who, sync_deadline(s, who != 0)) != 0)
				break;
		if (sc->tokens)
			sc->tokens--;
		break;
	case 1:
		sc->tokens++;
		signal_step(r, sc, below(s, 3) == 0);
		break;
	default:
		break;
	}
	unlock_step(r, n, sc);
}

/* The scene's members as coop_context_tasks() sees them: blocked only in
 * the call the model says (a signalled condition waiter in the mutex's
 * queue), until the call's effective deadline.  *mw, *cw: how many wait
 * on the mutex and on the condition variable. */
static void lock_inspect(struct round *r, struct lkscene *sc, int *mw, int *cw)
{
	int k = tasks_info(r);

	*mw = *cw = 0;
	for (int i = 0; i < k; i++) {
		const struct coop_task_info *in = &r->info[i];
		struct node *m = node_of(r, in);
		int j = m->idx, call;

		if (m->lks != sc)
			continue;
		call = sc->call[j];
		if (in->state != COOP_TASK_BLOCKED) {
			CHECK(r, in->state == COOP_TASK_READY || in->state == COOP_TASK_DONE);
			continue;
		}
		if (in->wait == COOP_WAIT_MUTEX) {
			CHECK(r, in->wait_object == (const void *)sc->m);
			CHECK(r, call == LK_LOCK || call == LK_COND);
			if (call == LK_LOCK)
				CHECK(r, in->wait_deadline == effective(m, sc->call_d[j]));
			(*mw)++;
		} else if (in->wait == COOP_WAIT_COND) {
			CHECK(r, in->wait_object == (const void *)sc->cv && call == LK_COND);
			CHECK(r, in->wait_deadline == effective(m, sc->call_d[j]));
			(*cw)++;
		} else {
			CHECK(r, in->wait == COOP_WAIT_SLEEP && call == LK_SLEEP);
		}
	}
}

/* Whether a member is in coop_cond_wait. */
static bool in_cond(const struct lkscene *sc)
{
	for (int j = 0; j < SC_MEMBERS; j++)
		if (sc->call[j] == LK_COND)
			return true;
	return false;
}

static void lock_kid(struct round *r, struct node *n)
{
	struct lkscene *sc = n->lks;
	uint64_t s = n->seed;
	int steps = 1 + (int)below(&s, 6);

	maybe_ambient(r, n, &s);
	for (int i = 0; i < steps; i++) {
		switch (below(&s, 6)) {
		case 0:
			CHECK(r, coop_yield() == 0);
			break;
		case 4:
			CHECK(r, coop_mutex_unlock(sc->m) == -EPERM); /* not the owner */
			break;
		case 5:
			signal_step(r, sc, below(&s, 2)); /* without the mutex */
			break;
		default:
			section(r, n, sc, n->idx, &s);
			break;
		}
	}
	CHECK(r, sc->owner != n);
}

/*
 * A mutex-protected counter and a condition variable (ctx NULL or the
 * context), 2 to 4 children in critical sections (lock_kid, section); the
 * parent has sections of its own, signals, cancels children, checks that
 * destroy is -EBUSY while the mutex is owned or waited on; then takes the
 * mutex, broadcasts "done", joins them: the counter counts every section.
 */
static void lock_scene(struct round *r, struct node *n, uint64_t *s)
{
	struct lkscene *sc;
	struct calm calm;
	int steps, mw, cw, saved = errno;

	if (n->depth >= MAX_DEPTH)
		return;
	sc = calloc(1, sizeof(*sc));
	CHECK(r, sc != NULL);
	errno = saved;
	r->st[ST_LOCK_SCENE]++;
	CHECK(r, coop_mutex_create(below(s, 2) ? NULL : r->ctx, &sc->m) == 0);
	CHECK(r, coop_cond_create(below(s, 2) ? NULL : r->ctx, &sc->cv) == 0);
	sc->nkids = new_members(r, n, s, sc->kid, 2 + (int)below(s, SC_KIDS - 1));
	for (int i = 0; i < sc->nkids; i++) {
		sc->kid[i]->lks = sc;
		spawn_node_in(r, sc->kid[i], s, &sc->t[i], NULL);
	}
	CHECK(r, coop_yield() == 0);
	steps = (int)below(s, 8);
	for (int i = 0; i < steps; i++) {
		switch (below(s, 8)) {
		case 0:
			CHECK(r, coop_yield() == 0);
			break;
		case 1:
			sleep_step(r, n, coop_deadline_in((int64_t)below(s, 500) * COOP_USEC));
			break;
		case 2:
		case 3:
			section(r, n, sc, 0, s);
			break;
		case 4:
			signal_step(r, sc, below(s, 2));
			break;
		case 5:
			if (sc->nkids) {
				int j = (int)below(s, (unsigned)sc->nkids);

				cancel_member(r, sc->t[j], sc->kid[j]);
			}
			break;
		case 6:
			/* The mutex is in use while owned, waited for, or
			 * released by a condition wait that will take it
			 * again; the condition variable while waited on. */
			lock_inspect(r, sc, &mw, &cw);
			if (sc->owner || mw || in_cond(sc))
				CHECK(r, coop_mutex_destroy(sc->m) == -EBUSY);
			if (cw)
				CHECK(r, coop_cond_destroy(sc->cv) == -EBUSY);
			break;
		default:
			CHECK(r, coop_mutex_unlock(sc->m) == -EPERM);
			break;
		}
	}
	calm = quiet(r, n);
	CHECK(r, lock_step(r, n, sc, 0, COOP_FOREVER) == 0);
	sc->done = true;
	signal_step(r, sc, true);
	unlock_step(r, n, sc);
	for (int j = 0; j < sc->nkids; j++) {
		join_child(r, sc->t[j], sc->kid[j]);
		sc->kid[j]->lks = NULL;
	}
	/* Nobody holds it, nobody waits: free, destroyable. */
	CHECK(r, !sc->owner && !sc->inside);
	CHECK(r, sc->counter == sc->sections);
	CHECK(r, lock_step(r, n, sc, 0, COOP_NOWAIT) == 0);
	unlock_step(r, n, sc);
	CHECK(r, coop_cond_signal(sc->cv) == 0); /* no waiter: no effect */
	CHECK(r, coop_mutex_destroy(sc->m) == 0);
	CHECK(r, coop_cond_destroy(sc->cv) == 0);
	unquiet(r, n, calm);
	saved = errno;
	free(sc);
	errno = saved;
}

/* --------------------------------------------------- semaphore scene -- */

enum { SM_NONE, SM_ACQ, SM_SLEEP };

struct smscene {
	struct coop_sem *sem;
	int total;    /* its units: the initial value and every release beyond */
	int holders;  /* members holding a unit */
	int inside;   /* members in coop_sem_acquire */
	int nkids;
	struct node *kid[SC_KIDS];
	struct coop_task *t[SC_KIDS];
	int call[SC_MEMBERS];
	int64_t call_d[SC_MEMBERS];
};

/*
 * coop_sem_acquire by member `who` with deadline d: 0 makes it a holder,
 * never more of them than units; an error took nothing (checked at the
 * end: every unit is there).  With units left in the model and nobody in
 * a call that could be handed one, it takes one at once; with none left
 * and a passed deadline, it never does.  Then it holds the unit a while
 * (a yield, a sleep) and gives it back.
 */
static void acquire_step(struct round *r, struct node *n, struct smscene *sc, int who, int64_t d,
                         uint64_t *s)
{
	bool entry = delivers(n);
	bool free_now = sc->holders < sc->total && !sc->inside;
	bool none = sc->holders == sc->total;
	int64_t eff = effective(n, d);
	bool gone = passed(eff);
	int rc;

	sc->inside++;
	sc->call[who] = SM_ACQ;
	sc->call_d[who] = d;
	r->st[ST_ACQUIRE]++;
	rc = coop_sem_acquire(sc->sem, d);
	sc->inside--;
	sc->call[who] = SM_NONE;
	if (entry)
		CHECK(r, rc == -ECANCELED);
	if (none && gone)
		CHECK(r, rc != 0);
	if (rc == -ETIMEDOUT) {
		CHECK(r, eff != COOP_FOREVER && coop_now() >= eff);
		CHECK(r, !free_now);
		return;
	}
	if (rc == -ECANCELED) {
		check_ecanceled(r, n);
		return;
	}
	CHECK(r, rc == 0);
	CHECK(r, ++sc->holders <= sc->total); /* it bounds concurrency */
	if (below(s, 2)) {
		CHECK(r, coop_yield() == 0);
	} else {
		sc->call[who] = SM_SLEEP;
		sleep_step(r, n, coop_deadline_in((int64_t)below(s, 200) * COOP_USEC));
		sc->call[who] = SM_NONE;
	}
	CHECK(r, sc->holders <= sc->total);
	sc->holders--;
	CHECK(r, coop_sem_release(sc->sem) == 0);
	r->st[ST_RELEASE]++;
}

/* Blocked members wait only in their acquire (until its effective
 * deadline) or their sleep; how many wait on the semaphore. */
static int sem_inspect(struct round *r, struct smscene *sc)
{
	int k = tasks_info(r), w = 0;

	for (int i = 0; i < k; i++) {
		const struct coop_task_info *in = &r->info[i];
		struct node *m = node_of(r, in);
		int j = m->idx;

		if (m->sms != sc)
			continue;
		if (in->state != COOP_TASK_BLOCKED) {
			CHECK(r, in->state == COOP_TASK_READY || in->state == COOP_TASK_DONE);
			continue;
		}
		if (in->wait == COOP_WAIT_SEM) {
			CHECK(r, in->wait_object == (const void *)sc->sem && sc->call[j] == SM_ACQ);
			CHECK(r, in->wait_deadline == effective(m, sc->call_d[j]));
			w++;
		} else {
			CHECK(r, in->wait == COOP_WAIT_SLEEP && sc->call[j] == SM_SLEEP);
		}
	}
	return w;
}

static void sem_kid(struct round *r, struct node *n)
{
	struct smscene *sc = n->sms;
	uint64_t s = n->seed;
	int steps = 1 + (int)below(&s, 6);

	maybe_ambient(r, n, &s);
	for (int i = 0; i < steps; i++) {
		if (below(&s, 5) == 0)
			CHECK(r, coop_yield() == 0);
		else
			acquire_step(r, n, sc, n->idx, sync_deadline(&s, true), &s);
	}
}

/*
 * A semaphore of 1 to 3 units (ctx NULL or the context) bounding 2 to 4
 * children (sem_kid); the parent acquires too, releases extra units,
 * cancels children, checks destroy is -EBUSY while a task waits; then
 * joins them: every unit is back (taken exactly `total` times, then
 * -ETIMEDOUT).  And -EOVERFLOW at UINT_MAX, now and then.
 */
static void sem_scene(struct round *r, struct node *n, uint64_t *s)
{
	struct smscene *sc;
	struct coop_sem *big;
	struct calm calm;
	int steps, saved = errno;

	if (n->depth >= MAX_DEPTH)
		return;
	sc = calloc(1, sizeof(*sc));
	CHECK(r, sc != NULL);
	errno = saved;
	r->st[ST_SEM_SCENE]++;
	sc->total = 1 + (int)below(s, 3);
	CHECK(r, coop_sem_create(below(s, 2) ? NULL : r->ctx, &sc->sem, (unsigned)sc->total) == 0);
	sc->nkids = new_members(r, n, s, sc->kid, 2 + (int)below(s, SC_KIDS - 1));
	for (int i = 0; i < sc->nkids; i++) {
		sc->kid[i]->sms = sc;
		spawn_node_in(r, sc->kid[i], s, &sc->t[i], NULL);
	}
	CHECK(r, coop_yield() == 0);
	steps = (int)below(s, 8);
	for (int i = 0; i < steps; i++) {
		switch (below(s, 7)) {
		case 0:
			CHECK(r, coop_yield() == 0);
			break;
		case 1:
			sleep_step(r, n, coop_deadline_in((int64_t)below(s, 500) * COOP_USEC));
			break;
		case 2:
			acquire_step(r, n, sc, 0, sync_deadline(s, false), s);
			break;
		case 3:
			/* One more unit: handed to the first waiter, if any. */
			sc->total++;
			CHECK(r, coop_sem_release(sc->sem) == 0);
			r->st[ST_RELEASE]++;
			break;
		case 4:
			if (sc->nkids) {
				int j = (int)below(s, (unsigned)sc->nkids);

				cancel_member(r, sc->t[j], sc->kid[j]);
			}
			break;
		case 5:
			if (sem_inspect(r, sc))
				CHECK(r, coop_sem_destroy(sc->sem) == -EBUSY);
			break;
		default:
			CHECK(r, coop_sem_create(NULL, &big, UINT_MAX - 1) == 0);
			CHECK(r, coop_sem_release(big) == 0);
			CHECK(r, coop_sem_release(big) == -EOVERFLOW);
			if (delivers(n))
				CHECK(r, coop_sem_acquire(big, COOP_NOWAIT) == -ECANCELED);
			CHECK(r, coop_sem_destroy(big) == 0);
			break;
		}
	}
	calm = quiet(r, n);
	for (int j = 0; j < sc->nkids; j++) {
		join_child(r, sc->t[j], sc->kid[j]);
		sc->kid[j]->sms = NULL;
	}
	CHECK(r, sc->holders == 0 && sc->inside == 0);
	CHECK(r, sem_inspect(r, sc) == 0);
	for (int i = 0; i < sc->total; i++)
		CHECK(r, coop_sem_acquire(sc->sem, COOP_NOWAIT) == 0);
	CHECK(r, coop_sem_acquire(sc->sem, COOP_NOWAIT) == -ETIMEDOUT);
	for (int i = 0; i < sc->total; i++)
		CHECK(r, coop_sem_release(sc->sem) == 0);
	CHECK(r, coop_sem_destroy(sc->sem) == 0);
	unquiet(r, n, calm);
	saved = errno;
	free(sc);
	errno = saved;
}

/* ------------------------------------------------------ blocked round -- */

enum { BK_CONDW = 1, BK_HOLDER, BK_LOCKER, BK_SENDER, BK_ACQ, BK_SELECT };

#define BK_MAX 10

/* Objects whose tasks the main thread leaves blocked, wakes some of from
 * outside, then destroys with their context. */
struct bkscene {
	uint32_t tag;
	struct coop_chan *ch;  /* full (the main thread filled it), or capacity 0 */
	struct coop_chan *ch2; /* capacity 0: only the main thread sends on it */
	struct coop_mutex *m;
	struct coop_cond *cv;
	struct coop_sem *sem;  /* emptied by the main thread */
	size_t esz, cap;
	bool signal;           /* the holder signals the condition waiter */
	int wide;              /* the selector's entries (past 8: heap records) */
	unsigned char two[ELEM_MAX]; /* what the main thread sends on ch2 */
	int sel_rc;            /* what the selector's select returned */
};

/* A task of a blocked round: it blocks for good, unless the main thread
 * wakes it (or the chain of unlocks its waking starts). */
static void blocked_task(struct round *r, struct node *n)
{
	struct bkscene *b = n->bks;
	unsigned char e[ELEM_MAX], out[ELEM_MAX];
	struct coop_chan_op ops[SEL_MAX];

	msg_encode(b->tag, 1, 100 + n->idx, out);
	memset(e, FILL, sizeof(e));
	switch (n->role) {
	case BK_CONDW:
		CHECK(r, coop_mutex_lock(b->m, COOP_FOREVER) == 0);
		CHECK(r, coop_cond_wait(b->cv, b->m, COOP_FOREVER) == 0);
		CHECK(r, coop_mutex_unlock(b->m) == 0);
		break;
	case BK_HOLDER:
		CHECK(r, coop_mutex_lock(b->m, COOP_FOREVER) == 0);
		if (b->signal)
			CHECK(r, coop_cond_signal(b->cv) == 0);
		CHECK(r, coop_chan_recv(b->ch2, e, COOP_FOREVER) == 0);
		CHECK(r, memcmp(e, b->two, 8) == 0 && untouched(e, 8));
		CHECK(r, coop_mutex_unlock(b->m) == 0);
		break;
	case BK_LOCKER:
		CHECK(r, coop_mutex_lock(b->m, COOP_FOREVER) == 0);
		CHECK(r, coop_mutex_unlock(b->m) == 0);
		break;
	case BK_SENDER:
		CHECK(r, coop_chan_send(b->ch, b->esz ? out : NULL, COOP_FOREVER) == 0);
		break;
	case BK_ACQ:
		CHECK(r, coop_sem_acquire(b->sem, COOP_FOREVER) == 0);
		break;
	default:
		for (int i = 0; i < b->wide; i++)
			ops[i] = (struct coop_chan_op){.size = sizeof(ops[i]), .op = COOP_CHAN_RECV,
			                               .status = STATUS_UNSET};
		ops[1].chan = b->ch2;
		ops[1].elem = e;
		ops[2].chan = b->ch;
		ops[2].op = COOP_CHAN_SEND;
		ops[2].elem = out;
		b->sel_rc = coop_chan_select(ops, (size_t)b->wide, COOP_FOREVER);
		CHECK(r, b->sel_rc == 1 || b->sel_rc == 2);
		CHECK(r, ops[b->sel_rc].status == 0 && ops[3 - b->sel_rc].status == STATUS_UNSET);
		if (b->sel_rc == 1)
			CHECK(r, memcmp(e, b->two, 8) == 0 && untouched(e, 8));
		else
			CHECK(r, untouched(e, 0));
		break;
	}
}

/* Receive outside a task: an element of id `want` (-1: -EAGAIN). */
static void outside_recv(struct round *r, struct bkscene *b, uint64_t *s, int want)
{
	unsigned char e[ELEM_MAX], x[ELEM_MAX];
	struct coop_chan_op ops[2] = {
		{.size = sizeof(ops[0]), .op = COOP_CHAN_RECV, .status = STATUS_UNSET},
		{.size = sizeof(ops[0]), .chan = b->ch, .elem = e, .op = COOP_CHAN_RECV,
		 .status = STATUS_UNSET},
	};
	int rc;

	memset(e, FILL, sizeof(e));
	r->st[ST_OUTSIDE]++;
	if (below(s, 2)) {
		rc = coop_chan_recv(b->ch, e, sync_deadline(s, true));
	} else {
		rc = coop_chan_select(ops, 2, sync_deadline(s, true));
		CHECK(r, ops[0].status == STATUS_UNSET);
		if (rc == 1) {
			CHECK(r, ops[1].status == 0);
			rc = 0;
		}
	}
	if (want < 0) {
		CHECK(r, rc == -EAGAIN && untouched(e, 0));
		return;
	}
	CHECK(r, rc == 0);
	msg_encode(b->tag, 1, want, x);
	CHECK(r, memcmp(e, x, b->esz) == 0 && untouched(e, b->esz));
}

/*
 * A round whose tasks block on objects for good.  Outside a task the main
 * thread first fills the channel and empties the semaphore (what can
 * complete does; the rest is -EAGAIN whatever the deadline, R4, A7.2;
 * mutex calls are -EPERM).  Tasks then block: a condition waiter, a
 * holder of the mutex waiting on a second channel (signalling the waiter
 * first, or not), lockers behind it, senders on the full channel, an
 * acquirer, a select over both channels.  coop_run() is -EDEADLK; each
 * task waits where coop_context_tasks() says; destroy is -EBUSY for each
 * object in use.  The main thread then wakes some from outside (a
 * receive, a send on the second channel, a signal, a release), runs the
 * context again (the woken ones, and those the holder's unlock hands the
 * mutex to, end; the others block again), destroys it with the rest still
 * blocked, and then the objects: any other call on them is -EXDEV, their
 * destroy 0.
 */
static void blocked_round(struct round *r, uint64_t *s)
{
	struct bkscene b = {.tag = (uint32_t)next(s), .wide = below(s, 3) ? 3 : 9 + (int)below(s, 2)};
	struct node *t[BK_MAX];
	unsigned char e[ELEM_MAX];
	struct coop_chan_op op = {.size = sizeof(op), .elem = e, .op = COOP_CHAN_RECV};
	int nt = 0, nsend = 0, nlock = 0, head = 0, k, rc;
	unsigned units = below(s, 3);
	bool condw, holder, acq, sel, ends[BK_MAX] = {false}, all;
	int64_t d;

	r->st[ST_BLOCKED_ROUND]++;
	b.cap = below(s, 5);
	b.esz = elem_sizes[below(s, 3)];
	/* No context runs on this thread. */
	CHECK(r, coop_chan_create(NULL, &b.ch, b.esz, b.cap) == -EPERM);
	CHECK(r, coop_mutex_create(NULL, &b.m) == -EPERM);
	CHECK(r, coop_chan_create(r->ctx, &b.ch, b.esz, b.cap) == 0);
	CHECK(r, coop_chan_create(r->ctx, &b.ch2, 8, 0) == 0);
	CHECK(r, coop_mutex_create(r->ctx, &b.m) == 0);
	CHECK(r, coop_cond_create(r->ctx, &b.cv) == 0);
	CHECK(r, coop_sem_create(r->ctx, &b.sem, units) == 0);
	msg_encode(b.tag, 2, 0, b.two);

	/* Outside a task: fill, empty, -EAGAIN, -EPERM. */
	for (size_t i = 0; i < b.cap; i++) {
		msg_encode(b.tag, 1, (int)i, e);
		CHECK(r, coop_chan_send(b.ch, b.esz ? e : NULL, sync_deadline(s, true)) == 0);
	}
	CHECK(r, coop_chan_send(b.ch, e, sync_deadline(s, true)) == -EAGAIN);
	if (b.cap && below(s, 2)) {
		/* The head comes out and goes back in at the tail. */
		outside_recv(r, &b, s, 0);
		msg_encode(b.tag, 1, 0, e);
		CHECK(r, coop_chan_send(b.ch, b.esz ? e : NULL, sync_deadline(s, true)) == 0);
		r->st[ST_OUTSIDE]++;
		head = b.cap > 1;
	}
	CHECK(r, coop_chan_recv(b.ch2, e, sync_deadline(s, true)) == -EAGAIN);
	op.chan = b.ch2;
	CHECK(r, coop_chan_select(&op, 1, sync_deadline(s, true)) == -EAGAIN);
	CHECK(r, coop_chan_select(NULL, 0, sync_deadline(s, true)) == -EAGAIN);
	for (unsigned i = 0; i < units; i++)
		CHECK(r, coop_sem_acquire(b.sem, sync_deadline(s, true)) == 0);
	CHECK(r, coop_sem_acquire(b.sem, sync_deadline(s, true)) == -EAGAIN);
	CHECK(r, coop_mutex_lock(b.m, sync_deadline(s, true)) == -EPERM);
	CHECK(r, coop_mutex_unlock(b.m) == -EPERM);
	CHECK(r, coop_cond_wait(b.cv, b.m, sync_deadline(s, true)) == -EPERM);
	CHECK(r, coop_cond_signal(b.cv) == 0);
	CHECK(r, coop_cond_broadcast(b.cv) == 0);
	r->st[ST_OUTSIDE] += b.cap + units + 10;

	/* The tasks, in the order they block. */
	condw = below(s, 2);
	holder = below(s, 2);
	b.signal = condw && holder && below(s, 2);
	if (holder)
		nlock = (int)below(s, 3);
	nsend = (int)below(s, 3);
	acq = below(s, 2);
	sel = below(s, 2);
	{
		int roles[BK_MAX], nr = 0;

		if (condw)
			roles[nr++] = BK_CONDW;
		if (holder)
			roles[nr++] = BK_HOLDER;
		for (int i = 0; i < nlock; i++)
			roles[nr++] = BK_LOCKER;
		for (int i = 0; i < nsend; i++)
			roles[nr++] = BK_SENDER;
		if (acq)
			roles[nr++] = BK_ACQ;
		if (sel)
			roles[nr++] = BK_SELECT;
		for (int i = 0; i < nr; i++) {
			t[nt] = new_node(r, s, 0, below(s, 2)); /* a fresh round: nodes left */
			CHECK(r, t[nt] != NULL);
			t[nt]->bks = &b;
			t[nt]->role = roles[i];
			t[nt]->idx = nt;
			if (t[nt]->detached)
				r->detached_spawned++;
			spawn_node_in(r, t[nt], s, t[nt]->detached ? NULL : &t[nt]->handle, NULL);
			nt++;
		}
	}
	CHECK(r, coop_run(r->ctx) == (nt ? -EDEADLK : 0));
	CHECK(r, r->started == nt && r->ended == 0);

	/* Each waits where it should, with no deadline. */
	k = tasks_info(r);
	CHECK(r, k == nt);
	for (int i = 0; i < k; i++) {
		const struct coop_task_info *in = &r->info[i];
		struct node *n = node_of(r, in);
		int wait = 0;
		const void *obj = NULL;

		CHECK(r, n == t[i] && in->state == COOP_TASK_BLOCKED);
		CHECK(r, in->wait_deadline == COOP_FOREVER);
		switch (n->role) {
		case BK_CONDW:
			wait = b.signal ? COOP_WAIT_MUTEX : COOP_WAIT_COND; /* wait morphing */
			obj = b.signal ? (const void *)b.m : (const void *)b.cv;
			break;
		case BK_HOLDER:
			wait = COOP_WAIT_CHAN;
			obj = b.ch2;
			break;
		case BK_LOCKER:
			wait = COOP_WAIT_MUTEX;
			obj = b.m;
			break;
		case BK_SENDER:
			wait = COOP_WAIT_CHAN;
			obj = b.ch;
			break;
		case BK_ACQ:
			wait = COOP_WAIT_SEM;
			obj = b.sem;
			break;
		default:
			wait = COOP_WAIT_SELECT;
			break;
		}
		CHECK(r, in->wait == wait && in->wait_object == obj);
	}
	/* -EBUSY while a task waits (the mutex: or holds it). */
	if (nsend || sel)
		CHECK(r, coop_chan_destroy(b.ch) == -EBUSY);
	if (holder || sel)
		CHECK(r, coop_chan_destroy(b.ch2) == -EBUSY);
	if (holder || condw)
		CHECK(r, coop_mutex_destroy(b.m) == -EBUSY); /* owned, or a condition wait's */
	if (condw && !b.signal)
		CHECK(r, coop_cond_destroy(b.cv) == -EBUSY);
	if (acq)
		CHECK(r, coop_sem_destroy(b.sem) == -EBUSY);

	/* Wake some from outside; the model says who ends. */
	if (below(s, 2)) {
		/* The buffer's head, or (capacity 0) the first blocked sender's
		 * element; that sender (a select's send, when no plain one
		 * waits) is done: its element follows the buffer's. */
		int first = nsend ? condw + holder + nlock : sel ? nt - 1 : -1;

		outside_recv(r, &b, s, b.cap ? head : first >= 0 ? 100 + first : -1);
		if (first >= 0)
			ends[first] = true;
	}
	if (below(s, 2)) {
		r->st[ST_OUTSIDE]++;
		CHECK(r, coop_cond_signal(b.cv) == 0);
		if (condw && !b.signal && !holder)
			ends[0] = true; /* the mutex is free: it takes it and runs */
		if (condw && holder)
			b.signal = true; /* moved to the mutex's queue */
	}
	if (below(s, 2)) {
		r->st[ST_OUTSIDE]++;
		rc = coop_chan_send(b.ch2, b.two, sync_deadline(s, true));
		if (holder) {
			/* The holder, then every task its unlock hands on to. */
			CHECK(r, rc == 0);
			for (int i = 0; i < nt; i++)
				if (t[i]->role == BK_HOLDER || t[i]->role == BK_LOCKER ||
				    (t[i]->role == BK_CONDW && b.signal))
					ends[i] = true;
		} else if (sel && !ends[nt - 1]) {
			CHECK(r, rc == 0);
			ends[nt - 1] = true;
		} else {
			CHECK(r, rc == -EAGAIN);
		}
	}
	if (below(s, 2)) {
		r->st[ST_OUTSIDE]++;
		CHECK(r, coop_sem_release(b.sem) == 0);
		if (acq)
			ends[condw + holder + nlock + nsend] = true;
	}
	all = true;
	for (int i = 0; i < nt; i++)
		all &= ends[i];
	CHECK(r, coop_run(r->ctx) == (all ? 0 : -EDEADLK));
	for (int i = 0; i < nt; i++)
		CHECK(r, t[i]->ended == ends[i]);
	/* The ones left are still where they were (the condition waiter
	 * perhaps moved to the mutex's queue). */
	k = tasks_info(r);
	for (int i = 0; i < k; i++) {
		struct node *n = node_of(r, &r->info[i]);

		CHECK(r, n->ended ? r->info[i].state == COOP_TASK_DONE
		                  : r->info[i].state == COOP_TASK_BLOCKED);
	}
	for (int i = 0; i < nt; i++)
		if (t[i]->ended && !t[i]->detached) {
			join_child(r, t[i]->handle, t[i]);
			t[i]->handle = NULL;
		}

	/* Destroyed with tasks blocked on the objects: orphans. */
	coop_context_destroy(r->ctx);
	r->ctx = NULL;
	d = sync_deadline(s, true);
	CHECK(r, coop_chan_send(b.ch, e, d) == -EXDEV);
	CHECK(r, coop_chan_recv(b.ch, e, d) == -EXDEV);
	CHECK(r, coop_chan_close(b.ch2) == -EXDEV);
	op.chan = b.ch;
	CHECK(r, coop_chan_select(&op, 1, d) == -EXDEV);
	CHECK(r, coop_mutex_lock(b.m, d) == -EXDEV);
	CHECK(r, coop_mutex_unlock(b.m) == -EXDEV);
	CHECK(r, coop_cond_wait(b.cv, b.m, d) == -EXDEV);
	CHECK(r, coop_cond_signal(b.cv) == -EXDEV);
	CHECK(r, coop_cond_broadcast(b.cv) == -EXDEV);
	CHECK(r, coop_sem_acquire(b.sem, d) == -EXDEV);
	CHECK(r, coop_sem_release(b.sem) == -EXDEV);
	CHECK(r, coop_chan_destroy(b.ch) == 0);
	CHECK(r, coop_chan_destroy(b.ch2) == 0);
	CHECK(r, coop_mutex_destroy(b.m) == 0);
	CHECK(r, coop_cond_destroy(b.cv) == 0);
	CHECK(r, coop_sem_destroy(b.sem) == 0);
	r->st[ST_CHAN_DESTROY] += 2;
}

static void *worker(void *arg)
{
	struct node *n = arg;
	struct round *r = n->r;
	uint64_t s = n->seed;
	struct coop_task *self = coop_self();
	struct kids k = {.count = 0};
	struct sgroup *grp = NULL;
	int rc, steps = (int)below(&s, 16), my_errno = (int)(n->seed % 1000) + 1;
	int64_t old;

	CHECK(r, !n->ran);
	n->ran = true;
	r->started++;
	CHECK(r, self != NULL);
	CHECK(r, strcmp(coop_task_name(self), n->name) == 0);
	/* Cancelled before it started (by its parent, the main thread or its
	 * group), it runs all the same. */
	check_cancelled(r, n);
	if (n->scene) {
		if (n->io_len)
			io_writer(r, n);
		else
			fd_waiter(r, n);
		mark_ended(n);
		return expected(n->seed);
	}
	if (n->chs || n->lks || n->sms || n->bks) {
		/* A member of a synchronization scene, or of a blocked round. */
		if (n->chs)
			chan_kid(r, n);
		else if (n->lks)
			lock_kid(r, n);
		else if (n->sms)
			sem_kid(r, n);
		else
			blocked_task(r, n);
		mark_ended(n);
		return expected(n->seed);
	}
	if (n->parker) {
		/* Parked until its parent (or group) cancels it. */
		rc = coop_sleep_until(COOP_FOREVER);
		CHECK(r, rc == -ECANCELED);
		check_ecanceled(r, n);
		mark_ended(n);
		return expected(n->seed);
	}
	/* -EINVAL when detached or already being joined, else -EDEADLK. */
	rc = coop_join(self, NULL);
	CHECK(r, rc == -EDEADLK || rc == -EINVAL);
	CHECK(r, coop_run(r->ctx) == -EBUSY);
	CHECK(r, coop_join(NULL, NULL) == -EINVAL);
	errno = my_errno;
	for (int i = 0; i < steps; i++) {
		unsigned what = below(&s, 20);

		if (what <= 1) {
			CHECK(r, coop_yield() == 0);
		} else if (what == 2) {
			spawn_detached(r, n, &s, grp && below(&s, 2) ? grp : NULL);
		} else if (what == 3) {
			spawn_kid(r, n, &s, &k, grp && below(&s, 2) ? grp : NULL, below(&s, 5) == 0);
		} else if (what == 4 && k.count > 0) {
			join_kid(r, n, &k, k.count - 1, COOP_FOREVER, &s);
		} else if (what == 5 && k.count > 0) {
			hand_off(r, &k, k.count - 1);
		} else if (what == 6) {
			sleep_step(r, n, below(&s, 8) ? coop_deadline_in((int64_t)below(&s, 300) * COOP_USEC)
			                              : COOP_NOWAIT);
		} else if (what == 7) {
			if (k.count > 0 && below(&s, 4)) {
				int j = (int)below(&s, (unsigned)k.count);

				CHECK(r, coop_cancel(k.t[j]) == 0); /* ended or not */
				model_cancel(r, k.n[j]);
			} else {
				CHECK(r, coop_cancel(self) == 0);
				model_cancel(r, n);
			}
		} else if (what == 8) {
			bool up = below(&s, 2);

			CHECK(r, coop_shield(up) == (int)n->shield);
			n->shield = up;
		} else if (what == 9 && k.count > 0) {
			join_kid(r, n, &k, (int)below(&s, (unsigned)k.count),
			         below(&s, 3) ? coop_deadline_in((int64_t)below(&s, 200) * COOP_USEC)
			                      : COOP_NOWAIT,
			         &s);
		} else if (what == 10 || what == 11) {
			group_step(r, n, &s, &k, &grp);
		} else if (what == 12) {
			int64_t d = below(&s, 3) ? coop_deadline_in((int64_t)below(&s, 2000) * COOP_USEC)
			                         : COOP_FOREVER;

			CHECK(r, coop_set_deadline(d, &old) == 0);
			CHECK(r, old == n->ambient);
			n->ambient = d;
		} else if (what == 13 || what == 14) {
			fd_scene(r, n, &s);
		} else if (what == 15) {
			io_scene(r, n, &s);
		} else if (what == 16 || what == 17) {
			chan_scene(r, n, &s);
		} else if (what == 18) {
			lock_scene(r, n, &s);
		} else if (what == 19) {
			sem_scene(r, n, &s);
		}
		CHECK(r, errno == my_errno);
		CHECK(r, coop_self() == self);
		check_cancelled(r, n);
	}
	/* The end: no ambient deadline, so that waiting for the group ends
	 * with it empty; then the children, joined or handed over. */
	CHECK(r, coop_set_deadline(COOP_FOREVER, &old) == 0);
	CHECK(r, old == n->ambient);
	n->ambient = COOP_FOREVER;
	if (grp) {
		bool up = below(&s, 2);

		CHECK(r, coop_shield(up) == (int)n->shield);
		n->shield = up;
		rc = group_wait_step(r, n, grp, COOP_FOREVER, &k);
		CHECK(r, rc == 0 || rc == -ECANCELED);
		CHECK(r, coop_group_destroy(grp->g) == 0);
		grp->destroyed = true;
	}
	while (k.count > 0) {
		if (below(&s, 2) && join_kid(r, n, &k, k.count - 1, COOP_FOREVER, &s) == 0)
			continue;
		hand_off(r, &k, k.count - 1);
	}
	CHECK(r, errno == my_errno);
	check_cancelled(r, n);
	if (below(&s, 3) == 0)
		exit_deep(n, (int)below(&s, 4));
	mark_ended(n);
	return expected(n->seed);
}

/* A context whose tasks never run: spawned, then destroyed. */
static void abandon(struct round *r, uint64_t *s)
{
	struct coop_task *t[8];
	int k = 1 + (int)below(s, 8);
	/* Some in a group, left with it after the context is destroyed. */
	struct sgroup *g = below(s, 2) ? new_group(r, r->ctx) : NULL;

	for (int i = 0; i < k; i++) {
		struct node *n = new_node(r, s, 0, false);

		if (!n)
			break;
		spawn_node_in(r, n, s, &t[i], g && below(s, 2) ? g : NULL);
		if (below(s, 4) == 0) {
			CHECK(r, coop_cancel(t[i]) == 0); /* never runs all the same */
			model_cancel(r, n);
		}
		CHECK(r, coop_join(t[i], NULL) == -EAGAIN); /* outside a task, not ended */
		if (below(s, 2))
			CHECK(r, coop_detach(t[i]) == 0);
	}
}

static void one_round(struct round *r, uint64_t *s)
{
	static const size_t ctx_sizes[] = {0, 16384, 65536};
	struct coop_context_opts o = {.size = sizeof(o)};
	struct coop_task *roots[8];
	struct node *root_node[8];
	int nroots, joined_roots;
	/* The first round of each thread is a blocked round: a run of a few
	 * rounds (TSan, valgrind) still has one. */
	unsigned kind = r->number == 0 ? 8 : below(s, 9);

	struct sgroup *mg = NULL;

	r->used = r->started = r->ended = r->detached_ended = r->detached_spawned = 0;
	r->norphans = 0;
	r->ngroups = 0;
	r->nspawned = 0;
	static const unsigned intervals[] = {0, 1, 7, 61, 1000};

	o.stack_size = ctx_sizes[below(s, 3)];
	if (below(s, 4) == 0)
		o.flags |= COOP_CONTEXT_ALLOW_UNGUARDED;
	/* fds: both registration modes; event checks from every switch to
	 * rarely. */
	if (below(s, 2))
		o.flags |= COOP_CONTEXT_FD_CACHE;
	o.event_interval = intervals[below(s, 5)];
	CHECK(r, coop_context_create(&r->ctx, &o) == 0);
	if (kind == 0) {
		abandon(r, s);
		goto destroy;
	}
	if (kind == 8) {
		blocked_round(r, s); /* destroys the context itself */
		goto destroy;
	}
	nroots = 1 + (int)below(s, 8);
	/* Some roots in a group of the main thread's. */
	if (below(s, 2))
		mg = new_group(r, r->ctx);
	for (int i = 0; i < nroots; i++) {
		root_node[i] = new_node(r, s, 0, false);
		spawn_node_in(r, root_node[i], s, &roots[i], mg && below(s, 2) ? mg : NULL);
		/* Cancelled before it starts: it runs all the same. */
		if (below(s, 8) == 0) {
			CHECK(r, coop_cancel(roots[i]) == 0);
			model_cancel(r, root_node[i]);
		}
	}
	if (mg) {
		/* Outside a task: -EAGAIN while it has members, never waiting. */
		CHECK(r, coop_group_wait(mg->g, COOP_NOWAIT) == (mg->spawned ? -EAGAIN : 0));
		CHECK(r, coop_group_destroy(mg->g) == (mg->spawned ? -EBUSY : 0));
		if (!mg->spawned) {
			mg->destroyed = true;
			mg = NULL;
		} else if (below(s, 8) == 0) {
			CHECK(r, coop_group_cancel(mg->g) == 0);
			model_group_cancel(r, mg);
		}
	}
	CHECK(r, coop_yield() == -EPERM);
	CHECK(r, coop_self() == NULL);
	CHECK(r, coop_run(r->ctx) == 0);
	if (mg) {
		CHECK(r, mg->ended == mg->spawned);
		CHECK(r, coop_group_wait(mg->g, COOP_FOREVER) == 0);
		CHECK(r, coop_group_destroy(mg->g) == 0);
		mg->destroyed = true;
	}
	/* Every task ran and ended, detached ones included. */
	CHECK(r, r->started == r->used);
	CHECK(r, r->ended == r->used);
	CHECK(r, r->detached_ended == r->detached_spawned);
	for (int i = 0; i < r->norphans; i++)
		join_child(r, r->orphans[i], r->orphan_node[i]);
	/* Join some roots; destroy leaves the others (finished, unjoined). */
	joined_roots = kind == 1 ? 0 : nroots;
	for (int i = 0; i < joined_roots; i++)
		join_child(r, roots[i], root_node[i]);
	if (kind == 2) {
		/* More work that never runs. */
		int before = r->used;

		abandon(r, s);
		for (int i = before; i < r->used; i++)
			CHECK(r, !r->nodes[i].ran);
	}
destroy:
	coop_context_destroy(r->ctx);
	/* The groups it leaves are empty: destroyable. */
	for (int i = 0; i < r->ngroups; i++)
		if (!r->groups[i].destroyed)
			CHECK(r, coop_group_destroy(r->groups[i].g) == 0);
	for (int i = 0; i < r->used; i++) {
		if (kind == 0)
			CHECK(r, !r->nodes[i].ran);
		free(r->nodes[i].buf); /* detached, unjoined and never-run tasks' buffers */
		r->nodes[i].buf = NULL;
	}
}

struct thread_arg {
	unsigned index;
	uint64_t seed;
	double seconds;
	unsigned long max_rounds;
	unsigned long rounds;
	unsigned long tasks;
	unsigned long st[ST_N];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	struct round *r = calloc(1, sizeof(*r));
	uint64_t s = a->seed ^ (0x9e3779b97f4a7c15ull * (a->index + 1));
	double end = now() + a->seconds;

	if (!r)
		abort();
	r->thread = a->index;
	r->base_seed = a->seed;
	for (r->number = 0; a->max_rounds ? r->number < a->max_rounds : now() < end; r->number++) {
		one_round(r, &s);
		a->tasks += (unsigned long)r->used;
	}
	a->rounds = r->number;
	memcpy(a->st, r->st, sizeof(a->st));
	free(r);
	return NULL;
}

static unsigned long env_ul(const char *name, unsigned long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : dflt;
}

int main(void)
{
	uint64_t seed = env_ul("COOP_STRESS_SEED", seed_default);
	double seconds = (double)env_ul("COOP_STRESS_SECONDS", 3);
	unsigned long rounds = env_ul("COOP_STRESS_ROUNDS", 0);
	unsigned nthreads = (unsigned)env_ul("COOP_STRESS_THREADS", 1);
	struct thread_arg args[64];
	pthread_t th[64];
	unsigned long total_rounds = 0, total_tasks = 0, st[ST_N] = {0};

	if (nthreads < 1 || nthreads > 64)
		nthreads = 1;
	for (size_t i = 0; i < IO_MAX; i++) {
		uint64_t x = i;

		io_data[i] = (unsigned char)next(&x);
	}
	printf("test-stress: seed %" PRIu64 " (COOP_STRESS_SEED), %u thread(s), %s\n", seed, nthreads,
	       rounds ? "fixed rounds" : "time budget");
	fflush(stdout);
	for (unsigned i = 0; i < nthreads; i++) {
		args[i] = (struct thread_arg){.index = i, .seed = seed, .seconds = seconds,
		                              .max_rounds = rounds};
		if (nthreads == 1) {
			thread_main(&args[i]);
		} else if (pthread_create(&th[i], NULL, thread_main, &args[i]) != 0) {
			fprintf(stderr, "test-stress: pthread_create failed\n");
			return 1;
		}
	}
	for (unsigned i = 0; i < nthreads; i++) {
		if (nthreads > 1)
			pthread_join(th[i], NULL);
		total_rounds += args[i].rounds;
		total_tasks += args[i].tasks;
		for (int j = 0; j < ST_N; j++)
			st[j] += args[i].st[j];
	}
	printf("test-stress: OK: %lu rounds, %lu tasks\n", total_rounds, total_tasks);
	printf("test-stress: channels: %lu sends, %lu receives, %lu selects, %lu delivered, "
	       "%lu closes, %lu destroys; %lu mutex locks, %lu condition waits, %lu signals; "
	       "%lu semaphore acquires, %lu releases; %lu calls outside a task\n",
	       st[ST_SEND], st[ST_RECV], st[ST_SELECT], st[ST_DELIVERED], st[ST_CLOSE],
	       st[ST_CHAN_DESTROY], st[ST_LOCK], st[ST_COND_WAIT], st[ST_SIGNAL], st[ST_ACQUIRE],
	       st[ST_RELEASE], st[ST_OUTSIDE]);
	printf("test-stress: scenes: %lu channel, %lu lock, %lu semaphore; %lu blocked rounds\n",
	       st[ST_CHAN_SCENE], st[ST_LOCK_SCENE], st[ST_SEM_SCENE], st[ST_BLOCKED_ROUND]);
	return 0;
}
