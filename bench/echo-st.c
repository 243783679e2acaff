/*
 * echo-st.c: the echo benchmark's (B-10) server on State Threads 1.9
 * (Debian's libst-dev): one st thread per connection, st_read/st_write.
 *
 *   echo-st PORT [select|poll]      (PORT 0 picks a free port)
 *
 * Listens on 127.0.0.1:PORT, prints "listening on 127.0.0.1:PORT" as its
 * first line; SIGTERM ends it.  It asks for ST's epoll event system
 * (ST_EVENTSYS_ALT) and, when the library has none (Debian's build has
 * not: st_set_eventsys() then succeeds but leaves the choice unset), for
 * poll(2), or the event system named on the command line.  Without epoll
 * ST keeps the fds of the waiting threads in one set and hands all of it
 * to each select(2) or poll(2): a dispatch costs O(waiting threads), and
 * select(2) stops at FD_SETSIZE (1,024) fds.  The event system used is
 * printed on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <st.h>

static void die(const char *what)
{
	fprintf(stderr, "echo-st: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *serve(void *arg)
{
	st_netfd_t c = arg;
	char buf[4096];
	ssize_t n;

	while ((n = st_read(c, buf, sizeof(buf), ST_UTIME_NO_TIMEOUT)) > 0)
		if (st_write(c, buf, (size_t)n, ST_UTIME_NO_TIMEOUT) != n)
			break;
	st_netfd_close(c);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	st_netfd_t lfd;
	int one = 1, s, rc;

	if (argc < 2 || argc > 3 ||
	    (argc == 3 && strcmp(argv[2], "select") && strcmp(argv[2], "poll"))) {
		fprintf(stderr, "usage: echo-st PORT [select|poll]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3)
		rc = st_set_eventsys(strcmp(argv[2], "poll") ? ST_EVENTSYS_SELECT
							     : ST_EVENTSYS_POLL);
	else if ((rc = st_set_eventsys(ST_EVENTSYS_ALT)) == 0 &&
		 st_get_eventsys() != ST_EVENTSYS_ALT)
		rc = st_set_eventsys(ST_EVENTSYS_POLL);
	if (rc < 0)
		die("st_set_eventsys");
	if (st_init() < 0)
		die("st_init");
	fprintf(stderr, "echo-st: event system %s\n", st_get_eventsys_name());

	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s, SOMAXCONN) < 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) < 0)
		die("listen");
	if (!(lfd = st_netfd_open_socket(s)))
		die("st_netfd_open_socket");
	printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
	fflush(stdout);

	for (;;) {
		st_netfd_t c = st_accept(lfd, NULL, NULL, ST_UTIME_NO_TIMEOUT);

		if (!c)
			continue; /* EINTR, or out of fds for now */
		setsockopt(st_netfd_fileno(c), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!st_thread_create(serve, c, 0, 0))
			st_netfd_close(c);
	}
}
