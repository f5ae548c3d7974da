/*
 * fuzz_json.c: libFuzzer target for json.c. The first byte chooses the
 * limits (depth, comments); the rest is parsed. A parsed document is
 * written back out, parsed again and written again: both outputs must be
 * identical (the writer's output is always valid JSON, and stable).
 *
 *	clang -g -fsanitize=fuzzer,address,undefined -I src src/json.c \
 *	    src/jw.c src/util.c src/buf.c src/xmalloc.c tests/fuzz/fuzz_json.c \
 *	    -lyajl -lcrypto -o fuzz_json
 *
 * With -DFUZZ_STANDALONE it replays the files named on its command line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Write the document of text out; NULL if it does not parse. */
static char *
fuzz_rewrite(const char *text, size_t len, const struct json_limits *lim)
{
	struct json_error err;
	struct json_doc *d = json_parse(text, len, lim, &err);
	struct buf b;
	struct jw w;

	if (d == NULL) {
		if (err.line == 0 || err.col == 0 || err.msg[0] == '\0')
			abort();
		return NULL;
	}
	buf_init(&b);
	jw_init(&w, &b);
	jw_value(&w, json_root(d));
	json_doc_free(d);
	return buf_detach(&b, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_limits lim = { 0 }, plain = { 0 };
	char *once, *twice;

	if (size < 1)
		return 0;
	lim.max_depth = 1 + (data[0] & 31);
	lim.allow_comments = data[0] >> 7;
	lim.max_bytes = 65536;
	if ((once = fuzz_rewrite((const char *)data + 1, size - 1, &lim)) == NULL)
		return 0;
	if ((twice = fuzz_rewrite(once, strlen(once), &plain)) == NULL || strcmp(once, twice) != 0)
		abort();
	free(once);
	free(twice);
	return 0;
}

#ifdef FUZZ_STANDALONE
#include "fuzz_replay.h"

/* Run each file named on the command line through the target. */
int
main(int argc, char **argv)
{
	return fuzz_replay(argc, argv, 1 << 20);
}
#endif
