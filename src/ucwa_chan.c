/*
 * ucwa_chan.c: an agent's event channel (the P-GET loop and its cursor).
 * Promises: exactly one P-GET parked per application, re-parked (next,
 * resync or resume) before a response is processed; after a drop, a
 * timeout or 409 PGetReplaced the SAME URL is fetched again after a
 * back-off with jitter. Changes go to ucwa_conv.c in server order;
 * unusable events are counted and their conversations read again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "metrics.h"
#include "ucwa_int.h"

static void ucwa_chan_get(struct ucwa_agent *);

/* The back-off before a re-GET is over. */
static void
ucwa_chan_fire(evutil_socket_t fd, short what, void *arg)
{
	struct ucwa_agent *a = arg;

	if (a->pget == NULL && a->state != UA_FAILED && a->app != NULL && !a->dying && !a->held)
		ucwa_chan_get(a);
}

/* GET the same URL again after a back-off with jitter. */
static void
ucwa_chan_retry(struct ucwa_agent *a, const char *why)
{
	unsigned ms = ucwa_call_backoff(
	    &a->pget_backoff, a->u->conf.backoff_min_ms, a->u->conf.backoff_max_ms);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	log_warn("ucwa %s: event channel: %s; same URL again in %u ms", a->user, why, ms);
	metrics_inc(M_UCWA_RECONNECTS, NULL);
	if (a->pget_timer == NULL)
		a->pget_timer = evtimer_new(a->u->base, ucwa_chan_fire, a);
	evtimer_add(a->pget_timer, &tv);
}

static void ucwa_chan_bad(struct ucwa_agent *, const struct ucwa_events *);

/* The P-GET is not held (any more). */
static void
ucwa_chan_unhold(struct ucwa_agent *a)
{
	a->held = 0;
}

/*
 * Cluster mode: the cursor of the set just read is not in Redis. Park the
 * next P-GET (acknowledging the set upstream) only if the hold hook lets
 * it go on from memory; else hold it, so that UCWA replays the set to the
 * node that carries the agent on (ucwa_chan_release tries again).
 */
static void
ucwa_chan_unstored(struct ucwa_agent *a)
{
	if (a->u->hold == NULL || !a->u->hold(a->u->hold_arg)) {
		ucwa_chan_get(a);
		return;
	}
	if (!a->held)
		log_warn("ucwa %s: event channel: cursor not stored: held, the last set not "
			 "acknowledged",
		    a->user);
	a->held = 1;
}

/* Cluster mode: a cursor write answered; the last one re-parks the P-GET (or holds it). */
static void
ucwa_chan_stored(void *arg, enum store_result r, const char *why)
{
	struct ucwa_agent *a = arg;

	if (r != STORE_OK)
		log_debug("ucwa %s: event channel: cursor not stored: %s", a->user, why);
	if (a->cursor_writes > 0)
		a->cursor_writes--;
	if (a->cursor_writes > 0 || !a->cursor_get || a->dying)
		return;
	a->cursor_get = 0;
	if (a->state == UA_FAILED || a->app == NULL || a->pget != NULL)
		return;
	if (r == STORE_OK || r == STORE_FENCED)
		ucwa_chan_get(a); /* fenced: the lease's holder reads on; 409 settles it */
	else
		ucwa_chan_unstored(a);
}

/* A held event channel: its cursor stored again, or on from memory if the hook lets it. */
void
ucwa_chan_release(struct ucwa_agent *a)
{
	struct ucwa *u = a->u;

	if (!a->held)
		return;
	if (a->dying || a->state == UA_FAILED || a->app == NULL || a->pget != NULL) {
		ucwa_chan_unhold(a);
		return;
	}
	if (store_waitable(u->store)) {
		ucwa_chan_unhold(a);
		log_info("ucwa %s: event channel: storing the cursor again", a->user);
		if (store_agent_cursor(u->store, a->user, NULL, ucwa_chan_stored, a)) {
			a->cursor_writes++;
			a->cursor_get = 1;
		} else
			ucwa_chan_unstored(a);
	} else if (u->hold == NULL || !u->hold(u->hold_arg)) {
		ucwa_chan_unhold(a);
		log_info("ucwa %s: event channel: going on from memory", a->user);
		ucwa_chan_get(a);
	}
}

/* A P-GET came back. */
static void
ucwa_chan_done(struct ucall *c, const struct hclient_resp *r)
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
		ucwa_chan_retry(a, why);
		return;
	}
	if (r->status != 200) {
		snprintf(why, sizeof(why), "HTTP %d%s", r->status,
		    r->status == 409 && ucwa_call_error_is(r, "PGetReplaced") ? " PGetReplaced"
									      : "");
		ucwa_chan_retry(a, why);
		return;
	}
	if (ucwa_events_parse(r->body, r->len, &evs, err, sizeof(err)) != 0) {
		ucwa_chan_retry(a, err);
		return;
	}
	link = evs.next ? evs.next : evs.resync ? evs.resync : evs.resume;
	free(a->events_url);
	a->events_url = ucwa_call_abs(a, link);
	a->add_params = evs.resume != NULL;
	a->pget_backoff = 0;
	if (evs.resync != NULL)
		log_warn("ucwa %s: event channel: resync", a->user);
	/*
	 * Parked again before anything is processed; in cluster mode only once
	 * the new cursor and what this response makes (written in the same
	 * loop turn, so in the same script) are in Redis: the GET acknowledges
	 * this response upstream.
	 */
	if (store_agent_cursor(a->u->store, a->user, a->events_url, ucwa_chan_stored, a)) {
		a->cursor_writes++;
		a->cursor_get = 1;
	} else if (a->u->store != NULL)
		ucwa_chan_unstored(a);
	else
		ucwa_chan_get(a);
	if (evs.resume != NULL) {
		log_warn("ucwa %s: event channel: resume: every conversation is gone", a->user);
		ucwa_conv_end_all(a, "resume");
	}
	if (a->cbs.events != NULL && !a->dying)
		a->cbs.events(r->body, r->len, 1, a->arg);
	a->chan_set = c->url; /* a snapshot meanwhile resumes at this set (ucwa_resume.c) */
	for (size_t i = 0; i < evs.n && !a->dying && gen == a->app_gen && a->state != UA_FAILED;
	     i++)
		ucwa_conv_apply(a, &evs, &evs.v[i]);
	if (evs.nbad_total > 0 && !a->dying && gen == a->app_gen && a->state != UA_FAILED)
		ucwa_chan_bad(a, &evs);
	if (!a->dying && gen == a->app_gen && a->state != UA_FAILED)
		ucwa_conv_gone_settle(a);
	a->chan_set = NULL;
	if (evs.resync == NULL)
		a->replay = 0; /* a resumed agent's replayed set is applied */
	if (a->u->save != NULL && !a->dying && a->state != UA_FAILED)
		a->u->save(a); /* in the cursor's script: the flush runs on a later turn */
	if (a->cbs.events != NULL && !a->dying)
		a->cbs.events(NULL, 0, 0, a->arg);
	ucwa_events_free(&evs);
}

/* Park the P-GET on the current events URL. */
static void
ucwa_chan_get(struct ucwa_agent *a)
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
	c = ucwa_call_new(a, "GET", b.data, ucwa_chan_done);
	c->kind = "event_channel";
	buf_free(&b);
	c->flags = HCLIENT_LONGPOLL;
	c->timeout_ms = a->u->conf.pget_read_timeout_ms;
	if (ucwa_call_start(c) != 0) {
		ucwa_call_free(c);
		ucwa_chan_retry(a, "too many requests outstanding");
		return;
	}
	a->pget = c;
}

/* Start the channel of a (new) application. */
void
ucwa_chan_start(struct ucwa_agent *a)
{
	ucwa_chan_stop(a);
	a->pget_backoff = 0;
	ucwa_chan_get(a);
}

/* No P-GET, no pending re-GET. */
void
ucwa_chan_stop(struct ucwa_agent *a)
{
	if (a->pget != NULL)
		ucwa_call_free(a->pget);
	a->pget = NULL;
	a->cursor_get = 0;
	ucwa_chan_unhold(a);
	if (a->pget_timer != NULL) {
		event_free(a->pget_timer);
		a->pget_timer = NULL;
	}
}

/*
 * Unusable events of a response: each logged once with its sender and
 * href, and counted; the conversation one was about (all live ones when it
 * cannot be told) is read again from the server, so that a skipped state
 * change is not lost.
 */
static void
ucwa_chan_bad(struct ucwa_agent *a, const struct ucwa_events *evs)
{
	int all = 0;

	a->u->bad_events += evs->nbad_total;
	metrics_add(M_UCWA_BAD_EVENTS, NULL, (double)evs->nbad_total);
	for (size_t i = 0; i < evs->nbad; i++) {
		const struct ucwa_bad *b = &evs->bad[i];

		log_warn("ucwa %s: event channel: unusable %s event skipped (%s): sender %s %s, "
			 "href %s (%llu so far)",
		    a->user, b->kind >= 0 ? ucwa_kind_name((enum ucwa_kind)b->kind) : "unknown",
		    b->why, b->sender_rel ? b->sender_rel : "-",
		    b->sender_href ? b->sender_href : "-", b->href ? b->href : "-",
		    a->u->bad_events);
		if (b->conversation != NULL && ucwa_conv_resync_href(a, b->conversation) == 0)
			continue;
		if (b->kind >= 0)
			all = 1;
	}
	if (evs->nbad_total > evs->nbad) {
		log_warn("ucwa %s: event channel: %zu more unusable events skipped", a->user,
		    evs->nbad_total - evs->nbad);
		all = 1;
	}
	if (all)
		ucwa_conv_resync_all(a);
}
