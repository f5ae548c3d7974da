/*
 * httpd.h: the HTTP server both daemons use. It owns listeners (plain or
 * TLS, port 0 allowed), downstream connections and their requests, and
 * hides the wire (HTTP/1.1 here; HTTP/2 by ALPN or prior knowledge in h2.c)
 * behind one request/response abstraction. A handler may answer at once or
 * later (long-polls, upstream round trips); if the connection dies first,
 * the request's abort callback runs instead and the request is gone.
 * Every size and idle time is bounded by struct httpd_limits.
 */
#ifndef UCGW_HTTPD_H
#define UCGW_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "util.h"

struct httpd;
struct http_req;

typedef void (*httpd_handler)(struct http_req *, void *arg);
typedef void (*http_abort_cb)(struct http_req *, void *arg);

struct httpd_limits {
	size_t max_header_bytes;
	size_t max_body_bytes;
	unsigned max_connections;
	unsigned header_timeout_ms; /* to receive a whole request once it started */
	unsigned idle_timeout_ms;   /* keep-alive idle */
	unsigned write_timeout_ms;
	unsigned fd_reserve; /* file descriptors kept free of downstream connections */
};

struct httpd *httpd_create(
    struct event_base *, const struct httpd_limits *, httpd_handler, void *arg);
/*
 * How error bodies that the server makes itself (400, 413, 431, ...) look:
 * write the body into out and return its content type. Default: text/plain.
 */
typedef const char *(*httpd_error_fmt)(int status, const char *reason, struct buf *out);
void httpd_set_error_format(struct httpd *, httpd_error_fmt);
/* New limits apply to connections accepted from now on. */
void httpd_set_limits(struct httpd *, const struct httpd_limits *);
/*
 * Listen on url: "http://HOST:PORT" or "https://HOST:PORT" (tls must then be
 * set; it is not owned). Port 0 takes an ephemeral port. On success the
 * bound "HOST:PORT" is written to bound (at least 64 bytes).
 */
int httpd_listen(
    struct httpd *, const char *url, SSL_CTX *tls, char *bound, size_t boundlen, char **cause);
/* New connections on the https listeners use tls from now on (not owned;
 * open connections keep the context they started with: OpenSSL counts its
 * references, so the old one may be freed at once). */
void httpd_set_tls(struct httpd *, SSL_CTX *tls);
/* Stop accepting, close idle connections, let requests in flight finish.
 * done runs once every connection is gone (at most after ms, by force). */
void httpd_drain(struct httpd *, unsigned ms, void (*done)(void *), void *arg);
void httpd_free(struct httpd *);
unsigned httpd_nconnections(const struct httpd *);
/* The connection limit in force: max_connections, capped by the file limit. */
unsigned httpd_max_connections(const struct httpd *);
/* Raise the soft file limit to the hard one; returns the soft limit now. */
unsigned long httpd_raise_fd_limit(void);

/* Request: valid from the handler call until it is answered or aborted. */
const char *http_req_method(const struct http_req *);
const char *http_req_path(const struct http_req *);   /* decoded path, no query */
const char *http_req_query(const struct http_req *);  /* raw query without '?', or "" */
const char *http_req_target(const struct http_req *); /* as sent */
const char *http_req_header(const struct http_req *, const char *name);
/* Every request header in the order received: i < http_req_nheaders. */
size_t http_req_nheaders(const struct http_req *);
const char *http_req_header_at(const struct http_req *, size_t i, const char **value);
const char *http_req_body(const struct http_req *, size_t *len);
const char *http_req_peer(const struct http_req *);  /* "ip:port" */
const char *http_req_local(const struct http_req *); /* the listener's "ip:port" */
uint64_t http_req_conn_id(const struct http_req *);
int http_req_is_tls(const struct http_req *);
int http_req_is_h2(const struct http_req *);
/* A query parameter, decoded into out; returns 0 if present. */
int http_req_query_param(const struct http_req *, const char *name, struct buf *out);

void http_req_set_abort(struct http_req *, http_abort_cb, void *arg);
/* Response headers (copied). Content-Type/Length are set by the reply calls. */
void http_req_add_header(struct http_req *, const char *name, const char *value);
/* Answer; the request is gone afterwards. The body is copied / taken over. */
void http_req_reply(struct http_req *, int status, const char *ctype, const char *body, size_t len);
void http_req_reply_buf(struct http_req *, int status, const char *ctype, struct buf *body);
/* Ask the connection to close after this response. */
void http_req_close_after(struct http_req *);
/* Drop the connection with a TCP reset instead of answering (no abort callback). */
void http_req_reset(struct http_req *);
/* Send this connection's output at most bytes per tick_ms from now on (test peers). */
void http_req_set_rate(struct http_req *, size_t bytes, unsigned tick_ms);

const char *http_status_text(int);

/*
 * Observer of every answer the handler gives (status, body bytes, and the
 * seconds since the request reached the handler): metrics, access log.
 * Called just before the answer is written; the request is still valid.
 */
typedef void (*httpd_observer)(
    const struct http_req *, int status, size_t bytes, double secs, void *arg);
void httpd_set_observer(struct httpd *, httpd_observer, void *arg);
/* Labels of a request for its observer: route pattern and operation (static strings). */
void http_req_set_route(struct http_req *, const char *route, const char *op);
const char *http_req_route(const struct http_req *); /* NULL when unset */
const char *http_req_op(const struct http_req *);    /* NULL when unset */
/* The authenticated agent a request belongs to (copied), or NULL. */
void http_req_set_user(struct http_req *, const char *name);
const char *http_req_user(const struct http_req *);
/* The client as a trusted proxy reported it (proxy.c); default: the peer and the connection. */
void http_req_set_client(struct http_req *, const char *addr, int tls);
const char *http_req_client(const struct http_req *); /* address, no port */
int http_req_client_tls(const struct http_req *);

/*
 * A connection taken over after a 101 reply (WebSocket): its new owner reads
 * and writes the bufferevent itself. httpd still counts the connection,
 * closes it on EOF, error or its drain deadline, and frees it on a later turn.
 */
struct http_conn;
struct bufferevent;
struct http_upgrade_ops {
	void (*read)(void *arg);   /* input arrived */
	void (*write)(void *arg);  /* output drained */
	void (*drain)(void *arg);  /* the server drains: finish and close soon */
	void (*closed)(void *arg); /* the connection is gone: the last call */
};
/*
 * Answer 101 Switching Protocols with the response headers added so far and
 * hand the connection to ops (HTTP/1.1 only: NULL on HTTP/2). *bev is its
 * bufferevent; input already received stays in it. The request is gone.
 */
struct http_conn *http_req_upgrade(
    struct http_req *, const struct http_upgrade_ops *, void *arg, struct bufferevent **bev);
/* Close an upgraded connection now (ops->closed is not called). */
void httpd_conn_close_upgraded(struct http_conn *);
/* Whether the upgraded connection is plain TCP (its output may be written at once). */
int httpd_conn_is_plain(const struct http_conn *);
/* Stop reading an upgraded connection (its owner's output is full), or read again. */
void httpd_conn_set_reading(struct http_conn *, int on);

#endif
