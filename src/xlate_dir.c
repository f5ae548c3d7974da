/*
 * xlate_dir.c: the directory of phone numbers and SIP URIs: loaded with
 * no duplicate either way, its strings in one arena, looked up by phone
 * or by lower-cased SIP URI in open-addressing hashes (hashed with
 * hmap_hash(), the table hash).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "xlate_int.h"

/* ---- directory ---- */

/* The key entry e is filed under in a hash by phone or by sip. */
static const char *
xlate_dir_key(const struct xlate_rules *r, size_t e, int by_sip)
{
	return by_sip ? r->dir[e].sipkey : r->dir[e].phone;
}

/* Find key in h (by phone or by sipkey); index or -1. */
long
xlate_dir_find(const struct xlate_rules *r, const struct dir_hash *h, const char *key, int by_sip)
{
	if (h->slot == NULL)
		return -1;
	for (size_t i = (size_t)hmap_hash(key) & h->mask;; i = (i + 1) & h->mask) {
		size_t e = h->slot[i];

		if (e == 0)
			return -1;
		if (strcmp(xlate_dir_key(r, e - 1, by_sip), key) == 0)
			return (long)(e - 1);
	}
}

/* Insert entry idx under its key, in one probe; returns the index already there, or -1. */
static long
xlate_dir_insert(struct xlate_rules *r, struct dir_hash *h, size_t idx, int by_sip)
{
	const char *key = xlate_dir_key(r, idx, by_sip);
	size_t i;

	for (i = (size_t)hmap_hash(key) & h->mask; h->slot[i] != 0; i = (i + 1) & h->mask) {
		if (strcmp(xlate_dir_key(r, h->slot[i] - 1, by_sip), key) == 0)
			return (long)(h->slot[i] - 1);
	}
	h->slot[i] = idx + 1;
	return -1;
}

/* Lower-case copy. */
char *
xlate_dir_lower_dup(const char *s)
{
	char *d = xstrdup(s);

	for (char *p = d; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/* Free the directory. */
void
xlate_dir_free(struct xlate_rules *r)
{
	json_doc_free(r->dir_strings);
	free(r->dir);
	free(r->by_phone.slot);
	free(r->by_sip.slot);
	r->dir_strings = NULL;
	r->dir = NULL;
	r->ndir = 0;
	r->by_phone.slot = r->by_sip.slot = NULL;
}

/* Set up an empty directory with room (and hash slots) for n entries. */
static void
xlate_dir_alloc(struct xlate_rules *r, size_t n)
{
	size_t cap = 16;

	while (cap < n * 2)
		cap <<= 1;
	r->by_phone.slot = xcalloc(cap, sizeof(size_t));
	r->by_sip.slot = xcalloc(cap, sizeof(size_t));
	r->by_phone.mask = r->by_sip.mask = cap - 1;
	r->dir = xcalloc(n + 1, sizeof *r->dir);
	r->dir_strings = json_doc_new();
}

/* Fill entry e with copies of phone and sip (and the lower-cased key). */
static void
xlate_dir_set(struct xlate_rules *r, struct dir_entry *e, const char *phone, const char *sip)
{
	size_t n = strlen(sip);
	char *key;

	e->phone = json_doc_strdup(r->dir_strings, phone, strlen(phone));
	e->sip = json_doc_strdup(r->dir_strings, sip, n);
	e->sipkey = e->sip;
	for (size_t i = 0; i < n; i++) {
		if (isupper((unsigned char)sip[i])) {
			e->sipkey = key = (char *)json_doc_strdup(r->dir_strings, sip, n);
			for (; i < n; i++)
				key[i] = (char)tolower((unsigned char)key[i]);
			break;
		}
	}
}

/* The members of entry o when it is exactly {"phone": string, "sip": string}
 * (in either order), so that it needs no key checks; else 0. */
static int
xlate_dir_plain(const struct json *o, const char **phone, const char **sip)
{
	*phone = *sip = NULL;
	if (o->type != JSON_OBJECT || o->u.obj.n != 2)
		return 0;
	for (size_t i = 0; i < 2; i++) {
		const struct json_member *m = &o->u.obj.m[i];

		if (m->val->type != JSON_STRING)
			return 0;
		if (m->keylen == 5 && memcmp(m->key, "phone", 5) == 0 && *phone == NULL)
			*phone = m->val->u.str.s;
		else if (m->keylen == 3 && memcmp(m->key, "sip", 3) == 0 && *sip == NULL)
			*sip = m->val->u.str.s;
		else
			return 0;
	}
	return 1;
}

/* Load the directory: [{phone, sip}], no duplicates either way. */
void
xlate_dir_load(struct load *l, const struct json *arr)
{
	static const char *const keys[] = { "phone", "sip", NULL };
	struct xlate_rules *r = l->r;
	unsigned(*pos)[2];

	xlate_dir_free(r);
	if (!xlate_prob_want(l, arr, JSON_ARRAY, "directory"))
		return;
	xlate_dir_alloc(r, arr->u.arr.n);
	pos = xcalloc(arr->u.arr.n + 1, sizeof *pos);
	for (size_t i = 0; i < arr->u.arr.n; i++) {
		const struct json *o = arr->u.arr.v[i];
		const char *phone, *sip;
		long old;

		if (!xlate_dir_plain(o, &phone, &sip)) {
			if (!xlate_prob_want(l, o, JSON_OBJECT, "directory entry"))
				continue;
			xlate_prob_known_keys(l, o, keys, "directory entry");
			phone = json_get_str(o, "phone");
			sip = json_get_str(o, "sip");
		}
		if (phone == NULL || sip == NULL || *phone == '\0' ||
		    strncmp(sip, "sip:", 4) != 0) {
			xlate_prob(l, o->line, o->col,
			    "directory entry needs \"phone\" (a non-empty string) and \"sip\" (a "
			    "sip: URI)");
			continue;
		}
		xlate_dir_set(r, &r->dir[r->ndir], phone, sip);
		pos[r->ndir][0] = o->line;
		pos[r->ndir][1] = o->col;
		if ((old = xlate_dir_insert(r, &r->by_phone, r->ndir, 0)) >= 0)
			xlate_prob(l, o->line, o->col,
			    "duplicate directory phone \"%s\" (first at %u:%u)", phone, pos[old][0],
			    pos[old][1]);
		if ((old = xlate_dir_insert(r, &r->by_sip, r->ndir, 1)) >= 0)
			xlate_prob(l, o->line, o->col,
			    "duplicate directory sip \"%s\" (first at %u:%u)", sip, pos[old][0],
			    pos[old][1]);
		r->ndir++;
	}
	free(pos);
}
