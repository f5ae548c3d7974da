/*
 * datauri.c: decoding and encoding of the data URIs that carry IM text in
 * UCWA (RFC 2397 plus UCWA's habit of '+' for space), and the reduction of
 * text/html messages to plain text. Never reads past its input; bad
 * encodings are refused rather than guessed.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "datauri.h"

/* Percent-decode (with '+' as space when plus) into out; -1 on a bad escape. */
static int
datauri_pct(const char *s, size_t len, int plus, struct buf *out)
{
	size_t start = out->len;
	long n;

	buf_add(out, s, len);
	if ((n = util_url_decode(out->data + start, len, plus)) < 0)
		return -1;
	out->len = start + (size_t)n;
	return 0;
}

/* Decode the payload after the first ','. */
int
datauri_decode(const char *uri, struct buf *out, int *is_html)
{
	const char *comma, *meta;
	size_t mlen;
	int b64;

	buf_reset(out);
	*is_html = 0;
	if (strncasecmp(uri, "data:", 5) != 0 || (comma = strchr(uri, ',')) == NULL)
		return -1;
	meta = uri + 5;
	mlen = (size_t)(comma - meta);
	b64 = mlen >= 7 && strncasecmp(comma - 7, ";base64", 7) == 0;
	*is_html = mlen >= 9 && strncasecmp(meta, "text/html", 9) == 0;
	if (b64) {
		struct buf tmp;
		int rc;

		/* base64 payloads may themselves be percent-encoded; '+' is base64 there */
		buf_init(&tmp);
		rc = datauri_pct(comma + 1, strlen(comma + 1), 0, &tmp);
		if (rc == 0)
			rc = util_base64_decode(out, tmp.data, tmp.len) < 0 ? -1 : 0;
		buf_free(&tmp);
		return rc;
	}
	return datauri_pct(comma + 1, strlen(comma + 1), 1, out);
}

/* Decode one entity at s (after '&'); returns bytes used or 0 if not an entity. */
static size_t
datauri_entity(const char *s, size_t len, struct buf *out)
{
	static const struct {
		const char *name;
		const char *text;
	} ents[] = {
		{ "amp;", "&" },
		{ "lt;", "<" },
		{ "gt;", ">" },
		{ "quot;", "\"" },
		{ "apos;", "'" },
		{ "nbsp;", " " },
	};
	const char *semi = memchr(s, ';', len < 12 ? len : 12);
	unsigned long cp;
	char *end;

	for (size_t i = 0; i < nitems(ents); i++) {
		size_t n = strlen(ents[i].name);

		if (n <= len && strncmp(s, ents[i].name, n) == 0) {
			buf_addstr(out, ents[i].text);
			return n;
		}
	}
	if (semi == NULL || s[0] != '#')
		return 0;
	cp = (s[1] == 'x' || s[1] == 'X') ? strtoul(s + 2, &end, 16) : strtoul(s + 1, &end, 10);
	if (end != semi || cp == 0 || cp > 0x10FFFF)
		return 0;
	if (cp < 0x80)
		buf_addch(out, (char)cp);
	else if (cp < 0x800) {
		buf_addch(out, (char)(0xC0 | (cp >> 6)));
		buf_addch(out, (char)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		buf_addch(out, (char)(0xE0 | (cp >> 12)));
		buf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3F)));
		buf_addch(out, (char)(0x80 | (cp & 0x3F)));
	} else {
		buf_addch(out, (char)(0xF0 | (cp >> 18)));
		buf_addch(out, (char)(0x80 | ((cp >> 12) & 0x3F)));
		buf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3F)));
		buf_addch(out, (char)(0x80 | (cp & 0x3F)));
	}
	return (size_t)(semi - s) + 1;
}

static int
isalpha_ascii(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Whether the tag at s (after '<') is a line break (<br>, </p>, </div>). */
static int
datauri_tag_breaks(const char *s, size_t len)
{
	return (len >= 2 && strncasecmp(s, "br", 2) == 0 && (len == 2 || !isalpha_ascii(s[2]))) ||
	    (len >= 2 && strncasecmp(s, "/p", 2) == 0 && (len == 2 || !isalpha_ascii(s[2]))) ||
	    (len >= 4 && strncasecmp(s, "/div", 4) == 0);
}

/* Tags out, entities decoded, block ends as newlines. */
void
datauri_html_to_text(const char *h, size_t len, struct buf *out)
{
	size_t i = 0;

	while (i < len) {
		if (h[i] == '<') {
			const char *gt = memchr(h + i, '>', len - i);
			size_t tl = gt ? (size_t)(gt - h - i - 1) : len - i - 1;

			if (datauri_tag_breaks(h + i + 1, tl))
				buf_addch(out, '\n');
			i = gt ? (size_t)(gt - h) + 1 : len;
		} else if (h[i] == '&') {
			size_t n = datauri_entity(h + i + 1, len - i - 1, out);

			if (n == 0)
				buf_addch(out, '&');
			i += 1 + n;
		} else
			buf_addch(out, h[i++]);
	}
}

/* Message text of a data URI. */
int
datauri_text(const char *uri, struct buf *out)
{
	struct buf raw;
	int html;

	buf_init(&raw);
	if (datauri_decode(uri, &raw, &html) != 0) {
		buf_free(&raw);
		return -1;
	}
	buf_reset(out);
	if (html)
		datauri_html_to_text(raw.data, raw.len, out);
	else
		buf_add(out, raw.data, raw.len);
	buf_free(&raw);
	while (out->len > 0 && (out->data[out->len - 1] == '\r' || out->data[out->len - 1] == '\n'))
		out->data[--out->len] = '\0';
	return 0;
}

/* Encode text as UCWA does: '+' for space, lowercase %xx. */
void
datauri_encode(struct buf *out, const char *mime, const char *text, size_t len, int base64)
{
	static const char hex[] = "0123456789abcdef";

	buf_reset(out);
	buf_printf(out, "data:%s;charset=utf-8", mime);
	if (base64) {
		buf_addstr(out, ";base64,");
		util_base64_encode(out, text, len);
		return;
	}
	buf_addch(out, ',');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == ' ')
			buf_addch(out, '+');
		else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c != 0 && strchr("-._~!'()*", c) != NULL))
			buf_addch(out, (char)c);
		else {
			buf_addch(out, '%');
			buf_addch(out, hex[c >> 4]);
			buf_addch(out, hex[c & 15]);
		}
	}
}
