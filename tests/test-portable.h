/*
 * test-portable.h: a minimal test harness for the tests that must run on
 * every target, including those Debian has no Check package for (riscv64
 * in bookworm).  Same shape as Check's: every test runs in a forked child
 * with a timeout, so a crash or a hang is reported as that test's failure
 * and the next test starts from a clean process.  Output is TAP (meson
 * registers these tests with protocol: 'tap').
 *
 * CK_TIMEOUT_MULTIPLIER scales the per-test timeout, as it does Check's.
 */
#ifndef COOP_TEST_PORTABLE_H
#define COOP_TEST_PORTABLE_H

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Seconds a single test may take (before CK_TIMEOUT_MULTIPLIER). */
#define T_TIMEOUT 60

/* A failed assertion: report it and end this test's process. */
#define T_FAIL(...)                                                          \
	do {                                                                 \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);              \
		fprintf(stderr, __VA_ARGS__);                                \
		fputc('\n', stderr);                                         \
		fflush(stderr);                                              \
		_exit(1);                                                    \
	} while (0)

#define T_ASSERT(cond)                                                       \
	do {                                                                 \
		if (!(cond))                                                 \
			T_FAIL("assertion failed: %s", #cond);               \
	} while (0)

#define T_ASSERT_MSG(cond, ...)                                              \
	do {                                                                 \
		if (!(cond))                                                 \
			T_FAIL(__VA_ARGS__);                                 \
	} while (0)

#define T_EQ_INT(a, b)                                                       \
	do {                                                                 \
		intmax_t t_a_ = (intmax_t)(a), t_b_ = (intmax_t)(b);         \
		if (t_a_ != t_b_)                                            \
			T_FAIL("%s == %s: %jd != %jd", #a, #b, t_a_, t_b_);  \
	} while (0)

#define T_EQ_UINT(a, b)                                                      \
	do {                                                                 \
		uintmax_t t_a_ = (uintmax_t)(a), t_b_ = (uintmax_t)(b);      \
		if (t_a_ != t_b_)                                            \
			T_FAIL("%s == %s: %ju != %ju", #a, #b, t_a_, t_b_);  \
	} while (0)

#define T_EQ_PTR(a, b)                                                       \
	do {                                                                 \
		const void *t_a_ = (a), *t_b_ = (b);                         \
		if (t_a_ != t_b_)                                            \
			T_FAIL("%s == %s: %p != %p", #a, #b, t_a_, t_b_);    \
	} while (0)

#define T_EQ_STR(a, b)                                                       \
	do {                                                                 \
		const char *t_a_ = (a), *t_b_ = (b);                         \
		if (strcmp(t_a_, t_b_) != 0)                                 \
			T_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, t_a_,   \
			       t_b_);                                        \
	} while (0)

/* A test: fn(i) for every i in [lo, hi) (one run when hi <= lo, i = lo). */
struct t_case {
	const char *name;
	void (*fn)(int i);
	int lo, hi;
};

#define T_CASE(fn) {#fn, fn, 0, 0}
#define T_LOOP(fn, lo, hi) {#fn, fn, lo, hi}

/* Run one test in a child; 1 when it passed. */
static inline int t_run_one(const struct t_case *c, int i)
{
	const char *mult = getenv("CK_TIMEOUT_MULTIPLIER");
	unsigned timeout = T_TIMEOUT;
	pid_t pid;
	int status;

	if (mult && atoi(mult) > 0)
		timeout *= (unsigned)atoi(mult);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 0;
	}
	if (pid == 0) {
		alarm(timeout);
		c->fn(i);
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		return 0;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status) == 0;
	fprintf(stderr, "%s(%d): killed by signal %d%s\n", c->name, i, WTERMSIG(status),
	        WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
	return 0;
}

/* Run every test; prints TAP; the process exit status. */
static inline int t_run(const struct t_case *cases, size_t n)
{
	size_t k;
	int total = 0, num = 0, failed = 0, i;

	for (k = 0; k < n; k++)
		total += cases[k].hi > cases[k].lo ? cases[k].hi - cases[k].lo : 1;
	printf("1..%d\n", total);
	for (k = 0; k < n; k++) {
		i = cases[k].lo;
		do {
			int ok = t_run_one(&cases[k], i);

			num++;
			failed += !ok;
			if (cases[k].hi > cases[k].lo)
				printf("%s %d - %s(%d)\n", ok ? "ok" : "not ok", num, cases[k].name, i);
			else
				printf("%s %d - %s\n", ok ? "ok" : "not ok", num, cases[k].name);
			fflush(stdout);
		} while (++i < cases[k].hi);
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* COOP_TEST_PORTABLE_H */
