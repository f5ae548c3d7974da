/* test_json.c: unit tests of json.c: positions, limits, errors, writer. */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "unit.h"

static struct json_doc *
parse(const char *text, int comments, struct json_error *err)
{
	struct json_limits lim = { .allow_comments = comments };

	return json_parse(text, strlen(text), &lim, err);
}

START_TEST(test_parse_values_and_types)
{
	struct json_error err;
	struct json_doc *d = parse("{\"s\":\"x\\n\",\"i\":-42,\"d\":1.5,\"b\":true,\"n\":null,"
				   "\"a\":[1,2,3],\"o\":{}}",
	    0, &err);
	struct json *r;

	ck_assert_ptr_nonnull(d);
	r = json_root(d);
	ck_assert_str_eq(json_get_str(r, "s"), "x\n");
	ck_assert_int_eq(json_get(r, "i")->u.i, -42);
	ck_assert(json_get(r, "d")->u.d == 1.5);
	ck_assert(json_is(json_get(r, "b"), JSON_BOOL) && json_get(r, "b")->u.b);
	ck_assert(json_is(json_get(r, "n"), JSON_NULL));
	ck_assert_uint_eq(json_get(r, "a")->u.arr.n, 3);
	ck_assert_int_eq(json_get(r, "a")->u.arr.v[2]->u.i, 3);
	ck_assert(json_is(json_get(r, "o"), JSON_OBJECT));
	ck_assert_ptr_null(json_get(r, "missing"));
	ck_assert_ptr_null(json_get_str(r, "i"));
	json_doc_free(d);
}
END_TEST

START_TEST(test_positions_of_keys_and_values)
{
	const char *text = "{\n  // a comment, with \"quotes\"\n  \"alpha\": 1,\n"
			   "  /* block\n */ \"beta\" :\t[true,\n    \"x\"]\n}\n";
	struct json_error err;
	struct json_doc *d = parse(text, 1, &err);
	struct json *r, *beta;

	ck_assert_msg(d != NULL, "%u:%u %s", err.line, err.col, err.msg);
	r = json_root(d);
	ck_assert_uint_eq(r->line, 1);
	ck_assert_uint_eq(r->col, 1);
	ck_assert_uint_eq(r->u.obj.m[0].line, 3);
	ck_assert_uint_eq(r->u.obj.m[0].col, 3);
	ck_assert_uint_eq(r->u.obj.m[0].val->line, 3);
	ck_assert_uint_eq(r->u.obj.m[0].val->col, 12);
	ck_assert_uint_eq(r->u.obj.m[1].line, 5);
	ck_assert_uint_eq(r->u.obj.m[1].col, 5);
	beta = json_get(r, "beta");
	ck_assert_uint_eq(beta->line, 5);
	ck_assert_uint_eq(beta->col, 14);
	ck_assert_uint_eq(beta->u.arr.v[1]->line, 6);
	ck_assert_uint_eq(beta->u.arr.v[1]->col, 5);
	json_doc_free(d);
}
END_TEST

START_TEST(test_positions_count_characters_not_bytes)
{
	/* UTF-8 characters are one column each; \r is a column; \n starts a line. */
	const char *text = "{\"\xc3\xa9\": \"\xc3\xbc\", \"k\": [1,\r\n"
			   "\t\"x\"], \"\xe6\x97\xa5\xe6\x9c\xac\": {\"a\": null}}";
	struct json_error err;
	struct json_doc *d = parse(text, 0, &err);
	struct json *r, *o;

	ck_assert_msg(d != NULL, "%u:%u %s", err.line, err.col, err.msg);
	r = json_root(d);
	ck_assert_uint_eq(r->u.obj.m[0].line, 1);
	ck_assert_uint_eq(r->u.obj.m[0].col, 2);
	ck_assert_uint_eq(r->u.obj.m[0].val->col, 7);
	ck_assert_uint_eq(r->u.obj.m[1].col, 12);
	ck_assert_uint_eq(r->u.obj.m[1].val->line, 1);
	ck_assert_uint_eq(r->u.obj.m[1].val->col, 17);
	ck_assert_uint_eq(r->u.obj.m[1].val->u.arr.v[0]->col, 18);
	ck_assert_uint_eq(r->u.obj.m[1].val->u.arr.v[1]->line, 2);
	ck_assert_uint_eq(r->u.obj.m[1].val->u.arr.v[1]->col, 2);
	ck_assert_uint_eq(r->u.obj.m[2].line, 2);
	ck_assert_uint_eq(r->u.obj.m[2].col, 8);
	o = r->u.obj.m[2].val;
	ck_assert_uint_eq(o->col, 14);
	ck_assert_uint_eq(o->u.obj.m[0].col, 15);
	ck_assert_uint_eq(o->u.obj.m[0].val->line, 2);
	ck_assert_uint_eq(o->u.obj.m[0].val->col, 20);
	json_doc_free(d);
}
END_TEST

/* Byte offset of 1-based line and column in text (columns count characters). */
static size_t
offset_of(const char *text, unsigned line, unsigned col)
{
	size_t i = 0;

	for (unsigned l = 1; l < line; l++)
		i = (size_t)(strchr(text + i, '\n') - text) + 1;
	for (unsigned c = 1; c < col; c++) {
		i++;
		while (((unsigned char)text[i] & 0xc0) == 0x80)
			i++;
	}
	return i;
}

/* Check that v (and everything in it) stands where its position says, after *last. */
static void
check_positions(const char *text, const struct json *v, size_t *last)
{
	static const char first[] = { 'n', 0, 0, 0, '"', '[', '{' };
	size_t off = offset_of(text, v->line, v->col);
	char c = text[off];

	ck_assert_msg(off > *last || *last == (size_t)-1, "%u:%u not after the previous value",
	    v->line, v->col);
	*last = off;
	if (v->type == JSON_BOOL)
		ck_assert_msg(c == (v->u.b ? 't' : 'f'), "%u:%u: '%c'", v->line, v->col, c);
	else if (v->type == JSON_INT || v->type == JSON_DOUBLE)
		ck_assert_msg(
		    c == '-' || (c >= '0' && c <= '9'), "%u:%u: '%c'", v->line, v->col, c);
	else
		ck_assert_msg(c == first[v->type], "%u:%u: '%c' for a %s", v->line, v->col, c,
		    json_type_name(v->type));
	for (size_t i = 0; v->type == JSON_ARRAY && i < v->u.arr.n; i++)
		check_positions(text, v->u.arr.v[i], last);
	for (size_t i = 0; v->type == JSON_OBJECT && i < v->u.obj.n; i++) {
		const struct json_member *m = &v->u.obj.m[i];

		off = offset_of(text, m->line, m->col);
		ck_assert_msg(
		    off > *last && text[off] == '"', "key %s at %u:%u", m->key, m->line, m->col);
		*last = off;
		check_positions(text, m->val, last);
	}
}

START_TEST(test_positions_of_a_big_document)
{
	/* Every value and key of a large document with comments, CRLF, tabs,
	 * UTF-8 and long lines is found exactly where its line:col points. */
	static const char *const seps[] = { " ", "\n", "\r\n\t", " /* c\n\xc3\xa9 */ ",
		"\n// line comment \xe2\x82\xac\n  " };
	struct json_error err;
	struct json_doc *d;
	size_t last = (size_t)-1;
	struct buf b;

	buf_init(&b);
	buf_addstr(&b, "{\"list\": [");
	for (int i = 0; i < 3000; i++)
		buf_printf(&b,
		    "%s{\"n\":%d,%s\"s\xc3\xa9\":\"%s\xe2\x82\xac\",\"b\":%s,\"z\":[null,%d.5,{}]}",
		    i ? "," : "", i - 100, seps[i % 5], i % 3 ? "x" : "\xf0\x9f\x98\x80\\u00e9",
		    i % 2 ? "true" : "false", i);
	buf_printf(&b, "%s]}", seps[3]);
	d = parse(b.data, 1, &err);
	ck_assert_msg(d != NULL, "%u:%u %s", err.line, err.col, err.msg);
	check_positions(b.data, json_root(d), &last);
	ck_assert_uint_eq(json_get(json_root(d), "list")->u.arr.n, 3000);
	json_doc_free(d);
	buf_free(&b);
}
END_TEST

START_TEST(test_error_positions_after_utf8_and_crlf)
{
	struct json_limits lim = { .max_depth = 3 };
	struct json_error err;
	const char *deep = "[\"\xc3\xa9\",\r\n [\"\xc3\xbc\", [[1]]]]";

	ck_assert_ptr_null(json_parse(deep, strlen(deep), &lim, &err));
	ck_assert_str_eq(err.msg, "nesting too deep");
	ck_assert_uint_eq(err.line, 2);
	ck_assert_uint_eq(err.col, 9);
	ck_assert_ptr_null(
	    parse("{\"\xe6\x97\xa5\": \"\xe6\x9c\xac\",\r\n \"b\": tru\n}", 0, &err));
	ck_assert_uint_eq(err.line, 2);
	ck_assert_uint_eq(err.col, 10);
	ck_assert_ptr_null(parse("{\"\xe6\x97\xa5\": \"\xe6\x9c\xac\" \"b\": 1}", 0, &err));
	ck_assert_uint_eq(err.line, 1);
	ck_assert_uint_eq(err.col, 13);
}
END_TEST

START_TEST(test_error_position)
{
	struct json_error err;
	struct json_doc *d = parse("{\n  \"a\": 1,\n  \"b\": tru\n}", 0, &err);

	ck_assert_ptr_null(d);
	ck_assert_uint_eq(err.line, 3);
	ck_assert(strlen(err.msg) > 0);
	ck_assert_ptr_null(strchr(err.msg, '\n'));
}
END_TEST

/* A NUL inside a string or key is refused where the string starts, never cut. */
START_TEST(test_nul_in_strings_is_refused)
{
	struct json_error err;
	const char *nul = "{\"operationName\":\"Complete\\u0000x\"}";
	struct json_doc *d = parse(nul, 1, &err);

	ck_assert_ptr_null(d);
	ck_assert_str_eq(err.msg, "\\u0000 (NUL) in a string is not accepted");
	ck_assert_uint_eq(err.line, 1);
	ck_assert_uint_eq(err.col, 18);
	ck_assert_ptr_null(parse("{\"a\\u0000b\":1}", 1, &err));
	ck_assert_str_eq(err.msg, "\\u0000 (NUL) in a key is not accepted");
	ck_assert_uint_eq(err.col, 2);
	ck_assert_ptr_null(parse("[\"a\\\"\\u0000\"]", 0, &err));
	ck_assert_uint_eq(err.col, 2);
}
END_TEST

/* Duplicate keys are refused with the position of the second one, in small and big objects. */
START_TEST(test_duplicate_keys_are_refused)
{
	struct json_error err;
	struct buf b;
	struct json_doc *d;

	ck_assert_ptr_null(parse("{\n \"a\": 1,\n \"b\": {\"a\": 2},\n \"a\": 3}", 0, &err));
	ck_assert_str_eq(err.msg, "duplicate key");
	ck_assert_uint_eq(err.line, 4);
	ck_assert_uint_eq(err.col, 2);
	buf_init(&b);
	buf_addch(&b, '{');
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "\"k%d\":%d,", i, i);
	buf_addstr(&b, "\"k999\":0}");
	ck_assert_ptr_null(parse(b.data, 1, &err));
	ck_assert_str_eq(err.msg, "duplicate key");
	b.data[b.len - 8] = 'x'; /* the last key becomes "x999" */
	d = parse(b.data, 1, &err);
	ck_assert_msg(d != NULL, "%s", err.msg);
	ck_assert_uint_eq(json_root(d)->u.obj.n, 1001);
	json_doc_free(d);
	buf_free(&b);
}
END_TEST

START_TEST(test_premature_end_position)
{
	struct json_error err;

	ck_assert_ptr_null(parse("{\"a\": [1,\n 2\n", 0, &err));
	ck_assert_uint_eq(err.line, 3);
	ck_assert_uint_eq(err.col, 1);
}
END_TEST

START_TEST(test_comments_refused_on_the_wire)
{
	struct json_error err;

	ck_assert_ptr_null(parse("[1, // no\n 2]", 0, &err));
	ck_assert_uint_eq(err.line, 1);
}
END_TEST

START_TEST(test_depth_limit)
{
	struct json_limits lim = { .max_depth = 3 };
	struct json_error err;
	struct json_doc *d;

	d = json_parse("[[[1]]]", 7, &lim, &err);
	ck_assert_ptr_nonnull(d);
	json_doc_free(d);
	ck_assert_ptr_null(json_parse("[[[[1]]]]", 9, &lim, &err));
	ck_assert_str_eq(err.msg, "nesting too deep");
	ck_assert_uint_eq(err.col, 4);
}
END_TEST

START_TEST(test_size_limit)
{
	struct json_limits lim = { .max_bytes = 8 };
	struct json_error err;

	ck_assert_ptr_null(json_parse("[1,2,3,4,5]", 11, &lim, &err));
	ck_assert(strstr(err.msg, "too large") != NULL);
}
END_TEST

START_TEST(test_empty_and_trailing_garbage)
{
	struct json_error err;

	ck_assert_ptr_null(parse("", 0, &err));
	ck_assert_ptr_null(parse("   ", 0, &err));
	ck_assert_ptr_null(parse("{} {}", 0, &err));
	ck_assert_ptr_null(parse("{\"a\":1}x", 0, &err));
}
END_TEST

START_TEST(test_integer_overflow_is_an_error)
{
	struct json_error err;

	ck_assert_ptr_null(parse("[99999999999999999999999]", 0, &err));
}
END_TEST

START_TEST(test_writer_nesting_and_escapes)
{
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "s", "q\"b\\\n\x01");
	jw_key(&w, "a");
	jw_arr_begin(&w);
	jw_int(&w, 1);
	jw_obj_begin(&w);
	jw_obj_end(&w);
	jw_null(&w);
	jw_arr_end(&w);
	jw_kbool(&w, "t", 1);
	jw_kstr(&w, "n", NULL);
	jw_kint(&w, "k\"\\\x01\xc3\xa9\x7f", 2); /* a key that needs json_escape */
	jw_kint(&w, "", 3);
	jw_obj_end(&w);
	ck_assert_str_eq(b.data,
	    "{\"s\":\"q\\\"b\\\\\\n\\u0001\",\"a\":[1,{},null],\"t\":true,\"n\":null,"
	    "\"k\\\"\\\\\\u0001\xc3\xa9\\u007f\":2,\"\":3}");
	ck_assert_uint_eq(b.len, strlen(b.data));
	buf_free(&b);
}
END_TEST

START_TEST(test_writer_repairs_bad_utf8)
{
	struct buf b;

	buf_init(&b);
	json_escape(&b, "ok \xc3\xa9 bad \xff \xe2\x82 end", 18);
	ck_assert_str_eq(b.data, "\"ok \xc3\xa9 bad \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd end\"");
	buf_free(&b);
}
END_TEST

START_TEST(test_escape_finds_each_byte_in_long_runs)
{
	static const char odd[] = { '"', '\\', '\x01', '\x1f', '\x7f', '\xc3', '\xff' };
	static const char plain[] = "abcdefghijklmnopqrstuvwx";
	struct buf b, one, want;

	buf_init(&b);
	buf_init(&one);
	buf_init(&want);
	for (size_t at = 0; at < sizeof plain - 1; at++) {
		for (size_t k = 0; k < sizeof odd; k++) {
			char s[sizeof plain];

			memcpy(s, plain, sizeof plain);
			s[at] = odd[k];
			buf_reset(&one);
			json_escape(&one, &odd[k], 1);
			buf_reset(&want);
			buf_addch(&want, '"');
			buf_add(&want, plain, at);
			buf_add(&want, one.data + 1, one.len - 2);
			buf_addstr(&want, plain + at + 1);
			buf_addch(&want, '"');
			buf_reset(&b);
			json_escape(&b, s, sizeof plain - 1);
			ck_assert_str_eq(b.data, want.data);
		}
	}
	buf_free(&b);
	buf_free(&one);
	buf_free(&want);
}
END_TEST

START_TEST(test_round_trip)
{
	const char *text = "{\"a\":[1,-2.5,\"x\",true,false,null],\"b\":{\"c\":\"\\u00e9\"}}";
	struct json_error err;
	struct json_doc *d = parse(text, 0, &err);
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_value(&w, json_root(d));
	ck_assert_str_eq(
	    b.data, "{\"a\":[1,-2.5,\"x\",true,false,null],\"b\":{\"c\":\"\xc3\xa9\"}}");
	buf_free(&b);
	json_doc_free(d);
}
END_TEST

START_TEST(test_mixed_containers_at_same_depth)
{
	struct json_error err;
	struct json_doc *d =
	    parse("{\"a\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17],"
		  "\"b\":{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,"
		  "\"k8\":8,\"k9\":9,\"k10\":10}}",
		0, &err);
	struct json *b;

	ck_assert_ptr_nonnull(d);
	b = json_get(json_root(d), "b");
	ck_assert_uint_eq(b->u.obj.n, 10);
	ck_assert_int_eq(json_get(b, "k10")->u.i, 10);
	ck_assert_uint_eq(json_get(json_root(d), "a")->u.arr.n, 17);
	json_doc_free(d);
}
END_TEST

START_TEST(test_doubles_stay_doubles)
{
	struct json_error err;
	struct json_doc *d = parse("[-0e9,1e2,2.5,1e300]", 0, &err);
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_value(&w, json_root(d));
	ck_assert_str_eq(b.data, "[-0.0,100.0,2.5,1.0000000000000001e+300]");
	buf_free(&b);
	json_doc_free(d);
}
END_TEST

START_TEST(test_obj_set_replaces_and_adds)
{
	struct json_error err;
	struct json_doc *d = parse("{\"a\":1}", 0, &err);
	struct json *r = json_root(d), *v = json_doc_new_node(d, JSON_INT);

	v->u.i = 7;
	json_obj_set(d, r, "a", v);
	json_obj_set(d, r, "b", v);
	ck_assert_uint_eq(r->u.obj.n, 2);
	ck_assert_int_eq(json_get(r, "a")->u.i, 7);
	ck_assert_int_eq(json_get(r, "b")->u.i, 7);
	json_doc_free(d);
}
END_TEST

START_TEST(test_get_last_member_exact_key)
{
	static const char text[] = "{\"a\":1,\"ab\":2,\"k\":4}";
	struct json_error err;
	struct json_doc *d = json_parse(text, sizeof text - 1, NULL, &err);
	const struct json *r;

	ck_assert_ptr_nonnull(d);
	r = json_root(d);
	ck_assert_int_eq(json_get(r, "a")->u.i, 1);
	ck_assert_int_eq(json_get(r, "ab")->u.i, 2);
	ck_assert_int_eq(json_get(r, "k")->u.i, 4);
	ck_assert_ptr_null(json_get(r, "abc"));
	ck_assert_ptr_null(json_get(r, ""));
	/* Duplicates and NUL in keys never reach a tree (see the tests above). */
	json_doc_free(d);
}
END_TEST

/* Wire documents: no node positions, the same tree, errors still located. */
START_TEST(test_no_positions)
{
	static const char text[] = "{\"a\": [1, {\"b\": \"x\"}],\n \"c\": true}";
	struct json_limits lim = { .no_positions = 1, .max_depth = 2 };
	struct json_error err;
	struct json_doc *d = json_parse(text, sizeof text - 1, &lim, &err);
	const struct json *r, *a;

	ck_assert_ptr_null(d); /* depth 3 > 2 */
	ck_assert_str_eq(err.msg, "nesting too deep");
	ck_assert_uint_eq(err.line, 1);
	ck_assert_uint_eq(err.col, 11); /* the inner '{' */
	lim.max_depth = 0;
	d = json_parse(text, sizeof text - 1, &lim, &err);
	ck_assert_ptr_nonnull(d);
	r = json_root(d);
	a = json_get(r, "a");
	ck_assert_str_eq(json_get_str(a->u.arr.v[1], "b"), "x");
	ck_assert(json_get(r, "c")->u.b);
	ck_assert_uint_eq(r->line, 0);
	ck_assert_uint_eq(a->line, 0);
	ck_assert_uint_eq(r->u.obj.m[1].line, 0);
	json_doc_free(d);
	d = json_parse("{\"a\":\n [1,]}", 13, &lim, &err);
	ck_assert_ptr_null(d);
	ck_assert_uint_eq(err.line, 2);
}
END_TEST

/* The callbacks of json_sax_parse written out as text (sax_transcript). */
static void
sax_value(void *ctx, enum json_type t, const char *s, size_t len)
{
	buf_printf(ctx, "v%d:", (int)t);
	if (s != NULL)
		buf_add(ctx, s, len);
	buf_addch(ctx, '|');
}

static void
sax_open(void *ctx, enum json_type t)
{
	buf_printf(ctx, "o%d|", (int)t);
}

static void
sax_key(void *ctx, const char *s, size_t len)
{
	buf_addch(ctx, 'k');
	buf_add(ctx, s, len);
	buf_addch(ctx, '|');
}

static void
sax_close(void *ctx)
{
	buf_addstr(ctx, "c|");
}

static const struct json_sax sax_writer = { sax_value, sax_open, sax_key, sax_close };

/* json_sax_parse on a copy of text of exactly len bytes (the sanitizers see a read past it). */
static int
sax_parse_copy(const char *text, size_t len, const struct json_limits *lim, struct buf *b,
    struct json_error *err)
{
	char *copy = xmalloc(len > 0 ? len : 1);
	int rc;

	memcpy(copy, text, len);
	rc = json_sax_parse(copy, len, lim, &sax_writer, b, err);
	free(copy);
	return rc;
}

/* What json_sax_parse makes of text (fast path or not): the callbacks, then the outcome. */
static char *
sax_transcript(const char *text, size_t len, int no_fast, unsigned depth)
{
	struct json_limits lim = { .max_depth = depth, .no_fast = no_fast };
	struct json_error err;
	struct buf b;

	buf_init(&b);
	if (sax_parse_copy(text, len, &lim, &b, &err) != 0)
		buf_printf(&b, "error %u:%u %s", err.line, err.col, err.msg);
	else
		buf_addstr(&b, "ok");
	return buf_detach(&b, NULL);
}

START_TEST(test_sax_fast_path_agrees_with_yajl)
{
	static const char *const docs[] = { "{}", "[]", " { } ", "{\"a\":1}", "[1,2,3]",
		"{\"a\":\"x\\n\\\"\\\\\\/\\b\\f\\r\\t\",\"b\":[true,false,null,-0,0.5,-12.25,"
		"123456789012345678]}",
		"{\"a\":{\"b\":{\"c\":[[],{},[{}]]}}}",
		"{\"\xc3\xa9\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"}", "{\"a\":\"\\u00e9\"}",
		"{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud83d\\ude00\"}", "{\"a\":\"\\ud83d\"}",
		"{\"a\":1e5}", "{\"a\":1E+400}", "{\"a\":1234567890123456789012}", "{\"a\":01}",
		"{\"a\":1.}", "{\"a\":.5}", "{\"a\":-}", "{\"a\":tru}", "{\"a\":truex}",
		"{\"a\":1,}", "[1,]", "[,1]", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{\"a\":1}x",
		"{\"a\":1}{}", "{\"a\":1", "[", "", " ", "1", "\"s\"", "true", "{\"a\":1,\"a\":2}",
		"{\"a\":{\"b\":1},\"b\":{\"b\":2}}", "{\"x\\\"\":1,\"x\\\"\":2}",
		"{\"a\":0,\"b\":1,\"c\":2,\"d\":3,\"e\":4,\"f\":5,\"g\":6,\"h\":7,\"i\":8,"
		"\"j\":9,\"k\":10,\"l\":11,\"m\":12,\"n\":13,\"o\":14,\"p\":15,\"q\":16,\"b\":"
		"17}",
		"{\"a\":0,\"b\":1,\"c\\n\":2,\"d\":3,\"e\":4,\"f\":5,\"g\":6,\"h\":7,\"i\":8,"
		"\"j\":9,\"k\":10,\"l\":11,\"m\":12,\"n\":13,\"o\":14,\"p\":15,\"q\":16,"
		"\"c\\n\":17}",
		"{\"k\\t\":"
		"\"abcdefghij\\nabcdefghij\\nabcdefghij\\nabcdefghij\\nabcdefghij\\nabcdefghij"
		"\\nabcdefghij\\nabcdefghij\\nabcdefghij\\nabcdefghij\\nabcdefghij\\nabcdefghij"
		"\\nabcdefghij\\nabcdefghij\\nabcdefghij\\nabcdefghij\\nabcdefghij\\nabcdefghij"
		"\\nabcdefghij\\nabcdefghij\\nabcdefghij\\nabcdefghij\\nabcdefghij\\nabcdefghij"
		"\\nabcdefghij\\nabcdefghij\\nabcdefghij\\nabcdefghij\\nabcdefghij\\nabcdefghij"
		"\",\"k\\t\":2}", /* the scratch grows in between */
		"{\"a\":\"\x01\"}", "{\"a\":\"\xc0\x80\"}", "{\"a\":\"\xed\xa0\x80\"}",
		"{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xe2\x82\"}", "{\"a\":\"\xff\"}",
		"{\"a\":\"\\x\"}", "{\"a\"\v:1}", "{\"a\":1}\f", "{/*c*/}",
		"[\"abcdefghijklmnopqrstuvwxyz0123456789\\\"abcdefgh\"]", "[[[[[[1]]]]]]",
		"{\"/appli\"/apr\":[]}", "\xef\xbb\xbf{}",
		"{\"a\":[1,{\"b\":null}],\n\r\t\"c\":true }",
		/* ends of documents: the fast path reads up to the last closing bracket */
		"[[]", "[{}", "{\"a\":[]", "{\"a\":{}", "[1]]", "[1] ]", "[1] }", "{}x}", "[\"x]\"",
		"[\"x]", "[tru]", "[1]  \n", "[1", "[-]", "[\"a\"\t]\r\n", "[null]", "[nul]" };
	char big[4096];
	size_t n = 0;

	for (size_t i = 0; i < nitems(docs); i++) {
		for (unsigned depth = 0; depth <= 4; depth += 4) {
			char *fast = sax_transcript(docs[i], strlen(docs[i]), 0, depth);
			char *slow = sax_transcript(docs[i], strlen(docs[i]), 1, depth);

			ck_assert_msg(strcmp(fast, slow) == 0, "%s: %s != %s", docs[i], fast, slow);
			free(fast);
			free(slow);
		}
	}
	/* a byte that ends the fast path's 8-byte steps, at each place of the first two */
	for (size_t at = 0; at < 16; at++) {
		static const char odd[] = { '"', '\\', '\x01', '\x7f', '\xc3', '\xff', '/' };

		for (size_t k = 0; k < sizeof odd; k++) {
			char doc[] = "[\"abcdefghijklmnopqrstuvwxyz\"]";
			char *fast, *slow;

			doc[2 + at] = odd[k];
			fast = sax_transcript(doc, strlen(doc), 0, 0);
			slow = sax_transcript(doc, strlen(doc), 1, 0);
			ck_assert_msg(strcmp(fast, slow) == 0, "%s: %s != %s", doc, fast, slow);
			free(fast);
			free(slow);
		}
	}
	/* a duplicate found once the keys of an object went into a map (the 18th repeats the 2nd) */
	for (int no_fast = 0; no_fast < 2; no_fast++) {
		const char *d = "{\"a\":0,\"b\":1,\"c\":2,\"d\":3,\"e\":4,\"f\":5,\"g\":6,\"h\":7,"
				"\"i\":8,\"j\":9,\"k\":10,\"l\":11,\"m\":12,\"n\":13,\"o\":14,"
				"\"p\":15,\"q\":16,\"b\":17}";
		char *tr = sax_transcript(d, strlen(d), no_fast, 0);

		ck_assert_msg(
		    strstr(tr, "error") != NULL && strstr(tr, "uplicate") != NULL, "%s", tr);
		free(tr);
	}
	/* more tokens than the fast path keeps on the stack, and more keys than it scans */
	big[n++] = '{';
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, "%s\"k%d\":%d", i ? "," : "", i, i);
	big[n++] = '}';
	for (int dup = 0; dup < 2; dup++) {
		char *fast, *slow;

		if (dup)
			big[n - 7] = '8'; /* the last key "k299" becomes "k298" */
		fast = sax_transcript(big, n, 0, 0);
		slow = sax_transcript(big, n, 1, 0);
		ck_assert_str_eq(fast, slow);
		free(fast);
		free(slow);
	}
}
END_TEST

/* What json_sax_parse's fast path alone makes of text: the callbacks and "ok", or "left to yajl". */
static char *
sax_fast_transcript(const char *text, size_t len)
{
	struct json_limits lim = { .fast_only = 1 };
	struct json_error err;
	struct buf b;

	buf_init(&b);
	if (sax_parse_copy(text, len, &lim, &b, &err) != 0)
		buf_addstr(&b, err.msg);
	else
		buf_addstr(&b, "ok");
	return buf_detach(&b, NULL);
}

/* The fast path reads each of docs itself, with what yajl makes of it. */
static void
sax_fast_reads(const char *const *docs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *fast = sax_fast_transcript(docs[i], strlen(docs[i]));
		char *slow = sax_transcript(docs[i], strlen(docs[i]), 1, 0);

		ck_assert_msg(strcmp(fast, slow) == 0, "%s: %s != %s", docs[i], fast, slow);
		free(fast);
		free(slow);
	}
}

/* An object of n keys k0, k1...; the last one repeats key dup (-1: none). */
static size_t
sax_many_keys(char *out, size_t cap, int n, int dup)
{
	size_t len = 0;

	out[len++] = '{';
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s\"k%d\":%d", i ? "," : "",
		    i == n - 1 && dup >= 0 ? dup : i, i);
	out[len++] = '}';
	out[len] = '\0';
	return len;
}

START_TEST(test_sax_fast_path_key_check)
{
	/* read by the fast path: keys that share a bit of its filter (length, first and last
	 * byte), with escapes too; the same keys in other objects; an empty key */
	static const char *const plain[] = {
		"{\"abc\":1,\"axc\":2,\"ayc\":{\"abc\":3,\"axc\":4},\"azc\":5}",
		"{\"a\":{\"b\":1,\"c\":2},\"b\":{\"b\":2,\"c\":[{\"b\":1},{\"b\":1}]}}",
		"{\"\":1,\"x\":{\"\":2}}", "{\"a\\nc\":1,\"a\\tc\":2,\"a\\\"c\":3}",
		"[{\"rel\":\"x\",\"href\":\"y\"},{\"rel\":\"x\",\"href\":\"y\"}]"
	};
	/* left to yajl (which refuses them): a key twice, found by a comparison, or in the map of
	 * an object of many keys, whether the map was made at that key or before */
	static const char *const dups[] = { "{\"abc\":1,\"axc\":2,\"abc\":3}",
		"{\"a\":1,\"b\":{\"a\":1},\"a\":2}", "{\"a\\nc\":1,\"a\\tc\":2,\"a\\nc\":3}",
		"{\"\":1,\"\":2}" };
	char big[1024];
	size_t n;

	sax_fast_reads(plain, nitems(plain));
	for (size_t i = 0; i < nitems(dups); i++) {
		char *fast = sax_fast_transcript(dups[i], strlen(dups[i]));
		char *slow = sax_transcript(dups[i], strlen(dups[i]), 1, 0);

		ck_assert_msg(strcmp(fast, "left to yajl") == 0, "%s: %s", dups[i], fast);
		ck_assert_msg(strstr(slow, "duplicate key") != NULL, "%s: %s", dups[i], slow);
		free(fast);
		free(slow);
	}
	for (int keys = 15; keys <= 40; keys++) {
		for (int dup = -1; dup < keys - 1; dup += 7) {
			char *fast, *slow;

			n = sax_many_keys(big, sizeof big, keys, dup);
			fast = sax_fast_transcript(big, n);
			slow = sax_transcript(big, n, 1, 0);
			if (dup < 0)
				ck_assert_msg(strcmp(fast, slow) == 0, "%s: %s", big, fast);
			else
				ck_assert_msg(strcmp(fast, "left to yajl") == 0 &&
					strstr(slow, "duplicate key") != NULL,
				    "%s: %s / %s", big, fast, slow);
			free(fast);
			free(slow);
		}
	}
}
END_TEST

START_TEST(test_sax_fast_path_reads_strings_and_space)
{
	/* read by the fast path: escapes and UTF-8 at every place of a string, one or two,
	 * before and after its first 16 bytes; white space of the four kinds between tokens */
	static const char *const odd[] = { "\\n", "\\/", "\\\"", "\xc3\xa9", "\xf0\x9f\x98\x80" };
	static const char *const spaced[] = { " {\"a\" :\t[ 1 ,\r\n\"b\" ] }\n", "[\t]",
		"{ \"a\":{ } ,\"b\":[ ]}", "[1] \t\r\n ", "[[true],false]\n" };
	/* left to yajl: other bytes up to ' ' between tokens */
	static const char *const bad[] = { "{\"a\":1\v}", "{\"a\":\f1}", "[1,\x01 2]",
		"[\"a\"\x00]" };
	char doc[128];

	for (size_t at = 0; at <= 40; at++) {
		for (size_t k = 0; k < nitems(odd); k++) {
			for (int twice = 0; twice < 2; twice++) {
				char *fast, *slow;
				int n = snprintf(doc, sizeof doc,
				    "{\"k%.*s%s%s\":\"%.*s%s%.*s%s\"}", (int)(at % 7), "abcdefg",
				    odd[k], twice ? odd[k] : "", (int)at,
				    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz", odd[k],
				    (int)(40 - at), "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOP",
				    twice ? odd[k] : "");

				fast = sax_fast_transcript(doc, (size_t)n);
				slow = sax_transcript(doc, (size_t)n, 1, 0);
				ck_assert_msg(
				    strcmp(fast, slow) == 0, "%s: %s != %s", doc, fast, slow);
				free(fast);
				free(slow);
			}
		}
	}
	sax_fast_reads(spaced, nitems(spaced));
	for (size_t i = 0; i < nitems(bad); i++) {
		size_t len = strlen(bad[i]) + (i == nitems(bad) - 1); /* the last has a NUL */
		char *fast = sax_fast_transcript(bad[i], len);

		ck_assert_msg(strcmp(fast, "left to yajl") == 0, "%zu: %s", i, fast);
		free(fast);
	}
}
END_TEST

static Suite *
json_suite(void)
{
	Suite *s = suite_create("json");

	UNIT_ADD(s, test_get_last_member_exact_key);
	UNIT_ADD(s, test_no_positions);
	UNIT_ADD(s, test_parse_values_and_types);
	UNIT_ADD(s, test_positions_of_keys_and_values);
	UNIT_ADD(s, test_positions_count_characters_not_bytes);
	UNIT_ADD(s, test_positions_of_a_big_document);
	UNIT_ADD(s, test_error_positions_after_utf8_and_crlf);
	UNIT_ADD(s, test_error_position);
	UNIT_ADD(s, test_premature_end_position);
	UNIT_ADD(s, test_comments_refused_on_the_wire);
	UNIT_ADD(s, test_depth_limit);
	UNIT_ADD(s, test_size_limit);
	UNIT_ADD(s, test_empty_and_trailing_garbage);
	UNIT_ADD(s, test_integer_overflow_is_an_error);
	UNIT_ADD(s, test_writer_nesting_and_escapes);
	UNIT_ADD(s, test_writer_repairs_bad_utf8);
	UNIT_ADD(s, test_escape_finds_each_byte_in_long_runs);
	UNIT_ADD(s, test_round_trip);
	UNIT_ADD(s, test_mixed_containers_at_same_depth);
	UNIT_ADD(s, test_nul_in_strings_is_refused);
	UNIT_ADD(s, test_duplicate_keys_are_refused);
	UNIT_ADD(s, test_doubles_stay_doubles);
	UNIT_ADD(s, test_obj_set_replaces_and_adds);
	UNIT_ADD(s, test_sax_fast_path_agrees_with_yajl);
	UNIT_ADD(s, test_sax_fast_path_key_check);
	UNIT_ADD(s, test_sax_fast_path_reads_strings_and_space);
	return s;
}

UNIT_MAIN(json_suite)
