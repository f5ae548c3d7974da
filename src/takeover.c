/*
 * takeover.c: cluster mode's take-over and hand-over (see takeover.h and
 * docs/cluster.md, "Take-over"). When this node acquires an agent's lease,
 * the agent's stored state is loaded (one round trip) and, if there is
 * one, the agent is rebuilt from it: its UCWA application resumed with
 * the stored token at the stored cursor (signin.c, ucwa_resume.c), its IM
 * session put back with its id (gws_im.c), its CometD clients with their
 * ids, subscriptions and unacknowledged notifications (cometd.c); this
 * node's mirror of the store is filled and written in full; only then are
 * the agent's waiting requests served (owner_loaded). When the agent
 * leaves this node (drain, lease lost) it is handed over: freed here
 * without signing out or ending anything, its stored state left to the
 * next owner.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "cometd.h"
#include "gws_im.h"
#include "json.h"
#include "jw.h"
#include "log.h"
#include "owner.h"
#include "signin.h"
#include "store.h"
#include "takeover.h"
#include "ucwa.h"

#define TAKEOVER_MAX_SNAPSHOT (1024 * 1024) /* bytes of a stored UCWA snapshot */
#define TAKEOVER_IDLE_WAIT_MS 2000	    /* a drain waits this long for an agent's commands */
#define TAKEOVER_IDLE_POLL_MS 5		    /* and looks again this often */

/* One agent's state being loaded. */
struct takeover_load {
	struct takeover *tk;
	char *user;
	LIST_ENTRY(takeover_load) entry;
};

struct takeover {
	struct store *store;
	struct owner *owner;
	struct agents *agents;
	struct gws_im *im;
	struct cometd *cometd;
	struct signin *signin;
	LIST_HEAD(, takeover_load) loads;
	struct event *handing; /* drain: agents with commands under way wait on it */
	uint64_t hand_deadline;
	char *hand_why;
};

static void takeover_hand_step(evutil_socket_t, short, void *);

/* Create the take-over for these modules (none owned). */
struct takeover *
takeover_create(struct event_base *base, struct store *st, struct owner *o, struct agents *agents,
    struct gws_im *im, struct cometd *cd, struct signin *si)
{
	struct takeover *tk = xcalloc(1, sizeof *tk);

	tk->store = st;
	tk->owner = o;
	tk->agents = agents;
	tk->im = im;
	tk->cometd = cd;
	tk->signin = si;
	LIST_INIT(&tk->loads);
	tk->handing = evtimer_new(base, takeover_hand_step, tk);
	return tk;
}

/* Forget a load (its answer, if any, is not waited for any more). */
static void
takeover_load_free(struct takeover_load *ld)
{
	LIST_REMOVE(ld, entry);
	store_forget(ld->tk->store, ld);
	free(ld->user);
	free(ld);
}

/* Free; loads under way are forgotten. */
void
takeover_free(struct takeover *tk)
{
	if (tk == NULL)
		return;
	while (!LIST_EMPTY(&tk->loads))
		takeover_load_free(LIST_FIRST(&tk->loads));
	event_free(tk->handing);
	free(tk->hand_why);
	free(tk);
}

/* The UCWA snapshot of st (its JSON, then the sealed fields over it); -1 with *why. */
static int
takeover_saved(const struct store_state *st, struct ucwa_saved *s, char **why)
{
	struct json_limits lim = { .max_bytes = TAKEOVER_MAX_SNAPSHOT, .no_positions = 1 };
	struct json_error err;
	struct json_doc *d;

	memset(s, 0, sizeof *s);
	if (st->ucwa != NULL) {
		if ((d = json_parse(st->ucwa, strlen(st->ucwa), &lim, &err)) == NULL) {
			xasprintf(why, "the stored UCWA snapshot is not JSON: %s", err.msg);
			return -1;
		}
		if (ucwa_saved_parse(json_root(d), s, why) != 0) {
			json_doc_free(d);
			return -1;
		}
		json_doc_free(d);
	} else
		s->user = xstrdup(st->user);
	if (st->password == NULL || s->user == NULL || strcmp(s->user, st->user) != 0) {
		*why = xstrdup("no stored credentials for this agent");
		return -1;
	}
	s->password = xstrdup(st->password);
	if (st->token != NULL && st->app != NULL && st->events_next != NULL) {
		free(s->token);
		s->token = xstrdup(st->token);
		s->token_expires = (long long)(st->token_expires_ms / 1000);
		free(s->app);
		s->app = xstrdup(st->app);
		free(s->events);
		s->events = xstrdup(st->events_next); /* the cursor written last */
	}
	if (st->endpoint_id != NULL) {
		free(s->endpoint_id);
		s->endpoint_id = xstrdup(st->endpoint_id);
	}
	if (st->token_url != NULL) {
		free(s->token_url);
		s->token_url = xstrdup(st->token_url);
	}
	return 0;
}

/* Fill this node's mirror of the store with what was loaded (then written in full). */
static void
takeover_mirror(struct takeover *tk, const struct store_state *st)
{
	const char *u = st->user;

	store_agent_app(tk->store, u, st->app, st->endpoint_id);
	store_agent_token(tk->store, u, st->token, st->token_expires_ms, st->token_url);
	store_agent_creds(tk->store, u, st->password);
	store_agent_cursor(tk->store, u, st->events_next, NULL, NULL);
	if (st->ucwa != NULL)
		store_agent_ucwa(tk->store, u, st->ucwa, strlen(st->ucwa), 0);
}

/* Rebuild the agent from st; -1 (nothing made) with *why. */
static int
takeover_restore(struct takeover *tk, struct store_state *st, char **why)
{
	struct ucwa_saved saved;
	struct agent *a;
	const char *cause;

	if (takeover_saved(st, &saved, why) != 0) {
		ucwa_saved_free(&saved);
		return -1;
	}
	if (signin_resume(tk->signin, &saved) != 0) {
		ucwa_saved_free(&saved);
		*why = xstrdup("the agent cannot be resumed here");
		return -1;
	}
	ucwa_saved_free(&saved);
	a = agents_find(tk->agents, st->user);
	if (st->cc_session >= 0) {
		a->cc_session = st->cc_session;
		a->ready = st->ready;
		agents_presence_changed(tk->agents, a);
	}
	takeover_mirror(tk, st);
	for (size_t i = 0; i < st->nsessions; i++) {
		if (gws_im_restore(tk->im, a, &st->sessions[i], &cause) != 0)
			log_warn("takeover: agent %s: IM session %s not restored: %s", st->user,
			    st->sessions[i].id, cause);
	}
	for (size_t i = 0; i < st->nclients; i++) {
		if (cometd_restore(tk->cometd, st->user, &st->clients[i], &cause) != 0)
			log_warn("takeover: agent %s: CometD client %.8s... not restored: %s",
			    st->user, st->clients[i].id, cause);
	}
	log_info("takeover: agent %s: carried on from the store (%zu IM sessions, %zu CometD "
		 "clients)",
	    st->user, st->nsessions, st->nclients);
	return 0;
}

/* The agent's stored state arrived (or nothing, or a failure). */
static void
takeover_loaded(void *arg, struct store_state *st, const char *why)
{
	struct takeover_load *ld = arg;
	struct takeover *tk = ld->tk;
	char *user = xstrdup(ld->user), *cause = NULL;

	takeover_load_free(ld);
	if (!owner_holds(tk->owner, user))
		log_info("takeover: agent %s: lease gone while loading; not restored", user);
	else if (agents_find(tk->agents, user) != NULL)
		log_debug("takeover: agent %s: here already", user);
	else if (st == NULL && why != NULL)
		log_warn("takeover: agent %s: its stored state cannot be read (%s): it signs in "
			 "afresh",
		    user, why);
	else if (st != NULL && takeover_restore(tk, st, &cause) != 0)
		log_warn("takeover: agent %s: not restored (%s): it signs in afresh", user, cause);
	free(cause);
	store_state_free(st);
	store_agent_resync(tk->store, user); /* everything here, written in full */
	owner_loaded(tk->owner, user);
	free(user);
}

/* The owner's acquired hook: load the agent's state, unless it is here already. */
void
takeover_acquired(void *arg, const char *user)
{
	struct takeover *tk = arg;
	struct takeover_load *ld;

	if (agents_find(tk->agents, user) != NULL) { /* re-taken after Redis was away */
		store_agent_resync(tk->store, user);
		owner_loaded(tk->owner, user);
		return;
	}
	ld = xcalloc(1, sizeof *ld);
	ld->tk = tk;
	ld->user = xstrdup(user);
	LIST_INSERT_HEAD(&tk->loads, ld, entry);
	store_load(tk->store, user, takeover_loaded, ld);
}

/* Hand one agent over: freed here, its stored state left to the next owner. */
static void
takeover_hand_over(struct takeover *tk, struct agent *a, const char *why)
{
	agents_hand_over(tk->agents, a, why); /* (its CometD clients here go with it: gws_im) */
}

/* The owner's lost hook: the agent is another node's now. */
void
takeover_lost(void *arg, const char *user, const char *why)
{
	struct takeover *tk = arg;
	struct agent *a = agents_find(tk->agents, user);

	if (a != NULL)
		takeover_hand_over(tk, a, why);
}

/*
 * Drain: hand over each agent with no UCWA command under way (its answer
 * could not be told to the desktop afterwards); look again shortly for the
 * others, until the deadline hands over what is left.
 */
static void
takeover_hand_step(evutil_socket_t fd, short what, void *arg)
{
	struct takeover *tk = arg;
	struct timeval tv = { 0, TAKEOVER_IDLE_POLL_MS * 1000 };
	int late = util_now_ms() >= tk->hand_deadline, left = 0;
	struct agent **v;
	size_t n = agents_list(tk->agents, &v);

	for (size_t i = 0; i < n; i++) {
		if (!late && gws_im_busy(tk->im, v[i]->name))
			left++;
		else
			takeover_hand_over(tk, v[i], tk->hand_why);
	}
	free(v);
	if (late && n > 0)
		log_warn("takeover: drain: commands still under way after %u ms; handed over "
			 "anyway",
		    TAKEOVER_IDLE_WAIT_MS);
	if (left > 0)
		evtimer_add(tk->handing, &tv);
}

/* Drain: hand every agent over (each releases its lease, after its last writes). */
void
takeover_hand_over_all(struct takeover *tk, const char *why)
{
	free(tk->hand_why);
	tk->hand_why = xstrdup(why);
	tk->hand_deadline = util_now_ms() + TAKEOVER_IDLE_WAIT_MS;
	takeover_hand_step(-1, 0, tk);
}
