/*
 * redis.h: one asynchronous connection to Redis on the daemon's event
 * loop (hiredis through its libevent adapter; nothing blocks). It
 * authenticates (AUTH) and selects the database (SELECT) on every connect,
 * reconnects with capped exponential back-off, queues (bounded) the
 * commands issued while it is not ready and sends them once it is, and
 * turns every failure into a precise error for the caller: an error
 * reply, a reply of an unexpected type, a connection lost, a server that
 * stopped answering, a full queue. Lua scripts are run by EVALSHA and
 * loaded again (SCRIPT LOAD) when Redis answers NOSCRIPT. With sentinels
 * (sentinel.c) the master is asked of them on every connect, checked with
 * ROLE before any command, and left on +switch-master or READONLY.
 */
#ifndef UCGW_REDIS_H
#define UCGW_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

/* Where Redis is: redis://HOST:PORT[/DB] (numeric host) or unix:/PATH. */
struct redis_addr {
	char *host; /* NULL for a unix socket */
	int port;
	char *path; /* unix socket, else NULL */
	int db;
};

/* Parse a cluster.redis URL; -1 with a static *why (which never repeats the URL). */
int redis_url_parse(const char *url, struct redis_addr *, const char **why);
void redis_addr_clear(struct redis_addr *);

struct redis_conf {
	const char *url;	      /* checked by redis_url_parse; unused with sentinels */
	const char *const *sentinels; /* "HOST:PORT" each; nsentinels > 0: the master is theirs */
	size_t nsentinels;
	const char *sentinel_master;   /* the master's name in the sentinels' configuration */
	const char *sentinel_password; /* AUTH on the sentinels; NULL: none. Never logged */
	const char *password;	       /* AUTH on connect; NULL: none. Never logged */
	unsigned timeout_ms;	       /* connect + handshake, and the oldest reply awaited */
	unsigned backoff_min_ms;       /* first reconnect delay; doubles, with jitter */
	unsigned backoff_max_ms;
	size_t max_queue; /* commands queued or awaiting a reply, at most */
	size_t max_reply; /* bytes of one reply at most (0: REDIS_MAX_REPLY) */
};

#define REDIS_MAX_REPLY (64 * 1024 * 1024)

/* What happened to a command. */
enum redis_status {
	REDIS_R_OK,	 /* reply is of a wanted type */
	REDIS_R_ERROR,	 /* Redis answered with an error (reply->str) */
	REDIS_R_TYPE,	 /* the reply is of a type the caller did not want */
	REDIS_R_LOST,	 /* the connection went away before the reply (may have run) */
	REDIS_R_FULL,	 /* refused: too many commands waiting (never sent) */
	REDIS_R_TIMEOUT, /* the server did not answer in time (may have run) */
};

/* Reply types a caller accepts (or-ed). */
#define REDIS_WANT_STATUS 0x01
#define REDIS_WANT_INT	  0x02
#define REDIS_WANT_STR	  0x04
#define REDIS_WANT_NIL	  0x08
#define REDIS_WANT_ARRAY  0x10

struct redis_result {
	enum redis_status status;
	const redisReply *reply; /* REDIS_R_OK and REDIS_R_ERROR; valid during the callback only */
	const char *why;	 /* NULL when OK; else one line saying what went wrong */
	uint64_t sent_ms;	 /* when it was written to the connection (util_now_ms), 0: never */
};

typedef void (*redis_cb)(void *arg, const struct redis_result *);

struct buf;
struct redis;
struct redis_cmd;
struct redis_script;

/* Start connecting (at once); NULL with *cause when the configuration is unusable. */
struct redis *redis_create(struct event_base *, const struct redis_conf *, char **cause);
/* Close; callbacks of commands not yet answered never run. Not from a redis callback. */
void redis_free(struct redis *);

/*
 * Send a command (argv[0] is its name), or queue it while the connection
 * is not ready. The callback runs exactly once, never from within this
 * call, unless the command is cancelled first. The handle is valid until
 * the callback has run.
 */
struct redis_cmd *redis_command(struct redis *, unsigned want, redis_cb, void *arg, int argc,
    const char *const *argv, const size_t *lens);
/* The callback of cmd will not run (the reply, if any, is discarded). */
void redis_cancel(struct redis_cmd *);

/* A Lua script, known by its SHA-1; loaded into Redis the first time Redis lacks it. */
struct redis_script *redis_script_create(struct redis *, const char *lua);
void redis_script_free(struct redis_script *);
/* EVALSHA script with nkeys keys then the arguments (argv holds both). */
struct redis_cmd *redis_eval(struct redis *, struct redis_script *, unsigned want, redis_cb,
    void *arg, int nkeys, int argc, const char *const *argv, const size_t *lens);

/*
 * EVALSHA with argv (strings; the keys first) then the nbulks RESP bulk
 * strings in bulks (appended by redis_bulk: arguments built once, in the
 * form they are sent in).
 */
struct redis_cmd *redis_eval_bulks(struct redis *, struct redis_script *, unsigned want, redis_cb,
    void *arg, int nkeys, int argc, const char *const *argv, const struct buf *bulks, int nbulks);
/* Append p (len bytes) to b as one RESP bulk string. */
void redis_bulk(struct buf *b, const void *p, size_t len);

/*
 * argv (lens[i] bytes each; lens NULL: strings) as one RESP command,
 * NUL-terminated, in *out (free it); its length without the NUL.
 */
size_t redis_format(char **out, int argc, const char *const *argv, const size_t *lens);

/* Whether commands go out at once (connected, authenticated, database selected). */
int redis_ready(const struct redis *);
/* Whether the first connection attempt has not ended yet (commands wait in the queue). */
int redis_starting(const struct redis *);
/* Why it is not ready (NULL when ready): the last error, e.g. "connect: Connection refused". */
const char *redis_why(const struct redis *);
/* Milliseconds since the connection stopped being ready (0 when ready). */
unsigned long long redis_down_ms(const struct redis *);
/*
 * Milliseconds since Redis last answered a command, while ready (-1: not
 * ready, or no answer yet): a node cut from Redis asks its peers for it
 * (split.h).
 */
long long redis_replied_ms(const struct redis *);
/* Milliseconds since the connection became ready (-1: not ready). */
long long redis_up_ms(const struct redis *);
/* The address, for logs and /healthz (never holds a secret). */
const char *redis_name(const struct redis *);
/* HOST:PORT of the master the sentinels named last; NULL without sentinels, or none yet. */
const char *redis_master(const struct redis *);
/* The event loop it runs on. */
struct event_base *redis_base(const struct redis *);
/* Calls fn whenever the connection becomes ready or stops being ready. */
void redis_set_watch(struct redis *, void (*fn)(void *arg, int ready), void *arg);

#endif
