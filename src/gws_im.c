/*
 * gws_im.c: the IM Session API. A desktop operation is checked (body,
 * parameters, the session's capabilities in its state), then carried out
 * upstream; its HTTP answer waits for UCWA to accept (a struct im_call
 * parks the request, and forgets it if the desktop leaves). UCWA changes
 * move sessions between states through the translation rules the session
 * started with, and every visible change is notified on
 * /v2/me/im-sessions to the agent's CometD clients only. Outgoing messages
 * are remembered until their delivery event, so each one is notified once:
 * delivered, or failed.
 */
#include <stdlib.h>
#include <string.h>

#include "gws_im.h"
#include "gws_me.h"
#include "log.h"
#include "record.h"
#include "xlate.h"

#define IM_CHANNEL "/v2/me/im-sessions"
#define IM_MAX_OUT 1000

/* An outgoing message waiting for its delivery event. */
struct im_out {
	char *opid;
	char *location; /* from the 201, once known */
	char *text;
	struct im_out *next;
};

/* What this layer keeps per session (session->data). */
struct im_sess {
	struct xlate_rules *rules; /* the rules the session started with */
	struct im_out *out;
	unsigned nout;
	int announced; /* the desktop has heard of the session */
	char *reason;  /* upstream failure text, for the Completed notification */
	char *reason_code;
	char *sender_phone; /* $sender_phone: remote_uri through the rules, made once */
};

enum im_call_kind { IM_CALL_INITIATE, IM_CALL_SEND, IM_CALL_COMPLETE, IM_CALL_ACCEPT };

/* A desktop request (or our own command) waiting for UCWA. */
struct im_call {
	struct gws_im *im;
	enum im_call_kind kind;
	struct http_req *req; /* NULL once answered or the desktop left */
	char *agent;
	char session_id[SESSION_ID_LEN + 1];
	unsigned parts_left;
	int answered;
	struct im_call *prev, *next;
};

struct gws_im {
	struct session_table *sessions;
	struct agents *agents;
	struct cometd *cometd;
	struct im_call *calls;
};

/* One part of a SendMessage on its way upstream. */
struct im_part {
	struct im_call *call;
	char opid[17];
};

static void im_end(struct gws_im *, struct agent *, struct session *);
static const char *im_complete_upstream(struct agent *, struct session *, struct im_call *);

/* Create the IM service. */
struct gws_im *
gws_im_create(struct agents *agents, struct cometd *cometd)
{
	struct gws_im *im = xcalloc(1, sizeof *im);

	im->sessions = session_table_create();
	im->agents = agents;
	im->cometd = cometd;
	return im;
}

struct session_table *
gws_im_sessions(struct gws_im *im)
{
	return im->sessions;
}

/* Free the layer's part of a session. */
static void
im_sess_free(struct im_sess *is)
{
	struct im_out *o, *next;

	if (is == NULL)
		return;
	for (o = is->out; o != NULL; o = next) {
		next = o->next;
		free(o->opid);
		free(o->location);
		free(o->text);
		free(o);
	}
	xlate_unref(is->rules);
	free(is->reason);
	free(is->reason_code);
	free(is->sender_phone);
	free(is);
}

/* Unlink and free a call. */
static void
im_call_free(struct im_call *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->im->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->req != NULL)
		http_req_set_abort(c->req, NULL, NULL);
	free(c->agent);
	free(c);
}

/* Free the service: sessions and parked calls (the process is ending). */
void
gws_im_free(struct gws_im *im)
{
	if (im == NULL)
		return;
	while (im->calls != NULL)
		im_call_free(im->calls);
	session_table_free(im->sessions);
	free(im);
}

/* The desktop left before its answer: forget the request. */
static void
im_call_abort(struct http_req *req, void *arg)
{
	struct im_call *c = arg;

	record_abort(req);
	c->req = NULL;
}

/* Park req until a UCWA command completes. */
static struct im_call *
im_call_new(struct gws_im *im, enum im_call_kind kind, struct http_req *req, struct agent *a,
    struct session *s)
{
	struct im_call *c = xcalloc(1, sizeof *c);

	c->im = im;
	c->kind = kind;
	c->req = req;
	c->agent = xstrdup(a->name);
	memcpy(c->session_id, s->id, sizeof c->session_id);
	c->next = im->calls;
	if (im->calls != NULL)
		im->calls->prev = c;
	im->calls = c;
	if (req != NULL)
		http_req_set_abort(req, im_call_abort, c);
	return c;
}

/* Answer a parked request once (if the desktop is still there). */
static void
im_call_reply_ok(struct im_call *c)
{
	if (c->req != NULL && !c->answered) {
		http_req_set_abort(c->req, NULL, NULL);
		gws_reply_ok(c->req);
	}
	c->answered = 1;
	c->req = NULL;
}

/* Answer a parked request with an upstream failure. */
static void
im_call_reply_upstream(struct im_call *c, const struct ucwa_result *r)
{
	char *msg;

	if (c->req == NULL || c->answered) {
		c->answered = 1;
		return;
	}
	http_req_set_abort(c->req, NULL, NULL);
	if (r->status == 0 || r->status == 502 || r->status == 503 || r->status == 504)
		xasprintf(&msg, "Skype for Business is not available at this time%s%s",
		    r->message ? ": " : "", r->message ? r->message : "");
	else
		xasprintf(&msg, "Skype for Business refused the request: %d %s%s%s%s%s", r->status,
		    r->code ? r->code : "", r->subcode ? "/" : "", r->subcode ? r->subcode : "",
		    r->message ? ": " : "", r->message ? r->message : "");
	gws_reply_error(c->req, r->status == 0 || r->status >= 502 ? 503 : 502, GWS_INTERNAL, msg);
	free(msg);
	c->answered = 1;
	c->req = NULL;
}

/* The session of a call, if it still exists. */
static struct session *
im_call_session(struct im_call *c)
{
	return session_find(c->im->sessions, c->agent, c->session_id);
}

/* Build user data as one JSON object (NULL when there is none). */
static struct json_doc *
im_userdata_doc(const struct session *s)
{
	struct json_error err;
	struct json_doc *d;
	struct buf b;

	if (s->nuserdata == 0)
		return NULL;
	buf_init(&b);
	buf_addch(&b, '{');
	for (size_t i = 0; i < s->nuserdata; i++) {
		if (i > 0)
			buf_addch(&b, ',');
		json_escape(&b, s->userdata[i].key, strlen(s->userdata[i].key));
		buf_addch(&b, ':');
		buf_addstr(&b, s->userdata[i].json);
	}
	buf_addch(&b, '}');
	d = json_parse(b.data, b.len, NULL, &err);
	buf_free(&b);
	return d;
}

/* GWS state of a session state. */
static enum xlate_state
im_xstate(enum session_state st)
{
	return (enum xlate_state)st;
}

/* Fill the translation view of a session. */
static void
im_view(const struct agent *a, const struct session *s, struct xlate_session *xs,
    const char **remote, struct json_doc *ud)
{
	const struct im_sess *is = s->data;

	memset(xs, 0, sizeof *xs);
	xs->id = s->id;
	xs->uri_base = a->base_uri ? a->base_uri : "http://localhost/api/v2";
	xs->state = im_xstate(s->state);
	*remote = s->remote_uri;
	xs->remote = remote;
	xs->nremote = s->remote_uri ? 1 : 0;
	xs->user_data = ud ? json_root(ud) : NULL;
	xs->var[XV_AGENT] = a->name;
	xs->var[XV_REASON] = is->reason;
	xs->var[XV_REASON_CODE] = is->reason_code;
}

/* Start recording the request if the agent is recorded (record.h). */
static void
im_record_begin(struct gws_im *im, struct http_req *req, const struct agent *a, const char *id,
    const struct json *body)
{
	struct session *s = id != NULL ? session_find(im->sessions, a->name, id)
				       : session_of_agent(im->sessions, a->name);
	struct json_doc *ud;
	struct xlate_session xs;
	const char *remote;

	if (!record_agent(a->name))
		return;
	ud = s != NULL ? im_userdata_doc(s) : NULL;
	if (s != NULL)
		im_view(a, s, &xs, &remote, ud);
	record_gws_begin(req, a->name, s != NULL ? &xs : NULL, body);
	json_doc_free(ud);
}

/* Record an event-channel response of a recorded agent (record.h). */
void
gws_im_record_events(struct gws_im *im, struct agent *a, const struct json *response, int begin)
{
	struct session *s;
	struct json_doc *ud;
	struct xlate_session xs;
	const char *remote, *pending;

	if (!begin) {
		record_ucwa_end();
		return;
	}
	if (!record_agent(a->name))
		return;
	s = session_of_agent(im->sessions, a->name);
	ud = s != NULL ? im_userdata_doc(s) : NULL;
	if (s != NULL)
		im_view(a, s, &xs, &remote, ud);
	pending = s != NULL && ((struct im_sess *)s->data)->out != NULL
	    ? ((struct im_sess *)s->data)->out->text
	    : NULL;
	record_ucwa_begin(a->name, s != NULL ? &xs : NULL, pending, response);
	json_doc_free(ud);
}

/* Publish a state notification ("StatusChange" or "AttachedDataChanged"). */
static void
im_notify_state(struct gws_im *im, const struct agent *a, struct session *s, const char *type)
{
	struct im_sess *is = s->data;
	struct json_doc *ud = im_userdata_doc(s);
	struct xlate_session xs;
	const char *remote;
	struct buf b;

	im_view(a, s, &xs, &remote, ud);
	buf_init(&b);
	xlate_notify_state(is->rules, &xs, type, &b);
	cometd_publish(im->cometd, a->name, IM_CHANNEL, b.data);
	record_notify(a->name, b.data);
	log_info("agent %s: session %s: %s %s", a->name, s->id, type, session_state_name(s->state));
	is->announced = 1;
	buf_free(&b);
	json_doc_free(ud);
}

/* The remote party's phone number through the session's rules ($sender_phone);
 * the address and the rules never change during a session, so made once. */
static const char *
im_sender_phone(struct session *s)
{
	struct im_sess *is = s->data;
	struct xlate_party party;

	if (is->sender_phone == NULL && s->remote_uri != NULL) {
		xlate_sip_to_party(is->rules, s->remote_uri, &party);
		is->sender_phone = party.phoneNumber;
		party.phoneNumber = NULL;
		xlate_party_free(&party);
	}
	return is->sender_phone;
}

/* Publish a message notification (NewMessage; a failed delivery per the rules). */
static void
im_notify_message(struct gws_im *im, const struct agent *a, struct session *s, const char *text,
    const struct ucwa_change *ch, int failed)
{
	struct im_sess *is = s->data;
	struct xlate_session xs;
	const char *remote;
	char *notice = NULL;
	struct buf b;

	im_view(a, s, &xs, &remote, NULL);
	if (ch != NULL) {
		xs.var[XV_SENDER] =
		    ch->direction && strcmp(ch->direction, "Incoming") == 0 ? s->remote_uri : NULL;
		if (xs.var[XV_SENDER] != NULL)
			xs.var[XV_SENDER_PHONE] = im_sender_phone(s);
		xs.var[XV_SENDER_NAME] = ch->participant_name;
		xs.var[XV_DIRECTION] = ch->direction;
		xs.var[XV_TIMESTAMP] = ch->timestamp;
		if (ch->reason_message != NULL)
			xs.var[XV_REASON] = ch->reason_message;
	}
	xs.var[XV_TEXT] = text;
	if (failed && (notice = xlate_undelivered(is->rules, &xs)) == NULL)
		return;
	buf_init(&b);
	xlate_notify_message(is->rules, &xs, failed ? notice : text, &b);
	cometd_publish(im->cometd, a->name, IM_CHANNEL, b.data);
	record_notify(a->name, b.data);
	buf_free(&b);
	free(notice);
}

/* Move a session to a new state; Completed ends it. */
static void
im_set_state(struct gws_im *im, struct agent *a, struct session *s, enum xlate_state st)
{
	if (st == XLATE_NONE || (int)st == (int)s->state)
		return;
	if (st == XLATE_COMPLETED) {
		im_end(im, a, s);
		return;
	}
	/* Never back: Talking does not return to Initiating or Alerting. */
	if ((int)st < (int)s->state)
		return;
	s->state = (enum session_state)st;
	im_notify_state(im, a, s, "StatusChange");
}

/* End a session: notify Completed (if the desktop knew it), forget it. */
static void
im_end(struct gws_im *im, struct agent *a, struct session *s)
{
	struct im_sess *is = s->data;

	s->state = SESSION_COMPLETED;
	if (is->announced)
		im_notify_state(im, a, s, "StatusChange");
	else
		log_info("agent %s: session %s: ended before it was announced", a->name, s->id);
	im_sess_free(is);
	s->data = NULL;
	session_remove(im->sessions, s);
}

/* Record an upstream reason on the session. */
static void
im_set_reason(struct session *s, const char *message, const char *code, const char *subcode)
{
	struct im_sess *is = s->data;

	free(is->reason);
	free(is->reason_code);
	is->reason = message ? xstrdup(message) : NULL;
	if (code != NULL)
		xasprintf(
		    &is->reason_code, "%s%s%s", code, subcode ? "/" : "", subcode ? subcode : "");
	else
		is->reason_code = NULL;
}

/* A new session with the layer's state attached. */
static struct session *
im_session_new(struct gws_im *im, struct agent *a, enum session_dir dir, const char **cause)
{
	struct session *s = session_new(im->sessions, a->name, dir, cause);
	struct im_sess *is;

	if (s == NULL)
		return NULL;
	is = xcalloc(1, sizeof *is);
	is->rules = xlate_ref(xlate_current());
	s->data = is;
	return s;
}

/* ---- desktop side: reading ---- */

/* Write the imSession object of s. */
static void
im_write_session(const struct agent *a, struct session *s, struct jw *w)
{
	struct json_doc *ud = im_userdata_doc(s);
	struct xlate_session xs;
	const char *remote;

	im_view(a, s, &xs, &remote, ud);
	xlate_write_session(((struct im_sess *)s->data)->rules, &xs, w);
	json_doc_free(ud);
}

/* GET /api/v2/me/im-sessions[?fields=*]. */
void
gws_im_list(struct gws_im *im, struct http_req *req, struct agent *a)
{
	struct session *s = session_of_agent(im->sessions, a->name);
	int all = gws_want_fields(req);
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kint(&w, "statusCode", GWS_OK);
	jw_key(&w, all ? "imSessions" : "uris");
	jw_arr_begin(&w);
	if (s != NULL && all)
		im_write_session(a, s, &w);
	else if (s != NULL) {
		char *uri;

		xasprintf(&uri, "%s/im-sessions/%s", a->base_uri, s->id);
		jw_str(&w, uri);
		free(uri);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	gws_reply_json(req, 200, &b);
}

/* GET /api/v2/me/im-sessions/{id} (and /api/v2/im-sessions/{id}). */
void
gws_im_get(struct gws_im *im, struct http_req *req, struct agent *a, const char *id)
{
	struct session *s = session_find(im->sessions, a->name, id);
	struct buf b;
	struct jw w;

	if (s == NULL) {
		gws_reply_error(req, 404, GWS_NOT_FOUND, "IM session not found");
		return;
	}
	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kint(&w, "statusCode", GWS_OK);
	jw_key(&w, "imSession");
	im_write_session(a, s, &w);
	jw_obj_end(&w);
	gws_reply_json(req, 200, &b);
}

/* ---- desktop side: operations ---- */

/* 503 when the agent cannot reach UCWA now; returns 1 if it answered. */
static int
im_require_upstream(struct http_req *req, struct agent *a)
{
	if (a->ucwa != NULL && ucwa_agent_ready(a->ucwa))
		return 0;
	gws_reply_error(req, 503, GWS_INTERNAL, "Skype for Business is not available at this time");
	return 1;
}

/* The destination.phoneNumber parameter, or NULL after answering. */
static const char *
im_destination(struct http_req *req, const struct json *body, int required)
{
	const struct json *d = json_get(body, "destination");
	const char *phone;

	if (d == NULL || d->type == JSON_NULL) {
		if (required)
			gws_reply_error(
			    req, 400, GWS_MISSING_PARAM, "Missing parameter: destination");
		return required ? NULL : "";
	}
	if (d->type != JSON_OBJECT) {
		gws_reply_error(req, 400, GWS_INVALID_STATE, "destination must be an object");
		return NULL;
	}
	if ((phone = json_get_str(d, "phoneNumber")) == NULL || *phone == '\0') {
		gws_reply_error(req, 400,
		    json_get(d, "phoneNumber") ? GWS_INVALID_STATE : GWS_MISSING_PARAM,
		    "destination.phoneNumber is missing or not a string");
		return NULL;
	}
	return phone;
}

/* Check a userData object: flat, values strings or numbers. */
static const char *
im_check_userdata(const struct json *ud)
{
	if (ud->type != JSON_OBJECT)
		return "userData must be an object";
	if (ud->u.obj.n > SESSION_MAX_USERDATA)
		return "userData has too many keys";
	for (size_t i = 0; i < ud->u.obj.n; i++) {
		enum json_type t = ud->u.obj.m[i].val->type;

		if (t != JSON_STRING && t != JSON_INT && t != JSON_DOUBLE && t != JSON_BOOL)
			return "userData values must be strings or numbers";
		if (ud->u.obj.m[i].keylen == 0 ||
		    memchr(ud->u.obj.m[i].key, '\0', ud->u.obj.m[i].keylen) != NULL)
			return "userData keys must be non-empty strings";
	}
	return NULL;
}

/* Put every pair of a checked userData object into the session. */
static int
im_put_userdata(struct session *s, const struct json *ud)
{
	for (size_t i = 0; i < ud->u.obj.n; i++) {
		struct buf v;
		struct jw w;
		int rc;

		buf_init(&v);
		jw_init(&w, &v);
		jw_value(&w, ud->u.obj.m[i].val);
		rc = session_userdata_put(s, ud->u.obj.m[i].key, v.data);
		buf_free(&v);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* startMessaging completed: answer the desktop, announce or drop the session. */
static void
im_initiate_done(const struct ucwa_result *r, void *arg)
{
	struct im_call *c = arg;
	struct session *s = im_call_session(c);

	struct agent *a = agents_find(c->im->agents, c->agent);

	if (r->ok) {
		im_call_reply_ok(c);
		if (s != NULL && a != NULL && !((struct im_sess *)s->data)->announced)
			im_notify_state(c->im, a, s, "StatusChange");
	} else {
		im_call_reply_upstream(c, r);
		if (s != NULL && a != NULL) {
			im_set_reason(s, r->message, r->code, r->subcode);
			im_end(c->im, a, s);
		}
	}
	im_call_free(c);
}

/* InitiateIMSession. */
static void
im_initiate(struct gws_im *im, struct http_req *req, struct agent *a, const struct json *body)
{
	const struct json *ud = json_get(body, "userData");
	const char *phone, *cause, *msg;
	char *sip = NULL, *subject;
	struct session *s;
	struct im_call *c;

	if ((phone = im_destination(req, body, 1)) == NULL)
		return;
	if (ud != NULL && ud->type != JSON_NULL && (msg = im_check_userdata(ud)) != NULL) {
		gws_reply_error(req, 400, GWS_INVALID_STATE, msg);
		return;
	}
	if (im_require_upstream(req, a))
		return;
	if (session_of_agent(im->sessions, a->name) != NULL) {
		gws_reply_error(req, 400, GWS_INVALID_STATE,
		    "Invalid state: the agent already has an IM session");
		return;
	}
	if (xlate_phone_to_sip(xlate_current(), phone, &sip, &cause) != 0) {
		/* Outside what the address rules accept: statusCode 10, as the dry run says. */
		gws_reply_error(req, 400, GWS_OUT_OF_RANGE, cause);
		return;
	}
	s = im_session_new(im, a, SESSION_OUTGOING, &cause);
	session_set_remote(s, sip, phone);
	if (ud != NULL && ud->type == JSON_OBJECT)
		im_put_userdata(s, ud);
	session_bind_operation(im->sessions, s, s->id);
	subject = xlate_subject(((struct im_sess *)s->data)->rules, ud);
	c = im_call_new(im, IM_CALL_INITIATE, req, a, s);
	record_upstream_start(a->name, sip, subject);
	if ((cause = ucwa_start_messaging(
		 a->ucwa, sip, s->id, subject, NULL, im_initiate_done, c)) != NULL) {
		struct ucwa_result r = { .ok = 0, .status = 0, .message = cause };

		im_initiate_done(&r, c);
	}
	free(subject);
	free(sip);
}

/* Whether the session's state offers capability cap; answers 400 if not. */
static int
im_require_cap(struct http_req *req, struct session *s, unsigned cap, const char *op)
{
	struct im_sess *is = s->data;
	char *msg;

	if (xlate_caps(is->rules, im_xstate(s->state)) & cap)
		return 0;
	xasprintf(&msg, "Invalid state: %s is not possible while the session is %s", op,
	    xlate_state_name(im_xstate(s->state)));
	gws_reply_error(req, 400, GWS_INVALID_STATE, msg);
	free(msg);
	return 1;
}

/* The outgoing message with this operationId, or NULL. */
static struct im_out *
im_out_find(struct im_sess *is, const char *opid, struct im_out ***link)
{
	struct im_out **pp, *o;

	for (pp = &is->out; (o = *pp) != NULL; pp = &o->next) {
		if (strcmp(o->opid, opid) == 0) {
			if (link != NULL)
				*link = pp;
			return o;
		}
	}
	return NULL;
}

/* Forget one outgoing message. */
static void
im_out_remove(struct im_sess *is, struct im_out **link)
{
	struct im_out *o = *link;

	*link = o->next;
	is->nout--;
	free(o->opid);
	free(o->location);
	free(o->text);
	free(o);
}

/* One part of a SendMessage accepted (or refused) upstream. */
static void
im_send_done(const struct ucwa_result *r, void *arg)
{
	struct im_part *part = arg;
	struct im_call *c = part->call;
	struct session *s = im_call_session(c);
	struct im_out *o, **link;

	if (s != NULL && (o = im_out_find(s->data, part->opid, &link)) != NULL) {
		if (!r->ok)
			im_out_remove(s->data, link);
		else if (r->location != NULL && o->location == NULL)
			o->location = xstrdup(r->location);
	}
	if (!r->ok)
		im_call_reply_upstream(c, r);
	free(part);
	if (--c->parts_left == 0) {
		im_call_reply_ok(c);
		im_call_free(c);
	}
}

/* Remember an outgoing message until its delivery event. */
static void
im_out_add(struct session *s, const char *opid, const char *text)
{
	struct im_sess *is = s->data;
	struct im_out *o = xcalloc(1, sizeof *o), **pp;

	o->opid = xstrdup(opid);
	o->text = xstrdup(text);
	for (pp = &is->out; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = o;
	is->nout++;
}

/* Queue the parts of a message upstream; the call is answered when all are in. */
static void
im_send_parts(
    struct agent *a, struct session *s, struct im_call *c, const struct xlate_parts *parts)
{
	const char *cause;

	c->parts_left = (unsigned)parts->n + 1; /* +1: held until every part is queued */
	for (size_t i = 0; i < parts->n; i++) {
		struct im_part *part = xcalloc(1, sizeof *part);

		part->call = c;
		util_random_id(part->opid, 16, UTIL_BASE62);
		im_out_add(s, part->opid, parts->v[i]);
		record_upstream(
		    a->name, "sendMessage", "text/plain; charset=UTF-8", NULL, parts->v[i]);
		if ((cause = ucwa_send_message(a->ucwa, s->conversation, parts->v[i], part->opid,
			 im_send_done, part)) != NULL) {
			struct ucwa_result r = { .ok = 0, .status = 503, .message = cause };

			c->parts_left -= (unsigned)(parts->n - i - 1);
			im_send_done(&r, part);
			break;
		}
	}
	if (--c->parts_left == 0) {
		im_call_reply_ok(c);
		im_call_free(c);
	}
}

/* SendMessage. */
static void
im_send(struct gws_im *im, struct http_req *req, struct agent *a, struct session *s,
    const struct json *body)
{
	struct im_sess *is = s->data;
	struct xlate_parts parts = { 0 };
	const char *text, *cause;
	int bad = 0;

	if ((text = gws_param_str(body, "text", &bad)) == NULL) {
		gws_reply_error(req, 400, bad ? GWS_INVALID_STATE : GWS_MISSING_PARAM,
		    bad ? "text must be a string" : "Missing parameter: text");
		return;
	}
	if (im_destination(req, body, 0) == NULL ||
	    im_require_cap(req, s, XLATE_CAP_SEND, "SendMessage") || im_require_upstream(req, a))
		return;
	if (xlate_text_out(is->rules, text, &parts, &cause) != XLATE_TEXT_OK) {
		gws_reply_error(req, 400, GWS_OUT_OF_RANGE, cause);
		return;
	}
	if (is->nout + parts.n > IM_MAX_OUT)
		gws_reply_error(req, 503, GWS_INTERNAL, "Too many messages waiting for delivery");
	else
		im_send_parts(a, s, im_call_new(im, IM_CALL_SEND, req, a, s), &parts);
	xlate_parts_free(&parts);
}

/* The conversation was left upstream: end the session, answer Complete. */
static void
im_complete_done(const struct ucwa_result *r, void *arg)
{
	struct im_call *c = arg;
	struct session *s = im_call_session(c);

	struct agent *a = agents_find(c->im->agents, c->agent);

	if (r->ok || r->status == 404 || r->status == 410) {
		im_call_reply_ok(c);
		if (s != NULL && a != NULL)
			im_end(c->im, a, s);
	} else
		im_call_reply_upstream(c, r);
	im_call_free(c);
}

/* Complete. */
static void
im_complete(struct gws_im *im, struct http_req *req, struct agent *a, struct session *s)
{
	struct im_call *c;
	const char *cause;

	if (im_require_cap(req, s, XLATE_CAP_COMPLETE, "Complete"))
		return;
	if (s->conversation == NULL || a->ucwa == NULL) {
		gws_reply_ok(req);
		im_end(im, a, s);
		return;
	}
	c = im_call_new(im, IM_CALL_COMPLETE, req, a, s);
	if ((cause = im_complete_upstream(a, s, c)) != NULL) {
		struct ucwa_result r = { .ok = 0, .status = 0, .message = cause };

		im_complete_done(&r, c);
	}
}

/*
 * End the conversation upstream: cancel the invitation while it is in
 * progress, else stopMessaging, else leave (DELETE). Records what it sent.
 */
static const char *
im_complete_upstream(struct agent *a, struct session *s, struct im_call *c)
{
	const char *conv = s->conversation;

	if (s->state == SESSION_INITIATING &&
	    ucwa_cancel(a->ucwa, conv, im_complete_done, c) == NULL) {
		record_upstream(a->name, "cancel", NULL, NULL, NULL);
		return NULL;
	}
	if (ucwa_stop_messaging(a->ucwa, conv, im_complete_done, c) == NULL) {
		record_upstream(a->name, "stopMessaging", NULL, NULL, NULL);
		return NULL;
	}
	return ucwa_leave(a->ucwa, conv, im_complete_done, c);
}

/* AttachUserData / UpdateUserData / DeleteUserData (local to the gateway). */
static void
im_userdata(struct gws_im *im, struct http_req *req, struct agent *a, struct session *s,
    const struct json *body, const char *op)
{
	const struct json *ud = json_get(body, "userData"), *keys = json_get(body, "keys");
	const char *key, *msg;
	int bad = 0;

	if (strcmp(op, "DeleteUserData") == 0) {
		if (im_require_cap(req, s, XLATE_CAP_DELETE, op))
			return;
		key = gws_param_str(body, "key", &bad);
		if (bad || (key == NULL && !json_is(keys, JSON_ARRAY))) {
			gws_reply_error(req, 400, bad ? GWS_INVALID_STATE : GWS_MISSING_PARAM,
			    bad ? "key must be a string" : "Missing parameter: key");
			return;
		}
		for (size_t i = 0; keys != NULL && keys->type == JSON_ARRAY && i < keys->u.arr.n;
		     i++) {
			if (keys->u.arr.v[i]->type != JSON_STRING) {
				gws_reply_error(
				    req, 400, GWS_INVALID_STATE, "keys must be strings");
				return;
			}
		}
		if (key != NULL)
			session_userdata_del(s, key);
		for (size_t i = 0; keys != NULL && keys->type == JSON_ARRAY && i < keys->u.arr.n;
		     i++)
			session_userdata_del(s, keys->u.arr.v[i]->u.str.s);
	} else {
		if (im_require_cap(req, s, op[0] == 'A' ? XLATE_CAP_ATTACH : XLATE_CAP_UPDATE, op))
			return;
		if (ud == NULL || ud->type == JSON_NULL) {
			gws_reply_error(req, 400, GWS_MISSING_PARAM, "Missing parameter: userData");
			return;
		}
		if ((msg = im_check_userdata(ud)) != NULL) {
			gws_reply_error(req, 400, GWS_INVALID_STATE, msg);
			return;
		}
		if (s->nuserdata + ud->u.obj.n > SESSION_MAX_USERDATA) {
			gws_reply_error(req, 400, GWS_OUT_OF_RANGE, "userData has too many keys");
			return;
		}
		im_put_userdata(s, ud);
	}
	gws_reply_ok(req);
	im_notify_state(im, a, s, "AttachedDataChanged");
}

/* POST /api/v2/me/im-sessions[/{id}]. */
void
gws_im_post(struct gws_im *im, struct http_req *req, struct agent *a, const char *id)
{
	struct json_doc *d = gws_read_body(req);
	struct session *s;
	const char *op;

	if (d == NULL)
		return;
	im_record_begin(im, req, a, id, json_root(d));
	if ((op = gws_operation_name(req, json_root(d))) == NULL)
		;
	else if (id == NULL) {
		if (strcmp(op, "InitiateIMSession") == 0)
			im_initiate(im, req, a, json_root(d));
		else
			gws_reply_error(req, 400, GWS_INVALID_STATE, "Unknown operationName");
	} else if ((s = session_find(im->sessions, a->name, id)) == NULL)
		gws_reply_error(req, 404, GWS_NOT_FOUND, "IM session not found");
	else if (strcmp(op, "SendMessage") == 0)
		im_send(im, req, a, s, json_root(d));
	else if (strcmp(op, "Complete") == 0)
		im_complete(im, req, a, s);
	else if (strcmp(op, "AttachUserData") == 0 || strcmp(op, "UpdateUserData") == 0 ||
	    strcmp(op, "DeleteUserData") == 0)
		im_userdata(im, req, a, s, json_root(d), op);
	else
		gws_reply_error(req, 400, GWS_INVALID_STATE, "Unknown operationName");
	record_gws_end();
	json_doc_free(d);
}

/* ---- upstream side ---- */

/* The agent's session a change is about (binding its conversation). */
static struct session *
im_session_for(struct gws_im *im, struct agent *a, const struct ucwa_change *ch)
{
	struct session *s = NULL;

	if (ch->operation_id != NULL)
		s = session_by_operation(im->sessions, ch->operation_id);
	if (s == NULL && ch->conversation != NULL)
		s = session_by_conversation(im->sessions, ch->conversation);
	if (s == NULL || strcmp(s->agent, a->name) != 0)
		return NULL;
	if (s->conversation == NULL && ch->conversation != NULL)
		session_bind_conversation(im->sessions, s, ch->conversation);
	return s;
}

/* Our accept of an incoming invitation completed. */
static void
im_accept_done(const struct ucwa_result *r, void *arg)
{
	struct im_call *c = arg;
	struct session *s = im_call_session(c);

	struct agent *a = agents_find(c->im->agents, c->agent);

	if (!r->ok && s != NULL && a != NULL) {
		log_warn("agent %s: session %s: accept failed (%d)", c->agent, s->id, r->status);
		im_set_reason(s, r->message ? r->message : "accept failed", r->code, r->subcode);
		im_end(c->im, a, s);
	}
	im_call_free(c);
}

/* A command whose outcome changes nothing (decline). */
static void
im_ignore_result(const struct ucwa_result *r, void *arg)
{
	if (!r->ok)
		log_info("decline refused upstream (%d)", r->status);
}

/* A new incoming invitation: accept, decline or leave it per policy. */
static void
im_incoming(struct gws_im *im, struct agent *a, const struct ucwa_change *ch)
{
	int busy = session_of_agent(im->sessions, a->name) != NULL;
	enum xlate_incoming what = xlate_incoming(xlate_current(), ch->from_uri, busy);
	struct xlate_party party;
	const char *cause;
	struct session *s;
	struct im_call *c;

	if (what == XLATE_IN_DECLINE) {
		log_info(
		    "agent %s: declining an invitation (%s)", a->name, busy ? "busy" : "policy");
		ucwa_decline(a->ucwa, ch->conversation, im_ignore_result, NULL);
		return;
	}
	if (what == XLATE_IN_IGNORE || busy || ch->conversation == NULL)
		return;
	s = im_session_new(im, a, SESSION_INCOMING, &cause);
	xlate_sip_to_party(
	    ((struct im_sess *)s->data)->rules, ch->from_uri ? ch->from_uri : "", &party);
	session_set_remote(s, ch->from_uri, party.phoneNumber);
	xlate_party_free(&party);
	session_bind_conversation(im->sessions, s, ch->conversation);
	im_notify_state(im, a, s, "StatusChange");
	c = im_call_new(im, IM_CALL_ACCEPT, NULL, a, s);
	if ((cause = ucwa_accept(a->ucwa, ch->conversation, im_accept_done, c)) != NULL) {
		struct ucwa_result r = { .ok = 0, .status = 0, .message = cause };

		im_accept_done(&r, c);
	}
}

/* An outgoing message's delivery event: notify it once. */
static void
im_outgoing_message(
    struct gws_im *im, struct agent *a, struct session *s, const struct ucwa_change *ch)
{
	struct im_sess *is = s->data;
	struct im_out **pp, *o;
	int failed = ch->status != NULL && strcmp(ch->status, "Failure") == 0;

	if (ch->type != UCWA_COMPLETED)
		return;
	for (pp = &is->out; (o = *pp) != NULL; pp = &o->next) {
		if ((ch->operation_id && strcmp(ch->operation_id, o->opid) == 0) ||
		    (o->location && ch->href && strcmp(ch->href, o->location) == 0) ||
		    (o->location && ch->self && strcmp(ch->self, o->location) == 0))
			break;
	}
	if (o == NULL) {
		log_debug(
		    "agent %s: session %s: delivery event for an unknown message", a->name, s->id);
		return;
	}
	im_notify_message(im, a, s, o->text, ch, failed);
	if (failed)
		log_info("agent %s: session %s: message not delivered", a->name, s->id);
	im_out_remove(is, pp);
}

/* A message event. */
static void
im_message(struct gws_im *im, struct agent *a, struct session *s, const struct ucwa_change *ch)
{
	char *text;

	if (ch->direction != NULL && strcmp(ch->direction, "Outgoing") == 0) {
		im_outgoing_message(im, a, s, ch);
		return;
	}

	if (ch->text == NULL || (ch->status && strcmp(ch->status, "Failure") == 0))
		return;
	/* The body as sent (text/html or not): the rules reduce HTML and trim CR/LF. */
	text = xlate_text_in(
	    ((struct im_sess *)s->data)->rules, ch->text, strlen(ch->text), ch->text_html);
	im_notify_message(im, a, s, text, ch, 0);
	free(text);
}

/* The UCWA state kind of an invitation change. */
static enum xlate_kind
im_invitation_kind(const struct session *s, const struct ucwa_change *ch)
{
	if (ch->direction != NULL)
		return strcmp(ch->direction, "Incoming") == 0 ? XLATE_K_IN_INVITATION
							      : XLATE_K_OUT_INVITATION;
	return s->dir == SESSION_INCOMING ? XLATE_K_IN_INVITATION : XLATE_K_OUT_INVITATION;
}

/*
 * Messaging connected in a conversation that has no session (it was
 * completed while connecting and the cancel lost the race): leave it, so
 * nothing stays connected upstream that no desktop can see.
 */
static void
im_orphan(struct agent *a, const struct ucwa_change *ch)
{
	if (ch->kind != UCWA_MESSAGING || ch->conversation == NULL || ch->state == NULL ||
	    strcmp(ch->state, "Connected") != 0 || a->ucwa == NULL)
		return;
	log_info("agent %s: leaving a conversation that has no IM session", a->name);
	ucwa_leave(a->ucwa, ch->conversation, im_ignore_result, NULL);
}

/* One change from the agent's event channel. */
void
gws_im_change(struct gws_im *im, struct agent *a, const struct ucwa_change *ch)
{
	struct session *s;

	if (ch->kind == UCWA_INVITATION && ch->type == UCWA_STARTED && ch->direction != NULL &&
	    strcmp(ch->direction, "Incoming") == 0 &&
	    session_by_conversation(im->sessions, ch->conversation ? ch->conversation : "") ==
		NULL) {
		im_incoming(im, a, ch);
		return;
	}
	if ((s = im_session_for(im, a, ch)) == NULL) {
		im_orphan(a, ch);
		return;
	}
	switch (ch->kind) {
	case UCWA_INVITATION:
		if (ch->type == UCWA_COMPLETED && ch->status &&
		    strcmp(ch->status, "Failure") == 0) {
			im_set_reason(s, ch->reason_message, ch->reason_code, ch->reason_subcode);
			im_set_state(im, a, s, XLATE_COMPLETED);
		} else if (ch->state != NULL)
			im_set_state(im, a, s,
			    xlate_state_map(((struct im_sess *)s->data)->rules,
				im_invitation_kind(s, ch), ch->state));
		break;
	case UCWA_CONVERSATION:
		if (ch->type == UCWA_DELETED)
			im_set_state(im, a, s, XLATE_COMPLETED);
		else if (ch->state != NULL)
			im_set_state(im, a, s,
			    xlate_state_map(((struct im_sess *)s->data)->rules,
				XLATE_K_CONVERSATION, ch->state));
		break;
	case UCWA_MESSAGING:
		if (ch->state != NULL)
			im_set_state(im, a, s,
			    xlate_state_map(
				((struct im_sess *)s->data)->rules, XLATE_K_MESSAGING, ch->state));
		break;
	case UCWA_MESSAGE: im_message(im, a, s, ch); break;
	default: break;
	}
}

/* A conversation is over upstream (remote left, application lost, resume). */
void
gws_im_ended(struct gws_im *im, struct agent *a, const char *conversation, const char *why)
{
	struct session *s = session_by_conversation(im->sessions, conversation);

	if (s == NULL || strcmp(s->agent, a->name) != 0)
		return;
	if (((struct im_sess *)s->data)->reason == NULL)
		im_set_reason(s, why, NULL, NULL);
	im_end(im, a, s);
}

/* The agent is going: end its session and forget its parked requests. */
void
gws_im_agent_gone(struct gws_im *im, struct agent *a, const char *why)
{
	struct session *s = session_of_agent(im->sessions, a->name);
	struct im_call *c, *next;

	for (c = im->calls; c != NULL; c = next) {
		next = c->next;
		if (strcmp(c->agent, a->name) != 0)
			continue;
		if (c->req != NULL && !c->answered)
			gws_reply_error(c->req, 503, GWS_INTERNAL,
			    "Skype for Business is not available at this time");
		c->req = NULL;
		im_call_free(c);
	}
	if (s != NULL) {
		im_set_reason(s, why, NULL, NULL);
		im_end(im, a, s);
	}
}
