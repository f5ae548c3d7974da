/*
 * config.c: every key of the gateway's configuration, one row each: name,
 * type, default, range, whether SIGHUP may change it and what it means.
 * docs/configuration.md documents the same rows; a test checks that no key
 * is missing there.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "tls.h"
#include "xlate.h"

static const char *const config_log_levels[] = { "error", "warn", "info", "debug", NULL };

#define OFF(f) offsetof(struct config, f)

/* One listen URL: http(s)://HOST:PORT with a numeric host. */
static const char *
config_check_url(const char *url)
{
	const char *hp, *colon;

	if (strncmp(url, "http://", 7) == 0)
		hp = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		hp = url + 8;
	else
		return "expected http://HOST:PORT or https://HOST:PORT";
	colon = strrchr(hp, ':');
	if (colon == NULL || colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return "expected a port after the host (0 picks a free one)";
	if (atoi(colon + 1) > 65535)
		return "port out of range (0 to 65535)";
	return NULL;
}

/* Row check for "listen": a non-empty array of valid URLs. */
const char *
config_check_listen(const struct json *v, char **freeit)
{
	const char *msg;

	if (v->type != JSON_ARRAY)
		return NULL;	/* the type check names the problem */
	if (v->u.arr.n == 0)
		return "at least one listener is needed";
	for (size_t i = 0; i < v->u.arr.n; i++) {
		const char *s = json_str(v->u.arr.v[i]);

		if (s != NULL && (msg = config_check_url(s)) != NULL) {
			xasprintf(freeit, "\"%s\": %s", s, msg);
			return *freeit;
		}
	}
	return NULL;
}

static const struct conf_row config_rows[] = {
	{ "listen", CONF_STRLIST, OFF(listen), "[\"http://127.0.0.1:8080\"]", 0, 256, NULL, 0,
	  "listeners, as http://HOST:PORT or https://HOST:PORT (port 0: any free port)",
	  config_check_listen },
	{ "tls.cert_file", CONF_STR, OFF(tls_cert_file), NULL, 0, 4096, NULL, 0,
	  "PEM certificate chain for https listeners" },
	{ "tls.key_file", CONF_STR, OFF(tls_key_file), NULL, 0, 4096, NULL, 0,
	  "PEM private key for https listeners" },
	{ "log.level", CONF_ENUM, OFF(log_level), "\"info\"", 0, 0, config_log_levels, 1,
	  "most verbose level logged: error, warn, info or debug" },
	{ "limits.max_header_bytes", CONF_INT, OFF(max_header_bytes), "16384", 1024, 1048576,
	  NULL, 1, "largest request line, header line and header block accepted" },
	{ "limits.max_body_bytes", CONF_INT, OFF(max_body_bytes), "1048576", 1024, 67108864, NULL,
	  1, "largest request body accepted" },
	{ "limits.max_connections", CONF_INT, OFF(max_connections), "20000", 1, 1000000, NULL, 1,
	  "open downstream connections at most; more are refused" },
	{ "limits.header_timeout_ms", CONF_INT, OFF(header_timeout_ms), "10000", 100, 600000, NULL,
	  1, "time a started request has to arrive completely" },
	{ "limits.idle_timeout_ms", CONF_INT, OFF(idle_timeout_ms), "75000", 100, 3600000, NULL, 1,
	  "idle keep-alive connections are closed after this" },
	{ "limits.write_timeout_ms", CONF_INT, OFF(write_timeout_ms), "30000", 100, 600000, NULL,
	  1, "a response that cannot be written for this long closes the connection" },
	{ "shutdown.drain_ms", CONF_INT, OFF(drain_ms), "5000", 0, 600000, NULL, 1,
	  "on SIGTERM, time given to requests in flight before connections are closed" },

	/* upstream: the UCWA client */


	/* desktops: authentication and notifications */


	/* translation rules */
	{ "translate.file", CONF_STR, OFF(translate_file), NULL, 0, 4096, NULL, 1,
	  "translation rules file (docs/translation.md); unset: the built-in rules" },


};

const struct conf_schema config_schema = {
	"ucgw", config_rows, nitems(config_rows), sizeof(struct config),
};

/* Whether any listener is https. */
static int
config_has_https(const struct config *c)
{
	for (size_t i = 0; i < c->listen.n; i++) {
		if (strncmp(c->listen.v[i], "https://", 8) == 0)
			return 1;
	}
	return 0;
}

/* The translation file (if set) loads without a problem. */
static void
config_validate_translate(const struct config *c, struct buf *problems)
{
	struct xlate_rules *r;
	char *p;

	if (c->translate_file == NULL)
		return;
	if ((r = xlate_load(c->translate_file, &p)) == NULL) {
		buf_addstr(problems, p);
		free(p);
		return;
	}
	xlate_unref(r);
}

/* Cross-key checks: https needs a certificate and key that load; the translation file loads. */
void
config_validate(const void *cfgp, const char *file, struct buf *problems)
{
	const struct config *c = cfgp;
	SSL_CTX *ctx;
	char *cause;

	config_validate_translate(c, problems);
	if (!config_has_https(c))
		return;
	if (c->tls_cert_file == NULL || c->tls_key_file == NULL) {
		buf_printf(problems, "%s: https listeners need tls.cert_file and tls.key_file\n", file);
		return;
	}
	if ((ctx = tls_server_ctx(c->tls_cert_file, c->tls_key_file, 0, &cause)) == NULL) {
		buf_printf(problems, "%s: %s\n", file, cause);
		free(cause);
		return;
	}
	SSL_CTX_free(ctx);
}

/* HTTP server limits from the configuration. */
void
config_httpd_limits(const struct config *c, struct httpd_limits *lim)
{
	lim->max_header_bytes = (size_t)c->max_header_bytes;
	lim->max_body_bytes = (size_t)c->max_body_bytes;
	lim->max_connections = (unsigned)c->max_connections;
	lim->header_timeout_ms = (unsigned)c->header_timeout_ms;
	lim->idle_timeout_ms = (unsigned)c->idle_timeout_ms;
	lim->write_timeout_ms = (unsigned)c->write_timeout_ms;
}
