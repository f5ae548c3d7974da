/* test_throttle.c: unit tests of throttle.c: free failures, doubling back-off, cap, bound. */
#include <stdio.h>

#include "throttle.h"
#include "unit.h"

START_TEST(test_backoff_doubles_to_the_cap)
{
	struct throttle_conf c = { 2, 1000, 5000, 100 };
	struct throttle *t = throttle_create(&c);
	uint64_t now = 1000000;

	throttle_fail(t, "u", now);
	throttle_fail(t, "u", now);
	ck_assert_uint_eq(throttle_wait(t, "u", now), 0); /* two free failures */
	throttle_fail(t, "u", now);
	ck_assert_uint_eq(throttle_wait(t, "u", now), 1000);
	ck_assert_uint_eq(throttle_wait(t, "u", now + 400), 600);
	throttle_fail(t, "u", now);
	ck_assert_uint_eq(throttle_wait(t, "u", now), 2000);
	throttle_fail(t, "u", now);
	ck_assert_uint_eq(throttle_wait(t, "u", now), 4000);
	for (int i = 0; i < 40; i++)
		throttle_fail(t, "u", now);
	ck_assert_uint_eq(throttle_wait(t, "u", now), 5000);
	ck_assert_uint_eq(throttle_wait(t, "other", now), 0);
	throttle_clear(t, "u");
	ck_assert_uint_eq(throttle_wait(t, "u", now), 0);
	throttle_free(t);
}
END_TEST

START_TEST(test_quiet_keys_are_forgotten)
{
	struct throttle_conf c = { 0, 1000, 5000, 100 };
	struct throttle *t = throttle_create(&c);

	throttle_fail(t, "u", 1000);
	ck_assert(throttle_recent(t, "u", 1500, 1000));
	ck_assert(!throttle_recent(t, "u", 2000, 1000));
	ck_assert_uint_eq(throttle_count(t), 1);
	ck_assert_uint_eq(throttle_wait(t, "u", 6000), 0);
	ck_assert_uint_eq(throttle_count(t), 0);
	throttle_fail(t, "u", 7000); /* counts from one again */
	ck_assert_uint_eq(throttle_wait(t, "u", 7000), 1000);
	throttle_free(t);
}
END_TEST

START_TEST(test_table_is_bounded)
{
	struct throttle_conf c = { 0, 1000, 60000, 10 };
	struct throttle *t = throttle_create(&c);
	char key[16];

	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof key, "k%d", i);
		throttle_fail(t, key, 1000 + (uint64_t)i);
	}
	ck_assert_uint_eq(throttle_count(t), 10);
	ck_assert_uint_eq(throttle_wait(t, "k0", 2000), 0);   /* dropped: failed longest ago */
	ck_assert_uint_gt(throttle_wait(t, "k999", 2000), 0); /* kept */
	throttle_free(t);
}
END_TEST

static Suite *
throttle_suite(void)
{
	Suite *s = suite_create("throttle");

	UNIT_ADD(s, test_backoff_doubles_to_the_cap);
	UNIT_ADD(s, test_quiet_keys_are_forgotten);
	UNIT_ADD(s, test_table_is_bounded);
	return s;
}

UNIT_MAIN(throttle_suite)
