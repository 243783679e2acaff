/*
 * workloads.h: coop's side of the benchmarks, in C that is also C++, so
 * that bench.cc (against Boost.Context, C++) and bench-c.c (a C program)
 * time the very same code.  A C++ program has the C++ runtime loaded,
 * whose exception state coop then swaps at every switch (src/cxx.h); a C
 * program has not: the two binaries measure both paths.
 *
 *   coop_switch(iters)          ns per switch between two tasks
 *   coop_spawn_join(iters)      ns per spawn + run + join, from a task
 *   coop_ring(n, rounds)        ns per yield among n live tasks
 */
#ifndef COOP_BENCH_WORKLOADS_H
#define COOP_BENCH_WORKLOADS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <coop/coop.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of v[0..n) (sorts v). */
static double median_of(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(-rc));
	exit(1);
}

static long g_iters;

static void *yielder(void *arg)
{
	for (long i = 0; i < g_iters; i++)
		coop_yield();
	return arg;
}

static struct coop_context *bench_context(void)
{
	struct coop_context *c;
	int rc;

	if ((rc = coop_context_create(&c, NULL)) < 0)
		die("coop_context_create", rc);
	return c;
}

static void bench_spawn(struct coop_context *c, void *(*fn)(void *), void *arg)
{
	int rc;

	if ((rc = coop_spawn(c, NULL, fn, arg, NULL)) < 0)
		die("coop_spawn", rc);
}

/* ns per switch between two tasks */
static double coop_switch(long iters)
{
	struct coop_context *c = bench_context();
	double t0, t1;

	g_iters = iters;
	for (int i = 0; i < 2; i++)
		bench_spawn(c, yielder, NULL);
	t0 = now_ns();
	coop_run(c);
	t1 = now_ns();
	coop_context_destroy(c);
	return (t1 - t0) / (2.0 * iters);
}

static void *trivial(void *arg)
{
	return arg;
}

static void *spawner(void *arg)
{
	struct coop_context *c = (struct coop_context *)arg;
	struct coop_task *t;
	void *res;
	int rc;

	for (long i = 0; i < g_iters; i++) {
		if ((rc = coop_spawn(c, &t, trivial, &g_iters, NULL)) < 0)
			die("coop_spawn", rc);
		if ((rc = coop_join(t, &res)) < 0)
			die("coop_join", rc);
	}
	return NULL;
}

/* ns per spawn + run + join, from inside a task */
static double coop_spawn_join(long iters)
{
	struct coop_context *c = bench_context();
	double t0, t1;

	g_iters = iters;
	bench_spawn(c, spawner, c);
	t0 = now_ns();
	coop_run(c);
	t1 = now_ns();
	coop_context_destroy(c);
	return (t1 - t0) / iters;
}

static long g_started, g_ring_n;
static double g_ring_t0, g_ring_t1;

static void *ring_member(void *arg)
{
	/* Time the steady rounds only, as the Boost ring does: from when the
	 * last task starts (the first round touches every stack for the first
	 * time) to when the first one is done (then the tasks end, and the
	 * pool gives their memory back). */
	if (++g_started == g_ring_n)
		g_ring_t0 = now_ns();
	for (long i = 0; i < g_iters; i++)
		coop_yield();
	if (g_ring_t1 == 0)
		g_ring_t1 = now_ns();
	return arg;
}

/* ns per yield among n live tasks, each yielding `rounds` times */
static double coop_ring(long n, long rounds)
{
	struct coop_context *c = bench_context();

	g_iters = rounds;
	g_started = 0;
	g_ring_n = n;
	g_ring_t1 = 0;
	for (long i = 0; i < n; i++)
		bench_spawn(c, ring_member, NULL);
	coop_run(c);
	coop_context_destroy(c);
	/* Between t0 and t1 every task yields rounds - 1 times. */
	return (g_ring_t1 - g_ring_t0) / (double)(n * (rounds - 1));
}

#endif /* COOP_BENCH_WORKLOADS_H */
