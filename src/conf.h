/*
 * conf.h: configuration as a table of rows. Each program (ucgw, ucwa-sim)
 * describes its keys once: dotted name, type, where the value lands in its
 * struct, default, range, whether SIGHUP may change it, and a line of doc.
 * conf_load() reads a JSON file (comments allowed), applies "-o key=value"
 * overrides, checks every value and reports every problem as
 * "FILE:LINE:COL: message". A failed load leaves the target untouched.
 */
#ifndef UCGW_CONF_H
#define UCGW_CONF_H

#include <stddef.h>

#include "json.h"

enum conf_type {
	CONF_STR,     /* char *, NULL when unset */
	CONF_INT,     /* long long, within [min, max] */
	CONF_BOOL,    /* int */
	CONF_ENUM,    /* int, index into enums[] */
	CONF_STRLIST, /* struct conf_strlist */
	CONF_JSON,    /* struct json_doc *: any JSON value, checked by check() */
	CONF_PATH,    /* char *, a file or directory: relative ones in the file are
			 resolved against the configuration file's folder */
};

struct conf_strlist {
	char **v;
	size_t n;
};

struct conf_problems;

struct conf_row {
	const char *key;
	enum conf_type type;
	size_t off;
	const char *def;	  /* default as JSON text; NULL = unset */
	long long min, max;	  /* CONF_INT; CONF_STR/STRLIST: max = length limit (0 none) */
	const char *const *enums; /* CONF_ENUM: NULL-terminated names */
	int reload;		  /* SIGHUP may change it */
	const char *doc;
	/* Optional extra check: return NULL if good, else a message (static or malloc'd via *freeit). */
	const char *(*check)(const struct json *, char **freeit);
};

struct conf_schema {
	const char *program;
	const struct conf_row *rows;
	size_t nrows;
	size_t size; /* sizeof the target struct */
};

/* An override from the command line: "key.path=value". */
struct conf_override {
	char *key;
	char *value;
};

struct conf_overrides {
	struct conf_override *v;
	size_t n;
};

int conf_override_add(struct conf_overrides *, const char *arg, char **cause);
void conf_overrides_free(struct conf_overrides *);

/*
 * Load file (NULL = defaults only) plus overrides into a new target struct.
 * Returns the struct, or NULL with every problem in *problems (one per line,
 * "FILE:LINE:COL: message"), which the caller frees.
 */
void *conf_load(
    const struct conf_schema *, const char *file, const struct conf_overrides *, char **problems);
void conf_free(const struct conf_schema *, void *);

/* Copy values of rows that SIGHUP may not change from old into new; return how many differed. */
int conf_keep_static(const struct conf_schema *, void *new_, const void *old, char **changed);

/* Print every key (one per line) for the documentation check. */
void conf_print_keys(const struct conf_schema *);
/* Print every key as roff (.TP paragraphs) for the ucgw.conf(5) manual page. */
void conf_print_man(const struct conf_schema *);

#endif
