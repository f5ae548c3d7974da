/*
 * httpd_int.h: the request object shared by the HTTP/1.1 connection code
 * (httpd.c), the HTTP/2 stream code (h2.c) and the request API (http_req.c).
 * Nothing outside the http layer includes this file. The layers, each
 * calling only the ones below it:
 *   http_req.c   the request API the handlers use
 *   httpd.c      listeners and connections; answers on HTTP/1.1 or hands to
 *   h2.c         HTTP/2 streams
 *   http_msg.c   what httpd.c and h2.c share (target split, request fields)
 */
#ifndef UCGW_HTTPD_INT_H
#define UCGW_HTTPD_INT_H

#include "hparse.h"
#include "httpd.h"

struct http_conn;

struct http_req {
	struct http_conn *conn;
	uint32_t stream_id; /* HTTP/2 only */
	const char *method;
	const char *target;
	char *path; /* percent-decoded, owned */
	const char *query;
	const struct hparse_header *headers;
	size_t nheaders;
	const char *body;
	size_t bodylen;
	struct hparse_header *resp_headers; /* owned copies */
	size_t nresp_headers;
	http_abort_cb abort_cb;
	void *abort_arg;
	int close_after;
	uint64_t t0_us;	   /* when the handler got it (monotonic) */
	const char *route; /* labels for metrics and the access log (static strings) */
	const char *op;
	char *user;	/* the authenticated agent, owned */
	char *client;	/* the client's address when a proxy forwarded it, owned */
	int client_tls; /* with client: TLS as the client saw it */
};

/* http_msg.c: split target into path (decoded) and query; -1 if the target is unusable. */
int http_req_split_target(struct http_req *);
/* http_msg.c: release the request's owned fields. */
void http_req_free_fields(struct http_req *);

/* httpd.c: answer r (HTTP/1.1, or its HTTP/2 stream), taking over body; r is freed. */
void httpd_conn_reply(struct http_req *, int status, const char *ctype, struct buf *body);
/* httpd.c: drop the connection with a TCP reset. */
void httpd_conn_reset(struct http_conn *);
/* httpd.c: send at most bytes per tick_ms. */
void httpd_conn_set_rate(struct http_conn *, size_t bytes, unsigned tick_ms);
/* httpd.c: answer 101 and hand the connection over (NULL on HTTP/2). */
struct http_conn *httpd_conn_upgrade(
    struct http_req *, const struct http_upgrade_ops *, void *arg, struct bufferevent **);
/* httpd.c: the connection's identity. */
const char *httpd_conn_peer(const struct http_conn *);
const char *httpd_conn_local(const struct http_conn *);
uint64_t httpd_conn_id(const struct http_conn *);
int httpd_conn_is_tls(const struct http_conn *);

#endif
