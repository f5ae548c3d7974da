/*
 * http_req.c: the request handed to the program's handler, the same for
 * HTTP/1.1 (httpd.c) and HTTP/2 (h2.c): what was asked (method, path,
 * query, headers, body), labels for the observer, and the answer, which
 * the connection code writes (httpd_conn_reply and friends in httpd.c).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpd_int.h"

/* The request method. */
const char *
http_req_method(const struct http_req *r)
{
	return r->method;
}

/* The decoded path, without the query. */
const char *
http_req_path(const struct http_req *r)
{
	return r->path;
}

/* The raw query without "?", or "". */
const char *
http_req_query(const struct http_req *r)
{
	return r->query;
}

/* The target as sent. */
const char *
http_req_target(const struct http_req *r)
{
	return r->target;
}

/* First request header called name (case-insensitive), or NULL. */
const char *
http_req_header(const struct http_req *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++) {
		/* first bytes that differ by more than case rule a header out without a call */
		if (((r->headers[i].name[0] ^ name[0]) & ~0x20) == 0 &&
		    strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	}
	return NULL;
}

/* How many request headers came. */
size_t
http_req_nheaders(const struct http_req *r)
{
	return r->nheaders;
}

/* Request header i (in the order received): its name, and its value in *value. */
const char *
http_req_header_at(const struct http_req *r, size_t i, const char **value)
{
	*value = r->headers[i].value;
	return r->headers[i].name;
}

/* The body and its length. */
const char *
http_req_body(const struct http_req *r, size_t *len)
{
	*len = r->bodylen;
	return r->body;
}

/* The peer's "ip:port". */
const char *
http_req_peer(const struct http_req *r)
{
	return httpd_conn_peer(r->conn);
}

/* The listener's "ip:port". */
const char *
http_req_local(const struct http_req *r)
{
	return httpd_conn_local(r->conn);
}

/* The connection's number (the log's "conn N"). */
uint64_t
http_req_conn_id(const struct http_req *r)
{
	return httpd_conn_id(r->conn);
}

/* Whether the request came over TLS. */
int
http_req_is_tls(const struct http_req *r)
{
	return httpd_conn_is_tls(r->conn);
}

/* Whether the request came over HTTP/2. */
int
http_req_is_h2(const struct http_req *r)
{
	return r->stream_id != 0;
}

/* Find name=value in the query string and decode the value into out. */
int
http_req_query_param(const struct http_req *r, const char *name, struct buf *out)
{
	size_t nlen = strlen(name);
	const char *p = r->query;

	while (*p != '\0') {
		const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);

		if ((size_t)(end - p) >= nlen && strncmp(p, name, nlen) == 0 &&
		    (p[nlen] == '=' || p + nlen == end)) {
			const char *v = p[nlen] == '=' ? p + nlen + 1 : end;
			long n;

			buf_reset(out);
			buf_add(out, v, (size_t)(end - v));
			n = util_url_decode(out->data, out->len, 1);
			out->len = n < 0 ? 0 : (size_t)n;
			return n < 0 ? -1 : 0;
		}
		p = amp ? amp + 1 : end;
	}
	return -1;
}

/* Run cb if the connection dies before the request is answered. */
void
http_req_set_abort(struct http_req *r, http_abort_cb cb, void *arg)
{
	r->abort_cb = cb;
	r->abort_arg = arg;
}

/* Add a response header. */
void
http_req_add_header(struct http_req *r, const char *name, const char *value)
{
	r->resp_headers =
	    xreallocarray(r->resp_headers, r->nresp_headers + 1, sizeof *r->resp_headers);
	r->resp_headers[r->nresp_headers].name = xstrdup(name);
	r->resp_headers[r->nresp_headers].value = xstrdup(value);
	r->nresp_headers++;
}

/* Close the connection once this response is out. */
void
http_req_close_after(struct http_req *r)
{
	r->close_after = 1;
}

/* Answer with a body copied from memory. */
void
http_req_reply(struct http_req *r, int status, const char *ctype, const char *body, size_t len)
{
	struct buf b;

	buf_init(&b);
	buf_add(&b, body, len);
	http_req_reply_buf(r, status, ctype, &b);
}

/* Answer, taking over body; the request is freed. */
void
http_req_reply_buf(struct http_req *r, int status, const char *ctype, struct buf *body)
{
	httpd_conn_reply(r, status, ctype, body);
}

/* Abortive close (a TCP reset); the abort callback does not run. */
void
http_req_reset(struct http_req *r)
{
	r->abort_cb = NULL;
	httpd_conn_reset(r->conn);
}

/* Limit the connection's output rate (for simulating slow peers). */
void
http_req_set_rate(struct http_req *r, size_t bytes, unsigned tick_ms)
{
	httpd_conn_set_rate(r->conn, bytes, tick_ms);
}

/* Label a request for its observer (NULL leaves a label as it is). */
void
http_req_set_route(struct http_req *r, const char *route, const char *op)
{
	if (route != NULL)
		r->route = route;
	if (op != NULL)
		r->op = op;
}

/* The request's route label. */
const char *
http_req_route(const struct http_req *r)
{
	return r->route;
}

/* The request's operation label. */
const char *
http_req_op(const struct http_req *r)
{
	return r->op;
}

/* Name the agent a request belongs to. */
void
http_req_set_user(struct http_req *r, const char *name)
{
	free(r->user);
	r->user = name ? xstrdup(name) : NULL;
}

/* The agent a request belongs to, or NULL. */
const char *
http_req_user(const struct http_req *r)
{
	return r->user;
}

/* Record what a trusted proxy said about the client. */
void
http_req_set_client(struct http_req *r, const char *addr, int tls)
{
	free(r->client);
	r->client = addr ? xstrdup(addr) : NULL;
	r->client_tls = tls ? 1 : 0;
}

/* The client's address: the forwarded one, else the peer's "ip:port". */
const char *
http_req_client(const struct http_req *r)
{
	return r->client ? r->client : http_req_peer(r);
}

/* Whether the client used TLS (as forwarded, else this connection). */
int
http_req_client_tls(const struct http_req *r)
{
	return r->client != NULL ? r->client_tls : http_req_is_tls(r);
}

/* Answer 101 and hand the connection over (see httpd.h). */
struct http_conn *
http_req_upgrade(
    struct http_req *r, const struct http_upgrade_ops *ops, void *arg, struct bufferevent **bev)
{
	return httpd_conn_upgrade(r, ops, arg, bev);
}
