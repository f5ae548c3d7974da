/*
 * jw.h: the JSON writer (json.h includes it). Keys and strings are
 * escaped; output is compact UTF-8 appended to a struct buf.
 */
#ifndef UCGW_JW_H
#define UCGW_JW_H

#include <stdint.h>

#include "buf.h"

struct json;

/* A writer; depth and the "no element yet" bits place the commas. */
struct jw {
	struct buf *b;
	unsigned depth;
	uint64_t first; /* bit per depth: no element yet */
};

void jw_init(struct jw *, struct buf *);
void jw_obj_begin(struct jw *);
void jw_obj_end(struct jw *);
void jw_arr_begin(struct jw *);
void jw_arr_end(struct jw *);
void jw_key(struct jw *, const char *);
void jw_str(struct jw *, const char *);
void jw_strn(struct jw *, const char *, size_t);
void jw_int(struct jw *, long long);
void jw_double(struct jw *, double);
void jw_bool(struct jw *, int);
void jw_null(struct jw *);
void jw_raw(struct jw *, const char *); /* already valid JSON */
void jw_value(struct jw *, const struct json *);
void jw_kstr(struct jw *, const char *, const char *); /* key + string (null if NULL) */
void jw_kint(struct jw *, const char *, long long);
void jw_kbool(struct jw *, const char *, int);

#endif
