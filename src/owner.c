/*
 * owner.c: one owner per agent in cluster mode (see owner.h). Owns the
 * leases this node holds or is acquiring, one record per user name (the
 * local mirror of the PREFIXlease:agent:USER keys; the agent itself stays in
 * agent.c's registry), and the requests waiting for Redis: on a record
 * (acquire under way) or on a login-session lookup. Every waiting request
 * has a deadline and is cancelled when its client goes. The owners of
 * other nodes' agents seen in Redis are kept as hints (bounded in count
 * and size, expiring). Records that end
 * inside a lease callback are freed on a later loop turn (reap.h).
 * Promises: a cookie value is never logged nor stored (only its SHA-256);
 * a request that needs Redis while Redis fails gets 503 with Retry-After.
 */
#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "agent.h"
#include "auth.h"
#include "cluster.h"
#include "config.h"
#include "forward.h"
#include "gws_reply.h"
#include "hmap.h"
#include "httpd.h"
#include "lease.h"
#include "log.h"
#include "owner.h"
#include "reap.h"
#include "redis.h"
#include "seal.h"
#include "split.h"
#include "store.h"

#define OWNER_SID_MAX	    AUTH_SID_BUF /* a JSESSIONID value and its NUL */
#define OWNER_MAX_COOKIES   4		 /* JSESSIONID values of one request looked up */
#define OWNER_UNCLAIMED_MIN 30000	 /* a lease no agent took is released after this (ms) */
#define OWNER_HINTS_MAX	    4096	 /* other nodes' agents whose owner is remembered */
#define OWNER_HINT_BYTES    1024	 /* longer user name + node id + URL: not remembered */
#define OWNER_HINT_PART	    4		 /* a hint lasts at most the lease / this */

/* How a request is routed (flags). */
#define OWNER_FORWARDED 1 /* it came from another node: never forward it again */
#define OWNER_FRESH	2 /* a hinted forward failed: ask Redis, not the hints */

enum owner_state {
	OWNER_ACQUIRING, /* the acquire script is under way; requests wait */
	OWNER_HELD,	 /* held: requests are served here */
	OWNER_ADRIFT,	 /* lease lapsed while Redis was unreachable: served from memory,
			    re-acquired once Redis is back (the agent goes if another node has it) */
	OWNER_RELEASING, /* the compare-and-delete is under way */
	OWNER_GONE,	 /* ended; freed on a later turn */
};

struct owner_wait;

/* A lease of this node: one per user name being acquired, held or released. */
struct owner_lease {
	struct owner *o;
	char *name; /* the user name */
	struct lease *lease;
	enum owner_state state;
	uint64_t used_ms; /* when a request was last routed to it */
	int adrift;	  /* the acquire under way re-takes a lease that lapsed (OWNER_ADRIFT) */
	int loading;	  /* held, its stored state being loaded (take-over): requests wait */
	TAILQ_HEAD(, owner_wait) waits;
	struct reap_link reap;
};

/*
 * The owner of another node's agent as Redis named it (a hint): requests for
 * the agent are forwarded there without a lookup until it expires (a part
 * of the lease, never past the lease seen) or a forward to it fails.
 */
struct owner_hint {
	char *name;		       /* the user name (its key in o->hints) */
	char *holder;		       /* the owner's node id */
	char *url;		       /* its registry entry (cluster.advertise) */
	uint64_t until_ms;	       /* expires then */
	TAILQ_ENTRY(owner_hint) entry; /* in o->hint_order, oldest first */
	char data[];		       /* name, holder, url */
};

/* A request waiting for Redis: a login-session lookup, or an acquire (ol set). */
struct owner_wait {
	struct owner *o;
	struct http_req *req;
	owner_go_cb go;
	void *arg;
	int how;		    /* OWNER_FORWARDED, OWNER_FRESH */
	char sid[OWNER_SID_MAX];    /* the cookie found in Redis, or "" */
	char (*sids)[AUTH_SID_BUF]; /* unknown cookies being looked up (MGET), or NULL */
	size_t nsids;
	struct redis_cmd *cmd;	/* the lookup under way */
	struct owner_lease *ol; /* the record it waits on */
	struct event *deadline;
	TAILQ_ENTRY(owner_wait) entry; /* in ol->waits or o->lookups */
};

/* A new login session's write to Redis, which its request waits for (with a deadline). */
struct owner_store {
	struct owner *o;
	struct redis_cmd *cmd;
	auth_stored_cb done; /* NULL once told (or its request went away) */
	void *done_arg;
	struct event *deadline;
	LIST_ENTRY(owner_store) entry;
};

struct owner {
	struct event_base *base;
	const struct config *cfg;
	struct cluster *cluster;
	struct redis *redis;
	struct leases *leases;
	struct seal *seal;
	struct auth *auth;
	struct agents *agents;
	struct forward *fwd; /* not owned */
	struct split *split; /* not owned; NULL: never told a cut node from Redis down */
	struct reap *reap;
	const char *node;
	struct hmap *by_user; /* user name -> struct owner_lease */
	struct hmap *hints;   /* user name -> struct owner_hint (other nodes' agents) */
	TAILQ_HEAD(, owner_hint) hint_order; /* oldest first */
	TAILQ_HEAD(, owner_wait) lookups;
	LIST_HEAD(, owner_store) stores; /* login-session writes in flight */
	unsigned nwaits;
	unsigned nheld;
	unsigned nreleasing;
	struct event *sweep;
	void (*acquired)(void *, const char *);
	void (*lost)(void *, const char *, const char *);
	void *acquired_arg;
	int draining;
	void (*drained)(void *);
	void *drained_arg;
	struct event *drain_deadline;
};

static void owner_on_lease(void *, struct lease *, enum lease_event, const char *);
static void owner_wait_go(struct owner_wait *, const char *);
static void owner_on_session(void *, enum auth_session_event, const char *, const char *);
static void *owner_store(void *, const char *, const char *, auth_stored_cb, void *);
static void owner_store_cancel(void *, void *);
static void owner_agent_gone(struct agent *, const char *, void *);
static void owner_on_sweep(evutil_socket_t, short, void *);
static void owner_sweep_all(struct owner *);
static void owner_again(void *, struct http_req *, const char *, forward_go_cb, void *);

/* How long a request may wait for Redis (ms). */
static unsigned
owner_wait_ms(const struct owner *o)
{
	return (unsigned)o->cfg->cluster_timeout_ms * 2 + 500;
}

/* hmap_each: the login sessions of an agent held here, written to Redis again. */
static void
owner_restore_one(const char *key, void *value, void *arg)
{
	struct owner_lease *ol = value;

	if (ol->state == OWNER_HELD)
		auth_restore(ol->o->auth, ol->name);
}

/*
 * Redis ready again: it may lack login sessions it acknowledged (a
 * restart from an older dump, a promoted replica that had not received
 * them), which only the owner knows; the store writes the agents' state
 * again on its own (store_redis_ready).
 */
static void
owner_on_back(void *arg)
{
	struct owner *o = arg;

	hmap_each(o->by_user, owner_restore_one, o);
}

/* Start ownership for this node. */
struct owner *
owner_create(struct event_base *base, const struct config *cfg, struct cluster *c,
    struct auth *auth, struct agents *agents, struct forward *fwd)
{
	struct owner *o = xcalloc(1, sizeof *o);
	unsigned ms = cluster_lease_ms(c);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	o->base = base;
	o->cfg = cfg;
	o->cluster = c;
	o->redis = cluster_redis(c);
	o->leases = cluster_leases(c);
	o->seal = cluster_seal(c);
	o->auth = auth;
	o->agents = agents;
	o->node = cluster_node_id(c);
	o->fwd = fwd;
	forward_set_node(fwd, o->node);
	o->reap = reap_hold(base);
	o->by_user = hmap_create();
	o->hints = hmap_create();
	TAILQ_INIT(&o->hint_order);
	TAILQ_INIT(&o->lookups);
	LIST_INIT(&o->stores);
	o->sweep = event_new(base, -1, EV_PERSIST, owner_on_sweep, o);
	evtimer_add(o->sweep, &tv);
	{
		struct auth_session_hook hk = { owner_on_session, owner_store, owner_store_cancel,
			o };

		auth_set_session_hook(auth, &hk);
	}
	agents_on_remove(agents, owner_agent_gone, o);
	cluster_on_back(c, owner_on_back, o);
	return o;
}

/* Use a reloaded configuration. */
void
owner_set_config(struct owner *o, const struct config *cfg)
{
	o->cfg = cfg;
	forward_set_config(o->fwd, cfg);
}

/* Leases held now. */
unsigned
owner_count(const struct owner *o)
{
	return o->nheld;
}

/* Set the take-over hooks (see owner.h). */
void
owner_set_hooks(struct owner *o, void (*acquired)(void *, const char *),
    void (*lost)(void *, const char *, const char *), void *arg)
{
	o->acquired = acquired;
	o->lost = lost;
	o->acquired_arg = arg;
}

/* The agent leaves this node: handed over (the hook), else removed. */
static void
owner_let_go(struct owner *o, struct agent *a, const char *why)
{
	if (o->lost != NULL)
		o->lost(o->acquired_arg, a->name, why);
	else
		agents_remove(o->agents, a, why);
}

/* Whether this node holds user's lease (its state may be loading). */
int
owner_holds(struct owner *o, const char *user)
{
	struct owner_lease *ol = hmap_get(o->by_user, user);

	return ol != NULL && ol->state == OWNER_HELD && lease_held(ol->lease);
}

/* Whether ol's requests are served here at once (the routing's hot path). */
static int
owner_hot(const struct owner *o, const struct owner_lease *ol)
{
	return ol != NULL && !ol->loading &&
	    ((ol->state == OWNER_HELD && lease_held(ol->lease)) ||
		(ol->state == OWNER_ADRIFT && !redis_ready(o->redis) && !split_cut(o->split)));
}

/* Whether user's agent is still this node's (a routed request may run). */
int
owner_serves(struct owner *o, const char *user)
{
	struct owner_lease *ol = hmap_get(o->by_user, user);

	/* also while its lease is being taken again after Redis trouble: it is here */
	return owner_hot(o, ol) || (ol != NULL && ol->state == OWNER_ACQUIRING && ol->adrift);
}

/* The take-over hook is done with user: its waiting requests are served. */
void
owner_loaded(struct owner *o, const char *user)
{
	struct owner_lease *ol = hmap_get(o->by_user, user);
	struct owner_wait *w;

	if (ol == NULL || !ol->loading)
		return;
	ol->loading = 0;
	while (ol->state == OWNER_HELD && !ol->loading && (w = TAILQ_FIRST(&ol->waits)) != NULL)
		owner_wait_go(w, ol->name);
}

/* Free a waiting request's record (its request is answered, handed on or gone). */
static void
owner_wait_free(struct owner_wait *w)
{
	struct owner *o = w->o;

	if (w->ol != NULL)
		TAILQ_REMOVE(&w->ol->waits, w, entry);
	else
		TAILQ_REMOVE(&o->lookups, w, entry);
	redis_cancel(w->cmd);
	event_free(w->deadline);
	o->nwaits--;
	OPENSSL_cleanse(w->sid, sizeof w->sid);
	if (w->sids != NULL) {
		OPENSSL_cleanse(w->sids, w->nsids * sizeof *w->sids);
		free(w->sids);
	}
	free(w);
}

/* 503 with Retry-After (whole seconds): the agent cannot be served now. */
static void
owner_unavailable(struct http_req *req, unsigned long long retry_s, const char *why)
{
	char secs[24];

	snprintf(secs, sizeof secs, "%llu", retry_s);
	http_req_add_header(req, "Retry-After", secs);
	gws_reply_error(req, 503, GWS_INTERNAL, why);
}

/* Take the request off its wait, then answer it 503. */
static void
owner_wait_fail(struct owner_wait *w, unsigned long long retry_s, const char *why)
{
	struct http_req *req = w->req;

	http_req_set_abort(req, NULL, NULL);
	owner_wait_free(w);
	owner_unavailable(req, retry_s, why);
}

/* Serve here: the cookie found in Redis becomes a local session, then the route runs. */
static void
owner_serve(struct owner *o, struct http_req *req, const char *user, const char *sid,
    owner_go_cb go, void *arg)
{
	if (sid != NULL && sid[0] != '\0' && user != NULL)
		auth_adopt(o->auth, sid, user);
	go(req, arg);
}

/* Take the request off its wait and serve it here. */
static void
owner_wait_go(struct owner_wait *w, const char *user)
{
	struct owner *o = w->o;
	struct http_req *req = w->req;
	owner_go_cb go = w->go;
	void *arg = w->arg;
	char sid[OWNER_SID_MAX];

	memcpy(sid, w->sid, sizeof sid);
	http_req_set_abort(req, NULL, NULL);
	owner_wait_free(w);
	owner_serve(o, req, user, sid, go, arg);
	OPENSSL_cleanse(sid, sizeof sid);
}

/* A waiting request's client went away. */
static void
owner_wait_abort(struct http_req *req, void *arg)
{
	owner_wait_free(arg);
}

/* A waiting request's deadline passed. */
static void
owner_wait_late(evutil_socket_t fd, short what, void *arg)
{
	struct owner_wait *w = arg;
	static struct log_limit ll;

	log_limited(&ll, LOG_WARN, "owner: %s %s: no answer from Redis within %u ms",
	    http_req_method(w->req), http_req_path(w->req), owner_wait_ms(w->o));
	owner_wait_fail(w, 1, "The cluster store does not answer; retry later");
}

/* Park req (bounded): on ol's waits, or on the lookups when ol is NULL; NULL when full. */
static struct owner_wait *
owner_wait_new(struct owner *o, struct http_req *req, owner_go_cb go, void *arg, int how,
    const char *sid, struct owner_lease *ol)
{
	struct owner_wait *w;
	unsigned ms = owner_wait_ms(o);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (o->nwaits >= (unsigned)o->cfg->cluster_max_queue) {
		static struct log_limit ll;

		log_limited(&ll, LOG_WARN,
		    "owner: %u requests wait for Redis (cluster.max_queue): refusing one",
		    o->nwaits);
		owner_unavailable(
		    req, 1, "Too many requests wait for the cluster store; retry later");
		return NULL;
	}
	w = xcalloc(1, sizeof *w);
	w->o = o;
	w->req = req;
	w->go = go;
	w->arg = arg;
	w->how = how;
	snprintf(w->sid, sizeof w->sid, "%s", sid != NULL ? sid : "");
	w->ol = ol;
	if (ol != NULL)
		TAILQ_INSERT_TAIL(&ol->waits, w, entry);
	else
		TAILQ_INSERT_TAIL(&o->lookups, w, entry);
	o->nwaits++;
	w->deadline = evtimer_new(o->base, owner_wait_late, w);
	evtimer_add(w->deadline, &tv);
	http_req_set_abort(req, owner_wait_abort, w);
	return w;
}

/* Free a record (on a later turn: it may end inside its lease's callback). */
static void
owner_lease_reap(struct reap_link *link)
{
	struct owner_lease *ol =
	    (struct owner_lease *)((char *)link - offsetof(struct owner_lease, reap));

	lease_free(ol->lease);
	free(ol->name);
	free(ol);
}

static void owner_drain_step(struct owner *);
static void owner_readopt(struct owner_lease *);

/* The record ends: unindexed now, freed on a later turn; its waiting requests get 503. */
static void
owner_lease_end(struct owner_lease *ol, const char *why)
{
	struct owner *o = ol->o;
	struct owner_wait *w;

	if (ol->state == OWNER_GONE)
		return;
	if (ol->state == OWNER_HELD)
		o->nheld--;
	if (ol->state == OWNER_RELEASING)
		o->nreleasing--;
	ol->state = OWNER_GONE;
	if (hmap_get(o->by_user, ol->name) == ol)
		hmap_del(o->by_user, ol->name);
	while ((w = TAILQ_FIRST(&ol->waits)) != NULL)
		owner_wait_fail(w, 1, why);
	reap_later(o->reap, &ol->reap, owner_lease_reap);
	owner_drain_step(o);
}

/* A new record for user (acquire not started). */
static struct owner_lease *
owner_lease_new(struct owner *o, const char *user)
{
	struct owner_lease *ol = xcalloc(1, sizeof *ol);
	char *name;

	ol->o = o;
	ol->name = xstrdup(user);
	xasprintf(&name, "agent:%s", user);
	ol->lease = lease_new(o->leases, name, owner_on_lease, ol);
	free(name);
	ol->state = OWNER_ACQUIRING;
	ol->used_ms = util_now_ms();
	TAILQ_INIT(&ol->waits);
	hmap_put(o->by_user, ol->name, ol);
	return ol;
}

/* Release a held lease (the agent is gone here, or the node drains). */
static void
owner_release(struct owner_lease *ol, const char *why)
{
	struct owner *o = ol->o;

	if (ol->state != OWNER_HELD)
		return;
	log_info("owner: agent %s: releasing its lease (%s)", ol->name, why);
	store_flush(cluster_store(o->cluster)); /* the agent's last writes go first */
	ol->loading = 0;
	o->nheld--;
	o->nreleasing++;
	ol->state = OWNER_RELEASING;
	lease_release(ol->lease);
}

/* The lease is someone else's now: the agent is no longer served here. */
static void
owner_lose(struct owner_lease *ol, const char *detail)
{
	struct owner *o = ol->o;
	struct agent *a;
	char why[512];

	snprintf(why, sizeof why, "cluster lease lost: %s", detail);
	log_warn("owner: agent %s: %s; no longer served here", ol->name, why);
	if (ol->state == OWNER_HELD)
		o->nheld--;
	ol->state = OWNER_GONE; /* so that the removal below releases nothing */
	if ((a = agents_find(o->agents, ol->name)) != NULL)
		owner_let_go(o, a, why);
	ol->state = OWNER_HELD;
	o->nheld++;
	owner_lease_end(ol, "The agent moved to another node; retry");
}

/* Forget a hint. */
static void
owner_hint_drop(struct owner *o, struct owner_hint *hint)
{
	hmap_del(o->hints, hint->name);
	TAILQ_REMOVE(&o->hint_order, hint, entry);
	free(hint);
}

/* Forget user's hint, if any. */
static void
owner_hint_forget(struct owner *o, const char *user)
{
	struct owner_hint *hint = hmap_get(o->hints, user);

	if (hint != NULL)
		owner_hint_drop(o, hint);
}

/*
 * Forget every hint naming node holder (a forward to it failed: gone,
 * draining, or not the owner any more); with holder NULL, the expired ones.
 */
static void
owner_hints_forget(struct owner *o, const char *holder)
{
	uint64_t now = util_now_ms();
	struct owner_hint *hint, *next;

	for (hint = TAILQ_FIRST(&o->hint_order); hint != NULL; hint = next) {
		next = TAILQ_NEXT(hint, entry);
		if (holder != NULL ? strcmp(hint->holder, holder) == 0 : now >= hint->until_ms)
			owner_hint_drop(o, hint);
	}
}

/* Remember that node holder (at url) owns user for ttl_ms of its lease (bounded). */
static void
owner_hint_put(
    struct owner *o, const char *user, const char *holder, const char *url, long long ttl_ms)
{
	size_t nl = strlen(user) + 1, hl = strlen(holder) + 1, ul = strlen(url) + 1;
	uint64_t ms = cluster_lease_ms(o->cluster) / OWNER_HINT_PART;
	struct owner_hint *hint;

	owner_hint_forget(o, user);
	if (nl + hl + ul > OWNER_HINT_BYTES || ttl_ms <= 0)
		return;
	if ((uint64_t)ttl_ms < ms)
		ms = (uint64_t)ttl_ms; /* never past the lease Redis showed */
	if (hmap_count(o->hints) >= OWNER_HINTS_MAX)
		owner_hint_drop(o, TAILQ_FIRST(&o->hint_order));
	hint = xmalloc(sizeof *hint + nl + hl + ul);
	hint->name = memcpy(hint->data, user, nl);
	hint->holder = memcpy(hint->data + nl, holder, hl);
	hint->url = memcpy(hint->data + nl + hl, url, ul);
	hint->until_ms = util_now_ms() + ms;
	TAILQ_INSERT_TAIL(&o->hint_order, hint, entry);
	hmap_put(o->hints, hint->name, hint);
}

/* user's hint while it lasts, else NULL. */
static struct owner_hint *
owner_hint_get(struct owner *o, const char *user)
{
	struct owner_hint *hint = hmap_get(o->hints, user);

	if (hint != NULL && util_now_ms() >= hint->until_ms) {
		owner_hint_drop(o, hint);
		hint = NULL;
	}
	return hint;
}

/* The lease answered: serve, forward or refuse what waits; or the agent is lost here. */
static void
owner_on_lease(void *arg, struct lease *l, enum lease_event ev, const char *detail)
{
	struct owner_lease *ol = arg;
	struct owner *o = ol->o;
	struct owner_wait *w;
	struct agent *a;
	const char *url;
	long long ttl;
	char why[300];
	int again, other;

	switch (ev) {
	case LEASE_ACQUIRED:
		again = ol->adrift;
		ol->adrift = 0;
		ol->state = OWNER_HELD;
		o->nheld++;
		owner_hint_forget(o, ol->name);
		log_info("owner: agent %s: owned by this node now", ol->name);
		if (o->draining) {
			owner_release(ol, "the node drains");
			return;
		}
		if (again) /* taken again: Redis may have lost its login sessions */
			auth_restore(o->auth, ol->name);
		if (o->acquired != NULL) {
			ol->loading = 1; /* take-over: its state is loaded, then owner_loaded */
			o->acquired(o->acquired_arg, ol->name);
			return;
		}
		while (ol->state == OWNER_HELD && (w = TAILQ_FIRST(&ol->waits)) != NULL)
			owner_wait_go(w, ol->name);
		return;
	case LEASE_BUSY:
		if (ol->adrift && detail[0] != '(') {
			ol->state = OWNER_HELD; /* undo: owner_lose ends a held record */
			o->nheld++;
			owner_lose(ol, "taken by another node meanwhile");
			return;
		}
		url = lease_busy_url(l);
		ttl = lease_busy_ttl(l);
		other =
		    detail[0] != '(' && strcmp(detail, o->node) != 0; /* another node holds it */
		if (other && url != NULL)
			owner_hint_put(o, ol->name, detail, url, ttl);
		if (other && (a = agents_find(o->agents, ol->name)) != NULL) {
			/* A copy left here (its record ended without it): the holder serves it. */
			snprintf(why, sizeof why, "owned by node %s", detail);
			owner_let_go(o, a, why);
		}
		while ((w = TAILQ_FIRST(&ol->waits)) != NULL) {
			struct http_req *req = w->req;
			int fwd = w->how & OWNER_FORWARDED;

			http_req_set_abort(req, NULL, NULL);
			owner_wait_free(w);
			if (fwd || !other)
				owner_unavailable(req, 0, "The agent is being handed over; retry");
			else if (url != NULL)
				forward_request(o->fwd, req, url, detail, NULL);
			else {
				static struct log_limit ll;

				log_limited(&ll, LOG_INFO,
				    "owner: agent %s: held by node %s, which is not registered "
				    "(gone?): %lld ms of lease left",
				    ol->name, detail, ttl);
				owner_unavailable(req,
				    ttl > 0 ? (unsigned long long)(ttl + 999) / 1000 : 1,
				    "The agent's node is not available; retry later");
			}
		}
		owner_lease_end(ol, "The agent is being handed over; retry");
		return;
	case LEASE_FAILED:
		if (ol->state == OWNER_ACQUIRING && ol->adrift) {
			/* Redis failed again: the agent goes on from memory, as before. */
			ol->state = OWNER_ADRIFT;
			ol->adrift = 0;
			while (ol->state == OWNER_ADRIFT && (w = TAILQ_FIRST(&ol->waits)) != NULL)
				owner_wait_go(w, ol->name);
			return;
		}
		if (ol->state == OWNER_ACQUIRING) {
			static struct log_limit ll;

			log_limited(&ll, LOG_WARN, "owner: agent %s: acquiring its lease: %s",
			    ol->name, detail);
		} else
			log_warn("owner: agent %s: releasing its lease: %s", ol->name, detail);
		owner_lease_end(ol, "The cluster store is not available; retry later");
		return;
	case LEASE_LOST:
		if (!redis_ready(o->redis) && split_cut(o->split)) {
			/* Another node reaches Redis: it carries the agent on, not us. */
			owner_lose(ol,
			    "lapsed while this node is cut from Redis and another node "
			    "reaches it");
			return;
		}
		if (!redis_ready(o->redis)) {
			/* Nobody can take it while Redis is down for us: go on from memory. */
			log_warn("owner: agent %s: lease lapsed (%s); served from memory until "
				 "Redis is back",
			    ol->name, detail);
			o->nheld--;
			ol->state = OWNER_ADRIFT;
			return;
		}
		/* Maybe gone with a Redis restarted empty: take it again if nobody has. */
		log_warn("owner: agent %s: %s; taking its lease again if free", ol->name, detail);
		o->nheld--;
		owner_readopt(ol);
		return;
	case LEASE_RELEASED:
	case LEASE_NOT_OWNER:
		log_debug("owner: agent %s: lease released%s", ol->name,
		    ev == LEASE_NOT_OWNER ? " (it was not ours any more)" : "");
		owner_lease_end(ol, "The agent is being handed over; retry");
		return;
	}
}

/* Redis is back: take the lapsed lease of an agent served from memory again. */
static void
owner_readopt(struct owner_lease *ol)
{
	log_info("owner: agent %s: Redis is back: taking its lease again", ol->name);
	ol->state = OWNER_ACQUIRING;
	ol->adrift = 1;
	lease_acquire(ol->lease);
}

/* The user name of a Basic Authorization header (not verified), into out; -1 if malformed. */
static int
owner_basic_user(const char *h, struct buf *out)
{
	char *colon;

	if (strlen(h) < 6 || !util_strncaseeq("basic ", h, 6))
		return -1;
	h += 6;
	h += strspn(h, " ");
	if (strlen(h) > 4096 || util_base64_decode(out, h, strlen(h)) < 0 || out->len == 0 ||
	    memchr(out->data, '\0', out->len) != NULL || (colon = strchr(out->data, ':')) == NULL ||
	    colon == out->data)
		return -1;
	*colon = '\0';
	return 0;
}

/* Forward req to its agent's hinted owner; routed again from Redis if that fails (owner_again). */
static void
owner_forward_hint(
    struct owner *o, struct http_req *req, struct owner_hint *hint, owner_go_cb go, void *arg)
{
	struct forward_again again = { owner_again, o, go, arg };

	forward_request(o->fwd, req, hint->url, hint->holder, &again);
}

/* Route the request of user: served here, after an acquire, forwarded, or 503. */
static void
owner_for(struct owner *o, struct http_req *req, const char *user, const char *sid, int how,
    owner_go_cb go, void *arg)
{
	struct owner_lease *ol = hmap_get(o->by_user, user);
	struct owner_hint *hint;
	char why[300];

	if (owner_hot(o, ol)) {
		ol->used_ms = util_now_ms(); /* the hot path: no Redis */
		owner_serve(o, req, user, sid, go, arg);
		return;
	}
	if (o->draining) {
		owner_unavailable(req, 0, "This node is shutting down; retry");
		return;
	}
	if (!redis_ready(o->redis) && !redis_starting(o->redis)) { /* at start: wait for it */
		snprintf(why, sizeof why, "The cluster store is not available (%s); retry later",
		    redis_why(o->redis) ? redis_why(o->redis) : "not ready");
		owner_unavailable(req, 1, why);
		return;
	}
	if (!cluster_usable(o->cluster) && !redis_starting(o->redis)) {
		owner_unavailable(req, 5,
		    "This node's cluster key is not the cluster's (see /healthz); retry on another "
		    "node");
		return;
	}
	if (ol != NULL && ol->state == OWNER_ADRIFT)
		owner_readopt(ol);
	if (ol != NULL && ol->state == OWNER_HELD && ol->loading && lease_held(ol->lease)) {
		owner_wait_new(o, req, go, arg, how, sid, ol); /* served once loaded */
		return;
	}
	if (ol != NULL && ol->state != OWNER_ACQUIRING) {
		owner_unavailable(req, 1, "The agent is being handed over; retry");
		return;
	}
	if (ol == NULL) {
		if (auth_backing_off(o->auth, req, user))
			return; /* failed sign-ins: no lease for made-up names */
		if ((how & OWNER_FORWARDED) == 0 && (hint = owner_hint_get(o, user)) != NULL) {
			if (how & OWNER_FRESH) /* the hint failed once already */
				owner_hint_drop(o, hint);
			else {
				owner_forward_hint(o, req, hint, go, arg);
				return;
			}
		}
		if (o->nwaits >= (unsigned)o->cfg->cluster_max_queue) {
			owner_wait_new(o, req, go, arg, how, sid, NULL); /* refuses it */
			return;
		}
		ol = owner_lease_new(o, user);
		owner_wait_new(o, req, go, arg, how, sid, ol);
		lease_acquire(ol->lease);
		return;
	}
	owner_wait_new(o, req, go, arg, how, sid, ol);
}

/* Tell the request waiting for a login-session write to go on (once). */
static void
owner_store_done(struct owner_store *st)
{
	auth_stored_cb done = st->done;

	st->done = NULL;
	evtimer_del(st->deadline);
	if (done != NULL)
		done(st->done_arg);
}

/* Free a login-session write's record (answered, or the end). */
static void
owner_store_free(struct owner_store *st)
{
	LIST_REMOVE(st, entry);
	event_free(st->deadline);
	free(st);
}

/* The Redis key of a login session: PREFIXlogin:<hex SHA-256 of the cookie value>. */
static void
owner_login_key(struct owner *o, const char *sid, struct buf *out)
{
	unsigned char md[32];

	util_sha256(sid, strlen(sid), "", 0, md);
	buf_printf(out, "%slogin:", cluster_prefix(o->cluster));
	for (size_t i = 0; i < sizeof md; i++) {
		buf_addch(out, UTIL_HEX[md[i] >> 4]);
		buf_addch(out, UTIL_HEX[md[i] & 15]);
	}
	OPENSSL_cleanse(md, sizeof md);
}

/* The login-session lookup answered: route by its user, or let auth refuse the cookie. */
static void
owner_on_login(void *arg, const struct redis_result *res)
{
	struct owner_wait *w = arg;
	struct owner *o = w->o;
	struct http_req *req = w->req;
	owner_go_cb go = w->go;
	void *garg = w->arg;
	int how = w->how;
	char why[300];
	const char *err = NULL;
	const redisReply *e;
	struct buf key, user;
	size_t found = SIZE_MAX;

	w->cmd = NULL;
	if (res->status != REDIS_R_OK) {
		snprintf(why, sizeof why, "The cluster store is not available (%s); retry later",
		    res->why);
		owner_wait_fail(w, 1, why);
		return;
	}
	buf_init(&key);
	buf_init(&user);
	for (size_t i = 0; i < w->nsids && i < res->reply->elements && found == SIZE_MAX; i++) {
		e = res->reply->element[i];
		if (e->type != REDIS_REPLY_STRING)
			continue;
		buf_reset(&key);
		buf_reset(&user);
		owner_login_key(o, w->sids[i], &key);
		if (seal_open(o->seal, key.data, e->str, e->len, &user, &err) == 0 && user.len > 0)
			found = i;
		else {
			static struct log_limit ll;

			log_limited(&ll, LOG_WARN,
			    "owner: a login session in Redis does not open: %s",
			    err ? err : "empty");
		}
	}
	if (found != SIZE_MAX)
		memcpy(w->sid, w->sids[found], sizeof w->sid);
	{
		char sid[OWNER_SID_MAX];

		memcpy(sid, w->sid, sizeof sid);
		http_req_set_abort(req, NULL, NULL);
		owner_wait_free(w);
		if (found == SIZE_MAX)
			go(req, garg); /* unknown everywhere: auth answers 401 */
		else {
			if ((how & OWNER_FORWARDED) == 0) /* the cookie's user, by its key */
				owner_hint_put(o, key.data, user.data, "",
				    (long long)cluster_lease_ms(o->cluster));
			owner_for(o, req, user.data, sid, how, go, garg);
		}
		OPENSSL_cleanse(sid, sizeof sid);
	}
	buf_free(&key);
	buf_free(&user);
}

/*
 * Cookies this node does not know, one of which a hint names the user of
 * (o->hints by the login session's Redis key) while that user's owner is
 * hinted too: forwarded there without Redis (the owner checks the cookie;
 * never served here: that needs the login session read). 1 if answered.
 */
static int
owner_forward_login(struct owner *o, struct http_req *req, char (*sids)[AUTH_SID_BUF], size_t n,
    owner_go_cb go, void *arg)
{
	struct owner_hint *login = NULL, *hint;
	struct buf key;

	for (size_t i = 0; i < n && login == NULL; i++) {
		buf_init(&key);
		owner_login_key(o, sids[i], &key);
		login = owner_hint_get(o, key.data);
		buf_free(&key);
	}
	if (login == NULL || o->draining || !cluster_usable(o->cluster) ||
	    hmap_get(o->by_user, login->holder) != NULL ||
	    (hint = owner_hint_get(o, login->holder)) == NULL)
		return 0;
	if (!auth_backing_off(o->auth, req, login->holder))
		owner_forward_hint(o, req, hint, go, arg);
	return 1;
}

/* Route a request how (OWNER_FRESH or 0; OWNER_FORWARDED is added from its header). */
static void
owner_route_how(struct owner *o, struct http_req *req, owner_go_cb go, void *arg, int how)
{
	const char *h = http_req_header(req, "Authorization"), *user;
	const char *argv[1 + OWNER_MAX_COOKIES];
	char sids[OWNER_MAX_COOKIES][AUTH_SID_BUF], why[300];
	struct buf keys[OWNER_MAX_COOKIES];
	struct owner_wait *w;
	size_t n;
	struct buf b;

	if (http_req_header(req, FORWARD_HEADER) != NULL)
		how |= OWNER_FORWARDED;
	if (h != NULL) {
		buf_init(&b);
		if (owner_basic_user(h, &b) == 0)
			owner_for(o, req, b.data, NULL, how, go, arg);
		else
			go(req, arg); /* auth refuses it */
		if (b.data != NULL)
			OPENSSL_cleanse(b.data, b.cap);
		buf_free(&b);
		return;
	}
	if ((user = auth_claimed_user(o->auth, req, sids, OWNER_MAX_COOKIES, &n)) != NULL) {
		owner_for(o, req, user, NULL, how, go, arg);
		return;
	}
	if (n == 0) {
		go(req, arg); /* no credentials: auth refuses it */
		return;
	}
	if ((how & (OWNER_FORWARDED | OWNER_FRESH)) == 0 &&
	    owner_forward_login(o, req, sids, n, go, arg)) {
		OPENSSL_cleanse(sids, sizeof sids);
		return;
	}
	if (!redis_ready(o->redis) && !redis_starting(o->redis)) {
		snprintf(why, sizeof why, "The cluster store is not available (%s); retry later",
		    redis_why(o->redis) ? redis_why(o->redis) : "not ready");
		owner_unavailable(req, 1, why);
	} else if ((w = owner_wait_new(o, req, go, arg, how, NULL, NULL)) != NULL) {
		w->sids = xcalloc(n, sizeof *w->sids);
		memcpy(w->sids, sids, n * sizeof *w->sids);
		w->nsids = n;
		argv[0] = "MGET";
		for (size_t i = 0; i < n; i++) {
			buf_init(&keys[i]);
			owner_login_key(o, sids[i], &keys[i]);
			argv[1 + i] = keys[i].data;
		}
		w->cmd = redis_command(
		    o->redis, REDIS_WANT_ARRAY, owner_on_login, w, 1 + (int)n, argv, NULL);
		for (size_t i = 0; i < n; i++)
			buf_free(&keys[i]);
	}
	OPENSSL_cleanse(sids, sizeof sids);
}

/* Route a request; see owner.h. */
void
owner_route(struct owner *o, struct http_req *req, owner_go_cb go, void *arg)
{
	owner_route_how(o, req, go, arg, 0);
}

/* A forward to a hinted owner failed: forget that node's hints; route req from Redis. */
static void
owner_again(void *ctx, struct http_req *req, const char *holder, forward_go_cb go, void *arg)
{
	struct owner *o = ctx;
	char *node = xstrdup(holder); /* holder may be a hint's, freed below */

	owner_hints_forget(o, node);
	free(node);
	if (req != NULL)
		owner_route_how(o, req, go, arg, OWNER_FRESH);
}

/* A login-session refresh or deletion answered (nothing waits for it). */
static void
owner_on_stored(void *arg, const struct redis_result *res)
{
	static struct log_limit ll;

	if (res->status != REDIS_R_OK)
		log_limited(
		    &ll, LOG_WARN, "owner: updating a login session in Redis: %s", res->why);
}

/* auth's session hook: a session used again (refresh its expiry) or ended (delete it). */
static void
owner_on_session(void *arg, enum auth_session_event ev, const char *sid, const char *user)
{
	struct owner *o = arg;
	const char *argv[3];
	char px[24];
	struct buf key;

	buf_init(&key);
	owner_login_key(o, sid, &key);
	snprintf(px, sizeof px, "%lld", o->cfg->auth_session_idle_ms);
	argv[1] = key.data;
	if (ev == AUTH_SESSION_USED) {
		argv[0] = "PEXPIRE";
		argv[2] = px;
		redis_command(o->redis, REDIS_WANT_INT, owner_on_stored, NULL, 3, argv, NULL);
	} else if (ev == AUTH_SESSION_ENDED) {
		argv[0] = "DEL";
		redis_command(o->redis, REDIS_WANT_INT, owner_on_stored, NULL, 2, argv, NULL);
	}
	buf_free(&key);
}

/* The new session's write answered: the request waiting for it goes on (if still there). */
static void
owner_on_login_stored(void *arg, const struct redis_result *res)
{
	struct owner_store *st = arg;
	static struct log_limit ll;

	st->cmd = NULL;
	if (res->status != REDIS_R_OK)
		log_limited(&ll, LOG_WARN,
		    "owner: storing a login session in Redis: %s (other nodes will not know it)",
		    res->why);
	owner_store_done(st);
	owner_store_free(st);
}

/* The new session's write is late: the request goes on; the write stays queued. */
static void
owner_store_late(evutil_socket_t fd, short what, void *arg)
{
	struct owner_store *st = arg;
	static struct log_limit ll;

	log_limited(&ll, LOG_WARN,
	    "owner: storing a login session: no answer from Redis within %u ms; answering "
	    "without it (it is sent when Redis is back)",
	    owner_wait_ms(st->o));
	owner_store_done(st);
}

/*
 * auth's store hook: write PREFIXlogin:HASH = sealed user, and let the
 * request go on once Redis answered (or after the wait's deadline). While
 * Redis is unavailable the write is queued and nothing waits for it.
 */
static void *
owner_store(void *arg, const char *sid, const char *user, auth_stored_cb done, void *done_arg)
{
	struct owner *o = arg;
	struct owner_store *st = NULL;
	unsigned ms = owner_wait_ms(o);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct buf key, sealed;
	char px[24];

	if (redis_ready(o->redis))
		st = xcalloc(1, sizeof *st); /* else queued, not waited for: Redis is down */
	buf_init(&key);
	buf_init(&sealed);
	owner_login_key(o, sid, &key);
	seal_seal(o->seal, key.data, user, strlen(user), &sealed);
	snprintf(px, sizeof px, "%lld", o->cfg->auth_session_idle_ms);
	{
		const char *av[5] = { "SET", key.data, sealed.data, "PX", px };
		size_t lens[5] = { 3, key.len, sealed.len, 2, strlen(px) };

		if (st == NULL)
			redis_command(
			    o->redis, REDIS_WANT_STATUS, owner_on_stored, NULL, 5, av, lens);
		else
			st->cmd = redis_command(
			    o->redis, REDIS_WANT_STATUS, owner_on_login_stored, st, 5, av, lens);
	}
	buf_free(&key);
	buf_free(&sealed);
	if (st == NULL)
		return NULL;
	st->o = o;
	st->done = done;
	st->done_arg = done_arg;
	st->deadline = evtimer_new(o->base, owner_store_late, st);
	evtimer_add(st->deadline, &tv);
	LIST_INSERT_HEAD(&o->stores, st, entry);
	return st;
}

/* auth's cancel hook: the request went away; the write goes on without it. */
static void
owner_store_cancel(void *arg, void *handle)
{
	struct owner_store *st = handle;

	st->done = NULL;
	evtimer_del(st->deadline);
}

/* An agent was removed here (EndContactCenterSession, idle, sign-in failed, shutdown). */
static void
owner_agent_gone(struct agent *a, const char *why, void *arg)
{
	struct owner *o = arg;
	struct owner_lease *ol = hmap_get(o->by_user, a->name);

	if (ol != NULL && ol->state == OWNER_ADRIFT)
		owner_lease_end(ol, "The agent signed out; retry"); /* Redis is down: it lapses */
	else if (ol != NULL)
		owner_release(ol, why);
}

/* Release a lease no agent took (or every lease, when draining); re-take lapsed ones. */
static void
owner_sweep_one(struct owner *o, struct owner_lease *ol)
{
	unsigned grace = cluster_lease_ms(o->cluster) * 3;

	if (grace < OWNER_UNCLAIMED_MIN)
		grace = OWNER_UNCLAIMED_MIN;
	if (ol->state == OWNER_ADRIFT) {
		if (split_cut(o->split) && !redis_ready(o->redis))
			owner_lose(ol,
			    "lapsed while this node is cut from Redis and another node "
			    "reaches it");
		else if (o->draining)
			owner_lease_end(ol, "This node is shutting down; retry");
		else if (redis_ready(o->redis))
			owner_readopt(ol);
		return;
	}
	/* with the hooks, an agent's lease goes with its hand-over (after its last writes) */
	if (ol->state != OWNER_HELD ||
	    ((!o->draining || o->lost != NULL) && agents_find(o->agents, ol->name) != NULL))
		return;
	if (o->draining)
		owner_release(ol, "the node drains");
	else if (util_now_ms() - ol->used_ms >= grace)
		owner_release(ol, "no agent signed in");
}

/* Use sp to tell this node cut from Redis (its agents go) from Redis down for all. */
void
owner_set_split(struct owner *o, struct split *sp)
{
	o->split = sp;
}

/* The split verdict changed: agents adrift on a node cut from Redis are handed over. */
void
owner_split_changed(struct owner *o)
{
	if (split_cut(o->split) && !o->draining)
		owner_sweep_all(o);
}

/* hmap_each: collect a record. */
static void
owner_collect(const char *key, void *value, void *arg)
{
	struct buf *b = arg;

	buf_add(b, &value, sizeof value);
}

/* Sweep every record (collected first: a sweep may end records). */
static void
owner_sweep_all(struct owner *o)
{
	struct owner_lease **v;
	struct buf b;
	size_t n;

	buf_init(&b);
	hmap_each(o->by_user, owner_collect, &b);
	v = (struct owner_lease **)(void *)b.data;
	n = b.len / sizeof *v;
	for (size_t i = 0; i < n; i++)
		owner_sweep_one(o, v[i]);
	buf_free(&b);
}

/* Every lease time: release leases no agent took, re-take those that lapsed; expire hints. */
static void
owner_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	owner_sweep_all(arg);
	owner_hints_forget(arg, NULL);
}

/* The drain is over (or its deadline passed): tell the caller, once. */
static void
owner_drain_done(void *arg)
{
	struct owner *o = arg;
	void (*done)(void *) = o->drained;

	if (done == NULL)
		return;
	o->drained = NULL;
	evtimer_del(o->drain_deadline);
	done(o->drained_arg);
}

/* The drain's deadline passed with releases unanswered. */
static void
owner_drain_late(evutil_socket_t fd, short what, void *arg)
{
	struct owner *o = arg;

	log_warn("owner: drain: %u lease release(s) unanswered; exiting anyway", o->nreleasing);
	owner_drain_done(o);
}

/* While draining: once every lease is released, leave the registry. */
static void
owner_drain_step(struct owner *o)
{
	if (!o->draining || o->drained == NULL || o->nreleasing > 0 || o->nheld > 0)
		return;
	if (hmap_count(o->by_user) > 0)
		return; /* an acquire is under way: released when it answers */
	log_info("owner: drain: every lease released; leaving the registry");
	cluster_leave(o->cluster, owner_drain_done, o);
}

/* Drain: release every lease, then the registry entry; see owner.h. */
void
owner_drain(struct owner *o, void (*done)(void *), void *arg)
{
	unsigned ms = owner_wait_ms(o) * 2;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	o->draining = 1;
	o->drained = done;
	o->drained_arg = arg;
	o->drain_deadline = evtimer_new(o->base, owner_drain_late, o);
	evtimer_add(o->drain_deadline, &tv);
	log_info("owner: drain: releasing %u lease(s)", o->nheld);
	owner_sweep_all(o);
	owner_drain_step(o);
}

/* hmap_each: free a record at the end (no callback of its lease runs any more). */
static void
owner_free_one(const char *key, void *value, void *arg)
{
	struct owner_lease *ol = value;
	struct owner_wait *w;

	while ((w = TAILQ_FIRST(&ol->waits)) != NULL)
		owner_wait_free(w); /* its request went with the server */
	lease_free(ol->lease);
	free(ol->name);
	free(ol);
}

/* Unhook and free everything. */
void
owner_free(struct owner *o)
{
	struct owner_store *st;
	struct owner_wait *w;

	if (o == NULL)
		return;
	auth_set_session_hook(o->auth, NULL);
	cluster_on_back(o->cluster, NULL, NULL);
	while ((st = LIST_FIRST(&o->stores)) != NULL) {
		redis_cancel(st->cmd);
		owner_store_free(st);
	}
	agents_on_remove(o->agents, NULL, NULL);
	while ((w = TAILQ_FIRST(&o->lookups)) != NULL)
		owner_wait_free(w); /* its request went with the server */
	reap_now(o->reap);
	hmap_each(o->by_user, owner_free_one, o);
	hmap_free(o->by_user);
	while (!TAILQ_EMPTY(&o->hint_order))
		owner_hint_drop(o, TAILQ_FIRST(&o->hint_order));
	hmap_free(o->hints);
	event_free(o->sweep);
	if (o->drain_deadline != NULL)
		event_free(o->drain_deadline);
	reap_release(o->reap);
	free(o);
}
