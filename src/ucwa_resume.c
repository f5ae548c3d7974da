/*
 * ucwa_resume.c: snapshot and resume of an agent, for a cluster take-over
 * (docs/ucwa-client.md "Snapshot and resume"). The snapshot copies what a
 * new process needs out of the agent; the resume makes an agent from it
 * that GETs the stored application with the stored token instead of
 * signing in: 200 attaches (the event channel resumes at the stored
 * cursor, where the server replays what was not acknowledged), 404/410
 * recreates it (as a lost application: the stored conversations are
 * reported ended), 401 renews the token with the stored credentials and
 * tries again (ucwa.c). The top of the client's files: it calls ucwa.c
 * (the agent's life) and the files below.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jw.h"
#include "log.h"
#include "ucwa_int.h"

/*
 * What the store keeps of an agent's message history (cluster mode): a
 * take-over resumes at the cursor written in the same script as the
 * snapshot, so only what a replay of that one set may bring again is
 * needed (see docs/cluster.md, "Key schema").
 */
#define UCWA_RESUME_STORE_MARKS 16 /* change identities */
#define UCWA_RESUME_STORE_MSGS	4  /* seen and sent messages per conversation */

/* A copy of s, or (borrow) s itself. */
static char *
ucwa_resume_take(const char *s, int borrow)
{
	return borrow || s == NULL ? (char *)(uintptr_t)s : xstrdup(s);
}

/*
 * Fill s with the agent's state: copies, or (borrow) a view of the
 * agent's own strings without the cursor, the endpointId, the token URL,
 * the token's expiry and the secrets (what the store writes:
 * ucwa_resume_save, the store keeping those in fields of their own); the last
 * max_marks marks and max_msgs messages per conversation. 0, or -1 when
 * there is nothing to resume.
 */
static int
ucwa_resume_fill(const struct ucwa_agent *a, struct ucwa_saved *s, int borrow, size_t max_marks,
    unsigned max_msgs)
{
	memset(s, 0, sizeof(*s));
	s->user = ucwa_resume_take(a->user, borrow);
	s->token_expires = borrow ? 0 : a->token_expires;
	s->user_url = ucwa_resume_take(a->user_url, borrow);
	s->apps_url = ucwa_resume_take(a->apps_url, borrow);
	s->app = ucwa_resume_take(a->app, borrow);
	if (!borrow) {
		s->password = xstrdup(a->password);
		s->token = ucwa_resume_take(a->token, 0);
		s->endpoint_id = xstrdup(a->endpoint_id);
		s->token_url = ucwa_resume_take(a->token_url, 0);
		/* the set being applied is fetched again (its delivered changes dropped), else
		 * the next */
		s->events = ucwa_resume_take(a->chan_set != NULL ? a->chan_set : a->events_url, 0);
		s->events_params = a->chan_set == NULL && a->add_params;
	}
	s->mma_url = ucwa_resume_take(a->mma_url, borrow);
	s->activity_url = ucwa_resume_take(a->activity_url, borrow);
	s->start_url = ucwa_resume_take(a->start_url, borrow);
	s->me_uri = ucwa_resume_take(a->me_uri, borrow);
	s->me_name = ucwa_resume_take(a->me_name, borrow);
	s->nmarks = a->nmarks < max_marks ? a->nmarks : max_marks;
	for (size_t i = 0; i < s->nmarks; i++)
		s->marks[i] = a->marks[(a->nmarks - s->nmarks + i) % UCWA_SAVED_MARKS];
	ucwa_conv_save(a, s, borrow, max_msgs);
	if (a->state == UA_FAILED || a->app == NULL || a->token == NULL ||
	    (a->chan_set == NULL && a->events_url == NULL))
		return -1;
	return 0;
}

/* The agent's state now (see ucwa.h). */
int
ucwa_agent_snapshot(const struct ucwa_agent *a, struct ucwa_saved *s)
{
	return ucwa_resume_fill(a, s, 0, UCWA_SAVED_MARKS, UINT_MAX);
}

/*
 * Write the agent's snapshot to the store (cluster mode), from a view of
 * the agent (nothing copied): secrets left out, and what the store keeps
 * in fields of its own (the cursor, the endpointId, the token URL and
 * expiry: a take-over sets them from those), so that the snapshot changes only when
 * the client's state does, not with every cursor (an unchanged value is
 * not written again).
 */
void
ucwa_resume_save(struct ucwa_agent *a)
{
	struct ucwa_saved s;
	struct buf b;
	struct jw w;
	int v = store_write_version(a->u->store); /* cluster.write_version */
	uint64_t h;

	if (ucwa_resume_fill(a, &s, 1, UCWA_RESUME_STORE_MARKS, UCWA_RESUME_STORE_MSGS) == 0) {
		h = ucwa_saved_head_hash(&s, 0, v);
		if (a->saved_jw.b == NULL || h != a->saved_hash) { /* the head changed */
			buf_reset(&a->saved_head);
			jw_init(&a->saved_jw, &a->saved_head);
			ucwa_saved_write_head(&a->saved_jw, &s, 0, v);
			a->saved_hash = h;
		}
		buf_init(&b);
		buf_reserve(&b, a->saved_len + 64); /* the last one's size: grown once at most */
		buf_add(&b, a->saved_head.data, a->saved_head.len);
		w = a->saved_jw;
		w.b = &b;
		ucwa_saved_write_tail(&w, &s);
		a->saved_len = b.len;
		store_agent_ucwa(a->u->store, a->user, b.data, b.len, a->saved_head.len);
		buf_free(&b);
	}
	ucwa_saved_free_view(&s);
}

/* What a resumed agent did with its stored application. */
enum ucwa_resumed
ucwa_agent_resumed(const struct ucwa_agent *a)
{
	if (!a->resumed || (!a->resume_attached && !a->signed_in_told))
		return UCWA_RESUME_NONE;
	return a->resume_attached ? UCWA_RESUME_ATTACHED : UCWA_RESUME_RECREATED;
}

/* Free without signing out: another process resumes the application (see ucwa.h). */
void
ucwa_agent_handover(struct ucwa_agent *a)
{
	if (a == NULL || a->dying)
		return;
	a->keep_app = 1;
	log_info("ucwa %s: handed over: application %s left to its next owner", a->user,
	    a->app ? a->app : "-");
	ucwa_agent_free(a);
}

/* The stored application answered: attach to it, or (gone) recreate it. */
static void
ucwa_resume_app_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;
	struct json_doc *d;

	if (r->err != HCLIENT_OK || r->status >= 500 || r->status == 429) {
		ucwa_state_unreachable(a, "application (resume)", r);
		return;
	}
	if (r->status == 404 || r->status == 410) {
		/* (ApplicationNotFound and InactiveApplicationExpired were handled as a lost
		 * application by ucwa.c; this is any other 404/410) */
		log_warn("ucwa %s: stored application gone (HTTP %d): recreating it", a->user,
		    r->status);
		free(a->app);
		a->app = NULL;
		ucwa_conv_end_all(a, "application gone (resume)");
		a->app_gen++;
		if (!a->dying && a->state != UA_FAILED)
			ucwa_app_create(a);
		return;
	}
	if (r->status != 200) {
		ucwa_state_fail(a, UCWA_FAIL_PROTOCOL, "application (resume): HTTP %d", r->status);
		return;
	}
	if ((d = ucwa_state_json(a, "application (resume)", r)) == NULL)
		return;
	a->resume_attached = 1;
	ucwa_app_attach(a, json_root(d));
	json_doc_free(d);
}

/* GET the stored application with the stored token. */
static void
ucwa_resume_app_get(struct ucwa_agent *a)
{
	struct ucall *c = ucwa_call_new(a, "GET", a->app, ucwa_resume_app_done);

	c->kind = "application";
	c->app_step = 1; /* a lost application (ucwa.c) skips this callback */
	ucwa_state_set(a, UA_APP, "GET the stored application (resume)");
	if (ucwa_call_start(c) != 0) {
		ucwa_call_free(c);
		ucwa_state_fail(
		    a, UCWA_FAIL_UNREACHABLE, "application (resume): cannot start a request");
	}
}

/* The first step, from the loop; later retries of sign-in steps go on as usual. */
static void
ucwa_resume_fire(evutil_socket_t fd, short what, void *arg)
{
	struct ucwa_agent *a = arg;

	if (a->state == UA_FAILED || a->dying)
		return;
	if (a->app != NULL && a->events_url != NULL && a->token != NULL && a->app_gen == 0 &&
	    !a->resume_attached && a->state == UA_DISCOVER)
		ucwa_resume_app_get(a);
	else
		ucwa_auth_retry_fire(fd, what, arg);
}

/* Replace a string of the agent by a copy of v, when v is set. */
static void
ucwa_resume_set(char **dst, const char *v)
{
	if (v == NULL)
		return;
	free(*dst);
	*dst = xstrdup(v);
}

/* An agent carrying on from a snapshot (see ucwa.h). */
struct ucwa_agent *
ucwa_agent_resume(struct ucwa *u, const struct ucwa_saved *s, const struct ucwa_cbs *cbs, void *arg)
{
	struct ucwa_agent *a =
	    ucwa_agent_new(u, s->user ? s->user : "", s->password ? s->password : "", cbs, arg);
	struct timeval now = { 0, 0 }, tv;
	long long left;

	evtimer_del(a->retry_timer); /* not signing in: resuming */
	event_assign(a->retry_timer, u->base, -1, 0, ucwa_resume_fire, a);
	a->resumed = 1;
	if (s->endpoint_id != NULL)
		snprintf(a->endpoint_id, sizeof(a->endpoint_id), "%s", s->endpoint_id);
	ucwa_resume_set(&a->user_url, s->user_url);
	ucwa_resume_set(&a->token_url, s->token_url);
	ucwa_resume_set(&a->apps_url, s->apps_url);
	if (s->app != NULL && s->events != NULL && s->token != NULL) {
		a->token = xstrdup(s->token);
		a->token_gen = 1;
		a->token_expires = s->token_expires;
		a->app = ucwa_call_abs(a, s->app);
		a->events_url = ucwa_call_abs(a, s->events);
		a->add_params = s->events_params;
		ucwa_resume_set(&a->mma_url, s->mma_url);
		ucwa_resume_set(&a->activity_url, s->activity_url);
		ucwa_resume_set(&a->start_url, s->start_url);
		ucwa_resume_set(&a->me_uri, s->me_uri);
		ucwa_resume_set(&a->me_name, s->me_name);
		for (size_t i = 0; i < s->nmarks && i < UCWA_SAVED_MARKS; i++)
			a->marks[a->nmarks++] = s->marks[i];
		ucwa_conv_restore(a, s);
		a->replay = 1;
		/* renew as a signed-in agent would: margin before the stored expiry */
		left = s->token_expires - (long long)(util_wall_ms() / 1000) -
		    (long long)u->conf.token_margin_s;
		tv.tv_sec = s->token_expires == 0 ? 60 : left > 0 ? left : 0;
		tv.tv_usec = 0;
		evtimer_add(a->token_timer, &tv);
		log_info("ucwa %s: resuming application %s at %s", a->user, a->app, a->events_url);
	} else
		log_info("ucwa %s: nothing to resume: signing in", a->user);
	evtimer_add(a->retry_timer, &now);
	return a;
}
