/*
 * forward.h: cluster mode's forwarding of a desktop request to the node that
 * owns its agent (owner.h decides when). The request goes to the owner's
 * advertised URL over kept-alive internal HTTP connections (hclient.h):
 * method, target, headers without the hop-by-hop ones, body; plus
 * X-Forwarded-For / X-Forwarded-Proto (the client as this node saw it) and
 * X-Ucgw-Forwarded (this node's id), so that the owner never forwards it
 * again. The desktop gets exactly the owner's status, headers (hop-by-hop
 * ones dropped) and body; an owner that cannot be reached gives 503 with
 * Retry-After; a request sent to an owner from owner.c's hints is routed
 * again instead (struct forward_again) when nothing was done. A WebSocket
 * upgrade is tunnelled (tunnel.c) when the owner switches protocols.
 */
#ifndef UCGW_FORWARD_H
#define UCGW_FORWARD_H

#include <event2/event.h>

struct config;
struct hclient;
struct forward;
struct http_req;

/* The header a forwarded request carries (value: the forwarding node's id). */
#define FORWARD_HEADER "X-Ucgw-Forwarded"

/*
 * The forwarder (its client context loads the TLS trust store: made before
 * the cluster connects, so that the slow start does not delay Redis's
 * handshake); NULL with *cause on failure.
 */
struct forward *forward_create(struct event_base *, const struct config *, char **cause);
/* This node's id, sent in FORWARD_HEADER. */
void forward_set_node(struct forward *, const char *node);
/* Use a reloaded configuration (timeouts). */
void forward_set_config(struct forward *, const struct config *);
/* Free; requests in flight are cancelled (their desktops' connections are gone first). */
void forward_free(struct forward *);
/* The next step of a request routed again (owner.h's owner_go_cb). */
typedef void (*forward_go_cb)(struct http_req *, void *arg);

/*
 * A forward to an owner taken from a cache (owner.c's hints), not just read
 * from Redis. When the owner cannot be reached or answers 503 (nothing was
 * done: it is draining, or the agent is not its own any more), route(ctx,
 * req, holder, go, arg) is called instead of an answer, to route req again
 * from Redis. When it failed otherwise (maybe acted on), route(ctx, NULL,
 * holder, go, arg) is called and the desktop gets the answer it gets today.
 */
struct forward_again {
	void (*route)(void *ctx, struct http_req *, const char *holder, forward_go_cb, void *);
	void *ctx;
	forward_go_cb go;
	void *arg;
};

/*
 * Forward req to the node holder reachable at url (its cluster.advertise);
 * req is answered, or routed again through again (NULL: never).
 */
void forward_request(struct forward *, struct http_req *, const char *url, const char *holder,
    const struct forward_again *again);
/* The client context (kept-alive connections to the other nodes), for split.c's questions. */
struct hclient *forward_client(struct forward *);
/* Requests being forwarded now. */
unsigned forward_inflight(const struct forward *);
/* WebSockets tunnelled to their owner (tunnel.c). */
unsigned forward_tunnels(const struct forward *);

#endif
