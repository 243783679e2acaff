/*
 * overflow.c: naming the task that overflowed its stack, and the loud
 * checks of the switch path.
 *
 * A task that runs off the bottom of a guarded pool stack faults in the
 * guard page right below its stack_lo (src/stack.c).  The kernel's SIGSEGV
 * alone says nothing about which task that was; this handler does, in one
 * line on stderr:
 *
 *     coop: task 7 "parser" overflowed its 16384-byte stack (fault at 0x7f..., guard page below 0x7f...)
 *
 * then dies by that SIGSEGV with the default action, as it would have
 * without coop (core dump included): see die_by_default.
 *
 * - The task named is the one whose guard page was hit, found from the
 *   fault address among the running context's slots (src/stack.c), not
 *   only the thread's current task: a switch records the next task as
 *   current before it saves the old one's registers on the old stack, so
 *   an overflow there belongs to the task being left.
 * - Every fault it does not own ends the same way when no handler of the
 *   application's takes it: with the default action, never by returning
 *   as if handled.  That includes the SIGSEGV the kernel forces when it
 *   cannot push a signal frame on a task's exhausted stack (si_code
 *   SI_KERNEL, no address): returning from that one would resume the task
 *   and lose both signals.
 *
 * - Installed once per process, at the first coop_context_create() (or
 *   coop_run()) of a context without COOP_CONTEXT_NO_OVERFLOW_HANDLER; the
 *   handler that was installed before it is kept and every fault that is
 *   not a guard-page hit of this thread's running task goes to it
 *   (SA_SIGINFO or not, its sa_mask, SA_NODEFER, SA_RESETHAND; SIG_DFL and
 *   SIG_IGN both end in the default action, as the kernel does for a
 *   synchronous fault).  A handler the application installs later replaces
 *   ours, as usual.
 * - A task that overflowed has no stack left to run a handler on: each
 *   thread gets an alternate signal stack at its first coop_run(), unless
 *   it already has one (the application's, or a sanitizer's).  It is freed
 *   when the thread exits (a pthread key destructor).  The chained handler
 *   runs on that alternate stack too, whatever its SA_ONSTACK says.
 * - Async-signal-safe: the handler reads two initial-exec TLS words, the
 *   task and the running context's pools (which only this thread
 *   changes, and a fault in a guard page does not interrupt a change),
 *   formats numbers by hand and makes system calls only (write,
 *   sigaction, and tgkill through raise).
 * - A context created with COOP_CONTEXT_NO_OVERFLOW_HANDLER neither
 *   installs it nor gets an alternate stack, and a fault in one of its
 *   tasks goes to the previous handler even when another context installed
 *   ours.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "coop-private.h"

#define ALTSTACK_MIN ((size_t)64 * 1024)

static struct sigaction prev_action;  /* the handler before ours */
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int installed;                 /* ours is (or was) installed: atomic */
static size_t page_size;              /* cached: getpagesize() is not AS-safe */

static pthread_key_t altstack_key;    /* the thread's alternate stack, to free */
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static bool key_ok;
static COOP_TLS bool thread_ready;    /* this thread has an alternate stack */

/* ------------------------------------------------------- formatting -- */

struct line {
	char buf[256];
	size_t n;
};

static void put_str(struct line *l, const char *s)
{
	for (; *s && l->n < sizeof(l->buf) - 1; s++)
		l->buf[l->n++] = *s;
}

/* A task name, printable bytes only: the message stays one line. */
static void put_name(struct line *l, const char *s)
{
	for (; *s && l->n < sizeof(l->buf) - 1; s++)
		l->buf[l->n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
}

static void put_num(struct line *l, uint64_t v, unsigned base)
{
	char tmp[24];
	int i = 0;

	do {
		tmp[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (base == 16)
		put_str(l, "0x");
	while (i > 0 && l->n < sizeof(l->buf) - 1)
		l->buf[l->n++] = tmp[--i];
}

/* ---------------------------------------------------------- handler -- */

/* The task whose guard page `si` hit, if it is one of this thread's
 * running context and the handler is wanted for that context. */
static struct coop_task *overflowed_task(const siginfo_t *si)
{
	struct coop_task *t = coop__self;
	struct coop_context *ctx = coop__running;
	uintptr_t a, lo;

	if (!ctx || (ctx->flags & COOP_CONTEXT_NO_OVERFLOW_HANDLER))
		return NULL;
	if (!si || si->si_code <= 0) /* sent by kill(2) and the like: no address */
		return NULL;
	a = (uintptr_t)si->si_addr;
	/* The common case: the running task's own guard. */
	if (t && t->ctx == ctx && t->pool && t->guarded) {
		lo = (uintptr_t)t->stack_lo;
		if (a < lo && a >= lo - page_size)
			return t;
	}
	/* Mid-switch (the task being left, READY or BLOCKED already), or on
	 * the way back to the coop_run caller (no current task): look the
	 * address up.  A task that has not started, or has ended, is not on
	 * its stack: a fault in its guard is someone else's wild access. */
	t = coop__stack_guard_owner(ctx, a, page_size);
	if (t && (t->state == COOP__READY || t->state == COOP__RUNNING ||
	          t->state == COOP__BLOCKED))
		return t;
	return NULL;
}

static void set_default(int sig)
{
	struct sigaction dfl;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
}

/* End the process by `sig` with its default action (a core dump for
 * SIGSEGV), from the handler, whatever the signal was.  A fault of an
 * access (si_code SEGV_MAPERR, SEGV_ACCERR, ...: below SI_KERNEL) is left
 * to repeat: once this handler returns, the access faults again and the
 * kernel kills the process with that very fault in the core.  Anything
 * else would not repeat (the SIGSEGV the kernel forces when it cannot
 * push a signal frame, a sent one): it is raised again, and unblocked in
 * the mask that the return from this handler restores, so that it is
 * delivered at that return, before the interrupted code runs again.
 * (rt_tgsigqueueinfo with the original siginfo would keep si_code in the
 * core, but qemu-user takes a SIGSEGV with a fault's si_code for one of
 * its own and aborts.) */
static void die_by_default(int sig, siginfo_t *si, void *uc)
{
	set_default(sig);
	if (si && si->si_code > 0 && si->si_code < SI_KERNEL)
		return;
	raise(sig);
	if (uc)
		sigdelset(&((ucontext_t *)uc)->uc_sigmask, sig);
}

/* Hand the signal to the handler that was there before ours. */
static void chain(int sig, siginfo_t *si, void *uc)
{
	struct sigaction p = prev_action;
	sigset_t old, m;

	if (p.sa_handler == SIG_IGN && si && si->si_code <= 0)
		return; /* sent, not a fault, and ignored: as the kernel would */
	if (p.sa_handler == SIG_DFL || p.sa_handler == SIG_IGN) {
		/* A fault (the kernel does not let a synchronous SIGSEGV be
		 * ignored either), or sent with the default action. */
		die_by_default(sig, si, uc);
		return;
	}
	if (p.sa_flags & SA_RESETHAND)
		set_default(sig);
	pthread_sigmask(SIG_BLOCK, &p.sa_mask, &old);
	if (p.sa_flags & SA_NODEFER) {
		sigemptyset(&m);
		sigaddset(&m, sig);
		pthread_sigmask(SIG_UNBLOCK, &m, NULL);
	}
	if (p.sa_flags & SA_SIGINFO)
		p.sa_sigaction(sig, si, uc);
	else
		p.sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	struct coop_task *t = overflowed_task(si);
	struct line l = {.n = 0};
	ssize_t w;

	if (!t) {
		chain(sig, si, uc);
		errno = saved;
		return;
	}
	put_str(&l, "coop: task ");
	put_num(&l, t->id, 10);
	put_str(&l, " \"");
	put_name(&l, t->name);
	put_str(&l, "\" overflowed its ");
	put_num(&l, t->stack_size, 10);
	put_str(&l, "-byte stack (fault at ");
	put_num(&l, (uintptr_t)si->si_addr, 16);
	put_str(&l, ", guard page below ");
	put_num(&l, (uintptr_t)t->stack_lo, 16);
	put_str(&l, ")\n");
	w = write(STDERR_FILENO, l.buf, l.n); /* one write: one line */
	(void)w;
	/* Die by this very fault, with its core dump. */
	die_by_default(sig, si, uc);
	errno = saved;
}

static void install(void)
{
	struct sigaction sa;

	page_size = (size_t)getpagesize();
	if (sigaction(SIGSEGV, NULL, &prev_action) != 0)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL) == 0)
		__atomic_store_n(&installed, 1, __ATOMIC_RELEASE);
}

/* Unloaded (dlclose) or exiting: give SIGSEGV back if it is still ours, so
 * that it never points into unmapped code. */
__attribute__((destructor)) static void uninstall(void)
{
	struct sigaction cur;

	if (!__atomic_load_n(&installed, __ATOMIC_ACQUIRE))
		return;
	if (sigaction(SIGSEGV, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
	    cur.sa_sigaction == on_segv)
		sigaction(SIGSEGV, &prev_action, NULL);
	if (key_ok)
		pthread_key_delete(altstack_key);
}

void coop__overflow_install(unsigned flags)
{
	int saved;

	if (flags & COOP_CONTEXT_NO_OVERFLOW_HANDLER)
		return;
	if (COOP_LIKELY(__atomic_load_n(&installed, __ATOMIC_ACQUIRE)))
		return;
	saved = errno;
	pthread_once(&install_once, install);
	errno = saved;
}

/* ------------------------------------------------- alternate stacks -- */

static void altstack_free(void *p)
{
	stack_t cur;

	/* Only if it is still the thread's alternate stack, and not in use
	 * (we are not in a handler here: the thread is exiting). */
	if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == p && !(cur.ss_flags & SS_ONSTACK)) {
		stack_t off = {.ss_flags = SS_DISABLE};

		sigaltstack(&off, NULL);
		munmap((char *)p - getpagesize(), (size_t)cur.ss_size + (size_t)getpagesize());
	}
}

static void make_key(void)
{
	key_ok = pthread_key_create(&altstack_key, altstack_free) == 0;
}

void coop__overflow_thread(const struct coop_context *ctx)
{
	long sz;
	size_t size, pg;
	stack_t cur, ss;
	char *map;
	int saved;

	if (COOP_LIKELY(thread_ready) || (ctx->flags & COOP_CONTEXT_NO_OVERFLOW_HANDLER))
		return;
	saved = errno;
	coop__overflow_install(ctx->flags);
	thread_ready = true; /* one try per thread, whatever happens below */
	if (sigaltstack(NULL, &cur) != 0 || !(cur.ss_flags & SS_DISABLE))
		goto out; /* the thread has one already: keep it */
	pg = (size_t)getpagesize();
	sz = sysconf(_SC_SIGSTKSZ);
	size = sz > 0 && (size_t)sz > ALTSTACK_MIN ? (size_t)sz : ALTSTACK_MIN;
	size = (size + pg - 1) & ~(pg - 1);
	/* A guard page below it, like a task's. */
	map = mmap(NULL, size + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
	           -1, 0);
	if (map == MAP_FAILED)
		goto out;
	(void)mprotect(map, pg, PROT_NONE);
	ss.ss_sp = map + pg;
	ss.ss_size = size;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) != 0) {
		munmap(map, size + pg);
		goto out;
	}
	pthread_once(&key_once, make_key);
	if (key_ok)
		pthread_setspecific(altstack_key, ss.ss_sp);
out:
	errno = saved;
}
