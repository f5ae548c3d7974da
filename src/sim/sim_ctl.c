/*
 * sim_ctl.c: the control API under /_sim/ (HTTP JSON, no authentication:
 * the simulator is a test peer). Tests drive remote parties, inject and
 * clear faults per user, and read back what remotes received and the live
 * applications, conversations and parked P-GETs. Answers are 200 with a
 * JSON object, or 4xx with {"error": "..."}; bad input changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sim.h"

/* {"error": msg} with status. */
static void
sim_ctl_error(struct http_req *req, int status, const char *msg)
{
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "error", msg);
	jw_obj_end(&w);
	http_req_reply_buf(req, status, "application/json", &b);
}

/* {"ok": true}. */
static void
sim_ctl_ok(struct http_req *req)
{
	http_req_reply(req, 200, "application/json", "{\"ok\":true}", 11);
}

/* GET /_sim/state: applications (with conversations and P-GETs), remotes, users. */
static void
sim_ctl_state(struct http_req *req)
{
	struct sim_user *u;
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_key(&w, "applications");
	sim_app_write_state(&w);
	jw_key(&w, "remotes");
	sim_remote_write_all(&w, 0);
	jw_key(&w, "users");
	jw_arr_begin(&w);
	TAILQ_FOREACH(u, &simg.users, entry)
	{
		jw_obj_begin(&w);
		jw_kstr(&w, "uri", u->uri);
		jw_kint(&w, "applications", u->napps);
		jw_kint(&w, "outstanding", u->outstanding);
		jw_key(&w, "faults");
		sim_fault_write(&w, u);
		jw_kbool(&w, "ownProfile", u->own_profile);
		jw_key(&w, "profile");
		sim_profile_write(&w, sim_profile(u));
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "profile");
	sim_profile_write(&w, &simg.profile);
	jw_key(&w, "reaper"); /* objects ended: buried, released on the next turn */
	jw_obj_begin(&w);
	jw_kint(&w, "pending", simg.ngraves);
	jw_kint(&w, "released", (long long)simg.released);
	jw_obj_end(&w);
	jw_obj_end(&w);
	http_req_reply_buf(req, 200, "application/json", &b);
}

/* GET /_sim/remotes/<remote>/received: what the remote received, oldest first. */
static void
sim_ctl_received(struct http_req *req, struct sim_remote *r)
{
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "uri", r->uri);
	jw_key(&w, "received");
	sim_remote_write_log(&w, r);
	jw_obj_end(&w);
	http_req_reply_buf(req, 200, "application/json", &b);
}

/*
 * A remote's action (invite, message, typing, leave) towards user u: NULL
 * when done, else why not (*status: 400 bad input, 409 not possible now).
 */
static const char *
sim_ctl_remote_act(
    struct sim_remote *r, struct sim_user *u, const char *action, const struct json *o, int *status)
{
	const char *text = json_get_str(o, "text");
	const struct json *h = json_get(o, "html");
	int html = h != NULL && h->type == JSON_BOOL && h->u.b;

	if (strcmp(action, "invite") == 0 || strcmp(action, "message") == 0) {
		if (text == NULL || *text == '\0')
			return "\"text\" is required";
		*status = 409;
		if (strcmp(action, "invite") == 0)
			return sim_conv_remote_invite(r, u, text, json_get_str(o, "subject"), html);
		return sim_conv_remote_message(r, u, text, html, json_get_str(o, "plain"));
	}
	*status = 409;
	if (strcmp(action, "typing") == 0)
		return sim_conv_remote_typing(r, u);
	return sim_conv_remote_leave(r, u);
}

/* Actions of one remote party. */
static void
sim_ctl_remote(struct http_req *req, struct sim_remote *r, const char *action, const struct json *o)
{
	const char *to = o ? json_get_str(o, "to") : NULL;
	struct sim_user *u = to != NULL ? sim_user_find(to) : NULL;
	const char *err = NULL;
	int status = 400;
	char ebuf[128];

	if (strcmp(action, "received") == 0) {
		sim_ctl_received(req, r);
		return;
	}
	if (o == NULL) {
		sim_ctl_error(req, 400, "expected a JSON object body");
		return;
	}
	if (strcmp(action, "behaviour") == 0) {
		if (sim_remote_set(r, o, ebuf, sizeof ebuf) != 0)
			err = ebuf;
	} else if (u == NULL)
		err = "\"to\" must name a configured user";
	else if (strcmp(action, "invite") != 0 && strcmp(action, "message") != 0 &&
	    strcmp(action, "typing") != 0 && strcmp(action, "leave") != 0) {
		sim_ctl_error(req, 404, "unknown remote action");
		return;
	} else
		err = sim_ctl_remote_act(r, u, action, o, &status);
	if (err != NULL)
		sim_ctl_error(req, status, err);
	else
		sim_ctl_ok(req);
}

/* Actions on one user: faults, token expiry, killing applications, resume. */
static void
sim_ctl_user(struct http_req *req, struct sim_user *u, const char *action, const struct json *o)
{
	const char *m = http_req_method(req);
	struct sim_app *a;
	char err[128];

	if (strcmp(action, "faults") == 0 && strcmp(m, "DELETE") == 0)
		sim_fault_clear(u);
	else if (strcmp(action, "profile") == 0 && strcmp(m, "DELETE") == 0)
		u->own_profile = 0;
	else if (strcmp(action, "profile") == 0 && strcmp(m, "POST") == 0) {
		if (sim_profile_parse(o, &u->profile, err, sizeof err) != 0) {
			sim_ctl_error(req, 400, err);
			return;
		}
		u->own_profile = 1;
		log_info("profile: %s has its own", u->uri);
	} else if (strcmp(action, "faults") == 0 && strcmp(m, "POST") == 0) {
		if (o == NULL || sim_fault_add(u, o, err, sizeof err) != 0) {
			sim_ctl_error(req, 400, o == NULL ? "expected a JSON object body" : err);
			return;
		}
	} else if (strcmp(action, "expire-tokens") == 0 && strcmp(m, "POST") == 0)
		sim_auth_expire_user(u);
	else if (strcmp(action, "kill-applications") == 0 && strcmp(m, "POST") == 0) {
		while ((a = TAILQ_FIRST(&u->apps)) != NULL) {
			log_info("app %s: killed by the control API", a->id);
			sim_app_destroy(a);
		}
	} else if (strcmp(action, "resume") == 0 && strcmp(m, "POST") == 0) {
		TAILQ_FOREACH(a, &u->apps, entry)
		{
			a->want_resume = 1;
			if (a->pget != NULL)
				sim_events_kick_resume(a);
		}
	} else {
		sim_ctl_error(req, 404, "unknown user action");
		return;
	}
	sim_ctl_ok(req);
}

/* POST /_sim/profile: the global profile; bad input changes nothing. */
static void
sim_ctl_profile(struct http_req *req, const char *body, size_t len)
{
	struct json_limits lim = { 65536, 16, 0 };
	struct json_error jerr;
	struct json_doc *d = json_parse(body, len, &lim, &jerr);
	char err[160];

	if (d == NULL)
		sim_ctl_error(req, 400, "the body is not a JSON object");
	else if (sim_profile_parse(json_root(d), &simg.profile, err, sizeof err) != 0)
		sim_ctl_error(req, 400, err);
	else {
		log_info("profile: the global profile changed");
		sim_ctl_ok(req);
	}
	json_doc_free(d);
}

/* Split "/_sim/<kind>/<name>/<action>" and dispatch. */
void
sim_ctl_route(struct http_req *req)
{
	const char *p = http_req_path(req) + sizeof SIM_CTL - 1, *s1, *s2;
	struct json_limits lim = { 65536, 16, 0 };
	struct json_error jerr;
	struct json_doc *d = NULL;
	char name[256];
	size_t len;
	const char *body = http_req_body(req, &len);

	if (strcmp(p, "state") == 0 && strcmp(http_req_method(req), "GET") == 0) {
		sim_ctl_state(req);
		return;
	}
	if (strcmp(p, "profile") == 0 && strcmp(http_req_method(req), "POST") == 0) {
		sim_ctl_profile(req, body, len);
		return;
	}
	if ((s1 = strchr(p, '/')) == NULL || (s2 = strchr(s1 + 1, '/')) == NULL ||
	    (size_t)(s2 - s1 - 1) >= sizeof name) {
		sim_ctl_error(req, 404, "unknown control path");
		return;
	}
	snprintf(name, sizeof name, "%.*s", (int)(s2 - s1 - 1), s1 + 1);
	if (len > 0 &&
	    ((d = json_parse(body, len, &lim, &jerr)) == NULL ||
		json_root(d)->type != JSON_OBJECT)) {
		json_doc_free(d);
		sim_ctl_error(req, 400, "the body is not a JSON object");
		return;
	}
	if (strncmp(p, "remotes/", 8) == 0 && sim_remote_find(name) != NULL)
		sim_ctl_remote(req, sim_remote_find(name), s2 + 1, d ? json_root(d) : NULL);
	else if (strncmp(p, "users/", 6) == 0 && sim_user_find(name) != NULL)
		sim_ctl_user(req, sim_user_find(name), s2 + 1, d ? json_root(d) : NULL);
	else
		sim_ctl_error(req, 404, "no such remote or user");
	json_doc_free(d);
}
