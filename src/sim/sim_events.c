/*
 * sim_events.c: each application's event channel. Events are queued in
 * order (at most limits.queue_events; more are dropped and logged) and
 * handed out in numbered sets: the set for ack=N is answered to a GET of
 * events?ack=N and kept until the client asks for ack=N+1, so a repeated
 * URL replays it; any other ack gets resync. One P-GET may be parked: it is
 * woken exactly once, by events (on the next loop turn, so that one
 * operation's events travel together), by its timeout (an empty set), or
 * by a newer P-GET (409 PGetReplaced). A P-GET after a long gap, or after
 * the control API asked for it, gets resume and every conversation dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sim.h"

#define SIM_SET_MAX 200 /* events per set */

/* Member key of an event: a link object {rel, href, title?}. */
static void
sim_ev_link(struct jw *w, const char *key, const char *rel, const char *href, const char *title)
{
	jw_key(w, key);
	jw_obj_begin(w);
	jw_kstr(w, "rel", rel);
	jw_kstr(w, "href", href);
	if (title != NULL)
		jw_kstr(w, "title", title);
	jw_obj_end(w);
}

/* Start an event object: {"link":{rel, href, title?} ... */
void
sim_ev_begin(struct jw *w, struct buf *b, const char *rel, const char *href, const char *title)
{
	buf_init(b);
	jw_init(w, b);
	jw_obj_begin(w);
	sim_ev_link(w, "link", rel, href, title);
}

/* The "in" link of an event. */
void
sim_ev_in(struct jw *w, const char *rel, const char *href, const char *title)
{
	sim_ev_link(w, "in", rel, href, title);
}

/* Finish an event object with its type. */
void
sim_ev_end(struct jw *w, const char *type)
{
	jw_kstr(w, "type", type);
	jw_obj_end(w);
}

/* Reply to the parked P-GET and forget it. */
static void
sim_events_release(struct sim_app *a, int status, struct buf *body)
{
	struct http_req *req = a->pget;

	a->pget = NULL;
	evtimer_del(a->pget_timer);
	a->user->outstanding--;
	http_req_set_abort(req, NULL, NULL);
	sim_app_touch(a);
	if (status == 200)
		sim_reply(a->user, req, 200, "application/json; charset=utf-8", body);
	else
		sim_reply_error(req, status, "Conflict", "PGetReplaced",
		    "The pending GET was replaced by a newer one.");
}

/* _links with self=ack and rel=ack2. */
static void
sim_events_links(struct jw *w, struct sim_app *a, long long ack, const char *rel, long long ack2)
{
	char href[128];

	jw_key(w, "_links");
	jw_obj_begin(w);
	snprintf(href, sizeof href, "%s/events?ack=%lld", a->base, ack);
	sim_jw_link(w, "self", href, NULL);
	snprintf(href, sizeof href, "%s/events?ack=%lld", a->base, ack2);
	sim_jw_link(w, rel, href, NULL);
	jw_obj_end(w);
}

/* Free a list of events. */
static void
sim_events_free_list(struct sim_event_list *l)
{
	struct sim_event *e;

	while ((e = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, e, entry);
		free(e->sender_href);
		free(e->json);
		free(e->text);
		free(e);
	}
}

/*
 * Senders a server of the future (or a buggy one) may put amid a set
 * (profile junk_events): a kind nobody uses with a malformed event, an
 * event that is not an object, an unknown kind, events that are not an
 * array.
 */
static void
sim_events_junk(struct jw *w, struct sim_app *a)
{
	char href[200];

	jw_obj_begin(w);
	jw_kstr(w, "rel", "me");
	snprintf(href, sizeof href, "%s/me", a->base);
	jw_kstr(w, "href", href);
	jw_key(w, "events");
	jw_raw(w,
	    "[{\"link\":{\"rel\":\"me\"},\"type\":\"updated\"},\"not an event\","
	    "{\"link\":{\"rel\":\"simFutureKind\",\"href\":7},\"type\":\"simFutureType\","
	    "\"_embedded\":{\"simFutureKind\":[]}},{\"link\":{\"rel\":\"people\"}}]");
	jw_obj_end(w);
	jw_obj_begin(w);
	jw_kstr(w, "rel", "simFutureSender");
	jw_kstr(w, "href", href);
	jw_key(w, "events");
	jw_raw(w, "17");
	jw_obj_end(w);
}

/* After a conversation's group (profile junk_events): a malformed event of a kind
 * the client uses, messaging with an unknown type, on that conversation. */
static void
sim_events_junk_conv(struct jw *w, const struct sim_event *prev)
{
	char href[200];

	jw_obj_begin(w);
	jw_kstr(w, "rel", "conversation");
	jw_kstr(w, "href", prev->sender_href);
	jw_key(w, "events");
	jw_arr_begin(w);
	jw_obj_begin(w);
	jw_key(w, "link");
	jw_obj_begin(w);
	jw_kstr(w, "rel", "messaging");
	snprintf(href, sizeof href, "%s/messaging", prev->sender_href);
	jw_kstr(w, "href", href);
	jw_obj_end(w);
	jw_kstr(w, "type", "simExploded");
	jw_obj_end(w);
	jw_arr_end(w);
	jw_obj_end(w);
}

/* After the group of prev: the junk senders still due in this set (profile junk_events). */
static void
sim_events_junk_after(
    struct jw *w, struct sim_app *a, const struct sim_event *prev, int *junk, int *conv_junk)
{
	if (*junk) /* amid the set, once */
		sim_events_junk(w, a);
	*junk = 0;
	if (*conv_junk && strcmp(prev->sender_rel, "conversation") == 0) {
		sim_events_junk_conv(w, prev);
		*conv_junk = 0;
	}
}

/* Write the first SIM_SET_MAX queued events as sender groups, then free them. */
static void
sim_events_write_senders(struct jw *w, struct sim_app *a)
{
	struct sim_event_list taken = TAILQ_HEAD_INITIALIZER(taken);
	struct sim_event *e, *prev = NULL;
	int n = 0, junk = sim_profile(a->user)->junk, conv_junk = junk;

	while (n++ < SIM_SET_MAX && (e = TAILQ_FIRST(&a->queue)) != NULL) {
		TAILQ_REMOVE(&a->queue, e, entry);
		TAILQ_INSERT_TAIL(&taken, e, entry);
		a->nqueue--;
	}
	jw_key(w, "sender");
	jw_arr_begin(w);
	TAILQ_FOREACH(e, &taken, entry)
	{
		if (prev == NULL || strcmp(prev->sender_rel, e->sender_rel) ||
		    strcmp(prev->sender_href, e->sender_href)) {
			if (prev != NULL) {
				jw_arr_end(w);
				jw_obj_end(w);
				sim_events_junk_after(w, a, prev, &junk, &conv_junk);
			}
			jw_obj_begin(w);
			jw_kstr(w, "rel", e->sender_rel);
			jw_kstr(w, "href", e->sender_href);
			jw_key(w, "events");
			jw_arr_begin(w);
		}
		jw_raw(w, e->json);
		prev = e;
	}
	if (prev != NULL) {
		jw_arr_end(w);
		jw_obj_end(w);
		sim_events_junk_after(w, a, prev, &junk, &conv_junk);
	}
	jw_arr_end(w);
	sim_events_free_list(&taken);
}

/* Build set acked+1 from the queue (rel: next or resume); it becomes the unacked set. */
static void
sim_events_make_set(struct sim_app *a, const char *rel, int sender)
{
	long long k = a->acked + 1;
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	sim_events_links(&w, a, k, rel, k + 1);
	if (sender)
		sim_events_write_senders(&w, a);
	jw_obj_end(&w);
	free(a->unacked);
	a->unacked = buf_detach(&b, NULL);
}

/* Answer the parked P-GET with the unacknowledged set. */
static void
sim_events_answer(struct sim_app *a)
{
	struct buf b;

	buf_init(&b);
	buf_addstr(&b, a->unacked);
	sim_events_release(a, 200, &b);
}

/* Next loop turn after events were queued: wake the parked P-GET once. */
static void
sim_events_flush(evutil_socket_t fd, short what, void *arg)
{
	struct sim_app *a = arg;

	if (a->pget == NULL || a->unacked != NULL || TAILQ_EMPTY(&a->queue) ||
	    a->pget_ack != a->acked + 1)
		return;
	sim_events_make_set(a, "next", 1);
	sim_events_answer(a);
}

/* The P-GET timer: the timeout (an empty set) or an injected TCP reset. */
static void
sim_events_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct sim_app *a = arg;
	struct http_req *req = a->pget;

	if (req == NULL)
		return;
	if (sim_fault_take(a->user, "reset_pget")) {
		log_info("app %s: fault: TCP reset on the idle P-GET", a->id);
		a->pget = NULL;
		a->user->outstanding--;
		sim_app_touch(a);
		http_req_reset(req);
		return;
	}
	sim_events_make_set(a, "next", 0);
	sim_events_answer(a);
}

/* Release a parked P-GET with an empty set (shutdown). */
void
sim_events_release_empty(struct sim_app *a)
{
	if (a->pget == NULL || a->unacked != NULL)
		return;
	sim_events_make_set(a, "next", 0);
	sim_events_answer(a);
}

/* The client closed the parked P-GET. */
static void
sim_events_abort(struct http_req *req, void *arg)
{
	struct sim_app *a = arg;

	a->pget = NULL;
	evtimer_del(a->pget_timer);
	a->user->outstanding--;
	sim_app_touch(a);
}

/* Queue one event (the body is taken over) and wake the P-GET soon. */
static struct sim_event *
sim_events_queue(
    struct sim_app *a, const char *sender_rel, const char *sender_href, struct buf *event)
{
	struct sim_event *e;

	if (a->nqueue >= (unsigned)simg.cfg->max_queue_events) {
		if (a->dropped++ == 0)
			log_warn(
			    "app %s: event queue full (%u): dropping events", a->id, a->nqueue);
		buf_free(event);
		return NULL;
	}
	if (a->dropped > 0) {
		log_warn("app %s: %llu events were dropped", a->id, (unsigned long long)a->dropped);
		a->dropped = 0;
	}
	e = xcalloc(1, sizeof *e);
	e->sender_rel = sender_rel;
	e->sender_href = xstrdup(sender_href);
	e->json = buf_detach(event, &e->len);
	TAILQ_INSERT_TAIL(&a->queue, e, entry);
	a->nqueue++;
	if (a->flush == NULL)
		a->flush = event_new(simg.base, -1, 0, sim_events_flush, a);
	if (a->pget != NULL)
		event_active(a->flush, 0, 0);
	return e;
}

/* Queue one event (see sim.h). */
void
sim_events_push(
    struct sim_app *a, const char *sender_rel, const char *sender_href, struct buf *event)
{
	sim_events_queue(a, sender_rel, sender_href, event);
}

/* Arm the expiry timer for the queue's earliest expiring message. */
static void
sim_events_arm_expiry(struct sim_app *a)
{
	struct sim_event *e;
	uint64_t now = util_now_ms(), first = 0;
	struct timeval tv;

	TAILQ_FOREACH(e, &a->queue, entry)
	{
		if (e->expire_ms != 0 && (first == 0 || e->expire_ms < first))
			first = e->expire_ms;
	}
	if (first == 0)
		return;
	first = first > now ? first - now : 0;
	tv.tv_sec = (time_t)(first / 1000);
	tv.tv_usec = (suseconds_t)(first % 1000) * 1000;
	evtimer_add(a->expiry, &tv);
}

/* Incoming messages nobody fetched in time: drop them, tell their senders. */
static void
sim_events_expire(evutil_socket_t fd, short what, void *arg)
{
	struct sim_app *a = arg;
	struct sim_event *e, *next;
	uint64_t now = util_now_ms();

	for (e = TAILQ_FIRST(&a->queue); e != NULL; e = next) {
		next = TAILQ_NEXT(e, entry);
		if (e->expire_ms == 0 || e->expire_ms > now)
			continue;
		log_info("app %s: incoming message not fetched in time: dropped", a->id);
		sim_remote_log(e->remote, "undelivered", a->user->uri, e->text, e->textlen, NULL);
		TAILQ_REMOVE(&a->queue, e, entry);
		a->nqueue--;
		free(e->sender_href);
		free(e->json);
		free(e->text);
		free(e);
	}
	sim_events_arm_expiry(a);
}

/* Queue an incoming message event that expires unless fetched in time. */
void
sim_events_push_message(struct sim_app *a, const char *sender_href, struct buf *event,
    struct sim_remote *r, const char *text, size_t len)
{
	struct sim_event *e = sim_events_queue(a, "conversation", sender_href, event);

	if (e == NULL)
		return;
	e->expire_ms = util_now_ms() + (uint64_t)simg.cfg->message_fetch_timeout_ms;
	e->remote = r;
	e->text = xstrndup(text, len);
	e->textlen = len;
	if (a->expiry == NULL)
		a->expiry = evtimer_new(simg.base, sim_events_expire, a);
	if (!evtimer_pending(a->expiry, NULL))
		sim_events_arm_expiry(a);
}

/* Park req as the application's P-GET. */
static void
sim_events_park(struct sim_app *a, struct http_req *req, long long ack, long long timeout_s)
{
	long long ms =
	    simg.cfg->pget_test_timeout_ms ? simg.cfg->pget_test_timeout_ms : timeout_s * 1000;
	struct timeval tv;

	if (sim_profile(a->user)->empty_release_ms > 0 &&
	    ms > sim_profile(a->user)->empty_release_ms)
		ms = sim_profile(a->user)->empty_release_ms;
	if (sim_fault_active(a->user, "reset_pget")) {
		ms = sim_fault_param(a->user, "reset_pget", "after_ms");
		ms = ms > 0 ? ms : 100;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	a->pget = req;
	a->pget_ack = ack;
	a->user->outstanding++;
	evtimer_del(a->idle);
	if (a->pget_timer == NULL)
		a->pget_timer = evtimer_new(simg.base, sim_events_timeout, a);
	evtimer_add(a->pget_timer, &tv);
	http_req_set_abort(req, sim_events_abort, a);
}

/* The resume answer: drop every conversation and start a fresh set. */
static void
sim_events_resume(struct sim_app *a, struct http_req *req)
{
	struct buf b;

	log_info("app %s: resume: conversations dropped", a->id);
	a->want_resume = 0;
	a->timeout_s = 0;
	sim_conv_drop_all(a, 0);
	sim_events_free_list(&a->queue);
	a->nqueue = 0;
	if (a->unacked != NULL) {
		free(a->unacked);
		a->unacked = NULL;
		a->acked++;
	}
	sim_events_make_set(a, "resume", 1);
	buf_init(&b);
	buf_addstr(&b, a->unacked);
	sim_app_touch(a);
	sim_reply(a->user, req, 200, "application/json; charset=utf-8", &b);
}

/* Answer the parked P-GET with resume now (the control API asked). */
void
sim_events_kick_resume(struct sim_app *a)
{
	struct http_req *req = a->pget;

	a->pget = NULL;
	evtimer_del(a->pget_timer);
	a->user->outstanding--;
	http_req_set_abort(req, NULL, NULL);
	sim_events_resume(a, req);
}

/* Answer resync: the first unacknowledged set is at acked+1. */
static void
sim_events_resync(struct sim_app *a, struct http_req *req, long long ack)
{
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	sim_events_links(&w, a, ack, "resync", a->acked + 1);
	jw_obj_end(&w);
	sim_reply(a->user, req, 200, "application/json; charset=utf-8", &b);
}

/* Answer GET ack=acked+1 at once if there is a set (or the empty_sender fault); 1 if done. */
static int
sim_events_answer_now(struct sim_app *a, struct http_req *req, long long ack)
{
	struct buf b;
	struct jw w;

	if (a->unacked == NULL && sim_fault_take(a->user, "empty_sender")) {
		buf_init(&b);
		jw_init(&w, &b);
		jw_obj_begin(&w);
		sim_events_links(&w, a, ack, "next", ack + 1);
		jw_key(&w, "sender");
		jw_arr_begin(&w);
		jw_arr_end(&w);
		jw_obj_end(&w);
		a->unacked = buf_detach(&b, NULL);
	}
	if (a->unacked == NULL && !TAILQ_EMPTY(&a->queue))
		sim_events_make_set(a, "next", 1);
	if (a->unacked == NULL)
		return 0;
	buf_init(&b);
	buf_addstr(&b, a->unacked);
	sim_app_touch(a);
	sim_reply(a->user, req, 200, "application/json; charset=utf-8", &b);
	return 1;
}

/* An integer query parameter, or def when absent or not a number in [min, max]. */
static long long
sim_events_param(
    struct http_req *req, const char *name, long long min, long long max, long long def)
{
	struct buf v;
	long long n = def;
	char *end;

	buf_init(&v);
	if (http_req_query_param(req, name, &v) == 0 && v.len > 0) {
		n = strtoll(v.data, &end, 10);
		if (*end != '\0' || n < min || n > max)
			n = def;
	}
	buf_free(&v);
	return n;
}

/* GET events?ack=N (timeout and priority remembered per application). */
void
sim_events_get(struct sim_app *a, struct http_req *req)
{
	long long ack = sim_events_param(req, "ack", 0, 1LL << 60, -1);
	long long prio = sim_events_param(req, "priority", 0, 1LL << 30, 0);
	long long timeout;

	a->timeout_s = sim_events_param(req, "timeout", 180, 1800, a->timeout_s);
	timeout = a->timeout_s ? a->timeout_s : simg.cfg->pget_timeout_s;
	if (a->pget != NULL && a->pget_ack == ack && prio < a->pget_priority) {
		sim_reply_error(req, 409, "Conflict", "PGetReplaced",
		    "A pending GET with a higher priority is waiting.");
		return;
	}
	if (a->pget != NULL)
		sim_events_release(a, 409, NULL); /* no gap: a P-GET was parked */
	else if (a->released_ms != 0 &&
	    util_now_ms() - a->released_ms > (uint64_t)simg.cfg->resume_after_ms)
		a->want_resume = 1;
	a->pget_priority = prio;
	if (a->want_resume) {
		sim_events_resume(a, req);
		return;
	}
	if (a->unacked != NULL && ack == a->acked + 2) {
		free(a->unacked);
		a->unacked = NULL;
		a->acked++;
	}
	if (ack != a->acked + 1) {
		sim_events_resync(a, req, ack);
		return;
	}
	if (!sim_events_answer_now(a, req, ack))
		sim_events_park(a, req, ack, timeout);
}

/* Drop the queue and answer a parked P-GET with 404 (the application is gone). */
void
sim_events_clear(struct sim_app *a)
{
	if (a->pget != NULL) {
		struct http_req *req = a->pget;

		a->pget = NULL;
		a->user->outstanding--;
		http_req_set_abort(req, NULL, NULL);
		sim_reply_error(
		    req, 404, "NotFound", "ApplicationNotFound", "The application does not exist.");
	}
	sim_events_free_list(&a->queue);
	a->nqueue = 0;
	free(a->unacked);
	a->unacked = NULL;
	if (a->pget_timer != NULL)
		event_free(a->pget_timer);
	if (a->flush != NULL)
		event_free(a->flush);
	if (a->expiry != NULL)
		event_free(a->expiry);
	a->pget_timer = a->flush = a->expiry = NULL;
}

/* Event-channel fields of the control API's application listing. */
void
sim_events_write_state(struct jw *w, struct sim_app *a)
{
	jw_kint(w, "acked", a->acked);
	jw_kbool(w, "parked", a->pget != NULL);
	if (a->pget != NULL)
		jw_kint(w, "parkedAck", a->pget_ack);
	jw_kint(w, "timeout_s", a->timeout_s ? a->timeout_s : simg.cfg->pget_timeout_s);
	jw_kint(w, "queued", a->nqueue);
	jw_kint(w, "dropped", (long long)a->dropped);
}
