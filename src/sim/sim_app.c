/*
 * sim_app.c: users (from the configuration) and their UCWA applications:
 * POST applications (201, or 200 for a matching endpointId, userAgent,
 * culture and instanceId: the existing application with its channel and
 * conversations as they are; input keys matched case-insensitively; a
 * per-user limit answers 410 TooManyApplications), GET and DELETE of the application, the me
 * resource, makeMeAvailable (204; a repeat is 409 AlreadyExists) and
 * reportMyActivity (409 MakeMeAvailableRequired before it). An application
 * nobody polls for applications.idle_expiry_ms is deleted; requests on a
 * deleted one get 404 ApplicationNotFound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "sim.h"

static struct sim_map *sim_apps; /* id -> struct sim_app */

/* Member key of o, compared case-insensitively. */
const struct json *
sim_json_iget(const struct json *o, const char *key)
{
	if (o == NULL || o->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < o->u.obj.n; i++) {
		if (strcasecmp(o->u.obj.m[i].key, key) == 0)
			return o->u.obj.m[i].val;
	}
	return NULL;
}

/* String member (case-insensitive key), or NULL. */
const char *
sim_json_istr(const struct json *o, const char *key)
{
	return json_str(sim_json_iget(o, key));
}

/* Add a user. */
static struct sim_user *
sim_user_add(const char *uri, const char *username, const char *password, const char *name,
    const char *phone)
{
	struct sim_user *u = xcalloc(1, sizeof *u);

	u->uri = xstrdup(uri);
	u->addr = u->uri + 4;
	u->username = xstrdup(username);
	u->password = xstrdup(password);
	u->name = xstrdup(name != NULL ? name : "");
	u->phone = phone != NULL ? xstrdup(phone) : NULL;
	TAILQ_INIT(&u->apps);
	TAILQ_INSERT_TAIL(&simg.users, u, entry);
	return u;
}

/* Build users from the configuration (and load.users generated ones). */
void
sim_app_init(void)
{
	const struct json *arr = json_root(simg.cfg->users);
	char uri[64], un[64], pw[32], name[32];

	TAILQ_INIT(&simg.users);
	sim_apps = sim_map_new();
	sim_auth_init();
	for (size_t i = 0; i < arr->u.arr.n; i++) {
		const struct json *o = arr->u.arr.v[i];
		struct sim_user *u = sim_user_add(json_get_str(o, "uri"),
		    json_get_str(o, "username"), json_get_str(o, "password"),
		    json_get_str(o, "name"), json_get_str(o, "phone"));

		if (json_get(o, "profile") != NULL) /* checked with the configuration */
			u->own_profile =
			    sim_profile_parse(json_get(o, "profile"), &u->profile, NULL, 0) == 0;
	}
	for (long long i = 1; i <= simg.cfg->load_users; i++) {
		snprintf(uri, sizeof uri, "sip:load%lld@contoso.com", i);
		snprintf(un, sizeof un, "load%lld@contoso.com", i);
		snprintf(pw, sizeof pw, "load%lld", i);
		snprintf(name, sizeof name, "Load User %lld", i);
		sim_user_add(uri, un, pw, name, NULL);
	}
}

/* Free every user and application. */
void
sim_app_free(void)
{
	struct sim_user *u;
	struct sim_app *a;

	while ((u = TAILQ_FIRST(&simg.users)) != NULL) {
		while ((a = TAILQ_FIRST(&u->apps)) != NULL)
			sim_app_destroy(a);
		TAILQ_REMOVE(&simg.users, u, entry);
		sim_fault_clear(u);
		free(u->uri);
		free(u->username);
		free(u->password);
		free(u->name);
		free(u->phone);
		free(u);
	}
	sim_map_free(sim_apps);
}

/* A user by "sip:a@b", "a@b" or user name. */
struct sim_user *
sim_user_find(const char *s)
{
	struct sim_user *u;

	TAILQ_FOREACH(u, &simg.users, entry)
	{
		if (strcasecmp(u->uri, s) == 0 || strcasecmp(u->addr, s) == 0 ||
		    strcasecmp(u->username, s) == 0)
			return u;
	}
	return NULL;
}

/* The idle expiry ran out: the server deletes the application. */
static void
sim_app_expire(evutil_socket_t fd, short what, void *arg)
{
	struct sim_app *a = arg;

	log_info("app %s: no event channel request for %lld ms: deleted", a->id,
	    simg.cfg->app_idle_expiry_ms);
	sim_app_destroy(a);
}

/* A P-GET was released (or the application made): restart the idle expiry. */
void
sim_app_touch(struct sim_app *a)
{
	long long ms = simg.cfg->app_idle_expiry_ms;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	a->released_ms = util_now_ms();
	evtimer_add(a->idle, &tv);
}

/* Create an application for u. */
static struct sim_app *
sim_app_new(struct sim_user *u, const char *ep, const char *ua, const char *cul, const char *inst)
{
	struct sim_app *a = xcalloc(1, sizeof *a);
	char guid[37];

	do {
		util_random_id(a->id, 12, "0123456789");
		a->id[0] = (char)('1' + a->id[0] % 9);
	} while (sim_map_get(sim_apps, a->id, 12) != NULL);
	snprintf(a->base, sizeof a->base, "%s/%s", SIM_PREFIX, a->id);
	a->user = u;
	a->endpoint_id = xstrdup(ep);
	a->user_agent = xstrdup(ua);
	a->culture = xstrdup(cul);
	a->instance_id = inst != NULL ? xstrdup(inst) : NULL;
	sim_guid(guid);
	memcpy(a->guard, guid, sizeof guid);
	TAILQ_INIT(&a->queue);
	TAILQ_INIT(&a->convs);
	a->idle = evtimer_new(simg.base, sim_app_expire, a);
	TAILQ_INSERT_TAIL(&u->apps, a, entry);
	u->napps++;
	sim_map_put(sim_apps, a->id, a);
	sim_app_touch(a);
	log_info("app %s: created for %s (%s)", a->id, u->uri, ua);
	return a;
}

/* Memory of a deleted application (from the reaper, never its own callback). */
static void
sim_app_release(void *arg)
{
	struct sim_app *a = arg;

	event_free(a->idle);
	free(a->endpoint_id);
	free(a->user_agent);
	free(a->culture);
	free(a->instance_id);
	free(a);
}

/* Delete an application with its conversations and event channel; its memory goes next turn. */
void
sim_app_destroy(struct sim_app *a)
{
	sim_conv_drop_all(a, 0);
	sim_events_clear(a);
	evtimer_del(a->idle);
	sim_map_del(sim_apps, a->id);
	TAILQ_REMOVE(&a->user->apps, a, entry);
	a->user->napps--;
	sim_bury(&a->grave, sim_app_release, a);
}

/* Write a link whose href is the application base plus suffix. */
static void
sim_app_link(struct jw *w, struct sim_app *a, const char *rel, const char *suffix)
{
	char href[512];

	snprintf(href, sizeof href, "%s%s", a->base, suffix);
	sim_jw_link(w, rel, href, NULL);
}

/* The me resource. */
static void
sim_app_write_me(struct jw *w, struct sim_app *a)
{
	char photo[256];

	jw_obj_begin(w);
	jw_kstr(w, "name", a->user->name);
	jw_kstr(w, "uri", a->user->uri);
	if (a->available) {
		jw_key(w, "emailAddresses");
		jw_arr_begin(w);
		jw_str(w, a->user->addr);
		jw_arr_end(w);
	}
	if (a->user->phone != NULL) {
		char tel[96];

		snprintf(tel, sizeof tel, "tel:%s", a->user->phone);
		jw_kstr(w, "workPhoneNumber", tel);
	}
	jw_key(w, "_links");
	jw_obj_begin(w);
	sim_app_link(w, a, "self", "/me");
	if (a->available) {
		sim_app_link(w, a, "note", "/me/note");
		sim_app_link(w, a, "presence", "/me/presence");
		sim_app_link(w, a, "location", "/me/location");
		sim_app_link(w, a, "reportMyActivity", "/me/reportMyActivity");
	} else
		sim_app_link(w, a, "makeMeAvailable", "/me/makeMeAvailable");
	sim_app_link(w, a, "callForwardingSettings", "/me/callForwardingSettings");
	sim_app_link(w, a, "phones", "/me/phones");
	snprintf(photo, sizeof photo, "/photos/%s", a->user->addr);
	sim_app_link(w, a, "photo", photo);
	jw_obj_end(w);
	jw_kstr(w, "rel", "me");
	jw_obj_end(w);
}

/* The communication resource. */
static void
sim_app_write_comm(struct jw *w, struct sim_app *a)
{
	jw_obj_begin(w);
	jw_kstr(w, a->guard, "please pass this in a PUT request");
	jw_key(w, "supportedModalities");
	jw_arr_begin(w);
	if (a->available)
		jw_str(w, "Messaging");
	jw_arr_end(w);
	jw_key(w, "supportedMessageFormats");
	jw_arr_begin(w);
	jw_str(w, "Plain");
	if (a->html)
		jw_str(w, "Html");
	jw_arr_end(w);
	jw_key(w, "_links");
	jw_obj_begin(w);
	sim_app_link(w, a, "self", "/communication");
	if (a->available)
		sim_app_link(w, a, "startPhoneAudio", "/communication/phoneAudioInvitations");
	sim_app_link(w, a, "conversations", "/communication/conversations?filter=active");
	sim_app_link(w, a, "startMessaging", "/communication/messagingInvitations");
	sim_app_link(w, a, "startOnlineMeeting",
	    "/communication/onlineMeetingInvitations?onlineMeetingUri=adhoc");
	sim_app_link(w, a, "joinOnlineMeeting", "/communication/onlineMeetingInvitations");
	jw_obj_end(w);
	jw_kstr(w, "rel", "communication");
	jw_kstr(w, "etag", a->available ? "1925102412" : "3140562359");
	jw_obj_end(w);
}

/* "rel": {"_links": {name: base/rel<suffix>, ...}, "rel": rel}: a resource of links only. */
static void
sim_app_write_links_only(
    struct jw *w, struct sim_app *a, const char *rel, const char *const (*l)[2], size_t n)
{
	char sfx[128];

	jw_key(w, rel);
	jw_obj_begin(w);
	jw_key(w, "_links");
	jw_obj_begin(w);
	for (size_t i = 0; i < n; i++) {
		snprintf(sfx, sizeof sfx, "/%s%s", rel, l[i][1]);
		sim_app_link(w, a, l[i][0], sfx);
	}
	jw_obj_end(w);
	jw_kstr(w, "rel", rel);
	jw_obj_end(w);
}

/* The people and onlineMeetings resources (links only). */
static void
sim_app_write_people(struct jw *w, struct sim_app *a)
{
	static const char *const pl[][2] = {
		{ "self", "" },
		{ "presenceSubscriptions", "/presenceSubscriptions" },
		{ "subscribedContacts", "/subscribedContacts" },
		{ "presenceSubscriptionMemberships", "/presenceSubscriptionMemberships" },
		{ "myGroups", "/groups" },
		{ "myGroupMemberships", "/groupMemberships" },
		{ "myContacts", "/contacts" },
		{ "myPrivacyRelationships", "/privacyRelationships" },
		{ "myContactsAndGroupsSubscription", "/contactsAndGroupsSubscription" },
		{ "search", "/search" },
	};
	static const char *const ol[][2] = {
		{ "self", "" },
		{ "myOnlineMeetings", "/myOnlineMeetings" },
		{ "onlineMeetingDefaultValues", "/defaultValues" },
		{ "onlineMeetingEligibleValues", "/eligibleValues" },
		{ "onlineMeetingInvitationCustomization", "/customInvitation" },
		{ "onlineMeetingPolicies", "/policies" },
		{ "phoneDialInInformation", "/phoneDialInInformation" },
		{ "myAssignedOnlineMeeting", "/myOnlineMeetings/1XAW22CG" },
	};

	sim_app_write_links_only(w, a, "people", pl, nitems(pl));
	sim_app_write_links_only(w, a, "onlineMeetings", ol, nitems(ol));
}

/* The application resource (samples 09, 11, 70). */
void
sim_app_write(struct jw *w, struct sim_app *a)
{
	jw_obj_begin(w);
	jw_kstr(w, "culture", a->culture);
	jw_kstr(w, "userAgent", a->user_agent);
	jw_kstr(w, "type", "Browser");
	jw_kstr(w, "endpointId", a->endpoint_id);
	jw_kstr(w, "id", a->id);
	if (a->instance_id != NULL)
		jw_kstr(w, "instanceId", a->instance_id);
	jw_key(w, "_links");
	jw_obj_begin(w);
	sim_app_link(w, a, "self", "");
	sim_app_link(w, a, "policies", "/policies");
	sim_app_link(w, a, "batch", "/batch");
	sim_app_link(w, a, "events", "/events?ack=1");
	jw_obj_end(w);
	jw_key(w, "_embedded");
	jw_obj_begin(w);
	jw_key(w, "me");
	sim_app_write_me(w, a);
	sim_app_write_people(w, a);
	jw_key(w, "communication");
	sim_app_write_comm(w, a);
	jw_obj_end(w);
	jw_kstr(w, "rel", "application");
	jw_obj_end(w);
}

/* Reply with the application resource. */
static void
sim_app_reply(struct sim_app *a, struct http_req *req, int status)
{
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	sim_app_write(&w, a);
	if (status == 201)
		sim_profile_location(a->user, req, a->base);
	sim_reply(a->user, req, status, "application/json; charset=utf-8", &b);
}

/* Parse a JSON request body; replies 400 and returns NULL when it is bad. */
struct json_doc *
sim_parse_body(struct http_req *req)
{
	struct json_limits lim = { 65536, 32, 0 };
	struct json_error err;
	struct json_doc *d;
	size_t len;
	const char *body = http_req_body(req, &len);

	if ((d = json_parse(body, len, &lim, &err)) == NULL || json_root(d)->type != JSON_OBJECT) {
		json_doc_free(d);
		sim_reply_error(req, 400, "BadRequest", "DeserializationFailure",
		    "The request body could not be deserialized.");
		return NULL;
	}
	return d;
}

/* Whether s is a present, non-empty string of at most 100 characters. */
static int
sim_app_field_ok(const char *s)
{
	return s != NULL && *s != '\0' && strlen(s) <= 100;
}

/* POST applications. */
static void
sim_app_create(struct sim_user *u, struct http_req *req)
{
	struct json_doc *d;
	const struct json *o;
	const char *ep, *ua, *cul, *inst;
	struct sim_app *a;

	if (sim_fault_request(u, req, "applications") || (d = sim_parse_body(req)) == NULL)
		return;
	o = json_root(d);
	ep = sim_json_istr(o, "endpointId");
	ua = sim_json_istr(o, "userAgent");
	cul = sim_json_istr(o, "culture");
	inst = sim_json_istr(o, "instanceId");
	if (!sim_app_field_ok(ep) || !sim_app_field_ok(ua) || !sim_app_field_ok(cul) ||
	    (inst != NULL && strlen(inst) > 100)) {
		sim_reply_error(req, 400, "BadRequest", "ParameterValidationFailure",
		    "userAgent, endpointId and culture are required (at most 100 characters).");
		json_doc_free(d);
		return;
	}
	TAILQ_FOREACH(a, &u->apps, entry)
	{
		if (strcmp(a->endpoint_id, ep) == 0 && strcmp(a->user_agent, ua) == 0 &&
		    strcasecmp(a->culture, cul) == 0 &&
		    (inst == NULL) == (a->instance_id == NULL) &&
		    (inst == NULL || strcmp(inst, a->instance_id) == 0))
			break;
	}
	if (a != NULL)
		sim_app_reply(a, req, 200);
	else if (u->napps >= (unsigned)simg.cfg->max_apps_per_user)
		sim_reply_error(
		    req, 410, "Gone", "TooManyApplications", "The user has too many applications.");
	else
		sim_app_reply(sim_app_new(u, ep, ua, cul, inst), req, 201);
	json_doc_free(d);
}

/* The events after makeMeAvailable (sample 30). */
static void
sim_app_available_events(struct sim_app *a)
{
	static const char *const rels[][2] = {
		{ "me", "/me" },
		{ "presence", "/me/presence" },
		{ "note", "/me/note" },
		{ "location", "/me/location" },
	};
	char me[96], comm[96];
	struct buf b;
	struct jw w;

	snprintf(me, sizeof me, "%s/me", a->base);
	snprintf(comm, sizeof comm, "%s/communication", a->base);
	for (size_t i = 0; i < nitems(rels); i++) {
		char href[128];

		snprintf(href, sizeof href, "%s%s", a->base, rels[i][1]);
		sim_ev_begin(&w, &b, rels[i][0], href, NULL);
		sim_ev_end(&w, i == 0 ? "updated" : "added");
		sim_events_push(a, "me", me, &b);
	}
	sim_ev_begin(&w, &b, "communication", comm, NULL);
	jw_key(&w, "_embedded");
	jw_obj_begin(&w);
	jw_key(&w, "communication");
	sim_app_write_comm(&w, a);
	jw_obj_end(&w);
	sim_ev_end(&w, "updated");
	sim_events_push(a, "communication", comm, &b);
}

/* POST makeMeAvailable. */
static void
sim_app_available(struct sim_app *a, struct http_req *req)
{
	struct json_doc *d = NULL;
	const struct json *mods, *fmts;
	size_t len;

	http_req_body(req, &len);
	if (len > 0 && (d = sim_parse_body(req)) == NULL)
		return;
	mods = d ? sim_json_iget(json_root(d), "supportedModalities") : NULL;
	fmts = d ? sim_json_iget(json_root(d), "supportedMessageFormats") : NULL;
	for (size_t i = 0; mods != NULL && mods->type == JSON_ARRAY && i < mods->u.arr.n; i++) {
		const char *m = json_str(mods->u.arr.v[i]);

		if (m == NULL || (strcasecmp(m, "Messaging") && strcasecmp(m, "PhoneAudio"))) {
			sim_reply_error(req, 403, "Forbidden", NULL,
			    "Only Messaging and PhoneAudio may be made available.");
			json_doc_free(d);
			return;
		}
	}
	if (a->available) {
		sim_reply_error(req, 409, "Conflict", "AlreadyExists",
		    "The requested resource already exists. Please wait and try again.");
		json_doc_free(d);
		return;
	}
	for (size_t i = 0; fmts != NULL && fmts->type == JSON_ARRAY && i < fmts->u.arr.n; i++) {
		if (json_str(fmts->u.arr.v[i]) &&
		    strcasecmp(json_str(fmts->u.arr.v[i]), "Html") == 0)
			a->html = 1;
	}
	a->available = 1;
	sim_app_available_events(a);
	json_doc_free(d);
	sim_reply(a->user, req, 204, NULL, NULL);
}

/* Requests under /applications/<id>/me. */
static void
sim_app_me(struct sim_app *a, struct http_req *req, const char *rest, const char *m)
{
	struct buf b;
	struct jw w;

	if (*rest == '\0' && strcmp(m, "GET") == 0) {
		buf_init(&b);
		jw_init(&w, &b);
		sim_app_write_me(&w, a);
		sim_reply(a->user, req, 200, "application/json; charset=utf-8", &b);
	} else if (strcmp(rest, "/makeMeAvailable") == 0 && strcmp(m, "POST") == 0)
		sim_app_available(a, req);
	else if (strcmp(rest, "/reportMyActivity") == 0 && strcmp(m, "POST") == 0) {
		if (!a->available)
			sim_reply_error(req, 409, "Conflict", "MakeMeAvailableRequired",
			    "makeMeAvailable is required before reporting activity.");
		else
			sim_reply(a->user, req, 204, NULL, NULL);
	} else
		sim_reply_error(req, 404, "NotFound", "ResourceNotFound",
		    "The requested resource could not be found.");
}

/* Requests on one application. */
static void
sim_app_dispatch(struct sim_app *a, struct http_req *req, const char *rest)
{
	const char *m = http_req_method(req);
	struct buf b;
	struct jw w;

	if (strcmp(rest, "/events") == 0 && strcmp(m, "GET") == 0)
		sim_events_get(a, req);
	else if (*rest == '\0' && strcmp(m, "GET") == 0)
		sim_app_reply(a, req, 200);
	else if (*rest == '\0' && strcmp(m, "DELETE") == 0) {
		log_info("app %s: deleted by the client", a->id);
		sim_app_destroy(a);
		sim_reply(NULL, req, 204, NULL, NULL);
	} else if (strncmp(rest, "/me", 3) == 0 && (rest[3] == '\0' || rest[3] == '/'))
		sim_app_me(a, req, rest + 3, m);
	else if (strcmp(rest, "/communication") == 0 && strcmp(m, "GET") == 0) {
		buf_init(&b);
		jw_init(&w, &b);
		sim_app_write_comm(&w, a);
		sim_reply(a->user, req, 200, "application/json; charset=utf-8", &b);
	} else if (strncmp(rest, "/communication/", 15) == 0)
		sim_conv_route(a, req, rest + 14);
	else
		sim_reply_error(req, 404, "NotFound", "ResourceNotFound",
		    "The requested resource could not be found.");
}

/* Requests under /ucwa/oauth/v1/applications for user u. */
void
sim_app_route(struct sim_user *u, struct http_req *req, const char *rest)
{
	const char *slash;
	struct sim_app *a;
	size_t idlen;

	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if (strcmp(http_req_method(req), "POST") == 0)
			sim_app_create(u, req);
		else
			sim_reply_error(req, 405, "MethodNotAllowed", NULL,
			    "The method is not allowed on this resource.");
		return;
	}
	rest++;
	slash = strchr(rest, '/');
	idlen = slash ? (size_t)(slash - rest) : strlen(rest);
	a = sim_map_get(sim_apps, rest, idlen);
	if (a == NULL || a->user != u) {
		sim_reply_error(
		    req, 404, "NotFound", "ApplicationNotFound", "The application does not exist.");
		return;
	}
	if (sim_fault_request(u, req,
		strcmp(rest + idlen, "/events") == 0		? "events"
		    : strcmp(http_req_method(req), "POST") == 0 ? "command"
								: "app"))
		return;
	sim_app_dispatch(a, req, rest + idlen);
}

/* Live applications of every user, for the control API. */
void
sim_app_write_state(struct jw *w)
{
	struct sim_user *u;
	struct sim_app *a;

	jw_arr_begin(w);
	TAILQ_FOREACH(u, &simg.users, entry)
	{
		TAILQ_FOREACH(a, &u->apps, entry)
		{
			jw_obj_begin(w);
			jw_kstr(w, "user", u->uri);
			jw_kstr(w, "id", a->id);
			jw_kstr(w, "href", a->base);
			jw_kstr(w, "endpointId", a->endpoint_id);
			jw_kstr(w, "userAgent", a->user_agent);
			jw_kbool(w, "available", a->available);
			jw_kbool(w, "html", a->html);
			sim_events_write_state(w, a);
			jw_key(w, "conversations");
			sim_conv_write_state(w, a);
			jw_obj_end(w);
		}
	}
	jw_arr_end(w);
}
