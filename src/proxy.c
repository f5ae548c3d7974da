/*
 * proxy.c: X-Forwarded-For and X-Forwarded-Proto, believed only from the
 * configured load balancers (proxy.trusted). Addresses are compared as
 * bytes under a prefix mask; nothing is resolved.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "httpd.h"
#include "proxy.h"
#include "util.h"

/* Parse an address with an optional /PREFIX. */
int
proxy_parse(const char *s, struct proxy_net *out)
{
	struct proxy_net n;
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max;
	char *end;

	if (hl == 0 || hl >= sizeof host)
		return 0;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(&n, 0, sizeof n);
	if (inet_pton(AF_INET, host, n.addr) == 1)
		n.family = 4;
	else if (inet_pton(AF_INET6, host, n.addr) == 1)
		n.family = 6;
	else
		return 0;
	max = n.family == 4 ? 32 : 128;
	n.prefix = max;
	if (slash != NULL) {
		unsigned long p;

		if (slash[1] < '0' || slash[1] > '9')
			return 0;
		p = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || p > max)
			return 0;
		n.prefix = (unsigned)p;
	}
	if (out != NULL)
		*out = n;
	return 1;
}

/* Whether a lies in network n. */
static int
proxy_match(const struct proxy_net *n, const struct proxy_net *a)
{
	unsigned full = n->prefix / 8, rest = n->prefix % 8;

	if (n->family != a->family || memcmp(n->addr, a->addr, full) != 0)
		return 0;
	return rest == 0 ||
	    ((n->addr[full] ^ a->addr[full]) & (unsigned char)(0xff << (8 - rest))) == 0;
}

/* Whether addr is trusted. */
int
proxy_trusted(const struct conf_strlist *trusted, const char *addr)
{
	struct proxy_net a, n;

	if (trusted == NULL || trusted->n == 0 || !proxy_parse(addr, &a) || strchr(addr, '/'))
		return 0;
	for (size_t i = 0; i < trusted->n; i++) {
		if (proxy_parse(trusted->v[i], &n) && proxy_match(&n, &a))
			return 1;
	}
	return 0;
}

/* The peer's address without its port (and without IPv6 brackets). */
static void
proxy_peer_addr(const struct http_req *req, char *out, size_t len)
{
	const char *peer = http_req_peer(req), *colon = strrchr(peer, ':');
	size_t n = colon ? (size_t)(colon - peer) : strlen(peer);

	if (n >= 2 && peer[0] == '[' && peer[n - 1] == ']') {
		peer++;
		n -= 2;
	}
	if (n >= len)
		n = len - 1;
	memcpy(out, peer, n);
	out[n] = '\0';
}

/*
 * The client of a request from a trusted peer (out holds the peer's
 * address): walk X-Forwarded-For from the right past trusted hops.
 */
static void
proxy_client(const struct conf_strlist *trusted, const struct http_req *req, char *out, size_t len)
{
	const char *xff, *end, *start;
	char one[INET6_ADDRSTRLEN + 1];

	if ((xff = http_req_header(req, "X-Forwarded-For")) == NULL)
		return;
	end = xff + strlen(xff);
	for (;;) {
		const char *seg;
		size_t n;

		for (seg = end; seg > xff && seg[-1] != ','; seg--)
			;
		start = seg;
		n = (size_t)(end - start);
		while (n > 0 && (*start == ' ' || *start == '\t')) {
			start++;
			n--;
		}
		while (n > 0 && (start[n - 1] == ' ' || start[n - 1] == '\t'))
			n--;
		if (n == 0 || n >= sizeof one)
			return; /* unusable: keep the last good address */
		memcpy(one, start, n);
		one[n] = '\0';
		if (!proxy_parse(one, NULL) || strchr(one, '/') != NULL)
			return;
		snprintf(out, len, "%s", one);
		if (!proxy_trusted(trusted, one) || seg == xff)
			return;
		end = seg - 1; /* the comma */
	}
}

/* Whether req's peer is a trusted proxy (or another node of the cluster). */
int
proxy_from_trusted(const struct conf_strlist *trusted, const struct http_req *req)
{
	char peer[INET6_ADDRSTRLEN + 1];

	proxy_peer_addr(req, peer, sizeof peer);
	return proxy_trusted(trusted, peer);
}

/* A trusted peer forwarded this request: believe its X-Forwarded-* headers. */
void
proxy_apply(const struct conf_strlist *trusted, struct http_req *req)
{
	char client[INET6_ADDRSTRLEN + 1];
	const char *proto;
	int tls;

	if (trusted == NULL || trusted->n == 0)
		return;
	proxy_peer_addr(req, client, sizeof client);
	if (!proxy_trusted(trusted, client))
		return;
	proxy_client(trusted, req, client, sizeof client); /* the peer checked once */
	proto = http_req_header(req, "X-Forwarded-Proto");
	tls = proto != NULL ? strcasecmp(proto, "https") == 0 : http_req_is_tls(req);
	http_req_set_client(req, client, tls);
}
