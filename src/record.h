/*
 * record.h: recording the IM traffic of chosen agents (record.agents) as
 * transcripts that `ucgw xlate` replays (docs/translation.md, Recording).
 * One transcript per desktop IM request: the session before, the request
 * (method, path, body; never headers), the UCWA requests and notifications
 * it caused while it was handled, and its answer (which may come later,
 * when UCWA accepts). And one per UCWA event-channel response: the session
 * before, the response, and the UCWA requests and notifications it caused. Built with xlate_rec.h, so secrets are never written
 * and message texts are masked when record.mask_text is set.
 *
 * Each recorded agent has its own current input (the request or response
 * being handled now), so inputs of different agents never mix. The hooks:
 * a desktop request begins (gws_im_post) and ends its synchronous handling,
 * and is answered (gws_reply) or dropped; an event-channel response begins
 * and ends (struct ucwa_cbs.events); every UCWA command the IM layer issues
 * passes through gws_im_ucwa (record_upstream), every notification through
 * cometd_publish (record_notify). They cost one check while nobody is
 * recorded and do nothing unless the agent is recorded. At most
 * RECORD_MAX_OPEN requests wait for their answer at a time (the oldest is
 * dropped beyond that); each finished transcript is written to its own
 * file in record.dir with one write(2) of at most record.max_bytes.
 */
#ifndef UCGW_RECORD_H
#define UCGW_RECORD_H

#include "config.h"
#include "httpd.h"
#include "json.h"
#include "xlate.h"

#define RECORD_MAX_OPEN 64

/* Take the record.* keys of a (new) configuration into use. */
void record_configure(const struct config *);
/* Forget every open recording (the process is ending). */
void record_shutdown(void);

/* Whether agent's traffic is recorded. */
int record_agent(const char *agent);
/* The agent's request req starts being handled; before is the session (or NULL). */
void record_gws_begin(struct http_req *req, const char *agent, const struct xlate_session *before,
    const struct json *body);
/* The synchronous handling of agent's request is over: later UCWA requests
 * and notifications are not its. */
void record_gws_end(const char *agent);
/* A UCWA command of agent (gws_im_ucwa) / a notification of agent
 * (cometd_publish): recorded into the agent's current input, if any. */
void record_upstream(const char *agent, const char *rel, const char *content_type,
    const char *body_json, const char *body_text);
void record_notify(const char *agent, const char *data_json);
/* An event-channel response (body: its JSON text, len bytes; read again
 * here, recording being off the hot path) of agent starts being handled (before: the
 * agent's session or NULL; pending: the text of its message awaiting
 * delivery or NULL). Notifications and UCWA requests until record_ucwa_end
 * are its; then its transcript is written. */
void record_ucwa_begin(const char *agent, const struct xlate_session *before, const char *pending,
    const char *body, size_t len);
void record_ucwa_end(const char *agent);
/* The GWS answer to req (gws.c): finishes and writes its transcript. */
void record_reply(struct http_req *req, int status_code, const char *msg);
/* req went away unanswered: drop its recording. */
void record_abort(struct http_req *req);

#endif
