/*
 * sim_auth.c: discovery and sign-in as UCWA does it on premises: the
 * autodiscover root (with an optional redirect hop), the user resource
 * (401 with both WWW-Authenticate headers and an IIS-like HTML body without
 * a token; the applications link with one), the password-grant token
 * endpoint, and the Bearer check every other request goes through. Tokens
 * ("cwt=" and base64 of random bytes, auth.token_length characters) really
 * expire after auth.token_lifetime_s; each user keeps at most SIM_TOKENS
 * live tokens (issuing another drops the oldest).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sim.h"

struct sim_token {
	char *tok;
	struct sim_user *user;
	uint64_t expires_ms; /* monotonic */
};

static struct sim_map *sim_tokens;

static const char sim_401_html[] =
    "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" "
    "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n"
    "<html xmlns=\"http://www.w3.org/1999/xhtml\">\r\n<head>\r\n"
    "<title>401 - Unauthorized: Access is denied due to invalid credentials.</title>\r\n"
    "</head>\r\n<body>\r\n<div id=\"header\"><h1>Server Error</h1></div>\r\n"
    "<div id=\"content\">\r\n <div class=\"content-container\"><fieldset>\r\n"
    "  <h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2>\r\n"
    "  <h3>You do not have permission to view this directory or page using the credentials "
    "that you supplied.</h3>\r\n </fieldset></div>\r\n</div>\r\n</body>\r\n</html>\r\n";

/* "https://host" of this request. */
void
sim_auth_origin(struct http_req *req, struct buf *b)
{
	const char *host = http_req_header(req, "Host");

	buf_printf(b, "%s://%s", http_req_is_tls(req) ? "https" : "http",
	    host != NULL && *host != '\0' && strpbrk(host, "\"\\ ") == NULL ? host : "localhost");
}

/* The 401 challenge: both WWW-Authenticate headers and an HTML body. */
static void
sim_auth_challenge(struct http_req *req)
{
	struct buf o, h;

	buf_init(&o);
	buf_init(&h);
	sim_auth_origin(req, &o);
	http_req_add_header(req, "WWW-Authenticate",
	    "Bearer trusted_issuers=\"00000002-0000-0ff1-ce00-000000000000@contoso.com\", "
	    "client_id=\"00000004-0000-0ff1-ce00-000000000000\"");
	buf_printf(&h,
	    "MsRtcOAuth href=%s%s%s%s,grant_type=\"urn:microsoft.rtc:windows,"
	    "urn:microsoft.rtc:anonmeeting,password\"",
	    simg.cfg->challenge_unquoted ? "" : "\"", o.data, SIM_TOKEN_PATH,
	    simg.cfg->challenge_unquoted ? "" : "\"");
	http_req_add_header(req, "WWW-Authenticate", h.data);
	http_req_add_header(req, "X-MS-Server-Fqdn", "SIM-LYNC-SE1.contoso.com");
	http_req_reply(req, 401, "text/html", sim_401_html, sizeof sim_401_html - 1);
	buf_free(&o);
	buf_free(&h);
}

/* A link of a discovery resource: its href is the request's origin + path. */
struct sim_auth_link {
	const char *rel;
	const char *path;
};

/* Reply 200 {"_links": {rel: {"href": origin + path}, ...}}. */
static void
sim_auth_links(struct http_req *req, const struct sim_auth_link *l, size_t n)
{
	struct buf b, o, t;
	struct jw w;

	buf_init(&b);
	buf_init(&o);
	buf_init(&t);
	sim_auth_origin(req, &o);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_key(&w, "_links");
	jw_obj_begin(&w);
	for (size_t i = 0; i < n; i++) {
		buf_reset(&t);
		buf_printf(&t, "%s%s", o.data, l[i].path);
		sim_jw_link(&w, l[i].rel, t.data, NULL);
	}
	jw_obj_end(&w);
	jw_obj_end(&w);
	sim_reply_json(req, 200, &b);
	buf_free(&o);
	buf_free(&t);
}

/* The discovery root: user and xframe links (or a redirect first). */
static void
sim_auth_root(struct http_req *req, int redirect)
{
	static const struct sim_auth_link redir[] = { { "redirect", SIM_DISCOVERY } };
	static const struct sim_auth_link root[] = {
		{ "self", SIM_DISCOVERY "?originalDomain=contoso.com" },
		{ "user", SIM_DISCOVERY "/oauth/user?originalDomain=contoso.com" },
		{ "xframe", "/Autodiscover/XFrame/XFrame.html" },
	};

	if (redirect)
		sim_auth_links(req, redir, nitems(redir));
	else
		sim_auth_links(req, root, nitems(root));
}

/* The user resource: the applications link for a valid token, else 401. */
static void
sim_auth_user(struct http_req *req)
{
	static const struct sim_auth_link user[] = {
		{ "self", SIM_DISCOVERY "/user" },
		{ "applications", SIM_PREFIX },
		{ "xframe", "/Autodiscover/XFrame/XFrame.html" },
	};

	if (sim_auth_check(req) != NULL)
		sim_auth_links(req, user, nitems(user));
}

/* 400 {"error": e} as the token endpoint writes it. */
static void
sim_auth_grant_error(struct http_req *req, const char *e)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "{\"error\":\"%s\"}", e);
	http_req_add_header(req, "Cache-Control", "no-store");
	sim_reply_json(req, 400, &b);
}

/* Find form field name in body and decode it into out; 0 if present. */
static int
sim_auth_form(const char *body, size_t len, const char *name, struct buf *out)
{
	size_t nlen = strlen(name);
	const char *p = body, *end = body + len;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;
		long n;

		if ((size_t)(e - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
			buf_reset(out);
			buf_add(out, p + nlen + 1, (size_t)(e - p - (long)nlen - 1));
			if ((n = util_url_decode(out->data, out->len, 1)) < 0)
				return -1;
			out->len = (size_t)n;
			out->data[n] = '\0';
			return 0;
		}
		p = e + 1;
	}
	return -1;
}

/* Lifetime of u's tokens in seconds (its profile, else auth.token_lifetime_s). */
static long long
sim_auth_lifetime(const struct sim_user *u)
{
	long long s = sim_profile(u)->token_lifetime_s;

	return s > 0 ? s : simg.cfg->token_lifetime_s;
}

/*
 * A new token: "cwt=" and standard base64 of random bytes, as UCWA's are;
 * auth.token_length characters, rounded down to 4 and a multiple of 4.
 */
static char *
sim_auth_new_token(void)
{
	size_t n = (size_t)(simg.cfg->token_length - 4) / 4 * 3;
	unsigned char *raw = xmalloc(n);
	struct buf b;

	buf_init(&b);
	buf_addstr(&b, "cwt=");
	util_random_bytes(raw, n);
	util_base64_encode(&b, raw, n);
	free(raw);
	return buf_detach(&b, NULL);
}

/* Make a token for u, dropping its oldest when it has SIM_TOKENS. */
static struct sim_token *
sim_auth_issue(struct sim_user *u)
{
	struct sim_token *t = u->tok[u->tok_next];

	if (t != NULL) {
		sim_map_del(sim_tokens, t->tok);
		free(t->tok);
	} else
		t = u->tok[u->tok_next] = xcalloc(1, sizeof *t);
	u->tok_next = (u->tok_next + 1) % SIM_TOKENS;
	t->tok = sim_auth_new_token();
	t->user = u;
	t->expires_ms = util_now_ms() + (uint64_t)sim_auth_lifetime(u) * 1000;
	sim_map_put(sim_tokens, t->tok, t);
	return t;
}

/* POST oauthtoken: the password grant. */
static void
sim_auth_token(struct http_req *req)
{
	struct buf gt, un, pw, b;
	size_t len;
	const char *body = http_req_body(req, &len);
	struct sim_user *u = NULL;
	struct sim_token *t;

	buf_init(&gt);
	buf_init(&un);
	buf_init(&pw);
	if (sim_auth_form(body, len, "grant_type", &gt) != 0)
		sim_auth_grant_error(req, "invalid_request");
	else if (strcmp(gt.data, "password") != 0)
		sim_auth_grant_error(req, "unsupported_grant_type");
	else if (sim_auth_form(body, len, "username", &un) != 0 ||
	    sim_auth_form(body, len, "password", &pw) != 0)
		sim_auth_grant_error(req, "invalid_request");
	else if ((u = sim_user_find(un.data)) == NULL || strcmp(u->username, un.data) != 0 ||
	    !util_streq_ct(u->password, pw.data)) {
		log_info("token: bad credentials for %s", un.data);
		sim_auth_grant_error(req, "invalid_grant");
	} else {
		t = sim_auth_issue(u);
		buf_init(&b);
		buf_printf(&b,
		    "{\"access_token\":\"%s\",\"expires_in\":%lld,"
		    "\"ms_rtc_identityscope\":\"local\",\"token_type\":\"Bearer\"}",
		    t->tok, sim_auth_lifetime(u));
		http_req_add_header(req, "Cache-Control", "no-store");
		sim_reply_json(req, 200, &b);
		log_info("token: issued for %s", u->uri);
	}
	buf_free(&gt);
	buf_free(&un);
	buf_free(&pw);
}

/* Discovery, user and token endpoints; returns 1 if the request was one. */
int
sim_auth_route(struct http_req *req)
{
	const char *p = http_req_path(req), *m = http_req_method(req);

	if (strcmp(p, SIM_TOKEN_PATH) == 0) {
		if (strcmp(m, "POST") != 0)
			sim_reply_error(req, 405, "MethodNotAllowed", NULL, "Use POST.");
		else
			sim_auth_token(req);
		return 1;
	}
	if (strcmp(m, "GET") != 0)
		return 0;
	if (strcmp(p, "/") == 0 || strcasecmp(p, SIM_DISCOVERY) == 0)
		sim_auth_root(req, strcmp(p, "/") == 0 && simg.cfg->discovery_redirect);
	else if (strcasecmp(p, SIM_DISCOVERY "/oauth/user") == 0)
		sim_auth_user(req);
	else if (strcmp(p, "/Autodiscover/XFrame/XFrame.html") == 0)
		http_req_reply(req, 200, "text/html", "<html></html>", 13);
	else
		return 0;
	return 1;
}

/* The user behind the request's Bearer token, or NULL after replying. */
struct sim_user *
sim_auth_check(struct http_req *req)
{
	const char *a = http_req_header(req, "Authorization");
	struct sim_token *t = NULL;

	if (a != NULL && strncasecmp(a, "Bearer ", 7) == 0)
		t = sim_map_get(sim_tokens, a + 7, strlen(a + 7));
	if (t != NULL && strcmp(http_req_method(req), "GET") != 0 &&
	    sim_profile(t->user)->token_expire_every > 0 &&
	    ++t->user->commands % (unsigned long long)sim_profile(t->user)->token_expire_every ==
		0) {
		log_info("token: profile: %s's tokens expire before this command", t->user->uri);
		sim_auth_expire_user(t->user);
	}
	if (t == NULL || t->expires_ms <= util_now_ms()) {
		sim_auth_challenge(req);
		return NULL;
	}
	if (sim_fault_request(t->user, req, "auth"))
		return NULL;
	return t->user;
}

/* Make every token of u expire now. */
void
sim_auth_expire_user(struct sim_user *u)
{
	for (size_t i = 0; i < SIM_TOKENS; i++) {
		if (u->tok[i] != NULL)
			u->tok[i]->expires_ms = 0;
	}
}

/* Free the token table and every token. */
void
sim_auth_free(void)
{
	struct sim_user *u;

	TAILQ_FOREACH(u, &simg.users, entry)
	{
		for (size_t i = 0; i < SIM_TOKENS; i++) {
			if (u->tok[i] != NULL)
				free(u->tok[i]->tok);
			free(u->tok[i]);
		}
	}
	sim_map_free(sim_tokens);
	sim_tokens = NULL;
}

/* The token table (called from sim_app_init). */
void
sim_auth_init(void)
{
	sim_tokens = sim_map_new();
}
