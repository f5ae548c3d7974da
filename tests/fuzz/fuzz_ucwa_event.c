/*
 * fuzz_ucwa_event.c: libFuzzer target for the event-channel parser
 * (ucwa_event.c) and the event-driven JSON reader under it
 * (json_sax_parse). Each input is read as an event-channel response and as
 * a resource; what comes back must hold together (a link to go on, changes
 * and reports within their bounds, every change with an href and a self,
 * an error message on refusal). json_sax_parse and json_parse must agree
 * on every input to the letter: both accept it, or both refuse it with the
 * same message at the same line and column; and json_sax_parse's fast path
 * must give the callbacks exactly what yajl gives them, or leave the input
 * to yajl.
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

/* Callbacks that write what they see into a buf (json_sax_parse's fast path against yajl). */
static void
fuzz_tvalue(void *ctx, enum json_type t, const char *s, size_t len)
{
	fuzz_value(ctx, t, s, len);
	buf_addch(ctx, (char)('0' + t));
	if (s != NULL) {
		buf_addint(ctx, (long long)len);
		buf_add(ctx, s, len);
	}
}

static void
fuzz_topen(void *ctx, enum json_type t)
{
	fuzz_open(ctx, t);
	buf_addch(ctx, t == JSON_ARRAY ? '[' : '{');
}

static void
fuzz_tkey(void *ctx, const char *s, size_t len)
{
	fuzz_key(ctx, s, len);
	buf_addch(ctx, 'k');
	buf_addint(ctx, (long long)len);
	buf_add(ctx, s, len);
}

static void
fuzz_tclose(void *ctx)
{
	buf_addch(ctx, ')');
}

static const struct json_sax fuzz_tsax = { fuzz_tvalue, fuzz_topen, fuzz_tkey, fuzz_tclose };

/* The same callbacks, in the same order, and the same outcome with the fast path and without. */
static void
fuzz_fast_path(const char *text, size_t size, struct json_limits lim)
{
	struct json_error e1, e2;
	struct buf b1, b2;
	int r1, r2;

	buf_init(&b1);
	buf_init(&b2);
	lim.no_fast = 0;
	r1 = json_sax_parse(text, size, &lim, &fuzz_tsax, &b1, &e1);
	lim.no_fast = 1;
	r2 = json_sax_parse(text, size, &lim, &fuzz_tsax, &b2, &e2);
	if (r1 != r2 || b1.len != b2.len || (b1.len != 0 && memcmp(b1.data, b2.data, b1.len) != 0))
		abort();
	if (r1 != 0 && (e1.line != e2.line || e1.col != e2.col || strcmp(e1.msg, e2.msg) != 0))
		abort();
	buf_free(&b1);
	buf_free(&b2);
}

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
	fuzz_fast_path(text, size, lim);
	lim.max_depth = 1 + size % 4;
	fuzz_fast_path(text, size, lim);

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
