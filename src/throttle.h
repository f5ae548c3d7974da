/*
 * throttle.h: failed authentications counted by key (a user name, a client
 * address, a hash of a user/password pair), with exponential back-off. A
 * table is bounded: at its size the entry failed longest ago is dropped.
 * Pure bookkeeping: the caller passes the time and decides what to answer.
 */
#ifndef UCGW_THROTTLE_H
#define UCGW_THROTTLE_H

#include <stdint.h>

struct throttle;

struct throttle_conf {
	unsigned free_failures; /* failures before any back-off (0: back-off from the first) */
	unsigned base_ms;	/* first back-off; it doubles per further failure */
	unsigned max_ms;	/* longest back-off; also how long a quiet key is remembered */
	unsigned max_entries;	/* keys remembered at most */
};

struct throttle *throttle_create(const struct throttle_conf *);
void throttle_set_conf(struct throttle *, const struct throttle_conf *);
void throttle_free(struct throttle *);
/* Milliseconds key must still wait before it may try again, or 0. */
uint64_t throttle_wait(struct throttle *, const char *key, uint64_t now_ms);
/* Count a failure of key at now_ms. */
void throttle_fail(struct throttle *, const char *key, uint64_t now_ms);
/* Whether key failed within the last window_ms. */
int throttle_recent(struct throttle *, const char *key, uint64_t now_ms, uint64_t window_ms);
/* Forget key (it succeeded). */
void throttle_clear(struct throttle *, const char *key);
/* Keys remembered now. */
unsigned throttle_count(const struct throttle *);

#endif
