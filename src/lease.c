/*
 * lease.c: leases in Redis (see lease.h). One renewal in flight per lease;
 * a second timer ends the lease locally when no renewal succeeded within
 * the lease, whatever Redis is doing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "lease.h"
#include "log.h"
#include "redis.h"
#include "util.h"

/* Renew: extend only while the key still names this node. */
static const char lease_lua_renew[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
				      "  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
				      "end\n"
				      "return 0\n";

/*
 * Acquire in one round trip: take the key if free; keep it if it already
 * names this node (an earlier run of the same node id); else answer who
 * holds it, the holder's registry entry (ARGV[3] is the registry's key
 * prefix, "" for none) and how long the lease still runs.
 */
static const char lease_lua_acquire[] =
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then\n"
    "  return {1}\n"
    "end\n"
    "local h = redis.call('GET', KEYS[1])\n"
    "if h == ARGV[1] then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "  return {1}\n"
    "end\n"
    "if not h then\n"
    "  return {2}\n"
    "end\n"
    "local url = false\n"
    "if ARGV[3] ~= '' then\n"
    "  url = redis.call('GET', ARGV[3] .. h)\n"
    "end\n"
    "return {0, h, url, redis.call('PTTL', KEYS[1])}\n";

/* Release: delete only while the key still names this node. */
static const char lease_lua_release[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
					"  return redis.call('DEL', KEYS[1])\n"
					"end\n"
					"return 0\n";

enum lease_state {
	LEASE_FREE,	 /* not held */
	LEASE_ACQUIRING, /* SET NX (then GET, or a renewal of our own old key) under way */
	LEASE_HELD,	 /* held; renewed at a third of the lease */
	LEASE_RELEASING, /* compare-and-delete under way */
};

static const char *const lease_state_names[] = { "free", "acquiring", "held", "releasing" };

struct leases {
	struct redis *redis;
	char *prefix;
	char *node;
	unsigned lease_ms;
	char lease_ms_s[24];
	struct redis_script *renew;
	struct redis_script *release;
	struct redis_script *acquire;
	char *registry; /* key prefix of the node registry ("" for none) */
	unsigned n;
};

struct lease {
	struct leases *ls;
	char *name;
	char *key;
	lease_cb cb;
	void *arg;
	enum lease_state state;
	struct redis_cmd *cmd;	    /* the one command under way, if any */
	struct redis_cmd *renewing; /* the renewal under way, if any */
	uint64_t valid_until;	    /* held until (monotonic ms) */
	struct event *renew_timer;
	struct event *expire_timer;
	const char *busy_url;  /* during a LEASE_BUSY report: the holder's registry entry */
	long long busy_ttl_ms; /* during a LEASE_BUSY report: how long the lease still runs */
};

/* Leases of one node. */
struct leases *
leases_create(struct redis *r, const char *prefix, const char *node, unsigned lease_ms)
{
	struct leases *ls = xcalloc(1, sizeof *ls);

	ls->redis = r;
	ls->prefix = xstrdup(prefix);
	ls->node = xstrdup(node);
	ls->lease_ms = lease_ms;
	snprintf(ls->lease_ms_s, sizeof ls->lease_ms_s, "%u", lease_ms);
	ls->renew = redis_script_create(r, lease_lua_renew);
	ls->release = redis_script_create(r, lease_lua_release);
	ls->acquire = redis_script_create(r, lease_lua_acquire);
	ls->registry = xstrdup("");
	return ls;
}

/* Free the leases object (after every lease). */
void
leases_free(struct leases *ls)
{
	if (ls == NULL)
		return;
	if (ls->n != 0)
		log_error("leases_free: %u lease(s) still exist", ls->n);
	redis_script_free(ls->renew);
	redis_script_free(ls->release);
	redis_script_free(ls->acquire);
	free(ls->registry);
	free(ls->prefix);
	free(ls->node);
	free(ls);
}

/* The one place a lease's state changes; logs the transition at debug level. */
static void
lease_set_state(struct lease *l, enum lease_state st)
{
	if (l->state == st)
		return;
	log_debug("lease %s: %s -> %s", l->key, lease_state_names[l->state], lease_state_names[st]);
	l->state = st;
	if (st != LEASE_HELD) {
		evtimer_del(l->renew_timer);
		evtimer_del(l->expire_timer);
		redis_cancel(l->renewing);
		l->renewing = NULL;
	}
}

/* Held from sent_ms on for a lease: (re)arm the expiry and the next renewal. */
static void
lease_extend(struct lease *l, uint64_t sent_ms)
{
	unsigned ms = l->ls->lease_ms;
	uint64_t now = util_now_ms();
	struct timeval tv;

	l->valid_until = sent_ms + ms;
	ms = l->valid_until > now ? (unsigned)(l->valid_until - now) : 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(l->expire_timer, &tv);
	if (!evtimer_pending(l->renew_timer, NULL)) {
		ms = l->ls->lease_ms / 3;
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		evtimer_add(l->renew_timer, &tv);
	}
}

/* Tell the owner (after the state is settled). */
static void
lease_report(struct lease *l, enum lease_event ev, const char *detail)
{
	l->cb(l->arg, l, ev, detail);
}

/* The lease ends without a release: report it lost. */
static void
lease_lose(struct lease *l, const char *why)
{
	log_warn("lease %s lost: %s", l->key, why);
	lease_set_state(l, LEASE_FREE);
	lease_report(l, LEASE_LOST, why);
}

/* A renewal answered. */
static void
lease_on_renew(void *arg, const struct redis_result *res)
{
	struct lease *l = arg;

	l->renewing = NULL;
	if (l->state != LEASE_HELD)
		return;
	if (res->status != REDIS_R_OK) {
		/* Keep trying until the lease runs out (the expiry timer decides). */
		log_warn("lease %s: renewal failed: %s", l->key, res->why);
		return;
	}
	if (res->reply->integer != 1) {
		lease_lose(l, "Redis no longer names this node (expired or taken by another node)");
		return;
	}
	lease_extend(l, res->sent_ms);
}

/* Send a renewal (compare-and-set of the expiry). */
static struct redis_cmd *
lease_send_renew(struct lease *l, redis_cb cb)
{
	const char *argv[3] = { l->key, l->ls->node, l->ls->lease_ms_s };

	return redis_eval(l->ls->redis, l->ls->renew, REDIS_WANT_INT, cb, l, 1, 3, argv, NULL);
}

/* Time to renew (a third of the lease after the last one). */
static void
lease_on_renew_timer(evutil_socket_t fd, short what, void *arg)
{
	struct lease *l = arg;
	unsigned ms = l->ls->lease_ms / 3;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(l->renew_timer, &tv);
	if (l->renewing != NULL)
		return; /* the last one has not answered yet */
	l->renewing = lease_send_renew(l, lease_on_renew);
}

/* The lease ran out before a renewal succeeded. */
static void
lease_on_expire(evutil_socket_t fd, short what, void *arg)
{
	struct lease *l = arg;
	char why[300];
	const char *rw = redis_why(l->ls->redis);

	snprintf(why, sizeof why, "not renewed within %u ms%s%s", l->ls->lease_ms,
	    rw != NULL ? ": Redis unavailable: " : "", rw != NULL ? rw : "");
	lease_lose(l, why);
}

/* A new lease object. */
struct lease *
lease_new(struct leases *ls, const char *name, lease_cb cb, void *arg)
{
	struct lease *l = xcalloc(1, sizeof *l);
	struct event_base *base;

	l->ls = ls;
	l->name = xstrdup(name);
	xasprintf(&l->key, "%slease:%s", ls->prefix, name);
	l->cb = cb;
	l->arg = arg;
	l->state = LEASE_FREE;
	l->busy_ttl_ms = -1;
	base = redis_base(ls->redis);
	l->renew_timer = evtimer_new(base, lease_on_renew_timer, l);
	l->expire_timer = evtimer_new(base, lease_on_expire, l);
	ls->n++;
	return l;
}

/* Stop everything; the lease lapses in Redis by itself. */
void
lease_free(struct lease *l)
{
	if (l == NULL)
		return;
	redis_cancel(l->cmd);
	l->cmd = NULL;
	lease_set_state(l, LEASE_FREE);
	event_free(l->renew_timer);
	event_free(l->expire_timer);
	l->ls->n--;
	free(l->name);
	free(l->key);
	free(l);
}

/* The acquire script answered: {1} ours, {2} lapsed just now, {0, holder, url, pttl}. */
static void
lease_on_acquire(void *arg, const struct redis_result *res)
{
	struct lease *l = arg;
	const redisReply *r = res->reply, *e;
	char owner[256];

	l->cmd = NULL;
	if (res->status != REDIS_R_OK) {
		lease_set_state(l, LEASE_FREE);
		lease_report(l, LEASE_FAILED, res->why);
		return;
	}
	if (r->elements < 1 || r->element[0]->type != REDIS_REPLY_INTEGER ||
	    (r->element[0]->integer == 0 &&
		(r->elements < 4 || r->element[1]->type != REDIS_REPLY_STRING))) {
		lease_set_state(l, LEASE_FREE);
		lease_report(l, LEASE_FAILED, "unexpected reply to the acquire script");
		return;
	}
	if (r->element[0]->integer == 1) {
		lease_set_state(l, LEASE_HELD);
		lease_extend(l, res->sent_ms);
		lease_report(l, LEASE_ACQUIRED, NULL);
		return;
	}
	lease_set_state(l, LEASE_FREE);
	if (r->element[0]->integer != 0) {
		lease_report(l, LEASE_BUSY, "(lapsed just now: try again)");
		return;
	}
	snprintf(owner, sizeof owner, "%.*s", (int)r->element[1]->len, r->element[1]->str);
	e = r->element[2];
	l->busy_url = e->type == REDIS_REPLY_STRING ? e->str : NULL;
	e = r->element[3];
	l->busy_ttl_ms = e->type == REDIS_REPLY_INTEGER ? e->integer : -1;
	lease_report(l, LEASE_BUSY, owner);
	l->busy_url = NULL;
	l->busy_ttl_ms = -1;
}

/* Try to take the lease (one round trip: the acquire script). */
void
lease_acquire(struct lease *l)
{
	const char *argv[4] = { l->key, l->ls->node, l->ls->lease_ms_s, l->ls->registry };

	if (l->state != LEASE_FREE) {
		log_warn(
		    "lease %s: acquire while %s: ignored", l->key, lease_state_names[l->state]);
		return;
	}
	lease_set_state(l, LEASE_ACQUIRING);
	l->cmd = redis_eval(
	    l->ls->redis, l->ls->acquire, REDIS_WANT_ARRAY, lease_on_acquire, l, 1, 4, argv, NULL);
}

/* Name the holder's registry entry in busy answers: keys PREFIX + holder's node id. */
void
leases_set_registry(struct leases *ls, const char *prefix)
{
	free(ls->registry);
	ls->registry = xstrdup(prefix != NULL ? prefix : "");
}

/* During a LEASE_BUSY report: the holder's registry entry (its URL), or NULL. */
const char *
lease_busy_url(const struct lease *l)
{
	return l->busy_url;
}

/* During a LEASE_BUSY report: the lease's remaining milliseconds, or -1. */
long long
lease_busy_ttl(const struct lease *l)
{
	return l->busy_ttl_ms;
}

/* The compare-and-delete answered. */
static void
lease_on_release(void *arg, const struct redis_result *res)
{
	struct lease *l = arg;

	l->cmd = NULL;
	lease_set_state(l, LEASE_FREE);
	if (res->status != REDIS_R_OK)
		lease_report(l, LEASE_FAILED, res->why);
	else if (res->reply->integer == 1)
		lease_report(l, LEASE_RELEASED, NULL);
	else
		lease_report(l, LEASE_NOT_OWNER, NULL);
}

/* Delete the key if it still names this node. */
void
lease_release(struct lease *l)
{
	const char *argv[2] = { l->key, l->ls->node };

	if (l->state == LEASE_ACQUIRING || l->state == LEASE_RELEASING) {
		log_warn(
		    "lease %s: release while %s: ignored", l->key, lease_state_names[l->state]);
		return;
	}
	lease_set_state(l, LEASE_RELEASING);
	l->cmd = redis_eval(
	    l->ls->redis, l->ls->release, REDIS_WANT_INT, lease_on_release, l, 1, 2, argv, NULL);
}

/* Held now: state held and within the time of the last successful renewal. */
int
lease_held(const struct lease *l)
{
	return l->state == LEASE_HELD && util_now_ms() < l->valid_until;
}

/* The Redis key. */
const char *
lease_key(const struct lease *l)
{
	return l->key;
}

/* The name given. */
const char *
lease_name(const struct lease *l)
{
	return l->name;
}
