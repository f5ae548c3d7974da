/*
 * signin.c: agents sign in to UCWA with their own credentials. A request
 * for an unknown user starts a UCWA sign-in and waits for it; requests that
 * arrive meanwhile with the same password wait too; once signed in, a
 * request is checked in constant time against SHA-256(salt || password),
 * where the salt is random per process, so no password is kept and nothing
 * is written to disk. Sign-ins in progress are bounded. A failed sign-in
 * removes the agent; removing an agent (logout, idle, failure) ends its IM
 * session and signs it out upstream.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "log.h"
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

/* The sign-in state of one agent (agent->signin). */
struct signin_agent {
	struct signin *si;
	struct agent *agent;
	unsigned char pwhash[32];
	int ready;
	int pending; /* counted in si->pending */
	int doomed;  /* on si->doomed, removed next loop turn */
	struct signin_waiter *waiters;
};

struct signin {
	struct ucwa *ucwa;
	struct agents *agents;
	struct gws_im *im;
	unsigned char salt[16];
	unsigned pending;
	struct auth_verifier verifier;
	int draining;		      /* shutting down: no new sign-in */
	struct signin_agent **doomed; /* agents to remove at the next loop turn */
	size_t ndoomed;
	struct event *later;
};

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

/* No longer a sign-in in progress. */
static void
signin_settled(struct signin_agent *sa)
{
	if (sa->pending) {
		sa->pending = 0;
		sa->si->pending--;
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
	struct signin_agent *sa = arg;

	signin_settled(sa);
	sa->ready = 1;
	signin_identity(sa->agent);
	log_info("agent %s: signed in to Skype for Business", sa->agent->name);
	signin_answer(sa, 1);
}

/* Remove the failed agents (never inside the UCWA callback that failed). */
static void
signin_later(evutil_socket_t fd, short what, void *arg)
{
	struct signin *si = arg;
	struct signin_agent **v = si->doomed;
	size_t n = si->ndoomed;

	si->doomed = NULL;
	si->ndoomed = 0;
	for (size_t i = 0; i < n; i++)
		agents_remove(si->agents, v[i]->agent, "Skype for Business sign-in lost");
	free(v);
}

/* UCWA: sign-in failed, or the agent lost UCWA for good. */
static void
signin_failed(enum ucwa_failure f, const char *why, void *arg)
{
	static struct log_limit ll;
	struct signin_agent *sa = arg;
	struct signin *si = sa->si;

	log_limited(&ll, LOG_WARN, "agent %s: Skype for Business: %s: %s", sa->agent->name,
	    ucwa_failure_name(f), why ? why : "");
	signin_settled(sa);
	sa->ready = 0;
	signin_answer(sa, f == UCWA_FAIL_AUTH ? 0 : -1);
	if (sa->doomed)
		return;
	sa->doomed = 1;
	si->doomed = xreallocarray(si->doomed, si->ndoomed + 1, sizeof *si->doomed);
	si->doomed[si->ndoomed++] = sa;
	event_active(si->later, 0, 0);
}

/* UCWA: one change of the agent's event channel. */
static void
signin_change(const struct ucwa_change *ch, void *arg)
{
	struct signin_agent *sa = arg;

	gws_im_change(sa->si->im, sa->agent, ch);
}

/* UCWA: a conversation of the agent is over. */
static void
signin_ended(const char *conversation, const char *why, void *arg)
{
	struct signin_agent *sa = arg;

	gws_im_ended(sa->si->im, sa->agent, conversation, why);
}

/* UCWA: an event-channel response begins or ends (for recording). */
static void
signin_events(const struct json *response, int begin, void *arg)
{
	struct signin_agent *sa = arg;

	gws_im_record_events(sa->si->im, sa->agent, response, begin);
}

static const struct ucwa_cbs signin_cbs = {
	.signed_in = signin_signed_in,
	.failed = signin_failed,
	.change = signin_change,
	.ended = signin_ended,
	.events = signin_events,
};

/* Take sa off the list of agents to remove. */
static void
signin_undoom(struct signin *si, struct signin_agent *sa)
{
	for (size_t i = 0; i < si->ndoomed; i++) {
		if (si->doomed[i] == sa) {
			si->doomed[i] = si->doomed[--si->ndoomed];
			return;
		}
	}
}

/* Removal stage IM: end the agent's IM session. */
static void
signin_agent_im_gone(struct agent *a, const char *why, void *arg)
{
	struct signin *si = arg;

	gws_im_agent_gone(si->im, a, why);
}

/* Removal stage SIGNIN: answer the agent's waiters, free its sign-in record. */
static void
signin_agent_removed(struct agent *a, const char *why, void *arg)
{
	struct signin *si = arg;
	struct signin_agent *sa = a->signin;

	if (sa == NULL)
		return;
	signin_settled(sa);
	signin_undoom(si, sa);
	signin_answer(sa, -1);
	free(sa);
	a->signin = NULL;
}

/* Removal stage UCWA: free the agent's UCWA link (signs out upstream). */
static void
signin_agent_unlink(struct agent *a, const char *why, void *arg)
{
	if (a->ucwa != NULL) {
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
	signin_hash(si, password, sa->pwhash);
	a->signin = sa;
	handle = signin_wait(sa, done, arg);
	sa->pending = 1;
	si->pending++;
	a->ucwa = ucwa_agent_new(si->ucwa, user, password, &signin_cbs, sa);
	/* A synchronous failure answered the waiter already: no handle then. */
	return sa->waiters != NULL ? handle : NULL;
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
	if (!sa->ready)
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

	si->later = event_new(base, -1, 0, signin_later, si);
	si->ucwa = ucwa;
	si->agents = agents;
	si->im = im;
	if (RAND_bytes(si->salt, sizeof si->salt) != 1)
		abort();
	si->verifier.name = "ucwa";
	si->verifier.start = signin_start;
	si->verifier.cancel = signin_cancel;
	si->verifier.ctx = si;
	agents_hook(agents, AGENTS_STAGE_IM, signin_agent_im_gone, si);
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
	event_free(si->later);
	free(si->doomed);
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
