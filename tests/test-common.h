/*
 * test-common.h: what every Check runner of coop shares.
 *
 * Each test case gets a generous per-test timeout because CI also runs the
 * suites under valgrind (CK_TIMEOUT_MULTIPLIER still scales it), and every
 * runner reports the same way: CK_NORMAL output, exit status 1 when any test
 * failed.  Tests run forked (Check's default), so a test that dies by a
 * signal is reported as such and the next test starts from a clean process.
 */
#ifndef COOP_TEST_COMMON_H
#define COOP_TEST_COMMON_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coop/coop.h>

#include "test-driver.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/*
 * AddressSanitizer's runtime runs on the task's stack at every switch (its
 * fiber hooks) and pads every frame with redzones: an empty task alone
 * takes about 2.5 KiB there.  Tests that run tasks on stacks near
 * COOP_STACK_SIZE_MIN give ASan builds this much more room, or use less of
 * a small stack; natively they test the exact sizes.
 */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif
#define TEST_ASAN_SLACK ((size_t)(TEST_ASAN ? 8192 : 0))

/* ThreadSanitizer: slower, and it lets no child of a multi-threaded
 * process start threads (die_after_fork). */
#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif
#ifndef TEST_TSAN
#define TEST_TSAN 0
#endif

/* Under valgrind (or ASan, or COOP_TEST_SLOW=1 in the environment) code
 * runs many times slower: fewer tasks and wider late margins there. */
static inline int test_slow_run(void)
{
	const char *e = getenv("COOP_TEST_SLOW");

	return RUNNING_ON_VALGRIND || TEST_ASAN || (e && *e && strcmp(e, "0") != 0);
}

/* How late a wake-up may be before a test calls it a failure: generous,
 * since CI machines are loaded; early is never allowed. */
static inline int64_t test_late_ns(void)
{
	return test_slow_run() ? 2 * COOP_SEC : 200 * COOP_MSEC;
}

/* The coop_context_tasks() entry of c's task named `name`, or NULL when
 * it has none (among its first 256 tasks).  The entries live in a static
 * buffer, valid until the next call: a lookup from a task on a small stack
 * costs it no room. */
static inline const struct coop_task_info *test_task_info(const struct coop_context *c,
                                                          const char *name)
{
	static struct coop_task_info buf[256];
	int n, i;

	for (i = 0; i < 256; i++)
		buf[i].size = sizeof(buf[i]);
	n = coop_context_tasks(c, buf, 256);
	/* Not a Check assertion: this runs on small task stacks (T-X-6),
	 * where a variadic call's frame is too much on some targets; an
	 * abort fails the test all the same. */
	if (n < 0)
		abort();
	if (n > 256)
		n = 256;
	for (i = 0; i < n; i++)
		if (strcmp(buf[i].name, name) == 0)
			return &buf[i];
	return NULL;
}

/* The entry of c's task named `name`, which must exist. */
static inline struct coop_task_info test_info_of(const struct coop_context *c, const char *name)
{
	const struct coop_task_info *in = test_task_info(c, name);

	ck_assert_msg(in != NULL, "no task named %s", name);
	return *in;
}

/* The COOP_TASK_* state of c's task named `name`, -1 if it has none. */
static inline int test_state_of(const struct coop_context *c, const char *name)
{
	const struct coop_task_info *in = test_task_info(c, name);

	return in ? in->state : -1;
}

/* A fixture's new context in *c (default options). */
static inline void test_context_create(struct coop_context **c)
{
	ck_assert_int_eq(coop_context_create(c, NULL), 0);
}

/* A fixture's end: destroys *c (NULL: nothing) and clears it. */
static inline void test_context_destroy(struct coop_context **c)
{
	coop_context_destroy(*c);
	*c = NULL;
}

/* A joinable task of c named `name`, running fn(arg). */
static inline struct coop_task *test_spawn_named(struct coop_context *c, const char *name,
                                                 void *(*fn)(void *), void *arg)
{
	struct coop_task_opts o;
	struct coop_task *t = NULL;

	/* Not a designated initializer: test-cxx.cc includes this too. */
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.name = name;
	ck_assert_int_eq(coop_spawn(c, &t, fn, arg, &o), 0);
	ck_assert_ptr_nonnull(t);
	return t;
}

/* A detached task of c named `name`: for tasks the test never joins; it
 * leaves coop_context_tasks() as it ends, so a later run can reuse the
 * name. */
static inline void test_spawn_detached(struct coop_context *c, const char *name,
                                       void *(*fn)(void *), void *arg)
{
	struct coop_task_opts o;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.name = name;
	ck_assert_int_eq(coop_spawn(c, NULL, fn, arg, &o), 0);
}

/* What errno holds before each call TEST_KEEPS_ERRNO makes (T-X-7). */
#define TEST_ERRNO_MARK 4242

/* Run `call` with errno set to TEST_ERRNO_MARK; it must return `expect`
 * and leave errno alone.  errno is read before any assertion can touch
 * it; long holds what the fd calls return (ssize_t) as well.  A macro, so
 * that a failure names the call and its line. */
#define TEST_KEEPS_ERRNO(call, expect)                                                            \
	do {                                                                                      \
		long rc_;                                                                         \
		int e_;                                                                           \
		errno = TEST_ERRNO_MARK;                                                          \
		rc_ = (long)(call);                                                               \
		e_ = errno;                                                                       \
		ck_assert_msg(rc_ == (long)(expect), "%s: %ld, not %ld", #call, rc_,              \
		              (long)(expect));                                                    \
		ck_assert_msg(e_ == TEST_ERRNO_MARK, "%s changed errno to %d", #call, e_);        \
	} while (0)

/* Seconds a single test may take before Check reports a timeout. */
#define TEST_TIMEOUT 60

/* A new test case of `s` named `name`, with the suite's timeout. */
static inline TCase *test_tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, TEST_TIMEOUT);
	suite_add_tcase(s, tc);
	return tc;
}

/* Run every test of `s`; the process exit status. */
static inline int test_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* qemu-i386 (Debian 12's qemu-user 7.2) crashes or hangs a program that
 * takes a signal while it runs on a stack of its own making, coop or not
 * (a plain makecontext program does the same): tests that send signals to
 * a thread running tasks skip themselves there, saying so.  tests/meson.build
 * sets COOP_TEST_QEMU when the suites run under an emulator. */
static inline int test_qemu_i386(const char *test)
{
#if defined(__i386__)
	if (getenv("COOP_TEST_QEMU")) {
		fprintf(stderr, "%s: skipped under qemu-i386 (signals on task stacks)\n", test);
		return 1;
	}
#endif
	(void)test;
	return 0;
}

/* Entries of a directory of /proc (the process's fds, with the one this
 * reads through; its threads): what a test compares before and after. */
static inline int test_count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

#endif /* COOP_TEST_COMMON_H */
