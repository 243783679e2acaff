/*
 * threads.c: the multi-core pattern of coop(7), one context per thread
 * (coop 1.1): a TCP echo server on every core, and a self-test of messages
 * passed between contexts.
 *
 *   threads [--threads N] [--acceptor] [--idle-timeout SECONDS] [--bind ADDR] PORT
 *   threads --selftest [--threads N] [--tasks T]
 *
 * Each of N threads (default: one per online CPU) creates its own context
 * and runs it; tasks never move between threads.  Other threads reach a
 * context only through coop_context_post() and coop_notify_send().
 *
 * As a server it listens on ADDR:PORT (IPv4; ADDR 127.0.0.1 unless --bind;
 * PORT 0 picks a free port), prints "listening on ADDR:PORT" and echoes
 * whatever each client sends, one task per connection, dropping clients
 * idle for SECONDS (default 60).  By default every thread has a listener of
 * its own on the same port (SO_REUSEPORT: the kernel spreads the
 * connections); with --acceptor one more thread accepts them all and hands
 * each to the thread with the fewest connections, by posting a callback
 * that spawns the connection's task there.  SIGINT or SIGTERM stops it: the
 * handler notifies each context's shutdown notifier, a supervisor task in
 * each cancels that context's tasks and waits for them, every coop_run()
 * returns, and the summary goes to stderr.
 *
 * --selftest runs N contexts (default 4) of T tasks (default 1,000) that
 * send each other messages: a message is a posted callback that sends it,
 * with deadline 0, on a channel of the target context, where the tasks
 * receive it.  Once every message has arrived the main thread stops the
 * contexts through their notifiers; it exits 0 only if each message
 * arrived exactly once, and the callbacks of one task's messages to one
 * context ran in the order it posted them.
 */
#define _GNU_SOURCE /* SO_REUSEPORT, strsignal */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <coop/coop.h>

/* One thread and the context it runs. */
struct worker {
	int id;
	pthread_t thread;
	struct coop_context *ctx;
	struct coop_group *root;      /* every task but the supervisor */
	struct coop_notify *shutdown; /* sent from any thread: stop this context */
	int listen_fd;                /* its listener, or -1 */
	atomic_uint load;             /* connections handed to it, not yet ended */
	/* Touched by its own thread only; main reads them after the join. */
	unsigned long long connections, bytes;
	int failed;
	/* --selftest: */
	struct coop_chan *inbox;      /* messages for this context's tasks */
	unsigned long expected;       /* how many messages are sent to it */
	unsigned long delivered;      /* sent into inbox by a posted callback */
	unsigned long received;       /* taken out of inbox by a task */
	unsigned long lost, extra;    /* a callback's send that failed; left in inbox */
};

/* One message of --selftest: which task sent it, and its number among the
 * messages that task sent. */
struct msg {
	uint32_t from_task; /* context * tasks + task */
	uint32_t seq;
};

static struct worker *workers, acceptor;
static int nworkers, use_acceptor;
static int64_t idle_timeout = 60 * COOP_SEC;
static volatile sig_atomic_t stop_signal;
/* Each thread's own worker: a task or a posted callback finds its context
 * here (both run on the context's thread). */
static _Thread_local struct worker *self;
/* Every coop thread waits here once its context is set up, so that posts
 * and notifications find every context in place; and main installs the
 * signal handler only then. */
static pthread_barrier_t ready;
/* Posted by each coop thread once its coop_run() has returned: then none
 * of its tasks posts or notifies anything any more. */
static sem_t ran;
/* Every coop thread waits here after its coop_run(), and main joins once
 * it sends nothing any more either (the server: once every coop_run() has
 * returned, it blocks the signals its handler sends from).  Only then may
 * a context be destroyed: a post or a send still under way on another
 * thread may touch the context it wakes. */
static pthread_barrier_t quiet;

/* --selftest */
static unsigned long tasks_per_context = 1000;
#define MESSAGES_PER_TASK 8
static unsigned char *arrivals; /* per message: how many times it arrived */
static int32_t *next_seq;       /* per context and sending task: the next seq expected */
static sem_t all_arrived;       /* posted once by each context that got all its messages */

static void die(const char *call, int rc)
{
	fprintf(stderr, "threads: %s: %s\n", call, strerror(-rc));
	exit(1);
}

/* Any thread, and the signal handler: stop every context.  Sends only,
 * which coop_notify_send() allows from anywhere. */
static void stop_all(void)
{
	for (int i = 0; i < nworkers; i++)
		coop_notify_send(workers[i].shutdown);
	if (use_acceptor)
		coop_notify_send(acceptor.shutdown);
}

static void on_signal(int sig)
{
	stop_signal = sig;
	stop_all();
}

/* ---------------------------------------------------------- the server -- */

/* Echoes until the client closes, goes idle, fails, or we shut down. */
static void *connection(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct worker *w = self;
	char buf[16384];
	ssize_t n, written = 0;

	/* A fresh deadline per read and write: "idle" is no progress either way. */
	while ((n = coop_read(fd, buf, sizeof(buf), coop_deadline_in(idle_timeout))) > 0) {
		written = coop_write(fd, buf, (size_t)n, coop_deadline_in(idle_timeout));
		if (written > 0)
			w->bytes += (unsigned long long)written;
		if (written != n)
			break;
	}
	if (n > 0)
		n = written;
	if (n < 0 && n != -ETIMEDOUT && n != -ECANCELED && n != -ECONNRESET && n != -EPIPE)
		fprintf(stderr, "threads: connection: %s\n", strerror((int)-n));
	coop_fd_close(fd);
	atomic_fetch_sub(&w->load, 1);
	return NULL;
}

/* On w's thread, in a task or a posted callback: fd's task joins w's root
 * group (which the supervisor cancels).  The caller counted fd in w->load. */
static void start_connection(struct worker *w, int fd)
{
	struct coop_task_opts opts = {.size = sizeof(opts), .group = w->root};
	int one = 1, rc;

	/* Small replies must leave at once (no Nagle). */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		fprintf(stderr, "threads: setsockopt TCP_NODELAY: %s\n", strerror(errno));
	/* -ESHUTDOWN when coop_context_destroy() runs a late callback. */
	if ((rc = coop_spawn(w->ctx, NULL, connection, (void *)(intptr_t)fd, &opts)) < 0) {
		if (rc != -ESHUTDOWN)
			fprintf(stderr, "threads: coop_spawn: %s (connection dropped)\n", strerror(-rc));
		close(fd); /* no task waited on it: a plain close */
		atomic_fetch_sub(&w->load, 1);
		return;
	}
	w->connections++;
}

/* Posted by the acceptor: runs on the chosen worker's thread, outside any
 * task, at the start of its next scheduling round. */
static void adopt(void *arg)
{
	start_connection(self, (int)(intptr_t)arg);
}

/* The worker with the fewest connections; ties go round the workers, so
 * that an idle server spreads its clients instead of piling them on one. */
static struct worker *least_loaded(void)
{
	static unsigned int next;
	unsigned int first = next++ % (unsigned int)nworkers, load, best_load;
	struct worker *best = &workers[first], *w;

	best_load = atomic_load(&best->load);
	for (unsigned int i = 1; i < (unsigned int)nworkers; i++) {
		w = &workers[(first + i) % (unsigned int)nworkers];
		if ((load = atomic_load(&w->load)) < best_load) {
			best = w;
			best_load = load;
		}
	}
	return best;
}

/* --acceptor: hands fd to another thread.  The acceptor's context never
 * waited on fd; one that had (say, to read a first request) would call
 * coop_fd_forget(fd) first, so that two contexts never watch one fd. */
static int hand_over(int fd)
{
	struct worker *w = least_loaded();
	int rc;

	/* Counted now, not when the callback runs: the next accepts must see it. */
	atomic_fetch_add(&w->load, 1);
	if ((rc = coop_context_post(w->ctx, adopt, (void *)(intptr_t)fd)) < 0)
		atomic_fetch_sub(&w->load, 1);
	return rc;
}

/* Accepts on self->listen_fd; starts each connection here, or hands it
 * over (--acceptor). */
static void *listener(void *arg)
{
	struct worker *w = self;
	int fd, rc;

	(void)arg;
	for (;;) {
		fd = coop_accept(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC, COOP_FOREVER);
		if (fd == -ECANCELED)
			return COOP_CANCELED;
		if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM ||
		    fd == -ECONNABORTED) {
			/* The client stays queued: retry once a connection may have ended. */
			fprintf(stderr, "threads: coop_accept: %s (retrying)\n", strerror(-fd));
			if (coop_sleep_until(coop_deadline_in(100 * COOP_MSEC)) < 0)
				return COOP_CANCELED;
			continue;
		}
		if (fd < 0) {
			/* Fatal: stop the whole server, as a signal does. */
			fprintf(stderr, "threads: coop_accept: %s\n", strerror(-fd));
			w->failed = 1;
			stop_all();
			return NULL;
		}
		if (w == &acceptor) {
			if ((rc = hand_over(fd)) < 0) {
				fprintf(stderr, "threads: coop_context_post: %s (connection dropped)\n",
					strerror(-rc));
				close(fd);
			}
			continue;
		}
		atomic_fetch_add(&w->load, 1);
		start_connection(w, fd);
	}
}

/* Waits for the shutdown notifier, then stops this context's tasks. */
static void *supervise(void *arg)
{
	struct worker *w = self;
	int rc;

	(void)arg;
	if ((rc = coop_notify_wait(w->shutdown, NULL, COOP_FOREVER)) < 0)
		fprintf(stderr, "threads: coop_notify_wait: %s\n", strerror(-rc));
	if (w->id == 0 && stop_signal)
		fprintf(stderr, "threads: %s: shutting down\n", strsignal(stop_signal));
	coop_group_cancel(w->root);
	/* Cancelled tasks end at their next blocking call; 5 s is a bound in
	 * case one is shielded. */
	if ((rc = coop_group_wait(w->root, coop_deadline_in(5 * COOP_SEC))) == -ETIMEDOUT) {
		fprintf(stderr, "threads: thread %d: some tasks did not stop\n", w->id);
		exit(1);
	}
	if (w->listen_fd >= 0)
		coop_fd_close(w->listen_fd);
	return NULL;
}

/* The context of one thread: its supervisor, its listener (if it has one),
 * and the connections it is given. */
static void *serve(void *arg)
{
	struct coop_task_opts member = {.size = sizeof(member)};
	struct worker *w = self = arg;
	struct coop_task *t;
	int rc;

	if ((rc = coop_context_create(&w->ctx, NULL)) < 0)
		die("coop_context_create", rc);
	if ((rc = coop_group_create(w->ctx, &w->root)) < 0)
		die("coop_group_create", rc);
	if ((rc = coop_notify_create(w->ctx, &w->shutdown)) < 0)
		die("coop_notify_create", rc);
	member.group = w->root;
	if ((rc = coop_spawn(w->ctx, &t, supervise, NULL, NULL)) < 0 || (rc = coop_detach(t)) < 0)
		die("coop_spawn", rc);
	if (w->listen_fd >= 0 && (rc = coop_spawn(w->ctx, NULL, listener, NULL, &member)) < 0)
		die("coop_spawn", rc);
	pthread_barrier_wait(&ready);

	/* Returns 0 once every task has ended: after the notifier. */
	if ((rc = coop_run(w->ctx)) < 0) {
		fprintf(stderr, "threads: thread %d: coop_run: %s\n", w->id, strerror(-rc));
		w->failed = 1;
	}
	sem_post(&ran);
	pthread_barrier_wait(&quiet);
	/* A connection posted after this context's tasks ended has its
	 * callback run here: coop_spawn() fails with -ESHUTDOWN, and
	 * start_connection() closes it. */
	coop_context_destroy(w->ctx);
	coop_group_destroy(w->root);
	return NULL;
}

/* A listening socket on *sin; reuseport: one of several on the same port. */
static int listen_on(struct sockaddr_in *sin, int reuseport)
{
	socklen_t len = sizeof(*sin);
	int fd, one = 1;

	/* Non-blocking, as every fd coop waits on must be. */
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		die("socket", -errno);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("setsockopt SO_REUSEADDR", -errno);
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		die("setsockopt SO_REUSEPORT", -errno);
	if (bind(fd, (struct sockaddr *)sin, sizeof(*sin)) < 0)
		die("bind", -errno);
	if (listen(fd, SOMAXCONN) < 0)
		die("listen", -errno);
	/* Port 0 picked a port: the next listeners take the same one. */
	if (getsockname(fd, (struct sockaddr *)sin, &len) < 0)
		die("getsockname", -errno);
	return fd;
}

static void start(struct worker *w)
{
	int rc;

	if ((rc = pthread_create(&w->thread, NULL, serve, w)) != 0)
		die("pthread_create", -rc);
}

static int run_server(struct sockaddr_in *sin)
{
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
	unsigned long long connections = 0, bytes = 0;
	char name[INET_ADDRSTRLEN];
	int i, threads = nworkers + use_acceptor, failed = 0;
	sigset_t mask;

	/* A client that goes away while we write to it must be an EPIPE
	 * error for its task, not the end of the process. */
	signal(SIGPIPE, SIG_IGN);
	/* Until every notifier exists, a SIGINT or SIGTERM waits; the coop
	 * threads inherit the mask and keep them blocked, so the handler runs
	 * on this thread alone. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);

	for (i = 0; i < nworkers; i++)
		workers[i].listen_fd = use_acceptor ? -1 : listen_on(sin, 1);
	if (use_acceptor)
		acceptor.listen_fd = listen_on(sin, 0);
	inet_ntop(AF_INET, &sin->sin_addr, name, sizeof(name));
	/* Scripts read the port from this line: flush it now. */
	printf("listening on %s:%u\n", name, ntohs(sin->sin_port));
	fflush(stdout);

	pthread_barrier_init(&ready, NULL, (unsigned int)threads + 1);
	pthread_barrier_init(&quiet, NULL, (unsigned int)threads + 1);
	sem_init(&ran, 0, 0);
	for (i = 0; i < nworkers; i++)
		start(&workers[i]);
	if (use_acceptor)
		start(&acceptor);
	pthread_barrier_wait(&ready);
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		die("sigaction", -errno);
	pthread_sigmask(SIG_UNBLOCK, &mask, NULL);

	/* The handler runs here, on this thread, while it waits (a fatal
	 * error in a listener stops the contexts without it).  Once every
	 * coop_run() has returned, no handler may start any more. */
	for (i = 0; i < threads; i++)
		while (sem_wait(&ran) < 0) /* EINTR: the handler ran */
			;
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	pthread_barrier_wait(&quiet);
	if (use_acceptor) {
		pthread_join(acceptor.thread, NULL);
		failed |= acceptor.failed;
	}
	for (i = 0; i < nworkers; i++) {
		pthread_join(workers[i].thread, NULL);
		connections += workers[i].connections;
		bytes += workers[i].bytes;
		failed |= workers[i].failed;
	}
	/* Orphaned by their contexts' destruction: destroying is all that
	 * is left to do with them. */
	for (i = 0; i < nworkers; i++)
		coop_notify_destroy(workers[i].shutdown);
	if (use_acceptor)
		coop_notify_destroy(acceptor.shutdown);
	pthread_barrier_destroy(&ready);
	pthread_barrier_destroy(&quiet);
	sem_destroy(&ran);

	fprintf(stderr, "threads: %llu connections served, %llu bytes echoed by %d threads (",
		connections, bytes, nworkers);
	for (i = 0; i < nworkers; i++)
		fprintf(stderr, "%s%llu", i ? " " : "", workers[i].connections);
	fprintf(stderr, " connections each, %s)\n", use_acceptor ? "--acceptor" : "SO_REUSEPORT");
	return failed;
}

/* ---------------------------------------------------------- --selftest -- */

/* Where message seq of task from_task goes: each context in turn, itself
 * included (a post to one's own context runs in its next round). */
static int target_of(uint32_t from_task, uint32_t seq)
{
	return (int)((from_task / tasks_per_context + 1 + seq) % (unsigned long)nworkers);
}

/* Checks that m is w's, and, on w's thread, that it comes after the
 * messages its task sent w before it. */
static int in_order(struct worker *w, const struct msg *m)
{
	int32_t *next;

	if (m->from_task >= (unsigned long)nworkers * tasks_per_context || m->seq >= MESSAGES_PER_TASK ||
	    target_of(m->from_task, m->seq) != w->id) {
		fprintf(stderr, "threads: context %d: a message that is not its own (task %u, seq %u)\n",
			w->id, m->from_task, m->seq);
		return 0;
	}
	next = &next_seq[((unsigned long)w->id * (unsigned long)nworkers * tasks_per_context) +
			 m->from_task];
	if ((int32_t)m->seq < *next) {
		fprintf(stderr, "threads: context %d: task %u's message %u came after a later one\n",
			w->id, m->from_task, m->seq);
		return 0;
	}
	*next = (int32_t)m->seq + 1;
	return 1;
}

/* Posted by a task of another context (or of this one): runs on the
 * target's thread, outside any task, in the order the posts were made.
 * Outside a task a send never waits (deadline 0, coop(7) R4): the inbox
 * holds every message this context is sent, so it always has room. */
static void deliver(void *arg)
{
	struct msg *m = arg;
	int rc;

	if (!in_order(self, m))
		self->failed = 1;
	if ((rc = coop_chan_send(self->inbox, m, COOP_NOWAIT)) == 0) {
		self->delivered++;
	} else {
		fprintf(stderr, "threads: context %d: coop_chan_send: %s\n", self->id, strerror(-rc));
		self->lost++;
	}
	free(m);
}

/* A message taken out of w's inbox: how many times has it arrived?  (Each
 * message goes to one context, so each count has one writer thread.)  Not
 * an order check: among several receiving tasks, which one records its
 * message first is up to the scheduler. */
static void arrived(struct worker *w, const struct msg *m)
{
	unsigned long cell = (unsigned long)m->from_task * MESSAGES_PER_TASK + m->seq;

	if (m->from_task >= (unsigned long)nworkers * tasks_per_context || m->seq >= MESSAGES_PER_TASK) {
		w->failed = 1;
		return;
	}
	if (arrivals[cell] < UINT8_MAX)
		arrivals[cell]++;
}

/* Sends its messages to every context in turn, then receives until the
 * supervisor cancels it. */
static void *chatter(void *arg)
{
	uint32_t from_task = (uint32_t)(self->id * tasks_per_context + (uintptr_t)arg);
	struct worker *w = self;
	struct msg *m, got;
	int rc;

	for (uint32_t seq = 0; seq < MESSAGES_PER_TASK; seq++) {
		if (!(m = malloc(sizeof(*m))))
			die("malloc", -ENOMEM);
		*m = (struct msg){.from_task = from_task, .seq = seq};
		if ((rc = coop_context_post(workers[target_of(from_task, seq)].ctx, deliver, m)) < 0) {
			fprintf(stderr, "threads: coop_context_post: %s\n", strerror(-rc));
			free(m);
			w->failed = 1;
		}
		/* The other tasks send theirs too: the messages interleave. */
		coop_yield();
	}
	while ((rc = coop_chan_recv(w->inbox, &got, COOP_FOREVER)) == 0) {
		arrived(w, &got);
		if (++w->received == w->expected)
			sem_post(&all_arrived);
	}
	return rc == -ECANCELED ? COOP_CANCELED : NULL;
}

static void *selftest_thread(void *arg)
{
	struct coop_task_opts opts = {.size = sizeof(opts), .stack_size = 64 * 1024};
	struct worker *w = self = arg;
	struct msg left;
	struct coop_task *t;
	int rc;

	if ((rc = coop_context_create(&w->ctx, NULL)) < 0)
		die("coop_context_create", rc);
	if ((rc = coop_group_create(w->ctx, &w->root)) < 0)
		die("coop_group_create", rc);
	if ((rc = coop_notify_create(w->ctx, &w->shutdown)) < 0)
		die("coop_notify_create", rc);
	if ((rc = coop_chan_create(w->ctx, &w->inbox, sizeof(struct msg), w->expected)) < 0)
		die("coop_chan_create", rc);
	if ((rc = coop_spawn(w->ctx, &t, supervise, NULL, NULL)) < 0 || (rc = coop_detach(t)) < 0)
		die("coop_spawn", rc);
	opts.group = w->root;
	for (unsigned long i = 0; i < tasks_per_context; i++)
		if ((rc = coop_spawn(w->ctx, NULL, chatter, (void *)(uintptr_t)i, &opts)) < 0)
			die("coop_spawn", rc);
	/* Every context exists before any task posts to it. */
	pthread_barrier_wait(&ready);

	if ((rc = coop_run(w->ctx)) < 0) {
		fprintf(stderr, "threads: context %d: coop_run: %s\n", w->id, strerror(-rc));
		w->failed = 1;
	}
	/* Outside a task a receive does not wait: anything still here came
	 * after the last expected message, a duplicate. */
	while (coop_chan_recv(w->inbox, &left, COOP_NOWAIT) == 0)
		w->extra++;
	pthread_barrier_wait(&quiet);
	/* Runs any callback still pending (there should be none). */
	coop_context_destroy(w->ctx);
	coop_chan_destroy(w->inbox);
	coop_group_destroy(w->root);
	return NULL;
}

static int run_selftest(void)
{
	unsigned long total = (unsigned long)nworkers * tasks_per_context * MESSAGES_PER_TASK;
	unsigned long delivered = 0, received = 0, once = 0, missing = 0, twice = 0;
	struct timespec until;
	int i, rc, failed = 0;

	if (!(arrivals = calloc(total, 1)) ||
	    !(next_seq = calloc((size_t)nworkers * (size_t)nworkers * tasks_per_context, sizeof(*next_seq))))
		die("calloc", -ENOMEM);
	for (unsigned long task = 0; task < (unsigned long)nworkers * tasks_per_context; task++)
		for (uint32_t seq = 0; seq < MESSAGES_PER_TASK; seq++)
			workers[target_of((uint32_t)task, seq)].expected++;
	sem_init(&all_arrived, 0, 0);
	pthread_barrier_init(&ready, NULL, (unsigned int)nworkers + 1);
	pthread_barrier_init(&quiet, NULL, (unsigned int)nworkers + 1);
	for (i = 0; i < nworkers; i++)
		if ((rc = pthread_create(&workers[i].thread, NULL, selftest_thread, &workers[i])) != 0)
			die("pthread_create", -rc);
	pthread_barrier_wait(&ready);

	/* A bound in case messages are lost, generous for valgrind. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 120;
	for (i = 0; i < nworkers; i++) {
		while ((rc = sem_timedwait(&all_arrived, &until)) < 0 && errno == EINTR)
			;
		if (rc < 0) {
			fprintf(stderr, "threads: not every message arrived within 120 s\n");
			failed = 1;
			break;
		}
	}
	/* Shutdown by notifier, as a signal handler would do it. */
	stop_all();
	pthread_barrier_wait(&quiet);
	for (i = 0; i < nworkers; i++) {
		pthread_join(workers[i].thread, NULL);
		coop_notify_destroy(workers[i].shutdown);
		failed |= workers[i].failed;
		if (workers[i].lost || workers[i].extra || workers[i].delivered != workers[i].expected) {
			fprintf(stderr, "threads: context %d: %lu messages expected, %lu delivered, "
				"%lu lost, %lu duplicated\n", i, workers[i].expected,
				workers[i].delivered, workers[i].lost, workers[i].extra);
			failed = 1;
		}
		delivered += workers[i].delivered;
		received += workers[i].received;
	}
	for (unsigned long cell = 0; cell < total; cell++) {
		once += arrivals[cell] == 1;
		missing += arrivals[cell] == 0;
		twice += arrivals[cell] > 1;
	}
	if (once != total)
		failed = 1;
	printf("selftest: %d contexts x %lu tasks: %lu messages posted, %lu delivered, %lu received, "
	       "%lu exactly once, %lu missing, %lu more than once: %s\n", nworkers, tasks_per_context,
	       total, delivered, received, once, missing, twice, failed ? "FAIL" : "ok");
	pthread_barrier_destroy(&ready);
	pthread_barrier_destroy(&quiet);
	sem_destroy(&all_arrived);
	free(arrivals);
	free(next_seq);
	return failed;
}

/* -------------------------------------------------------------- main -- */

static unsigned long number(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || *s == '-' || v == 0 || v > max) {
		fprintf(stderr, "threads: bad number: %s\n", s);
		exit(2);
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr, "usage: threads [--threads N] [--acceptor] [--idle-timeout SECONDS] "
		"[--bind ADDR] PORT\n"
		"       threads --selftest [--threads N] [--tasks T]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"threads", required_argument, NULL, 'n'},
		{"acceptor", no_argument, NULL, 'a'},
		{"idle-timeout", required_argument, NULL, 'i'},
		{"bind", required_argument, NULL, 'b'},
		{"selftest", no_argument, NULL, 's'},
		{"tasks", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	const char *addr = "127.0.0.1";
	int opt, selftest = 0, rc;
	long port, cpus;
	char *end;
	double seconds;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n': nworkers = (int)number(optarg, 1024); break;
		case 'a': use_acceptor = 1; break;
		case 'i':
			seconds = strtod(optarg, &end);
			if (*end || !(seconds > 0 && seconds < 1e9))
				usage();
			idle_timeout = (int64_t)(seconds * COOP_SEC);
			break;
		case 'b': addr = optarg; break;
		case 's': selftest = 1; break;
		case 't': tasks_per_context = number(optarg, 1000000); break;
		default: usage();
		}
	}
	if (selftest ? optind != argc || use_acceptor : optind != argc - 1)
		usage();
	if (!nworkers) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		nworkers = selftest ? 4 : cpus > 0 ? (int)cpus : 1; /* one per core */
	}
	if (!(workers = calloc((size_t)nworkers, sizeof(*workers))))
		die("calloc", -ENOMEM);
	for (int i = 0; i < nworkers; i++) {
		workers[i].id = i;
		workers[i].listen_fd = -1;
	}
	acceptor.id = nworkers;
	acceptor.listen_fd = -1;

	if (selftest) {
		rc = run_selftest();
	} else {
		port = strtol(argv[optind], &end, 10);
		if (*end || end == argv[optind] || port < 0 || port > 65535)
			usage();
		if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
			fprintf(stderr, "threads: --bind %s: not an IPv4 address\n", addr);
			exit(2);
		}
		sin.sin_port = htons((uint16_t)port);
		rc = run_server(&sin);
	}
	free(workers);
	return rc;
}
