/*
 * gws.c: routes requests under /api/v2 (and /healthz) to their resources
 * and speaks the GWS envelope: every body is JSON with a top-level
 * statusCode, errors carry statusCode and statusMessage only.
 */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cometd.h"
#include "gws.h"
#include "gws_im.h"
#include "gws_me.h"
#include "gws_reply.h"
#include "json.h"
#include "log.h"
#include "proxy.h"
#include "record.h"
#include "version.h"

struct gws {
	struct event_base *base;
	const struct config *cfg;
	struct auth *auth;     /* desktops' authentication (not owned) */
	struct cometd *cometd; /* notifications endpoint (not owned) */
	struct agents *agents; /* signed-in agents (not owned) */
	struct gws_im *im;     /* the IM Session API (not owned) */

	/* Cluster mode's part of /healthz (gws_set_health), or NULL. */
	int (*health)(void *, struct jw *);
	void *health_arg;
};

/* A resource that needs an authenticated agent; '*' in path is one segment. */
struct gws_aroute {
	const char *method;
	const char *path;
	void (*fn)(struct gws *, struct http_req *, struct agent *, const char *param);
};

struct gws_route {
	const char *method;
	const char *path;
	void (*fn)(struct gws *, struct http_req *);
};

/* Create the GWS face. */
struct gws *
gws_create(struct event_base *base, const struct config *cfg)
{
	struct gws *g = xcalloc(1, sizeof *g);

	g->base = base;
	g->cfg = cfg;
	gws_reply_set_public_url(cfg->gws_public_url);
	return g;
}

/* Use a reloaded configuration. */
void
gws_set_config(struct gws *g, const struct config *cfg)
{
	g->cfg = cfg;
	gws_reply_set_public_url(cfg->gws_public_url);
}

/* Hand over the desktop authentication and the notifications endpoint. */
void
gws_set_desktop(struct gws *g, struct auth *auth, struct cometd *cometd)
{
	g->auth = auth;
	g->cometd = cometd;
}

/* Hand over the agents and the IM Session API. */
void
gws_set_im(struct gws *g, struct agents *agents, struct gws_im *im)
{
	g->agents = agents;
	g->im = im;
}

/* Free the GWS face. */
void
gws_free(struct gws *g)
{
	free(g);
}

/* Error bodies for what the HTTP layer refuses (malformed or too large). */
const char *
gws_error_format(int status, const char *reason, struct buf *out)
{
	enum gws_status code = GWS_INVALID_STATE;

	if (status == 413 || status == 414 || status == 431)
		code = GWS_OUT_OF_RANGE;
	else if (status == 408 || status >= 500)
		code = GWS_INTERNAL;
	gws_reply_error_body(out, code, reason);
	return "application/json";
}

/* GET /healthz: the process is up and serving (and, in cluster mode, how Redis is). */
static void
gws_healthz(struct gws *g, struct http_req *req)
{
	struct buf b, part;
	struct jw w, pw;
	int ok;

	if (g->health == NULL) {
		http_req_reply(req, 200, "application/json", "{\"status\":\"ok\"}", 15);
		return;
	}
	buf_init(&part);
	jw_init(&pw, &part);
	ok = g->health(g->health_arg, &pw);
	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "status", ok ? "ok" : "degraded");
	jw_key(&w, "cluster");
	jw_raw(&w, part.data);
	jw_obj_end(&w);
	buf_free(&part);
	gws_reply_json(req, 200, &b);
}

/* Add a part to /healthz: fn writes one JSON value and returns whether it is healthy. */
void
gws_set_health(struct gws *g, int (*fn)(void *, struct jw *), void *arg)
{
	g->health = fn;
	g->health_arg = arg;
}

/* GET /api/v2/diagnostics/version. */
static void
gws_version(struct gws *g, struct http_req *req)
{
	struct buf b;
	struct jw w;

	gws_reply_ok_begin(&w, &b);
	jw_kstr(&w, "version", UCGW_VERSION);
	jw_obj_end(&w);
	gws_reply_json(req, 200, &b);
}

static const struct gws_route gws_routes[] = {
	{ "GET", "/healthz", gws_healthz },
	{ "GET", "/api/v2/diagnostics/version", gws_version },
};

/* Publish the agent's device (its state changed). */
static void
gws_notify_device(struct gws *g, struct http_req *req, struct agent *a)
{
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "messageType", "DeviceStateChangeMessage");
	jw_key(&w, "devices");
	jw_arr_begin(&w);
	gws_me_device(&w, a, a->base_uri);
	jw_arr_end(&w);
	jw_obj_end(&w);
	cometd_publish(g->cometd, a->name, "/v2/me/devices", b.data);
	buf_free(&b);
}

static void
gws_r_me(struct gws *g, struct http_req *req, struct agent *a, const char *p)
{
	gws_me_get(req, a);
}

/* POST /api/v2/me: agent operations and their consequences. */
static void
gws_r_me_post(struct gws *g, struct http_req *req, struct agent *a, const char *p)
{
	switch (gws_me_post(req, a)) {
	case GWS_ME_NONE: return;
	case GWS_ME_END:
		auth_logout(g->auth, req);
		gws_reply_ok(req);
		agents_remove(g->agents, a, "EndContactCenterSession");
		return;
	default:
		gws_reply_ok(req);
		gws_notify_device(g, req, a);
		return;
	}
}

static void
gws_r_devices(struct gws *g, struct http_req *req, struct agent *a, const char *p)
{
	gws_me_devices(req, a);
}

static void
gws_r_features(struct gws *g, struct http_req *req, struct agent *a, const char *p)
{
	gws_me_features_get(req, a);
}

static void
gws_r_im_list(struct gws *g, struct http_req *req, struct agent *a, const char *p)
{
	gws_im_list(g->im, req, a);
}

static void
gws_r_im_get(struct gws *g, struct http_req *req, struct agent *a, const char *p)
{
	gws_im_get(g->im, req, a, p);
}

static void
gws_r_im_post(struct gws *g, struct http_req *req, struct agent *a, const char *p)
{
	gws_im_post(g->im, req, a, p);
}

static const struct gws_aroute gws_aroutes[] = {
	{ "GET", "/api/v2/me", gws_r_me },
	{ "POST", "/api/v2/me", gws_r_me_post },
	{ "GET", "/api/v2/me/devices", gws_r_devices },
	{ "GET", "/api/v2/features", gws_r_features },
	{ "GET", "/api/v2/me/im-sessions", gws_r_im_list },
	{ "POST", "/api/v2/me/im-sessions", gws_r_im_post },
	{ "GET", "/api/v2/me/im-sessions/*", gws_r_im_get },
	{ "POST", "/api/v2/me/im-sessions/*", gws_r_im_post },
	{ "GET", "/api/v2/im-sessions/*", gws_r_im_get },
};

/* Match path against pattern; *param gets the '*' segment. */
static int
gws_match(const char *pattern, const char *path, const char **param)
{
	const char *star = strchr(pattern, '*');
	size_t n;

	*param = NULL;
	if (star == NULL)
		return strcmp(pattern, path) == 0;
	n = (size_t)(star - pattern);
	if (strncmp(pattern, path, n) != 0 || path[n] == '\0' || strchr(path + n, '/') != NULL)
		return 0;
	*param = path + n;
	return 1;
}

/* Find the authenticated route for req: 1 found (*r set), 0 none, -1 wrong method. */
static int
gws_find_aroute(const struct http_req *req, const struct gws_aroute **r, const char **param)
{
	const char *method = http_req_method(req), *path = http_req_path(req);
	int known = 0;

	for (size_t i = 0; i < nitems(gws_aroutes); i++) {
		if (!gws_match(gws_aroutes[i].path, path, param))
			continue;
		known = 1;
		if (strcmp(gws_aroutes[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(gws_aroutes[i].method, "GET") == 0)) {
			*r = &gws_aroutes[i];
			return 1;
		}
	}
	return known ? -1 : 0;
}

/* Authenticated: bind the request to its agent and run the route. */
static void
gws_authed(struct http_req *req, const char *name, void *arg)
{
	struct gws *g = arg;
	const struct gws_aroute *r;
	const char *param;
	struct agent *a;
	struct buf base;

	if (gws_find_aroute(req, &r, &param) != 1) {
		gws_reply_error(req, 404, GWS_NOT_FOUND, "Resource not found");
		return;
	}
	a = agents_get(g->agents, name);
	buf_init(&base);
	gws_reply_base_uri(req, &base);
	if (a->base_uri == NULL || strcmp(a->base_uri, base.data) != 0) {
		free(a->base_uri);
		a->base_uri = buf_detach(&base, NULL);
	}
	buf_free(&base);
	r->fn(g, req, a, param);
}

/* The httpd handler: public routes, Bayeux, then authenticated resources. */
void
gws_handle(struct http_req *req, void *arg)
{
	const char *method = http_req_method(req), *path = http_req_path(req), *param;
	const struct gws_aroute *ar;
	struct gws *g = arg;
	int path_known = 0, found;

	proxy_apply(&g->cfg->proxy_trusted, req);
	http_req_set_route(req, "other", NULL);
	if (strncmp(path, "/api/v2/notifications", 21) == 0)
		http_req_set_route(req, "/api/v2/notifications", NULL);
	if (g->auth != NULL && auth_preflight(g->auth, req))
		return;
	if (g->cometd != NULL && cometd_route(g->cometd, req))
		return;
	for (size_t i = 0; i < nitems(gws_routes); i++) {
		if (strcmp(gws_routes[i].path, path) != 0)
			continue;
		path_known = 1;
		http_req_set_route(req, gws_routes[i].path, NULL);
		if (strcmp(gws_routes[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(gws_routes[i].method, "GET") == 0)) {
			gws_routes[i].fn(arg, req);
			return;
		}
	}
	found = g->agents != NULL && !path_known ? gws_find_aroute(req, &ar, &param) : 0;
	if (found == 1)
		http_req_set_route(req, ar->path, NULL);
	if (found == 1)
		auth_request(g->auth, req, 0, gws_authed, g);
	else if (path_known || found == -1) {
		http_req_add_header(req, "Allow", path_known ? "GET, HEAD" : "GET, HEAD, POST");
		gws_reply_error(req, 405, GWS_INVALID_STATE, "Method not allowed");
	} else
		gws_reply_error(req, 404, GWS_NOT_FOUND, "Resource not found");
}
