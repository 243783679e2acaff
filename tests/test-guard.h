/*
 * test-guard.h: for tests that overflow a task's stack on purpose and
 * expect the fault in that task's own guard page (the page below its
 * lowest usable byte, test_guard_lo), not in anyone else's memory.
 *
 * test_catch_guard_faults() installs a SIGSEGV handler on an alternate
 * stack: a fault inside the guard restores the default action and returns,
 * so the access faults again and the test process dies by SIGSEGV, which
 * the test expects (tcase_add_test_raise_signal); any other fault exits
 * with status 3, which fails it.  test_overflow() recurses until it faults.
 */
#ifndef COOP_TEST_GUARD_H
#define COOP_TEST_GUARD_H

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Set by the test before the overflow starts. */
static volatile uintptr_t test_guard_lo;

static void test_guard_on_segv(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;

	(void)uc;
	if (test_guard_lo && a < test_guard_lo && a >= test_guard_lo - 4096) {
		signal(sig, SIG_DFL);
		return; /* in its own guard: the access faults again, fatally */
	}
	_exit(3); /* anywhere else fails the test */
}

static inline void test_catch_guard_faults(void)
{
	static char altstack[65536];
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = test_guard_on_segv;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	ck_assert_int_eq(sigaltstack(&ss, NULL), 0);
	ck_assert_int_eq(sigaction(SIGSEGV, &sa, NULL), 0);
}

/* Whether this kernel (or emulator) really guards pages with
 * madvise(MADV_GUARD_INSTALL), asked independently of the library: the
 * kernel must refuse to write a guarded page to a pipe (qemu-user accepts
 * the advice and does nothing). */
static inline __attribute__((unused)) int test_kernel_guards(void)
{
	size_t pg = (size_t)getpagesize();
	char *m = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fds[2], works;

	ck_assert_ptr_ne(m, MAP_FAILED);
	ck_assert_int_eq(pipe(fds), 0);
	works = madvise(m, pg, 102 /* MADV_GUARD_INSTALL */) == 0 && write(fds[1], m, 1) < 0 &&
	        errno == EFAULT;
	close(fds[0]);
	close(fds[1]);
	munmap(m, pg);
	return works;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion"
/* noinline: inlined into itself, several levels share one frame larger
 * than the guard page, which could then be jumped over (a stack clash). */
static __attribute__((noinline, unused)) int test_overflow(volatile char *p, int depth)
{
	volatile char buf[512];

	buf[0] = (char)depth;
	buf[511] = p ? p[0] : 0;
	return test_overflow(buf, depth + 1) + buf[1];
}
#pragma GCC diagnostic pop

#endif /* COOP_TEST_GUARD_H */
