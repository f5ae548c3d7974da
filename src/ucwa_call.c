/*
 * ucwa_call.c: the bottom of the UCWA client: an agent's upstream calls
 * (made, sent with the current Bearer token, counted, freed), requests
 * sent on the background owner (sign-out, leaving when giving up), and the
 * helpers every other file of the family uses: the one normal form of an
 * href, command results and UCWA error codes of a response, links of a
 * resource, back-off delays. It calls nothing above it: a call's response
 * goes to the handler the top (ucwa.c) installed in the context.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include "json.h"
#include "log.h"
#include "metrics.h"
#include "ucwa_int.h"

#define UCWA_NORM_KEEP 1024 /* ucwa_call_norm's buffer kept up to this */

/* A background sign-out DELETE ended. */
static void
ucwa_call_background_done(const struct hclient_resp *r, void *arg)
{
	struct ucwa *u = arg;

	if (r->err != HCLIENT_OK)
		log_warn("ucwa: background request failed: %s", r->errstr);
	if (u->shutdown_done != NULL && hclient_owner_outstanding(u->signout) == 0) {
		struct timeval tv = { 0, 0 };

		evtimer_add(u->shutdown_timer, &tv);
	}
}

/* Send a request for an agent on the background owner (see ucwa_int.h). */
void
ucwa_call_background(struct ucwa_agent *a, const char *method, const char *url)
{
	const char *hdrs[] = { "Authorization", a->token, "Accept", "application/json", NULL };

	if (a->token == NULL)
		return;
	hclient_request(a->u->signout, method, url, hdrs, NULL, 0, a->u->conf.request_timeout_ms, 0,
	    ucwa_call_background_done, a->u);
}

/* The length of href without its fragment (strcspn builds a table per call). */
static size_t
ucwa_call_unfragmented(const char *href)
{
	return (size_t)(strchrnul(href, '#') - href);
}

/*
 * The one normal form of a server href: resolved against the applications
 * URL (or the URL last used), scheme and host in lower case, no default
 * port, no fragment. Every href the client keeps, compares or hands out is
 * in this form, so one resource is one string whether the server wrote it
 * host-relative or absolute (see ucwa_href_eq).
 */
static int
ucwa_call_resolve_url(const char *base, const char *href, struct buf *out)
{
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
	abs.len = ucwa_call_unfragmented(abs.data);
	abs.data[abs.len] = '\0';
	buf_reset(out);
	if (hclient_url_parse(abs.data, &u, &why) != 0) {
		buf_add(out, abs.data, abs.len);
		buf_free(&abs);
		return 0;
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
	return 1;
}

/* The origin of base in normal form (what ucwa_call_resolve_url makes of
 * "origin/", less the '/'), worked out once per origin; NULL if base is
 * not an http(s) URL. A host-relative href resolves to it plus the href. */
static const char *
ucwa_call_origin(struct ucwa_agent *a, const char *base)
{
	const char *p;
	struct buf b;
	size_t n = a->origin_len;

	/* the same origin: base starts with it, and it ends there */
	if (a->origin != NULL && strncmp(base, a->origin, n) == 0 &&
	    (base[n] == '/' || base[n] == '?' || base[n] == '#' || base[n] == '\0'))
		return a->origin_norm;
	if ((p = strstr(base, "://")) == NULL ||
	    (strncasecmp(base, "http://", 7) != 0 && strncasecmp(base, "https://", 8) != 0))
		return NULL;
	n = (size_t)(p + 3 - base) + strcspn(p + 3, "/?#");
	free(a->origin);
	free(a->origin_norm);
	a->origin = xstrndup(base, n);
	a->origin_len = n;
	buf_init(&b);
	a->origin_ok = ucwa_call_resolve_url(a->origin, "/", &b);
	b.data[--b.len] = '\0'; /* the '/' */
	a->origin_norm = buf_detach(&b, NULL);
	return a->origin_norm;
}

/* The normal form of href (see above): host-relative hrefs and absolute
 * ones already in normal form on the usual origin take a short cut. */
void
ucwa_call_resolve(struct ucwa_agent *a, const char *href, struct buf *out)
{
	const char *base = a->apps_url ? a->apps_url
	    : a->user_url	       ? a->user_url
				       : a->u->conf.discovery_url;
	const char *o;
	size_t n;

	if (href[0] == '/' && href[1] != '/' && (o = ucwa_call_origin(a, base)) != NULL) {
		size_t olen = strlen(o);

		n = ucwa_call_unfragmented(href);
		buf_reset(out);
		buf_reserve(out, olen + n);
		buf_add(out, o, olen);
		buf_add(out, href, n);
		return;
	}
	if ((o = ucwa_call_origin(a, base)) != NULL && a->origin_ok &&
	    strncmp(href, o, n = strlen(o)) == 0 && href[n] == '/') {
		buf_reset(out);
		buf_add(out, href, ucwa_call_unfragmented(href));
		return;
	}
	ucwa_call_resolve_url(base, href, out);
}

/*
 * The normal form of href (not NULL, and not what this returned before) in
 * the agent's scratch buffer, without an allocation: valid until the next
 * call, so the caller compares it or copies it before calling anything
 * else. A buffer grown past UCWA_NORM_KEEP by a long href is not kept for
 * the next one.
 */
const char *
ucwa_call_norm(struct ucwa_agent *a, const char *href)
{
	if (a->norm.cap > UCWA_NORM_KEEP)
		buf_free(&a->norm);
	ucwa_call_resolve(a, href, &a->norm);
	return a->norm.data;
}

/* Whether two hrefs given by this client (changes, results) name one resource. */
int
ucwa_href_eq(const char *x, const char *y)
{
	return x != NULL && y != NULL && strcmp(x, y) == 0; /* both in normal form */
}

/* The normal form of href, allocated (NULL for NULL). */
char *
ucwa_call_abs(struct ucwa_agent *a, const char *href)
{
	struct buf b;

	if (href == NULL)
		return NULL;
	buf_init(&b);
	ucwa_call_resolve(a, href, &b);
	return buf_detach(&b, NULL);
}

/* Whether the response is a UCWA error with this code or subcode. */
int
ucwa_call_error_is(const struct hclient_resp *r, const char *subcode)
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
ucwa_call_result(const struct hclient_resp *r, struct ucwa_result *res, struct buf *s)
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
ucwa_call_backoff(unsigned *cur, unsigned min, unsigned max)
{
	unsigned d;
	char r[5];

	*cur = *cur == 0 ? min : (*cur * 2 > max ? max : *cur * 2);
	util_random_id(r, 4, UTIL_HEX);
	d = *cur / 2 + (unsigned)(strtoul(r, NULL, 16) % (*cur / 2 + 1));
	return d;
}

/* ---- calls ---- */

/* A new call of a (not sent yet): a command unless told otherwise. */
struct ucall *
ucwa_call_new(struct ucwa_agent *a, const char *method, const char *url, ucall_cb cb)
{
	size_t mlen = strlen(method) + 1, ulen = strlen(url) + 1;
	struct ucall *c = xcalloc(1, sizeof(*c) + mlen + ulen); /* the strings follow */
	char *s = (char *)(c + 1);

	c->a = a;
	c->app_gen = a->app_gen;
	c->method = memcpy(s, method, mlen);
	c->url = memcpy(s + mlen, url, ulen);
	c->cb = cb;
	c->kind = "command";
	c->bearer = 1;
	c->timeout_ms = a->u->conf.request_timeout_ms;
	buf_init(&c->body);
	return c;
}

/* Unlink (if linked) and free, without any callback. */
void
ucwa_call_free(struct ucall *c)
{
	if (c->list != NULL)
		TAILQ_REMOVE(c->list, c, entry);
	if (c->req != NULL)
		hclient_cancel(c->req);
	if (c->a->pget == c)
		c->a->pget = NULL;
	if (c->ctx != NULL && c->ctx_free != NULL)
		c->ctx_free(c->ctx);
	free(c->conv);
	buf_free(&c->body);
	free(c);
}

/* Metrics of one finished call: by kind and outcome, and its latency. */
void
ucwa_call_count(const struct ucall *c, const struct hclient_resp *r)
{
	char labels[96], num[24];

	if (r->err != HCLIENT_OK)
		util_join(labels, sizeof labels,
		    (const char *const[]){ "kind=\"", c->kind, "\",outcome=\"",
			hclient_err_name(r->err), "\"", NULL });
	else
		util_join(labels, sizeof labels,
		    (const char *const[]){ "kind=\"", c->kind, "\",outcome=\"",
			util_itoa(r->status / 100, num), "xx\"", NULL });
	metrics_inc(M_UCWA_CALLS, labels);
	if (c->flags & HCLIENT_LONGPOLL)
		return;
	util_join(labels, sizeof labels, (const char *const[]){ "kind=\"", c->kind, "\"", NULL });
	metrics_observe(M_UCWA_DURATION, labels, (double)(util_now_ms() - c->start_ms) / 1000);
}

/* Send (or resend) a call; -1 when the outstanding bound is reached. */
int
ucwa_call_start(struct ucall *c)
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
	    c->timeout_ms, c->flags, a->u->respond, c);
	if (c->req == NULL)
		return -1;
	TAILQ_INSERT_TAIL(&a->calls, c, entry);
	c->list = &a->calls;
	return 0;
}

/* The href of a resource's link rel, or NULL. */
void
ucwa_call_link(const struct json *res, const char *rel, const char **href)
{
	*href = json_get_str(json_get(json_get(res, "_links"), rel), "href");
}
