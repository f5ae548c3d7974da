/*
 * xlate_rec.c: builds transcripts from live traffic (see xlate_rec.h).
 * Pieces are kept as JSON text while the recording runs; finishing parses
 * them once and writes the transcript through a walker that blanks
 * secrets always and message texts when asked.
 */
#include <stdlib.h>
#include <string.h>

#include "xlate_rec.h"

#define MASK "***"

struct xlate_rec {
	char *desc;
	struct buf session; /* JSON or empty */
	const char *kind;   /* "gws" or "ucwa" */
	struct buf input;
	struct buf response; /* JSON or empty */
	struct buf up, notes;
	struct jw upw, notew;
};

/* Start a recording. */
struct xlate_rec *
xlate_rec_new(const char *description, const struct xlate_session *s, const char *pending)
{
	struct xlate_rec *r = xcalloc(1, sizeof *r);
	struct jw w;

	r->desc = xstrdup(description != NULL ? description : "recorded");
	buf_init(&r->session);
	buf_init(&r->input);
	buf_init(&r->response);
	buf_init(&r->up);
	buf_init(&r->notes);
	jw_init(&r->upw, &r->up);
	jw_init(&r->notew, &r->notes);
	jw_arr_begin(&r->upw);
	jw_arr_begin(&r->notew);
	if (s == NULL)
		return r;
	jw_init(&w, &r->session);
	jw_obj_begin(&w);
	jw_kstr(&w, "id", s->id);
	jw_kstr(&w, "uri_base", s->uri_base);
	jw_kstr(&w, "state", s->state == SESSION_NONE ? NULL : xlate_names_state(s->state));
	jw_key(&w, "remote");
	jw_arr_begin(&w);
	for (size_t i = 0; i < s->nremote; i++)
		jw_str(&w, s->remote[i]);
	jw_arr_end(&w);
	if (s->user_data != NULL) {
		jw_key(&w, "userData");
		jw_value(&w, s->user_data);
	}
	if (pending != NULL)
		jw_kstr(&w, "pending_text", pending);
	if (s->var[XV_AGENT] != NULL)
		jw_kstr(&w, "agent", s->var[XV_AGENT]);
	jw_obj_end(&w);
	return r;
}

/* The input: a GWS request (never its headers). */
void
xlate_rec_gws(struct xlate_rec *r, const char *method, const char *path, const struct json *body)
{
	struct jw w;

	r->kind = "gws";
	buf_reset(&r->input);
	jw_init(&w, &r->input);
	jw_obj_begin(&w);
	jw_kstr(&w, "method", method);
	jw_kstr(&w, "path", path);
	jw_key(&w, "body");
	if (body != NULL)
		jw_value(&w, body);
	else
		jw_null(&w);
	jw_obj_end(&w);
}

/* The input: a UCWA event-channel response. */
void
xlate_rec_ucwa(struct xlate_rec *r, const struct json *resp)
{
	struct jw w;

	r->kind = "ucwa";
	buf_reset(&r->input);
	jw_init(&w, &r->input);
	jw_value(&w, resp);
}

/* The GWS answer. */
void
xlate_rec_response(struct xlate_rec *r, int code, const char *msg)
{
	struct jw w;

	buf_reset(&r->response);
	jw_init(&w, &r->response);
	jw_obj_begin(&w);
	jw_kint(&w, "statusCode", code);
	if (code != 0)
		jw_kstr(&w, "statusMessage", msg);
	jw_obj_end(&w);
}

/* One UCWA request spec, as transcripts write it (the player writes the same). */
void
xlate_rec_write_upstream(
    struct jw *w, const char *rel, const char *ctype, const char *body_json, const char *body_text)
{
	jw_obj_begin(w);
	jw_kstr(w, "method", "POST");
	jw_kstr(w, "rel", rel);
	if (ctype != NULL)
		jw_kstr(w, "content_type", ctype);
	if (body_json != NULL) {
		jw_key(w, "body");
		jw_raw(w, body_json);
	} else if (body_text != NULL)
		jw_kstr(w, "body", body_text);
	jw_obj_end(w);
}

/* One UCWA request. */
void
xlate_rec_upstream(struct xlate_rec *r, const char *rel, const char *ctype, const char *body_json,
    const char *body_text)
{
	xlate_rec_write_upstream(&r->upw, rel, ctype, body_json, body_text);
}

/* One notification. */
void
xlate_rec_notify(struct xlate_rec *r, const char *data_json)
{
	jw_raw(&r->notew, data_json);
}

/* Whether a member name looks like it holds a secret. */
static int
xlate_rec_secret(const char *k)
{
	static const char *const words[] = { "password", "token", "cookie", "authorization",
		"secret", "credential" };
	char low[64];
	size_t i;

	for (i = 0; k[i] != '\0' && i < sizeof low - 1; i++)
		low[i] = (char)(k[i] >= 'A' && k[i] <= 'Z' ? k[i] + 32 : k[i]);
	low[i] = '\0';
	for (i = 0; i < nitems(words); i++) {
		if (strstr(low, words[i]) != NULL)
			return 1;
	}
	return 0;
}

/* Whether member k of object o holds message text (masked on request). */
static int
xlate_rec_text(const struct json *o, const char *k)
{
	const char *mt = json_get_str(o, "messageType"), *rel = json_get_str(o, "rel");

	if (strcmp(k, "text") == 0 || strcmp(k, "pending_text") == 0)
		return 1;
	if (strcmp(k, "message") == 0 && mt != NULL && strcmp(mt, "IMLogUpdateMessage") == 0)
		return 1;
	return strcmp(k, "body") == 0 && rel != NULL && strcmp(rel, "sendMessage") == 0;
}

/* Write v, blanking secrets always and texts when mask is set. */
static void
xlate_rec_write(struct jw *w, const struct json *v, int mask)
{
	if (v->type == JSON_ARRAY) {
		jw_arr_begin(w);
		for (size_t i = 0; i < v->u.arr.n; i++)
			xlate_rec_write(w, v->u.arr.v[i], mask);
		jw_arr_end(w);
		return;
	}
	if (v->type != JSON_OBJECT) {
		jw_value(w, v);
		return;
	}
	jw_obj_begin(w);
	for (size_t i = 0; i < v->u.obj.n; i++) {
		const struct json_member *m = &v->u.obj.m[i];
		const char *s = json_str(m->val);

		jw_key(w, m->key);
		if (xlate_rec_secret(m->key))
			jw_str(w, MASK);
		else if (mask && s != NULL && xlate_rec_text(v, m->key))
			jw_str(w, MASK);
		else if (mask && s != NULL && strcmp(m->key, "href") == 0 &&
		    strncmp(s, "data:", 5) == 0)
			jw_str(w, "data:text/plain;charset=utf-8," MASK);
		else
			xlate_rec_write(w, m->val, mask);
	}
	jw_obj_end(w);
}

/* The transcript, as JSON text on one line. */
char *
xlate_rec_finish(struct xlate_rec *r, int mask)
{
	struct json_error e;
	struct json_doc *d;
	struct buf t, out;
	struct jw w;

	jw_arr_end(&r->upw);
	jw_arr_end(&r->notew);
	buf_init(&t);
	jw_init(&w, &t);
	jw_obj_begin(&w);
	jw_kstr(&w, "description", r->desc);
	if (r->session.len > 0) {
		jw_key(&w, "session");
		jw_raw(&w, r->session.data);
	}
	if (r->kind != NULL) {
		jw_key(&w, r->kind);
		jw_raw(&w, r->input.data);
	}
	jw_key(&w, "expect");
	jw_obj_begin(&w);
	jw_key(&w, "response");
	jw_raw(&w, r->response.len > 0 ? r->response.data : "null");
	jw_key(&w, "upstream");
	jw_raw(&w, r->up.data);
	jw_key(&w, "notifications");
	jw_raw(&w, r->notes.data);
	jw_obj_end(&w);
	jw_obj_end(&w);
	buf_init(&out);
	if ((d = json_parse(t.data, t.len, NULL, &e)) != NULL) {
		jw_init(&w, &out);
		xlate_rec_write(&w, json_root(d), mask);
		json_doc_free(d);
	}
	buf_addstr(&out, "\n");
	buf_free(&t);
	xlate_rec_free(r);
	return buf_detach(&out, NULL);
}

/* Free a recording not finished. */
void
xlate_rec_free(struct xlate_rec *r)
{
	if (r == NULL)
		return;
	free(r->desc);
	buf_free(&r->session);
	buf_free(&r->input);
	buf_free(&r->response);
	buf_free(&r->up);
	buf_free(&r->notes);
	free(r);
}
