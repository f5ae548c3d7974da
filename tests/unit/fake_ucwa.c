/*
 * fake_ucwa.c: the in-process UCWA server of the ucwa.c unit tests (see
 * fake_ucwa.h). Resources and events follow the shapes of the published
 * UCWA samples; hrefs are host-relative except the applications link.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "datauri.h"
#include "fake_ucwa.h"
#include "json.h"

static void
fake_json(struct http_req *req, int status, const char *body)
{
	http_req_reply(req, status, "application/json; charset=utf-8", body, strlen(body));
}

static void
fake_error(struct http_req *req, int status, const char *code, const char *subcode)
{
	char b[256];

	snprintf(b, sizeof(b), "{\"code\":\"%s\",\"subcode\":\"%s\",\"message\":\"fake\"}", code,
	    subcode);
	fake_json(req, status, b);
}

/* 401 with both challenges and an IIS-like HTML body. */
static void
fake_challenge(struct fake *f, struct http_req *req)
{
	char h[256];
	const char *html = "<html><body>401 - Unauthorized</body></html>";

	http_req_add_header(req, "WWW-Authenticate",
	    "Bearer trusted_issuers=\"\", client_id=\"00000004-0000-0ff1-ce00-000000000000\"");
	snprintf(h, sizeof(h),
	    f->quoted_href
		? "MsRtcOAuth href=\"%s/oauth\",grant_type=\"urn:microsoft.rtc:windows,password\""
		: "MsRtcOAuth href=%s/oauth,grant_type=\"urn:microsoft.rtc:windows,password\"",
	    f->url);
	http_req_add_header(req, "WWW-Authenticate", h);
	http_req_reply(req, 401, "text/html", html, strlen(html));
}

static int
fake_bearer_ok(struct fake *f, struct http_req *req)
{
	const char *h = http_req_header(req, "Authorization");
	char want[80];

	snprintf(want, sizeof(want), "Bearer %s", f->token);
	return h != NULL && f->token_n > 0 && !f->token_expired && strcmp(h, want) == 0;
}

/* POST /oauth: the password grant. */
static void
fake_token(struct fake *f, struct http_req *req)
{
	size_t len;
	const char *body = http_req_body(req, &len);
	char want[128], out[256];

	snprintf(want, sizeof(want),
	    "grant_type=password&username=alice%%40contoso.com&"
	    "password=%s",
	    f->password);
	if (len != strlen(want) || memcmp(body, want, len) != 0) {
		fake_json(req, 400, "{\"error\":\"invalid_grant\"}");
		return;
	}
	f->token_n++;
	f->token_expired = 0;
	snprintf(f->token, sizeof(f->token), "cwt=TOKEN%d", f->token_n);
	snprintf(out, sizeof(out),
	    "{\"access_token\":\"%s\",\"expires_in\":%ld,"
	    "\"ms_rtc_identityscope\":\"local\",\"token_type\":\"Bearer\"}",
	    f->token, f->expires_in);
	http_req_add_header(req, "Cache-Control", "no-store");
	fake_json(req, 200, out);
}

/* The application resource (with_activity 2: available, reportMyActivity only, sample 11). */
static void
fake_app_json(struct fake *f, struct buf *b, int with_activity)
{
	int n = f->app_n;

	buf_printf(b,
	    "{\"culture\":\"en-US\",\"userAgent\":\"t\",\"rel\":\"application\","
	    "\"_links\":{\"self\":{\"href\":\"/apps/%d\"},\"events\":{\"href\":\"/apps/%d/"
	    "events?ack=1\"}},"
	    "\"_embedded\":{\"me\":{\"name\":\"Alice\",\"uri\":\"sip:alice@contoso.com\",\"_"
	    "links\":"
	    "{\"self\":{\"href\":\"/apps/%d/me\"}",
	    n, n, n);
	if (with_activity != 2)
		buf_printf(b, ",\"makeMeAvailable\":{\"href\":\"/apps/%d/me/mma\"}", n);
	if (with_activity)
		buf_printf(b, ",\"reportMyActivity\":{\"href\":\"/apps/%d/me/activity\"}", n);
	buf_printf(b,
	    "},\"rel\":\"me\"},\"communication\":{\"supportedModalities\":[],\"_links\":"
	    "{\"self\":{\"href\":\"/apps/%d/communication\"},\"startMessaging\":{\"href\":"
	    "\"/apps/%d/communication/messagingInvitations\"},\"conversations\":{\"href\":"
	    "\"/apps/%d/communication/conversations?filter=active\"}},\"rel\":\"communication\"}}}",
	    n, n, n);
}

/* Answer the parked P-GET with the pending senders. */
static void
fake_answer_pget(struct fake *f)
{
	struct http_req *req = f->pget;
	int n = f->app_n;

	f->pget = NULL;
	buf_reset(&f->last);
	if (f->resume_next) {
		f->resume_next = 0;
		buf_printf(&f->last,
		    "{\"_links\":{\"self\":{\"href\":\"/apps/%d/events?ack=%d\"},"
		    "\"resume\":{\"href\":\"/apps/%d/events?ack=%d\"}},\"sender\":[]}",
		    n, f->ack, n, f->ack + 1);
	} else
		buf_printf(&f->last,
		    "{\"_links\":{\"self\":{\"href\":\"/apps/%d/events?ack=%d\"},"
		    "\"next\":{\"href\":\"/apps/%d/events?ack=%d\"}},\"sender\":[%s]}",
		    n, f->ack, n, f->ack + 1, f->pending.data);
	f->ack++;
	buf_reset(&f->pending);
	fake_json(req, 200, f->last.data);
}

static void
fake_pget_abort(struct http_req *req, void *arg)
{
	struct fake *f = arg;

	if (f->pget == req)
		f->pget = NULL;
}

/* GET events?ack=K. */
static void
fake_events(struct fake *f, struct http_req *req)
{
	struct buf ack;
	int k;
	char b[256];

	buf_init(&ack);
	http_req_query_param(req, "ack", &ack);
	k = atoi(ack.data);
	buf_free(&ack);
	f->pget_n++;
	snprintf(f->last_pget_target, sizeof(f->last_pget_target), "%s", http_req_target(req));
	if (strstr(http_req_target(req), "timeout=") != NULL)
		f->pget_with_timeout++;
	if (f->pget_status_next) {
		int st = f->pget_status_next;

		f->pget_status_next = 0;
		fake_error(req, st, "ServiceFailure", "None");
		return;
	}
	if (f->pget != NULL) {
		f->pget_409_n++;
		fake_error(f->pget, 409, "Conflict", "PGetReplaced");
		f->pget = NULL;
	}
	if (k == f->ack - 1 && f->last.len > 0) {
		fake_json(req, 200, f->last.data); /* the same set again */
		return;
	}
	if (k != f->ack || f->resync_next) {
		f->resync_next = 0;
		snprintf(b, sizeof(b),
		    "{\"_links\":{\"self\":{\"href\":\"/apps/%d/events?ack=%d\"},"
		    "\"resync\":{\"href\":\"/apps/%d/events?ack=%d\"}}}",
		    f->app_n, k, f->app_n, f->ack);
		fake_json(req, 200, b);
		return;
	}
	f->pget = req;
	http_req_set_abort(req, fake_pget_abort, f);
	if (f->pending.len > 0 || f->resume_next)
		fake_answer_pget(f);
}

void
fake_push(struct fake *f, const char *sender)
{
	if (f->pending.len > 0)
		buf_addch(&f->pending, ',');
	buf_addstr(&f->pending, sender);
	if (f->pget != NULL)
		fake_answer_pget(f);
}

void
fake_flush(struct fake *f)
{
	if (f->pget != NULL)
		fake_answer_pget(f);
}

void
fake_kill_app(struct fake *f)
{
	f->app_alive = 0;
	if (f->pget != NULL) {
		struct http_req *req = f->pget;

		f->pget = NULL;
		fake_error(req, 404, "NotFound", "ApplicationNotFound");
	}
}

/* Events of a conversation's messaging resource. */
static void
fake_messaging_sender(struct fake *f, struct buf *b, int conv, const char *state)
{
	int n = f->app_n;

	buf_printf(b,
	    "{\"rel\":\"conversation\",\"href\":\"/apps/%d/conversations/c%d\",\"events\":"
	    "[{\"link\":{\"rel\":\"messaging\",\"href\":\"/apps/%d/conversations/c%d/messaging\"},"
	    "\"_embedded\":{\"messaging\":{\"state\":\"%s\",\"_links\":{\"self\":{\"href\":"
	    "\"/apps/%d/conversations/c%d/messaging\"}",
	    n, conv, n, conv, state, n, conv);
	if (strcmp(state, "Disconnected") != 0)
		buf_printf(b, ",\"stopMessaging\":{\"href\":\"/apps/%d/conversations/c%d/stop\"}",
		    n, conv);
	if (strcmp(state, "Connected") == 0)
		buf_printf(b, ",\"sendMessage\":{\"href\":\"/apps/%d/conversations/c%d/messages\"}",
		    n, conv);
	buf_addstr(b, "},\"rel\":\"messaging\"}},\"type\":\"updated\"}]}");
}

static void
fake_conversation_sender(
    struct fake *f, struct buf *b, int conv, const char *type, const char *state)
{
	int n = f->app_n;

	buf_printf(b,
	    "{\"rel\":\"communication\",\"href\":\"/apps/%d/communication\",\"events\":"
	    "[{\"link\":{\"rel\":\"conversation\",\"href\":\"/apps/%d/conversations/c%d\"}",
	    n, n, conv);
	if (state != NULL)
		buf_printf(b,
		    ",\"_embedded\":{\"conversation\":{\"state\":\"%s\",\"_links\":{\"self\":"
		    "{\"href\":\"/apps/%d/conversations/c%d\"}},\"rel\":\"conversation\"}}",
		    state, n, conv);
	buf_printf(b, ",\"type\":\"%s\"}]}", type);
}

static void
fake_invitation_sender(struct fake *f, struct buf *b, int conv, const char *type, const char *dir,
    const char *opid, const char *extra, const char *status)
{
	int n = f->app_n;

	buf_printf(b,
	    "{\"rel\":\"communication\",\"href\":\"/apps/%d/communication\",\"events\":"
	    "[{\"link\":{\"rel\":\"messagingInvitation\",\"href\":\"/apps/%d/invitations/i%d\"},",
	    n, n, conv);
	if (status != NULL)
		buf_printf(b, "\"status\":\"%s\",", status);
	buf_printf(b,
	    "\"_embedded\":{\"messagingInvitation\":{\"direction\":\"%s\",\"state\":"
	    "\"%s\",\"importance\":\"Normal\"",
	    dir, status ? "Connected" : "Connecting");
	if (opid != NULL)
		buf_printf(b, ",\"operationId\":\"%s\"", opid);
	buf_printf(b,
	    ",\"_links\":{\"self\":{\"href\":\"/apps/%d/invitations/i%d\"},"
	    "\"conversation\":{\"href\":\"/apps/%d/conversations/c%d\"},\"messaging\":{\"href\":"
	    "\"/apps/%d/conversations/c%d/messaging\"}%s},",
	    n, conv, n, conv, n, conv, extra ? extra : "");
	if (strcmp(dir, "Incoming") == 0)
		buf_addstr(b,
		    "\"_embedded\":{\"from\":{\"name\":\"Bob\",\"uri\":\"sip:bob@contoso.com\","
		    "\"rel\":\"participant\"}},");
	buf_printf(b, "\"rel\":\"messagingInvitation\"}},\"type\":\"%s\"}]}", type);
}

/* The invitation was accepted (by the remote, or by us): connected events. */
static void
fake_connected(struct fake *f, int conv, const char *dir, const char *opid)
{
	struct buf b;

	buf_init(&b);
	fake_messaging_sender(f, &b, conv, "Connected");
	buf_addch(&b, ',');
	fake_conversation_sender(f, &b, conv, "updated", "Connected");
	buf_addch(&b, ',');
	fake_invitation_sender(f, &b, conv, "completed", dir, opid, NULL, "Success");
	fake_push(f, b.data);
	buf_free(&b);
}

static void
fake_mma_abort(struct http_req *req, void *arg)
{
	((struct fake *)arg)->held_mma = NULL;
}

/* Answer the held makeMeAvailable. */
void
fake_release_mma(struct fake *f, int status)
{
	struct http_req *req = f->held_mma;

	if (req == NULL)
		return;
	f->held_mma = NULL;
	http_req_set_abort(req, NULL, NULL);
	if (status == 404)
		fake_error(req, 404, "NotFound", "ApplicationNotFound");
	else
		http_req_reply(req, 204, NULL, "", 0);
}

static void
fake_201_abort(struct http_req *req, void *arg)
{
	((struct fake *)arg)->held_201 = NULL;
}

static void
fake_201_fire(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;

	if (f->held_201 == NULL)
		return;
	if (f->held_app != f->app_n || !f->app_alive) /* its application is gone meanwhile */
		fake_error(f->held_201, 404, "NotFound", "ApplicationNotFound");
	else {
		http_req_add_header(f->held_201, "Location", f->held_location);
		http_req_reply(f->held_201, 201, NULL, "", 0);
	}
	f->held_201 = NULL;
}

/* POST startMessaging. */
static void
fake_start_messaging(struct fake *f, struct http_req *req)
{
	size_t len;
	const char *body = http_req_body(req, &len);
	struct json_doc *d = json_parse(body, len, NULL, NULL);
	const char *opid = d ? json_get_str(json_root(d), "operationId") : NULL;
	int conv = ++f->conv_n;
	struct buf b;
	char cancel[128];

	buf_init(&b);
	snprintf(cancel, sizeof(cancel),
	    ",\"cancel\":{\"href\":\"/apps/%d/invitations/i%d/cancel\"}", f->app_n, conv);
	fake_invitation_sender(f, &b, conv, "started", "Outgoing", opid, cancel, NULL);
	buf_addch(&b, ',');
	fake_conversation_sender(f, &b, conv, "added", "Connecting");
	buf_addch(&b, ',');
	fake_messaging_sender(f, &b, conv, "Connecting");
	snprintf(
	    f->held_location, sizeof(f->held_location), "/apps/%d/invitations/i%d", f->app_n, conv);
	if (f->delay_201) {
		struct timeval tv = { 0, 100000 };

		fake_push(f, b.data); /* the events beat the 201 */
		f->held_201 = req;
		f->held_app = f->app_n;
		http_req_set_abort(req, fake_201_abort, f);
		evtimer_add(f->timer_201, &tv);
	} else {
		http_req_add_header(req, "Location", f->held_location);
		http_req_reply(req, 201, NULL, "", 0);
		fake_push(f, b.data);
	}
	if (f->auto_connect)
		fake_connected(f, conv, "Outgoing", opid);
	buf_free(&b);
	json_doc_free(d);
}

struct fake_sent {
	struct fake *f;
	struct http_req *req;
	int conv, n;
	char opid[64];
};

/* The deferred 201 of a sendMessage, then its completed event. */
static void
fake_sent_fire(evutil_socket_t fd, short what, void *arg)
{
	struct fake_sent *s = arg;
	struct fake *f = s->f;
	char loc[128];
	struct buf b;

	if (s->req == NULL) { /* the client went away */
		f->send_inflight--;
		free(s);
		return;
	}
	snprintf(
	    loc, sizeof(loc), "/apps/%d/conversations/c%d/messages/%d", f->app_n, s->conv, s->n);
	http_req_add_header(s->req, "Location", loc);
	http_req_reply(s->req, 201, NULL, "", 0);
	f->send_inflight--;
	buf_init(&b);
	buf_printf(&b,
	    "{\"rel\":\"conversation\",\"href\":\"/apps/%d/conversations/c%d\","
	    "\"events\":[{\"link\":{\"rel\":\"message\",\"href\":\"%s\"},\"status\":\"Success\","
	    "\"_embedded\":{\"message\":{\"direction\":\"Outgoing\",%s%s%s"
	    "\"_links\":{\"self\":{\"href\":\"%s\"}},\"rel\":\"message\"}},\"type\":\"completed\"}]"
	    "}",
	    f->app_n, s->conv, loc, f->no_opid_echo ? "" : "\"operationId\":\"",
	    f->no_opid_echo ? "" : s->opid, f->no_opid_echo ? "" : "\",", loc);
	fake_push(f, b.data);
	buf_free(&b);
	free(s);
}

static void
fake_sent_abort(struct http_req *req, void *arg)
{
	((struct fake_sent *)arg)->req = NULL;
}

/* POST .../messages?operationId=: the text is the body. */
static void
fake_send_message(struct fake *f, struct http_req *req, int conv)
{
	size_t len;
	const char *body = http_req_body(req, &len);
	struct fake_sent *s;
	struct buf op;
	struct timeval tv = { 0, 2000 };

	if (f->cmd_fault) {
		int st = f->cmd_fault;

		f->cmd_fault = 0;
		if (f->cmd_fault_html) {
			const char *h = "<html><body><h1>Bad gateway</h1></body></html>";

			http_req_reply(req, st, "text/html", h, strlen(h));
		} else if (st == 429)
			fake_error(req, st, "TooManyRequests", "None");
		else if (st == 500)
			fake_error(req, st, "ServiceFailure", "CallbackChannelError");
		else
			fake_error(
			    req, st, st == 504 ? "GatewayTimeout" : "ServiceUnavailable", "None");
		return;
	}
	if (f->msg_n < FAKE_MAX_MSGS)
		f->msgs[f->msg_n] = xstrndup(body, len);
	f->msg_n++;
	if (f->cmd_drop) {
		f->cmd_drop = 0;
		http_req_reset(req); /* taken (maybe delivered), never answered */
		return;
	}
	if (++f->send_inflight > 1)
		f->send_overlap++;
	s = xcalloc(1, sizeof(*s));
	s->f = f;
	s->req = req;
	http_req_set_abort(req, fake_sent_abort, s);
	s->conv = conv;
	s->n = f->msg_n + 1;
	buf_init(&op);
	http_req_query_param(req, "operationId", &op);
	snprintf(s->opid, sizeof(s->opid), "%s", op.data);
	buf_free(&op);
	event_base_once(f->base, -1, EV_TIMEOUT, fake_sent_fire, s, &tv);
}

void
fake_incoming(struct fake *f, const char *text)
{
	int conv = ++f->conv_n;
	struct buf b, uri;
	char extra[1024];

	buf_init(&b);
	buf_init(&uri);
	snprintf(f->incoming_text, sizeof(f->incoming_text), "%s", text);
	datauri_encode(&uri, "text/plain", text, strlen(text), 0);
	snprintf(extra, sizeof(extra),
	    ",\"accept\":{\"href\":\"/apps/%d/invitations/i%d/accept\"},"
	    "\"decline\":{\"href\":\"/apps/%d/invitations/i%d/decline\"},\"message\":{\"href\":"
	    "\"%s\"}",
	    f->app_n, conv, f->app_n, conv, uri.data);
	fake_invitation_sender(f, &b, conv, "started", "Incoming", NULL, extra, NULL);
	buf_addch(&b, ',');
	fake_conversation_sender(f, &b, conv, "added", "Incoming");
	fake_push(f, b.data);
	buf_free(&b);
	buf_free(&uri);
}

/* POST accept: connected, then (unless told not to) the first message again. */
static void
fake_accept(struct fake *f, struct http_req *req, int conv)
{
	f->accept_n++;
	http_req_reply(req, 204, NULL, "", 0);
	fake_connected(f, conv, "Incoming", NULL);
	if (f->incoming_no_message)
		return;
	fake_incoming_message(f, conv, NULL);
	/* and the same message event again (a replay must not show it twice) */
	fake_incoming_message(f, conv, NULL);
}

/* The event of the first incoming message (plain, and html too when given). */
void
fake_incoming_message(struct fake *f, int conv, const char *html)
{
	struct buf b, uri;

	buf_init(&b);
	buf_init(&uri);
	buf_printf(&b,
	    "{\"rel\":\"conversation\",\"href\":\"/apps/%d/conversations/c%d\","
	    "\"events\":[{\"link\":{\"rel\":\"message\",\"href\":\"/apps/%d/conversations/c%d/"
	    "messages/1\"},\"status\":\"Success\",\"_embedded\":{\"message\":{\"direction\":"
	    "\"Incoming\",\"_links\":{\"self\":{\"href\":\"/apps/%d/conversations/c%d/messages/"
	    "1\"},",
	    f->app_n, conv, f->app_n, conv, f->app_n, conv);
	if (html != NULL) {
		datauri_encode(&uri, "text/html", html, strlen(html), 0);
		buf_printf(&b, "\"htmlMessage\":{\"href\":\"%s\"},", uri.data);
		buf_reset(&uri);
	}
	datauri_encode(&uri, "text/plain", f->incoming_text, strlen(f->incoming_text), 0);
	buf_printf(&b,
	    "\"plainMessage\":{\"href\":\"%s%%0d%%0a\"}},\"rel\":\"message\"}},\"type\":"
	    "\"completed\"}]}",
	    uri.data);
	fake_push(f, b.data);
	buf_free(&b);
	buf_free(&uri);
}

/* Messaging and conversation end. */
static void
fake_ended(struct fake *f, int conv)
{
	struct buf b;

	buf_init(&b);
	fake_messaging_sender(f, &b, conv, "Disconnected");
	buf_addch(&b, ',');
	fake_conversation_sender(f, &b, conv, "deleted", NULL);
	fake_push(f, b.data);
	buf_free(&b);
}

/* Requests on /apps/N/... */
/* GET of a conversation or its messaging: Connected, or 404 once it is gone. */
static void
fake_get_conversation(struct fake *f, struct http_req *req, int conv, int messaging)
{
	struct buf b;
	int n = f->app_n;

	f->conv_gets++;
	if (f->conv_gone) {
		fake_error(req, 404, "NotFound", "ResourceNotFound");
		return;
	}
	buf_init(&b);
	if (messaging)
		buf_printf(&b,
		    "{\"state\":\"Connected\",\"_links\":{\"self\":{\"href\":\"/apps/%d/"
		    "conversations/c%d/messaging\"},\"sendMessage\":{\"href\":\"/apps/%d/"
		    "conversations/c%d/messages\"},\"stopMessaging\":{\"href\":\"/apps/%d/"
		    "conversations/c%d/stop\"}},\"rel\":\"messaging\"}",
		    n, conv, n, conv, n, conv);
	else
		buf_printf(&b,
		    "{\"state\":\"Connected\",\"_links\":{\"self\":{\"href\":\"/apps/%d/"
		    "conversations/c%d\"},\"messaging\":{\"href\":\"/apps/%d/conversations/c%d/"
		    "messaging\"}},\"rel\":\"conversation\"}",
		    n, conv, n, conv);
	fake_json(req, 200, b.data);
	buf_free(&b);
}

static void
fake_app_req(struct fake *f, struct http_req *req, const char *m, const char *rest)
{
	int conv = 0;
	struct buf b;

	if (strcmp(rest, "") == 0 && strcmp(m, "GET") == 0) {
		buf_init(&b);
		fake_app_json(f, &b, f->app_reuse ? 2 : f->mma_n > 0);
		fake_json(req, 200, b.data);
		buf_free(&b);
	} else if (strcmp(rest, "/communication/conversations") == 0 && strcmp(m, "GET") == 0) {
		f->convs_listed++;
		buf_init(&b);
		buf_addstr(&b, "{\"_embedded\":{\"conversation\":[");
		if (f->live_conv > 0)
			buf_printf(&b,
			    "{\"state\":\"Connected\",\"_links\":{\"self\":{\"href\":"
			    "\"/apps/%d/conversations/c%d\"}},\"rel\":\"conversation\"}",
			    f->app_n, f->live_conv);
		buf_addstr(&b, "]},\"rel\":\"conversations\"}");
		fake_json(req, 200, b.data);
		buf_free(&b);
	} else if (strcmp(rest, "") == 0 && strcmp(m, "DELETE") == 0) {
		f->app_deleted++;
		f->app_alive = 0;
		http_req_reply(req, 204, NULL, "", 0);
	} else if (strcmp(rest, "/me/mma") == 0) {
		f->mma_n++;
		if (f->hold_mma && f->held_mma == NULL) {
			f->hold_mma = 0;
			f->held_mma = req;
			http_req_set_abort(req, fake_mma_abort, f);
		} else
			http_req_reply(req, 204, NULL, "", 0);
	} else if (strcmp(rest, "/me/activity") == 0) {
		f->activity_n++;
		http_req_reply(req, 204, NULL, "", 0);
	} else if (strcmp(rest, "/events") == 0)
		fake_events(f, req);
	else if (strcmp(rest, "/communication/messagingInvitations") == 0)
		fake_start_messaging(f, req);
	else if (sscanf(rest, "/conversations/c%d", &conv) == 1 && strstr(rest, "/messages"))
		fake_send_message(f, req, conv);
	else if (sscanf(rest, "/conversations/c%d", &conv) == 1 && strcmp(m, "GET") == 0)
		fake_get_conversation(f, req, conv, strstr(rest, "/messaging") != NULL);
	else if (sscanf(rest, "/conversations/c%d", &conv) == 1 && strstr(rest, "/stop")) {
		f->stop_n++;
		http_req_reply(req, 204, NULL, "", 0);
		fake_ended(f, conv);
	} else if (sscanf(rest, "/conversations/c%d", &conv) == 1 && strcmp(m, "DELETE") == 0) {
		f->conv_deleted++;
		http_req_reply(req, 204, NULL, "", 0);
		fake_ended(f, conv);
	} else if (sscanf(rest, "/invitations/i%d", &conv) == 1 && strstr(rest, "/accept"))
		fake_accept(f, req, conv);
	else if (sscanf(rest, "/invitations/i%d", &conv) == 1 && strstr(rest, "/decline")) {
		f->decline_n++;
		http_req_reply(req, 204, NULL, "", 0);
		fake_ended(f, conv);
	} else
		fake_error(req, 404, "NotFound", "ResourceNotFound");
}

static void
fake_handler(struct http_req *req, void *arg)
{
	struct fake *f = arg;
	const char *p = http_req_path(req), *m = http_req_method(req);
	char b[512];
	int n, off = 0;

	if (strcmp(p, "/") == 0) {
		fake_json(req, 200,
		    "{\"_links\":{\"self\":{\"href\":\"/\"},\"user\":{\"href\":"
		    "\"/user?originalDomain=contoso.com\"}}}");
	} else if (strcmp(p, "/oauth") == 0 && strcmp(m, "POST") == 0)
		fake_token(f, req);
	else if (!fake_bearer_ok(f, req))
		fake_challenge(f, req);
	else if (strcmp(p, "/user") == 0) {
		snprintf(b, sizeof(b),
		    "{\"_links\":{\"self\":{\"href\":\"/user\"},\"applications\":"
		    "{\"href\":\"%s/apps\"}}}",
		    f->url);
		fake_json(req, 200, b);
	} else if (strcmp(p, "/apps") == 0 && strcmp(m, "POST") == 0) {
		struct buf out;
		size_t len;
		const char *body = http_req_body(req, &len);
		struct json_doc *d = json_parse(body, len, NULL, NULL);
		const char *ep = d != NULL ? json_get_str(json_root(d), "EndpointId") : NULL;

		snprintf(f->endpoint_id, sizeof(f->endpoint_id), "%s", ep != NULL ? ep : "");
		json_doc_free(d);
		if (f->app_fault) {
			fake_error(req, 410, "Gone", "TooManyApplications");
			return;
		}
		if (f->app_reuse && f->app_alive) {
			buf_init(&out);
			fake_app_json(f, &out, 2);
			fake_json(req, 200, out.data);
			buf_free(&out);
			return;
		}
		f->app_n++;
		f->app_alive = 1;
		f->ack = 1;
		buf_reset(&f->pending);
		buf_reset(&f->last);
		buf_init(&out);
		fake_app_json(f, &out, 0);
		fake_json(req, 201, out.data);
		buf_free(&out);
	} else if (sscanf(p, "/apps/%d%n", &n, &off) == 1 && (p[off] == '\0' || p[off] == '/')) {
		if (n != f->app_n || !f->app_alive)
			fake_error(req, 404, "NotFound", "ApplicationNotFound");
		else if (f->forbid_n > 0 && strcmp(m, "POST") == 0) {
			f->forbid_n--;
			fake_error(req, 403, "Forbidden", "InvalidToken");
		} else
			fake_app_req(f, req, m, p + off);
	} else
		fake_error(req, 404, "NotFound", "ResourceNotFound");
}

void
fake_start(struct fake *f)
{
	struct httpd_limits lim = { 65536, 1 << 20, 1000, 10000, 60000, 10000 };
	char bound[64], *cause = NULL;

	memset(f, 0, sizeof(*f));
	f->base = event_base_new();
	f->httpd = httpd_create(f->base, &lim, fake_handler, f);
	if (httpd_listen(f->httpd, "http://127.0.0.1:0", NULL, bound, sizeof(bound), &cause) != 0)
		abort();
	snprintf(f->url, sizeof(f->url), "http://%s", bound);
	f->password = "secret";
	f->expires_in = 3600;
	f->auto_connect = 1;
	buf_init(&f->pending);
	buf_init(&f->last);
	f->timer_201 = evtimer_new(f->base, fake_201_fire, f);
}

void
fake_stop(struct fake *f)
{
	httpd_free(f->httpd);
	event_free(f->timer_201);
	buf_free(&f->pending);
	buf_free(&f->last);
	for (int i = 0; i < f->msg_n && i < FAKE_MAX_MSGS; i++)
		free(f->msgs[i]);
	event_base_free(f->base);
}
