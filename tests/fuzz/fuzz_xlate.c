/*
 * fuzz_xlate.c: libFuzzer target for the translation rules and the
 * transcript player. An input starting with '{' or '/' is a translation
 * file: it must either load (and then every pure function is exercised
 * with it on fixed inputs) or yield problems, never both. Any other first
 * byte is dropped and the rest is played as a transcript through the
 * built-in rules (and the whole input is read as an HTML message). The
 * sanitizers watch memory.
 *
 *	clang -g -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -I src \
 *	    src/xlate.c src/xlate_load.c src/xlate_tmpl.c src/xlate_dir.c \
 *	    src/xlate_text.c src/xlate_default.c src/xlate_proto.c src/xlate_rec.c \
 *	    src/datauri.c src/json.c src/jw.c src/util.c src/buf.c src/xmalloc.c \
 *	    src/log.c tests/fuzz/fuzz_xlate.c \
 *	    -lyajl -lcrypto -o fuzz_xlate
 *	./fuzz_xlate conf/ proto/
 *
 * With -DFUZZ_STANDALONE it is a plain program that runs the files named
 * on its command line through the same function.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlate.h"
#include "xlate_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Use every pure function once with rules r. */
static void
fuzz_exercise(struct xlate_rules *r)
{
	static const char *const remote[] = { "sip:agent3002@example.com" };
	struct xlate_session s = {
		.id = "X", .uri_base = "http://h/api/v2", .remote = remote, .nremote = 1
	};
	struct xlate_parts parts;
	struct xlate_party p;
	const char *cause;
	struct buf b;
	char *sip, *t;

	if (xlate_phone_to_sip(r, "3002", &sip, &cause) == 0)
		free(sip);
	xlate_sip_to_party(r, "sip:+15551234567@example.com;user=phone", &p);
	xlate_party_free(&p);
	if (xlate_text_out(r, "hello, world\r\n", &parts, &cause) == XLATE_TEXT_OK)
		xlate_text_parts_free(&parts);
	free(xlate_text_in(r, "<b>a&amp;b</b>", 14, 1, NULL));
	(void)xlate_incoming(r, "sip:a@b", 0);
	buf_init(&b);
	for (s.state = SESSION_NONE; s.state < SESSION_NSTATES; s.state++) {
		s.var[XV_REASON] = s.state == SESSION_COMPLETED ? "gone" : NULL;
		xlate_notify_state(r, &s, "StatusChange", &b);
		xlate_notify_message(r, &s, "x", &b);
	}
	buf_free(&b);
	if ((t = xlate_subject(r, NULL)) != NULL)
		free(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct xlate_rules *builtin;
	struct json_limits lim = { .max_bytes = 1 << 20, .allow_comments = 1 };
	struct xlate_rules *r;
	struct json_error e;
	struct json_doc *d;
	struct buf out;
	char *problems, *err;

	if (size > 0 && (data[0] == '{' || data[0] == '/')) {
		r = xlate_load_text("fuzz", (const char *)data, size, &problems);
		if ((r == NULL) == (problems == NULL))
			abort();
		if (r != NULL)
			fuzz_exercise(r);
		xlate_unref(r);
		free(problems);
		return 0;
	}
	if (builtin == NULL && (builtin = xlate_load(NULL, &problems)) == NULL)
		abort();
	free(xlate_text_in(builtin, (const char *)data, size, 1, NULL)); /* not NUL-terminated */
	if (size == 0 || (d = json_parse((const char *)data + 1, size - 1, &lim, &e)) == NULL)
		return 0;
	buf_init(&out);
	if (xlate_proto_eval(builtin, json_root(d), &out, &err) != 0)
		free(err);
	buf_reset(&out);
	(void)xlate_proto_check(builtin, json_root(d), &out);
	buf_free(&out);
	json_doc_free(d);
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
