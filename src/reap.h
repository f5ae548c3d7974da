/*
 * reap.h: the one deferred-free facility. An object that dies inside one of
 * its own callbacks is condemned with reap_later() and freed at the start of
 * a later loop turn, when no callback of its own is on the stack. There is
 * one reaper per event loop: every module that condemns objects holds it
 * (reap_hold) and lets it go when freed (reap_release); the last holder's
 * release drains it and frees it.
 */
#ifndef UCGW_REAP_H
#define UCGW_REAP_H

struct event_base;
struct reap;

/* Embedded in each object that can be condemned; the reaper owns no memory. */
struct reap_link {
	struct reap_link *next;
	void (*free)(struct reap_link *);
	int queued;
};

/* The loop's reaper, with one more holder (created by the first). */
struct reap *reap_hold(struct event_base *);
/* Drop a hold; the last one frees what is condemned and the reaper. */
void reap_release(struct reap *);
/* Condemn: fn(link) runs on a later loop turn; twice is harmless. */
void reap_later(struct reap *, struct reap_link *, void (*fn)(struct reap_link *));
/* Free what is condemned now (a module's free function, before it goes). */
void reap_now(struct reap *);
/* Objects freed so far, for tests. */
unsigned long long reap_count(const struct reap *);

#endif
