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
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <coop/coop.h>

#define MAX_DEPTH 4
#define MAX_TASKS 256  /* per round */
#define MAX_KIDS 6     /* joined children a task keeps */
#define MAX_ORPHANS MAX_TASKS

struct round;

struct node {
	struct round *r;
	uint64_t seed;        /* its workload and its result */
	int depth;
	bool detached;
	bool ran;             /* its function started */
	bool ended;
	char name[40];        /* what coop_task_name() must say (truncated) */
	void *buf;            /* a caller-supplied stack, or NULL */
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
};

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

/* Options for a new task of `n`: name, stack size or caller buffer. */
static int spawn_node(struct round *r, struct node *n, uint64_t *s, struct coop_task **out)
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
	rc = coop_spawn(r->ctx, out, worker, n, &o);
	CHECK(r, rc == 0);
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
	n->ended = true;
	n->r->ended++;
	if (n->detached)
		n->r->detached_ended++;
	coop_exit(expected(n->seed));
}

static void *worker(void *arg)
{
	struct node *n = arg;
	struct round *r = n->r;
	uint64_t s = n->seed;
	struct coop_task *kids[MAX_KIDS], *self = coop_self();
	struct node *kid_node[MAX_KIDS];
	int rc, nkids = 0, steps = (int)below(&s, 8), my_errno = (int)(n->seed % 1000) + 1;

	CHECK(r, !n->ran);
	n->ran = true;
	r->started++;
	CHECK(r, self != NULL);
	CHECK(r, strcmp(coop_task_name(self), n->name) == 0);
	/* -EINVAL when detached or already being joined, else -EDEADLK. */
	rc = coop_join(self, NULL);
	CHECK(r, rc == -EDEADLK || rc == -EINVAL);
	CHECK(r, coop_run(r->ctx) == -EBUSY);
	CHECK(r, coop_join(NULL, NULL) == -EINVAL);
	errno = my_errno;
	for (int i = 0; i < steps; i++) {
		unsigned what = below(&s, 6);
		struct node *c;
		struct coop_task *t;

		if (what <= 1) {
			CHECK(r, coop_yield() == 0);
		} else if (what == 2 && n->depth < MAX_DEPTH &&
		           (c = new_node(r, &s, n->depth + 1, true))) {
			r->detached_spawned++;
			if (below(&s, 2)) {
				spawn_node(r, c, &s, NULL);
			} else {
				/* Spawned joinable, then detached (before or
				 * after it ends). */
				spawn_node(r, c, &s, &t);
				if (below(&s, 2))
					CHECK(r, coop_yield() == 0);
				CHECK(r, coop_detach(t) == 0);
			}
			/* Its caller buffer, if any, is freed after coop_run. */
		} else if (what == 3 && n->depth < MAX_DEPTH && nkids < MAX_KIDS &&
		           (c = new_node(r, &s, n->depth + 1, false))) {
			spawn_node(r, c, &s, &kids[nkids]);
			kid_node[nkids++] = c;
		} else if (what == 4 && nkids > 0) {
			nkids--;
			join_child(r, kids[nkids], kid_node[nkids]);
		} else if (what == 5 && nkids > 0 && r->norphans < MAX_ORPHANS) {
			/* Hand one to the main thread, to join after coop_run. */
			nkids--;
			r->orphans[r->norphans] = kids[nkids];
			r->orphan_node[r->norphans++] = kid_node[nkids];
		}
		CHECK(r, errno == my_errno);
		CHECK(r, coop_self() == self);
	}
	while (nkids > 0) {
		nkids--;
		if (below(&s, 2)) {
			join_child(r, kids[nkids], kid_node[nkids]);
		} else {
			CHECK(r, r->norphans < MAX_ORPHANS);
			r->orphans[r->norphans] = kids[nkids];
			r->orphan_node[r->norphans++] = kid_node[nkids];
		}
	}
	CHECK(r, errno == my_errno);
	if (below(&s, 3) == 0)
		exit_deep(n, (int)below(&s, 4));
	n->ended = true;
	r->ended++;
	if (n->detached)
		r->detached_ended++;
	return expected(n->seed);
}

/* A context whose tasks never run: spawned, then destroyed. */
static void abandon(struct round *r, uint64_t *s)
{
	struct coop_task *t[8];
	int k = 1 + (int)below(s, 8);

	for (int i = 0; i < k; i++) {
		struct node *n = new_node(r, s, 0, false);

		if (!n)
			break;
		spawn_node(r, n, s, &t[i]);
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

	r->used = r->started = r->ended = r->detached_ended = r->detached_spawned = 0;
	r->norphans = 0;
	o.stack_size = ctx_sizes[below(s, 3)];
	if (below(s, 4) == 0)
		o.flags |= COOP_CONTEXT_ALLOW_UNGUARDED;
	CHECK(r, coop_context_create(&r->ctx, &o) == 0);
	if (kind == 0) {
		abandon(r, s);
		goto destroy;
	}
	nroots = 1 + (int)below(s, 8);
	for (int i = 0; i < nroots; i++) {
		root_node[i] = new_node(r, s, 0, false);
		spawn_node(r, root_node[i], s, &roots[i]);
	}
	CHECK(r, coop_yield() == -EPERM);
	CHECK(r, coop_self() == NULL);
	CHECK(r, coop_run(r->ctx) == 0);
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
