/*
 * daemon.h: the process life both daemons share: command line (-c, -t, -o,
 * -h, --version), loading and checking the configuration, signals (SIGHUP
 * reload that keeps the old configuration when the new one is bad,
 * SIGTERM/SIGINT graceful drain then exit 0), and the "listening on
 * HOST:PORT" lines scripts wait for. A program fills in struct daemon_prog.
 */
#ifndef UCGW_DAEMON_H
#define UCGW_DAEMON_H

#include <event2/event.h>

#include "conf.h"
#include "util.h"

struct daemon_prog {
	const char *name;
	const char *summary;	/* one line for -h */
	const struct conf_schema *schema;
	/* Checks across keys and files; append "FILE: message" lines to problems. */
	void (*validate)(const void *cfg, const char *file, struct buf *problems);
	/* Open listeners (announce each with daemon_announce) and start serving. */
	int (*start)(struct event_base *, const void *cfg, char **cause);
	/* Use a new configuration (already validated); old is freed afterwards. */
	void (*apply)(const void *cfg, const void *old);
	/* Stop accepting and finish work in flight; call done when finished. */
	void (*drain)(void (*done)(void *), void *arg);
	/* Free everything (after the loop ended). */
	void (*stop)(void);
};

int daemon_main(const struct daemon_prog *, int argc, char **argv);
/* Print "listening on HOST:PORT" on stdout and flush. */
void daemon_announce(const char *bound);
/* Name of the configuration file in use ("(defaults)" when none). */
const char *daemon_config_file(void);

#endif
