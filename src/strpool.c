/*
 * strpool.c: chunks of copied strings, newest first, bump-allocated and
 * freed together.
 */
#include <stdlib.h>
#include <string.h>

#include "strpool.h"
#include "xmalloc.h"

struct strpool_chunk {
	struct strpool_chunk *next;
	size_t used, cap;
	char data[];
};

/* A copy of s (len bytes, NUL added) in the pool. */
char *
strpool_ndup(struct strpool_chunk **pool, size_t first, const char *s, size_t len)
{
	struct strpool_chunk *c = *pool;
	char *d;

	if (c == NULL || c->cap - c->used < len + 1) {
		size_t cap = c != NULL ? c->cap * 2 : first > sizeof *c + 1 ? first - sizeof *c : 1;

		while (cap < len + 1)
			cap *= 2;
		c = xmalloc(sizeof *c + cap);
		c->cap = cap;
		c->used = 0;
		c->next = *pool;
		*pool = c;
	}
	d = c->data + c->used;
	c->used += len + 1;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* Free every string of the pool; it is empty again. */
void
strpool_clear(struct strpool_chunk **pool)
{
	struct strpool_chunk *c, *next;

	for (c = *pool; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	*pool = NULL;
}
