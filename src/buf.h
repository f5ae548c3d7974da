/*
 * buf.h: a growable byte buffer.
 */
#ifndef UCGW_BUF_H
#define UCGW_BUF_H

#include <stddef.h>

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
void buf_add(struct buf *, const void *, size_t);
void buf_addstr(struct buf *, const char *);
void buf_addch(struct buf *, char);
void buf_printf(struct buf *, const char *, ...) __attribute__((format(printf, 2, 3)));
void buf_addint(struct buf *, long long);
void buf_add_header(struct buf *, const char *name, const char *value); /* HTTP "name: value\r\n" */
char *buf_detach(struct buf *, size_t *);

#endif
