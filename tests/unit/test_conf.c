/* test_conf.c: unit tests of conf.c: rows, defaults, overrides, problems. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "unit.h"

struct tconf {
	char *name;
	long long port;
	int on;
	int mode;
	struct conf_strlist list;
};

static const char *const modes[] = { "fast", "safe", NULL };

static const struct conf_row rows[] = {
	{ "server.name", CONF_STR, offsetof(struct tconf, name), "\"gw\"", 0, 16, NULL, 0, "name" },
	{ "server.port", CONF_INT, offsetof(struct tconf, port), "8080", 0, 65535, NULL, 0,
	    "port" },
	{ "feature.on", CONF_BOOL, offsetof(struct tconf, on), "false", 0, 0, NULL, 1, "on" },
	{ "feature.mode", CONF_ENUM, offsetof(struct tconf, mode), "\"safe\"", 0, 0, modes, 1,
	    "m" },
	{ "list", CONF_STRLIST, offsetof(struct tconf, list), "[]", 0, 0, NULL, 1, "list" },
};

static const struct conf_schema schema = { "t", rows, 5, sizeof(struct tconf) };

static char path[64];

/* Write text to a temporary file; returns its name. */
static const char *
write_file(const char *text)
{
	int fd;

	snprintf(path, sizeof path, "/tmp/ucgw-conf-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static struct tconf *
load(const char *text, const struct conf_overrides *o, char **problems)
{
	struct tconf *c = conf_load(&schema, text ? write_file(text) : NULL, o, problems);

	if (text)
		unlink(path);
	return c;
}

START_TEST(test_defaults_without_file)
{
	char *problems;
	struct tconf *c = load(NULL, NULL, &problems);

	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->name, "gw");
	ck_assert_int_eq(c->port, 8080);
	ck_assert_int_eq(c->on, 0);
	ck_assert_int_eq(c->mode, 1);
	ck_assert_uint_eq(c->list.n, 0);
	conf_free(&schema, c);
}
END_TEST

START_TEST(test_file_values_and_comments)
{
	char *problems;
	struct tconf *c =
	    load("// top\n{\"server\": {\"port\": 9000 /* x */},\n"
		 " \"feature\": {\"on\": true, \"mode\": \"fast\"}, \"list\": [\"a\", \"b\"]}",
		NULL, &problems);

	ck_assert_msg(c != NULL, "%s", problems);
	ck_assert_int_eq(c->port, 9000);
	ck_assert_str_eq(c->name, "gw");
	ck_assert_int_eq(c->on, 1);
	ck_assert_int_eq(c->mode, 0);
	ck_assert_uint_eq(c->list.n, 2);
	ck_assert_str_eq(c->list.v[1], "b");
	conf_free(&schema, c);
}
END_TEST

START_TEST(test_every_problem_with_position)
{
	char *problems, want[256];
	struct tconf *c =
	    load("{\n  \"server\": {\"port\": 70000, \"nmae\": \"x\"},\n"
		 "  \"feature\": {\"on\": \"yes\", \"mode\": \"slow\"},\n  \"extra\": 1\n}",
		NULL, &problems);

	ck_assert_ptr_null(c);
	snprintf(
	    want, sizeof want, "%s:2:22: server.port: 70000 is out of range (0 to 65535)", path);
	ck_assert_msg(strstr(problems, want) != NULL, "%s", problems);
	ck_assert(strstr(problems,
		      ":2:29: unknown key \"server.nmae\" (did you mean "
		      "\"server.name\"?)") != NULL);
	ck_assert(
	    strstr(problems, ":3:21: feature.on: expected true or false, got string") != NULL);
	ck_assert(
	    strstr(problems, ":3:36: feature.mode: expected one of \"fast\", \"safe\"") != NULL);
	ck_assert(strstr(problems, ":4:3: unknown key \"extra\"") != NULL);
	free(problems);
}
END_TEST

START_TEST(test_bad_json_position)
{
	char *problems, want[128];

	ck_assert_ptr_null(load("{\n \"server\": {\"port\": 1,}\n}", NULL, &problems));
	snprintf(want, sizeof want, "%s:2:", path);
	ck_assert_msg(strncmp(problems, want, strlen(want)) == 0, "%s", problems);
	free(problems);
}
END_TEST

START_TEST(test_section_must_be_object)
{
	char *problems;

	ck_assert_ptr_null(load("{\"server\": 5}", NULL, &problems));
	ck_assert(strstr(problems, ":1:12: server: expected an object, got integer") != NULL);
	free(problems);
}
END_TEST

START_TEST(test_string_length_limit)
{
	char *problems;

	ck_assert_ptr_null(
	    load("{\"server\": {\"name\": \"0123456789abcdefg\"}}", NULL, &problems));
	ck_assert(strstr(problems, "server.name: longer than 16 characters") != NULL);
	free(problems);
}
END_TEST

START_TEST(test_overrides_apply_and_create)
{
	struct conf_overrides o = { 0 };
	char *problems, *cause;
	struct tconf *c;

	ck_assert_int_eq(conf_override_add(&o, "server.port=0", &cause), 0);
	ck_assert_int_eq(conf_override_add(&o, "server.name=plain text", &cause), 0);
	ck_assert_int_eq(conf_override_add(&o, "list=[\"x\"]", &cause), 0);
	ck_assert_int_eq(conf_override_add(&o, "feature.on=true", &cause), 0);
	c = load("{\"server\": {\"port\": 9000}}", &o, &problems);
	ck_assert_msg(c != NULL, "%s", problems);
	ck_assert_int_eq(c->port, 0);
	ck_assert_str_eq(c->name, "plain text");
	ck_assert_str_eq(c->list.v[0], "x");
	ck_assert_int_eq(c->on, 1);
	conf_free(&schema, c);
	conf_overrides_free(&o);
}
END_TEST

START_TEST(test_override_problems_name_the_command_line)
{
	struct conf_overrides o = { 0 };
	char *problems, *cause;

	ck_assert_int_eq(conf_override_add(&o, "server.prot=1", &cause), 0);
	ck_assert_int_eq(conf_override_add(&o, "feature.mode=7", &cause), 0);
	ck_assert_ptr_null(load(NULL, &o, &problems));
	ck_assert_msg(strstr(problems, "command line: -o unknown key \"server.prot\"") != NULL,
	    "%s", problems);
	ck_assert(strstr(problems, "command line: -o feature.mode: expected one of") != NULL);
	ck_assert_int_eq(conf_override_add(&o, "novalue", &cause), -1);
	free(cause);
	free(problems);
	conf_overrides_free(&o);
}
END_TEST

START_TEST(test_keep_static_rows)
{
	char *problems, *changed;
	struct tconf *old = load("{\"server\": {\"port\": 1}}", NULL, &problems);
	struct tconf *new_ =
	    load("{\"server\": {\"port\": 2}, \"feature\": {\"on\": true}}", NULL, &problems);

	ck_assert_int_eq(conf_keep_static(&schema, new_, old, &changed), 1);
	ck_assert_str_eq(changed, "server.port");
	ck_assert_int_eq(new_->port, 1);
	ck_assert_int_eq(new_->on, 1);
	free(changed);
	conf_free(&schema, old);
	conf_free(&schema, new_);
}
END_TEST

START_TEST(test_top_level_must_be_object)
{
	char *problems;

	ck_assert_ptr_null(load("[1]", NULL, &problems));
	ck_assert(strstr(problems, ":1:1: expected an object at the top level") != NULL);
	free(problems);
}
END_TEST

START_TEST(test_missing_file)
{
	char *problems;

	ck_assert_ptr_null(conf_load(&schema, "/nonexistent/ucgw.conf", NULL, &problems));
	ck_assert(strstr(problems, "/nonexistent/ucgw.conf: No such file") != NULL);
	free(problems);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");

	UNIT_ADD(s, test_defaults_without_file);
	UNIT_ADD(s, test_file_values_and_comments);
	UNIT_ADD(s, test_every_problem_with_position);
	UNIT_ADD(s, test_bad_json_position);
	UNIT_ADD(s, test_section_must_be_object);
	UNIT_ADD(s, test_string_length_limit);
	UNIT_ADD(s, test_overrides_apply_and_create);
	UNIT_ADD(s, test_override_problems_name_the_command_line);
	UNIT_ADD(s, test_keep_static_rows);
	UNIT_ADD(s, test_top_level_must_be_object);
	UNIT_ADD(s, test_missing_file);
	return s;
}

UNIT_MAIN(conf_suite)
