/*
 * ucwa.c: the top of the UCWA client: the context, agents' life (create
 * with a stable EndpointId, sign-out DELETE, deferred free through the
 * loop's reaper) and the response of every upstream call: a call is
 * retried once after a token renewal on 401/403, and watched for a lost
 * (404 ApplicationNotFound, 410 InactiveApplicationExpired: recreate) or
 * refused (410 TooManyApplications, UserAgentNotAllowed: fatal)
 * application. Below it: sign-in (ucwa_auth.c),
 * the application (ucwa_app.c), the agent's state (ucwa_state.c), the event
 * channel (ucwa_chan.c), conversations and commands (ucwa_conv.c), calls
 * and helpers (ucwa_call.c). Passwords and tokens are never logged.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "json.h"
#include "log.h"
#include "metrics.h"
#include "reap.h"
#include "ucwa_int.h"

static void ucwa_response(const struct hclient_resp *, void *);

/* ---- context ---- */

/* A client context: the HTTP client and a copy of the configuration. */
struct ucwa *
ucwa_new(struct event_base *base, const struct ucwa_conf *conf, char **cause)
{
	struct ucwa *u = xcalloc(1, sizeof(*u));
	struct hclient_opts ho;
	const char **s[] = { &u->conf.discovery_url, &u->conf.applications_url, &u->conf.ca_file,
		&u->conf.user_agent, &u->conf.culture };

	if ((conf->discovery_url == NULL) == (conf->applications_url == NULL)) {
		xasprintf(cause,
		    "UCWA: set one of upstream.discovery_url and "
		    "upstream.applications_url");
		free(u);
		return NULL;
	}
	u->base = base;
	u->reap = reap_hold(base);
	u->conf = *conf;
	for (size_t i = 0; i < nitems(s); i++) {
		u->strs[i] = *s[i] ? xstrdup(*s[i]) : NULL;
		*s[i] = u->strs[i];
	}
	if (conf->endpoint_key != NULL && conf->endpoint_key_len > 0) {
		u->endpoint_key_len = conf->endpoint_key_len;
		u->endpoint_key = xmalloc(u->endpoint_key_len);
		memcpy(u->endpoint_key, conf->endpoint_key, u->endpoint_key_len);
	} else {
		const char *url =
		    u->conf.applications_url ? u->conf.applications_url : u->conf.discovery_url;

		u->endpoint_key_len = strlen(url);
		u->endpoint_key = (unsigned char *)xstrdup(url);
	}
	u->conf.endpoint_key = NULL; /* the copy above is the one used */
	u->conf.endpoint_key_len = 0;
	memset(&ho, 0, sizeof(ho));
	ho.ca_file = u->conf.ca_file;
	ho.verify = u->conf.verify;
	ho.user_agent = u->conf.user_agent;
	ho.connect_timeout_ms = u->conf.connect_timeout_ms;
	ho.max_body = 4 << 20;
	ho.max_header_bytes = 65536;
	ho.max_idle_per_origin = u->conf.max_idle_connections ? u->conf.max_idle_connections : 64;
	ho.idle_timeout_ms = 60000;
	if ((u->hc = hclient_new(base, &ho, cause)) == NULL) {
		ucwa_free(u);
		return NULL;
	}
	u->signout = hclient_owner_new(u->hc, 10000);
	u->respond = ucwa_response;
	return u;
}

/* Free the context (every agent must be freed first). */
void
ucwa_free(struct ucwa *u)
{
	if (u == NULL)
		return;
	if (u->shutdown_timer != NULL)
		event_free(u->shutdown_timer);
	reap_now(u->reap); /* freed agents that are still condemned */
	reap_release(u->reap);
	hclient_free(u->hc); /* also the sign-out owner */
	for (size_t i = 0; i < nitems(u->strs); i++)
		free(u->strs[i]);
	if (u->endpoint_key != NULL)
		OPENSSL_cleanse(u->endpoint_key, u->endpoint_key_len);
	free(u->endpoint_key);
	free(u);
}

/* The EndpointId of user's application under key (see ucwa.h). */
void
ucwa_endpoint_id(
    const void *key, size_t keylen, const char *user, char out[UCWA_ENDPOINT_ID_LEN + 1])
{
	static const char label[] = "ucgw endpointId v1"; /* with its NUL: a separator */
	unsigned char sub[32], mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	char *low = xstrdup(user);

	for (char *p = low; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	/* a key of its own: the cluster key also seals secrets, never reused as is */
	util_sha256(label, sizeof(label), key, keylen, sub);
	if (HMAC(EVP_sha256(), sub, sizeof(sub), (const unsigned char *)low, strlen(low), mac,
		&maclen) == NULL ||
	    maclen < 16)
		abort();
	OPENSSL_cleanse(sub, sizeof(sub));
	free(low);
	mac[6] = (unsigned char)((mac[6] & 0x0f) | 0x80); /* version 8: custom */
	mac[8] = (unsigned char)((mac[8] & 0x3f) | 0x80); /* variant 10 */
	snprintf(out, UCWA_ENDPOINT_ID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", mac[0], mac[1],
	    mac[2], mac[3], mac[4], mac[5], mac[6], mac[7], mac[8], mac[9], mac[10], mac[11],
	    mac[12], mac[13], mac[14], mac[15]);
}

/* Unusable event-channel events skipped so far, all agents. */
unsigned long long
ucwa_bad_events(const struct ucwa *u)
{
	return u->bad_events;
}

/* Shutdown finished (or timed out). */
static void
ucwa_shutdown_end(evutil_socket_t fd, short what, void *arg)
{
	struct ucwa *u = arg;
	void (*done)(void *) = u->shutdown_done;

	u->shutdown_done = NULL;
	if (done != NULL)
		done(u->shutdown_arg);
}

/* Wait for the sign-out DELETEs of freed agents (the caller frees the agents first). */
void
ucwa_shutdown(struct ucwa *u, unsigned ms, void (*done)(void *), void *arg)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	u->shutdown_done = done;
	u->shutdown_arg = arg;
	if (u->shutdown_timer == NULL)
		u->shutdown_timer = evtimer_new(u->base, ucwa_shutdown_end, u);
	if (hclient_owner_outstanding(u->signout) == 0)
		tv.tv_sec = tv.tv_usec = 0;
	evtimer_add(u->shutdown_timer, &tv);
}

/* Cluster mode: the store every agent's state is written to. */
void
ucwa_set_store(struct ucwa *u, struct store *st)
{
	u->store = st;
	u->save = st != NULL ? ucwa_resume_save : NULL;
}

/* Cluster mode: the hold hook (see ucwa.h). */
void
ucwa_set_hold(struct ucwa *u, int (*hold)(void *), void *arg)
{
	u->hold = hold;
	u->hold_arg = arg;
}

/* The hold hook's answer may have changed: a's held event channel goes on if it may. */
void
ucwa_agent_hold_changed(struct ucwa_agent *a)
{
	ucwa_chan_release(a);
}

/*
 * Remember the identity of each change delivered, for snapshots (cluster
 * mode, tests/ucwa-drive); off, delivering a change hashes nothing. A
 * resumed agent compares the replay with its snapshot's marks either way.
 */
void
ucwa_keep_marks(struct ucwa *u, int on)
{
	u->keep_marks = on;
}

/* ---- agents: life ---- */

/* A new agent; sign-in starts at once (callbacks come from the loop). */
struct ucwa_agent *
ucwa_agent_new(
    struct ucwa *u, const char *user, const char *password, const struct ucwa_cbs *cbs, void *arg)
{
	struct ucwa_agent *a = xcalloc(1, sizeof(*a));
	struct timeval now = { 0, 0 };

	a->u = u;
	a->user = xstrdup(user);
	a->password = xstrdup(password);
	a->cbs = *cbs;
	a->arg = arg;
	a->owner = hclient_owner_new(u->hc, u->conf.max_outstanding);
	TAILQ_INIT(&a->calls);
	TAILQ_INIT(&a->authwait);
	ucwa_conv_init(a);
	/* stable: a restarted gateway finds the application it left behind */
	ucwa_endpoint_id(u->endpoint_key, u->endpoint_key_len, user, a->endpoint_id);
	a->token_timer = evtimer_new(u->base, ucwa_auth_token_fire, a);
	u->nagents++;
	store_agent_creds(u->store, a->user, a->password);
	if (u->conf.applications_url != NULL) {
		a->apps_url = xstrdup(u->conf.applications_url);
		a->user_url = xstrdup(u->conf.applications_url);
	}
	/* sign-in starts from the loop, so that no callback runs before we return */
	a->retry_timer = evtimer_new(u->base, ucwa_auth_retry_fire, a);
	evtimer_add(a->retry_timer, &now);
	return a;
}

/* Free for real, from the loop: no callback of this agent is on the stack. */
static void
ucwa_agent_reap(struct reap_link *l)
{
	struct ucwa_agent *a = container_of(l, struct ucwa_agent, reap);
	struct ucwa *u = a->u;
	struct ucall *c;

	ucwa_chan_stop(a);
	ucwa_conv_free_all(a);
	while ((c = TAILQ_FIRST(&a->calls)) != NULL)
		ucwa_call_free(c);
	while ((c = TAILQ_FIRST(&a->authwait)) != NULL)
		ucwa_call_free(c);
	hclient_owner_free(a->owner);
	event_free(a->token_timer);
	if (a->activity_timer != NULL)
		event_free(a->activity_timer);
	if (a->retry_timer != NULL)
		event_free(a->retry_timer);
	free(a->user);
	explicit_bzero(a->password, strlen(a->password));
	free(a->password);
	free(a->user_url);
	free(a->token_url);
	if (a->token != NULL)
		explicit_bzero(a->token, strlen(a->token));
	free(a->token);
	free(a->apps_url);
	free(a->origin);
	free(a->origin_norm);
	buf_free(&a->norm);
	free(a->app);
	free(a->events_url);
	free(a->mma_url);
	free(a->activity_url);
	free(a->start_url);
	free(a->convs_url);
	free(a->me_uri);
	free(a->me_name);
	buf_free(&a->saved_head);
	u->nagents--;
	free(a);
}

/*
 * Sign out and free. At once: no callback of this agent runs any more
 * (dying), its requests are cancelled and its timers stopped, and the
 * application is deleted in the background. The memory goes to the loop's
 * reaper, as callbacks of the agent may still be on the stack: the call or
 * timer that called the owner, a loop over conversations or parked calls.
 */
void
ucwa_agent_free(struct ucwa_agent *a)
{
	struct ucall *c;

	if (a == NULL || a->dying)
		return;
	a->dying = 1;
	while ((c = TAILQ_FIRST(&a->calls)) != NULL)
		ucwa_call_free(c); /* (a call whose response is running is on no list) */
	while ((c = TAILQ_FIRST(&a->authwait)) != NULL)
		ucwa_call_free(c);
	evtimer_del(a->token_timer);
	evtimer_del(a->retry_timer);
	if (a->activity_timer != NULL)
		evtimer_del(a->activity_timer);
	if (a->pget_timer != NULL)
		evtimer_del(a->pget_timer);
	if (a->app != NULL && a->token != NULL && a->state != UA_FAILED && !a->keep_app) {
		log_info("ucwa %s: signing out (DELETE application)", a->user);
		ucwa_call_background(a, "DELETE", a->app);
	}
	store_forget(a->u->store, a);
	if (a->keep_app)
		store_agent_release(a->u->store, a->user); /* the next owner's */
	else
		store_agent_drop(a->u->store, a->user);
	reap_later(a->u->reap, &a->reap, ucwa_agent_reap);
}

/* Whether the agent can run commands now. */
int
ucwa_agent_ready(const struct ucwa_agent *a)
{
	return a->state == UA_READY;
}

/*
 * The server lost our application (or refuses our requests although the
 * token is new): report the conversations ended, then create the
 * application again (after discovering the server again when rediscover).
 */
static void
ucwa_lost(struct ucwa_agent *a, const char *why, int rediscover)
{
	if (a->state == UA_FAILED || a->apps_url == NULL)
		return;
	log_warn("ucwa %s: application lost (%s): %s", a->user, why,
	    rediscover ? "discovering the server again" : "recreating it");
	metrics_inc(M_UCWA_APPS, NULL);
	if (a->activity_timer != NULL)
		evtimer_del(a->activity_timer);
	ucwa_chan_stop(a);
	ucwa_conv_leave_mark(a, 0);
	free(a->app); /* gone: not signed out if the owner frees the agent now */
	a->app = NULL;
	ucwa_conv_end_all(a, why);
	a->app_gen++;
	if (a->dying || a->state == UA_FAILED)
		return;
	if (rediscover) {
		free(a->apps_url);
		a->apps_url = NULL;
		a->hops = 0;
		ucwa_auth_discover(a, a->u->conf.discovery_url);
	} else
		ucwa_app_create(a);
}

/* A 403 again after a new token: discover the server again (at most once a minute). */
static int
ucwa_check_forbidden(struct ucwa_agent *a, const struct ucall *c, const struct hclient_resp *r)
{
	uint64_t now = util_now_ms();

	if (r->err != HCLIENT_OK || r->status != 403 || !c->bearer || !c->retried ||
	    a->state != UA_READY || c->app_gen != a->app_gen || a->u->conf.discovery_url == NULL ||
	    (a->rediscovered_ms != 0 && now - a->rediscovered_ms < 60000))
		return 0;
	a->rediscovered_ms = now;
	ucwa_lost(a, "403 persists with a new token", 1);
	return 1;
}

/* Whether a response condemns the application; acts on it. A call made for
 * an application already lost says nothing about the new one. */
static int
ucwa_check_app(struct ucwa_agent *a, const struct ucall *c, const struct hclient_resp *r)
{
	if (r->err != HCLIENT_OK || (r->status != 404 && r->status != 410) || a->app == NULL ||
	    c->app_gen != a->app_gen)
		return 0;
	if (ucwa_call_error_is(r, "TooManyApplications") ||
	    ucwa_call_error_is(r, "UserAgentNotAllowed")) {
		ucwa_state_fail(a, UCWA_FAIL_REJECTED, "HTTP %d %s", r->status,
		    ucwa_call_error_is(r, "TooManyApplications") ? "TooManyApplications"
								 : "UserAgentNotAllowed");
		return 1;
	}
	if (ucwa_call_error_is(r, "ApplicationNotFound") ||
	    ucwa_call_error_is(r, "InactiveApplicationExpired")) {
		ucwa_lost(a,
		    ucwa_call_error_is(r, "ApplicationNotFound") ? "ApplicationNotFound"
								 : "InactiveApplicationExpired",
		    0);
		return 1;
	}
	return 0;
}

/*
 * A call's response (the handler of every call, see ucwa_call_start):
 * renew and retry once on 401/403, watch the application, else deliver.
 */
static void
ucwa_response(const struct hclient_resp *r, void *arg)
{
	struct ucall *c = arg;
	struct ucwa_agent *a = c->a;
	unsigned gen = a->app_gen;

	c->req = NULL;
	TAILQ_REMOVE(&a->calls, c, entry);
	c->list = NULL;
	if (a->dying) {
		ucwa_call_free(c); /* sent by a callback after the free: as if cancelled */
		return;
	}
	ucwa_call_count(c, r);
	if (r->err == HCLIENT_OK && (r->status == 401 || r->status == 403) && c->bearer &&
	    !c->retried && a->token_url != NULL && a->state != UA_FAILED) {
		log_info("ucwa %s: %d on %s: renewing the token and retrying", a->user, r->status,
		    c->method);
		c->retried = 1;
		if (c->token_gen != a->token_gen && !a->renewing && ucwa_call_start(c) == 0)
			return; /* sent with an older token: the new one is here */
		TAILQ_INSERT_TAIL(&a->authwait, c, entry);
		c->list = &a->authwait;
		ucwa_auth_renew(a);
		return;
	}
	if (c == a->pget) {
		a->pget = NULL; /* the channel code re-parks it from the callback */
		if (a->u->store != NULL && r->err == HCLIENT_OK && r->status == 409 &&
		    ucwa_call_error_is(r, "PGetReplaced")) {
			ucwa_call_free(c); /* cluster mode: another node polls it now */
			ucwa_state_replaced(a);
			return;
		}
	}
	if ((ucwa_check_app(a, c, r) || ucwa_check_forbidden(a, c, r)) &&
	    (gen != a->app_gen || a->state == UA_FAILED) && strcmp(c->method, "GET") == 0 &&
	    (c->flags & HCLIENT_LONGPOLL)) {
		ucwa_call_free(c); /* the channel restarts with the new application */
		return;
	}
	if (!a->dying && !(c->app_step && c->app_gen != a->app_gen))
		c->cb(c, r); /* (a step for an application since lost has nothing left to do) */
	ucwa_call_free(c);
}

/* The signed-in user's own SIP URI, once the application said it (else NULL). */
const char *
ucwa_agent_uri(const struct ucwa_agent *a)
{
	return a->me_uri;
}

/* The signed-in user's display name, once known (else NULL). */
const char *
ucwa_agent_name(const struct ucwa_agent *a)
{
	return a->me_name;
}
