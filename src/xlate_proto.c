/*
 * xlate_proto.c: plays one transcript input through the translation
 * functions as the gateway does, and compares the outputs with those the
 * transcript expects. The session model here is a small copy of what the
 * GWS layer keeps (state, remote parties, userData); it never outlives a
 * call. Pure: no I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "datauri.h"
#include "xlate_proto.h"
#include "xlate_rec.h"

#define IMS_PATH "/api/v2/me/im-sessions"

struct model {
	const struct xlate_rules *r;
	int exists;
	const char *id, *uri_base, *pending;
	enum session_state state;
	const char *remote[8];
	size_t nremote;
	struct json_member *ud; /* userData members (values borrowed) */
	size_t nud;
	const char *var[XV_NVARS];
	char *owned[8]; /* strings to free at the end */
	size_t nowned;
	struct buf resp, up, notes;
	struct jw upw, notew;
	char *err;
};

/* NULL-safe string equality. */
static int
xlate_proto_streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Keep s until the model goes. */
static const char *
xlate_proto_model_keep(struct model *m, char *s)
{
	if (m->nowned == nitems(m->owned)) {
		free(m->owned[0]);
		memmove(m->owned, m->owned + 1, sizeof m->owned - sizeof m->owned[0]);
		m->nowned--;
	}
	m->owned[m->nowned++] = s;
	return s;
}

/* The GWS answer (statusCode 0 or an error). */
static int
xlate_proto_model_answer(struct model *m, int code, const char *msg)
{
	struct jw w;

	buf_reset(&m->resp);
	jw_init(&w, &m->resp);
	jw_obj_begin(&w);
	jw_kint(&w, "statusCode", code);
	if (code != 0)
		jw_kstr(&w, "statusMessage", msg);
	jw_obj_end(&w);
	return 0;
}

/* One upstream request spec; body is JSON text, a string, or NULL. */
static void
xlate_proto_model_upstream(struct model *m, const char *rel, const char *ctype,
    const char *json_body, const char *text_body)
{
	xlate_rec_write_upstream(&m->upw, rel, ctype, json_body, text_body);
}

/* The session as xlate sees it; ud is storage for the userData object. */
static void
xlate_proto_model_view(struct model *m, struct xlate_session *s, struct json *ud)
{
	memset(s, 0, sizeof *s);
	s->id = m->id;
	s->uri_base = m->uri_base;
	s->state = m->state;
	s->remote = m->remote;
	s->nremote = m->nremote;
	ud->type = JSON_OBJECT;
	ud->u.obj.m = m->ud;
	ud->u.obj.n = m->nud;
	s->user_data = ud;
	memcpy(s->var, m->var, sizeof s->var);
}

/* Notify StatusChange or AttachedDataChanged. */
static void
xlate_proto_model_notify_state(struct model *m, const char *type)
{
	struct xlate_session s;
	struct json ud;
	struct buf b;

	xlate_proto_model_view(m, &s, &ud);
	buf_init(&b);
	xlate_notify_state(m->r, &s, type, &b);
	jw_raw(&m->notew, b.data);
	buf_free(&b);
}

/* Notify NewMessage. */
static void
xlate_proto_model_notify_message(struct model *m, const char *text)
{
	struct xlate_session s;
	struct json ud;
	struct buf b;

	xlate_proto_model_view(m, &s, &ud);
	buf_init(&b);
	xlate_notify_message(m->r, &s, text, &b);
	jw_raw(&m->notew, b.data);
	buf_free(&b);
}

/* Move to state s if it is a step forward; notify StatusChange. */
static int
xlate_proto_model_goto(struct model *m, enum session_state s)
{
	if (s == SESSION_NONE || !m->exists || s <= m->state)
		return 0;
	m->state = s;
	xlate_proto_model_notify_state(m, "StatusChange");
	return 0;
}

/* Set or replace userData key k. */
static void
xlate_proto_model_ud_set(struct model *m, const struct json_member *k)
{
	for (size_t i = 0; i < m->nud; i++) {
		if (m->ud[i].keylen == k->keylen && memcmp(m->ud[i].key, k->key, k->keylen) == 0) {
			m->ud[i].val = k->val;
			return;
		}
	}
	m->ud = xreallocarray(m->ud, m->nud + 1, sizeof *m->ud);
	m->ud[m->nud++] = *k;
}

/* Remove userData key k (absent keys are fine). */
static void
xlate_proto_model_ud_del(struct model *m, const char *k)
{
	for (size_t i = 0; i < m->nud; i++) {
		if (m->ud[i].keylen == strlen(k) && memcmp(m->ud[i].key, k, m->ud[i].keylen) == 0) {
			memmove(m->ud + i, m->ud + i + 1, (m->nud - i - 1) * sizeof *m->ud);
			m->nud--;
			return;
		}
	}
}

/* ---- GWS requests ---- */

/* InitiateIMSession. */
static int
xlate_proto_gws_initiate(struct model *m, const struct json *body)
{
	const struct json *ud = json_get(body, "userData");
	const char *phone = json_get_str(json_get(body, "destination"), "phoneNumber"), *cause;
	char *sip, *subject;
	struct buf b;
	struct jw w;

	if (m->exists && m->state != SESSION_COMPLETED)
		return xlate_proto_model_answer(
		    m, 2, "Invalid state: the agent already has an IM session");
	if (phone == NULL)
		return xlate_proto_model_answer(m, 1, "Missing parameter: destination.phoneNumber");
	if (ud != NULL && ud->type != JSON_OBJECT)
		return xlate_proto_model_answer(m, 10, "userData must be an object");
	if (xlate_phone_to_sip(m->r, phone, &sip, &cause) != 0)
		return xlate_proto_model_answer(m, 10, cause);
	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "to", sip);
	if ((subject = xlate_subject(m->r, ud)) != NULL)
		jw_kstr(&w, "subject", subject);
	jw_obj_end(&w);
	xlate_proto_model_upstream(m, "startMessaging", "application/json", b.data, NULL);
	buf_free(&b);
	free(subject);
	m->exists = 1;
	m->state = SESSION_NONE;
	m->remote[0] = xlate_proto_model_keep(m, sip);
	m->nremote = 1;
	m->nud = 0;
	for (size_t i = 0; ud != NULL && i < ud->u.obj.n; i++)
		xlate_proto_model_ud_set(m, &ud->u.obj.m[i]);
	xlate_proto_model_answer(m, 0, NULL);
	return 0;
}

/* SendMessage. */
static int
xlate_proto_gws_send(struct model *m, const struct json *body)
{
	const char *text = json_get_str(body, "text"), *cause;
	struct xlate_parts parts;

	if (text == NULL)
		return xlate_proto_model_answer(m, 1, "Missing parameter: text");
	if (xlate_text_out(m->r, text, &parts, &cause) != XLATE_TEXT_OK)
		return xlate_proto_model_answer(m, 10, cause);
	for (size_t i = 0; i < parts.n; i++)
		xlate_proto_model_upstream(
		    m, "sendMessage", "text/plain; charset=UTF-8", NULL, parts.v[i]);
	xlate_text_parts_free(&parts);
	xlate_proto_model_answer(m, 0, NULL);
	return 0;
}

/* Attach/Update/DeleteUserData. */
static int
xlate_proto_gws_userdata(struct model *m, const char *op, const struct json *body)
{
	const struct json *ud = json_get(body, "userData"), *keys = json_get(body, "keys");
	const char *key = json_get_str(body, "key");

	if (strcmp(op, "DeleteUserData") == 0) {
		if (key == NULL && !json_is(keys, JSON_ARRAY))
			return xlate_proto_model_answer(m, 1, "Missing parameter: key");
		if (key != NULL)
			xlate_proto_model_ud_del(m, key);
		for (size_t i = 0; keys != NULL && i < keys->u.arr.n; i++) {
			if (json_str(keys->u.arr.v[i]) != NULL)
				xlate_proto_model_ud_del(m, json_str(keys->u.arr.v[i]));
		}
	} else {
		if (!json_is(ud, JSON_OBJECT))
			return xlate_proto_model_answer(m, 1, "Missing parameter: userData");
		for (size_t i = 0; i < ud->u.obj.n; i++)
			xlate_proto_model_ud_set(m, &ud->u.obj.m[i]);
	}
	xlate_proto_model_answer(m, 0, NULL);
	xlate_proto_model_notify_state(m, "AttachedDataChanged");
	return 0;
}

/* An operation on /me/im-sessions/{id}. */
static int
xlate_proto_gws_operation(struct model *m, const char *id, const char *op, const struct json *body)
{
	static const struct {
		const char *name;
		unsigned cap;
	} ops[] = {
		{ "SendMessage", XLATE_CAP_SEND },
		{ "AttachUserData", XLATE_CAP_ATTACH },
		{ "UpdateUserData", XLATE_CAP_UPDATE },
		{ "DeleteUserData", XLATE_CAP_DELETE },
		{ "Complete", XLATE_CAP_COMPLETE },
	};
	size_t i;

	if (!m->exists || m->id == NULL || strcmp(id, m->id) != 0)
		return xlate_proto_model_answer(m, 6, "Unknown IM session");
	for (i = 0; i < nitems(ops) && strcmp(op, ops[i].name) != 0; i++)
		;
	if (i == nitems(ops))
		return xlate_proto_model_answer(m, 10, "Unknown operationName");
	if (!(xlate_caps(m->r, m->state) & ops[i].cap))
		return xlate_proto_model_answer(m, 2, "Invalid state");
	if (ops[i].cap == XLATE_CAP_SEND)
		xlate_proto_gws_send(m, body);
	else if (ops[i].cap == XLATE_CAP_COMPLETE) {
		xlate_proto_model_upstream(m, "stopMessaging", NULL, NULL, NULL);
		xlate_proto_model_answer(m, 0, NULL);
	} else
		xlate_proto_gws_userdata(m, op, body);
	return 0;
}

/* A GWS request {method, path, body}. */
static int
xlate_proto_play_gws(struct model *m, const struct json *req)
{
	const char *method = json_get_str(req, "method"), *path = json_get_str(req, "path");
	const struct json *body = json_get(req, "body");
	const char *op = json_get_str(body, "operationName");

	if (method == NULL || path == NULL || !json_is(body, JSON_OBJECT)) {
		m->err = xstrdup("\"gws\" needs method, path and an object body");
		return -1;
	}
	if (strcmp(method, "POST") != 0 || strncmp(path, IMS_PATH, strlen(IMS_PATH)) != 0) {
		m->err = xstrdup("only POST /api/v2/me/im-sessions[/{id}] is translated");
		return -1;
	}
	path += strlen(IMS_PATH);
	if (op == NULL)
		xlate_proto_model_answer(m, 1, "Missing parameter: operationName");
	else if (*path == '\0' && xlate_proto_streq(op, "InitiateIMSession"))
		xlate_proto_gws_initiate(m, body);
	else if (*path == '\0')
		xlate_proto_model_answer(m, 10, "Unknown operationName");
	else if (*path == '/')
		xlate_proto_gws_operation(m, path + 1, op, body);
	else
		xlate_proto_model_answer(m, 6, "Unknown resource");
	return 0;
}

/* ---- UCWA events ---- */

/* The decoded payload of a data: URI as the UCWA client gives it (html set
 * when it is text/html), or NULL when href is absent or malformed. */
static char *
xlate_proto_data_uri(const char *href, int *html)
{
	struct buf b;

	buf_init(&b);
	if (href == NULL || datauri_decode(href, &b, html) != 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

/* Remember an event's reason as $reason / $reason_code. */
static int
xlate_proto_event_reason(struct model *m, const struct json *ev)
{
	const struct json *reason = json_get(ev, "reason");
	const char *code = json_get_str(reason, "code"), *sub = json_get_str(reason, "subcode");
	char *rc;

	if (reason == NULL)
		return 0;
	m->var[XV_REASON] = json_get_str(reason, "message");
	if (code != NULL) {
		xasprintf(&rc, "%s%s%s", code, sub != NULL ? "/" : "", sub != NULL ? sub : "");
		m->var[XV_REASON_CODE] = xlate_proto_model_keep(m, rc);
	}
	return 0;
}

/* An incoming invitation starts: policy decides. */
static int
xlate_proto_ev_incoming(struct model *m, const struct json *inv)
{
	const char *from = json_get_str(json_get(json_get(inv, "_embedded"), "from"), "uri");

	switch (xlate_incoming(m->r, from, m->exists && m->state != SESSION_COMPLETED)) {
	case XLATE_IN_ACCEPT:
		xlate_proto_model_upstream(m, "accept", NULL, NULL, NULL);
		m->exists = 1;
		m->state = SESSION_NONE;
		m->nud = 0;
		m->nremote = 0;
		if (from != NULL)
			m->remote[m->nremote++] = from;
		xlate_proto_model_goto(
		    m, xlate_state_map(m->r, XLATE_K_IN_INVITATION, json_get_str(inv, "state")));
		break;
	case XLATE_IN_DECLINE:
		xlate_proto_model_upstream(
		    m, "decline", "application/json", "{\"reason\":\"Local\"}", NULL);
		break;
	case XLATE_IN_IGNORE: break;
	}
	return 0;
}

/* The agent's message failed: notify the notice the rules give, if any. */
static int
xlate_proto_ev_undelivered(struct model *m, const struct json *ev, const char *dir)
{
	struct xlate_session s;
	struct json ud;
	char *notice;

	xlate_proto_event_reason(m, ev);
	if (!xlate_proto_streq(dir, "Outgoing") || m->pending == NULL)
		return 0;
	m->var[XV_TEXT] = m->pending;
	xlate_proto_model_view(m, &s, &ud);
	if ((notice = xlate_text_undelivered(m->r, &s)) != NULL)
		xlate_proto_model_notify_message(m, notice);
	free(notice);
	return 0;
}

/* A message event: notify its text once it completed with success. */
static int
xlate_proto_ev_message(struct model *m, const struct json *ev, const struct json *msg)
{
	const struct json *links = json_get(msg, "_links");
	const char *dir = json_get_str(msg, "direction");
	char *text, *plain, *in;
	int html = 0, phtml = 0;

	if (!m->exists || !xlate_proto_streq(json_get_str(ev, "type"), "completed"))
		return 0;
	if (!xlate_proto_streq(json_get_str(ev, "status"), "Success"))
		return xlate_proto_ev_undelivered(m, ev, dir);
	m->var[XV_DIRECTION] = dir;
	m->var[XV_TIMESTAMP] = json_get_str(msg, "timeStamp");
	if (dir != NULL && strcmp(dir, "Outgoing") == 0) {
		if (m->pending != NULL)
			xlate_proto_model_notify_message(m, m->pending);
		return 0;
	}
	m->var[XV_SENDER] = m->nremote > 0 ? m->remote[0] : NULL;
	m->var[XV_SENDER_NAME] = json_get_str(json_get(links, "participant"), "title");
	if (m->var[XV_SENDER] != NULL) {
		struct xlate_party p;

		xlate_sip_to_party(m->r, m->var[XV_SENDER], &p);
		m->var[XV_SENDER_PHONE] = xlate_proto_model_keep(m, xstrdup(p.phoneNumber));
		xlate_party_free(&p);
	}
	/* as the UCWA client does: htmlMessage wins over plainMessage, kept beside it */
	plain = xlate_proto_data_uri(json_get_str(json_get(links, "plainMessage"), "href"), &phtml);
	if ((text = xlate_proto_data_uri(
		 json_get_str(json_get(links, "htmlMessage"), "href"), &html)) == NULL) {
		text = plain;
		html = phtml;
		plain = NULL;
	}
	if (text == NULL)
		return 0;
	in = xlate_text_in(m->r, text, strlen(text), html, html && !phtml ? plain : NULL);
	xlate_proto_model_notify_message(m, in);
	free(in);
	free(text);
	free(plain);
	return 0;
}

/* One event of the channel. */
static int
xlate_proto_play_event(struct model *m, const struct json *ev)
{
	const char *rel = json_get_str(json_get(ev, "link"), "rel"), *dir, *status;
	const struct json *res;
	enum xlate_kind k;

	if (rel == NULL || (res = json_get(json_get(ev, "_embedded"), rel)) == NULL)
		return 0;
	if (strcmp(rel, "message") == 0)
		return xlate_proto_ev_message(m, ev, res);
	if (strcmp(rel, "messagingInvitation") == 0) {
		dir = json_get_str(res, "direction");
		if (xlate_proto_streq(dir, "Incoming") &&
		    xlate_proto_streq(json_get_str(ev, "type"), "started"))
			return xlate_proto_ev_incoming(m, res);
		k = xlate_proto_streq(dir, "Incoming") ? XLATE_K_IN_INVITATION
						       : XLATE_K_OUT_INVITATION;
		status = json_get_str(ev, "status");
		if (xlate_proto_streq(status, "Failure")) {
			xlate_proto_event_reason(m, ev);
			return xlate_proto_model_goto(m, SESSION_COMPLETED);
		}
	} else if (strcmp(rel, "conversation") == 0)
		k = XLATE_K_CONVERSATION;
	else if (strcmp(rel, "messaging") == 0)
		k = XLATE_K_MESSAGING;
	else
		return 0;
	return xlate_proto_model_goto(m, xlate_state_map(m->r, k, json_get_str(res, "state")));
	return 0;
}

/* An event-channel response: every event of every sender, in order. */
static int
xlate_proto_play_ucwa(struct model *m, const struct json *resp)
{
	const struct json *senders = json_get(resp, "sender");

	if (!json_is(senders, JSON_ARRAY)) {
		m->err = xstrdup("\"ucwa\" needs a \"sender\" array (an event-channel response)");
		return -1;
	}
	for (size_t i = 0; i < senders->u.arr.n; i++) {
		const struct json *evs = json_get(senders->u.arr.v[i], "events");

		for (size_t j = 0; json_is(evs, JSON_ARRAY) && j < evs->u.arr.n; j++) {
			if (json_is(evs->u.arr.v[j], JSON_OBJECT) &&
			    json_get(evs->u.arr.v[j], "type") != NULL)
				xlate_proto_play_event(m, evs->u.arr.v[j]);
		}
	}
	return 0;
}

/* ---- driver ---- */

/* The model from a transcript's "session" (absent: no session yet). */
static int
xlate_proto_model_init(struct model *m, const struct json *s)
{
	const struct json *remote = json_get(s, "remote"), *ud = json_get(s, "userData");

	m->id = "00000000000000000000000000000001";
	m->uri_base = "http://127.0.0.1:8080/api/v2";
	m->state = SESSION_NONE;
	if (s == NULL)
		return 0;
	m->exists = 1;
	m->id = json_get_str(s, "id") != NULL ? json_get_str(s, "id") : m->id;
	m->uri_base =
	    json_get_str(s, "uri_base") != NULL ? json_get_str(s, "uri_base") : m->uri_base;
	m->pending = json_get_str(s, "pending_text");
	m->var[XV_AGENT] = json_get_str(s, "agent");
	m->state = xlate_names_state_parse(json_get_str(s, "state"));
	if (m->state == SESSION_NONE && json_get(s, "state") != NULL &&
	    json_get(s, "state")->type != JSON_NULL) {
		m->err = xstrdup("session.state must be Initiating, Alerting, Talking, Completed "
				 "or null (not announced yet)");
		return -1;
	}
	for (size_t i = 0; json_is(remote, JSON_ARRAY) && i < remote->u.arr.n; i++) {
		if (m->nremote < nitems(m->remote) && json_str(remote->u.arr.v[i]) != NULL)
			m->remote[m->nremote++] = json_str(remote->u.arr.v[i]);
	}
	for (size_t i = 0; json_is(ud, JSON_OBJECT) && i < ud->u.obj.n; i++)
		xlate_proto_model_ud_set(m, &ud->u.obj.m[i]);
	return 0;
}

/* The session after the input. */
static void
xlate_proto_model_write_session(struct model *m, struct jw *w)
{
	struct xlate_session s;
	struct json ud;

	if (!m->exists) {
		jw_null(w);
		return;
	}
	xlate_proto_model_view(m, &s, &ud);
	xlate_write_session(m->r, &s, w);
}

/* Play a transcript. */
int
xlate_proto_eval(const struct xlate_rules *r, const struct json *t, struct buf *out, char **err)
{
	struct model m;
	struct jw w;
	int rc;

	memset(&m, 0, sizeof m);
	m.r = r;
	buf_init(&m.resp);
	buf_init(&m.up);
	buf_init(&m.notes);
	jw_init(&m.upw, &m.up);
	jw_init(&m.notew, &m.notes);
	jw_arr_begin(&m.upw);
	jw_arr_begin(&m.notew);
	if (!json_is(t, JSON_OBJECT)) {
		m.err = xstrdup("a transcript is a JSON object");
		rc = -1;
	} else if ((rc = xlate_proto_model_init(&m, json_get(t, "session"))) == 0) {
		if (json_get(t, "gws") != NULL)
			rc = xlate_proto_play_gws(&m, json_get(t, "gws"));
		else if (json_get(t, "ucwa") != NULL)
			rc = xlate_proto_play_ucwa(&m, json_get(t, "ucwa"));
		else {
			m.err = xstrdup("a transcript needs a \"gws\" or a \"ucwa\" input");
			rc = -1;
		}
	}
	jw_arr_end(&m.upw);
	jw_arr_end(&m.notew);
	if (rc == 0) {
		jw_init(&w, out);
		jw_obj_begin(&w);
		jw_key(&w, "response");
		jw_raw(&w, m.resp.len > 0 ? m.resp.data : "null");
		jw_key(&w, "upstream");
		jw_raw(&w, m.up.data);
		jw_key(&w, "notifications");
		jw_raw(&w, m.notes.data);
		jw_key(&w, "session");
		xlate_proto_model_write_session(&m, &w);
		jw_obj_end(&w);
	}
	*err = m.err;
	for (size_t i = 0; i < m.nowned; i++)
		free(m.owned[i]);
	free(m.ud);
	buf_free(&m.resp);
	buf_free(&m.up);
	buf_free(&m.notes);
	return rc;
}

/* Compact text of a JSON value. */
static char *
xlate_proto_json_text(const struct json *v)
{
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_value(&w, v);
	return buf_detach(&b, NULL);
}

/* Play t and compare with t.expect. */
int
xlate_proto_check(const struct xlate_rules *r, const struct json *t, struct buf *report)
{
	static const char *const parts[] = { "response", "upstream", "notifications", "session" };
	const struct json *expect = json_get(t, "expect"), *root;
	struct json_error jerr;
	struct json_doc *doc;
	struct buf out;
	char *err;
	int ndiff = 0;

	if (!json_is(expect, JSON_OBJECT)) {
		buf_printf(report, "a transcript needs an \"expect\" object\n");
		return -1;
	}
	buf_init(&out);
	if (xlate_proto_eval(r, t, &out, &err) != 0) {
		buf_printf(report, "%s\n", err);
		free(err);
		buf_free(&out);
		return -1;
	}
	doc = json_parse(out.data, out.len, NULL, &jerr);
	root = json_root(doc);
	for (size_t i = 0; i < nitems(parts); i++) {
		const struct json *e = json_get(expect, parts[i]);
		char *et, *at;

		if (e == NULL)
			continue;
		et = xlate_proto_json_text(e);
		at = xlate_proto_json_text(json_get(root, parts[i]));
		if (strcmp(et, at) != 0) {
			buf_printf(report, "%s differs:\n  expected %s\n  actual   %s\n", parts[i],
			    et, at);
			ndiff++;
		}
		free(et);
		free(at);
	}
	json_doc_free(doc);
	buf_free(&out);
	return ndiff;
}
