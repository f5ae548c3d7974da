/*
 * ucwa.h: the UCWA 2.0 client, the gateway's upstream half. One
 * struct ucwa_agent is one signed-in user: it discovers the server from the
 * configured root (or applications URL), signs in with the password grant,
 * renews its token, keeps one UCWA application with makeMeAvailable,
 * reportMyActivity and exactly one parked P-GET alive, recreates the
 * application when the server lost it, and runs the IM commands. Every
 * href comes from a link; only the configured root is typed in.
 *
 * Life of an agent:
 *	a = ucwa_agent_new(u, user, password, &cbs, arg);
 *	  -> cbs.signed_in(arg)                 once, when it can message
 *	  -> cbs.failed(reason, why, arg)       instead, or later; the agent is inert
 *	  -> cbs.change(change, arg)            every event change, in order
 *	  -> cbs.ended(conversation, why, arg)  a conversation is over (remote,
 *	                                        application lost, resume, failure)
 *	  -> cbs.ready_again(arg)               usable again after the application
 *	                                        was lost and recreated (may be NULL)
 *	ucwa_send_message(a, conv, text, opid, done, arg) ... -> done(result, arg)
 *	ucwa_agent_free(a)   signs out (DELETE application, in the background);
 *	                     no callback of this agent runs afterwards.
 *
 * Incoming messages reach cbs.change exactly once: UCWA shows the first one
 * twice (as the invitation's preview and as a message event); the message
 * event wins, and the preview is delivered as a message (self == NULL) only
 * if no message event came within preview_wait_ms of the acceptance.
 * Callbacks may free the agent (the free is deferred until they return).
 */
#ifndef UCGW_UCWA_H
#define UCGW_UCWA_H

#include <stdint.h>

#include <event2/event.h>

#include "json.h"
#include "ucwa_event.h"

struct ucwa;
struct ucwa_agent;

struct ucwa_conf {
	const char *discovery_url;    /* autodiscover root, or */
	const char *applications_url; /* the applications resource itself */
	const char *ca_file;	      /* NULL: system store */
	int verify;		      /* verify certificates and names */
	const char *user_agent;	      /* UserAgent of the application and User-Agent */
	const char *culture;
	unsigned connect_timeout_ms;
	unsigned request_timeout_ms;   /* every request but the P-GET */
	unsigned pget_timeout_s;       /* asked of the server (180-1800); 0: its default */
	unsigned pget_read_timeout_ms; /* longer than the P-GET timeout */
	unsigned activity_interval_s;  /* reportMyActivity; < 240 */
	unsigned token_margin_s;       /* renew this long before expires_in runs out */
	unsigned max_outstanding;      /* requests in flight per agent (UCWA: about 100) */
	unsigned max_send_queue;       /* messages queued per conversation */
	unsigned max_idle_connections; /* idle keep-alive command connections kept */
	unsigned backoff_min_ms, backoff_max_ms; /* retries of the P-GET and of sign-in steps */
	unsigned preview_wait_ms;		 /* see the top comment */
	const void
	    *endpoint_key; /* keys every EndpointId (ucwa_endpoint_id); NULL: the URL above */
	size_t endpoint_key_len;
};

enum ucwa_failure {
	UCWA_FAIL_AUTH,	       /* credentials refused (invalid_grant) */
	UCWA_FAIL_UNREACHABLE, /* no connection, TLS rejected, timeouts */
	UCWA_FAIL_REJECTED,    /* 410 TooManyApplications / UserAgentNotAllowed */
	UCWA_FAIL_PROTOCOL,    /* the server answered something unusable */
	UCWA_FAIL_REPLACED,    /* cluster mode: another process polls the application
				  (409 PGetReplaced); nothing was ended or signed out */
};

/* Any callback may be NULL. Callers that set the struct positionally get NULL for new members. */
struct ucwa_cbs {
	void (*signed_in)(void *arg);
	void (*failed)(enum ucwa_failure, const char *why, void *arg);
	void (*change)(const struct ucwa_change *, void *arg);
	void (*ended)(const char *conversation, const char *why, void *arg);
	/*
	 * After signed_in, the agent was not ready for a while and is again:
	 * its application was recreated (404 ApplicationNotFound, 410
	 * InactiveApplicationExpired, rediscovery after a persistent 403) or
	 * made available again (409 MakeMeAvailableRequired). Commands refused
	 * meanwhile ("not signed in") can be issued again. Once per recovery.
	 */
	void (*ready_again)(void *arg);
	/*
	 * Optional: each event-channel response, as received (JSON text, len
	 * bytes), before its changes are delivered (begin 1) and after (begin
	 * 0, body NULL). For recording traffic; body is valid during the call
	 * only.
	 */
	void (*events)(const char *body, size_t len, int begin, void *arg);
};

/* How a command ended: ok, or the upstream status and error (or a transport error). */
struct ucwa_result {
	int ok;
	int status;	  /* HTTP status; 0 when none arrived */
	const char *code; /* UCWA error code/subcode/message when the body had them */
	const char *subcode;
	const char *message;  /* else a description (transport error, HTML body) */
	const char *location; /* 201 Location, resolved (sendMessage, startMessaging) */
};

typedef void (*ucwa_done)(const struct ucwa_result *, void *arg);

struct ucwa *ucwa_new(struct event_base *, const struct ucwa_conf *, char **cause);

#define UCWA_ENDPOINT_ID_LEN 36
/*
 * The EndpointId of user's application: the same for the same key and
 * user (user names compared without ASCII case) on every run and every
 * node, different for another key or user; a UUID (version 8, RFC 9562)
 * made of HMAC-SHA-256 under a key derived from key. So a restarted
 * gateway finds the application it left behind (UCWA answers 200).
 */
void ucwa_endpoint_id(
    const void *key, size_t keylen, const char *user, char out[UCWA_ENDPOINT_ID_LEN + 1]);
/* Sign every live agent's application out; done runs when all DELETEs ended or after ms. */
void ucwa_shutdown(struct ucwa *, unsigned ms, void (*done)(void *), void *arg);
/* Every agent must be freed first. */
void ucwa_free(struct ucwa *);
struct store;
/* Cluster mode: write each agent's application, token, credentials and cursor to st. */
void ucwa_set_store(struct ucwa *, struct store *st);
/*
 * Cluster mode: hold(arg) is asked when the cursor of a set the event
 * channel read could not be stored (Redis unavailable, or the write
 * failed): 1 holds the next P-GET, so that UCWA keeps the set
 * unacknowledged for whichever node carries the agent on (this node is
 * cut from Redis, or finding out: split.h); 0 goes on from memory (Redis
 * is down for every node). A held channel goes on at
 * ucwa_agent_hold_changed: once its cursor is stored, or when hold answers 0.
 */
void ucwa_set_hold(struct ucwa *, int (*hold)(void *), void *arg);
struct ucwa_agent;
void ucwa_agent_hold_changed(struct ucwa_agent *);
/* Remember each delivered change's identity for snapshots (off by default: no cost). */
void ucwa_keep_marks(struct ucwa *, int on);
/* Unusable event-channel events skipped so far (all agents). */
unsigned long long ucwa_bad_events(const struct ucwa *);

struct ucwa_agent *ucwa_agent_new(
    struct ucwa *, const char *user, const char *password, const struct ucwa_cbs *, void *arg);
void ucwa_agent_free(struct ucwa_agent *);
int ucwa_agent_ready(const struct ucwa_agent *);
/* Who the user is upstream ("me": SIP URI and display name), NULL until known. */
const char *ucwa_agent_uri(const struct ucwa_agent *);
const char *ucwa_agent_name(const struct ucwa_agent *);
const char *ucwa_failure_name(enum ucwa_failure);
/*
 * Every href this client hands out (a change's href, self and
 * conversation, a result's location) is in one normal form: absolute,
 * scheme and host in lower case, no default port, no fragment, whether the
 * server wrote it host-relative or absolute. Compare them with this, and
 * only with this.
 */
int ucwa_href_eq(const char *, const char *);

/*
 * Commands. Each returns NULL when started (done runs exactly once later,
 * unless the agent is freed first), or a reason why it cannot start now
 * (no callback then). conv is a conversation href as the changes give it.
 */
const char *ucwa_start_messaging(struct ucwa_agent *, const char *to, const char *operation_id,
    const char *subject, const char *importance, ucwa_done, void *arg);
/* Queued per conversation, sent one at a time in order once messaging is Connected. */
const char *ucwa_send_message(struct ucwa_agent *, const char *conv, const char *text,
    const char *operation_id, ucwa_done, void *arg);
const char *ucwa_accept(struct ucwa_agent *, const char *conv, ucwa_done, void *arg);
const char *ucwa_decline(struct ucwa_agent *, const char *conv, ucwa_done, void *arg);
const char *ucwa_cancel(struct ucwa_agent *, const char *conv, ucwa_done, void *arg);
const char *ucwa_stop_messaging(struct ucwa_agent *, const char *conv, ucwa_done, void *arg);
/* DELETE the conversation. */
const char *ucwa_leave(struct ucwa_agent *, const char *conv, ucwa_done, void *arg);

/*
 * Snapshot and resume (cluster take-over; docs/ucwa-client.md "Snapshot
 * and resume"). A snapshot is everything a new process needs to carry an
 * agent on without signing in again: credentials (to renew the token),
 * the discovered URLs, the application, its token, the event channel's
 * cursor, the conversations with what the client keeps about each, and
 * the identities that let a replay's duplicates be dropped. Plain data,
 * owned by the struct (ucwa_saved_free). password and token are secret:
 * ucwa_saved_write leaves them out unless asked, for the caller to seal.
 */
#define UCWA_SAVED_MARKS 64 /* fingerprints of the last changes delivered */
/*
 * The snapshot version written (4: links under their parent as "^"); a
 * writer may ask for 3, what nodes of the previous release read (stop 24:
 * versions 1 to 3), during a rolling upgrade (cluster.write_version).
 */
#define UCWA_SAVED_VERSION 4

struct ucwa_saved_conv {
	char *href;				      /* absolute, normal form */
	int state;				      /* 0 new, 1 connected, 2 ended */
	int incoming;				      /* the remote invited us */
	char *invitation, *accept, *decline, *cancel; /* NULL: not possible */
	char *send_message, *stop_messaging;
	char *preview;	    /* first-message preview not yet delivered */
	int preview_html;   /* it is text/html */
	char *preview_from; /* its sender's URI */
	char *preview_sent; /* a preview delivered without its own event */
	unsigned preview_span;
	char **seen; /* incoming message hrefs delivered, oldest first (<= 32) */
	size_t nseen;
	char **sent_href, **sent_opid; /* sent messages: Location and operationId (<= 16) */
	size_t nsent;
	char *inflight_opid; /* operationId of a message whose 201 never came */
};

struct ucwa_saved_start {
	char *opid;	  /* a startMessaging of ours awaiting its invitation's end */
	char *invitation; /* NULL until known */
};

struct ucwa_saved {
	char *user;
	char *password;		 /* secret */
	char *token;		 /* secret: the Authorization value, "Bearer cwt=..." */
	long long token_expires; /* Unix seconds; 0: unknown */
	char *endpoint_id;
	char *user_url, *token_url, *apps_url; /* as discovered */
	char *app;			       /* application self; NULL: none (resume signs in) */
	char *events;			       /* cursor: the event-channel URL to GET on resume */
	int events_params;		       /* send the P-GET's query parameters with it */
	char *mma_url, *activity_url, *start_url;
	char *me_uri, *me_name;
	uint32_t marks[UCWA_SAVED_MARKS]; /* oldest first */
	size_t nmarks;
	struct ucwa_saved_start *starts; /* <= 16 */
	size_t nstarts;
	struct ucwa_saved_conv *convs; /* live ones, and the last 8 ended */
	size_t nconvs;
};

/* What a resumed agent did with the stored application. */
enum ucwa_resumed {
	UCWA_RESUME_NONE,     /* not resumed (ucwa_agent_new), or not settled yet */
	UCWA_RESUME_ATTACHED, /* the same application: its conversations go on */
	UCWA_RESUME_RECREATED /* it was gone: a new one; the stored conversations ended */
};

/*
 * Fill s (zeroed first; free with ucwa_saved_free) with the agent's
 * state now. Safe from any callback: inside a change or ended callback the
 * cursor is the event-channel set being applied (a resume fetches it
 * again; what was already delivered of it is dropped), elsewhere the URL
 * in flight. 0, or -1 when the agent has nothing to resume (failed, or
 * no application yet): s then holds what is known.
 */
int ucwa_agent_snapshot(const struct ucwa_agent *, struct ucwa_saved *s);
/*
 * A new agent that carries on from s instead of signing in: GET the
 * stored application with the stored token (401: renewed with the stored
 * credentials, then again); 200: attached, the event channel resumes at
 * the stored cursor (the server replays what was not acknowledged; changes
 * already delivered are dropped by identity); 404/410: a new application
 * is created and every stored conversation reported ended. Then
 * cbs.signed_in (or cbs.failed) as after ucwa_agent_new; changes of the
 * replay may come before signed_in. s is copied; the caller keeps it.
 */
struct ucwa_agent *ucwa_agent_resume(
    struct ucwa *, const struct ucwa_saved *s, const struct ucwa_cbs *, void *arg);
enum ucwa_resumed ucwa_agent_resumed(const struct ucwa_agent *);
/*
 * Free the agent for a hand-over: as ucwa_agent_free (no callback any
 * more, requests cancelled) but the application is not signed out, so
 * that another process resumes it from a snapshot taken just before.
 */
void ucwa_agent_handover(struct ucwa_agent *);
/* Write s as one JSON object (version 4); secrets 0 leaves password and token out. */
void ucwa_saved_write(struct jw *, const struct ucwa_saved *s, int secrets);
/*
 * The same in two parts: the head (what changes seldom: URLs, links,
 * states; the object left open), then the tail (the marks and each
 * conversation's messages, which change with each message), so that a
 * writer may keep the head's bytes while ucwa_saved_head_hash (a hash of
 * this process) stays the same; version is the one written (3 or 4, see
 * UCWA_SAVED_VERSION, or 5: version 4 marked as stored in two parts, the
 * head and the tail, by the cluster store; the tail is the same in all).
 */
void ucwa_saved_write_head(struct jw *, const struct ucwa_saved *s, int secrets, int version);
void ucwa_saved_write_tail(struct jw *, const struct ucwa_saved *s);
uint64_t ucwa_saved_head_hash(const struct ucwa_saved *s, int secrets, int version);
/* Read s from a JSON object written by ucwa_saved_write; 0, or -1 with *cause set (free it). */
int ucwa_saved_parse(const struct json *, struct ucwa_saved *s, char **cause);
void ucwa_saved_free(struct ucwa_saved *s);
/* Free a view whose strings belong to someone else (its arrays only). */
void ucwa_saved_free_view(struct ucwa_saved *s);

#endif
