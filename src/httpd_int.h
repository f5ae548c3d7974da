/*
 * httpd_int.h: the request object shared by the HTTP/1.1 connection code
 * (httpd.c) and the HTTP/2 stream code (h2.c). Nothing outside the http
 * layer includes this file.
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

/* Monotonic microseconds (request timing). */
uint64_t httpd_now_us(void);

/* Split target into path (decoded) and query; -1 if the target is unusable. */
int http_req_split_target(struct http_req *);
void http_req_free_fields(struct http_req *);

#endif
