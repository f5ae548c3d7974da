/*
 * test_auth.c: the static verifier (salted SHA-256, unknown users and wrong
 * passwords refused), the check of the auth.users configuration key, and
 * the asynchronous verifier interface driven through a real httpd on
 * loopback: a late answer authenticates the request and issues a session
 * cookie; a connection that dies while the check runs cancels it. The
 * link between an agent and its login sessions
 * (agent->links[AGENTS_SLOT_LOGINS]), made whichever comes second and
 * cleared on both sides when either goes.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "auth.h"
#include "config.h"
#include "httpd.h"
#include "json.h"
#include "unit.h"

static struct json_doc *
parse(const char *text)
{
	struct json_error err;
	struct json_doc *d = json_parse(text, strlen(text), NULL, &err);

	ck_assert_msg(d != NULL, "%s", err.msg);
	return d;
}

START_TEST(test_hash_known_vector)
{
	char out[65];

	/* sha256("abc"), split as salt "a" + password "bc" */
	auth_hash_password("a", "bc", out);
	ck_assert_str_eq(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(test_static_check)
{
	char hash[65], *text;
	struct json_doc *d;

	auth_hash_password("s1", "secret", hash);
	xasprintf(
	    &text, "[{\"user\":\"agent1\",\"salt\":\"s1\",\"password_sha256\":\"%s\"}]", hash);
	d = parse(text);
	ck_assert_int_eq(auth_static_check(json_root(d), "agent1", "secret"), 1);
	ck_assert_int_eq(auth_static_check(json_root(d), "agent1", "secreT"), 0);
	ck_assert_int_eq(auth_static_check(json_root(d), "agent1", ""), 0);
	ck_assert_int_eq(auth_static_check(json_root(d), "agent2", "secret"), 0);
	ck_assert_int_eq(auth_static_check(NULL, "agent1", "secret"), 0);
	json_doc_free(d);
	free(text);
}
END_TEST

START_TEST(test_check_users)
{
	static const char *bad[] = {
		"{}",
		"[{\"user\":\"a\",\"salt\":\"s\"}]",
		"[{\"user\":\"a:b\",\"salt\":\"s\",\"password_sha256\":\""
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}]",
		"[{\"user\":\"a\",\"salt\":\"s\",\"password_sha256\":\"abc\"}]",
		"[{\"user\":\"a\",\"salt\":\"s\",\"password\":\"x\",\"password_sha256\":\""
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}]",
	};
	struct json_doc *d;
	char *freeit = NULL;

	d = parse("[{\"user\":\"a\",\"salt\":\"s\",\"password_sha256\":"
		  "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}]");
	ck_assert_ptr_null(auth_check_users(json_root(d), &freeit));
	json_doc_free(d);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		d = parse(bad[i]);
		ck_assert_msg(
		    auth_check_users(json_root(d), &freeit) != NULL, "accepted %s", bad[i]);
		free(freeit);
		freeit = NULL;
		json_doc_free(d);
	}
}
END_TEST

/* A fake asynchronous verifier: remembers the pending check. */
struct fake {
	auth_verify_done done;
	void *arg;
	char user[64];
	int started, cancelled, oks;
	struct auth *auth;
};

static void *
fake_start(void *ctx, const char *user, const char *password, auth_verify_done done, void *arg)
{
	struct fake *f = ctx;

	f->done = done;
	f->arg = arg;
	snprintf(f->user, sizeof f->user, "%s", user);
	f->started++;
	ck_assert_str_eq(password, "pw");
	return f;
}

static void
fake_cancel(void *ctx, void *handle)
{
	struct fake *f = ctx;

	ck_assert_ptr_eq(handle, f);
	f->cancelled++;
	f->done = NULL;
}

static void
fake_ok(struct http_req *req, const char *agent, void *arg)
{
	struct fake *f = arg;

	f->oks++;
	http_req_reply(req, 200, "text/plain", agent, strlen(agent));
}

static void
fake_handler(struct http_req *req, void *arg)
{
	struct fake *f = arg;

	auth_request(f->auth, req, 0, fake_ok, f);
}

/* Connect a blocking socket to port and send a request with Basic user:pw. */
static int
fake_client(int port)
{
	struct sockaddr_in sin = { 0 };
	const char *req = "GET /x HTTP/1.1\r\nHost: t\r\nAuthorization: Basic dXNlcjE6cHc=\r\n\r\n";
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(write(fd, req, strlen(req)), (int)strlen(req));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Run the loop until cond or about two seconds. */
#define LOOP_UNTIL(base, cond)                                                                     \
	do {                                                                                       \
		for (int i_ = 0; i_ < 2000 && !(cond); i_++) {                                     \
			event_base_loop((base), EVLOOP_ONCE | EVLOOP_NONBLOCK);                    \
			usleep(1000);                                                              \
		}                                                                                  \
	} while (0)

START_TEST(test_async_verifier)
{
	struct event_base *base = event_base_new();
	struct httpd_limits lim = { 16384, 65536, 10, 5000, 5000, 5000 };
	struct fake f = { 0 };
	struct auth_verifier v = { "fake", fake_start, fake_cancel, &f };
	struct config *cfg;
	char bound[64], *cause = NULL, *problems = NULL, resp[2048] = "";
	struct httpd *h;
	ssize_t n = 0;
	int fd;

	cfg = conf_load(&config_schema, NULL, NULL, &problems);
	ck_assert_ptr_nonnull(cfg);
	f.auth = auth_create(base, cfg);
	auth_set_verifier(f.auth, &v);
	h = httpd_create(base, &lim, fake_handler, &f);
	ck_assert_int_eq(
	    httpd_listen(h, "http://127.0.0.1:0", NULL, bound, sizeof bound, &cause), 0);

	/* A late good answer: the request goes on, with a new session cookie. */
	fd = fake_client(atoi(strrchr(bound, ':') + 1));
	LOOP_UNTIL(base, f.started == 1);
	ck_assert_int_eq(f.started, 1);
	ck_assert_str_eq(f.user, "user1");
	ck_assert_int_eq(f.oks, 0);
	f.done(f.arg, 1);
	LOOP_UNTIL(base, (n = read(fd, resp, sizeof resp - 1)) > 0);
	ck_assert_int_gt(n, 0);
	resp[n] = '\0';
	ck_assert_int_eq(f.oks, 1);
	ck_assert_ptr_nonnull(strstr(resp, "HTTP/1.1 200"));
	ck_assert_ptr_nonnull(strstr(resp, "Set-Cookie: JSESSIONID="));
	ck_assert_ptr_nonnull(strstr(resp, "X-CSRF-TOKEN: "));
	ck_assert_uint_eq(auth_nsessions(f.auth), 1);
	close(fd);

	/* The desktop goes away while the check runs: cancelled, never answered. */
	fd = fake_client(atoi(strrchr(bound, ':') + 1));
	LOOP_UNTIL(base, f.started == 2);
	ck_assert_int_eq(f.started, 2);
	close(fd);
	LOOP_UNTIL(base, f.cancelled == 1);
	ck_assert_int_eq(f.cancelled, 1);
	ck_assert_int_eq(f.oks, 1);

	/* A bad answer: 401. */
	fd = fake_client(atoi(strrchr(bound, ':') + 1));
	LOOP_UNTIL(base, f.started == 3);
	f.done(f.arg, 0);
	LOOP_UNTIL(base, (n = read(fd, resp, sizeof resp - 1)) > 0);
	ck_assert_int_gt(n, 0);
	resp[n] = '\0';
	ck_assert_ptr_nonnull(strstr(resp, "HTTP/1.1 401"));
	ck_assert_ptr_nonnull(strstr(resp, "\"statusCode\":20"));
	close(fd);

	httpd_free(h);
	auth_free(f.auth);
	conf_free(&config_schema, cfg);
	event_base_free(base);
}
END_TEST

/* The handler of the link test: GET /logout ends the cookie's session, anything else authenticates. */
static void
link_handler(struct http_req *req, void *arg)
{
	struct fake *f = arg;

	if (strcmp(http_req_path(req), "/logout") == 0) {
		auth_logout(f->auth, req);
		http_req_reply(req, 200, "text/plain", "bye", 3);
	} else
		auth_request(f->auth, req, 0, fake_ok, f);
}

/* Send text to port, read the answer into resp (blocking socket, loop run meanwhile). */
static void
link_exchange(struct event_base *base, int port, const char *text, char *resp, size_t len)
{
	struct sockaddr_in sin = { 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n = 0;

	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	LOOP_UNTIL(base, (n = read(fd, resp, len - 1)) > 0);
	ck_assert_int_gt(n, 0);
	resp[n] = '\0';
	close(fd);
}

/* Authenticate user1 on port, the fake verifier saying yes; the answer into resp. */
static void
link_login(struct event_base *base, int port, struct fake *f, char *resp, size_t len)
{
	const char *hello =
	    "GET /x HTTP/1.1\r\nHost: t\r\nAuthorization: Basic dXNlcjE6cHc=\r\n\r\n";
	struct sockaddr_in sin = { 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), started = f->started;
	ssize_t n = 0;

	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(write(fd, hello, strlen(hello)), (int)strlen(hello));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	LOOP_UNTIL(base, f->started == started + 1);
	ck_assert_int_eq(f->started, started + 1);
	f->done(f->arg, 1);
	LOOP_UNTIL(base, (n = read(fd, resp, len - 1)) > 0);
	ck_assert_int_gt(n, 0);
	resp[n] = '\0';
	close(fd);
}

START_TEST(test_agent_link)
{
	struct event_base *base = event_base_new();
	struct httpd_limits lim = { 16384, 65536, 10, 5000, 5000, 5000 };
	struct fake f = { 0 };
	struct auth_verifier v = { "fake", fake_start, fake_cancel, &f };
	char bound[64], *cause = NULL, *problems = NULL, resp[2048], req[256];
	const char *cookie;
	struct config *cfg;
	struct agents *r;
	struct agent *a, *b;
	struct httpd *h;
	int port;

	cfg = conf_load(&config_schema, NULL, NULL, &problems);
	ck_assert_ptr_nonnull(cfg);
	f.auth = auth_create(base, cfg);
	auth_set_verifier(f.auth, &v);
	r = agents_create(base, 60000);
	auth_set_agents(f.auth, r);
	h = httpd_create(base, &lim, link_handler, &f);
	ck_assert_int_eq(
	    httpd_listen(h, "http://127.0.0.1:0", NULL, bound, sizeof bound, &cause), 0);
	port = atoi(strrchr(bound, ':') + 1);

	/* The agent first: its first session links them. */
	a = agents_get(r, "user1");
	ck_assert_ptr_null(a->links[AGENTS_SLOT_LOGINS]);
	link_login(base, port, &f, resp, sizeof resp);
	ck_assert_uint_eq(auth_nsessions(f.auth), 1);
	ck_assert_ptr_nonnull(a->links[AGENTS_SLOT_LOGINS]);
	ck_assert_ptr_nonnull(cookie = strstr(resp, "JSESSIONID="));

	/* Removal unlinks both sides; the session stays. */
	agents_remove(r, a, "test");
	ck_assert_ptr_null(a->links[AGENTS_SLOT_LOGINS]);
	ck_assert_uint_eq(auth_nsessions(f.auth), 1);
	event_base_loop(base, EVLOOP_NONBLOCK);

	/* The sessions first: the new agent is linked (the sessions let go of the old one). */
	b = agents_get(r, "user1");
	ck_assert_ptr_nonnull(b->links[AGENTS_SLOT_LOGINS]);

	/* The last session ends: the agent's link is cleared. */
	snprintf(req, sizeof req, "GET /logout HTTP/1.1\r\nHost: t\r\nCookie: %.*s\r\n\r\n",
	    (int)strcspn(cookie, ";\r"), cookie);
	link_exchange(base, port, req, resp, sizeof resp);
	ck_assert_uint_eq(auth_nsessions(f.auth), 0);
	ck_assert_ptr_null(b->links[AGENTS_SLOT_LOGINS]);

	/* Sessions made again link again; letting go of the registry unlinks. */
	link_login(base, port, &f, resp, sizeof resp);
	ck_assert_uint_eq(auth_nsessions(f.auth), 1);
	ck_assert_ptr_nonnull(b->links[AGENTS_SLOT_LOGINS]);
	auth_set_agents(f.auth, NULL);
	ck_assert_ptr_null(b->links[AGENTS_SLOT_LOGINS]);

	httpd_free(h);
	auth_free(f.auth);
	agents_free(r);
	conf_free(&config_schema, cfg);
	event_base_free(base);
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite *s = suite_create("auth");

	UNIT_ADD(s, test_hash_known_vector);
	UNIT_ADD(s, test_static_check);
	UNIT_ADD(s, test_check_users);
	UNIT_ADD(s, test_async_verifier);
	UNIT_ADD(s, test_agent_link);
	return s;
}
UNIT_MAIN(auth_suite)
