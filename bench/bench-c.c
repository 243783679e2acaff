/*
 * bench-c.c: coop from a C program, which has no C++ runtime loaded (so
 * no exception state to swap at a switch, unlike bench.cc): the same
 * workloads as bench.cc's coop column (bench/workloads.h), REPS times,
 * interleaved, medians.  And one workload of its own:
 *
 *   sizes N   one live task at a time, each with a stack size no other
 *             had (2,048 + 16 i bytes, as a program sizing stacks to its
 *             requests would): ns per spawn + join, and the address space
 *             and resident memory the process holds at the end.
 *
 *   bench-c [--quick] [--reps N] [--sizes N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coop/coop.h>

#include "workloads.h"

static long status_kib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t len = strlen(field);
	long v = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':')
			v = atol(line + len + 1);
	if (f)
		fclose(f);
	return v;
}

struct sizes {
	struct coop_context *ctx;
	long n;
	double ns;
};

static void *spawn_sizes(void *arg)
{
	struct sizes *s = arg;
	struct coop_task_opts o = {.size = sizeof(o)};
	struct coop_task *t;
	double t0 = now_ns();
	int rc;

	for (long i = 0; i < s->n; i++) {
		o.stack_size = 2048 + 16 * (size_t)i;
		if ((rc = coop_spawn(s->ctx, &t, trivial, NULL, &o)) < 0)
			die("coop_spawn", rc);
		if ((rc = coop_join(t, NULL)) < 0)
			die("coop_join", rc);
	}
	s->ns = (now_ns() - t0) / s->n;
	return NULL;
}

static void sizes(long n)
{
	struct sizes s = {bench_context(), n, 0};
	long vm0 = status_kib("VmSize"), vm, rss;

	bench_spawn(s.ctx, spawn_sizes, &s);
	coop_run(s.ctx);
	vm = status_kib("VmSize");
	rss = status_kib("VmRSS");
	printf("sizes: %ld stack sizes, one live task at a time: %.0f ns per spawn+join, "
	       "address space %.1f MiB more, %.1f MiB resident\n",
	       n, s.ns, (vm - vm0) / 1024.0, rss / 1024.0);
	coop_context_destroy(s.ctx);
}

int main(int argc, char **argv)
{
	int reps = 11, scale = 1;
	long nsizes = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			reps = 3;
			scale = 10;
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			reps = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
			nsizes = atol(argv[++i]);
		} else {
			fprintf(stderr, "usage: %s [--quick] [--reps N] [--sizes N]\n", argv[0]);
			return 2;
		}
	}
	if (nsizes > 0) {
		sizes(nsizes);
		return 0;
	}
	if (reps < 1)
		reps = 1;
	double *sw = calloc(reps, sizeof(double)), *sp = calloc(reps, sizeof(double)),
	       *ring = calloc(reps, sizeof(double));
	if (!sw || !sp || !ring)
		die("calloc", -12);
	for (int r = 0; r < reps; r++) {
		sw[r] = coop_switch(2000000 / scale);
		sp[r] = coop_spawn_join(200000 / scale);
		ring[r] = coop_ring(10000, 20);
	}
	printf("coop %s from a C program, %d interleaved repetitions, medians\n\n", coop_version(),
	       reps);
	printf("| %-40s | %10s |\n", "workload", "coop");
	printf("|------------------------------------------|------------|\n");
	printf("| %-40s | %10.1f |\n", "switch, C program (ns/switch)", median_of(sw, reps));
	printf("| %-40s | %10.1f |\n", "spawn+run+join, C program (ns)", median_of(sp, reps));
	printf("| %-40s | %10.1f |\n", "ring of 10k tasks, C program (ns/yield)", median_of(ring, reps));
	free(sw);
	free(sp);
	free(ring);
	return 0;
}
