/*
 * hclient.c: the HTTP/1.1 client. Owns its connections (plain or TLS),
 * the pools of idle keep-alive connections, one per origin and class
 * (command or long-poll; a request finds its pool by hash, never by a
 * walk), the evdns resolver and every request's timer. Promises: one
 * callback per request unless cancelled, never a callback after cancel,
 * no blocking call, every response bounded by hparse limits, and nothing
 * freed inside a libevent callback of its own (dead connections are
 * condemned to the loop's reaper, reap.h, and freed on a later turn).
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "bev.h"
#include "hclient.h"
#include "hmap.h"
#include "log.h"
#include "reap.h"
#include "tls.h"

struct hclient_pool;

/*
 * An upstream connection's state, changed only by hclient_conn_set_state()
 * (the table of transitions is in docs/architecture.md):
 *   connecting  TCP (and TLS) under way, its first request already queued
 *   busy        a request written or being answered (c->req), or a response
 *               that ends the connection being delivered
 *   finishing   a keep-alive response being delivered: a request the
 *               callback starts may take the connection (it is in the pool)
 *   idle        in its pool, waiting for a request, under the idle timer
 *   dead        closed, condemned to the reaper
 */
enum hclient_conn_state {
	HCLIENT_CONN_CONNECTING,
	HCLIENT_CONN_BUSY,
	HCLIENT_CONN_FINISHING,
	HCLIENT_CONN_IDLE,
	HCLIENT_CONN_DEAD,
};

static const char *const hclient_conn_state_names[] = { "connecting", "busy", "finishing", "idle",
	"dead" };

struct hclient_conn {
	struct hclient *hc;
	TAILQ_ENTRY(hclient_conn) entry;      /* hc->conns until killed */
	TAILQ_ENTRY(hclient_conn) idle_entry; /* pool->idle while it may take a request */
	struct hclient_pool *pool;	      /* its origin and class */
	int in_idle;
	int tls;
	char host[256];
	int port;
	int longpoll;
	struct bufferevent *bev;
	struct bev_rd *rd; /* plain TCP once connected: its read side (bev.c) */
	struct hparse *hp;
	struct hclient_req *req; /* in flight on this connection, or NULL (idle) */
	struct event *timer;	 /* connect timeout, then idle timeout */
	enum hclient_conn_state state;
	int reused;	       /* served a response before */
	int eof;	       /* the peer closed: never to be reused */
	uint64_t idle_since;   /* when it went idle (util_now_ms) */
	size_t got;	       /* response bytes for the current request */
	size_t out_mark;       /* output bytes queued ahead of the request, plus it */
	struct reap_link link; /* condemned once killed */
};
TAILQ_HEAD(hclient_conns, hclient_conn);

/* The idle connections of one origin and class (command or long-poll). */
struct hclient_pool {
	struct hclient_conns idle; /* oldest first */
	unsigned n;
	int tls, port;
	char host[256];
};

struct hclient_req {
	struct hclient_owner *owner;
	TAILQ_ENTRY(hclient_req) entry;
	struct hclient_conn *conn;
	struct hclient_url url;
	struct buf wire;
	int longpoll;
	int idempotent; /* GET, HEAD, DELETE: safe to send twice */
	int retried;
	int connect_failed;	       /* could not even start a connection */
	int upgrade;		       /* HCLIENT_UPGRADE */
	struct hclient_conn *upgraded; /* its connection, answered 101 (for the callback) */
	struct event *timer;
	hclient_cb cb;
	void *arg;
};
TAILQ_HEAD(hclient_reqs, hclient_req);

struct hclient_owner {
	struct hclient *hc;
	TAILQ_ENTRY(hclient_owner) entry;
	struct hclient_reqs reqs;
	unsigned n;
	unsigned max;
};

struct hclient {
	struct event_base *base;
	struct evdns_base *dns;
	SSL_CTX *ssl_ctx;
	struct hclient_opts opts;
	char *user_agent;
	struct hclient_conns conns;
	struct hmap *pools; /* "class origin" -> struct hclient_pool: idle connections, an index */
	struct hclient_pool *last[2]; /* the pool last used per class (one origin is the rule) */
	unsigned nconns;
	struct reap *reap;
	TAILQ_HEAD(, hclient_owner) owners;
};

/* An idle connection younger than this is reused without a peek (hclient_conn_usable). */
#define HCLIENT_FRESH_MS 1000

static void hclient_conn_kill(struct hclient_conn *);
static void hclient_dispatch(struct hclient_req *);

/* ---- URLs ---- */

/* Parse an absolute http(s) URL. */
int
hclient_url_parse(const char *url, struct hclient_url *u, const char **why)
{
	const char *p, *hend, *slash;
	size_t hl;

	memset(u, 0, sizeof(*u));
	if (strncmp(url, "https://", 8) == 0) {
		u->tls = 1;
		p = url + 8;
	} else if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else {
		*why = "not an http:// or https:// URL";
		return -1;
	}
	slash = p + strcspn(p, "/?#");
	if (*p == '[') {
		if ((hend = memchr(p, ']', (size_t)(slash - p))) == NULL) {
			*why = "unterminated [IPv6] host";
			return -1;
		}
		hl = (size_t)(hend - p - 1);
		memcpy(u->host, p + 1, hl < sizeof(u->host) ? hl : 0);
		hend++;
	} else {
		hend = p;
		while (hend < slash && *hend != ':')
			hend++;
		hl = (size_t)(hend - p);
		if (hl < sizeof(u->host))
			memcpy(u->host, p, hl);
	}
	if (hl == 0 || hl >= sizeof(u->host)) {
		*why = "missing or over-long host";
		return -1;
	}
	u->host[hl] = '\0';
	u->port = u->tls ? 443 : 80;
	if (hend < slash && *hend == ':') {
		char *end;
		long port = strtol(hend + 1, &end, 10);

		if (end != slash || port <= 0 || port > 65535) {
			*why = "bad port";
			return -1;
		}
		u->port = (int)port;
	} else if (hend != slash) {
		*why = "bad host";
		return -1;
	}
	if (*slash == '/')
		u->path = xstrndup(slash, strcspn(slash, "#"));
	else
		xasprintf(&u->path, "/%.*s", (int)strcspn(slash, "#"), slash);
	return 0;
}

/* Free what a parsed URL owns (its path). */
void
hclient_url_clear(struct hclient_url *u)
{
	free(u->path);
	u->path = NULL;
}

/* Resolve href against base: absolute, scheme-relative, host-relative or path-relative. */
int
hclient_url_resolve(const char *base, const char *href, struct buf *out)
{
	const char *p, *q;
	size_t originlen;

	buf_reset(out);
	if (strncmp(href, "http://", 7) == 0 || strncmp(href, "https://", 8) == 0) {
		buf_addstr(out, href);
		return 0;
	}
	if ((p = strstr(base, "://")) == NULL)
		return -1;
	if (strncmp(href, "//", 2) == 0) {
		buf_add(out, base, (size_t)(p - base) + 1);
		buf_addstr(out, href);
		return 0;
	}
	originlen = (size_t)(p + 3 - base) + strcspn(p + 3, "/?#");
	buf_add(out, base, originlen);
	if (href[0] == '/') {
		buf_addstr(out, href);
		return 0;
	}
	/* path-relative: keep the base path up to its last '/' */
	q = base + originlen;
	if (*q == '/') {
		size_t plen = strcspn(q, "?#");
		const char *last = q;

		for (const char *s = q; s < q + plen; s++)
			if (*s == '/')
				last = s;
		buf_add(out, q, (size_t)(last - q) + 1);
	} else
		buf_addch(out, '/');
	buf_addstr(out, href);
	return 0;
}

/* url plus "name=value" in its query, with the value percent-encoded. */
void
hclient_url_add_query(struct buf *out, const char *url, const char *name, const char *value)
{
	size_t ulen = strcspn(url, "#");

	buf_reset(out);
	buf_add(out, url, ulen);
	buf_addch(out, memchr(url, '?', ulen) != NULL ? '&' : '?');
	util_url_encode(out, name, strlen(name));
	buf_addch(out, '=');
	util_url_encode(out, value, strlen(value));
}

/* The name of an error, for logs. */
const char *
hclient_err_name(enum hclient_err e)
{
	static const char *const names[] = { "ok", "connect", "tls", "timeout", "protocol",
		"closed" };

	return (unsigned)e < nitems(names) ? names[e] : "?";
}

/* ---- context ---- */

/* Free a killed connection (the reaper, on a later turn). */
static void
hclient_conn_free(struct reap_link *l)
{
	struct hclient_conn *c = container_of(l, struct hclient_conn, link);

	bev_rd_free(c->rd);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	hparse_free(c->hp);
	event_free(c->timer);
	free(c);
}

/* A client context: TLS context, resolver, pools. */
struct hclient *
hclient_new(struct event_base *base, const struct hclient_opts *o, char **cause)
{
	struct hclient *hc = xcalloc(1, sizeof(*hc));

	hc->base = base;
	hc->opts = *o;
	hc->opts.ca_file = NULL;
	hc->user_agent = o->user_agent ? xstrdup(o->user_agent) : NULL;
	if ((hc->ssl_ctx = tls_client_ctx(o->ca_file, o->verify, cause)) == NULL) {
		free(hc->user_agent);
		free(hc);
		return NULL;
	}
	hc->dns = evdns_base_new(
	    base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (hc->dns == NULL) {
		/* no resolv.conf: hosts file and numeric hosts still work */
		hc->dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		if (hc->dns != NULL)
			evdns_base_load_hosts(hc->dns, NULL);
	}
	TAILQ_INIT(&hc->conns);
	hc->pools = hmap_create();
	TAILQ_INIT(&hc->owners);
	hc->reap = reap_hold(base);
	return hc;
}

/* Free a pool (hclient_free, once every connection is gone). */
static void
hclient_pool_free(const char *key, void *pool, void *arg)
{
	(void)key;
	(void)arg;
	free(pool);
}

/* The pool of an origin and class, made on first use. */
static struct hclient_pool *
hclient_pool_get(struct hclient *hc, int longpoll, const struct hclient_url *u)
{
	struct hclient_pool *p = hc->last[longpoll != 0];
	char key[300];

	if (p != NULL && p->port == u->port && p->tls == u->tls && strcmp(p->host, u->host) == 0)
		return p;
	snprintf(key, sizeof key, "%c%c %s %d", longpoll ? 'L' : 'C', u->tls ? 's' : 'p', u->host,
	    u->port);
	if ((p = hmap_get(hc->pools, key)) == NULL) {
		p = xcalloc(1, sizeof *p);
		TAILQ_INIT(&p->idle);
		p->tls = u->tls;
		p->port = u->port;
		snprintf(p->host, sizeof p->host, "%s", u->host);
		hmap_put(hc->pools, key, p);
	}
	return hc->last[longpoll != 0] = p;
}

/* Free everything: owners' requests (no callbacks), connections, resolver. */
void
hclient_free(struct hclient *hc)
{
	struct hclient_owner *o;
	struct hclient_conn *c;

	if (hc == NULL)
		return;
	while ((o = TAILQ_FIRST(&hc->owners)) != NULL)
		hclient_owner_free(o);
	while ((c = TAILQ_FIRST(&hc->conns)) != NULL)
		hclient_conn_kill(c);
	reap_now(hc->reap);
	reap_release(hc->reap);
	hmap_each(hc->pools, hclient_pool_free, NULL);
	hmap_free(hc->pools);
	if (hc->dns != NULL)
		evdns_base_free(hc->dns, 0);
	SSL_CTX_free(hc->ssl_ctx);
	free(hc->user_agent);
	free(hc);
}

/* Open upstream connections. */
unsigned
hclient_nconns(const struct hclient *hc)
{
	return hc->nconns;
}

/* ---- owners ---- */

/* A new owner of requests, allowed max at a time. */
struct hclient_owner *
hclient_owner_new(struct hclient *hc, unsigned max_outstanding)
{
	struct hclient_owner *o = xcalloc(1, sizeof(*o));

	o->hc = hc;
	o->max = max_outstanding ? max_outstanding : 1;
	TAILQ_INIT(&o->reqs);
	TAILQ_INSERT_TAIL(&hc->owners, o, entry);
	return o;
}

/* Cancel an owner's requests (no callbacks) and free it. */
void
hclient_owner_free(struct hclient_owner *o)
{
	struct hclient_req *r;

	if (o == NULL)
		return;
	while ((r = TAILQ_FIRST(&o->reqs)) != NULL)
		hclient_cancel(r);
	TAILQ_REMOVE(&o->hc->owners, o, entry);
	free(o);
}

/* Requests of an owner still waiting for their answer. */
unsigned
hclient_owner_outstanding(const struct hclient_owner *o)
{
	return o->n;
}

/* ---- requests ---- */

/* Unlink a request from its owner and free it. */
static void
hclient_req_free(struct hclient_req *r)
{
	TAILQ_REMOVE(&r->owner->reqs, r, entry);
	r->owner->n--;
	event_free(r->timer);
	hclient_url_clear(&r->url);
	buf_free(&r->wire);
	free(r);
}

/* Run the request's callback once, then free it. */
static void
hclient_deliver(
    struct hclient_req *r, enum hclient_err err, const char *errstr, const struct hparse_msg *msg)
{
	struct hclient_resp resp;
	hclient_cb cb = r->cb;
	void *arg = r->arg;

	memset(&resp, 0, sizeof(resp));
	resp.err = err;
	resp.errstr = errstr;
	resp.body = "";
	if (msg != NULL) {
		resp.status = msg->status;
		resp.msg = msg;
		resp.body = msg->body.data ? msg->body.data : "";
		resp.len = msg->body.len;
	}
	resp.upgraded = r->upgraded;
	if (r->conn != NULL)
		r->conn->req = NULL;
	r->conn = NULL;
	hclient_req_free(r); /* before the callback: it may free the owner */
	cb(&resp, arg);
}

/* The request took too long: its connection is closed. */
static void
hclient_req_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct hclient_req *r = arg;
	struct hclient_conn *c = r->conn;

	if (c != NULL) {
		c->req = NULL;
		r->conn = NULL;
		hclient_conn_kill(c);
	}
	if (r->connect_failed)
		hclient_deliver(r, HCLIENT_ERR_CONNECT, "cannot start a connection", NULL);
	else
		hclient_deliver(r, HCLIENT_ERR_TIMEOUT, "no response in time", NULL);
}

/* Serialize the request line, headers and body. */
static void
hclient_req_build(struct hclient *hc, struct hclient_req *r, const char *method,
    const char *const *hdrs, const char *body, size_t len)
{
	struct buf *w = &r->wire;
	int v6 = strchr(r->url.host, ':') != NULL;
	int defport = r->url.port == (r->url.tls ? 443 : 80);

	buf_reserve(w, 256 + len);
	buf_addstr(w, method);
	buf_addch(w, ' ');
	buf_addstr(w, r->url.path);
	buf_addstr(w, v6 ? " HTTP/1.1\r\nHost: [" : " HTTP/1.1\r\nHost: ");
	buf_addstr(w, r->url.host);
	if (v6)
		buf_addch(w, ']');
	if (!defport) {
		buf_addch(w, ':');
		buf_addint(w, r->url.port);
	}
	buf_addstr(w, "\r\n");
	if (hc->user_agent != NULL)
		buf_add_header(w, "User-Agent", hc->user_agent);
	for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL && hdrs[i + 1] != NULL; i += 2)
		buf_add_header(w, hdrs[i], hdrs[i + 1]);
	if (body != NULL || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		buf_addstr(w, "Content-Length: ");
		buf_addint(w, (long long)len);
		buf_addstr(w, "\r\n");
	}
	buf_addstr(w, "\r\n");
	if (body != NULL)
		buf_add(w, body, len);
}

/* Start a request on an idle or a new connection. */
struct hclient_req *
hclient_request(struct hclient_owner *o, const char *method, const char *url,
    const char *const *hdrs, const char *body, size_t len, unsigned timeout_ms, int flags,
    hclient_cb cb, void *arg)
{
	struct hclient_req *r;
	struct timeval tv;
	const char *why;

	if (o->n >= o->max) {
		log_debug("hclient: %s %s refused: %u requests outstanding", method, url, o->n);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	if (hclient_url_parse(url, &r->url, &why) != 0) {
		log_warn("hclient: bad URL: %s", why);
		free(r);
		return NULL;
	}
	r->owner = o;
	r->cb = cb;
	r->arg = arg;
	r->longpoll = (flags & HCLIENT_LONGPOLL) != 0;
	r->upgrade = (flags & HCLIENT_UPGRADE) != 0;
	r->idempotent = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
	    strcmp(method, "DELETE") == 0;
	buf_init(&r->wire);
	hclient_req_build(o->hc, r, method, hdrs, body, len);
	TAILQ_INSERT_TAIL(&o->reqs, r, entry);
	o->n++;
	r->timer = evtimer_new(o->hc->base, hclient_req_timeout, r);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(r->timer, &tv);
	hclient_dispatch(r);
	return r;
}

/* Forget a request; its connection (mid-exchange) is closed. */
void
hclient_cancel(struct hclient_req *r)
{
	struct hclient_conn *c;

	if (r == NULL)
		return;
	if ((c = r->conn) != NULL) {
		c->req = NULL;
		r->conn = NULL;
		hclient_conn_kill(c);
	}
	hclient_req_free(r);
}

/* ---- connections ---- */

/* Change a connection's state (the only place that does). */
static void
hclient_conn_set_state(struct hclient_conn *c, enum hclient_conn_state st)
{
	log_debug("hclient %s:%d: %s -> %s", c->host, c->port, hclient_conn_state_names[c->state],
	    hclient_conn_state_names[st]);
	c->state = st;
}

/* c may take a request now: index it (dispatch looks only here). */
static void
hclient_idle_add(struct hclient_conn *c)
{
	if (!c->in_idle) {
		TAILQ_INSERT_TAIL(&c->pool->idle, c, idle_entry);
		c->pool->n++;
		c->in_idle = 1;
	}
}

/* c is taken or gone: out of the idle index. */
static void
hclient_idle_del(struct hclient_conn *c)
{
	if (c->in_idle) {
		TAILQ_REMOVE(&c->pool->idle, c, idle_entry);
		c->pool->n--;
		c->in_idle = 0;
	}
}

/* The connection a 101 switched to another protocol, now the caller's (see hclient.h). */
struct bufferevent *
hclient_take_upgraded(const struct hclient_resp *resp)
{
	struct hclient_conn *c = resp->upgraded;
	struct bufferevent *bev;

	if (c == NULL || c->state == HCLIENT_CONN_DEAD || c->bev == NULL)
		return NULL;
	bev = c->bev;
	c->bev = NULL;
	if (c->rd != NULL) {
		bev_rd_release(c->rd); /* the new owner reads through the bufferevent */
		c->rd = NULL;
	}
	bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	hclient_conn_kill(c);
	return bev;
}

/* Close a connection now; its memory goes on the next loop turn. */
static void
hclient_conn_kill(struct hclient_conn *c)
{
	struct hclient *hc = c->hc;

	if (c->state == HCLIENT_CONN_DEAD)
		return;
	hclient_conn_set_state(c, HCLIENT_CONN_DEAD);
	if (c->rd != NULL)
		bev_rd_set(c->rd, 0);
	if (c->bev != NULL) {
		bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	}
	evtimer_del(c->timer);
	hclient_idle_del(c);
	TAILQ_REMOVE(&hc->conns, c, entry);
	hc->nconns--;
	reap_later(hc->reap, &c->link, hclient_conn_free);
}

/* An idle connection's time is up. */
static void
hclient_conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hclient_conn *c = arg;
	struct hclient_req *r = c->req;

	hclient_conn_kill(c);
	if (r != NULL)
		hclient_deliver(r, HCLIENT_ERR_CONNECT, "connect timeout", NULL);
}

/* Why a TLS connection failed, as text in buf. */
static enum hclient_err
hclient_conn_why(struct hclient_conn *c, char *buf, size_t len)
{
	unsigned long e;
	int sockerr = EVUTIL_SOCKET_ERROR();
	int dnserr = bufferevent_socket_get_dns_error(c->bev);

	if (dnserr != 0) {
		snprintf(buf, len, "cannot resolve %s: %s", c->host, evutil_gai_strerror(dnserr));
		return HCLIENT_ERR_CONNECT;
	}
	if (c->tls) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
		long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;

		if (vr != X509_V_OK) {
			snprintf(buf, len, "certificate of %s rejected: %s", c->host,
			    X509_verify_cert_error_string(vr));
			return HCLIENT_ERR_TLS;
		}
		if ((e = bufferevent_get_openssl_error(c->bev)) != 0) {
			char eb[120];

			ERR_error_string_n(e, eb, sizeof(eb));
			snprintf(buf, len, "TLS with %s failed: %s", c->host, eb);
			while (bufferevent_get_openssl_error(c->bev) != 0)
				;
			return HCLIENT_ERR_TLS;
		}
	}
	snprintf(buf, len, "cannot connect to %s:%d: %s", c->host, c->port,
	    sockerr ? evutil_socket_error_to_string(sockerr) : "connection closed");
	return HCLIENT_ERR_CONNECT;
}

/* Whether any byte of the current request may have left for the peer. */
static int
hclient_conn_wrote(struct hclient_conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev)) < c->out_mark;
}

/* The connection failed or closed. */
static void
hclient_conn_lost(struct hclient_conn *c, short what)
{
	struct hclient_req *r = c->req;
	enum hclient_err err;
	char why[512];

	if (r == NULL) {
		hclient_conn_kill(c); /* an idle connection closed by the peer */
		return;
	}
	if ((what & BEV_EVENT_EOF) && c->got > 0 && hparse_eof(c->hp) == HPARSE_DONE) {
		c->req = NULL;
		r->conn = NULL;
		hclient_deliver(r, HCLIENT_OK, NULL, hparse_msg(c->hp));
		hclient_conn_kill(c);
		return;
	}
	if (c->reused && c->got == 0 && !r->retried && !r->longpoll &&
	    (r->idempotent || !hclient_conn_wrote(c))) {
		/* a keep-alive connection the server had closed: try once on a new one
		 * (not for long-polls: their owner re-sends them after a back-off; a
		 * POST only if none of it left: the server may have acted on it) */
		c->req = NULL;
		r->conn = NULL;
		r->retried = 1;
		hclient_conn_kill(c);
		hclient_dispatch(r);
		return;
	}
	if (c->state != HCLIENT_CONN_CONNECTING) {
		err = HCLIENT_ERR_CLOSED;
		snprintf(
		    why, sizeof(why), "connection to %s:%d closed mid-response", c->host, c->port);
	} else
		err = hclient_conn_why(c, why, sizeof(why));
	c->req = NULL;
	r->conn = NULL;
	hclient_conn_kill(c);
	hclient_deliver(r, err, why, NULL);
}

/* Put a connection that finished a response back in the pool (or close it). */
static void
hclient_conn_idle(struct hclient_conn *c)
{
	struct hclient *hc = c->hc;
	struct timeval tv;

	if (c->pool->n >= hc->opts.max_idle_per_origin) {
		hclient_conn_kill(c);
		return;
	}
	hparse_reset(c->hp);
	c->got = 0;
	c->reused = 1;
	c->idle_since = util_now_ms();
	hclient_conn_set_state(c, HCLIENT_CONN_IDLE);
	hclient_idle_add(c);
	tv.tv_sec = hc->opts.idle_timeout_ms / 1000;
	tv.tv_usec = (hc->opts.idle_timeout_ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

/* Response bytes arrived. */
static void
hclient_conn_read(struct bufferevent *bev, void *arg)
{
	struct hclient_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct hclient_req *r;
	enum hparse_result res;
	size_t n, used;
	int keep;

	while ((n = evbuffer_get_length(in)) > 0) {
		const char *p = (const char *)evbuffer_pullup(in, -1);

		if ((r = c->req) == NULL) {
			hclient_conn_kill(c); /* bytes nobody asked for */
			return;
		}
		res = hparse_feed(c->hp, p, n, &used);
		evbuffer_drain(in, used);
		c->got += used;
		if (res == HPARSE_MORE)
			return;
		c->req = NULL;
		r->conn = NULL;
		if (res == HPARSE_ERROR) {
			hclient_conn_kill(c);
			hclient_deliver(r, HCLIENT_ERR_PROTOCOL, hparse_error_str(c->hp), NULL);
			return;
		}
		if (r->upgrade && hparse_msg(c->hp)->status == 101)
			r->upgraded = c; /* the callback may take it (hclient_take_upgraded) */
		keep = hparse_msg(c->hp)->keep_alive && evbuffer_get_length(in) == 0 && !c->eof &&
		    r->upgraded == NULL;
		if (keep) { /* a request started from the callback may take it */
			hclient_conn_set_state(c, HCLIENT_CONN_FINISHING);
			hclient_idle_add(c);
		}
		hclient_deliver(r, HCLIENT_OK, NULL, hparse_msg(c->hp));
		if (c->state == HCLIENT_CONN_DEAD)
			return;
		if (c->req == NULL)
			hclient_idle_del(c); /* hclient_conn_idle indexes it again if it stays */
		if (c->req != NULL) {
			/* taken: the parser (whose message the callback read) starts over now */
			hparse_reset(c->hp);
			c->got = 0;
			c->reused = 1;
		} else if (keep)
			hclient_conn_idle(c);
		else
			hclient_conn_kill(c);
		return;
	}
}

/* Connected (TCP, and TLS handshake done), or failed. */
static void
hclient_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct hclient_conn *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		bev_nodelay(bufferevent_getfd(bev));
		/* plain TCP: a reader reads from now on (libevent, if there is no memory for one) */
		if (!c->tls && (c->rd = bev_rd_new(bev)) != NULL)
			bev_rd_set(c->rd, 1);
		else if (!c->tls)
			bufferevent_enable(bev, EV_READ);
		if (c->state == HCLIENT_CONN_CONNECTING)
			hclient_conn_set_state(c, HCLIENT_CONN_BUSY);
		evtimer_del(c->timer);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		c->eof = 1;
		if (what & BEV_EVENT_EOF)
			hclient_conn_read(bev, arg); /* whatever is buffered first */
		if (c->state != HCLIENT_CONN_DEAD)
			hclient_conn_lost(c, what);
	}
}

/* A new connection to the request's origin. */
static struct hclient_conn *
hclient_conn_new(struct hclient *hc, struct hclient_req *r, char **cause)
{
	struct hclient_conn *c = xcalloc(1, sizeof(*c));
	struct hparse_limits lim;
	struct timeval tv;
	SSL *ssl;

	c->hc = hc;
	c->pool = hclient_pool_get(hc, r->longpoll, &r->url);
	c->tls = r->url.tls;
	c->port = r->url.port;
	c->longpoll = r->longpoll;
	snprintf(c->host, sizeof(c->host), "%s", r->url.host);
	if (c->tls) {
		if ((ssl = tls_client_ssl(hc->ssl_ctx, c->host, cause)) == NULL) {
			free(c);
			return NULL;
		}
		c->bev = bufferevent_openssl_socket_new(hc->base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	} else
		c->bev = bufferevent_socket_new(
		    hc->base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	lim.max_line = hc->opts.max_header_bytes;
	lim.max_header_bytes = hc->opts.max_header_bytes;
	lim.max_headers = 100;
	lim.max_body = hc->opts.max_body;
	c->hp = hparse_new(HPARSE_RESPONSE, &lim);
	c->timer = evtimer_new(hc->base, hclient_conn_timer, c);
	bufferevent_setcb(c->bev, hclient_conn_read, NULL, hclient_conn_event, c);
	/* plain TCP is read by a reader once connected (hclient_conn_event) */
	bufferevent_enable(c->bev, c->tls ? EV_READ | EV_WRITE : EV_WRITE);
	TAILQ_INSERT_TAIL(&hc->conns, c, entry);
	hc->nconns++;
	tv.tv_sec = hc->opts.connect_timeout_ms / 1000;
	tv.tv_usec = (hc->opts.connect_timeout_ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
	if (bufferevent_socket_connect_hostname(c->bev, hc->dns, AF_UNSPEC, c->host, c->port) !=
	    0) {
		xasprintf(cause, "cannot connect to %s:%d", c->host, c->port);
		hclient_conn_kill(c);
		return NULL;
	}
	return c;
}

/*
 * Whether an idle connection can take a request: the peer has neither
 * closed it nor sent anything. A server closes a keep-alive connection
 * when it has been idle for its own timeout (seconds); if that FIN has
 * reached us but not yet the loop, peeking at the socket finds it, so that
 * no request is written into a dead one. A connection idle for less than
 * HCLIENT_FRESH_MS needs no peek (one system call per request saved under
 * load): no server's idle timeout is that short, and one that closes
 * sooner without saying "Connection: close" could race a peek just as well
 * (its FIN may still be on the wire). Nor does one whose keep-alive
 * response was read in this very callback (the next P-GET, a queued
 * command): the server has just said it keeps the connection.
 */
static int
hclient_conn_usable(struct hclient_conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	char ch;
	ssize_t n;

	if (c->eof || fd < 0 || evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		return 0;
	if (c->state == HCLIENT_CONN_FINISHING)
		return 1;
	if (util_now_ms() - c->idle_since < HCLIENT_FRESH_MS)
		return 1;
	n = recv(fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

/* Put the request on an idle connection of its origin and class, or a new one. */
static void
hclient_dispatch(struct hclient_req *r)
{
	struct hclient *hc = r->owner->hc;
	struct hclient_pool *pool = hclient_pool_get(hc, r->longpoll, &r->url);
	struct hclient_conn *c, *next;
	char *cause = NULL;
	int reuse;

	for (c = TAILQ_FIRST(&pool->idle); c != NULL; c = next) {
		next = TAILQ_NEXT(c, idle_entry);
		if (c->req == NULL && (c->reused || c->state == HCLIENT_CONN_FINISHING)) {
			if (hclient_conn_usable(c))
				break;
			hclient_conn_kill(c); /* closed by the peer: the request never saw it */
		}
	}
	if ((reuse = c != NULL)) {
		evtimer_del(c->timer);
		hclient_idle_del(c);
	} else if ((c = hclient_conn_new(hc, r, &cause)) == NULL) {
		/* no callback from inside hclient_request: fail through the timer */
		struct timeval tv = { 0, 0 };

		log_warn("hclient: %s", cause ? cause : "connection failed");
		free(cause);
		r->connect_failed = 1;
		evtimer_del(r->timer);
		evtimer_add(r->timer, &tv);
		return;
	}
	c->req = r;
	r->conn = c;
	if (reuse)
		hclient_conn_set_state(c, HCLIENT_CONN_BUSY);
	c->out_mark = evbuffer_get_length(bufferevent_get_output(c->bev)) + r->wire.len;
	if (!reuse || c->tls || c->out_mark != r->wire.len) {
		bufferevent_write(c->bev, r->wire.data, r->wire.len);
		bufferevent_enable(c->bev, EV_WRITE);
		return;
	}
	/* An idle plain connection: the request leaves now, in one writev. */
	bev_hold_writes(c->bev);
	bufferevent_write(c->bev, r->wire.data, r->wire.len);
	bev_write_now(c->bev);
}
