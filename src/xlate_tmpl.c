/*
 * xlate_tmpl.c: the rules' building blocks: templates ("$name", "$1",
 * "$$") compiled once and expanded without reparsing, and regular
 * expression rules, refused before regcomp when too costly, matched
 * against whole subjects of bounded length. Rules that an earlier rule
 * hides are reported when loaded.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "xlate_int.h"

#define XLATE_MAX_SUBJECT 512 /* longer addresses match no rule */

/* ---- templates ---- */

/* Append one segment to t. */
static void
xlate_tmpl_add(struct tmpl *t, enum seg_kind kind, int ref, char *lit)
{
	t->v = xreallocarray(t->v, t->n + 1, sizeof *t->v);
	t->v[t->n++] = (struct seg){ kind, ref, lit };
}

/* Move pending literal text into t. */
static void
xlate_tmpl_flush(struct tmpl *t, struct buf *lit)
{
	if (lit->len == 0)
		return;
	xlate_tmpl_add(t, SEG_LIT, 0, buf_detach(lit, NULL));
	buf_init(lit);
}

/* A $N group reference: report N beyond maxgroup (-1: none allowed). */
static int
xlate_tmpl_group(struct load *l, const struct json *at, int idx, int maxgroup)
{
	if (idx <= maxgroup)
		return 1;
	if (maxgroup < 0)
		xlate_prob(l, at->line, at->col, "\"$%d\": no regular expression groups here", idx);
	else
		xlate_prob(l, at->line, at->col, "\"$%d\": the regular expression has %d group%s",
		    idx, maxgroup, maxgroup == 1 ? "" : "s");
	return 0;
}

/*
 * Compile s into t: "$name" or "${name}" (one of vars), "$0".."$9" (groups
 * up to maxgroup), "$$" (a dollar); the rest is literal. 0 on a problem.
 */
int
xlate_tmpl_compile(struct load *l, const struct json *at, const char *s, struct tmpl *t,
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
		xlate_tmpl_flush(t, &lit);
		if (isdigit((unsigned char)p[1])) {
			ok &= xlate_tmpl_group(l, at, p[1] - '0', maxgroup);
			xlate_tmpl_add(t, SEG_GROUP, p[1] - '0', NULL);
			p++;
			continue;
		}
		if (*name == '{')
			braces = 1, name++;
		for (len = 0; isalnum((unsigned char)name[len]) || name[len] == '_'; len++)
			;
		if (len == 0 || (braces && name[len] != '}')) {
			xlate_prob(l, at->line, at->col,
			    "\"%s\": \"$\" must start $name, ${name}, $1..$9 or $$", s);
			ok = 0;
			break;
		}
		if ((idx = xlate_names_index(vars, nvars, name, len)) < 0) {
			xlate_prob(l, at->line, at->col, "\"%s\": unknown variable \"$%.*s\"", s,
			    (int)len, name);
			ok = 0;
		}
		xlate_tmpl_add(t, SEG_VAR, idx, NULL);
		p = name + len - 1 + braces;
	}
	xlate_tmpl_flush(t, &lit);
	buf_free(&lit);
	return ok;
}

/* Free a template. */
void
xlate_tmpl_free(struct tmpl *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].lit);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* The variables t names, as XV_* bits. */
unsigned
xlate_tmpl_vars(const struct tmpl *t)
{
	unsigned bits = 0;

	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].kind == SEG_VAR)
			bits |= 1u << t->v[i].ref;
	return bits;
}

/* Expand t; groups from subject s and pm; vars (may be NULL). 0 if a var was unset. */
int
xlate_tmpl_expand(const struct tmpl *t, const char *s, const regmatch_t *pm,
    const char *const *vars, struct buf *out)
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
xlate_tmpl_catch_all(const char *p)
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
 * repetitions grow without bound. xlate_tmpl_regex_too_costly()
 * estimates the compiled size by a small recursive descent over the ERE
 * syntax; rules too costly are refused before regcomp sees them.
 */
#define XLATE_MAX_PATTERN 1024
#define XLATE_MAX_COST	  20000.0

static double xlate_tmpl_regex_alt(const char **);

/* Cost of one atom at *p (a group, a bracket expression, an escape or a character). */
static double
xlate_tmpl_regex_atom(const char **p)
{
	const char *s = *p;
	double c = 1;

	if (*s == '(') {
		s++;
		c = xlate_tmpl_regex_alt(&s) + 1;
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
xlate_tmpl_regex_quant(const char **p, double c)
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
xlate_tmpl_regex_alt(const char **p)
{
	double c = 0;

	while (**p != '\0' && **p != ')' && c <= XLATE_MAX_COST) {
		if (**p == '|') {
			(*p)++;
			continue;
		}
		c += xlate_tmpl_regex_quant(p, xlate_tmpl_regex_atom(p));
	}
	return c;
}

/* NULL if pattern is cheap enough to compile, else why not. */
static const char *
xlate_tmpl_regex_too_costly(const char *pattern)
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
		c += xlate_tmpl_regex_alt(&p);
		p += (*p == ')');
	}
	return c > XLATE_MAX_COST ? "too many repetitions (stacked or nested + or {m,n})" : NULL;
}

/* Compile pattern into rule; report regerror text. */
int
xlate_tmpl_rule_compile(
    struct load *l, const struct json *at, const char *pattern, struct rule *r, int icase)
{
	const char *why;
	char msg[128];
	int rc;

	r->pattern = xstrdup(pattern);
	r->line = at->line;
	r->col = at->col;
	if ((why = xlate_tmpl_regex_too_costly(pattern)) != NULL) {
		xlate_prob(l, at->line, at->col, "regular expression \"%.40s%s\" refused: %s",
		    pattern, strlen(pattern) > 40 ? "..." : "", why);
		return 0;
	}
	if ((rc = regcomp(&r->re, pattern, REG_EXTENDED | (icase ? REG_ICASE : 0))) != 0) {
		regerror(rc, &r->re, msg, sizeof msg);
		xlate_prob(l, at->line, at->col, "bad regular expression \"%s\": %s", pattern, msg);
		return 0;
	}
	r->compiled = 1;
	return 1;
}

/* Report rules that an earlier catch-all or identical pattern hides. */
static void
xlate_tmpl_rules_reachable(struct load *l, const struct rules *rs, const char *what)
{
	for (size_t i = 1; i < rs->n; i++) {
		for (size_t j = 0; j < i; j++) {
			const struct rule *a = &rs->v[j], *b = &rs->v[i];

			if (strcmp(a->pattern, b->pattern) == 0) {
				xlate_prob(l, b->line, b->col,
				    "unreachable %s rule: the rule at %u:%u has the same pattern",
				    what, a->line, a->col);
				break;
			}
			if (xlate_tmpl_catch_all(a->pattern)) {
				xlate_prob(l, b->line, b->col,
				    "unreachable %s rule: the rule at %u:%u matches everything",
				    what, a->line, a->col);
				break;
			}
		}
	}
}

/* Match s (at most XLATE_MAX_SUBJECT bytes) wholly against rule r; 1 with pm filled. */
int
xlate_tmpl_rule_match(const struct rule *r, const char *s, regmatch_t pm[10])
{
	if (!r->compiled || strlen(s) > XLATE_MAX_SUBJECT || regexec(&r->re, s, 10, pm, 0) != 0)
		return 0;
	return pm[0].rm_so == 0 && (size_t)pm[0].rm_eo == strlen(s);
}

/* Free a rule list. */
void
xlate_tmpl_rules_free(struct rules *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->v[i].pattern);
		if (rs->v[i].compiled)
			regfree(&rs->v[i].re);
		xlate_tmpl_free(&rs->v[i].out);
	}
	free(rs->v);
	rs->v = NULL;
	rs->n = 0;
}

/* Load an array of {match, <outkey>} rules. */
void
xlate_tmpl_rules_load(
    struct load *l, const struct json *arr, const char *outkey, struct rules *rs, const char *what)
{
	const char *keys[] = { "match", outkey, NULL };
	static const char *const none[] = { NULL };

	xlate_tmpl_rules_free(rs);
	if (!xlate_prob_want(l, arr, JSON_ARRAY, what))
		return;
	rs->v = xcalloc(arr->u.arr.n + 1, sizeof *rs->v);
	for (size_t i = 0; i < arr->u.arr.n; i++) {
		const struct json *o = arr->u.arr.v[i], *m, *t;
		struct rule *r = &rs->v[rs->n];

		if (!xlate_prob_want(l, o, JSON_OBJECT, what))
			continue;
		xlate_prob_known_keys(l, o, keys, what);
		m = json_get(o, "match");
		t = json_get(o, outkey);
		if (m == NULL || t == NULL) {
			xlate_prob(
			    l, o->line, o->col, "%s rule needs \"match\" and \"%s\"", what, outkey);
			continue;
		}
		if (!xlate_prob_want(l, m, JSON_STRING, "match") ||
		    !xlate_prob_want(l, t, JSON_STRING, outkey))
			continue;
		rs->n++;
		if (xlate_tmpl_rule_compile(l, m, json_str(m), r, 0))
			xlate_tmpl_compile(l, t, json_str(t), &r->out, none, 0, (int)r->re.re_nsub);
	}
	xlate_tmpl_rules_reachable(l, rs, what);
}
