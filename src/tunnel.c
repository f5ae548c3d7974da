/*
 * tunnel.c: WebSocket tunnels to the agent's owner (see tunnel.h). Each
 * side's input is written to the other side; past the write threshold the
 * side that reads pauses until the other has drained (so a slow desktop
 * or owner costs at most the threshold per direction). When one side
 * closes, the other is closed once what came from the first is written.
 * A tunnel ends in one function (tunnel_end) and is freed on a later loop
 * turn: it may end inside a callback of either connection.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "gws_reply.h"
#include "hparse.h"
#include "httpd.h"
#include "log.h"
#include "reap.h"
#include "tunnel.h"
#include "util.h"

struct tunnel {
	struct tunnels *ts;
	struct http_conn *down;	  /* the desktop's upgraded connection (httpd's); NULL: gone */
	struct bufferevent *dbev; /* its bufferevent (httpd's) */
	struct bufferevent *up;	  /* to the owner (the tunnel's); NULL: closed */
	char *holder;		  /* the owner's node id, for the log */
	int up_eof;		  /* the owner closed: the desktop is closed once written to */
	int ended;
	LIST_ENTRY(tunnel) entry;
	struct reap_link reap;
};

struct tunnels {
	struct reap *reap;
	size_t threshold;
	unsigned n;
	LIST_HEAD(, tunnel) all;
};

/* Make the node's tunnels. */
struct tunnels *
tunnels_create(struct event_base *base, size_t threshold)
{
	struct tunnels *ts = xcalloc(1, sizeof *ts);

	ts->reap = reap_hold(base);
	ts->threshold = threshold > 0 ? threshold : 1 << 20;
	LIST_INIT(&ts->all);
	return ts;
}

/* A new write threshold (reload). */
void
tunnels_set_threshold(struct tunnels *ts, size_t threshold)
{
	ts->threshold = threshold > 0 ? threshold : 1 << 20;
}

/* Free an ended tunnel (the reaper). */
static void
tunnel_free(struct reap_link *l)
{
	struct tunnel *t = container_of(l, struct tunnel, reap);

	free(t->holder);
	free(t);
}

/* End the tunnel: both connections closed now, the tunnel freed on a later turn. */
static void
tunnel_end(struct tunnel *t, const char *why)
{
	if (t->ended)
		return;
	t->ended = 1;
	log_info("forward: websocket tunnel to node %s closed: %s", t->holder, why);
	if (t->up != NULL)
		bufferevent_free(t->up);
	t->up = NULL;
	if (t->down != NULL)
		httpd_conn_close_upgraded(t->down);
	t->down = NULL;
	LIST_REMOVE(t, entry);
	t->ts->n--;
	reap_later(t->ts->reap, &t->reap, tunnel_free);
}

/* Close every tunnel and free. */
void
tunnels_free(struct tunnels *ts)
{
	if (ts == NULL)
		return;
	while (!LIST_EMPTY(&ts->all))
		tunnel_end(LIST_FIRST(&ts->all), "the node stops");
	reap_release(ts->reap);
	free(ts);
}

/* Tunnels open. */
unsigned
tunnels_count(const struct tunnels *ts)
{
	return ts != NULL ? ts->n : 0;
}

/* Move what from has read to to's output; returns 1 past the threshold (pause from). */
static int
tunnel_pass(struct tunnel *t, struct bufferevent *from, struct bufferevent *to)
{
	struct evbuffer *out = bufferevent_get_output(to);

	evbuffer_add_buffer(out, bufferevent_get_input(from));
	return evbuffer_get_length(out) > t->ts->threshold;
}

/* The desktop sent bytes: to the owner. */
static void
tunnel_down_read(void *arg)
{
	struct tunnel *t = arg;

	if (t->up != NULL && !t->up_eof) {
		if (tunnel_pass(t, t->dbev, t->up))
			httpd_conn_set_reading(t->down, 0); /* until the owner has drained */
	} else
		evbuffer_drain(bufferevent_get_input(t->dbev), (size_t)-1);
}

/* The desktop's output drained: the owner may be read again, or the tunnel ends. */
static void
tunnel_down_write(void *arg)
{
	struct tunnel *t = arg;

	if (t->up_eof)
		tunnel_end(t, "the owner closed");
	else if (t->up != NULL)
		bufferevent_enable(t->up, EV_READ);
}

/* This node drains: the desktop's client reconnects, through another node. */
static void
tunnel_down_drain(void *arg)
{
	tunnel_end(arg, "this node drains");
}

/* The desktop's connection is gone (httpd's last call). */
static void
tunnel_down_closed(void *arg)
{
	struct tunnel *t = arg;

	t->down = NULL;
	tunnel_end(t, "the desktop closed");
}

static const struct http_upgrade_ops tunnel_down_ops = {
	.read = tunnel_down_read,
	.write = tunnel_down_write,
	.drain = tunnel_down_drain,
	.closed = tunnel_down_closed,
};

/* The owner sent bytes: to the desktop. */
static void
tunnel_up_read(struct bufferevent *bev, void *arg)
{
	struct tunnel *t = arg;

	if (t->down != NULL && tunnel_pass(t, bev, t->dbev))
		bufferevent_disable(bev, EV_READ); /* until the desktop has drained */
}

/* The owner's output drained: the desktop may be read again. */
static void
tunnel_up_write(struct bufferevent *bev, void *arg)
{
	struct tunnel *t = arg;

	if (t->down != NULL)
		httpd_conn_set_reading(t->down, 1);
}

/* The owner closed or failed: what it sent goes to the desktop, then the tunnel ends. */
static void
tunnel_up_event(struct bufferevent *bev, short what, void *arg)
{
	struct tunnel *t = arg;

	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
		return;
	if (t->down != NULL)
		evbuffer_add_buffer(bufferevent_get_output(t->dbev), bufferevent_get_input(bev));
	t->up_eof = 1;
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	if (t->down == NULL || evbuffer_get_length(bufferevent_get_output(t->dbev)) == 0)
		tunnel_end(t, what & BEV_EVENT_EOF ? "the owner closed" : "the owner failed");
}

/* Whether a header of the owner's 101 goes to the desktop: the protocol's own. */
static int
tunnel_header_passes(const char *name)
{
	return strncasecmp(name, "Sec-WebSocket-", 14) == 0;
}

/* Join req (answered 101 with the owner's protocol headers) and up; see tunnel.h. */
int
tunnel_open(struct tunnels *ts, struct http_req *req, const struct hparse_msg *owner101,
    struct bufferevent *up, const char *holder)
{
	struct tunnel *t;
	const char *upgrade = hparse_header(owner101, "Upgrade");
	char peer[64];

	for (size_t i = 0; i < owner101->nheaders; i++)
		if (tunnel_header_passes(owner101->headers[i].name))
			http_req_add_header(
			    req, owner101->headers[i].name, owner101->headers[i].value);
	http_req_add_header(req, "Upgrade", upgrade != NULL ? upgrade : "websocket");
	http_req_add_header(req, "Connection", "Upgrade");
	snprintf(peer, sizeof peer, "%s", http_req_peer(req)); /* req goes with the upgrade */
	t = xcalloc(1, sizeof *t);
	t->ts = ts;
	t->up = up;
	t->holder = xstrdup(holder);
	if ((t->down = http_req_upgrade(req, &tunnel_down_ops, t, &t->dbev)) == NULL) {
		bufferevent_free(up);
		free(t->holder);
		free(t);
		gws_reply_error(req, 502, GWS_INTERNAL, "WebSocket needs HTTP/1.1");
		return -1;
	}
	LIST_INSERT_HEAD(&ts->all, t, entry);
	ts->n++;
	log_info("forward: websocket of %s tunnelled to node %s", peer, holder);
	bufferevent_setcb(up, tunnel_up_read, tunnel_up_write, tunnel_up_event, t);
	bufferevent_setwatermark(up, EV_WRITE, 0, 0);
	bufferevent_enable(up, EV_READ | EV_WRITE);
	if (evbuffer_get_length(bufferevent_get_input(up)) > 0) /* what followed the 101 */
		tunnel_up_read(up, t);
	if (evbuffer_get_length(bufferevent_get_input(t->dbev)) > 0)
		tunnel_down_read(t);
	return 0;
}
