/* test_util.c: unit tests of util.c (buffers, ids, codecs) and log.c. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "unit.h"
#include "util.h"

START_TEST(test_join_and_itoa_as_snprintf)
{
	static const long long vals[] = { 0, 7, -7, 200, -1000, 9223372036854775807LL,
		-9223372036854775807LL - 1 };
	char got[16], want[16], num[24], big[64];

	for (size_t i = 0; i < nitems(vals); i++) {
		snprintf(big, sizeof big, "%lld", vals[i]);
		ck_assert_str_eq(util_itoa(vals[i], num), big);
	}
	snprintf(big, sizeof big, "kind=\"%s\",n=%s%s", "events", "", "2");
	for (size_t cap = 1; cap <= sizeof got; cap++) {
		util_join(
		    got, cap, (const char *const[]){ "kind=\"", "events", "\",n=", "", "2", NULL });
		memcpy(want, big, cap - 1); /* what snprintf keeps of it in cap bytes */
		want[cap - 1] = '\0';
		ck_assert_str_eq(got, want);
	}
}
END_TEST

START_TEST(test_buf_grows_and_terminates)
{
	struct buf b;

	buf_init(&b);
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	ck_assert_uint_eq(b.len, strlen(b.data));
	ck_assert(strncmp(b.data, "0,1,2,", 6) == 0);
	ck_assert(strcmp(b.data + b.len - 4, "999,") == 0);
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.data, "");
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_printf_longer_than_room)
{
	struct buf b;
	char big[300];

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	buf_init(&b);
	buf_addstr(&b, "ab");
	buf_printf(&b, "[%s]%d", big, 7); /* past the first guess of room: second pass */
	ck_assert_uint_eq(b.len, 2 + 1 + 299 + 1 + 1);
	ck_assert_uint_eq(strlen(b.data), b.len);
	ck_assert(strncmp(b.data, "ab[xx", 5) == 0);
	ck_assert_str_eq(b.data + b.len - 3, "x]7");
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_addint_extremes)
{
	struct buf b;

	buf_init(&b);
	buf_addint(&b, 0);
	buf_addch(&b, ' ');
	buf_addint(&b, -42);
	buf_addch(&b, ' ');
	buf_addint(&b, 9223372036854775807LL);
	buf_addch(&b, ' ');
	buf_addint(&b, -9223372036854775807LL - 1);
	ck_assert_str_eq(b.data, "0 -42 9223372036854775807 -9223372036854775808");
	buf_free(&b);
}
END_TEST

START_TEST(test_random_bytes_pool_never_repeats)
{
	/* More than two pool refills; 16-byte draws must all differ. */
	enum { N = 300 };
	static unsigned char v[N][16];

	for (int i = 0; i < N; i++)
		util_random_bytes(v[i], sizeof v[i]);
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			ck_assert(memcmp(v[i], v[j], sizeof v[i]) != 0);
}
END_TEST

START_TEST(test_buf_detach_empty_is_string)
{
	struct buf b;
	size_t len = 99;
	char *s;

	buf_init(&b);
	s = buf_detach(&b, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(len, 0);
	free(s);
}
END_TEST

START_TEST(test_random_id_alphabet_and_uniqueness)
{
	char a[33], b[33];

	util_random_id(a, 32, UTIL_ALNUM_UPPER);
	util_random_id(b, 32, UTIL_ALNUM_UPPER);
	ck_assert_uint_eq(strlen(a), 32);
	ck_assert_uint_eq(strspn(a, UTIL_ALNUM_UPPER), 32);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_url_decode_plus_and_percent)
{
	char s[] = "Hi+Tosh%0d%0a";
	char t[] = "a+b%2";
	long n = util_url_decode(s, strlen(s), 1);

	ck_assert_int_eq(n, 9);
	ck_assert_str_eq(s, "Hi Tosh\r\n");
	ck_assert_int_eq(util_url_decode(t, strlen(t), 0), -1);
}
END_TEST

START_TEST(test_url_decode_keeps_plus_without_flag)
{
	char s[] = "a+b%20c";

	ck_assert_int_eq(util_url_decode(s, strlen(s), 0), 5);
	ck_assert_str_eq(s, "a+b c");
}
END_TEST

START_TEST(test_url_encode_reserved)
{
	struct buf b;

	buf_init(&b);
	util_url_encode(&b, "a b&c=d/é", strlen("a b&c=d/é"));
	ck_assert_str_eq(b.data, "a%20b%26c%3Dd%2F%C3%A9");
	buf_free(&b);
}
END_TEST

START_TEST(test_base64_round_trip)
{
	const char *in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	const char *out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	struct buf e, d;

	for (size_t i = 0; i < nitems(in); i++) {
		buf_init(&e);
		buf_init(&d);
		util_base64_encode(&e, in[i], strlen(in[i]));
		ck_assert_str_eq(e.len ? e.data : "", out[i]);
		ck_assert_int_eq(
		    util_base64_decode(&d, e.data ? e.data : "", e.len), strlen(in[i]));
		ck_assert(memcmp(d.data ? d.data : "", in[i], strlen(in[i])) == 0);
		buf_free(&e);
		buf_free(&d);
	}
}
END_TEST

START_TEST(test_base64_rejects_garbage)
{
	struct buf d;

	buf_init(&d);
	ck_assert_int_eq(util_base64_decode(&d, "Zm9v!", 5), -1);
	buf_free(&d);
}
END_TEST

START_TEST(test_sha256_of_two_parts)
{
	unsigned char one[32], two[32];
	static const unsigned char abc[8] = { 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea };

	util_sha256("abc", 3, NULL, 0, one);
	ck_assert(memcmp(one, abc, sizeof abc) == 0);
	util_sha256("a", 1, "bc", 2, two);
	ck_assert(memcmp(one, two, sizeof one) == 0);
	util_sha256("abc", 3, NULL, 0, two); /* the reused context starts afresh */
	ck_assert(memcmp(one, two, sizeof one) == 0);
}
END_TEST

START_TEST(test_streq_ct)
{
	ck_assert(util_streq_ct("secret", "secret"));
	ck_assert(!util_streq_ct("secret", "secreT"));
	ck_assert(!util_streq_ct("secret", "secrets"));
	ck_assert(!util_streq_ct("", "x"));
}
END_TEST

START_TEST(test_log_level_parse)
{
	enum log_level l;

	ck_assert_int_eq(log_level_parse("DEBUG", &l), 0);
	ck_assert_int_eq(l, LOG_DEBUG);
	ck_assert_int_eq(log_level_parse("verbose", &l), -1);
	ck_assert_str_eq(log_level_name(LOG_WARN), "warn");
}
END_TEST

static Suite *
util_suite(void)
{
	Suite *s = suite_create("util");

	UNIT_ADD(s, test_buf_grows_and_terminates);
	UNIT_ADD(s, test_buf_detach_empty_is_string);
	UNIT_ADD(s, test_buf_printf_longer_than_room);
	UNIT_ADD(s, test_buf_addint_extremes);
	UNIT_ADD(s, test_random_bytes_pool_never_repeats);
	UNIT_ADD(s, test_random_id_alphabet_and_uniqueness);
	UNIT_ADD(s, test_url_decode_plus_and_percent);
	UNIT_ADD(s, test_url_decode_keeps_plus_without_flag);
	UNIT_ADD(s, test_url_encode_reserved);
	UNIT_ADD(s, test_base64_round_trip);
	UNIT_ADD(s, test_base64_rejects_garbage);
	UNIT_ADD(s, test_sha256_of_two_parts);
	UNIT_ADD(s, test_streq_ct);
	UNIT_ADD(s, test_log_level_parse);
	UNIT_ADD(s, test_join_and_itoa_as_snprintf);
	return s;
}

UNIT_MAIN(util_suite)
