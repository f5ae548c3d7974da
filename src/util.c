/*
 * util.c: random identifiers from OpenSSL's CSPRNG, clocks and small codecs
 * (percent and base64). Pure helpers: no I/O, no global state.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util.h"

/*
 * Random bytes from a pool refilled from OpenSSL's CSPRNG 1 KiB at a time:
 * one RAND_bytes call per 1 KiB instead of one per identifier (each call
 * costs a getpid and thousands of instructions). The process never forks,
 * so the pool is never shared; bytes handed out are wiped from it.
 */
void
util_random_bytes(void *out, size_t len)
{
	static unsigned char pool[1024];
	static size_t avail;
	unsigned char *o = out;
	size_t n;

	while (len > 0) {
		if (avail == 0) {
			if (RAND_bytes(pool, sizeof pool) != 1)
				abort();
			avail = sizeof pool;
		}
		n = len < avail ? len : avail;
		memcpy(o, pool + avail - n, n);
		OPENSSL_cleanse(pool + avail - n, n);
		avail -= n;
		o += n;
		len -= n;
	}
}

/* len random characters from alphabet, without modulo bias. */
void
util_random_id(char *out, size_t len, const char *alphabet)
{
	size_t n = strlen(alphabet), i = 0;
	unsigned limit = 256 - (256 % n);
	unsigned char rnd[64];

	while (i < len) {
		size_t want = len - i < sizeof rnd ? len - i : sizeof rnd;

		util_random_bytes(rnd, want);
		for (size_t j = 0; j < want; j++) {
			if (rnd[j] < limit)
				out[i++] = alphabet[rnd[j] % n];
		}
	}
	out[len] = '\0';
	OPENSSL_cleanse(rnd, sizeof rnd);
}

/* Milliseconds on the monotonic clock. */
uint64_t
util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Monotonic microseconds. */
uint64_t
util_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Milliseconds since the epoch. */
uint64_t
util_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* SHA-256 of a followed by b. */
void
util_sha256(const void *a, size_t alen, const void *b, size_t blen, unsigned char out[32])
{
	static EVP_MD *md; /* fetched once: an implicit fetch per call is slow */
	static EVP_MD_CTX *ctx;

	if (md == NULL && (md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		abort();
	if (ctx == NULL && (ctx = EVP_MD_CTX_new()) == NULL)
		abort();
	if (EVP_DigestInit_ex2(ctx, md, NULL) != 1)
		abort();
	EVP_DigestUpdate(ctx, a, alen);
	if (b != NULL)
		EVP_DigestUpdate(ctx, b, blen);
	EVP_DigestFinal_ex(ctx, out, NULL);
}

/* Compare two secrets without an early exit on the first difference. */
int
util_streq_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* ASCII case-insensitive equality of a (NUL-terminated) and b[0..n). */
int
util_strncaseeq(const char *a, const char *b, size_t n)
{
	return strlen(a) == n && strncasecmp(a, b, n) == 0;
}

/* Value of one hex digit, or -1. */
static int
util_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s in place (plus: '+' means space). */
long
util_url_decode(char *s, size_t len, int plus)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (len - i < 3)
				return -1;
			hi = util_hexval((unsigned char)s[i + 1]);
			lo = util_hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			s[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (plus && s[i] == '+')
			s[o++] = ' ';
		else
			s[o++] = s[i];
	}
	s[o] = '\0';
	return (long)o;
}

/* Percent-encode everything but unreserved characters. */
void
util_url_encode(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			buf_addch(b, (char)c);
		else {
			buf_addch(b, '%');
			buf_addch(b, hex[c >> 4]);
			buf_addch(b, hex[c & 15]);
		}
	}
}

static const char util_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard padded base64. */
void
util_base64_encode(struct buf *b, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = p[i] << 16 | p[i + 1] << 8 | p[i + 2];

		buf_addch(b, util_b64[v >> 18]);
		buf_addch(b, util_b64[(v >> 12) & 63]);
		buf_addch(b, util_b64[(v >> 6) & 63]);
		buf_addch(b, util_b64[v & 63]);
	}
	if (i < len) {
		unsigned v = p[i] << 16 | (i + 1 < len ? p[i + 1] << 8 : 0);

		buf_addch(b, util_b64[v >> 18]);
		buf_addch(b, util_b64[(v >> 12) & 63]);
		buf_addch(b, i + 1 < len ? util_b64[(v >> 6) & 63] : '=');
		buf_addch(b, '=');
	}
}

/* Value of a base64 character, or -1. */
static int
util_b64val(int c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(util_b64, c);
	return p ? (int)(p - util_b64) : -1;
}

/* Decode base64 (padding optional, white space not allowed). */
long
util_base64_decode(struct buf *b, const char *s, size_t len)
{
	unsigned v = 0, bits = 0;
	size_t start = b->len;

	while (len > 0 && s[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++) {
		int d = util_b64val((unsigned char)s[i]);

		if (d < 0)
			return -1;
		v = (v << 6) | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addch(b, (char)((v >> bits) & 0xff));
		}
	}
	return (long)(b->len - start);
}

/* Join parts into dst, cut to cap (see util.h). */
char *
util_join(char *dst, size_t cap, const char *const *parts)
{
	size_t n = 0, len;

	if (cap == 0)
		return dst;
	for (; *parts != NULL && n + 1 < cap; parts++) {
		len = strlen(*parts);
		if (len > cap - 1 - n)
			len = cap - 1 - n;
		memcpy(dst + n, *parts, len);
		n += len;
	}
	dst[n] = '\0';
	return dst;
}

/* v in decimal (see util.h). */
const char *
util_itoa(long long v, char tmp[24])
{
	char *p = tmp + 24;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	*--p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	return p;
}
