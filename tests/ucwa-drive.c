/*
 * ucwa-drive.c: a test driver of the UCWA client (not part of ucgw). It
 * reads the gateway's configuration (-c FILE, -o key=value: the upstream.*
 * keys), signs one agent in, and then:
 *   stdout: one JSON object per line for everything the agent reports
 *     {"event":"signed_in"} {"event":"failed","reason":..,"why":..}
 *     {"event":"change","kind":..,"type":..,"conversation":..,...}
 *     {"event":"ended","conversation":..,"why":..}
 *     {"event":"done","id":N,"ok":..,"status":..,"code":..,"subcode":..,"message":..,"location":..}
 *     {"event":"refused","id":N,"why":..}   (a command that could not start)
 *   stdin: one JSON command per line
 *     {"id":1,"cmd":"start","to":"sip:..","operationId":..,"subject":..,"importance":..}
 *     {"id":2,"cmd":"send","conversation":..,"text":..,"operationId":..}
 *     {"id":3,"cmd":"accept"|"decline"|"cancel"|"stop"|"leave","conversation":..}
 *     {"cmd":"snapshot"}  prints {"event":"snapshot","ok":..,"state":{...}} (ucwa_agent_snapshot)
 *     {"cmd":"handover"}  prints a snapshot, then exits without signing out
 *     {"cmd":"quit"}  (or end of input, or SIGTERM): sign out, then exit 0
 * --resume FILE starts the agent from a snapshot (the "state" object of a
 * snapshot line) instead of signing in (-u and -p are then not needed);
 * {"event":"resumed","how":"attached"|"recreated"} follows signed_in.
 * --autosnap prints a snapshot line after every change, ended and done,
 * and after each event-channel response, as a cluster store would save
 * the agent; --crash-after-message N (with --autosnap) kills the driver
 * with SIGKILL right after the N-th incoming message and its snapshot, in
 * the middle of applying an event-channel response.
 * With --fetch URL it only GETs URL once through hclient (with the
 * upstream TLS settings) and prints {"event":"fetch","err":..,"status":..}.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "conf.h"
#include "config.h"
#include "hclient.h"
#include "json.h"
#include "log.h"
#include "ucwa.h"

static struct event_base *base;
static struct ucwa *u;
static struct ucwa_agent *agent;
static int quitting;
static int autosnap;	  /* --autosnap */
static int crash_after;	  /* --crash-after-message N */
static int incoming_seen; /* incoming messages reported */

/* Print one JSON line built by the writer. */
static void
emit(struct buf *b)
{
	buf_addch(b, '\n');
	fwrite(b->data, 1, b->len, stdout);
	fflush(stdout);
	buf_free(b);
}

/* Print the agent's snapshot as one line. */
static void
snapshot(void)
{
	struct ucwa_saved s;
	struct buf b;
	struct jw w;
	int ok;

	if (agent == NULL)
		return;
	ok = ucwa_agent_snapshot(agent, &s) == 0;
	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "event", "snapshot");
	jw_kbool(&w, "ok", ok);
	jw_key(&w, "state");
	ucwa_saved_write(&w, &s, 1);
	jw_obj_end(&w);
	emit(&b);
	ucwa_saved_free(&s);
}

/* --autosnap: a snapshot after each thing the agent reported. */
static void
autosnap_now(void)
{
	if (autosnap)
		snapshot();
}

static void
on_signed_in(void *arg)
{
	struct buf b;
	struct jw w;
	enum ucwa_resumed how = ucwa_agent_resumed(agent);

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "event", "signed_in");
	jw_obj_end(&w);
	emit(&b);
	if (how != UCWA_RESUME_NONE) {
		buf_init(&b);
		jw_init(&w, &b);
		jw_obj_begin(&w);
		jw_kstr(&w, "event", "resumed");
		jw_kstr(&w, "how", how == UCWA_RESUME_ATTACHED ? "attached" : "recreated");
		jw_obj_end(&w);
		emit(&b);
	}
	autosnap_now();
}

/* Each event-channel response: after it was applied, a snapshot (--autosnap). */
static void
on_events(const char *body, size_t len, int begin, void *arg)
{
	if (!begin)
		autosnap_now();
}

/* Usable again after the application was recreated. */
static void
on_ready_again(void *arg)
{
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "event", "ready_again");
	jw_obj_end(&w);
	emit(&b);
}

static void
on_failed(enum ucwa_failure f, const char *why, void *arg)
{
	static const char *const names[] = { "auth", "unreachable", "rejected", "protocol" };
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "event", "failed");
	jw_kstr(&w, "reason", names[f]);
	jw_kstr(&w, "why", why);
	jw_obj_end(&w);
	emit(&b);
}

static void
on_change(const struct ucwa_change *c, void *arg)
{
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "event", "change");
	jw_kstr(&w, "kind", ucwa_kind_name(c->kind));
	jw_kstr(&w, "type", ucwa_type_name(c->type));
	jw_kstr(&w, "href", c->href);
	jw_kstr(&w, "conversation", c->conversation);
	jw_kstr(&w, "state", c->state);
	jw_kstr(&w, "status", c->status);
	jw_kstr(&w, "direction", c->direction);
	jw_kstr(&w, "operationId", c->operation_id);
	jw_kstr(&w, "reasonCode", c->reason_code);
	jw_kstr(&w, "reasonSubcode", c->reason_subcode);
	jw_kstr(&w, "from", c->from_uri);
	jw_kstr(&w, "self", c->kind == UCWA_MESSAGE ? c->self : NULL);
	jw_kstr(&w, "text", c->text);
	jw_kbool(&w, "html", c->text_html);
	jw_kbool(&w, "accept", c->accept != NULL);
	jw_kbool(&w, "sendMessage", c->send_message != NULL);
	jw_kstr(&w, "failedDelivery", c->failed_delivery);
	jw_obj_end(&w);
	emit(&b);
	autosnap_now();
	if (c->kind == UCWA_MESSAGE && c->direction != NULL &&
	    strcmp(c->direction, "Incoming") == 0 && ++incoming_seen == crash_after)
		kill(getpid(), SIGKILL); /* a crash amid an event-channel response */
}

static void
on_ended(const char *conv, const char *why, void *arg)
{
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "event", "ended");
	jw_kstr(&w, "conversation", conv);
	jw_kstr(&w, "why", why);
	jw_obj_end(&w);
	emit(&b);
	autosnap_now();
}

static void
on_done(const struct ucwa_result *r, void *arg)
{
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "event", "done");
	jw_kint(&w, "id", (long long)(intptr_t)arg);
	jw_kbool(&w, "ok", r->ok);
	jw_kint(&w, "status", r->status);
	jw_kstr(&w, "code", r->code);
	jw_kstr(&w, "subcode", r->subcode);
	jw_kstr(&w, "message", r->message);
	jw_kstr(&w, "location", r->location);
	jw_obj_end(&w);
	emit(&b);
	autosnap_now();
}

static void
refused(long long id, const char *why)
{
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "event", "refused");
	jw_kint(&w, "id", id);
	jw_kstr(&w, "why", why);
	jw_obj_end(&w);
	emit(&b);
}

static void
shutdown_done(void *arg)
{
	event_base_loopexit(base, NULL);
}

/* Sign out and leave once the DELETE is done (bounded). */
static void
quit(void)
{
	if (quitting)
		return;
	quitting = 1;
	ucwa_agent_free(agent);
	agent = NULL;
	ucwa_shutdown(u, 3000, shutdown_done, NULL);
}

/* One command line. */
static void
command(const char *line, size_t len)
{
	struct json_doc *d = json_parse(line, len, NULL, NULL);
	const struct json *o = d ? json_root(d) : NULL;
	const char *cmd = json_get_str(o, "cmd"), *conv = json_get_str(o, "conversation");
	const struct json *idv = json_get(o, "id");
	long long id = idv && idv->type == JSON_INT ? idv->u.i : 0;
	void *arg = (void *)(intptr_t)id;
	const char *why = "unknown command";

	if (cmd == NULL || agent == NULL)
		why = cmd == NULL ? "not a command" : "no agent";
	else if (strcmp(cmd, "quit") == 0) {
		json_doc_free(d);
		quit();
		return;
	} else if (strcmp(cmd, "handover") == 0) {
		snapshot();
		json_doc_free(d);
		ucwa_agent_handover(agent);
		agent = NULL;
		quit();
		return;
	} else if (strcmp(cmd, "snapshot") == 0) {
		snapshot();
		why = NULL;
	} else if (strcmp(cmd, "start") == 0)
		why = ucwa_start_messaging(agent, json_get_str(o, "to"),
		    json_get_str(o, "operationId"), json_get_str(o, "subject"),
		    json_get_str(o, "importance"), on_done, arg);
	else if (strcmp(cmd, "send") == 0)
		why = ucwa_send_message(agent, conv,
		    json_get_str(o, "text") ? json_get_str(o, "text") : "",
		    json_get_str(o, "operationId"), on_done, arg);
	else if (strcmp(cmd, "accept") == 0)
		why = ucwa_accept(agent, conv, on_done, arg);
	else if (strcmp(cmd, "decline") == 0)
		why = ucwa_decline(agent, conv, on_done, arg);
	else if (strcmp(cmd, "cancel") == 0)
		why = ucwa_cancel(agent, conv, on_done, arg);
	else if (strcmp(cmd, "stop") == 0)
		why = ucwa_stop_messaging(agent, conv, on_done, arg);
	else if (strcmp(cmd, "leave") == 0)
		why = ucwa_leave(agent, conv, on_done, arg);
	if (why != NULL)
		refused(id, why);
	json_doc_free(d);
}

static void
stdin_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		if (len > 0)
			command(line, len);
		free(line);
	}
}

static void
stdin_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		quit();
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	quit();
}

static void
fetch_done(const struct hclient_resp *r, void *arg)
{
	struct buf b;
	struct jw w;

	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "event", "fetch");
	jw_kstr(&w, "err", hclient_err_name(r->err));
	jw_kstr(&w, "errstr", r->errstr);
	jw_kint(&w, "status", r->status);
	jw_obj_end(&w);
	emit(&b);
	event_base_loopexit(base, NULL);
}

/* --fetch URL: one GET with the upstream TLS settings. */
static int
fetch(const struct ucwa_conf *uc, const char *url)
{
	struct hclient_opts o = { uc->ca_file, uc->verify, uc->user_agent, uc->connect_timeout_ms,
		1 << 20, 65536, 1, 1000 };
	char *cause = NULL;
	struct hclient *hc = hclient_new(base, &o, &cause);
	struct hclient_owner *ow;

	if (hc == NULL) {
		fprintf(stderr, "ucwa-drive: %s\n", cause);
		return 1;
	}
	ow = hclient_owner_new(hc, 1);
	if (hclient_request(ow, "GET", url, NULL, NULL, 0, uc->request_timeout_ms, 0, fetch_done,
		NULL) == NULL) {
		fprintf(stderr, "ucwa-drive: bad URL %s\n", url);
		return 1;
	}
	event_base_dispatch(base);
	hclient_owner_free(ow);
	hclient_free(hc);
	return 0;
}

/* The whole of a file into b; 0, or -1. */
static int
read_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "r");
	char chunk[4096];
	size_t n;

	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(b, chunk, n);
	fclose(f);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: ucwa-drive [-c FILE] [-o key=value]... [--autosnap] "
	    "[--crash-after-message N] (-u USER -p PASSWORD | --resume FILE | --fetch URL)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct conf_overrides ov = { NULL, 0 };
	const char *file = NULL, *user = NULL, *password = NULL, *fetch_url = NULL;
	const char *resume = NULL;
	struct ucwa_saved saved;
	struct json_doc *sd = NULL;
	struct buf sb;
	char *problems = NULL, *cause = NULL;
	struct config *cfg;
	struct ucwa_conf uc;
	struct ucwa_cbs cbs = { on_signed_in, on_failed, on_change, on_ended, on_ready_again,
		on_events };
	struct bufferevent *in;
	struct event *sigterm, *sigint;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			file = argv[++i];
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			if (conf_override_add(&ov, argv[++i], &cause) != 0) {
				fprintf(stderr, "ucwa-drive: %s\n", cause);
				return 2;
			}
		} else if (strcmp(argv[i], "-u") == 0 && i + 1 < argc)
			user = argv[++i];
		else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc)
			password = argv[++i];
		else if (strcmp(argv[i], "--fetch") == 0 && i + 1 < argc)
			fetch_url = argv[++i];
		else if (strcmp(argv[i], "--resume") == 0 && i + 1 < argc)
			resume = argv[++i];
		else if (strcmp(argv[i], "--autosnap") == 0)
			autosnap = 1;
		else if (strcmp(argv[i], "--crash-after-message") == 0 && i + 1 < argc)
			crash_after = atoi(argv[++i]);
		else
			usage();
	}
	if (fetch_url == NULL && resume == NULL && (user == NULL || password == NULL))
		usage();
	memset(&saved, 0, sizeof(saved));
	if (resume != NULL) {
		buf_init(&sb);
		if (read_file(resume, &sb) != 0 ||
		    (sd = json_parse(sb.data, sb.len, NULL, NULL)) == NULL ||
		    ucwa_saved_parse(json_root(sd), &saved, &cause) != 0) {
			fprintf(stderr, "ucwa-drive: %s: %s\n", resume, cause ? cause : "not JSON");
			return 2;
		}
		json_doc_free(sd);
		buf_free(&sb);
	}
	if ((cfg = conf_load(&config_schema, file, &ov, &problems)) == NULL) {
		fprintf(stderr, "%s", problems);
		return 2;
	}
	log_set_level((enum log_level)cfg->log_level);
	log_set_program("ucwa-drive");
	signal(SIGPIPE, SIG_IGN);
	config_ucwa(cfg, &uc);
	base = event_base_new();
	if (fetch_url != NULL) {
		rc = fetch(&uc, fetch_url);
		goto out;
	}
	if ((u = ucwa_new(base, &uc, &cause)) == NULL) {
		fprintf(stderr, "ucwa-drive: %s\n", cause);
		rc = 1;
		goto out;
	}
	ucwa_keep_marks(u, 1); /* snapshots carry the marks of the changes delivered */
	if (resume != NULL)
		agent = ucwa_agent_resume(u, &saved, &cbs, NULL);
	else
		agent = ucwa_agent_new(u, user, password, &cbs, NULL);
	ucwa_saved_free(&saved);
	in = bufferevent_socket_new(base, 0, 0);
	bufferevent_setcb(in, stdin_read, NULL, stdin_event, NULL);
	bufferevent_enable(in, EV_READ);
	sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
	sigint = evsignal_new(base, SIGINT, on_signal, NULL);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	event_base_dispatch(base);
	bufferevent_free(in);
	event_free(sigterm);
	event_free(sigint);
	if (agent != NULL)
		ucwa_agent_free(agent);
	ucwa_free(u);
out:
	event_base_free(base);
	conf_free(&config_schema, cfg);
	conf_overrides_free(&ov);
	return rc;
}
