/*
 * sentinel.c: where the Redis master is, from Redis Sentinel (see
 * sentinel.h). Two kinds of hiredis connections to the sentinels: one per
 * question (AUTH if configured, then SENTINEL get-master-addr-by-name,
 * closed once answered), and one kept subscribed to +switch-master. A
 * context is ours while its data points to the sentinel; hiredis frees it
 * itself after a failure, we free it (deferred by hiredis when inside one
 * of its callbacks) after we detached it, so its late callbacks see NULL
 * data and return.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>

#include "buf.h"
#include "log.h"
#include "sentinel.h"
#include "util.h"

/* What the question is doing. */
enum sentinel_ask_state {
	SENTINEL_IDLE,	   /* no question */
	SENTINEL_ASKING,   /* a sentinel is being asked */
	SENTINEL_ANSWERED, /* the result waits for the next loop turn */
};

struct sentinel_node {
	char *host;
	int port;
	char name[64]; /* HOST:PORT, for messages */
};

struct sentinel {
	struct event_base *base;
	struct sentinel_node *nodes;
	size_t n;
	char *master;
	char *password;
	unsigned timeout_ms;
	/* the question */
	enum sentinel_ask_state state;
	redisAsyncContext *qac;
	size_t qi, tried, start; /* asked now, asked in this round, answered last */
	sentinel_cb fn;
	void *arg;
	struct event *qtimer; /* the asked sentinel's time to answer */
	struct event *done;   /* delivers the result */
	struct buf whys;      /* each sentinel's failure, "; "-separated */
	char *host;	      /* the answer */
	int port;
	/* the subscription */
	redisAsyncContext *sac;
	size_t si;
	int subscribed;
	struct event *stimer; /* subscribing again */
	sentinel_cb on_switch;
	void *switch_arg;
};

static const char *const sentinel_state_names[] = { "idle", "asking", "answered" };

static void sentinel_try(struct sentinel *);
static void sentinel_subscribe(struct sentinel *);

/* The one place the question's state changes (logged at debug level). */
static void
sentinel_set_state(struct sentinel *s, enum sentinel_ask_state st)
{
	if (s->state == st)
		return;
	log_debug("sentinels of %s: %s -> %s", s->master, sentinel_state_names[s->state],
	    sentinel_state_names[st]);
	s->state = st;
}

/* Parse "HOST:PORT" (numeric IPv4, or [IPv6]). */
int
sentinel_addr_parse(const char *s, char **host, int *port, const char **why)
{
	const char *portp, *end;
	unsigned char bin[16];
	char h[64];
	size_t hl;
	char *e;
	long v;

	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL) {
			*why = "unterminated [IPv6 address]";
			return -1;
		}
		hl = (size_t)(end - s - 1);
		portp = end + 1;
		if (hl >= sizeof h || *portp != ':') {
			*why = "expected HOST:PORT such as 10.0.0.1:26379 or [::1]:26379";
			return -1;
		}
		memcpy(h, s + 1, hl);
	} else {
		portp = strrchr(s, ':');
		hl = portp != NULL ? (size_t)(portp - s) : 0;
		if (portp == NULL || hl == 0 || hl >= sizeof h) {
			*why = "expected HOST:PORT such as 10.0.0.1:26379 or [::1]:26379";
			return -1;
		}
		memcpy(h, s, hl);
	}
	h[hl] = '\0';
	if (inet_pton(*s == '[' ? AF_INET6 : AF_INET, h, bin) != 1) {
		*why = "HOST must be a numeric address such as 127.0.0.1 or [::1] (a name lookup "
		       "would block the event loop)";
		return -1;
	}
	errno = 0;
	v = strtol(portp + 1, &e, 10);
	if (e == portp + 1 || *e != '\0' || errno != 0 || v < 1 || v > 65535) {
		*why = "expected a port from 1 to 65535 after the host";
		return -1;
	}
	if (host != NULL)
		*host = xstrdup(h);
	*port = (int)v;
	return 0;
}

/* Let go of a context of ours: its callbacks will see no sentinel. */
static void
sentinel_close(redisAsyncContext **acp)
{
	redisAsyncContext *ac = *acp;

	if (ac == NULL)
		return;
	*acp = NULL;
	ac->data = NULL;
	redisAsyncFree(ac); /* deferred by hiredis when inside one of its callbacks */
}

/* A context hiredis is freeing itself (after a failure): just forget it. */
static void
sentinel_forget(redisAsyncContext *ac, redisAsyncContext **acp)
{
	ac->data = NULL;
	if (*acp == ac)
		*acp = NULL;
}

/* Deliver the result on the next loop turn. */
static void
sentinel_finish(struct sentinel *s, const char *host, int port)
{
	evtimer_del(s->qtimer);
	free(s->host);
	s->host = host != NULL ? xstrdup(host) : NULL;
	s->port = port;
	sentinel_set_state(s, SENTINEL_ANSWERED);
	event_active(s->done, EV_TIMEOUT, 0);
}

/* The sentinel asked now failed (why): note it, ask the next one. */
static void
sentinel_fail(struct sentinel *s, const char *fmt, ...)
{
	char why[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	sentinel_close(&s->qac);
	evtimer_del(s->qtimer);
	log_debug("sentinel %s: %s", s->nodes[s->qi].name, why);
	if (s->whys.len > 0)
		buf_add(&s->whys, "; ", 2);
	buf_printf(&s->whys, "%s: %s", s->nodes[s->qi].name, why);
	s->tried++;
	s->qi = (s->qi + 1) % s->n;
	sentinel_try(s);
}

/* hiredis: the question's connection is up, or failed (then hiredis frees it). */
static void
sentinel_on_connect(const redisAsyncContext *cac, int status)
{
	redisAsyncContext *ac = (redisAsyncContext *)cac;
	struct sentinel *s = ac->data;

	if (s == NULL || status == REDIS_OK)
		return;
	sentinel_forget(ac, &s->qac);
	sentinel_fail(s, "connect: %s", ac->errstr);
}

/* hiredis: the question's connection closed before its answer (hiredis frees it). */
static void
sentinel_on_disconnect(const redisAsyncContext *cac, int status)
{
	redisAsyncContext *ac = (redisAsyncContext *)cac;
	struct sentinel *s = ac->data;

	if (s == NULL)
		return;
	sentinel_forget(ac, &s->qac);
	sentinel_fail(s, "connection lost: %s",
	    ac->err != 0 && ac->errstr[0] != '\0' ? ac->errstr : "closed by the sentinel");
}

/* hiredis: the answer to AUTH (an error fails this sentinel). */
static void
sentinel_on_auth(redisAsyncContext *ac, void *replyp, void *privdata)
{
	struct sentinel *s = ac->data;
	redisReply *reply = replyp;

	if (s == NULL || reply == NULL) /* gone, or the disconnect path reports it */
		return;
	if (reply->type == REDIS_REPLY_ERROR)
		sentinel_fail(
		    s, "AUTH refused (cluster.sentinel_password_file): %.200s", reply->str);
}

/* hiredis: the answer to SENTINEL get-master-addr-by-name. */
static void
sentinel_on_addr(redisAsyncContext *ac, void *replyp, void *privdata)
{
	struct sentinel *s = ac->data;
	redisReply *reply = replyp;
	char host[64];
	const char *why;
	int port;

	if (s == NULL)
		return;
	if (reply == NULL) {
		sentinel_forget(ac, &s->qac);
		sentinel_fail(s, "connection lost before the answer");
		return;
	}
	if (reply->type == REDIS_REPLY_NIL) {
		sentinel_fail(
		    s, "does not know a master named %s (cluster.sentinel_master)", s->master);
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		sentinel_fail(s, "error: %.200s", reply->str);
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[1]->type != REDIS_REPLY_STRING || reply->element[0]->len == 0 ||
	    reply->element[0]->len + 1 + reply->element[1]->len + 3 >= sizeof host) {
		sentinel_fail(s, "unexpected answer to SENTINEL get-master-addr-by-name");
		return;
	}
	snprintf(host, sizeof host, "%s:%s", reply->element[0]->str, reply->element[1]->str);
	if (strchr(reply->element[0]->str, ':') != NULL)
		snprintf(
		    host, sizeof host, "[%s]:%s", reply->element[0]->str, reply->element[1]->str);
	if (sentinel_addr_parse(host, NULL, &port, &why) != 0) {
		sentinel_fail(s, "answered %s: %s", host, why);
		return;
	}
	sentinel_close(&s->qac);
	s->start = s->qi;
	log_debug("sentinel %s: master %s is at %s", s->nodes[s->qi].name, s->master, host);
	sentinel_finish(s, reply->element[0]->str, port);
}

/*
 * A connection of ours to sentinel n, attached to the loop with its
 * callbacks, AUTH queued first when a password is set; NULL (and why) if
 * it cannot even start.
 */
static redisAsyncContext *
sentinel_open(struct sentinel *s, const struct sentinel_node *n, redisConnectCallback *on_connect,
    redisDisconnectCallback *on_disconnect, redisCallbackFn *on_auth, char *why, size_t whylen)
{
	redisAsyncContext *ac;

	if ((ac = redisAsyncConnect(n->host, n->port)) == NULL)
		abort(); /* out of memory */
	if (ac->err != 0) {
		snprintf(why, whylen, "%s", ac->errstr);
		redisAsyncFree(ac); /* never attached */
		return NULL;
	}
	ac->data = s;
	redisLibeventAttach(ac, s->base);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	if (s->password != NULL) {
		const char *argv[2] = { "AUTH", s->password };

		redisAsyncCommandArgv(ac, on_auth, NULL, 2, argv, NULL);
	}
	return ac;
}

/* Ask the sentinel at qi, or the next ones; the failure of all of them ends the round. */
static void
sentinel_try(struct sentinel *s)
{
	struct sentinel_node *n;
	redisAsyncContext *ac;
	struct timeval tv = { s->timeout_ms / 1000, (s->timeout_ms % 1000) * 1000 };
	char why[200];

	if (s->tried >= s->n) {
		sentinel_finish(s, NULL, 0);
		return;
	}
	n = &s->nodes[s->qi];
	if ((ac = sentinel_open(s, n, sentinel_on_connect, sentinel_on_disconnect, sentinel_on_auth,
		 why, sizeof why)) == NULL) {
		sentinel_fail(s, "connect: %s", why);
		return;
	}
	s->qac = ac;
	{
		const char *argv[3] = { "SENTINEL", "get-master-addr-by-name", s->master };

		redisAsyncCommandArgv(ac, sentinel_on_addr, NULL, 3, argv, NULL);
	}
	evtimer_add(s->qtimer, &tv);
}

/* The asked sentinel took too long. */
static void
sentinel_on_qtimer(evutil_socket_t fd, short what, void *arg)
{
	struct sentinel *s = arg;

	sentinel_fail(s, "no answer within %u ms (cluster.timeout_ms)", s->timeout_ms);
}

/* Hand the result over (one loop turn after it came). */
static void
sentinel_on_done(evutil_socket_t fd, short what, void *arg)
{
	struct sentinel *s = arg;
	sentinel_cb fn = s->fn;
	char why[1024];

	if (s->state != SENTINEL_ANSWERED)
		return;
	sentinel_set_state(s, SENTINEL_IDLE);
	s->fn = NULL;
	snprintf(why, sizeof why, "no sentinel named the master %s: %s", s->master,
	    s->whys.len > 0 ? s->whys.data : "no sentinel");
	if (s->host != NULL && s->sac == NULL && !evtimer_pending(s->stimer, NULL)) {
		s->si = s->start;
		sentinel_subscribe(s);
	}
	if (fn != NULL)
		fn(s->arg, s->host, s->port, s->host != NULL ? NULL : why);
}

/* Ask the sentinels in turn. */
void
sentinel_ask(struct sentinel *s, sentinel_cb fn, void *arg)
{
	sentinel_cancel(s);
	s->fn = fn;
	s->arg = arg;
	s->tried = 0;
	s->qi = s->start;
	buf_reset(&s->whys);
	sentinel_set_state(s, SENTINEL_ASKING);
	sentinel_try(s);
}

/* Forget the question under way. */
void
sentinel_cancel(struct sentinel *s)
{
	sentinel_close(&s->qac);
	evtimer_del(s->qtimer);
	event_del(s->done);
	s->fn = NULL;
	sentinel_set_state(s, SENTINEL_IDLE);
}

/* The subscription is gone (hiredis frees it, or we did): subscribe again later, elsewhere. */
static void
sentinel_sub_lost(struct sentinel *s, const char *why)
{
	struct timeval tv = { s->timeout_ms / 1000, (s->timeout_ms % 1000) * 1000 };

	if (s->subscribed) /* once per loss; failed attempts to subscribe again at debug level */
		log_info("sentinel %s: +switch-master subscription lost (%s); subscribing again "
			 "in %u ms",
		    s->nodes[s->si].name, why, s->timeout_ms);
	else
		log_debug("sentinel %s: cannot subscribe to +switch-master (%s); next sentinel in "
			  "%u ms",
		    s->nodes[s->si].name, why, s->timeout_ms);
	s->subscribed = 0;
	s->si = (s->si + 1) % s->n;
	evtimer_add(s->stimer, &tv);
}

/* hiredis: the subscription's connection is up, or failed (then hiredis frees it). */
static void
sentinel_sub_on_connect(const redisAsyncContext *cac, int status)
{
	redisAsyncContext *ac = (redisAsyncContext *)cac;
	struct sentinel *s = ac->data;

	if (s == NULL || status == REDIS_OK)
		return;
	sentinel_forget(ac, &s->sac);
	sentinel_sub_lost(s, ac->errstr);
}

/* hiredis: the subscription's connection closed (hiredis frees it). */
static void
sentinel_sub_on_disconnect(const redisAsyncContext *cac, int status)
{
	redisAsyncContext *ac = (redisAsyncContext *)cac;
	struct sentinel *s = ac->data;

	if (s == NULL)
		return;
	sentinel_forget(ac, &s->sac);
	sentinel_sub_lost(s, ac->err != 0 && ac->errstr[0] != '\0' ? ac->errstr : "closed");
}

/* hiredis: the answer to the subscription's AUTH. */
static void
sentinel_sub_on_auth(redisAsyncContext *ac, void *replyp, void *privdata)
{
	struct sentinel *s = ac->data;
	redisReply *reply = replyp;

	if (s == NULL || reply == NULL || reply->type != REDIS_REPLY_ERROR)
		return;
	sentinel_close(&s->sac);
	sentinel_sub_lost(s, "AUTH refused");
}

/* hiredis: a message on +switch-master (or the subscription's confirmation). */
static void
sentinel_on_message(redisAsyncContext *ac, void *replyp, void *privdata)
{
	struct sentinel *s = ac->data;
	redisReply *reply = replyp, *kind, *msg;
	char name[256], oldh[64], newh[64];
	int oldp, newp;

	if (s == NULL)
		return;
	if (reply == NULL) {
		sentinel_forget(ac, &s->sac);
		sentinel_sub_lost(s, "connection lost");
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		log_warn("sentinel %s: SUBSCRIBE +switch-master refused: %.200s",
		    s->nodes[s->si].name, reply->str);
		sentinel_close(&s->sac);
		sentinel_sub_lost(s, "SUBSCRIBE refused");
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
	    (kind = reply->element[0])->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(kind->str, "subscribe") == 0) {
		s->subscribed = 1;
		log_debug("sentinel %s: subscribed to +switch-master", s->nodes[s->si].name);
		return;
	}
	msg = reply->element[2];
	if (strcmp(kind->str, "message") != 0 || msg->type != REDIS_REPLY_STRING)
		return;
	/* "NAME OLD-IP OLD-PORT NEW-IP NEW-PORT" */
	if (sscanf(msg->str, "%255s %63s %d %63s %d", name, oldh, &oldp, newh, &newp) != 5 ||
	    strcmp(name, s->master) != 0)
		return;
	log_info("sentinel %s: master %s switched from %s:%d to %s:%d", s->nodes[s->si].name,
	    s->master, oldh, oldp, newh, newp);
	if (s->on_switch != NULL)
		s->on_switch(s->switch_arg, newh, newp, NULL);
}

/* Subscribe to +switch-master on the sentinel at si. */
static void
sentinel_subscribe(struct sentinel *s)
{
	redisAsyncContext *ac;
	char why[200];

	if ((ac = sentinel_open(s, &s->nodes[s->si], sentinel_sub_on_connect,
		 sentinel_sub_on_disconnect, sentinel_sub_on_auth, why, sizeof why)) == NULL) {
		sentinel_sub_lost(s, why);
		return;
	}
	s->sac = ac;
	redisAsyncCommand(ac, sentinel_on_message, NULL, "SUBSCRIBE +switch-master");
}

/* Time to subscribe again. */
static void
sentinel_on_stimer(evutil_socket_t fd, short what, void *arg)
{
	struct sentinel *s = arg;

	if (s->sac == NULL)
		sentinel_subscribe(s);
}

/* Ready to ask (the configuration was checked by ucgw -t's rules). */
struct sentinel *
sentinel_create(
    struct event_base *base, const struct sentinel_conf *conf, sentinel_cb on_switch, void *arg)
{
	struct sentinel *s = xcalloc(1, sizeof *s);
	const char *why;

	s->base = base;
	s->nodes = xcalloc(conf->naddrs, sizeof *s->nodes);
	for (size_t i = 0; i < conf->naddrs; i++) {
		struct sentinel_node *n = &s->nodes[s->n];

		if (sentinel_addr_parse(conf->addrs[i], &n->host, &n->port, &why) != 0) {
			log_warn("sentinel %s: %s (ignored)", conf->addrs[i], why);
			continue;
		}
		snprintf(n->name, sizeof n->name, strchr(n->host, ':') ? "[%s]:%d" : "%s:%d",
		    n->host, n->port);
		s->n++;
	}
	s->master = xstrdup(conf->master);
	s->password = conf->password != NULL ? xstrdup(conf->password) : NULL;
	s->timeout_ms = conf->timeout_ms;
	buf_init(&s->whys);
	s->qtimer = evtimer_new(base, sentinel_on_qtimer, s);
	s->stimer = evtimer_new(base, sentinel_on_stimer, s);
	s->done = event_new(base, -1, 0, sentinel_on_done, s);
	s->on_switch = on_switch;
	s->switch_arg = arg;
	return s;
}

/* Close everything. */
void
sentinel_free(struct sentinel *s)
{
	if (s == NULL)
		return;
	sentinel_cancel(s);
	sentinel_close(&s->sac);
	event_free(s->qtimer);
	event_free(s->stimer);
	event_free(s->done);
	for (size_t i = 0; i < s->n; i++)
		free(s->nodes[i].host);
	free(s->nodes);
	if (s->password != NULL) {
		OPENSSL_cleanse(s->password, strlen(s->password));
		free(s->password);
	}
	buf_free(&s->whys);
	free(s->master);
	free(s->host);
	free(s);
}

/* The master's name. */
const char *
sentinel_master(const struct sentinel *s)
{
	return s->master;
}
