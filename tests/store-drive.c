/*
 * store-drive.c: a test driver of the agent state store (not part of
 * ucgw). It reads the gateway's configuration (-c FILE, -o key=value: the
 * cluster.* keys, checked as ucgw -t checks them), connects to Redis as
 * node cluster.node_id, and runs one command per line of stdin (fields
 * separated by single spaces; the last field may hold spaces):
 *     app USER HREF EP            token USER EXPIRES_MS URL TOKEN
 *     creds USER PASSWORD         cursor USER HREF      (waits: "written ...")
 *     session USER ID CONV TEXT   a row with two user data pairs and one
 *                                 unconfirmed message TEXT, operation
 *                                 op-ID (waits)
 *     outs USER ID WHOLE T[,T...] the same row with the messages T (their
 *                                 operations; text "text T"), put whole
 *                                 (1) or as its messages only (0) (waits)
 *     version N                   the formats written (cluster.write_version)
 *     ucwa USER HEAD JSON         the UCWA snapshot JSON, its first HEAD bytes
 *                                 its head (load prints it as "ucwa")
 *     mark USER ID N CONV TEXT    the row of ID changed N times in one loop
 *                                 turn: read once at the flush (prints
 *                                 "row USER ID" each time it is read)
 *     sdel USER ID                client USER CID SUB[,SUB...]
 *     cdel USER CID               push USER CID ID JSON
 *     ack USER CID ID             drop USER
 *     resync USER                 load USER   (prints "state JSON" or "none"
 *                                              or "load-error WHY")
 *     sync USER                   waits for everything of USER so far
 *     quit
 * stdout, one line per event: ready | unavailable WHY |
 *     written USER ok|fenced WHY|failed WHY|not-waited
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "cluster.h"
#include "conf.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "redis.h"
#include "seal.h"
#include "store.h"
#include "util.h"

static struct event_base *base;
static struct redis *redis;
static struct seal *seal;
static struct store *store;

/* Print one line and flush. */
static void
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* The Redis connection changed. */
static void
on_redis(void *arg, int ready)
{
	store_redis_ready(store, ready);
	if (ready)
		say("ready");
	else
		say("unavailable %s", redis_why(redis));
}

/* A waited write answered (arg: the user, allocated). */
static void
on_written(void *arg, enum store_result r, const char *why)
{
	say("written %s %s%s%s", (char *)arg,
	    r == STORE_OK	    ? "ok"
		: r == STORE_FENCED ? "fenced"
				    : "failed",
	    why ? " " : "", why ? why : "");
	free(arg);
}

/* Whether a wait was registered; if not, say so. */
static void
waited(int w, char *user)
{
	if (!w) {
		say("written %s not-waited", user);
		free(user);
	}
}

/* A loaded state as one JSON line. */
static void
on_loaded(void *arg, struct store_state *s, const char *why)
{
	struct buf b;
	struct jw w;

	if (s == NULL) {
		if (why != NULL)
			say("load-error %s", why);
		else
			say("none");
		return;
	}
	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "user", s->user);
	jw_kstr(&w, "app", s->app);
	jw_kstr(&w, "endpointId", s->endpoint_id);
	jw_kstr(&w, "token", s->token);
	jw_kint(&w, "tokenExpires", (long long)s->token_expires_ms);
	jw_kstr(&w, "tokenUrl", s->token_url);
	jw_kstr(&w, "password", s->password);
	jw_kstr(&w, "next", s->events_next);
	if (s->ucwa != NULL)
		jw_kstr(&w, "ucwa", s->ucwa);
	jw_key(&w, "sessions");
	jw_arr_begin(&w);
	for (size_t i = 0; i < s->nsessions; i++) {
		struct store_session *r = &s->sessions[i];

		jw_obj_begin(&w);
		jw_kstr(&w, "id", r->id);
		jw_kint(&w, "state", r->state);
		jw_kstr(&w, "conversation", r->conversation);
		jw_key(&w, "userData");
		jw_obj_begin(&w);
		for (size_t j = 0; j < r->nud; j++) {
			jw_key(&w, r->ud_key[j]);
			jw_raw(&w, r->ud_json[j]);
		}
		jw_obj_end(&w);
		jw_key(&w, "out");
		jw_arr_begin(&w);
		for (size_t j = 0; j < r->nout; j++) {
			jw_arr_begin(&w);
			jw_str(&w, r->out[j].opid);
			jw_str(&w, r->out[j].text);
			jw_arr_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "clients");
	jw_arr_begin(&w);
	for (size_t i = 0; i < s->nclients; i++) {
		struct store_client *c = &s->clients[i];

		jw_obj_begin(&w);
		jw_kstr(&w, "id", c->id);
		jw_key(&w, "subs");
		jw_arr_begin(&w);
		for (size_t j = 0; j < c->nsubs; j++)
			jw_str(&w, c->subs[j]);
		jw_arr_end(&w);
		jw_key(&w, "notes");
		jw_arr_begin(&w);
		for (size_t j = 0; j < c->nnotes; j++)
			jw_int(&w, (long long)c->notes[j].id);
		jw_arr_end(&w);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	say("state %s", b.data);
	buf_free(&b);
	store_state_free(s);
}

/* Split the next field off *p (single spaces); the rest stays in *p. */
static char *
field(char **p)
{
	char *f = *p, *sp;

	if (f == NULL)
		return (char *)"";
	if ((sp = strchr(f, ' ')) != NULL) {
		*sp = '\0';
		*p = sp + 1;
	} else
		*p = NULL;
	return f;
}

/* A session row with fixed user data and the unconfirmed messages o (user: the wait's). */
static int
session_with(char *user, const char *id, const char *conv, struct store_out *o, size_t n, int whole)
{
	char *k[2] = { "case", "note" }, *v[2] = { "{\"n\":42}", "\"a b\"" };
	struct store_session s = { 0 };

	s.id = (char *)id;
	s.state = 2;
	s.announced = 1;
	s.remote_uri = "sip:remote@example.com";
	s.remote_phone = "+15550100";
	s.conversation = (char *)conv;
	s.ud_key = k;
	s.ud_json = v;
	s.nud = 2;
	s.out = o;
	s.nout = n;
	return store_session_put(store, user, &s, whole, on_written, (void *)user);
}

/* A session row with one unconfirmed message text, operation op-ID. */
static int
session(char *user, const char *id, const char *conv, const char *text)
{
	struct store_out o = { NULL, NULL, (char *)text, NULL };
	int r;

	xasprintf(&o.opid, "op-%s", id);
	r = session_with(user, id, conv, &o, 1, 1);
	free(o.opid);
	return r;
}

/* The row of id with the messages named in list (comma-separated), put whole or not. */
static int
session_outs(char *user, const char *id, int whole, char *list)
{
	struct store_out o[16];
	size_t n = 0;
	char *t;
	int r;

	memset(o, 0, sizeof o);
	while (list != NULL && (t = strsep(&list, ",")) != NULL && n < nitems(o)) {
		o[n].opid = t;
		xasprintf(&o[n++].text, "text %s", t);
	}
	r = session_with(user, id, "http://ucwa/applications/42/conversations/9", o, n, whole);
	for (size_t i = 0; i < n; i++)
		free(o[i].text);
	return r;
}

static char *mark_conv, *mark_text; /* what the next marked row holds */

/* The store's flush reads a marked row (store_session_mark). */
static void
on_row(void *arg, const char *user, const char *id, int whole)
{
	char *u = xstrdup(user);

	say("row %s %s", user, id);
	waited(session(u, id, mark_conv, mark_text), u);
}

/* One command line. */
static void
command(char *line)
{
	char *rest = line, *cmd = field(&rest), *user = field(&rest);

	if (strcmp(cmd, "quit") == 0)
		event_base_loopexit(base, NULL);
	else if (strcmp(cmd, "app") == 0) {
		char *href = field(&rest);

		store_agent_app(store, user, href, field(&rest));
	} else if (strcmp(cmd, "token") == 0) {
		char *exp = field(&rest), *url = field(&rest);

		store_agent_token(store, user, rest ? rest : "", strtoull(exp, NULL, 10), url);
	} else if (strcmp(cmd, "creds") == 0)
		store_agent_creds(store, user, rest ? rest : "");
	else if (strcmp(cmd, "cursor") == 0) {
		char *u = xstrdup(user);

		waited(store_agent_cursor(store, user, field(&rest), on_written, u), u);
	} else if (strcmp(cmd, "session") == 0) {
		char *id = field(&rest), *conv = field(&rest), *u = xstrdup(user);

		waited(session(u, id, conv, rest ? rest : ""), u);
	} else if (strcmp(cmd, "mark") == 0) {
		char *id = field(&rest), *n = field(&rest), *conv = field(&rest);

		free(mark_conv);
		free(mark_text);
		mark_conv = xstrdup(conv ? conv : "");
		mark_text = xstrdup(rest ? rest : "");
		for (long i = strtol(n ? n : "1", NULL, 10); i > 0; i--)
			store_session_mark(store, user, id, 1);
	} else if (strcmp(cmd, "outs") == 0) {
		char *id = field(&rest), *whole = field(&rest), *u = xstrdup(user);

		waited(session_outs(u, id, strcmp(whole, "1") == 0, rest), u);
	} else if (strcmp(cmd, "ucwa") == 0) {
		char *head = field(&rest);

		store_agent_ucwa(store, user, rest ? rest : "", rest ? strlen(rest) : 0,
		    strtoul(head, NULL, 10));
	} else if (strcmp(cmd, "version") == 0)
		store_set_write_version(store, atoi(user));
	else if (strcmp(cmd, "sdel") == 0)
		store_session_del(store, user, field(&rest));
	else if (strcmp(cmd, "client") == 0) {
		char *cid = field(&rest), *subs[STORE_MAX_SUBS + 2], *p = field(&rest), *c;
		size_t n = 0;

		while ((c = strsep(&p, ",")) != NULL && n < STORE_MAX_SUBS + 1)
			subs[n++] = c;
		store_client_put(store, user, cid, (const char *const *)subs, n);
	} else if (strcmp(cmd, "cdel") == 0)
		store_client_del(store, user, field(&rest));
	else if (strcmp(cmd, "push") == 0) {
		char *cid = field(&rest), *id = field(&rest);

		store_note_push(store, user, cid, strtoull(id, NULL, 10), rest ? rest : "",
		    rest ? strlen(rest) : 0);
	} else if (strcmp(cmd, "ack") == 0) {
		char *cid = field(&rest);

		store_note_ack(store, user, cid, strtoull(field(&rest), NULL, 10));
	} else if (strcmp(cmd, "drop") == 0)
		store_agent_drop(store, user);
	else if (strcmp(cmd, "resync") == 0)
		store_agent_resync(store, user);
	else if (strcmp(cmd, "load") == 0)
		store_load(store, user, on_loaded, NULL);
	else if (strcmp(cmd, "sync") == 0) {
		char *u = xstrdup(user);

		waited(store_agent_cursor(store, user, NULL, on_written, u), u);
	} else if (*cmd != '\0')
		say("error unknown command %s", cmd);
}

/* stdin readable: run every complete line; end of input: quit. */
static void
on_stdin(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;

	while ((line = evbuffer_readln(in, NULL, EVBUFFER_EOL_LF)) != NULL) {
		command(line);
		free(line);
	}
}

/* stdin closed. */
static void
on_stdin_event(struct bufferevent *bev, short what, void *arg)
{
	event_base_loopexit(base, NULL);
}

/* SIGTERM: exit. */
static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(base, NULL);
}

int
main(int argc, char **argv)
{
	struct conf_overrides ov = { 0 };
	struct config *cfg;
	struct redis_conf rc;
	struct store_conf sc;
	unsigned char key[SEAL_KEY_BYTES];
	struct bufferevent *in;
	struct event *sig;
	struct buf problems;
	char *p = NULL, *cause = NULL;
	const char *file = NULL;
	int ch;

	log_set_program("store-drive");
	while ((ch = getopt(argc, argv, "c:o:")) != -1) {
		if (ch == 'c')
			file = optarg;
		else if (ch == 'o' && conf_override_add(&ov, optarg, &cause) != 0) {
			fprintf(stderr, "store-drive: %s\n", cause);
			return 2;
		} else if (ch != 'o')
			return 2;
	}
	if ((cfg = conf_load(&config_schema, file, &ov, &p)) == NULL) {
		fputs(p, stderr);
		return 1;
	}
	log_set_level((enum log_level)cfg->log_level);
	buf_init(&problems);
	config_validate(cfg, file != NULL ? file : "(defaults)", &problems);
	if (problems.len > 0 || !cluster_configured(cfg) || cfg->cluster_node_id == NULL) {
		fprintf(stderr, "%s%s", problems.data != NULL ? problems.data : "",
		    "store-drive needs cluster.redis, cluster.node_id and cluster.key_file\n");
		return 1;
	}
	buf_free(&problems);
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	cluster_redis_conf(cfg, &rc);
	if ((redis = redis_create(base, &rc, &cause)) == NULL) {
		fprintf(stderr, "store-drive: %s\n", cause);
		return 1;
	}
	redis_set_watch(redis, on_redis, NULL);
	memcpy(key, cfg->cluster_secrets->key, sizeof key);
	seal = seal_create(key);
	explicit_bzero(key, sizeof key);
	sc.prefix = cfg->cluster_prefix;
	sc.node = cfg->cluster_node_id;
	sc.ttl_ms = (unsigned)cfg->cluster_state_ttl_ms;
	sc.max_unacked = (unsigned)cfg->cluster_max_unacked;
	sc.write_version = (int)cfg->cluster_write_version;
	store = store_create(base, redis, seal, &sc);
	store_set_row_source(store, on_row, NULL);
	in = bufferevent_socket_new(base, 0, 0);
	bufferevent_setcb(in, on_stdin, NULL, on_stdin_event, NULL);
	bufferevent_enable(in, EV_READ);
	sig = evsignal_new(base, SIGTERM, on_signal, NULL);
	evsignal_add(sig, NULL);
	event_base_dispatch(base);
	store_free(store);
	free(mark_conv);
	free(mark_text);
	seal_free(seal);
	redis_free(redis);
	bufferevent_free(in);
	event_free(sig);
	event_base_free(base);
	config_release(cfg);
	conf_free(&config_schema, cfg);
	conf_overrides_free(&ov);
	return 0;
}
