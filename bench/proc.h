/*
 * proc.h: what the echo benchmarks' programs read of a process (their own
 * or the server's): the monotonic clock and the CPU time of every thread
 * of a process, in ns.  Plain C, no coop.
 */
#ifndef COOP_BENCH_PROC_H
#define COOP_BENCH_PROC_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CPU time of every thread of process pid, in ns (schedstat's first
 * field: time on the CPU); -1 if it cannot be read. */
static inline int64_t proc_cpu_ns(pid_t pid)
{
	char path[64];
	struct dirent *d;
	int64_t sum = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(dir = opendir(path)))
		return -1;
	while ((d = readdir(dir))) {
		char file[384];
		long long v;
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "/proc/%d/task/%.255s/schedstat", (int)pid, d->d_name);
		if (!(f = fopen(file, "r")))
			continue; /* the thread ended meanwhile */
		if (fscanf(f, "%lld", &v) == 1)
			sum += v;
		fclose(f);
	}
	closedir(dir);
	return sum;
}

#endif /* COOP_BENCH_PROC_H */
