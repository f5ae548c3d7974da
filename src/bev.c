/*
 * bev.c: immediate writes on plain socket bufferevents (see bev.h). The
 * caller queues its bytes while the write event is held, then writes them
 * in the same call; whatever the socket does not take goes back to the
 * bufferevent, which also reports any error the write met.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "bev.h"

/* No Nagle delay: messages leave whole, so a small one must not wait for an ACK. */
void
bev_nodelay(evutil_socket_t fd)
{
	int one = 1;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Hold the write event: queued output waits for bev_write_now(). */
void
bev_hold_writes(struct bufferevent *bev)
{
	bufferevent_disable(bev, EV_WRITE);
}

/* Write what is queued now; re-arm the write event for any rest. */
size_t
bev_write_now(struct bufferevent *bev)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	evutil_socket_t fd = bufferevent_getfd(bev);
	size_t left;

	if (fd >= 0 && evbuffer_get_length(out) > 0) {
		/* The bufferevent keeps its output's start frozen; so does its own writer. */
		evbuffer_unfreeze(out, 1);
		(void)evbuffer_write(out, fd);
		evbuffer_freeze(out, 1);
	}
	if ((left = evbuffer_get_length(out)) > 0)
		bufferevent_enable(bev, EV_WRITE);
	return left;
}
