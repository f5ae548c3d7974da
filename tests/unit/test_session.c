/* test_session.c: unit tests of session.c: ids, indexes, isolation, user data. */
#include <stdio.h>
#include <string.h>

#include "session.h"
#include "unit.h"
#include "util.h"

START_TEST(test_ids_have_the_published_form)
{
	struct session_table *t = session_table_create();
	const char *cause;
	struct session *a = session_new(t, "agent1", SESSION_OUTGOING, &cause);
	struct session *b = session_new(t, "agent2", SESSION_INCOMING, &cause);

	ck_assert_uint_eq(strlen(a->id), 32);
	ck_assert_uint_eq(strspn(a->id, UTIL_ALNUM_UPPER), 32);
	ck_assert_str_ne(a->id, b->id);
	ck_assert_int_eq(a->state, SESSION_INITIATING);
	ck_assert_int_eq(b->state, SESSION_ALERTING);
	session_table_free(t);
}
END_TEST

START_TEST(test_one_session_per_agent)
{
	struct session_table *t = session_table_create();
	const char *cause = NULL;
	struct session *a = session_new(t, "agent1", SESSION_OUTGOING, &cause);

	ck_assert_ptr_null(session_new(t, "agent1", SESSION_INCOMING, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "Invalid state"));
	session_remove(t, a);
	ck_assert_ptr_nonnull(session_new(t, "agent1", SESSION_INCOMING, &cause));
	ck_assert_uint_eq(session_table_count(t), 1);
	session_table_free(t);
}
END_TEST

START_TEST(test_agents_cannot_reach_each_others_sessions)
{
	struct session_table *t = session_table_create();
	const char *cause;
	struct session *a = session_new(t, "agent1", SESSION_OUTGOING, &cause);

	ck_assert_ptr_eq(session_find(t, "agent1", a->id), a);
	ck_assert_ptr_null(session_find(t, "agent2", a->id));
	ck_assert_ptr_null(session_find(t, "agent1", "NOSUCHID"));
	ck_assert_ptr_null(session_of_agent(t, "agent2"));
	session_table_free(t);
}
END_TEST

START_TEST(test_conversation_and_operation_indexes_follow_binds)
{
	struct session_table *t = session_table_create();
	const char *cause;
	struct session *a = session_new(t, "agent1", SESSION_OUTGOING, &cause);

	session_bind_operation(t, a, "op-1");
	ck_assert_ptr_eq(session_by_operation(t, "op-1"), a);
	session_bind_conversation(t, a, "/ucwa/conv/1");
	session_bind_conversation(t, a, "/ucwa/conv/2");
	ck_assert_ptr_null(session_by_conversation(t, "/ucwa/conv/1"));
	ck_assert_ptr_eq(session_by_conversation(t, "/ucwa/conv/2"), a);
	session_bind_operation(t, a, NULL);
	ck_assert_ptr_null(session_by_operation(t, "op-1"));
	session_remove(t, a);
	ck_assert_ptr_null(session_by_conversation(t, "/ucwa/conv/2"));
	ck_assert_uint_eq(session_table_count(t), 0);
	session_table_free(t);
}
END_TEST

START_TEST(test_userdata_put_replace_delete_keep_order)
{
	struct session_table *t = session_table_create();
	const char *cause;
	struct session *a = session_new(t, "agent1", SESSION_OUTGOING, &cause);

	ck_assert_int_eq(session_userdata_put(a, "a", "\"1\""), 0);
	ck_assert_int_eq(session_userdata_put(a, "b", "2"), 0);
	ck_assert_int_eq(session_userdata_put(a, "c", "\"3\""), 0);
	ck_assert_int_eq(session_userdata_put(a, "a", "\"x\""), 0);
	ck_assert_uint_eq(a->nuserdata, 3);
	ck_assert_str_eq(a->userdata[0].key, "a");
	ck_assert_str_eq(a->userdata[0].json, "\"x\"");
	ck_assert_int_eq(session_userdata_del(a, "b"), 0);
	ck_assert_int_eq(session_userdata_del(a, "b"), -1);
	ck_assert_str_eq(a->userdata[1].key, "c");
	ck_assert_ptr_null(session_userdata_get(a, "b"));
	ck_assert_str_eq(session_userdata_get(a, "c"), "\"3\"");
	session_table_free(t);
}
END_TEST

START_TEST(test_userdata_is_bounded)
{
	struct session_table *t = session_table_create();
	const char *cause;
	struct session *a = session_new(t, "agent1", SESSION_OUTGOING, &cause);
	char key[16];

	for (int i = 0; i < SESSION_MAX_USERDATA; i++) {
		snprintf(key, sizeof key, "k%d", i);
		ck_assert_int_eq(session_userdata_put(a, key, "1"), 0);
	}
	ck_assert_int_eq(session_userdata_put(a, "one-more", "1"), -1);
	ck_assert_int_eq(session_userdata_put(a, "k0", "2"), 0);
	session_table_free(t);
}
END_TEST

START_TEST(test_ten_thousand_agents)
{
	struct session_table *t = session_table_create();
	const char *cause;
	char agent[32];

	for (int i = 0; i < 10000; i++) {
		snprintf(agent, sizeof agent, "agent%d", i);
		ck_assert_ptr_nonnull(session_new(t, agent, SESSION_OUTGOING, &cause));
	}
	ck_assert_uint_eq(session_table_count(t), 10000);
	ck_assert_str_eq(session_of_agent(t, "agent9999")->agent, "agent9999");
	session_table_free(t);
}
END_TEST

static Suite *
session_suite(void)
{
	Suite *s = suite_create("session");

	UNIT_ADD(s, test_ids_have_the_published_form);
	UNIT_ADD(s, test_one_session_per_agent);
	UNIT_ADD(s, test_agents_cannot_reach_each_others_sessions);
	UNIT_ADD(s, test_conversation_and_operation_indexes_follow_binds);
	UNIT_ADD(s, test_userdata_put_replace_delete_keep_order);
	UNIT_ADD(s, test_userdata_is_bounded);
	UNIT_ADD(s, test_ten_thousand_agents);
	return s;
}

UNIT_MAIN(session_suite)
