/*
 * gws_im.h: the GWS IM Session API on top of the session table and the
 * UCWA client. Desktop side: GET /me/im-sessions[/{id}] and the
 * operations InitiateIMSession, SendMessage, Complete, AttachUserData,
 * UpdateUserData, DeleteUserData. Upstream side: every UCWA change of an
 * agent moves its session and becomes IMSessionStateChangeMessage or
 * IMLogUpdateMessage notifications on /v2/me/im-sessions. Nothing is
 * acknowledged to a desktop before UCWA accepted it.
 */
#ifndef UCGW_GWS_IM_H
#define UCGW_GWS_IM_H

#include "agent.h"
#include "cometd.h"
#include "gws_reply.h"
#include "session.h"
#include "ucwa.h"

struct gws_im;

struct gws_im *gws_im_create(struct event_base *, struct agents *, struct cometd *);
void gws_im_free(struct gws_im *);
struct session_table *gws_im_sessions(struct gws_im *);
struct store;
/* Cluster mode: write every session row to st (store.h). */
void gws_im_set_store(struct gws_im *, struct store *st);
/*
 * Cluster mode: hold(arg) says whether a SendMessage whose row could not
 * be stored waits rather than goes to UCWA: 1 while this node may be cut
 * from Redis (split.h), so that the node carrying the agent on sends it
 * once (the desktop gets 503 and repeats it there if the agent leaves);
 * 0 when Redis is down for all. Held ones follow a changed answer at
 * gws_im_hold_changed: stored then sent, or sent.
 */
void gws_im_set_hold(struct gws_im *, int (*hold)(void *), void *arg);
void gws_im_hold_changed(struct gws_im *);

/* Desktop requests, after authentication (agent is the caller). */
void gws_im_list(struct gws_im *, struct http_req *, struct agent *);
void gws_im_get(struct gws_im *, struct http_req *, struct agent *, const char *id);
void gws_im_post(struct gws_im *, struct http_req *, struct agent *, const char *id);

/* Upstream, from the agent's UCWA client. */
void gws_im_change(struct gws_im *, struct agent *, const struct ucwa_change *);
void gws_im_ended(struct gws_im *, struct agent *, const char *conversation, const char *why);
/* An event-channel response of the agent begins (1) or ends (0): recording. */
void gws_im_record_events(struct gws_im *, struct agent *, const char *body, size_t len, int begin);
/* The agent is going (sign-out, idle, UCWA lost): end its session. */
void gws_im_agent_gone(struct gws_im *, struct agent *, const char *why);
/*
 * Cluster take-over: a stored row (store.h) becomes the agent's session
 * again, with its id, state, remote party, conversation, user data and
 * unconfirmed messages; -1 with *why (malformed, or a session is there).
 */
struct store_session;
int gws_im_restore(struct gws_im *, struct agent *, const struct store_session *, const char **why);
/* Whether a UCWA command of the agent is under way (a hand-over waits until none is). */
int gws_im_busy(const struct gws_im *, const char *agent);
/* Sessions by state into counts[0..n) (Initiating, Alerting, Talking, Completed). */
void gws_im_count_states(const struct gws_im *, unsigned *counts, size_t n);

#endif
