/*
 * ucwa_int.h: what the UCWA client's files share; private to them. The
 * files call each other downwards only, top to bottom: ucwa.c (context,
 * agents' life, a call's response), ucwa_auth.c (sign-in), ucwa_app.c
 * (application), ucwa_state.c (the agent's state, failing), ucwa_chan.c
 * (event channel), ucwa_conv.c (conversations, commands), ucwa_call.c
 * (calls, helpers). See docs/architecture.md.
 */
#ifndef UCGW_UCWA_INT_H
#define UCGW_UCWA_INT_H

#include <sys/queue.h>

#include "hclient.h"
#include "jw.h"
#include "store.h"
#include "reap.h"
#include "ucwa.h"
#include "util.h"

struct ucwa {
	struct event_base *base;
	struct reap *reap; /* the loop's: frees agents freed by the owner */
	struct ucwa_conf conf;
	char *strs[6];		     /* owned copies of the conf strings */
	unsigned char *endpoint_key; /* owned copy of conf.endpoint_key (or of the URL) */
	size_t endpoint_key_len;
	struct hclient *hc;
	struct hclient_owner *signout; /* background DELETEs of freed agents */
	unsigned nagents;
	void (*shutdown_done)(void *);
	void *shutdown_arg;
	struct event *shutdown_timer;
	unsigned long long bad_events; /* unusable events skipped, all agents */
	hclient_cb respond;	       /* a call's response: the top's handler (ucwa.c) */
	struct store *store;	       /* cluster mode: the agent state store; else NULL */
	int keep_marks;		       /* remember each change's identity (ucwa_keep_marks) */
	/* cluster mode: write the agent's snapshot to the store (ucwa_resume_save); the
	 * event channel calls it after applying a set: the one way up, by pointer */
	void (*save)(struct ucwa_agent *);
	/* cluster mode: whether a P-GET whose cursor could not be stored waits (ucwa_set_hold) */
	int (*hold)(void *);
	void *hold_arg;
};

struct ucall;
TAILQ_HEAD(ucalls, ucall);
typedef void (*ucall_cb)(struct ucall *, const struct hclient_resp *);

/* One upstream request of an agent (retried once after a token renewal). */
struct ucall {
	struct ucwa_agent *a;
	TAILQ_ENTRY(ucall) entry; /* a->calls or a->authwait, as list says */
	struct ucalls *list;	  /* the list it is on, or NULL */
	const char *method, *url; /* in the call's own allocation (ucwa_call_new) */
	const char *ctype;	  /* a static string, or NULL */
	struct buf body;
	int flags;
	unsigned timeout_ms;
	int bearer;
	int retried;
	unsigned token_gen; /* the agent's token_gen when it was sent */
	unsigned app_gen;   /* the agent's app_gen when it was made */
	int app_step;	    /* part of setting the application up: void once it is lost */
	struct hclient_req *req;
	ucall_cb cb;
	const char *kind;  /* metrics label: discovery, token, application, ..., command */
	uint64_t start_ms; /* when it was (last) sent */
	/* for commands */
	ucwa_done done;
	void *done_arg;
	char *conv;
	void *ctx;
	void (*ctx_free)(void *); /* ctx when the call dies without its callback */
};

struct uconv; /* ucwa_conv.c's */
struct ustart;
TAILQ_HEAD(uconvs, uconv);
TAILQ_HEAD(ustarts, ustart);

/* An agent's state (see docs/architecture.md); changed by ucwa_state_set only. */
enum ucwa_state {
	UA_DISCOVER,
	UA_CHALLENGE,
	UA_TOKEN,
	UA_USER,
	UA_APP,
	UA_AVAILABLE,
	UA_READY,
	UA_FAILED,
};

struct ucwa_agent {
	struct ucwa *u;
	char *user, *password;
	struct ucwa_cbs cbs;
	void *arg;
	enum ucwa_state state;
	struct hclient_owner *owner;
	struct ucalls calls;	/* in flight */
	struct ucalls authwait; /* waiting for a new token */
	int dying;		/* freed by the owner: no callback any more */
	int convs_gone;		/* a conversation waits for ucwa_conv_gone_settle */
	struct reap_link reap;	/* its memory, once no callback is on the stack */
	int signed_in_told;

	char endpoint_id[40];
	char *user_url;	    /* user resource */
	char *token_url;    /* from MsRtcOAuth href */
	char *token;	    /* "Bearer cwt=..." header value */
	unsigned token_gen; /* +1 per token acquired */
	char *apps_url;	    /* applications resource (cached) */
	char *origin;	    /* the origin ("scheme://host:port") last resolved against... */
	size_t origin_len;
	char *origin_norm; /* ...in normal form (ucwa_call_resolve) */
	int origin_ok;	   /* it parsed (origin_norm is not just a copy) */
	struct buf norm;   /* the normal form of one href being looked at (ucwa_call_norm) */
	int hops;
	int renewing;
	uint64_t rediscovered_ms; /* last rediscovery after a persistent 403 */
	struct event *token_timer;
	struct event *retry_timer; /* sign-in step retries */
	unsigned retry_ms;

	char *app;	  /* application self, absolute */
	char *events_url; /* P-GET URL to GET next (absolute) */
	char *mma_url, *activity_url, *start_url;
	char *convs_url;	/* communication's conversations link */
	int app_reused;		/* the POST answered 200: an application left behind */
	char *me_uri, *me_name; /* the user's own SIP URI and display name */
	int add_params;		/* send timeout= on the next P-GET */
	struct ucall *pget;
	unsigned cursor_writes; /* cluster mode: cursor writes not answered yet */
	int cursor_get;		/* the P-GET waits for them (ucwa_chan_stored) */
	int held;		/* the P-GET waits for Redis: on u->held (ucwa_chan_unstored) */
	TAILQ_ENTRY(ucwa_agent) held_entry;
	struct event *pget_timer; /* back-off before re-GET */
	unsigned pget_backoff;
	struct event *activity_timer;
	unsigned app_gen;

	struct uconvs convs;
	unsigned nconvs;
	struct ustarts starts; /* outgoing invitations, for servers that do not echo operationId */
	unsigned nstarts;

	/* snapshot and resume (ucwa_resume.c) */
	long long token_expires; /* Unix seconds, for a snapshot */
	const char *chan_set;	 /* URL of the event-channel set being applied, else NULL */
	uint32_t marks[UCWA_SAVED_MARKS]; /* fingerprints of the last changes delivered (a ring) */
	unsigned nmarks;
	size_t saved_len;      /* bytes of the last snapshot written to the store */
	struct buf saved_head; /* the head of that snapshot (ucwa_saved_write_head) ... */
	uint64_t saved_hash;   /* ... ucwa_saved_head_hash of what it was written from ... */
	struct jw saved_jw;    /* ... and the writer's state after it; b NULL: none */
	int replay;	       /* resumed: drop changes already delivered, until a set is applied */
	int resumed;	       /* 1: made by ucwa_agent_resume */
	int resume_attached;   /* the stored application answered */
	int keep_app;	       /* freed for a hand-over: no sign-out (ucwa_agent_handover) */
};

/* ucwa_call.c: the bottom, calls nothing above it */
struct ucall *ucwa_call_new(struct ucwa_agent *, const char *method, const char *url, ucall_cb);
int ucwa_call_start(struct ucall *);
void ucwa_call_free(struct ucall *);
void ucwa_call_count(const struct ucall *, const struct hclient_resp *);
void ucwa_call_resolve(struct ucwa_agent *, const char *href, struct buf *out);
char *ucwa_call_abs(struct ucwa_agent *, const char *href);
const char *ucwa_call_norm(struct ucwa_agent *, const char *href);
/* A request of a that is not its own any more (sign-out, leaving when giving up):
 * sent on the background owner, its answer only logged. */
void ucwa_call_background(struct ucwa_agent *, const char *method, const char *url);
void ucwa_call_result(const struct hclient_resp *, struct ucwa_result *, struct buf *scratch);
int ucwa_call_error_is(const struct hclient_resp *, const char *subcode);
unsigned ucwa_call_backoff(unsigned *cur, unsigned min, unsigned max);
struct json;
void ucwa_call_link(const struct json *res, const char *rel, const char **href);

/* ucwa_conv.c: above ucwa_call.c */
void ucwa_conv_init(struct ucwa_agent *);
void ucwa_conv_apply(struct ucwa_agent *, struct ucwa_events *, const struct ucwa_change *);
int ucwa_conv_resync_href(struct ucwa_agent *, const char *href);
void ucwa_conv_resync_all(struct ucwa_agent *);
/* After an event-channel response: end the conversations resynchronisation found gone. */
void ucwa_conv_gone_settle(struct ucwa_agent *);
void ucwa_conv_end_all(struct ucwa_agent *, const char *why);
/* The application is lost or given up: remember (or, giving up, leave now in the
 * background) every live conversation, so that none stays connected unseen. */
void ucwa_conv_leave_mark(struct ucwa_agent *, int now);
/* Ready again: leave every conversation remembered by ucwa_conv_leave_mark. */
void ucwa_conv_leave_behind(struct ucwa_agent *);
/* Leave (DELETE) a conversation found live in an application given back (200),
 * unless ucwa_conv_leave_behind will. */
void ucwa_conv_leave_found(struct ucwa_agent *, const char *href);
void ucwa_conv_free_all(struct ucwa_agent *);
/*
 * Snapshot and resume: the conversations and startMessaging list, out
 * (the last max_msgs seen and sent messages of each; borrow: the agent's
 * own strings, a view freed by ucwa_saved_free_view before the agent
 * changes) and back in.
 */
void ucwa_conv_save(const struct ucwa_agent *, struct ucwa_saved *, int borrow, unsigned max_msgs);
void ucwa_conv_restore(struct ucwa_agent *, const struct ucwa_saved *);
/* ucwa_resume.c: write the agent's snapshot (no secrets) to the store. */
void ucwa_resume_save(struct ucwa_agent *);

/* ucwa_chan.c: above ucwa_conv.c */
void ucwa_chan_start(struct ucwa_agent *);
void ucwa_chan_stop(struct ucwa_agent *);
void ucwa_chan_release(struct ucwa_agent *);

/* ucwa_state.c: above ucwa_chan.c */
void ucwa_state_set(struct ucwa_agent *, enum ucwa_state, const char *why);
void ucwa_state_fail(struct ucwa_agent *, enum ucwa_failure, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Cluster mode: 409 PGetReplaced; stop without ending or signing out anything. */
void ucwa_state_replaced(struct ucwa_agent *);
void ucwa_state_unreachable(struct ucwa_agent *, const char *step, const struct hclient_resp *);
struct json_doc *ucwa_state_json(
    struct ucwa_agent *, const char *step, const struct hclient_resp *);

/* ucwa_app.c: above ucwa_state.c */
void ucwa_app_create(struct ucwa_agent *);
/* Resume: the stored application answered (its resource): take its links, resume the
 * event channel at the stored cursor, make it available (409 AlreadyExists is as good). */
void ucwa_app_attach(struct ucwa_agent *, const struct json *app);

/* ucwa_auth.c: above ucwa_app.c */
void ucwa_auth_retry_fire(evutil_socket_t, short, void *);
void ucwa_auth_token_fire(evutil_socket_t, short, void *);
void ucwa_auth_discover(struct ucwa_agent *, const char *url);
void ucwa_auth_challenge(struct ucwa_agent *);
void ucwa_auth_renew(struct ucwa_agent *);

/* ucwa.c: the top (context, agents' life, a call's response) */

#endif
