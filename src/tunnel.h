/*
 * tunnel.h: a desktop's WebSocket that another node serves (cluster mode).
 * The node that received the upgrade forwards it to the agent's owner
 * (forward.c); when the owner switches protocols, the desktop's connection
 * is upgraded here too and the two connections are joined byte for byte
 * until either closes. The frames are the owner's business: nothing here
 * parses them.
 */
#ifndef UCGW_TUNNEL_H
#define UCGW_TUNNEL_H

#include <stddef.h>

struct bufferevent;
struct event_base;
struct hparse_msg;
struct http_req;
struct tunnels;

/* The tunnels of a node, each with this write threshold (bytes) per direction. */
struct tunnels *tunnels_create(struct event_base *, size_t threshold);
/* A new write threshold (reload): tunnels check it as they pass bytes. */
void tunnels_set_threshold(struct tunnels *, size_t threshold);
/* Close every tunnel and free. */
void tunnels_free(struct tunnels *);
/* Tunnels open. */
unsigned tunnels_count(const struct tunnels *);
/*
 * The owner answered req's upgrade 101 (owner101) on up (connected, no
 * callbacks, now the tunnel's): answer req 101 with the owner's protocol
 * headers and join the two. 0; -1 when req cannot be upgraded (HTTP/2):
 * answered 502, up freed.
 */
int tunnel_open(struct tunnels *, struct http_req *req, const struct hparse_msg *owner101,
    struct bufferevent *up, const char *holder);

#endif
