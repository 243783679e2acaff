/*
 * poll_epoll.c: the poller (poller.h) on Linux epoll, the fd table, and the
 * calls coop_fd_wait, coop_fd_close and coop_fd_forget.
 *
 * One epoll instance per context, made the first time a task blocks on
 * an fd.  Two ways to keep it in step with the fds (coop_fd_wait(3)):
 *
 * - Default, one-shot.  Every blocking wait (re)arms its fd with one
 *   epoll_ctl (EPOLLONESHOT; MOD when we believe the fd is in the set,
 *   ADD when not, and the other on ENOENT/EEXIST).  The kernel is asked
 *   each time, so a number closed with plain close() and reused heals by
 *   itself: no stale registration survives a wait.  An event disarms the
 *   fd; if waiters of the other direction remain, it is re-armed for them.
 *   A waiter that left by timeout or cancel leaves the fd armed: the event
 *   that may come later finds nobody and is dropped (no syscall spent).
 * - COOP_CONTEXT_FD_CACHE, edge-triggered.  An fd is added once, for both
 *   directions, and stays; an edge that finds no waiter is remembered per
 *   direction and consumed by the next wait, which then returns at once.
 *   No syscall per wait, at Go's price: the fd must leave through
 *   coop_fd_close/coop_fd_forget.
 *
 * Regular files and others epoll refuses (EPERM) are ready at once, as
 * poll(2) says.  A wait whose deadline has passed asks poll(2) instead of
 * registering anything.
 */
#define _GNU_SOURCE /* POLLRDHUP, epoll_pwait2 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "poller.h"
#include "remote.h"
#include "wait.h"

/* Events asked for, per direction (RDHUP: a peer's shutdown is readable
 * end of file, and must wake a reader, not a writer). */
#define EV_READ (EPOLLIN | EPOLLRDHUP)
#define EV_WRITE EPOLLOUT

/* fdent.flags */
#define FD_IN_SET 0x1u  /* we believe the kernel's set holds the fd */
#define FD_READY_R 0x2u /* cache mode: an edge no reader took yet */
#define FD_READY_W 0x4u /* cache mode: an edge no writer took yet */
#define FD_ERROR 0x8u   /* cache mode: ...and it reported an error */
#define FD_HANGUP 0x10u /* cache mode: ...or a hang-up */
#define FD_STREAM 0x20u  /* a short read empties it (learnt when added; see coop__fd_short_read) */
#define FD_DRAINED 0x40u /* a short read emptied it: the next read may wait first */
#define FD_NOHINT 0x80u  /* urgent data, end of file or an error was seen: a short
                          * read proves nothing (it may stop before them) */

/* What the context knows of one fd number. */
struct fdent {
	struct coop__waitq readers; /* tasks waiting until it is readable */
	struct coop__waitq writers; /* ... writable (a task waiting for both is in both) */
	uint32_t armed;             /* one-shot: the events armed, 0 once it fired */
	uint32_t flags;             /* FD_* */
};

/* The table is two-level: pages of FD_PAGE entries, made on the first
 * wait on a number in their range; its size follows the highest fd
 * waited on, never the number of waits. */
#define FD_PAGE 512

/* Events taken from the kernel at once; more wait for the next round. */
#define NEVENTS 256

struct coop__poll {
	int epfd;
	int efd;               /* the eventfd other threads write (remote.h), in the set */
	int tfd;               /* coop_context_fd's timerfd, in the set; -1 until then */
	int64_t tfd_armed;     /*   the deadline it is armed for, COOP_FOREVER: none */
	struct fdent **pages;  /* pages[fd / FD_PAGE], NULL until used */
	size_t npages;
	unsigned long nctl;    /* epoll_ctl calls (a test hook) */
	bool added;            /* the last successful epoll_ctl was an ADD */
	unsigned long nsleep;  /* blocking waits (a test hook) */
	/* The kernel's events, here rather than on a task's stack (R8:
	 * the periodic check runs on the stack of whichever task is on). */
	struct epoll_event ev[NEVENTS];
};

int coop__poll_force_epoll_wait;

/* epoll_pwait2 is in kernels since 5.11; an older one (or a seccomp
 * filter, or qemu-user) answers ENOSYS or EPERM, once: then epoll_wait. */
static int no_pwait2; /* any thread may set it (relaxed atomics: a hint) */

unsigned long coop__poll_ctl_count(const struct coop_context *ctx)
{
	return ctx->poll ? ctx->poll->nctl : 0;
}

bool coop__poll_had_fds(const struct coop_context *ctx)
{
	return ctx->poll && ctx->poll->npages;
}

unsigned long coop__poll_sleep_count(const struct coop_context *ctx)
{
	return ctx->poll ? ctx->poll->nsleep : 0;
}

/* Put one of our own fds (eventfd, timerfd) in the set, level-triggered. */
static int own_add(struct coop__poll *p, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* The context's poller, made now if it has none (R10): 0 or -errno. */
static int poll_get(struct coop_context *ctx, struct coop__poll **out)
{
	struct coop__poll *p = ctx->poll;

	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		/* valgrind 3.19 (Debian 12) does not know epoll_pwait2 and
		 * says so on stderr: go straight to the fallback under it. */
		if (coop__vg_running())
			__atomic_store_n(&no_pwait2, 1, __ATOMIC_RELAXED);
		p->tfd = -1;
		p->tfd_armed = COOP_FOREVER;
		p->epfd = epoll_create1(EPOLL_CLOEXEC);
		p->efd = p->epfd < 0 ? -1 : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->efd < 0 || own_add(p, p->efd) < 0) {
			int rc = -errno;

			if (p->efd >= 0)
				close(p->efd);
			if (p->epfd >= 0)
				close(p->epfd);
			free(p);
			return rc;
		}
		ctx->poll = p;
		/* Producers read it only after seeing SLEEP_EPOLL, stored later. */
		ctx->remote.efd = p->efd;
	}
	*out = p;
	return 0;
}

/* The entry of fd, or NULL if the table has none. */
static struct fdent *fd_find(const struct coop__poll *p, int fd)
{
	size_t pg = (size_t)fd / FD_PAGE;

	if (!p || pg >= p->npages || !p->pages[pg])
		return NULL;
	return &p->pages[pg][fd % FD_PAGE];
}

/* The entry of fd, made if need be: NULL when memory ran out. */
static struct fdent *fd_entry(struct coop__poll *p, int fd)
{
	size_t pg = (size_t)fd / FD_PAGE, i;
	struct fdent *page;

	if (pg >= p->npages) {
		size_t n = p->npages ? p->npages : 4;
		struct fdent **pages;

		while (n <= pg)
			n *= 2;
		pages = realloc(p->pages, n * sizeof(*pages));
		if (!pages)
			return NULL;
		memset(pages + p->npages, 0, (n - p->npages) * sizeof(*pages));
		p->pages = pages;
		p->npages = n;
	}
	if (!(page = p->pages[pg])) {
		page = calloc(FD_PAGE, sizeof(*page));
		if (!page)
			return NULL;
		for (i = 0; i < FD_PAGE; i++) {
			TAILQ_INIT(&page[i].readers);
			TAILQ_INIT(&page[i].writers);
		}
		p->pages[pg] = page;
	}
	return &page[fd % FD_PAGE];
}

static int ctl(struct coop__poll *p, int op, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};

	p->nctl++;
	if (epoll_ctl(p->epfd, op, fd, &ev) < 0)
		return -errno;
	p->added = op == EPOLL_CTL_ADD;
	return 0;
}

/* Put fd in the set with `events`, whatever the kernel holds now
 * (self-healing: the number may have been closed and reused). */
static int ctl_set(struct coop__poll *p, struct fdent *e, int fd, uint32_t events)
{
	int rc;

	if (e->flags & FD_IN_SET) {
		rc = ctl(p, EPOLL_CTL_MOD, fd, events);
		if (rc == -ENOENT)
			rc = ctl(p, EPOLL_CTL_ADD, fd, events);
	} else {
		rc = ctl(p, EPOLL_CTL_ADD, fd, events);
		if (rc == -EEXIST)
			rc = ctl(p, EPOLL_CTL_MOD, fd, events);
	}
	if (rc == 0)
		e->flags |= FD_IN_SET;
	return rc;
}

/* fd was just added: does a short read of it prove it empty?  (The one
 * extra system call of an fd's first wait: see coop__fd_short_read.)  In
 * the one-shot mode a wrong guess costs a round, so any stream socket
 * will do; edge-triggered, only TCP, whose exceptions (a read stops at
 * urgent data, or before an end of file or error already signalled)
 * announce themselves with EPOLLPRI, EPOLLRDHUP, EPOLLHUP, EPOLLERR. */
static void learn_kind(const struct coop_context *ctx, struct fdent *e, int fd)
{
	bool cache = ctx->flags & COOP_CONTEXT_FD_CACHE;
	int v = 0, saved = errno;
	socklen_t len = sizeof(v);

	e->flags &= ~(FD_STREAM | FD_DRAINED | FD_NOHINT);
	if (getsockopt(fd, SOL_SOCKET, cache ? SO_PROTOCOL : SO_TYPE, &v, &len) == 0 &&
	    v == (cache ? IPPROTO_TCP : SOCK_STREAM))
		e->flags |= FD_STREAM;
	errno = saved;
}

/* The epoll events a wait for `events` (COOP_FD_*) needs. */
static uint32_t ev_of(unsigned events)
{
	return ((events & COOP_FD_READ) ? EV_READ : 0) | ((events & COOP_FD_WRITE) ? EV_WRITE : 0);
}

/* The one-shot events fd needs for its waiters, plus `events`. */
static uint32_t oneshot_want(const struct fdent *e, unsigned events)
{
	return ev_of(events) | (TAILQ_EMPTY(&e->readers) ? 0 : EV_READ) |
	       (TAILQ_EMPTY(&e->writers) ? 0 : EV_WRITE);
}

/* The kernel's events as COOP_FD_* bits: directions satisfied, and the
 * error and hang-up bits a wait reports.  An error or a hang-up ends
 * waits in both directions; a peer's shutdown (RDHUP) only reads. */
static unsigned ready_bits(uint32_t ev)
{
	unsigned r = 0;

	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		r |= COOP_FD_READ;
	if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		r |= COOP_FD_WRITE;
	if (ev & EPOLLERR)
		r |= COOP_FD_ERROR;
	if (ev & (EPOLLHUP | EPOLLRDHUP))
		r |= COOP_FD_HANGUP;
	return r;
}

/* Wake every task of queue q with what it asked for of `ready`. */
static void wake_all(struct coop__waitq *q, unsigned ready)
{
	struct coop__waiter *w;

	while ((w = TAILQ_FIRST(q))) {
		struct coop_task *t = w->task;

		coop__wake(t, (int)((t->wait_events & ready) |
		                    (ready & (COOP_FD_ERROR | COOP_FD_HANGUP))));
	}
}

/* Wake every task waiting on e with `result` (an error). */
static void wake_error(struct fdent *e, int result)
{
	struct coop__waiter *w;

	while ((w = TAILQ_FIRST(&e->readers)))
		coop__wake(w->task, result);
	while ((w = TAILQ_FIRST(&e->writers)))
		coop__wake(w->task, result);
}

/* One event from the kernel. */
static void deliver(struct coop_context *ctx, struct coop__poll *p, const struct epoll_event *ev)
{
	struct fdent *e = fd_find(p, ev->data.fd);
	unsigned ready = ready_bits(ev->events);

	if (!e)
		return; /* forgotten since it was queued */
	if (ev->events & (EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		e->flags |= FD_NOHINT;
	if (ready & COOP_FD_READ)
		e->flags &= ~FD_DRAINED;
	if (!(ctx->flags & COOP_CONTEXT_FD_CACHE)) {
		e->armed = 0;
		if (ready & COOP_FD_READ)
			wake_all(&e->readers, ready);
		if (ready & COOP_FD_WRITE)
			wake_all(&e->writers, ready);
		/* The other direction's waiters lost their arming with
		 * this event: ask again for them. */
		if (!TAILQ_EMPTY(&e->readers) || !TAILQ_EMPTY(&e->writers)) {
			uint32_t want = oneshot_want(e, 0);

			int rc = ctl_set(p, e, ev->data.fd, want | EPOLLONESHOT);

			if (rc == 0)
				e->armed = want;
			else /* closed under them (a bug of theirs) */
				wake_error(e, rc == -ENOENT ? -EBADF : rc);
		}
		return;
	}
	/* Edge-triggered: an edge nobody waits for is kept for the next
	 * wait in its direction. */
	if (ready & COOP_FD_READ) {
		if (TAILQ_EMPTY(&e->readers))
			e->flags |= FD_READY_R;
		else
			wake_all(&e->readers, ready);
	}
	if (ready & COOP_FD_WRITE) {
		if (TAILQ_EMPTY(&e->writers))
			e->flags |= FD_READY_W;
		else
			wake_all(&e->writers, ready);
	}
	if ((e->flags & (FD_READY_R | FD_READY_W))) {
		if (ready & COOP_FD_ERROR)
			e->flags |= FD_ERROR;
		if (ready & COOP_FD_HANGUP)
			e->flags |= FD_HANGUP;
	}
}

/* Empty the eventfd (nothing else reads it). */
static void efd_drain(struct coop__poll *p)
{
	uint64_t v;

	(void)!read(p->efd, &v, sizeof(v));
}

/* Arm the timerfd for `deadline` (COOP_FOREVER: disarm). */
static void tfd_set(struct coop__poll *p, int64_t deadline)
{
	struct itimerspec its = {{0, 0}, {0, 0}};

	if (deadline != COOP_FOREVER) {
		/* 0 would disarm it: a deadline of 0 has passed anyway. */
		its.it_value.tv_sec = (time_t)(deadline / COOP_SEC);
		its.it_value.tv_nsec = (long)(deadline % COOP_SEC);
		if (!deadline)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(p->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	p->tfd_armed = deadline;
}

static void deliver_all(struct coop_context *ctx, struct coop__poll *p, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		int fd = p->ev[i].data.fd;

		if (fd == p->efd) {
			/* Kept readable while tasks are runnable (embed.c),
			 * emptied before the thread can block on it. */
			if (ctx->rq) {
				ctx->efd_hot = true;
			} else {
				efd_drain(p);
				ctx->efd_hot = false;
			}
		} else if (fd == p->tfd && fd >= 0) {
			/* Its deadline is the heap's business: disarmed
			 * here, armed again at a round's end (embed.c). */
			tfd_set(p, COOP_FOREVER);
		} else {
			deliver(ctx, p, &p->ev[i]);
		}
	}
}

void coop__poll_check(struct coop_context *ctx)
{
	struct coop__poll *p = ctx->poll;
	int saved = errno, n;

	do
		n = epoll_wait(p->epfd, p->ev, NEVENTS, 0);
	while (n < 0 && errno == EINTR);
	deliver_all(ctx, p, n);
	errno = saved;
}

/* epoll_wait's millisecond timeout for `deadline`, rounded up: waking a
 * little late costs less than waking early and waiting again. */
static int timeout_ms(int64_t deadline)
{
	int64_t left;

	if (deadline == COOP_FOREVER)
		return -1;
	left = deadline - coop_now();
	if (left <= 0)
		return 0;
	left = (left + COOP_MSEC - 1) / COOP_MSEC;
	return left > INT_MAX ? INT_MAX : (int)left;
}


int coop__poll_wait(struct coop_context *ctx, int64_t deadline)
{
	struct coop__poll *p = ctx->poll;
	int saved = errno, n;

	p->nsleep++;
	for (;;) {
		if (!__atomic_load_n(&no_pwait2, __ATOMIC_RELAXED) && !coop__poll_force_epoll_wait) {
			struct timespec ts, *tsp = NULL;

			if (deadline != COOP_FOREVER) {
				int64_t left = deadline - coop_now();

				if (left < 0)
					left = 0;
				ts.tv_sec = (time_t)(left / COOP_SEC);
				ts.tv_nsec = (long)(left % COOP_SEC);
				tsp = &ts;
			}
			n = epoll_pwait2(p->epfd, p->ev, NEVENTS, tsp, NULL);
			if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
				__atomic_store_n(&no_pwait2, 1, __ATOMIC_RELAXED);
				continue;
			}
		} else {
			n = epoll_wait(p->epfd, p->ev, NEVENTS, timeout_ms(deadline));
		}
		if (n >= 0)
			break;
		/* EINTR: a signal handler ran; wait on for what is left. */
	}
	errno = saved;
	return n;
}

void coop__poll_deliver(struct coop_context *ctx, int n)
{
	int saved = errno;

	deliver_all(ctx, ctx->poll, n);
	errno = saved;
}

int coop__poll_embed(struct coop_context *ctx)
{
	struct coop__poll *p = NULL; /* set when poll_get succeeds (gcc -O3 cannot tell) */
	int rc, saved = errno;

	if ((rc = poll_get(ctx, &p)) < 0)
		goto out;
	if (p->tfd < 0) {
		int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

		if (tfd < 0 || own_add(p, tfd) < 0) {
			rc = -errno;
			if (tfd >= 0)
				close(tfd);
			goto out;
		}
		p->tfd = tfd;
	}
	rc = p->epfd;
out:
	errno = saved;
	return rc == -ENOSPC ? -ENOMEM : rc;
}

void coop__poll_settle(struct coop_context *ctx, bool runnable)
{
	struct coop__poll *p = ctx->poll;
	int64_t first = coop__timer_first(ctx);
	int saved = errno;

	if (runnable) {
		if (!ctx->efd_hot) {
			uint64_t one = 1;

			(void)!write(p->efd, &one, sizeof(one));
			ctx->efd_hot = true;
		}
	} else {
		/* The host will poll the fd: emptied first, then producers
		 * told to write it from now on.  One that queues in between
		 * finds the context awake and does not write, but the look
		 * coop__remote_sleep takes after its store sees its item
		 * (the other order would drain a producer's write away). */
		efd_drain(p);
		ctx->efd_hot = false;
		if (!coop__remote_sleep(ctx, COOP__SLEEP_EPOLL)) {
			uint64_t one = 1;

			(void)!write(p->efd, &one, sizeof(one));
			ctx->efd_hot = true;
		}
		if (first != p->tfd_armed)
			tfd_set(p, first);
	}
	errno = saved;
}

void coop__poll_destroy(struct coop_context *ctx)
{
	struct coop__poll *p = ctx->poll;
	size_t i;

	if (!p)
		return;
	close(p->epfd);
	close(p->efd);
	if (p->tfd >= 0)
		close(p->tfd);
	for (i = 0; i < p->npages; i++)
		free(p->pages[i]);
	free(p->pages);
	free(p);
	ctx->poll = NULL;
}

/* fd is ready now?  poll(2) with no timeout, for a wait whose deadline
 * passed: the ready COOP_FD_* mask (0: not ready) or -EBADF. */
static int poll_now(int fd, unsigned events)
{
	struct pollfd pfd = {
		.fd = fd,
		.events = (short)(((events & COOP_FD_READ) ? POLLIN | POLLRDHUP : 0) |
		                  ((events & COOP_FD_WRITE) ? POLLOUT : 0)),
	};
	uint32_t ev = 0;
	unsigned ready;

	while (poll(&pfd, 1, 0) < 0)
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	if (pfd.revents & POLLNVAL)
		return -EBADF;
	ev |= (pfd.revents & POLLIN) ? EPOLLIN : 0;
	ev |= (pfd.revents & POLLRDHUP) ? EPOLLRDHUP : 0;
	ev |= (pfd.revents & POLLOUT) ? EPOLLOUT : 0;
	ev |= (pfd.revents & POLLERR) ? EPOLLERR : 0;
	ev |= (pfd.revents & POLLHUP) ? EPOLLHUP : 0;
	ready = ready_bits(ev);
	if (!(ready & events))
		return 0;
	return (int)((ready & events) | (ready & (COOP_FD_ERROR | COOP_FD_HANGUP)));
}

/* Cache mode: an edge remembered for this wait?  Take it. */
static unsigned take_edge(struct fdent *e, unsigned events)
{
	unsigned got = 0;

	if ((events & COOP_FD_READ) && (e->flags & FD_READY_R))
		got |= COOP_FD_READ;
	if ((events & COOP_FD_WRITE) && (e->flags & FD_READY_W))
		got |= COOP_FD_WRITE;
	if (!got)
		return 0;
	got |= ((e->flags & FD_ERROR) ? COOP_FD_ERROR : 0) |
	       ((e->flags & FD_HANGUP) ? COOP_FD_HANGUP : 0);
	e->flags &= ~((got & COOP_FD_READ ? FD_READY_R : 0) | (got & COOP_FD_WRITE ? FD_READY_W : 0));
	if (!(e->flags & (FD_READY_R | FD_READY_W)))
		e->flags &= ~(FD_ERROR | FD_HANGUP);
	return got;
}

/* Tell the kernel that a task is about to block on fd for `events`: 0,
 * 1 when the fd turned out ready at once (a file epoll refuses), or
 * -errno. */
static int arm(struct coop_context *ctx, struct coop__poll *p, struct fdent *e, int fd,
               unsigned events)
{
	int rc;

	if (ctx->flags & COOP_CONTEXT_FD_CACHE) {
		if (e->flags & FD_IN_SET)
			return 0;
		rc = ctl_set(p, e, fd, EV_READ | EV_WRITE | EPOLLPRI | EPOLLET);
		if (rc == 0)
			learn_kind(ctx, e, fd);
	} else {
		uint32_t want = oneshot_want(e, events);
		bool others = !TAILQ_EMPTY(&e->readers) || !TAILQ_EMPTY(&e->writers);

		/* Others wait on it, so it cannot have been closed since
		 * it was armed: no need to ask again if that covers us. */
		if (others && e->armed && (e->armed & want) == want)
			return 0;
		rc = ctl_set(p, e, fd, want | EPOLLONESHOT);
		if (rc == 0) {
			if (p->added)
				learn_kind(ctx, e, fd);
			e->armed = want;
		}
	}
	switch (rc) {
	case -EPERM: /* regular file and the like: always ready */
		e->flags &= ~FD_IN_SET;
		return 1;
	case -ELOOP: /* an epoll fd that watches ours */
		return -EINVAL;
	case -ENOSPC: /* fs.epoll.max_user_watches */
		return -ENOMEM;
	default:
		return rc;
	}
}

COOP_EXPORT int coop_fd_wait(int fd, unsigned int events, int64_t deadline)
{
	struct coop_task *self = coop__self;
	struct coop_context *ctx;
	struct coop__poll *p = NULL;
	struct coop__waiter w[2];
	struct fdent *e;
	unsigned n = 0;
	int timeout_result, rc, saved;

	if (deadline < COOP_FOREVER || !events || (events & ~(COOP_FD_READ | COOP_FD_WRITE)))
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	if (!self)
		return -EPERM;
	if ((rc = coop__cancel_point(self)) < 0)
		return rc;
	ctx = self->ctx;
	saved = errno;
	deadline = coop__wait_deadline(self, deadline, 0, &timeout_result);
	/* An edge already seen (cache mode) is the quickest answer. */
	if ((ctx->flags & COOP_CONTEXT_FD_CACHE) && (e = fd_find(ctx->poll, fd)) &&
	    (rc = (int)take_edge(e, events))) {
		coop__spent(self);
		return rc;
	}
	if (coop__passed(deadline)) {
		rc = poll_now(fd, events);
		errno = saved;
		coop__spent(self);
		return rc ? rc : timeout_result;
	}
	/* A number that is not open must not grow the table (nor, on the
	 * first wait, become the epoll fd's own number): asked only when
	 * the table or the poller must grow for it. */
	if (!fd_find(ctx->poll, fd) && fcntl(fd, F_GETFD) < 0) {
		rc = -EBADF;
		goto out;
	}
	if ((rc = poll_get(ctx, &p)) < 0)
		goto out;
	if (!(e = fd_entry(p, fd))) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = arm(ctx, p, e, fd, events)) != 0)
		goto armed;
	/* The switch's event check, now that the kernel is armed: an event
	 * it delivers for this fd finds us not yet in the queue.  An edge
	 * it kept (cache mode) is ours; a one-shot arming it used up (the
	 * fd became ready in between, or others' event took it) is made
	 * again. */
	coop__tick_down(ctx);
	if (ctx->flags & COOP_CONTEXT_FD_CACHE) {
		if ((rc = (int)take_edge(e, events)))
			goto done;
	} else if ((e->armed & ev_of(events)) != ev_of(events) &&
	           (rc = arm(ctx, p, e, fd, events)) != 0) {
		goto armed;
	}
	errno = saved;
	if (events & COOP_FD_READ)
		w[n++].q = &e->readers;
	if (events & COOP_FD_WRITE)
		w[n++].q = &e->writers;
	self->wait_fd = fd;
	self->wait_events = (unsigned char)events;
	ctx->fd_waiting++;
	rc = coop__block(self, w, n, COOP_WAIT_FD, NULL, deadline, timeout_result, 0);
	ctx->fd_waiting--;
	return rc;
armed:
	if (rc != 1)
		goto out;
	rc = (int)events; /* ready at once, as poll(2) says */
done: /* completed without waiting (R7) */
	errno = saved;
	coop__spent(self);
	return rc;
out:
	errno = saved;
	return rc;
}

/* Wake this context's waiters on fd with -EBADF and forget the fd. */
static int fd_drop(int fd)
{
	struct coop_context *ctx = coop__running;
	struct coop__poll *p;
	struct fdent *e;

	if (fd < 0)
		return -EBADF;
	if (!ctx)
		return -EPERM;
	p = ctx->poll;
	if (!(e = fd_find(p, fd)))
		return 0;
	wake_error(e, -EBADF);
	if (e->flags & FD_IN_SET) {
		int saved = errno;

		/* Errors do not matter: the fd may already be closed. */
		(void)ctl(p, EPOLL_CTL_DEL, fd, 0);
		errno = saved;
	}
	e->armed = 0;
	e->flags = 0;
	return 0;
}

COOP_EXPORT int coop_fd_forget(int fd)
{
	return fd_drop(fd);
}

COOP_EXPORT int coop_fd_close(int fd)
{
	int rc = fd_drop(fd), saved;

	if (rc < 0)
		return rc;
	saved = errno;
	rc = close(fd) < 0 ? -errno : 0;
	errno = saved;
	return rc;
}

/*
 * The hint that saves coop_read a system call.  A stream read short was
 * empty when read(2) returned: the next read(2) would most likely answer
 * EAGAIN, so the next coop_read goes straight to its wait.  Any data that
 * comes later wakes that wait: one-shot arming asks the kernel, which
 * reports data already there; an edge-triggered registration reports
 * every arrival after the read, and an arrival before the wait is an edge
 * remembered or still queued in the kernel.  Where a short read proves
 * nothing (a message boundary; urgent data, an end of file or an error
 * whose edge came with the data) the fd never gets the hint: see
 * learn_kind and FD_NOHINT.
 */
void coop__fd_short_read(struct coop_context *ctx, int fd)
{
	struct fdent *e = fd_find(ctx->poll, fd);

	if (e && (e->flags & (FD_STREAM | FD_NOHINT)) == FD_STREAM)
		e->flags |= FD_DRAINED;
}

bool coop__fd_drained(struct coop_context *ctx, int fd)
{
	struct fdent *e = fd_find(ctx->poll, fd);

	if (!e || !(e->flags & FD_DRAINED))
		return false;
	e->flags &= ~FD_DRAINED;
	return true;
}
