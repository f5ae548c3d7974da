/*
 * config.h: the gateway's configuration, as loaded from conf/ucgw.conf
 * (and -o overrides) through the row table in config.c. Immutable once
 * loaded: SIGHUP builds a new one and swaps it in whole.
 */
#ifndef UCGW_CONFIG_H
#define UCGW_CONFIG_H

#include "conf.h"
#include "httpd.h"

struct config {
	struct conf_strlist listen;
	char *tls_cert_file;
	char *tls_key_file;
	int log_level;
	long long max_header_bytes;
	long long max_body_bytes;
	long long max_connections;
	long long header_timeout_ms;
	long long idle_timeout_ms;
	long long write_timeout_ms;
	long long drain_ms;

	/* upstream: the UCWA client (ucwa.c, hclient.c) */


	/* desktops: authentication (auth.c) and notifications (cometd.c) */


	/* translation rules (xlate.c) */
	char *translate_file;	/* NULL: the built-in rules */


};

extern const struct conf_schema config_schema;

/* Checks across keys (https listeners need a certificate, which must load). */
void config_validate(const void *cfg, const char *file, struct buf *problems);
/* The HTTP server limits a configuration asks for. */
void config_httpd_limits(const struct config *, struct httpd_limits *);
/* Check a listen URL (a row check shared with ucwa-sim). */
const char *config_check_listen(const struct json *, char **freeit);

#endif
