/*
 * cluster.c: cluster mode's configuration checks and secrets, and this
 * node's presence in the cluster (see cluster.h). The secrets are read by
 * ucgw -t and at start-up (and again on SIGHUP, like every file the
 * configuration names); they never reach the log.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cluster.h"
#include "config.h"
#include "lease.h"
#include "log.h"
#include "redis.h"
#include "seal.h"
#include "sentinel.h"
#include "store.h"

#define CLUSTER_PASSWORD_MAX  1024
#define CLUSTER_SENTINELS_MAX 16
/* How long the key check value lives without a node refreshing it. */
#define CLUSTER_KEYCHECK_MS (24u * 3600u * 1000u)
/* Other nodes remembered from the registry (the peers a node cut from Redis asks, split.h). */
#define CLUSTER_PEERS_MAX 32
/* What the key check value holds once opened. */
#define CLUSTER_KEYCHECK_TEXT "ucgw cluster key check 1"

/* Whether this node's cluster key is the one the cluster uses. */
enum cluster_key {
	CLUSTER_KEY_UNCHECKED, /* not compared yet (Redis not reached) */
	CLUSTER_KEY_OK,	       /* the check value opens with this node's key */
	CLUSTER_KEY_MISMATCH,  /* it does not: this node stays out of the cluster */
};

static const char *const cluster_key_names[] = { "unchecked", "ok", "mismatch" };
_Static_assert(sizeof cluster_key_names / sizeof cluster_key_names[0] == CLUSTER_KEY_MISMATCH + 1,
    "one name per enum cluster_key");

/*
 * The key check, and the registry entry once the check passed: the check
 * value sealed by the first node to get there is kept (and its expiry
 * refreshed) by every later one. When it is not the value this node last
 * opened with its key, it is returned alone ({value}) for the caller to
 * open. Else this node's entry is written and its id put into the set of
 * node ids, and the other live nodes are returned after the value
 * ({value, id, url, ...}; ids whose entry lapsed leave the set). KEYS[1]
 * the check key, KEYS[2] this node's entry, KEYS[3] the set of node ids;
 * ARGV[1] a value sealed by the caller, ARGV[2] the check's expiry,
 * ARGV[3] the value last opened here (or ""), ARGV[4] the advertised URL,
 * ARGV[5] the entry's expiry, ARGV[6] this node's id, ARGV[7] the
 * entries' prefix, ARGV[8] the set's expiry, ARGV[9] the most peers.
 */
static const char cluster_lua_keycheck[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then\n"
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "  v = ARGV[1]\n"
    "else\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "end\n"
    "if v ~= ARGV[3] then return {v} end\n"
    "redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])\n"
    "redis.call('SADD', KEYS[3], ARGV[6])\n"
    "redis.call('PEXPIRE', KEYS[3], ARGV[8])\n"
    "local out, max = {v}, 1 + 2 * tonumber(ARGV[9])\n"
    "for _, id in ipairs(redis.call('SMEMBERS', KEYS[3])) do\n"
    "  if id ~= ARGV[6] then\n"
    "    local u = redis.call('GET', ARGV[7] .. id)\n"
    "    if not u then redis.call('SREM', KEYS[3], id)\n"
    "    elseif #out < max then out[#out+1] = id; out[#out+1] = u end\n"
    "  end\n"
    "end\n"
    "return out\n";

/* Another node as the registry named it at the last refresh. */
struct cluster_peer {
	char *id;
	char *url; /* its cluster.advertise */
};

struct cluster {
	struct event_base *base;
	char *node_id;
	char *advertise;
	char *node_key;	   /* PREFIXnode:NODE_ID */
	char *nodes_key;   /* PREFIXnodes: the set of node ids */
	char *node_prefix; /* PREFIXnode: */
	struct buf opened; /* the check value this node's key last opened */
	struct cluster_peer peers[CLUSTER_PEERS_MAX];
	size_t npeers;
	void (*watch)(void *, int); /* cluster_set_watch */
	void *watch_arg;
	unsigned lease_ms;
	struct redis *redis;
	struct seal *seal;
	struct leases *leases;
	struct store *store;
	struct event *register_timer;
	struct redis_cmd *registering; /* the key check, then the registry write */
	int registered;		       /* the last registry write succeeded */
	char *keycheck_key;	       /* PREFIXkeycheck */
	struct redis_script *keycheck;
	enum cluster_key key;
	int leaving;		    /* cluster_leave: never register again */
	struct redis_cmd *deleting; /* the registry entry's DEL */
	void (*left)(void *);	    /* cluster_leave's callback */
	void (*back)(void *);	    /* Redis ready again (cluster_on_back) */
	void *back_arg;
	void *left_arg;
	char *prefix; /* cluster.prefix */
};

/* Row check of cluster.redis; the message never repeats the value (it might hold a password). */
const char *
cluster_check_url(const struct json *v, char **freeit)
{
	struct redis_addr a;
	const char *s = json_str(v), *why;

	if (s == NULL)
		return NULL;
	if (redis_url_parse(s, &a, &why) != 0)
		return why;
	redis_addr_clear(&a);
	return NULL;
}

/* Row check of cluster.sentinels: HOST:PORT each (numeric), at most CLUSTER_SENTINELS_MAX. */
const char *
cluster_check_sentinels(const struct json *v, char **freeit)
{
	const char *why;
	int port;

	if (v->type != JSON_ARRAY)
		return NULL; /* the row's type check says it */
	if (v->u.arr.n > CLUSTER_SENTINELS_MAX)
		return "at most 16 sentinels";
	for (size_t i = 0; i < v->u.arr.n; i++) {
		const char *s = json_str(v->u.arr.v[i]);

		if (s != NULL && sentinel_addr_parse(s, NULL, &port, &why) != 0) {
			xasprintf(freeit, "entry %zu: %s", i + 1, why);
			return *freeit;
		}
	}
	return NULL;
}

/* Whether cluster mode is on. */
int
cluster_configured(const struct config *c)
{
	return c->cluster_redis != NULL || c->cluster_sentinels.n > 0;
}

/* Row check of cluster.advertise: http(s)://HOST:PORT, nothing after but "/". */
const char *
cluster_check_advertise(const struct json *v, char **freeit)
{
	const char *s = json_str(v), *hp, *colon;
	char *end;
	long port;

	if (s == NULL)
		return NULL;
	if (strncmp(s, "http://", 7) == 0)
		hp = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		hp = s + 8;
	else
		return "expected http://HOST:PORT or https://HOST:PORT";
	colon = strrchr(hp, ':');
	if (colon == NULL || colon == hp || (strchr(hp, '/') != NULL && strchr(hp, '/') < colon) ||
	    strchr(hp, '@') != NULL)
		return "expected http://HOST:PORT or https://HOST:PORT";
	port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || port < 1 || port > 65535 || (*end != '\0' && strcmp(end, "/") != 0))
		return "expected a port from 1 to 65535 after the host (and no path)";
	return NULL;
}

/* Row check of names that go into Redis keys: letters, digits and ".-_:". */
const char *
cluster_check_name(const struct json *v, char **freeit)
{
	const char *s = json_str(v);

	if (s == NULL)
		return NULL;
	if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_:") !=
	    strlen(s))
		return "only letters, digits and . - _ : are allowed";
	return NULL;
}

/* Read at most max bytes of path into b; -1 with errno. */
static int
cluster_read_file(const char *path, struct buf *b, size_t max)
{
	char chunk[512];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while (b->len <= max && (n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			OPENSSL_cleanse(chunk, sizeof chunk);
			close(fd);
			return -1;
		}
		buf_add(b, chunk, (size_t)n);
	}
	OPENSSL_cleanse(chunk, sizeof chunk);
	close(fd);
	return 0;
}

/* Wipe and free a buffer that held a secret. */
static void
cluster_buf_wipe(struct buf *b)
{
	if (b->data != NULL)
		OPENSSL_cleanse(b->data, b->cap);
	buf_free(b);
}

/* cluster.key_file: exactly 32 bytes, not all zero. */
static void
cluster_check_key(struct config *c, const char *file, struct buf *problems)
{
	const char *path = c->cluster_key_file;
	struct buf b;
	size_t zero = 0;

	if (path == NULL) {
		buf_printf(problems,
		    "%s: cluster mode (%s) needs cluster.key_file, a file of 32 random "
		    "bytes (head -c 32 /dev/urandom > FILE)\n",
		    file, c->cluster_redis != NULL ? "cluster.redis" : "cluster.sentinels");
		return;
	}
	buf_init(&b);
	if (cluster_read_file(path, &b, 4096) != 0) {
		buf_printf(problems, "%s: cluster.key_file %s: %s\n", file, path, strerror(errno));
		cluster_buf_wipe(&b);
		return;
	}
	if (b.len != SEAL_KEY_BYTES) {
		buf_printf(problems,
		    "%s: cluster.key_file %s: holds %s%zu bytes; it must hold exactly 32 "
		    "(head -c 32 /dev/urandom > FILE)\n",
		    file, path, b.len > 4096 ? "more than " : "",
		    b.len > 4096 ? (size_t)4096 : b.len);
		cluster_buf_wipe(&b);
		return;
	}
	for (size_t i = 0; i < b.len; i++)
		zero += b.data[i] == 0;
	if (zero == b.len) {
		buf_printf(problems, "%s: cluster.key_file %s: only zero bytes; not a random key\n",
		    file, path);
		cluster_buf_wipe(&b);
		return;
	}
	memcpy(c->cluster_secrets->key, b.data, SEAL_KEY_BYTES);
	cluster_buf_wipe(&b);
}

/*
 * A password file (key, path): one line, the password (a final newline is
 * not part of it), in *out.
 */
static void
cluster_check_password(
    const char *key, const char *path, char **out, const char *file, struct buf *problems)
{
	struct buf b;

	if (path == NULL)
		return;
	buf_init(&b);
	if (cluster_read_file(path, &b, CLUSTER_PASSWORD_MAX) != 0) {
		buf_printf(problems, "%s: %s %s: %s\n", file, key, path, strerror(errno));
		cluster_buf_wipe(&b);
		return;
	}
	if (b.len > 0 && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	if (b.len > 0 && b.data[b.len - 1] == '\r')
		b.data[--b.len] = '\0';
	if (b.len == 0)
		buf_printf(problems, "%s: %s %s: empty\n", file, key, path);
	else if (b.len > CLUSTER_PASSWORD_MAX)
		buf_printf(problems, "%s: %s %s: longer than %d bytes\n", file, key, path,
		    CLUSTER_PASSWORD_MAX);
	else if (strlen(b.data) != b.len || strpbrk(b.data, "\r\n") != NULL)
		buf_printf(problems, "%s: %s %s: must hold one line (the password) and no NUL\n",
		    file, key, path);
	else
		*out = xstrdup(b.data);
	cluster_buf_wipe(&b);
}

/* Cross-key checks of cluster mode, and its secrets read into c->cluster_secrets. */
void
cluster_conf_check(struct config *c, const char *file, struct buf *problems)
{
	const char *l0 = c->listen.n > 0 ? c->listen.v[0] : "";

	if (c->cluster_sentinel_master != NULL && c->cluster_sentinels.n == 0)
		buf_printf(problems, "%s: cluster.sentinel_master needs cluster.sentinels\n", file);
	if (c->cluster_sentinel_password_file != NULL && c->cluster_sentinels.n == 0)
		buf_printf(
		    problems, "%s: cluster.sentinel_password_file needs cluster.sentinels\n", file);
	if (!cluster_configured(c))
		return;
	if (c->cluster_redis != NULL && c->cluster_sentinels.n > 0)
		buf_printf(problems,
		    "%s: cluster.redis and cluster.sentinels exclude each other: one Redis, or the "
		    "master the sentinels name\n",
		    file);
	if (c->cluster_sentinels.n > 0 && c->cluster_sentinel_master == NULL)
		buf_printf(problems,
		    "%s: cluster.sentinels needs cluster.sentinel_master, the master's name in "
		    "the sentinels' configuration\n",
		    file);
	c->cluster_secrets = xcalloc(1, sizeof *c->cluster_secrets);
	cluster_check_key(c, file, problems);
	cluster_check_password("cluster.password_file", c->cluster_password_file,
	    &c->cluster_secrets->password, file, problems);
	cluster_check_password("cluster.sentinel_password_file", c->cluster_sentinel_password_file,
	    &c->cluster_secrets->sentinel_password, file, problems);
	if (c->cluster_advertise == NULL &&
	    (strstr(l0, "://0.0.0.0:") != NULL || strstr(l0, "://[::]:") != NULL))
		buf_printf(problems,
		    "%s: cluster.advertise is needed: the first listener (%s) is a wildcard "
		    "address other nodes cannot reach\n",
		    file, l0);
	if (c->cluster_timeout_ms * 3 >= c->cluster_lease_ms)
		buf_printf(problems,
		    "%s: cluster.timeout_ms (%lld) must be below a third of cluster.lease_ms "
		    "(%lld): "
		    "a stalled Redis must be noticed before a lease runs out\n",
		    file, c->cluster_timeout_ms, c->cluster_lease_ms);
	if (c->cluster_backoff_min_ms > c->cluster_backoff_max_ms)
		buf_printf(
		    problems, "%s: cluster.backoff_min_ms is above cluster.backoff_max_ms\n", file);
	if (c->cluster_state_ttl_ms < 3 * c->cluster_lease_ms)
		buf_printf(problems,
		    "%s: cluster.state_ttl_ms (%lld) must be at least three times cluster.lease_ms "
		    "(%lld): an agent's state must outlive its owner's lease\n",
		    file, c->cluster_state_ttl_ms, c->cluster_lease_ms);
}

/* Wipe the secrets read by cluster_conf_check. */
void
cluster_conf_release(struct config *c)
{
	struct cluster_secrets *s = c->cluster_secrets;

	if (s == NULL)
		return;
	if (s->password != NULL) {
		OPENSSL_cleanse(s->password, strlen(s->password));
		free(s->password);
	}
	if (s->sentinel_password != NULL) {
		OPENSSL_cleanse(s->sentinel_password, strlen(s->sentinel_password));
		free(s->sentinel_password);
	}
	OPENSSL_cleanse(s->key, sizeof s->key);
	free(s);
	c->cluster_secrets = NULL;
}

/* The default node id: the host name (its allowed characters) and 8 random hex digits. */
static char *
cluster_default_node_id(void)
{
	char host[256], rnd[9], *id;
	size_t j = 0;

	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "ucgw");
	host[sizeof host - 1] = '\0';
	for (size_t i = 0; host[i] != '\0' && j < 40; i++) {
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_",
			host[i]) != NULL)
			host[j++] = host[i];
	}
	host[j] = '\0';
	util_random_id(rnd, 8, UTIL_HEX);
	xasprintf(&id, "%s-%s", j > 0 ? host : "ucgw", rnd);
	return id;
}

static void cluster_register(struct cluster *);

/* Change whether this node's key is the cluster's (the only place that does). */
static void
cluster_key_set(struct cluster *c, enum cluster_key k)
{
	if (k == c->key)
		return;
	if (k == CLUSTER_KEY_MISMATCH)
		log_error("cluster: node %s: the cluster key (cluster.key_file) is not the one the "
			  "other nodes use (%s does not open with it): staying out of the cluster "
			  "until it is",
		    c->node_id, c->keycheck_key);
	else if (k == CLUSTER_KEY_OK && c->key == CLUSTER_KEY_MISMATCH)
		log_info("cluster: node %s: the cluster key matches again", c->node_id);
	log_debug("cluster: key %s -> %s", cluster_key_names[c->key], cluster_key_names[k]);
	c->key = k;
}

/* Forget the peers. */
static void
cluster_peers_clear(struct cluster *c)
{
	for (size_t i = 0; i < c->npeers; i++) {
		free(c->peers[i].id);
		free(c->peers[i].url);
	}
	c->npeers = 0;
}

/* The check script's answer after the value: the other live nodes {id, url, ...}. */
static void
cluster_peers_set(struct cluster *c, const redisReply *r)
{
	cluster_peers_clear(c);
	for (size_t i = 1; i + 1 < r->elements && c->npeers < CLUSTER_PEERS_MAX; i += 2) {
		const redisReply *id = r->element[i], *url = r->element[i + 1];

		if (id->type != REDIS_REPLY_STRING || url->type != REDIS_REPLY_STRING)
			continue;
		c->peers[c->npeers].id = xstrdup(id->str);
		c->peers[c->npeers].url = xstrdup(url->str);
		c->npeers++;
	}
}

/* The key check (and maybe the registry write) answered. */
static void
cluster_on_keycheck(void *arg, const struct redis_result *res)
{
	struct cluster *c = arg;
	const redisReply *r = res->reply, *v;
	struct buf plain;
	const char *why;
	int ok;

	c->registering = NULL;
	if (res->status != REDIS_R_OK || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING) {
		c->registered = 0;
		log_debug(
		    "cluster: key check: %s", res->status != REDIS_R_OK ? res->why : "not a value");
		return;
	}
	v = r->element[0];
	if (r->elements > 1 ||
	    (c->opened.len == v->len && memcmp(c->opened.data, v->str, v->len) == 0)) {
		/* the value this key opened before: registered with it */
		if (!c->registered)
			log_info("cluster: node %s registered as %s", c->node_id, c->advertise);
		c->registered = 1;
		cluster_peers_set(c, r);
		return;
	}
	c->registered = 0;
	buf_init(&plain);
	ok = seal_open(c->seal, c->keycheck_key, v->str, v->len, &plain, &why) == 0 &&
	    plain.len == sizeof CLUSTER_KEYCHECK_TEXT - 1 &&
	    memcmp(plain.data, CLUSTER_KEYCHECK_TEXT, plain.len) == 0;
	buf_free(&plain);
	cluster_key_set(c, ok ? CLUSTER_KEY_OK : CLUSTER_KEY_MISMATCH);
	if (!ok)
		return;
	buf_reset(&c->opened);
	buf_add(&c->opened, v->str, v->len);
	cluster_register(c); /* again: now it registers */
}

/*
 * Check the cluster key, then write the registry entry (one script in
 * flight at a time; a second round trip when the check value is new to
 * this node): a node whose key differs from the cluster's is never
 * registered, so no other node sends it work.
 */
static void
cluster_register(struct cluster *c)
{
	char px[24], epx[24], spx[24], max[24];
	struct buf sealed;
	const char *argv[12];
	size_t lens[12];

	if (c->registering != NULL)
		return;
	buf_init(&sealed);
	seal_seal(c->seal, c->keycheck_key, CLUSTER_KEYCHECK_TEXT, sizeof CLUSTER_KEYCHECK_TEXT - 1,
	    &sealed);
	snprintf(px, sizeof px, "%u", CLUSTER_KEYCHECK_MS);
	snprintf(epx, sizeof epx, "%u", c->lease_ms);
	snprintf(spx, sizeof spx, "%llu", (unsigned long long)c->lease_ms * 3);
	snprintf(max, sizeof max, "%d", CLUSTER_PEERS_MAX);
	argv[0] = c->keycheck_key;
	argv[1] = c->node_key;
	argv[2] = c->nodes_key;
	argv[3] = sealed.data;
	lens[3] = sealed.len;
	argv[4] = px;
	argv[5] = c->opened.len > 0 ? c->opened.data : "";
	lens[5] = c->opened.len;
	argv[6] = c->advertise;
	argv[7] = epx;
	argv[8] = c->node_id;
	argv[9] = c->node_prefix;
	argv[10] = spx;
	argv[11] = max;
	for (int i = 0; i < 12; i++)
		if (i != 3 && i != 5)
			lens[i] = strlen(argv[i]);
	c->registering = redis_eval(
	    c->redis, c->keycheck, REDIS_WANT_ARRAY, cluster_on_keycheck, c, 3, 12, argv, lens);
	buf_free(&sealed);
}

/* Every third of the lease: refresh the registry entry. */
static void
cluster_on_register_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;
	unsigned ms = c->lease_ms / 3;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->register_timer, &tv);
	cluster_register(c);
}

/* Redis became ready (register at once) or unavailable. */
static void
cluster_on_redis(void *arg, int ready)
{
	struct cluster *c = arg;

	if (ready && !c->leaving)
		cluster_register(c);
	else
		c->registered = 0;
	store_redis_ready(c->store, ready);
	if (ready && c->back != NULL)
		c->back(c->back_arg);
	if (c->watch != NULL)
		c->watch(c->watch_arg, ready);
}

/* Call fn whenever Redis becomes ready (it may hold less than was written: a restart, a failover). */
void
cluster_on_back(struct cluster *c, void (*fn)(void *), void *arg)
{
	c->back = fn;
	c->back_arg = arg;
}

/* Call fn whenever Redis becomes ready or stops being ready (one watcher: split.c). */
void
cluster_set_watch(struct cluster *c, void (*fn)(void *, int ready), void *arg)
{
	c->watch = fn;
	c->watch_arg = arg;
}

/* The other nodes as the registry named them at the last refresh; i from 0; 0 past the last. */
int
cluster_peer(const struct cluster *c, size_t i, const char **id, const char **url)
{
	if (i >= c->npeers)
		return 0;
	*id = c->peers[i].id;
	*url = c->peers[i].url;
	return 1;
}

/* The connection to Redis as the cluster.* keys set it (the password from cluster.password_file). */
void
cluster_redis_conf(const struct config *cfg, struct redis_conf *rc)
{
	memset(rc, 0, sizeof *rc);
	rc->url = cfg->cluster_redis;
	rc->sentinels = (const char *const *)cfg->cluster_sentinels.v;
	rc->nsentinels = cfg->cluster_sentinels.n;
	rc->sentinel_master = cfg->cluster_sentinel_master;
	rc->sentinel_password = cfg->cluster_secrets->sentinel_password;
	rc->password = cfg->cluster_secrets->password;
	rc->timeout_ms = (unsigned)cfg->cluster_timeout_ms;
	rc->backoff_min_ms = (unsigned)cfg->cluster_backoff_min_ms;
	rc->backoff_max_ms = (unsigned)cfg->cluster_backoff_max_ms;
	rc->max_queue = (size_t)cfg->cluster_max_queue;
	rc->max_reply = (size_t)cfg->cluster_max_reply_bytes;
}

/* Start cluster mode. */
struct cluster *
cluster_create(struct event_base *base, const struct config *cfg, const char *bound, char **cause)
{
	struct cluster *c = xcalloc(1, sizeof *c);
	struct redis_conf rc;
	struct store_conf sc;
	const char *l0 = cfg->listen.v[0];
	char *reg;

	c->base = base;
	c->node_id = cfg->cluster_node_id != NULL ? xstrdup(cfg->cluster_node_id)
						  : cluster_default_node_id();
	if (cfg->cluster_advertise != NULL)
		c->advertise = xstrdup(cfg->cluster_advertise);
	else
		xasprintf(&c->advertise, "%s://%s",
		    strncmp(l0, "https:", 6) == 0 ? "https" : "http", bound);
	xasprintf(&c->node_key, "%snode:%s", cfg->cluster_prefix, c->node_id);
	xasprintf(&c->keycheck_key, "%skeycheck", cfg->cluster_prefix);
	xasprintf(&c->nodes_key, "%snodes", cfg->cluster_prefix);
	xasprintf(&c->node_prefix, "%snode:", cfg->cluster_prefix);
	c->prefix = xstrdup(cfg->cluster_prefix);
	c->lease_ms = (unsigned)cfg->cluster_lease_ms;
	cluster_redis_conf(cfg, &rc);
	if ((c->redis = redis_create(base, &rc, cause)) == NULL) {
		free(c->node_id);
		free(c->advertise);
		free(c->node_key);
		free(c->keycheck_key);
		free(c->nodes_key);
		free(c->node_prefix);
		free(c->prefix);
		free(c);
		return NULL;
	}
	redis_set_watch(c->redis, cluster_on_redis, c);
	c->seal = seal_create(cfg->cluster_secrets->key);
	c->keycheck = redis_script_create(c->redis, cluster_lua_keycheck);
	buf_init(&c->opened);
	c->leases = leases_create(c->redis, cfg->cluster_prefix, c->node_id, c->lease_ms);
	sc.prefix = cfg->cluster_prefix;
	sc.node = c->node_id;
	sc.ttl_ms = (unsigned)cfg->cluster_state_ttl_ms;
	sc.max_unacked = (unsigned)cfg->cluster_max_unacked;
	sc.write_version = (int)cfg->cluster_write_version;
	c->store = store_create(base, c->redis, c->seal, &sc);
	xasprintf(&reg, "%snode:", cfg->cluster_prefix);
	leases_set_registry(c->leases, reg);
	free(reg);
	c->register_timer = evtimer_new(base, cluster_on_register_timer, c);
	log_info("cluster: node %s, advertised as %s, Redis %s, lease %u ms", c->node_id,
	    c->advertise, redis_name(c->redis), c->lease_ms);
	if (sc.write_version < STORE_WRITE_VERSION)
		log_info("cluster: writing the formats of version %d (cluster.write_version)",
		    sc.write_version);
	cluster_on_register_timer(-1, 0, c);
	return c;
}

/* The registry entry's deletion answered. */
static void
cluster_on_left(void *arg, const struct redis_result *res)
{
	struct cluster *c = arg;
	void (*done)(void *) = c->left;

	c->deleting = NULL;
	c->left = NULL;
	if (res->status == REDIS_R_OK)
		log_info("cluster: node %s left the registry", c->node_id);
	else
		log_warn("cluster: node %s: deleting its registry entry: %s", c->node_id, res->why);
	if (done != NULL)
		done(c->left_arg);
}

/* Drain: stop registering and delete the registry entry; done runs once Redis answered. */
void
cluster_leave(struct cluster *c, void (*done)(void *), void *arg)
{
	const char *argv[2] = { "DEL", c->node_key };

	c->leaving = 1;
	c->registered = 0;
	evtimer_del(c->register_timer);
	redis_cancel(c->registering);
	c->registering = NULL;
	c->left = done;
	c->left_arg = arg;
	if (c->deleting == NULL)
		c->deleting =
		    redis_command(c->redis, REDIS_WANT_INT, cluster_on_left, c, 2, argv, NULL);
}

/* Leave the cluster (the registry entry lapses by itself). */
void
cluster_free(struct cluster *c)
{
	if (c == NULL)
		return;
	redis_cancel(c->registering);
	redis_cancel(c->deleting);
	event_free(c->register_timer);
	store_free(c->store);
	leases_free(c->leases);
	redis_script_free(c->keycheck);
	buf_free(&c->opened);
	seal_free(c->seal);
	redis_free(c->redis);
	cluster_peers_clear(c);
	free(c->node_id);
	free(c->advertise);
	free(c->node_key);
	free(c->nodes_key);
	free(c->node_prefix);
	free(c->keycheck_key);
	free(c->prefix);
	free(c);
}

/* SIGHUP: what can change without a restart (cluster.write_version). */
void
cluster_set_config(struct cluster *c, const struct config *cfg)
{
	store_set_write_version(c->store, (int)cfg->cluster_write_version);
}

/*
 * {"node":..,"advertise":..,"redis":"ready"|"unavailable","replied_ms":N,
 * "ready_ms":N,"reason":..,"unavailable_ms":N,...,"peers":N}: peers is the
 * number of other nodes the last registry refresh named; replied_ms (while
 * ready) is how long ago Redis last answered this node, ready_ms how long
 * it has been ready (a node cut from Redis compares them with its own time
 * without Redis and its reconnect delay, split.c).
 */
int
cluster_health(struct cluster *c, struct jw *w)
{
	const char *why = redis_why(c->redis);
	int mismatch = c->key == CLUSTER_KEY_MISMATCH;

	jw_obj_begin(w);
	jw_kstr(w, "node", c->node_id);
	jw_kstr(w, "advertise", c->advertise);
	jw_kstr(w, "redis", why == NULL ? "ready" : "unavailable");
	if (redis_master(c->redis) != NULL)
		jw_kstr(w, "master", redis_master(c->redis));
	if (why == NULL && redis_replied_ms(c->redis) >= 0)
		jw_kint(w, "replied_ms", redis_replied_ms(c->redis));
	if (why == NULL)
		jw_kint(w, "ready_ms", redis_up_ms(c->redis));
	if (why != NULL) {
		jw_kstr(w, "reason", why);
		jw_kint(w, "unavailable_ms", (long long)redis_down_ms(c->redis));
	}
	jw_kstr(w, "key", cluster_key_names[c->key]);
	if (why == NULL && mismatch)
		jw_kstr(w, "reason",
		    "cluster key mismatch: cluster.key_file is not the other nodes' key");
	jw_kbool(w, "registered", c->registered);
	jw_kint(w, "peers", (long long)c->npeers);
	jw_obj_end(w);
	return why == NULL && !mismatch;
}

/* The /healthz hook. */
int
cluster_health_cb(void *arg, struct jw *w)
{
	return cluster_health(arg, w);
}

/*
 * Whether this node may do cluster work: Redis ready and the cluster key
 * not found to differ (the first check is a round trip after Redis became
 * ready; it comes before the first lease could be renewed).
 */
int
cluster_usable(const struct cluster *c)
{
	return redis_ready(c->redis) && c->key != CLUSTER_KEY_MISMATCH;
}

/* This node's id. */
const char *
cluster_node_id(const struct cluster *c)
{
	return c->node_id;
}

/* The URL other nodes reach this one on. */
const char *
cluster_advertise(const struct cluster *c)
{
	return c->advertise;
}

/* cluster.prefix: the start of every key. */
const char *
cluster_prefix(const struct cluster *c)
{
	return c->prefix;
}

/* The lease time (cluster.lease_ms). */
unsigned
cluster_lease_ms(const struct cluster *c)
{
	return c->lease_ms;
}

/* The Redis connection. */
struct redis *
cluster_redis(struct cluster *c)
{
	return c->redis;
}

/* This node's leases. */
struct leases *
cluster_leases(struct cluster *c)
{
	return c->leases;
}

/* The agent state store. */
struct store *
cluster_store(struct cluster *c)
{
	return c->store;
}

/* The secrets box (the cluster key). */
struct seal *
cluster_seal(struct cluster *c)
{
	return c->seal;
}
