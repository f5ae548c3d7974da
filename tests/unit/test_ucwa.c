/*
 * test_ucwa.c: unit tests of the UCWA agent (ucwa.c, ucwa_chan.c) against
 * the in-process fake server of fake_ucwa.c: sign-in, failures told
 * apart, the P-GET discipline (timeout parameter, next, resync, resume,
 * 409, same URL after a timeout), token expiry in a conversation, a lost
 * application, command errors, message order and the once-only incoming
 * first message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "conf.h"
#include "fake_ucwa.h"
#include "hclient.h"
#include "ucwa.h"
#include "unit.h"
#include "util.h"

struct t {
	struct fake f;
	struct ucwa *u;
	struct ucwa_agent *a;
	int signed_in;
	int ready_again;
	int ready_in_cb; /* ucwa_agent_ready() inside ready_again */
	int failed;
	enum ucwa_failure failure;
	char why[512];
	int ended;
	char ended_why[256];
	char conv[256];
	int inv_started, inv_completed;
	char inv_status[32];
	int msg_out_completed;
	char msg_out_href[256], msg_out_opid[64]; /* of the last one */
	int msg_in;
	char msg_in_text[256];
	int msg_in_preview; /* delivered without a self href */
	int typing;
	int messaging_changes; /* messaging changes with a sendMessage link */
	int done_ok, done_err;
	struct ucwa_result last;
	char last_message[256], last_code[64], last_subcode[64], last_location[256];
	int order_bad; /* sendMessage callbacks out of order */
	int next_done;
	int accept_on_invite;
	int free_on_signed_in;
	int listed_at_signin; /* the fake's conversation listings when signed_in came */
};

static void
cb_signed_in(void *arg)
{
	struct t *t = arg;

	t->signed_in++;
	t->listed_at_signin = t->f.convs_listed;
	if (t->free_on_signed_in) {
		ucwa_agent_free(t->a); /* inside the agent's own callback */
		t->a = NULL;
	}
}

static void
cb_ready_again(void *arg)
{
	struct t *t = arg;

	t->ready_again++;
	t->ready_in_cb = ucwa_agent_ready(t->a);
}

static void
cb_failed(enum ucwa_failure f, const char *why, void *arg)
{
	struct t *t = arg;

	t->failed++;
	t->failure = f;
	snprintf(t->why, sizeof(t->why), "%s", why);
}

static void cb_done(const struct ucwa_result *, void *);

static void
cb_change(const struct ucwa_change *c, void *arg)
{
	struct t *t = arg;

	if (c->kind == UCWA_INVITATION && c->type == UCWA_STARTED) {
		t->inv_started++;
		snprintf(t->conv, sizeof(t->conv), "%s", c->conversation);
		if (t->accept_on_invite && c->accept != NULL)
			ck_assert_ptr_null(ucwa_accept(t->a, c->conversation, cb_done, t));
	}
	if (c->kind == UCWA_INVITATION && c->type == UCWA_COMPLETED) {
		t->inv_completed++;
		snprintf(t->inv_status, sizeof(t->inv_status), "%s", c->status ? c->status : "");
	}
	if (c->kind == UCWA_MESSAGE && c->direction && strcmp(c->direction, "Outgoing") == 0 &&
	    c->type == UCWA_COMPLETED) {
		t->msg_out_completed++;
		snprintf(t->msg_out_href, sizeof(t->msg_out_href), "%s", c->href);
		snprintf(t->msg_out_opid, sizeof(t->msg_out_opid), "%s",
		    c->operation_id ? c->operation_id : "");
	}
	if (c->kind == UCWA_MESSAGE && c->direction && strcmp(c->direction, "Incoming") == 0) {
		t->msg_in++;
		snprintf(t->msg_in_text, sizeof(t->msg_in_text), "%s", c->text);
		if (c->self == NULL)
			t->msg_in_preview++;
	}
	if (c->kind == UCWA_TYPING)
		t->typing++;
	if (c->kind == UCWA_MESSAGING && c->send_message != NULL)
		t->messaging_changes++;
}

static void
cb_ended(const char *conv, const char *why, void *arg)
{
	struct t *t = arg;

	t->ended++;
	snprintf(t->ended_why, sizeof(t->ended_why), "%s", why);
}

static void
cb_done(const struct ucwa_result *r, void *arg)
{
	struct t *t = arg;

	if (r->ok)
		t->done_ok++;
	else
		t->done_err++;
	t->last = *r;
	snprintf(t->last_message, sizeof(t->last_message), "%s", r->message ? r->message : "");
	snprintf(t->last_code, sizeof(t->last_code), "%s", r->code ? r->code : "");
	snprintf(t->last_subcode, sizeof(t->last_subcode), "%s", r->subcode ? r->subcode : "");
	snprintf(t->last_location, sizeof(t->last_location), "%s", r->location ? r->location : "");
}

static const struct ucwa_cbs cbs = { cb_signed_in, cb_failed, cb_change, cb_ended, cb_ready_again };

static void
conf_default(struct t *t, struct ucwa_conf *c, int discovery)
{
	static char root[160], apps[160];

	memset(c, 0, sizeof(*c));
	snprintf(root, sizeof(root), "%s/", t->f.url);
	snprintf(apps, sizeof(apps), "%s/apps", t->f.url);
	if (discovery)
		c->discovery_url = root;
	else
		c->applications_url = apps;
	c->verify = 1;
	c->user_agent = "ucgw-test";
	c->culture = "en-US";
	c->connect_timeout_ms = 2000;
	c->request_timeout_ms = 2000;
	c->pget_timeout_s = 180;
	c->pget_read_timeout_ms = 200000;
	c->activity_interval_s = 180;
	c->token_margin_s = 300;
	c->max_outstanding = 90;
	c->max_send_queue = 256;
	c->backoff_min_ms = 20;
	c->backoff_max_ms = 200;
	c->preview_wait_ms = 300;
}

static void
t_start(struct t *t, struct ucwa_conf *c)
{
	char *cause = NULL;

	t->u = ucwa_new(t->f.base, c, &cause);
	ck_assert_msg(t->u != NULL, "%s", cause ? cause : "");
	t->a = ucwa_agent_new(t->u, "alice@contoso.com", "secret", &cbs, t);
}

static void
t_tick(evutil_socket_t fd, short what, void *arg)
{
}

/* Run the loop until cond holds (or fail after 10 s). */
#define WAIT(t, cond)                                                                              \
	do {                                                                                       \
		uint64_t until_ = util_now_ms() + 10000;                                           \
		struct event *tick_ = event_new((t)->f.base, -1, EV_PERSIST, t_tick, NULL);        \
		struct timeval tv_ = { 0, 10000 };                                                 \
                                                                                                   \
		event_add(tick_, &tv_);                                                            \
		while (!(cond) && util_now_ms() < until_)                                          \
			event_base_loop((t)->f.base, EVLOOP_ONCE);                                 \
		event_free(tick_);                                                                 \
		ck_assert_msg((cond), "timed out waiting for: %s", #cond);                         \
	} while (0)

/* Spin the loop for ms (to show that something does NOT happen). */
static void
t_spin(struct t *t, unsigned ms)
{
	uint64_t until = util_now_ms() + ms;
	struct event *tick = event_new(t->f.base, -1, EV_PERSIST, t_tick, NULL);
	struct timeval tv = { 0, 10000 };

	event_add(tick, &tv);
	while (util_now_ms() < until)
		event_base_loop(t->f.base, EVLOOP_ONCE);
	event_free(tick);
}

static void
t_stop(struct t *t)
{
	if (t->a != NULL)
		ucwa_agent_free(t->a);
	t->a = NULL;
	t_spin(t, 30);
	ucwa_free(t->u);
	fake_stop(&t->f);
}

/* Signed in with an outgoing conversation connected. */
static void
t_connected(struct t *t, struct ucwa_conf *c)
{
	t_start(t, c);
	WAIT(t, t->signed_in == 1 && t->f.pget != NULL);
	ck_assert_ptr_null(ucwa_start_messaging(
	    t->a, "sip:bob@contoso.com", "op-1", "hello", "Normal", cb_done, t));
	WAIT(t, t->done_ok == 1 && t->inv_completed == 1);
}

/* Whether s is a UUID of version 8, variant 10, in lower case. */
static int
is_uuid_v8(const char *s)
{
	if (strlen(s) != UCWA_ENDPOINT_ID_LEN || s[14] != '8' || strchr("89ab", s[19]) == NULL)
		return 0;
	for (int i = 0; i < UCWA_ENDPOINT_ID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (strchr("0123456789abcdef", s[i]) == NULL)
			return 0;
	}
	return 1;
}

START_TEST(test_endpoint_id_derivation)
{
	static const char url[] = "http://127.0.0.1:8081/";
	unsigned char key[32];
	char a[UCWA_ENDPOINT_ID_LEN + 1], b[UCWA_ENDPOINT_ID_LEN + 1];

	for (int i = 0; i < 32; i++)
		key[i] = (unsigned char)i;
	/* known answers: HMAC-SHA-256(SHA-256("ucgw endpointId v1\0" || key), lower(user)) */
	ucwa_endpoint_id(url, strlen(url), "agent1", a);
	ck_assert_str_eq(a, "7915fd9f-0f65-8930-b3c2-e484676e0c9b");
	ucwa_endpoint_id(key, sizeof(key), "Agent1@Contoso.com", a);
	ck_assert_str_eq(a, "6446d118-13f3-82af-b2ae-991aa19e612c");
	ck_assert(is_uuid_v8(a));
	/* the same on every run and node; user names without ASCII case */
	ucwa_endpoint_id(key, sizeof(key), "agent1@contoso.com", b);
	ck_assert_str_eq(a, b);
	/* another user, another key (deployment), one byte of it: another id */
	ucwa_endpoint_id(key, sizeof(key), "agent2@contoso.com", b);
	ck_assert_str_ne(a, b);
	ck_assert(is_uuid_v8(b));
	key[31] ^= 1;
	ucwa_endpoint_id(key, sizeof(key), "agent1@contoso.com", b);
	ck_assert_str_ne(a, b);
	ucwa_endpoint_id(key, sizeof(key) - 1, "agent1@contoso.com", b);
	ck_assert_str_ne(a, b);
	ucwa_endpoint_id("", 0, "", b);
	ck_assert(is_uuid_v8(b));
}
END_TEST

START_TEST(test_endpoint_id_of_agents)
{
	struct t t;
	struct ucwa_conf c;
	char want[UCWA_ENDPOINT_ID_LEN + 1];
	const char *key = "deployment-1";

	/* unset key: the upstream URL keys it */
	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 0);
	t_start(&t, &c);
	WAIT(&t, t.signed_in == 1);
	ucwa_endpoint_id(c.applications_url, strlen(c.applications_url), "alice@contoso.com", want);
	ck_assert_str_eq(t.f.endpoint_id, want);
	t_stop(&t);

	/* a configured key; the conf's copy is not needed after ucwa_new */
	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 0);
	c.endpoint_key = key;
	c.endpoint_key_len = strlen(key);
	t_start(&t, &c);
	c.endpoint_key = NULL;
	WAIT(&t, t.signed_in == 1);
	ucwa_endpoint_id(key, strlen(key), "alice@contoso.com", want);
	ck_assert_str_eq(t.f.endpoint_id, want);
	/* signed out and in again: the same EndpointId */
	ucwa_agent_free(t.a);
	t_spin(&t, 50);
	t.f.endpoint_id[0] = '\0';
	t.signed_in = 0;
	t.a = ucwa_agent_new(t.u, "alice@contoso.com", "secret", &cbs, &t);
	WAIT(&t, t.signed_in == 1);
	ck_assert_str_eq(t.f.endpoint_id, want);
	t_stop(&t);
}
END_TEST

/* The EndpointId of user under the key a configuration (with overrides ov) gives. */
static void
config_endpoint_id(const char *const *ov, const char *user, char out[UCWA_ENDPOINT_ID_LEN + 1])
{
	struct conf_overrides o = { 0 };
	char *problems = NULL, *cause = NULL;
	struct config *cfg;
	struct ucwa_conf uc;
	struct buf vp;

	for (; *ov != NULL; ov++)
		ck_assert_int_eq(conf_override_add(&o, *ov, &cause), 0);
	cfg = conf_load(&config_schema, NULL, &o, &problems);
	ck_assert_msg(cfg != NULL, "%s", problems ? problems : "");
	buf_init(&vp);
	config_validate(cfg, "test", &vp); /* as the daemon does: reads the cluster key */
	ck_assert_msg(vp.len == 0, "%.*s", (int)vp.len, vp.data);
	buf_free(&vp);
	config_ucwa(cfg, &uc);
	if (uc.endpoint_key != NULL)
		ucwa_endpoint_id(uc.endpoint_key, uc.endpoint_key_len, user, out);
	else /* what ucwa_new falls back to */
		ucwa_endpoint_id(uc.discovery_url, strlen(uc.discovery_url), user, out);
	config_release(cfg);
	conf_free(&config_schema, cfg);
	conf_overrides_free(&o);
}

START_TEST(test_endpoint_key_from_config)
{
	char path[] = "/tmp/ucgw-test-keyXXXXXX", kf[64], a[40], b[40], c[40];
	unsigned char key[32];
	int fd = mkstemp(path);
	const char *url[] = { "upstream.discovery_url=https://lyncdiscover.contoso.com/", NULL };
	const char *own[] = { "upstream.discovery_url=https://lyncdiscover.contoso.com/",
		"upstream.endpoint_key=site-a", NULL };
	const char *n1[] = { "upstream.discovery_url=https://lyncdiscover.contoso.com/",
		"cluster.redis=redis://127.0.0.1:6379", "cluster.node_id=n1", kf, NULL };
	const char *n2[] = { "upstream.discovery_url=https://lyncweb.contoso.com/",
		"cluster.redis=redis://127.0.0.1:6379", "cluster.node_id=n2", kf, NULL };

	for (int i = 0; i < 32; i++)
		key[i] = (unsigned char)(i * 7 + 1);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, key, sizeof(key)), (int)sizeof(key));
	close(fd);
	snprintf(kf, sizeof(kf), "cluster.key_file=%s", path);
	/* single node: the URL, unless upstream.endpoint_key is set */
	config_endpoint_id(url, "agent1", a);
	ucwa_endpoint_id("https://lyncdiscover.contoso.com/", 33, "agent1", b);
	ck_assert_str_eq(a, b);
	config_endpoint_id(own, "agent1", a);
	ucwa_endpoint_id("site-a", 6, "agent1", b);
	ck_assert_str_eq(a, b);
	/* cluster mode: the cluster key, the same on every node whatever else differs */
	config_endpoint_id(n1, "agent1", a);
	config_endpoint_id(n2, "agent1", b);
	ucwa_endpoint_id(key, sizeof(key), "agent1", c);
	ck_assert_str_eq(a, c);
	ck_assert_str_eq(b, c);
	unlink(path);
}
END_TEST

START_TEST(test_application_given_back_swept)
{
	struct t t;
	struct ucwa_conf c;

	/* a previous run's application, available, with a conversation still Connected */
	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	t.f.app_reuse = 1;
	t.f.app_n = 1;
	t.f.app_alive = 1;
	t.f.ack = 1;
	t.f.conv_n = t.f.live_conv = 3;
	conf_default(&t, &c, 0);
	t_start(&t, &c);
	WAIT(&t, t.signed_in == 1 && t.f.conv_deleted == 1);
	ck_assert_int_eq(t.f.app_n, 1);		 /* no second application */
	ck_assert_int_eq(t.f.mma_n, 0);		 /* available already: not asked again */
	ck_assert_int_eq(t.listed_at_signin, 1); /* swept before it could be used */
	ck_assert_int_eq(t.failed, 0);
	WAIT(&t, t.ended == 1); /* its end, as the channel reports it */
	t_spin(&t, 100);
	ck_assert_int_eq(t.f.conv_deleted, 1);
	WAIT(&t, t.f.pget != NULL); /* the channel goes on */
	/* usable at once */
	t.f.auto_connect = 1;
	ck_assert_ptr_null(ucwa_start_messaging(
	    t.a, "sip:bob@contoso.com", "op-1", "hello", "Normal", cb_done, &t));
	WAIT(&t, t.done_ok == 1);
	t_stop(&t);
}
END_TEST

START_TEST(test_signin_full_discovery)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	t.f.quoted_href = 1;
	conf_default(&t, &c, 1);
	t_start(&t, &c);
	WAIT(&t, t.signed_in == 1 && t.f.pget != NULL);
	ck_assert_int_eq(t.failed, 0);
	ck_assert_int_eq(t.f.token_n, 1);
	ck_assert_int_eq(t.f.app_n, 1);
	ck_assert_int_eq(t.f.mma_n, 1);
	ck_assert_int_eq(t.f.pget_n, 1);
	ck_assert_int_eq(t.f.pget_with_timeout, 1);
	ck_assert_ptr_nonnull(strstr(t.f.last_pget_target, "ack=1"));
	ck_assert_ptr_nonnull(strstr(t.f.last_pget_target, "timeout=180"));
	ck_assert_int_eq(ucwa_agent_ready(t.a), 1);
	/* sign-out deletes the application */
	ucwa_agent_free(t.a);
	t.a = NULL;
	WAIT(&t, t.f.app_deleted == 1);
	t_stop(&t);
}
END_TEST

START_TEST(test_signin_applications_url_unquoted_href)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 0);
	t_start(&t, &c);
	WAIT(&t, t.signed_in == 1);
	ck_assert_int_eq(t.f.token_n, 1);
	t_stop(&t);
}
END_TEST

START_TEST(test_bad_credentials_vs_unreachable)
{
	struct t t, t2;
	struct ucwa_conf c;
	char *cause = NULL;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	t.f.password = "other";
	conf_default(&t, &c, 1);
	t_start(&t, &c);
	WAIT(&t, t.failed == 1);
	ck_assert_int_eq(t.failure, UCWA_FAIL_AUTH);
	ck_assert_int_eq(t.signed_in, 0);
	t_stop(&t);

	memset(&t2, 0, sizeof(t2));
	fake_start(&t2.f);
	conf_default(&t2, &c, 1);
	c.discovery_url = "http://127.0.0.1:1/";
	t2.u = ucwa_new(t2.f.base, &c, &cause);
	t2.a = ucwa_agent_new(t2.u, "alice@contoso.com", "secret", &cbs, &t2);
	ck_assert_int_eq(t2.failed, 0); /* never a callback from inside ucwa_agent_new */
	WAIT(&t2, t2.failed == 1);
	ck_assert_int_eq(t2.failure, UCWA_FAIL_UNREACHABLE);
	t_stop(&t2);
}
END_TEST

START_TEST(test_too_many_applications_is_fatal)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	t.f.app_fault = 1;
	conf_default(&t, &c, 1);
	t_start(&t, &c);
	WAIT(&t, t.failed == 1);
	ck_assert_int_eq(t.failure, UCWA_FAIL_REJECTED);
	ck_assert_ptr_nonnull(strstr(t.why, "TooManyApplications"));
	t_stop(&t);
}
END_TEST

START_TEST(test_outgoing_events_before_201_and_burst_in_order)
{
	struct t t;
	struct ucwa_conf c;
	char text[64];

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	t.f.delay_201 = 1;
	conf_default(&t, &c, 1);
	t_connected(&t, &c);
	/* the events came first; the 201 still completed the command with its Location */
	ck_assert_ptr_nonnull(strstr(t.last_location, "/apps/1/invitations/i1"));
	ck_assert_str_eq(t.inv_status, "Success");
	for (int i = 0; i < 100; i++) {
		snprintf(text, sizeof(text), "message %03d: a+b & c", i);
		ck_assert_ptr_null(ucwa_send_message(t.a, t.conv, text, NULL, cb_done, &t));
	}
	WAIT(&t, t.done_ok == 101 && t.msg_out_completed == 100);
	ck_assert_int_eq(t.f.msg_n, 100);
	ck_assert_int_eq(t.f.send_overlap, 0); /* one in flight at a time */
	for (int i = 0; i < 100; i++) {
		snprintf(text, sizeof(text), "message %03d: a+b & c", i);
		ck_assert_str_eq(t.f.msgs[i], text);
	}
	ck_assert_ptr_nonnull(strstr(t.last_location, "/apps/1/conversations/c1/messages/"));
	/* stopMessaging ends it */
	ck_assert_ptr_null(ucwa_stop_messaging(t.a, t.conv, cb_done, &t));
	WAIT(&t, t.ended == 1);
	ck_assert_int_eq(t.f.stop_n, 1);
	ck_assert_ptr_nonnull(ucwa_send_message(t.a, t.conv, "late", NULL, cb_done, &t));
	t_stop(&t);
}
END_TEST

START_TEST(test_token_expiry_mid_conversation)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 1);
	t_connected(&t, &c);
	t.f.token_expired = 1;
	ck_assert_ptr_null(ucwa_send_message(t.a, t.conv, "after expiry", "m1", cb_done, &t));
	WAIT(&t, t.done_ok == 2);
	ck_assert_int_eq(t.f.token_n, 2); /* renewed once */
	ck_assert_int_eq(t.f.msg_n, 1);
	ck_assert_str_eq(t.f.msgs[0], "after expiry");
	ck_assert_int_eq(t.ended, 0);
	ck_assert_int_eq(t.failed, 0);
	t_stop(&t);
}
END_TEST

START_TEST(test_token_renewed_before_expiry)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	t.f.expires_in = 2; /* renewal at half of it */
	conf_default(&t, &c, 1);
	t_start(&t, &c);
	WAIT(&t, t.signed_in == 1);
	WAIT(&t, t.f.token_n >= 2);
	ck_assert_int_eq(t.failed, 0);
	t_stop(&t);
}
END_TEST

START_TEST(test_application_lost_is_recreated)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 1);
	t_connected(&t, &c);
	ck_assert_int_eq(t.ready_again, 0);
	fake_kill_app(&t.f);
	WAIT(&t,
	    t.ended == 1 && t.f.app_n == 2 && t.f.mma_n == 2 && t.f.pget != NULL &&
		t.ready_again == 1);
	ck_assert_int_eq(t.ready_in_cb, 1); /* told when it is ready, not before */
	ck_assert_ptr_nonnull(strstr(t.ended_why, "ApplicationNotFound"));
	ck_assert_int_eq(t.signed_in, 1); /* not told twice */
	ck_assert_int_eq(t.failed, 0);
	ck_assert_ptr_nonnull(strstr(t.f.last_pget_target, "/apps/2/events?ack=1"));
	/* and it can message again */
	ck_assert_ptr_null(
	    ucwa_start_messaging(t.a, "sip:bob@contoso.com", "op-2", NULL, NULL, cb_done, &t));
	WAIT(&t, t.inv_completed == 2);
	ck_assert_int_eq(t.ready_again, 1); /* once per recovery */
	t_stop(&t);
}
END_TEST

/* The application is lost while the token has expired: the calls of the old
 * application come back after the renewal; one new application, no failure. */
START_TEST(test_application_lost_during_token_renewal)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 1);
	t_connected(&t, &c);
	t.f.token_expired = 1;
	fake_kill_app(&t.f);
	ck_assert_ptr_null(ucwa_send_message(t.a, t.conv, "lost", "m1", cb_done, &t));
	WAIT(&t, t.ready_again == 1 && t.f.pget != NULL);
	t_spin(&t, 200);
	ck_assert_int_eq(t.failed, 0);
	ck_assert_int_eq(t.f.app_n, 2); /* recreated once */
	ck_assert_int_eq(t.ready_again, 1);
	t_stop(&t);
}
END_TEST

/* A command held by the server when the application is lost fails once, and
 * its late answer (404 ApplicationNotFound) does not make a third application. */
START_TEST(test_held_command_of_lost_application)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 1);
	t_start(&t, &c);
	WAIT(&t, t.signed_in == 1 && t.f.pget != NULL);
	t.f.delay_201 = 1;
	ck_assert_ptr_null(
	    ucwa_start_messaging(t.a, "sip:bob@contoso.com", "op-1", NULL, NULL, cb_done, &t));
	fake_kill_app(&t.f); /* the P-GET learns it first; the startMessaging 201 is held */
	WAIT(&t, t.ready_again == 1 && t.done_err == 1);
	t_spin(&t, 200);
	ck_assert_int_eq(t.f.app_n, 2);
	ck_assert_int_eq(t.ready_again, 1);
	ck_assert_int_eq(t.failed, 0);
	t_stop(&t);
}
END_TEST

/* The first application's makeMeAvailable is still unanswered when that
 * application is lost and a second one is made: its late answer (success or
 * ApplicationNotFound) belongs to the lost one and changes nothing. */
START_TEST(test_late_setup_answer_of_lost_application)
{
	for (int status = 204; status <= 404; status += 200) {
		struct t t;
		struct ucwa_conf c;

		memset(&t, 0, sizeof(t));
		fake_start(&t.f);
		t.f.hold_mma = 1;
		conf_default(&t, &c, 1);
		t_start(&t, &c);
		WAIT(&t, t.f.held_mma != NULL && t.f.pget != NULL);
		fake_kill_app(&t.f); /* the P-GET learns it: a second application */
		WAIT(&t, t.signed_in == 1 && t.f.app_n == 2 && t.f.pget != NULL);
		fake_release_mma(&t.f, status);
		t_spin(&t, 200);
		ck_assert_int_eq(t.f.app_n, 2);
		ck_assert_int_eq(t.f.mma_n, 2);
		ck_assert_int_eq(t.signed_in, 1);
		ck_assert_int_eq(t.ready_again, 0);
		ck_assert_int_eq(t.failed, 0);
		t_stop(&t);
	}
}
END_TEST

START_TEST(test_resume_ends_conversations)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 1);
	t_connected(&t, &c);
	t.f.pget_with_timeout = 0;
	t.f.resume_next = 1;
	fake_flush(&t.f);
	WAIT(&t, t.ended == 1 && t.f.pget != NULL);
	ck_assert_str_eq(t.ended_why, "resume");
	ck_assert_int_eq(t.f.pget_with_timeout, 1); /* parameters sent again */
	t_stop(&t);
}
END_TEST

START_TEST(test_resync_followed)
{
	struct t t;
	struct ucwa_conf c;
	int before;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 1);
	t_connected(&t, &c);
	before = t.f.pget_n;
	t.f.resync_next = 1;
	fake_flush(&t.f); /* an empty set; the next P-GET gets resync */
	WAIT(&t, t.f.pget_n >= before + 2 && t.f.pget != NULL);
	ck_assert_int_eq(t.f.pget_n, before + 2);
	ck_assert_int_eq(t.ended, 0);
	fake_incoming(&t.f, "after resync");
	WAIT(&t, t.inv_started == 2);
	t_stop(&t);
}
END_TEST

static int other_status;

static void
other_pget_done(const struct hclient_resp *r, void *arg)
{
	other_status = r->err == HCLIENT_OK ? r->status : -1;
}

START_TEST(test_pget_replaced_same_url_again)
{
	struct t t;
	struct ucwa_conf c;
	char target[512], url[700], auth[100], *cause = NULL;
	struct hclient_opts ho = { NULL, 0, NULL, 1000, 1 << 20, 16384, 1, 1000 };
	struct hclient *hc;
	struct hclient_owner *o;
	const char *hdrs[3] = { "Authorization", auth, NULL };

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 1);
	t_start(&t, &c);
	WAIT(&t, t.signed_in == 1 && t.f.pget != NULL);
	snprintf(target, sizeof(target), "%s", t.f.last_pget_target);
	/* another process parks a P-GET with the same ack: ours gets 409 PGetReplaced */
	hc = hclient_new(t.f.base, &ho, &cause);
	o = hclient_owner_new(hc, 1);
	snprintf(url, sizeof(url), "%s%s", t.f.url, target);
	snprintf(auth, sizeof(auth), "Bearer %s", t.f.token);
	other_status = 0;
	ck_assert_ptr_nonnull(
	    hclient_request(o, "GET", url, hdrs, NULL, 0, 5000, 0, other_pget_done, NULL));
	/* ours comes back after a back-off on the SAME URL and replaces the other one */
	WAIT(&t, other_status == 409 && t.f.pget_409_n == 2 && t.f.pget != NULL);
	ck_assert_str_eq(t.f.last_pget_target, target);
	ck_assert_int_eq(t.ended, 0);
	hclient_owner_free(o);
	hclient_free(hc);
	t_stop(&t);
}
END_TEST

START_TEST(test_pget_timeout_regets_same_url)
{
	struct t t;
	struct ucwa_conf c;
	char first[512];
	int n;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 1);
	c.pget_timeout_s = 0;
	c.pget_read_timeout_ms = 300; /* the fake never releases an empty P-GET */
	t_start(&t, &c);
	WAIT(&t, t.signed_in == 1 && t.f.pget != NULL);
	snprintf(first, sizeof(first), "%s", t.f.last_pget_target);
	n = t.f.pget_n;
	WAIT(&t, t.f.pget_n >= n + 2);
	ck_assert_str_eq(t.f.last_pget_target, first); /* the same URL, no guessed ack */
	/* a 503 on the P-GET: the same URL again too */
	t.f.pget_status_next = 503;
	n = t.f.pget_n;
	WAIT(&t, t.f.pget_n >= n + 2);
	ck_assert_str_eq(t.f.last_pget_target, first);
	ck_assert_int_eq(t.ended, 0);
	t_stop(&t);
}
END_TEST

START_TEST(test_command_errors)
{
	struct t t;
	struct ucwa_conf c;
	const int codes[] = { 429, 500, 503, 504 };
	const char *subs[] = { "None", "CallbackChannelError", "None", "None" };
	int errs = 0;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 1);
	t_connected(&t, &c);
	for (size_t i = 0; i < nitems(codes); i++) {
		t.f.cmd_fault = codes[i];
		ck_assert_ptr_null(ucwa_send_message(t.a, t.conv, "x", NULL, cb_done, &t));
		errs++;
		WAIT(&t, t.done_err == errs);
		ck_assert_int_eq(t.last.status, codes[i]);
		ck_assert_int_eq(t.last.ok, 0);
		ck_assert_str_eq(t.last_subcode, subs[i]);
		ck_assert(t.last_code[0] != '\0');
	}
	t.f.cmd_fault = 502;
	t.f.cmd_fault_html = 1;
	ck_assert_ptr_null(ucwa_send_message(t.a, t.conv, "y", NULL, cb_done, &t));
	errs++;
	WAIT(&t, t.done_err == errs);
	ck_assert_int_eq(t.last.status, 502);
	ck_assert_str_eq(t.last_code, "");
	ck_assert_ptr_nonnull(strstr(t.last_message, "non-UCWA body"));
	/* the queue goes on after errors */
	ck_assert_ptr_null(ucwa_send_message(t.a, t.conv, "z", NULL, cb_done, &t));
	WAIT(&t, t.f.msg_n == 1);
	ck_assert_str_eq(t.f.msgs[0], "z");
	/* commands that are not possible say why, synchronously */
	ck_assert_ptr_nonnull(ucwa_accept(t.a, t.conv, cb_done, &t));
	ck_assert_ptr_nonnull(
	    ucwa_send_message(t.a, "/apps/1/conversations/nope", "x", NULL, cb_done, &t));
	t_stop(&t);
}
END_TEST

/*
 * A sendMessage the server read before its connection died is reported
 * failed (status 0) and never sent again; the queue goes on.
 */
START_TEST(test_send_message_not_duplicated_on_dropped_connection)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 1);
	t_connected(&t, &c);
	t.f.cmd_drop = 1;
	ck_assert_ptr_null(ucwa_send_message(t.a, t.conv, "once", NULL, cb_done, &t));
	ck_assert_ptr_null(ucwa_send_message(t.a, t.conv, "next", NULL, cb_done, &t));
	WAIT(&t, t.done_err == 1 && t.done_ok == 2);
	ck_assert_int_eq(t.last.status, 201); /* "next" */
	t_spin(&t, 100);
	ck_assert_int_eq(t.f.msg_n, 2);
	ck_assert_str_eq(t.f.msgs[0], "once");
	ck_assert_str_eq(t.f.msgs[1], "next");
	ck_assert_int_eq(t.done_err, 1);
	t_stop(&t);
}
END_TEST

/*
 * A server that does not echo operationId (Lync 2013 captures), writing
 * host-relative hrefs: the delivery event still names the message sent,
 * by its href in the same normal form as the 201's Location, and by the
 * operationId the client sent, attributed from that Location.
 */
START_TEST(test_delivery_event_without_operation_id)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	t.f.no_opid_echo = 1;
	conf_default(&t, &c, 1);
	t_connected(&t, &c);
	ck_assert_ptr_null(ucwa_send_message(t.a, t.conv, "hello", "op-m1", cb_done, &t));
	WAIT(&t, t.done_ok == 2 && t.msg_out_completed == 1);
	ck_assert_msg(t.last_location[0] == 'h', "absolute: %s", t.last_location);
	ck_assert_msg(ucwa_href_eq(t.msg_out_href, t.last_location), "%s vs %s", t.msg_out_href,
	    t.last_location);
	ck_assert_str_eq(t.msg_out_opid, "op-m1");
	t_stop(&t);
}
END_TEST

/* A preview, then another message before the first one's own event (a server
 * that never sends it): both, the first one first. */
START_TEST(test_incoming_preview_not_discarded_by_another_message)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	t.f.incoming_no_message = 1;
	conf_default(&t, &c, 1);
	c.preview_wait_ms = 5000;
	t.accept_on_invite = 1;
	t_start(&t, &c);
	WAIT(&t, t.signed_in == 1 && t.f.pget != NULL);
	fake_incoming(&t.f, "the first");
	WAIT(&t, t.f.accept_n == 1);
	snprintf(t.f.incoming_text, sizeof(t.f.incoming_text), "the second");
	fake_incoming_message(&t.f, t.f.conv_n, NULL);
	WAIT(&t, t.msg_in == 2);
	ck_assert_int_eq(t.msg_in_preview, 1);
	ck_assert_str_eq(t.msg_in_text, "the second\r\n"); /* after the preview */
	t_spin(&t, 200);
	ck_assert_int_eq(t.msg_in, 2);
	t_stop(&t);
}
END_TEST

/*
 * An unusable event of a kind the client uses costs that event only: the
 * channel moves on (a later event arrives), and the conversation it was
 * about is read again: Connected with its links, or, gone (404), ended.
 */
START_TEST(test_bad_event_resynchronises_its_conversation)
{
	struct t t;
	struct ucwa_conf c;
	char bad[512];
	int before;

	for (int gone = 0; gone < 2; gone++) {
		memset(&t, 0, sizeof(t));
		fake_start(&t.f);
		t.f.conv_gone = gone;
		conf_default(&t, &c, 1);
		t_connected(&t, &c);
		before = t.messaging_changes;
		snprintf(bad, sizeof(bad),
		    "{\"rel\":\"conversation\",\"href\":\"/apps/1/conversations/c1\",\"events\":["
		    "{\"link\":{\"rel\":\"messaging\",\"href\":\"/apps/1/conversations/c1/"
		    "messaging\"},\"type\":\"exploded\"},{\"link\":{\"rel\":\"participant\","
		    "\"href\":\"/apps/1/conversations/c1/participants/bob\"},\"in\":{\"rel\":"
		    "\"typingParticipants\",\"href\":\"/t\"},\"type\":\"added\"}]}");
		fake_push(&t.f, bad);
		WAIT(&t, t.typing == 1); /* the event after the bad one */
		if (gone) {
			WAIT(&t, t.ended == 1);
			ck_assert_str_eq(t.ended_why, "conversation gone (resynchronised)");
			ck_assert_int_eq(t.f.conv_gets, 1);
		} else {
			WAIT(&t, t.messaging_changes == before + 1 && t.f.conv_gets == 2);
			ck_assert_int_eq(t.ended, 0);
			ck_assert_ptr_null(
			    ucwa_send_message(t.a, t.conv, "after", NULL, cb_done, &t));
			/* its answer too: the fake's timer for it must not outlive the test */
			WAIT(&t, t.f.msg_n == 1 && t.done_ok == 1);
		}
		ck_assert_int_eq(ucwa_bad_events(t.u), 1);
		t_stop(&t);
	}
}
END_TEST

/*
 * An unusable event about a conversation whose invitation is pending, and the
 * conversation gone when read again: the GET raced the invitation's failure
 * on the event channel, whose reason the owner gets; with no such event, the
 * next response ends it as gone.
 */
START_TEST(test_resync_gone_waits_for_pending_invitation)
{
	struct t t;
	struct ucwa_conf c;
	char ev[1024];

	for (int declined = 0; declined < 2; declined++) {
		memset(&t, 0, sizeof(t));
		fake_start(&t.f);
		t.f.auto_connect = 0;
		t.f.conv_gone = 1;
		conf_default(&t, &c, 1);
		t_start(&t, &c);
		WAIT(&t, t.signed_in == 1 && t.f.pget != NULL);
		ck_assert_ptr_null(ucwa_start_messaging(
		    t.a, "sip:bob@contoso.com", "op-1", "hello", "Normal", cb_done, &t));
		WAIT(&t, t.done_ok == 1 && t.inv_started == 1 && t.f.pget != NULL);
		fake_push(&t.f,
		    "{\"rel\":\"conversation\",\"href\":\"/apps/1/conversations/c1\",\"events\":["
		    "{\"link\":{\"rel\":\"messaging\",\"href\":\"/apps/1/conversations/c1/"
		    "messaging\"},\"type\":\"exploded\"}]}");
		WAIT(&t, t.f.conv_gets == 1);
		t_spin(&t, 100); /* the 404 is in */
		ck_assert_int_eq(t.ended, 0);
		if (declined)
			snprintf(ev, sizeof(ev),
			    "{\"rel\":\"communication\",\"href\":\"/apps/1/communication\","
			    "\"events\":[{\"link\":{\"rel\":\"messagingInvitation\",\"href\":"
			    "\"/apps/1/invitations/i1\"},\"status\":\"Failure\",\"reason\":{"
			    "\"code\":\"RemoteFailure\",\"subcode\":\"Declined\"},\"_embedded\":{"
			    "\"messagingInvitation\":{\"direction\":\"Outgoing\",\"state\":"
			    "\"Failed\",\"operationId\":\"op-1\",\"_links\":{\"self\":{\"href\":"
			    "\"/apps/1/invitations/i1\"},\"conversation\":{\"href\":\"/apps/1/"
			    "conversations/c1\"}}}},\"type\":\"completed\"}]}");
		else
			snprintf(ev, sizeof(ev),
			    "{\"rel\":\"me\",\"href\":\"/apps/1/me\",\"events\":[{\"link\":{"
			    "\"rel\":\"me\",\"href\":\"/apps/1/me\"},\"type\":\"updated\"}]}");
		fake_push(&t.f, ev);
		WAIT(&t, t.ended == 1);
		ck_assert_str_eq(t.ended_why,
		    declined ? "invitation failed: RemoteFailure Declined"
			     : "conversation gone (resynchronised)");
		t_spin(&t, 50);
		ck_assert_int_eq(t.ended, 1);
		t_stop(&t);
	}
}
END_TEST

START_TEST(test_incoming_first_message_once)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 1);
	t.accept_on_invite = 1;
	t_start(&t, &c);
	WAIT(&t, t.signed_in == 1 && t.f.pget != NULL);
	fake_incoming(&t.f, "Hi Alice");
	WAIT(&t, t.f.accept_n == 1 && t.msg_in == 1);
	t_spin(&t, 600); /* past preview_wait_ms: the preview must not come too */
	ck_assert_int_eq(t.msg_in, 1);
	ck_assert_int_eq(t.msg_in_preview, 0);
	ck_assert_str_eq(t.msg_in_text, "Hi Alice\r\n"); /* as sent: the rules trim */
	/* and it can be answered */
	ck_assert_ptr_null(ucwa_send_message(t.a, t.conv, "Hi Bob", NULL, cb_done, &t));
	WAIT(&t, t.f.msg_n == 1);
	t_stop(&t);
}
END_TEST

START_TEST(test_incoming_preview_used_when_no_message_event)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	t.f.incoming_no_message = 1;
	conf_default(&t, &c, 1);
	t.accept_on_invite = 1;
	t_start(&t, &c);
	WAIT(&t, t.signed_in == 1 && t.f.pget != NULL);
	fake_incoming(&t.f, "only a preview");
	WAIT(&t, t.msg_in == 1);
	ck_assert_int_eq(t.msg_in_preview, 1);
	ck_assert_str_eq(t.msg_in_text, "only a preview");
	t_spin(&t, 400);
	ck_assert_int_eq(t.msg_in, 1);
	t_stop(&t);
}
END_TEST

/* A plain preview shown by the timer, then the message event with HTML and plain
 * renditions: the desktop must not get the first message a second time. */
START_TEST(test_incoming_plain_preview_then_html_event_once)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	t.f.incoming_no_message = 1;
	conf_default(&t, &c, 1);
	t.accept_on_invite = 1;
	t_start(&t, &c);
	WAIT(&t, t.signed_in == 1 && t.f.pget != NULL);
	fake_incoming(&t.f, "Hello there");
	WAIT(&t, t.msg_in == 1);
	ck_assert_int_eq(t.msg_in_preview, 1);
	fake_incoming_message(&t.f, t.f.conv_n, "<p>Hello <b>there</b></p>");
	t_spin(&t, 300);
	ck_assert_int_eq(t.msg_in, 1);
	t_stop(&t);
}
END_TEST

START_TEST(test_free_inside_callback_and_cancel)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 1);
	t_connected(&t, &c);
	/* queued messages of a freed agent: no callback afterwards */
	for (int i = 0; i < 5; i++)
		ck_assert_ptr_null(ucwa_send_message(t.a, t.conv, "bye", NULL, cb_done, &t));
	ucwa_agent_free(t.a);
	t.a = NULL;
	t_spin(&t, 100);
	ck_assert_int_eq(t.done_ok + t.done_err, 1); /* only startMessaging's */
	t_stop(&t);

	/* freed from inside its own signed_in callback: deferred, then signed out */
	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 1);
	t.free_on_signed_in = 1;
	t_start(&t, &c);
	WAIT(&t, t.signed_in == 1 && t.f.app_deleted == 1);
	fake_incoming(&t.f, "nobody home");
	t_spin(&t, 100);
	ck_assert_int_eq(t.inv_started, 0);
	t_stop(&t);
}
END_TEST

static int shutdown_called;

static void
on_shutdown(void *arg)
{
	shutdown_called++;
}

START_TEST(test_activity_timer_and_shutdown)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 1);
	c.activity_interval_s = 1;
	t_start(&t, &c);
	WAIT(&t, t.signed_in == 1);
	WAIT(&t, t.f.activity_n >= 2); /* reportMyActivity on its timer, again and again */
	ck_assert_int_eq(t.f.mma_n, 1);
	/* gateway shutdown: agents freed, then wait for their DELETEs */
	ucwa_agent_free(t.a);
	t.a = NULL;
	shutdown_called = 0;
	ucwa_shutdown(t.u, 5000, on_shutdown, NULL);
	WAIT(&t, shutdown_called == 1);
	ck_assert_int_eq(t.f.app_deleted, 1);
	t_stop(&t);
}
END_TEST

START_TEST(test_persistent_403_rediscovers)
{
	struct t t;
	struct ucwa_conf c;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 1);
	t_connected(&t, &c);
	t.f.forbid_n = 2; /* the first try and the retry after a new token */
	ck_assert_ptr_null(ucwa_send_message(t.a, t.conv, "forbidden", NULL, cb_done, &t));
	WAIT(&t, t.done_err == 1);
	ck_assert_int_eq(t.last.status, 403);
	ck_assert_str_eq(t.last_subcode, "InvalidToken");
	/* discovered again: a new grant, a new application, conversations ended */
	WAIT(&t, t.ended == 1 && t.f.app_n == 2 && ucwa_agent_ready(t.a) && t.ready_again == 1);
	ck_assert_int_eq(t.f.token_n, 3);
	ck_assert_int_eq(t.failed, 0);
	ck_assert_int_eq(t.signed_in, 1);
	ck_assert_ptr_null(
	    ucwa_start_messaging(t.a, "sip:bob@contoso.com", "op-3", NULL, NULL, cb_done, &t));
	WAIT(&t, t.inv_completed == 2);
	t_stop(&t);
}
END_TEST

START_TEST(test_conf_needs_one_upstream_url)
{
	struct t t;
	struct ucwa_conf c;
	char *cause = NULL;

	memset(&t, 0, sizeof(t));
	fake_start(&t.f);
	conf_default(&t, &c, 1);
	c.applications_url = "http://127.0.0.1:1/apps";
	ck_assert_ptr_null(ucwa_new(t.f.base, &c, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "upstream.discovery_url"));
	free(cause);
	c.applications_url = c.discovery_url = NULL;
	ck_assert_ptr_null(ucwa_new(t.f.base, &c, &cause));
	free(cause);
	fake_stop(&t.f);
}
END_TEST

static Suite *
ucwa_suite(void)
{
	Suite *s = suite_create("ucwa");

	UNIT_ADD(s, test_endpoint_id_derivation);
	UNIT_ADD(s, test_endpoint_id_of_agents);
	UNIT_ADD(s, test_endpoint_key_from_config);
	UNIT_ADD(s, test_application_given_back_swept);
	UNIT_ADD(s, test_signin_full_discovery);
	UNIT_ADD(s, test_signin_applications_url_unquoted_href);
	UNIT_ADD(s, test_bad_credentials_vs_unreachable);
	UNIT_ADD(s, test_too_many_applications_is_fatal);
	UNIT_ADD(s, test_outgoing_events_before_201_and_burst_in_order);
	UNIT_ADD(s, test_token_expiry_mid_conversation);
	UNIT_ADD(s, test_token_renewed_before_expiry);
	UNIT_ADD(s, test_application_lost_is_recreated);
	UNIT_ADD(s, test_application_lost_during_token_renewal);
	UNIT_ADD(s, test_held_command_of_lost_application);
	UNIT_ADD(s, test_late_setup_answer_of_lost_application);
	UNIT_ADD(s, test_resume_ends_conversations);
	UNIT_ADD(s, test_resync_followed);
	UNIT_ADD(s, test_pget_replaced_same_url_again);
	UNIT_ADD(s, test_pget_timeout_regets_same_url);
	UNIT_ADD(s, test_command_errors);
	UNIT_ADD(s, test_send_message_not_duplicated_on_dropped_connection);
	UNIT_ADD(s, test_delivery_event_without_operation_id);
	UNIT_ADD(s, test_incoming_preview_not_discarded_by_another_message);
	UNIT_ADD(s, test_bad_event_resynchronises_its_conversation);
	UNIT_ADD(s, test_resync_gone_waits_for_pending_invitation);
	UNIT_ADD(s, test_incoming_first_message_once);
	UNIT_ADD(s, test_incoming_preview_used_when_no_message_event);
	UNIT_ADD(s, test_incoming_plain_preview_then_html_event_once);
	UNIT_ADD(s, test_free_inside_callback_and_cancel);
	UNIT_ADD(s, test_conf_needs_one_upstream_url);
	UNIT_ADD(s, test_persistent_403_rediscovers);
	UNIT_ADD(s, test_activity_timer_and_shutdown);
	return s;
}

UNIT_MAIN(ucwa_suite)
