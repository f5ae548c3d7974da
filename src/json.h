/*
 * json.h: JSON documents parsed with yajl into a tree that remembers where
 * each value stood (line and column), with limits on size and depth; and
 * (jw.h, included here) a writer that appends JSON text to a struct buf. Comments are accepted when
 * the caller asks (configuration files), never on the wire.
 */
#ifndef UCGW_JSON_H
#define UCGW_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "jw.h"
#include "util.h"

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_INT,
	JSON_DOUBLE,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json;

struct json_member {
	const char *key;
	size_t keylen;
	unsigned line, col; /* where the key stood */
	struct json *val;
};

struct json {
	enum json_type type;
	unsigned line, col; /* 1-based; 0 when made by hand (overrides) */
	union {
		int b;
		long long i;
		double d;
		struct {
			const char *s;
			size_t len;
		} str;
		struct {
			struct json **v;
			size_t n;
		} arr;
		struct {
			struct json_member *m;
			size_t n;
		} obj;
	} u;
};

struct json_limits {
	size_t max_bytes;   /* 0 = no limit */
	unsigned max_depth; /* 0 = 64 */
	int allow_comments;
	int no_positions;    /* nodes get line and col 0: wire documents, where only
			     an error is located; spares the bookkeeping per node */
	int keep_duplicates; /* a key twice in an object is kept, not an error: for
				callers that report every duplicate themselves */
	int no_fast;	     /* json_sax_parse: yajl reads every document, not only those
				its own fast path leaves (tests compare the two) */
	int fast_only;	     /* json_sax_parse: a document its fast path leaves is refused
				("left to yajl"), not read by yajl (tests) */
};

struct json_error {
	unsigned line, col;
	char msg[160];
};

struct json_doc; /* owns every node and string of one parse */

struct json_doc *json_parse(const char *, size_t, const struct json_limits *, struct json_error *);
struct json *json_root(const struct json_doc *);
void json_doc_free(struct json_doc *);

/*
 * Event-driven parsing: the limits, refusals and error positions of
 * json_parse (size, depth, NUL, duplicate keys), but no tree: cbs sees
 * each value once, in document order, and keeps what it needs. A string
 * (s, len: not NUL-terminated, NUL-free) is valid during the call only;
 * other scalars come with s NULL.
 */
struct json_sax {
	void (*value)(void *ctx, enum json_type, const char *s, size_t len);
	void (*open)(void *ctx, enum json_type); /* JSON_ARRAY or JSON_OBJECT */
	void (*key)(void *ctx, const char *s, size_t len);
	void (*close)(void *ctx);
};

int json_sax_parse(const char *, size_t, const struct json_limits *, const struct json_sax *,
    void *ctx, struct json_error *);

/* Nodes added to a document by hand (configuration overrides); an empty
 * document is an arena for strings that are freed together. */
struct json_doc *json_doc_new(void);
struct json *json_doc_new_node(struct json_doc *, enum json_type);
const char *json_doc_strdup(struct json_doc *, const char *, size_t);
void json_obj_set(struct json_doc *, struct json *obj, const char *key, struct json *val);

const char *json_type_name(enum json_type);

/* Lookups; all return NULL/0 when absent or of another type. */
struct json *json_get(const struct json *obj, const char *key);
const char *json_get_str(const struct json *obj, const char *key);
const char *json_str(const struct json *);
int json_is(const struct json *, enum json_type);

/* Convert 0-based byte offset in text to 1-based line and column. */
void json_offset_to_pos(const char *text, size_t off, unsigned *line, unsigned *col);

/* Append s as a JSON string literal (with quotes). */
void json_escape(struct buf *, const char *, size_t);

#endif
