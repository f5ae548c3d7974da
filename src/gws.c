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
#include "json.h"
#include "log.h"
#include "version.h"

struct gws {
	struct event_base *base;
	const struct config *cfg;
	struct auth *auth;	/* desktops' authentication (not owned) */
	struct cometd *cometd;	/* notifications endpoint (not owned) */
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
	return g;
}

/* Use a reloaded configuration. */
void
gws_set_config(struct gws *g, const struct config *cfg)
{
	g->cfg = cfg;
}

/* Hand over the desktop authentication and the notifications endpoint. */
void
gws_set_desktop(struct gws *g, struct auth *auth, struct cometd *cometd)
{
	g->auth = auth;
	g->cometd = cometd;
}

/* Free the GWS face. */
void
gws_free(struct gws *g)
{
	free(g);
}

/* Answer with a JSON body. */
void
gws_reply_json(struct http_req *req, int http_status, struct buf *body)
{
	http_req_reply_buf(req, http_status, "application/json", body);
}

/* Write {"statusCode":N,"statusMessage":msg}. */
static void
gws_error_body(struct buf *out, enum gws_status code, const char *msg)
{
	struct jw w;

	jw_init(&w, out);
	jw_obj_begin(&w);
	jw_kint(&w, "statusCode", code);
	jw_kstr(&w, "statusMessage", msg);
	jw_obj_end(&w);
}

/* Answer with a GWS error body. */
void
gws_reply_error(struct http_req *req, int http_status, enum gws_status code, const char *msg)
{
	struct buf b;

	buf_init(&b);
	gws_error_body(&b, code, msg);
	gws_reply_json(req, http_status, &b);
}

/* Answer {"statusCode":0}. */
void
gws_reply_ok(struct http_req *req)
{
	http_req_reply(req, 200, "application/json", "{\"statusCode\":0}", 16);
}

/* The absolute base of our API as the desktop sees it. */
void
gws_base_uri(const struct http_req *req, struct buf *out)
{
	const char *host = http_req_header(req, "host");

	if (host == NULL || *host == '\0' || strpbrk(host, " /\"\\<>") != NULL)
		host = "localhost";
	buf_printf(out, "%s://%s/api/v2", http_req_is_tls(req) ? "https" : "http", host);
}

/* Parse the body as one JSON object, or answer 400. */
struct json_doc *
gws_read_body(struct http_req *req)
{
	struct json_limits lim = { .max_depth = 16 };
	struct json_error err;
	struct json_doc *d;
	const char *body;
	size_t len;
	char *msg;

	body = http_req_body(req, &len);
	if ((d = json_parse(body, len, &lim, &err)) != NULL && json_root(d)->type == JSON_OBJECT)
		return d;
	if (d != NULL) {
		json_doc_free(d);
		gws_reply_error(req, 400, GWS_INVALID_STATE, "Request body must be a JSON object");
		return NULL;
	}
	xasprintf(&msg, "Malformed JSON at line %u, column %u: %s", err.line, err.col, err.msg);
	gws_reply_error(req, 400, GWS_INVALID_STATE, msg);
	free(msg);
	return NULL;
}

/* A string parameter, NULL when absent; *bad set when of another type. */
const char *
gws_param_str(const struct json *body, const char *name, int *bad)
{
	const struct json *v = json_get(body, name);

	if (v == NULL || v->type == JSON_NULL)
		return NULL;
	if (v->type != JSON_STRING) {
		*bad = 1;
		return NULL;
	}
	return v->u.str.s;
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
	gws_error_body(out, code, reason);
	return "application/json";
}

/* GET /healthz: the process is up and serving. */
static void
gws_healthz(struct gws *g, struct http_req *req)
{
	http_req_reply(req, 200, "application/json", "{\"status\":\"ok\"}", 15);
}

/* GET /api/v2/diagnostics/version. */
static void
gws_version(struct gws *g, struct http_req *req)
{
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kint(&w, "statusCode", GWS_OK);
	jw_kstr(&w, "version", UCGW_VERSION);
	jw_obj_end(&w);
	gws_reply_json(req, 200, &b);
}

static const struct gws_route gws_routes[] = {
	{ "GET", "/healthz", gws_healthz },
	{ "GET", "/api/v2/diagnostics/version", gws_version },
};

/* The httpd handler: find the route or answer 404/405. */
void
gws_handle(struct http_req *req, void *arg)
{
	const char *method = http_req_method(req), *path = http_req_path(req);
	struct gws *g = arg;
	int path_known = 0;

	if (g->auth != NULL && auth_preflight(g->auth, req))
		return;
	if (g->cometd != NULL && cometd_route(g->cometd, req))
		return;

	for (size_t i = 0; i < nitems(gws_routes); i++) {
		if (strcmp(gws_routes[i].path, path) != 0)
			continue;
		path_known = 1;
		if (strcmp(gws_routes[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(gws_routes[i].method, "GET") == 0)) {
			gws_routes[i].fn(arg, req);
			return;
		}
	}
	if (path_known) {
		http_req_add_header(req, "Allow", "GET, HEAD");
		gws_reply_error(req, 405, GWS_INVALID_STATE, "Method not allowed");
	} else
		gws_reply_error(req, 404, GWS_NOT_FOUND, "Resource not found");
}
