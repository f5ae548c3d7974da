/*
 * sim_conv.c: conversations of one application with one remote party, and
 * the resources and events around them: outgoing IM (startMessaging, the
 * remote accepting, declining or staying silent, cancel), incoming IM (the
 * invitation with its first message as a data URI, accept, decline, expiry,
 * the first message again after accept), sendMessage (text/plain; text/html
 * only when Html was negotiated), typing and the three ways a conversation
 * ends. Resources and events have the field names, links and nesting of the
 * published UCWA samples (SendAnIM.md, ReceiveAnIM.md). A conversation is
 * forgotten at once when it ends (its hrefs then answer 404); its memory is
 * released on the next loop turn, never inside its own timer callback.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "sim.h"

enum sim_conv_state { CONV_CONNECTING, CONV_INCOMING, CONV_CONNECTED };

#define SIM_DELIVERIES 256 /* sent messages a conversation holds while they are delivered */

/* A sent message taken (its started event out) and not delivered yet (remote delivery_ms). */
struct sim_delivery {
	STAILQ_ENTRY(sim_delivery) entry;
	long long n;	 /* its number in the conversation */
	long long due;	 /* when it is delivered (monotonic ms) */
	int html;	 /* text/html */
	char *opid;	 /* its operationId, or NULL */
	struct buf body; /* the bytes as sent */
};
STAILQ_HEAD(sim_deliveries, sim_delivery);

struct sim_conv {
	TAILQ_ENTRY(sim_conv) entry;
	struct sim_app *app;
	struct sim_remote *remote;
	char id[37];
	char inv_id[33];
	char href[160];	    /* conversation self */
	char msging[176];   /* .../messaging */
	char inv[160];	    /* .../messagingInvitations/<id> */
	char local_p[240];  /* .../participants/<user addr> */
	char remote_p[240]; /* .../participants/<remote addr> */
	char people[200];   /* .../people/<remote addr> */
	char comm[96];	    /* .../communication */
	int incoming;
	enum sim_conv_state state;
	char *operation_id;
	char *thread_id;
	char *subject;
	char *importance;
	struct buf first; /* first message (incoming invitation or startMessaging) */
	int first_html;
	long long next_msg;
	struct event *timer;		  /* remote answer or invitation expiry */
	struct event *typing;		  /* remote typing indication */
	struct event *first_ev;		  /* the first message's own event, late (profile) */
	long long first_n;		  /* ... its number */
	int failing;			  /* timer means: fail with this subcode index */
	struct sim_deliveries deliveries; /* taken, delivered in this order (oldest first) */
	unsigned ndeliveries;
	struct event *deliver;	/* the oldest delivery's time */
	struct sim_grave grave; /* once ended */
};

static const char *const sim_fail_subcodes[] = {
	"Declined",
	"Timeout",
	"DestinationNotFound",
	"ConnectedElsewhere",
	"Canceled",
};
enum { FAIL_DECLINED, FAIL_TIMEOUT, FAIL_NOTFOUND, FAIL_ELSEWHERE, FAIL_CANCELED };

static void sim_conv_timer(evutil_socket_t, short, void *);
static void sim_conv_deliver_fire(evutil_socket_t, short, void *);

/* Whether the unknown-extras fault asks for unknown properties and links. */
static int
sim_conv_extras(struct sim_conv *c)
{
	return sim_fault_active(c->app->user, "unknown_extras");
}

/* A new conversation of a with remote r; hrefs computed once here. */
static struct sim_conv *
sim_conv_new(struct sim_app *a, struct sim_remote *r, int incoming)
{
	struct sim_conv *c = xcalloc(1, sizeof *c);
	long long start = sim_fault_param(a->user, "message_ids", "start");

	c->app = a;
	c->remote = r;
	c->incoming = incoming;
	c->state = incoming ? CONV_INCOMING : CONV_CONNECTING;
	sim_guid(c->id);
	util_random_id(c->inv_id, 32, UTIL_HEX);
	snprintf(c->comm, sizeof c->comm, "%s/communication", a->base);
	snprintf(c->href, sizeof c->href, "%s/conversations/%s", c->comm, c->id);
	snprintf(c->msging, sizeof c->msging, "%s/messaging", c->href);
	snprintf(c->inv, sizeof c->inv, "%s/messagingInvitations/%s", c->comm, c->inv_id);
	snprintf(c->local_p, sizeof c->local_p, "%s/participants/%s", c->href, a->user->addr);
	snprintf(c->remote_p, sizeof c->remote_p, "%s/participants/%s", c->href, r->addr);
	snprintf(c->people, sizeof c->people, "%s/people/%s", a->base, r->addr);
	c->next_msg = start > 0 ? start : simg.cfg->first_message_id;
	buf_init(&c->first);
	STAILQ_INIT(&c->deliveries);
	c->timer = evtimer_new(simg.base, sim_conv_timer, c);
	c->deliver = evtimer_new(simg.base, sim_conv_deliver_fire, c);
	TAILQ_INSERT_TAIL(&a->convs, c, entry);
	a->nconvs++;
	return c;
}

/* Free one delivery (delivered, or its conversation gone). */
static void
sim_conv_delivery_free(struct sim_delivery *d)
{
	free(d->opid);
	buf_free(&d->body);
	free(d);
}

/* Memory of an ended conversation (from the reaper, never its own callback). */
static void
sim_conv_release(void *arg)
{
	struct sim_conv *c = arg;
	struct sim_delivery *d;

	while ((d = STAILQ_FIRST(&c->deliveries)) != NULL) { /* never delivered */
		STAILQ_REMOVE_HEAD(&c->deliveries, entry);
		sim_conv_delivery_free(d);
	}
	event_free(c->deliver);
	event_free(c->timer);
	if (c->typing != NULL)
		event_free(c->typing);
	if (c->first_ev != NULL)
		event_free(c->first_ev);
	free(c->operation_id);
	free(c->thread_id);
	free(c->subject);
	free(c->importance);
	buf_free(&c->first);
	free(c);
}

/* Forget a conversation at once (no events; its hrefs answer 404); memory next turn. */
static void
sim_conv_free(struct sim_conv *c)
{
	TAILQ_REMOVE(&c->app->convs, c, entry);
	c->app->nconvs--;
	evtimer_del(c->timer);
	evtimer_del(c->deliver);
	if (c->typing != NULL)
		evtimer_del(c->typing);
	if (c->first_ev != NULL)
		evtimer_del(c->first_ev);
	sim_bury(&c->grave, sim_conv_release, c);
}

/* Drop every conversation of a without events (application gone, or resume: the
 * client learns it from the 404 or the resume link); the remotes log "dropped". */
void
sim_conv_drop_all(struct sim_app *a, int events)
{
	struct sim_conv *c;

	while ((c = TAILQ_FIRST(&a->convs)) != NULL) {
		sim_remote_log(c->remote, "dropped", a->user->uri, NULL, 0, NULL);
		sim_conv_free(c);
	}
}

/* Arm the conversation's timer. */
static void
sim_conv_arm(struct sim_conv *c, long long ms, int failing)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	c->failing = failing;
	evtimer_add(c->timer, &tv);
}

/* --- resource writers ------------------------------------------------- */

/* A participant resource (remote: sample 34; local: sample 22). */
static void
sim_conv_write_participant(struct jw *w, struct sim_conv *c, int local, const char *rel)
{
	char href[256];

	jw_obj_begin(w);
	jw_kstr(w, "sourceNetwork", "SameEnterprise");
	jw_kbool(w, "anonymous", 0);
	jw_kstr(w, "name", local ? c->app->user->name : c->remote->name);
	jw_kstr(w, "uri", local ? c->app->user->uri : c->remote->uri);
	jw_key(w, "_links");
	jw_obj_begin(w);
	sim_jw_link(w, "self", local ? c->local_p : c->remote_p, NULL);
	sim_jw_link(w, "conversation", c->href, NULL);
	if (local) {
		snprintf(href, sizeof href, "%s/me", c->app->base);
		sim_jw_link(w, "me", href, NULL);
	} else {
		sim_jw_link(w, "contact", c->people, NULL);
		snprintf(href, sizeof href, "%s/presence", c->people);
		sim_jw_link(w, "contactPresence", href, NULL);
		snprintf(href, sizeof href, "%s/photos/%s", c->app->base, c->remote->addr);
		sim_jw_link(w, "contactPhoto", href, NULL);
	}
	jw_obj_end(w);
	jw_kstr(w, "rel", rel);
	jw_obj_end(w);
}

/* A link whose href is base followed by sfx. */
static void
sim_conv_link_sfx(struct jw *w, const char *rel, const char *base, const char *sfx)
{
	char href[256];

	snprintf(href, sizeof href, "%s%s", base, sfx);
	sim_jw_link(w, rel, href, NULL);
}

/* An incoming invitation's first message as its "message" link (a data URI). */
static void
sim_conv_inv_message(struct jw *w, struct sim_conv *c)
{
	struct buf d;

	if (!c->incoming || c->first.len == 0)
		return;
	buf_init(&d);
	sim_data_uri(&d, c->first_html ? "text/html" : "text/plain", c->first.data, c->first.len);
	sim_jw_link(w, "message", d.data, NULL);
	buf_free(&d);
}

/* The invitation's _links; actions: still pending (cancel, or accept and decline). */
static void
sim_conv_inv_links(struct jw *w, struct sim_conv *c, int actions)
{
	char href[256];

	jw_key(w, "_links");
	jw_obj_begin(w);
	sim_jw_link(w, "self", c->inv, NULL);
	if (!c->incoming)
		sim_jw_link(w, "from", c->local_p, c->app->user->name);
	snprintf(href, sizeof href, "%s/people/%s", c->app->base,
	    c->incoming ? c->app->user->addr : c->remote->addr);
	sim_jw_link(w, "to", href, NULL);
	if (!c->incoming && actions)
		sim_conv_link_sfx(w, "cancel", c->msging, "/terminate");
	sim_jw_link(w, "conversation", c->href, NULL);
	if (c->incoming && actions) {
		sim_conv_link_sfx(w, "accept", c->inv, "/accept");
		sim_conv_link_sfx(w, "decline", c->inv, "/decline");
	}
	sim_jw_link(w, "messaging", c->msging, NULL);
	sim_conv_inv_message(w, c);
	jw_obj_end(w);
}

/* The invitation's _embedded: who invites (incoming), or who accepted (outgoing). */
static void
sim_conv_inv_embedded(struct jw *w, struct sim_conv *c, int accepted)
{
	if (!c->incoming && !accepted)
		return;
	jw_key(w, "_embedded");
	jw_obj_begin(w);
	if (c->incoming) {
		jw_key(w, "from");
		sim_conv_write_participant(w, c, 0, "participant");
	} else {
		jw_key(w, "acceptedByParticipant");
		jw_arr_begin(w);
		sim_conv_write_participant(w, c, 0, "participant");
		jw_arr_end(w);
	}
	jw_obj_end(w);
}

/* The messagingInvitation resource (samples 22, 31, 37). */
static void
sim_conv_write_invitation(
    struct jw *w, struct sim_conv *c, const char *state, int actions, int accepted)
{
	jw_obj_begin(w);
	jw_kstr(w, "direction", c->incoming ? "Incoming" : "Outgoing");
	jw_kstr(w, "importance", c->importance);
	jw_kstr(w, "threadId", c->thread_id);
	jw_kstr(w, "state", state);
	if (c->operation_id != NULL && !sim_profile(c->app->user)->no_echo_opid)
		jw_kstr(w, "operationId", c->operation_id);
	jw_kstr(w, "subject", c->subject);
	sim_conv_inv_links(w, c, actions);
	sim_conv_inv_embedded(w, c, accepted);
	jw_kstr(w, "rel", "messagingInvitation");
	jw_obj_end(w);
}

/* The conversation's _links: modalities (incoming), and participants once connected. */
static void
sim_conv_conv_links(struct jw *w, struct sim_conv *c, int connected)
{
	static const char *const extra[] = { "applicationSharing", "audioVideo",
		"dataCollaboration" };
	char href[256];

	jw_key(w, "_links");
	jw_obj_begin(w);
	sim_jw_link(w, "self", c->href, NULL);
	for (size_t i = 0; c->incoming && i < nitems(extra); i++) {
		snprintf(href, sizeof href, "%s/%s", c->href, extra[i]);
		sim_jw_link(w, extra[i], href, NULL);
	}
	sim_jw_link(w, "messaging", c->msging, NULL);
	sim_conv_link_sfx(w, "phoneAudio", c->href, "/phoneAudio");
	if (connected) {
		sim_jw_link(w, "localParticipant", c->local_p, c->app->user->name);
		snprintf(
		    href, sizeof href, "%s/participantInvitations?conversation=%s", c->comm, c->id);
		sim_jw_link(w, "addParticipant", href, NULL);
	}
	if (sim_conv_extras(c))
		sim_jw_link(w, "simFutureLink", c->href, NULL);
	jw_obj_end(w);
}

/* The conversation resource (samples 22, 24, 31, 37). */
static void
sim_conv_write_conversation(struct jw *w, struct sim_conv *c, const char *state)
{
	int connected = strcmp(state, "Connected") == 0;

	jw_obj_begin(w);
	jw_kstr(w, "state", state);
	jw_kstr(w, "threadId", c->thread_id);
	jw_kstr(w, "subject", c->subject);
	jw_key(w, "activeModalities");
	jw_arr_begin(w);
	if (connected || c->state == CONV_INCOMING)
		jw_str(w, "Messaging");
	jw_arr_end(w);
	jw_kstr(w, "importance", c->importance);
	jw_kbool(w, "recording", 0);
	if (sim_conv_extras(c))
		jw_kstr(w, "simFutureProperty", "ignore me");
	sim_conv_conv_links(w, c, connected);
	jw_kstr(w, "rel", "conversation");
	jw_obj_end(w);
}

/* The messaging resource. */
static void
sim_conv_write_messaging(struct jw *w, struct sim_conv *c, const char *state)
{
	char href[256];
	int connected = strcmp(state, "Connected") == 0;

	jw_obj_begin(w);
	jw_kstr(w, "state", state);
	if (connected) {
		jw_key(w, "negotiatedMessageFormats");
		jw_arr_begin(w);
		jw_str(w, "Plain");
		if (c->app->html)
			jw_str(w, "Html");
		jw_arr_end(w);
	}
	jw_key(w, "_links");
	jw_obj_begin(w);
	sim_jw_link(w, "self", c->msging, NULL);
	sim_jw_link(w, "conversation", c->href, NULL);
	if (strcmp(state, "Disconnected") != 0) {
		snprintf(href, sizeof href, "%s/terminate", c->msging);
		sim_jw_link(w, "stopMessaging", href, NULL);
	}
	if (connected) {
		snprintf(href, sizeof href, "%s/messages", c->msging);
		sim_jw_link(w, "sendMessage", href, NULL);
		snprintf(href, sizeof href, "%s/typing", c->msging);
		sim_jw_link(w, "setIsTyping", href, NULL);
		snprintf(href, sizeof href, "%s/typingParticipants", c->msging);
		sim_jw_link(w, "typingParticipants", href, NULL);
	}
	jw_obj_end(w);
	jw_kstr(w, "rel", "messaging");
	jw_obj_end(w);
}

/* --- events ------------------------------------------------------------ */

/* communication › messagingInvitation <type> (status/reason for completed). */
static void
sim_conv_ev_invitation(struct sim_conv *c, const char *type, const char *state, int actions,
    const char *status, const char *subcode, const char *message)
{
	struct buf b;
	struct jw w;

	if (strcmp(type, "started") == 0 && sim_fault_active(c->app->user, "aggregation"))
		return;
	sim_ev_begin(&w, &b, "messagingInvitation", c->inv, NULL);
	if (status != NULL)
		jw_kstr(&w, "status", status);
	if (subcode != NULL) {
		jw_key(&w, "reason");
		jw_obj_begin(&w);
		jw_kstr(&w, "code",
		    strcmp(subcode, "ConnectedElsewhere") == 0 ? "Informational"
			: strcmp(subcode, "Canceled") == 0     ? "LocalFailure"
							       : "RemoteFailure");
		jw_kstr(&w, "subcode", subcode);
		jw_kstr(&w, "message", message);
		jw_obj_end(&w);
	}
	jw_key(&w, "_embedded");
	jw_obj_begin(&w);
	jw_key(&w, "messagingInvitation");
	sim_conv_write_invitation(
	    &w, c, state, actions, status != NULL && strcmp(status, "Success") == 0);
	jw_obj_end(&w);
	sim_ev_end(&w, type);
	sim_events_push(c->app, "communication", c->comm, &b);
}

/* communication › conversation <type>. */
static void
sim_conv_ev_conversation(struct sim_conv *c, const char *type, const char *state)
{
	struct buf b;
	struct jw w;

	sim_ev_begin(&w, &b, "conversation", c->href, NULL);
	if (strcmp(type, "deleted") != 0) {
		jw_key(&w, "_embedded");
		jw_obj_begin(&w);
		jw_key(&w, "conversation");
		sim_conv_write_conversation(&w, c, state);
		jw_obj_end(&w);
	}
	sim_ev_end(&w, type);
	sim_events_push(c->app, "communication", c->comm, &b);
}

/* conversation › messaging updated. */
static void
sim_conv_ev_messaging(struct sim_conv *c, const char *state)
{
	struct buf b;
	struct jw w;

	sim_ev_begin(&w, &b, "messaging", c->msging, NULL);
	jw_key(&w, "_embedded");
	jw_obj_begin(&w);
	jw_key(&w, "messaging");
	sim_conv_write_messaging(&w, c, state);
	jw_obj_end(&w);
	sim_ev_end(&w, "updated");
	sim_events_push(c->app, "conversation", c->href, &b);
}

/* conversation › localParticipant added (embedded). */
static void
sim_conv_ev_local(struct sim_conv *c)
{
	struct buf b;
	struct jw w;

	sim_ev_begin(&w, &b, "localParticipant", c->local_p, c->app->user->name);
	jw_key(&w, "_embedded");
	jw_obj_begin(&w);
	jw_key(&w, "localParticipant");
	sim_conv_write_participant(&w, c, 1, "participant");
	jw_obj_end(&w);
	sim_ev_end(&w, "added");
	sim_events_push(c->app, "conversation", c->href, &b);
}

/* conversation › participant <type> (bare), optionally in typingParticipants. */
static void
sim_conv_ev_remote(struct sim_conv *c, const char *type, int typing)
{
	struct buf b;
	struct jw w;
	char href[256];

	sim_ev_begin(&w, &b, "participant", c->remote_p, c->remote->name);
	if (typing) {
		snprintf(href, sizeof href, "%s/typingParticipants", c->msging);
		sim_ev_in(&w, "typingParticipants", href, NULL);
	}
	sim_ev_end(&w, type);
	sim_events_push(c->app, "conversation", c->href, &b);
}

/* conversation › participantMessaging added, in the local or remote participant. */
static void
sim_conv_ev_pmessaging(struct sim_conv *c, int local)
{
	const char *p = local ? c->local_p : c->remote_p;
	const char *title = local ? c->app->user->name : c->remote->name;
	char href[260];
	struct buf b;
	struct jw w;

	snprintf(href, sizeof href, "%s/messaging", p);
	sim_ev_begin(&w, &b, "participantMessaging", href, NULL);
	sim_ev_in(&w, local ? "localParticipant" : "participant", p, title);
	if (local) {
		jw_key(&w, "_embedded");
		jw_obj_begin(&w);
		jw_key(&w, "participantMessaging");
		jw_obj_begin(&w);
		jw_key(&w, "_links");
		jw_obj_begin(&w);
		sim_jw_link(&w, "self", href, NULL);
		sim_jw_link(&w, "participant", p, title);
		jw_obj_end(&w);
		jw_kstr(&w, "rel", "participantMessaging");
		jw_obj_end(&w);
		jw_obj_end(&w);
	}
	sim_ev_end(&w, "added");
	sim_events_push(c->app, "conversation", c->href, &b);
}

/* One message event's content (what sim_conv_ev_message was given). */
struct sim_msg {
	char self[220];
	int incoming;
	const char *text; /* incoming only: the text, carried as a data URI link */
	size_t len;
	int html;
	const char *plain; /* with html: the server's plain rendition too, or NULL */
	const char *opid;
	int failed;
};

/* The text as a data URI link: htmlMessage (base64) or plainMessage (percent form);
 * HTML may come with a plainMessage rendition as well, as Skype for Business sends. */
static void
sim_conv_msg_text(struct jw *w, const struct sim_msg *m)
{
	struct buf d;

	buf_init(&d);
	if (m->html) {
		buf_addstr(&d, "data:text/html;base64,");
		util_base64_encode(&d, m->text, m->len);
	} else
		sim_data_uri(&d, "text/plain", m->text, m->len);
	sim_jw_link(w, m->html ? "htmlMessage" : "plainMessage", d.data, NULL);
	if (m->html && m->plain != NULL) { /* the server's plain rendition beside it */
		buf_reset(&d);
		sim_data_uri(&d, "text/plain", m->plain, strlen(m->plain));
		sim_jw_link(w, "plainMessage", d.data, NULL);
	}
	buf_free(&d);
}

/* failedDeliveryParticipant: the remote party, as an array of one link. */
static void
sim_conv_msg_failed(struct jw *w, struct sim_conv *c)
{
	jw_key(w, "failedDeliveryParticipant");
	jw_arr_begin(w);
	jw_obj_begin(w);
	jw_kstr(w, "href", c->remote_p);
	jw_kstr(w, "title", c->remote->name);
	jw_obj_end(w);
	jw_arr_end(w);
}

/* The message resource's _links (incoming ones say who sent them and carry the text). */
static void
sim_conv_msg_links(struct jw *w, struct sim_conv *c, const struct sim_msg *m)
{
	jw_key(w, "_links");
	jw_obj_begin(w);
	sim_jw_link(w, "self", m->self, NULL);
	if (m->incoming) {
		sim_jw_link(w, "contact", c->people, NULL);
		sim_jw_link(w, "participant", c->remote_p, c->remote->name);
	}
	sim_jw_link(w, "messaging", c->msging, NULL);
	if (m->incoming && m->text != NULL)
		sim_conv_msg_text(w, m);
	if (m->failed)
		sim_conv_msg_failed(w, c);
	jw_obj_end(w);
}

/* The embedded message resource (samples 27, 38). */
static void
sim_conv_msg_write(struct jw *w, struct sim_conv *c, const struct sim_msg *m)
{
	jw_key(w, "message");
	jw_obj_begin(w);
	jw_kstr(w, "direction", m->incoming ? "Incoming" : "Outgoing");
	if (m->opid != NULL && !sim_profile(c->app->user)->no_echo_opid)
		jw_kstr(w, "operationId", m->opid);
	sim_jw_date(w, "timeStamp", util_wall_ms());
	if (sim_conv_extras(c))
		jw_kstr(w, "simFutureProperty", "ignore me");
	sim_conv_msg_links(w, c, m);
	jw_kstr(w, "rel", "message");
	jw_obj_end(w);
}

/* conversation › message <type>: an outgoing (ours) or incoming message. */
static void
sim_conv_ev_message(struct sim_conv *c, long long n, const char *type, int incoming,
    const char *text, size_t len, int html, const char *plain, const char *opid, int failed)
{
	struct sim_msg m = { .incoming = incoming,
		.text = text,
		.len = len,
		.html = html,
		.plain = plain,
		.opid = opid,
		.failed = failed };
	struct buf b;
	struct jw w;

	snprintf(m.self, sizeof m.self, "%s/messages/%lld", c->msging, n);
	sim_ev_begin(&w, &b, "message", m.self, NULL);
	if (strcmp(type, "completed") == 0)
		jw_kstr(&w, "status", failed ? "Failure" : "Success");
	jw_key(&w, "_embedded");
	jw_obj_begin(&w);
	sim_conv_msg_write(&w, c, &m);
	jw_obj_end(&w);
	sim_ev_end(&w, type);
	if (incoming && text != NULL)
		sim_events_push_message(c->app, c->href, &b, c->remote, text, len);
	else
		sim_events_push(c->app, "conversation", c->href, &b);
}

/* --- state changes ----------------------------------------------------- */

/* An accepted incoming invitation's first message as a message event (sample 38). */
static void
sim_conv_first_event(struct sim_conv *c)
{
	sim_conv_ev_message(c, c->first_n, "completed", 1, c->first.data, c->first.len,
	    c->first_html && c->app->html, NULL, NULL, 0);
	sim_conv_ev_conversation(c, "updated", "Connected");
}

/* The late first-message event is due (profile first_message_event "late"). */
static void
sim_conv_first_fire(evutil_socket_t fd, short what, void *arg)
{
	sim_conv_first_event(arg);
}

/* The first message's own event: now, later or never, as the profile says. */
static void
sim_conv_first(struct sim_conv *c)
{
	const struct sim_profile *p = sim_profile(c->app->user);
	struct timeval tv = { p->first_delay_ms / 1000, (p->first_delay_ms % 1000) * 1000 };

	c->first_n = c->next_msg++;
	if (p->first == SIM_FIRST_NORMAL)
		sim_conv_first_event(c);
	else if (p->first == SIM_FIRST_LATE) {
		if (c->first_ev == NULL)
			c->first_ev = evtimer_new(simg.base, sim_conv_first_fire, c);
		evtimer_add(c->first_ev, &tv);
	}
}

/* The invitation succeeded: the Connected events (samples 23 and 37). */
static void
sim_conv_connect(struct sim_conv *c)
{
	evtimer_del(c->timer);
	c->state = CONV_CONNECTED;
	if (c->incoming) {
		sim_conv_ev_invitation(c, "updated", "Connecting", 0, NULL, NULL, NULL);
		sim_conv_ev_messaging(c, "Connected");
		sim_conv_ev_conversation(c, "updated", "Connected");
		sim_conv_ev_pmessaging(c, 1);
		sim_conv_ev_pmessaging(c, 0);
		sim_conv_ev_remote(c, "updated", 0);
	} else {
		sim_conv_ev_conversation(c, "updated", "Connected");
		sim_conv_ev_remote(c, "added", 0);
		sim_conv_ev_pmessaging(c, 0);
		sim_conv_ev_pmessaging(c, 1);
		sim_conv_ev_messaging(c, "Connected");
	}
	sim_conv_ev_invitation(c, "completed", "Connected", 0, "Success", NULL, NULL);
	if (c->incoming && c->first.len > 0)
		sim_conv_first(c);
	else if (!c->incoming && c->first.len > 0)
		sim_remote_log(c->remote, "message", c->app->user->uri, c->first.data, c->first.len,
		    "text/plain");
}

/* The invitation failed (declined, timed out, cancelled, elsewhere): end it. */
static void
sim_conv_fail(struct sim_conv *c, int why)
{
	static const char *const msgs[] = {
		"Your invitation was declined.",
		"The invitation timed out.",
		"The person you are trying to reach is not available.",
		"The invitation was accepted on another endpoint.",
		"The invitation was cancelled.",
	};
	const char *sub = sim_fail_subcodes[why];

	if (sim_conv_extras(c) && why == FAIL_DECLINED)
		sub = "SimFutureSubcode";
	sim_conv_ev_invitation(c, "completed", "Failed", 0, "Failure", sub, msgs[why]);
	sim_conv_ev_messaging(c, "Disconnected");
	sim_conv_ev_conversation(c, "deleted", NULL);
	log_info("conv %s: invitation failed: %s", c->id, sim_fail_subcodes[why]);
	sim_conv_free(c);
}

/* The conversation ends (stopMessaging, DELETE, remote leaves). */
static void
sim_conv_end(struct sim_conv *c, int remote_left)
{
	enum sim_leave shape = remote_left ? sim_profile(c->app->user)->leave : SIM_LEAVE_BOTH;

	if (remote_left && shape != SIM_LEAVE_CONVERSATION)
		sim_conv_ev_remote(c, "deleted", 0);
	else if (!remote_left)
		sim_remote_log(c->remote, "left", c->app->user->uri, NULL, 0, NULL);
	if (shape != SIM_LEAVE_CONVERSATION)
		sim_conv_ev_messaging(c, "Disconnected");
	if (shape != SIM_LEAVE_PARTICIPANT)
		sim_conv_ev_conversation(c, "deleted", NULL);
	sim_conv_free(c);
}

/* The conversation's timer: the remote answers, or the invitation expires. */
static void
sim_conv_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sim_conv *c = arg;

	if (c->failing < 0) {
		sim_remote_log(c->remote, "accepted", c->app->user->uri, NULL, 0, NULL);
		sim_conv_connect(c);
		return;
	}
	if (c->incoming && c->failing == FAIL_TIMEOUT)
		sim_remote_log(c->remote, "invitation_expired", c->app->user->uri, NULL, 0, NULL);
	if (!c->incoming && c->failing == FAIL_DECLINED)
		sim_remote_log(c->remote, "declined", c->app->user->uri, NULL, 0, NULL);
	sim_conv_fail(c, c->failing);
}

/* Decode a data URI (percent form with '+', or base64) into out; -1 if bad. */
static int
sim_conv_data_decode(const char *uri, struct buf *out, int *html)
{
	const char *comma;
	long n;

	if (strncmp(uri, "data:", 5) != 0 || (comma = strchr(uri, ',')) == NULL)
		return -1;
	*html = strncmp(uri + 5, "text/html", 9) == 0;
	buf_reset(out);
	if (comma - uri >= 7 && memcmp(comma - 7, ";base64", 7) == 0)
		return util_base64_decode(out, comma + 1, strlen(comma + 1)) < 0 ? -1 : 0;
	buf_addstr(out, comma + 1);
	if ((n = util_url_decode(out->data, out->len, 1)) < 0)
		return -1;
	out->len = (size_t)n;
	out->data[n] = '\0';
	return 0;
}

/* A bounded optional string member; 0 when fine. */
static int
sim_conv_opt(const struct json *o, const char *key, size_t max, char **out, const char *def)
{
	const char *s = sim_json_istr(o, key);

	if (s != NULL && strlen(s) > max)
		return -1;
	s = s != NULL ? s : def;
	*out = s != NULL ? xstrdup(s) : NULL;
	return 0;
}

/* A new outgoing conversation from a startMessaging body; NULL after replying 400/409. */
static struct sim_conv *
sim_conv_start_parse(struct sim_app *a, struct http_req *req, const struct json *o)
{
	const struct json *links = sim_json_iget(o, "_links");
	const char *to = json_str(sim_json_iget(o, "to")), *msg = NULL;
	struct sim_remote *r;
	struct sim_conv *c;
	char tid[33];

	if (links != NULL)
		msg = json_get_str(json_get(links, "message"), "href");
	if (to == NULL || strncmp(to, "sip:", 4) != 0) {
		sim_reply_error(req, 400, "BadRequest", "ParameterValidationFailure",
		    "\"to\" must be a SIP URI.");
		return NULL;
	}
	if (a->nconvs >= (unsigned)simg.cfg->max_conversations) {
		sim_reply_error(req, 409, "Conflict", "TooManyConversations",
		    "The user has exceeded the maximum number of conversations.");
		return NULL;
	}
	/* An unknown party: a built-in remote for which the invitation fails. */
	if ((r = sim_remote_find(to)) == NULL && (r = sim_bridge_remote(a->user, to)) == NULL)
		r = sim_remote_find("sip:unknown@invalid");
	c = sim_conv_new(a, r, 0);
	util_random_id(tid, 32, UTIL_HEX);
	if (sim_conv_opt(o, "operationId", 50, &c->operation_id, NULL) != 0 ||
	    sim_conv_opt(o, "subject", 250, &c->subject, "") != 0 ||
	    sim_conv_opt(o, "threadId", 250, &c->thread_id, tid) != 0 ||
	    sim_conv_opt(o, "importance", 20, &c->importance, "Normal") != 0 ||
	    (msg != NULL && sim_conv_data_decode(msg, &c->first, &c->first_html) != 0)) {
		sim_conv_free(c);
		sim_reply_error(req, 400, "BadRequest", "ParameterValidationFailure",
		    "A parameter is too long or malformed.");
		return NULL;
	}
	return c;
}

/* Schedule the remote's answer to an outgoing invitation. */
static void
sim_conv_start_answer(struct sim_conv *c)
{
	struct sim_remote *r = c->remote;

	if (strcmp(r->uri, "sip:unknown@invalid") == 0)
		sim_conv_arm(c, 0, FAIL_NOTFOUND);
	else if (r->answer == SIM_ACCEPT)
		sim_conv_arm(c, r->accept_ms, -1);
	else if (r->answer == SIM_DECLINE)
		sim_conv_arm(c, r->accept_ms, FAIL_DECLINED);
	else
		sim_conv_arm(c, simg.cfg->invitation_timeout_ms, FAIL_TIMEOUT);
	sim_remote_log(r, "invitation", c->app->user->uri, c->first.data, c->first.len, NULL);
}

/* POST startMessaging: 201 + Location, the Connecting events, then the remote answers. */
static void
sim_conv_start(struct sim_app *a, struct http_req *req)
{
	struct json_doc *d;
	struct sim_conv *c;
	long long delay = sim_fault_param(a->user, "started_before_201", "delay_ms");
	int early = sim_fault_active(a->user, "started_before_201");
	struct buf empty;

	if (sim_profile(a->user)->early_201_ms > 0) {
		early = 1;
		delay = sim_profile(a->user)->early_201_ms;
	}

	if ((d = sim_parse_body(req)) == NULL)
		return;
	c = sim_conv_start_parse(a, req, json_root(d));
	json_doc_free(d);
	if (c == NULL)
		return;
	sim_conv_ev_invitation(c, "started", "Connecting", 1, NULL, NULL, NULL);
	sim_conv_ev_conversation(c, "added", "Connecting");
	sim_conv_ev_local(c);
	sim_conv_ev_messaging(c, "Connecting");
	sim_conv_start_answer(c);
	sim_profile_location(a->user, req, c->inv);
	buf_init(&empty);
	if (early)
		sim_reply_later(
		    a->user, req, 201, NULL, &empty, (unsigned)(delay > 0 ? delay : 50));
	else
		sim_reply(a->user, req, 201, NULL, &empty);
}

/* The 201 of a sendMessage: now, or held back as the profile says (its events first). */
static void
sim_conv_reply_201(struct sim_user *u, struct http_req *req)
{
	long long delay = sim_profile(u)->early_201_ms;
	struct buf empty;

	buf_init(&empty);
	if (delay > 0)
		sim_reply_later(u, req, 201, NULL, &empty, (unsigned)delay);
	else
		sim_reply(u, req, 201, NULL, &empty);
}

/* Whether ctype (with parameters) is type. */
static int
sim_conv_ctype_is(const char *ctype, const char *type)
{
	size_t n = strlen(type);

	return ctype != NULL && strncasecmp(ctype, type, n) == 0 &&
	    (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

/* A remote that replies answers a delivered message with "echo: <text>". */
static void
sim_conv_echo(struct sim_conv *c, const char *body, size_t len)
{
	struct buf t;

	if (!c->remote->reply)
		return;
	buf_init(&t);
	buf_addstr(&t, "echo: ");
	buf_add(&t, body, len);
	sim_conv_ev_message(c, c->next_msg++, "completed", 1, t.data, t.len, 0, NULL, NULL, 0);
	buf_free(&t);
}

/*
 * Sent message n delivered (or not, when the remote fails deliveries: 1): its
 * completed event and the remote's receipt; the echo of a remote that
 * replies comes after it (echo 0: the caller sends it later).
 */
static int
sim_conv_delivered(struct sim_conv *c, long long n, const char *opid, const char *body, size_t len,
    int html, int echo)
{
	int failed = c->remote->fail || sim_fault_active(c->app->user, "failed_delivery");

	sim_conv_ev_message(c, n, "completed", 0, NULL, 0, 0, NULL, opid, failed);
	if (failed)
		return 1;
	sim_remote_log(
	    c->remote, "message", c->app->user->uri, body, len, html ? "text/html" : "text/plain");
	if (echo)
		sim_conv_echo(c, body, len);
	return 0;
}

/* Arm the delivery timer for the oldest message waiting (if any). */
static void
sim_conv_deliver_arm(struct sim_conv *c)
{
	struct sim_delivery *d = STAILQ_FIRST(&c->deliveries);
	long long now = (long long)util_now_ms(), ms;
	struct timeval tv;

	if (d == NULL)
		return;
	ms = d->due > now ? d->due - now : 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->deliver, &tv);
}

/* Deliver the messages whose time came, oldest first (the order they were taken). */
static void
sim_conv_deliver_fire(evutil_socket_t fd, short what, void *arg)
{
	struct sim_conv *c = arg;
	struct sim_delivery *d;
	long long now = (long long)util_now_ms();

	while ((d = STAILQ_FIRST(&c->deliveries)) != NULL && d->due <= now) {
		STAILQ_REMOVE_HEAD(&c->deliveries, entry);
		c->ndeliveries--;
		sim_conv_delivered(c, d->n, d->opid, d->body.data, d->body.len, d->html, 1);
		sim_conv_delivery_free(d);
	}
	sim_conv_deliver_arm(c);
}

/* Hold sent message n for the remote's delivery_ms (its started event went already). */
static void
sim_conv_deliver_later(
    struct sim_conv *c, long long n, const char *opid, const char *body, size_t len, int html)
{
	struct sim_delivery *d = xcalloc(1, sizeof *d);

	d->n = n;
	d->due = (long long)util_now_ms() + c->remote->delivery_ms;
	d->html = html;
	d->opid = opid != NULL ? xstrdup(opid) : NULL;
	buf_init(&d->body);
	buf_add(&d->body, body, len);
	STAILQ_INSERT_TAIL(&c->deliveries, d, entry);
	if (c->ndeliveries++ == 0)
		sim_conv_deliver_arm(c);
}

/*
 * POST sendMessage: raw text/plain (or text/html when negotiated). The
 * message is taken: its started event, then (at once, or after the
 * remote's delivery_ms, as Skype for Business does while it delivers) its
 * completed event; started is left out, as merged, only when both are
 * pending at once (the aggregation fault, the profile's message_started).
 */
static void
sim_conv_send(struct sim_conv *c, struct http_req *req)
{
	const char *ct = http_req_header(req, "Content-Type");
	int html = sim_conv_ctype_is(ct, "text/html");
	int later = c->remote->delivery_ms > 0;
	struct buf opid;
	char loc[240];
	size_t len;
	const char *body = http_req_body(req, &len), *op;
	long long n;
	int failed = 0;

	if (!sim_conv_ctype_is(ct, "text/plain") && !(html && c->app->html)) {
		sim_reply_error(
		    req, 415, "UnsupportedMediaType", NULL, "The content type is not supported.");
		return;
	}
	if (later && c->ndeliveries >= SIM_DELIVERIES) {
		sim_reply_error(req, 503, "ServiceUnavailable", NULL,
		    "Too many messages being delivered in this conversation.");
		return;
	}
	buf_init(&opid);
	if (http_req_query_param(req, "operationId", &opid) != 0)
		http_req_query_param(req, "OperationContext", &opid);
	op = opid.len ? opid.data : NULL;
	n = c->next_msg++;
	if (!sim_fault_active(c->app->user, "aggregation") &&
	    (later || !sim_profile(c->app->user)->no_message_started))
		sim_conv_ev_message(c, n, "started", 0, NULL, 0, 0, NULL, op, 0);
	if (later)
		sim_conv_deliver_later(c, n, op, body, len, html);
	else
		failed = sim_conv_delivered(c, n, op, body, len, html, 0);
	snprintf(loc, sizeof loc, "%s/messages/%lld", c->msging, n);
	sim_profile_location(c->app->user, req, loc);
	sim_conv_reply_201(c->app->user, req);
	if (!later && !failed)
		sim_conv_echo(c, body, len);
	buf_free(&opid);
}

/* Answer with a resource written by fn. */
static void
sim_conv_get(struct sim_conv *c, struct http_req *req, int what)
{
	static const char *const st[] = { "Connecting", "Incoming", "Connected" };
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	if (what == 0)
		sim_conv_write_conversation(&w, c, st[c->state]);
	else if (what == 1)
		sim_conv_write_messaging(
		    &w, c, c->state == CONV_CONNECTED ? "Connected" : "Connecting");
	else if (what == 2)
		sim_conv_write_participant(&w, c, 0, "participant");
	else if (what == 3)
		sim_conv_write_participant(&w, c, 1, "participant");
	else
		sim_conv_write_invitation(&w, c,
		    c->state == CONV_CONNECTED ? "Connected" : "Connecting",
		    c->state != CONV_CONNECTED, c->state == CONV_CONNECTED);
	sim_reply(c->app->user, req, 200, "application/json; charset=utf-8", &b);
}

/* Fail the other endpoints' copies of an accepted incoming invitation. */
static void
sim_conv_elsewhere(struct sim_conv *won)
{
	struct sim_app *a;
	struct sim_conv *c, *next;

	TAILQ_FOREACH(a, &won->app->user->apps, entry)
	{
		for (c = TAILQ_FIRST(&a->convs); c != NULL; c = next) {
			next = TAILQ_NEXT(c, entry);
			if (c != won && c->incoming && c->state == CONV_INCOMING &&
			    c->remote == won->remote && strcmp(c->thread_id, won->thread_id) == 0)
				sim_conv_fail(c, FAIL_ELSEWHERE);
		}
	}
}

/* POST accept / decline of an incoming invitation. */
static void
sim_conv_answer(struct sim_conv *c, struct http_req *req, int accept)
{
	if (!c->incoming || c->state != CONV_INCOMING) {
		sim_reply_error(req, 409, "Conflict", "AnotherOperationPending",
		    "The invitation is no longer pending.");
		return;
	}
	sim_reply(c->app->user, req, 204, NULL, NULL);
	sim_remote_log(
	    c->remote, accept ? "accepted" : "declined", c->app->user->uri, NULL, 0, NULL);
	if (accept) {
		sim_conv_elsewhere(c);
		sim_conv_connect(c);
	} else
		sim_conv_fail(c, FAIL_DECLINED);
}

/* POST messaging/terminate: stopMessaging, or cancel while connecting. */
static void
sim_conv_terminate(struct sim_conv *c, struct http_req *req)
{
	sim_reply(c->app->user, req, 204, NULL, NULL);
	if (c->state == CONV_CONNECTING) {
		sim_remote_log(c->remote, "cancelled", c->app->user->uri, NULL, 0, NULL);
		sim_conv_fail(c, FAIL_CANCELED);
	} else
		sim_conv_end(c, 0);
}

/* Requests under .../conversations/<id>. */
static void
sim_conv_dispatch(struct sim_conv *c, struct http_req *req, const char *rest, const char *m)
{
	int get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;

	if (*rest == '\0' && get)
		sim_conv_get(c, req, 0);
	else if (*rest == '\0' && strcmp(m, "DELETE") == 0) {
		sim_reply(c->app->user, req, 204, NULL, NULL);
		sim_conv_end(c, 0);
	} else if (strcmp(rest, "/messaging") == 0 && get)
		sim_conv_get(c, req, 1);
	else if (strcmp(rest, "/messaging/messages") == 0 && post && c->state == CONV_CONNECTED)
		sim_conv_send(c, req);
	else if (strcmp(rest, "/messaging/typing") == 0 && post && c->state == CONV_CONNECTED) {
		sim_remote_log(c->remote, "typing", c->app->user->uri, NULL, 0, NULL);
		sim_reply(c->app->user, req, 204, NULL, NULL);
	} else if (strcmp(rest, "/messaging/terminate") == 0 && post)
		sim_conv_terminate(c, req);
	else if (strncmp(rest, "/participants/", 14) == 0 && get &&
	    strcasecmp(rest + 14, c->remote->addr) == 0)
		sim_conv_get(c, req, 2);
	else if (strncmp(rest, "/participants/", 14) == 0 && get &&
	    strcasecmp(rest + 14, c->app->user->addr) == 0)
		sim_conv_get(c, req, 3);
	else
		sim_reply_error(req, 404, "NotFound", "ResourceNotFound",
		    "The requested resource could not be found.");
}

/* Find the conversation whose id (or invitation id) starts rest. */
static struct sim_conv *
sim_conv_find(struct sim_app *a, const char *rest, int inv, const char **after)
{
	struct sim_conv *c;

	TAILQ_FOREACH(c, &a->convs, entry)
	{
		const char *id = inv ? c->inv_id : c->id;
		size_t n = strlen(id);

		if (strncmp(rest, id, n) == 0 && (rest[n] == '\0' || rest[n] == '/')) {
			*after = rest + n;
			return c;
		}
	}
	return NULL;
}

/* GET conversations: the live conversations, embedded. */
static void
sim_conv_list(struct sim_app *a, struct http_req *req)
{
	static const char *const st[] = { "Connecting", "Incoming", "Connected" };
	struct sim_conv *c;
	struct buf b;
	struct jw w;
	char href[128];

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_key(&w, "_links");
	jw_obj_begin(&w);
	snprintf(href, sizeof href, "%s/communication/conversations", a->base);
	sim_jw_link(&w, "self", href, NULL);
	jw_obj_end(&w);
	jw_key(&w, "_embedded");
	jw_obj_begin(&w);
	jw_key(&w, "conversation");
	jw_arr_begin(&w);
	TAILQ_FOREACH(c, &a->convs, entry)
	sim_conv_write_conversation(&w, c, st[c->state]);
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_kstr(&w, "rel", "conversations");
	jw_obj_end(&w);
	sim_reply(a->user, req, 200, "application/json; charset=utf-8", &b);
}

/* Requests under /applications/<id>/communication (rest starts with '/'). */
void
sim_conv_route(struct sim_app *a, struct http_req *req, const char *rest)
{
	const char *m = http_req_method(req), *after;
	struct sim_conv *c;

	if (strcmp(rest, "/messagingInvitations") == 0 && strcmp(m, "POST") == 0) {
		sim_conv_start(a, req);
		return;
	}
	if (strncmp(rest, "/messagingInvitations/", 22) == 0 &&
	    (c = sim_conv_find(a, rest + 22, 1, &after)) != NULL) {
		if (*after == '\0' && strcmp(m, "GET") == 0)
			sim_conv_get(c, req, 4);
		else if (strcmp(after, "/accept") == 0 && strcmp(m, "POST") == 0)
			sim_conv_answer(c, req, 1);
		else if (strcmp(after, "/decline") == 0 && strcmp(m, "POST") == 0)
			sim_conv_answer(c, req, 0);
		else
			sim_reply_error(req, 404, "NotFound", "ResourceNotFound",
			    "The requested resource could not be found.");
		return;
	}
	if (strcmp(rest, "/conversations") == 0 && strcmp(m, "GET") == 0) {
		sim_conv_list(a, req);
		return;
	}
	if (strncmp(rest, "/conversations/", 15) == 0 &&
	    (c = sim_conv_find(a, rest + 15, 0, &after)) != NULL) {
		sim_conv_dispatch(c, req, after, m);
		return;
	}
	sim_reply_error(
	    req, 404, "NotFound", "ResourceNotFound", "The requested resource could not be found.");
}

/* --- remote-side actions (control API) ---------------------------------- */

/* The live connected conversation of u's applications with r, or NULL. */
static struct sim_conv *
sim_conv_with(struct sim_remote *r, struct sim_user *u, int connected_only)
{
	struct sim_app *a;
	struct sim_conv *c;

	TAILQ_FOREACH(a, &u->apps, entry)
	{
		TAILQ_FOREACH(c, &a->convs, entry)
		{
			if (c->remote == r && (!connected_only || c->state == CONV_CONNECTED))
				return c;
		}
	}
	return NULL;
}

/* Remote r invites u: every available application of u gets the invitation. */
const char *
sim_conv_remote_invite(
    struct sim_remote *r, struct sim_user *u, const char *text, const char *subject, int html)
{
	struct sim_app *a;
	struct sim_conv *c;
	char tid[40];
	int n = 0;
	long long elsewhere = sim_fault_param(u, "accepted_elsewhere", "after_ms");
	int is_elsewhere = sim_fault_active(u, "accepted_elsewhere");

	util_random_id(tid, 26, UTIL_BASE62);
	memcpy(tid + 26, "==", 3);
	TAILQ_FOREACH(a, &u->apps, entry)
	{
		if (!a->available || a->nconvs >= (unsigned)simg.cfg->max_conversations)
			continue;
		c = sim_conv_new(a, r, 1);
		c->thread_id = xstrdup(tid);
		c->subject = xstrdup(subject != NULL ? subject : "");
		c->importance = xstrdup("Normal");
		buf_addstr(&c->first, text);
		c->first_html = html;
		sim_conv_ev_invitation(c, "started", "Connecting", 1, NULL, NULL, NULL);
		sim_conv_ev_conversation(c, "added", "Incoming");
		sim_conv_ev_local(c);
		sim_conv_ev_remote(c, "added", 0);
		if (is_elsewhere)
			sim_conv_arm(c, elsewhere > 0 ? elsewhere : 100, FAIL_ELSEWHERE);
		else
			sim_conv_arm(c, simg.cfg->invitation_timeout_ms, FAIL_TIMEOUT);
		n++;
	}
	if (n == 0)
		return "the user has no application that made itself available";
	if (is_elsewhere)
		sim_fault_take(u, "accepted_elsewhere");
	return NULL;
}

/* Remote r sends a message in its connected conversation with u. */
const char *
sim_conv_remote_message(
    struct sim_remote *r, struct sim_user *u, const char *text, int html, const char *plain)
{
	struct sim_conv *c = sim_conv_with(r, u, 1);

	if (c == NULL)
		return "no connected conversation between the remote and the user";
	html = html && c->app->html;
	sim_conv_ev_message(c, c->next_msg++, "completed", 1, text, strlen(text), html,
	    html ? plain : NULL, NULL, 0);
	return NULL;
}

/* The remote's typing indication ran out. */
static void
sim_conv_typing_done(evutil_socket_t fd, short what, void *arg)
{
	sim_conv_ev_remote(arg, "deleted", 1);
}

/* Remote r types in its connected conversation with u. */
const char *
sim_conv_remote_typing(struct sim_remote *r, struct sim_user *u)
{
	struct sim_conv *c = sim_conv_with(r, u, 1);
	long long ms = simg.cfg->typing_timeout_ms;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (c == NULL)
		return "no connected conversation between the remote and the user";
	if (c->typing == NULL)
		c->typing = evtimer_new(simg.base, sim_conv_typing_done, c);
	if (!evtimer_pending(c->typing, NULL))
		sim_conv_ev_remote(c, "added", 1);
	evtimer_add(c->typing, &tv);
	return NULL;
}

/* Remote r leaves its conversation with u. */
const char *
sim_conv_remote_leave(struct sim_remote *r, struct sim_user *u)
{
	struct sim_conv *c = sim_conv_with(r, u, 1);

	if (c == NULL)
		return "no connected conversation between the remote and the user";
	sim_conv_end(c, 1);
	return NULL;
}

/* Conversations of a, for the control API. */
void
sim_conv_write_state(struct jw *w, struct sim_app *a)
{
	static const char *const st[] = { "Connecting", "Incoming", "Connected" };
	struct sim_conv *c;

	jw_arr_begin(w);
	TAILQ_FOREACH(c, &a->convs, entry)
	{
		jw_obj_begin(w);
		jw_kstr(w, "id", c->id);
		jw_kstr(w, "href", c->href);
		jw_kstr(w, "remote", c->remote->uri);
		jw_kstr(w, "direction", c->incoming ? "Incoming" : "Outgoing");
		jw_kstr(w, "state", st[c->state]);
		jw_kint(w, "nextMessage", c->next_msg);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* --- the user-to-user bridge (sim_bridge.c) ------------------------------ */

/* Settle u's pending invitations with r (see sim.h): outgoing ones at once, as if
 * the timer fired; incoming ones through their timer, as they may be the caller's. */
int
sim_conv_remote_settle(
    struct sim_remote *r, struct sim_user *u, const char *outgoing, const char *incoming)
{
	const char *want;
	struct sim_app *a;
	struct sim_conv *c, *next;
	int why, n = 0;

	TAILQ_FOREACH(a, &u->apps, entry)
	{
		for (c = TAILQ_FIRST(&a->convs); c != NULL; c = next) {
			next = TAILQ_NEXT(c, entry);
			want = c->incoming ? incoming : outgoing;
			if (c->remote != r || c->state == CONV_CONNECTED || want == NULL)
				continue;
			for (why = 0; why < (int)nitems(sim_fail_subcodes); why++)
				if (strcmp(want, sim_fail_subcodes[why]) == 0)
					break;
			if (why == (int)nitems(sim_fail_subcodes))
				why = -1; /* "Success" */
			if (c->incoming)
				sim_conv_arm(c, 0, why < 0 ? FAIL_CANCELED : why);
			else {
				evtimer_del(c->timer);
				c->failing = why;
				sim_conv_timer(-1, EV_TIMEOUT, c);
			}
			n++;
		}
	}
	return n;
}

/* The subject and first-message format of u's newest pending outgoing invitation to r. */
const char *
sim_conv_remote_subject(struct sim_remote *r, struct sim_user *u, int *html)
{
	struct sim_app *a;
	struct sim_conv *c, *found = NULL;

	TAILQ_FOREACH(a, &u->apps, entry){ TAILQ_FOREACH(c, &a->convs, entry){
	    if (c->remote == r && !c->incoming && c->state == CONV_CONNECTING) found = c;
}
}
*html = found != NULL && found->first_html;
return found != NULL && found->subject != NULL ? found->subject : "";
}
