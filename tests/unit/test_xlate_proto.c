/*
 * test_xlate_proto.c: runs EVERY transcript in $UCGW_SRCDIR/proto (one TAP
 * line each) through xlate_proto_check(), checks that the documentation
 * quotes every example rule file of proto/examples verbatim, and that the
 * checker catches a transcript whose expectations are wrong; and that
 * every transcript recorded again through xlate_rec.c (plain and masked)
 * replays without a difference.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "xlate.h"
#include "xlate_proto.h"
#include "xlate_rec.h"

static glob_t transcripts, examples;
static char srcdir[1024];

/* Whole file, NUL-terminated. */
static char *
slurp(const char *path, size_t *len)
{
	char chunk[4096];
	struct buf b;
	size_t n;
	FILE *f = fopen(path, "rb");

	ck_assert_msg(f != NULL, "cannot open %s", path);
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	buf_addstr(&b, "");
	return buf_detach(&b, len);
}

/* Parse a transcript file (comments allowed). */
static struct json_doc *
parse_file(const char *path)
{
	struct json_limits lim = { .allow_comments = 1 };
	struct json_error e;
	size_t len;
	char *text = slurp(path, &len);
	struct json_doc *d = json_parse(text, len, &lim, &e);

	ck_assert_msg(d != NULL, "%s:%u:%u: %s", path, e.line, e.col, e.msg);
	free(text);
	return d;
}

/* Rules named by a transcript ("rules": path relative to proto/), else built-in. */
static struct xlate_rules *
rules_for(const struct json *t)
{
	const char *rel = json_get_str(t, "rules");
	char path[2048], *p;
	struct xlate_rules *r;

	if (rel != NULL)
		snprintf(path, sizeof path, "%s/proto/%s", srcdir, rel);
	r = xlate_load(rel != NULL ? path : NULL, &p);
	ck_assert_msg(r != NULL, "rules: %s", p);
	return r;
}

START_TEST(test_transcript)
{
	const char *path = transcripts.gl_pathv[_i];
	struct json_doc *d = parse_file(path);
	struct xlate_rules *r = rules_for(json_root(d));
	struct buf report;
	int n;

	buf_init(&report);
	n = xlate_proto_check(r, json_root(d), &report);
	ck_assert_msg(n == 0, "%s: %d difference(s)\n%s", path, n, report.data);
	buf_free(&report);
	xlate_unref(r);
	json_doc_free(d);
}
END_TEST

START_TEST(test_enough_transcripts)
{
	ck_assert_uint_ge(transcripts.gl_pathc, 15);
	ck_assert_uint_ge(examples.gl_pathc, 3);
}
END_TEST

START_TEST(test_docs_quote_examples)
{
	char path[2048];
	char *doc;

	snprintf(path, sizeof path, "%s/docs/translation.md", srcdir);
	doc = slurp(path, NULL);
	for (size_t i = 0; i < examples.gl_pathc; i++) {
		char *ex = slurp(examples.gl_pathv[i], NULL);

		ck_assert_msg(strstr(doc, ex) != NULL, "docs/translation.md does not quote %s",
		    examples.gl_pathv[i]);
		free(ex);
	}
	free(doc);
}
END_TEST

START_TEST(test_wrong_expectation_is_reported)
{
	static const char text[] =
	    "{\"gws\":{\"method\":\"POST\",\"path\":\"/api/v2/me/im-sessions\","
	    "\"body\":{\"operationName\":\"InitiateIMSession\",\"destination\":{\"phoneNumber\":"
	    "\"3002\"}}},\"expect\":{\"response\":{\"statusCode\":0},\"upstream\":[{\"method\":"
	    "\"POST\",\"rel\":\"startMessaging\",\"content_type\":\"application/json\",\"body\":"
	    "{\"to\":\"sip:agent3003@example.com\"}}]}}";
	struct json_error e;
	struct json_doc *d = json_parse(text, strlen(text), NULL, &e);
	struct xlate_rules *r = xlate_load(NULL, &(char *){ NULL });
	struct buf report;

	ck_assert_ptr_nonnull(d);
	buf_init(&report);
	ck_assert_int_eq(xlate_proto_check(r, json_root(d), &report), 1);
	ck_assert_str_eq(report.data,
	    "upstream differs:\n"
	    "  expected [{\"method\":\"POST\",\"rel\":\"startMessaging\",\"content_type\":"
	    "\"application/json\",\"body\":{\"to\":\"sip:agent3003@example.com\"}}]\n"
	    "  actual   [{\"method\":\"POST\",\"rel\":\"startMessaging\",\"content_type\":"
	    "\"application/json\",\"body\":{\"to\":\"sip:agent3002@example.com\"}}]\n");
	buf_reset(&report);
	/* A transcript without an input is refused, not passed. */
	json_doc_free(d);
	d = json_parse("{\"expect\":{}}", 13, NULL, &e);
	ck_assert_int_eq(xlate_proto_check(r, json_root(d), &report), -1);
	ck_assert_str_eq(report.data, "a transcript needs a \"gws\" or a \"ucwa\" input\n");
	buf_free(&report);
	json_doc_free(d);
	xlate_unref(r);
}
END_TEST

/* Record transcript t again from its input and the outputs it produces. */
static char *
rerecord(const struct xlate_rules *r, const struct json *t, int mask)
{
	const struct json *sj = json_get(t, "session"), *out, *v;
	const char *remote[8];
	struct xlate_session s;
	struct json_error e;
	struct json_doc *d;
	struct xlate_rec *rec;
	struct buf b;
	char *err, *text;

	memset(&s, 0, sizeof s);
	if (sj != NULL) {
		s.id = json_get_str(sj, "id");
		s.uri_base = json_get_str(sj, "uri_base");
		s.state = xlate_names_state_parse(json_get_str(sj, "state"));
		s.user_data = json_get(sj, "userData");
		s.var[XV_AGENT] = json_get_str(sj, "agent");
		v = json_get(sj, "remote");
		for (size_t i = 0; v != NULL && i < v->u.arr.n && i < 8; i++)
			remote[s.nremote++] = json_str(v->u.arr.v[i]);
		s.remote = remote;
	}
	rec = xlate_rec_new(json_get_str(t, "description"), sj != NULL ? &s : NULL,
	    json_get_str(sj, "pending_text"));
	if ((v = json_get(t, "gws")) != NULL)
		xlate_rec_gws(
		    rec, json_get_str(v, "method"), json_get_str(v, "path"), json_get(v, "body"));
	else
		xlate_rec_ucwa(rec, json_get(t, "ucwa"));
	buf_init(&b);
	ck_assert_int_eq(xlate_proto_eval(r, t, &b, &err), 0);
	d = json_parse(b.data, b.len, NULL, &e);
	out = json_root(d);
	if ((v = json_get(out, "response")) != NULL && v->type == JSON_OBJECT)
		xlate_rec_response(
		    rec, (int)json_get(v, "statusCode")->u.i, json_get_str(v, "statusMessage"));
	v = json_get(out, "upstream");
	for (size_t i = 0; i < v->u.arr.n; i++) {
		const struct json *u = v->u.arr.v[i], *body = json_get(u, "body");
		char *bj = NULL;

		if (body != NULL && body->type == JSON_OBJECT) {
			struct buf bb;
			struct jw w;

			buf_init(&bb);
			jw_init(&w, &bb);
			jw_value(&w, body);
			bj = buf_detach(&bb, NULL);
		}
		xlate_rec_upstream(rec, json_get_str(u, "rel"), json_get_str(u, "content_type"), bj,
		    json_str(body));
		free(bj);
	}
	v = json_get(out, "notifications");
	for (size_t i = 0; i < v->u.arr.n; i++) {
		struct buf nb;
		struct jw w;

		buf_init(&nb);
		jw_init(&w, &nb);
		jw_value(&w, v->u.arr.v[i]);
		xlate_rec_notify(rec, nb.data);
		buf_free(&nb);
	}
	json_doc_free(d);
	buf_free(&b);
	text = xlate_rec_finish(rec, mask);
	return text;
}

/* Check a recorded transcript text against rules r; the report on failure. */
static void
replay(const struct xlate_rules *r, const char *text, const char *what)
{
	struct json_error e;
	struct json_doc *d = json_parse(text, strlen(text), NULL, &e);
	struct buf report;
	int n;

	ck_assert_msg(d != NULL, "%s: recorded text does not parse: %s", what, text);
	buf_init(&report);
	n = xlate_proto_check(r, json_root(d), &report);
	ck_assert_msg(n == 0, "%s: %d difference(s)\n%s\n%s", what, n, report.data, text);
	buf_free(&report);
	json_doc_free(d);
}

START_TEST(test_recorded_again_replays)
{
	const char *path = transcripts.gl_pathv[_i];
	struct json_doc *d = parse_file(path);
	struct xlate_rules *r = rules_for(json_root(d));
	char *text = rerecord(r, json_root(d), 0);

	replay(r, text, path);
	free(text);
	xlate_unref(r);
	json_doc_free(d);
}
END_TEST

START_TEST(test_recording_masks_texts_and_secrets)
{
	struct json_doc *d;
	struct xlate_rules *r = xlate_load(NULL, &(char *){ NULL });
	char path[2048], *text;
	struct xlate_rec *rec;
	struct json_error e;

	snprintf(path, sizeof path, "%s/proto/gws-sendmessage.json", srcdir);
	d = parse_file(path);
	text = rerecord(r, json_root(d), 1);
	ck_assert_ptr_null(strstr(text, "Hello"));
	ck_assert_ptr_nonnull(strstr(text, "\"text\":\"***\""));
	ck_assert_ptr_nonnull(strstr(text,
	    "\"rel\":\"sendMessage\",\"content_type\":"
	    "\"text/plain; charset=UTF-8\",\"body\":\"***\""));
	replay(r, text, "masked gws-sendmessage");
	free(text);
	json_doc_free(d);
	snprintf(path, sizeof path, "%s/proto/ucwa-incoming-message.json", srcdir);
	d = parse_file(path);
	text = rerecord(r, json_root(d), 1);
	ck_assert_ptr_null(strstr(text, "Tosh"));
	ck_assert_ptr_nonnull(strstr(text, "\"message\":\"***\""));
	replay(r, text, "masked ucwa-incoming-message");
	free(text);
	json_doc_free(d);
	/* Secrets are blanked even unmasked, wherever they are. */
	text = xstrdup("{\"operationName\":\"X\",\"password\":\"hunter2\",\"n\":{\"accessToken\":"
		       "\"abc\"}}");
	d = json_parse(text, strlen(text), NULL, &e);
	free(text);
	ck_assert_ptr_nonnull(d);
	rec = xlate_rec_new("secrets", NULL, NULL);
	xlate_rec_gws(rec, "POST", "/api/v2/me", json_root(d));
	text = xlate_rec_finish(rec, 0);
	ck_assert_ptr_null(strstr(text, "hunter2"));
	ck_assert_ptr_null(strstr(text, "abc"));
	ck_assert_str_eq(text,
	    "{\"description\":\"secrets\",\"gws\":{\"method\":\"POST\",\"path\":"
	    "\"/api/v2/me\",\"body\":{\"operationName\":\"X\",\"password\":\"***\",\"n\":"
	    "{\"accessToken\":\"***\"}}},\"expect\":{\"response\":null,\"upstream\":[],"
	    "\"notifications\":[]}}\n");
	free(text);
	json_doc_free(d);
	xlate_unref(r);
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite *s = suite_create("xlate_proto");
	TCase *tc = tcase_create("transcripts");
	const char *dir = getenv("UCGW_SRCDIR");
	char pat[1100];

	snprintf(srcdir, sizeof srcdir, "%s", dir != NULL ? dir : "..");
	snprintf(pat, sizeof pat, "%s/proto/*.json", srcdir);
	glob(pat, 0, NULL, &transcripts);
	snprintf(pat, sizeof pat, "%s/proto/examples/*.json", srcdir);
	glob(pat, 0, NULL, &examples);
	UNIT_ADD(s, test_enough_transcripts);
	UNIT_ADD(s, test_docs_quote_examples);
	UNIT_ADD(s, test_wrong_expectation_is_reported);
	tcase_set_timeout(tc, UNIT_TIMEOUT);
	tcase_add_loop_test(tc, test_transcript, 0, (int)transcripts.gl_pathc);
	suite_add_tcase(s, tc);
	UNIT_ADD(s, test_recording_masks_texts_and_secrets);
	tc = tcase_create("recorded again");
	tcase_set_timeout(tc, UNIT_TIMEOUT);
	tcase_add_loop_test(tc, test_recorded_again_replays, 0, (int)transcripts.gl_pathc);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(proto_suite)
