/*
 * fake_ucwa.h: a small in-process UCWA server (on httpd, loopback, port 0)
 * for the unit tests of ucwa.c. It speaks the documented flow (discovery,
 * 401 + MsRtcOAuth, password grant, user, applications, makeMeAvailable,
 * reportMyActivity, ack-numbered P-GET with replay/resync/resume/409,
 * startMessaging, sendMessage, accept, stopMessaging, DELETE) and records
 * what it received, with switches for the faults the tests need. The
 * end-to-end tests use the real simulator (ucwa-sim) instead.
 */
#ifndef UCGW_FAKE_UCWA_H
#define UCGW_FAKE_UCWA_H

#include <event2/event.h>

#include "httpd.h"
#include "util.h"

#define FAKE_MAX_MSGS 512

struct fake {
	struct event_base *base;
	struct httpd *httpd;
	char url[128]; /* http://127.0.0.1:PORT */
	const char *password;
	int quoted_href; /* MsRtcOAuth href="..." instead of bare */
	long expires_in;
	int token_n; /* tokens issued */
	char token[64];
	int token_expired;     /* every Bearer request gets 401 until a new grant */
	int app_n;	       /* applications created */
	char endpoint_id[128]; /* EndpointId of the last POST applications */
	int app_reuse;	       /* POST applications gives the live one back (200), available */
	int live_conv;	       /* conversation listed live in it (0: none) */
	int convs_listed;      /* GETs of the conversations */
	int app_alive;
	int app_fault; /* POST applications answers 410 TooManyApplications */
	int forbid_n;  /* the next POSTs on the application get 403 InvalidToken */
	int mma_n, activity_n, app_deleted;
	/* event channel */
	int ack;	       /* the ack a P-GET must carry to get new events */
	struct buf pending;    /* senders not yet delivered, comma-separated */
	struct buf last;       /* the last response body, for a repeated ack */
	struct http_req *pget; /* parked */
	int pget_n;	       /* P-GETs received */
	char last_pget_target[512];
	int pget_with_timeout; /* P-GETs that carried timeout= */
	int resume_next, resync_next;
	int pget_status_next; /* answer the next P-GET with this status */
	int pget_409_n;
	/* conversations */
	int conv_n;
	int delay_201; /* startMessaging events go out before the 201 */
	struct http_req *held_201;
	char held_location[256];
	int held_app;		   /* the application the held startMessaging was for */
	int hold_mma;		   /* the next makeMeAvailable is held (fake_release_mma) */
	struct http_req *held_mma; /* ... here */
	struct event *timer_201;
	int auto_connect;   /* outgoing invitations are accepted at once */
	int no_opid_echo;   /* message resources do not echo operationId (Lync 2013) */
	int conv_gets;	    /* GETs of a conversation or its messaging */
	int conv_gone;	    /* ... answered 404, else Connected */
	int cmd_fault;	    /* next sendMessage answers this status ... */
	int cmd_fault_html; /* ... with an HTML body */
	int cmd_drop;	    /* next sendMessage is recorded, then its connection reset */
	int msg_n;
	char *msgs[FAKE_MAX_MSGS];	 /* texts received by sendMessage, in order */
	int send_inflight, send_overlap; /* more than one sendMessage at once */
	int accept_n, decline_n, stop_n, conv_deleted;
	int incoming_no_message; /* after accept, no message event (preview only) */
	char incoming_text[256];
	char incoming_conv[256];
	char incoming_msg_href[256];
};

void fake_start(struct fake *);
void fake_stop(struct fake *);
/* Queue one sender (a JSON object) and wake the parked P-GET. */
void fake_push(struct fake *, const char *sender_json);
/* The parked P-GET answered at once (to flush queued senders). */
void fake_flush(struct fake *);
/* An incoming invitation with text as its first message. */
void fake_incoming(struct fake *, const char *text);
/* The first incoming message's event on conversation conv: plain, and with html, also
 * an htmlMessage rendition (UCWA sends both once Html is negotiated). */
void fake_incoming_message(struct fake *, int conv, const char *html);
/* Answer the held makeMeAvailable: 204, or with status 404 ApplicationNotFound. */
void fake_release_mma(struct fake *, int status);
/* The application dies: every request on it gets 404 ApplicationNotFound. */
void fake_kill_app(struct fake *);

#endif
