/*
 * bev.h: what ucgw adds to libevent's socket bufferevents: no Nagle delay
 * (each write is a whole message), a reply or a request written at once on
 * an idle plain connection with one writev (no write event to add and
 * delete again, no extra turn of the loop), and a reader for plain sockets
 * that reads without asking the kernel first how much there is (libevent's
 * own read makes an ioctl(FIONREAD) before every read).
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

/*
 * The read side of a plain socket bufferevent, done here: each time the
 * socket is readable, one readv (a second and more only while each fills
 * what was reserved, up to 16 KiB) into the bufferevent's input, then the
 * bufferevent's own read callback, as set by bufferevent_setcb() at that
 * moment; end of file, an error or the idle timeout stop reading and go to
 * its event callback with BEV_EVENT_READING, as libevent's would. Reading
 * must never be enabled on the bufferevent itself while a reader holds it.
 */
struct bev_rd;

/* A reader for bev (plain TCP, its socket already set); reading off. */
struct bev_rd *bev_rd_new(struct bufferevent *bev);
/* Stop and free the reader (before the bufferevent is freed). */
void bev_rd_free(struct bev_rd *);
/* Give the read side back to the bufferevent (enabled as the reader was); frees rd. */
void bev_rd_release(struct bev_rd *);
/* Read or not. */
void bev_rd_set(struct bev_rd *, int on);
/* The idle timeout (NULL: none), restarted by every read. */
void bev_rd_timeout(struct bev_rd *, const struct timeval *);
/* Read no more while the input holds high bytes or more (0: no bound). */
void bev_rd_bound(struct bev_rd *, size_t high);

#endif
