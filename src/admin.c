/*
 * admin.c: the admin listeners (admin.listen) and what they serve:
 * /metrics, /healthz and /readyz, never the GWS API. Readiness needs the
 * gateway's listeners up, no drain in progress, and an answer (any HTTP
 * status below 500) from the UCWA server to the last readiness check: a
 * GET of the discovery (or applications) URL every admin.ready_check_ms,
 * on a client context of its own so it never takes an agent's connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "config.h"
#include "daemon.h"
#include "hclient.h"
#include "httpd.h"
#include "json.h"
#include "log.h"
#include "metrics.h"

struct admin {
	struct event_base *base;
	const struct config *cfg;
	struct httpd *httpd;
	admin_collect_cb collect;
	void *collect_arg;
	int listening;
	int draining;
	/* the readiness check of the UCWA server */
	char *check_url; /* owned; NULL: no upstream configured */
	struct hclient *hc;
	struct hclient_owner *owner;
	struct hclient_req *check;
	struct event *timer;
	int upstream_ok;
	char why[160]; /* the last check's failure */
};

static void admin_check_start(struct admin *);

/* The answer of one readiness check. */
static void
admin_check_done(const struct hclient_resp *r, void *arg)
{
	struct admin *ad = arg;
	int ok = r->err == HCLIENT_OK && r->status < 500;
	struct timeval tv;

	ad->check = NULL;
	if (ok != ad->upstream_ok)
		log_info("readiness: UCWA server %s", ok ? "answers" : "does not answer");
	ad->upstream_ok = ok;
	if (r->err != HCLIENT_OK)
		snprintf(ad->why, sizeof ad->why, "UCWA server unreachable: %s",
		    hclient_err_name(r->err));
	else if (!ok)
		snprintf(ad->why, sizeof ad->why, "UCWA server answered %d", r->status);
	tv.tv_sec = (time_t)(ad->cfg->admin_check_ms / 1000);
	tv.tv_usec = (suseconds_t)(ad->cfg->admin_check_ms % 1000) * 1000;
	evtimer_add(ad->timer, &tv);
}

/* Timer: check the UCWA server again. */
static void
admin_check_timer(evutil_socket_t fd, short what, void *arg)
{
	admin_check_start(arg);
}

/* Send one readiness check. */
static void
admin_check_start(struct admin *ad)
{
	static const char *const hdrs[] = { "Accept", "application/json", NULL };
	unsigned timeout = (unsigned)ad->cfg->up_request_timeout_ms;

	if ((long long)timeout > ad->cfg->admin_check_ms)
		timeout = (unsigned)ad->cfg->admin_check_ms;
	ad->check = hclient_request(
	    ad->owner, "GET", ad->check_url, hdrs, NULL, 0, timeout, 0, admin_check_done, ad);
	if (ad->check == NULL) {
		struct hclient_resp r = { .err = HCLIENT_ERR_CONNECT };

		admin_check_done(&r, ad);
	}
}

/* A small JSON answer. */
static void
admin_reply_json(struct http_req *req, int status, const char *state, const char *reason)
{
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "status", state);
	if (reason != NULL)
		jw_kstr(&w, "reason", reason);
	jw_obj_end(&w);
	http_req_add_header(req, "Cache-Control", "no-store");
	http_req_reply_buf(req, status, "application/json", &b);
}

/* Whether /readyz answers 200, else why not. */
int
admin_ready(const struct admin *ad, const char **why)
{
	if (ad->draining)
		*why = "draining";
	else if (!ad->listening)
		*why = "listeners not up";
	else if (ad->check_url != NULL && !ad->upstream_ok)
		*why = ad->why[0] ? ad->why : "UCWA server not checked yet";
	else
		return 1;
	return 0;
}

/* GET /metrics. */
static void
admin_metrics(struct admin *ad, struct http_req *req)
{
	const char *why;
	struct buf b;

	if (ad->collect != NULL)
		ad->collect(ad->collect_arg);
	metrics_set(M_READY, NULL, admin_ready(ad, &why));
	buf_init(&b);
	metrics_render(&b);
	http_req_add_header(req, "Cache-Control", "no-store");
	http_req_reply_buf(req, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
}

/* The admin handler: three GET resources. */
static void
admin_handle(struct http_req *req, void *arg)
{
	struct admin *ad = arg;
	const char *path = http_req_path(req), *method = http_req_method(req), *why;
	int known = strcmp(path, "/metrics") == 0 || strcmp(path, "/healthz") == 0 ||
	    strcmp(path, "/readyz") == 0;

	if (!known) {
		admin_reply_json(req, 404, "error", "not found: /metrics, /healthz or /readyz");
		return;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		http_req_add_header(req, "Allow", "GET, HEAD");
		admin_reply_json(req, 405, "error", "method not allowed");
		return;
	}
	if (strcmp(path, "/metrics") == 0)
		admin_metrics(ad, req);
	else if (strcmp(path, "/healthz") == 0)
		admin_reply_json(req, 200, "ok", NULL);
	else if (admin_ready(ad, &why))
		admin_reply_json(req, 200, "ready", NULL);
	else
		admin_reply_json(req, 503, "not ready", why);
}

/* The admin side; its checks start at once when an upstream is configured. */
struct admin *
admin_create(struct event_base *base, const struct config *cfg, admin_collect_cb collect, void *arg)
{
	struct admin *ad = xcalloc(1, sizeof *ad);
	struct httpd_limits lim;
	struct hclient_opts ho;
	char *cause;

	ad->base = base;
	ad->cfg = cfg;
	ad->collect = collect;
	ad->collect_arg = arg;
	config_httpd_limits(cfg, &lim);
	ad->httpd = httpd_create(base, &lim, admin_handle, ad);
	if (cfg->up_applications_url == NULL && cfg->up_discovery_url == NULL)
		return ad; /* (restart-only keys: a reload cannot add one) */
	ad->check_url =
	    xstrdup(cfg->up_applications_url ? cfg->up_applications_url : cfg->up_discovery_url);
	memset(&ho, 0, sizeof ho);
	ho.ca_file = cfg->up_ca_file;
	ho.verify = cfg->up_verify;
	ho.user_agent = cfg->up_user_agent;
	ho.connect_timeout_ms = (unsigned)cfg->up_connect_timeout_ms;
	ho.max_body = 1 << 20;
	ho.max_header_bytes = 65536;
	ho.max_idle_per_origin = 1;
	ho.idle_timeout_ms = (unsigned)cfg->admin_check_ms * 2;
	if ((ad->hc = hclient_new(base, &ho, &cause)) == NULL) {
		snprintf(ad->why, sizeof ad->why, "%s", cause);
		free(cause);
		return ad;
	}
	ad->owner = hclient_owner_new(ad->hc, 1);
	ad->timer = evtimer_new(base, admin_check_timer, ad);
	admin_check_start(ad);
	return ad;
}

/* Open every admin listener. */
int
admin_listen(struct admin *ad, SSL_CTX *tls, char **cause)
{
	char bound[64];

	for (size_t i = 0; i < ad->cfg->admin_listen.n; i++) {
		if (httpd_listen(ad->httpd, ad->cfg->admin_listen.v[i], tls, bound, sizeof bound,
			cause) != 0)
			return -1;
		log_info("admin listening on %s (%s)", bound, ad->cfg->admin_listen.v[i]);
		daemon_announce(bound);
	}
	return 0;
}

/* Use a reloaded configuration (limits; the check period from the next check on). */
void
admin_set_config(struct admin *ad, const struct config *cfg)
{
	struct httpd_limits lim;

	ad->cfg = cfg;
	config_httpd_limits(cfg, &lim);
	httpd_set_limits(ad->httpd, &lim);
}

/* New admin connections over https use tls (see httpd_set_tls). */
void
admin_set_tls(struct admin *ad, SSL_CTX *tls)
{
	httpd_set_tls(ad->httpd, tls);
}

/* The gateway's listeners are up or not. */
void
admin_set_listening(struct admin *ad, int up)
{
	ad->listening = up;
}

/* Draining: not ready any more. */
void
admin_drain(struct admin *ad)
{
	ad->draining = 1;
}

/* Free the admin side. */
void
admin_free(struct admin *ad)
{
	if (ad == NULL)
		return;
	httpd_free(ad->httpd);
	if (ad->timer != NULL)
		event_free(ad->timer);
	if (ad->owner != NULL)
		hclient_owner_free(ad->owner);
	if (ad->hc != NULL)
		hclient_free(ad->hc);
	free(ad->check_url);
	free(ad);
}
