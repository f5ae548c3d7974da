/*
 * buf.h: a growable byte buffer.
 */
#ifndef UCGW_BUF_H
#define UCGW_BUF_H

#include <stddef.h>
#include <string.h>

/* A growable byte buffer; data is always NUL-terminated for convenience. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_init(struct buf *);
void buf_free(struct buf *);
void buf_reset(struct buf *);
void buf_grow(struct buf *, size_t);
/* Make room for n more bytes plus the NUL; growing is out of line. */
static inline void
buf_reserve(struct buf *b, size_t n)
{
	if (b->cap - b->len <= n) /* len < cap once data exists; 0 - 0 <= n when not */
		buf_grow(b, n);
}
/* Append n bytes (inline: the hot paths append many short pieces). */
static inline void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n != 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}
/* Append one character. */
static inline void
buf_addch(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}
/* Append a string (inline: most are literals, whose length is known). */
static inline void
buf_addstr(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_printf(struct buf *, const char *, ...) __attribute__((format(printf, 2, 3)));
void buf_addint(struct buf *, long long);
void buf_add_header(struct buf *, const char *name, const char *value); /* HTTP "name: value\r\n" */
char *buf_detach(struct buf *, size_t *);

#endif
