/*
 * sim_main.c: the ucwa-sim program: a UCWA 2.0 server simulator for tests,
 * the demo and load tests. This file owns its process life (through
 * daemon.c) and its listeners; the protocol surface lives in sim_*.c.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "httpd.h"
#include "json.h"
#include "log.h"
#include "tls.h"

struct sim_config {
	struct conf_strlist listen;
	char *tls_cert_file;
	char *tls_key_file;
	int log_level;
	long long drain_ms;
};

static const char *const sim_log_levels[] = { "error", "warn", "info", "debug", NULL };

#define OFF(f) offsetof(struct sim_config, f)

static const struct conf_row sim_rows[] = {
	{ "listen", CONF_STRLIST, OFF(listen), "[\"http://127.0.0.1:8081\"]", 0, 256, NULL, 0,
	  "listeners, as http://HOST:PORT or https://HOST:PORT (port 0: any free port)",
	  config_check_listen },
	{ "tls.cert_file", CONF_STR, OFF(tls_cert_file), NULL, 0, 4096, NULL, 0,
	  "PEM certificate chain for https listeners" },
	{ "tls.key_file", CONF_STR, OFF(tls_key_file), NULL, 0, 4096, NULL, 0,
	  "PEM private key for https listeners" },
	{ "log.level", CONF_ENUM, OFF(log_level), "\"info\"", 0, 0, sim_log_levels, 1,
	  "most verbose level logged" },
	{ "shutdown.drain_ms", CONF_INT, OFF(drain_ms), "2000", 0, 600000, NULL, 1,
	  "on SIGTERM, time given to requests in flight" },
};

static const struct conf_schema sim_schema = {
	"ucwa-sim", sim_rows, nitems(sim_rows), sizeof(struct sim_config),
};

static struct {
	const struct sim_config *cfg;
	struct httpd *httpd;
	SSL_CTX *tls;
} sim;

/* Route one request. */
static void
sim_handle(struct http_req *req, void *arg)
{
	if (strcmp(http_req_path(req), "/healthz") == 0) {
		http_req_reply(req, 200, "application/json", "{\"status\":\"ok\"}", 15);
		return;
	}
	http_req_reply(req, 404, "application/json",
	    "{\"code\":\"NotFound\",\"message\":\"The requested resource could not be found.\"}", 74);
}

/* Open TLS and the listeners. */
static int
sim_start(struct event_base *base, const void *cfgp, char **cause)
{
	const struct sim_config *cfg = cfgp;
	struct httpd_limits lim = { 65536, 1048576, 100000, 10000, 600000, 30000 };
	char bound[64];

	if (cfg->tls_cert_file != NULL &&
	    (sim.tls = tls_server_ctx(cfg->tls_cert_file, cfg->tls_key_file, 0, cause)) == NULL)
		return -1;
	sim.httpd = httpd_create(base, &lim, sim_handle, NULL);
	for (size_t i = 0; i < cfg->listen.n; i++) {
		if (httpd_listen(sim.httpd, cfg->listen.v[i], sim.tls, bound, sizeof bound, cause) != 0)
			return -1;
		daemon_announce(bound);
	}
	return 0;
}

/* Use a new configuration. */
static void
sim_apply(const void *cfgp, const void *old)
{
	sim.cfg = cfgp;
	log_set_level((enum log_level)sim.cfg->log_level);
}

/* Stop accepting and finish in-flight requests. */
static void
sim_drain(void (*done)(void *), void *arg)
{
	httpd_drain(sim.httpd, (unsigned)sim.cfg->drain_ms, done, arg);
}

/* Free everything. */
static void
sim_stop(void)
{
	httpd_free(sim.httpd);
	if (sim.tls != NULL)
		SSL_CTX_free(sim.tls);
}

static const struct daemon_prog sim_prog = {
	.name = "ucwa-sim",
	.summary = "ucwa-sim: a UCWA 2.0 (Skype for Business) server simulator",
	.schema = &sim_schema,
	.start = sim_start,
	.apply = sim_apply,
	.drain = sim_drain,
	.stop = sim_stop,
};

int
main(int argc, char **argv)
{
	return daemon_main(&sim_prog, argc, argv);
}
