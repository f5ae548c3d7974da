/*
 * gws_me.c: the GWS resources about the signed-in agent itself: the user
 * (GET /me, with inlined subresources), its device (GET /me/devices), the
 * features the gateway offers (GET /features) and the agent operations on
 * POST /me (StartContactCenterSession, EndContactCenterSession, Ready,
 * NotReady). Shapes follow the published GWS samples: collections are
 * "uris" without ?fields and objects with ?fields=*.
 */
#include <stdlib.h>
#include <string.h>

#include "gws_me.h"
#include "log.h"

/* The one feature the gateway offers. */
static const struct {
	const char *id, *name, *description;
} gws_me_features[] = {
	{ "api-voice-instant-messaging", "Instant Messaging",
	    "Agent instant messaging (IM sessions), carried by Skype for Business" },
};

/* Whether subresources lists name (or is "*"). */
static int
gws_me_wants_sub(const char *list, const char *name)
{
	size_t n = strlen(name);

	if (list == NULL)
		return 0;
	for (const char *p = list; *p != '\0';) {
		size_t len = strcspn(p, ",");

		if ((len == 1 && *p == '*') || (len == n && strncmp(p, name, n) == 0))
			return 1;
		p += len + (p[len] == ',');
	}
	return 0;
}

/* The userState object of the agent. */
static void
gws_me_user_state(struct jw *w, const struct agent *a)
{
	jw_obj_begin(w);
	jw_kstr(w, "id", a->state_id);
	jw_kstr(w, "displayName", a->ready ? "Ready" : "Not Ready");
	jw_kstr(w, "state", a->ready ? "Ready" : "NotReady");
	jw_obj_end(w);
}

/* One device object (the agent's IM device). */
void
gws_me_device(struct jw *w, const struct agent *a, const char *base)
{
	char *uri;

	xasprintf(&uri, "%s/devices/%s", base, a->device_id);
	jw_obj_begin(w);
	jw_kstr(w, "id", a->device_id);
	jw_kstr(w, "deviceState", "Active");
	jw_key(w, "userState");
	gws_me_user_state(w, a);
	jw_kstr(w, "phoneNumber", a->phone ? a->phone : a->name);
	jw_kstr(w, "e164Number", a->phone ? a->phone : a->name);
	jw_kstr(w, "telephonyNetwork", "Private");
	jw_kstr(w, "doNotDisturb", "Off");
	jw_key(w, "capabilities");
	jw_arr_begin(w);
	jw_arr_end(w);
	jw_key(w, "channels");
	jw_arr_begin(w);
	jw_str(w, "im");
	jw_arr_end(w);
	jw_kstr(w, "uri", uri);
	jw_kstr(w, "path", uri + strlen(base));
	jw_obj_end(w);
	free(uri);
}

/* One feature object. */
static void
gws_me_feature(struct jw *w, size_t i, const char *base)
{
	char *uri;

	xasprintf(&uri, "%s/features/%s", base, gws_me_features[i].id);
	jw_obj_begin(w);
	jw_kstr(w, "id", gws_me_features[i].id);
	jw_kstr(w, "displayName", gws_me_features[i].name);
	jw_kstr(w, "description", gws_me_features[i].description);
	jw_kstr(w, "uri", uri);
	jw_kstr(w, "path", uri + strlen(base));
	jw_obj_end(w);
	free(uri);
}

/* The user object, with the subresources asked for. */
static void
gws_me_user(struct jw *w, const struct agent *a, const char *base, const char *subs)
{
	char *uri;

	xasprintf(&uri, "%s/users/%s", base, a->user_id);
	jw_obj_begin(w);
	jw_kstr(w, "id", a->user_id);
	jw_kstr(w, "userName", a->name);
	jw_kstr(w, "firstName", a->first_name ? a->first_name : a->name);
	jw_kstr(w, "lastName", a->last_name ? a->last_name : "");
	jw_key(w, "roles");
	jw_arr_begin(w);
	jw_str(w, "ROLE_AGENT");
	jw_arr_end(w);
	jw_kbool(w, "enabled", 1);
	jw_kbool(w, "changePasswordOnFirstLogin", 0);
	jw_kstr(w, "uri", uri);
	jw_kstr(w, "path", uri + strlen(base));
	if (gws_me_wants_sub(subs, "devices")) {
		jw_key(w, "devices");
		jw_arr_begin(w);
		gws_me_device(w, a, base);
		jw_arr_end(w);
	}
	if (gws_me_wants_sub(subs, "features")) {
		jw_key(w, "features");
		jw_arr_begin(w);
		for (size_t i = 0; i < nitems(gws_me_features); i++)
			gws_me_feature(w, i, base);
		jw_arr_end(w);
	}
	if (gws_me_wants_sub(subs, "channels")) {
		jw_key(w, "channels");
		jw_arr_begin(w);
		jw_obj_begin(w);
		jw_kstr(w, "channel", "im");
		jw_key(w, "userState");
		gws_me_user_state(w, a);
		jw_obj_end(w);
		jw_arr_end(w);
	}
	if (gws_me_wants_sub(subs, "settings")) {
		jw_key(w, "settings");
		jw_obj_begin(w);
		jw_obj_end(w);
	}
	jw_obj_end(w);
	free(uri);
}

/* Start a {"statusCode":0, ...} body; the caller closes it. */
static void
gws_me_begin(struct jw *w, struct buf *b, struct buf *base, const struct http_req *req)
{
	buf_init(base);
	gws_reply_base_uri(req, base);
	gws_reply_ok_begin(w, b);
}

/* GET /api/v2/me[?subresources=...]. */
void
gws_me_get(struct http_req *req, struct agent *a)
{
	struct buf b, base, subs;
	struct jw w;

	buf_init(&subs);
	gws_me_begin(&w, &b, &base, req);
	http_req_query_param(req, "subresources", &subs);
	jw_key(&w, "user");
	gws_me_user(&w, a, base.data, subs.len ? subs.data : NULL);
	jw_obj_end(&w);
	buf_free(&subs);
	buf_free(&base);
	gws_reply_json(req, 200, &b);
}

/* GET /api/v2/me/devices[?fields=*]. */
void
gws_me_devices(struct http_req *req, struct agent *a)
{
	struct buf b, base;
	struct jw w;

	gws_me_begin(&w, &b, &base, req);
	if (gws_reply_want_fields(req)) {
		jw_key(&w, "devices");
		jw_arr_begin(&w);
		gws_me_device(&w, a, base.data);
	} else {
		jw_key(&w, "uris");
		jw_arr_begin(&w);
		buf_printf(&base, "/devices/%s", a->device_id);
		jw_str(&w, base.data);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	buf_free(&base);
	gws_reply_json(req, 200, &b);
}

/* GET /api/v2/features[?fields=*]. */
void
gws_me_features_get(struct http_req *req, struct agent *a)
{
	int fields = gws_reply_want_fields(req);
	struct buf b, base;
	struct jw w;

	gws_me_begin(&w, &b, &base, req);
	jw_key(&w, fields ? "features" : "uris");
	jw_arr_begin(&w);
	for (size_t i = 0; i < nitems(gws_me_features); i++) {
		if (fields)
			gws_me_feature(&w, i, base.data);
		else {
			char *uri;

			xasprintf(&uri, "%s/features/%s", base.data, gws_me_features[i].id);
			jw_str(&w, uri);
			free(uri);
		}
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	buf_free(&base);
	gws_reply_json(req, 200, &b);
}

/* Check the optional "channels" parameter: an array of strings. */
static int
gws_me_check_channels(const struct json *body)
{
	const struct json *ch = json_get(body, "channels");

	if (ch == NULL)
		return 0;
	if (ch->type != JSON_ARRAY)
		return -1;
	for (size_t i = 0; i < ch->u.arr.n; i++) {
		if (ch->u.arr.v[i]->type != JSON_STRING)
			return -1;
	}
	return 0;
}

/* The operationName of a POST body, or NULL after answering the error. */
const char *
gws_operation_name(struct http_req *req, const struct json *body)
{
	const struct json *v = json_get(body, "operationName");

	if (v == NULL || v->type == JSON_NULL)
		gws_reply_error(req, 400, GWS_MISSING_PARAM, "Missing parameter: operationName");
	else if (v->type != JSON_STRING)
		gws_reply_error(req, 400, GWS_INVALID_STATE, "operationName must be a string");
	else
		return v->u.str.s;
	return NULL;
}

/* Apply one agent operation; answers errors itself. */
static enum gws_me_op
gws_me_apply(struct http_req *req, struct agent *a, const struct json *body, const char *name)
{
	if (strcmp(name, "StartContactCenterSession") == 0) {
		if (gws_me_check_channels(body) != 0) {
			gws_reply_error(
			    req, 400, GWS_INVALID_STATE, "channels must be an array of strings");
			return GWS_ME_NONE;
		}
		a->cc_session = 1;
		return GWS_ME_START;
	}
	if (strcmp(name, "EndContactCenterSession") == 0) {
		a->cc_session = 0;
		return GWS_ME_END;
	}
	if (strcmp(name, "Ready") == 0 || strcmp(name, "NotReady") == 0) {
		a->ready = name[0] == 'R';
		util_random_id(a->state_id, 36, UTIL_HEX);
		return a->ready ? GWS_ME_READY : GWS_ME_NOT_READY;
	}
	gws_reply_error(req, 400, GWS_INVALID_STATE, "Unknown operationName");
	return GWS_ME_NONE;
}

/* POST /api/v2/me: apply an operation; the caller answers it unless NONE. */
enum gws_me_op
gws_me_post(struct http_req *req, struct agent *a)
{
	struct json_doc *d = gws_reply_read_body(req);
	enum gws_me_op op = GWS_ME_NONE;
	const char *name;

	if (d == NULL)
		return GWS_ME_NONE;
	if ((name = gws_operation_name(req, json_root(d))) != NULL &&
	    (op = gws_me_apply(req, a, json_root(d), name)) != GWS_ME_NONE)
		log_info("agent %s: %s", a->name, name);
	json_doc_free(d);
	return op;
}
