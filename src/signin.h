/*
 * signin.h: agents sign in to Skype for Business with their own
 * credentials. This is the desktops' password check (an auth verifier):
 * the first authenticated request of a user signs it in to UCWA; later
 * requests are checked against a salted hash of the password that worked,
 * kept in memory only. It starts each agent's UCWA link (whose events go
 * to relay.c), and at the agent's removal answers the requests still
 * waiting (stage SIGNIN) and frees the link, which signs the agent out
 * upstream (stage UCWA).
 */
#ifndef UCGW_SIGNIN_H
#define UCGW_SIGNIN_H

#include <event2/event.h>

#include "agent.h"
#include "auth.h"
#include "gws_im.h"
#include "ucwa.h"

struct signin;

struct signin *signin_create(struct event_base *, struct ucwa *, struct agents *, struct gws_im *);
void signin_free(struct signin *);
/* The verifier to install with auth_set_verifier(). */
const struct auth_verifier *signin_verifier(struct signin *);
/*
 * Cluster take-over: make saved->user's agent and resume its UCWA
 * application from saved (ucwa_agent_resume) instead of signing in; its
 * requests are checked against saved->password and wait until the resume
 * settles. -1 when the agent is here already or saved lacks credentials.
 */
int signin_resume(struct signin *, const struct ucwa_saved *saved);
/* Shutting down: no new sign-in (requests of unknown agents get 503). */
void signin_drain(struct signin *);
/* Sign-ins in progress. */
unsigned signin_pending(const struct signin *);

#endif
