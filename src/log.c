/*
 * log.c: the log. One line per event on stderr: UTC time with
 * milliseconds, level, program, then the caller's "subject: message".
 * Control characters in messages are escaped so one event stays one line.
 * In json format each event is one JSON object per line instead, with the
 * subject split into subsystem and the agent, session or connection it
 * names. Under journald each line starts with its syslog priority (<3>).
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "json.h"
#include "log.h"
#include "util.h"

static enum log_level log_level = LOG_INFO;
static const char *log_program = "ucgw";
static const char *const log_names[] = { "error", "warn", "info", "debug" };
static const char *const log_tags[] = { "ERROR", "WARN", "INFO", "DEBUG" };
static const char log_prio[] = { '3', '4', '6', '7' }; /* syslog priorities */
static enum log_format log_format = LOG_FORMAT_TEXT;
static int log_journal;

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

/* Text or JSON lines. */
void
log_set_format(enum log_format f)
{
	log_format = f;
}

/* Whether stderr is the journal: JOURNAL_STREAM is "DEVICE:INODE" of it. */
int
log_detect_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	log_journal = js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	    fstat(2, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
	return log_journal;
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

/* The time as 2026-01-02T03:04:05.678Z. */
static void
log_time(char *out, size_t len)
{
	struct timeval tv;
	struct tm tm;
	char ts[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%03dZ", ts, (int)(tv.tv_usec / 1000));
}

/* Start a line: its journal priority first when stderr is the journal. */
static void
log_begin(struct buf *b, enum log_level l)
{
	buf_init(b);
	if (log_journal)
		buf_printf(b, "<%c>", log_prio[l]);
}

/* Write a finished line in one write. */
static void
log_emit(struct buf *b)
{
	buf_addch(b, '\n');
	fwrite(b->data, 1, b->len, stderr);
}

/* The word after "name " at the start of s, as a JSON member "key"; 0 if none. */
static int
log_json_named(struct jw *w, const char *s, const char *name, const char *key)
{
	size_t nl = strlen(name), len;

	if (strncmp(s, name, nl) != 0 || s[nl] != ' ')
		return 0;
	s += nl + 1;
	if ((len = strcspn(s, " :")) == 0)
		return 0;
	jw_key(w, key);
	jw_strn(w, s, len);
	return 1;
}

/* Split "word name: [session id: ]message" into subsystem and what it names. */
static void
log_json_subject(struct jw *w, const char *msg)
{
	const char *colon = strstr(msg, ": ");

	if (colon == NULL || colon - msg > 80) {
		jw_kstr(w, "subsystem", log_program);
		return;
	}
	jw_key(w, "subsystem");
	jw_strn(w, msg, strcspn(msg, " :"));
	if (log_json_named(w, msg, "agent", "agent") || log_json_named(w, msg, "ucwa", "agent"))
		log_json_named(w, colon + 2, "session", "session");
	else if (!log_json_named(w, msg, "conn", "connection"))
		log_json_named(w, msg, "session", "session");
}

/* One JSON object: time, level, program, subsystem, agent/session/connection, message. */
static void
log_json(struct buf *b, enum log_level l, const char *msg, const struct log_access *a)
{
	struct jw w;
	char ts[40];

	log_time(ts, sizeof ts);
	jw_init(&w, b);
	jw_obj_begin(&w);
	jw_kstr(&w, "time", ts);
	jw_kstr(&w, "level", log_names[l]);
	jw_kstr(&w, "program", log_program);
	if (a == NULL)
		log_json_subject(&w, msg);
	else {
		jw_kstr(&w, "subsystem", "access");
		if (a->agent != NULL)
			jw_kstr(&w, "agent", a->agent);
		jw_kstr(&w, "client", a->client);
		jw_kstr(&w, "method", a->method);
		jw_kstr(&w, "path", a->path);
		jw_kint(&w, "status", a->status);
		jw_kint(&w, "bytes", (long long)a->bytes);
		jw_key(&w, "duration_ms");
		jw_double(&w, a->secs * 1000);
	}
	jw_kstr(&w, "message", msg);
	jw_obj_end(&w);
}

/* Log one event at level l. */
void
log_msg(enum log_level l, const char *fmt, ...)
{
	struct buf b;
	char *msg, ts[40];
	va_list ap;

	if (l > log_level)
		return;
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	log_begin(&b, l);
	if (log_format == LOG_FORMAT_JSON)
		log_json(&b, l, msg, NULL);
	else {
		log_time(ts, sizeof ts);
		buf_printf(&b, "%s %-5s %s: ", ts, log_tags[l], log_program);
		log_write_escaped(&b, msg);
	}
	log_emit(&b);
	buf_free(&b);
	free(msg);
}

/* The access log line of one request. */
void
log_access(const struct log_access *a)
{
	struct buf b;
	char *msg;

	if (!log_enabled(LOG_INFO))
		return;
	xasprintf(&msg, "%s %s %s -> %d %zu bytes %.1f ms%s%s", a->client, a->method, a->path,
	    a->status, a->bytes, a->secs * 1000, a->agent ? " agent " : "",
	    a->agent ? a->agent : "");
	log_begin(&b, LOG_INFO);
	if (log_format == LOG_FORMAT_JSON)
		log_json(&b, LOG_INFO, msg, a);
	else {
		char ts[40];

		log_time(ts, sizeof ts);
		buf_printf(&b, "%s %-5s %s: access: ", ts, log_tags[LOG_INFO], log_program);
		log_write_escaped(&b, msg);
	}
	log_emit(&b);
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
