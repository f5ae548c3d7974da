/*
 * xlate.c: the translation rules' pure functions at run time: references
 * to a rule set and the current one, addresses, states, notifications,
 * incoming invitations and the subject. Nothing here changes a rule set;
 * no I/O, no event loop. The top of the family: loading is xlate_load.c,
 * the text policy xlate_text.c, the names xlate_names.c.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "xlate_int.h"

#define XLATE_MAX_PHONE 64

static struct xlate_rules *xlate_cur;

/* ---- references ---- */

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
		xlate_load_free(r);
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
	if ((e = xlate_dir_find(r, &r->by_phone, phone, 0)) >= 0) {
		*sip = xstrdup(r->dir[e].sip);
		return 0;
	}
	for (size_t i = 0; i < r->to_sip.n; i++) {
		if (!xlate_tmpl_rule_match(&r->to_sip.v[i], phone, pm))
			continue;
		buf_init(&b);
		xlate_tmpl_expand(&r->to_sip.v[i].out, phone, pm, NULL, &b);
		*sip = buf_detach(&b, NULL);
		return 0;
	}
	*cause = "no address rule matches this phone number";
	return -1;
}

/* The phone number for sip (directory, rules, else the user part). */
static char *
xlate_sip_to_number(const struct xlate_rules *r, const char *sip)
{
	regmatch_t pm[10];
	struct buf b;
	const char *u, *at;
	char *key = xlate_dir_lower_dup(sip);
	long e = xlate_dir_find(r, &r->by_sip, key, 1);

	free(key);
	if (e >= 0)
		return xstrdup(r->dir[e].phone);
	for (size_t i = 0; i < r->to_phone.n; i++) {
		if (!xlate_tmpl_rule_match(&r->to_phone.v[i], sip, pm))
			continue;
		buf_init(&b);
		xlate_tmpl_expand(&r->to_phone.v[i].out, sip, pm, NULL, &b);
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
	char *number = xlate_sip_to_number(r, sip), *digits, *user;
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
		xlate_tmpl_expand(&r->party[i], NULL, NULL, vars, &b);
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
enum session_state
xlate_state_map(const struct xlate_rules *r, enum xlate_kind k, const char *value)
{
	if (k < 0 || k >= XLATE_NKINDS || value == NULL)
		return SESSION_NONE;
	for (size_t i = 0; i < r->states[k].n; i++) {
		if (strcmp(r->states[k].v[i].ucwa, value) == 0)
			return r->states[k].v[i].gws;
	}
	return SESSION_NONE;
}

/* Whether the notifications or the undelivered notice name variable v. */
int
xlate_uses_var(const struct xlate_rules *r, enum xlate_var v)
{
	return (r->vars_used & (1u << v)) != 0;
}

/* Capability bits of a state. */
unsigned
xlate_caps(const struct xlate_rules *r, enum session_state s)
{
	return (s >= 0 && s < SESSION_NSTATES) ? r->caps[s] : 0;
}

/* The capabilities array of a state, in file order. */
void
xlate_caps_write(const struct xlate_rules *r, enum session_state s, struct jw *w)
{
	jw_arr_begin(w);
	for (unsigned i = 0; s >= 0 && s < SESSION_NSTATES && i < r->ncap[s]; i++)
		jw_str(w, xlate_names_caps[r->cap_order[s][i]]);
	jw_arr_end(w);
}

/* ---- notifications ---- */

/* One participant object. */
static void
xlate_write_party(const struct xlate_rules *r, const char *sip, struct jw *w)
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
	if (s->state == SESSION_NONE)
		jw_kstr(w, "state", NULL); /* not announced yet */
	else
		jw_kstr(w, "state", xlate_names_state(s->state));
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
		xlate_write_party(r, s->remote[i], w);
	jw_arr_end(w);
	jw_key(w, "capabilities");
	xlate_caps_write(r, s->state, w);
	jw_obj_end(w);
	buf_free(&b);
}

/* The extra fields of one notification kind. */
static void
xlate_write_extra(
    const struct xlate_rules *r, int note, const struct xlate_session *s, struct jw *w)
{
	const char *vars[XV_NVARS];
	struct buf b;

	memcpy(vars, s->var, sizeof vars);
	vars[XV_ID] = s->id;
	vars[XV_STATE] = xlate_names_state(s->state);
	buf_init(&b);
	for (size_t i = 0; i < r->notes[note].n; i++) {
		buf_reset(&b);
		if (xlate_tmpl_expand(&r->notes[note].v[i].t, NULL, NULL, vars, &b))
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
	xlate_write_extra(r, strcmp(type, "StatusChange") == 0 ? NOTE_STATUS : NOTE_DATA, s, &w);
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
	buf_addstr(&p, "/im-sessions/");
	buf_addstr(&p, s->id);
	buf_reserve(
	    out, 256 + (text != NULL ? strlen(text) : 0)); /* grown once, not doubled up to it */
	jw_init(&w, out);
	jw_obj_begin(&w);
	jw_kstr(&w, "messageType", "IMLogUpdateMessage");
	jw_kstr(&w, "notificationType", "NewMessage");
	jw_kstr(&w, "imSessionPath", p.data);
	jw_kstr(&w, "message", text);
	xlate_write_extra(r, NOTE_MESSAGE, s, &w);
	jw_obj_end(&w);
	buf_free(&p);
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
		if (xlate_tmpl_rule_match(&r->from.v[i], from_sip, pm))
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
	n = xlate_text_utf8_prefix(b.data, b.len, r->subject_max, NULL);
	b.data[n] = '\0';
	b.len = n;
	return buf_detach(&b, NULL);
}
