/*
 * unit.h: the little every Check unit test of ucgw shares. Each test
 * function gets a TCase of its own (UNIT_ADD), so each becomes one TAP
 * line; UNIT_MAIN runs the suite with TAP on stdout for automake's
 * tap-driver.sh and exits non-zero if anything failed.
 *
 *	static Suite *
 *	foo_suite(void)
 *	{
 *		Suite	*s = suite_create("foo");
 *
 *		UNIT_ADD(s, test_foo_parses);
 *		return (s);
 *	}
 *	UNIT_MAIN(foo_suite)
 */
#ifndef UCGW_UNIT_H
#define UCGW_UNIT_H

#include <stdlib.h>

#include <check.h>

/* Seconds a single test may run (sanitizers make things slow). */
#define UNIT_TIMEOUT 60

/* Add test function fn to suite s as a test case of its own. */
#define UNIT_ADD(s, fn)                                                                            \
	do {                                                                                       \
		TCase *unit_tc_ = tcase_create(#fn);                                               \
                                                                                                   \
		tcase_set_timeout(unit_tc_, UNIT_TIMEOUT);                                         \
		tcase_add_test(unit_tc_, fn);                                                      \
		suite_add_tcase((s), unit_tc_);                                                    \
	} while (0)

/* Run suite s, TAP to stdout; 0 if every test passed, else 1. */
static inline int
unit_run(Suite *s)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(s);
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

/* Define main() for a test program built around one suite function. */
#define UNIT_MAIN(suite_fn)                                                                        \
	int main(void)                                                                             \
	{                                                                                          \
		return (unit_run(suite_fn()));                                                     \
	}

#endif
