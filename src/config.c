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

#include "auth.h"
#include "cluster.h"
#include "config.h"
#include "daemon.h"
#include "hclient.h"
#include "log.h"
#include "proxy.h"
#include "store.h"
#include "tls.h"
#include "ucwa.h"
#include "xlate.h"

static const char *const config_verifiers[] = { "static", "ucwa", NULL };
static const char *const config_samesite[] = { "lax", "strict", "none", NULL };
static const char *const config_log_formats[] = { "text", "json", NULL };

#define OFF(f) offsetof(struct config, f)

/* Row check for auth.cors_origins: scheme://host[:port], never "*". */
static const char *
config_check_origins(const struct json *v, char **freeit)
{
	for (size_t i = 0; v->type == JSON_ARRAY && i < v->u.arr.n; i++) {
		const char *s = json_str(v->u.arr.v[i]);

		if (s == NULL)
			continue;
		if ((strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) ||
		    strchr(strstr(s, "//") + 2, '/') != NULL || strchr(s, '*') != NULL) {
			xasprintf(freeit,
			    "\"%s\": expected an origin such as https://desktop.example:8443"
			    " (no path, no wildcard)",
			    s);
			return *freeit;
		}
	}
	return NULL;
}

/* Row check for gws.public_url: http(s)://HOST[:PORT][/PREFIX], nothing to escape. */
static const char *
config_check_public_url(const struct json *v, char **freeit)
{
	const char *s = json_str(v), *host;

	if (s == NULL)
		return NULL;
	host = strncmp(s, "https://", 8) == 0 ? s + 8
	    : strncmp(s, "http://", 7) == 0   ? s + 7
					      : NULL;
	if (host == NULL || *host == '\0' || *host == '/' || strpbrk(s, " \"\\<>?#") != NULL) {
		xasprintf(freeit, "\"%s\": expected http(s)://HOST[:PORT][/PREFIX]", s);
		return *freeit;
	}
	return NULL;
}

/* Row check for upstream URLs: http:// or https:// with a host. */
static const char *
config_check_http_url(const struct json *v, char **freeit)
{
	struct hclient_url u;
	const char *s = json_str(v), *why;

	if (s == NULL)
		return NULL;
	if (hclient_url_parse(s, &u, &why) != 0) {
		xasprintf(freeit, "\"%s\": %s", s, why);
		return *freeit;
	}
	hclient_url_clear(&u);
	return NULL;
}

/* Row check for admin.listen: like listen, but empty is allowed. */
static const char *
config_check_admin_listen(const struct json *v, char **freeit)
{
	if (v->type == JSON_ARRAY && v->u.arr.n == 0)
		return NULL;
	return daemon_check_listen(v, freeit);
}

/* Row check for proxy.trusted: each entry an address or ADDRESS/PREFIX. */
static const char *
config_check_proxies(const struct json *v, char **freeit)
{
	for (size_t i = 0; v->type == JSON_ARRAY && i < v->u.arr.n; i++) {
		const char *s = json_str(v->u.arr.v[i]);

		if (s != NULL && !proxy_parse(s, NULL)) {
			xasprintf(freeit,
			    "\"%s\": expected an IP address, or ADDRESS/PREFIX such as 10.0.0.0/8",
			    s);
			return *freeit;
		}
	}
	return NULL;
}

static const struct conf_row config_rows[] = {
	DAEMON_CONF_ROWS(struct config, "[\"http://127.0.0.1:8080\"]", "5000", 1),
	{ "limits.max_header_bytes", CONF_INT, OFF(max_header_bytes), "16384", 1024, 1048576, NULL,
	    1, "largest request line, header line and header block accepted" },
	{ "limits.max_body_bytes", CONF_INT, OFF(max_body_bytes), "1048576", 1024, 67108864, NULL,
	    1, "largest request body accepted" },
	{ "limits.max_connections", CONF_INT, OFF(max_connections), "20000", 1, 1000000, NULL, 1,
	    "open downstream connections at most; more are refused" },
	{ "limits.header_timeout_ms", CONF_INT, OFF(header_timeout_ms), "10000", 100, 600000, NULL,
	    1, "time a started request has to arrive completely" },
	{ "limits.idle_timeout_ms", CONF_INT, OFF(idle_timeout_ms), "75000", 100, 3600000, NULL, 1,
	    "idle keep-alive connections are closed after this" },
	{ "limits.write_timeout_ms", CONF_INT, OFF(write_timeout_ms), "30000", 100, 600000, NULL, 1,
	    "a response that cannot be written for this long closes the connection" },
	{ "limits.fd_reserve", CONF_INT, OFF(fd_reserve), "256", 0, 100000, NULL, 1,
	    "file descriptors kept for upstream connections and files: max_connections is "
	    "capped at the file limit minus this" },

	/* upstream: the UCWA client */
	{ "upstream.discovery_url", CONF_STR, OFF(up_discovery_url), "\"http://127.0.0.1:8081/\"",
	    0, 2048, NULL, 0,
	    "autodiscover root (https://lyncdiscover.DOMAIN/); the default is "
	    "ucwa-sim's default address; ignored when upstream.applications_url is set",
	    config_check_http_url },
	{ "upstream.applications_url", CONF_STR, OFF(up_applications_url), NULL, 0, 2048, NULL, 0,
	    "the UCWA applications resource, skipping discovery", config_check_http_url },
	{ "upstream.ca_file", CONF_PATH, OFF(up_ca_file), NULL, 0, 4096, NULL, 0,
	    "PEM CA certificates the server is verified against; unset: the system store" },
	{ "upstream.verify", CONF_BOOL, OFF(up_verify), "true", 0, 0, NULL, 0,
	    "verify the server certificate and host name" },
	{ "upstream.user_agent", CONF_STR, OFF(up_user_agent), "\"ucgw/" PACKAGE_VERSION "\"", 0,
	    100, NULL, 0, "UserAgent of each UCWA application, and the HTTP User-Agent" },
	{ "upstream.culture", CONF_STR, OFF(up_culture), "\"en-US\"", 0, 100, NULL, 0,
	    "Culture of each UCWA application" },
	{ "upstream.endpoint_key", CONF_STR, OFF(up_endpoint_key), NULL, 0, 1024, NULL, 0,
	    "keys each agent's stable EndpointId: the same on every node of a deployment, "
	    "different between deployments sharing a server; unset: the cluster key in cluster "
	    "mode, else the upstream URL" },
	{ "upstream.connect_timeout_ms", CONF_INT, OFF(up_connect_timeout_ms), "10000", 100, 600000,
	    NULL, 0, "time to resolve, connect and finish the TLS handshake" },
	{ "upstream.request_timeout_ms", CONF_INT, OFF(up_request_timeout_ms), "30000", 100, 600000,
	    NULL, 0, "time every upstream request but the P-GET has to complete" },
	{ "upstream.pget_timeout_s", CONF_INT, OFF(up_pget_timeout_s), "180", 0, 1800, NULL, 0,
	    "P-GET timeout asked of the server (180-1800; 0: the server's default)" },
	{ "upstream.pget_read_timeout_ms", CONF_INT, OFF(up_pget_read_timeout_ms), "240000", 1000,
	    3600000, NULL, 0, "time a P-GET may stay unanswered; above the P-GET timeout" },
	{ "upstream.activity_interval_s", CONF_INT, OFF(up_activity_interval_s), "180", 1, 239,
	    NULL, 0, "reportMyActivity period (UCWA wants less than 4 minutes)" },
	{ "upstream.token_margin_s", CONF_INT, OFF(up_token_margin_s), "300", 0, 86400, NULL, 0,
	    "renew the token this long before expires_in runs out" },
	{ "upstream.max_outstanding", CONF_INT, OFF(up_max_outstanding), "90", 2, 100, NULL, 0,
	    "upstream requests in flight per agent (UCWA answers 429 above about 100)" },
	{ "upstream.max_send_queue", CONF_INT, OFF(up_max_send_queue), "256", 1, 100000, NULL, 0,
	    "messages queued per conversation behind the one in flight" },
	{ "upstream.max_idle_connections", CONF_INT, OFF(up_max_idle_connections), "256", 1, 10000,
	    NULL, 0, "idle keep-alive connections kept open to the UCWA server for commands" },
	{ "upstream.backoff_min_ms", CONF_INT, OFF(up_backoff_min_ms), "500", 10, 600000, NULL, 0,
	    "first retry delay of the P-GET and of sign-in steps (doubles, with jitter)" },
	{ "upstream.backoff_max_ms", CONF_INT, OFF(up_backoff_max_ms), "30000", 10, 3600000, NULL,
	    0, "longest retry delay" },
	{ "upstream.preview_wait_ms", CONF_INT, OFF(up_preview_wait_ms), "3000", 0, 60000, NULL, 0,
	    "after accepting, how long to wait for the first message event before using the "
	    "invitation's preview" },

	/* desktops: the address they use, authentication and notifications */
	{ "gws.public_url", CONF_STR, OFF(gws_public_url), NULL, 0, 2048, NULL, 1,
	    "http(s)://HOST[:PORT][/PREFIX] desktops reach the gateway at (session URIs); unset: "
	    "the listener's address",
	    config_check_public_url },
	{ "auth.verifier", CONF_ENUM, OFF(auth_verifier), "\"ucwa\"", 0, 0, config_verifiers, 0,
	    "who checks desktop passwords: ucwa (the agent's own credentials sign it in to Skype "
	    "for Business) or static (auth.users)" },
	{ "agents.idle_timeout_ms", CONF_INT, OFF(agent_idle_ms), "900000", 1000, 86400000, NULL, 1,
	    "an agent with no request and no CometD client for this long is signed out" },
	{ "auth.users", CONF_JSON, OFF(auth_users), "[]", 0, 0, NULL, 1,
	    "static verifier: [{\"user\", \"salt\", \"password_sha256\"}]", auth_check_users },
	{ "auth.session_idle_ms", CONF_INT, OFF(auth_session_idle_ms), "1800000", 1000, 86400000,
	    NULL, 1, "a JSESSIONID session unused for this long ends" },
	{ "auth.max_sessions", CONF_INT, OFF(auth_max_sessions), "100000", 1, 10000000, NULL, 1,
	    "sessions at most; the least recently used one ends first" },
	{ "auth.max_sessions_per_user", CONF_INT, OFF(auth_max_sessions_per_user), "32", 1, 100000,
	    NULL, 1, "sessions per user at most; that user's oldest one ends first" },
	{ "auth.csrf_enforce", CONF_BOOL, OFF(auth_csrf_enforce), "false", 0, 0, NULL, 1,
	    "POST/PUT/DELETE need the session's X-CSRF-TOKEN (else 403)" },
	{ "auth.throttle_user_after", CONF_INT, OFF(auth_throttle_user_after), "5", 0, 1000, NULL,
	    1, "failed authentications of one user before it backs off" },
	{ "auth.throttle_address_after", CONF_INT, OFF(auth_throttle_address_after), "20", 0,
	    100000, NULL, 1, "failed authentications from one client address before it backs off" },
	{ "auth.throttle_base_ms", CONF_INT, OFF(auth_throttle_base_ms), "1000", 0, 600000, NULL, 1,
	    "first back-off (doubles per further failure; 0: no throttling)" },
	{ "auth.throttle_max_ms", CONF_INT, OFF(auth_throttle_max_ms), "300000", 1000, 86400000,
	    NULL, 1, "longest back-off; failures older than this are forgotten" },
	{ "auth.negative_cache_ms", CONF_INT, OFF(auth_negative_cache_ms), "30000", 0, 3600000,
	    NULL, 1, "a user/password pair that failed is refused unchecked this long (0: off)" },
	{ "auth.max_signins_per_address", CONF_INT, OFF(auth_max_signins_per_address), "32", 1,
	    100000, NULL, 1, "password checks in progress per client address" },
	{ "auth.cookie_samesite", CONF_ENUM, OFF(auth_cookie_samesite), "\"lax\"", 0, 0,
	    config_samesite, 1, "SameSite of the session cookie: lax, strict or none" },
	{ "auth.cors_origins", CONF_STRLIST, OFF(auth_cors_origins), "[]", 0, 1024, NULL, 1,
	    "origins allowed cross-origin requests with credentials", config_check_origins },
	{ "cometd.timeout_ms", CONF_INT, OFF(cometd_timeout_ms), "30000", 0, 300000, NULL, 1,
	    "longest hold of a /meta/connect (advice.timeout)" },
	{ "cometd.interval_ms", CONF_INT, OFF(cometd_interval_ms), "0", 0, 60000, NULL, 1,
	    "advice.interval: pause between a connect reply and the next connect" },
	{ "cometd.max_interval_ms", CONF_INT, OFF(cometd_max_interval_ms), "10000", 100, 600000,
	    NULL, 1, "a client that sends no connect for this long after a reply expires" },
	{ "cometd.max_queue", CONF_INT, OFF(cometd_max_queue), "1000", 1, 1000000, NULL, 1,
	    "messages queued (unsent or unacknowledged) per client at most" },
	{ "cometd.max_queue_bytes", CONF_INT, OFF(cometd_max_queue_bytes), "4194304", 4096,
	    1073741824, NULL, 1, "bytes of the messages queued per client at most" },
	{ "cometd.max_agent_bytes", CONF_INT, OFF(cometd_max_agent_bytes), "16777216", 4096,
	    1073741824, NULL, 1,
	    "bytes of one agent's messages held by all its clients at most (each message "
	    "once)" },
	{ "cometd.max_clients", CONF_INT, OFF(cometd_max_clients), "100000", 1, 10000000, NULL, 1,
	    "Bayeux clients at most (all agents)" },
	{ "cometd.max_clients_per_agent", CONF_INT, OFF(cometd_max_clients_per_agent), "16", 1,
	    1000, NULL, 1, "Bayeux clients per agent at most; the oldest idle one goes first" },
	{ "cometd.max_connects_per_browser", CONF_INT, OFF(cometd_max_connects_per_browser), "0", 0,
	    1000, NULL, 1, "parked connects per browser (0: no limit); beyond: multiple-clients" },
	{ "cometd.multi_interval_ms", CONF_INT, OFF(cometd_multi_interval_ms), "2000", 0, 60000,
	    NULL, 1, "advice.interval given with multiple-clients advice" },
	{ "cometd.websocket", CONF_BOOL, OFF(cometd_websocket), "true", 0, 0, NULL, 1,
	    "serve the websocket transport (and advertise it in handshakes)" },
	{ "cometd.ws_ping_interval_ms", CONF_INT, OFF(cometd_ws_ping_interval_ms), "25000", 0,
	    3600000, NULL, 1, "WebSocket ping period (0: none); no answer by the next: dropped" },
	{ "cometd.ws_max_frame_bytes", CONF_INT, OFF(cometd_ws_max_frame_bytes), "65536", 125,
	    67108864, NULL, 1, "largest WebSocket frame payload accepted (else close 1009)" },
	{ "cometd.ws_max_message_bytes", CONF_INT, OFF(cometd_ws_max_message_bytes), "1048576", 125,
	    67108864, NULL, 1, "largest WebSocket message accepted (else close 1009)" },
	{ "cometd.ws_write_threshold_bytes", CONF_INT, OFF(cometd_ws_write_threshold_bytes),
	    "1048576", 4096, 268435456, NULL, 1,
	    "output waiting for a WebSocket reader beyond this: the reader is dropped" },
	{ "debug.publish_endpoint", CONF_BOOL, OFF(debug_publish_endpoint), "false", 0, 0, NULL, 1,
	    "TEST ONLY: POST /api/v2/diagnostics/publish publishes to the caller's clients" },

	/* translation rules */
	{ "translate.file", CONF_PATH, OFF(translate_file), NULL, 0, 4096, NULL, 1,
	    "translation rules file (docs/translation.md); unset: the built-in rules" },

	/* recording of chosen agents' traffic as transcripts (record.c) */
	{ "record.agents", CONF_STRLIST, OFF(record_agents), "[]", 0, 1000, NULL, 1,
	    "agents whose IM requests are recorded as transcripts" },
	{ "record.dir", CONF_PATH, OFF(record_dir), NULL, 0, 4096, NULL, 1,
	    "directory the transcripts are written to" },
	{ "record.mask_text", CONF_BOOL, OFF(record_mask_text), "false", 0, 0, NULL, 1,
	    "write message texts as \"***\"" },
	{ "record.max_bytes", CONF_INT, OFF(record_max_bytes), "262144", 1024, 16777216, NULL, 1,
	    "largest transcript written; larger ones are skipped with a warning" },

	/* running as a service (admin.c, log.c, docs/operations.md) */
	{ "admin.listen", CONF_STRLIST, OFF(admin_listen), "[]", 0, 256, NULL, 0,
	    "listeners of /metrics, /healthz and /readyz only (same syntax as listen; "
	    "typically loopback); empty: none",
	    config_check_admin_listen },
	{ "admin.ready_check_ms", CONF_INT, OFF(admin_check_ms), "10000", 500, 600000, NULL, 1,
	    "period of the readiness check of the UCWA server (/readyz)" },
	{ "log.format", CONF_ENUM, OFF(log_format), "\"text\"", 0, 0, config_log_formats, 1,
	    "text (one line per event) or json (one object per line)" },
	{ "log.access", CONF_BOOL, OFF(log_access), "false", 0, 0, NULL, 1,
	    "log one line per desktop request at info level (method, path, status, bytes, "
	    "duration, agent)" },
	{ "proxy.trusted", CONF_STRLIST, OFF(proxy_trusted), "[]", 0, 64, NULL, 1,
	    "addresses (IPv4 or IPv6, optionally /PREFIX) of load balancers whose "
	    "X-Forwarded-For and X-Forwarded-Proto are believed",
	    config_check_proxies },

	/* cluster mode (cluster.c, docs/cluster.md) */
	{ "cluster.redis", CONF_STR, OFF(cluster_redis), NULL, 0, 2048, NULL, 0,
	    "Redis of the cluster: redis://HOST:PORT[/DB] or unix:/PATH; unset (and no "
	    "cluster.sentinels): single node",
	    cluster_check_url },
	{ "cluster.sentinels", CONF_STRLIST, OFF(cluster_sentinels), "[]", 0, 64, NULL, 0,
	    "Redis Sentinels to ask where the cluster's Redis master is, [\"HOST:PORT\", ...] "
	    "(numeric hosts, at most 16); instead of cluster.redis",
	    cluster_check_sentinels },
	{ "cluster.sentinel_master", CONF_STR, OFF(cluster_sentinel_master), NULL, 0, 128, NULL, 0,
	    "the master's name in the sentinels' configuration (needed with cluster.sentinels)",
	    cluster_check_name },
	{ "cluster.sentinel_password_file", CONF_PATH, OFF(cluster_sentinel_password_file), NULL, 0,
	    4096, NULL, 0,
	    "file holding the sentinels' password (requirepass in sentinel.conf); unset: no AUTH "
	    "on the sentinels" },
	{ "cluster.password_file", CONF_PATH, OFF(cluster_password_file), NULL, 0, 4096, NULL, 0,
	    "file holding the Redis password (AUTH); unset: no AUTH" },
	{ "cluster.prefix", CONF_STR, OFF(cluster_prefix), "\"ucgw:\"", 0, 64, NULL, 0,
	    "prefix of every Redis key of the cluster", cluster_check_name },
	{ "cluster.node_id", CONF_STR, OFF(cluster_node_id), NULL, 0, 64, NULL, 0,
	    "this node's id in the cluster; unset: HOSTNAME-XXXXXXXX (random at each start)",
	    cluster_check_name },
	{ "cluster.advertise", CONF_STR, OFF(cluster_advertise), NULL, 0, 2048, NULL, 0,
	    "URL other nodes reach this one on; unset: the first listener as bound",
	    cluster_check_advertise },
	{ "cluster.lease_ms", CONF_INT, OFF(cluster_lease_ms), "10000", 300, 3600000, NULL, 0,
	    "length of a lease (renewed at a third) and of the node registry entry" },
	{ "cluster.ca_file", CONF_PATH, OFF(cluster_ca_file), NULL, 0, 4096, NULL, 0,
	    "PEM CA certificates the other nodes' https certificates must chain to; unset: the "
	    "system store" },
	{ "cluster.key_file", CONF_PATH, OFF(cluster_key_file), NULL, 0, 4096, NULL, 0,
	    "file of exactly 32 random bytes: the key sealing secrets stored in Redis" },
	{ "cluster.timeout_ms", CONF_INT, OFF(cluster_timeout_ms), "2000", 50, 600000, NULL, 0,
	    "time Redis has to accept a connection and to answer a command" },
	{ "cluster.max_queue", CONF_INT, OFF(cluster_max_queue), "10000", 1, 10000000, NULL, 0,
	    "Redis commands queued (Redis unavailable) or awaiting a reply, at most" },
	{ "cluster.max_reply_bytes", CONF_INT, OFF(cluster_max_reply_bytes), "67108864", 65536,
	    1073741824, NULL, 0,
	    "bytes of one Redis reply at most; over it the connection closes" },
	{ "cluster.backoff_min_ms", CONF_INT, OFF(cluster_backoff_min_ms), "100", 10, 600000, NULL,
	    0, "first delay before connecting to Redis again (doubles, with jitter)" },
	{ "cluster.backoff_max_ms", CONF_INT, OFF(cluster_backoff_max_ms), "5000", 10, 3600000,
	    NULL, 0, "longest delay before connecting to Redis again" },
	{ "cluster.state_ttl_ms", CONF_INT, OFF(cluster_state_ttl_ms), "3600000", 1000, 604800000,
	    NULL, 0, "expiry of an agent's stored state, refreshed by its owner at a third" },
	{ "cluster.max_unacked", CONF_INT, OFF(cluster_max_unacked), "256", 1, 100000, NULL, 0,
	    "notifications stored per CometD client until acknowledged (the oldest go)" },
	{ "cluster.write_version", CONF_INT, OFF(cluster_write_version), "5",
	    STORE_WRITE_VERSION_MIN, STORE_WRITE_VERSION, NULL, 1,
	    "formats this node writes to Redis: 5, this release's; 4, what nodes of stop 25 "
	    "read (unconfirmed messages inside their session's row); 3, what nodes of stop 24 "
	    "read (also UCWA snapshot version 3, tokens sealed as text), for a rolling upgrade "
	    "(docs/cluster.md, \"Upgrading\")" },
};

const struct conf_schema config_schema = {
	"ucgw",
	config_rows,
	nitems(config_rows),
	sizeof(struct config),
};

/* Whether any listener (the admin ones too) is https. */
static int
config_has_https(const struct config *c)
{
	for (size_t i = 0; i < c->listen.n; i++) {
		if (strncmp(c->listen.v[i], "https://", 8) == 0)
			return 1;
	}
	for (size_t i = 0; i < c->admin_listen.n; i++) {
		if (strncmp(c->admin_listen.v[i], "https://", 8) == 0)
			return 1;
	}
	return 0;
}

/* The translation rules (the file, or the built-in ones) load without a
 * problem; the configuration keeps them, so that applying it reads no file. */
static void
config_validate_translate(struct config *c, struct buf *problems)
{
	char *p;

	if ((c->translate_rules = xlate_load(c->translate_file, &p)) == NULL) {
		buf_addstr(problems, p);
		free(p);
	}
}

/* Recording needs a directory to write to. */
static void
config_validate_record(const struct config *c, const char *file, struct buf *problems)
{
	if (c->record_agents.n > 0 && c->record_dir == NULL)
		buf_printf(problems, "%s: record.agents needs record.dir\n", file);
}

/* A CA file named by key loads (PEM certificates OpenSSL accepts). */
static void
config_validate_ca(const char *file, const char *key, const char *ca_file, struct buf *problems)
{
	SSL_CTX *ctx;
	char *cause;

	if (ca_file == NULL)
		return;
	if ((ctx = tls_client_ctx(ca_file, 1, &cause)) == NULL) {
		buf_printf(problems, "%s: %s: %s\n", file, key, cause);
		free(cause);
		return;
	}
	SSL_CTX_free(ctx);
}

/* Cross-key checks: https needs a certificate and key that load (kept in cfg->tls_ctx);
 * the translation file and the CA files load. */
void
config_validate(void *cfgp, const char *file, struct buf *problems)
{
	struct config *c = cfgp;
	SSL_CTX *ctx;
	char *cause;

	config_validate_upstream(c, file, problems);
	config_validate_translate(c, problems);
	config_validate_record(c, file, problems);
	cluster_conf_check(c, file, problems);
	config_validate_ca(file, "upstream.ca_file", c->up_ca_file, problems);
	if (c->cluster_redis != NULL)
		config_validate_ca(file, "cluster.ca_file", c->cluster_ca_file, problems);
	if (!config_has_https(c))
		return;
	if (c->tls_cert_file == NULL || c->tls_key_file == NULL) {
		buf_printf(
		    problems, "%s: https listeners need tls.cert_file and tls.key_file\n", file);
		return;
	}
	if ((ctx = tls_server_ctx(c->tls_cert_file, c->tls_key_file, 1, &cause)) == NULL) {
		buf_printf(problems, "%s: %s\n", file, cause);
		free(cause);
		return;
	}
	c->tls_ctx = ctx; /* start or reload serves it: the files are not read again */
}

/* Drop the rules config_validate loaded (the current ones keep their own reference). */
void
config_release(void *cfgp)
{
	struct config *c = cfgp;

	xlate_unref(c->translate_rules);
	c->translate_rules = NULL;
	if (c->tls_ctx != NULL)
		SSL_CTX_free(c->tls_ctx);
	c->tls_ctx = NULL;
	cluster_conf_release(c);
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
	lim->fd_reserve = (unsigned)c->fd_reserve;
}

/* The UCWA client's settings. */
void
config_ucwa(const struct config *c, struct ucwa_conf *u)
{
	memset(u, 0, sizeof(*u));
	u->discovery_url = c->up_applications_url ? NULL : c->up_discovery_url;
	u->applications_url = c->up_applications_url;
	u->ca_file = c->up_ca_file;
	u->verify = c->up_verify;
	u->user_agent = c->up_user_agent;
	u->culture = c->up_culture;
	u->connect_timeout_ms = (unsigned)c->up_connect_timeout_ms;
	u->request_timeout_ms = (unsigned)c->up_request_timeout_ms;
	u->pget_timeout_s = (unsigned)c->up_pget_timeout_s;
	u->pget_read_timeout_ms = (unsigned)c->up_pget_read_timeout_ms;
	u->activity_interval_s = (unsigned)c->up_activity_interval_s;
	u->token_margin_s = (unsigned)c->up_token_margin_s;
	u->max_outstanding = (unsigned)c->up_max_outstanding;
	u->max_send_queue = (unsigned)c->up_max_send_queue;
	u->max_idle_connections = (unsigned)c->up_max_idle_connections;
	u->backoff_min_ms = (unsigned)c->up_backoff_min_ms;
	u->backoff_max_ms = (unsigned)c->up_backoff_max_ms;
	u->preview_wait_ms = (unsigned)c->up_preview_wait_ms;
	if (c->up_endpoint_key != NULL) {
		u->endpoint_key = c->up_endpoint_key;
		u->endpoint_key_len = strlen(c->up_endpoint_key);
	} else if (cluster_configured(c) && c->cluster_secrets != NULL) {
		u->endpoint_key = c->cluster_secrets->key; /* every node has it */
		u->endpoint_key_len = sizeof(c->cluster_secrets->key);
	}
}

/* Upstream cross-key checks: one way to find the server, a read timeout above the P-GET's. */
void
config_validate_upstream(const struct config *c, const char *file, struct buf *problems)
{
	long long pget_ms = c->up_pget_timeout_s * 1000;

	if (c->up_discovery_url == NULL && c->up_applications_url == NULL &&
	    c->auth_verifier == CONFIG_VERIFIER_UCWA)
		buf_printf(problems,
		    "%s: auth.verifier \"ucwa\" needs upstream.discovery_url or "
		    "upstream.applications_url\n",
		    file);
	if (c->up_pget_timeout_s != 0 && c->up_pget_timeout_s < 180)
		buf_printf(
		    problems, "%s: upstream.pget_timeout_s must be 0 or 180 to 1800\n", file);
	if (pget_ms != 0 && c->up_pget_read_timeout_ms <= pget_ms)
		buf_printf(problems,
		    "%s: upstream.pget_read_timeout_ms (%lld) must exceed the P-GET "
		    "timeout (%lld ms)\n",
		    file, c->up_pget_read_timeout_ms, pget_ms);
	if (c->up_backoff_min_ms > c->up_backoff_max_ms)
		buf_printf(problems,
		    "%s: upstream.backoff_min_ms is above upstream.backoff_max_ms\n", file);
}
