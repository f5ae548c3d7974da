/*
 * ws.h: WebSocket connections (RFC 6455) on connections httpd upgraded,
 * framed by libwslay. Text messages in, text messages out; pings at a fixed
 * interval; bounded frames, messages and output; close codes on errors.
 * Knows nothing of what the messages mean (cometd_ws.c does).
 */
#ifndef UCGW_WS_H
#define UCGW_WS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "httpd.h"

struct ws;	/* the WebSocket connections of one server */
struct ws_conn; /* one connection */

struct ws_limits {
	size_t max_frame;	/* payload bytes of one frame (else close 1009) */
	size_t max_message;	/* bytes of one reassembled message (else close 1009) */
	size_t write_threshold; /* output waiting beyond this: the reader is too slow, dropped */
	unsigned ping_ms;	/* ping interval; no answer by the next one: the peer is gone */
};

struct ws_handler {
	/* A whole text message (valid UTF-8: libwslay checks) arrived. */
	void (*message)(void *arg, const char *text, size_t len);
	/* The connection is gone (closed by either side or lost); the last call,
	 * always from a later loop turn than whatever closed it. */
	void (*closed)(void *arg);
};

struct ws *ws_create(struct event_base *);
/* Free the server; connections still open are dropped (their closed() runs). */
void ws_free(struct ws *);

/* 0 if req is a WebSocket upgrade this server takes; else the HTTP status, *why says why. */
int ws_upgrade_check(struct http_req *, const char **why);
/*
 * Answer 101 (with the headers already added to req) and run the connection.
 * NULL on HTTP/2 (the request is then still to be answered).
 */
struct ws_conn *ws_accept(
    struct ws *, struct http_req *, const struct ws_limits *, const struct ws_handler *, void *arg);
/*
 * Run a connection on bev (conn: the httpd connection it belongs to, or
 * NULL: bev is the caller's, as in the fuzz target). ws_accept uses it.
 */
struct ws_conn *ws_open(struct ws *, struct bufferevent *, struct http_conn *, const char *peer,
    const struct ws_limits *, const struct ws_handler *, void *arg);
/* Process the input waiting in the connection's bufferevent now. */
void ws_input(struct ws_conn *);

/* Send a text message; -1 if the connection is closing or gone. Never calls back. */
int ws_send(struct ws_conn *, const char *text, size_t len);
/* Close with code (and reason) after everything queued. */
void ws_close(struct ws_conn *, uint16_t code, const char *reason);
const char *ws_peer(const struct ws_conn *);

#endif
