/*
 * xlate_load.c: reading conf/translate.json and building a rule set, one
 * section at a time over the built-in defaults. Loading checks everything
 * and reports every problem as FILE:LINE:COL; a rule set with a problem is
 * never returned, and a loaded one never changes. No I/O other than
 * reading the one file (a debug line says so), no event loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "xlate_int.h"

#define XLATE_MAX_FILE (64u * 1024 * 1024)

static const char *const note_names[NOTE_N] = { "StatusChange", "AttachedDataChanged",
	"NewMessage" };
static const char *const party_vars[PV_N] = { "number", "digits", "sip", "user" };
static const char *const party_fields[] = { "digits", "e164Number", "formattedPhoneNumber",
	"phoneNumber" };

static const char *const kind_keys[XLATE_NKINDS] = { "outgoing_invitation", "incoming_invitation",
	"conversation", "messaging" };
static const char *const invitation_states[] = { "Connecting", "Connected", "Failed", "Alerting",
	"Cancelled", "Declined", "Forwarded", "TeamRing", NULL };
static const char *const conversation_states[] = { "Incoming", "Connecting", "Connected",
	"Conferencing", "Conferenced", "InLobby", "Disconnecting", "Disconnected", NULL };
static const char *const messaging_states[] = { "Connecting", "Connected", "Disconnected", NULL };
static const char *const *const kind_states[XLATE_NKINDS] = { invitation_states, invitation_states,
	conversation_states, messaging_states };

/* ---- sections ---- */

/* "addresses". */
static void
xlate_load_addresses(struct load *l, const struct json *o)
{
	static const char *const keys[] = { "directory", "to_sip", "to_phone", "participant",
		NULL };
	const struct json *v;

	if (!xlate_prob_want(l, o, JSON_OBJECT, "addresses"))
		return;
	xlate_prob_known_keys(l, o, keys, "addresses");
	if ((v = json_get(o, "directory")) != NULL)
		xlate_dir_load(l, v);
	if ((v = json_get(o, "to_sip")) != NULL)
		xlate_tmpl_rules_load(l, v, "sip", &l->r->to_sip, "to_sip");
	if ((v = json_get(o, "to_phone")) != NULL)
		xlate_tmpl_rules_load(l, v, "phone", &l->r->to_phone, "to_phone");
	if ((v = json_get(o, "participant")) == NULL ||
	    !xlate_prob_want(l, v, JSON_OBJECT, "participant"))
		return;
	xlate_prob_known_keys_n(l, v, party_fields, 4, "participant");
	for (int i = 0; i < 4; i++) {
		const struct json *t = json_get(v, party_fields[i]);

		if (t != NULL && xlate_prob_want(l, t, JSON_STRING, party_fields[i])) {
			xlate_tmpl_free(&l->r->party[i]);
			xlate_tmpl_compile(
			    l, t, json_str(t), &l->r->party[i], party_vars, PV_N, -1);
		}
	}
}

/* One state map: {"UcwaState": "GwsState" | null}. */
static void
xlate_load_state_map(struct load *l, const struct json *o, enum xlate_kind k)
{
	if (!xlate_prob_want(l, o, JSON_OBJECT, kind_keys[k]))
		return;
	xlate_prob_dup_keys(l, o);
	l->r->states[k].v = xcalloc(o->u.obj.n + 1, sizeof(struct state_pair));
	l->r->states[k].n = 0;
	for (size_t i = 0; i < o->u.obj.n; i++) {
		const struct json_member *m = &o->u.obj.m[i];
		enum session_state s = SESSION_NONE;

		if (xlate_names_index(kind_states[k], SIZE_MAX, m->key, m->keylen) < 0) {
			xlate_prob(l, m->line, m->col, "unknown UCWA %s state \"%.*s\"",
			    kind_keys[k], (int)m->keylen, m->key);
			continue;
		}
		if (m->val->type != JSON_NULL) {
			const char *g = json_str(m->val);

			if (g == NULL || (s = xlate_names_state_parse(g)) == SESSION_NONE ||
			    strcmp(g, xlate_names_states[s]) != 0) {
				xlate_prob(l, m->val->line, m->val->col,
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
xlate_load_states(struct load *l, const struct json *o)
{
	if (!xlate_prob_want(l, o, JSON_OBJECT, "states"))
		return;
	xlate_prob_known_keys_n(l, o, kind_keys, XLATE_NKINDS, "states");
	for (int k = 0; k < XLATE_NKINDS; k++) {
		const struct json *v = json_get(o, kind_keys[k]);

		if (v != NULL) {
			for (size_t i = 0; i < l->r->states[k].n; i++)
				free(l->r->states[k].v[i].ucwa);
			free(l->r->states[k].v);
			l->r->states[k].v = NULL;
			l->r->states[k].n = 0;
			xlate_load_state_map(l, v, k);
		}
	}
}

/* "capabilities": {"State": ["Op", ...]}. */
static void
xlate_load_caps(struct load *l, const struct json *o)
{
	if (!xlate_prob_want(l, o, JSON_OBJECT, "capabilities"))
		return;
	xlate_prob_known_keys_n(l, o, xlate_names_states, SESSION_NSTATES, "capabilities");
	for (int s = 0; s < SESSION_NSTATES; s++) {
		const struct json *a = json_get(o, xlate_names_states[s]);

		if (a == NULL || !xlate_prob_want(l, a, JSON_ARRAY, xlate_names_states[s]))
			continue;
		l->r->caps[s] = 0;
		l->r->ncap[s] = 0;
		for (size_t i = 0; i < a->u.arr.n; i++) {
			const struct json *c = a->u.arr.v[i];
			unsigned bit = xlate_names_cap_parse(json_str(c));

			if (bit == 0) {
				xlate_prob(l, c->line, c->col,
				    "unknown capability (expected SendMessage, "
				    "AttachUserData, UpdateUserData, DeleteUserData or Complete)");
			} else if (l->r->caps[s] & bit) {
				xlate_prob(l, c->line, c->col, "capability \"%s\" listed twice",
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
xlate_load_fields_free(struct fields *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->v[i].name);
		xlate_tmpl_free(&fs->v[i].t);
	}
	free(fs->v);
	fs->v = NULL;
	fs->n = 0;
}

/* "notifications": {"StatusChange": {"field": "template"}, ...}. */
static void
xlate_load_notes(struct load *l, const struct json *o)
{
	static const char *const fixed[] = { "messageType", "notificationType", "imSession",
		"imSessionPath", "message", NULL };

	if (!xlate_prob_want(l, o, JSON_OBJECT, "notifications"))
		return;
	xlate_prob_known_keys_n(l, o, note_names, NOTE_N, "notifications");
	for (int n = 0; n < NOTE_N; n++) {
		const struct json *f = json_get(o, note_names[n]);
		struct fields *fs = &l->r->notes[n];

		if (f == NULL)
			continue;
		xlate_load_fields_free(fs);
		if (!xlate_prob_want(l, f, JSON_OBJECT, note_names[n]))
			continue;
		xlate_prob_dup_keys(l, f);
		fs->v = xcalloc(f->u.obj.n + 1, sizeof *fs->v);
		for (size_t i = 0; i < f->u.obj.n; i++) {
			const struct json_member *m = &f->u.obj.m[i];

			if (xlate_names_index(fixed, SIZE_MAX, m->key, m->keylen) >= 0) {
				xlate_prob(l, m->line, m->col, "\"%.*s\" is a fixed field of %s",
				    (int)m->keylen, m->key, note_names[n]);
				continue;
			}
			if (!xlate_prob_want(l, m->val, JSON_STRING, "notification field"))
				continue;
			fs->v[fs->n].name = xstrndup(m->key, m->keylen);
			xlate_tmpl_compile(l, m->val, json_str(m->val), &fs->v[fs->n].t,
			    xlate_names_vars, XV_NVARS, -1);
			fs->n++;
		}
	}
}

/* Index of string value v in names (NULL-terminated), reporting otherwise. */
static int
xlate_load_enum(struct load *l, const struct json *v, const char *const *names, const char *what)
{
	int i;

	if (!xlate_prob_want(l, v, JSON_STRING, what))
		return -1;
	if ((i = xlate_names_index(names, SIZE_MAX, json_str(v), v->u.str.len)) < 0)
		xlate_prob(l, v->line, v->col, "%s: unknown value \"%s\"", what, json_str(v));
	return i;
}

/* "incoming". */
static void
xlate_load_incoming(struct load *l, const struct json *o)
{
	static const char *const keys[] = { "accept", "from", "when_busy", NULL };
	static const char *const accepts[] = { "all", "matching", "none", NULL };
	static const char *const busy[] = { "ignore", "decline", NULL };
	const struct json *v, *a;
	int i;

	if (!xlate_prob_want(l, o, JSON_OBJECT, "incoming"))
		return;
	xlate_prob_known_keys(l, o, keys, "incoming");
	if ((v = json_get(o, "accept")) != NULL &&
	    (i = xlate_load_enum(l, v, accepts, "accept")) >= 0)
		l->r->accept = i;
	if ((v = json_get(o, "when_busy")) != NULL &&
	    (i = xlate_load_enum(l, v, busy, "when_busy")) >= 0)
		l->r->busy_decline = i;
	if ((a = json_get(o, "from")) == NULL)
		return;
	xlate_tmpl_rules_free(&l->r->from);
	if (!xlate_prob_want(l, a, JSON_ARRAY, "from"))
		return;
	l->r->from.v = xcalloc(a->u.arr.n + 1, sizeof(struct rule));
	for (size_t k = 0; k < a->u.arr.n; k++) {
		if (xlate_prob_want(l, a->u.arr.v[k], JSON_STRING, "from"))
			xlate_tmpl_rule_compile(l, a->u.arr.v[k], json_str(a->u.arr.v[k]),
			    &l->r->from.v[l->r->from.n++], 1);
	}
}

/* Integer member within [min, max]. */
static void
xlate_load_int(struct load *l, const struct json *o, const char *key, long long min, long long max,
    long long *out)
{
	const struct json *v = json_get(o, key);

	if (v == NULL || !xlate_prob_want(l, v, JSON_INT, key))
		return;
	if (v->u.i < min || v->u.i > max)
		xlate_prob(l, v->line, v->col, "%s: %lld is out of range (%lld to %lld)", key,
		    v->u.i, min, max);
	else
		*out = v->u.i;
}

/* Boolean member. */
static void
xlate_load_bool(struct load *l, const struct json *o, const char *key, int *out)
{
	const struct json *v = json_get(o, key);

	if (v != NULL && xlate_prob_want(l, v, JSON_BOOL, key))
		*out = v->u.b;
}

/* "text". */
static void
xlate_load_text_policy(struct load *l, const struct json *o)
{
	static const char *const keys[] = { "html_to_plain", "trim_newlines", "max_length",
		"over_max", "max_parts", "undelivered", NULL };
	static const char *const over[] = { "refuse", "split", NULL };
	const struct json *v;
	int i;

	if (!xlate_prob_want(l, o, JSON_OBJECT, "text"))
		return;
	xlate_prob_known_keys(l, o, keys, "text");
	xlate_load_bool(l, o, "html_to_plain", &l->r->html_to_plain);
	xlate_load_bool(l, o, "trim_newlines", &l->r->trim_newlines);
	xlate_load_int(l, o, "max_length", 1, 1000000, &l->r->max_length);
	xlate_load_int(l, o, "max_parts", 1, 1000, &l->r->max_parts);
	if ((v = json_get(o, "over_max")) != NULL &&
	    (i = xlate_load_enum(l, v, over, "over_max")) >= 0)
		l->r->over_split = i;
	if ((v = json_get(o, "undelivered")) == NULL)
		return;
	xlate_tmpl_free(&l->r->undelivered);
	l->r->has_undelivered = 0;
	if (v->type != JSON_NULL && xlate_prob_want(l, v, JSON_STRING, "undelivered"))
		l->r->has_undelivered = xlate_tmpl_compile(
		    l, v, json_str(v), &l->r->undelivered, xlate_names_vars, XV_NVARS, -1);
}

/* Free the subject keys. */
static void
xlate_load_subject_free(struct xlate_rules *r)
{
	for (size_t i = 0; i < r->nsubject_keys; i++)
		free(r->subject_keys[i]);
	free(r->subject_keys);
	r->subject_keys = NULL;
	r->nsubject_keys = 0;
}

/* "subject". */
static void
xlate_load_subject(struct load *l, const struct json *o)
{
	static const char *const keys[] = { "keys", "separator", "max_length", NULL };
	const struct json *v;

	if (!xlate_prob_want(l, o, JSON_OBJECT, "subject"))
		return;
	xlate_prob_known_keys(l, o, keys, "subject");
	xlate_load_int(l, o, "max_length", 1, 250, &l->r->subject_max);
	if ((v = json_get(o, "separator")) != NULL &&
	    xlate_prob_want(l, v, JSON_STRING, "separator")) {
		free(l->r->subject_sep);
		l->r->subject_sep = xstrdup(json_str(v));
	}
	if ((v = json_get(o, "keys")) == NULL)
		return;
	xlate_load_subject_free(l->r);
	if (!xlate_prob_want(l, v, JSON_ARRAY, "keys"))
		return;
	l->r->subject_keys = xcalloc(v->u.arr.n + 1, sizeof(char *));
	for (size_t i = 0; i < v->u.arr.n; i++) {
		if (xlate_prob_want(l, v->u.arr.v[i], JSON_STRING, "keys"))
			l->r->subject_keys[l->r->nsubject_keys++] =
			    xstrdup(json_str(v->u.arr.v[i]));
	}
}

/* Defaults for what the file leaves out. */
static void
xlate_load_defaults(struct load *l)
{
	static const unsigned char talking[5] = { 4, 1, 3, 2, 0 }; /* the samples' order */
	struct xlate_rules *r = l->r;
	struct json at = { .line = 0 };

	for (int i = 0; i < 4; i++)
		xlate_tmpl_compile(
		    l, &at, i == 0 ? "$digits" : "$number", &r->party[i], party_vars, PV_N, -1);
	r->caps[SESSION_TALKING] = 0x1f;
	r->ncap[SESSION_TALKING] = 5;
	memcpy(r->cap_order[SESSION_TALKING], talking, sizeof talking);
	r->caps[SESSION_INITIATING] = r->caps[SESSION_ALERTING] = XLATE_CAP_COMPLETE;
	r->ncap[SESSION_INITIATING] = r->ncap[SESSION_ALERTING] = 1;
	r->cap_order[SESSION_INITIATING][0] = r->cap_order[SESSION_ALERTING][0] = 4;
	r->busy_decline = 1;
	r->html_to_plain = r->trim_newlines = 1;
	r->max_length = 4000;
	r->max_parts = 10;
	r->over_split = 1;
	r->subject_sep = xstrdup(" ");
	r->subject_max = 250;
}

/* Everything of a parsed document. */
static void
xlate_load_root(struct load *l, const struct json *root)
{
	static const char *const keys[] = { "addresses", "states", "capabilities", "notifications",
		"incoming", "text", "subject", NULL };
	const struct json *v;

	if (!xlate_prob_want(l, root, JSON_OBJECT, "translation file"))
		return;
	xlate_prob_known_keys(l, root, keys, "the translation file");
	if ((v = json_get(root, "addresses")) != NULL)
		xlate_load_addresses(l, v);
	if ((v = json_get(root, "states")) != NULL)
		xlate_load_states(l, v);
	if ((v = json_get(root, "capabilities")) != NULL)
		xlate_load_caps(l, v);
	if ((v = json_get(root, "notifications")) != NULL)
		xlate_load_notes(l, v);
	if ((v = json_get(root, "incoming")) != NULL)
		xlate_load_incoming(l, v);
	if ((v = json_get(root, "text")) != NULL)
		xlate_load_text_policy(l, v);
	if ((v = json_get(root, "subject")) != NULL)
		xlate_load_subject(l, v);
}

/* Free a rule set (refs ignored). */
void
xlate_load_free(struct xlate_rules *r)
{
	xlate_dir_free(r);
	xlate_tmpl_rules_free(&r->to_sip);
	xlate_tmpl_rules_free(&r->to_phone);
	xlate_tmpl_rules_free(&r->from);
	for (int i = 0; i < 4; i++)
		xlate_tmpl_free(&r->party[i]);
	xlate_tmpl_free(&r->undelivered);
	for (int k = 0; k < XLATE_NKINDS; k++) {
		for (size_t i = 0; i < r->states[k].n; i++)
			free(r->states[k].v[i].ucwa);
		free(r->states[k].v);
	}
	for (int n = 0; n < NOTE_N; n++)
		xlate_load_fields_free(&r->notes[n]);
	xlate_load_subject_free(r);
	free(r->subject_sep);
	free(r);
}

/* The variables the notifications and the undelivered notice name (XV_* bits). */
static unsigned
xlate_load_vars_used(const struct xlate_rules *r)
{
	unsigned bits = r->has_undelivered ? xlate_tmpl_vars(&r->undelivered) : 0;

	for (int n = 0; n < NOTE_N; n++)
		for (size_t i = 0; i < r->notes[n].n; i++)
			bits |= xlate_tmpl_vars(&r->notes[n].v[i].t);
	return bits;
}

/* Load from text. */
struct xlate_rules *
xlate_load_text(const char *name, const char *text, size_t len, char **problems)
{
	struct json_limits lim = { .max_bytes = XLATE_MAX_FILE,
		.max_depth = 16,
		.allow_comments = 1,
		.keep_duplicates = 1 };
	struct json_error err;
	struct json_doc *doc;
	struct load l = { .name = name };

	l.r = xcalloc(1, sizeof *l.r);
	l.r->refs = 1;
	xlate_load_defaults(&l);
	if (text != xlate_default_text) {
		/* What the file leaves out keeps the built-in value. */
		l.name = "(built-in)";
		doc = json_parse(xlate_default_text, strlen(xlate_default_text), &lim, &err);
		xlate_load_root(&l, json_root(doc));
		json_doc_free(doc);
		l.name = name;
	}
	if ((doc = json_parse(text, len, &lim, &err)) == NULL)
		xlate_prob(&l, err.line, err.col, "%s", err.msg);
	else {
		xlate_load_root(&l, json_root(doc));
		json_doc_free(doc);
	}
	if (l.n == 0) {
		l.r->vars_used = xlate_load_vars_used(l.r);
		*problems = NULL;
		return l.r;
	}
	xlate_load_free(l.r);
	*problems = xlate_prob_text(&l);
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
