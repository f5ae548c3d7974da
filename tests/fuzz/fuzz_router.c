/*
 * fuzz_router.c: libFuzzer target that drives whole requests through the
 * gateway's desktop side: the input is written as-is on one loopback TCP
 * connection to a real httpd whose handler is the GWS router (gws_handle),
 * with authentication (static verifier, one known user), CometD, the agents
 * and the IM Session API behind it, as ucgw builds them (no upstream). The
 * loop runs until the gateway closes the connection or goes quiet; the
 * client then closes, so parked requests are aborted too. The sanitizers
 * watch memory; a request that leaves the process stuck fails by timeout.
 * Inputs may hold pipelined HTTP/1.1 requests or an HTTP/2 preface and
 * frames; "agent1:pw" (Basic YWdlbnQxOnB3) authenticates. FUZZ_ROUTER_SHOW=1
 * in the environment prints the gateway's answers.
 *
 *	clang -g -fsanitize=fuzzer,address,undefined -DFUZZ_ROUTER_LIBFUZZER ...
 *	(link every object of libucgw.a but main.o, with libevent, OpenSSL,
 *	nghttp2 and yajl; see docs/testing.md)
 *
 * With -DFUZZ_STANDALONE it is a plain program that runs the files named
 * on its command line through the same function.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent.h"
#include "auth.h"
#include "cometd.h"
#include "config.h"
#include "gws.h"
#include "gws_im.h"
#include "httpd.h"
#include "log.h"
#include "xlate.h"

#define FUZZ_MAX_TURNS 400 /* loop turns per input before the client gives up */

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct {
	struct event_base *base;
	struct config *cfg;
	struct httpd *httpd;
	struct gws *gws;
	struct auth *auth;
	struct cometd *cometd;
	struct agents *agents;
	struct gws_im *im;
	int port;
} fz;

/* Build the desktop side once, as main_start (main.c) does (without UCWA). */
static void
fuzz_router_init(void)
{
	struct conf_overrides o = { 0 };
	struct httpd_limits lim;
	char hash[65], *arg, *cause = NULL, *problems = NULL, bound[64];
	struct buf vp;

	log_set_level(LOG_ERROR);
	fz.base = event_base_new();
	auth_hash_password("salt", "pw", hash);
	xasprintf(&arg,
	    "auth.users=[{\"user\":\"agent1\",\"salt\":\"salt\",\"password_sha256\":\"%s\"}]",
	    hash);
	if (conf_override_add(&o, "auth.verifier=static", &cause) != 0 ||
	    conf_override_add(&o, arg, &cause) != 0 ||
	    conf_override_add(&o, "debug.publish_endpoint=true", &cause) != 0 ||
	    conf_override_add(&o, "cometd.timeout_ms=50", &cause) != 0 ||
	    (fz.cfg = conf_load(&config_schema, NULL, &o, &problems)) == NULL) {
		fprintf(stderr, "fuzz_router: %s\n", cause ? cause : problems);
		abort();
	}
	free(arg);
	conf_overrides_free(&o);
	buf_init(&vp);
	config_validate(fz.cfg, "fuzz", &vp);
	if (vp.len > 0) {
		fprintf(stderr, "fuzz_router: %s\n", vp.data);
		abort();
	}
	buf_free(&vp);
	xlate_set_current(fz.cfg->translate_rules);
	fz.gws = gws_create(fz.base, fz.cfg);
	fz.auth = auth_create(fz.base, fz.cfg);
	fz.cometd = cometd_create(fz.base, fz.cfg, fz.auth);
	gws_set_desktop(fz.gws, fz.auth, fz.cometd);
	fz.agents = agents_create(fz.base, (unsigned)fz.cfg->agent_idle_ms);
	fz.im = gws_im_create(fz.base, fz.agents, fz.cometd);
	gws_set_im(fz.gws, fz.agents, fz.im);
	config_httpd_limits(fz.cfg, &lim);
	lim.header_timeout_ms = lim.idle_timeout_ms = lim.write_timeout_ms = 200;
	fz.httpd = httpd_create(fz.base, &lim, gws_handle, fz.gws);
	httpd_set_error_format(fz.httpd, gws_error_format);
	if (httpd_listen(fz.httpd, "http://127.0.0.1:0", NULL, bound, sizeof bound, &cause) != 0) {
		fprintf(stderr, "fuzz_router: %s\n", cause);
		abort();
	}
	fz.port = atoi(strrchr(bound, ':') + 1);
}

/* A non-blocking client connection to the gateway, or -1. */
static int
fuzz_router_connect(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)fz.port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* Write the input, run the loop until the gateway closes or goes quiet, then close. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char sink[65536];
	size_t off = 0;
	int fd, eof = 0, quiet = 0;
	ssize_t n;

	if (fz.base == NULL)
		fuzz_router_init();
	if ((fd = fuzz_router_connect()) < 0)
		return 0;
	for (int turn = 0; turn < FUZZ_MAX_TURNS && !eof && quiet < 50; turn++) {
		if (off < size && (n = write(fd, data + off, size - off)) > 0)
			off += (size_t)n;
		else if (off == size)
			shutdown(fd, SHUT_WR), off = size + 1;
		event_base_loop(fz.base, EVLOOP_NONBLOCK);
		n = read(fd, sink, sizeof sink);
		if (n > 0 && getenv("FUZZ_ROUTER_SHOW") != NULL)
			fwrite(sink, 1, (size_t)n, stdout);
		if (n == 0)
			eof = 1;
		quiet = n > 0 ? 0 : quiet + 1;
		if (n < 0 && errno == EAGAIN)
			usleep(200);
	}
	close(fd);
	for (int turn = 0; turn < 20; turn++)
		event_base_loop(fz.base, EVLOOP_NONBLOCK);
	return 0;
}

#ifdef FUZZ_STANDALONE
#include "fuzz_replay.h"

/* Run each file named on the command line through the target; then free everything. */
int
main(int argc, char **argv)
{
	if (fuzz_replay(argc, argv, 1 << 20) != 0)
		return 1;
	if (fz.base != NULL) {
		struct agent **v;
		size_t na;

		httpd_free(fz.httpd);
		na = agents_list(fz.agents, &v);
		for (size_t i = 0; i < na; i++)
			agents_remove(fz.agents, v[i], "shutdown");
		free(v);
		agents_free(fz.agents);
		gws_im_free(fz.im);
		cometd_free(fz.cometd);
		auth_free(fz.auth);
		gws_free(fz.gws);
		xlate_set_current(NULL);
		config_release(fz.cfg);
		conf_free(&config_schema, fz.cfg);
		event_base_free(fz.base);
	}
	printf("fuzz_router: %d input(s) through the router\n", argc - 1);
	return 0;
}
#endif
