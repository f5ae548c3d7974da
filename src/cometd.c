/*
 * cometd.c: the Bayeux server (see cometd.h and docs/cometd.md). Owns the
 * clients (by clientId, and by agent), their subscriptions and their
 * message queues: "queue" holds messages not yet sent, "unacked" those sent
 * in a connect reply whose batch the client has not acknowledged yet (ack
 * extension only). Both together never exceed cometd.max_queue; a client
 * that falls further behind is disconnected with handshake advice.
 *
 * A parked /meta/connect is a blocked client, as in redis blocked.c: it
 * holds the request and one timer. The timer fires once, either at the hold
 * deadline or (made active) once the callbacks running when a message was
 * queued are done, and the connect is answered exactly once; if the connection dies
 * first, the httpd abort callback unparks it. The same timer, when nothing
 * is parked, is the client's expiry (cometd.max_interval_ms after a reply).
 * Clients are freed on a later loop turn (reap.h), never in their callback.
 * Messages are delivered only in connect replies, which gives one order.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "cometd.h"
#include "gws_reply.h"
#include "hmap.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "reap.h"
#include "record.h"
#include "store.h"

/* A message's hold while it is not stored and this node may be cut from Redis. */
#define COMETD_HOLD_REDIS UINT64_MAX
#define COMETD_ID_LEN	  32   /* base62: about 190 bits */
#define COMETD_MAX_SUBS	  64   /* subscriptions per client */
#define COMETD_OVERFLOWED 1024 /* overflowed clients remembered, to tell them */
#define COMETD_BATCH_BITS 10   /* a batch id: watermark << 10 | replies with that watermark */
#define COMETD_BATCH_MASK ((1u << COMETD_BATCH_BITS) - 1)

struct cometd_agent;

/* One notification's JSON text, shared by every client it is queued for. */
struct cometd_blob {
	struct cometd_agent *agent; /* its bytes count in agent->bytes */
	unsigned refs;
	size_t len;
	char text[];
};

struct cometd_msg {
	TAILQ_ENTRY(cometd_msg) entry;
	uint64_t batch;
	uint64_t seq;  /* the client's count of its messages: the stored note's id */
	uint64_t hold; /* cluster mode: not sent before the agent's store write number hold is
			  answered (cometd_agent.stored); COMETD_HOLD_REDIS: before it is
			  stored at all (cometd_hold_changed); 0: free to go */
	struct cometd_blob *blob;
};
TAILQ_HEAD(cometd_msgq, cometd_msg);

/* A client dropped for falling behind: its next message is told so. */
struct cometd_overflowed {
	char id[COMETD_ID_LEN + 1];
	char *agent;
	int resync; /* the agent's next subscribe gets the current state */
};

/*
 * Where a client is, changed only by cometd_client_set_state(). A client
 * starts idle (handshaken: its timer is the expiry), is parked while a
 * /meta/connect is held for it (over HTTP, or on a stream), idle again once
 * that is answered or its connection dies, and dead once removed (it waits
 * for the reaper then).
 */
enum cometd_client_state {
	COMETD_CLIENT_IDLE,
	COMETD_CLIENT_PARKED,	     /* a connect held over HTTP (parked) */
	COMETD_CLIENT_PARKED_STREAM, /* a connect held on a stream (parked_st) */
	COMETD_CLIENT_DEAD,
};

static const char *const cometd_client_state_names[] = { "idle", "parked", "parked on a stream",
	"dead" };

struct cometd_client {
	char id[COMETD_ID_LEN + 1];
	enum cometd_client_state state;
	char browser[COMETD_ID_LEN + 1];
	struct cometd *cd;
	struct cometd_agent *agent;
	char *subs[COMETD_MAX_SUBS];
	size_t nsubs;
	struct cometd_msgq queue;
	struct cometd_msgq unacked;
	size_t nqueued;
	size_t qbytes; /* bytes of the notifications in queue and unacked */
	int ack;
	int restored; /* made by cometd_restore: its first connect tells what it already has */
	uint64_t restored_max; /* the last restored message's seq (later ones are new here) */
	int restored_gap;      /* some after its watermark were not stored (cluster.max_unacked) */
	int forgotten;	/* handed over: its stored record is its next owner's (no deletion) */
	uint64_t batch; /* the last reply's watermark: it carried every message up to this seq */
	uint64_t seq;	/* messages queued so far (cometd_msg.seq) */
	struct http_req *parked;
	struct cometd_stream *parked_st; /* or parked on a stream (WebSocket) */
	LIST_ENTRY(cometd_client) st_entry;
	struct buf parked_pre;
	char *parked_id;
	int parked_multi;
	int hold_events;     /* answering a superseded connect: no messages */
	uint64_t hold_until; /* a held connect's deadline (util_now_ms) */
	struct event *timer;
	TAILQ_ENTRY(cometd_client) all; /* live clients, oldest first */
	TAILQ_ENTRY(cometd_client) by_agent;
	struct reap_link reap; /* freed through it once dead */
};

/*
 * The CometD record of an agent name: its clients and the notification
 * bytes they hold. Linked both ways (non-owning) with the registry's agent
 * of that name while both exist (agent->links[AGENTS_SLOT_COMETD], agent.h).
 */
struct cometd_agent {
	char *name;
	struct cometd *cd;
	struct agent_link link; /* with the agent of that name */
	TAILQ_HEAD(, cometd_client) clients;
	unsigned n;
	size_t bytes;	 /* bytes of its notifications held by any client */
	uint64_t writes; /* cluster mode: store writes its notifications waited for */
	uint64_t stored; /* ... and how many of them were answered (in order) */
};

struct cometd {
	struct event_base *base;
	const struct config *cfg;
	struct auth *auth;
	struct hmap *by_id;		 /* clientId -> struct cometd_client (live) */
	struct hmap *agents;		 /* agent name -> struct cometd_agent */
	struct agents *registry;	 /* the agents to link records with, or NULL */
	TAILQ_HEAD(, cometd_client) all; /* live clients */
	struct reap *reap;		 /* frees dead clients on a later turn */
	unsigned nclients;
	int draining;
	void (*on_free)(void *); /* a transport to close first (cometd_on_free) */
	void *on_free_arg;
	struct cometd_overflowed overflowed[COMETD_OVERFLOWED]; /* a ring */
	size_t next_overflowed;
	char **resync_due; /* agents whose state is to be published again */
	size_t nresync_due;
	struct event *resync_ev;
	void (*resync)(const char *agent, void *arg);
	void *resync_arg;
	struct store *store; /* cluster mode: clients and unacknowledged messages; else NULL */
	int (*hold)(void *); /* cluster mode: whether what is not stored waits (cometd_set_hold) */
	void *hold_arg;
};

/* A transport carrying Bayeux both ways on one connection (WebSocket, cometd_ws.c). */
struct cometd_stream {
	struct cometd *cd;
	char *agent;
	char peer[64];
	cometd_stream_send_cb send;
	void *arg;
	LIST_HEAD(, cometd_client) parked; /* clients whose connect is held here */
};

/* One request being processed: the replies so far and the connect, if any. */
struct cometd_ctx {
	struct cometd *cd;
	struct http_req *req;	  /* NULL on a stream */
	struct cometd_stream *st; /* NULL on HTTP */
	const char *agent;
	struct buf out;
	struct cometd_client *connect;
	const struct json *connect_msg;
};

static void cometd_client_timer(evutil_socket_t, short, void *);
static int cometd_was_overflowed(struct cometd *, const char *id, const char *agent);
static void cometd_resync_due(struct cometd *, const char *agent);
static void cometd_client_overflow(struct cometd_client *, const char *bound);
static void cometd_connect_answer(struct cometd_client *, const char *reconnect, const char *error);
static void cometd_ctx_reply(struct cometd_ctx *);
static int cometd_sendable(const struct cometd_client *);

/* Whether the client has a connect held (over HTTP or on a stream). */
static int
cometd_is_parked(const struct cometd_client *c)
{
	return c->state == COMETD_CLIENT_PARKED || c->state == COMETD_CLIENT_PARKED_STREAM;
}

/* Move client c to state st (the one place that does; logged at debug level). */
static void
cometd_client_set_state(struct cometd_client *c, enum cometd_client_state st)
{
	log_debug("cometd: client %.8s...: %s -> %s", c->id, cometd_client_state_names[c->state],
	    cometd_client_state_names[st]);
	c->state = st;
}

/* Free a client killed on an earlier turn. */
static void
cometd_client_free(struct reap_link *l)
{
	struct cometd_client *c = container_of(l, struct cometd_client, reap);

	event_free(c->timer);
	free(c);
}

/* Publish the current state of the agents due (outside any client's request). */
static void
cometd_resync_run(evutil_socket_t fd, short what, void *arg)
{
	struct cometd *cd = arg;
	char **v = cd->resync_due;
	size_t n = cd->nresync_due;

	cd->resync_due = NULL;
	cd->nresync_due = 0;
	for (size_t i = 0; i < n; i++) {
		if (cd->resync != NULL)
			cd->resync(v[i], cd->resync_arg);
		free(v[i]);
	}
	free(v);
}

/* Create the Bayeux server; auth is not owned. */
struct cometd *
cometd_create(struct event_base *base, const struct config *cfg, struct auth *auth)
{
	struct cometd *cd = xcalloc(1, sizeof *cd);

	cd->base = base;
	cd->cfg = cfg;
	cd->auth = auth;
	cd->by_id = hmap_create();
	cd->agents = hmap_create();
	TAILQ_INIT(&cd->all);
	cd->reap = reap_hold(base);
	cd->resync_ev = event_new(base, -1, 0, cometd_resync_run, cd);
	return cd;
}

/* A transport to close when the server is freed, before its clients are. */
void
cometd_on_free(struct cometd *cd, void (*fn)(void *), void *arg)
{
	cd->on_free = fn;
	cd->on_free_arg = arg;
}

/* Who publishes an agent's current state again after its client overflowed. */
void
cometd_on_resync(struct cometd *cd, void (*cb)(const char *agent, void *arg), void *arg)
{
	cd->resync = cb;
	cd->resync_arg = arg;
}

/* Use a reloaded configuration (applies to holds and limits from now on). */
void
cometd_set_config(struct cometd *cd, const struct config *cfg)
{
	cd->cfg = cfg;
}

unsigned
cometd_nclients(const struct cometd *cd)
{
	return cd->nclients;
}

/* The agents to link records with (NULL: none; set back to NULL before freeing them). */
void
cometd_set_agents(struct cometd *cd, struct agents *r)
{
	agents_link_keep(
	    &cd->registry, r, AGENTS_SLOT_COMETD, cd->agents, offsetof(struct cometd_agent, link));
}

/* Free an agent record once it has no client and holds no notification. */
static void
cometd_agent_release(struct cometd_agent *a)
{
	if (a->n > 0 || a->bytes > 0)
		return;
	store_forget(a->cd->store, a);
	agents_unlink(&a->link);
	hmap_del(a->cd->agents, a->name);
	free(a->name);
	free(a);
}

/* Drop one reference to a notification; the last frees it. */
static void
cometd_blob_unref(struct cometd_blob *b)
{
	struct cometd_agent *a = b->agent;

	if (--b->refs > 0)
		return;
	a->bytes -= b->len;
	free(b);
	cometd_agent_release(a);
}

/* Forget one message of client c (unlinked by the caller). */
static void
cometd_msg_free(struct cometd_client *c, struct cometd_msg *m)
{
	c->nqueued--;
	c->qbytes -= m->blob->len;
	cometd_blob_unref(m->blob);
	free(m);
}

/* Free a message queue of client c. */
static void
cometd_msgq_free(struct cometd_client *c, struct cometd_msgq *q)
{
	struct cometd_msg *m;

	while ((m = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, m, entry);
		cometd_msg_free(c, m);
	}
}

/* The agent record for name, made if make is set. */
static struct cometd_agent *
cometd_agent_get(struct cometd *cd, const char *name, int make)
{
	struct cometd_agent *a;

	if ((a = hmap_get(cd->agents, name)) != NULL || !make)
		return a;
	a = xcalloc(1, sizeof *a);
	a->name = xstrdup(name);
	a->cd = cd;
	TAILQ_INIT(&a->clients);
	hmap_put(cd->agents, a->name, a);
	agents_link(cd->registry, AGENTS_SLOT_COMETD, &a->link, a->name);
	return a;
}

/* Remove a client (why is logged unless NULL): unlink it, drop its queues; freed next turn. */
static void
cometd_client_kill(struct cometd_client *c, const char *why)
{
	struct cometd *cd = c->cd;
	struct cometd_agent *a = c->agent;

	if (c->state == COMETD_CLIENT_DEAD)
		return;
	if (why != NULL)
		log_info("cometd: client %.8s... of %s: %s", c->id, a->name, why);
	cometd_client_set_state(c, COMETD_CLIENT_DEAD);
	if (!c->forgotten)
		store_client_del(cd->store, a->name, c->id);
	event_del(c->timer);
	hmap_del(cd->by_id, c->id);
	TAILQ_REMOVE(&cd->all, c, all);
	TAILQ_REMOVE(&a->clients, c, by_agent);
	cometd_msgq_free(c, &c->queue); /* before n drops: the agent outlives its blobs */
	cometd_msgq_free(c, &c->unacked);
	a->n--;
	cometd_agent_release(a);
	c->agent = NULL;
	cd->nclients--;
	for (size_t i = 0; i < c->nsubs; i++)
		free(c->subs[i]);
	c->nsubs = 0;
	reap_later(cd->reap, &c->reap, cometd_client_free);
}

/* Free everything (httpd is gone first, so nothing is parked). */
void
cometd_free(struct cometd *cd)
{
	struct cometd_client *c;

	if (cd == NULL)
		return;
	cometd_set_agents(cd, NULL);
	if (cd->on_free != NULL)
		cd->on_free(cd->on_free_arg); /* its streams unpark their clients */
	while ((c = TAILQ_FIRST(&cd->all)) != NULL) {
		if (c->parked != NULL) {
			http_req_set_abort(c->parked, NULL, NULL);
			c->parked = NULL;
		}
		buf_free(&c->parked_pre);
		free(c->parked_id);
		cometd_client_kill(c, NULL);
	}
	reap_now(cd->reap);
	reap_release(cd->reap);
	hmap_free(cd->by_id);
	hmap_free(cd->agents);
	event_free(cd->resync_ev);
	for (size_t i = 0; i < COMETD_OVERFLOWED; i++)
		free(cd->overflowed[i].agent);
	for (size_t i = 0; i < cd->nresync_due; i++)
		free(cd->resync_due[i]);
	free(cd->resync_due);
	free(cd);
}

/* Arm the client's timer to fire after ms. */
static void
cometd_client_arm(struct cometd_client *c, long long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_add(c->timer, &tv);
}

/* Arm the expiry: the next connect must come within interval + maxInterval. */
static void
cometd_client_expiry(struct cometd_client *c)
{
	const struct config *cfg = c->cd->cfg;

	cometd_client_arm(c, cfg->cometd_interval_ms + cfg->cometd_max_interval_ms);
}

/* The client of agent named id, or NULL (unknown, expired or another agent's). */
static struct cometd_client *
cometd_client_find(struct cometd *cd, const char *id, const char *agent)
{
	struct cometd_client *c;

	if (id == NULL || strlen(id) != COMETD_ID_LEN)
		return NULL;
	if ((c = hmap_get(cd->by_id, id)) == NULL || !util_streq_ct(c->id, id))
		return NULL;
	if (strcmp(c->agent->name, agent) != 0) {
		static struct log_limit ll;

		log_limited(&ll, LOG_WARN,
		    "cometd: client %.8s... of %s presented by %s: treated as unknown", c->id,
		    c->agent->name, agent);
		return NULL;
	}
	return c;
}

/* Start a reply object in ctx->out (comma-separated objects, no brackets). */
static void
cometd_reply_begin(struct buf *out, struct jw *w, const struct json *msg, const char *channel)
{
	const struct json *id = json_get(msg, "id");

	if (out->len > 0)
		buf_addch(out, ',');
	jw_init(w, out);
	jw_obj_begin(w);
	if (id != NULL) {
		jw_key(w, "id");
		jw_value(w, id);
	}
	jw_kstr(w, "channel", channel);
}

/* Write advice {reconnect, interval, timeout, maxInterval}. */
static void
cometd_advice(struct cometd *cd, struct jw *w, const char *reconnect, int multi)
{
	const struct config *cfg = cd->cfg;

	jw_key(w, "advice");
	jw_obj_begin(w);
	jw_kstr(w, "reconnect", reconnect);
	jw_kint(w, "interval", multi ? cfg->cometd_multi_interval_ms : cfg->cometd_interval_ms);
	if (strcmp(reconnect, "retry") == 0) {
		jw_kint(w, "timeout", cfg->cometd_timeout_ms);
		jw_kint(w, "maxInterval", cfg->cometd_max_interval_ms);
	}
	if (multi)
		jw_kbool(w, "multiple-clients", 1);
	jw_obj_end(w);
}

/* A failure reply: successful:false, error, advice (NULL: none). */
static void
cometd_reply_error(struct cometd_ctx *x, const struct json *msg, const char *channel,
    const char *error, const char *reconnect)
{
	struct jw w;
	const struct json *sub = json_get(msg, "subscription");

	cometd_reply_begin(&x->out, &w, msg, channel);
	jw_kbool(&w, "successful", 0);
	jw_kstr(&w, "error", error);
	if (sub != NULL && strncmp(channel, "/meta/", 6) == 0) {
		jw_key(&w, "subscription");
		jw_value(&w, sub);
	}
	if (reconnect != NULL)
		cometd_advice(x->cd, &w, reconnect, 0);
	jw_obj_end(&w);
}

/* The unknown-client reply: the client must handshake again. */
static void
cometd_reply_unknown(struct cometd_ctx *x, const struct json *msg, const char *channel)
{
	cometd_reply_error(x, msg, channel, "402::Unknown client", "handshake");
}

/* Make b the JSON array [out] (messages joined by commas); out is consumed. */
static void
cometd_array(struct buf *out, struct buf *b)
{
	buf_init(b);
	buf_reserve(b, out->len + 2);
	buf_addch(b, '[');
	buf_add(b, out->data, out->len);
	buf_addch(b, ']');
	buf_free(out);
}

/* Answer a request with the JSON array [out]. */
static void
cometd_send(struct http_req *req, int status, struct buf *out)
{
	struct buf b;

	cometd_array(out, &b);
	http_req_add_header(req, "Cache-Control", "no-store");
	http_req_reply_buf(req, status, "application/json", &b);
}

/* The value of cookie name in req, copied to out (outlen bytes); 0 if present. */
static int
cometd_cookie(struct http_req *req, const char *name, char *out, size_t outlen)
{
	const char *h = http_req_header(req, "Cookie"), *p;
	size_t nl = strlen(name), n;

	for (p = h; p != NULL && *p != '\0'; p += strcspn(p, ";"), p += *p == ';') {
		p += strspn(p, " \t");
		if (strncmp(p, name, nl) != 0 || p[nl] != '=')
			continue;
		n = strcspn(p + nl + 1, "; \t");
		if (n == 0 || n >= outlen)
			return -1;
		memcpy(out, p + nl + 1, n);
		out[n] = '\0';
		return 0;
	}
	return -1;
}

/* Whether the handshake offers the connection type. */
static int
cometd_offers(const struct json *types, const char *type)
{
	for (size_t i = 0; types != NULL && types->type == JSON_ARRAY && i < types->u.arr.n; i++) {
		const char *t = json_str(types->u.arr.v[i]);

		if (t != NULL && strcmp(t, type) == 0)
			return 1;
	}
	return 0;
}

/* Make room for one more client of agent a (evicting its oldest at the limit). */
static int
cometd_make_room(struct cometd *cd, struct cometd_agent *a)
{
	struct cometd_client *old;

	if (a != NULL && a->n >= (unsigned)cd->cfg->cometd_max_clients_per_agent &&
	    (old = TAILQ_FIRST(&a->clients)) != NULL) {
		if (cometd_is_parked(old))
			cometd_connect_answer(old, "handshake", "409::Replaced by a newer client");
		cometd_client_kill(old, "replaced: cometd.max_clients_per_agent reached");
	}
	return cd->nclients < (unsigned)cd->cfg->cometd_max_clients ? 0 : -1;
}

/* Register a new client of agent, with id (a restored one) or a new random id. */
static struct cometd_client *
cometd_client_new_as(struct cometd *cd, const char *agent, const char *id)
{
	struct cometd_client *c = xcalloc(1, sizeof *c);

	c->cd = cd;
	if (id != NULL)
		snprintf(c->id, sizeof c->id, "%s", id);
	else
		util_random_id(c->id, COMETD_ID_LEN, UTIL_BASE62);
	c->agent = cometd_agent_get(cd, agent, 1);
	c->agent->n++;
	TAILQ_INSERT_TAIL(&c->agent->clients, c, by_agent);
	hmap_put(cd->by_id, c->id, c);
	TAILQ_INSERT_TAIL(&cd->all, c, all);
	TAILQ_INIT(&c->queue);
	TAILQ_INIT(&c->unacked);
	buf_init(&c->parked_pre);
	c->timer = evtimer_new(cd->base, cometd_client_timer, c);
	cd->nclients++;
	cometd_client_expiry(c);
	store_client_put(cd->store, agent, c->id, NULL, 0);
	return c;
}

/* Register a new client of agent. */
static struct cometd_client *
cometd_client_new(struct cometd *cd, const char *agent)
{
	return cometd_client_new_as(cd, agent, NULL);
}

/* Remember (or issue) the browser cookie when a per-browser limit is set. */
static void
cometd_browser(struct cometd_ctx *x, struct cometd_client *c)
{
	char *cookie;

	if (x->cd->cfg->cometd_max_connects_per_browser == 0 || x->req == NULL)
		return;
	if (cometd_cookie(x->req, "BAYEUX_BROWSER", c->browser, sizeof c->browser) == 0)
		return;
	util_random_id(c->browser, COMETD_ID_LEN, UTIL_BASE62);
	xasprintf(&cookie, "BAYEUX_BROWSER=%s; Path=/; HttpOnly", c->browser);
	http_req_add_header(x->req, "Set-Cookie", cookie);
	free(cookie);
}

/* /meta/handshake: a new client for the authenticated agent. */
static void
cometd_handshake(struct cometd_ctx *x, const struct json *msg)
{
	const struct json *types = json_get(msg, "supportedConnectionTypes");
	const struct json *ext = json_get(msg, "ext"), *ack = json_get(ext, "ack");
	struct cometd_client *c;
	struct jw w;

	if (json_get_str(msg, "version") == NULL ||
	    !cometd_offers(types, x->st != NULL ? "websocket" : "long-polling")) {
		cometd_reply_error(x, msg, "/meta/handshake",
		    x->st != NULL
			? "400::version and supportedConnectionTypes with websocket are required"
			: "400::version and supportedConnectionTypes with long-polling are "
			  "required",
		    "none");
		return;
	}
	if (x->cd->draining || cometd_make_room(x->cd, cometd_agent_get(x->cd, x->agent, 0)) != 0) {
		static struct log_limit ll;

		log_limited(&ll, LOG_WARN, "cometd: handshake of %s refused: %s", x->agent,
		    x->cd->draining ? "stopping" : "cometd.max_clients reached");
		cometd_reply_error(x, msg, "/meta/handshake",
		    x->cd->draining ? "503::Gateway stopping" : "503::Too many clients", "retry");
		return;
	}
	c = cometd_client_new(x->cd, x->agent);
	c->ack = ack != NULL && ack->type == JSON_BOOL && ack->u.b;
	cometd_browser(x, c);
	log_info("cometd: client %.8s... of %s: handshake from %s%s%s", c->id, x->agent,
	    x->st != NULL ? x->st->peer : http_req_peer(x->req),
	    x->st != NULL ? " (websocket)" : "", c->ack ? " (ack)" : "");
	cometd_reply_begin(&x->out, &w, msg, "/meta/handshake");
	jw_kbool(&w, "successful", 1);
	jw_kstr(&w, "version", "1.0");
	jw_key(&w, "supportedConnectionTypes");
	jw_arr_begin(&w);
	if (x->cd->cfg->cometd_websocket)
		jw_str(&w, "websocket");
	jw_str(&w, "long-polling");
	jw_arr_end(&w);
	jw_kstr(&w, "clientId", c->id);
	cometd_advice(x->cd, &w, "retry", 0);
	if (c->ack) {
		jw_key(&w, "ext");
		jw_obj_begin(&w);
		jw_kbool(&w, "ack", 1);
		jw_obj_end(&w);
	}
	jw_obj_end(&w);
}

/* The subscription field as a list of strings; -1 if malformed. */
static int
cometd_subs_list(const struct json *sub, const char **v, size_t max, size_t *n)
{
	*n = 0;
	if (sub != NULL && sub->type == JSON_STRING) {
		v[(*n)++] = json_str(sub);
		return 0;
	}
	if (sub == NULL || sub->type != JSON_ARRAY || sub->u.arr.n == 0 || sub->u.arr.n > max)
		return -1;
	for (size_t i = 0; i < sub->u.arr.n; i++) {
		if ((v[i] = json_str(sub->u.arr.v[i])) == NULL)
			return -1;
	}
	*n = sub->u.arr.n;
	return 0;
}

/* Check every pattern of a (un)subscribe; NULL if good, else the error. */
static const char *
cometd_subs_check(struct cometd_client *c, const char **v, size_t n, int sub, struct buf *err)
{
	size_t add = 0;

	for (size_t i = 0; i < n; i++) {
		int have = 0;

		if (!cometd_channel_valid(v[i], 1)) {
			buf_printf(err, "400:%s:invalid channel", v[i]);
			return err->data;
		}
		if (strncmp(v[i], "/meta/", 6) == 0 || strcmp(v[i], "/meta") == 0) {
			buf_printf(err, "403:%s:subscribe_denied", v[i]);
			return err->data;
		}
		for (size_t j = 0; j < c->nsubs; j++)
			have |= strcmp(c->subs[j], v[i]) == 0;
		add += sub && !have && strncmp(v[i], "/service/", 9) != 0;
	}
	if (c->nsubs + add > COMETD_MAX_SUBS) {
		buf_printf(err, "403:%s:too many subscriptions", v[0]);
		return err->data;
	}
	return NULL;
}

/* Add (sub) or remove the patterns; /service/ ones are not recorded. */
static void
cometd_subs_apply(struct cometd_client *c, const char **v, size_t n, int sub)
{
	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < c->nsubs && strcmp(c->subs[j], v[i]) != 0; j++)
			;
		if (sub && j == c->nsubs && strncmp(v[i], "/service/", 9) != 0)
			c->subs[c->nsubs++] = xstrdup(v[i]);
		else if (!sub && j < c->nsubs) {
			free(c->subs[j]);
			c->subs[j] = c->subs[--c->nsubs];
		}
	}
}

/* /meta/subscribe and /meta/unsubscribe. */
static void
cometd_subscribe(struct cometd_ctx *x, const struct json *msg, struct cometd_client *c, int sub)
{
	const char *channel = sub ? "/meta/subscribe" : "/meta/unsubscribe";
	const char *v[COMETD_MAX_SUBS], *err;
	struct buf eb;
	size_t n;
	struct jw w;

	buf_init(&eb);
	if (cometd_subs_list(json_get(msg, "subscription"), v, COMETD_MAX_SUBS, &n) != 0)
		err = "400::subscription must be a channel or an array of channels";
	else
		err = cometd_subs_check(c, v, n, sub, &eb);
	if (err != NULL) {
		cometd_reply_error(x, msg, channel, err, NULL);
		buf_free(&eb);
		return;
	}
	buf_free(&eb);
	cometd_subs_apply(c, v, n, sub);
	store_client_put(
	    x->cd->store, c->agent->name, c->id, (const char *const *)c->subs, c->nsubs);
	if (sub)
		cometd_resync_due(c->cd, c->agent->name);
	cometd_reply_begin(&x->out, &w, msg, channel);
	jw_kbool(&w, "successful", 1);
	jw_key(&w, "subscription");
	jw_value(&w, json_get(msg, "subscription"));
	jw_obj_end(&w);
}

/* /meta/disconnect: answer the parked connect, remove the client. */
static void
cometd_disconnect(struct cometd_ctx *x, const struct json *msg, struct cometd_client *c)
{
	struct jw w;

	if (cometd_is_parked(c))
		cometd_connect_answer(c, "none", NULL);
	if (x->connect == c)
		x->connect = NULL;
	cometd_client_kill(c, "disconnected");
	cometd_reply_begin(&x->out, &w, msg, "/meta/disconnect");
	jw_kbool(&w, "successful", 1);
	jw_obj_end(&w);
}

/* A publish from a client: only channels under /service/ are accepted (and goes nowhere). */
static void
cometd_client_publish(struct cometd_ctx *x, const struct json *msg, const char *channel)
{
	struct buf err;
	struct jw w;

	if (strncmp(channel, "/service/", 9) != 0 || !cometd_channel_valid(channel, 0)) {
		buf_init(&err);
		buf_printf(&err, "403:%s:publish_denied", channel);
		cometd_reply_error(x, msg, channel, err.data, NULL);
		buf_free(&err);
		return;
	}
	cometd_reply_begin(&x->out, &w, msg, channel);
	jw_kbool(&w, "successful", 1);
	jw_obj_end(&w);
}

/* Append the queued messages to out; under ack they wait for their batch's ack. */
static void
cometd_connect_events(struct cometd_client *c, struct buf *out)
{
	struct cometd_msg *m;

	while (!c->hold_events && (m = TAILQ_FIRST(&c->queue)) != NULL && m->hold == 0) {
		TAILQ_REMOVE(&c->queue, m, entry);
		if (out->len > 0)
			buf_addch(out, ',');
		buf_add(out, m->blob->text, m->blob->len);
		if (c->ack) {
			m->batch = c->batch;
			TAILQ_INSERT_TAIL(&c->unacked, m, entry);
		} else {
			/* without the ack extension, sent counts as acknowledged */
			store_note_ack(c->cd->store, c->agent->name, c->id, m->seq);
			cometd_msg_free(c, m);
		}
	}
}

/*
 * Write the connect reply into out: with error NULL, the queued messages
 * then a successful reply (a new batch under ack); otherwise only the
 * failure with reconnect advice.
 */
static void
cometd_connect_write(struct cometd_client *c, struct buf *out, const char *idraw, int multi,
    const char *reconnect, const char *error)
{
	struct jw w;

	if (error == NULL) {
		/*
		 * The batch id: the watermark W (a client that got this reply has
		 * every message up to seq W: what a restored client's first ack
		 * tells its new node) shifted left, and a count of the replies
		 * with the same W, so that ids grow with every reply.
		 */
		struct cometd_msg *q;
		uint64_t wm;

		TAILQ_FOREACH(q, &c->queue, entry)
		{
			if (c->hold_events || q->hold != 0)
				break; /* the first message this reply does not carry */
		}
		wm = q != NULL ? q->seq - 1 : c->seq;
		uint64_t n =
		    (c->batch >> COMETD_BATCH_BITS) == wm ? c->batch & COMETD_BATCH_MASK : 0;

		c->batch = (wm << COMETD_BATCH_BITS) | (n < COMETD_BATCH_MASK ? n + 1 : n);
		cometd_connect_events(c, out);
	}
	if (out->len > 0)
		buf_addch(out, ',');
	jw_init(&w, out);
	jw_obj_begin(&w);
	if (idraw != NULL) {
		jw_key(&w, "id");
		jw_raw(&w, idraw);
	}
	jw_kstr(&w, "channel", "/meta/connect");
	jw_kbool(&w, "successful", error == NULL);
	if (error != NULL)
		jw_kstr(&w, "error", error);
	cometd_advice(c->cd, &w, reconnect, multi);
	if (c->ack && error == NULL) {
		jw_key(&w, "ext");
		jw_obj_begin(&w);
		jw_kint(&w, "ack", (long long)c->batch);
		jw_obj_end(&w);
	}
	jw_obj_end(&w);
}

/* Send the JSON array [out] as one message of a stream; out is consumed. */
static void
cometd_stream_reply(struct cometd_stream *st, struct buf *out)
{
	struct buf b;

	cometd_array(out, &b);
	(void)st->send(st->arg, b.data, b.len);
	buf_free(&b);
}

/* Answer the parked connect now (see cometd_connect_write); the expiry clock starts. */
static void
cometd_connect_answer(struct cometd_client *c, const char *reconnect, const char *error)
{
	struct http_req *req = c->parked;
	struct cometd_stream *st = c->parked_st;
	struct buf out = c->parked_pre;

	c->parked = NULL;
	c->parked_st = NULL;
	cometd_client_set_state(c, COMETD_CLIENT_IDLE);
	buf_init(&c->parked_pre);
	if (st != NULL)
		LIST_REMOVE(c, st_entry);
	else
		http_req_set_abort(req, NULL, NULL);
	cometd_connect_write(c, &out, c->parked_id, c->parked_multi, reconnect, error);
	free(c->parked_id);
	c->parked_id = NULL;
	if (st != NULL)
		cometd_stream_reply(st, &out);
	else
		cometd_send(req, 200, &out);
	if (c->state != COMETD_CLIENT_DEAD)
		cometd_client_expiry(c);
}

/* The connection of a parked connect died: unpark, keep the messages. */
static void
cometd_parked_abort(struct http_req *req, void *arg)
{
	struct cometd_client *c = arg;

	log_debug("cometd: client %.8s... of %s: parked connect aborted", c->id, c->agent->name);
	c->parked = NULL;
	if (c->parked_st != NULL)
		LIST_REMOVE(c, st_entry);
	c->parked_st = NULL;
	cometd_client_set_state(c, COMETD_CLIENT_IDLE);
	buf_free(&c->parked_pre);
	buf_init(&c->parked_pre);
	free(c->parked_id);
	c->parked_id = NULL;
	cometd_client_expiry(c);
}

/*
 * Push the queue on the stream of the held connect, which stays held: on
 * WebSocket, without the ack extension, a notification is one frame (as
 * CometD-Java does when metaConnectDeliveryOnly is off). With ack, messages
 * wait for connect replies, whose batches the client acknowledges.
 */
static int
cometd_stream_push(struct cometd_client *c)
{
	uint64_t now = util_now_ms();
	struct buf out;

	if (c->parked_st == NULL || c->ack || !cometd_sendable(c) || now >= c->hold_until)
		return 0;
	buf_init(&out);
	cometd_connect_events(c, &out);
	cometd_stream_reply(c->parked_st, &out);
	cometd_client_arm(c, (long long)(c->hold_until - now));
	return 1;
}

/* The client's timer: a parked connect is due, or an idle client expires. */
static void
cometd_client_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cometd_client *c = arg;

	if (cometd_stream_push(c))
		return;
	if (cometd_is_parked(c))
		cometd_connect_answer(c, "retry", NULL);
	else
		cometd_client_kill(c, "expired (no connect within cometd.max_interval_ms)");
}

/*
 * A restored client's first ack: its old node's watermark. The stored
 * messages up to it reached the desktop already: dropped, not sent twice.
 * The first one left must follow the watermark: ids have no holes, so a
 * hole is messages the store dropped (cluster.max_unacked) and the client
 * is told it fell behind, as on one node.
 */
static void
cometd_ack_restored(struct cometd_client *c, long long ack)
{
	struct cometd_msg *m;
	unsigned n = 0;
	uint64_t w = ack > 0 ? (uint64_t)ack >> COMETD_BATCH_BITS : 0;

	while ((m = TAILQ_FIRST(&c->queue)) != NULL && m->seq <= w && m->seq <= c->restored_max) {
		TAILQ_REMOVE(&c->queue, m, entry);
		cometd_msg_free(c, m);
		n++;
	}
	if (m != NULL && m->seq <= c->restored_max && m->seq > w + 1) {
		log_warn("cometd: client %.8s... of %s: restored messages %llu to %llu were not "
			 "stored (cluster.max_unacked)",
		    c->id, c->agent->name, (unsigned long long)w + 1,
		    (unsigned long long)m->seq - 1);
		c->restored_gap = 1;
	}
	if (n > 0) {
		store_note_ack(c->cd->store, c->agent->name, c->id, w);
		log_info(
		    "cometd: client %.8s... of %s: %u restored messages were delivered already",
		    c->id, c->agent->name, n);
	}
	c->batch = ack > 0 ? (uint64_t)ack : 0;
}

/* Apply ext.ack: forget acknowledged batches, resend the rest first. */
static void
cometd_ack(struct cometd_client *c, const struct json *msg)
{
	const struct json *ack = json_get(json_get(msg, "ext"), "ack");
	struct cometd_msg *m;

	if (c->restored) {
		c->restored = 0;
		c->ack = ack != NULL && ack->type == JSON_INT;
		if (c->ack)
			cometd_ack_restored(c, ack->u.i);
		return;
	}
	if (!c->ack || ack == NULL || ack->type != JSON_INT)
		return;
	while ((m = TAILQ_FIRST(&c->unacked)) != NULL && m->batch <= (uint64_t)ack->u.i) {
		TAILQ_REMOVE(&c->unacked, m, entry);
		store_note_ack(c->cd->store, c->agent->name, c->id, m->seq);
		cometd_msg_free(c, m);
	}
	if (TAILQ_EMPTY(&c->unacked))
		return;
	log_info("cometd: client %.8s... of %s: resending unacknowledged messages after batch %lld",
	    c->id, c->agent->name, ack->u.i);
	while ((m = TAILQ_LAST(&c->unacked, cometd_msgq)) != NULL) {
		TAILQ_REMOVE(&c->unacked, m, entry);
		TAILQ_INSERT_HEAD(&c->queue, m, entry);
	}
}

/* Parked connects of this client's browser (other clients of the agent). */
static unsigned
cometd_browser_parked(struct cometd_client *c)
{
	struct cometd_client *o;
	unsigned n = 0;

	if (c->browser[0] == '\0')
		return 0;
	TAILQ_FOREACH(o, &c->agent->clients, by_agent)
	{
		if (o != c && cometd_is_parked(o) && strcmp(o->browser, c->browser) == 0)
			n++;
	}
	return n;
}

/* How long to hold this connect (0: answer now). */
static long long
cometd_hold_ms(struct cometd_ctx *x, struct cometd_client *c, const struct json *msg, int *multi)
{
	const struct json *t = json_get(json_get(msg, "advice"), "timeout");
	long long hold = x->cd->cfg->cometd_timeout_ms;
	long long lim = x->cd->cfg->cometd_max_connects_per_browser;

	/* HTTP/2 multiplexes: a browser's long polls cost it no connection slots there. */
	*multi = lim > 0 && x->req != NULL && !http_req_is_h2(x->req) &&
	    cometd_browser_parked(c) >= (unsigned)lim;
	if (t != NULL && t->type == JSON_INT && t->u.i >= 0 && t->u.i < hold)
		hold = t->u.i;
	if (*multi || x->cd->draining || cometd_sendable(c))
		hold = 0;
	return hold;
}

/* The request's /meta/connect: answer at once, or park it with a deadline. */
static void
cometd_connect_finish(struct cometd_ctx *x)
{
	struct cometd_client *c = x->connect;
	const struct json *id = json_get(x->connect_msg, "id");
	long long hold;
	int multi;
	struct buf idb;

	if (cometd_is_parked(c)) {
		/* Superseded (its client gave up on it): answer it empty, the new one carries the messages. */
		c->hold_events = 1;
		cometd_connect_answer(c, "retry", NULL);
		c->hold_events = 0;
	}
	cometd_ack(c, x->connect_msg);
	if (c->restored_gap) {
		cometd_reply_error(x, x->connect_msg, "/meta/connect",
		    "408::Too many pending messages", "handshake");
		cometd_client_overflow(c, "cluster.max_unacked");
		cometd_ctx_reply(x);
		return;
	}
	hold = cometd_hold_ms(x, c, x->connect_msg, &multi);
	buf_init(&idb);
	if (id != NULL) {
		struct jw w;

		jw_init(&w, &idb);
		jw_value(&w, id);
	}
	if (hold == 0) {
		cometd_connect_write(c, &x->out, id ? idb.data : NULL, multi, "retry", NULL);
		buf_free(&idb);
		cometd_ctx_reply(x);
		cometd_client_expiry(c);
		return;
	}
	if (x->st != NULL) {
		/* On a stream the other replies need not wait for the connect. */
		if (x->out.len > 0)
			cometd_stream_reply(x->st, &x->out);
		buf_init(&x->out);
		c->parked_st = x->st;
		c->hold_until = util_now_ms() + (uint64_t)hold;
		LIST_INSERT_HEAD(&x->st->parked, c, st_entry);
		cometd_client_set_state(c, COMETD_CLIENT_PARKED_STREAM);
	} else {
		c->parked = x->req;
		cometd_client_set_state(c, COMETD_CLIENT_PARKED);
	}
	c->parked_pre = x->out;
	c->parked_id = id ? buf_detach(&idb, NULL) : NULL;
	c->parked_multi = 0;
	buf_free(&idb);
	if (x->req != NULL)
		http_req_set_abort(x->req, cometd_parked_abort, c);
	cometd_client_arm(c, hold);
	log_debug(
	    "cometd: client %.8s... of %s: connect parked for %lld ms", c->id, x->agent, hold);
}

/* One message of a request (not a handshake). */
static void
cometd_message(struct cometd_ctx *x, const struct json *msg)
{
	const char *channel = json_get_str(msg, "channel");
	struct cometd_client *c;

	if (msg->type != JSON_OBJECT || channel == NULL || *channel != '/') {
		cometd_reply_error(x, msg,
		    channel && *channel == '/' ? channel : "/meta/unsuccessful",
		    "400::a message must be an object with a channel", NULL);
		return;
	}
	if ((c = cometd_client_find(x->cd, json_get_str(msg, "clientId"), x->agent)) == NULL) {
		if (cometd_was_overflowed(x->cd, json_get_str(msg, "clientId"), x->agent))
			cometd_reply_error(
			    x, msg, channel, "408::Too many pending messages", "handshake");
		else
			cometd_reply_unknown(x, msg, channel);
		return;
	}
	if (strcmp(channel, "/meta/connect") == 0) {
		if (x->connect != NULL)
			cometd_reply_error(
			    x, msg, channel, "400::one /meta/connect per request", NULL);
		else {
			x->connect = c;
			x->connect_msg = msg;
		}
	} else if (strcmp(channel, "/meta/subscribe") == 0)
		cometd_subscribe(x, msg, c, 1);
	else if (strcmp(channel, "/meta/unsubscribe") == 0)
		cometd_subscribe(x, msg, c, 0);
	else if (strcmp(channel, "/meta/disconnect") == 0)
		cometd_disconnect(x, msg, c);
	else if (strncmp(channel, "/meta/", 6) == 0)
		cometd_reply_error(x, msg, channel, "400::unknown meta channel", NULL);
	else
		cometd_client_publish(x, msg, channel);
}

/* Answer the request's replies so far: an HTTP 200, or one message on the stream. */
static void
cometd_ctx_reply(struct cometd_ctx *x)
{
	if (x->st != NULL)
		cometd_stream_reply(x->st, &x->out);
	else
		cometd_send(x->req, 200, &x->out);
}

/* Answer a body the server cannot read as Bayeux (HTTP 400, or that reply on the stream). */
static void
cometd_bad_request(struct cometd_ctx *x, const char *why)
{
	struct buf out;
	struct jw w;
	char *err;

	buf_init(&out);
	jw_init(&w, &out);
	jw_obj_begin(&w);
	jw_kstr(&w, "channel", "/meta/unsuccessful");
	jw_kbool(&w, "successful", 0);
	xasprintf(&err, "400::%s", why);
	jw_kstr(&w, "error", err);
	free(err);
	jw_obj_end(&w);
	if (x->st != NULL)
		cometd_stream_reply(x->st, &out);
	else
		cometd_send(x->req, 400, &out);
}

/* The messages of a body: an array, or a single object. */
static int
cometd_messages(
    const struct json *root, const struct json **one, const struct json *const **v, size_t *n)
{
	if (root->type == JSON_OBJECT) {
		*one = root;
		*v = one;
		*n = 1;
		return 0;
	}
	if (root->type != JSON_ARRAY || root->u.arr.n == 0)
		return -1;
	*v = (const struct json *const *)root->u.arr.v;
	*n = root->u.arr.n;
	return 0;
}

/* One batch of messages (a POST body or a stream message) from an authenticated agent. */
static void
cometd_batch(struct cometd_ctx *x, const char *body, size_t len)
{
	struct json_limits lim = { .max_depth = 32, .no_positions = 1 };
	const struct json *const *msgs, *one;
	struct json_error err;
	struct json_doc *doc;
	size_t n, i;

	if ((doc = json_parse(body, len, &lim, &err)) == NULL) {
		cometd_bad_request(x, err.msg);
		return;
	}
	if (cometd_messages(json_root(doc), &one, &msgs, &n) != 0) {
		json_doc_free(doc);
		cometd_bad_request(
		    x, "the body must be a non-empty array of messages or a message");
		return;
	}
	buf_init(&x->out);
	for (i = 0; i < n; i++) {
		const char *ch = json_get_str(msgs[i], "channel");

		if (ch != NULL && strcmp(ch, "/meta/handshake") == 0)
			break;
	}
	if (i < n) /* a handshake: other messages in the request are ignored */
		cometd_handshake(x, msgs[i]);
	else {
		for (i = 0; i < n; i++)
			cometd_message(x, msgs[i]);
	}
	if (x->connect != NULL)
		cometd_connect_finish(x);
	else
		cometd_ctx_reply(x);
	json_doc_free(doc);
}

/* An authenticated Bayeux POST of agent. */
void
cometd_handle(struct cometd *cd, struct http_req *req, const char *agent)
{
	struct cometd_ctx x = { cd, req, NULL, agent, { 0 }, NULL, NULL };
	const char *body;
	size_t len;

	body = http_req_body(req, &len);
	cometd_batch(&x, body, len);
}

/* A stream for agent's Bayeux messages (see cometd.h). */
struct cometd_stream *
cometd_stream_open(
    struct cometd *cd, const char *agent, const char *peer, cometd_stream_send_cb send, void *arg)
{
	struct cometd_stream *st = xcalloc(1, sizeof *st);

	st->cd = cd;
	st->agent = xstrdup(agent);
	snprintf(st->peer, sizeof st->peer, "%s", peer);
	st->send = send;
	st->arg = arg;
	LIST_INIT(&st->parked);
	return st;
}

/* One message of the stream: a batch of Bayeux messages. */
void
cometd_stream_recv(struct cometd_stream *st, const char *text, size_t len)
{
	struct cometd_ctx x = { st->cd, NULL, st, st->agent, { 0 }, NULL, NULL };

	cometd_batch(&x, text, len);
}

/* The stream is gone: its held connects are lost (their clients keep their queues). */
void
cometd_stream_close(struct cometd_stream *st)
{
	struct cometd_client *c;

	while ((c = LIST_FIRST(&st->parked)) != NULL)
		cometd_parked_abort(NULL, c);
	free(st->agent);
	free(st);
}

/*
 * Drop a client that fell behind: its parked connect, or else its next
 * message, is told "408::Too many pending messages" with handshake advice,
 * and once a client of its agent subscribes again the agent's current
 * state is published (what it missed is gone; the state is not).
 */
static void
cometd_client_overflow(struct cometd_client *c, const char *bound)
{
	static struct log_limit ll;
	struct cometd *cd = c->cd;
	struct cometd_overflowed *o = &cd->overflowed[cd->next_overflowed++ % COMETD_OVERFLOWED];

	log_limited(&ll, LOG_WARN,
	    "cometd: client %.8s... of %s fell behind (%zu messages, %zu bytes; %s): "
	    "disconnecting it",
	    c->id, c->agent->name, c->nqueued, c->qbytes, bound);
	memcpy(o->id, c->id, sizeof o->id);
	free(o->agent);
	o->agent = xstrdup(c->agent->name);
	o->resync = 1;
	if (cometd_is_parked(c))
		cometd_connect_answer(c, "handshake", "408::Too many pending messages");
	cometd_client_kill(c, "disconnected: it fell behind");
}

/* Whether id is a client of agent that was dropped for falling behind. */
static int
cometd_was_overflowed(struct cometd *cd, const char *id, const char *agent)
{
	for (size_t i = 0; id != NULL && i < COMETD_OVERFLOWED; i++) {
		const struct cometd_overflowed *o = &cd->overflowed[i];

		if (o->agent != NULL && strcmp(o->agent, agent) == 0 && util_streq_ct(o->id, id))
			return 1;
	}
	return 0;
}

/* A client of agent subscribed: if one of its clients overflowed, publish its state again. */
static void
cometd_resync_due(struct cometd *cd, const char *agent)
{
	int due = 0;

	for (size_t i = 0; i < COMETD_OVERFLOWED; i++) {
		struct cometd_overflowed *o = &cd->overflowed[i];

		if (o->resync && o->agent != NULL && strcmp(o->agent, agent) == 0) {
			o->resync = 0;
			due = 1;
		}
	}
	if (!due)
		return;
	cd->resync_due = xreallocarray(cd->resync_due, cd->nresync_due + 1, sizeof *cd->resync_due);
	cd->resync_due[cd->nresync_due++] = xstrdup(agent);
	event_active(cd->resync_ev, 0, 0);
}

static int cometd_enqueue_as(struct cometd_client *, struct cometd_blob *, uint64_t, uint64_t);

/* Queue one notification for a client (held until store write hold, if not 0). */
static int
cometd_enqueue(struct cometd_client *c, struct cometd_blob *b, uint64_t hold)
{
	return cometd_enqueue_as(c, b, c->seq + 1, hold);
}

/* The same with its id (a restored one, above every earlier id). */
static int
cometd_enqueue_as(struct cometd_client *c, struct cometd_blob *b, uint64_t seq, uint64_t hold)
{
	const struct config *cfg = c->cd->cfg;
	struct cometd_msg *m;

	if (c->nqueued >= (size_t)cfg->cometd_max_queue) {
		cometd_client_overflow(c, "cometd.max_queue");
		return 0;
	}
	if (c->qbytes + b->len > (size_t)cfg->cometd_max_queue_bytes) {
		cometd_client_overflow(c, "cometd.max_queue_bytes");
		return 0;
	}
	m = xmalloc(sizeof *m);
	m->batch = 0;
	m->seq = c->seq = seq;
	m->hold = hold;
	store_note_push(c->cd->store, c->agent->name, c->id, m->seq, b->text, b->len);
	m->blob = b;
	b->refs++;
	TAILQ_INSERT_TAIL(&c->queue, m, entry);
	c->nqueued++;
	c->qbytes += b->len;
	if (hold == 0 && cometd_is_parked(c))	       /* wake once the current callbacks are done:
						  bursts share a batch */
		event_active(c->timer, EV_TIMEOUT, 1); /* (a zero timer costs a loop turn) */
	return 1;
}

/* Whether the client has a message to send now (not held for its store write). */
static int
cometd_sendable(const struct cometd_client *c)
{
	const struct cometd_msg *m = TAILQ_FIRST(&c->queue);

	return m != NULL && m->hold == 0;
}

/* Messages held up to store write number upto may go: wake the parked connects. */
static void
cometd_release(struct cometd_agent *a, uint64_t upto)
{
	struct cometd_client *c;
	struct cometd_msg *m;

	TAILQ_FOREACH(c, &a->clients, by_agent)
	{
		TAILQ_FOREACH(m, &c->queue, entry)
		{
			if (m->hold != 0 && m->hold <= upto)
				m->hold = 0;
		}
		if (cometd_is_parked(c) && cometd_sendable(c))
			event_active(c->timer, EV_TIMEOUT, 1);
	}
}

/* Whether messages not stored must wait (this node may be cut from Redis: cometd_set_hold). */
static int
cometd_holding(const struct cometd *cd)
{
	return cd->store != NULL && cd->hold != NULL && cd->hold(cd->hold_arg);
}

/* Messages held with hold from go with hold to instead (waking parked connects when 0). */
static void
cometd_rehold(struct cometd_agent *a, uint64_t from, uint64_t to)
{
	struct cometd_client *c;
	struct cometd_msg *m;

	TAILQ_FOREACH(c, &a->clients, by_agent)
	{
		TAILQ_FOREACH(m, &c->queue, entry)
		{
			if (m->hold != 0 && m->hold <= from)
				m->hold = to;
		}
		if (to == 0 && cometd_is_parked(c) && cometd_sendable(c))
			event_active(c->timer, EV_TIMEOUT, 1);
	}
}

/*
 * The agent's next store write is answered: its messages go (written, or
 * fenced: the holder carries on), or, failed while this node may be cut
 * from Redis, wait until they are stored or Redis is down for all.
 */
static void
cometd_stored(void *arg, enum store_result r, const char *why)
{
	struct cometd_agent *a = arg;

	++a->stored;
	if (r == STORE_FAILED && cometd_holding(a->cd))
		cometd_rehold(a, a->stored, COMETD_HOLD_REDIS);
	else
		cometd_release(a, a->stored);
}

/* hmap_each: an agent's messages held for Redis are written again, or go. */
static void
cometd_hold_one(const char *key, void *value, void *arg)
{
	struct cometd_agent *a = value;
	struct cometd *cd = arg;

	if (store_waitable(cd->store)) {
		if (store_agent_wait(cd->store, a->name, cometd_stored, a)) {
			cometd_rehold(a, COMETD_HOLD_REDIS, ++a->writes);
			return;
		}
	}
	if (!cometd_holding(cd))
		cometd_rehold(a, COMETD_HOLD_REDIS, 0);
}

/* Cluster mode: the hold hook (see cometd.h). */
void
cometd_set_hold(struct cometd *cd, int (*hold)(void *), void *arg)
{
	cd->hold = hold;
	cd->hold_arg = arg;
}

/* The hold hook's answer may have changed: messages held for Redis follow it. */
void
cometd_hold_changed(struct cometd *cd)
{
	hmap_each(cd->agents, cometd_hold_one, cd);
}

/* Whether any of the client's subscriptions matches channel. */
static int
cometd_client_matches(const struct cometd_client *c, const char *channel)
{
	for (size_t i = 0; i < c->nsubs; i++) {
		if (cometd_channel_match(c->subs[i], channel))
			return 1;
	}
	return 0;
}

/*
 * Make room for len more bytes of agent a's notifications: while its
 * clients hold more than cometd.max_agent_bytes, the one holding most is
 * dropped (told, as on any overflow).
 */
static void
cometd_agent_room(struct cometd_agent *a, size_t max)
{
	struct cometd_client *c, *most;

	while (a->bytes > max) {
		most = NULL;
		TAILQ_FOREACH(c, &a->clients, by_agent)
		{
			if (c->qbytes > 0 && (most == NULL || c->qbytes > most->qbytes))
				most = c;
		}
		if (most == NULL)
			return;
		cometd_client_overflow(most, "cometd.max_agent_bytes");
	}
}

/* A new blob of the message {"channel":channel,"data":data_json}, written as it
 * is: a valid channel name has nothing to escape. */
static struct cometd_blob *
cometd_blob_new(const char *channel, const char *data_json)
{
	static const char head[] = "{\"channel\":\"", mid[] = "\",\"data\":";
	size_t clen = strlen(channel), dlen = strlen(data_json);
	struct cometd_blob *b = xmalloc(sizeof *b + sizeof head + clen + sizeof mid + dlen + 1);
	char *p = b->text;

	memcpy(p, head, sizeof head - 1);
	p += sizeof head - 1;
	memcpy(p, channel, clen);
	p += clen;
	memcpy(p, mid, sizeof mid - 1);
	p += sizeof mid - 1;
	memcpy(p, data_json, dlen);
	p += dlen;
	memcpy(p, "}", 2);
	b->len = (size_t)(p + 1 - b->text);
	return b;
}
/* Publish to an agent's clients (one serialised copy shared by all); see cometd.h. */
int
cometd_publish(struct cometd *cd, const char *agent, const char *channel, const char *data_json)
{
	struct cometd_agent *a;
	struct cometd_client *c, *next;
	struct cometd_blob *b;
	uint64_t hold;
	int n = 0;

	if (!cometd_channel_valid(channel, 0))
		return -1;
	record_notify(agent, data_json); /* the hook of recording (record.h) */
	if ((a = cometd_agent_get(cd, agent, 0)) == NULL)
		return 0;
	b = cometd_blob_new(channel, data_json);
	b->agent = a;
	b->refs = 1; /* held while queueing: a may lose every client meanwhile */
	a->bytes += b->len;
	cometd_agent_room(a, (size_t)cd->cfg->cometd_max_agent_bytes);
	/* cluster mode: sent once the write carrying it (and the cursor of the event-channel
	 * response that made it) is in Redis, so that a new owner never sends it twice */
	hold = store_waitable(cd->store) ? a->writes + 1
	    : cometd_holding(cd)	 ? COMETD_HOLD_REDIS /* cometd_hold_changed lets it go */
					 : 0;
	for (c = TAILQ_FIRST(&a->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, by_agent); /* c may be removed (overflow) */
		if (cometd_client_matches(c, channel))
			n += cometd_enqueue(c, b, hold);
	}
	if (hold == COMETD_HOLD_REDIS)
		; /* held until stored, or until Redis is found down for all */
	else if (hold != 0 && n > 0 && store_agent_wait(cd->store, agent, cometd_stored, a))
		a->writes++;
	else if (hold != 0 && n > 0)
		cometd_release(a, hold); /* not waitable after all */
	cometd_blob_unref(b);
	if (n > 0)
		metrics_add(M_NOTIFICATIONS,
		    strcmp(channel, "/v2/me/im-sessions") == 0	 ? "channel=\"/v2/me/im-sessions\""
			: strcmp(channel, "/v2/me/devices") == 0 ? "channel=\"/v2/me/devices\""
								 : "channel=\"other\"",
		    n);
	return n;
}

/* Cluster mode: write every client, its subscriptions and its unacknowledged messages to st. */
void
cometd_set_store(struct cometd *cd, struct store *st)
{
	cd->store = st;
}

/* Answer every parked connect: the gateway is stopping. */
void
cometd_drain(struct cometd *cd)
{
	struct cometd_client *c;
	unsigned n = 0;

	cd->draining = 1;
	TAILQ_FOREACH(c, &cd->all, all)
	{
		if (cometd_is_parked(c)) {
			cometd_connect_answer(c, "retry", NULL);
			n++;
		}
	}
	log_info("cometd: stopping: answered %u parked connect(s)", n);
}

/* Live clients of agent (an agent with clients is not idle). */
unsigned
cometd_agent_nclients(struct cometd *cd, const char *agent)
{
	struct cometd_agent *a = cometd_agent_get(cd, agent, 0);

	return a != NULL ? a->n : 0;
}

/* Live clients of an agent's CometD record (agent->links[AGENTS_SLOT_COMETD]; NULL: none). */
unsigned
cometd_agent_live(const struct agent_link *l)
{
	return l != NULL ? container_of(l, struct cometd_agent, link)->n : 0;
}

/* Clients, parked connects and queued messages, all agents (metrics). */
void
cometd_stats(const struct cometd *cd, unsigned *clients, unsigned *parked, size_t *queued)
{
	const struct cometd_client *c;

	*clients = *parked = 0;
	*queued = 0;
	if (cd == NULL)
		return;
	TAILQ_FOREACH(c, &cd->all, all)
	{
		(*clients)++;
		*parked += cometd_is_parked(c);
		*queued += c->nqueued;
	}
}

/* A stored client comes back with its id, subscriptions and unacknowledged messages. */
int
cometd_restore(
    struct cometd *cd, const char *agent, const struct store_client *sc, const char **why)
{
	struct cometd_client *c = hmap_get(cd->by_id, sc->id);
	struct cometd_agent *a;
	int ok;

	if (strlen(sc->id) != COMETD_ID_LEN || sc->nsubs > COMETD_MAX_SUBS) {
		*why = "a stored CometD client is malformed";
		return -1;
	}
	if (c != NULL && strcmp(c->agent->name, agent) != 0) {
		*why = "a stored CometD client id is another agent's";
		return -1;
	}
	if (c != NULL) { /* a stale copy from an earlier stay here */
		if (cometd_is_parked(c))
			cometd_connect_answer(c, "retry", NULL);
		c->forgotten = 1;
		cometd_client_kill(c, "replaced by its stored state");
	}
	if (cometd_make_room(cd, cometd_agent_get(cd, agent, 0)) != 0) {
		*why = "cometd.max_clients reached";
		return -1;
	}
	c = cometd_client_new_as(cd, agent, sc->id);
	for (size_t i = 0; i < sc->nsubs; i++)
		c->subs[c->nsubs++] = xstrdup(sc->subs[i]);
	store_client_put(cd->store, agent, c->id, (const char *const *)c->subs, c->nsubs);
	a = c->agent;
	for (size_t i = 0; i < sc->nnotes; i++) {
		const struct store_note *n = &sc->notes[i];
		size_t len = strlen(n->json);
		struct cometd_blob *b;

		if (n->id <= c->seq)
			continue; /* ids only grow */
		b = xmalloc(sizeof *b + len + 1);

		b->agent = a;
		b->refs = 1;
		b->len = len;
		memcpy(b->text, n->json, len + 1);
		a->bytes += len;
		ok = cometd_enqueue_as(c, b, n->id, 0);
		cometd_blob_unref(b);
		if (!ok) {
			*why = "its stored messages exceed cometd.max_queue or max_queue_bytes";
			return -1;
		}
	}
	c->ack = 1;
	c->restored = 1;
	c->restored_max = c->seq;
	log_info("cometd: client %.8s... of %s restored (%zu subscriptions, %zu messages)", c->id,
	    agent, c->nsubs, sc->nnotes);
	return 0;
}

/* The agent moved to another node: its clients here go without touching the store. */
void
cometd_forget_agent(struct cometd *cd, const char *agent)
{
	struct cometd_agent *a = cometd_agent_get(cd, agent, 0);
	struct cometd_client *c, *next;

	if (a == NULL)
		return;
	a->n++; /* the record lives through the loop */
	for (c = TAILQ_FIRST(&a->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, by_agent);
		if (cometd_is_parked(c))
			cometd_connect_answer(c, "retry", NULL);
		c->forgotten = 1;
		cometd_client_kill(c, "the agent moved to another node");
	}
	a->n--;
	cometd_agent_release(a);
}
