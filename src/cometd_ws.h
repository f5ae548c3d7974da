/*
 * cometd_ws.h: the Bayeux endpoint's WebSocket transport: the upgrade
 * request (Origin, authentication, cometd.websocket) and one Bayeux stream
 * per socket. See docs/cometd.md.
 */
#ifndef UCGW_COMETD_WS_H
#define UCGW_COMETD_WS_H

#include <event2/event.h>

#include "auth.h"
#include "config.h"
#include "httpd.h"

struct cometd;
struct cometd_ws;

struct cometd_ws *cometd_ws_create(
    struct event_base *, struct cometd *, const struct config *, struct auth *);
void cometd_ws_set_config(struct cometd_ws *, const struct config *);
/* Free: open sockets are dropped (their held connects let go). */
void cometd_ws_free(struct cometd_ws *);
/* Handle a GET of the endpoint that asks to upgrade; 0 if it does not (or cometd.websocket is off). */
int cometd_ws_route(struct cometd_ws *, struct http_req *);

#endif
