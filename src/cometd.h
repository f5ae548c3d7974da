/*
 * cometd.h: the Bayeux 1.0 (CometD) server at /api/v2/notifications,
 * long-polling transport, with the ack extension. Desktops hold one
 * parked /meta/connect each; the rest of the gateway hands notifications
 * for an agent to cometd_publish(), which queues them for every client of
 * that agent whose subscriptions match and wakes its parked connect.
 * See docs/cometd.md.
 */
#ifndef UCGW_COMETD_H
#define UCGW_COMETD_H

#include <event2/event.h>

#include "auth.h"
#include "config.h"
#include "httpd.h"

struct agent_link;
struct agents;
struct cometd;

struct cometd *cometd_create(struct event_base *, const struct config *, struct auth *);
void cometd_set_config(struct cometd *, const struct config *);
/*
 * The agents to link CometD records with (agent->links[AGENTS_SLOT_COMETD],
 * non-owning; agent.h): agents_link_keep hooks their creation and removal
 * stage COMETD. NULL (the default, and before the registry is freed): no
 * links.
 */
void cometd_set_agents(struct cometd *, struct agents *);
/* Answer every parked connect now; later connects are answered at once. */
struct store;
/* Cluster mode: write every client, its subscriptions and its unacknowledged messages to st. */
void cometd_set_store(struct cometd *, struct store *st);
/*
 * Cluster mode: hold(arg) says whether a message that could not be stored
 * (Redis unavailable, or its write failed) waits rather than goes from
 * memory: 1 while this node may be cut from Redis (split.h), so that the
 * node carrying the agent on sends it, once; 0 when Redis is down for all.
 * Held messages follow a changed answer at cometd_hold_changed: written
 * again (Redis back) then sent, or sent.
 */
void cometd_set_hold(struct cometd *, int (*hold)(void *), void *arg);
void cometd_hold_changed(struct cometd *);
void cometd_drain(struct cometd *);
/*
 * Cluster take-over: a stored client (store.h) of agent comes back with
 * its id, subscriptions and unacknowledged notifications, queued; its first
 * /meta/connect's ack (its old node's watermark) drops those it already
 * had. 0, or -1 with *why.
 */
struct store_client;
int cometd_restore(
    struct cometd *, const char *agent, const struct store_client *, const char **why);
/* The agent moved to another node: its clients here go (parked connects told to retry),
 * and their stored records are left for the new owner. */
void cometd_forget_agent(struct cometd *, const char *agent);
void cometd_free(struct cometd *);

/* An authenticated Bayeux POST of agent (the endpoint /api/v2/notifications). */
void cometd_handle(struct cometd *, struct http_req *, const char *agent);
/* A transport (cometd_ws.c) to close when the server is freed, before its clients. */
void cometd_on_free(struct cometd *, void (*fn)(void *), void *arg);

/*
 * Publish a notification to agent: data_json is the JSON text of the
 * message's "data" (an object), channel a plain channel name such as
 * "/v2/me/im-sessions". Every client of agent with a matching subscription
 * gets it once, in publishing order; a parked connect is answered once the
 * callbacks running now are done (so a burst goes out as one batch). Returns the number of
 * clients it was queued for, or -1 if channel is not a valid channel name.
 */
int cometd_publish(struct cometd *, const char *agent, const char *channel, const char *data_json);

/*
 * A stream: a connection that carries an agent's Bayeux messages both ways
 * (a WebSocket, cometd_ws.c). Each message received is a batch, answered
 * with one message sent; a /meta/connect is held on the stream as on
 * long-polling. send() hands one JSON array out (it may fail: the
 * connection is going; nothing is lost under the ack extension).
 */
struct cometd_stream;
typedef int (*cometd_stream_send_cb)(void *arg, const char *text, size_t len);
struct cometd_stream *cometd_stream_open(
    struct cometd *, const char *agent, const char *peer, cometd_stream_send_cb, void *arg);
void cometd_stream_recv(struct cometd_stream *, const char *text, size_t len);
/* The connection is gone: connects held on it are let go (their clients stay). */
void cometd_stream_close(struct cometd_stream *);

/*
 * Who publishes an agent's current state again: called (on a later loop
 * turn) when a client of an agent whose client was dropped for falling
 * behind subscribes again, so the desktop learns the state it missed.
 */
void cometd_on_resync(struct cometd *, void (*cb)(const char *agent, void *arg), void *arg);

unsigned cometd_nclients(const struct cometd *);
/* Live clients, parked connects and queued messages of all agents (metrics). */
void cometd_stats(const struct cometd *, unsigned *clients, unsigned *parked, size_t *queued);
/* Live clients of one agent. */
unsigned cometd_agent_nclients(struct cometd *, const char *agent);
/* Live clients of an agent's record (agent->links[AGENTS_SLOT_COMETD]; NULL: 0). */
unsigned cometd_agent_live(const struct agent_link *);

/*
 * Test only (cometd_diag.c, debug.publish_endpoint): POST
 * /api/v2/diagnostics/publish and GET /api/v2/diagnostics/session of agent.
 */
void cometd_diag_publish(struct cometd *, struct http_req *, const char *agent);
void cometd_diag_session(struct http_req *, const char *agent);

/* Channel names and patterns (exposed for unit tests). */
int cometd_channel_valid(const char *, int allow_wild);
/* Whether channel matches pattern: exact, or ending in a one-segment or any-depth wildcard. */
int cometd_channel_match(const char *pattern, const char *channel);

#endif
