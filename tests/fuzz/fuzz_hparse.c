/*
 * fuzz_hparse.c: libFuzzer target for the HTTP/1.1 parser. The first two
 * input bytes choose the side, the limits, HEAD-like responses and how the
 * rest is split; the rest is a stream of pipelined messages. The stream is
 * parsed once whole and once in pieces (by a caller that keeps unconsumed
 * bytes) and both must see the same messages and the same error; beyond
 * that, the sanitizers watch memory.
 *
 *	clang -g -fsanitize=fuzzer,address,undefined -I src src/hparse.c \
 *	    src/util.c src/buf.c src/xmalloc.c src/strpool.c tests/fuzz/fuzz_hparse.c \
 *	    -o fuzz_hparse
 *
 * With -DFUZZ_STANDALONE it is a plain program that runs the files named
 * on its command line through the same function.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hparse.h"

#define FUZZ_MAX_MSGS 64

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const struct hparse_limits fuzz_limits[] = {
	{ 64, 256, 8, 128 },
	{ 8192, 65536, 100, 1 << 20 },
};

/* Fold n bytes into an FNV-1a hash. */
static void
fuzz_hash(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n-- > 0) {
		*h ^= *s++;
		*h *= 1099511628211ull;
	}
}

/* Fold a string (or its absence) into the hash. */
static void
fuzz_hash_str(uint64_t *h, const char *s)
{
	if (s == NULL)
		fuzz_hash(h, "\1", 1);
	else
		fuzz_hash(h, s, strlen(s) + 1);
}

/* Fold a finished message into the hash, checking what can be checked. */
static void
fuzz_hash_msg(uint64_t *h, const struct hparse_msg *m)
{
	int v[5] = { m->status, m->minor, m->keep_alive, m->chunked, m->upgrade_h2c };
	size_t i;

	fuzz_hash_str(h, m->method);
	fuzz_hash_str(h, m->target);
	fuzz_hash_str(h, m->reason);
	fuzz_hash(h, v, sizeof v);
	for (i = 0; i < m->nheaders; i++) {
		fuzz_hash_str(h, m->headers[i].name);
		fuzz_hash_str(h, m->headers[i].value);
		if (hparse_header(m, m->headers[i].name) == NULL)
			abort();
	}
	fuzz_hash(h, &m->body.len, sizeof m->body.len);
	if (m->body.len > 0)
		fuzz_hash(h, m->body.data, m->body.len);
}

/* Size of the next piece the caller receives: 0 means everything. */
static size_t
fuzz_piece(unsigned mode, uint32_t *seed, size_t left)
{
	size_t n;

	if (mode == 0 || left <= 1)
		return (left);
	if (mode == 1)
		return (1);
	*seed = *seed * 1103515245u + 12345u;
	n = 1 + (*seed >> 16) % (mode == 2 ? 7 : 300);
	return (n < left ? n : left);
}

/*
 * Run the whole stream through one parser, message after message, and
 * return a hash of everything it reported.
 */
static uint64_t
fuzz_run(const struct hparse_limits *lim, enum hparse_kind kind, int no_body, unsigned mode,
    uint32_t seed, const char *s, size_t len)
{
	struct hparse *p = hparse_new(kind, lim);
	enum hparse_result r = HPARSE_MORE;
	uint64_t h = 14695981039346656037ull;
	size_t pos = 0, avail = 0, c, msgs = 0, before;

	if (no_body)
		hparse_set_no_body(p);
	while (msgs < FUZZ_MAX_MSGS) {
		if (avail == pos || (r == HPARSE_MORE && avail < len))
			avail += fuzz_piece(mode, &seed, len - avail);
		before = (size_t)hparse_started(p);
		r = hparse_feed(p, s + pos, avail - pos, &c);
		if (c > avail - pos || (size_t)hparse_started(p) != before + c)
			abort();
		pos += c;
		if (r == HPARSE_ERROR)
			break;
		if (r == HPARSE_MORE) {
			if (avail < len)
				continue;
			r = hparse_eof(p);
			if (r == HPARSE_ERROR)
				break;
		}
		fuzz_hash_msg(&h, hparse_msg(p));
		msgs++;
		if (hparse_msg(p)->upgrade_h2c || pos == len)
			break;
		hparse_reset(p);
		if (no_body)
			hparse_set_no_body(p);
	}
	if (r == HPARSE_ERROR) {
		if (hparse_error_str(p) == NULL)
			abort();
		fuzz_hash(&h, "E", 1);
		c = (size_t)hparse_error_status(p);
		fuzz_hash(&h, &c, sizeof c);
	}
	hparse_free(p);
	return (h);
}

/* libFuzzer entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct hparse_limits *lim;
	enum hparse_kind kind;
	uint64_t a, b;
	int no_body;

	if (size < 2)
		return (0);
	kind = data[0] & 1 ? HPARSE_RESPONSE : HPARSE_REQUEST;
	no_body = (data[0] >> 1) & 1;
	lim = &fuzz_limits[(data[0] >> 2) & 1];
	a = fuzz_run(lim, kind, no_body, 0, 0, (const char *)data + 2, size - 2);
	b = fuzz_run(lim, kind, no_body, 1 + ((data[0] >> 3) % 3), data[1], (const char *)data + 2,
	    size - 2);
	if (a != b) {
		fprintf(stderr, "whole and split parsing disagree\n");
		abort();
	}
	return (0);
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
