/*
 * xlate_cli.c: `ucgw xlate`, the operators' dry run. Reads translation
 * rules and one or more inputs (a transcript, a bare GWS request or a bare
 * UCWA event-channel response), prints what the gateway would answer,
 * send upstream and notify, and for a transcript with expectations the
 * differences. Exit 0: all as expected; 1: differences; 2: bad rules or
 * input. Runs no event loop and touches no network.
 */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "xlate.h"
#include "xlate_cli.h"
#include "xlate_proto.h"

#define XLATE_CLI_MAX_INPUT (16u * 1024 * 1024)

/* Print usage. */
static void
xlate_cli_usage(FILE *f)
{
	fprintf(f,
	    "usage: ucgw xlate [-c TRANSLATE_FILE | -C UCGW_CONF] [-q] INPUT...\n"
	    "  INPUT is a transcript (docs/translation.md), a GWS request\n"
	    "  {\"method\",\"path\",\"body\"[,\"session\"]} or a UCWA event-channel response.\n"
	    "  -c FILE  translation rules (default: the transcript's \"rules\", else built-in)\n"
	    "  -C FILE  the rules named by translate.file of this ucgw configuration\n"
	    "  -q       print only differences and problems\n");
}

/* Read a whole file; NULL with a message on stderr. */
static char *
xlate_cli_read(const char *path, size_t *len)
{
	char chunk[8192];
	struct buf b;
	size_t n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return NULL;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= XLATE_CLI_MAX_INPUT)
		buf_add(&b, chunk, n);
	fclose(f);
	buf_addstr(&b, "");
	return buf_detach(&b, len);
}

/* Rules for one input: -c/-C (builtin: -C named none), else its "rules"
 * (relative to its directory), else built-in. */
static struct xlate_rules *
xlate_cli_rules(const char *cfile, int builtin, const char *input, const struct json *t)
{
	const char *rel = json_get_str(t, "rules");
	struct xlate_rules *r;
	char *path = NULL, *dir, *p;

	if (cfile == NULL && !builtin && rel != NULL) {
		dir = xstrdup(input);
		xasprintf(&path, "%s/%s", dirname(dir), rel);
		free(dir);
	}
	r = xlate_load(cfile != NULL ? cfile : path, &p);
	if (r == NULL) {
		fputs(p, stderr);
		free(p);
	}
	free(path);
	return r;
}

/* Wrap a bare input as a transcript (in the same document). */
static struct json *
xlate_cli_wrap(struct json_doc *d, struct json *in)
{
	struct json *t;

	if (json_get(in, "gws") != NULL || json_get(in, "ucwa") != NULL)
		return in;
	t = json_doc_new_node(d, JSON_OBJECT);
	if (json_get(in, "session") != NULL)
		json_obj_set(d, t, "session", json_get(in, "session"));
	json_obj_set(d, t, json_get(in, "method") != NULL ? "gws" : "ucwa", in);
	return t;
}

/* Print the outputs, one part per line. */
static void
xlate_cli_print(const char *out)
{
	static const char *const parts[] = { "response", "upstream", "notifications", "session" };
	struct json_error e;
	struct json_doc *d = json_parse(out, strlen(out), NULL, &e);
	const struct json *root = json_root(d);

	for (size_t i = 0; i < nitems(parts); i++) {
		const struct json *v = json_get(root, parts[i]);
		size_t n = json_is(v, JSON_ARRAY) ? v->u.arr.n : 1;

		for (size_t k = 0; k < n; k++) {
			struct buf b;
			struct jw w;

			buf_init(&b);
			jw_init(&w, &b);
			jw_value(&w, json_is(v, JSON_ARRAY) ? v->u.arr.v[k] : v);
			printf("%-9s %s\n", i == 2 ? "notify" : parts[i], b.data);
			buf_free(&b);
		}
	}
	json_doc_free(d);
}

/* One input: 0 as expected (or no expectations), 1 differences, 2 error. */
static int
xlate_cli_one(const char *cfile, int builtin, const char *input, int quiet)
{
	struct json_limits lim = { .max_bytes = XLATE_CLI_MAX_INPUT, .allow_comments = 1 };
	struct xlate_rules *r = NULL;
	struct json_error e;
	struct json_doc *d;
	struct json *t;
	struct buf out;
	char *text, *err;
	size_t len;
	int rc = 2, n;

	if ((text = xlate_cli_read(input, &len)) == NULL)
		return 2;
	buf_init(&out);
	if ((d = json_parse(text, len, &lim, &e)) == NULL) {
		fprintf(stderr, "%s:%u:%u: %s\n", input, e.line, e.col, e.msg);
		goto done;
	}
	t = xlate_cli_wrap(d, json_root(d));
	if ((r = xlate_cli_rules(cfile, builtin, input, t)) == NULL)
		goto done;
	if (xlate_proto_eval(r, t, &out, &err) != 0) {
		fprintf(stderr, "%s: %s\n", input, err);
		free(err);
		goto done;
	}
	if (!quiet)
		xlate_cli_print(out.data);
	rc = 0;
	if (json_get(t, "expect") != NULL) {
		buf_reset(&out);
		n = xlate_proto_check(r, t, &out);
		rc = n == 0 ? 0 : n > 0 ? 1 : 2;
		if (n != 0)
			printf("%s", out.data);
		printf("%s %s\n", n == 0 ? "PASS" : "FAIL", input);
	}
done:
	xlate_unref(r);
	json_doc_free(d);
	buf_free(&out);
	free(text);
	return rc;
}

/* The translation file a ucgw configuration names; 0, or -1 with problems printed. */
static int
xlate_cli_conf(const char *conf, char **file)
{
	struct config *cfg;
	char *problems;

	if ((cfg = conf_load(&config_schema, conf, NULL, &problems)) == NULL) {
		fputs(problems, stderr);
		free(problems);
		return -1;
	}
	*file = cfg->translate_file != NULL ? xstrdup(cfg->translate_file) : NULL;
	conf_free(&config_schema, cfg);
	return 0;
}

/* `ucgw xlate [-c FILE | -C CONF] [-q] INPUT...`. */
int
xlate_cli_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *cfile = NULL;
	int ch, quiet = 0, worst = 0, rc, builtin = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:C:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			free(cfile);
			cfile = xstrdup(optarg);
			break;
		case 'C':
			free(cfile);
			if (xlate_cli_conf(optarg, &cfile) != 0)
				return 2;
			builtin = cfile == NULL;
			break;
		case 'q': quiet = 1; break;
		case 'h': xlate_cli_usage(stdout); return 0;
		default:
			xlate_cli_usage(stderr);
			free(cfile);
			return 2;
		}
	}
	if (optind == argc) {
		xlate_cli_usage(stderr);
		free(cfile);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		if ((rc = xlate_cli_one(cfile, builtin, argv[i], quiet)) > worst)
			worst = rc;
	}
	free(cfile);
	return worst;
}
