/*
 * session.h: the session table: every live GWS IM session, indexed by its
 * GWS id, by its agent (one session per agent at a time), by its UCWA
 * conversation href and by the operationId of its pending startMessaging.
 * Lookups by id always name the agent too, so one agent can never reach
 * another agent's session: a foreign id looks exactly like an unknown one.
 */
#ifndef UCGW_SESSION_H
#define UCGW_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "session_state.h" /* enum session_state, shared with xlate */

#define SESSION_ID_LEN		   32
#define SESSION_MAX_USERDATA	   256
#define SESSION_MAX_USERDATA_KEY   256	 /* bytes of one key */
#define SESSION_MAX_USERDATA_VALUE 16384 /* bytes of one value, as JSON */
#define SESSION_MAX_USERDATA_BYTES 65536 /* bytes of all keys and values of a session */

enum session_dir { SESSION_OUTGOING, SESSION_INCOMING };

struct im_sess;

struct session_kv {
	char *key;
	char *json; /* the value as JSON text (string, number, ...) */
};

struct session {
	char id[SESSION_ID_LEN + 1];
	char *agent;
	enum session_dir dir;
	enum session_state state;
	char *remote_uri;   /* sip:... of the other party */
	char *remote_phone; /* the GWS phone number of the other party */
	char *conversation; /* UCWA conversation href (indexed) */
	char *operation;    /* UCWA operationId (indexed) */
	struct session_kv *userdata;
	size_t nuserdata;
	uint64_t created_ms;
	struct im_sess *im; /* the IM layer's state of it: gws_im.c */
};

struct session_table;

struct session_table *session_table_create(void);
void session_table_free(struct session_table *);
size_t session_table_count(const struct session_table *);
/* Add the number of sessions in each state to counts[SESSION_NSTATES]. */
void session_table_count_states(const struct session_table *, unsigned *counts);

/* A new session for agent; NULL with *cause if the agent already has one. */
struct session *session_new(
    struct session_table *, const char *agent, enum session_dir, const char **cause);
/* The same with a given id (SESSION_ID_LEN characters, not in use); NULL: a random one. */
struct session *session_new_as(struct session_table *, const char *agent, enum session_dir,
    const char *id, const char **cause);
/* Unindex and free a session. */
void session_remove(struct session_table *, struct session *);

struct session *session_find(const struct session_table *, const char *agent, const char *id);
struct session *session_of_agent(const struct session_table *, const char *agent);
struct session *session_by_conversation(const struct session_table *, const char *href);
struct session *session_by_operation(const struct session_table *, const char *opid);

/* Set (or clear with NULL) the indexed links to UCWA. */
void session_bind_conversation(struct session_table *, struct session *, const char *href);
void session_bind_operation(struct session_table *, struct session *, const char *opid);
void session_set_remote(struct session *, const char *uri, const char *phone);

/* User data: add or replace (order of first insertion kept); -1 when full. */
int session_userdata_put(struct session *, const char *key, const char *json);
/* Remove a key; -1 if absent. */
int session_userdata_del(struct session *, const char *key);
const char *session_userdata_get(const struct session *, const char *key);
/* Bytes of the user data (keys and values as JSON). */
size_t session_userdata_bytes(const struct session *);

const char *session_state_name(enum session_state);

#endif
