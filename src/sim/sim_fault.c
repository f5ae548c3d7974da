/*
 * sim_fault.c: faults injected per user at run time through the control
 * API. A fault has a name, optional parameters and an optional count of
 * requests it applies to (then it is used up). "error" and "invalid_token"
 * answer requests here; the others are consulted by the part they change
 * (sim_events.c, sim_conv.c, sim_main.c). At most SIM_FAULTS per user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sim.h"

#define SIM_FAULTS 16

static const char *const sim_fault_names[] = {
	"error",
	"invalid_token",
	"slow",
	"trickle",
	"reset_pget",
	"empty_sender",
	"aggregation",
	"started_before_201",
	"accepted_elsewhere",
	"unknown_extras",
	"message_ids",
	"failed_delivery",
	NULL,
};

/* Parameters each fault accepts (integers unless listed in sim_fault_strs). */
static const char *const sim_fault_ints[] = {
	"status",
	"delay_ms",
	"bytes_per_s",
	"after_ms",
	"start",
	"count",
	NULL,
};
static const char *const sim_fault_strs[] = { "on", "code", "subcode", "message", NULL };

struct sim_fault {
	struct sim_fault *next;
	char name[24];
	long long count; /* -1: until cleared */
	long long status, delay_ms, bytes_per_s, after_ms, start;
	char *on, *code, *subcode, *message;
	int html;
};

/* The active fault called name, or NULL. */
static struct sim_fault *
sim_fault_find(struct sim_user *u, const char *name)
{
	for (struct sim_fault *f = u->faults; f != NULL; f = f->next) {
		if (strcmp(f->name, name) == 0 && f->count != 0)
			return f;
	}
	return NULL;
}

/* Whether fault name is active for u. */
int
sim_fault_active(struct sim_user *u, const char *name)
{
	return u->faults != NULL && sim_fault_find(u, name) != NULL;
}

/* An integer parameter of an active fault (0 when absent). */
long long
sim_fault_param(struct sim_user *u, const char *name, const char *param)
{
	struct sim_fault *f;

	if (u->faults == NULL || (f = sim_fault_find(u, name)) == NULL)
		return 0;
	if (strcmp(param, "delay_ms") == 0)
		return f->delay_ms;
	if (strcmp(param, "bytes_per_s") == 0)
		return f->bytes_per_s;
	if (strcmp(param, "after_ms") == 0)
		return f->after_ms;
	if (strcmp(param, "start") == 0)
		return f->start;
	return f->status;
}

/* Use one shot of a fault; 1 if it was active. */
int
sim_fault_take(struct sim_user *u, const char *name)
{
	struct sim_fault *f;

	if (u->faults == NULL || (f = sim_fault_find(u, name)) == NULL)
		return 0;
	if (f->count > 0)
		f->count--;
	return 1;
}

/* Answer req as a proxy would: an HTML error page. */
static void
sim_fault_html(struct http_req *req, int status)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b,
	    "<html><head><title>%d %s</title></head><body><h1>%d %s</h1>"
	    "<hr><center>proxy</center></body></html>\r\n",
	    status, http_status_text(status), status, http_status_text(status));
	http_req_reply_buf(req, status, "text/html", &b);
}

/* Whether an "error" fault's "on" matches the request kind. */
static int
sim_fault_on(const struct sim_fault *f, const char *kind)
{
	const char *on = f->on != NULL ? f->on : "command";

	return strcmp(on, kind) == 0 || (strcmp(on, "any") == 0 && strcmp(kind, "auth") == 0);
}

/* Answer req from an active fault for this kind of request; 1 if done. */
int
sim_fault_request(struct sim_user *u, struct http_req *req, const char *kind)
{
	struct sim_fault *f;

	for (f = u->faults; f != NULL; f = f->next) {
		if (f->count == 0)
			continue;
		if (strcmp(f->name, "invalid_token") == 0 && strcmp(kind, "auth") == 0) {
			if (f->count > 0)
				f->count--;
			http_req_add_header(req, "Warning", "120 SIM \"InvalidToken\"");
			http_req_add_header(req, "X-Ms-diagnostics",
			    "28055;source=\"sim\";reason=\"The OAuth token is invalid.\"");
			sim_reply_error(
			    req, 403, "Forbidden", "InvalidToken", "The OAuth token is invalid.");
			return 1;
		}
		if (strcmp(f->name, "error") == 0 && sim_fault_on(f, kind)) {
			if (f->count > 0)
				f->count--;
			log_info("fault: %s %s -> %lld", http_req_method(req), http_req_path(req),
			    f->status);
			if (f->html)
				sim_fault_html(req, (int)f->status);
			else
				sim_reply_error(req, (int)f->status,
				    f->code ? f->code : "ServiceFailure", f->subcode,
				    f->message ? f->message : "Injected fault.");
			return 1;
		}
	}
	if (strcmp(kind, "auth") == 0 && u->outstanding >= (unsigned)simg.cfg->max_outstanding) {
		sim_reply_error(req, 429, "TooManyRequests", NULL,
		    "Too many outstanding requests for this user.");
		return 1;
	}
	return 0;
}

/* Free one fault. */
static void
sim_fault_free(struct sim_fault *f)
{
	free(f->on);
	free(f->code);
	free(f->subcode);
	free(f->message);
	free(f);
}

/* Whether s is in the NULL-terminated list. */
static int
sim_fault_in(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i] != NULL; i++) {
		if (strcmp(list[i], s) == 0)
			return 1;
	}
	return 0;
}

/* Check a fault description; NULL when good. */
static const char *
sim_fault_check(const struct json *o)
{
	const char *name = json_get_str(o, "fault");

	if (o->type != JSON_OBJECT || name == NULL || !sim_fault_in(sim_fault_names, name))
		return "\"fault\" must name a known fault (see docs/ucwa-sim.md)";
	for (size_t i = 0; i < o->u.obj.n; i++) {
		const char *k = o->u.obj.m[i].key;
		const struct json *v = o->u.obj.m[i].val;

		if (strcmp(k, "fault") == 0)
			continue;
		if (strcmp(k, "html") == 0 && v->type == JSON_BOOL)
			continue;
		if (sim_fault_in(sim_fault_ints, k) && v->type == JSON_INT && v->u.i >= 0 &&
		    v->u.i <= 100000000)
			continue;
		if (sim_fault_in(sim_fault_strs, k) && v->type == JSON_STRING &&
		    v->u.str.len <= 200)
			continue;
		return "unknown parameter or wrong type";
	}
	if (strcmp(name, "error") == 0) {
		const struct json *st = json_get(o, "status");

		if (st == NULL || st->u.i < 400 || st->u.i > 599)
			return "\"error\" needs \"status\" 400-599";
	}
	return NULL;
}

/* Add a fault from its JSON description; -1 with err when bad. */
int
sim_fault_add(struct sim_user *u, const struct json *o, char *err, size_t errlen)
{
	const char *m = sim_fault_check(o);
	const struct json *cnt;
	struct sim_fault *f, **tail;
	int n = 0;

	for (f = u->faults; f != NULL; f = f->next)
		n++;
	if (m == NULL && n >= SIM_FAULTS)
		m = "too many faults for this user; clear them first";
	if (m != NULL) {
		snprintf(err, errlen, "%s", m);
		return -1;
	}
	f = xcalloc(1, sizeof *f);
	snprintf(f->name, sizeof f->name, "%s", json_get_str(o, "fault"));
	cnt = json_get(o, "count");
	f->count = cnt != NULL ? cnt->u.i : -1;
#define INT(k) (json_get(o, #k) ? json_get(o, #k)->u.i : 0)
#define STR(k) (json_get_str(o, #k) ? xstrdup(json_get_str(o, #k)) : NULL)
	f->status = INT(status);
	f->delay_ms = INT(delay_ms);
	f->bytes_per_s = INT(bytes_per_s);
	f->after_ms = INT(after_ms);
	f->start = INT(start);
	f->on = STR(on);
	f->code = STR(code);
	f->subcode = STR(subcode);
	f->message = STR(message);
	f->html = json_get(o, "html") != NULL && json_get(o, "html")->u.b;
#undef INT
#undef STR
	for (tail = &u->faults; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = f;
	log_info("fault: %s for %s", f->name, u->uri);
	return 0;
}

/* Remove every fault of u. */
void
sim_fault_clear(struct sim_user *u)
{
	struct sim_fault *f;

	while ((f = u->faults) != NULL) {
		u->faults = f->next;
		sim_fault_free(f);
	}
}

/* The active faults of u as a JSON array. */
void
sim_fault_write(struct jw *w, struct sim_user *u)
{
	jw_arr_begin(w);
	for (struct sim_fault *f = u->faults; f != NULL; f = f->next) {
		jw_obj_begin(w);
		jw_kstr(w, "fault", f->name);
		jw_kint(w, "remaining", f->count);
		if (f->status)
			jw_kint(w, "status", f->status);
		if (f->subcode)
			jw_kstr(w, "subcode", f->subcode);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}
