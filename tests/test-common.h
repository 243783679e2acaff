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
