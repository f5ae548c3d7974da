/* test_reap.c: unit tests of reap.c: deferred, once, chained, per loop. */
#include <event2/event.h>

#include "reap.h"
#include "unit.h"
#include "util.h"

struct obj {
	int freed;
	struct reap *r;
	struct obj *chain; /* condemned by this one's free */
	struct reap_link link;
};

/* Count the free; condemn the chained object from inside the drain. */
static void
obj_free(struct reap_link *l)
{
	struct obj *o = container_of(l, struct obj, link);

	o->freed++;
	if (o->chain != NULL)
		reap_later(o->r, &o->chain->link, obj_free);
}

START_TEST(test_freed_on_a_later_turn_once)
{
	struct event_base *base = event_base_new();
	struct reap *r = reap_hold(base);
	struct obj a = { 0 }, b = { 0 };

	reap_later(r, &a.link, obj_free);
	reap_later(r, &a.link, obj_free); /* twice: still once */
	reap_later(r, &b.link, obj_free);
	ck_assert_int_eq(a.freed, 0); /* not inside the caller's callback */
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(a.freed, 1);
	ck_assert_int_eq(b.freed, 1);
	ck_assert_uint_eq(reap_count(r), 2);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(a.freed, 1);
	reap_release(r);
	event_base_free(base);
}
END_TEST

START_TEST(test_condemned_while_draining_freed_same_drain)
{
	struct event_base *base = event_base_new();
	struct reap *r = reap_hold(base);
	struct obj a = { 0 }, b = { 0 };

	a.r = r;
	a.chain = &b;
	reap_later(r, &a.link, obj_free);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(a.freed, 1);
	ck_assert_int_eq(b.freed, 1);
	reap_release(r);
	event_base_free(base);
}
END_TEST

START_TEST(test_one_reaper_per_loop_last_release_drains)
{
	struct event_base *b1 = event_base_new(), *b2 = event_base_new();
	struct reap *r1 = reap_hold(b1), *r1b = reap_hold(b1), *r2 = reap_hold(b2);
	struct obj a = { 0 };

	ck_assert_ptr_eq(r1, r1b);
	ck_assert_ptr_ne(r1, r2);
	reap_later(r1, &a.link, obj_free);
	reap_release(r1b);
	ck_assert_int_eq(a.freed, 0); /* another module still holds it */
	reap_release(r1);
	ck_assert_int_eq(a.freed, 1); /* the last release drains */
	reap_release(r2);
	event_base_free(b1);
	event_base_free(b2);
}
END_TEST

START_TEST(test_now_drains_without_the_loop)
{
	struct event_base *base = event_base_new();
	struct reap *r = reap_hold(base);
	struct obj a = { 0 };

	reap_later(r, &a.link, obj_free);
	reap_now(r);
	ck_assert_int_eq(a.freed, 1);
	event_base_loop(base, EVLOOP_NONBLOCK); /* the event finds nothing */
	ck_assert_int_eq(a.freed, 1);
	reap_release(r);
	event_base_free(base);
}
END_TEST

/* A free function that lets go of the reaper (a module freed from a callback). */
static void
obj_free_release(struct reap_link *l)
{
	struct obj *o = container_of(l, struct obj, link);

	o->freed++;
	reap_release(o->r);
}

START_TEST(test_last_release_inside_a_drain)
{
	struct event_base *base = event_base_new();
	struct reap *r = reap_hold(base);
	struct obj a = { 0 }, b = { 0 };

	a.r = r;
	reap_later(r, &a.link, obj_free_release);
	reap_later(r, &b.link, obj_free);
	event_base_loop(base, EVLOOP_NONBLOCK); /* the drain goes on after the release */
	ck_assert_int_eq(a.freed, 1);
	ck_assert_int_eq(b.freed, 1);
	event_base_free(base); /* the reaper is gone (ASan/valgrind: no leak, no use after free) */
}
END_TEST

static Suite *
reap_suite(void)
{
	Suite *s = suite_create("reap");

	UNIT_ADD(s, test_freed_on_a_later_turn_once);
	UNIT_ADD(s, test_condemned_while_draining_freed_same_drain);
	UNIT_ADD(s, test_one_reaper_per_loop_last_release_drains);
	UNIT_ADD(s, test_now_drains_without_the_loop);
	UNIT_ADD(s, test_last_release_inside_a_drain);
	return s;
}

UNIT_MAIN(reap_suite)
