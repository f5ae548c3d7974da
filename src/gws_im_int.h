/*
 * gws_im_int.h: what the three files of the IM Session API share:
 * gws_im.c (the service, parked desktop calls, session state and the
 * notifications), gws_im_ops.c (the desktop's requests) and gws_im_up.c
 * (the UCWA changes of an agent). Nothing else includes it.
 */
#ifndef UCGW_GWS_IM_INT_H
#define UCGW_GWS_IM_INT_H

#include <sys/queue.h>

#include "gws_im.h"
#include "store.h"
#include "xlate.h"

#define IM_CHANNEL	  "/v2/me/im-sessions"
#define IM_MAX_OUT	  1000
#define IM_RIDS_DONE	  16	/* request ids of delivered messages a session remembers */
#define IM_RID_MAX	  64	/* bytes of an X-Request-Id */
#define IM_SETTLE_MS	  5000	/* a taken-over session waits this long for UCWA's replay */
#define IM_SETTLE_POLL_MS 1000	/* ... counted while its agent is resumed, looked at this often */
#define IM_SETTLE_MAX_MS  60000 /* ... and settles after this long whatever the agent is */

/* An outgoing message waiting for its delivery event. */
struct im_out {
	char *opid;	/* opid, text and rid: in the message's own allocation */
	char *location; /* from the 201, once known */
	char *text;
	char *rid;  /* the X-Request-Id of its SendMessage, or NULL */
	int unsure; /* taken over without a 201: maybe sent; settled by UCWA's replay */
	struct im_out *next;
};

/* What this layer keeps per session (session->data). */
struct im_sess {
	struct xlate_rules *rules; /* the rules the session started with */
	struct im_out *out;
	unsigned nout;
	int announced;	 /* the desktop has heard of the session */
	int ended_early; /* outgoing, ended before its startMessaging's 201 (gws_im_end) */
	char *reason;	 /* upstream failure text, for the Completed notification */
	char *reason_code;
	char *sender_phone;	      /* $sender_phone: remote_uri through the rules, made once */
	char *rid_done[IM_RIDS_DONE]; /* X-Request-Ids of delivered messages (a ring) */
	unsigned rid_next;
	struct gws_im *im;	    /* (for the settle timer) */
	int settling;		    /* taken over with unsure messages: SendMessages are held */
	struct event *settle_timer; /* settles it if UCWA's replay does not come */
	unsigned settle_polls;	    /* times the timer looked */
	unsigned settle_ready;	    /* ... and found the agent's UCWA application resumed */
	int start_unsure; /* taken over before its startMessaging's conversation was known */
};

enum im_call_kind { IM_CALL_INITIATE, IM_CALL_SEND, IM_CALL_COMPLETE, IM_CALL_ACCEPT };

/*
 * One part of a SendMessage on its way upstream: the UCWA command's
 * argument, owned by its call (freed when the command's answer comes, or
 * with the call when the agent goes and the command's answer never will).
 */
struct im_part {
	struct im_call *call;
	char opid[17];
	LIST_ENTRY(im_part) entry; /* in call->partlist */
};

/* A desktop request (or our own command) waiting for UCWA. */
struct im_call {
	struct gws_im *im;
	enum im_call_kind kind;
	struct http_req *req; /* NULL once answered or the desktop left */
	char *agent;
	char session_id[SESSION_ID_LEN + 1];
	unsigned parts_left;
	LIST_HEAD(, im_part) partlist; /* SendMessage: every part not yet answered */
	struct im_part **parts; /* ... those waiting for their row to be stored (not owned) */
	size_t nparts;
	int answered;
	int held;		/* SendMessage held until its session settles (parts kept) */
	char *wait_opid;	/* a repeated SendMessage waiting for this unsure message */
	int storing;		/* its store_done is due (gws_im_call_free cancels it) */
	int unstored;		/* SendMessage whose row could not be stored, held while this
				   node may be cut from Redis (parts kept; gws_im_hold_changed) */
	unsigned long long seq; /* order of creation: held calls go in this order */
	struct im_call *prev, *next;
};

struct gws_im {
	struct session_table *sessions;
	struct agents *agents;
	struct cometd *cometd;
	struct im_call *calls;
	struct store *store; /* cluster mode: the session rows are written there; else NULL */
	int (*hold)(void *); /* cluster mode: whether what is not stored waits (gws_im_set_hold) */
	void *hold_arg;
	struct event_base *base;
	unsigned long long seq;	  /* of the last call made */
	struct event *restart_ev; /* starts taken-over sessions again (gws_im_restart_later) */
	char **restart_opids;	  /* ... their operationIds (one per session at most) */
	size_t nrestart;
};

/* The UCWA commands of the IM layer; every one passes through gws_im_ucwa. */
enum gws_im_cmd {
	GWS_IM_CMD_START,   /* startMessaging: to, opid, subject */
	GWS_IM_CMD_SEND,    /* sendMessage: conv, text, opid */
	GWS_IM_CMD_ACCEPT,  /* conv */
	GWS_IM_CMD_DECLINE, /* conv */
	GWS_IM_CMD_CANCEL,  /* conv */
	GWS_IM_CMD_STOP,    /* stopMessaging: conv */
	GWS_IM_CMD_LEAVE,   /* conv */
};

/* A command's arguments; those its kind does not use stay NULL. */
struct gws_im_cmd_args {
	const char *conv, *to, *subject, *text, *opid;
};

/* gws_im.c: issue (and record) a UCWA command; NULL or why not. */
const char *gws_im_ucwa(struct agent *a, enum gws_im_cmd cmd, const struct gws_im_cmd_args *x,
    ucwa_done done, void *arg);

/* gws_im.c: parked calls */
void gws_im_call_free(struct im_call *c);
struct im_part *gws_im_part_new(struct im_call *c);
int gws_im_call_issued(const struct im_call *c);
void gws_im_part_free(struct im_part *part);
struct im_call *gws_im_call_new(struct gws_im *im, enum im_call_kind kind, struct http_req *req,
    struct agent *a, struct session *s);
void gws_im_call_reply_ok(struct im_call *c);
void gws_im_call_reply_upstream(struct im_call *c, const struct ucwa_result *r);
struct session *gws_im_call_session(struct im_call *c);

/* gws_im.c: write the session's row to the store (cluster mode; nothing otherwise) */
void gws_im_store(struct gws_im *im, const struct session *s);
/* The same when only its unconfirmed outgoing messages changed. */
void gws_im_store_out(struct gws_im *im, const struct session *s);
/* Write it now (whole, or only the messages), done run once it is in Redis: 1 if it will run. */
int gws_im_store_wait(
    struct gws_im *im, const struct session *s, int whole, store_done done, void *arg);

/* gws_im.c: sessions, their outgoing messages, notifications */
struct json_doc *gws_im_userdata_doc(const struct session *s);
void gws_im_view(const struct agent *a, const struct session *s, struct xlate_session *xs,
    const char **remote, struct json_doc *ud);
void gws_im_record_begin(struct gws_im *im, struct http_req *req, const struct agent *a,
    const char *id, const struct json *body);
void gws_im_notify_state(
    struct gws_im *im, const struct agent *a, struct session *s, const char *type);
void gws_im_notify_message(struct gws_im *im, const struct agent *a, struct session *s,
    const char *text, const struct ucwa_change *ch, int failed);
void gws_im_set_state(struct gws_im *im, struct agent *a, struct session *s, enum session_state st);
void gws_im_end(struct gws_im *im, struct agent *a, struct session *s);
/* Free a session on this node only (hand-over: its row stays in the store, if keep). */
void gws_im_forget(struct gws_im *im, struct session *s, int keep);
void gws_im_set_reason(
    struct session *s, const char *message, const char *code, const char *subcode);
struct session *gws_im_session_new(
    struct gws_im *im, struct agent *a, enum session_dir dir, const char **cause);
struct im_out *gws_im_out_find(struct im_sess *is, const char *opid, struct im_out ***link);
void gws_im_out_remove(struct im_sess *is, struct im_out **link);
void gws_im_out_add(struct session *s, const char *opid, const char *text, const char *rid);
/* The message's X-Request-Id is done (delivered): remembered, and a repeat waiting is answered. */
void gws_im_out_delivered(struct gws_im *im, struct session *s, struct im_out *o);
int gws_im_rid_done(const struct im_sess *is, const char *rid);
struct im_call *gws_im_call_waiting(struct gws_im *im, const struct session *s, const char *opid);

/* gws_im_ops.c: send the held SendMessages and the unsure messages of s (or fail them, s NULL) */
void gws_im_settle_sends(struct gws_im *im, const char *agent, const char *sid, struct session *s);
/* gws_im_ops.c: start s upstream again (taken over unsure, UCWA never got its startMessaging) */
void gws_im_start_again(struct gws_im *im, struct agent *a, struct session *s);

/* gws_im.c: UCWA took outgoing message o (an event about it, href its own); see gws_im.c */
void gws_im_out_taken(struct gws_im *im, struct session *s, struct im_out *o, const char *href);
/* gws_im.c: a taken-over session's unsure start or message is accounted for: settle if all are */
void gws_im_settle_soon(struct session *s);

/* gws_im_ops.c */
const char *gws_im_complete_upstream(struct agent *a, struct session *s, struct im_call *c);

#endif
