/*
 * glib.c: a coop context driven by a GLib main loop (coop 1.1).
 *
 *   glib [SEED]
 *
 * The main loop watches coop_context_fd(), which is readable whenever the
 * context has something to do, and calls coop_run_once(ctx, 0) then: one
 * bounded round of coop work per callback, so the loop's other sources
 * (here a 25 ms timer) keep running however busy the tasks are.  No
 * prepare/check hooks and no timeout to compute: the fd covers the tasks'
 * deadlines too.
 *
 * The work: 1,000 tasks sleep a random 0-50 ms (SEED picks them) while
 * two tasks pass 100 messages over a socketpair and back.  Then the idle
 * check: 1,000 tasks sleep (until they are cancelled) while 300 ms pass,
 * during which the process must use less than 5% of a CPU (a loop that
 * spins, or a coop fd that stays readable for nothing, would use all of
 * it).  Exits 0 once every task has finished its work and the main loop
 * has quit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include <glib-unix.h>
#include <coop/coop.h>

#define SLEEPERS 1000
#define MESSAGES 100
#define IDLE (300 * COOP_MSEC)
#define IDLE_CPU_MAX 0.05     /* of the idle stretch's wall time */
#define BOUND (30 * COOP_SEC) /* for each wait: a bug fails, it does not hang */

static struct coop_context *ctx;
static GMainLoop *loop;
static int sv[2] = {-1, -1}; /* the socketpair: [0] the client's end, [1] the echo's */
static uint64_t seed = 1;
static unsigned long slept, echoed, idled, ticks;
static int64_t idle_wall, idle_cpu;
static int64_t deadlines[SLEEPERS]; /* the sleepers': an int64_t fits no pointer on 32-bit */
static int failed, coop_done;

/* xorshift64: the same sleeps for the same SEED. */
static int64_t random_ms(int64_t max)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return (int64_t)(seed % (uint64_t)(max + 1));
}

static int64_t cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * COOP_SEC + ts.tv_nsec;
}

static void fail(const char *what, int rc)
{
	fprintf(stderr, "glib: %s: %s\n", what, strerror(-rc));
	failed = 1;
}

/* Sleeps until the deadline arg points to. */
static void *sleeper(void *arg)
{
	int rc = coop_sleep_until(*(const int64_t *)arg);

	if (rc < 0)
		fail("coop_sleep_until", rc);
	else
		slept++;
	return NULL;
}

/* Sleeps until cancelled: the idle check. */
static void *idler(void *arg)
{
	int rc = coop_sleep_until(coop_deadline_in(BOUND));

	(void)arg;
	if (rc != -ECANCELED)
		fail("coop_sleep_until", rc ? rc : -ETIMEDOUT);
	else
		idled++;
	return COOP_CANCELED;
}

/* Sends back whatever arrives on sv[1], until end of file. */
static void *echo(void *arg)
{
	char buf[256];
	ssize_t n, w = 0;

	(void)arg;
	while ((n = coop_read(sv[1], buf, sizeof(buf), coop_deadline_in(BOUND))) > 0)
		if ((w = coop_write(sv[1], buf, (size_t)n, coop_deadline_in(BOUND))) != n)
			break;
	if (n < 0 || w < 0)
		fail("echo", n < 0 ? (int)n : (int)w);
	coop_fd_close(sv[1]);
	return NULL;
}

/* Sends MESSAGES messages through echo() and checks each reply. */
static void *client(void *arg)
{
	char msg[64], reply[64];
	size_t len, got;
	ssize_t n;

	(void)arg;
	for (int i = 0; i < MESSAGES; i++) {
		len = (size_t)snprintf(msg, sizeof(msg), "message %d of %d", i, MESSAGES);
		if ((n = coop_write(sv[0], msg, len, coop_deadline_in(BOUND))) != (ssize_t)len) {
			fail("coop_write", n < 0 ? (int)n : -EIO);
			break;
		}
		/* A stream: the reply may come in pieces. */
		for (got = 0; got < len; got += (size_t)n)
			if ((n = coop_read(sv[0], reply + got, len - got, coop_deadline_in(BOUND))) <= 0)
				break;
		if (got < len || memcmp(msg, reply, len)) {
			fail("the echo differs", n < 0 ? (int)n : -EPROTO);
			break;
		}
		echoed++;
	}
	/* End of file for the echo task, which then closes its end. */
	shutdown(sv[0], SHUT_WR);
	coop_fd_close(sv[0]);
	return NULL;
}

/* Runs the workload, then measures a stretch where every task sleeps. */
static void *coordinator(void *arg)
{
	struct coop_task_opts opts = {.size = sizeof(opts)};
	struct coop_group *group;
	int64_t t0, c0;
	int rc, i;

	(void)arg;
	if ((rc = coop_group_create(NULL, &group)) < 0) {
		fail("coop_group_create", rc);
		return NULL;
	}
	opts.group = group;
	for (i = 0; i < SLEEPERS && rc >= 0; i++) {
		deadlines[i] = coop_deadline_in(random_ms(50) * COOP_MSEC);
		rc = coop_spawn(ctx, NULL, sleeper, &deadlines[i], &opts);
	}
	if (rc >= 0)
		rc = coop_spawn(ctx, NULL, echo, NULL, &opts);
	if (rc >= 0)
		rc = coop_spawn(ctx, NULL, client, NULL, &opts);
	if (rc < 0)
		fail("coop_spawn", rc);
	if ((rc = coop_group_wait(group, coop_deadline_in(BOUND))) < 0)
		fail("coop_group_wait", rc);

	/* The idle stretch.  The idlers run (and start sleeping) in the
	 * round after this one, before this task can wake again; nothing
	 * wakes them but the cancellation after the stretch.  So during it
	 * the only work in the process is the host's timer. */
	for (i = 0, rc = 0; i < SLEEPERS && rc >= 0; i++)
		rc = coop_spawn(ctx, NULL, idler, NULL, &opts);
	if (rc < 0)
		fail("coop_spawn", rc);
	coop_sleep_until(coop_deadline_in(10 * COOP_MSEC));
	t0 = coop_now();
	c0 = cpu_now();
	coop_sleep_until(t0 + IDLE);
	idle_cpu = cpu_now() - c0;
	idle_wall = coop_now() - t0;
	coop_group_cancel(group);
	if ((rc = coop_group_wait(group, coop_deadline_in(BOUND))) < 0)
		fail("coop_group_wait", rc);
	coop_group_destroy(group);
	return NULL;
}

/* The context's fd is readable: one round of coop work. */
static gboolean on_coop(gint fd, GIOCondition condition, gpointer data)
{
	int left = coop_run_once(ctx, 0);

	(void)fd;
	(void)condition;
	(void)data;
	if (left > 0)
		return G_SOURCE_CONTINUE;
	if (left < 0)
		fail("coop_run_once", left);
	else
		coop_done = 1;
	g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

/* The host's own work, which must keep running beside the tasks. */
static gboolean on_tick(gpointer data)
{
	(void)data;
	ticks++;
	return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
	struct coop_task *t;
	guint tick;
	int fd, rc;

	if (argc > 2 || (argc == 2 && !(seed = strtoull(argv[1], NULL, 10)))) {
		fprintf(stderr, "usage: glib [SEED]\n");
		return 2;
	}
	/* Non-blocking, as every fd coop waits on must be. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("glib: socketpair");
		return 1;
	}
	if ((rc = coop_context_create(&ctx, NULL)) < 0 ||
	    (rc = coop_spawn(ctx, &t, coordinator, NULL, NULL)) < 0 || (rc = coop_detach(t)) < 0 ||
	    (fd = rc = coop_context_fd(ctx)) < 0) {
		fprintf(stderr, "glib: %s\n", strerror(-rc));
		return 1;
	}

	loop = g_main_loop_new(NULL, FALSE);
	/* Level-triggered, for reading: the whole embedding. */
	g_unix_fd_add(fd, G_IO_IN, on_coop, NULL);
	tick = g_timeout_add(25, on_tick, NULL);
	g_main_loop_run(loop);
	g_source_remove(tick);
	g_main_loop_unref(loop);
	coop_context_destroy(ctx);

	printf("glib: %lu sleeps, %lu echoes, %lu host ticks; idle: %lu tasks, %.1f ms CPU in %.1f ms "
	       "(%.1f%%)\n", slept, echoed, ticks, idled, (double)idle_cpu / COOP_MSEC,
	       (double)idle_wall / COOP_MSEC,
	       idle_wall > 0 ? 100.0 * (double)idle_cpu / (double)idle_wall : 0);
	if (!coop_done || slept != SLEEPERS || echoed != MESSAGES || idled != SLEEPERS)
		failed = 1;
	if (ticks == 0) {
		fprintf(stderr, "glib: the host's timer never ran\n");
		failed = 1;
	}
	if (idle_wall < IDLE || (double)idle_cpu > IDLE_CPU_MAX * (double)idle_wall) {
		fprintf(stderr, "glib: busy while every task slept (more than %.0f%% CPU)\n",
			100 * IDLE_CPU_MAX);
		failed = 1;
	}
	return failed;
}
