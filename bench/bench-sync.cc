/*
 * bench-sync.cc: coop 1.1's channels, select, mutex, condition variable
 * and semaphore (issue 13, figures B-4 to B-8), with Boost.Fiber 1.74
 * (Debian's libboost-fiber-dev) beside coop where it has the same object.
 * Go's side is bench/sync-go/sync.go; bench/sync.sh runs both, interleaved,
 * and prints the one table.  Nothing here is asserted (machines are
 * noisy): it reports.  Each workload runs REPS times (default 7), coop and
 * Boost.Fiber alternating within each repetition (which goes first
 * alternates too); the table shows medians, of per-repetition differences
 * for the rows that are differences.
 *
 *   bench-sync [--quick] [--reps N] [--raw] [--boost-first]
 *
 * --raw prints one line per figure and repetition instead of the table,
 * "raw KEY IMPL VALUE", for bench/sync.sh.  --quick: a tenth of the
 * iterations, 3 repetitions.  --boost-first: Boost.Fiber goes first in
 * the even repetitions (bench/sync.sh alternates it from run to run).
 *
 * Every workload is single-threaded: coop's tasks in one context, Boost's
 * fibers on the main thread (its default round_robin scheduler).  A coop
 * workload runs in a fresh context (default options), a Boost one in fresh
 * fibers, and each is timed from inside: from the first task's start to
 * the last one's end, so creating the context, spawning and freeing are
 * outside.  This is a C++ program: coop swaps each task's C++ exception
 * state at every switch here (src/cxx.h); its switch row is measured in
 * the same program, so the "minus switches" rows subtract like for like.
 *
 *   sw        switch: two tasks yielding to each other (coop_yield;
 *             boost::this_fiber::yield), ns per switch.  Both tasks run
 *             one function, so each resumes at the call site the other
 *             left from, and the return that ends the switch is
 *             predicted (the CPU's return-stack buffer holds the
 *             suspending task's return address).
 *   sw.2fn    the same with the two tasks in two functions (one loop
 *             counting up, one down): every switch then returns to
 *             another call site than the predicted one, a mispredicted
 *             return per switch, as between a producer and a consumer
 *             (and in b4.rt).  The rows "- N switches" subtract sw.
 *   b4.rt     B-4: two tasks ping-pong over two unbuffered channels of
 *             8-byte elements (coop_chan_create(.., 8, 0);
 *             unbuffered_channel<uint64_t>): send, then receive the
 *             reply; ns per round trip.  In coop a round trip is 2
 *             switches and 4 channel operations, 2 of them waiting.
 *             The two tasks are two functions (ping, pong).
 *   b4.sym    the same round trip with both tasks in one function, each
 *             looping send; receive (the second receives once first), so
 *             both wait at one call site: b4.rt - b4.sym is what the
 *             mispredicted returns of b4.rt cost.
 *   b5.S.T    B-5: a channel of capacity 1024 (Boost's buffered_channel
 *             holds capacity - 1 = 1023), S-byte elements (8, 64), T
 *             producers and T consumers (1, 4) moving N messages in all;
 *             millions of messages per second.  coop's budget (R7)
 *             makes a task that completes 128 operations in a row
 *             yield, so the two sides take turns every 128 messages or
 *             so, not every 1024.
 *   b6.ready  B-6: coop_chan_select over 4 receive ops, the last one
 *             ready (a buffered channel refilled, untimed, every 1024
 *             selects; the other three empty unbuffered channels); ns per
 *             select.  Boost.Fiber has no select.
 *   b6.woken  B-6: a task selects over 4 receive ops, none ready, and
 *             waits; a peer sends on one of them (in turn), which hands
 *             the element over and wakes it, then yields to it; ns per
 *             round (2 switches: the peer's yield, the select's wait).
 *   b7.unc    B-7: one task alone, mutex lock + unlock; ns.  coop's lock
 *             spends the budget (R7): every 128th yields (alone, it just
 *             goes on).
 *   b7.lean   B-7: two tasks, each: lock; unlock; (a yield while holding
 *             it only on the first acquisition): with coop's FIFO
 *             hand-off each unlock gives the mutex to the other, which
 *             waits in its queue, and each lock then waits: every
 *             acquisition is a hand-off and costs one switch; ns per
 *             acquisition.  b7.lean.ho is the share of acquisitions that
 *             were hand-offs (the previous owner was the other task):
 *             Boost's mutex does not hand over (the woken fiber tries
 *             again, and the unlocker has re-taken it), so there it is
 *             near 0 and the figure is no hand-off.
 *   b7.alt    B-7: two tasks, each: lock; yield; unlock; yield: the yields
 *             make every acquisition change hands in a mutex that does
 *             not hand over (Boost's, Go's) too; ns per acquisition (about
 *             3 switches each in coop), b7.alt.ho as above.
 *   b8.cv     B-8: two tasks, one mutex, one condition variable and a
 *             turn variable: each, holding the mutex, waits until it is
 *             its turn, gives the turn to the other and signals; ns per
 *             round trip (2 switches in coop: the signal moves the waiter
 *             to the mutex's queue, the signaller's cond_wait hands the
 *             mutex over).
 *   b8.sem    B-8: one task alone, semaphore (value 1) acquire + release;
 *             ns.  Boost.Fiber has no semaphore.
 */
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <coop/coop.h>

/* Only some of its workloads are used here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "workloads.h" /* now_ns, median_of, die, bench_context, bench_spawn */
#pragma GCC diagnostic pop

#ifdef HAVE_BOOST_FIBER
#include <mutex>

#include <boost/fiber/buffered_channel.hpp>
#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/fiber.hpp>
#include <boost/fiber/mutex.hpp>
#include <boost/fiber/operations.hpp>
#include <boost/fiber/unbuffered_channel.hpp>
#include <boost/version.hpp>
#endif

/* Iterations of each workload (divided by 10 with --quick). */
static long n_switch = 2000000;   /* yields per task */
static long n_rt = 1000000;       /* ping-pong round trips */
static long n_msgs = 4000000;     /* B-5 messages in all */
static long n_select = 2 << 20;   /* ready selects */
static long n_woken = 1000000;    /* select rounds that wait */
static long n_lock = 10000000;    /* uncontended lock + unlock, acquire + release */
static long n_handoff = 2000000;  /* acquisitions per task, lean */
static long n_alt = 500000;       /* acquisitions per task, alternating */
static long n_cv = 1000000;       /* cond round trips */

/* The 64-byte element of B-5. */
struct elem64 {
	uint64_t v[8];
};

/* The window every workload is timed over: from the first task's start to
 * the last one's end (each task calls start() first and stop() last). */
static double g_t0, g_t1;
static volatile uint64_t g_sink; /* what the consumers saw: not optimized out */
static long g_bad;               /* operations that did not return what they should */

static void window_reset()
{
	g_t0 = g_t1 = 0;
}

static void start()
{
	if (g_t0 == 0)
		g_t0 = now_ns();
}

static void stop()
{
	g_t1 = now_ns();
}

static double window()
{
	return g_t1 - g_t0;
}

/* Who held the mutex last, for the hand-off share. */
static int g_last_owner;
static long g_handoffs;

static void acquired(int me)
{
	g_handoffs += g_last_owner != 0 && g_last_owner != me;
	g_last_owner = me;
}

static void check(int rc, const char *what)
{
	if (rc < 0) {
		if (++g_bad == 1)
			std::fprintf(stderr, "bench-sync: %s: %s\n", what, std::strerror(-rc));
	}
}

/* ================================================================ coop == */

/* Run the context's spawned tasks, then destroy it (its objects are the
 * caller's to destroy afterwards: they stay destroyable). */
static void coop_go(struct coop_context *c)
{
	int rc;

	window_reset();
	if ((rc = coop_run(c)) < 0)
		die("coop_run", rc);
	coop_context_destroy(c);
}

/* --- switch --- */

static void *c_yielder(void *)
{
	start();
	for (long i = 0; i < n_switch; i++)
		coop_yield();
	stop();
	return nullptr;
}

static void *c_yielder_down(void *)
{
	start();
	for (long i = n_switch; i > 0; i--)
		coop_yield();
	stop();
	return nullptr;
}

/* two: the second task in another function */
static double c_switch(bool two)
{
	struct coop_context *c = bench_context();

	bench_spawn(c, c_yielder, nullptr);
	bench_spawn(c, two ? c_yielder_down : c_yielder, nullptr);
	coop_go(c);
	return window() / (2.0 * n_switch);
}

/* --- B-4 --- */

static struct coop_chan *g_ch[4];

static void *c_pinger(void *)
{
	uint64_t v = 0;

	start();
	for (long i = 0; i < n_rt; i++) {
		v = (uint64_t)i;
		check(coop_chan_send(g_ch[0], &v, COOP_FOREVER), "coop_chan_send");
		check(coop_chan_recv(g_ch[1], &v, COOP_FOREVER), "coop_chan_recv");
	}
	g_sink = v;
	stop();
	return nullptr;
}

static void *c_ponger(void *)
{
	uint64_t v;

	start();
	for (long i = 0; i < n_rt; i++) {
		check(coop_chan_recv(g_ch[0], &v, COOP_FOREVER), "coop_chan_recv");
		v++;
		check(coop_chan_send(g_ch[1], &v, COOP_FOREVER), "coop_chan_send");
	}
	stop();
	return nullptr;
}

/* b4.sym: both tasks here; arg 1: the second, which receives first. */
static void *c_player(void *arg)
{
	struct coop_chan *out = arg ? g_ch[1] : g_ch[0], *in = arg ? g_ch[0] : g_ch[1];
	uint64_t v = 0;

	start();
	if (arg)
		check(coop_chan_recv(in, &v, COOP_FOREVER), "coop_chan_recv");
	for (long i = 0; i < n_rt; i++) {
		check(coop_chan_send(out, &v, COOP_FOREVER), "coop_chan_send");
		if (arg && i == n_rt - 1)
			break; /* the first task's last reply was its last receive */
		check(coop_chan_recv(in, &v, COOP_FOREVER), "coop_chan_recv");
		v++;
	}
	g_sink = v;
	stop();
	return nullptr;
}

static void chans_create(struct coop_context *c, int n, size_t elem, size_t cap)
{
	int rc;

	for (int i = 0; i < n; i++)
		if ((rc = coop_chan_create(c, &g_ch[i], elem, cap)) < 0)
			die("coop_chan_create", rc);
}

static void chans_destroy(int n)
{
	for (int i = 0; i < n; i++)
		check(coop_chan_destroy(g_ch[i]), "coop_chan_destroy");
}

static double c_b4()
{
	struct coop_context *c = bench_context();

	chans_create(c, 2, sizeof(uint64_t), 0);
	bench_spawn(c, c_pinger, nullptr);
	bench_spawn(c, c_ponger, nullptr);
	coop_go(c);
	chans_destroy(2);
	return window() / n_rt;
}

static double c_b4_sym()
{
	struct coop_context *c = bench_context();

	chans_create(c, 2, sizeof(uint64_t), 0);
	bench_spawn(c, c_player, nullptr);
	bench_spawn(c, c_player, (void *)1);
	coop_go(c);
	chans_destroy(2);
	return window() / n_rt;
}

/* --- B-5 --- */

static long g_per_task;

template <typename T> static void *c_producer(void *)
{
	T e;

	std::memset(&e, 0, sizeof(e));
	start();
	for (long i = 0; i < g_per_task; i++) {
		*(uint64_t *)&e = (uint64_t)i;
		check(coop_chan_send(g_ch[0], &e, COOP_FOREVER), "coop_chan_send");
	}
	stop();
	return nullptr;
}

template <typename T> static void *c_consumer(void *)
{
	T e;
	uint64_t sum = 0;

	start();
	for (long i = 0; i < g_per_task; i++) {
		check(coop_chan_recv(g_ch[0], &e, COOP_FOREVER), "coop_chan_recv");
		sum += *(uint64_t *)&e;
	}
	g_sink += sum;
	stop();
	return nullptr;
}

template <typename T> static double c_b5(int tasks)
{
	struct coop_context *c = bench_context();

	chans_create(c, 1, sizeof(T), 1024);
	g_per_task = n_msgs / tasks;
	for (int i = 0; i < tasks; i++)
		bench_spawn(c, c_producer<T>, nullptr);
	for (int i = 0; i < tasks; i++)
		bench_spawn(c, c_consumer<T>, nullptr);
	coop_go(c);
	chans_destroy(1);
	return g_per_task * tasks / window() * 1e3; /* millions per second */
}

/* --- B-6 --- */

static double g_sel_ns;

static void sel_ops(struct coop_chan_op *ops, uint64_t *v)
{
	for (int i = 0; i < 4; i++) {
		std::memset(&ops[i], 0, sizeof(ops[i]));
		ops[i].size = sizeof(ops[i]);
		ops[i].chan = g_ch[i];
		ops[i].elem = v;
		ops[i].op = COOP_CHAN_RECV;
	}
}

static void *c_sel_ready(void *)
{
	struct coop_chan_op ops[4];
	uint64_t v = 0;
	double sum = 0;

	sel_ops(ops, &v);
	for (long done = 0; done < n_select; done += 1024) {
		for (uint64_t k = 0; k < 1024; k++)
			check(coop_chan_send(g_ch[3], &k, COOP_FOREVER), "coop_chan_send");
		double t0 = now_ns();
		for (int k = 0; k < 1024; k++)
			g_bad += coop_chan_select(ops, 4, COOP_FOREVER) != 3;
		sum += now_ns() - t0;
	}
	g_sel_ns = sum / (double)((n_select + 1023) / 1024 * 1024);
	return nullptr;
}

static double c_b6_ready()
{
	struct coop_context *c = bench_context();
	int rc;

	chans_create(c, 3, sizeof(uint64_t), 0);
	if ((rc = coop_chan_create(c, &g_ch[3], sizeof(uint64_t), 1024)) < 0)
		die("coop_chan_create", rc);
	bench_spawn(c, c_sel_ready, nullptr);
	coop_go(c);
	chans_destroy(4);
	return g_sel_ns;
}

static void *c_selector(void *)
{
	struct coop_chan_op ops[4];
	uint64_t v = 0;

	sel_ops(ops, &v);
	start();
	for (long i = 0; i < n_woken; i++)
		g_bad += coop_chan_select(ops, 4, COOP_FOREVER) != (int)(i % 4);
	g_sink = v;
	stop();
	return nullptr;
}

static void *c_sel_sender(void *)
{
	start();
	for (long i = 0; i < n_woken; i++) {
		uint64_t v = (uint64_t)i;
		check(coop_chan_send(g_ch[i % 4], &v, COOP_FOREVER), "coop_chan_send");
		coop_yield();
	}
	stop();
	return nullptr;
}

static double c_b6_woken()
{
	struct coop_context *c = bench_context();

	chans_create(c, 4, sizeof(uint64_t), 0);
	bench_spawn(c, c_selector, nullptr); /* first: it waits when the sender starts */
	bench_spawn(c, c_sel_sender, nullptr);
	coop_go(c);
	chans_destroy(4);
	return window() / n_woken;
}

/* --- B-7 --- */

static struct coop_mutex *g_mx;

static void *c_lock_alone(void *)
{
	start();
	for (long i = 0; i < n_lock; i++) {
		check(coop_mutex_lock(g_mx, COOP_FOREVER), "coop_mutex_lock");
		check(coop_mutex_unlock(g_mx), "coop_mutex_unlock");
	}
	stop();
	return nullptr;
}

static void *c_lock_lean(void *arg)
{
	int me = (int)(intptr_t)arg;

	start();
	for (long i = 0; i < n_handoff; i++) {
		check(coop_mutex_lock(g_mx, COOP_FOREVER), "coop_mutex_lock");
		acquired(me);
		if (i == 0)
			coop_yield(); /* the other task queues up behind us */
		check(coop_mutex_unlock(g_mx), "coop_mutex_unlock");
	}
	stop();
	return nullptr;
}

static void *c_lock_alt(void *arg)
{
	int me = (int)(intptr_t)arg;

	start();
	for (long i = 0; i < n_alt; i++) {
		check(coop_mutex_lock(g_mx, COOP_FOREVER), "coop_mutex_lock");
		acquired(me);
		coop_yield();
		check(coop_mutex_unlock(g_mx), "coop_mutex_unlock");
		coop_yield();
	}
	stop();
	return nullptr;
}

/* kind 0: alone; 1: lean; 2: alternating.  ns per lock + unlock, or per
 * acquisition; *ho the hand-off share. */
static double c_b7(int kind, double *ho)
{
	struct coop_context *c = bench_context();
	int rc;
	long acq;

	if ((rc = coop_mutex_create(c, &g_mx)) < 0)
		die("coop_mutex_create", rc);
	g_last_owner = 0;
	g_handoffs = 0;
	if (kind == 0) {
		bench_spawn(c, c_lock_alone, nullptr);
		acq = n_lock;
	} else {
		void *(*fn)(void *) = kind == 1 ? c_lock_lean : c_lock_alt;
		bench_spawn(c, fn, (void *)1);
		bench_spawn(c, fn, (void *)2);
		acq = 2 * (kind == 1 ? n_handoff : n_alt);
	}
	coop_go(c);
	check(coop_mutex_destroy(g_mx), "coop_mutex_destroy");
	if (ho)
		*ho = (double)g_handoffs / (acq - 1);
	return window() / acq;
}

/* --- B-8 --- */

static struct coop_cond *g_cv;
static struct coop_sem *g_sem;
static int g_turn;

static void *c_cv_player(void *arg)
{
	int me = (int)(intptr_t)arg, other = 3 - me;

	start();
	check(coop_mutex_lock(g_mx, COOP_FOREVER), "coop_mutex_lock");
	for (long i = 0; i < n_cv; i++) {
		while (g_turn != me)
			check(coop_cond_wait(g_cv, g_mx, COOP_FOREVER), "coop_cond_wait");
		g_turn = other;
		check(coop_cond_signal(g_cv), "coop_cond_signal");
	}
	check(coop_mutex_unlock(g_mx), "coop_mutex_unlock");
	stop();
	return nullptr;
}

static double c_b8_cv()
{
	struct coop_context *c = bench_context();
	int rc;

	if ((rc = coop_mutex_create(c, &g_mx)) < 0 || (rc = coop_cond_create(c, &g_cv)) < 0)
		die("coop_mutex_create/coop_cond_create", rc);
	g_turn = 1;
	bench_spawn(c, c_cv_player, (void *)1);
	bench_spawn(c, c_cv_player, (void *)2);
	coop_go(c);
	check(coop_cond_destroy(g_cv), "coop_cond_destroy");
	check(coop_mutex_destroy(g_mx), "coop_mutex_destroy");
	return window() / n_cv;
}

static void *c_sem_alone(void *)
{
	start();
	for (long i = 0; i < n_lock; i++) {
		check(coop_sem_acquire(g_sem, COOP_FOREVER), "coop_sem_acquire");
		check(coop_sem_release(g_sem), "coop_sem_release");
	}
	stop();
	return nullptr;
}

static double c_b8_sem()
{
	struct coop_context *c = bench_context();
	int rc;

	if ((rc = coop_sem_create(c, &g_sem, 1)) < 0)
		die("coop_sem_create", rc);
	bench_spawn(c, c_sem_alone, nullptr);
	coop_go(c);
	check(coop_sem_destroy(g_sem), "coop_sem_destroy");
	return window() / n_lock;
}

/* ========================================================= Boost.Fiber == */

#ifdef HAVE_BOOST_FIBER
namespace bf = boost::fibers;

/* Run fn(0) .. fn(n - 1) as fibers and join them all. */
template <typename F> static void b_go(int n, F fn)
{
	std::vector<bf::fiber> fs;

	window_reset();
	for (int i = 0; i < n; i++)
		fs.emplace_back(fn, i);
	for (auto &f : fs)
		f.join();
}

static void b_status(bf::channel_op_status s, const char *what)
{
	if (s != bf::channel_op_status::success && ++g_bad == 1)
		std::fprintf(stderr, "bench-sync: Boost %s failed (%d)\n", what, (int)s);
}

static double b_switch(bool two)
{
	b_go(2, [two](int who) {
		start();
		if (two && who) {
			for (long i = n_switch; i > 0; i--)
				boost::this_fiber::yield();
		} else {
			for (long i = 0; i < n_switch; i++)
				boost::this_fiber::yield();
		}
		stop();
	});
	return window() / (2.0 * n_switch);
}

static double b_b4_sym()
{
	bf::unbuffered_channel<uint64_t> ping, pong;

	b_go(2, [&](int who) {
		bf::unbuffered_channel<uint64_t> &out = who ? pong : ping, &in = who ? ping : pong;
		uint64_t v = 0;
		start();
		if (who)
			b_status(in.pop(v), "pop");
		for (long i = 0; i < n_rt; i++) {
			b_status(out.push(v), "push");
			if (who && i == n_rt - 1)
				break;
			b_status(in.pop(v), "pop");
			v++;
		}
		g_sink = v;
		stop();
	});
	return window() / n_rt;
}

static double b_b4()
{
	bf::unbuffered_channel<uint64_t> ping, pong;

	b_go(2, [&](int who) {
		uint64_t v = 0;
		start();
		for (long i = 0; i < n_rt; i++) {
			if (who == 0) {
				v = (uint64_t)i;
				b_status(ping.push(v), "push");
				b_status(pong.pop(v), "pop");
			} else {
				b_status(ping.pop(v), "pop");
				v++;
				b_status(pong.push(v), "push");
			}
		}
		g_sink = v;
		stop();
	});
	return window() / n_rt;
}

template <typename T> static double b_b5(int tasks)
{
	bf::buffered_channel<T> ch(1024);
	long per = n_msgs / tasks;

	b_go(2 * tasks, [&](int who) {
		T e;
		uint64_t sum = 0;
		std::memset(&e, 0, sizeof(e));
		start();
		for (long i = 0; i < per; i++) {
			if (who < tasks) {
				*(uint64_t *)&e = (uint64_t)i;
				b_status(ch.push(e), "push");
			} else {
				b_status(ch.pop(e), "pop");
				sum += *(uint64_t *)&e;
			}
		}
		g_sink += sum;
		stop();
	});
	return per * tasks / window() * 1e3; /* millions per second */
}

static double b_b7(int kind, double *ho)
{
	bf::mutex m;
	long acq = kind == 0 ? n_lock : 2 * (kind == 1 ? n_handoff : n_alt);

	g_last_owner = 0;
	g_handoffs = 0;
	b_go(kind == 0 ? 1 : 2, [&](int who) {
		int me = who + 1;
		start();
		if (kind == 0) {
			for (long i = 0; i < n_lock; i++) {
				m.lock();
				m.unlock();
			}
		} else if (kind == 1) {
			for (long i = 0; i < n_handoff; i++) {
				m.lock();
				acquired(me);
				if (i == 0)
					boost::this_fiber::yield();
				m.unlock();
			}
		} else {
			for (long i = 0; i < n_alt; i++) {
				m.lock();
				acquired(me);
				boost::this_fiber::yield();
				m.unlock();
				boost::this_fiber::yield();
			}
		}
		stop();
	});
	if (ho)
		*ho = (double)g_handoffs / (acq - 1);
	return window() / acq;
}

static double b_b8_cv()
{
	bf::mutex m;
	bf::condition_variable cv;

	g_turn = 1;
	b_go(2, [&](int who) {
		int me = who + 1, other = 3 - me;
		start();
		{
			std::unique_lock<bf::mutex> lk(m);
			for (long i = 0; i < n_cv; i++) {
				while (g_turn != me)
					cv.wait(lk);
				g_turn = other;
				cv.notify_one();
			}
		}
		stop();
	});
	return window() / n_cv;
}
#endif /* HAVE_BOOST_FIBER */

/* ================================================================ main == */

enum { COOP, BOOST, NIMPL };
static const char *const impl_key[NIMPL] = {"coop", "boost"};

/* Figures by key, then implementation: one value per repetition. */
static std::map<std::string, std::vector<double>> g_res[NIMPL];
static bool g_raw;

static void put(int im, const char *key, double v)
{
	g_res[im][key].push_back(v);
	if (g_raw)
		std::printf("raw %s %s %.4f\n", key, impl_key[im], v);
}

static void rep_coop()
{
	double ho;

	put(COOP, "sw", c_switch(false));
	put(COOP, "sw.2fn", c_switch(true));
	put(COOP, "b4.rt", c_b4());
	put(COOP, "b4.sym", c_b4_sym());
	put(COOP, "b5.8.1", c_b5<uint64_t>(1));
	put(COOP, "b5.8.4", c_b5<uint64_t>(4));
	put(COOP, "b5.64.1", c_b5<elem64>(1));
	put(COOP, "b5.64.4", c_b5<elem64>(4));
	put(COOP, "b6.ready", c_b6_ready());
	put(COOP, "b6.woken", c_b6_woken());
	put(COOP, "b7.unc", c_b7(0, nullptr));
	put(COOP, "b7.lean", c_b7(1, &ho));
	put(COOP, "b7.lean.ho", ho);
	put(COOP, "b7.alt", c_b7(2, &ho));
	put(COOP, "b7.alt.ho", ho);
	put(COOP, "b8.cv", c_b8_cv());
	put(COOP, "b8.sem", c_b8_sem());
}

#ifdef HAVE_BOOST_FIBER
static void rep_boost()
{
	double ho;

	put(BOOST, "sw", b_switch(false));
	put(BOOST, "sw.2fn", b_switch(true));
	put(BOOST, "b4.rt", b_b4());
	put(BOOST, "b4.sym", b_b4_sym());
	put(BOOST, "b5.8.1", b_b5<uint64_t>(1));
	put(BOOST, "b5.8.4", b_b5<uint64_t>(4));
	put(BOOST, "b5.64.1", b_b5<elem64>(1));
	put(BOOST, "b5.64.4", b_b5<elem64>(4));
	put(BOOST, "b7.unc", b_b7(0, nullptr));
	put(BOOST, "b7.lean", b_b7(1, &ho));
	put(BOOST, "b7.lean.ho", ho);
	put(BOOST, "b7.alt", b_b7(2, &ho));
	put(BOOST, "b7.alt.ho", ho);
	put(BOOST, "b8.cv", b_b8_cv());
}
#endif

/* The median of key for im (of a minus the `sub` times the switch, for
 * the difference rows, per repetition); NAN when absent. */
static double med(int im, const char *key, double sub = 0)
{
	auto it = g_res[im].find(key);
	if (it == g_res[im].end() || it->second.empty())
		return NAN;
	std::vector<double> v = it->second;
	if (sub != 0) {
		const std::vector<double> &sw = g_res[im]["sw"];
		for (size_t i = 0; i < v.size() && i < sw.size(); i++)
			v[i] -= sub * sw[i];
	}
	return median_of(v.data(), v.size());
}

enum { NS, RATE, PLAIN }; /* a row's ratio: of times, of rates (inverted), none */

static void row(const char *name, const char *key, const char *fmt, double sub = 0,
                int kind = NS)
{
	char cb[32], bb[32], rb[32];
	double c = med(COOP, key, sub), b = med(BOOST, key, sub);

	std::snprintf(cb, sizeof(cb), c == c ? fmt : "n/a", c);
	std::snprintf(bb, sizeof(bb), b == b ? fmt : "n/a", b);
	std::snprintf(rb, sizeof(rb), "-");
	/* coop's time over Boost's, for rates too: below 1, coop is faster. */
	if (kind != PLAIN && sub == 0 && c == c && b == b && b > 0 && c > 0)
		std::snprintf(rb, sizeof(rb), "%.2fx", kind == RATE ? b / c : c / b);
	std::printf("| %-60s | %12s | %12s | %15s |\n", name, cb, bb, rb);
}

int main(int argc, char **argv)
{
	int reps = 7, boost_first = 0;

	for (int i = 1; i < argc; i++) {
		if (!std::strcmp(argv[i], "--quick")) {
			reps = 3;
			n_switch /= 10, n_rt /= 10, n_msgs /= 10, n_select /= 10, n_woken /= 10;
			n_lock /= 10, n_handoff /= 10, n_alt /= 10, n_cv /= 10;
		} else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) {
			reps = std::atoi(argv[++i]);
		} else if (!std::strcmp(argv[i], "--raw")) {
			g_raw = true;
		} else if (!std::strcmp(argv[i], "--boost-first")) {
			boost_first = 1;
		} else {
			std::fprintf(stderr, "usage: %s [--quick] [--reps N] [--raw] [--boost-first]\n",
			             argv[0]);
			return 2;
		}
	}
	if (reps < 1)
		reps = 1;
#ifdef HAVE_BOOST_FIBER
	const bool have_boost = true;
	char bver[32];
	std::snprintf(bver, sizeof(bver), "%d.%d.%d", BOOST_VERSION / 100000,
	              BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100);
#else
	const bool have_boost = false;
	const char *bver = "none";
#endif
	if (g_raw)
		std::printf("raw version coop %s\nraw version boost %s\n", coop_version(), bver);
	else if (have_boost)
		std::printf("coop %s and Boost.Fiber %s, %d interleaved repetitions, medians\n\n",
		            coop_version(), bver, reps);
	else
		std::printf("coop %s, %d repetitions, medians; Boost.Fiber: not built in (install "
		            "libboost-fiber-dev and reconfigure with -Dbench=true): its column says "
		            "n/a\n\n",
		            coop_version(), reps);
	std::fflush(stdout);
	for (int r = 0; r < reps; r++) {
#ifdef HAVE_BOOST_FIBER
		if ((r + boost_first) % 2) {
			rep_boost();
			rep_coop();
		} else {
			rep_coop();
			rep_boost();
		}
#else
		(void)boost_first;
		rep_coop();
#endif
		std::fflush(stdout);
	}
	if (g_bad)
		std::fprintf(stderr, "bench-sync: %ld operations did not return what they should\n",
		             g_bad);
	if (g_raw)
		return g_bad ? 1 : 0;

	std::printf("| %-60s | %12s | %12s | %15s |\n", "figure", "coop", "Boost.Fiber",
	            "coop/Boost time");
	std::printf("|--------------------------------------------------------------|"
	            "--------------|--------------|-----------------|\n");
	row("switch: two tasks yielding, one function (ns)", "sw", "%.1f");
	row("switch: the two tasks in two functions (ns)", "sw.2fn", "%.1f");
	row("B-4 unbuffered ping-pong, round trip (ns)", "b4.rt", "%.1f");
	row("B-4 round trip - 2 switches (ns)", "b4.rt", "%.1f", 2);
	row("B-4 the same, both tasks in one function (ns)", "b4.sym", "%.1f");
	row("B-4 one function - 2 switches (ns)", "b4.sym", "%.1f", 2);
	row("B-5 cap 1024, 8 B, 1->1 (Mmsg/s)", "b5.8.1", "%.2f", 0, RATE);
	row("B-5 cap 1024, 8 B, 4->4 (Mmsg/s)", "b5.8.4", "%.2f", 0, RATE);
	row("B-5 cap 1024, 64 B, 1->1 (Mmsg/s)", "b5.64.1", "%.2f", 0, RATE);
	row("B-5 cap 1024, 64 B, 4->4 (Mmsg/s)", "b5.64.4", "%.2f", 0, RATE);
	row("B-6 select over 4, the last ready (ns; Boost: no select)", "b6.ready", "%.1f");
	row("B-6 select over 4, waits, woken by a send (ns/round)", "b6.woken", "%.1f");
	row("B-6 woken round - 2 switches (ns)", "b6.woken", "%.1f", 2);
	row("B-7 mutex lock + unlock, uncontended (ns)", "b7.unc", "%.1f");
	row("B-7 lock; unlock: ns per acquisition", "b7.lean", "%.1f");
	row("  of which hand-offs (share)", "b7.lean.ho", "%.3f", 0, PLAIN);
	row("  ns per acquisition - 1 switch", "b7.lean", "%.1f", 1);
	row("B-7 lock; yield; unlock; yield: ns per acquisition", "b7.alt", "%.1f");
	row("  of which hand-offs (share)", "b7.alt.ho", "%.3f", 0, PLAIN);
	row("B-8 condition variable ping-pong, round trip (ns)", "b8.cv", "%.1f");
	row("B-8 round trip - 2 switches (ns)", "b8.cv", "%.1f", 2);
	row("B-8 semaphore acquire + release (ns; Boost: none)", "b8.sem", "%.1f");
	std::printf("\nB-5 rows are millions of messages per second (higher is better); the "
	            "others ns (lower is better).  coop/Boost time: the ratio of coop's time per "
	            "operation (per message for B-5) to Boost.Fiber's, of the medians: below 1, "
	            "coop is faster.\n");
	return g_bad ? 1 : 0;
}
