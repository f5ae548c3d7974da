/*
 * ucwa_event.h: one UCWA event-channel response (JSON) parsed into typed
 * changes, in the order the server sent them (senders may repeat; an
 * empty "sender" array gives no change). Pure code: no I/O, no state
 * across responses (deduplication of messages lives in ucwa.c).
 * The response is read in one pass (no JSON tree); the strings used are
 * copied and live until ucwa_events_free; hrefs are as sent (usually
 * host-relative).
 */
#ifndef UCGW_UCWA_EVENT_H
#define UCGW_UCWA_EVENT_H

#include <stddef.h>

enum ucwa_kind {
	UCWA_INVITATION,   /* messagingInvitation: started / updated / completed */
	UCWA_CONVERSATION, /* conversation: added / updated / deleted */
	UCWA_MESSAGING,	   /* messaging: updated (state, current links) */
	UCWA_PARTICIPANT,  /* participant or localParticipant: added / updated / deleted */
	UCWA_TYPING,	   /* participant added to / deleted from typingParticipants */
	UCWA_MESSAGE,	   /* message: started / updated / completed */
};

enum ucwa_type { UCWA_ADDED, UCWA_UPDATED, UCWA_DELETED, UCWA_STARTED, UCWA_COMPLETED };

struct ucwa_change {
	enum ucwa_kind kind;
	enum ucwa_type type;
	const char *href;	  /* link.href: the resource itself */
	const char *title;	  /* link.title (participant display name) */
	const char *conversation; /* the conversation it belongs to, when known */
	int embedded;		  /* the resource came with the event */
	/* event level */
	const char *status; /* "Success" / "Failure" on completed operations */
	const char *reason_code, *reason_subcode, *reason_message;
	/* resource properties (NULL when absent) */
	const char *state;     /* invitation, conversation, messaging */
	const char *direction; /* invitation, message: "Incoming" / "Outgoing" */
	const char *operation_id;
	const char *subject, *importance, *thread_id;
	const char *from_uri, *from_name; /* invitation: _embedded.from */
	const char *to;			  /* invitation: _links.to href */
	const char *self;		  /* resource self href (message identity) */
	/* links that make commands possible now (NULL: not possible) */
	const char *accept, *decline, *cancel;			   /* invitation */
	const char *send_message, *stop_messaging, *set_is_typing; /* messaging */
	const char *messaging;					   /* invitation, message */
	/*
	 * text: message body, or the invitation's first-message preview: the
	 * data URI's payload decoded but otherwise as sent (HTML not reduced,
	 * CR/LF not trimmed; that is the translation rules' business). A
	 * message with both htmlMessage and plainMessage gives the HTML.
	 */
	char *text;
	char *alt_text;		      /* message: the plain rendition beside HTML text, or NULL */
	int text_html;		      /* text is text/html */
	int text_bad;		      /* a data URI was present but malformed (text NULL) */
	const char *participant;      /* message: who sent it (href) */
	const char *participant_name; /* its link title */
	const char *failed_delivery;  /* message: first failedDeliveryParticipant href */
	const char *timestamp;	      /* message: its timeStamp, as sent */
	int local;		      /* participant: it is us (localParticipant) */
};

/*
 * An event that could not be used: of a kind the gateway uses (or of no
 * recognisable kind) but malformed. It is skipped and reported here; the
 * rest of the response is used. Events of kinds the gateway does not use
 * are skipped without a look and not reported.
 */
struct ucwa_bad {
	const char *sender_rel, *sender_href; /* may be NULL */
	const char *rel, *href;		      /* of its link, when readable */
	const char *conversation;	      /* the conversation it is about, when known */
	int kind;			      /* enum ucwa_kind, or -1: unknown */
	const char *why;		      /* static */
};

#define UCWA_EVENTS_MAX_BAD 32 /* reported per response; more are only counted */

struct strpool_chunk;

struct ucwa_events {
	struct strpool_chunk *mem; /* the strings kept (strpool.h) */
	struct ucwa_change *v;
	size_t n;
	size_t nbad;	   /* reported in bad[] */
	size_t nbad_total; /* all unusable events */
	const char *self;
	const char *next; /* exactly one of next, resync, resume is set */
	const char *resync;
	const char *resume;
	struct ucwa_bad bad[UCWA_EVENTS_MAX_BAD]; /* last: only the first nbad are set */
};

/* Parse body; 0, or -1 with a message in err (nothing to free then). Only a
 * response without a next, resync or resume link (or not JSON) is refused:
 * a bad event costs that event (see struct ucwa_bad), never the response. */
int ucwa_events_parse(const char *body, size_t len, struct ucwa_events *, char *err, size_t errlen);
/* A resource (the body of a GET of href) as one "updated" change of kind k,
 * as if an event had embedded it; 0, or -1 with a message in err. */
int ucwa_resource_parse(const char *body, size_t len, enum ucwa_kind k, const char *href,
    struct ucwa_events *, char *err, size_t errlen);
/* A copy of s (len bytes, NUL added) that lives as long as what evs keeps. */
const char *ucwa_events_keep(struct ucwa_events *, const char *s, size_t len);
void ucwa_events_free(struct ucwa_events *);

const char *ucwa_kind_name(enum ucwa_kind);
const char *ucwa_type_name(enum ucwa_type);

#endif
