/*
 * datauri.h: data URIs as UCWA uses them to carry IM text
 * ("data:text/plain;charset=utf-8,Hi+Tosh%0d%0a", "data:text/html;base64,...").
 * Decoding maps '+' to space and %xx to bytes (or base64-decodes), reduces
 * text/html to plain text, and trims trailing CR/LF. Encoding writes the
 * form UCWA writes. Pure code.
 */
#ifndef UCGW_DATAURI_H
#define UCGW_DATAURI_H

#include <stddef.h>

#include "util.h"

/* The raw payload of a data URI into out; *is_html says text/html. 0, or -1 if malformed. */
int datauri_decode(const char *uri, struct buf *out, int *is_html);
/* The message text of a data URI: decoded, HTML reduced to text, trailing CR/LF trimmed. */
int datauri_text(const char *uri, struct buf *out);
/* HTML to plain text: tags dropped, <br>/<p>/<div> ends as newlines, entities decoded. */
void datauri_html_to_text(const char *html, size_t len, struct buf *out);
/* A data URI for text: "data:<mime>;charset=utf-8,<'+' and lowercase %xx>" or ";base64,". */
void datauri_encode(struct buf *out, const char *mime, const char *text, size_t len, int base64);

#endif
