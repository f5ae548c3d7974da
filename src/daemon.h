/*
 * daemon.h: the process life both daemons share: command line (-c, -t, -o,
 * -h, --version), loading and checking the configuration, signals (SIGHUP
 * reload that keeps the old configuration when the new one is bad,
 * SIGTERM/SIGINT graceful drain then exit 0), and the "listening on
 * HOST:PORT" lines scripts wait for. A program fills in struct daemon_prog.
 */
#ifndef UCGW_DAEMON_H
#define UCGW_DAEMON_H

#include <stddef.h>

#include <event2/event.h>

#include "conf.h"
#include "util.h"

struct daemon_prog {
	const char *name;
	const char *summary; /* one line for -h */
	const struct conf_schema *schema;
	const char *default_file; /* read without -c when it exists; NULL: none */
	const char *usage_extra;  /* more lines for -h, or NULL */
	/* Checks across keys and files; append "FILE: message" lines to problems.
	 * May attach to cfg what it loaded while checking (release frees it). */
	void (*validate)(void *cfg, const char *file, struct buf *problems);
	/* Free what validate attached to cfg, just before cfg itself is freed. */
	void (*release)(void *cfg);
	/* Open listeners (announce each with daemon_announce) and start serving. */
	int (*start)(struct event_base *, const void *cfg, char **cause);
	/* Use a new configuration (already validated); old is freed afterwards. */
	void (*apply)(const void *cfg, const void *old);
	/* Stop accepting and finish work in flight; call done when finished. */
	void (*drain)(void (*done)(void *), void *arg);
	/* Free everything (after the loop ended). */
	void (*stop)(void);
	/* Optional: one line for systemd's STATUS= (agents, sessions, ...). */
	void (*status)(struct buf *);
};

/*
 * The configuration rows every daemon has (listeners, TLS, log level, drain
 * time). T is the program's configuration struct, which must have the
 * fields listen, tls_cert_file, tls_key_file, log_level and drain_ms.
 */
extern const char *const daemon_log_levels[];
const char *daemon_check_listen(const struct json *, char **freeit);
#define DAEMON_CONF_ROWS(T, LISTEN, DRAIN, TLSRELOAD)                                              \
	{ "listen", CONF_STRLIST, offsetof(T, listen), LISTEN, 0, 256, NULL, 0,                    \
		"listeners, as http://HOST:PORT or https://HOST:PORT (port 0: any free port)",     \
		daemon_check_listen },                                                             \
	    { "tls.cert_file", CONF_PATH, offsetof(T, tls_cert_file), NULL, 0, 4096, NULL,         \
		    TLSRELOAD, "PEM certificate chain for https listeners" },                      \
	    { "tls.key_file", CONF_PATH, offsetof(T, tls_key_file), NULL, 0, 4096, NULL,           \
		    TLSRELOAD, "PEM private key for https listeners" },                            \
	    { "log.level", CONF_ENUM, offsetof(T, log_level), "\"info\"", 0, 0, daemon_log_levels, \
		    1, "most verbose level logged: error, warn, info or debug" },                  \
	{                                                                                          \
		"shutdown.drain_ms", CONF_INT, offsetof(T, drain_ms), DRAIN, 0, 600000, NULL, 1,   \
		    "on SIGTERM, time given to work in flight before connections are closed"       \
	}

int daemon_main(const struct daemon_prog *, int argc, char **argv);
/* Print "listening on HOST:PORT" on stdout and flush. */
void daemon_announce(const char *bound);
/* Name of the configuration file in use ("(defaults)" when none). */
const char *daemon_config_file(void);

#endif
