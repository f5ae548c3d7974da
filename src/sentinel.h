/*
 * sentinel.h: Redis Sentinel for redis.c (hiredis 0.14 has none): where
 * the master named cluster.sentinel_master is, asked of the sentinels in
 * turn (SENTINEL get-master-addr-by-name), and its moves, heard on one
 * sentinel's +switch-master channel. Asynchronous on the daemon's event
 * loop (hiredis's libevent adapter); nothing blocks.
 */
#ifndef UCGW_SENTINEL_H
#define UCGW_SENTINEL_H

#include <stddef.h>

#include <event2/event.h>

struct sentinel_conf {
	const char *const
	    *addrs; /* "HOST:PORT" each (numeric host), checked by sentinel_addr_parse */
	size_t naddrs;
	const char *master;   /* the master's name in the sentinels' configuration */
	const char *password; /* AUTH on every sentinel connection; NULL: none. Never logged */
	unsigned timeout_ms;  /* connect + answer, per sentinel */
};

/* Parse "HOST:PORT" (IPv4 or [IPv6]); -1 with a static *why. *host is allocated. */
int sentinel_addr_parse(const char *s, char **host, int *port, const char **why);

/* The master's address (host NULL: none found, why says why for each sentinel). */
typedef void (*sentinel_cb)(void *arg, const char *host, int port, const char *why);

struct sentinel;

/*
 * Ready to ask; on_switch(arg, host, port, NULL) runs whenever a sentinel
 * announces that the master moved (the subscription starts with the first
 * sentinel that answers sentinel_ask).
 */
struct sentinel *sentinel_create(
    struct event_base *, const struct sentinel_conf *, sentinel_cb on_switch, void *arg);
/* Close every connection; no callback runs afterwards. Not from a sentinel callback. */
void sentinel_free(struct sentinel *);
/*
 * Ask the sentinels in turn, from the last one that answered, until one
 * names the master; fn runs once, never from within this call. A new ask
 * replaces one under way (whose callback then never runs).
 */
void sentinel_ask(struct sentinel *, sentinel_cb fn, void *arg);
/* The callback of the ask under way (if any) will not run. */
void sentinel_cancel(struct sentinel *);
/* The master's name, for logs. */
const char *sentinel_master(const struct sentinel *);

#endif
