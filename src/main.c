/*
 * main.c: the ucgw program: builds the gateway's parts from the
 * configuration on start, hands reloaded configurations to them, and
 * drains them on SIGTERM. Process life itself is daemon.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "auth.h"
#include "cluster.h"
#include "cometd.h"
#include "gws_im.h"
#include "signin.h"
#include "ucwa.h"
#include "config.h"
#include "daemon.h"
#include "gws.h"
#include "httpd.h"
#include "log.h"
#include "tls.h"
#include "record.h"
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
	struct cluster *cluster; /* cluster mode only */
	void (*drained)(void *);
	void *drained_arg;
} ucgw;

/* An agent with live CometD clients is not idle. */
static int
ucgw_agent_busy(const struct agent *a, void *arg)
{
	return cometd_agent_nclients(ucgw.cometd, a->name) > 0;
}

/* The upstream half: UCWA client and sign-in, when configured. */
static int
ucgw_start_upstream(struct event_base *base, const struct config *cfg, char **cause)
{
	struct ucwa_conf uc;

	if (cfg->up_discovery_url == NULL && cfg->up_applications_url == NULL)
		return 0;
	config_ucwa(cfg, &uc);
	if ((ucgw.ucwa = ucwa_new(base, &uc, cause)) == NULL)
		return -1;
	ucgw.signin = signin_create(base, ucgw.ucwa, ucgw.agents, ucgw.im);
	if (cfg->auth_verifier == CONFIG_VERIFIER_UCWA)
		auth_set_verifier(ucgw.auth, signin_verifier(ucgw.signin));
	return 0;
}

/* Open TLS (if configured) and every listener. */
static int
ucgw_start(struct event_base *base, const void *cfgp, char **cause)
{
	const struct config *cfg = cfgp;
	struct httpd_limits lim;
	char bound[64], first[64] = "";

	if (cfg->tls_cert_file != NULL &&
	    (ucgw.tls = tls_server_ctx(cfg->tls_cert_file, cfg->tls_key_file, 1, cause)) == NULL)
		return -1;
	ucgw.gws = gws_create(base, cfg);
	ucgw.auth = auth_create(base, cfg);
	ucgw.cometd = cometd_create(base, cfg, ucgw.auth);
	gws_set_desktop(ucgw.gws, ucgw.auth, ucgw.cometd);
	ucgw.agents = agents_create(base, (unsigned)cfg->agent_idle_ms);
	agents_set_busy(ucgw.agents, ucgw_agent_busy, NULL);
	ucgw.im = gws_im_create(ucgw.agents, ucgw.cometd);
	gws_set_im(ucgw.gws, ucgw.agents, ucgw.im);
	if (ucgw_start_upstream(base, cfg, cause) != 0)
		return -1;
	config_httpd_limits(cfg, &lim);
	ucgw.httpd = httpd_create(base, &lim, gws_handle, ucgw.gws);
	httpd_set_error_format(ucgw.httpd, gws_error_format);
	for (size_t i = 0; i < cfg->listen.n; i++) {
		if (httpd_listen(
			ucgw.httpd, cfg->listen.v[i], ucgw.tls, bound, sizeof bound, cause) != 0)
			return -1;
		log_info("listening on %s (%s)", bound, cfg->listen.v[i]);
		daemon_announce(bound);
		if (i == 0)
			snprintf(first, sizeof first, "%s", bound);
	}
	if (cfg->cluster_redis != NULL) {
		if ((ucgw.cluster = cluster_create(base, cfg, first, cause)) == NULL)
			return -1;
		gws_set_health(ucgw.gws, cluster_health_cb, ucgw.cluster);
	}
	return 0;
}

/* Take a new configuration into use. */
static void
ucgw_apply(const void *cfgp, const void *old)
{
	const struct config *cfg = cfgp;
	struct httpd_limits lim;

	ucgw.cfg = cfg;
	log_set_level((enum log_level)cfg->log_level);
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
}

/* Upstream sign-outs finished (or timed out): drain the listeners. */
static void
ucgw_upstream_done(void *arg)
{
	httpd_drain(ucgw.httpd, (unsigned)ucgw.cfg->drain_ms, ucgw.drained, ucgw.drained_arg);
}

/* hmap_each-style walk: remove every agent (ends sessions, signs out). */
static void
ucgw_remove_agents(void)
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
ucgw_drain(void (*done)(void *), void *arg)
{
	ucgw.drained = done;
	ucgw.drained_arg = arg;
	if (ucgw.signin != NULL)
		signin_drain(ucgw.signin);
	ucgw_remove_agents();
	cometd_drain(ucgw.cometd);
	if (ucgw.ucwa != NULL)
		ucwa_shutdown(ucgw.ucwa, (unsigned)ucgw.cfg->drain_ms, ucgw_upstream_done, NULL);
	else
		ucgw_upstream_done(NULL);
}

/* Free everything. */
static void
ucgw_stop(void)
{
	httpd_free(ucgw.httpd);
	cluster_free(ucgw.cluster);
	if (ucgw.agents != NULL) {
		ucgw_remove_agents();
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

static const struct daemon_prog ucgw_prog = {
	.name = "ucgw",
	.summary = "ucgw: Genesys Web Services v2 IM API <-> Skype for Business UCWA 2.0 gateway",
	.schema = &config_schema,
	.validate = config_validate,
	.release = config_release,
	.start = ucgw_start,
	.apply = ucgw_apply,
	.drain = ucgw_drain,
	.stop = ucgw_stop,
};

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "xlate") == 0)
		return xlate_cli_main(argc - 1, argv + 1);
	return daemon_main(&ucgw_prog, argc, argv);
}
