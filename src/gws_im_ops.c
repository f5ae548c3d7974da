/*
 * gws_im_ops.c: the desktop side of the IM Session API. A request is
 * checked (body, parameters, the session's capabilities in its state) and
 * answered with a precise error, changing nothing, when it is bad; else it
 * is carried out upstream, and its HTTP answer waits for UCWA to accept.
 */
#include <stdlib.h>
#include <string.h>

#include "gws_im_int.h"
#include "gws_me.h"
#include "log.h"
#include "metrics.h"
#include "record.h"

/* Write the imSession object of s. */
static void
gws_im_write_session(const struct agent *a, struct session *s, struct jw *w)
{
	struct json_doc *ud = gws_im_userdata_doc(s);
	struct xlate_session xs;
	const char *remote;

	gws_im_view(a, s, &xs, &remote, ud);
	xlate_write_session(s->im->rules, &xs, w);
	json_doc_free(ud);
}

/* GET /api/v2/me/im-sessions[?fields=*]. */
void
gws_im_list(struct gws_im *im, struct http_req *req, struct agent *a)
{
	struct session *s = session_of_agent(im->sessions, a->name);
	int all = gws_reply_want_fields(req);
	struct buf b;
	struct jw w;

	gws_reply_ok_begin(&w, &b);
	jw_key(&w, all ? "imSessions" : "uris");
	jw_arr_begin(&w);
	if (s != NULL && all)
		gws_im_write_session(a, s, &w);
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
	gws_reply_ok_begin(&w, &b);
	jw_key(&w, "imSession");
	gws_im_write_session(a, s, &w);
	jw_obj_end(&w);
	gws_reply_json(req, 200, &b);
}

/* ---- desktop side: operations ---- */

/* 503 when the agent cannot reach UCWA now; returns 1 if it answered. */
static int
gws_im_require_upstream(struct http_req *req, struct agent *a)
{
	if (a->ucwa != NULL && ucwa_agent_ready(a->ucwa))
		return 0;
	gws_reply_error(req, 503, GWS_INTERNAL, "Skype for Business is not available at this time");
	return 1;
}

/* The destination.phoneNumber parameter, or NULL after answering. */
static const char *
gws_im_destination(struct http_req *req, const struct json *body, int required)
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

/* Bytes a user-data value takes as JSON. */
static size_t
gws_im_userdata_value_bytes(const struct json *v)
{
	struct buf b;
	struct jw w;
	size_t n;

	buf_init(&b);
	jw_init(&w, &b);
	jw_value(&w, v);
	n = b.len;
	buf_free(&b);
	return n;
}

/*
 * Check a userData object for session s (NULL: a new session): flat,
 * values strings or numbers, keys and values and the session's total
 * within the bounds of session.h. *range is set when a bound is the reason.
 */
static const char *
gws_im_check_userdata(const struct json *ud, const struct session *s, int *range)
{
	size_t total = s != NULL ? session_userdata_bytes(s) : 0, vb;
	const char *old;

	*range = 0;
	if (ud->type != JSON_OBJECT)
		return "userData must be an object";
	*range = 1;
	if (ud->u.obj.n > SESSION_MAX_USERDATA)
		return "userData has too many keys";
	for (size_t i = 0; i < ud->u.obj.n; i++) {
		const struct json_member *m = &ud->u.obj.m[i];
		enum json_type t = m->val->type;

		*range = 0;
		if (t != JSON_STRING && t != JSON_INT && t != JSON_DOUBLE)
			return "userData values must be strings or numbers";
		if (m->keylen == 0 || memchr(m->key, '\0', m->keylen) != NULL)
			return "userData keys must be non-empty strings";
		*range = 1;
		if (m->keylen > SESSION_MAX_USERDATA_KEY)
			return "userData key longer than 256 bytes";
		if ((vb = gws_im_userdata_value_bytes(m->val)) > SESSION_MAX_USERDATA_VALUE)
			return "userData value longer than 16384 bytes";
		if (s != NULL && (old = session_userdata_get(s, m->key)) != NULL)
			total -= m->keylen + strlen(old);
		total += m->keylen + vb;
	}
	if (total > SESSION_MAX_USERDATA_BYTES)
		return "userData of the session would exceed 65536 bytes";
	*range = 0;
	return NULL;
}

/* Put every pair of a checked userData object into the session. */
static int
gws_im_put_userdata(struct session *s, const struct json *ud)
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
gws_im_initiate_done(const struct ucwa_result *r, void *arg)
{
	struct im_call *c = arg;
	struct session *s = gws_im_call_session(c);

	struct agent *a = agents_find(c->im->agents, c->agent);

	if (r->ok) {
		gws_im_call_reply_ok(c);
		if (s != NULL && a != NULL && !s->im->announced)
			gws_im_notify_state(c->im, a, s, "StatusChange");
		if (s != NULL && a != NULL && s->im->ended_early)
			gws_im_end(c->im, a, s); /* it failed before this 201: Completed now */
	} else {
		gws_im_call_reply_upstream(c, r);
		if (s != NULL && a != NULL) {
			gws_im_set_reason(s, r->message, r->code, r->subcode);
			gws_im_end(c->im, a, s);
		}
	}
	gws_im_call_free(c);
}

/*
 * Post c's startMessaging (its session's remote, operationId and subject);
 * a command that cannot go fails the call at once.
 */
static void
gws_im_initiate_go(struct im_call *c)
{
	struct session *s = gws_im_call_session(c);
	struct agent *a = agents_find(c->im->agents, c->agent);
	struct json_doc *ud;
	const char *cause = "the session ended";
	char *subject;

	if (s != NULL && a != NULL) {
		ud = gws_im_userdata_doc(s);
		subject = xlate_subject(s->im->rules, ud != NULL ? json_root(ud) : NULL);
		cause = gws_im_ucwa(a, GWS_IM_CMD_START,
		    &(struct gws_im_cmd_args){
			.to = s->remote_uri, .opid = s->operation, .subject = subject },
		    gws_im_initiate_done, c);
		free(subject);
		json_doc_free(ud);
	}
	if (cause != NULL) {
		struct ucwa_result r = { .ok = 0, .status = 0, .message = cause };

		gws_im_initiate_done(&r, c);
	}
}

/* Cluster mode: the session's row, with its operationId, is in Redis (or cannot be): post. */
static void
gws_im_initiate_stored(void *arg, enum store_result r, const char *why)
{
	struct im_call *c = arg;

	c->storing = 0;
	gws_im_initiate_go(c);
}

/*
 * InitiateIMSession. In cluster mode the startMessaging goes once the
 * session's row (with its operationId) is in Redis: a new owner then knows
 * every session that may have been started upstream, and finds its
 * conversation in UCWA's replay by that operationId (gws_im_restore).
 */
static void
gws_im_initiate(struct gws_im *im, struct http_req *req, struct agent *a, struct session *unused,
    const struct json *body, const char *op)
{
	const struct json *ud = json_get(body, "userData");
	const char *phone, *cause, *msg;
	int range;
	char *sip = NULL;
	struct session *s;
	struct im_call *c;

	if ((phone = gws_im_destination(req, body, 1)) == NULL)
		return;
	if (ud != NULL && ud->type != JSON_NULL &&
	    (msg = gws_im_check_userdata(ud, NULL, &range)) != NULL) {
		gws_reply_error(req, 400, range ? GWS_OUT_OF_RANGE : GWS_INVALID_STATE, msg);
		return;
	}
	if (gws_im_require_upstream(req, a))
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
	s = gws_im_session_new(im, a, SESSION_OUTGOING, &cause);
	session_set_remote(s, sip, phone);
	free(sip);
	if (ud != NULL && ud->type == JSON_OBJECT)
		gws_im_put_userdata(s, ud);
	session_bind_operation(im->sessions, s, s->id);
	c = gws_im_call_new(im, IM_CALL_INITIATE, req, a, s);
	if (gws_im_store_wait(im, s, 1, gws_im_initiate_stored, c))
		c->storing = 1;
	else
		gws_im_initiate_go(c);
}

/*
 * A session taken over before its startMessaging's conversation was
 * known, of which UCWA's replay had no event: UCWA never got it (its node
 * died before the POST went). Started again, once, with the same
 * operationId; the desktop hears of it as of any new session.
 */
void
gws_im_start_again(struct gws_im *im, struct agent *a, struct session *s)
{
	log_info("agent %s: session %s: its startMessaging never reached Skype for Business: "
		 "starting it",
	    a->name, s->id);
	gws_im_initiate_go(gws_im_call_new(im, IM_CALL_INITIATE, NULL, a, s));
}

/* Whether the session's state offers capability cap; answers 400 if not. */
static int
gws_im_require_cap(struct http_req *req, struct session *s, unsigned cap, const char *op)
{
	struct im_sess *is = s->im;
	char *msg;

	if (xlate_caps(is->rules, s->state) & cap)
		return 0;
	xasprintf(&msg, "Invalid state: %s is not possible while the session is %s", op,
	    xlate_names_state(s->state));
	gws_reply_error(req, 400, GWS_INVALID_STATE, msg);
	free(msg);
	return 1;
}

/* One part of a SendMessage accepted (or refused) upstream. */
static void
gws_im_send_done(const struct ucwa_result *r, void *arg)
{
	struct im_part *part = arg;
	struct im_call *c = part->call;
	struct session *s = gws_im_call_session(c);
	struct im_out *o, **link;

	if (!r->ok)
		metrics_inc(M_MESSAGES, "result=\"failed\"");
	if (s != NULL && (o = gws_im_out_find(s->im, part->opid, &link)) != NULL) {
		if (!r->ok)
			gws_im_out_remove(s->im, link);
		else if (r->location != NULL && o->location == NULL)
			o->location = xstrdup(r->location);
		gws_im_store_out(c->im, s);
	}
	if (!r->ok)
		gws_im_call_reply_upstream(c, r);
	gws_im_part_free(part);
	if (--c->parts_left == 0) {
		gws_im_call_reply_ok(c);
		gws_im_call_free(c);
	}
}

/*
 * Send the parts of c upstream (their texts are the session's unconfirmed
 * messages); a part that cannot go fails, and the ones after it are
 * dropped. The caller holds one of c->parts_left.
 */
static void
gws_im_send_issue(
    struct agent *a, struct session *s, struct im_call *c, struct im_part **parts, size_t n)
{
	const char *cause;

	for (size_t i = 0; i < n; i++) {
		struct im_part *part = parts[i];
		struct im_out *o = s != NULL ? gws_im_out_find(s->im, part->opid, NULL) : NULL;

		cause = a == NULL || o == NULL
		    ? "the session ended"
		    : gws_im_ucwa(a, GWS_IM_CMD_SEND,
			  &(struct gws_im_cmd_args){
			      .conv = s->conversation, .text = o->text, .opid = part->opid },
			  gws_im_send_done, part);
		if (cause != NULL) {
			struct ucwa_result r = { .ok = 0, .status = 503, .message = cause };
			struct im_out **link;

			c->parts_left -= (unsigned)(n - i - 1);
			for (size_t j = i + 1; j < n; j++) {
				if (s != NULL &&
				    gws_im_out_find(s->im, parts[j]->opid, &link) != NULL)
					gws_im_out_remove(s->im, link);
				gws_im_part_free(parts[j]);
			}
			gws_im_send_done(&r, part);
			break;
		}
	}
}

/* Let go of the hold on c; the last part answers the call. */
static void
gws_im_send_release(struct im_call *c)
{
	if (--c->parts_left == 0) {
		gws_im_call_reply_ok(c);
		gws_im_call_free(c);
	}
}

/* Send c's kept parts, then let go of the hold on it. */
static void
gws_im_send_kept(struct im_call *c, struct agent *a, struct session *s)
{
	struct im_part **parts = c->parts;
	size_t n = c->nparts;

	c->parts = NULL;
	c->nparts = 0;
	gws_im_send_issue(a, s, c, parts, n);
	free(parts);
	gws_im_send_release(c);
}

/* Send c's kept parts, or hold them while the session settles (after the take-over's). */
static void
gws_im_send_go(struct im_call *c, struct agent *a, struct session *s)
{
	if (s != NULL && s->im->settling)
		c->held = 1; /* after the messages the previous owner may have sent */
	else
		gws_im_send_kept(c, a, s);
}

/* Cluster mode: whether a SendMessage whose row is not stored waits (this node may be cut). */
static int
gws_im_holding(const struct gws_im *im)
{
	return im->store != NULL && im->hold != NULL && im->hold(im->hold_arg);
}

/* Hold c until its row is stored or Redis is found down for all (gws_im_hold_changed). */
static void
gws_im_send_unstored(struct im_call *c)
{
	if (!c->unstored)
		log_info("agent %s: session %s: a SendMessage held: its row cannot be stored now",
		    c->agent, c->session_id);
	c->unstored = 1;
}

/*
 * Cluster mode: the row with the parts' operation ids is in Redis (or
 * fenced: sent, the lease's holder settles it): send them; a row not
 * written while this node may be cut from Redis holds them.
 */
static void
gws_im_send_stored(void *arg, enum store_result r, const char *why)
{
	struct im_call *c = arg;

	c->storing = 0;
	if (r == STORE_FAILED && gws_im_holding(c->im)) {
		gws_im_send_unstored(c);
		return;
	}
	gws_im_send_go(c, agents_find(c->im->agents, c->agent), gws_im_call_session(c));
}

/* Cluster mode: the hold hook (see gws_im.h). */
void
gws_im_set_hold(struct gws_im *im, int (*hold)(void *), void *arg)
{
	im->hold = hold;
	im->hold_arg = arg;
}

/* Put calls v[0..n) in the order they were made (few: insertion sort). */
static void
gws_im_calls_by_seq(struct im_call **v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j - 1]->seq > v[j]->seq; j--) {
			struct im_call *t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

/* The hold hook's answer may have changed: held SendMessages are stored then sent, or sent. */
void
gws_im_hold_changed(struct gws_im *im)
{
	struct im_call **v = NULL;
	size_t n = 0;

	for (struct im_call *c = im->calls; c != NULL; c = c->next)
		if (c->unstored) {
			v = xreallocarray(v, n + 1, sizeof *v);
			v[n++] = c;
		}
	gws_im_calls_by_seq(v, n);
	for (size_t i = 0; i < n; i++) { /* each goes on its own: none frees another */
		struct im_call *c = v[i];
		struct session *s = gws_im_call_session(c);

		if (s != NULL && store_waitable(im->store)) {
			c->unstored = 0;
			if (gws_im_store_wait(im, s, 0, gws_im_send_stored, c))
				c->storing = 1;
			else if (gws_im_holding(im))
				c->unstored = 1;
			else
				gws_im_send_go(c, agents_find(im->agents, c->agent), s);
		} else if (s == NULL || !gws_im_holding(im)) {
			c->unstored = 0;
			gws_im_send_go(c, agents_find(im->agents, c->agent), s);
		}
	}
	free(v);
}

/* Resend a message taken over unsure, for the repeat that waits for it or for nobody. */
static void
gws_im_send_again(struct gws_im *im, struct agent *a, struct session *s, struct im_out *o)
{
	struct im_part *part;
	struct im_call *c;

	if ((c = gws_im_call_waiting(im, s, o->opid)) == NULL) { /* else its hold is the part's */
		c = gws_im_call_new(im, IM_CALL_SEND, NULL, a, s);
		c->parts_left = 1;
	}
	part = gws_im_part_new(c);
	snprintf(part->opid, sizeof part->opid, "%s", o->opid);
	log_info("agent %s: session %s: a message the previous owner may not have sent: sending "
		 "it",
	    s->agent, s->id);
	gws_im_send_issue(a, s, c, &part, 1);
}

/* Held and repeated SendMessages of a session, in the order they came. */
static size_t
gws_im_settle_calls(struct gws_im *im, const char *agent, const char *sid, struct im_call ***out)
{
	struct im_call **v = NULL;
	size_t n = 0;

	for (struct im_call *c = im->calls; c != NULL; c = c->next) {
		if ((c->held || c->wait_opid != NULL) && strcmp(c->session_id, sid) == 0 &&
		    strcmp(c->agent, agent) == 0) {
			v = xreallocarray(v, n + 1, sizeof *v);
			v[n++] = c;
		}
	}
	gws_im_calls_by_seq(v, n);
	*out = v;
	return n;
}

/*
 * A taken-over session settled (s), or ended (s NULL): send again each
 * message the previous owner may not have sent (the replay did not
 * deliver it), then the SendMessages held meanwhile, in order; a repeat
 * whose message is gone, and with s NULL everything, fails.
 */
void
gws_im_settle_sends(struct gws_im *im, const char *agent, const char *sid, struct session *s)
{
	struct agent *a = agents_find(im->agents, agent);
	struct im_call **v;
	struct im_out *o, *next;
	size_t n;

	for (o = s != NULL && a != NULL ? s->im->out : NULL; o != NULL; o = next) {
		next = o->next;
		if (o->unsure) {
			o->unsure = 0;
			gws_im_send_again(im, a, s, o);
		}
	}
	n = gws_im_settle_calls(im, agent, sid, &v);
	for (size_t i = 0; i < n; i++) {
		struct im_call *c = v[i];

		if (c->held) {
			c->held = 0;
			gws_im_send_kept(c, a, s);
		} else if (c->wait_opid != NULL) {
			struct ucwa_result r = { .ok = 0,
				.status = 503,
				.message = "the session ended before the message was confirmed" };

			gws_im_call_reply_upstream(c, &r);
			gws_im_call_free(c);
		}
	}
	free(v);
}

/* Whether rid is a usable X-Request-Id: 1 to IM_RID_MAX printable ASCII characters. */
static int
gws_im_rid_ok(const char *rid)
{
	size_t n = 0;

	for (; rid[n] != '\0'; n++)
		if (n >= IM_RID_MAX || rid[n] < 0x21 || rid[n] > 0x7e)
			return 0;
	return n > 0;
}

/*
 * A SendMessage repeated with an X-Request-Id already seen in the session
 * (the desktop retries after its first attempt died with a node): answered
 * as the first was, never sent twice; 1 if so.
 */
static int
gws_im_send_repeat(
    struct gws_im *im, struct http_req *req, struct agent *a, struct session *s, const char *rid)
{
	struct im_call *c;
	struct im_out *o;

	if (gws_im_rid_done(s->im, rid)) {
		gws_reply_ok(req);
		return 1;
	}
	for (o = s->im->out; o != NULL && (o->rid == NULL || strcmp(o->rid, rid) != 0); o = o->next)
		;
	if (o == NULL)
		return 0;
	if (o->location != NULL) /* accepted upstream; its delivery is notified */
		gws_reply_ok(req);
	else if (o->unsure) { /* wait for what the replay says */
		c = gws_im_call_new(im, IM_CALL_SEND, req, a, s);
		c->wait_opid = xstrdup(o->opid);
		c->parts_left = 1;
	} else {
		http_req_add_header(req, "Retry-After", "1");
		gws_reply_error(req, 503, GWS_INTERNAL,
		    "A SendMessage with this X-Request-Id is under way; retry");
	}
	return 1;
}

/*
 * Queue the parts of a message upstream; the call is answered when all
 * are in. In cluster mode, the POSTs go once the row holding their
 * operation ids is in Redis (a new owner then knows what may have been
 * sent).
 */
static void
gws_im_send_parts(struct agent *a, struct session *s, struct im_call *c,
    const struct xlate_parts *parts, const char *rid)
{
	struct im_part **v = xcalloc(parts->n + 1, sizeof *v);

	c->parts_left = (unsigned)parts->n + 1; /* +1: held until every part is queued */
	for (size_t i = 0; i < parts->n; i++) {
		v[i] = gws_im_part_new(c);
		util_random_id(v[i]->opid, 16, UTIL_BASE62);
		gws_im_out_add(s, v[i]->opid, parts->v[i], rid);
	}
	c->parts = v;
	c->nparts = parts->n;
	if (gws_im_store_wait(c->im, s, 0, gws_im_send_stored, c))
		c->storing = 1;
	else if (gws_im_holding(c->im))
		gws_im_send_unstored(c);
	else
		gws_im_send_go(c, a, s);
}

/* SendMessage. */
static void
gws_im_send(struct gws_im *im, struct http_req *req, struct agent *a, struct session *s,
    const struct json *body, const char *op)
{
	struct im_sess *is = s->im;
	struct xlate_parts parts = { 0 };
	const char *text, *cause, *rid = http_req_header(req, "X-Request-Id");
	int bad = 0;

	if ((text = gws_reply_param_str(body, "text", &bad)) == NULL) {
		gws_reply_error(req, 400, bad ? GWS_INVALID_STATE : GWS_MISSING_PARAM,
		    bad ? "text must be a string" : "Missing parameter: text");
		return;
	}
	if (text[strspn(text, " \t\r\n")] == '\0') {
		gws_reply_error(req, 400, GWS_MISSING_PARAM, "Missing parameter: text (empty)");
		return;
	}
	if (rid != NULL && !gws_im_rid_ok(rid)) {
		gws_reply_error(req, 400, GWS_INVALID_STATE,
		    "X-Request-Id must be 1 to 64 printable ASCII characters");
		return;
	}
	if (gws_im_destination(req, body, 0) == NULL ||
	    gws_im_require_cap(req, s, XLATE_CAP_SEND, "SendMessage"))
		return;
	if (rid != NULL && gws_im_send_repeat(im, req, a, s, rid))
		return;
	if (gws_im_require_upstream(req, a))
		return;
	if (xlate_text_out(is->rules, text, &parts, &cause) != XLATE_TEXT_OK) {
		metrics_inc(M_MESSAGES, "result=\"refused\"");
		gws_reply_error(req, 400, GWS_OUT_OF_RANGE, cause);
		return;
	}
	if (parts.n > 1)
		metrics_inc(M_MESSAGES, "result=\"split\"");
	if (is->nout + parts.n > IM_MAX_OUT)
		gws_reply_error(req, 503, GWS_INTERNAL, "Too many messages waiting for delivery");
	else
		gws_im_send_parts(a, s, gws_im_call_new(im, IM_CALL_SEND, req, a, s), &parts, rid);
	xlate_text_parts_free(&parts);
}

/* The conversation was left upstream: end the session, answer Complete. */
static void
gws_im_complete_done(const struct ucwa_result *r, void *arg)
{
	struct im_call *c = arg;
	struct session *s = gws_im_call_session(c);

	struct agent *a = agents_find(c->im->agents, c->agent);

	if (r->ok || r->status == 404 || r->status == 410) {
		gws_im_call_reply_ok(c);
		if (s != NULL && a != NULL)
			gws_im_end(c->im, a, s);
	} else
		gws_im_call_reply_upstream(c, r);
	gws_im_call_free(c);
}

/* Complete. */
static void
gws_im_complete(struct gws_im *im, struct http_req *req, struct agent *a, struct session *s,
    const struct json *body, const char *op)
{
	struct im_call *c;
	const char *cause;

	if (gws_im_require_cap(req, s, XLATE_CAP_COMPLETE, "Complete"))
		return;
	if (s->conversation == NULL || a->ucwa == NULL) {
		gws_reply_ok(req);
		gws_im_end(im, a, s);
		return;
	}
	c = gws_im_call_new(im, IM_CALL_COMPLETE, req, a, s);
	if ((cause = gws_im_complete_upstream(a, s, c)) != NULL) {
		struct ucwa_result r = { .ok = 0, .status = 0, .message = cause };

		gws_im_complete_done(&r, c);
	}
}

/*
 * End the conversation upstream: cancel the invitation while it is in
 * progress, else stopMessaging, else leave (DELETE); gws_im_ucwa records
 * the cancel or stopMessaging.
 */
const char *
gws_im_complete_upstream(struct agent *a, struct session *s, struct im_call *c)
{
	const struct gws_im_cmd_args x = { .conv = s->conversation };

	if (s->state == SESSION_INITIATING &&
	    gws_im_ucwa(a, GWS_IM_CMD_CANCEL, &x, gws_im_complete_done, c) == NULL)
		return NULL;
	if (gws_im_ucwa(a, GWS_IM_CMD_STOP, &x, gws_im_complete_done, c) == NULL)
		return NULL;
	return gws_im_ucwa(a, GWS_IM_CMD_LEAVE, &x, gws_im_complete_done, c);
}

/* AttachUserData / UpdateUserData / DeleteUserData (local to the gateway). */
static void
gws_im_userdata(struct gws_im *im, struct http_req *req, struct agent *a, struct session *s,
    const struct json *body, const char *op)
{
	const struct json *ud = json_get(body, "userData"), *keys = json_get(body, "keys");
	const char *key, *msg;
	int bad = 0, range;

	if (strcmp(op, "DeleteUserData") == 0) {
		if (gws_im_require_cap(req, s, XLATE_CAP_DELETE, op))
			return;
		key = gws_reply_param_str(body, "key", &bad);
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
		if (gws_im_require_cap(
			req, s, op[0] == 'A' ? XLATE_CAP_ATTACH : XLATE_CAP_UPDATE, op))
			return;
		if (ud == NULL || ud->type == JSON_NULL) {
			gws_reply_error(req, 400, GWS_MISSING_PARAM, "Missing parameter: userData");
			return;
		}
		if ((msg = gws_im_check_userdata(ud, s, &range)) != NULL) {
			gws_reply_error(
			    req, 400, range ? GWS_OUT_OF_RANGE : GWS_INVALID_STATE, msg);
			return;
		}
		if (s->nuserdata + ud->u.obj.n > SESSION_MAX_USERDATA) {
			gws_reply_error(req, 400, GWS_OUT_OF_RANGE, "userData has too many keys");
			return;
		}
		gws_im_put_userdata(s, ud);
	}
	gws_reply_ok(req);
	gws_im_notify_state(im, a, s, "AttachedDataChanged");
}

/* An operation of POST /api/v2/me/im-sessions[/{id}], by operationName. */
struct gws_im_op {
	const char *name; /* also its metrics label */
	int on_session;	  /* posted to a session ({id}), else to the collection */
	void (*fn)(struct gws_im *, struct http_req *, struct agent *, struct session *,
	    const struct json *body, const char *op);
};

static const struct gws_im_op gws_im_ops[] = {
	{ "InitiateIMSession", 0, gws_im_initiate },
	{ "SendMessage", 1, gws_im_send },
	{ "Complete", 1, gws_im_complete },
	{ "AttachUserData", 1, gws_im_userdata },
	{ "UpdateUserData", 1, gws_im_userdata },
	{ "DeleteUserData", 1, gws_im_userdata },
};

/* The operation named op, or NULL. */
static const struct gws_im_op *
gws_im_op_find(const char *op)
{
	for (size_t i = 0; i < nitems(gws_im_ops); i++) {
		if (strcmp(op, gws_im_ops[i].name) == 0)
			return &gws_im_ops[i];
	}
	return NULL;
}

/* POST /api/v2/me/im-sessions[/{id}]. */
void
gws_im_post(struct gws_im *im, struct http_req *req, struct agent *a, const char *id)
{
	struct json_doc *d = gws_reply_read_body(req);
	const struct gws_im_op *o = NULL;
	struct session *s;
	const char *op;

	if (d == NULL)
		return;
	gws_im_record_begin(im, req, a, id, json_root(d));
	if ((op = gws_operation_name(req, json_root(d))) != NULL) {
		o = gws_im_op_find(op);
		/* the metrics label: a known name, else "unknown" (never raw input) */
		http_req_set_route(req, NULL, o != NULL ? o->name : "unknown");
	}
	if (op == NULL)
		;
	else if (id == NULL) {
		if (o != NULL && !o->on_session)
			o->fn(im, req, a, NULL, json_root(d), op);
		else
			gws_reply_error(req, 400, GWS_INVALID_STATE, "Unknown operationName");
	} else if ((s = session_find(im->sessions, a->name, id)) == NULL)
		gws_reply_error(req, 404, GWS_NOT_FOUND, "IM session not found");
	else if (o != NULL && o->on_session)
		o->fn(im, req, a, s, json_root(d), op);
	else
		gws_reply_error(req, 400, GWS_INVALID_STATE, "Unknown operationName");
	record_gws_end(a->name);
	json_doc_free(d);
}
