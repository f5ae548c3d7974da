/*
 * sim.h: what the parts of ucwa-sim share. The simulator keeps users (from
 * the configuration), their tokens and UCWA applications, each application's
 * event channel and conversations, and scriptable remote parties. All of it
 * lives on the one libevent loop; every list has a bound from the config.
 */
#ifndef UCGW_SIM_H
#define UCGW_SIM_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "conf.h"
#include "httpd.h"
#include "json.h"
#include "util.h"

#define SIM_PREFIX     "/ucwa/oauth/v1/applications"
#define SIM_DISCOVERY  "/Autodiscover/AutodiscoverService.svc/root"
#define SIM_TOKEN_PATH "/WebTicket/oauthtoken"
#define SIM_CTL	       "/_sim/"

struct sim_config {
	struct conf_strlist listen;
	char *tls_cert_file;
	char *tls_key_file;
	int log_level;
	long long drain_ms;
	struct json_doc *users;
	struct json_doc *remotes;
	long long load_users;
	long long token_lifetime_s;
	long long token_length;
	int challenge_unquoted;
	int discovery_redirect;
	long long pget_timeout_s;
	long long pget_test_timeout_ms;
	long long app_idle_expiry_ms;
	long long resume_after_ms;
	long long invitation_timeout_ms;
	long long message_fetch_timeout_ms;
	long long typing_timeout_ms;
	long long first_message_id;
	long long max_apps_per_user;
	long long max_outstanding;
	long long max_queue_events;
	long long max_log_entries;
	long long max_conversations;
	struct json_doc *profile;
};

/*
 * A server profile (sim_profile.c): how this server differs from the
 * published samples in ways the sources allow. Global (configuration key
 * "profile", control API) or per user (a user's "profile", control API);
 * a user without one follows the global profile. All zero: as published.
 */
enum sim_hrefs { SIM_HREFS_RELATIVE, SIM_HREFS_ABSOLUTE, SIM_HREFS_MIXED };
enum sim_first { SIM_FIRST_NORMAL, SIM_FIRST_LATE, SIM_FIRST_NEVER };
enum sim_leave { SIM_LEAVE_BOTH, SIM_LEAVE_CONVERSATION, SIM_LEAVE_PARTICIPANT };
struct sim_profile {
	int no_echo_opid;	      /* operationId not echoed in resources */
	long long early_201_ms;	      /* the 201s of startMessaging, sendMessage: this late */
	int no_message_started;	      /* only "completed" message events */
	enum sim_hrefs hrefs;	      /* host-relative, absolute, or mixed */
	enum sim_first first;	      /* the first incoming message's own event */
	long long first_delay_ms;     /* ... this late */
	int junk;		      /* unknown and malformed events amid each set */
	long long empty_release_ms;   /* a parked P-GET is released empty this often */
	long long token_lifetime_s;   /* 0: auth.token_lifetime_s */
	long long token_expire_every; /* every n-th command meets an expired token */
	enum sim_leave leave;	      /* how a remote leaving shows */
};

/*
 * A grave: objects are never freed inside their own callback. An object
 * that ends is unlinked (and its timers stopped) at once, then buried; the
 * reaper, activated with event_active, releases its memory on the next loop
 * turn. Each object is buried at most once, so the list is bounded by the
 * live objects.
 */
struct sim_grave {
	TAILQ_ENTRY(sim_grave) entry;
	void (*release)(void *);
	void *obj;
};

struct sim_user;
struct sim_app;
struct sim_conv;
struct sim_remote;

/* One queued event, rendered once; grouped by sender when delivered. */
struct sim_event {
	TAILQ_ENTRY(sim_event) entry;
	const char *sender_rel; /* static */
	char *sender_href;
	char *json; /* the event object */
	size_t len;
	/* incoming messages only: dropped (and the remote told) when not fetched in time */
	uint64_t expire_ms;
	struct sim_remote *remote;
	char *text;
	size_t textlen;
};
TAILQ_HEAD(sim_event_list, sim_event);

#define SIM_TOKENS 8 /* live tokens per user; the oldest is dropped */

struct sim_user {
	TAILQ_ENTRY(sim_user) entry;
	struct sim_token *tok[SIM_TOKENS]; /* sim_auth.c */
	unsigned tok_next;
	char *uri;  /* sip:user@domain */
	char *addr; /* user@domain */
	char *username;
	char *password;
	char *name;
	char *phone;
	TAILQ_HEAD(, sim_app) apps;
	unsigned napps;
	unsigned outstanding;	    /* deferred replies and parked P-GETs */
	struct sim_fault *faults;   /* sim_fault.c */
	struct sim_profile profile; /* sim_profile.c, when own_profile */
	int own_profile;
	unsigned long long commands; /* authenticated commands, for token_expire_every */
};

struct sim_app {
	TAILQ_ENTRY(sim_app) entry; /* in user->apps */
	struct sim_user *user;
	char id[16];
	char base[64]; /* /ucwa/oauth/v1/applications/<id> */
	char *endpoint_id;
	char *user_agent;
	char *culture;
	char *instance_id;
	char guard[40]; /* the "please pass this in a PUT request" key */
	int available;	/* makeMeAvailable done */
	int html;	/* Html negotiated */
	int killed;	/* answers 404 until removed */
	/* event channel (sim_events.c) */
	struct sim_event_list queue;
	unsigned nqueue;
	uint64_t dropped; /* events dropped since the queue filled up */
	long long acked;  /* highest acknowledged set (0 = none) */
	char *unacked;	  /* body of set acked+1, delivered, not yet acknowledged */
	struct http_req *pget;
	long long pget_ack;
	long long pget_priority;
	long long timeout_s; /* remembered "timeout" parameter, 0 = none */
	struct event *pget_timer;
	struct event *flush;
	struct event *expiry;	/* unfetched incoming messages */
	struct event *idle;	/* idle expiry */
	uint64_t released_ms;	/* when the last P-GET was released */
	struct sim_grave grave; /* once destroyed */
	int want_resume;
	/* conversations (sim_conv.c) */
	TAILQ_HEAD(, sim_conv) convs;
	unsigned nconvs;
};

/* sim_map.c: string keys to pointers, for tokens and application ids. */
struct sim_map;
struct sim_map *sim_map_new(void);
void sim_map_free(struct sim_map *);
void *sim_map_get(const struct sim_map *, const char *key, size_t len);
void sim_map_put(struct sim_map *, const char *key, void *val); /* key is copied */
void sim_map_del(struct sim_map *, const char *key);

/* Globals shared by the parts. */
struct sim_state {
	const struct sim_config *cfg;
	struct event_base *base;
	TAILQ_HEAD(, sim_user) users;
	uint64_t ops;			/* counter for unique ids */
	TAILQ_HEAD(, sim_grave) graves; /* buried, released on the next turn */
	unsigned ngraves;
	uint64_t released; /* objects released by the reaper so far */
	struct event *reaper;
	struct sim_profile profile; /* the global profile */
};
extern struct sim_state simg;

/* sim_main.c: replies. */
void sim_reply_error(
    struct http_req *, int status, const char *code, const char *subcode, const char *message);
void sim_reply_json(struct http_req *, int status, struct buf *);
/* Reply after the user's fault delay, or now (counts as outstanding while deferred). */
void sim_reply(struct sim_user *, struct http_req *, int status, const char *ctype, struct buf *);
void sim_reply_later(
    struct sim_user *, struct http_req *, int status, const char *ctype, struct buf *, unsigned ms);
/* Release obj with release(obj) on the next loop turn (see struct sim_grave). */
void sim_bury(struct sim_grave *, void (*release)(void *), void *obj);
void sim_graves_init(void);
/* Release every buried object now and free the reaper (shutdown). */
void sim_graves_free(void);
/* "\/Date(ms)\/" is written by jw as "/Date(ms)/"; this writes the escaped form. */
void sim_jw_date(struct jw *, const char *key, uint64_t ms);
void sim_jw_link(struct jw *, const char *rel, const char *href, const char *title);
void sim_guid(char out[37]);
/* A data URI as UCWA writes it: text/plain percent form ('+' for space, lowercase %xx). */
void sim_data_uri(struct buf *, const char *ctype, const char *text, size_t len);

/* sim_auth.c */
int sim_auth_route(struct http_req *);
/* "http(s)://host" of a request. */
void sim_auth_origin(struct http_req *, struct buf *);
/* The user of a request's Bearer token; replies 401/403 itself and returns NULL. */
struct sim_user *sim_auth_check(struct http_req *);
void sim_auth_expire_user(struct sim_user *);
void sim_auth_init(void);
void sim_auth_free(void);

/* sim_app.c */
void sim_app_init(void);
void sim_app_free(void);
struct sim_user *sim_user_find(const char *uri_or_addr);
void sim_app_route(struct sim_user *, struct http_req *, const char *rest);
void sim_app_destroy(struct sim_app *);
void sim_app_kill(struct sim_app *);
void sim_app_write(struct jw *, struct sim_app *);
void sim_app_touch(struct sim_app *);
void sim_app_write_state(struct jw *);
/* Members matched case-insensitively, as UCWA does for input. */
const struct json *sim_json_iget(const struct json *, const char *key);
const char *sim_json_istr(const struct json *, const char *key);
/* The request body as a JSON object; replies 400 and returns NULL if it is not. */
struct json_doc *sim_parse_body(struct http_req *);

/* sim_events.c */
void sim_events_push(
    struct sim_app *, const char *sender_rel, const char *sender_href, struct buf *event);
/* Queue an incoming message event; it expires unless fetched in time. */
void sim_events_push_message(struct sim_app *, const char *sender_href, struct buf *event,
    struct sim_remote *, const char *text, size_t len);
void sim_events_get(struct sim_app *, struct http_req *);
void sim_events_clear(struct sim_app *);
void sim_events_write_state(struct jw *, struct sim_app *);
/* Answer a parked P-GET with an empty set now (drain). */
void sim_events_release_empty(struct sim_app *);
/* Answer the parked P-GET with resume now (control API). */
void sim_events_kick_resume(struct sim_app *);
/* Event object helpers: begin {"link":{...}, [in], then caller adds, then end with type. */
void sim_ev_begin(struct jw *, struct buf *, const char *rel, const char *href, const char *title);
void sim_ev_in(struct jw *, const char *rel, const char *href, const char *title);
void sim_ev_end(struct jw *, const char *type);

/* sim_conv.c */
void sim_conv_route(struct sim_app *, struct http_req *, const char *rest);
void sim_conv_drop_all(struct sim_app *, int events);
void sim_conv_write_state(struct jw *, struct sim_app *);
/* Remote-side actions (from sim_remote.c); return NULL or an error message. */
const char *sim_conv_remote_invite(
    struct sim_remote *, struct sim_user *, const char *text, const char *subject, int html);
/* With html, plain (or NULL) is sent beside it as the server's plainMessage rendition. */
const char *sim_conv_remote_message(
    struct sim_remote *, struct sim_user *, const char *text, int html, const char *plain);
const char *sim_conv_remote_typing(struct sim_remote *, struct sim_user *);
const char *sim_conv_remote_leave(struct sim_remote *, struct sim_user *);
/* Settle u's pending invitations with r now: outgoing ones with "Success" (accept) or a
 * failure subcode, incoming ones (on the next turn) with a failure subcode; NULL leaves
 * that kind alone. Returns how many it settled. */
int sim_conv_remote_settle(
    struct sim_remote *, struct sim_user *, const char *outgoing, const char *incoming);
/* The subject (and whether the first message is HTML) of u's pending invitation to r. */
const char *sim_conv_remote_subject(struct sim_remote *, struct sim_user *, int *html);

/* sim_remote.c */
enum sim_answer { SIM_ACCEPT, SIM_DECLINE, SIM_SILENT };
struct sim_remote {
	TAILQ_ENTRY(sim_remote) entry;
	char *uri;
	char *addr;
	char *name;
	enum sim_answer answer;
	long long accept_ms;
	int reply;	       /* echo each message back */
	int fail;	       /* messages fail delivery */
	long long delivery_ms; /* a sent message's completed event (and receipt) this late */
	struct sim_rlog *log;  /* ring of received entries */
	size_t nlog, logstart;
	struct sim_user *user; /* the user it stands in for (sim_bridge.c), else NULL */
};
void sim_remote_init(void);
void sim_remote_free(void);
struct sim_remote *sim_remote_find(const char *uri_or_addr);
/* Record something the remote received (type: message, typing, invitation, ...). */
void sim_remote_log(struct sim_remote *, const char *type, const char *from, const char *text,
    size_t len, const char *ctype);
void sim_remote_write_log(struct jw *, struct sim_remote *);
int sim_remote_set(struct sim_remote *, const struct json *, char *err, size_t errlen);
void sim_remote_write_all(struct jw *, int with_log);

/* sim_bridge.c: conversations between two signed-in users. */
/* The stand-in remote for the user named by to, if caller may invite that user now. */
struct sim_remote *sim_bridge_remote(struct sim_user *caller, const char *to);
/* What a stand-in remote heard from user "from" (called by sim_remote_log). */
void sim_bridge_hear(struct sim_remote *, const char *type, const char *from, const char *text,
    size_t len, const char *ctype);
void sim_bridge_free(void);

/* sim_ctl.c */
void sim_ctl_route(struct http_req *);

/* sim_fault.c */
struct sim_fault;
/* Faults that answer a request instead of the simulator: returns 1 if it did. */
int sim_fault_request(struct sim_user *, struct http_req *, const char *kind);
/* The value of a parameter of an active fault (0 when absent or inactive). */
long long sim_fault_param(struct sim_user *, const char *name, const char *param);
int sim_fault_active(struct sim_user *, const char *name);
/* Use up one shot of a counted fault; returns whether it was active. */
int sim_fault_take(struct sim_user *, const char *name);
int sim_fault_add(struct sim_user *, const struct json *, char *err, size_t errlen);
void sim_fault_clear(struct sim_user *);
void sim_fault_write(struct jw *, struct sim_user *);

/* sim_profile.c */
/* The profile user u follows (its own, else the global one); u may be NULL. */
const struct sim_profile *sim_profile(const struct sim_user *);
/* Read a profile object (every member optional); -1 with err when bad. */
int sim_profile_parse(const struct json *, struct sim_profile *, char *err, size_t errlen);
void sim_profile_write(struct jw *, const struct sim_profile *);
/* Host-relative hrefs of a JSON body made absolute when u's profile says so. */
void sim_profile_body(struct sim_user *, struct http_req *, const char *ctype, struct buf *);
/* The Location header of a 201: path, or absolute when u's profile says so. */
void sim_profile_location(struct sim_user *, struct http_req *, const char *path);

#endif
