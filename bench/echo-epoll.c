/*
 * echo-epoll.c: the ceiling of the echo benchmark (B-10): a hand-written
 * single-thread epoll echo loop in C, as a program with no scheduler at
 * all would do it.
 *
 *   echo-epoll PORT       (0 picks a free port)
 *
 * Listens on 127.0.0.1:PORT, prints "listening on 127.0.0.1:PORT" as its
 * first line, echoes every connection until it closes; SIGTERM ends it.
 *
 * Edge-triggered: every socket is registered once (EPOLLIN | EPOLLOUT |
 * EPOLLET) and never touched again, so a request costs a read and a write
 * plus its share of epoll_wait, nothing more.  A read that returns less
 * than it asked for has emptied the socket (an edge comes with any byte
 * that arrives later), so no read is spent to see EAGAIN.  Bytes a write
 * could not take wait in the connection, and reading stops until the
 * EPOLLOUT edge says there is room: the same back-pressure as the other
 * servers (a task blocked in its write reads nothing either).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536
#define MAX_EVENTS 512

struct conn {
	int fd;
	size_t len, off;      /* bytes read but not yet written: pending[off..len) */
	unsigned char *pending;
};

static unsigned char buf[BUF_SIZE];
static int listener;

static void die(const char *what)
{
	fprintf(stderr, "echo-epoll: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void drop(struct conn *c)
{
	close(c->fd); /* also takes it out of the epoll set */
	free(c->pending);
	free(c);
}

/* Write n bytes of p; what the socket cannot take now is kept in c.
 * 0 when all went, 1 when some wait, -1 when the connection is gone. */
static int put(struct conn *c, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(c->fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -1;
			if (c->pending != p) {
				unsigned char *q = malloc(n);

				if (!q)
					return -1;
				memcpy(q, p, n);
				free(c->pending);
				c->pending = q;
			}
			c->off = 0;
			c->len = n;
			return 1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void serve(struct conn *c)
{
	if (c->len) {
		int rc = put(c, c->pending + c->off, c->len - c->off);

		if (rc < 0) {
			drop(c);
			return;
		}
		if (rc > 0)
			return;
		c->len = 0;
	}
	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof(buf));
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			drop(c);
			return;
		}
		if ((rc = put(c, buf, (size_t)n)) < 0) {
			drop(c);
			return;
		}
		if (rc > 0 || (size_t)n < sizeof(buf))
			return;
	}
}

static void accept_all(int ep)
{
	for (;;) {
		int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET};
		struct conn *c;
		int one = 1;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN)
				return;
			die("accept4");
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!(c = calloc(1, sizeof(*c))))
			die("calloc");
		c->fd = fd;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			die("epoll_ctl");
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};
	struct epoll_event evs[MAX_EVENTS];
	int one = 1, ep;

	if (argc != 2) {
		fprintf(stderr, "usage: echo-epoll PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	if ((listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		die("socket");
	setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(listener, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(listener, SOMAXCONN) < 0 ||
	    getsockname(listener, (struct sockaddr *)&sa, &len) < 0)
		die("listen");
	printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
	fflush(stdout);

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev) < 0)
		die("epoll");
	for (;;) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, -1);

		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			if (!evs[i].data.ptr)
				accept_all(ep);
			else
				serve(evs[i].data.ptr);
		}
	}
}
