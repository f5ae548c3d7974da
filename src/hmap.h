/*
 * hmap.h: a hash map from strings to pointers (open addressing, linear
 * probing, tombstones). The map never owns the values; it copies keys.
 * Used for every index the gateway keeps (sessions by id, by conversation,
 * by operation, by agent; agents by name; CometD clients by id).
 */
#ifndef UCGW_HMAP_H
#define UCGW_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap;

struct hmap *hmap_create(void);
void hmap_free(struct hmap *);
size_t hmap_count(const struct hmap *);
void *hmap_get(const struct hmap *, const char *key);
/* Insert or replace; returns the previous value or NULL. */
void *hmap_put(struct hmap *, const char *key, void *value);
/* Remove; returns the removed value or NULL. */
void *hmap_del(struct hmap *, const char *key);
/* Call fn for each entry (the map must not change meanwhile). */
void hmap_each(const struct hmap *, void (*fn)(const char *key, void *value, void *arg), void *arg);
/* The table hash of this process (8 bytes a step), for tables that are not hmaps. */
uint64_t hmap_hash(const char *);
/* FNV-1a 64: stable across versions, for identities that outlive the process. */
uint64_t hmap_hash_len(const char *, size_t);
/* The same hash fed in pieces: h = hmap_fnv(h, piece, len) from HMAP_FNV_START, then hmap_fnv_end. */
#define HMAP_FNV_START 0xcbf29ce484222325ULL
uint64_t hmap_fnv(uint64_t h, const char *, size_t);
uint64_t hmap_fnv_end(uint64_t h);

#endif
