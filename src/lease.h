/*
 * lease.h: leases in Redis: one owner (a node id) per name at a time.
 * Acquire is one Lua script: SET PREFIXlease:NAME NODE NX PX LEASE_MS, else
 * the holder, its registry entry and the time left; the holder renews
 * at a third of the lease by compare-and-set and releases by
 * compare-and-delete (Lua scripts run with EVALSHA, see redis.h). The
 * holder counts a lease from the moment it sent the command that set or
 * renewed it, so it stops holding before Redis lets the key expire; a
 * lease that cannot be renewed in time, or that Redis says is no longer
 * this node's, is reported lost.
 */
#ifndef UCGW_LEASE_H
#define UCGW_LEASE_H

struct redis;
struct leases;
struct lease;

enum lease_event {
	LEASE_ACQUIRED,	 /* this node holds it now */
	LEASE_BUSY,	 /* another node holds it; detail: its node id */
	LEASE_FAILED,	 /* acquire or release could not be done; detail: why */
	LEASE_LOST,	 /* no longer held (taken, expired, not renewed in time); detail: why */
	LEASE_RELEASED,	 /* released (the key was ours and is deleted) */
	LEASE_NOT_OWNER, /* release did nothing: the key was not ours */
};

/* What happens to a lease; never free the lease from here. */
typedef void (*lease_cb)(void *arg, struct lease *, enum lease_event, const char *detail);

/* Leases of node under prefix (keys PREFIXlease:NAME), lease_ms long. */
struct leases *leases_create(
    struct redis *, const char *prefix, const char *node, unsigned lease_ms);
/* Busy answers name the holder's registry entry, the key prefix + its node id ("PREFIXnode:"). */
void leases_set_registry(struct leases *, const char *prefix);
/* Free (every lease must be freed first). */
void leases_free(struct leases *);

/* A lease object for name (not acquired yet). */
struct lease *lease_new(struct leases *, const char *name, lease_cb, void *arg);
/* Stop renewing and forget; a lease held lapses in Redis after its time. No callback. */
void lease_free(struct lease *);
/* Try to take it: LEASE_ACQUIRED, LEASE_BUSY or LEASE_FAILED follows. */
void lease_acquire(struct lease *);
/* Stop renewing and delete the key if it is still ours: LEASE_RELEASED, _NOT_OWNER or _FAILED. */
void lease_release(struct lease *);
/* During a LEASE_BUSY report only: the holder's registry entry (URL) or NULL, and the lease's
 * remaining milliseconds (-1: unknown). */
const char *lease_busy_url(const struct lease *);
long long lease_busy_ttl(const struct lease *);
/* Whether this node holds it now (renewed within the lease). */
int lease_held(const struct lease *);
/* The Redis key. */
const char *lease_key(const struct lease *);
const char *lease_name(const struct lease *);

#endif
