/*
 * bench.cc: coop against Boost.Context and glibc ucontext, same work, one
 * process.  Each workload runs REPS times, the implementations interleaved
 * within each repetition, and the table shows medians and ratios.
 * CLOCK_MONOTONIC; nothing here is asserted (machines are noisy): it
 * reports, and the README quotes.
 *
 *   bench [--quick] [--reps N] [--million N]
 *
 * Workloads:
 *   switch      two tasks handing control back and forth, per switch
 *   spawn       from inside a task: spawn a trivial task, run it to its end,
 *               join it (Boost: create a fiber on a pooled_fixedsize_stack,
 *               resume it to its end, destroy it)
 *   ring-10k    10,000 live tasks yielding round-robin, per yield (Boost: a
 *               main loop resuming each of 10,000 fcontexts in turn, per
 *               handoff = fiber -> main -> next fiber)
 *   million     N tasks (default 1,000,000) alive at once with default
 *               options, each suspended in coop_yield: spawn cost, memory
 *               (resident + page tables) per task, mappings
 * Boost.Context is C++; built without it (no libboost-context-dev) those
 * columns say so.
 */
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <ucontext.h>

#include <coop/coop.h>

#include "workloads.h" /* coop's side, shared with bench-c.c */

#ifdef HAVE_BOOST_CONTEXT
#include <boost/context/detail/fcontext.hpp>
#include <boost/context/fiber.hpp>
#include <boost/context/fixedsize_stack.hpp>
#include <boost/context/pooled_fixedsize_stack.hpp>
namespace ctx = boost::context;
#endif

static double median(std::vector<double> v)
{
	return median_of(v.data(), v.size());
}

/* ------------------------------------------------------------ ucontext -- */

static ucontext_t uc_main, uc_task;

static void uc_body()
{
	for (;;)
		swapcontext(&uc_task, &uc_main);
}

static double ucontext_switch(long iters)
{
	static char stack[64 * 1024];

	getcontext(&uc_task);
	uc_task.uc_stack.ss_sp = stack;
	uc_task.uc_stack.ss_size = sizeof(stack);
	uc_task.uc_link = nullptr;
	makecontext(&uc_task, uc_body, 0);
	double t0 = now_ns();
	for (long i = 0; i < iters; i++)
		swapcontext(&uc_main, &uc_task);
	double t1 = now_ns();
	return (t1 - t0) / (2.0 * iters);
}

/* --------------------------------------------------------------- Boost -- */

#ifdef HAVE_BOOST_CONTEXT
static void boost_pingpong(ctx::detail::transfer_t t)
{
	for (;;)
		t = ctx::detail::jump_fcontext(t.fctx, nullptr);
}

static double boost_switch(long iters)
{
	static char stack[64 * 1024];
	ctx::detail::fcontext_t f =
		ctx::detail::make_fcontext(stack + sizeof(stack), sizeof(stack), boost_pingpong);
	double t0 = now_ns();
	for (long i = 0; i < iters; i++)
		f = ctx::detail::jump_fcontext(f, nullptr).fctx;
	double t1 = now_ns();
	return (t1 - t0) / (2.0 * iters);
}

static double boost_spawn_join(long iters)
{
	ctx::pooled_fixedsize_stack salloc(128 * 1024);
	double t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		ctx::fiber f(std::allocator_arg, salloc, [](ctx::fiber &&caller) {
			return std::move(caller);
		});
		f = std::move(f).resume(); /* runs to its end; f is empty after */
	}
	double t1 = now_ns();
	return (t1 - t0) / iters;
}

/* n fcontexts, each jumping back to the main loop, which resumes the next.
 * Stacks from Boost's default allocator (fixedsize_stack, default size), as
 * a boost::context::fiber gets them. */
static void boost_ring_body(ctx::detail::transfer_t t)
{
	for (;;)
		t = ctx::detail::jump_fcontext(t.fctx, nullptr);
}

static double boost_ring(long n, long rounds)
{
	ctx::fixedsize_stack salloc;
	std::vector<ctx::stack_context> stacks(n);
	std::vector<ctx::detail::fcontext_t> f(n);
	for (long i = 0; i < n; i++) {
		stacks[i] = salloc.allocate();
		f[i] = ctx::detail::make_fcontext(stacks[i].sp, stacks[i].size, boost_ring_body);
	}
	for (long i = 0; i < n; i++) /* start them all, like coop's first round */
		f[i] = ctx::detail::jump_fcontext(f[i], nullptr).fctx;
	double t0 = now_ns();
	for (long r = 1; r < rounds; r++)
		for (long i = 0; i < n; i++)
			f[i] = ctx::detail::jump_fcontext(f[i], nullptr).fctx;
	double t1 = now_ns();
	for (long i = 0; i < n; i++)
		salloc.deallocate(stacks[i]);
	return (t1 - t0) / (double)(n * (rounds - 1));
}
#endif

/* ------------------------------------------------------------- million -- */

static long status_kib(const char *field)
{
	FILE *f = std::fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t len = std::strlen(field);

	while (f && std::fgets(line, sizeof(line), f))
		if (!std::strncmp(line, field, len) && line[len] == ':')
			v = std::atol(line + len + 1);
	if (f)
		std::fclose(f);
	return v;
}

static long map_count()
{
	FILE *f = std::fopen("/proc/self/maps", "r");
	long n = 0;
	int ch;

	while (f && (ch = std::fgetc(f)) != EOF)
		n += ch == '\n';
	if (f)
		std::fclose(f);
	return n;
}

struct million_result {
	long spawned;
	int error;
	double spawn_ns, mem_per_task, maps;
};

static void *park(void *)
{
	coop_yield(); /* suspended here while the others are measured */
	return nullptr;
}

static long g_parked;
static long g_target;
static million_result g_mr;

static void *measure_when_all_parked(void *)
{
	/* Runs after every park task has yielded once: all are suspended. */
	long rss = status_kib("VmRSS"), pte = status_kib("VmPTE");
	g_mr.mem_per_task = (rss + pte - g_parked) * 1024.0 / g_mr.spawned;
	g_mr.maps = map_count();
	return nullptr;
}

static million_result coop_million(long n)
{
	struct coop_context *c;
	int rc;

	g_mr = million_result();
	g_target = n;
	if ((rc = coop_context_create(&c, nullptr)) < 0)
		die("coop_context_create", rc);
	g_parked = status_kib("VmRSS") + status_kib("VmPTE"); /* baseline, KiB */
	double t0 = now_ns();
	long i;
	for (i = 0; i < n; i++)
		if ((rc = coop_spawn(c, nullptr, park, nullptr, nullptr)) < 0)
			break;
	double t1 = now_ns();
	g_mr.spawned = i;
	g_mr.error = i < n ? rc : 0;
	g_mr.spawn_ns = (t1 - t0) / (i ? i : 1);
	coop_spawn(c, nullptr, measure_when_all_parked, nullptr, nullptr);
	coop_run(c);
	coop_context_destroy(c);
	return g_mr;
}

/* ---------------------------------------------------------------- main -- */

struct row {
	std::string name, unit;
	std::vector<double> coop, boost, uc;
};

static void print_row(const row &r, bool have_boost, bool have_uc)
{
	double c = median(r.coop);
	std::printf("| %-28s | %10.1f |", r.name.c_str(), c);
	if (have_boost) {
		double b = median(r.boost);
		std::printf(" %10.1f | %6.2fx |", b, c / b);
	} else {
		std::printf(" %10s | %7s |", "n/a", "n/a");
	}
	if (have_uc) {
		double u = median(r.uc);
		std::printf(" %10.1f | %6.1fx faster |\n", u, u / c);
	} else {
		std::printf(" %10s | %14s |\n", "-", "-");
	}
}

int main(int argc, char **argv)
{
	int reps = 11;
	long million = 1000000, scale = 1;

	for (int i = 1; i < argc; i++) {
		if (!std::strcmp(argv[i], "--quick")) {
			reps = 3;
			scale = 10;
			million = 100000;
		} else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) {
			reps = std::atoi(argv[++i]);
		} else if (!std::strcmp(argv[i], "--million") && i + 1 < argc) {
			million = std::atol(argv[++i]);
		} else {
			std::fprintf(stderr, "usage: %s [--quick] [--reps N] [--million N]\n", argv[0]);
			return 2;
		}
	}
#ifdef HAVE_BOOST_CONTEXT
	const bool have_boost = true;
#else
	const bool have_boost = false;
	std::printf("Boost.Context: not built in (install libboost-context-dev and "
	            "reconfigure with -Dbench=true); its columns say n/a\n");
#endif
	std::printf("coop %s, %d interleaved repetitions, medians\n\n", coop_version(), reps);

	row sw{"switch (ns/switch)", "ns", {}, {}, {}};
	row sp{"spawn+run+join (ns)", "ns", {}, {}, {}};
	row ring{"ring of 10k tasks (ns/yield)", "ns", {}, {}, {}};
	const long sw_iters = 2000000 / scale, sp_iters = 200000 / scale, ring_rounds = 20;

	for (int r = 0; r < reps; r++) {
		sw.coop.push_back(coop_switch(sw_iters));
#ifdef HAVE_BOOST_CONTEXT
		sw.boost.push_back(boost_switch(sw_iters));
#endif
		sw.uc.push_back(ucontext_switch(sw_iters / 20));
		sp.coop.push_back(coop_spawn_join(sp_iters));
#ifdef HAVE_BOOST_CONTEXT
		sp.boost.push_back(boost_spawn_join(sp_iters));
#endif
		ring.coop.push_back(coop_ring(10000, ring_rounds));
#ifdef HAVE_BOOST_CONTEXT
		ring.boost.push_back(boost_ring(10000, ring_rounds));
#endif
	}
	std::printf("| %-28s | %10s | %10s | %7s | %10s | %14s |\n", "workload", "coop",
	            "Boost", "ratio", "ucontext", "coop vs uc");
	std::printf("|------------------------------|------------|------------|---------|"
	            "------------|----------------|\n");
	print_row(sw, have_boost, true);
	print_row(sp, have_boost, false);
	print_row(ring, have_boost, false);

	million_result m = coop_million(million);
	std::printf("\n%ld tasks alive at once (default options, each suspended in coop_yield):\n",
	            million);
	if (m.error)
		std::printf("  spawn failed after %ld tasks: %s\n", m.spawned, std::strerror(-m.error));
	std::printf("  spawned %ld, %.0f ns per spawn, %.0f bytes resident + page tables per task, "
	            "%.0f mappings\n",
	            m.spawned, m.spawn_ns, m.mem_per_task, m.maps);
	return 0;
}
