/*
 * sim_remote.c: the remote parties users talk to. Each has a behaviour
 * (answer invitations by accepting after accept_ms, declining, or staying
 * silent; echo each message back; make every delivery fail), changeable at
 * run time through the control API, and a log of what it received
 * (messages in order with timestamps, invitations, answers, typing), kept
 * as a ring of at most limits.log_entries entries.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim.h"

struct sim_rlog {
	uint64_t ts;
	char type[24];
	char *from;
	char *text; /* NULL when none */
	size_t len;
	const char *ctype; /* static, or NULL */
	uint64_t seq;
};

static TAILQ_HEAD(, sim_remote) sim_remotes = TAILQ_HEAD_INITIALIZER(sim_remotes);
static size_t sim_log_cap;
static uint64_t sim_log_seq;

/* Add one remote party. */
static struct sim_remote *
sim_remote_add(const char *uri, const char *name)
{
	struct sim_remote *r = xcalloc(1, sizeof *r);

	r->uri = xstrdup(uri);
	r->addr = r->uri + 4;
	r->name = xstrdup(name != NULL ? name : "");
	r->answer = SIM_ACCEPT;
	r->accept_ms = 50;
	r->log = xcalloc(sim_log_cap, sizeof *r->log);
	TAILQ_INSERT_TAIL(&sim_remotes, r, entry);
	return r;
}

/* Build the remote parties from the configuration. */
void
sim_remote_init(void)
{
	const struct json *arr = json_root(simg.cfg->remotes);
	char err[128];

	sim_log_cap = (size_t)simg.cfg->max_log_entries;
	for (size_t i = 0; i < arr->u.arr.n; i++) {
		const struct json *o = arr->u.arr.v[i];
		struct sim_remote *r =
		    sim_remote_add(json_get_str(o, "uri"), json_get_str(o, "name"));

		sim_remote_set(r, o, err, sizeof err);
	}
	/* Invitations to anyone else fail with DestinationNotFound. */
	sim_remote_add("sip:unknown@invalid", "")->answer = SIM_SILENT;
}

/* Free one log entry's strings. */
static void
sim_remote_log_clear(struct sim_rlog *l)
{
	free(l->from);
	free(l->text);
	l->from = l->text = NULL;
}

/* Free every remote party. */
void
sim_remote_free(void)
{
	struct sim_remote *r;

	while ((r = TAILQ_FIRST(&sim_remotes)) != NULL) {
		TAILQ_REMOVE(&sim_remotes, r, entry);
		for (size_t i = 0; i < sim_log_cap; i++)
			sim_remote_log_clear(&r->log[i]);
		free(r->log);
		free(r->uri);
		free(r->name);
		free(r);
	}
}

/* A remote by "sip:a@b" or "a@b". */
struct sim_remote *
sim_remote_find(const char *s)
{
	struct sim_remote *r;

	TAILQ_FOREACH(r, &sim_remotes, entry)
	{
		if (strcasecmp(r->uri, s) == 0 || strcasecmp(r->addr, s) == 0)
			return r;
	}
	return NULL;
}

/* Append to r's received log, dropping the oldest entry when full. */
void
sim_remote_log(struct sim_remote *r, const char *type, const char *from, const char *text,
    size_t len, const char *ctype)
{
	struct sim_rlog *l;

	if (r->user != NULL) {
		sim_bridge_hear(r, type, from, text, len, ctype);
		return;
	}
	if (r->nlog == sim_log_cap) {
		l = &r->log[r->logstart];
		r->logstart = (r->logstart + 1) % sim_log_cap;
	} else
		l = &r->log[(r->logstart + r->nlog++) % sim_log_cap];
	sim_remote_log_clear(l);
	l->ts = util_wall_ms();
	strncpy(l->type, type, sizeof l->type - 1);
	l->type[sizeof l->type - 1] = '\0';
	l->from = xstrdup(from);
	l->text = text != NULL ? xstrndup(text, len) : NULL;
	l->len = len;
	l->ctype = ctype;
	l->seq = ++sim_log_seq;
}

/* The received log as a JSON array, oldest first. */
void
sim_remote_write_log(struct jw *w, struct sim_remote *r)
{
	jw_arr_begin(w);
	for (size_t i = 0; i < r->nlog; i++) {
		struct sim_rlog *l = &r->log[(r->logstart + i) % sim_log_cap];

		jw_obj_begin(w);
		jw_kint(w, "seq", (long long)l->seq);
		jw_kint(w, "ts", (long long)l->ts);
		jw_kstr(w, "type", l->type);
		jw_kstr(w, "from", l->from);
		if (l->text != NULL) {
			jw_key(w, "text");
			jw_strn(w, l->text, l->len);
		}
		if (l->ctype != NULL)
			jw_kstr(w, "contentType", l->ctype);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* Change r's behaviour from {answer?, accept_ms?, reply?, fail?, delivery_ms?}; -1 and err if bad. */
int
sim_remote_set(struct sim_remote *r, const struct json *o, char *err, size_t errlen)
{
	const char *ans = json_get_str(o, "answer");
	const struct json *ms = json_get(o, "accept_ms"), *rep = json_get(o, "reply"),
			  *fail = json_get(o, "fail"), *dms = json_get(o, "delivery_ms");

	if (ans != NULL && strcmp(ans, "accept") && strcmp(ans, "decline") &&
	    strcmp(ans, "silent")) {
		snprintf(
		    err, errlen, "%s", "\"answer\" is one of \"accept\", \"decline\", \"silent\"");
		return -1;
	}
	if (ms != NULL && (ms->type != JSON_INT || ms->u.i < 0 || ms->u.i > 3600000)) {
		snprintf(err, errlen, "%s", "\"accept_ms\" is an integer 0-3600000");
		return -1;
	}
	if (dms != NULL && (dms->type != JSON_INT || dms->u.i < 0 || dms->u.i > 3600000)) {
		snprintf(err, errlen, "%s", "\"delivery_ms\" is an integer 0-3600000");
		return -1;
	}
	if ((rep != NULL && rep->type != JSON_BOOL) || (fail != NULL && fail->type != JSON_BOOL)) {
		snprintf(err, errlen, "%s", "\"reply\" and \"fail\" are true or false");
		return -1;
	}
	if (ans != NULL)
		r->answer = strcmp(ans, "accept") == 0 ? SIM_ACCEPT
		    : strcmp(ans, "decline") == 0      ? SIM_DECLINE
						       : SIM_SILENT;
	if (ms != NULL)
		r->accept_ms = ms->u.i;
	if (rep != NULL)
		r->reply = rep->u.b;
	if (fail != NULL)
		r->fail = fail->u.b;
	if (dms != NULL)
		r->delivery_ms = dms->u.i;
	return 0;
}

/* Behaviour and log of every remote (the control API). */
void
sim_remote_write_all(struct jw *w, int with_log)
{
	static const char *const ans[] = { "accept", "decline", "silent" };
	struct sim_remote *r;

	jw_arr_begin(w);
	TAILQ_FOREACH(r, &sim_remotes, entry)
	{
		jw_obj_begin(w);
		jw_kstr(w, "uri", r->uri);
		jw_kstr(w, "name", r->name);
		jw_kstr(w, "answer", ans[r->answer]);
		jw_kint(w, "accept_ms", r->accept_ms);
		jw_kbool(w, "reply", r->reply);
		jw_kbool(w, "fail", r->fail);
		jw_kint(w, "delivery_ms", r->delivery_ms);
		if (with_log) {
			jw_key(w, "received");
			sim_remote_write_log(w, r);
		}
		jw_obj_end(w);
	}
	jw_arr_end(w);
}
