/*
 * hmap.c: string-keyed hash map with open addressing. Capacity is a power
 * of two kept at most 70% full (tombstones included), so probes stay short;
 * it grows by doubling and rebuilds without tombstones. Keys are copied;
 * values are the caller's.
 */
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "util.h"

#define HMAP_TOMB ((char *)&hmap_tomb_mark)

static const char hmap_tomb_mark = 0;

struct hmap_slot {
	char *key; /* NULL empty, HMAP_TOMB deleted */
	uint64_t hash;
	void *value;
};

struct hmap {
	struct hmap_slot *slots;
	size_t cap; /* power of two */
	size_t count;
	size_t used; /* count + tombstones */
};

/*
 * Two string hashes. hmap_hash_len is FNV-1a (64 bits, high bits folded
 * in): it makes identities that outlive the process (the change marks of
 * ucwa_conv, the simulator's buckets), so it must not change. hmap_hash,
 * for the tables of this process only (hmaps, the directory), reads 8 bytes
 * at a time: about a quarter of FNV's instructions on the long hrefs that
 * key the sessions by conversation.
 */
#define HMAP_FNV_STEP(h, c) (((h) ^ (unsigned char)(c)) * 0x100000001b3ULL)
#define HMAP_FNV_FOLD(h)    ((h) ^ ((h) >> 29))
#define HMAP_WORD_SEED	    0x9e3779b97f4a7c15ULL
#define HMAP_WORD_MUL	    0xff51afd7ed558ccdULL
#define HMAP_WORD_MIX(h, w) ((h) = ((h) ^ (w)) * HMAP_WORD_MUL, (h) ^= (h) >> 32)

/* FNV-1a state h (HMAP_FNV_START at first) after len more bytes; hmap_fnv_end: the hash. */
uint64_t
hmap_fnv(uint64_t h, const char *s, size_t len)
{
	size_t i = 0;

	for (; i + 4 <= len;
	     i += 4) { /* unrolled: the loop's own instructions a quarter as often */
		h = HMAP_FNV_STEP(h, s[i]);
		h = HMAP_FNV_STEP(h, s[i + 1]);
		h = HMAP_FNV_STEP(h, s[i + 2]);
		h = HMAP_FNV_STEP(h, s[i + 3]);
	}
	for (; i < len; i++)
		h = HMAP_FNV_STEP(h, s[i]);
	return h;
}

/* The hash of FNV-1a state h (as hmap_hash_len of the same bytes). */
uint64_t
hmap_fnv_end(uint64_t h)
{
	return HMAP_FNV_FOLD(h);
}

/* The hash of len bytes (FNV-1a: stable, see above). */
uint64_t
hmap_hash_len(const char *s, size_t len)
{
	return hmap_fnv_end(hmap_fnv(HMAP_FNV_START, s, len));
}

/* The table hash of a NUL-terminated string: 8 bytes a step, then a final mix. */
uint64_t
hmap_hash(const char *s)
{
	size_t len = strlen(s), i;
	uint64_t h = HMAP_WORD_SEED ^ len, w;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, sizeof w);
		HMAP_WORD_MIX(h, w);
	}
	if (i < len) {
		for (w = 0; i < len; i++)
			w = w << 8 | (unsigned char)s[i];
		HMAP_WORD_MIX(h, w);
	}
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

/* An empty map. */
struct hmap *
hmap_create(void)
{
	struct hmap *m = xcalloc(1, sizeof *m);

	m->cap = 16;
	m->slots = xcalloc(m->cap, sizeof *m->slots);
	return m;
}

/* Free the map and its key copies (not the values). */
void
hmap_free(struct hmap *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].key != NULL && m->slots[i].key != HMAP_TOMB)
			free(m->slots[i].key);
	}
	free(m->slots);
	free(m);
}

size_t
hmap_count(const struct hmap *m)
{
	return m->count;
}

/* Slot holding key, or NULL. */
static struct hmap_slot *
hmap_find(const struct hmap *m, const char *key, uint64_t h)
{
	for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct hmap_slot *s = &m->slots[i];

		if (s->key == NULL)
			return NULL;
		if (s->key != HMAP_TOMB && s->hash == h && strcmp(s->key, key) == 0)
			return s;
	}
}

/* Rebuild into cap slots, dropping tombstones. */
static void
hmap_resize(struct hmap *m, size_t cap)
{
	struct hmap_slot *old = m->slots;
	size_t oldcap = m->cap;

	m->slots = xcalloc(cap, sizeof *m->slots);
	m->cap = cap;
	m->used = m->count;
	for (size_t i = 0; i < oldcap; i++) {
		size_t j;

		if (old[i].key == NULL || old[i].key == HMAP_TOMB)
			continue;
		for (j = old[i].hash & (cap - 1); m->slots[j].key != NULL; j = (j + 1) & (cap - 1))
			;
		m->slots[j] = old[i];
	}
	free(old);
}

void *
hmap_get(const struct hmap *m, const char *key)
{
	struct hmap_slot *s = hmap_find(m, key, hmap_hash(key));

	return s ? s->value : NULL;
}

/* Insert or replace key. */
void *
hmap_put(struct hmap *m, const char *key, void *value)
{
	uint64_t h = hmap_hash(key);
	struct hmap_slot *s = hmap_find(m, key, h);
	void *prev;
	size_t i;

	if (s != NULL) {
		prev = s->value;
		s->value = value;
		return prev;
	}
	if ((m->used + 1) * 10 > m->cap * 7)
		hmap_resize(m, m->count * 2 + 2 > m->cap / 2 ? m->cap * 2 : m->cap);
	for (i = h & (m->cap - 1); m->slots[i].key != NULL && m->slots[i].key != HMAP_TOMB;
	     i = (i + 1) & (m->cap - 1))
		;
	if (m->slots[i].key == NULL)
		m->used++;
	m->slots[i].key = xstrdup(key);
	m->slots[i].hash = h;
	m->slots[i].value = value;
	m->count++;
	return NULL;
}

/* Remove key. */
void *
hmap_del(struct hmap *m, const char *key)
{
	struct hmap_slot *s = hmap_find(m, key, hmap_hash(key));
	void *v;

	if (s == NULL)
		return NULL;
	v = s->value;
	free(s->key);
	s->key = HMAP_TOMB;
	s->value = NULL;
	m->count--;
	return v;
}

/* Visit every entry. */
void
hmap_each(const struct hmap *m, void (*fn)(const char *, void *, void *), void *arg)
{
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].key != NULL && m->slots[i].key != HMAP_TOMB)
			fn(m->slots[i].key, m->slots[i].value, arg);
	}
}
