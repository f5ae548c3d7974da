/*
 * fuzz_ucwa_event.c: libFuzzer target for the event-channel parser
 * (ucwa_event.c) and the event-driven JSON reader under it
 * (json_sax_parse). Each input is read as an event-channel response and as
 * a resource; what comes back must hold together (a link to go on, changes
 * and reports within their bounds, every change with an href and a self,
 * an error message on refusal). json_sax_parse and json_parse must agree
 * on every input to the letter: both accept it, or both refuse it with the
 * same message at the same line and column.
 *
 *	clang -g -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -I src \
 *	    src/ucwa_event.c src/datauri.c src/json.c src/jw.c src/hmap.c \
 *	    src/util.c src/buf.c src/xmalloc.c src/strpool.c src/log.c \
 *	    tests/fuzz/fuzz_ucwa_event.c -lyajl -lcrypto -o fuzz_ucwa_event
 *	./fuzz_ucwa_event -max_len=65536 proto/ucwa-events/
 *
 * With -DFUZZ_STANDALONE it replays the files named on its command line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "ucwa_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Callbacks that keep nothing (json_sax_parse against json_parse). */
static void
fuzz_value(void *ctx, enum json_type t, const char *s, size_t len)
{
	(void)ctx;
	if (t == JSON_STRING && memchr(s, '\0', len) != NULL)
		abort();
}

static void
fuzz_open(void *ctx, enum json_type t)
{
	(void)ctx;
	if (t != JSON_ARRAY && t != JSON_OBJECT)
		abort();
}

static void
fuzz_key(void *ctx, const char *s, size_t len)
{
	(void)ctx;
	if (memchr(s, '\0', len) != NULL)
		abort();
}

static void
fuzz_close(void *ctx)
{
	(void)ctx;
}

static const struct json_sax fuzz_sax = { fuzz_value, fuzz_open, fuzz_key, fuzz_close };

/* What a parse gave must hold together. */
static void
fuzz_check(const struct ucwa_events *evs)
{
	if (evs->n > 4096 || evs->nbad > UCWA_EVENTS_MAX_BAD || evs->nbad > evs->nbad_total)
		abort();
	for (size_t i = 0; i < evs->n; i++) {
		const struct ucwa_change *c = &evs->v[i];

		if (c->href == NULL || c->self == NULL || (unsigned)c->kind > UCWA_MESSAGE ||
		    (unsigned)c->type > UCWA_COMPLETED || (c->text != NULL && c->text_bad))
			abort();
	}
	for (size_t i = 0; i < evs->nbad; i++) {
		if (evs->bad[i].why == NULL || evs->bad[i].kind < -1 ||
		    evs->bad[i].kind > UCWA_MESSAGE)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct json_limits lim = { .max_bytes = 4u << 20, .max_depth = 64, .no_positions = 1 };
	struct json_error e1, e2;
	struct json_doc *d;
	struct ucwa_events evs;
	char err[256];
	int r;

	d = json_parse(text, size, &lim, &e1);
	r = json_sax_parse(text, size, &lim, &fuzz_sax, NULL, &e2);
	if ((d != NULL) != (r == 0))
		abort();
	if (d == NULL && (e1.line != e2.line || e1.col != e2.col || strcmp(e1.msg, e2.msg) != 0))
		abort();
	json_doc_free(d);

	err[0] = '\0';
	if (ucwa_events_parse(text, size, &evs, err, sizeof(err)) == 0) {
		if (evs.next == NULL && evs.resync == NULL && evs.resume == NULL)
			abort();
		fuzz_check(&evs);
		ucwa_events_free(&evs);
	} else if (strncmp(err, "events: ", 8) != 0 || evs.v != NULL || evs.mem != NULL)
		abort();
	err[0] = '\0';
	if (ucwa_resource_parse(
		text, size, (enum ucwa_kind)(size % 6), "/h", &evs, err, sizeof(err)) == 0) {
		if (evs.n != 1)
			abort();
		fuzz_check(&evs);
		ucwa_events_free(&evs);
	} else if (strncmp(err, "resource: ", 10) != 0)
		abort();
	return 0;
}

#ifdef FUZZ_STANDALONE
#include "fuzz_replay.h"

/* Run each file named on the command line through the target. */
int
main(int argc, char **argv)
{
	return fuzz_replay(argc, argv, 8 << 20);
}
#endif
