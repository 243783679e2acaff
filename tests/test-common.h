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
#include <stdlib.h>

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

#endif /* COOP_TEST_COMMON_H */
