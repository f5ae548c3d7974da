/*
 * metrics.h: the process's counters, gauges and histograms, rendered in
 * the Prometheus text exposition format (version 0.0.4) for GET /metrics.
 * Every family is declared once in metrics.c's table; a series is a family
 * plus a label string built by the caller from a bounded set of values
 * (route patterns, operation names, status codes, never raw input). Each
 * family holds at most METRICS_MAX_SERIES series; more are dropped and
 * counted in ucgw_metrics_series_dropped_total.
 */
#ifndef UCGW_METRICS_H
#define UCGW_METRICS_H

#include "util.h"

#define METRICS_MAX_SERIES 256

enum metric_id {
	M_HTTP_REQUESTS,    /* counter {route,operation,status} */
	M_HTTP_DURATION,    /* histogram {route} */
	M_AGENTS,	    /* gauge */
	M_SESSIONS,	    /* gauge {state} */
	M_COMETD_CLIENTS,   /* gauge */
	M_COMETD_PARKED,    /* gauge */
	M_COMETD_QUEUED,    /* gauge */
	M_NOTIFICATIONS,    /* counter {channel} */
	M_UCWA_CALLS,	    /* counter {kind,outcome} */
	M_UCWA_DURATION,    /* histogram {kind} */
	M_UCWA_TOKENS,	    /* counter */
	M_UCWA_APPS,	    /* counter */
	M_UCWA_RECONNECTS,  /* counter */
	M_UCWA_BAD_EVENTS,  /* counter */
	M_MESSAGES,	    /* counter {result} */
	M_RELOADS,	    /* counter {result} */
	M_RELOAD_TIME,	    /* gauge */
	M_READY,	    /* gauge */
	M_BUILD,	    /* gauge {version} */
	M_DROPPED,	    /* counter */
	M_CLUSTER_REDIS_UP, /* gauge (cluster mode) */
	M_CLUSTER_LEASES,   /* gauge (cluster mode) */
	M_CLUSTER_FORWARDS, /* gauge (cluster mode) */
	M_CLUSTER_TUNNELS,  /* gauge (cluster mode) */
	M_COUNT
};

/* Add v to a counter (or set nothing if the family is full). */
void metrics_add(enum metric_id, const char *labels, double v);
#define metrics_inc(id, labels) metrics_add(id, labels, 1)
/* Set a gauge. */
void metrics_set(enum metric_id, const char *labels, double v);
/* Set every series of a gauge family to 0 (before a scrape's fresh values). */
void metrics_zero(enum metric_id);
/* Record one observation (seconds) in a histogram. */
void metrics_observe(enum metric_id, const char *labels, double seconds);
/* The value of a counter or gauge series (0 if absent); for tests. */
double metrics_get(enum metric_id, const char *labels);
/* Render every family into out (Prometheus text format). */
void metrics_render(struct buf *out);
/* Forget every series (process exit, tests). */
void metrics_reset(void);

#endif
