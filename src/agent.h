/*
 * agent.h: the registry of signed-in agents. An agent is created on its
 * first authenticated request and removed on EndContactCenterSession or
 * after it has been idle too long. It carries the agent's GWS identity
 * (user id and device id, stable for a user name), its agent state
 * (Ready/NotReady) and whether a contact-centre session was started.
 * The layers that hang state on an agent (UCWA application, CometD
 * clients, IM session) are told when it goes, through agents_on_remove.
 */
#ifndef UCGW_AGENT_H
#define UCGW_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

struct auth_user;
struct cometd_agent;
struct signin_agent;
struct ucwa_agent;

/*
 * One agent and every per-agent record, each owned by the module named
 * (it creates the record, links it here and unlinks it when it goes).
 */
struct agent {
	char *name;	    /* the user name the desktop signs in with */
	char user_id[33];   /* 32 hex digits, stable per name */
	char device_id[37]; /* UUID form, stable per name */
	char state_id[37];  /* id of the current userState */
	int ready;	    /* Ready (1) or NotReady (0) */
	int cc_session;	    /* StartContactCenterSession done */
	char *phone;	    /* the agent's own number, when known */
	char *first_name;   /* from the UCWA "me" name, when known */
	char *last_name;
	char *base_uri; /* "scheme://host/api/v2" of the agent's last request */
	uint64_t last_seen_ms;
	struct ucwa_agent *ucwa;     /* UCWA link: ucwa.c */
	struct signin_agent *signin; /* password check, sign-in: signin.c */
	struct auth_user *logins;    /* login sessions (cookies): auth.c */
	struct cometd_agent *cometd; /* CometD clients: cometd.c */
};

struct agents;

typedef void (*agents_remove_cb)(struct agent *, const char *why, void *arg);

struct agents *agents_create(struct event_base *, unsigned idle_ms);
void agents_set_idle(struct agents *, unsigned idle_ms);
/* An agent for which busy() is true is never idle (it has live CometD clients). */
void agents_set_busy(struct agents *, int (*busy)(const struct agent *, void *), void *arg);
/* Called for each agent just before it is freed. */
void agents_on_remove(struct agents *, agents_remove_cb, void *arg);
void agents_free(struct agents *);
/* The agent called name, created if needed; marks it seen. */
struct agent *agents_get(struct agents *, const char *name);
struct agent *agents_find(const struct agents *, const char *name);
/* Remove now (callbacks run, memory freed at the next loop turn). */
void agents_remove(struct agents *, struct agent *, const char *why);
unsigned agents_count(const struct agents *);
/* Every agent, in a new array (the caller frees it); returns the count. */
size_t agents_list(const struct agents *, struct agent ***);

#endif
