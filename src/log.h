/*
 * log.h: one line per event on stderr, "TIME LEVEL subject: message".
 * Callers name the connection, agent or session a line concerns in the
 * subject. Nothing that could hold a password, token or cookie value is
 * ever passed here: headers are never logged whole.
 */
#ifndef UCGW_LOG_H
#define UCGW_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

void log_set_level(enum log_level);
enum log_level log_get_level(void);
int log_level_parse(const char *, enum log_level *);
const char *log_level_name(enum log_level);
void log_set_program(const char *);
/* text (one line) or json (one object per line); see docs/operations.md. */
void log_set_format(enum log_format);
/* Prefix lines with <N> syslog priorities when stderr is the journal
 * (JOURNAL_STREAM names stderr's device and inode); returns 1 if so. */
int log_detect_journal(void);

/* One desktop request (log.access), at info level; agent may be NULL. */
struct log_access {
	const char *method, *path, *client, *agent;
	int status;
	size_t bytes;
	double secs;
};
void log_access(const struct log_access *);

void log_msg(enum log_level, const char *, ...) __attribute__((format(printf, 2, 3)));

/*
 * A rate limit for one kind of repeated line (one static per call site):
 * at most LOG_LIMIT_BURST lines per LOG_LIMIT_WINDOW_MS; the first line of
 * a later window says how many were suppressed meanwhile.
 */
#define LOG_LIMIT_BURST	    5
#define LOG_LIMIT_WINDOW_MS 10000
struct log_limit {
	unsigned long long window_start;
	unsigned n;
	unsigned long long suppressed;
};
void log_limited(struct log_limit *, enum log_level, const char *, ...)
    __attribute__((format(printf, 3, 4)));

#define log_enabled(l) ((l) <= log_get_level())
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)                                                                              \
	do {                                                                                       \
		if (log_enabled(LOG_INFO))                                                         \
			log_msg(LOG_INFO, __VA_ARGS__);                                            \
	} while (0)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_enabled(LOG_DEBUG))                                                        \
			log_msg(LOG_DEBUG, __VA_ARGS__);                                           \
	} while (0)

#endif
