/*
 * gws_reply.h: the GWS envelope, as a leaf library for every module that
 * answers desktop requests (router, resources, auth, CometD): error bodies
 * ({"statusCode":N,"statusMessage":...}), JSON replies, reading a request's
 * JSON body, and the base URI the desktop addressed. Calls nothing of the
 * modules that use it.
 */
#ifndef UCGW_GWS_REPLY_H
#define UCGW_GWS_REPLY_H

#include "httpd.h"
#include "json.h"
#include "util.h"

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

/* gws.public_url of the running configuration (NULL: the listener's address). */
void gws_reply_set_public_url(const char *url);
/* Write {"statusCode":code,"statusMessage":msg} to out. */
void gws_reply_error_body(struct buf *out, enum gws_status code, const char *msg);
void gws_reply_error(struct http_req *, int http_status, enum gws_status, const char *msg);
void gws_reply_ok(struct http_req *);
/* Answer with a JSON body (application/json). */
void gws_reply_json(struct http_req *, int http_status, struct buf *body);
/* Start a {"statusCode":0, ...} answer in b; the caller closes the object. */
void gws_reply_ok_begin(struct jw *, struct buf *b);
/* "scheme://host[:port]/api/v2" as the desktop addressed us. */
void gws_reply_base_uri(const struct http_req *, struct buf *);
/*
 * Parse the request body as a JSON object. On failure the request is
 * answered (400, statusCode 2, with where and why) and NULL is returned.
 */
struct json_doc *gws_reply_read_body(struct http_req *);
/* Whether the query asks for whole objects (?fields=...) rather than uris. */
int gws_reply_want_fields(const struct http_req *);
/* A string parameter of an operation; sets *bad when present but not a string. */
const char *gws_reply_param_str(const struct json *body, const char *name, int *bad);

#endif
