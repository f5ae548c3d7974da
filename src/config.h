/*
 * config.h: the gateway's configuration, as loaded from conf/ucgw.conf
 * (and -o overrides) through the row table in config.c. Immutable once
 * loaded: SIGHUP builds a new one and swaps it in whole.
 */
#ifndef UCGW_CONFIG_H
#define UCGW_CONFIG_H

#include "conf.h"
#include "httpd.h"

struct xlate_rules;
struct cluster_secrets;

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
	long long fd_reserve;
	long long drain_ms;

	/* upstream: the UCWA client (ucwa.c, hclient.c) */
	char *up_discovery_url;
	char *up_applications_url;
	char *up_ca_file;
	int up_verify;
	char *up_user_agent;
	char *up_culture;
	char *up_endpoint_key;
	long long up_connect_timeout_ms;
	long long up_request_timeout_ms;
	long long up_pget_timeout_s;
	long long up_pget_read_timeout_ms;
	long long up_activity_interval_s;
	long long up_token_margin_s;
	long long up_max_outstanding;
	long long up_max_send_queue;
	long long up_max_idle_connections;
	long long up_backoff_min_ms;
	long long up_backoff_max_ms;
	long long up_preview_wait_ms;

	char *gws_public_url; /* the base desktops reach the gateway at, or NULL */

	/* desktops: authentication (auth.c) and notifications (cometd.c) */
	int auth_verifier; /* CONFIG_VERIFIER_* */
	long long agent_idle_ms;
	struct json_doc *auth_users;
	long long auth_session_idle_ms;
	long long auth_max_sessions;
	long long auth_max_sessions_per_user;
	int auth_csrf_enforce;
	int auth_cookie_samesite; /* 0 lax, 1 strict, 2 none (auth.c's order) */
	long long auth_throttle_user_after;
	long long auth_throttle_address_after;
	long long auth_throttle_base_ms;
	long long auth_throttle_max_ms;
	long long auth_negative_cache_ms;
	long long auth_max_signins_per_address;
	struct conf_strlist auth_cors_origins;
	long long cometd_timeout_ms;
	long long cometd_interval_ms;
	long long cometd_max_interval_ms;
	long long cometd_max_queue;
	long long cometd_max_queue_bytes;
	long long cometd_max_agent_bytes;
	long long cometd_max_clients;
	long long cometd_max_clients_per_agent;
	long long cometd_max_connects_per_browser;
	long long cometd_multi_interval_ms;
	int cometd_websocket;
	long long cometd_ws_ping_interval_ms;
	long long cometd_ws_max_frame_bytes;
	long long cometd_ws_max_message_bytes;
	long long cometd_ws_write_threshold_bytes;
	int debug_publish_endpoint;

	/* translation rules (xlate.c) */
	char *translate_file;		     /* NULL: the built-in rules */
	struct xlate_rules *translate_rules; /* not a key: loaded (once) by config_validate */
	struct ssl_ctx_st *tls_ctx;	     /* not a key: the certificate config_validate loaded */

	/* recording (record.c) */
	struct conf_strlist record_agents;
	char *record_dir;
	int record_mask_text;
	long long record_max_bytes;

	/* running as a service: admin endpoints, logs, proxies (admin.c, log.c) */
	struct conf_strlist admin_listen;
	long long admin_check_ms;
	int log_format; /* LOG_FORMAT_* */
	int log_access;
	struct conf_strlist proxy_trusted;

	/* cluster mode (cluster.c); without cluster.redis: a single node, no Redis */
	char *cluster_redis;
	struct conf_strlist cluster_sentinels; /* exclusive with cluster_redis */
	char *cluster_sentinel_master;
	char *cluster_sentinel_password_file;
	char *cluster_password_file;
	char *cluster_prefix;
	char *cluster_node_id;
	char *cluster_advertise;
	long long cluster_lease_ms;
	char *cluster_key_file;
	char *cluster_ca_file;
	long long cluster_timeout_ms;
	long long cluster_max_queue;
	long long cluster_max_reply_bytes;
	long long cluster_backoff_min_ms;
	long long cluster_backoff_max_ms;
	long long cluster_state_ttl_ms;
	long long cluster_max_unacked;
	long long cluster_write_version;
	struct cluster_secrets *cluster_secrets; /* not a key: read by config_validate */
};

enum { CONFIG_VERIFIER_STATIC, CONFIG_VERIFIER_UCWA };

extern const struct conf_schema config_schema;

/* Checks across keys (https listeners need a certificate, which must load);
 * loads the translation rules into cfg->translate_rules. */
void config_validate(void *cfg, const char *file, struct buf *problems);
/* Drop what config_validate loaded (the configuration is about to be freed). */
void config_release(void *cfg);
/* The HTTP server limits a configuration asks for. */
void config_httpd_limits(const struct config *, struct httpd_limits *);
struct ucwa_conf;
/* The UCWA client's settings from a configuration (strings point into it). */
void config_ucwa(const struct config *, struct ucwa_conf *);
/* Cross-key checks of the upstream section. */
void config_validate_upstream(const struct config *, const char *file, struct buf *problems);

#endif
