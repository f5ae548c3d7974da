/*
 * test_record.c: unit tests of record.c's per-agent current input: the
 * event-channel responses of two recorded agents handled interleaved each
 * get their own transcript with only their own traffic; an agent not
 * recorded, and recording switched off, write nothing.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "unit.h"

static char dir[64];

/* A configuration recording agents (n of them) into dir. */
static void
configure(char **agents, size_t n)
{
	struct config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.record_agents.v = agents;
	cfg.record_agents.n = n;
	cfg.record_dir = n > 0 ? dir : NULL;
	cfg.record_max_bytes = 65536;
	record_configure(&cfg);
}

/* The text of the one file of dir whose name starts with prefix ("" if none). */
static char *
written(const char *prefix, int *count)
{
	char path[512], *text = xstrdup("");
	struct dirent *e;
	DIR *d = opendir(dir);
	FILE *f;
	long len;

	*count = 0;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || e->d_name[0] == '.')
			continue;
		(*count)++;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		f = fopen(path, "r");
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		rewind(f);
		free(text);
		text = xcalloc(1, (size_t)len + 1);
		ck_assert_int_eq(fread(text, 1, (size_t)len, f), len);
		fclose(f);
	}
	closedir(d);
	return text;
}

/* Remove every file of dir. */
static void
clean(void)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir(dir);

	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

START_TEST(test_agents_interleaved_do_not_mix)
{
	char *agents[] = { "alice", "bob" };
	const char *resp = "{\"sender\":[]}"; /* an event-channel answer, as received */
	char *ta, *tb;
	int na, nb;

	snprintf(dir, sizeof dir, "/tmp/ucgw-record-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	configure(agents, 2);
	ck_assert(record_agent("alice") && record_agent("bob") && !record_agent("carol"));
	record_ucwa_begin("alice", NULL, NULL, resp, strlen(resp));
	record_ucwa_begin("bob", NULL, NULL, resp, strlen(resp));
	record_notify("alice", "{\"n\":\"for-alice\"}");
	record_upstream("bob", "accept", NULL, NULL, NULL);
	record_notify("bob", "{\"n\":\"for-bob\"}");
	record_ucwa_begin("carol", NULL, NULL, resp, strlen(resp));
	record_notify("carol", "{\"n\":\"for-carol\"}");
	record_ucwa_end("carol");
	record_ucwa_end("bob");
	record_upstream("alice", "stopMessaging", NULL, NULL, NULL);
	record_notify("bob", "{\"n\":\"late-for-bob\"}");
	record_ucwa_end("alice");
	ta = written("alice-", &na);
	tb = written("bob-", &nb);
	ck_assert_int_eq(na, 1);
	ck_assert_int_eq(nb, 1);
	ck_assert_ptr_nonnull(strstr(ta, "for-alice"));
	ck_assert_ptr_nonnull(strstr(ta, "\"rel\":\"stopMessaging\""));
	ck_assert_ptr_null(strstr(ta, "bob"));
	ck_assert_ptr_nonnull(strstr(tb, "for-bob"));
	ck_assert_ptr_nonnull(strstr(tb, "\"rel\":\"accept\""));
	ck_assert_ptr_null(strstr(tb, "late-for-bob"));
	ck_assert_ptr_null(strstr(tb, "alice"));
	free(ta);
	free(tb);
	ta = written("carol-", &na);
	ck_assert_int_eq(na, 0);
	free(ta);
	/* switched off: the hooks write nothing */
	clean();
	configure(NULL, 0);
	ck_assert(!record_agent("alice"));
	record_ucwa_begin("alice", NULL, NULL, resp, strlen(resp));
	record_notify("alice", "{\"n\":\"off\"}");
	record_ucwa_end("alice");
	ta = written("", &na);
	ck_assert_int_eq(na, 0);
	free(ta);
	record_shutdown();
	rmdir(dir);
}
END_TEST

START_TEST(test_reconfigure_writes_the_open_response)
{
	char *agents[] = { "alice" };
	const char *resp = "{}";
	char *t;
	int n;

	snprintf(dir, sizeof dir, "/tmp/ucgw-record-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	configure(agents, 1);
	record_ucwa_begin("alice", NULL, NULL, resp, strlen(resp));
	record_notify("alice", "{\"n\":\"one\"}");
	configure(agents, 1);
	record_notify("alice", "{\"n\":\"two\"}");
	record_ucwa_end("alice");
	t = written("alice-", &n);
	ck_assert_int_eq(n, 1);
	ck_assert_ptr_nonnull(strstr(t, "\"one\""));
	ck_assert_ptr_null(strstr(t, "\"two\""));
	free(t);
	clean();
	record_shutdown();
	rmdir(dir);
}
END_TEST

/* The suite. */
static Suite *
record_suite(void)
{
	Suite *s = suite_create("record");

	UNIT_ADD(s, test_agents_interleaved_do_not_mix);
	UNIT_ADD(s, test_reconfigure_writes_the_open_response);
	return s;
}

UNIT_MAIN(record_suite)
