/*
 * auth.c: authentication of desktop requests (see auth.h). Owns the HTTP
 * sessions (JSESSIONID -> user, CSRF token, last use), kept in a hash
 * table and in least-recently-used order: idle sessions expire after
 * auth.session_idle_ms and there are never more than auth.max_sessions
 * (the least recently used one goes first). Owns the pending password
 * checks, each tied to its request: if the connection dies, the check is
 * cancelled. Promises: a secret (password, cookie value, CSRF token) is
 * never logged and is compared in constant time.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "agent.h"
#include "auth.h"
#include "gws_reply.h"
#include "hmap.h"
#include "json.h"
#include "log.h"
#include "throttle.h"

#define AUTH_SID_LEN  (AUTH_SID_BUF - 1) /* base62: about 190 bits */
#define AUTH_MAX_CRED 1024		 /* longest user:password accepted */
#define AUTH_MAX_KEYS 100000		 /* users, addresses and failed pairs remembered, each */

struct auth_user;

struct auth_session {
	char id[AUTH_SID_LEN + 1];
	char csrf[37];
	char *user;
	struct auth_user *u;
	uint64_t last;
	uint64_t stored; /* when the session hook last heard of it (created or refreshed) */
	TAILQ_ENTRY(auth_session) lru;
	TAILQ_ENTRY(auth_session) by_user;
};

/*
 * A user's sessions, oldest first (so clients without cookies cannot crowd
 * others out). Linked both ways (non-owning) with the registry's agent of
 * that name while both exist (agent->links[AGENTS_SLOT_LOGINS], agent.h).
 */
struct auth_user {
	char *name;
	struct agent_link link; /* with the agent of that name */
	TAILQ_HEAD(, auth_session) sessions;
	unsigned n;
};

struct auth_pending {
	struct auth *a;
	struct http_req *req;
	int flags;
	auth_ok_cb ok;
	void *arg;
	char *user;
	void *handle;
	int in_start, finished;
	int verified;		/* the verifier answered: its handle is stale */
	void *store;		/* the new session's store in progress (the hook's handle) */
	char sid[AUTH_SID_BUF]; /* that session */
	char addr[64];		/* client address (no port) */
	char pair[65];		/* hex SHA-256(salt, user NUL password): the negative cache key */
	unsigned *addr_slot;	/* the address's count of checks in progress, or NULL */
	TAILQ_ENTRY(auth_pending) entry;
};

struct auth {
	struct event_base *base;
	const struct config *cfg;
	struct auth_verifier verifier;
	struct hmap *by_sid;	 /* session id -> struct auth_session */
	struct hmap *users;	 /* user name -> struct auth_user (its sessions) */
	struct agents *registry; /* the agents to link users with, or NULL */
	TAILQ_HEAD(, auth_session) lru;
	TAILQ_HEAD(, auth_pending) pending;
	unsigned nsessions;
	struct throttle *by_user;      /* failed authentications per user name */
	struct throttle *by_addr;      /* failed authentications per client address */
	struct throttle *failed;       /* the negative cache: failed user/password pairs */
	struct hmap *addr_pending;     /* client address -> unsigned *: checks in progress */
	unsigned char salt[16];	       /* of the negative cache keys */
	unsigned char csrf_key[32];    /* a session's CSRF token is made from its id with it */
	struct auth_session_hook hook; /* told of sessions made, used, ended (cluster mode) */
	int hooked;
};

static void *auth_static_start(void *, const char *, const char *, auth_verify_done, void *);

/* The throttling settings of the three failure tables. */
static void
auth_throttle_confs(const struct config *cfg, struct throttle_conf *user,
    struct throttle_conf *addr, struct throttle_conf *failed)
{
	*user = (struct throttle_conf){ (unsigned)cfg->auth_throttle_user_after,
		(unsigned)cfg->auth_throttle_base_ms, (unsigned)cfg->auth_throttle_max_ms,
		AUTH_MAX_KEYS };
	*addr = *user;
	addr->free_failures = (unsigned)cfg->auth_throttle_address_after;
	*failed =
	    (struct throttle_conf){ ~0u, 0, (unsigned)cfg->auth_negative_cache_ms, AUTH_MAX_KEYS };
}

/* Create the authenticator with the static verifier. */
struct auth *
auth_create(struct event_base *base, const struct config *cfg)
{
	struct auth *a = xcalloc(1, sizeof *a);
	struct throttle_conf u, ad, f;

	a->base = base;
	a->cfg = cfg;
	auth_throttle_confs(cfg, &u, &ad, &f);
	a->by_user = throttle_create(&u);
	a->by_addr = throttle_create(&ad);
	a->failed = throttle_create(&f);
	a->addr_pending = hmap_create();
	if (RAND_bytes(a->salt, sizeof a->salt) != 1 ||
	    RAND_bytes(a->csrf_key, sizeof a->csrf_key) != 1)
		abort();
	auth_set_verifier(a, NULL);
	a->by_sid = hmap_create();
	a->users = hmap_create();
	TAILQ_INIT(&a->lru);
	TAILQ_INIT(&a->pending);
	return a;
}

/* Use a reloaded configuration. */
void
auth_set_config(struct auth *a, const struct config *cfg)
{
	struct throttle_conf u, ad, f;

	a->cfg = cfg;
	auth_throttle_confs(cfg, &u, &ad, &f);
	throttle_set_conf(a->by_user, &u);
	throttle_set_conf(a->by_addr, &ad);
	throttle_set_conf(a->failed, &f);
}

/* Set the verifier; NULL selects the static one. */
void
auth_set_verifier(struct auth *a, const struct auth_verifier *v)
{
	static const struct auth_verifier st = { "static", auth_static_start, NULL, NULL };

	a->verifier = v != NULL ? *v : st;
	if (v == NULL)
		a->verifier.ctx = a;
}

/* The agents to link users with (NULL: none; set back to NULL before freeing them). */
void
auth_set_agents(struct auth *a, struct agents *r)
{
	agents_link_keep(
	    &a->registry, r, AGENTS_SLOT_LOGINS, a->users, offsetof(struct auth_user, link));
}

/* Tell the session hook, if any. */
static void
auth_session_tell(struct auth *a, struct auth_session *s, enum auth_session_event ev)
{
	if (!a->hooked || ev == AUTH_SESSION_CREATED)
		return;
	s->stored = util_now_ms();
	a->hook.event(a->hook.arg, ev, s->id, s->user);
}

/* Forget a session. */
static void
auth_session_free(struct auth *a, struct auth_session *s)
{
	auth_session_tell(a, s, AUTH_SESSION_ENDED);
	hmap_del(a->by_sid, s->id);
	TAILQ_REMOVE(&a->lru, s, lru);
	TAILQ_REMOVE(&s->u->sessions, s, by_user);
	if (--s->u->n == 0) {
		agents_unlink(&s->u->link);
		hmap_del(a->users, s->u->name);
		free(s->u->name);
		free(s->u);
	}
	a->nsessions--;
	free(s->user);
	OPENSSL_cleanse(s, sizeof *s);
	free(s);
}

/* Free a pending check (its request is answered or gone); its address slot is free again. */
static void
auth_pending_free(struct auth_pending *p)
{
	if (p->addr_slot != NULL && --*p->addr_slot == 0)
		free(hmap_del(p->a->addr_pending, p->addr));
	TAILQ_REMOVE(&p->a->pending, p, entry);
	free(p->user);
	OPENSSL_cleanse(p, sizeof *p);
	free(p);
}

/* Free everything; pending checks are cancelled. */
void
auth_free(struct auth *a)
{
	struct auth_session *s;
	struct auth_pending *p;

	if (a == NULL)
		return;
	a->hooked = 0; /* the process ends: the sessions outlive it elsewhere */
	auth_set_agents(a, NULL);
	while ((p = TAILQ_FIRST(&a->pending)) != NULL) {
		if (a->verifier.cancel != NULL && p->handle != NULL)
			a->verifier.cancel(a->verifier.ctx, p->handle);
		if (p->store != NULL && a->hook.cancel != NULL)
			a->hook.cancel(a->hook.arg, p->store);
		http_req_set_abort(p->req, NULL, NULL);
		auth_pending_free(p);
	}
	while ((s = TAILQ_FIRST(&a->lru)) != NULL)
		auth_session_free(a, s);
	hmap_free(a->by_sid);
	hmap_free(a->users);
	throttle_free(a->by_user);
	throttle_free(a->by_addr);
	throttle_free(a->failed);
	hmap_free(a->addr_pending);
	OPENSSL_cleanse(a->salt, sizeof a->salt);
	free(a);
}

unsigned
auth_nsessions(const struct auth *a)
{
	return a->nsessions;
}

/* Drop sessions idle for longer than auth.session_idle_ms. */
static void
auth_expire(struct auth *a)
{
	uint64_t now = util_now_ms(), idle = (uint64_t)a->cfg->auth_session_idle_ms;
	struct auth_session *s;

	while ((s = TAILQ_FIRST(&a->lru)) != NULL && s->last + idle <= now) {
		log_debug("auth: session of %s expired", s->user);
		auth_session_free(a, s);
	}
}

/* The record of user's sessions (made when missing). */
static struct auth_user *
auth_user_get(struct auth *a, const char *user)
{
	struct auth_user *u;

	if ((u = hmap_get(a->users, user)) != NULL)
		return u;
	u = xcalloc(1, sizeof *u);
	u->name = xstrdup(user);
	TAILQ_INIT(&u->sessions);
	hmap_put(a->users, u->name, u);
	agents_link(a->registry, AGENTS_SLOT_LOGINS, &u->link, u->name);
	return u;
}

/* Make room: the user's oldest session at its limit, else the LRU one at the global limit. */
static void
auth_session_room(struct auth *a, const char *user)
{
	struct auth_session *old;
	struct auth_user *u = auth_user_get(a, user);

	if (u->n >= (unsigned)a->cfg->auth_max_sessions_per_user &&
	    (old = TAILQ_FIRST(&u->sessions)) != NULL) {
		log_debug(
		    "auth: %s has %u sessions (auth.max_sessions_per_user): ending the oldest",
		    user, u->n);
		auth_session_free(a, old);
	} else if (a->nsessions >= (unsigned)a->cfg->auth_max_sessions &&
	    (old = TAILQ_FIRST(&a->lru)) != NULL) {
		static struct log_limit ll;

		log_limited(&ll, LOG_WARN,
		    "auth: session limit (%u) reached: ending the least recently used (%s)",
		    a->nsessions, old->user);
		auth_session_free(a, old);
	}
}

/*
 * The CSRF token of session id, as 32 hex digits: HMAC-SHA256 of the id
 * under the CSRF key (random per process; in cluster mode derived from the
 * cluster key, so a node that adopts the session gives the same token).
 */
static void
auth_csrf_token(const struct auth *a, const char *id, char hex[33])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (HMAC(EVP_sha256(), a->csrf_key, sizeof a->csrf_key, (const unsigned char *)id,
		AUTH_SID_LEN, mac, &n) == NULL ||
	    n < 16)
		abort();
	for (unsigned i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	OPENSSL_cleanse(mac, sizeof mac);
}

/* The key CSRF tokens are made with (cluster mode: the same on every node). */
void
auth_set_csrf_key(struct auth *a, const unsigned char key[32])
{
	memcpy(a->csrf_key, key, sizeof a->csrf_key);
}

/* Make a session for user, new or with a known id (see auth_session_room for the limits). */
static struct auth_session *
auth_session_new(struct auth *a, const char *user, const char *id)
{
	struct auth_session *s;
	char hex[33];

	auth_session_room(a, user);
	s = xcalloc(1, sizeof *s);
	if (id != NULL)
		memcpy(s->id, id, AUTH_SID_LEN);
	else
		util_random_id(s->id, AUTH_SID_LEN, UTIL_BASE62);
	auth_csrf_token(a, s->id, hex);
	snprintf(s->csrf, sizeof s->csrf, "%.8s-%.4s-4%.3s-a%.3s-%.12s", hex, hex + 8, hex + 12,
	    hex + 15, hex + 18);
	OPENSSL_cleanse(hex, sizeof hex);
	s->user = xstrdup(user);
	s->u = auth_user_get(a, user); /* made again if the room-making freed it */
	s->u->n++;
	TAILQ_INSERT_TAIL(&s->u->sessions, s, by_user);
	s->last = util_now_ms();
	hmap_put(a->by_sid, s->id, s);
	TAILQ_INSERT_TAIL(&a->lru, s, lru);
	a->nsessions++;
	s->stored = s->last; /* a new one is stored by auth_verified */
	return s;
}

/*
 * The next JSESSIONID value in the Cookie header from *pos on, copied into
 * out; 0 if found. Several may come (stale ones from other paths or hosts).
 */
static int
auth_cookie_next(const char **pos, char *out, size_t outlen)
{
	const char *p = *pos;
	size_t n;

	for (; p != NULL && *p != '\0'; p += strcspn(p, ";"), p += *p == ';') {
		p += strspn(p, " \t");
		if (strncmp(p, "JSESSIONID=", 11) != 0)
			continue;
		p += 11;
		n = strcspn(p, "; \t");
		*pos = p + n;
		if (n == 0 || n >= outlen)
			continue;
		memcpy(out, p, n);
		out[n] = '\0';
		return 0;
	}
	*pos = NULL;
	return -1;
}

/* The live session named by one of req's JSESSIONID cookies, or NULL. */
static struct auth_session *
auth_session_find(struct auth *a, struct http_req *req)
{
	const char *pos = http_req_header(req, "Cookie");
	char id[AUTH_SID_LEN + 1];
	struct auth_session *s;

	while (auth_cookie_next(&pos, id, sizeof id) == 0) {
		if (strlen(id) != AUTH_SID_LEN)
			continue;
		if ((s = hmap_get(a->by_sid, id)) != NULL && util_streq_ct(s->id, id))
			return s;
	}
	return NULL;
}

/* Mark a session used now (it moves to the end of the LRU order). */
static void
auth_session_touch(struct auth *a, struct auth_session *s)
{
	s->last = util_now_ms();
	TAILQ_REMOVE(&a->lru, s, lru);
	TAILQ_INSERT_TAIL(&a->lru, s, lru);
	if (s->last - s->stored >= (uint64_t)a->cfg->auth_session_idle_ms / 3)
		auth_session_tell(a, s, AUTH_SESSION_USED);
}

/* Whether origin is one of auth.cors_origins (exact match). */
int
auth_origin_allowed(struct auth *a, const char *origin)
{
	for (size_t i = 0; origin != NULL && i < a->cfg->auth_cors_origins.n; i++) {
		if (strcmp(a->cfg->auth_cors_origins.v[i], origin) == 0)
			return 1;
	}
	return 0;
}

/* CORS headers for an allowed Origin (credentials: never "*"). */
static void
auth_cors_headers(struct auth *a, struct http_req *req)
{
	const char *origin = http_req_header(req, "Origin");

	if (!auth_origin_allowed(a, origin))
		return;
	http_req_add_header(req, "Access-Control-Allow-Origin", origin);
	http_req_add_header(req, "Access-Control-Allow-Credentials", "true");
	http_req_add_header(req, "Access-Control-Expose-Headers", "X-CSRF-HEADER,X-CSRF-TOKEN");
	http_req_add_header(req, "Vary", "Origin");
}

/* Answer an OPTIONS preflight from a browser. */
int
auth_preflight(struct auth *a, struct http_req *req)
{
	const char *origin = http_req_header(req, "Origin");

	if (strcmp(http_req_method(req), "OPTIONS") != 0 || origin == NULL)
		return 0;
	if (!auth_origin_allowed(a, origin)) {
		static struct log_limit ll;

		log_limited(&ll, LOG_INFO, "auth: %s: preflight from an origin not allowed",
		    http_req_peer(req));
		gws_reply_error(req, 403, GWS_FORBIDDEN, "Origin not allowed");
		return 1;
	}
	auth_cors_headers(a, req);
	http_req_add_header(req, "Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
	http_req_add_header(req, "Access-Control-Allow-Headers",
	    "X-Requested-With, Content-Type, Accept, Origin, Cookie, Authorization, ssid, surl, "
	    "ContactCenterId, X-CSRF-TOKEN");
	http_req_add_header(req, "Access-Control-Max-Age", "600");
	http_req_reply(req, 204, NULL, "", 0);
	return 1;
}

/* 401 with the GWS body and a Basic challenge. */
static void
auth_deny(struct http_req *req)
{
	http_req_add_header(req, "WWW-Authenticate", "Basic realm=\"ucgw\"");
	gws_reply_error(req, 401, GWS_ACCESS_DENIED, "Access denied");
}

/* SameSite values of the session cookie, by auth.cookie_samesite. */
static const char *const auth_samesite[] = { "Lax", "Strict", "None" };

/* Whether the method changes state (CSRF applies). */
static int
auth_is_write(const char *m)
{
	return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0 ||
	    strcmp(m, "PATCH") == 0;
}

/* Authenticated with session s: headers, CSRF check, then the caller. */
static void
auth_finish(struct auth *a, struct http_req *req, struct auth_session *s, int is_new, int flags,
    auth_ok_cb ok, void *arg)
{
	const char *m = http_req_method(req), *tok;
	char *cookie, *user;

	http_req_set_user(req, s->user);
	if (is_new) {
		xasprintf(&cookie, "JSESSIONID=%s; Path=/; HttpOnly; SameSite=%s%s", s->id,
		    auth_samesite[a->cfg->auth_cookie_samesite],
		    http_req_client_tls(req) ? "; Secure" : "");
		http_req_add_header(req, "Set-Cookie", cookie);
		free(cookie);
	}
	if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) {
		http_req_add_header(req, "X-CSRF-HEADER", "X-CSRF-TOKEN");
		http_req_add_header(req, "X-CSRF-TOKEN", s->csrf);
	} else if (a->cfg->auth_csrf_enforce && !(flags & AUTH_NO_CSRF) && auth_is_write(m) &&
	    (is_new || (tok = http_req_header(req, "X-CSRF-TOKEN")) == NULL ||
		!util_streq_ct(tok, s->csrf))) {
		static struct log_limit ll;

		log_limited(&ll, LOG_INFO, "auth: %s: %s %s refused: missing or invalid CSRF token",
		    s->user, m, http_req_path(req));
		gws_reply_error(req, 403, GWS_FORBIDDEN, "Missing or invalid Csrf token");
		return;
	}
	user = xstrdup(s->user); /* ok() may end the session (logout) */
	ok(req, user, arg);
	free(user);
}

/* Count a failed authentication of user from addr with the pair's cache key. */
static void
auth_count_failure(struct auth *a, const char *addr, const char *user, const char *pair)
{
	uint64_t now = util_now_ms();

	throttle_fail(a->by_user, user, now);
	throttle_fail(a->by_addr, addr, now);
	if (a->cfg->auth_negative_cache_ms > 0)
		throttle_fail(a->failed, pair, now);
}

static void auth_stored(void *);
static void auth_pending_abort(struct http_req *, void *);

/* The verifier answered for p. */
static void
auth_verified(void *arg, int good)
{
	struct auth_pending *p = arg;
	struct auth *a = p->a;
	struct http_req *req = p->req;
	struct auth_session *s;
	int is_new = 0;

	http_req_set_abort(req, NULL, NULL);
	p->handle = NULL;
	p->verified = 1;
	if (good == 0)
		auth_count_failure(a, p->addr, p->user, p->pair);
	else if (good == 1)
		throttle_clear(a->by_user, p->user);
	if (good == 1) {
		if ((s = auth_session_find(a, req)) == NULL || strcmp(s->user, p->user) != 0) {
			s = auth_session_new(a, p->user, NULL);
			is_new = 1;
		} else
			auth_session_touch(a, s);
		if (is_new && a->hooked && a->hook.store != NULL &&
		    (p->store = a->hook.store(a->hook.arg, s->id, s->user, auth_stored, p)) !=
			NULL) {
			/* The Set-Cookie leaves once the session is stored (auth_stored). */
			memcpy(p->sid, s->id, sizeof p->sid);
			http_req_set_abort(req, auth_pending_abort, p);
			return;
		}
		auth_finish(a, req, s, is_new, p->flags, p->ok, p->arg);
	} else if (good == 0) {
		static struct log_limit ll;

		log_limited(&ll, LOG_INFO, "auth: %s: bad credentials for user %s",
		    http_req_peer(req), p->user);
		auth_deny(req);
	} else {
		static struct log_limit ll;

		log_limited(&ll, LOG_WARN, "auth: %s: could not check the credentials of %s",
		    http_req_peer(req), p->user);
		gws_reply_error(req, 503, GWS_INTERNAL, "Authentication service is not available");
	}
	if (p->in_start)
		p->finished = 1;
	else
		auth_pending_free(p);
}

/* The connection died while its credentials were being checked (or its session stored). */
static void
auth_pending_abort(struct http_req *req, void *arg)
{
	struct auth_pending *p = arg;
	struct auth *a = p->a;

	if (a->verifier.cancel != NULL && p->handle != NULL)
		a->verifier.cancel(a->verifier.ctx, p->handle);
	if (p->store != NULL && a->hook.cancel != NULL)
		a->hook.cancel(a->hook.arg, p->store);
	p->store = NULL;
	if (p->in_start)
		p->finished = 1; /* auth_basic frees it */
	else
		auth_pending_free(p);
}

/* A new session was stored (or given up): its request goes on with its Set-Cookie. */
static void
auth_stored(void *arg)
{
	struct auth_pending *p = arg;
	struct auth *a = p->a;
	struct http_req *req = p->req;
	struct auth_session *s = hmap_get(a->by_sid, p->sid);

	p->store = NULL;
	http_req_set_abort(req, NULL, NULL);
	if (s == NULL || strcmp(s->user, p->user) != 0)
		gws_reply_error(req, 503, GWS_INTERNAL, "The session ended at once; retry");
	else
		auth_finish(a, req, s, 1, p->flags, p->ok, p->arg);
	if (p->in_start)
		p->finished = 1;
	else
		auth_pending_free(p);
}

/* Wipe and free a buffer that held credentials. */
static void
auth_wipe(struct buf *b)
{
	if (b->data != NULL)
		OPENSSL_cleanse(b->data, b->cap);
	buf_free(b);
}

/* Split "Basic base64(user:password)" into out (user NUL password). */
static int
auth_parse_basic(const char *h, struct buf *out, const char **pass)
{
	char *colon;

	if (strlen(h) < 6 || !util_strncaseeq("basic ", h, 6))
		return -1;
	h += 6;
	h += strspn(h, " ");
	if (strlen(h) > AUTH_MAX_CRED * 4 / 3 + 4 || util_base64_decode(out, h, strlen(h)) < 0 ||
	    out->len == 0) /* nothing decoded: out->data is NULL */
		return -1;
	if (memchr(out->data, '\0', out->len) != NULL || (colon = strchr(out->data, ':')) == NULL ||
	    colon == out->data)
		return -1;
	*colon = '\0';
	*pass = colon + 1;
	return 0;
}

/* The client address of req without its port ("192.0.2.1", "[2001:db8::1]"). */
static void
auth_client_addr(struct http_req *req, char *out, size_t len)
{
	const char *peer = http_req_peer(req), *colon = strrchr(peer, ':');
	size_t n = colon != NULL && colon > peer ? (size_t)(colon - peer) : strlen(peer);

	snprintf(out, len, "%.*s", (int)n, peer);
}

/* The negative cache key of a user/password pair: hex SHA-256(salt, user NUL password). */
static void
auth_pair_key(struct auth *a, const char *user, const char *pass, char *out)
{
	unsigned char md[32];
	struct buf up;

	buf_init(&up);
	buf_add(&up, user, strlen(user) + 1);
	buf_add(&up, pass, strlen(pass));
	util_sha256(a->salt, sizeof a->salt, up.data, up.len, md);
	auth_wipe(&up);
	for (size_t i = 0; i < sizeof md; i++) {
		out[2 * i] = UTIL_HEX[md[i] >> 4];
		out[2 * i + 1] = UTIL_HEX[md[i] & 15];
	}
	out[64] = '\0';
	OPENSSL_cleanse(md, sizeof md);
}

/* 429 with Retry-After (whole seconds, rounded up). */
static void
auth_too_many(struct http_req *req, uint64_t wait_ms, const char *why)
{
	char secs[24];

	snprintf(secs, sizeof secs, "%llu", (unsigned long long)((wait_ms + 999) / 1000));
	http_req_add_header(req, "Retry-After", secs);
	gws_reply_error(req, 429, GWS_ACCESS_DENIED, why);
}

/* 429 (and 1) when user or the address addr backs off after failed sign-ins; else 0. */
static int
auth_backoff_refused(struct auth *a, struct http_req *req, const char *user, const char *addr)
{
	static struct log_limit ll;
	uint64_t now = util_now_ms();
	uint64_t wu = throttle_wait(a->by_user, user, now),
		 wa = throttle_wait(a->by_addr, addr, now);

	if (wu == 0 && wa == 0)
		return 0;
	log_limited(&ll, LOG_INFO,
	    "auth: %s: sign-in of %s refused for %llu ms: too many failures %s", http_req_peer(req),
	    user, (unsigned long long)(wu > wa ? wu : wa),
	    wu > wa ? "of this user" : "from this address");
	auth_too_many(req, wu > wa ? wu : wa, "Too many failed sign-ins; retry later");
	return 1;
}

/*
 * Cluster mode, before a lease is taken for user's Basic credentials: 429
 * (and 1) when the user or the client's address is backing off after
 * failed sign-ins, so that made-up names from one address stop making
 * lease keys once the address is throttled; 0 to go on.
 */
int
auth_backing_off(struct auth *a, struct http_req *req, const char *user)
{
	char addr[64];

	auth_client_addr(req, addr, sizeof addr);
	return auth_backoff_refused(a, req, user, addr);
}

/*
 * Refuse Basic credentials without asking the verifier when the user or
 * the address is backing off (429), when the pair failed lately (401), or
 * when the address has its sign-in slots full (429); returns 1 if it did.
 */
static int
auth_basic_refused(
    struct auth *a, struct http_req *req, const char *user, const char *addr, const char *pair)
{
	static struct log_limit ll_cached, ll_slots;
	uint64_t now = util_now_ms();
	const unsigned *slot = hmap_get(a->addr_pending, addr);

	if (auth_backoff_refused(a, req, user, addr))
		return 1;
	if (a->cfg->auth_negative_cache_ms > 0 &&
	    throttle_recent(a->failed, pair, now, (uint64_t)a->cfg->auth_negative_cache_ms)) {
		log_limited(&ll_cached, LOG_INFO,
		    "auth: %s: bad credentials for user %s (failed lately: not checked again)",
		    http_req_peer(req), user);
		auth_count_failure(a, addr, user, pair);
		auth_deny(req);
		return 1;
	}
	if (slot != NULL && *slot >= (unsigned)a->cfg->auth_max_signins_per_address) {
		log_limited(&ll_slots, LOG_WARN,
		    "auth: %s: %u sign-ins in progress from this address "
		    "(auth.max_signins_per_address): refusing one of %s",
		    http_req_peer(req), *slot, user);
		auth_too_many(req, 1000, "Too many sign-ins in progress; retry later");
		return 1;
	}
	return 0;
}

/* A check outlives the verifier's start: it holds one of its address's slots. */
static void
auth_pending_take_slot(struct auth *a, struct auth_pending *p)
{
	unsigned *slot = hmap_get(a->addr_pending, p->addr);

	if (slot == NULL) {
		slot = xcalloc(1, sizeof *slot);
		hmap_put(a->addr_pending, p->addr, slot);
	}
	(*slot)++;
	p->addr_slot = slot;
}

/* Check Basic credentials through the verifier (unless refused first). */
static void
auth_basic(struct auth *a, struct http_req *req, const char *h, int flags, auth_ok_cb ok, void *arg)
{
	static struct log_limit ll;
	struct auth_pending *p;
	const char *pass;
	struct buf cred;
	void *handle;

	buf_init(&cred);
	if (auth_parse_basic(h, &cred, &pass) != 0) {
		auth_wipe(&cred);
		log_limited(
		    &ll, LOG_INFO, "auth: %s: malformed Authorization header", http_req_peer(req));
		auth_deny(req);
		return;
	}
	p = xcalloc(1, sizeof *p);
	*p = (struct auth_pending){ a, req, flags, ok, arg, xstrdup(cred.data), NULL, 1, 0 };
	auth_client_addr(req, p->addr, sizeof p->addr);
	auth_pair_key(a, cred.data, pass, p->pair);
	TAILQ_INSERT_TAIL(&a->pending, p, entry);
	if (auth_basic_refused(a, req, p->user, p->addr, p->pair)) {
		auth_wipe(&cred);
		auth_pending_free(p);
		return;
	}
	http_req_set_abort(req, auth_pending_abort, p);
	handle = a->verifier.start(a->verifier.ctx, cred.data, pass, auth_verified, p);
	auth_wipe(&cred);
	if (p->finished)
		auth_pending_free(p);
	else {
		p->in_start = 0;
		p->handle = p->verified ? NULL : handle;
		auth_pending_take_slot(a, p);
	}
}

/* Whether a Content-Type value is application/json (parameters allowed). */
static int
auth_is_json(const char *ct)
{
	ct += strspn(ct, " \t");
	return strncasecmp(ct, "application/json", 16) == 0 &&
	    (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ' || ct[16] == '\t');
}

/* Whether origin is the gateway's own: gws.public_url's, or scheme and Host of the request. */
static int
auth_origin_own(struct auth *a, struct http_req *req, const char *origin)
{
	const char *host = http_req_header(req, "Host"), *pub = a->cfg->gws_public_url;
	const char *scheme = http_req_client_tls(req) ? "https://" : "http://";
	size_t sl = strlen(scheme), n;

	if (pub != NULL) {
		n = (size_t)(strchr(pub, ':') - pub) + 3; /* past "://" */
		n += strcspn(pub + n, "/");
		if (strlen(origin) == n && strncasecmp(origin, pub, n) == 0)
			return 1;
	}
	return host != NULL && strncmp(origin, scheme, sl) == 0 &&
	    strcasecmp(origin + sl, host) == 0;
}

/*
 * A state-changing request a browser could send cross-site: an Origin that
 * is neither ours nor allowed (403), or a body that is not declared JSON
 * (415: forms and text/plain need no preflight). Returns 1 if refused.
 */
static int
auth_write_refused(struct auth *a, struct http_req *req)
{
	static struct log_limit ll_origin, ll_ctype;
	const char *m = http_req_method(req), *origin = http_req_header(req, "Origin");
	const char *ct = http_req_header(req, "Content-Type");
	size_t len;

	if (!auth_is_write(m))
		return 0;
	if (origin != NULL && !auth_origin_allowed(a, origin) && !auth_origin_own(a, req, origin)) {
		log_limited(&ll_origin, LOG_INFO, "auth: %s: %s %s refused: Origin not allowed",
		    http_req_peer(req), m, http_req_path(req));
		gws_reply_error(req, 403, GWS_FORBIDDEN, "Origin not allowed");
		return 1;
	}
	http_req_body(req, &len);
	if (strcmp(m, "DELETE") != 0 && (ct != NULL ? !auth_is_json(ct) : len > 0)) {
		log_limited(&ll_ctype, LOG_INFO, "auth: %s: %s %s refused: not application/json",
		    http_req_peer(req), m, http_req_path(req));
		gws_reply_error(
		    req, 415, GWS_INVALID_STATE, "Content-Type must be application/json");
		return 1;
	}
	return 0;
}

/* Authenticate a request; see auth.h. */
void
auth_request(struct auth *a, struct http_req *req, int flags, auth_ok_cb ok, void *arg)
{
	const char *h = http_req_header(req, "Authorization");
	struct auth_session *s;

	auth_expire(a);
	auth_cors_headers(a, req);
	if (auth_write_refused(a, req))
		return;
	if (h != NULL) {
		auth_basic(a, req, h, flags, ok, arg);
		return;
	}
	if ((s = auth_session_find(a, req)) == NULL) {
		auth_deny(req);
		return;
	}
	auth_session_touch(a, s);
	auth_finish(a, req, s, 0, flags, ok, arg);
}

/* Mirror login sessions through hook (NULL: none); see auth.h. */
void
auth_set_session_hook(struct auth *a, const struct auth_session_hook *hook)
{
	a->hooked = hook != NULL;
	if (hook != NULL)
		a->hook = *hook;
}

/*
 * Whom req claims to be by its cookie: the user of its live local session,
 * else NULL with the well-formed JSESSIONID values in sids (at most max;
 * *n of them, 0 when there is none).
 */
const char *
auth_claimed_user(
    struct auth *a, struct http_req *req, char (*sids)[AUTH_SID_BUF], size_t max, size_t *n)
{
	const char *pos = http_req_header(req, "Cookie");
	char id[AUTH_SID_LEN + 1];
	struct auth_session *s;

	*n = 0;
	auth_expire(a);
	if ((s = auth_session_find(a, req)) != NULL)
		return s->user;
	while (*n < max && auth_cookie_next(&pos, id, sizeof id) == 0) {
		if (strlen(id) == AUTH_SID_LEN && strspn(id, UTIL_BASE62) == AUTH_SID_LEN)
			memcpy(sids[(*n)++], id, AUTH_SID_LEN + 1);
	}
	OPENSSL_cleanse(id, sizeof id);
	return NULL;
}

/* Know the session sid of user from now on (found in the cluster's store). */
void
auth_adopt(struct auth *a, const char *sid, const char *user)
{
	struct auth_session *s;

	if (strlen(sid) != AUTH_SID_LEN || strspn(sid, UTIL_BASE62) != AUTH_SID_LEN)
		return;
	if ((s = hmap_get(a->by_sid, sid)) != NULL) {
		if (strcmp(s->user, user) == 0)
			return;
		auth_session_free(a, s);
	}
	auth_session_new(a, user, sid);
}

/* Give user's live sessions to the session hook's store again (Redis lost its copy). */
void
auth_restore(struct auth *a, const char *user)
{
	struct auth_user *u;
	struct auth_session *s;

	if (!a->hooked || (u = hmap_get(a->users, user)) == NULL)
		return;
	TAILQ_FOREACH(s, &u->sessions, by_user)
	{
		s->stored = util_now_ms();
		a->hook.store(a->hook.arg, s->id, s->user, NULL, NULL); /* nothing waits */
	}
}

/* End the session named by the request's cookie. */
void
auth_logout(struct auth *a, struct http_req *req)
{
	struct auth_session *s;

	if ((s = auth_session_find(a, req)) != NULL)
		auth_session_free(a, s);
}

/* Hex SHA-256 of salt || password. */
void
auth_hash_password(const char *salt, const char *password, char *out)
{
	unsigned char md[32];

	util_sha256(salt, strlen(salt), password, strlen(password), md);
	for (size_t i = 0; i < sizeof md; i++) {
		out[2 * i] = UTIL_HEX[md[i] >> 4];
		out[2 * i + 1] = UTIL_HEX[md[i] & 15];
	}
	out[64] = '\0';
	OPENSSL_cleanse(md, sizeof md);
}

/* Check user/password against auth.users; same work whether the user exists or not. */
int
auth_static_check(const struct json *users, const char *user, const char *password)
{
	const char *salt = "no-such-user", *want = NULL, *u;
	char got[65];
	int good;

	for (size_t i = 0; users != NULL && users->type == JSON_ARRAY && i < users->u.arr.n; i++) {
		const struct json *e = users->u.arr.v[i];

		if ((u = json_get_str(e, "user")) != NULL && strcmp(u, user) == 0) {
			salt = json_get_str(e, "salt");
			want = json_get_str(e, "password_sha256");
			break;
		}
	}
	auth_hash_password(salt, password, got);
	good = util_streq_ct(got, want != NULL ? want : "x") && want != NULL;
	OPENSSL_cleanse(got, sizeof got);
	return good;
}

/* The static verifier: answers at once from auth.users. */
static void *
auth_static_start(
    void *ctx, const char *user, const char *password, auth_verify_done done, void *arg)
{
	struct auth *a = ctx;
	const struct json *users = a->cfg->auth_users ? json_root(a->cfg->auth_users) : NULL;

	done(arg, auth_static_check(users, user, password));
	return NULL;
}

/* Row check for auth.users: [{"user","salt","password_sha256" (64 hex)}]. */
const char *
auth_check_users(const struct json *v, char **freeit)
{
	const char *u, *salt, *hash;

	if (v->type != JSON_ARRAY)
		return "expected an array of {\"user\", \"salt\", \"password_sha256\"}";
	for (size_t i = 0; i < v->u.arr.n; i++) {
		const struct json *e = v->u.arr.v[i];

		if (e->type != JSON_OBJECT || e->u.obj.n != 3 ||
		    (u = json_get_str(e, "user")) == NULL || *u == '\0' || strchr(u, ':') ||
		    (salt = json_get_str(e, "salt")) == NULL ||
		    (hash = json_get_str(e, "password_sha256")) == NULL) {
			xasprintf(freeit,
			    "entry %zu: expected {\"user\", \"salt\", \"password_sha256\"}"
			    " and nothing else (user non-empty, without ':')",
			    i + 1);
			return *freeit;
		}
		if (strlen(hash) != 64 || strspn(hash, UTIL_HEX) != 64) {
			xasprintf(freeit,
			    "entry %zu (%s): password_sha256 must be 64 lower-case hex "
			    "digits",
			    i + 1, u);
			return *freeit;
		}
	}
	return NULL;
}
