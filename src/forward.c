/*
 * forward.c: forwarding desktop requests to their agent's owner (see
 * forward.h). Owns one HTTP client context (kept-alive connections per
 * owner node, long-polls on connections of their own) and the requests in
 * flight, each tied to its desktop request: a desktop that goes away
 * cancels its forwarded request. Cookies and credentials pass through
 * untouched and are never logged.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "forward.h"
#include "gws_reply.h"
#include "hclient.h"
#include "httpd.h"
#include "log.h"
#include "tunnel.h"

#define FORWARD_TIMEOUT_MS   30000		     /* a command's answer from the owner */
#define FORWARD_POLL_MARGIN  30000		     /* a long-poll: CometD's timeout plus this */
#define FORWARD_MAX_BODY     (16 << 20)		     /* an owner's response body */
#define FORWARD_MAX_HEADERS  (64 << 10)		     /* an owner's response header block */
#define FORWARD_MAX_INFLIGHT 100000		     /* requests forwarded at once */
#define FORWARD_NOTIFY	     "/api/v2/notifications" /* CometD: long-polls */
#define FORWARD_UPGRADE_MS   10000		     /* the owner's answer to a WebSocket upgrade */

struct forward {
	struct event_base *base;
	const struct config *cfg;
	char *node;
	struct hclient *hc;
	struct hclient_owner *ho;
	struct tunnels *tunnels; /* WebSockets joined to their owner */
	unsigned n;
	TAILQ_HEAD(, forward_req) reqs; /* in flight */
};

/* One request in flight to its owner. */
struct forward_req {
	struct forward *f;
	struct http_req *req;
	struct hclient_req *hr;
	char *holder;
	int longpoll; /* a CometD request: safe to send again, so 503 whatever failed */
	struct forward_again again; /* route NULL: the owner came from Redis just now */
	TAILQ_ENTRY(forward_req) entry;
};

/* Headers that belong to one connection, never passed on (RFC 9110 7.6.1). */
static const char *const forward_hop[] = { "Connection", "Keep-Alive", "Proxy-Connection", "TE",
	"Trailer", "Transfer-Encoding", "Upgrade", "Proxy-Authenticate", "Proxy-Authorization",
	"Host", "Content-Length" };

static void forward_req_free(struct forward_req *);

/* Make the forwarder. */
struct forward *
forward_create(struct event_base *base, const struct config *cfg, char **cause)
{
	struct forward *f = xcalloc(1, sizeof *f);
	struct hclient_opts o;

	memset(&o, 0, sizeof o);
	o.verify = 1;
	o.ca_file = cfg->cluster_ca_file;
	o.connect_timeout_ms = 2000;
	o.max_body = FORWARD_MAX_BODY;
	o.max_header_bytes = FORWARD_MAX_HEADERS;
	o.max_idle_per_origin = 32;
	o.idle_timeout_ms = 60000;
	f->base = base;
	f->cfg = cfg;
	TAILQ_INIT(&f->reqs);
	f->node = xstrdup("");
	if ((f->hc = hclient_new(base, &o, cause)) == NULL) {
		free(f->node);
		free(f);
		return NULL;
	}
	f->ho = hclient_owner_new(f->hc, FORWARD_MAX_INFLIGHT);
	f->tunnels = tunnels_create(base, (size_t)cfg->cometd_ws_write_threshold_bytes);
	return f;
}

/* This node's id, for FORWARD_HEADER. */
void
forward_set_node(struct forward *f, const char *node)
{
	free(f->node);
	f->node = xstrdup(node);
}

/* Use a reloaded configuration. */
void
forward_set_config(struct forward *f, const struct config *cfg)
{
	f->cfg = cfg;
	tunnels_set_threshold(f->tunnels, (size_t)cfg->cometd_ws_write_threshold_bytes);
}

/* Free everything (no callback runs). */
void
forward_free(struct forward *f)
{
	struct forward_req *fr;

	if (f == NULL)
		return;
	hclient_owner_free(f->ho); /* no callback runs */
	while ((fr = TAILQ_FIRST(&f->reqs)) != NULL)
		forward_req_free(fr); /* its desktop request went with the server */
	tunnels_free(f->tunnels);
	hclient_free(f->hc);
	free(f->node);
	free(f);
}

/* The client context. */
struct hclient *
forward_client(struct forward *f)
{
	return f->hc;
}

/* Requests in flight. */
unsigned
forward_inflight(const struct forward *f)
{
	return f->n;
}

/* WebSockets tunnelled to their owner. */
unsigned
forward_tunnels(const struct forward *f)
{
	return tunnels_count(f->tunnels);
}

/* Whether header name is hop-by-hop, by the list or by the Connection header's tokens. */
static int
forward_is_hop(const char *name, const char *connection)
{
	size_t n = strlen(name), k;
	const char *p;

	for (size_t i = 0; i < nitems(forward_hop); i++) {
		if (strcasecmp(name, forward_hop[i]) == 0)
			return 1;
	}
	for (p = connection; p != NULL && *p != '\0'; p += k) {
		p += strspn(p, " \t,");
		k = strcspn(p, " \t,");
		if (k == n && k > 0 && strncasecmp(p, name, n) == 0)
			return 1;
	}
	return 0;
}

/* Free a request in flight (answered or gone). */
static void
forward_req_free(struct forward_req *fr)
{
	TAILQ_REMOVE(&fr->f->reqs, fr, entry);
	fr->f->n--;
	free(fr->holder);
	free(fr);
}

/* 503 with Retry-After: the owner could not answer. */
static void
forward_unavailable(struct http_req *req, const char *why)
{
	http_req_add_header(req, "Retry-After", "1");
	gws_reply_error(req, 503, GWS_INTERNAL, why);
}

/*
 * A forward to a hinted owner failed: tell its router; 1 if req was handed to
 * it to route again (nothing was done, so sending it again is safe; fr freed).
 */
static int
forward_failed(struct forward_req *fr, const struct hclient_resp *resp)
{
	struct forward_again again = fr->again;
	struct http_req *req = fr->req;
	char *holder = fr->holder;

	if (again.route == NULL || (resp->err == HCLIENT_OK && resp->status != 503))
		return 0;
	if (resp->err != HCLIENT_OK && resp->err != HCLIENT_ERR_CONNECT &&
	    resp->err != HCLIENT_ERR_TLS) {
		again.route(again.ctx, NULL, holder, again.go, again.arg); /* forgets it only */
		return 0;
	}
	log_debug("forward: %s %s to node %s: %s; routing it again", http_req_method(req),
	    http_req_path(req), holder,
	    resp->err == HCLIENT_OK ? "503" : hclient_err_name(resp->err));
	fr->holder = NULL;
	forward_req_free(fr);
	again.route(again.ctx, req, holder, again.go, again.arg);
	free(holder);
	return 1;
}

/* The owner answered (or could not be reached): answer the desktop with it. */
static void
forward_done(const struct hclient_resp *resp, void *arg)
{
	struct forward_req *fr = arg;
	struct http_req *req = fr->req;
	const struct hparse_msg *m = resp->msg;
	const char *ctype = NULL, *conn;
	static struct log_limit ll;

	http_req_set_abort(req, NULL, NULL);
	if (forward_failed(fr, resp))
		return;
	if (resp->err != HCLIENT_OK) {
		log_limited(&ll, LOG_WARN, "forward: %s %s for %s to node %s: %s",
		    http_req_method(req), http_req_path(req),
		    http_req_user(req) ? http_req_user(req) : "?", fr->holder,
		    resp->errstr ? resp->errstr : hclient_err_name(resp->err));
		if (resp->err == HCLIENT_ERR_CONNECT || resp->err == HCLIENT_ERR_TLS ||
		    strcmp(http_req_method(req), "GET") == 0 ||
		    strcmp(http_req_method(req), "HEAD") == 0 || fr->longpoll)
			forward_unavailable(req, "The agent's node cannot be reached; retry later");
		else /* sent, and maybe acted on: not a 503, which says nothing was done */
			gws_reply_error(req, 502, GWS_INTERNAL,
			    "The agent's node went away while handling the request; it may have "
			    "been done");
		forward_req_free(fr);
		return;
	}
	conn = hparse_header(m, "Connection");
	for (size_t i = 0; i < m->nheaders; i++) {
		const char *n = m->headers[i].name;

		if (strcasecmp(n, "Content-Type") == 0) {
			if (ctype == NULL)
				ctype = m->headers[i].value;
			continue;
		}
		if (!forward_is_hop(n, conn))
			http_req_add_header(req, n, m->headers[i].value);
	}
	log_debug("forward: %s %s to node %s -> %d", http_req_method(req), http_req_path(req),
	    fr->holder, resp->status);
	http_req_reply(req, resp->status, ctype, resp->body, resp->len);
	forward_req_free(fr);
}

/* The owner answered a WebSocket upgrade: 101 joins the two connections, else as forward_done. */
static void
forward_upgraded(const struct hclient_resp *resp, void *arg)
{
	struct forward_req *fr = arg;
	struct http_req *req = fr->req;
	struct bufferevent *up;

	if (resp->err != HCLIENT_OK || resp->status != 101 ||
	    (up = hclient_take_upgraded(resp)) == NULL) {
		forward_done(resp, arg);
		return;
	}
	http_req_set_abort(req, NULL, NULL);
	tunnel_open(fr->f->tunnels, req, resp->msg, up, fr->holder);
	forward_req_free(fr);
}

/* The desktop went away: forget its forwarded request. */
static void
forward_abort(struct http_req *req, void *arg)
{
	struct forward_req *fr = arg;

	hclient_cancel(fr->hr);
	forward_req_free(fr);
}

/* The client's address as this node knows it, without a port ("[v6]:port" too). */
static void
forward_client_addr(struct http_req *req, struct buf *out)
{
	const char *c = http_req_client(req), *end;

	if (http_req_client(req) != http_req_peer(req) || c == NULL) {
		buf_addstr(out, c != NULL ? c : "");
		return;
	}
	if (c[0] == '[' && (end = strchr(c, ']')) != NULL) {
		buf_add(out, c + 1, (size_t)(end - c - 1));
		return;
	}
	end = strrchr(c, ':');
	buf_add(out, c, end != NULL ? (size_t)(end - c) : strlen(c));
}

/* Forward req to its owner; see forward.h. */
void
forward_request(struct forward *f, struct http_req *req, const char *url, const char *holder,
    const struct forward_again *again)
{
	const char *conn = http_req_header(req, "Connection"), *name, *value, *method, *body;
	const char **hdrs;
	size_t n = http_req_nheaders(req), k = 0, len;
	struct forward_req *fr;
	struct buf target, client;
	const char *upgrade = http_req_header(req, "Upgrade"), *host = http_req_header(req, "Host");
	unsigned timeout = FORWARD_TIMEOUT_MS;
	int flags = 0;

	buf_init(&target);
	buf_addstr(&target, url);
	while (target.len > 0 && target.data[target.len - 1] == '/')
		target.data[--target.len] = '\0';
	buf_addstr(&target, http_req_target(req));
	buf_init(&client);
	forward_client_addr(req, &client);
	hdrs = xcalloc(2 * n + 13, sizeof *hdrs);
	for (size_t i = 0; i < n; i++) {
		name = http_req_header_at(req, i, &value);
		if (forward_is_hop(name, conn) || strcasecmp(name, FORWARD_HEADER) == 0 ||
		    strcasecmp(name, "X-Forwarded-For") == 0 ||
		    strcasecmp(name, "X-Forwarded-Proto") == 0 ||
		    strcasecmp(name, "X-Forwarded-Host") == 0)
			continue;
		hdrs[k++] = name;
		hdrs[k++] = value;
	}
	if (upgrade != NULL) { /* WebSocket: joined to the owner if it switches (tunnel.c) */
		hdrs[k++] = "Connection";
		hdrs[k++] = "Upgrade";
		hdrs[k++] = "Upgrade";
		hdrs[k++] = upgrade;
		flags = HCLIENT_LONGPOLL | HCLIENT_UPGRADE;
		timeout = FORWARD_UPGRADE_MS;
	}
	hdrs[k++] = "X-Forwarded-For";
	hdrs[k++] = client.data != NULL ? client.data : "";
	hdrs[k++] = "X-Forwarded-Proto";
	hdrs[k++] = http_req_client_tls(req) ? "https" : "http";
	if (host != NULL) { /* the owner checks a WebSocket's Origin against it */
		hdrs[k++] = "X-Forwarded-Host";
		hdrs[k++] = host;
	}
	hdrs[k++] = FORWARD_HEADER;
	hdrs[k++] = f->node;
	hdrs[k] = NULL;
	if (upgrade == NULL &&
	    strncmp(http_req_path(req), FORWARD_NOTIFY, strlen(FORWARD_NOTIFY)) == 0) {
		flags = HCLIENT_LONGPOLL;
		timeout = (unsigned)f->cfg->cometd_timeout_ms + FORWARD_POLL_MARGIN;
	}
	method = http_req_method(req);
	if (strcmp(method, "HEAD") == 0)
		method = "GET"; /* the answer to HEAD is written without the body anyway */
	body = http_req_body(req, &len);
	fr = xcalloc(1, sizeof *fr);
	fr->f = f;
	fr->req = req;
	fr->holder = xstrdup(holder);
	fr->longpoll = (flags & HCLIENT_LONGPOLL) != 0;
	if (again != NULL)
		fr->again = *again;
	TAILQ_INSERT_TAIL(&f->reqs, fr, entry);
	f->n++;
	fr->hr = hclient_request(f->ho, method, target.data, hdrs, len > 0 ? body : NULL, len,
	    timeout, flags, upgrade != NULL ? forward_upgraded : forward_done, fr);
	free(hdrs);
	buf_free(&client);
	if (fr->hr == NULL) {
		log_warn("forward: cannot forward to node %s (its address or too many requests)",
		    holder);
		forward_req_free(fr);
		if (again != NULL) /* a cached address: route it from Redis */
			again->route(again->ctx, req, holder, again->go, again->arg);
		else
			forward_unavailable(req, "The agent's node cannot be reached; retry later");
	} else
		http_req_set_abort(req, forward_abort, fr);
	buf_free(&target);
}
