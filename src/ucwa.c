/*
 * ucwa.c: the UCWA client context, agents' life (create, fail, deferred
 * free, sign-out DELETE) and their upstream calls: every call carries the
 * current Bearer token, is retried once after a token renewal on 401/403,
 * and is watched for a lost (404 ApplicationNotFound, 410
 * InactiveApplicationExpired: recreate) or refused (410 TooManyApplications,
 * UserAgentNotAllowed: fatal) application. Sign-in is in ucwa_auth.c, the
 * application in ucwa_app.c, the event channel, conversations and commands
 * in ucwa_chan.c. Passwords and tokens are never logged.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include "json.h"
#include "log.h"
#include "metrics.h"
#include "ucwa_int.h"

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
	u->conf = *conf;
	for (size_t i = 0; i < nitems(s); i++) {
		u->strs[i] = *s[i] ? xstrdup(*s[i]) : NULL;
		*s[i] = u->strs[i];
	}
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
	return u;
}

void
ucwa_free(struct ucwa *u)
{
	if (u == NULL)
		return;
	if (u->shutdown_timer != NULL)
		event_free(u->shutdown_timer);
	hclient_free(u->hc); /* also the sign-out owner */
	for (size_t i = 0; i < nitems(u->strs); i++)
		free(u->strs[i]);
	free(u);
}

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

/* A background sign-out DELETE ended. */
static void
ucwa_signout_done(const struct hclient_resp *r, void *arg)
{
	struct ucwa *u = arg;

	if (r->err != HCLIENT_OK)
		log_warn("ucwa: background request failed: %s", r->errstr);
	if (u->shutdown_done != NULL && hclient_owner_outstanding(u->signout) == 0) {
		struct timeval tv = { 0, 0 };

		evtimer_add(u->shutdown_timer, &tv);
	}
}

const char *
ucwa_failure_name(enum ucwa_failure f)
{
	static const char *const names[] = { "authentication failed", "server unreachable",
		"application refused", "protocol error" };

	return (unsigned)f < nitems(names) ? names[f] : "?";
}

/* ---- agents: life ---- */

/* A new agent; sign-in starts at once (callbacks come from the loop). */
struct ucwa_agent *
ucwa_agent_new(
    struct ucwa *u, const char *user, const char *password, const struct ucwa_cbs *cbs, void *arg)
{
	struct ucwa_agent *a = xcalloc(1, sizeof(*a));
	struct timeval now = { 0, 0 };
	char hex[33];

	a->u = u;
	a->user = xstrdup(user);
	a->password = xstrdup(password);
	a->cbs = *cbs;
	a->arg = arg;
	a->owner = hclient_owner_new(u->hc, u->conf.max_outstanding);
	TAILQ_INIT(&a->calls);
	TAILQ_INIT(&a->authwait);
	TAILQ_INIT(&a->convs);
	TAILQ_INIT(&a->starts);
	util_random_id(hex, 32, UTIL_HEX);
	snprintf(a->endpoint_id, sizeof(a->endpoint_id), "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
	    hex + 12, hex + 16, hex + 20);
	a->token_timer = evtimer_new(u->base, ua_token_fire, a);
	u->nagents++;
	if (u->conf.applications_url != NULL) {
		a->apps_url = xstrdup(u->conf.applications_url);
		a->user_url = xstrdup(u->conf.applications_url);
	}
	/* sign-in starts from the loop, so that no callback runs before we return */
	a->retry_timer = evtimer_new(u->base, ua_retry_fire, a);
	evtimer_add(a->retry_timer, &now);
	return a;
}

/* Send a request for an agent on the background owner (see ucwa_int.h). */
void
ua_background(struct ucwa_agent *a, const char *method, const char *url)
{
	const char *hdrs[] = { "Authorization", a->token, "Accept", "application/json", NULL };

	if (a->token == NULL)
		return;
	hclient_request(a->u->signout, method, url, hdrs, NULL, 0, a->u->conf.request_timeout_ms, 0,
	    ucwa_signout_done, a->u);
}

/* Free for real: no callback may be running for this agent. */
static void
ua_destroy(struct ucwa_agent *a)
{
	struct ucwa *u = a->u;
	struct ucall *c;

	uchan_stop(a);
	uconv_free_all(a);
	while ((c = TAILQ_FIRST(&a->calls)) != NULL)
		ucall_free(c);
	while ((c = TAILQ_FIRST(&a->authwait)) != NULL)
		ucall_free(c);
	hclient_owner_free(a->owner);
	if (a->app != NULL && a->token != NULL && a->state != UA_FAILED) {
		log_info("ucwa %s: signing out (DELETE application)", a->user);
		ua_background(a, "DELETE", a->app);
	}
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
	free(a->app);
	free(a->events_url);
	free(a->mma_url);
	free(a->activity_url);
	free(a->start_url);
	free(a->me_uri);
	free(a->me_name);
	u->nagents--;
	free(a);
}

/* Sign out and free; deferred while a callback of this agent runs. */
void
ucwa_agent_free(struct ucwa_agent *a)
{
	if (a == NULL)
		return;
	a->dying = 1;
	if (a->depth == 0)
		ua_destroy(a);
}

int
ucwa_agent_ready(const struct ucwa_agent *a)
{
	return a->state == UA_READY;
}

/* Entries from the loop nest; the last one out frees a dying agent. */
void
ua_enter(struct ucwa_agent *a)
{
	a->depth++;
}

void
ua_leave(struct ucwa_agent *a)
{
	if (--a->depth == 0 && a->dying)
		ua_destroy(a);
}

/* The agent cannot go on: tell the owner once. */
void
ua_fail(struct ucwa_agent *a, enum ucwa_failure f, const char *fmt, ...)
{
	static struct log_limit ll; /* outsiders' failed sign-ins end here */
	char why[512];
	va_list ap;

	if (a->state == UA_FAILED || a->dying)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_limited(&ll, LOG_WARN, "ucwa %s: %s: %s", a->user, ucwa_failure_name(f), why);
	a->state = UA_FAILED;
	evtimer_del(a->token_timer);
	if (a->activity_timer != NULL)
		evtimer_del(a->activity_timer);
	if (a->retry_timer != NULL)
		evtimer_del(a->retry_timer);
	uchan_stop(a);
	uconv_leave_mark(a, 1);
	uconv_end_all(a, why);
	if (!a->dying && a->cbs.failed != NULL)
		a->cbs.failed(f, why, a->arg);
}

/* ---- helpers ---- */

/*
 * The one normal form of a server href: resolved against the applications
 * URL (or the URL last used), scheme and host in lower case, no default
 * port, no fragment. Every href the client keeps, compares or hands out is
 * in this form, so one resource is one string whether the server wrote it
 * host-relative or absolute (see ucwa_href_eq).
 */
void
ua_resolve(struct ucwa_agent *a, const char *href, struct buf *out)
{
	const char *base = a->apps_url ? a->apps_url
	    : a->user_url	       ? a->user_url
				       : a->u->conf.discovery_url;
	size_t scheme = strncasecmp(href, "https://", 8) == 0 ? 8
	    : strncasecmp(href, "http://", 7) == 0	      ? 7
							      : 0;
	struct hclient_url u;
	const char *why;
	struct buf abs;

	buf_init(&abs);
	if (scheme > 0) {
		buf_addstr(&abs, href);
		for (size_t i = 0; i < scheme; i++)
			abs.data[i] = (char)tolower((unsigned char)abs.data[i]);
	} else if (hclient_url_resolve(base, href, &abs) != 0)
		buf_addstr(&abs, href);
	abs.len = strcspn(abs.data, "#");
	abs.data[abs.len] = '\0';
	buf_reset(out);
	if (hclient_url_parse(abs.data, &u, &why) != 0) {
		buf_add(out, abs.data, abs.len);
		buf_free(&abs);
		return;
	}
	for (char *h = u.host; *h != '\0'; h++)
		*h = (char)tolower((unsigned char)*h);
	buf_printf(out, "%s://%s%s%s", u.tls ? "https" : "http", strchr(u.host, ':') ? "[" : "",
	    u.host, strchr(u.host, ':') ? "]" : "");
	if (u.port != (u.tls ? 443 : 80))
		buf_printf(out, ":%d", u.port);
	buf_addstr(out, u.path);
	hclient_url_clear(&u);
	buf_free(&abs);
}

/* Whether two hrefs given by this client (changes, results) name one resource. */
int
ucwa_href_eq(const char *x, const char *y)
{
	return x != NULL && y != NULL && strcmp(x, y) == 0; /* both in normal form */
}

char *
ua_abs(struct ucwa_agent *a, const char *href)
{
	struct buf b;

	if (href == NULL)
		return NULL;
	buf_init(&b);
	ua_resolve(a, href, &b);
	return buf_detach(&b, NULL);
}

/* Whether the response is a UCWA error with this code or subcode. */
int
ua_error_subcode(const struct hclient_resp *r, const char *subcode)
{
	const char *ct;
	struct json_doc *d;
	int match = 0;

	if (r->err != HCLIENT_OK || r->msg == NULL ||
	    (ct = hparse_header(r->msg, "Content-Type")) == NULL || strstr(ct, "json") == NULL)
		return 0;
	if ((d = json_parse(r->body, r->len, NULL, NULL)) == NULL)
		return 0;
	for (size_t i = 0; i < 2; i++) {
		const char *v = json_get_str(json_root(d), i ? "code" : "subcode");

		if (v != NULL && strcmp(v, subcode) == 0)
			match = 1;
	}
	json_doc_free(d);
	return match;
}

/* A command result from a response: status, UCWA code/subcode/message, or why not. */
void
ua_result_from(const struct hclient_resp *r, struct ucwa_result *res, struct buf *s)
{
	const char *ct = r->msg ? hparse_header(r->msg, "Content-Type") : NULL;
	struct json_doc *d;

	memset(res, 0, sizeof(*res));
	buf_reset(s);
	if (r->err != HCLIENT_OK) {
		buf_printf(s, "%s: %s", hclient_err_name(r->err), r->errstr);
		res->message = s->data;
		return;
	}
	res->status = r->status;
	res->ok = r->status >= 200 && r->status < 300;
	if (res->ok)
		return;
	if (ct != NULL && strstr(ct, "json") != NULL &&
	    (d = json_parse(r->body, r->len, NULL, NULL)) != NULL) {
		const char *v[3] = { json_get_str(json_root(d), "code"),
			json_get_str(json_root(d), "subcode"),
			json_get_str(json_root(d), "message") };
		size_t off[3] = { 0, 0, 0 };

		/* copy into s: code \0 subcode \0 message \0 */
		for (int i = 0; i < 3; i++) {
			off[i] = s->len;
			buf_addstr(s, v[i] ? v[i] : "");
			buf_addch(s, '\0');
		}
		json_doc_free(d);
		res->code = v[0] ? s->data + off[0] : NULL;
		res->subcode = v[1] ? s->data + off[1] : NULL;
		res->message = v[2] ? s->data + off[2] : NULL;
		return;
	}
	buf_printf(s, "HTTP %d with a non-UCWA body (%s)", r->status, ct ? ct : "no type");
	res->message = s->data;
}

/* Next back-off delay with jitter (half to full of the doubled delay). */
unsigned
ua_backoff(unsigned *cur, unsigned min, unsigned max)
{
	unsigned d;
	char r[5];

	*cur = *cur == 0 ? min : (*cur * 2 > max ? max : *cur * 2);
	util_random_id(r, 4, UTIL_HEX);
	d = *cur / 2 + (unsigned)(strtoul(r, NULL, 16) % (*cur / 2 + 1));
	return d;
}

/* ---- calls ---- */

struct ucall *
ucall_new(struct ucwa_agent *a, const char *method, const char *url, ucall_cb cb)
{
	struct ucall *c = xcalloc(1, sizeof(*c));

	c->a = a;
	c->app_gen = a->app_gen;
	c->method = xstrdup(method);
	c->url = xstrdup(url);
	c->cb = cb;
	c->kind = "command";
	c->bearer = 1;
	c->timeout_ms = a->u->conf.request_timeout_ms;
	buf_init(&c->body);
	return c;
}

/* Unlink (if linked) and free, without any callback. */
void
ucall_free(struct ucall *c)
{
	if (c->list != NULL)
		TAILQ_REMOVE(c->list, c, entry);
	if (c->req != NULL)
		hclient_cancel(c->req);
	if (c->a->pget == c)
		c->a->pget = NULL;
	if (c->ctx != NULL && c->ctx_free != NULL)
		c->ctx_free(c->ctx);
	free(c->method);
	free(c->url);
	free(c->ctype);
	free(c->conv);
	buf_free(&c->body);
	free(c);
}

static void ucall_response(const struct hclient_resp *, void *);

/* Metrics of one finished call: by kind and outcome, and its latency. */
static void
ucall_count(const struct ucall *c, const struct hclient_resp *r)
{
	char labels[96];

	if (r->err != HCLIENT_OK)
		snprintf(labels, sizeof labels, "kind=\"%s\",outcome=\"%s\"", c->kind,
		    hclient_err_name(r->err));
	else
		snprintf(labels, sizeof labels, "kind=\"%s\",outcome=\"%dxx\"", c->kind,
		    r->status / 100);
	metrics_inc(M_UCWA_CALLS, labels);
	if (c->flags & HCLIENT_LONGPOLL)
		return;
	snprintf(labels, sizeof labels, "kind=\"%s\"", c->kind);
	metrics_observe(M_UCWA_DURATION, labels, (double)(util_now_ms() - c->start_ms) / 1000);
}

/* Send (or resend) a call; -1 when the outstanding bound is reached. */
int
ucall_start(struct ucall *c)
{
	struct ucwa_agent *a = c->a;
	const char *hdrs[9];
	int n = 0;

	hdrs[n++] = "Accept";
	hdrs[n++] = "application/json";
	if (c->bearer && a->token != NULL) {
		hdrs[n++] = "Authorization";
		hdrs[n++] = a->token;
	}
	if (c->ctype != NULL) {
		hdrs[n++] = "Content-Type";
		hdrs[n++] = c->ctype;
	}
	hdrs[n] = NULL;
	c->token_gen = a->token_gen;
	c->start_ms = util_now_ms();
	c->req = hclient_request(a->owner, c->method, c->url, hdrs,
	    c->body.len || strcmp(c->method, "POST") == 0 ? c->body.data : NULL, c->body.len,
	    c->timeout_ms, c->flags, ucall_response, c);
	if (c->req == NULL)
		return -1;
	TAILQ_INSERT_TAIL(&a->calls, c, entry);
	c->list = &a->calls;
	return 0;
}

/*
 * The server lost our application (or refuses our requests although the
 * token is new): report the conversations ended, then create the
 * application again (after discovering the server again when rediscover).
 */
static void
ua_app_lost(struct ucwa_agent *a, const char *why, int rediscover)
{
	if (a->state == UA_FAILED || a->apps_url == NULL)
		return;
	log_warn("ucwa %s: application lost (%s): %s", a->user, why,
	    rediscover ? "discovering the server again" : "recreating it");
	metrics_inc(M_UCWA_APPS, NULL);
	if (a->activity_timer != NULL)
		evtimer_del(a->activity_timer);
	uchan_stop(a);
	uconv_leave_mark(a, 0);
	uconv_end_all(a, why);
	free(a->app);
	a->app = NULL;
	a->app_gen++;
	if (a->dying || a->state == UA_FAILED)
		return;
	if (rediscover) {
		free(a->apps_url);
		a->apps_url = NULL;
		a->hops = 0;
		ua_discover(a, a->u->conf.discovery_url);
	} else
		ua_create_app(a);
}

/* A 403 again after a new token: discover the server again (at most once a minute). */
static int
ua_check_forbidden(struct ucwa_agent *a, const struct ucall *c, const struct hclient_resp *r)
{
	uint64_t now = util_now_ms();

	if (r->err != HCLIENT_OK || r->status != 403 || !c->bearer || !c->retried ||
	    a->state != UA_READY || c->app_gen != a->app_gen || a->u->conf.discovery_url == NULL ||
	    (a->rediscovered_ms != 0 && now - a->rediscovered_ms < 60000))
		return 0;
	a->rediscovered_ms = now;
	ua_app_lost(a, "403 persists with a new token", 1);
	return 1;
}

/* Whether a response condemns the application; acts on it. A call made for
 * an application already lost says nothing about the new one. */
static int
ua_check_app(struct ucwa_agent *a, const struct ucall *c, const struct hclient_resp *r)
{
	if (r->err != HCLIENT_OK || (r->status != 404 && r->status != 410) || a->app == NULL ||
	    c->app_gen != a->app_gen)
		return 0;
	if (ua_error_subcode(r, "TooManyApplications") ||
	    ua_error_subcode(r, "UserAgentNotAllowed")) {
		ua_fail(a, UCWA_FAIL_REJECTED, "HTTP %d %s", r->status,
		    ua_error_subcode(r, "TooManyApplications") ? "TooManyApplications"
							       : "UserAgentNotAllowed");
		return 1;
	}
	if (ua_error_subcode(r, "ApplicationNotFound") ||
	    ua_error_subcode(r, "InactiveApplicationExpired")) {
		ua_app_lost(a,
		    ua_error_subcode(r, "ApplicationNotFound") ? "ApplicationNotFound"
							       : "InactiveApplicationExpired",
		    0);
		return 1;
	}
	return 0;
}

/* A call's response: renew and retry once on 401/403, watch the application, else deliver. */
static void
ucall_response(const struct hclient_resp *r, void *arg)
{
	struct ucall *c = arg;
	struct ucwa_agent *a = c->a;
	unsigned gen = a->app_gen;

	c->req = NULL;
	TAILQ_REMOVE(&a->calls, c, entry);
	c->list = NULL;
	ucall_count(c, r);
	ua_enter(a);
	if (r->err == HCLIENT_OK && (r->status == 401 || r->status == 403) && c->bearer &&
	    !c->retried && a->token_url != NULL && a->state != UA_FAILED) {
		log_info("ucwa %s: %d on %s: renewing the token and retrying", a->user, r->status,
		    c->method);
		c->retried = 1;
		if (c->token_gen != a->token_gen && !a->renewing && ucall_start(c) == 0) {
			ua_leave(a); /* sent with an older token: the new one is here */
			return;
		}
		TAILQ_INSERT_TAIL(&a->authwait, c, entry);
		c->list = &a->authwait;
		ua_renew(a);
		ua_leave(a);
		return;
	}
	if (c == a->pget)
		a->pget = NULL; /* the channel code re-parks it from the callback */
	if ((ua_check_app(a, c, r) || ua_check_forbidden(a, c, r)) &&
	    (gen != a->app_gen || a->state == UA_FAILED) && strcmp(c->method, "GET") == 0 &&
	    (c->flags & HCLIENT_LONGPOLL)) {
		ucall_free(c); /* the channel restarts with the new application */
		ua_leave(a);
		return;
	}
	if (!a->dying && !(c->app_step && c->app_gen != a->app_gen))
		c->cb(c, r); /* (a step for an application since lost has nothing left to do) */
	ucall_free(c);
	ua_leave(a);
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
