/*
 * gws.h: the Genesys Web Services v2 face of the gateway: routing of
 * /api/v2 requests, the GWS response envelope ({"statusCode":N,...},
 * application/json) and its error bodies.
 */
#ifndef UCGW_GWS_H
#define UCGW_GWS_H

#include <event2/event.h>

#include "config.h"
#include "json.h"
#include "httpd.h"

/* GWS statusCode values the gateway uses. */
enum gws_status {
	GWS_OK = 0,
	GWS_MISSING_PARAM = 1,
	GWS_INVALID_STATE = 2,
	GWS_FORBIDDEN = 3,
	GWS_INTERNAL = 4,
	GWS_NOT_FOUND = 6,
	GWS_OUT_OF_RANGE = 10,
	GWS_ACCESS_DENIED = 20,
};

struct gws;

struct gws *gws_create(struct event_base *, const struct config *);
void gws_set_config(struct gws *, const struct config *);
void gws_free(struct gws *);
/* The desktop authentication and the notifications endpoint (not owned). */
struct auth;
struct cometd;
void gws_set_desktop(struct gws *, struct auth *, struct cometd *);
struct agents;
struct gws_im;
/* Hand over the agents and the IM Session API (enables the authenticated resources). */
void gws_set_im(struct gws *, struct agents *, struct gws_im *);
/* A part of /healthz (cluster mode): fn writes one JSON value, returns 1 if healthy. */
void gws_set_health(struct gws *, int (*fn)(void *, struct jw *), void *arg);
/* The httpd handler; arg is the struct gws. */
void gws_handle(struct http_req *, void *arg);
/* Error bodies for requests the HTTP layer refuses by itself. */
const char *gws_error_format(int status, const char *reason, struct buf *out);

void gws_reply_error(struct http_req *, int http_status, enum gws_status, const char *msg);
void gws_reply_ok(struct http_req *);
/* "scheme://host[:port]/api/v2" as the desktop addressed us. */
void gws_base_uri(const struct http_req *, struct buf *);
/*
 * Parse the request body as a JSON object. On failure the request is
 * answered (400, statusCode 2, with where and why) and NULL is returned.
 */
struct json_doc *gws_read_body(struct http_req *);
/* Whether the query asks for whole objects (?fields=...) rather than uris. */
int gws_want_fields(const struct http_req *);
/* A string parameter of an operation; sets *bad when present but not a string. */
const char *gws_param_str(const struct json *body, const char *name, int *bad);
/* Start a {"statusCode":0, ...} answer in b; the caller closes the object. */
void gws_ok_begin(struct jw *, struct buf *b);
/* Answer with a JSON body (application/json). */
void gws_reply_json(struct http_req *, int http_status, struct buf *body);

#endif
