/*
 * datauri.c: decoding and encoding of the data URIs that carry IM text in
 * UCWA (RFC 2397 plus UCWA's habit of '+' for space). The payload comes
 * out as sent, with a flag for text/html; the translation rules decide
 * what desktops see (xlate_text_in). Bad encodings are refused rather
 * than guessed.
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
	*is_html =
	    mlen >= 9 && strncasecmp(meta, "text/html", 9) == 0 && (mlen == 9 || meta[9] == ';');
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
