/*
 * xlate_text.c: the text policy: outgoing text trimmed and refused or
 * split by code points, incoming text reduced from HTML and trimmed, and
 * the notice for an undelivered message. Pure; never reads past a given
 * length.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "xlate_int.h"

/* ---- text ---- */

/* Length of s with trailing CR/LF removed (if the rules say so). */
static size_t
xlate_text_trimmed_len(const struct xlate_rules *r, const char *s, size_t len)
{
	while (r->trim_newlines && len > 0 && (s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	return len;
}

/* Byte length of the first max code points of s[0..len). */
size_t
xlate_text_utf8_prefix(const char *s, size_t len, long long max, long long *count)
{
	size_t i = 0;
	long long n = 0;

	while (i < len && n < max) {
		i++;
		while (i < len && ((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		n++;
	}
	if (count != NULL)
		*count = n;
	return i;
}

/* Outgoing text: trim, then refuse or split when too long. */
enum xlate_text_verdict
xlate_text_out(
    const struct xlate_rules *r, const char *text, struct xlate_parts *parts, const char **cause)
{
	size_t len = xlate_text_trimmed_len(r, text, strlen(text)), off = 0;
	long long chars;

	parts->v = NULL;
	parts->n = 0;
	if (xlate_text_utf8_prefix(text, len, r->max_length, NULL) < len && !r->over_split) {
		*cause = "message text is longer than the maximum length";
		return XLATE_TEXT_REFUSE;
	}
	xlate_text_utf8_prefix(text, len, (long long)len, &chars);
	if ((chars + r->max_length - 1) / r->max_length > r->max_parts) {
		*cause = "message text is longer than the maximum length times the maximum parts";
		return XLATE_TEXT_REFUSE;
	}
	do {
		size_t n = xlate_text_utf8_prefix(text + off, len - off, r->max_length, NULL);

		parts->v = xreallocarray(parts->v, parts->n + 1, sizeof *parts->v);
		parts->v[parts->n++] = xstrndup(text + off, n);
		off += n;
	} while (off < len);
	return XLATE_TEXT_OK;
}

/* Free parts. */
void
xlate_text_parts_free(struct xlate_parts *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

/*
 * ---- incoming text: HTML to plain text ----
 * The one reduction of HTML in the gateway (the UCWA client hands message
 * bodies over as sent). Tags are dropped; <br> and the ends of <p> and
 * <div> become line breaks, and so does the start of a <p> or <div> that
 * follows text on the same line; comments and the content of <style> and
 * <script> go; character references are decoded; a '<' that starts no tag
 * is text. Never reads past len: the input need not be NUL-terminated.
 */

/* The UTF-8 of code point cp (0 < cp <= 0x10ffff, not a surrogate). */
static void
xlate_text_html_utf8(unsigned long cp, struct buf *out)
{
	if (cp < 0x80)
		buf_addch(out, (char)cp);
	else if (cp < 0x800) {
		buf_addch(out, (char)(0xc0 | (cp >> 6)));
		buf_addch(out, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addch(out, (char)(0xe0 | (cp >> 12)));
		buf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addch(out, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_addch(out, (char)(0xf0 | (cp >> 18)));
		buf_addch(out, (char)(0x80 | ((cp >> 12) & 0x3f)));
		buf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addch(out, (char)(0x80 | (cp & 0x3f)));
	}
}

/* Value of digit c in base (10 or 16), or -1. */
static int
xlate_text_html_digit(char c, int base)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (base == 16 && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (base == 16 && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode one character reference at s (after '&'; NUL-terminated): a
 * named one, &#DDD; or &#xHH;. Bytes consumed, 0 if it is not one. */
static size_t
xlate_text_html_entity(const char *s, struct buf *out)
{
	static const struct {
		const char *name;
		const char *text;
	} ents[] = {
		{ "lt;", "<" },
		{ "gt;", ">" },
		{ "amp;", "&" },
		{ "quot;", "\"" },
		{ "apos;", "'" },
		{ "nbsp;", " " },
	};
	int base = s[0] == '#' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10, d;
	const char *p = s + (base == 16 ? 2 : 1), *digits = p;
	unsigned long cp = 0;

	for (size_t i = 0; i < nitems(ents); i++) {
		if (strncmp(s, ents[i].name, strlen(ents[i].name)) == 0) {
			buf_addstr(out, ents[i].text);
			return strlen(ents[i].name);
		}
	}
	if (s[0] != '#')
		return 0;
	for (; (d = xlate_text_html_digit(*p, base)) >= 0; p++) {
		if ((cp = cp * (unsigned long)base + (unsigned long)d) > 0x10ffff)
			return 0;
	}
	if (p == digits || *p != ';' || cp == 0 || (cp >= 0xd800 && cp < 0xe000))
		return 0;
	xlate_text_html_utf8(cp, out);
	return (size_t)(p - s) + 1;
}

/* Whether the tag at s[i] ('<') is name (any case): the name followed by
 * '>', '/', white space or the end of the input. */
static int
xlate_text_html_tag_is(const char *s, size_t len, size_t i, const char *name)
{
	size_t n = strlen(name), k = i + 1 + n;

	if (len - i - 1 < n || !util_strncaseeq(name, s + i + 1, n))
		return 0;
	return k == len || s[k] == '>' || s[k] == '/' || isspace((unsigned char)s[k]);
}

/* Whether the '<' at s[i] starts markup (a letter, '/', '!' or '?' follows). */
static int
xlate_text_html_is_markup(const char *s, size_t len, size_t i)
{
	char c = i + 1 < len ? s[i + 1] : '\0';

	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '/' || c == '!' || c == '?';
}

/* From s[j] inside a tag, the index of its closing '>' (a quoted attribute
 * value may hold '>'), or len. */
static size_t
xlate_text_html_tag_end(const char *s, size_t len, size_t j)
{
	char q = 0, prev = 0;

	for (; j < len; j++) {
		if (q != 0) {
			if (s[j] == q)
				q = 0;
		} else if ((s[j] == '"' || s[j] == '\'') && prev == '=')
			q = s[j];
		else if (s[j] == '>')
			break;
		if (!isspace((unsigned char)s[j]))
			prev = s[j];
	}
	return j;
}

/* After markup at s[i] ('<'), the index of its last byte: the tag's '>',
 * the end of a comment, or the end of the closing tag of a <style> or
 * <script> element, whose content is not text; len when unterminated. */
static size_t
xlate_text_html_skip(const char *s, size_t len, size_t i)
{
	static const char *const hidden[] = { "style", "script" };
	size_t j;

	if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
		for (j = i + 4; j + 3 <= len; j++)
			if (memcmp(s + j, "-->", 3) == 0)
				return j + 2;
		return len;
	}
	j = xlate_text_html_tag_end(s, len, i + 1);
	for (size_t k = 0; k < nitems(hidden) && j < len; k++) {
		size_t n = strlen(hidden[k]);

		if (!xlate_text_html_tag_is(s, len, i, hidden[k]))
			continue;
		for (j++; j + 2 + n <= len; j++) {
			if (s[j] == '<' && s[j + 1] == '/' &&
			    util_strncaseeq(hidden[k], s + j + 2, n))
				return xlate_text_html_tag_end(s, len, j + 2 + n);
		}
		return len;
	}
	return j;
}

/* The line break a tag at s[i] ('<') gives, if any. */
static int
xlate_text_html_breaks(const char *s, size_t len, size_t i, const struct buf *out)
{
	if (xlate_text_html_tag_is(s, len, i, "br") || xlate_text_html_tag_is(s, len, i, "/p") ||
	    xlate_text_html_tag_is(s, len, i, "/div"))
		return 1;
	return (xlate_text_html_tag_is(s, len, i, "p") ||
		   xlate_text_html_tag_is(s, len, i, "div")) &&
	    out->len > 0 && out->data[out->len - 1] != '\n';
}

/* HTML to plain text, as the comment at the top of this section says. */
static void
xlate_text_html_plain(const char *s, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '<' && xlate_text_html_is_markup(s, len, i)) {
			if (xlate_text_html_breaks(s, len, i, out))
				buf_addch(out, '\n');
			i = xlate_text_html_skip(s, len, i);
		} else if (s[i] == '&') {
			char tmp[12];
			size_t n = len - i - 1 < sizeof tmp - 1 ? len - i - 1 : sizeof tmp - 1;

			memcpy(tmp, s + i + 1, n);
			tmp[n] = '\0';
			if ((n = xlate_text_html_entity(tmp, out)) == 0)
				buf_addch(out, '&');
			i += n;
		} else
			buf_addch(out, s[i]);
	}
}

/* Incoming text to what desktops see. */
char *
xlate_text_in(
    const struct xlate_rules *r, const char *text, size_t len, int html, const char *plain)
{
	struct buf b;
	size_t n;

	buf_init(&b);
	if (html && r->html_to_plain && plain != NULL)
		buf_addstr(&b, plain); /* the server's rendition beats ours */
	else if (html && r->html_to_plain)
		xlate_text_html_plain(text, len, &b);
	else
		buf_add(&b, text, len);
	n = xlate_text_trimmed_len(r, b.data != NULL ? b.data : "", b.len);
	b.len = n;
	buf_addstr(&b, "");
	return buf_detach(&b, NULL);
}

/* The notice for an undelivered message, or NULL. */
char *
xlate_text_undelivered(const struct xlate_rules *r, const struct xlate_session *s)
{
	const char *vars[XV_NVARS];
	struct buf b;

	if (!r->has_undelivered)
		return NULL;
	memcpy(vars, s->var, sizeof vars);
	vars[XV_ID] = s->id;
	vars[XV_STATE] = xlate_names_state(s->state);
	for (int i = 0; i < XV_NVARS; i++)
		vars[i] = vars[i] != NULL ? vars[i] : "";
	buf_init(&b);
	xlate_tmpl_expand(&r->undelivered, NULL, NULL, vars, &b);
	buf_addstr(&b, "");
	return buf_detach(&b, NULL);
}
