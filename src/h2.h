/*
 * h2.h: HTTP/2 on one downstream connection (nghttp2 server session),
 * behind the same struct http_req the HTTP/1.1 code uses. httpd.c creates
 * one when a plain connection opens with the HTTP/2 preface or a TLS
 * connection negotiated "h2" by ALPN, and from then on hands it every byte.
 */
#ifndef UCGW_H2_H
#define UCGW_H2_H

#include <event2/bufferevent.h>

#include "httpd_int.h"

struct h2;

struct h2 *h2_create(struct http_conn *, uint64_t id, struct bufferevent *,
    const struct httpd_limits *, httpd_handler, void *arg);
/* Abort every stream still waiting for its answer and free the session. */
void h2_free(struct h2 *);
/* Feed what arrived; -1 means the connection must close. */
int h2_recv(struct h2 *, struct evbuffer *);
/* Queue frames for writing, up to the write threshold; -1 on error. */
int h2_flush(struct h2 *);
/* Whether the session has nothing more to read or write. */
int h2_done(const struct h2 *);
/* Send GOAWAY: finish the streams that exist, accept no new ones. */
void h2_shutdown(struct h2 *);
/* Answer a stream's request (called through http_req_reply_buf). */
void h2_reply(struct http_req *, int status, const char *ctype, struct buf *body);
/* Streams waiting for an answer. */
unsigned h2_pending(const struct h2 *);

#endif
