/*
 * sim_profile.c: server profiles. A profile switches behaviours that
 * the UCWA sources allow and the published samples do not show (no
 * operationId echo, events before the 201, no "started" message events,
 * absolute hrefs, a late or missing first-message event, unknown and
 * malformed events, frequent empty releases, short tokens and 401s in a
 * conversation, the shapes of a remote leaving). The parts consult
 * sim_profile(user); this file reads, writes and applies the href forms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* One enumerated member: its names, in enum order. */
struct sim_profile_enum {
	const char *key;
	const char *const *names;
	size_t off;
};

static const char *const sim_hrefs_names[] = { "relative", "absolute", "mixed", NULL };
static const char *const sim_first_names[] = { "normal", "late", "never", NULL };
static const char *const sim_leave_names[] = { "both", "conversation", "participant", NULL };

static const struct sim_profile_enum sim_profile_enums[] = {
	{ "hrefs", sim_hrefs_names, offsetof(struct sim_profile, hrefs) },
	{ "first_message_event", sim_first_names, offsetof(struct sim_profile, first) },
	{ "remote_leave", sim_leave_names, offsetof(struct sim_profile, leave) },
};

/* One integer member and its range (0 always allowed: off). */
struct sim_profile_int {
	const char *key;
	long long min, max;
	size_t off;
};

static const struct sim_profile_int sim_profile_ints[] = {
	{ "events_before_201_ms", 1, 60000, offsetof(struct sim_profile, early_201_ms) },
	{ "first_message_delay_ms", 1, 60000, offsetof(struct sim_profile, first_delay_ms) },
	{ "empty_release_ms", 100, 600000, offsetof(struct sim_profile, empty_release_ms) },
	{ "token_lifetime_s", 1, 86400, offsetof(struct sim_profile, token_lifetime_s) },
	{ "token_expire_every", 1, 1000, offsetof(struct sim_profile, token_expire_every) },
};

/* The profile user u follows. */
const struct sim_profile *
sim_profile(const struct sim_user *u)
{
	return u != NULL && u->own_profile ? &u->profile : &simg.profile;
}

/* Read an enumerated member m into p; NULL or why not. */
static const char *
sim_profile_enum_set(const struct json_member *m, struct sim_profile *p, int *done)
{
	for (size_t i = 0; i < nitems(sim_profile_enums); i++) {
		const struct sim_profile_enum *e = &sim_profile_enums[i];

		if (strcmp(m->key, e->key) != 0)
			continue;
		*done = 1;
		for (int k = 0; m->val->type == JSON_STRING && e->names[k] != NULL; k++) {
			if (strcmp(m->val->u.str.s, e->names[k]) == 0) {
				*(int *)(void *)((char *)p + e->off) = k;
				return NULL;
			}
		}
		return "a string among the documented values";
	}
	return NULL;
}

/* Read an integer member m into p; NULL or why not. */
static const char *
sim_profile_int_set(const struct json_member *m, struct sim_profile *p, int *done)
{
	for (size_t i = 0; i < nitems(sim_profile_ints); i++) {
		const struct sim_profile_int *n = &sim_profile_ints[i];

		if (strcmp(m->key, n->key) != 0)
			continue;
		*done = 1;
		if (m->val->type != JSON_INT ||
		    (m->val->u.i != 0 && (m->val->u.i < n->min || m->val->u.i > n->max)))
			return "0 (off) or an integer in the documented range";
		*(long long *)(void *)((char *)p + n->off) = m->val->u.i;
		return NULL;
	}
	return NULL;
}

/* Read a profile object into p (members absent: as published). */
int
sim_profile_parse(const struct json *o, struct sim_profile *p, char *err, size_t errlen)
{
	struct sim_profile np;

	memset(&np, 0, sizeof np);
	if (o == NULL || o->type != JSON_OBJECT) {
		snprintf(err, errlen, "a profile is a JSON object");
		return -1;
	}
	for (size_t i = 0; i < o->u.obj.n; i++) {
		const struct json_member *m = &o->u.obj.m[i];
		const char *why = NULL;
		int done = 0;

		if (strcmp(m->key, "echo_operation_id") == 0 ||
		    strcmp(m->key, "message_started") == 0 || strcmp(m->key, "junk_events") == 0) {
			done = 1;
			if (m->val->type != JSON_BOOL)
				why = "true or false";
			else if (m->key[0] == 'e')
				np.no_echo_opid = !m->val->u.b;
			else if (m->key[0] == 'm')
				np.no_message_started = !m->val->u.b;
			else
				np.junk = m->val->u.b;
		}
		if (!done)
			why = sim_profile_enum_set(m, &np, &done);
		if (!done)
			why = sim_profile_int_set(m, &np, &done);
		if (!done)
			why = "an unknown member (see docs/ucwa-sim.md)";
		if (why != NULL) {
			snprintf(err, errlen, "profile \"%s\": %s", m->key, why);
			return -1;
		}
	}
	if (np.first == SIM_FIRST_LATE && np.first_delay_ms == 0)
		np.first_delay_ms = 1000;
	*p = np;
	return 0;
}

/* A profile as the object that would set it (only what differs from published). */
void
sim_profile_write(struct jw *w, const struct sim_profile *p)
{
	jw_obj_begin(w);
	if (p->no_echo_opid)
		jw_kbool(w, "echo_operation_id", 0);
	if (p->no_message_started)
		jw_kbool(w, "message_started", 0);
	if (p->junk)
		jw_kbool(w, "junk_events", 1);
	for (size_t i = 0; i < nitems(sim_profile_enums); i++) {
		int v = *(const int *)(const void *)((const char *)p + sim_profile_enums[i].off);

		if (v != 0)
			jw_kstr(w, sim_profile_enums[i].key, sim_profile_enums[i].names[v]);
	}
	for (size_t i = 0; i < nitems(sim_profile_ints); i++) {
		long long v =
		    *(const long long *)(const void *)((const char *)p + sim_profile_ints[i].off);

		if (v != 0)
			jw_kint(w, sim_profile_ints[i].key, v);
	}
	jw_obj_end(w);
}

/* In a JSON body, every "href":"/... becomes "href":"<origin>/... ("absolute" only:
 * "mixed" keeps bodies host-relative and makes only the Location headers absolute). */
void
sim_profile_body(struct sim_user *u, struct http_req *req, const char *ctype, struct buf *b)
{
	static const char pat[] = "\"href\":\"/";
	const struct sim_profile *p = sim_profile(u);
	struct buf out, origin;
	const char *s, *hit;

	if (p->hrefs != SIM_HREFS_ABSOLUTE || b == NULL || b->len == 0 || ctype == NULL ||
	    strstr(ctype, "json") == NULL)
		return;
	buf_init(&out);
	buf_init(&origin);
	sim_auth_origin(req, &origin);
	for (s = b->data; (hit = strstr(s, pat)) != NULL; s = hit + sizeof pat - 2) {
		buf_add(&out, s, (size_t)(hit - s) + sizeof pat - 2);
		buf_add(&out, origin.data, origin.len);
	}
	buf_addstr(&out, s);
	buf_free(&origin);
	buf_free(b);
	*b = out;
}

/* Location: path (host-relative), or absolute for "absolute" and "mixed". */
void
sim_profile_location(struct sim_user *u, struct http_req *req, const char *path)
{
	struct buf loc;

	buf_init(&loc);
	if (sim_profile(u)->hrefs != SIM_HREFS_RELATIVE)
		sim_auth_origin(req, &loc);
	buf_addstr(&loc, path);
	http_req_add_header(req, "Location", loc.data);
	buf_free(&loc);
}
