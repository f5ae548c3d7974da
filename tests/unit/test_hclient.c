/*
 * test_hclient.c: unit tests of hclient.c against an in-process httpd on a
 * loopback port: responses, keep-alive reuse, long-polls on their own
 * connection, timeouts, the outstanding bound, cancel without callback,
 * connection refused, HTML error bodies, and URL parsing/resolution.
 * (Certificate checks run end to end: tests/e2e/ucwa_tls.test.js.)
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "hclient.h"
#include "httpd.h"
#include "unit.h"

struct peer {
	struct event_base *base;
	struct httpd *httpd;
	char url[128];
	struct http_req *held; /* a request the peer answers later */
	uint64_t conn_ids[16];
	int nreq;
	int replies; /* client callbacks seen */
	struct hclient_resp last;
	char lastbody[512];
	char lasterr[512];
	uint64_t hold_conn, cmd_conn;
	int stop_after;
	int dropped; /* "/drop-once" requests dropped after reading them */
};

/*
 * Peer handler: "/hold" is parked, "/html" is a 503 HTML page, the first
 * "/drop-once" is read and answered with a TCP reset, else 200 echoing the path.
 */
static void
peer_handler(struct http_req *req, void *arg)
{
	struct peer *p = arg;
	const char *path = http_req_path(req);
	char body[256];

	if (p->nreq < 16)
		p->conn_ids[p->nreq] = http_req_conn_id(req);
	p->nreq++;
	if (strcmp(path, "/cmd") == 0)
		p->cmd_conn = http_req_conn_id(req);
	if (strcmp(path, "/hold") == 0) {
		p->hold_conn = http_req_conn_id(req);
		p->held = req;
		return;
	}
	if (strcmp(path, "/drop-once") == 0 && p->dropped++ == 0) {
		http_req_reset(req); /* read it (maybe acted on it), then die */
		return;
	}
	if (strcmp(path, "/html") == 0) {
		const char *h = "<html><body>Service Unavailable</body></html>";

		http_req_reply(req, 503, "text/html", h, strlen(h));
		return;
	}
	snprintf(
	    body, sizeof(body), "{\"path\":\"%s\",\"query\":\"%s\"}", path, http_req_query(req));
	http_req_reply(req, 200, "application/json", body, strlen(body));
}

static void
peer_start_idle(struct peer *p, unsigned idle_ms)
{
	struct httpd_limits lim = { 16384, 1 << 20, 100, 5000, idle_ms, 5000 };
	char bound[64], *cause = NULL;

	memset(p, 0, sizeof(*p));
	p->base = event_base_new();
	p->httpd = httpd_create(p->base, &lim, peer_handler, p);
	ck_assert_int_eq(
	    httpd_listen(p->httpd, "http://127.0.0.1:0", NULL, bound, sizeof(bound), &cause), 0);
	snprintf(p->url, sizeof(p->url), "http://%s", bound);
}

static void
peer_start(struct peer *p)
{
	peer_start_idle(p, 5000);
}

static void
peer_stop(struct peer *p)
{
	httpd_free(p->httpd);
	event_base_free(p->base);
}

static struct hclient *
client_new(struct peer *p)
{
	struct hclient_opts o = { NULL, 1, "ucgw-test/1", 2000, 1 << 20, 16384, 4, 5000 };
	char *cause = NULL;
	struct hclient *hc = hclient_new(p->base, &o, &cause);

	ck_assert_msg(hc != NULL, "%s", cause ? cause : "");
	return hc;
}

/* Client callback: remember the response and stop the loop when told. */
static void
on_resp(const struct hclient_resp *r, void *arg)
{
	struct peer *p = arg;

	p->replies++;
	p->last = *r;
	p->last.msg = NULL;
	snprintf(p->lastbody, sizeof(p->lastbody), "%s", r->body);
	p->last.body = p->lastbody;
	snprintf(p->lasterr, sizeof(p->lasterr), "%s", r->errstr ? r->errstr : "");
	p->last.errstr = p->lasterr;
	if (p->replies >= p->stop_after)
		event_base_loopbreak(p->base);
}

static void
run(struct peer *p, int replies)
{
	struct timeval tv = { 10, 0 };

	p->stop_after = replies;
	event_base_loopexit(p->base, &tv);
	event_base_dispatch(p->base);
}

static const char *
url(struct peer *p, const char *path)
{
	static char u[256];

	snprintf(u, sizeof(u), "%s%s", p->url, path);
	return u;
}

START_TEST(test_get_and_keepalive_reuse)
{
	struct peer p;
	struct hclient *hc;
	struct hclient_owner *o;

	peer_start(&p);
	hc = client_new(&p);
	o = hclient_owner_new(hc, 10);
	ck_assert_ptr_nonnull(
	    hclient_request(o, "GET", url(&p, "/a?x=1"), NULL, NULL, 0, 2000, 0, on_resp, &p));
	run(&p, 1);
	ck_assert_int_eq(p.last.err, HCLIENT_OK);
	ck_assert_int_eq(p.last.status, 200);
	ck_assert_str_eq(p.lastbody, "{\"path\":\"/a\",\"query\":\"x=1\"}");
	ck_assert_ptr_nonnull(
	    hclient_request(o, "POST", url(&p, "/b"), NULL, "hi", 2, 2000, 0, on_resp, &p));
	run(&p, 2);
	ck_assert_int_eq(p.last.status, 200);
	ck_assert_int_eq(p.nreq, 2);
	ck_assert_uint_eq(p.conn_ids[0], p.conn_ids[1]); /* the same connection */
	ck_assert_uint_eq(hclient_nconns(hc), 1);
	ck_assert_uint_eq(hclient_owner_outstanding(o), 0);
	hclient_owner_free(o);
	hclient_free(hc);
	peer_stop(&p);
}
END_TEST

START_TEST(test_longpoll_has_its_own_connection)
{
	struct peer p;
	struct hclient *hc;
	struct hclient_owner *o;

	peer_start(&p);
	hc = client_new(&p);
	o = hclient_owner_new(hc, 10);
	hclient_request(o, "GET", url(&p, "/warm"), NULL, NULL, 0, 2000, 0, on_resp, &p);
	run(&p, 1);
	hclient_request(
	    o, "GET", url(&p, "/hold"), NULL, NULL, 0, 5000, HCLIENT_LONGPOLL, on_resp, &p);
	hclient_request(o, "GET", url(&p, "/cmd"), NULL, NULL, 0, 2000, 0, on_resp, &p);
	run(&p, 2); /* the command completes while the long-poll is parked */
	ck_assert_str_eq(p.lastbody, "{\"path\":\"/cmd\",\"query\":\"\"}");
	ck_assert_ptr_nonnull(p.held);
	ck_assert_uint_eq(p.conn_ids[0], p.cmd_conn);  /* command reused the warm one */
	ck_assert_uint_ne(p.hold_conn, p.conn_ids[0]); /* long-poll did not */
	http_req_reply(p.held, 200, "application/json", "{}", 2);
	run(&p, 3);
	ck_assert_int_eq(p.last.status, 200);
	ck_assert_str_eq(p.lastbody, "{}");
	hclient_owner_free(o);
	hclient_free(hc);
	peer_stop(&p);
}
END_TEST

START_TEST(test_timeout)
{
	struct peer p;
	struct hclient *hc;
	struct hclient_owner *o;

	peer_start(&p);
	hc = client_new(&p);
	o = hclient_owner_new(hc, 10);
	hclient_request(o, "GET", url(&p, "/hold"), NULL, NULL, 0, 200, 0, on_resp, &p);
	run(&p, 1);
	ck_assert_int_eq(p.last.err, HCLIENT_ERR_TIMEOUT);
	ck_assert_uint_eq(hclient_owner_outstanding(o), 0);
	hclient_owner_free(o);
	hclient_free(hc);
	peer_stop(&p);
}
END_TEST

START_TEST(test_outstanding_bound)
{
	struct peer p;
	struct hclient *hc;
	struct hclient_owner *o;

	peer_start(&p);
	hc = client_new(&p);
	o = hclient_owner_new(hc, 2);
	ck_assert_ptr_nonnull(
	    hclient_request(o, "GET", url(&p, "/1"), NULL, NULL, 0, 2000, 0, on_resp, &p));
	ck_assert_ptr_nonnull(
	    hclient_request(o, "GET", url(&p, "/2"), NULL, NULL, 0, 2000, 0, on_resp, &p));
	ck_assert_ptr_null(
	    hclient_request(o, "GET", url(&p, "/3"), NULL, NULL, 0, 2000, 0, on_resp, &p));
	run(&p, 2);
	ck_assert_int_eq(p.replies, 2);
	ck_assert_ptr_nonnull(
	    hclient_request(o, "GET", url(&p, "/3"), NULL, NULL, 0, 2000, 0, on_resp, &p));
	run(&p, 3);
	ck_assert_int_eq(p.replies, 3);
	hclient_owner_free(o);
	hclient_free(hc);
	peer_stop(&p);
}
END_TEST

/* A second client whose callback must never run. */
static void
on_resp_never(const struct hclient_resp *r, void *arg)
{
	ck_abort_msg("callback after cancel");
}

START_TEST(test_cancel_means_no_callback)
{
	struct peer p;
	struct hclient *hc;
	struct hclient_owner *o, *o2;
	struct hclient_req *r;

	peer_start(&p);
	hc = client_new(&p);
	o = hclient_owner_new(hc, 10);
	o2 = hclient_owner_new(hc, 10);
	r = hclient_request(o, "GET", url(&p, "/hold"), NULL, NULL, 0, 300, 0, on_resp_never, &p);
	hclient_request(o2, "GET", url(&p, "/x"), NULL, NULL, 0, 2000, 0, on_resp_never, &p);
	hclient_cancel(r);
	hclient_owner_free(o2); /* the owner goes away: its request too */
	/* a third request on another owner, to give the loop time for stray callbacks */
	hclient_request(o, "GET", url(&p, "/hold"), NULL, NULL, 0, 500, 0, on_resp, &p);
	run(&p, 1);
	ck_assert_int_eq(p.replies, 1);
	ck_assert_int_eq(p.last.err, HCLIENT_ERR_TIMEOUT);
	hclient_owner_free(o);
	hclient_free(hc);
	peer_stop(&p);
}
END_TEST

START_TEST(test_refused_and_html_error)
{
	struct peer p;
	struct hclient *hc;
	struct hclient_owner *o;

	peer_start(&p);
	hc = client_new(&p);
	o = hclient_owner_new(hc, 10);
	hclient_request(o, "GET", "http://127.0.0.1:1/", NULL, NULL, 0, 2000, 0, on_resp, &p);
	run(&p, 1);
	ck_assert_int_eq(p.last.err, HCLIENT_ERR_CONNECT);
	ck_assert_ptr_nonnull(strstr(p.last.errstr, "127.0.0.1:1"));
	hclient_request(o, "GET", url(&p, "/html"), NULL, NULL, 0, 2000, 0, on_resp, &p);
	run(&p, 2);
	ck_assert_int_eq(p.last.err, HCLIENT_OK);
	ck_assert_int_eq(p.last.status, 503);
	ck_assert_ptr_nonnull(strstr(p.lastbody, "Service Unavailable"));
	hclient_owner_free(o);
	hclient_free(hc);
	peer_stop(&p);
}
END_TEST

START_TEST(test_url_parse)
{
	struct hclient_url u;
	const char *why;

	ck_assert_int_eq(
	    hclient_url_parse("https://lyncweb.contoso.com/ucwa/oauth?x=1#f", &u, &why), 0);
	ck_assert_int_eq(u.tls, 1);
	ck_assert_str_eq(u.host, "lyncweb.contoso.com");
	ck_assert_int_eq(u.port, 443);
	ck_assert_str_eq(u.path, "/ucwa/oauth?x=1");
	hclient_url_clear(&u);
	ck_assert_int_eq(hclient_url_parse("http://[::1]:8080?q", &u, &why), 0);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_int_eq(u.port, 8080);
	ck_assert_str_eq(u.path, "/?q");
	hclient_url_clear(&u);
	ck_assert_int_eq(hclient_url_parse("ftp://x/", &u, &why), -1);
	ck_assert_int_eq(hclient_url_parse("http://x:99999/", &u, &why), -1);
	ck_assert_int_eq(hclient_url_parse("http:///p", &u, &why), -1);
	ck_assert_int_eq(hclient_url_parse("http://h:12x/", &u, &why), -1);
}
END_TEST

START_TEST(test_url_resolve_and_query)
{
	struct buf b;
	const char *base = "https://lyncweb.contoso.com:4443/ucwa/oauth/v1/applications?x=1";

	buf_init(&b);
	hclient_url_resolve(base, "/ucwa/oauth/v1/applications/105/events?ack=1", &b);
	ck_assert_str_eq(
	    b.data, "https://lyncweb.contoso.com:4443/ucwa/oauth/v1/applications/105/events?ack=1");
	hclient_url_resolve(base, "https://other.example/x", &b);
	ck_assert_str_eq(b.data, "https://other.example/x");
	hclient_url_resolve(base, "//h2.example/y", &b);
	ck_assert_str_eq(b.data, "https://h2.example/y");
	hclient_url_resolve(base, "105/events", &b);
	ck_assert_str_eq(b.data, "https://lyncweb.contoso.com:4443/ucwa/oauth/v1/105/events");
	hclient_url_add_query(&b, "https://h/m/messages", "operationId", "a b&c");
	ck_assert_str_eq(b.data, "https://h/m/messages?operationId=a%20b%26c");
	hclient_url_add_query(&b, "https://h/events?ack=3", "timeout", "180");
	ck_assert_str_eq(b.data, "https://h/events?ack=3&timeout=180");
	buf_free(&b);
}
END_TEST

static void
nothing(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

START_TEST(test_server_closed_idle_connection)
{
	struct peer p;
	struct hclient *hc;
	struct hclient_owner *o;
	struct timeval tv = { 0, 400000 };

	peer_start_idle(&p, 100); /* the server drops idle connections after 100 ms */
	hc = client_new(&p);
	o = hclient_owner_new(hc, 10);
	hclient_request(o, "GET", url(&p, "/1"), NULL, NULL, 0, 2000, 0, on_resp, &p);
	run(&p, 1);
	event_base_once(p.base, -1, EV_TIMEOUT, nothing, p.base, &tv);
	event_base_dispatch(p.base); /* 400 ms: the server closed it meanwhile */
	hclient_request(o, "POST", url(&p, "/2"), NULL, "x", 1, 2000, 0, on_resp, &p);
	run(&p, 2);
	ck_assert_int_eq(p.last.err, HCLIENT_OK);
	ck_assert_int_eq(p.last.status, 200);
	ck_assert_int_eq(p.nreq, 2); /* sent once */
	hclient_owner_free(o);
	hclient_free(hc);
	peer_stop(&p);
}
END_TEST

/* A request sent once on a kept-alive connection, then its connection dropped by the peer. */
static void
drop_after_read(const char *method, int *nreq, enum hclient_err *err, int *status)
{
	struct peer p;
	struct hclient *hc;
	struct hclient_owner *o;

	peer_start(&p);
	hc = client_new(&p);
	o = hclient_owner_new(hc, 10);
	hclient_request(o, "GET", url(&p, "/a"), NULL, NULL, 0, 2000, 0, on_resp, &p);
	run(&p, 1);
	ck_assert_int_eq(p.last.status, 200);
	ck_assert_ptr_nonnull(hclient_request(
	    o, method, url(&p, "/drop-once"), NULL, "msg", 3, 2000, 0, on_resp, &p));
	run(&p, 2);
	ck_assert_int_eq(p.replies, 2);
	ck_assert_int_eq(p.dropped >= 1, 1);
	ck_assert_uint_eq(p.conn_ids[0], p.conn_ids[1]); /* it went on the kept-alive one */
	*nreq = p.nreq;
	*err = p.last.err;
	*status = p.last.status;
	hclient_owner_free(o);
	hclient_free(hc);
	peer_stop(&p);
}

/* The server read a POST and dropped the connection: no second POST, a transport error. */
START_TEST(test_post_not_resent_after_server_read_it)
{
	enum hclient_err err;
	int nreq, status;

	drop_after_read("POST", &nreq, &err, &status);
	ck_assert_int_eq(nreq, 2); /* the GET and ONE POST */
	ck_assert_int_eq(err, HCLIENT_ERR_CLOSED);
	ck_assert_int_eq(status, 0);
}
END_TEST

/* The same for an idempotent GET (and DELETE): retried once on a new connection. */
START_TEST(test_idempotent_request_retried_after_drop)
{
	enum hclient_err err;
	int nreq, status;

	drop_after_read("GET", &nreq, &err, &status);
	ck_assert_int_eq(nreq, 3); /* dropped, then answered */
	ck_assert_int_eq(err, HCLIENT_OK);
	ck_assert_int_eq(status, 200);
	drop_after_read("DELETE", &nreq, &err, &status);
	ck_assert_int_eq(nreq, 3);
	ck_assert_int_eq(status, 200);
}
END_TEST

/* A bare TCP peer driven step by step by the test (non-blocking sockets). */
static int
raw_listen(char *u, size_t ulen)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	snprintf(u, ulen, "http://127.0.0.1:%d", ntohs(sin.sin_port));
	return fd;
}

/* Accept a connection, running the client's loop meanwhile. */
static int
raw_accept(struct peer *p, int lfd)
{
	uint64_t until = util_now_ms() + 5000;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) < 0 && util_now_ms() < until)
		event_base_loop(p->base, EVLOOP_NONBLOCK);
	ck_assert_int_ge(fd, 0);
	return fd;
}

/* Read one whole request (headers and Content-Length body) into buf. */
static void
raw_read_request(struct peer *p, int fd, char *buf, size_t len)
{
	uint64_t until = util_now_ms() + 5000;
	size_t got = 0;
	const char *end = NULL, *cl;
	ssize_t n;

	for (;;) {
		buf[got] = '\0';
		if (end == NULL)
			end = strstr(buf, "\r\n\r\n");
		cl = strstr(buf, "Content-Length: ");
		if (end != NULL &&
		    got >= (size_t)(end + 4 - buf) + (cl != NULL ? strtoul(cl + 16, NULL, 10) : 0))
			return;
		ck_assert_msg(util_now_ms() < until, "no whole request");
		if ((n = read(fd, buf + got, len - 1 - got)) > 0)
			got += (size_t)n;
		else
			event_base_loop(p->base, EVLOOP_NONBLOCK);
	}
}

/* Answer 200 with a keep-alive body. */
static void
raw_reply(int fd, const char *body)
{
	char r[256];
	int n = snprintf(r, sizeof(r),
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s",
	    strlen(body), body);

	ck_assert_int_eq(write(fd, r, (size_t)n), n);
}

/*
 * The peer closed a connection idle for more than a second (its keep-alive
 * timeout) and the loop has not seen it yet when a POST is started: the POST
 * goes on a new connection, once.
 */
START_TEST(test_post_avoids_idle_connection_closed_unseen)
{
	struct peer p;
	struct hclient *hc;
	struct hclient_owner *o;
	char req[2048];
	int lfd, fd1, fd2;

	memset(&p, 0, sizeof(p));
	p.base = event_base_new();
	lfd = raw_listen(p.url, sizeof(p.url));
	hc = client_new(&p);
	o = hclient_owner_new(hc, 10);
	hclient_request(o, "GET", url(&p, "/1"), NULL, NULL, 0, 2000, 0, on_resp, &p);
	fd1 = raw_accept(&p, lfd);
	raw_read_request(&p, fd1, req, sizeof(req));
	raw_reply(fd1, "{}");
	run(&p, 1);
	ck_assert_int_eq(p.last.status, 200);
	usleep(1100 * 1000); /* idle past HCLIENT_FRESH_MS: a peek is due */
	close(fd1);	     /* the FIN is on its way; the loop does not run before the POST */
	hclient_request(o, "POST", url(&p, "/2"), NULL, "x", 1, 2000, 0, on_resp, &p);
	fd2 = raw_accept(&p, lfd);
	raw_read_request(&p, fd2, req, sizeof(req));
	ck_assert_ptr_nonnull(strstr(req, "POST /2 "));
	raw_reply(fd2, "{\"second\":1}");
	run(&p, 2);
	ck_assert_int_eq(p.last.err, HCLIENT_OK);
	ck_assert_str_eq(p.lastbody, "{\"second\":1}");
	ck_assert_int_eq(accept(lfd, NULL, NULL) < 0 && errno == EAGAIN, 1); /* no third */
	close(fd2);
	close(lfd);
	hclient_owner_free(o);
	hclient_free(hc);
	event_base_free(p.base);
}
END_TEST

/* Each response starts the next request from inside the callback (as the P-GET loop does). */
struct chain {
	struct peer *p;
	struct hclient_owner *o;
	int n;
};

static void
chain_resp(const struct hclient_resp *r, void *arg)
{
	struct chain *ch = arg;
	struct peer *p = ch->p;

	ck_assert_int_eq(r->err, HCLIENT_OK);
	if (++ch->n < 4) {
		/* the fourth is held by the peer past the client's idle timeout */
		hclient_request(ch->o, "GET", url(p, ch->n == 3 ? "/hold" : "/next"), NULL, NULL, 0,
		    3000, HCLIENT_LONGPOLL, chain_resp, ch);
		return;
	}
	on_resp(r, p);
}

static void
release_held(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;

	ck_assert_ptr_nonnull(p->held);
	http_req_reply(p->held, 200, "application/json", "{\"late\":1}", 10);
	p->held = NULL;
}

START_TEST(test_request_started_from_callback_survives_idle_timer)
{
	struct peer p;
	struct hclient_opts o = { NULL, 1, NULL, 2000, 1 << 20, 16384, 4, 200 };
	char *cause = NULL;
	struct hclient *hc;
	struct chain ch;
	struct timeval tv = { 0, 700000 };

	peer_start(&p);
	hc = hclient_new(p.base, &o, &cause); /* idle connections close after 200 ms */
	memset(&ch, 0, sizeof(ch));
	ch.p = &p;
	ch.o = hclient_owner_new(hc, 10);
	hclient_request(
	    ch.o, "GET", url(&p, "/first"), NULL, NULL, 0, 3000, HCLIENT_LONGPOLL, chain_resp, &ch);
	event_base_once(p.base, -1, EV_TIMEOUT, release_held, &p, &tv);
	run(&p, 1);
	ck_assert_int_eq(p.last.err, HCLIENT_OK);
	ck_assert_str_eq(p.lastbody, "{\"late\":1}");
	ck_assert_int_eq(p.nreq, 4);
	hclient_owner_free(ch.o);
	hclient_free(hc);
	peer_stop(&p);
}
END_TEST

static Suite *
hclient_suite(void)
{
	Suite *s = suite_create("hclient");

	UNIT_ADD(s, test_get_and_keepalive_reuse);
	UNIT_ADD(s, test_longpoll_has_its_own_connection);
	UNIT_ADD(s, test_timeout);
	UNIT_ADD(s, test_outstanding_bound);
	UNIT_ADD(s, test_cancel_means_no_callback);
	UNIT_ADD(s, test_refused_and_html_error);
	UNIT_ADD(s, test_server_closed_idle_connection);
	UNIT_ADD(s, test_post_not_resent_after_server_read_it);
	UNIT_ADD(s, test_idempotent_request_retried_after_drop);
	UNIT_ADD(s, test_post_avoids_idle_connection_closed_unseen);
	UNIT_ADD(s, test_request_started_from_callback_survives_idle_timer);
	UNIT_ADD(s, test_url_parse);
	UNIT_ADD(s, test_url_resolve_and_query);
	return s;
}

UNIT_MAIN(hclient_suite)
