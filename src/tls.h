/*
 * tls.h: OpenSSL contexts. Servers load a certificate chain and key and
 * offer ALPN; clients verify the peer against a CA file (or the system
 * store), check the host name and send SNI. Errors come back as text.
 */
#ifndef UCGW_TLS_H
#define UCGW_TLS_H

#include <openssl/ssl.h>

SSL_CTX *tls_server_ctx(const char *cert_file, const char *key_file, int offer_h2, char **cause);
SSL_CTX *tls_client_ctx(const char *ca_file, int verify, char **cause);
/* A client SSL for host: SNI set and, when the context verifies, the name checked. */
SSL *tls_client_ssl(SSL_CTX *, const char *host, char **cause);
/* Whether ALPN chose h2 on this connection. */
int tls_alpn_is_h2(SSL *);
/* The queued OpenSSL errors as one line (and the queue cleared). */
const char *tls_error_string(void);

#endif
