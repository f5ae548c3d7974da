/*
 * test_store_code.c: unit tests of store_code.c, the encodings of what
 * the store writes to Redis: a session row, a CometD client and a stored
 * notification round-trip; the bounds are enforced when encoding and when
 * decoding; corrupt input is refused with a clear message, never crashes;
 * a session row is byte for byte what the JSON writer (jw) makes of it;
 * hrefs under the application are stored relative to it and read back.
 */
#include <stdlib.h>
#include <string.h>

#include "jw.h"
#include "store.h"
#include "unit.h"

/* A row with every member set. */
static void
fill_row(struct store_session *s, char **k, char **v, struct store_out *o)
{
	memset(s, 0, sizeof *s);
	memset(o, 0, 2 * sizeof *o);
	s->id = "0123456789abcdef0123456789abcdef";
	s->dir = 1;
	s->state = 2;
	s->announced = 1;
	s->remote_uri = "sip:bob@example.com";
	s->remote_phone = "+15550001";
	s->conversation = "https://ucwa.example.com/ucwa/oauth/v1/applications/1/communication/"
			  "conversations/7";
	s->operation = "op\"with\\quotes\n";
	s->created_ms = 1764930000123ULL;
	k[0] = "case";
	v[0] = "{\"id\":42,\"tags\":[\"a\",\"é\"]}";
	k[1] = "empty";
	v[1] = "\"\"";
	s->ud_key = k;
	s->ud_json = v;
	s->nud = 2;
	o[0].opid = "opA";
	o[0].location = NULL;
	o[0].text = "hello\tworld ✓";
	o[1].opid = "opB";
	o[1].location = "https://ucwa.example.com/messages/9";
	o[1].text = "";
	s->out = o;
	s->nout = 2;
}

START_TEST(test_session_round_trip)
{
	struct store_session s, d;
	char *k[2], *v[2];
	struct store_out o[2];
	struct buf b;
	const char *why = NULL;

	fill_row(&s, k, v, o);
	buf_init(&b);
	ck_assert_int_eq(store_code_session_encode(&s, &b, &why), 0);
	ck_assert_int_eq(store_code_session_decode(b.data, b.len, &d, &why), 0);
	ck_assert_str_eq(d.id, s.id);
	ck_assert_int_eq(d.dir, 1);
	ck_assert_int_eq(d.state, 2);
	ck_assert_int_eq(d.announced, 1);
	ck_assert_str_eq(d.remote_uri, s.remote_uri);
	ck_assert_str_eq(d.remote_phone, s.remote_phone);
	ck_assert_str_eq(d.conversation, s.conversation);
	ck_assert_str_eq(d.operation, s.operation);
	ck_assert_uint_eq(d.created_ms, s.created_ms);
	ck_assert_uint_eq(d.nud, 2);
	ck_assert_str_eq(d.ud_key[0], "case");
	ck_assert_str_eq(d.ud_json[0], v[0]);
	ck_assert_str_eq(d.ud_json[1], "\"\"");
	ck_assert_uint_eq(d.nout, 2);
	ck_assert_str_eq(d.out[0].opid, "opA");
	ck_assert_ptr_null(d.out[0].location);
	ck_assert_str_eq(d.out[0].text, o[0].text);
	ck_assert_str_eq(d.out[1].location, o[1].location);
	ck_assert_str_eq(d.out[1].text, "");
	store_code_session_clear(&d);
	buf_free(&b);
}
END_TEST

/* The row as the JSON writer writes it: the reference store_code writes straight. */
static void
jw_row(const struct store_session *s, struct buf *out)
{
	struct jw w;

	jw_init(&w, out);
	jw_obj_begin(&w);
	jw_kstr(&w, "id", s->id);
	jw_kint(&w, "d", s->dir);
	jw_kint(&w, "st", s->state);
	if (s->announced)
		jw_kint(&w, "an", 1);
	if (s->remote_uri != NULL)
		jw_kstr(&w, "ru", s->remote_uri);
	if (s->remote_phone != NULL)
		jw_kstr(&w, "rp", s->remote_phone);
	if (s->conversation != NULL)
		jw_kstr(&w, "cv", s->conversation);
	if (s->operation != NULL)
		jw_kstr(&w, "op", s->operation);
	jw_kint(&w, "ct", (long long)s->created_ms);
	if (s->nud > 0) {
		jw_key(&w, "ud");
		jw_arr_begin(&w);
		for (size_t i = 0; i < s->nud; i++) {
			jw_arr_begin(&w);
			jw_str(&w, s->ud_key[i]);
			jw_str(&w, s->ud_json[i]);
			jw_arr_end(&w);
		}
		jw_arr_end(&w);
	}
	if (s->nout > 0) {
		jw_key(&w, "out");
		jw_arr_begin(&w);
		for (size_t i = 0; i < s->nout; i++) {
			jw_arr_begin(&w);
			jw_str(&w, s->out[i].opid);
			jw_str(&w, s->out[i].location);
			jw_str(&w, s->out[i].text);
			jw_arr_end(&w);
		}
		jw_arr_end(&w);
	}
	for (size_t i = 0; i < s->nout; i++) {
		if (s->out[i].rid == NULL)
			continue;
		jw_key(&w, "ro");
		jw_arr_begin(&w);
		for (size_t j = 0; j < s->nout; j++)
			jw_str(&w, s->out[j].rid);
		jw_arr_end(&w);
		break;
	}
	if (s->nrid_done > 0) {
		jw_key(&w, "rd");
		jw_arr_begin(&w);
		for (size_t i = 0; i < s->nrid_done; i++)
			jw_str(&w, s->rid_done[i]);
		jw_arr_end(&w);
	}
	jw_obj_end(&w);
}

/* store_code_session_encode(s) appended to what b holds equals the JSON writer's row. */
static void
same_as_jw(const struct store_session *s, const char *before)
{
	struct buf a, b;
	const char *why = NULL;

	buf_init(&a);
	buf_init(&b);
	buf_addstr(&a, before);
	buf_addstr(&b, before);
	ck_assert_int_eq(store_code_session_encode(s, &a, &why), 0);
	jw_row(s, &b);
	ck_assert_str_eq(a.data, b.data);
	ck_assert_uint_eq(a.len, b.len);
	buf_free(&a);
	buf_free(&b);
}

START_TEST(test_session_same_as_jw)
{
	struct store_session s;
	char *k[2], *v[2];
	struct store_out o[2];
	char ctl[] = "a\x01b\x1f\x7f\"\\/\r\n\t\xc3\xa9";

	fill_row(&s, k, v, o);
	same_as_jw(&s, "");
	same_as_jw(&s, "prefix kept:");
	s.announced = 0;
	s.remote_uri = NULL;
	s.operation = ctl;
	o[1].text = ctl;
	k[1] = NULL; /* written as null, as jw_str does */
	same_as_jw(&s, "");
	s.nud = 0;
	s.nout = 1;
	s.dir = 0;
	s.state = -1;
	s.created_ms = 0;
	same_as_jw(&s, "");
	memset(&s, 0, sizeof s);
	s.id = ctl;
	same_as_jw(&s, "");
}
END_TEST

/*
 * X-Request-Ids: each outgoing message's beside "out" ("ro"), the delivered
 * ones ("rd"); a row of the previous version (none) reads as before, and
 * one whose "ro" does not match "out" is refused.
 */
START_TEST(test_session_request_ids)
{
	struct store_session s, d;
	char *k[2], *v[2], *done[2] = { "r-1", "r\"2" };
	struct store_out o[2];
	struct buf b;
	const char *why = NULL;
	static const char old[] = "{\"id\":\"x1\",\"d\":0,\"st\":2,\"ct\":5,"
				  "\"out\":[[\"opA\",null,\"hi\"]]}";
	static const char bad[] = "{\"id\":\"x1\",\"d\":0,\"st\":2,\"ct\":5,"
				  "\"out\":[[\"opA\",null,\"hi\"]],\"ro\":[\"a\",\"b\"]}";

	fill_row(&s, k, v, o);
	o[1].rid = "desk-7";
	s.rid_done = done;
	s.nrid_done = 2;
	same_as_jw(&s, "");
	buf_init(&b);
	ck_assert_int_eq(store_code_session_encode(&s, &b, &why), 0);
	ck_assert_int_eq(store_code_session_decode(b.data, b.len, &d, &why), 0);
	ck_assert_ptr_null(d.out[0].rid);
	ck_assert_str_eq(d.out[1].rid, "desk-7");
	ck_assert_uint_eq(d.nrid_done, 2);
	ck_assert_str_eq(d.rid_done[0], "r-1");
	ck_assert_str_eq(d.rid_done[1], "r\"2");
	store_code_session_clear(&d);
	buf_free(&b);
	ck_assert_int_eq(store_code_session_decode(old, strlen(old), &d, &why), 0);
	ck_assert_uint_eq(d.nout, 1);
	ck_assert_ptr_null(d.out[0].rid);
	ck_assert_uint_eq(d.nrid_done, 0);
	store_code_session_clear(&d);
	ck_assert_int_eq(store_code_session_decode(bad, strlen(bad), &d, &why), -1);
}
END_TEST

/* href stored against app as expected, and read back as href. */
static void
rel(const char *href, const char *app, const char *expected)
{
	struct buf b;
	char *back;

	buf_init(&b);
	buf_addstr(&b, "x"); /* appended to what is there */
	store_code_rel(&b, href, app);
	ck_assert_str_eq(b.data + 1, expected);
	back = store_code_abs(b.data + 1, app);
	ck_assert_str_eq(back, href);
	free(back);
	buf_free(&b);
}

START_TEST(test_href_relative)
{
	const char *app = "https://ucwa.example.com/ucwa/oauth/v1/applications/1234";
	char *v;

	rel("https://ucwa.example.com/ucwa/oauth/v1/applications/1234/events?ack=7", app,
	    "~/events?ack=7");
	rel("https://ucwa.example.com/ucwa/oauth/v1/applications/1234/communication/"
	    "conversations/ab-1",
	    app, "~/communication/conversations/ab-1");
	/* not under it: another application, a longer id, the application itself, no application */
	rel("https://ucwa.example.com/ucwa/oauth/v1/applications/99/events", app,
	    "https://ucwa.example.com/ucwa/oauth/v1/applications/99/events");
	rel("https://ucwa.example.com/ucwa/oauth/v1/applications/12345/events", app,
	    "https://ucwa.example.com/ucwa/oauth/v1/applications/12345/events");
	rel(app, app, app);
	rel("https://ucwa.example.com/x", NULL, "https://ucwa.example.com/x");
	rel("https://ucwa.example.com/x", "", "https://ucwa.example.com/x");
	/* a relative value with no application to read it against stays as it is */
	v = store_code_abs("~/events", NULL);
	ck_assert_str_eq(v, "~/events");
	free(v);
}
END_TEST

START_TEST(test_session_minimal)
{
	struct store_session s = { 0 }, d;
	struct buf b;
	const char *why = NULL;

	s.id = "x";
	s.state = -1;
	buf_init(&b);
	ck_assert_int_eq(store_code_session_encode(&s, &b, &why), 0);
	ck_assert_int_eq(store_code_session_decode(b.data, b.len, &d, &why), 0);
	ck_assert_str_eq(d.id, "x");
	ck_assert_int_eq(d.state, -1);
	ck_assert_ptr_null(d.conversation);
	ck_assert_uint_eq(d.nud, 0);
	ck_assert_uint_eq(d.nout, 0);
	store_code_session_clear(&d);
	buf_free(&b);
}
END_TEST

START_TEST(test_session_bounds)
{
	struct store_session s;
	char *k[2], *v[2], big[STORE_MAX_FIELD + 2];
	struct store_out o[2];
	struct buf b;
	const char *why = NULL;

	buf_init(&b);
	fill_row(&s, k, v, o);
	s.nout = STORE_MAX_OUT + 1;
	ck_assert_int_eq(store_code_session_encode(&s, &b, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "too many"));
	fill_row(&s, k, v, o);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	s.conversation = big;
	why = NULL;
	ck_assert_int_eq(store_code_session_encode(&s, &b, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "too long"));
	fill_row(&s, k, v, o);
	s.id = NULL;
	ck_assert_int_eq(store_code_session_encode(&s, &b, &why), -1);
	ck_assert_uint_eq(b.len, 0);
	/* A row longer than the bound (large user data) is refused, the buffer left as it was. */
	{
		static char huge[STORE_MAX_ROW];
		char *hk[1] = { "k" }, *hv[1] = { huge };

		memset(huge, 'x', sizeof huge - 1);
		huge[0] = '"';
		huge[sizeof huge - 2] = '"';
		fill_row(&s, k, v, o);
		s.ud_key = hk;
		s.ud_json = hv;
		s.nud = 1;
		buf_addstr(&b, "keep");
		ck_assert_int_eq(store_code_session_encode(&s, &b, &why), -1);
		ck_assert_str_eq(b.data, "keep");
		ck_assert_ptr_nonnull(strstr(why, "256 KiB"));
	}
	buf_free(&b);
}
END_TEST

START_TEST(test_session_corrupt)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[1,2]",
		"{}",
		"{\"id\":5}",
		"{\"id\":\"a\",\"d\":\"x\"}",
		"{\"id\":\"a\",\"d\":7}",
		"{\"id\":\"a\",\"st\":9}",
		"{\"id\":\"a\",\"cv\":3}",
		"{\"id\":\"a\",\"ud\":{}}",
		"{\"id\":\"a\",\"ud\":[[\"k\"]]}",
		"{\"id\":\"a\",\"ud\":[[\"k\",1]]}",
		"{\"id\":\"a\",\"out\":[[\"o\",null]]}",
		"{\"id\":\"a\",\"out\":[[\"o\",5,\"t\"]]}",
		"{\"id\":\"a\",\"ct\":-4}",
		"{\"id\":\"a\"",
	};
	struct store_session d;
	const char *why;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		ck_assert_msg(store_code_session_decode(bad[i], strlen(bad[i]), &d, &why) == -1,
		    "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(why);
		ck_assert_ptr_nonnull(strstr(why, "session row: "));
		ck_assert_ptr_null(d.id);
	}
}
END_TEST

START_TEST(test_client_round_trip_and_bounds)
{
	const char *subs[] = { "/v2/me/im-sessions", "/v2/me" };
	const char *many[STORE_MAX_SUBS + 1];
	struct store_client c = { 0 };
	struct buf b;
	const char *why = NULL;

	buf_init(&b);
	ck_assert_int_eq(store_code_client_encode(subs, 2, &b, &why), 0);
	ck_assert_int_eq(store_code_client_decode(b.data, b.len, &c, &why), 0);
	ck_assert_uint_eq(c.nsubs, 2);
	ck_assert_str_eq(c.subs[0], subs[0]);
	ck_assert_str_eq(c.subs[1], subs[1]);
	for (size_t i = 0; i < c.nsubs; i++)
		free(c.subs[i]);
	free(c.subs);
	for (size_t i = 0; i < STORE_MAX_SUBS + 1; i++)
		many[i] = "/x";
	ck_assert_int_eq(store_code_client_encode(many, STORE_MAX_SUBS + 1, &b, &why), -1);
	memset(&c, 0, sizeof c);
	ck_assert_int_eq(store_code_client_decode("{\"s\":[1]}", 9, &c, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "client: "));
	for (size_t i = 0; i < c.nsubs; i++)
		free(c.subs[i]);
	free(c.subs);
	memset(&c, 0, sizeof c);
	ck_assert_int_eq(store_code_client_decode("garbage", 7, &c, &why), -1);
	buf_free(&b);
}
END_TEST

START_TEST(test_note_round_trip_and_corrupt)
{
	static const char *const bad[] = { "", "12", "12 ", "x {}", " {}", "12{}", "12 []",
		"123456789012345678901 {}" };
	const char *j = "{\"channel\":\"/v2/me/im-sessions\",\"data\":{\"a\":1}}";
	struct store_note n;
	struct buf b;
	const char *why;

	buf_init(&b);
	store_code_note_encode(18446744073709551615ULL, j, strlen(j), &b);
	ck_assert_int_eq(store_code_note_decode(b.data, b.len, &n, &why), 0);
	ck_assert_uint_eq(n.id, 18446744073709551615ULL);
	ck_assert_str_eq(n.json, j);
	free(n.json);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		ck_assert_msg(store_code_note_decode(bad[i], strlen(bad[i]), &n, &why) == -1,
		    "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(strstr(why, "notification: "));
	}
	buf_free(&b);
}
END_TEST

/*
 * A session's unconfirmed messages in a field of their own (write version
 * 5): [[operation, 201 Location or null, text, request id or null], ...]
 * in order, [] for none, round trip; malformed values and missing or too
 * long ids refused with a reason.
 */
START_TEST(test_outs_round_trip_and_corrupt)
{
	static const char *const bad[] = { "", "{}", "[[]]", "[[\"op\",null,\"t\"]]",
		"[[null,null,\"t\",null]]", "[[\"op\",null,null,null]]", "[[\"op\",2,\"t\",null]]",
		"[[\"op\",null,\"t\",null],7]", "[\"op\"]" };
	struct store_out o[2] = { { "Zx81", "http://u/c/7/messages/3", "caf\xc3\xa9 \"q\"\n",
				      "rid-9" },
		{ "Zx82", NULL, "two", NULL } };
	struct store_out *back = NULL;
	size_t n = 9;
	char *longid;
	struct buf b;
	const char *why;

	buf_init(&b);
	ck_assert_int_eq(store_code_outs_encode(o, 2, &b, &why), 0);
	ck_assert_str_eq(b.data,
	    "[[\"Zx81\",\"http://u/c/7/messages/3\",\"caf\xc3\xa9 \\\"q\\\"\\n\",\"rid-9\"],"
	    "[\"Zx82\",null,\"two\",null]]");
	ck_assert_int_eq(store_code_outs_decode(b.data, b.len, &back, &n, &why), 0);
	ck_assert_uint_eq(n, 2);
	for (size_t i = 0; i < 2; i++) {
		ck_assert_str_eq(back[i].opid, o[i].opid);
		ck_assert_pstr_eq(back[i].location, o[i].location);
		ck_assert_str_eq(back[i].text, o[i].text);
		ck_assert_pstr_eq(back[i].rid, o[i].rid);
		free(back[i].opid);
		free(back[i].location);
		free(back[i].text);
		free(back[i].rid);
	}
	free(back);
	buf_reset(&b);
	ck_assert_int_eq(store_code_outs_encode(o, 0, &b, &why), 0);
	ck_assert_str_eq(b.data, "[]");
	ck_assert_int_eq(store_code_outs_decode(b.data, b.len, &back, &n, &why), 0);
	ck_assert_uint_eq(n, 0);
	free(back);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		ck_assert_msg(store_code_outs_decode(bad[i], strlen(bad[i]), &back, &n, &why) == -1,
		    "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(strstr(why, "outgoing messages: "));
	}
	longid = xcalloc(STORE_MAX_FIELD + 2, 1);
	memset(longid, 'a', STORE_MAX_FIELD + 1);
	o[1].opid = longid;
	buf_reset(&b);
	ck_assert_int_eq(store_code_outs_encode(o, 2, &b, &why), -1);
	ck_assert_int_eq(store_code_outs_encode(o, STORE_MAX_OUT + 1, &b, &why), -1);
	ck_assert_uint_eq(b.len, 0);
	free(longid);
	buf_free(&b);
}
END_TEST

/* Encode tok, check its form's length (0: as text) and that it comes back byte for byte. */
static void
token_round_trip(const char *tok, size_t binary_len)
{
	struct buf b;
	char *back;

	buf_init(&b);
	store_code_token_encode(&b, tok, STORE_WRITE_VERSION);
	if (binary_len == 0) {
		ck_assert_msg(b.len == strlen(tok) && memcmp(b.data, tok, b.len) == 0,
		    "not stored as text: %s", tok);
	} else {
		ck_assert_msg(b.len == binary_len && b.data[0] == '\0',
		    "%s: %zu bytes, expected %zu in binary", tok, b.len, binary_len);
	}
	back = store_code_token_decode(b.data, b.len);
	ck_assert_ptr_nonnull(back);
	ck_assert_str_eq(back, tok);
	free(back);
	buf_free(&b);
}

/*
 * A token whose base64 part encodes back byte for byte is stored binary
 * (prefix kept, the rest decoded: a quarter smaller), padded or not,
 * standard or URL-safe; anything else as its text, as earlier nodes
 * stored every token; either form comes back byte for byte.
 */
START_TEST(test_token_binary_and_text)
{
	static const char *const text[] = { "", "Bearer", "Bearer abc",
		"Bearer cwt=", "Bearer cwt=abc!", "Bearer cwt=ab+-", "Bearer cwt=abcde",
		"Bearer cwt=ab=", "Bearer cwt=ab===", "Bearer cwt=abc=d",
		"Bearer cwt=a b=", "Bearer cwt=AB==", "Bearer cwt=AAB=", "Bearer cwt=ab\n",
		"Bearer cwt=abcdef", "Bearer cwt=abcdef==" };
	struct buf tok, raw;
	char *back;

	/* 3 + the prefix + 3 bytes per 4 characters */
	token_round_trip("Bearer cwt=abcd", 3 + 11 + 3);
	token_round_trip("Bearer cwt=abcdeQ==", 3 + 11 + 4);	 /* padded */
	token_round_trip("Bearer cwt=abcdefg=", 3 + 11 + 5);	 /* padded */
	token_round_trip("Bearer cwt=abcdeQ", 3 + 11 + 4);	 /* the same, not padded */
	token_round_trip("Bearer cwt=abcdefg", 3 + 11 + 5);	 /* not padded */
	token_round_trip("Bearer cwt=a-_b", 3 + 11 + 3);	 /* URL-safe */
	token_round_trip("Bearer cwt=a+/b", 3 + 11 + 3);	 /* standard */
	token_round_trip("Bearer cwt=TOKEN-abc123", 3 + 11 + 9); /* URL-safe, odd length */
	token_round_trip("cwt=AAAA", 3 + 4 + 3);
	token_round_trip("x=AA==", 3 + 2 + 1);
	/* not canonical (bits left over, stray "=", both alphabets), not base64, no "=": text */
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
		token_round_trip(text[i], 0);
	/* a realistic token: 1536 characters, "cwt=" and 1532 of base64, every byte value */
	buf_init(&raw);
	for (int i = 0; i < 1149; i++)
		buf_addch(&raw, (char)(i * 7 + i / 256));
	buf_init(&tok);
	buf_addstr(&tok, "Bearer cwt=");
	util_base64_encode(&tok, raw.data, raw.len);
	ck_assert_uint_eq(tok.len, 7 + 1536);
	token_round_trip(tok.data, 3 + 11 + 1149);
	/* what earlier nodes stored (the text) is read as it is */
	back = store_code_token_decode(tok.data, tok.len);
	ck_assert_str_eq(back, tok.data);
	free(back);
	buf_free(&tok);
	buf_free(&raw);
}
END_TEST

/*
 * Asked for version 3 (cluster.write_version 3: what nodes of the previous
 * release read), every token is sealed as its text, even one that version
 * 4 stores in binary; a node of either version reads it back.
 */
START_TEST(test_token_text_for_version3)
{
	static const char *const toks[] = { "Bearer cwt=abcd",
		"Bearer cwt=abcdeQ==", "Bearer cwt=a-_b", "cwt=AAAA", "Bearer cwt=abc!", "" };
	struct buf b;
	char *back;

	for (size_t i = 0; i < sizeof toks / sizeof toks[0]; i++) {
		buf_init(&b);
		store_code_token_encode(&b, toks[i], 3);
		ck_assert_msg(b.len == strlen(toks[i]) && memcmp(b.data, toks[i], b.len) == 0,
		    "not sealed as text for version 3: %s", toks[i]);
		back = store_code_token_decode(b.data, b.len);
		ck_assert_ptr_nonnull(back);
		ck_assert_str_eq(back, toks[i]);
		free(back);
		buf_free(&b);
	}
}
END_TEST

/* A malformed binary form is refused, never read past its end. */
START_TEST(test_token_malformed)
{
	static const struct {
		const char *p;
		size_t len;
	} bad[] = {
		{ "\0", 1 },	     /* no flags */
		{ "\0\0", 2 },	     /* no prefix length */
		{ "\0\0\0", 3 },     /* an empty prefix */
		{ "\0\0\5abc", 6 },  /* the prefix longer than the value */
		{ "\0\4\1=x", 5 },   /* unknown flags */
		{ "\0\0\2a\0x", 6 }, /* a NUL in the prefix */
		{ "abc\0def", 7 },   /* text with a NUL */
	};
	char *back;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(store_code_token_decode(bad[i].p, bad[i].len) == NULL,
		    "accepted bad form %zu", i);
	back = store_code_token_decode("\0\0\2a=", 5); /* a prefix and nothing after it */
	ck_assert_str_eq(back, "a=");
	free(back);
	back = store_code_token_decode("\0\3\2a=\xff", 6);
	ck_assert_str_eq(back, "a=_w==");
	free(back);
}
END_TEST

static Suite *
store_code_suite(void)
{
	Suite *s = suite_create("store_code");

	UNIT_ADD(s, test_session_round_trip);
	UNIT_ADD(s, test_session_minimal);
	UNIT_ADD(s, test_session_same_as_jw);
	UNIT_ADD(s, test_session_request_ids);
	UNIT_ADD(s, test_href_relative);
	UNIT_ADD(s, test_session_bounds);
	UNIT_ADD(s, test_session_corrupt);
	UNIT_ADD(s, test_client_round_trip_and_bounds);
	UNIT_ADD(s, test_note_round_trip_and_corrupt);
	UNIT_ADD(s, test_outs_round_trip_and_corrupt);
	UNIT_ADD(s, test_token_binary_and_text);
	UNIT_ADD(s, test_token_text_for_version3);
	UNIT_ADD(s, test_token_malformed);
	return s;
}

UNIT_MAIN(store_code_suite)
