/*
 * ucwa_conv.c: an agent's conversations and the IM commands. Each change
 * of the event channel is tracked on its conversation (links, state, the
 * first-message preview, our operationIds), then delivered to the owner;
 * an incoming message reaches it once (see ucwa.h). Messages of a
 * conversation go out one at a time, in order, from a bounded queue. A
 * conversation whose state was lost to an unusable event is read again
 * from the server.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "json.h"
#include "log.h"
#include "ucwa_int.h"

#define UCWA_MAX_CONVS	  64 /* conversations tracked per agent */
#define UCWA_SEEN_MSGS	  32 /* incoming message hrefs remembered per conversation */
#define UCWA_SENT_MSGS	  16 /* (Location, operationId) of sent messages per conversation */
#define UCWA_MAX_STARTS	  16 /* startMessaging operations awaiting their invitation */
#define UCWA_PREVIEW_SPAN 8  /* a late first-message event is recognised among this many */

/* A startMessaging of ours: its operationId and, once known, its invitation. */
struct ustart {
	TAILQ_ENTRY(ustart) entry;
	char *opid;
	char *invitation; /* normal form; NULL until the 201 or its first event */
};

/* A message queued on a conversation, until it is sent. */
struct umsg {
	TAILQ_ENTRY(umsg) entry;
	const char *text; /* text and opid in the message's own allocation */
	const char *opid;
	ucwa_done done;
	void *arg;
};
TAILQ_HEAD(umsgs, umsg);

/* A conversation's life (see docs/architecture.md). */
enum ucwa_conv_state {
	UCWA_CONV_NEW,	     /* seen on the channel, not connected yet (inviting, invited) */
	UCWA_CONV_CONNECTED, /* invitation accepted, or messaging Connected */
	UCWA_CONV_ENDED,     /* over, for good: the owner was told */
};

/* A conversation of an agent, from the first change about it. */
struct uconv {
	TAILQ_ENTRY(uconv) entry;
	char *href; /* absolute */
	char *raw;  /* as the server first wrote it (what the owner sees) */
	char *invitation;
	char *accept, *decline, *cancel; /* absolute, NULL when not possible */
	char *send_message, *stop_messaging;
	char *messaging_state;
	enum ucwa_conv_state state; /* changed by ucwa_conv_set_state only */
	int incoming;		    /* the remote invited us */
	uint64_t ended_at;
	char *preview;	  /* first-message preview, until a message event */
	int preview_html; /* it is text/html */
	char *preview_from;
	char *preview_sent;    /* text of a preview delivered without its own event */
	unsigned preview_span; /* messages since, up to UCWA_PREVIEW_SPAN */
	struct event *preview_timer;
	char *seen[UCWA_SEEN_MSGS];
	uint64_t seen_tag[UCWA_SEEN_MSGS]; /* ucwa_conv_seen_tag of each, 0 for none */
	unsigned nseen;
	char *sent_href[UCWA_SENT_MSGS]; /* Location of a sent message ... */
	char *sent_opid[UCWA_SENT_MSGS]; /* ... and its operationId (in sent_href's allocation) */
	unsigned nsent;
	char *inflight_opid; /* operationId of the message in flight */
	char *orphan_opid;   /* resumed: the previous process's message in flight */
	struct umsgs queue;
	unsigned nqueue;
	int inflight;
	int resyncing;	   /* a GET of the conversation (then messaging) is in flight */
	int gone;	   /* that GET found it gone before its invitation completed */
	int leave_pending; /* live when its application was lost: leave once usable again */
	struct ucwa_agent *a;
};

static void ucwa_conv_pump(struct uconv *);
static void ucwa_conv_track(struct ucwa_agent *, struct uconv *, const struct ucwa_change *);

/*
 * The one setter of a conversation's state: logs the transition. ENDED is
 * final: a late Connected of an ended conversation changes nothing.
 */
static void
ucwa_conv_set_state(struct uconv *v, enum ucwa_conv_state st, const char *why)
{
	static const char *const names[] = { "new", "connected", "ended" };

	if (v->state == st || v->state == UCWA_CONV_ENDED)
		return;
	log_debug("ucwa %s: conversation %s: %s -> %s (%s)", v->a->user, v->href, names[v->state],
	    names[st], why);
	v->state = st;
}

/*
 * The conversation with this href (any form), or NULL. Most hrefs asked
 * for are a conversation's own (in normal form, as kept): those are found
 * without working out the normal form.
 */
static struct uconv *
ucwa_conv_find(struct ucwa_agent *a, const char *href)
{
	struct uconv *v;
	const char *abs;

	if (href == NULL)
		return NULL;
	TAILQ_FOREACH(v, &a->convs, entry)
	if (ucwa_href_eq(v->href, href))
		return v;
	abs = ucwa_call_norm(a, href);
	TAILQ_FOREACH(v, &a->convs, entry)
	if (ucwa_href_eq(v->href, abs))
		break;
	return v;
}

/* Replace a kept link by the normal form of href (NULL: none). */
static void
ucwa_conv_set_href(char **dst, struct ucwa_agent *a, const char *href)
{
	free(*dst);
	*dst = ucwa_call_abs(a, href);
}

/* Message of the queue done without being sent. */
static void
ucwa_conv_msg_fail(struct ucwa_agent *a, struct umsg *m, const char *why)
{
	struct ucwa_result res;

	memset(&res, 0, sizeof(res));
	res.message = why;
	if (!a->dying && m->done != NULL)
		m->done(&res, m->arg);
	free(m);
}

/* Free a queued message without its callback (a call's ctx_free). */
static void
ucwa_conv_msg_free(void *p)
{
	free(p);
}

/* Free a conversation and its queue, without callbacks. */
static void
ucwa_conv_free(struct uconv *v)
{
	struct umsg *m;

	while ((m = TAILQ_FIRST(&v->queue)) != NULL) {
		TAILQ_REMOVE(&v->queue, m, entry);
		free(m);
	}
	if (v->preview_timer != NULL)
		event_free(v->preview_timer);
	for (unsigned i = 0; i < UCWA_SEEN_MSGS; i++)
		free(v->seen[i]);
	for (unsigned i = 0; i < UCWA_SENT_MSGS; i++)
		free(v->sent_href[i]); /* and sent_opid[i] */
	free(v->inflight_opid);
	free(v->orphan_opid);
	free(v->href);
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

/* Forget one startMessaging of ours. */
static void
ucwa_conv_start_free(struct ucwa_agent *a, struct ustart *s)
{
	TAILQ_REMOVE(&a->starts, s, entry);
	a->nstarts--;
	free(s->opid);
	free(s->invitation);
	free(s);
}

/* An agent's conversation table and startMessaging list, empty. */
void
ucwa_conv_init(struct ucwa_agent *a)
{
	TAILQ_INIT(&a->convs);
	TAILQ_INIT(&a->starts);
}

/* Free every conversation and startMessaging of an agent, without callbacks. */
void
ucwa_conv_free_all(struct ucwa_agent *a)
{
	struct uconv *v;
	struct ustart *s;

	while ((s = TAILQ_FIRST(&a->starts)) != NULL)
		ucwa_conv_start_free(a, s);
	while ((v = TAILQ_FIRST(&a->convs)) != NULL) {
		TAILQ_REMOVE(&a->convs, v, entry);
		ucwa_conv_free(v);
	}
	a->nconvs = 0;
}

/* Find or add (href in normal form); the oldest ended one makes room. NULL when
 * full of live ones, or without a conversation. */
static struct uconv *
ucwa_conv_get(struct ucwa_agent *a, const char *href)
{
	struct uconv *v = ucwa_conv_find(a, href), *old;

	if (v != NULL || href == NULL)
		return v;
	if (a->nconvs >= UCWA_MAX_CONVS) {
		TAILQ_FOREACH(old, &a->convs, entry)
		if (old->state == UCWA_CONV_ENDED && old->inflight == 0 && !old->leave_pending &&
		    !old->resyncing)
			break;
		if (old == NULL) {
			log_warn("ucwa %s: too many conversations; ignoring %s", a->user, href);
			return NULL;
		}
		TAILQ_REMOVE(&a->convs, old, entry);
		ucwa_conv_free(old);
		a->nconvs--;
	}
	v = xcalloc(1, sizeof(*v));
	v->a = a;
	v->href = xstrdup(href);
	TAILQ_INIT(&v->queue);
	TAILQ_INSERT_TAIL(&a->convs, v, entry);
	a->nconvs++;
	return v;
}

/* A change's identity: what it is about and what it says (hrefs in normal form). */
static uint32_t
ucwa_conv_fingerprint(const struct ucwa_change *ch)
{
	const char *f[] = { ucwa_kind_name(ch->kind), ucwa_type_name(ch->type), ch->conversation,
		ch->href, ch->self, ch->state, ch->status, ch->direction, ch->operation_id };
	uint64_t h = HMAP_FNV_START;

	for (size_t i = 0; i < nitems(f); i++) { /* hashed as one string, piece by piece */
		if (f[i] != NULL)
			h = hmap_fnv(h, f[i], strlen(f[i]));
		h = hmap_fnv(h, f[i] != NULL ? "\x1f" : "\x1e", 1); /* NULL is not "" */
	}
	h = hmap_fnv_end(h);
	return (uint32_t)(h ^ (h >> 32));
}

/*
 * Give a change to the owner, unless the agent is dying. Its identity is
 * remembered when snapshots are wanted (ucwa_keep_marks: the last
 * UCWA_SAVED_MARKS; not on a single node, where it is only cost); while a resumed
 * agent applies the replayed set, a change already delivered is dropped.
 * Typing comes and goes with the same identity: never marked.
 */
static void
ucwa_conv_deliver(struct ucwa_agent *a, const struct ucwa_change *ch)
{
	uint32_t fp;

	if (a->dying || a->cbs.change == NULL)
		return;
	if (ch->kind != UCWA_TYPING && (a->u->keep_marks || a->replay)) {
		fp = ucwa_conv_fingerprint(ch);
		for (unsigned i = 0; a->replay && i < UCWA_SAVED_MARKS && i < a->nmarks; i++) {
			if (a->marks[i] == fp) {
				log_debug(
				    "ucwa %s: replayed %s %s of %s dropped (delivered before)",
				    a->user, ucwa_kind_name(ch->kind), ucwa_type_name(ch->type),
				    ch->href ? ch->href : "-");
				return;
			}
		}
		a->marks[a->nmarks++ % UCWA_SAVED_MARKS] = fp;
	}
	a->cbs.change(ch, a->arg);
}

/* Deliver the first-message preview as the conversation's first incoming message. */
static void
ucwa_conv_preview_deliver(struct uconv *v)
{
	struct ucwa_change ch;

	if (v->preview == NULL)
		return;
	if (v->preview_timer != NULL)
		evtimer_del(v->preview_timer);
	memset(&ch, 0, sizeof(ch));
	ch.kind = UCWA_MESSAGE;
	ch.type = UCWA_COMPLETED;
	ch.conversation = v->href;
	ch.direction = "Incoming";
	ch.status = "Success";
	ch.text = v->preview;
	ch.text_html = v->preview_html;
	ch.from_uri = v->preview_from;
	free(v->preview_sent);
	v->preview_sent = v->preview;
	v->preview_span = 0;
	v->preview = NULL;
	ucwa_conv_deliver(v->a, &ch);
}

/* No message event came after the acceptance: deliver the preview. */
static void
ucwa_conv_preview_fire(evutil_socket_t fd, short what, void *arg)
{
	ucwa_conv_preview_deliver(arg);
}

/* The conversation is over: queued messages fail, the owner is told once. */
static void
ucwa_conv_end(struct uconv *v, const char *why)
{
	struct ucwa_agent *a = v->a;
	struct umsg *m;
	int connected;

	if (v->state == UCWA_CONV_ENDED)
		return;
	connected = v->state == UCWA_CONV_CONNECTED;
	ucwa_conv_set_state(v, UCWA_CONV_ENDED, why);
	if (connected)
		ucwa_conv_preview_deliver(v);
	while ((m = TAILQ_FIRST(&v->queue)) != NULL) {
		TAILQ_REMOVE(&v->queue, m, entry);
		v->nqueue--;
		ucwa_conv_msg_fail(a, m, "conversation ended");
	}
	free(v->send_message);
	v->send_message = NULL;
	log_info("ucwa %s: conversation %s ended: %s", a->user, v->href, why);
	if (!a->dying && a->cbs.ended != NULL)
		a->cbs.ended(v->href, why, a->arg);
}

/* Mark (or, now, leave in the background) every live conversation (see ucwa_int.h). */
void
ucwa_conv_leave_mark(struct ucwa_agent *a, int now)
{
	struct uconv *v;

	TAILQ_FOREACH(v, &a->convs, entry)
	{
		if (v->state == UCWA_CONV_ENDED)
			continue;
		if (!now)
			v->leave_pending = 1;
		else if (v->stop_messaging != NULL)
			ucwa_call_background(a, "POST", v->stop_messaging);
		else
			ucwa_call_background(a, "DELETE", v->href);
	}
}

/* A conversation left after its application was lost: only logged. */
static void
ucwa_conv_left_done(struct ucall *c, const struct hclient_resp *r)
{
	log_info("ucwa %s: left %s after the application was lost: %s %d", c->a->user, c->url,
	    r->err == HCLIENT_OK ? "HTTP" : hclient_err_name(r->err), r->status);
}

/*
 * Ready again after the application was lost: a server may give the same
 * application back with its conversations still Connected, where the
 * remote's messages would vanish. Leave each conversation that was live:
 * stopMessaging, else DELETE (a 404 means it is gone already).
 */
void
ucwa_conv_leave_behind(struct ucwa_agent *a)
{
	struct uconv *v;
	struct ucall *c;

	TAILQ_FOREACH(v, &a->convs, entry)
	{
		if (!v->leave_pending)
			continue;
		v->leave_pending = 0;
		log_info(
		    "ucwa %s: leaving %s (live when the application was lost)", a->user, v->href);
		c = ucwa_call_new(a, v->stop_messaging ? "POST" : "DELETE",
		    v->stop_messaging ? v->stop_messaging : v->href, ucwa_conv_left_done);
		c->app_gen =
		    a->app_gen - 1; /* about the lost application: its 404 condemns no other */
		if (ucwa_call_start(c) != 0)
			ucwa_call_free(c);
	}
}

/* A conversation found in an application given back was left: only logged. */
static void
ucwa_conv_found_left(struct ucall *c, const struct hclient_resp *r)
{
	log_info("ucwa %s: left %s (live in the application given back): %s %d", c->a->user, c->url,
	    r->err == HCLIENT_OK ? "HTTP" : hclient_err_name(r->err), r->status);
}

/*
 * A conversation found live in the application the server gave back (a
 * previous run's, or this one's after it was lost): no desktop has a
 * session for it, so the remote's messages would vanish. Leave it (DELETE:
 * the remote sees it end), unless ucwa_conv_leave_behind is about to.
 */
void
ucwa_conv_leave_found(struct ucwa_agent *a, const char *href)
{
	char *abs = ucwa_call_abs(a, href);
	struct uconv *v = ucwa_conv_find(a, abs);
	struct ucall *c;

	if (v == NULL || !v->leave_pending) {
		log_info("ucwa %s: leaving %s (live in the application given back, no session)",
		    a->user, abs);
		c = ucwa_call_new(a, "DELETE", abs, ucwa_conv_found_left);
		if (ucwa_call_start(c) != 0)
			ucwa_call_free(c);
	}
	free(abs);
}

/* End every conversation (application lost, resume, failure). */
void
ucwa_conv_end_all(struct ucwa_agent *a, const char *why)
{
	struct uconv *v;

	TAILQ_FOREACH(v, &a->convs, entry)
	{
		if (a->dying)
			break;
		ucwa_conv_end(v, why);
	}
}

/*
 * A cheap tag of a message href: its length and its last 7 bytes, where
 * the hrefs of one conversation differ (they share their first 80 or so).
 * Equal hrefs have equal tags; never 0.
 */
static uint64_t
ucwa_conv_seen_tag(const char *href)
{
	size_t len = strlen(href), n = len < 7 ? len : 7;
	uint64_t tag = 0;

	memcpy(&tag, href + len - n, n);
	return tag << 8 ^ (uint64_t)(len & 0x7f) << 1 ^ 1;
}

/* Remember an incoming message href; 0 if it was seen before (strcmp only on equal tags). */
static int
ucwa_conv_first_sight(struct uconv *v, const char *self)
{
	uint64_t tag = ucwa_conv_seen_tag(self);
	unsigned slot;

	for (unsigned i = 0; i < UCWA_SEEN_MSGS; i++)
		if (v->seen_tag[i] == tag && ucwa_href_eq(v->seen[i], self))
			return 0;
	slot = v->nseen++ % UCWA_SEEN_MSGS;
	free(v->seen[slot]);
	v->seen[slot] = xstrdup(self);
	v->seen_tag[slot] = tag;
	return 1;
}

/* Whether a and b are the same text but for trailing CR/LF. */
static int
ucwa_conv_same_text(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	while (la > 0 && (a[la - 1] == '\r' || a[la - 1] == '\n'))
		la--;
	while (lb > 0 && (b[lb - 1] == '\r' || b[lb - 1] == '\n'))
		lb--;
	return la == lb && memcmp(a, b, la) == 0;
}

/* Whether message ch is the first message whose preview was text. */
static int
ucwa_conv_is_first(const char *text, const struct ucwa_change *ch)
{
	return ucwa_conv_same_text(text, ch->text) ||
	    (ch->alt_text != NULL && ucwa_conv_same_text(text, ch->alt_text));
}

/*
 * An incoming message: deliver once per self href. The first message's
 * own event replaces its preview; any other message delivers the preview
 * first (the first message comes first, and a server may never send its
 * event). A first-message event that comes after its preview was
 * delivered is recognised by its text among the next UCWA_PREVIEW_SPAN
 * messages, and dropped.
 */
static void
ucwa_conv_incoming(struct uconv *v, const struct ucwa_change *ch)
{
	if (ch->text == NULL || !ucwa_conv_first_sight(v, ch->self))
		return;
	if (v->preview != NULL && ucwa_conv_is_first(v->preview, ch)) {
		free(v->preview); /* the message event itself is here */
		v->preview = NULL;
		if (v->preview_timer != NULL)
			evtimer_del(v->preview_timer);
	} else if (v->preview != NULL)
		ucwa_conv_preview_deliver(v);
	else if (v->preview_sent != NULL && ucwa_conv_is_first(v->preview_sent, ch)) {
		free(v->preview_sent); /* already delivered from the preview */
		v->preview_sent = NULL;
		return;
	}
	if (v->preview_sent != NULL && ++v->preview_span >= UCWA_PREVIEW_SPAN) {
		free(v->preview_sent);
		v->preview_sent = NULL;
	}
	if (!v->a->dying)
		ucwa_conv_deliver(v->a, ch);
}

/* An invitation snapshot: its links replace the old ones. */
static const char *
ucwa_conv_invitation(struct uconv *v, const struct ucwa_change *ch, char *why, size_t len)
{
	struct ucwa_agent *a = v->a;

	if (!ch->embedded)
		return NULL;
	ucwa_conv_set_href(&v->invitation, a, ch->href);
	ucwa_conv_set_href(&v->accept, a, ch->accept);
	ucwa_conv_set_href(&v->decline, a, ch->decline);
	ucwa_conv_set_href(&v->cancel, a, ch->cancel);
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
		ucwa_conv_set_state(v, UCWA_CONV_CONNECTED, "invitation accepted");
		if (v->preview != NULL) {
			struct timeval tv = { a->u->conf.preview_wait_ms / 1000,
				(a->u->conf.preview_wait_ms % 1000) * 1000 };

			if (v->preview_timer == NULL)
				v->preview_timer =
				    evtimer_new(a->u->base, ucwa_conv_preview_fire, v);
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

/*
 * The operationId of an invitation change that came without one (servers
 * that do not echo it): the startMessaging whose 201 named this
 * invitation, else the oldest of ours whose invitation is not known yet
 * (an Outgoing invitation on our channel is always one we started). Copied
 * into out; NULL when it is not ours.
 */
static const char *
ucwa_conv_start_attribute(struct ucwa_agent *a, const struct ucwa_change *ch, struct buf *out)
{
	struct ustart *s;

	TAILQ_FOREACH(s, &a->starts, entry)
	if (ucwa_href_eq(s->invitation, ch->href))
		break;
	if (s == NULL && ch->direction != NULL && strcmp(ch->direction, "Outgoing") == 0) {
		TAILQ_FOREACH(s, &a->starts, entry)
		if (s->invitation == NULL)
			break;
		if (s != NULL)
			s->invitation = xstrdup(ch->href);
	}
	if (s == NULL)
		return NULL;
	buf_addstr(out, s->opid);
	if (ch->type == UCWA_COMPLETED)
		ucwa_conv_start_free(a, s);
	return out->data;
}

/* Forget the startMessaging with this operationId, if it is ours. */
static void
ucwa_conv_start_forget(struct ucwa_agent *a, const char *opid)
{
	struct ustart *s;

	TAILQ_FOREACH(s, &a->starts, entry)
	if (strcmp(s->opid, opid) == 0)
		break;
	if (s != NULL)
		ucwa_conv_start_free(a, s);
}

/* Remember the Location of a sent message with its operationId. */
static void
ucwa_conv_sent(struct uconv *v, const char *href, const char *opid)
{
	unsigned i = v->nsent++ % UCWA_SENT_MSGS;
	size_t hlen = strlen(href) + 1, olen = strlen(opid) + 1;

	free(v->sent_href[i]); /* and the operationId after it */
	v->sent_href[i] = xmalloc(hlen + olen);
	memcpy(v->sent_href[i], href, hlen);
	v->sent_opid[i] = memcpy(v->sent_href[i] + hlen, opid, olen);
}

/*
 * The operationId of an outgoing message change that came without one:
 * the message whose 201 Location is its href, else (an event that beat
 * the 201) the message in flight, whose Location it then is. Copied into
 * out; NULL when unknown.
 */
static const char *
ucwa_conv_sent_opid(struct uconv *v, const struct ucwa_change *ch, struct buf *out)
{
	for (unsigned i = 0; i < UCWA_SENT_MSGS; i++) {
		if (ucwa_href_eq(v->sent_href[i], ch->href)) {
			buf_addstr(out, v->sent_opid[i]);
			return out->data;
		}
	}
	if (v->orphan_opid != NULL && !v->inflight && ch->href != NULL) {
		/* resumed: the message the previous process had in flight */
		ucwa_conv_sent(v, ch->href, v->orphan_opid);
		buf_addstr(out, v->orphan_opid);
		free(v->orphan_opid);
		v->orphan_opid = NULL;
		return out->data;
	}
	if (!v->inflight || v->inflight_opid == NULL || ch->href == NULL)
		return NULL;
	ucwa_conv_sent(v, ch->href, v->inflight_opid);
	buf_addstr(out, v->inflight_opid);
	return out->data;
}

/* The normal form of href (NULL for NULL), kept with the event set evs. */
static const char *
ucwa_conv_norm_kept(struct ucwa_agent *a, struct ucwa_events *evs, const char *href)
{
	if (href == NULL)
		return NULL;
	ucwa_call_norm(a, href);
	return ucwa_events_keep(evs, a->norm.data, a->norm.len);
}

/*
 * Track what a change of the event set evs does to its conversation,
 * deliver it, then end if it ended. The normal forms of its hrefs are kept
 * with evs (freed with it by the caller, its owner).
 */
void
ucwa_conv_apply(struct ucwa_agent *a, struct ucwa_events *evs, const struct ucwa_change *raw)
{
	struct ucwa_change n = *raw, *ch = &n;
	struct buf opid;
	struct uconv *v;

	buf_init(&opid);
	/* from here on every href of the change is in the normal form */
	n.href = ucwa_conv_norm_kept(a, evs, raw->href);
	n.self = ucwa_conv_norm_kept(a, evs, raw->self);
	n.conversation = ucwa_conv_norm_kept(a, evs, raw->conversation);
	if (n.kind == UCWA_INVITATION && n.operation_id == NULL && n.href != NULL)
		n.operation_id = ucwa_conv_start_attribute(a, &n, &opid);
	else if (n.kind == UCWA_INVITATION && n.type == UCWA_COMPLETED && n.operation_id != NULL)
		ucwa_conv_start_forget(a, n.operation_id); /* echoed: nothing left to attribute */
	v = ucwa_conv_get(a, ch->conversation);
	if (v != NULL && n.kind == UCWA_MESSAGE && n.operation_id == NULL && n.direction != NULL &&
	    strcmp(n.direction, "Outgoing") == 0)
		n.operation_id = ucwa_conv_sent_opid(v, &n, &opid);
	if (v != NULL && a->replay && v->state == UCWA_CONV_ENDED)
		log_debug("ucwa %s: replayed %s of ended %s dropped", a->user,
		    ucwa_kind_name(ch->kind), v->href);
	else if (v == NULL)
		ucwa_conv_deliver(a, ch);
	else
		ucwa_conv_track(a, v, ch);
	buf_free(&opid);
}

/* What a change does to its known conversation: deliver it, then end or pump. */
static void
ucwa_conv_track(struct ucwa_agent *a, struct uconv *v, const struct ucwa_change *ch)
{
	const char *end = NULL;
	char why[200];

	switch (ch->kind) {
	case UCWA_INVITATION: end = ucwa_conv_invitation(v, ch, why, sizeof(why)); break;
	case UCWA_CONVERSATION:
		if (ch->type == UCWA_DELETED)
			end = "conversation deleted";
		else if (ch->state != NULL && strcmp(ch->state, "Disconnected") == 0)
			end = "conversation disconnected";
		break;
	case UCWA_MESSAGING:
		if (!ch->embedded)
			break;
		ucwa_conv_set_href(&v->send_message, a, ch->send_message);
		ucwa_conv_set_href(&v->stop_messaging, a, ch->stop_messaging);
		if (ch->state != NULL && strcmp(ch->state, "Connected") == 0)
			ucwa_conv_set_state(v, UCWA_CONV_CONNECTED, "messaging connected");
		if (ch->state != NULL && strcmp(ch->state, "Disconnected") == 0)
			end = "messaging disconnected";
		break;
	case UCWA_MESSAGE:
		if (ch->direction != NULL && strcmp(ch->direction, "Incoming") == 0) {
			ucwa_conv_incoming(v, ch);
			return;
		}
		break;
	default: break;
	}
	ucwa_conv_deliver(a, ch);
	if (a->dying)
		return;
	if (end != NULL)
		ucwa_conv_end(v, end);
	else
		ucwa_conv_pump(v);
}

/* ---- resynchronisation after an unusable event ---- */

/* The messaging resource of a conversation being resynchronised. */
static void
ucwa_conv_resync_messaging(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;
	struct uconv *v = ucwa_conv_find(a, c->ctx);
	struct ucwa_events evs;
	char err[160];

	if (v == NULL || v->state == UCWA_CONV_ENDED)
		return;
	v->resyncing = 0;
	if (r->err != HCLIENT_OK || r->status != 200 ||
	    ucwa_resource_parse(r->body, r->len, UCWA_MESSAGING, c->url, &evs, err, sizeof(err)))
		return; /* the conversation GET found it; the next event will tell */
	evs.v[0].conversation = v->href;
	ucwa_conv_apply(a, &evs, &evs.v[0]);
	ucwa_events_free(&evs);
}

/* The conversation resource: gone (404) ends it; else its state, then its messaging. */
static void
ucwa_conv_resync_conversation(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;
	struct uconv *v = ucwa_conv_find(a, c->ctx);
	struct ucwa_events evs;
	struct ucall *m;
	char err[160];

	if (v == NULL || v->state == UCWA_CONV_ENDED)
		return;
	v->resyncing = 0;
	if (r->err == HCLIENT_OK && (r->status == 404 || r->status == 410)) {
		if (v->state != UCWA_CONV_NEW) {
			ucwa_conv_end(v, "conversation gone (resynchronised)");
			return;
		}
		/* the invitation's completion, with its reason, is on its way on the
		 * event channel (the GET raced it): ended after the next response */
		log_info("ucwa %s: %s gone before its invitation completed; waiting for the "
			 "event channel",
		    a->user, v->href);
		v->gone = 1;
		a->convs_gone = 1;
		return;
	}
	if (r->err != HCLIENT_OK || r->status != 200 ||
	    ucwa_resource_parse(
		r->body, r->len, UCWA_CONVERSATION, v->href, &evs, err, sizeof(err)) != 0) {
		log_warn("ucwa %s: resynchronising %s failed", a->user, v->href);
		return;
	}
	evs.v[0].conversation = v->href;
	if (evs.v[0].messaging != NULL && v->state != UCWA_CONV_ENDED) {
		char *url = ucwa_call_abs(a, evs.v[0].messaging);

		m = ucwa_call_new(a, "GET", url, ucwa_conv_resync_messaging);
		free(url);
		m->ctx = xstrdup(v->href);
		m->ctx_free = free;
		if (ucwa_call_start(m) != 0)
			ucwa_call_free(m);
		else
			v->resyncing = 1;
	}
	ucwa_conv_apply(a, &evs, &evs.v[0]);
	ucwa_events_free(&evs);
}

/* Read a conversation's state again from the server (GET conversation, then messaging). */
static void
ucwa_conv_resync(struct uconv *v)
{
	struct ucwa_agent *a = v->a;
	struct ucall *c;

	if (v->state == UCWA_CONV_ENDED || v->resyncing || a->state != UA_READY)
		return;
	log_info("ucwa %s: resynchronising %s from the server", a->user, v->href);
	c = ucwa_call_new(a, "GET", v->href, ucwa_conv_resync_conversation);
	c->ctx = xstrdup(v->href);
	c->ctx_free = free;
	if (ucwa_call_start(c) != 0) {
		ucwa_call_free(c);
		return;
	}
	v->resyncing = 1;
}

/* An event-channel response was applied: a conversation found gone while its
 * invitation was pending (ucwa_conv_resync_conversation) that it did not end ends now. */
void
ucwa_conv_gone_settle(struct ucwa_agent *a)
{
	struct uconv *v;

	if (!a->convs_gone) /* the usual case: nothing to scan */
		return;
	a->convs_gone = 0;
	TAILQ_FOREACH(v, &a->convs, entry)
	{
		if (a->dying)
			break;
		if (!v->gone)
			continue;
		v->gone = 0;
		ucwa_conv_end(v, "conversation gone (resynchronised)");
	}
}

/* Read the conversation with this href again; -1 when it is not known. */
int
ucwa_conv_resync_href(struct ucwa_agent *a, const char *href)
{
	struct uconv *v = ucwa_conv_find(a, href);

	if (v == NULL)
		return -1;
	ucwa_conv_resync(v);
	return 0;
}

/* Read every conversation again (an unusable event that cannot be placed). */
void
ucwa_conv_resync_all(struct ucwa_agent *a)
{
	struct uconv *v;

	TAILQ_FOREACH(v, &a->convs, entry)
	{
		if (a->dying)
			break;
		ucwa_conv_resync(v);
	}
}

/* ---- commands ---- */

/* A command's answer, to its owner. */
static void
ucwa_conv_cmd_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_result res;
	struct buf s, loc;
	const char *l;

	buf_init(&s);
	buf_init(&loc);
	ucwa_call_result(r, &res, &s);
	if (res.ok && r->msg != NULL && (l = hparse_header(r->msg, "Location")) != NULL) {
		ucwa_call_resolve(c->a, l, &loc);
		res.location = loc.data;
	}
	if (c->done != NULL)
		c->done(&res, c->done_arg);
	buf_free(&s);
	buf_free(&loc);
}

/* Start a command call; NULL or why not. */
static const char *
ucwa_conv_cmd_start(struct ucwa_agent *a, const char *method, const char *url, const char *ctype,
    const char *body, ucall_cb cb, ucwa_done done, void *arg, struct ucall **out)
{
	struct ucall *c;

	if (a->state != UA_READY)
		return "not signed in";
	c = ucwa_call_new(a, method, url, cb);
	c->ctype = ctype;
	if (body != NULL)
		buf_addstr(&c->body, body);
	c->done = done;
	c->done_arg = arg;
	if (ucwa_call_start(c) != 0) {
		ucwa_call_free(c);
		return "too many requests outstanding upstream";
	}
	if (out != NULL)
		*out = c;
	return NULL;
}

/* startMessaging answered: its 201 names the invitation; a failure forgets it. */
static void
ucwa_conv_start_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;
	struct ustart *s;
	struct buf loc;
	const char *l;

	TAILQ_FOREACH(s, &a->starts, entry)
	if (c->ctx != NULL && strcmp(s->opid, c->ctx) == 0)
		break;
	if (s != NULL && r->err == HCLIENT_OK && r->status == 201 && r->msg != NULL &&
	    (l = hparse_header(r->msg, "Location")) != NULL && s->invitation == NULL) {
		buf_init(&loc);
		ucwa_call_resolve(a, l, &loc);
		s->invitation = buf_detach(&loc, NULL);
	} else if (s != NULL && (r->err != HCLIENT_OK || r->status / 100 != 2))
		ucwa_conv_start_free(a, s);
	ucwa_conv_cmd_done(c, r);
}

/* startMessaging: invite to into a new conversation (see ucwa.h). */
const char *
ucwa_start_messaging(struct ucwa_agent *a, const char *to, const char *operation_id,
    const char *subject, const char *importance, ucwa_done done, void *arg)
{
	struct ucall *c = NULL;
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
	why = ucwa_conv_cmd_start(a, "POST", a->start_url, "application/json", b.data,
	    ucwa_conv_start_done, done, arg, &c);
	buf_free(&b);
	if (why == NULL && operation_id != NULL) {
		struct ustart *s;

		if (a->nstarts >= UCWA_MAX_STARTS)
			ucwa_conv_start_free(a, TAILQ_FIRST(&a->starts));
		s = xcalloc(1, sizeof(*s));
		s->opid = xstrdup(operation_id);
		TAILQ_INSERT_TAIL(&a->starts, s, entry);
		a->nstarts++;
		c->ctx = xstrdup(operation_id);
		c->ctx_free = free;
	}
	return why;
}

/* The 201 (or failure) of a sendMessage: report, then send the next one. */
static void
ucwa_conv_msg_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;
	struct uconv *v = ucwa_conv_find(a, c->conv);
	struct umsg *m = c->ctx;

	c->ctx = NULL;
	if (v != NULL) {
		v->inflight = 0;
		free(v->inflight_opid);
		v->inflight_opid = NULL;
	}
	if (v != NULL && m->opid != NULL && r->err == HCLIENT_OK && r->status == 201 &&
	    r->msg != NULL && hparse_header(r->msg, "Location") != NULL)
		ucwa_conv_sent(v, ucwa_call_norm(a, hparse_header(r->msg, "Location")), m->opid);
	c->done = m->done;
	c->done_arg = m->arg;
	ucwa_conv_cmd_done(c, r);
	ucwa_conv_msg_free(m);
	if (v != NULL && !a->dying)
		ucwa_conv_pump(v);
}

/* Send the next queued message when none is in flight and messaging allows it. */
static void
ucwa_conv_pump(struct uconv *v)
{
	struct ucwa_agent *a = v->a;
	struct umsg *m;
	struct ucall *c = NULL;
	struct buf url;
	const char *why;

	if (v->inflight || v->state == UCWA_CONV_ENDED || v->send_message == NULL ||
	    a->state != UA_READY || (m = TAILQ_FIRST(&v->queue)) == NULL)
		return;
	TAILQ_REMOVE(&v->queue, m, entry);
	v->nqueue--;
	buf_init(&url);
	if (m->opid != NULL)
		hclient_url_add_query(&url, v->send_message, "operationId", m->opid);
	else
		buf_addstr(&url, v->send_message);
	why = ucwa_conv_cmd_start(a, "POST", url.data, "text/plain; charset=UTF-8", m->text,
	    ucwa_conv_msg_done, NULL, NULL, &c);
	buf_free(&url);
	if (why != NULL) {
		ucwa_conv_msg_fail(a, m, why);
		return;
	}
	c->ctx = m;
	c->ctx_free = ucwa_conv_msg_free;
	c->conv = xstrdup(v->href);
	v->inflight = 1;
	free(v->inflight_opid);
	v->inflight_opid = m->opid != NULL ? xstrdup(m->opid) : NULL;
}

/* Queue a message of a conversation; sent in order (see ucwa.h). */
const char *
ucwa_send_message(struct ucwa_agent *a, const char *conv, const char *text,
    const char *operation_id, ucwa_done done, void *arg)
{
	struct uconv *v = ucwa_conv_find(a, conv);
	size_t tlen = strlen(text) + 1, olen = operation_id ? strlen(operation_id) + 1 : 0;
	struct umsg *m;
	char *s;

	if (a->state != UA_READY)
		return "not signed in";
	if (v == NULL)
		return "unknown conversation";
	if (v->state == UCWA_CONV_ENDED)
		return "conversation ended";
	if (v->nqueue >= a->u->conf.max_send_queue)
		return "send queue full";
	m = xcalloc(1, sizeof(*m) + tlen + olen); /* the strings follow */
	s = (char *)(m + 1);
	m->text = memcpy(s, text, tlen);
	m->opid = operation_id ? memcpy(s + tlen, operation_id, olen) : NULL;
	m->done = done;
	m->arg = arg;
	TAILQ_INSERT_TAIL(&v->queue, m, entry);
	v->nqueue++;
	ucwa_conv_pump(v);
	return NULL;
}

/* POST (or DELETE) one of a conversation's current links. */
static const char *
ucwa_conv_cmd_link(struct ucwa_agent *a, const char *conv, size_t off, const char *method,
    const char *what, ucwa_done done, void *arg)
{
	struct uconv *v = ucwa_conv_find(a, conv);
	const char *url;

	if (a->state != UA_READY)
		return "not signed in";
	if (v == NULL)
		return "unknown conversation";
	if ((url = *(char **)((char *)v + off)) == NULL)
		return what;
	return ucwa_conv_cmd_start(a, method, url, NULL, NULL, ucwa_conv_cmd_done, done, arg, NULL);
}

/* Accept an incoming invitation. */
const char *
ucwa_accept(struct ucwa_agent *a, const char *conv, ucwa_done done, void *arg)
{
	return ucwa_conv_cmd_link(a, conv, offsetof(struct uconv, accept), "POST",
	    "no accept link (not an incoming invitation, or no longer)", done, arg);
}

/* Decline an incoming invitation. */
const char *
ucwa_decline(struct ucwa_agent *a, const char *conv, ucwa_done done, void *arg)
{
	return ucwa_conv_cmd_link(a, conv, offsetof(struct uconv, decline), "POST",
	    "no decline link (not an incoming invitation, or no longer)", done, arg);
}

/* Cancel an outgoing invitation in progress. */
const char *
ucwa_cancel(struct ucwa_agent *a, const char *conv, ucwa_done done, void *arg)
{
	return ucwa_conv_cmd_link(a, conv, offsetof(struct uconv, cancel), "POST",
	    "no cancel link (not an outgoing invitation in progress)", done, arg);
}

/* Stop messaging in a conversation. */
const char *
ucwa_stop_messaging(struct ucwa_agent *a, const char *conv, ucwa_done done, void *arg)
{
	return ucwa_conv_cmd_link(a, conv, offsetof(struct uconv, stop_messaging), "POST",
	    "no stopMessaging link", done, arg);
}

/* Leave (DELETE) a conversation. */
const char *
ucwa_leave(struct ucwa_agent *a, const char *conv, ucwa_done done, void *arg)
{
	return ucwa_conv_cmd_link(
	    a, conv, offsetof(struct uconv, href), "DELETE", "unknown conversation", done, arg);
}

/* ---- snapshot and resume (ucwa_resume.c) ---- */

#define UCWA_SAVED_ENDED 8 /* ended conversations kept in a snapshot (their replays are dropped) */

/* A copy of a string that may be NULL. */
static char *
ucwa_conv_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* A copy of s, or (borrow) s itself, for a view that lives no longer than the agent's state. */
static char *
ucwa_conv_take(const char *s, int borrow)
{
	return borrow ? (char *)(uintptr_t)s : ucwa_conv_dup(s);
}

/* One conversation into its saved form: the last max_msgs seen and sent messages. */
static void
ucwa_conv_save_one(const struct uconv *v, struct ucwa_saved_conv *o, int borrow, unsigned max_msgs)
{
	unsigned first, n;

	o->href = ucwa_conv_take(v->href, borrow);
	o->state = (int)v->state;
	o->incoming = v->incoming;
	if (v->state == UCWA_CONV_ENDED)
		return; /* its href is enough to know it */
	o->invitation = ucwa_conv_take(v->invitation, borrow);
	o->accept = ucwa_conv_take(v->accept, borrow);
	o->decline = ucwa_conv_take(v->decline, borrow);
	o->cancel = ucwa_conv_take(v->cancel, borrow);
	o->send_message = ucwa_conv_take(v->send_message, borrow);
	o->stop_messaging = ucwa_conv_take(v->stop_messaging, borrow);
	o->preview = ucwa_conv_take(v->preview, borrow);
	o->preview_html = v->preview_html;
	o->preview_from = ucwa_conv_take(v->preview_from, borrow);
	o->preview_sent = ucwa_conv_take(v->preview_sent, borrow);
	o->preview_span = v->preview_span;
	n = v->nseen < UCWA_SEEN_MSGS ? v->nseen : UCWA_SEEN_MSGS;
	n = n < max_msgs ? n : max_msgs;
	first = v->nseen - n;
	o->seen = xcalloc(n + 1, sizeof(*o->seen));
	for (unsigned i = 0; i < n; i++)
		o->seen[o->nseen++] = ucwa_conv_take(v->seen[(first + i) % UCWA_SEEN_MSGS], borrow);
	n = v->nsent < UCWA_SENT_MSGS ? v->nsent : UCWA_SENT_MSGS;
	n = n < max_msgs ? n : max_msgs;
	first = v->nsent - n;
	o->sent_href = xcalloc(n + 1, sizeof(*o->sent_href));
	o->sent_opid = xcalloc(n + 1, sizeof(*o->sent_opid));
	for (unsigned i = 0; i < n; i++) {
		o->sent_href[o->nsent] =
		    ucwa_conv_take(v->sent_href[(first + i) % UCWA_SENT_MSGS], borrow);
		o->sent_opid[o->nsent++] =
		    ucwa_conv_take(v->sent_opid[(first + i) % UCWA_SENT_MSGS], borrow);
	}
	o->inflight_opid = ucwa_conv_take(v->inflight ? v->inflight_opid : v->orphan_opid, borrow);
}

/*
 * The conversations (live ones, the last UCWA_SAVED_ENDED ended; the last
 * max_msgs seen and sent messages of each) and startMessaging list; copies,
 * or (borrow) the agent's own strings (see ucwa_int.h).
 */
void
ucwa_conv_save(const struct ucwa_agent *a, struct ucwa_saved *s, int borrow, unsigned max_msgs)
{
	const struct uconv *v;
	const struct ustart *st;
	unsigned ended = 0, skip;

	TAILQ_FOREACH(v, &a->convs, entry)
	ended += v->state == UCWA_CONV_ENDED;
	skip = ended > UCWA_SAVED_ENDED ? ended - UCWA_SAVED_ENDED : 0;
	s->convs = xcalloc(a->nconvs + 1, sizeof(*s->convs));
	TAILQ_FOREACH(v, &a->convs, entry)
	{
		if (v->state == UCWA_CONV_ENDED && skip > 0) {
			skip--;
			continue;
		}
		ucwa_conv_save_one(v, &s->convs[s->nconvs++], borrow, max_msgs);
	}
	s->starts = xcalloc(a->nstarts + 1, sizeof(*s->starts));
	TAILQ_FOREACH(st, &a->starts, entry)
	{
		s->starts[s->nstarts].opid = ucwa_conv_take(st->opid, borrow);
		s->starts[s->nstarts++].invitation = ucwa_conv_take(st->invitation, borrow);
	}
}

/* One saved conversation back into the table (its preview timer re-armed). */
static void
ucwa_conv_restore_one(struct ucwa_agent *a, const struct ucwa_saved_conv *o)
{
	struct uconv *v;

	if (o->href == NULL || (v = ucwa_conv_get(a, o->href)) == NULL)
		return;
	v->state = o->state == 1 ? UCWA_CONV_CONNECTED
	    : o->state == 2	 ? UCWA_CONV_ENDED
				 : UCWA_CONV_NEW;
	v->incoming = o->incoming;
	if (v->state == UCWA_CONV_ENDED)
		return;
	v->invitation = ucwa_conv_dup(o->invitation);
	v->accept = ucwa_conv_dup(o->accept);
	v->decline = ucwa_conv_dup(o->decline);
	v->cancel = ucwa_conv_dup(o->cancel);
	v->send_message = ucwa_conv_dup(o->send_message);
	v->stop_messaging = ucwa_conv_dup(o->stop_messaging);
	v->preview = ucwa_conv_dup(o->preview);
	v->preview_html = o->preview_html;
	v->preview_from = ucwa_conv_dup(o->preview_from);
	v->preview_sent = ucwa_conv_dup(o->preview_sent);
	v->preview_span = o->preview_span;
	for (size_t i = 0; i < o->nseen; i++)
		ucwa_conv_first_sight(v, o->seen[i]);
	for (size_t i = 0; i < o->nsent; i++)
		ucwa_conv_sent(v, o->sent_href[i], o->sent_opid[i]);
	v->orphan_opid = ucwa_conv_dup(o->inflight_opid);
	if (v->preview != NULL && v->state == UCWA_CONV_CONNECTED) {
		struct timeval tv = { a->u->conf.preview_wait_ms / 1000,
			(a->u->conf.preview_wait_ms % 1000) * 1000 };

		v->preview_timer = evtimer_new(a->u->base, ucwa_conv_preview_fire, v);
		evtimer_add(v->preview_timer, &tv);
	}
}

/* A resumed agent's conversations and startMessaging list, from its snapshot. */
void
ucwa_conv_restore(struct ucwa_agent *a, const struct ucwa_saved *s)
{
	for (size_t i = 0; i < s->nconvs; i++)
		ucwa_conv_restore_one(a, &s->convs[i]);
	for (size_t i = 0; i < s->nstarts && i < UCWA_MAX_STARTS; i++) {
		struct ustart *st = xcalloc(1, sizeof(*st));

		st->opid = xstrdup(s->starts[i].opid ? s->starts[i].opid : "");
		st->invitation = ucwa_conv_dup(s->starts[i].invitation);
		TAILQ_INSERT_TAIL(&a->starts, st, entry);
		a->nstarts++;
	}
}
