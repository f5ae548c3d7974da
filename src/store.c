/*
 * store.c: the agent state written to Redis in cluster mode (see store.h
 * and docs/cluster.md). Each agent has a record: the mirror of what is
 * stored (hash fields, notification lists) and the operations not yet
 * sent. One flush per loop turn sends one fenced script per agent with
 * operations; a failed write marks the agent to be written in full.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "hmap.h"
#include "json.h"
#include "log.h"
#include "redis.h"
#include "seal.h"
#include "store.h"

/*
 * KEYS[1] the lease, KEYS[2] the agent's hash; ARGV[1] this node, then
 * operations:
 *	h FIELD VALUE	HSET (a run of them: one HSET)	x FIELD	HDEL
 *	z		DEL the hash	T TTL CAP	the expiry and list cap
 *	p LIST VALUE	RPUSH, trimmed to the cap (a new list gets the expiry)
 *	t LIST N	drop the N oldest	d LIST	DEL
 *	e KEY		set the expiry (the hash or a list)
 * Nothing is written unless the lease names this node: then the holder
 * (or nil) is returned instead of 1. A command called from the script
 * costs Redis 7.0 about 4 k instructions, as much as 400 bytes of
 * arguments (about 11 a byte passed to a script): the expiries are set
 * by 'e' only when the store asks (a new record, a full write, the
 * refresh every third of the expiry), T only precedes the operations
 * that need it.
 */
static const char store_lua_write[] =
    "local h = redis.call('GET', KEYS[1])\n"
    "if h ~= ARGV[1] then return h end\n"
    "local a, i, n, f, ttl, cap = KEYS[2], 2, #ARGV, {}\n"
    "while i <= n do\n"
    "  local op = ARGV[i]\n"
    "  if op == 'h' then\n"
    "    f[#f+1] = ARGV[i+1]; f[#f+1] = ARGV[i+2]; i = i + 3\n"
    "    if #f >= 256 then redis.call('HSET', a, unpack(f)); f = {} end\n"
    "  else\n"
    "    if #f > 0 then redis.call('HSET', a, unpack(f)); f = {} end\n"
    "    if op == 'x' then redis.call('HDEL', a, ARGV[i+1]); i = i + 2\n"
    "    elseif op == 'z' then redis.call('DEL', a); i = i + 1\n"
    "    elseif op == 'T' then ttl, cap = ARGV[i+1], tonumber(ARGV[i+2]); i = i + 3\n"
    "    elseif op == 'p' then\n"
    "      local len = redis.call('RPUSH', ARGV[i+1], ARGV[i+2])\n"
    "      if len == 1 then redis.call('PEXPIRE', ARGV[i+1], ttl)\n"
    "      elseif len > cap then redis.call('LTRIM', ARGV[i+1], -cap, -1) end\n"
    "      i = i + 3\n"
    "    elseif op == 't' then redis.call('LTRIM', ARGV[i+1], ARGV[i+2], -1); i = i + 3\n"
    "    elseif op == 'd' then redis.call('DEL', ARGV[i+1]); i = i + 2\n"
    "    elseif op == 'e' then redis.call('PEXPIRE', ARGV[i+1], ttl); i = i + 2\n"
    "    else return redis.error_reply('store: unknown operation') end\n"
    "  end\n"
    "end\n"
    "if #f > 0 then redis.call('HSET', a, unpack(f)) end\n"
    "return 1\n";

/* KEYS[1] the agent's hash, ARGV[1] its lists' prefix: {hash, field, list, ...}. */
static const char store_lua_load[] =
    "local a = redis.call('HGETALL', KEYS[1])\n"
    "local out = {a}\n"
    "for i = 1, #a, 2 do\n"
    "  if string.sub(a[i], 1, 2) == 'c:' then\n"
    "    out[#out+1] = a[i]\n"
    "    out[#out+1] = redis.call('LRANGE', ARGV[1] .. string.sub(a[i], 3), 0, -1)\n"
    "  end\n"
    "end\n"
    "return out\n";

#define STORE_HEAD 6 /* arguments before the operations: the keys, node, at most T TTL CAP */

/* Arguments being built, as they are sent: RESP bulk strings (redis_bulk). */
struct store_args {
	struct buf data;
	size_t n;
};

/* One hash field as stored (sealed ones in sealed form). */
struct store_field {
	char *name;
	char *val;
	size_t len;
	int old_row; /* s:GWSID as write version 4 writes it: its messages inside */
	struct store_field *next;
};

/* A session row changed (store_session_mark): read at the flush. */
struct store_mark {
	char *id;
	int whole; /* the row, not only its outgoing messages */
};

/* One stored notification: "ID JSON". */
struct store_item {
	unsigned long long id;
	char *v;
	size_t len;
};

/* One client's list of notifications not yet acknowledged. */
struct store_list {
	char *client;
	char *key; /* PREFIXq:USER:CLIENT */
	struct store_item *v;
	size_t n, cap;
	struct store_list *next;
};

/* A callback waiting for the write that carries a change. */
struct store_wait {
	store_done cb;
	void *arg;
	struct store_wait *next;
};

/* One agent's record. */
struct store_rec {
	struct store *st;
	char *user;
	char *hkey;	 /* PREFIXagent:USER */
	char *lease_key; /* PREFIXlease:agent:USER */
	struct store_field *fields;
	struct store_list *lists;
	unsigned nlists;
	struct store_args ops;	   /* not sent yet */
	struct store_mark *marked; /* session rows changed, read at the flush */
	size_t nmarked, capmarked;
	int full;   /* write everything at the next flush */
	int touch;  /* set the expiries at the next flush (a new record, a third of the expiry) */
	int pushed; /* a pending operation pushes to a list (it needs the expiry and the cap) */
	int dirty;  /* on st->dirty */
	int fenced_told;
	struct store_wait *waits;
	TAILQ_ENTRY(store_rec) entry;
};

/* One script sent, and who waits for it. */
struct store_flush {
	struct store *st;
	char *user;
	struct store_wait *waits;
	struct redis_cmd *cmd;
	LIST_ENTRY(store_flush) entry;
};

/* A session's outgoing messages read from their own field, until they join the session. */
struct store_lout {
	char *sid;
	struct store_out *o;
	size_t n;
};

/* One load in flight. */
struct store_loading {
	struct store *st;
	char *user, *hkey;
	struct store_lout *louts; /* while the reply is read */
	size_t nlouts;
	char *utail; /* um: the UCWA snapshot's tail (write version 5), joined to u */
	store_load_cb cb;
	void *arg;
	struct redis_cmd *cmd;
	LIST_ENTRY(store_loading) entry;
};

struct store {
	struct event_base *base;
	struct redis *redis;
	struct seal *seal;
	char *prefix, *node;
	unsigned ttl_ms, max_unacked;
	int write_version;	       /* the formats written (STORE_WRITE_VERSION) */
	char ttl_arg[16], cap_arg[16]; /* both in decimal, as every write passes them */
	struct hmap *recs;
	TAILQ_HEAD(, store_rec) dirty;
	LIST_HEAD(, store_flush) flushes;
	LIST_HEAD(, store_loading) loads;
	struct event *flush_ev, *touch_ev;
	struct redis_script *write, *load;
	struct buf row, name, cv; /* scratch of store_session_put */
	store_row_cb row_cb;	  /* where marked session rows are read */
	void *row_arg;
	int flushing; /* in store_on_flush: a record made dirty is flushed in the same pass */
};

/* Append one argument. */
static void
store_args_add(struct store_args *a, const void *p, size_t len)
{
	redis_bulk(&a->data, p, len);
	a->n++;
}

/* Append one string argument. */
static void
store_args_str(struct store_args *a, const char *s)
{
	store_args_add(a, s, strlen(s));
}

/* Empty, keeping the memory. */
static void
store_args_reset(struct store_args *a)
{
	buf_reset(&a->data);
	a->n = 0;
}

/* Free. */
static void
store_args_free(struct store_args *a)
{
	buf_free(&a->data);
	memset(a, 0, sizeof *a);
}

static void store_on_flush(evutil_socket_t, short, void *);
static void store_on_touch(evutil_socket_t, short, void *);

/* The store of one node. */
struct store *
store_create(
    struct event_base *base, struct redis *r, struct seal *seal, const struct store_conf *conf)
{
	struct store *st = xcalloc(1, sizeof *st);
	unsigned ms = conf->ttl_ms / 3;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	st->base = base;
	st->redis = r;
	st->seal = seal;
	st->prefix = xstrdup(conf->prefix);
	st->node = xstrdup(conf->node);
	st->ttl_ms = conf->ttl_ms;
	st->max_unacked = conf->max_unacked;
	st->write_version = conf->write_version;
	snprintf(st->ttl_arg, sizeof st->ttl_arg, "%u", st->ttl_ms);
	snprintf(st->cap_arg, sizeof st->cap_arg, "%u", st->max_unacked);
	st->recs = hmap_create();
	buf_init(&st->row);
	buf_init(&st->name);
	buf_init(&st->cv);
	TAILQ_INIT(&st->dirty);
	LIST_INIT(&st->flushes);
	LIST_INIT(&st->loads);
	st->flush_ev = event_new(base, -1, 0, store_on_flush, st);
	st->touch_ev = event_new(base, -1, EV_PERSIST, store_on_touch, st);
	evtimer_add(st->touch_ev, &tv);
	st->write = redis_script_create(r, store_lua_write);
	st->load = redis_script_create(r, store_lua_load);
	return st;
}

/* Free a list of waits without calling them. */
static void
store_waits_free(struct store_wait *w)
{
	while (w != NULL) {
		struct store_wait *next = w->next;

		free(w);
		w = next;
	}
}

/*
 * Forget the mark of session id (NULL: every one) that a put of it (whole:
 * the row, else only its outgoing messages) supersedes.
 */
static void
store_rec_unmark(struct store_rec *rec, const char *id, int whole)
{
	for (size_t i = rec->nmarked; i-- > 0;) {
		if ((id != NULL && strcmp(rec->marked[i].id, id) != 0) ||
		    (rec->marked[i].whole && !whole))
			continue;
		free(rec->marked[i].id);
		rec->marked[i] = rec->marked[--rec->nmarked];
	}
}

/* Free a record. */
static void
store_rec_free(struct store_rec *rec)
{
	struct store_field *f;
	struct store_list *l;

	while ((f = rec->fields) != NULL) {
		rec->fields = f->next;
		free(f->name);
		free(f->val);
		free(f);
	}
	while ((l = rec->lists) != NULL) {
		rec->lists = l->next;
		for (size_t i = 0; i < l->n; i++)
			free(l->v[i].v);
		free(l->v);
		free(l->client);
		free(l->key);
		free(l);
	}
	if (rec->dirty)
		TAILQ_REMOVE(&rec->st->dirty, rec, entry);
	store_rec_unmark(rec, NULL, 1);
	free(rec->marked);
	store_waits_free(rec->waits);
	store_args_free(&rec->ops);
	free(rec->user);
	free(rec->hkey);
	free(rec->lease_key);
	free(rec);
}

/* hmap_each: free a record. */
static void
store_free_rec_cb(const char *key, void *value, void *arg)
{
	store_rec_free(value);
}

/* Free the store; callbacks not run yet never run. */
void
store_free(struct store *st)
{
	struct store_flush *fl;
	struct store_loading *ld;

	if (st == NULL)
		return;
	while ((fl = LIST_FIRST(&st->flushes)) != NULL) {
		LIST_REMOVE(fl, entry);
		redis_cancel(fl->cmd);
		store_waits_free(fl->waits);
		free(fl->user);
		free(fl);
	}
	while ((ld = LIST_FIRST(&st->loads)) != NULL) {
		LIST_REMOVE(ld, entry);
		redis_cancel(ld->cmd);
		free(ld->user);
		free(ld->hkey);
		free(ld);
	}
	hmap_each(st->recs, store_free_rec_cb, NULL);
	hmap_free(st->recs);
	event_free(st->flush_ev);
	event_free(st->touch_ev);
	redis_script_free(st->write);
	redis_script_free(st->load);
	buf_free(&st->row);
	buf_free(&st->name);
	buf_free(&st->cv);
	free(st->prefix);
	free(st->node);
	free(st);
}

/* Write in the formats of version v from now on (see store.h). */
void
store_set_write_version(struct store *st, int v)
{
	if (st->write_version != v)
		log_info(
		    "cluster: writing the formats of version %d (were %d)", v, st->write_version);
	st->write_version = v;
}

/* The formats written (see store.h). */
int
store_write_version(const struct store *st)
{
	return st != NULL ? st->write_version : STORE_WRITE_VERSION;
}

/* The record of user, made if needed. */
static struct store_rec *
store_rec_get(struct store *st, const char *user)
{
	struct store_rec *rec = hmap_get(st->recs, user);

	if (rec != NULL)
		return rec;
	rec = xcalloc(1, sizeof *rec);
	rec->st = st;
	rec->user = xstrdup(user);
	xasprintf(&rec->hkey, "%sagent:%s", st->prefix, user);
	xasprintf(&rec->lease_key, "%slease:agent:%s", st->prefix, user);
	rec->touch = 1; /* its hash may be new: the first write sets the expiry */
	hmap_put(st->recs, user, rec);
	return rec;
}

/* Flush rec at the end of this loop turn. */
static void
store_rec_dirty(struct store_rec *rec)
{
	if (!rec->dirty) {
		rec->dirty = 1;
		TAILQ_INSERT_TAIL(&rec->st->dirty, rec, entry);
	}
	if (!rec->st->flushing && !event_pending(rec->st->flush_ev, EV_TIMEOUT, NULL))
		event_active(rec->st->flush_ev, EV_TIMEOUT, 0);
}

/*
 * Add a callback to the record's next write (flushed this loop turn); 0
 * (no callback) when Redis is not ready: the write waits in redis.c's
 * queue, and the caller must not wait for it.
 */
static int
store_rec_wait(struct store_rec *rec, store_done cb, void *arg)
{
	struct store_wait *w, **pp = &rec->waits;

	store_rec_dirty(rec);
	if (cb == NULL || !redis_ready(rec->st->redis))
		return 0;
	w = xcalloc(1, sizeof *w);
	w->cb = cb;
	w->arg = arg;
	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = w;
	return 1;
}

/* Set a hash field in the mirror and queue its write; the mirror's field. */
static struct store_field *
store_rec_set(struct store_rec *rec, const char *name, const void *val, size_t len)
{
	struct store_field *f;

	for (f = rec->fields; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0)
			break;
	if (f == NULL) {
		f = xcalloc(1, sizeof *f);
		f->name = xstrdup(name);
		f->next = rec->fields;
		rec->fields = f;
	} else if (f->len == len && memcmp(f->val, val, len) == 0)
		return f;
	free(f->val);
	f->val = xmalloc(len + 1);
	memcpy(f->val, val, len);
	f->val[len] = '\0';
	f->len = len;
	store_args_str(&rec->ops, "h");
	store_args_str(&rec->ops, name);
	store_args_add(&rec->ops, val, len);
	store_rec_dirty(rec);
	return f;
}

/* Delete a hash field from the mirror and queue its deletion. */
static void
store_rec_unset(struct store_rec *rec, const char *name)
{
	for (struct store_field **pp = &rec->fields; *pp != NULL; pp = &(*pp)->next) {
		struct store_field *f = *pp;

		if (strcmp(f->name, name) == 0) {
			store_args_str(&rec->ops, "x"); /* first: name may be f's own */
			store_args_str(&rec->ops, name);
			*pp = f->next;
			free(f->name);
			free(f->val);
			free(f);
			store_rec_dirty(rec);
			return;
		}
	}
}

/* Seal len bytes of value under the field's own name (hash key "#" field) and set it. */
static void
store_rec_seal(struct store_rec *rec, const char *field, const char *value, size_t len)
{
	struct buf name, sealed;

	buf_init(&name);
	buf_init(&sealed);
	buf_printf(&name, "%s#%s", rec->hkey, field);
	seal_seal(rec->st->seal, name.data, value, len, &sealed);
	store_rec_set(rec, field, sealed.data, sealed.len);
	buf_free(&name);
	buf_free(&sealed);
}

/* The operations that write everything of rec (the hash deleted first). */
static void
store_rec_all(struct store_rec *rec, struct store_args *a)
{
	store_args_str(a, "z");
	for (struct store_field *f = rec->fields; f != NULL; f = f->next) {
		store_args_str(a, "h");
		store_args_str(a, f->name);
		store_args_add(a, f->val, f->len);
	}
	for (struct store_list *l = rec->lists; l != NULL; l = l->next) {
		store_args_str(a, "d");
		store_args_str(a, l->key);
		for (size_t i = 0; i < l->n; i++) {
			store_args_str(a, "p");
			store_args_str(a, l->key);
			store_args_add(a, l->v[i].v, l->v[i].len);
		}
	}
}

/* Run and free the waits of a write. */
static void
store_waits_run(struct store_wait *w, enum store_result r, const char *why)
{
	while (w != NULL) {
		struct store_wait *next = w->next;

		if (w->cb != NULL)
			w->cb(w->arg, r, why);
		free(w);
		w = next;
	}
}

/* A write answered. */
static void
store_on_written(void *arg, const struct redis_result *res)
{
	struct store_flush *fl = arg;
	struct store *st = fl->st;
	struct store_rec *rec = hmap_get(st->recs, fl->user);
	enum store_result r = STORE_OK;
	char why[256];

	LIST_REMOVE(fl, entry);
	why[0] = '\0';
	if (res->status != REDIS_R_OK) {
		r = STORE_FAILED;
		snprintf(why, sizeof why, "%s", res->why);
		if (rec != NULL)
			rec->full = 1;
		log_debug("store: agent %s: write failed: %s", fl->user, res->why);
	} else if (res->reply->type != REDIS_REPLY_INTEGER) {
		r = STORE_FENCED;
		snprintf(why, sizeof why, "lease agent:%s %s%s", fl->user,
		    res->reply->type == REDIS_REPLY_STRING ? "held by " : "not held",
		    res->reply->type == REDIS_REPLY_STRING ? res->reply->str : "");
		if (rec != NULL) {
			rec->full = 1;
			if (!rec->fenced_told)
				log_warn("store: agent %s not written: %s", fl->user, why);
			rec->fenced_told = 1;
		}
	} else if (rec != NULL)
		rec->fenced_told = 0;
	store_waits_run(fl->waits, r, r == STORE_OK ? NULL : why);
	free(fl->user);
	free(fl);
}

/*
 * Send rec's operations (or everything, or only the expiries) in one
 * script; a record left empty (no field, no list) is freed then: 1.
 */
static int
store_rec_flush(struct store_rec *rec)
{
	struct store *st = rec->st;
	const char *head[STORE_HEAD] = { rec->lease_key, rec->hkey, st->node, "T", st->ttl_arg,
		st->cap_arg };
	struct store_args *ops = &rec->ops;
	struct store_flush *fl;
	int nhead = 3;
	struct store_mark *marked = rec->marked;
	size_t nmarked = rec->nmarked;

	/* the marked rows first, each read once however often it changed this turn */
	rec->marked = NULL;
	rec->nmarked = rec->capmarked = 0;
	for (size_t i = 0; i < nmarked; i++) {
		if (st->row_cb != NULL)
			st->row_cb(st->row_arg, rec->user, marked[i].id, marked[i].whole);
		free(marked[i].id);
	}
	free(marked);
	if (rec->dirty) {
		rec->dirty = 0;
		TAILQ_REMOVE(&st->dirty, rec, entry);
	}
	if (ops->n == 0 && !rec->full && !rec->touch && rec->waits == NULL)
		goto out;
	/* after the pending operations: the deletion of a list no longer mirrored goes first */
	if (rec->full)
		store_rec_all(rec, ops);
	if (rec->touch || rec->full) { /* else the hash keeps the expiry set last */
		store_args_str(ops, "e");
		store_args_str(ops, rec->hkey);
		for (struct store_list *l = rec->lists; l != NULL; l = l->next) {
			store_args_str(ops, "e");
			store_args_str(ops, l->key);
		}
	}
	if (rec->touch || rec->full || rec->pushed)
		nhead = STORE_HEAD; /* T TTL CAP */
	rec->full = rec->touch = rec->pushed = 0;
	fl = xcalloc(1, sizeof *fl);
	fl->st = st;
	fl->user = xstrdup(rec->user);
	fl->waits = rec->waits;
	rec->waits = NULL;
	LIST_INSERT_HEAD(&st->flushes, fl, entry);
	/* the operations as they were appended: nothing copied but into the command */
	fl->cmd =
	    redis_eval_bulks(st->redis, st->write, REDIS_WANT_INT | REDIS_WANT_STR | REDIS_WANT_NIL,
		store_on_written, fl, 2, nhead, head, &ops->data, (int)ops->n);
	store_args_reset(ops);
out:
	if (rec->fields != NULL || rec->lists != NULL || rec->waits != NULL || rec->nmarked > 0)
		return 0;
	hmap_del(st->recs, rec->user);
	store_rec_free(rec);
	return 1;
}

/* End of a loop turn with changes: one script per agent with changes. */
static void
store_on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;
	struct store_rec *rec;

	st->flushing = 1;
	while ((rec = TAILQ_FIRST(&st->dirty)) != NULL)
		store_rec_flush(rec);
	st->flushing = 0;
}

/* Send every pending write now: a lease release issued next follows them. */
void
store_flush(struct store *st)
{
	if (st != NULL)
		store_on_flush(-1, 0, st);
}

/* hmap_each: mark a record to be written in full (arg 1) or its expiries refreshed. */
static void
store_mark_cb(const char *key, void *value, void *arg)
{
	struct store_rec *rec = value;

	if (*(int *)arg)
		rec->full = 1;
	else
		rec->touch = 1;
	store_rec_dirty(rec);
}

/* A third of the expiry: refresh every agent's keys. */
static void
store_on_touch(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;
	int full = 0;

	hmap_each(st->recs, store_mark_cb, &full);
}

/* Redis ready again: it may have restarted empty, so write every agent in full. */
void
store_redis_ready(struct store *st, int ready)
{
	int full = 1;

	if (st == NULL || !ready)
		return;
	if (hmap_count(st->recs) > 0)
		log_info("store: Redis ready: writing the state of %zu agents again",
		    hmap_count(st->recs));
	hmap_each(st->recs, store_mark_cb, &full);
}

/* Write user's state in full at the next flush. */
void
store_agent_resync(struct store *st, const char *user)
{
	struct store_rec *rec;

	if (st == NULL || (rec = hmap_get(st->recs, user)) == NULL)
		return;
	rec->full = 1;
	store_rec_dirty(rec);
}

/* Delete user's keys (fenced) now and forget the record. */
void
store_agent_drop(struct store *st, const char *user)
{
	struct store_rec *rec;

	if (st == NULL || (rec = hmap_get(st->recs, user)) == NULL)
		return;
	rec->full = rec->touch = 0;	/* pending operations stay: they may delete lists */
	store_rec_unmark(rec, NULL, 1); /* nothing written after the deletion */
	store_args_str(&rec->ops, "z");
	for (struct store_list *l = rec->lists; l != NULL; l = l->next) {
		store_args_str(&rec->ops, "d");
		store_args_str(&rec->ops, l->key);
	}
	if (store_rec_flush(rec))
		return;
	hmap_del(st->recs, user);
	store_rec_free(rec);
}

/* Send user's pending writes, then forget the record; its keys stay (hand-over). */
void
store_agent_release(struct store *st, const char *user)
{
	struct store_rec *rec;

	if (st == NULL || (rec = hmap_get(st->recs, user)) == NULL)
		return;
	if (store_rec_flush(rec))
		return;
	hmap_del(st->recs, user);
	store_rec_free(rec);
}

/* hmap_each: clear the waits of arg in a record. */
static void
store_forget_cb(const char *key, void *value, void *arg)
{
	struct store_rec *rec = value;

	for (struct store_wait *w = rec->waits; w != NULL; w = w->next)
		if (w->arg == arg)
			w->cb = NULL;
}

/* No callback with arg runs any more. */
void
store_forget(struct store *st, void *arg)
{
	struct store_flush *fl;
	struct store_loading *ld, *next;

	if (st == NULL)
		return;
	hmap_each(st->recs, store_forget_cb, arg);
	LIST_FOREACH(fl, &st->flushes, entry)
	{
		for (struct store_wait *w = fl->waits; w != NULL; w = w->next)
			if (w->arg == arg)
				w->cb = NULL;
	}
	for (ld = LIST_FIRST(&st->loads); ld != NULL; ld = next) {
		next = LIST_NEXT(ld, entry);
		if (ld->arg == arg) {
			LIST_REMOVE(ld, entry);
			redis_cancel(ld->cmd);
			free(ld->user);
			free(ld->hkey);
			free(ld);
		}
	}
}

/* The application and its endpointId. */
void
store_agent_app(struct store *st, const char *user, const char *app, const char *endpoint_id)
{
	struct store_rec *rec;

	if (st == NULL)
		return;
	rec = store_rec_get(st, user);
	if (app != NULL)
		store_rec_set(rec, "app", app, strlen(app));
	else
		store_rec_unset(rec, "app");
	if (endpoint_id != NULL)
		store_rec_set(rec, "ep", endpoint_id, strlen(endpoint_id));
}

/* A new token (sealed), its expiry and its renewal URL. */
void
store_agent_token(struct store *st, const char *user, const char *token, uint64_t expires_ms,
    const char *token_url)
{
	struct store_rec *rec;
	struct buf b;
	char n[24];

	if (st == NULL || token == NULL)
		return;
	rec = store_rec_get(st, user);
	buf_init(&b);
	store_code_token_encode(&b, token, st->write_version);
	store_rec_seal(rec, "tok", b.data, b.len);
	explicit_bzero(b.data, b.len);
	buf_free(&b);
	snprintf(n, sizeof n, "%llu", (unsigned long long)expires_ms);
	store_rec_set(rec, "texp", n, strlen(n));
	if (token_url != NULL)
		store_rec_set(rec, "turl", token_url, strlen(token_url));
}

/* The password a renewal needs (sealed). */
void
store_agent_creds(struct store *st, const char *user, const char *password)
{
	if (st == NULL || password == NULL)
		return;
	store_rec_seal(store_rec_get(st, user), "cred", password, strlen(password));
}

/* The mirrored value of a field, or NULL. */
static const char *
store_rec_value(const struct store_rec *rec, const char *name)
{
	for (const struct store_field *f = rec->fields; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f->val;
	return NULL;
}

/*
 * The event channel's next href (relative to the application: see
 * store_code_rel); 1 if cb will run.
 */
int
store_agent_cursor(struct store *st, const char *user, const char *next, store_done cb, void *arg)
{
	struct store_rec *rec;
	struct buf b;

	if (st == NULL)
		return 0;
	rec = store_rec_get(st, user);
	if (next != NULL) {
		buf_init(&b);
		store_code_rel(&b, next, store_rec_value(rec, "app"));
		store_rec_set(rec, "next", b.data, b.len);
		buf_free(&b);
	}
	return store_rec_wait(rec, cb, arg);
}

/* The agent's presence: "CR", C and R each 0 or 1. */
void
store_agent_presence(struct store *st, const char *user, int cc_session, int ready)
{
	char v[2] = { cc_session ? '1' : '0', ready ? '1' : '0' };

	if (st != NULL)
		store_rec_set(store_rec_get(st, user), "p", v, sizeof v);
}

/* Whether a wait now would wait. */
int
store_waitable(const struct store *st)
{
	return st != NULL && redis_ready(st->redis);
}

/* cb once user's pending writes are answered; 1 if it will run. */
int
store_agent_wait(struct store *st, const char *user, store_done cb, void *arg)
{
	if (st == NULL)
		return 0;
	return store_rec_wait(store_rec_get(st, user), cb, arg);
}

/*
 * The UCWA snapshot (no secrets: those are the sealed fields); at write
 * version 5 in two fields, its head in u and the rest in um (store.h).
 */
void
store_agent_ucwa(struct store *st, const char *user, const char *json, size_t len, size_t head)
{
	struct store_rec *rec;

	if (st == NULL || json == NULL)
		return;
	rec = store_rec_get(st, user);
	if (st->write_version < 5 || head == 0 || head >= len || json[head] != ',') {
		store_rec_unset(rec, "um");
		store_rec_set(rec, "u", json, len);
		return;
	}
	buf_reset(&st->row);
	buf_add(&st->row, json, head);
	buf_addch(&st->row, '}');
	store_rec_set(rec, "u", st->row.data, st->row.len);
	buf_reset(&st->row);
	buf_addch(&st->row, '{');
	buf_add(&st->row, json + head + 1, len - head - 1);
	store_rec_set(rec, "um", st->row.data, st->row.len);
}

/*
 * The o:GWSID field of session s made what own asks: its unconfirmed
 * messages (write version 5; [] for none, so that a message's delivery is
 * written in the same HSET as the cursor), or none (their place is the
 * row). Uses st->name and st->row.
 */
static void
store_rec_outs(struct store_rec *rec, const struct store_session *s, int own)
{
	struct store *st = rec->st;
	const char *why;

	buf_reset(&st->name);
	buf_add(&st->name, "o:", 2);
	buf_addstr(&st->name, s->id);
	if (!own) {
		store_rec_unset(rec, st->name.data);
		return;
	}
	buf_reset(&st->row);
	if (store_code_outs_encode(s->out, s->nout, &st->row, &why) != 0)
		log_warn("store: agent %s: the messages of session %s not stored: %s", rec->user,
		    s->id, why);
	else
		store_rec_set(rec, st->name.data, st->row.data, st->row.len);
}

/*
 * Add or replace a session row, or (!whole, write version 5) only its
 * outgoing messages; 1 if cb will run.
 */
int
store_session_put(struct store *st, const char *user, const struct store_session *s, int whole,
    store_done cb, void *arg)
{
	struct store_rec *rec;
	struct store_session rel = *s;
	const struct store_field *f;
	int own = st != NULL && st->write_version >= 5; /* the messages in fields of their own */
	const char *why;

	if (st == NULL)
		return 0;
	rec = store_rec_get(st, user);
	if (s->id == NULL || *s->id == '\0') {
		log_warn("store: agent %s: a session without an id not stored", user);
		return store_rec_wait(rec, cb, arg);
	}
	buf_reset(&st->name); /* scratch buffers of the store: no allocation per row */
	buf_add(&st->name, "s:", 2);
	buf_addstr(&st->name, s->id);
	if (own && !whole) { /* a row written with its messages inside (version 4) is rewritten */
		for (f = rec->fields; f != NULL && strcmp(f->name, st->name.data) != 0; f = f->next)
			;
		whole = f == NULL || f->old_row;
	}
	store_rec_unmark(rec, s->id, whole || !own); /* written now */
	if (whole || !own) {
		buf_reset(&st->row);
		buf_reset(&st->cv);
		if (s->conversation != NULL) { /* relative to the application (store_code_rel) */
			store_code_rel(&st->cv, s->conversation, store_rec_value(rec, "app"));
			rel.conversation = st->cv.data;
		}
		if (own) {
			rel.out = NULL;
			rel.nout = 0;
		}
		if (store_code_session_encode(&rel, &st->row, &why) != 0)
			log_warn("store: agent %s: session %s not stored: %s", user, s->id, why);
		else {
			struct store_field *row =
			    store_rec_set(rec, st->name.data, st->row.data, st->row.len);

			row->old_row = !own;
		}
	}
	store_rec_outs(rec, s, own);
	return store_rec_wait(rec, cb, arg);
}

/* Delete a session row and its outgoing messages' fields. */
void
store_session_del(struct store *st, const char *user, const char *id)
{
	struct store_rec *rec;
	struct store_session none = { .id = (char *)id };
	struct buf name;

	if (st == NULL || (rec = hmap_get(st->recs, user)) == NULL)
		return;
	store_rec_unmark(rec, id, 1);
	buf_init(&name);
	buf_printf(&name, "s:%s", id);
	store_rec_unset(rec, name.data);
	buf_free(&name);
	store_rec_outs(rec, &none, 0);
}

/* Where marked session rows are read at the flush (see store.h). */
void
store_set_row_source(struct store *st, store_row_cb cb, void *arg)
{
	if (st == NULL)
		return;
	st->row_cb = cb;
	st->row_arg = arg;
}

/* The row of session id (or only its messages) changed: read once at the flush (see store.h). */
void
store_session_mark(struct store *st, const char *user, const char *id, int whole)
{
	struct store_rec *rec;

	if (st == NULL || id == NULL)
		return;
	rec = store_rec_get(st, user);
	for (size_t i = 0; i < rec->nmarked; i++) {
		if (strcmp(rec->marked[i].id, id) == 0) {
			rec->marked[i].whole |= whole;
			return;
		}
	}
	if (rec->nmarked == rec->capmarked) {
		rec->capmarked = rec->capmarked ? rec->capmarked * 2 : 2;
		rec->marked = xreallocarray(rec->marked, rec->capmarked, sizeof *rec->marked);
	}
	rec->marked[rec->nmarked].id = xstrdup(id);
	rec->marked[rec->nmarked++].whole = whole;
	store_rec_dirty(rec);
}

/* The list of client in rec, made if create. */
static struct store_list *
store_rec_list(struct store_rec *rec, const char *client, int create)
{
	struct store_list *l;

	for (l = rec->lists; l != NULL; l = l->next)
		if (strcmp(l->client, client) == 0)
			return l;
	if (!create || rec->nlists >= STORE_MAX_CLIENT)
		return NULL;
	l = xcalloc(1, sizeof *l);
	l->client = xstrdup(client);
	xasprintf(&l->key, "%sq:%s:%s", rec->st->prefix, rec->user, client);
	l->next = rec->lists;
	rec->lists = l;
	rec->nlists++;
	return l;
}

/* Add or replace a client. */
void
store_client_put(
    struct store *st, const char *user, const char *client, const char *const *subs, size_t nsubs)
{
	struct store_rec *rec;
	struct buf b, name;
	const char *why;

	if (st == NULL)
		return;
	rec = store_rec_get(st, user);
	if (store_rec_list(rec, client, 1) == NULL) {
		log_warn("store: agent %s: client %s not stored: more than %d clients", user,
		    client, STORE_MAX_CLIENT);
		return;
	}
	buf_init(&b);
	buf_init(&name);
	if (store_code_client_encode(subs, nsubs, &b, &why) != 0)
		log_warn("store: agent %s: client %s not stored: %s", user, client, why);
	else {
		buf_printf(&name, "c:%s", client);
		store_rec_set(rec, name.data, b.data, b.len);
	}
	buf_free(&b);
	buf_free(&name);
}

/* Forget a client and its list. */
void
store_client_del(struct store *st, const char *user, const char *client)
{
	struct store_rec *rec;
	struct buf name;

	if (st == NULL || (rec = hmap_get(st->recs, user)) == NULL)
		return;
	buf_init(&name);
	buf_printf(&name, "c:%s", client);
	store_rec_unset(rec, name.data);
	buf_free(&name);
	for (struct store_list **pp = &rec->lists; *pp != NULL; pp = &(*pp)->next) {
		struct store_list *l = *pp;

		if (strcmp(l->client, client) != 0)
			continue;
		*pp = l->next;
		rec->nlists--;
		store_args_str(&rec->ops, "d");
		store_args_str(&rec->ops, l->key);
		store_rec_dirty(rec);
		for (size_t i = 0; i < l->n; i++)
			free(l->v[i].v);
		free(l->v);
		free(l->client);
		free(l->key);
		free(l);
		return;
	}
}

/* Append a notification to a client's list (capped: the oldest go). */
void
store_note_push(struct store *st, const char *user, const char *client, unsigned long long id,
    const char *json, size_t len)
{
	struct store_rec *rec;
	struct store_list *l;
	struct buf b;

	if (st == NULL)
		return;
	rec = store_rec_get(st, user);
	if ((l = store_rec_list(rec, client, 1)) == NULL)
		return;
	if (len > STORE_MAX_NOTE) {
		log_warn("store: agent %s: notification %llu of client %s not stored: longer than "
			 "%d bytes",
		    user, id, client, STORE_MAX_NOTE);
		return;
	}
	buf_init(&b);
	store_code_note_encode(id, json, len, &b);
	if (l->n == st->max_unacked) {
		free(l->v[0].v);
		memmove(l->v, l->v + 1, (l->n - 1) * sizeof *l->v);
		l->n--;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	l->v[l->n].id = id;
	l->v[l->n].v = b.data; /* the buffer's memory is the item's */
	l->v[l->n].len = b.len;
	l->n++;
	store_args_str(&rec->ops, "p");
	store_args_str(&rec->ops, l->key);
	store_args_add(&rec->ops, b.data, b.len);
	rec->pushed = 1;
	store_rec_dirty(rec);
}

/* Drop the notifications up to id from a client's list. */
void
store_note_ack(struct store *st, const char *user, const char *client, unsigned long long id)
{
	struct store_rec *rec;
	struct store_list *l;
	size_t k = 0;
	char n[24];

	if (st == NULL || (rec = hmap_get(st->recs, user)) == NULL ||
	    (l = store_rec_list(rec, client, 0)) == NULL)
		return;
	while (k < l->n && l->v[k].id <= id)
		free(l->v[k++].v);
	if (k == 0)
		return;
	memmove(l->v, l->v + k, (l->n - k) * sizeof *l->v);
	l->n -= k;
	snprintf(n, sizeof n, "%zu", k);
	store_args_str(&rec->ops, "t");
	store_args_str(&rec->ops, l->key);
	store_args_str(&rec->ops, n);
	store_rec_dirty(rec);
}

/* Free a loaded state. */
void
store_state_free(struct store_state *s)
{
	if (s == NULL)
		return;
	free(s->user);
	free(s->app);
	free(s->endpoint_id);
	free(s->token);
	free(s->token_url);
	if (s->password != NULL)
		explicit_bzero(s->password, strlen(s->password));
	free(s->password);
	free(s->events_next);
	free(s->ucwa);
	for (size_t i = 0; i < s->nsessions; i++)
		store_code_session_clear(&s->sessions[i]);
	free(s->sessions);
	for (size_t i = 0; i < s->nclients; i++) {
		struct store_client *c = &s->clients[i];

		free(c->id);
		for (size_t j = 0; j < c->nsubs; j++)
			free(c->subs[j]);
		free(c->subs);
		for (size_t j = 0; j < c->nnotes; j++)
			free(c->notes[j].json);
		free(c->notes);
	}
	free(s->clients);
	free(s);
}

/* A copy of a reply string. */
static char *
store_load_dup(const redisReply *r)
{
	char *s = xmalloc(r->len + 1);

	memcpy(s, r->str, r->len);
	s[r->len] = '\0';
	return s;
}

/* Open a sealed field (the token: store_code_token_decode); NULL with *why. */
static char *
store_load_open(
    struct store *st, const char *hkey, const redisReply *f, const redisReply *v, const char **why)
{
	struct buf name, out;
	char *s = NULL;

	buf_init(&name);
	buf_init(&out);
	buf_printf(&name, "%s#%s", hkey, f->str);
	if (seal_open(st->seal, name.data, v->str, v->len, &out, why) == 0) {
		s = strcmp(f->str, "tok") == 0
		    ? store_code_token_decode(out.data != NULL ? out.data : "", out.len)
		    : xstrdup(out.data != NULL ? out.data : "");
		if (s == NULL)
			*why = "sealed token of an unknown form";
	}
	if (out.data != NULL)
		explicit_bzero(out.data, out.len);
	buf_free(&out);
	buf_free(&name);
	return s;
}

/* The client of state s named id (made at its first mention). */
static struct store_client *
store_load_client(struct store_state *s, const char *id)
{
	for (size_t i = 0; i < s->nclients; i++)
		if (strcmp(s->clients[i].id, id) == 0)
			return &s->clients[i];
	s->clients = xreallocarray(s->clients, s->nclients + 1, sizeof *s->clients);
	memset(&s->clients[s->nclients], 0, sizeof *s->clients);
	s->clients[s->nclients].id = xstrdup(id);
	return &s->clients[s->nclients++];
}

/* One hash field into s; -1 with *why. */
static int
store_load_field(struct store *st, struct store_loading *ld, struct store_state *s,
    const redisReply *f, const redisReply *v, const char **why)
{
	const char *n = f->str;

	if (strcmp(n, "app") == 0)
		s->app = store_load_dup(v);
	else if (strcmp(n, "ep") == 0)
		s->endpoint_id = store_load_dup(v);
	else if (strcmp(n, "turl") == 0)
		s->token_url = store_load_dup(v);
	else if (strcmp(n, "next") == 0)
		s->events_next = store_load_dup(v);
	else if (strcmp(n, "u") == 0)
		s->ucwa = store_load_dup(v);
	else if (strcmp(n, "um") == 0 && ld->utail == NULL)
		ld->utail = store_load_dup(v);
	else if (strcmp(n, "p") == 0 && v->len == 2) {
		s->cc_session = v->str[0] == '1';
		s->ready = v->str[1] == '1';
	} else if (strcmp(n, "texp") == 0)
		s->token_expires_ms = strtoull(v->str, NULL, 10);
	else if (strcmp(n, "tok") == 0) {
		if ((s->token = store_load_open(st, ld->hkey, f, v, why)) == NULL)
			return -1;
	} else if (strcmp(n, "cred") == 0) {
		if ((s->password = store_load_open(st, ld->hkey, f, v, why)) == NULL)
			return -1;
	} else if (strncmp(n, "s:", 2) == 0) {
		s->sessions = xreallocarray(s->sessions, s->nsessions + 1, sizeof *s->sessions);
		if (store_code_session_decode(v->str, v->len, &s->sessions[s->nsessions], why) != 0)
			return -1;
		s->nsessions++;
	} else if (strncmp(n, "o:", 2) == 0) {
		struct store_lout *l;

		ld->louts = xreallocarray(ld->louts, ld->nlouts + 1, sizeof *ld->louts);
		l = &ld->louts[ld->nlouts];
		if (store_code_outs_decode(v->str, v->len, &l->o, &l->n, why) != 0)
			return -1;
		l->sid = xstrdup(n + 2);
		ld->nlouts++;
	} else if (strncmp(n, "c:", 2) == 0) {
		struct store_client *c = store_load_client(s, n + 2);

		if (c->subs != NULL)
			return 0;
		if (store_code_client_decode(v->str, v->len, c, why) != 0)
			return -1;
	} /* other fields: written by a newer version, not ours to read */
	return 0;
}

/* A client's list into s; -1 with *why. */
static int
store_load_list(struct store_state *s, const redisReply *f, const redisReply *l, const char **why)
{
	struct store_client *c = store_load_client(s, f->str + 2);

	if (l->type != REDIS_REPLY_ARRAY) {
		*why = "notification list: not an array";
		return -1;
	}
	c->notes = xcalloc(l->elements + 1, sizeof *c->notes);
	for (size_t i = 0; i < l->elements; i++) {
		if (l->element[i]->type != REDIS_REPLY_STRING ||
		    store_code_note_decode(
			l->element[i]->str, l->element[i]->len, &c->notes[c->nnotes], why) != 0)
			return -1;
		c->nnotes++;
	}
	return 0;
}

/* The hrefs stored relative to the application, absolute again (store_code_abs). */
static void
store_load_abs(struct store_state *s)
{
	char *v;

	if (s->events_next != NULL) {
		v = store_code_abs(s->events_next, s->app);
		free(s->events_next);
		s->events_next = v;
	}
	for (size_t i = 0; i < s->nsessions; i++) {
		if (s->sessions[i].conversation == NULL)
			continue;
		v = store_code_abs(s->sessions[i].conversation, s->app);
		free(s->sessions[i].conversation);
		s->sessions[i].conversation = v;
	}
}

/* Free the outgoing messages read and not joined to a session. */
static void
store_load_louts_free(struct store_loading *ld)
{
	for (size_t i = 0; i < ld->nlouts; i++) {
		for (size_t j = 0; j < ld->louts[i].n; j++) {
			free(ld->louts[i].o[j].opid);
			free(ld->louts[i].o[j].location);
			free(ld->louts[i].o[j].text);
			free(ld->louts[i].o[j].rid);
		}
		free(ld->louts[i].o);
		free(ld->louts[i].sid);
	}
	free(ld->louts);
	ld->louts = NULL;
	ld->nlouts = 0;
}

/*
 * The outgoing messages read from their session's own field (write
 * version 5) after those of its row, in order; those of a session not
 * stored are dropped, and one its row holds already is not added twice.
 * NULL, or why.
 */
static const char *
store_load_outs(struct store_loading *ld, struct store_state *s)
{
	for (size_t i = 0; i < ld->nlouts; i++) {
		struct store_lout *l = &ld->louts[i];
		struct store_session *ss = NULL;
		size_t j;

		for (j = 0; j < s->nsessions && ss == NULL; j++)
			if (strcmp(s->sessions[j].id, l->sid) == 0)
				ss = &s->sessions[j];
		if (ss == NULL) {
			log_debug("store: %s: messages of session %s not stored: dropped", ld->hkey,
			    l->sid);
			continue;
		}
		for (size_t k = 0; k < l->n; k++) {
			for (j = 0; j < ss->nout && strcmp(ss->out[j].opid, l->o[k].opid) != 0; j++)
				;
			if (j < ss->nout)
				continue;
			if (ss->nout >= STORE_MAX_OUT)
				return "session: too many outgoing messages";
			ss->out = xreallocarray(ss->out, ss->nout + 1, sizeof *ss->out);
			ss->out[ss->nout++] = l->o[k];
			memset(&l->o[k], 0, sizeof l->o[k]);
		}
	}
	return NULL;
}

/* A version 5 snapshot's head (u) and tail (um) joined: one document again. */
static void
store_load_ucwa(struct store_loading *ld, struct store_state *s)
{
	size_t n;
	char *j;

	if (s->ucwa == NULL || ld->utail == NULL || strncmp(s->ucwa, "{\"v\":5,", 7) != 0 ||
	    (n = strlen(s->ucwa)) < 2 || s->ucwa[n - 1] != '}' || ld->utail[0] != '{' ||
	    ld->utail[1] == '}')
		return;
	xasprintf(&j, "%.*s,%s", (int)(n - 1), s->ucwa, ld->utail + 1);
	free(s->ucwa);
	s->ucwa = j;
}

/* The load script answered. */
static void
store_on_loaded(void *arg, const struct redis_result *res)
{
	struct store_loading *ld = arg;
	const redisReply *r = res->reply, *h;
	struct store_state *s = NULL;
	const char *why = NULL;
	char msg[256], full[512];

	LIST_REMOVE(ld, entry);
	if (res->status != REDIS_R_OK)
		why = res->why;
	else if (r->elements < 1 || (h = r->element[0])->type != REDIS_REPLY_ARRAY ||
	    h->elements % 2 != 0 || r->elements % 2 != 1)
		why = "unexpected reply to the load script";
	else if (h->elements > 0) {
		s = xcalloc(1, sizeof *s);
		s->user = xstrdup(ld->user);
		s->cc_session = s->ready = -1;
		for (size_t i = 0; i < h->elements && why == NULL; i += 2) {
			if (h->element[i]->type != REDIS_REPLY_STRING ||
			    h->element[i + 1]->type != REDIS_REPLY_STRING)
				why = "a hash field is not a string";
			else if (store_load_field(
				     ld->st, ld, s, h->element[i], h->element[i + 1], &why) != 0) {
				snprintf(msg, sizeof msg, "field %s: %s", h->element[i]->str, why);
				why = msg;
			}
		}
		if (why == NULL && ld->nlouts > 0)
			why = store_load_outs(ld, s);
		if (why == NULL)
			store_load_ucwa(ld, s);
		if (why == NULL)
			store_load_abs(s);
		for (size_t i = 1; i + 1 < r->elements && why == NULL; i += 2) {
			if (store_load_list(s, r->element[i], r->element[i + 1], &why) != 0) {
				snprintf(
				    msg, sizeof msg, "list of %s: %s", r->element[i]->str, why);
				why = msg;
			}
		}
	}
	if (why != NULL) {
		store_state_free(s);
		s = NULL;
		snprintf(full, sizeof full, "%s: %s", ld->hkey, why);
		why = full;
	}
	store_load_louts_free(ld);
	free(ld->utail);
	ld->cb(ld->arg, s, why);
	free(ld->user);
	free(ld->hkey);
	free(ld);
}

/* Read everything of user back. */
void
store_load(struct store *st, const char *user, store_load_cb cb, void *arg)
{
	struct store_loading *ld = xcalloc(1, sizeof *ld);
	const char *argv[2];
	char *qprefix;

	ld->st = st;
	ld->user = xstrdup(user);
	xasprintf(&ld->hkey, "%sagent:%s", st->prefix, user);
	xasprintf(&qprefix, "%sq:%s:", st->prefix, user);
	ld->cb = cb;
	ld->arg = arg;
	argv[0] = ld->hkey;
	argv[1] = qprefix;
	LIST_INSERT_HEAD(&st->loads, ld, entry);
	ld->cmd = redis_eval(
	    st->redis, st->load, REDIS_WANT_ARRAY, store_on_loaded, ld, 1, 2, argv, NULL);
	free(qprefix);
}
