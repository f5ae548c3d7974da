/*
 * sim_map.c: a chained hash table from strings to pointers, with a fixed
 * number of buckets (the simulator's object counts are bounded by its
 * configuration). Keys are copied; values are not owned.
 */
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "sim.h"

#define SIM_MAP_BUCKETS 4096

struct sim_map_node {
	struct sim_map_node *next;
	void *val;
	size_t len;
	char key[];
};

struct sim_map {
	struct sim_map_node *b[SIM_MAP_BUCKETS];
};

/* The bucket of a key (the gateway's one string hash). */
static unsigned
sim_map_hash(const char *k, size_t len)
{
	return (unsigned)(hmap_hash_len(k, len) % SIM_MAP_BUCKETS);
}

/* An empty table. */
struct sim_map *
sim_map_new(void)
{
	return xcalloc(1, sizeof(struct sim_map));
}

/* Free the table and its keys. */
void
sim_map_free(struct sim_map *m)
{
	struct sim_map_node *n, *next;

	if (m == NULL)
		return;
	for (size_t i = 0; i < SIM_MAP_BUCKETS; i++) {
		for (n = m->b[i]; n != NULL; n = next) {
			next = n->next;
			free(n);
		}
	}
	free(m);
}

/* The value under the first len bytes of key, or NULL. */
void *
sim_map_get(const struct sim_map *m, const char *key, size_t len)
{
	for (struct sim_map_node *n = m->b[sim_map_hash(key, len)]; n != NULL; n = n->next) {
		if (n->len == len && memcmp(n->key, key, len) == 0)
			return n->val;
	}
	return NULL;
}

/* Insert (keys are unique by construction: random ids). */
void
sim_map_put(struct sim_map *m, const char *key, void *val)
{
	size_t len = strlen(key);
	struct sim_map_node *n = xmalloc(sizeof *n + len + 1);
	unsigned h = sim_map_hash(key, len);

	memcpy(n->key, key, len + 1);
	n->len = len;
	n->val = val;
	n->next = m->b[h];
	m->b[h] = n;
}

/* Remove key if present. */
void
sim_map_del(struct sim_map *m, const char *key)
{
	size_t len = strlen(key);
	struct sim_map_node **p = &m->b[sim_map_hash(key, len)];

	for (; *p != NULL; p = &(*p)->next) {
		if ((*p)->len == len && memcmp((*p)->key, key, len) == 0) {
			struct sim_map_node *n = *p;

			*p = n->next;
			free(n);
			return;
		}
	}
}
