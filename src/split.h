/*
 * split.h: cluster mode: telling a node cut from Redis (a network split:
 * the other nodes still reach it) from Redis down for every node. While
 * Redis is not ready here, the other nodes the registry named before are
 * asked for their /healthz over the internal HTTP (forward.h's client): a
 * node that heard from Redis after this one lost it, and has been ready for
 * longer than this node takes to try again, shows that this node alone is
 * cut; when none did (each says Redis is unavailable, or cannot
 * be reached, or none is known), Redis is down for all. Asked again at
 * intervals while Redis stays unavailable here.
 *
 * What the verdict changes (docs/cluster.md, failure table): an agent's
 * event channel is held, not acknowledging what it fetched, while this
 * node is cut or finding out (ucwa.h's hold hook); an agent whose lease
 * lapsed on a cut node is handed over (owner.c). With Redis down for all,
 * agents go on from memory.
 */
#ifndef UCGW_SPLIT_H
#define UCGW_SPLIT_H

#include <event2/event.h>

struct cluster;
struct forward;
struct split;

enum split_state {
	SPLIT_REACHED, /* Redis is ready here */
	SPLIT_ASKING,  /* not here: the other nodes are being asked */
	SPLIT_CUT,     /* another node reaches Redis: this one alone is cut */
	SPLIT_DOWN,    /* no other node reaches it either (or none is known) */
};

/*
 * Watch c's Redis (cluster_set_watch); ask peers over fwd's client, each
 * within timeout_ms (cluster.timeout_ms); backoff_max_ms is the longest
 * delay before this node tries Redis again (cluster.backoff_max_ms).
 */
struct split *split_create(struct event_base *, struct cluster *, struct forward *,
    unsigned timeout_ms, unsigned backoff_max_ms);
void split_free(struct split *);
/* fn(arg, state) after every change of state. */
void split_on_change(struct split *, void (*fn)(void *, enum split_state), void *arg);
enum split_state split_state(const struct split *);
/* Whether this node must not act on what it cannot store: asking, or cut (NULL: 0). */
int split_hold(const struct split *);
/* Whether this node is cut from Redis while another node reaches it (NULL: 0). */
int split_cut(const struct split *);
const char *split_state_name(enum split_state);

#endif
