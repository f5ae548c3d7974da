/*
 * store.h: the agent state that survives its node (cluster mode only; in
 * single-node mode there is no store and every store_* call with a NULL
 * store does nothing). The modules that own the data tell the store of
 * each change; the store keeps a mirror of what it wrote (so that it can
 * write everything again when Redis comes back empty) and flushes the
 * changes of each agent in one Lua script per loop turn (pipelined, one
 * EVALSHA per agent with changes), applied only while this node holds the
 * agent's lease (PREFIXlease:agent:USER == this node's id: fencing).
 *
 * Keys (see docs/cluster.md, "Key schema"):
 *	PREFIXagent:USER	hash: app, ep, tok (sealed), texp, turl, cred
 *				(sealed), next, u (the UCWA snapshot, no
 *				secrets; at write version 5 its head, the rest
 *				in um), p (presence), s:GWSID (a session row),
 *				o:GWSID (the session's unconfirmed outgoing
 *				messages: write version 5), c:CLIENTID (a
 *				CometD client)
 *	PREFIXq:USER:CLIENTID	list: the client's notifications not yet
 *				acknowledged, "ID JSON", oldest first, capped
 *
 * Where losing a write would lose or duplicate something, the caller
 * passes a store_done callback and goes on only when it ran: it runs once
 * the script that carries the change was answered (STORE_OK), refused by
 * the fence (STORE_FENCED: another node or none holds the lease) or lost
 * (STORE_FAILED: Redis unavailable, queue full; the agent is written again
 * in full when Redis is ready). It never runs from within the call that
 * registered it. Those calls return 1 when done will run, 0 when the
 * caller must go on at once: no store (single node), or Redis not ready
 * (the write waits in redis.c's bounded queue, and waiting for it would
 * stall the agent for as long as Redis is down).
 */
#ifndef UCGW_STORE_H
#define UCGW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "util.h"

#define STORE_MAX_ROW	 (256 * 1024) /* bytes of one encoded session row or client */
#define STORE_MAX_NOTE	 (64 * 1024)  /* bytes of one stored notification */
#define STORE_MAX_SUBS	 64	      /* subscriptions of one client */
#define STORE_MAX_FIELD	 4096	      /* bytes of an href, token or password */
#define STORE_MAX_OUT	 1000	      /* unconfirmed outgoing messages of a session */
#define STORE_MAX_UDATA	 256	      /* user data pairs of a session */
#define STORE_MAX_CLIENT 256	      /* CometD clients of an agent */
#define STORE_MAX_RIDS	 64	      /* request ids of delivered messages of a session */

struct redis;
struct seal;

/* One outgoing message not yet confirmed by UCWA. */
struct store_out {
	char *opid;
	char *location; /* 201 Location, once known; else NULL */
	char *text;
	char *rid; /* the X-Request-Id of its SendMessage, or NULL */
};

/* One IM session row (the session table's row and the IM layer's part). */
struct store_session {
	char *id;	    /* GWS session id */
	int dir;	    /* enum session_dir */
	int state;	    /* enum session_state */
	int announced;	    /* the desktop has heard of it */
	char *remote_uri;   /* may be NULL */
	char *remote_phone; /* may be NULL */
	char *conversation; /* UCWA conversation href; may be NULL */
	char *operation;    /* pending startMessaging operationId; may be NULL */
	uint64_t created_ms;
	char **ud_key, **ud_json; /* user data: key, value as JSON text */
	size_t nud;
	struct store_out *out;
	size_t nout;
	char **rid_done; /* X-Request-Ids of delivered messages, oldest first */
	size_t nrid_done;
};

/* One stored notification: its CometD message id and the message as JSON. */
struct store_note {
	unsigned long long id;
	char *json;
};

/* One CometD client. */
struct store_client {
	char *id;
	char **subs;
	size_t nsubs;
	struct store_note *notes; /* not acknowledged, oldest first */
	size_t nnotes;
};

/* Everything stored of one agent, as store_load reads it back. */
struct store_state {
	char *user;
	char *app, *endpoint_id, *token, *token_url, *password, *events_next;
	char *ucwa; /* the UCWA snapshot (ucwa_saved_write without secrets), or NULL */
	uint64_t token_expires_ms; /* wall clock (util_wall_ms), 0: unknown */
	int cc_session, ready;	   /* the agent's presence; -1: not stored */
	struct store_session *sessions;
	size_t nsessions;
	struct store_client *clients;
	size_t nclients;
};

enum store_result {
	STORE_OK,     /* written */
	STORE_FENCED, /* not written: this node does not hold the agent's lease */
	STORE_FAILED, /* not written (or not known to be): Redis unavailable */
};

typedef void (*store_done)(void *arg, enum store_result, const char *why);
/* state is the caller's (store_state_free) or NULL with why (nothing stored: why NULL). */
typedef void (*store_load_cb)(void *arg, struct store_state *, const char *why);

struct store;

/*
 * The formats a node writes (cluster.write_version): 5, this release's
 * (version 4, and a session's unconfirmed outgoing messages in a field of
 * their own, o:GWSID, instead of inside its row: a SendMessage writes a
 * few bytes, not the row, twice); 4, what nodes of stop 25 read (the UCWA
 * snapshot as version 4, a token sealed in binary when it can be); 3, what
 * nodes of stop 24 read (snapshot version 3, every token as its text), for
 * a rolling upgrade. Every version is read.
 */
#define STORE_WRITE_VERSION	5
#define STORE_WRITE_VERSION_MIN 3

struct store_conf {
	const char *prefix;   /* cluster.prefix */
	const char *node;     /* this node's id: the lease's value */
	unsigned ttl_ms;      /* every key's expiry (cluster.state_ttl_ms) */
	unsigned max_unacked; /* notifications kept per client (cluster.max_unacked) */
	int write_version;    /* cluster.write_version (see above) */
};

struct store *store_create(
    struct event_base *, struct redis *, struct seal *, const struct store_conf *);
void store_free(struct store *);
/* What is written from now on in the formats of version v (SIGHUP; see STORE_WRITE_VERSION). */
void store_set_write_version(struct store *, int v);
/* The formats written (STORE_WRITE_VERSION without a store). */
int store_write_version(const struct store *);
/* Redis became ready or not (cluster.c's watch): ready again writes every agent in full. */
void store_redis_ready(struct store *, int ready);
/* Write the agent in full at the next flush (e.g. after the lease was acquired again). */
void store_agent_resync(struct store *, const char *user);
/* Send user's pending writes and forget it here; its keys stay for its next owner. */
void store_agent_release(struct store *, const char *user);
/* Send every pending write now (before a lease release, which must follow them). */
void store_flush(struct store *);
/* Forget the agent and delete its keys (fenced): it signed out. */
void store_agent_drop(struct store *, const char *user);
/* No callback registered with arg runs any more (its owner is going away). */
void store_forget(struct store *, void *arg);

/* The UCWA application and the endpointId it was created with. */
void store_agent_app(struct store *, const char *user, const char *app, const char *endpoint_id);
/* A new token (sealed), its expiry (wall ms) and where it is renewed. */
void store_agent_token(struct store *, const char *user, const char *token, uint64_t expires_ms,
    const char *token_url);
/* What a token renewal needs (sealed): the password. */
void store_agent_creds(struct store *, const char *user, const char *password);
/* The event channel's next href; 1 if done will run once written (see above). */
int store_agent_cursor(struct store *, const char *user, const char *next, store_done, void *arg);

/* The agent's presence: contact-centre session started, Ready. */
void store_agent_presence(struct store *, const char *user, int cc_session, int ready);
/*
 * The agent's UCWA snapshot as JSON (ucwa_saved_write, secrets left out),
 * its first head bytes what seldom changes (ucwa_saved_write_head; 0:
 * unknown). At write version 5 the head is stored in u (closed) and the
 * rest in um (opened), so that a message writes only um; store_load
 * gives the two back joined.
 */
void store_agent_ucwa(struct store *, const char *user, const char *json, size_t len, size_t head);

/* Whether a store_agent_wait now would wait (Redis ready; 0 without a store). */
int store_waitable(const struct store *);
/* cb runs once the agent's pending writes are answered; 1 if it will, 0: go on now. */
int store_agent_wait(struct store *, const char *user, store_done cb, void *arg);

/*
 * Add or replace a session row (whole) or only its unconfirmed outgoing
 * messages (!whole: nothing else of the row changed since it was last
 * put). Below write version 5 (store_write_version) the row is written
 * whole either way: the caller passes all of it; 1 if done will run once
 * written (see above).
 */
int store_session_put(struct store *, const char *user, const struct store_session *, int whole,
    store_done, void *arg);
void store_session_del(struct store *, const char *user, const char *id);
/*
 * A session row changed (whole), or only its unconfirmed outgoing
 * messages (!whole), to be written at the flush: its owner's row source is
 * called then (once, however many changes this loop turn made; whole if
 * any mark was) and puts it with store_session_put, or nothing when the
 * session is gone. A put or delete of the row meanwhile supersedes the
 * mark (a put of the messages only, a mark of the messages only).
 */
typedef void (*store_row_cb)(void *arg, const char *user, const char *id, int whole);
void store_set_row_source(struct store *, store_row_cb, void *arg);
void store_session_mark(struct store *, const char *user, const char *id, int whole);

/* Add or replace a CometD client (its subscriptions). */
void store_client_put(
    struct store *, const char *user, const char *client, const char *const *subs, size_t nsubs);
/* Forget a client and its notifications. */
void store_client_del(struct store *, const char *user, const char *client);
/* Append a notification not yet acknowledged (the oldest beyond the cap are dropped). */
void store_note_push(struct store *, const char *user, const char *client, unsigned long long id,
    const char *json, size_t len);
/* The client acknowledged every notification up to id. */
void store_note_ack(struct store *, const char *user, const char *client, unsigned long long id);

/* Read everything of user back (one script, one round trip). */
void store_load(struct store *, const char *user, store_load_cb, void *arg);
void store_state_free(struct store_state *);

/* Encoding (pure; for the unit tests and the store itself). */
/* A session row as compact JSON; -1 with *why when a bound is exceeded. */
int store_code_session_encode(const struct store_session *, struct buf *out, const char **why);
/* Decode a row into *s (the caller frees with store_code_session_clear); -1 with *why. */
int store_code_session_decode(const char *, size_t, struct store_session *, const char **why);
void store_code_session_clear(struct store_session *);
/* A session's unconfirmed outgoing messages as its o:GWSID field; -1 with *why. */
int store_code_outs_encode(const struct store_out *, size_t n, struct buf *out, const char **why);
/* Decode them (the caller frees the array and its strings); -1 with *why. */
int store_code_outs_decode(const char *, size_t, struct store_out **, size_t *n, const char **why);
/* A client's subscriptions as JSON; -1 with *why when a bound is exceeded. */
int store_code_client_encode(
    const char *const *subs, size_t nsubs, struct buf *out, const char **why);
int store_code_client_decode(const char *, size_t, struct store_client *, const char **why);
/*
 * Hrefs under the agent's application (the cursor, a session's
 * conversation) are stored as "~" and what follows the application's href
 * (store_code_rel, appended to out; anything else as it is), and read back
 * against the stored application (store_code_abs, a copy; a "~" value
 * with no application is returned as it is). Absolute hrefs never start
 * with "~".
 */
void store_code_rel(struct buf *out, const char *href, const char *app);
char *store_code_abs(const char *v, const char *app);
/*
 * A UCWA token as sealed in "tok": "Bearer cwt=BASE64" whose base64 part
 * decodes and encodes back to exactly the same text is stored as NUL,
 * flags (STORE_TOKEN_URL: the URL-safe alphabet, STORE_TOKEN_PADDED: "="
 * padding), the length of the prefix (the text up to its first "="), the
 * prefix and the decoded bytes: a quarter smaller. Any other token is
 * stored as its text (as earlier nodes stored every token; a token never
 * starts with NUL), and every token when version (the formats written,
 * STORE_WRITE_VERSION) is below 4. store_code_token_decode gives the token
 * back byte for byte (a copy), NULL when the form is malformed.
 */
#define STORE_TOKEN_URL	   1
#define STORE_TOKEN_PADDED 2
void store_code_token_encode(struct buf *out, const char *tok, int version);
char *store_code_token_decode(const char *, size_t);
/* A notification list entry: "ID JSON". */
void store_code_note_encode(unsigned long long id, const char *json, size_t len, struct buf *out);
int store_code_note_decode(const char *, size_t, struct store_note *, const char **why);

#endif
