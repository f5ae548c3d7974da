/*
 * main.c: the ucgw program: builds the gateway's parts from the
 * configuration on start, hands reloaded configurations to them, and
 * drains them on SIGTERM. Process life itself is daemon.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "agent.h"
#include "auth.h"
#include "cluster.h"
#include "cometd.h"
#include "gws_im.h"
#include "relay.h"
#include "signin.h"
#include "ucwa.h"
#include "config.h"
#include "daemon.h"
#include "forward.h"
#include "gws.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "owner.h"
#include "split.h"
#include "store.h"
#include "takeover.h"
#include "tls.h"
#include "record.h"
#include "redis.h"
#include "seal.h"
#include "xlate.h"
#include "xlate_cli.h"

static struct {
	const struct config *cfg;
	struct httpd *httpd;
	SSL_CTX *tls;
	struct gws *gws;
	struct auth *auth;
	struct cometd *cometd;
	struct agents *agents;
	struct ucwa *ucwa;
	struct gws_im *im;
	struct signin *signin;
	struct admin *admin;
	struct cluster *cluster;   /* cluster mode only */
	struct owner *owner;	   /* cluster mode only: one owner per agent */
	struct forward *forward;   /* cluster mode only: requests forwarded to their owner */
	struct takeover *takeover; /* cluster mode with UCWA: agents carried between nodes */
	struct split *split;	   /* cluster mode only: cut from Redis, or Redis down for all */
	int drain_parts;	   /* drain: parts (upstream, leases) not finished yet */
	void (*drained)(void *);
	void *drained_arg;
} ucgw;

/* An agent with live CometD clients is not idle. */
static int
main_agent_busy(const struct agent *a, void *arg)
{
	return cometd_agent_live(a->links[AGENTS_SLOT_COMETD]) > 0;
}

/* The upstream half: UCWA client and sign-in, when configured. */
static int
main_start_upstream(struct event_base *base, const struct config *cfg, char **cause)
{
	struct ucwa_conf uc;

	if (cfg->up_discovery_url == NULL && cfg->up_applications_url == NULL)
		return 0;
	config_ucwa(cfg, &uc);
	if ((ucgw.ucwa = ucwa_new(base, &uc, cause)) == NULL)
		return -1;
	relay_hook(ucgw.agents, ucgw.im);
	ucgw.signin = signin_create(base, ucgw.ucwa, ucgw.agents, ucgw.im);
	if (cfg->auth_verifier == CONFIG_VERIFIER_UCWA)
		auth_set_verifier(ucgw.auth, signin_verifier(ucgw.signin));
	return 0;
}

/*
 * Without UCWA (no agent to carry over): an agent's lease was acquired
 * (again): what the store holds of it is written in full, so writes fenced
 * while another node or nobody held the lease are not lost.
 */
static void
main_owner_acquired(void *arg, const char *user)
{
	store_agent_resync(cluster_store(ucgw.cluster), user);
	owner_loaded(ucgw.owner, user);
}

/* split_hold for the UCWA client's hook. */
static int
main_split_hold(void *arg)
{
	return split_hold(arg);
}

/* The split verdict changed: held event channels and adrift agents follow it. */
static void
main_split_changed(void *arg, enum split_state st)
{
	struct agent **v;
	size_t n = ucgw.agents != NULL ? agents_list(ucgw.agents, &v) : 0;

	for (size_t i = 0; i < n; i++)
		if (v[i]->ucwa != NULL)
			ucwa_agent_hold_changed(v[i]->ucwa);
	if (n > 0)
		free(v);
	cometd_hold_changed(ucgw.cometd);
	gws_im_hold_changed(ucgw.im);
	owner_split_changed(ucgw.owner);
}

/* Cluster mode: CSRF tokens the same on every node (a session adopted keeps its token). */
static void
main_csrf_key(struct cluster *c)
{
	unsigned char key[SEAL_KEY_BYTES];

	seal_derive(cluster_seal(c), "ucgw csrf token v1", key);
	auth_set_csrf_key(ucgw.auth, key);
	OPENSSL_cleanse(key, sizeof key);
}

/* Every desktop request's answer: metrics, and the access log when asked. */
static void
main_observe(const struct http_req *req, int status, size_t bytes, double secs, void *arg)
{
	const char *route = http_req_route(req), *op = http_req_op(req);
	char labels[160], num[24];

	if (route == NULL)
		route = "other";
	util_join(labels, sizeof labels,
	    (const char *const[]){ "route=\"", route, "\",operation=\"", op ? op : "",
		"\",status=\"", util_itoa(status, num), "\"", NULL });
	metrics_inc(M_HTTP_REQUESTS, labels);
	util_join(labels, sizeof labels, (const char *const[]){ "route=\"", route, "\"", NULL });
	metrics_observe(M_HTTP_DURATION, labels, secs);
	if (ucgw.cfg->log_access) {
		struct log_access a = { http_req_method(req), http_req_path(req),
			http_req_client(req), http_req_user(req), status, bytes, secs };

		log_access(&a);
	}
}

/* Before a scrape: the gauges. */
static void
main_collect(void *arg)
{
	static const char *const states[] = { "Initiating", "Alerting", "Talking", "Completed" };
	unsigned counts[4] = { 0 }, clients, parked;
	size_t queued;
	char labels[64];

	metrics_set(M_AGENTS, NULL, agents_count(ucgw.agents));
	gws_im_count_states(ucgw.im, counts, nitems(counts));
	for (size_t i = 0; i < nitems(states); i++) {
		snprintf(labels, sizeof labels, "state=\"%s\"", states[i]);
		metrics_set(M_SESSIONS, labels, counts[i]);
	}
	cometd_stats(ucgw.cometd, &clients, &parked, &queued);
	metrics_set(M_COMETD_CLIENTS, NULL, clients);
	metrics_set(M_COMETD_PARKED, NULL, parked);
	metrics_set(M_COMETD_QUEUED, NULL, (double)queued);
	if (ucgw.cluster != NULL) {
		metrics_set(M_CLUSTER_REDIS_UP, NULL, redis_ready(cluster_redis(ucgw.cluster)));
		metrics_set(M_CLUSTER_LEASES, NULL, owner_count(ucgw.owner));
		metrics_set(M_CLUSTER_FORWARDS, NULL, forward_inflight(ucgw.forward));
		metrics_set(M_CLUSTER_TUNNELS, NULL, forward_tunnels(ucgw.forward));
	}
}

/* systemd's STATUS= line. */
static void
main_status(struct buf *b)
{
	unsigned counts[4] = { 0 };
	const char *why = NULL;

	gws_im_count_states(ucgw.im, counts, nitems(counts));
	buf_printf(b, "%u agents, %u IM sessions, %u CometD clients; %s%s",
	    agents_count(ucgw.agents), counts[0] + counts[1] + counts[2] + counts[3],
	    cometd_nclients(ucgw.cometd),
	    admin_ready(ucgw.admin, &why) ? "ready" : "not ready: ", why ? why : "");
}

/* Counters that start at 0 so that rates exist before the first event. */
static void
main_metrics_init(void)
{
	static const char *const results[] = { "result=\"delivered\"", "result=\"failed\"",
		"result=\"split\"", "result=\"refused\"" };

	for (size_t i = 0; i < nitems(results); i++)
		metrics_add(M_MESSAGES, results[i], 0);
	metrics_add(M_UCWA_TOKENS, NULL, 0);
	metrics_add(M_UCWA_APPS, NULL, 0);
	metrics_add(M_UCWA_RECONNECTS, NULL, 0);
	metrics_add(M_UCWA_BAD_EVENTS, NULL, 0);
	metrics_add(M_DROPPED, NULL, 0);
}

/* Open TLS (if configured) and every listener. */
static int
main_start(struct event_base *base, const void *cfgp, char **cause)
{
	const struct config *cfg = cfgp;
	struct httpd_limits lim;
	char bound[64], first[64] = "";

	if (cfg->tls_ctx != NULL) {
		SSL_CTX_up_ref(cfg->tls_ctx);
		ucgw.tls = cfg->tls_ctx;
	}
	main_metrics_init();
	ucgw.gws = gws_create(base, cfg);
	ucgw.auth = auth_create(base, cfg);
	ucgw.cometd = cometd_create(base, cfg, ucgw.auth);
	gws_set_desktop(ucgw.gws, ucgw.auth, ucgw.cometd);
	ucgw.agents = agents_create(base, (unsigned)cfg->agent_idle_ms);
	agents_set_busy(ucgw.agents, main_agent_busy, NULL);
	auth_set_agents(ucgw.auth, ucgw.agents);
	cometd_set_agents(ucgw.cometd, ucgw.agents);
	ucgw.im = gws_im_create(base, ucgw.agents, ucgw.cometd);
	gws_set_im(ucgw.gws, ucgw.agents, ucgw.im);
	if (main_start_upstream(base, cfg, cause) != 0)
		return -1;
	ucgw.admin = admin_create(base, cfg, main_collect, NULL);
	config_httpd_limits(cfg, &lim);
	ucgw.httpd = httpd_create(base, &lim, gws_handle, ucgw.gws);
	httpd_set_error_format(ucgw.httpd, gws_error_format);
	httpd_set_observer(ucgw.httpd, main_observe, NULL);
	for (size_t i = 0; i < cfg->listen.n; i++) {
		if (httpd_listen(
			ucgw.httpd, cfg->listen.v[i], ucgw.tls, bound, sizeof bound, cause) != 0)
			return -1;
		log_info("listening on %s (%s)", bound, cfg->listen.v[i]);
		daemon_announce(bound);
		if (i == 0)
			snprintf(first, sizeof first, "%s", bound);
	}
	if (cluster_configured(cfg)) {
		if ((ucgw.forward = forward_create(base, cfg, cause)) == NULL ||
		    (ucgw.cluster = cluster_create(base, cfg, first, cause)) == NULL)
			return -1;
		gws_set_health(ucgw.gws, cluster_health_cb, ucgw.cluster);
		main_csrf_key(ucgw.cluster);
		gws_im_set_store(ucgw.im, cluster_store(ucgw.cluster));
		agents_set_store(ucgw.agents, cluster_store(ucgw.cluster));
		cometd_set_store(ucgw.cometd, cluster_store(ucgw.cluster));
		if (ucgw.ucwa != NULL) {
			ucwa_set_store(ucgw.ucwa, cluster_store(ucgw.cluster));
			ucwa_keep_marks(ucgw.ucwa, 1); /* for take-over snapshots */
		}
		ucgw.owner =
		    owner_create(base, cfg, ucgw.cluster, ucgw.auth, ucgw.agents, ucgw.forward);
		gws_set_owner(ucgw.gws, ucgw.owner);
		if (ucgw.signin != NULL) {
			ucgw.takeover = takeover_create(base, cluster_store(ucgw.cluster),
			    ucgw.owner, ucgw.agents, ucgw.im, ucgw.cometd, ucgw.signin);
			owner_set_hooks(
			    ucgw.owner, takeover_acquired, takeover_lost, ucgw.takeover);
		} else
			owner_set_hooks(ucgw.owner, main_owner_acquired, NULL, NULL);
		ucgw.split = split_create(base, ucgw.cluster, ucgw.forward,
		    (unsigned)cfg->cluster_timeout_ms, (unsigned)cfg->cluster_backoff_max_ms);
		split_on_change(ucgw.split, main_split_changed, NULL);
		owner_set_split(ucgw.owner, ucgw.split);
		if (ucgw.ucwa != NULL)
			ucwa_set_hold(ucgw.ucwa, main_split_hold, ucgw.split);
		cometd_set_hold(ucgw.cometd, main_split_hold, ucgw.split);
		gws_im_set_hold(ucgw.im, main_split_hold, ucgw.split);
	}
	if (admin_listen(ucgw.admin, ucgw.tls, cause) != 0)
		return -1;
	admin_set_listening(ucgw.admin, 1);
	return 0;
}

/* SIGHUP: new connections get the certificate the new configuration loaded. */
static void
main_rotate_tls(const struct config *cfg)
{
	if (ucgw.tls == NULL || cfg->tls_ctx == NULL || cfg->tls_ctx == ucgw.tls)
		return;
	SSL_CTX_up_ref(cfg->tls_ctx);
	httpd_set_tls(ucgw.httpd, cfg->tls_ctx);
	admin_set_tls(ucgw.admin, cfg->tls_ctx);
	SSL_CTX_free(ucgw.tls); /* connections still using it hold their own reference */
	ucgw.tls = cfg->tls_ctx;
	log_info("TLS: new connections get the certificate of %s", cfg->tls_cert_file);
}

/* Take a new configuration into use. */
static void
main_apply(const void *cfgp, const void *old)
{
	const struct config *cfg = cfgp;
	struct httpd_limits lim;

	ucgw.cfg = cfg;
	log_set_level((enum log_level)cfg->log_level);
	log_set_format((enum log_format)cfg->log_format);
	/* The rules config_validate loaded and checked: the file is not read again. */
	xlate_set_current(cfg->translate_rules);
	log_info("translation rules from %s",
	    cfg->translate_file != NULL ? cfg->translate_file : "the built-in default");
	record_configure(cfg);
	if (ucgw.httpd != NULL) {
		config_httpd_limits(cfg, &lim);
		httpd_set_limits(ucgw.httpd, &lim);
	}
	if (ucgw.gws != NULL)
		gws_set_config(ucgw.gws, cfg);
	if (ucgw.auth != NULL)
		auth_set_config(ucgw.auth, cfg);
	if (ucgw.cometd != NULL)
		cometd_set_config(ucgw.cometd, cfg);
	if (ucgw.agents != NULL)
		agents_set_idle(ucgw.agents, (unsigned)cfg->agent_idle_ms);
	if (ucgw.admin != NULL)
		admin_set_config(ucgw.admin, cfg);
	if (ucgw.owner != NULL)
		owner_set_config(ucgw.owner, cfg);
	if (ucgw.cluster != NULL)
		cluster_set_config(ucgw.cluster, cfg);
	if (old != NULL && ucgw.httpd != NULL)
		main_rotate_tls(cfg);
}

/* Upstream sign-outs and lease releases finished (or timed out): drain the listeners. */
static void
main_upstream_done(void *arg)
{
	if (--ucgw.drain_parts > 0)
		return;
	httpd_drain(ucgw.httpd, (unsigned)ucgw.cfg->drain_ms, ucgw.drained, ucgw.drained_arg);
}

/* hmap_each-style walk: remove every agent (ends sessions, signs out). */
static void
main_remove_agents(void)
{
	struct agent **v;
	size_t n;

	n = agents_list(ucgw.agents, &v);
	for (size_t i = 0; i < n; i++)
		agents_remove(ucgw.agents, v[i], "shutdown");
	free(v);
}

/* SIGTERM: answer parked polls, sign agents out upstream, let requests finish. */
static void
main_drain(void (*done)(void *), void *arg)
{
	ucgw.drained = done;
	ucgw.drained_arg = arg;
	admin_drain(ucgw.admin);
	if (ucgw.signin != NULL)
		signin_drain(ucgw.signin);
	if (ucgw.takeover != NULL) /* each is handed over, then releases its lease */
		takeover_hand_over_all(ucgw.takeover, "this node drains: handed over");
	else
		main_remove_agents(); /* in cluster mode, each releases its lease */
	cometd_drain(ucgw.cometd);
	ucgw.drain_parts = ucgw.owner != NULL ? 2 : 1;
	if (ucgw.owner != NULL)
		owner_drain(ucgw.owner, main_upstream_done, NULL);
	if (ucgw.ucwa != NULL)
		ucwa_shutdown(ucgw.ucwa, (unsigned)ucgw.cfg->drain_ms, main_upstream_done, NULL);
	else
		main_upstream_done(NULL);
}

/* Free everything. */
static void
main_stop(void)
{
	httpd_free(ucgw.httpd);
	admin_free(ucgw.admin);
	if (ucgw.cluster != NULL) { /* the store goes with the cluster */
		gws_im_set_store(ucgw.im, NULL);
		agents_set_store(ucgw.agents, NULL);
		cometd_set_store(ucgw.cometd, NULL);
		if (ucgw.ucwa != NULL) {
			ucwa_set_store(ucgw.ucwa, NULL);
			ucwa_set_hold(ucgw.ucwa, NULL, NULL);
		}
	}
	if (ucgw.split != NULL) {
		cometd_set_hold(ucgw.cometd, NULL, NULL);
		gws_im_set_hold(ucgw.im, NULL, NULL);
	}
	split_free(ucgw.split); /* its questions go on the forwarder's client */
	takeover_free(ucgw.takeover);
	owner_free(ucgw.owner);
	forward_free(ucgw.forward);
	gws_set_owner(ucgw.gws, NULL);
	cluster_free(ucgw.cluster);
	if (ucgw.agents != NULL) {
		main_remove_agents();
		auth_set_agents(ucgw.auth, NULL);
		cometd_set_agents(ucgw.cometd, NULL);
		agents_free(ucgw.agents);
	}
	gws_im_free(ucgw.im);
	signin_free(ucgw.signin);
	if (ucgw.ucwa != NULL)
		ucwa_free(ucgw.ucwa);
	cometd_free(ucgw.cometd);
	auth_free(ucgw.auth);
	gws_free(ucgw.gws);
	xlate_set_current(NULL);
	record_shutdown();
	if (ucgw.tls != NULL)
		SSL_CTX_free(ucgw.tls);
}

static const struct daemon_prog main_prog = {
	.name = "ucgw",
	.summary = "ucgw: Genesys Web Services v2 IM API <-> Skype for Business UCWA 2.0 gateway",
	.schema = &config_schema,
	.validate = config_validate,
	.release = config_release,
	.start = main_start,
	.apply = main_apply,
	.drain = main_drain,
	.stop = main_stop,
	.status = main_status,
	.default_file = UCGW_SYSCONFDIR "/ucgw/ucgw.conf",
	.usage_extra = "\nAlso:\n"
		       "  ucgw xlate [-c RULES | -C CONF] FILE...   dry run of the translation "
		       "rules on transcripts\n"
		       "                                            (ucgw xlate --help)\n",
};

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "xlate") == 0)
		return xlate_cli_main(argc - 1, argv + 1);
	log_detect_journal();
	return daemon_main(&main_prog, argc, argv);
}
