/*
 * echo-load.c: the load generator of the echo benchmark (B-10), the same
 * for every server: a single-thread epoll client in plain C, no coop, so
 * that it favours no server.
 *
 *   echo-load [-c CONNS] [-d SECONDS] [-w SECONDS] [-s SIZE] [-p PID]
 *             [-a ADDRESS] PORT
 *
 * CONNS connections (default 1) to ADDRESS:PORT (default 127.0.0.1), each
 * a closed loop: write SIZE bytes (default 64), wait for the SIZE bytes of
 * the echo, check them, write the next message.  Warm-up: until every
 * connection has had one echo back, then -w seconds more (default 0.5);
 * then -d seconds are measured (default 3).  The messages differ from one
 * another (connection number, sequence number), so an echo of the wrong
 * bytes, or of a stale message, is caught: the generator then says so and
 * exits 1.
 *
 * It prints one line:
 *
 *   conns=N size=S seconds=D requests=R rps=X p50_us=Y p99_us=Z total=T
 *   load_busy=B [server_busy=B server_cpu_us=C]
 *
 * requests and rps count the echoes completed in the measured window,
 * p50/p99 the latency of those (from the first byte written to the last
 * byte of the echo read, per message), total every echo completed since
 * the start (warm-up included: what a syscall count over the server's
 * whole life divides by).  load_busy is the generator's own CPU time over
 * the window's length: near 1.0, the generator is the bottleneck, and
 * the server's CPU time per request (below) is the figure that still
 * compares.  With -p PID (the server's process), server_busy is the same
 * for the server and server_cpu_us its CPU time per request, both summed
 * over every thread of PID (/proc/PID/task/TID/schedstat, in ns).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

#define MAX_SIZE 65536
#define MAX_EVENTS 1024

struct conn {
	int fd;
	uint32_t id;
	uint64_t seq;      /* number of the message in flight */
	size_t sent;       /* bytes of it written */
	size_t got;        /* bytes of its echo read */
	int64_t t_sent;    /* when its first byte was written */
	int want_out;      /* EPOLLOUT asked for (a partial write) */
	unsigned char *out;
	unsigned char *in;
};

static size_t msg_size = 64;
static int ep;

static void die(const char *what)
{
	fprintf(stderr, "echo-load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void fail(const char *fmt, const char *detail)
{
	fprintf(stderr, "echo-load: ");
	fprintf(stderr, fmt, detail);
	fputc('\n', stderr);
	exit(1);
}

static int64_t self_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

/* The message a connection sends as its seq'th: its numbers first, then
 * bytes that depend on both, so that no two messages in a row agree. */
static void fill(struct conn *c)
{
	uint64_t x = ((uint64_t)c->id << 40) ^ c->seq;

	for (size_t i = 0; i < msg_size; i++) {
		if (i < 8) {
			c->out[i] = (unsigned char)(x >> (8 * i));
		} else {
			x = x * 6364136223846793005u + 1442695040888963407u;
			c->out[i] = (unsigned char)(x >> 56);
		}
	}
}

static void want_out(struct conn *c, int on)
{
	struct epoll_event ev = {
		.events = EPOLLIN | (on ? EPOLLOUT : 0),
		.data.ptr = c,
	};

	if (c->want_out == on)
		return;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die("epoll_ctl");
	c->want_out = on;
}

/* Write what is left of the message in flight; a partial write waits for
 * EPOLLOUT (64-byte messages never make one in practice). */
static void push(struct conn *c)
{
	while (c->sent < msg_size) {
		ssize_t n = write(c->fd, c->out + c->sent, msg_size - c->sent);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				want_out(c, 1);
				return;
			}
			die("write");
		}
		c->sent += (size_t)n;
	}
	want_out(c, 0);
}

static void start(struct conn *c, int64_t t)
{
	c->seq++;
	c->sent = c->got = 0;
	c->t_sent = t;
	fill(c);
	push(c);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static void usage(void)
{
	fprintf(stderr, "usage: echo-load [-c CONNS] [-d SECONDS] [-w SECONDS] "
			"[-s SIZE] [-p PID] [-a ADDRESS] PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1";
	double seconds = 3, warm = 0.5;
	long nconns = 1;
	pid_t server = 0;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct epoll_event evs[MAX_EVENTS];
	struct conn *conns;
	uint32_t *lat = NULL;
	size_t nlat = 0, caplat = 0;
	uint64_t total = 0, window = 0;
	long unechoed;
	int64_t t0, t_warm = 0, t_m0 = 0, t_end = 0, t_last;
	int64_t cpu0 = 0, scpu0 = 0;
	int opt;

	while ((opt = getopt(argc, argv, "c:d:w:s:p:a:")) != -1) {
		switch (opt) {
		case 'c': nconns = atol(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 'w': warm = atof(optarg); break;
		case 's': msg_size = (size_t)atol(optarg); break;
		case 'p': server = (pid_t)atol(optarg); break;
		case 'a': addr = optarg; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || nconns < 1 || seconds <= 0 || warm < 0 ||
	    msg_size < 1 || msg_size > MAX_SIZE)
		usage();
	sa.sin_port = htons((uint16_t)atoi(argv[optind]));
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		fail("not an IPv4 address: %s", addr);
	signal(SIGPIPE, SIG_IGN);

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	if (!(conns = calloc((size_t)nconns, sizeof(*conns))))
		die("calloc");
	/* Connect them all first (a blocking connect each: the handshake is
	 * the kernel's, the server need not have accepted yet), then start
	 * every loop at once. */
	for (long i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		int one = 1;

		c->id = (uint32_t)i;
		if (!(c->out = malloc(2 * msg_size)))
			die("malloc");
		c->in = c->out + msg_size;
		if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			die("socket");
		while (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			if (errno != EINTR)
				die("connect");
		if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
			die("TCP_NODELAY");
		if (fcntl(c->fd, F_SETFL, O_NONBLOCK) < 0)
			die("fcntl");
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			die("epoll_ctl");
	}
	t0 = t_last = now_ns();
	for (long i = 0; i < nconns; i++)
		start(&conns[i], t0);
	unechoed = nconns;

	for (;;) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, 100);
		int64_t t = now_ns();

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if ((evs[i].events & EPOLLOUT) && c->sent < msg_size)
				push(c);
			if (!(evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				continue;
			/* Read only what is missing of the echo: no more can
			 * come before the next message is written. */
			for (;;) {
				ssize_t r = read(c->fd, c->in + c->got, msg_size - c->got);

				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0 && errno == EAGAIN)
					break;
				if (r < 0)
					die("read");
				if (r == 0)
					fail("%s", "the server closed a connection");
				c->got += (size_t)r;
				if (c->got < msg_size)
					continue;
				if (c->sent < msg_size || memcmp(c->in, c->out, msg_size))
					fail("%s", "the echo differs from the message sent");
				t = now_ns();
				total++;
				if (c->seq == 1 && --unechoed == 0)
					t_warm = t + (int64_t)(warm * 1e9);
				if (t_m0 && t < t_end) {
					int64_t l = t - c->t_sent;

					if (nlat == caplat) {
						caplat = caplat ? 2 * caplat : 1 << 16;
						if (!(lat = realloc(lat, caplat * sizeof(*lat))))
							die("realloc");
					}
					lat[nlat++] = l > UINT32_MAX ? UINT32_MAX : (uint32_t)l;
					window++;
				}
				t_last = t;
				start(c, t);
				break;
			}
		}
		if (!t_m0 && t_warm && t >= t_warm) {
			t_m0 = t;
			t_end = t + (int64_t)(seconds * 1e9);
			cpu0 = self_cpu_ns();
			if (server)
				scpu0 = proc_cpu_ns(server);
		}
		if (t_m0 && t >= t_end)
			break;
		if (t - t_last > 10 * (int64_t)1000000000)
			fail("%s", "no echo for 10 s: is the server stuck?");
	}

	{
		int64_t t = now_ns();
		double span = (double)(t_end - t_m0) / 1e9;
		double busy = (double)(self_cpu_ns() - cpu0) / (double)(t - t_m0);

		qsort(lat, nlat, sizeof(*lat), cmp_u32);
		printf("conns=%ld size=%zu seconds=%.2f requests=%" PRIu64
		       " rps=%.0f p50_us=%.1f p99_us=%.1f total=%" PRIu64
		       " load_busy=%.2f",
		       nconns, msg_size, span, window, (double)window / span,
		       nlat ? lat[nlat / 2] / 1e3 : 0.0,
		       nlat ? lat[(size_t)((double)nlat * 0.99)] / 1e3 : 0.0,
		       total, busy);
		if (server) {
			int64_t s = proc_cpu_ns(server);

			if (s >= 0 && scpu0 >= 0)
				printf(" server_busy=%.2f server_cpu_us=%.2f",
				       (double)(s - scpu0) / (double)(t - t_m0),
				       window ? (double)(s - scpu0) / 1e3 / (double)window : 0.0);
		}
		printf("\n");
	}
	return 0;
}
