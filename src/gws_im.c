/*
 * gws_im.c: the IM Session API's service (see gws_im.h): the desktop
 * calls parked until UCWA answers (a struct im_call holds the request and
 * forgets it if the desktop leaves), what each session keeps beside the
 * session table (its rules, its outgoing messages until their delivery
 * event), state changes, and the notifications on /v2/me/im-sessions, sent
 * to the agent's own CometD clients only. Outgoing messages are remembered
 * until their delivery event, so each one is notified once: delivered, or
 * failed. gws_im_ops.c has the desktop's requests, gws_im_up.c the UCWA
 * changes.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "gws_im_int.h"
#include "gws_me.h"
#include "log.h"
#include "record.h"
#include "store.h"

/* A client of the agent missed notifications (it fell behind): publish its session's state. */
static void
gws_im_resync(const char *name, void *arg)
{
	struct gws_im *im = arg;
	struct agent *a = agents_find(im->agents, name);
	struct session *s;

	if (a != NULL && (s = session_of_agent(im->sessions, name)) != NULL)
		gws_im_notify_state(im, a, s, "StatusChange");
}

/* Create the IM service. */
struct gws_im *
gws_im_create(struct event_base *base, struct agents *agents, struct cometd *cometd)
{
	struct gws_im *im = xcalloc(1, sizeof *im);

	im->base = base;
	im->sessions = session_table_create();
	im->agents = agents;
	im->cometd = cometd;
	cometd_on_resync(cometd, gws_im_resync, im);
	return im;
}

struct session_table *
gws_im_sessions(struct gws_im *im)
{
	return im->sessions;
}

static void gws_im_store_row(void *, const char *agent, const char *id, int whole);

/* Cluster mode: the store the session rows are written to (and read from at its flush). */
void
gws_im_set_store(struct gws_im *im, struct store *st)
{
	store_set_row_source(im->store, NULL, NULL);
	im->store = st;
	store_set_row_source(st, gws_im_store_row, im);
}

/*
 * Write (or, ended, delete) the row of s in the store; nothing without
 * one. The row is read at the store's flush: the changes of one loop turn
 * (a message's 201 and its delivery event) make one encoding and one write.
 */
void
gws_im_store(struct gws_im *im, const struct session *s)
{
	if (im->store == NULL)
		return;
	if (s->im == NULL)
		store_session_del(im->store, s->agent, s->id);
	else
		store_session_mark(im->store, s->agent, s->id, 1);
}

/*
 * Only the unconfirmed outgoing messages of s changed (one added, its 201,
 * its delivery without a request id): at write version 5 their fields
 * alone are written, not the row (store.h).
 */
void
gws_im_store_out(struct gws_im *im, const struct session *s)
{
	if (im->store != NULL && s->im != NULL)
		store_session_mark(im->store, s->agent, s->id, 0);
	else
		gws_im_store(im, s);
}

/* The store's flush: the row of session id of agent, marked by gws_im_store (store.h). */
static void
gws_im_store_row(void *arg, const char *agent, const char *id, int whole)
{
	struct gws_im *im = arg;
	const struct session *s = session_find(im->sessions, agent, id);

	if (s != NULL)
		gws_im_store_wait(im, s, whole, NULL, NULL);
}

/*
 * Write the row of s (whole), or only its unconfirmed messages; 1 if done
 * runs once it is in Redis (store.h), 0: go on now.
 */
int
gws_im_store_wait(struct gws_im *im, const struct session *s, int whole, store_done done, void *arg)
{
	const struct im_sess *is = s->im;
	struct store_session r;
	struct store_out outs[4], *out = outs;
	char *rids[IM_RIDS_DONE];
	size_t i = 0;
	int waits;

	if (im->store == NULL)
		return 0;
	if (is == NULL) {
		store_session_del(im->store, s->agent, s->id);
		return 0;
	}
	memset(&r, 0, sizeof r);
	r.id = (char *)s->id;
	if (is->nout > nitems(outs))
		out = xcalloc(is->nout, sizeof *out);
	r.out = out;
	for (const struct im_out *o = is->out; o != NULL; o = o->next, i++) {
		r.out[i].opid = o->opid;
		r.out[i].location = o->location;
		r.out[i].text = o->text;
		r.out[i].rid = o->rid;
	}
	r.nout = i;
	if (!whole && store_write_version(im->store) >= 5) { /* the id and messages: enough */
		waits = store_session_put(im->store, s->agent, &r, 0, done, arg);
		if (out != outs)
			free(out);
		return waits;
	}
	r.dir = (int)s->dir;
	r.state = (int)s->state;
	r.announced = is->announced;
	r.remote_uri = s->remote_uri;
	r.remote_phone = s->remote_phone;
	r.conversation = s->conversation;
	r.operation = s->operation;
	r.created_ms = s->created_ms;
	r.nud = s->nuserdata;
	r.ud_key = xcalloc(s->nuserdata + 1, sizeof *r.ud_key);
	r.ud_json = xcalloc(s->nuserdata + 1, sizeof *r.ud_json);
	for (i = 0; i < s->nuserdata; i++) {
		r.ud_key[i] = s->userdata[i].key;
		r.ud_json[i] = s->userdata[i].json;
	}
	r.rid_done = rids;
	for (i = 0; i < IM_RIDS_DONE; i++) { /* oldest first */
		char *rid = is->rid_done[(is->rid_next + i) % IM_RIDS_DONE];

		if (rid != NULL)
			r.rid_done[r.nrid_done++] = rid;
	}
	waits = store_session_put(im->store, s->agent, &r, 1, done, arg);
	free(r.ud_key);
	free(r.ud_json);
	if (out != outs)
		free(out);
	return waits;
}

/* Free the layer's part of a session. */
static void
gws_im_sess_free(struct im_sess *is)
{
	struct im_out *o, *next;

	if (is == NULL)
		return;
	for (o = is->out; o != NULL; o = next) {
		next = o->next;
		free(o->location);
		free(o);
	}
	for (unsigned i = 0; i < IM_RIDS_DONE; i++)
		free(is->rid_done[i]);
	if (is->settle_timer != NULL)
		event_free(is->settle_timer);
	xlate_unref(is->rules);
	free(is->reason);
	free(is->reason_code);
	free(is->sender_phone);
	free(is);
}

/* A new part of SendMessage call c. */
struct im_part *
gws_im_part_new(struct im_call *c)
{
	struct im_part *part = xcalloc(1, sizeof *part);

	part->call = c;
	LIST_INSERT_HEAD(&c->partlist, part, entry);
	return part;
}

/* Free a part (answered, dropped, or its call freed). */
void
gws_im_part_free(struct im_part *part)
{
	LIST_REMOVE(part, entry);
	free(part);
}

/* Unlink and free a call. */
void
gws_im_call_free(struct im_call *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->im->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->req != NULL)
		http_req_set_abort(c->req, NULL, NULL);
	if (c->storing) /* freed while its row is on its way to Redis: no callback */
		store_forget(c->im->store, c);
	while (!LIST_EMPTY(&c->partlist)) /* their commands went with the agent */
		gws_im_part_free(LIST_FIRST(&c->partlist));
	free(c->parts);
	free(c->wait_opid);
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
		gws_im_call_free(im->calls);
	for (size_t i = 0; i < im->nrestart; i++)
		free(im->restart_opids[i]);
	free(im->restart_opids);
	if (im->restart_ev != NULL)
		event_free(im->restart_ev);
	session_table_free(im->sessions);
	free(im);
}

/* The desktop left before its answer: forget the request. */
static void
gws_im_call_abort(struct http_req *req, void *arg)
{
	struct im_call *c = arg;

	record_abort(req);
	c->req = NULL;
}

/* Park req until a UCWA command completes. */
struct im_call *
gws_im_call_new(struct gws_im *im, enum im_call_kind kind, struct http_req *req, struct agent *a,
    struct session *s)
{
	struct im_call *c = xcalloc(1, sizeof *c);

	c->im = im;
	c->kind = kind;
	LIST_INIT(&c->partlist);
	c->seq = ++im->seq;
	c->req = req;
	c->agent = xstrdup(a->name);
	memcpy(c->session_id, s->id, sizeof c->session_id);
	c->next = im->calls;
	if (im->calls != NULL)
		im->calls->prev = c;
	im->calls = c;
	if (req != NULL)
		http_req_set_abort(req, gws_im_call_abort, c);
	return c;
}

/* Whether c's UCWA command went (and may have been carried out): not held, waiting or kept. */
int
gws_im_call_issued(const struct im_call *c)
{
	return !c->held && c->wait_opid == NULL && c->nparts == 0 && !c->storing && !c->unstored;
}

/* Whether a UCWA command of agent is under way (a hand-over waits for it). */
int
gws_im_busy(const struct gws_im *im, const char *agent)
{
	for (const struct im_call *c = im->calls; c != NULL; c = c->next)
		if (strcmp(c->agent, agent) == 0)
			return 1;
	return 0;
}

/* Answer a parked request once (if the desktop is still there). */
void
gws_im_call_reply_ok(struct im_call *c)
{
	if (c->req != NULL && !c->answered) {
		http_req_set_abort(c->req, NULL, NULL);
		gws_reply_ok(c->req);
	}
	c->answered = 1;
	c->req = NULL;
}

/* Answer a parked request with an upstream failure. */
void
gws_im_call_reply_upstream(struct im_call *c, const struct ucwa_result *r)
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
struct session *
gws_im_call_session(struct im_call *c)
{
	return session_find(c->im->sessions, c->agent, c->session_id);
}

/* Build user data as one JSON object (NULL when there is none). */
struct json_doc *
gws_im_userdata_doc(const struct session *s)
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

/* Fill the translation view of a session. */
void
gws_im_view(const struct agent *a, const struct session *s, struct xlate_session *xs,
    const char **remote, struct json_doc *ud)
{
	const struct im_sess *is = s->im;

	memset(xs, 0, sizeof *xs);
	xs->id = s->id;
	xs->uri_base = a->base_uri ? a->base_uri : "http://localhost/api/v2";
	xs->state = s->state;
	*remote = s->remote_uri;
	xs->remote = remote;
	xs->nremote = s->remote_uri ? 1 : 0;
	xs->user_data = ud ? json_root(ud) : NULL;
	xs->var[XV_AGENT] = a->name;
	xs->var[XV_REASON] = is->reason;
	xs->var[XV_REASON_CODE] = is->reason_code;
}

/* Start recording the request if the agent is recorded (record.h). */
void
gws_im_record_begin(struct gws_im *im, struct http_req *req, const struct agent *a, const char *id,
    const struct json *body)
{
	struct session *s = id != NULL ? session_find(im->sessions, a->name, id)
				       : session_of_agent(im->sessions, a->name);
	struct json_doc *ud;
	struct xlate_session xs;
	const char *remote;

	if (!record_agent(a->name))
		return;
	ud = s != NULL ? gws_im_userdata_doc(s) : NULL;
	if (s != NULL)
		gws_im_view(a, s, &xs, &remote, ud);
	record_gws_begin(req, a->name, s != NULL ? &xs : NULL, body);
	json_doc_free(ud);
}

static void gws_im_restart_later(struct gws_im *im, struct session *s);

/* Whether a taken-over session still waits to learn whether UCWA got something. */
static int
gws_im_unsure(const struct im_sess *is)
{
	if (is->start_unsure)
		return 1;
	for (const struct im_out *o = is->out; o != NULL; o = o->next)
		if (o->unsure)
			return 1;
	return 0;
}

/*
 * A taken-over session with an unsure start or unsure messages settles as
 * soon as each is accounted for (UCWA's replay had an event about it:
 * UCWA took it), else once its agent's application has been resumed for
 * IM_SETTLE_MS: the event channel, resumed at the stored cursor, has by
 * then brought what UCWA held back (the replay may take several
 * responses: UCWA re-sends the set the previous owner did not
 * acknowledge, then what came after it), and UCWA sends an event about a
 * message (started) or an invitation as it takes it, however long the
 * delivery, so one without an event was never taken.
 */
static void
gws_im_settle_late(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct im_sess *is = s->im;
	struct agent *a = agents_find(is->im->agents, s->agent);
	struct timeval tv = { IM_SETTLE_POLL_MS / 1000, (IM_SETTLE_POLL_MS % 1000) * 1000 };
	int unsure = gws_im_unsure(is);

	if (a != NULL && a->ucwa != NULL && ucwa_agent_ready(a->ucwa))
		is->settle_ready++; /* resumed: its event channel's replay is under way */
	if (unsure && ++is->settle_polls < IM_SETTLE_MAX_MS / IM_SETTLE_POLL_MS &&
	    is->settle_ready < IM_SETTLE_MS / IM_SETTLE_POLL_MS) {
		evtimer_add(is->settle_timer, &tv);
		return;
	}
	if (unsure)
		log_info("agent %s: session %s: settled after the take-over (%u ms resumed; no "
			 "event from UCWA about some of it)",
		    s->agent, s->id, is->settle_ready * IM_SETTLE_POLL_MS);
	else
		log_info("agent %s: session %s: settled after the take-over (everything accounted "
			 "for)",
		    s->agent, s->id);
	is->settling = 0;
	if (is->start_unsure) { /* UCWA never got its startMessaging */
		is->start_unsure = 0;
		gws_im_restart_later(is->im, s);
	}
	gws_im_settle_sends(is->im, s->agent, s->id, s);
}

/* The sessions whose start is due again (gws_im_restart_later): started, if still unstarted. */
static void
gws_im_restart_due(evutil_socket_t fd, short what, void *arg)
{
	struct gws_im *im = arg;
	char **v = im->restart_opids;
	size_t n = im->nrestart;
	struct session *s;
	struct agent *a;

	im->restart_opids = NULL;
	im->nrestart = 0;
	for (size_t i = 0; i < n; i++) {
		if ((s = session_by_operation(im->sessions, v[i])) != NULL &&
		    s->conversation == NULL && s->state == SESSION_INITIATING &&
		    (a = agents_find(im->agents, s->agent)) != NULL)
			gws_im_start_again(im, a, s);
		free(v[i]);
	}
	free(v);
}

/*
 * Start s upstream again on the next loop turn (its operationId, the same
 * as before): out of the settle timer's callback, since a start refused
 * at once ends the session, and its timer with it.
 */
static void
gws_im_restart_later(struct gws_im *im, struct session *s)
{
	struct timeval now = { 0, 0 };

	if (im->restart_ev == NULL)
		im->restart_ev = evtimer_new(im->base, gws_im_restart_due, im);
	im->restart_opids = xreallocarray(im->restart_opids, im->nrestart + 1, sizeof(char *));
	im->restart_opids[im->nrestart++] = xstrdup(s->operation);
	evtimer_add(im->restart_ev, &now);
}

/* A settling session whose start and messages are all accounted for settles (next turn). */
void
gws_im_settle_soon(struct session *s)
{
	struct im_sess *is = s->im;
	struct timeval now = { 0, 0 };

	if (is->settling && is->settle_timer != NULL && !gws_im_unsure(is))
		evtimer_add(is->settle_timer, &now);
}

/* Record an event-channel response of a recorded agent (record.h). */
void
gws_im_record_events(struct gws_im *im, struct agent *a, const char *body, size_t len, int begin)
{
	struct session *s;
	struct json_doc *ud;
	struct xlate_session xs;
	const char *remote, *pending;

	if (!begin) {
		record_ucwa_end(a->name);
		return;
	}
	if (!record_agent(a->name))
		return;
	s = session_of_agent(im->sessions, a->name);
	ud = s != NULL ? gws_im_userdata_doc(s) : NULL;
	if (s != NULL)
		gws_im_view(a, s, &xs, &remote, ud);
	pending = s != NULL && s->im->out != NULL ? s->im->out->text : NULL;
	record_ucwa_begin(a->name, s != NULL ? &xs : NULL, pending, body, len);
	json_doc_free(ud);
}

/*
 * Issue a UCWA command of the IM layer: the one point every command of
 * gws_im_ops.c and gws_im_up.c passes, and so the one recording hook for
 * them. A command is recorded (into the agent's current input, record.h)
 * once the UCWA client has taken it, as the transcripts' model writes it
 * (startMessaging without its operationId); decline and leave are not
 * recorded (the model has no leave, and writes decline with a body the
 * gateway does not send: such transcripts would not replay).
 */
const char *
gws_im_ucwa(struct agent *a, enum gws_im_cmd cmd, const struct gws_im_cmd_args *x, ucwa_done done,
    void *arg)
{
	static const struct {
		const char *rel, *ctype;
	} recorded[] = {
		[GWS_IM_CMD_START] = { "startMessaging", "application/json" },
		[GWS_IM_CMD_SEND] = { "sendMessage", "text/plain; charset=UTF-8" },
		[GWS_IM_CMD_ACCEPT] = { "accept", NULL },
		[GWS_IM_CMD_DECLINE] = { NULL, NULL },
		[GWS_IM_CMD_CANCEL] = { "cancel", NULL },
		[GWS_IM_CMD_STOP] = { "stopMessaging", NULL },
		[GWS_IM_CMD_LEAVE] = { NULL, NULL },
	};
	const char *why = NULL;
	struct buf b;
	struct jw w;

	switch (cmd) {
	case GWS_IM_CMD_START:
		why = ucwa_start_messaging(a->ucwa, x->to, x->opid, x->subject, NULL, done, arg);
		break;
	case GWS_IM_CMD_SEND:
		why = ucwa_send_message(a->ucwa, x->conv, x->text, x->opid, done, arg);
		break;
	case GWS_IM_CMD_ACCEPT: why = ucwa_accept(a->ucwa, x->conv, done, arg); break;
	case GWS_IM_CMD_DECLINE: why = ucwa_decline(a->ucwa, x->conv, done, arg); break;
	case GWS_IM_CMD_CANCEL: why = ucwa_cancel(a->ucwa, x->conv, done, arg); break;
	case GWS_IM_CMD_STOP: why = ucwa_stop_messaging(a->ucwa, x->conv, done, arg); break;
	case GWS_IM_CMD_LEAVE: why = ucwa_leave(a->ucwa, x->conv, done, arg); break;
	}
	if (why != NULL || recorded[cmd].rel == NULL || !record_agent(a->name))
		return why;
	buf_init(&b);
	if (cmd == GWS_IM_CMD_START) { /* the model's body: no operationId */
		jw_init(&w, &b);
		jw_obj_begin(&w);
		jw_kstr(&w, "to", x->to);
		if (x->subject != NULL)
			jw_kstr(&w, "subject", x->subject);
		jw_obj_end(&w);
	}
	record_upstream(
	    a->name, recorded[cmd].rel, recorded[cmd].ctype, b.len > 0 ? b.data : NULL, x->text);
	buf_free(&b);
	return NULL;
}

/* Publish a state notification ("StatusChange" or "AttachedDataChanged"). */
void
gws_im_notify_state(struct gws_im *im, const struct agent *a, struct session *s, const char *type)
{
	struct im_sess *is = s->im;
	struct json_doc *ud = gws_im_userdata_doc(s);
	struct xlate_session xs;
	const char *remote;
	struct buf b;

	gws_im_view(a, s, &xs, &remote, ud);
	buf_init(&b);
	xlate_notify_state(is->rules, &xs, type, &b);
	cometd_publish(im->cometd, a->name, IM_CHANNEL, b.data);
	log_info("agent %s: session %s: %s %s", a->name, s->id, type, session_state_name(s->state));
	is->announced = 1;
	gws_im_store(im, s);
	buf_free(&b);
	json_doc_free(ud);
}

/* The remote party's phone number through the session's rules ($sender_phone);
 * the address and the rules never change during a session, so made once. */
static const char *
gws_im_sender_phone(struct session *s)
{
	struct im_sess *is = s->im;
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
void
gws_im_notify_message(struct gws_im *im, const struct agent *a, struct session *s, const char *text,
    const struct ucwa_change *ch, int failed)
{
	struct im_sess *is = s->im;
	struct xlate_session xs;
	const char *remote;
	char *notice = NULL;
	struct buf b;

	gws_im_view(a, s, &xs, &remote, NULL);
	if (ch != NULL) {
		xs.var[XV_SENDER] =
		    ch->direction && strcmp(ch->direction, "Incoming") == 0 ? s->remote_uri : NULL;
		if (xs.var[XV_SENDER] != NULL && xlate_uses_var(is->rules, XV_SENDER_PHONE))
			xs.var[XV_SENDER_PHONE] = gws_im_sender_phone(s);
		xs.var[XV_SENDER_NAME] = ch->participant_name;
		xs.var[XV_DIRECTION] = ch->direction;
		xs.var[XV_TIMESTAMP] = ch->timestamp;
		if (ch->reason_message != NULL)
			xs.var[XV_REASON] = ch->reason_message;
	}
	xs.var[XV_TEXT] = text;
	if (failed && (notice = xlate_text_undelivered(is->rules, &xs)) == NULL)
		return;
	buf_init(&b);
	xlate_notify_message(is->rules, &xs, failed ? notice : text, &b);
	cometd_publish(im->cometd, a->name, IM_CHANNEL, b.data);
	buf_free(&b);
	free(notice);
}

/* Move a session to a new state; Completed ends it. */
void
gws_im_set_state(struct gws_im *im, struct agent *a, struct session *s, enum session_state st)
{
	if (st == SESSION_NONE || st == s->state)
		return;
	if (st == SESSION_COMPLETED) {
		gws_im_end(im, a, s);
		return;
	}
	/* Never back: Talking does not return to Initiating or Alerting. */
	if (st < s->state)
		return;
	s->state = st;
	gws_im_notify_state(im, a, s, "StatusChange");
}

/* Whether a call of this kind for s still waits for UCWA. */
static int
gws_im_call_pending(struct gws_im *im, const struct session *s, enum im_call_kind kind)
{
	for (struct im_call *c = im->calls; c != NULL; c = c->next) {
		if (c->kind == kind && !c->answered && strcmp(c->session_id, s->id) == 0 &&
		    strcmp(c->agent, s->agent) == 0)
			return 1;
	}
	return 0;
}

/*
 * End a session: notify Completed (if the desktop knew it), forget it. An
 * outgoing session that ends before its startMessaging's 201 (events may
 * beat the 201) is kept, unbound from UCWA, until the 201: the desktop then
 * gets its statusCode 0, Initiating and Completed with the reason
 * (gws_im_initiate_done), as gws.md promises.
 */
void
gws_im_end(struct gws_im *im, struct agent *a, struct session *s)
{
	struct im_sess *is = s->im;

	if (!is->announced && s->dir == SESSION_OUTGOING &&
	    gws_im_call_pending(im, s, IM_CALL_INITIATE)) {
		if (!is->ended_early)
			log_info("agent %s: session %s: ended before its 201; told after it",
			    a->name, s->id);
		is->ended_early = 1;
		session_bind_conversation(im->sessions, s, NULL);
		session_bind_operation(im->sessions, s, NULL);
		gws_im_store(im, s);
		return;
	}

	s->state = SESSION_COMPLETED;
	if (is->announced)
		gws_im_notify_state(im, a, s, "StatusChange");
	else
		log_info("agent %s: session %s: ended before it was announced", a->name, s->id);
	char *agent = xstrdup(s->agent), sid[SESSION_ID_LEN + 1];

	snprintf(sid, sizeof sid, "%s", s->id);
	gws_im_sess_free(is);
	s->im = NULL;
	gws_im_store(im, s); /* deletes the row */
	session_remove(im->sessions, s);
	gws_im_settle_sends(im, agent, sid, NULL); /* held or repeated SendMessages fail */
	free(agent);
}

/*
 * Free a session here only: its row stays in the store for the agent's
 * next owner (written now if marked: the store's flush could not read it);
 * keep 0: deleted from the store too (an InitiateIMSession whose
 * startMessaging never went, told to retry: the next owner must not start
 * it as well).
 */
void
gws_im_forget(struct gws_im *im, struct session *s, int keep)
{
	if (s->im != NULL && keep)
		gws_im_store_wait(im, s, 1, NULL, NULL);
	gws_im_sess_free(s->im);
	s->im = NULL;
	if (!keep)
		gws_im_store(im, s); /* deletes the row */
	session_remove(im->sessions, s);
}

/* A stored row becomes the agent's session again (cluster take-over); -1 with *why. */
int
gws_im_restore(struct gws_im *im, struct agent *a, const struct store_session *r, const char **why)
{
	struct session *s;
	struct im_sess *is;

	if (r->state < 0 || r->state >= SESSION_NSTATES || r->state == SESSION_COMPLETED ||
	    (r->dir != SESSION_OUTGOING && r->dir != SESSION_INCOMING)) {
		*why = "a stored IM session has a state or direction out of range";
		return -1;
	}
	if ((s = session_new_as(im->sessions, a->name, (enum session_dir)r->dir, r->id, why)) ==
	    NULL)
		return -1;
	s->state = (enum session_state)r->state;
	s->created_ms = r->created_ms;
	session_set_remote(s, r->remote_uri, r->remote_phone);
	if (r->conversation != NULL)
		session_bind_conversation(im->sessions, s, r->conversation);
	if (r->operation != NULL)
		session_bind_operation(im->sessions, s, r->operation);
	for (size_t i = 0; i < r->nud; i++)
		(void)session_userdata_put(s, r->ud_key[i], r->ud_json[i]);
	is = xcalloc(1, sizeof *is);
	is->rules = xlate_ref(xlate_current());
	is->announced = r->announced;
	s->im = is;
	for (size_t i = 0; i < r->nout; i++) {
		struct im_out *o;

		gws_im_out_add(s, r->out[i].opid, r->out[i].text, r->out[i].rid);
		o = gws_im_out_find(is, r->out[i].opid, NULL);
		if (r->out[i].location != NULL)
			o->location = xstrdup(r->out[i].location);
		else /* its POST may or may not have reached UCWA: the replay tells */
			o->unsure = is->settling = 1;
	}
	/* its startMessaging may or may not have reached UCWA: the replay tells (operationId) */
	if (r->dir == SESSION_OUTGOING && r->state == SESSION_INITIATING && r->operation != NULL &&
	    r->conversation == NULL)
		is->start_unsure = is->settling = 1;
	for (size_t i = 0; i < r->nrid_done; i++) {
		is->rid_done[is->rid_next] = xstrdup(r->rid_done[i]);
		is->rid_next = (is->rid_next + 1) % IM_RIDS_DONE;
	}
	if (is->settling) {
		struct timeval tv = { IM_SETTLE_POLL_MS / 1000, (IM_SETTLE_POLL_MS % 1000) * 1000 };

		is->im = im;
		is->settle_timer = evtimer_new(im->base, gws_im_settle_late, s);
		evtimer_add(is->settle_timer, &tv);
	}
	log_info("agent %s: session %s restored (%s, %zu messages unconfirmed)", a->name, s->id,
	    session_state_name(s->state), r->nout);
	gws_im_store(im, s); /* into this node's mirror of the store */
	return 0;
}

/* Record an upstream reason on the session. */
void
gws_im_set_reason(struct session *s, const char *message, const char *code, const char *subcode)
{
	struct im_sess *is = s->im;

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
struct session *
gws_im_session_new(struct gws_im *im, struct agent *a, enum session_dir dir, const char **cause)
{
	struct session *s = session_new(im->sessions, a->name, dir, cause);
	struct im_sess *is;

	if (s == NULL)
		return NULL;
	is = xcalloc(1, sizeof *is);
	is->rules = xlate_ref(xlate_current());
	s->im = is;
	return s;
}

/* ---- desktop side: reading ---- */

/* The outgoing message with this operationId, or NULL. */
struct im_out *
gws_im_out_find(struct im_sess *is, const char *opid, struct im_out ***link)
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
void
gws_im_out_remove(struct im_sess *is, struct im_out **link)
{
	struct im_out *o = *link;

	*link = o->next;
	is->nout--;
	free(o->location);
	free(o);
}

/* Whether a message with this X-Request-Id was delivered (or refused) in the session. */
int
gws_im_rid_done(const struct im_sess *is, const char *rid)
{
	for (unsigned i = 0; i < IM_RIDS_DONE; i++)
		if (is->rid_done[i] != NULL && strcmp(is->rid_done[i], rid) == 0)
			return 1;
	return 0;
}

/*
 * UCWA took outgoing message o: an event about it (started as UCWA takes
 * it, or completed) came, href its own. It is sent, whatever its 201 said
 * or a previous owner knew: its href becomes its Location (written in the
 * row with the event channel's cursor, so a next owner knows it was sent),
 * and a message taken over unsure is sure now: never sent again, and a
 * repeat of its SendMessage waiting for it is answered, as the first would
 * have been at its 201.
 */
void
gws_im_out_taken(struct gws_im *im, struct session *s, struct im_out *o, const char *href)
{
	struct im_call *c;

	if (o->location == NULL && href != NULL) {
		o->location = xstrdup(href);
		gws_im_store_out(im, s);
	}
	if (!o->unsure)
		return;
	o->unsure = 0;
	log_info("agent %s: session %s: a message the previous owner sent was taken by Skype for "
		 "Business",
	    s->agent, s->id);
	if ((c = gws_im_call_waiting(im, s, o->opid)) != NULL) {
		gws_im_call_reply_ok(c);
		if (--c->parts_left == 0)
			gws_im_call_free(c);
	}
	gws_im_settle_soon(s);
}

/*
 * Outgoing message o has its delivery event (success or failure): its
 * X-Request-Id is remembered as done, and a repeat of its SendMessage that
 * waited for it (taken over unsure) is answered as the first would have been.
 */
void
gws_im_out_delivered(struct gws_im *im, struct session *s, struct im_out *o)
{
	struct im_sess *is = s->im;
	struct im_call *c;

	if (o->rid != NULL && !gws_im_rid_done(is, o->rid)) {
		free(is->rid_done[is->rid_next]);
		is->rid_done[is->rid_next] = xstrdup(o->rid);
		is->rid_next = (is->rid_next + 1) % IM_RIDS_DONE;
	}
	if ((c = gws_im_call_waiting(im, s, o->opid)) != NULL) {
		gws_im_call_reply_ok(c);
		if (--c->parts_left == 0)
			gws_im_call_free(c);
	}
}

/* The repeated SendMessage waiting for s's message opid, no longer waiting; or NULL. */
struct im_call *
gws_im_call_waiting(struct gws_im *im, const struct session *s, const char *opid)
{
	for (struct im_call *c = im->calls; c != NULL; c = c->next) {
		if (c->wait_opid != NULL && strcmp(c->wait_opid, opid) == 0 &&
		    strcmp(c->session_id, s->id) == 0 && strcmp(c->agent, s->agent) == 0) {
			free(c->wait_opid);
			c->wait_opid = NULL;
			return c;
		}
	}
	return NULL;
}

/* Remember an outgoing message until its delivery event. */
void
gws_im_out_add(struct session *s, const char *opid, const char *text, const char *rid)
{
	struct im_sess *is = s->im;
	size_t olen = strlen(opid) + 1, tlen = strlen(text) + 1, rlen = rid ? strlen(rid) + 1 : 0;
	struct im_out *o = xcalloc(1, sizeof *o + olen + tlen + rlen); /* the strings follow */
	struct im_out **pp;
	char *str = (char *)(o + 1);

	o->opid = memcpy(str, opid, olen);
	o->text = memcpy(str + olen, text, tlen);
	o->rid = rid != NULL ? memcpy(str + olen + tlen, rid, rlen) : NULL;
	for (pp = &is->out; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = o;
	is->nout++;
}

/* Sessions by state (metrics, systemd status). */
void
gws_im_count_states(const struct gws_im *im, unsigned *counts, size_t n)
{
	unsigned all[SESSION_NSTATES] = { 0 };

	if (im != NULL)
		session_table_count_states(im->sessions, all);
	for (size_t i = 0; i < n; i++)
		counts[i] = i < SESSION_NSTATES ? all[i] : 0;
}
