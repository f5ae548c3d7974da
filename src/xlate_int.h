/*
 * xlate_int.h: what the translation rules' files share: the rule set and
 * its parts, the loading context, the shared name tables and the
 * functions one file offers the others. From the bottom up (each file
 * calls only files listed before it):
 *	xlate_names.c	the names of states, capabilities and variables
 *	xlate_prob.c	problems found while loading, and the common checks
 *	xlate_tmpl.c	templates and regular expression rules
 *	xlate_dir.c	the directory
 *	xlate_text.c	the text policy
 *	xlate_load.c	the file and its sections
 *	xlate.c		references and the run-time functions
 * Private to them: nothing else includes it.
 */
#ifndef UCGW_XLATE_INT_H
#define UCGW_XLATE_INT_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include "xlate.h"

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
enum { IN_ALL, IN_MATCHING, IN_NONE };
enum { PV_NUMBER, PV_DIGITS, PV_SIP, PV_USER, PV_N };

struct state_pair {
	char *ucwa;
	enum session_state gws;
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
	unsigned caps[SESSION_NSTATES];
	unsigned char cap_order[SESSION_NSTATES][5];
	unsigned ncap[SESSION_NSTATES];
	struct fields notes[NOTE_N];
	int accept;
	struct rules from;
	int busy_decline;
	int html_to_plain, trim_newlines, over_split;
	struct tmpl undelivered;
	int has_undelivered;
	unsigned vars_used; /* XV_* bits named by a notification field or the notice */
	long long max_length;
	long long max_parts; /* a split text has at most this many parts */
	char **subject_keys;
	size_t nsubject_keys;
	char *subject_sep;
	long long subject_max;
};

/* A problem found while loading, at its position in the file. */
struct problem {
	unsigned line, col;
	size_t seq;
	char *msg;
};

/* One load: the file's name, the problems found, the rules being built. */
struct load {
	const char *name;
	struct problem *v;
	size_t n;
	struct xlate_rules *r;
};

/* xlate_names.c (a leaf) */
extern const char *const xlate_names_states[]; /* SESSION_NSTATES names */
extern const char *const xlate_names_caps[];   /* by XLATE_CAP_* bit number */
extern const char *const xlate_names_vars[];   /* XV_NVARS names */
int xlate_names_index(const char *const *list, size_t n, const char *s, size_t len);

/* xlate_prob.c (over xlate_names.c only) */
void xlate_prob(struct load *, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int xlate_prob_want(struct load *, const struct json *v, enum json_type t, const char *what);
void xlate_prob_dup_keys(struct load *, const struct json *obj);
void xlate_prob_known_keys_n(
    struct load *, const struct json *obj, const char *const *keys, size_t n, const char *where);
char *xlate_prob_text(struct load *);
#define xlate_prob_known_keys(l, obj, keys, where)                                                 \
	xlate_prob_known_keys_n(l, obj, keys, SIZE_MAX, where)

/* xlate_load.c */
void xlate_load_free(struct xlate_rules *);

/* xlate_tmpl.c */
int xlate_tmpl_compile(struct load *, const struct json *at, const char *s, struct tmpl *t,
    const char *const *vars, size_t nvars, int maxgroup);
void xlate_tmpl_free(struct tmpl *);
unsigned xlate_tmpl_vars(const struct tmpl *);
int xlate_tmpl_expand(const struct tmpl *t, const char *s, const regmatch_t *pm,
    const char *const *vars, struct buf *out);
int xlate_tmpl_rule_compile(
    struct load *, const struct json *at, const char *pattern, struct rule *r, int icase);
int xlate_tmpl_rule_match(const struct rule *r, const char *s, regmatch_t pm[10]);
void xlate_tmpl_rules_free(struct rules *);
void xlate_tmpl_rules_load(
    struct load *, const struct json *arr, const char *outkey, struct rules *rs, const char *what);

/* xlate_dir.c */
long xlate_dir_find(
    const struct xlate_rules *r, const struct dir_hash *h, const char *key, int by_sip);
char *xlate_dir_lower_dup(const char *s);
void xlate_dir_free(struct xlate_rules *);
void xlate_dir_load(struct load *, const struct json *arr);

/* xlate_text.c */
size_t xlate_text_utf8_prefix(const char *s, size_t len, long long max, long long *count);

#endif
