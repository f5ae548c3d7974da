/*
 * proxy.h: requests that come through a trusted load balancer. When the
 * connection's peer is one of proxy.trusted, the client is the rightmost
 * address of X-Forwarded-For that is not itself trusted, and the scheme is
 * X-Forwarded-Proto's; from any other peer both headers are ignored.
 */
#ifndef UCGW_PROXY_H
#define UCGW_PROXY_H

#include <stddef.h>

struct conf_strlist;
struct http_req;

struct proxy_net {
	int family; /* 4 or 6 */
	unsigned char addr[16];
	unsigned prefix;
};

/* Parse "ADDRESS" or "ADDRESS/PREFIX"; 1 if valid (out may be NULL). */
int proxy_parse(const char *, struct proxy_net *out);
/* Whether the address text (no port) lies in one of the trusted networks. */
int proxy_trusted(const struct conf_strlist *trusted, const char *addr);
/* Whether the request's peer is trusted (its X-Forwarded-* headers are believed). */
int proxy_from_trusted(const struct conf_strlist *trusted, const struct http_req *);
/* From a trusted peer: record the forwarded client and scheme on the request. */
void proxy_apply(const struct conf_strlist *trusted, struct http_req *);

#endif
