/*
 * owner.h: cluster mode's one owner per agent. Each agent is owned by
 * exactly one node through the lease "agent:USER" (key PREFIXlease:agent:USER
 * = the node's id, lease.h). A desktop request is routed by the user it
 * claims (Basic: the header's user name, not verified here; cookie: the
 * local login session, else the login session's entry in Redis):
 *
 *   this node holds the lease      served here, no Redis round trip;
 *   the lease is free              taken (one round trip), then served here;
 *   another live node holds it     forwarded to it (forward.h), and remembered
 *                                  (a hint, at most a quarter of the lease and
 *                                  never past the lease seen): later requests
 *                                  go there without Redis; a hinted forward
 *                                  that fails or gets 503 (nothing done) drops
 *                                  the node's hints and is routed from Redis;
 *                                  a cookie's user found in Redis is remembered
 *                                  alike (by its login key) to forward it only;
 *   a dead node's lease runs on    503, Retry-After = the lease's remaining time;
 *   Redis unavailable or failing   503 with Retry-After (never 401).
 *
 * A request that came from another node (FORWARD_HEADER) is never forwarded
 * again and never uses a hint: not served here, it gets 503 + Retry-After: 0.
 * Requests wait (bounded, each with a deadline, cancelled when their client
 * goes) while Redis answers. A lease lost removes the agent here; an agent
 * removed releases its lease; a drain releases every lease and the node's
 * registry entry. Login sessions are mirrored in Redis (PREFIXlogin:<hex
 * SHA-256 of the cookie> = the sealed user name) so any node can route a
 * cookie-only request. See docs/cluster.md.
 */
#ifndef UCGW_OWNER_H
#define UCGW_OWNER_H

#include <event2/event.h>

struct agents;
struct auth;
struct cluster;
struct config;
struct http_req;
struct owner;

/* Serve the request on this node (the next step: authentication and the route). */
typedef void (*owner_go_cb)(struct http_req *, void *arg);

struct forward;
/* Ownership for the node of cluster, forwarding with fwd (not owned); hooks auth's sessions
 * and the agents' removal. */
struct owner *owner_create(struct event_base *, const struct config *, struct cluster *,
    struct auth *, struct agents *, struct forward *fwd);
void owner_set_config(struct owner *, const struct config *);
/* Unhook and free (leases held lapse in Redis by themselves). */
void owner_free(struct owner *);
/* Route req: go(req, arg) now or later if served here; else req is answered (forwarded or 503). */
void owner_route(struct owner *, struct http_req *, owner_go_cb go, void *arg);
/*
 * The take-over hooks. acquired(arg, user): this node has just acquired
 * user's lease; requests of the agent wait until the hook calls
 * owner_loaded (maybe from within the hook). lost(arg, user, why): the
 * agent is no longer this node's (its lease was lost, or another node
 * holds it): it is handed over rather than signed out. NULL hooks: nothing
 * to load; a lost agent is removed.
 */
void owner_set_hooks(struct owner *, void (*acquired)(void *arg, const char *user),
    void (*lost)(void *arg, const char *user, const char *why), void *arg);
/* The acquired hook is done with user: its waiting requests are served. */
void owner_loaded(struct owner *, const char *user);
/*
 * Whether user's requests are served here now: checked again once a
 * request is authenticated, as the agent may have been handed over while
 * its authentication waited (a login session's write to Redis).
 */
int owner_serves(struct owner *, const char *user);
/* Whether this node holds user's lease now. */
int owner_holds(struct owner *, const char *user);
/* Drain: take no agent any more, release every lease, then the registry entry; then done(arg). */
void owner_drain(struct owner *, void (*done)(void *), void *arg);
/* Leases held now. */
unsigned owner_count(const struct owner *);

struct split;
/*
 * Use sp (split.h): an agent whose lease lapses while this node is cut
 * from Redis and another node reaches it is handed over (not kept adrift).
 */
void owner_set_split(struct owner *, struct split *sp);
/* The split verdict changed (split_on_change): hand over what lapsed on a cut node. */
void owner_split_changed(struct owner *);

#endif
