/*
 * sd-event.c: a coop context driven by an sd-event loop (coop 1.1).
 *
 *   sd-event [SEED]
 *
 * An I/O source watches coop_context_fd() (an epoll fd: sd-event nests it
 * in its own epoll, level-triggered), which is readable whenever the
 * context has something to do; its callback calls coop_run_once(ctx, 0),
 * one bounded round of coop work, after which the loop dispatches its
 * other sources (here a 10 ms timer).  No sd_event_prepare/wait/dispatch
 * protocol to follow and no timeout to feed: the fd covers the tasks'
 * deadlines too.
 *
 * The work: 100 tasks sleep a random 0-50 ms (SEED picks them) while two
 * tasks pass 100 messages over a socketpair and back.  Exits 0 once every
 * task has finished its work and the loop has exited.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-event.h>
#include <coop/coop.h>

#define SLEEPERS 100
#define MESSAGES 100
#define TICK_USEC 10000
#define BOUND (30 * COOP_SEC) /* for each wait: a bug fails, it does not hang */

static struct coop_context *ctx;
static int sv[2] = {-1, -1}; /* the socketpair: [0] the client's end, [1] the echo's */
static uint64_t seed = 1;
static int64_t deadlines[SLEEPERS]; /* an int64_t fits no pointer on 32-bit */
static unsigned long slept, echoed, ticks;
static int failed, coop_done;

/* xorshift64: the same sleeps for the same SEED. */
static int64_t random_ms(int64_t max)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return (int64_t)(seed % (uint64_t)(max + 1));
}

static void fail(const char *what, int rc)
{
	fprintf(stderr, "sd-event: %s: %s\n", what, strerror(-rc));
	failed = 1;
}

static void *sleeper(void *arg)
{
	int rc = coop_sleep_until(*(const int64_t *)arg);

	if (rc < 0)
		fail("coop_sleep_until", rc);
	else
		slept++;
	return NULL;
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

/* The context's fd is readable: one round of coop work. */
static int on_coop(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	int left = coop_run_once(ctx, 0);

	(void)fd;
	(void)revents;
	(void)userdata;
	if (left > 0)
		return 0;
	if (left < 0)
		fail("coop_run_once", left);
	else
		coop_done = 1;
	return sd_event_exit(sd_event_source_get_event(s), failed);
}

/* The host's own work, which must keep running beside the tasks.  A time
 * source fires once: each tick sets the next. */
static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	int rc;

	(void)usec;
	(void)userdata;
	ticks++;
	if ((rc = sd_event_source_set_time_relative(s, TICK_USEC)) < 0 ||
	    (rc = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT)) < 0)
		fail("the timer", rc);
	return 0;
}

int main(int argc, char **argv)
{
	sd_event_source *watch = NULL, *tick = NULL;
	sd_event *event = NULL;
	int fd, rc;

	if (argc > 2 || (argc == 2 && !(seed = strtoull(argv[1], NULL, 10)))) {
		fprintf(stderr, "usage: sd-event [SEED]\n");
		return 2;
	}
	/* Non-blocking, as every fd coop waits on must be. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("sd-event: socketpair");
		return 1;
	}
	if ((rc = coop_context_create(&ctx, NULL)) < 0)
		goto coop_error;
	for (int i = 0; i < SLEEPERS; i++) {
		/* One of them sleeps the whole 50 ms: the timer has time to tick. */
		deadlines[i] = coop_deadline_in((i ? random_ms(50) : 50) * COOP_MSEC);
		if ((rc = coop_spawn(ctx, NULL, sleeper, &deadlines[i], NULL)) < 0)
			goto coop_error;
	}
	if ((rc = coop_spawn(ctx, NULL, echo, NULL, NULL)) < 0 ||
	    (rc = coop_spawn(ctx, NULL, client, NULL, NULL)) < 0 || (fd = rc = coop_context_fd(ctx)) < 0)
		goto coop_error;

	/* Level-triggered, for reading: the whole embedding. */
	if ((rc = sd_event_new(&event)) < 0 ||
	    (rc = sd_event_add_io(event, &watch, fd, EPOLLIN, on_coop, NULL)) < 0 ||
	    (rc = sd_event_add_time_relative(event, &tick, CLOCK_MONOTONIC, TICK_USEC, 0, on_tick,
					     NULL)) < 0) {
		fprintf(stderr, "sd-event: %s\n", strerror(-rc));
		return 1;
	}
	if ((rc = sd_event_loop(event)) < 0)
		fail("sd_event_loop", rc);
	sd_event_source_unref(tick);
	sd_event_source_unref(watch);
	sd_event_unref(event);
	coop_context_destroy(ctx);

	printf("sd-event: %lu sleeps, %lu echoes, %lu host ticks\n", slept, echoed, ticks);
	if (!coop_done || slept != SLEEPERS || echoed != MESSAGES)
		failed = 1;
	if (ticks == 0) {
		fprintf(stderr, "sd-event: the host's timer never ran\n");
		failed = 1;
	}
	return failed;

coop_error:
	fprintf(stderr, "sd-event: %s\n", strerror(-rc));
	return 1;
}
