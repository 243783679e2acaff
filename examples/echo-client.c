/*
 * echo-client.c: load generator and checker for an echo server (coop 1.1).
 *
 *   echo-client [--connections N] [--requests R | --seconds S]
 *               [--size BYTES] [--cache] HOST PORT
 *
 * Opens N connections (default 10), one task each.  Each task sends a
 * message of BYTES (default 64), reads until as many bytes came back,
 * checks they are the same and records the round trip; R times (default
 * 1000), or for S seconds.  Then prints one line:
 *
 *   connections=N requests=TOTAL seconds=X.XXX rps=Y p50_us=A p99_us=B
 *
 * and exits 0 only if every request came back intact.  --cache runs the
 * context with COOP_CONTEXT_FD_CACHE.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <coop/coop.h>

/* A server that answers nothing for this long counts as a failure. */
#define IO_TIMEOUT (10 * COOP_SEC)
/* Bytes sent ahead of the echo: with more, both sides could fill their
 * socket buffers and block in write, each waiting for the other to read. */
#define WINDOW ((size_t)16384)

static struct addrinfo *server;
static unsigned long connections = 10, requests = 1000;
static size_t size = 64;
static int64_t stop_at = -1;    /* --seconds: when the tasks stop sending */
static int64_t *rtt;            /* every round trip, in ns */
static size_t nrtt, rtt_cap;
static int failed;

static void die(const char *what, int err)
{
	fprintf(stderr, "echo-client: %s: %s\n", what, strerror(err));
	exit(1);
}

/* Per connection and request: printable, and different each time, so a
 * reply from the wrong request or connection does not pass for its own. */
static void fill(char *msg, unsigned long conn, unsigned long req)
{
	char head[64];
	int n = snprintf(head, sizeof(head), "conn %lu req %lu:", conn, req);

	for (size_t i = 0; i < size; i++)
		msg[i] = (char)('a' + (conn * 7 + req * 3 + i) % 26);
	memcpy(msg, head, (size_t)n < size ? (size_t)n : size);
}

static void record(int64_t ns)
{
	if (nrtt == rtt_cap) {
		rtt_cap = rtt_cap ? 2 * rtt_cap : 4096;
		if (!(rtt = realloc(rtt, rtt_cap * sizeof(*rtt))))
			die("realloc", ENOMEM);
	}
	rtt[nrtt++] = ns;
}

/* One round trip: 0, or a negative errno with *call naming what failed
 * (a read at end of file is -ECONNRESET; a wrong echo, -EPROTO). */
static int round_trip(int fd, const char *msg, char *reply, const char **call)
{
	size_t sent = 0, got = 0, n;
	ssize_t rc;

	while (got < size) {
		n = size - sent < WINDOW - (sent - got) ? size - sent : WINDOW - (sent - got);
		if (n > 0) {
			*call = "coop_write";
			rc = coop_write(fd, msg + sent, n, coop_deadline_in(IO_TIMEOUT));
			if (rc < 0 || (size_t)rc < n)
				return rc < 0 ? (int)rc : -ETIMEDOUT;
			sent += n;
		}
		*call = "coop_read";
		rc = coop_read(fd, reply + got, size - got, coop_deadline_in(IO_TIMEOUT));
		if (rc <= 0)
			return rc < 0 ? (int)rc : -ECONNRESET;
		got += (size_t)rc;
	}
	*call = "the echo differs from the request";
	return memcmp(msg, reply, size) ? -EPROTO : 0;
}

static void *connection(void *arg)
{
	unsigned long conn = (unsigned long)(uintptr_t)arg, req;
	char *msg = malloc(size), *reply = malloc(size);
	int one = 1, fd = -1, rc;
	const char *call;
	int64_t t0;

	if (!msg || !reply)
		die("malloc", ENOMEM);
	/* Non-blocking, as every fd coop waits on must be. */
	fd = socket(server->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket", errno);
	/* Each message must leave at once, not wait for an earlier ACK. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		die("setsockopt TCP_NODELAY", errno);
	rc = coop_connect(fd, server->ai_addr, server->ai_addrlen, coop_deadline_in(IO_TIMEOUT));
	if (rc < 0) {
		fprintf(stderr, "echo-client: connection %lu: coop_connect: %s\n", conn, strerror(-rc));
		failed = 1;
		goto out;
	}
	for (req = 0; stop_at < 0 ? req < requests : coop_now() < stop_at; req++) {
		fill(msg, conn, req);
		t0 = coop_now();
		if ((rc = round_trip(fd, msg, reply, &call)) < 0) {
			fprintf(stderr, "echo-client: connection %lu request %lu: %s%s%s\n", conn, req,
				call, rc == -EPROTO ? "" : ": ", rc == -EPROTO ? "" : strerror(-rc));
			failed = 1;
			break;
		}
		record(coop_now() - t0);
	}
out:
	/* Not close(): in COOP_CONTEXT_FD_CACHE mode the context keeps the fd
	 * registered until coop_fd_close() tells it the fd is gone. */
	coop_fd_close(fd);
	free(msg);
	free(reply);
	return NULL;
}

static int by_value(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank, in microseconds. */
static double percentile(unsigned int p)
{
	size_t rank = (nrtt * p + 99) / 100;

	return nrtt ? (double)rtt[rank ? rank - 1 : 0] / COOP_USEC : 0;
}

static unsigned long number(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || *s == '-' || v == 0 || v > max) {
		fprintf(stderr, "echo-client: bad number: %s\n", s);
		exit(2);
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr, "usage: echo-client [--connections N] [--requests R | --seconds S] "
		"[--size BYTES] [--cache] HOST PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"connections", required_argument, NULL, 'n'},
		{"requests", required_argument, NULL, 'r'},
		{"seconds", required_argument, NULL, 's'},
		{"size", required_argument, NULL, 'b'},
		{"cache", no_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
	struct coop_context_opts copts = {.size = sizeof(copts)};
	struct coop_context *ctx = NULL;
	unsigned long seconds = 0;
	int have_requests = 0, opt, rc;
	int64_t start, elapsed;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n': connections = number(optarg, 1000000); break;
		case 'r': requests = number(optarg, ULONG_MAX / 2); have_requests = 1; break;
		case 's': seconds = number(optarg, 1000000); break;
		case 'b': size = number(optarg, 1 << 30); break;
		case 'c': copts.flags |= COOP_CONTEXT_FD_CACHE; break;
		default: usage();
		}
	}
	if (optind != argc - 2 || (have_requests && seconds))
		usage();
	if ((rc = getaddrinfo(argv[optind], argv[optind + 1], &hints, &server)) != 0) {
		fprintf(stderr, "echo-client: getaddrinfo %s %s: %s\n", argv[optind],
			argv[optind + 1], gai_strerror(rc));
		return 1;
	}
	/* A server that hangs up while we write must be an error for that
	 * connection's task, not the end of the process. */
	signal(SIGPIPE, SIG_IGN);

	if ((rc = coop_context_create(&ctx, &copts)) < 0)
		die("coop_context_create", -rc);
	for (unsigned long i = 0; i < connections; i++)
		if ((rc = coop_spawn(ctx, NULL, connection, (void *)(uintptr_t)i, NULL)) < 0)
			die("coop_spawn", -rc);
	start = coop_now();
	if (seconds)
		stop_at = start + (int64_t)seconds * COOP_SEC;
	if ((rc = coop_run(ctx)) < 0)
		die("coop_run", -rc);
	elapsed = coop_now() - start;
	coop_context_destroy(ctx);
	freeaddrinfo(server);

	qsort(rtt, nrtt, sizeof(*rtt), by_value);
	printf("connections=%lu requests=%zu seconds=%.3f rps=%.0f p50_us=%.0f p99_us=%.0f\n",
	       connections, nrtt, (double)elapsed / COOP_SEC,
	       elapsed > 0 ? (double)nrtt * COOP_SEC / (double)elapsed : 0,
	       percentile(50), percentile(99));
	free(rtt);
	return failed;
}
