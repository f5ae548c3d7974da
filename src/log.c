/*
 * log.c: the log. One line per event on stderr: UTC time with
 * milliseconds, level, program, then the caller's "subject: message".
 * Control characters in messages are escaped so one event stays one line.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"
#include "util.h"

static enum log_level log_level = LOG_INFO;
static const char *log_program = "ucgw";
static const char *const log_names[] = { "error", "warn", "info", "debug" };
static const char *const log_tags[] = { "ERROR", "WARN", "INFO", "DEBUG" };

/* Set the most verbose level that is printed. */
void
log_set_level(enum log_level l)
{
	log_level = l;
}

/* The current level. */
enum log_level
log_get_level(void)
{
	return log_level;
}

/* Name used on every line. */
void
log_set_program(const char *name)
{
	log_program = name;
}

/* Parse "error", "warn", "info" or "debug". */
int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < nitems(log_names); i++) {
		if (strcasecmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* Name of a level. */
const char *
log_level_name(enum log_level l)
{
	return log_names[l];
}

/* Write msg with control characters escaped. */
static void
log_write_escaped(struct buf *b, const char *msg)
{
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			buf_printf(b, "\\x%02x", *p);
		else
			buf_addch(b, (char)*p);
	}
}

/* Log one event at level l. */
void
log_msg(enum log_level l, const char *fmt, ...)
{
	struct timeval tv;
	struct tm tm;
	struct buf b;
	char *msg, ts[32];
	va_list ap;

	if (l > log_level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	buf_init(&b);
	buf_printf(
	    &b, "%s.%03dZ %-5s %s: ", ts, (int)(tv.tv_usec / 1000), log_tags[l], log_program);
	log_write_escaped(&b, msg);
	buf_addch(&b, '\n');
	fwrite(b.data, 1, b.len, stderr);
	buf_free(&b);
	free(msg);
}

/* Log one event at level l unless its kind already filled this window. */
void
log_limited(struct log_limit *ll, enum log_level l, const char *fmt, ...)
{
	unsigned long long now = util_now_ms(), suppressed;
	va_list ap;
	char *msg;

	if (l > log_level)
		return;
	if (ll->window_start == 0 || now - ll->window_start >= LOG_LIMIT_WINDOW_MS) {
		ll->window_start = now;
		ll->n = 0;
	}
	if (ll->n >= LOG_LIMIT_BURST) {
		ll->suppressed++;
		return;
	}
	ll->n++;
	suppressed = ll->suppressed;
	ll->suppressed = 0;
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (suppressed > 0)
		log_msg(l, "%s (suppressed %llu like it)", msg, suppressed);
	else
		log_msg(l, "%s", msg);
	free(msg);
}
