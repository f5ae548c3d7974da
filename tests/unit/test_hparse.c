/*
 * test_hparse.c: unit tests of the HTTP/1.1 parser. Every message is fed
 * whole, one byte at a time and in many random splits by a caller that
 * keeps unconsumed bytes, and all the ways must agree before the test looks
 * at the result; so every test is also a test of incremental parsing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hparse.h"
#include "unit.h"

#define F_EOF	 0x1 /* call hparse_eof if the input ends in MORE */
#define F_NOBODY 0x2 /* hparse_set_no_body before feeding */
#define NSPLITS	 40  /* random splittings tried per message */

static const struct hparse_limits deflim = { 256, 1024, 16, 4096 };

static struct hparse *P;     /* the parser of the whole-feed run */
static enum hparse_result R; /* its result */
static size_t USED;	     /* bytes it consumed */

/* What a run produced, flattened so that runs can be compared. */
struct outcome {
	enum hparse_result res;
	char *dump;
	size_t dumplen;
};

/* Tiny deterministic generator for the random splits. */
static unsigned
rnd(unsigned *state)
{
	*state = *state * 1103515245u + 12345u;
	return (*state >> 16) & 0x7fff;
}

/* How many more bytes the caller receives next: mode 0 all, 1 one, 2 random. */
static size_t
next_chunk(int mode, unsigned *seed, size_t left)
{
	size_t n;

	if (mode == 0)
		return (left);
	if (mode == 1)
		return (1);
	n = 1 + rnd(seed) % (rnd(seed) % 2 ? 4 : 64);
	return (n < left ? n : left);
}

/* Write msg (or the error) to f in a canonical form. */
static void
dump_msg(FILE *f, struct hparse *p, enum hparse_result r, size_t used)
{
	const struct hparse_msg *m = hparse_msg(p);
	size_t i;

	fprintf(f, "res=%d ", (int)r);
	if (r == HPARSE_ERROR) {
		/* where exactly an error is noticed may depend on the split */
		fprintf(f, "status=%d", hparse_error_status(p));
		return;
	}
	fprintf(f,
	    "used=%zu started=%d m=%s t=%s s=%d r=%s v=%d ka=%d ch=%d "
	    "h2=%d\n",
	    used, hparse_started(p), m->method ? m->method : "-", m->target ? m->target : "-",
	    m->status, m->reason ? m->reason : "-", m->minor, m->keep_alive, m->chunked,
	    m->upgrade_h2c);
	for (i = 0; i < m->nheaders; i++)
		fprintf(f, "[%s]=[%s]\n", m->headers[i].name, m->headers[i].value);
	fprintf(f, "body %zu:", m->body.len);
	if (m->body.len)
		fwrite(m->body.data, 1, m->body.len, f);
}

/*
 * Feed data the way a buffering caller does: bytes arrive in chunks, and
 * whatever was not consumed is offered again with the next chunk.
 */
static struct hparse *
run(struct outcome *o, enum hparse_kind kind, const struct hparse_limits *lim, const char *data,
    size_t len, int flags, int mode, unsigned seed)
{
	struct hparse *p = hparse_new(kind, lim);
	enum hparse_result r = HPARSE_MORE;
	size_t pos = 0, avail = 0, c;
	FILE *f;

	if (flags & F_NOBODY)
		hparse_set_no_body(p);
	while (avail < len) {
		avail += next_chunk(mode, &seed, len - avail);
		r = hparse_feed(p, data + pos, avail - pos, &c);
		ck_assert_uint_le(c, avail - pos);
		if (r == HPARSE_MORE)
			ck_assert(c == avail - pos || (c == 0 && pos == 0));
		pos += c;
		if (r != HPARSE_MORE)
			break;
	}
	if (r == HPARSE_MORE && (flags & F_EOF))
		r = hparse_eof(p);
	f = open_memstream(&o->dump, &o->dumplen);
	ck_assert_ptr_nonnull(f);
	dump_msg(f, p, r, pos);
	fclose(f);
	o->res = r;
	if (mode == 0)
		USED = pos;
	return (p);
}

/* Parse data every way; check they agree; leave the whole-feed run in P. */
static void
parse_lim(
    enum hparse_kind kind, const struct hparse_limits *lim, const char *data, size_t len, int flags)
{
	struct outcome whole, other;
	struct hparse *p;
	int i;

	if (P != NULL)
		hparse_free(P);
	P = run(&whole, kind, lim, data, len, flags, 0, 0);
	R = whole.res;
	for (i = 0; i < NSPLITS + 1; i++) {
		p = run(&other, kind, lim, data, len, flags, i == 0 ? 1 : 2, (unsigned)i);
		ck_assert_msg(other.dumplen == whole.dumplen &&
			memcmp(other.dump, whole.dump, whole.dumplen) == 0,
		    "split %d differs:\n%s\n--- vs whole ---\n%s", i, other.dump, whole.dump);
		free(other.dump);
		hparse_free(p);
	}
	free(whole.dump);
}

/* Request with the default limits. */
static void
req(const char *s)
{
	parse_lim(HPARSE_REQUEST, &deflim, s, strlen(s), 0);
}

/* Response with the default limits and flags. */
static void
resp(const char *s, int flags)
{
	parse_lim(HPARSE_RESPONSE, &deflim, s, strlen(s), flags);
}

/* Free the parser of the last parse. */
static void
fin(void)
{
	hparse_free(P);
	P = NULL;
}

/* The last parse failed with this status. */
static void
expect_error(int status)
{
	ck_assert_int_eq(R, HPARSE_ERROR);
	ck_assert_int_eq(hparse_error_status(P), status);
	ck_assert_str_ne(hparse_error_str(P), "no error");
}

/* Build a string in one of a few rotating static buffers. */
static const char *
fmt(const char *f, ...)
{
	static char bufs[4][16384];
	static int n;
	char *b = bufs[n++ % 4];
	va_list ap;

	va_start(ap, f);
	vsnprintf(b, sizeof bufs[0], f, ap);
	va_end(ap);
	return (b);
}

/* A string of n copies of c, in a rotating static buffer. */
static const char *
rep(char c, size_t n)
{
	static char bufs[4][8192];
	static int k;
	char *b = bufs[k++ % 4];

	ck_assert_uint_lt(n, sizeof bufs[0]);
	memset(b, c, n);
	b[n] = '\0';
	return (b);
}

START_TEST(test_simple_get)
{
	const char *s = "GET /a/b?c=d HTTP/1.1\r\nHost: example.org\r\n"
			"Accept:  */*  \r\nX-Empty:\r\n\r\n";

	req(s);
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_uint_eq(USED, strlen(s));
	ck_assert_int_eq(hparse_started(P), (int)strlen(s));
	ck_assert_str_eq(hparse_msg(P)->method, "GET");
	ck_assert_str_eq(hparse_msg(P)->target, "/a/b?c=d");
	ck_assert_int_eq(hparse_msg(P)->minor, 1);
	ck_assert_uint_eq(hparse_msg(P)->nheaders, 3);
	ck_assert_str_eq(hparse_header(hparse_msg(P), "accept"), "*/*");
	ck_assert_str_eq(hparse_header(hparse_msg(P), "x-empty"), "");
	ck_assert_uint_eq(hparse_msg(P)->body.len, 0);
	ck_assert_int_eq(hparse_msg(P)->keep_alive, 1);
	ck_assert_int_eq(hparse_msg(P)->chunked, 0);
	ck_assert_int_eq(hparse_error_status(P), 0);
	fin();
}
END_TEST

START_TEST(test_header_lookup)
{
	req("GET / HTTP/1.1\r\nX-A: one\r\nx-a: two\r\nCONTENT-length: 0\r\n\r\n");
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_str_eq(hparse_header(hparse_msg(P), "X-a"), "one");
	ck_assert_str_eq(hparse_header(hparse_msg(P), "Content-Length"), "0");
	ck_assert_ptr_null(hparse_header(hparse_msg(P), "X-A2"));
	ck_assert_ptr_null(hparse_header(hparse_msg(P), "X-"));
	ck_assert_str_eq(hparse_msg(P)->headers[1].name, "x-a");
	fin();
}
END_TEST

START_TEST(test_bare_lf)
{
	req("POST /p HTTP/1.1\nHost: h\nContent-Length: 3\n\nabc");
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_str_eq(hparse_header(hparse_msg(P), "host"), "h");
	ck_assert_uint_eq(hparse_msg(P)->body.len, 3);
	ck_assert_mem_eq(hparse_msg(P)->body.data, "abc", 3);
	fin();
}
END_TEST

START_TEST(test_leading_empty_lines)
{
	req("\r\n\n\r\n\r\nGET / HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_str_eq(hparse_msg(P)->method, "GET");
	/* one more than the bound of four */
	req("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n");
	expect_error(400);
	fin();
}
END_TEST

START_TEST(test_content_length_body)
{
	const char *s = "POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n"
			"0123456789";

	req(s);
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_uint_eq(USED, strlen(s));
	ck_assert_uint_eq(hparse_msg(P)->body.len, 10);
	ck_assert_mem_eq(hparse_msg(P)->body.data, "0123456789", 10);
	/* short body: still waiting */
	req("POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n012345678");
	ck_assert_int_eq(R, HPARSE_MORE);
	/* no length on a request: no body, the rest is the next message */
	req("POST /x HTTP/1.1\r\n\r\nabc");
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_uint_eq(USED, strlen("POST /x HTTP/1.1\r\n\r\n"));
	ck_assert_uint_eq(hparse_msg(P)->body.len, 0);
	fin();
}
END_TEST

START_TEST(test_content_length_bad)
{
	static const char *bad[] = { "12a", "-1", "+5", "", "1 2", "5,5", "0x10",
		"99999999999999999999999", "18446744073709551616" };
	size_t i;

	for (i = 0; i < nitems(bad); i++) {
		req(fmt("POST / HTTP/1.1\r\nContent-Length: %s\r\n\r\n", bad[i]));
		expect_error(400);
	}
	/* duplicates must agree */
	req("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n"
	    "\r\nabcd");
	expect_error(400);
	req("POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n"
	    "\r\nabc");
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_uint_eq(hparse_msg(P)->body.len, 3);
	fin();
}
END_TEST

START_TEST(test_body_limit_length)
{
	struct hparse_limits lim = deflim;
	const char *s;

	lim.max_body = 8;
	s = "PUT / HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678";
	parse_lim(HPARSE_REQUEST, &lim, s, strlen(s), 0);
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_uint_eq(hparse_msg(P)->body.len, 8);
	s = "PUT / HTTP/1.1\r\nContent-Length: 9\r\n\r\n123456789";
	parse_lim(HPARSE_REQUEST, &lim, s, strlen(s), 0);
	expect_error(413);
	fin();
}
END_TEST

START_TEST(test_chunked)
{
	const char *s = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
			"\r\n5\r\nhello\r\n1;name=val;x=\"q\"\r\n \r\n"
			"A \r\n0123456789\r\n0\r\n\r\nNEXT";

	req(s);
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_int_eq(hparse_msg(P)->chunked, 1);
	ck_assert_uint_eq(USED, strlen(s) - 4);
	ck_assert_uint_eq(hparse_msg(P)->body.len, 16);
	ck_assert_mem_eq(hparse_msg(P)->body.data, "hello 0123456789", 16);
	/* case-insensitive and in a list with empty elements */
	req("POST / HTTP/1.1\r\nTransfer-Encoding: , Chunked ,\r\n\r\n"
	    "0\r\n\r\n");
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_int_eq(hparse_msg(P)->chunked, 1);
	/* not finished without the final empty line */
	req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n");
	ck_assert_int_eq(R, HPARSE_MORE);
	fin();
}
END_TEST

/* Every line of a chunked body ends in CRLF: a bare LF is refused, never read as a line end. */
START_TEST(test_chunked_lines_need_crlf)
{
	req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n");
	expect_error(400);
	ck_assert_str_eq(hparse_error_str(P), "chunked body line not ended by CRLF");
	req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n");
	expect_error(400);
	req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\n\r\n");
	expect_error(400);
	req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n");
	expect_error(400);
}
END_TEST

START_TEST(test_chunked_trailers)
{
	const char *s;
	struct hparse_limits lim = deflim;
	size_t i;

	s = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabc\r\n0\r\nX-Sum: 123\r\nX-More: y\r\n\r\n";
	req(s);
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_uint_eq(USED, strlen(s));
	ck_assert_uint_eq(hparse_msg(P)->body.len, 3);
	/* trailers are dropped, never merged into the headers */
	ck_assert_ptr_null(hparse_header(hparse_msg(P), "X-Sum"));
	ck_assert_uint_eq(hparse_msg(P)->nheaders, 1);
	/* trailers are checked like headers */
	req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\nBad Name: x\r\n\r\n");
	expect_error(400);
	req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\n folded\r\n\r\n");
	expect_error(400);
	/* and share the header limits: count ... */
	lim.max_headers = 3;
	s = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\nA: 1\r\nB: 2\r\n\r\n";
	parse_lim(HPARSE_REQUEST, &lim, s, strlen(s), 0);
	ck_assert_int_eq(R, HPARSE_DONE);
	s = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	parse_lim(HPARSE_REQUEST, &lim, s, strlen(s), 0);
	expect_error(431);
	/* ... and line length */
	s = fmt("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		"0\r\nT: %s\r\n\r\n",
	    rep('t', deflim.max_line - 2));
	i = strlen(s);
	parse_lim(HPARSE_REQUEST, &deflim, s, i, 0);
	expect_error(431);
	fin();
}
END_TEST

START_TEST(test_chunked_bad)
{
	static const char *bad[] = {
		"g\r\n",				       /* not hex */
		"\r\n",					       /* empty size */
		" 5\r\nhello\r\n0\r\n\r\n",		       /* leading space */
		"5x\r\nhello\r\n0\r\n\r\n",		       /* junk after size */
		"-5\r\nhello\r\n", "5\r\nhelloX\r\n0\r\n\r\n", /* data longer than size */
		"5\r\nhello0\r\n\r\n",			       /* no CRLF after data */
		"10000000000000000\r\n",		       /* 17 hex digits: overflow */
		"5;a\x01\r\nhello\r\n",			       /* control byte in extension */
	};
	size_t i;

	for (i = 0; i < nitems(bad); i++) {
		req(fmt("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
			"%s",
		    bad[i]));
		ck_assert_msg(R == HPARSE_ERROR, "case %zu", i);
		expect_error(400);
	}
	/* a chunk-size line is bounded by max_line too */
	req(fmt("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		"1;%s\r\na\r\n0\r\n\r\n",
	    rep('e', deflim.max_line)));
	expect_error(400);
	fin();
}
END_TEST

START_TEST(test_chunked_body_limit)
{
	struct hparse_limits lim = deflim;
	const char *s;

	lim.max_body = 10;
	s = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "4\r\nabcd\r\n6\r\nefghij\r\n0\r\n\r\n";
	parse_lim(HPARSE_REQUEST, &lim, s, strlen(s), 0);
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_uint_eq(hparse_msg(P)->body.len, 10);
	s = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "4\r\nabcd\r\n7\r\nefghijk\r\n0\r\n\r\n";
	parse_lim(HPARSE_REQUEST, &lim, s, strlen(s), 0);
	expect_error(413);
	s = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "ffffffffffffffff\r\n";
	parse_lim(HPARSE_REQUEST, &lim, s, strlen(s), 0);
	expect_error(413);
	fin();
}
END_TEST

START_TEST(test_smuggling)
{
	req("POST / HTTP/1.1\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	expect_error(400);
	req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 5\r\n\r\n0\r\n\r\n");
	expect_error(400);
	/* chunked twice */
	req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	expect_error(400);
	/* Transfer-Encoding in HTTP/1.0 */
	req("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	expect_error(400);
	/* empty Transfer-Encoding */
	req("POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n");
	expect_error(400);
	/* space before the colon, a classic smuggling vector */
	req("POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n");
	expect_error(400);
	/* a name ending in a tab */
	req("POST / HTTP/1.1\r\nContent-Length\t: 1\r\n\r\na");
	expect_error(400);
	fin();
}
END_TEST

START_TEST(test_transfer_coding_unsupported)
{
	req("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
	expect_error(501);
	req("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
	expect_error(501);
	req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked;x=1\r\n\r\n");
	expect_error(501);
	ck_assert_str_eq(hparse_error_str(P), "unsupported transfer coding");
	fin();
}
END_TEST

START_TEST(test_request_line_limit)
{
	size_t max = deflim.max_line;
	const char *line;

	/* "GET /" + a... + " HTTP/1.1" is exactly max_line */
	line = fmt("GET /%s HTTP/1.1", rep('a', max - 14));
	ck_assert_uint_eq(strlen(line), max);
	req(fmt("%s\r\n\r\n", line));
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_uint_eq(strlen(hparse_msg(P)->target), max - 13);
	req(fmt("%s\n\n", line));
	ck_assert_int_eq(R, HPARSE_DONE);
	line = fmt("GET /%s HTTP/1.1", rep('a', max - 13));
	req(fmt("%s\r\n\r\n", line));
	expect_error(414);
	ck_assert_str_eq(hparse_error_str(P), "request line too long");
	/* noticed without waiting for the end of the line */
	req(fmt("GET /%s", rep('a', max)));
	expect_error(414);
	fin();
}
END_TEST

START_TEST(test_header_line_limit)
{
	size_t max = deflim.max_line;

	req(fmt("GET / HTTP/1.1\r\nX: %s\r\n\r\n", rep('v', max - 3)));
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_uint_eq(strlen(hparse_header(hparse_msg(P), "x")), max - 3);
	req(fmt("GET / HTTP/1.1\r\nX: %s\r\n\r\n", rep('v', max - 2)));
	expect_error(431);
	ck_assert_str_eq(hparse_error_str(P), "header line too long");
	/* trailing white space counts: it is part of the line */
	req(fmt("GET / HTTP/1.1\r\nX: %s \r\n\r\n", rep('v', max - 3)));
	expect_error(431);
	fin();
}
END_TEST

START_TEST(test_header_block_limit)
{
	struct hparse_limits lim = deflim;
	const char *s;

	lim.max_header_bytes = 100;
	/* "A: " 40 CRLF = 45, "B: " 50 CRLF = 55: exactly 100 */
	s = fmt("GET / HTTP/1.1\r\nA: %s\r\nB: %s\r\n\r\n", rep('a', 40), rep('b', 50));
	parse_lim(HPARSE_REQUEST, &lim, s, strlen(s), 0);
	ck_assert_int_eq(R, HPARSE_DONE);
	s = fmt("GET / HTTP/1.1\r\nA: %s\r\nB: %s\r\n\r\n", rep('a', 40), rep('b', 51));
	parse_lim(HPARSE_REQUEST, &lim, s, strlen(s), 0);
	expect_error(431);
	/* bare LF lines are one byte shorter each */
	s = fmt("GET / HTTP/1.1\nA: %s\nB: %s\n\n", rep('a', 41), rep('b', 51));
	parse_lim(HPARSE_REQUEST, &lim, s, strlen(s), 0);
	ck_assert_int_eq(R, HPARSE_DONE);
	/* an endless header line is refused before its end arrives */
	lim.max_line = 8000;
	s = fmt("GET / HTTP/1.1\r\nA: %s", rep('a', 200));
	parse_lim(HPARSE_REQUEST, &lim, s, strlen(s), 0);
	expect_error(431);
	fin();
}
END_TEST

START_TEST(test_header_count_limit)
{
	char hdrs[2048] = "";
	size_t i;

	for (i = 0; i < deflim.max_headers; i++)
		strcat(hdrs, fmt("H%zu: %zu\r\n", i, i));
	req(fmt("GET / HTTP/1.1\r\n%s\r\n", hdrs));
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_uint_eq(hparse_msg(P)->nheaders, deflim.max_headers);
	ck_assert_str_eq(hparse_header(hparse_msg(P), "h15"), "15");
	req(fmt("GET / HTTP/1.1\r\n%sOne: more\r\n\r\n", hdrs));
	expect_error(431);
	ck_assert_str_eq(hparse_error_str(P), "too many header fields");
	fin();
}
END_TEST

START_TEST(test_header_syntax)
{
	static const char *bad[] = {
		"Host: a\r\n folded\r\n", /* obs-fold */
		"Host: a\r\n\tfolded\r\n",
		" Host: a\r\n", /* first line folded */
		"Host a\r\n",	/* no colon */
		": a\r\n",	/* empty name */
		"Ho st: a\r\n",
		"Host\x7f: a\r\n",
		"H(st: a\r\n",
		"H\xc3\xa9: a\r\n",
		"X: a\x00"
		"b\r\n",	/* NUL in value */
		"X: a\rb\r\n",	/* CR in value */
		"X: a\x01\r\n", /* control byte */
		"X: a\x7f\r\n",
		"X: a\r\r\n",
	};
	size_t i, n;
	char s[256];

	for (i = 0; i < nitems(bad); i++) {
		n = (size_t)snprintf(s, sizeof s, "GET / HTTP/1.1\r\n");
		/* copy by hand: some cases hold a NUL */
		memcpy(s + n, bad[i], strlen(bad[i]) + (i == 9 ? 4 : 0));
		n += strlen(bad[i]) + (i == 9 ? 4 : 0);
		memcpy(s + n, "\r\n", 2);
		parse_lim(HPARSE_REQUEST, &deflim, s, n + 2, 0);
		ck_assert_msg(R == HPARSE_ERROR, "case %zu", i);
		expect_error(400);
	}
	/* obs-text and tabs are fine inside values, and trimmed at the ends */
	req("GET / HTTP/1.1\r\nX: \t caf\xc3\xa9\tau lait \t\r\n\r\n");
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_str_eq(hparse_header(hparse_msg(P), "X"), "caf\xc3\xa9\tau lait");
	fin();
}
END_TEST

/* Parse the request s[0..len) in one feed: DONE (1), ERROR (0), or abort. */
static int
whole_request_ok(const char *s, size_t len)
{
	struct hparse *p = hparse_new(HPARSE_REQUEST, &deflim);
	enum hparse_result r;
	size_t used;

	r = hparse_feed(p, s, len, &used);
	ck_assert(r == HPARSE_DONE || r == HPARSE_ERROR);
	hparse_free(p);
	return r == HPARSE_DONE;
}

/*
 * Every byte at every position of a 20-byte header name, header value and
 * request-target (the checks read 8 bytes at a time, then byte by byte):
 * accepted exactly when RFC 9110 allows it there.
 */
START_TEST(test_bytes_at_every_position)
{
	char s[256], part[21];
	size_t n;
	int ok;

	for (unsigned b = 0; b < 256; b++) {
		if (b == '\r' || b == '\n')
			continue; /* they end the line */
		for (size_t pos = 0; pos < 20; pos++) {
			memset(part, 'a', 20);
			part[pos] = (char)b;
			/* a header name: tchars only */
			n = (size_t)snprintf(s, sizeof s, "GET / HTTP/1.1\r\n");
			memcpy(s + n, part, 20);
			memcpy(s + n + 20, ": v\r\n\r\n", 7);
			ok = (b >= '0' && b <= '9') || ((b | 0x20) >= 'a' && (b | 0x20) <= 'z') ||
			    (b != 0 && strchr("!#$%&'*+-.^_`|~", (int)b) != NULL);
			if (b != ':') /* else it ends the name */
				ck_assert_msg(whole_request_ok(s, n + 27) == ok,
				    "name byte %u at %zu", b, pos);
			/* a field value: VCHAR, obs-text, SP, HTAB (trimmed at the ends) */
			n = (size_t)snprintf(s, sizeof s, "GET / HTTP/1.1\r\nX: a");
			memcpy(s + n, part, 20);
			memcpy(s + n + 20, "a\r\n\r\n", 5);
			ok = b == '\t' || (b >= 0x20 && b != 0x7f);
			ck_assert_msg(
			    whole_request_ok(s, n + 25) == ok, "value byte %u at %zu", b, pos);
			/* a request-target: visible ASCII */
			n = (size_t)snprintf(s, sizeof s, "GET /");
			memcpy(s + n, part, 20);
			memcpy(s + n + 20, " HTTP/1.1\r\n\r\n", 13);
			ok = b > 0x20 && b < 0x7f;
			ck_assert_msg(
			    whole_request_ok(s, n + 33) == ok, "target byte %u at %zu", b, pos);
		}
	}
}
END_TEST

START_TEST(test_request_line_syntax)
{
	static const char *bad[] = {
		"G(T / HTTP/1.1",
		"GET",
		"GET /",
		"GET  / HTTP/1.1",
		"GET / HTTP/1.1 ",
		" GET / HTTP/1.1",
		"GET /a b HTTP/1.1",
		"GET /\x01 HTTP/1.1",
		"GET /\x80 HTTP/1.1",
		"GET / http/1.1",
		"GET / HTTX/1.1",
		"GET / HTTP/1.10",
		"GET / HTTP/1",
		"GET / HTTP/1.x",
		"GET\t/ HTTP/1.1",
		"GET / HTTP/1.1\rX",
	};
	size_t i;

	for (i = 0; i < nitems(bad); i++) {
		req(fmt("%s\r\n\r\n", bad[i]));
		ck_assert_msg(R == HPARSE_ERROR, "case %zu", i);
		expect_error(400);
	}
	req("M-SEARCH * HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_str_eq(hparse_msg(P)->method, "M-SEARCH");
	ck_assert_str_eq(hparse_msg(P)->target, "*");
	fin();
}
END_TEST

START_TEST(test_version)
{
	req("GET / HTTP/2.0\r\n\r\n");
	expect_error(505);
	req("GET / HTTP/0.9\r\n\r\n");
	expect_error(505);
	req("GET / HTTP/3\r\n\r\n");
	expect_error(505);
	resp("HTTP/2 200 OK\r\n\r\n", 0);
	expect_error(505);
	req("GET / HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_int_eq(hparse_msg(P)->minor, 0);
	req("GET / HTTP/1.7\r\n\r\n");
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_int_eq(hparse_msg(P)->minor, 7);
	ck_assert_int_eq(hparse_msg(P)->keep_alive, 1);
	fin();
}
END_TEST

START_TEST(test_keep_alive)
{
	static const struct {
		const char *s;
		int ka;
	} c[] = {
		{ "GET / HTTP/1.1\r\n\r\n", 1 },
		{ "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nConnection: Upgrade\r\n"
		  "Connection: close\r\n\r\n",
		    0 },
		{ "GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", 1 },
		{ "GET / HTTP/1.1\r\nX-Connection: close\r\n\r\n", 1 },
		{ "GET / HTTP/1.0\r\n\r\n", 0 },
		{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1 },
		{ "GET / HTTP/1.0\r\nConnection: te , keep-alive\r\n\r\n", 1 },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive,close\r\n\r\n", 0 },
		{ "GET / HTTP/1.0\r\nKeep-Alive: 300\r\n\r\n", 0 },
	};
	size_t i;

	for (i = 0; i < nitems(c); i++) {
		req(c[i].s);
		ck_assert_int_eq(R, HPARSE_DONE);
		ck_assert_msg(hparse_msg(P)->keep_alive == c[i].ka, "case %zu", i);
	}
	fin();
}
END_TEST

START_TEST(test_pipelining)
{
	const char *s = "GET /1 HTTP/1.1\r\n\r\n"
			"POST /2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
			"PUT /3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
			"\r\n2\r\nyo\r\n0\r\n\r\nDELETE /4 HTTP/1.0\r\n\r\n";
	static const char *targets[] = { "/1", "/2", "/3", "/4" };
	static const char *bodies[] = { "", "hi", "yo", "" };
	struct hparse *p = hparse_new(HPARSE_REQUEST, &deflim);
	size_t pos = 0, c, i;

	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(hparse_feed(p, s + pos, strlen(s) - pos, &c), HPARSE_DONE);
		ck_assert_int_eq(hparse_started(p), (int)c);
		pos += c;
		ck_assert_str_eq(hparse_msg(p)->target, targets[i]);
		ck_assert_uint_eq(hparse_msg(p)->body.len, strlen(bodies[i]));
		/* DONE sticks until reset, consuming nothing */
		ck_assert_int_eq(hparse_feed(p, s + pos, strlen(s) - pos, &c), HPARSE_DONE);
		ck_assert_uint_eq(c, 0);
		hparse_reset(p);
		ck_assert_int_eq(hparse_started(p), 0);
		ck_assert_ptr_null(hparse_msg(p)->target);
		ck_assert_uint_eq(hparse_msg(p)->nheaders, 0);
	}
	ck_assert_uint_eq(pos, strlen(s));
	hparse_free(p);
}
END_TEST

START_TEST(test_pipelining_bytewise)
{
	const char *s = "GET /1 HTTP/1.1\r\nA: 1\r\n\r\n"
			"POST /2 HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"
			"GET /3 HTTP/1.1\r\n\r\n";
	struct hparse *p = hparse_new(HPARSE_REQUEST, &deflim);
	size_t pos = 0, c, n = 0;
	char got[16] = "";

	/* one byte per feed, resetting after every message */
	while (pos < strlen(s)) {
		switch (hparse_feed(p, s + pos, 1, &c)) {
		case HPARSE_DONE:
			strcat(got, hparse_msg(p)->target);
			n++;
			hparse_reset(p);
			break;
		case HPARSE_MORE: break;
		default: ck_abort_msg("error %s", hparse_error_str(p));
		}
		pos += c;
	}
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(got, "/1/2/3");
	hparse_free(p);
}
END_TEST

START_TEST(test_h2_preface)
{
	const char *pre = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	const char *s;
	struct hparse *p;
	size_t c, i;

	s = fmt("%sxyz", pre);
	req(s);
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_uint_eq(USED, 0);
	ck_assert_int_eq(hparse_msg(P)->upgrade_h2c, 1);
	ck_assert_ptr_null(hparse_msg(P)->method);
	/* growing prefixes: MORE and nothing consumed until it is whole */
	p = hparse_new(HPARSE_REQUEST, &deflim);
	for (i = 1; i < strlen(pre); i++) {
		ck_assert_int_eq(hparse_feed(p, pre, i, &c), HPARSE_MORE);
		ck_assert_uint_eq(c, 0);
	}
	ck_assert_int_eq(hparse_feed(p, pre, i, &c), HPARSE_DONE);
	ck_assert_uint_eq(c, 0);
	ck_assert_int_eq(hparse_msg(p)->upgrade_h2c, 1);
	hparse_free(p);
	/* the same start without the rest of the preface is HTTP/2.0: 505 */
	req("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n");
	expect_error(505);
	/* a PRI method with HTTP/1.1 is just a request */
	req("PRI * HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_int_eq(hparse_msg(P)->upgrade_h2c, 0);
	/* a client never sees a preface */
	resp(pre, 0);
	expect_error(400);
	fin();
}
END_TEST

START_TEST(test_h2_preface_only_first)
{
	const char *s = "GET / HTTP/1.1\r\n\r\n"
			"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct hparse *p = hparse_new(HPARSE_REQUEST, &deflim);
	size_t c;

	ck_assert_int_eq(hparse_feed(p, s, strlen(s), &c), HPARSE_DONE);
	hparse_reset(p);
	ck_assert_int_eq(hparse_feed(p, s + c, strlen(s) - c, &c), HPARSE_ERROR);
	ck_assert_int_eq(hparse_error_status(p), 505);
	ck_assert_int_eq(hparse_msg(p)->upgrade_h2c, 0);
	hparse_free(p);
	/* nor after leading empty lines */
	req("\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
	expect_error(505);
	fin();
}
END_TEST

START_TEST(test_response_length)
{
	const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbodyHTTP";

	resp(s, 0);
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_uint_eq(USED, strlen(s) - 4);
	ck_assert_int_eq(hparse_msg(P)->status, 200);
	ck_assert_str_eq(hparse_msg(P)->reason, "OK");
	ck_assert_mem_eq(hparse_msg(P)->body.data, "body", 4);
	ck_assert_int_eq(hparse_msg(P)->keep_alive, 1);
	ck_assert_ptr_null(hparse_msg(P)->method);
	resp("HTTP/1.1 404 Not  Found \r\nContent-Length: 0\r\n\r\n", 0);
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_int_eq(hparse_msg(P)->status, 404);
	ck_assert_str_eq(hparse_msg(P)->reason, "Not  Found ");
	/* the reason phrase may be empty or missing */
	resp("HTTP/1.1 201 \r\nContent-Length: 0\r\n\r\n", 0);
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_str_eq(hparse_msg(P)->reason, "");
	resp("HTTP/1.1 202\r\nContent-Length: 0\r\n\r\n", 0);
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_int_eq(hparse_msg(P)->status, 202);
	fin();
}
END_TEST

START_TEST(test_response_chunked)
{
	resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	     "Connection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	    0);
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_int_eq(hparse_msg(P)->chunked, 1);
	ck_assert_int_eq(hparse_msg(P)->keep_alive, 0);
	ck_assert_mem_eq(hparse_msg(P)->body.data, "abc", 3);
	resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	     "Content-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	    0);
	expect_error(400);
	fin();
}
END_TEST

START_TEST(test_response_until_close)
{
	const char *s = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			"\r\nall of this\r\nis body";
	struct hparse_limits lim = deflim;

	resp(s, 0);
	ck_assert_int_eq(R, HPARSE_MORE);
	ck_assert_uint_eq(USED, strlen(s));
	resp(s, F_EOF);
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_int_eq(hparse_msg(P)->keep_alive, 0);
	ck_assert_uint_eq(hparse_msg(P)->body.len, 20);
	ck_assert_mem_eq(hparse_msg(P)->body.data, "all of this\r\nis body", 20);
	/* bounded too */
	lim.max_body = 19;
	parse_lim(HPARSE_RESPONSE, &lim, s, strlen(s), F_EOF);
	expect_error(413);
	lim.max_body = 20;
	parse_lim(HPARSE_RESPONSE, &lim, s, strlen(s), F_EOF);
	ck_assert_int_eq(R, HPARSE_DONE);
	fin();
}
END_TEST

START_TEST(test_eof_mid_message)
{
	struct hparse *p = hparse_new(HPARSE_REQUEST, &deflim);
	size_t c;

	/* nothing started: an error, but the caller can tell by started() */
	ck_assert_int_eq(hparse_eof(p), HPARSE_ERROR);
	ck_assert_int_eq(hparse_started(p), 0);
	hparse_reset(p);
	ck_assert_int_eq(hparse_feed(p, "GET / HT", 8, &c), HPARSE_MORE);
	ck_assert_int_eq(hparse_started(p), 8);
	ck_assert_int_eq(hparse_eof(p), HPARSE_ERROR);
	ck_assert_int_eq(hparse_error_status(p), 400);
	hparse_free(p);
	resp("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", F_EOF);
	expect_error(400);
	resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", F_EOF);
	expect_error(400);
	resp("HTTP/1.1 200 OK\r\nServer: x\r\n", F_EOF);
	expect_error(400);
	/* an eof after DONE changes nothing */
	resp("HTTP/1.1 204 No Content\r\n\r\n", F_EOF);
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_int_eq(hparse_eof(P), HPARSE_DONE);
	fin();
}
END_TEST

START_TEST(test_response_no_body)
{
	const char *s;
	static const int codes[] = { 100, 101, 103, 204, 304 };
	size_t i;

	/* HEAD: Content-Length describes a body that is not sent */
	s = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nHTTP/1.1";
	resp(s, F_NOBODY);
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_uint_eq(USED, strlen(s) - 8);
	ck_assert_uint_eq(hparse_msg(P)->body.len, 0);
	ck_assert_int_eq(hparse_msg(P)->keep_alive, 1);
	/* without the flag the same head wants a (too large) body */
	resp(s, 0);
	expect_error(413);
	for (i = 0; i < nitems(codes); i++) {
		s = fmt("HTTP/1.1 %d X\r\nContent-Length: 5\r\n\r\nabcde", codes[i]);
		resp(s, 0);
		ck_assert_int_eq(R, HPARSE_DONE);
		ck_assert_int_eq(hparse_msg(P)->status, codes[i]);
		ck_assert_uint_eq(USED, strlen(s) - 5);
	}
	/* reset forgets the flag */
	s = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	resp(s, F_NOBODY);
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_uint_eq(USED, strlen(s) - 2);
	hparse_reset(P);
	ck_assert_int_eq(hparse_feed(P, s, strlen(s), &i), HPARSE_DONE);
	ck_assert_uint_eq(hparse_msg(P)->body.len, 2);
	fin();
}
END_TEST

START_TEST(test_continue_then_final)
{
	const char *s = "HTTP/1.1 100 Continue\r\n\r\n"
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	struct hparse *p = hparse_new(HPARSE_RESPONSE, &deflim);
	size_t c, c2;

	ck_assert_int_eq(hparse_feed(p, s, strlen(s), &c), HPARSE_DONE);
	ck_assert_int_eq(hparse_msg(p)->status, 100);
	hparse_reset(p);
	ck_assert_int_eq(hparse_feed(p, s + c, strlen(s) - c, &c2), HPARSE_DONE);
	ck_assert_int_eq(hparse_msg(p)->status, 200);
	ck_assert_uint_eq(c + c2, strlen(s));
	hparse_free(p);
}
END_TEST

START_TEST(test_status_line_syntax)
{
	static const char *bad[] = {
		"HTTP/1.1 20 OK",
		"HTTP/1.1 2000 OK",
		"HTTP/1.1 200OK",
		"HTTP/1.1 099 X",
		"HTTP/1.1 abc OK",
		"HTTP/1.1",
		"HTTP/1.1 ",
		"HTTX/1.1 200 OK",
		"HTTP/1.1  200 OK",
		"HTTP/1.1 200 O\x01K",
	};
	struct hparse_limits lim = deflim;
	size_t i;
	const char *s;

	for (i = 0; i < nitems(bad); i++) {
		resp(fmt("%s\r\nContent-Length: 0\r\n\r\n", bad[i]), 0);
		ck_assert_msg(R == HPARSE_ERROR, "case %zu", i);
		expect_error(400);
	}
	/* status line bounded by max_line: 400 (414 is for requests) */
	lim.max_line = 20;
	s = "HTTP/1.1 200 abcdefg\r\n\r\n";
	parse_lim(HPARSE_RESPONSE, &lim, s, strlen(s), F_NOBODY);
	ck_assert_int_eq(R, HPARSE_DONE);
	s = "HTTP/1.1 200 abcdefgh\r\n\r\n";
	parse_lim(HPARSE_RESPONSE, &lim, s, strlen(s), F_EOF);
	expect_error(400);
	fin();
}
END_TEST

START_TEST(test_reset_reuse)
{
	struct hparse *p = hparse_new(HPARSE_REQUEST, &deflim);
	const char *s = "POST /u HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n"
			"Content-Length: 3\r\n\r\nxyz";
	size_t c, i;

	/* many messages through one parser: no leak, no stale state */
	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(hparse_feed(p, s, strlen(s), &c), HPARSE_DONE);
		ck_assert_uint_eq(c, strlen(s));
		ck_assert_uint_eq(hparse_msg(p)->nheaders, 4);
		ck_assert_mem_eq(hparse_msg(p)->body.data, "xyz", 3);
		hparse_reset(p);
	}
	/* a caller may take the body out of the message (the strings are the parser's) */
	ck_assert_int_eq(hparse_feed(p, s, strlen(s), &c), HPARSE_DONE);
	free(buf_detach(&hparse_msg_mut(p)->body, NULL));
	hparse_reset(p);
	/* an error sticks until reset, and reset recovers */
	ck_assert_int_eq(hparse_feed(p, "BAD\r\n", 5, &c), HPARSE_ERROR);
	ck_assert_int_eq(hparse_feed(p, s, strlen(s), &c), HPARSE_ERROR);
	ck_assert_uint_eq(c, 0);
	hparse_reset(p);
	ck_assert_int_eq(hparse_error_status(p), 0);
	ck_assert_int_eq(hparse_feed(p, s, strlen(s), &c), HPARSE_DONE);
	hparse_free(p);
}
END_TEST

START_TEST(test_error_strings)
{
	req("GET / HTTP/1.1\r\nA: 1\r\n b\r\n\r\n");
	ck_assert_str_eq(hparse_error_str(P), "obsolete line folding");
	req("GET / HTTP/1.1\r\nA : 1\r\n\r\n");
	ck_assert_str_eq(hparse_error_str(P), "white space before colon");
	req("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n");
	ck_assert_str_eq(hparse_error_str(P), "both Content-Length and Transfer-Encoding");
	req("GET / HTTP/1.1\r\n\r\n");
	ck_assert_str_eq(hparse_error_str(P), "no error");
	fin();
}
END_TEST

START_TEST(test_random_splits_large)
{
	static char s[8192];
	size_t n = 0, i;
	const char *chunk;

	/* a long chunked body with many chunk sizes (its lines end in CRLF: see
	 * test_chunked_lines_need_crlf) */
	n += (size_t)snprintf(s + n, sizeof s - n,
	    "POST /big HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	for (i = 1; i < 60; i++) {
		chunk = rep((char)('a' + i % 26), i);
		n += (size_t)snprintf(
		    s + n, sizeof s - n, "%zx%s\r\n%s\r\n", i, i % 3 ? "" : ";ext=1", chunk);
	}
	n += (size_t)snprintf(s + n, sizeof s - n, "0\r\nT: x\r\n\r\n");
	ck_assert_uint_lt(n, sizeof s - 1);
	req(s);
	ck_assert_int_eq(R, HPARSE_DONE);
	ck_assert_uint_eq(USED, n);
	ck_assert_uint_eq(hparse_msg(P)->body.len, 59 * 60 / 2);
	fin();
}
END_TEST

/* The hparse suite. */
static Suite *
hparse_suite(void)
{
	Suite *s = suite_create("hparse");

	UNIT_ADD(s, test_simple_get);
	UNIT_ADD(s, test_header_lookup);
	UNIT_ADD(s, test_bare_lf);
	UNIT_ADD(s, test_leading_empty_lines);
	UNIT_ADD(s, test_content_length_body);
	UNIT_ADD(s, test_content_length_bad);
	UNIT_ADD(s, test_body_limit_length);
	UNIT_ADD(s, test_chunked);
	UNIT_ADD(s, test_chunked_trailers);
	UNIT_ADD(s, test_chunked_lines_need_crlf);
	UNIT_ADD(s, test_chunked_bad);
	UNIT_ADD(s, test_chunked_body_limit);
	UNIT_ADD(s, test_smuggling);
	UNIT_ADD(s, test_transfer_coding_unsupported);
	UNIT_ADD(s, test_request_line_limit);
	UNIT_ADD(s, test_header_line_limit);
	UNIT_ADD(s, test_header_block_limit);
	UNIT_ADD(s, test_header_count_limit);
	UNIT_ADD(s, test_header_syntax);
	UNIT_ADD(s, test_bytes_at_every_position);
	UNIT_ADD(s, test_request_line_syntax);
	UNIT_ADD(s, test_version);
	UNIT_ADD(s, test_keep_alive);
	UNIT_ADD(s, test_pipelining);
	UNIT_ADD(s, test_pipelining_bytewise);
	UNIT_ADD(s, test_h2_preface);
	UNIT_ADD(s, test_h2_preface_only_first);
	UNIT_ADD(s, test_response_length);
	UNIT_ADD(s, test_response_chunked);
	UNIT_ADD(s, test_response_until_close);
	UNIT_ADD(s, test_eof_mid_message);
	UNIT_ADD(s, test_response_no_body);
	UNIT_ADD(s, test_continue_then_final);
	UNIT_ADD(s, test_status_line_syntax);
	UNIT_ADD(s, test_reset_reuse);
	UNIT_ADD(s, test_error_strings);
	UNIT_ADD(s, test_random_splits_large);
	return (s);
}

UNIT_MAIN(hparse_suite)
