/*
 * fuzz_ws.c: libFuzzer target for the WebSocket frame path (ws.c over
 * libwslay): the bytes a client sends, fed in pieces to one connection on
 * a bufferevent without a socket. The first byte chooses the piece size
 * and whether the server starts a close half-way. Every message handed up
 * must be valid UTF-8 within the message limit (each is echoed back, which
 * exercises the send path); whatever the server writes must be unmasked
 * frames with nothing after its close frame; the owner hears of the end
 * exactly once.
 *
 *	clang -g -fsanitize=fuzzer,address,undefined -I src -I . src/ws.c src/util.c \
 *	    src/buf.c src/xmalloc.c src/strpool.c src/log.c src/bev.c src/reap.c src/httpd.c \
 *	    src/http_req.c src/http_msg.c src/h2.c src/hparse.c src/tls.c \
 *	    tests/fuzz/fuzz_ws.c -lwslay -levent_openssl -levent -lnghttp2 -lssl -lcrypto \
 *	    -o fuzz_ws
 *
 * With -DFUZZ_STANDALONE it replays the files named on its command line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "ws.h"

#define FUZZ_MAX_MESSAGE 4096

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fuzz_ws {
	struct ws_conn *c;
	int closed;
	int close_seen;
};

/* Whether s is valid UTF-8 (a second, simpler opinion than ws.c's). */
static int
fuzz_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], need, cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			need = 1, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			need = 2, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			return 0;
		if (i + need >= n)
			return 0;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

/* A message: check it and echo it. */
static void
fuzz_message(void *arg, const char *text, size_t len)
{
	struct fuzz_ws *f = arg;

	if (len > FUZZ_MAX_MESSAGE || !fuzz_utf8((const unsigned char *)text, len))
		abort();
	(void)ws_send(f->c, text, len);
}

/* The end: exactly once. */
static void
fuzz_closed(void *arg)
{
	struct fuzz_ws *f = arg;

	if (f->closed++)
		abort();
}

static const struct ws_handler fuzz_handler = { fuzz_message, fuzz_closed };

/* Check and drop what the server wrote: unmasked frames, nothing after a close. */
static void
fuzz_output(struct fuzz_ws *f, struct evbuffer *out)
{
	size_t n = evbuffer_get_length(out);
	unsigned char *p = evbuffer_pullup(out, -1);
	size_t i = 0;

	while (i + 2 <= n) {
		uint64_t len = p[i + 1] & 0x7f;
		size_t hl = 2;

		if (f->close_seen || (p[i + 1] & 0x80) != 0)
			abort();
		if (len == 126) {
			if (i + 4 > n)
				abort();
			len = ((uint64_t)p[i + 2] << 8) | p[i + 3];
			hl = 4;
		} else if (len == 127) {
			if (i + 10 > n)
				abort();
			len = 0;
			for (int k = 0; k < 8; k++)
				len = (len << 8) | p[i + 2 + k];
			hl = 10;
		}
		if (i + hl + len > n)
			abort(); /* frames are written whole */
		if ((p[i] & 0x0f) == 0x8)
			f->close_seen = 1;
		i += hl + (size_t)len;
	}
	if (i != n)
		abort();
	evbuffer_unfreeze(out, 1); /* the bufferevent keeps its output's start frozen */
	evbuffer_drain(out, n);
	evbuffer_freeze(out, 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_limits lim = { 1024, FUZZ_MAX_MESSAGE, (size_t)1 << 30, 0 };
	struct event_base *base;
	struct bufferevent *bev;
	struct fuzz_ws f = { 0 };
	struct ws *ws;
	size_t piece, off;

	if (size < 1)
		return 0;
	piece = 1 + (data[0] & 0x3f) * 7;
	log_set_level(LOG_ERROR);
	base = event_base_new();
	bev = bufferevent_socket_new(base, -1, 0);
	ws = ws_create(base);
	f.c = ws_open(ws, bev, NULL, "fuzz", &lim, &fuzz_handler, &f);
	for (off = 1; off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;

		evbuffer_add(bufferevent_get_input(bev), data + off, n);
		if ((data[0] & 0x80) != 0 && off > size / 2)
			ws_close(f.c, 1001, "fuzz");
		ws_input(f.c);
		fuzz_output(&f, bufferevent_get_output(bev));
	}
	event_base_loop(base, EVLOOP_NONBLOCK); /* the reaper: closed() if the connection ended */
	ws_free(ws);
	if (f.closed != 1)
		abort();
	bufferevent_free(bev);
	event_base_free(base);
	return 0;
}

#ifdef FUZZ_STANDALONE
#include "fuzz_replay.h"

/* Run each file named on the command line through the target. */
int
main(int argc, char **argv)
{
	return fuzz_replay(argc, argv, 1 << 20);
}
#endif
