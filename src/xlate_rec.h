/*
 * xlate_rec.h: recording traffic as transcripts (docs/translation.md) that
 * `ucgw xlate` and the unit tests replay. One recording holds one input (a
 * GWS request or a UCWA event-channel response), the session as it stood
 * before, and what the gateway did: its answer, the UCWA requests and the
 * notifications. Pure: the caller writes the finished text where it wants.
 *
 * Requests are recorded as method, path and body only, so headers (and
 * with them Authorization, cookies, tokens) are never written; members
 * named like secrets (password, token, cookie, authorization, ...) are
 * written as "***" wherever they appear. With mask set, message texts
 * (SendMessage text, message data: URIs, NewMessage messages, sendMessage
 * bodies, pending text) are written as "***" too.
 */
#ifndef UCGW_XLATE_REC_H
#define UCGW_XLATE_REC_H

#include "json.h"
#include "util.h"
#include "xlate.h"

struct xlate_rec;

/* Start a recording; before (may be NULL: no session) is copied. */
struct xlate_rec *xlate_rec_new(
    const char *description, const struct xlate_session *before, const char *pending_text);
void xlate_rec_gws(
    struct xlate_rec *, const char *method, const char *path, const struct json *body);
void xlate_rec_ucwa(struct xlate_rec *, const struct json *event_response);
void xlate_rec_response(struct xlate_rec *, int status_code, const char *status_message);
/* A UCWA request: body_json is JSON text, body_text a text/plain body (one or neither). */
void xlate_rec_upstream(struct xlate_rec *, const char *rel, const char *content_type,
    const char *body_json, const char *body_text);
/* Write one UCWA request spec of a transcript ("upstream" array element) to w. */
void xlate_rec_write_upstream(struct jw *w, const char *rel, const char *content_type,
    const char *body_json, const char *body_text);
/* A notification's data as produced by xlate_notify_*(). */
void xlate_rec_notify(struct xlate_rec *, const char *data_json);
/* The transcript text (malloc'd); frees the recording. */
char *xlate_rec_finish(struct xlate_rec *, int mask);
void xlate_rec_free(struct xlate_rec *);

#endif
