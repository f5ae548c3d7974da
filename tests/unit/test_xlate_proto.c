/*
 * test_xlate_proto.c: runs EVERY transcript in $UCGW_SRCDIR/proto (one TAP
 * line each) through xlate_proto_check(), checks that the documentation
 * quotes every example rule file of proto/examples verbatim, and that the
 * checker catches a transcript whose expectations are wrong.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "xlate.h"
#include "xlate_proto.h"

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
	static const char text[] = "{\"gws\":{\"method\":\"POST\",\"path\":\"/api/v2/me/im-sessions\","
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
	ck_assert_str_eq(report.data, "upstream differs:\n"
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
	return s;
}

UNIT_MAIN(proto_suite)
