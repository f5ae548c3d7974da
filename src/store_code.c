/*
 * store_code.c: the encodings of what the store writes to Redis (see
 * store.h): a session row and a CometD client as compact JSON, a
 * notification as "ID JSON". Pure code: no Redis, no loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "store.h"

static const struct json_limits store_code_limits = { STORE_MAX_ROW, 16, 0, 1, 0 };

/* A NUL-terminated copy of len bytes. */
static char *
store_code_dup(const char *p, size_t len)
{
	char *s = xmalloc(len + 1);

	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

/* Whether any string of the row is longer than a field may be. */
static int
store_code_too_long(const char *s)
{
	return s != NULL && strlen(s) > STORE_MAX_FIELD;
}

/* ',"KEY":' (key given with its quotes and colon) then v as a JSON string; nothing for NULL. */
static void
store_code_put_str(struct buf *b, const char *key, size_t klen, const char *v)
{
	if (v == NULL)
		return;
	buf_add(b, key, klen);
	json_escape(b, v, strlen(v));
}

/* A JSON string, or null for NULL. */
static void
store_code_put_str_or_null(struct buf *b, const char *v)
{
	if (v != NULL)
		json_escape(b, v, strlen(v));
	else
		buf_add(b, "null", 4);
}

#define STORE_CODE_KEY(k) ",\"" k "\":", sizeof(",\"" k "\":") - 1

/* strlen, 4 (null) for NULL. */
static size_t
store_code_len(const char *v)
{
	return v != NULL ? strlen(v) : 4;
}

/* About how long the row of s is (hrefs and texts, no escaping), to grow the output once. */
static size_t
store_code_session_size(const struct store_session *s)
{
	size_t n = 96 + strlen(s->id);
	const char *v[] = { s->remote_uri, s->remote_phone, s->conversation, s->operation };

	for (size_t i = 0; i < nitems(v); i++)
		n += store_code_len(v[i]) + 8;
	for (size_t i = 0; i < s->nud; i++)
		n += store_code_len(s->ud_key[i]) + store_code_len(s->ud_json[i]) + 8;
	for (size_t i = 0; i < s->nout; i++)
		n += store_code_len(s->out[i].opid) + store_code_len(s->out[i].location) +
		    store_code_len(s->out[i].text) + store_code_len(s->out[i].rid) + 20;
	for (size_t i = 0; i < s->nrid_done; i++)
		n += store_code_len(s->rid_done[i]) + 4;
	return n;
}

/*
 * The request ids of a row, apart from "out" (whose entries a node of the
 * previous version reads as exactly three): "ro", one per outgoing message
 * (null for none), only when one has one; "rd", those of delivered messages.
 */
static void
store_code_rids(const struct store_session *s, struct buf *out)
{
	size_t i;

	for (i = 0; i < s->nout && s->out[i].rid == NULL; i++)
		;
	if (i < s->nout) {
		buf_add(out, STORE_CODE_KEY("ro"));
		for (i = 0; i < s->nout; i++) {
			buf_addch(out, i == 0 ? '[' : ',');
			store_code_put_str_or_null(out, s->out[i].rid);
		}
		buf_addch(out, ']');
	}
	if (s->nrid_done > 0) {
		buf_add(out, STORE_CODE_KEY("rd"));
		for (i = 0; i < s->nrid_done; i++) {
			buf_addch(out, i == 0 ? '[' : ',');
			store_code_put_str_or_null(out, s->rid_done[i]);
		}
		buf_addch(out, ']');
	}
}

/*
 * Encode a session row: compact JSON written straight into the buffer
 * (its shape is fixed; through jw, one row cost about 7 k instructions,
 * a third of it escaping the constant keys, and a SendMessage writes
 * the row three times).
 */
int
store_code_session_encode(const struct store_session *s, struct buf *out, const char **why)
{
	size_t start = out->len;

	if (s->id == NULL || *s->id == '\0' || strlen(s->id) > 64) {
		*why = "session row: missing or too long id";
		return -1;
	}
	if (s->nud > STORE_MAX_UDATA || s->nout > STORE_MAX_OUT || s->nrid_done > STORE_MAX_RIDS) {
		*why = "session row: too many user data pairs, outgoing messages or request ids";
		return -1;
	}
	if (store_code_too_long(s->remote_uri) || store_code_too_long(s->remote_phone) ||
	    store_code_too_long(s->conversation) || store_code_too_long(s->operation)) {
		*why = "session row: an href or id is too long";
		return -1;
	}
	buf_reserve(out, store_code_session_size(s));
	buf_add(out, "{\"id\":", 6);
	json_escape(out, s->id, strlen(s->id));
	buf_add(out, STORE_CODE_KEY("d"));
	buf_addint(out, s->dir);
	buf_add(out, STORE_CODE_KEY("st"));
	buf_addint(out, s->state);
	if (s->announced)
		buf_add(out, ",\"an\":1", 7);
	store_code_put_str(out, STORE_CODE_KEY("ru"), s->remote_uri);
	store_code_put_str(out, STORE_CODE_KEY("rp"), s->remote_phone);
	store_code_put_str(out, STORE_CODE_KEY("cv"), s->conversation);
	store_code_put_str(out, STORE_CODE_KEY("op"), s->operation);
	buf_add(out, STORE_CODE_KEY("ct"));
	buf_addint(out, (long long)s->created_ms);
	if (s->nud > 0) {
		buf_add(out, STORE_CODE_KEY("ud"));
		for (size_t i = 0; i < s->nud; i++) {
			buf_add(out, i == 0 ? "[[" : ",[", 2);
			store_code_put_str_or_null(out, s->ud_key[i]);
			buf_addch(out, ',');
			store_code_put_str_or_null(out, s->ud_json[i]);
			buf_addch(out, ']');
		}
		buf_addch(out, ']');
	}
	if (s->nout > 0) {
		buf_add(out, STORE_CODE_KEY("out"));
		for (size_t i = 0; i < s->nout; i++) {
			buf_add(out, i == 0 ? "[[" : ",[", 2);
			store_code_put_str_or_null(out, s->out[i].opid);
			buf_addch(out, ',');
			store_code_put_str_or_null(out, s->out[i].location);
			buf_addch(out, ',');
			store_code_put_str_or_null(out, s->out[i].text);
			buf_addch(out, ']');
		}
		buf_addch(out, ']');
	}
	store_code_rids(s, out);
	buf_addch(out, '}');
	if (out->len - start > STORE_MAX_ROW) {
		out->len = start;
		out->data[start] = '\0';
		*why = "session row: longer than 256 KiB";
		return -1;
	}
	return 0;
}

/* href as stored: relative to the application when under it (see store.h). */
void
store_code_rel(struct buf *out, const char *href, const char *app)
{
	size_t n = app != NULL ? strlen(app) : 0;

	if (n > 0 && strncmp(href, app, n) == 0 && href[n] == '/') {
		buf_addch(out, '~');
		buf_addstr(out, href + n);
	} else
		buf_addstr(out, href);
}

/* A stored href read back against the application (see store.h). */
char *
store_code_abs(const char *v, const char *app)
{
	char *out;

	if (v[0] != '~' || app == NULL)
		return xstrdup(v);
	xasprintf(&out, "%s%s", app, v + 1);
	return out;
}

/* A copy of a string member, or NULL; -1 when present but not a string. */
static int
store_code_str(const struct json *o, const char *k, char **dst)
{
	const struct json *v = json_get(o, k);

	*dst = NULL;
	if (v == NULL || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_STRING)
		return -1;
	*dst = store_code_dup(v->u.str.s, v->u.str.len);
	return 0;
}

/* An integer member (absent: 0); -1 when not an integer. */
static int
store_code_int(const struct json *o, const char *k, long long *dst)
{
	const struct json *v = json_get(o, k);

	*dst = 0;
	if (v == NULL)
		return 0;
	if (v->type != JSON_INT)
		return -1;
	*dst = v->u.i;
	return 0;
}

/* Parse one encoded document (an object); NULL with *why. */
static struct json_doc *
store_code_parse(const char *p, size_t len, const char *what, const char **why)
{
	struct json_error e;
	struct json_doc *d;

	if (len > STORE_MAX_ROW) {
		*why = what;
		return NULL;
	}
	if ((d = json_parse(p, len, &store_code_limits, &e)) == NULL ||
	    json_root(d)->type != JSON_OBJECT) {
		json_doc_free(d);
		*why = what;
		return NULL;
	}
	return d;
}

/* The user data pairs of a row. */
static int
store_code_ud(const struct json *a, struct store_session *s)
{
	if (a == NULL)
		return 0;
	if (a->type != JSON_ARRAY || a->u.arr.n > STORE_MAX_UDATA)
		return -1;
	s->ud_key = xcalloc(a->u.arr.n + 1, sizeof *s->ud_key);
	s->ud_json = xcalloc(a->u.arr.n + 1, sizeof *s->ud_json);
	for (size_t i = 0; i < a->u.arr.n; i++) {
		const struct json *p = a->u.arr.v[i];

		if (p->type != JSON_ARRAY || p->u.arr.n != 2 ||
		    p->u.arr.v[0]->type != JSON_STRING || p->u.arr.v[1]->type != JSON_STRING)
			return -1;
		s->ud_key[i] = store_code_dup(p->u.arr.v[0]->u.str.s, p->u.arr.v[0]->u.str.len);
		s->ud_json[i] = store_code_dup(p->u.arr.v[1]->u.str.s, p->u.arr.v[1]->u.str.len);
		s->nud++;
	}
	return 0;
}

/* The outgoing messages of a row. */
static int
store_code_out(const struct json *a, struct store_session *s)
{
	if (a == NULL)
		return 0;
	if (a->type != JSON_ARRAY || a->u.arr.n > STORE_MAX_OUT)
		return -1;
	s->out = xcalloc(a->u.arr.n + 1, sizeof *s->out);
	for (size_t i = 0; i < a->u.arr.n; i++) {
		const struct json *p = a->u.arr.v[i];
		struct store_out *o = &s->out[i];

		if (p->type != JSON_ARRAY || p->u.arr.n != 3 ||
		    p->u.arr.v[0]->type != JSON_STRING || p->u.arr.v[2]->type != JSON_STRING ||
		    (p->u.arr.v[1]->type != JSON_STRING && p->u.arr.v[1]->type != JSON_NULL))
			return -1;
		o->opid = store_code_dup(p->u.arr.v[0]->u.str.s, p->u.arr.v[0]->u.str.len);
		if (p->u.arr.v[1]->type == JSON_STRING)
			o->location =
			    store_code_dup(p->u.arr.v[1]->u.str.s, p->u.arr.v[1]->u.str.len);
		o->text = store_code_dup(p->u.arr.v[2]->u.str.s, p->u.arr.v[2]->u.str.len);
		s->nout++;
	}
	return 0;
}

/* The request ids of a row ("ro" beside "out", "rd"); absent: none. */
static int
store_code_rids_decode(const struct json *ro, const struct json *rd, struct store_session *s)
{
	if (ro != NULL) {
		if (ro->type != JSON_ARRAY || ro->u.arr.n != s->nout)
			return -1;
		for (size_t i = 0; i < s->nout; i++) {
			const struct json *v = ro->u.arr.v[i];

			if (v->type == JSON_STRING)
				s->out[i].rid = store_code_dup(v->u.str.s, v->u.str.len);
			else if (v->type != JSON_NULL)
				return -1;
		}
	}
	if (rd == NULL)
		return 0;
	if (rd->type != JSON_ARRAY || rd->u.arr.n > STORE_MAX_RIDS)
		return -1;
	s->rid_done = xcalloc(rd->u.arr.n + 1, sizeof *s->rid_done);
	for (size_t i = 0; i < rd->u.arr.n; i++) {
		const struct json *v = rd->u.arr.v[i];

		if (v->type != JSON_STRING)
			return -1;
		s->rid_done[s->nrid_done++] = store_code_dup(v->u.str.s, v->u.str.len);
	}
	return 0;
}

/* Decode a session row. */
int
store_code_session_decode(const char *p, size_t len, struct store_session *s, const char **why)
{
	struct json_doc *d;
	const struct json *o;
	long long dir, st, an, ct;
	int bad;

	memset(s, 0, sizeof *s);
	if ((d = store_code_parse(p, len, "session row: not a JSON object", why)) == NULL)
		return -1;
	o = json_root(d);
	bad = store_code_str(o, "id", &s->id) || s->id == NULL || store_code_int(o, "d", &dir) ||
	    store_code_int(o, "st", &st) || store_code_int(o, "an", &an) ||
	    store_code_int(o, "ct", &ct) || store_code_str(o, "ru", &s->remote_uri) ||
	    store_code_str(o, "rp", &s->remote_phone) ||
	    store_code_str(o, "cv", &s->conversation) || store_code_str(o, "op", &s->operation);
	if (!bad) {
		s->dir = (int)dir;
		s->state = (int)st;
		s->announced = an != 0;
		s->created_ms = (uint64_t)ct;
		bad = dir < 0 || dir > 1 || st < -1 || st > 3 || ct < 0;
	}
	if (!bad)
		bad = store_code_ud(json_get(o, "ud"), s) ||
		    store_code_out(json_get(o, "out"), s) ||
		    store_code_rids_decode(json_get(o, "ro"), json_get(o, "rd"), s);
	json_doc_free(d);
	if (bad) {
		store_code_session_clear(s);
		*why = "session row: a member is missing or of the wrong type";
		return -1;
	}
	return 0;
}

/* Free what a row holds. */
void
store_code_session_clear(struct store_session *s)
{
	free(s->id);
	free(s->remote_uri);
	free(s->remote_phone);
	free(s->conversation);
	free(s->operation);
	for (size_t i = 0; i < s->nud; i++) {
		free(s->ud_key[i]);
		free(s->ud_json[i]);
	}
	free(s->ud_key);
	free(s->ud_json);
	for (size_t i = 0; i < s->nout; i++) {
		free(s->out[i].opid);
		free(s->out[i].location);
		free(s->out[i].text);
		free(s->out[i].rid);
	}
	free(s->out);
	for (size_t i = 0; i < s->nrid_done; i++)
		free(s->rid_done[i]);
	free(s->rid_done);
	memset(s, 0, sizeof *s);
}

/*
 * The unconfirmed outgoing messages of a session in a field of their own
 * (write version 5): [[OPID,LOCATION|null,TEXT,RID|null],...], in order;
 * [] for none.
 */
int
store_code_outs_encode(const struct store_out *o, size_t n, struct buf *out, const char **why)
{
	size_t start = out->len, size = 2;

	if (n > STORE_MAX_OUT) {
		*why = "outgoing messages: too many";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (o[i].opid == NULL || o[i].text == NULL || store_code_too_long(o[i].opid) ||
		    store_code_too_long(o[i].location) || store_code_too_long(o[i].rid)) {
			*why = "outgoing messages: a missing or too long id";
			return -1;
		}
		size += strlen(o[i].opid) + store_code_len(o[i].location) + strlen(o[i].text) +
		    store_code_len(o[i].rid) + 16;
	}
	buf_reserve(out, size);
	buf_addch(out, '[');
	for (size_t i = 0; i < n; i++) {
		buf_add(out, i == 0 ? "[" : ",[", i == 0 ? 1 : 2);
		json_escape(out, o[i].opid, strlen(o[i].opid));
		buf_addch(out, ',');
		store_code_put_str_or_null(out, o[i].location);
		buf_addch(out, ',');
		json_escape(out, o[i].text, strlen(o[i].text));
		buf_addch(out, ',');
		store_code_put_str_or_null(out, o[i].rid);
		buf_addch(out, ']');
	}
	buf_addch(out, ']');
	if (out->len - start > STORE_MAX_ROW) {
		out->len = start;
		out->data[start] = '\0';
		*why = "outgoing messages: longer than 256 KiB";
		return -1;
	}
	return 0;
}

/* A string element of a JSON array, or (null_ok) null: a copy in *dst; -1 otherwise. */
static int
store_code_elem(const struct json *v, int null_ok, char **dst)
{
	*dst = NULL;
	if (v->type == JSON_NULL && null_ok)
		return 0;
	if (v->type != JSON_STRING)
		return -1;
	*dst = store_code_dup(v->u.str.s, v->u.str.len);
	return 0;
}

/* Decode a session's messages field (store_code_outs_encode) into *out (freed by the caller). */
int
store_code_outs_decode(
    const char *p, size_t len, struct store_out **out, size_t *n, const char **why)
{
	struct json_error e;
	struct json_doc *d = NULL;
	const struct json *a = NULL;
	struct store_out *v = NULL;
	size_t k = 0;
	int bad = 1;

	if (len <= STORE_MAX_ROW && (d = json_parse(p, len, &store_code_limits, &e)) != NULL)
		a = json_root(d);
	if (a != NULL && a->type == JSON_ARRAY && a->u.arr.n <= STORE_MAX_OUT) {
		v = xcalloc(a->u.arr.n + 1, sizeof *v);
		for (bad = 0; k < a->u.arr.n && !bad; k++) {
			const struct json *m = a->u.arr.v[k];

			bad = m->type != JSON_ARRAY || m->u.arr.n != 4 ||
			    store_code_elem(m->u.arr.v[0], 0, &v[k].opid) ||
			    store_code_elem(m->u.arr.v[1], 1, &v[k].location) ||
			    store_code_elem(m->u.arr.v[2], 0, &v[k].text) ||
			    store_code_elem(m->u.arr.v[3], 1, &v[k].rid);
		}
	}
	json_doc_free(d);
	if (bad) {
		for (size_t i = 0; v != NULL && i < k; i++) {
			free(v[i].opid);
			free(v[i].location);
			free(v[i].text);
			free(v[i].rid);
		}
		free(v);
		*why = "outgoing messages: not [[opid, location, text, rid], ...]";
		return -1;
	}
	*out = v;
	*n = k;
	return 0;
}

/* Encode a CometD client: {"s":[subscriptions]}. */
int
store_code_client_encode(const char *const *subs, size_t nsubs, struct buf *out, const char **why)
{
	struct jw w;

	if (nsubs > STORE_MAX_SUBS) {
		*why = "client: too many subscriptions";
		return -1;
	}
	for (size_t i = 0; i < nsubs; i++) {
		if (store_code_too_long(subs[i])) {
			*why = "client: a channel name is too long";
			return -1;
		}
	}
	jw_init(&w, out);
	jw_obj_begin(&w);
	jw_key(&w, "s");
	jw_arr_begin(&w);
	for (size_t i = 0; i < nsubs; i++)
		jw_str(&w, subs[i]);
	jw_arr_end(&w);
	jw_obj_end(&w);
	return 0;
}

/* Decode a CometD client's subscriptions into c->subs. */
int
store_code_client_decode(const char *p, size_t len, struct store_client *c, const char **why)
{
	struct json_doc *d;
	const struct json *a;
	int bad = 0;

	if ((d = store_code_parse(p, len, "client: not a JSON object", why)) == NULL)
		return -1;
	a = json_get(json_root(d), "s");
	if (a == NULL || a->type != JSON_ARRAY || a->u.arr.n > STORE_MAX_SUBS)
		bad = 1;
	else {
		c->subs = xcalloc(a->u.arr.n + 1, sizeof *c->subs);
		for (size_t i = 0; i < a->u.arr.n && !bad; i++) {
			if (a->u.arr.v[i]->type != JSON_STRING)
				bad = 1;
			else
				c->subs[c->nsubs++] = store_code_dup(
				    a->u.arr.v[i]->u.str.s, a->u.arr.v[i]->u.str.len);
		}
	}
	json_doc_free(d);
	if (bad) {
		*why = "client: subscriptions missing or of the wrong type";
		return -1;
	}
	return 0;
}

/* Base64 of n bytes appended to out in the alphabet and padding of flags (STORE_TOKEN_*). */
static void
store_code_token_b64(struct buf *out, const void *raw, size_t n, int flags)
{
	size_t start = out->len;

	util_base64_encode(out, raw, n);
	if (!(flags & STORE_TOKEN_PADDED))
		while (out->len > start && out->data[out->len - 1] == '=')
			out->len--;
	for (size_t i = start; (flags & STORE_TOKEN_URL) && i < out->len; i++)
		if (out->data[i] == '+' || out->data[i] == '/')
			out->data[i] = out->data[i] == '+' ? '-' : '_';
	out->data[out->len] = '\0';
}

/*
 * The bytes the base64 text b (blen bytes, alphabet and padding of flags)
 * decodes to, into raw; -1 unless they encode back to exactly b.
 */
static int
store_code_token_raw(const char *b, size_t blen, int flags, struct buf *raw)
{
	struct buf t, again;
	int ok;

	buf_init(&t);
	buf_init(&again);
	buf_add(&t, b, blen);
	for (size_t i = 0; (flags & STORE_TOKEN_URL) && i < t.len; i++)
		if (t.data[i] == '-' || t.data[i] == '_')
			t.data[i] = t.data[i] == '-' ? '+' : '/';
	ok = util_base64_decode(raw, t.data, t.len) >= 0;
	if (ok) {
		buf_reserve(&again, blen + 4);
		store_code_token_b64(&again, raw->data, raw->len, flags);
		ok = again.len == blen && memcmp(again.data, b, blen) == 0;
	}
	explicit_bzero(t.data, t.len);
	if (again.data != NULL)
		explicit_bzero(again.data, again.len);
	buf_free(&t);
	buf_free(&again);
	return ok ? 0 : -1;
}

/*
 * A token as it is sealed (see store.h): binary when its base64 comes back
 * byte for byte and version is 4 or more.
 */
void
store_code_token_encode(struct buf *out, const char *tok, int version)
{
	const char *eq = strchr(tok, '=');
	size_t len = strlen(tok), plen = eq != NULL ? (size_t)(eq - tok) + 1 : 0;
	int flags = 0, binary = version >= 4 && eq != NULL && plen <= 255 && plen < len;
	struct buf raw;

	buf_init(&raw);
	if (binary) {
		flags = (strpbrk(eq + 1, "-_") != NULL ? STORE_TOKEN_URL : 0) |
		    (tok[len - 1] == '=' ? STORE_TOKEN_PADDED : 0);
		buf_reserve(&raw, len); /* grown once: no copy of it left behind */
		binary = store_code_token_raw(eq + 1, len - plen, flags, &raw) == 0;
	}
	if (binary) {
		buf_reserve(out, 3 + plen + raw.len);
		buf_addch(out, '\0');
		buf_addch(out, (char)flags);
		buf_addch(out, (char)plen);
		buf_add(out, tok, plen);
		buf_add(out, raw.data, raw.len);
	} else
		buf_add(out, tok, len);
	if (raw.data != NULL)
		explicit_bzero(raw.data, raw.cap);
	buf_free(&raw);
}

/* The token back from its sealed form (store_code_token_encode): a copy; NULL when malformed. */
char *
store_code_token_decode(const char *p, size_t len)
{
	struct buf b;
	size_t plen;

	if (len == 0 || p[0] != '\0') /* as text (what earlier nodes stored) */
		return memchr(p, '\0', len) == NULL ? store_code_dup(p, len) : NULL;
	if (len < 3 || (p[1] & ~(STORE_TOKEN_URL | STORE_TOKEN_PADDED)) != 0 ||
	    (plen = (unsigned char)p[2]) == 0 || plen > len - 3 ||
	    memchr(p + 3, '\0', plen) != NULL)
		return NULL;
	buf_init(&b);
	buf_reserve(&b, plen + (len - 3 - plen + 2) / 3 * 4);
	buf_add(&b, p + 3, plen);
	store_code_token_b64(&b, p + 3 + plen, len - 3 - plen, p[1]);
	return buf_detach(&b, NULL);
}

/* "ID JSON". */
void
store_code_note_encode(unsigned long long id, const char *json, size_t len, struct buf *out)
{
	buf_printf(out, "%llu ", id);
	buf_add(out, json, len);
}

/* Decode "ID JSON" (the JSON is not parsed: it was made by this gateway). */
int
store_code_note_decode(const char *p, size_t len, struct store_note *n, const char **why)
{
	unsigned long long id = 0;
	size_t i = 0;

	memset(n, 0, sizeof *n);
	while (i < len && i < 20 && p[i] >= '0' && p[i] <= '9')
		id = id * 10 + (unsigned long long)(p[i++] - '0');
	if (i == 0 || i >= len || p[i] != ' ' || len - i - 1 == 0 || len - i - 1 > STORE_MAX_NOTE ||
	    p[i + 1] != '{') {
		*why = "notification: expected \"ID {JSON}\"";
		return -1;
	}
	n->id = id;
	n->json = store_code_dup(p + i + 1, len - i - 1);
	return 0;
}
