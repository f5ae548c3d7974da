/*
 * cometd_ws.c: CometD over WebSocket (see cometd_ws.h, docs/cometd.md). The
 * upgrade GET is checked in this order: cometd.websocket (off: not ours, the
 * endpoint answers 405 as before), Origin (a browser page of a foreign
 * origin gets 403 before anything else), the WebSocket headers, then the
 * same authentication as long-polling (cookie or Basic; auth answers 401).
 * An accepted socket carries one Bayeux stream of the authenticated agent:
 * each text message is a batch (cometd.c), each answer one text message.
 */
#include <stdlib.h>
#include <string.h>

#include "cometd.h"
#include "cometd_ws.h"
#include "gws_reply.h"
#include "log.h"
#include "proxy.h"
#include "util.h"
#include "ws.h"

struct cometd_ws {
	struct cometd *cd;
	struct auth *auth;
	const struct config *cfg;
	struct ws *ws;
};

/* One socket: the WebSocket connection and its Bayeux stream. */
struct cometd_ws_conn {
	struct ws_conn *wc;
	struct cometd_stream *st;
};

/* cometd_free's hook: free the transport first (its streams unpark their clients). */
static void
cometd_ws_release(void *arg)
{
	cometd_ws_free(arg);
}

/* Create the transport, freed by cometd_free (sockets are made by cometd_ws_route). */
struct cometd_ws *
cometd_ws_create(
    struct event_base *base, struct cometd *cd, const struct config *cfg, struct auth *auth)
{
	struct cometd_ws *cw = xcalloc(1, sizeof *cw);

	cw->cd = cd;
	cw->auth = auth;
	cw->cfg = cfg;
	cw->ws = ws_create(base);
	cometd_on_free(cd, cometd_ws_release, cw);
	return cw;
}

/* Limits for sockets accepted from now on. */
void
cometd_ws_set_config(struct cometd_ws *cw, const struct config *cfg)
{
	cw->cfg = cfg;
}

/* Free the transport and drop its sockets. */
void
cometd_ws_free(struct cometd_ws *cw)
{
	if (cw == NULL)
		return;
	ws_free(cw->ws);
	free(cw);
}

/* A text message from the socket: a batch of Bayeux messages. */
static void
cometd_ws_message(void *arg, const char *text, size_t len)
{
	struct cometd_ws_conn *x = arg;

	cometd_stream_recv(x->st, text, len);
}

/* The socket is gone (a later turn than its end): let its held connects go. */
static void
cometd_ws_closed(void *arg)
{
	struct cometd_ws_conn *x = arg;

	cometd_stream_close(x->st);
	free(x);
}

static const struct ws_handler cometd_ws_handler = { cometd_ws_message, cometd_ws_closed };

/* The stream's answer: one text message on the socket. */
static int
cometd_ws_send(void *arg, const char *text, size_t len)
{
	struct cometd_ws_conn *x = arg;

	return ws_send(x->wc, text, len);
}

/* The upgrade request is authenticated as agent: switch protocols. */
static void
cometd_ws_authed(struct http_req *req, const char *agent, void *arg)
{
	struct cometd_ws *cw = arg;
	const struct config *cfg = cw->cfg;
	struct ws_limits lim = { (size_t)cfg->cometd_ws_max_frame_bytes,
		(size_t)cfg->cometd_ws_max_message_bytes,
		(size_t)cfg->cometd_ws_write_threshold_bytes,
		(unsigned)cfg->cometd_ws_ping_interval_ms };
	struct cometd_ws_conn *x = xcalloc(1, sizeof *x);

	x->st = cometd_stream_open(cw->cd, agent, http_req_peer(req), cometd_ws_send, x);
	log_info("cometd: websocket of %s from %s", agent, http_req_peer(req));
	x->wc = ws_accept(cw->ws, req, &lim, &cometd_ws_handler, x);
}

/*
 * Whether origin is the gateway's own: scheme://Host of the request as the
 * client sent it (X-Forwarded-Host and -Proto when a trusted proxy or
 * another node forwarded it).
 */
static int
cometd_ws_same_origin(struct cometd_ws *cw, struct http_req *req, const char *origin)
{
	const char *host = http_req_header(req, "Host"), *fwd;
	const char *scheme = http_req_client_tls(req) ? "https://" : "http://";
	size_t n = strlen(scheme);

	if ((fwd = http_req_header(req, "X-Forwarded-Host")) != NULL &&
	    proxy_from_trusted(&cw->cfg->proxy_trusted, req))
		host = fwd;

	return host != NULL && strncmp(origin, scheme, n) == 0 && strcmp(origin + n, host) == 0;
}

/* A GET of the endpoint: upgrade it if it asks to (see cometd_ws.h). */
int
cometd_ws_route(struct cometd_ws *cw, struct http_req *req)
{
	const char *origin = http_req_header(req, "Origin"), *why;
	int status;

	if (!cw->cfg->cometd_websocket || http_req_header(req, "Upgrade") == NULL)
		return 0;
	if (origin != NULL && !cometd_ws_same_origin(cw, req, origin) &&
	    !auth_origin_allowed(cw->auth, origin)) {
		log_info("cometd: websocket from %s: origin not allowed", http_req_peer(req));
		gws_reply_error(req, 403, GWS_FORBIDDEN, "Origin not allowed");
		return 1;
	}
	if ((status = ws_upgrade_check(req, &why)) != 0) {
		log_info("cometd: websocket from %s: %d: %s", http_req_peer(req), status, why);
		if (status == 405)
			http_req_add_header(req, "Allow", "GET, POST");
		gws_reply_error(req, status, GWS_INVALID_STATE, why);
		return 1;
	}
	auth_request(cw->auth, req, AUTH_NO_CSRF, cometd_ws_authed, cw);
	return 1;
}
