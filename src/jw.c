/*
 * jw.c: the JSON writer. It appends compact UTF-8 JSON text to a struct
 * buf, escaping keys and strings (json_escape) and placing the commas by
 * a bit per nesting level; nothing is allocated but the buffer's growth.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

/* Start a writer appending to b. */
void
jw_init(struct jw *w, struct buf *b)
{
	w->b = b;
	w->depth = 0;
	w->first = 1;
}

/* Write the separator a new element needs. */
static void
jw_sep(struct jw *w)
{
	uint64_t bit = (uint64_t)1 << (w->depth & 63);

	if (w->first & bit)
		w->first &= ~bit;
	else if (w->depth > 0)
		buf_addch(w->b, ',');
}

/* Open a container. */
static void
jw_open(struct jw *w, char c)
{
	jw_sep(w);
	buf_addch(w->b, c);
	w->depth++;
	w->first |= (uint64_t)1 << (w->depth & 63);
}

/* Close a container. */
static void
jw_close(struct jw *w, char c)
{
	w->depth--;
	buf_addch(w->b, c);
}

/* Open an object. */
void
jw_obj_begin(struct jw *w)
{
	jw_open(w, '{');
}

/* Close an object. */
void
jw_obj_end(struct jw *w)
{
	jw_close(w, '}');
}

/* Open an array. */
void
jw_arr_begin(struct jw *w)
{
	jw_open(w, '[');
}

/* Close an array. */
void
jw_arr_end(struct jw *w)
{
	jw_close(w, ']');
}

/*
 * Write a key; the next value belongs to it. A key of printable ASCII
 * without '"' or '\\' (every key the gateway writes) is copied in one
 * piece, without json_escape.
 */
void
jw_key(struct jw *w, const char *k)
{
	struct buf *b = w->b;
	size_t n;
	unsigned char c;

	jw_sep(w);
	for (n = 0;; n++) {
		c = (unsigned char)k[n];
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			break;
	}
	if (c == '\0') {
		buf_reserve(b, n + 3);
		b->data[b->len] = '"';
		memcpy(b->data + b->len + 1, k, n);
		memcpy(b->data + b->len + 1 + n, "\":", 3); /* with the NUL */
		b->len += n + 3;
	} else {
		json_escape(b, k, n + strlen(k + n));
		buf_addch(b, ':');
	}
	w->first |= (uint64_t)1 << (w->depth & 63);
}

/* A string value. */
void
jw_str(struct jw *w, const char *s)
{
	if (s == NULL) {
		jw_null(w);
		return;
	}
	jw_strn(w, s, strlen(s));
}

/* A string value of len bytes. */
void
jw_strn(struct jw *w, const char *s, size_t len)
{
	jw_sep(w);
	json_escape(w->b, s, len);
}

/* An integer value. */
void
jw_int(struct jw *w, long long v)
{
	jw_sep(w);
	buf_addint(w->b, v);
}

/* A number value (null if not finite). */
void
jw_double(struct jw *w, double v)
{
	char num[32];

	jw_sep(w);
	if (!isfinite(v)) {
		buf_add(w->b, "null", 4);
		return;
	}
	/* Keep it a number with a fraction or exponent, so it reads back as one. */
	snprintf(num, sizeof num, "%.17g", v);
	buf_addstr(w->b, num);
	if (strpbrk(num, ".eE") == NULL)
		buf_add(w->b, ".0", 2);
}

/* A boolean value. */
void
jw_bool(struct jw *w, int v)
{
	jw_sep(w);
	if (v)
		buf_add(w->b, "true", 4);
	else
		buf_add(w->b, "false", 5);
}

/* A null value. */
void
jw_null(struct jw *w)
{
	jw_sep(w);
	buf_add(w->b, "null", 4);
}

/* JSON text that is already valid, as is. */
void
jw_raw(struct jw *w, const char *json)
{
	jw_sep(w);
	buf_addstr(w->b, json);
}

/* Write a parsed value back out. */
void
jw_value(struct jw *w, const struct json *v)
{
	switch (v->type) {
	case JSON_NULL: jw_null(w); break;
	case JSON_BOOL: jw_bool(w, v->u.b); break;
	case JSON_INT: jw_int(w, v->u.i); break;
	case JSON_DOUBLE: jw_double(w, v->u.d); break;
	case JSON_STRING: jw_strn(w, v->u.str.s, v->u.str.len); break;
	case JSON_ARRAY:
		jw_arr_begin(w);
		for (size_t i = 0; i < v->u.arr.n; i++)
			jw_value(w, v->u.arr.v[i]);
		jw_arr_end(w);
		break;
	case JSON_OBJECT:
		jw_obj_begin(w);
		for (size_t i = 0; i < v->u.obj.n; i++) {
			jw_key(w, v->u.obj.m[i].key);
			jw_value(w, v->u.obj.m[i].val);
		}
		jw_obj_end(w);
		break;
	}
}

/* A key and a string value (null if v is NULL). */
void
jw_kstr(struct jw *w, const char *k, const char *v)
{
	jw_key(w, k);
	jw_str(w, v);
}

/* A key and an integer value. */
void
jw_kint(struct jw *w, const char *k, long long v)
{
	jw_key(w, k);
	jw_int(w, v);
}

/* A key and a boolean value. */
void
jw_kbool(struct jw *w, const char *k, int v)
{
	jw_key(w, k);
	jw_bool(w, v);
}
