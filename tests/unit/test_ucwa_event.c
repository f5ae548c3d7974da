/*
 * test_ucwa_event.c: unit tests of datauri.c and ucwa_event.c against the
 * event-channel responses in proto/ucwa-events/ (published UCWA samples,
 * a real Lync 2013 capture, and constructed edge cases).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datauri.h"
#include "ucwa_event.h"
#include "unit.h"
#include "util.h"

/* Read proto/ucwa-events/<name> from the source tree. */
static char *
fixture(const char *name, size_t *len)
{
	const char *src = getenv("UCGW_SRCDIR") ? getenv("UCGW_SRCDIR") : "..";
	char path[1024];
	struct buf b;
	char chunk[4096];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/proto/ucwa-events/%s", src, name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return buf_detach(&b, len);
}

static void
parse(const char *name, struct ucwa_events *evs)
{
	char err[256];
	size_t len;
	char *body = fixture(name, &len);

	ck_assert_msg(
	    ucwa_events_parse(body, len, evs, err, sizeof(err)) == 0, "%s: %s", name, err);
	free(body);
}

/* Decode uri; its payload must be want, with the text/html flag html. */
static void
decodes_to(const char *uri, const char *want, int html)
{
	struct buf b;
	int is_html = -1;

	buf_init(&b);
	ck_assert_msg(datauri_decode(uri, &b, &is_html) == 0, "refused: %s", uri);
	ck_assert_str_eq(b.data, want);
	ck_assert_uint_eq(b.len, strlen(want));
	ck_assert_int_eq(is_html, html);
	buf_free(&b);
}

START_TEST(test_datauri_decode_forms)
{
	struct buf b;
	int html;

	/* the payload as sent: trailing CR/LF kept (the rules trim them) */
	decodes_to("data:text/plain;charset=utf-8,Hi+Tosh%0d%0a", "Hi Tosh\r\n", 0);
	decodes_to("data:text/plain;charset=utf-8,TUAN%0d%0a", "TUAN\r\n", 0);
	/* base64 (what kenakamu and the startMessaging reference send) */
	decodes_to("data:text/plain;base64,SGVsbG8gd29ybGQNCg==", "Hello world\r\n", 0);
	/* a literal plus is %2b, UTF-8 multibyte survives */
	decodes_to("data:text/plain;charset=utf-8,1%2b1+%3d+2+%c3%a9", "1+1 = 2 \xc3\xa9", 0);
	decodes_to("data:text/plain,a%0d%0ab%0a%0d%0a", "a\r\nb\n\r\n", 0);
	decodes_to("data:text/plain,", "", 0);
	/* html stays html, flagged (xlate_text_in reduces it; see test_xlate.c) */
	decodes_to(
	    "data:text/html;charset=utf-8,%3cspan+style%3d%22font-"
	    "size%3a10pt%22%3eFish+%26amp%3b+chips%3cbr%3e2+%26lt%3b+3%26%2333%3b%3c%2fspan%3e",
	    "<span style=\"font-size:10pt\">Fish &amp; chips<br>2 &lt; 3&#33;</span>", 1);
	decodes_to("data:text/html;base64,PGI+Ym9sZDwvYj4=", "<b>bold</b>", 1);
	decodes_to("DATA:Text/HTML,%3cb%3e", "<b>", 1);
	decodes_to("data:text/htmlx,%3cb%3e", "<b>", 0); /* not text/html */
	/* refusals */
	buf_init(&b);
	ck_assert_int_eq(datauri_decode("http://x/", &b, &html), -1);
	ck_assert_int_eq(datauri_decode("data:text/plain", &b, &html), -1);
	ck_assert_int_eq(datauri_decode("data:text/plain,bad%2", &b, &html), -1);
	ck_assert_int_eq(datauri_decode("data:text/plain,bad%zz", &b, &html), -1);
	ck_assert_int_eq(datauri_decode("data:text/plain;base64,@@@", &b, &html), -1);
	buf_free(&b);
}
END_TEST

START_TEST(test_datauri_encode_roundtrip)
{
	struct buf enc, dec;
	const char *texts[] = { "What's up?", "a+b = c & d%", "line1\r\nline2\r\n",
		"\xc3\xa9t\xc3\xa9", "" };
	int html;

	buf_init(&enc);
	buf_init(&dec);
	datauri_encode(&enc, "text/plain", "Hi Tosh\r\n", 9, 0);
	ck_assert_str_eq(enc.data, "data:text/plain;charset=utf-8,Hi+Tosh%0d%0a");
	for (size_t i = 0; i < nitems(texts); i++) {
		for (int b64 = 0; b64 <= 1; b64++) {
			datauri_encode(&enc, b64 ? "text/html" : "text/plain", texts[i],
			    strlen(texts[i]), b64);
			ck_assert_int_eq(datauri_decode(enc.data, &dec, &html), 0);
			ck_assert_str_eq(dec.data, texts[i]);
			ck_assert_int_eq(html, b64);
		}
	}
	buf_free(&enc);
	buf_free(&dec);
}
END_TEST

START_TEST(test_outgoing_started_ack2)
{
	struct ucwa_events evs;
	const struct ucwa_change *c;

	parse("22-events-ack2-after-startMessaging.json", &evs);
	ck_assert_str_eq(evs.next, "/ucwa/oauth/v1/applications/102/events?ack=3");
	ck_assert_uint_eq(evs.n, 4);
	c = &evs.v[0];
	ck_assert_int_eq(c->kind, UCWA_INVITATION);
	ck_assert_int_eq(c->type, UCWA_STARTED);
	ck_assert_str_eq(c->direction, "Outgoing");
	ck_assert_str_eq(c->state, "Connecting");
	ck_assert_str_eq(c->operation_id, "5028e824-2268-4b14-9e59-1abad65ff393");
	ck_assert_ptr_nonnull(c->cancel);
	ck_assert_ptr_null(c->accept);
	ck_assert_ptr_nonnull(c->conversation);
	ck_assert_int_eq(evs.v[1].kind, UCWA_CONVERSATION);
	ck_assert_int_eq(evs.v[1].type, UCWA_ADDED);
	ck_assert_str_eq(evs.v[1].state, "Connecting");
	ck_assert_str_eq(evs.v[1].href, c->conversation);
	ck_assert_int_eq(evs.v[2].kind, UCWA_PARTICIPANT);
	ck_assert_int_eq(evs.v[2].local, 1);
	ck_assert_int_eq(evs.v[3].kind, UCWA_MESSAGING);
	ck_assert_str_eq(evs.v[3].state, "Connecting");
	ck_assert_ptr_null(evs.v[3].send_message); /* not yet possible */
	ck_assert_ptr_nonnull(evs.v[3].stop_messaging);
	ck_assert_str_eq(evs.v[3].conversation, c->conversation);
	ucwa_events_free(&evs);
}
END_TEST

START_TEST(test_outgoing_connected_ack3)
{
	struct ucwa_events evs;
	const struct ucwa_change *m, *inv;

	parse("23-events-ack3-invitation-completed-messaging-connected.json", &evs);
	/* conversation, participant, messaging, invitation (participantMessaging ignored) */
	ck_assert_uint_eq(evs.n, 4);
	ck_assert_int_eq(evs.v[0].kind, UCWA_CONVERSATION);
	ck_assert_str_eq(evs.v[0].state, "Connected");
	ck_assert_int_eq(evs.v[1].kind, UCWA_PARTICIPANT);
	ck_assert_int_eq(evs.v[1].local, 0);
	ck_assert_int_eq(evs.v[1].embedded, 0);
	m = &evs.v[2];
	ck_assert_int_eq(m->kind, UCWA_MESSAGING);
	ck_assert_str_eq(m->state, "Connected");
	ck_assert_ptr_nonnull(m->send_message);
	ck_assert_ptr_nonnull(strstr(m->send_message, "/messaging/messages"));
	inv = &evs.v[3];
	ck_assert_int_eq(inv->kind, UCWA_INVITATION);
	ck_assert_int_eq(inv->type, UCWA_COMPLETED);
	ck_assert_str_eq(inv->status, "Success");
	ck_assert_ptr_null(inv->reason_code);
	ucwa_events_free(&evs);
}
END_TEST

START_TEST(test_outgoing_message_completed)
{
	struct ucwa_events evs;

	parse("27-events-ack6-outgoing-message-completed.json", &evs);
	ck_assert_uint_eq(evs.n, 1);
	ck_assert_int_eq(evs.v[0].kind, UCWA_MESSAGE);
	ck_assert_int_eq(evs.v[0].type, UCWA_COMPLETED);
	ck_assert_str_eq(evs.v[0].direction, "Outgoing");
	ck_assert_str_eq(evs.v[0].status, "Success");
	ck_assert_ptr_nonnull(evs.v[0].conversation);
	ck_assert_str_eq(evs.v[0].self, evs.v[0].href);
	ck_assert_ptr_null(evs.v[0].text);
	ucwa_events_free(&evs);
}
END_TEST

START_TEST(test_incoming_invitation_with_preview)
{
	struct ucwa_events evs;
	const struct ucwa_change *c;

	parse("31-events-ack2-incoming-invitation-started.json", &evs);
	ck_assert_uint_eq(evs.n, 3);
	c = &evs.v[0];
	ck_assert_int_eq(c->kind, UCWA_INVITATION);
	ck_assert_int_eq(c->type, UCWA_STARTED);
	ck_assert_str_eq(c->direction, "Incoming");
	ck_assert_str_eq(c->text, "Hi Tosh\r\n"); /* as sent: the rules trim */
	ck_assert_int_eq(c->text_html, 0);
	ck_assert_str_eq(c->from_uri, "sip:lenea@contoso.com");
	ck_assert_str_eq(c->from_name, "Lene Aaling");
	ck_assert_ptr_nonnull(c->accept);
	ck_assert_ptr_nonnull(c->decline);
	ck_assert_str_eq(
	    c->conversation, "/ucwa/oauth/v1/applications/104/communication/conversations/eee0");
	ck_assert_str_eq(evs.v[1].state, "Incoming");
	ucwa_events_free(&evs);
	parse("33-events-ack4-incoming-invitation-updated.json", &evs);
	ck_assert_uint_eq(evs.n, 1);
	ck_assert_int_eq(evs.v[0].type, UCWA_UPDATED);
	ck_assert_ptr_null(evs.v[0].accept); /* the links vanished */
	ucwa_events_free(&evs);
}
END_TEST

START_TEST(test_incoming_accepted_and_message)
{
	struct ucwa_events evs;
	const struct ucwa_change *c;

	parse("37-events-ack5-after-accept-connected.json", &evs);
	ck_assert_int_eq(evs.v[0].kind, UCWA_MESSAGING);
	ck_assert_ptr_nonnull(evs.v[0].send_message);
	c = &evs.v[evs.n - 1];
	ck_assert_int_eq(c->kind, UCWA_INVITATION);
	ck_assert_int_eq(c->type, UCWA_COMPLETED);
	ck_assert_str_eq(c->status, "Success");
	ucwa_events_free(&evs);
	parse("38-events-ack6-incoming-message-completed.json", &evs);
	ck_assert_uint_eq(evs.n, 2);
	c = &evs.v[0];
	ck_assert_int_eq(c->kind, UCWA_MESSAGE);
	ck_assert_str_eq(c->direction, "Incoming");
	ck_assert_str_eq(c->text, "Hi Tosh\r\n"); /* as sent: the rules trim */
	ck_assert_int_eq(c->text_html, 0);
	ck_assert_str_eq(c->participant_name, "Lene Aaling");
	ck_assert_ptr_nonnull(strstr(c->self, "/messages/2"));
	ucwa_events_free(&evs);
}
END_TEST

START_TEST(test_field_capture_message_and_typing)
{
	struct ucwa_events evs;

	parse("90-lync2013-events-incoming-message-completed-and-typing.json", &evs);
	ck_assert_uint_eq(evs.n, 2);
	ck_assert_int_eq(evs.v[0].kind, UCWA_MESSAGE);
	ck_assert_str_eq(evs.v[0].text, "TUAN\r\n");
	ck_assert_int_eq(evs.v[1].kind, UCWA_TYPING);
	ck_assert_int_eq(evs.v[1].type, UCWA_ADDED);
	ck_assert_str_eq(evs.v[1].conversation, evs.v[0].conversation);
	ucwa_events_free(&evs);
	parse("64-ref-event-typingParticipants-deleted.json", &evs);
	ck_assert_uint_eq(evs.n, 1);
	ck_assert_int_eq(evs.v[0].kind, UCWA_TYPING);
	ck_assert_int_eq(evs.v[0].type, UCWA_DELETED);
	ucwa_events_free(&evs);
	parse("65-ref-event-participant-deleted.json", &evs);
	ck_assert_int_eq(evs.v[0].kind, UCWA_PARTICIPANT);
	ck_assert_int_eq(evs.v[0].type, UCWA_DELETED);
	ucwa_events_free(&evs);
}
END_TEST

START_TEST(test_failure_reason_and_repeated_sender)
{
	struct ucwa_events evs;
	const struct ucwa_change *c;

	parse("x1-invitation-completed-failure-declined.json", &evs);
	ck_assert_uint_eq(evs.n, 3);
	c = &evs.v[0];
	ck_assert_int_eq(c->kind, UCWA_INVITATION);
	ck_assert_str_eq(c->status, "Failure");
	ck_assert_str_eq(c->state, "Failed");
	ck_assert_str_eq(c->reason_code, "RemoteFailure");
	ck_assert_str_eq(c->reason_subcode, "Declined");
	ck_assert_str_eq(c->reason_message, "Your invitation was declined.");
	ck_assert_str_eq(c->operation_id, "op-7");
	ck_assert_int_eq(evs.v[1].kind, UCWA_MESSAGING);
	ck_assert_str_eq(evs.v[1].state, "Disconnected");
	ck_assert_int_eq(evs.v[2].kind, UCWA_CONVERSATION); /* second communication sender */
	ck_assert_int_eq(evs.v[2].type, UCWA_DELETED);
	ucwa_events_free(&evs);
}
END_TEST

START_TEST(test_empty_sender_resync_resume)
{
	struct ucwa_events evs;

	parse("x2-empty-sender.json", &evs);
	ck_assert_uint_eq(evs.n, 0);
	ck_assert_ptr_nonnull(evs.next);
	ucwa_events_free(&evs);
	parse("x3-resync.json", &evs);
	ck_assert_ptr_null(evs.next);
	ck_assert_str_eq(evs.resync, "/ucwa/oauth/v1/applications/105/events?ack=12");
	ucwa_events_free(&evs);
	parse("x4-resume.json", &evs);
	ck_assert_ptr_null(evs.next);
	ck_assert_ptr_nonnull(evs.resume);
	ucwa_events_free(&evs);
	parse("30-events-ack1-me-and-communication-after-makeMeAvailable.json", &evs);
	ck_assert_uint_eq(evs.n, 0); /* me, presence, communication: nothing for IM */
	ucwa_events_free(&evs);
}
END_TEST

START_TEST(test_html_message_and_failed_delivery)
{
	struct ucwa_events evs;

	parse("x5-message-html-and-failed-delivery.json", &evs);
	ck_assert_uint_eq(evs.n, 2);
	/* the HTML as sent, flagged: xlate_text_in reduces it when the rules say so */
	ck_assert_str_eq(evs.v[0].text,
	    "<span style=\"font-size:10pt;font-family:Segoe UI;\">"
	    "Fish &amp; chips<br>2 &lt; 3</span>\r\n");
	ck_assert_int_eq(evs.v[0].text_html, 1);
	ck_assert_str_eq(evs.v[1].status, "Failure");
	ck_assert_str_eq(evs.v[1].operation_id, "m-8");
	ck_assert_ptr_nonnull(strstr(evs.v[1].failed_delivery, "participants/lenea@contoso.com"));
	ck_assert_str_eq(evs.v[1].reason_subcode, "Unreachable");
	ucwa_events_free(&evs);
	parse("58-ref-event-message-started.json", &evs);
	ck_assert_int_eq(evs.v[0].type, UCWA_STARTED);
	ck_assert_int_eq(evs.v[0].embedded, 0);
	ucwa_events_free(&evs);
}
END_TEST

/* A response with one incoming message whose _links has the given members. */
static void
parse_links(const char *links, struct ucwa_events *evs)
{
	char body[2048], err[256];

	snprintf(body, sizeof(body),
	    "{\"_links\":{\"next\":{\"href\":\"/n\"}},\"sender\":[{\"rel\":\"conversation\","
	    "\"href\":\"/c\",\"events\":[{\"link\":{\"rel\":\"message\",\"href\":\"/c/m/1\"},"
	    "\"type\":\"completed\",\"status\":\"Success\",\"_embedded\":{\"message\":{"
	    "\"direction\":\"Incoming\",\"_links\":{%s}}}}]}]}",
	    links);
	ck_assert_msg(ucwa_events_parse(body, strlen(body), evs, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(evs->n, 1);
}

/* Both renditions (as message_ref's sample has): the HTML as written wins; a
 * malformed one gives way to the other; none readable flags text_bad. */
START_TEST(test_html_wins_over_plain)
{
	static const struct {
		const char *links, *text;
		int html, bad;
	} cases[] = {
		{ "\"plainMessage\":{\"href\":\"data:text/plain;charset=utf-8,a+%26+b%0d%0a\"},"
		  "\"htmlMessage\":{\"href\":\"data:text/html;base64,PGI+YSAmYW1wOyBiPC9iPg0K\"}",
		    "<b>a &amp; b</b>\r\n", 1, 0 },
		{ "\"htmlMessage\":{\"href\":\"data:text/html,bad%zz\"},"
		  "\"plainMessage\":{\"href\":\"data:text/plain,a+%26+b\"}",
		    "a & b", 0, 0 },
		{ "\"htmlMessage\":{\"href\":\"data:text/html,bad%zz\"}", NULL, 0, 1 },
	};
	struct ucwa_events evs;

	for (size_t i = 0; i < nitems(cases); i++) {
		parse_links(cases[i].links, &evs);
		if (cases[i].text == NULL)
			ck_assert_ptr_null(evs.v[0].text);
		else
			ck_assert_str_eq(evs.v[0].text, cases[i].text);
		ck_assert_int_eq(evs.v[0].text_html, cases[i].html);
		ck_assert_int_eq(evs.v[0].text_bad, cases[i].bad);
		ucwa_events_free(&evs);
	}
}
END_TEST

START_TEST(test_malformed_refused)
{
	struct ucwa_events evs;
	char err[256];
	const char *bad[] = {
		"",
		"{",
		"{\"sender\":[]}", /* no next/resync/resume */
		"[1]",
		"{\"_links\":{\"next\":\"/n\"},\"sender\":[]}",
	};

	for (size_t i = 0; i < nitems(bad); i++) {
		ck_assert_msg(
		    ucwa_events_parse(bad[i], strlen(bad[i]), &evs, err, sizeof(err)) == -1,
		    "accepted: %s", bad[i]);
		ck_assert(err[0] != '\0');
	}
}
END_TEST

/* A bad event costs that event, never the response: kinds nobody uses are
 * skipped unread, unusable ones of a used kind (or of no kind) reported. */
START_TEST(test_bad_events_skipped)
{
	struct ucwa_events evs;
	char err[256];
	const char *body =
	    "{\"_links\":{\"next\":{\"href\":\"/e?ack=3\"}},\"sender\":["
	    "{\"rel\":\"me\",\"href\":\"/a/me\",\"events\":[{\"link\":{\"rel\":\"me\"},"
	    "\"type\":\"updated\"},{\"link\":{\"rel\":\"people\",\"href\":7}},\"not an event\"]},"
	    "{\"rel\":\"simFuture\",\"href\":\"/a/f\",\"events\":17},"
	    "{\"rel\":\"conversation\",\"href\":\"/a/c/1\",\"events\":["
	    "{\"link\":{\"rel\":\"message\",\"href\":\"/a/c/1/m/2\"},\"type\":\"exploded\"},"
	    "{\"link\":{\"rel\":\"messaging\"},\"type\":\"updated\"},"
	    "{\"link\":{\"rel\":\"messaging\",\"href\":\"/a/c/1/messaging\"},"
	    "\"type\":\"updated\",\"_embedded\":{\"messaging\":{\"state\":\"Connected\"}}}]}]}";

	ck_assert_msg(
	    ucwa_events_parse(body, strlen(body), &evs, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(evs.next, "/e?ack=3");
	ck_assert_uint_eq(evs.n, 1);
	ck_assert_int_eq(evs.v[0].kind, UCWA_MESSAGING);
	ck_assert_str_eq(evs.v[0].state, "Connected");
	ck_assert_uint_eq(evs.nbad, 3);
	ck_assert_uint_eq(evs.nbad_total, 3);
	ck_assert_int_eq(evs.bad[0].kind, -1); /* "not an event" */
	ck_assert_str_eq(evs.bad[0].sender_rel, "me");
	ck_assert_int_eq(evs.bad[1].kind, UCWA_MESSAGE);
	ck_assert_str_eq(evs.bad[1].href, "/a/c/1/m/2");
	ck_assert_str_eq(evs.bad[1].conversation, "/a/c/1");
	ck_assert_int_eq(evs.bad[2].kind, UCWA_MESSAGING);
	ck_assert_ptr_null(evs.bad[2].href);
	ucwa_events_free(&evs);
}
END_TEST

/* Parse body as a resource of kind k into evs (one change). */
static const struct ucwa_change *
resource(const char *body, enum ucwa_kind k, struct ucwa_events *evs)
{
	char err[256];

	ck_assert_msg(
	    ucwa_resource_parse(body, strlen(body), k, "/r", evs, err, sizeof err) == 0, "%s", err);
	ck_assert_uint_eq(evs->n, 1);
	return &evs->v[0];
}

/* Each property and link of a resource lands in its own field (the names are looked for
 * in an order of their own: the fields must follow it). */
START_TEST(test_every_property_and_link_to_its_field)
{
	static const char inv[] =
	    "{\"state\":\"p-state\",\"direction\":\"p-dir\",\"operationId\":\"p-op\","
	    "\"subject\":\"p-subj\",\"importance\":\"p-imp\",\"threadId\":\"p-thr\","
	    "\"timeStamp\":\"p-ts\",\"_links\":{\"self\":{\"href\":\"l-self\"},"
	    "\"messaging\":{\"href\":\"l-msging\"},\"to\":{\"href\":\"l-to\"},"
	    "\"accept\":{\"href\":\"l-acc\"},\"decline\":{\"href\":\"l-dec\"},"
	    "\"cancel\":{\"href\":\"l-can\"},\"sendMessage\":{\"href\":\"l-send\"},"
	    "\"stopMessaging\":{\"href\":\"l-stop\"},\"setIsTyping\":{\"href\":\"l-typ\"},"
	    "\"participant\":{\"href\":\"l-part\",\"title\":\"t-part\"},"
	    "\"failedDeliveryParticipant\":[{\"href\":\"l-fail\"}],"
	    "\"conversation\":{\"href\":\"l-conv\"},"
	    "\"message\":{\"href\":\"data:text/plain,inv-text\"}},"
	    "\"_embedded\":{\"from\":{\"uri\":\"f-uri\",\"name\":\"f-name\"}}}";
	static const char msg[] =
	    "{\"_links\":{\"htmlMessage\":{\"href\":\"data:text/html,<b>h</b>\"},"
	    "\"plainMessage\":{\"href\":\"data:text/plain,p\"}}}";
	static const char part[] = "{\"uri\":\"p-uri\",\"name\":\"p-name\"}";
	struct ucwa_events evs;
	const struct ucwa_change *c = resource(inv, UCWA_INVITATION, &evs);

	ck_assert_str_eq(c->state, "p-state");
	ck_assert_str_eq(c->direction, "p-dir");
	ck_assert_str_eq(c->operation_id, "p-op");
	ck_assert_str_eq(c->subject, "p-subj");
	ck_assert_str_eq(c->importance, "p-imp");
	ck_assert_str_eq(c->thread_id, "p-thr");
	ck_assert_str_eq(c->timestamp, "p-ts");
	ck_assert_str_eq(c->self, "l-self");
	ck_assert_str_eq(c->messaging, "l-msging");
	ck_assert_str_eq(c->to, "l-to");
	ck_assert_str_eq(c->accept, "l-acc");
	ck_assert_str_eq(c->decline, "l-dec");
	ck_assert_str_eq(c->cancel, "l-can");
	ck_assert_str_eq(c->send_message, "l-send");
	ck_assert_str_eq(c->stop_messaging, "l-stop");
	ck_assert_str_eq(c->set_is_typing, "l-typ");
	ck_assert_str_eq(c->participant, "l-part");
	ck_assert_str_eq(c->participant_name, "t-part");
	ck_assert_str_eq(c->failed_delivery, "l-fail");
	ck_assert_str_eq(c->conversation, "l-conv");
	ck_assert_str_eq(c->text, "inv-text");
	ck_assert_str_eq(c->from_uri, "f-uri");
	ck_assert_str_eq(c->from_name, "f-name");
	ucwa_events_free(&evs);

	c = resource(msg, UCWA_MESSAGE, &evs);
	ck_assert_str_eq(c->text, "<b>h</b>");
	ck_assert_int_eq(c->text_html, 1);
	ck_assert_str_eq(c->alt_text, "p");
	ucwa_events_free(&evs);

	c = resource(part, UCWA_PARTICIPANT, &evs);
	ck_assert_str_eq(c->from_uri, "p-uri");
	ck_assert_str_eq(c->from_name, "p-name");
	ucwa_events_free(&evs);
}
END_TEST

/* At most 4096 changes are kept from one response; the rest are reported (once counted). */
START_TEST(test_changes_bounded)
{
	struct ucwa_events evs;
	char err[256];
	struct buf b;

	for (int n = 4095; n <= 4097; n++) {
		buf_init(&b);
		buf_addstr(&b,
		    "{\"_links\":{\"next\":{\"href\":\"/n\"}},\"sender\":[{\"rel\":"
		    "\"conversation\",\"href\":\"/c\",\"events\":[");
		for (int i = 0; i < n; i++)
			buf_printf(&b,
			    "%s{\"link\":{\"rel\":\"message\",\"href\":\"/m%d\"},"
			    "\"type\":\"added\"}",
			    i ? "," : "", i);
		buf_addstr(&b, "]}]}");
		ck_assert_msg(
		    ucwa_events_parse(b.data, b.len, &evs, err, sizeof err) == 0, "%s", err);
		ck_assert_uint_eq(evs.n, n < 4096 ? (size_t)n : 4096);
		ck_assert_uint_eq(evs.nbad_total, n > 4096 ? (size_t)(n - 4096) : 0);
		ck_assert_str_eq(evs.v[evs.n - 1].conversation, "/c");
		if (n > 4096)
			ck_assert_str_eq(evs.bad[0].why, "too many events in one response");
		ucwa_events_free(&evs);
		buf_free(&b);
	}
}
END_TEST

static Suite *
ucwa_event_suite(void)
{
	Suite *s = suite_create("ucwa_event");

	UNIT_ADD(s, test_datauri_decode_forms);
	UNIT_ADD(s, test_datauri_encode_roundtrip);
	UNIT_ADD(s, test_outgoing_started_ack2);
	UNIT_ADD(s, test_outgoing_connected_ack3);
	UNIT_ADD(s, test_outgoing_message_completed);
	UNIT_ADD(s, test_incoming_invitation_with_preview);
	UNIT_ADD(s, test_incoming_accepted_and_message);
	UNIT_ADD(s, test_field_capture_message_and_typing);
	UNIT_ADD(s, test_failure_reason_and_repeated_sender);
	UNIT_ADD(s, test_empty_sender_resync_resume);
	UNIT_ADD(s, test_html_message_and_failed_delivery);
	UNIT_ADD(s, test_html_wins_over_plain);
	UNIT_ADD(s, test_malformed_refused);
	UNIT_ADD(s, test_bad_events_skipped);
	UNIT_ADD(s, test_every_property_and_link_to_its_field);
	UNIT_ADD(s, test_changes_bounded);
	return s;
}

UNIT_MAIN(ucwa_event_suite)
