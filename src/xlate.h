/*
 * xlate.h: the translation rules between GWS (desktops) and UCWA (Skype
 * for Business), read from conf/translate.json, and pure functions over
 * them. Nothing here does I/O except xlate_load() reading its one file;
 * nothing keeps state between calls. The GWS layer and the UCWA client
 * call these functions; docs/translation.md describes the file.
 *
 * Rules are immutable once loaded and reference-counted: a session keeps
 * the rules it started with (xlate_ref), a reload installs new ones with
 * xlate_set_current(), and the old rules go when their last user lets go.
 *
 * Strings returned through char ** are malloc'd and owned by the caller.
 *
 * How the gateway uses it (xlate_proto.c does exactly this for transcripts):
 *	InitiateIMSession	xlate_phone_to_sip (error: statusCode 10 + cause),
 *				xlate_subject; POST startMessaging {to, subject?}
 *	SendMessage		check xlate_caps(state) & XLATE_CAP_SEND (else 2),
 *				xlate_text_out: REFUSE -> statusCode 10, else one
 *				sendMessage per part, in order
 *	other operations	check xlate_caps(state) for the operation (else 2)
 *	UCWA state event	s = xlate_state_map(kind, resource.state); when s is
 *				later than the session's state, set it and send
 *				xlate_notify_state(..., "StatusChange", ...)
 *	failed invitation	SESSION_COMPLETED with var[XV_REASON]/[XV_REASON_CODE]
 *	incoming invitation	xlate_incoming(from, agent has a session)
 *	message completed	xlate_text_in on the data: URI's decoded payload
 *				(html: it was text/html; plain: the server's
 *				plainMessage beside HTML), then
 *				xlate_notify_message (own messages are echoed);
 *				an own message failed: xlate_text_undelivered, if not
 *				NULL notified with xlate_notify_message
 *	user data changed	xlate_notify_state(..., "AttachedDataChanged", ...)
 */
#ifndef UCGW_XLATE_H
#define UCGW_XLATE_H

#include "json.h"
#include "session_state.h"
#include "util.h"

struct xlate_rules;

/* Load file (NULL = the built-in default). NULL on failure with every
 * problem, one per line as "FILE:LINE:COL: message", in *problems. */
struct xlate_rules *xlate_load(const char *file, char **problems);
/* The same from text in memory; name is used in problem lines. */
struct xlate_rules *xlate_load_text(
    const char *name, const char *text, size_t len, char **problems);
/* The built-in default (the same text as the shipped conf/translate.json). */
extern const char xlate_default_text[];

struct xlate_rules *xlate_ref(struct xlate_rules *);
void xlate_unref(struct xlate_rules *);

/* The rules new conversations use; set_current takes a reference and drops the old. */
struct xlate_rules *xlate_current(void);
void xlate_set_current(struct xlate_rules *);

/* ---- addresses ---- */

/* Phone number (GWS destination.phoneNumber) to SIP URI: the directory
 * first, then the first rule whose regex matches the whole number.
 * 0 with *sip set, or -1 with *cause (static text) set. */
int xlate_phone_to_sip(
    const struct xlate_rules *, const char *phone, char **sip, const char **cause);

/* The four fields of a GWS participant object. */
struct xlate_party {
	char *digits;
	char *e164Number;
	char *formattedPhoneNumber;
	char *phoneNumber;
};
/* SIP URI to participant fields (directory, then rules, else the URI's
 * user part). Never fails. */
void xlate_sip_to_party(const struct xlate_rules *, const char *sip, struct xlate_party *);
void xlate_party_free(struct xlate_party *);

/* ---- states ---- */

/* The GWS states are enum session_state (session_state.h), shared with the
 * session table; SESSION_NONE means no change. */

enum xlate_kind {		/* which UCWA resource a state belongs to */
	XLATE_K_OUT_INVITATION, /* messagingInvitation, direction Outgoing */
	XLATE_K_IN_INVITATION,	/* messagingInvitation, direction Incoming */
	XLATE_K_CONVERSATION,
	XLATE_K_MESSAGING,
	XLATE_NKINDS
};

enum xlate_cap {
	XLATE_CAP_SEND = 1 << 0,     /* SendMessage */
	XLATE_CAP_ATTACH = 1 << 1,   /* AttachUserData */
	XLATE_CAP_UPDATE = 1 << 2,   /* UpdateUserData */
	XLATE_CAP_DELETE = 1 << 3,   /* DeleteUserData */
	XLATE_CAP_COMPLETE = 1 << 4, /* Complete */
};

const char *xlate_names_state(enum session_state);
enum session_state xlate_names_state_parse(const char *); /* SESSION_NONE if unknown */
const char *xlate_names_cap(unsigned bit);
unsigned xlate_names_cap_parse(const char *); /* 0 if unknown */

/* UCWA state value of a resource kind to a GWS state (SESSION_NONE: no change). */
enum session_state xlate_state_map(const struct xlate_rules *, enum xlate_kind, const char *value);
/* Capabilities (XLATE_CAP_* bits) a GWS state offers; the list in file order. */
unsigned xlate_caps(const struct xlate_rules *, enum session_state);
void xlate_caps_write(const struct xlate_rules *, enum session_state, struct jw *);

/* ---- notifications ---- */

/* Variables notification templates may name ($name or ${name}). */
enum xlate_var {
	XV_ID,		 /* GWS session id */
	XV_STATE,	 /* GWS state name */
	XV_REASON,	 /* upstream failure text (event reason.message) */
	XV_REASON_CODE,	 /* upstream reason code/subcode, "code/subcode" */
	XV_SENDER,	 /* SIP URI of a message's sender */
	XV_SENDER_NAME,	 /* display name of the sender */
	XV_SENDER_PHONE, /* sender as a phone number (through the address rules) */
	XV_DIRECTION,	 /* Incoming or Outgoing */
	XV_TIMESTAMP,	 /* UCWA timeStamp of the message */
	XV_AGENT,	 /* the agent's user name */
	XV_TEXT,	 /* the text of the message concerned (undelivered notices) */
	XV_NVARS
};
const char *xlate_names_var(enum xlate_var);

/* What the GWS layer knows of one session, for building notifications. */
struct xlate_session {
	const char *id;		   /* 32-character GWS id */
	const char *uri_base;	   /* "http://host:port/api/v2" */
	enum session_state state;  /* SESSION_NONE: not announced yet (written as null) */
	const char *const *remote; /* SIP URIs of the other parties */
	size_t nremote;
	const struct json *user_data; /* object or NULL (omitted when empty) */
	const char *var[XV_NVARS];    /* NULL = unset; XV_ID/XV_STATE filled for you */
};

/* Whether a notification field or the undelivered notice names variable v
 * (a caller may skip working out a variable nobody reads). */
int xlate_uses_var(const struct xlate_rules *, enum xlate_var v);
/* The imSession resource object (for notifications and GET answers). */
void xlate_write_session(const struct xlate_rules *, const struct xlate_session *, struct jw *);
/* The `data` of IMSessionStateChangeMessage; type is "StatusChange" or "AttachedDataChanged". */
void xlate_notify_state(
    const struct xlate_rules *, const struct xlate_session *, const char *type, struct buf *out);
/* The `data` of IMLogUpdateMessage/NewMessage carrying text. */
void xlate_notify_message(
    const struct xlate_rules *, const struct xlate_session *, const char *text, struct buf *out);

/* ---- text ---- */

enum xlate_text_verdict {
	XLATE_TEXT_OK,	   /* send parts[0..n-1] in order */
	XLATE_TEXT_REFUSE, /* answer statusCode 10 with *cause */
};
struct xlate_parts {
	char **v;
	size_t n;
};
/* A desktop's SendMessage text to what is sent upstream. */
enum xlate_text_verdict xlate_text_out(
    const struct xlate_rules *, const char *text, struct xlate_parts *, const char **cause);
void xlate_text_parts_free(struct xlate_parts *);
/* An upstream message body as sent (decoded from its data: URI; html != 0:
 * text/html) to what desktops see: HTML to plain text when
 * text.html_to_plain (the server's own plain rendition when it sent one,
 * plain != NULL, else reduced here), trailing CR/LF removed when
 * text.trim_newlines. The only place incoming text is changed; text need
 * not be NUL-terminated. */
char *xlate_text_in(
    const struct xlate_rules *, const char *text, size_t len, int html, const char *plain);
/* The NewMessage text telling the desktop that s's message (var[XV_TEXT])
 * was not delivered, or NULL when the rules say to send no notice. */
char *xlate_text_undelivered(const struct xlate_rules *, const struct xlate_session *s);

/* ---- incoming invitations ---- */

enum xlate_incoming {
	XLATE_IN_ACCEPT,
	XLATE_IN_DECLINE, /* POST decline {"reason":"Local"} */
	XLATE_IN_IGNORE,  /* neither: let it ring out or be taken elsewhere */
};
/* What to do with an invitation from sip when the agent has_session or not. */
enum xlate_incoming xlate_incoming(
    const struct xlate_rules *, const char *from_sip, int has_session);

/* ---- user data ---- */

/* The UCWA subject for a conversation started with this userData (object
 * or NULL); NULL when the rules name no key present in it. */
char *xlate_subject(const struct xlate_rules *, const struct json *user_data);

#endif
