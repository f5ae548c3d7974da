/*
 * gws_me.h: the GWS resources of the signed-in agent (user, devices,
 * features) and its operations on POST /api/v2/me.
 */
#ifndef UCGW_GWS_ME_H
#define UCGW_GWS_ME_H

#include "agent.h"
#include "gws_reply.h"

enum gws_me_op {
	GWS_ME_NONE, /* refused; the request was answered with the error */
	GWS_ME_START,
	GWS_ME_END,
	GWS_ME_READY,
	GWS_ME_NOT_READY,
};

void gws_me_get(struct http_req *, struct agent *);
void gws_me_devices(struct http_req *, struct agent *);
void gws_me_features_get(struct http_req *, struct agent *);
/* Apply an operation. NONE: refused and answered; else the caller answers. */
enum gws_me_op gws_me_post(struct http_req *, struct agent *);
/* Write the agent's device object (also used in DeviceStateChangeMessage). */
void gws_me_device(struct jw *, const struct agent *, const char *base);
/* The operationName of a POST body, or NULL after answering the error. */
const char *gws_operation_name(struct http_req *, const struct json *body);

#endif
