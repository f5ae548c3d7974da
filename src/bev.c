/*
 * bev.c: immediate writes on plain socket bufferevents (see bev.h). The
 * caller queues its bytes while the write event is held, then writes them
 * in the same call; whatever the socket does not take goes back to the
 * bufferevent, which also reports any error the write met. And the read
 * side of plain sockets: an event of our own on the socket, readv into the
 * bufferevent's input, the bufferevent's callbacks called as libevent would.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>

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

/* ---- the reader ---- */

#define BEV_RD_CHUNK 4096  /* bytes asked for by one readv */
#define BEV_RD_MAX   16384 /* most bytes read in one callback */

struct bev_rd {
	struct bufferevent *bev;	/* not owned */
	struct event *ev;		/* the socket readable, or the idle timeout */
	struct evbuffer_cb_entry *wake; /* on the input: room again below high */
	struct timeval idle;
	int has_idle;
	int on;	     /* the owner wants input */
	size_t high; /* read no more at this much buffered input (0: no bound) */
};

/* Watch the socket while reading is on and the input has room; else wait for room. */
static void
bev_rd_arm(struct bev_rd *rd)
{
	struct evbuffer *in = bufferevent_get_input(rd->bev);
	int full = rd->high > 0 && evbuffer_get_length(in) >= rd->high;

	if (rd->on && !full)
		event_add(rd->ev, rd->has_idle ? &rd->idle : NULL);
	else
		event_del(rd->ev);
	if (rd->on && full)
		evbuffer_cb_set_flags(in, rd->wake, EVBUFFER_CB_ENABLED);
	else
		evbuffer_cb_clear_flags(in, rd->wake, EVBUFFER_CB_ENABLED);
}

/* The owner took input out of a full buffer: watch the socket again. */
static void
bev_rd_wake(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
	struct bev_rd *rd = arg;

	if (info->n_deleted > 0 && evbuffer_get_length(in) < rd->high)
		bev_rd_arm(rd);
}

/*
 * One readv of at most want bytes into in. Returns the bytes read, 0 at end
 * of file, -1 with errno set.
 */
static ssize_t
bev_rd_once(evutil_socket_t fd, struct evbuffer *in, size_t want)
{
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	size_t left = want;
	ssize_t n;
	int nv, i;

	if ((nv = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2)) <= 0) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len < left ? v[i].iov_len : left;
		left -= iov[i].iov_len;
	}
	if ((n = readv(fd, iov, nv)) <= 0)
		return n;
	left = (size_t)n;
	for (i = 0; i < nv && left > 0; i++) {
		v[i].iov_len = iov[i].iov_len < left ? iov[i].iov_len : left;
		left -= v[i].iov_len;
	}
	evbuffer_commit_space(in, v, i);
	return n;
}

/* The socket is readable (or the idle timeout passed): read, then call the owner. */
static void
bev_rd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bev_rd *rd = arg;
	struct bufferevent *bev = rd->bev;
	struct evbuffer *in = bufferevent_get_input(bev);
	bufferevent_data_cb readcb;
	bufferevent_event_cb eventcb;
	void *cbarg;
	size_t got = 0, want, have;
	short stop = 0;
	int err = 0;
	ssize_t n;

	if (what & EV_TIMEOUT)
		stop = BEV_EVENT_TIMEOUT;
	while (stop == 0 && got < BEV_RD_MAX) {
		want = BEV_RD_CHUNK;
		have = evbuffer_get_length(in);
		if (rd->high > 0 && have + want > rd->high)
			want = have < rd->high ? rd->high - have : 0;
		if (want == 0)
			break;
		/* the bufferevent keeps its input's end frozen; so does its own reader */
		evbuffer_unfreeze(in, 0);
		n = bev_rd_once(fd, in, want);
		evbuffer_freeze(in, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		if (n <= 0) {
			/* what was read goes first; the socket says it again next turn */
			if (got == 0) {
				stop = n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR;
				err = errno;
			}
			break;
		}
		got += (size_t)n;
		if ((size_t)n < want)
			break;
	}
	if (rd->high > 0 && evbuffer_get_length(in) >= rd->high)
		bev_rd_arm(rd); /* full: wait for room */
	bufferevent_getcb(bev, &readcb, NULL, &eventcb, &cbarg);
	if (stop != 0) {
		rd->on = 0;
		bev_rd_arm(rd);
		if (eventcb != NULL) {
			errno = err;
			eventcb(bev, (short)(BEV_EVENT_READING | stop), cbarg);
		}
	} else if (got > 0 && readcb != NULL)
		readcb(bev, cbarg);
}

/* A reader for bev's socket, reading off. */
struct bev_rd *
bev_rd_new(struct bufferevent *bev)
{
	struct bev_rd *rd = calloc(1, sizeof *rd);
	evutil_socket_t fd = bufferevent_getfd(bev);

	if (rd == NULL || fd < 0) {
		free(rd);
		return NULL;
	}
	rd->bev = bev;
	rd->ev = event_new(bufferevent_get_base(bev), fd, EV_READ | EV_PERSIST, bev_rd_cb, rd);
	rd->wake = evbuffer_add_cb(bufferevent_get_input(bev), bev_rd_wake, rd);
	if (rd->ev == NULL || rd->wake == NULL) {
		bev_rd_free(rd);
		return NULL;
	}
	evbuffer_cb_clear_flags(bufferevent_get_input(bev), rd->wake, EVBUFFER_CB_ENABLED);
	return rd;
}

/* Stop and free a reader. */
void
bev_rd_free(struct bev_rd *rd)
{
	if (rd == NULL)
		return;
	if (rd->ev != NULL)
		event_free(rd->ev);
	if (rd->wake != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(rd->bev), rd->wake);
	free(rd);
}

/* Hand reading back to the bufferevent, on if the reader was. */
void
bev_rd_release(struct bev_rd *rd)
{
	struct bufferevent *bev = rd->bev;
	int on = rd->on;

	bev_rd_free(rd);
	if (on)
		bufferevent_enable(bev, EV_READ);
}

/* Read or not. */
void
bev_rd_set(struct bev_rd *rd, int on)
{
	rd->on = on;
	bev_rd_arm(rd);
}

/* The idle timeout (NULL: none), from now. */
void
bev_rd_timeout(struct bev_rd *rd, const struct timeval *tv)
{
	rd->has_idle = tv != NULL;
	if (tv != NULL)
		rd->idle = *tv;
	if (rd->on)
		bev_rd_arm(rd);
}

/* The bound on buffered input. */
void
bev_rd_bound(struct bev_rd *rd, size_t high)
{
	rd->high = high;
	bev_rd_arm(rd);
}
