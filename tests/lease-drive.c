/*
 * lease-drive.c: a test driver of the lease layer (not part of ucgw). It
 * reads the gateway's configuration (-c FILE, -o key=value: the cluster.*
 * keys, checked as ucgw -t checks them), connects to Redis as node
 * cluster.node_id, and then:
 *   stdin, one command per line:
 *     acquire NAME   take the lease NAME (renewed at a third of the lease)
 *     release NAME   compare-and-delete NAME (works on names not held too)
 *     forget NAME    stop renewing NAME without releasing it (it lapses)
 *     held NAME      print whether NAME is held now
 *     quit           (or end of input, or SIGTERM): exit 0
 *   stdout, one line per event:
 *     ready | unavailable WHY          (the Redis connection)
 *     acquired NAME | busy NAME OWNER | failed NAME WHY | lost NAME WHY
 *     released NAME | not-owner NAME | held NAME yes|no
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
#include "lease.h"
#include "log.h"
#include "redis.h"
#include "util.h"

struct drive_lease {
	struct lease *l;
	struct drive_lease *next;
};

static struct event_base *base;
static struct redis *redis;
static struct leases *leases;
static struct drive_lease *all;

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
	if (ready)
		say("ready");
	else
		say("unavailable %s", redis_why(redis));
}

/* A lease event. */
static void
on_lease(void *arg, struct lease *l, enum lease_event ev, const char *detail)
{
	const char *name = lease_name(l);

	switch (ev) {
	case LEASE_ACQUIRED: say("acquired %s", name); break;
	case LEASE_BUSY: say("busy %s %s", name, detail); break;
	case LEASE_FAILED: say("failed %s %s", name, detail); break;
	case LEASE_LOST: say("lost %s %s", name, detail); break;
	case LEASE_RELEASED: say("released %s", name); break;
	case LEASE_NOT_OWNER: say("not-owner %s", name); break;
	}
}

/* The lease object of name (made on first use). */
static struct lease *
find(const char *name, int make)
{
	struct drive_lease *d;

	for (d = all; d != NULL; d = d->next) {
		if (strcmp(lease_name(d->l), name) == 0)
			return d->l;
	}
	if (!make)
		return NULL;
	d = xcalloc(1, sizeof *d);
	d->l = lease_new(leases, name, on_lease, NULL);
	d->next = all;
	all = d;
	return d->l;
}

/* Free the lease object of name. */
static void
forget(const char *name)
{
	struct drive_lease **p, *d;

	for (p = &all; (d = *p) != NULL; p = &d->next) {
		if (strcmp(lease_name(d->l), name) == 0) {
			*p = d->next;
			lease_free(d->l);
			free(d);
			return;
		}
	}
}

/* One command line. */
static void
command(char *line)
{
	char *sp = strchr(line, ' ');
	const char *name = sp != NULL ? sp + 1 : "";

	if (sp != NULL)
		*sp = '\0';
	if (strcmp(line, "quit") == 0)
		event_base_loopexit(base, NULL);
	else if (strcmp(line, "acquire") == 0)
		lease_acquire(find(name, 1));
	else if (strcmp(line, "release") == 0)
		lease_release(find(name, 1));
	else if (strcmp(line, "forget") == 0)
		forget(name);
	else if (strcmp(line, "held") == 0) {
		struct lease *l = find(name, 0);

		say("held %s %s", name, l != NULL && lease_held(l) ? "yes" : "no");
	} else if (*line != '\0')
		say("error unknown command %s", line);
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
	struct bufferevent *in;
	struct event *sig;
	struct buf problems;
	char *p = NULL, *cause = NULL;
	const char *file = NULL;
	int ch;

	log_set_program("lease-drive");
	while ((ch = getopt(argc, argv, "c:o:")) != -1) {
		if (ch == 'c')
			file = optarg;
		else if (ch == 'o' && conf_override_add(&ov, optarg, &cause) != 0) {
			fprintf(stderr, "lease-drive: %s\n", cause);
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
		    "lease-drive needs cluster.redis, cluster.node_id and cluster.key_file\n");
		return 1;
	}
	buf_free(&problems);
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	cluster_redis_conf(cfg, &rc);
	if ((redis = redis_create(base, &rc, &cause)) == NULL) {
		fprintf(stderr, "lease-drive: %s\n", cause);
		return 1;
	}
	redis_set_watch(redis, on_redis, NULL);
	leases = leases_create(
	    redis, cfg->cluster_prefix, cfg->cluster_node_id, (unsigned)cfg->cluster_lease_ms);
	in = bufferevent_socket_new(base, 0, 0);
	bufferevent_setcb(in, on_stdin, NULL, on_stdin_event, NULL);
	bufferevent_enable(in, EV_READ);
	sig = evsignal_new(base, SIGTERM, on_signal, NULL);
	evsignal_add(sig, NULL);
	event_base_dispatch(base);
	while (all != NULL)
		forget(lease_name(all->l));
	leases_free(leases);
	redis_free(redis);
	bufferevent_free(in);
	event_free(sig);
	event_base_free(base);
	config_release(cfg);
	conf_free(&config_schema, cfg);
	conf_overrides_free(&ov);
	return 0;
}
