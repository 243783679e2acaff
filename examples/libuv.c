/*
 * libuv.c: a coop context driven by a libuv loop (coop 1.1).
 *
 *   libuv [SEED]
 *
 * A uv_poll_t watches coop_context_fd(), which is readable whenever the
 * context has something to do, and its callback calls coop_run_once(ctx, 0):
 * one bounded round of coop work, after which the loop runs its other
 * handles (here a 10 ms uv_timer_t).  Nothing else is needed: the fd also
 * covers the tasks' deadlines, so there is no timeout to feed the loop.
 *
 * The work: 100 tasks sleep a random 0-50 ms (SEED picks them) while two
 * tasks play 1,000 rounds of ping-pong over two unbuffered channels.  Exits
 * 0 once every task has finished its work and the loop has no handle left.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <coop/coop.h>

#define SLEEPERS 100
#define ROUNDS 1000
#define BOUND (30 * COOP_SEC) /* for each wait: a bug fails, it does not hang */

static struct coop_context *ctx;
static struct coop_chan *to_pong, *to_ping;
static uv_loop_t loop;
static uv_poll_t coop_watch;
static uv_timer_t tick;
static uint64_t seed = 1;
static int64_t deadlines[SLEEPERS]; /* an int64_t fits no pointer on 32-bit */
static unsigned long slept, rounds, ticks;
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
	fprintf(stderr, "libuv: %s: %s\n", what, strerror(-rc));
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

/* Sends 0, 2, 4, ... and expects each back plus one. */
static void *ping(void *arg)
{
	int rc = 0;

	(void)arg;
	for (int i = 0; i < ROUNDS && rc == 0; i++) {
		int out = 2 * i, in = -1;

		if ((rc = coop_chan_send(to_pong, &out, coop_deadline_in(BOUND))) < 0 ||
		    (rc = coop_chan_recv(to_ping, &in, coop_deadline_in(BOUND))) < 0)
			fail("ping", rc);
		else if (in != out + 1)
			fail("ping: a wrong reply", rc = -EPROTO);
		else
			rounds++;
	}
	/* pong() receives -EPIPE and ends. */
	coop_chan_close(to_pong);
	return NULL;
}

static void *pong(void *arg)
{
	int v, rc;

	(void)arg;
	while ((rc = coop_chan_recv(to_pong, &v, coop_deadline_in(BOUND))) == 0) {
		v++;
		if ((rc = coop_chan_send(to_ping, &v, coop_deadline_in(BOUND))) < 0)
			break;
	}
	if (rc != -EPIPE)
		fail("pong", rc);
	return NULL;
}

/* Stops watching: once both handles are closed, uv_run() returns. */
static void stop(void)
{
	uv_poll_stop(&coop_watch);
	uv_close((uv_handle_t *)&coop_watch, NULL);
	uv_timer_stop(&tick);
	uv_close((uv_handle_t *)&tick, NULL);
}

/* The context's fd is readable: one round of coop work. */
static void on_coop(uv_poll_t *handle, int status, int events)
{
	int left;

	(void)handle;
	(void)events;
	if (status < 0) {
		fprintf(stderr, "libuv: uv_poll: %s\n", uv_strerror(status));
		failed = 1;
		stop();
		return;
	}
	if ((left = coop_run_once(ctx, 0)) > 0)
		return;
	if (left < 0)
		fail("coop_run_once", left);
	else
		coop_done = 1;
	stop();
}

/* The host's own work, which must keep running beside the tasks. */
static void on_tick(uv_timer_t *handle)
{
	(void)handle;
	ticks++;
}

int main(int argc, char **argv)
{
	int fd, rc;

	if (argc > 2 || (argc == 2 && !(seed = strtoull(argv[1], NULL, 10)))) {
		fprintf(stderr, "usage: libuv [SEED]\n");
		return 2;
	}
	if ((rc = coop_context_create(&ctx, NULL)) < 0 ||
	    (rc = coop_chan_create(ctx, &to_pong, sizeof(int), 0)) < 0 ||
	    (rc = coop_chan_create(ctx, &to_ping, sizeof(int), 0)) < 0)
		goto coop_error;
	for (int i = 0; i < SLEEPERS; i++) {
		/* One of them sleeps the whole 50 ms: the timer has time to tick. */
		deadlines[i] = coop_deadline_in((i ? random_ms(50) : 50) * COOP_MSEC);
		if ((rc = coop_spawn(ctx, NULL, sleeper, &deadlines[i], NULL)) < 0)
			goto coop_error;
	}
	if ((rc = coop_spawn(ctx, NULL, ping, NULL, NULL)) < 0 ||
	    (rc = coop_spawn(ctx, NULL, pong, NULL, NULL)) < 0 || (fd = rc = coop_context_fd(ctx)) < 0)
		goto coop_error;

	if ((rc = uv_loop_init(&loop)) < 0 || (rc = uv_timer_init(&loop, &tick)) < 0 ||
	    (rc = uv_timer_start(&tick, on_tick, 10, 10)) < 0) {
		fprintf(stderr, "libuv: %s\n", uv_strerror(rc));
		return 1;
	}
	/* Level-triggered, for reading: the whole embedding. */
	if ((rc = uv_poll_init(&loop, &coop_watch, fd)) < 0 ||
	    (rc = uv_poll_start(&coop_watch, UV_READABLE, on_coop)) < 0) {
		fprintf(stderr, "libuv: uv_poll: %s\n", uv_strerror(rc));
		return 1;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	if ((rc = uv_loop_close(&loop)) < 0) {
		fprintf(stderr, "libuv: uv_loop_close: %s\n", uv_strerror(rc));
		failed = 1;
	}
	coop_context_destroy(ctx);
	coop_chan_destroy(to_pong);
	coop_chan_destroy(to_ping);

	printf("libuv: %lu sleeps, %lu ping-pong rounds, %lu host ticks\n", slept, rounds, ticks);
	if (!coop_done || slept != SLEEPERS || rounds != ROUNDS)
		failed = 1;
	if (ticks == 0) {
		fprintf(stderr, "libuv: the host's timer never ran\n");
		failed = 1;
	}
	return failed;

coop_error:
	fprintf(stderr, "libuv: %s\n", strerror(-rc));
	return 1;
}
