/*
 * takeover.h: cluster mode's take-over and hand-over of agents between
 * nodes (docs/cluster.md, "Take-over"). Installed as the owner's hooks
 * (owner_set_hooks): an agent whose lease this node acquires is rebuilt
 * from its stored state before its requests are served; an agent that
 * leaves this node (lease lost, drain) is freed here without signing out
 * upstream or ending its IM session, for its next owner to carry on.
 */
#ifndef UCGW_TAKEOVER_H
#define UCGW_TAKEOVER_H

struct agents;
struct cometd;
struct gws_im;
struct owner;
struct signin;
struct store;
struct takeover;

#include <event2/event.h>

/* The take-over of these modules (not owned). */
struct takeover *takeover_create(struct event_base *, struct store *, struct owner *,
    struct agents *, struct gws_im *, struct cometd *, struct signin *);
/* Free (loads under way are forgotten). */
void takeover_free(struct takeover *);
/* The owner's hooks (arg is the struct takeover). */
void takeover_acquired(void *arg, const char *user);
void takeover_lost(void *arg, const char *user, const char *why);
/* Drain: hand every agent over, each once no UCWA command of it is under way (bounded). */
void takeover_hand_over_all(struct takeover *, const char *why);

#endif
