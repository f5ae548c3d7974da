/*
 * ucwa_event.c: parse one event-channel response into ordered, typed
 * changes (see ucwa_event.h). The response is read in one pass with
 * json_sax_parse (yajl's callbacks): no tree is built, only the members
 * used are kept (copied into the response's own memory). Unknown senders,
 * rels and properties are ignored; a malformed event is skipped and
 * reported, and only a response without a link to go on is refused whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datauri.h"
#include "json.h"
#include "strpool.h"
#include "ucwa_event.h"

#define UCWA_EVENTS_MAX_BYTES	(4u << 20)
#define UCWA_EVENTS_MAX_CHANGES 4096
/* the room of a response's first vector of changes: most have one, and 3 fit
 * the allocator's per-thread cache */
#define UCWA_EVENTS_FIRST_CHANGES 3
#define UCWA_EVENT_STRS_FIRST	  2048 /* the first chunk of the strings kept */
#define UCWA_EVENT_DEPTH	  10   /* containers read (deeper ones are skipped) */

/* What a container is, as far as the gateway is concerned. */
enum ucwa_event_role {
	UE_SKIP,	/* nothing in it is used */
	UE_ROOT,	/* the response */
	UE_LINKS,	/* its _links */
	UE_LINK,	/* _links.self / next / resync / resume */
	UE_SENDERS,	/* sender[] */
	UE_SENDER,	/* one sender */
	UE_EVENTS,	/* its events[] */
	UE_EVENT,	/* one event */
	UE_EV_LINK,	/* event.link */
	UE_EV_IN,	/* event.in */
	UE_EV_REASON,	/* event.reason */
	UE_EV_EMBEDDED, /* event._embedded */
	UE_RES,		/* an embedded resource (or the resource of ucwa_resource_parse) */
	UE_RES_EMB,	/* resource._embedded */
	UE_RES_FROM,	/* resource._embedded.from */
	UE_RES_LINKS,	/* resource._links */
	UE_RES_LINKV,	/* resource._links.<rel> as an array: its first element counts */
	UE_RES_LINK,	/* resource._links.<rel> */
	UE_RES_LINK1,	/* the first element of resource._links.<rel>[] */
};

/* The strings of an embedded resource; those found among its keys (the
 * properties and the links) in the order of ucwa_event_props and
 * ucwa_event_links, which put first the names of a message (the most
 * frequent event), since they are looked for one by one. */
enum ucwa_event_field {
	UF_PROP,
	UF_DIRECTION = UF_PROP,
	UF_TIMESTAMP,
	UF_OPERATION_ID,
	UF_STATE,
	UF_SUBJECT,
	UF_IMPORTANCE,
	UF_THREAD_ID,
	UF_URI,
	UF_NAME,
	UF_FROM_URI,
	UF_FROM_NAME,
	UF_PARTICIPANT_TITLE,
	UF_LINK, /* the hrefs of _links */
	UF_L_SELF = UF_LINK,
	UF_L_PARTICIPANT,
	UF_L_MESSAGING,
	UF_L_PLAIN_MESSAGE,
	UF_L_HTML_MESSAGE,
	UF_L_MESSAGE,
	UF_L_CONVERSATION,
	UF_L_TO,
	UF_L_ACCEPT,
	UF_L_DECLINE,
	UF_L_CANCEL,
	UF_L_SEND_MESSAGE,
	UF_L_STOP_MESSAGING,
	UF_L_SET_IS_TYPING,
	UF_L_FAILED_DELIVERY,
	UF_N
};

/* A name looked for among keys. */
struct ucwa_event_name {
	const char *s;
	size_t len;
};

#define UE_NAME(x)                                                                                 \
	{                                                                                          \
		x, sizeof(x) - 1                                                                   \
	}

static const struct ucwa_event_name ucwa_event_links[] = { UE_NAME("self"), UE_NAME("participant"),
	UE_NAME("messaging"), UE_NAME("plainMessage"), UE_NAME("htmlMessage"), UE_NAME("message"),
	UE_NAME("conversation"), UE_NAME("to"), UE_NAME("accept"), UE_NAME("decline"),
	UE_NAME("cancel"), UE_NAME("sendMessage"), UE_NAME("stopMessaging"), UE_NAME("setIsTyping"),
	UE_NAME("failedDeliveryParticipant") };

static const struct ucwa_event_name ucwa_event_props[] = { UE_NAME("direction"),
	UE_NAME("timeStamp"), UE_NAME("operationId"), UE_NAME("state"), UE_NAME("subject"),
	UE_NAME("importance"), UE_NAME("threadId"), UE_NAME("uri"), UE_NAME("name") };

/* The rels of the kinds used (ucwa_event_kind), whose embedded resource can be
 * used (in _embedded under that name); message first (the most frequent),
 * localParticipant last. */
static const struct ucwa_event_name ucwa_event_embedded[] = { UE_NAME("message"),
	UE_NAME("messagingInvitation"), UE_NAME("conversation"), UE_NAME("messaging"),
	UE_NAME("participant"), UE_NAME("localParticipant") };

#define UE_NEMBEDDED 6

_Static_assert(nitems(ucwa_event_props) == UF_FROM_URI - UF_PROP, "a field per property");
_Static_assert(nitems(ucwa_event_links) == UF_N - UF_LINK, "a field per link");
_Static_assert(nitems(ucwa_event_embedded) == UE_NEMBEDDED, "a resource per rel");

/* An embedded resource as read. */
struct ucwa_event_res {
	int present; /* the member is there (of any type) */
	const char *f[UF_N];
};

/* The event being read: its members, and each usable embedded resource. */
struct ucwa_event_ev {
	const char *rel, *href, *title, *in, *type, *status, *code, *subcode, *message;
	struct ucwa_event_res res[UE_NEMBEDDED];
};

/* One open container. */
struct ucwa_event_frame {
	unsigned char role;
	unsigned char obj_role, arr_role; /* what an object / array value of the current key is */
	signed char arg;		  /* role's detail: the resource (UE_RES), the link field */
	signed char next_arg;		  /* the arg of the current key's container value */
	const char **dst;		  /* where a string value of the current key goes */
	const char **target;		  /* UE_LINK: where its href goes (UE_LINKS: the next's) */
	size_t n;			  /* arrays: elements so far */
};

/* One parse. */
struct ucwa_event_parser {
	struct ucwa_events *evs;
	size_t cap;		    /* of evs->v */
	unsigned skip;		    /* depth inside a skipped container */
	unsigned depth;		    /* frames in use */
	int root_object;	    /* the document is an object */
	int sender_seen;	    /* the response has a "sender" member... */
	int sender_array;	    /* ...and it is an array */
	const char *srel, *shref;   /* the sender being read */
	size_t sfirst, sfirst_bad;  /* its first change and first reported bad event */
	struct ucwa_event_res *res; /* the resource being read */
	struct ucwa_event_ev ev;
	struct ucwa_event_frame stack[UCWA_EVENT_DEPTH];
};

/* Whether the key s (len bytes) is lit. */
static inline int
ucwa_event_is(const char *s, size_t len, const char *lit, size_t litlen)
{
	return len == litlen && memcmp(s, lit, len) == 0;
}

#define UE_IS(s, len, lit) ucwa_event_is(s, len, lit, sizeof(lit) - 1)

/* The index of s (len bytes) in names[n], or -1. */
static int
ucwa_event_find(const struct ucwa_event_name *names, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (names[i].len == len && memcmp(names[i].s, s, len) == 0)
			return (int)i;
	}
	return -1;
}

/* The change kind for a link rel (its index in ucwa_event_embedded, or -1)
 * and the "in" collection, or -1 to ignore. */
static int
ucwa_event_kind(int rel, const char *in)
{
	static const int kinds[UE_NEMBEDDED] = { UCWA_MESSAGE, UCWA_INVITATION, UCWA_CONVERSATION,
		UCWA_MESSAGING, UCWA_PARTICIPANT, UCWA_PARTICIPANT };

	if (rel < 0)
		return -1;
	if (kinds[rel] == UCWA_PARTICIPANT && in != NULL && strcmp(in, "typingParticipants") == 0)
		return UCWA_TYPING;
	return kinds[rel];
}

/* The change type for an event's "type", or -1. */
static int
ucwa_event_type(const char *t)
{
	static const struct ucwa_event_name names[] = { UE_NAME("added"), UE_NAME("updated"),
		UE_NAME("deleted"), UE_NAME("started"), UE_NAME("completed") };

	return t != NULL ? ucwa_event_find(names, nitems(names), t, strlen(t)) : -1;
}

/* Decode a data URI link into c->text, as sent, unless a text is there already. */
static void
ucwa_event_text(struct ucwa_change *c, const char *uri)
{
	struct buf b;
	int html;

	if (uri == NULL || c->text != NULL)
		return;
	buf_init(&b);
	if (datauri_decode(uri, &b, &html) == 0) {
		c->text = buf_detach(&b, NULL);
		c->text_html = html;
		c->text_bad = 0;
	} else {
		c->text_bad = 1;
		buf_free(&b);
	}
}

/* Keep the plain rendition of a message whose text is HTML (to match a plain preview). */
static void
ucwa_event_alt_text(struct ucwa_change *c, const char *uri)
{
	struct buf b;
	int html;

	if (uri == NULL || c->text == NULL || !c->text_html)
		return;
	buf_init(&b);
	if (datauri_decode(uri, &b, &html) == 0 && !html)
		c->alt_text = buf_detach(&b, NULL);
	else
		buf_free(&b);
}

/* Fill the resource fields of c from its embedded resource. */
static void
ucwa_event_resource(struct ucwa_change *c, const struct ucwa_event_res *r)
{
	const char *const *f = r->f;

	c->embedded = 1;
	c->state = f[UF_STATE];
	c->direction = f[UF_DIRECTION];
	c->operation_id = f[UF_OPERATION_ID];
	c->subject = f[UF_SUBJECT];
	c->importance = f[UF_IMPORTANCE];
	c->thread_id = f[UF_THREAD_ID];
	c->self = f[UF_L_SELF];
	c->messaging = f[UF_L_MESSAGING];
	c->from_uri = f[UF_FROM_URI];
	c->from_name = f[UF_FROM_NAME];
	if (c->kind == UCWA_PARTICIPANT && c->from_uri == NULL) {
		c->from_uri = f[UF_URI];
		c->from_name = f[UF_NAME];
	}
	c->to = f[UF_L_TO];
	c->accept = f[UF_L_ACCEPT];
	c->decline = f[UF_L_DECLINE];
	c->cancel = f[UF_L_CANCEL];
	c->send_message = f[UF_L_SEND_MESSAGE];
	c->stop_messaging = f[UF_L_STOP_MESSAGING];
	c->set_is_typing = f[UF_L_SET_IS_TYPING];
	c->participant = f[UF_L_PARTICIPANT];
	c->participant_name = f[UF_PARTICIPANT_TITLE];
	c->failed_delivery = f[UF_L_FAILED_DELIVERY];
	c->timestamp = f[UF_TIMESTAMP];
	if (c->kind == UCWA_INVITATION && f[UF_L_CONVERSATION] != NULL)
		c->conversation = f[UF_L_CONVERSATION];
	if (c->kind == UCWA_MESSAGE) {
		/* the message as written (HTML) wins over the server's plain rendition */
		ucwa_event_text(c, f[UF_L_HTML_MESSAGE]);
		ucwa_event_alt_text(c, f[UF_L_PLAIN_MESSAGE]);
		ucwa_event_text(c, f[UF_L_PLAIN_MESSAGE]);
	} else if (c->kind == UCWA_INVITATION)
		ucwa_event_text(c, f[UF_L_MESSAGE]);
}

/* Report an unusable event (kind -1: unknown) and skip it; the sender's
 * part is filled in when the sender ends (ucwa_event_sender_end). */
static void
ucwa_event_bad(struct ucwa_events *evs, const struct ucwa_event_ev *e, int kind, const char *why)
{
	struct ucwa_bad *b;

	if (evs->nbad_total++ >= UCWA_EVENTS_MAX_BAD)
		return;
	b = &evs->bad[evs->nbad++];
	b->sender_rel = b->sender_href = NULL;
	b->rel = e != NULL ? e->rel : NULL;
	b->href = e != NULL ? e->href : NULL;
	b->kind = kind;
	b->why = why;
	b->conversation = kind == UCWA_CONVERSATION ? b->href : NULL;
}

/* A new change at the end of evs; NULL when the bound is reached. */
static struct ucwa_change *
ucwa_event_append(struct ucwa_events *evs, size_t *cap)
{
	struct ucwa_change *c;

	if (evs->n == *cap) {
		if (*cap >= UCWA_EVENTS_MAX_CHANGES)
			return NULL;
		*cap = *cap == 0 ? UCWA_EVENTS_FIRST_CHANGES : *cap * 2;
		if (*cap > UCWA_EVENTS_MAX_CHANGES)
			*cap = UCWA_EVENTS_MAX_CHANGES;
		evs->v = xreallocarray(evs->v, *cap, sizeof(*evs->v));
	}
	c = &evs->v[evs->n++];
	memset(c, 0, sizeof(*c));
	return c;
}

/* An event was read; appends a change unless it is of no interest or unusable.
 * What comes of the sender (the conversation) is filled in when the sender ends. */
static void
ucwa_event_one(struct ucwa_event_parser *p, const struct ucwa_event_ev *e)
{
	struct ucwa_events *evs = p->evs;
	int kind, type, rel;
	struct ucwa_change *c;

	if (e->rel == NULL) {
		ucwa_event_bad(evs, e, -1, "no link rel");
		return;
	}
	rel = ucwa_event_find(ucwa_event_embedded, UE_NEMBEDDED, e->rel, strlen(e->rel));
	if ((kind = ucwa_event_kind(rel, e->in)) < 0)
		return; /* a kind nobody here uses: not even looked at */
	if (e->href == NULL || (type = ucwa_event_type(e->type)) < 0) {
		ucwa_event_bad(evs, e, kind, e->href == NULL ? "no link href" : "unknown type");
		return;
	}
	if ((c = ucwa_event_append(evs, &p->cap)) == NULL) {
		ucwa_event_bad(evs, e, kind, "too many events in one response");
		return;
	}
	c->kind = (enum ucwa_kind)kind;
	c->type = (enum ucwa_type)type;
	c->href = e->href;
	c->title = e->title;
	c->local = rel == UE_NEMBEDDED - 1; /* localParticipant */
	c->status = e->status;
	c->reason_code = e->code;
	c->reason_subcode = e->subcode;
	c->reason_message = e->message;
	if (kind == UCWA_CONVERSATION)
		c->conversation = e->href;
	if (e->res[rel].present)
		ucwa_event_resource(c, &e->res[rel]);
	if (c->self == NULL)
		c->self = e->href;
}

/* A sender ended: what its events owe it (the conversation they belong to). */
static void
ucwa_event_sender_end(struct ucwa_event_parser *p)
{
	struct ucwa_events *evs = p->evs;
	int conv = p->srel != NULL && strcmp(p->srel, "conversation") == 0;

	for (size_t i = p->sfirst; conv && i < evs->n; i++) {
		if (evs->v[i].conversation == NULL)
			evs->v[i].conversation = p->shref;
	}
	for (size_t i = p->sfirst_bad; i < evs->nbad; i++) {
		evs->bad[i].sender_rel = p->srel;
		evs->bad[i].sender_href = p->shref;
		if (conv)
			evs->bad[i].conversation = p->shref;
	}
}

/* An event starts: nothing of it read yet. */
static void
ucwa_event_ev_start(struct ucwa_event_parser *p)
{
	struct ucwa_event_ev *e = &p->ev;

	e->rel = e->href = e->title = e->in = e->type = e->status = NULL;
	e->code = e->subcode = e->message = NULL;
	for (size_t i = 0; i < UE_NEMBEDDED; i++)
		e->res[i].present = 0;
}

/* An embedded resource starts (a member of _embedded, of any type): nothing of it read yet. */
static void
ucwa_event_res_start(struct ucwa_event_res *r)
{
	memset(r, 0, sizeof(*r));
	r->present = 1;
}

/* Where the value of key s (len bytes) of the object f goes. */
static void
ucwa_event_key(void *ctx, const char *s, size_t len)
{
	struct ucwa_event_parser *p = ctx;
	struct ucwa_event_frame *f;
	struct ucwa_event_ev *e = &p->ev;
	int i;

	if (p->skip > 0)
		return;
	f = &p->stack[p->depth - 1];
	f->dst = NULL;
	f->obj_role = f->arr_role = UE_SKIP;
	switch (f->role) {
	case UE_ROOT:
		if (UE_IS(s, len, "_links"))
			f->obj_role = UE_LINKS;
		else if (UE_IS(s, len, "sender")) {
			p->sender_seen = 1;
			f->arr_role = UE_SENDERS;
		}
		break;
	case UE_LINKS:
		f->target = NULL;
		if (UE_IS(s, len, "next"))
			f->target = &p->evs->next;
		else if (UE_IS(s, len, "self"))
			f->target = &p->evs->self;
		else if (UE_IS(s, len, "resync"))
			f->target = &p->evs->resync;
		else if (UE_IS(s, len, "resume"))
			f->target = &p->evs->resume;
		if (f->target != NULL)
			f->obj_role = UE_LINK;
		break;
	case UE_LINK:
		if (UE_IS(s, len, "href"))
			f->dst = f->target;
		break;
	case UE_SENDER:
		if (UE_IS(s, len, "rel"))
			f->dst = &p->srel;
		else if (UE_IS(s, len, "href"))
			f->dst = &p->shref;
		else if (UE_IS(s, len, "events"))
			f->arr_role = UE_EVENTS;
		break;
	case UE_EVENT:
		if (UE_IS(s, len, "link"))
			f->obj_role = UE_EV_LINK;
		else if (UE_IS(s, len, "type"))
			f->dst = &e->type;
		else if (UE_IS(s, len, "_embedded"))
			f->obj_role = UE_EV_EMBEDDED;
		else if (UE_IS(s, len, "status"))
			f->dst = &e->status;
		else if (UE_IS(s, len, "reason"))
			f->obj_role = UE_EV_REASON;
		else if (UE_IS(s, len, "in"))
			f->obj_role = UE_EV_IN;
		break;
	case UE_EV_LINK:
		if (UE_IS(s, len, "rel"))
			f->dst = &e->rel;
		else if (UE_IS(s, len, "href"))
			f->dst = &e->href;
		else if (UE_IS(s, len, "title"))
			f->dst = &e->title;
		break;
	case UE_EV_IN:
		if (UE_IS(s, len, "rel"))
			f->dst = &e->in;
		break;
	case UE_EV_REASON:
		if (UE_IS(s, len, "code"))
			f->dst = &e->code;
		else if (UE_IS(s, len, "subcode"))
			f->dst = &e->subcode;
		else if (UE_IS(s, len, "message"))
			f->dst = &e->message;
		break;
	case UE_EV_EMBEDDED:
		/* any value counts as embedded; an object is read */
		f->next_arg =
		    (signed char)ucwa_event_find(ucwa_event_embedded, UE_NEMBEDDED, s, len);
		if (f->next_arg >= 0) {
			ucwa_event_res_start(&e->res[f->next_arg]);
			f->obj_role = UE_RES;
		}
		break;
	case UE_RES:
		if (UE_IS(s, len, "_links"))
			f->obj_role = UE_RES_LINKS;
		else if (UE_IS(s, len, "_embedded"))
			f->obj_role = UE_RES_EMB;
		else if ((i = ucwa_event_find(
			      ucwa_event_props, nitems(ucwa_event_props), s, len)) >= 0)
			f->dst = &p->res->f[UF_PROP + i];
		break;
	case UE_RES_EMB:
		if (UE_IS(s, len, "from"))
			f->obj_role = UE_RES_FROM;
		break;
	case UE_RES_FROM:
		if (UE_IS(s, len, "uri"))
			f->dst = &p->res->f[UF_FROM_URI];
		else if (UE_IS(s, len, "name"))
			f->dst = &p->res->f[UF_FROM_NAME];
		break;
	case UE_RES_LINKS:
		if ((i = ucwa_event_find(ucwa_event_links, nitems(ucwa_event_links), s, len)) >=
		    0) {
			f->obj_role = UE_RES_LINK;
			f->arr_role = UE_RES_LINKV;
			f->next_arg = (signed char)(UF_LINK + i);
		}
		break;
	case UE_RES_LINK:
	case UE_RES_LINK1:
		if (UE_IS(s, len, "href"))
			f->dst = &p->res->f[f->arg];
		else if (f->role == UE_RES_LINK && f->arg == UF_L_PARTICIPANT &&
		    UE_IS(s, len, "title"))
			f->dst = &p->res->f[UF_PARTICIPANT_TITLE];
		break;
	}
}

/* The role of a value of type t in the container f (an element or a member). */
static int
ucwa_event_child(struct ucwa_event_parser *p, struct ucwa_event_frame *f, enum json_type t)
{
	int role = UE_SKIP;

	switch (f->role) {
	case UE_SENDERS:
		if (t == JSON_OBJECT) {
			p->srel = p->shref = NULL;
			p->sfirst = p->evs->n;
			p->sfirst_bad = p->evs->nbad;
			role = UE_SENDER;
		}
		break;
	case UE_EVENTS:
		ucwa_event_ev_start(p);
		if (t == JSON_OBJECT)
			role = UE_EVENT;
		else
			ucwa_event_one(p, &p->ev); /* not an event: no link rel */
		break;
	case UE_RES_LINKV:
		if (f->n == 0 && t == JSON_OBJECT)
			role = UE_RES_LINK1;
		break;
	default:
		if (t == JSON_OBJECT)
			role = f->obj_role;
		else if (t == JSON_ARRAY)
			role = f->arr_role;
		if (f->role == UE_ROOT && role == UE_SENDERS)
			p->sender_array = 1;
		break;
	}
	f->n++;
	return role;
}

/* A scalar; s and len for a string. */
static void
ucwa_event_value(void *ctx, enum json_type t, const char *s, size_t len)
{
	struct ucwa_event_parser *p = ctx;
	struct ucwa_event_frame *f;

	if (p->skip > 0 || p->depth == 0)
		return;
	f = &p->stack[p->depth - 1];
	if (f->role == UE_EVENTS || f->role == UE_SENDERS || f->role == UE_RES_LINKV) {
		ucwa_event_child(p, f, t);
		return;
	}
	if (t == JSON_STRING && f->dst != NULL)
		*f->dst = strpool_ndup(&p->evs->mem, UCWA_EVENT_STRS_FIRST, s, len);
}

/* An array or object starts. */
static void
ucwa_event_open(void *ctx, enum json_type t)
{
	struct ucwa_event_parser *p = ctx;
	struct ucwa_event_frame *f, *up;
	int role;

	if (p->skip > 0) {
		p->skip++;
		return;
	}
	if (p->depth == 0) {
		p->root_object = t == JSON_OBJECT;
		role = p->root_object ? p->stack[0].role : UE_SKIP;
	} else
		role = ucwa_event_child(p, &p->stack[p->depth - 1], t);
	if (role == UE_SKIP || p->depth == UCWA_EVENT_DEPTH) {
		p->skip = 1;
		return;
	}
	up = p->depth > 0 ? &p->stack[p->depth - 1] : NULL;
	f = &p->stack[p->depth++];
	f->role = (unsigned char)role;
	f->n = 0;
	f->dst = NULL;
	f->obj_role = f->arr_role = UE_SKIP;
	f->arg = up != NULL ? up->next_arg : 0;
	if (role == UE_LINK)
		f->target = up->target;
	else if (role == UE_RES_LINK1)
		f->arg = up->arg;
	else if (role == UE_RES)
		p->res = &p->ev.res[f->arg];
}

/* An array or object ends. */
static void
ucwa_event_close(void *ctx)
{
	struct ucwa_event_parser *p = ctx;
	struct ucwa_event_frame *f;

	if (p->skip > 0) {
		p->skip--;
		return;
	}
	f = &p->stack[--p->depth];
	if (f->role == UE_EVENT)
		ucwa_event_one(p, &p->ev);
	else if (f->role == UE_SENDER)
		ucwa_event_sender_end(p);
}

static const struct json_sax ucwa_event_sax = {
	ucwa_event_value,
	ucwa_event_open,
	ucwa_event_key,
	ucwa_event_close,
};

/* Parse body with the root read as role; 0, or -1 with err filled in. */
static int
ucwa_event_run(struct ucwa_event_parser *p, const char *body, size_t len, struct ucwa_events *evs,
    int root, const char *what, char *err, size_t errlen)
{
	struct json_limits lim = {
		.max_bytes = UCWA_EVENTS_MAX_BYTES, .max_depth = 64, .no_positions = 1
	};
	struct json_error jerr;

	memset(evs, 0, offsetof(struct ucwa_events, bad)); /* bad[] past nbad is not read */
	p->evs = evs;
	p->cap = 0;
	p->skip = p->depth = 0;
	p->root_object = p->sender_seen = p->sender_array = 0;
	p->srel = p->shref = NULL;
	p->sfirst = p->sfirst_bad = 0;
	p->stack[0].role = (unsigned char)root;
	p->stack[0].next_arg = 0;
	p->res = &p->ev.res[0];
	ucwa_event_ev_start(p);
	if (root == UE_RES)
		ucwa_event_res_start(&p->ev.res[0]);
	if (json_sax_parse(body, len, &lim, &ucwa_event_sax, p, &jerr) != 0) {
		snprintf(err, errlen, "%s: %u:%u: %s", what, jerr.line, jerr.col, jerr.msg);
		ucwa_events_free(evs);
		return -1;
	}
	return 0;
}

/* Parse one response. */
int
ucwa_events_parse(const char *body, size_t len, struct ucwa_events *evs, char *err, size_t errlen)
{
	struct ucwa_event_parser p;

	if (ucwa_event_run(&p, body, len, evs, UE_ROOT, "events", err, errlen) != 0)
		return -1;
	if (evs->next == NULL && evs->resync == NULL && evs->resume == NULL) {
		snprintf(err, errlen, "events: no next, resync or resume link");
		ucwa_events_free(evs);
		return -1;
	}
	if (p.sender_seen && !p.sender_array)
		ucwa_event_bad(evs, NULL, -1, "\"sender\" is not an array");
	return 0;
}

/* A resource as one "updated" change of kind k (see ucwa_event.h). */
int
ucwa_resource_parse(const char *body, size_t len, enum ucwa_kind k, const char *href,
    struct ucwa_events *evs, char *err, size_t errlen)
{
	struct ucwa_event_parser p;
	struct ucwa_change *c;

	if (ucwa_event_run(&p, body, len, evs, UE_RES, "resource", err, errlen) != 0)
		return -1;
	if (!p.root_object) {
		snprintf(err, errlen, "resource: not an object");
		ucwa_events_free(evs);
		return -1;
	}
	c = ucwa_event_append(evs, &p.cap);
	c->kind = k;
	c->type = UCWA_UPDATED;
	c->href = href;
	if (k == UCWA_CONVERSATION)
		c->conversation = href;
	ucwa_event_resource(c, &p.ev.res[0]);
	if (c->self == NULL)
		c->self = href;
	return 0;
}

/* A copy of s (len bytes, NUL added) that lives as long as what evs keeps. */
const char *
ucwa_events_keep(struct ucwa_events *evs, const char *s, size_t len)
{
	return strpool_ndup(&evs->mem, UCWA_EVENT_STRS_FIRST, s, len);
}

/* Free what a parse kept. */
void
ucwa_events_free(struct ucwa_events *evs)
{
	for (size_t i = 0; i < evs->n; i++) {
		free(evs->v[i].text);
		free(evs->v[i].alt_text);
	}
	free(evs->v);
	strpool_clear(&evs->mem);
	memset(evs, 0, offsetof(struct ucwa_events, bad)); /* bad[] past nbad is not read */
}

/* The name of a change kind (logs). */
const char *
ucwa_kind_name(enum ucwa_kind k)
{
	static const char *const names[] = { "invitation", "conversation", "messaging",
		"participant", "typing", "message" };

	return (unsigned)k < nitems(names) ? names[k] : "?";
}

/* The name of a change type (logs). */
const char *
ucwa_type_name(enum ucwa_type t)
{
	static const char *const names[] = { "added", "updated", "deleted", "started",
		"completed" };

	return (unsigned)t < nitems(names) ? names[t] : "?";
}
