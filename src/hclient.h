/*
 * hclient.h: the HTTP/1.1 client the UCWA client runs on (libevent).
 *
 * Three ownership levels, each with its own create/free pair:
 *   context (struct hclient)        hclient_new / hclient_free
 *   owner   (struct hclient_owner)  hclient_owner_new / hclient_owner_free
 *   request (struct hclient_req)    hclient_request / hclient_cancel
 * Connections are private to the context: command requests reuse idle
 * keep-alive connections per origin; long-polls (HCLIENT_LONGPOLL) never
 * share a connection with commands. Every request has a timeout; every
 * owner has a bound on its outstanding requests. Host names are resolved
 * with evdns (never a blocking getaddrinfo). HTTPS verifies the peer
 * against the configured CA file or the system store, checks the host name
 * and sends SNI.
 *
 * Retries: a request is re-sent (once, on a new connection) only when its
 * kept-alive connection died before any response byte AND either its method
 * is idempotent (GET, HEAD, DELETE) or no byte of it left the client (the
 * write failed or had not started). An idle connection is peeked before it
 * takes a request; one the peer closed unseen is dropped, not written to.
 * Any other request whose connection died completes with a transport error
 * (HCLIENT_ERR_CLOSED, status 0): the server may have acted on it, and only
 * the caller can decide what to do (a message must never be sent twice).
 * Long-polls are never retried here (their owner re-sends them).
 *
 * A request's callback runs exactly once, unless the request is cancelled
 * (or its owner freed) first: then it never runs. The request is gone when
 * the callback returns. A callback may free its owner, cancel other
 * requests and start new ones (but not free the context).
 */
#ifndef UCGW_HCLIENT_H
#define UCGW_HCLIENT_H

#include <stddef.h>

#include <event2/event.h>

#include "hparse.h"
#include "util.h"

struct hclient;
struct hclient_owner;
struct hclient_req;

struct hclient_opts {
	const char *ca_file;	      /* NULL: the system store */
	int verify;		      /* verify https peers (certificate and name) */
	const char *user_agent;	      /* User-Agent header, or NULL */
	unsigned connect_timeout_ms;  /* DNS + TCP + TLS */
	size_t max_body;	      /* response body bound */
	size_t max_header_bytes;      /* response header bound */
	unsigned max_idle_per_origin; /* idle keep-alive connections kept per origin */
	unsigned idle_timeout_ms;     /* idle keep-alive connections close after this */
};

/* A parsed absolute URL (http or https). */
struct hclient_url {
	int tls;
	char host[256]; /* without brackets for IPv6 */
	int port;
	char *path; /* path and query, "/" at least; malloc'd */
};

int hclient_url_parse(const char *url, struct hclient_url *, const char **why);
void hclient_url_clear(struct hclient_url *);
/* Resolve href (absolute, "//host/...", "/path" or relative) against base into out. */
int hclient_url_resolve(const char *base, const char *href, struct buf *out);
/* Append name=value (percent-encoded) to url's query into out. */
void hclient_url_add_query(struct buf *out, const char *url, const char *name, const char *value);

enum hclient_err {
	HCLIENT_OK = 0,	      /* an HTTP response arrived (any status) */
	HCLIENT_ERR_CONNECT,  /* DNS, TCP refused/unreachable, connect timeout */
	HCLIENT_ERR_TLS,      /* handshake failed: certificate or name rejected */
	HCLIENT_ERR_TIMEOUT,  /* no complete response in time */
	HCLIENT_ERR_PROTOCOL, /* malformed or oversized response */
	HCLIENT_ERR_CLOSED,   /* the connection dropped mid-response */
};

struct hclient_conn;
struct hclient_resp {
	enum hclient_err err;
	const char *errstr;	      /* why, when err != OK */
	int status;		      /* HTTP status when err == OK */
	const struct hparse_msg *msg; /* headers; NULL when err != OK */
	const char *body;	      /* NUL-terminated */
	size_t len;
	struct hclient_conn *upgraded; /* a 101 to an HCLIENT_UPGRADE request: its connection */
};

typedef void (*hclient_cb)(const struct hclient_resp *, void *arg);

#define HCLIENT_LONGPOLL 0x1 /* a connection of its own, never a command's */
#define HCLIENT_UPGRADE	 0x2 /* the answer may be 101: hclient_take_upgraded */

struct hclient *hclient_new(struct event_base *, const struct hclient_opts *, char **cause);
/* Frees every owner's requests without callbacks and closes every connection. */
void hclient_free(struct hclient *);
const char *hclient_err_name(enum hclient_err);

struct hclient_owner *hclient_owner_new(struct hclient *, unsigned max_outstanding);
/* Cancels every request of the owner (no callbacks). */
void hclient_owner_free(struct hclient_owner *);
unsigned hclient_owner_outstanding(const struct hclient_owner *);

/*
 * Start a request. hdrs: NULL-terminated name, value pairs (may be NULL).
 * body may be NULL. Returns NULL (and no callback) when the URL is bad or
 * the owner already has max_outstanding requests.
 */
struct hclient_req *hclient_request(struct hclient_owner *, const char *method, const char *url,
    const char *const *hdrs, const char *body, size_t len, unsigned timeout_ms, int flags,
    hclient_cb, void *arg);
/* Forget a request: its callback will not run. Not valid from its own callback. */
void hclient_cancel(struct hclient_req *);

/*
 * From the callback of a 101 to an HCLIENT_UPGRADE request: the connection's
 * bufferevent (TLS or not), connected and without callbacks, with whatever
 * followed the 101 in its input; the caller frees it. NULL otherwise.
 */
struct bufferevent;
struct bufferevent *hclient_take_upgraded(const struct hclient_resp *);
/* Connections open (for tests). */
unsigned hclient_nconns(const struct hclient *);

#endif
