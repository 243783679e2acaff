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
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <coop/coop.h>

#define MAX_DEPTH 4
#define MAX_TASKS 256  /* per round */
#define MAX_KIDS 6     /* joined children a task keeps */
#define MAX_ORPHANS MAX_TASKS
#define MAX_GROUPS 128 /* per round */
#define MAX_FD_WAITERS 4
#define IO_MAX (200 * 1024)

struct round;
struct fdscene;

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
		unsigned what = below(&s, 16);

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
	unsigned kind = below(s, 8);

	struct sgroup *mg = NULL;

	r->used = r->started = r->ended = r->detached_ended = r->detached_spawned = 0;
	r->norphans = 0;
	r->ngroups = 0;
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
	unsigned long total_rounds = 0, total_tasks = 0;

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
	}
	printf("test-stress: OK: %lu rounds, %lu tasks\n", total_rounds, total_tasks);
	return 0;
}
