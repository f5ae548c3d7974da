/*
 * session.c: the session table. A session is created for an agent only
 * when the agent has none; its GWS id is 32 characters of [0-9A-Z] from
 * the CSPRNG, the published form. The table owns every session; the
 * indexes hold borrowed pointers and are kept in step by the bind and
 * remove functions, the only places that change them.
 */
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "session.h"
#include "util.h"

struct session_table {
	struct hmap *by_id;
	struct hmap *by_agent;
	struct hmap *by_conversation;
	struct hmap *by_operation;
};

/* An empty table. */
struct session_table *
session_table_create(void)
{
	struct session_table *t = xcalloc(1, sizeof *t);

	t->by_id = hmap_create();
	t->by_agent = hmap_create();
	t->by_conversation = hmap_create();
	t->by_operation = hmap_create();
	return t;
}

/* Free one session's memory (already unindexed). */
static void
session_free(struct session *s)
{
	for (size_t i = 0; i < s->nuserdata; i++) {
		free(s->userdata[i].key);
		free(s->userdata[i].json);
	}
	free(s->userdata);
	free(s->agent);
	free(s->remote_uri);
	free(s->remote_phone);
	free(s->conversation);
	free(s->operation);
	free(s);
}

/* hmap_each callback: free a session. */
static void
session_free_cb(const char *key, void *value, void *arg)
{
	session_free(value);
}

/* Free the table and every session in it. */
void
session_table_free(struct session_table *t)
{
	if (t == NULL)
		return;
	hmap_each(t->by_id, session_free_cb, NULL);
	hmap_free(t->by_id);
	hmap_free(t->by_agent);
	hmap_free(t->by_conversation);
	hmap_free(t->by_operation);
	free(t);
}

size_t
session_table_count(const struct session_table *t)
{
	return hmap_count(t->by_id);
}

/* Create a session for agent unless it already has one. */
struct session *
session_new(struct session_table *t, const char *agent, enum session_dir dir, const char **cause)
{
	return session_new_as(t, agent, dir, NULL, cause);
}

/* The same with a given id (a take-over keeps the desktop's); NULL: a new random one. */
struct session *
session_new_as(struct session_table *t, const char *agent, enum session_dir dir, const char *id,
    const char **cause)
{
	struct session *s;

	if (hmap_get(t->by_agent, agent) != NULL) {
		*cause = "Invalid state: the agent already has an IM session";
		return NULL;
	}
	if (id != NULL && (strlen(id) != SESSION_ID_LEN || hmap_get(t->by_id, id) != NULL)) {
		*cause = "Invalid state: the IM session id is malformed or in use";
		return NULL;
	}
	s = xcalloc(1, sizeof *s);
	if (id != NULL)
		memcpy(s->id, id, SESSION_ID_LEN + 1);
	else
		do
			util_random_id(s->id, SESSION_ID_LEN, UTIL_ALNUM_UPPER);
		while (hmap_get(t->by_id, s->id) != NULL);
	s->agent = xstrdup(agent);
	s->dir = dir;
	s->state = dir == SESSION_INCOMING ? SESSION_ALERTING : SESSION_INITIATING;
	s->created_ms = util_wall_ms();
	hmap_put(t->by_id, s->id, s);
	hmap_put(t->by_agent, agent, s);
	return s;
}

/* Replace the indexed string *field of s in index with value (NULL clears). */
static void
session_rebind(struct hmap *index, struct session *s, char **field, const char *value)
{
	if (*field != NULL && hmap_get(index, *field) == s)
		hmap_del(index, *field);
	free(*field);
	*field = value ? xstrdup(value) : NULL;
	if (value != NULL)
		hmap_put(index, value, s);
}

void
session_bind_conversation(struct session_table *t, struct session *s, const char *href)
{
	session_rebind(t->by_conversation, s, &s->conversation, href);
}

void
session_bind_operation(struct session_table *t, struct session *s, const char *opid)
{
	session_rebind(t->by_operation, s, &s->operation, opid);
}

/* Unindex and free s. */
void
session_remove(struct session_table *t, struct session *s)
{
	session_bind_conversation(t, s, NULL);
	session_bind_operation(t, s, NULL);
	if (hmap_get(t->by_agent, s->agent) == s)
		hmap_del(t->by_agent, s->agent);
	hmap_del(t->by_id, s->id);
	session_free(s);
}

/* The agent's session with this id; NULL if unknown or another agent's. */
struct session *
session_find(const struct session_table *t, const char *agent, const char *id)
{
	struct session *s = hmap_get(t->by_id, id);

	if (s == NULL || strcmp(s->agent, agent) != 0)
		return NULL;
	return s;
}

struct session *
session_of_agent(const struct session_table *t, const char *agent)
{
	return hmap_get(t->by_agent, agent);
}

struct session *
session_by_conversation(const struct session_table *t, const char *href)
{
	return hmap_get(t->by_conversation, href);
}

struct session *
session_by_operation(const struct session_table *t, const char *opid)
{
	return hmap_get(t->by_operation, opid);
}

/* Record the other party. */
void
session_set_remote(struct session *s, const char *uri, const char *phone)
{
	free(s->remote_uri);
	free(s->remote_phone);
	s->remote_uri = uri ? xstrdup(uri) : NULL;
	s->remote_phone = phone ? xstrdup(phone) : NULL;
}

/* Index of key in the user data, or -1. */
static long
session_userdata_index(const struct session *s, const char *key)
{
	for (size_t i = 0; i < s->nuserdata; i++) {
		if (strcmp(s->userdata[i].key, key) == 0)
			return (long)i;
	}
	return -1;
}

/* Add or replace one user-data pair. */
int
session_userdata_put(struct session *s, const char *key, const char *json)
{
	long i = session_userdata_index(s, key);

	if (i >= 0) {
		free(s->userdata[i].json);
		s->userdata[i].json = xstrdup(json);
		return 0;
	}
	if (s->nuserdata >= SESSION_MAX_USERDATA)
		return -1;
	s->userdata = xreallocarray(s->userdata, s->nuserdata + 1, sizeof *s->userdata);
	s->userdata[s->nuserdata].key = xstrdup(key);
	s->userdata[s->nuserdata].json = xstrdup(json);
	s->nuserdata++;
	return 0;
}

/* Bytes of the user data; see session.h. */
size_t
session_userdata_bytes(const struct session *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nuserdata; i++)
		n += strlen(s->userdata[i].key) + strlen(s->userdata[i].json);
	return n;
}

/* Remove one user-data key, keeping the order of the rest. */
int
session_userdata_del(struct session *s, const char *key)
{
	long i = session_userdata_index(s, key);

	if (i < 0)
		return -1;
	free(s->userdata[i].key);
	free(s->userdata[i].json);
	memmove(&s->userdata[i], &s->userdata[i + 1],
	    (s->nuserdata - (size_t)i - 1) * sizeof *s->userdata);
	s->nuserdata--;
	return 0;
}

const char *
session_userdata_get(const struct session *s, const char *key)
{
	long i = session_userdata_index(s, key);

	return i >= 0 ? s->userdata[i].json : NULL;
}

/* The GWS name of a state. */
const char *
session_state_name(enum session_state st)
{
	static const char *const names[] = { "Initiating", "Alerting", "Talking", "Completed" };

	return names[st];
}

/* hmap_each callback: count a session under its state. */
static void
session_count_cb(const char *key, void *value, void *arg)
{
	const struct session *s = value;
	unsigned *counts = arg;

	counts[s->state]++;
}

/* How many sessions are in each state (counts has SESSION_NSTATES entries). */
void
session_table_count_states(const struct session_table *t, unsigned *counts)
{
	hmap_each(t->by_id, session_count_cb, counts);
}
