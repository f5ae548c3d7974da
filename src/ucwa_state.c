/*
 * ucwa_state.c: an agent's state machine (enum ucwa_state, see
 * docs/architecture.md). The state changes only in ucwa_state_set, which
 * logs each transition; failing the agent (once, telling the owner) and a
 * sign-in step that could not reach the server (fail before sign-in, retry
 * after) are here as they end or suspend it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "ucwa_int.h"

/* The name of a failure, for logs and the owner. */
const char *
ucwa_failure_name(enum ucwa_failure f)
{
	static const char *const names[] = { "authentication failed", "server unreachable",
		"application refused", "protocol error", "served elsewhere" };

	return (unsigned)f < nitems(names) ? names[f] : "?";
}

/* The one setter of an agent's state: logs the transition. */
void
ucwa_state_set(struct ucwa_agent *a, enum ucwa_state st, const char *why)
{
	static const char *const names[] = { "discover", "challenge", "token", "user",
		"application", "available", "ready", "failed" };

	log_debug("ucwa %s: %s -> %s (%s)", a->user, names[a->state], names[st], why);
	a->state = st;
}

/* The agent fails (f): no timer, no event channel any more. */
static void
ucwa_state_halt(struct ucwa_agent *a, enum ucwa_failure f)
{
	ucwa_state_set(a, UA_FAILED, ucwa_failure_name(f));
	evtimer_del(a->token_timer);
	if (a->activity_timer != NULL)
		evtimer_del(a->activity_timer);
	if (a->retry_timer != NULL)
		evtimer_del(a->retry_timer);
	ucwa_chan_stop(a);
}

/* The agent cannot go on: tell the owner once. */
void
ucwa_state_fail(struct ucwa_agent *a, enum ucwa_failure f, const char *fmt, ...)
{
	static struct log_limit ll; /* outsiders' failed sign-ins end here */
	char why[512];
	va_list ap;

	if (a->state == UA_FAILED || a->dying)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_limited(&ll, LOG_WARN, "ucwa %s: %s: %s", a->user, ucwa_failure_name(f), why);
	ucwa_state_halt(a, f);
	ucwa_conv_leave_mark(a, 1);
	ucwa_conv_end_all(a, why);
	if (!a->dying && a->cbs.failed != NULL)
		a->cbs.failed(f, why, a->arg);
}

/*
 * Cluster mode: the event channel was replaced by another process's P-GET
 * (409 PGetReplaced): the agent was taken over while this node could not
 * see it (cut from Redis). Stop here without ending a conversation or
 * signing out: the application is the new owner's.
 */
void
ucwa_state_replaced(struct ucwa_agent *a)
{
	if (a->state == UA_FAILED || a->dying)
		return;
	log_warn("ucwa %s: event channel replaced by another process (409 PGetReplaced): the "
		 "application is served elsewhere; stopping here",
	    a->user);
	ucwa_state_halt(a, UCWA_FAIL_REPLACED);
	a->keep_app = 1; /* no DELETE when freed */
	if (a->cbs.failed != NULL)
		a->cbs.failed(
		    UCWA_FAIL_REPLACED, "event channel replaced by another process", a->arg);
}

/* A sign-in step could not reach the server: fail before sign-in, retry after. */
void
ucwa_state_unreachable(struct ucwa_agent *a, const char *step, const struct hclient_resp *r)
{
	struct timeval tv;
	unsigned ms;

	if (!a->signed_in_told) {
		if (r->err != HCLIENT_OK)
			ucwa_state_fail(a, UCWA_FAIL_UNREACHABLE, "%s: %s", step, r->errstr);
		else
			ucwa_state_fail(a, UCWA_FAIL_UNREACHABLE, "%s: HTTP %d", step, r->status);
		return;
	}
	ms = ucwa_call_backoff(&a->retry_ms, a->u->conf.backoff_min_ms, a->u->conf.backoff_max_ms);
	log_warn("ucwa %s: %s failed (%s); retrying in %u ms", a->user, step,
	    r->err != HCLIENT_OK ? r->errstr : "HTTP error", ms);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(a->retry_timer, &tv);
}

/* Parse a JSON body; NULL (and the agent failed) if it is not JSON. */
struct json_doc *
ucwa_state_json(struct ucwa_agent *a, const char *step, const struct hclient_resp *r)
{
	struct json_doc *d = json_parse(r->body, r->len, NULL, NULL);

	if (d == NULL || !json_is(json_root(d), JSON_OBJECT)) {
		json_doc_free(d);
		ucwa_state_fail(
		    a, UCWA_FAIL_PROTOCOL, "%s: HTTP %d without a JSON body", step, r->status);
		return NULL;
	}
	return d;
}
