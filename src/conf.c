/*
 * conf.c: table-driven configuration. A program's rows name each key,
 * its type, where it lands and its default. Loading reads the JSON file
 * (comments allowed), applies command-line overrides onto the same tree,
 * then checks every member against the rows, collecting every problem as
 * "FILE:LINE:COL: message" before giving up, so an operator sees them all
 * at once. Nothing is half-applied: a failed load returns no struct.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define CONF_MAX_FILE (16u * 1024 * 1024)

/* State of one load. */
struct conf_load {
	const struct conf_schema *schema;
	const char *file; /* name used in messages */
	char *dir;	  /* the file's folder (relative paths), NULL without a file */
	void *target;
	struct buf problems;
	int nproblems;
	unsigned char *seen; /* per row: set by the file or an override */
};

/* Record a problem at a position (line 0 = from the command line). */
static void __attribute__((format(printf, 4, 5)))
conf_problem(struct conf_load *l, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (line == 0)
		buf_printf(&l->problems, "command line: -o %s\n", msg);
	else
		buf_printf(&l->problems, "%s:%u:%u: %s\n", l->file, line, col, msg);
	l->nproblems++;
	free(msg);
}

/* Parse "key.path=value" into the override list. */
int
conf_override_add(struct conf_overrides *o, const char *arg, char **cause)
{
	const char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg) {
		xasprintf(cause, "-o %s: expected key.path=value", arg);
		return -1;
	}
	o->v = xreallocarray(o->v, o->n + 1, sizeof *o->v);
	o->v[o->n].key = xstrndup(arg, (size_t)(eq - arg));
	o->v[o->n].value = xstrdup(eq + 1);
	o->n++;
	return 0;
}

/* Free an override list. */
void
conf_overrides_free(struct conf_overrides *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].key);
		free(o->v[i].value);
	}
	free(o->v);
	o->v = NULL;
	o->n = 0;
}

/* Read a whole file into memory (start-up and reload only). */
static char *
conf_read_file(const char *path, size_t *len, char **cause)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[8192];
	size_t n;

	if (f == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= CONF_MAX_FILE)
		buf_add(&b, chunk, n);
	if (ferror(f) || b.len > CONF_MAX_FILE) {
		xasprintf(cause, "%s: %s", path, ferror(f) ? strerror(errno) : "file too large");
		fclose(f);
		buf_free(&b);
		return NULL;
	}
	fclose(f);
	return buf_detach(&b, len);
}

/* Row with exactly this key, or NULL. */
static const struct conf_row *
conf_find_row(const struct conf_schema *s, const char *key)
{
	for (size_t i = 0; i < s->nrows; i++) {
		if (strcmp(s->rows[i].key, key) == 0)
			return &s->rows[i];
	}
	return NULL;
}

/* Whether some key lies below prefix (prefix is an object of the schema). */
static int
conf_is_section(const struct conf_schema *s, const char *prefix)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; i < s->nrows; i++) {
		if (strncmp(s->rows[i].key, prefix, n) == 0 && s->rows[i].key[n] == '.')
			return 1;
	}
	return 0;
}

/* Edit distance between a and b, capped at 3. */
static unsigned
conf_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[64], prev, tmp;

	if (la >= nitems(row) || (la > lb ? la - lb : lb - la) > 2)
		return 3;
	for (size_t j = 0; j <= la; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= lb; i++) {
		prev = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= la; j++) {
			tmp = row[j];
			row[j] = a[j - 1] == b[i - 1] ? prev
						      : 1 +
				(prev < row[j - 1] ? (prev < row[j] ? prev : row[j])
						   : (row[j - 1] < row[j] ? row[j - 1] : row[j]));
			prev = tmp;
		}
	}
	return row[la];
}

/* A known key close to an unknown one, or NULL. */
static const char *
conf_suggest(const struct conf_schema *s, const char *key)
{
	for (size_t i = 0; i < s->nrows; i++) {
		if (conf_distance(s->rows[i].key, key) <= 2)
			return s->rows[i].key;
	}
	return NULL;
}

/* Free the value a row stores in target. */
static void
conf_clear_value(const struct conf_row *r, void *target)
{
	char *field = (char *)target + r->off;

	switch (r->type) {
	case CONF_STR:
	case CONF_PATH:
		free(*(char **)field);
		*(char **)field = NULL;
		break;
	case CONF_STRLIST: {
		struct conf_strlist *sl = (struct conf_strlist *)field;

		for (size_t i = 0; i < sl->n; i++)
			free(sl->v[i]);
		free(sl->v);
		sl->v = NULL;
		sl->n = 0;
		break;
	}
	case CONF_JSON:
		json_doc_free(*(struct json_doc **)field);
		*(struct json_doc **)field = NULL;
		break;
	default: break;
	}
}

/* Check a string's length against the row's limit. */
static int
conf_check_len(struct conf_load *l, const struct conf_row *r, const struct json *v)
{
	if (r->max > 0 && v->u.str.len > (size_t)r->max) {
		conf_problem(l, v->line, v->col, "%s: longer than %lld characters", r->key, r->max);
		return -1;
	}
	if (memchr(v->u.str.s, '\0', v->u.str.len) != NULL) {
		conf_problem(l, v->line, v->col, "%s: contains a NUL character", r->key);
		return -1;
	}
	return 0;
}

/* Store a string row. */
static int
conf_store_str(struct conf_load *l, const struct conf_row *r, const struct json *v, char *field)
{
	if (v->type == JSON_NULL) {
		conf_clear_value(r, l->target);
		return 0;
	}
	if (v->type != JSON_STRING) {
		conf_problem(l, v->line, v->col, "%s: expected a string, got %s", r->key,
		    json_type_name(v->type));
		return -1;
	}
	if (conf_check_len(l, r, v) != 0)
		return -1;
	conf_clear_value(r, l->target);
	if (r->type == CONF_PATH && v->line != 0 && l->dir != NULL && v->u.str.len > 0 &&
	    v->u.str.s[0] != '/')
		xasprintf((char **)field, "%s/%.*s", l->dir, (int)v->u.str.len, v->u.str.s);
	else
		*(char **)field = xstrndup(v->u.str.s, v->u.str.len);
	return 0;
}

/* Store an integer row, in range. */
static int
conf_store_int(struct conf_load *l, const struct conf_row *r, const struct json *v, char *field)
{
	if (v->type != JSON_INT) {
		conf_problem(l, v->line, v->col, "%s: expected an integer, got %s", r->key,
		    json_type_name(v->type));
		return -1;
	}
	if (v->u.i < r->min || v->u.i > r->max) {
		conf_problem(l, v->line, v->col, "%s: %lld is out of range (%lld to %lld)", r->key,
		    v->u.i, r->min, r->max);
		return -1;
	}
	*(long long *)field = v->u.i;
	return 0;
}

/* Store an enumeration row by name. */
static int
conf_store_enum(struct conf_load *l, const struct conf_row *r, const struct json *v, char *field)
{
	struct buf names;

	if (v->type == JSON_STRING) {
		for (int i = 0; r->enums[i] != NULL; i++) {
			if (strcmp(r->enums[i], v->u.str.s) == 0) {
				*(int *)field = i;
				return 0;
			}
		}
	}
	buf_init(&names);
	for (int i = 0; r->enums[i] != NULL; i++)
		buf_printf(&names, "%s\"%s\"", i ? ", " : "", r->enums[i]);
	conf_problem(l, v->line, v->col, "%s: expected one of %s", r->key, names.data);
	buf_free(&names);
	return -1;
}

/* Store a list of strings. */
static int
conf_store_strlist(struct conf_load *l, const struct conf_row *r, const struct json *v, char *field)
{
	struct conf_strlist *sl = (struct conf_strlist *)field;

	if (v->type != JSON_ARRAY) {
		conf_problem(l, v->line, v->col, "%s: expected an array of strings, got %s", r->key,
		    json_type_name(v->type));
		return -1;
	}
	for (size_t i = 0; i < v->u.arr.n; i++) {
		const struct json *e = v->u.arr.v[i];

		if (e->type != JSON_STRING) {
			conf_problem(l, e->line, e->col, "%s[%zu]: expected a string, got %s",
			    r->key, i, json_type_name(e->type));
			return -1;
		}
		if (conf_check_len(l, r, e) != 0)
			return -1;
	}
	conf_clear_value(r, l->target);
	sl->v = xcalloc(v->u.arr.n, sizeof *sl->v);
	for (size_t i = 0; i < v->u.arr.n; i++)
		sl->v[i] = xstrndup(v->u.arr.v[i]->u.str.s, v->u.arr.v[i]->u.str.len);
	sl->n = v->u.arr.n;
	return 0;
}

/* Store any JSON value as its own document. */
static int
conf_store_json(struct conf_load *l, const struct conf_row *r, const struct json *v, char *field)
{
	struct json_error err;
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_value(&w, v);
	conf_clear_value(r, l->target);
	*(struct json_doc **)field = json_parse(b.data, b.len, NULL, &err);
	buf_free(&b);
	return 0;
}

/* Check v against row r and store it in the target. */
static void
conf_store(struct conf_load *l, const struct conf_row *r, const struct json *v)
{
	char *field = (char *)l->target + r->off;
	char *freeit = NULL;
	const char *msg;
	int rc = -1;

	if (r->check != NULL && (msg = r->check(v, &freeit)) != NULL) {
		conf_problem(l, v->line, v->col, "%s: %s", r->key, msg);
		free(freeit);
		return;
	}
	switch (r->type) {
	case CONF_STR:
	case CONF_PATH: rc = conf_store_str(l, r, v, field); break;
	case CONF_INT: rc = conf_store_int(l, r, v, field); break;
	case CONF_ENUM: rc = conf_store_enum(l, r, v, field); break;
	case CONF_STRLIST: rc = conf_store_strlist(l, r, v, field); break;
	case CONF_JSON: rc = conf_store_json(l, r, v, field); break;
	case CONF_BOOL:
		if (v->type == JSON_BOOL) {
			*(int *)field = v->u.b;
			rc = 0;
		} else
			conf_problem(l, v->line, v->col, "%s: expected true or false, got %s",
			    r->key, json_type_name(v->type));
		break;
	}
	if (rc == 0)
		l->seen[r - l->schema->rows] = 1;
}

static void conf_walk(struct conf_load *, const struct json *, const char *);

/* Report a key that names nothing in the schema. */
static void
conf_unknown(struct conf_load *l, const struct json_member *m, const char *path)
{
	const char *near = conf_suggest(l->schema, path);

	if (near != NULL)
		conf_problem(
		    l, m->line, m->col, "unknown key \"%s\" (did you mean \"%s\"?)", path, near);
	else
		conf_problem(l, m->line, m->col, "unknown key \"%s\"", path);
}

/* Handle one member at path: a key, a section, or unknown. */
static void
conf_member(struct conf_load *l, const struct json_member *m, const char *path)
{
	const struct conf_row *r = conf_find_row(l->schema, path);

	if (r != NULL)
		conf_store(l, r, m->val);
	else if (conf_is_section(l->schema, path)) {
		if (m->val->type == JSON_OBJECT)
			conf_walk(l, m->val, path);
		else
			conf_problem(l, m->val->line, m->val->col, "%s: expected an object, got %s",
			    path, json_type_name(m->val->type));
	} else
		conf_unknown(l, m, path);
}

/* Check every member of obj, whose keys are below prefix. */
static void
conf_walk(struct conf_load *l, const struct json *obj, const char *prefix)
{
	for (size_t i = 0; i < obj->u.obj.n; i++) {
		const struct json_member *m = &obj->u.obj.m[i];
		char *path;

		for (size_t j = 0; j < i; j++) {
			if (strcmp(obj->u.obj.m[j].key, m->key) == 0 && m->line != 0)
				conf_problem(l, m->line, m->col, "duplicate key \"%s\"", m->key);
		}
		if (*prefix != '\0')
			xasprintf(&path, "%s.%s", prefix, m->key);
		else
			path = xstrdup(m->key);
		conf_member(l, m, path);
		free(path);
	}
}

/* Parse an override's value: JSON if it parses, else the raw string. */
static struct json *
conf_override_value(struct json_doc *doc, const char *text, struct json_doc **holder)
{
	struct json_error err;
	struct json *v;

	*holder = json_parse(text, strlen(text), NULL, &err);
	if (*holder != NULL)
		return json_root(*holder);
	v = json_doc_new_node(doc, JSON_STRING);
	v->u.str.s = json_doc_strdup(doc, text, strlen(text));
	v->u.str.len = strlen(text);
	return v;
}

/* Zero the positions of an override subtree so problems say "command line". */
static void
conf_mark_override(struct json *v)
{
	v->line = v->col = 0;
	if (v->type == JSON_ARRAY) {
		for (size_t i = 0; i < v->u.arr.n; i++)
			conf_mark_override(v->u.arr.v[i]);
	} else if (v->type == JSON_OBJECT) {
		for (size_t i = 0; i < v->u.obj.n; i++) {
			v->u.obj.m[i].line = v->u.obj.m[i].col = 0;
			conf_mark_override(v->u.obj.m[i].val);
		}
	}
}

/* Put one override into the tree at its dotted path. */
static void
conf_apply_override(struct conf_load *l, struct json_doc *doc, const struct conf_override *o,
    struct json_doc **holder)
{
	struct json *obj = json_root(doc), *v, *next;
	char *path = xstrdup(o->key), *seg, *dot;

	for (seg = path; (dot = strchr(seg, '.')) != NULL; seg = dot + 1) {
		*dot = '\0';
		next = json_get(obj, seg);
		if (next == NULL) {
			next = json_doc_new_node(doc, JSON_OBJECT);
			json_obj_set(doc, obj, seg, next);
		} else if (next->type != JSON_OBJECT) {
			conf_problem(l, 0, 0, "%s: \"%s\" is not an object", o->key, seg);
			free(path);
			return;
		}
		obj = next;
	}
	v = conf_override_value(doc, o->value, holder);
	conf_mark_override(v);
	json_obj_set(doc, obj, seg, v);
	free(path);
}

/* Set every row to its default. */
static void
conf_defaults(struct conf_load *l)
{
	struct json_error err;

	for (size_t i = 0; i < l->schema->nrows; i++) {
		const struct conf_row *r = &l->schema->rows[i];
		struct json_doc *d;

		if (r->def == NULL)
			continue;
		d = json_parse(r->def, strlen(r->def), NULL, &err);
		if (d == NULL) {
			conf_problem(l, 0, 0, "%s: bad built-in default (%s)", r->key, err.msg);
			continue;
		}
		conf_store(l, r, json_root(d));
		json_doc_free(d);
	}
	memset(l->seen, 0, l->schema->nrows);
}

/* Parse the file into a tree, or an empty object when there is none. */
static struct json_doc *
conf_parse_file(struct conf_load *l, const char *file)
{
	struct json_limits lim = {
		.max_bytes = CONF_MAX_FILE, .allow_comments = 1, .keep_duplicates = 1
	};
	struct json_error err;
	struct json_doc *d;
	char *text, *cause;
	size_t len;

	if (file == NULL)
		return json_parse("{}", 2, NULL, &err);
	if ((text = conf_read_file(file, &len, &cause)) == NULL) {
		buf_printf(&l->problems, "%s\n", cause);
		l->nproblems++;
		free(cause);
		return NULL;
	}
	d = json_parse(text, len, &lim, &err);
	free(text);
	if (d == NULL)
		conf_problem(l, err.line, err.col, "%s", err.msg);
	else if (json_root(d)->type != JSON_OBJECT) {
		conf_problem(l, json_root(d)->line, json_root(d)->col,
		    "expected an object at the top level");
		json_doc_free(d);
		d = NULL;
	}
	return d;
}

/* Load a configuration; see conf.h. */
void *
conf_load(
    const struct conf_schema *s, const char *file, const struct conf_overrides *o, char **problems)
{
	struct conf_load l = { .schema = s, .file = file ? file : "(defaults)" };
	struct json_doc *doc, **holders;

	buf_init(&l.problems);
	if (file != NULL) {
		const char *slash = strrchr(file, '/');

		l.dir = slash == NULL ? xstrdup(".")
		    : slash == file   ? xstrdup("/")
				      : xstrndup(file, (size_t)(slash - file));
	}
	l.target = xcalloc(1, s->size);
	l.seen = xcalloc(s->nrows ? s->nrows : 1, 1);
	conf_defaults(&l);
	holders = xcalloc(o && o->n ? o->n : 1, sizeof *holders);
	if ((doc = conf_parse_file(&l, file)) != NULL) {
		for (size_t i = 0; o != NULL && i < o->n; i++)
			conf_apply_override(&l, doc, &o->v[i], &holders[i]);
		conf_walk(&l, json_root(doc), "");
	}
	for (size_t i = 0; o != NULL && i < o->n; i++)
		json_doc_free(holders[i]);
	free(holders);
	json_doc_free(doc);
	free(l.seen);
	free(l.dir);
	if (l.nproblems == 0) {
		buf_free(&l.problems);
		*problems = NULL;
		return l.target;
	}
	conf_free(s, l.target);
	*problems = buf_detach(&l.problems, NULL);
	return NULL;
}

/* Free a loaded configuration. */
void
conf_free(const struct conf_schema *s, void *target)
{
	if (target == NULL)
		return;
	for (size_t i = 0; i < s->nrows; i++)
		conf_clear_value(&s->rows[i], target);
	free(target);
}

/* Whether row r holds the same value in a and b. */
static int
conf_same(const struct conf_row *r, const void *a, const void *b)
{
	const char *fa = (const char *)a + r->off, *fb = (const char *)b + r->off;
	const struct conf_strlist *la, *lb;
	const char *sa, *sb;

	switch (r->type) {
	case CONF_STR:
	case CONF_PATH:
		sa = *(char *const *)fa;
		sb = *(char *const *)fb;
		return (sa == NULL && sb == NULL) || (sa && sb && strcmp(sa, sb) == 0);
	case CONF_INT: return *(const long long *)fa == *(const long long *)fb;
	case CONF_BOOL:
	case CONF_ENUM: return *(const int *)fa == *(const int *)fb;
	case CONF_STRLIST:
		la = (const struct conf_strlist *)fa;
		lb = (const struct conf_strlist *)fb;
		if (la->n != lb->n)
			return 0;
		for (size_t i = 0; i < la->n; i++) {
			if (strcmp(la->v[i], lb->v[i]) != 0)
				return 0;
		}
		return 1;
	case CONF_JSON: return 0;
	}
	return 0;
}

/* Copy row r's value from src into dst (dst's old value is freed). */
static void
conf_copy_value(const struct conf_row *r, void *dst, const void *src)
{
	const char *fs = (const char *)src + r->off;
	char *fd = (char *)dst + r->off;

	conf_clear_value(r, dst);
	if (r->type == CONF_STR || r->type == CONF_PATH) {
		const char *s = *(char *const *)fs;

		*(char **)fd = s ? xstrdup(s) : NULL;
	} else if (r->type == CONF_STRLIST) {
		const struct conf_strlist *ls = (const struct conf_strlist *)fs;
		struct conf_strlist *ld = (struct conf_strlist *)fd;

		ld->v = xcalloc(ls->n ? ls->n : 1, sizeof *ld->v);
		for (size_t i = 0; i < ls->n; i++)
			ld->v[i] = xstrdup(ls->v[i]);
		ld->n = ls->n;
	} else if (r->type != CONF_JSON)
		memcpy(fd, fs, r->type == CONF_INT ? sizeof(long long) : sizeof(int));
}

/* Keep restart-only values from old; list the keys that wanted to change. */
int
conf_keep_static(const struct conf_schema *s, void *new_, const void *old, char **changed)
{
	struct buf b;
	int n = 0;

	buf_init(&b);
	for (size_t i = 0; i < s->nrows; i++) {
		const struct conf_row *r = &s->rows[i];

		if (r->reload || r->type == CONF_JSON || conf_same(r, new_, old))
			continue;
		conf_copy_value(r, new_, old);
		buf_printf(&b, "%s%s", n++ ? ", " : "", r->key);
	}
	*changed = n ? buf_detach(&b, NULL) : NULL;
	buf_free(&b);
	return n;
}

/* Print every key, one per line. */
void
conf_print_keys(const struct conf_schema *s)
{
	for (size_t i = 0; i < s->nrows; i++)
		printf("%s\n", s->rows[i].key);
}

/* Text with roff's special characters escaped (backslash, leading dot or quote). */
static void
conf_man_text(const char *t)
{
	if (*t == '.' || *t == '\'')
		fputs("\\&", stdout);
	for (; *t != '\0'; t++) {
		if (*t == '\\')
			fputs("\\e", stdout);
		else if (*t == '-')
			fputs("\\-", stdout);
		else
			putchar(*t);
	}
}

/* Print every key as a .TP paragraph: name, type, default, range, reload, doc. */
void
conf_print_man(const struct conf_schema *s)
{
	static const char *const types[] = { "string", "integer", "boolean", "one of",
		"array of strings", "JSON", "path" };

	for (size_t i = 0; i < s->nrows; i++) {
		const struct conf_row *r = &s->rows[i];

		printf(".TP\n.B ");
		conf_man_text(r->key);
		printf("\n(%s", types[r->type]);
		if (r->type == CONF_ENUM) {
			for (int j = 0; r->enums[j] != NULL; j++)
				printf("%s%s", j ? ", " : " ", r->enums[j]);
		}
		if (r->type == CONF_INT)
			printf(", %lld to %lld", r->min, r->max);
		printf("; default ");
		conf_man_text(r->def ? r->def : "unset");
		printf("; %s)\n", r->reload ? "SIGHUP can change it" : "restart to change");
		conf_man_text(r->doc);
		printf(".\n");
	}
}
