/*
 * ucwa_app.c: an agent's UCWA application: create it (201 new, 200
 * existing), park the event channel, makeMeAvailable (Messaging; Plain
 * and Html messages, so HTML reaches the translation rules as sent; not
 * when it is available already), read the reportMyActivity link and
 * report activity on a timer; an application given back (200) has the
 * conversations it still holds left before the agent is ready; refusals
 * of the application are fatal for the agent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "ucwa_int.h"

static void ucwa_app_available(struct ucwa_agent *);

/* Remember who we are: the "me" resource's uri and name. */
static void
ucwa_app_me(struct ucwa_agent *a, const struct json *me)
{
	const char *uri = json_get_str(me, "uri"), *name = json_get_str(me, "name");

	if (uri != NULL) {
		free(a->me_uri);
		a->me_uri = xstrdup(uri);
	}
	if (name != NULL) {
		free(a->me_name);
		a->me_name = xstrdup(name);
	}
}

/* Take the links the agent needs from an application resource. */
static void
ucwa_app_links(struct ucwa_agent *a, const struct json *app)
{
	const struct json *emb = json_get(app, "_embedded");
	const char *h;

	ucwa_call_link(app, "self", &h);
	if (h != NULL) {
		free(a->app);
		a->app = ucwa_call_abs(a, h);
	}
	ucwa_call_link(app, "events", &h);
	if (h != NULL && a->events_url == NULL) {
		a->events_url = ucwa_call_abs(a, h);
		a->add_params = 1;
	}
	ucwa_call_link(json_get(emb, "me"), "makeMeAvailable", &h);
	if (h != NULL) {
		free(a->mma_url);
		a->mma_url = ucwa_call_abs(a, h);
	}
	ucwa_call_link(json_get(emb, "me"), "reportMyActivity", &h);
	if (h != NULL) {
		free(a->activity_url);
		a->activity_url = ucwa_call_abs(a, h);
	}
	ucwa_app_me(a, json_get(emb, "me"));
	ucwa_call_link(json_get(emb, "communication"), "startMessaging", &h);
	if (h != NULL) {
		free(a->start_url);
		a->start_url = ucwa_call_abs(a, h);
	}
	ucwa_call_link(json_get(emb, "communication"), "conversations", &h);
	if (h != NULL) {
		free(a->convs_url);
		a->convs_url = ucwa_call_abs(a, h);
	}
}

/* The application exists (201 new, 200 existing). */
static void
ucwa_app_created(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;
	struct json_doc *d;

	if (r->err != HCLIENT_OK || r->status >= 500 || r->status == 429) {
		ucwa_state_unreachable(a, "application create", r);
		return;
	}
	if (r->status == 410 || r->status == 403) {
		ucwa_state_fail(a, UCWA_FAIL_REJECTED, "application create: HTTP %d %s", r->status,
		    ucwa_call_error_is(r, "TooManyApplications")       ? "TooManyApplications"
			: ucwa_call_error_is(r, "UserAgentNotAllowed") ? "UserAgentNotAllowed"
								       : "");
		return;
	}
	if (r->status != 201 && r->status != 200) {
		ucwa_state_fail(a, UCWA_FAIL_PROTOCOL, "application create: HTTP %d", r->status);
		return;
	}
	if ((d = ucwa_state_json(a, "application create", r)) == NULL)
		return;
	free(a->events_url);
	a->events_url = NULL;
	free(a->mma_url); /* this application's, or none when it is available already */
	a->mma_url = NULL;
	free(a->activity_url);
	a->activity_url = NULL;
	free(a->convs_url); /* never a lost application's (its 404 would condemn this one) */
	a->convs_url = NULL;
	ucwa_app_links(a, json_root(d));
	json_doc_free(d);
	if (a->app == NULL || a->events_url == NULL) {
		ucwa_state_fail(a, UCWA_FAIL_PROTOCOL, "application without self or events link");
		return;
	}
	store_agent_app(a->u->store, a->user, a->app, a->endpoint_id);
	store_agent_cursor(a->u->store, a->user, a->events_url, NULL, NULL);
	log_info("ucwa %s: application %s (%d)", a->user, a->app, r->status);
	a->app_reused = r->status == 200; /* left behind: see ucwa_app_sweep */
	a->retry_ms = 0;
	ucwa_chan_start(a); /* the P-GET first: incoming invitations need it */
	ucwa_app_available(a);
}

/* POST applications. */
void
ucwa_app_create(struct ucwa_agent *a)
{
	struct ucall *c = ucwa_call_new(a, "POST", a->apps_url, ucwa_app_created);
	struct jw w;

	c->kind = "application";
	ucwa_state_set(a, UA_APP, "POST applications");
	c->ctype = "application/json";
	jw_init(&w, &c->body);
	jw_obj_begin(&w);
	jw_kstr(&w, "UserAgent", a->u->conf.user_agent ? a->u->conf.user_agent : "ucgw");
	jw_kstr(&w, "EndpointId", a->endpoint_id);
	jw_kstr(&w, "Culture", a->u->conf.culture ? a->u->conf.culture : "en-US");
	jw_obj_end(&w);
	if (ucwa_call_start(c) != 0) {
		ucwa_call_free(c);
		ucwa_state_fail(
		    a, UCWA_FAIL_UNREACHABLE, "application create: cannot start a request");
	}
}

static void ucwa_app_activity_arm(struct ucwa_agent *);

/* Ready: report activity from now on, and tell the owner. */
static void
ucwa_app_ready(struct ucwa_agent *a)
{
	if (a->activity_url == NULL)
		log_warn("ucwa %s: no reportMyActivity link after makeMeAvailable", a->user);
	ucwa_state_set(a, UA_READY, "application read after makeMeAvailable");
	ucwa_app_activity_arm(a);
	if (!a->signed_in_told) {
		a->signed_in_told = 1;
		log_info("ucwa %s: signed in", a->user);
		if (a->cbs.signed_in != NULL)
			a->cbs.signed_in(a->arg);
		return;
	}
	/* every later pass here ends a time of refusals: recreated or made available again */
	log_info("ucwa %s: ready again", a->user);
	ucwa_conv_leave_behind(a); /* what the lost application may still hold */
	if (a->cbs.ready_again != NULL && !a->dying)
		a->cbs.ready_again(a->arg);
}

/* Push each conversation href of a conversations resource (embedded or linked). */
static void
ucwa_app_sweep_list(struct ucwa_agent *a, const struct json *list)
{
	const struct json *emb = json_get(json_get(list, "_embedded"), "conversation");
	const struct json *lnk = json_get(json_get(list, "_links"), "conversation");
	const char *h;

	if (emb != NULL && emb->type == JSON_OBJECT) {
		ucwa_call_link(emb, "self", &h);
		if (h != NULL)
			ucwa_conv_leave_found(a, h);
	}
	for (size_t i = 0; emb != NULL && emb->type == JSON_ARRAY && i < emb->u.arr.n; i++) {
		ucwa_call_link(emb->u.arr.v[i], "self", &h);
		if (h != NULL)
			ucwa_conv_leave_found(a, h);
	}
	if (lnk != NULL && lnk->type == JSON_OBJECT && (h = json_get_str(lnk, "href")) != NULL)
		ucwa_conv_leave_found(a, h);
	for (size_t i = 0; lnk != NULL && lnk->type == JSON_ARRAY && i < lnk->u.arr.n; i++)
		if ((h = json_get_str(lnk->u.arr.v[i], "href")) != NULL)
			ucwa_conv_leave_found(a, h);
}

/* The conversations of the application given back: leave each, then be ready. */
static void
ucwa_app_swept(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;
	struct json_doc *d = NULL;

	if (a->state == UA_FAILED)
		return;
	if (r->err != HCLIENT_OK || r->status != 200 ||
	    (d = json_parse(r->body, r->len, NULL, NULL)) == NULL)
		log_warn("ucwa %s: conversations of the application given back: %s %d; "
			 "not swept",
		    a->user, hclient_err_name(r->err), r->status);
	else
		ucwa_app_sweep_list(a, json_root(d));
	json_doc_free(d);
	ucwa_app_ready(a);
}

/*
 * The server gave back an application (200: the same EndpointId), maybe
 * with conversations a previous run (or this one, before it was lost)
 * left Connected: no desktop has a session for them, so the remote's
 * messages would vanish. Before the agent is ready (no command of ours
 * can have started one yet), GET the conversations and leave each.
 */
static void
ucwa_app_sweep(struct ucwa_agent *a)
{
	struct ucall *c = ucwa_call_new(a, "GET", a->convs_url, ucwa_app_swept);

	c->kind = "application";
	c->app_step = 1;
	if (ucwa_call_start(c) != 0) {
		ucwa_call_free(c);
		log_warn("ucwa %s: conversations of the application given back: cannot start a "
			 "request; not swept",
		    a->user);
		ucwa_app_ready(a);
	}
}

/* The application after makeMeAvailable: reportMyActivity appears; sweep, then ready. */
static void
ucwa_app_get_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;
	struct json_doc *d;

	if (a->state == UA_FAILED)
		return; /* inert: neither ready nor told so */
	if (r->err == HCLIENT_OK && r->status == 200 &&
	    (d = json_parse(r->body, r->len, NULL, NULL)) != NULL) {
		ucwa_app_links(a, json_root(d));
		json_doc_free(d);
	}
	if (a->app_reused && a->convs_url != NULL) {
		a->app_reused = 0;
		ucwa_app_sweep(a);
		return;
	}
	ucwa_app_ready(a);
}

/* GET the application (its links after makeMeAvailable). */
static void
ucwa_app_read(struct ucwa_agent *a)
{
	struct ucall *g = ucwa_call_new(a, "GET", a->app, ucwa_app_get_done);

	g->kind = "application";
	g->app_step = 1;
	if (ucwa_call_start(g) != 0) {
		ucwa_call_free(g);
		ucwa_state_fail(a, UCWA_FAIL_UNREACHABLE, "application: cannot start a request");
	}
}

/* makeMeAvailable answered (204; 409 AlreadyExists is as good). */
static void
ucwa_app_available_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;

	if (r->err != HCLIENT_OK || r->status >= 500 || r->status == 429) {
		ucwa_state_unreachable(a, "makeMeAvailable", r);
		return;
	}
	if ((r->status < 200 || r->status >= 300) && r->status != 409) {
		ucwa_state_fail(a, UCWA_FAIL_PROTOCOL, "makeMeAvailable: HTTP %d", r->status);
		return;
	}
	ucwa_app_read(a);
}

/* POST makeMeAvailable: Messaging, in plain text and HTML. */
static void
ucwa_app_available(struct ucwa_agent *a)
{
	struct ucall *c;
	struct jw w;

	ucwa_state_set(a, UA_AVAILABLE, "POST makeMeAvailable");
	if (a->mma_url == NULL && a->activity_url != NULL) {
		/* available already (an application given back): the me resource
		 * offers reportMyActivity instead (sample 11) */
		log_info("ucwa %s: application available already", a->user);
		ucwa_app_read(a);
		return;
	}
	if (a->mma_url == NULL) {
		ucwa_state_fail(
		    a, UCWA_FAIL_PROTOCOL, "application without a makeMeAvailable link");
		return;
	}
	c = ucwa_call_new(a, "POST", a->mma_url, ucwa_app_available_done);
	c->kind = "makeMeAvailable";
	c->app_step = 1;
	c->ctype = "application/json";
	jw_init(&w, &c->body);
	jw_obj_begin(&w);
	jw_key(&w, "SupportedModalities");
	jw_arr_begin(&w);
	jw_str(&w, "Messaging");
	jw_arr_end(&w);
	jw_key(&w, "SupportedMessageFormats");
	jw_arr_begin(&w);
	jw_str(&w, "Plain");
	jw_str(&w, "Html");
	jw_arr_end(&w);
	jw_obj_end(&w);
	if (ucwa_call_start(c) != 0) {
		ucwa_call_free(c);
		ucwa_state_fail(
		    a, UCWA_FAIL_UNREACHABLE, "makeMeAvailable: cannot start a request");
	}
}

/* reportMyActivity answered; 409 MakeMeAvailableRequired means do that again. */
static void
ucwa_app_activity_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;

	if (r->err == HCLIENT_OK && r->status == 409 &&
	    ucwa_call_error_is(r, "MakeMeAvailableRequired")) {
		ucwa_app_available(a);
		return;
	}
	if (r->err != HCLIENT_OK || r->status >= 300)
		log_warn("ucwa %s: reportMyActivity: %s %d", a->user, hclient_err_name(r->err),
		    r->status);
	ucwa_app_activity_arm(a);
}

/* The activity timer: reportMyActivity, when ready. */
static void
ucwa_app_activity_fire(evutil_socket_t fd, short what, void *arg)
{
	struct ucwa_agent *a = arg;
	struct ucall *c;

	if (a->activity_url == NULL || a->state != UA_READY || a->dying)
		return;
	c = ucwa_call_new(a, "POST", a->activity_url, ucwa_app_activity_done);
	c->kind = "reportMyActivity";
	c->app_step = 1;
	if (ucwa_call_start(c) != 0) {
		ucwa_call_free(c);
		ucwa_app_activity_arm(a);
	}
}

/* Report activity again after the configured interval. */
static void
ucwa_app_activity_arm(struct ucwa_agent *a)
{
	struct timeval tv = { a->u->conf.activity_interval_s, 0 };

	if (a->activity_timer == NULL)
		a->activity_timer = evtimer_new(a->u->base, ucwa_app_activity_fire, a);
	evtimer_add(a->activity_timer, &tv);
}

/* Resume: the stored application answered; carry on with it (see ucwa_int.h). */
void
ucwa_app_attach(struct ucwa_agent *a, const struct json *app)
{
	ucwa_app_links(a, app); /* the stored cursor stays: events_url is set */
	if (a->app == NULL || a->events_url == NULL) {
		ucwa_state_fail(a, UCWA_FAIL_PROTOCOL, "application without self or events link");
		return;
	}
	log_info("ucwa %s: application %s attached again (resume)", a->user, a->app);
	a->retry_ms = 0;
	ucwa_chan_start(a); /* at the stored cursor: the server replays what is unacknowledged */
	ucwa_app_available(a);
}
