/*
 * ucwa_chan.c: an agent's event channel, conversations and commands.
 * Promises: exactly one P-GET parked per application, re-parked (next,
 * resync or resume) before a response is processed; after a drop, a
 * timeout or 409 PGetReplaced the SAME URL is fetched again after a
 * back-off with jitter. Changes reach the owner in server order; an
 * incoming message reaches it once (see ucwa.h). Messages of a
 * conversation go out one at a time, in order, from a bounded queue.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "metrics.h"
#include "ucwa_int.h"

static void uchan_get(struct ucwa_agent *);
static void uconv_pump(struct uconv *);

/* ---- event channel ---- */

/* The back-off before a re-GET is over. */
static void
uchan_fire(evutil_socket_t fd, short what, void *arg)
{
	struct ucwa_agent *a = arg;

	ua_enter(a);
	if (a->pget == NULL && a->state != UA_FAILED && a->app != NULL)
		uchan_get(a);
	ua_leave(a);
}

/* GET the same URL again after a back-off with jitter. */
static void
uchan_retry(struct ucwa_agent *a, const char *why)
{
	unsigned ms =
	    ua_backoff(&a->pget_backoff, a->u->conf.backoff_min_ms, a->u->conf.backoff_max_ms);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	log_warn("ucwa %s: event channel: %s; same URL again in %u ms", a->user, why, ms);
	metrics_inc(M_UCWA_RECONNECTS, NULL);
	if (a->pget_timer == NULL)
		a->pget_timer = evtimer_new(a->u->base, uchan_fire, a);
	evtimer_add(a->pget_timer, &tv);
}

static void uconv_apply(struct ucwa_agent *, const struct ucwa_change *);

/* A P-GET came back. */
static void
uchan_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;
	struct ucwa_events evs;
	unsigned gen = a->app_gen;
	char err[256], why[300];
	const char *link;

	if (a->state == UA_FAILED || a->app == NULL)
		return;
	if (r->err != HCLIENT_OK) {
		snprintf(why, sizeof(why), "%s", r->errstr);
		uchan_retry(a, why);
		return;
	}
	if (r->status != 200) {
		snprintf(why, sizeof(why), "HTTP %d%s", r->status,
		    r->status == 409 && ua_error_subcode(r, "PGetReplaced") ? " PGetReplaced" : "");
		uchan_retry(a, why);
		return;
	}
	if (ucwa_events_parse(r->body, r->len, &evs, err, sizeof(err)) != 0) {
		uchan_retry(a, err);
		return;
	}
	link = evs.next ? evs.next : evs.resync ? evs.resync : evs.resume;
	free(a->events_url);
	a->events_url = ua_abs(a, link);
	a->add_params = evs.resume != NULL;
	a->pget_backoff = 0;
	if (evs.resync != NULL)
		log_warn("ucwa %s: event channel: resync", a->user);
	uchan_get(a); /* parked again before anything is processed */
	if (evs.resume != NULL) {
		log_warn("ucwa %s: event channel: resume: every conversation is gone", a->user);
		uconv_end_all(a, "resume");
	}
	if (a->cbs.events != NULL && !a->dying)
		a->cbs.events(json_root(evs.doc), 1, a->arg);
	for (size_t i = 0; i < evs.n && !a->dying && gen == a->app_gen && a->state != UA_FAILED;
	     i++)
		uconv_apply(a, &evs.v[i]);
	if (a->cbs.events != NULL && !a->dying)
		a->cbs.events(NULL, 0, a->arg);
	ucwa_events_free(&evs);
}

/* Park the P-GET on the current events URL. */
static void
uchan_get(struct ucwa_agent *a)
{
	struct ucall *c;
	struct buf b;
	char t[16];

	buf_init(&b);
	if (a->add_params && a->u->conf.pget_timeout_s > 0) {
		snprintf(t, sizeof(t), "%u", a->u->conf.pget_timeout_s);
		hclient_url_add_query(&b, a->events_url, "timeout", t);
	} else
		buf_addstr(&b, a->events_url);
	c = ucall_new(a, "GET", b.data, uchan_done);
	c->kind = "event_channel";
	buf_free(&b);
	c->flags = HCLIENT_LONGPOLL;
	c->timeout_ms = a->u->conf.pget_read_timeout_ms;
	if (ucall_start(c) != 0) {
		ucall_free(c);
		uchan_retry(a, "too many requests outstanding");
		return;
	}
	a->pget = c;
}

/* Start the channel of a (new) application. */
void
uchan_start(struct ucwa_agent *a)
{
	uchan_stop(a);
	a->pget_backoff = 0;
	uchan_get(a);
}

/* No P-GET, no pending re-GET. */
void
uchan_stop(struct ucwa_agent *a)
{
	if (a->pget != NULL)
		ucall_free(a->pget);
	a->pget = NULL;
	if (a->pget_timer != NULL) {
		event_free(a->pget_timer);
		a->pget_timer = NULL;
	}
}

/* ---- conversations ---- */

static struct uconv *
uconv_find(struct ucwa_agent *a, const char *href)
{
	struct uconv *v;
	char *abs;

	if (href == NULL)
		return NULL;
	abs = ua_abs(a, href);
	TAILQ_FOREACH(v, &a->convs, entry)
	if (strcmp(v->href, abs) == 0)
		break;
	free(abs);
	return v;
}

static void
uconv_set(char **dst, struct ucwa_agent *a, const char *href)
{
	free(*dst);
	*dst = ua_abs(a, href);
}

/* Message of the queue done without being sent. */
static void
umsg_fail(struct ucwa_agent *a, struct umsg *m, const char *why)
{
	struct ucwa_result res;

	memset(&res, 0, sizeof(res));
	res.message = why;
	if (!a->dying && m->done != NULL)
		m->done(&res, m->arg);
	free(m->text);
	free(m->opid);
	free(m);
}

static void
umsg_free(void *p)
{
	struct umsg *m = p;

	free(m->text);
	free(m->opid);
	free(m);
}

static void
uconv_free(struct uconv *v)
{
	struct umsg *m;

	while ((m = TAILQ_FIRST(&v->queue)) != NULL) {
		TAILQ_REMOVE(&v->queue, m, entry);
		free(m->text);
		free(m->opid);
		free(m);
	}
	if (v->preview_timer != NULL)
		event_free(v->preview_timer);
	for (unsigned i = 0; i < UCWA_SEEN_MSGS; i++)
		free(v->seen[i]);
	free(v->href);
	free(v->raw);
	free(v->invitation);
	free(v->accept);
	free(v->decline);
	free(v->cancel);
	free(v->send_message);
	free(v->stop_messaging);
	free(v->preview);
	free(v->preview_from);
	free(v->preview_sent);
	free(v);
}

void
uconv_free_all(struct ucwa_agent *a)
{
	struct uconv *v;

	while ((v = TAILQ_FIRST(&a->convs)) != NULL) {
		TAILQ_REMOVE(&a->convs, v, entry);
		uconv_free(v);
	}
	a->nconvs = 0;
}

/* Find or add; the oldest ended one makes room. NULL when full of live ones. */
static struct uconv *
uconv_get(struct ucwa_agent *a, const char *raw)
{
	struct uconv *v = uconv_find(a, raw), *old;

	if (v != NULL)
		return v;
	if (a->nconvs >= UCWA_MAX_CONVS) {
		TAILQ_FOREACH(old, &a->convs, entry)
		if (old->ended && old->inflight == 0)
			break;
		if (old == NULL) {
			log_warn("ucwa %s: too many conversations; ignoring %s", a->user, raw);
			return NULL;
		}
		TAILQ_REMOVE(&a->convs, old, entry);
		uconv_free(old);
		a->nconvs--;
	}
	v = xcalloc(1, sizeof(*v));
	v->a = a;
	v->href = ua_abs(a, raw);
	v->raw = xstrdup(raw);
	TAILQ_INIT(&v->queue);
	TAILQ_INSERT_TAIL(&a->convs, v, entry);
	a->nconvs++;
	return v;
}

static void
ua_deliver(struct ucwa_agent *a, const struct ucwa_change *ch)
{
	if (!a->dying && a->cbs.change != NULL)
		a->cbs.change(ch, a->arg);
}

/* Deliver the first-message preview as the conversation's first incoming message. */
static void
uconv_preview_deliver(struct uconv *v)
{
	struct ucwa_change ch;

	if (v->preview == NULL)
		return;
	if (v->preview_timer != NULL)
		evtimer_del(v->preview_timer);
	memset(&ch, 0, sizeof(ch));
	ch.kind = UCWA_MESSAGE;
	ch.type = UCWA_COMPLETED;
	ch.conversation = v->raw;
	ch.direction = "Incoming";
	ch.status = "Success";
	ch.text = v->preview;
	ch.text_html = v->preview_html;
	ch.from_uri = v->preview_from;
	free(v->preview_sent);
	v->preview_sent = v->preview;
	v->preview = NULL;
	ua_deliver(v->a, &ch);
}

static void
uconv_preview_fire(evutil_socket_t fd, short what, void *arg)
{
	struct uconv *v = arg;
	struct ucwa_agent *a = v->a;

	ua_enter(a);
	uconv_preview_deliver(v);
	ua_leave(a);
}

/* The conversation is over: queued messages fail, the owner is told once. */
static void
uconv_end(struct uconv *v, const char *why)
{
	struct ucwa_agent *a = v->a;
	struct umsg *m;

	if (v->ended)
		return;
	v->ended = 1;
	if (v->connected)
		uconv_preview_deliver(v);
	while ((m = TAILQ_FIRST(&v->queue)) != NULL) {
		TAILQ_REMOVE(&v->queue, m, entry);
		v->nqueue--;
		umsg_fail(a, m, "conversation ended");
	}
	free(v->send_message);
	v->send_message = NULL;
	log_info("ucwa %s: conversation %s ended: %s", a->user, v->raw, why);
	if (!a->dying && a->cbs.ended != NULL)
		a->cbs.ended(v->raw, why, a->arg);
}

void
uconv_end_all(struct ucwa_agent *a, const char *why)
{
	struct uconv *v;

	TAILQ_FOREACH(v, &a->convs, entry)
	{
		if (a->dying)
			break;
		uconv_end(v, why);
	}
}

/* Remember an incoming message href; 0 if it was seen before. */
static int
uconv_first_sight(struct uconv *v, const char *self)
{
	for (unsigned i = 0; i < UCWA_SEEN_MSGS; i++)
		if (v->seen[i] != NULL && strcmp(v->seen[i], self) == 0)
			return 0;
	free(v->seen[v->nseen % UCWA_SEEN_MSGS]);
	v->seen[v->nseen++ % UCWA_SEEN_MSGS] = xstrdup(self);
	return 1;
}

/* Whether a and b are the same text but for trailing CR/LF. */
static int
uconv_same_text(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	while (la > 0 && (a[la - 1] == '\r' || a[la - 1] == '\n'))
		la--;
	while (lb > 0 && (b[lb - 1] == '\r' || b[lb - 1] == '\n'))
		lb--;
	return la == lb && memcmp(a, b, la) == 0;
}

/* An incoming message: deliver once per self href; the preview gives way. */
static void
uconv_incoming(struct uconv *v, const struct ucwa_change *ch)
{
	if (ch->text == NULL || !uconv_first_sight(v, ch->self))
		return;
	if (v->preview != NULL) {
		free(v->preview); /* the message event itself is here */
		v->preview = NULL;
		if (v->preview_timer != NULL)
			evtimer_del(v->preview_timer);
	} else if (v->preview_sent != NULL &&
	    (uconv_same_text(v->preview_sent, ch->text) ||
		(ch->alt_text != NULL && uconv_same_text(v->preview_sent, ch->alt_text)))) {
		free(v->preview_sent); /* already delivered from the preview */
		v->preview_sent = NULL;
		return;
	}
	free(v->preview_sent);
	v->preview_sent = NULL;
	ua_deliver(v->a, ch);
}

/* An invitation snapshot: its links replace the old ones. */
static const char *
uconv_invitation(struct uconv *v, const struct ucwa_change *ch, char *why, size_t len)
{
	struct ucwa_agent *a = v->a;

	if (!ch->embedded)
		return NULL;
	uconv_set(&v->invitation, a, ch->href);
	uconv_set(&v->accept, a, ch->accept);
	uconv_set(&v->decline, a, ch->decline);
	uconv_set(&v->cancel, a, ch->cancel);
	if (ch->direction != NULL && strcmp(ch->direction, "Incoming") == 0)
		v->incoming = 1;
	if (ch->type == UCWA_STARTED && v->incoming && ch->text != NULL && v->nseen == 0 &&
	    v->preview == NULL && v->preview_sent == NULL) {
		v->preview = xstrdup(ch->text);
		v->preview_html = ch->text_html;
		v->preview_from = ch->from_uri ? xstrdup(ch->from_uri) : NULL;
	}
	if (ch->type != UCWA_COMPLETED)
		return NULL;
	if (ch->status != NULL && strcmp(ch->status, "Success") == 0) {
		v->connected = 1;
		if (v->preview != NULL) {
			struct timeval tv = { a->u->conf.preview_wait_ms / 1000,
				(a->u->conf.preview_wait_ms % 1000) * 1000 };

			if (v->preview_timer == NULL)
				v->preview_timer = evtimer_new(a->u->base, uconv_preview_fire, v);
			evtimer_add(v->preview_timer, &tv);
		}
		return NULL;
	}
	free(v->preview); /* never accepted: no message */
	v->preview = NULL;
	snprintf(why, len, "invitation failed: %s %s", ch->reason_code ? ch->reason_code : "",
	    ch->reason_subcode ? ch->reason_subcode : "");
	return why;
}

/* Track what a change does to its conversation, deliver it, then end if it ended. */
static void
uconv_apply(struct ucwa_agent *a, const struct ucwa_change *ch)
{
	struct uconv *v = uconv_get(a, ch->conversation);
	const char *end = NULL;
	char why[200];

	if (v == NULL) {
		ua_deliver(a, ch);
		return;
	}
	switch (ch->kind) {
	case UCWA_INVITATION: end = uconv_invitation(v, ch, why, sizeof(why)); break;
	case UCWA_CONVERSATION:
		if (ch->type == UCWA_DELETED)
			end = "conversation deleted";
		else if (ch->state != NULL && strcmp(ch->state, "Disconnected") == 0)
			end = "conversation disconnected";
		break;
	case UCWA_MESSAGING:
		if (!ch->embedded)
			break;
		uconv_set(&v->send_message, a, ch->send_message);
		uconv_set(&v->stop_messaging, a, ch->stop_messaging);
		if (ch->state != NULL && strcmp(ch->state, "Connected") == 0)
			v->connected = 1;
		if (ch->state != NULL && strcmp(ch->state, "Disconnected") == 0)
			end = "messaging disconnected";
		break;
	case UCWA_MESSAGE:
		if (ch->direction != NULL && strcmp(ch->direction, "Incoming") == 0) {
			uconv_incoming(v, ch);
			return;
		}
		break;
	default: break;
	}
	ua_deliver(a, ch);
	if (a->dying)
		return;
	if (end != NULL)
		uconv_end(v, end);
	else
		uconv_pump(v);
}

/* ---- commands ---- */

/* A command's answer, to its owner. */
static void
ucmd_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_result res;
	struct buf s, loc;
	const char *l;

	buf_init(&s);
	buf_init(&loc);
	ua_result_from(r, &res, &s);
	if (res.ok && r->msg != NULL && (l = hparse_header(r->msg, "Location")) != NULL) {
		ua_resolve(c->a, l, &loc);
		res.location = loc.data;
	}
	if (c->done != NULL)
		c->done(&res, c->done_arg);
	buf_free(&s);
	buf_free(&loc);
}

/* Start a command call; NULL or why not. */
static const char *
ucmd_start(struct ucwa_agent *a, const char *method, const char *url, const char *ctype,
    const char *body, ucall_cb cb, ucwa_done done, void *arg, struct ucall **out)
{
	struct ucall *c;

	if (a->state != UA_READY)
		return "not signed in";
	c = ucall_new(a, method, url, cb);
	if (ctype != NULL)
		c->ctype = xstrdup(ctype);
	if (body != NULL)
		buf_addstr(&c->body, body);
	c->done = done;
	c->done_arg = arg;
	if (ucall_start(c) != 0) {
		ucall_free(c);
		return "too many requests outstanding upstream";
	}
	if (out != NULL)
		*out = c;
	return NULL;
}

const char *
ucwa_start_messaging(struct ucwa_agent *a, const char *to, const char *operation_id,
    const char *subject, const char *importance, ucwa_done done, void *arg)
{
	struct buf b;
	struct jw w;
	const char *why;

	if (a->start_url == NULL)
		return a->state == UA_READY ? "no startMessaging link" : "not signed in";
	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "to", to);
	if (operation_id != NULL)
		jw_kstr(&w, "operationId", operation_id);
	if (subject != NULL)
		jw_kstr(&w, "subject", subject);
	if (importance != NULL)
		jw_kstr(&w, "importance", importance);
	jw_obj_end(&w);
	why = ucmd_start(
	    a, "POST", a->start_url, "application/json", b.data, ucmd_done, done, arg, NULL);
	buf_free(&b);
	return why;
}

/* The 201 (or failure) of a sendMessage: report, then send the next one. */
static void
umsg_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;
	struct uconv *v = uconv_find(a, c->conv);
	struct umsg *m = c->ctx;

	c->ctx = NULL;
	if (v != NULL)
		v->inflight = 0;
	c->done = m->done;
	c->done_arg = m->arg;
	ucmd_done(c, r);
	umsg_free(m);
	if (v != NULL && !a->dying)
		uconv_pump(v);
}

/* Send the next queued message when none is in flight and messaging allows it. */
static void
uconv_pump(struct uconv *v)
{
	struct ucwa_agent *a = v->a;
	struct umsg *m;
	struct ucall *c = NULL;
	struct buf url;
	const char *why;

	if (v->inflight || v->ended || v->send_message == NULL || a->state != UA_READY ||
	    (m = TAILQ_FIRST(&v->queue)) == NULL)
		return;
	TAILQ_REMOVE(&v->queue, m, entry);
	v->nqueue--;
	buf_init(&url);
	if (m->opid != NULL)
		hclient_url_add_query(&url, v->send_message, "operationId", m->opid);
	else
		buf_addstr(&url, v->send_message);
	why = ucmd_start(
	    a, "POST", url.data, "text/plain; charset=UTF-8", m->text, umsg_done, NULL, NULL, &c);
	buf_free(&url);
	if (why != NULL) {
		umsg_fail(a, m, why);
		return;
	}
	c->ctx = m;
	c->ctx_free = umsg_free;
	c->conv = xstrdup(v->raw);
	v->inflight = 1;
}

const char *
ucwa_send_message(struct ucwa_agent *a, const char *conv, const char *text,
    const char *operation_id, ucwa_done done, void *arg)
{
	struct uconv *v = uconv_find(a, conv);
	struct umsg *m;

	if (a->state != UA_READY)
		return "not signed in";
	if (v == NULL)
		return "unknown conversation";
	if (v->ended)
		return "conversation ended";
	if (v->nqueue >= a->u->conf.max_send_queue)
		return "send queue full";
	m = xcalloc(1, sizeof(*m));
	m->text = xstrdup(text);
	m->opid = operation_id ? xstrdup(operation_id) : NULL;
	m->done = done;
	m->arg = arg;
	TAILQ_INSERT_TAIL(&v->queue, m, entry);
	v->nqueue++;
	uconv_pump(v);
	return NULL;
}

/* POST (or DELETE) one of a conversation's current links. */
static const char *
ucmd_link(struct ucwa_agent *a, const char *conv, size_t off, const char *method, const char *what,
    ucwa_done done, void *arg)
{
	struct uconv *v = uconv_find(a, conv);
	const char *url;

	if (a->state != UA_READY)
		return "not signed in";
	if (v == NULL)
		return "unknown conversation";
	if ((url = *(char **)((char *)v + off)) == NULL)
		return what;
	return ucmd_start(a, method, url, NULL, NULL, ucmd_done, done, arg, NULL);
}

const char *
ucwa_accept(struct ucwa_agent *a, const char *conv, ucwa_done done, void *arg)
{
	return ucmd_link(a, conv, offsetof(struct uconv, accept), "POST",
	    "no accept link (not an incoming invitation, or no longer)", done, arg);
}

const char *
ucwa_decline(struct ucwa_agent *a, const char *conv, ucwa_done done, void *arg)
{
	return ucmd_link(a, conv, offsetof(struct uconv, decline), "POST",
	    "no decline link (not an incoming invitation, or no longer)", done, arg);
}

const char *
ucwa_cancel(struct ucwa_agent *a, const char *conv, ucwa_done done, void *arg)
{
	return ucmd_link(a, conv, offsetof(struct uconv, cancel), "POST",
	    "no cancel link (not an outgoing invitation in progress)", done, arg);
}

const char *
ucwa_stop_messaging(struct ucwa_agent *a, const char *conv, ucwa_done done, void *arg)
{
	return ucmd_link(a, conv, offsetof(struct uconv, stop_messaging), "POST",
	    "no stopMessaging link", done, arg);
}

const char *
ucwa_leave(struct ucwa_agent *a, const char *conv, ucwa_done done, void *arg)
{
	return ucmd_link(
	    a, conv, offsetof(struct uconv, href), "DELETE", "unknown conversation", done, arg);
}
