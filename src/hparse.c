/*
 * hparse.c: the incremental HTTP/1.1 parser (RFC 9112) behind hparse.h.
 *
 * It owns one message at a time: the strings of struct hparse_msg (method,
 * target, reason, every header name and value) and its decoded body are
 * allocated here and freed by hparse_reset or hparse_free. A caller holding
 * hparse_msg_mut may take the body (buf_detach); the headers array and the
 * strings stay the parser's: they share one allocation or a few per
 * message, not one per string.
 *
 * Promises:
 *  - bytes may arrive split anywhere; the outcome does not depend on where;
 *  - memory per message is bounded by struct hparse_limits, and nothing is
 *    allocated per byte (lines are parsed in place when they arrive whole);
 *  - after DONE, the bytes that follow the message are left unconsumed;
 *  - framing is strict: conflicting Content-Length, Transfer-Encoding with
 *    Content-Length, obs-fold, bad field names and control bytes in values
 *    are refused, so a proxy behind us cannot be told a different story;
 *  - on the server side the HTTP/2 preface is recognised at the start of
 *    the connection and reported as DONE/upgrade_h2c with nothing consumed.
 *
 * Limits: a line is counted without its CRLF (or LF). The header block is
 * the raw bytes of the field lines, terminators included, without the start
 * line and the final empty line. Trailers are checked like header fields,
 * share the header limits, and are then dropped: they are never merged into
 * the headers.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hparse.h"
#include "strpool.h"

#define HPARSE_MAX_EMPTY   4 /* leading empty lines tolerated */
#define HPARSE_PREFACE	   "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define HPARSE_PREFACE_LEN (sizeof HPARSE_PREFACE - 1)

enum hparse_state {
	HPARSE_S_FIRST, /* request line or status line */
	HPARSE_S_HEADERS,
	HPARSE_S_BODY_LEN, /* Content-Length body */
	HPARSE_S_BODY_EOF, /* response body until the peer closes */
	HPARSE_S_CHUNK_SIZE,
	HPARSE_S_CHUNK_DATA,
	HPARSE_S_CHUNK_END, /* the CRLF after chunk data */
	HPARSE_S_TRAILERS,
	HPARSE_S_DONE,
	HPARSE_S_ERROR,
};

/* The headers that frame a message, noted as they arrive (hparse_add_header) */
#define HPARSE_F_LENGTH	    0x1 /* Content-Length */
#define HPARSE_F_TRANSFER   0x2 /* Transfer-Encoding */
#define HPARSE_F_CONNECTION 0x4 /* Connection */
#define HPARSE_F_BAD_LENGTH 0x8 /* a Content-Length not digits, or not the same as another */

/* The first chunk of a message's header strings: one small allocation holds the usual headers */
#define HPARSE_STRS_FIRST 1024

struct hparse {
	enum hparse_kind kind;
	struct hparse_limits lim;
	enum hparse_state state;
	struct hparse_msg msg;
	size_t hcap;		    /* slots in msg.headers */
	struct strpool_chunk *strs; /* the header names and values */

	struct buf line;  /* a line split across feeds */
	unsigned framing; /* HPARSE_F_*: the framing headers this message has */
	uint64_t length;  /* the value of its Content-Length headers (HPARSE_F_LENGTH) */
	size_t nempty;	  /* leading empty lines seen */
	size_t hbytes;	  /* header + trailer bytes */
	size_t nfields;	  /* header + trailer fields */
	uint64_t remain;  /* body or chunk bytes left */
	size_t started;	  /* bytes of this message consumed */
	size_t nmsgs;	  /* messages reset so far */
	int no_body;

	int err_status;
	const char *err_str;
};

/* Record the first error; the parser stays failed until reset. */
static void
hparse_fail(struct hparse *p, int status, const char *why)
{
	if (p->state == HPARSE_S_ERROR)
		return;
	p->state = HPARSE_S_ERROR;
	p->err_status = status;
	p->err_str = why;
}

/*
 * The tchars (RFC 9110 token characters: ALPHA, DIGIT and
 * !#$%&'*+-.^_`|~) as a bitmap of the 128 ASCII codes, low word first,
 * spread into a byte per code (one load per byte of a name).
 */
#define HPARSE_TCHAR_LO 0x03ff6cfa00000000ULL
#define HPARSE_TCHAR_HI 0x57ffffffc7fffffeULL
#define HPARSE_TC(c)	((((c) < 64 ? HPARSE_TCHAR_LO : HPARSE_TCHAR_HI) >> ((c)&63)) & 1)
#define HPARSE_TC4(c)	HPARSE_TC(c), HPARSE_TC(c + 1), HPARSE_TC(c + 2), HPARSE_TC(c + 3)
#define HPARSE_TC16(c)	HPARSE_TC4(c), HPARSE_TC4(c + 4), HPARSE_TC4(c + 8), HPARSE_TC4(c + 12)
#define HPARSE_TC64(c)	HPARSE_TC16(c), HPARSE_TC16(c + 16), HPARSE_TC16(c + 32), HPARSE_TC16(c + 48)
static const unsigned char hparse_tchars[256] = { HPARSE_TC64(0), HPARSE_TC64(64) };

/* Is c a tchar (RFC 9110 token character)? */
static inline int
hparse_tchar(unsigned char c)
{
	return (hparse_tchars[c]);
}

/* Is the whole of s[0..len) a non-empty token? */
static int
hparse_token(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return (0);
	for (i = 0; i < len; i++) {
		if (!hparse_tchar((unsigned char)s[i]))
			return (0);
	}
	return (1);
}

/* Is c allowed in a field value or reason phrase (VCHAR, obs-text, SP, HTAB)? */
static int
hparse_vchar(unsigned char c)
{
	return (c == '\t' || (c >= 0x20 && c != 0x7f));
}

#define HPARSE_ONES  0x0101010101010101ULL
#define HPARSE_HIGHS 0x8080808080808080ULL

/*
 * Whether some byte of the 8 in x may be below n (n <= 128) or equal to
 * 0x7f. A word for which this is 0 has none; a true answer may be wrong
 * (a borrow), so its bytes are then looked at one by one.
 */
static inline uint64_t
hparse_word_doubt(uint64_t x, unsigned n)
{
	uint64_t del = x ^ (0x7f * HPARSE_ONES);

	return (((x - n * HPARSE_ONES) & ~x) | ((del - HPARSE_ONES) & ~del)) & HPARSE_HIGHS;
}

/* Is every byte of s[0..len) allowed in a field value? (8 bytes at a time) */
static int
hparse_vchars(const char *s, size_t len)
{
	size_t i = 0;
	uint64_t w;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		if (hparse_word_doubt(w, 0x20) != 0)
			break;
	}
	for (; i < len; i++) {
		if (!hparse_vchar((unsigned char)s[i]))
			return (0);
	}
	return (1);
}

/* An ASCII letter in lower case; any other byte as it is. */
static inline unsigned char
hparse_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* ASCII case-insensitive equality of s[0..len) and the C string lit. */
static int
hparse_caseeq(const char *s, size_t len, const char *lit)
{
	size_t i;
	unsigned char a, b;

	for (i = 0; i < len; i++) {
		a = hparse_lower((unsigned char)s[i]);
		b = hparse_lower((unsigned char)lit[i]);
		if (b == '\0')
			return (0);
		if (a != b)
			return (0);
	}
	return (lit[len] == '\0');
}

/* ASCII case-insensitive equality of the C strings s and lit, without strlen. */
static int
hparse_caseeq_str(const char *s, const char *lit)
{
	unsigned char a, b;

	for (;; s++, lit++) {
		a = hparse_lower((unsigned char)*s);
		b = hparse_lower((unsigned char)*lit);
		if (a != b)
			return (0);
		if (a == '\0')
			return (1);
	}
}

/* Trim optional white space (SP, HTAB) from both ends of the span (*s, *len). */
static void
hparse_trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/*
 * Split the next element off a comma-separated list (*s, *len), trimmed.
 * Returns 0 once the list is exhausted.
 */
static int
hparse_list_next(const char **s, size_t *len, const char **elt, size_t *elen)
{
	const char *comma;

	if (*len == 0)
		return (0);
	comma = memchr(*s, ',', *len);
	*elt = *s;
	*elen = comma != NULL ? (size_t)(comma - *s) : *len;
	*s += *elen;
	*len -= *elen;
	if (comma != NULL) {
		(*s)++;
		(*len)--;
	}
	hparse_trim(elt, elen);
	return (1);
}

/* Free everything the current message owns and zero it, keeping the array. */
static void
hparse_msg_clear(struct hparse *p)
{
	struct hparse_msg *m = &p->msg;
	struct hparse_header *h = m->headers;

	strpool_clear(&p->strs);
	buf_free(&m->body);
	memset(m, 0, sizeof *m);
	m->headers = h;
	buf_init(&m->body);
}

/* Create a parser for requests (server) or responses (client). */
struct hparse *
hparse_new(enum hparse_kind kind, const struct hparse_limits *lim)
{
	struct hparse *p;

	p = xcalloc(1, sizeof *p);
	p->kind = kind;
	p->lim = *lim;
	buf_init(&p->line);
	buf_init(&p->msg.body);
	p->state = HPARSE_S_FIRST;
	return (p);
}

/* Free the parser and the message it holds. */
void
hparse_free(struct hparse *p)
{
	if (p == NULL)
		return;
	hparse_msg_clear(p);
	free(p->msg.headers);
	buf_free(&p->line);
	free(p);
}

/* Forget the message and get ready for the next one on the connection. */
void
hparse_reset(struct hparse *p)
{
	hparse_msg_clear(p);
	buf_reset(&p->line);
	p->state = HPARSE_S_FIRST;
	p->nempty = p->hbytes = p->nfields = p->started = 0;
	p->framing = 0;
	p->length = 0;
	p->remain = 0;
	p->no_body = 0;
	p->err_status = 0;
	p->err_str = NULL;
	p->nmsgs++;
}

/* The response about to be parsed carries no body (HEAD and the like). */
void
hparse_set_no_body(struct hparse *p)
{
	p->no_body = 1;
}

/*
 * Parse "HTTP/1.<d>" in s[0..len) into msg.minor. Returns 0, or fails the
 * parser with 505 for another major version and 400 for anything else.
 */
static int
hparse_version(struct hparse *p, const char *s, size_t len)
{
	if (len < 6 || memcmp(s, "HTTP/", 5) != 0) {
		hparse_fail(p, 400, "malformed HTTP version");
		return (-1);
	}
	if (s[5] >= '0' && s[5] <= '9' && s[5] != '1') {
		hparse_fail(p, 505, "HTTP version not supported");
		return (-1);
	}
	if (len != 8 || s[5] != '1' || s[6] != '.' || s[7] < '0' || s[7] > '9') {
		hparse_fail(p, 400, "malformed HTTP version");
		return (-1);
	}
	p->msg.minor = s[7] - '0';
	return (0);
}

/* Is every byte of the request-target visible ASCII? */
static int
hparse_target_ok(const char *s, size_t len)
{
	size_t i;
	uint64_t w;

	if (len == 0)
		return (0);
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		if ((hparse_word_doubt(w, 0x21) | (w & HPARSE_HIGHS)) != 0)
			break;
	}
	for (; i < len; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return (0);
	}
	return (1);
}

/* Parse "method SP request-target SP HTTP-version". */
static void
hparse_request_line(struct hparse *p, const char *s, size_t len)
{
	const char *sp1, *sp2;
	size_t mlen, tlen;

	sp1 = memchr(s, ' ', len);
	if (sp1 == NULL || !hparse_token(s, sp1 - s)) {
		hparse_fail(p, 400, "malformed method");
		return;
	}
	mlen = sp1 - s;
	sp2 = memchr(sp1 + 1, ' ', len - mlen - 1);
	tlen = sp2 != NULL ? (size_t)(sp2 - sp1 - 1) : 0;
	if (sp2 == NULL || !hparse_target_ok(sp1 + 1, tlen)) {
		hparse_fail(p, 400, "malformed request target");
		return;
	}
	if (hparse_version(p, sp2 + 1, len - mlen - tlen - 2) != 0)
		return;
	p->msg.method = strpool_ndup(&p->strs, HPARSE_STRS_FIRST, s, mlen);
	p->msg.target = strpool_ndup(&p->strs, HPARSE_STRS_FIRST, sp1 + 1, tlen);
	p->state = HPARSE_S_HEADERS;
}

/* The three-digit status code at s (100 to 999), or 0. */
static int
hparse_status(const char *s)
{
	if (s[0] < '1' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9')
		return (0);
	return ((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
}

/* Parse "HTTP-version SP 3DIGIT [SP reason-phrase]". */
static void
hparse_status_line(struct hparse *p, const char *s, size_t len)
{
	const char *sp, *r;
	size_t vlen;

	sp = memchr(s, ' ', len);
	vlen = sp != NULL ? (size_t)(sp - s) : len;
	if (hparse_version(p, s, vlen) != 0)
		return;
	if (len < vlen + 4) {
		hparse_fail(p, 400, "malformed status line");
		return;
	}
	r = s + vlen + 1;
	if ((p->msg.status = hparse_status(r)) == 0 || (len > vlen + 4 && r[3] != ' ')) {
		hparse_fail(p, 400, "malformed status line");
		return;
	}
	r += 3;
	len -= vlen + 4;
	if (len > 0) {
		r++;
		len--;
	}
	if (!hparse_vchars(r, len)) {
		hparse_fail(p, 400, "bad byte in reason phrase");
		return;
	}
	p->msg.reason = strpool_ndup(&p->strs, HPARSE_STRS_FIRST, r, len);
	p->state = HPARSE_S_HEADERS;
}

/* The start line, after any tolerated leading empty lines. */
static void
hparse_first_line(struct hparse *p, const char *s, size_t len)
{
	if (len == 0) {
		if (++p->nempty > HPARSE_MAX_EMPTY)
			hparse_fail(p, 400, "too many empty lines");
		return;
	}
	if (p->kind == HPARSE_REQUEST)
		hparse_request_line(p, s, len);
	else
		hparse_status_line(p, s, len);
}

/*
 * Check one field line "name: value" (header or trailer). On success sets
 * the name and trimmed value spans and returns 0; else fails the parser.
 */
static int
hparse_field(
    struct hparse *p, const char *s, size_t len, const char **v, size_t *nlen, size_t *vlen)
{
	const char *colon;

	if (s[0] == ' ' || s[0] == '\t') {
		hparse_fail(p, 400, "obsolete line folding");
		return (-1);
	}
	colon = memchr(s, ':', len);
	if (colon == NULL) {
		hparse_fail(p, 400, "header line without colon");
		return (-1);
	}
	*nlen = colon - s;
	if (*nlen > 0 && (s[*nlen - 1] == ' ' || s[*nlen - 1] == '\t')) {
		hparse_fail(p, 400, "white space before colon");
		return (-1);
	}
	if (!hparse_token(s, *nlen)) {
		hparse_fail(p, 400, "bad header name");
		return (-1);
	}
	*v = colon + 1;
	*vlen = len - *nlen - 1;
	hparse_trim(v, vlen);
	if (!hparse_vchars(*v, *vlen)) {
		hparse_fail(p, 400, "bad byte in header value");
		return (-1);
	}
	return (0);
}

/* Count one more header or trailer field against max_headers. */
static int
hparse_count_field(struct hparse *p)
{
	if (++p->nfields > p->lim.max_headers) {
		hparse_fail(p, 431, "too many header fields");
		return (-1);
	}
	return (0);
}

/*
 * Note one Content-Length value v[0..vlen): every copy must be digits and
 * all must agree; a bad one is reported once the header block ends
 * (hparse_content_length), as when the headers were scanned then.
 */
static void
hparse_add_length(struct hparse *p, const char *v, size_t vlen)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < vlen; i++) {
		if (v[i] < '0' || v[i] > '9' || n > (UINT64_MAX - 9) / 10)
			break;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (vlen == 0 || i < vlen || ((p->framing & HPARSE_F_LENGTH) && n != p->length))
		p->framing |= HPARSE_F_BAD_LENGTH;
	p->framing |= HPARSE_F_LENGTH;
	p->length = n;
}

/* Append a header field to the message. */
static void
hparse_add_header(struct hparse *p, const char *s, size_t len)
{
	struct hparse_msg *m = &p->msg;
	const char *v;
	size_t nlen, vlen;

	if (hparse_field(p, s, len, &v, &nlen, &vlen) != 0 || hparse_count_field(p) != 0)
		return;
	if (m->nheaders == p->hcap) {
		p->hcap = p->hcap == 0 ? 16 : p->hcap * 2;
		m->headers = xreallocarray(m->headers, p->hcap, sizeof *m->headers);
	}
	if (nlen == 14 && hparse_caseeq(s, nlen, "content-length"))
		hparse_add_length(p, v, vlen);
	else if (nlen == 17 && hparse_caseeq(s, nlen, "transfer-encoding"))
		p->framing |= HPARSE_F_TRANSFER;
	else if (nlen == 10 && hparse_caseeq(s, nlen, "connection"))
		p->framing |= HPARSE_F_CONNECTION;
	m->headers[m->nheaders].name = strpool_ndup(&p->strs, HPARSE_STRS_FIRST, s, nlen);
	m->headers[m->nheaders].value = strpool_ndup(&p->strs, HPARSE_STRS_FIRST, v, vlen);
	m->nheaders++;
}

/* First header of that name (case-insensitive), or NULL. */
const char *
hparse_header(const struct hparse_msg *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nheaders; i++) {
		/* the first bytes differ by more than case: not this one */
		if (((m->headers[i].name[0] ^ name[0]) & ~0x20) != 0)
			continue;
		if (hparse_caseeq_str(m->headers[i].name, name))
			return (m->headers[i].value);
	}
	return (NULL);
}

/*
 * The Content-Length of the message: *have is set if there is one. Every
 * copy must be digits and all must agree (checked as they came: hparse_add_length).
 */
static int
hparse_content_length(struct hparse *p, int *have, uint64_t *cl)
{
	*have = (p->framing & HPARSE_F_LENGTH) != 0;
	*cl = p->length;
	if (p->framing & HPARSE_F_BAD_LENGTH) {
		hparse_fail(p, 400, "bad Content-Length");
		return (-1);
	}
	return (0);
}

/* Check one Transfer-Encoding value; only a single "chunked" is understood. */
static int
hparse_te_value(struct hparse *p, const char *s, int *chunked)
{
	const char *e;
	size_t len = strlen(s), elen;

	while (hparse_list_next(&s, &len, &e, &elen)) {
		if (elen == 0)
			continue;
		if (!hparse_caseeq(e, elen, "chunked")) {
			hparse_fail(p, 501, "unsupported transfer coding");
			return (-1);
		}
		if (*chunked) {
			hparse_fail(p, 400, "chunked applied twice");
			return (-1);
		}
		*chunked = 1;
	}
	return (0);
}

/*
 * Find the Transfer-Encoding of the message: *have if present, *chunked if
 * it is "chunked". HTTP/1.0 messages may not use it at all.
 */
static int
hparse_transfer_encoding(struct hparse *p, int *have, int *chunked)
{
	struct hparse_msg *m = &p->msg;
	size_t i;

	*have = *chunked = 0;
	for (i = 0; (p->framing & HPARSE_F_TRANSFER) && i < m->nheaders; i++) {
		if (!hparse_caseeq_str(m->headers[i].name, "transfer-encoding"))
			continue;
		*have = 1;
		if (hparse_te_value(p, m->headers[i].value, chunked) != 0)
			return (-1);
	}
	if (*have && (!*chunked || m->minor == 0)) {
		hparse_fail(p, 400, "bad Transfer-Encoding");
		return (-1);
	}
	return (0);
}

/* Set msg.keep_alive from the version and every Connection header. */
static void
hparse_keep_alive(struct hparse *p)
{
	struct hparse_msg *m = &p->msg;
	const char *s, *e;
	size_t i, len, elen;
	int close_ = 0, ka = 0;

	for (i = 0; (p->framing & HPARSE_F_CONNECTION) && i < m->nheaders; i++) {
		if (!hparse_caseeq_str(m->headers[i].name, "connection"))
			continue;
		s = m->headers[i].value;
		len = strlen(s);
		while (hparse_list_next(&s, &len, &e, &elen)) {
			if (hparse_caseeq(e, elen, "close"))
				close_ = 1;
			else if (hparse_caseeq(e, elen, "keep-alive"))
				ka = 1;
		}
	}
	m->keep_alive = !close_ && (m->minor >= 1 || ka);
}

/* Does this message end with its header block? */
static int
hparse_bodiless(struct hparse *p)
{
	int s = p->msg.status;

	if (p->kind == HPARSE_REQUEST)
		return (0);
	return (p->no_body || (s >= 100 && s < 200) || s == 204 || s == 304);
}

/* A Content-Length body of cl bytes follows. */
static void
hparse_length_body(struct hparse *p, uint64_t cl)
{
	if (cl > p->lim.max_body) {
		hparse_fail(p, 413, "body too large");
		return;
	}
	p->remain = cl;
	p->state = cl == 0 ? HPARSE_S_DONE : HPARSE_S_BODY_LEN;
	buf_reserve(&p->msg.body, cl < 16384 ? cl : 16384);
}

/* The empty line ended the header block: decide how the body is framed. */
static void
hparse_headers_done(struct hparse *p)
{
	uint64_t cl = 0;
	int have_cl, have_te, chunked;

	if (hparse_content_length(p, &have_cl, &cl) != 0 ||
	    hparse_transfer_encoding(p, &have_te, &chunked) != 0)
		return;
	if (have_cl && have_te) {
		hparse_fail(p, 400, "both Content-Length and Transfer-Encoding");
		return;
	}
	hparse_keep_alive(p);
	if (hparse_bodiless(p))
		p->state = HPARSE_S_DONE;
	else if (chunked) {
		p->msg.chunked = 1;
		p->state = HPARSE_S_CHUNK_SIZE;
	} else if (have_cl)
		hparse_length_body(p, cl);
	else if (p->kind == HPARSE_REQUEST)
		p->state = HPARSE_S_DONE;
	else {
		p->msg.keep_alive = 0; /* the close ends the body */
		p->state = HPARSE_S_BODY_EOF;
	}
}

/*
 * Read the hex digits at the start of s[0..len) into *v; returns how many
 * there were, or 0 if none or too many for 64 bits.
 */
static size_t
hparse_hex(const char *s, size_t len, uint64_t *v)
{
	size_t i;
	int d;

	*v = 0;
	for (i = 0; i < len; i++) {
		d = s[i] >= '0' && s[i] <= '9'	 ? s[i] - '0'
		    : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
		    : s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 10
						 : -1;
		if (d < 0)
			break;
		if (*v > (UINT64_MAX >> 4))
			return (0);
		*v = (*v << 4) | (uint64_t)d;
	}
	return (i);
}

/* Parse a chunk-size line: 1*HEXDIG [BWS ";" extensions], ignoring those. */
static void
hparse_chunk_size(struct hparse *p, const char *s, size_t len)
{
	uint64_t v;
	size_t i;

	if ((i = hparse_hex(s, len, &v)) == 0) {
		hparse_fail(p, 400, "bad chunk size");
		return;
	}
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < len && s[i] != ';') {
		hparse_fail(p, 400, "bad chunk size");
		return;
	}
	if (!hparse_vchars(s + i, len - i)) {
		hparse_fail(p, 400, "bad byte in chunk extension");
		return;
	}
	if (v > p->lim.max_body - p->msg.body.len) {
		hparse_fail(p, 413, "body too large");
		return;
	}
	p->remain = v;
	p->state = v == 0 ? HPARSE_S_TRAILERS : HPARSE_S_CHUNK_DATA;
}

/* A trailer field: checked and counted like a header, then dropped. */
static void
hparse_trailer(struct hparse *p, const char *s, size_t len)
{
	const char *v;
	size_t nlen, vlen;

	if (len == 0) {
		p->state = HPARSE_S_DONE;
		return;
	}
	if (hparse_field(p, s, len, &v, &nlen, &vlen) == 0)
		(void)hparse_count_field(p);
}

/* Dispatch one complete line (terminator removed) on the current state. */
static void
hparse_line(struct hparse *p, const char *s, size_t len)
{
	switch (p->state) {
	case HPARSE_S_FIRST: hparse_first_line(p, s, len); break;
	case HPARSE_S_HEADERS:
		if (len == 0)
			hparse_headers_done(p);
		else
			hparse_add_header(p, s, len);
		break;
	case HPARSE_S_CHUNK_SIZE: hparse_chunk_size(p, s, len); break;
	case HPARSE_S_CHUNK_END:
		/* hparse_line_bound lets only an empty line get here */
		p->state = HPARSE_S_CHUNK_SIZE;
		break;
	case HPARSE_S_TRAILERS: hparse_trailer(p, s, len); break;
	default: abort();
	}
}

/* Do lines in this state count towards the header block? */
static int
hparse_in_fields(const struct hparse *p)
{
	return (p->state == HPARSE_S_HEADERS || p->state == HPARSE_S_TRAILERS);
}

/*
 * Fail if a line of n bytes so far (maybe with its CR, never its LF) is
 * already too long. Once the LF is seen, the CR no longer counts (last).
 */
static int
hparse_line_bound(struct hparse *p, size_t n, int last)
{
	size_t max = p->lim.max_line + (last ? 0 : 1);

	if (p->state == HPARSE_S_CHUNK_END)
		max = last ? 0 : 1;
	if (n > max) {
		if (p->state == HPARSE_S_FIRST)
			hparse_fail(p, p->kind == HPARSE_REQUEST ? 414 : 400,
			    p->kind == HPARSE_REQUEST ? "request line too long"
						      : "status line too long");
		else if (hparse_in_fields(p))
			hparse_fail(p, 431, "header line too long");
		else if (p->state == HPARSE_S_CHUNK_END)
			hparse_fail(p, 400, "chunk data overruns its size");
		else
			hparse_fail(p, 400, "chunk size line too long");
		return (-1);
	}
	return (0);
}

/*
 * Fail if the field lines so far plus raw bytes of the current one exceed
 * max_header_bytes. An unfinished line may yet be the final empty line, so
 * it only counts once it is longer than a lone CR.
 */
static int
hparse_block_bound(struct hparse *p, size_t raw, int last)
{
	if (!hparse_in_fields(p))
		return (0);
	if (!last && raw <= 1)
		return (0);
	if (p->hbytes + raw > p->lim.max_header_bytes) {
		hparse_fail(p, 431, "header block too large");
		return (-1);
	}
	if (last)
		p->hbytes += raw;
	return (0);
}

/* Finish a line whose LF is at s[len]; its start may be buffered. */
static void
hparse_line_end(struct hparse *p, const char *s, size_t len)
{
	size_t raw = p->line.len + len + 1, n = raw - 1;
	char last = 0;

	if (n > 0) {
		last = len > 0 ? s[len - 1] : p->line.data[p->line.len - 1];
		if (last == '\r')
			n--;
	}
	/* Lines of a chunked body end in CRLF: a bare LF is how smuggling starts. */
	if (last != '\r' &&
	    (p->state == HPARSE_S_CHUNK_SIZE || p->state == HPARSE_S_CHUNK_END ||
		p->state == HPARSE_S_TRAILERS)) {
		buf_reset(&p->line);
		hparse_fail(p, 400, "chunked body line not ended by CRLF");
		return;
	}
	if (hparse_line_bound(p, n, 1) != 0 || (n > 0 && hparse_block_bound(p, raw, 1) != 0)) {
		buf_reset(&p->line);
		return;
	}
	if (p->line.len == 0) {
		hparse_line(p, s, n);
		return;
	}
	buf_add(&p->line, s, len);
	hparse_line(p, p->line.data, n);
	buf_reset(&p->line);
}

/* Take bytes of a line-oriented state; returns how many were used. */
static size_t
hparse_step_line(struct hparse *p, const char *s, size_t len)
{
	const char *lf;
	size_t n;

	lf = memchr(s, '\n', len);
	if (lf != NULL) {
		hparse_line_end(p, s, lf - s);
		return (lf - s + 1);
	}
	n = p->line.len + len;
	if (hparse_line_bound(p, n, 0) != 0 || hparse_block_bound(p, n, 0) != 0)
		return (len);
	buf_add(&p->line, s, len);
	return (len);
}

/* Take body bytes: up to p->remain, or all of them until close. */
static size_t
hparse_step_body(struct hparse *p, const char *s, size_t len)
{
	if (p->state == HPARSE_S_BODY_EOF) {
		if (len > p->lim.max_body - p->msg.body.len) {
			hparse_fail(p, 413, "body too large");
			return (len);
		}
	} else if (len > p->remain)
		len = p->remain;
	buf_add(&p->msg.body, s, len);
	if (p->state == HPARSE_S_BODY_EOF)
		return (len);
	p->remain -= len;
	if (p->remain == 0)
		p->state = p->state == HPARSE_S_BODY_LEN ? HPARSE_S_DONE : HPARSE_S_CHUNK_END;
	return (len);
}

/*
 * At the very start of a server connection: 1 if s holds the whole h2
 * preface, 0 if it is still a proper prefix of it, -1 if it is not.
 */
static int
hparse_preface(const struct hparse *p, const char *s, size_t len)
{
	if (p->kind != HPARSE_REQUEST || p->nmsgs != 0 || p->started != 0 || p->nempty != 0 ||
	    p->line.len != 0)
		return (-1);
	if (len > HPARSE_PREFACE_LEN)
		len = HPARSE_PREFACE_LEN;
	if (memcmp(s, HPARSE_PREFACE, len) != 0)
		return (-1);
	return (len == HPARSE_PREFACE_LEN);
}

/* Map the state to what hparse_feed reports. */
static enum hparse_result
hparse_result(const struct hparse *p)
{
	if (p->state == HPARSE_S_DONE)
		return (HPARSE_DONE);
	if (p->state == HPARSE_S_ERROR)
		return (HPARSE_ERROR);
	return (HPARSE_MORE);
}

/* Feed len bytes; *consumed says how many were used. */
enum hparse_result
hparse_feed(struct hparse *p, const char *s, size_t len, size_t *consumed)
{
	size_t off = 0;
	int pre;

	*consumed = 0;
	if (p->state == HPARSE_S_DONE || p->state == HPARSE_S_ERROR || len == 0)
		return (hparse_result(p));
	if ((pre = hparse_preface(p, s, len)) >= 0) {
		if (pre == 0)
			return (HPARSE_MORE);
		p->msg.upgrade_h2c = 1;
		p->state = HPARSE_S_DONE;
		return (HPARSE_DONE);
	}
	while (off < len && p->state != HPARSE_S_DONE && p->state != HPARSE_S_ERROR) {
		if (p->state == HPARSE_S_BODY_LEN || p->state == HPARSE_S_BODY_EOF ||
		    p->state == HPARSE_S_CHUNK_DATA)
			off += hparse_step_body(p, s + off, len - off);
		else
			off += hparse_step_line(p, s + off, len - off);
	}
	p->started += off;
	*consumed = off;
	return (hparse_result(p));
}

/* The peer closed: only a read-until-close body may end this way. */
enum hparse_result
hparse_eof(struct hparse *p)
{
	if (p->state == HPARSE_S_BODY_EOF)
		p->state = HPARSE_S_DONE;
	else if (p->state != HPARSE_S_DONE) {
		hparse_fail(
		    p, 400, p->started == 0 ? "closed before a message" : "closed in mid-message");
	}
	return (hparse_result(p));
}

/* The message parsed so far (complete once DONE). */
const struct hparse_msg *
hparse_msg(const struct hparse *p)
{
	return (&p->msg);
}

/* The message, for callers that take the body out of it. */
struct hparse_msg *
hparse_msg_mut(struct hparse *p)
{
	return (&p->msg);
}

/* The status to answer a failed message with, or 0 without an error. */
int
hparse_error_status(const struct hparse *p)
{
	return (p->err_status);
}

/* A short reason for the error. */
const char *
hparse_error_str(const struct hparse *p)
{
	return (p->err_str != NULL ? p->err_str : "no error");
}

/* Bytes of the current message consumed so far. */
int
hparse_in_body(const struct hparse *p)
{
	return (p->state >= HPARSE_S_BODY_LEN && p->state <= HPARSE_S_TRAILERS);
}

/* Bytes of the current message consumed so far. */
int
hparse_started(const struct hparse *p)
{
	return (p->started > INT_MAX ? INT_MAX : (int)p->started);
}
