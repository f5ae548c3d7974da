/*
 * test_redis_url.c: unit tests of redis_url_parse (cluster.redis): the
 * accepted forms and a precise message for each refused one, which never
 * repeats the URL; and of redis_format (commands as RESP), byte for byte
 * what hiredis's own formatter writes; and of sentinel_addr_parse
 * (cluster.sentinels).
 */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "buf.h"
#include "redis.h"
#include "sentinel.h"
#include "unit.h"

START_TEST(test_accepted_forms)
{
	struct redis_addr a;
	const char *why = NULL;

	ck_assert_int_eq(redis_url_parse("redis://127.0.0.1:6379", &a, &why), 0);
	ck_assert_str_eq(a.host, "127.0.0.1");
	ck_assert_int_eq(a.port, 6379);
	ck_assert_int_eq(a.db, 0);
	ck_assert_ptr_null(a.path);
	redis_addr_clear(&a);
	ck_assert_int_eq(redis_url_parse("redis://10.1.2.3:7000/5", &a, &why), 0);
	ck_assert_int_eq(a.db, 5);
	ck_assert_int_eq(a.port, 7000);
	redis_addr_clear(&a);
	ck_assert_int_eq(redis_url_parse("redis://[::1]:6380/2", &a, &why), 0);
	ck_assert_str_eq(a.host, "::1");
	ck_assert_int_eq(a.port, 6380);
	ck_assert_int_eq(a.db, 2);
	redis_addr_clear(&a);
	ck_assert_int_eq(redis_url_parse("unix:/run/redis/redis.sock", &a, &why), 0);
	ck_assert_str_eq(a.path, "/run/redis/redis.sock");
	ck_assert_ptr_null(a.host);
	redis_addr_clear(&a);
}
END_TEST

/* url is refused with exactly message expected, which does not contain the URL. */
static void
refused(const char *url, const char *expected)
{
	struct redis_addr a;
	const char *why = NULL;

	ck_assert_int_eq(redis_url_parse(url, &a, &why), -1);
	ck_assert_str_eq(why, expected);
	ck_assert_ptr_null(strstr(why, url));
	ck_assert_ptr_null(a.host);
	ck_assert_ptr_null(a.path);
}

START_TEST(test_refused_forms)
{
	const char *form = "expected redis://HOST:PORT[/DB] or unix:/PATH";
	const char *port = "expected a port from 1 to 65535 after the host";
	const char *num = "HOST must be a numeric address such as 127.0.0.1 or [::1] (a name "
			  "lookup would block the event loop)";

	refused("http://127.0.0.1:6379", form);
	refused("redis://127.0.0.1", form);
	refused("redis://:6379", form);
	refused("redis://127.0.0.1:0", port);
	refused("redis://127.0.0.1:65536", port);
	refused("redis://127.0.0.1:63x9", port);
	refused("redis://localhost:6379", num);
	refused("redis://[::1:6379", "unterminated [IPv6 address]");
	refused(
	    "redis://127.0.0.1:6379/x", "expected a database number (0 to 65535) after the slash");
	refused(
	    "redis://127.0.0.1:6379/", "expected a database number (0 to 65535) after the slash");
	refused("redis://:s3cret@127.0.0.1:6379",
	    "credentials in the URL are not accepted: use cluster.password_file");
	refused("rediss://127.0.0.1:6379",
	    "TLS to Redis (rediss://) is not supported by this build of hiredis");
	refused("unix:relative.sock", "unix: needs an absolute path (unix:/run/redis/redis.sock)");
}
END_TEST

START_TEST(test_long_unix_path)
{
	char url[200];
	struct redis_addr a;
	const char *why = NULL;

	strcpy(url, "unix:/");
	memset(url + 6, 'a', 120);
	url[126] = '\0';
	ck_assert_int_eq(redis_url_parse(url, &a, &why), -1);
	ck_assert_str_eq(why, "the unix socket path is longer than 107 bytes");
}
END_TEST

/* redis_format and hiredis's redisFormatCommandArgv agree on argv. */
static void
same_as_hiredis(int argc, const char **argv, const size_t *lens)
{
	char *ours = NULL, *theirs = NULL;
	size_t n = redis_format(&ours, argc, argv, lens);
	int m = redisFormatCommandArgv(&theirs, argc, argv, lens);

	ck_assert_int_ge(m, 0);
	ck_assert_uint_eq(n, (size_t)m);
	ck_assert_int_eq(memcmp(ours, theirs, n), 0);
	ck_assert_int_eq(ours[n], '\0');
	free(ours);
	redisFreeCommand(theirs);
}

START_TEST(test_format)
{
	static const size_t sizes[] = { 0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65535, 100000 };
	char *big = malloc(100000);
	const char *argv[16];
	size_t lens[16];
	int n = 0;

	for (size_t i = 0; i < 100000; i++)
		big[i] = (char)(i * 7 + 3); /* NULs, CR and LF among them */
	argv[n] = "EVALSHA";
	lens[n++] = 7;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		argv[n] = big;
		lens[n++] = sizes[i];
	}
	same_as_hiredis(n, argv, lens);
	same_as_hiredis(1, argv, lens);
	for (int k = 1; k <= n; k++)
		same_as_hiredis(k, argv + n - k, lens + n - k);
	/* strings (lens NULL), as the handshake sends them */
	{
		const char *hs[] = { "SELECT", "12", "", "PING" };

		same_as_hiredis(4, hs, NULL);
		same_as_hiredis(1, hs + 3, NULL);
	}
	free(big);
}
END_TEST

/* Arguments appended by redis_bulk (the store's) are what hiredis would send for them. */
START_TEST(test_bulk)
{
	static const size_t sizes[] = { 0, 1, 9, 10, 99, 100, 1000, 100000 };
	char *big = malloc(100000), *theirs = NULL;
	const char *argv[9] = { "X" };
	size_t lens[9] = { 1 };
	struct buf b;
	int m;

	for (size_t i = 0; i < 100000; i++)
		big[i] = (char)(i * 7 + 3);
	buf_init(&b);
	buf_addstr(&b, "*9\r\n$1\r\nX\r\n");
	for (size_t i = 0; i < 8; i++) {
		argv[i + 1] = big;
		lens[i + 1] = sizes[i];
		redis_bulk(&b, big, sizes[i]);
	}
	m = redisFormatCommandArgv(&theirs, 9, argv, lens);
	ck_assert_uint_eq(b.len, (size_t)m);
	ck_assert_int_eq(memcmp(b.data, theirs, b.len), 0);
	ck_assert_int_eq(b.data[b.len], '\0');
	redisFreeCommand(theirs);
	buf_free(&b);
	free(big);
}
END_TEST

/* cluster.sentinels entries: HOST:PORT, numeric hosts only, a precise message otherwise. */
START_TEST(test_sentinel_addr)
{
	const char *host_msg = "HOST must be a numeric address such as 127.0.0.1 or [::1] (a name "
			       "lookup would block the event loop)";
	const char *form = "expected HOST:PORT such as 10.0.0.1:26379 or [::1]:26379";
	const char *port_msg = "expected a port from 1 to 65535 after the host";
	const struct {
		const char *in, *why;
	} bad[] = {
		{ "127.0.0.1", form },
		{ ":26379", form },
		{ "[::1]26379", form },
		{ "[::1", "unterminated [IPv6 address]" },
		{ "sentinel.example:26379", host_msg },
		{ "u:secret@10.0.0.1:26379", host_msg },
		{ "::1:26379", host_msg },
		{ "127.0.0.1:0", port_msg },
		{ "127.0.0.1:65536", port_msg },
		{ "127.0.0.1:26379/0", port_msg },
		{ "127.0.0.1:", port_msg },
	};
	const char *why = NULL;
	char *host = NULL;
	int port = 0;

	ck_assert_int_eq(sentinel_addr_parse("10.0.0.7:26379", &host, &port, &why), 0);
	ck_assert_str_eq(host, "10.0.0.7");
	ck_assert_int_eq(port, 26379);
	free(host);
	ck_assert_int_eq(sentinel_addr_parse("[::1]:1", &host, &port, &why), 0);
	ck_assert_str_eq(host, "::1");
	ck_assert_int_eq(port, 1);
	free(host);
	ck_assert_int_eq(sentinel_addr_parse("127.0.0.1:65535", NULL, &port, &why), 0);
	ck_assert_int_eq(port, 65535);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		host = NULL;
		why = NULL;
		ck_assert_msg(sentinel_addr_parse(bad[i].in, &host, &port, &why) == -1,
		    "%s accepted", bad[i].in);
		ck_assert_ptr_null(host);
		ck_assert_str_eq(why, bad[i].why);
		ck_assert_ptr_null(strstr(why, "secret"));
	}
}
END_TEST

static Suite *
redis_url_suite(void)
{
	Suite *s = suite_create("redis_url");

	UNIT_ADD(s, test_accepted_forms);
	UNIT_ADD(s, test_refused_forms);
	UNIT_ADD(s, test_long_unix_path);
	UNIT_ADD(s, test_format);
	UNIT_ADD(s, test_bulk);
	UNIT_ADD(s, test_sentinel_addr);
	return s;
}

UNIT_MAIN(redis_url_suite)
