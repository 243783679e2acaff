/*
 * bench-wait.cc: coop 1.1's waits (issue 11, figures B-2 and B-9), with
 * Boost.Fiber 1.74 (Debian's libboost-fiber-dev) beside coop where it has
 * the same call.  A program of its own: bench and bench-c keep to 1.0's
 * calls, so that bench/compare.sh can run them against a 1.0 library.
 * Nothing here is asserted (machines are noisy): it reports, the README
 * quotes.  Each workload runs REPS times (default 7), the implementations
 * and variants interleaved within each repetition; the tables show medians
 * (of per-repetition differences, for the rows that are differences).
 *
 *   bench-wait [--quick] [--reps N] [--tasks N] [--stack BYTES]
 *
 * B-2, timers: N tasks (default 1,000,000; --tasks N, 0 skips B-2), all
 *   spawned before the run, on STACK-byte stacks (default 8 KiB; --stack):
 *   small for both, as Boost.Fiber's default stacks could not be a million
 *   (coop: the context's stack_size, guarded slots; Boost:
 *   boost::fibers::fixedsize_stack, malloc'd, unguarded: its guarded
 *   protected_fixedsize_stack takes two kernel mappings per fiber, and
 *   vm.max_map_count is 65,530).  Each task, when it starts, reads the
 *   clock and sleeps until  now + U  (coop_sleep_until; Boost:
 *   boost::this_fiber::sleep_until on steady_clock, the same
 *   CLOCK_MONOTONIC), U drawn per task with a fixed seed, uniform in
 *   [1 us, 1 s) (at least 1 us: a deadline that has passed when the sleep
 *   is entered returns without sleeping, and would not be a timer); it
 *   then records coop_now() and its place in the wake order, and ends
 *   (detached).  A deadline relative to each task's start, as the spec's
 *   B-2 says, rather than to one common start: starting a million tasks
 *   takes a noticeable part of the second, and with a common start the
 *   tasks that start after their deadline would never sleep.
 *   Every measurement runs in a child process of its own (fork), so that
 *   peaks do not mix, with one of five variants of the task:
 *     sleep   as above;
 *     burst   the same, but every deadline is one common time + U(1 ns,
 *             1 ms), the common time after every task has started (the
 *             run's start + 3 times this repetition's sleep start phase +
 *             0.5 s): all the timers are inserted first, then expire back
 *             to back, with one kernel sleep in all (and many equal
 *             deadlines, at 1 ns resolution).  A repetition where some
 *             task started after the common time anyway is left out of
 *             the burst row (and reported);
 *     yield   coop_yield() (Boost: this_fiber::yield()) instead of the
 *             sleep: the same two switches per task, no timer (and 1.0's
 *             way of parking a task, as bench's million workload does);
 *     none    nothing instead of the sleep (start, run, end);
 *     base    no task at all (the memory baseline).
 *   Figures, per task unless stated:
 *     CPU        CPU time of the process (CLOCK_PROCESS_CPUTIME_ID) from
 *                just before coop_run() (Boost: just before the main fiber
 *                waits for the last fiber to end) to its return, divided
 *                by N: spawning is outside, starting, switching, the
 *                timer, ending and freeing the task inside, and so is the
 *                kernel's share: the scheduler sleeping between deadlines
 *                (clock_nanosleep; Boost: a futex wait), and giving stacks
 *                back.  The user/kernel split is getrusage()'s.
 *     timer      CPU(sleep) - CPU(yield): what a timer costs, insert and
 *                expire, over a yield that switches as often (with the
 *                kernel sleeps of the idle scheduler, shown apart, and the
 *                cost of resuming tasks in deadline order, which is random
 *                in memory, where the yields resume them in spawn order).
 *                CPU(sleep) - CPU(none) also.  And CPU(burst) - CPU(yield):
 *                the timer without the idle scheduler's kernel sleeps,
 *                whose count (voluntary context switches of the run) is
 *                shown too.
 *     wall       from just before coop_run() to its return; the ideal is
 *                the latest deadline minus that start (about 1 s plus the
 *                time it takes to start every task: the start phase, from
 *                the run's start to the last task's start, shown too).
 *     memory     peak resident memory (VmHWM, read at the end) plus page
 *                tables (VmPTE, read when the last task starts, when all
 *                are suspended), minus the same of the base variant,
 *                divided by N.  "extra" is sleep minus yield: what a
 *                sleeping task costs over a parked one, with the same
 *                library.  (What 1.1's tasks cost over 1.0's, asleep or
 *                not, is bench's million row under bench/compare.sh.)
 *     ordered    all tasks slept and woke, none before its deadline (wake
 *                time >= deadline), and the wake order is the order of
 *                (deadline, spawn index): "yes" only if so in every
 *                repetition (sleep, and burst).
 *
 * B-9, cancellation: a driver task loops: spawn a task that calls
 *   coop_sleep_until(COOP_FOREVER), yield once (the task starts and
 *   blocks; checked with coop_context_tasks() in the first round), then
 *   time coop_cancel() + coop_join() of it (the join switches to the
 *   cancelled task, whose sleep returns -ECANCELED, it ends, and the join
 *   switches back: 2 switches).  Timed with coop_now() around the two
 *   calls, minus one clock read (two back-to-back coop_now(), measured in
 *   the same loop), so that spawning is not in the figure.  The switch it
 *   is compared with is bench's: two tasks yielding to each other, in the
 *   same repetition.  Boost.Fiber 1.74 has no cancellation (no interruption
 *   of a sleeping fiber): coop only.
 */
#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <coop/coop.h>

/* Only some of its workloads are used here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "workloads.h" /* median_of, die, bench_context, bench_spawn, coop_switch */
#pragma GCC diagnostic pop

#ifdef HAVE_BOOST_FIBER
#include <chrono>
#include <mutex>

#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/fiber.hpp>
#include <boost/fiber/fixedsize_stack.hpp>
#include <boost/fiber/mutex.hpp>
#include <boost/fiber/operations.hpp>
#include <boost/version.hpp>
#endif

static double median(std::vector<double> v)
{
	return v.empty() ? 0 : median_of(v.data(), v.size());
}

/* ---------------------------------------------------------------- B-2 -- */

enum impl { IMPL_COOP, IMPL_BOOST, NIMPL };
enum variant { V_SLEEP, V_BURST, V_YIELD, V_NONE, V_BASE, NVARIANT };
static const char *const impl_name[NIMPL] = {"coop", "Boost.Fiber"};
static const char *const variant_name[NVARIANT] = {"sleep", "burst", "yield", "none", "base"};

/* What a child reports through its pipe. */
struct b2_result {
	int ok;              /* the child ran to its end */
	long spawned;        /* tasks it could create (n unless one failed) */
	double cpu_ns, user_ns, sys_ns; /* of the run, whole process */
	long minflt;         /* minor page faults during the run */
	long nvcsw;          /* voluntary context switches (kernel sleeps) during the run */
	double wall_ns;      /* run start to run end */
	double ideal_ns;     /* latest deadline - run start */
	double start_ns;     /* run start to the last task's start */
	long hwm_kib, pte_kib; /* VmHWM at the end, VmPTE when the last task starts */
	long woke;           /* tasks that recorded their wake */
	long early;          /* woke before their deadline */
	long disorder;       /* adjacent pairs out of (deadline, index) order */
	long errors;         /* sleeps that did not return 0 */
	long unslept;        /* tasks whose deadline had passed when they started */
	long first_bad;      /* wake rank of the first disorder, or -1 */
	char what[96];       /* why it failed, when !ok */
};

/* The run's state, in the child; arrays of n. */
static long g_n;
static int g_variant;
static int64_t *g_off, *g_dl, *g_wake;
static uint32_t *g_order;
static long g_woke, g_errors, g_unslept;
static int64_t g_last_start, g_base;
static long g_rss_kib, g_pte_kib;

/* Read VmRSS, VmPTE, VmHWM (KiB) without stdio (from a task on a small
 * stack, too). */
static void read_status(long *rss, long *pte, long *hwm)
{
	static char buf[8192];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t len = 0, r;

	if (fd >= 0) {
		while (len < (ssize_t)sizeof(buf) - 1 &&
		       (r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
			len += r;
		close(fd);
	}
	buf[len > 0 ? len : 0] = '\0';
	const char *names[3] = {"\nVmRSS:", "\nVmPTE:", "\nVmHWM:"};
	long *out[3] = {rss, pte, hwm};
	for (int k = 0; k < 3; k++) {
		const char *p = std::strstr(buf, names[k]);
		if (out[k])
			*out[k] = p ? std::atol(p + std::strlen(names[k])) : -1;
	}
}

/* splitmix64: the same offsets on every libc. */
static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool b2_alloc(long n)
{
	uint64_t seed = 20261201;

	g_n = n;
	g_off = (int64_t *)std::malloc(n * sizeof(int64_t) + 1);
	g_dl = (int64_t *)std::malloc(n * sizeof(int64_t) + 1);
	g_wake = (int64_t *)std::malloc(n * sizeof(int64_t) + 1);
	g_order = (uint32_t *)std::malloc(n * sizeof(uint32_t) + 1);
	if (!g_off || !g_dl || !g_wake || !g_order)
		return false;
	/* Touched here, in every variant, so that they weigh the same in each. */
	for (long i = 0; i < n; i++) {
		g_off[i] = COOP_USEC + (int64_t)(splitmix64(&seed) % (uint64_t)(COOP_SEC - COOP_USEC));
		g_dl[i] = g_wake[i] = -1;
		g_order[i] = 0;
	}
	return true;
}

/* The task's body before its wait: its deadline.  The last task to start
 * samples the memory, when every task is suspended (or has ended, those
 * whose deadline came during the start phase). */
static inline int64_t b2_begin(long i)
{
	int64_t now = coop_now();

	g_dl[i] = g_variant == V_BURST ? g_base + g_off[i] / 1000 : now + g_off[i];
	g_unslept += now >= g_dl[i];
	g_last_start = now;
	if (i == g_n - 1)
		read_status(&g_rss_kib, &g_pte_kib, nullptr);
	return g_dl[i];
}

/* After its wait: when it woke, and its place in the wake order. */
static inline void b2_end(long i)
{
	g_wake[i] = coop_now();
	g_order[g_woke++] = (uint32_t)i;
}

static void *b2_coop_task(void *arg)
{
	long i = (long)(intptr_t)arg;
	int64_t d = b2_begin(i);

	if (g_variant == V_SLEEP || g_variant == V_BURST)
		g_errors += coop_sleep_until(d) != 0;
	else if (g_variant == V_YIELD)
		coop_yield();
	b2_end(i);
	return nullptr;
}

struct b2_clock {
	double wall0, cpu0;
	struct rusage ru0;
};

static double cpu_ns()
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double tv_ns(const struct timeval &tv)
{
	return tv.tv_sec * 1e9 + tv.tv_usec * 1e3;
}

static void b2_run_begin(b2_clock *k, double lead_ns)
{
	g_base = coop_now() + (int64_t)lead_ns;
	getrusage(RUSAGE_SELF, &k->ru0);
	k->cpu0 = cpu_ns();
	k->wall0 = (double)coop_now();
}

static void b2_run_end(const b2_clock *k, b2_result *r)
{
	double wall1 = (double)coop_now(), cpu1 = cpu_ns();
	struct rusage ru1;

	getrusage(RUSAGE_SELF, &ru1);
	r->wall_ns = wall1 - k->wall0;
	r->cpu_ns = cpu1 - k->cpu0;
	r->user_ns = tv_ns(ru1.ru_utime) - tv_ns(k->ru0.ru_utime);
	r->sys_ns = tv_ns(ru1.ru_stime) - tv_ns(k->ru0.ru_stime);
	r->minflt = ru1.ru_minflt - k->ru0.ru_minflt;
	r->nvcsw = ru1.ru_nvcsw - k->ru0.ru_nvcsw;
	r->start_ns = (double)g_last_start - k->wall0;
	int64_t latest = 0;
	for (long i = 0; i < g_n; i++)
		latest = std::max(latest, g_dl[i]);
	r->ideal_ns = (double)latest - k->wall0;
}

static void b2_coop(int variant, long n, size_t stack, double lead_ns, b2_result *r)
{
	struct coop_context_opts o;
	struct coop_context *c;
	b2_clock k;
	int rc;

	std::memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.stack_size = stack;
	if ((rc = coop_context_create(&c, &o)) < 0) {
		std::snprintf(r->what, sizeof(r->what), "coop_context_create: %s", std::strerror(-rc));
		return;
	}
	long spawn = variant == V_BASE ? 0 : n;
	for (r->spawned = 0; r->spawned < spawn; r->spawned++)
		if ((rc = coop_spawn(c, nullptr, b2_coop_task, (void *)(intptr_t)r->spawned,
		                     nullptr)) < 0) {
			std::snprintf(r->what, sizeof(r->what), "coop_spawn failed after %ld tasks: %s",
			              r->spawned, std::strerror(-rc));
			return;
		}
	b2_run_begin(&k, lead_ns);
	rc = coop_run(c);
	b2_run_end(&k, r);
	if (rc < 0) {
		std::snprintf(r->what, sizeof(r->what), "coop_run: %s", std::strerror(-rc));
		return;
	}
	r->ok = 1;
	/* The context is not destroyed: the child exits. */
}

#ifdef HAVE_BOOST_FIBER
static long g_done;
static boost::fibers::mutex *g_mtx;
static boost::fibers::condition_variable *g_cv;

static void b2_boost_fiber(long i)
{
	int64_t d = b2_begin(i);

	if (g_variant == V_SLEEP || g_variant == V_BURST)
		boost::this_fiber::sleep_until(
			std::chrono::steady_clock::time_point(std::chrono::nanoseconds(d)));
	else if (g_variant == V_YIELD)
		boost::this_fiber::yield();
	b2_end(i);
	if (++g_done == g_n)
		g_cv->notify_one();
}

static void b2_boost(int variant, long n, size_t stack, double lead_ns, b2_result *r)
{
	boost::fibers::mutex mtx;
	boost::fibers::condition_variable cv;
	boost::fibers::fixedsize_stack salloc(stack);
	long spawn = variant == V_BASE ? 0 : n;
	b2_clock k;

	g_mtx = &mtx;
	g_cv = &cv;
	g_done = 0;
	try {
		/* launch::post (the default): a new fiber waits in the ready
		 * queue until the main fiber blocks, as coop's wait for
		 * coop_run(). */
		for (r->spawned = 0; r->spawned < spawn; r->spawned++)
			boost::fibers::fiber(std::allocator_arg, salloc, b2_boost_fiber, r->spawned)
				.detach();
	} catch (const std::exception &e) {
		std::snprintf(r->what, sizeof(r->what), "fiber creation failed after %ld fibers: %s",
		              r->spawned, e.what());
		return;
	}
	b2_run_begin(&k, lead_ns);
	{
		std::unique_lock<boost::fibers::mutex> lk(mtx);
		cv.wait(lk, [spawn] { return g_done == spawn; });
	}
	b2_run_end(&k, r);
	r->ok = 1;
}
#endif

static void b2_check(int variant, b2_result *r)
{
	r->woke = g_woke;
	r->errors = g_errors;
	r->unslept = g_unslept;
	r->first_bad = -1;
	if (variant != V_SLEEP && variant != V_BURST)
		return;
	for (long i = 0; i < g_n; i++)
		r->early += g_wake[i] >= 0 && g_wake[i] < g_dl[i];
	for (long k = 1; k < g_woke; k++) {
		uint32_t a = g_order[k - 1], b = g_order[k];
		if (g_dl[b] < g_dl[a] || (g_dl[b] == g_dl[a] && b < a)) {
			if (r->first_bad < 0)
				r->first_bad = k;
			r->disorder++;
		}
	}
}

/* One measurement, in a child process; its result through a pipe. */
static b2_result b2_measure(int im, int variant, long n, size_t stack, double lead_ns)
{
	b2_result r;
	int fd[2];

	std::memset(&r, 0, sizeof(r));
	std::fflush(nullptr);
	if (pipe(fd) < 0) {
		std::snprintf(r.what, sizeof(r.what), "pipe: %s", std::strerror(errno));
		return r;
	}
	pid_t pid = fork();
	if (pid < 0) {
		std::snprintf(r.what, sizeof(r.what), "fork: %s", std::strerror(errno));
		close(fd[0]);
		close(fd[1]);
		return r;
	}
	if (pid == 0) {
		close(fd[0]);
		g_variant = variant;
		if (!b2_alloc(n)) {
			std::snprintf(r.what, sizeof(r.what), "out of memory for the records");
		} else {
			if (im == IMPL_COOP)
				b2_coop(variant, n, stack, lead_ns, &r);
#ifdef HAVE_BOOST_FIBER
			else
				b2_boost(variant, n, stack, lead_ns, &r);
#endif
			if (r.ok) {
				b2_check(variant, &r);
				long pte;
				read_status(nullptr, &pte, &r.hwm_kib);
				r.pte_kib = variant == V_BASE || variant == V_NONE ? pte : g_pte_kib;
			}
		}
		ssize_t w = write(fd[1], &r, sizeof(r));
		_exit(w == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(fd[1]);
	ssize_t got = 0, rd;
	while (got < (ssize_t)sizeof(r) && (rd = read(fd[0], (char *)&r + got, sizeof(r) - got)) > 0)
		got += rd;
	close(fd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got != (ssize_t)sizeof(r)) {
		std::memset(&r, 0, sizeof(r));
		if (WIFSIGNALED(status))
			std::snprintf(r.what, sizeof(r.what), "child killed by signal %d (%s)",
			              WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			std::snprintf(r.what, sizeof(r.what), "child exited with status %d",
			              WEXITSTATUS(status));
	}
	return r;
}

/* The figures of one implementation, one entry per repetition. */
struct b2_series {
	std::vector<double> cpu[NVARIANT], flt[NVARIANT], csw[NVARIANT];
	std::vector<double> timer, timer_user, timer_sys, timer_none, timer_burst;
	std::vector<double> mem_sleep, mem_yield, extra;
	std::vector<double> wall, ideal, over, start;
	/* Order checks, summed over the repetitions: [0] sleep, [1] burst. */
	long early[2] = {0, 0}, disorder[2] = {0, 0}, errors[2] = {0, 0}, lost[2] = {0, 0},
	     unslept[2] = {0, 0};
	long reps = 0;
	bool failed = false;
	std::string what;
};

static void b2_collect(b2_series *s, const b2_result (&r)[NVARIANT], long n, int im)
{
	for (int v = 0; v < NVARIANT; v++)
		if (!r[v].ok || (v != V_BASE && r[v].spawned != n)) {
			s->failed = true;
			if (s->what.empty())
				s->what = std::string(variant_name[v]) + " variant: " + r[v].what;
			return;
		}
	s->reps++;
	for (int v = 0; v < NVARIANT; v++) {
		s->cpu[v].push_back(r[v].cpu_ns / n);
		s->flt[v].push_back((double)r[v].minflt / n);
		s->csw[v].push_back((double)r[v].nvcsw);
	}
	const b2_result &sl = r[V_SLEEP], &bu = r[V_BURST], &yi = r[V_YIELD], &no = r[V_NONE];
	s->timer.push_back((sl.cpu_ns - yi.cpu_ns) / n);
	s->timer_user.push_back((sl.user_ns - yi.user_ns) / n);
	s->timer_sys.push_back((sl.sys_ns - yi.sys_ns) / n);
	s->timer_none.push_back((sl.cpu_ns - no.cpu_ns) / n);
	if (!bu.unslept) /* else not every task had a timer */
		s->timer_burst.push_back((bu.cpu_ns - yi.cpu_ns) / n);
	double base = r[V_BASE].hwm_kib + r[V_BASE].pte_kib;
	double msl = sl.hwm_kib + sl.pte_kib, myi = yi.hwm_kib + yi.pte_kib;
	s->mem_sleep.push_back((msl - base) * 1024 / n);
	s->mem_yield.push_back((myi - base) * 1024 / n);
	s->extra.push_back((msl - myi) * 1024 / n);
	s->wall.push_back(sl.wall_ns / 1e9);
	s->ideal.push_back(sl.ideal_ns / 1e9);
	s->over.push_back(100.0 * (sl.wall_ns - sl.ideal_ns) / sl.ideal_ns);
	s->start.push_back(sl.start_ns / 1e6);
	for (int k = 0; k < 2; k++) {
		const b2_result &x = k ? bu : sl;
		s->early[k] += x.early;
		s->disorder[k] += x.disorder;
		s->errors[k] += x.errors;
		s->lost[k] += n - x.woke;
		s->unslept[k] += x.unslept;
		if (x.disorder || x.early || x.woke != n || x.errors || x.unslept)
			std::fprintf(stderr,
			             "bench-wait: B-2 %s, %s, repetition %ld: woke %ld of %ld, %ld early, "
			             "%ld adjacent pairs out of order (the first at wake rank %ld), %ld "
			             "sleeps failed, %ld started after their deadline\n",
			             impl_name[im], variant_name[k ? V_BURST : V_SLEEP], s->reps, x.woke, n,
			             x.early, x.disorder, x.first_bad, x.errors, x.unslept);
	}
}

static void b2_row(const char *name, const char *fmt, const std::vector<double> &c,
                   const b2_series &b, const std::vector<double> &bv, bool have_boost,
                   bool ratio = true)
{
	char cbuf[32], bbuf[32], rbuf[32];
	double cm = median(c), bm = median(bv);

	std::snprintf(cbuf, sizeof(cbuf), c.empty() ? "n/a" : fmt, cm);
	std::snprintf(rbuf, sizeof(rbuf), "-");
	if (have_boost && !b.failed && !bv.empty()) {
		std::snprintf(bbuf, sizeof(bbuf), fmt, bm);
		if (ratio && cm > 0 && bm > 0)
			std::snprintf(rbuf, sizeof(rbuf), "%.2fx", cm / bm);
	} else {
		std::snprintf(bbuf, sizeof(bbuf), "n/a");
	}
	std::printf("| %-56s | %11s | %11s | %10s |\n", name, cbuf, bbuf, rbuf);
}

static const char *b2_verdict(const b2_series &x, int k, bool present)
{
	if (!present || x.failed)
		return "n/a";
	return x.early[k] || x.disorder[k] || x.errors[k] || x.lost[k] || x.unslept[k] ? "no"
	                                                                                 : "yes";
}

static void b2(long n, size_t stack, int reps, bool have_boost)
{
	b2_series s[NIMPL];
	int nimpl = have_boost ? NIMPL : 1;

	for (int rep = 0; rep < reps; rep++) {
		b2_result r[NIMPL][NVARIANT] = {};
		std::fprintf(stderr, "bench-wait: B-2 repetition %d of %d\n", rep + 1, reps);
		for (int v = 0; v < NVARIANT; v++)
			for (int im = 0; im < nimpl; im++) {
				/* burst: every task asleep before the first deadline:
				 * three times the start phase of this repetition's
				 * sleep, + 0.5 s (start phases vary from run to run
				 * on a shared machine; the wait costs no CPU). */
				double lead = 3 * r[im][V_SLEEP].start_ns + 500e6;
				r[im][v] = s[im].failed ? b2_result() : b2_measure(im, v, n, stack, lead);
			}
		for (int im = 0; im < nimpl; im++)
			if (!s[im].failed)
				b2_collect(&s[im], r[im], n, im);
	}

	std::printf("\nB-2: %ld tasks, %zu-byte stacks, each sleeping until its start + U(1 us, "
	            "1 s); %d interleaved repetitions, medians\n\n",
	            n, stack, reps);
	for (int im = 0; im < nimpl; im++)
		if (s[im].failed)
			std::printf("%s: %s; its column says n/a\n", impl_name[im], s[im].what.c_str());
	if (s[IMPL_COOP].failed)
		return;
	const b2_series &c = s[IMPL_COOP], &b = s[IMPL_BOOST];
	bool hb = have_boost;
	std::printf("| %-56s | %11s | %11s | %10s |\n", "B-2 (per task unless stated)", "coop",
	            "Boost.Fiber", "coop/Boost");
	std::printf("|----------------------------------------------------------|-------------|"
	            "-------------|------------|\n");
	b2_row("CPU of the run, sleep (ns)", "%.1f", c.cpu[V_SLEEP], b, b.cpu[V_SLEEP], hb);
	b2_row("CPU of the run, yield once instead (ns)", "%.1f", c.cpu[V_YIELD], b,
	       b.cpu[V_YIELD], hb);
	b2_row("CPU of the run, neither: start and end (ns)", "%.1f", c.cpu[V_NONE], b,
	       b.cpu[V_NONE], hb);
	b2_row("timer, insert + expire: sleep - yield (ns)", "%.1f", c.timer, b, b.timer, hb);
	b2_row("  of which user (ns)", "%.1f", c.timer_user, b, b.timer_user, hb);
	b2_row("  of which kernel (ns)", "%.1f", c.timer_sys, b, b.timer_sys, hb);
	b2_row("sleep - neither (ns)", "%.1f", c.timer_none, b, b.timer_none, hb);
	b2_row("timer, no idle sleeps: burst - yield (ns)", "%.1f", c.timer_burst, b,
	       b.timer_burst, hb);
	b2_row("kernel sleeps in the run, sleep (count, not per task)", "%.0f", c.csw[V_SLEEP], b,
	       b.csw[V_SLEEP], hb, false);
	b2_row("page faults in the run, sleep", "%.3f", c.flt[V_SLEEP], b, b.flt[V_SLEEP], hb,
	       false);
	b2_row("page faults in the run, yield", "%.3f", c.flt[V_YIELD], b, b.flt[V_YIELD], hb,
	       false);
	b2_row("wall, run start to end (s)", "%.3f", c.wall, b, b.wall, hb);
	b2_row("ideal: latest deadline - run start (s)", "%.3f", c.ideal, b, b.ideal, hb);
	b2_row("wall over ideal (%)", "%.2f", c.over, b, b.over, hb, false);
	b2_row("start phase: run start to last task's start (ms)", "%.1f", c.start, b, b.start,
	       hb);
	b2_row("memory, sleeping (bytes: peak RSS + page tables)", "%.0f", c.mem_sleep, b,
	       b.mem_sleep, hb);
	b2_row("memory, parked in a yield (bytes)", "%.0f", c.mem_yield, b, b.mem_yield, hb);
	b2_row("extra memory of a sleeping task: sleep - yield (bytes)", "%.0f", c.extra, b,
	       b.extra, hb, false);
	std::printf("| %-56s | %11s | %11s | %10s |\n", "in deadline order, none early (all reps)",
	            b2_verdict(c, 0, true), b2_verdict(b, 0, hb), "");
	std::printf("| %-56s | %11s | %11s | %10s |\n", "  the same, burst (many equal deadlines)",
	            b2_verdict(c, 1, true), b2_verdict(b, 1, hb), "");
	for (int im = 0; im < nimpl; im++)
		if (s[im].timer_burst.size() < (size_t)s[im].reps)
			std::printf("%s: the burst row is from %zu of %ld repetitions (in the others, "
			            "some task started after the common deadline)\n",
			            impl_name[im], s[im].timer_burst.size(), s[im].reps);
	for (int im = 0; im < nimpl; im++)
		for (int k = 0; k < 2; k++) {
			const b2_series &x = s[im];
			if (!std::strcmp(b2_verdict(x, k, true), "no"))
				std::printf("%s, %s, over %ld repetitions: %ld woke early, %ld adjacent "
				            "pairs out of order, %ld sleeps failed, %ld never woke, %ld "
				            "started after their deadline\n",
				            impl_name[im], variant_name[k ? V_BURST : V_SLEEP], x.reps,
				            x.early[k], x.disorder[k], x.errors[k], x.lost[k],
				            x.unslept[k]);
		}
}

/* ---------------------------------------------------------------- B-9 -- */

struct b9_state {
	struct coop_context *c;
	long iters;
	double cj_ns, clock_ns;
	long bad;
};

static void *b9_sleeper(void *)
{
	int rc = coop_sleep_until(COOP_FOREVER);

	return rc == -ECANCELED ? COOP_CANCELED : nullptr;
}

/* Is `t` blocked in a sleep? (one check, outside the timing) */
static bool b9_blocked_in_sleep(struct coop_context *c)
{
	struct coop_task_info info[4];
	int count;

	for (auto &i : info) {
		std::memset(&i, 0, sizeof(i));
		i.size = sizeof(i);
	}
	count = coop_context_tasks(c, info, 4);
	for (int i = 0; i < count && i < 4; i++)
		if (info[i].state == COOP_TASK_BLOCKED && info[i].wait == COOP_WAIT_SLEEP)
			return true;
	return false;
}

static void *b9_driver(void *arg)
{
	b9_state *s = (b9_state *)arg;
	int64_t sum = 0, csum = 0;

	for (long i = 0; i < s->iters; i++) {
		struct coop_task *t;
		void *res = nullptr;
		int rc;

		if ((rc = coop_spawn(s->c, &t, b9_sleeper, nullptr, nullptr)) < 0)
			die("coop_spawn", rc);
		coop_yield(); /* the sleeper starts, and blocks: we are the only runnable task */
		if (i == 0 && !b9_blocked_in_sleep(s->c)) {
			std::fprintf(stderr, "bench-wait: B-9: the task is not blocked in a sleep\n");
			s->bad++;
		}
		int64_t t0 = coop_now();
		coop_cancel(t);
		rc = coop_join(t, &res);
		int64_t t1 = coop_now();
		int64_t c0 = coop_now();
		int64_t c1 = coop_now();
		sum += t1 - t0;
		csum += c1 - c0;
		if (rc != 0 || res != COOP_CANCELED)
			s->bad++;
	}
	s->clock_ns = (double)csum / s->iters;
	s->cj_ns = (double)sum / s->iters - s->clock_ns;
	return nullptr;
}

static void b9_measure(long iters, double *cj, double *clock, long *bad)
{
	b9_state s = {bench_context(), iters, 0, 0, 0};

	bench_spawn(s.c, b9_driver, &s);
	coop_run(s.c);
	coop_context_destroy(s.c);
	*cj = s.cj_ns;
	*clock = s.clock_ns;
	*bad += s.bad;
}

static void b9(long iters, long sw_iters, int reps)
{
	std::vector<double> sw, cj, clk, budget;
	long bad = 0;

	for (int r = 0; r < reps; r++) {
		double c, k, w;
		w = coop_switch(sw_iters);
		b9_measure(iters, &c, &k, &bad);
		sw.push_back(w);
		cj.push_back(c);
		clk.push_back(k);
		budget.push_back(2 * w + 40);
	}
	std::printf("\nB-9: cancel a task blocked in coop_sleep_until(COOP_FOREVER), then join it; "
	            "%d interleaved repetitions, medians\n\n",
	            reps);
	std::printf("| %-56s | %11s |\n", "B-9", "coop");
	std::printf("|----------------------------------------------------------|-------------|\n");
	std::printf("| %-56s | %11.1f |\n", "switch, two tasks yielding (ns)", median(sw));
	std::printf("| %-56s | %11.1f |\n", "cancel + join (ns)", median(cj));
	std::printf("| %-56s | %11.1f |\n", "target: 2 switches + 40 ns (ns)", median(budget));
	std::printf("| %-56s | %11.1f |\n", "clock read, subtracted from cancel + join (ns)",
	            median(clk));
	if (bad)
		std::printf("B-9: %ld rounds did not go as designed (the join failed, or the result "
		            "was not COOP_CANCELED, or the task was not asleep)\n",
		            bad);
}

/* ---------------------------------------------------------------- main -- */

int main(int argc, char **argv)
{
	int reps = 7;
	long tasks = 1000000, scale = 1;
	size_t stack = 8192;

	for (int i = 1; i < argc; i++) {
		if (!std::strcmp(argv[i], "--quick")) {
			reps = 3;
			scale = 10;
			tasks = 100000;
		} else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) {
			reps = std::atoi(argv[++i]);
		} else if (!std::strcmp(argv[i], "--tasks") && i + 1 < argc) {
			tasks = std::atol(argv[++i]);
		} else if (!std::strcmp(argv[i], "--stack") && i + 1 < argc) {
			stack = (size_t)std::atol(argv[++i]);
		} else {
			std::fprintf(stderr,
			             "usage: %s [--quick] [--reps N] [--tasks N] [--stack BYTES]\n",
			             argv[0]);
			return 2;
		}
	}
	if (reps < 1)
		reps = 1;
	if (tasks > (long)UINT32_MAX)
		tasks = (long)UINT32_MAX;
#ifdef HAVE_BOOST_FIBER
	const bool have_boost = true;
	std::printf("coop %s and Boost.Fiber %d.%d.%d\n", coop_version(), BOOST_VERSION / 100000,
	            BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100);
#else
	const bool have_boost = false;
	std::printf("coop %s; Boost.Fiber: not built in (install libboost-fiber-dev and "
	            "reconfigure with -Dbench=true); its column says n/a\n",
	            coop_version());
#endif
	std::fflush(stdout);
	b9(200000 / scale, 2000000 / scale, reps);
	std::fflush(stdout);
	if (tasks > 0)
		b2(tasks, stack, reps, have_boost);
	return 0;
}
