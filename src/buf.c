/*
 * buf.c: struct buf, the growable byte buffer every layer writes into
 * (requests, responses, JSON); its data is always NUL-terminated.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

/* Start an empty buffer. */
void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Release a buffer's memory. */
void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

/* Empty a buffer, keeping its memory. */
void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Grow to room for n more bytes plus the terminating NUL (buf_reserve's slow path). */
void
buf_grow(struct buf *b, size_t n)
{
	size_t want = b->len + n + 1;

	if (want <= b->cap)
		return;
	if (want < b->len)
		xmalloc_oom();
	b->cap = b->cap ? b->cap : 64;
	while (b->cap < want)
		b->cap *= 2;
	b->data = xrealloc(b->data, b->cap);
	b->data[b->len] = '\0';
}

/* Append formatted text: one pass when it fits the room already there. */
void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	buf_reserve(b, 64);
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= room) {
		buf_reserve(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* Append an HTTP header line: "name: value" and CRLF, with one reservation. */
void
buf_add_header(struct buf *b, const char *name, const char *value)
{
	size_t n = strlen(name), v = strlen(value);
	char *d;

	buf_reserve(b, n + v + 4);
	d = b->data + b->len;
	memcpy(d, name, n);
	memcpy(d + n, ": ", 2);
	memcpy(d + n + 2, value, v);
	memcpy(d + n + 2 + v, "\r\n", 3); /* with the NUL */
	b->len += n + v + 4;
}

/* Append a decimal integer (no printf on hot paths). */
void
buf_addint(struct buf *b, long long v)
{
	char tmp[24], *p = tmp + sizeof tmp;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	buf_add(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* Take the buffer's memory (never NULL); the buffer is left empty. */
char *
buf_detach(struct buf *b, size_t *len)
{
	char *p;

	buf_reserve(b, 0);
	p = b->data;
	if (len != NULL)
		*len = b->len;
	buf_init(b);
	return p;
}
