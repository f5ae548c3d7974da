/*
 * sim_main.c: the ucwa-sim program: a UCWA 2.0 server simulator for tests,
 * the demo and load tests. This file owns its process life (through
 * daemon.c), its configuration rows, its listeners, the routing of each
 * request to the part that owns it, and the small writers every part uses
 * (error bodies, links, dates, data URIs). The protocol lives in sim_*.c.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "httpd.h"
#include "json.h"
#include "log.h"
#include "sim.h"
#include "tls.h"

struct sim_state simg;

static const char *sim_check_users(const struct json *, char **);
static const char *sim_check_remotes(const struct json *, char **);
static const char *sim_check_profile(const struct json *, char **);

#define OFF(f) offsetof(struct sim_config, f)

static const struct conf_row sim_rows[] = {
	DAEMON_CONF_ROWS(struct sim_config, "[\"http://127.0.0.1:8081\"]", "2000", 0),
	{ "users", CONF_JSON, OFF(users),
	    "[{\"uri\":\"sip:toshm@contoso.com\",\"username\":\"toshm@contoso.com\","
	    "\"password\":\"secret\",\"name\":\"Tosh Meston\"}]",
	    0, 0, NULL, 0, "signed-in users: [{uri, username, password, name?, phone?}]",
	    sim_check_users },
	{ "remotes", CONF_JSON, OFF(remotes),
	    "[{\"uri\":\"sip:lenea@contoso.com\",\"name\":\"Lene Aaling\"}]", 0, 0, NULL, 0,
	    "remote parties: [{uri, name?, answer?, accept_ms?, reply?, fail?}]",
	    sim_check_remotes },
	{ "load.users", CONF_INT, OFF(load_users), "0", 0, 100000, NULL, 0,
	    "extra users for load tests: sip:load<i>@contoso.com, password load<i>, i = 1..N" },
	{ "auth.token_lifetime_s", CONF_INT, OFF(token_lifetime_s), "28800", 1, 86400, NULL, 1,
	    "expires_in of issued tokens; tokens really expire" },
	{ "auth.token_length", CONF_INT, OFF(token_length), "64", 8, 4096, NULL, 1,
	    "characters of an issued token: \"cwt=\" and base64 of random bytes (rounded down to "
	    "4 and a multiple of 4)" },
	{ "auth.challenge_unquoted", CONF_BOOL, OFF(challenge_unquoted), "false", 0, 0, NULL, 1,
	    "the MsRtcOAuth href in the 401 challenge is not quoted (as in sample 06d)" },
	{ "discovery.redirect", CONF_BOOL, OFF(discovery_redirect), "false", 0, 0, NULL, 1,
	    "GET / answers with a redirect link first" },
	{ "events.timeout_s", CONF_INT, OFF(pget_timeout_s), "180", 180, 1800, NULL, 1,
	    "default P-GET timeout (a timeout query parameter may ask 180-1800)" },
	{ "events.test_timeout_ms", CONF_INT, OFF(pget_test_timeout_ms), "0", 0, 3600000, NULL, 1,
	    "when not 0, every P-GET is released empty after this many ms (tests)" },
	{ "events.resume_after_ms", CONF_INT, OFF(resume_after_ms), "600000", 1, 86400000, NULL, 1,
	    "a P-GET this long after the previous one was released gets resume" },
	{ "applications.idle_expiry_ms", CONF_INT, OFF(app_idle_expiry_ms), "900000", 1, 86400000,
	    NULL, 1, "an application without a P-GET for this long is deleted" },
	{ "conversations.invitation_timeout_ms", CONF_INT, OFF(invitation_timeout_ms), "30000", 1,
	    3600000, NULL, 1, "unanswered invitations fail after this long" },
	{ "conversations.message_fetch_timeout_ms", CONF_INT, OFF(message_fetch_timeout_ms),
	    "30000", 1, 3600000, NULL, 1,
	    "an incoming message not fetched by a P-GET in this time is dropped" },
	{ "conversations.typing_timeout_ms", CONF_INT, OFF(typing_timeout_ms), "5000", 1, 600000,
	    NULL, 1, "remote typing indication lasts this long" },
	{ "conversations.first_message_id", CONF_INT, OFF(first_message_id), "2", 1, 1000000000,
	    NULL, 1, "number of the first message resource of a conversation" },
	{ "limits.applications_per_user", CONF_INT, OFF(max_apps_per_user), "10", 1, 1000, NULL, 1,
	    "more applications → 410 TooManyApplications" },
	{ "limits.outstanding_per_user", CONF_INT, OFF(max_outstanding), "100", 1, 100000, NULL, 1,
	    "more outstanding (parked or delayed) requests → 429" },
	{ "limits.queue_events", CONF_INT, OFF(max_queue_events), "2000", 10, 1000000, NULL, 1,
	    "events queued per application; more are dropped and the channel resyncs" },
	{ "limits.log_entries", CONF_INT, OFF(max_log_entries), "10000", 10, 1000000, NULL, 0,
	    "entries kept per remote party's received log (oldest dropped)" },
	{ "limits.conversations_per_app", CONF_INT, OFF(max_conversations), "100", 1, 100000, NULL,
	    1, "more conversations → 409 TooManyConversations" },
	{ "profile", CONF_JSON, OFF(profile), "{}", 0, 0, NULL, 1,
	    "the global server profile (users without their own follow it)", sim_check_profile },
};

static const struct conf_schema sim_schema = {
	"ucwa-sim",
	sim_rows,
	nitems(sim_rows),
	sizeof(struct sim_config),
};

static struct {
	struct httpd *httpd;
	SSL_CTX *tls;
} sim;

/* Check an array of objects whose string members are among keys; uri required;
 * with profiles, a "profile" member is a server profile. */
static const char *
sim_check_parties(
    const struct json *v, const char *const *strs, const char *const *bools, int profiles)
{
	static char why[160];
	struct sim_profile p;

	if (v->type != JSON_ARRAY)
		return "expected an array of objects";
	for (size_t i = 0; i < v->u.arr.n; i++) {
		const struct json *o = v->u.arr.v[i];
		const char *uri;

		if (o->type != JSON_OBJECT)
			return "expected an array of objects";
		if ((uri = json_get_str(o, "uri")) == NULL || strncmp(uri, "sip:", 4) != 0 ||
		    strchr(uri, '@') == NULL)
			return "each entry needs \"uri\": \"sip:user@domain\"";
		for (size_t k = 0; k < o->u.obj.n; k++) {
			const struct json_member *m = &o->u.obj.m[k];
			int ok = 0;

			if (profiles && strcmp(m->key, "profile") == 0) {
				if (sim_profile_parse(m->val, &p, why, sizeof why) != 0)
					return why;
				continue;
			}
			for (size_t s = 0; strs[s] != NULL; s++)
				ok |= strcmp(m->key, strs[s]) == 0 && m->val->type == JSON_STRING;
			for (size_t s = 0; bools[s] != NULL; s++)
				ok |= strcmp(m->key, bools[s]) == 0 &&
				    (m->val->type == JSON_BOOL || m->val->type == JSON_INT);
			if (!ok)
				return "unknown member or wrong type in an entry";
		}
	}
	return NULL;
}

/* The users row: each user has a SIP URI, a user name and a password. */
static const char *
sim_check_users(const struct json *v, char **freeit)
{
	static const char *const s[] = { "uri", "username", "password", "name", "phone", NULL };
	static const char *const b[] = { NULL };
	const char *m = sim_check_parties(v, s, b, 1);

	for (size_t i = 0; m == NULL && i < v->u.arr.n; i++) {
		if (json_get_str(v->u.arr.v[i], "username") == NULL ||
		    json_get_str(v->u.arr.v[i], "password") == NULL)
			m = "each user needs \"username\" and \"password\"";
	}
	return m;
}

/* The remotes row: a SIP URI and a known answer. */
static const char *
sim_check_remotes(const struct json *v, char **freeit)
{
	static const char *const s[] = { "uri", "name", "answer", NULL };
	static const char *const b[] = { "accept_ms", "reply", "fail", NULL };
	const char *m = sim_check_parties(v, s, b, 0);

	for (size_t i = 0; m == NULL && i < v->u.arr.n; i++) {
		const char *a = json_get_str(v->u.arr.v[i], "answer");

		if (a != NULL && strcmp(a, "accept") && strcmp(a, "decline") && strcmp(a, "silent"))
			m = "\"answer\" is one of \"accept\", \"decline\", \"silent\"";
	}
	return m;
}

/* The profile row: a server profile object. */
static const char *
sim_check_profile(const struct json *v, char **freeit)
{
	struct sim_profile p;
	char why[160];

	if (sim_profile_parse(v, &p, why, sizeof why) == 0)
		return NULL;
	*freeit = xstrdup(why);
	return *freeit;
}

/* A UCWA error body {code, subcode, message} with a JSON content type. */
void
sim_reply_error(
    struct http_req *req, int status, const char *code, const char *subcode, const char *message)
{
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "code", code);
	if (subcode != NULL)
		jw_kstr(&w, "subcode", subcode);
	jw_kstr(&w, "message", message);
	jw_obj_end(&w);
	http_req_reply_buf(req, status, "application/json; charset=utf-8", &b);
}

/* Reply with a JSON body (taken over). */
void
sim_reply_json(struct http_req *req, int status, struct buf *b)
{
	http_req_reply_buf(req, status, "application/json; charset=utf-8", b);
}

/* The reaper: release what was buried since the last turn. */
static void
sim_reap(evutil_socket_t fd, short what, void *arg)
{
	struct sim_grave *g;

	while ((g = TAILQ_FIRST(&simg.graves)) != NULL) {
		TAILQ_REMOVE(&simg.graves, g, entry);
		simg.ngraves--;
		simg.released++;
		g->release(g->obj);
	}
}

/* Bury an object that is already unlinked and whose timers are stopped. */
void
sim_bury(struct sim_grave *g, void (*release)(void *), void *obj)
{
	g->release = release;
	g->obj = obj;
	TAILQ_INSERT_TAIL(&simg.graves, g, entry);
	simg.ngraves++;
	event_active(simg.reaper, 0, 0);
}

void
sim_graves_init(void)
{
	TAILQ_INIT(&simg.graves);
	simg.reaper = event_new(simg.base, -1, 0, sim_reap, NULL);
}

void
sim_graves_free(void)
{
	if (simg.reaper == NULL)
		return;
	sim_reap(-1, 0, NULL);
	event_free(simg.reaper);
	simg.reaper = NULL;
}

/* A reply held back (slow fault, started_before_201); the request counts as outstanding. */
struct sim_later {
	struct sim_user *user;
	struct http_req *req;
	int status;
	const char *ctype;
	struct buf body;
	struct event *ev;
	struct sim_grave grave;
};

/* Memory of a finished delayed reply (from the reaper). */
static void
sim_later_release(void *arg)
{
	struct sim_later *l = arg;

	buf_free(&l->body);
	event_free(l->ev);
	free(l);
}

/* The delayed reply is due. */
static void
sim_later_fire(evutil_socket_t fd, short what, void *arg)
{
	struct sim_later *l = arg;

	http_req_set_abort(l->req, NULL, NULL);
	http_req_reply_buf(l->req, l->status, l->ctype, &l->body);
	l->user->outstanding--;
	sim_bury(&l->grave, sim_later_release, l);
}

/* The client went away before the delayed reply. */
static void
sim_later_abort(struct http_req *req, void *arg)
{
	struct sim_later *l = arg;

	l->user->outstanding--;
	evtimer_del(l->ev);
	sim_bury(&l->grave, sim_later_release, l);
}

/* Reply after ms (the request counts as outstanding meanwhile). */
void
sim_reply_later(struct sim_user *u, struct http_req *req, int status, const char *ctype,
    struct buf *body, unsigned ms)
{
	struct sim_later *l = xcalloc(1, sizeof *l);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	l->user = u;
	l->req = req;
	l->status = status;
	l->ctype = ctype;
	l->body = *body;
	buf_init(body);
	l->ev = evtimer_new(simg.base, sim_later_fire, l);
	u->outstanding++;
	http_req_set_abort(req, sim_later_abort, l);
	evtimer_add(l->ev, &tv);
}

/* Reply now, or after the user's "slow" fault delay; trickle if asked. */
void
sim_reply(struct sim_user *u, struct http_req *req, int status, const char *ctype, struct buf *b)
{
	long long delay = u ? sim_fault_param(u, "slow", "delay_ms") : 0;
	long long rate = u ? sim_fault_param(u, "trickle", "bytes_per_s") : 0;
	struct buf empty;

	if (b == NULL) {
		buf_init(&empty);
		b = &empty;
	}
	sim_profile_body(u, req, ctype, b);
	if (rate > 0)
		http_req_set_rate(req, (size_t)(rate < 10 ? 1 : rate / 10), 100);
	if (delay > 0)
		sim_reply_later(u, req, status, ctype, b, (unsigned)delay);
	else
		http_req_reply_buf(req, status, ctype, b);
}

/* key: "\/Date(ms)\/" exactly as ASP.NET AJAX writes it. */
void
sim_jw_date(struct jw *w, const char *key, uint64_t ms)
{
	char tmp[64];

	snprintf(tmp, sizeof tmp, "\"\\/Date(%llu)\\/\"", (unsigned long long)ms);
	jw_key(w, key);
	jw_raw(w, tmp);
}

/* "rel":{"href":..,"title"?:..} */
void
sim_jw_link(struct jw *w, const char *rel, const char *href, const char *title)
{
	jw_key(w, rel);
	jw_obj_begin(w);
	jw_kstr(w, "href", href);
	if (title != NULL)
		jw_kstr(w, "title", title);
	jw_obj_end(w);
}

/* A random GUID in 8-4-4-4-12 lowercase form. */
void
sim_guid(char out[37])
{
	char hex[33];

	util_random_id(hex, 32, UTIL_HEX);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* data:<ctype>;charset=utf-8,<text> with '+' for space and lowercase %xx. */
void
sim_data_uri(struct buf *b, const char *ctype, const char *text, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	buf_printf(b, "data:%s;charset=utf-8,", ctype);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == ' ')
			buf_addch(b, '+');
		else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' ||
		    c == '!' || c == '*' || c == '\'' || c == '(' || c == ')')
			buf_addch(b, (char)c);
		else {
			buf_addch(b, '%');
			buf_addch(b, hex[c >> 4]);
			buf_addch(b, hex[c & 15]);
		}
	}
}

/* Route one request. */
static void
sim_handle(struct http_req *req, void *arg)
{
	const char *path = http_req_path(req);
	struct sim_user *u;

	if (strcmp(path, "/healthz") == 0) {
		http_req_reply(req, 200, "application/json", "{\"status\":\"ok\"}", 15);
		return;
	}
	if (strncmp(path, SIM_CTL, sizeof SIM_CTL - 1) == 0) {
		sim_ctl_route(req);
		return;
	}
	if (sim_auth_route(req))
		return;
	if (strncmp(path, SIM_PREFIX, sizeof SIM_PREFIX - 1) == 0 &&
	    (path[sizeof SIM_PREFIX - 1] == '\0' || path[sizeof SIM_PREFIX - 1] == '/')) {
		if ((u = sim_auth_check(req)) == NULL)
			return;
		sim_app_route(u, req, path + sizeof SIM_PREFIX - 1);
		return;
	}
	sim_reply_error(
	    req, 404, "NotFound", "ResourceNotFound", "The requested resource could not be found.");
}

/* Server-made errors (400, 413, ...) look like UCWA errors. */
static const char *
sim_error_format(int status, const char *reason, struct buf *out)
{
	struct jw w;

	jw_init(&w, out);
	jw_obj_begin(&w);
	jw_kstr(&w, "code", status == 413 ? "EntityTooLarge" : "BadRequest");
	jw_kstr(&w, "message", reason);
	jw_obj_end(&w);
	return "application/json; charset=utf-8";
}

/* Open TLS and the listeners; build users and remote parties. */
static int
sim_start(struct event_base *base, const void *cfgp, char **cause)
{
	const struct sim_config *cfg = cfgp;
	struct httpd_limits lim = { 65536, 1048576, 100000, 10000, 3600000, 30000 };
	char bound[64];

	simg.base = base;
	simg.cfg = cfg;
	sim_profile_parse(json_root(cfg->profile), &simg.profile, NULL, 0);
	sim_graves_init();
	sim_app_init();
	sim_remote_init();
	if (cfg->tls_cert_file != NULL &&
	    (sim.tls = tls_server_ctx(cfg->tls_cert_file, cfg->tls_key_file, 0, cause)) == NULL)
		return -1;
	sim.httpd = httpd_create(base, &lim, sim_handle, NULL);
	httpd_set_error_format(sim.httpd, sim_error_format);
	for (size_t i = 0; i < cfg->listen.n; i++) {
		if (httpd_listen(
			sim.httpd, cfg->listen.v[i], sim.tls, bound, sizeof bound, cause) != 0)
			return -1;
		daemon_announce(bound);
	}
	return 0;
}

/* Use a new configuration (users and remotes stay as they were at start). */
static void
sim_apply(const void *cfgp, const void *old)
{
	simg.cfg = cfgp;
	sim_profile_parse(json_root(simg.cfg->profile), &simg.profile, NULL, 0);
	log_set_level((enum log_level)simg.cfg->log_level);
}

/* Stop accepting and finish in-flight requests. */
static void
sim_drain(void (*done)(void *), void *arg)
{
	struct sim_user *u;
	struct sim_app *a;

	TAILQ_FOREACH(u, &simg.users, entry)
	{
		TAILQ_FOREACH(a, &u->apps, entry)
		sim_events_release_empty(a);
	}
	httpd_drain(sim.httpd, (unsigned)simg.cfg->drain_ms, done, arg);
}

/* Free everything. */
static void
sim_stop(void)
{
	httpd_free(sim.httpd);
	sim_auth_free();
	sim_app_free();
	sim_graves_free(); /* before the remotes: nothing buried refers to them */
	sim_bridge_free();
	sim_remote_free();
	if (sim.tls != NULL)
		SSL_CTX_free(sim.tls);
}

static const struct daemon_prog sim_prog = {
	.name = "ucwa-sim",
	.summary = "ucwa-sim: a UCWA 2.0 (Skype for Business) server simulator",
	.schema = &sim_schema,
	.start = sim_start,
	.apply = sim_apply,
	.drain = sim_drain,
	.stop = sim_stop,
};

int
main(int argc, char **argv)
{
	return daemon_main(&sim_prog, argc, argv);
}
