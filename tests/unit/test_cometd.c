/*
 * test_cometd.c: Bayeux channel names and subscription patterns: exact
 * channels, "*" (exactly one more segment, never deeper, never the parent)
 * and "**" (one or more more segments).
 */
#include "cometd.h"
#include "unit.h"

START_TEST(test_match_exact)
{
	ck_assert(cometd_channel_match("/v2/me/im-sessions", "/v2/me/im-sessions"));
	ck_assert(!cometd_channel_match("/v2/me/im-sessions", "/v2/me/im-sessions2"));
	ck_assert(!cometd_channel_match("/v2/me/im-sessions", "/v2/me"));
	ck_assert(!cometd_channel_match("/v2/me", "/v2/me/im-sessions"));
}
END_TEST

START_TEST(test_match_one_segment)
{
	ck_assert(cometd_channel_match("/v2/me/*", "/v2/me/calls"));
	ck_assert(cometd_channel_match("/v2/me/*", "/v2/me/im-sessions"));
	ck_assert(!cometd_channel_match("/v2/me/*", "/v2/me/calls/x"));
	ck_assert(!cometd_channel_match("/v2/me/*", "/v2/me"));
	ck_assert(!cometd_channel_match("/v2/me/*", "/v2/mex/calls"));
	ck_assert(!cometd_channel_match("/v2/me/*", "/v2/me/"));
	ck_assert(cometd_channel_match("/*", "/a"));
	ck_assert(!cometd_channel_match("/*", "/a/b"));
}
END_TEST

START_TEST(test_match_deep)
{
	ck_assert(cometd_channel_match("/v2/me/**", "/v2/me/calls"));
	ck_assert(cometd_channel_match("/v2/me/**", "/v2/me/calls/x/y"));
	ck_assert(!cometd_channel_match("/v2/me/**", "/v2/me"));
	ck_assert(!cometd_channel_match("/v2/me/**", "/v2/meow/x"));
	ck_assert(cometd_channel_match("/v2/**", "/v2/me/im-sessions"));
	ck_assert(cometd_channel_match("/**", "/v2/me/im-sessions"));
	ck_assert(cometd_channel_match("/**", "/x"));
}
END_TEST

START_TEST(test_channel_valid)
{
	ck_assert(cometd_channel_valid("/v2/me/im-sessions", 0));
	ck_assert(cometd_channel_valid("/a_b/c!~()$@/d-1", 0));
	ck_assert(!cometd_channel_valid("v2/me", 0));
	ck_assert(!cometd_channel_valid("/", 0));
	ck_assert(!cometd_channel_valid("/v2//me", 0));
	ck_assert(!cometd_channel_valid("/v2/me/", 0));
	ck_assert(!cometd_channel_valid("/v2/me/*", 0));
	ck_assert(cometd_channel_valid("/v2/me/*", 1));
	ck_assert(cometd_channel_valid("/v2/me/**", 1));
	ck_assert(cometd_channel_valid("/**", 1));
	ck_assert(!cometd_channel_valid("/v2/*/me", 1));
	ck_assert(!cometd_channel_valid("/v2/me/***", 1));
	ck_assert(!cometd_channel_valid("/v2/m e", 0));
	ck_assert(!cometd_channel_valid(NULL, 1));
}
END_TEST

static Suite *
cometd_suite(void)
{
	Suite *s = suite_create("cometd");

	UNIT_ADD(s, test_match_exact);
	UNIT_ADD(s, test_match_one_segment);
	UNIT_ADD(s, test_match_deep);
	UNIT_ADD(s, test_channel_valid);
	return s;
}
UNIT_MAIN(cometd_suite)
