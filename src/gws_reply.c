/*
 * gws_reply.c: the GWS envelope (see gws_reply.h): every body is JSON with
 * a top-level statusCode, errors carry statusCode and statusMessage only.
 */
#include <stdlib.h>
#include <string.h>

#include "gws_reply.h"
#include "record.h"

/* gws.public_url of the running configuration (for gws_reply_base_uri), or NULL. */
static const char *gws_reply_public_url;

/* Use gws.public_url of a (reloaded) configuration. */
void
gws_reply_set_public_url(const char *url)
{
	gws_reply_public_url = url;
}

/* Answer with a JSON body. */
void
gws_reply_json(struct http_req *req, int http_status, struct buf *body)
{
	http_req_reply_buf(req, http_status, "application/json", body);
}

/* Write {"statusCode":N,"statusMessage":msg}. */
void
gws_reply_error_body(struct buf *out, enum gws_status code, const char *msg)
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

	record_reply(req, (int)code, msg);
	buf_init(&b);
	gws_reply_error_body(&b, code, msg);
	gws_reply_json(req, http_status, &b);
}

/* Answer {"statusCode":0}. */
void
gws_reply_ok(struct http_req *req)
{
	record_reply(req, 0, NULL);
	http_req_reply(req, 200, "application/json", "{\"statusCode\":0}", 16);
}

/*
 * The absolute base of our API as the desktop sees it: gws.public_url, or
 * else the address of the listener the request came in on; never a header
 * of the request (a Host value would be reflected into session URIs).
 */
void
gws_reply_base_uri(const struct http_req *req, struct buf *out)
{
	size_t n;

	if (gws_reply_public_url != NULL) {
		n = strlen(gws_reply_public_url);
		while (n > 0 && gws_reply_public_url[n - 1] == '/')
			n--;
		buf_add(out, gws_reply_public_url, n);
		buf_addstr(out, "/api/v2");
		return;
	}
	buf_addstr(out, http_req_client_tls(req) ? "https://" : "http://");
	buf_addstr(out, http_req_local(req));
	buf_addstr(out, "/api/v2");
}

/* Parse the body as one JSON object, or answer 400. */
struct json_doc *
gws_reply_read_body(struct http_req *req)
{
	struct json_limits lim = { .max_depth = 16, .no_positions = 1 };
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

/* Whether the query asks for whole objects (?fields=...), not uris. */
int
gws_reply_want_fields(const struct http_req *req)
{
	struct buf v;
	int all;

	buf_init(&v);
	all = http_req_query_param(req, "fields", &v) == 0 && v.len > 0;
	buf_free(&v);
	return all;
}

/* A string parameter, NULL when absent; *bad set when of another type. */
const char *
gws_reply_param_str(const struct json *body, const char *name, int *bad)
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

/* Start a {"statusCode":0, ...} answer in b; the caller closes the object. */
void
gws_reply_ok_begin(struct jw *w, struct buf *b)
{
	buf_init(b);
	jw_init(w, b);
	jw_obj_begin(w);
	jw_kint(w, "statusCode", GWS_OK);
}
