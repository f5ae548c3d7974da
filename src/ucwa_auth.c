/*
 * ucwa_auth.c: an agent's sign-in: discovery from the configured root
 * (redirect hops, then the user link), the 401 challenge's MsRtcOAuth href
 * (quoted or not), the password grant and its renewal before expires_in
 * (one in flight per agent; calls parked for a token are re-sent or
 * failed when it ends), and the user resource's applications link. Before
 * the agent is signed in an unreachable server fails it; afterwards failed
 * steps are retried with back-off. Passwords and tokens are never logged.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "log.h"
#include "metrics.h"
#include "ucwa_int.h"

/* Start signing in, or retry a step after a back-off. */
void
ucwa_auth_retry_fire(evutil_socket_t fd, short what, void *arg)
{
	struct ucwa_agent *a = arg;

	if (a->state == UA_FAILED || a->dying)
		return;
	if (a->apps_url != NULL && a->token != NULL)
		ucwa_app_create(a);
	else if (a->u->conf.applications_url != NULL)
		ucwa_auth_challenge(a);
	else
		ucwa_auth_discover(a, a->u->conf.discovery_url);
}

/* Autodiscover answer: follow redirect or take the user link. */
static void
ucwa_auth_discover_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;
	struct json_doc *d;
	const char *user, *redirect;
	struct buf b;

	if (r->err != HCLIENT_OK || r->status >= 500) {
		ucwa_state_unreachable(a, "autodiscover", r);
		return;
	}
	if (r->status != 200 || (d = ucwa_state_json(a, "autodiscover", r)) == NULL) {
		if (a->state != UA_FAILED)
			ucwa_state_fail(a, UCWA_FAIL_PROTOCOL, "autodiscover: HTTP %d", r->status);
		return;
	}
	ucwa_call_link(json_root(d), "user", &user);
	ucwa_call_link(json_root(d), "redirect", &redirect);
	buf_init(&b);
	hclient_url_resolve(c->url, user ? user : redirect ? redirect : "", &b);
	json_doc_free(d);
	if (user != NULL) {
		free(a->user_url);
		a->user_url = buf_detach(&b, NULL);
		ucwa_auth_challenge(a);
	} else if (redirect != NULL && ++a->hops <= 4) {
		ucwa_auth_discover(a, b.data);
		buf_free(&b);
	} else {
		buf_free(&b);
		ucwa_state_fail(a, UCWA_FAIL_PROTOCOL, "autodiscover: no user link%s",
		    redirect ? " after 4 redirects" : "");
	}
}

/* GET the autodiscover root (or a redirect from it). */
void
ucwa_auth_discover(struct ucwa_agent *a, const char *url)
{
	struct ucall *c = ucwa_call_new(a, "GET", url, ucwa_auth_discover_done);

	c->kind = "discovery";
	ucwa_state_set(a, UA_DISCOVER, "GET autodiscover");
	c->bearer = 0;
	if (ucwa_call_start(c) != 0) {
		ucwa_call_free(c);
		ucwa_state_fail(a, UCWA_FAIL_UNREACHABLE, "autodiscover: cannot start a request");
	}
}

/* The token endpoint from "MsRtcOAuth href=..." (quoted or not), into out. */
static int
ucwa_auth_parse_challenge(const char *v, struct buf *out)
{
	const char *p = v, *h, *end;

	while ((p = strcasestr(p, "MsRtcOAuth")) != NULL) {
		p += 10;
		if ((h = strcasestr(p, "href")) == NULL)
			return -1;
		h += 4;
		while (*h == ' ' || *h == '\t')
			h++;
		if (*h++ != '=')
			continue;
		while (*h == ' ' || *h == '\t')
			h++;
		if (*h == '"')
			end = strchr(++h, '"');
		else
			end = h + strcspn(h, ", \t");
		if (end == NULL || end == h)
			return -1;
		buf_reset(out);
		buf_add(out, h, (size_t)(end - h));
		return 0;
	}
	return -1;
}

static void ucwa_auth_token(struct ucwa_agent *);

/* The 401 of the user resource: find the token endpoint. */
static void
ucwa_auth_challenge_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;
	struct buf b;
	int found = -1;

	if (r->err != HCLIENT_OK || r->status >= 500) {
		ucwa_state_unreachable(a, "user resource", r);
		return;
	}
	buf_init(&b);
	for (size_t i = 0; r->status == 401 && i < r->msg->nheaders && found != 0; i++) {
		if (strcasecmp(r->msg->headers[i].name, "WWW-Authenticate") == 0)
			found = ucwa_auth_parse_challenge(r->msg->headers[i].value, &b);
	}
	if (found != 0) {
		buf_free(&b);
		ucwa_state_fail(a, UCWA_FAIL_PROTOCOL,
		    "user resource: HTTP %d without a MsRtcOAuth challenge", r->status);
		return;
	}
	free(a->token_url);
	a->token_url = ucwa_call_abs(a, b.data);
	buf_free(&b);
	ucwa_auth_token(a);
}

/* GET the user resource (or applications URL) without a token, to be challenged. */
void
ucwa_auth_challenge(struct ucwa_agent *a)
{
	struct ucall *c = ucwa_call_new(a, "GET", a->user_url, ucwa_auth_challenge_done);

	c->kind = "user";
	ucwa_state_set(a, UA_CHALLENGE, "GET user resource for its challenge");
	c->bearer = 0;
	if (ucwa_call_start(c) != 0) {
		ucwa_call_free(c);
		ucwa_state_fail(a, UCWA_FAIL_UNREACHABLE, "user resource: cannot start a request");
	}
}

/* The renewal timer. */
void
ucwa_auth_token_fire(evutil_socket_t fd, short what, void *arg)
{
	ucwa_auth_renew(arg);
}

/* Renewal due: one in flight per agent. */
void
ucwa_auth_renew(struct ucwa_agent *a)
{
	if (a->renewing || a->state == UA_FAILED || a->dying)
		return;
	metrics_inc(M_UCWA_TOKENS, NULL);
	ucwa_auth_token(a);
}

/* Calls parked for a token: resend them, or finish them with their 401 when none came. */
static void
ucwa_auth_flush(struct ucwa_agent *a, int ok)
{
	struct ucalls tmp;
	struct ucall *c;

	TAILQ_INIT(&tmp);
	TAILQ_CONCAT(&tmp, &a->authwait, entry);
	TAILQ_FOREACH(c, &tmp, entry)
	c->list = &tmp;
	while ((c = TAILQ_FIRST(&tmp)) != NULL) {
		TAILQ_REMOVE(&tmp, c, entry);
		c->list = NULL;
		if (ok && !a->dying && ucwa_call_start(c) == 0)
			continue;
		if (!a->dying) {
			struct hclient_resp r;

			memset(&r, 0, sizeof(r));
			r.err = HCLIENT_OK;
			r.status = 401;
			r.body = "";
			c->cb(c, &r);
		}
		ucwa_call_free(c);
	}
}

static void ucwa_auth_user(struct ucwa_agent *);

/* The password grant's answer. */
static void
ucwa_auth_token_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;
	struct json_doc *d;
	const char *tok, *err;
	long long expires = 0;
	struct timeval tv;
	struct json *e;

	a->renewing = 0;
	if ((r->err != HCLIENT_OK || r->status >= 500) && a->signed_in_told) {
		/* a renewal: keep the old token and try again soon */
		unsigned ms = ucwa_call_backoff(
		    &a->retry_ms, a->u->conf.backoff_min_ms, a->u->conf.backoff_max_ms);

		log_warn("ucwa %s: token renewal failed (%s); again in %u ms", a->user,
		    r->err != HCLIENT_OK ? r->errstr : "HTTP error", ms);
		ucwa_auth_flush(a, 0);
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		evtimer_add(a->token_timer, &tv);
		return;
	}
	if (r->err != HCLIENT_OK || r->status >= 500) {
		ucwa_auth_flush(a, 0);
		ucwa_state_unreachable(a, "token", r);
		return;
	}
	d = json_parse(r->body, r->len, NULL, NULL);
	tok = d ? json_get_str(json_root(d), "access_token") : NULL;
	err = d ? json_get_str(json_root(d), "error") : NULL;
	if (r->status != 200 || tok == NULL) {
		ucwa_auth_flush(a, 0);
		if (r->status == 400 && err != NULL && strcmp(err, "invalid_grant") == 0)
			ucwa_state_fail(a, UCWA_FAIL_AUTH,
			    "token: invalid_grant (user name or password refused)");
		else
			ucwa_state_fail(a,
			    r->status == 400 || r->status == 401 ? UCWA_FAIL_AUTH
								 : UCWA_FAIL_PROTOCOL,
			    "token: HTTP %d%s%s", r->status, err ? " " : "", err ? err : "");
		json_doc_free(d);
		return;
	}
	if ((e = json_get(json_root(d), "expires_in")) != NULL && e->type == JSON_INT)
		expires = e->u.i;
	free(a->token);
	xasprintf(&a->token, "Bearer %s", tok);
	a->token_gen++;
	json_doc_free(d);
	if (expires <= 0)
		expires = 3600;
	a->token_expires = (long long)(util_wall_ms() / 1000) + expires; /* for a snapshot */
	store_agent_token(a->u->store, a->user, a->token, util_wall_ms() + (uint64_t)expires * 1000,
	    a->token_url);
	tv.tv_sec = expires > a->u->conf.token_margin_s * 2 ? expires - a->u->conf.token_margin_s
							    : expires / 2;
	tv.tv_usec = 0;
	if (tv.tv_sec < 1)
		tv.tv_sec = 1;
	evtimer_add(a->token_timer, &tv);
	log_info("ucwa %s: token acquired (expires in %lld s, renewal in %ld s)", a->user, expires,
	    (long)tv.tv_sec);
	if (a->state == UA_TOKEN) {
		if (a->apps_url != NULL && a->u->conf.applications_url != NULL)
			ucwa_app_create(a);
		else
			ucwa_auth_user(a);
	}
	ucwa_auth_flush(a, 1);
}

/* POST the password grant to the token endpoint. */
static void
ucwa_auth_token(struct ucwa_agent *a)
{
	struct ucall *c = ucwa_call_new(a, "POST", a->token_url, ucwa_auth_token_done);

	c->kind = "token";
	if (a->state == UA_CHALLENGE)
		ucwa_state_set(a, UA_TOKEN, "POST password grant");
	a->renewing = 1;
	c->bearer = 0;
	c->ctype = "application/x-www-form-urlencoded;charset=UTF-8";
	buf_addstr(&c->body, "grant_type=password&username=");
	util_url_encode(&c->body, a->user, strlen(a->user));
	buf_addstr(&c->body, "&password=");
	util_url_encode(&c->body, a->password, strlen(a->password));
	if (ucwa_call_start(c) != 0) {
		explicit_bzero(c->body.data, c->body.len);
		ucwa_call_free(c);
		a->renewing = 0;
		ucwa_state_fail(a, UCWA_FAIL_UNREACHABLE, "token: cannot start a request");
	}
}

/* The user resource with a token: the applications link (or a redirect). */
static void
ucwa_auth_user_done(struct ucall *c, const struct hclient_resp *r)
{
	struct ucwa_agent *a = c->a;
	struct json_doc *d;
	const char *apps, *redirect;
	struct buf b;

	if (r->err != HCLIENT_OK || r->status >= 500) {
		ucwa_state_unreachable(a, "user resource", r);
		return;
	}
	if (r->status != 200) {
		ucwa_state_fail(a,
		    r->status == 401 || r->status == 403 ? UCWA_FAIL_AUTH : UCWA_FAIL_PROTOCOL,
		    "user resource with token: HTTP %d", r->status);
		return;
	}
	if ((d = ucwa_state_json(a, "user resource", r)) == NULL)
		return;
	ucwa_call_link(json_root(d), "applications", &apps);
	ucwa_call_link(json_root(d), "redirect", &redirect);
	buf_init(&b);
	hclient_url_resolve(c->url, apps ? apps : redirect ? redirect : "", &b);
	json_doc_free(d);
	if (apps != NULL) {
		free(a->apps_url);
		a->apps_url = buf_detach(&b, NULL);
		ucwa_app_create(a);
	} else if (redirect != NULL && ++a->hops <= 4) {
		ucwa_auth_discover(a, b.data); /* another pool: the challenge again */
		buf_free(&b);
	} else {
		buf_free(&b);
		ucwa_state_fail(a, UCWA_FAIL_PROTOCOL, "user resource: no applications link");
	}
}

/* GET the user resource with the token. */
static void
ucwa_auth_user(struct ucwa_agent *a)
{
	struct ucall *c = ucwa_call_new(a, "GET", a->user_url, ucwa_auth_user_done);

	c->kind = "user";
	ucwa_state_set(a, UA_USER, "GET user resource with the token");
	if (ucwa_call_start(c) != 0) {
		ucwa_call_free(c);
		ucwa_state_fail(a, UCWA_FAIL_UNREACHABLE, "user resource: cannot start a request");
	}
}
