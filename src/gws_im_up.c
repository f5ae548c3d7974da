/*
 * gws_im_up.c: the upstream side of the IM Session API. Each UCWA change
 * of an agent finds its session (by operationId, then conversation),
 * moves it through the translation rules the session started with, and
 * becomes the notifications a Genesys server would send; an incoming
 * invitation is accepted, declined or left per the rules.
 */
#include <stdlib.h>
#include <string.h>

#include "gws_im_int.h"
#include "log.h"
#include "metrics.h"
#include "record.h"

/* The agent's session a change is about (binding its conversation). */
static struct session *
gws_im_session_for(struct gws_im *im, struct agent *a, const struct ucwa_change *ch)
{
	struct session *s = NULL;

	if (ch->operation_id != NULL)
		s = session_by_operation(im->sessions, ch->operation_id);
	if (s == NULL && ch->conversation != NULL)
		s = session_by_conversation(im->sessions, ch->conversation);
	if (s == NULL || strcmp(s->agent, a->name) != 0)
		return NULL;
	if (s->conversation == NULL && ch->conversation != NULL) {
		session_bind_conversation(im->sessions, s, ch->conversation);
		gws_im_store(im, s);
		if (s->im->start_unsure) { /* UCWA got the previous owner's startMessaging */
			s->im->start_unsure = 0;
			log_info("agent %s: session %s: its conversation, started by the previous "
				 "owner, found",
			    s->agent, s->id);
			gws_im_settle_soon(s);
		}
	}
	return s;
}

/* Our accept of an incoming invitation completed. */
static void
gws_im_accept_done(const struct ucwa_result *r, void *arg)
{
	struct im_call *c = arg;
	struct session *s = gws_im_call_session(c);

	struct agent *a = agents_find(c->im->agents, c->agent);

	if (!r->ok && s != NULL && a != NULL) {
		log_warn("agent %s: session %s: accept failed (%d)", c->agent, s->id, r->status);
		gws_im_set_reason(
		    s, r->message ? r->message : "accept failed", r->code, r->subcode);
		gws_im_end(c->im, a, s);
	}
	gws_im_call_free(c);
}

/* A command whose outcome changes nothing (decline). */
static void
gws_im_ignore_result(const struct ucwa_result *r, void *arg)
{
	if (!r->ok)
		log_info("decline refused upstream (%d)", r->status);
}

/* A new incoming invitation: accept, decline or leave it per policy. */
static void
gws_im_incoming(struct gws_im *im, struct agent *a, const struct ucwa_change *ch)
{
	int busy = session_of_agent(im->sessions, a->name) != NULL;
	enum xlate_incoming what = xlate_incoming(xlate_current(), ch->from_uri, busy);
	struct xlate_party party;
	const char *cause;
	struct session *s;
	struct im_call *c;

	if (what == XLATE_IN_DECLINE) {
		log_info(
		    "agent %s: declining an invitation (%s)", a->name, busy ? "busy" : "policy");
		gws_im_ucwa(a, GWS_IM_CMD_DECLINE,
		    &(struct gws_im_cmd_args){ .conv = ch->conversation }, gws_im_ignore_result,
		    NULL);
		return;
	}
	if (what == XLATE_IN_IGNORE || busy || ch->conversation == NULL)
		return;
	s = gws_im_session_new(im, a, SESSION_INCOMING, &cause);
	xlate_sip_to_party(s->im->rules, ch->from_uri ? ch->from_uri : "", &party);
	session_set_remote(s, ch->from_uri, party.phoneNumber);
	xlate_party_free(&party);
	session_bind_conversation(im->sessions, s, ch->conversation);
	gws_im_notify_state(im, a, s, "StatusChange");
	c = gws_im_call_new(im, IM_CALL_ACCEPT, NULL, a, s);
	if ((cause = gws_im_ucwa(a, GWS_IM_CMD_ACCEPT,
		 &(struct gws_im_cmd_args){ .conv = ch->conversation }, gws_im_accept_done, c)) !=
	    NULL) {
		struct ucwa_result r = { .ok = 0, .status = 0, .message = cause };

		gws_im_accept_done(&r, c);
	}
}

/*
 * An event about an outgoing message: any one (started when UCWA takes
 * it, completed when delivered or not) says UCWA took it; its delivery
 * event is notified once.
 */
static void
gws_im_outgoing_message(
    struct gws_im *im, struct agent *a, struct session *s, const struct ucwa_change *ch)
{
	struct im_sess *is = s->im;
	struct im_out **pp, *o;
	int failed = ch->status != NULL && strcmp(ch->status, "Failure") == 0;

	for (pp = &is->out; (o = *pp) != NULL; pp = &o->next) {
		if ((ch->operation_id && strcmp(ch->operation_id, o->opid) == 0) ||
		    ucwa_href_eq(ch->href, o->location) || ucwa_href_eq(ch->self, o->location))
			break;
	}
	if (o == NULL) {
		log_debug("agent %s: session %s: %s event for an unknown message", a->name, s->id,
		    ch->type == UCWA_COMPLETED ? "delivery" : "message");
		return;
	}
	gws_im_out_taken(im, s, o, ch->self != NULL ? ch->self : ch->href);
	if (ch->type != UCWA_COMPLETED)
		return;
	gws_im_notify_message(im, a, s, o->text, ch, failed);
	metrics_inc(M_MESSAGES, failed ? "result=\"failed\"" : "result=\"delivered\"");
	if (failed)
		log_info("agent %s: session %s: message not delivered", a->name, s->id);
	if (o->rid != NULL) /* remembered in the row */
		gws_im_store(im, s);
	else
		gws_im_store_out(im, s);
	gws_im_out_delivered(im, s, o);
	gws_im_out_remove(is, pp);
}

/* A message event. */
static void
gws_im_message(struct gws_im *im, struct agent *a, struct session *s, const struct ucwa_change *ch)
{
	char *text;

	if (ch->direction != NULL && strcmp(ch->direction, "Outgoing") == 0) {
		gws_im_outgoing_message(im, a, s, ch);
		return;
	}

	if (ch->text == NULL || (ch->status && strcmp(ch->status, "Failure") == 0))
		return;
	/* The body as sent (text/html or not, and the server's plain rendition of
	 * HTML if it sent one): the rules choose plain or HTML and trim CR/LF. */
	text = xlate_text_in(s->im->rules, ch->text, strlen(ch->text), ch->text_html, ch->alt_text);
	gws_im_notify_message(im, a, s, text, ch, 0);
	free(text);
}

/* The UCWA state kind of an invitation change. */
static enum xlate_kind
gws_im_invitation_kind(const struct session *s, const struct ucwa_change *ch)
{
	if (ch->direction != NULL)
		return strcmp(ch->direction, "Incoming") == 0 ? XLATE_K_IN_INVITATION
							      : XLATE_K_OUT_INVITATION;
	return s->dir == SESSION_INCOMING ? XLATE_K_IN_INVITATION : XLATE_K_OUT_INVITATION;
}

/*
 * Messaging connected in a conversation that has no session (it was
 * completed while connecting and the cancel lost the race): leave it, so
 * nothing stays connected upstream that no desktop can see; not while an
 * outgoing session of the agent has no conversation yet.
 */
static void
gws_im_orphan(struct gws_im *im, struct agent *a, const struct ucwa_change *ch)
{
	struct session *s = session_of_agent(im->sessions, a->name);

	if (ch->kind != UCWA_MESSAGING || ch->conversation == NULL || ch->state == NULL ||
	    strcmp(ch->state, "Connected") != 0 || a->ucwa == NULL)
		return;
	if (s != NULL && s->dir == SESSION_OUTGOING && s->conversation == NULL)
		return; /* maybe its own, before anything named it (no operationId echo) */
	log_info("agent %s: leaving a conversation that has no IM session", a->name);
	gws_im_ucwa(a, GWS_IM_CMD_LEAVE, &(struct gws_im_cmd_args){ .conv = ch->conversation },
	    gws_im_ignore_result, NULL);
}

/* One change from the agent's event channel. */
void
gws_im_change(struct gws_im *im, struct agent *a, const struct ucwa_change *ch)
{
	struct session *s;

	if (ch->kind == UCWA_INVITATION && ch->type == UCWA_STARTED && ch->direction != NULL &&
	    strcmp(ch->direction, "Incoming") == 0 &&
	    session_by_conversation(im->sessions, ch->conversation ? ch->conversation : "") ==
		NULL) {
		gws_im_incoming(im, a, ch);
		return;
	}
	if ((s = gws_im_session_for(im, a, ch)) == NULL) {
		gws_im_orphan(im, a, ch);
		return;
	}
	switch (ch->kind) {
	case UCWA_INVITATION:
		if (ch->type == UCWA_COMPLETED && ch->status &&
		    strcmp(ch->status, "Failure") == 0) {
			gws_im_set_reason(
			    s, ch->reason_message, ch->reason_code, ch->reason_subcode);
			gws_im_set_state(im, a, s, SESSION_COMPLETED);
		} else if (ch->state != NULL)
			gws_im_set_state(im, a, s,
			    xlate_state_map(
				s->im->rules, gws_im_invitation_kind(s, ch), ch->state));
		break;
	case UCWA_CONVERSATION:
		if (ch->type == UCWA_DELETED)
			gws_im_set_state(im, a, s, SESSION_COMPLETED);
		else if (ch->state != NULL)
			gws_im_set_state(im, a, s,
			    xlate_state_map(s->im->rules, XLATE_K_CONVERSATION, ch->state));
		break;
	case UCWA_MESSAGING:
		if (ch->state != NULL)
			gws_im_set_state(
			    im, a, s, xlate_state_map(s->im->rules, XLATE_K_MESSAGING, ch->state));
		break;
	case UCWA_MESSAGE: gws_im_message(im, a, s, ch); break;
	default: break;
	}
}

/* A conversation is over upstream (remote left, application lost, resume). */
void
gws_im_ended(struct gws_im *im, struct agent *a, const char *conversation, const char *why)
{
	struct session *s = session_by_conversation(im->sessions, conversation);

	if (s == NULL || strcmp(s->agent, a->name) != 0)
		return;
	if (s->im->reason == NULL)
		gws_im_set_reason(s, why, NULL, NULL);
	gws_im_end(im, a, s);
}

/* The agent is going: end its session and forget its parked requests. */
void
gws_im_agent_gone(struct gws_im *im, struct agent *a, const char *why)
{
	struct session *s = session_of_agent(im->sessions, a->name);
	struct im_call *c, *next;
	int unstarted = 0; /* its InitiateIMSession told to retry: the session goes with it */

	for (c = im->calls; c != NULL; c = next) {
		next = c->next;
		if (strcmp(c->agent, a->name) != 0)
			continue;
		if (c->kind == IM_CALL_INITIATE && !gws_im_call_issued(c))
			unstarted = 1;
		if (c->req != NULL && !c->answered && a->handover && gws_im_call_issued(c))
			gws_reply_error(c->req, 502, GWS_INTERNAL,
			    "The agent moved to another node while Skype for Business handled the "
			    "request; it may have been done (a SendMessage may be repeated with "
			    "the "
			    "same X-Request-Id)");
		else if (c->req != NULL && !c->answered) {
			if (a->handover)
				http_req_add_header(c->req, "Retry-After", "0");
			gws_reply_error(c->req, 503, GWS_INTERNAL,
			    a->handover ? "The agent is moving to another node; retry"
					: "Skype for Business is not available at this time");
		}
		c->req = NULL;
		gws_im_call_free(c);
	}
	if (a->handover) {
		/* its next owner carries the session and the CometD clients on from the store;
		 * parked connects here are told to retry, so they reach that owner */
		if (s != NULL)
			gws_im_forget(im, s, !unstarted);
		cometd_forget_agent(im->cometd, a->name);
		return;
	}
	if (s != NULL) {
		gws_im_set_reason(s, why, NULL, NULL);
		gws_im_end(im, a, s);
	}
}
