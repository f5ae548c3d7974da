/*
 * datauri.h: data URIs as UCWA uses them to carry IM text
 * ("data:text/plain;charset=utf-8,Hi+Tosh%0d%0a", "data:text/html;base64,...").
 * Decoding maps '+' to space and %xx to bytes (or base64-decodes) and says
 * whether the payload is text/html; it changes nothing else (reducing HTML
 * and trimming CR/LF are the translation rules' business: xlate_text_in).
 * Encoding writes the form UCWA writes. Pure code.
 */
#ifndef UCGW_DATAURI_H
#define UCGW_DATAURI_H

#include <stddef.h>

#include "util.h"

/* The payload of a data URI into out (NUL-terminated, as sent: HTML and
 * CR/LF kept); *is_html says text/html. 0, or -1 if malformed. */
int datauri_decode(const char *uri, struct buf *out, int *is_html);
/* A data URI for text: "data:<mime>;charset=utf-8,<'+' and lowercase %xx>" or ";base64,". */
void datauri_encode(struct buf *out, const char *mime, const char *text, size_t len, int base64);

#endif
