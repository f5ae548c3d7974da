/*
 * relay.h: the UCWA -> GWS event relay. An agent's UCWA link reports the
 * changes of its event channel, its ended conversations and each
 * event-channel response; the relay hands them to the IM layer (gws_im)
 * for that agent, which moves its IM session and notifies its desktops.
 * When an agent is removed, the relay ends its IM session first (removal
 * stage IM, see agent.h).
 */
#ifndef UCGW_RELAY_H
#define UCGW_RELAY_H

#include "agent.h"
#include "gws_im.h"
#include "ucwa.h"

/*
 * Where one agent's events go: the arg of the ucwa_cbs entries below,
 * embedded in the record that starts the agent's UCWA link (signin.c).
 */
struct relay_agent {
	struct gws_im *im;
	struct agent *agent;
};

/* The ucwa_cbs change, ended and events entries; arg is a struct relay_agent *. */
void relay_change(const struct ucwa_change *, void *arg);
void relay_ended(const char *conversation, const char *why, void *arg);
void relay_events(const char *body, size_t len, int begin, void *arg);
/* Hook removal stage IM: a removed agent's IM session ends (gws_im_agent_gone). */
void relay_hook(struct agents *, struct gws_im *);

#endif
