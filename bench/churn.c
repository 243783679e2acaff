/*
 * churn.c: accept + coop_fd_close churn (B-15): a coop server accepting
 * connection after connection, each served by a task of its own that ends
 * with coop_fd_close(), while a client opens and closes them at a steady
 * rate.  What it costs the server per connection, and whether its memory
 * stays flat: nothing may grow with the number of connections served
 * (the fd table is bounded by the highest fd, the tasks' stacks are
 * reused, a closed fd leaves nothing registered).
 *
 *   churn [--cache] [--rate N] [--seconds S]
 *
 * The server is a child process (fork): one context (--cache: with
 * COOP_CONTEXT_FD_CACHE), an acceptor task looping in coop_accept(), and
 * per connection a detached task on a 16 KiB stack that echoes what it
 * reads until end of file or an error, then coop_fd_close()s the fd (the
 * next accept gets the same fd number back: reuse after close, in both
 * modes).  The client (this process, plain blocking sockets, no coop)
 * makes N connections a second (default 10,000; 0: as fast as it can) for
 * S seconds (default 5): connect, write one byte, read its echo, close
 * with SO_LINGER 0 (a reset: no TIME_WAIT, so a long run does not run out
 * of local ports; the server's read then fails with ECONNRESET, or sees
 * end of file, and closes).
 *
 * Figures: connections made and the rate reached; the client's time per
 * connection (connect to echo, p50 and p99); the server's CPU time per
 * connection (all its threads, /proc/PID/task/TID/schedstat); the
 * server's resident memory (VmRSS) after 200 warm-up connections, after
 * 1 s, every second and at the end, and its open fds at the start and at
 * the end (the same number: every connection closed).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <coop/coop.h>

#include "proc.h"

static int listen_fd;
static struct coop_context *ctx;

static void die(const char *what, int rc)
{
	fprintf(stderr, "churn: %s: %s\n", what, strerror(-rc));
	exit(1);
}

/* ---- the server (child) ---- */

static void *connection(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[64];
	ssize_t n;

	while ((n = coop_read(fd, buf, sizeof(buf), coop_deadline_in(5 * COOP_SEC))) > 0)
		if (coop_write(fd, buf, (size_t)n, coop_deadline_in(5 * COOP_SEC)) != n)
			break;
	coop_fd_close(fd);
	return NULL;
}

static void *acceptor(void *arg)
{
	struct coop_task_opts o = {.size = sizeof(o), .stack_size = 16384};
	int fd, rc;

	(void)arg;
	for (;;) {
		fd = coop_accept(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC, COOP_FOREVER);
		if (fd < 0)
			die("coop_accept", fd);
		if ((rc = coop_spawn(ctx, NULL, connection, (void *)(intptr_t)fd, &o)) < 0)
			die("coop_spawn", rc);
	}
	return NULL;
}

static void server(int cache)
{
	struct coop_context_opts copts = {.size = sizeof(copts)};
	int rc;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	if (cache)
		copts.flags |= COOP_CONTEXT_FD_CACHE;
	if ((rc = coop_context_create(&ctx, &copts)) < 0)
		die("coop_context_create", rc);
	if ((rc = coop_spawn(ctx, NULL, acceptor, NULL, NULL)) < 0)
		die("coop_spawn", rc);
	rc = coop_run(ctx);
	die("coop_run returned", rc < 0 ? rc : -EINVAL);
}

/* ---- the client (parent) ---- */

static long status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':')
			v = atol(line + len + 1);
	fclose(f);
	return v;
}

static long open_fds(pid_t pid)
{
	char path[64];
	struct dirent *d;
	long n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if (!(dir = opendir(path)))
		return -1;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* One connection, start to close; its round trip in ns. */
static int64_t one(const struct sockaddr_in *sa)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	int64_t t = now_ns();
	char c = 'x';
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		die("socket", -errno);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		if (errno != EINTR)
			die("connect", -errno);
	if (write(fd, &c, 1) != 1)
		die("write", -errno);
	if (read(fd, &c, 1) != 1 || c != 'x')
		die("read (no echo)", errno ? -errno : -EIO);
	t = now_ns() - t;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	return t;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"cache", no_argument, NULL, 'c'},
		{"rate", required_argument, NULL, 'r'},
		{"seconds", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	double rate = 10000, seconds = 5;
	int cache = 0, opt, one_ = 1;
	long rss0, rss1 = -1, fds0, fds1, n = 0, cap;
	int64_t t0, tend, cpu0, cpu1, *rt;
	pid_t pid;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': cache = 1; break;
		case 'r': rate = atof(optarg); break;
		case 's': seconds = atof(optarg); break;
		default:
			fprintf(stderr, "usage: churn [--cache] [--rate N] [--seconds S]\n");
			return 2;
		}
	}
	if (rate < 0 || seconds <= 0) {
		fprintf(stderr, "usage: churn [--cache] [--rate N] [--seconds S]\n");
		return 2;
	}

	if ((listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		die("socket", -errno);
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one_, sizeof(one_));
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(listen_fd, SOMAXCONN) < 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&sa, &len) < 0)
		die("listen", -errno);
	fflush(stdout);
	if ((pid = fork()) < 0)
		die("fork", -errno);
	if (!pid)
		server(cache);
	close(listen_fd);

	/* Warm-up: the server's context, its epoll fd, a few stacks. */
	for (int i = 0; i < 200; i++)
		one(&sa);
	usleep(100000);
	rss0 = status_kib(pid, "VmRSS");
	fds0 = open_fds(pid);
	cap = (long)((rate > 0 ? rate : 100000) * seconds * 1.1) + 16;
	if (!(rt = malloc((size_t)cap * sizeof(*rt))))
		die("malloc", -ENOMEM);

	printf("churn (%s): %g connections/s for %g s; server RSS %ld KiB, %ld open fds after 200 warm-up connections\n",
	       cache ? "FD_CACHE" : "default mode", rate, seconds, rss0, fds0);
	printf("  RSS (KiB) each second:");
	cpu0 = proc_cpu_ns(pid);
	t0 = now_ns();
	tend = t0 + (int64_t)(seconds * 1e9);
	for (int64_t next_report = t0 + 1000000000;;) {
		int64_t t = now_ns();

		if (t >= next_report) {
			long r = status_kib(pid, "VmRSS");

			if (rss1 < 0)
				rss1 = r;
			printf(" %ld", r);
			fflush(stdout);
			next_report += 1000000000;
		}
		if (t >= tend)
			break;
		if (rate > 0) {
			int64_t due = t0 + (int64_t)((double)n * 1e9 / rate);

			if (due > t) {
				struct timespec ts = {.tv_sec = due / 1000000000,
						      .tv_nsec = due % 1000000000};

				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
				continue;
			}
		}
		if (n < cap)
			rt[n] = one(&sa);
		else
			one(&sa);
		n++;
	}
	tend = now_ns();
	cpu1 = proc_cpu_ns(pid);
	usleep(200000); /* the last connections' tasks end */
	fds1 = open_fds(pid);
	{
		long m = n < cap ? n : cap;
		double span = (double)(tend - t0) / 1e9;

		qsort(rt, (size_t)m, sizeof(*rt), cmp_i64);
		printf("\n  %ld connections in %.2f s (%.0f/s); client: %.1f us p50, %.1f us p99 "
		       "per connection (connect to echo)\n",
		       n, span, (double)n / span, m ? rt[m / 2] / 1e3 : 0.0,
		       m ? rt[(long)((double)m * 0.99)] / 1e3 : 0.0);
		printf("  server CPU: %.1f us per connection (%.0f %% busy)\n",
		       n ? (double)(cpu1 - cpu0) / 1e3 / (double)n : 0.0,
		       100.0 * (double)(cpu1 - cpu0) / (double)(tend - t0));
		printf("  server RSS: %ld KiB after warm-up, %ld KiB at 1 s, %ld KiB at the end (%+ld KiB from 1 s); "
		       "VmHWM %ld KiB\n",
		       rss0, rss1, status_kib(pid, "VmRSS"), status_kib(pid, "VmRSS") - rss1,
		       status_kib(pid, "VmHWM"));
		printf("  server open fds: %ld after warm-up, %ld at the end\n", fds0, fds1);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	free(rt);
	return 0;
}
