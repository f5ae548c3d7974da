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
#include "gws_reply.h"
#include "httpd.h"

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
/* Cluster mode: route each agent's requests through its owner (owner.h; not owned). */
struct owner;
void gws_set_owner(struct gws *, struct owner *);
/* The httpd handler; arg is the struct gws. */
void gws_handle(struct http_req *, void *arg);
/* Error bodies for requests the HTTP layer refuses by itself. */
const char *gws_error_format(int status, const char *reason, struct buf *out);

#endif
