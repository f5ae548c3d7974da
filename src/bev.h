/*
 * bev.h: what ucgw adds to libevent's socket bufferevents: no Nagle delay
 * (each write is a whole message), and a reply or a request written at
 * once on an idle plain connection with one writev: no write event to add
 * and delete again, no extra turn of the loop.
 */
#ifndef UCGW_BEV_H
#define UCGW_BEV_H

#include <stddef.h>

#include <event2/bufferevent.h>

/* Send small writes at once (TCP_NODELAY): every write here is a whole message. */
void bev_nodelay(evutil_socket_t);
/* Stop bev's write event before queueing output for bev_write_now(). */
void bev_hold_writes(struct bufferevent *);
/*
 * Write bev's queued output on its socket now (plain TCP only). Returns
 * the bytes still queued; when that is not 0, the write event is enabled
 * again and the bufferevent carries on as usual (errors included).
 */
size_t bev_write_now(struct bufferevent *);

#endif
