/*
 * daemon.c: command line, configuration life and signals for ucgw and
 * ucwa-sim. The current configuration is replaced only by a complete,
 * checked new one; every problem of a refused one is logged. One libevent
 * loop; signals arrive as events, never in signal context.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "version.h"

#define DAEMON_STATUS_MS 5000 /* STATUS= refresh period under systemd */

struct daemon_state {
	const struct daemon_prog *prog;
	struct event_base *base;
	const char *file;
	struct conf_overrides overrides;
	void *cfg;
	int stopping;
	int notify;		 /* NOTIFY_SOCKET is set: tell systemd */
	struct event *status_ev; /* STATUS= refresh */
	struct event *dog_ev;	 /* WATCHDOG=1 */
};

static struct daemon_state daemon_state;

const char *const daemon_log_levels[] = { "error", "warn", "info", "debug", NULL };

/* One listen URL: http(s)://HOST:PORT with a numeric host. */
static const char *
daemon_check_url(const char *url)
{
	const char *hp, *colon;

	if (strncmp(url, "http://", 7) == 0)
		hp = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		hp = url + 8;
	else
		return "expected http://HOST:PORT or https://HOST:PORT";
	colon = strrchr(hp, ':');
	if (colon == NULL || colon[1] == '\0' ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return "expected a port after the host (0 picks a free one)";
	if (atoi(colon + 1) > 65535)
		return "port out of range (0 to 65535)";
	return NULL;
}

/* Row check for "listen": a non-empty array of valid URLs (both daemons). */
const char *
daemon_check_listen(const struct json *v, char **freeit)
{
	const char *msg;

	if (v->type != JSON_ARRAY)
		return NULL; /* the type check names the problem */
	if (v->u.arr.n == 0)
		return "at least one listener is needed";
	for (size_t i = 0; i < v->u.arr.n; i++) {
		const char *s = json_str(v->u.arr.v[i]);

		if (s != NULL && (msg = daemon_check_url(s)) != NULL) {
			xasprintf(freeit, "\"%s\": %s", s, msg);
			return *freeit;
		}
	}
	return NULL;
}

/* Print "listening on HOST:PORT". */
void
daemon_announce(const char *bound)
{
	printf("listening on %s\n", bound);
	fflush(stdout);
}

/* The configuration file in use. */
const char *
daemon_config_file(void)
{
	return daemon_state.file ? daemon_state.file : "(defaults)";
}

/* Usage text. */
static void
daemon_usage(const struct daemon_prog *p, FILE *f)
{
	fprintf(f,
	    "usage: %s [-t] [-c FILE] [-o key.path=value ...]\n"
	    "       %s --version\n"
	    "%s\n\n"
	    "  -c FILE      configuration file (JSON, comments allowed)\n"
	    "               default: %s%s\n"
	    "  -t           check the configuration, print \"configuration OK\" or every problem\n"
	    "  -o KEY=VAL   override a configuration key (VAL is JSON, or else a string)\n"
	    "  -h, --help   this text\n"
	    "  --print-keys print every configuration key, one per line\n"
	    "  --version    print the version\n"
	    "%s"
	    "\nSignals: SIGHUP reloads the configuration; SIGTERM/SIGINT drain and exit.\n",
	    p->name, p->name, p->summary, p->default_file ? p->default_file : "built-in defaults",
	    p->default_file ? " if it exists, else built-in defaults" : "",
	    p->usage_extra ? p->usage_extra : "");
}

/* Free a configuration and what the program's validate attached to it. */
static void
daemon_conf_free(const struct daemon_state *d, void *cfg)
{
	if (cfg != NULL && d->prog->release != NULL)
		d->prog->release(cfg);
	conf_free(d->prog->schema, cfg);
}

/* Load and check the configuration; NULL with every problem in *problems. */
static void *
daemon_load(const struct daemon_state *d, char **problems)
{
	const struct daemon_prog *p = d->prog;
	void *cfg = conf_load(p->schema, d->file, &d->overrides, problems);
	struct buf b;

	if (cfg == NULL || p->validate == NULL)
		return cfg;
	buf_init(&b);
	p->validate(cfg, daemon_config_file(), &b);
	if (b.len == 0) {
		buf_free(&b);
		return cfg;
	}
	daemon_conf_free(d, cfg);
	*problems = buf_detach(&b, NULL);
	return NULL;
}

/* Log each line of a problem list. */
static void
daemon_log_problems(const char *problems)
{
	const char *p = problems, *nl;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		log_error("%.*s", (int)(nl ? nl - p : (long)strlen(p)), p);
		p = nl ? nl + 1 : p + strlen(p);
	}
}

/* Tell systemd (when it started us with Type=notify); a no-op otherwise. */
static void
daemon_notify(const struct daemon_state *d, const char *what)
{
	if (d->notify)
		sd_notify(0, what);
}

/*
 * STATUS=: the program's one-line summary, after the assignments in first
 * (NULL: none) in the same message, so that systemd (or a test reading the
 * socket) never sees READY=1 without the status that goes with it.
 */
static void
daemon_notify_status(struct daemon_state *d, const char *first)
{
	struct buf b;

	if (!d->notify)
		return;
	if (d->prog->status == NULL) {
		if (first != NULL)
			sd_notify(0, first);
		return;
	}
	buf_init(&b);
	if (first != NULL)
		buf_printf(&b, "%s\n", first);
	buf_addstr(&b, "STATUS=");
	d->prog->status(&b);
	sd_notify(0, b.data);
	buf_free(&b);
}

/* Timer: refresh STATUS=. */
static void
daemon_status_timer(evutil_socket_t fd, short what, void *arg)
{
	daemon_notify_status(arg, NULL);
}

/* Timer: WATCHDOG=1 (at half the interval systemd asked for). */
static void
daemon_watchdog(evutil_socket_t fd, short what, void *arg)
{
	daemon_notify(arg, "WATCHDOG=1");
}

/* Start the systemd timers: STATUS= refresh, and the watchdog if WatchdogSec is set. */
static void
daemon_notify_start(struct daemon_state *d)
{
	struct timeval tv = { DAEMON_STATUS_MS / 1000, 0 };
	const char *sock = getenv("NOTIFY_SOCKET");
	uint64_t usec = 0;

	d->notify = sock != NULL && *sock != '\0';
	if (!d->notify)
		return;
	d->status_ev = event_new(d->base, -1, EV_PERSIST, daemon_status_timer, d);
	event_add(d->status_ev, &tv);
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		tv.tv_sec = (time_t)(usec / 2 / 1000000);
		tv.tv_usec = (suseconds_t)(usec / 2 % 1000000);
		d->dog_ev = event_new(d->base, -1, EV_PERSIST, daemon_watchdog, d);
		event_add(d->dog_ev, &tv);
		log_info("systemd watchdog: WATCHDOG=1 every %llu ms",
		    (unsigned long long)(usec / 2000));
	}
}

/* SIGHUP: load a new configuration, keep the old one if it is bad. */
static void
daemon_reload(struct daemon_state *d)
{
	char *problems = NULL, *changed = NULL;
	void *cfg, *old = d->cfg;

	log_info("SIGHUP: reloading %s", daemon_config_file());
	daemon_notify(d, "RELOADING=1");
	if ((cfg = daemon_load(d, &problems)) == NULL) {
		daemon_log_problems(problems);
		log_error("reload refused: keeping the previous configuration");
		free(problems);
		metrics_inc(M_RELOADS, "result=\"refused\"");
		daemon_notify(d, "READY=1");
		return;
	}
	if (conf_keep_static(d->prog->schema, cfg, old, &changed) > 0) {
		log_warn(
		    "reload: %s can only change on restart; keeping the running value(s)", changed);
		free(changed);
	}
	d->prog->apply(cfg, old);
	d->cfg = cfg;
	daemon_conf_free(d, old);
	log_info("reload done");
	metrics_inc(M_RELOADS, "result=\"done\"");
	metrics_set(M_RELOAD_TIME, NULL, (double)util_wall_ms() / 1000);
	daemon_notify_status(d, "READY=1");
}

/* Drain finished: leave the loop. */
static void
daemon_drained(void *arg)
{
	struct daemon_state *d = arg;

	log_info("drained; exiting");
	event_base_loopexit(d->base, NULL);
}

/* A signal arrived (as an event). */
static void
daemon_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_state *d = arg;

	if (sig == SIGHUP) {
		daemon_reload(d);
		return;
	}
	if (d->stopping) {
		log_warn("second %s: exiting now", sig == SIGINT ? "SIGINT" : "SIGTERM");
		event_base_loopbreak(d->base);
		return;
	}
	d->stopping = 1;
	log_info("%s: draining", sig == SIGINT ? "SIGINT" : "SIGTERM");
	daemon_notify(d, "STOPPING=1");
	d->prog->drain(daemon_drained, d);
}

/* Parse the command line into d; returns -1 to exit with *rc. */
static int
daemon_args(struct daemon_state *d, int argc, char **argv, int *test, int *rc)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "print-keys", no_argument, NULL, 'K' },
		{ "print-man-keys", no_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	char *cause;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:ho:t", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': d->file = optarg; break;
		case 't': *test = 1; break;
		case 'o':
			if (conf_override_add(&d->overrides, optarg, &cause) != 0) {
				fprintf(stderr, "%s: %s\n", d->prog->name, cause);
				free(cause);
				*rc = 2;
				return -1;
			}
			break;
		case 'h':
			daemon_usage(d->prog, stdout);
			*rc = 0;
			return -1;
		case 'V':
			printf("%s %s\n", d->prog->name, UCGW_VERSION);
			*rc = 0;
			return -1;
		case 'K':
			conf_print_keys(d->prog->schema);
			*rc = 0;
			return -1;
		case 'M':
			conf_print_man(d->prog->schema);
			*rc = 0;
			return -1;
		default:
			daemon_usage(d->prog, stderr);
			*rc = 2;
			return -1;
		}
	}
	if (optind != argc) {
		daemon_usage(d->prog, stderr);
		*rc = 2;
		return -1;
	}
	return 0;
}

/* Run the loop until a drain finishes. */
static int
daemon_run(struct daemon_state *d)
{
	struct event *sigs[3];
	const int signums[3] = { SIGHUP, SIGTERM, SIGINT };
	char *cause;
	int rc = 0;

	signal(SIGPIPE, SIG_IGN);
	d->base = event_base_new();
	for (int i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(d->base, signums[i], daemon_signal, d);
		evsignal_add(sigs[i], NULL);
	}
	d->prog->apply(d->cfg, NULL);
	log_info("configuration from %s", daemon_config_file());
	metrics_add(M_RELOADS, "result=\"done\"", 0);
	metrics_add(M_RELOADS, "result=\"refused\"", 0);
	metrics_set(M_RELOAD_TIME, NULL, 0);
	metrics_set(M_BUILD, "version=\"" UCGW_VERSION "\"", 1);
	if (d->prog->start(d->base, d->cfg, &cause) != 0) {
		log_error("%s", cause);
		free(cause);
		rc = 1;
	} else {
		daemon_notify_start(d);
		daemon_notify_status(d, "READY=1");
		event_base_dispatch(d->base);
	}
	d->prog->stop();
	if (d->status_ev != NULL)
		event_free(d->status_ev);
	if (d->dog_ev != NULL)
		event_free(d->dog_ev);
	metrics_reset();
	for (int i = 0; i < 3; i++)
		event_free(sigs[i]);
	event_base_free(d->base);
	return rc;
}

/* Entry point shared by the daemons. */
int
daemon_main(const struct daemon_prog *prog, int argc, char **argv)
{
	struct daemon_state *d = &daemon_state;
	char *problems = NULL;
	int test = 0, rc = 0;

	d->prog = prog;
	log_set_program(prog->name);
	if (daemon_args(d, argc, argv, &test, &rc) != 0)
		return rc;
	if (d->file == NULL && prog->default_file != NULL && access(prog->default_file, F_OK) == 0)
		d->file = prog->default_file;
	if ((d->cfg = daemon_load(d, &problems)) == NULL) {
		fputs(problems, stderr);
		free(problems);
		conf_overrides_free(&d->overrides);
		return 1;
	}
	if (test) {
		log_info("checked %s", daemon_config_file());
		printf("configuration OK\n");
	} else
		rc = daemon_run(d);
	daemon_conf_free(d, d->cfg);
	conf_overrides_free(&d->overrides);
	return rc;
}
