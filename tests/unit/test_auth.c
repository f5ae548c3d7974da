/*
 * test_auth.c: the static verifier (salted SHA-256, unknown users and wrong
 * passwords refused) and the check of the auth.users configuration key.
 */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "json.h"
#include "unit.h"


static struct json_doc *
parse(const char *text)
{
	struct json_error err;
	struct json_doc *d = json_parse(text, strlen(text), NULL, &err);

	ck_assert_msg(d != NULL, "%s", err.msg);
	return d;
}

START_TEST(test_hash_known_vector)
{
	char out[65];

	/* sha256("abc"), split as salt "a" + password "bc" */
	auth_hash_password("a", "bc", out);
	ck_assert_str_eq(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(test_static_check)
{
	char hash[65], *text;
	struct json_doc *d;

	auth_hash_password("s1", "secret", hash);
	xasprintf(&text, "[{\"user\":\"agent1\",\"salt\":\"s1\",\"password_sha256\":\"%s\"}]", hash);
	d = parse(text);
	ck_assert_int_eq(auth_static_check(json_root(d), "agent1", "secret"), 1);
	ck_assert_int_eq(auth_static_check(json_root(d), "agent1", "secreT"), 0);
	ck_assert_int_eq(auth_static_check(json_root(d), "agent1", ""), 0);
	ck_assert_int_eq(auth_static_check(json_root(d), "agent2", "secret"), 0);
	ck_assert_int_eq(auth_static_check(NULL, "agent1", "secret"), 0);
	json_doc_free(d);
	free(text);
}
END_TEST

START_TEST(test_check_users)
{
	static const char *bad[] = {
		"{}",
		"[{\"user\":\"a\",\"salt\":\"s\"}]",
		"[{\"user\":\"a:b\",\"salt\":\"s\",\"password_sha256\":\"" 
		    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}]",
		"[{\"user\":\"a\",\"salt\":\"s\",\"password_sha256\":\"abc\"}]",
		"[{\"user\":\"a\",\"salt\":\"s\",\"password\":\"x\",\"password_sha256\":\""
		    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}]",
	};
	struct json_doc *d;
	char *freeit = NULL;

	d = parse("[{\"user\":\"a\",\"salt\":\"s\",\"password_sha256\":"
	    "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}]");
	ck_assert_ptr_null(auth_check_users(json_root(d), &freeit));
	json_doc_free(d);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		d = parse(bad[i]);
		ck_assert_msg(auth_check_users(json_root(d), &freeit) != NULL, "accepted %s", bad[i]);
		free(freeit);
		freeit = NULL;
		json_doc_free(d);
	}
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite *s = suite_create("auth");

	UNIT_ADD(s, test_hash_known_vector);
	UNIT_ADD(s, test_static_check);
	UNIT_ADD(s, test_check_users);
	return s;
}
UNIT_MAIN(auth_suite)
