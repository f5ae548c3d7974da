/*
 * xlate.c: the translation rules (conf/translate.json) and the pure
 * functions over them. Loading checks everything and reports every
 * problem as FILE:LINE:COL; a loaded rule set never changes. No I/O other
 * than reading the one file (a debug line says so), no event loop.
 */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "xlate.h"

#define XLATE_MAX_FILE	  (64u * 1024 * 1024)
#define XLATE_MAX_PHONE	  64
#define XLATE_MAX_SUBJECT 512 /* longer addresses match no rule */

/* A template: literal text and references, compiled once. */
enum seg_kind { SEG_LIT, SEG_GROUP, SEG_VAR };
struct seg {
	enum seg_kind kind;
	int ref; /* group number or variable index */
	char *lit;
};
struct tmpl {
	struct seg *v;
	size_t n;
};

struct rule {
	char *pattern;
	regex_t re;
	int compiled;
	struct tmpl out;
	unsigned line, col;
};
struct rules {
	struct rule *v;
	size_t n;
};

/* Open-addressing hash of strings to directory entry indices. */
struct dir_entry {
	const char *phone;
	const char *sip;    /* as written */
	const char *sipkey; /* lower-cased (sip itself when it has no capital) */
};
struct dir_hash {
	size_t *slot; /* entry index + 1; 0 = empty */
	size_t mask;
};

struct field {
	char *name;
	struct tmpl t;
};
struct fields {
	struct field *v;
	size_t n;
};

enum { NOTE_STATUS, NOTE_DATA, NOTE_MESSAGE, NOTE_N };
static const char *const note_names[NOTE_N] = { "StatusChange", "AttachedDataChanged",
	"NewMessage" };

enum { IN_ALL, IN_MATCHING, IN_NONE };
enum { PV_NUMBER, PV_DIGITS, PV_SIP, PV_USER, PV_N };
static const char *const party_vars[PV_N] = { "number", "digits", "sip", "user" };
static const char *const party_fields[] = { "digits", "e164Number", "formattedPhoneNumber",
	"phoneNumber" };

struct state_pair {
	char *ucwa;
	enum xlate_state gws;
};

struct xlate_rules {
	int refs;
	struct dir_entry *dir;
	size_t ndir;
	struct json_doc *dir_strings; /* the arena of every entry's strings */
	struct dir_hash by_phone, by_sip;
	struct rules to_sip, to_phone;
	struct tmpl party[4];
	struct {
		struct state_pair *v;
		size_t n;
	} states[XLATE_NKINDS];
	unsigned caps[XLATE_NSTATES];
	unsigned char cap_order[XLATE_NSTATES][5];
	unsigned ncap[XLATE_NSTATES];
	struct fields notes[NOTE_N];
	int accept;
	struct rules from;
	int busy_decline;
	int html_to_plain, trim_newlines, over_split;
	struct tmpl undelivered;
	int has_undelivered;
	long long max_length;
	char **subject_keys;
	size_t nsubject_keys;
	char *subject_sep;
	long long subject_max;
};

static const char *const state_names[XLATE_NSTATES] = { "Initiating", "Alerting", "Talking",
	"Completed" };
static const char *const cap_names[5] = { "SendMessage", "AttachUserData", "UpdateUserData",
	"DeleteUserData", "Complete" };
static const char *const var_names[XV_NVARS] = { "id", "state", "reason", "reason_code", "sender",
	"sender_name", "sender_phone", "direction", "timestamp", "agent", "text" };
static const char *const kind_keys[XLATE_NKINDS] = { "outgoing_invitation", "incoming_invitation",
	"conversation", "messaging" };
static const char *const invitation_states[] = { "Connecting", "Connected", "Failed", "Alerting",
	"Cancelled", "Declined", "Forwarded", "TeamRing", NULL };
static const char *const conversation_states[] = { "Incoming", "Connecting", "Connected",
	"Conferencing", "Conferenced", "InLobby", "Disconnecting", "Disconnected", NULL };
static const char *const messaging_states[] = { "Connecting", "Connected", "Disconnected", NULL };
static const char *const *const kind_states[XLATE_NKINDS] = { invitation_states, invitation_states,
	conversation_states, messaging_states };

static struct xlate_rules *xlate_cur;

/* ---- names ---- */

/* Name of a GWS state. */
const char *
xlate_state_name(enum xlate_state s)
{
	return (s >= 0 && s < XLATE_NSTATES) ? state_names[s] : "";
}

/* GWS state from its name (surrounding blanks tolerated, as in the samples). */
enum xlate_state
xlate_state_parse(const char *s)
{
	size_t len;

	if (s == NULL)
		return XLATE_NONE;
	while (*s == ' ')
		s++;
	for (len = strlen(s); len > 0 && s[len - 1] == ' '; len--)
		;
	for (int i = 0; i < XLATE_NSTATES; i++) {
		if (strlen(state_names[i]) == len && strncmp(s, state_names[i], len) == 0)
			return i;
	}
	return XLATE_NONE;
}

/* Name of one capability bit. */
const char *
xlate_cap_name(unsigned bit)
{
	for (int i = 0; i < 5; i++) {
		if (bit == 1u << i)
			return cap_names[i];
	}
	return "";
}

/* Capability bit from its name, 0 if unknown. */
unsigned
xlate_cap_parse(const char *s)
{
	for (int i = 0; i < 5; i++) {
		if (s != NULL && strcmp(s, cap_names[i]) == 0)
			return 1u << i;
	}
	return 0;
}

/* Name of a notification variable. */
const char *
xlate_var_name(enum xlate_var v)
{
	return (v >= 0 && v < XV_NVARS) ? var_names[v] : "";
}

/* Index of name in a NULL-terminated or counted list, -1 if absent. */
static int
name_index(const char *const *list, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n && list[i] != NULL; i++) {
		if (strlen(list[i]) == len && strncmp(list[i], s, len) == 0)
			return (int)i;
	}
	return -1;
}

/* ---- loading: problems ---- */

struct problem {
	unsigned line, col;
	size_t seq;
	char *msg;
};

struct load {
	const char *name;
	struct problem *v;
	size_t n;
	struct xlate_rules *r;
};

/* Record one problem at a position. */
static void __attribute__((format(printf, 4, 5)))
prob(struct load *l, unsigned line, unsigned col, const char *fmt, ...)
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
prob_cmp(const void *a, const void *b)
{
	const struct problem *p = a, *q = b;

	if (p->line != q->line)
		return p->line < q->line ? -1 : 1;
	if (p->col != q->col)
		return p->col < q->col ? -1 : 1;
	return p->seq < q->seq ? -1 : p->seq > q->seq;
}

/* Every problem as "FILE:LINE:COL: message" lines, in file order. */
static char *
prob_text(struct load *l)
{
	struct buf b;

	qsort(l->v, l->n, sizeof *l->v, prob_cmp);
	buf_init(&b);
	for (size_t i = 0; i < l->n; i++) {
		buf_printf(&b, "%s:%u:%u: %s\n", l->name, l->v[i].line, l->v[i].col, l->v[i].msg);
		free(l->v[i].msg);
	}
	free(l->v);
	return buf_detach(&b, NULL);
}

/* Check that v has type t; report and return 0 otherwise. */
static int
want(struct load *l, const struct json *v, enum json_type t, const char *what)
{
	if (v->type == t || (t == JSON_DOUBLE && v->type == JSON_INT))
		return 1;
	prob(l, v->line, v->col, "%s: expected %s, found %s", what, json_type_name(t),
	    json_type_name(v->type));
	return 0;
}

/* Report a member whose key an earlier member of obj already used. */
static void
dup_keys(struct load *l, const struct json *obj)
{
	for (size_t i = 1; i < obj->u.obj.n; i++) {
		const struct json_member *m = &obj->u.obj.m[i];

		for (size_t j = 0; j < i; j++) {
			const struct json_member *e = &obj->u.obj.m[j];

			if (e->keylen == m->keylen && memcmp(e->key, m->key, m->keylen) == 0) {
				prob(l, m->line, m->col, "duplicate key \"%.*s\" (first at %u:%u)",
				    (int)m->keylen, m->key, e->line, e->col);
				break;
			}
		}
	}
}

/* Report members of obj whose key is not among the n keys (or up to a NULL). */
static void
known_keys_n(
    struct load *l, const struct json *obj, const char *const *keys, size_t n, const char *where)
{
	dup_keys(l, obj);
	for (size_t i = 0; i < obj->u.obj.n; i++) {
		const struct json_member *m = &obj->u.obj.m[i];

		if (name_index(keys, n, m->key, m->keylen) < 0)
			prob(l, m->line, m->col, "unknown key \"%.*s\" in %s", (int)m->keylen,
			    m->key, where);
	}
}

#define known_keys(l, obj, keys, where) known_keys_n(l, obj, keys, SIZE_MAX, where)

/* ---- templates ---- */

/* Append one segment to t. */
static void
tmpl_add(struct tmpl *t, enum seg_kind kind, int ref, char *lit)
{
	t->v = xreallocarray(t->v, t->n + 1, sizeof *t->v);
	t->v[t->n++] = (struct seg){ kind, ref, lit };
}

/* Move pending literal text into t. */
static void
tmpl_flush(struct tmpl *t, struct buf *lit)
{
	if (lit->len == 0)
		return;
	tmpl_add(t, SEG_LIT, 0, buf_detach(lit, NULL));
	buf_init(lit);
}

/* A $N group reference: report N beyond maxgroup (-1: none allowed). */
static int
tmpl_group(struct load *l, const struct json *at, int idx, int maxgroup)
{
	if (idx <= maxgroup)
		return 1;
	if (maxgroup < 0)
		prob(l, at->line, at->col, "\"$%d\": no regular expression groups here", idx);
	else
		prob(l, at->line, at->col, "\"$%d\": the regular expression has %d group%s", idx,
		    maxgroup, maxgroup == 1 ? "" : "s");
	return 0;
}

/*
 * Compile s into t: "$name" or "${name}" (one of vars), "$0".."$9" (groups
 * up to maxgroup), "$$" (a dollar); the rest is literal. 0 on a problem.
 */
static int
tmpl_compile(struct load *l, const struct json *at, const char *s, struct tmpl *t,
    const char *const *vars, size_t nvars, int maxgroup)
{
	struct buf lit;
	int ok = 1;

	buf_init(&lit);
	for (const char *p = s; *p != '\0'; p++) {
		const char *name = p + 1;
		size_t len;
		int idx, braces = 0;

		if (*p != '$' || p[1] == '$') {
			buf_addch(&lit, *p);
			p += (*p == '$');
			continue;
		}
		tmpl_flush(t, &lit);
		if (isdigit((unsigned char)p[1])) {
			ok &= tmpl_group(l, at, p[1] - '0', maxgroup);
			tmpl_add(t, SEG_GROUP, p[1] - '0', NULL);
			p++;
			continue;
		}
		if (*name == '{')
			braces = 1, name++;
		for (len = 0; isalnum((unsigned char)name[len]) || name[len] == '_'; len++)
			;
		if (len == 0 || (braces && name[len] != '}')) {
			prob(l, at->line, at->col,
			    "\"%s\": \"$\" must start $name, ${name}, $1..$9 or $$", s);
			ok = 0;
			break;
		}
		if ((idx = name_index(vars, nvars, name, len)) < 0) {
			prob(l, at->line, at->col, "\"%s\": unknown variable \"$%.*s\"", s,
			    (int)len, name);
			ok = 0;
		}
		tmpl_add(t, SEG_VAR, idx, NULL);
		p = name + len - 1 + braces;
	}
	tmpl_flush(t, &lit);
	buf_free(&lit);
	return ok;
}

/* Free a template. */
static void
tmpl_free(struct tmpl *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].lit);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* Expand t; groups from subject s and pm; vars (may be NULL). 0 if a var was unset. */
static int
tmpl_expand(const struct tmpl *t, const char *s, const regmatch_t *pm, const char *const *vars,
    struct buf *out)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct seg *g = &t->v[i];

		if (g->kind == SEG_LIT)
			buf_addstr(out, g->lit);
		else if (g->kind == SEG_GROUP && pm != NULL && pm[g->ref].rm_so >= 0)
			buf_add(out, s + pm[g->ref].rm_so,
			    (size_t)(pm[g->ref].rm_eo - pm[g->ref].rm_so));
		else if (g->kind == SEG_VAR) {
			if (vars == NULL || g->ref < 0 || vars[g->ref] == NULL)
				return 0;
			buf_addstr(out, vars[g->ref]);
		}
	}
	return 1;
}

/* ---- regex rules ---- */

/* Whether a pattern matches everything ((^)(.*)($) and the like). */
static int
catch_all(const char *p)
{
	size_t n = strlen(p);

	if (n > 0 && p[0] == '^')
		p++, n--;
	if (n > 0 && p[n - 1] == '$' && (n < 2 || p[n - 2] != '\\'))
		n--;
	if (n >= 2 && p[0] == '(' && p[n - 1] == ')')
		p++, n -= 2;
	return n == 2 && p[0] == '.' && (p[1] == '*' || p[1] == '+');
}

/*
 * Regular expressions cost: glibc's regcomp copies the tree of a repeated
 * expression once per repetition ("+", "{m,n}"), so stacked or nested
 * repetitions grow without bound. regex_cost() estimates the compiled size
 * by a small recursive descent over the ERE syntax; rules too costly are
 * refused before regcomp sees them.
 */
#define XLATE_MAX_PATTERN 1024
#define XLATE_MAX_COST	  20000.0

static double regex_alt(const char **);

/* Cost of one atom at *p (a group, a bracket expression, an escape or a character). */
static double
regex_atom(const char **p)
{
	const char *s = *p;
	double c = 1;

	if (*s == '(') {
		s++;
		c = regex_alt(&s) + 1;
		if (*s == ')')
			s++;
	} else if (*s == '[') {
		s += (s[1] == '^') ? 2 : 1;
		s += (*s == ']');
		while (*s != '\0' && *s != ']')
			s++;
		s += (*s == ']');
	} else if (*s == '\\' && s[1] != '\0')
		s += 2;
	else
		s++;
	*p = s;
	return c;
}

/* Apply the quantifiers following an atom of cost c. */
static double
regex_quant(const char **p, double c)
{
	const char *s = *p;
	char *end;
	long m, n;

	for (; c <= XLATE_MAX_COST; s++) {
		if (*s == '*' || *s == '?')
			c += 1;
		else if (*s == '+')
			c *= 2;
		else if (*s == '{' && isdigit((unsigned char)s[1])) {
			m = n = strtol(s + 1, &end, 10);
			if (*end == ',')
				n = isdigit((unsigned char)end[1]) ? strtol(end + 1, &end, 10)
								   : m + 1;
			c *= (double)(n > m ? n : m) + 1;
			s = *end == '}' ? end : end - 1;
		} else
			break;
	}
	*p = s;
	return c;
}

/* Cost of alternatives up to ')' or the end. */
static double
regex_alt(const char **p)
{
	double c = 0;

	while (**p != '\0' && **p != ')' && c <= XLATE_MAX_COST) {
		if (**p == '|') {
			(*p)++;
			continue;
		}
		c += regex_quant(p, regex_atom(p));
	}
	return c;
}

/* NULL if pattern is cheap enough to compile, else why not. */
static const char *
regex_too_costly(const char *pattern)
{
	const char *p = pattern;
	double c = 0;

	if (strlen(pattern) > XLATE_MAX_PATTERN)
		return "longer than 1024 characters";
	for (p = pattern; *p != '\0'; p++) {
		if (*p == '\\' && isdigit((unsigned char)p[1]))
			return "back-references (\\1..\\9) are not allowed";
		p += (*p == '\\' && p[1] != '\0');
	}
	p = pattern;
	while (*p != '\0' && c <= XLATE_MAX_COST) {
		c += regex_alt(&p);
		p += (*p == ')');
	}
	return c > XLATE_MAX_COST ? "too many repetitions (stacked or nested + or {m,n})" : NULL;
}

/* Compile pattern into rule; report regerror text. */
static int
rule_compile(struct load *l, const struct json *at, const char *pattern, struct rule *r, int icase)
{
	const char *why;
	char msg[128];
	int rc;

	r->pattern = xstrdup(pattern);
	r->line = at->line;
	r->col = at->col;
	if ((why = regex_too_costly(pattern)) != NULL) {
		prob(l, at->line, at->col, "regular expression \"%.40s%s\" refused: %s", pattern,
		    strlen(pattern) > 40 ? "..." : "", why);
		return 0;
	}
	if ((rc = regcomp(&r->re, pattern, REG_EXTENDED | (icase ? REG_ICASE : 0))) != 0) {
		regerror(rc, &r->re, msg, sizeof msg);
		prob(l, at->line, at->col, "bad regular expression \"%s\": %s", pattern, msg);
		return 0;
	}
	r->compiled = 1;
	return 1;
}

/* Report rules that an earlier catch-all or identical pattern hides. */
static void
rules_reachable(struct load *l, const struct rules *rs, const char *what)
{
	for (size_t i = 1; i < rs->n; i++) {
		for (size_t j = 0; j < i; j++) {
			const struct rule *a = &rs->v[j], *b = &rs->v[i];

			if (strcmp(a->pattern, b->pattern) == 0) {
				prob(l, b->line, b->col,
				    "unreachable %s rule: the rule at %u:%u has the same pattern",
				    what, a->line, a->col);
				break;
			}
			if (catch_all(a->pattern)) {
				prob(l, b->line, b->col,
				    "unreachable %s rule: the rule at %u:%u matches everything",
				    what, a->line, a->col);
				break;
			}
		}
	}
}

/* Match s (at most XLATE_MAX_SUBJECT bytes) wholly against rule r; 1 with pm filled. */
static int
rule_match(const struct rule *r, const char *s, regmatch_t pm[10])
{
	if (!r->compiled || strlen(s) > XLATE_MAX_SUBJECT || regexec(&r->re, s, 10, pm, 0) != 0)
		return 0;
	return pm[0].rm_so == 0 && (size_t)pm[0].rm_eo == strlen(s);
}

/* Free a rule list. */
static void
rules_free(struct rules *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->v[i].pattern);
		if (rs->v[i].compiled)
			regfree(&rs->v[i].re);
		tmpl_free(&rs->v[i].out);
	}
	free(rs->v);
	rs->v = NULL;
	rs->n = 0;
}

/* Load an array of {match, <outkey>} rules. */
static void
load_rules(
    struct load *l, const struct json *arr, const char *outkey, struct rules *rs, const char *what)
{
	const char *keys[] = { "match", outkey, NULL };
	static const char *const none[] = { NULL };

	rules_free(rs);
	if (!want(l, arr, JSON_ARRAY, what))
		return;
	rs->v = xcalloc(arr->u.arr.n + 1, sizeof *rs->v);
	for (size_t i = 0; i < arr->u.arr.n; i++) {
		const struct json *o = arr->u.arr.v[i], *m, *t;
		struct rule *r = &rs->v[rs->n];

		if (!want(l, o, JSON_OBJECT, what))
			continue;
		known_keys(l, o, keys, what);
		m = json_get(o, "match");
		t = json_get(o, outkey);
		if (m == NULL || t == NULL) {
			prob(
			    l, o->line, o->col, "%s rule needs \"match\" and \"%s\"", what, outkey);
			continue;
		}
		if (!want(l, m, JSON_STRING, "match") || !want(l, t, JSON_STRING, outkey))
			continue;
		rs->n++;
		if (rule_compile(l, m, json_str(m), r, 0))
			tmpl_compile(l, t, json_str(t), &r->out, none, 0, (int)r->re.re_nsub);
	}
	rules_reachable(l, rs, what);
}

/* ---- directory ---- */

/* FNV-1a. */
static size_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

/* The key entry e is filed under in a hash by phone or by sip. */
static const char *
dir_key(const struct xlate_rules *r, size_t e, int by_sip)
{
	return by_sip ? r->dir[e].sipkey : r->dir[e].phone;
}

/* Find key in h (by phone or by sipkey); index or -1. */
static long
dir_find(const struct xlate_rules *r, const struct dir_hash *h, const char *key, int by_sip)
{
	if (h->slot == NULL)
		return -1;
	for (size_t i = hash_str(key) & h->mask;; i = (i + 1) & h->mask) {
		size_t e = h->slot[i];

		if (e == 0)
			return -1;
		if (strcmp(dir_key(r, e - 1, by_sip), key) == 0)
			return (long)(e - 1);
	}
}

/* Insert entry idx under its key, in one probe; returns the index already there, or -1. */
static long
dir_insert(struct xlate_rules *r, struct dir_hash *h, size_t idx, int by_sip)
{
	const char *key = dir_key(r, idx, by_sip);
	size_t i;

	for (i = hash_str(key) & h->mask; h->slot[i] != 0; i = (i + 1) & h->mask) {
		if (strcmp(dir_key(r, h->slot[i] - 1, by_sip), key) == 0)
			return (long)(h->slot[i] - 1);
	}
	h->slot[i] = idx + 1;
	return -1;
}

/* Lower-case copy. */
static char *
lower_dup(const char *s)
{
	char *d = xstrdup(s);

	for (char *p = d; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/* Free the directory. */
static void
dir_free(struct xlate_rules *r)
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
dir_alloc(struct xlate_rules *r, size_t n)
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
dir_set(struct xlate_rules *r, struct dir_entry *e, const char *phone, const char *sip)
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
dir_plain(const struct json *o, const char **phone, const char **sip)
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
static void
load_directory(struct load *l, const struct json *arr)
{
	static const char *const keys[] = { "phone", "sip", NULL };
	struct xlate_rules *r = l->r;
	unsigned(*pos)[2];

	dir_free(r);
	if (!want(l, arr, JSON_ARRAY, "directory"))
		return;
	dir_alloc(r, arr->u.arr.n);
	pos = xcalloc(arr->u.arr.n + 1, sizeof *pos);
	for (size_t i = 0; i < arr->u.arr.n; i++) {
		const struct json *o = arr->u.arr.v[i];
		const char *phone, *sip;
		long old;

		if (!dir_plain(o, &phone, &sip)) {
			if (!want(l, o, JSON_OBJECT, "directory entry"))
				continue;
			known_keys(l, o, keys, "directory entry");
			phone = json_get_str(o, "phone");
			sip = json_get_str(o, "sip");
		}
		if (phone == NULL || sip == NULL || *phone == '\0' ||
		    strncmp(sip, "sip:", 4) != 0) {
			prob(l, o->line, o->col,
			    "directory entry needs \"phone\" (a non-empty string) and \"sip\" (a "
			    "sip: URI)");
			continue;
		}
		dir_set(r, &r->dir[r->ndir], phone, sip);
		pos[r->ndir][0] = o->line;
		pos[r->ndir][1] = o->col;
		if ((old = dir_insert(r, &r->by_phone, r->ndir, 0)) >= 0)
			prob(l, o->line, o->col,
			    "duplicate directory phone \"%s\" (first at %u:%u)", phone, pos[old][0],
			    pos[old][1]);
		if ((old = dir_insert(r, &r->by_sip, r->ndir, 1)) >= 0)
			prob(l, o->line, o->col, "duplicate directory sip \"%s\" (first at %u:%u)",
			    sip, pos[old][0], pos[old][1]);
		r->ndir++;
	}
	free(pos);
}

/* ---- sections ---- */

/* "addresses". */
static void
load_addresses(struct load *l, const struct json *o)
{
	static const char *const keys[] = { "directory", "to_sip", "to_phone", "participant",
		NULL };
	const struct json *v;

	if (!want(l, o, JSON_OBJECT, "addresses"))
		return;
	known_keys(l, o, keys, "addresses");
	if ((v = json_get(o, "directory")) != NULL)
		load_directory(l, v);
	if ((v = json_get(o, "to_sip")) != NULL)
		load_rules(l, v, "sip", &l->r->to_sip, "to_sip");
	if ((v = json_get(o, "to_phone")) != NULL)
		load_rules(l, v, "phone", &l->r->to_phone, "to_phone");
	if ((v = json_get(o, "participant")) == NULL || !want(l, v, JSON_OBJECT, "participant"))
		return;
	known_keys_n(l, v, party_fields, 4, "participant");
	for (int i = 0; i < 4; i++) {
		const struct json *t = json_get(v, party_fields[i]);

		if (t != NULL && want(l, t, JSON_STRING, party_fields[i])) {
			tmpl_free(&l->r->party[i]);
			tmpl_compile(l, t, json_str(t), &l->r->party[i], party_vars, PV_N, -1);
		}
	}
}

/* One state map: {"UcwaState": "GwsState" | null}. */
static void
load_state_map(struct load *l, const struct json *o, enum xlate_kind k)
{
	if (!want(l, o, JSON_OBJECT, kind_keys[k]))
		return;
	dup_keys(l, o);
	l->r->states[k].v = xcalloc(o->u.obj.n + 1, sizeof(struct state_pair));
	l->r->states[k].n = 0;
	for (size_t i = 0; i < o->u.obj.n; i++) {
		const struct json_member *m = &o->u.obj.m[i];
		enum xlate_state s = XLATE_NONE;

		if (name_index(kind_states[k], SIZE_MAX, m->key, m->keylen) < 0) {
			prob(l, m->line, m->col, "unknown UCWA %s state \"%.*s\"", kind_keys[k],
			    (int)m->keylen, m->key);
			continue;
		}
		if (m->val->type != JSON_NULL) {
			const char *g = json_str(m->val);

			if (g == NULL || (s = xlate_state_parse(g)) == XLATE_NONE ||
			    strcmp(g, state_names[s]) != 0) {
				prob(l, m->val->line, m->val->col,
				    "expected a GWS state (Initiating, Alerting, Talking, "
				    "Completed) or null");
				continue;
			}
		}
		l->r->states[k].v[l->r->states[k].n++] =
		    (struct state_pair){ xstrndup(m->key, m->keylen), s };
	}
}

/* "states". */
static void
load_states(struct load *l, const struct json *o)
{
	if (!want(l, o, JSON_OBJECT, "states"))
		return;
	known_keys_n(l, o, kind_keys, XLATE_NKINDS, "states");
	for (int k = 0; k < XLATE_NKINDS; k++) {
		const struct json *v = json_get(o, kind_keys[k]);

		if (v != NULL) {
			for (size_t i = 0; i < l->r->states[k].n; i++)
				free(l->r->states[k].v[i].ucwa);
			free(l->r->states[k].v);
			l->r->states[k].v = NULL;
			l->r->states[k].n = 0;
			load_state_map(l, v, k);
		}
	}
}

/* "capabilities": {"State": ["Op", ...]}. */
static void
load_caps(struct load *l, const struct json *o)
{
	if (!want(l, o, JSON_OBJECT, "capabilities"))
		return;
	known_keys_n(l, o, state_names, XLATE_NSTATES, "capabilities");
	for (int s = 0; s < XLATE_NSTATES; s++) {
		const struct json *a = json_get(o, state_names[s]);

		if (a == NULL || !want(l, a, JSON_ARRAY, state_names[s]))
			continue;
		l->r->caps[s] = 0;
		l->r->ncap[s] = 0;
		for (size_t i = 0; i < a->u.arr.n; i++) {
			const struct json *c = a->u.arr.v[i];
			unsigned bit = xlate_cap_parse(json_str(c));

			if (bit == 0) {
				prob(l, c->line, c->col,
				    "unknown capability (expected SendMessage, "
				    "AttachUserData, UpdateUserData, DeleteUserData or Complete)");
			} else if (l->r->caps[s] & bit) {
				prob(l, c->line, c->col, "capability \"%s\" listed twice",
				    json_str(c));
			} else {
				l->r->caps[s] |= bit;
				l->r->cap_order[s][l->r->ncap[s]++] =
				    (unsigned char)__builtin_ctz(bit);
			}
		}
	}
}

/* Free a list of notification fields. */
static void
fields_free(struct fields *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->v[i].name);
		tmpl_free(&fs->v[i].t);
	}
	free(fs->v);
	fs->v = NULL;
	fs->n = 0;
}

/* "notifications": {"StatusChange": {"field": "template"}, ...}. */
static void
load_notes(struct load *l, const struct json *o)
{
	static const char *const fixed[] = { "messageType", "notificationType", "imSession",
		"imSessionPath", "message", NULL };

	if (!want(l, o, JSON_OBJECT, "notifications"))
		return;
	known_keys_n(l, o, note_names, NOTE_N, "notifications");
	for (int n = 0; n < NOTE_N; n++) {
		const struct json *f = json_get(o, note_names[n]);
		struct fields *fs = &l->r->notes[n];

		if (f == NULL)
			continue;
		fields_free(fs);
		if (!want(l, f, JSON_OBJECT, note_names[n]))
			continue;
		dup_keys(l, f);
		fs->v = xcalloc(f->u.obj.n + 1, sizeof *fs->v);
		for (size_t i = 0; i < f->u.obj.n; i++) {
			const struct json_member *m = &f->u.obj.m[i];

			if (name_index(fixed, SIZE_MAX, m->key, m->keylen) >= 0) {
				prob(l, m->line, m->col, "\"%.*s\" is a fixed field of %s",
				    (int)m->keylen, m->key, note_names[n]);
				continue;
			}
			if (!want(l, m->val, JSON_STRING, "notification field"))
				continue;
			fs->v[fs->n].name = xstrndup(m->key, m->keylen);
			tmpl_compile(
			    l, m->val, json_str(m->val), &fs->v[fs->n].t, var_names, XV_NVARS, -1);
			fs->n++;
		}
	}
}

/* Index of string value v in names (NULL-terminated), reporting otherwise. */
static int
load_enum(struct load *l, const struct json *v, const char *const *names, const char *what)
{
	int i;

	if (!want(l, v, JSON_STRING, what))
		return -1;
	if ((i = name_index(names, SIZE_MAX, json_str(v), v->u.str.len)) < 0)
		prob(l, v->line, v->col, "%s: unknown value \"%s\"", what, json_str(v));
	return i;
}

/* "incoming". */
static void
load_incoming(struct load *l, const struct json *o)
{
	static const char *const keys[] = { "accept", "from", "when_busy", NULL };
	static const char *const accepts[] = { "all", "matching", "none", NULL };
	static const char *const busy[] = { "ignore", "decline", NULL };
	const struct json *v, *a;
	int i;

	if (!want(l, o, JSON_OBJECT, "incoming"))
		return;
	known_keys(l, o, keys, "incoming");
	if ((v = json_get(o, "accept")) != NULL && (i = load_enum(l, v, accepts, "accept")) >= 0)
		l->r->accept = i;
	if ((v = json_get(o, "when_busy")) != NULL && (i = load_enum(l, v, busy, "when_busy")) >= 0)
		l->r->busy_decline = i;
	if ((a = json_get(o, "from")) == NULL)
		return;
	rules_free(&l->r->from);
	if (!want(l, a, JSON_ARRAY, "from"))
		return;
	l->r->from.v = xcalloc(a->u.arr.n + 1, sizeof(struct rule));
	for (size_t k = 0; k < a->u.arr.n; k++) {
		if (want(l, a->u.arr.v[k], JSON_STRING, "from"))
			rule_compile(l, a->u.arr.v[k], json_str(a->u.arr.v[k]),
			    &l->r->from.v[l->r->from.n++], 1);
	}
}

/* Integer member within [min, max]. */
static void
load_int(struct load *l, const struct json *o, const char *key, long long min, long long max,
    long long *out)
{
	const struct json *v = json_get(o, key);

	if (v == NULL || !want(l, v, JSON_INT, key))
		return;
	if (v->u.i < min || v->u.i > max)
		prob(l, v->line, v->col, "%s: %lld is out of range (%lld to %lld)", key, v->u.i,
		    min, max);
	else
		*out = v->u.i;
}

/* Boolean member. */
static void
load_bool(struct load *l, const struct json *o, const char *key, int *out)
{
	const struct json *v = json_get(o, key);

	if (v != NULL && want(l, v, JSON_BOOL, key))
		*out = v->u.b;
}

/* "text". */
static void
load_text(struct load *l, const struct json *o)
{
	static const char *const keys[] = { "html_to_plain", "trim_newlines", "max_length",
		"over_max", "undelivered", NULL };
	static const char *const over[] = { "refuse", "split", NULL };
	const struct json *v;
	int i;

	if (!want(l, o, JSON_OBJECT, "text"))
		return;
	known_keys(l, o, keys, "text");
	load_bool(l, o, "html_to_plain", &l->r->html_to_plain);
	load_bool(l, o, "trim_newlines", &l->r->trim_newlines);
	load_int(l, o, "max_length", 1, 1000000, &l->r->max_length);
	if ((v = json_get(o, "over_max")) != NULL && (i = load_enum(l, v, over, "over_max")) >= 0)
		l->r->over_split = i;
	if ((v = json_get(o, "undelivered")) == NULL)
		return;
	tmpl_free(&l->r->undelivered);
	l->r->has_undelivered = 0;
	if (v->type != JSON_NULL && want(l, v, JSON_STRING, "undelivered"))
		l->r->has_undelivered =
		    tmpl_compile(l, v, json_str(v), &l->r->undelivered, var_names, XV_NVARS, -1);
}

/* Free the subject keys. */
static void
subject_keys_free(struct xlate_rules *r)
{
	for (size_t i = 0; i < r->nsubject_keys; i++)
		free(r->subject_keys[i]);
	free(r->subject_keys);
	r->subject_keys = NULL;
	r->nsubject_keys = 0;
}

/* "subject". */
static void
load_subject(struct load *l, const struct json *o)
{
	static const char *const keys[] = { "keys", "separator", "max_length", NULL };
	const struct json *v;

	if (!want(l, o, JSON_OBJECT, "subject"))
		return;
	known_keys(l, o, keys, "subject");
	load_int(l, o, "max_length", 1, 250, &l->r->subject_max);
	if ((v = json_get(o, "separator")) != NULL && want(l, v, JSON_STRING, "separator")) {
		free(l->r->subject_sep);
		l->r->subject_sep = xstrdup(json_str(v));
	}
	if ((v = json_get(o, "keys")) == NULL)
		return;
	subject_keys_free(l->r);
	if (!want(l, v, JSON_ARRAY, "keys"))
		return;
	l->r->subject_keys = xcalloc(v->u.arr.n + 1, sizeof(char *));
	for (size_t i = 0; i < v->u.arr.n; i++) {
		if (want(l, v->u.arr.v[i], JSON_STRING, "keys"))
			l->r->subject_keys[l->r->nsubject_keys++] =
			    xstrdup(json_str(v->u.arr.v[i]));
	}
}

/* Defaults for what the file leaves out. */
static void
rules_defaults(struct load *l)
{
	static const unsigned char talking[5] = { 4, 1, 3, 2, 0 }; /* the samples' order */
	struct xlate_rules *r = l->r;
	struct json at = { .line = 0 };

	for (int i = 0; i < 4; i++)
		tmpl_compile(
		    l, &at, i == 0 ? "$digits" : "$number", &r->party[i], party_vars, PV_N, -1);
	r->caps[XLATE_TALKING] = 0x1f;
	r->ncap[XLATE_TALKING] = 5;
	memcpy(r->cap_order[XLATE_TALKING], talking, sizeof talking);
	r->caps[XLATE_INITIATING] = r->caps[XLATE_ALERTING] = XLATE_CAP_COMPLETE;
	r->ncap[XLATE_INITIATING] = r->ncap[XLATE_ALERTING] = 1;
	r->cap_order[XLATE_INITIATING][0] = r->cap_order[XLATE_ALERTING][0] = 4;
	r->busy_decline = 1;
	r->html_to_plain = r->trim_newlines = 1;
	r->max_length = 4000;
	r->over_split = 1;
	r->subject_sep = xstrdup(" ");
	r->subject_max = 250;
}

/* Everything of a parsed document. */
static void
load_root(struct load *l, const struct json *root)
{
	static const char *const keys[] = { "addresses", "states", "capabilities", "notifications",
		"incoming", "text", "subject", NULL };
	const struct json *v;

	if (!want(l, root, JSON_OBJECT, "translation file"))
		return;
	known_keys(l, root, keys, "the translation file");
	if ((v = json_get(root, "addresses")) != NULL)
		load_addresses(l, v);
	if ((v = json_get(root, "states")) != NULL)
		load_states(l, v);
	if ((v = json_get(root, "capabilities")) != NULL)
		load_caps(l, v);
	if ((v = json_get(root, "notifications")) != NULL)
		load_notes(l, v);
	if ((v = json_get(root, "incoming")) != NULL)
		load_incoming(l, v);
	if ((v = json_get(root, "text")) != NULL)
		load_text(l, v);
	if ((v = json_get(root, "subject")) != NULL)
		load_subject(l, v);
}

/* Free a rule set (refs ignored). */
static void
rules_free_all(struct xlate_rules *r)
{
	dir_free(r);
	rules_free(&r->to_sip);
	rules_free(&r->to_phone);
	rules_free(&r->from);
	for (int i = 0; i < 4; i++)
		tmpl_free(&r->party[i]);
	tmpl_free(&r->undelivered);
	for (int k = 0; k < XLATE_NKINDS; k++) {
		for (size_t i = 0; i < r->states[k].n; i++)
			free(r->states[k].v[i].ucwa);
		free(r->states[k].v);
	}
	for (int n = 0; n < NOTE_N; n++)
		fields_free(&r->notes[n]);
	subject_keys_free(r);
	free(r->subject_sep);
	free(r);
}

/* Load from text. */
struct xlate_rules *
xlate_load_text(const char *name, const char *text, size_t len, char **problems)
{
	struct json_limits lim = {
		.max_bytes = XLATE_MAX_FILE, .max_depth = 16, .allow_comments = 1
	};
	struct json_error err;
	struct json_doc *doc;
	struct load l = { .name = name };

	l.r = xcalloc(1, sizeof *l.r);
	l.r->refs = 1;
	rules_defaults(&l);
	if (text != xlate_default_text) {
		/* What the file leaves out keeps the built-in value. */
		l.name = "(built-in)";
		doc = json_parse(xlate_default_text, strlen(xlate_default_text), &lim, &err);
		load_root(&l, json_root(doc));
		json_doc_free(doc);
		l.name = name;
	}
	if ((doc = json_parse(text, len, &lim, &err)) == NULL)
		prob(&l, err.line, err.col, "%s", err.msg);
	else {
		load_root(&l, json_root(doc));
		json_doc_free(doc);
	}
	if (l.n == 0) {
		*problems = NULL;
		return l.r;
	}
	rules_free_all(l.r);
	*problems = prob_text(&l);
	return NULL;
}

/* Load a file, or the built-in default when file is NULL. */
struct xlate_rules *
xlate_load(const char *file, char **problems)
{
	struct xlate_rules *r;
	struct stat st;
	struct buf b;
	char chunk[8192];
	size_t n;
	FILE *f;

	if (file == NULL)
		return xlate_load_text("(built-in translate.json)", xlate_default_text,
		    strlen(xlate_default_text), problems);
	if ((f = fopen(file, "rb")) == NULL) {
		xasprintf(problems, "%s: cannot open: %s\n", file, strerror(errno));
		return NULL;
	}
	buf_init(&b);
	if (fstat(fileno(f), &st) == 0 && st.st_size > 0 && st.st_size <= XLATE_MAX_FILE)
		buf_reserve(&b, (size_t)st.st_size); /* one allocation, no copy as it grows */
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= XLATE_MAX_FILE)
		buf_add(&b, chunk, n);
	if (ferror(f)) {
		xasprintf(problems, "%s: cannot read: %s\n", file, strerror(errno));
		fclose(f);
		buf_free(&b);
		return NULL;
	}
	fclose(f);
	log_debug("translation rules: read %s (%zu bytes)", file, b.len);
	r = xlate_load_text(file, b.data, b.len, problems);
	buf_free(&b);
	return r;
}

/* Take a reference. */
struct xlate_rules *
xlate_ref(struct xlate_rules *r)
{
	if (r != NULL)
		r->refs++;
	return r;
}

/* Drop a reference; the last one frees. */
void
xlate_unref(struct xlate_rules *r)
{
	if (r != NULL && --r->refs == 0)
		rules_free_all(r);
}

/* The rules in use for new conversations. */
struct xlate_rules *
xlate_current(void)
{
	return xlate_cur;
}

/* Install r (referenced) as current; the previous one is released. */
void
xlate_set_current(struct xlate_rules *r)
{
	struct xlate_rules *old = xlate_cur;

	xlate_cur = xlate_ref(r);
	xlate_unref(old);
}

/* ---- addresses ---- */

/* Phone to SIP: directory, then rules. */
int
xlate_phone_to_sip(const struct xlate_rules *r, const char *phone, char **sip, const char **cause)
{
	regmatch_t pm[10];
	struct buf b;
	long e;

	if (phone == NULL || *phone == '\0' || strlen(phone) > XLATE_MAX_PHONE) {
		*cause = "phoneNumber must be 1 to 64 characters";
		return -1;
	}
	if ((e = dir_find(r, &r->by_phone, phone, 0)) >= 0) {
		*sip = xstrdup(r->dir[e].sip);
		return 0;
	}
	for (size_t i = 0; i < r->to_sip.n; i++) {
		if (!rule_match(&r->to_sip.v[i], phone, pm))
			continue;
		buf_init(&b);
		tmpl_expand(&r->to_sip.v[i].out, phone, pm, NULL, &b);
		*sip = buf_detach(&b, NULL);
		return 0;
	}
	*cause = "no address rule matches this phone number";
	return -1;
}

/* The phone number for sip (directory, rules, else the user part). */
static char *
sip_to_number(const struct xlate_rules *r, const char *sip)
{
	regmatch_t pm[10];
	struct buf b;
	const char *u, *at;
	char *key = lower_dup(sip);
	long e = dir_find(r, &r->by_sip, key, 1);

	free(key);
	if (e >= 0)
		return xstrdup(r->dir[e].phone);
	for (size_t i = 0; i < r->to_phone.n; i++) {
		if (!rule_match(&r->to_phone.v[i], sip, pm))
			continue;
		buf_init(&b);
		tmpl_expand(&r->to_phone.v[i].out, sip, pm, NULL, &b);
		return buf_detach(&b, NULL);
	}
	u = strncmp(sip, "sip:", 4) == 0 ? sip + 4 : sip;
	at = strchr(u, '@');
	return at != NULL ? xstrndup(u, (size_t)(at - u)) : xstrdup(u);
}

/* SIP URI to the four participant fields. */
void
xlate_sip_to_party(const struct xlate_rules *r, const char *sip, struct xlate_party *p)
{
	const char *vars[PV_N];
	char *number = sip_to_number(r, sip), *digits, *user;
	char **out[4] = { &p->digits, &p->e164Number, &p->formattedPhoneNumber, &p->phoneNumber };
	const char *u = strncmp(sip, "sip:", 4) == 0 ? sip + 4 : sip;
	size_t n = 0;

	digits = xmalloc(strlen(number) + 1);
	for (const char *s = number; *s != '\0'; s++) {
		if (isdigit((unsigned char)*s))
			digits[n++] = *s;
	}
	digits[n] = '\0';
	user = xstrndup(u, strcspn(u, "@;"));
	vars[PV_NUMBER] = number;
	vars[PV_DIGITS] = digits;
	vars[PV_SIP] = sip;
	vars[PV_USER] = user;
	for (int i = 0; i < 4; i++) {
		struct buf b;

		buf_init(&b);
		tmpl_expand(&r->party[i], NULL, NULL, vars, &b);
		*out[i] = buf_detach(&b, NULL);
	}
	free(number);
	free(digits);
	free(user);
}

/* Free participant fields. */
void
xlate_party_free(struct xlate_party *p)
{
	free(p->digits);
	free(p->e164Number);
	free(p->formattedPhoneNumber);
	free(p->phoneNumber);
	memset(p, 0, sizeof *p);
}

/* ---- states ---- */

/* UCWA state of a kind to GWS state. */
enum xlate_state
xlate_state_map(const struct xlate_rules *r, enum xlate_kind k, const char *value)
{
	if (k < 0 || k >= XLATE_NKINDS || value == NULL)
		return XLATE_NONE;
	for (size_t i = 0; i < r->states[k].n; i++) {
		if (strcmp(r->states[k].v[i].ucwa, value) == 0)
			return r->states[k].v[i].gws;
	}
	return XLATE_NONE;
}

/* Capability bits of a state. */
unsigned
xlate_caps(const struct xlate_rules *r, enum xlate_state s)
{
	return (s >= 0 && s < XLATE_NSTATES) ? r->caps[s] : 0;
}

/* The capabilities array of a state, in file order. */
void
xlate_caps_write(const struct xlate_rules *r, enum xlate_state s, struct jw *w)
{
	jw_arr_begin(w);
	for (unsigned i = 0; s >= 0 && s < XLATE_NSTATES && i < r->ncap[s]; i++)
		jw_str(w, cap_names[r->cap_order[s][i]]);
	jw_arr_end(w);
}

/* ---- notifications ---- */

/* One participant object. */
static void
write_party(const struct xlate_rules *r, const char *sip, struct jw *w)
{
	struct xlate_party p;

	xlate_sip_to_party(r, sip, &p);
	jw_obj_begin(w);
	jw_kstr(w, "digits", p.digits);
	jw_kstr(w, "e164Number", p.e164Number);
	jw_kstr(w, "formattedPhoneNumber", p.formattedPhoneNumber);
	jw_kstr(w, "phoneNumber", p.phoneNumber);
	jw_obj_end(w);
	xlate_party_free(&p);
}

/* The imSession resource, keys in the order of the published samples. */
void
xlate_write_session(const struct xlate_rules *r, const struct xlate_session *s, struct jw *w)
{
	struct buf b;

	buf_init(&b);
	jw_obj_begin(w);
	if (s->state == XLATE_NONE)
		jw_kstr(w, "state", NULL); /* not announced yet */
	else
		jw_kstr(w, "state", xlate_state_name(s->state));
	if (s->user_data != NULL && s->user_data->type == JSON_OBJECT &&
	    s->user_data->u.obj.n > 0) {
		jw_key(w, "userData");
		jw_value(w, s->user_data);
	}
	jw_kstr(w, "id", s->id);
	buf_printf(&b, "%s/im-sessions/%s", s->uri_base != NULL ? s->uri_base : "", s->id);
	jw_kstr(w, "uri", b.data);
	jw_kstr(w, "path", b.data + strlen(s->uri_base != NULL ? s->uri_base : ""));
	jw_key(w, "participants");
	jw_arr_begin(w);
	for (size_t i = 0; i < s->nremote; i++)
		write_party(r, s->remote[i], w);
	jw_arr_end(w);
	jw_key(w, "capabilities");
	xlate_caps_write(r, s->state, w);
	jw_obj_end(w);
	buf_free(&b);
}

/* The extra fields of one notification kind. */
static void
write_extra(const struct xlate_rules *r, int note, const struct xlate_session *s, struct jw *w)
{
	const char *vars[XV_NVARS];
	struct buf b;

	memcpy(vars, s->var, sizeof vars);
	vars[XV_ID] = s->id;
	vars[XV_STATE] = xlate_state_name(s->state);
	buf_init(&b);
	for (size_t i = 0; i < r->notes[note].n; i++) {
		buf_reset(&b);
		if (tmpl_expand(&r->notes[note].v[i].t, NULL, NULL, vars, &b))
			jw_kstr(w, r->notes[note].v[i].name, b.data != NULL ? b.data : "");
	}
	buf_free(&b);
}

/* data of IMSessionStateChangeMessage. */
void
xlate_notify_state(
    const struct xlate_rules *r, const struct xlate_session *s, const char *type, struct buf *out)
{
	struct jw w;

	jw_init(&w, out);
	jw_obj_begin(&w);
	jw_kstr(&w, "messageType", "IMSessionStateChangeMessage");
	jw_kstr(&w, "notificationType", type);
	jw_key(&w, "imSession");
	xlate_write_session(r, s, &w);
	write_extra(r, strcmp(type, "StatusChange") == 0 ? NOTE_STATUS : NOTE_DATA, s, &w);
	jw_obj_end(&w);
}

/* data of IMLogUpdateMessage. */
void
xlate_notify_message(
    const struct xlate_rules *r, const struct xlate_session *s, const char *text, struct buf *out)
{
	struct jw w;
	struct buf p;

	buf_init(&p);
	buf_printf(&p, "/im-sessions/%s", s->id);
	jw_init(&w, out);
	jw_obj_begin(&w);
	jw_kstr(&w, "messageType", "IMLogUpdateMessage");
	jw_kstr(&w, "notificationType", "NewMessage");
	jw_kstr(&w, "imSessionPath", p.data);
	jw_kstr(&w, "message", text);
	write_extra(r, NOTE_MESSAGE, s, &w);
	jw_obj_end(&w);
	buf_free(&p);
}

/* ---- text ---- */

/* Length of s with trailing CR/LF removed (if the rules say so). */
static size_t
trimmed_len(const struct xlate_rules *r, const char *s, size_t len)
{
	while (r->trim_newlines && len > 0 && (s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	return len;
}

/* Byte length of the first max code points of s[0..len). */
static size_t
utf8_prefix(const char *s, size_t len, long long max, long long *count)
{
	size_t i = 0;
	long long n = 0;

	while (i < len && n < max) {
		i++;
		while (i < len && ((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		n++;
	}
	if (count != NULL)
		*count = n;
	return i;
}

/* Outgoing text: trim, then refuse or split when too long. */
enum xlate_text_verdict
xlate_text_out(
    const struct xlate_rules *r, const char *text, struct xlate_parts *parts, const char **cause)
{
	size_t len = trimmed_len(r, text, strlen(text)), off = 0;

	parts->v = NULL;
	parts->n = 0;
	if (utf8_prefix(text, len, r->max_length, NULL) < len && !r->over_split) {
		*cause = "message text is longer than the maximum length";
		return XLATE_TEXT_REFUSE;
	}
	do {
		size_t n = utf8_prefix(text + off, len - off, r->max_length, NULL);

		parts->v = xreallocarray(parts->v, parts->n + 1, sizeof *parts->v);
		parts->v[parts->n++] = xstrndup(text + off, n);
		off += n;
	} while (off < len);
	return XLATE_TEXT_OK;
}

/* Free parts. */
void
xlate_parts_free(struct xlate_parts *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

/*
 * ---- incoming text: HTML to plain text ----
 * The one reduction of HTML in the gateway (the UCWA client hands message
 * bodies over as sent). Tags are dropped; <br> and the ends of <p> and
 * <div> become line breaks, and so does the start of a <p> or <div> that
 * follows text on the same line; comments and the content of <style> and
 * <script> go; character references are decoded; a '<' that starts no tag
 * is text. Never reads past len: the input need not be NUL-terminated.
 */

/* The UTF-8 of code point cp (0 < cp <= 0x10ffff, not a surrogate). */
static void
html_utf8(unsigned long cp, struct buf *out)
{
	if (cp < 0x80)
		buf_addch(out, (char)cp);
	else if (cp < 0x800) {
		buf_addch(out, (char)(0xc0 | (cp >> 6)));
		buf_addch(out, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addch(out, (char)(0xe0 | (cp >> 12)));
		buf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addch(out, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_addch(out, (char)(0xf0 | (cp >> 18)));
		buf_addch(out, (char)(0x80 | ((cp >> 12) & 0x3f)));
		buf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addch(out, (char)(0x80 | (cp & 0x3f)));
	}
}

/* Value of digit c in base (10 or 16), or -1. */
static int
html_digit(char c, int base)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (base == 16 && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (base == 16 && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode one character reference at s (after '&'; NUL-terminated): a
 * named one, &#DDD; or &#xHH;. Bytes consumed, 0 if it is not one. */
static size_t
html_entity(const char *s, struct buf *out)
{
	static const struct {
		const char *name;
		const char *text;
	} ents[] = {
		{ "lt;", "<" },
		{ "gt;", ">" },
		{ "amp;", "&" },
		{ "quot;", "\"" },
		{ "apos;", "'" },
		{ "nbsp;", " " },
	};
	int base = s[0] == '#' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10, d;
	const char *p = s + (base == 16 ? 2 : 1), *digits = p;
	unsigned long cp = 0;

	for (size_t i = 0; i < nitems(ents); i++) {
		if (strncmp(s, ents[i].name, strlen(ents[i].name)) == 0) {
			buf_addstr(out, ents[i].text);
			return strlen(ents[i].name);
		}
	}
	if (s[0] != '#')
		return 0;
	for (; (d = html_digit(*p, base)) >= 0; p++) {
		if ((cp = cp * (unsigned long)base + (unsigned long)d) > 0x10ffff)
			return 0;
	}
	if (p == digits || *p != ';' || cp == 0 || (cp >= 0xd800 && cp < 0xe000))
		return 0;
	html_utf8(cp, out);
	return (size_t)(p - s) + 1;
}

/* Whether the tag at s[i] ('<') is name (any case): the name followed by
 * '>', '/', white space or the end of the input. */
static int
html_tag_is(const char *s, size_t len, size_t i, const char *name)
{
	size_t n = strlen(name), k = i + 1 + n;

	if (len - i - 1 < n || !util_strncaseeq(name, s + i + 1, n))
		return 0;
	return k == len || s[k] == '>' || s[k] == '/' || isspace((unsigned char)s[k]);
}

/* Whether the '<' at s[i] starts markup (a letter, '/', '!' or '?' follows). */
static int
html_is_markup(const char *s, size_t len, size_t i)
{
	char c = i + 1 < len ? s[i + 1] : '\0';

	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '/' || c == '!' || c == '?';
}

/* From s[j] inside a tag, the index of its closing '>' (a quoted attribute
 * value may hold '>'), or len. */
static size_t
html_tag_end(const char *s, size_t len, size_t j)
{
	char q = 0, prev = 0;

	for (; j < len; j++) {
		if (q != 0) {
			if (s[j] == q)
				q = 0;
		} else if ((s[j] == '"' || s[j] == '\'') && prev == '=')
			q = s[j];
		else if (s[j] == '>')
			break;
		if (!isspace((unsigned char)s[j]))
			prev = s[j];
	}
	return j;
}

/* After markup at s[i] ('<'), the index of its last byte: the tag's '>',
 * the end of a comment, or the end of the closing tag of a <style> or
 * <script> element, whose content is not text; len when unterminated. */
static size_t
html_skip(const char *s, size_t len, size_t i)
{
	static const char *const hidden[] = { "style", "script" };
	size_t j;

	if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
		for (j = i + 4; j + 3 <= len; j++)
			if (memcmp(s + j, "-->", 3) == 0)
				return j + 2;
		return len;
	}
	j = html_tag_end(s, len, i + 1);
	for (size_t k = 0; k < nitems(hidden) && j < len; k++) {
		size_t n = strlen(hidden[k]);

		if (!html_tag_is(s, len, i, hidden[k]))
			continue;
		for (j++; j + 2 + n <= len; j++) {
			if (s[j] == '<' && s[j + 1] == '/' &&
			    util_strncaseeq(hidden[k], s + j + 2, n))
				return html_tag_end(s, len, j + 2 + n);
		}
		return len;
	}
	return j;
}

/* The line break a tag at s[i] ('<') gives, if any. */
static int
html_breaks(const char *s, size_t len, size_t i, const struct buf *out)
{
	if (html_tag_is(s, len, i, "br") || html_tag_is(s, len, i, "/p") ||
	    html_tag_is(s, len, i, "/div"))
		return 1;
	return (html_tag_is(s, len, i, "p") || html_tag_is(s, len, i, "div")) && out->len > 0 &&
	    out->data[out->len - 1] != '\n';
}

/* HTML to plain text, as the comment at the top of this section says. */
static void
html_plain(const char *s, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '<' && html_is_markup(s, len, i)) {
			if (html_breaks(s, len, i, out))
				buf_addch(out, '\n');
			i = html_skip(s, len, i);
		} else if (s[i] == '&') {
			char tmp[12];
			size_t n = len - i - 1 < sizeof tmp - 1 ? len - i - 1 : sizeof tmp - 1;

			memcpy(tmp, s + i + 1, n);
			tmp[n] = '\0';
			if ((n = html_entity(tmp, out)) == 0)
				buf_addch(out, '&');
			i += n;
		} else
			buf_addch(out, s[i]);
	}
}

/* Incoming text to what desktops see. */
char *
xlate_text_in(const struct xlate_rules *r, const char *text, size_t len, int html)
{
	struct buf b;
	size_t n;

	buf_init(&b);
	if (html && r->html_to_plain)
		html_plain(text, len, &b);
	else
		buf_add(&b, text, len);
	n = trimmed_len(r, b.data != NULL ? b.data : "", b.len);
	b.len = n;
	buf_addstr(&b, "");
	return buf_detach(&b, NULL);
}

/* The notice for an undelivered message, or NULL. */
char *
xlate_undelivered(const struct xlate_rules *r, const struct xlate_session *s)
{
	const char *vars[XV_NVARS];
	struct buf b;

	if (!r->has_undelivered)
		return NULL;
	memcpy(vars, s->var, sizeof vars);
	vars[XV_ID] = s->id;
	vars[XV_STATE] = xlate_state_name(s->state);
	for (int i = 0; i < XV_NVARS; i++)
		vars[i] = vars[i] != NULL ? vars[i] : "";
	buf_init(&b);
	tmpl_expand(&r->undelivered, NULL, NULL, vars, &b);
	buf_addstr(&b, "");
	return buf_detach(&b, NULL);
}

/* ---- incoming ---- */

/* Accept, decline or ignore an invitation. */
enum xlate_incoming
xlate_incoming(const struct xlate_rules *r, const char *from_sip, int has_session)
{
	regmatch_t pm[10];

	if (has_session)
		return r->busy_decline ? XLATE_IN_DECLINE : XLATE_IN_IGNORE;
	if (r->accept == IN_ALL)
		return XLATE_IN_ACCEPT;
	if (r->accept == IN_NONE || from_sip == NULL)
		return XLATE_IN_DECLINE;
	for (size_t i = 0; i < r->from.n; i++) {
		if (rule_match(&r->from.v[i], from_sip, pm))
			return XLATE_IN_ACCEPT;
	}
	return XLATE_IN_DECLINE;
}

/* ---- subject ---- */

/* Subject from userData values of the configured keys. */
char *
xlate_subject(const struct xlate_rules *r, const struct json *ud)
{
	struct buf b;
	size_t n;

	buf_init(&b);
	for (size_t i = 0; ud != NULL && ud->type == JSON_OBJECT && i < r->nsubject_keys; i++) {
		const struct json *v = json_get(ud, r->subject_keys[i]);

		if (v == NULL || (v->type != JSON_STRING && v->type != JSON_INT))
			continue;
		if (b.len > 0)
			buf_addstr(&b, r->subject_sep);
		if (v->type == JSON_STRING)
			buf_add(&b, v->u.str.s, v->u.str.len);
		else
			buf_printf(&b, "%lld", v->u.i);
	}
	if (b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	n = utf8_prefix(b.data, b.len, r->subject_max, NULL);
	b.data[n] = '\0';
	b.len = n;
	return buf_detach(&b, NULL);
}
