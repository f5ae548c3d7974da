/*
 * record.c: recording chosen agents' IM requests as transcripts (see
 * record.h). Owns the list of recordings waiting for their answer and the
 * writing of finished transcripts; promises that nothing is recorded for
 * agents not in record.agents and that a recording never outlives its
 * request.
 *
 * Why write each transcript at once: a transcript is small (a request and
 * what followed it), written with one write(2) to a new file and no fsync,
 * so it goes to the page cache without waiting for the disk; buffering
 * them in memory would only move the same write later and lose the
 * transcripts of a crash. record.max_bytes bounds each write.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "record.h"
#include "xlate_rec.h"

/* A request waiting for its answer. */
struct record_open {
	struct http_req *req; /* NULL for an event-channel response */
	char *agent;
	struct xlate_rec *rec;
	int answered; /* answered while still being handled */
	int ucwa;     /* an event-channel response (not on the open list) */
	int touched;  /* something was notified or sent upstream for it */
	struct record_open *next;
};

static struct {
	char **agents;
	size_t nagents;
	char *dir;
	int mask;
	size_t max_bytes;
	struct record_open *open; /* newest first */
	unsigned nopen;
	struct record_open *cur;  /* the request being handled now */
	struct record_open *ucwa; /* the event-channel response being handled now */
	unsigned long long seq;
} rec;

static void record_finish(struct record_open *);

/* Take the record.* keys into use (the list is copied). */
void
record_configure(const struct config *cfg)
{
	for (size_t i = 0; i < rec.nagents; i++)
		free(rec.agents[i]);
	free(rec.agents);
	free(rec.dir);
	rec.nagents = cfg->record_dir != NULL ? cfg->record_agents.n : 0;
	rec.agents = xcalloc(rec.nagents + 1, sizeof *rec.agents);
	for (size_t i = 0; i < rec.nagents; i++)
		rec.agents[i] = xstrdup(cfg->record_agents.v[i]);
	rec.dir = cfg->record_dir != NULL ? xstrdup(cfg->record_dir) : NULL;
	rec.mask = cfg->record_mask_text;
	rec.max_bytes = (size_t)cfg->record_max_bytes;
	if (rec.nagents > 0)
		log_info("recording %zu agent(s) to %s%s", rec.nagents, rec.dir,
		    rec.mask ? " (message texts masked)" : "");
}

/* Whether agent is recorded. */
int
record_agent(const char *agent)
{
	for (size_t i = 0; i < rec.nagents; i++) {
		if (strcmp(rec.agents[i], agent) == 0)
			return 1;
	}
	return 0;
}

/* Unlink o from the open list. */
static void
record_unlink(struct record_open *o)
{
	struct record_open **pp;

	for (pp = &rec.open; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == o) {
			*pp = o->next;
			rec.nopen--;
			break;
		}
	}
	if (rec.cur == o)
		rec.cur = NULL;
}

/* Unlink and free o. */
static void
record_drop(struct record_open *o)
{
	record_unlink(o);
	xlate_rec_free(o->rec);
	free(o->agent);
	free(o);
}

/* Forget every open recording. */
void
record_shutdown(void)
{
	record_ucwa_end();
	while (rec.open != NULL)
		record_drop(rec.open);
	for (size_t i = 0; i < rec.nagents; i++)
		free(rec.agents[i]);
	free(rec.agents);
	free(rec.dir);
	memset(&rec, 0, sizeof rec);
}

/* Start recording req if its agent is recorded. */
void
record_gws_begin(struct http_req *req, const char *agent, const struct xlate_session *before,
    const struct json *body)
{
	struct record_open *o, **pp;

	rec.cur = NULL;
	if (!record_agent(agent))
		return;
	if (rec.nopen >= RECORD_MAX_OPEN) { /* drop the oldest */
		for (pp = &rec.open; (*pp)->next != NULL; pp = &(*pp)->next)
			;
		log_warn("record: more than %d requests unanswered; one recording dropped",
		    RECORD_MAX_OPEN);
		record_drop(*pp);
	}
	o = xcalloc(1, sizeof *o);
	o->req = req;
	o->agent = xstrdup(agent);
	o->rec = xlate_rec_new("recorded", before, NULL);
	xlate_rec_gws(o->rec, http_req_method(req), http_req_path(req), body);
	o->next = rec.open;
	rec.open = o;
	rec.nopen++;
	rec.cur = o;
}

/* The synchronous part of the request is over: an answer given during it
 * waited for the notifications that followed it; finish now. */
void
record_gws_end(void)
{
	struct record_open *o = rec.cur;

	rec.cur = NULL;
	if (o != NULL && o->answered)
		record_finish(o);
}

/* A UCWA request made for the request being handled. */
void
record_upstream(const char *agent, const char *rel, const char *ctype, const char *body_json,
    const char *body_text)
{
	if (rec.cur == NULL || strcmp(rec.cur->agent, agent) != 0)
		return;
	xlate_rec_upstream(rec.cur->rec, rel, ctype, body_json, body_text);
	rec.cur->touched = 1;
}

/* The startMessaging request of an InitiateIMSession. */
void
record_upstream_start(const char *agent, const char *to, const char *subject)
{
	struct buf b;
	struct jw w;

	if (rec.cur == NULL || strcmp(rec.cur->agent, agent) != 0)
		return;
	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kstr(&w, "to", to);
	if (subject != NULL)
		jw_kstr(&w, "subject", subject);
	jw_obj_end(&w);
	xlate_rec_upstream(rec.cur->rec, "startMessaging", "application/json", b.data, NULL);
	rec.cur->touched = 1;
	buf_free(&b);
}

/* A notification caused by the request being handled. */
void
record_notify(const char *agent, const char *data)
{
	if (rec.cur == NULL || strcmp(rec.cur->agent, agent) != 0)
		return;
	xlate_rec_notify(rec.cur->rec, data);
	rec.cur->touched = 1;
}

/* Write text to a new file of dir named after agent. */
static void
record_write(const char *agent, const char *text)
{
	size_t len = strlen(text), off = 0;
	char *path;
	ssize_t n;
	int fd;

	if (len > rec.max_bytes) {
		log_warn("record: a transcript of %s has %zu bytes (record.max_bytes %zu); skipped",
		    agent, len, rec.max_bytes);
		return;
	}
	xasprintf(
	    &path, "%s/%s-%lld-%06llu.json", rec.dir, agent, (long long)time(NULL), ++rec.seq);
	for (char *p = path + strlen(rec.dir) + 1; *p != '\0'; p++) { /* a name is no path */
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_' ||
			*p == '@'))
			*p = '_';
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		log_warn("record: %s: %s", path, strerror(errno));
		free(path);
		return;
	}
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) > 0)
			off += (size_t)n;
		else if (n == 0 || errno != EINTR)
			break;
	}
	if (off < len)
		log_warn("record: %s: %s", path, strerror(errno));
	close(fd);
	free(path);
}

/* Unlink o, write its transcript and free it. */
static void
record_finish(struct record_open *o)
{
	char *text;

	record_unlink(o);
	text = xlate_rec_finish(o->rec, rec.mask);
	if (rec.dir != NULL)
		record_write(o->agent, text);
	free(text);
	free(o->agent);
	free(o);
}

/* An event-channel response starts being handled: open its transcript (the
 * response read into a tree again here: the event parser keeps none). */
void
record_ucwa_begin(const char *agent, const struct xlate_session *before, const char *pending,
    const char *body, size_t len)
{
	struct json_limits lim = { .max_depth = 64, .no_positions = 1 };
	struct json_error jerr;
	struct record_open *o;
	struct json_doc *d;

	record_ucwa_end();
	if (!record_agent(agent))
		return;
	if ((d = json_parse(body, len, &lim, &jerr)) == NULL)
		return; /* cannot be: the event parser accepted it */
	o = xcalloc(1, sizeof *o);
	o->agent = xstrdup(agent);
	o->rec = xlate_rec_new("recorded UCWA events", before, pending);
	xlate_rec_ucwa(o->rec, json_root(d));
	json_doc_free(d);
	o->ucwa = 1;
	rec.ucwa = o;
	rec.cur = o;
}

/* The response was handled: write its transcript (unless nothing came of it). */
void
record_ucwa_end(void)
{
	struct record_open *o = rec.ucwa;
	char *text;

	if (o == NULL)
		return;
	rec.ucwa = NULL;
	if (rec.cur == o)
		rec.cur = NULL;
	text = xlate_rec_finish(o->rec, rec.mask);
	if (rec.dir != NULL && o->touched)
		record_write(o->agent, text);
	free(text);
	free(o->agent);
	free(o);
}

/* The answer to req: finish its transcript now, or when its handling ends. */
void
record_reply(struct http_req *req, int code, const char *msg)
{
	struct record_open *o;

	for (o = rec.open; o != NULL && o->req != req; o = o->next)
		;
	if (o == NULL || o->answered)
		return;
	xlate_rec_response(o->rec, code, msg);
	if (o == rec.cur)
		o->answered = 1;
	else
		record_finish(o);
}

/* req left unanswered. */
void
record_abort(struct http_req *req)
{
	struct record_open *o;

	for (o = rec.open; o != NULL && o->req != req; o = o->next)
		;
	if (o != NULL)
		record_drop(o);
}
