/*
 * util.h: unguessable identifiers, clocks and small codecs; it includes
 * xmalloc.h (allocation that never returns NULL) and buf.h (the growable
 * byte buffer), which every file uses. Nothing here does I/O.
 */
#ifndef UCGW_UTIL_H
#define UCGW_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "xmalloc.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))
/* The struct of type t whose member m is at p. */
#define container_of(p, t, m) ((t *)(void *)((char *)(p)-offsetof(t, m)))

/* len bytes from the CSPRNG (buffered; aborts if it fails). */
void util_random_bytes(void *, size_t);
/* Fill out with len random characters from alphabet (CSPRNG), NUL-terminated. */
void util_random_id(char *out, size_t len, const char *alphabet);
#define UTIL_ALNUM_UPPER "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define UTIL_HEX	 "0123456789abcdef"
#define UTIL_BASE62	 "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

uint64_t util_now_ms(void);  /* monotonic */
uint64_t util_now_us(void);  /* monotonic */
uint64_t util_wall_ms(void); /* since the epoch */

/* SHA-256 of a followed by b (b may be NULL). */
void util_sha256(const void *a, size_t alen, const void *b, size_t blen, unsigned char out[32]);

/* Constant-time comparison of two strings (lengths may leak). */
int util_streq_ct(const char *, const char *);

/* Case-insensitive ASCII compare of a and the first n bytes of b. */
int util_strncaseeq(const char *a, const char *b, size_t n);

/* Percent-decode (and '+' to space when plus is set) in place; returns new length or -1. */
long util_url_decode(char *s, size_t len, int plus);
/* Percent-encode for application/x-www-form-urlencoded values. */
void util_url_encode(struct buf *, const char *s, size_t len);

/* Base64 (standard alphabet, padded); decode returns -1 on bad input. */
void util_base64_encode(struct buf *, const void *, size_t);
long util_base64_decode(struct buf *, const char *, size_t);

/* dst = the strings of parts (up to a NULL) one after the other, cut to cap like
 * snprintf: labels on hot paths without a format. */
char *util_join(char *dst, size_t cap, const char *const *parts);
/* v in decimal, in tmp; returns where it starts. */
const char *util_itoa(long long v, char tmp[24]);

#endif
