/*
 * agent.c: the agent registry. Agents live in a hash map by name; an idle
 * sweep once a second removes those not seen for the idle time. Removal
 * is one path (agents_remove): the owners' hooks run stage by stage in the
 * order of enum agents_stage (IM session, sign-in, UCWA link, CometD,
 * logins, listener), the agent is unindexed at once, and it is freed by
 * the loop's reaper (reap.h) on a later turn, never inside the caller's
 * callback. A new agent is shown to the owners' creation hooks (in stage
 * order) so they can link the records they made before it. The
 * non-owning links (agent->links[]) are kept here for their owners
 * (agents_link_keep): linked whichever side comes second, cleared on both
 * sides when either goes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "store.h"
#include "hmap.h"
#include "log.h"
#include "util.h"

_Static_assert(AGENTS_STAGE_LISTEN + 1 == AGENTS_NSTAGES, "one hook per stage");
_Static_assert(AGENTS_SLOT_LOGINS + 1 == AGENTS_NSLOTS, "one keeper per slot");

/* The stage at which each slot's agent is unlinked (agent.h). */
static const enum agents_stage agents_slot_stage[AGENTS_NSLOTS] = {
	[AGENTS_SLOT_COMETD] = AGENTS_STAGE_COMETD,
	[AGENTS_SLOT_LOGINS] = AGENTS_STAGE_LOGINS,
};

/* The keeper of one slot's links: its owner's records (agents_link_keep). */
struct agents_keeper {
	struct agents *r;
	enum agents_slot slot;
	struct hmap *records; /* name -> record; NULL: not held */
	size_t offset;	      /* of the struct agent_link in a record */
};

struct agents {
	struct event_base *base;
	struct hmap *by_name;
	unsigned idle_ms;
	struct event *sweep;
	struct reap *reap;
	struct {
		agents_remove_cb cb;
		void *arg;
		agents_create_cb create;
		void *create_arg;
	} hooks[AGENTS_NSTAGES]; /* by enum agents_stage, run in that order */
	int (*busy)(const struct agent *, void *);
	void *busy_arg;
	struct store *store; /* cluster mode: the presence is written there; else NULL */
	struct agents_keeper keepers[AGENTS_NSLOTS]; /* by enum agents_slot */
};

/* SHA-256(prefix || name). */
static void
agents_digest(const char *prefix, const char *name, unsigned char *md)
{
	util_sha256(prefix, strlen(prefix), name, strlen(name), md);
}

/* Stable GWS identifiers for a user name. */
static void
agents_identity(struct agent *a)
{
	unsigned char md[32];
	char hex[65];

	agents_digest("ucgw user:", a->name, md);
	for (int i = 0; i < 16; i++)
		snprintf(a->user_id + 2 * i, 3, "%02x", md[i]);
	agents_digest("ucgw device:", a->name, md);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(a->device_id, sizeof a->device_id, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
	    hex + 12, hex + 16, hex + 20);
}

/* Free one agent's memory. */
static void
agents_free_agent(struct agent *a)
{
	free(a->name);
	free(a->phone);
	free(a->first_name);
	free(a->last_name);
	free(a->base_uri);
	free(a);
}

/* The reaper frees a removed agent. */
static void
agents_reap(struct reap_link *l)
{
	agents_free_agent(container_of(l, struct agent, reap));
}

struct agents_idle {
	struct agents *r;
	struct agent **v;
	size_t n;
};

/* hmap_each callback: collect idle agents. */
static void
agents_collect_idle(const char *key, void *value, void *arg)
{
	struct agents_idle *idle = arg;
	struct agent *a = value;

	if (idle->r->busy != NULL && idle->r->busy(a, idle->r->busy_arg))
		a->last_seen_ms = util_now_ms();
	else if (util_now_ms() - a->last_seen_ms > idle->r->idle_ms) {
		idle->v = xreallocarray(idle->v, idle->n + 1, sizeof *idle->v);
		idle->v[idle->n++] = a;
	}
}

/* Once a second: remove agents idle longer than the idle time. */
static void
agents_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct agents_idle idle = { arg, NULL, 0 };

	hmap_each(idle.r->by_name, agents_collect_idle, &idle);
	for (size_t i = 0; i < idle.n; i++)
		agents_remove(idle.r, idle.v[i], "idle");
	free(idle.v);
}

/* An empty registry. */
struct agents *
agents_create(struct event_base *base, unsigned idle_ms)
{
	struct agents *r = xcalloc(1, sizeof *r);
	struct timeval second = { 1, 0 };

	r->base = base;
	r->by_name = hmap_create();
	r->idle_ms = idle_ms;
	r->sweep = event_new(base, -1, EV_PERSIST, agents_sweep, r);
	r->reap = reap_hold(base);
	event_add(r->sweep, &second);
	return r;
}

/* Cluster mode: write each agent's presence to st (NULL: nowhere). */
void
agents_set_store(struct agents *r, struct store *st)
{
	r->store = st;
}

/* The agent's contact-centre session or Ready state changed: stored (cluster mode). */
void
agents_presence_changed(struct agents *r, struct agent *a)
{
	store_agent_presence(r->store, a->name, a->cc_session, a->ready);
}

void
agents_set_idle(struct agents *r, unsigned idle_ms)
{
	r->idle_ms = idle_ms;
}

void
agents_set_busy(struct agents *r, int (*busy)(const struct agent *, void *), void *arg)
{
	r->busy = busy;
	r->busy_arg = arg;
}

/* Hook one removal stage (agent.h lists who hooks which). */
void
agents_hook(struct agents *r, enum agents_stage stage, agents_remove_cb cb, void *arg)
{
	r->hooks[stage].cb = cb;
	r->hooks[stage].arg = arg;
}

/* Be told of each new agent, as the owner of stage's record (to link a record made first). */
void
agents_on_create(struct agents *r, enum agents_stage stage, agents_create_cb cb, void *arg)
{
	r->hooks[stage].create = cb;
	r->hooks[stage].create_arg = arg;
}

/* Be told of each removal, after every record's owner. */
void
agents_on_remove(struct agents *r, agents_remove_cb cb, void *arg)
{
	agents_hook(r, AGENTS_STAGE_LISTEN, cb, arg);
}

/* hmap_each callback: free an agent at shutdown. */
static void
agents_free_one(const char *key, void *value, void *arg)
{
	agents_free_agent(value);
}

/* Free the registry and every agent (no hooks: the process is ending). */
void
agents_free(struct agents *r)
{
	if (r == NULL)
		return;
	hmap_each(r->by_name, agents_free_one, NULL);
	hmap_free(r->by_name);
	event_free(r->sweep);
	reap_release(r->reap);
	free(r);
}

struct agent *
agents_find(const struct agents *r, const char *name)
{
	return hmap_get(r->by_name, name);
}

/* Link l (of a record called name) with its agent, if any, not removing, slot free. */
void
agents_link(struct agents *r, enum agents_slot slot, struct agent_link *l, const char *name)
{
	struct agent *a;

	if (r == NULL || l->agent != NULL || (a = agents_find(r, name)) == NULL || a->removing ||
	    a->links[slot] != NULL)
		return;
	a->links[slot] = l;
	l->agent = a;
	l->slot = slot;
}

/* Clear link l on both sides. */
void
agents_unlink(struct agent_link *l)
{
	if (l->agent == NULL)
		return;
	l->agent->links[l->slot] = NULL;
	l->agent = NULL;
}

/* The link embedded in a kept record. */
static struct agent_link *
agents_link_of(const struct agents_keeper *k, void *rec)
{
	return (struct agent_link *)((char *)rec + k->offset);
}

/* agents_on_create hook of a kept slot: link a new agent with its name's record, if any. */
static void
agents_link_made(struct agent *a, void *arg)
{
	struct agents_keeper *k = arg;
	void *rec = hmap_get(k->records, a->name);

	if (rec != NULL)
		agents_link(k->r, k->slot, agents_link_of(k, rec), a->name);
}

/* Removal hook of a kept slot's stage: unlink; the record outlives the agent. */
static void
agents_link_gone(struct agent *a, const char *why, void *arg)
{
	struct agents_keeper *k = arg;

	if (a->links[k->slot] != NULL)
		agents_unlink(a->links[k->slot]);
}

/* hmap_each callback: link a kept record. */
static void
agents_link_each(const char *key, void *value, void *arg)
{
	struct agents_keeper *k = arg;

	agents_link(k->r, k->slot, agents_link_of(k, value), key);
}

/* hmap_each callback: unlink a kept record. */
static void
agents_unlink_each(const char *key, void *value, void *arg)
{
	struct agents_keeper *k = arg;

	agents_unlink(agents_link_of(k, value));
}

/* Let go of slot's links in r: unhook its stage, unlink every record. */
static void
agents_link_let_go(struct agents *r, enum agents_slot slot)
{
	struct agents_keeper *k = &r->keepers[slot];

	agents_hook(r, agents_slot_stage[slot], NULL, NULL);
	agents_on_create(r, agents_slot_stage[slot], NULL, NULL);
	if (k->records != NULL)
		hmap_each(k->records, agents_unlink_each, k);
	k->records = NULL;
}

/* Keep slot's links for an owner: *kept's let go, r's (maybe NULL) held. */
void
agents_link_keep(struct agents **kept, struct agents *r, enum agents_slot slot,
    struct hmap *records, size_t offset)
{
	struct agents_keeper *k;

	if (*kept != NULL)
		agents_link_let_go(*kept, slot);
	*kept = r;
	if (r == NULL)
		return;
	k = &r->keepers[slot];
	*k = (struct agents_keeper){ r, slot, records, offset };
	agents_hook(r, agents_slot_stage[slot], agents_link_gone, k);
	agents_on_create(r, agents_slot_stage[slot], agents_link_made, k);
	hmap_each(records, agents_link_each, k);
}

/* Find or create the agent called name. */
struct agent *
agents_get(struct agents *r, const char *name)
{
	struct agent *a = hmap_get(r->by_name, name);

	if (a == NULL) {
		a = xcalloc(1, sizeof *a);
		a->name = xstrdup(name);
		agents_identity(a);
		util_random_id(a->state_id, 36, UTIL_HEX);
		hmap_put(r->by_name, name, a);
		log_debug("agent %s: created", name);
		for (int stage = 0; stage < AGENTS_NSTAGES; stage++) {
			if (r->hooks[stage].create != NULL)
				r->hooks[stage].create(a, r->hooks[stage].create_arg);
		}
	}
	a->last_seen_ms = util_now_ms();
	return a;
}

/* The one removal path: run the stages in order, unindex, free later. */
void
agents_remove(struct agents *r, struct agent *a, const char *why)
{
	if (hmap_get(r->by_name, a->name) != a)
		return;
	log_info("agent %s: removed (%s)", a->name, why);
	a->removing = 1; /* no record links to it from now on */
	for (int stage = 0; stage < AGENTS_NSTAGES; stage++) {
		if (r->hooks[stage].cb != NULL)
			r->hooks[stage].cb(a, why, r->hooks[stage].arg);
	}
	hmap_del(r->by_name, a->name);
	reap_later(r->reap, &a->reap, agents_reap);
}

/* Remove for a hand-over (see agent.h). */
void
agents_hand_over(struct agents *r, struct agent *a, const char *why)
{
	a->handover = 1;
	agents_remove(r, a, why);
}

unsigned
agents_count(const struct agents *r)
{
	return (unsigned)hmap_count(r->by_name);
}

/* hmap_each callback: append an agent to the list. */
static void
agents_list_one(const char *key, void *value, void *arg)
{
	struct agents_idle *l = arg;

	l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
	l->v[l->n++] = value;
}

/* Every agent, in a new array. */
size_t
agents_list(const struct agents *r, struct agent ***out)
{
	struct agents_idle l = { NULL, NULL, 0 };

	hmap_each(r->by_name, agents_list_one, &l);
	*out = l.v;
	return l.n;
}
