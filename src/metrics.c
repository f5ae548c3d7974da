/*
 * metrics.c: the families the gateway exposes on /metrics and their
 * series. A family's series live in a small array (at most
 * METRICS_MAX_SERIES, found by linear search on the label string: label
 * values come from fixed sets, so families stay small). Rendering follows
 * the Prometheus text format: HELP and TYPE once per family, then its
 * samples; histograms as cumulative _bucket{le} lines, _sum and _count.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"

enum metric_type { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };

struct metric_family {
	const char *name;
	enum metric_type type;
	const char *help;
};

static const struct metric_family metrics_families[M_COUNT] = {
	[M_HTTP_REQUESTS] = { "ucgw_http_requests_total", MT_COUNTER,
	    "Desktop requests answered, by route, operation and HTTP status." },
	[M_HTTP_DURATION] = { "ucgw_http_request_duration_seconds", MT_HISTOGRAM,
	    "Time from a desktop request's arrival to its answer, by route." },
	[M_AGENTS] = { "ucgw_agents", MT_GAUGE, "Agents signed in." },
	[M_SESSIONS] = { "ucgw_im_sessions", MT_GAUGE, "IM sessions by state." },
	[M_COMETD_CLIENTS] = { "ucgw_cometd_clients", MT_GAUGE, "CometD clients." },
	[M_COMETD_PARKED] = { "ucgw_cometd_parked_connects", MT_GAUGE,
	    "CometD /meta/connect requests held open." },
	[M_COMETD_QUEUED] = { "ucgw_cometd_queued_messages", MT_GAUGE,
	    "CometD messages queued (unsent or unacknowledged), all clients." },
	[M_NOTIFICATIONS] = { "ucgw_notifications_total", MT_COUNTER,
	    "Notifications published to agents' CometD clients, by channel." },
	[M_UCWA_CALLS] = { "ucgw_ucwa_calls_total", MT_COUNTER,
	    "UCWA requests finished, by kind and outcome." },
	[M_UCWA_DURATION] = { "ucgw_ucwa_call_duration_seconds", MT_HISTOGRAM,
	    "UCWA request latency (event-channel long-polls excluded), by kind." },
	[M_UCWA_TOKENS] = { "ucgw_ucwa_token_renewals_total", MT_COUNTER,
	    "UCWA OAuth token renewals started." },
	[M_UCWA_APPS] = { "ucgw_ucwa_applications_recreated_total", MT_COUNTER,
	    "UCWA applications created again after the server lost them." },
	[M_UCWA_RECONNECTS] = { "ucgw_ucwa_event_channel_reconnects_total", MT_COUNTER,
	    "UCWA event-channel long-polls sent again after a failure." },
	[M_UCWA_BAD_EVENTS] = { "ucgw_ucwa_bad_events_total", MT_COUNTER,
	    "Unusable UCWA events skipped (malformed, or of an unknown kind that matters)." },
	[M_MESSAGES] = { "ucgw_messages_total", MT_COUNTER,
	    "Outgoing agent messages by result: delivered, failed, split (sent in several "
	    "parts) or refused (by the text policy)." },
	[M_RELOADS] = { "ucgw_reloads_total", MT_COUNTER,
	    "SIGHUP reloads by result: done or refused." },
	[M_RELOAD_TIME] = { "ucgw_last_reload_timestamp_seconds", MT_GAUGE,
	    "Time of the last reload done (seconds since the epoch; 0: none)." },
	[M_READY] = { "ucgw_ready", MT_GAUGE, "1 when /readyz answers 200." },
	[M_BUILD] = { "ucgw_build_info", MT_GAUGE, "The running version (value 1)." },
	[M_DROPPED] = { "ucgw_metrics_series_dropped_total", MT_COUNTER,
	    "Samples dropped because their family had too many series." },
	[M_CLUSTER_REDIS_UP] = { "ucgw_cluster_redis_up", MT_GAUGE,
	    "Cluster mode: 1 while the connection to Redis is ready." },
	[M_CLUSTER_LEASES] = { "ucgw_cluster_leases", MT_GAUGE,
	    "Cluster mode: agents whose lease this node holds." },
	[M_CLUSTER_FORWARDS] = { "ucgw_cluster_forwarded_requests", MT_GAUGE,
	    "Cluster mode: requests forwarded to their agent's owner, in flight." },
	[M_CLUSTER_TUNNELS] = { "ucgw_cluster_websocket_tunnels", MT_GAUGE,
	    "Cluster mode: WebSockets tunnelled to their agent's owner." },
};

/* Histogram bucket upper bounds, in seconds (+Inf is implied). */
static const double metrics_bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
	30, 60 };

struct metric_series {
	char *labels;
	size_t len;		  /* of labels: most series of a family differ in it */
	double value;		  /* counter, gauge; histogram: sum */
	unsigned long long count; /* histogram */
	unsigned long long bucket[nitems(metrics_bounds)]; /* histogram, not cumulative */
};

static struct {
	struct metric_series *v;
	size_t n;
} metrics_data[M_COUNT];

/* The series of family id with these labels, created if there is room; NULL if full. */
static struct metric_series *
metrics_series(enum metric_id id, const char *labels)
{
	struct metric_series *s;
	size_t len;

	if (labels == NULL)
		labels = "";
	len = strlen(labels);
	for (size_t i = 0; i < metrics_data[id].n; i++) {
		s = &metrics_data[id].v[i];
		if (s->len == len && memcmp(s->labels, labels, len) == 0)
			return s;
	}
	if (metrics_data[id].n >= METRICS_MAX_SERIES) {
		if (id != M_DROPPED)
			metrics_add(M_DROPPED, NULL, 1);
		return NULL;
	}
	metrics_data[id].v =
	    xreallocarray(metrics_data[id].v, metrics_data[id].n + 1, sizeof *metrics_data[id].v);
	s = &metrics_data[id].v[metrics_data[id].n++];
	memset(s, 0, sizeof *s);
	s->labels = xstrdup(labels);
	s->len = len;
	return s;
}

/* Add to a counter. */
void
metrics_add(enum metric_id id, const char *labels, double v)
{
	struct metric_series *s = metrics_series(id, labels);

	if (s != NULL)
		s->value += v;
}

/* Set a gauge. */
void
metrics_set(enum metric_id id, const char *labels, double v)
{
	struct metric_series *s = metrics_series(id, labels);

	if (s != NULL)
		s->value = v;
}

/* Zero every series of a gauge family. */
void
metrics_zero(enum metric_id id)
{
	for (size_t i = 0; i < metrics_data[id].n; i++)
		metrics_data[id].v[i].value = 0;
}

/* One observation in a histogram. */
void
metrics_observe(enum metric_id id, const char *labels, double seconds)
{
	struct metric_series *s = metrics_series(id, labels);

	if (s == NULL)
		return;
	if (!(seconds >= 0))
		seconds = 0;
	s->value += seconds;
	s->count++;
	for (size_t i = 0; i < nitems(metrics_bounds); i++) {
		if (seconds <= metrics_bounds[i]) {
			s->bucket[i]++;
			break;
		}
	}
}

/* A counter's or gauge's value (histograms: the count). */
double
metrics_get(enum metric_id id, const char *labels)
{
	for (size_t i = 0; i < metrics_data[id].n; i++) {
		const struct metric_series *s = &metrics_data[id].v[i];

		if (strcmp(s->labels, labels ? labels : "") == 0)
			return metrics_families[id].type == MT_HISTOGRAM ? (double)s->count
									 : s->value;
	}
	return 0;
}

/* A sample value: integers without a fraction, others with enough digits. */
static void
metrics_value(struct buf *out, double v)
{
	if (isfinite(v) && v == floor(v) && fabs(v) < 1e15)
		buf_printf(out, "%.0f", v);
	else
		buf_printf(out, "%.9g", v);
}

/* "name{labels} value" (with an extra label for histogram buckets). */
static void
metrics_sample(struct buf *out, const char *name, const char *suffix, const char *labels,
    const char *extra, double v)
{
	int any = (labels != NULL && *labels != '\0') || extra != NULL;

	buf_printf(out, "%s%s", name, suffix);
	if (any) {
		buf_addch(out, '{');
		if (labels != NULL && *labels != '\0')
			buf_printf(out, "%s%s", labels, extra ? "," : "");
		if (extra != NULL)
			buf_addstr(out, extra);
		buf_addch(out, '}');
	}
	buf_addch(out, ' ');
	metrics_value(out, v);
	buf_addch(out, '\n');
}

/* A histogram series: cumulative buckets, +Inf, sum and count. */
static void
metrics_render_histogram(struct buf *out, const char *name, const struct metric_series *s)
{
	unsigned long long cum = 0;
	char le[32];

	for (size_t i = 0; i < nitems(metrics_bounds); i++) {
		cum += s->bucket[i];
		snprintf(le, sizeof le, "le=\"%g\"", metrics_bounds[i]);
		metrics_sample(out, name, "_bucket", s->labels, le, (double)cum);
	}
	metrics_sample(out, name, "_bucket", s->labels, "le=\"+Inf\"", (double)s->count);
	metrics_sample(out, name, "_sum", s->labels, NULL, s->value);
	metrics_sample(out, name, "_count", s->labels, NULL, (double)s->count);
}

/* Every family, in table order. */
void
metrics_render(struct buf *out)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };

	for (size_t id = 0; id < M_COUNT; id++) {
		const struct metric_family *f = &metrics_families[id];

		buf_printf(
		    out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, types[f->type]);
		for (size_t i = 0; i < metrics_data[id].n; i++) {
			const struct metric_series *s = &metrics_data[id].v[i];

			if (f->type == MT_HISTOGRAM)
				metrics_render_histogram(out, f->name, s);
			else
				metrics_sample(out, f->name, "", s->labels, NULL, s->value);
		}
	}
}

/* Forget every series. */
void
metrics_reset(void)
{
	for (size_t id = 0; id < M_COUNT; id++) {
		for (size_t i = 0; i < metrics_data[id].n; i++)
			free(metrics_data[id].v[i].labels);
		free(metrics_data[id].v);
		metrics_data[id].v = NULL;
		metrics_data[id].n = 0;
	}
}
