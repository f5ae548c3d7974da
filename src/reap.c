/*
 * reap.c: one deferred-free list per event loop, drained by one event that
 * is activated when the first object is condemned, so it runs once per loop
 * turn that condemned anything. Objects carry their own link and free
 * function; condemning allocates nothing. A free function may condemn more
 * objects: they are freed in the same drain.
 */
#include <stdlib.h>

#include <event2/event.h>

#include "reap.h"
#include "util.h"

struct reap {
	struct event_base *base;
	struct event *ev;
	struct reap_link *head; /* condemned, in order */
	struct reap_link **tail;
	unsigned holders; /* modules holding this reaper */
	int draining;	  /* in reap_now */
	int orphaned;	  /* its last holder let go during the drain: freed after it */
	unsigned long long freed;
	struct reap *next;
};

/* Reapers by loop; one per loop, few loops per process (tests make several). */
static struct reap *reap_all;

/* Unlist and free a reaper nobody holds and nothing is condemned to. */
static void
reap_destroy(struct reap *r)
{
	struct reap **pp;

	for (pp = &reap_all; *pp != r; pp = &(*pp)->next)
		;
	*pp = r->next;
	event_free(r->ev);
	free(r);
}

/* Free every condemned object; runs at the start of a loop turn. */
static void
reap_run(evutil_socket_t fd, short what, void *arg)
{
	reap_now(arg);
}

/* The loop's reaper, with one more holder (created by the first). */
struct reap *
reap_hold(struct event_base *base)
{
	struct reap *r;

	for (r = reap_all; r != NULL; r = r->next) {
		if (r->base == base) {
			r->holders++;
			return r;
		}
	}
	r = xcalloc(1, sizeof *r);
	r->base = base;
	r->ev = event_new(base, -1, 0, reap_run, r);
	if (r->ev == NULL)
		abort();
	r->tail = &r->head;
	r->holders = 1;
	r->next = reap_all;
	reap_all = r;
	return r;
}

/* Drop a hold; the last one frees what is condemned and the reaper. */
void
reap_release(struct reap *r)
{
	if (r == NULL || --r->holders > 0)
		return;
	if (r->draining) {
		r->orphaned = 1; /* released from a free function: freed after the drain */
		return;
	}
	reap_now(r);
	reap_destroy(r);
}

/* Condemn: fn(link) runs on a later loop turn; twice is harmless. */
void
reap_later(struct reap *r, struct reap_link *l, void (*fn)(struct reap_link *))
{
	if (l->queued)
		return;
	l->queued = 1;
	l->free = fn;
	l->next = NULL;
	*r->tail = l;
	r->tail = &l->next;
	event_active(r->ev, 0, 0);
}

/* Free what is condemned now (a module's free function, before it goes). */
void
reap_now(struct reap *r)
{
	struct reap_link *l;

	if (r->draining)
		return; /* a free function asked: the running drain goes on */
	r->draining = 1;
	while ((l = r->head) != NULL) {
		r->head = l->next;
		if (r->head == NULL)
			r->tail = &r->head;
		r->freed++;
		l->free(l);
	}
	r->draining = 0;
	if (r->orphaned)
		reap_destroy(r);
}

/* Objects freed so far, for tests. */
unsigned long long
reap_count(const struct reap *r)
{
	return r->freed;
}
