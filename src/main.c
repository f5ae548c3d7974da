/*
 * main.c: the ucgw program: builds the gateway's parts from the
 * configuration on start, hands reloaded configurations to them, and
 * drains them on SIGTERM. Process life itself is daemon.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "gws.h"
#include "httpd.h"
#include "log.h"
#include "tls.h"
#include "xlate.h"
#include "xlate_cli.h"

static struct {
	const struct config *cfg;
	struct httpd *httpd;
	SSL_CTX *tls;
	struct gws *gws;
} ucgw;

/* Open TLS (if configured) and every listener. */
static int
ucgw_start(struct event_base *base, const void *cfgp, char **cause)
{
	const struct config *cfg = cfgp;
	struct httpd_limits lim;
	char bound[64];

	if (cfg->tls_cert_file != NULL &&
	    (ucgw.tls = tls_server_ctx(cfg->tls_cert_file, cfg->tls_key_file, 0, cause)) == NULL)
		return -1;
	ucgw.gws = gws_create(base, cfg);
	config_httpd_limits(cfg, &lim);
	ucgw.httpd = httpd_create(base, &lim, gws_handle, ucgw.gws);
	httpd_set_error_format(ucgw.httpd, gws_error_format);
	for (size_t i = 0; i < cfg->listen.n; i++) {
		if (httpd_listen(ucgw.httpd, cfg->listen.v[i], ucgw.tls, bound, sizeof bound,
		    cause) != 0)
			return -1;
		log_info("listening on %s (%s)", bound, cfg->listen.v[i]);
		daemon_announce(bound);
	}
	return 0;
}

/* Take a new configuration into use. */
static void
ucgw_apply(const void *cfgp, const void *old)
{
	const struct config *cfg = cfgp;
	struct httpd_limits lim;
	struct xlate_rules *rules;
	char *problems;

	ucgw.cfg = cfg;
	log_set_level((enum log_level)cfg->log_level);
	/* Checked by config_validate; a file changed since then keeps the old rules. */
	if ((rules = xlate_load(cfg->translate_file, &problems)) == NULL) {
		log_error("translation rules not changed: %s", problems);
		free(problems);
	} else {
		xlate_set_current(rules);
		xlate_unref(rules);
		log_info("translation rules from %s", cfg->translate_file != NULL ?
		    cfg->translate_file : "the built-in default");
	}
	if (ucgw.httpd != NULL) {
		config_httpd_limits(cfg, &lim);
		httpd_set_limits(ucgw.httpd, &lim);
	}
	if (ucgw.gws != NULL)
		gws_set_config(ucgw.gws, cfg);
}

/* SIGTERM: stop accepting, let requests finish. */
static void
ucgw_drain(void (*done)(void *), void *arg)
{
	httpd_drain(ucgw.httpd, (unsigned)ucgw.cfg->drain_ms, done, arg);
}

/* Free everything. */
static void
ucgw_stop(void)
{
	httpd_free(ucgw.httpd);
	gws_free(ucgw.gws);
	xlate_set_current(NULL);
	if (ucgw.tls != NULL)
		SSL_CTX_free(ucgw.tls);
}

static const struct daemon_prog ucgw_prog = {
	.name = "ucgw",
	.summary = "ucgw: Genesys Web Services v2 IM API <-> Skype for Business UCWA 2.0 gateway",
	.schema = &config_schema,
	.validate = config_validate,
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
