/*
 * json.c: JSON in and out. json_parse() drives yajl's event parser and
 * builds a tree in one arena per document, recording the line and column
 * where each key and value starts; it refuses documents over the size
 * limit or nested deeper than allowed. json_sax_parse() gives the same
 * checks without a tree; a plainly valid document is read by a lexer of
 * its own, anything else by yajl. json_escape() writes a string literal,
 * always valid UTF-8; the writer built on it is jw.c.
 */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "hmap.h"
#include "json.h"

#define JSON_CHUNK     4096
#define JSON_CHUNK_MAX (256 * 1024)
#define JSON_MAX_DEPTH 64
#define JSON_KEYS_SCAN 16 /* keys of an object compared one by one; more go in a map */

struct json_chunk {
	struct json_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct json_doc {
	struct json_chunk *chunks;
	struct json *root;
};

/* One open array or object while parsing. */
struct json_frame {
	struct json *node;
	void *items; /* struct json_member[] or struct json *[]; reused */
	size_t n;
	size_t capbytes;
	const char *key;
	size_t keylen;
	unsigned kline, kcol;
	struct hmap *keys; /* an object's keys once it has many (duplicates are refused) */
};

struct json_parser {
	struct json_doc *doc;
	yajl_handle h;
	const char *text;
	size_t len;
	size_t scan;   /* lines are counted up to here */
	unsigned line; /* line of scan */
	size_t nl;     /* the first newline at or after scan (len if none) */
	size_t cpos;   /* on scan's line, at or before scan: */
	unsigned col;  /* the column of cpos */
	unsigned depth, max_depth;
	const char *abort_msg;
	size_t abort_off; /* where abort_msg applies */
	int at_end;	  /* the error was found at the end of the input */
	int positions;	  /* nodes and keys are located (line, col) */
	int keep_duplicates;
	unsigned reached; /* frames of stack set up (the first time each opened) */
	struct json_frame stack[JSON_MAX_DEPTH]; /* last: not cleared beyond reached */
};

/* Allocate n bytes from the document's arena. */
static void *
json_doc_alloc(struct json_doc *d, size_t n)
{
	struct json_chunk *c = d->chunks;
	void *p;

	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (c == NULL || c->cap - c->used < n) {
		/* Each chunk twice the last (up to JSON_CHUNK_MAX): big documents make few. */
		size_t cap = c == NULL ? JSON_CHUNK : c->cap * 2;

		if (cap > JSON_CHUNK_MAX)
			cap = JSON_CHUNK_MAX;
		if (cap < n)
			cap = n;
		c = xmalloc(sizeof *c + cap);
		c->cap = cap;
		c->used = 0;
		c->next = d->chunks;
		d->chunks = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

/* Copy a string into the arena, NUL-terminated. */
const char *
json_doc_strdup(struct json_doc *d, const char *s, size_t len)
{
	char *p = json_doc_alloc(d, len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* A new zeroed node of type t. */
struct json *
json_doc_new_node(struct json_doc *d, enum json_type t)
{
	struct json *j = json_doc_alloc(d, sizeof *j);

	memset(j, 0, sizeof *j);
	j->type = t;
	return j;
}

/* An empty document: an arena for nodes and strings made by hand. */
struct json_doc *
json_doc_new(void)
{
	return xcalloc(1, sizeof(struct json_doc));
}

/* Free a document and every node in it. */
void
json_doc_free(struct json_doc *d)
{
	struct json_chunk *c, *next;

	if (d == NULL)
		return;
	for (c = d->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(d);
}

/* The top-level value. */
struct json *
json_root(const struct json_doc *d)
{
	return d->root;
}

/* The offset of the first newline at or after off, or len. */
static size_t
json_parser_next_nl(const struct json_parser *p, size_t off)
{
	const char *nl = off < p->len ? memchr(p->text + off, '\n', p->len - off) : NULL;

	return nl != NULL ? (size_t)(nl - p->text) : p->len;
}

/* Count the lines of the newlines before off (at least one is there). */
static void
json_parser_newlines(struct json_parser *p, size_t off)
{
	while (p->nl < off) {
		p->line++;
		p->cpos = p->nl + 1;
		p->col = 1;
		p->nl = json_parser_next_nl(p, p->nl + 1);
	}
}

/* Advance the scan position to off, counting the newlines passed. */
static inline void
json_parser_advance(struct json_parser *p, size_t off)
{
	if (off > p->len)
		off = p->len;
	if (off <= p->scan)
		return;
	if (p->nl < off)
		json_parser_newlines(p, off);
	p->scan = off;
}

/* Column of the scan position: characters (not UTF-8 continuation bytes)
 * since the last column computed on this line, eight at a time while ASCII. */
static unsigned
json_parser_col(struct json_parser *p)
{
	const unsigned char *t = (const unsigned char *)p->text;
	unsigned col = p->col;
	size_t i = p->cpos;
	uint64_t w;

	for (; i + 8 <= p->scan; i += 8, col += 8) {
		memcpy(&w, t + i, 8);
		if ((w & 0x8080808080808080ull) != 0)
			break;
	}
	for (; i < p->scan; i++)
		col += (t[i] & 0xc0) != 0x80;
	p->cpos = p->scan;
	p->col = col;
	return col;
}

/* Skip a comment starting at the scan position, if any; 1 if skipped. */
static int
json_parser_skip_comment(struct json_parser *p)
{
	const char *t = p->text, *end;
	size_t i = p->scan;

	if (i + 1 >= p->len || t[i] != '/')
		return 0;
	if (t[i + 1] == '/') {
		end = memchr(t + i, '\n', p->len - i);
		json_parser_advance(p, end ? (size_t)(end - t) : p->len);
		return 1;
	}
	if (t[i + 1] == '*') {
		end = memmem(t + i + 2, p->len - i - 2, "*/", 2);
		json_parser_advance(p, end ? (size_t)(end - t) + 2 : p->len);
		return 1;
	}
	return 0;
}

/* Bytes between tokens: white space and separators. */
static const unsigned char json_skip[256] = {
	[' '] = 1,
	['\t'] = 1,
	['\r'] = 1,
	['\n'] = 1,
	[','] = 1,
	[':'] = 1,
};

/* Move past white space, separators and comments to the next token. */
static void
json_parser_locate(struct json_parser *p, unsigned *line, unsigned *col)
{
	const unsigned char *t = (const unsigned char *)p->text;
	size_t i = p->scan;

	for (;;) {
		while (i < p->len && json_skip[t[i]])
			i++;
		json_parser_advance(p, i);
		if (!json_parser_skip_comment(p))
			break;
		i = p->scan;
	}
	*line = p->line;
	*col = json_parser_col(p);
}

/* Make a node for the token yajl just reported, positioned at its start. */
static struct json *
json_parser_node(struct json_parser *p, enum json_type t)
{
	struct json *j = json_doc_new_node(p->doc, t);

	if (p->positions) {
		json_parser_locate(p, &j->line, &j->col);
		json_parser_advance(p, yajl_get_bytes_consumed(p->h));
	}
	return j;
}

/* Grow a frame's item vector to hold one more item of size sz. */
static void
json_frame_grow(struct json_frame *f, size_t sz)
{
	size_t want = (f->n + 1) * sz;

	if (want <= f->capbytes)
		return;
	f->capbytes = f->capbytes ? f->capbytes * 2 : 8 * sizeof(struct json_member);
	while (f->capbytes < want)
		f->capbytes *= 2;
	f->items = xrealloc(f->items, f->capbytes);
}

/* Attach a finished value to its parent (or make it the root). */
static int
json_parser_add(struct json_parser *p, struct json *j)
{
	struct json_frame *f;

	if (p->depth == 0) {
		p->doc->root = j;
		return 1;
	}
	f = &p->stack[p->depth - 1];
	if (f->node->type == JSON_ARRAY) {
		json_frame_grow(f, sizeof(struct json *));
		((struct json **)f->items)[f->n++] = j;
	} else {
		struct json_member *m;

		json_frame_grow(f, sizeof *m);
		m = &((struct json_member *)f->items)[f->n++];
		m->key = f->key;
		m->keylen = f->keylen;
		m->line = f->kline;
		m->col = f->kcol;
		m->val = j;
	}
	return 1;
}

/* yajl: null. */
static int
json_cb_null(void *ctx)
{
	struct json_parser *p = ctx;

	return json_parser_add(p, json_parser_node(p, JSON_NULL));
}

/* yajl: a boolean. */
static int
json_cb_bool(void *ctx, int v)
{
	struct json_parser *p = ctx;
	struct json *j = json_parser_node(p, JSON_BOOL);

	j->u.b = v != 0;
	return json_parser_add(p, j);
}

/* yajl: an integer. */
static int
json_cb_int(void *ctx, long long v)
{
	struct json_parser *p = ctx;
	struct json *j = json_parser_node(p, JSON_INT);

	j->u.i = v;
	return json_parser_add(p, j);
}

/* yajl: a number with a fraction or exponent. */
static int
json_cb_double(void *ctx, double v)
{
	struct json_parser *p = ctx;
	struct json *j = json_parser_node(p, JSON_DOUBLE);

	j->u.d = v;
	return json_parser_add(p, j);
}

/* Offset of the opening quote of the string token that ends just before end. */
static size_t
json_token_start(const char *text, size_t end)
{
	size_t i = end > 0 ? end - 1 : 0, bs;

	while (i > 0) {
		i--;
		if (text[i] != '"')
			continue;
		for (bs = 0; bs < i && text[i - 1 - bs] == '\\'; bs++)
			;
		if (bs % 2 == 0)
			return i;
	}
	return 0;
}

/* Stop the parse with msg at the string token just read. */
static int
json_parser_abort_string(struct json_parser *p, const char *msg)
{
	p->abort_msg = msg;
	p->abort_off = json_token_start(p->text, yajl_get_bytes_consumed(p->h));
	return 0;
}

/* yajl: a string. */
static int
json_cb_string(void *ctx, const unsigned char *s, size_t len)
{
	struct json_parser *p = ctx;
	struct json *j;

	if (memchr(s, '\0', len) != NULL)
		return json_parser_abort_string(p, "\\u0000 (NUL) in a string is not accepted");
	j = json_parser_node(p, JSON_STRING);

	j->u.str.s = json_doc_strdup(p->doc, (const char *)s, len);
	j->u.str.len = len;
	return json_parser_add(p, j);
}

/* Open an array or object: push a frame unless too deep. */
static int
json_parser_open(struct json_parser *p, enum json_type t)
{
	struct json_frame *f;

	if (p->depth >= p->max_depth) {
		p->abort_msg = "nesting too deep";
		p->abort_off = yajl_get_bytes_consumed(p->h) - 1; /* the bracket */
		return 0;
	}
	f = &p->stack[p->depth++];
	if (p->depth > p->reached) { /* its vector, reused by later frames as deep */
		f->items = NULL;
		f->capbytes = 0;
		p->reached = p->depth;
	}
	f->node = json_doc_new_node(p->doc, t);
	if (p->positions) {
		json_parser_locate(p, &f->node->line, &f->node->col);
		json_parser_advance(p, yajl_get_bytes_consumed(p->h));
	}
	f->n = 0;
	f->key = NULL;
	f->kline = f->kcol = 0; /* stay so without positions */
	f->keys = NULL;
	return 1;
}

/* Close the innermost array or object: move its items into the arena. */
static int
json_parser_close(struct json_parser *p)
{
	struct json_frame *f = &p->stack[--p->depth];
	struct json *j = f->node;
	size_t sz = j->type == JSON_ARRAY ? sizeof(struct json *) : sizeof(struct json_member);
	void *items = json_doc_alloc(p->doc, f->n * sz);

	hmap_free(f->keys);
	f->keys = NULL;

	if (f->n != 0)
		memcpy(items, f->items, f->n * sz);
	if (j->type == JSON_ARRAY) {
		j->u.arr.v = items;
		j->u.arr.n = f->n;
	} else {
		j->u.obj.m = items;
		j->u.obj.n = f->n;
	}
	json_parser_advance(p, yajl_get_bytes_consumed(p->h));
	return json_parser_add(p, j);
}

/* yajl: an object opens. */
static int
json_cb_start_map(void *ctx)
{
	return json_parser_open(ctx, JSON_OBJECT);
}

/* yajl: an array opens. */
static int
json_cb_start_array(void *ctx)
{
	return json_parser_open(ctx, JSON_ARRAY);
}

/* yajl: an object or array closes. */
static int
json_cb_end(void *ctx)
{
	return json_parser_close(ctx);
}

/* Whether the object being read already has the key s (NUL-free, len bytes). */
static int
json_frame_has_key(struct json_frame *f, const unsigned char *s, size_t len)
{
	const struct json_member *m = f->items;
	char *k;
	int dup;

	if (f->n < JSON_KEYS_SCAN) {
		for (size_t i = 0; i < f->n; i++) {
			if (m[i].keylen == len && memcmp(m[i].key, s, len) == 0)
				return 1;
		}
		return 0;
	}
	if (f->keys == NULL) {
		f->keys = hmap_create();
		for (size_t i = 0; i < f->n; i++)
			hmap_put(f->keys, m[i].key, f);
	}
	k = xstrndup((const char *)s, len);
	dup = hmap_get(f->keys, k) != NULL;
	hmap_put(f->keys, k, f);
	free(k);
	return dup;
}

/* yajl: a key (a duplicate is refused unless duplicates are kept). */
static int
json_cb_key(void *ctx, const unsigned char *s, size_t len)
{
	struct json_parser *p = ctx;
	struct json_frame *f = &p->stack[p->depth - 1];

	if (memchr(s, '\0', len) != NULL)
		return json_parser_abort_string(p, "\\u0000 (NUL) in a key is not accepted");
	if (!p->keep_duplicates && json_frame_has_key(f, s, len))
		return json_parser_abort_string(p, "duplicate key");

	if (p->positions) {
		json_parser_locate(p, &f->kline, &f->kcol);
		json_parser_advance(p, yajl_get_bytes_consumed(p->h));
	}
	f->key = json_doc_strdup(p->doc, (const char *)s, len);
	f->keylen = len;
	return 1;
}

static const yajl_callbacks json_callbacks = {
	json_cb_null,
	json_cb_bool,
	json_cb_int,
	json_cb_double,
	NULL,
	json_cb_string,
	json_cb_start_map,
	json_cb_key,
	json_cb_end,
	json_cb_start_array,
	json_cb_end,
};

/* 1-based line and column of byte offset off. */
void
json_offset_to_pos(const char *text, size_t off, unsigned *line, unsigned *col)
{
	unsigned l = 1, c = 1;

	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80)
			c++;
	}
	*line = l;
	*col = c;
}

/* Fill err from yajl's complaint about text (or our own abort reason at abort_off). */
static void
json_error_fill(yajl_handle h, const char *text, size_t len, const char *abort_msg,
    size_t abort_off, int at_end, struct json_error *err)
{
	size_t off = yajl_get_bytes_consumed(h);
	unsigned char *msg;
	char *nl;

	if (abort_msg != NULL) {
		json_offset_to_pos(text, abort_off, &err->line, &err->col);
		snprintf(err->msg, sizeof err->msg, "%s", abort_msg);
		return;
	}
	if (at_end || off > len)
		off = len;
	json_offset_to_pos(text, off, &err->line, &err->col);
	msg = yajl_get_error(h, 0, (const unsigned char *)text, len);
	snprintf(err->msg, sizeof err->msg, "%s", (char *)msg);
	yajl_free_error(h, msg);
	if ((nl = strchr(err->msg, '\n')) != NULL)
		*nl = '\0';
}

/* Fill err from the parser's state. */
static void
json_parser_error(struct json_parser *p, struct json_error *err)
{
	json_error_fill(p->h, p->text, p->len, p->abort_msg, p->abort_off, p->at_end, err);
}

/* Refuse a document over the size limit; 1 if refused (err filled). */
static int
json_too_large(size_t len, const struct json_limits *lim, struct json_error *err)
{
	if (lim == NULL || lim->max_bytes == 0 || len <= lim->max_bytes)
		return 0;
	err->line = err->col = 1;
	snprintf(err->msg, sizeof err->msg, "document too large (%zu bytes, limit %zu)", len,
	    lim->max_bytes);
	return 1;
}

/* Release the frames' temporary vectors. */
static void
json_parser_cleanup(struct json_parser *p)
{
	for (unsigned i = 0; i < p->reached; i++) {
		free(p->stack[i].items);
		if (i < p->depth)
			hmap_free(p->stack[i].keys);
	}
	yajl_free(p->h);
}

/* Set up a parser over text with the given limits. */
static void
json_parser_init(struct json_parser *p, const char *text, size_t len, const struct json_limits *lim)
{
	memset(p, 0, offsetof(struct json_parser, stack));
	p->doc = json_doc_new();
	p->text = text;
	p->len = len;
	p->line = p->col = 1;
	p->nl = json_parser_next_nl(p, 0);
	p->positions = lim == NULL || !lim->no_positions;
	p->keep_duplicates = lim != NULL && lim->keep_duplicates;
	p->max_depth = lim && lim->max_depth ? lim->max_depth : JSON_MAX_DEPTH;
	if (p->max_depth > JSON_MAX_DEPTH)
		p->max_depth = JSON_MAX_DEPTH;
	p->h = yajl_alloc(&json_callbacks, NULL, p);
	yajl_config(p->h, yajl_allow_comments, lim && lim->allow_comments ? 1 : 0);
}

/* Parse text into a new document, or NULL with err filled in. */
struct json_doc *
json_parse(const char *text, size_t len, const struct json_limits *lim, struct json_error *err)
{
	struct json_parser p;
	yajl_status st;

	if (json_too_large(len, lim, err))
		return NULL;
	json_parser_init(&p, text, len, lim);
	st = yajl_parse(p.h, (const unsigned char *)text, len);
	if (st == yajl_status_ok && (st = yajl_complete_parse(p.h)) != yajl_status_ok)
		p.at_end = 1;
	if (st == yajl_status_ok && p.doc->root == NULL) {
		p.abort_msg = "empty document";
		p.abort_off = p.scan;
		st = yajl_status_error;
	}
	if (st != yajl_status_ok) {
		json_parser_error(&p, err);
		json_parser_cleanup(&p);
		json_doc_free(p.doc);
		return NULL;
	}
	json_parser_cleanup(&p);
	return p.doc;
}

/* One open array or object of an event-driven parse. */
struct json_sax_frame {
	size_t keys;	  /* where its keys start in the key store (yajl's reading) */
	size_t nkeys;	  /* how many it has */
	struct hmap *map; /* its keys once it has many */
	uint64_t seen;	  /* the fast path: a bit per key (json_fast_key_bit) */
	uint32_t last;	  /* the fast path: its last key's token + 1 (0: none yet) */
};

/* An event-driven parse: the checks of json_parse, without a tree. */
struct json_sax_parser {
	yajl_handle h;
	const char *text;
	size_t len;
	const struct json_sax *cbs;
	void *ctx;
	unsigned depth, max_depth;
	int keep_duplicates;
	int done; /* a top-level value was read */
	const char *abort_msg;
	size_t abort_off;
	/* the keys of the open objects, one after the other: length (size_t), bytes, NUL */
	char *keys;
	size_t klen, kcap;
	char kinline[1024]; /* keys start here */
	struct json_sax_frame stack[JSON_MAX_DEPTH];
};

/* Stop the parse with msg at the string token just read. */
static int
json_sax_abort_string(struct json_sax_parser *p, const char *msg)
{
	p->abort_msg = msg;
	p->abort_off = json_token_start(p->text, yajl_get_bytes_consumed(p->h));
	return 0;
}

/* A scalar was read. */
static int
json_sax_scalar(struct json_sax_parser *p, enum json_type t, const char *s, size_t len)
{
	p->done |= p->depth == 0;
	p->cbs->value(p->ctx, t, s, len);
	return 1;
}

static int
json_sax_cb_null(void *ctx)
{
	return json_sax_scalar(ctx, JSON_NULL, NULL, 0);
}

static int
json_sax_cb_bool(void *ctx, int v)
{
	(void)v;
	return json_sax_scalar(ctx, JSON_BOOL, NULL, 0);
}

static int
json_sax_cb_int(void *ctx, long long v)
{
	(void)v;
	return json_sax_scalar(ctx, JSON_INT, NULL, 0);
}

static int
json_sax_cb_double(void *ctx, double v)
{
	(void)v;
	return json_sax_scalar(ctx, JSON_DOUBLE, NULL, 0);
}

static int
json_sax_cb_string(void *ctx, const unsigned char *s, size_t len)
{
	struct json_sax_parser *p = ctx;

	if (memchr(s, '\0', len) != NULL)
		return json_sax_abort_string(p, "\\u0000 (NUL) in a string is not accepted");
	return json_sax_scalar(p, JSON_STRING, (const char *)s, len);
}

/* Open an array or object unless too deep. */
static int
json_sax_open(struct json_sax_parser *p, enum json_type t)
{
	struct json_sax_frame *f;

	if (p->depth >= p->max_depth) {
		p->abort_msg = "nesting too deep";
		p->abort_off = yajl_get_bytes_consumed(p->h) - 1; /* the bracket */
		return 0;
	}
	f = &p->stack[p->depth++];
	f->keys = p->klen;
	f->nkeys = 0;
	f->map = NULL;
	p->cbs->open(p->ctx, t);
	return 1;
}

static int
json_sax_cb_start_map(void *ctx)
{
	return json_sax_open(ctx, JSON_OBJECT);
}

static int
json_sax_cb_start_array(void *ctx)
{
	return json_sax_open(ctx, JSON_ARRAY);
}

/* Close the innermost array or object: forget its keys. */
static int
json_sax_cb_end(void *ctx)
{
	struct json_sax_parser *p = ctx;
	struct json_sax_frame *f = &p->stack[--p->depth];

	hmap_free(f->map);
	f->map = NULL;
	p->klen = f->keys;
	p->done |= p->depth == 0;
	p->cbs->close(p->ctx);
	return 1;
}

/* Make room for n more bytes of keys. */
static void
json_sax_keys_grow(struct json_sax_parser *p, size_t n)
{
	size_t cap = p->kcap * 2;

	if (p->kcap - p->klen >= n)
		return;
	if (cap < p->klen + n)
		cap = p->klen + n;
	if (p->keys == p->kinline) {
		p->keys = xmalloc(cap);
		memcpy(p->keys, p->kinline, p->klen);
	} else
		p->keys = xrealloc(p->keys, cap);
	p->kcap = cap;
}

/* Put the key s (NUL-free, len bytes) in an object's map of keys; 1 if it was there. */
static int
json_sax_map_put(struct hmap *m, const char *s, size_t len, void *v)
{
	char *copy = xstrndup(s, len);
	int dup = hmap_put(m, copy, v) != NULL;

	free(copy);
	return dup;
}

/* Whether the object being read already has the key s (NUL-free, len bytes); remember it. */
static int
json_sax_has_key(struct json_sax_parser *p, struct json_sax_frame *f, const char *s, size_t len)
{
	size_t i, n, end = p->klen;

	if (f->map == NULL) {
		for (i = f->keys; i < end; i += sizeof n + n + 1) {
			memcpy(&n, p->keys + i, sizeof n);
			if (n == len && memcmp(p->keys + i + sizeof n, s, len) == 0)
				return 1;
		}
		if (++f->nkeys <= JSON_KEYS_SCAN) {
			json_sax_keys_grow(p, sizeof len + len + 1);
			memcpy(p->keys + p->klen, &len, sizeof len);
			memcpy(p->keys + p->klen + sizeof len, s, len);
			p->keys[p->klen + sizeof len + len] = '\0';
			p->klen += sizeof len + len + 1;
			return 0;
		}
		f->map = hmap_create();
		for (i = f->keys; i < end; i += sizeof n + n + 1) {
			memcpy(&n, p->keys + i, sizeof n);
			hmap_put(f->map, p->keys + i + sizeof n, f);
		}
	}
	return json_sax_map_put(f->map, s, len, f);
}

static int
json_sax_cb_key(void *ctx, const unsigned char *s, size_t len)
{
	struct json_sax_parser *p = ctx;

	if (memchr(s, '\0', len) != NULL)
		return json_sax_abort_string(p, "\\u0000 (NUL) in a key is not accepted");
	if (!p->keep_duplicates &&
	    json_sax_has_key(p, &p->stack[p->depth - 1], (const char *)s, len))
		return json_sax_abort_string(p, "duplicate key");
	p->cbs->key(p->ctx, (const char *)s, len);
	return 1;
}

static const yajl_callbacks json_sax_callbacks = {
	json_sax_cb_null,
	json_sax_cb_bool,
	json_sax_cb_int,
	json_sax_cb_double,
	NULL,
	json_sax_cb_string,
	json_sax_cb_start_map,
	json_sax_cb_key,
	json_sax_cb_end,
	json_sax_cb_start_array,
	json_sax_cb_end,
};

/*
 * The fast path of json_sax_parse: a document that is plainly valid (an
 * object or array at the root; strings of valid UTF-8 without \u escapes
 * or control characters; integers and decimals of at most 18 characters
 * without exponent; only ' ', tab, CR and LF between tokens) is read by a
 * lexer of its own into tokens, and the callbacks see the tokens once the
 * whole document is known to be good. Anything else, an error included,
 * is left to yajl, which reads the document again from the start: what
 * this path accepts yajl accepts with the same values, and every refusal
 * and its position is yajl's.
 */

#define JSON_FAST_TOKS 256 /* tokens kept on the stack; more are on the heap */
#define JSON_FAST_ONES 0x0101010101010101ULL
#define JSON_FAST_HIGH 0x8080808080808080ULL

/* What a token of the fast path is. */
enum json_fast_kind { JSON_FAST_VALUE, JSON_FAST_KEY, JSON_FAST_OPEN, JSON_FAST_CLOSE };

/* One token: a string is text[off..off+len), or scratch's when it had escapes. */
struct json_fast_tok {
	unsigned char kind, type, esc;
	uint32_t off, len;
	uint32_t prev; /* a key: the previous key of its object's token + 1 (0: none) */
};

/* One reading by the fast path. */
struct json_fast {
	const unsigned char *s;
	size_t len;
	struct json_fast_tok *v;
	size_t n, cap;
	struct buf scratch; /* the strings that had escapes, unescaped */
	struct json_fast_tok inl[JSON_FAST_TOKS];
};

/* Double the room for tokens. */
static void
json_fast_grow(struct json_fast *f)
{
	if (f->v == f->inl) {
		f->v = xreallocarray(NULL, f->cap * 2, sizeof *f->v);
		memcpy(f->v, f->inl, sizeof f->inl);
	} else
		f->v = xreallocarray(f->v, f->cap * 2, sizeof *f->v);
	f->cap *= 2;
}

/* A new token at the end. */
static inline struct json_fast_tok *
json_fast_add(struct json_fast *f, enum json_fast_kind kind, enum json_type type)
{
	struct json_fast_tok *t;

	if (f->n == f->cap)
		json_fast_grow(f);
	t = &f->v[f->n++];
	t->kind = (unsigned char)kind;
	t->type = (unsigned char)type;
	t->esc = 0;
	t->off = t->len = 0;
	return t;
}

/* Whether c is ' ', tab, CR or LF (one compare rules most bytes out). */
static inline int
json_fast_space(unsigned char c)
{
	return c <= ' ' && (c == ' ' || c == '\n' || c == '\r' || c == '\t');
}

/* The index of the first byte at or after i that is not ' ', tab, CR or LF:
 * json_fast_lex reads only up to a last byte that is none of them, where the
 * scan stops at the latest. */
static inline size_t
json_fast_ws(const unsigned char *s, size_t i)
{
	while (json_fast_space(s[i]))
		i++;
	return i;
}

/* The length of the well-formed UTF-8 sequence (2 to 4 bytes, RFC 3629) at s, or 0. */
static size_t
json_fast_utf8(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80 || (c == 0xf0 && s[1] < 0x90) ||
		    (c == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/* The bytes among the 8 at s that need a look ('"', '\\', a control byte or a
 * non-ASCII one), as their high bits; the lowest one set is exact (borrows
 * only ever mark bytes after a marked one). */
static inline uint64_t
json_fast_special8(const unsigned char *s)
{
	uint64_t v, q, b;

	memcpy(&v, s, sizeof v);
	q = v ^ (JSON_FAST_ONES * '"');
	b = v ^ (JSON_FAST_ONES * '\\');
	return (((q - JSON_FAST_ONES) & ~q) | ((b - JSON_FAST_ONES) & ~b) |
		   ((v - JSON_FAST_ONES * 0x20) & ~v) | v) &
	    JSON_FAST_HIGH;
}

/* The index of the first byte at or after j that needs a look (json_fast_special8), or len. */
static inline size_t
json_fast_skip(const unsigned char *s, size_t len, size_t j)
{
	uint64_t m;

#ifdef __SSE2__
	/* 16 bytes at a time: as signed bytes, control and non-ASCII ones are all below ' ' */
	for (; j + 16 <= len; j += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + j));
		__m128i x = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
		    _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')),
			_mm_cmplt_epi8(v, _mm_set1_epi8(' '))));
		unsigned bits = (unsigned)_mm_movemask_epi8(x);

		if (bits != 0)
			return j + (size_t)__builtin_ctz(bits);
	}
#endif
	for (; j + 8 <= len; j += 8) {
		if ((m = json_fast_special8(s + j)) != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return j + (size_t)__builtin_ctzll(m) / 8;
#else
			break;
#endif
		}
	}
	for (; j < len; j++) {
		if (s[j] < 0x20 || s[j] >= 0x80 || s[j] == '"' || s[j] == '\\')
			break;
	}
	return j;
}

/* The rest of json_fast_string from j, the first byte that needs a look, when it is not the
 * closing quote: UTF-8 sequences and escapes. */
static int __attribute__((noinline))
json_fast_string_rest(struct json_fast *f, size_t *i, struct json_fast_tok *t, size_t j)
{
	const unsigned char *s = f->s;
	size_t len = f->len, seg = *i + 1, start = seg, n;
	unsigned char c;
	char ch;

	for (;;) {
		if (j >= len)
			return -1;
		c = s[j];
		if (c == '"')
			break;
		if (c >= 0x80) {
			if ((n = json_fast_utf8(s + j, len - j)) == 0)
				return -1;
			j = json_fast_skip(s, len, j + n);
			continue;
		}
		if (c != '\\' || j + 1 >= len)
			return -1; /* a control character */
		switch (s[j + 1]) {
		case '"': ch = '"'; break;
		case '\\': ch = '\\'; break;
		case '/': ch = '/'; break;
		case 'b': ch = '\b'; break;
		case 'f': ch = '\f'; break;
		case 'n': ch = '\n'; break;
		case 'r': ch = '\r'; break;
		case 't': ch = '\t'; break;
		default: return -1; /* \u, or not an escape */
		}
		if (!t->esc) {
			t->esc = 1;
			t->off = (uint32_t)f->scratch.len;
		}
		buf_add(&f->scratch, s + seg, j - seg);
		buf_addch(&f->scratch, ch);
		seg = j + 2;
		j = json_fast_skip(s, len, seg);
	}
	if (t->esc) {
		buf_add(&f->scratch, s + seg, j - seg);
		t->len = (uint32_t)(f->scratch.len - t->off);
	} else {
		t->off = (uint32_t)start;
		t->len = (uint32_t)(j - start);
	}
	*i = j + 1;
	return 0;
}

/* The string whose quote is at *i into t; *i then follows it. -1: leave it to yajl. */
static inline int
json_fast_string(struct json_fast *f, size_t *i, struct json_fast_tok *t)
{
	size_t start = *i + 1, j = json_fast_skip(f->s, f->len, start);

	if (j < f->len && f->s[j] == '"') { /* plain ASCII without escapes: most strings */
		t->off = (uint32_t)start;
		t->len = (uint32_t)(j - start);
		*i = j + 1;
		return 0;
	}
	return json_fast_string_rest(f, i, t, j);
}

/* The number, true, false or null at *i; *i then follows it. -1: leave it to yajl. */
static int
json_fast_scalar(struct json_fast *f, size_t *i)
{
	const unsigned char *s = f->s;
	size_t len = f->len, j = *i;
	enum json_type type = JSON_INT;

	if (s[j] == 't' || s[j] == 'f' || s[j] == 'n') {
		static const char *const lit[] = { "true", "false", "null" };
		int k = s[j] == 't' ? 0 : s[j] == 'f' ? 1 : 2;
		size_t n = strlen(lit[k]);

		if (len - j < n || memcmp(s + j, lit[k], n) != 0)
			return -1;
		json_fast_add(f, JSON_FAST_VALUE, k == 2 ? JSON_NULL : JSON_BOOL);
		*i = j + n;
		return 0;
	}
	if (s[j] == '-')
		j++;
	if (j < len && s[j] == '0')
		j++;
	else if (j < len && s[j] >= '1' && s[j] <= '9') {
		while (j < len && s[j] >= '0' && s[j] <= '9')
			j++;
	} else
		return -1;
	if (j < len && s[j] == '.') {
		type = JSON_DOUBLE;
		if (++j >= len || s[j] < '0' || s[j] > '9')
			return -1;
		while (j < len && s[j] >= '0' && s[j] <= '9')
			j++;
	}
	if ((j < len && (s[j] == 'e' || s[j] == 'E')) || j - *i > 18)
		return -1; /* might not fit: yajl says */
	json_fast_add(f, JSON_FAST_VALUE, type);
	*i = j;
	return 0;
}

/* The text of string token t. */
static inline const char *
json_fast_str(const struct json_fast *f, const struct json_fast_tok *t)
{
	return (t->esc ? f->scratch.data : (const char *)f->s) + t->off;
}

/* The bit of a key in its object's filter (json_fast_has_key): of its length, first and
 * last bytes (the keys of UCWA's objects of up to 16 keys rarely share one). */
static inline uint64_t
json_fast_key_bit(const char *s, size_t len)
{
	size_t h = len > 0 ? (unsigned char)s[0] + (unsigned char)s[len - 1] * 3u : 0;

	return 1ull << ((len * 13 + h) & 63);
}

/*
 * Whether the object of frame fr already has key token k; remember it. Each
 * key sets a bit of the object's filter, and only a key whose bit is set
 * already is compared with the keys before it (chained through their
 * tokens); past JSON_KEYS_SCAN keys they go into a map, as in yajl's reading.
 */
static int
json_fast_has_key(struct json_fast *f, struct json_sax_frame *fr, uint32_t k)
{
	struct json_fast_tok *t = &f->v[k];
	const char *s = json_fast_str(f, t);
	uint64_t bit = json_fast_key_bit(s, t->len);

	if (fr->nkeys < JSON_KEYS_SCAN) {
		if ((fr->seen & bit) != 0) {
			for (uint32_t j = fr->last; j != 0; j = f->v[j - 1].prev) {
				const struct json_fast_tok *o = &f->v[j - 1];

				if (o->len == t->len && memcmp(json_fast_str(f, o), s, t->len) == 0)
					return 1;
			}
		}
		fr->seen |= bit;
		t->prev = fr->last;
		fr->last = k + 1;
		fr->nkeys++;
		return 0;
	}
	if (fr->map == NULL) {
		fr->map = hmap_create();
		for (uint32_t j = fr->last; j != 0; j = f->v[j - 1].prev)
			json_sax_map_put(
			    fr->map, json_fast_str(f, &f->v[j - 1]), f->v[j - 1].len, fr);
	}
	return json_sax_map_put(fr->map, s, t->len, fr);
}

/*
 * Read the document into tokens, with json_sax_parse's depth and key checks;
 * -1: leave it to yajl. The document must end (but for white space) at s[end],
 * a '}' or ']': no scan between tokens passes it, and each token that could
 * reach it stops there (strings and literals are checked against the length).
 */
static int
json_fast_lex(struct json_sax_parser *p, struct json_fast *f)
{
	enum { VALUE, AFTER, KEY } st = VALUE;
	const unsigned char *s = f->s;
	size_t end = f->len, i;
	char closer[JSON_MAX_DEPTH];
	struct json_fast_tok *t;
	struct json_sax_frame *fr;

	while (end > 0 && json_fast_space(s[end - 1]))
		end--;
	if (end == 0 || (s[--end] != '}' && s[end] != ']'))
		return -1;
	i = json_fast_ws(s, 0);
	if (s[i] != '{' && s[i] != '[')
		return -1;
	for (;;) {
		switch (st) {
		case VALUE:
			if (s[i] == '{' || s[i] == '[') {
				/* i < end: s[end] closes */
				if (p->depth >= p->max_depth)
					return -1;
				fr = &p->stack[p->depth];
				fr->nkeys = 0;
				fr->map = NULL;
				fr->seen = 0;
				fr->last = 0;
				closer[p->depth++] = s[i] == '{' ? '}' : ']';
				json_fast_add(
				    f, JSON_FAST_OPEN, s[i] == '{' ? JSON_OBJECT : JSON_ARRAY);
				i = json_fast_ws(s, i + 1);
				if (s[i] == closer[p->depth - 1])
					st = AFTER; /* empty: closed there */
				else if (closer[p->depth - 1] == '}')
					st = KEY;
				continue;
			}
			if (s[i] == '"') {
				t = json_fast_add(f, JSON_FAST_VALUE, JSON_STRING);
				if (json_fast_string(f, &i, t) != 0)
					return -1;
			} else if (json_fast_scalar(f, &i) != 0)
				return -1;
			/* the value ended before a byte it cannot hold: i <= end */
			i = json_fast_ws(s, i);
			st = AFTER;
			continue;
		case AFTER:
			/* s[i] follows a value, or a container just opened */
			if (s[i] == closer[p->depth - 1]) {
				fr = &p->stack[--p->depth];
				if (fr->map != NULL) {
					hmap_free(fr->map);
					fr->map = NULL;
				}
				json_fast_add(f, JSON_FAST_CLOSE, JSON_NULL);
				if (p->depth == 0)
					return i == end ? 0 : -1;
				if (i == end)
					return -1; /* the document ends with containers open */
				i = json_fast_ws(s, i + 1);
				continue;
			}
			if (s[i] != ',')
				return -1;
			i = json_fast_ws(s, i + 1);
			st = closer[p->depth - 1] == '}' ? KEY : VALUE;
			continue;
		case KEY:
			if (s[i] != '"')
				return -1;
			t = json_fast_add(f, JSON_FAST_KEY, JSON_STRING);
			if (json_fast_string(f, &i, t) != 0)
				return -1;
			if (!p->keep_duplicates &&
			    json_fast_has_key(f, &p->stack[p->depth - 1], (uint32_t)(t - f->v)))
				return -1;
			i = json_fast_ws(s, i);
			if (s[i] != ':')
				return -1;
			i = json_fast_ws(s, i + 1);
			st = VALUE;
			continue;
		}
	}
}

/* Give the tokens read to the callbacks. */
static void
json_fast_replay(struct json_sax_parser *p, const struct json_fast *f)
{
	const struct json_sax *cbs = p->cbs;

	for (size_t k = 0; k < f->n; k++) {
		const struct json_fast_tok *t = &f->v[k];

		switch (t->kind) {
		case JSON_FAST_OPEN: cbs->open(p->ctx, (enum json_type)t->type); break;
		case JSON_FAST_CLOSE: cbs->close(p->ctx); break;
		case JSON_FAST_KEY: cbs->key(p->ctx, json_fast_str(f, t), t->len); break;
		default:
			if (t->type == JSON_STRING)
				cbs->value(p->ctx, JSON_STRING, json_fast_str(f, t), t->len);
			else
				cbs->value(p->ctx, (enum json_type)t->type, NULL, 0);
			break;
		}
	}
}

/* Try the fast path on p's document: 0 when it was read and given to the callbacks. */
static int
json_fast_parse(struct json_sax_parser *p)
{
	struct json_fast f;
	int rc;

	if (p->len > UINT32_MAX)
		return -1;
	f.s = (const unsigned char *)p->text;
	f.len = p->len;
	f.v = f.inl;
	f.n = 0;
	f.cap = JSON_FAST_TOKS;
	buf_init(&f.scratch);
	if ((rc = json_fast_lex(p, &f)) == 0)
		json_fast_replay(p, &f);
	while (p->depth > 0)
		hmap_free(p->stack[--p->depth].map);
	if (f.v != f.inl)
		free(f.v);
	buf_free(&f.scratch);
	return rc;
}

/* Parse text, calling cbs; 0, or -1 with err filled in (json_parse's refusals and positions). */
int
json_sax_parse(const char *text, size_t len, const struct json_limits *lim,
    const struct json_sax *cbs, void *ctx, struct json_error *err)
{
	struct json_sax_parser p;
	yajl_status st;
	int at_end = 0;

	if (json_too_large(len, lim, err))
		return -1;
	p.text = text;
	p.len = len;
	p.cbs = cbs;
	p.ctx = ctx;
	p.depth = 0;
	p.max_depth = lim && lim->max_depth ? lim->max_depth : JSON_MAX_DEPTH;
	if (p.max_depth > JSON_MAX_DEPTH)
		p.max_depth = JSON_MAX_DEPTH;
	p.keep_duplicates = lim != NULL && lim->keep_duplicates;
	p.done = 0;
	p.abort_msg = NULL;
	p.abort_off = 0;
	p.keys = p.kinline;
	p.klen = 0;
	p.kcap = sizeof p.kinline;
	if ((lim == NULL || !lim->no_fast) && json_fast_parse(&p) == 0) {
		if (p.keys != p.kinline)
			free(p.keys);
		return 0;
	}
	if (lim != NULL && lim->fast_only) {
		err->line = err->col = 1;
		snprintf(err->msg, sizeof err->msg, "left to yajl");
		return -1;
	}
	p.h = yajl_alloc(&json_sax_callbacks, NULL, &p);
	yajl_config(p.h, yajl_allow_comments, lim && lim->allow_comments ? 1 : 0);
	st = yajl_parse(p.h, (const unsigned char *)text, len);
	if (st == yajl_status_ok && (st = yajl_complete_parse(p.h)) != yajl_status_ok)
		at_end = 1;
	if (st == yajl_status_ok && !p.done) {
		p.abort_msg = "empty document";
		st = yajl_status_error;
	}
	if (st != yajl_status_ok)
		json_error_fill(p.h, text, len, p.abort_msg, p.abort_off, at_end, err);
	while (p.depth > 0)
		hmap_free(p.stack[--p.depth].map);
	if (p.keys != p.kinline)
		free(p.keys);
	yajl_free(p.h);
	return st == yajl_status_ok ? 0 : -1;
}

/* Set obj[key] = val, replacing an existing member. */
void
json_obj_set(struct json_doc *d, struct json *obj, const char *key, struct json *val)
{
	struct json_member *m;

	for (size_t i = 0; i < obj->u.obj.n; i++) {
		if (strcmp(obj->u.obj.m[i].key, key) == 0) {
			obj->u.obj.m[i].val = val;
			return;
		}
	}
	m = json_doc_alloc(d, (obj->u.obj.n + 1) * sizeof *m);
	if (obj->u.obj.n != 0)
		memcpy(m, obj->u.obj.m, obj->u.obj.n * sizeof *m);
	m[obj->u.obj.n].key = json_doc_strdup(d, key, strlen(key));
	m[obj->u.obj.n].keylen = strlen(key);
	m[obj->u.obj.n].line = m[obj->u.obj.n].col = 0;
	m[obj->u.obj.n].val = val;
	obj->u.obj.m = m;
	obj->u.obj.n++;
}

/* Name of a type, for error messages. */
const char *
json_type_name(enum json_type t)
{
	static const char *const names[] = { "null", "boolean", "integer", "number", "string",
		"array", "object" };

	return names[t];
}

/* The last member called key of obj (searched from the end), or NULL. */
struct json *
json_get(const struct json *obj, const char *key)
{
	const struct json_member *m;
	size_t len;

	if (obj == NULL || obj->type != JSON_OBJECT)
		return NULL;
	len = strlen(key);
	for (size_t i = obj->u.obj.n; i-- > 0;) {
		m = &obj->u.obj.m[i];
		if (m->keylen == len && memcmp(m->key, key, len) == 0)
			return m->val;
	}
	return NULL;
}

/* The string value of v, or NULL. */
const char *
json_str(const struct json *v)
{
	return v != NULL && v->type == JSON_STRING ? v->u.str.s : NULL;
}

/* The string member key of obj, or NULL. */
const char *
json_get_str(const struct json *obj, const char *key)
{
	return json_str(json_get(obj, key));
}

/* Whether v exists and has type t. */
int
json_is(const struct json *v, enum json_type t)
{
	return v != NULL && v->type == t;
}

/* Length of the valid UTF-8 sequence at s (max n bytes), or 0 if invalid. */
static size_t
json_utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	if (n < len)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* The index of the first byte at or after j that json_escape cannot copy as it is, or len. */
static inline size_t
json_escape_skip(const unsigned char *s, size_t len, size_t j)
{
	uint64_t v, d, m;

#ifdef __SSE2__
	for (; j + 16 <= len; j += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + j));
		__m128i y = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
					     _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
		    _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(' ')),
			_mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f))));
		unsigned bits = (unsigned)_mm_movemask_epi8(y);

		if (bits != 0)
			return j + (size_t)__builtin_ctz(bits);
	}
#endif
	for (; j + 8 <= len; j += 8) {
		memcpy(&v, s + j, sizeof v);
		d = v ^ (JSON_FAST_ONES * 0x7f);
		if ((m = json_fast_special8(s + j) |
			    ((d - JSON_FAST_ONES) & ~d & JSON_FAST_HIGH)) != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return j + (size_t)__builtin_ctzll(m) / 8;
#else
			break;
#endif
		}
	}
	for (; j < len; j++) {
		if (s[j] < 0x20 || s[j] >= 0x7f || s[j] == '"' || s[j] == '\\')
			break;
	}
	return j;
}

/* Escape one byte below 0x80 that needs it; 0 if it needs none. */
static int
json_escape_ascii(struct buf *b, unsigned char c)
{
	switch (c) {
	case '"': buf_add(b, "\\\"", 2); return 1;
	case '\\': buf_add(b, "\\\\", 2); return 1;
	case '\n': buf_add(b, "\\n", 2); return 1;
	case '\r': buf_add(b, "\\r", 2); return 1;
	case '\t': buf_add(b, "\\t", 2); return 1;
	default:
		if (c < 0x20 || c == 0x7f) {
			buf_printf(b, "\\u%04x", c);
			return 1;
		}
		return 0;
	}
}

/* Append s as a quoted JSON string; invalid UTF-8 becomes U+FFFD. */
void
json_escape(struct buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	buf_reserve(b, len + 2);
	b->data[b->len++] = '"'; /* room reserved; the closing quote writes the NUL */
	while (i < len) {
		size_t j = json_escape_skip(p, len, i), n = 1;

		if (j > i)
			buf_add(b, p + i, j - i);
		if ((i = j) >= len)
			break;
		if (p[i] < 0x80)
			json_escape_ascii(b, p[i]);
		else if ((n = json_utf8_len(p + i, len - i)) != 0)
			buf_add(b, p + i, n);
		else {
			buf_add(b, "\xef\xbf\xbd", 3);
			n = 1;
		}
		i += n;
	}
	buf_addch(b, '"');
}
