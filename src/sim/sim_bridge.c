/*
 * sim_bridge.c: conversations between two signed-in users. Each user who is
 * invited by another gets a stand-in remote party (its URI and name, in no
 * list, freed at exit). The caller's conversation has the callee's stand-in
 * as its remote, the callee's have the caller's, so every resource and
 * event is the one a remote party produces. What a stand-in hears
 * (sim_remote_log: invitation, message, typing, answers, leaving) is played
 * to the other user through the remote-side actions of sim_conv.c, so the
 * two sides see each other as a remote. Reactions never feed back: while
 * the bridge acts, what it causes is not heard again.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "sim.h"

static TAILQ_HEAD(, sim_remote) sim_standins = TAILQ_HEAD_INITIALIZER(sim_standins);
static int sim_bridge_busy; /* acting: what we cause is not heard */

/* The stand-in remote for u, made on first use. */
static struct sim_remote *
sim_bridge_standin(struct sim_user *u)
{
	struct sim_remote *r;

	TAILQ_FOREACH(r, &sim_standins, entry)
	{
		if (r->user == u)
			return r;
	}
	r = xcalloc(1, sizeof *r);
	r->uri = xstrdup(u->uri);
	r->addr = strchr(r->uri, ':') != NULL ? strchr(r->uri, ':') + 1 : r->uri;
	r->name = xstrdup(u->name != NULL ? u->name : "");
	r->answer = SIM_SILENT; /* the callee answers through the bridge */
	r->user = u;
	TAILQ_INSERT_TAIL(&sim_standins, r, entry);
	return r;
}

/* Whether u has an application that would get an invitation now. */
static int
sim_bridge_reachable(struct sim_user *u)
{
	struct sim_app *a;

	TAILQ_FOREACH(a, &u->apps, entry)
	{
		if (a->available && a->nconvs < (unsigned)simg.cfg->max_conversations)
			return 1;
	}
	return 0;
}

/* The remote for a startMessaging to another user; NULL when to is no user, the
 * caller, or a user nobody can reach now (the invitation fails DestinationNotFound). */
struct sim_remote *
sim_bridge_remote(struct sim_user *caller, const char *to)
{
	struct sim_user *u = sim_user_find(to);

	if (u == NULL || u == caller)
		return NULL;
	if (!sim_bridge_reachable(u)) {
		log_info("bridge: %s invites %s: no available application", caller->uri, u->uri);
		return NULL;
	}
	return sim_bridge_standin(u);
}

/* Play what user y did in its conversation with x (r stands in for x) to x. */
static const char *
sim_bridge_play(
    struct sim_remote *r, struct sim_user *y, const char *type, const char *text, const char *ctype)
{
	struct sim_user *x = r->user;
	struct sim_remote *ry = sim_bridge_standin(y);
	int html = ctype != NULL && strncasecmp(ctype, "text/html", 9) == 0;

	if (strcmp(type, "invitation") == 0) {
		const char *subject = sim_conv_remote_subject(r, y, &html);

		return sim_conv_remote_invite(ry, x, text, subject, html);
	}
	if (strcmp(type, "message") == 0)
		return sim_conv_remote_message(ry, x, text, html, NULL);
	if (strcmp(type, "typing") == 0)
		return sim_conv_remote_typing(ry, x);
	if (strcmp(type, "accepted") == 0)
		sim_conv_remote_settle(ry, x, "Success", NULL);
	else if (strcmp(type, "declined") == 0) {
		sim_conv_remote_settle(ry, x, "Declined", NULL);
		sim_conv_remote_settle(r, y, NULL, "Canceled"); /* y's other endpoints */
	} else if (strcmp(type, "invitation_expired") == 0)
		sim_conv_remote_settle(ry, x, "Timeout", NULL);
	else if (strcmp(type, "cancelled") == 0)
		sim_conv_remote_settle(ry, x, NULL, "Canceled");
	else if ((strcmp(type, "left") == 0 || strcmp(type, "dropped") == 0) &&
	    sim_conv_remote_leave(ry, x) != NULL)
		sim_conv_remote_settle(ry, x, NULL, "Canceled");
	return NULL;
}

/* A stand-in heard something from user "from": play it to the user it stands in for. */
void
sim_bridge_hear(struct sim_remote *r, const char *type, const char *from, const char *text,
    size_t len, const char *ctype)
{
	struct sim_user *y = sim_user_find(from);
	const char *err;
	char *t;

	if (sim_bridge_busy || y == NULL)
		return;
	t = xstrndup(text != NULL ? text : "", text != NULL ? len : 0);
	sim_bridge_busy = 1;
	err = sim_bridge_play(r, y, type, t, ctype);
	sim_bridge_busy = 0;
	if (err != NULL)
		log_info("bridge: %s %s to %s: %s", y->uri, type, r->uri, err);
	free(t);
}

/* Free the stand-ins (after every application, so no conversation uses them). */
void
sim_bridge_free(void)
{
	struct sim_remote *r;

	while ((r = TAILQ_FIRST(&sim_standins)) != NULL) {
		TAILQ_REMOVE(&sim_standins, r, entry);
		free(r->uri);
		free(r->name);
		free(r);
	}
}
