/*
 * xlate_prob.c: the problems found while loading translation rules: each
 * recorded at its position in the file, the common checks (a value's
 * type, unknown and duplicate keys) and the final report in file order.
 * Below the loader, the directory and the templates, which all report
 * through it; it uses only xlate_names.c.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "xlate_int.h"

/* Record one problem at a position. */
void __attribute__((format(printf, 4, 5)))
xlate_prob(struct load *l, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
	l->v[l->n] = (struct problem){ line, col, l->n, NULL };
	va_start(ap, fmt);
	xvasprintf(&l->v[l->n].msg, fmt, ap);
	va_end(ap);
	l->n++;
}

/* Order problems by position, then as found. */
static int
xlate_prob_cmp(const void *a, const void *b)
{
	const struct problem *p = a, *q = b;

	if (p->line != q->line)
		return p->line < q->line ? -1 : 1;
	if (p->col != q->col)
		return p->col < q->col ? -1 : 1;
	return p->seq < q->seq ? -1 : p->seq > q->seq;
}

/* Every problem as "FILE:LINE:COL: message" lines, in file order. */
char *
xlate_prob_text(struct load *l)
{
	struct buf b;

	qsort(l->v, l->n, sizeof *l->v, xlate_prob_cmp);
	buf_init(&b);
	for (size_t i = 0; i < l->n; i++) {
		buf_printf(&b, "%s:%u:%u: %s\n", l->name, l->v[i].line, l->v[i].col, l->v[i].msg);
		free(l->v[i].msg);
	}
	free(l->v);
	return buf_detach(&b, NULL);
}

/* Check that v has type t; report and return 0 otherwise. */
int
xlate_prob_want(struct load *l, const struct json *v, enum json_type t, const char *what)
{
	if (v->type == t || (t == JSON_DOUBLE && v->type == JSON_INT))
		return 1;
	xlate_prob(l, v->line, v->col, "%s: expected %s, found %s", what, json_type_name(t),
	    json_type_name(v->type));
	return 0;
}

/* Report a member whose key an earlier member of obj already used. */
void
xlate_prob_dup_keys(struct load *l, const struct json *obj)
{
	for (size_t i = 1; i < obj->u.obj.n; i++) {
		const struct json_member *m = &obj->u.obj.m[i];

		for (size_t j = 0; j < i; j++) {
			const struct json_member *e = &obj->u.obj.m[j];

			if (e->keylen == m->keylen && memcmp(e->key, m->key, m->keylen) == 0) {
				xlate_prob(l, m->line, m->col,
				    "duplicate key \"%.*s\" (first at %u:%u)", (int)m->keylen,
				    m->key, e->line, e->col);
				break;
			}
		}
	}
}

/* Report members of obj whose key is not among the n keys (or up to a NULL). */
void
xlate_prob_known_keys_n(
    struct load *l, const struct json *obj, const char *const *keys, size_t n, const char *where)
{
	xlate_prob_dup_keys(l, obj);
	for (size_t i = 0; i < obj->u.obj.n; i++) {
		const struct json_member *m = &obj->u.obj.m[i];

		if (xlate_names_index(keys, n, m->key, m->keylen) < 0)
			xlate_prob(l, m->line, m->col, "unknown key \"%.*s\" in %s", (int)m->keylen,
			    m->key, where);
	}
}
