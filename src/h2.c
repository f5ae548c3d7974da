/*
 * h2.c: HTTP/2 server side of one connection. Each stream becomes one
 * struct http_req once its headers (and body, bounded by the server
 * limits) are in; the program's handler answers it now or later through
 * h2_reply(). A stream that closes before its answer runs the request's
 * abort callback exactly once. Output goes to the bufferevent only up to a
 * write threshold, so a slow reader holds back nghttp2, not our memory.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "h2.h"
#include "log.h"

#define H2_WRITE_THRESHOLD (64 * 1024)
#define H2_MAX_STREAMS	   100
#define H2_MAX_HEADERS	   100

struct h2_stream {
	struct h2 *h2;
	int32_t id;
	struct http_req req;
	struct hparse_header *headers;
	size_t nheaders;
	size_t header_bytes;
	char *method, *target;
	struct buf body;
	struct buf resp; /* response body being sent */
	size_t resp_off;
	int dispatched;	      /* handed to the handler, not yet answered */
	int refused;	      /* answered by us (limits) */
	int sending;	      /* answered: the body is being sent */
	uint64_t progress_ms; /* when the answer was given or its body last moved */
	struct h2_stream *next;
};

struct h2 {
	nghttp2_session *ng;
	struct http_conn *conn;
	struct bufferevent *bev;
	struct httpd_limits lim;
	httpd_handler handler;
	void *arg;
	struct h2_stream *streams;
	unsigned pending;
	uint64_t id;	     /* connection id, for the log */
	struct event *stall; /* checks answers held back by flow control */
};

/* Find a stream by id. */
static struct h2_stream *
h2_stream_get(struct h2 *h, int32_t id)
{
	return nghttp2_session_get_stream_user_data(h->ng, id);
}

/* Free a stream's memory; runs the abort callback if it was waiting. */
static void
h2_stream_free(struct h2 *h, struct h2_stream *s)
{
	struct h2_stream **pp;

	if (s->dispatched) {
		s->dispatched = 0;
		h->pending--;
		if (s->req.abort_cb != NULL)
			s->req.abort_cb(&s->req, s->req.abort_arg);
	}
	for (pp = &h->streams; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	for (size_t i = 0; i < s->nheaders; i++) {
		free(s->headers[i].name);
		free(s->headers[i].value);
	}
	free(s->headers);
	free(s->method);
	free(s->target);
	buf_free(&s->body);
	buf_free(&s->resp);
	http_req_free_fields(&s->req);
	free(s);
}

/* A new stream starts (HEADERS frame). */
static int
h2_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	struct h2 *h = arg;
	struct h2_stream *s;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	s = xcalloc(1, sizeof *s);
	s->h2 = h;
	s->id = f->hd.stream_id;
	s->next = h->streams;
	h->streams = s;
	nghttp2_session_set_stream_user_data(ng, s->id, s);
	return 0;
}

/* Keep one header (pseudo-headers become method/target/host). */
static int
h2_on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
    const uint8_t *value, size_t valuelen, uint8_t flags, void *arg)
{
	struct h2_stream *s = h2_stream_get(arg, f->hd.stream_id);
	const char *n = (const char *)name, *v = (const char *)value;

	if (s == NULL || f->hd.type != NGHTTP2_HEADERS)
		return 0;
	s->header_bytes += namelen + valuelen + 32;
	if (s->header_bytes > s->h2->lim.max_header_bytes || s->nheaders >= H2_MAX_HEADERS)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (namelen == 7 && memcmp(n, ":method", 7) == 0)
		s->method = xstrndup(v, valuelen);
	else if (namelen == 5 && memcmp(n, ":path", 5) == 0)
		s->target = xstrndup(v, valuelen);
	else if (namelen > 0 && n[0] == ':' && !(namelen == 10 && memcmp(n, ":authority", 10) == 0))
		return 0;
	else {
		s->headers = xreallocarray(s->headers, s->nheaders + 1, sizeof *s->headers);
		s->headers[s->nheaders].name = n[0] == ':' ? xstrdup("host") : xstrndup(n, namelen);
		s->headers[s->nheaders].value = xstrndup(v, valuelen);
		s->nheaders++;
	}
	return 0;
}

/* Body bytes of a stream, bounded. */
static int
h2_on_data(
    nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *arg)
{
	struct h2_stream *s = h2_stream_get(arg, id);

	if (s == NULL || s->refused)
		return 0;
	if (s->body.len + len > s->h2->lim.max_body_bytes) {
		s->refused = 1;
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
		static struct log_limit ll;

		log_limited(&ll, LOG_INFO, "conn %llu: stream %d: request body over the limit",
		    (unsigned long long)s->h2->id, id);
		return 0;
	}
	buf_add(&s->body, data, len);
	return 0;
}

/* The request is complete: build the http_req and hand it over. */
static void
h2_dispatch(struct h2 *h, struct h2_stream *s)
{
	struct http_req *r = &s->req;

	r->conn = h->conn;
	r->stream_id = (uint32_t)s->id;
	r->method = s->method;
	r->target = s->target;
	r->headers = s->headers;
	r->nheaders = s->nheaders;
	r->body = s->body.data ? s->body.data : "";
	r->bodylen = s->body.len;
	r->t0_us = util_now_us();
	if (s->method == NULL || s->target == NULL || http_req_split_target(r) != 0) {
		nghttp2_submit_rst_stream(h->ng, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_PROTOCOL_ERROR);
		return;
	}
	s->dispatched = 1;
	h->pending++;
	h->handler(r, h->arg);
}

/* A frame arrived: a request is complete when its stream ends. */
static int
h2_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	struct h2 *h = arg;
	struct h2_stream *s;

	if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
	    !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	if ((s = h2_stream_get(h, f->hd.stream_id)) == NULL || s->refused || s->dispatched)
		return 0;
	h2_dispatch(h, s);
	return 0;
}

/* A stream is gone (answered, reset or the connection is closing). */
static int
h2_on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *arg)
{
	struct h2_stream *s = h2_stream_get(arg, id);

	if (s != NULL) {
		nghttp2_session_set_stream_user_data(ng, id, NULL);
		h2_stream_free(arg, s);
	}
	return 0;
}

/*
 * Answers whose body has not moved for write_timeout_ms (the peer keeps
 * the flow-control window shut) are reset; if the connection's own window
 * is shut, the whole connection ends (GOAWAY). Runs while answers are sent.
 */
static void
h2_stall_check(evutil_socket_t fd, short what, void *arg)
{
	static struct log_limit ll;
	struct h2 *h = arg;
	uint64_t now = util_now_ms();
	struct h2_stream *s;
	int sending = 0, stalled = 0;
	struct timeval tv;

	for (s = h->streams; s != NULL; s = s->next) {
		if (!s->sending)
			continue;
		if (now - s->progress_ms < h->lim.write_timeout_ms) {
			sending = 1;
			continue;
		}
		stalled++;
		s->sending = 0;
		nghttp2_submit_rst_stream(h->ng, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
	}
	if (stalled > 0) {
		log_limited(&ll, LOG_INFO,
		    "conn %llu: HTTP/2: %d answer(s) stalled by flow control for %u ms: reset%s",
		    (unsigned long long)h->id, stalled, h->lim.write_timeout_ms,
		    nghttp2_session_get_remote_window_size(h->ng) <= 0 ? "; closing the connection"
								       : "");
		if (nghttp2_session_get_remote_window_size(h->ng) <= 0)
			nghttp2_session_terminate_session(h->ng, NGHTTP2_FLOW_CONTROL_ERROR);
		h2_flush(h);
		bufferevent_enable(h->bev, EV_WRITE);
	}
	if (sending) {
		tv.tv_sec = h->lim.write_timeout_ms / 4000;
		tv.tv_usec = (h->lim.write_timeout_ms / 4 % 1000) * 1000;
		evtimer_add(h->stall, &tv);
	}
}

/* Create the session and queue our SETTINGS. */
struct h2 *
h2_create(struct http_conn *conn, uint64_t id, struct bufferevent *bev,
    const struct httpd_limits *lim, httpd_handler handler, void *arg)
{
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)lim->max_header_bytes },
	};
	nghttp2_session_callbacks *cb;
	struct h2 *h = xcalloc(1, sizeof *h);

	h->conn = conn;
	h->id = id;
	h->bev = bev;
	h->lim = *lim;
	h->handler = handler;
	h->arg = arg;
	h->stall = evtimer_new(bufferevent_get_base(bev), h2_stall_check, h);
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, h2_on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, h2_on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2_on_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2_on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_on_stream_close);
	nghttp2_session_server_new(&h->ng, cb, h);
	nghttp2_session_callbacks_del(cb);
	nghttp2_submit_settings(h->ng, NGHTTP2_FLAG_NONE, iv, nitems(iv));
	return h;
}

/* Free the session; waiting streams are aborted. */
void
h2_free(struct h2 *h)
{
	if (h == NULL)
		return;
	while (h->streams != NULL)
		h2_stream_free(h, h->streams);
	nghttp2_session_del(h->ng);
	event_free(h->stall);
	free(h);
}

/* Feed everything that arrived to nghttp2. */
int
h2_recv(struct h2 *h, struct evbuffer *in)
{
	struct evbuffer_iovec v;
	ssize_t n;

	while (evbuffer_peek(in, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		n = nghttp2_session_mem_recv(h->ng, v.iov_base, v.iov_len);
		if (n < 0) {
			static struct log_limit ll;

			log_limited(&ll, LOG_INFO, "conn %llu: HTTP/2: %s",
			    (unsigned long long)h->id, nghttp2_strerror((int)n));
			return -1;
		}
		evbuffer_drain(in, (size_t)n);
	}
	return h2_flush(h);
}

/* Move frames to the bufferevent until the write threshold. */
int
h2_flush(struct h2 *h)
{
	struct evbuffer *out = bufferevent_get_output(h->bev);
	const uint8_t *data;
	ssize_t n;

	while (evbuffer_get_length(out) < H2_WRITE_THRESHOLD) {
		if ((n = nghttp2_session_mem_send(h->ng, &data)) < 0)
			return -1;
		if (n == 0)
			break;
		evbuffer_add(out, data, (size_t)n);
	}
	return 0;
}

/* Nothing more to do on this connection. */
int
h2_done(const struct h2 *h)
{
	return !nghttp2_session_want_read(h->ng) && !nghttp2_session_want_write(h->ng);
}

/* Graceful GOAWAY. */
void
h2_shutdown(struct h2 *h)
{
	nghttp2_session_terminate_session(h->ng, NGHTTP2_NO_ERROR);
}

/* Streams waiting for an answer. */
unsigned
h2_pending(const struct h2 *h)
{
	return h->pending;
}

/* Data provider: copy the next part of the response body. */
static ssize_t
h2_read_body(nghttp2_session *ng, int32_t id, uint8_t *out, size_t len, uint32_t *flags,
    nghttp2_data_source *src, void *arg)
{
	struct h2_stream *s = src->ptr;
	size_t left = s->resp.len - s->resp_off;

	if (len > left)
		len = left;
	if (len > 0) {
		memcpy(out, s->resp.data + s->resp_off, len);
		s->progress_ms = util_now_ms();
	}
	s->resp_off += len;
	if (s->resp_off == s->resp.len) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		s->sending = 0;
	}
	return (ssize_t)len;
}

/* Make one header name/value pair for nghttp2. */
static nghttp2_nv
h2_nv(const char *name, const char *value)
{
	nghttp2_nv nv = { (uint8_t *)name, (uint8_t *)value, strlen(name), strlen(value),
		NGHTTP2_NV_FLAG_NONE };

	return nv;
}

/* Answer a stream: submit headers and the body, then flush. */
void
h2_reply(struct http_req *r, int status, const char *ctype, struct buf *body)
{
	struct h2_stream *s = (struct h2_stream *)((char *)r - offsetof(struct h2_stream, req));
	struct h2 *h = s->h2;
	nghttp2_data_provider prd = { .source.ptr = s, .read_callback = h2_read_body };
	nghttp2_nv nv[3 + 32];
	char st[8], len[24], *lower[32];
	size_t n = 0, nl = 0;

	snprintf(st, sizeof st, "%d", status);
	snprintf(len, sizeof len, "%zu", body->len);
	nv[n++] = h2_nv(":status", st);
	if (ctype != NULL)
		nv[n++] = h2_nv("content-type", ctype);
	nv[n++] = h2_nv("content-length", len);
	for (size_t i = 0; i < r->nresp_headers && nl < nitems(lower); i++) {
		lower[nl] = xstrdup(r->resp_headers[i].name);
		for (char *c = lower[nl]; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		nv[n++] = h2_nv(lower[nl++], r->resp_headers[i].value);
	}
	s->resp = *body;
	buf_init(body);
	s->dispatched = 0;
	h->pending--;
	if (s->resp.len > 0 && strcmp(r->method, "HEAD") != 0) {
		s->sending = 1;
		s->progress_ms = util_now_ms();
		if (!evtimer_pending(h->stall, NULL))
			h2_stall_check(-1, 0, h);
	}
	nghttp2_submit_response(h->ng, s->id, nv, n,
	    strcmp(r->method, "HEAD") == 0 || status == 204 || status == 304 ? NULL : &prd);
	while (nl > 0)
		free(lower[--nl]);
	h2_flush(h);
}
