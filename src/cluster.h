/*
 * cluster.h: this node's part of a cluster of ucgw nodes sharing one
 * Redis (cluster mode: cluster.redis or cluster.sentinels is set). Built so far: the checks
 * of the cluster.* keys (ucgw -t), the secrets they name (the cluster key
 * and the Redis password, read once and never logged), the connection to
 * Redis, the secrets box (seal.h), leases (lease.h), the key check (every
 * node must hold the key the cluster's PREFIXkeycheck value opens with),
 * the node registry (PREFIXnode:NODE_ID = this node's advertised URL, with
 * expiry, written only while the key checks out) and the cluster's part
 * of /healthz. See docs/cluster.md.
 */
#ifndef UCGW_CLUSTER_H
#define UCGW_CLUSTER_H

#include <event2/event.h>

#include "json.h"
#include "util.h"

struct config;
struct redis;
struct leases;
struct seal;
struct store;

/* What the cluster.* files hold, read by cluster_conf_check (wiped on release). */
struct cluster_secrets {
	unsigned char key[32];	 /* cluster.key_file */
	char *password;		 /* cluster.password_file; NULL: none */
	char *sentinel_password; /* cluster.sentinel_password_file; NULL: none */
};

/* Whether cluster mode is on: cluster.redis or cluster.sentinels set. */
int cluster_configured(const struct config *);
/* Row check of cluster.redis (a message that never repeats the URL). */
const char *cluster_check_url(const struct json *, char **freeit);
/* Row check of cluster.sentinels: HOST:PORT each, at most 16. */
const char *cluster_check_sentinels(const struct json *, char **freeit);
/* Row check of cluster.advertise: http(s)://HOST:PORT. */
const char *cluster_check_advertise(const struct json *, char **freeit);
/* Row check of cluster.node_id and cluster.prefix: letters, digits, ".-_:". */
const char *cluster_check_name(const struct json *, char **freeit);
/* Cross-key checks and the secrets' files ("FILE: message" lines to problems). */
void cluster_conf_check(struct config *, const char *file, struct buf *problems);
/* Wipe and free what cluster_conf_check read. */
void cluster_conf_release(struct config *);

struct redis_conf;
/* The connection to Redis as the cluster.* keys set it (read by cluster_conf_check first). */
void cluster_redis_conf(const struct config *, struct redis_conf *);

struct cluster;

/*
 * Start cluster mode (cluster_configured): connect to Redis, register
 * this node; bound is the first listener as bound ("HOST:PORT"), the
 * advertised address when cluster.advertise is unset.
 */
struct cluster *cluster_create(
    struct event_base *, const struct config *, const char *bound, char **cause);
void cluster_free(struct cluster *);
/* SIGHUP: apply the cluster.* keys that may change (cluster.write_version). */
void cluster_set_config(struct cluster *, const struct config *);
/* fn(arg) whenever Redis becomes ready (it may have lost writes: a restart, a failover). */
void cluster_on_back(struct cluster *, void (*fn)(void *), void *arg);
/* Drain: stop registering and delete the registry entry; done(arg) runs once Redis answered. */
void cluster_leave(struct cluster *, void (*done)(void *), void *arg);
/* Write the cluster's part of /healthz as the value of the current key; 1 if healthy. */
int cluster_health(struct cluster *, struct jw *);
/* 1 if healthy, for /healthz: calls cluster_health (arg is the cluster). */
int cluster_health_cb(void *arg, struct jw *);

/* Whether this node may do cluster work: Redis ready, the cluster key not found to differ. */
int cluster_usable(const struct cluster *);
const char *cluster_node_id(const struct cluster *);
const char *cluster_advertise(const struct cluster *);
const char *cluster_prefix(const struct cluster *);
unsigned cluster_lease_ms(const struct cluster *);
struct redis *cluster_redis(struct cluster *);
struct leases *cluster_leases(struct cluster *);
struct seal *cluster_seal(struct cluster *);
/* The agent state store (store.h). */
struct store *cluster_store(struct cluster *);
/* Call fn whenever Redis becomes ready or stops being ready (one watcher: split.c). */
void cluster_set_watch(struct cluster *, void (*fn)(void *, int ready), void *arg);
/* Peer i (from 0) as the registry named it at the last refresh: 1, or 0 past the last. */
int cluster_peer(const struct cluster *, size_t i, const char **id, const char **url);

#endif
