/*
 * idle.c: what an idle context costs (B-14): 10,000 tasks each waiting
 * for an fd that never becomes ready, and 10,000 tasks each sleeping once
 * until its own deadline, for 10 s.  The kernel should wake the thread
 * for due deadlines only: once per distinct deadline at most (deadlines
 * closer than the scheduler's own lateness are taken in one wake-up), and
 * never for the idle fds.
 *
 *   idle [--cache] [--fds N] [--sleepers N] [--seconds S] [--grain MS]
 *
 * N socketpairs; a task per pair waits with coop_fd_wait(READ, forever)
 * on one end, and the other end stays open and silent in a child process
 * that made the pairs and passed the waited ends over (SCM_RIGHTS): so
 * each process holds N fds and a few, within the common hard limit of
 * 20,000 open files that an unprivileged process (or a container's root
 * without CAP_SYS_RESOURCE) cannot raise.  The soft limit is raised to
 * the hard one when N needs it.
 *
 * The sleepers sleep until T0 + k * GRAIN, k uniform in [1 s, S s] /
 * GRAIN (default grain 10 ms: about 900 distinct deadlines for 10,000
 * tasks; --grain 0 draws them at 1 ns, all distinct), T0 a moment after
 * every task has been spawned.  A controller task sleeps until T0 (and
 * until every task has started and blocked), takes the figures, sleeps
 * until T0 + S s + 50 ms, takes them again, then coop_fd_close()s every
 * waited fd (its waiter wakes with -EBADF and ends) and the run ends.
 * --cache runs the context with COOP_CONTEXT_FD_CACHE.
 *
 * Figures over [start, end] (start: T0, or when the last task blocked): the CPU time of the process (getrusage), the
 * times the thread went to sleep in the kernel (voluntary context
 * switches: each is one wake-up), and, when the process may count its own
 * system calls (root, or perf_event_paranoid <= 1; tracefs mounted), the
 * calls to epoll_pwait2, epoll_wait and clock_nanosleep and every system
 * call, from the syscalls tracepoints through perf_event_open(2): the
 * counter perf stat -e 'syscalls:sys_enter_epoll_pwait2' reads.  Against
 * them: the number of distinct deadlines due in the window, plus one (the
 * controller's own end).  Also checked: every fd waiter is reported blocked
 * in an fd wait at T0 (coop_context_tasks), none wakes before its fd is
 * closed, and no sleeper wakes before its deadline (the lateness is shown).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <coop/coop.h>

static long nfds = 10000, nsleepers = 10000;
static double seconds = 10;
static double grain_ms = 10;
static int *waited;                   /* the ends waited on */
static int64_t *deadline;             /* of each sleeper */
static int64_t t0, t_end, t_start, t_spawn, t_last_start;
static long started;
static long fd_woken_early, fd_woken_badf, fd_other;
static long slept, early;
static int64_t late_max, late_sum;
static struct coop_context *ctx;
static int cache_mode;

static void die(const char *what, int rc)
{
	fprintf(stderr, "idle: %s: %s\n", what, strerror(-rc));
	exit(1);
}

/* ---- the process counting its own system calls ---- */

static const char *const counted[] = {
	"syscalls/sys_enter_epoll_pwait2", "syscalls/sys_enter_epoll_wait",
	"syscalls/sys_enter_epoll_pwait", "syscalls/sys_enter_clock_nanosleep",
	"raw_syscalls/sys_enter",
};
#define NCOUNTED (sizeof(counted) / sizeof(counted[0]))
static int counter[NCOUNTED];

static void open_counters(void)
{
	static const char *const roots[] = {"/sys/kernel/tracing/events",
					    "/sys/kernel/debug/tracing/events"};

	for (size_t i = 0; i < NCOUNTED; i++) {
		struct perf_event_attr a = {.size = sizeof(a), .type = PERF_TYPE_TRACEPOINT};
		long long id = -1;

		counter[i] = -1;
		for (size_t r = 0; r < 2 && id < 0; r++) {
			char path[256];
			FILE *f;

			snprintf(path, sizeof(path), "%s/%s/id", roots[r], counted[i]);
			if ((f = fopen(path, "r"))) {
				if (fscanf(f, "%lld", &id) != 1)
					id = -1;
				fclose(f);
			}
		}
		if (id < 0)
			continue;
		a.config = (uint64_t)id;
		a.sample_period = 1; /* unused: counting only */
		counter[i] = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	}
}

static void read_counters(long long *v)
{
	for (size_t i = 0; i < NCOUNTED; i++) {
		uint64_t x;

		v[i] = -1;
		if (counter[i] >= 0 && read(counter[i], &x, sizeof(x)) == (ssize_t)sizeof(x))
			v[i] = (long long)x;
	}
}

/* ---- the pairs: made by a child that keeps the silent ends ---- */

#define BATCH 200 /* fds per message (SCM_MAX_FD is 253) */

static void raise_nofile(rlim_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
		fprintf(stderr, "idle: needs %llu open files, the hard limit is %llu\n",
			(unsigned long long)need, (unsigned long long)rl.rlim_max);
		exit(1);
	}
}

static void holder(int ctl)
{
	int fds[BATCH], sv[2];
	char c = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	raise_nofile((rlim_t)nfds + BATCH + 64);
	for (long i = 0; i < nfds; i += BATCH) {
		int k = nfds - i < BATCH ? (int)(nfds - i) : BATCH;
		union {
			char buf[CMSG_SPACE(sizeof(fds))];
			struct cmsghdr align;
		} u;
		struct iovec iov = {.iov_base = &c, .iov_len = 1};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1,
				   .msg_control = u.buf,
				   .msg_controllen = CMSG_SPACE(k * sizeof(int))};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

		for (int j = 0; j < k; j++) {
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
				die("socketpair", -errno);
			fds[j] = sv[0]; /* sv[1] stays here, open and silent */
		}
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(k * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, k * sizeof(int));
		if (sendmsg(ctl, &m, 0) != 1)
			die("sendmsg", -errno);
		for (int j = 0; j < k; j++)
			close(fds[j]);
	}
	/* Hold the silent ends until the parent closes its end. */
	while (read(ctl, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* Fills waited[]; returns the control socket, whose closing ends the
 * holder. */
static int make_pairs(pid_t *pid)
{
	int ctl[2];
	long got = 0;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0)
		die("socketpair", -errno);
	if ((*pid = fork()) < 0)
		die("fork", -errno);
	if (!*pid) {
		close(ctl[0]);
		holder(ctl[1]);
	}
	close(ctl[1]);
	while (got < nfds) {
		union {
			char buf[CMSG_SPACE(BATCH * sizeof(int))];
			struct cmsghdr align;
		} u;
		char c;
		struct iovec iov = {.iov_base = &c, .iov_len = 1};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1,
				   .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
		struct cmsghdr *cm;
		ssize_t r = recvmsg(ctl[0], &m, MSG_CMSG_CLOEXEC);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (m.msg_flags & MSG_CTRUNC))
			die("recvmsg", r < 0 ? -errno : -EIO);
		for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
			    got + (long)k > nfds)
				die("recvmsg: unexpected message", -EIO);
			memcpy(waited + got, CMSG_DATA(cm), k * sizeof(int));
			got += (long)k;
		}
	}
	return ctl[0];
}

/* ---- the tasks ---- */

static void *fd_waiter(void *arg)
{
	long i = (long)(intptr_t)arg;
	int rc;

	started++;
	t_last_start = coop_now();
	rc = coop_fd_wait(waited[i], COOP_FD_READ, COOP_FOREVER);

	if (rc == -EBADF)
		fd_woken_badf++;       /* its fd was closed: the end of the run */
	else if (rc > 0)
		fd_woken_early++;      /* nothing was ever written */
	else
		fd_other++;
	return NULL;
}

static void *sleeper(void *arg)
{
	long i = (long)(intptr_t)arg;
	int64_t late;
	int rc;

	started++;
	t_last_start = coop_now();
	rc = coop_sleep_until(deadline[i]);
	late = coop_now() - deadline[i];
	if (rc < 0)
		die("coop_sleep_until", rc);
	slept++;
	if (late < 0)
		early++;
	if (late > late_max)
		late_max = late;
	late_sum += late;
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

struct snap {
	struct rusage ru;
	long long calls[NCOUNTED];
};

static void snap(struct snap *s)
{
	getrusage(RUSAGE_SELF, &s->ru);
	read_counters(s->calls);
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static void *controller(void *arg)
{
	struct coop_task_opts o = {.size = sizeof(o)};
	struct coop_task_info *info;
	struct snap a, b;
	uint64_t rnd = 88172645463325252u;
	int64_t *sorted, grain = (int64_t)(grain_ms * COOP_MSEC);
	long distinct = 0, in_fd = 0, n;
	int rc;

	(void)arg;
	o.stack_size = 16384;
	/* The deadlines as offsets first: T0 is known once every task is
	 * spawned (spawning 20,000 tasks can take a while on a busy machine),
	 * and no task runs before this one blocks. */
	for (long i = 0; i < nsleepers; i++) {
		int64_t lo = COOP_SEC, span = (int64_t)((seconds - 1) * COOP_SEC), u;

		rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
		u = lo + (int64_t)(rnd % (uint64_t)(span + 1));
		if (grain > 0)
			u = u / grain * grain;
		deadline[i] = u;
	}
	t_spawn = coop_now();
	for (long i = 0; i < nfds; i++)
		if ((rc = coop_spawn(ctx, NULL, fd_waiter, (void *)(intptr_t)i, &o)) < 0)
			die("coop_spawn", rc);
	for (long i = 0; i < nsleepers; i++)
		if ((rc = coop_spawn(ctx, NULL, sleeper, (void *)(intptr_t)i, &o)) < 0)
			die("coop_spawn", rc);
	t0 = coop_now();
	t_spawn = t0 - t_spawn;
	/* T0 leaves time to start every task: each runs until it blocks. */
	t0 += 200 * COOP_MSEC;
	t_end = t0 + (int64_t)(seconds * COOP_SEC) + 50 * COOP_MSEC;
	for (long i = 0; i < nsleepers; i++)
		deadline[i] += t0;
	if ((rc = coop_sleep_until(t0)) < 0)
		die("coop_sleep_until", rc);
	while (started < nfds + nsleepers)
		if ((rc = coop_sleep_until(coop_deadline_in(COOP_MSEC))) < 0)
			die("coop_sleep_until", rc);
	t_start = coop_now();
	if (t_start >= t0 + COOP_SEC)
		fprintf(stderr, "idle: warning: the tasks started after the first deadlines\n");

	snap(&a);
	/* Every fd waiter should be blocked in its fd wait by now. */
	if (!(info = calloc((size_t)(nfds + nsleepers + 1), sizeof(*info))))
		die("calloc", -ENOMEM);
	for (long i = 0; i < nfds + nsleepers + 1; i++)
		info[i].size = sizeof(*info);
	n = coop_context_tasks(ctx, info, (size_t)(nfds + nsleepers + 1));
	for (long i = 0; i < n && i < nfds + nsleepers + 1; i++)
		if (info[i].state == COOP_TASK_BLOCKED && info[i].wait == COOP_WAIT_FD)
			in_fd++;
	free(info);
	/* The introspection walk above is not idle work: take the figures
	 * again after it. */
	snap(&a);

	if ((rc = coop_sleep_until(t_end)) < 0)
		die("coop_sleep_until", rc);
	snap(&b);

	if (!(sorted = malloc((size_t)nsleepers * sizeof(*sorted))))
		die("malloc", -ENOMEM);
	memcpy(sorted, deadline, (size_t)nsleepers * sizeof(*sorted));
	qsort(sorted, (size_t)nsleepers, sizeof(*sorted), cmp_i64);
	for (long i = 0; i < nsleepers; i++)
		if (!i || sorted[i] != sorted[i - 1])
			distinct++;
	free(sorted);

	{
		double user = tv_s(b.ru.ru_utime) - tv_s(a.ru.ru_utime);
		double sys = tv_s(b.ru.ru_stime) - tv_s(a.ru.ru_stime);
		double span = (double)(t_end - t_start) / 1e9;
		long wakes = b.ru.ru_nvcsw - a.ru.ru_nvcsw;
		static const char *const names[NCOUNTED] = {
			"epoll_pwait2", "epoll_wait", "epoll_pwait", "clock_nanosleep", "all syscalls"};

		printf("idle%s: %ld idle fds (%ld blocked in an fd wait at T0), %ld sleepers, "
		       "%.2f s window, grain %g ms\n",
		       cache_mode ? " (FD_CACHE)" : " (default mode)", nfds, in_fd, nsleepers, span, grain_ms);
		printf("  setup: spawning the %ld tasks took %.1f ms (%.2f us each), starting them %.1f ms\n",
		       nfds + nsleepers, (double)t_spawn / 1e6,
		       (double)t_spawn / 1e3 / (double)(nfds + nsleepers),
		       (double)(t_last_start - (t0 - 200 * COOP_MSEC)) / 1e6);
		printf("  CPU time: %.3f s user + %.3f s system = %.1f ms/s\n",
		       user, sys, (user + sys) * 1e3 / span);
		printf("  kernel sleeps (voluntary context switches): %ld (%.1f/s)\n",
		       wakes, wakes / span);
		printf("  distinct deadlines due: %ld (+1, the controller's end): extra wake-ups %ld\n",
		       distinct, wakes - (distinct + 1));
		printf("  involuntary context switches: %ld\n", b.ru.ru_nivcsw - a.ru.ru_nivcsw);
		for (size_t i = 0; i < NCOUNTED; i++)
			if (a.calls[i] >= 0 && b.calls[i] >= 0)
				printf("  %s: %lld\n", names[i], b.calls[i] - a.calls[i]);
			else
				printf("  %s: not counted (no perf_event_open on tracepoints)\n",
				       names[i]);
		printf("  sleepers woken: %ld, early: %ld, late by %.1f us mean, %.1f us max\n",
		       slept, early, slept ? (double)late_sum / (double)slept / 1e3 : 0.0,
		       (double)late_max / 1e3);
	}

	for (long i = 0; i < nfds; i++) {
		if ((rc = coop_fd_close(waited[i])) < 0)
			die("coop_fd_close", rc);
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: idle [--cache] [--fds N] [--sleepers N] [--seconds S] "
			"[--grain MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"cache", no_argument, NULL, 'c'},
		{"fds", required_argument, NULL, 'f'},
		{"sleepers", required_argument, NULL, 's'},
		{"seconds", required_argument, NULL, 'S'},
		{"grain", required_argument, NULL, 'g'},
		{NULL, 0, NULL, 0},
	};
	struct coop_context_opts copts = {.size = sizeof(copts)};
	pid_t pid;
	int opt, rc, ctl;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': cache_mode = 1; break;
		case 'f': nfds = atol(optarg); break;
		case 's': nsleepers = atol(optarg); break;
		case 'S': seconds = atof(optarg); break;
		case 'g': grain_ms = atof(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || nfds < 0 || nsleepers < 0 || seconds < 1 || grain_ms < 0)
		usage();

	if (!(waited = calloc((size_t)nfds + 1, sizeof(int))) ||
	    !(deadline = calloc((size_t)nsleepers + 1, sizeof(int64_t))))
		die("calloc", -ENOMEM);
	raise_nofile((rlim_t)nfds + BATCH + 64);
	ctl = make_pairs(&pid);
	open_counters();

	if (cache_mode)
		copts.flags |= COOP_CONTEXT_FD_CACHE;
	if ((rc = coop_context_create(&ctx, &copts)) < 0)
		die("coop_context_create", rc);
	if ((rc = coop_spawn(ctx, NULL, controller, NULL, NULL)) < 0)
		die("coop_spawn", rc);
	if ((rc = coop_run(ctx)) < 0)
		die("coop_run", rc);
	coop_context_destroy(ctx);
	close(ctl);
	waitpid(pid, NULL, 0);
	if (fd_woken_early || fd_other || fd_woken_badf != nfds || early) {
		printf("  FAILED: fd waiters woken before their close: %ld, with another error: %ld, "
		       "with -EBADF: %ld of %ld; sleepers early: %ld\n",
		       fd_woken_early, fd_other, fd_woken_badf, nfds, early);
		return 1;
	}
	printf("  fd waiters: all %ld woke only at coop_fd_close (-EBADF)\n", nfds);
	return 0;
}
