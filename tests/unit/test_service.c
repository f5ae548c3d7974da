/* test_service.c: unit tests of metrics.c (format, histograms, the series
 * bound), proxy.c (trusted networks) and admin.c (readiness states). */
#include <string.h>

#include <event2/event.h>

#include "admin.h"
#include "config.h"
#include "metrics.h"
#include "proxy.h"
#include "unit.h"

START_TEST(test_metrics_render)
{
	struct buf b;

	metrics_reset();
	metrics_inc(M_RELOADS, "result=\"done\"");
	metrics_add(M_RELOADS, "result=\"done\"", 2);
	metrics_set(M_AGENTS, NULL, 7);
	metrics_set(M_AGENTS, NULL, 3);
	metrics_observe(M_UCWA_DURATION, "kind=\"token\"", 0.004);
	metrics_observe(M_UCWA_DURATION, "kind=\"token\"", 0.3);
	metrics_observe(M_UCWA_DURATION, "kind=\"token\"", 100);
	buf_init(&b);
	metrics_render(&b);
	ck_assert_ptr_nonnull(strstr(b.data,
	    "# TYPE ucgw_reloads_total counter\n"
	    "ucgw_reloads_total{result=\"done\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nucgw_agents 3\n"));
	/* cumulative buckets, +Inf, sum and count */
	ck_assert_ptr_nonnull(strstr(
	    b.data, "ucgw_ucwa_call_duration_seconds_bucket{kind=\"token\",le=\"0.005\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(
	    b.data, "ucgw_ucwa_call_duration_seconds_bucket{kind=\"token\",le=\"0.25\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(
	    b.data, "ucgw_ucwa_call_duration_seconds_bucket{kind=\"token\",le=\"0.5\"} 2\n"));
	ck_assert_ptr_nonnull(
	    strstr(b.data, "ucgw_ucwa_call_duration_seconds_bucket{kind=\"token\",le=\"60\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(
	    b.data, "ucgw_ucwa_call_duration_seconds_bucket{kind=\"token\",le=\"+Inf\"} 3\n"));
	ck_assert_ptr_nonnull(
	    strstr(b.data, "ucgw_ucwa_call_duration_seconds_sum{kind=\"token\"} 100.304\n"));
	ck_assert_ptr_nonnull(
	    strstr(b.data, "ucgw_ucwa_call_duration_seconds_count{kind=\"token\"} 3\n"));
	ck_assert(metrics_get(M_UCWA_DURATION, "kind=\"token\"") == 3);
	buf_free(&b);
	metrics_reset();
}
END_TEST

/* Series are told apart by their whole labels: the same length, the same start. */
START_TEST(test_metrics_series_by_labels)
{
	metrics_reset();
	metrics_inc(M_RELOADS, "result=\"a\"");
	metrics_add(M_RELOADS, "result=\"b\"", 2);
	metrics_add(M_RELOADS, "result=\"a\",x=\"1\"", 4);
	metrics_add(M_RELOADS, NULL, 8);
	metrics_add(M_RELOADS, "result=\"a\"", 16);
	ck_assert(metrics_get(M_RELOADS, "result=\"a\"") == 17);
	ck_assert(metrics_get(M_RELOADS, "result=\"b\"") == 2);
	ck_assert(metrics_get(M_RELOADS, "result=\"a\",x=\"1\"") == 4);
	ck_assert(metrics_get(M_RELOADS, "") == 8);
	metrics_reset();
}
END_TEST

START_TEST(test_metrics_series_bound)
{
	char labels[32];

	metrics_reset();
	for (int i = 0; i < METRICS_MAX_SERIES + 10; i++) {
		snprintf(labels, sizeof labels, "channel=\"c%d\"", i);
		metrics_inc(M_NOTIFICATIONS, labels);
	}
	ck_assert(metrics_get(M_NOTIFICATIONS, "channel=\"c0\"") == 1);
	ck_assert(metrics_get(M_NOTIFICATIONS, "channel=\"c255\"") == 1);
	ck_assert(metrics_get(M_NOTIFICATIONS, "channel=\"c256\"") == 0);
	ck_assert(metrics_get(M_DROPPED, NULL) == 10);
	metrics_reset();
}
END_TEST

START_TEST(test_proxy_networks)
{
	struct conf_strlist l;
	char *v[] = { "10.0.0.0/8", "192.168.1.7", "2001:db8::/32" };

	l.v = v;
	l.n = nitems(v);
	ck_assert(proxy_parse("10.0.0.0/8", NULL));
	ck_assert(proxy_parse("::1", NULL));
	ck_assert(!proxy_parse("10.0.0.0/33", NULL));
	ck_assert(!proxy_parse("10.0.0.0/", NULL));
	ck_assert(!proxy_parse("10.0.0/8", NULL));
	ck_assert(!proxy_parse("example.com", NULL));
	ck_assert(proxy_trusted(&l, "10.200.3.4"));
	ck_assert(!proxy_trusted(&l, "11.0.0.1"));
	ck_assert(proxy_trusted(&l, "192.168.1.7"));
	ck_assert(!proxy_trusted(&l, "192.168.1.8"));
	ck_assert(proxy_trusted(&l, "2001:db8:1::5"));
	ck_assert(!proxy_trusted(&l, "2001:db9::5"));
	ck_assert(!proxy_trusted(&l, "10.0.0.0/8"));
}
END_TEST

START_TEST(test_admin_readiness)
{
	struct event_base *base = event_base_new();
	struct conf_overrides o = { 0 };
	char *problems = NULL, *cause = NULL;
	const char *why = NULL;
	struct config *cfg;
	struct admin *ad;

	/* no upstream: readiness is listeners up and no drain */
	ck_assert_int_eq(conf_override_add(&o, "upstream.discovery_url=null", &cause), 0);
	cfg = conf_load(&config_schema, NULL, &o, &problems);
	ck_assert_ptr_nonnull(cfg);
	ad = admin_create(base, cfg, NULL, NULL);
	ck_assert_int_eq(admin_ready(ad, &why), 0);
	ck_assert_str_eq(why, "listeners not up");
	admin_set_listening(ad, 1);
	ck_assert_int_eq(admin_ready(ad, &why), 1);
	admin_drain(ad);
	ck_assert_int_eq(admin_ready(ad, &why), 0);
	ck_assert_str_eq(why, "draining");
	admin_free(ad);
	conf_free(&config_schema, cfg);
	conf_overrides_free(&o);
	event_base_free(base);
}
END_TEST

static Suite *
service_suite(void)
{
	Suite *s = suite_create("service");

	UNIT_ADD(s, test_metrics_render);
	UNIT_ADD(s, test_metrics_series_by_labels);
	UNIT_ADD(s, test_metrics_series_bound);
	UNIT_ADD(s, test_proxy_networks);
	UNIT_ADD(s, test_admin_readiness);
	return s;
}

UNIT_MAIN(service_suite)
