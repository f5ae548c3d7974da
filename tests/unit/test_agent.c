/*
 * test_agent.c: unit tests of agent.c: identity, lookup, removal, creation
 * hooks, idle expiry, and the non-owning links (agents_link_*): made
 * whichever of the agent and the record comes second, cleared on both
 * sides when either goes, never made to an agent being removed.
 */
#include <stddef.h>
#include <string.h>

#include <event2/event.h>

#include "agent.h"
#include "hmap.h"
#include "unit.h"
#include "util.h"

static int removed;
static char removed_why[32];

static void
on_remove(struct agent *a, const char *why, void *arg)
{
	removed++;
	strncpy(removed_why, why, sizeof removed_why - 1);
}

START_TEST(test_identity_is_stable_and_well_formed)
{
	struct event_base *base = event_base_new();
	struct agents *r1 = agents_create(base, 60000), *r2 = agents_create(base, 60000);
	struct agent *a = agents_get(r1, "agent1"), *b = agents_get(r2, "agent1");
	struct agent *c = agents_get(r1, "agent2");

	ck_assert_str_eq(a->user_id, b->user_id);
	ck_assert_str_eq(a->device_id, b->device_id);
	ck_assert_str_ne(a->user_id, c->user_id);
	ck_assert_uint_eq(strlen(a->user_id), 32);
	ck_assert_uint_eq(strspn(a->user_id, UTIL_HEX), 32);
	ck_assert_uint_eq(strlen(a->device_id), 36);
	ck_assert(a->device_id[8] == '-' && a->device_id[13] == '-' && a->device_id[23] == '-');
	ck_assert_int_eq(a->ready, 0);
	agents_free(r1);
	agents_free(r2);
	event_base_free(base);
}
END_TEST

START_TEST(test_get_find_remove)
{
	struct event_base *base = event_base_new();
	struct agents *r = agents_create(base, 60000);
	struct agent *a = agents_get(r, "agent1");

	agents_on_remove(r, on_remove, NULL);
	removed = 0;
	ck_assert_ptr_eq(agents_get(r, "agent1"), a);
	ck_assert_ptr_eq(agents_find(r, "agent1"), a);
	ck_assert_ptr_null(agents_find(r, "agent2"));
	agents_remove(r, a, "logout");
	agents_remove(r, a, "logout");
	ck_assert_int_eq(removed, 1);
	ck_assert_str_eq(removed_why, "logout");
	ck_assert_ptr_null(agents_find(r, "agent1"));
	ck_assert_uint_eq(agents_count(r), 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	agents_free(r);
	event_base_free(base);
}
END_TEST

static void
stop_loop(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

START_TEST(test_idle_agents_expire)
{
	struct event_base *base = event_base_new();
	struct agents *r = agents_create(base, 200);
	struct timeval t = { 1, 500000 };
	struct event *stop = evtimer_new(base, stop_loop, base);

	agents_on_remove(r, on_remove, NULL);
	removed = 0;
	agents_get(r, "idle1");
	agents_get(r, "idle2");
	evtimer_add(stop, &t);
	event_base_dispatch(base);
	ck_assert_int_eq(removed, 2);
	ck_assert_str_eq(removed_why, "idle");
	ck_assert_uint_eq(agents_count(r), 0);
	event_free(stop);
	agents_free(r);
	event_base_free(base);
}
END_TEST

static char stages[8];
static size_t nstages;

static void
on_stage(struct agent *a, const char *why, void *arg)
{
	stages[nstages++] = *(const char *)arg;
}

START_TEST(test_removal_stages_run_in_order)
{
	struct event_base *base = event_base_new();
	struct agents *r = agents_create(base, 60000);
	struct agent *a = agents_get(r, "agent1");

	/* Hooked out of order: they run in the order of the stages. */
	agents_on_remove(r, on_stage, "L");
	agents_hook(r, AGENTS_STAGE_UCWA, on_stage, "U");
	agents_hook(r, AGENTS_STAGE_LOGINS, on_stage, "A");
	agents_hook(r, AGENTS_STAGE_IM, on_stage, "I");
	agents_hook(r, AGENTS_STAGE_COMETD, on_stage, "C");
	agents_hook(r, AGENTS_STAGE_SIGNIN, on_stage, "S");
	nstages = 0;
	agents_remove(r, a, "logout");
	stages[nstages] = '\0';
	ck_assert_str_eq(stages, "ISUCAL");
	agents_hook(r, AGENTS_STAGE_SIGNIN, NULL, NULL);
	nstages = 0;
	agents_remove(r, agents_get(r, "agent2"), "logout");
	stages[nstages] = '\0';
	ck_assert_str_eq(stages, "IUCAL");
	event_base_loop(base, EVLOOP_NONBLOCK);
	agents_free(r);
	event_base_free(base);
}
END_TEST

static int made_removing = -1;

/* A creation hook: note the stage and whether the agent is being removed. */
static void
on_made(struct agent *a, void *arg)
{
	stages[nstages++] = *(const char *)arg;
	made_removing = a->removing;
}

/* A removal hook: note whether the agent is marked as being removed. */
static void
on_removing(struct agent *a, const char *why, void *arg)
{
	made_removing = a->removing;
}

START_TEST(test_creation_hooks)
{
	struct event_base *base = event_base_new();
	struct agents *r = agents_create(base, 60000);
	struct agent *a;

	/* Hooked out of order: they run in the order of the stages, once per new agent. */
	agents_on_create(r, AGENTS_STAGE_LOGINS, on_made, "A");
	agents_on_create(r, AGENTS_STAGE_COMETD, on_made, "C");
	nstages = 0;
	a = agents_get(r, "agent1");
	agents_get(r, "agent1");
	stages[nstages] = '\0';
	ck_assert_str_eq(stages, "CA");
	ck_assert_int_eq(made_removing, 0);
	ck_assert_ptr_null(a->links[AGENTS_SLOT_COMETD]);
	ck_assert_ptr_null(a->links[AGENTS_SLOT_LOGINS]);

	/* An agent being removed is marked so (owners link nothing to it). */
	agents_hook(r, AGENTS_STAGE_COMETD, on_removing, NULL);
	agents_remove(r, a, "logout");
	ck_assert_int_eq(made_removing, 1);

	/* Unhooked: nothing runs. */
	agents_on_create(r, AGENTS_STAGE_COMETD, NULL, NULL);
	nstages = 0;
	agents_get(r, "agent2");
	stages[nstages] = '\0';
	ck_assert_str_eq(stages, "A");
	event_base_loop(base, EVLOOP_NONBLOCK);
	agents_free(r);
	event_base_free(base);
}
END_TEST

/* A keeper's record: a name and its link. */
struct link_rec {
	const char *name;
	struct agent_link link;
};

static struct link_rec late = { "agent3", { NULL, 0 } };
static struct agents *late_r;

/* Last told of a removal: try to link the agent being removed. */
static void
link_late(struct agent *a, const char *why, void *arg)
{
	agents_link(late_r, AGENTS_SLOT_COMETD, &late.link, a->name);
}

/* Put rec in records and link it, as a keeper does when it makes a record. */
static void
link_make(struct agents *r, struct hmap *records, struct link_rec *rec)
{
	hmap_put(records, rec->name, rec);
	agents_link(r, AGENTS_SLOT_COMETD, &rec->link, rec->name);
}

START_TEST(test_links)
{
	struct event_base *base = event_base_new();
	struct agents *r = agents_create(base, 60000);
	struct hmap *records = hmap_create();
	struct link_rec r0 = { "agent0", { NULL, 0 } }, r1 = { "agent1", { NULL, 0 } };
	struct link_rec r2 = { "agent2", { NULL, 0 } }, dup = { "agent2", { NULL, 0 } };
	struct agent *a0, *a1, *a2, *a3;
	struct agents *kept = NULL;

	/* Made before the registry is kept, and without it: no link. */
	a0 = agents_get(r, "agent0");
	link_make(NULL, records, &r0);
	ck_assert_ptr_null(r0.link.agent);

	/* Kept: the records already made are linked at once. */
	agents_link_keep(&kept, r, AGENTS_SLOT_COMETD, records, offsetof(struct link_rec, link));
	ck_assert_ptr_eq(kept, r);
	ck_assert_ptr_eq(a0->links[AGENTS_SLOT_COMETD], &r0.link);
	ck_assert_ptr_eq(r0.link.agent, a0);

	/* The record first: the new agent is linked, in its slot only. */
	link_make(r, records, &r1);
	ck_assert_ptr_null(r1.link.agent);
	a1 = agents_get(r, "agent1");
	ck_assert_ptr_eq(a1->links[AGENTS_SLOT_COMETD], &r1.link);
	ck_assert_ptr_null(a1->links[AGENTS_SLOT_LOGINS]);
	ck_assert_ptr_eq(r1.link.agent, a1);

	/* The agent first: the new record is linked; a second record of the name is not. */
	a2 = agents_get(r, "agent2");
	ck_assert_ptr_null(a2->links[AGENTS_SLOT_COMETD]);
	link_make(r, records, &r2);
	ck_assert_ptr_eq(a2->links[AGENTS_SLOT_COMETD], &r2.link);
	ck_assert_ptr_eq(r2.link.agent, a2);
	agents_link(r, AGENTS_SLOT_COMETD, &dup.link, dup.name);
	ck_assert_ptr_null(dup.link.agent);
	ck_assert_ptr_eq(a2->links[AGENTS_SLOT_COMETD], &r2.link);

	/* The record goes first: both sides are cleared; unlinking again does nothing. */
	agents_unlink(&r2.link);
	ck_assert_ptr_null(a2->links[AGENTS_SLOT_COMETD]);
	ck_assert_ptr_null(r2.link.agent);
	agents_unlink(&r2.link);
	hmap_del(records, r2.name);

	/* The agent goes first: both sides are cleared, the record stays. */
	agents_remove(r, a1, "test");
	ck_assert_ptr_null(a1->links[AGENTS_SLOT_COMETD]);
	ck_assert_ptr_null(r1.link.agent);

	/* An agent being removed gets no new link, even from the last hook. */
	late_r = r;
	agents_on_remove(r, link_late, NULL);
	a3 = agents_get(r, "agent3");
	agents_remove(r, a3, "test");
	ck_assert_ptr_null(late.link.agent);
	ck_assert_ptr_null(a3->links[AGENTS_SLOT_COMETD]);
	agents_on_remove(r, NULL, NULL);
	event_base_loop(base, EVLOOP_NONBLOCK);

	/* The record of a removed agent links its new agent. */
	a1 = agents_get(r, "agent1");
	ck_assert_ptr_eq(a1->links[AGENTS_SLOT_COMETD], &r1.link);
	ck_assert_ptr_eq(r1.link.agent, a1);

	/* Letting go unlinks every record on both sides, and links no new agent. */
	agents_link_keep(&kept, NULL, AGENTS_SLOT_COMETD, records, offsetof(struct link_rec, link));
	ck_assert_ptr_null(kept);
	ck_assert_ptr_null(a0->links[AGENTS_SLOT_COMETD]);
	ck_assert_ptr_null(r0.link.agent);
	ck_assert_ptr_null(a1->links[AGENTS_SLOT_COMETD]);
	ck_assert_ptr_null(r1.link.agent);
	agents_remove(r, a1, "test");
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_ptr_null(agents_get(r, "agent1")->links[AGENTS_SLOT_COMETD]);
	ck_assert_ptr_null(r1.link.agent);

	agents_free(r);
	hmap_free(records);
	event_base_free(base);
}
END_TEST

static Suite *
agent_suite(void)
{
	Suite *s = suite_create("agent");

	UNIT_ADD(s, test_identity_is_stable_and_well_formed);
	UNIT_ADD(s, test_get_find_remove);
	UNIT_ADD(s, test_idle_agents_expire);
	UNIT_ADD(s, test_removal_stages_run_in_order);
	UNIT_ADD(s, test_creation_hooks);
	UNIT_ADD(s, test_links);
	return s;
}

UNIT_MAIN(agent_suite)
