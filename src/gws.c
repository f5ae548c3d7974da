/*
 * gws.c: routes requests under /api/v2 (and /healthz) to their resources
 * and speaks the GWS envelope: every body is JSON with a top-level
 * statusCode, errors carry statusCode and statusMessage only.
 */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cometd.h"
#include "cometd_ws.h"
#include "gws.h"
#include "gws_im.h"
#include "gws_me.h"
#include "gws_reply.h"
#include "json.h"
#include "log.h"
#include "owner.h"
#include "proxy.h"
#include "record.h"
#include "version.h"

struct gws {
	struct event_base *base;
	const struct config *cfg;
	struct auth *auth;	 /* desktops' authentication (not owned) */
	struct cometd *cometd;	 /* notifications endpoint (not owned) */
	struct cometd_ws *ws;	 /* its WebSocket transport (freed by cometd_free) */
	struct agents *agents;	 /* signed-in agents (not owned) */
	struct gws_im *im;	 /* the IM Session API (not owned) */
	struct gws_bound *bound; /* one per route: what auth_request calls back with */
	struct owner *owner;	 /* cluster mode: who serves each agent (not owned), or NULL */

	/* Cluster mode's part of /healthz (gws_set_health), or NULL. */
	int (*health)(void *, struct jw *);
	void *health_arg;
};

/* Who may call a route. */
enum gws_auth {
	GWS_AUTH_NONE,	 /* anyone (or the handler authenticates by itself) */
	GWS_AUTH_AGENT,	 /* an authenticated agent, bound to its struct agent */
	GWS_AUTH_USER,	 /* an authenticated user, by name only */
	GWS_AUTH_BAYEUX, /* an authenticated user, CSRF never enforced */
};

/* Route flags. */
#define GWS_ROUTE_HEAD	   0x01 /* HEAD is served as GET */
#define GWS_ROUTE_ENDPOINT 0x02 /* path, path "/" and path "/<segment>" */
#define GWS_ROUTE_DEBUG	   0x04 /* only with debug.publish_endpoint */
#define GWS_ROUTE_COMETD   0x08 /* only with a notifications endpoint */
#define GWS_ROUTE_AGENTS   0x10 /* only once the agents are handed over */
#define GWS_ROUTE_LABEL	   0x20 /* metrics label = path once the path matches */
#define GWS_ROUTE_LABEL_OK 0x40 /* metrics label = path once path and method match */
#define GWS_ROUTE_OWNED	   0x80 /* cluster mode: served by the agent's owner (auth or not) */

/* What a handler is called with. */
struct gws_call {
	const char *user;    /* authenticated user (NULL on GWS_AUTH_NONE) */
	struct agent *agent; /* GWS_AUTH_AGENT only */
	const char *param;   /* the '*' segment of the path, or NULL */
};

/* One route: '*' in path is one non-empty segment. */
struct gws_route {
	const char *method;
	const char *path;
	enum gws_auth auth;
	int flags;
	const char *allow; /* Allow header of a 405 on this path */
	void (*fn)(struct gws *, struct http_req *, const struct gws_call *);
};

/* A route with its gws: the argument of auth_request. */
struct gws_bound {
	struct gws *g;
	const struct gws_route *r;
};

static void gws_bind(struct gws *);

/* Create the GWS face. */
struct gws *
gws_create(struct event_base *base, const struct config *cfg)
{
	struct gws *g = xcalloc(1, sizeof *g);

	g->base = base;
	g->cfg = cfg;
	gws_reply_set_public_url(cfg->gws_public_url);
	gws_bind(g);
	return g;
}

/* Use a reloaded configuration. */
void
gws_set_config(struct gws *g, const struct config *cfg)
{
	g->cfg = cfg;
	gws_reply_set_public_url(cfg->gws_public_url);
	if (g->ws != NULL)
		cometd_ws_set_config(g->ws, cfg);
}

/* Hand over the desktop authentication and the notifications endpoint (and make its WebSocket transport). */
void
gws_set_desktop(struct gws *g, struct auth *auth, struct cometd *cometd)
{
	g->auth = auth;
	g->cometd = cometd;
	if (cometd != NULL)
		g->ws = cometd_ws_create(g->base, cometd, g->cfg, auth);
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
	if (g == NULL)
		return;
	free(g->bound);
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
gws_healthz(struct gws *g, struct http_req *req, const struct gws_call *c)
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
gws_version(struct gws *g, struct http_req *req, const struct gws_call *c)
{
	struct buf b;
	struct jw w;

	gws_reply_ok_begin(&w, &b);
	jw_kstr(&w, "version", UCGW_VERSION);
	jw_obj_end(&w);
	gws_reply_json(req, 200, &b);
}

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
gws_r_me(struct gws *g, struct http_req *req, const struct gws_call *c)
{
	gws_me_get(req, c->agent);
}

/* POST /api/v2/me: agent operations and their consequences. */
static void
gws_r_me_post(struct gws *g, struct http_req *req, const struct gws_call *c)
{
	struct agent *a = c->agent;

	switch (gws_me_post(req, a)) {
	case GWS_ME_NONE: return;
	case GWS_ME_END:
		auth_logout(g->auth, req);
		gws_reply_ok(req);
		agents_remove(g->agents, a, "EndContactCenterSession");
		return;
	default:
		agents_presence_changed(g->agents, a);
		gws_reply_ok(req);
		gws_notify_device(g, req, a);
		return;
	}
}

static void
gws_r_devices(struct gws *g, struct http_req *req, const struct gws_call *c)
{
	gws_me_devices(req, c->agent);
}

static void
gws_r_features(struct gws *g, struct http_req *req, const struct gws_call *c)
{
	gws_me_features_get(req, c->agent);
}

static void
gws_r_im_list(struct gws *g, struct http_req *req, const struct gws_call *c)
{
	gws_im_list(g->im, req, c->agent);
}

static void
gws_r_im_get(struct gws *g, struct http_req *req, const struct gws_call *c)
{
	gws_im_get(g->im, req, c->agent, c->param);
}

static void
gws_r_im_post(struct gws *g, struct http_req *req, const struct gws_call *c)
{
	gws_im_post(g->im, req, c->agent, c->param);
}

/* POST /api/v2/diagnostics/publish (test only). */
static void
gws_r_diag_publish(struct gws *g, struct http_req *req, const struct gws_call *c)
{
	cometd_diag_publish(g->cometd, req, c->user);
}

/* GET /api/v2/diagnostics/session (test only). */
static void
gws_r_diag_session(struct gws *g, struct http_req *req, const struct gws_call *c)
{
	cometd_diag_session(req, c->user);
}

/* GET of the notifications endpoint: a WebSocket upgrade, or not allowed. */
static void
gws_r_notify_get(struct gws *g, struct http_req *req, const struct gws_call *c)
{
	if (cometd_ws_route(g->ws, req))
		return;
	http_req_add_header(req, "Allow", "POST");
	gws_reply_error(req, 405, GWS_INVALID_STATE, "Method not allowed");
}

/* POST of the notifications endpoint: a Bayeux batch. */
static void
gws_r_notify_post(struct gws *g, struct http_req *req, const struct gws_call *c)
{
	cometd_handle(g->cometd, req, c->user);
}

#define GWS_PUB	   GWS_AUTH_NONE, GWS_ROUTE_HEAD | GWS_ROUTE_LABEL, "GET, HEAD"
#define GWS_DIAG   GWS_AUTH_USER, GWS_ROUTE_DEBUG
#define GWS_NOTIFY GWS_ROUTE_COMETD | GWS_ROUTE_ENDPOINT, "POST"
#define GWS_AGENT                                                                                  \
	GWS_AUTH_AGENT, GWS_ROUTE_AGENTS | GWS_ROUTE_HEAD | GWS_ROUTE_LABEL_OK, "GET, HEAD, POST"

/*
 * Every route, matched once per request in this order (the first route
 * whose path and method match wins; a path that matches with no method
 * answers 405 with the first such route's Allow).
 */
static const struct gws_route gws_routes[] = {
	{ "GET", "/healthz", GWS_PUB, gws_healthz },
	{ "GET", "/api/v2/diagnostics/version", GWS_PUB, gws_version },
	{ "POST", "/api/v2/diagnostics/publish", GWS_DIAG, "POST", gws_r_diag_publish },
	{ "GET", "/api/v2/diagnostics/session", GWS_DIAG, "GET", gws_r_diag_session },
	{ "GET", "/api/v2/notifications", GWS_AUTH_NONE,
	    GWS_ROUTE_COMETD | GWS_ROUTE_ENDPOINT | GWS_ROUTE_OWNED, "POST", gws_r_notify_get },
	{ "POST", "/api/v2/notifications", GWS_AUTH_BAYEUX, GWS_NOTIFY, gws_r_notify_post },
	{ "GET", "/api/v2/me", GWS_AGENT, gws_r_me },
	{ "POST", "/api/v2/me", GWS_AGENT, gws_r_me_post },
	{ "GET", "/api/v2/me/devices", GWS_AGENT, gws_r_devices },
	{ "GET", "/api/v2/features", GWS_AGENT, gws_r_features },
	{ "GET", "/api/v2/me/im-sessions", GWS_AGENT, gws_r_im_list },
	{ "POST", "/api/v2/me/im-sessions", GWS_AGENT, gws_r_im_post },
	{ "GET", "/api/v2/me/im-sessions/*", GWS_AGENT, gws_r_im_get },
	{ "POST", "/api/v2/me/im-sessions/*", GWS_AGENT, gws_r_im_post },
	{ "GET", "/api/v2/im-sessions/*", GWS_AGENT, gws_r_im_get },
};
static const size_t gws_nroutes = nitems(gws_routes);

/* Make the routes' callback arguments of g. */
static void
gws_bind(struct gws *g)
{
	g->bound = xcalloc(gws_nroutes, sizeof *g->bound);
	for (size_t i = 0; i < gws_nroutes; i++) {
		g->bound[i].g = g;
		g->bound[i].r = &gws_routes[i];
	}
}

/* Match path against pattern; *param gets the '*' segment. */
static int
gws_match(const char *pattern, const char *path, int flags, const char **param)
{
	const char *star = strchr(pattern, '*');
	size_t n;

	*param = NULL;
	if (flags & GWS_ROUTE_ENDPOINT) {
		n = strlen(pattern);
		return strncmp(path, pattern, n) == 0 &&
		    (path[n] == '\0' || (path[n] == '/' && strchr(path + n + 1, '/') == NULL));
	}
	if (star == NULL)
		return strcmp(pattern, path) == 0;
	n = (size_t)(star - pattern);
	if (strncmp(pattern, path, n) != 0 || path[n] == '\0' || strchr(path + n, '/') != NULL)
		return 0;
	*param = path + n;
	return 1;
}

/* Whether route r is on in g's current setup. */
static int
gws_route_on(const struct gws *g, const struct gws_route *r)
{
	if ((r->flags & GWS_ROUTE_DEBUG) && (g->cometd == NULL || !g->cfg->debug_publish_endpoint))
		return 0;
	if ((r->flags & GWS_ROUTE_COMETD) && g->cometd == NULL)
		return 0;
	return !(r->flags & GWS_ROUTE_AGENTS) || g->agents != NULL;
}

/* Authenticated: bind the request to its agent if the route wants one, and run it. */
static void
gws_authed(struct http_req *req, const char *name, void *arg)
{
	const struct gws_bound *bd = arg;
	const struct gws_route *r = bd->r;
	const char *star = strchr(r->path, '*');
	struct gws_call c = { name, NULL, NULL };
	struct gws *g = bd->g;
	struct buf base;

	if (star != NULL)
		c.param = http_req_path(req) + (star - r->path);
	if (g->owner != NULL && !owner_serves(g->owner, name)) {
		/* handed over while authentication waited: nothing done, another node serves it */
		http_req_add_header(req, "Retry-After", "0");
		gws_reply_error(req, 503, GWS_INTERNAL, "The agent moved to another node; retry");
		return;
	}
	if (r->auth == GWS_AUTH_AGENT) {
		c.agent = agents_get(g->agents, name);
		buf_init(&base);
		gws_reply_base_uri(req, &base);
		if (c.agent->base_uri == NULL || strcmp(c.agent->base_uri, base.data) != 0) {
			free(c.agent->base_uri);
			c.agent->base_uri = buf_detach(&base, NULL);
		}
		buf_free(&base);
	}
	r->fn(g, req, &c);
}

/* Serve route bd here (cluster mode: this node owns the agent): authenticate and run it. */
static void
gws_owned(struct http_req *req, void *arg)
{
	const struct gws_bound *bd = arg;
	const struct gws_route *r = bd->r;
	struct gws_call c = { NULL, NULL, NULL };

	if (r->auth == GWS_AUTH_NONE)
		r->fn(bd->g, req, &c);
	else
		auth_request(bd->g->auth, req, r->auth == GWS_AUTH_BAYEUX ? AUTH_NO_CSRF : 0,
		    gws_authed, arg);
}

/* Cluster mode: who serves each agent (NULL: single node). */
void
gws_set_owner(struct gws *g, struct owner *o)
{
	g->owner = o;
}

/* Run route i of the table for req (authenticating first if it says so). */
static void
gws_run(struct gws *g, struct http_req *req, size_t i, const char *param)
{
	const struct gws_route *r = &gws_routes[i];
	struct gws_call c = { NULL, NULL, param };

	if (r->flags & GWS_ROUTE_LABEL_OK)
		http_req_set_route(req, r->path, NULL);
	if (g->owner != NULL && (r->auth != GWS_AUTH_NONE || (r->flags & GWS_ROUTE_OWNED)))
		owner_route(g->owner, req, gws_owned, &g->bound[i]);
	else if (r->auth == GWS_AUTH_NONE)
		r->fn(g, req, &c);
	else
		auth_request(g->auth, req, r->auth == GWS_AUTH_BAYEUX ? AUTH_NO_CSRF : 0,
		    gws_authed, &g->bound[i]);
}

/* The httpd handler: CORS preflight, then the one route table. */
void
gws_handle(struct http_req *req, void *arg)
{
	const char *method = http_req_method(req), *path = http_req_path(req), *param;
	int head = strcmp(method, "HEAD") == 0;
	const struct gws_route *known = NULL, *r;
	struct gws *g = arg;

	proxy_apply(&g->cfg->proxy_trusted, req);
	http_req_set_route(req, "other", NULL);
	if (strncmp(path, "/api/v2/notifications", 21) == 0)
		http_req_set_route(req, "/api/v2/notifications", NULL);
	if (g->auth != NULL && auth_preflight(g->auth, req))
		return;
	for (size_t i = 0; i < gws_nroutes; i++) {
		r = &gws_routes[i];
		if (!gws_match(r->path, path, r->flags, &param) || !gws_route_on(g, r))
			continue;
		if (known == NULL)
			known = r;
		if (r->flags & GWS_ROUTE_LABEL)
			http_req_set_route(req, r->path, NULL);
		if (strcmp(r->method, method) == 0 ||
		    (head && (r->flags & GWS_ROUTE_HEAD) && strcmp(r->method, "GET") == 0)) {
			gws_run(g, req, i, param);
			return;
		}
	}
	if (known != NULL) {
		http_req_add_header(req, "Allow", known->allow);
		gws_reply_error(req, 405, GWS_INVALID_STATE, "Method not allowed");
	} else
		gws_reply_error(req, 404, GWS_NOT_FOUND, "Resource not found");
}
