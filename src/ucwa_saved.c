/*
 * ucwa_saved.c: a snapshot of a UCWA agent (struct ucwa_saved, ucwa.h) as
 * JSON and back, and its memory. Pure code. The parse takes what it knows
 * and bounds every list as the client does; unknown members are ignored,
 * so a newer writer's snapshot still resumes. Version 4 (written; 1 to 3
 * are still read) is the compact form a store keeps for every agent:
 * members without a value left out, the marks as one base64 string, hrefs
 * under the application as "~" and the rest, message hrefs under the
 * conversation's sendMessage link as "=" and the rest, a link under its
 * parent (a conversation's links under the conversation, an invitation
 * under the startMessaging link, the application under the applications
 * URL; new in version 4) as "^" and the rest, a sent message as [href,
 * operationId], what changes with each message last (version 3). A
 * writer may ask for version 3 (what nodes of the previous release read):
 * the same without "^".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "json.h"
#include "ucwa.h"
#include "util.h"

#define UCWA_SAVED_CONVS  72 /* live (64) and ended (8) conversations */
#define UCWA_SAVED_STARTS 16
#define UCWA_SAVED_SEEN	  32
#define UCWA_SAVED_SENT	  16

static const char *const ucwa_saved_states[] = { "new", "connected", "ended" };

/* A base an href may be written relative to: its bytes, their count, the mark that says so. */
struct ucwa_saved_base {
	const char *p;
	size_t n;
	char mark;
};

static void ucwa_saved_kstr_rel2(struct jw *, const char *key, const char *v,
    const struct ucwa_saved_base *base, const struct ucwa_saved_base *inner);
static char *ucwa_saved_rel2(const char *v, const char *base, const char *up, const char *msgs);

/* The base of string p (NULL: none), written as mark and the rest. */
static struct ucwa_saved_base
ucwa_saved_base_mark(const char *p, char mark)
{
	struct ucwa_saved_base b = { p, p != NULL ? strlen(p) : 0, mark };

	return b;
}

/* The base of string p (NULL: none) marked "~". */
static struct ucwa_saved_base
ucwa_saved_base(const char *p)
{
	return ucwa_saved_base_mark(p, '~');
}

/*
 * Hrefs under a base (the application, or the conversation for its
 * messages) are written as "~" and the rest, to keep a snapshot small. The
 * client's hrefs are absolute (its normal form): none starts with "~".
 */
static void
ucwa_saved_kstr_rel(
    struct jw *w, const char *key, const char *v, const struct ucwa_saved_base *base)
{
	ucwa_saved_kstr_rel2(w, key, v, base, NULL);
}

/*
 * As ucwa_saved_kstr_rel, and an href under inner (tried first) as its
 * mark and the rest: a message under the conversation's sendMessage link
 * as "=", a link under its parent (the conversation for its links, the
 * startMessaging link for an invitation, the applications URL for the
 * application) as "^". A member without a value is left out.
 */
static void
ucwa_saved_kstr_rel2(struct jw *w, const char *key, const char *v,
    const struct ucwa_saved_base *base, const struct ucwa_saved_base *inner)
{
	size_t n = base != NULL ? base->n : 0, m = inner != NULL ? inner->n : 0, len;
	char mark = '~', tmp[512];
	struct buf b;

	if (v == NULL && key != NULL)
		return;
	if (v != NULL && m > 0 && strncmp(v, inner->p, m) == 0 && v[m] != '\0') {
		mark = inner->mark;
		n = m;
	} else if (v == NULL || n == 0 || strncmp(v, base->p, n) != 0 || v[n] == '\0') {
		if (key != NULL)
			jw_kstr(w, key, v);
		else
			jw_str(w, v);
		return;
	}
	if (key != NULL)
		jw_key(w, key);
	len = strlen(v + n);
	if (len < sizeof tmp - 1) { /* the usual case: no allocation */
		tmp[0] = mark;
		memcpy(tmp + 1, v + n, len);
		jw_strn(w, tmp, len + 1);
		return;
	}
	buf_init(&b);
	buf_addch(&b, mark);
	buf_add(&b, v + n, len);
	jw_strn(w, b.data, b.len);
	buf_free(&b);
}

/* A copy of string v read back against base (see ucwa_saved_kstr_rel), or NULL. */
static char *
ucwa_saved_rel(const char *v, const char *base)
{
	return ucwa_saved_rel2(v, base, NULL, NULL);
}

/* As ucwa_saved_rel, "^" read against up and "=" against msgs (see ucwa_saved_kstr_rel2). */
static char *
ucwa_saved_rel2(const char *v, const char *base, const char *up, const char *msgs)
{
	char *out;

	if (v == NULL)
		return NULL;
	if (v[0] == '=' && msgs != NULL)
		base = msgs;
	else if (v[0] == '^' && up != NULL)
		base = up;
	else if (v[0] != '~')
		base = NULL;
	if (base == NULL)
		return xstrdup(v);
	xasprintf(&out, "%s%s", base, v + 1);
	return out;
}

/*
 * Write one saved conversation's links and state (its messages:
 * ucwa_saved_write_msgs); start is the startMessaging link, its
 * invitation's parent (NULL: version 3, no "^").
 */
static void
ucwa_saved_write_conv(struct jw *w, const struct ucwa_saved_conv *c,
    const struct ucwa_saved_base *app, const struct ucwa_saved_base *start)
{
	struct ucwa_saved_base up = ucwa_saved_base_mark(start != NULL ? c->href : NULL, '^');

	jw_obj_begin(w);
	ucwa_saved_kstr_rel(w, "href", c->href, app);
	jw_kstr(w, "state", ucwa_saved_states[c->state >= 0 && c->state <= 2 ? c->state : 0]);
	if (c->incoming)
		jw_kbool(w, "incoming", 1);
	if (c->state == 2) {
		jw_obj_end(w);
		return;
	}
	ucwa_saved_kstr_rel2(w, "invitation", c->invitation, app, start);
	ucwa_saved_kstr_rel2(w, "accept", c->accept, app, &up);
	ucwa_saved_kstr_rel2(w, "decline", c->decline, app, &up);
	ucwa_saved_kstr_rel2(w, "cancel", c->cancel, app, &up);
	ucwa_saved_kstr_rel2(w, "sendMessage", c->send_message, app, &up);
	ucwa_saved_kstr_rel2(w, "stopMessaging", c->stop_messaging, app, &up);
	if (c->preview != NULL) {
		jw_kstr(w, "preview", c->preview);
		if (c->preview_html)
			jw_kbool(w, "previewHtml", 1);
		if (c->preview_from != NULL)
			jw_kstr(w, "previewFrom", c->preview_from);
	}
	if (c->preview_sent != NULL) {
		jw_kstr(w, "previewSent", c->preview_sent);
		jw_kint(w, "previewSpan", c->preview_span);
	}
	jw_obj_end(w);
}

/*
 * Write what changes with each message of a saved conversation: the
 * messages seen and sent, the one in flight (an element of "msgs", by the
 * conversation's index).
 */
static void
ucwa_saved_write_msgs(struct jw *w, const struct ucwa_saved_conv *c)
{
	struct ucwa_saved_base href = ucwa_saved_base(c->href);
	struct ucwa_saved_base msgs = ucwa_saved_base_mark(c->send_message, '=');

	jw_obj_begin(w);
	if (c->nseen > 0) {
		jw_key(w, "seen");
		jw_arr_begin(w);
		for (size_t i = 0; i < c->nseen; i++)
			ucwa_saved_kstr_rel2(w, NULL, c->seen[i], &href, &msgs);
		jw_arr_end(w);
	}
	if (c->nsent > 0) {
		jw_key(w, "sent");
		jw_arr_begin(w);
		for (size_t i = 0; i < c->nsent; i++) {
			jw_arr_begin(w);
			ucwa_saved_kstr_rel2(w, NULL, c->sent_href[i], &href, &msgs);
			jw_str(w, c->sent_opid[i]);
			jw_arr_end(w);
		}
		jw_arr_end(w);
	}
	if (c->inflight_opid != NULL)
		jw_kstr(w, "inflight", c->inflight_opid);
	jw_obj_end(w);
}

/* Base64 (standard, padded) of n bytes into out (room for 4 per 3, rounded up); its length. */
static size_t
ucwa_saved_b64(char *out, const unsigned char *p, size_t n)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, i;

	for (i = 0; i + 2 < n; i += 3) {
		out[o++] = abc[p[i] >> 2];
		out[o++] = abc[(p[i] & 3) << 4 | p[i + 1] >> 4];
		out[o++] = abc[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
		out[o++] = abc[p[i + 2] & 63];
	}
	if (i < n) {
		out[o++] = abc[p[i] >> 2];
		if (i + 1 < n) {
			out[o++] = abc[(p[i] & 3) << 4 | p[i + 1] >> 4];
			out[o++] = abc[(p[i + 1] & 15) << 2];
		} else {
			out[o++] = abc[(p[i] & 3) << 4];
			out[o++] = '=';
		}
		out[o++] = '=';
	}
	return o;
}

/* Write s as one JSON object (see ucwa.h). */
void
ucwa_saved_write(struct jw *w, const struct ucwa_saved *s, int secrets)
{
	ucwa_saved_write_head(w, s, secrets, UCWA_SAVED_VERSION);
	ucwa_saved_write_tail(w, s);
}

/*
 * Versions 3 and 4 are written in two parts: the head (everything but
 * what changes with each message, the object left open;
 * ucwa_saved_head_hash covers exactly what it writes), then the tail: the
 * change marks, and per conversation (by index) its messages. Version 3
 * is version 4 with no base marked "^" (its readers know "~" and "=").
 */
void
ucwa_saved_write_head(struct jw *w, const struct ucwa_saved *s, int secrets, int version)
{
	int v4 = version >= 4;
	struct ucwa_saved_base app = ucwa_saved_base(s->app);
	struct ucwa_saved_base apps = ucwa_saved_base_mark(v4 ? s->apps_url : NULL, '^');
	struct ucwa_saved_base start = ucwa_saved_base_mark(v4 ? s->start_url : NULL, '^');

	jw_obj_begin(w);
	jw_kint(w, "v", version >= 5 ? 5 : v4 ? 4 : 3); /* 5: version 4 kept in two fields */
	jw_kstr(w, "user", s->user);
	if (secrets) {
		ucwa_saved_kstr_rel(w, "password", s->password, NULL);
		ucwa_saved_kstr_rel(w, "token", s->token, NULL);
	}
	if (s->token_expires != 0)
		jw_kint(w, "tokenExpires", s->token_expires);
	ucwa_saved_kstr_rel(w, "endpointId", s->endpoint_id, NULL);
	ucwa_saved_kstr_rel(w, "userUrl", s->user_url, NULL);
	ucwa_saved_kstr_rel(w, "tokenUrl", s->token_url, NULL);
	ucwa_saved_kstr_rel(w, "applicationsUrl", s->apps_url, NULL);
	ucwa_saved_kstr_rel2(w, "application", s->app, NULL, &apps);
	ucwa_saved_kstr_rel(w, "events", s->events, &app);
	if (s->events_params)
		jw_kbool(w, "eventsParams", 1);
	ucwa_saved_kstr_rel(w, "makeMeAvailable", s->mma_url, &app);
	ucwa_saved_kstr_rel(w, "reportMyActivity", s->activity_url, &app);
	ucwa_saved_kstr_rel(w, "startMessaging", s->start_url, &app);
	ucwa_saved_kstr_rel(w, "meUri", s->me_uri, NULL);
	ucwa_saved_kstr_rel(w, "meName", s->me_name, NULL);
	if (s->nstarts > 0) {
		jw_key(w, "starts");
		jw_arr_begin(w);
		for (size_t i = 0; i < s->nstarts; i++) {
			jw_obj_begin(w);
			ucwa_saved_kstr_rel(w, "operationId", s->starts[i].opid, NULL);
			ucwa_saved_kstr_rel2(
			    w, "invitation", s->starts[i].invitation, &app, &start);
			jw_obj_end(w);
		}
		jw_arr_end(w);
	}
	jw_key(w, "conversations");
	jw_arr_begin(w);
	for (size_t i = 0; i < s->nconvs; i++)
		ucwa_saved_write_conv(w, &s->convs[i], &app, v4 ? &start : NULL);
	jw_arr_end(w);
}

/* The tail of versions 3 and 4 (see ucwa_saved_write_head): the object closed. */
void
ucwa_saved_write_tail(struct jw *w, const struct ucwa_saved *s)
{
	unsigned char raw[UCWA_SAVED_MARKS * 4];
	char b64[(UCWA_SAVED_MARKS * 4 + 2) / 3 * 4 + 1];
	size_t n = 0;

	for (size_t i = 0; i < s->nmarks && i < UCWA_SAVED_MARKS; i++) {
		raw[n++] = (unsigned char)(s->marks[i] >> 24);
		raw[n++] = (unsigned char)(s->marks[i] >> 16);
		raw[n++] = (unsigned char)(s->marks[i] >> 8);
		raw[n++] = (unsigned char)s->marks[i];
	}
	if (n > 0) { /* 4 bytes each, big-endian, oldest first, in base64 */
		jw_key(w, "marks");
		jw_strn(w, b64, ucwa_saved_b64(b64, raw, n));
	}
	jw_key(w, "msgs");
	jw_arr_begin(w);
	for (size_t i = 0; i < s->nconvs; i++)
		ucwa_saved_write_msgs(w, &s->convs[i]);
	jw_arr_end(w);
	jw_obj_end(w);
}

/* Mix one string (NULL differs from "") into a hash of this process. */
static uint64_t
ucwa_saved_mix(uint64_t h, const char *v)
{
	h ^= v != NULL ? hmap_hash(v) : 0x5bd1e995u;
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

/*
 * A hash of what ucwa_saved_write_head writes (for this process only: a
 * writer keeps the head's bytes while it is unchanged). Every member the
 * head writes is mixed in, in the same order.
 */
uint64_t
ucwa_saved_head_hash(const struct ucwa_saved *s, int secrets, int version)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)s->token_expires ^
	    (uint64_t)(version >= 4) << 63 ^ (uint64_t)(version >= 5) << 62;

	h = ucwa_saved_mix(h, s->user);
	if (secrets) {
		h = ucwa_saved_mix(h, s->password);
		h = ucwa_saved_mix(h, s->token);
	}
	h = ucwa_saved_mix(h, s->endpoint_id);
	h = ucwa_saved_mix(h, s->user_url);
	h = ucwa_saved_mix(h, s->token_url);
	h = ucwa_saved_mix(h, s->apps_url);
	h = ucwa_saved_mix(h, s->app);
	h = ucwa_saved_mix(h, s->events);
	h = ucwa_saved_mix(h, s->mma_url);
	h = ucwa_saved_mix(h, s->activity_url);
	h = ucwa_saved_mix(h, s->start_url);
	h = ucwa_saved_mix(h, s->me_uri);
	h = ucwa_saved_mix(h, s->me_name);
	h = (h ^ (uint64_t)s->events_params ^ (uint64_t)s->nstarts << 8 ^
		(uint64_t)s->nconvs << 32) *
	    0xff51afd7ed558ccdULL;
	for (size_t i = 0; i < s->nstarts; i++) {
		h = ucwa_saved_mix(h, s->starts[i].opid);
		h = ucwa_saved_mix(h, s->starts[i].invitation);
	}
	for (size_t i = 0; i < s->nconvs; i++) {
		const struct ucwa_saved_conv *c = &s->convs[i];

		h = (h ^ (uint64_t)c->state ^ (uint64_t)c->incoming << 4 ^
			(uint64_t)c->preview_html << 8 ^ (uint64_t)c->preview_span << 16) *
		    0xff51afd7ed558ccdULL;
		h = ucwa_saved_mix(h, c->href);
		h = ucwa_saved_mix(h, c->invitation);
		h = ucwa_saved_mix(h, c->accept);
		h = ucwa_saved_mix(h, c->decline);
		h = ucwa_saved_mix(h, c->cancel);
		h = ucwa_saved_mix(h, c->send_message);
		h = ucwa_saved_mix(h, c->stop_messaging);
		h = ucwa_saved_mix(h, c->preview);
		h = ucwa_saved_mix(h, c->preview_from);
		h = ucwa_saved_mix(h, c->preview_sent);
	}
	return h;
}

/* A copy of member key's string, or NULL. */
static char *
ucwa_saved_str(const struct json *o, const char *key)
{
	const char *v = json_get_str(o, key);

	return v != NULL ? xstrdup(v) : NULL;
}

/* Member key as a boolean (absent: 0). */
static int
ucwa_saved_bool(const struct json *o, const char *key)
{
	const struct json *v = json_get(o, key);

	return v != NULL && v->type == JSON_BOOL && v->u.b;
}

/* Member key as an integer (absent: 0). */
static long long
ucwa_saved_int(const struct json *o, const char *key)
{
	const struct json *v = json_get(o, key);

	return v != NULL && v->type == JSON_INT ? v->u.i : 0;
}

/* The last max elements of array member key (NULL when none); *first is where they start. */
static const struct json *
ucwa_saved_arr(const struct json *o, const char *key, size_t max, size_t *first)
{
	const struct json *v = json_get(o, key);

	*first = 0;
	if (!json_is(v, JSON_ARRAY))
		return NULL;
	if (v->u.arr.n > max)
		*first = v->u.arr.n - max;
	return v;
}

/*
 * Read one saved conversation, its messages from m (version 3: its
 * element of "msgs", or NULL; before: the conversation itself); -1
 * without an href.
 */
static int
ucwa_saved_parse_conv(const struct json *o, const struct json *m, struct ucwa_saved_conv *c,
    const char *app, const char *start)
{
	const struct json *arr;
	const char *st = json_get_str(o, "state");
	size_t first;

	if (json_get_str(o, "href") == NULL)
		return -1;
	c->href = ucwa_saved_rel(json_get_str(o, "href"), app);
	for (int i = 0; st != NULL && i < 3; i++)
		if (strcmp(st, ucwa_saved_states[i]) == 0)
			c->state = i;
	c->incoming = ucwa_saved_bool(o, "incoming");
	c->invitation = ucwa_saved_rel2(json_get_str(o, "invitation"), app, start, NULL);
	c->accept = ucwa_saved_rel2(json_get_str(o, "accept"), app, c->href, NULL);
	c->decline = ucwa_saved_rel2(json_get_str(o, "decline"), app, c->href, NULL);
	c->cancel = ucwa_saved_rel2(json_get_str(o, "cancel"), app, c->href, NULL);
	c->send_message = ucwa_saved_rel2(json_get_str(o, "sendMessage"), app, c->href, NULL);
	c->stop_messaging = ucwa_saved_rel2(json_get_str(o, "stopMessaging"), app, c->href, NULL);
	c->preview = ucwa_saved_str(o, "preview");
	c->preview_html = ucwa_saved_bool(o, "previewHtml");
	c->preview_from = ucwa_saved_str(o, "previewFrom");
	c->preview_sent = ucwa_saved_str(o, "previewSent");
	c->preview_span = (unsigned)ucwa_saved_int(o, "previewSpan");
	c->inflight_opid = ucwa_saved_str(m, "inflight");
	arr = ucwa_saved_arr(m, "seen", UCWA_SAVED_SEEN, &first);
	c->seen = xcalloc(UCWA_SAVED_SEEN, sizeof(*c->seen));
	for (size_t i = first; arr != NULL && i < arr->u.arr.n; i++)
		if (json_str(arr->u.arr.v[i]) != NULL)
			c->seen[c->nseen++] = ucwa_saved_rel2(
			    json_str(arr->u.arr.v[i]), c->href, NULL, c->send_message);
	arr = ucwa_saved_arr(m, "sent", UCWA_SAVED_SENT, &first);
	c->sent_href = xcalloc(UCWA_SAVED_SENT, sizeof(*c->sent_href));
	c->sent_opid = xcalloc(UCWA_SAVED_SENT, sizeof(*c->sent_opid));
	for (size_t i = first; arr != NULL && i < arr->u.arr.n; i++) {
		const struct json *e = arr->u.arr.v[i];
		const char *href, *opid;

		if (json_is(e, JSON_ARRAY) &&
		    e->u.arr.n == 2) { /* version 2: [href, operationId] */
			href = json_str(e->u.arr.v[0]);
			opid = json_str(e->u.arr.v[1]);
		} else {
			href = json_get_str(e, "href");
			opid = json_get_str(e, "operationId");
		}
		if (href == NULL || opid == NULL)
			continue;
		c->sent_href[c->nsent] = ucwa_saved_rel2(href, c->href, NULL, c->send_message);
		c->sent_opid[c->nsent++] = xstrdup(opid);
	}
	return 0;
}

/* Version 2's marks: base64 of 4 bytes each, big-endian, oldest first; the last UCWA_SAVED_MARKS kept. */
static void
ucwa_saved_b64_marks(const char *v, struct ucwa_saved *s)
{
	struct buf raw;
	const unsigned char *p;
	size_t n, first;

	if (v == NULL)
		return;
	buf_init(&raw);
	if (util_base64_decode(&raw, v, strlen(v)) >= 0) {
		p = (const unsigned char *)raw.data;
		n = raw.len / 4;
		first = n > UCWA_SAVED_MARKS ? n - UCWA_SAVED_MARKS : 0;
		for (size_t i = first; i < n; i++)
			s->marks[s->nmarks++] = (uint32_t)p[4 * i] << 24 |
			    (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
			    p[4 * i + 3];
	}
	buf_free(&raw);
}

/* Read s from JSON (see ucwa.h). */
int
ucwa_saved_parse(const struct json *o, struct ucwa_saved *s, char **cause)
{
	const struct json *arr, *msgs, *m;
	size_t first;

	memset(s, 0, sizeof(*s));
	if (!json_is(o, JSON_OBJECT) || json_get_str(o, "user") == NULL) {
		xasprintf(cause, "UCWA snapshot: not an object with a user");
		return -1;
	}
	if (ucwa_saved_int(o, "v") < 1 || ucwa_saved_int(o, "v") > 5) { /* 5: 4's layout */
		xasprintf(cause, "UCWA snapshot: version %lld unknown", ucwa_saved_int(o, "v"));
		return -1;
	}
	s->user = ucwa_saved_str(o, "user");
	s->password = ucwa_saved_str(o, "password");
	s->token = ucwa_saved_str(o, "token");
	s->token_expires = ucwa_saved_int(o, "tokenExpires");
	s->endpoint_id = ucwa_saved_str(o, "endpointId");
	s->user_url = ucwa_saved_str(o, "userUrl");
	s->token_url = ucwa_saved_str(o, "tokenUrl");
	s->apps_url = ucwa_saved_str(o, "applicationsUrl");
	s->app = ucwa_saved_rel2(json_get_str(o, "application"), NULL, s->apps_url, NULL);
	s->events = ucwa_saved_rel(json_get_str(o, "events"), s->app);
	s->events_params = ucwa_saved_bool(o, "eventsParams");
	s->mma_url = ucwa_saved_rel(json_get_str(o, "makeMeAvailable"), s->app);
	s->activity_url = ucwa_saved_rel(json_get_str(o, "reportMyActivity"), s->app);
	s->start_url = ucwa_saved_rel(json_get_str(o, "startMessaging"), s->app);
	s->me_uri = ucwa_saved_str(o, "meUri");
	s->me_name = ucwa_saved_str(o, "meName");
	arr = ucwa_saved_arr(o, "marks", UCWA_SAVED_MARKS, &first);
	for (size_t i = first; arr != NULL && i < arr->u.arr.n; i++)
		if (arr->u.arr.v[i]->type == JSON_INT)
			s->marks[s->nmarks++] = (uint32_t)arr->u.arr.v[i]->u.i;
	ucwa_saved_b64_marks(json_get_str(o, "marks"), s);
	arr = ucwa_saved_arr(o, "starts", UCWA_SAVED_STARTS, &first);
	s->starts = xcalloc(UCWA_SAVED_STARTS, sizeof(*s->starts));
	for (size_t i = first; arr != NULL && i < arr->u.arr.n; i++) {
		const struct json *e = arr->u.arr.v[i];

		if (json_get_str(e, "operationId") == NULL)
			continue;
		s->starts[s->nstarts].opid = ucwa_saved_str(e, "operationId");
		s->starts[s->nstarts++].invitation =
		    ucwa_saved_rel2(json_get_str(e, "invitation"), s->app, s->start_url, NULL);
	}
	arr = ucwa_saved_arr(o, "conversations", UCWA_SAVED_CONVS, &first);
	msgs = json_get(o, "msgs"); /* version 3: the messages of conversation i at i */
	s->convs = xcalloc(UCWA_SAVED_CONVS, sizeof(*s->convs));
	for (size_t i = first; arr != NULL && i < arr->u.arr.n; i++) {
		m = ucwa_saved_int(o, "v") < 3			     ? arr->u.arr.v[i]
		    : json_is(msgs, JSON_ARRAY) && i < msgs->u.arr.n ? msgs->u.arr.v[i]
								     : NULL;
		if (ucwa_saved_parse_conv(
			arr->u.arr.v[i], m, &s->convs[s->nconvs], s->app, s->start_url) == 0)
			s->nconvs++;
		else
			memset(&s->convs[s->nconvs], 0, sizeof(s->convs[0]));
	}
	return 0;
}

/* Free a string that may be a secret: wiped first. */
static void
ucwa_saved_wipe(char *p)
{
	if (p != NULL)
		explicit_bzero(p, strlen(p));
	free(p);
}

/* Free what a saved conversation owns. */
static void
ucwa_saved_free_conv(struct ucwa_saved_conv *c)
{
	char **str[] = { &c->href, &c->invitation, &c->accept, &c->decline, &c->cancel,
		&c->send_message, &c->stop_messaging, &c->preview, &c->preview_from,
		&c->preview_sent, &c->inflight_opid };

	for (size_t i = 0; i < nitems(str); i++)
		free(*str[i]);
	for (size_t i = 0; i < c->nseen; i++)
		free(c->seen[i]);
	for (size_t i = 0; i < c->nsent; i++) {
		free(c->sent_href[i]);
		free(c->sent_opid[i]);
	}
	free(c->seen);
	free(c->sent_href);
	free(c->sent_opid);
}

/* Free a view (ucwa_resume.c): its arrays only, the strings being the agent's; s is zeroed. */
void
ucwa_saved_free_view(struct ucwa_saved *s)
{
	for (size_t i = 0; i < s->nconvs; i++) {
		free(s->convs[i].seen);
		free(s->convs[i].sent_href);
		free(s->convs[i].sent_opid);
	}
	free(s->convs);
	free(s->starts);
	memset(s, 0, sizeof(*s));
}

/* Free what s owns (s itself is the caller's); s is zeroed. */
void
ucwa_saved_free(struct ucwa_saved *s)
{
	char **str[] = { &s->user, &s->endpoint_id, &s->user_url, &s->token_url, &s->apps_url,
		&s->app, &s->events, &s->mma_url, &s->activity_url, &s->start_url, &s->me_uri,
		&s->me_name };

	if (s == NULL)
		return;
	for (size_t i = 0; i < nitems(str); i++)
		free(*str[i]);
	ucwa_saved_wipe(s->password);
	ucwa_saved_wipe(s->token);
	for (size_t i = 0; i < s->nstarts; i++) {
		free(s->starts[i].opid);
		free(s->starts[i].invitation);
	}
	free(s->starts);
	for (size_t i = 0; i < s->nconvs; i++)
		ucwa_saved_free_conv(&s->convs[i]);
	free(s->convs);
	memset(s, 0, sizeof(*s));
}
