/*
 * split.c: a node cut from Redis, or Redis down for all (see split.h).
 * Owns the verdict (one state, changed in split_set), the round of
 * questions to the other nodes under way (one request per peer, each with
 * a deadline) and the timer of the next round. A peer reaches Redis while
 * this node cannot when its /healthz says Redis is ready, it heard from
 * Redis after this node lost it (its replied_ms plus the question's round
 * trip is less than this node's time without Redis), and it has been
 * ready for longer than this node takes to try again (its ready_ms above
 * the reconnect back-off's longest delay plus two connect timeouts: else
 * Redis may just have come back and this node not tried yet). A peer ready
 * but short of either is asked again shortly; one that has not heard from
 * Redis lately stops counting after a lease time (it may never notice).
 */
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "forward.h"
#include "hclient.h"
#include "json.h"
#include "log.h"
#include "redis.h"
#include "split.h"

#define SPLIT_PEERS_MAX 32  /* peers asked in one round (the registry keeps as many) */
#define SPLIT_AGAIN_MS	100 /* a round left in doubt: the next one after this */
#define SPLIT_PATH	"/healthz"

static const char *const split_names[] = { "reached", "asking", "cut", "down" };
_Static_assert(
    sizeof split_names / sizeof split_names[0] == SPLIT_DOWN + 1, "one name per enum split_state");

struct split;

/* One question to a peer in the round under way. */
struct split_probe {
	struct split *sp;
	struct hclient_req *req; /* NULL once answered */
	char *id;
	uint64_t sent_ms;
};

struct split {
	struct event_base *base;
	struct cluster *cluster;
	struct redis *redis;
	struct hclient_owner *ho;
	unsigned timeout_ms, lease_ms;
	unsigned long long retry_ms; /* how long this node may take to try Redis again */
	enum split_state state;
	struct split_probe probes[SPLIT_PEERS_MAX];
	size_t nprobes, pending;
	int doubt; /* a peer of this round is ready but has not heard from Redis lately */
	int young; /* a peer of this round heard from Redis, but is ready only since lately */
	uint64_t asking_ms;  /* when this node lost Redis (the first round) */
	struct event *timer; /* the next round */
	void (*changed)(void *, enum split_state);
	void *changed_arg;
};

static void split_round(struct split *);

/* The name of a state, for logs. */
const char *
split_state_name(enum split_state s)
{
	return split_names[s];
}

/* Change the verdict (the only place that does) and tell the watcher. */
static void
split_set(struct split *sp, enum split_state st, const char *who)
{
	enum split_state old = sp->state;

	if (st == old)
		return;
	sp->state = st;
	if (st == SPLIT_CUT)
		log_warn("split: this node is cut from Redis while node %s reaches it: event "
			 "channels held, agents whose lease lapses handed over",
		    who);
	else if (st == SPLIT_DOWN)
		log_warn("split: no other node reaches Redis either: agents go on from memory");
	else
		log_info("split: %s -> %s", split_names[old], split_names[st]);
	if (sp->changed != NULL)
		sp->changed(sp->changed_arg, st);
}

/* Cancel the questions under way. */
static void
split_probes_clear(struct split *sp)
{
	for (size_t i = 0; i < sp->nprobes; i++) {
		if (sp->probes[i].req != NULL)
			hclient_cancel(sp->probes[i].req);
		free(sp->probes[i].id);
	}
	sp->nprobes = sp->pending = 0;
}

/* Ask again in ms. */
static void
split_later(struct split *sp, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(sp->timer, &tv);
}

/* The round is over (or a peer reaches Redis): the verdict, and the next round. */
static void
split_decide(struct split *sp, const char *reached)
{
	int late = util_now_ms() - sp->asking_ms >= sp->lease_ms;

	if (reached != NULL) {
		split_set(sp, SPLIT_CUT, reached);
		split_later(sp, sp->lease_ms / 4);
	} else if (sp->young || (sp->doubt && !late)) {
		split_later(sp, SPLIT_AGAIN_MS); /* still asking */
	} else {
		split_set(sp, SPLIT_DOWN, NULL);
		split_later(sp, sp->lease_ms / 4);
	}
}

/* Whether a peer's /healthz body shows it heard from Redis within rtt_ms + our time without it. */
static int
split_peer_reaches(struct split *sp, const char *body, size_t len, uint64_t rtt_ms)
{
	struct json_doc *d = json_parse(body, len, NULL, NULL);
	const struct json *c, *ms, *up;
	const char *redis;
	int yes = 0;

	if (d == NULL)
		return 0;
	c = json_get(json_root(d), "cluster");
	redis = json_get_str(c, "redis");
	ms = json_get(c, "replied_ms");
	up = json_get(c, "ready_ms");
	if (redis != NULL && strcmp(redis, "ready") == 0) {
		if (!json_is(ms, JSON_INT) || ms->u.i < 0 ||
		    (unsigned long long)ms->u.i + rtt_ms >= redis_down_ms(sp->redis))
			sp->doubt = 1; /* ready, but maybe not told yet that Redis is gone */
		else if (!json_is(up, JSON_INT) || up->u.i < 0 ||
		    (unsigned long long)up->u.i < sp->retry_ms + rtt_ms)
			sp->young = 1; /* Redis may be back since lately: we may get it next try */
		else
			yes = 1;
	}
	json_doc_free(d);
	return yes;
}

/* A peer answered (or not). */
static void
split_on_answer(const struct hclient_resp *r, void *arg)
{
	struct split_probe *p = arg;
	struct split *sp = p->sp;
	uint64_t rtt = util_now_ms() - p->sent_ms;

	p->req = NULL;
	sp->pending--;
	if (r->err == HCLIENT_OK && r->status == 200 &&
	    split_peer_reaches(sp, r->body, r->len, rtt)) {
		char who[256];

		snprintf(who, sizeof who, "%s", p->id);
		split_probes_clear(sp); /* the others need not answer */
		split_decide(sp, who);
		return;
	}
	if (r->err != HCLIENT_OK)
		log_debug("split: node %s: %s", p->id, r->errstr);
	if (sp->pending == 0) {
		split_probes_clear(sp);
		split_decide(sp, NULL);
	}
}

/* Ask every peer the registry named whether it reaches Redis. */
static void
split_round(struct split *sp)
{
	const char *id, *url;
	struct buf u;

	split_probes_clear(sp);
	sp->doubt = sp->young = 0;
	buf_init(&u);
	for (size_t i = 0; sp->nprobes < SPLIT_PEERS_MAX && cluster_peer(sp->cluster, i, &id, &url);
	     i++) {
		struct split_probe *p = &sp->probes[sp->nprobes];

		buf_reset(&u);
		buf_addstr(&u, url);
		while (u.len > 0 && u.data[u.len - 1] == '/')
			u.data[--u.len] = '\0';
		buf_addstr(&u, SPLIT_PATH);
		p->sp = sp;
		p->sent_ms = util_now_ms();
		p->req = hclient_request(
		    sp->ho, "GET", u.data, NULL, NULL, 0, sp->timeout_ms, 0, split_on_answer, p);
		if (p->req == NULL)
			continue;
		p->id = xstrdup(id);
		sp->nprobes++;
		sp->pending++;
	}
	buf_free(&u);
	if (sp->nprobes == 0)
		split_decide(sp, NULL); /* nobody to ask */
}

/* The next round is due. */
static void
split_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct split *sp = arg;

	if (sp->state != SPLIT_REACHED && sp->pending == 0)
		split_round(sp);
}

/* Redis became ready here (the verdict is moot) or stopped being ready (ask the peers). */
static void
split_on_redis(void *arg, int ready)
{
	struct split *sp = arg;

	if (ready) {
		split_probes_clear(sp);
		evtimer_del(sp->timer);
		split_set(sp, SPLIT_REACHED, NULL);
		return;
	}
	if (sp->state != SPLIT_REACHED)
		return;
	sp->asking_ms = util_now_ms();
	split_set(sp, SPLIT_ASKING, NULL);
	split_round(sp);
}

/* Start watching. */
struct split *
split_create(struct event_base *base, struct cluster *c, struct forward *fwd, unsigned timeout_ms,
    unsigned backoff_max_ms)
{
	struct split *sp = xcalloc(1, sizeof *sp);

	sp->base = base;
	sp->cluster = c;
	sp->redis = cluster_redis(c);
	sp->ho = hclient_owner_new(forward_client(fwd), SPLIT_PEERS_MAX);
	sp->timeout_ms = timeout_ms;
	sp->retry_ms = (unsigned long long)backoff_max_ms + 2ull * timeout_ms;
	sp->lease_ms = cluster_lease_ms(c);
	sp->state = SPLIT_REACHED;
	sp->timer = evtimer_new(base, split_on_timer, sp);
	cluster_set_watch(c, split_on_redis, sp);
	if (!redis_ready(sp->redis) && !redis_starting(sp->redis))
		split_on_redis(sp, 0);
	return sp;
}

/* Stop watching; questions under way are cancelled. */
void
split_free(struct split *sp)
{
	if (sp == NULL)
		return;
	cluster_set_watch(sp->cluster, NULL, NULL);
	split_probes_clear(sp);
	hclient_owner_free(sp->ho);
	event_free(sp->timer);
	free(sp);
}

/* Tell fn(arg, state) after every change. */
void
split_on_change(struct split *sp, void (*fn)(void *, enum split_state), void *arg)
{
	sp->changed = fn;
	sp->changed_arg = arg;
}

/* The verdict. */
enum split_state
split_state(const struct split *sp)
{
	return sp->state;
}

/* Whether this node must not act on what it cannot store. */
int
split_hold(const struct split *sp)
{
	return sp != NULL && (sp->state == SPLIT_ASKING || sp->state == SPLIT_CUT);
}

/* Whether this node alone is cut from Redis. */
int
split_cut(const struct split *sp)
{
	return sp != NULL && sp->state == SPLIT_CUT;
}
