/*
 * hparse.h: an incremental HTTP/1.1 message parser (requests for the
 * servers, responses for the UCWA client). It never trusts its input:
 * every line, the header block, the header count and the body are bounded,
 * and each failure names the HTTP status that fits it. Pure code, no I/O,
 * so it is unit-tested and fuzzed on its own.
 */
#ifndef UCGW_HPARSE_H
#define UCGW_HPARSE_H

#include <stddef.h>

#include "util.h"

enum hparse_kind { HPARSE_REQUEST, HPARSE_RESPONSE };

struct hparse_limits {
	size_t max_line;	 /* request line / status line / one header line */
	size_t max_header_bytes; /* whole header block */
	size_t max_headers;	 /* header count */
	size_t max_body;	 /* decoded body bytes */
};

struct hparse_header {
	char *name;  /* as received; compare case-insensitively */
	char *value; /* leading and trailing white space removed */
};

struct hparse_msg {
	char *method; /* requests */
	char *target; /* requests: the request-target as sent */
	int status;   /* responses */
	char *reason; /* responses */
	int minor;    /* HTTP/1.<minor> */
	struct hparse_header *headers;
	size_t nheaders;
	struct buf body; /* decoded (de-chunked) */
	int keep_alive;	 /* from version and Connection */
	int chunked;
	int upgrade_h2c; /* request carried the h2 preface instead (server side) */
};

enum hparse_result {
	HPARSE_MORE, /* feed more bytes */
	HPARSE_DONE, /* a whole message is ready; bytes after it were not consumed */
	HPARSE_ERROR,
};

struct hparse;

struct hparse *hparse_new(enum hparse_kind, const struct hparse_limits *);
void hparse_free(struct hparse *);
/* Forget the finished message and get ready for the next one on the connection. */
void hparse_reset(struct hparse *);
/* Responses only: the request was HEAD (or the status forbids a body). */
void hparse_set_no_body(struct hparse *);

/* Feed len bytes; *consumed says how many were used (all, unless DONE or ERROR). */
enum hparse_result hparse_feed(struct hparse *, const char *, size_t len, size_t *consumed);
/* The peer closed: finishes a read-until-close response body; ERROR if mid-message. */
enum hparse_result hparse_eof(struct hparse *);

const struct hparse_msg *hparse_msg(const struct hparse *);
struct hparse_msg *hparse_msg_mut(struct hparse *);
/* First header of that name (case-insensitive), or NULL. */
const char *hparse_header(const struct hparse_msg *, const char *name);

/* After ERROR: the status to answer with (400, 413, 414, 431, 501, 505) and why. */
int hparse_error_status(const struct hparse *);
const char *hparse_error_str(const struct hparse *);
/* Whether the header block is complete and the body is being read. */
int hparse_in_body(const struct hparse *);
/* Bytes of the current message consumed so far (headers + raw body). */
int hparse_started(const struct hparse *);

#endif
