/* test_agent.c: unit tests of agent.c: identity, lookup, removal, creation hooks, idle expiry. */
#include <string.h>

#include <event2/event.h>

#include "agent.h"
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

static Suite *
agent_suite(void)
{
	Suite *s = suite_create("agent");

	UNIT_ADD(s, test_identity_is_stable_and_well_formed);
	UNIT_ADD(s, test_get_find_remove);
	UNIT_ADD(s, test_idle_agents_expire);
	UNIT_ADD(s, test_removal_stages_run_in_order);
	UNIT_ADD(s, test_creation_hooks);
	return s;
}

UNIT_MAIN(agent_suite)
