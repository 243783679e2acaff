/*
 * echo-server.c: a TCP echo server, one task per connection (coop 1.1).
 *
 *   echo-server [--cache] [--idle-timeout SECONDS] [--bind ADDR] PORT
 *
 * Listens on ADDR:PORT (IPv4; ADDR 127.0.0.1 unless --bind; PORT 0 picks a
 * free port), prints "listening on ADDR:PORT" and sends back whatever each
 * client sends, dropping clients idle for SECONDS (default 60).  SIGINT or
 * SIGTERM stops it cleanly: it cancels every task, waits for them, and
 * prints what it did on stderr.  --cache runs the context with
 * COOP_CONTEXT_FD_CACHE.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <coop/coop.h>

static struct coop_context *ctx;
static struct coop_group *tasks;  /* the acceptor and every connection */
static struct coop_task *stopper;
static int listen_fd = -1, signal_fd = -1;
static int64_t idle_timeout = 60 * COOP_SEC;
static unsigned long long served, echoed;
static int failed;

static void die(const char *call, int rc)
{
	fprintf(stderr, "echo-server: %s: %s\n", call, strerror(-rc));
	exit(1);
}

/* Echoes until the client closes, goes idle, fails, or we shut down. */
static void *connection(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[16384];
	ssize_t n, w = 0;

	/* Each read and write gets a fresh deadline: "idle" means no progress
	 * for that long, in either direction (a client that never reads its
	 * echo would otherwise hold this task in coop_write forever). */
	while ((n = coop_read(fd, buf, sizeof(buf), coop_deadline_in(idle_timeout))) > 0) {
		w = coop_write(fd, buf, (size_t)n, coop_deadline_in(idle_timeout));
		if (w > 0)
			echoed += (unsigned long long)w;
		if (w != n)
			break;
	}
	if (n > 0)
		n = w;  /* the write's error (or short count) ended it */
	/* End of file, an idle client, a shutdown and a client that reset the
	 * connection are how connections end: only the rest is worth a line. */
	if (n < 0 && n != -ETIMEDOUT && n != -ECANCELED && n != -ECONNRESET && n != -EPIPE)
		fprintf(stderr, "echo-server: connection: %s\n", strerror((int)-n));
	/* Not close(): in COOP_CONTEXT_FD_CACHE mode the context keeps the fd
	 * registered until coop_fd_close() tells it the fd is gone. */
	coop_fd_close(fd);
	return NULL;
}

static void *acceptor(void *arg)
{
	struct coop_task_opts opts = {.size = sizeof(opts), .group = tasks};
	int one = 1, fd, rc;

	(void)arg;
	for (;;) {
		fd = coop_accept(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC, COOP_FOREVER);
		if (fd == -ECANCELED)
			return COOP_CANCELED;
		if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
			/* Out of fds or memory: the client stays queued; try
			 * again once some connection may have ended. */
			fprintf(stderr, "echo-server: coop_accept: %s (retrying)\n", strerror(-fd));
			if (coop_sleep_until(coop_deadline_in(100 * COOP_MSEC)) < 0)
				return COOP_CANCELED;
			continue;
		}
		if (fd < 0) {
			/* Fatal: cancelling the stopper shuts the server down
			 * the same way a signal does. */
			fprintf(stderr, "echo-server: coop_accept: %s\n", strerror(-fd));
			failed = 1;
			coop_cancel(stopper);
			return NULL;
		}
		/* Small replies must leave at once, not wait for the ACK of
		 * the previous one (Nagle's algorithm). */
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
			fprintf(stderr, "echo-server: setsockopt TCP_NODELAY: %s\n", strerror(errno));
		/* Detached: nobody joins a connection; the group is how the
		 * stopper reaches the ones still running. */
		if ((rc = coop_spawn(ctx, NULL, connection, (void *)(intptr_t)fd, &opts)) < 0) {
			fprintf(stderr, "echo-server: coop_spawn: %s (connection dropped)\n", strerror(-rc));
			coop_fd_close(fd);
			continue;
		}
		served++;
	}
}

/* Waits for SIGINT or SIGTERM (or for the acceptor to cancel it), then
 * stops every task and releases the fds the context waited on. */
static void *stop_on_signal(void *arg)
{
	struct signalfd_siginfo si;
	ssize_t n;
	int rc;

	(void)arg;
	n = coop_read(signal_fd, &si, sizeof(si), COOP_FOREVER);
	if (n == (ssize_t)sizeof(si))
		fprintf(stderr, "echo-server: %s: shutting down\n", strsignal((int)si.ssi_signo));
	else if (n != -ECANCELED)
		fprintf(stderr, "echo-server: coop_read signalfd: %s\n", strerror((int)-n));
	coop_group_cancel(tasks);
	/* Cancelled tasks end at their next blocking call; 5 s is a bound in
	 * case one is shielded.  A cancelled stopper gets -ECANCELED here once
	 * the group is empty, which is just as good. */
	rc = coop_group_wait(tasks, coop_deadline_in(5 * COOP_SEC));
	if (rc == -ETIMEDOUT) {
		fprintf(stderr, "echo-server: coop_group_wait: some connections did not stop\n");
		exit(1);
	}
	coop_fd_close(listen_fd);
	coop_fd_close(signal_fd);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: echo-server [--cache] [--idle-timeout SECONDS] [--bind ADDR] PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"cache", no_argument, NULL, 'c'},
		{"idle-timeout", required_argument, NULL, 'i'},
		{"bind", required_argument, NULL, 'b'},
		{NULL, 0, NULL, 0},
	};
	struct coop_context_opts copts = {.size = sizeof(copts)};
	struct coop_task_opts member = {.size = sizeof(member)};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	const char *addr = "127.0.0.1";
	char *end, name[INET_ADDRSTRLEN];
	double seconds;
	long port;
	sigset_t mask;
	int opt, one = 1, rc;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'c') {
			copts.flags |= COOP_CONTEXT_FD_CACHE;
		} else if (opt == 'i') {
			seconds = strtod(optarg, &end);
			if (*end || !(seconds > 0 && seconds < 1e9))
				usage();
			idle_timeout = (int64_t)(seconds * COOP_SEC);
		} else if (opt == 'b') {
			addr = optarg;
		} else {
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	port = strtol(argv[optind], &end, 10);
	if (*end || end == argv[optind] || port < 0 || port > 65535)
		usage();
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "echo-server: --bind %s: not an IPv4 address\n", addr);
		exit(2);
	}
	sin.sin_port = htons((uint16_t)port);

	/* A client that goes away while we write to it must be an EPIPE
	 * error for its task, not the end of the process. */
	signal(SIGPIPE, SIG_IGN);
	/* Blocked signals wait in the signalfd for a task to read them: no
	 * handler, and nothing interrupts coop_run while it waits. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		die("sigprocmask", -errno);
	if ((signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		die("signalfd", -errno);

	/* Non-blocking, as every fd coop waits on must be. */
	if ((listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		die("socket", -errno);
	if (setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("setsockopt SO_REUSEADDR", -errno);
	if (bind(listen_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("bind", -errno);
	if (listen(listen_fd, SOMAXCONN) < 0)
		die("listen", -errno);
	if (getsockname(listen_fd, (struct sockaddr *)&sin, &len) < 0)
		die("getsockname", -errno);
	inet_ntop(AF_INET, &sin.sin_addr, name, sizeof(name));
	/* Scripts read the port from this line: flush it now, stdout may be
	 * a pipe. */
	printf("listening on %s:%u\n", name, ntohs(sin.sin_port));
	fflush(stdout);

	if ((rc = coop_context_create(&ctx, &copts)) < 0)
		die("coop_context_create", rc);
	if ((rc = coop_group_create(ctx, &tasks)) < 0)
		die("coop_group_create", rc);
	member.group = tasks;
	/* The stopper outlives the acceptor (it waits for the group), so the
	 * acceptor may use its handle although it is detached. */
	if ((rc = coop_spawn(ctx, &stopper, stop_on_signal, NULL, NULL)) < 0 ||
	    (rc = coop_spawn(ctx, NULL, acceptor, NULL, &member)) < 0)
		die("coop_spawn", rc);
	if ((rc = coop_detach(stopper)) < 0)
		die("coop_detach", rc);
	/* Returns 0 once every task has ended: after a signal. */
	if ((rc = coop_run(ctx)) < 0)
		die("coop_run", rc);
	fprintf(stderr, "echo-server: %llu connections served, %llu bytes echoed\n", served, echoed);
	coop_group_destroy(tasks);
	coop_context_destroy(ctx);
	return failed;
}
