/*
 * io.c: the thin I/O calls (coop_read, coop_write, coop_accept,
 * coop_connect): each a loop over the system call and coop_fd_wait, so a
 * program need not write the EAGAIN loop again.  The fd must be
 * non-blocking; coop never changes its flags.  Each is a blocking call
 * like every other: argument checks, -EPERM outside a task, cancellation
 * at entry (R2), the deadline for every wait (R1), and the budget of
 * completions without waiting (R7).  None sets errno.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "poller.h"
#include "wait.h"

/* The checks every call makes before it tries anything (A7.1's order):
 * 0, or the error to return. */
static int io_enter(int fd, int64_t deadline, struct coop_task **self)
{
	if (deadline < COOP_FOREVER)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	if (!(*self = coop__self))
		return -EPERM;
	return coop__cancel_point(*self);
}

/* Wait until fd is ready for `events`: 0 (*waited set), or the error. */
static int io_wait(int fd, unsigned events, int64_t deadline, bool *waited)
{
	int rc = coop_fd_wait(fd, events, deadline);

	if (rc < 0)
		return rc;
	*waited = true;
	return 0;
}

/* A system call on fd failed (errno): 1 to try it again at once (EINTR),
 * 0 once fd is ready for `events` (*waited set), or the negative errno to
 * return. */
static int io_again(int fd, unsigned events, int64_t deadline, bool *waited)
{
	if (errno == EINTR)
		return 1;
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		return -errno;
	return io_wait(fd, events, deadline, waited);
}

/* A call that completed: if it never waited, that spends budget (R7). */
static inline void io_done(struct coop_task *self, bool waited)
{
	if (!waited)
		coop__spent(self);
}

COOP_EXPORT ssize_t coop_read(int fd, void *buf, size_t n, int64_t deadline)
{
	struct coop_task *self;
	bool waited = false;
	int saved = errno, rc;
	ssize_t got;

	if (!buf && n)
		return -EINVAL;
	if ((rc = io_enter(fd, deadline, &self)) < 0)
		return rc;
	/* The last read emptied it (see coop__fd_short_read): wait first. */
	if (n && coop__fd_drained(self->ctx, fd) &&
	    (rc = io_wait(fd, COOP_FD_READ, deadline, &waited)) < 0) {
		errno = saved;
		return rc;
	}
	for (;;) {
		if ((got = read(fd, buf, n)) >= 0)
			break;
		if ((rc = io_again(fd, COOP_FD_READ, deadline, &waited)) < 0) {
			got = rc;
			break;
		}
	}
	errno = saved;
	if (got >= 0) {
		if (got > 0 && (size_t)got < n)
			coop__fd_short_read(self->ctx, fd);
		io_done(self, waited);
	}
	return got;
}

COOP_EXPORT ssize_t coop_write(int fd, const void *buf, size_t n, int64_t deadline)
{
	struct coop_task *self;
	bool waited = false;
	size_t done = 0;
	ssize_t put = 0;
	int saved = errno, rc;

	if (!buf && n)
		return -EINVAL;
	if ((rc = io_enter(fd, deadline, &self)) < 0)
		return rc;
	/* At least one write(2), even of 0 bytes, as write(2) would. */
	do {
		put = write(fd, (const char *)buf + done, n - done);
		if (put >= 0) {
			done += (size_t)put;
			continue;
		}
		if ((rc = io_again(fd, COOP_FD_WRITE, deadline, &waited)) < 0) {
			put = rc;
			break;
		}
	} while (done < n);
	errno = saved;
	/* What was written stays written: the count, when a later step
	 * failed; the error only when nothing went. */
	if (done > 0 || put >= 0) {
		io_done(self, waited);
		return (ssize_t)done;
	}
	return put;
}

COOP_EXPORT int coop_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags,
                            int64_t deadline)
{
	struct coop_task *self;
	bool waited = false;
	int saved = errno, rc;

	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if ((rc = io_enter(fd, deadline, &self)) < 0)
		return rc;
	for (;;) {
		if ((rc = accept4(fd, addr, addrlen, flags)) >= 0)
			break;
		/* A connection reset while queued is not this socket's
		 * error: take the next one. */
		if (errno == ECONNABORTED)
			continue;
		if ((rc = io_again(fd, COOP_FD_READ, deadline, &waited)) < 0)
			break;
	}
	errno = saved;
	if (rc >= 0)
		io_done(self, waited);
	return rc;
}

COOP_EXPORT int coop_connect(int fd, const struct sockaddr *addr, socklen_t addrlen,
                             int64_t deadline)
{
	struct coop_task *self;
	int saved = errno, rc, err;
	socklen_t len = sizeof(err);

	if ((rc = io_enter(fd, deadline, &self)) < 0)
		return rc;
	if (connect(fd, addr, addrlen) == 0) {
		errno = saved;
		coop__spent(self);
		return 0;
	}
	/* EINTR: the connection goes on in the background, as EINPROGRESS. */
	if (errno != EINPROGRESS && errno != EINTR) {
		rc = -errno;
		errno = saved;
		return rc;
	}
	if ((rc = coop_fd_wait(fd, COOP_FD_WRITE, deadline)) >= 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			rc = -errno;
		else
			rc = -err;
	}
	errno = saved;
	return rc;
}
