/*
 * httpd.c: the HTTP server. It owns listeners, downstream connections and
 * the request in flight on each. A connection is one struct with a state
 * changed only by httpd_conn_set_state(); requests are parsed by hparse with
 * the configured bounds, handed to the program's handler, and answered in
 * order. A connection is never freed inside its own callback: closing one
 * condemns it to the loop's reaper (reap.h), which frees it on a later turn.
 * Draining stops the listeners, closes idle connections and lets requests
 * in flight finish, up to a deadline.
 */
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "bev.h"
#include "h2.h"
#include "httpd_int.h"
#include "log.h"
#include "reap.h"
#include "tls.h"

enum http_conn_state {
	HTTP_CONN_TLS,	    /* TLS handshake */
	HTTP_CONN_READING,  /* idle or receiving a request */
	HTTP_CONN_HANDLING, /* request handed to the handler, no reply yet */
	HTTP_CONN_WRITING,  /* reply queued, waiting for it to drain */
	HTTP_CONN_H2,	    /* HTTP/2: streams handled by h2.c */
	HTTP_CONN_DEAD,	    /* closed, condemned to the reaper */
	HTTP_CONN_UPGRADED, /* after 101: owned by c->up (WebSocket) */
};

static const char *const http_conn_state_names[] = { "tls", "reading", "handling", "writing", "h2",
	"dead", "upgraded" };

struct http_listener {
	struct httpd *httpd;
	struct evconnlistener *evl;
	SSL_CTX *tls;
	char bound[64];
};

struct http_conn {
	TAILQ_ENTRY(http_conn) entry;
	struct httpd *httpd;
	uint64_t id;
	char peer[64];
	const char *local; /* the listener's bound address */
	int tls;
	enum http_conn_state state;
	struct bufferevent *bev;
	struct bev_rd *rd; /* plain TCP: its read side (bev.c); NULL: libevent's (TLS) */
	struct hparse *parser;
	struct event *deadline; /* whole request must arrive by then */
	struct http_req *req;
	struct h2 *h2;
	struct httpd_limits lim;
	int close_after;
	int continued;			  /* 100 Continue considered for this request */
	struct ev_token_bucket_cfg *rate; /* output rate limit, or NULL */
	size_t rate_slice;		  /* bytes per tick when rate-limited */
	int on_sent;			  /* on the httpd's sent list */
	TAILQ_ENTRY(http_conn) sent_entry;
	const struct http_upgrade_ops *up; /* HTTP_CONN_UPGRADED: the new owner */
	void *up_arg;
	struct reap_link link; /* condemned once closed */
};

TAILQ_HEAD(http_conn_list, http_conn);

#define HTTPD_PAUSE_MIN_MS   10	  /* first pause of the listeners after EMFILE/ENFILE */
#define HTTPD_PAUSE_MAX_MS   1000 /* longest pause */
#define HTTPD_DRAIN_FRESH_MS 200  /* a drain waits this long for a new connection's first request */

struct httpd {
	struct event_base *base;
	struct httpd_limits lim;
	unsigned max_conns;   /* lim.max_connections capped by the file limit */
	struct event *resume; /* listeners paused after EMFILE/ENFILE: resume then */
	unsigned pause_ms;    /* current pause; doubles while accept keeps failing */
	httpd_handler handler;
	void *arg;
	httpd_error_fmt errfmt;
	struct http_listener **listeners;
	size_t nlisteners;
	struct http_conn_list conns;
	unsigned nconns;
	unsigned ndead; /* closed, not freed yet */
	uint64_t next_id;
	struct reap *reap;
	TAILQ_HEAD(, http_conn) sent; /* replies written at once: drained step due */
	struct event *sent_ev;
	int draining;
	struct event *drain_timer;
	struct event *fresh_timer; /* drain: idle connections that sent nothing are closed then */
	void (*drain_done)(void *);
	void *drain_arg;
	httpd_observer observe;
	void *observe_arg;
};

static void httpd_conn_close(struct http_conn *);
static void httpd_conn_process(struct http_conn *);
static void httpd_conn_start_h2(struct http_conn *);
static void httpd_sent(evutil_socket_t, short, void *);
static void httpd_resume(evutil_socket_t, short, void *);

/* Default error body: the reason as plain text. */
static const char *
httpd_default_error(int status, const char *reason, struct buf *out)
{
	buf_printf(out, "%d %s: %s\n", status, http_status_text(status), reason);
	return "text/plain; charset=utf-8";
}

/* Change a connection's state (the only place that does). */
static void
httpd_conn_set_state(struct http_conn *c, enum http_conn_state st)
{
	log_debug("conn %llu: %s -> %s", (unsigned long long)c->id, http_conn_state_names[c->state],
	    http_conn_state_names[st]);
	c->state = st;
}

/* Call the drain's done callback once every connection is closed and freed. */
static void
httpd_drain_check(struct httpd *h)
{
	if (h->draining && h->nconns == 0 && h->ndead == 0 && h->drain_done != NULL) {
		void (*done)(void *) = h->drain_done;

		h->drain_done = NULL;
		done(h->drain_arg);
	}
}

/* Free a closed connection (the reaper, on a later turn); the last may end a drain. */
static void
httpd_conn_free(struct reap_link *l)
{
	struct http_conn *c = container_of(l, struct http_conn, link);
	struct httpd *h = c->httpd;

	bev_rd_free(c->rd);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	event_free(c->deadline);
	hparse_free(c->parser);
	if (c->rate != NULL)
		ev_token_bucket_cfg_free(c->rate);
	free(c);
	h->ndead--;
	httpd_drain_check(h);
}

/* Raise the soft file limit to the hard one; see httpd.h. */
unsigned long
httpd_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = { rl.rlim_max, rl.rlim_max };

		/* RLIM_INFINITY is refused for files: then the kernel's fs.nr_open bound. */
		if (want.rlim_cur == RLIM_INFINITY)
			want.rlim_cur = want.rlim_max = 1048576;
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
	}
	return rl.rlim_cur == RLIM_INFINITY ? 1048576ul : (unsigned long)rl.rlim_cur;
}

/* Take limits into use: the connection limit leaves fd_reserve files free. */
static void
httpd_apply_limits(struct httpd *h, const struct httpd_limits *lim)
{
	unsigned long files = httpd_raise_fd_limit(), cap;
	unsigned old = h->max_conns;

	h->lim = *lim;
	cap = files > lim->fd_reserve + 16 ? files - lim->fd_reserve : 16;
	h->max_conns = lim->max_connections < cap ? lim->max_connections : (unsigned)cap;
	if (h->max_conns < lim->max_connections && h->max_conns != old)
		log_info("limits.max_connections %u is above the file limit %lu minus "
			 "limits.fd_reserve %u: %u connections at most (raise ulimit -n)",
		    lim->max_connections, files, lim->fd_reserve, h->max_conns);
}

/* Create a server; see httpd.h. */
struct httpd *
httpd_create(
    struct event_base *base, const struct httpd_limits *lim, httpd_handler handler, void *arg)
{
	struct httpd *h = xcalloc(1, sizeof *h);

	h->base = base;
	httpd_apply_limits(h, lim);
	h->handler = handler;
	h->arg = arg;
	h->errfmt = httpd_default_error;
	TAILQ_INIT(&h->conns);
	h->reap = reap_hold(base);
	TAILQ_INIT(&h->sent);
	h->sent_ev = event_new(base, -1, 0, httpd_sent, h);
	h->resume = evtimer_new(base, httpd_resume, h);
	return h;
}

/* Choose how server-made error bodies look. */
void
httpd_set_error_format(struct httpd *h, httpd_error_fmt fmt)
{
	h->errfmt = fmt ? fmt : httpd_default_error;
}

/* New limits for connections accepted from now on. */
void
httpd_set_limits(struct httpd *h, const struct httpd_limits *lim)
{
	httpd_apply_limits(h, lim);
}

/* The connection limit in force. */
unsigned
httpd_max_connections(const struct httpd *h)
{
	return h->max_conns;
}

/* Number of open connections. */
unsigned
httpd_nconnections(const struct httpd *h)
{
	return h->nconns;
}

/* Parser limits derived from the server limits. */
static void
httpd_parse_limits(const struct httpd_limits *lim, struct hparse_limits *pl)
{
	pl->max_line = lim->max_header_bytes;
	pl->max_header_bytes = lim->max_header_bytes;
	pl->max_headers = 100;
	pl->max_body = lim->max_body_bytes;
}

/* Read from the socket or not (through the reader on plain TCP). */
static void
httpd_conn_reading(struct http_conn *c, int on)
{
	if (c->rd != NULL)
		bev_rd_set(c->rd, on);
	else if (on)
		bufferevent_enable(c->bev, EV_READ);
	else
		bufferevent_disable(c->bev, EV_READ);
}

/* Buffer at most high bytes of input (0: no bound). */
static void
httpd_conn_read_bound(struct http_conn *c, size_t high)
{
	if (c->rd != NULL)
		bev_rd_bound(c->rd, high);
	else
		bufferevent_setwatermark(c->bev, EV_READ, 0, high);
}

/* Set the idle (read) and write timeouts; NULL for none. */
static void
httpd_conn_timeouts(struct http_conn *c, const struct timeval *idle, const struct timeval *wr)
{
	if (c->rd != NULL) {
		bev_rd_timeout(c->rd, idle);
		bufferevent_set_timeouts(c->bev, NULL, wr);
	} else
		bufferevent_set_timeouts(c->bev, idle, wr);
}

/* Arm the idle or header timers for the reading state. */
static void
httpd_conn_timers(struct http_conn *c)
{
	struct timeval idle = { c->lim.idle_timeout_ms / 1000,
		(c->lim.idle_timeout_ms % 1000) * 1000 };
	struct timeval wr = { c->lim.write_timeout_ms / 1000,
		(c->lim.write_timeout_ms % 1000) * 1000 };

	httpd_conn_timeouts(
	    c, c->state == HTTP_CONN_READING || c->state == HTTP_CONN_TLS ? &idle : NULL, &wr);
}

/* Format "ip:port" of a socket address. */
static void
httpd_format_addr(const struct sockaddr *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		evutil_inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
		snprintf(out, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		evutil_inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
		snprintf(out, len, "%s:%u", host, ntohs(s4->sin_port));
	}
}

/* Free a request (after its reply or abort). */
static void
httpd_req_free(struct http_req *r)
{
	http_req_free_fields(r);
	free(r);
}

/* Close a connection: abort its request, condemn it to the reaper. */
static void
httpd_conn_close(struct http_conn *c)
{
	struct httpd *h = c->httpd;
	struct http_req *r = c->req;

	if (c->state == HTTP_CONN_DEAD)
		return;
	log_debug("conn %llu: closed", (unsigned long long)c->id);
	if (c->state == HTTP_CONN_UPGRADED && c->up != NULL)
		c->up->closed(c->up_arg);
	httpd_conn_set_state(c, HTTP_CONN_DEAD);
	c->req = NULL;
	if (r != NULL) {
		if (r->abort_cb != NULL)
			r->abort_cb(r, r->abort_arg);
		httpd_req_free(r);
	}
	h2_free(c->h2);
	c->h2 = NULL;
	httpd_conn_reading(c, 0);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	event_del(c->deadline);
	if (c->on_sent) {
		TAILQ_REMOVE(&h->sent, c, sent_entry);
		c->on_sent = 0;
	}
	TAILQ_REMOVE(&h->conns, c, entry);
	h->nconns--;
	h->ndead++;
	reap_later(h->reap, &c->link, httpd_conn_free);
}

/* Release a response body once libevent has sent it (arg: the whole body, when sliced). */
static void
httpd_free_body(const void *data, size_t len, void *arg)
{
	free(arg != NULL ? arg : (void *)data);
}

/* Write the status line and headers of a response in one piece. */
static void
httpd_write_head(
    struct http_conn *c, struct http_req *r, int status, const char *ctype, size_t bodylen)
{
	struct buf h;

	buf_init(&h);
	buf_reserve(&h, 256);
	buf_addstr(&h, "HTTP/1.1 ");
	buf_addint(&h, status);
	buf_addch(&h, ' ');
	buf_addstr(&h, http_status_text(status));
	buf_addstr(&h, "\r\n");
	if (ctype != NULL && (bodylen > 0 || status != 204))
		buf_add_header(&h, "Content-Type", ctype);
	if (status >= 200 && status != 204 && status != 304) {
		buf_addstr(&h, "Content-Length: ");
		buf_addint(&h, (long long)bodylen);
		buf_addstr(&h, "\r\n");
	}
	for (size_t i = 0; r != NULL && i < r->nresp_headers; i++)
		buf_add_header(&h, r->resp_headers[i].name, r->resp_headers[i].value);
	if (c->close_after)
		buf_addstr(&h, "Connection: close\r\n");
	buf_addstr(&h, "\r\n");
	evbuffer_add(bufferevent_get_output(c->bev), h.data, h.len);
	buf_free(&h);
}

/* Queue a complete response head and body on the connection. */
static void
httpd_conn_write_response(
    struct http_conn *c, struct http_req *r, int status, const char *ctype, struct buf *body)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	int head = r != NULL && strcmp(r->method, "HEAD") == 0;
	char *data;
	size_t len;

	httpd_write_head(c, r, status, ctype, body->len);
	if (head || body->len == 0) {
		buf_free(body);
		return;
	}
	data = buf_detach(body, &len);
	/* Rate-limited: one chain per slice (TLS bufferevents write whole chains). */
	for (size_t off = 0; c->rate_slice > 0 && len - off > c->rate_slice; off += c->rate_slice) {
		evbuffer_add_reference(out, data + off, c->rate_slice, NULL, NULL);
		if (len - off - c->rate_slice <= c->rate_slice) {
			off += c->rate_slice;
			evbuffer_add_reference(out, data + off, len - off, httpd_free_body, data);
			return;
		}
	}
	evbuffer_add_reference(out, data, len, httpd_free_body, NULL);
}

/* Answer a request the server refused by itself, then close. */
static void
httpd_conn_error(struct http_conn *c, int status, const char *reason)
{
	struct buf body;
	const char *ctype;

	static struct log_limit ll;

	log_limited(&ll, LOG_INFO, "conn %llu: %s: %d %s", (unsigned long long)c->id, c->peer,
	    status, reason);
	buf_init(&body);
	ctype = c->httpd->errfmt(status, reason, &body);
	c->close_after = 1;
	httpd_conn_write_response(c, NULL, status, ctype, &body);
	httpd_conn_set_state(c, HTTP_CONN_WRITING);
	httpd_conn_reading(c, 0);
	bufferevent_enable(c->bev, EV_WRITE);
}

/* The whole request did not arrive in time. */
static void
httpd_conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;

	if (c->state == HTTP_CONN_READING)
		httpd_conn_error(c, 408, "request not received in time");
}

/* Build the request object for a parsed message and hand it to the handler. */
static void
httpd_conn_dispatch(struct http_conn *c)
{
	struct hparse_msg *m = hparse_msg_mut(c->parser);
	struct http_req *r;
	size_t nhost = 0;

	for (size_t i = 0; i < m->nheaders; i++)
		nhost += strcasecmp(m->headers[i].name, "host") == 0;
	if (nhost > 1 || (nhost == 0 && m->minor >= 1)) {
		httpd_conn_error(c, 400, nhost ? "more than one Host header" : "no Host header");
		return;
	}
	r = xcalloc(1, sizeof *r);

	r->conn = c;
	r->method = m->method;
	r->target = m->target;
	r->headers = m->headers;
	r->nheaders = m->nheaders;
	r->body = m->body.data ? m->body.data : "";
	r->bodylen = m->body.len;
	r->t0_us = util_now_us();
	if (http_req_split_target(r) != 0) {
		httpd_req_free(r);
		httpd_conn_error(c, 400, "bad request target");
		return;
	}
	if (!m->keep_alive || c->httpd->draining)
		c->close_after = 1;
	event_del(c->deadline);
	c->req = r;
	/* Keep watching for EOF, but buffer at most one more request. */
	httpd_conn_read_bound(c, c->lim.max_header_bytes + c->lim.max_body_bytes);
	httpd_conn_set_state(c, HTTP_CONN_HANDLING);
	httpd_conn_timers(c);
	c->httpd->handler(r, c->httpd->arg);
}

/* Handle a parser result; returns 1 to keep parsing buffered input. */
static int
httpd_conn_parsed(struct http_conn *c, enum hparse_result res)
{
	if (res == HPARSE_ERROR) {
		httpd_conn_error(c, hparse_error_status(c->parser), hparse_error_str(c->parser));
		return 0;
	}
	if (res == HPARSE_MORE)
		return 0;
	if (hparse_msg(c->parser)->upgrade_h2c) {
		httpd_conn_start_h2(c);
		return 0;
	}
	httpd_conn_dispatch(c);
	return 0;
}

/* Answer "Expect: 100-continue" once, when the headers are in. */
static void
httpd_conn_expect(struct http_conn *c)
{
	const char *e;

	if (c->continued || !hparse_in_body(c->parser))
		return;
	c->continued = 1;
	e = hparse_header(hparse_msg(c->parser), "expect");
	if (e != NULL && strcasecmp(e, "100-continue") == 0) {
		evbuffer_add(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
		bufferevent_enable(c->bev, EV_WRITE); /* held since a reply written at once */
	}
}

/* Feed buffered input to the parser while the connection is reading. */
static void
httpd_conn_process(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	int was_started = hparse_started(c->parser);

	while (c->state == HTTP_CONN_READING && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		enum hparse_result res;
		size_t used = 0;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		res = hparse_feed(c->parser, v.iov_base, v.iov_len, &used);
		evbuffer_drain(in, used);
		if (res == HPARSE_MORE && used == 0) {
			/* A prefix of the h2 preface: wait until it is decided. */
			size_t have = evbuffer_get_length(in);

			if (have <= v.iov_len ||
			    evbuffer_pullup(in, have < 64 ? (ev_ssize_t)have : 64) == NULL)
				break;
			continue;
		}
		if (res == HPARSE_MORE && !hparse_started(c->parser))
			continue;
		if (res == HPARSE_MORE && !was_started) {
			struct timeval tv = { c->lim.header_timeout_ms / 1000,
				(c->lim.header_timeout_ms % 1000) * 1000 };

			was_started = 1;
			evtimer_add(c->deadline, &tv);
		}
		if (res == HPARSE_MORE)
			httpd_conn_expect(c);
		httpd_conn_parsed(c, res);
	}
}

/* Keep an HTTP/2 connection going: feed input, flush output, close when done. */
static void
httpd_conn_h2_pump(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct timeval idle = { c->lim.idle_timeout_ms / 1000,
		(c->lim.idle_timeout_ms % 1000) * 1000 };
	struct timeval wr = { c->lim.write_timeout_ms / 1000,
		(c->lim.write_timeout_ms % 1000) * 1000 };

	if (h2_recv(c->h2, in) != 0 || h2_done(c->h2)) {
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
			httpd_conn_close(c);
			return;
		}
		c->close_after = 1;
	}
	httpd_conn_timeouts(c, h2_pending(c->h2) ? NULL : &idle, &wr);
}

/* Switch the connection to HTTP/2 (preface seen, or ALPN chose h2). */
static void
httpd_conn_start_h2(struct http_conn *c)
{
	log_debug("conn %llu: HTTP/2", (unsigned long long)c->id);
	event_del(c->deadline);
	httpd_conn_set_state(c, HTTP_CONN_H2);
	c->h2 = h2_create(c, c->id, c->bev, &c->lim, c->httpd->handler, c->httpd->arg);
	httpd_conn_read_bound(c, 0);
	httpd_conn_reading(c, 1);
	bufferevent_enable(c->bev, EV_WRITE);
	if (c->httpd->draining)
		h2_shutdown(c->h2);
	httpd_conn_h2_pump(c);
}

/* Input arrived. */
static void
httpd_conn_readcb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;

	if (c->state == HTTP_CONN_UPGRADED) {
		c->up->read(c->up_arg);
		return;
	}
	if (c->state == HTTP_CONN_TLS) {
		httpd_conn_set_state(c, HTTP_CONN_READING);
		if (tls_alpn_is_h2(bufferevent_openssl_get_ssl(bev))) {
			httpd_conn_start_h2(c);
			return;
		}
	}
	if (c->state == HTTP_CONN_H2)
		httpd_conn_h2_pump(c);
	else
		httpd_conn_process(c);
}

/* An HTTP/1.1 reply has left: close, or get ready for the next request. */
static void
httpd_conn_drained(struct http_conn *c)
{
	if (c->state != HTTP_CONN_WRITING ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		return;
	if (c->close_after) {
		httpd_conn_close(c);
		return;
	}
	hparse_reset(c->parser);
	c->continued = 0;
	httpd_conn_set_state(c, HTTP_CONN_READING);
	httpd_conn_timers(c);
	httpd_conn_reading(c, 1);
	httpd_conn_process(c);
}

/* Replies written at once: their drained step, outside the handlers' call chains. */
static void
httpd_sent(evutil_socket_t fd, short what, void *arg)
{
	struct httpd *h = arg;
	struct http_conn *c;

	while ((c = TAILQ_FIRST(&h->sent)) != NULL) {
		TAILQ_REMOVE(&h->sent, c, sent_entry);
		c->on_sent = 0;
		httpd_conn_drained(c);
	}
}

/* Output drained: close, or get ready for the next request. */
static void
httpd_conn_writecb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;

	if (c->state == HTTP_CONN_UPGRADED) {
		c->up->write(c->up_arg);
		return;
	}
	if (c->state == HTTP_CONN_H2) {
		if (h2_flush(c->h2) != 0 ||
		    (c->close_after && evbuffer_get_length(bufferevent_get_output(bev)) == 0))
			httpd_conn_close(c);
		else if (h2_done(c->h2) && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			httpd_conn_close(c);
		return;
	}
	httpd_conn_drained(c);
}

/* EOF, error or timeout on the connection. */
static void
httpd_conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn *c = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_TIMEOUT)
		log_debug("conn %llu: %s timeout", (unsigned long long)c->id,
		    what & BEV_EVENT_READING ? "idle" : "write");
	else if (what & BEV_EVENT_ERROR)
		log_debug("conn %llu: error: %s", (unsigned long long)c->id,
		    c->tls ? tls_error_string()
			   : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	httpd_conn_close(c);
}

/* Make the bufferevent for an accepted socket (TLS when the listener has it). */
static struct bufferevent *
httpd_conn_bev(struct httpd *h, struct http_listener *l, evutil_socket_t fd)
{
	int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	struct bufferevent *bev;
	SSL *ssl;

	if (l->tls == NULL)
		return bufferevent_socket_new(h->base, fd, opts);
	if ((ssl = SSL_new(l->tls)) == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(h->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, opts);
	if (bev != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* A new connection on a listener. */
static void
httpd_accept(
    struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct http_listener *l = arg;
	struct httpd *h = l->httpd;
	struct hparse_limits pl;
	struct http_conn *c;

	static struct log_limit refused;

	h->pause_ms = 0; /* accept works again */
	if (h->draining || h->nconns >= h->max_conns) {
		log_limited(&refused, LOG_WARN, "listener %s: refusing a connection (%s)", l->bound,
		    h->draining ? "draining" : "connection limit reached");
		evutil_closesocket(fd);
		return;
	}
	bev_nodelay(fd);
	c = xcalloc(1, sizeof *c);
	if ((c->bev = httpd_conn_bev(h, l, fd)) == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->httpd = h;
	c->id = ++h->next_id;
	c->lim = h->lim;
	c->tls = l->tls != NULL;
	c->local = l->bound;
	httpd_format_addr(sa, c->peer, sizeof c->peer);
	httpd_parse_limits(&c->lim, &pl);
	c->parser = hparse_new(HPARSE_REQUEST, &pl);
	c->deadline = evtimer_new(h->base, httpd_conn_deadline, c);
	c->state = c->tls ? HTTP_CONN_TLS : HTTP_CONN_READING;
	TAILQ_INSERT_TAIL(&h->conns, c, entry);
	h->nconns++;
	log_debug(
	    "conn %llu: accepted from %s on %s", (unsigned long long)c->id, c->peer, l->bound);
	bufferevent_setcb(c->bev, httpd_conn_readcb, httpd_conn_writecb, httpd_conn_eventcb, c);
	if (!c->tls)
		c->rd = bev_rd_new(c->bev); /* NULL (out of memory): libevent reads */
	httpd_conn_timers(c);
	httpd_conn_reading(c, 1);
}

/* The pause after EMFILE/ENFILE is over: listen again (unless draining). */
static void
httpd_resume(evutil_socket_t fd, short what, void *arg)
{
	struct httpd *h = arg;

	if (h->draining)
		return;
	for (size_t i = 0; i < h->nlisteners; i++)
		if (h->listeners[i]->evl != NULL)
			evconnlistener_enable(h->listeners[i]->evl);
}

/*
 * accept() failed. Out of files (or of kernel memory) the pending connection
 * stays queued and the listener would fire again at once: pause every
 * listener instead, for a time that doubles while it keeps failing, so the
 * connections already open go on being served.
 */
static void
httpd_accept_error(struct evconnlistener *evl, void *arg)
{
	static struct log_limit paused, failed;
	struct http_listener *l = arg;
	struct httpd *h = l->httpd;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv;

	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
		log_limited(&failed, LOG_WARN, "listener %s: accept: %s", l->bound,
		    evutil_socket_error_to_string(err));
		return;
	}
	h->pause_ms = h->pause_ms == 0
	    ? HTTPD_PAUSE_MIN_MS
	    : (h->pause_ms * 2 > HTTPD_PAUSE_MAX_MS ? HTTPD_PAUSE_MAX_MS : h->pause_ms * 2);
	log_limited(&paused, LOG_WARN,
	    "listener %s: accept: %s (%u connections open): listeners paused for %u ms", l->bound,
	    evutil_socket_error_to_string(err), h->nconns, h->pause_ms);
	for (size_t i = 0; i < h->nlisteners; i++)
		if (h->listeners[i]->evl != NULL)
			evconnlistener_disable(h->listeners[i]->evl);
	tv.tv_sec = h->pause_ms / 1000;
	tv.tv_usec = (h->pause_ms % 1000) * 1000;
	evtimer_add(h->resume, &tv);
}

/* Split "scheme://host:port" into the TLS flag and "host:port". */
static int
httpd_parse_url(const char *url, int *tls, const char **hostport, char **cause)
{
	if (strncmp(url, "http://", 7) == 0) {
		*tls = 0;
		*hostport = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		*tls = 1;
		*hostport = url + 8;
	} else {
		xasprintf(cause, "%s: expected http://HOST:PORT or https://HOST:PORT", url);
		return -1;
	}
	return 0;
}

/* Parse "HOST:PORT" (numeric host, port 0 allowed) into a socket address. */
static int
httpd_parse_hostport(const char *hostport, struct sockaddr_storage *ss, int *sl)
{
	const char *colon = strrchr(hostport, ':');
	char *tmp;
	long port;
	int rc;

	if (colon == NULL || colon[1] == '\0')
		return -1;
	port = strtol(colon + 1, &tmp, 10);
	if (*tmp != '\0' || port < 0 || port > 65535)
		return -1;
	/* libevent refuses port 0: parse with port 1, then set the real one. */
	xasprintf(&tmp, "%.*s:1", (int)(colon - hostport), hostport);
	rc = evutil_parse_sockaddr_port(tmp, (struct sockaddr *)ss, sl);
	free(tmp);
	if (rc != 0)
		return -1;
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	return 0;
}

/* Listen on url; see httpd.h. */
int
httpd_listen(
    struct httpd *h, const char *url, SSL_CTX *tls, char *bound, size_t boundlen, char **cause)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof ss;
	struct http_listener *l;
	const char *hostport;
	int want_tls, sl = sizeof ss;

	if (httpd_parse_url(url, &want_tls, &hostport, cause) != 0)
		return -1;
	if (want_tls && tls == NULL) {
		xasprintf(cause, "%s: https needs a certificate and key", url);
		return -1;
	}
	if (httpd_parse_hostport(hostport, &ss, &sl) != 0) {
		xasprintf(cause, "%s: expected a numeric HOST:PORT", url);
		return -1;
	}
	l = xcalloc(1, sizeof *l);
	l->httpd = h;
	l->tls = want_tls ? tls : NULL;
	l->evl = evconnlistener_new_bind(h->base, httpd_accept, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 1024,
	    (struct sockaddr *)&ss, sl);
	if (l->evl == NULL) {
		xasprintf(
		    cause, "%s: %s", url, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		free(l);
		return -1;
	}
	evconnlistener_set_error_cb(l->evl, httpd_accept_error);
	getsockname(evconnlistener_get_fd(l->evl), (struct sockaddr *)&ss, &sslen);
	httpd_format_addr((struct sockaddr *)&ss, l->bound, sizeof l->bound);
	snprintf(bound, boundlen, "%s", l->bound);
	h->listeners = xreallocarray(h->listeners, h->nlisteners + 1, sizeof *h->listeners);
	h->listeners[h->nlisteners++] = l;
	return 0;
}

/* Drain deadline: close whatever is still open. */
static void
httpd_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct httpd *h = arg;
	struct http_conn *c;

	if (h->nconns > 0)
		log_warn("drain time over: closing %u connection(s)", h->nconns);
	while ((c = TAILQ_FIRST(&h->conns)) != NULL)
		httpd_conn_close(c);
	httpd_drain_check(h); /* nothing was open (else the last free calls back) */
}

/*
 * Stop listening without dropping what the kernel accepted already: the
 * connections waiting in the backlog are taken (and served), then the
 * socket is closed, so that a new connection is refused (a balancer tries
 * another node) rather than reset after its request was sent.
 */
static void
httpd_listener_close(struct http_listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len;
	evutil_socket_t fd;

	if (l->evl == NULL)
		return;
	for (;;) {
		len = sizeof ss;
		fd = accept4(evconnlistener_get_fd(l->evl), (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			break;
		httpd_accept(l->evl, fd, (struct sockaddr *)&ss, (int)len, l);
	}
	evconnlistener_free(l->evl);
	l->evl = NULL;
}

/* The drain's grace for idle connections is over: close those that sent nothing more. */
static void
httpd_drain_fresh(evutil_socket_t fd, short what, void *arg)
{
	struct httpd *h = arg;
	struct http_conn *c, *next;

	for (c = TAILQ_FIRST(&h->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state == HTTP_CONN_READING && !hparse_started(c->parser))
			httpd_conn_close(c);
	}
	httpd_drain_check(h);
}

/* Stop accepting; finish what is in flight; see httpd.h. */
void
httpd_drain(struct httpd *h, unsigned ms, void (*done)(void *), void *arg)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct timeval fresh = { 0,
		(ms < HTTPD_DRAIN_FRESH_MS ? ms : HTTPD_DRAIN_FRESH_MS) * 1000 };
	struct http_conn *c, *next;

	for (size_t i = 0; i < h->nlisteners; i++)
		httpd_listener_close(h->listeners[i]);
	h->draining = 1;
	event_del(h->resume);
	h->drain_done = done;
	h->drain_arg = arg;
	for (c = TAILQ_FIRST(&h->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state == HTTP_CONN_H2) {
			h2_shutdown(c->h2);
			httpd_conn_h2_pump(c);
		} else if (c->state == HTTP_CONN_UPGRADED)
			c->up->drain(c->up_arg);
		else /* busy, or idle (a request may be on its way: closing now would lose it
			unanswered): served, then closed; idle ones at the end of the grace */
			c->close_after = 1;
	}
	if (h->fresh_timer == NULL)
		h->fresh_timer = evtimer_new(h->base, httpd_drain_fresh, h);
	evtimer_add(h->fresh_timer, &fresh);
	if (h->drain_timer == NULL)
		h->drain_timer = evtimer_new(h->base, httpd_drain_timeout, h);
	if (h->nconns == 0 && h->ndead == 0)
		tv = (struct timeval){ 0, 0 }; /* nothing to wait for: done on the next turn */
	evtimer_add(h->drain_timer, &tv);
}

/* Free the server, its listeners and any remaining connections. */
void
httpd_free(struct httpd *h)
{
	struct http_conn *c;

	if (h == NULL)
		return;
	while ((c = TAILQ_FIRST(&h->conns)) != NULL)
		httpd_conn_close(c);
	h->drain_done = NULL;
	reap_now(h->reap);
	for (size_t i = 0; i < h->nlisteners; i++) {
		if (h->listeners[i]->evl != NULL)
			evconnlistener_free(h->listeners[i]->evl);
		free(h->listeners[i]);
	}
	free(h->listeners);
	if (h->drain_timer != NULL)
		event_free(h->drain_timer);
	if (h->fresh_timer != NULL)
		event_free(h->fresh_timer);
	reap_release(h->reap);
	event_free(h->sent_ev);
	event_free(h->resume);
	free(h);
}

/*
 * Whether a reply may be written straight to the socket: plain TCP, no rate
 * limit, nothing queued ahead, and the connection stays open after it (a
 * close is left to the write callback, outside the handler's call chain).
 */
static int
httpd_conn_can_write_now(struct http_conn *c)
{
	return !c->tls && c->rate == NULL && !c->close_after &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
}

/* Answer r on its connection (HTTP/1.1 or one HTTP/2 stream), taking over body; r is freed. */
void
httpd_conn_reply(struct http_req *r, int status, const char *ctype, struct buf *body)
{
	struct http_conn *c = r->conn;
	int now;

	if (c->httpd->observe != NULL)
		c->httpd->observe(r, status, body->len, (double)(util_now_us() - r->t0_us) / 1e6,
		    c->httpd->observe_arg);
	if (r->stream_id != 0) {
		log_debug("conn %llu: stream %u: %s %s -> %d", (unsigned long long)c->id,
		    r->stream_id, r->method, r->path, status);
		h2_reply(r, status, ctype, body);
		return;
	}
	if (r->close_after || c->httpd->draining)
		c->close_after = 1;
	log_debug("conn %llu: %s %s -> %d", (unsigned long long)c->id, r->method, r->path, status);
	now = httpd_conn_can_write_now(c);
	if (now)
		bev_hold_writes(c->bev);
	httpd_conn_write_response(c, r, status, ctype, body);
	c->req = NULL;
	httpd_req_free(r);
	httpd_conn_set_state(c, HTTP_CONN_WRITING);
	if (!now)
		bufferevent_enable(c->bev, EV_WRITE);
	else if (bev_write_now(c->bev) == 0 && !c->on_sent) { /* drained step later this turn */
		TAILQ_INSERT_TAIL(&c->httpd->sent, c, sent_entry);
		c->on_sent = 1;
		event_active(c->httpd->sent_ev, 0, 0);
	}
}

/* Abortive close: SO_LINGER 0 makes the close send a TCP reset. */
void
httpd_conn_reset(struct http_conn *c)
{
	struct linger lg = { 1, 0 };
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	httpd_conn_close(c);
}

/* Limit the connection's output rate (for simulating slow peers). */
void
httpd_conn_set_rate(struct http_conn *c, size_t bytes, unsigned tick_ms)
{
	struct timeval tick = { tick_ms / 1000, (tick_ms % 1000) * 1000 };

	if (c->rate != NULL)
		ev_token_bucket_cfg_free(c->rate);
	c->rate =
	    ev_token_bucket_cfg_new(EV_RATE_LIMIT_MAX, EV_RATE_LIMIT_MAX, bytes, bytes, &tick);
	c->rate_slice = bytes;
	bufferevent_set_rate_limit(c->bev, c->rate);
}

/* Watch every answer (metrics, access log). */
void
httpd_set_observer(struct httpd *h, httpd_observer fn, void *arg)
{
	h->observe = fn;
	h->observe_arg = arg;
}

/* Serve new TLS connections with tls (not owned); open ones keep their own. */
void
httpd_set_tls(struct httpd *h, SSL_CTX *tls)
{
	for (size_t i = 0; i < h->nlisteners; i++) {
		if (h->listeners[i]->tls != NULL)
			h->listeners[i]->tls = tls;
	}
}

/* Answer 101 and hand the connection over (see httpd.h). */
struct http_conn *
httpd_conn_upgrade(
    struct http_req *r, const struct http_upgrade_ops *ops, void *arg, struct bufferevent **bev)
{
	struct http_conn *c = r->conn;
	struct timeval wr = { c->lim.write_timeout_ms / 1000,
		(c->lim.write_timeout_ms % 1000) * 1000 };
	struct buf none;

	if (r->stream_id != 0)
		return NULL;
	log_debug("conn %llu: %s %s -> 101", (unsigned long long)c->id, r->method, r->path);
	buf_init(&none);
	httpd_conn_write_response(c, r, 101, NULL, &none);
	c->req = NULL;
	httpd_req_free(r);
	c->up = ops;
	c->up_arg = arg;
	httpd_conn_set_state(c, HTTP_CONN_UPGRADED);
	httpd_conn_read_bound(c, 0);
	httpd_conn_timeouts(c, NULL, &wr);
	httpd_conn_reading(c, 1);
	bufferevent_enable(c->bev, EV_WRITE);
	*bev = c->bev;
	return c;
}

/* Pause reading an upgraded connection, or read again (its new owner's backpressure). */
void
httpd_conn_set_reading(struct http_conn *c, int on)
{
	if (c->state == HTTP_CONN_UPGRADED)
		httpd_conn_reading(c, on);
}

/* The peer's "ip:port". */
const char *
httpd_conn_peer(const struct http_conn *c)
{
	return c->peer;
}

/* The listener's "ip:port". */
const char *
httpd_conn_local(const struct http_conn *c)
{
	return c->local;
}

/* The connection's number. */
uint64_t
httpd_conn_id(const struct http_conn *c)
{
	return c->id;
}

/* Whether the connection is TLS. */
int
httpd_conn_is_tls(const struct http_conn *c)
{
	return c->tls;
}

/* Close an upgraded connection without calling its owner back. */
void
httpd_conn_close_upgraded(struct http_conn *c)
{
	c->up = NULL;
	httpd_conn_close(c);
}

/* Whether an upgraded connection is plain TCP without a rate limit. */
int
httpd_conn_is_plain(const struct http_conn *c)
{
	return !c->tls && c->rate == NULL;
}
