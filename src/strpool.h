/*
 * strpool.h: strings copied into a few chunks that are freed together, for
 * the many short strings of one parsed message (header names and values,
 * the members an event-channel answer keeps): one allocation instead of one
 * per string. The pool is the pointer to its newest chunk; NULL is empty.
 */
#ifndef UCGW_STRPOOL_H
#define UCGW_STRPOOL_H

#include <stddef.h>

struct strpool_chunk;

/* A copy of s (len bytes, NUL added) in the pool; first: the allocation of
 * the pool's first chunk (later ones double, and are as large as needed). */
char *strpool_ndup(struct strpool_chunk **pool, size_t first, const char *s, size_t len);
/* Free every string of the pool; it is empty again. */
void strpool_clear(struct strpool_chunk **pool);

#endif
