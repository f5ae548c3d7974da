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
void buf_reserve(struct buf *, size_t);
void buf_add(struct buf *, const void *, size_t);
void buf_addstr(struct buf *, const char *);
void buf_addch(struct buf *, char);
void buf_printf(struct buf *, const char *, ...) __attribute__((format(printf, 2, 3)));
void buf_addint(struct buf *, long long);
void buf_add_header(struct buf *, const char *name, const char *value); /* HTTP "name: value\r\n" */
char *buf_detach(struct buf *, size_t *);

#endif
