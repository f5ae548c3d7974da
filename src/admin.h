/*
 * admin.h: the operators' endpoints on the listeners of admin.listen:
 * GET /metrics (Prometheus text format), /healthz (liveness) and /readyz
 * (200 only when the gateway listens, is not draining and its UCWA server
 * answered the last readiness check; else 503 with the reason). Nothing
 * of the GWS API is served there.
 */
#ifndef UCGW_ADMIN_H
#define UCGW_ADMIN_H

#include <event2/event.h>
#include <openssl/ssl.h>

struct admin;
struct config;

/* Called before each /metrics answer to refresh the gauges. */
typedef void (*admin_collect_cb)(void *arg);

struct admin *admin_create(struct event_base *, const struct config *, admin_collect_cb, void *);
/* Open the admin listeners (announced like the others); -1 with *cause. */
int admin_listen(struct admin *, SSL_CTX *tls, char **cause);
void admin_set_config(struct admin *, const struct config *);
/* SIGHUP rotated the certificate: new https admin connections use tls. */
void admin_set_tls(struct admin *, SSL_CTX *tls);
/* The gateway's own listeners are up (1) or not. */
void admin_set_listening(struct admin *, int);
/* SIGTERM: /readyz answers 503 from now on; the admin listeners close. */
void admin_drain(struct admin *);
/* Whether /readyz would answer 200; *why gets the reason when not. */
int admin_ready(const struct admin *, const char **why);
void admin_free(struct admin *);

#endif
