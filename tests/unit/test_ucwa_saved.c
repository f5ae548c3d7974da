/*
 * test_ucwa_saved.c: a UCWA agent's snapshot (struct ucwa_saved) as JSON
 * and back: every member survives, hrefs under the application and the
 * conversation are shortened and restored, secrets are left out unless
 * asked, the lists are bounded on reading, bad input is refused; version 4
 * (links under their parent as "^") is written in a head and a tail (the
 * messages apart from the conversations' links, as version 3), and
 * versions 1 to 3 are still read.
 */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "ucwa.h"
#include "unit.h"
#include "util.h"

#define APP  "https://h/ucwa/oauth/v1/applications/1"
#define CONV APP "/communication/conversations/c1"

/* A snapshot with one live and one ended conversation. */
static void
fill(struct ucwa_saved *s)
{
	struct ucwa_saved_conv *c;

	memset(s, 0, sizeof(*s));
	s->user = xstrdup("toshm@contoso.com");
	s->password = xstrdup("secret");
	s->token = xstrdup("Bearer cwt=abc");
	s->token_expires = 1796500000;
	s->endpoint_id = xstrdup("ep-1");
	s->apps_url = xstrdup("https://h/ucwa/oauth/v1/applications");
	s->app = xstrdup(APP);
	s->events = xstrdup(APP "/events?ack=7");
	s->events_params = 1;
	s->start_url = xstrdup(APP "/communication/messagingInvitations");
	s->me_uri = xstrdup("sip:toshm@contoso.com");
	s->nmarks = 2;
	s->marks[0] = 4294967295u;
	s->marks[1] = 7;
	s->starts = xcalloc(1, sizeof(*s->starts));
	s->starts[0].opid = xstrdup("op-1");
	s->starts[0].invitation = xstrdup(APP "/communication/messagingInvitations/i2");
	s->nstarts = 1;
	s->convs = xcalloc(2, sizeof(*s->convs));
	s->nconvs = 2;
	c = &s->convs[0];
	c->href = xstrdup(CONV);
	c->state = 1;
	c->invitation = xstrdup(APP "/communication/messagingInvitations/i1");
	c->accept = xstrdup(APP "/communication/messagingInvitations/i1/accept");
	c->cancel = xstrdup(CONV "/messaging/cancel");
	c->send_message = xstrdup(CONV "/messaging/messages");
	c->stop_messaging = xstrdup("https://other/terminate");
	c->seen = xcalloc(2, sizeof(char *));
	c->seen[c->nseen++] = xstrdup(CONV "/messaging/messages/2");
	c->seen[c->nseen++] = xstrdup(CONV "/messaging/messages/3");
	c->sent_href = xcalloc(1, sizeof(char *));
	c->sent_opid = xcalloc(1, sizeof(char *));
	c->sent_href[0] = xstrdup(CONV "/messaging/messages/4");
	c->sent_opid[0] = xstrdup("m-4");
	c->nsent = 1;
	c->inflight_opid = xstrdup("m-5");
	s->convs[1].href = xstrdup(APP "/communication/conversations/c0");
	s->convs[1].state = 2;
}

/* Write s and parse it back into out. */
static void
roundtrip(const struct ucwa_saved *s, int secrets, struct ucwa_saved *out, struct buf *b)
{
	struct json_doc *d;
	struct jw w;
	char *cause = NULL;

	jw_init(&w, b);
	ucwa_saved_write(&w, s, secrets);
	d = json_parse(b->data, b->len, NULL, NULL);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(ucwa_saved_parse(json_root(d), out, &cause), 0);
	json_doc_free(d);
}

START_TEST(test_saved_roundtrip)
{
	struct ucwa_saved s, r;
	struct buf b;

	fill(&s);
	buf_init(&b);
	roundtrip(&s, 1, &r, &b);
	ck_assert_ptr_null(strstr(b.data, "\"" CONV "/messaging/messages/2\""));
	/* version 2: message hrefs against the sendMessage link, sent as pairs, marks in hex */
	ck_assert_ptr_nonnull(strstr(b.data, "\"seen\":[\"=/2\",\"=/3\"]"));
	ck_assert_ptr_nonnull(strstr(b.data, "\"sent\":[[\"=/4\",\"m-4\"]]"));
	ck_assert_ptr_nonnull(strstr(b.data, "\"marks\":\"/////wAAAAc=\""));
	/* version 3: each conversation's messages in "msgs" by index, after the links */
	ck_assert_ptr_nonnull(strstr(b.data, "{\"v\":4,"));
	/* version 4: links under their parent as "^" and the rest */
	ck_assert_ptr_nonnull(strstr(b.data, "\"application\":\"^/1\""));
	ck_assert_ptr_nonnull(
	    strstr(b.data, "\"starts\":[{\"operationId\":\"op-1\",\"invitation\":\"^/i2\"}]"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "\"invitation\":\"^/i1\",\"accept\":\"~/communication/messagingInvitations/i1/accept\","
	    "\"cancel\":\"^/messaging/cancel\",\"sendMessage\":\"^/messaging/messages\","
	    "\"stopMessaging\":\"https://other/terminate\""));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "\"msgs\":[{\"seen\":[\"=/2\",\"=/3\"],\"sent\":[[\"=/"
	    "4\",\"m-4\"]],\"inflight\":\"m-5\"},{}]}"));
	ck_assert_ptr_null(strstr(b.data, "null"));
	ck_assert_ptr_null(strstr(b.data, "false"));
	ck_assert_str_eq(r.user, "toshm@contoso.com");
	ck_assert_str_eq(r.password, "secret");
	ck_assert_str_eq(r.token, "Bearer cwt=abc");
	ck_assert_int_eq(r.token_expires, 1796500000);
	ck_assert_str_eq(r.endpoint_id, "ep-1");
	ck_assert_str_eq(r.app, APP);
	ck_assert_str_eq(r.events, APP "/events?ack=7");
	ck_assert_int_eq(r.events_params, 1);
	ck_assert_str_eq(r.start_url, APP "/communication/messagingInvitations");
	ck_assert_ptr_null(r.mma_url);
	ck_assert_uint_eq(r.nmarks, 2);
	ck_assert_uint_eq(r.marks[0], 4294967295u);
	ck_assert_uint_eq(r.marks[1], 7);
	ck_assert_uint_eq(r.nstarts, 1);
	ck_assert_str_eq(r.starts[0].opid, "op-1");
	ck_assert_str_eq(r.starts[0].invitation, APP "/communication/messagingInvitations/i2");
	ck_assert_uint_eq(r.nconvs, 2);
	ck_assert_str_eq(r.convs[0].href, CONV);
	ck_assert_int_eq(r.convs[0].state, 1);
	ck_assert_str_eq(r.convs[0].invitation, APP "/communication/messagingInvitations/i1");
	ck_assert_str_eq(r.convs[0].accept, APP "/communication/messagingInvitations/i1/accept");
	ck_assert_ptr_null(r.convs[0].decline);
	ck_assert_str_eq(r.convs[0].cancel, CONV "/messaging/cancel");
	ck_assert_str_eq(r.convs[0].send_message, CONV "/messaging/messages");
	ck_assert_str_eq(r.convs[0].stop_messaging, "https://other/terminate");
	ck_assert_uint_eq(r.convs[0].nseen, 2);
	ck_assert_str_eq(r.convs[0].seen[1], CONV "/messaging/messages/3");
	ck_assert_uint_eq(r.convs[0].nsent, 1);
	ck_assert_str_eq(r.convs[0].sent_href[0], CONV "/messaging/messages/4");
	ck_assert_str_eq(r.convs[0].sent_opid[0], "m-4");
	ck_assert_str_eq(r.convs[0].inflight_opid, "m-5");
	ck_assert_int_eq(r.convs[1].state, 2);
	ck_assert_str_eq(r.convs[1].href, APP "/communication/conversations/c0");
	ucwa_saved_free(&r);
	buf_free(&b);
	buf_init(&b);
	roundtrip(&s, 0, &r, &b); /* without secrets: the caller seals them */
	ck_assert_ptr_null(strstr(b.data, "secret"));
	ck_assert_ptr_null(strstr(b.data, "cwt="));
	ck_assert_ptr_null(r.password);
	ck_assert_ptr_null(r.token);
	ucwa_saved_free(&r);
	ucwa_saved_free(&s);
	ck_assert_ptr_null(s.user);
	buf_free(&b);
}
END_TEST

/* Parse a snapshot's text into r (which must parse). */
static void
parse_text(const char *text, struct ucwa_saved *r)
{
	struct json_doc *d = json_parse(text, strlen(text), NULL, NULL);
	char *cause = NULL;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(ucwa_saved_parse(json_root(d), r, &cause), 0);
	json_doc_free(d);
}

/* Version 1 (what earlier nodes stored) is still read. */
START_TEST(test_saved_version1)
{
	static const char v1[] =
	    "{\"v\":1,\"user\":\"u\",\"application\":\"A\",\"events\":\"~/events\","
	    "\"eventsParams\":false,\"marks\":[4294967295,7],\"starts\":[],\"conversations\":["
	    "{\"href\":\"~/c\",\"state\":\"connected\",\"incoming\":false,\"accept\":null,"
	    "\"sendMessage\":\"~/c/messaging/messages\",\"seen\":[\"~/messaging/messages/2\"],"
	    "\"sent\":[{\"href\":\"~/messaging/messages/4\",\"operationId\":\"m-4\"}]}]}";
	struct ucwa_saved r;

	parse_text(v1, &r);
	ck_assert_str_eq(r.events, "A/events");
	ck_assert_uint_eq(r.nmarks, 2);
	ck_assert_uint_eq(r.marks[0], 4294967295u);
	ck_assert_uint_eq(r.marks[1], 7);
	ck_assert_uint_eq(r.nconvs, 1);
	ck_assert_ptr_null(r.convs[0].accept);
	ck_assert_str_eq(r.convs[0].seen[0], "A/c/messaging/messages/2");
	ck_assert_str_eq(r.convs[0].sent_href[0], "A/c/messaging/messages/4");
	ck_assert_str_eq(r.convs[0].sent_opid[0], "m-4");
	ucwa_saved_free(&r);
}
END_TEST

/* Version 2 (what the previous nodes store): the messages inside each conversation. */
START_TEST(test_saved_version2)
{
	static const char v2[] =
	    "{\"v\":2,\"user\":\"u\",\"application\":\"A\",\"marks\":\"/////wAAAAc=\","
	    "\"conversations\":[{\"href\":\"~/c0\",\"state\":\"ended\"},"
	    "{\"href\":\"~/c\",\"state\":\"connected\",\"sendMessage\":\"~/c/messaging/messages\","
	    "\"seen\":[\"=/2\"],\"sent\":[[\"=/4\",\"m-4\"]],\"inflight\":\"m-5\"}],"
	    "\"msgs\":[{\"seen\":[\"=/9\"]}]}"; /* a stray "msgs" is not version 2's */
	struct ucwa_saved r;

	parse_text(v2, &r);
	ck_assert_uint_eq(r.nmarks, 2);
	ck_assert_uint_eq(r.marks[1], 7);
	ck_assert_uint_eq(r.nconvs, 2);
	ck_assert_uint_eq(r.convs[0].nseen, 0);
	ck_assert_uint_eq(r.convs[1].nseen, 1);
	ck_assert_str_eq(r.convs[1].seen[0], "A/c/messaging/messages/2");
	ck_assert_uint_eq(r.convs[1].nsent, 1);
	ck_assert_str_eq(r.convs[1].sent_href[0], "A/c/messaging/messages/4");
	ck_assert_str_eq(r.convs[1].sent_opid[0], "m-4");
	ck_assert_str_eq(r.convs[1].inflight_opid, "m-5");
	ucwa_saved_free(&r);
}
END_TEST

/* Version 3 (what the previous nodes store): links under the application only, "^" unknown. */
START_TEST(test_saved_version3)
{
	static const char v3[] =
	    "{\"v\":3,\"user\":\"u\",\"tokenExpires\":7,\"applicationsUrl\":\"A/apps\","
	    "\"application\":\"A/apps/1\",\"startMessaging\":\"~/inv\",\"conversations\":["
	    "{\"href\":\"~/c\",\"state\":\"connected\",\"invitation\":\"~/inv/9\","
	    "\"sendMessage\":\"~/c/messaging/messages\",\"stopMessaging\":\"~/c/stop\"}],"
	    "\"marks\":\"/////wAAAAc=\",\"msgs\":[{\"seen\":[\"=/2\"],\"sent\":[[\"=/"
	    "4\",\"m-4\"]]}]}";
	struct ucwa_saved r;

	parse_text(v3, &r);
	ck_assert_int_eq(r.token_expires, 7);
	ck_assert_str_eq(r.app, "A/apps/1");
	ck_assert_str_eq(r.start_url, "A/apps/1/inv");
	ck_assert_uint_eq(r.nconvs, 1);
	ck_assert_str_eq(r.convs[0].href, "A/apps/1/c");
	ck_assert_str_eq(r.convs[0].invitation, "A/apps/1/inv/9");
	ck_assert_str_eq(r.convs[0].send_message, "A/apps/1/c/messaging/messages");
	ck_assert_str_eq(r.convs[0].stop_messaging, "A/apps/1/c/stop");
	ck_assert_str_eq(r.convs[0].seen[0], "A/apps/1/c/messaging/messages/2");
	ck_assert_str_eq(r.convs[0].sent_href[0], "A/apps/1/c/messaging/messages/4");
	ck_assert_str_eq(r.convs[0].sent_opid[0], "m-4");
	ck_assert_uint_eq(r.nmarks, 2);
	ucwa_saved_free(&r);
}
END_TEST

/*
 * What the previous release's writer (stop 24, snapshot version 3) wrote
 * for fill() without secrets: links under the application as "~", none
 * under its parent as "^" (which its reader does not know).
 */
static const char stop24_v3[] =
    "{\"v\":3,\"user\":\"toshm@contoso.com\",\"tokenExpires\":1796500000,"
    "\"endpointId\":\"ep-1\",\"applicationsUrl\":\"https://h/ucwa/oauth/v1/applications\","
    "\"application\":\"https://h/ucwa/oauth/v1/applications/1\","
    "\"events\":\"~/events?ack=7\",\"eventsParams\":true,"
    "\"startMessaging\":\"~/communication/messagingInvitations\","
    "\"meUri\":\"sip:toshm@contoso.com\",\"starts\":[{\"operationId\":\"op-1\","
    "\"invitation\":\"~/communication/messagingInvitations/i2\"}],\"conversations\":["
    "{\"href\":\"~/communication/conversations/c1\",\"state\":\"connected\","
    "\"invitation\":\"~/communication/messagingInvitations/i1\","
    "\"accept\":\"~/communication/messagingInvitations/i1/accept\","
    "\"cancel\":\"~/communication/conversations/c1/messaging/cancel\","
    "\"sendMessage\":\"~/communication/conversations/c1/messaging/messages\","
    "\"stopMessaging\":\"https://other/terminate\"},"
    "{\"href\":\"~/communication/conversations/c0\",\"state\":\"ended\"}],"
    "\"marks\":\"/////wAAAAc=\",\"msgs\":[{\"seen\":[\"=/2\",\"=/3\"],"
    "\"sent\":[[\"=/4\",\"m-4\"]],\"inflight\":\"m-5\"},{}]}";

/*
 * Asked for version 3 (cluster.write_version 3, a rolling upgrade), the
 * writer writes byte for byte what the previous release's writer wrote,
 * which is what its reader reads; this reader reads it back whole. The
 * head's hash differs between the versions, so a writer keeping the head
 * writes it again when the version changes.
 */
START_TEST(test_saved_write_version3)
{
	struct ucwa_saved s, r;
	struct buf b;
	struct jw w;

	fill(&s);
	buf_init(&b);
	jw_init(&w, &b);
	ucwa_saved_write_head(&w, &s, 0, 3);
	ucwa_saved_write_tail(&w, &s);
	ck_assert_str_eq(b.data, stop24_v3);
	ck_assert_ptr_null(strstr(b.data, "\"^"));
	parse_text(b.data, &r);
	ck_assert_str_eq(r.app, APP);
	ck_assert_str_eq(r.start_url, APP "/communication/messagingInvitations");
	ck_assert_str_eq(r.starts[0].invitation, APP "/communication/messagingInvitations/i2");
	ck_assert_uint_eq(r.nconvs, 2);
	ck_assert_str_eq(r.convs[0].href, CONV);
	ck_assert_str_eq(r.convs[0].invitation, APP "/communication/messagingInvitations/i1");
	ck_assert_str_eq(r.convs[0].cancel, CONV "/messaging/cancel");
	ck_assert_str_eq(r.convs[0].send_message, CONV "/messaging/messages");
	ck_assert_str_eq(r.convs[0].seen[1], CONV "/messaging/messages/3");
	ck_assert_str_eq(r.convs[0].sent_href[0], CONV "/messaging/messages/4");
	ck_assert_str_eq(r.convs[0].inflight_opid, "m-5");
	ck_assert_str_eq(r.convs[1].href, APP "/communication/conversations/c0");
	ck_assert_uint_ne(ucwa_saved_head_hash(&s, 0, 3), ucwa_saved_head_hash(&s, 0, 4));
	ucwa_saved_free(&r);
	/* version 5 (cluster.write_version 5: stored in two fields): 4's layout, "v":5, read alike */
	ck_assert_uint_ne(ucwa_saved_head_hash(&s, 0, 4), ucwa_saved_head_hash(&s, 0, 5));
	buf_reset(&b);
	jw_init(&w, &b);
	ucwa_saved_write_head(&w, &s, 0, 5);
	ucwa_saved_write_tail(&w, &s);
	ck_assert_int_eq(strncmp(b.data, "{\"v\":5,", 7), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "\"^"));
	parse_text(b.data, &r);
	ck_assert_str_eq(r.convs[0].sent_href[0], CONV "/messaging/messages/4");
	ck_assert_uint_eq(r.nmarks, s.nmarks);
	ucwa_saved_free(&r);
	ucwa_saved_free(&s);
	buf_free(&b);
}
END_TEST

/*
 * The head and the tail make the whole; the head's hash follows what the
 * head writes and nothing else, so a writer that keeps the head's bytes
 * and writer state (ucwa_resume_save) writes what a whole write would.
 */
START_TEST(test_saved_head_tail)
{
	struct ucwa_saved s;
	struct buf whole, head, again;
	struct jw w, kept;
	uint64_t h;

	fill(&s);
	buf_init(&whole);
	buf_init(&head);
	buf_init(&again);
	jw_init(&kept, &head);
	ucwa_saved_write_head(&kept, &s, 0, 4);
	h = ucwa_saved_head_hash(&s, 0, 4);
	/* what changes with a message: the head and its hash stay */
	s.marks[s.nmarks++] = 9;
	free(s.convs[0].inflight_opid);
	s.convs[0].inflight_opid = xstrdup("m-6");
	s.convs[0].seen[1][strlen(s.convs[0].seen[1]) - 1] = '5';
	ck_assert_uint_eq(ucwa_saved_head_hash(&s, 0, 4), h);
	jw_init(&w, &whole);
	ucwa_saved_write(&w, &s, 0);
	buf_add(&again, head.data, head.len);
	w = kept;
	w.b = &again;
	ucwa_saved_write_tail(&w, &s);
	ck_assert_str_eq(again.data, whole.data);
	ck_assert_ptr_nonnull(strstr(again.data, "\"inflight\":\"m-6\""));
	/* what the head writes: its hash changes */
	s.convs[0].state = 2;
	ck_assert_uint_ne(ucwa_saved_head_hash(&s, 0, 4), h);
	s.convs[0].state = 1;
	ck_assert_uint_eq(ucwa_saved_head_hash(&s, 0, 4), h);
	s.convs[0].stop_messaging[0] = 'H';
	ck_assert_uint_ne(ucwa_saved_head_hash(&s, 0, 4), h);
	s.convs[0].stop_messaging[0] = 'h';
	free(s.convs[0].send_message);
	s.convs[0].send_message = NULL;
	ck_assert_uint_ne(ucwa_saved_head_hash(&s, 0, 4), h);
	s.convs[0].send_message = xstrdup(CONV "/messaging/messages");
	s.convs[0].preview_span = 3;
	ck_assert_uint_ne(ucwa_saved_head_hash(&s, 0, 4), h);
	s.convs[0].preview_span = 0;
	s.token_expires++;
	ck_assert_uint_ne(ucwa_saved_head_hash(&s, 0, 4), h);
	s.token_expires--;
	s.nconvs = 1;
	ck_assert_uint_ne(ucwa_saved_head_hash(&s, 0, 4), h);
	s.nconvs = 2;
	ck_assert_uint_eq(ucwa_saved_head_hash(&s, 0, 4), h);
	ucwa_saved_free(&s);
	buf_free(&whole);
	buf_free(&head);
	buf_free(&again);
}
END_TEST

/* Version 2's marks string: the last 64 kept; not base64: none. */
START_TEST(test_saved_b64_marks)
{
	struct ucwa_saved r;
	struct json_doc *d;
	struct buf b, raw;
	char *cause = NULL;

	buf_init(&raw);
	for (int i = 0; i < 70; i++) {
		unsigned char m[4] = { 0, 0, (unsigned char)(i >> 8), (unsigned char)i };

		buf_add(&raw, m, 4);
	}
	buf_addch(&raw, 1); /* a stray byte: ignored */
	buf_init(&b);
	buf_addstr(&b, "{\"v\":2,\"user\":\"u\",\"marks\":\"");
	util_base64_encode(&b, raw.data, raw.len);
	buf_addstr(&b, "\"}");
	d = json_parse(b.data, b.len, NULL, NULL);
	ck_assert_int_eq(ucwa_saved_parse(json_root(d), &r, &cause), 0);
	ck_assert_uint_eq(r.nmarks, UCWA_SAVED_MARKS);
	ck_assert_uint_eq(r.marks[0], 70 - UCWA_SAVED_MARKS);
	ck_assert_uint_eq(r.marks[UCWA_SAVED_MARKS - 1], 69);
	ucwa_saved_free(&r);
	json_doc_free(d);
	/* written: what util_base64_encode makes of the bytes, for every remainder */
	for (size_t k = 1; k <= UCWA_SAVED_MARKS; k += k < 6 ? 1 : UCWA_SAVED_MARKS - 6) {
		struct ucwa_saved s = { 0 };
		struct buf out, want, raw2;
		struct jw w;

		s.user = "u";
		buf_init(&raw2);
		for (size_t i = 0; i < k; i++) {
			unsigned char m[4] = { 0xfb, (unsigned char)i, 0xef, 0x3e };

			s.marks[s.nmarks++] = 0xfb00ef3eu | (uint32_t)i << 16;
			buf_add(&raw2, m, 4);
		}
		buf_init(&out);
		buf_init(&want);
		buf_addstr(&want, "\"marks\":\"");
		util_base64_encode(&want, raw2.data, raw2.len);
		buf_addch(&want, '"');
		jw_init(&w, &out);
		ucwa_saved_write(&w, &s, 0);
		ck_assert_ptr_nonnull(strstr(out.data, want.data));
		buf_free(&out);
		buf_free(&want);
		buf_free(&raw2);
	}
	d = json_parse("{\"v\":2,\"user\":\"u\",\"marks\":\"!!\"}", 31, NULL, NULL);
	ck_assert_int_eq(ucwa_saved_parse(json_root(d), &r, &cause), 0);
	ck_assert_uint_eq(r.nmarks, 0);
	ucwa_saved_free(&r);
	json_doc_free(d);
	buf_free(&b);
	buf_free(&raw);
}
END_TEST

START_TEST(test_saved_bounds_and_refusals)
{
	struct ucwa_saved r;
	struct json_doc *d;
	struct buf b;
	char *cause = NULL;

	buf_init(&b);
	buf_addstr(&b, "{\"v\":1,\"user\":\"u\",\"application\":\"A\",\"marks\":[");
	for (int i = 0; i < 100; i++)
		buf_printf(&b, "%s%d", i ? "," : "", i);
	buf_addstr(&b, "],\"conversations\":[{\"href\":\"~/c\",\"seen\":[");
	for (int i = 0; i < 40; i++)
		buf_printf(&b, "%s\"~/m/%d\"", i ? "," : "", i);
	buf_addstr(&b, "]},{\"state\":\"connected\"}],\"future\":{\"x\":1}}");
	d = json_parse(b.data, b.len, NULL, NULL);
	ck_assert_int_eq(ucwa_saved_parse(json_root(d), &r, &cause), 0);
	ck_assert_uint_eq(r.nmarks, UCWA_SAVED_MARKS); /* the last ones */
	ck_assert_uint_eq(r.marks[0], 100 - UCWA_SAVED_MARKS);
	ck_assert_uint_eq(r.nconvs, 1); /* one without an href is skipped */
	ck_assert_str_eq(r.convs[0].href, "A/c");
	ck_assert_uint_eq(r.convs[0].nseen, 32);
	ck_assert_str_eq(r.convs[0].seen[31], "A/c/m/39");
	ucwa_saved_free(&r);
	json_doc_free(d);
	buf_free(&b);
	d = json_parse("{\"v\":6,\"user\":\"u\"}", 18, NULL, NULL); /* 5: 4 in two fields */
	ck_assert_int_eq(ucwa_saved_parse(json_root(d), &r, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "version"));
	free(cause);
	json_doc_free(d);
	d = json_parse("[1]", 3, NULL, NULL);
	cause = NULL;
	ck_assert_int_eq(ucwa_saved_parse(json_root(d), &r, &cause), -1);
	free(cause);
	json_doc_free(d);
}
END_TEST

static Suite *
ucwa_saved_suite(void)
{
	Suite *s = suite_create("ucwa_saved");

	UNIT_ADD(s, test_saved_roundtrip);
	UNIT_ADD(s, test_saved_version1);
	UNIT_ADD(s, test_saved_version2);
	UNIT_ADD(s, test_saved_version3);
	UNIT_ADD(s, test_saved_write_version3);
	UNIT_ADD(s, test_saved_head_tail);
	UNIT_ADD(s, test_saved_b64_marks);
	UNIT_ADD(s, test_saved_bounds_and_refusals);
	return s;
}

UNIT_MAIN(ucwa_saved_suite)
