/*
 * throttle.c: failed authentications by key (see throttle.h). Entries are in
 * a hash map and in the order of their last failure, so the one to drop at
 * the size bound and the ones gone quiet are at the head of the list.
 */
#include <sys/queue.h>

#include <stdlib.h>

#include "hmap.h"
#include "throttle.h"
#include "util.h"

struct throttle_entry {
	char *key;
	unsigned failures;
	uint64_t last;	/* time of the last failure */
	uint64_t until; /* no attempt before this */
	TAILQ_ENTRY(throttle_entry) order;
};

struct throttle {
	struct throttle_conf conf;
	struct hmap *map;
	TAILQ_HEAD(, throttle_entry) order; /* oldest last failure first */
	unsigned n;
};

/* Create an empty table. */
struct throttle *
throttle_create(const struct throttle_conf *conf)
{
	struct throttle *t = xcalloc(1, sizeof *t);

	t->conf = *conf;
	t->map = hmap_create();
	TAILQ_INIT(&t->order);
	return t;
}

/* New settings (kept entries keep their deadlines). */
void
throttle_set_conf(struct throttle *t, const struct throttle_conf *conf)
{
	t->conf = *conf;
}

/* Drop one entry. */
static void
throttle_entry_free(struct throttle *t, struct throttle_entry *e)
{
	hmap_del(t->map, e->key);
	TAILQ_REMOVE(&t->order, e, order);
	t->n--;
	free(e->key);
	free(e);
}

/* Free the table. */
void
throttle_free(struct throttle *t)
{
	struct throttle_entry *e;

	if (t == NULL)
		return;
	while ((e = TAILQ_FIRST(&t->order)) != NULL)
		throttle_entry_free(t, e);
	hmap_free(t->map);
	free(t);
}

/* Forget keys whose last failure is older than max_ms and whose wait is over. */
static void
throttle_expire(struct throttle *t, uint64_t now)
{
	struct throttle_entry *e;

	while ((e = TAILQ_FIRST(&t->order)) != NULL && e->last + t->conf.max_ms <= now &&
	    e->until <= now)
		throttle_entry_free(t, e);
}

/* The wait left for key; see throttle.h. */
uint64_t
throttle_wait(struct throttle *t, const char *key, uint64_t now)
{
	struct throttle_entry *e;

	throttle_expire(t, now);
	e = hmap_get(t->map, key);
	return e != NULL && e->until > now ? e->until - now : 0;
}

/* Count a failure; see throttle.h. */
void
throttle_fail(struct throttle *t, const char *key, uint64_t now)
{
	struct throttle_entry *e;
	unsigned over;
	uint64_t wait;

	throttle_expire(t, now);
	if ((e = hmap_get(t->map, key)) == NULL) {
		if (t->n >= t->conf.max_entries && (e = TAILQ_FIRST(&t->order)) != NULL)
			throttle_entry_free(t, e);
		e = xcalloc(1, sizeof *e);
		e->key = xstrdup(key);
		hmap_put(t->map, key, e);
		t->n++;
	} else
		TAILQ_REMOVE(&t->order, e, order);
	TAILQ_INSERT_TAIL(&t->order, e, order);
	e->failures++;
	e->last = now;
	if (e->failures > t->conf.free_failures) {
		over = e->failures - t->conf.free_failures - 1;
		wait = over >= 32 ? t->conf.max_ms : (uint64_t)t->conf.base_ms << over;
		if (wait > t->conf.max_ms)
			wait = t->conf.max_ms;
		e->until = now + wait;
	}
}

/* Whether key failed lately; see throttle.h. */
int
throttle_recent(struct throttle *t, const char *key, uint64_t now, uint64_t window_ms)
{
	struct throttle_entry *e;

	throttle_expire(t, now);
	e = hmap_get(t->map, key);
	return e != NULL && e->last + window_ms > now;
}

/* Forget key; see throttle.h. */
void
throttle_clear(struct throttle *t, const char *key)
{
	struct throttle_entry *e = hmap_get(t->map, key);

	if (e != NULL)
		throttle_entry_free(t, e);
}

unsigned
throttle_count(const struct throttle *t)
{
	return t->n;
}
