/*
 * http_msg.c: what the HTTP/1.1 code (httpd.c) and the HTTP/2 code (h2.c)
 * both need to build and drop a struct http_req, and the status texts both
 * write: a leaf below them, so that httpd.c depends on h2.c and not the
 * reverse. The request's public API is in http_req.c, above both.
 */
#include <stdlib.h>
#include <string.h>

#include "httpd_int.h"

/* The reason phrase for a status code. */
const char *
http_status_text(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 426: return "Upgrade Required";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* Release the request's owned fields. */
void
http_req_free_fields(struct http_req *r)
{
	for (size_t i = 0; i < r->nresp_headers; i++) {
		free(r->resp_headers[i].name);
		free(r->resp_headers[i].value);
	}
	free(r->resp_headers);
	free(r->path);
	free(r->user);
	free(r->client);
}

/* Split the request target into decoded path and raw query. */
int
http_req_split_target(struct http_req *r)
{
	const char *t = r->target, *q;
	long n;

	if (strncmp(t, "http://", 7) == 0 || strncmp(t, "https://", 8) == 0) {
		t = strchr(strstr(t, "//") + 2, '/');
		if (t == NULL)
			t = "/";
	}
	if (*t != '/')
		return -1;
	q = strchr(t, '?');
	r->query = q ? q + 1 : "";
	r->path = xstrndup(t, q ? (size_t)(q - t) : strlen(t));
	n = util_url_decode(r->path, strlen(r->path), 0);
	if (n < 0 || (size_t)n != strlen(r->path))
		return -1;
	return 0;
}
