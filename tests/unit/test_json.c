/* test_json.c: unit tests of json.c: positions, limits, errors, writer. */
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
	jw_obj_end(&w);
	ck_assert_str_eq(
	    b.data, "{\"s\":\"q\\\"b\\\\\\n\\u0001\",\"a\":[1,{},null],\"t\":true,\"n\":null}");
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

static Suite *
json_suite(void)
{
	Suite *s = suite_create("json");

	UNIT_ADD(s, test_parse_values_and_types);
	UNIT_ADD(s, test_positions_of_keys_and_values);
	UNIT_ADD(s, test_error_position);
	UNIT_ADD(s, test_premature_end_position);
	UNIT_ADD(s, test_comments_refused_on_the_wire);
	UNIT_ADD(s, test_depth_limit);
	UNIT_ADD(s, test_size_limit);
	UNIT_ADD(s, test_empty_and_trailing_garbage);
	UNIT_ADD(s, test_integer_overflow_is_an_error);
	UNIT_ADD(s, test_writer_nesting_and_escapes);
	UNIT_ADD(s, test_writer_repairs_bad_utf8);
	UNIT_ADD(s, test_round_trip);
	UNIT_ADD(s, test_mixed_containers_at_same_depth);
	UNIT_ADD(s, test_doubles_stay_doubles);
	UNIT_ADD(s, test_obj_set_replaces_and_adds);
	return s;
}

UNIT_MAIN(json_suite)
