/*
 * cometd_diag.c: TEST-ONLY diagnostics of the notifications endpoint, on
 * only with debug.publish_endpoint. POST /api/v2/diagnostics/publish
 * publishes notifications to the calling agent's own clients (so tests
 * can make notifications before the GWS IM layer exists); GET
 * /api/v2/diagnostics/session says who the caller is (cookies, CSRF).
 * Input is checked completely before anything is published.
 */
#include <string.h>

#include "cometd.h"
#include "gws_reply.h"
#include "json.h"

/* Check one {"channel","data"} of the publish endpoint. */
static const char *
cometd_diag_check(const struct json *m)
{
	const struct json *data = json_get(m, "data");

	if (m->type != JSON_OBJECT || json_get_str(m, "channel") == NULL || data == NULL)
		return "each message needs \"channel\" and \"data\"";
	if (!cometd_channel_valid(json_get_str(m, "channel"), 0) ||
	    strncmp(json_get_str(m, "channel"), "/meta/", 6) == 0)
		return "invalid channel";
	if (data->type != JSON_OBJECT)
		return "data must be an object";
	return NULL;
}

/* The messages of a publish body, all checked; NULL if good, else why not. */
static const char *
cometd_diag_list(
    const struct json *root, const struct json **one, const struct json *const **v, size_t *n)
{
	const struct json *list = root;
	const char *why = NULL;

	if (json_is(root, JSON_OBJECT) && json_get(root, "messages") != NULL)
		list = json_get(root, "messages");
	if (json_is(list, JSON_OBJECT)) {
		*one = list;
		*v = one;
		*n = 1;
	} else if (json_is(list, JSON_ARRAY) && list->u.arr.n > 0) {
		*v = (const struct json *const *)list->u.arr.v;
		*n = list->u.arr.n;
	} else
		return "expected {\"channel\",\"data\"}, an array of them, or {\"messages\":[...]}";
	for (size_t i = 0; why == NULL && i < *n; i++)
		why = cometd_diag_check((*v)[i]);
	return why;
}

/* Answer {"statusCode":0,"queued":N}. */
static void
cometd_diag_reply(struct http_req *req, long long queued)
{
	struct buf out;
	struct jw w;

	gws_reply_ok_begin(&w, &out);
	jw_kint(&w, "queued", queued);
	jw_obj_end(&w);
	gws_reply_json(req, 200, &out);
}

/* POST /api/v2/diagnostics/publish (test only): publish to the caller's clients. */
void
cometd_diag_publish(struct cometd *cd, struct http_req *req, const char *agent)
{
	const struct json *const *v = NULL, *one;
	const char *body, *why;
	struct json_error err;
	struct json_doc *doc;
	size_t len, n = 0;
	long long queued = 0;
	struct buf data;
	struct jw w;

	body = http_req_body(req, &len);
	if ((doc = json_parse(body, len, NULL, &err)) == NULL) {
		gws_reply_error(req, 400, GWS_INVALID_STATE, err.msg);
		return;
	}
	if ((why = cometd_diag_list(json_root(doc), &one, &v, &n)) != NULL) {
		json_doc_free(doc);
		gws_reply_error(req, 400, GWS_MISSING_PARAM, why);
		return;
	}
	buf_init(&data);
	for (size_t i = 0; i < n; i++) {
		buf_reset(&data);
		jw_init(&w, &data);
		jw_value(&w, json_get(v[i], "data"));
		queued += cometd_publish(cd, agent, json_get_str(v[i], "channel"), data.data);
	}
	buf_free(&data);
	json_doc_free(doc);
	cometd_diag_reply(req, queued);
}

/* GET /api/v2/diagnostics/session (test only): who the caller is. */
void
cometd_diag_session(struct http_req *req, const char *agent)
{
	struct buf out;
	struct jw w;

	gws_reply_ok_begin(&w, &out);
	jw_kstr(&w, "user", agent);
	jw_obj_end(&w);
	gws_reply_json(req, 200, &out);
}
