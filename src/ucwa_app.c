/*
 * ucwa_app.c: an agent's UCWA application: create it (201 new, 200
 * existing), park the event channel, makeMeAvailable (Messaging; Plain
 * and Html messages, so HTML reaches the translation rules as sent), read
 * the reportMyActivity link and report activity on a timer; refusals of
 * the application are fatal for the agent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "ucwa_int.h"

static void ua_available(struct ucwa_agent *);

/* Remember who we are: the "me" resource's uri and name. */
static void
ua_app_me(struct ucwa_agent *a, const struct json *me)
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
ua_app_links(struct ucwa_agent *a, const struct json *app)
{
	const struct json *emb = json_get(app, "_embedded");
	const char *h;

	ua_link(app, "self", &h);
	if (h != NULL) {
		free(a->app);
		a->app = ua_abs(a, h);
	}
	ua_link(app, "events", &h);
	if (h != NULL && a->events_url == NULL) {
		a->events_url = ua_abs(a, h);
		a->add_params = 1;
	}
	ua_link(json_get(emb, "me"), "makeMeAvailable", &h);
	if (h != NULL) {
		free(a->mma_url);
		a->mma_url = ua_abs(a, h);
	}
	ua_link(json_get(emb, "me"), "reportMyActivity", &h);
	if (h != NULL) {
		free(a->activity_url);
		a->activity_url = ua_abs(a, h);
	}
	ua_app_me(a, json_get(emb, "me"));
	ua_link(json_get(emb, "communication"), "startMessaging", &h);
	if (h != NULL) {
		free(a->start_url);
		a->start_url = ua_abs(a, h);
	}
}

/* The application exists (201 new, 200 existing). */
static void
ua_app_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;
	struct json_doc *d;

	if (r->err != HCLIENT_OK || r->status >= 500 || r->status == 429) {
		ua_unreachable(a, "application create", r);
		return;
	}
	if (r->status == 410 || r->status == 403) {
		ua_fail(a, UCWA_FAIL_REJECTED, "application create: HTTP %d %s", r->status,
		    ua_error_subcode(r, "TooManyApplications")	     ? "TooManyApplications"
			: ua_error_subcode(r, "UserAgentNotAllowed") ? "UserAgentNotAllowed"
								     : "");
		return;
	}
	if (r->status != 201 && r->status != 200) {
		ua_fail(a, UCWA_FAIL_PROTOCOL, "application create: HTTP %d", r->status);
		return;
	}
	if ((d = ua_json(a, "application create", r)) == NULL)
		return;
	free(a->events_url);
	a->events_url = NULL;
	ua_app_links(a, json_root(d));
	json_doc_free(d);
	if (a->app == NULL || a->events_url == NULL) {
		ua_fail(a, UCWA_FAIL_PROTOCOL, "application without self or events link");
		return;
	}
	log_info("ucwa %s: application %s (%d)", a->user, a->app, r->status);
	a->retry_ms = 0;
	uchan_start(a); /* the P-GET first: incoming invitations need it */
	ua_available(a);
}

/* POST applications. */
void
ua_create_app(struct ucwa_agent *a)
{
	struct ucall *c = ucall_new(a, "POST", a->apps_url, ua_app_done);
	struct jw w;

	c->kind = "application";
	a->state = UA_APP;
	c->ctype = xstrdup("application/json");
	jw_init(&w, &c->body);
	jw_obj_begin(&w);
	jw_kstr(&w, "UserAgent", a->u->conf.user_agent ? a->u->conf.user_agent : "ucgw");
	jw_kstr(&w, "EndpointId", a->endpoint_id);
	jw_kstr(&w, "Culture", a->u->conf.culture ? a->u->conf.culture : "en-US");
	jw_obj_end(&w);
	if (ucall_start(c) != 0) {
		ucall_free(c);
		ua_fail(a, UCWA_FAIL_UNREACHABLE, "application create: cannot start a request");
	}
}

static void ua_activity_arm(struct ucwa_agent *);

/* The application after makeMeAvailable: reportMyActivity appears; tell the owner it is ready. */
static void
ua_app_get_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;
	struct json_doc *d;

	if (a->state == UA_FAILED)
		return; /* inert: neither ready nor told so */
	if (r->err == HCLIENT_OK && r->status == 200 &&
	    (d = json_parse(r->body, r->len, NULL, NULL)) != NULL) {
		ua_app_links(a, json_root(d));
		json_doc_free(d);
	}
	if (a->activity_url == NULL)
		log_warn("ucwa %s: no reportMyActivity link after makeMeAvailable", a->user);
	a->state = UA_READY;
	ua_activity_arm(a);
	if (!a->signed_in_told) {
		a->signed_in_told = 1;
		log_info("ucwa %s: signed in", a->user);
		if (a->cbs.signed_in != NULL)
			a->cbs.signed_in(a->arg);
		return;
	}
	/* every later pass here ends a time of refusals: recreated or made available again */
	log_info("ucwa %s: ready again", a->user);
	uconv_leave_behind(a); /* what the lost application may still hold */
	if (a->cbs.ready_again != NULL && !a->dying)
		a->cbs.ready_again(a->arg);
}

/* makeMeAvailable answered (204; 409 AlreadyExists is as good). */
static void
ua_available_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;
	struct ucall *g;

	if (r->err != HCLIENT_OK || r->status >= 500 || r->status == 429) {
		ua_unreachable(a, "makeMeAvailable", r);
		return;
	}
	if ((r->status < 200 || r->status >= 300) && r->status != 409) {
		ua_fail(a, UCWA_FAIL_PROTOCOL, "makeMeAvailable: HTTP %d", r->status);
		return;
	}
	g = ucall_new(a, "GET", a->app, ua_app_get_done);
	g->kind = "application";
	g->app_step = 1;
	if (ucall_start(g) != 0) {
		ucall_free(g);
		ua_fail(a, UCWA_FAIL_UNREACHABLE, "application: cannot start a request");
	}
}

/* POST makeMeAvailable: Messaging, in plain text and HTML. */
static void
ua_available(struct ucwa_agent *a)
{
	struct ucall *c;
	struct jw w;

	a->state = UA_AVAILABLE;
	if (a->mma_url == NULL) {
		ua_fail(a, UCWA_FAIL_PROTOCOL, "application without a makeMeAvailable link");
		return;
	}
	c = ucall_new(a, "POST", a->mma_url, ua_available_done);
	c->kind = "makeMeAvailable";
	c->app_step = 1;
	c->ctype = xstrdup("application/json");
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
	if (ucall_start(c) != 0) {
		ucall_free(c);
		ua_fail(a, UCWA_FAIL_UNREACHABLE, "makeMeAvailable: cannot start a request");
	}
}

/* reportMyActivity answered; 409 MakeMeAvailableRequired means do that again. */
static void
ua_activity_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;

	if (r->err == HCLIENT_OK && r->status == 409 &&
	    ua_error_subcode(r, "MakeMeAvailableRequired")) {
		ua_available(a);
		return;
	}
	if (r->err != HCLIENT_OK || r->status >= 300)
		log_warn("ucwa %s: reportMyActivity: %s %d", a->user, hclient_err_name(r->err),
		    r->status);
	ua_activity_arm(a);
}

static void
ua_activity_fire(evutil_socket_t fd, short what, void *arg)
{
	struct ucwa_agent *a = arg;
	struct ucall *c;

	if (a->activity_url == NULL || a->state != UA_READY)
		return;
	ua_enter(a);
	c = ucall_new(a, "POST", a->activity_url, ua_activity_done);
	c->kind = "reportMyActivity";
	c->app_step = 1;
	if (ucall_start(c) != 0) {
		ucall_free(c);
		ua_activity_arm(a);
	}
	ua_leave(a);
}

static void
ua_activity_arm(struct ucwa_agent *a)
{
	struct timeval tv = { a->u->conf.activity_interval_s, 0 };

	if (a->activity_timer == NULL)
		a->activity_timer = evtimer_new(a->u->base, ua_activity_fire, a);
	evtimer_add(a->activity_timer, &tv);
}
