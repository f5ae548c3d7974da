/*
 * agent.h: the registry of signed-in agents, and the one home of each
 * agent's state. An agent is created on its first authenticated request
 * (agents_get) and removed on EndContactCenterSession, when its sign-in
 * fails or is lost, at shutdown, or after it has been idle too long
 * (agents_remove). It carries the agent's GWS identity (user id and device
 * id, stable for a user name), its agent state (Ready/NotReady) and whether
 * a contact-centre session was started.
 *
 * Every per-agent record, who owns it (creates it, links it, frees it),
 * whether the agent's link owns it, and when it goes:
 *
 *	struct agent			agent.c: agents_get; freed a loop turn
 *					after agents_remove (reap.h)
 *	->signin  struct signin_agent	signin.c, owning link: the password
 *					check and the sign-in state (SIGNIN_*);
 *					freed at stage SIGNIN
 *	->ucwa	  struct ucwa_agent	ucwa.c, started by signin.c, owning
 *					link: the UCWA application, token,
 *					event-channel cursor and conversations;
 *					its events go to relay.c; freed at stage
 *					UCWA (signs out upstream)
 *	IM session  struct session	session.c's table (by id, agent name,
 *					conversation, operation; one per agent,
 *					session_of_agent), with its struct
 *					im_sess (gws_im.c); ended by gws_im.c
 *					at stage IM (hooked by relay.c)
 *	->links[AGENTS_SLOT_COMETD]
 *	      struct cometd_agent	cometd.c, non-owning link: the CometD
 *					clients of the name and the notification
 *					bytes they hold; made at the first
 *					handshake, freed by cometd.c when its
 *					last client and byte are gone, which may
 *					be before or after the agent (clients
 *					expire on their own); unlinked at stage
 *					COMETD
 *	->links[AGENTS_SLOT_LOGINS]
 *	      struct auth_user		auth.c, non-owning link: the login
 *					sessions (cookies) of the name; made at
 *					authentication (maybe before the agent,
 *					also for names that never get one),
 *					freed by auth.c with its last session
 *					(sessions expire on their own, or end
 *					at logout); unlinked at stage LOGINS
 *	stored	  struct store_rec	store.c's table by name (cluster mode
 *					only): the mirror of what Redis holds
 *					for the name (store.h); made at its
 *					first write, freed by store_agent_drop
 *					(ucwa_agent_free) or once it holds
 *					nothing (its last client gone)
 *	recording struct record_agent	record.c's table of the agents named by
 *					record.agents (by name; signed in or
 *					not): the input being recorded now;
 *					rebuilt by record_configure, not by
 *					agents_remove
 *
 * A non-owning link is one mechanism here (agents_link_*), used by the
 * record's owner (auth_set_agents, cometd_set_agents): the record embeds a
 * struct agent_link, the agent has its slot in ->links[]. The owner hands
 * the registry its table of records (agents_link_keep); whichever of the
 * agent and the record comes second makes the link (the owner calls
 * agents_link when it makes its record; the slot's agents_on_create hook
 * looks the record up when an agent is made). Both sides point at each
 * other, and freeing either clears both pointers (the owner calls
 * agents_unlink when it frees its record; the slot's removal stage unlinks
 * the agent), so neither dangles. An agent being removed gets no new link.
 *
 * Removing an agent is the one path that frees all of it: agents_remove
 * runs the stages below in their order (each owner hooks its stage with
 * agents_hook), unindexes the agent, and frees it on a later loop turn.
 */
#ifndef UCGW_AGENT_H
#define UCGW_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "reap.h"

struct hmap;
struct signin_agent;
struct ucwa_agent;

/*
 * The non-owning links of an agent (the slots of agent->links), each kept
 * by the owner of its record and unlinked at the removal stage named.
 */
enum agents_slot {
	AGENTS_SLOT_COMETD, /* struct cometd_agent: cometd.c; stage COMETD */
	AGENTS_SLOT_LOGINS, /* struct auth_user: auth.c; stage LOGINS */
};
#define AGENTS_NSLOTS 2

/*
 * The record's side of a non-owning link, embedded in the record: the
 * agent of the record's name while both are linked (the agent's side,
 * agent->links[slot], points back at it). Zeroed: not linked.
 */
struct agent_link {
	struct agent *agent;
	enum agents_slot slot; /* the agent's slot, while linked */
};

/*
 * One agent and its links to every per-agent record, each kept by the
 * module named (it creates the record, links it here and unlinks it at its
 * removal stage; for a non-owning link, through agents_link_*); owning or
 * not as the table above says.
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
	struct ucwa_agent *ucwa;     /* UCWA link: ucwa.c (started by signin.c); owning */
	struct signin_agent *signin; /* password check, sign-in state: signin.c; owning */
	struct agent_link *links[AGENTS_NSLOTS]; /* non-owning, by enum agents_slot */
	int removing;				 /* agents_remove has begun: no new link */
	int handover;	       /* removed for another node to carry on (agents_hand_over) */
	struct reap_link reap; /* agent.c: freed after removal */
};

/*
 * The removal stages, in the order agents_remove runs them. One hook per
 * stage, set by the record's owner:
 *	IM	relay.c: end the IM session and answer the agent's parked IM
 *		requests (gws_im_agent_gone); first, while the UCWA link can
 *		still leave the conversation and the CometD clients can still
 *		be told.
 *	SIGNIN	signin.c: answer requests waiting for the sign-in (503),
 *		free the sign-in record.
 *	UCWA	signin.c: free the UCWA link (ucwa_agent_free signs out
 *		upstream in the background).
 *	COMETD	agents_link_keep for cometd.c: unlink the agent's CometD
 *		record (slot COMETD) on both sides; the record and its
 *		clients outlive the agent and expire on their own.
 *	LOGINS	agents_link_keep for auth.c: unlink the agent's login
 *		sessions (slot LOGINS) on both sides; the sessions outlive
 *		the agent and expire on their own (EndContactCenterSession
 *		logs the caller out before removing the agent).
 *	LISTEN	anyone else told of the removal (agents_on_remove): last.
 */
enum agents_stage {
	AGENTS_STAGE_IM,
	AGENTS_STAGE_SIGNIN,
	AGENTS_STAGE_UCWA,
	AGENTS_STAGE_COMETD,
	AGENTS_STAGE_LOGINS,
	AGENTS_STAGE_LISTEN,
};
#define AGENTS_NSTAGES 6

struct agents;

typedef void (*agents_remove_cb)(struct agent *, const char *why, void *arg);
typedef void (*agents_create_cb)(struct agent *, void *arg);

struct agents *agents_create(struct event_base *, unsigned idle_ms);
void agents_set_idle(struct agents *, unsigned idle_ms);
/* An agent for which busy() is true is never idle (it has live CometD clients). */
void agents_set_busy(struct agents *, int (*busy)(const struct agent *, void *), void *arg);
/* Hook a removal stage (one hook per stage; NULL unhooks). */
void agents_hook(struct agents *, enum agents_stage, agents_remove_cb, void *arg);
/*
 * Be told of each new agent, as the owner of stage's record (one hook per
 * stage, run in stage order; NULL unhooks): to link a record made first.
 */
void agents_on_create(struct agents *, enum agents_stage, agents_create_cb, void *arg);
/* Be told last of each removal: agents_hook(r, AGENTS_STAGE_LISTEN, ...). */
void agents_on_remove(struct agents *, agents_remove_cb, void *arg);
/*
 * Free the registry and every agent (no hooks run: the process is ending).
 * The keepers of non-owning links let go first (auth_set_agents and
 * cometd_set_agents with NULL), or no agent is linked.
 */
void agents_free(struct agents *);
/* The one lookup by name: the agent called name, created if needed; marks it seen. */
struct agent *agents_get(struct agents *, const char *name);
/* The agent called name, or NULL. */
struct agent *agents_find(const struct agents *, const char *name);
/*
 * Keep slot's links for their owner, whose registry is *kept (NULL: none):
 * lets go of *kept's (unhooks the slot's stage, unlinks every record), sets
 * *kept to r and, unless r is NULL, holds r's: records maps a name to a
 * record with its struct agent_link at offset; every record is linked now,
 * and the slot's stage is hooked (agents_on_create and removal) to link new
 * agents and unlink removed ones. The owner lets go (r NULL) before it
 * frees its table or the registry is freed.
 */
void agents_link_keep(
    struct agents **kept, struct agents *r, enum agents_slot, struct hmap *records, size_t offset);
/*
 * Link a record (its link l, its name) with the registry's agent of that
 * name, if there is one, not being removed, with slot free, and l is not
 * linked; r NULL: nothing.
 */
void agents_link(struct agents *r, enum agents_slot, struct agent_link *l, const char *name);
/* Clear link l on both sides (nothing if not linked). */
void agents_unlink(struct agent_link *l);
/* Remove now: the stages run in order, memory is freed at a later loop turn. */
void agents_remove(struct agents *, struct agent *, const char *why);
/*
 * Remove for a hand-over (cluster mode: the agent's next owner carries it
 * on from the store): as agents_remove, but each stage leaves what lives
 * on upstream and in the store as it is (the UCWA application is not
 * signed out, the IM session not ended, nothing stored is deleted).
 */
void agents_hand_over(struct agents *, struct agent *, const char *why);
struct store;
/* Cluster mode: the store each agent's presence (cc_session, ready) is written to. */
void agents_set_store(struct agents *, struct store *);
/* The agent's cc_session or ready changed: written to the store (nothing without one). */
void agents_presence_changed(struct agents *, struct agent *);
unsigned agents_count(const struct agents *);
/* Every agent, in a new array (the caller frees it); returns the count. */
size_t agents_list(const struct agents *, struct agent ***);

#endif
