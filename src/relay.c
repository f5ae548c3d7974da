/*
 * relay.c: the UCWA -> GWS event relay (see relay.h). It holds no state of
 * its own: each agent's target is a struct relay_agent in the agent's
 * sign-in record, and the IM layer keeps the sessions.
 */
#include "relay.h"

/* UCWA: one change of the agent's event channel. */
void
relay_change(const struct ucwa_change *ch, void *arg)
{
	struct relay_agent *ra = arg;

	gws_im_change(ra->im, ra->agent, ch);
}

/* UCWA: a conversation of the agent is over. */
void
relay_ended(const char *conversation, const char *why, void *arg)
{
	struct relay_agent *ra = arg;

	gws_im_ended(ra->im, ra->agent, conversation, why);
}

/* UCWA: an event-channel response begins or ends (for recording). */
void
relay_events(const char *body, size_t len, int begin, void *arg)
{
	struct relay_agent *ra = arg;

	gws_im_record_events(ra->im, ra->agent, body, len, begin);
}

/* Removal stage IM: end the agent's IM session, answer its parked IM requests. */
static void
relay_agent_gone(struct agent *a, const char *why, void *arg)
{
	gws_im_agent_gone(arg, a, why);
}

/* Hook removal stage IM. */
void
relay_hook(struct agents *agents, struct gws_im *im)
{
	agents_hook(agents, AGENTS_STAGE_IM, relay_agent_gone, im);
}
