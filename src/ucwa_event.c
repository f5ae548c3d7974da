/*
 * ucwa_event.c: parse one event-channel response into ordered, typed
 * changes (see ucwa_event.h). Unknown senders, rels and properties are
 * ignored; a malformed event is skipped and reported, and only a response
 * without a link to go on is refused whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datauri.h"
#include "json.h"
#include "ucwa_event.h"

#define UCWA_EVENTS_MAX_BYTES	(4u << 20)
#define UCWA_EVENTS_MAX_CHANGES 4096

/* _links.<rel>.href of a resource (the first when the rel repeats). */
static const char *
ev_link(const struct json *res, const char *rel)
{
	struct json *l = json_get(json_get(res, "_links"), rel);

	if (json_is(l, JSON_ARRAY))
		l = l->u.arr.n > 0 ? l->u.arr.v[0] : NULL;
	return json_get_str(l, "href");
}

static const char *
ev_link_title(const struct json *res, const char *rel)
{
	return json_get_str(json_get(json_get(res, "_links"), rel), "title");
}

/* The change kind for a link rel (and the "in" collection), or -1 to ignore. */
static int
ev_kind(const char *rel, const char *in)
{
	if (strcmp(rel, "messagingInvitation") == 0)
		return UCWA_INVITATION;
	if (strcmp(rel, "conversation") == 0)
		return UCWA_CONVERSATION;
	if (strcmp(rel, "messaging") == 0)
		return UCWA_MESSAGING;
	if (strcmp(rel, "message") == 0)
		return UCWA_MESSAGE;
	if (strcmp(rel, "participant") == 0 || strcmp(rel, "localParticipant") == 0)
		return in != NULL && strcmp(in, "typingParticipants") == 0 ? UCWA_TYPING
									   : UCWA_PARTICIPANT;
	return -1;
}

static int
ev_type(const char *t)
{
	static const char *const names[] = { "added", "updated", "deleted", "started",
		"completed" };

	for (size_t i = 0; t != NULL && i < nitems(names); i++)
		if (strcmp(t, names[i]) == 0)
			return (int)i;
	return -1;
}

/* Decode a data URI link into c->text, as sent, unless a text is there already. */
static void
ev_text(struct ucwa_change *c, const char *uri)
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
ev_alt_text(struct ucwa_change *c, const char *uri)
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
ev_resource(struct ucwa_change *c, const struct json *res)
{
	const struct json *from = json_get(json_get(res, "_embedded"), "from");

	c->embedded = 1;
	c->state = json_get_str(res, "state");
	c->direction = json_get_str(res, "direction");
	c->operation_id = json_get_str(res, "operationId");
	c->subject = json_get_str(res, "subject");
	c->importance = json_get_str(res, "importance");
	c->thread_id = json_get_str(res, "threadId");
	c->self = ev_link(res, "self");
	c->messaging = ev_link(res, "messaging");
	c->from_uri = json_get_str(from, "uri");
	c->from_name = json_get_str(from, "name");
	if (c->kind == UCWA_PARTICIPANT && c->from_uri == NULL) {
		c->from_uri = json_get_str(res, "uri");
		c->from_name = json_get_str(res, "name");
	}
	c->to = ev_link(res, "to");
	c->accept = ev_link(res, "accept");
	c->decline = ev_link(res, "decline");
	c->cancel = ev_link(res, "cancel");
	c->send_message = ev_link(res, "sendMessage");
	c->stop_messaging = ev_link(res, "stopMessaging");
	c->set_is_typing = ev_link(res, "setIsTyping");
	c->participant = ev_link(res, "participant");
	c->participant_name = ev_link_title(res, "participant");
	c->failed_delivery = ev_link(res, "failedDeliveryParticipant");
	c->timestamp = json_get_str(res, "timeStamp");
	if (c->kind == UCWA_INVITATION && ev_link(res, "conversation") != NULL)
		c->conversation = ev_link(res, "conversation");
	if (c->kind == UCWA_MESSAGE) {
		/* the message as written (HTML) wins over the server's plain rendition */
		ev_text(c, ev_link(res, "htmlMessage"));
		ev_alt_text(c, ev_link(res, "plainMessage"));
		ev_text(c, ev_link(res, "plainMessage"));
	} else if (c->kind == UCWA_INVITATION)
		ev_text(c, ev_link(res, "message"));
}

/* Report an unusable event of sender (kind -1: unknown) and skip it. */
static void
ev_bad(struct ucwa_events *evs, const struct json *sender, const struct json *e, int kind,
    const char *why)
{
	const struct json *link = json_get(e, "link");
	const char *srel = json_get_str(sender, "rel");
	struct ucwa_bad *b;

	if (evs->nbad_total++ >= UCWA_EVENTS_MAX_BAD)
		return;
	b = &evs->bad[evs->nbad++];
	b->sender_rel = srel;
	b->sender_href = json_get_str(sender, "href");
	b->rel = json_get_str(link, "rel");
	b->href = json_get_str(link, "href");
	b->kind = kind;
	b->why = why;
	b->conversation = NULL;
	if (srel != NULL && strcmp(srel, "conversation") == 0)
		b->conversation = b->sender_href;
	else if (kind == UCWA_CONVERSATION)
		b->conversation = b->href;
}

/* A new change at the end of evs; NULL when the bound is reached. */
static struct ucwa_change *
ev_append(struct ucwa_events *evs, size_t *cap)
{
	struct ucwa_change *c;

	if (evs->n == *cap) {
		if (*cap >= UCWA_EVENTS_MAX_CHANGES)
			return NULL;
		*cap = *cap ? *cap * 2 : 16;
		evs->v = xreallocarray(evs->v, *cap, sizeof(*evs->v));
	}
	c = &evs->v[evs->n++];
	memset(c, 0, sizeof(*c));
	return c;
}

/* One event of a sender; appends a change unless it is of no interest or unusable. */
static void
ev_one(struct ucwa_events *evs, const struct json *sender, const struct json *e, size_t *cap)
{
	const struct json *link = json_get(e, "link"), *reason = json_get(e, "reason");
	const char *rel = json_get_str(link, "rel"), *href = json_get_str(link, "href");
	const char *srel = json_get_str(sender, "rel");
	int kind, type;
	struct ucwa_change *c;

	if (rel == NULL) {
		ev_bad(evs, sender, e, -1, "no link rel");
		return;
	}
	if ((kind = ev_kind(rel, json_get_str(json_get(e, "in"), "rel"))) < 0)
		return; /* a kind nobody here uses: not even looked at */
	if (href == NULL || (type = ev_type(json_get_str(e, "type"))) < 0) {
		ev_bad(evs, sender, e, kind, href == NULL ? "no link href" : "unknown type");
		return;
	}
	if ((c = ev_append(evs, cap)) == NULL) {
		ev_bad(evs, sender, e, kind, "too many events in one response");
		return;
	}
	c->kind = (enum ucwa_kind)kind;
	c->type = (enum ucwa_type)type;
	c->href = href;
	c->title = json_get_str(link, "title");
	c->local = strcmp(rel, "localParticipant") == 0;
	c->status = json_get_str(e, "status");
	c->reason_code = json_get_str(reason, "code");
	c->reason_subcode = json_get_str(reason, "subcode");
	c->reason_message = json_get_str(reason, "message");
	if (kind == UCWA_CONVERSATION)
		c->conversation = href;
	else if (srel != NULL && strcmp(srel, "conversation") == 0)
		c->conversation = json_get_str(sender, "href");
	if (json_get(json_get(e, "_embedded"), rel) != NULL)
		ev_resource(c, json_get(json_get(e, "_embedded"), rel));
	if (c->self == NULL)
		c->self = href;
}

/* Parse one response. */
int
ucwa_events_parse(const char *body, size_t len, struct ucwa_events *evs, char *err, size_t errlen)
{
	struct json_limits lim = {
		.max_bytes = UCWA_EVENTS_MAX_BYTES, .max_depth = 64, .no_positions = 1
	};
	struct json_error jerr;
	const struct json *root, *senders, *links;
	size_t cap = 0;

	memset(evs, 0, sizeof(*evs));
	if ((evs->doc = json_parse(body, len, &lim, &jerr)) == NULL) {
		snprintf(err, errlen, "events: %u:%u: %s", jerr.line, jerr.col, jerr.msg);
		return -1;
	}
	root = json_root(evs->doc);
	links = json_get(root, "_links");
	evs->self = json_get_str(json_get(links, "self"), "href");
	evs->next = json_get_str(json_get(links, "next"), "href");
	evs->resync = json_get_str(json_get(links, "resync"), "href");
	evs->resume = json_get_str(json_get(links, "resume"), "href");
	if (evs->next == NULL && evs->resync == NULL && evs->resume == NULL) {
		snprintf(err, errlen, "events: no next, resync or resume link");
		ucwa_events_free(evs);
		return -1;
	}
	senders = json_get(root, "sender");
	if (senders != NULL && !json_is(senders, JSON_ARRAY)) {
		ev_bad(evs, NULL, NULL, -1, "\"sender\" is not an array");
		senders = NULL;
	}
	for (size_t i = 0; senders != NULL && i < senders->u.arr.n; i++) {
		const struct json *s = senders->u.arr.v[i], *events = json_get(s, "events");

		if (!json_is(events, JSON_ARRAY))
			continue;
		for (size_t j = 0; j < events->u.arr.n; j++)
			ev_one(evs, s, events->u.arr.v[j], &cap);
	}
	return 0;
}

/* A resource as one "updated" change of kind k (see ucwa_event.h). */
int
ucwa_resource_parse(const char *body, size_t len, enum ucwa_kind k, const char *href,
    struct ucwa_events *evs, char *err, size_t errlen)
{
	struct json_limits lim = {
		.max_bytes = UCWA_EVENTS_MAX_BYTES, .max_depth = 64, .no_positions = 1
	};
	struct json_error jerr;
	struct ucwa_change *c;
	size_t cap = 0;

	memset(evs, 0, sizeof(*evs));
	if ((evs->doc = json_parse(body, len, &lim, &jerr)) == NULL) {
		snprintf(err, errlen, "resource: %u:%u: %s", jerr.line, jerr.col, jerr.msg);
		return -1;
	}
	if (!json_is(json_root(evs->doc), JSON_OBJECT)) {
		snprintf(err, errlen, "resource: not an object");
		ucwa_events_free(evs);
		return -1;
	}
	c = ev_append(evs, &cap);
	c->kind = k;
	c->type = UCWA_UPDATED;
	c->href = href;
	if (k == UCWA_CONVERSATION)
		c->conversation = href;
	ev_resource(c, json_root(evs->doc));
	if (c->self == NULL)
		c->self = href;
	return 0;
}

void
ucwa_events_free(struct ucwa_events *evs)
{
	for (size_t i = 0; i < evs->n; i++) {
		free(evs->v[i].text);
		free(evs->v[i].alt_text);
	}
	free(evs->v);
	json_doc_free(evs->doc);
	memset(evs, 0, sizeof(*evs));
}

const char *
ucwa_kind_name(enum ucwa_kind k)
{
	static const char *const names[] = { "invitation", "conversation", "messaging",
		"participant", "typing", "message" };

	return (unsigned)k < nitems(names) ? names[k] : "?";
}

const char *
ucwa_type_name(enum ucwa_type t)
{
	static const char *const names[] = { "added", "updated", "deleted", "started",
		"completed" };

	return (unsigned)t < nitems(names) ? names[t] : "?";
}
