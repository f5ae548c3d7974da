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

#include "hmap.h"
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

/* A recorded agent: the input of its own being handled now, if any. */
struct record_agent {
	struct record_open *cur;  /* the request or response being handled now */
	struct record_open *ucwa; /* its event-channel response being handled (owned) */
};

static struct {
	struct hmap *agents; /* recorded agent name -> struct record_agent; NULL: none */
	char *dir;
	int mask;
	size_t max_bytes;
	struct record_open *open; /* newest first */
	unsigned nopen;
	unsigned long long seq;
} rec;

static void record_finish(struct record_open *);
static void record_ucwa_close(struct record_agent *);

/* The recorded agent named agent, or NULL (one check while nobody is recorded). */
static struct record_agent *
record_find(const char *agent)
{
	if (rec.agents == NULL)
		return NULL;
	return hmap_get(rec.agents, agent);
}

/* hmap_each callback: write the agent's open event transcript and free it. */
static void
record_agent_free(const char *name, void *value, void *arg)
{
	(void)name;
	(void)arg;
	record_ucwa_close(value);
	free(value);
}

/* Forget the recorded agents (their open event transcripts are written). */
static void
record_agents_free(void)
{
	if (rec.agents == NULL)
		return;
	hmap_each(rec.agents, record_agent_free, NULL);
	hmap_free(rec.agents);
	rec.agents = NULL;
}

/* Take the record.* keys into use (the list is copied). */
void
record_configure(const struct config *cfg)
{
	size_t n = cfg->record_dir != NULL ? cfg->record_agents.n : 0;

	record_agents_free();
	free(rec.dir);
	if (n > 0)
		rec.agents = hmap_create();
	for (size_t i = 0; i < n; i++) {
		if (hmap_get(rec.agents, cfg->record_agents.v[i]) == NULL)
			hmap_put(rec.agents, cfg->record_agents.v[i],
			    xcalloc(1, sizeof(struct record_agent)));
	}
	rec.dir = cfg->record_dir != NULL ? xstrdup(cfg->record_dir) : NULL;
	rec.mask = cfg->record_mask_text;
	rec.max_bytes = (size_t)cfg->record_max_bytes;
	if (n > 0)
		log_info("recording %zu agent(s) to %s%s", hmap_count(rec.agents), rec.dir,
		    rec.mask ? " (message texts masked)" : "");
}

/* Whether agent is recorded. */
int
record_agent(const char *agent)
{
	return record_find(agent) != NULL;
}

/* Unlink o from the open list (and from its agent's current input). */
static void
record_unlink(struct record_open *o)
{
	struct record_agent *ra = record_find(o->agent);
	struct record_open **pp;

	for (pp = &rec.open; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == o) {
			*pp = o->next;
			rec.nopen--;
			break;
		}
	}
	if (ra != NULL && ra->cur == o)
		ra->cur = NULL;
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
	record_agents_free();
	while (rec.open != NULL)
		record_drop(rec.open);
	free(rec.dir);
	memset(&rec, 0, sizeof rec);
}

/* Start recording req if its agent is recorded. */
void
record_gws_begin(struct http_req *req, const char *agent, const struct xlate_session *before,
    const struct json *body)
{
	struct record_agent *ra = record_find(agent);
	struct record_open *o, **pp;

	if (ra == NULL)
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
	ra->cur = o;
}

/* The synchronous part of the request is over: an answer given during it
 * waited for the notifications that followed it; finish now. */
void
record_gws_end(const char *agent)
{
	struct record_agent *ra = record_find(agent);
	struct record_open *o;

	if (ra == NULL || (o = ra->cur) == NULL || o->ucwa)
		return;
	ra->cur = NULL;
	if (o->answered)
		record_finish(o);
}

/* A UCWA command of agent: its input's, if one is being handled. */
void
record_upstream(const char *agent, const char *rel, const char *ctype, const char *body_json,
    const char *body_text)
{
	struct record_agent *ra = record_find(agent);

	if (ra == NULL || ra->cur == NULL)
		return;
	xlate_rec_upstream(ra->cur->rec, rel, ctype, body_json, body_text);
	ra->cur->touched = 1;
}

/* A notification of agent: its input's, if one is being handled. */
void
record_notify(const char *agent, const char *data)
{
	struct record_agent *ra = record_find(agent);

	if (ra == NULL || ra->cur == NULL)
		return;
	xlate_rec_notify(ra->cur->rec, data);
	ra->cur->touched = 1;
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
	struct record_agent *ra = record_find(agent);
	struct json_limits lim = { .max_depth = 64, .no_positions = 1 };
	struct json_error jerr;
	struct record_open *o;
	struct json_doc *d;

	if (ra == NULL)
		return;
	record_ucwa_close(ra);
	if ((d = json_parse(body, len, &lim, &jerr)) == NULL)
		return; /* cannot be: the event parser accepted it */
	o = xcalloc(1, sizeof *o);
	o->agent = xstrdup(agent);
	o->rec = xlate_rec_new("recorded UCWA events", before, pending);
	xlate_rec_ucwa(o->rec, json_root(d));
	json_doc_free(d);
	o->ucwa = 1;
	ra->ucwa = o;
	ra->cur = o;
}

/* The agent's response was handled: write its transcript (unless nothing came of it). */
static void
record_ucwa_close(struct record_agent *ra)
{
	struct record_open *o = ra->ucwa;
	char *text;

	if (o == NULL)
		return;
	ra->ucwa = NULL;
	if (ra->cur == o)
		ra->cur = NULL;
	text = xlate_rec_finish(o->rec, rec.mask);
	if (rec.dir != NULL && o->touched)
		record_write(o->agent, text);
	free(text);
	free(o->agent);
	free(o);
}

/* The event-channel response of agent was handled. */
void
record_ucwa_end(const char *agent)
{
	struct record_agent *ra = record_find(agent);

	if (ra != NULL)
		record_ucwa_close(ra);
}

/* The answer to req: finish its transcript now, or when its handling ends. */
void
record_reply(struct http_req *req, int code, const char *msg)
{
	struct record_agent *ra;
	struct record_open *o;

	if (rec.open == NULL)
		return;
	for (o = rec.open; o != NULL && o->req != req; o = o->next)
		;
	if (o == NULL || o->answered)
		return;
	xlate_rec_response(o->rec, code, msg);
	if ((ra = record_find(o->agent)) != NULL && ra->cur == o)
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
