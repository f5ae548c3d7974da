/*
 * test_cometd.c: Bayeux channel names and subscription patterns: exact
 * channels, "*" (exactly one more segment, never deeper, never the parent)
 * and "**" (one or more more segments); the link between an agent and its
 * CometD record (agent->links[AGENTS_SLOT_COMETD]), made whichever comes
 * second and cleared on both sides when either goes.
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "agent.h"
#include "cometd.h"
#include "config.h"
#include "unit.h"

START_TEST(test_match_exact)
{
	ck_assert(cometd_channel_match("/v2/me/im-sessions", "/v2/me/im-sessions"));
	ck_assert(!cometd_channel_match("/v2/me/im-sessions", "/v2/me/im-sessions2"));
	ck_assert(!cometd_channel_match("/v2/me/im-sessions", "/v2/me"));
	ck_assert(!cometd_channel_match("/v2/me", "/v2/me/im-sessions"));
}
END_TEST

START_TEST(test_match_one_segment)
{
	ck_assert(cometd_channel_match("/v2/me/*", "/v2/me/calls"));
	ck_assert(cometd_channel_match("/v2/me/*", "/v2/me/im-sessions"));
	ck_assert(!cometd_channel_match("/v2/me/*", "/v2/me/calls/x"));
	ck_assert(!cometd_channel_match("/v2/me/*", "/v2/me"));
	ck_assert(!cometd_channel_match("/v2/me/*", "/v2/mex/calls"));
	ck_assert(!cometd_channel_match("/v2/me/*", "/v2/me/"));
	ck_assert(cometd_channel_match("/*", "/a"));
	ck_assert(!cometd_channel_match("/*", "/a/b"));
}
END_TEST

START_TEST(test_match_deep)
{
	ck_assert(cometd_channel_match("/v2/me/**", "/v2/me/calls"));
	ck_assert(cometd_channel_match("/v2/me/**", "/v2/me/calls/x/y"));
	ck_assert(!cometd_channel_match("/v2/me/**", "/v2/me"));
	ck_assert(!cometd_channel_match("/v2/me/**", "/v2/meow/x"));
	ck_assert(cometd_channel_match("/v2/**", "/v2/me/im-sessions"));
	ck_assert(cometd_channel_match("/**", "/v2/me/im-sessions"));
	ck_assert(cometd_channel_match("/**", "/x"));
}
END_TEST

START_TEST(test_channel_valid)
{
	ck_assert(cometd_channel_valid("/v2/me/im-sessions", 0));
	ck_assert(cometd_channel_valid("/a_b/c!~()$@/d-1", 0));
	ck_assert(!cometd_channel_valid("v2/me", 0));
	ck_assert(!cometd_channel_valid("/", 0));
	ck_assert(!cometd_channel_valid("/v2//me", 0));
	ck_assert(!cometd_channel_valid("/v2/me/", 0));
	ck_assert(!cometd_channel_valid("/v2/me/*", 0));
	ck_assert(cometd_channel_valid("/v2/me/*", 1));
	ck_assert(cometd_channel_valid("/v2/me/**", 1));
	ck_assert(cometd_channel_valid("/**", 1));
	ck_assert(!cometd_channel_valid("/v2/*/me", 1));
	ck_assert(!cometd_channel_valid("/v2/me/***", 1));
	ck_assert(!cometd_channel_valid("/v2/m e", 0));
	ck_assert(!cometd_channel_valid(NULL, 1));
	/* every byte in a segment: only the Bayeux segment characters */
	for (int c = 1; c < 256; c++) {
		static const char seg[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					  "0123456789-_!~()$@";
		char name[] = "/v2/a?b";

		name[5] = (char)c;
		ck_assert_msg(cometd_channel_valid(name, 0) == (strchr(seg, c) != NULL || c == '/'),
		    "byte %d", c);
	}
}
END_TEST

static char link_reply[4096];

/* A stream's send: keep the last reply. */
static int
link_send(void *arg, const char *text, size_t len)
{
	snprintf(link_reply, sizeof link_reply, "%.*s", (int)len, text);
	return 0;
}

/* Handshake a client of agent1 on stream st; its clientId into id. */
static void
link_handshake(struct cometd_stream *st, char *id, size_t idlen)
{
	static const char hs[] = "[{\"channel\":\"/meta/handshake\",\"version\":\"1.0\","
				 "\"supportedConnectionTypes\":[\"websocket\"]}]";
	const char *p;

	link_reply[0] = '\0';
	cometd_stream_recv(st, hs, strlen(hs));
	p = strstr(link_reply, "\"clientId\":\"");
	ck_assert_msg(p != NULL, "%s", link_reply);
	p += strlen("\"clientId\":\"");
	snprintf(id, idlen, "%.*s", (int)strcspn(p, "\""), p);
}

START_TEST(test_agent_link)
{
	struct event_base *base = event_base_new();
	char *problems = NULL, id[64], bye[256];
	struct config *cfg = conf_load(&config_schema, NULL, NULL, &problems);
	struct cometd *cd = cometd_create(base, cfg, NULL);
	struct agents *r = agents_create(base, 60000);
	struct cometd_stream *st = cometd_stream_open(cd, "agent1", "test", link_send, NULL);
	struct agent *a, *b;

	cometd_set_agents(cd, r);

	/* The agent first: the handshake links its new record. */
	a = agents_get(r, "agent1");
	ck_assert_ptr_null(a->links[AGENTS_SLOT_COMETD]);
	link_handshake(st, id, sizeof id);
	ck_assert_ptr_nonnull(a->links[AGENTS_SLOT_COMETD]);
	ck_assert_uint_eq(cometd_agent_live(a->links[AGENTS_SLOT_COMETD]), 1);

	/* Removal unlinks both sides; the record and its client stay. */
	agents_remove(r, a, "test");
	ck_assert_ptr_null(a->links[AGENTS_SLOT_COMETD]);
	ck_assert_uint_eq(cometd_agent_nclients(cd, "agent1"), 1);
	event_base_loop(base, EVLOOP_NONBLOCK);

	/* The record first: the new agent is linked (the record let go of the old one). */
	b = agents_get(r, "agent1");
	ck_assert_ptr_nonnull(b->links[AGENTS_SLOT_COMETD]);
	ck_assert_uint_eq(cometd_agent_live(b->links[AGENTS_SLOT_COMETD]), 1);

	/* The record goes with its last client: the agent's link is cleared. */
	snprintf(bye, sizeof bye, "[{\"channel\":\"/meta/disconnect\",\"clientId\":\"%s\"}]", id);
	cometd_stream_recv(st, bye, strlen(bye));
	ck_assert_uint_eq(cometd_agent_nclients(cd, "agent1"), 0);
	ck_assert_ptr_null(b->links[AGENTS_SLOT_COMETD]);

	/* A record made again links again; letting go of the registry unlinks. */
	link_handshake(st, id, sizeof id);
	ck_assert_ptr_nonnull(b->links[AGENTS_SLOT_COMETD]);
	cometd_set_agents(cd, NULL);
	ck_assert_ptr_null(b->links[AGENTS_SLOT_COMETD]);
	ck_assert_uint_eq(cometd_agent_live(NULL), 0);

	cometd_stream_close(st);
	agents_free(r);
	cometd_free(cd);
	conf_free(&config_schema, cfg);
	event_base_free(base);
}
END_TEST

static Suite *
cometd_suite(void)
{
	Suite *s = suite_create("cometd");

	UNIT_ADD(s, test_match_exact);
	UNIT_ADD(s, test_match_one_segment);
	UNIT_ADD(s, test_match_deep);
	UNIT_ADD(s, test_channel_valid);
	UNIT_ADD(s, test_agent_link);
	return s;
}
UNIT_MAIN(cometd_suite)
