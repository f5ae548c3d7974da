/*
 * signin.c: agents sign in to UCWA with their own credentials. A request
 * for an unknown user starts a UCWA sign-in and waits for it; requests that
 * arrive meanwhile with the same password wait too; once signed in, a
 * request is checked in constant time against SHA-256(salt || password),
 * where the salt is random per process, so no password is kept and nothing
 * is written to disk. Sign-ins in progress are bounded. A failed sign-in
 * removes the agent on a later loop turn; removing an agent (logout, idle,
 * failure) answers its waiting requests and signs it out upstream. The
 * agent's UCWA events are relayed to the IM layer by relay.c.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "log.h"
#include "relay.h"
#include "signin.h"
#include "xlate.h"

#define SIGNIN_MAX_PENDING 256

/* A request waiting for a sign-in to finish. */
struct signin_waiter {
	struct signin_agent *sa;
	auth_verify_done done;
	void *arg;
	struct signin_waiter *next;
};

/*
 * The sign-in state of one agent, changed only by signin_agent_set_state()
 * (docs/architecture.md has the transitions):
 *	NEW	just created; the sign-in starts at once
 *	PENDING	the UCWA sign-in is in progress (counted in si->pending);
 *		requests with the right password wait for it
 *	READY	signed in: requests are checked against the password hash
 *	DOOMED	the sign-in failed or UCWA was lost for good: the agent is
 *		removed by the reaper on a later loop turn, never inside the
 *		UCWA callback that failed
 *	GONE	the agent was removed: the record is unlinked and freed
 */
enum signin_state {
	SIGNIN_NEW,
	SIGNIN_PENDING,
	SIGNIN_READY,
	SIGNIN_DOOMED,
	SIGNIN_GONE,
};

static const char *const signin_state_names[] = { "new", "pending", "ready", "doomed", "gone" };

/* The sign-in record of one agent (agent->signin). */
struct signin_agent {
	struct signin *si;
	struct agent *agent; /* NULL once GONE */
	unsigned char pwhash[32];
	enum signin_state state;
	struct signin_waiter *waiters;
	struct relay_agent relay; /* the arg of the agent's UCWA callbacks */
	int handover;		  /* DOOMED because another node serves it: handed over */
	struct reap_link reap;	  /* DOOMED: removes the agent, then frees this */
};

struct signin {
	struct ucwa *ucwa;
	struct agents *agents;
	struct gws_im *im;
	struct reap *reap;
	unsigned char salt[16];
	unsigned pending; /* records in SIGNIN_PENDING */
	struct auth_verifier verifier;
	int draining; /* shutting down: no new sign-in */
};

/* The one place the sign-in state changes; keeps si->pending in step. */
static void
signin_agent_set_state(struct signin_agent *sa, enum signin_state st)
{
	log_debug("agent %s: sign-in %s -> %s", sa->agent != NULL ? sa->agent->name : "-",
	    signin_state_names[sa->state], signin_state_names[st]);
	if (sa->state == SIGNIN_PENDING)
		sa->si->pending--;
	if (st == SIGNIN_PENDING)
		sa->si->pending++;
	sa->state = st;
}

/* SHA-256(salt || password). */
static void
signin_hash(const struct signin *si, const char *password, unsigned char *out)
{
	util_sha256(si->salt, sizeof si->salt, password, strlen(password), out);
}

/* Answer every waiting request of an agent with ok (1, 0 or -1). */
static void
signin_answer(struct signin_agent *sa, int ok)
{
	struct signin_waiter *w;

	while ((w = sa->waiters) != NULL) {
		sa->waiters = w->next;
		w->done(w->arg, ok);
		free(w);
	}
}

/* Take the agent's number and names from its UCWA identity. */
static void
signin_identity(struct agent *a)
{
	const char *uri = ucwa_agent_uri(a->ucwa), *name = ucwa_agent_name(a->ucwa), *sp;
	struct xlate_party party;

	if (uri != NULL) {
		xlate_sip_to_party(xlate_current(), uri, &party);
		free(a->phone);
		a->phone = xstrdup(party.phoneNumber);
		xlate_party_free(&party);
	}
	if (name != NULL && *name != '\0') {
		sp = strchr(name, ' ');
		free(a->first_name);
		free(a->last_name);
		a->first_name = sp ? xstrndup(name, (size_t)(sp - name)) : xstrdup(name);
		a->last_name = xstrdup(sp ? sp + 1 : "");
	}
}

/* UCWA: the agent can message now. */
static void
signin_signed_in(void *arg)
{
	struct signin_agent *sa = container_of(arg, struct signin_agent, relay);

	signin_agent_set_state(sa, SIGNIN_READY);
	signin_identity(sa->agent);
	log_info("agent %s: signed in to Skype for Business", sa->agent->name);
	signin_answer(sa, 1);
}

/* The reaper: remove a DOOMED agent (unless gone already), free the record. */
static void
signin_reap(struct reap_link *l)
{
	struct signin_agent *sa = container_of(l, struct signin_agent, reap);

	if (sa->state == SIGNIN_DOOMED && sa->handover)
		agents_hand_over(
		    sa->si->agents, sa->agent, "its application is served by another node");
	else if (sa->state == SIGNIN_DOOMED)
		agents_remove(sa->si->agents, sa->agent, "Skype for Business sign-in lost");
	free(sa);
}

/* UCWA: sign-in failed, or the agent lost UCWA for good. */
static void
signin_failed(enum ucwa_failure f, const char *why, void *arg)
{
	static struct log_limit ll;
	struct signin_agent *sa = container_of(arg, struct signin_agent, relay);

	log_limited(&ll, LOG_WARN, "agent %s: Skype for Business: %s: %s", sa->agent->name,
	    ucwa_failure_name(f), why ? why : "");
	if (sa->state != SIGNIN_DOOMED)
		signin_agent_set_state(sa, SIGNIN_DOOMED);
	sa->handover = f == UCWA_FAIL_REPLACED;
	signin_answer(sa, f == UCWA_FAIL_AUTH ? 0 : -1);
	reap_later(sa->si->reap, &sa->reap, signin_reap);
}

static const struct ucwa_cbs signin_cbs = {
	.signed_in = signin_signed_in,
	.failed = signin_failed,
	.change = relay_change,
	.ended = relay_ended,
	.events = relay_events,
};

/* Removal stage SIGNIN: answer the agent's waiters, free its sign-in record. */
static void
signin_agent_removed(struct agent *a, const char *why, void *arg)
{
	struct signin_agent *sa = a->signin;
	int doomed;

	if (sa == NULL)
		return;
	doomed = sa->state == SIGNIN_DOOMED;
	signin_agent_set_state(sa, SIGNIN_GONE);
	signin_answer(sa, -1);
	a->signin = NULL;
	sa->agent = NULL;
	if (!doomed) /* else the reaper frees it */
		free(sa);
}

/* Removal stage UCWA: free the agent's UCWA link (signs out upstream). */
static void
signin_agent_unlink(struct agent *a, const char *why, void *arg)
{
	if (a->ucwa != NULL) {
		if (a->handover)
			ucwa_agent_handover(a->ucwa); /* the next owner resumes it */
		else
			ucwa_agent_free(a->ucwa);
		a->ucwa = NULL;
	}
}

/* Wait for the agent's sign-in; returns the handle. */
static void *
signin_wait(struct signin_agent *sa, auth_verify_done done, void *arg)
{
	struct signin_waiter *w = xcalloc(1, sizeof *w);

	w->sa = sa;
	w->done = done;
	w->arg = arg;
	w->next = sa->waiters;
	sa->waiters = w;
	return w;
}

/* Start signing a new agent in. */
static void *
signin_start_agent(
    struct signin *si, const char *user, const char *password, auth_verify_done done, void *arg)
{
	struct agent *a = agents_get(si->agents, user);
	struct signin_agent *sa = xcalloc(1, sizeof *sa);
	void *handle;

	sa->si = si;
	sa->agent = a;
	sa->relay.im = si->im;
	sa->relay.agent = a;
	signin_hash(si, password, sa->pwhash);
	a->signin = sa;
	handle = signin_wait(sa, done, arg);
	signin_agent_set_state(sa, SIGNIN_PENDING);
	a->ucwa = ucwa_agent_new(si->ucwa, user, password, &signin_cbs, &sa->relay);
	/* A synchronous failure answered the waiter already: no handle then. */
	return sa->waiters != NULL ? handle : NULL;
}

/* Carry an agent on from its snapshot (cluster take-over; see signin.h). */
int
signin_resume(struct signin *si, const struct ucwa_saved *saved)
{
	struct agent *a;
	struct signin_agent *sa;

	if (saved->user == NULL || saved->password == NULL ||
	    (a = agents_find(si->agents, saved->user)) != NULL)
		return -1;
	a = agents_get(si->agents, saved->user);
	sa = xcalloc(1, sizeof *sa);
	sa->si = si;
	sa->agent = a;
	sa->relay.im = si->im;
	sa->relay.agent = a;
	signin_hash(si, saved->password, sa->pwhash);
	a->signin = sa;
	signin_agent_set_state(sa, SIGNIN_PENDING);
	a->ucwa = ucwa_agent_resume(si->ucwa, saved, &signin_cbs, &sa->relay);
	return 0;
}

/* The verifier: check user/password (see the top comment). */
static void *
signin_start(void *ctx, const char *user, const char *password, auth_verify_done done, void *arg)
{
	struct signin *si = ctx;
	struct agent *a = agents_find(si->agents, user);
	struct signin_agent *sa = a ? a->signin : NULL;
	unsigned char h[32];

	if (sa == NULL) {
		if (si->draining) {
			done(arg, -1);
			return NULL;
		}
		if (si->pending >= SIGNIN_MAX_PENDING) {
			static struct log_limit ll;

			log_limited(&ll, LOG_WARN,
			    "too many sign-ins in progress; refusing %s for now", user);
			done(arg, -1);
			return NULL;
		}
		return signin_start_agent(si, user, password, done, arg);
	}
	signin_hash(si, password, h);
	if (CRYPTO_memcmp(h, sa->pwhash, sizeof h) != 0) {
		done(arg, 0);
		return NULL;
	}
	if (sa->state != SIGNIN_READY)
		return signin_wait(sa, done, arg);
	done(arg, 1);
	return NULL;
}

/* The verifier's cancel: the request went away. */
static void
signin_cancel(void *ctx, void *handle)
{
	struct signin_waiter *w = handle, **pp;

	for (pp = &w->sa->waiters; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			free(w);
			return;
		}
	}
}

/* Create the sign-in service and hook agent removal. */
struct signin *
signin_create(struct event_base *base, struct ucwa *ucwa, struct agents *agents, struct gws_im *im)
{
	struct signin *si = xcalloc(1, sizeof *si);

	si->reap = reap_hold(base);
	si->ucwa = ucwa;
	si->agents = agents;
	si->im = im;
	if (RAND_bytes(si->salt, sizeof si->salt) != 1)
		abort();
	si->verifier.name = "ucwa";
	si->verifier.start = signin_start;
	si->verifier.cancel = signin_cancel;
	si->verifier.ctx = si;
	agents_hook(agents, AGENTS_STAGE_SIGNIN, signin_agent_removed, si);
	agents_hook(agents, AGENTS_STAGE_UCWA, signin_agent_unlink, si);
	return si;
}

/* Free the service (agents are freed by their registry). */
void
signin_free(struct signin *si)
{
	if (si == NULL)
		return;
	reap_release(si->reap);
	free(si);
}

/* The gateway is shutting down: sign nobody in any more. */
void
signin_drain(struct signin *si)
{
	si->draining = 1;
}

const struct auth_verifier *
signin_verifier(struct signin *si)
{
	return &si->verifier;
}

unsigned
signin_pending(const struct signin *si)
{
	return si->pending;
}
