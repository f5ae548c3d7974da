/*
 * redis.c: the connection to Redis (see redis.h). Commands are our own
 * objects (struct redis_cmd): hiredis gets each as the private data of
 * one send and calls back exactly once for it, with NULL when the
 * connection goes away first. A command whose owner is gone (cancelled,
 * or the whole connection freed) is an orphan: its reply is dropped and
 * the object freed when hiredis lets go of it. hiredis contexts are freed
 * by hiredis itself after a failure, or by us outside its callbacks (or
 * deferred by it when inside one), never in a connect/disconnect callback.
 */
#include <sys/queue.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "buf.h"
#include "log.h"
#include "redis.h"
#include "sentinel.h"
#include "util.h"

enum redis_state {
	REDIS_DOWN,	  /* no connection; the back-off timer runs */
	REDIS_ASKING,	  /* asking the sentinels where the master is (sentinel.c) */
	REDIS_CONNECTING, /* connecting, then AUTH / SELECT / (ROLE) / PING under way */
	REDIS_READY,	  /* commands go out at once */
};

struct redis_cmd {
	TAILQ_ENTRY(redis_cmd) entry; /* queue, flight or failed list of r */
	struct redis *r;	      /* NULL: orphan (owner gone) */
	redis_cb fn;		      /* NULL: nobody wants the result */
	void *arg;
	unsigned want;
	char *wire; /* the command as RESP */
	size_t wirelen;
	struct redis_script *script; /* EVALSHA: reloaded once on NOSCRIPT */
	int reloaded;
	int handshake;		/* AUTH/SELECT/PING of connection number gen */
	unsigned gen;		/* connection it was sent on */
	uint64_t sent_ms;	/* when it went to hiredis */
	int in_hiredis;		/* hiredis holds it (a callback will come) */
	int where;		/* REDIS_Q_* */
	enum redis_status fail; /* on the failed list: why */
	char *fail_why;
};

enum { REDIS_Q_NONE, REDIS_Q_QUEUE, REDIS_Q_FLIGHT, REDIS_Q_FAILED };

TAILQ_HEAD(redis_cmdq, redis_cmd);

struct redis_script {
	struct redis *r;
	char *lua;
	char sha[41];
};

struct redis {
	struct event_base *base;
	struct redis_addr addr;
	char *name; /* redis://HOST:PORT/DB or unix:/PATH, for logs */
	char *password;
	unsigned timeout_ms, backoff_min_ms, backoff_max_ms, backoff_ms;
	size_t max_queue, nwaiting; /* queued + in flight */
	enum redis_state state;
	redisAsyncContext *ac;
	unsigned gen;
	struct redis_cmdq queue;       /* not sent yet */
	struct redis_cmdq flight;      /* sent, reply awaited, in order */
	struct redis_cmdq failed;      /* refused, reported on the next loop turn */
	struct event *timer;	       /* back-off, connect timeout or reply timeout */
	struct event *report;	       /* delivers the failed list */
	char why[512];		       /* why not ready */
	enum redis_status lost_status; /* for replies of a connection we closed */
	int was_ready;		       /* has been ready once */
	int attempt_failed;	       /* a connection attempt has failed once */
	char logged_why[512];	       /* the last reason logged at warn */
	uint64_t down_since_ms;
	uint64_t replied_ms; /* when Redis last answered a command (util_now_ms), 0: never */
	uint64_t ready_ms;   /* when the connection last became ready */
	void (*watch)(void *, int);
	void *watch_arg;
	size_t max_reply;	   /* bytes of one reply (parsed and still unparsed), at most */
	size_t reply_bytes;	   /* made so far of the reply being parsed */
	char over_why[96];	   /* set: the connection was closed for a reply over max_reply */
	struct sentinel *sentinel; /* NULL: addr is fixed (cluster.redis) */
	char master[80];	   /* HOST:PORT of the master the sentinels named; "" none yet */
};

static const char *const redis_state_names[] = { "down", "asking sentinels", "connecting",
	"ready" };

static void redis_connect(struct redis *);
static void redis_drop(struct redis *, enum redis_status, const char *);
static void redis_send(struct redis *, struct redis_cmd *);
static struct redis_cmd *redis_cmd_argv(
    struct redis *, unsigned, redis_cb, void *, int, const char *const *, const size_t *);
static struct redis_cmd *redis_submit(struct redis *, struct redis_cmd *);

/* Parse "HOST:PORT[/DB]" after redis:// into a. */
static int
redis_url_parse_tcp(const char *hp, struct redis_addr *a, const char **why)
{
	const char *end, *portp, *slash;
	char host[64];
	unsigned char bin[16];
	size_t hl;
	char *e;
	long v;

	if (strchr(hp, '@') != NULL) {
		*why = "credentials in the URL are not accepted: use cluster.password_file";
		return -1;
	}
	if (*hp == '[') {
		if ((end = strchr(hp, ']')) == NULL) {
			*why = "unterminated [IPv6 address]";
			return -1;
		}
		hl = (size_t)(end - hp - 1);
		memcpy(host, hp + 1, hl < sizeof host ? hl : 0);
		portp = end + 1;
	} else {
		portp = strchr(hp, ':');
		end = portp;
		hl = portp != NULL ? (size_t)(portp - hp) : 0;
		if (hl < sizeof host)
			memcpy(host, hp, hl);
	}
	if (portp == NULL || *portp != ':' || hl == 0 || hl >= sizeof host) {
		*why = "expected redis://HOST:PORT[/DB] or unix:/PATH";
		return -1;
	}
	host[hl] = '\0';
	if (inet_pton(*hp == '[' ? AF_INET6 : AF_INET, host, bin) != 1) {
		*why = "HOST must be a numeric address such as 127.0.0.1 or [::1] (a name lookup "
		       "would block the event loop)";
		return -1;
	}
	errno = 0;
	v = strtol(portp + 1, &e, 10);
	if (e == portp + 1 || errno != 0 || v < 1 || v > 65535 || (*e != '\0' && *e != '/')) {
		*why = "expected a port from 1 to 65535 after the host";
		return -1;
	}
	a->port = (int)v;
	a->db = 0;
	if (*e == '/') {
		slash = e;
		errno = 0;
		v = strtol(slash + 1, &e, 10);
		if (e == slash + 1 || *e != '\0' || errno != 0 || v < 0 || v > 65535) {
			*why = "expected a database number (0 to 65535) after the slash";
			return -1;
		}
		a->db = (int)v;
	}
	a->host = xstrdup(host);
	return 0;
}

/* Parse redis://HOST:PORT[/DB] or unix:/PATH. */
int
redis_url_parse(const char *url, struct redis_addr *a, const char **why)
{
	memset(a, 0, sizeof *a);
	if (strncmp(url, "redis://", 8) == 0)
		return redis_url_parse_tcp(url + 8, a, why);
	if (strncmp(url, "unix:", 5) == 0) {
		if (url[5] != '/') {
			*why = "unix: needs an absolute path (unix:/run/redis/redis.sock)";
			return -1;
		}
		if (strlen(url + 5) >= 108) {
			*why = "the unix socket path is longer than 107 bytes";
			return -1;
		}
		a->path = xstrdup(url + 5);
		return 0;
	}
	if (strncmp(url, "rediss://", 9) == 0) {
		*why = "TLS to Redis (rediss://) is not supported by this build of hiredis";
		return -1;
	}
	*why = "expected redis://HOST:PORT[/DB] or unix:/PATH";
	return -1;
}

/* Free what redis_url_parse allocated. */
void
redis_addr_clear(struct redis_addr *a)
{
	free(a->host);
	free(a->path);
	memset(a, 0, sizeof *a);
}

/* The one place the connection state changes; logs the transition at debug level. */
static void
redis_set_state(struct redis *r, enum redis_state st)
{
	enum redis_state old = r->state;

	if (old == st)
		return;
	log_debug("redis %s: %s -> %s", r->name, redis_state_names[old], redis_state_names[st]);
	r->state = st;
	if (st == REDIS_READY) {
		if (r->was_ready)
			log_info("redis %s: ready (after %llu ms unavailable)", r->name,
			    (unsigned long long)(util_now_ms() - r->down_since_ms));
		else
			log_info("redis %s: ready", r->name);
		r->was_ready = 1;
		r->down_since_ms = 0;
		r->ready_ms = util_now_ms();
		r->why[0] = '\0';
		r->logged_why[0] = '\0';
	} else if (old == REDIS_READY || r->down_since_ms == 0)
		r->down_since_ms = util_now_ms();
	if (r->watch != NULL && (st == REDIS_READY || old == REDIS_READY))
		r->watch(r->watch_arg, st == REDIS_READY);
}

/* Remember (and log, once per distinct reason) why Redis is not usable. */
static void
redis_note_why(struct redis *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof r->why, fmt, ap);
	va_end(ap);
	if (strcmp(r->why, r->logged_why) != 0) {
		log_warn("redis %s: unavailable: %s; retrying with back-off", r->name, r->why);
		snprintf(r->logged_why, sizeof r->logged_why, "%s", r->why);
	} else
		log_debug("redis %s: still unavailable: %s", r->name, r->why);
}

/* Free a command object. */
static void
redis_cmd_free(struct redis_cmd *c)
{
	free(c->wire);
	free(c->fail_why);
	free(c);
}

/* Take c off whatever list of its connection holds it. */
static void
redis_cmd_unlink(struct redis_cmd *c)
{
	struct redis *r = c->r;

	switch (c->where) {
	case REDIS_Q_QUEUE: TAILQ_REMOVE(&r->queue, c, entry); break;
	case REDIS_Q_FLIGHT: TAILQ_REMOVE(&r->flight, c, entry); break;
	case REDIS_Q_FAILED: TAILQ_REMOVE(&r->failed, c, entry); break;
	default: return;
	}
	if (c->where != REDIS_Q_FAILED && !c->handshake)
		r->nwaiting--;
	c->where = REDIS_Q_NONE;
}

/* Hand a result to the command's owner (once), and forget the owner. */
static void
redis_cmd_deliver(
    struct redis_cmd *c, enum redis_status st, const redisReply *reply, const char *why)
{
	struct redis_result res = { st, reply, why, c->where == REDIS_Q_FAILED ? 0 : c->sent_ms };
	redis_cb fn = c->fn;

	c->fn = NULL;
	if (fn != NULL)
		fn(c->arg, &res);
}

/* Human name of a reply type. */
static const char *
redis_type_name(int type)
{
	switch (type) {
	case REDIS_REPLY_STRING: return "a string";
	case REDIS_REPLY_ARRAY: return "an array";
	case REDIS_REPLY_INTEGER: return "an integer";
	case REDIS_REPLY_NIL: return "nil";
	case REDIS_REPLY_STATUS: return "a status";
	case REDIS_REPLY_ERROR: return "an error";
	default: return "an unknown type";
	}
}

/* Whether a reply's type is among the wanted ones. */
static int
redis_type_wanted(int type, unsigned want)
{
	switch (type) {
	case REDIS_REPLY_STRING: return (want & REDIS_WANT_STR) != 0;
	case REDIS_REPLY_ARRAY: return (want & REDIS_WANT_ARRAY) != 0;
	case REDIS_REPLY_INTEGER: return (want & REDIS_WANT_INT) != 0;
	case REDIS_REPLY_NIL: return (want & REDIS_WANT_NIL) != 0;
	case REDIS_REPLY_STATUS: return (want & REDIS_WANT_STATUS) != 0;
	default: return 0;
	}
}

/* Deliver a reply after checking it is not an error and of a wanted type. */
static void
redis_cmd_answer(struct redis_cmd *c, const redisReply *reply)
{
	char why[300];

	if (reply->type == REDIS_REPLY_ERROR) {
		snprintf(why, sizeof why, "Redis error: %.*s",
		    (int)(reply->len > 200 ? 200 : reply->len), reply->str);
		redis_cmd_deliver(c, REDIS_R_ERROR, reply, why);
	} else if (!redis_type_wanted(reply->type, c->want)) {
		snprintf(why, sizeof why, "unexpected reply from Redis: %s",
		    redis_type_name(reply->type));
		redis_cmd_deliver(c, REDIS_R_TYPE, NULL, why);
	} else
		redis_cmd_deliver(c, REDIS_R_OK, reply, NULL);
}

/* Why hiredis gave up on ac: our own bound, or hiredis's words, or dflt. */
static const char *
redis_ac_why(const struct redis *r, const redisAsyncContext *ac, const char *dflt)
{
	if (r != NULL && r->over_why[0] != '\0')
		return r->over_why;
	return ac->err != 0 && ac->errstr[0] != '\0' ? ac->errstr : dflt;
}

/* hiredis's own reply constructors, which ours count for and then call. */
static const redisReplyObjectFunctions *redis_reply_base;

/* The reply being parsed went over the bound: why the connection closes. */
static void
redis_reply_over(struct redis *r)
{
	snprintf(r->over_why, sizeof r->over_why,
	    "a reply over %zu bytes (cluster.max_reply_bytes)", r->max_reply);
}

/* Count n more bytes of the reply being parsed; -1 (and why) when over the bound. */
static int
redis_reply_count(const redisReadTask *t, size_t n)
{
	struct redis *r = t->privdata;

	if (t->parent == NULL)
		r->reply_bytes = 0; /* the first object of a new reply */
	r->reply_bytes += sizeof(redisReply) + n;
	if (r->reply_bytes <= r->max_reply)
		return 0;
	redis_reply_over(r);
	return -1; /* NULL to hiredis: it closes the connection */
}

/* A bulk or status string of the reply, counted. */
static void *
redis_reply_string(const redisReadTask *t, char *s, size_t len)
{
	return redis_reply_count(t, len) == 0 ? redis_reply_base->createString(t, s, len) : NULL;
}

/* An array header of the reply, counted by its element pointers before hiredis allocates them. */
static void *
redis_reply_array(const redisReadTask *t, int n)
{
	size_t sz = n > 0 ? (size_t)n * sizeof(redisReply *) : 0;

	return redis_reply_count(t, sz) == 0 ? redis_reply_base->createArray(t, n) : NULL;
}

/* An integer of the reply, counted. */
static void *
redis_reply_integer(const redisReadTask *t, long long v)
{
	return redis_reply_count(t, 0) == 0 ? redis_reply_base->createInteger(t, v) : NULL;
}

/* A nil of the reply, counted. */
static void *
redis_reply_nil(const redisReadTask *t)
{
	return redis_reply_count(t, 0) == 0 ? redis_reply_base->createNil(t) : NULL;
}

/* Free a reply (hiredis's own). */
static void
redis_reply_free(void *reply)
{
	redis_reply_base->freeObject(reply);
}

static redisReplyObjectFunctions redis_reply_fns = { redis_reply_string, redis_reply_array,
	redis_reply_integer, redis_reply_nil, redis_reply_free };

/* Not usable for why: note it, and connect again after the back-off (doubling, with jitter). */
static void
redis_retry_later(struct redis *r, const char *why)
{
	struct timeval tv;
	unsigned ms, j;

	snprintf(r->why, sizeof r->why, "%s", why);
	r->attempt_failed = 1;
	redis_set_state(r, REDIS_DOWN);
	redis_note_why(r, "%s", why);
	ms = r->backoff_ms == 0 ? r->backoff_min_ms : r->backoff_ms * 2;
	if (ms > r->backoff_max_ms)
		ms = r->backoff_max_ms;
	r->backoff_ms = ms;
	util_random_bytes(&j, sizeof j);
	ms = ms / 2 + j % (ms / 2 + 1);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_del(r->timer);
	evtimer_add(r->timer, &tv);
}

/* Close the current connection ourselves (never from a connect/disconnect callback). */
static void
redis_drop(struct redis *r, enum redis_status st, const char *why)
{
	redisAsyncContext *ac = r->ac;

	if (ac == NULL)
		return;
	r->ac = NULL;
	ac->data = NULL;
	r->lost_status = st;
	/* Down first: commands issued from the callbacks below are queued. */
	redis_retry_later(r, why);
	/* Replies still awaited are reported by their hiredis callbacks (now or just after). */
	redisAsyncFree(ac);
}

/* The connection failed by itself (hiredis frees the context after this callback). */
static void
redis_lost(struct redis *r, const char *why)
{
	if (r->ac == NULL)
		return;
	r->ac->data = NULL;
	r->ac = NULL;
	r->lost_status = REDIS_R_LOST;
	redis_retry_later(r, why);
}

/* hiredis: a reply (or NULL: the connection went away) for one send of a command. */
static void
redis_on_reply(redisAsyncContext *ac, void *replyp, void *privdata)
{
	struct redis_cmd *c = privdata;
	redisReply *reply = replyp;
	struct redis *r = c->r;
	char why[600];

	c->in_hiredis = 0;
	if (r == NULL) { /* orphan */
		redis_cmd_free(c);
		return;
	}
	redis_cmd_unlink(c);
	if (reply != NULL && r->ac == ac)
		r->replied_ms = util_now_ms();
	if (reply == NULL && r->ac == ac) {
		/* The connection is dying on its own: down first, so new commands are queued. */
		snprintf(why, sizeof why, "connection lost: %s",
		    redis_ac_why(r, ac, "closed by the server"));
		redis_lost(r, why);
	}
	if (reply == NULL) {
		if (c->handshake) {
			redis_cmd_free(c);
			return;
		}
		snprintf(why, sizeof why, "connection to Redis lost before the reply (%s)",
		    redis_ac_why(r, ac, r->why[0] != '\0' ? r->why : "closed"));
		redis_cmd_deliver(c, ac->err != 0 ? REDIS_R_LOST : r->lost_status, NULL, why);
		redis_cmd_free(c);
		return;
	}
	if (c->script != NULL && !c->reloaded && reply->type == REDIS_REPLY_ERROR &&
	    strncmp(reply->str, "NOSCRIPT", 8) == 0) {
		const char *argv[3] = { "SCRIPT", "LOAD", c->script->lua };

		log_debug(
		    "redis %s: NOSCRIPT for script %s: loading it again", r->name, c->script->sha);
		c->reloaded = 1;
		/* An admitted command's retry: never refused by the queue bound. */
		if (r->state == REDIS_READY) {
			redis_send(r, redis_cmd_argv(r, REDIS_WANT_STR, NULL, NULL, 3, argv, NULL));
			redis_send(r, c);
		} else {
			redis_command(r, REDIS_WANT_STR, NULL, NULL, 3, argv, NULL);
			redis_submit(r, c);
		}
		return;
	}
	if (r->sentinel != NULL && reply->type == REDIS_REPLY_ERROR &&
	    strncmp(reply->str, "READONLY", 8) == 0) {
		/* The master became a replica under us: not written; find the new one. */
		snprintf(why, sizeof why,
		    "%s answered READONLY (a replica now); asking the sentinels again", r->master);
		if (r->ac == ac)
			redis_drop(r, REDIS_R_LOST, why);
		redis_cmd_deliver(c, REDIS_R_LOST, NULL, why);
		redis_cmd_free(c);
		return;
	}
	redis_cmd_answer(c, reply);
	redis_cmd_free(c);
}

/* Put c in flight on the current connection. */
static void
redis_send(struct redis *r, struct redis_cmd *c)
{
	c->gen = r->gen;
	c->sent_ms = util_now_ms();
	if (redisAsyncFormattedCommand(r->ac, redis_on_reply, c, c->wire, c->wirelen) != REDIS_OK) {
		/* Only when the context is closing: report it lost on the next turn. */
		c->fail = REDIS_R_LOST;
		c->fail_why = xstrdup("the connection to Redis is closing");
		c->where = REDIS_Q_FAILED;
		TAILQ_INSERT_TAIL(&r->failed, c, entry);
		event_active(r->report, EV_TIMEOUT, 0);
		return;
	}
	c->in_hiredis = 1;
	c->where = REDIS_Q_FLIGHT;
	if (!c->handshake)
		r->nwaiting++;
	TAILQ_INSERT_TAIL(&r->flight, c, entry);
	if (r->state == REDIS_READY && !evtimer_pending(r->timer, NULL)) {
		struct timeval tv = { r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000 };

		evtimer_add(r->timer, &tv);
	}
}

/* Send what was queued while the connection was not ready, in order. */
static void
redis_flush(struct redis *r)
{
	struct redis_cmd *c;

	while (r->ac != NULL && (c = TAILQ_FIRST(&r->queue)) != NULL) {
		redis_cmd_unlink(c);
		redis_send(r, c);
	}
}

/* The handshake (AUTH, SELECT, PING) answered: ready, or drop with the reason. */
static void
redis_on_handshake(void *arg, const struct redis_result *res)
{
	struct redis *r = arg;
	char why[300];

	if (r->state != REDIS_CONNECTING)
		return;
	if (res->status == REDIS_R_LOST || res->status == REDIS_R_TIMEOUT)
		return; /* the disconnect path reports it */
	if (res->status != REDIS_R_OK) {
		snprintf(why, sizeof why, "handshake refused: %s", res->why);
		redis_drop(r, REDIS_R_LOST, why);
		return;
	}
	if (res->reply->type == REDIS_REPLY_ARRAY) { /* ROLE */
		const redisReply *role = res->reply->elements > 0 ? res->reply->element[0] : NULL;

		if (role == NULL || role->type != REDIS_REPLY_STRING ||
		    strcmp(role->str, "master") != 0) {
			snprintf(why, sizeof why,
			    "%s is not the master (ROLE: %s); asking the sentinels again",
			    r->master,
			    role != NULL && role->type == REDIS_REPLY_STRING ? role->str : "?");
			redis_drop(r, REDIS_R_LOST, why);
		}
		return;
	}
	if (res->reply->type != REDIS_REPLY_STATUS || strcmp(res->reply->str, "PONG") != 0)
		return; /* AUTH or SELECT said OK: wait for the PING */
	evtimer_del(r->timer);
	r->backoff_ms = 0;
	redis_set_state(r, REDIS_READY);
	redis_flush(r);
}

/* The decimal digits of v. */
static size_t
redis_digits(size_t v)
{
	size_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* Write c, then v in decimal, then CRLF at p; the end. */
static char *
redis_format_head(char *p, char c, size_t v)
{
	size_t n = redis_digits(v);

	*p++ = c;
	for (size_t i = n; i > 0; i--) {
		p[i - 1] = (char)('0' + v % 10);
		v /= 10;
	}
	p += n;
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

/* Write the bulk string s (len bytes) at p; the end. */
static char *
redis_format_bulk(char *p, const char *s, size_t len)
{
	p = redis_format_head(p, '$', len);
	if (len > 0)
		memcpy(p, s, len);
	p += len;
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

/* Append p (len bytes) to b as one RESP bulk string. */
void
redis_bulk(struct buf *b, const void *p, size_t len)
{
	buf_reserve(b, 1 + 20 + 2 + len + 2);
	b->len = (size_t)(redis_format_bulk(b->data + b->len, p, len) - b->data);
	b->data[b->len] = '\0';
}

/* Arguments of a command in three parts: strings, counted ones, RESP bulk strings. */
struct redis_parts {
	int nhead;
	const char *const *head; /* strings */
	int argc;
	const char *const *argv;
	const size_t *lens; /* NULL: argv are strings */
	int nbulks;
	const char *bulks; /* nbulks RESP bulk strings (redis_bulk) */
	size_t bulkslen;
};

/*
 * The parts as one RESP array of bulk strings (what redisFormatCommandArgv
 * writes, without its printf per argument: a tenth of a SendMessage's
 * cost in cluster mode went there), NUL-terminated, in *out (the caller
 * frees it); its length. The head spares EVALSHA a copy of argv, the
 * bulks a pass over the store's arguments.
 */
static size_t
redis_format_parts(char **out, const struct redis_parts *a)
{
	int nhead = a->nhead, argc = a->argc;
	const char *const *head = a->head, *const *argv = a->argv;
	const size_t *lens = a->lens;
	size_t total = 1 + redis_digits((size_t)(nhead + argc + a->nbulks)) + 2, len;
	char *p;

	for (int i = 0; i < nhead; i++) {
		len = strlen(head[i]);
		total += 1 + redis_digits(len) + 2 + len + 2;
	}
	for (int i = 0; i < argc; i++) {
		len = lens != NULL ? lens[i] : strlen(argv[i]);
		total += 1 + redis_digits(len) + 2 + len + 2;
	}
	total += a->bulkslen;
	*out = p = xmalloc(total + 1);
	p = redis_format_head(p, '*', (size_t)(nhead + argc + a->nbulks));
	for (int i = 0; i < nhead; i++)
		p = redis_format_bulk(p, head[i], strlen(head[i]));
	for (int i = 0; i < argc; i++)
		p = redis_format_bulk(p, argv[i], lens != NULL ? lens[i] : strlen(argv[i]));
	if (a->bulkslen > 0)
		memcpy(p, a->bulks, a->bulkslen);
	p += a->bulkslen;
	*p = '\0';
	return total;
}

/* argv as one RESP command (see redis.h). */
size_t
redis_format(char **out, int argc, const char *const *argv, const size_t *lens)
{
	struct redis_parts a = { 0, NULL, argc, argv, lens, 0, NULL, 0 };

	return redis_format_parts(out, &a);
}

/* Build a command object from its arguments. */
static struct redis_cmd *
redis_cmd_new(struct redis *r, unsigned want, redis_cb fn, void *arg, const struct redis_parts *a)
{
	struct redis_cmd *c = xcalloc(1, sizeof *c);

	c->r = r;
	c->fn = fn;
	c->arg = arg;
	c->want = want;
	/* NUL-terminated: hiredis looks for the command name with strchr. */
	c->wirelen = redis_format_parts(&c->wire, a);
	return c;
}

/* Build a command object from argv. */
static struct redis_cmd *
redis_cmd_argv(struct redis *r, unsigned want, redis_cb fn, void *arg, int argc,
    const char *const *argv, const size_t *lens)
{
	struct redis_parts a = { 0, NULL, argc, argv, lens, 0, NULL, 0 };

	return redis_cmd_new(r, want, fn, arg, &a);
}

/* Send one handshake command (it is not counted against the queue bound). */
static void
redis_handshake_cmd(struct redis *r, unsigned want, int argc, const char *const *argv)
{
	struct redis_cmd *c = redis_cmd_argv(r, want, redis_on_handshake, r, argc, argv, NULL);

	c->handshake = 1;
	redis_send(r, c);
}

/* hiredis: the TCP (or unix) connection is up, or failed (then hiredis frees the context). */
static void
redis_on_connect(const redisAsyncContext *ac, int status)
{
	struct redis *r = ac->data;
	char why[300];

	if (r == NULL)
		return;
	if (status != REDIS_OK) {
		snprintf(why, sizeof why, "connect: %s", ac->errstr);
		redis_lost(r, why);
		return;
	}
	log_debug("redis %s: connected; authenticating", r->name);
}

/* hiredis: the connection closed (hiredis frees the context after this). */
static void
redis_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct redis *r = ac->data;
	char why[300];

	if (r == NULL)
		return;
	snprintf(
	    why, sizeof why, "connection lost: %s", redis_ac_why(r, ac, "closed by the server"));
	evtimer_del(r->timer);
	redis_lost(r, why);
}

/* Bytes the reply being parsed holds: what it made so far and what waits unparsed. */
static size_t
redis_reply_held(const struct redis *r, const redisAsyncContext *ac)
{
	const redisReader *rd = ac->c.reader;

	return rd->len - rd->pos + (rd->ridx >= 0 ? r->reply_bytes : 0);
}

/*
 * The read event of hiredis's libevent adapter, pointed here: hiredis reads
 * and parses as the adapter would, then a reply that is still coming and
 * already over the bound closes the connection (a bulk string is buffered
 * whole before hiredis makes anything of it).
 */
static void
redis_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct redis *r = arg;
	redisAsyncContext *ac = r->ac;
	char why[160];

	(void)fd;
	(void)what;
	if (ac == NULL)
		return;
	redisAsyncHandleRead(ac);
	if (r->ac != ac || redis_reply_held(r, ac) <= r->max_reply)
		return; /* gone on the way (freed by hiredis), or within the bound */
	redis_reply_over(r);
	snprintf(why, sizeof why, "connection lost: %s", r->over_why);
	redis_drop(r, REDIS_R_LOST, why);
}

/* Attach ac to the loop through hiredis's adapter, with our read event and reply counting. */
static void
redis_attach(struct redis *r, redisAsyncContext *ac)
{
	redisLibeventEvents *e;

	redisLibeventAttach(ac, r->base);
	e = ac->ev.data;
	event_del(e->rev);
	event_assign(e->rev, r->base, ac->c.fd, EV_READ, redis_on_readable, r);
	event_add(e->rev, NULL);
	if (redis_reply_base == NULL)
		redis_reply_base = ac->c.reader->fn;
	ac->c.reader->fn = &redis_reply_fns;
	ac->c.reader->privdata = r;
	r->reply_bytes = 0;
	r->over_why[0] = '\0';
}

/* Open a connection and queue the handshake. */
static void
redis_connect(struct redis *r)
{
	redisAsyncContext *ac;
	struct timeval tv = { r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000 };
	char db[16];

	ac = r->addr.path != NULL ? redisAsyncConnectUnix(r->addr.path)
				  : redisAsyncConnect(r->addr.host, r->addr.port);
	if (ac == NULL)
		abort(); /* out of memory */
	r->gen++;
	if (ac->err != 0) {
		char why[300];

		snprintf(why, sizeof why, "connect: %s", ac->errstr);
		redisAsyncFree(ac); /* never attached: nothing else holds it */
		redis_retry_later(r, why);
		return;
	}
	ac->data = r;
	r->ac = ac;
	redis_attach(r, ac);
	redisAsyncSetConnectCallback(ac, redis_on_connect);
	redisAsyncSetDisconnectCallback(ac, redis_on_disconnect);
	redis_set_state(r, REDIS_CONNECTING);
	if (r->password != NULL) {
		const char *argv[2] = { "AUTH", r->password };

		redis_handshake_cmd(r, REDIS_WANT_STATUS, 2, argv);
	}
	if (r->addr.db != 0) {
		const char *argv[2] = { "SELECT", db };

		snprintf(db, sizeof db, "%d", r->addr.db);
		redis_handshake_cmd(r, REDIS_WANT_STATUS, 2, argv);
	}
	if (r->sentinel != NULL) { /* never write to a replica the sentinels named by mistake */
		const char *argv[1] = { "ROLE" };

		redis_handshake_cmd(r, REDIS_WANT_ARRAY, 1, argv);
	}
	{
		const char *argv[1] = { "PING" };

		redis_handshake_cmd(r, REDIS_WANT_STATUS, 1, argv);
	}
	evtimer_add(r->timer, &tv);
}

/* The sentinels named the master (host NULL: none did, why says why): connect to it. */
static void
redis_on_master(void *arg, const char *host, int port, const char *why)
{
	struct redis *r = arg;
	char addr[sizeof r->master];

	if (host == NULL) {
		redis_retry_later(r, why);
		return;
	}
	snprintf(addr, sizeof addr, strchr(host, ':') != NULL ? "[%s]:%d" : "%s:%d", host, port);
	if (strcmp(addr, r->master) != 0) {
		if (r->master[0] != '\0')
			log_info("redis %s: the master is %s (was %s)", r->name, addr, r->master);
		else
			log_info("redis %s: the master is %s", r->name, addr);
		snprintf(r->master, sizeof r->master, "%s", addr);
		free(r->addr.host);
		r->addr.host = xstrdup(host);
		r->addr.port = port;
	}
	redis_connect(r);
}

/* Connect: to cluster.redis, or to the master the sentinels name. */
static void
redis_start(struct redis *r)
{
	if (r->sentinel == NULL) {
		redis_connect(r);
		return;
	}
	redis_set_state(r, REDIS_ASKING);
	sentinel_ask(r->sentinel, redis_on_master, r);
}

/* A sentinel announced a new master (+switch-master): leave the old one, connect now. */
static void
redis_on_switch(void *arg, const char *host, int port, const char *unused)
{
	struct redis *r = arg;
	char addr[sizeof r->master], why[200];

	snprintf(addr, sizeof addr, strchr(host, ':') != NULL ? "[%s]:%d" : "%s:%d", host, port);
	if ((r->state == REDIS_READY || r->state == REDIS_CONNECTING) &&
	    strcmp(addr, r->master) == 0)
		return;
	if (r->state == REDIS_ASKING)
		sentinel_cancel(r->sentinel);
	snprintf(why, sizeof why, "the sentinels moved the master to %s (+switch-master)", addr);
	if (r->ac != NULL)
		redis_drop(r, REDIS_R_LOST, why);
	evtimer_del(r->timer);
	r->backoff_ms = 0;
	redis_on_master(r, host, port, NULL);
}

/* The one timer: back-off over (connect), connect too slow, or a reply too late. */
static void
redis_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct redis *r = arg;
	struct redis_cmd *c;
	uint64_t now = util_now_ms(), age;
	char why[128];

	switch (r->state) {
	case REDIS_DOWN: redis_start(r); return;
	case REDIS_ASKING: return; /* sentinel.c times its questions */
	case REDIS_CONNECTING:
		snprintf(why, sizeof why,
		    "no reply within %u ms while connecting (cluster.timeout_ms)", r->timeout_ms);
		redis_drop(r, REDIS_R_TIMEOUT, why);
		return;
	case REDIS_READY:
		if ((c = TAILQ_FIRST(&r->flight)) == NULL)
			return;
		age = now - c->sent_ms;
		if (age >= r->timeout_ms) {
			snprintf(why, sizeof why,
			    "no reply within %u ms (cluster.timeout_ms): server stalled",
			    r->timeout_ms);
			redis_drop(r, REDIS_R_TIMEOUT, why);
			return;
		}
		{
			unsigned left = r->timeout_ms - (unsigned)age;
			struct timeval tv = { left / 1000, (left % 1000) * 1000 };

			evtimer_add(r->timer, &tv);
		}
		return;
	}
}

/* Report refused commands (on the loop turn after they were refused). */
static void
redis_on_report(evutil_socket_t fd, short what, void *arg)
{
	struct redis *r = arg;
	struct redis_cmd *c;

	while ((c = TAILQ_FIRST(&r->failed)) != NULL) {
		redis_cmd_unlink(c);
		redis_cmd_deliver(c, c->fail, NULL, c->fail_why);
		redis_cmd_free(c);
	}
}

/* Create the connection object and start connecting. */
struct redis *
redis_create(struct event_base *base, const struct redis_conf *conf, char **cause)
{
	struct redis *r;
	const char *why;

	r = xcalloc(1, sizeof *r);
	if (conf->nsentinels > 0) {
		struct sentinel_conf sc = { conf->sentinels, conf->nsentinels,
			conf->sentinel_master, conf->sentinel_password, conf->timeout_ms };

		for (size_t i = 0; i < conf->nsentinels; i++) {
			int port;

			if (sentinel_addr_parse(conf->sentinels[i], NULL, &port, &why) != 0) {
				xasprintf(cause, "cluster.sentinels: %s", why);
				free(r);
				return NULL;
			}
		}
		r->sentinel = sentinel_create(base, &sc, redis_on_switch, r);
		xasprintf(&r->name, "sentinel:%s", conf->sentinel_master);
	} else if (redis_url_parse(conf->url, &r->addr, &why) != 0) {
		xasprintf(cause, "cluster.redis: %s", why);
		free(r);
		return NULL;
	}
	r->base = base;
	if (r->sentinel == NULL && r->addr.path != NULL)
		xasprintf(&r->name, "unix:%s", r->addr.path);
	else if (r->sentinel == NULL)
		xasprintf(&r->name,
		    strchr(r->addr.host, ':') ? "redis://[%s]:%d/%d" : "redis://%s:%d/%d",
		    r->addr.host, r->addr.port, r->addr.db);
	r->password = conf->password != NULL ? xstrdup(conf->password) : NULL;
	r->timeout_ms = conf->timeout_ms;
	r->backoff_min_ms = conf->backoff_min_ms;
	r->backoff_max_ms = conf->backoff_max_ms;
	r->max_queue = conf->max_queue;
	r->max_reply = conf->max_reply != 0 ? conf->max_reply : REDIS_MAX_REPLY;
	TAILQ_INIT(&r->queue);
	TAILQ_INIT(&r->flight);
	TAILQ_INIT(&r->failed);
	r->timer = evtimer_new(base, redis_on_timer, r);
	r->report = event_new(base, -1, 0, redis_on_report, r);
	snprintf(r->why, sizeof r->why, "not connected yet");
	r->down_since_ms = util_now_ms();
	redis_start(r);
	return r;
}

/* Close the connection; pending callbacks never run. */
void
redis_free(struct redis *r)
{
	struct redis_cmd *c;
	redisAsyncContext *ac;

	if (r == NULL)
		return;
	while ((c = TAILQ_FIRST(&r->flight)) != NULL) {
		redis_cmd_unlink(c);
		c->r = NULL; /* hiredis still holds it: freed by its callback */
		c->fn = NULL;
	}
	while ((c = TAILQ_FIRST(&r->queue)) != NULL) {
		redis_cmd_unlink(c);
		redis_cmd_free(c);
	}
	while ((c = TAILQ_FIRST(&r->failed)) != NULL) {
		redis_cmd_unlink(c);
		redis_cmd_free(c);
	}
	if ((ac = r->ac) != NULL) {
		r->ac = NULL;
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	sentinel_free(r->sentinel);
	event_free(r->timer);
	event_free(r->report);
	if (r->password != NULL) {
		OPENSSL_cleanse(r->password, strlen(r->password));
		free(r->password);
	}
	redis_addr_clear(&r->addr);
	free(r->name);
	free(r);
}

/* Send or queue c, or refuse it (reported on the next loop turn) beyond the bound. */
static struct redis_cmd *
redis_submit(struct redis *r, struct redis_cmd *c)
{
	if (r->nwaiting >= r->max_queue) {
		xasprintf(&c->fail_why,
		    "%zu commands already waiting for Redis (cluster.max_queue)%s%s", r->nwaiting,
		    r->state == REDIS_READY ? "" : "; Redis unavailable: ",
		    r->state == REDIS_READY ? "" : r->why);
		c->fail = REDIS_R_FULL;
		c->where = REDIS_Q_FAILED;
		TAILQ_INSERT_TAIL(&r->failed, c, entry);
		event_active(r->report, EV_TIMEOUT, 0);
		return c;
	}
	if (r->state == REDIS_READY) {
		redis_send(r, c);
		return c;
	}
	c->where = REDIS_Q_QUEUE;
	r->nwaiting++;
	TAILQ_INSERT_TAIL(&r->queue, c, entry);
	return c;
}

/* Send (or queue) a command. */
struct redis_cmd *
redis_command(struct redis *r, unsigned want, redis_cb fn, void *arg, int argc,
    const char *const *argv, const size_t *lens)
{
	return redis_submit(r, redis_cmd_argv(r, want, fn, arg, argc, argv, lens));
}

/* The command's callback will not run. */
void
redis_cancel(struct redis_cmd *c)
{
	if (c == NULL)
		return;
	c->fn = NULL;
	if (c->in_hiredis)
		return; /* the reply is dropped when it comes */
	redis_cmd_unlink(c);
	redis_cmd_free(c);
}

/* A script, known by the SHA-1 of its text. */
struct redis_script *
redis_script_create(struct redis *r, const char *lua)
{
	struct redis_script *s = xcalloc(1, sizeof *s);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	s->r = r;
	s->lua = xstrdup(lua);
	if (EVP_Digest(lua, strlen(lua), md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
		abort();
	for (unsigned i = 0; i < 20; i++)
		snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
	return s;
}

/* Forget a script (commands using it must be finished or cancelled). */
void
redis_script_free(struct redis_script *s)
{
	if (s == NULL)
		return;
	free(s->lua);
	free(s);
}

/* EVALSHA of the parts after its head; NOSCRIPT → SCRIPT LOAD and EVALSHA again, once. */
static struct redis_cmd *
redis_eval_parts(struct redis *r, struct redis_script *s, unsigned want, redis_cb fn, void *arg,
    int nkeys, struct redis_parts *a)
{
	char nk[16];
	const char *head[3] = { "EVALSHA", s->sha, nk };
	struct redis_cmd *c;

	if (nkeys >= 0 && nkeys < 10) { /* the store's and the leases' scripts: no printf */
		nk[0] = (char)('0' + nkeys);
		nk[1] = '\0';
	} else
		snprintf(nk, sizeof nk, "%d", nkeys);
	a->nhead = 3;
	a->head = head;
	c = redis_cmd_new(r, want, fn, arg, a);
	c->script = s;
	return redis_submit(r, c);
}

/* EVALSHA with argv. */
struct redis_cmd *
redis_eval(struct redis *r, struct redis_script *s, unsigned want, redis_cb fn, void *arg,
    int nkeys, int argc, const char *const *argv, const size_t *lens)
{
	struct redis_parts a = { 0, NULL, argc, argv, lens, 0, NULL, 0 };

	return redis_eval_parts(r, s, want, fn, arg, nkeys, &a);
}

/* EVALSHA with argv (strings) then bulks. */
struct redis_cmd *
redis_eval_bulks(struct redis *r, struct redis_script *s, unsigned want, redis_cb fn, void *arg,
    int nkeys, int argc, const char *const *argv, const struct buf *bulks, int nbulks)
{
	struct redis_parts a = { 0, NULL, argc, argv, NULL, nbulks, bulks->data, bulks->len };

	return redis_eval_parts(r, s, want, fn, arg, nkeys, &a);
}

/* Whether commands go out at once. */
int
redis_ready(const struct redis *r)
{
	return r->state == REDIS_READY;
}

/* Whether the first connection attempt is still under way (never ready, never failed). */
int
redis_starting(const struct redis *r)
{
	return !r->was_ready && !r->attempt_failed;
}

/* Why not ready. */
const char *
redis_why(const struct redis *r)
{
	return r->state == REDIS_READY ? NULL : r->why;
}

/* Time since the connection stopped being ready. */
unsigned long long
redis_down_ms(const struct redis *r)
{
	return r->state == REDIS_READY ? 0 : (unsigned long long)(util_now_ms() - r->down_since_ms);
}

/* Milliseconds since the connection became ready (-1: not ready). */
long long
redis_up_ms(const struct redis *r)
{
	if (r->state != REDIS_READY)
		return -1;
	return (long long)(util_now_ms() - r->ready_ms);
}

/* Milliseconds since Redis last answered a command on a ready connection (-1: never). */
long long
redis_replied_ms(const struct redis *r)
{
	if (r->replied_ms == 0 || r->state != REDIS_READY)
		return -1;
	return (long long)(util_now_ms() - r->replied_ms);
}

/* The address, for logs. */
const char *
redis_name(const struct redis *r)
{
	return r->name;
}

/* The master the sentinels named last (NULL: not in sentinel mode, or none yet). */
const char *
redis_master(const struct redis *r)
{
	return r->sentinel != NULL && r->master[0] != '\0' ? r->master : NULL;
}

/* Watch readiness changes. */
void
redis_set_watch(struct redis *r, void (*fn)(void *, int), void *arg)
{
	r->watch = fn;
	r->watch_arg = arg;
}

/* The event loop. */
struct event_base *
redis_base(const struct redis *r)
{
	return r->base;
}
