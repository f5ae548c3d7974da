/*
 * ws.c: WebSocket connections over upgraded httpd connections (see ws.h).
 * libwslay does the framing, I/O-free: its receive callback takes bytes
 * from the bufferevent's input, its send callback appends them to the
 * bufferevent's output, which is written at once on a plain connection.
 * Everything wslay queues is moved to the output in the same call, so
 * frames leave in the order they were queued (wslay would put a control
 * frame ahead of data still in its own queue) and the output length is the
 * one bound to check against the write threshold.
 *
 * A connection is open, closing (a close frame queued; waiting for the
 * peer's close, bounded in time, or for the output to drain after an
 * error) or dead (condemned to the loop's reaper, reap.h; freed on a later
 * turn after its closed() callback). The state changes only in ws_conn_set_state().
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <openssl/evp.h>
#include <wslay/wslay.h>

#include "bev.h"
#include "log.h"
#include "reap.h"
#include "util.h"
#include "ws.h"

#define WS_GUID		 "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_CLOSE_WAIT_MS 2000 /* after our close frame: the peer's answer within this */

enum ws_state {
	WS_OPEN,
	WS_CLOSING,
	WS_DEAD,
};

static const char *const ws_state_names[] = { "open", "closing", "dead" };

struct ws_conn {
	struct ws *ws;
	enum ws_state state;
	struct bufferevent *bev;
	struct http_conn *hc; /* NULL: bev is not ours to close */
	int plain;	      /* output may be written at once */
	char peer[64];
	wslay_event_context_ptr ctx;
	struct ws_limits lim;
	const struct ws_handler *h;
	void *arg;
	struct event *ping;
	struct event *linger;
	int heard;	    /* input since the last ping */
	int pinged;	    /* a ping is waiting for its answer */
	int in_recv;	    /* inside wslay_event_recv: flush afterwards */
	int failed;	    /* we closed on an error: read no more, drop once sent */
	int drop_drained;   /* drop once the output has drained */
	uint16_t pend_code; /* ws_close() during a receive: applied after it */
	char pend_reason[64];
	TAILQ_ENTRY(ws_conn) entry;
	struct reap_link link; /* condemned once dropped */
};

struct ws {
	struct event_base *base;
	TAILQ_HEAD(, ws_conn) conns;
	struct reap *reap;
};

static void ws_flush(struct ws_conn *);

/* Change a connection's state (the only place that does). */
static void
ws_conn_set_state(struct ws_conn *c, enum ws_state st)
{
	log_debug("ws %s: %s -> %s", c->peer, ws_state_names[c->state], ws_state_names[st]);
	c->state = st;
}

/* Free a dropped connection (the reaper, on a later turn), after telling its owner. */
static void
ws_conn_free(struct reap_link *l)
{
	struct ws_conn *c = container_of(l, struct ws_conn, link);

	c->h->closed(c->arg);
	wslay_event_context_free(c->ctx);
	event_free(c->ping);
	event_free(c->linger);
	free(c);
}

/* Create the connection set of a server. */
struct ws *
ws_create(struct event_base *base)
{
	struct ws *ws = xcalloc(1, sizeof *ws);

	ws->base = base;
	TAILQ_INIT(&ws->conns);
	ws->reap = reap_hold(base);
	return ws;
}

/* The peer's "ip:port", for logs. */
const char *
ws_peer(const struct ws_conn *c)
{
	return c->peer;
}

/* Drop a connection now (why: logged unless NULL); its owner hears of it next turn. */
static void
ws_drop(struct ws_conn *c, const char *why)
{
	struct ws *ws = c->ws;

	if (c->state == WS_DEAD)
		return;
	if (why != NULL)
		log_info("ws %s: %s", c->peer, why);
	ws_conn_set_state(c, WS_DEAD);
	event_del(c->ping);
	event_del(c->linger);
	if (c->hc != NULL)
		httpd_conn_close_upgraded(c->hc);
	c->hc = NULL;
	c->bev = NULL;
	TAILQ_REMOVE(&ws->conns, c, entry);
	reap_later(ws->reap, &c->link, ws_conn_free);
}

/* Free the server; open connections are dropped and their owners told now. */
void
ws_free(struct ws *ws)
{
	struct ws_conn *c;

	if (ws == NULL)
		return;
	while ((c = TAILQ_FIRST(&ws->conns)) != NULL)
		ws_drop(c, NULL);
	reap_now(ws->reap);
	reap_release(ws->reap);
	free(ws);
}

/* wslay wants input: take it from the bufferevent. */
static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *arg)
{
	struct ws_conn *c = arg;
	int n;

	if (c->state == WS_DEAD || c->failed ||
	    (n = evbuffer_remove(bufferevent_get_input(c->bev), buf, len)) <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	c->heard = 1;
	return n;
}

/* wslay has bytes to send: append them to the output. */
static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *arg)
{
	struct ws_conn *c = arg;

	if (c->state == WS_DEAD || evbuffer_add(bufferevent_get_output(c->bev), data, len) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

/* Fail the connection: close with code after what is queued, read nothing more. */
static void
ws_fail(struct ws_conn *c, uint16_t code, const char *reason)
{
	if (c->failed || c->state == WS_DEAD)
		return;
	log_info("ws %s: closing with %u: %s", c->peer, code, reason);
	c->failed = 1;
	(void)wslay_event_queue_close(c->ctx, code, (const uint8_t *)reason, strlen(reason));
	if (c->state == WS_OPEN)
		ws_conn_set_state(c, WS_CLOSING);
}

/* A frame starts: refuse one larger than the frame limit. */
static void
ws_frame_start_cb(
    wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_start_arg *a, void *arg)
{
	struct ws_conn *c = arg;

	if ((a->opcode & 0x8) != 0 && (!a->fin || a->payload_length > 125))
		ws_fail(c, WSLAY_CODE_PROTOCOL_ERROR, "fragmented or long control frame");
	else if (a->payload_length > c->lim.max_frame)
		ws_fail(c, WSLAY_CODE_MESSAGE_TOO_BIG, "frame too large");
}

/* A whole message arrived. */
static void
ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a, void *arg)
{
	struct ws_conn *c = arg;

	if (c->failed)
		return;
	switch (a->opcode) {
	case WSLAY_TEXT_FRAME: /* libwslay closed with 1007 on bad UTF-8 already */
		if (c->state == WS_OPEN)
			c->h->message(c->arg, (const char *)a->msg, a->msg_length);
		break;
	case WSLAY_BINARY_FRAME:
		ws_fail(c, WSLAY_CODE_UNSUPPORTED_DATA, "binary messages are not accepted");
		break;
	case WSLAY_CONNECTION_CLOSE:
		log_debug("ws %s: close %u received", c->peer, a->status_code);
		if (c->state == WS_OPEN)
			ws_conn_set_state(c, WS_CLOSING);
		break;
	case WSLAY_PONG: c->pinged = 0; break;
	default: break;
	}
}

static const struct wslay_event_callbacks ws_callbacks = {
	ws_recv_cb,
	ws_send_cb,
	NULL,
	ws_frame_start_cb,
	NULL,
	NULL,
	ws_msg_cb,
};

/* Drop the connection once both closes are through (or ours after an error) and sent. */
static void
ws_check_done(struct ws_conn *c)
{
	int done;

	if (c->state == WS_DEAD)
		return;
	if (c->failed || !wslay_event_get_read_enabled(c->ctx))
		done = wslay_event_get_close_sent(c->ctx) && !wslay_event_want_write(c->ctx);
	else
		done = !wslay_event_want_read(c->ctx) && !wslay_event_want_write(c->ctx);
	if (!done)
		return;
	if (c->hc == NULL || evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		ws_drop(c, NULL);
	else
		c->drop_drained = 1;
}

/* Move what wslay queued to the output and write it; drop a reader that is too slow. */
static void
ws_flush(struct ws_conn *c)
{
	struct evbuffer *out;
	size_t left;
	int now;

	if (c->state == WS_DEAD || c->in_recv)
		return;
	out = bufferevent_get_output(c->bev);
	now = c->plain && evbuffer_get_length(out) == 0;
	if (now)
		bev_hold_writes(c->bev);
	if (wslay_event_send(c->ctx) != 0) {
		ws_drop(c, "send failed");
		return;
	}
	if (c->hc == NULL)
		left = evbuffer_get_length(out);
	else if (now)
		left = bev_write_now(c->bev);
	else {
		bufferevent_enable(c->bev, EV_WRITE);
		left = evbuffer_get_length(out);
	}
	if (left > c->lim.write_threshold) {
		log_warn("ws %s: %zu bytes not taken by the reader (over the write threshold): "
			 "dropping it",
		    c->peer, left);
		ws_drop(c, NULL);
		return;
	}
	ws_check_done(c);
}

/* Process waiting input now (see ws.h). */
void
ws_input(struct ws_conn *c)
{
	int r;

	if (c->state == WS_DEAD)
		return;
	c->in_recv = 1;
	r = wslay_event_recv(c->ctx);
	c->in_recv = 0;
	if (r != 0) { /* a frame wslay refused (fragmented control frame, ...): fail it */
		log_debug("ws %s: wslay_event_recv: %d", c->peer, r);
		ws_fail(c, WSLAY_CODE_PROTOCOL_ERROR, "malformed frame");
	}
	if (c->state == WS_DEAD)
		return;
	if (c->failed || !wslay_event_get_read_enabled(c->ctx)) {
		if (!c->failed)
			log_info("ws %s: closing with %u (protocol error)", c->peer,
			    wslay_event_get_status_code_sent(c->ctx));
		c->failed = 1;
		if (c->state == WS_OPEN)
			ws_conn_set_state(c, WS_CLOSING);
		evbuffer_drain(bufferevent_get_input(c->bev), (size_t)-1);
	}
	if (c->pend_code != 0) {
		uint16_t code = c->pend_code;

		c->pend_code = 0;
		ws_close(c, code, c->pend_reason);
		return;
	}
	ws_flush(c);
}

/* httpd: input arrived. */
static void
ws_read_op(void *arg)
{
	ws_input(arg);
}

/* httpd: the output drained. */
static void
ws_write_op(void *arg)
{
	struct ws_conn *c = arg;

	if (c->drop_drained && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		ws_drop(c, NULL);
}

/* httpd drains: close with 1001 after what is queued. */
static void
ws_drain_op(void *arg)
{
	ws_close(arg, WSLAY_CODE_GOING_AWAY, "server stopping");
}

/* httpd closed the connection (EOF, error, timeout, drain deadline). */
static void
ws_closed_op(void *arg)
{
	struct ws_conn *c = arg;

	c->hc = NULL;
	ws_drop(c, c->state == WS_OPEN ? "connection lost" : NULL);
}

static const struct http_upgrade_ops ws_upgrade_ops = {
	ws_read_op,
	ws_write_op,
	ws_drain_op,
	ws_closed_op,
};

/* Ping timer: no answer since the last ping means the peer is gone; else ping again. */
static void
ws_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws_conn *c = arg;
	struct wslay_event_msg m = { WSLAY_PING, NULL, 0 };

	if (c->pinged && !c->heard) {
		ws_drop(c, "no answer to a ping: dropping the connection");
		return;
	}
	c->heard = 0;
	c->pinged = 1;
	if (wslay_event_queue_msg(c->ctx, &m) == 0)
		ws_flush(c);
}

/* Our close got no answer in time. */
static void
ws_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	ws_drop(arg, "no close frame from the peer in time");
}

/* Run a connection on bev (see ws.h). */
struct ws_conn *
ws_open(struct ws *ws, struct bufferevent *bev, struct http_conn *hc, const char *peer,
    const struct ws_limits *lim, const struct ws_handler *h, void *arg)
{
	struct ws_conn *c = xcalloc(1, sizeof *c);
	struct timeval tv = { lim->ping_ms / 1000, (lim->ping_ms % 1000) * 1000 };

	c->ws = ws;
	c->bev = bev;
	c->hc = hc;
	c->plain = hc != NULL && httpd_conn_is_plain(hc);
	snprintf(c->peer, sizeof c->peer, "%s", peer);
	c->lim = *lim;
	c->h = h;
	c->arg = arg;
	if (wslay_event_context_server_init(&c->ctx, &ws_callbacks, c) != 0)
		abort(); /* out of memory, as xmalloc */
	wslay_event_config_set_max_recv_msg_length(c->ctx, lim->max_message);
	c->ping = event_new(ws->base, -1, EV_PERSIST, ws_ping_cb, c);
	c->linger = evtimer_new(ws->base, ws_linger_cb, c);
	if (lim->ping_ms > 0)
		event_add(c->ping, &tv);
	TAILQ_INSERT_TAIL(&ws->conns, c, entry);
	return c;
}

/* Whether the comma-separated header value v lists token (case-insensitive). */
static int
ws_has_token(const char *v, const char *token)
{
	size_t n = strlen(token);

	while (v != NULL && *v != '\0') {
		size_t len;

		v += strspn(v, " \t,");
		len = strcspn(v, " \t,");
		if (len == n && strncasecmp(v, token, n) == 0)
			return 1;
		v += len;
	}
	return 0;
}

/* Check an upgrade request (see ws.h). */
int
ws_upgrade_check(struct http_req *req, const char **why)
{
	const char *v = http_req_header(req, "Sec-WebSocket-Version");
	const char *key = http_req_header(req, "Sec-WebSocket-Key");
	struct buf raw;
	long n;

	if (http_req_is_h2(req)) {
		*why = "WebSocket is served over HTTP/1.1 only";
		return 400;
	}
	if (strcmp(http_req_method(req), "GET") != 0) {
		*why = "a WebSocket upgrade is a GET";
		return 405;
	}
	if (!ws_has_token(http_req_header(req, "Upgrade"), "websocket") ||
	    !ws_has_token(http_req_header(req, "Connection"), "upgrade")) {
		*why = "Upgrade: websocket and Connection: Upgrade are required";
		return 400;
	}
	if (v == NULL || strcmp(v, "13") != 0) {
		http_req_add_header(req, "Sec-WebSocket-Version", "13");
		*why = "only WebSocket version 13 is supported";
		return 426;
	}
	buf_init(&raw);
	n = key != NULL ? util_base64_decode(&raw, key, strlen(key)) : -1;
	buf_free(&raw);
	if (n != 16) {
		*why = "Sec-WebSocket-Key must be 16 bytes in base64";
		return 400;
	}
	return 0;
}

/* Answer 101 and run the connection (see ws.h). */
struct ws_conn *
ws_accept(struct ws *ws, struct http_req *req, const struct ws_limits *lim,
    const struct ws_handler *h, void *arg)
{
	const char *key = http_req_header(req, "Sec-WebSocket-Key");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	struct buf in, acc;
	struct bufferevent *bev;
	struct http_conn *hc;
	struct ws_conn *c;

	if (http_req_is_h2(req))
		return NULL;
	buf_init(&in);
	buf_addstr(&in, key);
	buf_addstr(&in, WS_GUID);
	if (EVP_Digest(in.data, in.len, md, &mdlen, EVP_sha1(), NULL) != 1)
		abort();
	buf_free(&in);
	buf_init(&acc);
	util_base64_encode(&acc, md, mdlen);
	http_req_add_header(req, "Upgrade", "websocket");
	http_req_add_header(req, "Connection", "Upgrade");
	http_req_add_header(req, "Sec-WebSocket-Accept", acc.data);
	buf_free(&acc);
	c = ws_open(ws, NULL, NULL, http_req_peer(req), lim, h, arg);
	if ((hc = http_req_upgrade(req, &ws_upgrade_ops, c, &bev)) == NULL)
		abort(); /* not HTTP/2: checked above */
	c->bev = bev;
	c->hc = hc;
	c->plain = httpd_conn_is_plain(hc);
	log_info("ws %s: open", c->peer);
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0) /* frames behind the request */
		bufferevent_trigger(bev, EV_READ, BEV_OPT_DEFER_CALLBACKS);
	return c;
}

/* Send a text message (see ws.h). */
int
ws_send(struct ws_conn *c, const char *text, size_t len)
{
	struct wslay_event_msg m = { WSLAY_TEXT_FRAME, (const uint8_t *)text, len };

	if (c->state != WS_OPEN || c->failed || wslay_event_queue_msg(c->ctx, &m) != 0)
		return -1;
	ws_flush(c);
	return 0;
}

/* Close with code after what is queued (see ws.h). */
void
ws_close(struct ws_conn *c, uint16_t code, const char *reason)
{
	struct timeval tv = { WS_CLOSE_WAIT_MS / 1000, (WS_CLOSE_WAIT_MS % 1000) * 1000 };

	if (c->state != WS_OPEN)
		return;
	if (c->in_recv) {
		c->pend_code = code;
		snprintf(c->pend_reason, sizeof c->pend_reason, "%s", reason);
		return;
	}
	log_info("ws %s: closing with %u: %s", c->peer, code, reason);
	ws_conn_set_state(c, WS_CLOSING);
	(void)wslay_event_queue_close(c->ctx, code, (const uint8_t *)reason, strlen(reason));
	if (c->hc != NULL)
		evtimer_add(c->linger, &tv);
	ws_flush(c);
}
