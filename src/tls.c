/*
 * tls.c: OpenSSL set-up for both sides. Server contexts refuse anything
 * older than TLS 1.2 and pick "h2" or "http/1.1" by ALPN. Client contexts
 * always verify unless told not to, and every client SSL carries SNI and a
 * host-name check, which the nghttp2 examples leave out.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "util.h"

/* The queued OpenSSL errors joined into one line. */
const char *
tls_error_string(void)
{
	static char line[512];
	unsigned long e;
	size_t off = 0;

	line[0] = '\0';
	while ((e = ERR_get_error()) != 0 && off < sizeof line - 1) {
		char one[256];

		ERR_error_string_n(e, one, sizeof one);
		off +=
		    (size_t)snprintf(line + off, sizeof line - off, "%s%s", off ? "; " : "", one);
	}
	return line[0] ? line : "unknown TLS error";
}

/* ALPN: prefer h2 when offered and enabled, else http/1.1. */
static int
tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
    unsigned int inlen, void *arg)
{
	int offer_h2 = arg != NULL;

	for (int pass = offer_h2 ? 0 : 1; pass < 2; pass++) {
		const char *want = pass == 0 ? "h2" : "http/1.1";
		size_t wl = strlen(want);

		for (unsigned i = 0; i < inlen; i += 1u + in[i]) {
			if (in[i] == wl && i + 1 + wl <= inlen &&
			    memcmp(in + i + 1, want, wl) == 0) {
				*out = in + i + 1;
				*outlen = in[i];
				return SSL_TLSEXT_ERR_OK;
			}
		}
	}
	return SSL_TLSEXT_ERR_NOACK;
}

/* A server context with the given certificate chain and key. */
SSL_CTX *
tls_server_ctx(const char *cert_file, const char *key_file, int offer_h2, char **cause)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		xasprintf(cause, "TLS: %s", tls_error_string());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		xasprintf(cause, "TLS certificate %s / key %s: %s", cert_file, key_file,
		    tls_error_string());
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select, offer_h2 ? (void *)1 : NULL);
	return ctx;
}

/* A client context that verifies peers against ca_file (NULL: system store). */
SSL_CTX *
tls_client_ctx(const char *ca_file, int verify, char **cause)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int ok;

	if (ctx == NULL) {
		xasprintf(cause, "TLS: %s", tls_error_string());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
		     : SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		xasprintf(cause, "TLS CA %s: %s", ca_file ? ca_file : "(system store)",
		    tls_error_string());
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	return ctx;
}

/* Whether host is an IP literal (no SNI; checked against IP SANs). */
static int
tls_is_ip(const char *host)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

/* A client SSL for host with SNI and, if verifying, host-name checking. */
SSL *
tls_client_ssl(SSL_CTX *ctx, const char *host, char **cause)
{
	SSL *ssl = SSL_new(ctx);

	if (ssl == NULL) {
		xasprintf(cause, "TLS: %s", tls_error_string());
		return NULL;
	}
	if (!tls_is_ip(host))
		SSL_set_tlsext_host_name(ssl, host);
	if (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER) {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if ((tls_is_ip(host) ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
				     : SSL_set1_host(ssl, host)) != 1) {
			xasprintf(cause, "TLS host name %s: %s", host, tls_error_string());
			SSL_free(ssl);
			return NULL;
		}
	}
	return ssl;
}

/* Whether ALPN settled on h2. */
int
tls_alpn_is_h2(SSL *ssl)
{
	const unsigned char *p;
	unsigned len;

	SSL_get0_alpn_selected(ssl, &p, &len);
	return len == 2 && memcmp(p, "h2", 2) == 0;
}
