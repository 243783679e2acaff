/*
 * bench-threads.c: coop 1.1's doors for other threads and its embedding in
 * a host loop (issue 14, figures B-11, B-12 and B-13), with libuv's
 * uv_async_send and uv_queue_work (Debian's libuv1-dev) beside coop where
 * the build found libuv, and GLib's main loop (libglib2.0-dev) as B-13's
 * host.  bench/threads.sh runs it round after round, one process per
 * workload, with the echo benchmark of examples/threads, and prints the
 * one table of medians.  Nothing here is asserted (machines are noisy): it
 * reports.
 *
 *   bench-threads [--raw] [--quick] [WORKLOAD...]
 *
 * Without a WORKLOAD it runs them all, in one process.  --raw prints one
 * line per figure, "raw KEY IMPL VALUE" (IMPL: coop, libuv, or plain:
 * threads and no library, the floor of the latency rows), for
 * bench/threads.sh; without it, a plain list.  --quick: a tenth of the
 * iterations (a third of the windows).
 *
 * The workloads (KEY prefixes):
 *
 *   post1, post4   B-11: 1 or 4 threads post N callbacks in all while the
 *                  context is busy (two tasks yielding to each other; the
 *                  context checks its posts every event_interval switches,
 *                  R7).  b11.postT.send: millions of posts per second on
 *                  the posting side (posts over the time from the start to
 *                  the last post returned); b11.postT.run: delivered, the
 *                  same over the time to the last callback run;
 *                  b11.postT.bad: callbacks run out of their thread's post
 *                  order (0 expected).  libuv's side: what libuv users
 *                  write for messages, since uv_async_send coalesces: a
 *                  node malloc'd, appended to a list under a pthread
 *                  mutex, uv_async_send; the async callback takes the list
 *                  under the mutex and runs each node; the loop kept busy
 *                  by an active uv_idle handle (its poll never blocks).
 *   sig1, sig4     B-11, the coalescing wake-up: 1 or 4 threads call
 *                  coop_notify_send N times in all, context busy (two
 *                  tasks yielding), a task looping on coop_notify_wait
 *                  summing the counts until they reach N (a count is
 *                  never lost).  b11.sigT.send: millions of sends per
 *                  second; b11.sigT.run: the same up to the wait that
 *                  brought the sum to N; b11.sigT.wakes: waits that
 *                  returned, per 1,000 sends.
 *                  libuv's side: uv_async_send N times; the callback
 *                  counts its runs (it cannot know how many sends it
 *                  stands for): wakes is callbacks per 1,000 sends.
 *   lat            B-11, thread-to-task wake-up latency: a thread sleeps
 *                  100 µs, takes the time, wakes the context, and waits
 *                  (sem_wait) for the task to have taken its own time;
 *                  b11.lat.W.M.p50 / .p99 in µs (the first 10 % of the
 *                  samples are a warm-up, dropped).  W: notify
 *                  (coop_notify_send -> coop_notify_wait; libuv:
 *                  uv_async_send -> its callback), post
 *                  (coop_context_post of a callback that sends the time on
 *                  a channel of capacity 1 -> coop_chan_recv in the task;
 *                  libuv: the mutex list + uv_async_send above).  M:
 *                  asleep (nothing else to do: the context sleeps in the
 *                  kernel; the sender on another CPU), same (asleep, the
 *                  sender on the context's CPU: no other CPU to wake) or
 *                  busy (two tasks yield meanwhile; libuv: an idle handle
 *                  is active; the sender on another CPU).  IMPL plain, the
 *                  floor, asleep and same only: a thread blocked in
 *                  read(2) of an eventfd that the sender writes.
 *   offload        B-12, on coop's default pool (elastic, idle workers
 *                  exit after 10 s): b12.rt.p50 / .p99, µs per
 *                  coop_offload of an empty function by one task, after
 *                  2,000 to warm the pool; b12.jobs, thousands of jobs per
 *                  second with 64 tasks each offloading a job of 10 µs of
 *                  work (a loop calibrated at start: b12.job is its median
 *                  length in µs, run alone), counted over a window after
 *                  a warm-up; b12.jobs.cpus, the same on a pool of its
 *                  own with max_threads = the CPUs.  b12.X.created: threads
 *                  created (pthread_create calls, counted by interposing
 *                  it: this program defines pthread_create, which the
 *                  libraries bind to) during the measured part, 0 wanted;
 *                  b12.X.warm: created during the warm-up (shows that the
 *                  count sees the pool's threads); b12.jobs.threads: the
 *                  threads the library added, at the window's end
 *                  (/proc/self/status, against before its first job).
 *                  libuv's side: uv_queue_work on its pool (4 threads
 *                  unless UV_THREADPOOL_SIZE says otherwise), 64 requests
 *                  in flight.
 *   embed          B-13: two tasks ping-pong over two unbuffered channels
 *                  (bench-sync's b4.rt), ns per round trip: b13.run under
 *                  coop_run; b13.once under a bare loop of
 *                  coop_run_once(ctx, 0), no host; b13.glib under a GLib
 *                  main loop (g_unix_fd_add of coop_context_fd, the
 *                  callback calling coop_run_once(ctx, 0): README's
 *                  recipe); b13.glibrec, the same with
 *                  g_source_set_can_recurse(TRUE) on the fd source (GLib
 *                  then leaves its fd in the poll set while it dispatches:
 *                  see embed()); b13.X.rounds: coop_run_once calls per
 *                  round trip.  Timed from inside the tasks.
 *                  b13.glib.iter, b13.glibrec.iter: GLib alone, ns per
 *                  main-loop iteration dispatching an empty callback for
 *                  an eventfd that stays readable.
 *
 * Pinning, when the process may use 2 CPUs or more: in B-11 the context's
 * thread (or libuv's loop) runs on the first CPU the process may use and
 * the other threads on the rest; B-13 runs on the last CPU; B-12 is not
 * pinned (pool threads inherit their creator's CPU set: pinning the
 * context would put every worker on its CPU).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <coop/coop.h>

#ifdef HAVE_LIBUV
#include <uv.h>
#endif
#ifdef HAVE_GLIB
#include <glib-unix.h>
#include <glib.h>
#endif

/* Iterations (divided by 10 with --quick). */
static long n_posts = 2000000;  /* B-11 posts or sends in all, per run */
static long n_lat = 1000;       /* B-11 wake-up samples per variant */
static long n_off_rt = 20000;   /* B-12 timed empty offloads */
static long n_off_warm = 2000;  /* B-12 offloads before those */
static double off_window = 1.0; /* B-12 seconds of the 64-task window */
static double off_warm_s = 0.3; /* B-12 seconds of warm-up before it */
static long n_rt_run = 1000000; /* B-13 round trips under coop_run */
static long n_rt_once = 200000; /* ... under a coop_run_once loop */
static long n_rt_glib = 50000;  /* ... under GLib */

#define OFFLOAD_TASKS 64
#define JOB_NS 10000.0 /* B-12's busy job: 10 µs of work */
#define LAT_GAP_NS 100000

static bool g_raw;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench-threads: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	exit(1);
}

static void report(const char *key, const char *impl, double v)
{
	if (g_raw)
		printf("raw %s %s %.4f\n", key, impl, v);
	else
		printf("%-28s %-6s %14.3f\n", key, impl, v);
	fflush(stdout);
}

static void reportf(const char *impl, double v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reportf(const char *impl, double v, const char *fmt, ...)
{
	char key[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	report(key, impl, v);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The q-quantile of v[0..n) (sorts v), by the nearest rank. */
static double quantile(double *v, size_t n, double q)
{
	size_t i;

	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(q * (double)n);
	return v[i < n ? i : n - 1];
}

/* ---------------------------------------------------- thread creations -- */

/* Every pthread_create of the process, counted: this definition comes
 * before libc's in the lookup order, so libcoop, libuv and GLib bind to it
 * (meson exports it from the executable).  The real one is looked up
 * before main, while there is one thread. */
typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
static pthread_create_fn real_pthread_create;
static atomic_long g_created;

__attribute__((constructor)) static void find_pthread_create(void)
{
	real_pthread_create = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
}

int pthread_create(pthread_t *restrict t, const pthread_attr_t *restrict attr,
                   void *(*fn)(void *), void *restrict arg)
{
	if (!real_pthread_create)
		return ENOSYS;
	atomic_fetch_add(&g_created, 1);
	return real_pthread_create(t, attr, fn, arg);
}

/* The process's threads now (/proc/self/status), -1 if unknown. */
static long threads_now(void)
{
	char line[256];
	long n = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* ------------------------------------------------------------- pinning -- */

static cpu_set_t g_all;            /* the CPUs the process started with */
static cpu_set_t g_first, g_rest, g_last;
static bool g_pin;                 /* 2 CPUs or more */
static int g_ncpu = 1;             /* CPUs the process may use */

static void cpus_init(void)
{
	int first = -1, last = -1;

	CPU_ZERO(&g_all);
	if (sched_getaffinity(0, sizeof(g_all), &g_all) < 0)
		return;
	g_ncpu = CPU_COUNT(&g_all);
	if (g_ncpu < 2)
		return;
	CPU_ZERO(&g_first);
	CPU_ZERO(&g_last);
	g_rest = g_all;
	for (int i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &g_all))
			continue;
		if (first < 0)
			first = i;
		last = i;
	}
	CPU_SET(first, &g_first);
	CPU_CLR(first, &g_rest);
	CPU_SET(last, &g_last);
	g_pin = true;
}

static void pin_self(const cpu_set_t *set)
{
	if (g_pin)
		pthread_setaffinity_np(pthread_self(), sizeof(*set), set);
}

static void unpin_self(void)
{
	if (g_pin)
		pthread_setaffinity_np(pthread_self(), sizeof(g_all), &g_all);
}

static void start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int rc = pthread_create(t, NULL, fn, arg);

	if (rc)
		die("pthread_create", rc);
}

/* ============================================== B-11: throughput, coop == */

static struct coop_context *new_context(void)
{
	struct coop_context *c;
	int rc;

	if ((rc = coop_context_create(&c, NULL)) < 0)
		die("coop_context_create", rc);
	return c;
}

static void spawn(struct coop_context *c, void *(*fn)(void *), void *arg)
{
	int rc;

	if ((rc = coop_spawn(c, NULL, fn, arg, NULL)) < 0)
		die("coop_spawn", rc);
}

static void run(struct coop_context *c)
{
	int rc;

	if ((rc = coop_run(c)) < 0)
		die("coop_run", rc);
}

/* One B-11 run: its senders, its counts.  Context-thread fields are plain:
 * only the context's thread (tasks and callbacks) touches them. */
struct sender {
	pthread_t th;
	int id;
	long n;
	double t_end; /* when its last send returned */
};

static struct {
	int threads;
	long total;
	pthread_barrier_t go;
	double t0;
	struct sender s[4];
	struct coop_context *ctx;
	struct coop_notify *ntf;
	/* context thread */
	long delivered, wakes, bad;
	uint32_t last_seq[4];
	bool done;
	double t_run;
} B;

static void b_reset(int threads, long total)
{
	memset(&B.delivered, 0, sizeof(B) - offsetof(typeof(B), delivered));
	B.threads = threads;
	B.total = total / threads * threads;
	for (int i = 0; i < threads; i++) {
		B.s[i].id = i;
		B.s[i].n = total / threads;
		B.s[i].t_end = 0;
	}
	pthread_barrier_init(&B.go, NULL, threads + 1);
}

/* The posts' send rate and delivery rate, in millions per second. */
static void b_report(const char *impl, const char *what, double t_delivered)
{
	double t_sent = 0;

	for (int i = 0; i < B.threads; i++)
		if (B.s[i].t_end > t_sent)
			t_sent = B.s[i].t_end;
	reportf(impl, B.total / (t_sent - B.t0) * 1e3, "b11.%s%d.send", what, B.threads);
	if (t_delivered > 0)
		reportf(impl, B.total / (t_delivered - B.t0) * 1e3, "b11.%s%d.run", what, B.threads);
	pthread_barrier_destroy(&B.go);
}

static void on_post(void *arg)
{
	uintptr_t v = (uintptr_t)arg;
	int id = (int)(v >> 32);
	uint32_t seq = (uint32_t)v;

	if (seq <= B.last_seq[id]) /* seq counts from 1 */
		B.bad++;
	B.last_seq[id] = seq;
	if (++B.delivered == B.total) {
		B.t_run = now_ns();
		B.done = true;
	}
}

static void *c_poster(void *arg)
{
	struct sender *s = arg;
	int rc;

	pin_self(&g_rest);
	pthread_barrier_wait(&B.go);
	for (long i = 1; i <= s->n; i++)
		if ((rc = coop_context_post(B.ctx, on_post,
		                            (void *)(((uintptr_t)s->id << 32) | (uintptr_t)i))) < 0)
			die("coop_context_post", rc);
	s->t_end = now_ns();
	return NULL;
}

static void *c_notifier(void *arg)
{
	struct sender *s = arg;
	int rc;

	pin_self(&g_rest);
	pthread_barrier_wait(&B.go);
	for (long i = 0; i < s->n; i++)
		if ((rc = coop_notify_send(B.ntf)) < 0)
			die("coop_notify_send", rc);
	s->t_end = now_ns();
	return NULL;
}

static void *c_yielder(void *arg)
{
	while (!B.done)
		coop_yield();
	return arg;
}

/* The first task releases the senders, then yields like the other. */
static void *c_starter(void *arg)
{
	B.t0 = now_ns();
	pthread_barrier_wait(&B.go);
	return c_yielder(arg);
}

static void *c_sig_waiter(void *arg)
{
	long sum = 0;
	uint64_t count;
	int rc;

	while (sum < B.total) {
		if ((rc = coop_notify_wait(B.ntf, &count, COOP_FOREVER)) < 0)
			die("coop_notify_wait", rc);
		sum += (long)count;
		B.wakes++;
	}
	B.t_run = now_ns();
	B.done = true;
	return arg;
}

static void c_b11(bool sig, int threads)
{
	int rc;

	pin_self(&g_first);
	b_reset(threads, n_posts);
	B.ctx = new_context();
	if (sig && (rc = coop_notify_create(B.ctx, &B.ntf)) < 0)
		die("coop_notify_create", rc);
	for (int i = 0; i < threads; i++)
		start_thread(&B.s[i].th, sig ? c_notifier : c_poster, &B.s[i]);
	/* Two tasks yielding to each other (a lone task's yield is no
	 * switch), and for the sends, the task that waits for them. */
	spawn(B.ctx, c_starter, NULL);
	spawn(B.ctx, c_yielder, NULL);
	if (sig)
		spawn(B.ctx, c_sig_waiter, NULL);
	run(B.ctx);
	for (int i = 0; i < threads; i++)
		pthread_join(B.s[i].th, NULL);
	if (sig) {
		coop_notify_destroy(B.ntf);
		B.ntf = NULL;
	}
	coop_context_destroy(B.ctx);
	b_report("coop", sig ? "sig" : "post", B.t_run);
	if (sig)
		reportf("coop", B.wakes * 1000.0 / B.total, "b11.sig%d.wakes", threads);
	else
		reportf("coop", (double)B.bad, "b11.post%d.bad", threads);
	unpin_self();
}

/* ============================================ B-11: throughput, libuv == */

#ifdef HAVE_LIBUV
struct uv_node {
	struct uv_node *next;
	uintptr_t v;
	double t; /* the latency runs' send time */
};

/* The message list libuv users write: a mutex, a list, an async handle. */
static struct {
	uv_loop_t loop;
	uv_async_t async;
	uv_idle_t idle;
	bool idle_on;
	pthread_mutex_t mx;
	struct uv_node *head, **tail;
	atomic_int senders_done;
	long callbacks;
} U;

static void u_init(bool busy, uv_async_cb cb)
{
	int rc;

	if ((rc = uv_loop_init(&U.loop)) < 0)
		die("uv_loop_init", rc);
	if ((rc = uv_async_init(&U.loop, &U.async, cb)) < 0)
		die("uv_async_init", rc);
	pthread_mutex_init(&U.mx, NULL);
	U.head = NULL;
	U.tail = &U.head;
	U.idle_on = busy;
	atomic_store(&U.senders_done, 0);
	U.callbacks = 0;
}

static void u_close(void)
{
	uv_close((uv_handle_t *)&U.async, NULL);
	if (U.idle_on) {
		uv_idle_stop(&U.idle);
		uv_close((uv_handle_t *)&U.idle, NULL);
		U.idle_on = false;
	}
}

static void u_fini(void)
{
	uv_run(&U.loop, UV_RUN_DEFAULT); /* the close callbacks */
	if (uv_loop_close(&U.loop) < 0)
		fprintf(stderr, "bench-threads: uv_loop_close: handles left\n");
	pthread_mutex_destroy(&U.mx);
}

static void u_push(uintptr_t v, double t)
{
	struct uv_node *n = malloc(sizeof(*n));
	int rc;

	if (!n)
		die("malloc", ENOMEM);
	n->next = NULL;
	n->v = v;
	n->t = t;
	pthread_mutex_lock(&U.mx);
	*U.tail = n;
	U.tail = &n->next;
	pthread_mutex_unlock(&U.mx);
	if ((rc = uv_async_send(&U.async)) < 0)
		die("uv_async_send", rc);
}

static struct uv_node *u_take(void)
{
	struct uv_node *l;

	pthread_mutex_lock(&U.mx);
	l = U.head;
	U.head = NULL;
	U.tail = &U.head;
	pthread_mutex_unlock(&U.mx);
	return l;
}

static void u_idle_nop(uv_idle_t *h)
{
	(void)h;
}

static void u_post_cb(uv_async_t *h)
{
	struct uv_node *l = u_take(), *next;

	for (; l; l = next) {
		next = l->next;
		on_post((void *)l->v);
		free(l);
	}
	if (B.done)
		u_close();
}

static void *u_poster(void *arg)
{
	struct sender *s = arg;

	pin_self(&g_rest);
	pthread_barrier_wait(&B.go);
	for (long i = 1; i <= s->n; i++)
		u_push(((uintptr_t)s->id << 32) | (uintptr_t)i, 0);
	s->t_end = now_ns();
	return NULL;
}

static void u_sig_cb(uv_async_t *h)
{
	U.callbacks++;
}

/* The sends are over once every sender said so: then the loop stops (a
 * callback for the last sends may be left unrun: it is not counted). */
static void u_sig_idle(uv_idle_t *h)
{
	if (atomic_load(&U.senders_done) == B.threads) {
		B.t_run = now_ns();
		u_close();
	}
}

static void *u_sender(void *arg)
{
	struct sender *s = arg;
	int rc;

	pin_self(&g_rest);
	pthread_barrier_wait(&B.go);
	for (long i = 0; i < s->n; i++)
		if ((rc = uv_async_send(&U.async)) < 0)
			die("uv_async_send", rc);
	s->t_end = now_ns();
	atomic_fetch_add(&U.senders_done, 1);
	return NULL;
}

static void u_b11(bool sig, int threads)
{
	pin_self(&g_first);
	b_reset(threads, n_posts);
	u_init(true, sig ? u_sig_cb : u_post_cb);
	uv_idle_init(&U.loop, &U.idle);
	uv_idle_start(&U.idle, sig ? u_sig_idle : u_idle_nop);
	for (int i = 0; i < threads; i++)
		start_thread(&B.s[i].th, sig ? u_sender : u_poster, &B.s[i]);
	B.t0 = now_ns();
	pthread_barrier_wait(&B.go);
	uv_run(&U.loop, UV_RUN_DEFAULT);
	for (int i = 0; i < threads; i++)
		pthread_join(B.s[i].th, NULL);
	u_fini();
	/* No delivery rate for the coalescing sends: a callback is no
	 * message. */
	b_report("libuv", sig ? "sig" : "post", sig ? 0 : B.t_run);
	if (sig)
		reportf("libuv", U.callbacks * 1000.0 / B.total, "b11.sig%d.wakes", threads);
	else
		reportf("libuv", (double)B.bad, "b11.post%d.bad", threads);
	unpin_self();
}
#endif /* HAVE_LIBUV */

/* ================================================= B-11: wake latency == */

/* Where the latency runs' two sides are and what the context does. */
enum lat_mode {
	LAT_ASLEEP, /* nothing else to do; the sender on another CPU */
	LAT_SAME,   /* the same, the sender on the context's CPU */
	LAT_BUSY,   /* tasks yield meanwhile; the sender on another CPU */
};
static const char *const lat_mode_name[] = {"asleep", "same", "busy"};

/* One latency run: the sender's time, read by the receiving side. */
static struct {
	bool post, busy;
	enum lat_mode mode;
	int efd; /* the floor's eventfd */
	_Atomic double sent;
	double *lat;
	long got;
	sem_t ack;
	pthread_t th;
	struct coop_context *ctx;
	struct coop_notify *ntf, *stop;
	struct coop_chan *ch;
	bool done; /* context thread */
} L;

static void sleep_ns(long ns)
{
	struct timespec ts = {0, ns};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The receiving side's one step: take the time, hand the sender back. */
static void l_got(double t_sent)
{
	if (L.got < n_lat)
		L.lat[L.got++] = (now_ns() - t_sent) / 1e3;
	sem_post(&L.ack);
}

static void l_on_post(void *arg)
{
	double t = atomic_load(&L.sent);
	int rc;

	/* Outside a task: completes at once (capacity 1, the task took the
	 * last one) or says why not (R4). */
	if ((rc = coop_chan_send(L.ch, &t, 0)) < 0)
		die("coop_chan_send from a posted callback", rc);
}

/* The sender's CPU: the context's in LAT_SAME, else the others. */
static void l_pin_sender(void)
{
	pin_self(L.mode == LAT_SAME ? &g_first : &g_rest);
}

static void *c_lat_sender(void *arg)
{
	int rc;

	l_pin_sender();
	for (long i = 0; i < n_lat; i++) {
		sleep_ns(LAT_GAP_NS);
		atomic_store(&L.sent, now_ns());
		rc = L.post ? coop_context_post(L.ctx, l_on_post, NULL) : coop_notify_send(L.ntf);
		if (rc < 0)
			die(L.post ? "coop_context_post" : "coop_notify_send", rc);
		while (sem_wait(&L.ack) < 0 && errno == EINTR)
			;
	}
	return arg;
}

static void *c_lat_receiver(void *arg)
{
	int rc;

	for (long i = 0; i < n_lat; i++) {
		if (L.post) {
			double t;

			if ((rc = coop_chan_recv(L.ch, &t, COOP_FOREVER)) < 0)
				die("coop_chan_recv", rc);
			l_got(t);
		} else {
			if ((rc = coop_notify_wait(L.ntf, NULL, COOP_FOREVER)) < 0)
				die("coop_notify_wait", rc);
			l_got(atomic_load(&L.sent));
		}
	}
	L.done = true;
	coop_notify_send(L.stop);
	return arg;
}

/* A task waiting on a notifier keeps coop_run waiting for the posts (a
 * task waiting on a channel alone would not: -EDEADLK). */
static void *c_keepalive(void *arg)
{
	coop_notify_wait(L.stop, NULL, COOP_FOREVER);
	return arg;
}

static void *c_lat_yielder(void *arg)
{
	while (!L.done)
		coop_yield();
	return arg;
}

static void l_report(const char *impl)
{
	long skip = L.got / 10;
	double *v = L.lat + skip;
	size_t n = (size_t)(L.got - skip);
	const char *w = L.post ? "post" : "notify", *m = lat_mode_name[L.mode];

	reportf(impl, quantile(v, n, 0.5), "b11.lat.%s.%s.p50", w, m);
	reportf(impl, quantile(v, n, 0.99), "b11.lat.%s.%s.p99", w, m);
}

static void l_reset(bool post, enum lat_mode mode)
{
	L.post = post;
	L.mode = mode;
	L.busy = mode == LAT_BUSY;
	L.got = 0;
	L.done = false;
	atomic_store(&L.sent, 0);
	sem_init(&L.ack, 0, 0);
}

static void c_lat(bool post, enum lat_mode mode)
{
	int rc;

	pin_self(&g_first);
	l_reset(post, mode);
	L.ctx = new_context();
	if ((rc = coop_notify_create(L.ctx, &L.ntf)) < 0 ||
	    (rc = coop_notify_create(L.ctx, &L.stop)) < 0 ||
	    (rc = coop_chan_create(L.ctx, &L.ch, sizeof(double), 1)) < 0)
		die("coop_notify_create / coop_chan_create", rc);
	spawn(L.ctx, c_lat_receiver, NULL);
	spawn(L.ctx, c_keepalive, NULL);
	if (L.busy) {
		spawn(L.ctx, c_lat_yielder, NULL);
		spawn(L.ctx, c_lat_yielder, NULL);
	}
	start_thread(&L.th, c_lat_sender, NULL);
	run(L.ctx);
	pthread_join(L.th, NULL);
	coop_chan_destroy(L.ch);
	coop_notify_destroy(L.ntf);
	coop_notify_destroy(L.stop);
	coop_context_destroy(L.ctx);
	sem_destroy(&L.ack);
	l_report("coop");
	unpin_self();
}

#ifdef HAVE_LIBUV
static void u_lat_cb(uv_async_t *h)
{
	if (L.post) {
		struct uv_node *l = u_take(), *next;

		for (; l; l = next) {
			next = l->next;
			l_got(l->t);
			free(l);
		}
	} else {
		l_got(atomic_load(&L.sent));
	}
	if (L.got == n_lat)
		u_close();
}

static void *u_lat_sender(void *arg)
{
	int rc;

	l_pin_sender();
	for (long i = 0; i < n_lat; i++) {
		double t;

		sleep_ns(LAT_GAP_NS);
		t = now_ns();
		atomic_store(&L.sent, t);
		if (L.post)
			u_push(0, t);
		else if ((rc = uv_async_send(&U.async)) < 0)
			die("uv_async_send", rc);
		while (sem_wait(&L.ack) < 0 && errno == EINTR)
			;
	}
	return arg;
}

static void u_lat(bool post, enum lat_mode mode)
{
	pin_self(&g_first);
	l_reset(post, mode);
	u_init(L.busy, u_lat_cb);
	if (L.busy) {
		uv_idle_init(&U.loop, &U.idle);
		uv_idle_start(&U.idle, u_idle_nop);
	}
	start_thread(&L.th, u_lat_sender, NULL);
	uv_run(&U.loop, UV_RUN_DEFAULT);
	pthread_join(L.th, NULL);
	u_fini();
	sem_destroy(&L.ack);
	l_report("libuv");
	unpin_self();
}
#endif

/* The floor: plain threads, no library, a blocking read(2) of an eventfd
 * that the sender writes.  What the kernel (and on a virtual machine, the
 * hypervisor waking an idle virtual CPU) costs any of them. */
static void *f_lat_sender(void *arg)
{
	uint64_t one = 1;

	l_pin_sender();
	for (long i = 0; i < n_lat; i++) {
		sleep_ns(LAT_GAP_NS);
		atomic_store(&L.sent, now_ns());
		if (write(L.efd, &one, sizeof(one)) != sizeof(one))
			die("write(eventfd)", errno);
		while (sem_wait(&L.ack) < 0 && errno == EINTR)
			;
	}
	return arg;
}

static void f_lat(enum lat_mode mode)
{
	uint64_t v;

	pin_self(&g_first);
	l_reset(false, mode);
	if ((L.efd = eventfd(0, EFD_CLOEXEC)) < 0)
		die("eventfd", errno);
	start_thread(&L.th, f_lat_sender, NULL);
	for (long i = 0; i < n_lat; i++) {
		while (read(L.efd, &v, sizeof(v)) < 0)
			if (errno != EINTR)
				die("read(eventfd)", errno);
		l_got(atomic_load(&L.sent));
	}
	pthread_join(L.th, NULL);
	close(L.efd);
	sem_destroy(&L.ack);
	l_report("plain");
	unpin_self();
}

/* ======================================================= B-12: offload == */

static void *empty_job(void *arg)
{
	return arg;
}

/* B-12's busy job: a fixed amount of work, calibrated to take JOB_NS on
 * this CPU, not a spin on a clock (a job preempted on a CPU shared by 64
 * workers would count the time it did not run; the thread's CPU clock
 * is a system call of several µs on some machines). */
static long job_iters;
static volatile uint64_t job_sink;

static void spin(long n)
{
	uint64_t x = 1;

	for (long i = 0; i < n; i++) {
		x = x * 6364136223846793005u + 1442695040888963407u;
		__asm__ volatile("" : "+r"(x));
	}
	job_sink = x;
}

static void *busy_job(void *arg)
{
	spin(job_iters);
	return arg;
}

/* The loop's speed: the fastest of several tries (the others were
 * interrupted); then a job's median length as run (b12.job, µs). */
static void calibrate_job(void)
{
	const long n = 1000000;
	double best = 0, v[101];

	for (int i = 0; i < 7; i++) {
		double t = now_ns();

		spin(n);
		t = now_ns() - t;
		if (i == 0 || t < best)
			best = t;
	}
	job_iters = (long)(n * (JOB_NS / best));
	for (int i = 0; i < 101; i++) {
		double t = now_ns();

		busy_job(NULL);
		v[i] = (now_ns() - t) / 1e3;
	}
	report("b12.job", "coop", quantile(v, 101, 0.5));
}

/* One B-12 phase: creations are counted from cbase (the phase's start:
 * nothing offloaded yet in it) to created0 (the warm-up's end) and on to
 * created1 (the window's end); threads1 is the process's threads then. */
static struct {
	double *lat;
	long jobs, jobs0, jobs1;
	long cbase, created0, created1;
	long threads1;
	double t0, t1;
	bool stop;
} O;
static long o_tbase; /* the process's threads before the library's first job */

static void o_phase(void)
{
	memset(&O, 0, sizeof(O));
	O.cbase = atomic_load(&g_created);
}

static void *c_off_rt(void *arg)
{
	int rc;

	for (long i = 0; i < n_off_warm; i++)
		if ((rc = coop_offload(empty_job, NULL, NULL, COOP_FOREVER, NULL)) < 0)
			die("coop_offload", rc);
	O.created0 = atomic_load(&g_created);
	for (long i = 0; i < n_off_rt; i++) {
		double t = now_ns();
		void *res;

		if ((rc = coop_offload(empty_job, &O, &res, COOP_FOREVER, NULL)) < 0)
			die("coop_offload", rc);
		O.lat[i] = (now_ns() - t) / 1e3;
		if (res != &O)
			die("coop_offload's result", EPROTO);
	}
	O.created1 = atomic_load(&g_created);
	return arg;
}

static void *c_off_worker(void *arg)
{
	const struct coop_offload_opts *opts = arg;
	int rc;

	while (!O.stop) {
		if ((rc = coop_offload(busy_job, NULL, NULL, COOP_FOREVER, opts)) < 0)
			die("coop_offload", rc);
		O.jobs++;
	}
	return arg;
}

/* Warm-up, then the window: the counts at both ends. */
static void *c_off_clock(void *arg)
{
	coop_sleep_until(coop_deadline_in((int64_t)(off_warm_s * 1e9)));
	O.t0 = now_ns();
	O.jobs0 = O.jobs;
	O.created0 = atomic_load(&g_created);
	coop_sleep_until(coop_deadline_in((int64_t)(off_window * 1e9)));
	O.t1 = now_ns();
	O.jobs1 = O.jobs;
	O.created1 = atomic_load(&g_created);
	O.threads1 = threads_now();
	O.stop = true;
	return arg;
}

static void o_report(const char *impl)
{
	reportf(impl, quantile(O.lat, (size_t)n_off_rt, 0.5), "b12.rt.p50");
	reportf(impl, quantile(O.lat, (size_t)n_off_rt, 0.99), "b12.rt.p99");
	reportf(impl, (double)(O.created1 - O.created0), "b12.rt.created");
	reportf(impl, (double)(O.created0 - O.cbase), "b12.rt.warm");
}

static void o_report_jobs(const char *impl)
{
	reportf(impl, (O.jobs1 - O.jobs0) / (O.t1 - O.t0) * 1e6, "b12.jobs");
	reportf(impl, (double)(O.created1 - O.created0), "b12.jobs.created");
	reportf(impl, (double)(O.created0 - O.cbase), "b12.jobs.warm");
	/* Its pool's threads (and any other it started meanwhile). */
	reportf(impl, (double)(O.threads1 - o_tbase), "b12.jobs.threads");
}

static void c_offload(void)
{
	struct coop_context *c;

	o_tbase = threads_now();
	o_phase();
	if (!(O.lat = malloc(sizeof(double) * n_off_rt)))
		die("malloc", ENOMEM);
	c = new_context();
	spawn(c, c_off_rt, NULL);
	run(c);
	coop_context_destroy(c);
	o_report("coop");
	free(O.lat);

	o_phase();
	c = new_context();
	for (int i = 0; i < OFFLOAD_TASKS; i++)
		spawn(c, c_off_worker, NULL);
	spawn(c, c_off_clock, NULL);
	run(c);
	o_report_jobs("coop");
	coop_context_destroy(c);
}

/* The same jobs on a pool of as many threads as CPUs: CPU-bound jobs on
 * 64 threads time-share the CPUs with the context's thread, which
 * delivers the completions. */
static void c_offload_cpus(void)
{
	struct coop_pool_opts popts = {.size = sizeof(popts), .max_threads = (unsigned)g_ncpu};
	struct coop_offload_opts oopts = {.size = sizeof(oopts)};
	struct coop_context *c;
	int rc;

	if ((rc = coop_pool_create(&oopts.pool, &popts)) < 0)
		die("coop_pool_create", rc);
	o_phase();
	c = new_context();
	for (int i = 0; i < OFFLOAD_TASKS; i++)
		spawn(c, c_off_worker, &oopts);
	spawn(c, c_off_clock, NULL);
	run(c);
	coop_context_destroy(c);
	reportf("coop", (O.jobs1 - O.jobs0) / (O.t1 - O.t0) * 1e6, "b12.jobs.cpus");
	reportf("coop", (double)(O.created1 - O.created0), "b12.jobs.cpus.created");
	if ((rc = coop_pool_destroy(oopts.pool)) < 0)
		die("coop_pool_destroy", rc);
}

#ifdef HAVE_LIBUV
static struct {
	uv_work_t req[OFFLOAD_TASKS];
	double t[OFFLOAD_TASKS];
	long n;
	uv_timer_t timer;
	int phase;
} W;

static void w_empty(uv_work_t *r)
{
	(void)r;
}

static void w_busy(uv_work_t *r)
{
	busy_job(r);
}

static void w_rt_after(uv_work_t *r, int status)
{
	long i = W.n++;
	int rc;

	if (i == n_off_warm)
		O.created0 = atomic_load(&g_created);
	if (i >= n_off_warm)
		O.lat[i - n_off_warm] = (now_ns() - W.t[0]) / 1e3;
	if (i + 1 == n_off_warm + n_off_rt) {
		O.created1 = atomic_load(&g_created);
		return;
	}
	W.t[0] = now_ns();
	if ((rc = uv_queue_work(&U.loop, r, w_empty, w_rt_after)) < 0)
		die("uv_queue_work", rc);
}

static void w_jobs_after(uv_work_t *r, int status)
{
	int rc;

	O.jobs++;
	if (!O.stop && (rc = uv_queue_work(&U.loop, r, w_busy, w_jobs_after)) < 0)
		die("uv_queue_work", rc);
}

static void w_clock(uv_timer_t *t)
{
	if (W.phase++ == 0) {
		O.t0 = now_ns();
		O.jobs0 = O.jobs;
		O.created0 = atomic_load(&g_created);
		uv_timer_start(t, w_clock, (uint64_t)(off_window * 1e3), 0);
	} else {
		O.t1 = now_ns();
		O.jobs1 = O.jobs;
		O.created1 = atomic_load(&g_created);
		O.threads1 = threads_now();
		O.stop = true;
		uv_close((uv_handle_t *)t, NULL);
	}
}

static void u_offload(void)
{
	int rc;

	o_tbase = threads_now();
	o_phase();
	memset(&W, 0, sizeof(W));
	if (!(O.lat = malloc(sizeof(double) * n_off_rt)))
		die("malloc", ENOMEM);
	if ((rc = uv_loop_init(&U.loop)) < 0)
		die("uv_loop_init", rc);
	W.t[0] = now_ns();
	if ((rc = uv_queue_work(&U.loop, &W.req[0], w_empty, w_rt_after)) < 0)
		die("uv_queue_work", rc);
	uv_run(&U.loop, UV_RUN_DEFAULT);
	o_report("libuv");
	free(O.lat);

	o_phase();
	for (int i = 0; i < OFFLOAD_TASKS; i++)
		if ((rc = uv_queue_work(&U.loop, &W.req[i], w_busy, w_jobs_after)) < 0)
			die("uv_queue_work", rc);
	uv_timer_init(&U.loop, &W.timer);
	uv_timer_start(&W.timer, w_clock, (uint64_t)(off_warm_s * 1e3), 0);
	uv_run(&U.loop, UV_RUN_DEFAULT);
	o_report_jobs("libuv");
	uv_loop_close(&U.loop);
}
#endif

/* ====================================================== B-13: embedding == */

static struct {
	struct coop_chan *ping, *pong;
	long n;
	double t0, t1;
	long rounds;
	struct coop_context *ctx;
#ifdef HAVE_GLIB
	GMainLoop *loop;
#endif
} E;

static void e_check(int rc, const char *what)
{
	if (rc < 0)
		die(what, rc);
}

static void *e_ping(void *arg)
{
	uint64_t v = 0;

	E.t0 = now_ns();
	for (long i = 0; i < E.n; i++) {
		v = (uint64_t)i;
		e_check(coop_chan_send(E.ping, &v, COOP_FOREVER), "coop_chan_send");
		e_check(coop_chan_recv(E.pong, &v, COOP_FOREVER), "coop_chan_recv");
	}
	E.t1 = now_ns();
	return arg;
}

static void *e_pong(void *arg)
{
	uint64_t v;

	for (long i = 0; i < E.n; i++) {
		e_check(coop_chan_recv(E.ping, &v, COOP_FOREVER), "coop_chan_recv");
		v++;
		e_check(coop_chan_send(E.pong, &v, COOP_FOREVER), "coop_chan_send");
	}
	return arg;
}

static void e_setup(long n)
{
	E.n = n;
	E.rounds = 0;
	E.ctx = new_context();
	e_check(coop_chan_create(E.ctx, &E.ping, 8, 0), "coop_chan_create");
	e_check(coop_chan_create(E.ctx, &E.pong, 8, 0), "coop_chan_create");
	spawn(E.ctx, e_ping, NULL);
	spawn(E.ctx, e_pong, NULL);
}

static void e_done(const char *key)
{
	coop_chan_destroy(E.ping);
	coop_chan_destroy(E.pong);
	coop_context_destroy(E.ctx);
	reportf("coop", (E.t1 - E.t0) / E.n, "b13.%s", key);
	if (E.rounds)
		reportf("coop", (double)E.rounds / E.n, "b13.%s.rounds", key);
}

#ifdef HAVE_GLIB
static gboolean e_on_coop(gint fd, GIOCondition cond, gpointer data)
{
	int left = coop_run_once(E.ctx, 0);

	E.rounds++;
	if (left > 0)
		return G_SOURCE_CONTINUE;
	if (left < 0)
		die("coop_run_once", left);
	g_main_loop_quit(E.loop);
	return G_SOURCE_REMOVE;
}
#endif

#ifdef HAVE_GLIB
static gboolean e_on_empty(gint fd, GIOCondition cond, gpointer data)
{
	if (++E.rounds < E.n)
		return G_SOURCE_CONTINUE;
	g_main_loop_quit(E.loop);
	return G_SOURCE_REMOVE;
}

/* GLib's own cost: ns per main-loop iteration dispatching an fd source on
 * an eventfd that stays readable, its callback empty (no coop). */
static void e_glib_floor(bool recurse)
{
	int efd = eventfd(1, EFD_CLOEXEC);
	double t;
	guint id;

	if (efd < 0)
		die("eventfd", errno);
	E.n = n_rt_glib;
	E.rounds = 0;
	E.loop = g_main_loop_new(NULL, FALSE);
	id = g_unix_fd_add(efd, G_IO_IN, e_on_empty, NULL);
	if (recurse)
		g_source_set_can_recurse(g_main_context_find_source_by_id(NULL, id), TRUE);
	t = now_ns();
	g_main_loop_run(E.loop);
	t = now_ns() - t;
	g_main_loop_unref(E.loop);
	close(efd);
	reportf("coop", t / E.n, "b13.%s.iter", recurse ? "glibrec" : "glib");
}
#endif

static void embed(void)
{
	int rc;

	pin_self(&g_last);
	e_setup(n_rt_run);
	run(E.ctx);
	e_done("run");

	e_setup(n_rt_once);
	while ((rc = coop_run_once(E.ctx, 0)) > 0)
		E.rounds++;
	if (rc < 0)
		die("coop_run_once", rc);
	E.rounds++;
	e_done("once");

#ifdef HAVE_GLIB
	for (int recurse = 0; recurse < 2; recurse++) {
		guint id;

		e_setup(n_rt_glib);
		if ((rc = coop_context_fd(E.ctx)) < 0)
			die("coop_context_fd", rc);
		E.loop = g_main_loop_new(NULL, FALSE);
		id = g_unix_fd_add(rc, G_IO_IN, e_on_coop, NULL);
		/* GLib blocks a source that cannot recurse while it dispatches:
		 * takes its fd out of the poll set and puts it back, and each
		 * change writes the loop's own wake-up eventfd (2 writes, then
		 * a read, per dispatch).  A source that may recurse is left in
		 * place; coop_run_once cannot recurse anyway (-EBUSY). */
		if (recurse)
			g_source_set_can_recurse(g_main_context_find_source_by_id(NULL, id), TRUE);
		g_main_loop_run(E.loop);
		g_main_loop_unref(E.loop);
		e_done(recurse ? "glibrec" : "glib");
		e_glib_floor(recurse);
	}
#endif
	unpin_self();
}

/* ============================================================ main == */

static void b11_post1(void)
{
	c_b11(false, 1);
#ifdef HAVE_LIBUV
	u_b11(false, 1);
#endif
}

static void b11_post4(void)
{
	c_b11(false, 4);
#ifdef HAVE_LIBUV
	u_b11(false, 4);
#endif
}

static void b11_sig1(void)
{
	c_b11(true, 1);
#ifdef HAVE_LIBUV
	u_b11(true, 1);
#endif
}

static void b11_sig4(void)
{
	c_b11(true, 4);
#ifdef HAVE_LIBUV
	u_b11(true, 4);
#endif
}

static void b11_lat(void)
{
	if (!(L.lat = malloc(sizeof(double) * n_lat)))
		die("malloc", ENOMEM);
	for (int m = LAT_ASLEEP; m <= LAT_BUSY; m++) {
		if (m != LAT_BUSY)
			f_lat(m);
		for (int post = 0; post < 2; post++) {
			c_lat(post, m);
#ifdef HAVE_LIBUV
			u_lat(post, m);
#endif
		}
	}
	free(L.lat);
}

static void b12(void)
{
	calibrate_job();
	c_offload();
	c_offload_cpus();
#ifdef HAVE_LIBUV
	u_offload();
#endif
}

static const struct {
	const char *name;
	void (*fn)(void);
} workloads[] = {
	{"post1", b11_post1},
	{"post4", b11_post4},
	{"sig1", b11_sig1},
	{"sig4", b11_sig4},
	{"lat", b11_lat},
	{"offload", b12},
	{"embed", embed},
};
#define N_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

int main(int argc, char **argv)
{
	bool any = false;
	int first = 1;

	for (; first < argc && argv[first][0] == '-'; first++) {
		if (!strcmp(argv[first], "--raw")) {
			g_raw = true;
		} else if (!strcmp(argv[first], "--quick")) {
			n_posts /= 10;
			n_lat /= 10;
			n_off_rt /= 10;
			n_off_warm /= 10;
			off_window /= 3;
			off_warm_s /= 3;
			n_rt_run /= 10;
			n_rt_once /= 10;
			n_rt_glib /= 10;
		} else {
			fprintf(stderr, "usage: %s [--raw] [--quick] [WORKLOAD...]\n", argv[0]);
			return 2;
		}
	}
	cpus_init();
	if (!real_pthread_create)
		die("dlsym(RTLD_NEXT, pthread_create)", ENOSYS);
	if (g_raw) {
		printf("raw version coop %s\n", coop_version());
#ifdef HAVE_LIBUV
		printf("raw version libuv %s\n", uv_version_string());
#else
		printf("raw version libuv none\n");
#endif
#ifdef HAVE_GLIB
		printf("raw version glib %u.%u.%u\n", glib_major_version, glib_minor_version,
		       glib_micro_version);
#else
		printf("raw version glib none\n");
#endif
		printf("raw cpus pinned %d\n", g_pin ? CPU_COUNT(&g_all) : 0);
	} else {
		printf("coop %s; %s; %s\n", coop_version(),
#ifdef HAVE_LIBUV
		       "libuv found",
#else
		       "libuv not found: no libuv figures",
#endif
#ifdef HAVE_GLIB
		       "GLib found"
#else
		       "GLib not found: no b13.glib"
#endif
		);
	}
	for (size_t i = 0; i < N_WORKLOADS; i++) {
		bool want = first == argc;

		for (int a = first; a < argc; a++)
			want |= !strcmp(argv[a], workloads[i].name);
		if (want) {
			workloads[i].fn();
			any = true;
		}
	}
	if (!any) {
		fprintf(stderr, "bench-threads: no such workload; the workloads:");
		for (size_t i = 0; i < N_WORKLOADS; i++)
			fprintf(stderr, " %s", workloads[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	return 0;
}
