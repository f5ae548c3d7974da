/*
 * auth.h: who a desktop request belongs to. HTTP Basic on any request, or
 * the JSESSIONID cookie the gateway issues on the first authenticated
 * response; CSRF headers (X-CSRF-HEADER / X-CSRF-TOKEN) and optional CSRF
 * enforcement; CORS with credentials for configured origins. Checking a
 * user's password is left to a pluggable, asynchronous verifier: the
 * built-in "static" one (auth.users in the configuration) or one set with
 * auth_set_verifier (the UCWA sign-in). Credentials, cookies and tokens are
 * never logged; every secret comparison is constant-time.
 */
#ifndef UCGW_AUTH_H
#define UCGW_AUTH_H

#include <event2/event.h>

#include "config.h"
#include "httpd.h"

struct agents;
struct auth;

/*
 * A verifier: start() checks user/password and calls done(arg, ok) exactly
 * once, now or later (ok: 1 good, 0 bad, -1 could not check). It returns a
 * handle for cancel(), which stops a pending check without calling done;
 * a verifier that always answers at once may return NULL.
 */
typedef void (*auth_verify_done)(void *arg, int ok);
struct auth_verifier {
	const char *name;
	void *(*start)(
	    void *ctx, const char *user, const char *password, auth_verify_done done, void *arg);
	void (*cancel)(void *ctx, void *handle);
	void *ctx;
};

/* The request is authenticated as agent (valid during the call only). */
typedef void (*auth_ok_cb)(struct http_req *, const char *agent, void *arg);

/* Flags for auth_request. */
#define AUTH_NO_CSRF 0x1 /* never enforce CSRF (the Bayeux endpoint) */

struct auth *auth_create(struct event_base *, const struct config *);
void auth_set_config(struct auth *, const struct config *);
void auth_free(struct auth *);
/*
 * The agents to link each user's login sessions with
 * (agent->links[AGENTS_SLOT_LOGINS], non-owning; agent.h): agents_link_keep
 * hooks their creation and removal stage LOGINS. NULL (the default, and
 * before the registry is freed): no links.
 */
void auth_set_agents(struct auth *, struct agents *);
/* Cluster mode, before taking a lease for user: 429 and 1 if user or the address backs off. */
int auth_backing_off(struct auth *, struct http_req *, const char *user);
/* Cluster mode: make CSRF tokens with this key (the same on every node). */
void auth_set_csrf_key(struct auth *, const unsigned char key[32]);
/* Replace the verifier (NULL: back to the static one). */
void auth_set_verifier(struct auth *, const struct auth_verifier *);

/*
 * Authenticate req. On success the response headers (Set-Cookie for a new
 * session, CSRF headers on GET, CORS headers) are added and ok() runs,
 * maybe later; otherwise auth answers req itself (401 or 403) and ok()
 * never runs. If the connection dies while the verifier works, nothing runs.
 */
void auth_request(struct auth *, struct http_req *, int flags, auth_ok_cb ok, void *arg);
/* Whether origin is one of auth.cors_origins (exact match; NULL: no). */
int auth_origin_allowed(struct auth *, const char *origin);
/* Answer a CORS preflight (OPTIONS with Origin); returns 1 if it did. */
int auth_preflight(struct auth *, struct http_req *);
/* End the session named by req's cookie, if any (EndContactCenterSession). */
void auth_logout(struct auth *, struct http_req *);
unsigned auth_nsessions(const struct auth *);

/* What happens to a login session, for the session hook (cluster mode's store). */
enum auth_session_event {
	AUTH_SESSION_CREATED, /* made: given to store() before its Set-Cookie is sent */
	AUTH_SESSION_USED,  /* used again, a third of auth.session_idle_ms after the last report */
	AUTH_SESSION_ENDED, /* logout, idle expiry or room made (never at process end) */
};
typedef void (*auth_stored_cb)(void *arg);
/* Where login sessions are mirrored (cluster mode). */
struct auth_session_hook {
	/* A session used again (AUTH_SESSION_USED) or ended (AUTH_SESSION_ENDED). */
	void (*event)(void *arg, enum auth_session_event, const char *sid, const char *user);
	/*
	 * A session made: store it and call done(done_arg) once, later, when
	 * stored or given up; return a handle for cancel(). NULL: nothing to
	 * wait for (done never runs).
	 */
	void *(*store)(
	    void *arg, const char *sid, const char *user, auth_stored_cb done, void *done_arg);
	/* The request went away first: done must not run (the store itself may go on). */
	void (*cancel)(void *arg, void *handle);
	void *arg;
};
/* Mirror login sessions through hook (copied; NULL: none). The response carrying a new
 * session's Set-Cookie waits for store()'s done. */
void auth_set_session_hook(struct auth *, const struct auth_session_hook *);
/* A session id (JSESSIONID value) with its NUL: 32 base62 characters. */
#define AUTH_SID_BUF 33
/*
 * Whom req claims to be by its cookie: its live local session's user, else
 * NULL, with the well-formed JSESSIONID values in sids (at most max, *n of
 * them; a browser may send stale ones too). Nothing is verified beyond the
 * cookie; never log a sid.
 */
const char *auth_claimed_user(
    struct auth *, struct http_req *, char (*sids)[AUTH_SID_BUF], size_t max, size_t *n);
/* Know session sid (found in the cluster's store) as user's from now on. */
void auth_adopt(struct auth *, const char *sid, const char *user);

/* Store user's live sessions through the hook again (its copy was lost: Redis restarted). */
void auth_restore(struct auth *, const char *user);

/* The static verifier's check (exposed for unit tests): 1 good, 0 bad. */
int auth_static_check(const struct json *users, const char *user, const char *password);
/* Hex SHA-256 of salt followed by password (65 bytes out). */
void auth_hash_password(const char *salt, const char *password, char *out);
/* A row check for auth.users. */
const char *auth_check_users(const struct json *, char **freeit);

#endif
